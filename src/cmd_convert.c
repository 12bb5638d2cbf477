/* cmd_convert.c - `relais convert`: an invoice from UBL 2.1, CII D16B or a Factur-X/ZUGFeRD PDF into
 * UBL 2.1 or CII D16B, through the EN 16931 model; or, with --terms, the business terms it holds. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/cli.h"
#include "relais/convert.h"
#include "relais/en16931.h"
#include "commands.h"

static int run_convert(int argc, char **argv);

const struct rl_command rl_cmd_convert = {
	.name = "convert",
	.summary = "convert an invoice between UBL 2.1 and CII D16B (also from Factur-X PDF)",
	.usage =
		"usage: relais convert --to ubl|cii [-o OUT] [--report[=FILE]] IN\n"
		"       relais convert --terms IN\n"
		"\n"
		"Converts the invoice IN (UBL 2.1 Invoice or CreditNote, CII D16B CrossIndustryInvoice, or a\n"
		"Factur-X/ZUGFeRD PDF with its embedded CII) into UBL 2.1 or CII D16B, covering every EN 16931\n"
		"business term. A type code of a credit note (381, 396, 81, 83, 532) gives a UBL CreditNote.\n"
		"From a PDF, the PDF itself is embedded in the result as an additional supporting document.\n"
		"Every value the target syntax cannot carry is listed on standard error, one line each:\n"
		"  BT-x: not representable in SYNTAX: value\n"
		"\n"
		"  --to ubl|cii     the target syntax\n"
		"  -o OUT           write the result to OUT (atomically); default standard output\n"
		"  --report         also print a summary line (input, output, terms lost) on standard error\n"
		"  --report=FILE    also write the list of values not carried to FILE (empty when none)\n"
		"  --terms          print the business terms of IN instead, one per line (BG-x/BT-y = value)\n"
		"Exit status 0 when converted, 1 when IN is no invoice or is malformed, 2 on usage errors.\n",
	.run = run_convert,
};

static int count_lines(const struct rl_buf *b)
{
	int n = 0;
	size_t i;

	for (i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

static int print_terms(const char *in_path)
{
	struct rl_buf dump = RL_BUF_INIT;
	struct rl_en_node *m;
	struct rl_err err;
	enum rl_syntax syntax;

	m = rl_convert_read(in_path, &syntax, NULL, &err);
	if (m == NULL)
		return rl_cli_fail(&err);
	if (rl_en_dump(m, &dump, 0) < 0) {
		rl_en_free(m);
		rl_buf_free(&dump);
		rl_err_set(&err, RL_ERR_NOMEM, "out of memory");
		return rl_cli_fail(&err);
	}
	fwrite(dump.data ? dump.data : "", 1, dump.len, stdout);
	rl_buf_free(&dump);
	rl_en_free(m);
	return RL_EXIT_OK;
}

static int run_convert(int argc, char **argv)
{
	const char *to_text = NULL, *out_path = NULL, *in_path = NULL, *report_path = NULL;
	struct rl_buf report = RL_BUF_INIT;
	enum rl_syntax to;
	struct rl_err err;
	int summary = 0, terms = 0, rc;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--to") == 0 || strcmp(argv[i], "-o") == 0) && i + 1 >= argc)
			return rl_cli_usage_error(&rl_cmd_convert, "%s needs a value", argv[i]);
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return rl_cli_print_usage(&rl_cmd_convert);
		else if (strcmp(argv[i], "--to") == 0)
			to_text = argv[++i];
		else if (strcmp(argv[i], "-o") == 0)
			out_path = argv[++i];
		else if (strcmp(argv[i], "--report") == 0)
			summary = 1;
		else if (strncmp(argv[i], "--report=", 9) == 0 && argv[i][9] != '\0')
			report_path = argv[i] + 9;
		else if (strcmp(argv[i], "--terms") == 0)
			terms = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return rl_cli_usage_error(&rl_cmd_convert, "unknown option %s", argv[i]);
		else if (in_path == NULL)
			in_path = argv[i];
		else
			return rl_cli_usage_error(&rl_cmd_convert, "only one input file");
	}
	if (in_path == NULL)
		return rl_cli_usage_error(&rl_cmd_convert, "an input file is required");
	if (rl_init(&err) < 0)
		return rl_cli_fail(&err);
	if (terms)
		return print_terms(in_path);
	if (to_text == NULL)
		return rl_cli_usage_error(&rl_cmd_convert, "--to ubl or --to cii is required");
	if (strcmp(to_text, "ubl") == 0)
		to = RL_SYNTAX_UBL;
	else if (strcmp(to_text, "cii") == 0)
		to = RL_SYNTAX_CII;
	else
		return rl_cli_usage_error(&rl_cmd_convert, "--to: ubl or cii, not %s", to_text);
	if (rl_convert_file(in_path, to, out_path, &report, &err) < 0) {
		rl_buf_free(&report);
		return rl_cli_fail(&err);
	}
	rc = RL_EXIT_OK;
	if (report.len)
		fputs(report.data, stderr);
	if (summary)
		fprintf(stderr, "relais convert: %s -> %s (%s): %d value(s) not representable\n", in_path,
			out_path ? out_path : "-", rl_syntax_name(to), count_lines(&report));
	if (report_path) {
		FILE *fp = fopen(report_path, "w");

		if (fp == NULL || fwrite(report.data ? report.data : "", 1, report.len, fp) != report.len) {
			rl_err_set(&err, RL_ERR_IO, "cannot write the report to %s", report_path);
			rc = rl_cli_fail(&err);
		}
		if (fp && fclose(fp) != 0 && rc == RL_EXIT_OK) {
			rl_err_set(&err, RL_ERR_IO, "cannot write the report to %s", report_path);
			rc = rl_cli_fail(&err);
		}
	}
	rl_buf_free(&report);
	return rc;
}

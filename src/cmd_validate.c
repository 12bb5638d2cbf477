/* cmd_validate.c - `relais validate`: XSD, built-in EN 16931 rules and full schematron validation of
 * UBL and CII documents (bare or in an SBD), findings as lines or JSON. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "relais/cli.h"
#include "relais/doc.h"
#include "relais/docval.h"
#include "relais/schematron.h"
#include "commands.h"

#define EXIT_NOT_VALIDATED 3

static int run_validate(int argc, char **argv);

const struct rl_command rl_cmd_validate = {
	.name = "validate",
	.summary = "validate invoices and credit notes (XSD, EN 16931 rules, schematron)",
	.usage =
		"usage: relais validate [--level xsd|rules|full] [--peppol] [--json] [--timeout SECONDS] FILE...\n"
		"\n"
		"Validates each UBL Invoice/CreditNote or CII CrossIndustryInvoice FILE (bare or wrapped\n"
		"in a Peppol SBD):\n"
		"  xsd    against the UBL 2.1, CII D16B and SBDH schemas installed with relais\n"
		"  rules  xsd, then the built-in EN 16931 rules (mandatory terms, code lists, identifiers,\n"
		"         totals and VAT calculations) and the Peppol BIS 3 rules relais implements\n"
		"         (default)\n"
		"  full   rules, then the official EN 16931 and Peppol BIS 3 schematron through one\n"
		"         Saxon-HE worker shared by all FILEs\n"
		"--peppol applies the Peppol rules even when CustomizationID does not claim Peppol BIS 3.\n"
		"Findings print one per line: RULE severity location: message; --json prints one JSON\n"
		"object per FILE instead. --timeout bounds each schematron answer (default 120 s).\n"
		"Exit status 0 when every FILE is valid, 1 when one is invalid, 2 on usage errors,\n"
		"3 when one could not be validated (schemas, Java or Saxon missing, worker failure).\n",
	.run = run_validate,
};

struct options {
	int level;
	int json;
	unsigned rule_flags;
	int timeout;
};

static void print_text(const char *path, const struct rl_doc_info *info, const struct rl_findings *f, int level)
{
	static const char *const names[] = { "", "xsd", "rules", "full" };
	size_t fatal = rl_findings_fatal(f);

	for (size_t i = 0; i < f->count; i++)
		printf("%s %s %s: %s\n", f->items[i].rule, rl_severity_name(f->items[i].severity), f->items[i].location,
		       f->items[i].message);
	printf("%s: %s %s%s (%s): %s", path, rl_doc_syntax_name(info->syntax), rl_doc_kind_name(info->kind),
	       info->sbdh ? " in SBD" : "", info->customization ? info->customization : "no customization",
	       fatal ? "invalid" : "valid");
	if (fatal)
		printf(", %zu fatal finding%s", fatal, fatal == 1 ? "" : "s");
	printf(" (level %s)\n", names[level]);
}

static int print_json(const char *path, const struct rl_doc_info *info, const struct rl_findings *f, int level,
		      const char *error)
{
	static const char *const names[] = { "", "xsd", "rules", "full" };
	json_t *o = json_object(), *list = json_array();
	char *text;

	if (o == NULL || list == NULL)
		return -1;
	json_object_set_new(o, "file", json_string(path));
	json_object_set_new(o, "level", json_string(names[level]));
	if (info) {
		json_object_set_new(o, "syntax", json_string(rl_doc_syntax_name(info->syntax)));
		json_object_set_new(o, "kind", json_string(rl_doc_kind_name(info->kind)));
		json_object_set_new(o, "sbdh", json_boolean(info->sbdh));
		json_object_set_new(o, "customization", info->customization ? json_string(info->customization) : json_null());
		json_object_set_new(o, "profile", info->profile ? json_string(info->profile) : json_null());
	}
	if (error) {
		json_object_set_new(o, "valid", json_null());
		json_object_set_new(o, "error", json_string(error));
	} else {
		json_object_set_new(o, "valid", json_boolean(rl_findings_fatal(f) == 0));
	}
	for (size_t i = 0; f && i < f->count; i++) {
		json_t *item = json_object();

		json_object_set_new(item, "rule", json_string(f->items[i].rule));
		json_object_set_new(item, "severity", json_string(rl_severity_name(f->items[i].severity)));
		json_object_set_new(item, "location", json_string(f->items[i].location));
		json_object_set_new(item, "message", json_string(f->items[i].message));
		json_array_append_new(list, item);
	}
	json_object_set_new(o, "findings", list);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return -1;
	puts(text);
	free(text);
	return 0;
}

/* A document that could not be read as XML is invalid; a failure of the validator is not. */
static int refuse(const char *path, const struct options *o, const struct rl_err *err, int status)
{
	char line[RL_ERR_MSG_MAX + 64];

	if (o->json) {
		struct rl_findings none = RL_FINDINGS_INIT;

		if (status == RL_EXIT_REFUSED) {
			rl_findings_add(&none, "XML", RL_SEV_FATAL, "/", "%s", err->msg);
			print_json(path, NULL, &none, o->level, NULL);
		} else {
			print_json(path, NULL, &none, o->level, rl_err_format(err, line, sizeof(line)));
		}
		rl_findings_free(&none);
	} else {
		fprintf(stderr, "error: %s: %s\n", path, rl_err_format(err, line, sizeof(line)));
	}
	return status;
}

static int validate_one(const char *path, const struct options *o, struct rl_schematron **worker)
{
	struct rl_findings findings = RL_FINDINGS_INIT;
	struct rl_doc_info info;
	struct rl_err err = { 0 };
	xmlDocPtr doc;
	int status;

	if (rl_doc_detect_file(path, &info, &err) < 0)
		return refuse(path, o, &err, RL_EXIT_REFUSED);
	if (info.syntax == RL_DOC_SYNTAX_PDF || info.syntax == RL_DOC_SYNTAX_UNKNOWN) {
		rl_err_set(&err, RL_EBMS_OTHER, info.syntax == RL_DOC_SYNTAX_PDF
				? "a PDF: validate the XML embedded in it (Factur-X) instead"
				: "not a UBL Invoice/CreditNote or a CII CrossIndustryInvoice ({%.150s}%.60s)",
			   info.root_ns ? info.root_ns : "", info.root_name ? info.root_name : "");
		rl_doc_info_free(&info);
		return refuse(path, o, &err, EXIT_NOT_VALIDATED);
	}
	doc = rl_docval_parse_file(path, RL_DOCVAL_MAX_SIZE, &err);
	if (doc == NULL) {
		rl_doc_info_free(&info);
		return refuse(path, o, &err, err.code == RL_EBMS_OTHER ? RL_EXIT_REFUSED : EXIT_NOT_VALIDATED);
	}
	status = rl_docval_xsd(doc, &findings, &err);
	if (status == 0 && o->level >= RL_DOCVAL_RULES)
		status = rl_docval_rules(doc, o->rule_flags, &findings, &err);
	if (status == 0 && o->level >= RL_DOCVAL_FULL) {
		if (*worker == NULL)
			*worker = rl_schematron_new(o->timeout, &err);
		status = *worker ? rl_schematron_validate(*worker, path, doc, &findings, &err) : -1;
	}
	xmlFreeDoc(doc);
	if (status < 0) {
		status = refuse(path, o, &err, EXIT_NOT_VALIDATED);
	} else {
		if (o->json)
			print_json(path, &info, &findings, o->level, NULL);
		else
			print_text(path, &info, &findings, o->level);
		status = rl_findings_fatal(&findings) ? RL_EXIT_REFUSED : RL_EXIT_OK;
	}
	rl_findings_free(&findings);
	rl_doc_info_free(&info);
	return status;
}

static int run_validate(int argc, char **argv)
{
	struct options o = { .level = RL_DOCVAL_RULES, .timeout = 120 };
	struct rl_schematron *worker = NULL;
	struct rl_err err;
	const char **files;
	int nfiles = 0, only_files = 0, status = RL_EXIT_OK;

	files = calloc((size_t)argc, sizeof(*files));
	if (files == NULL)
		return RL_EXIT_REFUSED;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_files || a[0] != '-' || a[1] == '\0') {
			files[nfiles++] = a;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			free(files);
			return rl_cli_print_usage(&rl_cmd_validate);
		} else if ((strcmp(a, "--level") == 0 || strcmp(a, "--timeout") == 0) && i + 1 >= argc) {
			status = rl_cli_usage_error(&rl_cmd_validate, "%s needs a value", a);
		} else if (strcmp(a, "--level") == 0) {
			o.level = rl_docval_level_parse(argv[++i]);
			if (o.level < 0)
				status = rl_cli_usage_error(&rl_cmd_validate, "--level: xsd, rules or full, not %s", argv[i]);
		} else if (strcmp(a, "--timeout") == 0) {
			char *end;
			long t = strtol(argv[++i], &end, 10);

			if (*end || t < 1 || t > 3600)
				status = rl_cli_usage_error(&rl_cmd_validate, "--timeout: seconds from 1 to 3600, not %s", argv[i]);
			o.timeout = (int)t;
		} else if (strcmp(a, "--json") == 0) {
			o.json = 1;
		} else if (strcmp(a, "--peppol") == 0) {
			o.rule_flags |= RL_RULES_PEPPOL;
		} else if (strcmp(a, "--") == 0) {
			only_files = 1;
		} else {
			status = rl_cli_usage_error(&rl_cmd_validate, "unknown option %s", a);
		}
		if (status != RL_EXIT_OK)
			break;
	}
	if (status == RL_EXIT_OK && nfiles == 0)
		status = rl_cli_usage_error(&rl_cmd_validate, "a file to validate is required");
	if (status == RL_EXIT_OK && rl_init(&err) < 0)
		status = rl_cli_fail(&err);
	for (int i = 0; status != RL_EXIT_USAGE && i < nfiles; i++) {
		int s = validate_one(files[i], &o, &worker);

		if (s == EXIT_NOT_VALIDATED || (s == RL_EXIT_REFUSED && status == RL_EXIT_OK))
			status = s;
	}
	rl_schematron_free(worker);
	free(files);
	return status;
}

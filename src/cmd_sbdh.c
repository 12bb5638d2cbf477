/* cmd_sbdh.c - `relais sbdh wrap|check`: wraps a bare UBL/CII document in the Peppol SBDH, or checks a
 * wrapped one against the document inside it. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "relais/cli.h"
#include "relais/sbdh_wrap.h"
#include "commands.h"

static int run_sbdh(int argc, char **argv);

const struct rl_command rl_cmd_sbdh = {
	.name = "sbdh",
	.summary = "wrap a business document in the Peppol SBDH, or check a wrapped one",
	.usage =
		"usage: relais sbdh wrap FILE -o OUT [--sender ID] [--receiver ID] [--country CC]\n"
		"                  [--process ID] [--instance-id ID] [--creation-time TIME]\n"
		"       relais sbdh check FILE\n"
		"\n"
		"wrap writes OUT: a StandardBusinessDocument whose header is taken from the UBL or CII\n"
		"document FILE (sender and receiver from the seller's and buyer's EndpointID, document\n"
		"type from the root element and CustomizationID, process from ProfileID, COUNTRY_C1 from\n"
		"the seller's country), then FILE itself. The options supply or replace those values:\n"
		"participants as ICD:id (e.g. 0088:7315458756324), the country as ISO 3166 alpha-2.\n"
		"\n"
		"check reads FILE's SBDH and the document inside it and refuses a header whose sender,\n"
		"receiver, document type or process differ from what the document says.\n"
		"Exit status 0 when done or consistent, 1 when refused, 2 on usage errors.\n",
	.run = run_sbdh,
};

static int sbdh_check(const char *path)
{
	struct rl_sbdh h;
	struct rl_doc_info info;
	struct rl_err err;
	int status = RL_EXIT_OK;

	if (rl_init(&err) < 0)
		return rl_cli_fail(&err);
	if (rl_sbdh_check_file(path, &h, &info, &err) < 0)
		status = rl_cli_fail(&err);
	else
		printf("%s: SBDH consistent: %s -> %s, %s %s, %s::%s, COUNTRY_C1 %s\n", path, h.sender, h.receiver,
		       rl_doc_syntax_name(info.syntax), rl_doc_kind_name(info.kind), h.document_id_scheme,
		       h.document_id, h.country_c1);
	rl_sbdh_free(&h);
	rl_doc_info_free(&info);
	return status;
}

static int sbdh_wrap(const char *path, const char *output, const struct rl_sbdh_wrap_opts *opts)
{
	struct rl_doc_info info;
	struct rl_sbdh h;
	struct rl_outfile of;
	struct rl_sink sink;
	struct rl_err err;

	if (rl_init(&err) < 0)
		return rl_cli_fail(&err);
	if (rl_doc_detect_file(path, &info, &err) < 0)
		return rl_cli_fail(&err);
	if (rl_sbdh_plan(&info, opts, &h, &err) < 0) {
		rl_doc_info_free(&info);
		return rl_cli_fail(&err);
	}
	rl_doc_info_free(&info);
	if (rl_outfile_open(&of, output, &err) < 0) {
		rl_sbdh_free(&h);
		return rl_cli_fail(&err);
	}
	sink.write = rl_sink_file_write;
	sink.ctx = of.fp;
	if (rl_sbdh_wrap_file(path, &h, &sink, &err) < 0 || rl_outfile_commit(&of, &err) < 0) {
		rl_outfile_abort(&of);
		rl_sbdh_free(&h);
		return rl_cli_fail(&err);
	}
	printf("%s: wrapped %s -> %s (%s)\n", output, h.sender, h.receiver, h.instance_id);
	rl_sbdh_free(&h);
	return RL_EXIT_OK;
}

static int run_sbdh(int argc, char **argv)
{
	struct rl_sbdh_wrap_opts opts = { 0 };
	const char *action = NULL, *path = NULL, *output = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **value = NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return rl_cli_print_usage(&rl_cmd_sbdh);
		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
			value = &output;
		else if (strcmp(a, "--sender") == 0)
			value = &opts.sender;
		else if (strcmp(a, "--receiver") == 0)
			value = &opts.receiver;
		else if (strcmp(a, "--country") == 0)
			value = &opts.country;
		else if (strcmp(a, "--process") == 0)
			value = &opts.process;
		else if (strcmp(a, "--instance-id") == 0)
			value = &opts.instance_id;
		else if (strcmp(a, "--creation-time") == 0)
			value = &opts.creation_time;
		else if (a[0] == '-' && a[1] != '\0')
			return rl_cli_usage_error(&rl_cmd_sbdh, "unknown option %s", a);
		else if (action == NULL)
			action = a;
		else if (path == NULL)
			path = a;
		else
			return rl_cli_usage_error(&rl_cmd_sbdh, "only one file");
		if (value) {
			if (i + 1 >= argc)
				return rl_cli_usage_error(&rl_cmd_sbdh, "%s needs a value", a);
			*value = argv[++i];
		}
	}
	if (action == NULL || path == NULL)
		return rl_cli_usage_error(&rl_cmd_sbdh, "an action (wrap or check) and a file are required");
	if (strcmp(action, "check") == 0) {
		if (output || opts.sender || opts.receiver || opts.country || opts.process || opts.instance_id ||
		    opts.creation_time)
			return rl_cli_usage_error(&rl_cmd_sbdh, "check takes no options");
		return sbdh_check(path);
	}
	if (strcmp(action, "wrap") != 0)
		return rl_cli_usage_error(&rl_cmd_sbdh, "unknown action %s (wrap or check)", action);
	if (output == NULL)
		return rl_cli_usage_error(&rl_cmd_sbdh, "wrap needs -o OUT");
	return sbdh_wrap(path, output, &opts);
}

/* cmd_participant.c - `relais participant add|remove|list`: the participants (and their document types)
 * this access point hosts and its SMP publishes. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/participants.h"
#include "relais/store.h"
#include "commands.h"

#define DEFAULT_PROCESS "cenbii-procid-ubl::urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

static int run_participant(int argc, char **argv);

const struct rl_command rl_cmd_participant = {
	.name = "participant",
	.summary = "add, remove or list the participants this access point's SMP publishes",
	.usage =
		"usage: relais participant add [--process PROCESS] PARTICIPANT DOCTYPE...\n"
		"       relais participant remove PARTICIPANT [DOCTYPE...]\n"
		"       relais participant list [PARTICIPANT]\n"
		"       (each also takes -c FILE and --set section.key=value)\n"
		"\n"
		"Keeps the hosted participants in the database (database.url; run relais db migrate\n"
		"first). add registers document types for a participant, with the process they belong\n"
		"to (default " DEFAULT_PROCESS ");\n"
		"remove drops the document types given, or the whole participant; list prints one line\n"
		"per participant and document type: PARTICIPANT DOCTYPE PROCESS.\n"
		"PARTICIPANT is \"iso6523-actorid-upis::0088:123\" or \"0088:123\"; DOCTYPE is\n"
		"\"busdox-docid-qns::...\" (the scheme may be left out).\n"
		"Exit status 0 on success, 1 when the database fails or nothing matched a remove, 2 on\n"
		"usage or configuration errors.\n",
	.run = run_participant,
};

static int parse_participant(struct rl_peppol_id *id, const char *text, struct rl_err *err)
{
	if (strstr(text, "::"))
		return rl_participant_parse(id, text, err);
	return rl_peppol_id_make(id, RL_ID_PARTICIPANT, NULL, text, err);
}

static int parse_doctype(struct rl_peppol_id *id, const char *text, struct rl_err *err)
{
	if (strncmp(text, "urn:", 4) == 0)
		return rl_peppol_id_make(id, RL_ID_DOCTYPE, NULL, text, err);
	return rl_doctype_parse(id, text, err);
}

static int run_participant(int argc, char **argv)
{
	const char *action, *config_path = NULL, *process_text = DEFAULT_PROCESS;
	const char **ids = calloc((size_t)argc + 1, sizeof(char *));
	struct rl_peppol_id participant, process, *doctypes = NULL;
	struct rl_pgcluster *cluster = NULL;
	struct rl_participants *p = NULL;
	struct rl_config *cfg = NULL;
	struct rl_participant_row *rows = NULL;
	struct rl_err err;
	int nids = 0, status = RL_EXIT_OK, n;

	if (!ids)
		return RL_EXIT_REFUSED;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		free(ids);
		return argc < 2 ? rl_cli_usage_error(&rl_cmd_participant, "which: add, remove or list?")
				: rl_cli_print_usage(&rl_cmd_participant);
	}
	action = argv[1];
	if (strcmp(action, "add") != 0 && strcmp(action, "remove") != 0 && strcmp(action, "list") != 0) {
		free(ids);
		return rl_cli_usage_error(&rl_cmd_participant, "unknown action '%s' (add, remove or list)", action);
	}
	for (int i = 2; i < argc; i++) {
		int takes = strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0 ||
			    strcmp(argv[i], "--set") == 0 || strcmp(argv[i], "--process") == 0;

		if (takes && i + 1 >= argc) {
			free(ids);
			return rl_cli_usage_error(&rl_cmd_participant, "%s needs a value", argv[i]);
		}
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--set") == 0)
			i++;
		else if (strcmp(argv[i], "--process") == 0 && strcmp(action, "add") == 0)
			process_text = argv[++i];
		else if (argv[i][0] == '-') {
			free(ids);
			return rl_cli_usage_error(&rl_cmd_participant, "unknown option %s", argv[i]);
		} else
			ids[nids++] = argv[i];
	}
	if ((strcmp(action, "add") == 0 && nids < 2) || (strcmp(action, "remove") == 0 && nids < 1) ||
	    (strcmp(action, "list") == 0 && nids > 1)) {
		free(ids);
		return rl_cli_usage_error(&rl_cmd_participant, "%s: wrong number of identifiers", action);
	}
	/* Every identifier is checked before the database is touched. */
	doctypes = calloc((size_t)nids + 1, sizeof(*doctypes));
	if (!doctypes) {
		free(ids);
		return RL_EXIT_REFUSED;
	}
	if ((nids > 0 && parse_participant(&participant, ids[0], &err) < 0) ||
	    rl_process_parse(&process, process_text, &err) < 0)
		goto usage;
	for (int i = 1; i < nids; i++)
		if (parse_doctype(&doctypes[i], ids[i], &err) < 0)
			goto usage;

	if ((status = rl_cli_config_load_argv(&rl_cmd_participant, config_path, argc - 1, argv + 1, NULL, &cfg)) != RL_EXIT_OK)
		goto out;
	if (!(p = rl_participants_open_config(cfg, &cluster, &err))) {
		status = rl_cli_fail(&err);
		goto out;
	}
	if (strcmp(action, "add") == 0) {
		for (int i = 1; i < nids && status == RL_EXIT_OK; i++)
			if (rl_participants_add(p, &participant, &doctypes[i], &process, &err) < 0)
				status = rl_cli_fail(&err);
		if (status == RL_EXIT_OK)
			printf("%s::%s: %d document type(s) published\n", participant.scheme, participant.value, nids - 1);
	} else if (strcmp(action, "remove") == 0) {
		int removed = 0;

		for (int i = 1; i <= (nids > 1 ? nids - 1 : 1) && status == RL_EXIT_OK; i++) {
			n = rl_participants_remove(p, &participant, nids > 1 ? &doctypes[i] : NULL, &err);
			if (n < 0)
				status = rl_cli_fail(&err);
			else
				removed += n;
		}
		if (status == RL_EXIT_OK && removed == 0) {
			rl_err_set(&err, RL_ERR_NOT_FOUND, "%s::%s: nothing to remove", participant.scheme, participant.value);
			status = rl_cli_fail(&err);
		} else if (status == RL_EXIT_OK) {
			printf("%s::%s: %d document type(s) removed\n", participant.scheme, participant.value, removed);
		}
	} else {
		n = rl_participants_list(p, nids ? &participant : NULL, &rows, &err);
		if (n < 0)
			status = rl_cli_fail(&err);
		for (int i = 0; i < n; i++)
			printf("%s %s %s\n", rows[i].participant, rows[i].doctype, rows[i].process);
		rl_participant_rows_free(rows, n);
	}
	goto out;
usage:
	status = rl_cli_usage_error(&rl_cmd_participant, "%s", err.msg);
out:
	rl_participants_close(p);
	rl_pgcluster_stop(cluster);
	rl_config_free(cfg);
	free(doctypes);
	free(ids);
	return status;
}

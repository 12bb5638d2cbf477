/*
 * cmd_message.c - `relais message`: an operator looks at messages and acts on one that reached a final
 * state: resend an outbound message that failed, hand an inbound one to the backend again; export what
 * is kept of one as files (the evidence of a dispute, checked again offline with `relais verify-receipt`
 * and `relais inspect`). Works through the database of the configuration, beside a running `relais
 * serve` that picks the work up.
 */
#include "config.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "relais/buf.h"
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/daemon.h"
#include "relais/keys.h"
#include "relais/store.h"
#include "relais/stream.h"
#include "commands.h"

static int run_message(int argc, char **argv);

const struct rl_command rl_cmd_message = {
	.name = "message",
	.summary = "show and list messages; resend a failed one, redeliver a received one",
	.usage =
		"usage: relais message -c FILE [--set section.key=value ...] show ID [--json]\n"
		"       relais message -c FILE list [--state S] [--direction in|out] [--limit N] [--json]\n"
		"       relais message -c FILE retry ID\n"
		"       relais message -c FILE redeliver ID\n"
		"       relais message -c FILE export ID -o DIR\n"
		"\n"
		"Works on the database of the configuration (for database.url = auto, the one the running\n"
		"`relais serve` started). ID is a row id or a MessageId (an outbound one first for show).\n"
		"\n"
		"  show       the message, its state history and whether a receipt is stored\n"
		"  list       messages newest first (default limit 50)\n"
		"  retry      queue an outbound message that failed (or waits for a retry) again now, its\n"
		"             attempts counted anew up to retry.max_attempts; a delivered message is never\n"
		"             sent again, a queued or sending one is left alone\n"
		"  redeliver  hand an inbound message that was delivered or failed to the backend again\n"
		"             (delivery.inbox, delivery.webhook as configured now); the inbox file is\n"
		"             written again whole\n"
		"  export     write what is kept of the message into DIR (made if missing): envelope.xml (the\n"
		"             signed SOAP envelope as sent or received), receipt.xml (the signed receipt, or the\n"
		"             error signal, as received or sent), payload (the document) and message.json (the\n"
		"             message and its history); each file whole or not at all\n"
		"  --json     show: the document GET /api/v1/messages/{id} serves; list: {\"messages\": [...]}\n"
		"\n"
		"Exit status: 0 done; 1 refused (unknown message, or its state does not allow it: one line\n"
		"`error: ...` on stderr); 2 usage or configuration error, or the database cannot be reached.\n",
	.run = run_message,
};

#define LIST_DEFAULT 50

struct message_args {
	const char *action;
	const char *item;
	const char *state;
	int direction;		/* -1 both */
	int limit;
	int json;
	const char *out_dir;	/* export */
};

static int parse_args(int argc, char **argv, struct rl_cli_config_opts *co, struct message_args *a)
{
	a->direction = -1;
	a->limit = LIST_DEFAULT;
	for (int i = 1; i < argc; i++) {
		int taken = rl_cli_config_opt(&rl_cmd_message, co, argc, argv, &i);
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (taken < 0)
			return RL_EXIT_USAGE;
		if (taken)
			continue;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			rl_cli_print_usage(&rl_cmd_message);
			return -1;
		} else if (strcmp(argv[i], "--json") == 0) {
			a->json = 1;
		} else if (strcmp(argv[i], "-o") == 0) {
			if (value == NULL)
				return rl_cli_usage_error(&rl_cmd_message, "-o needs a directory");
			a->out_dir = value;
			i++;
		} else if (strcmp(argv[i], "--state") == 0 || strcmp(argv[i], "--direction") == 0 ||
			   strcmp(argv[i], "--limit") == 0) {
			if (value == NULL)
				return rl_cli_usage_error(&rl_cmd_message, "%s needs a value", argv[i]);
			if (strcmp(argv[i], "--state") == 0) {
				a->state = value;
			} else if (strcmp(argv[i], "--direction") == 0) {
				if (strcmp(value, "in") != 0 && strcmp(value, "out") != 0)
					return rl_cli_usage_error(&rl_cmd_message, "--direction is in or out");
				a->direction = strcmp(value, "in") == 0 ? RL_DIR_IN : RL_DIR_OUT;
			} else {
				char *end;
				long n = strtol(value, &end, 10);

				if (*end != '\0' || n < 1 || n > 100000)
					return rl_cli_usage_error(&rl_cmd_message, "--limit is a number from 1 to 100000");
				a->limit = (int)n;
			}
			i++;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return rl_cli_usage_error(&rl_cmd_message, "unknown option '%s'", argv[i]);
		} else if (a->action == NULL) {
			a->action = argv[i];
		} else if (a->item == NULL) {
			a->item = argv[i];
		} else {
			return rl_cli_usage_error(&rl_cmd_message, "unexpected argument '%s'", argv[i]);
		}
	}
	if (a->action == NULL)
		return rl_cli_usage_error(&rl_cmd_message, "which action: show, list, retry or redeliver");
	if (strcmp(a->action, "list") == 0) {
		if (a->item)
			return rl_cli_usage_error(&rl_cmd_message, "list takes no ID");
	} else if (strcmp(a->action, "show") == 0 || strcmp(a->action, "retry") == 0 ||
		   strcmp(a->action, "redeliver") == 0 || strcmp(a->action, "export") == 0) {
		if (a->item == NULL || a->item[0] == '\0')
			return rl_cli_usage_error(&rl_cmd_message, "%s needs a message ID", a->action);
		if (a->state || a->direction >= 0 || a->limit != LIST_DEFAULT)
			return rl_cli_usage_error(&rl_cmd_message, "--state, --direction and --limit are for list");
		if (a->json && strcmp(a->action, "show") != 0)
			return rl_cli_usage_error(&rl_cmd_message, "--json is for show and list");
		if ((a->out_dir != NULL) != (strcmp(a->action, "export") == 0))
			return rl_cli_usage_error(&rl_cmd_message, a->out_dir ? "-o is for export" :
						  "export needs -o DIR");
	} else {
		return rl_cli_usage_error(&rl_cmd_message, "unknown action '%s' (show, list, retry, redeliver, "
					  "export)", a->action);
	}
	if (a->out_dir && strcmp(a->action, "list") == 0)
		return rl_cli_usage_error(&rl_cmd_message, "-o is for export");
	return RL_EXIT_OK;
}

/* A row id when ID is all digits, else a MessageId. */
static int64_t row_of(const char *item)
{
	char *end;
	long long id = strtoll(item, &end, 10);

	return (*end == '\0' && id > 0) ? (int64_t)id : 0;
}

static void time_text(time_t t, char *out, size_t size)
{
	if (t <= 0)
		snprintf(out, size, "-");
	else
		rl_format_datetime(t, 0, out, size);
}

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

static int print_json(struct rl_store *st, const struct rl_store_message *m, int detail, struct rl_err *err)
{
	char *text = rl_message_json(st, m, detail, detail);

	if (text == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	fputs(text, stdout);
	free(text);
	return 0;
}

static int show(struct rl_store *st, const struct rl_store_message *m, int json, struct rl_err *err)
{
	struct rl_buf text = RL_BUF_INIT;
	char created[40], updated[40], next[40];

	if (json) {
		if (print_json(st, m, 1, err) < 0)
			return -1;
		putchar('\n');
		return 0;
	}
	if (rl_store_message_history(st, m->id, &text, err) < 0)
		return -1;
	time_text(m->created_at, created, sizeof(created));
	time_text(m->updated_at, updated, sizeof(updated));
	time_text(m->next_attempt_at, next, sizeof(next));
	printf("message      %" PRId64 " %s\n", m->id, m->message_id);
	printf("direction    %s\n", m->direction == RL_DIR_IN ? "in" : "out");
	printf("state        %s\n", m->state);
	printf("from         %s\n", or_dash(m->from_party));
	printf("to           %s\n", or_dash(m->to_party));
	printf("sender       %s\n", or_dash(m->original_sender));
	printf("recipient    %s\n", or_dash(m->final_recipient));
	printf("action       %s\n", or_dash(m->action));
	printf("payload      %" PRIu64 " bytes %s\n", m->payload_size, or_dash(m->payload_mime_type));
	if (m->direction == RL_DIR_OUT) {
		printf("destination  %s\n", or_dash(m->dest_url));
		printf("attempts     %d%s%s\n", m->attempts, strcmp(m->state, "retry") == 0 ? ", next at " : "",
		       strcmp(m->state, "retry") == 0 ? next : "");
	}
	printf("created      %s\n", created);
	printf("updated      %s\n", updated);
	printf("receipt      %s%s%s\n", m->receipt_stored ? "stored" : "none",
	       m->receipt_message_id ? " " : "", m->receipt_message_id ? m->receipt_message_id : "");
	if (m->mls_code)
		printf("mls          %s (the receiver's Message Level Status)\n", m->mls_code);
	if (m->last_error)
		printf("last error   %s\n", m->last_error);
	printf("history\n");
	for (char *line = text.data, *eol; line && *line; line = eol + 1) {
		eol = strchr(line, '\n');
		if (eol == NULL)
			break;
		printf("  %.*s\n", (int)(eol - line), line);
	}
	rl_buf_free(&text);
	return 0;
}

struct listing {
	struct rl_store *st;
	int json, n, failed;
	struct rl_err *err;
};

static int list_one(void *ctx, const struct rl_store_message *m)
{
	struct listing *l = ctx;
	char updated[40];

	if (l->json) {
		fputs(l->n ? ",\n  " : "\n  ", stdout);
		if (print_json(l->st, m, 0, l->err) < 0) {
			l->failed = 1;
			return 1;
		}
	} else {
		time_text(m->updated_at, updated, sizeof(updated));
		printf("%-8" PRId64 " %-3s %-9s %-3d %s %s\n", m->id, m->direction == RL_DIR_IN ? "in" : "out",
		       m->state, m->attempts, updated, m->message_id);
	}
	l->n++;
	return 0;
}

static int list(struct rl_store *st, const struct message_args *a, struct rl_err *err)
{
	struct listing l = { st, a->json, 0, 0, err };

	if (a->json)
		fputs("{\"messages\": [", stdout);
	else
		printf("%-8s %-3s %-9s %-3s %-24s %s\n", "ID", "DIR", "STATE", "ATT", "UPDATED", "MESSAGE-ID");
	if (rl_store_message_list(st, a->state, a->direction, a->limit, list_one, &l, err) < 0 || l.failed)
		return -1;
	if (a->json)
		fputs(l.n ? "\n]}\n" : "]}\n", stdout);
	return 0;
}

/* show: outbound first, then inbound (a MessageId may name one of each). */
static int find(struct rl_store *st, const char *item, struct rl_store_message *m, struct rl_err *err)
{
	int64_t id = row_of(item);
	int rc = rl_store_message_get(st, id, id ? NULL : item, RL_DIR_OUT, m, err);

	if (rc == 0 && id == 0)
		rc = rl_store_message_get(st, 0, item, RL_DIR_IN, m, err);
	if (rc == 0)
		rl_err_set(err, RL_ERR_NOT_FOUND, "no message %s", item);
	return rc == 1 ? 0 : -1;
}

/* DIR/NAME, whole or not at all (rl_outfile: a temporary name, fsynced and renamed); its path printed. */
static int export_bytes(const char *dir, const char *name, const void *data, size_t len, struct rl_err *err)
{
	struct rl_outfile of;
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (rl_outfile_open(&of, path, err) < 0)
		return -1;
	if (len && fwrite(data, 1, len, of.fp) != len) {
		rl_outfile_abort(&of);
		return rl_err_set(err, RL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
	}
	if (rl_outfile_commit(&of, err) < 0)
		return -1;
	printf("%s\n", path);
	return 0;
}

/* export: the envelope, the receipt (or signal) and the payload as stored, and the message document
 * with its history; what was never stored (no receipt yet) is left out. */
static int export(struct rl_store *st, const struct rl_store_message *m, const char *dir, struct rl_err *err)
{
	struct rl_buf bytes = RL_BUF_INIT;
	struct rl_outfile of;
	char path[4096], *json;
	int rc = -1;

	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return rl_err_set(err, RL_ERR_IO, "cannot make %s: %s", dir, strerror(errno));
	if (rl_store_message_envelope(st, m->id, &bytes, err) < 0)
		goto out;
	if (bytes.len && export_bytes(dir, "envelope.xml", bytes.data, bytes.len, err) < 0)
		goto out;
	rl_buf_reset(&bytes);
	if (rl_store_message_receipt(st, m->id, &bytes, err) < 0)
		goto out;
	if (bytes.len && export_bytes(dir, "receipt.xml", bytes.data, bytes.len, err) < 0)
		goto out;
	/* the payload streams from the store into the file */
	snprintf(path, sizeof(path), "%s/payload", dir);
	if (rl_outfile_open(&of, path, err) < 0)
		goto out;
	{
		struct rl_sink sink = { rl_sink_file_write, of.fp };

		if (rl_store_payload_read(st, m->id, &sink, err) < 0) {
			rl_outfile_abort(&of);
			goto out;
		}
	}
	if (rl_outfile_commit(&of, err) < 0)
		goto out;
	printf("%s\n", path);
	json = rl_message_json(st, m, 1, 1);
	if (json == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = export_bytes(dir, "message.json", json, strlen(json), err);
	free(json);
out:
	rl_buf_free(&bytes);
	return rc;
}

static int act(struct rl_store *st, const struct rl_config *cfg, const struct message_args *a, struct rl_err *err)
{
	struct rl_store_message m = { 0 };
	int64_t id = row_of(a->item), row = 0;
	int rc;

	if (strcmp(a->action, "retry") == 0)
		rc = rl_store_outbound_retry(st, id, id ? NULL : a->item, "cli", &row, err);
	else
		rc = rl_store_inbound_redeliver(st, id, id ? NULL : a->item, "cli",
						rl_config_str(cfg, RL_CFG_DELIVERY_INBOX)[0] != '\0',
						rl_config_str(cfg, RL_CFG_DELIVERY_WEBHOOK)[0] != '\0', &row, err);
	if (rc < 0)
		return -1;
	if (rl_store_message_get(st, row, NULL, RL_DIR_OUT, &m, err) == 1) {
		printf("%s %" PRId64 " %s: %s\n", strcmp(a->action, "retry") == 0 ? "retry" : "redelivery", m.id,
		       m.message_id, strcmp(a->action, "retry") == 0 ? "queued again" : "handed to the backend again");
		rl_store_message_free(&m);
	}
	return 0;
}

static int run_message(int argc, char **argv)
{
	struct rl_cli_config_opts co = { 0 };
	struct message_args a = { 0 };
	struct rl_store_message m = { 0 };
	struct rl_config *cfg = NULL;
	struct rl_store *st = NULL;
	struct rl_err err = { 0 };
	int rc = parse_args(argc, argv, &co, &a);

	if (rc != RL_EXIT_OK) {
		rl_cli_config_opts_free(&co);
		return rc < 0 ? RL_EXIT_OK : rc;
	}
	rc = rl_cli_config_load(&rl_cmd_message, &co, RL_CFG_MODE_CHECK, &cfg);
	rl_cli_config_opts_free(&co);
	if (rc != RL_EXIT_OK)
		return rc;
	if (rl_cli_store_open(cfg, &st, &err) < 0) {
		fprintf(stderr, "relais message: %s\n", err.msg);
		rc = RL_EXIT_USAGE;
		goto out;
	}
	if (strcmp(a.action, "list") == 0)
		rc = list(st, &a, &err);
	else if (strcmp(a.action, "show") == 0)
		rc = find(st, a.item, &m, &err) < 0 ? -1 : show(st, &m, a.json, &err);
	else if (strcmp(a.action, "export") == 0)
		rc = find(st, a.item, &m, &err) < 0 ? -1 : export(st, &m, a.out_dir, &err);
	else
		rc = act(st, cfg, &a, &err);
	rc = rc < 0 ? rl_cli_fail(&err) : RL_EXIT_OK;
out:
	rl_store_message_free(&m);
	if (st)
		rl_store_close(st);
	rl_config_free(cfg);
	return rc;
}

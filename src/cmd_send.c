/* cmd_send.c - `relais send`: queue a document for the running `relais serve` and wait for its outcome. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "relais/buf.h"
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/store.h"
#include "commands.h"

#define SEND_EXIT_PENDING 3

static int run_send(int argc, char **argv);

const struct rl_command rl_cmd_send = {
	.name = "send",
	.summary = "queue a document for sending and wait for the receipt",
	.usage =
		"usage: relais send -c FILE [--set section.key=value ...] --payload FILE\n"
		"                   [--to-url URL --to-cert CERT.pem] [--no-wait] [--timeout SECONDS]\n"
		"                   [--message-id ID] [--mime-type TYPE] [--action A] [--service S]\n"
		"\n"
		"Queues the document in the database of the `relais serve` that runs with the same\n"
		"configuration (database.url = auto included), prints its MessageId at once, and waits\n"
		"until that server has delivered it (a verified receipt came back) or given up.\n"
		"Without --to-url/--to-cert the destination comes from routing.table by the receiver\n"
		"in the document's SBDH, or from SML/SMP discovery when trust.smp_anchors is set.\n"
		"\n"
		"  --payload FILE        the business document (usually a Peppol SBD)\n"
		"  --to-url URL          the receiving access point's AS4 endpoint\n"
		"  --to-cert CERT.pem    its certificate (the message is encrypted to it)\n"
		"  --no-wait             print the MessageId and exit once it is queued\n"
		"  --timeout SECONDS     how long to wait for the outcome (default 300)\n"
		"\n"
		"Exit status: 0 delivered (or queued, with --no-wait); 1 failed for good; 2 usage or\n"
		"configuration error, or the database cannot be reached (nothing queued); 3 still not\n"
		"delivered when the timeout ran out (it stays queued).\n",
	.run = run_send,
};

enum { OPT_PAYLOAD = 256, OPT_TO_URL, OPT_TO_CERT, OPT_NO_WAIT, OPT_TIMEOUT, OPT_MESSAGE_ID, OPT_MIME,
       OPT_ACTION, OPT_SERVICE, OPT_HELP };

static const struct option send_options[] = {
	{ "payload", required_argument, NULL, OPT_PAYLOAD },
	{ "to-url", required_argument, NULL, OPT_TO_URL },
	{ "to-cert", required_argument, NULL, OPT_TO_CERT },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "message-id", required_argument, NULL, OPT_MESSAGE_ID },
	{ "mime-type", required_argument, NULL, OPT_MIME },
	{ "action", required_argument, NULL, OPT_ACTION },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "config", required_argument, NULL, 'c' },
	{ "set", required_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 }
};

/* Waits for the message to reach delivered or failed. Returns the exit status. */
static int wait_outcome(struct rl_store *st, int64_t id, const char *message_id, long timeout)
{
	time_t deadline = time(NULL) + timeout;
	struct rl_err err;

	if (rl_store_listen(st, "relais_state", &err) < 0)
		return rl_cli_fail(&err);
	for (;;) {
		struct rl_store_message m = { 0 };
		int found = rl_store_message_get(st, id, NULL, RL_DIR_OUT, &m, &err);

		if (found < 0)
			return rl_cli_fail(&err);
		if (found && strcmp(m.state, "delivered") == 0) {
			printf("delivered %s (receipt %s, attempt %d)\n", message_id,
			       m.receipt_message_id ? m.receipt_message_id : "?", m.attempts);
			rl_store_message_free(&m);
			return RL_EXIT_OK;
		}
		if (found && strcmp(m.state, "failed") == 0) {
			fprintf(stderr, "error: %s failed after %d attempt(s): %s\n", message_id, m.attempts,
				m.last_error ? m.last_error : "unknown");
			rl_store_message_free(&m);
			return RL_EXIT_REFUSED;
		}
		if (time(NULL) >= deadline) {
			fprintf(stderr, "relais send: %s is still %s after %lds (it stays queued)%s%s\n", message_id,
				found ? m.state : "unknown", timeout, found && m.last_error ? "; last error: " : "",
				found && m.last_error ? m.last_error : "");
			rl_store_message_free(&m);
			return SEND_EXIT_PENDING;
		}
		rl_store_message_free(&m);
		if (rl_store_wait(st, 1000, &err) < 0)
			return rl_cli_fail(&err);
	}
}

static int run_send(int argc, char **argv)
{
	struct rl_cli_config_opts co = { 0 };
	struct rl_store_submission sub = { 0 };
	const char *payload = NULL, *to_cert = NULL;
	struct rl_buf cert_pem = RL_BUF_INIT;
	struct rl_config *cfg = NULL;
	struct rl_store *st = NULL;
	char *message_id = NULL;
	struct rl_err err;
	long timeout = 300;
	int no_wait = 0, opt, rc;
	int64_t id;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:", send_options, NULL)) != -1) {
		switch (opt) {
		case 'c': co.path = optarg; break;
		case 's':
			if (rl_cli_config_add_set(&co, optarg) < 0)
				return RL_EXIT_USAGE;
			break;
		case OPT_PAYLOAD: payload = optarg; break;
		case OPT_TO_URL: sub.dest_url = optarg; break;
		case OPT_TO_CERT: to_cert = optarg; break;
		case OPT_NO_WAIT: no_wait = 1; break;
		case OPT_TIMEOUT: timeout = atol(optarg); break;
		case OPT_MESSAGE_ID: sub.message_id = optarg; break;
		case OPT_MIME: sub.payload_mime_type = optarg; break;
		case OPT_ACTION: sub.action = optarg; break;
		case OPT_SERVICE: sub.service = optarg; break;
		case OPT_HELP: rl_cli_config_opts_free(&co); return rl_cli_print_usage(&rl_cmd_send);
		default: rl_cli_config_opts_free(&co); return rl_cli_usage_error(&rl_cmd_send, "unknown option");
		}
	}
	rc = RL_EXIT_USAGE;
	if (optind < argc) {
		rl_cli_usage_error(&rl_cmd_send, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (payload == NULL) {
		rl_cli_usage_error(&rl_cmd_send, "--payload FILE is required");
		goto out;
	}
	if ((sub.dest_url == NULL) != (to_cert == NULL)) {
		rl_cli_usage_error(&rl_cmd_send, "--to-url and --to-cert go together");
		goto out;
	}
	if (timeout < 1) {
		rl_cli_usage_error(&rl_cmd_send, "--timeout needs a number of seconds");
		goto out;
	}
	if (to_cert) {
		X509 *cert = rl_cert_load_pem(to_cert, &err);

		if (cert == NULL || rl_cert_to_pem(cert, &cert_pem) < 0) {
			X509_free(cert);
			rl_cli_usage_error(&rl_cmd_send, "--to-cert %s: %s", to_cert, cert ? "out of memory" : err.msg);
			goto out;
		}
		X509_free(cert);
		sub.dest_cert_pem = cert_pem.data;
	}
	sub.payload = fopen(payload, "rb");
	if (sub.payload == NULL) {
		rl_cli_usage_error(&rl_cmd_send, "--payload %s: %s", payload, strerror(errno));
		goto out;
	}
	rc = rl_cli_config_load(&rl_cmd_send, &co, RL_CFG_MODE_CHECK, &cfg);
	if (rc != RL_EXIT_OK)
		goto out;
	if (rl_cli_store_open(cfg, &st, &err) < 0) {
		rl_cli_fail(&err);
		rc = RL_EXIT_USAGE;	/* nothing was queued: the set-up is wrong, not the document */
		goto out;
	}
	sub.source = "cli";
	sub.wake_on_outcome = !no_wait;
	if (rl_store_outbound_submit(st, &sub, &id, &message_id, &err) < 0) {
		rc = rl_cli_fail(&err);
		goto out;
	}
	printf("queued %s\n", message_id);
	fflush(stdout);
	rc = no_wait ? RL_EXIT_OK : wait_outcome(st, id, message_id, timeout);
out:
	if (sub.payload)
		fclose(sub.payload);
	free(message_id);
	rl_buf_free(&cert_pem);
	if (st)
		rl_store_close(st);
	rl_config_free(cfg);
	rl_cli_config_opts_free(&co);
	return rc;
}

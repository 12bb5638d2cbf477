/*
 * delivery.c - hands received messages to the backend, after they are committed.
 *
 * At least once and idempotent: a delivery row is taken from the store, done, then marked done; a crash
 * in between repeats it. The inbox gets one file per message named by its MessageId, written under a
 * temporary name, fsynced and renamed, so a file either is there whole or not at all, and a repeated
 * delivery finds it there and does not write it again. The webhook gets a POST of the payload with the
 * message's headers (Relais-Message-Id lets the backend drop a repeat); any 2xx answer is success,
 * anything else is retried with backoff until retry.max_attempts.
 * Relay routes (relay.h) may ask for another syntax: the inbox then gets the converted form beside the
 * original (<MessageId>.<syntax>.xml), the webhook gets it instead, with Relais-Converted-From. A
 * conversion that fails never holds the original back: it is delivered and the failure recorded.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "relais/daemon.h"
#include "relais/http_client.h"
#include "relais/log.h"
#include "relais/relay.h"
#include "relais/stream.h"

#define IDLE_WAIT_MS 1000

/* A MessageId as a file name: characters outside [A-Za-z0-9._@+=-] become '_', no leading dot. */
static void file_name_of(const char *message_id, const char *mime_type, char *out, size_t size)
{
	const char *ext = (mime_type && strstr(mime_type, "xml")) ? ".xml" : ".bin";
	size_t n = 0;

	for (const char *p = message_id; *p && n + strlen(ext) + 1 < size && n < 200; p++) {
		char c = *p;
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   strchr("._@+=-", c) != NULL;

		out[n] = keep && !(n == 0 && c == '.') ? c : '_';
		n++;
	}
	snprintf(out + n, size - n, "%s", ext);
}

static int deliver_inbox(struct rl_daemon *d, struct rl_store *st, const struct rl_store_delivery *dl,
			 const struct rl_relay_table *relay, struct rl_err *problem, struct rl_err *err)
{
	char name[256], *path;
	struct rl_outfile of;
	struct stat sb;
	int rc;

	file_name_of(dl->message_id, dl->payload_mime_type, name, sizeof(name));
	if (asprintf(&path, "%s/%s", d->inbox_dir, name) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (stat(path, &sb) == 0) {
		/* Renamed into place by an earlier attempt that could not record it: already delivered. */
		rl_relay_deliver_inbox(st, dl, relay, path, problem);
		free(path);
		return 0;
	}
	if (rl_outfile_open(&of, path, err) < 0) {
		free(path);
		return -1;
	}
	{
		struct rl_sink sink = { rl_sink_file_write, of.fp };

		rc = rl_store_payload_read(st, dl->message, &sink, err);
	}
	if (rc < 0)
		rl_outfile_abort(&of);
	else
		rc = rl_outfile_commit(&of, err);
	if (rc == 0)
		rl_relay_deliver_inbox(st, dl, relay, path, problem);
	free(path);
	return rc;
}

static int deliver_webhook(struct rl_daemon *d, struct rl_store *st, struct rl_http_client *http,
			   const struct rl_store_delivery *dl, const struct rl_relay_table *relay, struct rl_err *problem,
			   struct rl_err *err)
{
	struct rl_store_message m = { 0 };
	struct rl_http_result res = { 0 };
	char h_id[600], h_from[300], h_to[300], h_action[600], h_converted[64] = "";
	const char *headers[6];
	char *spool_path = NULL;
	FILE *spool;
	long size;
	int rc = -1;

	if (rl_store_message_get(st, dl->message, NULL, RL_DIR_IN, &m, err) <= 0) {
		if (err->code == RL_OK)
			rl_err_set(err, RL_ERR_INTERNAL, "message row %lld is gone", (long long)dl->message);
		return -1;
	}
	/* A relay conversion reads the original by its name; otherwise an unnamed spool file does. */
	spool = rl_relay_count(relay) ? rl_relay_spool(d->spool_dir, &spool_path, err) :
					rl_tmpfile(d->spool_dir[0] ? d->spool_dir : NULL, err);
	if (spool == NULL)
		goto done;
	{
		struct rl_sink sink = { rl_sink_file_write, spool };

		if (rl_store_payload_read(st, dl->message, &sink, err) < 0)
			goto done;
	}
	if (fflush(spool) != 0) {
		rl_err_set(err, RL_ERR_IO, "cannot write a spool file: %s", strerror(errno));
		goto done;
	}
	size = ftell(spool);
	rewind(spool);
	rl_relay_deliver_webhook(d->spool_dir, st, dl, relay, spool_path, &spool, &size, h_converted, sizeof(h_converted),
				 problem);
	snprintf(h_id, sizeof(h_id), "Relais-Message-Id: %s", m.message_id);
	snprintf(h_from, sizeof(h_from), "Relais-From: %s", m.original_sender ? m.original_sender : m.from_party);
	snprintf(h_to, sizeof(h_to), "Relais-To: %s", m.final_recipient ? m.final_recipient : m.to_party);
	snprintf(h_action, sizeof(h_action), "Relais-Action: %s", m.action ? m.action : "");
	headers[0] = h_id;
	headers[1] = h_from;
	headers[2] = h_to;
	headers[3] = h_action;
	headers[4] = h_converted[0] ? h_converted : NULL;
	headers[5] = NULL;
	if (rl_http_post_file(http, d->webhook_url, h_converted[0] || !m.payload_mime_type ? "application/xml" :
			      m.payload_mime_type,
			      spool, (uint64_t)size, headers, 64 * 1024, &res, err) < 0)
		goto done;
	if (res.status < 200 || res.status > 299) {
		rl_err_set(err, RL_ERR_NETWORK, "webhook %s answered HTTP %ld", d->webhook_url, res.status);
		goto done;
	}
	rc = 0;
done:
	if (spool)
		fclose(spool);
	if (spool_path) {
		unlink(spool_path);
		free(spool_path);
	}
	rl_http_result_free(&res);
	rl_store_message_free(&m);
	return rc;
}

void *rl_delivery_thread(void *arg)
{
	struct rl_daemon *d = arg;
	struct rl_http_client *http = NULL;
	struct rl_relay_table *relay;
	struct rl_err err;
	int listening = 0;

	if (d->inbox_dir)
		rl_daemon_remove_leftovers(d->inbox_dir, RL_LEFTOVER_TEMPORARIES);
	relay = rl_relay_load(rl_config_str(d->cfg, RL_CFG_RELAY_ROUTES), &err);
	if (relay == NULL) {
		rl_log_error(NULL, "delivery cannot start: %s", err.msg);
		return NULL;
	}
	if (d->webhook_url) {
		struct rl_http_client_opts ho = { 0 };

		ho.tls_anchors = d->tls_anchors;
		ho.connect_timeout = 10;
		ho.timeout = d->request_timeout;
		ho.user_agent = "relais/" PACKAGE_VERSION;
		http = rl_http_client_new(&ho, &err);
		if (http == NULL) {
			rl_log_error(NULL, "webhook delivery cannot start: %s", err.msg);
			rl_relay_free(relay);
			return NULL;
		}
	}
	while (!atomic_load(&d->stopping)) {
		struct rl_store_delivery dl = { 0 };
		struct rl_err problem = { 0 };
		struct rl_store *st = rl_daemon_store(d, &err);
		int rc;

		if (st == NULL) {
			rl_log_warn(NULL, "delivery: %s", err.msg);
			sleep(1);
			continue;
		}
		if (!listening) {
			if (rl_store_listen(st, "relais_delivery", &err) < 0) {
				rl_log_warn(NULL, "delivery: %s", err.msg);
				sleep(1);
				continue;
			}
			listening = 1;
		}
		rc = rl_store_delivery_claim(st, d->worker_id, rl_daemon_lease_seconds(d), &dl, &err);
		if (rc < 0) {
			rl_log_warn(NULL, "delivery: %s", err.msg);
			listening = 0;
			sleep(1);
			continue;
		}
		if (rc == 0) {
			if (rl_store_wait(st, IDLE_WAIT_MS, &err) < 0)
				listening = 0;
			continue;
		}
		rl_err_clear(&err);
		if (dl.channel == RL_DELIVERY_INBOX && d->inbox_dir)
			rc = deliver_inbox(d, st, &dl, relay, &problem, &err);
		else if (dl.channel == RL_DELIVERY_WEBHOOK && http)
			rc = deliver_webhook(d, st, http, &dl, relay, &problem, &err);
		else
			rc = rl_err_set(&err, RL_ERR_CONFIG, "the %s is no longer configured",
					dl.channel == RL_DELIVERY_INBOX ? "inbox" : "webhook");
		if (rc == 0) {
			int recorded;

			/* The database may be restarting: try again for a while before leaving it to the lease. */
			for (int i = 0; (recorded = rl_store_delivery_done(st, &dl, &err)) < 0 &&
					rl_daemon_db_retry(d, &i, &err);)
				;
			if (recorded < 0)
				rl_log_error(dl.message_id, "delivered but not recorded: %s", err.msg);
			else
				rl_log_info(dl.message_id, "delivered to the %s",
					    dl.channel == RL_DELIVERY_INBOX ? "inbox" : "webhook");
			if (recorded >= 0 && problem.code != RL_OK) {
				char text[RL_ERR_MSG_MAX + 64];

				rl_err_format(&problem, text, sizeof(text));
				rl_log_error(dl.message_id, "%s", text);
				if (rl_store_delivery_note(st, &dl, text, &err) < 0)
					rl_log_error(dl.message_id, "cannot record the relay failure: %s", err.msg);
			}
		} else {
			char text[RL_ERR_MSG_MAX + 64];
			int final = dl.attempts >= d->max_attempts;
			int delay = final ? 0 : rl_daemon_backoff(d, dl.attempts);
			struct rl_err err2;

			rl_err_format(&err, text, sizeof(text));
			/* A database restart fails the delivery and its recording alike: try again for a while
			 * rather than leave the delivery to its lease. */
			for (int i = 0; rl_store_delivery_failed(st, &dl, text, delay, final, &err2) < 0;) {
				if (!rl_daemon_db_retry(d, &i, &err2)) {
					rl_log_error(dl.message_id, "cannot record the failed delivery: %s", err2.msg);
					break;
				}
			}
			rl_log_warn(dl.message_id, "delivery attempt %d failed%s: %s", dl.attempts,
				    final ? " for good" : "", text);
		}
		rl_store_delivery_free(&dl);
	}
	rl_http_client_free(http);
	rl_relay_free(relay);
	return NULL;
}

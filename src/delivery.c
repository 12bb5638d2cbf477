/*
 * delivery.c - hands received messages to the backend, after they are committed.
 *
 * At least once and idempotent: a delivery row is taken, done, then marked done; a crash in between
 * repeats it. Deliveries come two ways: handed over by the receiving thread of this process, already
 * taken at commit and with the payload when it is small (rl_delivery_handoff), or claimed from the store
 * (retries, a backlog, work left by a stopped instance). What is handed over gathers for a few
 * milliseconds (GATHER_MS) and is done in batches, marked done with one statement per batch. The inbox
 * gets one file per message named by its MessageId, written under a temporary name, fsynced and
 * renamed, so a file either is there whole or not at all, and a repeated attempt finds it there and does
 * not write it again; a redelivery (rl_store_inbound_redeliver: attempts from 1 again) replaces it whole.
 * The webhook gets a POST of the payload with the message's headers (Relais-Message-Id lets the backend
 * drop a repeat); any 2xx answer is success, anything else is retried with backoff until
 * retry.max_attempts.
 * Relay routes (relay.h) may ask for another syntax: the inbox then gets the converted form beside the
 * original (<MessageId>.<syntax>.xml), the webhook gets it instead, with Relais-Converted-From. A
 * conversion that fails never holds the original back: it is delivered and the failure recorded.
 * A message delivered (when the Message Level Status may concern it: rl_mls_may_concern) or failed for
 * good goes on to mls_send.c, which queues the MLS due to the sending access point; a delivered MLS about
 * a document we sent is noted against that message there too, also when its bytes are not in memory.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "relais/daemon.h"
#include "relais/http_client.h"
#include "relais/log.h"
#include "relais/metrics.h"
#include "relais/relay.h"
#include "relais/stream.h"

#define IDLE_WAIT_MS 1000
#define HANDOFF_MAX 256		/* queued hand-offs beyond which received messages wait in the store */
#define BATCH_MAX 64		/* deliveries marked done by one statement */
/* How long hand-offs gather after the first of them before the worker takes them: under load, one
 * wake-up, one directory sync and one statement serve several messages instead of one each. The backend
 * gets a message at most this much later; the sender's receipt does not wait for it. */
#define GATHER_MS 10

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

/* The payload into out: the bytes handed over with the delivery, else from the store. */
static int payload_to(struct rl_store *st, const struct rl_store_delivery *dl, const struct rl_handoff *h,
		      const struct rl_sink *out, struct rl_err *err)
{
	if (h && h->payload)
		return rl_sink_write(out, h->payload, h->payload_len, err);
	return rl_store_payload_read(st, dl->message, out, err);
}

static int deliver_inbox(struct rl_daemon *d, struct rl_store *st, const struct rl_store_delivery *dl,
			 const struct rl_handoff *h, const struct rl_relay_table *relay, int *inbox_renamed,
			 struct rl_err *problem, struct rl_err *err)
{
	char name[256], *path;
	struct rl_outfile of;
	struct stat sb;
	int rc;

	file_name_of(dl->message_id, dl->payload_mime_type, name, sizeof(name));
	if (asprintf(&path, "%s/%s", d->inbox_dir, name) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (dl->attempts > 1 && stat(path, &sb) == 0) {
		/* Renamed into place by an earlier attempt that could not record it: already delivered (its
		 * rename is made durable with the batch's). A first attempt writes the file even when one is
		 * there: a redelivery asked for by an operator replaces it whole. */
		*inbox_renamed = 1;
		rl_relay_deliver_inbox(st, dl, relay, path, problem);
		free(path);
		return 0;
	}
	if (rl_outfile_open(&of, path, err) < 0) {
		free(path);
		return -1;
	}
	of.defer_dir_sync = 1;	/* one directory sync for the batch, before it is recorded (flush_done) */
	*inbox_renamed = 1;
	{
		struct rl_sink sink = { rl_sink_file_write, of.fp };

		rc = payload_to(st, dl, h, &sink, err);
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
			   const struct rl_store_delivery *dl, const struct rl_handoff *h,
			   const struct rl_relay_table *relay, struct rl_err *problem, struct rl_err *err)
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

		if (payload_to(st, dl, h, &sink, err) < 0)
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

void rl_handoff_free(struct rl_handoff *h)
{
	while (h) {
		struct rl_handoff *next = h->next;

		for (int i = 0; i < h->count; i++)
			rl_store_delivery_free(&h->deliveries[i]);
		free(h->payload);
		free(h);
		h = next;
	}
}

int rl_delivery_accepts(struct rl_daemon *d)
{
	int accepts;

	pthread_mutex_lock(&d->handoff_lock);
	accepts = d->delivery_started && !d->handoff_closed && d->handoff_count < HANDOFF_MAX &&
		  !atomic_load(&d->stopping);
	pthread_mutex_unlock(&d->handoff_lock);
	return accepts;
}

int rl_delivery_handoff(struct rl_daemon *d, struct rl_handoff *h)
{
	pthread_mutex_lock(&d->handoff_lock);
	if (d->handoff_closed) {
		pthread_mutex_unlock(&d->handoff_lock);
		return -1;
	}
	h->next = NULL;
	if (d->handoff_tail)
		d->handoff_tail->next = h;
	else
		d->handoff_head = h;
	d->handoff_tail = h;
	/* Only the first of a gathering wakes the worker; the others join what it takes. */
	if (d->handoff_count++ == 0)
		pthread_cond_signal(&d->handoff_cond);
	pthread_mutex_unlock(&d->handoff_lock);
	return 0;
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Takes everything handed over so far; when there is nothing, first waits up to wait_ms for it. What is
 * there is left to gather until GATHER_MS after the worker found it, unless a batch is already full or
 * the daemon is stopping. */
static struct rl_handoff *handoff_take(struct rl_daemon *d, int wait_ms)
{
	struct rl_handoff *list;

	pthread_mutex_lock(&d->handoff_lock);
	if (d->handoff_head == NULL && wait_ms > 0 && !atomic_load(&d->stopping)) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->handoff_cond, &d->handoff_lock, &until);
	}
	if (d->handoff_head && d->handoff_count < BATCH_MAX && !atomic_load(&d->stopping)) {
		struct timespec pause = { 0, GATHER_MS * 1000000L };

		pthread_mutex_unlock(&d->handoff_lock);
		nanosleep(&pause, NULL);
		pthread_mutex_lock(&d->handoff_lock);
	}
	list = d->handoff_head;
	d->handoff_head = d->handoff_tail = NULL;
	d->handoff_count = 0;
	pthread_mutex_unlock(&d->handoff_lock);
	return list;
}

/* What the worker needs besides the daemon: its connection and webhook client. */
struct worker {
	struct rl_daemon *d;
	struct rl_store *st;
	struct rl_http_client *http;
	struct rl_store_delivery done[BATCH_MAX];	/* shallow copies, owned by their hand-offs */
	struct rl_err done_problems[BATCH_MAX];
	const struct rl_handoff *done_handoffs[BATCH_MAX];	/* the payload in memory, or NULL */
	unsigned char done_mls[BATCH_MAX];		/* the Message Level Status may concern it */
	int ndone;
	int inbox_renamed;				/* files renamed into the inbox since its last sync */
};

/* Records the deliveries done so far in one statement, then what went wrong beside them. */
static void flush_done(struct worker *w)
{
	struct rl_err err;
	int recorded;

	if (w->ndone == 0)
		return;
	/* The renames into the inbox are made durable once for the batch, before any is recorded; when that
	 * fails none is, and they are delivered again when their leases run out. */
	if (w->inbox_renamed && rl_sync_dir(w->d->inbox_dir, &err) < 0) {
		for (int i = 0; i < w->ndone; i++)
			rl_log_error(w->done[i].message_id, "delivered but not recorded: %s", err.msg);
		w->ndone = 0;
		return;
	}
	w->inbox_renamed = 0;
	/* The database may be restarting: try again for a while before leaving them to their leases. */
	for (int i = 0; (recorded = rl_store_deliveries_done(w->st, w->done, (size_t)w->ndone, &err)) < 0 &&
			rl_daemon_db_retry(w->d, &i, &err);)
		;
	for (int i = 0; i < w->ndone; i++) {
		const struct rl_store_delivery *dl = &w->done[i];

		if (recorded < 0) {
			rl_log_error(dl->message_id, "delivered but not recorded: %s", err.msg);
			continue;
		}
		rl_log_info(dl->message_id, "delivered to the %s", dl->channel == RL_DELIVERY_INBOX ? "inbox" : "webhook");
		if (w->done_problems[i].code != RL_OK) {
			char text[RL_ERR_MSG_MAX + 64];

			rl_err_format(&w->done_problems[i], text, sizeof(text));
			rl_log_error(dl->message_id, "%s", text);
			if (rl_store_delivery_note(w->st, dl, text, &err) < 0)
				rl_log_error(dl->message_id, "cannot record the relay failure: %s", err.msg);
		}
		if (w->done_mls[i])
			rl_mls_after_delivery(w->d, w->st, dl, w->done_handoffs[i], 1);
	}
	w->ndone = 0;
}

/* One attempt of one delivery; a success joins the batch (flush_done records it, before dl is freed). */
static void deliver_one(struct worker *w, const struct rl_store_delivery *dl, const struct rl_handoff *h)
{
	struct rl_daemon *d = w->d;
	struct rl_keyring *keys = rl_daemon_keyring(d);	/* the relay routes in force (SIGHUP reloads them) */
	struct rl_err problem = { 0 }, err;
	int rc, final;

	rl_err_clear(&err);
	if (dl->channel == RL_DELIVERY_INBOX && d->inbox_dir)
		rc = deliver_inbox(d, w->st, dl, h, keys->relay, &w->inbox_renamed, &problem, &err);
	else if (dl->channel == RL_DELIVERY_WEBHOOK && w->http)
		rc = deliver_webhook(d, w->st, w->http, dl, h, keys->relay, &problem, &err);
	else
		rc = rl_err_set(&err, RL_ERR_CONFIG, "the %s is no longer configured",
				dl->channel == RL_DELIVERY_INBOX ? "inbox" : "webhook");
	rl_keyring_put(d, keys);
	final = rc != 0 && dl->attempts >= d->max_attempts;
	rl_metrics_delivery(dl->channel == RL_DELIVERY_INBOX ? RL_METRICS_INBOX : RL_METRICS_WEBHOOK,
			    rc == 0 ? RL_METRICS_DELIVERED : final ? RL_METRICS_FAILED : RL_METRICS_RETRY);
	if (rc == 0) {
		if (w->ndone == BATCH_MAX)
			flush_done(w);
		w->done[w->ndone] = *dl;
		w->done_problems[w->ndone] = problem;
		w->done_handoffs[w->ndone] = h;
		w->done_mls[w->ndone] = rl_mls_may_concern(d, h);
		w->ndone++;
	} else {
		char text[RL_ERR_MSG_MAX + 64];
		int delay = final ? 0 : rl_daemon_backoff(d, dl->attempts);
		struct rl_err err2;

		rl_err_format(&err, text, sizeof(text));
		/* A database restart fails the delivery and its recording alike: try again for a while
		 * rather than leave the delivery to its lease. */
		for (int i = 0; rl_store_delivery_failed(w->st, dl, text, delay, final, &err2) < 0;) {
			if (!rl_daemon_db_retry(d, &i, &err2)) {
				rl_log_error(dl->message_id, "cannot record the failed delivery: %s", err2.msg);
				break;
			}
		}
		rl_log_warn(dl->message_id, "delivery attempt %d failed%s: %s", dl->attempts,
			    final ? " for good" : "", text);
		if (final)
			rl_mls_after_delivery(d, w->st, dl, h, 0);
	}
}

/* Delivers a list of hand-offs, recording them done in batches, and frees them. */
static void deliver_handoffs(struct worker *w, struct rl_handoff *list)
{
	struct rl_handoff *done_list = NULL;

	while (list) {
		struct rl_handoff *h = list;

		list = h->next;
		for (int i = 0; i < h->count; i++) {
			if (w->ndone == BATCH_MAX) {
				flush_done(w);
				rl_handoff_free(done_list);
				done_list = NULL;
			}
			deliver_one(w, &h->deliveries[i], h);
		}
		h->next = done_list;
		done_list = h;
	}
	flush_done(w);
	rl_handoff_free(done_list);
}

void *rl_delivery_thread(void *arg)
{
	struct rl_daemon *d = arg;
	struct worker w = { 0 };
	struct rl_err err;
	long long last_claim = 0;
	int backlog = 0;		/* the last claim found a delivery: there may be more */

	w.d = d;
	if (d->inbox_dir)
		rl_daemon_remove_leftovers(d->inbox_dir, RL_LEFTOVER_TEMPORARIES);
	if (d->webhook_url) {
		struct rl_http_client_opts ho = { 0 };

		ho.tls_anchors = d->tls_anchors;
		ho.connect_timeout = 10;
		ho.timeout = d->request_timeout;
		ho.user_agent = "relais/" PACKAGE_VERSION;
		w.http = rl_http_client_new(&ho, &err);
		if (w.http == NULL) {
			rl_log_error(NULL, "webhook delivery cannot start: %s", err.msg);
			goto closed;
		}
	}
	for (;;) {
		struct rl_store_delivery dl = { 0 };
		struct rl_handoff *handed;
		int rc;

		w.st = rl_daemon_store(d, &err);
		if (w.st == NULL) {
			if (atomic_load(&d->stopping))
				break;
			rl_log_warn(NULL, "delivery: %s", err.msg);
			sleep(1);
			continue;
		}
		handed = handoff_take(d, 0);
		if (handed) {
			deliver_handoffs(&w, handed);
			/* The store's share, between hand-offs: a backlog found there is taken one by one, and
			 * otherwise the store is looked at (retries come due) at least once a second. */
			if (!backlog && monotonic_ms() - last_claim < IDLE_WAIT_MS)
				continue;
		}
		if (atomic_load(&d->stopping))
			break;
		last_claim = monotonic_ms();
		rc = rl_store_delivery_claim(w.st, d->worker_id, rl_daemon_lease_seconds(d), &dl, &err);
		backlog = rc == 1;
		if (rc < 0) {
			rl_log_warn(NULL, "delivery: %s", err.msg);
			sleep(1);
			continue;
		}
		if (rc == 0) {
			handed = handoff_take(d, IDLE_WAIT_MS);
			if (handed)
				deliver_handoffs(&w, handed);
			continue;
		}
		deliver_one(&w, &dl, NULL);
		flush_done(&w);
		rl_store_delivery_free(&dl);
	}
closed:
	/* No more hand-offs; what was handed over before is delivered (or, without a way to deliver, left
	 * to its lease). */
	pthread_mutex_lock(&d->handoff_lock);
	d->handoff_closed = 1;
	pthread_mutex_unlock(&d->handoff_lock);
	{
		struct rl_handoff *rest = handoff_take(d, 0);

		if (w.st)
			deliver_handoffs(&w, rest);
		else
			rl_handoff_free(rest);
	}
	rl_http_client_free(w.http);
	return NULL;
}

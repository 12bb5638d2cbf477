/*
 * sender.c - the outbound queue workers of `relais serve`.
 *
 * Each worker thread loops: take one due message from the store (FOR UPDATE SKIP LOCKED, so instances
 * sharing a database never take the same one), find where it goes (the submission's URL and certificate,
 * else the routing table by the SBDH receiver), stream its payload out of the store into a spool file,
 * pack it (sign, encrypt), POST it, and check the answer: a receipt that verifies against what was sent
 * makes the message delivered; anything else is a retry with exponential backoff, or a final failure
 * when the peer refused it for good or the attempts are used up.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <openssl/pem.h>
#include "relais/as4.h"
#include "relais/daemon.h"
#include "relais/discovery.h"
#include "relais/http_client.h"
#include "relais/log.h"
#include "relais/metrics.h"
#include "relais/sbdh.h"

#define MAX_SIGNAL_SIZE (4u << 20)
#define IDLE_WAIT_MS 1000

/* Where a message goes: URL and the receiver's certificate. */
struct destination {
	char *url;
	char *cert_pem;
	X509 *cert;
};

static void destination_free(struct destination *dst)
{
	free(dst->url);
	free(dst->cert_pem);
	X509_free(dst->cert);
	memset(dst, 0, sizeof(*dst));
}

static X509 *cert_from_pem_text(const char *pem, struct rl_err *err)
{
	struct rl_err parse_err;
	X509 *cert = rl_cert_from_pem_text(pem, &parse_err);	/* cached: the same few peers every time */

	if (cert == NULL)
		rl_err_set(err, RL_ERR_CONFIG, "the receiver certificate of the message is not a PEM certificate");
	return cert;
}

static char *read_small_file(const char *path, struct rl_err *err)
{
	struct rl_buf b = RL_BUF_INIT;

	if (rl_buf_read_file(&b, path, 1 << 20) < 0) {
		rl_err_set(err, RL_ERR_CONFIG, "cannot read %s: %s", path, strerror(errno));
		rl_buf_free(&b);
		return NULL;
	}
	return rl_buf_steal(&b);
}

/* Who and what a message is for: the SBDH receiver, document type and process of the payload, else the
 * submission's final recipient or To party (then without document type). */
struct addressee {
	char *receiver;		/* "iso6523-actorid-upis::0088:..." or a party id */
	char *doctype;		/* "busdox-docid-qns::...", or NULL */
	char *process;		/* "cenbii-procid-ubl::...", or NULL */
};

static void addressee_free(struct addressee *a)
{
	free(a->receiver);
	free(a->doctype);
	free(a->process);
}

static char *scheme_value(const char *scheme, const char *value)
{
	char *out = NULL;

	if (value == NULL)
		return NULL;
	if (scheme == NULL)
		return strdup(value);
	return asprintf(&out, "%s::%s", scheme, value) < 0 ? NULL : out;
}

static void addressee_of(const struct rl_store_message *m, const char *payload_path, struct addressee *a)
{
	struct rl_sbdh h = { 0 };
	struct rl_err ignored;

	memset(a, 0, sizeof(*a));
	if (rl_sbdh_read_file(payload_path, &h, &ignored) == 1) {
		a->receiver = scheme_value(h.receiver_scheme, h.receiver);
		a->doctype = scheme_value(h.document_id_scheme ? h.document_id_scheme : "busdox-docid-qns",
					  h.document_id);
		a->process = scheme_value(h.process_id_scheme ? h.process_id_scheme : "cenbii-procid-ubl",
					  h.process_id);
	}
	rl_sbdh_free(&h);
	if (a->receiver == NULL && m->final_recipient)
		a->receiver = strdup(m->final_recipient);
	if (a->receiver == NULL && m->to_party)
		a->receiver = strdup(m->to_party);
}

/* Through SML and SMP: the receiver's AS4 endpoint and certificate. */
static int discover(struct rl_daemon *d, const struct addressee *a, struct destination *dst, struct rl_err *err)
{
	struct rl_endpoint ep = { 0 };
	struct rl_buf pem = RL_BUF_INIT;

	if (a->receiver == NULL || a->doctype == NULL)
		return rl_err_set(err, RL_ERR_NOT_FOUND, "no route, and no SBDH receiver and document type to "
				  "look up");
	if (rl_discovery_resolve(d->discovery, a->receiver, a->doctype, a->process, &ep, err) < 0)
		return rl_err_prefix(err, "discovery of %s", a->receiver);
	if (rl_cert_to_pem(ep.cert, &pem) < 0 || (dst->url = strdup(ep.url)) == NULL) {
		rl_endpoint_free(&ep);
		rl_buf_free(&pem);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	dst->cert_pem = rl_buf_steal(&pem);
	rl_log_info(NULL, "discovered %s for %s: %s (%s)", a->doctype, a->receiver, ep.url,
		    ep.transport_profile ? ep.transport_profile : "?");
	rl_endpoint_free(&ep);
	return 0;
}

/* Finds the destination: as submitted; else a static route for the receiver; else SML/SMP discovery
 * (when configured); else the catch-all route. Recorded in the store so retries reuse it. */
static int resolve_destination(struct rl_daemon *d, const struct rl_keyring *keys, struct rl_store *st,
			       const struct rl_store_message *m, const char *payload_path, struct destination *dst,
			       struct rl_err *err)
{
	if (m->dest_url == NULL || m->dest_cert_pem == NULL) {
		struct addressee a;
		const char *url = NULL, *cert_path = NULL;
		int wildcard = 0, found;

		addressee_of(m, payload_path, &a);
		found = rl_routes_find(keys->routes, a.receiver, &url, &cert_path, &wildcard, err) == 0;
		if ((!found || wildcard) && d->discovery) {
			if (discover(d, &a, dst, err) < 0 && !found) {
				addressee_free(&a);
				return -1;
			}
		}
		addressee_free(&a);
		if (dst->url == NULL) {
			if (!found)
				return -1;
			dst->url = strdup(url);
			dst->cert_pem = read_small_file(cert_path, err);
			if (dst->url == NULL || dst->cert_pem == NULL) {
				if (dst->url == NULL)
					rl_err_set(err, RL_ERR_NOMEM, "out of memory");
				return -1;
			}
		}
		if (rl_store_outbound_set_destination(st, m->id, dst->url, dst->cert_pem, err) < 0)
			return -1;
	} else {
		dst->url = strdup(m->dest_url);
		dst->cert_pem = strdup(m->dest_cert_pem);
		if (dst->url == NULL || dst->cert_pem == NULL)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	dst->cert = cert_from_pem_text(dst->cert_pem, err);
	return dst->cert ? 0 : -1;
}

/* The payload as a file for the packer: a memory file (memfd, named /proc/self/fd/N) when it is small,
 * else a file in the spool directory. */
struct payload_file {
	char *path;
	int memfd;		/* -1 for a spool directory file */
};

static void payload_file_remove(struct payload_file *pf)
{
	if (pf->memfd >= 0)
		close(pf->memfd);
	else if (pf->path)
		unlink(pf->path);
	free(pf->path);
	pf->path = NULL;
	pf->memfd = -1;
}

static int spool_payload(struct rl_daemon *d, struct rl_store *st, const struct rl_store_message *m,
			 struct payload_file *pf, struct rl_err *err)
{
	struct rl_sink sink;
	FILE *fp = NULL;
	int fd;

	pf->memfd = -1;
	if (m->payload_size <= RL_SPOOL_MEMORY_MAX && (pf->memfd = memfd_create("relais-payload", MFD_CLOEXEC)) >= 0) {
		if (asprintf(&pf->path, "/proc/self/fd/%d", pf->memfd) < 0)
			pf->path = NULL;
		fd = pf->path ? dup(pf->memfd) : -1;
	} else {
		if (asprintf(&pf->path, "%s/out-%lld-XXXXXX", d->spool_dir, (long long)m->id) < 0)
			pf->path = NULL;
		fd = pf->path ? mkstemp(pf->path) : -1;
	}
	if (pf->path == NULL) {
		payload_file_remove(pf);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	if (fd < 0 || (fp = fdopen(fd, "wb")) == NULL) {
		rl_err_set(err, RL_ERR_IO, "cannot create a spool file in %s: %s", d->spool_dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		payload_file_remove(pf);
		return -1;
	}
	sink.write = rl_sink_file_write;
	sink.ctx = fp;
	/* A small payload came with the claimed row; a larger one is read from the store. */
	if ((m->payload_here ? rl_sink_write(&sink, m->payload, m->payload_len, err)
			     : rl_store_payload_read(st, m->id, &sink, err)) < 0 || fflush(fp) != 0) {
		if (err->code == RL_OK)
			rl_err_set(err, RL_ERR_IO, "cannot write the spool file: %s", strerror(errno));
		fclose(fp);
		payload_file_remove(pf);
		return -1;
	}
	fclose(fp);
	return 0;
}

/* Peer errors worth another attempt: the receiver could not store or deliver it for now. */
static int peer_error_is_transient(int code)
{
	return code == RL_EBMS_CONNECTION_FAILURE || code == RL_EBMS_DYSFUNCTIONAL_RELIABILITY ||
	       code == RL_EBMS_DELIVERY_FAILURE;
}

/* Records an attempt that did not deliver; logs it. When the message was sent (sent not NULL), its
 * envelope is kept: the receiver may have it, and a later attempt may be answered with that copy's
 * receipt. */
static void record_failure(struct rl_daemon *d, struct rl_store *st, const struct rl_store_message *m,
			   const struct rl_as4_sent *sent, const struct rl_err *why, const char *signal,
			   size_t signal_len, int final, int transport_failure)
{
	char text[RL_ERR_MSG_MAX + 64];
	struct rl_err err;
	int delay;

	if (sent && sent->envelope.len &&
	    rl_store_outbound_attempt_record(st, m->id, m->attempts, sent->envelope.data, sent->envelope.len, &err) < 0)
		rl_log_warn(m->message_id, "attempt %d not recorded: %s", m->attempts, err.msg);

	rl_err_format(why, text, sizeof(text));
	if (!final && m->attempts >= d->max_attempts)
		final = 1;
	delay = final ? 0 : rl_daemon_backoff(d, m->attempts);
	for (int i = 0; rl_store_outbound_failed(st, m->id, text, signal, signal_len, delay, final, transport_failure,
						 &err) < 0;) {
		if (!rl_daemon_db_retry(d, &i, &err)) {
			rl_log_error(m->message_id, "cannot record the failed attempt (the lease will expire): %s",
				     err.msg);
			break;
		}
	}
	rl_metrics_outbound(final ? RL_METRICS_FAILED : RL_METRICS_RETRY, NULL);
	if (final)
		rl_log_error(m->message_id, "failed for good after %d attempt(s): %s", m->attempts, text);
	else
		rl_log_warn(m->message_id, "attempt %d failed, next in %ds: %s", m->attempts, delay, text);
}

/* A resend of a message the receiver already had is answered with the receipt of the first copy (its
 * duplicate detection), which acknowledges that attempt's digests, not this one's. Such a receipt is
 * checked against each earlier attempt's envelope; the one it acknowledges is what gets stored. */
struct earlier_attempt {
	struct receipt_context {
		const struct rl_keyring *keys;
		X509 *receiver;
		const struct rl_http_result *res;
		struct rl_as4_signal_info *info;
	} ref;
	int current;
	int attempt;
	struct rl_as4_sent sent;	/* the attempt the receipt acknowledges */
};

static int try_attempt(void *ctx, int attempt, const char *envelope, size_t len)
{
	struct earlier_attempt *e = ctx;
	struct rl_as4_sent candidate;
	struct rl_as4_signal_info info = { 0 };
	struct rl_err err;

	if (attempt == e->current || rl_as4_sent_from_envelope(envelope, len, &candidate, &err) < 0)
		return 0;
	{
		struct rl_as4_signal_check chk = { e->ref.keys->trust, e->ref.receiver, &candidate, 0, 0 };

		if (rl_as4_signal_check(e->ref.res->body.data, e->ref.res->body.len, e->ref.res->content_type, &chk,
					&info, &err) < 0) {
			rl_as4_signal_info_free(&info);
			rl_as4_sent_free(&candidate);
			return 0;
		}
	}
	rl_as4_signal_info_free(e->ref.info);
	*e->ref.info = info;
	e->sent = candidate;
	e->attempt = attempt;
	return 1;
}

static int receipt_for_earlier_attempt(struct rl_store *st, const struct rl_store_message *m,
				       const struct rl_keyring *keys, X509 *receiver, const struct rl_http_result *res,
				       struct rl_as4_signal_info *info, struct earlier_attempt *e)
{
	struct rl_err err;

	e->ref.keys = keys;
	e->ref.receiver = receiver;
	e->ref.res = res;
	e->ref.info = info;
	e->current = m->attempts;
	if (rl_store_outbound_attempts(st, m->id, try_attempt, e, &err) == 1)
		return 0;
	/* A message sent again after it was delivered: the envelope stored with its first receipt. */
	{
		struct rl_buf envelope = RL_BUF_INIT;
		int found = rl_store_message_envelope(st, m->id, &envelope, &err) == 1 &&
			    try_attempt(e, 0, envelope.data, envelope.len) == 1;

		rl_buf_free(&envelope);
		return found ? 0 : -1;
	}
}

/* The last resort for a receipt answered again by the receiver's duplicate detection: the earlier attempt
 * it acknowledges was never recorded (this process stopped between sending it and recording the outcome).
 * Signed by the receiver, for this MessageId, and acknowledging the same payload digests is enough. */
static int receipt_for_same_payload(const struct rl_keyring *keys, X509 *receiver, const struct rl_http_result *res,
				    const struct rl_as4_sent *sent, struct rl_as4_signal_info *info)
{
	struct rl_as4_signal_check chk = { keys->trust, receiver, sent, 0, 1 };
	struct rl_as4_signal_info again = { 0 };
	struct rl_err err;

	if (rl_as4_signal_check(res->body.data, res->body.len, res->content_type, &chk, &again, &err) < 0) {
		rl_as4_signal_info_free(&again);
		return -1;
	}
	rl_as4_signal_info_free(info);
	*info = again;
	return 0;
}

/* The count of notifications received so far, taken before a look for due messages. */
static uint64_t work_mark(struct rl_daemon *d)
{
	uint64_t mark;

	pthread_mutex_lock(&d->work_lock);
	mark = d->work_notified;
	pthread_mutex_unlock(&d->work_lock);
	return mark;
}

/*
 * A look that began at mark found nothing due: every submission notified before it began was seen by
 * it, and was taken by some worker already or is not due yet (a paused destination: the one-second poll
 * finds it when it is), so only the wake-ups of later notifications are left. Without this, the wake-ups
 * of submissions that busy workers took in turn would each cost an empty look.
 */
static void work_found_none(struct rl_daemon *d, uint64_t mark)
{
	uint64_t since;

	pthread_mutex_lock(&d->work_lock);
	since = d->work_notified - mark;
	if ((uint64_t)d->work_signals > since)
		d->work_signals = (int)since;
	pthread_mutex_unlock(&d->work_lock);
}

/*
 * A delivered record took the next due message in turn: a wake-up meant for it, if one is pending, is
 * not needed any more (the worker looks again after this message, so nothing waits for it).
 */
static void work_took_one(struct rl_daemon *d)
{
	pthread_mutex_lock(&d->work_lock);
	if (d->work_signals > 0)
		d->work_signals--;
	pthread_mutex_unlock(&d->work_lock);
}

/* One attempt for one claimed message. Once it is delivered, the record also claims the next due message
 * into *next (one statement for both): returns 1 then; 0 when it looked and none was due; -1 otherwise
 * (not delivered or not recorded; relais is stopping, so it did not look). */
static int send_one(struct rl_daemon *d, struct rl_store *st, struct rl_http_client *http,
		    const struct rl_store_message *m, struct rl_store_message *next)
{
	struct timespec claimed = rl_metrics_now();
	struct rl_keyring *keys = rl_daemon_keyring(d);
	struct destination dst = { 0 };
	struct rl_as4_sent sent = { 0 };
	struct rl_as4_signal_info info = { 0 };
	struct rl_http_result res = { 0 };
	struct rl_as4_pack_opts po = { 0 };
	struct earlier_attempt earlier = { 0 };
	struct rl_err err;
	struct payload_file pf = { NULL, -1 };
	FILE *packed = NULL;
	long size;
	int next_claimed = -1;
	uint64_t mark;

	rl_err_clear(&err);
	if (spool_payload(d, st, m, &pf, &err) < 0) {
		record_failure(d, st, m, NULL, &err, NULL, 0, 0, 0);
		goto done;
	}
	if (resolve_destination(d, keys, st, m, pf.path, &dst, &err) < 0) {
		/* Unreachable DNS/SMP or database: again later; no route, not registered, refused: final. */
		record_failure(d, st, m, NULL, &err, NULL, 0, err.code != RL_ERR_DB && err.code != RL_ERR_NETWORK &&
			       err.code != RL_ERR_BAD_RESPONSE, 0);
		goto done;
	}
	po.sender = rl_keyring_signer(keys);
	po.receiver_cert = dst.cert;
	po.payload_path = pf.path;
	po.payload_mime_type = m->payload_mime_type;
	po.message_id = m->message_id;
	po.conversation_id = m->conversation_id;
	po.from_party = m->from_party;
	po.to_party = m->to_party;
	po.service = m->service;
	po.service_type = m->service_type;
	po.action = m->action;
	po.original_sender = m->original_sender;
	po.final_recipient = m->final_recipient;
	po.tmp_dir = d->spool_dir;
	packed = rl_tmpfile(d->spool_dir, &err);
	if (packed == NULL) {
		record_failure(d, st, m, NULL, &err, NULL, 0, 0, 0);
		goto done;
	}
	{
		struct rl_sink sink = { rl_sink_file_write, packed };

		if (rl_as4_pack(&po, &sink, 0, &sent, &err) < 0 || fflush(packed) != 0) {
			/* The document or the certificate is wrong: another attempt would fail the same way. */
			record_failure(d, st, m, NULL, &err, NULL, 0, err.code != RL_ERR_IO && err.code != RL_ERR_NOMEM, 0);
			goto done;
		}
	}
	size = ftell(packed);
	rewind(packed);
	if (rl_http_post_file(http, dst.url, sent.content_type, packed, (uint64_t)size, NULL, MAX_SIGNAL_SIZE,
			      &res, &err) < 0) {
		record_failure(d, st, m, &sent, &err, NULL, 0, 0, 1);
		goto done;
	}
	{
		struct rl_as4_signal_check chk = { keys->trust, dst.cert, &sent, 0, 0 };
		int looks_soap = res.content_type && strstr(res.content_type, "soap+xml") != NULL;

		if (!looks_soap) {
			rl_err_set(&err, RL_EBMS_MISSING_RECEIPT, "%s answered HTTP %ld without a SOAP signal",
				   dst.url, res.status);
			record_failure(d, st, m, &sent, &err, NULL, 0, 0, res.status >= 500 || res.status == 429);
			goto done;
		}
		if (rl_as4_signal_check(res.body.data, res.body.len, res.content_type, &chk, &info, &err) < 0) {
			if (info.is_error) {
				int final = !peer_error_is_transient(info.error_code);

				rl_err_prefix(&err, "%s refused it", dst.url);
				record_failure(d, st, m, &sent, &err, res.body.data, res.body.len, final, 0);
				goto done;
			} else if (err.code == RL_EBMS_INVALID_RECEIPT &&
				   receipt_for_earlier_attempt(st, m, keys, dst.cert, &res, &info, &earlier) == 0) {
				rl_log_info(m->message_id, "the receiver already had attempt %d: its receipt was answered again",
					    earlier.attempt);
			} else if (m->attempts > 1 && err.code == RL_EBMS_INVALID_RECEIPT &&
				   receipt_for_same_payload(keys, dst.cert, &res, &sent, &info) == 0) {
				rl_log_info(m->message_id, "the receiver already had an earlier attempt, not recorded here: its "
					    "receipt acknowledges the same payload");
			} else {
				rl_err_prefix(&err, "receipt from %s", dst.url);
				record_failure(d, st, m, &sent, &err, res.body.data, res.body.len, 0, 0);
				goto done;
			}
		}
	}
	mark = work_mark(d);
	for (int i = 0; (next_claimed = rl_store_outbound_delivered_claim(st, m->id, res.body.data, res.body.len,
								    info.message_id,
								    earlier.sent.envelope.len ? earlier.sent.envelope.data
											      : sent.envelope.data,
								    earlier.sent.envelope.len ? earlier.sent.envelope.len
											      : sent.envelope.len,
								    sent.document_id,
								    atomic_load(&d->stopping) ? NULL : d->worker_id,
								    rl_daemon_lease_seconds(d), next, &err)) < 0;) {
		if (!rl_daemon_db_retry(d, &i, &err)) {
			/* The peer has it; when the lease runs out, the next attempt is answered by its duplicate
			 * detection with the same receipt. */
			rl_log_error(m->message_id, "delivered but not recorded: %s", err.msg);
			rl_metrics_outbound(RL_METRICS_RETRY, NULL);
			next_claimed = -1;
			goto done;
		}
	}
	if (next_claimed == 1)
		work_took_one(d);
	else if (!atomic_load(&d->stopping))
		work_found_none(d, mark);
	rl_metrics_outbound(RL_METRICS_DELIVERED, &claimed);
	rl_log_info(m->message_id, "delivered to %s (attempt %d, receipt %s)", dst.url, m->attempts,
		    info.message_id ? info.message_id : "?");
done:
	if (packed)
		fclose(packed);
	payload_file_remove(&pf);
	rl_http_result_free(&res);
	rl_as4_signal_info_free(&info);
	rl_as4_sent_free(&sent);
	rl_as4_sent_free(&earlier.sent);
	destination_free(&dst);
	rl_keyring_put(d, keys);
	return next_claimed;
}

/* Waits until the waker hands this worker a queued message, or a second passes (a fallback poll). */
static void wait_for_work(struct rl_daemon *d)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += IDLE_WAIT_MS / 1000;
	pthread_mutex_lock(&d->work_lock);
	while (d->work_signals == 0 && !atomic_load(&d->stopping))
		if (pthread_cond_timedwait(&d->work_cond, &d->work_lock, &until) != 0)
			break;
	if (d->work_signals > 0)
		d->work_signals--;
	pthread_mutex_unlock(&d->work_lock);
}

void *rl_sender_waker_thread(void *arg)
{
	struct rl_daemon *d = arg;
	struct rl_store *st = NULL;
	struct rl_err err;
	int listening = 0;

	while (!atomic_load(&d->stopping)) {
		int n;

		if (st == NULL && (st = rl_daemon_store(d, &err)) == NULL) {
			sleep(1);
			continue;
		}
		if (!listening && rl_store_listen(st, "relais_outbound", &err) < 0) {
			sleep(1);
			continue;
		}
		listening = 1;
		n = rl_store_wait(st, IDLE_WAIT_MS, &err);
		if (n < 0) {
			listening = 0;
			sleep(1);
			continue;
		}
		if (n == 0)
			continue;
		pthread_mutex_lock(&d->work_lock);
		d->work_notified += (uint64_t)n;
		d->work_signals += n;
		if (d->work_signals > d->sender_count)
			d->work_signals = d->sender_count;
		for (int i = 0; i < n && i < d->sender_count; i++)
			pthread_cond_signal(&d->work_cond);
		pthread_mutex_unlock(&d->work_lock);
	}
	return NULL;
}

void *rl_sender_thread(void *arg)
{
	struct rl_daemon *d = arg;
	struct rl_http_client_opts ho = { 0 };
	struct rl_http_client *http;
	struct rl_err err;
	int configured = 0, looked_for_next = 0;

	ho.tls_anchors = d->tls_anchors;
	ho.connect_timeout = 10;
	ho.timeout = d->request_timeout;
	ho.user_agent = "relais/" PACKAGE_VERSION;
	http = rl_http_client_new(&ho, &err);
	if (http == NULL) {
		rl_log_error(NULL, "sender cannot start: %s", err.msg);
		return NULL;
	}
	while (!atomic_load(&d->stopping)) {
		struct rl_store_message m = { 0 }, next = { 0 };
		struct rl_store *st = rl_daemon_store(d, &err);
		uint64_t mark;
		int rc;

		if (looked_for_next) {
			/* The last delivered record found nothing due: wait for a wake-up rather than look again
			 * (a submission after that look has woken the waker, which counts it for us). */
			looked_for_next = 0;
			wait_for_work(d);
			continue;
		}
		if (st == NULL) {
			rl_log_warn(NULL, "sender: %s", err.msg);
			sleep(1);
			continue;
		}
		if (!configured) {
			if (rl_store_circuit_configure(st, d->circuit_threshold, (int)d->circuit_open, &err) < 0) {
				rl_log_warn(NULL, "sender: %s", err.msg);
				sleep(1);
				continue;
			}
			configured = 1;
		}
		mark = work_mark(d);
		rc = rl_store_outbound_claim(st, d->worker_id, rl_daemon_lease_seconds(d), &m, &err);
		if (rc < 0) {
			rl_log_warn(NULL, "sender: %s", err.msg);
			configured = 0;
			sleep(1);
			continue;
		}
		if (rc == 0) {
			work_found_none(d, mark);
			wait_for_work(d);
			continue;
		}
		/* A delivered message's record claims the next one (not once relais is stopping): it is sent
		 * in turn, even when relais stops meanwhile (it is taken; draining finishes what is taken). */
		while ((rc = send_one(d, st, http, &m, &next)) == 1) {
			rl_store_message_free(&m);
			m = next;
			memset(&next, 0, sizeof(next));
		}
		looked_for_next = rc == 0;
		rl_store_message_free(&m);
	}
	rl_http_client_free(http);
	return NULL;
}

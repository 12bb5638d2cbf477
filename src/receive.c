/*
 * receive.c - the AS4 endpoint of `relais serve`: one POSTed message per request.
 *
 * The body streams through the unpacker as it arrives (decrypt, digest, gunzip into a spool file); once
 * the whole message has verified, and it is addressed to this access point: a MessageId received before
 * is answered with the receipt sent the first time (and not delivered again); a new one is committed with
 * its payload, envelope and receipt in one transaction, and only then answered with that signed receipt
 * (HTTP 200). Its deliveries are taken by this process in that same commit and handed to the delivery
 * worker, with the payload when it is small (it is then read once, here, and not back from the store).
 * A refusal is answered with a signed ebMS error signal: HTTP 500, or 413 for a body over
 * limits.max_body (named in the signal; with a Content-Length before the body is read, chunked as soon
 * as it passes the limit, referring to the message when its header was read by then), or 503 when the
 * store cannot take the message (the sender should retry). What the answer said is counted for GET /metrics
 * when the request ends (metrics.h).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/pem.h>
#include "relais/as4.h"
#include "relais/daemon.h"
#include "relais/log.h"
#include "relais/metrics.h"

struct receive {
	struct rl_daemon *d;
	struct rl_keyring *keys;
	struct rl_as4_unpacker *unpacker;
	struct rl_err err;
	int failed;
	int is_post;
	char remote[64];
	struct timespec started;	/* for relais_inbound_processing_seconds */
	int answered;			/* an outcome below was answered (counted at cleanup) */
	enum rl_metrics_inbound_outcome outcome;
	int refusal_code;
};

void *rl_receive_begin(struct rl_daemon *d, const struct rl_http_request *req)
{
	struct receive *rc = calloc(1, sizeof(*rc));
	struct rl_as4_unpack_opts uo = { 0 };

	if (rc == NULL)
		return NULL;
	rc->d = d;
	rc->started = rl_metrics_now();
	rc->keys = rl_daemon_keyring(d);
	snprintf(rc->remote, sizeof(rc->remote), "%s", req->remote_addr ? req->remote_addr : "?");
	rc->is_post = strcmp(req->method, "POST") == 0;
	if (!rc->is_post)
		return rc;
	if (req->content_type == NULL || (strncasecmp(req->content_type, "multipart/related", 17) != 0 &&
					  strncasecmp(req->content_type, "application/soap+xml", 20) != 0)) {
		rl_err_set(&rc->err, RL_EBMS_MIME_INCONSISTENCY, "Content-Type %s is neither multipart/related nor "
			   "application/soap+xml", req->content_type ? req->content_type : "(none)");
		rc->failed = 1;
		return rc;
	}
	/* Every identity we hold (a rollover has two): the one the EncryptedKey names decrypts. */
	uo.identities = rl_identity_set_all(&rc->keys->identities, &uo.identity_count);
	uo.trust = rc->keys->trust;
	uo.max_payload = d->max_body * 16;	/* inflated size: gzip ratios beyond 16 are refused */
	uo.tmp_dir = d->spool_dir;
	rc->unpacker = rl_as4_unpacker_new(&uo, req->content_type ? req->content_type : "", &rc->err);
	if (rc->unpacker == NULL)
		rc->failed = 1;
	return rc;
}

int rl_receive_body(void *ctx, const void *data, size_t len)
{
	struct receive *rc = ctx;

	if (rc->failed || !rc->is_post)
		return rc->failed ? -1 : 0;
	if (rl_as4_unpacker_feed(rc->unpacker, data, len, &rc->err) < 0) {
		rc->failed = 1;
		return -1;
	}
	return 0;
}

static void respond_soap(struct rl_http_response *resp, int status, struct rl_buf *body)
{
	resp->status = status;
	resp->content_type = strdup("application/soap+xml; charset=UTF-8");
	rl_buf_free(&resp->body);
	resp->body = *body;
	memset(body, 0, sizeof(*body));
}

/* What the request's answer says, for the metrics. */
static void set_outcome(struct receive *rc, enum rl_metrics_inbound_outcome outcome, int refusal_code)
{
	rc->answered = 1;
	rc->outcome = outcome;
	rc->refusal_code = refusal_code;
}

/* Answers with a signed error signal for `why`. */
static void respond_error(struct receive *rc, int status, const struct rl_err *why, const char *ref_to,
			  struct rl_http_response *resp)
{
	struct rl_buf signal = RL_BUF_INIT;
	struct rl_err err;
	char text[RL_ERR_MSG_MAX + 64];

	set_outcome(rc, RL_METRICS_IN_REFUSED, why->code);
	rl_err_format(why, text, sizeof(text));
	rl_log_warn(ref_to, "refused a message from %s: %s", rc->remote, text);
	if (rl_as4_error_build(why, ref_to, rl_keyring_signer(rc->keys), &signal, &err) < 0) {
		rl_log_error(ref_to, "cannot build the error signal: %s", err.msg);
		resp->status = 500;
		resp->content_type = strdup("text/plain");
		rl_buf_printf(&resp->body, "%s\n", text);
		rl_buf_free(&signal);
		return;
	}
	respond_soap(resp, status, &signal);
}

static char *cert_pem(X509 *cert)
{
	struct rl_buf b = RL_BUF_INIT;

	if (cert == NULL || rl_cert_to_pem(cert, &b) < 0) {
		rl_buf_free(&b);
		return NULL;
	}
	return rl_buf_steal(&b);
}

/* A payload small enough to be stored in its row is read into memory once, here: the store writes it from
 * there and the delivery worker delivers it from there. The spool it came from (*spool) is closed at once,
 * so that one copy is held. Larger ones stream from the spool file. */
static int take_small_payload(struct rl_store_inbound *in, FILE **spool, unsigned long long size,
			      struct rl_handoff *h, struct rl_err *err)
{
	if (size >= RL_STORE_ROW_PAYLOAD_MAX)
		return 0;
	h->payload = malloc(size ? size : 1);
	if (h->payload == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	h->payload_len = fread(h->payload, 1, size, *spool);
	if (h->payload_len != size || ferror(*spool))
		return rl_err_set(err, RL_ERR_IO, "the payload spool holds %zu bytes, not %llu", h->payload_len, size);
	fclose(*spool);
	*spool = NULL;
	in->payload = NULL;
	in->payload_data = h->payload;
	in->payload_len = h->payload_len;
	return 0;
}

/* The message verified: duplicate check, commit, receipt. */
static void accept_message(struct receive *rc, struct rl_as4_received *r, struct rl_http_response *resp)
{
	struct rl_daemon *d = rc->d;
	struct rl_buf receipt = RL_BUF_INIT;
	char *receipt_id = NULL, *signer_pem = NULL;
	struct rl_store_inbound in = { 0 };
	struct rl_handoff *handoff = NULL;
	struct rl_store *st;
	struct rl_err err;
	int64_t id;
	int rc_commit;

	rl_err_clear(&err);
	if (d->party_id && (r->um.to_party == NULL || strcasecmp(r->um.to_party, d->party_id) != 0)) {
		rl_err_set(&err, RL_EBMS_VALUE_INCONSISTENT, "the message is addressed to %s, this access point is %s",
			   r->um.to_party ? r->um.to_party : "nobody", d->party_id);
		respond_error(rc, 500, &err, r->um.message_id, resp);
		return;
	}
	if (r->payload_count != 1) {
		rl_err_set(&err, RL_EBMS_VALUE_INCONSISTENT, "a Peppol message carries exactly one payload, not %d",
			   r->payload_count);
		respond_error(rc, 500, &err, r->um.message_id, resp);
		return;
	}
	st = rl_daemon_store(d, &err);
	if (st == NULL)
		goto unavailable;
	/* The receipt is built before the commit, which detects a duplicate (by the unique MessageId) and
	 * then hands back the receipt answered the first time instead. */
	if (rl_as4_receipt_build(r, rl_keyring_signer(rc->keys), &receipt, &receipt_id, &err) < 0) {
		respond_error(rc, 500, &err, r->um.message_id, resp);
		goto done;
	}
	signer_pem = cert_pem(r->signer);
	in.message_id = r->um.message_id;
	in.conversation_id = r->um.conversation_id;
	in.from_party = r->um.from_party;
	in.to_party = r->um.to_party;
	in.service = r->um.service;
	in.service_type = r->um.service_type;
	in.action = r->um.action;
	in.original_sender = rl_user_message_property(&r->um, "originalSender", NULL);
	in.final_recipient = rl_user_message_property(&r->um, "finalRecipient", NULL);
	in.payload = r->payloads[0].fp;
	in.payload_mime_type = r->payloads[0].mime_type;
	in.payload_content_id = r->payloads[0].content_id;
	in.envelope = r->envelope;
	in.envelope_len = r->envelope_len;
	in.signer_cert_pem = signer_pem;
	in.receipt = receipt.data;
	in.receipt_len = receipt.len;
	in.receipt_message_id = receipt_id;
	in.deliver_inbox = d->inbox_dir != NULL;
	in.deliver_webhook = d->webhook_url != NULL;
	if ((in.deliver_inbox || in.deliver_webhook) && rl_delivery_accepts(d)) {
		handoff = calloc(1, sizeof(*handoff));
		if (handoff == NULL)
			rl_err_set(&err, RL_ERR_NOMEM, "out of memory");
		if (handoff == NULL || take_small_payload(&in, &r->payloads[0].fp, r->payloads[0].size, handoff, &err) < 0)
			goto unavailable;
	}
	{
		struct rl_buf existing = RL_BUF_INIT;

		rc_commit = handoff ? rl_store_inbound_commit_leased(st, &in, d->worker_id, rl_daemon_lease_seconds(d), &id,
								    handoff->deliveries, &handoff->count, &existing, &err)
				    : rl_store_inbound_commit(st, &in, &id, &existing, &err);
		if (rc_commit == 1) {
			rl_log_info(r->um.message_id, "duplicate from %s: answered with the first receipt", rc->remote);
			respond_soap(resp, 200, &existing);
			set_outcome(rc, RL_METRICS_IN_DUPLICATE, 0);
			goto done;
		}
		rl_buf_free(&existing);
	}
	if (rc_commit < 0)
		goto unavailable;
	if (handoff && rl_delivery_handoff(d, handoff) == 0)
		handoff = NULL;
	else if (handoff)
		rl_log_warn(r->um.message_id, "the delivery worker has stopped: delivery waits for its lease to end");
	rl_log_info(r->um.message_id, "received from %s (%s, %llu bytes, %s)", r->um.from_party, rc->remote,
		    r->payloads[0].size, r->payloads[0].mime_type ? r->payloads[0].mime_type : "?");
	respond_soap(resp, 200, &receipt);
	set_outcome(rc, RL_METRICS_IN_ACCEPTED, 0);
	goto done;
unavailable:
	rl_log_error(r->um.message_id, "cannot store the message: %s", err.msg);
	{
		struct rl_err why;

		rl_err_set(&why, RL_EBMS_DYSFUNCTIONAL_RELIABILITY, "the message could not be stored; send it again later");
		respond_error(rc, 503, &why, r->um.message_id, resp);
	}
done:
	rl_handoff_free(handoff);
	rl_buf_free(&receipt);
	free(receipt_id);
	free(signer_pem);
}

void rl_receive_finish(void *ctx, enum rl_http_body_end how, struct rl_http_response *resp)
{
	struct receive *rc = ctx;
	struct rl_as4_received r = { 0 };

	if (!rc->is_post) {
		resp->status = 405;
		resp->content_type = strdup("text/plain");
		rl_buf_puts(&resp->body, "POST an AS4 message here\n");
		resp->extra_headers = strdup("Allow: POST\r\n");
		return;
	}
	if (how == RL_HTTP_BODY_TOO_LARGE) {
		struct rl_err why;

		rl_err_set(&why, RL_EBMS_OTHER, "the message is larger than this access point accepts (%llu bytes)",
			   rc->d->max_body);
		respond_error(rc, 413, &why, rc->unpacker ? rl_as4_unpacker_message_id(rc->unpacker) : NULL, resp);
		return;
	}
	if (rc->failed) {
		respond_error(rc, 500, &rc->err, rc->unpacker ? rl_as4_unpacker_message_id(rc->unpacker) : NULL,
			      resp);
		return;
	}
	if (rl_as4_unpacker_finish(rc->unpacker, &r, &rc->err) < 0) {
		respond_error(rc, 500, &rc->err, r.um.message_id ? r.um.message_id
					: rl_as4_unpacker_message_id(rc->unpacker), resp);
		rl_as4_received_free(&r);
		return;
	}
	accept_message(rc, &r, resp);
	rl_as4_received_free(&r);
}

void rl_receive_cleanup(void *ctx, int completed)
{
	struct receive *rc = ctx;

	(void)completed;
	if (rc->answered)
		rl_metrics_inbound(rc->outcome, rc->refusal_code, &rc->started);
	rl_as4_unpacker_free(rc->unpacker);
	rl_keyring_put(rc->d, rc->keys);
	free(rc);
}

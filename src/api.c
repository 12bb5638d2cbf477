/*
 * api.c - the JSON REST API of `relais serve`, under /api/v1/.
 *
 *   GET  /api/v1/health                    queues, last error, certificate expiry (no token needed)
 *   POST /api/v1/messages                  submit: a JSON object {"payload": base64, "to_url", "to_cert"
 *                                          (PEM), "message_id", ...}, or the document itself as the body
 *                                          (any non-JSON Content-Type, streamed) with the same fields as
 *                                          query arguments; answers 202 {"id", "message_id", "state"}
 *   GET  /api/v1/messages/{id}             one message (row id or MessageId; ?direction=in|out) with its
 *                                          state history and whether a receipt is stored
 *   GET  /api/v1/messages/{id}/receipt     the receipt (or error signal) as received or sent
 *   POST /api/v1/messages/{id}/retry       an outbound message that failed is queued again now, its
 *                                          attempts counted anew; answers 200 with the message as GET
 *                                          does, 404 unknown, 409 {"error"} when its state does not allow
 *                                          it (delivered: never sent again; queued or sending)
 *   POST /api/v1/messages/{id}/redeliver   an inbound message that was delivered or failed is handed to
 *                                          the backend (delivery.inbox, delivery.webhook) again; 200, 404,
 *                                          409 as retry (still being delivered, or an outbound message)
 *   GET  /api/v1/messages?state=S&direction=in|out&limit=N    newest first
 *   GET  /metrics                          Prometheus text (metrics.h); no token needed; 404 with
 *                                          api.metrics = off
 *
 * Everything but health and metrics needs "Authorization: Bearer <api.token>"; with no token configured
 * the API answers 403. Bodies of JSON submissions are bounded (16 MiB); larger documents go as raw
 * bodies, which stream to a spool file.
 */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include "relais/crypto.h"
#include "relais/daemon.h"
#include "relais/log.h"
#include "relais/metrics.h"
#include "relais/revocation.h"
#include "relais/stream.h"

#define API_JSON_MAX (16u << 20)
#define API_LIST_DEFAULT 100
#define API_LIST_MAX 1000

enum api_route {
	API_NOT_FOUND,
	API_HEALTH,
	API_SUBMIT,
	API_GET,
	API_RECEIPT,
	API_RETRY,
	API_REDELIVER,
	API_LIST,
	API_METRICS,
	API_METHOD
};

struct api {
	struct rl_daemon *d;
	enum api_route route;
	int authorized;
	int raw;			/* a raw document body, spooled */
	char *item;			/* {id} of the path */
	char *query_dir;
	char *query_state;
	char *query_limit;
	struct rl_store_submission sub;	/* raw submissions: fields from the query */
	char *q_fields[10];
	struct rl_buf json;		/* JSON submissions */
	FILE *spool;			/* raw submissions */
	int spool_failed;
};

/* ---------------------------------------------------------------- responses */

static void respond_json_as(struct rl_http_response *resp, int status, json_t *doc, size_t flags)
{
	char *text = json_dumps(doc, flags | JSON_PRESERVE_ORDER);

	json_decref(doc);
	resp->status = status;
	resp->content_type = strdup("application/json");
	if (text) {
		rl_buf_puts(&resp->body, text);
		rl_buf_puts(&resp->body, "\n");
		free(text);
	}
}

static void respond_json(struct rl_http_response *resp, int status, json_t *doc)
{
	respond_json_as(resp, status, doc, JSON_INDENT(2));
}

/* Problems are one line: {"error": "what was wrong"}. */
static void respond_problem(struct rl_http_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void respond_problem(struct rl_http_response *resp, int status, const char *fmt, ...)
{
	char text[RL_ERR_MSG_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	respond_json_as(resp, status, json_pack("{s:s}", "error", text), 0);
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

static void iso_time(time_t t, char *out, size_t size)
{
	if (t <= 0) {
		snprintf(out, size, "%s", "");
		return;
	}
	rl_format_datetime(t, 0, out, size);
}

static json_t *message_json(const struct rl_store_message *m)
{
	char created[40], updated[40], next[40];
	json_t *o;

	iso_time(m->created_at, created, sizeof(created));
	iso_time(m->updated_at, updated, sizeof(updated));
	iso_time(m->next_attempt_at, next, sizeof(next));
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:s, s:s}",
		      "id", (json_int_t)m->id, "message_id", nz(m->message_id),
		      "direction", m->direction == RL_DIR_IN ? "in" : "out", "state", nz(m->state),
		      "from_party", nz(m->from_party), "to_party", nz(m->to_party),
		      "original_sender", nz(m->original_sender), "final_recipient", nz(m->final_recipient),
		      "action", nz(m->action), "payload_size", (json_int_t)m->payload_size,
		      "attempts", m->attempts, "created_at", created, "updated_at", updated);
	if (o == NULL)
		return NULL;
	if (m->direction == RL_DIR_OUT) {
		json_object_set_new(o, "dest_url", json_string(nz(m->dest_url)));
		if (m->next_attempt_at > 0 && m->state && strcmp(m->state, "retry") == 0)
			json_object_set_new(o, "next_attempt_at", json_string(next));
	}
	if (m->receipt_message_id)
		json_object_set_new(o, "receipt_message_id", json_string(m->receipt_message_id));
	if (m->mls_code)
		json_object_set_new(o, "mls", json_string(m->mls_code));
	if (m->last_error)
		json_object_set_new(o, "last_error", json_string(m->last_error));
	return o;
}

/* The revocation policy, each responder's reachability, and certificates whose status is unknown. */
static json_t *revocation_json(struct rl_revocation *rev)
{
	struct rl_revocation_responder responders[16];
	struct rl_revocation_outcome outcomes[32];
	size_t nr = rl_revocation_responders(rev, responders, 16);
	size_t no = rl_revocation_outcomes(rev, outcomes, 32);
	json_t *o = json_object(), *list = json_array(), *unknown = json_array();

	json_object_set_new(o, "policy", json_string(rl_revocation_policy_name(rl_revocation_policy(rev))));
	for (size_t i = 0; i < nr; i++)
		json_array_append_new(list, json_pack("{s:s, s:b, s:I, s:s}", "url", responders[i].url, "reachable",
						      responders[i].reachable, "requests",
						      (json_int_t)responders[i].requests, "last_error",
						      responders[i].last_error));
	for (size_t i = 0; i < no; i++)
		if (outcomes[i].status == RL_REVOCATION_UNKNOWN)
			json_array_append_new(unknown, json_pack("{s:s, s:s}", "subject_cn", outcomes[i].subject_cn,
								 "problem", outcomes[i].problem));
	json_object_set_new(o, "responders", list);
	json_object_set_new(o, "unchecked", unknown);
	return o;
}

char *rl_health_json(const char *party_id, X509 *cert, const struct rl_store_stats *st, long long uptime,
		     struct rl_revocation *revocation, int pretty)
{
	json_t *o = json_object(), *q;
	const char *status = "ok";
	char *text;

	q = json_pack("{s:I, s:I, s:I, s:I, s:I}", "queued", (json_int_t)st->out_queued,
		      "sending", (json_int_t)st->out_sending, "retry", (json_int_t)st->out_retry,
		      "delivered", (json_int_t)st->out_delivered, "failed", (json_int_t)st->out_failed);
	json_object_set_new(o, "party_id", json_string(nz(party_id)));
	if (uptime >= 0)
		json_object_set_new(o, "uptime_seconds", json_integer(uptime));
	json_object_set_new(o, "outbound", q);
	json_object_set_new(o, "inbound", json_pack("{s:I, s:I, s:I}", "received", (json_int_t)st->in_received,
						    "delivered", (json_int_t)st->in_delivered,
						    "failed", (json_int_t)st->in_failed));
	json_object_set_new(o, "deliveries_pending", json_integer(st->deliveries_pending));
	json_object_set_new(o, "circuits_open", json_integer(st->circuits_open));
	if (st->last_error) {
		char at[40];

		iso_time(st->last_error_at, at, sizeof(at));
		json_object_set_new(o, "last_error", json_pack("{s:s, s:s, s:s}", "message_id",
							       nz(st->last_error_message_id), "at", at,
							       "error", st->last_error));
	}
	if (cert) {
		const ASN1_TIME *na = X509_get0_notAfter(cert);
		int days = 0, secs = 0;
		char cn[256], after[40] = "";
		struct tm tm;

		if (ASN1_TIME_diff(&days, &secs, NULL, na) && ASN1_TIME_to_tm(na, &tm))
			strftime(after, sizeof(after), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(o, "certificate", json_pack("{s:s, s:s, s:i}", "subject_cn",
								rl_cert_cn(cert, cn, sizeof(cn)) ? cn : "",
								"not_after", after, "days_left", days));
		if (days < 0 || (days == 0 && secs < 0))
			status = "certificate-expired";
		else if (days < 30)
			status = "certificate-expires-soon";
	}
	if (revocation)
		json_object_set_new(o, "revocation", revocation_json(revocation));
	if (st->out_failed > 0 || st->in_failed > 0)
		status = strcmp(status, "ok") == 0 ? "failures" : status;
	json_object_set_new(o, "status", json_string(status));
	text = json_dumps(o, (pretty ? JSON_INDENT(2) : 0) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* The numbers of GET /metrics read at scrape time: the store's one statistics query (as health), the
 * signing certificate, memory, and what the revocation checker knows of its responders. The database
 * being away does not fail the scrape: relais_database_up says so. */
static void handle_metrics(struct api *a, struct rl_http_response *resp)
{
	struct rl_metrics_state ms = { 0 };
	struct rl_store_stats stats = { 0 };
	struct rl_keyring *keys = rl_daemon_keyring(a->d);
	const struct rl_identity *signer = rl_keyring_signer(keys);
	struct rl_revocation *rev = rl_trust_revocation(keys->trust);
	struct rl_revocation_crl crls[16];
	struct rl_store *st;
	struct rl_err err;
	int days, secs;

	ms.version = PACKAGE_VERSION;
	ms.party_id = a->d->party_id;
	ms.now = time(NULL);
	ms.started_at = a->d->started_at;
	st = rl_daemon_store(a->d, &err);
	if (st && rl_store_stats(st, &stats, &err) == 0)
		ms.stats = &stats;
	if (signer && signer->cert && ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(signer->cert))) {
		ms.has_certificate = 1;
		ms.certificate_seconds_left = (long long)days * 86400 + secs;
	}
	ms.resident_bytes = rl_metrics_resident_bytes();
	if (rev && rl_revocation_policy(rev) != RL_REVOCATION_OFF) {
		enum { MAX_RESPONDERS = 64 };
		struct rl_revocation_responder *r = calloc(MAX_RESPONDERS, sizeof(*r));
		size_t n = r ? rl_revocation_responders(rev, r, MAX_RESPONDERS) : 0;

		ms.has_revocation = r != NULL;
		for (size_t i = 0; i < n; i++) {
			if (r[i].reachable)
				ms.responders_reachable++;
			else
				ms.responders_unreachable++;
			if (r[i].last_success > ms.newest_revocation_answer)
				ms.newest_revocation_answer = r[i].last_success;
		}
		free(r);
		ms.crls = crls;
		ms.ncrls = rl_revocation_crls(rev, crls, sizeof(crls) / sizeof(crls[0]));
	}
	resp->status = rl_metrics_render(&ms, &resp->body) == 0 ? 200 : 500;
	resp->content_type = strdup(resp->status == 200 ? RL_METRICS_CONTENT_TYPE : "text/plain");
	if (resp->status != 200) {
		rl_buf_reset(&resp->body);
		rl_buf_puts(&resp->body, "out of memory\n");
	}
	rl_store_stats_free(&stats);
	rl_keyring_put(a->d, keys);
}

/* ---------------------------------------------------------------- routing a request */

static int bearer_ok(const struct rl_daemon *d, const char *authorization)
{
	size_t n;

	if (d->api_token == NULL || authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return 0;
	authorization += 7;
	n = strlen(d->api_token);
	return strlen(authorization) == n && CRYPTO_memcmp(authorization, d->api_token, n) == 0;
}

static char *dup_arg(const struct rl_http_request *req, const char *name)
{
	const char *v = rl_http_request_query_arg(req, name);

	return v ? strdup(v) : NULL;
}

void *rl_api_begin(struct rl_daemon *d, const struct rl_http_request *req)
{
	struct api *a = calloc(1, sizeof(*a));
	const char *rest = req->path + strlen("/api/v1");
	int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;

	if (a == NULL)
		return NULL;
	a->d = d;
	a->authorized = bearer_ok(d, req->authorization);
	if (strcmp(req->path, "/metrics") == 0)
		a->route = !d->metrics ? API_NOT_FOUND : get ? API_METRICS : API_METHOD;
	else if (strncmp(req->path, "/api/v1/", 8) != 0 && strcmp(req->path, "/api/v1") != 0)
		a->route = API_NOT_FOUND;
	else if (strcmp(rest, "/health") == 0)
		a->route = get ? API_HEALTH : API_METHOD;
	else if (strcmp(rest, "/messages") == 0)
		a->route = post ? API_SUBMIT : get ? API_LIST : API_METHOD;
	else if (strncmp(rest, "/messages/", 10) == 0 && rest[10] != '\0') {
		const char *item = rest + 10, *slash = strchr(item, '/');

		if (slash && strcmp(slash, "/receipt") == 0)
			a->route = get ? API_RECEIPT : API_METHOD;
		else if (slash && strcmp(slash, "/retry") == 0)
			a->route = post ? API_RETRY : API_METHOD;
		else if (slash && strcmp(slash, "/redeliver") == 0)
			a->route = post ? API_REDELIVER : API_METHOD;
		else if (slash == NULL)
			a->route = get ? API_GET : API_METHOD;
		else
			a->route = API_NOT_FOUND;
		a->item = slash ? strndup(item, (size_t)(slash - item)) : strdup(item);
	} else
		a->route = API_NOT_FOUND;
	a->query_dir = dup_arg(req, "direction");
	a->query_state = dup_arg(req, "state");
	a->query_limit = dup_arg(req, "limit");
	if (a->route == API_SUBMIT && a->authorized && d->api_token) {
		const char *ct = req->content_type;

		a->raw = !(ct && strncasecmp(ct, "application/json", 16) == 0);
		if (a->raw) {
			static const char *const names[] = { "to_url", "message_id", "conversation_id", "from_party",
							     "to_party", "service", "service_type", "action",
							     "original_sender", "final_recipient" };
			struct rl_err err;

			for (size_t i = 0; i < 10; i++)
				a->q_fields[i] = dup_arg(req, names[i]);
			a->sub.dest_url = a->q_fields[0];
			a->sub.message_id = a->q_fields[1];
			a->sub.conversation_id = a->q_fields[2];
			a->sub.from_party = a->q_fields[3];
			a->sub.to_party = a->q_fields[4];
			a->sub.service = a->q_fields[5];
			a->sub.service_type = a->q_fields[6];
			a->sub.action = a->q_fields[7];
			a->sub.original_sender = a->q_fields[8];
			a->sub.final_recipient = a->q_fields[9];
			a->sub.payload_mime_type = ct ? strdup(ct) : NULL;
			a->sub.dest_cert_pem = NULL;
			{
				const char *cert = rl_http_request_header(req, "Relais-To-Cert");

				/* PEM on one line is not PEM: the header carries base64 DER. */
				if (cert) {
					X509 *x = rl_cert_from_base64(cert, &err);
					struct rl_buf pem = RL_BUF_INIT;

					if (x && rl_cert_to_pem(x, &pem) == 0)
						a->sub.dest_cert_pem = rl_buf_steal(&pem);
					rl_buf_free(&pem);
					X509_free(x);
				}
			}
			a->spool = rl_tmpfile(d->spool_dir, &err);
			if (a->spool == NULL)
				a->spool_failed = 1;
		}
	}
	return a;
}

int rl_api_body(void *ctx, const void *data, size_t len)
{
	struct api *a = ctx;

	if ((a->route == API_RETRY || a->route == API_REDELIVER) && a->authorized)
		return 0;	/* the actions take no body: one sent is ignored */
	if (a->route != API_SUBMIT || !a->authorized)
		return -1;
	if (a->raw) {
		if (a->spool_failed || fwrite(data, 1, len, a->spool) != len) {
			a->spool_failed = 1;
			return -1;
		}
		return 0;
	}
	if (a->json.len + len > API_JSON_MAX || rl_buf_append(&a->json, data, len) < 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- handlers */

/* Base64 text into a file, 4 KiB of input at a time, skipping whitespace. */
static int decode_base64_to(const char *text, FILE *out, struct rl_err *err)
{
	char chunk[4096];
	struct rl_buf bin = RL_BUF_INIT;
	size_t n = 0;
	int rc = 0;

	for (const char *p = text;; p++) {
		if (*p != '\0' && isspace((unsigned char)*p))
			continue;
		if (*p != '\0')
			chunk[n++] = *p;
		if (n == sizeof(chunk) || (*p == '\0' && n > 0)) {
			rl_buf_reset(&bin);
			if (rl_base64_decode(chunk, n, &bin) < 0) {
				rc = rl_err_set(err, RL_ERR_USAGE, "\"payload\" is not base64");
				break;
			}
			if (fwrite(bin.data, 1, bin.len, out) != bin.len) {
				rc = rl_err_set(err, RL_ERR_IO, "cannot spool the payload: %s", strerror(errno));
				break;
			}
			n = 0;
		}
		if (*p == '\0')
			break;
	}
	rl_buf_free(&bin);
	return rc;
}

static const char *json_field(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void submit_and_answer(struct api *a, struct rl_store_submission *sub, struct rl_http_response *resp)
{
	struct rl_store *st;
	struct rl_err err;
	char *message_id = NULL;
	int64_t id;

	rewind(sub->payload);
	sub->source = "api";
	st = rl_daemon_store(a->d, &err);
	if (st == NULL || rl_store_outbound_submit(st, sub, &id, &message_id, &err) < 0) {
		if (err.code == RL_EBMS_VALUE_INCONSISTENT || err.code == RL_ERR_USAGE)
			respond_problem(resp, 409, "%s", err.msg);
		else
			respond_problem(resp, 503, "cannot queue the message: %s", err.msg);
		return;
	}
	rl_log_info(message_id, "queued from the API (row %lld)", (long long)id);
	respond_json(resp, 202, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "message_id", message_id,
					  "state", "queued"));
	free(message_id);
}

static void handle_submit_json(struct api *a, struct rl_http_response *resp)
{
	struct rl_store_submission sub = { 0 };
	json_error_t jerr;
	json_t *doc = json_loadb(a->json.data ? a->json.data : "", a->json.len, 0, &jerr);
	const char *payload;
	struct rl_err err;

	if (!json_is_object(doc)) {
		respond_problem(resp, 400, "the body is not a JSON object: %s", jerr.text);
		json_decref(doc);
		return;
	}
	rl_buf_free(&a->json);	/* the parsed copy is enough */
	payload = json_field(doc, "payload");
	if (payload == NULL) {
		respond_problem(resp, 400, "\"payload\" (the document, base64) is required");
		json_decref(doc);
		return;
	}
	sub.payload = rl_tmpfile(a->d->spool_dir, &err);
	if (sub.payload == NULL || decode_base64_to(payload, sub.payload, &err) < 0 || fflush(sub.payload) != 0) {
		respond_problem(resp, err.code == RL_ERR_USAGE ? 400 : 500, "%s", err.msg);
		goto done;
	}
	sub.dest_url = json_field(doc, "to_url");
	sub.dest_cert_pem = json_field(doc, "to_cert");
	if ((sub.dest_url == NULL) != (sub.dest_cert_pem == NULL)) {
		respond_problem(resp, 400, "\"to_url\" and \"to_cert\" go together");
		goto done;
	}
	sub.message_id = json_field(doc, "message_id");
	sub.conversation_id = json_field(doc, "conversation_id");
	sub.from_party = json_field(doc, "from_party");
	sub.to_party = json_field(doc, "to_party");
	sub.service = json_field(doc, "service");
	sub.service_type = json_field(doc, "service_type");
	sub.action = json_field(doc, "action");
	sub.original_sender = json_field(doc, "original_sender");
	sub.final_recipient = json_field(doc, "final_recipient");
	sub.payload_mime_type = json_field(doc, "mime_type");
	submit_and_answer(a, &sub, resp);
done:
	if (sub.payload)
		fclose(sub.payload);
	json_decref(doc);
}

static void handle_submit_raw(struct api *a, struct rl_http_response *resp)
{
	if (a->spool_failed || fflush(a->spool) != 0) {
		respond_problem(resp, 500, "cannot spool the document");
		return;
	}
	if ((a->sub.dest_url == NULL) != (a->sub.dest_cert_pem == NULL)) {
		respond_problem(resp, 400, "to_url and the Relais-To-Cert header (base64 DER) go together");
		return;
	}
	a->sub.payload = a->spool;
	submit_and_answer(a, &a->sub, resp);
}

/* Finds the message of the path: a row id, or a MessageId (outbound first unless ?direction=in). */
static int find_message(struct api *a, struct rl_store *st, struct rl_store_message *m, struct rl_err *err)
{
	char *end;
	long long id = strtoll(a->item, &end, 10);
	int in_only = a->query_dir && strcmp(a->query_dir, "in") == 0;
	int out_only = a->query_dir && strcmp(a->query_dir, "out") == 0;
	int rc;

	if (*end == '\0' && id > 0)
		return rl_store_message_get(st, id, NULL, RL_DIR_OUT, m, err);
	rc = in_only ? 0 : rl_store_message_get(st, 0, a->item, RL_DIR_OUT, m, err);
	if (rc == 0 && !out_only)
		rc = rl_store_message_get(st, 0, a->item, RL_DIR_IN, m, err);
	return rc;
}

/* The message with its state history and whether a receipt (or error signal) is stored. */
static json_t *message_detail_json(struct rl_store *st, const struct rl_store_message *m)
{
	struct rl_buf text = RL_BUF_INIT;
	struct rl_err err;
	json_t *o = message_json(m), *lines = json_array();

	if (o == NULL || lines == NULL) {
		json_decref(o);
		json_decref(lines);
		return NULL;
	}
	if (rl_store_message_history(st, m->id, &text, &err) == 0 && text.data) {
		char *save = NULL;

		for (char *line = strtok_r(text.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			json_array_append_new(lines, json_string(line));
	}
	json_object_set_new(o, "history", lines);
	json_object_set_new(o, "receipt_stored", json_boolean(m->receipt_stored));
	rl_buf_free(&text);
	return o;
}

char *rl_message_json(struct rl_store *st, const struct rl_store_message *m, int detail, int pretty)
{
	json_t *o = detail ? message_detail_json(st, m) : message_json(m);
	char *text;

	if (o == NULL)
		return NULL;
	text = json_dumps(o, (pretty ? JSON_INDENT(2) : 0) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* 200 with the message in detail. */
static void answer_message(struct rl_store *st, struct rl_store_message *m, struct rl_http_response *resp)
{
	json_t *o = message_detail_json(st, m);

	if (o == NULL)
		respond_problem(resp, 500, "out of memory");
	else
		respond_json(resp, 200, o);
}

static void handle_get(struct api *a, struct rl_store *st, struct rl_http_response *resp)
{
	struct rl_store_message m = { 0 };
	struct rl_buf receipt = RL_BUF_INIT;
	struct rl_err err;
	int rc = find_message(a, st, &m, &err);

	if (rc < 0) {
		respond_problem(resp, 503, "%s", err.msg);
		return;
	}
	if (rc == 0) {
		respond_problem(resp, 404, "no message %s", a->item);
		return;
	}
	if (a->route == API_RECEIPT) {
		rc = rl_store_message_receipt(st, m.id, &receipt, &err);
		if (rc <= 0)
			respond_problem(resp, rc < 0 ? 503 : 404, "%s", rc < 0 ? err.msg : "no receipt yet");
		else {
			resp->status = 200;
			resp->content_type = strdup("application/soap+xml; charset=UTF-8");
			resp->body = receipt;
			memset(&receipt, 0, sizeof(receipt));
		}
	} else
		answer_message(st, &m, resp);
	rl_buf_free(&receipt);
	rl_store_message_free(&m);
}

/* POST .../retry and .../redeliver: the store decides whether the message's state allows it. */
static void handle_action(struct api *a, struct rl_store *st, struct rl_http_response *resp)
{
	struct rl_store_message m = { 0 };
	struct rl_err err;
	char *end;
	long long id = strtoll(a->item, &end, 10);
	const char *message_id = (*end == '\0' && id > 0) ? NULL : a->item;
	int64_t row = 0;
	int rc;

	if (message_id)
		id = 0;
	if (a->route == API_RETRY)
		rc = rl_store_outbound_retry(st, id, message_id, "api", &row, &err);
	else
		rc = rl_store_inbound_redeliver(st, id, message_id, "api", a->d->inbox_dir != NULL,
						a->d->webhook_url != NULL, &row, &err);
	if (rc < 0) {
		int status = err.code == RL_ERR_NOT_FOUND ? 404
			     : err.code == RL_ERR_STATE || err.code == RL_ERR_CONFIG ? 409 : 503;

		respond_problem(resp, status, "%s", err.msg);
		return;
	}
	rc = rl_store_message_get(st, row, NULL, RL_DIR_OUT, &m, &err);
	if (rc <= 0) {
		respond_problem(resp, 503, "%s", rc < 0 ? err.msg : "the message disappeared");
		return;
	}
	rl_log_info(m.message_id, "%s requested through the API", a->route == API_RETRY ? "retry" : "redelivery");
	answer_message(st, &m, resp);
	rl_store_message_free(&m);
}

static int list_one(void *ctx, const struct rl_store_message *m)
{
	json_array_append_new(ctx, message_json(m));
	return 0;
}

static void handle_list(struct api *a, struct rl_store *st, struct rl_http_response *resp)
{
	json_t *arr = json_array();
	struct rl_err err;
	int dir = -1, limit = API_LIST_DEFAULT;

	if (a->query_dir)
		dir = strcmp(a->query_dir, "in") == 0 ? RL_DIR_IN : strcmp(a->query_dir, "out") == 0 ? RL_DIR_OUT : -2;
	if (a->query_limit)
		limit = atoi(a->query_limit);
	if (dir == -2 || limit < 1 || limit > API_LIST_MAX) {
		json_decref(arr);
		respond_problem(resp, 400, "direction is in or out; limit is 1 to %d", API_LIST_MAX);
		return;
	}
	if (rl_store_message_list(st, a->query_state, dir, limit, list_one, arr, &err) < 0) {
		json_decref(arr);
		respond_problem(resp, 503, "%s", err.msg);
		return;
	}
	respond_json(resp, 200, json_pack("{s:o}", "messages", arr));
}

static void handle_health(struct api *a, struct rl_store *st, struct rl_http_response *resp)
{
	struct rl_store_stats stats = { 0 };
	struct rl_keyring *keys;
	struct rl_err err;
	char *text;

	if (rl_store_stats(st, &stats, &err) < 0) {
		respond_problem(resp, 503, "database: %s", err.msg);
		return;
	}
	keys = rl_daemon_keyring(a->d);
	text = rl_health_json(a->d->party_id, rl_keyring_signer(keys)->cert, &stats,
			      (long long)(time(NULL) - a->d->started_at), rl_trust_revocation(keys->trust), 1);
	rl_keyring_put(a->d, keys);
	rl_store_stats_free(&stats);
	resp->status = text ? 200 : 500;
	resp->content_type = strdup("application/json");
	if (text) {
		rl_buf_puts(&resp->body, text);
		rl_buf_puts(&resp->body, "\n");
		free(text);
	}
}

void rl_api_finish(void *ctx, enum rl_http_body_end how, struct rl_http_response *resp)
{
	struct api *a = ctx;
	struct rl_store *st;
	struct rl_err err;

	if (a->route == API_NOT_FOUND) {
		respond_problem(resp, 404, "no such API resource");
		return;
	}
	if (a->route == API_METHOD) {
		respond_problem(resp, 405, "method not allowed here");
		return;
	}
	if (a->route != API_HEALTH && a->route != API_METRICS) {
		if (a->d->api_token == NULL) {
			respond_problem(resp, 403, "the API is disabled (set api.token)");
			return;
		}
		if (!a->authorized) {
			respond_problem(resp, 401, "a valid bearer token is required");
			resp->extra_headers = strdup("WWW-Authenticate: Bearer realm=\"relais\"\r\n");
			return;
		}
	}
	if (how == RL_HTTP_BODY_TOO_LARGE || (how == RL_HTTP_BODY_REFUSED && a->route == API_SUBMIT && !a->raw)) {
		respond_problem(resp, 413, "the body is too large (JSON submissions up to %u MiB; send larger "
			       "documents as the raw body)", API_JSON_MAX >> 20);
		return;
	}
	if (how == RL_HTTP_BODY_REFUSED) {
		respond_problem(resp, 500, "cannot spool the document");
		return;
	}
	if (a->route == API_SUBMIT) {
		if (a->raw)
			handle_submit_raw(a, resp);
		else
			handle_submit_json(a, resp);
		return;
	}
	if (a->route == API_METRICS) {
		handle_metrics(a, resp);
		return;
	}
	st = rl_daemon_store(a->d, &err);
	if (st == NULL) {
		respond_problem(resp, 503, "database: %s", err.msg);
		return;
	}
	if (a->route == API_HEALTH)
		handle_health(a, st, resp);
	else if (a->route == API_LIST)
		handle_list(a, st, resp);
	else if (a->route == API_RETRY || a->route == API_REDELIVER)
		handle_action(a, st, resp);
	else
		handle_get(a, st, resp);
}

void rl_api_cleanup(void *ctx, int completed)
{
	struct api *a = ctx;

	(void)completed;
	free(a->item);
	free(a->query_dir);
	free(a->query_state);
	free(a->query_limit);
	for (size_t i = 0; i < 10; i++)
		free(a->q_fields[i]);
	free((char *)a->sub.payload_mime_type);
	free((char *)a->sub.dest_cert_pem);
	rl_buf_free(&a->json);
	if (a->spool)
		fclose(a->spool);
	free(a);
}

/*
 * smp_server.c - the SMP REST interface on the HTTP server (http_server.h): parses the request path,
 * asks the directory, answers with a ServiceGroup or a freshly signed SignedServiceMetadata.
 * See include/relais/smp_server.h.
 */
#include "config.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "relais/http_server.h"
#include "relais/smp_server.h"

struct rl_smp_server {
	struct rl_smp_server_opts o;
	char *base_url;
	struct rl_http_server *http;
	atomic_ulong requests;
};

/* One request: what to answer is decided in begin(), the document is built in finish(). */
struct smp_request {
	struct rl_smp_server *s;
	int status;
	char *reason;			/* plain-text body of an error answer */
	struct rl_peppol_id participant, doctype;
	int want_metadata;
	char *base_url;
};

static void *on_begin(void *app, const struct rl_http_request *req)
{
	struct rl_smp_server *s = app;
	struct smp_request *r = calloc(1, sizeof(*r));
	const char *path = req->path, *slash, *host;
	char participant[RL_ID_SCHEME_MAX + RL_ID_VALUE_BYTES + 4];
	struct rl_err err;
	size_t len;

	if (!r)
		return NULL;
	r->s = s;
	r->status = 200;
	if (strcmp(req->method, "GET") != 0) {
		r->status = 405;
		r->reason = strdup("only GET is served\n");
		return r;
	}
	if (path[0] == '/')
		path++;
	slash = strchr(path, '/');
	len = slash ? (size_t)(slash - path) : strlen(path);
	if (len == 0 || len >= sizeof(participant)) {
		r->status = 404;
		r->reason = strdup("no participant in the path\n");
		return r;
	}
	memcpy(participant, path, len);
	participant[len] = '\0';
	if (rl_participant_parse(&r->participant, participant, &err) < 0) {
		r->status = 400;
		r->reason = strdup(err.msg);
		return r;
	}
	if (slash) {
		if (strncmp(slash, "/services/", 10) != 0 || rl_doctype_parse(&r->doctype, slash + 10, &err) < 0) {
			r->status = slash[1] == '\0' ? 404 : 400;
			r->reason = strdup(strncmp(slash, "/services/", 10) != 0 ? "unknown path\n" : err.msg);
			return r;
		}
		r->want_metadata = 1;
	}
	host = rl_http_request_header(req, "Host");
	if (s->base_url && s->base_url[0])
		r->base_url = strdup(s->base_url);
	else if (host && asprintf(&r->base_url, "http://%s", host) < 0)
		r->base_url = NULL;
	if (!r->base_url)
		r->base_url = strdup("");
	return r;
}

/* The text/plain answer of a failed request. */
static void answer_text(struct rl_http_response *resp, int status, const char *text)
{
	resp->status = status;
	resp->content_type = strdup("text/plain; charset=utf-8");
	rl_buf_puts(&resp->body, text ? text : "");
	if (resp->body.len == 0 || resp->body.data[resp->body.len - 1] != '\n')
		rl_buf_puts(&resp->body, "\n");
}

static void on_finish(void *ctx, enum rl_http_body_end how, struct rl_http_response *resp)
{
	struct smp_request *r = ctx;
	struct rl_smp_server *s = r->s;
	struct rl_smp_service *services = NULL;
	struct rl_peppol_id *doctypes = NULL;
	struct rl_err err;
	int n, found = -1;

	(void)how;
	atomic_fetch_add(&s->requests, 1);
	if (r->status != 200) {
		answer_text(resp, r->status, r->reason);
		return;
	}
	n = s->o.directory.services(s->o.directory.arg, &r->participant, &services, &err);
	if (n < 0) {
		answer_text(resp, 500, "the participant directory cannot be read");
		return;
	}
	if (n == 0) {
		answer_text(resp, 404, "participant not hosted here");
		goto out;
	}
	if (!r->want_metadata) {
		doctypes = calloc((size_t)n, sizeof(*doctypes));
		for (int i = 0; doctypes && i < n; i++)
			doctypes[i] = services[i].doctype;
		if (doctypes && rl_smp_build_service_group(&resp->body, r->base_url, &r->participant, doctypes,
							   (size_t)n, &err) == 0) {
			resp->status = 200;
			resp->content_type = strdup("application/xml");
		} else {
			rl_buf_reset(&resp->body);
			answer_text(resp, 500, "the ServiceGroup cannot be built");
		}
		goto out;
	}
	for (int i = 0; i < n && found < 0; i++)
		if (rl_peppol_id_equal(&services[i].doctype, &r->doctype))
			found = i;
	if (found < 0) {
		answer_text(resp, 404, "document type not served for this participant");
		goto out;
	}
	if (rl_smp_build_signed_metadata(&resp->body, &r->participant, &r->doctype, &services[found].process,
					 &s->o.endpoint, s->o.signer, &err) < 0) {
		rl_buf_reset(&resp->body);
		answer_text(resp, 500, "the ServiceMetadata cannot be signed");
		goto out;
	}
	resp->status = 200;
	resp->content_type = strdup("application/xml");
out:
	free(doctypes);
	free(services);
}

static void on_cleanup(void *ctx, int completed)
{
	struct smp_request *r = ctx;

	(void)completed;
	free(r->reason);
	free(r->base_url);
	free(r);
}

struct rl_smp_server *rl_smp_server_start(const struct rl_smp_server_opts *o, struct rl_err *err)
{
	struct rl_smp_server *s = calloc(1, sizeof(*s));
	struct rl_http_server_opts ho = { 0 };
	struct rl_http_handler h = { 0 };

	if (!s) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (!o->signer || !o->endpoint.url || !o->endpoint.cert || !o->endpoint.transport_profile ||
	    !o->directory.services) {
		free(s);
		rl_err_set(err, RL_ERR_CONFIG, "the SMP needs a signing key, an endpoint URL and certificate, and a directory");
		return NULL;
	}
	s->o = *o;
	s->base_url = strdup(o->base_url ? o->base_url : "");
	atomic_init(&s->requests, 0);
	ho.host = o->host;
	ho.port = o->port;
	ho.threads = o->threads ? o->threads : 2;
	ho.max_connections = 16 > ho.threads ? 16 : ho.threads;
	ho.request_timeout = 30;
	ho.max_body = 64 * 1024;
	h.app = s;
	h.begin = on_begin;
	h.finish = on_finish;
	h.cleanup = on_cleanup;
	if (!s->base_url || !(s->http = rl_http_server_start(&ho, &h, err))) {
		if (!s->base_url)
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		free(s->base_url);
		free(s);
		return NULL;
	}
	return s;
}

unsigned rl_smp_server_port(const struct rl_smp_server *s)
{
	return rl_http_server_port(s->http);
}

unsigned long rl_smp_server_requests(const struct rl_smp_server *s)
{
	return atomic_load(&((struct rl_smp_server *)s)->requests);
}

void rl_smp_server_stop(struct rl_smp_server *s)
{
	if (!s)
		return;
	rl_http_server_stop(s->http);
	free(s->base_url);
	free(s);
}

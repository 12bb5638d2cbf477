/*
 * http_client.h - HTTP(S) requests to peers, SMPs and webhooks (libcurl).
 *
 * One client per thread: it keeps connections alive between requests to the same host. Request bodies
 * stream from a FILE (or come from memory); responses are small and bounded (max_response), or stream
 * into a sink. Security defaults are strict: https with certificate and host name checks, TLS 1.2 or
 * later, no redirects, only http and https; plain http only to loopback hosts unless allowed.
 *
 * Errors: a transport failure (DNS, connect, timeout, TLS, a response larger than allowed) is
 * RL_ERR_NETWORK, naming the URL and curl's reason; a URL the client refuses to use (bad syntax, a
 * scheme other than https/http, plain http when not allowed) is RL_ERR_USAGE. Any HTTP status is
 * success at this level: the caller judges it.
 */
#ifndef RELAIS_HTTP_CLIENT_H
#define RELAIS_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/stream.h"

struct rl_http_client_opts {
	const char *tls_anchors;	/* PEM bundle of the CAs for https server certificates; NULL or
					 * "" = the system's CAs */
	int insecure_plain_http_ok;	/* allow http:// to any host (default: loopback hosts only).
					 * Peppol SMPs are reached over plain http: their client sets it. */
	long connect_timeout;		/* seconds; 0 = 30 */
	long timeout;			/* seconds for a whole request; 0 = 300 */
	const char *const *resolve;	/* "host:port:address" entries (curl's CURLOPT_RESOLVE), NULL-
					 * terminated; or NULL */
	const char *user_agent;		/* NULL = "relais/VERSION" */
};

struct rl_http_client;

/* The options are copied. */
struct rl_http_client *rl_http_client_new(const struct rl_http_client_opts *o, struct rl_err *err);
void rl_http_client_free(struct rl_http_client *c);

struct rl_http_result {
	long status;			/* HTTP status */
	char *content_type;		/* malloc'd, NULL when the response had none */
	struct rl_buf body;		/* the response body, at most max_response bytes */
	long new_connections;		/* connections opened for this request (0 = an open one reused) */
};

#define RL_HTTP_RESULT_INIT { 0, NULL, RL_BUF_INIT, 0 }
void rl_http_result_free(struct rl_http_result *r);

/* POSTs size bytes read from body's current position (the FILE must be seekable: a request sent again
 * on a fresh connection rereads them). headers: extra "Name: value" lines, NULL-terminated, or NULL.
 * A response body larger than max_response fails the request. res is filled on success (initialise it
 * with RL_HTTP_RESULT_INIT; it is emptied first). */
int rl_http_post_file(struct rl_http_client *c, const char *url, const char *content_type, FILE *body,
		      uint64_t size, const char *const *headers, size_t max_response,
		      struct rl_http_result *res, struct rl_err *err);
/* The same with the body in memory. */
int rl_http_post_mem(struct rl_http_client *c, const char *url, const char *content_type,
		     const void *data, size_t len, const char *const *headers, size_t max_response,
		     struct rl_http_result *res, struct rl_err *err);
int rl_http_get(struct rl_http_client *c, const char *url, const char *const *headers,
		size_t max_response, struct rl_http_result *res, struct rl_err *err);
/* A GET whose body streams into out (large downloads); more than max bytes fails. *status = the HTTP
 * status. A failure of the sink is returned as the sink reported it. */
int rl_http_get_sink(struct rl_http_client *c, const char *url, const struct rl_sink *out, uint64_t max,
		     long *status, struct rl_err *err);

#endif

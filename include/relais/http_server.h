/*
 * http_server.h - the HTTP(S) server under the AS4 endpoint and the REST API (libmicrohttpd).
 *
 * A pool of threads serves many connections each; the application sees one request at a time through
 * four callbacks (struct rl_http_handler), with the body streamed to it chunk by chunk as it arrives:
 * the server never holds a whole body. Slow or broken clients cannot stall the others: a connection
 * idle for request_timeout seconds is dropped, and so is one that has not delivered a whole request
 * (TLS handshake, headers and body) within request_timeout seconds; at most max_connections are open.
 *
 * TLS uses the key and certificate chain given as PEM files. rl_http_server_reload_tls() swaps them for
 * new connections while the connections already open keep theirs.
 *
 * Threads: the callbacks run in the server's threads, possibly several at once (for different requests).
 * The functions below are called from one controlling thread.
 */
#ifndef RELAIS_HTTP_SERVER_H
#define RELAIS_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "relais/buf.h"
#include "relais/err.h"

struct rl_http_server_opts {
	const char *host;		/* listen address: IPv4/IPv6 literal or a name; NULL or "" = all */
	unsigned port;			/* 0 = any free port (see rl_http_server_port) */
	int tls;			/* 0 = plain HTTP (behind a TLS-terminating proxy) */
	const char *tls_key_path;	/* PEM private key (unencrypted), when tls */
	const char *tls_cert_path;	/* PEM certificate, followed by its chain, when tls */
	unsigned threads;		/* size of the thread pool; 0 = 4 */
	unsigned max_connections;	/* open connections at most, shared between the threads (each
					 * takes its share); 0 = 64. Must be >= threads. */
	unsigned request_timeout;	/* seconds; 0 = 60. See above. */
	uint64_t max_body;		/* largest request body read; 0 = 100 MiB */
};

/* What a request looks like to the application. Everything is owned by the server and valid from
 * begin() until cleanup() returns. */
struct rl_http_request {
	const char *method;		/* "POST" */
	const char *path;		/* "/as4", percent-decoded */
	const char *query;		/* raw text after '?', NULL when none */
	const char *content_type;	/* NULL when absent */
	const char *authorization;	/* NULL when absent */
	long long content_length;	/* -1 when unknown (chunked), 0 when there is no body */
	const char *remote_addr;	/* "127.0.0.1", "::1" */
};

/* Any request header (case-insensitive name); NULL when absent. */
const char *rl_http_request_header(const struct rl_http_request *r, const char *name);
/* A query argument, percent-decoded; NULL when absent. */
const char *rl_http_request_query_arg(const struct rl_http_request *r, const char *name);

/* How a request body ended. */
enum rl_http_body_end {
	RL_HTTP_BODY_COMPLETE,		/* every byte was handed to body() */
	RL_HTTP_BODY_TOO_LARGE,		/* larger than max_body: not read further */
	RL_HTTP_BODY_REFUSED		/* body() returned -1: not read further */
};

/* The answer, filled by finish(). The server has set status 500 and everything else empty before the
 * call. Strings and the file are handed over to the server, which frees/closes them. */
struct rl_http_response {
	int status;
	char *content_type;		/* malloc'd or NULL */
	struct rl_buf body;		/* small bodies (signals, JSON) */
	FILE *body_file;		/* or a file sent from its current position to its end, closed by
					 * the server; NULL when unused (then body is sent) */
	char *extra_headers;		/* malloc'd "Name: value\r\n..." or NULL */
};

struct rl_http_handler {
	void *app;
	/* The headers of a request arrived: returns the request's context, or NULL for an answer 500
	 * (then neither finish nor cleanup is called for it). */
	void *(*begin)(void *app, const struct rl_http_request *req);
	/* Body bytes, dechunked, as they arrive (len > 0). Returns 0, or -1 to stop taking them (then
	 * finish(REFUSED) at once). May be NULL: the body is then read and dropped. */
	int (*body)(void *ctx, const void *data, size_t len);
	/* The body ended (how: see the enum; at once for requests without a body): fill resp. Called once
	 * per begun request, unless the connection was lost before the body ended.
	 * - Too large, Content-Length known: called before any of the body is read; the answer is sent
	 *   and the connection closed after it.
	 * - Too large, chunked: called as soon as the size passes max_body; the answer is sent at once,
	 *   the rest of the body is not handed on, and the connection is closed after the answer.
	 * - Refused: the rest of the body is read and dropped (as long as the whole stays within
	 *   max_body and request_timeout, else the connection is closed), then the answer is sent; a
	 *   refused chunked body that passes max_body gets that answer at once, as above.
	 * After an answer sent before the body's end, a client still sending may go on for at most a second
	 * and 4 MiB (read and dropped, so that it sees the answer rather than a reset), then the
	 * connection is closed. */
	void (*finish)(void *ctx, enum rl_http_body_end how, struct rl_http_response *resp);
	/* Always called last for a begun request, also when the client vanished or timed out: frees ctx.
	 * completed = 1 when the whole response was sent. */
	void (*cleanup)(void *ctx, int completed);
};

struct rl_http_server;

/* Binds and starts serving. The handler struct is copied. Fails with RL_ERR_CONFIG (bad options,
 * unusable key/certificate) or RL_ERR_IO (cannot listen). */
struct rl_http_server *rl_http_server_start(const struct rl_http_server_opts *o,
					    const struct rl_http_handler *h, struct rl_err *err);
/* The bound port (useful with port 0). */
unsigned rl_http_server_port(const struct rl_http_server *s);
/* Loads a new key and certificate chain (e.g. on SIGHUP): new connections use them, open connections
 * keep the ones they began with. On failure (unreadable, mismatched key and certificate) the old pair
 * stays in use. RL_ERR_CONFIG when the server does not serve TLS. */
int rl_http_server_reload_tls(struct rl_http_server *s, const char *key_path, const char *cert_path,
			      struct rl_err *err);
/* Stops accepting new connections; requests already under way (and further requests on open
 * connections) are still served. */
void rl_http_server_quiesce(struct rl_http_server *s);
/* Stops accepting, answers further requests on open connections with 503 (and closes those
 * connections), waits for the requests in progress to end and for requests already sent on idle
 * connections to get their 503 (at most request_timeout seconds in all), then closes every connection
 * and frees s. NULL is accepted. */
void rl_http_server_stop(struct rl_http_server *s);

#endif

/*
 * http_client.c - HTTP(S) requests on libcurl. See include/relais/http_client.h.
 *
 * One CURL easy handle per client: curl keeps its connections (and TLS sessions) between requests, so
 * requests to the same peer reuse them. The handle is reset before each request and every option is
 * set again, so nothing from one request leaks into the next. libcurl is loaded (curl_lazy.h) and the
 * handle made at the client's first request, not when the client is made: a sender that waits for
 * work does not hold libcurl in memory.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include "relais/curl_lazy.h"
#include "relais/http_client.h"

#define DEFAULT_CONNECT_TIMEOUT 30L
#define DEFAULT_TIMEOUT 300L

struct rl_http_client {
	CURL *curl;			/* NULL until the first request */
	char *tls_anchors;		/* NULL = system CAs */
	int plain_http_ok;
	long connect_timeout, timeout;
	char **resolve_entries;		/* NULL-terminated copy of the options' resolve */
	struct curl_slist *resolve;	/* the same for curl, made with the handle */
	char *user_agent;
	char errbuf[CURL_ERROR_SIZE];
};

/* Where a request body comes from. */
struct upload {
	FILE *fp;
	off_t start;			/* the FILE's position when the request began */
};

/* Where a response body goes. */
struct download {
	struct rl_buf *buf;		/* either this (bounded by max) */
	const struct rl_sink *sink;	/* or this */
	uint64_t max, got;
	int too_large;
	int sink_failed;
	struct rl_err sink_err;
};

struct rl_http_client *rl_http_client_new(const struct rl_http_client_opts *o, struct rl_err *err)
{
	struct rl_http_client *c = calloc(1, sizeof(*c));
	size_t n = 0;

	if (c == NULL)
		goto nomem;
	c->plain_http_ok = o->insecure_plain_http_ok;
	c->connect_timeout = o->connect_timeout > 0 ? o->connect_timeout : DEFAULT_CONNECT_TIMEOUT;
	c->timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
	if (o->tls_anchors != NULL && *o->tls_anchors != '\0' &&
	    (c->tls_anchors = strdup(o->tls_anchors)) == NULL)
		goto nomem_free;
	c->user_agent = strdup(o->user_agent != NULL ? o->user_agent : PACKAGE_NAME "/" PACKAGE_VERSION);
	if (c->user_agent == NULL)
		goto nomem_free;
	while (o->resolve != NULL && o->resolve[n] != NULL)
		n++;
	c->resolve_entries = calloc(n + 1, sizeof(*c->resolve_entries));
	if (c->resolve_entries == NULL)
		goto nomem_free;
	for (size_t i = 0; i < n; i++)
		if ((c->resolve_entries[i] = strdup(o->resolve[i])) == NULL)
			goto nomem_free;
	return c;
nomem_free:
	rl_http_client_free(c);
nomem:
	rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return NULL;
}

void rl_http_client_free(struct rl_http_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		rl_curl.easy_cleanup(c->curl);
	if (c->resolve != NULL)
		rl_curl.slist_free_all(c->resolve);
	for (size_t i = 0; c->resolve_entries != NULL && c->resolve_entries[i] != NULL; i++)
		free(c->resolve_entries[i]);
	free(c->resolve_entries);
	free(c->tls_anchors);
	free(c->user_agent);
	free(c);
}

void rl_http_result_free(struct rl_http_result *r)
{
	free(r->content_type);
	r->content_type = NULL;
	rl_buf_free(&r->body);
	r->status = 0;
	r->new_connections = 0;
}

/* 1 for localhost, 127.0.0.0/8 and ::1 (curl gives IPv6 hosts in brackets). */
static int host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char v6[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(host);

	if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (len > 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(v6)) {
		memcpy(v6, host + 1, len - 2);
		v6[len - 2] = '\0';
		return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

/* Loads libcurl and makes the handle (and the resolve list) at the client's first request. */
static int make_handle(struct rl_http_client *c, struct rl_err *err)
{
	struct curl_slist *list = NULL;

	if (c->curl != NULL)
		return 0;
	if (rl_curl_load(err) < 0)
		return -1;
	for (size_t i = 0; c->resolve_entries[i] != NULL; i++) {
		struct curl_slist *l = rl_curl.slist_append(list, c->resolve_entries[i]);

		if (l == NULL) {
			rl_curl.slist_free_all(list);
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		}
		list = l;
	}
	c->curl = rl_curl.easy_init();
	if (c->curl == NULL) {
		rl_curl.slist_free_all(list);
		return rl_err_set(err, RL_ERR_INTERNAL, "curl_easy_init failed");
	}
	c->resolve = list;
	return 0;
}

/* Refuses URLs the client will not use: bad syntax, other schemes, plain http when not allowed. */
static int check_url(const struct rl_http_client *c, const char *url, struct rl_err *err)
{
	CURLU *u = rl_curl.url();
	char *scheme = NULL, *host = NULL;
	int rc = 0;

	if (u == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (rl_curl.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    rl_curl.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    rl_curl.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		rc = rl_err_set(err, RL_ERR_USAGE, "not a usable URL: %s", url);
	else if (strcmp(scheme, "https") == 0)
		rc = 0;
	else if (strcmp(scheme, "http") != 0)
		rc = rl_err_set(err, RL_ERR_USAGE, "only https and http URLs are used, not %s", url);
	else if (!c->plain_http_ok && !host_is_loopback(host))
		rc = rl_err_set(err, RL_ERR_USAGE,
				"plain http to a host other than loopback is not allowed: %s", url);
	rl_curl.free(scheme);
	rl_curl.free(host);
	rl_curl.url_cleanup(u);
	return rc;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct upload *up = userdata;
	size_t n = fread(buf, 1, size * nitems, up->fp);

	if (n == 0 && ferror(up->fp))
		return CURL_READFUNC_ABORT;
	return n;
}

/* curl rewinds the body when it sends the request again (a reused connection had been closed). */
static int on_seek(void *userdata, curl_off_t offset, int origin)
{
	struct upload *up = userdata;

	if (origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	return fseeko(up->fp, up->start + (off_t)offset, SEEK_SET) == 0 ? CURL_SEEKFUNC_OK
									   : CURL_SEEKFUNC_FAIL;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct download *dl = userdata;
	size_t n = size * nmemb;

	if (n > dl->max - dl->got) {
		dl->too_large = 1;
		return 0;
	}
	dl->got += n;
	if (dl->sink != NULL) {
		if (rl_sink_write(dl->sink, data, n, &dl->sink_err) < 0) {
			dl->sink_failed = 1;
			return 0;
		}
		return n;
	}
	return rl_buf_append(dl->buf, data, n) == 0 ? n : 0;
}

/* Sets every option common to all requests on a freshly reset handle. */
static int setup(struct rl_http_client *c, const char *url, struct curl_slist *headers,
		 struct download *dl)
{
	CURL *h = c->curl;
	CURLcode rc = CURLE_OK;

	rl_curl.easy_reset(h);
	c->errbuf[0] = '\0';
#define SET(opt, val) do { if (rc == CURLE_OK) rc = rl_curl.easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->tls_anchors != NULL)
		SET(CURLOPT_CAINFO, c->tls_anchors);
	SET(CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
	SET(CURLOPT_TIMEOUT, c->timeout);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	if (c->resolve != NULL)
		SET(CURLOPT_RESOLVE, c->resolve);
	SET(CURLOPT_USERAGENT, c->user_agent);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, dl);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

/* Builds the header list: Content-Type (when given) and the caller's lines. NULL on no memory. */
static int make_headers(const char *content_type, const char *const *extra, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *n;
	char *line = NULL;

	*out = NULL;
	if (content_type != NULL) {
		if (asprintf(&line, "Content-Type: %s", content_type) < 0)
			return -1;
		n = rl_curl.slist_append(l, line);
		free(line);
		if (n == NULL)
			return -1;
		l = n;
	}
	for (const char *const *h = extra; h != NULL && *h != NULL; h++) {
		n = rl_curl.slist_append(l, *h);
		if (n == NULL) {
			rl_curl.slist_free_all(l);
			return -1;
		}
		l = n;
	}
	*out = l;
	return 0;
}

/* Runs the prepared request; on success fills status (and res when given). */
static int perform(struct rl_http_client *c, const char *method, const char *url, struct download *dl,
		   long *status, struct rl_http_result *res, struct rl_err *err)
{
	CURLcode rc = rl_curl.easy_perform(c->curl);
	char *ctype = NULL;

	if (rc != CURLE_OK) {
		if (dl->sink_failed) {
			*err = dl->sink_err;
			return rl_err_prefix(err, "%s %s: ", method, url);
		}
		if (dl->too_large)
			return rl_err_set(err, RL_ERR_NETWORK, "%s %s: response larger than %llu bytes",
					  method, url, (unsigned long long)dl->max);
		if (rc == CURLE_WRITE_ERROR)
			return rl_err_set(err, RL_ERR_NOMEM, "%s %s: out of memory", method, url);
		return rl_err_set(err, RL_ERR_NETWORK, "%s %s: %s", method, url,
				  c->errbuf[0] ? c->errbuf : rl_curl.easy_strerror(rc));
	}
	rl_curl.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	if (res != NULL) {
		res->status = *status;
		rl_curl.easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &res->new_connections);
		if (rl_curl.easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK &&
		    ctype != NULL && (res->content_type = strdup(ctype)) == NULL)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* The shared body of the three buffered requests. body_fp or body_mem (or neither, for GET). */
static int request(struct rl_http_client *c, const char *method, const char *url,
		   const char *content_type, FILE *body_fp, uint64_t size, const void *body_mem,
		   const char *const *headers, size_t max_response, struct rl_http_result *res,
		   struct rl_err *err)
{
	struct download dl;
	struct upload up = { body_fp, 0 };
	struct curl_slist *hl = NULL;
	CURLcode rc = CURLE_OK;
	long status = 0;
	int ret;

	rl_http_result_free(res);
	if (make_handle(c, err) < 0 || check_url(c, url, err) < 0)
		return -1;
	memset(&dl, 0, sizeof(dl));
	dl.buf = &res->body;
	dl.max = max_response;
	if (make_headers(content_type, headers, &hl) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (setup(c, url, hl, &dl) < 0) {
		rl_curl.slist_free_all(hl);
		return rl_err_set(err, RL_ERR_INTERNAL, "curl refused an option");
	}
	if (body_fp != NULL) {
		up.start = ftello(body_fp);
		if (up.start < 0) {
			rl_curl.slist_free_all(hl);
			return rl_err_set(err, RL_ERR_IO, "POST %s: body not seekable: %s", url,
					  strerror(errno));
		}
		rc = rl_curl.easy_setopt(c->curl, CURLOPT_POST, 1L);
		if (rc == CURLE_OK)
			rc = rl_curl.easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size);
		if (rc == CURLE_OK)
			rc = rl_curl.easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
		if (rc == CURLE_OK)
			rc = rl_curl.easy_setopt(c->curl, CURLOPT_READDATA, &up);
		if (rc == CURLE_OK)
			rc = rl_curl.easy_setopt(c->curl, CURLOPT_SEEKFUNCTION, on_seek);
		if (rc == CURLE_OK)
			rc = rl_curl.easy_setopt(c->curl, CURLOPT_SEEKDATA, &up);
	} else if (body_mem != NULL) {
		rc = rl_curl.easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size);
		if (rc == CURLE_OK)
			rc = rl_curl.easy_setopt(c->curl, CURLOPT_POSTFIELDS, body_mem);
	}
	if (rc != CURLE_OK) {
		rl_curl.slist_free_all(hl);
		return rl_err_set(err, RL_ERR_INTERNAL, "curl refused an option");
	}
	ret = perform(c, method, url, &dl, &status, res, err);
	rl_curl.slist_free_all(hl);
	/* The handle must not keep pointers into this call's stack. */
	rl_curl.easy_reset(c->curl);
	if (ret < 0)
		rl_http_result_free(res);
	return ret;
}

int rl_http_post_file(struct rl_http_client *c, const char *url, const char *content_type, FILE *body,
		      uint64_t size, const char *const *headers, size_t max_response,
		      struct rl_http_result *res, struct rl_err *err)
{
	return request(c, "POST", url, content_type, body, size, NULL, headers, max_response, res, err);
}

int rl_http_post_mem(struct rl_http_client *c, const char *url, const char *content_type,
		     const void *data, size_t len, const char *const *headers, size_t max_response,
		     struct rl_http_result *res, struct rl_err *err)
{
	return request(c, "POST", url, content_type, NULL, len, data != NULL ? data : "", headers,
		       max_response, res, err);
}

int rl_http_get(struct rl_http_client *c, const char *url, const char *const *headers,
		size_t max_response, struct rl_http_result *res, struct rl_err *err)
{
	return request(c, "GET", url, NULL, NULL, 0, NULL, headers, max_response, res, err);
}

int rl_http_get_sink(struct rl_http_client *c, const char *url, const struct rl_sink *out, uint64_t max,
		     long *status, struct rl_err *err)
{
	struct download dl;
	int ret;

	if (make_handle(c, err) < 0 || check_url(c, url, err) < 0)
		return -1;
	memset(&dl, 0, sizeof(dl));
	dl.sink = out;
	dl.max = max;
	if (setup(c, url, NULL, &dl) < 0)
		return rl_err_set(err, RL_ERR_INTERNAL, "curl refused an option");
	ret = perform(c, "GET", url, &dl, status, NULL, err);
	rl_curl.easy_reset(c->curl);
	return ret;
}

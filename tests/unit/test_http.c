/*
 * test_http.c - the HTTP server and client together over loopback: bodies streamed both ways (1 KB and
 * 50 MB, compared by SHA-256), TLS with the test certificates and a certificate reload, the request
 * fields, too-large bodies (Content-Length or chunked, answered either way, also over TLS) and refused
 * ones, an endless chunked body cut off, slow clients dropped while others are served, the connection
 * limit, connection reuse, quiesce and stop with a request in flight (503 meanwhile on kept-alive
 * connections, closed once drained), IPv6.
 */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include "relais/cli.h"
#include "relais/http_client.h"
#include "relais/http_server.h"
#include "unit_pki.h"

#define MIB (1024 * 1024)
#define BIG_BODY (50 * MIB)
#define FILE_BODY (200 * 1024)


/* For threads other than the test's own, where cmocka's assertions must not be used. */
#define MUST(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the application behind the server --------------------------------------------------------- */

struct app {
	pthread_mutex_t lock;
	int begun, finished, cleaned, completed;
	enum rl_http_body_end last_how;
	size_t largest_chunk;
	unsigned long chunks;
	uint64_t last_body_bytes;
};

struct req {
	struct app *app;
	char path[64];
	EVP_MD_CTX *sha;
	uint64_t len;
	struct rl_buf info;	/* what /info answers, gathered in begin() */
};

static struct app app_state;

static void app_reset(void)
{
	pthread_mutex_lock(&app_state.lock);
	app_state.begun = app_state.finished = app_state.cleaned = app_state.completed = 0;
	app_state.largest_chunk = 0;
	app_state.chunks = 0;
	app_state.last_body_bytes = 0;
	pthread_mutex_unlock(&app_state.lock);
}

static int app_count(const int *counter)
{
	int n;

	pthread_mutex_lock(&app_state.lock);
	n = *counter;
	pthread_mutex_unlock(&app_state.lock);
	return n;
}

/* Waits (up to 3 s) for the server to have cleaned up n requests: it does so after the client may
 * already have seen the answer. */
static void wait_cleaned(int n)
{
	for (int i = 0; i < 300 && app_count(&app_state.cleaned) < n; i++)
		usleep(10 * 1000);
	assert_int_equal(app_count(&app_state.cleaned), n);
}

static void *app_begin(void *appv, const struct rl_http_request *r)
{
	struct app *a = appv;
	struct req *q;
	const char *y;

	if (strcmp(r->path, "/fail") == 0)
		return NULL;
	q = calloc(1, sizeof(*q));
	MUST(q != NULL);
	q->app = a;
	snprintf(q->path, sizeof(q->path), "%s", r->path);
	q->sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(q->sha, EVP_sha256(), NULL);
	y = rl_http_request_query_arg(r, "y");
	rl_buf_printf(&q->info, "method=%s path=%s query=%s y=%s x-test=%s ctype=%s auth=%s length=%lld remote=%s",
		      r->method, r->path, r->query ? r->query : "(none)", y ? y : "(none)",
		      rl_http_request_header(r, "X-Test") ? rl_http_request_header(r, "x-test") : "(none)",
		      r->content_type ? r->content_type : "(none)",
		      r->authorization ? r->authorization : "(none)", r->content_length, r->remote_addr);
	pthread_mutex_lock(&a->lock);
	a->begun++;
	pthread_mutex_unlock(&a->lock);
	return q;
}

static int app_body(void *ctx, const void *data, size_t len)
{
	struct req *q = ctx;

	pthread_mutex_lock(&q->app->lock);
	if (len > q->app->largest_chunk)
		q->app->largest_chunk = len;
	q->app->chunks++;
	pthread_mutex_unlock(&q->app->lock);
	if (strcmp(q->path, "/refuse") == 0)
		return -1;
	EVP_DigestUpdate(q->sha, data, len);
	q->len += len;
	return 0;
}

static char *file_with_pattern(size_t size);

static void app_finish(void *ctx, enum rl_http_body_end how, struct rl_http_response *resp)
{
	struct req *q = ctx;
	unsigned char md[32];
	unsigned mdlen = 0;

	pthread_mutex_lock(&q->app->lock);
	q->app->finished++;
	q->app->last_how = how;
	q->app->last_body_bytes = q->len;
	pthread_mutex_unlock(&q->app->lock);

	resp->content_type = strdup("text/plain");
	if (how == RL_HTTP_BODY_TOO_LARGE) {
		resp->status = 413;
		rl_buf_puts(&resp->body, "too large");
		return;
	}
	if (how == RL_HTTP_BODY_REFUSED) {
		resp->status = 422;
		rl_buf_puts(&resp->body, "refused");
		return;
	}
	if (strcmp(q->path, "/sleep") == 0)
		usleep(1200 * 1000);
	if (strcmp(q->path, "/info") == 0) {
		resp->status = 200;
		rl_buf_append(&resp->body, q->info.data, q->info.len);
		resp->extra_headers = strdup("X-Answer: 42\r\n");
		return;
	}
	if (strcmp(q->path, "/file") == 0) {
		FILE *fp = tmpfile();
		char *data = file_with_pattern(FILE_BODY);

		MUST(fp != NULL && data != NULL);
		MUST(fwrite(data, 1, FILE_BODY, fp) == FILE_BODY);
		free(data);
		rewind(fp);
		resp->status = 200;
		resp->body_file = fp;
		return;
	}
	EVP_DigestFinal_ex(q->sha, md, &mdlen);
	resp->status = 200;
	for (unsigned i = 0; i < mdlen; i++)
		rl_buf_printf(&resp->body, "%02x", md[i]);
	rl_buf_printf(&resp->body, " %llu", (unsigned long long)q->len);
}

static void app_cleanup(void *ctx, int completed)
{
	struct req *q = ctx;

	pthread_mutex_lock(&q->app->lock);
	q->app->cleaned++;
	q->app->completed += completed;
	pthread_mutex_unlock(&q->app->lock);
	EVP_MD_CTX_free(q->sha);
	rl_buf_free(&q->info);
	free(q);
}

static const struct rl_http_handler handler = {
	&app_state, app_begin, app_body, app_finish, app_cleanup
};

/* ---- helpers ------------------------------------------------------------------------------------ */

/* Deterministic bytes (xorshift), so the digest on both sides is of something non-trivial. */
static void fill_pattern(unsigned char *p, size_t n, uint64_t *state)
{
	for (size_t i = 0; i < n; i++) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		p[i] = (unsigned char)*state;
	}
}

static char *file_with_pattern(size_t size)
{
	char *p = malloc(size);
	uint64_t st = 88172645463325252ULL;

	MUST(p != NULL);
	fill_pattern((unsigned char *)p, size, &st);
	return p;
}

/* A temporary file of `size` pattern bytes, rewound; its SHA-256 as hex into hex. */
static FILE *pattern_file(uint64_t size, char hex[65])
{
	FILE *fp = tmpfile();
	unsigned char chunk[65536], md[32];
	unsigned mdlen;
	uint64_t st = 0x9E3779B97F4A7C15ULL, left = size;
	EVP_MD_CTX *sha = EVP_MD_CTX_new();

	assert_non_null(fp);
	EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
	while (left > 0) {
		size_t n = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);

		fill_pattern(chunk, n, &st);
		EVP_DigestUpdate(sha, chunk, n);
		assert_int_equal(fwrite(chunk, 1, n, fp), n);
		left -= n;
	}
	EVP_DigestFinal_ex(sha, md, &mdlen);
	EVP_MD_CTX_free(sha);
	for (unsigned i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	rewind(fp);
	return fp;
}

static struct rl_http_server *start_server(int tls, unsigned threads, unsigned max_conn, unsigned timeout,
					   uint64_t max_body)
{
	struct rl_http_server_opts o = { 0 };
	struct rl_http_server *s;
	struct rl_err err;

	o.host = "127.0.0.1";
	o.port = 0;
	o.tls = tls;
	o.tls_key_path = tls ? pki("tls-server.key.pem") : NULL;
	o.tls_cert_path = tls ? pki("tls-server.cert.pem") : NULL;
	o.threads = threads;
	o.max_connections = max_conn;
	o.request_timeout = timeout;
	o.max_body = max_body;
	s = rl_http_server_start(&o, &handler, &err);
	if (s == NULL)
		fail_msg("server start: %s", err.msg);
	assert_true(rl_http_server_port(s) > 0);
	app_reset();
	return s;
}

static struct rl_http_client *new_client(const char *anchors, long timeout)
{
	struct rl_http_client_opts o = { 0 };
	struct rl_http_client *c;
	struct rl_err err;

	o.tls_anchors = anchors;
	o.connect_timeout = 2;
	o.timeout = timeout;
	c = rl_http_client_new(&o, &err);
	MUST(c != NULL);
	return c;
}

static const char *url(const struct rl_http_server *s, const char *scheme, const char *host,
		       const char *path)
{
	static char buf[4][256];
	static int which;

	which = (which + 1) % 4;
	snprintf(buf[which], sizeof(buf[which]), "%s://%s:%u%s", scheme, host, rl_http_server_port(s), path);
	return buf[which];
}

/* A raw TCP connection to the server. */
static int raw_connect(const struct rl_http_server *s)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	MUST(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)rl_http_server_port(s));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	MUST(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

static long max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* ---- tests -------------------------------------------------------------------------------------- */

/* 1 KB and 50 MB bodies stream from a file through client and server into the handler's digest. */
static void test_post_streamed(void **state)
{
	struct rl_http_server *s = start_server(0, 2, 8, 10, 64 * MIB);
	struct rl_http_client *c = new_client(NULL, 30);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct rl_err err;
	char hex[65], want[128];
	FILE *fp;
	long rss_before;

	fp = pattern_file(1024, hex);
	assert_int_equal(rl_http_post_file(c, url(s, "http", "127.0.0.1", "/digest"), "application/octet-stream",
					   fp, 1024, NULL, 4096, &res, &err), 0);
	fclose(fp);
	snprintf(want, sizeof(want), "%s 1024", hex);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, want);
	assert_string_equal(res.content_type, "text/plain");

	fp = pattern_file(BIG_BODY, hex);
	rss_before = max_rss_kib();
	assert_int_equal(rl_http_post_file(c, url(s, "http", "127.0.0.1", "/digest"), "application/octet-stream",
					   fp, BIG_BODY, NULL, 4096, &res, &err), 0);
	fclose(fp);
	snprintf(want, sizeof(want), "%s %d", hex, BIG_BODY);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, want);
	/* Neither side held the body: the handler got it in many small chunks, and the process did not
	 * grow by anything near its size. */
	assert_true(app_state.chunks > 100);
	assert_true(app_state.largest_chunk <= 256 * 1024);
	assert_true(max_rss_kib() - rss_before < 20 * 1024);
	assert_int_equal(app_count(&app_state.finished), 2);

	/* The same from memory. */
	assert_int_equal(rl_http_post_mem(c, url(s, "http", "127.0.0.1", "/digest"), "text/plain", "abc", 3,
					  NULL, 4096, &res, &err), 0);
	assert_string_equal(res.body.data,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3");
	rl_http_result_free(&res);
	rl_http_client_free(c);
	rl_http_server_stop(s);
	assert_int_equal(app_count(&app_state.cleaned), 3);
	assert_int_equal(app_count(&app_state.completed), 3);
}

/* What the handler sees of a request, a response streamed from a file, a GET into a sink. */
static void test_request_fields_and_responses(void **state)
{
	struct rl_http_server *s = start_server(0, 1, 4, 10, MIB);
	struct rl_http_client *c = new_client(NULL, 10);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	const char *headers[] = { "X-Test: hello", "Authorization: Bearer abc", NULL };
	struct rl_buf got = RL_BUF_INIT;
	struct rl_sink sink = { rl_sink_buf_write, &got };
	struct rl_err err;
	char *want;
	long status = 0;

	assert_int_equal(rl_http_get(c, url(s, "http", "127.0.0.1", "/info?x=1&y=a%20b"), headers, 4096,
				     &res, &err), 0);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data,
			    "method=GET path=/info query=x=1&y=a%20b y=a b x-test=hello ctype=(none) "
			    "auth=Bearer abc length=0 remote=127.0.0.1");
	/* No body: finish at once, body() never called. */
	assert_int_equal(app_state.last_how, RL_HTTP_BODY_COMPLETE);
	assert_int_equal(app_state.chunks, 0);

	/* begin() returning NULL: 500, and neither finish nor cleanup for it. */
	app_reset();
	assert_int_equal(rl_http_get(c, url(s, "http", "127.0.0.1", "/fail"), NULL, 4096, &res, &err), 0);
	assert_int_equal(res.status, 500);
	assert_int_equal(app_count(&app_state.finished), 0);

	/* A response body streamed from a FILE. */
	want = file_with_pattern(FILE_BODY);
	assert_int_equal(rl_http_get(c, url(s, "http", "127.0.0.1", "/file"), NULL, FILE_BODY, &res, &err), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.body.len, FILE_BODY);
	assert_memory_equal(res.body.data, want, FILE_BODY);
	/* ... bounded by max_response on the client */
	assert_int_equal(rl_http_get(c, url(s, "http", "127.0.0.1", "/file"), NULL, FILE_BODY - 1, &res, &err), -1);
	assert_int_equal(err.code, RL_ERR_NETWORK);
	assert_non_null(strstr(err.msg, "larger than"));
	/* ... and into a sink */
	assert_int_equal(rl_http_get_sink(c, url(s, "http", "127.0.0.1", "/file"), &sink, FILE_BODY, &status,
					  &err), 0);
	assert_int_equal(status, 200);
	assert_int_equal(got.len, FILE_BODY);
	assert_memory_equal(got.data, want, FILE_BODY);
	rl_buf_reset(&got);
	assert_int_equal(rl_http_get_sink(c, url(s, "http", "127.0.0.1", "/file"), &sink, 1000, &status, &err),
			 -1);
	assert_int_equal(err.code, RL_ERR_NETWORK);
	free(want);
	rl_buf_free(&got);

	/* The body refused by the handler after its first chunk. */
	{
		char hex[65];
		FILE *fp = pattern_file(256 * 1024, hex);

		app_reset();
		assert_int_equal(rl_http_post_file(c, url(s, "http", "127.0.0.1", "/refuse"), "text/plain", fp,
						   256 * 1024, NULL, 4096, &res, &err), 0);
		fclose(fp);
		assert_int_equal(res.status, 422);
		assert_string_equal(res.body.data, "refused");
		assert_int_equal(app_state.last_how, RL_HTTP_BODY_REFUSED);
		assert_int_equal(app_state.chunks, 1);
	}
	rl_http_result_free(&res);
	rl_http_client_free(c);
	rl_http_server_stop(s);
}

/* Bodies over max_body: finish(TOO_LARGE) and the client gets the handler's answer. */
static void test_too_large(void **state)
{
	struct rl_http_server *s = start_server(0, 1, 4, 10, MIB);
	struct rl_http_client *c = new_client(NULL, 10);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	const char *chunked[] = { "Transfer-Encoding: chunked", NULL };
	struct rl_err err;
	char hex[65];
	FILE *fp = pattern_file(4 * MIB, hex);

	/* Content-Length says so: refused before reading. */
	assert_int_equal(rl_http_post_file(c, url(s, "http", "127.0.0.1", "/digest"), "text/plain", fp,
					   4 * MIB, NULL, 4096, &res, &err), 0);
	assert_int_equal(res.status, 413);
	assert_string_equal(res.body.data, "too large");
	assert_int_equal(app_state.last_how, RL_HTTP_BODY_TOO_LARGE);
	assert_int_equal(app_state.chunks, 0);

	/* The same without waiting for 100 Continue: the body is already on its way. The answer is written
	 * at once all the same, and the client stops sending when it reads it (rather than finding the
	 * connection reset under its body). */
	{
		const char *no_expect[] = { "Expect:", NULL };

		app_reset();
		rewind(fp);
		if (rl_http_post_file(c, url(s, "http", "127.0.0.1", "/digest"), "text/plain", fp, 4 * MIB,
				      no_expect, 4096, &res, &err) < 0)
			fail_msg("no expect: %s", err.msg);
		assert_int_equal(res.status, 413);
		assert_int_equal(app_state.chunks, 0);
		wait_cleaned(1);
		assert_int_equal(app_count(&app_state.completed), 1);
	}

	/* Chunked: stopped as soon as the size passes max_body, and answered at once (libmicrohttpd cannot
	 * queue an answer in the middle of a body: the server writes it). The connection is closed after
	 * it; the client then opens a new one. */
	app_reset();
	rewind(fp);
	if (rl_http_post_file(c, url(s, "http", "127.0.0.1", "/digest"), "text/plain", fp, 4 * MIB, chunked,
			      4096, &res, &err) < 0)
		fail_msg("chunked: %s", err.msg);
	assert_int_equal(res.status, 413);
	assert_string_equal(res.body.data, "too large");
	assert_string_equal(res.content_type, "text/plain");
	assert_int_equal(app_count(&app_state.finished), 1);
	assert_int_equal(app_state.last_how, RL_HTTP_BODY_TOO_LARGE);
	assert_true(app_state.last_body_bytes <= MIB);
	assert_true(app_state.last_body_bytes > MIB / 2);
	wait_cleaned(1);
	assert_int_equal(app_count(&app_state.completed), 1);
	assert_int_equal(rl_http_get(c, url(s, "http", "127.0.0.1", "/info"), NULL, 4096, &res, &err), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.new_connections, 1);

	/* A chunked body refused by the handler, then passing max_body: the refusal is the answer. */
	app_reset();
	rewind(fp);
	if (rl_http_post_file(c, url(s, "http", "127.0.0.1", "/refuse"), "text/plain", fp, 4 * MIB, chunked,
			      4096, &res, &err) < 0)
		fail_msg("chunked refused: %s", err.msg);
	assert_int_equal(res.status, 422);
	assert_string_equal(res.body.data, "refused");
	assert_int_equal(app_state.last_how, RL_HTTP_BODY_REFUSED);
	assert_int_equal(app_count(&app_state.finished), 1);
	fclose(fp);

	/* A chunked body of exactly max_body is read whole. */
	fp = pattern_file(MIB, hex);
	app_reset();
	assert_int_equal(rl_http_post_file(c, url(s, "http", "127.0.0.1", "/digest"), "text/plain", fp, MIB,
					   chunked, 4096, &res, &err), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(app_state.last_how, RL_HTTP_BODY_COMPLETE);
	assert_int_equal(app_state.last_body_bytes, MIB);
	fclose(fp);

	/* A body of exactly max_body with Content-Length too. */
	fp = pattern_file(MIB, hex);
	assert_int_equal(rl_http_post_file(c, url(s, "http", "127.0.0.1", "/digest"), "text/plain", fp, MIB,
					   NULL, 4096, &res, &err), 0);
	assert_int_equal(res.status, 200);
	fclose(fp);
	rl_http_result_free(&res);
	rl_http_client_free(c);
	rl_http_server_stop(s);
}

/* The same over TLS: the answer written in the middle of a body goes through the TLS session. */
static void test_too_large_chunked_tls(void **state)
{
	struct rl_http_server *s = start_server(1, 2, 8, 10, MIB);
	struct rl_http_client *c = new_client(pki("tls-ca.cert.pem"), 10);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	const char *chunked[] = { "Transfer-Encoding: chunked", NULL };
	struct rl_err err;
	char hex[65];
	FILE *fp = pattern_file(4 * MIB, hex);

	if (rl_http_post_file(c, url(s, "https", "localhost", "/digest"), "text/plain", fp, 4 * MIB, chunked,
			      4096, &res, &err) < 0)
		fail_msg("chunked over TLS: %s", err.msg);
	assert_int_equal(res.status, 413);
	assert_string_equal(res.body.data, "too large");
	assert_int_equal(app_state.last_how, RL_HTTP_BODY_TOO_LARGE);
	fclose(fp);
	/* The server goes on serving. */
	assert_int_equal(rl_http_get(c, url(s, "https", "localhost", "/info"), NULL, 4096, &res, &err), 0);
	assert_int_equal(res.status, 200);
	wait_cleaned(2);
	assert_int_equal(app_count(&app_state.completed), 2);
	rl_http_result_free(&res);
	rl_http_client_free(c);
	rl_http_server_stop(s);
}

/* A client sending an endless chunked body without reading: answered when the body passes max_body,
 * then cut off within a second and a few MiB; it cannot keep the server reading. */
static void test_endless_chunked_body(void **state)
{
	struct rl_http_server *s = start_server(0, 1, 4, 10, MIB);
	const char *head = "POST /digest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct timeval tv = { 5, 0 };
	char chunk[16 + 65536 + 2], answer[512];
	uint64_t sent = 0;
	double start = now_s(), took;
	int fd = raw_connect(s);
	size_t got = 0;
	ssize_t n;

	memcpy(chunk, "10000\r\n", 7);
	memset(chunk + 7, 'x', 65536);
	memcpy(chunk + 7 + 65536, "\r\n", 2);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
	while (now_s() - start < 10 && (n = send(fd, chunk, 7 + 65536 + 2, MSG_NOSIGNAL)) > 0)
		sent += (uint64_t)n;
	took = now_s() - start;
	print_message("endless chunked body: cut off after %.2f s, %llu bytes sent\n", took,
		      (unsigned long long)sent);
	/* Cut off: within the linger time after the answer, having taken at most max_body and a few
	 * MiB (what the sockets' buffers held is counted as sent here too). */
	assert_true(took < 4);
	assert_true(sent > MIB);
	assert_true(sent < 64ULL * MIB);
	/* The answer was written before the close. */
	while (got < sizeof(answer) - 1 && (n = recv(fd, answer + got, sizeof(answer) - 1 - got, 0)) > 0)
		got += (size_t)n;
	answer[got] = '\0';
	close(fd);
	if (strncmp(answer, "HTTP/1.1 413 ", 13) != 0)
		fail_msg("not the answer: %s", answer);
	assert_non_null(strstr(answer, "Connection: close\r\n"));
	assert_int_equal(app_state.last_how, RL_HTTP_BODY_TOO_LARGE);
	wait_cleaned(1);

	/* A client that stops sending after max_body but keeps the connection open: answered, and the
	 * connection closed about a second later. */
	fd = raw_connect(s);
	assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
	for (int i = 0; i < 17; i++)
		assert_int_equal(send(fd, chunk, 7 + 65536 + 2, MSG_NOSIGNAL), 7 + 65536 + 2);
	start = now_s();
	got = 0;
	while ((n = recv(fd, answer + got, sizeof(answer) - 1 - got, 0)) > 0 && got + (size_t)n < sizeof(answer) - 1)
		got += (size_t)n;
	took = now_s() - start;
	close(fd);
	assert_true(n == 0);
	answer[got] = '\0';
	assert_int_equal(strncmp(answer, "HTTP/1.1 413 ", 13), 0);
	assert_true(took > 0.5 && took < 3);
	wait_cleaned(2);
	rl_http_server_stop(s);
}

/* HTTPS with the test certificate; a client trusting another CA fails; plain http policy. */
static void test_tls_and_plain_http_policy(void **state)
{
	struct rl_http_server *s = start_server(1, 2, 8, 10, MIB);
	struct rl_http_client *good = new_client(pki("tls-ca.cert.pem"), 10);
	struct rl_http_client *other = new_client(pki("tls-ca2.cert.pem"), 10);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct rl_err err;
	char hex[65], want[128];
	FILE *fp = pattern_file(1024, hex);

	assert_int_equal(rl_http_post_file(good, url(s, "https", "localhost", "/digest"), "text/plain", fp, 1024,
					   NULL, 4096, &res, &err), 0);
	snprintf(want, sizeof(want), "%s 1024", hex);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, want);
	/* The certificate names 127.0.0.1 too. */
	assert_int_equal(rl_http_get(good, url(s, "https", "127.0.0.1", "/info"), NULL, 4096, &res, &err), 0);
	assert_int_equal(res.status, 200);

	assert_int_equal(rl_http_get(other, url(s, "https", "localhost", "/info"), NULL, 4096, &res, &err), -1);
	assert_int_equal(err.code, RL_ERR_NETWORK);
	assert_non_null(strstr(err.msg, url(s, "https", "localhost", "/info")));
	/* Plain http to a TLS port fails too. */
	assert_int_equal(rl_http_get(good, url(s, "http", "localhost", "/info"), NULL, 4096, &res, &err), -1);
	assert_int_equal(err.code, RL_ERR_NETWORK);
	fclose(fp);
	rl_http_client_free(good);
	rl_http_client_free(other);
	rl_http_server_stop(s);

	/* Plain http: loopback only, unless allowed. Names are mapped to the loopback server so that
	 * only the policy differs. */
	s = start_server(0, 1, 4, 10, MIB);
	{
		char resolve_entry[64];
		const char *resolve[] = { resolve_entry, NULL };
		struct rl_http_client_opts o = { 0 };
		struct rl_http_client *strict, *relaxed;

		snprintf(resolve_entry, sizeof(resolve_entry), "peer.example:%u:127.0.0.1",
			 rl_http_server_port(s));
		o.resolve = resolve;
		o.timeout = 5;
		strict = rl_http_client_new(&o, &err);
		o.insecure_plain_http_ok = 1;
		relaxed = rl_http_client_new(&o, &err);
		assert_non_null(strict);
		assert_non_null(relaxed);
		assert_int_equal(rl_http_get(strict, url(s, "http", "peer.example", "/info"), NULL, 4096, &res, &err),
				 -1);
		assert_int_equal(err.code, RL_ERR_USAGE);
		assert_non_null(strstr(err.msg, "plain http"));
		assert_int_equal(app_count(&app_state.begun), 0);
		assert_int_equal(rl_http_get(relaxed, url(s, "http", "peer.example", "/info"), NULL, 4096, &res, &err),
				 0);
		assert_int_equal(res.status, 200);
		assert_int_equal(rl_http_get(strict, url(s, "http", "127.0.0.1", "/info"), NULL, 4096, &res, &err), 0);
		assert_int_equal(rl_http_get(strict, url(s, "http", "localhost", "/info"), NULL, 4096, &res, &err), 0);
		assert_int_equal(rl_http_get(strict, "ftp://127.0.0.1/x", NULL, 4096, &res, &err), -1);
		assert_int_equal(err.code, RL_ERR_USAGE);
		assert_int_equal(rl_http_get(strict, "not a url", NULL, 4096, &res, &err), -1);
		assert_int_equal(err.code, RL_ERR_USAGE);
		rl_http_client_free(strict);
		rl_http_client_free(relaxed);
	}
	rl_http_result_free(&res);
	rl_http_server_stop(s);
}

/* A reload switches the certificate for new connections; a connection already open keeps working. */
static void test_reload_tls(void **state)
{
	struct rl_http_server *s = start_server(1, 2, 8, 10, MIB);
	struct rl_http_client *old_ca = new_client(pki("tls-ca.cert.pem"), 10);
	struct rl_http_client *new_ca = new_client(pki("tls-ca2.cert.pem"), 10);
	struct rl_http_client *old_ca_fresh;
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct rl_err err;
	const char *u = url(s, "https", "localhost", "/info");

	assert_int_equal(rl_http_get(old_ca, u, NULL, 4096, &res, &err), 0);
	assert_int_equal(rl_http_get(new_ca, u, NULL, 4096, &res, &err), -1);

	/* A key that is not the certificate's is refused and the old pair stays. */
	assert_int_equal(rl_http_server_reload_tls(s, pki("tls-server.key.pem"), pki("tls-server2.cert.pem"),
						   &err), -1);
	assert_int_equal(err.code, RL_ERR_CONFIG);
	assert_int_equal(rl_http_server_reload_tls(s, pki("missing.key.pem"), pki("tls-server2.cert.pem"),
						   &err), -1);
	assert_int_equal(err.code, RL_ERR_CONFIG);
	assert_int_equal(rl_http_get(new_ca, u, NULL, 4096, &res, &err), -1);

	assert_int_equal(rl_http_server_reload_tls(s, pki("tls-server2.key.pem"), pki("tls-server2.cert.pem"),
						   &err), 0);
	if (rl_http_get(new_ca, u, NULL, 4096, &res, &err) < 0)
		fail_msg("after reload: %s", err.msg);
	assert_int_equal(res.status, 200);
	/* The connection opened before the reload is still served. */
	assert_int_equal(rl_http_get(old_ca, u, NULL, 4096, &res, &err), 0);
	assert_int_equal(res.new_connections, 0);
	/* A new connection trusting only the old CA is not. */
	old_ca_fresh = new_client(pki("tls-ca.cert.pem"), 10);
	assert_int_equal(rl_http_get(old_ca_fresh, u, NULL, 4096, &res, &err), -1);
	assert_int_equal(err.code, RL_ERR_NETWORK);

	rl_http_result_free(&res);
	rl_http_client_free(old_ca);
	rl_http_client_free(new_ca);
	rl_http_client_free(old_ca_fresh);
	rl_http_server_stop(s);
}

/* Two requests from one client use one connection. */
static void test_connection_reuse(void **state)
{
	struct rl_http_server *s = start_server(1, 2, 8, 10, MIB);
	struct rl_http_client *c = new_client(pki("tls-ca.cert.pem"), 10);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct rl_err err;

	assert_int_equal(rl_http_get(c, url(s, "https", "localhost", "/info"), NULL, 4096, &res, &err), 0);
	assert_int_equal(res.new_connections, 1);
	assert_int_equal(rl_http_post_mem(c, url(s, "https", "localhost", "/digest"), "text/plain", "x", 1, NULL,
					  4096, &res, &err), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.new_connections, 0);
	rl_http_result_free(&res);
	rl_http_client_free(c);
	rl_http_server_stop(s);
}

struct slow_client {
	const struct rl_http_server *s;
	const char *prefix;	/* sent at once */
	const char *drip;	/* then one byte a second */
	double dropped_after;	/* seconds until the server closed; -1 = never */
};

static void *slow_client_main(void *arg)
{
	struct slow_client *sc = arg;
	int fd = raw_connect(sc->s);
	double start = now_s();
	size_t i = 0;

	sc->dropped_after = -1;
	if (*sc->prefix)
		send(fd, sc->prefix, strlen(sc->prefix), MSG_NOSIGNAL);
	while (now_s() - start < 8) {
		struct pollfd p = { fd, POLLIN, 0 };
		char b;

		if (send(fd, sc->drip + i % strlen(sc->drip), 1, MSG_NOSIGNAL) != 1 ||
		    (poll(&p, 1, 1000) == 1 && recv(fd, &b, 1, 0) <= 0)) {
			sc->dropped_after = now_s() - start;
			break;
		}
		i++;
	}
	close(fd);
	return NULL;
}

/* Clients trickling a byte a second (in the headers, in the body) are dropped after request_timeout,
 * while others are served meanwhile. */
static void test_slow_clients_dropped(void **state)
{
	struct rl_http_server *s = start_server(0, 1, 8, 2, MIB);
	struct rl_http_client *c = new_client(NULL, 5);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct rl_err err;
	struct slow_client in_headers = { s, "", "GET /info HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa", 0 };
	struct slow_client in_body = {
		s, "POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", "0123456789", 0
	};
	pthread_t t1, t2;

	pthread_create(&t1, NULL, slow_client_main, &in_headers);
	pthread_create(&t2, NULL, slow_client_main, &in_body);
	/* Others are served meanwhile, promptly, by the same single thread. */
	for (int i = 0; i < 5; i++) {
		double start = now_s();

		usleep(300 * 1000);
		start = now_s();
		assert_int_equal(rl_http_get(c, url(s, "http", "127.0.0.1", "/info"), NULL, 4096, &res, &err), 0);
		assert_int_equal(res.status, 200);
		assert_true(now_s() - start < 1.0);
	}
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_true(in_headers.dropped_after >= 1.5 && in_headers.dropped_after < 4);
	assert_true(in_body.dropped_after >= 1.5 && in_body.dropped_after < 4);
	/* The request dropped mid-body was begun and cleaned up, never finished. The server cleans up after
	 * it has closed the socket, so the client may see the close first: give it a moment. */
	for (int i = 0; i < 300 && app_count(&app_state.cleaned) < 6; i++)
		usleep(10 * 1000);
	assert_int_equal(app_count(&app_state.begun), 6);
	assert_int_equal(app_count(&app_state.finished), 5);
	assert_int_equal(app_count(&app_state.cleaned), 6);
	assert_int_equal(app_count(&app_state.completed), 5);
	rl_http_result_free(&res);
	rl_http_client_free(c);
	rl_http_server_stop(s);
}

/* Beyond max_connections new connections are refused; once one closes, requests pass again. */
static void test_connection_limit(void **state)
{
	struct rl_http_server *s = start_server(0, 1, 2, 10, MIB);
	struct rl_http_client *c = new_client(NULL, 3);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct rl_err err;
	int a = raw_connect(s), b = raw_connect(s);
	int ok = 0;

	usleep(200 * 1000);
	assert_int_equal(rl_http_get(c, url(s, "http", "127.0.0.1", "/info"), NULL, 4096, &res, &err), -1);
	assert_int_equal(err.code, RL_ERR_NETWORK);
	close(a);
	for (int i = 0; i < 20 && !ok; i++) {
		usleep(100 * 1000);
		ok = rl_http_get(c, url(s, "http", "127.0.0.1", "/info"), NULL, 4096, &res, &err) == 0;
	}
	assert_true(ok);
	assert_int_equal(res.status, 200);
	close(b);
	rl_http_result_free(&res);
	rl_http_client_free(c);
	rl_http_server_stop(s);
}

struct in_flight {
	const struct rl_http_server *s;
	long status;
	char body[128];
	int rc;
};

static void *in_flight_main(void *arg)
{
	struct in_flight *f = arg;
	struct rl_http_client *c = new_client(NULL, 10);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct rl_err err;

	f->rc = rl_http_post_mem(c, url(f->s, "http", "127.0.0.1", "/sleep"), "text/plain", "zz", 2, NULL, 4096,
				 &res, &err);
	f->status = res.status;
	snprintf(f->body, sizeof(f->body), "%s", f->rc == 0 ? (res.body.data ? res.body.data : "") : err.msg);
	rl_http_result_free(&res);
	rl_http_client_free(c);
	return NULL;
}

static void wait_begun(int n)
{
	for (int i = 0; i < 200 && app_count(&app_state.begun) < n; i++)
		usleep(10 * 1000);
	assert_int_equal(app_count(&app_state.begun), n);
}

/* Quiesce stops new connections but finishes what is in flight; stop waits for it. */
static void test_quiesce_and_stop(void **state)
{
	struct rl_http_server *s = start_server(0, 2, 8, 5, MIB);
	struct rl_http_client *c = new_client(NULL, 1);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct in_flight f = { s, 0, "", -1 };
	struct rl_err err;
	pthread_t t;
	unsigned port = rl_http_server_port(s);
	char u[128];

	pthread_create(&t, NULL, in_flight_main, &f);
	wait_begun(1);
	rl_http_server_quiesce(s);
	assert_int_equal(rl_http_get(c, url(s, "http", "127.0.0.1", "/info"), NULL, 4096, &res, &err), -1);
	assert_int_equal(err.code, RL_ERR_NETWORK);
	pthread_join(t, NULL);
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.status, 200);

	/* stop with a request in flight: it is finished before stop returns. */
	rl_http_server_stop(s);
	s = start_server(0, 2, 8, 5, MIB);
	f.s = s;
	f.rc = -1;
	pthread_create(&t, NULL, in_flight_main, &f);
	wait_begun(1);
	port = rl_http_server_port(s);
	rl_http_server_stop(s);
	assert_int_equal(app_count(&app_state.cleaned), 1);
	assert_int_equal(app_count(&app_state.completed), 1);
	pthread_join(t, NULL);
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.status, 200);
	/* The port is closed afterwards. */
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/info", port);
	assert_int_equal(rl_http_get(c, u, NULL, 4096, &res, &err), -1);
	assert_int_equal(err.code, RL_ERR_NETWORK);
	rl_http_result_free(&res);
	rl_http_client_free(c);
}

struct stopper {
	struct rl_http_server *s;
	atomic_int returned;
};

static void *stop_main(void *arg)
{
	struct stopper *st = arg;

	rl_http_server_stop(st->s);
	atomic_store(&st->returned, 1);
	return NULL;
}

/* Reads one response with a Content-Length from a raw connection into buf (NUL-terminated), waiting up
 * to 5 s. Returns its length, or -1 when the connection closed or timed out before it was whole. */
static ssize_t raw_read_response(int fd, char *buf, size_t size)
{
	size_t got = 0;
	double start = now_s();

	while (got < size - 1 && now_s() - start < 5) {
		struct pollfd p = { fd, POLLIN, 0 };
		const char *end, *cl;
		ssize_t n;

		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		cl = strcasestr(buf, "\r\nContent-Length:");
		if (end != NULL && cl != NULL && cl < end && got >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10))
			return (ssize_t)got;
		if (poll(&p, 1, 200) != 1)
			continue;
		n = recv(fd, buf + got, size - 1 - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return -1;
}

/* 1 when the peer closes a raw connection within 5 s (nothing more arrives). */
static int raw_closed(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char b;

	return poll(&p, 1, 5000) == 1 && recv(fd, &b, 1, 0) <= 0;
}

/* While stop waits for a request in flight, further requests on open (idle, kept-alive) connections are
 * answered 503 with Connection: close; connections left idle are closed once the drain is over. */
static void test_stop_answers_503(void **state)
{
	struct rl_http_server *s = start_server(0, 2, 8, 15, MIB);
	struct rl_http_client *c = new_client(NULL, 5);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct in_flight f = { s, 0, "", -1 };
	struct stopper st = { s, 0 };
	struct rl_err err;
	pthread_t t, stopping;
	const char *get = "GET /info HTTP/1.1\r\nHost: x\r\n\r\n";
	int raw = raw_connect(s), idle = raw_connect(s);
	char u[128], answer[4096];

	snprintf(u, sizeof(u), "%s", url(s, "http", "127.0.0.1", "/info"));
	assert_int_equal(rl_http_get(c, u, NULL, 4096, &res, &err), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(send(raw, get, strlen(get), MSG_NOSIGNAL), (ssize_t)strlen(get));
	assert_true(raw_read_response(raw, answer, sizeof(answer)) > 0);
	assert_int_equal(strncmp(answer, "HTTP/1.1 200 ", 13), 0);
	assert_int_equal(send(idle, get, strlen(get), MSG_NOSIGNAL), (ssize_t)strlen(get));
	assert_true(raw_read_response(idle, answer, sizeof(answer)) > 0);
	pthread_create(&t, NULL, in_flight_main, &f);
	wait_begun(4);
	pthread_create(&stopping, NULL, stop_main, &st);
	usleep(300 * 1000);

	/* Requests on the open connections are refused with 503, on the same connection, which is then
	 * closed; the stop is still waiting for the request in flight. */
	if (rl_http_get(c, u, NULL, 4096, &res, &err) < 0)
		fail_msg("a request during the stop: %s", err.msg);
	assert_int_equal(res.status, 503);
	assert_int_equal(res.new_connections, 0);
	assert_string_equal(res.body.data, "server shutting down\n");
	assert_int_equal(send(raw, get, strlen(get), MSG_NOSIGNAL), (ssize_t)strlen(get));
	if (raw_read_response(raw, answer, sizeof(answer)) < 0)
		fail_msg("no answer on the idle connection during the stop");
	assert_int_equal(strncmp(answer, "HTTP/1.1 503 ", 13), 0);
	assert_non_null(strcasestr(answer, "\r\nConnection: close\r\n"));
	assert_true(raw_closed(raw));
	assert_int_equal(atomic_load(&st.returned), 0);

	/* The connection that stayed idle is closed when the drain is over. */
	assert_true(raw_closed(idle));
	pthread_join(stopping, NULL);
	pthread_join(t, NULL);
	close(raw);
	close(idle);
	if (f.rc != 0)
		print_message("the request in flight failed: %s\n", f.body);
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.status, 200);
	assert_int_equal(app_count(&app_state.begun), 4);
	assert_int_equal(app_count(&app_state.cleaned), 4);
	rl_http_result_free(&res);
	rl_http_client_free(c);
}

/* An IPv6 listen address (when the host has IPv6 loopback). */
static void test_ipv6(void **state)
{
	struct rl_http_server_opts o = { 0 };
	struct rl_http_server *s;
	struct rl_http_client *c = new_client(NULL, 5);
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct rl_err err;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		rl_http_client_free(c);
		skip();
	}
	close(fd);
	o.host = "::1";
	s = rl_http_server_start(&o, &handler, &err);
	if (s == NULL)
		fail_msg("server on ::1: %s", err.msg);
	app_reset();
	assert_int_equal(rl_http_get(c, url(s, "http", "[::1]", "/info"), NULL, 4096, &res, &err), 0);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(res.body.data, "remote=::1"));
	rl_http_result_free(&res);
	rl_http_client_free(c);
	rl_http_server_stop(s);
}

/* Bad options are refused with a clear error. */
static void test_bad_options(void **state)
{
	struct rl_http_server_opts o = { 0 };
	struct rl_err err;

	o.host = "127.0.0.1";
	o.threads = 4;
	o.max_connections = 2;
	assert_null(rl_http_server_start(&o, &handler, &err));
	assert_int_equal(err.code, RL_ERR_CONFIG);
	o.max_connections = 0;
	o.tls = 1;
	o.tls_key_path = pki("tls-server.key.pem");
	o.tls_cert_path = pki("missing.cert.pem");
	assert_null(rl_http_server_start(&o, &handler, &err));
	assert_int_equal(err.code, RL_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "missing.cert.pem"));
	o.tls = 0;
	o.host = "no-such-host.invalid";
	assert_null(rl_http_server_start(&o, &handler, &err));
	assert_int_equal(err.code, RL_ERR_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_streamed),
		cmocka_unit_test(test_request_fields_and_responses),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_too_large_chunked_tls),
		cmocka_unit_test(test_endless_chunked_body),
		cmocka_unit_test(test_tls_and_plain_http_policy),
		cmocka_unit_test(test_reload_tls),
		cmocka_unit_test(test_connection_reuse),
		cmocka_unit_test(test_slow_clients_dropped),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_quiesce_and_stop),
		cmocka_unit_test(test_stop_answers_503),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_bad_options),
	};
	struct rl_err err;
	int failed;

	unit_pki_init();
	pthread_mutex_init(&app_state.lock, NULL);
	if (rl_init(&err) < 0) {
		fprintf(stderr, "rl_init: %s\n", err.msg);
		return 1;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	rl_shutdown();
	return failed;
}

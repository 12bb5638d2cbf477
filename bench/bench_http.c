/*
 * bench_http.c - HTTP server and client over loopback: small POSTs on one kept-alive connection and from
 * several threads at once, then one large streamed POST; plain HTTP and HTTPS. Prints requests/s, MB/s
 * and peak resident memory (which stays far below the large body: neither side holds it).
 * Usage: bench_http PKI_DIR [count] [large_mb]   (PKI_DIR from certs/make-test-pki.sh)
 */
#include "config.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "relais/cli.h"
#include "relais/http_client.h"
#include "relais/http_server.h"
#include "bench_util.h"

#define SMALL_BODY 5000
#define THREADS 4



/* The server side counts the body bytes and answers with the count. */
static void *count_begin(void *app, const struct rl_http_request *r)
{
	return calloc(1, sizeof(uint64_t));
}

static int count_body(void *ctx, const void *data, size_t len)
{
	*(uint64_t *)ctx += len;
	return 0;
}

static void count_finish(void *ctx, enum rl_http_body_end how, struct rl_http_response *resp)
{
	resp->status = how == RL_HTTP_BODY_COMPLETE ? 200 : 413;
	rl_buf_printf(&resp->body, "%llu", (unsigned long long)*(uint64_t *)ctx);
}

static void count_cleanup(void *ctx, int completed)
{
	free(ctx);
}

static const struct rl_http_handler counter = {
	NULL, count_begin, count_body, count_finish, count_cleanup
};

struct run {
	const char *url;
	const char *anchors;
	int count;
	int failures;
};

static void *post_small(void *arg)
{
	struct run *r = arg;
	struct rl_http_client_opts o = { r->anchors, 0, 5, 60, NULL, NULL };
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct rl_err err;
	struct rl_http_client *c = rl_http_client_new(&o, &err);
	static char body[SMALL_BODY];

	memset(body, 'x', sizeof(body));
	for (int i = 0; c != NULL && i < r->count; i++)
		if (rl_http_post_mem(c, r->url, "application/octet-stream", body, sizeof(body), NULL, 1024, &res,
				     &err) < 0 || res.status != 200)
			r->failures++;
	rl_http_result_free(&res);
	rl_http_client_free(c);
	return NULL;
}

static int bench(const char *pki, int tls, int count, int large_mb)
{
	char key[1200], cert[1200], anchors[1200], url[256];
	struct rl_http_server_opts so = { 0 };
	struct rl_http_server *s;
	struct run runs[THREADS];
	pthread_t threads[THREADS];
	struct rl_err err;
	double t0, dt;
	int failures = 0;

	snprintf(key, sizeof(key), "%s/tls-server.key.pem", pki);
	snprintf(cert, sizeof(cert), "%s/tls-server.cert.pem", pki);
	snprintf(anchors, sizeof(anchors), "%s/tls-ca.cert.pem", pki);
	so.host = "127.0.0.1";
	so.tls = tls;
	so.tls_key_path = key;
	so.tls_cert_path = cert;
	so.max_body = (uint64_t)(large_mb + 1) * 1024 * 1024;
	s = rl_http_server_start(&so, &counter, &err);
	if (s == NULL) {
		fprintf(stderr, "server: %s\n", err.msg);
		return -1;
	}
	snprintf(url, sizeof(url), "%s://localhost:%u/bench", tls ? "https" : "http", rl_http_server_port(s));

	/* One client, one kept-alive connection. */
	runs[0] = (struct run){ url, anchors, count, 0 };
	t0 = bench_now();
	post_small(&runs[0]);
	dt = bench_now() - t0;
	printf("%-5s %d POSTs of %d bytes, one connection:  %8.0f requests/s  (%d failed)\n",
	       tls ? "https" : "http", count, SMALL_BODY, count / dt, runs[0].failures);
	failures += runs[0].failures;

	/* Several clients at once. */
	t0 = bench_now();
	for (int i = 0; i < THREADS; i++) {
		runs[i] = (struct run){ url, anchors, count / THREADS, 0 };
		pthread_create(&threads[i], NULL, post_small, &runs[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		failures += runs[i].failures;
	}
	dt = bench_now() - t0;
	printf("%-5s %d POSTs of %d bytes, %d threads:      %8.0f requests/s\n", tls ? "https" : "http",
	       count / THREADS * THREADS, SMALL_BODY, THREADS, (count / THREADS * THREADS) / dt);

	/* One large body streamed from a file. */
	if (large_mb > 0) {
		struct rl_http_client_opts o = { anchors, 0, 5, 600, NULL, NULL };
		struct rl_http_client *c = rl_http_client_new(&o, &err);
		struct rl_http_result res = RL_HTTP_RESULT_INIT;
		FILE *fp = tmpfile();
		char chunk[65536];
		uint64_t size = (uint64_t)large_mb * 1024 * 1024;
		long rss_before;

		memset(chunk, 'y', sizeof(chunk));
		for (uint64_t left = size; fp != NULL && left > 0; left -= sizeof(chunk))
			fwrite(chunk, 1, sizeof(chunk), fp);
		if (fp == NULL || c == NULL) {
			fprintf(stderr, "large body set-up failed\n");
			return -1;
		}
		rewind(fp);
		rss_before = bench_peak_rss_kib();
		t0 = bench_now();
		if (rl_http_post_file(c, url, "application/octet-stream", fp, size, NULL, 1024, &res, &err) < 0 ||
		    res.status != 200 || strtoull(res.body.data, NULL, 10) != size) {
			fprintf(stderr, "large POST: %s\n", err.msg);
			failures++;
		}
		dt = bench_now() - t0;
		printf("%-5s one POST of %d MB:                     %8.1f MB/s, peak RSS grew by %ld KiB\n",
		       tls ? "https" : "http", large_mb, large_mb / dt, bench_peak_rss_kib() - rss_before);
		fclose(fp);
		rl_http_result_free(&res);
		rl_http_client_free(c);
	}
	rl_http_server_stop(s);
	return failures ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct rl_err err;
	int count = argc > 2 ? atoi(argv[2]) : 2000;
	int large_mb = argc > 3 ? atoi(argv[3]) : 200;
	int rc = 0;

	if (argc < 2 || count < THREADS || large_mb < 0) {
		fprintf(stderr, "usage: bench_http PKI_DIR [count] [large_mb]\n");
		return 2;
	}
	if (rl_init(&err) < 0) {
		fprintf(stderr, "init: %s\n", err.msg);
		return 1;
	}
	if (bench(argv[1], 0, count, large_mb) < 0 || bench(argv[1], 1, count, large_mb) < 0)
		rc = 1;
	printf("peak resident memory: %ld KiB\n", bench_peak_rss_kib());
	rl_shutdown();
	return rc;
}

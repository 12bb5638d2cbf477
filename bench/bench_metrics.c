/*
 * bench_metrics.c - what counting costs the daemon's threads: each of THREADS threads counts COUNT
 * received messages the way `relais serve` does (an inbound outcome with its duration, a backend
 * delivery, an HTTP response), all at once on the same counters; then one scrape is rendered. Prints
 * nanoseconds per message counted and per scrape.
 * Usage: bench_metrics [threads] [count]
 */
#include "config.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "relais/metrics.h"
#include "bench_util.h"

static long count = 1000000;

static void *count_messages(void *arg)
{
	for (long i = 0; i < count; i++) {
		struct timespec started = rl_metrics_now();

		rl_metrics_inbound(RL_METRICS_IN_ACCEPTED, 0, &started);
		rl_metrics_delivery(RL_METRICS_INBOX, RL_METRICS_DELIVERED);
		rl_metrics_http_response(200);
	}
	return arg;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	struct rl_metrics_state state = { 0 };
	struct rl_buf text = RL_BUF_INIT;
	pthread_t *t;
	double start, counting, scrape;
	int scrapes = 1000;

	if (argc > 2)
		count = atol(argv[2]);
	if (threads < 1 || threads > 256 || count < 1) {
		fprintf(stderr, "usage: bench_metrics [threads 1..256] [count]\n");
		return 2;
	}
	t = calloc((size_t)threads, sizeof(*t));
	if (t == NULL)
		return 1;
	start = bench_now();
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, count_messages, NULL) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	counting = bench_now() - start;

	state.now = time(NULL);
	state.started_at = state.now - 1;
	state.resident_bytes = rl_metrics_resident_bytes();
	start = bench_now();
	for (int i = 0; i < scrapes; i++) {
		rl_buf_reset(&text);
		if (rl_metrics_render(&state, &text) < 0)
			return 1;
	}
	scrape = (bench_now() - start) / scrapes;
	printf("counting: %d threads x %ld messages, %.1f ns per message (wall clock, all threads at once; "
	       "two monotonic clock reads and five atomic additions each)\n",
	       threads, count, counting * 1e9 / (double)count);
	printf("scrape: %zu bytes rendered in %.1f us\n", text.len, scrape * 1e6);
	rl_buf_free(&text);
	free(t);
	return 0;
}

/*
 * bench_store.c - store throughput: with THREADS connections at once, commits COUNT inbound messages
 * (5 KB payload, one inbox delivery each) and takes their deliveries to done, then submits COUNT
 * outbound messages and takes each through claim and delivered. The envelopes and receipts are as large,
 * and compress as badly, as the daemon's (10 KB and 6 KB, half of it random as signatures, certificates and
 * ciphertext are). Prints operations per second and the machine's CPU time per operation (every process:
 * the server and this client; run it on a quiet machine).
 * Usage: bench_store CONNINFO [count] [threads]    (bench/bench_store.sh runs it on a private cluster)
 */
#include "config.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "relais/store.h"
#include "bench_util.h"

#define PAYLOAD_SIZE 5000
#define ENVELOPE_SIZE 10000
#define RECEIPT_SIZE 5800

static char envelope[ENVELOPE_SIZE], receipt[RECEIPT_SIZE];

enum phase { INBOUND_COMMIT, DELIVERY, SUBMIT, SEND, NPHASES };

static const char *const phase_names[NPHASES] = {
	"inbound commit (5 KB payload)", "delivery claim + done", "outbound submit (5 KB payload)",
	"outbound claim + delivered",
};

struct worker {
	const char *conninfo;
	int index, count;
	long run;
	enum phase phase;
	int done;
	char error[RL_ERR_MSG_MAX];
};


static FILE *payload_file(void)
{
	FILE *fp = tmpfile();

	for (int i = 0; fp != NULL && i < PAYLOAD_SIZE; i++)
		fputc("<Invoice>0123456789</Invoice>\n"[i % 30], fp);
	return fp;
}

/* XML text for the first half, random bytes for the second. */
static void evidence_fill(char *buf, size_t len)
{
	static const char text[] = "<ds:Reference URI=\"#id-1\"><ds:Transforms><ds:Transform Algorithm=\"http://"
				   "www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms></ds:Reference>";

	for (size_t i = 0; i < len; i++)
		buf[i] = i < len / 2 ? text[i % (sizeof(text) - 1)] : (char)(rand() & 0xff);
}

/* CPU time of the whole machine (user, nice, system, irq, softirq), seconds. */
static double machine_cpu_seconds(void)
{
	unsigned long long user, nice, sys, idle, iowait, irq, softirq;
	FILE *fp = fopen("/proc/stat", "r");
	int n = fp ? fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait, &irq,
			    &softirq) : 0;

	if (fp)
		fclose(fp);
	return n == 7 ? (double)(user + nice + sys + irq + softirq) / (double)sysconf(_SC_CLK_TCK) : 0;
}

static int one(struct rl_store *s, struct worker *w, int i, FILE *payload, struct rl_err *err)
{
	char mid[96];
	int64_t id;

	snprintf(mid, sizeof(mid), "bench-%ld-%d-%d@relais", w->run, w->index, i);
	rewind(payload);
	switch (w->phase) {
	case INBOUND_COMMIT: {
		struct rl_store_inbound in = { .message_id = mid, .payload = payload,
					       .payload_mime_type = "application/xml", .envelope = envelope,
					       .envelope_len = sizeof(envelope), .receipt = receipt,
					       .receipt_len = sizeof(receipt), .receipt_message_id = "r@relais", .deliver_inbox = 1 };

		return rl_store_inbound_commit(s, &in, &id, NULL, err) == 0 ? 1 : -1;
	}
	case DELIVERY: {
		struct rl_store_delivery d;
		int rc = rl_store_delivery_claim(s, "bench", 300, &d, err);

		if (rc == 1) {
			rc = rl_store_delivery_done(s, &d, err) < 0 ? -1 : 1;
			rl_store_delivery_free(&d);
		}
		return rc;
	}
	case SUBMIT: {
		struct rl_store_submission sub = { .message_id = mid, .payload = payload, .source = "bench",
						   .dest_url = "https://ap.example/as4" };
		char *assigned = NULL;
		int rc = rl_store_outbound_submit(s, &sub, &id, &assigned, err);

		free(assigned);
		return rc == 0 ? 1 : -1;
	}
	case SEND: {
		struct rl_store_message m;
		int rc = rl_store_outbound_claim(s, "bench", 300, &m, err);

		if (rc == 1) {
			rc = rl_store_outbound_delivered(s, m.id, receipt, sizeof(receipt), "r@peer", envelope,
							 sizeof(envelope), err) < 0 ? -1 : 1;
			rl_store_message_free(&m);
		}
		return rc;
	}
	default:
		return -1;
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct rl_store *s = NULL;
	struct rl_err err = { 0 };
	FILE *payload = payload_file();

	if (payload == NULL || rl_store_open(w->conninfo, &s, &err) < 0) {
		snprintf(w->error, sizeof(w->error), "%s", payload ? err.msg : "tmpfile failed");
		goto out;
	}
	for (int i = 0; i < w->count; i++) {
		int rc = one(s, w, i, payload, &err);

		if (rc < 0) {
			snprintf(w->error, sizeof(w->error), "%s", err.msg);
			break;
		}
		if (rc == 0)	/* nothing left to take */
			break;
		w->done++;
	}
out:
	if (payload)
		fclose(payload);
	rl_store_close(s);
	return NULL;
}

int main(int argc, char **argv)
{
	struct rl_store *s = NULL;
	struct rl_err err = { 0 };
	int count = argc > 2 ? atoi(argv[2]) : 2000, threads = argc > 3 ? atoi(argv[3]) : 4;
	long run = (long)time(NULL) * 1000 + getpid() % 1000;

	if (argc < 2 || count <= 0 || threads <= 0 || threads > 64) {
		fprintf(stderr, "usage: bench_store CONNINFO [count] [threads]\n");
		return 2;
	}
	if (rl_store_open(argv[1], &s, &err) < 0 || rl_store_migrate(s, NULL, &err) < 0) {
		fprintf(stderr, "bench_store: %s\n", err.msg);
		return 1;
	}
	rl_store_close(s);
	evidence_fill(envelope, sizeof(envelope));
	evidence_fill(receipt, sizeof(receipt));
	printf("%d messages, %d connections\n", count, threads);
	for (int p = 0; p < NPHASES; p++) {
		struct worker w[64];
		pthread_t t[64];
		double t0 = bench_now(), cpu0 = machine_cpu_seconds(), seconds, cpu;
		int total = 0;

		for (int i = 0; i < threads; i++) {
			w[i] = (struct worker){ .conninfo = argv[1], .index = i, .run = run, .phase = (enum phase)p,
						.count = count / threads + (i < count % threads) };
			pthread_create(&t[i], NULL, work, &w[i]);
		}
		for (int i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			total += w[i].done;
			if (w[i].error[0]) {
				fprintf(stderr, "bench_store: %s: %s\n", phase_names[p], w[i].error);
				return 1;
			}
		}
		seconds = bench_now() - t0;
		cpu = machine_cpu_seconds() - cpu0;
		printf("%-34s %6d in %6.2f s: %8.0f /s, machine CPU %.3f ms each\n", phase_names[p], total, seconds,
		       total / seconds, total ? cpu * 1000 / total : 0);
	}
	return 0;
}

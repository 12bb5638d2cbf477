/*
 * metrics.c - process-wide counters and histograms of `relais serve`, and their Prometheus exposition
 * text. See include/relais/metrics.h.
 *
 * Every number is an atomic 64-bit counter, added to with relaxed ordering: counting needs no order
 * between threads, only that no addition is lost. Durations are counted in nanoseconds and bucket
 * bounds are kept in nanoseconds beside their text, so neither counting nor rendering uses floating
 * point (nor depends on the locale). Histogram buckets count each observation once (the bucket it falls
 * in); the cumulative counts of the exposition format are summed when rendering.
 */
#include "config.h"
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "relais/err.h"
#include "relais/metrics.h"

#define NS_PER_S 1000000000ULL

/* The ebMS codes a refusal is counted under; anything else is counted as EBMS:0004 (Other). */
static const int refusal_codes[] = {
	RL_EBMS_VALUE_NOT_RECOGNIZED, RL_EBMS_FEATURE_NOT_SUPPORTED, RL_EBMS_VALUE_INCONSISTENT, RL_EBMS_OTHER,
	RL_EBMS_CONNECTION_FAILURE, RL_EBMS_EMPTY_MPC, RL_EBMS_MIME_INCONSISTENCY,
	RL_EBMS_FEATURE_NOT_SUPPORTED_UNPACKAGING, RL_EBMS_INVALID_HEADER, RL_EBMS_PMODE_MISMATCH,
	RL_EBMS_EXTERNAL_PAYLOAD_ERROR, RL_EBMS_FAILED_AUTHENTICATION, RL_EBMS_FAILED_DECRYPTION,
	RL_EBMS_POLICY_NONCOMPLIANCE, RL_EBMS_DYSFUNCTIONAL_RELIABILITY, RL_EBMS_DELIVERY_FAILURE,
	RL_EBMS_MISSING_RECEIPT, RL_EBMS_INVALID_RECEIPT, RL_EBMS_DECOMPRESSION_FAILURE
};
#define NCODES (sizeof(refusal_codes) / sizeof(refusal_codes[0]))

/* Upper bounds of the duration buckets (both histograms), from 5 ms to a minute. */
static const struct bound {
	uint64_t ns;
	const char *text;
} bounds[] = {
	{ 5000000ULL, "0.005" }, { 10000000ULL, "0.01" }, { 25000000ULL, "0.025" }, { 50000000ULL, "0.05" },
	{ 100000000ULL, "0.1" }, { 250000000ULL, "0.25" }, { 500000000ULL, "0.5" }, { NS_PER_S, "1" },
	{ 2500000000ULL, "2.5" }, { 5 * NS_PER_S, "5" }, { 10 * NS_PER_S, "10" }, { 30 * NS_PER_S, "30" },
	{ 60 * NS_PER_S, "60" }
};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct histogram {
	atomic_ullong buckets[NBOUNDS + 1];	/* the last one: above every bound (+Inf) */
	atomic_ullong sum_ns;
};

static struct {
	atomic_ullong inbound[2];		/* accepted, duplicate */
	atomic_ullong refused[NCODES];
	atomic_ullong outbound[3];		/* by enum rl_metrics_outcome */
	atomic_ullong delivery[2][3];		/* by channel, outcome */
	atomic_ullong http[5];			/* 1xx .. 5xx */
	atomic_ullong purged[2];		/* by direction: inbound, outbound */
	struct histogram inbound_seconds, outbound_seconds;
} m;

static const char *const outcome_names[3] = { "delivered", "retry", "failed" };
static const char *const channel_names[2] = { "inbox", "webhook" };

static void add(atomic_ullong *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static unsigned long long get(atomic_ullong *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

struct timespec rl_metrics_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static void observe_since(struct histogram *h, const struct timespec *started)
{
	struct timespec now = rl_metrics_now();
	long long ns = (long long)(now.tv_sec - started->tv_sec) * (long long)NS_PER_S +
		     (now.tv_nsec - started->tv_nsec);
	size_t i = 0;

	if (ns < 0)
		ns = 0;
	while (i < NBOUNDS && (uint64_t)ns > bounds[i].ns)
		i++;
	add(&h->buckets[i]);
	atomic_fetch_add_explicit(&h->sum_ns, (unsigned long long)ns, memory_order_relaxed);
}

void rl_metrics_inbound(enum rl_metrics_inbound_outcome outcome, int code, const struct timespec *started)
{
	if (outcome == RL_METRICS_IN_REFUSED) {
		size_t i = 0;

		while (i < NCODES && refusal_codes[i] != code)
			i++;
		if (i == NCODES)
			for (i = 0; refusal_codes[i] != RL_EBMS_OTHER; i++)
				;
		add(&m.refused[i]);
		return;
	}
	add(&m.inbound[outcome == RL_METRICS_IN_DUPLICATE]);
	if (started)
		observe_since(&m.inbound_seconds, started);
}

void rl_metrics_outbound(enum rl_metrics_outcome outcome, const struct timespec *started)
{
	add(&m.outbound[outcome]);
	if (outcome == RL_METRICS_DELIVERED && started)
		observe_since(&m.outbound_seconds, started);
}

void rl_metrics_delivery(enum rl_metrics_channel channel, enum rl_metrics_outcome outcome)
{
	add(&m.delivery[channel][outcome]);
}

void rl_metrics_purged(long long inbound, long long outbound)
{
	if (inbound > 0)
		atomic_fetch_add_explicit(&m.purged[0], (unsigned long long)inbound, memory_order_relaxed);
	if (outbound > 0)
		atomic_fetch_add_explicit(&m.purged[1], (unsigned long long)outbound, memory_order_relaxed);
}

void rl_metrics_http_response(int status)
{
	if (status >= 100 && status <= 599)
		add(&m.http[status / 100 - 1]);
}

/* m holds nothing but atomic_ullong counters, one after the other. */
void rl_metrics_reset(void)
{
	atomic_ullong *all = (atomic_ullong *)&m;

	for (size_t i = 0; i < sizeof(m) / sizeof(atomic_ullong); i++)
		atomic_store_explicit(&all[i], 0, memory_order_relaxed);
}

long long rl_metrics_resident_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long long size, resident = -1;
	long page = sysconf(_SC_PAGESIZE);

	if (fp == NULL)
		return -1;
	if (fscanf(fp, "%lld %lld", &size, &resident) != 2 || page <= 0)
		resident = -1;
	fclose(fp);
	return resident < 0 ? -1 : resident * page;
}

/* ---------------------------------------------------------------- exposition text */

/* The text being written; failed once any write ran out of memory. */
struct text {
	struct rl_buf *b;
	int failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (rl_buf_vprintf(t->b, fmt, ap) < 0)
		t->failed = 1;
	va_end(ap);
}

/* The # HELP and # TYPE lines of a metric family. */
static void family(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value between quotes: backslash, double quote and line feed escaped. */
static void label_value(struct text *t, const char *value)
{
	put(t, "\"");
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			put(t, "\\\\");
		else if (*p == '"')
			put(t, "\\\"");
		else if (*p == '\n')
			put(t, "\\n");
		else
			put(t, "%c", *p);
	}
	put(t, "\"");
}

/* One line: name, labels (NULL = none) and value. */
static void sample(struct text *t, const char *name, const char *labels, long long value)
{
	if (labels)
		put(t, "%s{%s} %lld\n", name, labels, value);
	else
		put(t, "%s %lld\n", name, value);
}

static void counter(struct text *t, const char *name, const char *labels, atomic_ullong *value)
{
	if (labels)
		put(t, "%s{%s} %llu\n", name, labels, get(value));
	else
		put(t, "%s %llu\n", name, get(value));
}

static void histogram(struct text *t, const char *name, const char *help, struct histogram *h)
{
	unsigned long long cumulative = 0, sum_ns = get(&h->sum_ns);

	family(t, name, "histogram", help);
	for (size_t i = 0; i <= NBOUNDS; i++) {
		cumulative += get(&h->buckets[i]);
		put(t, "%s_bucket{le=\"%s\"} %llu\n", name, i < NBOUNDS ? bounds[i].text : "+Inf", cumulative);
	}
	put(t, "%s_sum %llu.%09llu\n", name, sum_ns / NS_PER_S, sum_ns % NS_PER_S);
	put(t, "%s_count %llu\n", name, cumulative);
}

static void render_events(struct text *t)
{
	char labels[64];

	family(t, "relais_inbound_requests_total", "counter",
	       "AS4 messages received, by outcome; refusals by the ebMS error code answered.");
	counter(t, "relais_inbound_requests_total", "outcome=\"accepted\"", &m.inbound[0]);
	counter(t, "relais_inbound_requests_total", "outcome=\"duplicate\"", &m.inbound[1]);
	for (size_t i = 0; i < NCODES; i++) {
		snprintf(labels, sizeof(labels), "outcome=\"refused\",code=\"%s\"", rl_err_code_str(refusal_codes[i]));
		counter(t, "relais_inbound_requests_total", labels, &m.refused[i]);
	}
	histogram(t, "relais_inbound_processing_seconds",
		  "Time from the arrival of an AS4 request until its receipt was answered (accepted and duplicates).",
		  &m.inbound_seconds);

	family(t, "relais_outbound_attempts_total", "counter", "Sending attempts of queued messages, by outcome.");
	for (size_t i = 0; i < 3; i++) {
		snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcome_names[i]);
		counter(t, "relais_outbound_attempts_total", labels, &m.outbound[i]);
	}
	histogram(t, "relais_outbound_send_seconds",
		  "Time from taking a queued message until its receipt was verified and stored.", &m.outbound_seconds);

	family(t, "relais_backend_deliveries_total", "counter",
	       "Attempts to deliver received messages to the backend, by channel and outcome.");
	for (size_t c = 0; c < 2; c++)
		for (size_t i = 0; i < 3; i++) {
			snprintf(labels, sizeof(labels), "channel=\"%s\",outcome=\"%s\"", channel_names[c],
				 outcome_names[i]);
			counter(t, "relais_backend_deliveries_total", labels, &m.delivery[c][i]);
		}

	family(t, "relais_http_responses_total", "counter",
	       "HTTP responses (AS4 endpoint, API, metrics), by status class.");
	for (size_t i = 0; i < 5; i++) {
		snprintf(labels, sizeof(labels), "class=\"%zuxx\"", i + 1);
		counter(t, "relais_http_responses_total", labels, &m.http[i]);
	}

	family(t, "relais_purged_messages_total", "counter",
	       "Finished messages removed by the retention purge (retention.keep), by direction.");
	counter(t, "relais_purged_messages_total", "direction=\"inbound\"", &m.purged[0]);
	counter(t, "relais_purged_messages_total", "direction=\"outbound\"", &m.purged[1]);
}

static void render_store(struct text *t, const struct rl_store_stats *st)
{
	family(t, "relais_database_up", "gauge", "1 when the database answered this scrape, else 0.");
	sample(t, "relais_database_up", NULL, st != NULL);
	if (st == NULL)
		return;
	family(t, "relais_outbound_messages", "gauge", "Outbound messages in the store, by state.");
	sample(t, "relais_outbound_messages", "state=\"queued\"", st->out_queued);
	sample(t, "relais_outbound_messages", "state=\"sending\"", st->out_sending);
	sample(t, "relais_outbound_messages", "state=\"retry\"", st->out_retry);
	sample(t, "relais_outbound_messages", "state=\"delivered\"", st->out_delivered);
	sample(t, "relais_outbound_messages", "state=\"failed\"", st->out_failed);
	family(t, "relais_inbound_messages", "gauge", "Inbound messages in the store, by state.");
	sample(t, "relais_inbound_messages", "state=\"received\"", st->in_received);
	sample(t, "relais_inbound_messages", "state=\"delivered\"", st->in_delivered);
	sample(t, "relais_inbound_messages", "state=\"failed\"", st->in_failed);
	family(t, "relais_backend_deliveries_pending", "gauge", "Backend deliveries not yet done.");
	sample(t, "relais_backend_deliveries_pending", NULL, st->deliveries_pending);
	family(t, "relais_circuits_open", "gauge", "Destinations paused after repeated connection failures.");
	sample(t, "relais_circuits_open", NULL, st->circuits_open);
}

static void render_state(struct text *t, const struct rl_metrics_state *s)
{
	if (s->version) {
		family(t, "relais_build_info", "gauge", "Always 1; the labels tell the version and the party id.");
		put(t, "relais_build_info{version=");
		label_value(t, s->version);
		put(t, ",party_id=");
		label_value(t, s->party_id ? s->party_id : "");
		put(t, "} 1\n");
	}
	if (s->started_at > 0) {
		family(t, "relais_process_start_time_seconds", "gauge",
		       "When the process started, in seconds since the epoch.");
		sample(t, "relais_process_start_time_seconds", NULL, (long long)s->started_at);
		family(t, "relais_uptime_seconds", "gauge", "Seconds since the process started.");
		sample(t, "relais_uptime_seconds", NULL, (long long)(s->now - s->started_at));
	}
	if (s->resident_bytes >= 0) {
		family(t, "relais_process_resident_memory_bytes", "gauge", "Resident memory of the process.");
		sample(t, "relais_process_resident_memory_bytes", NULL, s->resident_bytes);
	}
	render_store(t, s->stats);
	if (s->has_certificate) {
		family(t, "relais_signing_certificate_remaining_seconds", "gauge",
		       "Seconds until the signing certificate expires (negative once expired).");
		sample(t, "relais_signing_certificate_remaining_seconds", NULL, s->certificate_seconds_left);
	}
	if (s->has_revocation) {
		family(t, "relais_revocation_responders", "gauge",
		       "OCSP responders and CRL distribution points asked so far, by whether the last request "
		       "was answered.");
		sample(t, "relais_revocation_responders", "state=\"reachable\"", s->responders_reachable);
		sample(t, "relais_revocation_responders", "state=\"unreachable\"", s->responders_unreachable);
		if (s->newest_revocation_answer > 0) {
			family(t, "relais_revocation_newest_answer_age_seconds", "gauge",
			       "Seconds since the newest revocation answer (good or revoked) about a certificate.");
			sample(t, "relais_revocation_newest_answer_age_seconds", NULL,
			       (long long)(s->now - s->newest_revocation_answer));
		}
		for (size_t i = 0, shown = 0; i < s->ncrls; i++) {
			if (s->crls[i].next_update == 0)
				continue;
			if (shown++ == 0)
				family(t, "relais_revocation_crl_next_update_seconds", "gauge",
				       "Seconds until a CRL file of trust.crls is due for renewal (its nextUpdate); "
				       "negative once it is out of date and no longer answers.");
			put(t, "relais_revocation_crl_next_update_seconds{file=");
			label_value(t, s->crls[i].file);
			put(t, ",issuer=");
			label_value(t, s->crls[i].issuer_cn);
			put(t, "} %lld\n", (long long)(s->crls[i].next_update - s->now));
		}
	}
}

int rl_metrics_render(const struct rl_metrics_state *state, struct rl_buf *out)
{
	struct text t = { out, 0 };

	render_events(&t);
	render_state(&t, state);
	return t.failed ? -1 : 0;
}

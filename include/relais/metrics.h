/*
 * metrics.h - what `relais serve` has done since it started, for a monitoring system to scrape
 * (GET /metrics, Prometheus text exposition format 0.0.4).
 *
 * Two kinds of numbers:
 *   - events, counted by the daemon's threads as they happen (rl_metrics_inbound() and the others
 *     below): process-wide counters and histograms kept in C11 atomics, so counting takes no lock and
 *     allocates nothing; a few relaxed atomic additions per message;
 *   - state, read when a scrape comes (struct rl_metrics_state): queue depths from the store, the
 *     signing certificate's expiry, memory, revocation responders. The caller fills it.
 * rl_metrics_render() writes both as exposition text. Metric names and labels are fixed here; no label
 * takes a value from a message (no MessageIds, no peer URLs), so the number of series is bounded.
 *
 * Threads: every function may be called from any thread at any time. A scrape reads each number once
 * without stopping the counting, so numbers counted during a scrape may show in one metric and not yet in
 * another; a histogram's _count is always the sum of its buckets.
 */
#ifndef RELAIS_METRICS_H
#define RELAIS_METRICS_H

#include <time.h>
#include "relais/buf.h"
#include "relais/revocation.h"
#include "relais/store.h"

/* How an inbound AS4 request ended (relais_inbound_requests_total). */
enum rl_metrics_inbound_outcome {
	RL_METRICS_IN_ACCEPTED,		/* committed and answered with its receipt */
	RL_METRICS_IN_DUPLICATE,	/* a MessageId received before: answered with the first receipt */
	RL_METRICS_IN_REFUSED		/* answered with an error signal */
};

/* How a sending attempt or a backend delivery attempt ended. */
enum rl_metrics_outcome {
	RL_METRICS_DELIVERED,
	RL_METRICS_RETRY,		/* another attempt follows */
	RL_METRICS_FAILED		/* given up */
};

enum rl_metrics_channel {
	RL_METRICS_INBOX,
	RL_METRICS_WEBHOOK
};

/* A moment for measuring durations (CLOCK_MONOTONIC). */
struct timespec rl_metrics_now(void);

/* An inbound request ended. code: for REFUSED, the error code of the signal answered (an ebMS code; any
 * other code counts as EBMS:0004, as the signal says); ignored otherwise. started: when the request
 * arrived; accepted and duplicate requests add their time until now to relais_inbound_processing_seconds
 * (refusals are not timed: started may then be NULL). */
void rl_metrics_inbound(enum rl_metrics_inbound_outcome outcome, int code, const struct timespec *started);
/* A sending attempt ended. started: when the message was claimed; a delivered one adds its time until
 * now to relais_outbound_send_seconds (the others are not timed: started may then be NULL). */
void rl_metrics_outbound(enum rl_metrics_outcome outcome, const struct timespec *started);
/* A backend delivery attempt ended. */
void rl_metrics_delivery(enum rl_metrics_channel channel, enum rl_metrics_outcome outcome);
/* The retention purge removed finished messages from the store (relais_purged_messages_total). */
void rl_metrics_purged(long long inbound, long long outbound);
/* An HTTP response was made (any status 100..599; others are not counted). */
void rl_metrics_http_response(int status);

/* Sets every counter and histogram back to zero (tests). */
void rl_metrics_reset(void);

/* What a scrape reads at the time it comes. Members the caller cannot tell are left as marked. */
struct rl_metrics_state {
	const char *version;		/* relais_build_info; NULL = not shown */
	const char *party_id;		/* likewise (may be NULL alone) */
	time_t now;
	time_t started_at;		/* 0 = unknown */
	const struct rl_store_stats *stats;	/* NULL = the database did not answer */
	int has_certificate;
	long long certificate_seconds_left;	/* signing certificate, negative once expired */
	long long resident_bytes;	/* < 0 = unknown */
	int has_revocation;		/* revocation checks are on: the three below are meaningful */
	int responders_reachable, responders_unreachable;
	time_t newest_revocation_answer;	/* 0 = none yet */
	const struct rl_revocation_crl *crls;	/* the CRL files loaded (has_revocation) */
	size_t ncrls;
};

/* Appends the exposition text of every metric to out. Returns 0, or -1 when out of memory. */
int rl_metrics_render(const struct rl_metrics_state *state, struct rl_buf *out);

/* The resident memory of this process in bytes (from /proc/self/statm), or -1. */
long long rl_metrics_resident_bytes(void);

/* The Content-Type of the exposition text. */
#define RL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif

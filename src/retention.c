/*
 * retention.c - the daemon's retention thread (retention.keep): once shortly after start and then every
 * hour, the finished messages last changed more than retention.keep ago are removed from the store
 * (rl_store_purge_batch, one transaction per batch), with one log line per run that removed something.
 * The thread checks for SIGTERM between batches and while it waits, so it stops within a fraction of a
 * second, leaving the rest to the next start.
 */
#include "config.h"
#include <stdatomic.h>
#include <time.h>
#include "relais/daemon.h"
#include "relais/log.h"
#include "relais/metrics.h"

#define FIRST_RUN_MS 2000		/* after start: the daemon's other work begins first */
#define RUN_EVERY_MS (3600 * 1000)
#define AFTER_FAILURE_MS (60 * 1000)	/* the database was away: try again sooner than in an hour */
#define WAIT_SLICE_MS 200

/* Waits ms milliseconds, or less when the daemon stops. Returns 0 when it stops. */
static int pause_unless_stopping(struct rl_daemon *d, long ms)
{
	while (ms > 0 && !atomic_load(&d->stopping)) {
		long slice = ms < WAIT_SLICE_MS ? ms : WAIT_SLICE_MS;
		struct timespec ts = { slice / 1000, (slice % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return !atomic_load(&d->stopping);
}

/* One run: batches until none is left or the daemon stops. Returns 0, or -1 after logging a failure. */
static int purge_once(struct rl_daemon *d)
{
	struct rl_store_purge_counts c = { 0 };
	struct rl_err err;
	struct rl_store *st = rl_daemon_store(d, &err);
	time_t cutoff = time(NULL) - (time_t)d->retention_keep;
	char when[32];
	int removed = RL_STORE_PURGE_BATCH;

	if (st == NULL) {
		rl_log_warn(NULL, "retention: %s", err.msg);
		return -1;
	}
	while (removed == RL_STORE_PURGE_BATCH && !atomic_load(&d->stopping)) {
		removed = rl_store_purge_batch(st, cutoff, &c, &err);
		if (removed < 0)
			rl_log_warn(NULL, "retention: %s", err.msg);
	}
	rl_metrics_purged(c.inbound, c.outbound);
	if (c.inbound + c.outbound > 0) {
		struct tm tm;

		gmtime_r(&cutoff, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		rl_log_info(NULL, "retention: removed %lld finished message%s (%lld inbound, %lld outbound) last "
			    "changed before %s: %lld payload, %lld envelope and %lld receipt bytes",
			    c.inbound + c.outbound, c.inbound + c.outbound == 1 ? "" : "s", c.inbound, c.outbound, when,
			    c.payload_bytes, c.envelope_bytes, c.receipt_bytes);
	}
	return removed < 0 ? -1 : 0;
}

void *rl_retention_thread(void *arg)
{
	struct rl_daemon *d = arg;
	long wait_ms = FIRST_RUN_MS;

	while (pause_unless_stopping(d, wait_ms))
		wait_ms = purge_once(d) < 0 ? AFTER_FAILURE_MS : RUN_EVERY_MS;
	return NULL;
}

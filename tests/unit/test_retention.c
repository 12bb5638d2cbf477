/*
 * test_retention.c - rl_store_purge against a real PostgreSQL server (tests/scripts/retention_store.sh
 * starts a private cluster and passes a fresh database in RELAIS_TEST_PGURL). Messages are made finished
 * or not through the store's own calls, then aged by setting updated_at back with SQL. Skipped (77) when
 * run without a database.
 */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include "relais/store.h"
#include "unit_pg.h"

#define DAY 86400
#define LARGE_PAYLOAD (100 * 1024)	/* above RL_STORE_ROW_PAYLOAD_MAX: a large object */



static int setup(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_err err = { 0 };

	(void)state;
	if (rl_store_migrate(s, NULL, &err) < 0)
		fail_msg("migrate: %s", err.msg);
	rl_store_close(s);
	return 0;
}


/* A payload of `size` bytes in a temporary file. */
static FILE *payload_of(size_t size)
{
	FILE *fp = tmpfile();

	assert_non_null(fp);
	for (size_t i = 0; i < size; i++)
		fputc('a' + (int)(i % 26), fp);
	rewind(fp);
	return fp;
}

/* Submits a message and takes it at once (nothing else is queued): state sending, one attempt recorded. */
static int64_t outbound_sending(struct rl_store *s, const char *message_id, size_t payload_size)
{
	struct rl_store_submission sub = { 0 };
	struct rl_store_message m = { 0 };
	struct rl_err err = { 0 };
	FILE *fp = payload_of(payload_size);
	char *mid = NULL;
	int64_t id = 0;

	sub.message_id = message_id;
	sub.dest_url = "https://peer.invalid/as4";
	sub.payload = fp;
	sub.source = "test";
	if (rl_store_outbound_submit(s, &sub, &id, &mid, &err) < 0)
		fail_msg("submit: %s", err.msg);
	free(mid);
	fclose(fp);
	assert_int_equal(rl_store_outbound_claim(s, "test:1", 60, &m, &err), 1);
	assert_int_equal(m.id, id);
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_attempt_record(s, id, 1, "<S:Envelope>attempt</S:Envelope>", 32, &err), 0);
	return id;
}

static int64_t outbound_delivered(struct rl_store *s, const char *message_id, size_t payload_size)
{
	struct rl_err err = { 0 };
	int64_t id = outbound_sending(s, message_id, payload_size);

	assert_int_equal(rl_store_outbound_delivered(s, id, "<R/>", 4, "receipt@peer", "<S:Envelope/>", 13, &err),
			 0);
	return id;
}

static int64_t outbound_failed(struct rl_store *s, const char *message_id)
{
	struct rl_err err = { 0 };
	int64_t id = outbound_sending(s, message_id, 100);

	assert_int_equal(rl_store_outbound_failed(s, id, "EBMS:0004 Other: refused", "<Signal/>", 9, 0, 1, 0, &err),
			 0);
	return id;
}

/* A received message with the given backend deliveries pending. */
static int64_t inbound_received(struct rl_store *s, const char *message_id, int inbox, int webhook)
{
	struct rl_store_inbound in;
	struct rl_err err = { 0 };
	FILE *fp = payload_of(200);
	int64_t id = 0;

	memset(&in, 0, sizeof(in));
	in.message_id = message_id;
	in.from_party = "POP000001";
	in.to_party = "POP000002";
	in.payload = fp;
	in.payload_mime_type = "application/xml";
	in.envelope = "<S:Envelope/>";
	in.envelope_len = 13;
	in.receipt = "<Receipt/>";
	in.receipt_len = 10;
	in.receipt_message_id = "receipt@relais";
	in.deliver_inbox = inbox;
	in.deliver_webhook = webhook;
	assert_int_equal(rl_store_inbound_commit(s, &in, &id, NULL, &err), 0);
	fclose(fp);
	return id;
}

/* Takes the one due delivery and reports it done, or failed for good. */
static void deliver_one(struct rl_store *s, int64_t message, int fail)
{
	struct rl_store_delivery d = { 0 };
	struct rl_err err = { 0 };

	assert_int_equal(rl_store_delivery_claim(s, "test:1", 60, &d, &err), 1);
	assert_int_equal(d.message, message);
	if (fail)
		assert_int_equal(rl_store_delivery_failed(s, &d, "inbox full", 0, 1, &err), 0);
	else
		assert_int_equal(rl_store_delivery_done(s, &d, &err), 0);
	rl_store_delivery_free(&d);
}

static void age(int64_t id, int days)
{
	sql("UPDATE messages SET updated_at = now() - interval '%d days' WHERE id = %lld", days, (long long)id);
}

static long long rows_of(int64_t id)
{
	return sql("SELECT (SELECT count(*) FROM messages WHERE id = %1$lld)"
		   " + (SELECT count(*) FROM message_events WHERE message = %1$lld)"
		   " + (SELECT count(*) FROM deliveries WHERE message = %1$lld)"
		   " + (SELECT count(*) FROM sent_attempts WHERE message = %1$lld)", (long long)id);
}

static void test_purge_finished_only(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_purge_counts dry, done;
	struct rl_err err = { 0 };
	int64_t old_large, old_failed, old_in, old_in_failed, queued, sending, retry, received, half_failed;
	int64_t new_out, new_in;
	long long objects, events_kept;
	time_t cutoff = time(NULL) - DAY;

	(void)state;
	unit_pg_empty();
	/* Made in an order where each claim finds the message just made (or its delivery) due first. */
	old_large = outbound_delivered(s, "old-large@relais", LARGE_PAYLOAD);
	old_failed = outbound_failed(s, "old-failed@relais");
	old_in = inbound_received(s, "old-in@peer", 1, 0);
	deliver_one(s, old_in, 0);
	old_in_failed = inbound_received(s, "old-in-failed@peer", 1, 0);
	deliver_one(s, old_in_failed, 1);
	half_failed = inbound_received(s, "half-failed@peer", 1, 1);
	deliver_one(s, half_failed, 1);		/* failed, with its other delivery still pending */
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE id = %lld AND state = 'failed'"
			     " AND deliveries_pending = 1", (long long)half_failed), 1);
	sql("UPDATE deliveries SET next_attempt_at = now() + interval '1 hour' WHERE state = 'pending'");
	new_out = outbound_delivered(s, "new-out@relais", 10);
	new_in = inbound_received(s, "new-in@peer", 1, 0);
	deliver_one(s, new_in, 0);
	received = inbound_received(s, "received@peer", 1, 0);
	sending = outbound_sending(s, "sending@relais", 10);
	retry = outbound_sending(s, "retry@relais", 10);
	assert_int_equal(rl_store_outbound_failed(s, retry, "timeout", NULL, 0, 3600, 0, 1, &err), 0);
	{
		struct rl_store_submission sub = { 0 };
		FILE *fp = payload_of(LARGE_PAYLOAD);
		char *mid = NULL;

		sub.message_id = "queued@relais";
		sub.payload = fp;
		sub.source = "test";
		assert_int_equal(rl_store_outbound_submit(s, &sub, &queued, &mid, &err), 0);
		free(mid);
		fclose(fp);
	}
	/* All but the two recent finished ones are ten days old; only the finished among them may go. */
	sql("UPDATE messages SET updated_at = now() - interval '10 days' WHERE id NOT IN (%lld, %lld)",
	    (long long)new_out, (long long)new_in);
	objects = sql("SELECT count(*) FROM pg_largeobject_metadata");
	assert_int_equal(objects, 2);	/* old-large's and queued's payloads */

	/* The dry run counts and keeps. */
	assert_int_equal(rl_store_purge(s, cutoff, 1, &dry, &err), 0);
	assert_int_equal(dry.outbound, 2);
	assert_int_equal(dry.inbound, 2);
	assert_int_equal(dry.payload_bytes, LARGE_PAYLOAD + 100 + 200 + 200);
	/* Envelopes: old-large's sent one and its attempt, old-failed's attempt, two received ones. */
	assert_int_equal(dry.envelope_bytes, 13 + 32 + 32 + 13 + 13);
	/* Receipts: old-large's, old-failed's error signal, the two sent for the inbound ones. */
	assert_int_equal(dry.receipt_bytes, 4 + 9 + 10 + 10);
	assert_int_equal(sql("SELECT count(*) FROM messages"), 11);
	assert_true(rows_of(old_large) > 3);

	/* The purge removes exactly those, with everything that refers to them. */
	assert_int_equal(rl_store_purge(s, cutoff, 0, &done, &err), 0);
	assert_memory_equal(&done, &dry, sizeof(done));
	assert_int_equal(rows_of(old_large), 0);
	assert_int_equal(rows_of(old_failed), 0);
	assert_int_equal(rows_of(old_in), 0);
	assert_int_equal(rows_of(old_in_failed), 0);
	assert_int_equal(sql("SELECT count(*) FROM pg_largeobject_metadata"), 1);
	assert_int_equal(sql("SELECT count(*) FROM pg_largeobject_metadata l JOIN messages m ON m.payload_oid = l.oid"
			     " WHERE m.id = %lld", (long long)queued), 1);
	assert_int_equal(sql("SELECT count(*) FROM messages"), 7);
	{
		const int64_t kept[] = { queued, sending, retry, received, half_failed, new_out, new_in };

		for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
			assert_int_equal(sql("SELECT count(*) FROM messages WHERE id = %lld", (long long)kept[i]), 1);
	}
	events_kept = sql("SELECT count(*) FROM message_events");
	assert_true(events_kept >= 7);

	/* Nothing is left to remove: a second purge and a dry run both count 0. */
	assert_int_equal(rl_store_purge(s, cutoff, 0, &done, &err), 0);
	assert_int_equal(done.inbound + done.outbound + done.payload_bytes + done.envelope_bytes + done.receipt_bytes,
			 0);
	assert_int_equal(rl_store_purge(s, cutoff, 1, &dry, &err), 0);
	assert_int_equal(dry.inbound + dry.outbound, 0);
	assert_int_equal(sql("SELECT count(*) FROM message_events"), events_kept);

	/* A later cutoff reaches the recent ones; the unfinished ones stay whatever the cutoff. */
	assert_int_equal(rl_store_purge(s, time(NULL) + DAY, 0, &done, &err), 0);
	assert_int_equal(done.outbound, 1);
	assert_int_equal(done.inbound, 1);
	assert_int_equal(sql("SELECT count(*) FROM messages"), 5);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE state IN ('delivered')"), 0);
	rl_store_close(s);
}

/* More finished messages than one batch takes: every batch commits, all go. */
static void test_purge_in_batches(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_purge_counts counts;
	struct rl_err err = { 0 };
	const int n = 2 * RL_STORE_PURGE_BATCH + 7;

	(void)state;
	unit_pg_empty();
	sql("INSERT INTO messages (direction, message_id, state, payload, payload_size, envelope, updated_at)"
	    " SELECT i %% 2, 'bulk-' || i, 'delivered', '\\x616263'::bytea, 3, '\\x3c452f3e'::bytea,"
	    "  now() - interval '400 days' FROM generate_series(1, %d) i", n);
	sql("UPDATE messages SET history = '2025-01-01T00:00:00.000Z' || E'\\t' || 'delivered' || E'\\t' || 'bulk' || E'\\n'");
	sql("INSERT INTO deliveries (message, channel, state) SELECT id, 0, 'done' FROM messages WHERE direction = 0");

	assert_int_equal(rl_store_purge_batch(s, time(NULL) - 30 * DAY, &(struct rl_store_purge_counts){ 0 }, &err),
			 RL_STORE_PURGE_BATCH);
	assert_int_equal(sql("SELECT count(*) FROM messages"), n - RL_STORE_PURGE_BATCH);
	assert_int_equal(sql("SELECT count(*) FROM message_events"), n - RL_STORE_PURGE_BATCH);
	assert_int_equal(rl_store_purge(s, time(NULL) - 30 * DAY, 0, &counts, &err), 0);
	assert_int_equal(counts.inbound + counts.outbound, n - RL_STORE_PURGE_BATCH);
	assert_int_equal(counts.payload_bytes, 3LL * (n - RL_STORE_PURGE_BATCH));
	assert_int_equal(counts.envelope_bytes, 4LL * (n - RL_STORE_PURGE_BATCH));
	assert_int_equal(sql("SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM message_events)"
			     " + (SELECT count(*) FROM deliveries)"), 0);
	rl_store_close(s);
}

/* A message another connection holds locked (an operator's action under way) is skipped, not waited for,
 * and removed by the next purge. */
static void test_purge_skips_locked(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_purge_counts counts;
	struct rl_err err = { 0 };
	PGconn *side;
	PGresult *r;
	int64_t locked, free_one;

	(void)state;
	unit_pg_empty();
	locked = outbound_delivered(s, "locked@relais", 10);
	free_one = outbound_delivered(s, "free@relais", 10);
	age(locked, 10);
	age(free_one, 10);
	side = PQconnectdb(pgurl);
	assert_int_equal(PQstatus(side), CONNECTION_OK);
	PQclear(PQexec(side, "BEGIN"));
	{
		char text[128];

		snprintf(text, sizeof(text), "SELECT id FROM messages WHERE id = %lld FOR UPDATE", (long long)locked);
		r = PQexec(side, text);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		assert_int_equal(PQntuples(r), 1);
		PQclear(r);
	}
	assert_int_equal(rl_store_purge(s, time(NULL) - DAY, 0, &counts, &err), 0);
	assert_int_equal(counts.outbound, 1);
	assert_int_equal(rows_of(free_one), 0);
	assert_true(rows_of(locked) > 0);
	PQclear(PQexec(side, "COMMIT"));
	PQfinish(side);
	assert_int_equal(rl_store_purge(s, time(NULL) - DAY, 0, &counts, &err), 0);
	assert_int_equal(counts.outbound, 1);
	assert_int_equal(rows_of(locked), 0);
	rl_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_purge_finished_only),
		cmocka_unit_test(test_purge_in_batches),
		cmocka_unit_test(test_purge_skips_locked),
	};

	UNIT_PG_RUN(tests, setup, "tests/scripts/retention_store.sh");
}

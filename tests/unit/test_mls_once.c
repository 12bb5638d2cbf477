/*
 * test_mls_once.c - a Message Level Status is queued at most once per received message, also across a
 * failure or a lost connection and when several try at once, against a real store
 * (tests/scripts/mls_once.sh starts a private PostgreSQL and passes a database in RELAIS_TEST_PGURL).
 *
 * rl_store_mls_queue asked twice, with the MLS in the row and in a large object; then, through
 * rl_mls_after_delivery as C3 answers a document that failed for good (an RE MLS): a failure inside the
 * statement (a constraint that refuses the note) leaves neither the MLS nor the note; a statement held
 * inside its transaction (a trigger waits on an advisory lock the test holds) shows neither from outside,
 * and killed there (pg_terminate_backend) leaves neither; two connections at once queue one. Each time a
 * later attempt queues exactly one. Skipped (77) when run without a database.
 */
#include "config.h"
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
#include <cmocka.h>
#include <libpq-fe.h>
#include "relais/buf.h"
#include "relais/daemon.h"
#include "relais/mls.h"
#include "relais/store.h"
#include "unit_pg.h"

#define GATE_KEY "7301"	/* the advisory lock the gate trigger waits on */

static struct rl_store *store;

static int setup(void **state)
{
	(void)state;
	store = unit_pg_store_migrated();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rl_store_close(store);
	return 0;
}

static int empty(void **state)
{
	(void)state;
	unit_pg_empty();
	return 0;
}

/* Commits a received message from POP000002 whose payload is an SBD with an invoice, document `instance`,
 * and sets it failed for good; returns its row id. */
static int64_t received_failed(const char *message_id, const char *instance)
{
	struct rl_store_inbound in = { 0 };
	struct rl_buf sbd = RL_BUF_INIT;
	struct rl_err err = { 0 };
	int64_t id = 0;

	unit_pg_invoice_sbd_open(&sbd, "0088:5798000000002", "0088:5798000000001", instance);
	rl_buf_puts(&sbd, "</Invoice></StandardBusinessDocument>\n");
	assert_non_null(sbd.data);
	in.message_id = message_id;
	in.from_party = "POP000002";
	in.to_party = "POP000001";
	in.service = UNIT_PG_BILLING;
	in.service_type = "cenbii-procid-ubl";
	in.action = "busdox-docid-qns::" UNIT_PG_INVOICE_TYPE;
	in.original_sender = "0088:5798000000002";
	in.final_recipient = "0088:5798000000001";
	in.payload_data = sbd.data;
	in.payload_len = sbd.len;
	unit_pg_inbound_evidence(&in);
	in.deliver_inbox = 1;
	if (rl_store_inbound_commit(store, &in, &id, NULL, &err) != 0)
		fail_msg("inbound commit: %s", err.msg);
	rl_buf_free(&sbd);
	sql("UPDATE messages SET state = 'failed' WHERE id = %lld", (long long)id);
	return id;
}

/* The MLS queued (outbound rows that relais queued as an MLS), as anyone else sees them. */
static long long mls_rows(void)
{
	return sql("SELECT count(*) FROM messages WHERE direction = 1 AND source = 'mls'");
}

/* The lines of the received message's history that say an MLS was queued about it. */
static long long notes_of(int64_t message)
{
	return sql("SELECT count(*) FROM message_events WHERE message = %lld AND detail ~ '^MLS [A-Z][A-Z] queued: '",
		   (long long)message);
}

/* Exactly one MLS (code) is queued about the received message, and its note names that MLS. */
static void assert_one_mls(int64_t message, const char *code)
{
	assert_int_equal(mls_rows(), 1);
	assert_int_equal(notes_of(message), 1);
	assert_int_equal(sql("SELECT count(*) FROM message_events e, messages o WHERE e.message = %lld"
			     " AND o.direction = 1 AND o.source = 'mls' AND o.state = 'queued'"
			     " AND e.detail = 'MLS %s queued: ' || o.message_id", (long long)message, code), 1);
}

/* An MLS submission of len bytes ('x' after an XML head; over a chunk, it goes to a large object). */
static FILE *mls_payload(size_t len, struct rl_buf *bytes)
{
	FILE *fp;

	rl_buf_puts(bytes, "<?xml version=\"1.0\"?><ApplicationResponse>");
	while (bytes->len < len)
		rl_buf_puts(bytes, "x");
	assert_non_null(bytes->data);
	fp = fmemopen(bytes->data, bytes->len, "rb");
	assert_non_null(fp);
	return fp;
}

/* rl_store_mls_queue twice about one message: one MLS, one note; the second stores nothing, also no
 * large object. A row that is no received message is refused. */
static void test_store_queue_twice(void **state)
{
	struct rl_store_submission sub = { 0 };
	struct rl_buf small = RL_BUF_INIT, large = RL_BUF_INIT;
	struct rl_err err = { 0 };
	char *mid = NULL;
	int64_t message, row = 0, other;
	long long objects;

	(void)state;
	message = received_failed("once-1@t", "inv-1");
	sub.source = "mls";
	sub.payload = mls_payload(200, &small);
	assert_int_equal(rl_store_mls_queue(store, message, RL_MLS_REJECTED, &sub, &row, &mid, &err), 1);
	assert_non_null(mid);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE id = %lld AND message_id = '%s' AND payload IS NOT NULL"
			     " AND payload_size = %zu", (long long)row, mid, small.len), 1);
	assert_one_mls(message, RL_MLS_REJECTED);
	free(mid);
	mid = NULL;
	rewind(sub.payload);
	row = -7;
	assert_int_equal(rl_store_mls_queue(store, message, RL_MLS_DELIVERED, &sub, &row, &mid, &err), 0);
	assert_null(mid);
	assert_int_equal(row, -7);
	assert_one_mls(message, RL_MLS_REJECTED);
	fclose(sub.payload);

	/* In a large object, the same; the second attempt's large object goes with its transaction. */
	other = received_failed("once-2@t", "inv-2");
	sub.payload = mls_payload(3 * RL_STORE_ROW_PAYLOAD_MAX, &large);
	objects = sql("SELECT count(*) FROM pg_largeobject_metadata");
	assert_int_equal(rl_store_mls_queue(store, other, RL_MLS_DELIVERED, &sub, &row, &mid, &err), 1);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE id = %lld AND payload IS NULL AND payload_oid IS NOT NULL"
			     " AND payload_size = %zu", (long long)row, large.len), 1);
	assert_int_equal(sql("SELECT count(*) FROM pg_largeobject_metadata"), objects + 1);
	free(mid);
	mid = NULL;
	rewind(sub.payload);
	assert_int_equal(rl_store_mls_queue(store, other, RL_MLS_DELIVERED, &sub, &row, &mid, &err), 0);
	assert_int_equal(sql("SELECT count(*) FROM pg_largeobject_metadata"), objects + 1);
	assert_int_equal(mls_rows(), 2);
	assert_int_equal(notes_of(other), 1);
	fclose(sub.payload);

	/* No such received message: the MLS's row (an outbound one) and a row that does not exist. */
	sub.payload = fmemopen(small.data, small.len, "rb");
	assert_int_equal(rl_store_mls_queue(store, row, RL_MLS_DELIVERED, &sub, &row, &mid, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	assert_null(mid);
	rewind(sub.payload);
	assert_int_equal(rl_store_mls_queue(store, 999999999, RL_MLS_DELIVERED, &sub, &row, &mid, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	assert_int_equal(mls_rows(), 2);
	fclose(sub.payload);
	rl_buf_free(&small);
	rl_buf_free(&large);
}

/* C3 with mls.send on and its seat POP000001. */
static void c3(struct rl_daemon *d)
{
	memset(d, 0, sizeof(*d));
	d->mls_send = 1;
	d->party_id = (char *)"POP000001";
	d->mls_country = (char *)"DK";
}

/* The delivery thread's call once the received message failed for good: an RE MLS is due. */
static void after_failure(struct rl_daemon *d, struct rl_store *st, int64_t message, const char *message_id)
{
	struct rl_store_delivery dl = { 0 };

	dl.message = message;
	dl.message_id = (char *)message_id;
	rl_mls_after_delivery(d, st, &dl, NULL, 0);
}

/* Twice from the delivery thread: one MLS. */
static void test_after_failure_twice(void **state)
{
	struct rl_daemon d;
	int64_t message;

	(void)state;
	c3(&d);
	message = received_failed("twice@t", "inv-twice");
	after_failure(&d, store, message, "twice@t");
	assert_one_mls(message, RL_MLS_REJECTED);
	after_failure(&d, store, message, "twice@t");
	assert_one_mls(message, RL_MLS_REJECTED);
}

/* A failure inside the statement: a constraint refuses the note in the received message's history. The
 * MLS row that was to go with it is not there either; once the constraint is gone, one MLS is queued. */
static void test_failure_leaves_neither(void **state)
{
	struct rl_daemon d;
	int64_t message;

	(void)state;
	c3(&d);
	message = received_failed("refused@t", "inv-refused");
	sql("%s", "ALTER TABLE messages ADD CONSTRAINT no_mls_note"
		  " CHECK (direction <> 0 OR history NOT LIKE '%MLS __ queued: %') NOT VALID");
	after_failure(&d, store, message, "refused@t");
	sql("ALTER TABLE messages DROP CONSTRAINT no_mls_note");
	assert_int_equal(notes_of(message), 0);
	assert_int_equal(mls_rows(), 0);
	after_failure(&d, store, message, "refused@t");
	assert_one_mls(message, RL_MLS_REJECTED);
}

/* ---------------------------------------------------------------- the gate */

/* The gate: a trigger that makes the update that notes an MLS in a received message's history wait
 * (inside its transaction, the received row locked) for an advisory lock that a connection of the test
 * holds while the gate is closed. */
static PGconn *gate;

static void gate_close(void)
{
	PGresult *r;

	sql("%s", "CREATE OR REPLACE FUNCTION mls_gate() RETURNS trigger LANGUAGE plpgsql AS"
		  " $$BEGIN PERFORM pg_advisory_xact_lock(" GATE_KEY "); RETURN NEW; END$$");
	sql("SET client_min_messages = warning; DROP TRIGGER IF EXISTS mls_gate ON messages");
	sql("%s", "CREATE TRIGGER mls_gate BEFORE UPDATE OF history ON messages FOR EACH ROW"
		  " WHEN (NEW.history LIKE '%MLS __ queued: %' AND OLD.history NOT LIKE '%MLS __ queued: %')"
		  " EXECUTE FUNCTION mls_gate()");
	gate = PQconnectdb(pgurl);
	assert_int_equal(PQstatus(gate), CONNECTION_OK);
	r = PQexec(gate, "SELECT pg_advisory_lock(" GATE_KEY ")");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
}

static void gate_open(void)
{
	PQfinish(gate);	/* its session's advisory lock goes with it */
	gate = NULL;
	sql("DROP TRIGGER mls_gate ON messages");
}

/* One call of the delivery thread's on a connection of its own. */
struct attempt {
	pthread_t thread;
	struct rl_daemon *d;
	int64_t message;
	int opened;
	atomic_int done;
};

static void *attempt_run(void *arg)
{
	struct attempt *a = arg;
	struct rl_store *st = NULL;
	struct rl_err err;

	if (rl_store_open(pgurl, &st, &err) == 0) {
		a->opened = 1;
		after_failure(a->d, st, a->message, "gated@t");
		rl_store_close(st);
	}
	atomic_store(&a->done, 1);
	return NULL;
}

static void attempt_start(struct attempt *a, struct rl_daemon *d, int64_t message)
{
	a->d = d;
	a->message = message;
	a->opened = 0;
	atomic_init(&a->done, 0);
	assert_int_equal(pthread_create(&a->thread, NULL, attempt_run, a), 0);
}

static void attempt_join(struct attempt *a)
{
	assert_int_equal(pthread_join(a->thread, NULL), 0);
	assert_true(a->opened);
}

/* Backends of this database waiting for a lock (only for the gate's advisory lock when gated). */
static long long lock_waits(int gated)
{
	return sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
		   " AND wait_event_type = 'Lock'%s", gated ? " AND wait_event = 'advisory'" : "");
}

/* Waits up to 10 s until n backends wait for a lock (see lock_waits), or until a has finished; returns
 * whether they wait. */
static int wait_for_waits(long long n, int gated, struct attempt *a)
{
	const struct timespec pause = { 0, 20 * 1000 * 1000 };

	for (int i = 0; i < 500; i++) {
		if (lock_waits(gated) >= n)
			return 1;
		if (a != NULL && atomic_load(&a->done))
			return 0;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/* Held at the gate, inside its transaction: from outside, neither the MLS row nor the note is there (the
 * state a crash between two commits left). Killed there (the store connects again and repeats the
 * statement once, which is killed the same way): still neither. With the gate gone, one MLS is queued.
 * (What is seen is checked once the gate is open and the attempt over, so that a failure leaves nothing
 * waiting.) */
static void test_killed_leaves_neither(void **state)
{
	struct rl_daemon d;
	struct attempt a;
	int64_t message;
	long long seen_rows = 0, seen_notes = 0;
	int kills = 0;

	(void)state;
	c3(&d);
	message = received_failed("gated@t", "inv-gated");
	gate_close();
	attempt_start(&a, &d, message);
	while (kills < 4 && wait_for_waits(1, 1, &a)) {
		seen_rows += mls_rows();
		seen_notes += notes_of(message);
		/* Gone when this answers (it waits up to 5 s for the backend to end). */
		if (sql("WITH w AS MATERIALIZED (SELECT pid FROM pg_stat_activity"
			"  WHERE datname = current_database() AND wait_event = 'advisory')"
			" SELECT count(*) FROM w WHERE pg_terminate_backend(pid, 5000)") != 1)
			break;
		kills++;
	}
	gate_open();
	attempt_join(&a);
	assert_int_equal(seen_rows, 0);
	assert_int_equal(seen_notes, 0);
	assert_int_equal(kills, 2);	/* the statement, and its one repetition on a new connection */
	assert_int_equal(mls_rows(), 0);
	assert_int_equal(notes_of(message), 0);
	after_failure(&d, store, message, "gated@t");
	assert_one_mls(message, RL_MLS_REJECTED);
}

/* Two connections at once: the first is held at the gate with the received row locked, the second waits
 * for that row; the gate opens, and one MLS is queued, noted once. */
static void test_two_at_once(void **state)
{
	struct rl_daemon d;
	struct attempt a, b;
	int64_t message;
	int both;

	(void)state;
	c3(&d);
	message = received_failed("gated@t", "inv-two");
	gate_close();
	attempt_start(&a, &d, message);
	attempt_start(&b, &d, message);
	both = wait_for_waits(2, 0, NULL);
	gate_open();
	attempt_join(&a);
	attempt_join(&b);
	assert_true(both);
	assert_one_mls(message, RL_MLS_REJECTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_store_queue_twice, empty),
		cmocka_unit_test_setup(test_after_failure_twice, empty),
		cmocka_unit_test_setup(test_failure_leaves_neither, empty),
		cmocka_unit_test_setup(test_killed_leaves_neither, empty),
		cmocka_unit_test_setup(test_two_at_once, empty),
	};

	pgurl = getenv("RELAIS_TEST_PGURL");
	if (pgurl == NULL || *pgurl == '\0') {
		fprintf(stderr, "SKIP: RELAIS_TEST_PGURL is not set (run through tests/scripts/mls_once.sh)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_store.c - the PostgreSQL store against a real server (tests/scripts/store.sh starts a private
 * cluster and passes a fresh database in RELAIS_TEST_PGURL, and a restart command line in
 * RELAIS_TEST_PG_RESTART). Skipped (77) when run without a database.
 */
#include "config.h"
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include "relais/store.h"
#include "../../src/store_schema.h"
#include "../../src/store_sql.h"
#include "unit_pg.h"




static FILE *file_with(const char *text)
{
	FILE *fp = tmpfile();

	assert_non_null(fp);
	fputs(text, fp);
	rewind(fp);
	return fp;
}

/* Payloads kept: in their rows (small) or as large objects. */
#define STORED_PAYLOADS "SELECT (SELECT count(*) FROM pg_largeobject_metadata)" \
	" + (SELECT count(*) FROM messages WHERE payload IS NOT NULL)"

static int64_t submit(struct rl_store *s, const char *message_id, const char *dest_url, const char *payload)
{
	struct rl_store_submission sub = { 0 };
	struct rl_err err = { 0 };
	FILE *fp = file_with(payload);
	char *mid = NULL;
	int64_t id = 0;

	sub.message_id = message_id;
	sub.dest_url = dest_url;
	sub.payload = fp;
	sub.source = "test";
	if (rl_store_outbound_submit(s, &sub, &id, &mid, &err) < 0)
		fail_msg("submit: %s", err.msg);
	if (message_id)
		assert_string_equal(mid, message_id);
	free(mid);
	fclose(fp);
	return id;
}

static void inbound_fill(struct rl_store_inbound *in, const char *message_id, const char *receipt, FILE *payload)
{
	memset(in, 0, sizeof(*in));
	in->message_id = message_id;
	in->from_party = "POP000001";
	in->to_party = "POP000002";
	in->action = "busdox-docid-qns::invoice";
	in->payload = payload;
	unit_pg_inbound_evidence(in);
	in->receipt = receipt;
	in->receipt_len = strlen(receipt);
	in->receipt_message_id = "receipt-1@relais";
}

/* ---------------------------------------------------------------- schema */

static void test_migrate_twice(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_err err = { 0 };
	int applied = -1, version = -1;

	(void)state;
	assert_int_equal(rl_store_schema_version(s, &version, &err), 0);
	assert_int_equal(version, 0);
	assert_int_equal(rl_store_migrate(s, &applied, &err), 0);
	assert_int_equal(applied, rl_store_schema_target());
	assert_true(applied >= 1);
	assert_int_equal(rl_store_schema_version(s, &version, &err), 0);
	assert_int_equal(version, rl_store_schema_target());
	assert_int_equal(rl_store_migrate(s, &applied, &err), 0);
	assert_int_equal(applied, 0);
	rl_store_close(s);
}

static void test_open_refused(void **state)
{
	struct rl_store *s = (struct rl_store *)1;
	struct rl_err err = { 0 };

	(void)state;
	assert_int_equal(rl_store_open("host=/nonexistent-relais-dir dbname=x connect_timeout=2", &s, &err), -1);
	assert_null(s);
	assert_int_equal(err.code, RL_ERR_DB);
	assert_non_null(strstr(err.msg, "cannot connect"));
}

/* ---------------------------------------------------------------- outbound */

static void test_submit_claim_delivered(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_message m;
	struct rl_buf buf = RL_BUF_INIT;
	struct rl_err err = { 0 };
	char *mid = NULL;
	struct rl_store_submission sub = { 0 };
	int64_t id, id2;

	(void)state;
	unit_pg_empty();
	id = submit(s, "out-1@test", "https://ap.example/as4", "<Invoice/>");
	assert_true(id > 0);
	/* The same MessageId again is refused and leaves nothing behind. */
	sub.message_id = "out-1@test";
	assert_int_equal(rl_store_outbound_submit(s, &sub, &id2, &mid, &err), -1);
	assert_int_equal(err.code, RL_EBMS_VALUE_INCONSISTENT);
	assert_null(mid);
	assert_int_equal(sql("SELECT count(*) FROM messages"), 1);
	assert_int_equal(sql(STORED_PAYLOADS), 1);
	/* A fresh MessageId when none is given. */
	memset(&sub, 0, sizeof(sub));
	assert_int_equal(rl_store_outbound_submit(s, &sub, &id2, &mid, &err), 0);
	assert_non_null(strstr(mid, "@relais"));
	assert_int_equal(strlen(mid), 36 + strlen("@relais"));
	free(mid);
	sql("UPDATE messages SET next_attempt_at = now() + interval '1 hour' WHERE id = %lld", (long long)id2);

	assert_int_equal(rl_store_outbound_claim(s, "worker-a", 300, &m, &err), 1);
	assert_int_equal(m.id, id);
	assert_int_equal(m.direction, RL_DIR_OUT);
	assert_string_equal(m.message_id, "out-1@test");
	assert_string_equal(m.state, "sending");
	assert_string_equal(m.dest_url, "https://ap.example/as4");
	assert_string_equal(m.payload_mime_type, "application/xml");
	assert_int_equal(m.payload_size, strlen("<Invoice/>"));
	assert_int_equal(m.attempts, 1);
	assert_false(m.receipt_stored);
	assert_true(m.next_attempt_at >= time(NULL) + 250);
	/* A small payload is in the row, and comes with the claim. */
	assert_int_equal(sql("SELECT count(*) FROM pg_largeobject_metadata"), 0);
	assert_true(m.payload_here);
	assert_int_equal(m.payload_len, strlen("<Invoice/>"));
	assert_memory_equal(m.payload, "<Invoice/>", m.payload_len);
	rl_store_message_free(&m);
	/* Taken with a lease: nobody else gets it. */
	assert_int_equal(rl_store_outbound_claim(s, "worker-b", 300, &m, &err), 0);

	/* Delivered; nothing else is due (the other one waits an hour), so nothing is claimed with it. */
	assert_int_equal(rl_store_outbound_delivered_claim(s, id, "<Receipt/>", 10, "rcpt-1@peer", "<Sent/>", 7,
							   "doc-1", "worker-a", 300, &m, &err), 0);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE state = 'sending'"), 0);
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.state, "delivered");
	assert_string_equal(m.receipt_message_id, "rcpt-1@peer");
	assert_true(m.receipt_stored);
	assert_null(m.last_error);
	assert_null(m.mls_code);
	rl_store_message_free(&m);
	/* A Message Level Status about the document it carried is noted on it; one about another is not. */
	assert_int_equal(rl_store_mls_received(s, "doc-1", "AB", "in mls-1@peer", &err), 1);
	assert_int_equal(rl_store_mls_received(s, "doc-unknown", "RE", "FD in mls-2@peer", &err), 0);
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.mls_code, "AB");
	rl_store_message_free(&m);
	assert_int_equal(sql("SELECT count(*) FROM message_events WHERE message = %lld AND detail = "
			     "'MLS AB received: in mls-1@peer'", (long long)id), 1);
	assert_int_equal(rl_store_message_get(s, 0, "out-1@test", RL_DIR_OUT, &m, &err), 1);
	assert_int_equal(m.id, id);
	rl_store_message_free(&m);
	assert_int_equal(rl_store_message_get(s, 0, "out-1@test", RL_DIR_IN, &m, &err), 0);
	assert_int_equal(rl_store_message_receipt(s, id, &buf, &err), 1);
	assert_string_equal(buf.data, "<Receipt/>");
	assert_int_equal(rl_store_message_envelope(s, id, &buf, &err), 1);
	assert_string_equal(buf.data, "<Sent/>");
	assert_int_equal(rl_store_message_envelope(s, id2, &buf, &err), 0);

	rl_buf_reset(&buf);
	assert_int_equal(rl_store_message_history(s, id, &buf, &err), 0);
	assert_non_null(strstr(buf.data, "Z queued submitted by test\n"));
	assert_non_null(strstr(buf.data, "Z sending attempt 1 by worker-a\n"));
	assert_non_null(strstr(buf.data, "Z delivered receipt rcpt-1@peer\n"));
	assert_true(strstr(buf.data, " queued") < strstr(buf.data, " sending"));
	assert_true(strstr(buf.data, " sending") < strstr(buf.data, " delivered"));
	assert_int_equal(rl_store_message_history(s, 999999, &buf, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	assert_int_equal(rl_store_outbound_delivered(s, 999999, NULL, 0, NULL, NULL, 0, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	rl_buf_free(&buf);
	rl_store_close(s);
}

static void test_retry_and_final_failure(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_message m;
	struct rl_buf buf = RL_BUF_INIT;
	struct rl_err err = { 0 };
	int64_t id;
	time_t before;

	(void)state;
	unit_pg_empty();
	id = submit(s, "retry@test", NULL, "x");
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	rl_store_message_free(&m);
	before = time(NULL);
	assert_int_equal(rl_store_outbound_failed(s, id, "RELAIS:NETWORK Network: connection refused", NULL, 0, 60,
						  0, 1, &err), 0);
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.state, "retry");
	assert_string_equal(m.last_error, "RELAIS:NETWORK Network: connection refused");
	assert_true(m.next_attempt_at >= before + 59 && m.next_attempt_at <= time(NULL) + 61);
	rl_store_message_free(&m);
	/* Not due yet. */
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 0);
	/* Due: claimed again, second attempt. */
	sql("UPDATE messages SET next_attempt_at = now() - interval '1 second' WHERE id = %lld", (long long)id);
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	assert_int_equal(m.attempts, 2);
	rl_store_message_free(&m);
	/* A final error with the signal as received. */
	assert_int_equal(rl_store_outbound_failed(s, id, "EBMS:0004 Other: refused", "<Signal/>", 9, 60, 1, 0,
						  &err), 0);
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.state, "failed");
	assert_string_equal(m.last_error, "EBMS:0004 Other: refused");
	rl_store_message_free(&m);
	assert_int_equal(rl_store_message_receipt(s, id, &buf, &err), 1);
	assert_string_equal(buf.data, "<Signal/>");
	sql("UPDATE messages SET next_attempt_at = now() - interval '1 hour'");
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 0);
	rl_buf_reset(&buf);
	assert_int_equal(rl_store_message_history(s, id, &buf, &err), 0);
	assert_non_null(strstr(buf.data, " retry retry in 60s: RELAIS:NETWORK Network: connection refused\n"));
	assert_non_null(strstr(buf.data, " sending attempt 2 by w\n"));
	assert_non_null(strstr(buf.data, " failed EBMS:0004 Other: refused\n"));
	rl_buf_free(&buf);
	rl_store_close(s);
}

static void test_expired_lease_reclaimed(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_message m;
	struct rl_err err = { 0 };
	int64_t id;

	(void)state;
	unit_pg_empty();
	id = submit(s, "lease@test", NULL, "x");
	assert_int_equal(rl_store_outbound_claim(s, "dead-worker", 300, &m, &err), 1);
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_claim(s, "w2", 300, &m, &err), 0);
	sql("UPDATE messages SET next_attempt_at = now() - interval '1 second', lease_until = now() - interval '1 second'");
	assert_int_equal(rl_store_outbound_claim(s, "w2", 300, &m, &err), 1);
	assert_int_equal(m.id, id);
	assert_int_equal(m.attempts, 2);
	rl_store_message_free(&m);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE lease_owner = 'w2'"), 1);
	rl_store_close(s);
}

#define CONCURRENT_ROWS 200

struct claimer {
	int64_t ids[CONCURRENT_ROWS];
	int count;
	pthread_barrier_t *start;
	char error[RL_ERR_MSG_MAX];
};

static void *claim_all(void *arg)
{
	struct claimer *c = arg;
	struct rl_store *s = NULL;
	struct rl_store_message m;
	struct rl_err err = { 0 };
	int rc;

	if (rl_store_open(pgurl, &s, &err) < 0) {
		snprintf(c->error, sizeof(c->error), "%s", err.msg);
		pthread_barrier_wait(c->start);
		return NULL;
	}
	pthread_barrier_wait(c->start);
	while ((rc = rl_store_outbound_claim(s, "thread", 300, &m, &err)) == 1) {
		if (c->count < CONCURRENT_ROWS)
			c->ids[c->count] = m.id;
		c->count++;
		rl_store_message_free(&m);
	}
	if (rc < 0)
		snprintf(c->error, sizeof(c->error), "%s", err.msg);
	rl_store_close(s);
	return NULL;
}

static void test_concurrent_claims(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct claimer *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	pthread_barrier_t start;
	pthread_t ta, tb;
	unsigned char *seen;
	int64_t first = 0;

	(void)state;
	unit_pg_empty();
	for (int i = 0; i < CONCURRENT_ROWS; i++) {
		char mid[32];
		int64_t id;

		snprintf(mid, sizeof(mid), "many-%d@test", i);
		id = submit(s, mid, NULL, "x");
		if (i == 0)
			first = id;
	}
	pthread_barrier_init(&start, NULL, 2);
	a->start = b->start = &start;
	pthread_create(&ta, NULL, claim_all, a);
	pthread_create(&tb, NULL, claim_all, b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&start);
	assert_string_equal(a->error, "");
	assert_string_equal(b->error, "");
	print_message("claims: %d and %d\n", a->count, b->count);
	assert_int_equal(a->count + b->count, CONCURRENT_ROWS);
	seen = calloc(CONCURRENT_ROWS, 1);
	for (int t = 0; t < 2; t++) {
		struct claimer *c = t ? b : a;

		for (int i = 0; i < c->count; i++) {
			int64_t k = c->ids[i] - first;

			assert_true(k >= 0 && k < CONCURRENT_ROWS);
			assert_int_equal(seen[k], 0);
			seen[k] = 1;
		}
	}
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE state = 'sending' AND attempts = 1"), CONCURRENT_ROWS);
	free(seen);
	free(a);
	free(b);
	rl_store_close(s);
}

static void test_circuit_breaker(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_message m;
	struct rl_store_stats st;
	struct rl_err err = { 0 };
	int64_t down[3], up, unrouted;

	(void)state;
	unit_pg_empty();
	assert_int_equal(rl_store_circuit_configure(s, 0, 10, &err), -1);
	assert_int_equal(rl_store_circuit_configure(s, 2, 300, &err), 0);
	for (int i = 0; i < 3; i++) {
		char mid[32];

		snprintf(mid, sizeof(mid), "down-%d@test", i);
		down[i] = submit(s, mid, "https://down.example/as4", "x");
	}
	up = submit(s, "up@test", "https://up.example/as4", "x");
	unrouted = submit(s, "unrouted@test", NULL, "x");
	/* Two transport failures toward down.example open its circuit. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
		assert_int_equal(m.id, down[i]);
		rl_store_message_free(&m);
		assert_int_equal(rl_store_outbound_failed(s, down[i], "connection refused", NULL, 0, 0, 0, 1, &err), 0);
	}
	assert_int_equal(sql("SELECT count(*) FROM circuits WHERE open_until > now()"), 1);
	/* Now only the other destination and the unrouted message are taken. */
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	assert_int_equal(m.id, up);
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	assert_int_equal(m.id, unrouted);
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 0);
	assert_int_equal(rl_store_stats(s, &st, &err), 0);
	assert_int_equal(st.circuits_open, 1);
	assert_int_equal(st.out_retry, 2);
	assert_int_equal(st.out_queued, 1);
	rl_store_stats_free(&st);
	/* A failure that is not a transport failure does not count. */
	assert_int_equal(rl_store_outbound_failed(s, up, "EBMS:0004 Other", NULL, 0, 600, 0, 0, &err), 0);
	assert_int_equal(sql("SELECT count(*) FROM circuits WHERE dest_url = 'https://up.example/as4'"), 0);
	/* Once the open time has passed one message goes through; its receipt closes the circuit. */
	sql("UPDATE circuits SET open_until = now() - interval '1 second'");
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	assert_true(m.id == down[0] || m.id == down[1] || m.id == down[2]);
	assert_int_equal(rl_store_outbound_delivered(s, m.id, "<R/>", 4, "r@x", "<E/>", 4, &err), 0);
	rl_store_message_free(&m);
	assert_int_equal(sql("SELECT consecutive_failures FROM circuits WHERE dest_url = 'https://down.example/as4'"), 0);
	assert_int_equal(sql("SELECT count(*) FROM circuits WHERE open_until IS NOT NULL"), 0);
	rl_store_close(s);
}

static void test_set_destination(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_message m;
	struct rl_err err = { 0 };
	int64_t id;

	(void)state;
	unit_pg_empty();
	id = submit(s, "route@test", NULL, "x");
	assert_int_equal(rl_store_outbound_set_destination(s, id, "https://resolved.example/as4", "PEM", &err), 0);
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.dest_url, "https://resolved.example/as4");
	assert_string_equal(m.dest_cert_pem, "PEM");
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_set_destination(s, 999999, "https://x", NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	rl_store_close(s);
}

/* Envelopes of each attempt come back newest first; a stopped owner's lease is released at once. */
struct attempt_seen {
	int attempts[4];
	char first[32];
	int n;
};

static int collect_attempt(void *ctx, int attempt, const char *envelope, size_t len)
{
	struct attempt_seen *seen = ctx;

	if (seen->n == 0)
		snprintf(seen->first, sizeof(seen->first), "%.*s", (int)len, envelope);
	seen->attempts[seen->n++] = attempt;
	return 0;
}

static void test_attempts_and_leases(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_message m;
	struct attempt_seen seen = { { 0 }, "", 0 };
	struct rl_buf owners = RL_BUF_INIT;
	struct rl_err err = { 0 };
	int64_t id;

	(void)state;
	unit_pg_empty();
	id = submit(s, "attempts@test", "https://peer.example/as4", "x");
	assert_int_equal(rl_store_outbound_attempt_record(s, id, 1, "<env1/>", 7, &err), 0);
	assert_int_equal(rl_store_outbound_attempt_record(s, id, 2, "<env2/>", 7, &err), 0);
	assert_int_equal(rl_store_outbound_attempts(s, id, collect_attempt, &seen, &err), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.attempts[0], 2);
	assert_int_equal(seen.attempts[1], 1);
	assert_string_equal(seen.first, "<env2/>");

	/* Claimed by an instance that then stops: its lease (10 minutes) is released and the row is due. */
	assert_int_equal(rl_store_outbound_claim(s, "host:424242", 600, &m, &err), 1);
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_claim(s, "host:1", 600, &m, &err), 0);
	assert_int_equal(rl_store_lease_owners(s, &owners, &err), 0);
	assert_non_null(strstr(owners.data, "host:424242\n"));
	assert_int_equal(rl_store_leases_release(s, "host:424242", &err), 0);
	assert_int_equal(rl_store_outbound_claim(s, "host:1", 600, &m, &err), 1);
	assert_int_equal(m.id, id);
	assert_int_equal(m.attempts, 2);
	rl_store_message_free(&m);
	rl_buf_free(&owners);
	rl_store_close(s);
}

/* ---------------------------------------------------------------- operator actions */

static void expect_state(struct rl_store *s, int64_t id, const char *state, int attempts)
{
	struct rl_store_message m;
	struct rl_err err = { 0 };

	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.state, state);
	if (attempts >= 0)
		assert_int_equal(m.attempts, attempts);
	rl_store_message_free(&m);
}

/* A failed outbound message is queued again with its attempts counted anew; the earlier attempts' envelopes
 * stay; delivered, queued and sending ones, inbound ones and unknown ones are refused and left as they were. */
static void test_operator_retry(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_message m;
	struct attempt_seen seen = { { 0 }, "", 0 };
	struct rl_buf buf = RL_BUF_INIT;
	struct rl_err err = { 0 };
	int64_t id, queued, row = 0;
	long long events;

	(void)state;
	unit_pg_empty();
	id = submit(s, "retry-me@test", "https://down.example/as4", "x");
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
		assert_int_equal(m.attempts, i);
		assert_int_equal(rl_store_outbound_attempt_record(s, id, i, i == 1 ? "<a1/>" : "<a2/>", 5, &err), 0);
		rl_store_message_free(&m);
		assert_int_equal(rl_store_outbound_failed(s, id, "connection refused", NULL, 0, 0, i == 2, 0, &err), 0);
	}
	expect_state(s, id, "failed", 2);

	/* Queued, never claimed: refused, nothing changed. */
	queued = submit(s, "still-queued@test", "https://other.example/as4", "y");
	events = sql("SELECT count(*) FROM message_events");
	assert_int_equal(rl_store_outbound_retry(s, queued, NULL, "cli", NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_STATE);
	assert_non_null(strstr(err.msg, "is queued"));
	assert_int_equal(sql("SELECT count(*) FROM message_events"), events);

	/* By MessageId: retry, due now, attempts from 0 again; the first claim is attempt 1. The destination
	 * is paused (its circuit open): the retry lets the next attempt toward it through. */
	sql("INSERT INTO circuits (dest_url, consecutive_failures, open_until)"
	    " VALUES ('https://down.example/as4', 5, now() + interval '1 hour')");
	assert_int_equal(rl_store_outbound_retry(s, 0, "retry-me@test", "cli", &row, &err), 0);
	assert_int_equal(row, id);
	expect_state(s, id, "retry", 0);
	assert_int_equal(sql("SELECT count(*) FROM circuits WHERE open_until > now()"), 0);
	assert_int_equal(sql("SELECT consecutive_failures FROM circuits"), 5);
	assert_int_equal(sql("SELECT count(*) FROM message_events WHERE message = %lld AND detail ="
			     " 'retry requested by cli (the paused destination is tried again)'", (long long)id), 1);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE id = %lld AND next_attempt_at <= now()", (long long)id), 1);
	sql("UPDATE messages SET next_attempt_at = now() + interval '1 hour' WHERE id = %lld", (long long)queued);
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	assert_int_equal(m.id, id);
	assert_int_equal(m.attempts, 1);
	rl_store_message_free(&m);
	/* Being sent (a live lease): refused. */
	assert_int_equal(rl_store_outbound_retry(s, id, NULL, "api", NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_STATE);
	assert_non_null(strstr(err.msg, "is sending"));
	expect_state(s, id, "sending", 1);
	/* The new attempt 1 is recorded beside the two before: numbered 1, 0 and -1 for this round. */
	assert_int_equal(rl_store_outbound_attempt_record(s, id, 1, "<b1/>", 5, &err), 0);
	assert_int_equal(sql("SELECT count(*) FROM sent_attempts WHERE message = %lld", (long long)id), 3);
	assert_int_equal(rl_store_outbound_attempts(s, id, collect_attempt, &seen, &err), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.first, "<b1/>");
	assert_int_equal(seen.attempts[0], 1);
	assert_int_equal(seen.attempts[1], 0);
	assert_int_equal(seen.attempts[2], -1);
	assert_int_equal(rl_store_outbound_delivered(s, id, "<R/>", 4, "r@peer", "<b1/>", 5, &err), 0);

	/* Delivered: never sent again. */
	assert_int_equal(rl_store_outbound_retry(s, id, NULL, "cli", NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_STATE);
	assert_non_null(strstr(err.msg, "was delivered"));
	assert_int_equal(rl_store_outbound_retry(s, 0, "retry-me@test", "cli", NULL, &err), -1);
	assert_string_equal(err.msg, "message retry-me@test was delivered: it is never sent again");
	expect_state(s, id, "delivered", 1);
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 0);

	/* Unknown, and an inbound MessageId is no outbound message. */
	assert_int_equal(rl_store_outbound_retry(s, 999999, NULL, "cli", NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	assert_int_equal(rl_store_outbound_retry(s, 0, "nobody@test", "cli", NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	assert_int_equal(rl_store_outbound_retry(s, 0, NULL, "cli", NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);

	assert_int_equal(rl_store_message_history(s, id, &buf, &err), 0);
	assert_non_null(strstr(buf.data, " failed connection refused\n"));
	assert_non_null(strstr(buf.data, " retry retry requested by cli (the paused destination is tried again)\n"));
	assert_non_null(strstr(buf.data, " sending attempt 1 by w\n"));
	assert_int_equal(sql("SELECT count(*) FROM message_events WHERE message = %lld AND detail LIKE 'retry requested%%'",
			     (long long)id), 1);
	rl_buf_free(&buf);
	rl_store_close(s);
}

/* An inbound message delivered (or failed) gets its deliveries pending again for the channels configured
 * now; one still being delivered, an outbound one and an unknown one are refused. */
static void test_operator_redeliver(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_delivery d1, d2, d3;
	struct rl_store_inbound in;
	struct rl_buf buf = RL_BUF_INIT;
	struct rl_err err = { 0 };
	FILE *fp = file_with("<Invoice/>");
	int64_t id, out, row = 0;
	long long events;

	(void)state;
	unit_pg_empty();
	inbound_fill(&in, "redeliver@peer", "<R/>", fp);
	in.deliver_inbox = 1;
	assert_int_equal(rl_store_inbound_commit(s, &in, &id, NULL, &err), 0);
	/* Still being delivered: refused. */
	events = sql("SELECT count(*) FROM message_events");
	assert_int_equal(rl_store_inbound_redeliver(s, id, NULL, "cli", 1, 0, NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_STATE);
	assert_non_null(strstr(err.msg, "being delivered"));
	assert_int_equal(sql("SELECT count(*) FROM message_events"), events);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d1, &err), 1);
	assert_int_equal(rl_store_delivery_done(s, &d1, &err), 0);
	expect_state(s, id, "delivered", -1);

	/* No channel configured: nothing to do. */
	assert_int_equal(rl_store_inbound_redeliver(s, id, NULL, "cli", 0, 0, NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_CONFIG);
	expect_state(s, id, "delivered", -1);

	/* By MessageId, with a webhook configured since: the inbox row pending again from attempt 0, a new
	 * webhook row; the message received with two deliveries pending. */
	assert_int_equal(rl_store_inbound_redeliver(s, 0, "redeliver@peer", "cli", 1, 1, &row, &err), 0);
	assert_int_equal(row, id);
	expect_state(s, id, "received", -1);
	assert_int_equal(sql("SELECT deliveries_pending FROM messages WHERE id = %lld", (long long)id), 2);
	assert_int_equal(sql("SELECT count(*) FROM deliveries WHERE message = %lld AND state = 'pending' AND attempts = 0"
			     " AND next_attempt_at <= now()", (long long)id), 2);
	assert_int_equal(rl_store_inbound_redeliver(s, id, NULL, "cli", 1, 1, NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_STATE);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d2, &err), 1);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d3, &err), 1);
	assert_int_equal(d2.attempts, 1);
	assert_int_equal(rl_store_delivery_done(s, &d2, &err), 0);
	expect_state(s, id, "received", -1);
	/* The webhook gives up: failed; a redelivery then, with only the inbox configured. */
	assert_int_equal(rl_store_delivery_failed(s, &d3, "webhook answered 500", 0, 1, &err), 0);
	expect_state(s, id, "failed", -1);
	assert_int_equal(rl_store_inbound_redeliver(s, id, NULL, "api", 1, 0, NULL, &err), 0);
	assert_int_equal(sql("SELECT deliveries_pending FROM messages WHERE id = %lld", (long long)id), 1);
	assert_int_equal(sql("SELECT count(*) FROM deliveries WHERE message = %lld AND state = 'pending'", (long long)id), 1);
	rl_store_delivery_free(&d1);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d1, &err), 1);
	assert_int_equal(d1.channel, RL_DELIVERY_INBOX);
	assert_int_equal(rl_store_delivery_done(s, &d1, &err), 0);
	expect_state(s, id, "delivered", -1);

	/* Outbound, unknown. */
	out = submit(s, "outbound@test", "https://peer.example/as4", "x");
	assert_int_equal(rl_store_inbound_redeliver(s, out, NULL, "cli", 1, 0, NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_STATE);
	assert_non_null(strstr(err.msg, "outbound"));
	assert_int_equal(rl_store_inbound_redeliver(s, 0, "outbound@test", "cli", 1, 0, NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	assert_int_equal(rl_store_inbound_redeliver(s, 999999, NULL, "cli", 1, 0, NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);

	assert_int_equal(rl_store_message_history(s, id, &buf, &err), 0);
	assert_non_null(strstr(buf.data, " received redelivery requested by cli (inbox, webhook)\n"));
	assert_non_null(strstr(buf.data, " received redelivery requested by api (inbox)\n"));
	assert_non_null(strstr(buf.data, " delivered inbox delivery done (attempt 1)\n"));
	rl_store_delivery_free(&d1);
	rl_store_delivery_free(&d2);
	rl_store_delivery_free(&d3);
	rl_buf_free(&buf);
	fclose(fp);
	rl_store_close(s);
}

/* ---------------------------------------------------------------- inbound and deliveries */

static void test_inbound_duplicate(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_inbound in;
	struct rl_store_message m;
	struct rl_buf receipt = RL_BUF_INIT;
	struct rl_err err = { 0 };
	FILE *fp = file_with("<Invoice>1</Invoice>");
	int64_t id = 0, id2 = 0;

	(void)state;
	unit_pg_empty();
	assert_int_equal(rl_store_inbound_find_receipt(s, "in-1@peer", &receipt, &err), 0);
	inbound_fill(&in, "in-1@peer", "<Receipt>first</Receipt>", fp);
	in.deliver_inbox = 1;
	assert_int_equal(rl_store_inbound_commit(s, &in, &id, &receipt, &err), 0);
	assert_true(id > 0);
	assert_int_equal(rl_store_inbound_find_receipt(s, "in-1@peer", &receipt, &err), 1);
	assert_string_equal(receipt.data, "<Receipt>first</Receipt>");
	/* The same MessageId again: nothing written, the first receipt comes back. */
	rewind(fp);
	inbound_fill(&in, "in-1@peer", "<Receipt>second</Receipt>", fp);
	in.deliver_inbox = 1;
	rl_buf_reset(&receipt);
	assert_int_equal(rl_store_inbound_commit(s, &in, &id2, &receipt, &err), 1);
	assert_string_equal(receipt.data, "<Receipt>first</Receipt>");
	assert_int_equal(sql("SELECT count(*) FROM messages"), 1);
	assert_int_equal(sql("SELECT count(*) FROM deliveries"), 1);
	assert_int_equal(sql(STORED_PAYLOADS), 1);
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_int_equal(m.direction, RL_DIR_IN);
	assert_string_equal(m.state, "received");
	assert_string_equal(m.from_party, "POP000001");
	assert_string_equal(m.receipt_message_id, "receipt-1@relais");
	assert_int_equal(m.payload_size, strlen("<Invoice>1</Invoice>"));
	rl_store_message_free(&m);
	assert_int_equal(rl_store_message_envelope(s, id, &receipt, &err), 1);
	assert_string_equal(receipt.data, "<S:Envelope/>");
	rl_buf_free(&receipt);
	fclose(fp);
	rl_store_close(s);
}

#define RACES 20

struct racer {
	const char *receipt;
	int outcome[RACES];
	char got[RACES][64];
	pthread_barrier_t *start;
	char error[RL_ERR_MSG_MAX];
};

static void *commit_race(void *arg)
{
	struct racer *r = arg;
	struct rl_store *s = NULL;
	struct rl_err err = { 0 };

	if (rl_store_open(pgurl, &s, &err) < 0)
		snprintf(r->error, sizeof(r->error), "%s", err.msg);
	for (int i = 0; i < RACES; i++) {
		struct rl_store_inbound in;
		struct rl_buf receipt = RL_BUF_INIT;
		char mid[32];
		FILE *fp = tmpfile();
		int64_t id;

		snprintf(mid, sizeof(mid), "race-%d@peer", i);
		fputs("<Invoice/>", fp);
		rewind(fp);
		inbound_fill(&in, mid, r->receipt, fp);
		in.deliver_inbox = in.deliver_webhook = 1;
		pthread_barrier_wait(r->start);
		r->outcome[i] = s ? rl_store_inbound_commit(s, &in, &id, &receipt, &err) : -1;
		if (r->outcome[i] < 0 && s)
			snprintf(r->error, sizeof(r->error), "%s", err.msg);
		snprintf(r->got[i], sizeof(r->got[i]), "%s", receipt.data ? receipt.data : "");
		rl_buf_free(&receipt);
		fclose(fp);
	}
	rl_store_close(s);
	return NULL;
}

static void test_inbound_race(void **state)
{
	struct racer a = { .receipt = "<R>a</R>" }, b = { .receipt = "<R>b</R>" };
	pthread_barrier_t start;
	pthread_t ta, tb;

	(void)state;
	unit_pg_empty();
	pthread_barrier_init(&start, NULL, 2);
	a.start = b.start = &start;
	pthread_create(&ta, NULL, commit_race, &a);
	pthread_create(&tb, NULL, commit_race, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&start);
	assert_string_equal(a.error, "");
	assert_string_equal(b.error, "");
	for (int i = 0; i < RACES; i++) {
		/* Exactly one commits; the other gets the winner's receipt. */
		assert_int_equal(a.outcome[i] + b.outcome[i], 1);
		if (a.outcome[i] == 1)
			assert_string_equal(a.got[i], b.receipt);
		else
			assert_string_equal(b.got[i], a.receipt);
	}
	assert_int_equal(sql("SELECT count(*) FROM messages"), RACES);
	assert_int_equal(sql("SELECT count(*) FROM deliveries"), 2 * RACES);
	assert_int_equal(sql(STORED_PAYLOADS), RACES);
}

static void test_deliveries(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_delivery d1, d2, d3;
	struct rl_store_inbound in;
	struct rl_store_message m;
	struct rl_buf buf = RL_BUF_INIT;
	struct rl_err err = { 0 };
	FILE *fp = file_with("<Invoice/>");
	int64_t id, id2;

	(void)state;
	unit_pg_empty();
	inbound_fill(&in, "deliver@peer", "<R/>", fp);
	in.deliver_inbox = in.deliver_webhook = 1;
	assert_int_equal(rl_store_inbound_commit(s, &in, &id, NULL, &err), 0);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d1, &err), 1);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d2, &err), 1);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d3, &err), 0);
	assert_int_equal(d1.message, id);
	assert_int_equal(d2.message, id);
	assert_true(d1.channel != d2.channel);
	assert_string_equal(d1.message_id, "deliver@peer");
	assert_string_equal(d1.payload_mime_type, "application/xml");
	assert_int_equal(d1.attempts, 1);
	/* The payload for the backend. */
	assert_int_equal(rl_store_payload_read(s, d1.message, &(struct rl_sink){ rl_sink_buf_write, &buf }, &err), 0);
	assert_string_equal(buf.data, "<Invoice/>");
	/* One done: still received. A failed attempt of the other: retried later. */
	assert_int_equal(rl_store_delivery_done(s, &d1, &err), 0);
	assert_int_equal(rl_store_delivery_failed(s, &d2, "webhook answered 503", 30, 0, &err), 0);
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.state, "received");
	rl_store_message_free(&m);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d3, &err), 0);
	sql("UPDATE deliveries SET next_attempt_at = now() - interval '1 second' WHERE state = 'pending'");
	/* A lease of 0 runs out at once: the delivery can be taken again (a worker died). */
	assert_int_equal(rl_store_delivery_claim(s, "d", 0, &d3, &err), 1);
	assert_int_equal(d3.id, d2.id);
	assert_int_equal(d3.attempts, 2);
	rl_store_delivery_free(&d3);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d3, &err), 1);
	assert_int_equal(d3.attempts, 3);
	/* The last one done: the message is delivered, once, even when done is reported twice. */
	assert_int_equal(rl_store_delivery_done(s, &d3, &err), 0);
	assert_int_equal(rl_store_delivery_done(s, &d2, &err), 0);
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.state, "delivered");
	rl_store_message_free(&m);
	rl_buf_reset(&buf);
	assert_int_equal(rl_store_message_history(s, id, &buf, &err), 0);
	assert_non_null(strstr(buf.data, " received receipt receipt-1@relais\n"));
	assert_non_null(strstr(buf.data, " received webhook delivery retry in 30s: webhook answered 503\n"));
	assert_non_null(strstr(buf.data, " delivered webhook delivery done (attempt 3)\n"));
	rl_store_delivery_free(&d1);
	rl_store_delivery_free(&d2);
	rl_store_delivery_free(&d3);

	/* A delivery that gives up fails the message. */
	rewind(fp);
	inbound_fill(&in, "undeliverable@peer", "<R/>", fp);
	in.deliver_inbox = 1;
	assert_int_equal(rl_store_inbound_commit(s, &in, &id2, NULL, &err), 0);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d1, &err), 1);
	assert_int_equal(rl_store_delivery_failed(s, &d1, "inbox is not writable", 0, 1, &err), 0);
	assert_int_equal(rl_store_message_get(s, id2, NULL, 0, &m, &err), 1);
	assert_string_equal(m.state, "failed");
	assert_string_equal(m.last_error, "inbox delivery: inbox is not writable");
	rl_store_message_free(&m);
	assert_int_equal(rl_store_delivery_claim(s, "d", 300, &d2, &err), 0);
	rl_store_delivery_free(&d1);
	rl_buf_free(&buf);
	fclose(fp);
	rl_store_close(s);
}

/* Deliveries taken by the receiving process at commit, done in one batch. */
static void test_leased_deliveries(void **state)
{
	struct rl_store *s = unit_pg_store(), *other = unit_pg_store();
	struct rl_store_delivery leased[2], leased2[2], d;
	struct rl_store_inbound in;
	struct rl_store_message m;
	struct rl_buf buf = RL_BUF_INIT;
	struct rl_err err = { 0 };
	int64_t id, id2;
	int n = -1, n2 = -1;

	(void)state;
	unit_pg_empty();
	assert_int_equal(rl_store_listen(other, "relais_delivery", &err), 0);
	inbound_fill(&in, "leased@peer", "<R/>", NULL);
	in.payload_data = "<Invoice>in memory</Invoice>";
	in.payload_len = strlen(in.payload_data);
	in.deliver_inbox = in.deliver_webhook = 1;
	assert_int_equal(rl_store_inbound_commit_leased(s, &in, "host:1", 300, &id, leased, &n, NULL, &err), 0);
	assert_int_equal(n, 2);
	assert_true(leased[0].channel != leased[1].channel);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(leased[i].message, id);
		assert_int_equal(leased[i].attempts, 1);
		assert_string_equal(leased[i].message_id, "leased@peer");
		assert_string_equal(leased[i].payload_mime_type, "application/xml");
	}
	assert_int_equal(sql("SELECT count(*) FROM deliveries WHERE lease_owner = 'host:1' AND attempts = 1"), 2);
	/* Taken: no other worker can claim them, and nobody was woken. */
	assert_int_equal(rl_store_delivery_claim(other, "d", 300, &d, &err), 0);
	assert_int_equal(rl_store_wait(other, 200, &err), 0);
	/* The payload given in memory is stored in the row. */
	assert_int_equal(rl_store_payload_read(s, id, &(struct rl_sink){ rl_sink_buf_write, &buf }, &err), 0);
	assert_string_equal(buf.data, "<Invoice>in memory</Invoice>");
	/* A second message, one delivery: both messages' deliveries done by one statement. */
	inbound_fill(&in, "leased-2@peer", "<R/>", NULL);
	in.payload_data = "";
	in.payload_len = 0;
	in.deliver_inbox = 1;
	assert_int_equal(rl_store_inbound_commit_leased(s, &in, "host:1", 300, &id2, leased2, &n2, NULL, &err), 0);
	assert_int_equal(n2, 1);
	{
		struct rl_store_delivery batch[3] = { leased[0], leased2[0], leased[1] };

		assert_int_equal(rl_store_deliveries_done(s, batch, 3, &err), 0);
		/* Done twice changes nothing. */
		assert_int_equal(rl_store_deliveries_done(s, batch, 3, &err), 0);
	}
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.state, "delivered");
	rl_store_message_free(&m);
	assert_int_equal(rl_store_message_get(s, id2, NULL, 0, &m, &err), 1);
	assert_string_equal(m.state, "delivered");
	assert_int_equal(m.payload_size, 0);
	rl_store_message_free(&m);
	assert_int_equal(sql("SELECT deliveries_pending FROM messages WHERE id = %lld", (long long)id), 0);
	/* One event per delivery done (both carry the state the batch left). */
	assert_int_equal(sql("SELECT count(*) FROM message_events WHERE message = %lld AND detail IN"
			     " ('inbox delivery done (attempt 1)', 'webhook delivery done (attempt 1)')", (long long)id), 2);
	assert_int_equal(sql("SELECT count(*) FROM deliveries WHERE state = 'done'"), 3);
	/* A duplicate is refused as before, with nothing taken. */
	inbound_fill(&in, "leased@peer", "<R2/>", NULL);
	in.deliver_inbox = 1;
	rl_buf_reset(&buf);
	n = -1;
	assert_int_equal(rl_store_inbound_commit_leased(s, &in, "host:1", 300, &id2, leased2 + 1, &n, &buf, &err), 1);
	assert_int_equal(n, 0);
	assert_string_equal(buf.data, "<R/>");
	rl_store_delivery_free(&leased[0]);
	rl_store_delivery_free(&leased[1]);
	rl_store_delivery_free(&leased2[0]);
	rl_buf_free(&buf);
	rl_store_close(other);
	rl_store_close(s);
}

/* ---------------------------------------------------------------- payloads */

struct digest_sink {
	EVP_MD_CTX *md;
	size_t total;
	size_t largest;
};

static int digest_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct digest_sink *d = ctx;

	(void)err;
	EVP_DigestUpdate(d->md, data, len);
	d->total += len;
	if (len > d->largest)
		d->largest = len;
	return 0;
}

static int failing_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	(void)ctx;
	(void)data;
	(void)len;
	return rl_err_set(err, RL_ERR_IO, "disk full");
}

static void test_large_payload(void **state)
{
	const size_t size = 5 * 1024 * 1024 + 123;
	struct rl_store *s = unit_pg_store();
	struct rl_store_submission sub = { 0 };
	struct rl_store_inbound in;
	struct digest_sink ds = { 0 };
	struct rl_store_message m;
	struct rl_err err = { 0 };
	unsigned char want[32], got[32], block[4096];
	unsigned int len;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	FILE *fp = tmpfile();
	uint32_t x = 12345;
	char *mid = NULL;
	int64_t id, in_id;

	(void)state;
	unit_pg_empty();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t done = 0; done < size;) {
		size_t n = size - done < sizeof(block) ? size - done : sizeof(block);

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			block[i] = (unsigned char)(x >> 16);
		}
		fwrite(block, 1, n, fp);
		EVP_DigestUpdate(md, block, n);
		done += n;
	}
	EVP_DigestFinal_ex(md, want, &len);
	rewind(fp);
	sub.payload = fp;
	sub.payload_mime_type = "application/octet-stream";
	assert_int_equal(rl_store_outbound_submit(s, &sub, &id, &mid, &err), 0);
	free(mid);
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_int_equal(m.payload_size, size);
	assert_string_equal(m.payload_mime_type, "application/octet-stream");
	rl_store_message_free(&m);

	ds.md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ds.md, EVP_sha256(), NULL);
	assert_int_equal(rl_store_payload_read(s, id, &(struct rl_sink){ digest_write, &ds }, &err), 0);
	EVP_DigestFinal_ex(ds.md, got, &len);
	assert_int_equal(ds.total, size);
	assert_true(ds.largest <= 64 * 1024);
	assert_memory_equal(got, want, 32);

	/* Inbound too, from the middle of a file: only what follows the position is stored. */
	fseek(fp, (long)(size - 70000), SEEK_SET);
	inbound_fill(&in, "big@peer", "<R/>", fp);
	assert_int_equal(rl_store_inbound_commit(s, &in, &in_id, NULL, &err), 0);
	assert_int_equal(rl_store_message_get(s, in_id, NULL, 0, &m, &err), 1);
	assert_int_equal(m.payload_size, 70000);
	rl_store_message_free(&m);

	/* A sink that fails stops the read with its error. */
	assert_int_equal(rl_store_payload_read(s, id, &(struct rl_sink){ failing_write, NULL }, &err), -1);
	assert_int_equal(err.code, RL_ERR_IO);
	assert_int_equal(rl_store_payload_read(s, 999999, &(struct rl_sink){ digest_write, &ds }, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	/* The connection is still usable afterwards. */
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	rl_store_message_free(&m);
	EVP_MD_CTX_free(ds.md);
	EVP_MD_CTX_free(md);
	fclose(fp);
	rl_store_close(s);
}

/* ---------------------------------------------------------------- queries */

static int collect(void *ctx, const struct rl_store_message *m)
{
	struct rl_buf *b = ctx;

	rl_buf_printf(b, "%s,", m->message_id);
	return 0;
}

static int stop_after_first(void *ctx, const struct rl_store_message *m)
{
	(void)m;
	(*(int *)ctx)++;
	return 1;
}

static void test_list_and_stats(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_stats st;
	struct rl_store_inbound in;
	struct rl_store_message m;
	struct rl_buf buf = RL_BUF_INIT;
	struct rl_err err = { 0 };
	FILE *fp = file_with("x");
	int64_t a, b, id;
	int calls = 0;

	(void)state;
	unit_pg_empty();
	assert_int_equal(rl_store_stats(s, &st, &err), 0);
	assert_int_equal(st.out_queued + st.in_received + st.deliveries_pending, 0);
	assert_null(st.last_error);
	rl_store_stats_free(&st);

	a = submit(s, "a@test", NULL, "x");
	b = submit(s, "b@test", NULL, "x");
	submit(s, "c@test", NULL, "x");
	inbound_fill(&in, "in@peer", "<R/>", fp);
	in.deliver_webhook = 1;
	assert_int_equal(rl_store_inbound_commit(s, &in, &id, NULL, &err), 0);
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	assert_int_equal(m.id, a);
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_delivered(s, a, "<R/>", 4, "r", "<E/>", 4, &err), 0);
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_failed(s, b, "EBMS:0004 Other: no", NULL, 0, 0, 1, 0, &err), 0);

	assert_int_equal(rl_store_stats(s, &st, &err), 0);
	assert_int_equal(st.out_queued, 1);
	assert_int_equal(st.out_sending, 0);
	assert_int_equal(st.out_delivered, 1);
	assert_int_equal(st.out_failed, 1);
	assert_int_equal(st.in_received, 1);
	assert_int_equal(st.deliveries_pending, 1);
	assert_int_equal(st.circuits_open, 0);
	assert_string_equal(st.last_error, "EBMS:0004 Other: no");
	assert_string_equal(st.last_error_message_id, "b@test");
	assert_true(st.last_error_at > time(NULL) - 60);
	rl_store_stats_free(&st);

	assert_int_equal(rl_store_message_list(s, NULL, -1, 0, collect, &buf, &err), 0);
	assert_string_equal(buf.data, "in@peer,c@test,b@test,a@test,");
	rl_buf_reset(&buf);
	assert_int_equal(rl_store_message_list(s, NULL, RL_DIR_OUT, 2, collect, &buf, &err), 0);
	assert_string_equal(buf.data, "c@test,b@test,");
	rl_buf_reset(&buf);
	assert_int_equal(rl_store_message_list(s, "failed", -1, 10, collect, &buf, &err), 0);
	assert_string_equal(buf.data, "b@test,");
	assert_int_equal(rl_store_message_list(s, NULL, -1, 10, stop_after_first, &calls, &err), 0);
	assert_int_equal(calls, 1);
	rl_buf_free(&buf);
	fclose(fp);
	rl_store_close(s);
}

/* ---------------------------------------------------------------- wake-ups and reconnecting */

static long long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000LL + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void test_listen_wait(void **state)
{
	struct rl_store *waiter = unit_pg_store(), *s = unit_pg_store();
	struct rl_store_message m;
	struct rl_err err = { 0 };
	struct timespec t0;

	(void)state;
	unit_pg_empty();
	assert_int_equal(rl_store_listen(waiter, "relais_outbound", &err), 0);
	assert_int_equal(rl_store_listen(waiter, "relais_state", &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(rl_store_wait(waiter, 100, &err), 0);
	assert_true(elapsed_ms(&t0) >= 90);
	{
		/* Submitted by one who waits for the outcome (relais send). */
		struct rl_store_submission sub = { 0 };
		char *mid = NULL;
		int64_t id;

		sub.message_id = "wake@test";
		sub.wake_on_outcome = 1;
		assert_int_equal(rl_store_outbound_submit(s, &sub, &id, &mid, &err), 0);
		free(mid);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(rl_store_wait(waiter, 5000, &err) >= 1);
	assert_true(elapsed_ms(&t0) < 4000);
	/* Everything queued was taken by that wake-up. */
	assert_int_equal(rl_store_wait(waiter, 50, &err), 0);
	/* A state change (the claim, the receipt) wakes relais_state listeners. */
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	assert_true(rl_store_wait(waiter, 5000, &err) >= 1);
	assert_int_equal(rl_store_wait(waiter, 50, &err), 0);
	assert_int_equal(rl_store_outbound_delivered(s, m.id, "<R/>", 4, "r", "<E/>", 4, &err), 0);
	rl_store_message_free(&m);
	assert_true(rl_store_wait(waiter, 5000, &err) >= 1);
	/* Nobody waits for this one: its claim and receipt wake no relais_state listener. */
	{
		struct rl_store *state_only = unit_pg_store();

		assert_int_equal(rl_store_listen(state_only, "relais_state", &err), 0);
		submit(s, "quiet@test", NULL, "x");
		assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
		assert_string_equal(m.message_id, "quiet@test");
		assert_int_equal(rl_store_outbound_delivered(s, m.id, "<R/>", 4, "r", "<E/>", 4, &err), 0);
		rl_store_message_free(&m);
		assert_int_equal(rl_store_wait(state_only, 200, &err), 0);
		rl_store_close(state_only);
	}
	/* A received message wakes relais_delivery listeners. */
	{
		struct rl_store *deliverer = unit_pg_store();
		struct rl_store_inbound in;
		FILE *fp = file_with("<Invoice/>");
		int64_t id;

		assert_int_equal(rl_store_listen(deliverer, "relais_delivery", &err), 0);
		submit(s, "no-delivery-wake@test", NULL, "x");
		assert_int_equal(rl_store_wait(deliverer, 100, &err), 0);
		inbound_fill(&in, "wake@peer", "<R/>", fp);
		in.deliver_inbox = 1;
		assert_int_equal(rl_store_inbound_commit(s, &in, &id, NULL, &err), 0);
		assert_true(rl_store_wait(deliverer, 5000, &err) >= 1);
		fclose(fp);
		rl_store_close(deliverer);
	}
	rl_store_close(waiter);
	rl_store_close(s);
}

static void test_reconnect_after_restart(void **state)
{
	const char *restart = getenv("RELAIS_TEST_PG_RESTART");
	struct rl_store *s, *waiter, *other;
	struct rl_store_message m;
	struct rl_err err = { 0 };
	int64_t id;
	int rc;

	(void)state;
	if (restart == NULL || *restart == '\0')
		skip();
	unit_pg_empty();
	s = unit_pg_store();
	waiter = unit_pg_store();
	assert_int_equal(rl_store_listen(waiter, "relais_outbound", &err), 0);
	id = submit(s, "before-restart@test", NULL, "x");
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	rl_store_message_free(&m);

	assert_int_equal(system(restart), 0);
	/* Prepared statements and the connection are gone: the next call reconnects and carries on. */
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	assert_string_equal(m.message_id, "before-restart@test");
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_claim(s, "w", 300, &m, &err), 1);
	rl_store_message_free(&m);
	submit(s, "after-restart@test", NULL, "x");
	/* The listener reconnects too (reporting a wake-up, as it may have missed some) and listens again. */
	rc = rl_store_wait(waiter, 5000, &err);
	if (rc < 0)
		fail_msg("wait after restart: %s", err.msg);
	assert_int_equal(rc, 1);
	while (rl_store_wait(waiter, 50, &err) == 1)
		;
	other = unit_pg_store();
	submit(other, "wake-after-restart@test", NULL, "x");
	assert_true(rl_store_wait(waiter, 5000, &err) >= 1);
	rl_store_close(other);
	rl_store_close(waiter);
	rl_store_close(s);
}

/* Cuts the store's connections (application_name relais) from a side connection. */
static void terminate_store_backends(void)
{
	sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'relais'");
}

/* A payload stream that cuts the database connection once the first 64 KiB chunk has been read. */
struct cutting_reader {
	size_t served, size;
	int cut;
};

static ssize_t cutting_read(void *cookie, char *buf, size_t size)
{
	struct cutting_reader *r = cookie;
	size_t n = r->size - r->served < size ? r->size - r->served : size;

	if (r->served >= 64 * 1024 && !r->cut) {
		terminate_store_backends();
		r->cut = 1;
	}
	memset(buf, 'p', n);
	r->served += n;
	return (ssize_t)n;
}

static void test_connection_cut(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct cutting_reader reader = { .size = 300 * 1024 };
	struct rl_store_submission sub = { 0 };
	struct rl_store_message m;
	struct rl_err err = { 0 };
	char *mid = NULL;
	int64_t id;

	(void)state;
	unit_pg_empty();
	id = submit(s, "cut@test", NULL, "x");
	/* Cut between two statements: the next one reconnects and runs. */
	terminate_store_backends();
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	rl_store_message_free(&m);
	/* Cut in the middle of a transaction (streaming a payload): not repeated, reported, nothing kept. */
	sub.message_id = "cut-in-transaction@test";
	sub.payload = fopencookie(&reader, "r", (cookie_io_functions_t){ .read = cutting_read });
	assert_non_null(sub.payload);
	assert_int_equal(rl_store_outbound_submit(s, &sub, &id, &mid, &err), -1);
	assert_int_equal(err.code, RL_ERR_DB);
	assert_null(mid);
	fclose(sub.payload);
	assert_int_equal(reader.cut, 1);
	assert_int_equal(sql("SELECT count(*) FROM messages"), 1);
	assert_int_equal(sql(STORED_PAYLOADS), 1);
	/* The store carries on. */
	id = submit(s, "after-cut@test", NULL, "y");
	assert_int_equal(rl_store_message_get(s, id, NULL, 0, &m, &err), 1);
	rl_store_message_free(&m);
	rl_store_close(s);
}

/* Instances migrating a fresh database at the same time take turns: each migration is applied once. */
struct migrator {
	const char *url;
	int applied, version;
	char error[RL_ERR_MSG_MAX];
};

static void *migrate_fresh(void *arg)
{
	struct migrator *mg = arg;
	struct rl_store *s = NULL;
	struct rl_err err = { 0 };

	if (rl_store_open(mg->url, &s, &err) < 0 || rl_store_migrate(s, &mg->applied, &err) < 0 ||
	    rl_store_schema_version(s, &mg->version, &err) < 0)
		snprintf(mg->error, sizeof(mg->error), "%s", err.msg);
	rl_store_close(s);
	return NULL;
}

static void test_concurrent_migrate(void **state)
{
	const char *url = getenv("RELAIS_TEST_PGURL_FRESH");
	struct migrator mg[3] = { { 0 } };
	pthread_t t[3];
	int total = 0;

	(void)state;
	if (url == NULL || *url == '\0')
		skip();
	for (int i = 0; i < 3; i++) {
		mg[i].url = url;
		pthread_create(&t[i], NULL, migrate_fresh, &mg[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_string_equal(mg[i].error, "");
		assert_int_equal(mg[i].version, rl_store_schema_target());
		total += mg[i].applied;
	}
	assert_int_equal(total, rl_store_schema_target());
}

/* The delivered record claims the next due message in the same statement: the oldest due, never the
 * delivered one itself, none after an unknown id. */
static void test_delivered_claims_next(void **state)
{
	struct rl_store *s = unit_pg_store();
	struct rl_store_message m, next;
	struct rl_err err = { 0 };
	int64_t a, b, c;

	(void)state;
	unit_pg_empty();
	a = submit(s, "next-a@test", "https://ap.example/as4", "<A/>");
	b = submit(s, "next-b@test", "https://ap.example/as4", "<B/>");
	c = submit(s, "next-c@test", "https://ap.example/as4", "<C/>");
	sql("UPDATE messages SET next_attempt_at = now() - interval '1 minute' WHERE id = %lld", (long long)b);
	assert_int_equal(rl_store_outbound_claim(s, "worker-a", 300, &m, &err), 1);
	assert_int_equal(m.id, b);
	rl_store_message_free(&m);
	assert_int_equal(rl_store_outbound_claim(s, "worker-a", 300, &m, &err), 1);
	assert_int_equal(m.id, a);

	/* An unknown id records nothing and takes nothing. */
	assert_int_equal(rl_store_outbound_delivered_claim(s, 999999, "<R/>", 4, "r", "<E/>", 4, NULL, "worker-b", 300,
							   &next, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE state = 'queued'"), 1);

	/* a delivered: c, the one still due, is claimed for worker-b with its payload. */
	assert_int_equal(rl_store_outbound_delivered_claim(s, a, "<R/>", 4, "ra@peer", "<E/>", 4, "doc-a", "worker-b", 300,
							   &next, &err), 1);
	assert_int_equal(next.id, c);
	assert_string_equal(next.state, "sending");
	assert_int_equal(next.attempts, 1);
	assert_true(next.payload_here);
	assert_memory_equal(next.payload, "<C/>", 4);
	rl_store_message_free(&next);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE id = %lld AND state = 'delivered' AND"
			     " receipt_message_id = 'ra@peer' AND document_id = 'doc-a' AND lease_owner IS NULL",
			     (long long)a), 1);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE id = %lld AND lease_owner = 'worker-b'",
			     (long long)c), 1);
	assert_int_equal(sql("SELECT count(*) FROM message_events WHERE message = %lld AND detail = 'attempt 1 by worker-b'",
			     (long long)c), 1);
	rl_store_message_free(&m);

	/* b delivered by a worker that is stopping (no worker): nothing is claimed, though d is due. */
	submit(s, "next-d@test", "https://ap.example/as4", "<D/>");
	assert_int_equal(rl_store_outbound_delivered_claim(s, b, "<R/>", 4, "rb@peer", "<E/>", 4, NULL, NULL, 300,
							   &next, &err), 0);
	assert_int_equal(next.id, 0);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE state = 'delivered'"), 2);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE message_id = 'next-d@test' AND state = 'queued'"), 1);
	/* c delivered: d is claimed; then nothing is due any more. */
	assert_int_equal(rl_store_outbound_delivered_claim(s, c, "<R/>", 4, "rc@peer", "<E/>", 4, NULL, "worker-b", 300,
							   &next, &err), 1);
	assert_string_equal(next.message_id, "next-d@test");
	assert_int_equal(rl_store_outbound_delivered_claim(s, next.id, "<R/>", 4, "rd@peer", "<E/>", 4, NULL, "worker-b",
							   300, &m, &err), 0);
	assert_int_equal(m.id, 0);
	rl_store_message_free(&next);
	assert_int_equal(sql("SELECT count(*) FROM messages WHERE state = 'delivered'"), 4);
	rl_store_close(s);
}

/* Empties the tables, leaves one queued message with one delivery, and makes conn plan generically (as
 * the store's sessions do): the nearly empty tables that generic plans were once made on. */
static void one_row_tables(PGconn *conn)
{
	unit_pg_empty();
	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	PQclear(PQexec(conn, "INSERT INTO messages (id, direction, message_id, state) VALUES (1, 1, 'plan-1@test', 'queued');"
			     "INSERT INTO deliveries (message, channel) VALUES (1, 0);"
			     "SET plan_cache_mode = force_generic_plan"));
}

/* A message found by row id and direction is found by its primary key, whatever the statistics say:
 * no index leads with the direction (schema 12). A generic plan made on a nearly empty table is the case
 * that once read every outbound row for each delivered record. The same for deliveries found by id. */
static void test_id_lookup_plan(void **state)
{
	PGconn *conn = PQconnectdb(pgurl);
	/* The statement, its argument, the index it must use. */
	const char *statements[][3] = {
		{ "UPDATE messages SET updated_at = now() WHERE id = $1 AND direction = 1", "1", "messages_pkey" },
		{ "UPDATE messages SET updated_at = now() WHERE id = $1 AND direction = 0", "1", "messages_pkey" },
		{ "SELECT receipt FROM messages WHERE direction = 0 AND id = $1", "1", "messages_pkey" },
		/* ST_DELIVERY_DONE's way of saying pending */
		{ "UPDATE deliveries SET updated_at = now() WHERE id = ANY ($1::bigint[])"
		  " AND state NOT IN ('done', 'failed')", "'{1,2}'", "deliveries_pkey" },
	};
	PGresult *r;

	(void)state;
	one_row_tables(conn);
	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
		struct rl_buf plan = RL_BUF_INIT;
		char explain[64];

		PQclear(PQexec(conn, "DEALLOCATE ALL"));
		r = PQprepare(conn, "lookup", statements[i][0], 1, NULL);
		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		snprintf(explain, sizeof(explain), "EXPLAIN EXECUTE lookup(%s)", statements[i][1]);
		r = PQexec(conn, explain);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		for (int row = 0; row < PQntuples(r); row++)
			rl_buf_printf(&plan, "%s\n", PQgetvalue(r, row, 0));
		PQclear(r);
		if (strstr(plan.data, statements[i][2]) == NULL)
			fail_msg("%s:\n%s", statements[i][0], plan.data);
		rl_buf_free(&plan);
	}
	PQfinish(conn);
}

/* A plan (EXPLAIN, one line per row) of sql prepared on conn with the arguments args (SQL literals, "" when
 * it has no parameters), as the session's plan_cache_mode makes it. The caller frees it. */
static char *explain_prepared(PGconn *conn, const char *sql, const char *args)
{
	struct rl_buf plan = RL_BUF_INIT;
	char explain[256];
	PGresult *r;

	PQclear(PQexec(conn, "DEALLOCATE ALL"));
	r = PQprepare(conn, "examined", sql, 0, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("prepare %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	snprintf(explain, sizeof(explain), "EXPLAIN EXECUTE examined%s%s%s", *args ? "(" : "", args, *args ? ")" : "");
	r = PQexec(conn, explain);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", explain, PQresultErrorMessage(r));
	for (int row = 0; row < PQntuples(r); row++)
		rl_buf_printf(&plan, "%s\n", PQgetvalue(r, row, 0));
	PQclear(r);
	return plan.data;
}

/* The first value of SQL run on conn, as a number (0 when there is none). */
static long long sql_on(PGconn *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long sql_on(PGconn *conn, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	PGresult *r;
	long long v = 0;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	r = PQexec(conn, text);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", text, PQresultErrorMessage(r));
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* Messages as an access point holds them after a while: mostly delivered (outbound with their document
 * id and a sent envelope), a few queued, retried, received or failed, changed over the last 100 days;
 * an inbox delivery for each inbound one. Then vacuumed and analyzed, as autovacuum does. */
static void fill_plan_tables(PGconn *conn, int count)
{
	char text[2048];
	PGresult *r;

	snprintf(text, sizeof(text),
		 "INSERT INTO messages (direction, message_id, state, updated_at, document_id, last_error,"
		 "  last_error_at, deliveries_pending)"
		 " SELECT d, 'fill-' || g || '@test',"
		 "  CASE WHEN g %% 50 = 0 THEN 'failed' WHEN g %% 97 = 0 THEN CASE d WHEN 1 THEN 'queued' ELSE 'received' END"
		 "   WHEN g %% 89 = 0 AND d = 1 THEN 'retry' ELSE 'delivered' END,"
		 "  now() - make_interval(secs => (%d - g) * (8640000 / %d)),"
		 "  CASE WHEN d = 1 THEN 'doc-' || g END, CASE WHEN g %% 50 = 0 THEN 'HTTP 500' END,"
		 "  CASE WHEN g %% 50 = 0 THEN now() END, CASE WHEN g %% 97 = 0 AND d = 0 THEN 1 ELSE 0 END"
		 " FROM generate_series(1, %d) g, LATERAL (SELECT (g %% 2 = 0)::int AS d) x;"
		 "INSERT INTO deliveries (message, channel, state) SELECT id, 0,"
		 "  CASE WHEN state = 'received' THEN 'pending' ELSE 'done' END FROM messages WHERE direction = 0;"
		 "INSERT INTO sent_attempts (message, attempt, envelope) SELECT id, 1, '<S:Envelope/>'"
		 "  FROM messages WHERE direction = 1 AND state <> 'queued'",
		 count, count, count);
	r = PQexec(conn, text);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("fill: %s", PQresultErrorMessage(r));
	PQclear(r);
	PQclear(PQexec(conn, "VACUUM ANALYZE messages"));
	PQclear(PQexec(conn, "VACUUM ANALYZE deliveries"));
	PQclear(PQexec(conn, "VACUUM ANALYZE sent_attempts"));
}

/* The statements an operator (or the daemon's API, on its long-lived connections) runs to find messages
 * by something else than their row id, and the retention purge: each uses its index, both as the generic
 * plan made while the table holds one row (which a prepared statement keeps until the table is analyzed)
 * and on a few thousand rows. Planned per call or prepared once, the store's statements are generic plans
 * (plan_cache_mode = force_generic_plan). */
static void test_statement_plans(void **state)
{
	static const struct {
		const char *name;	/* in store_sql.h, or NULL: sql is a copy of what a function runs */
		const char *sql;
		int cutoff;		/* the arguments start with the purge's cutoff, 30 days ago */
		const char *args;
		const char *indexes[4];	/* each must be in the plan */
		int seq_scan_young;	/* a sequential scan of messages is the cheapest on a one-row table */
	} checks[] = {
		{ "find_receipt", NULL, 0, "'fill-3@test'", { "messages_message_id_direction_key" }, 0 },
		{ "get_by_message_id", NULL, 0, "'fill-1@test', 1", { "messages_message_id_direction_key" }, 0 },
		/* Found by MessageId: the key, then the row by id; by id: the same plan. */
		{ "outbound_retry", NULL, 0, "0, 'fill-1@test', 'test'",
		  { "messages_message_id_direction_key", "messages_pkey" }, 0 },
		{ "inbound_redeliver", NULL, 0, "0, 'fill-3@test', 'test', '{0}'",
		  { "messages_message_id_direction_key", "messages_pkey" }, 0 },
		/* The batch by the finished index, then its rows and their children removed by their keys. */
		{ "purge_batch", NULL, 1, ", 500",
		  { "messages_finished", "messages_pkey", "deliveries_message_channel_key", "sent_attempts_pkey" }, 0 },
		{ "purge_count", NULL, 1, "", { "messages_finished" }, 0 },
		/* Newest first: the primary key backwards, LIMIT rows (planned per call: on a young table, a
		 * sequential scan and a sort). */
		{ "list", NULL, 0, "'failed', -1, 50", { "messages_pkey" }, 0 },
		/* The queue depths by the state index; on one row, counting the delivered ones reads it. */
		{ "stats", NULL, 0, "", { "messages_state", "messages_last_error", "deliveries_due" }, 1 },
		/* A failed or noted backend delivery by its id, not among every pending one. */
		{ "delivery_failed", NULL, 0, "1, 'HTTP 500', 60, false", { "deliveries_pkey", "messages_pkey" }, 0 },
		{ "delivery_note", NULL, 0, "1, 'note'", { "deliveries_pkey", "messages_pkey" }, 0 },
		/* rl_store_mls_queue: the received message locked and noted by its id, the MLS inserted. */
		{ "mls_queue", NULL, 0, "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 10,"
		  " NULL, 'mls', NULL, false, 1, 'RE'", { "messages_pkey" }, 0 },
		/* rl_store_mls_received: an MLS noted against the outbound message with its document id. */
		{ NULL, "UPDATE messages SET mls_code = $2::text, updated_at = now()"
			" WHERE direction = 1 AND document_id = $1::text", 0, "'doc-1', 'AP'", { "messages_document_id" }, 0 },
	};
	PGconn *conn = PQconnectdb(pgurl);
	long long cutoff = (long long)time(NULL) - 30 * 86400;
	int failures = 0;

	(void)state;
	one_row_tables(conn);
	for (int populated = 0; populated <= 1; populated++) {
		if (populated)
			fill_plan_tables(conn, 4000);
		for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
			int per_call = 1;
			const char *sql = checks[i].name ? rl_store_statement_sql(checks[i].name, &per_call) : checks[i].sql;
			char args[128], *plan;

			assert_non_null(sql);
			/* A plan made for the one-row table matters only when it is kept. */
			if (!populated && per_call && checks[i].name)
				continue;
			if (checks[i].cutoff)
				snprintf(args, sizeof(args), "%lld%s", cutoff, checks[i].args);
			else
				snprintf(args, sizeof(args), "%s", checks[i].args);
			plan = explain_prepared(conn, sql, args);
			for (int k = 0; k < 4 && checks[i].indexes[k]; k++)
				if (strstr(plan, checks[i].indexes[k]) == NULL) {
					fprintf(stderr, "%s (%s): %s not used:\n%s", checks[i].name ? checks[i].name : sql,
						populated ? "4000 rows" : "one row", checks[i].indexes[k], plan);
					failures++;
				}
			if ((strstr(plan, "Seq Scan on messages") || strstr(plan, "Seq Scan on deliveries") ||
			     strstr(plan, "Seq Scan on sent_attempts")) && (populated || !checks[i].seq_scan_young)) {
				fprintf(stderr, "%s (%s) reads a whole table:\n%s", checks[i].name ? checks[i].name : sql,
					populated ? "4000 rows" : "one row", plan);
				failures++;
			}
			free(plan);
		}
	}
	PQfinish(conn);
	unit_pg_empty();
	if (failures)
		fail_msg("%d plans without the index they need (above)", failures);
}

/* A connection to the empty database url brought to schema version (its migrations applied as relais
 * would have, recorded in schema_version). */
static PGconn *database_at_version(const char *url, int version)
{
	PGconn *conn = PQconnectdb(url);

	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	PQclear(PQexec(conn, "CREATE TABLE schema_version (version integer PRIMARY KEY,"
			     " applied_at timestamptz NOT NULL DEFAULT now())"));
	for (int v = 1; v <= version; v++) {
		PGresult *r = PQexec(conn, rl_store_schema_migration(v));
		char text[64];

		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		snprintf(text, sizeof(text), "INSERT INTO schema_version (version) VALUES (%d)", v);
		PQclear(PQexec(conn, text));
	}
	return conn;
}

/* Schema 13 adds the index of finished messages to a populated database at schema 12; the purge then
 * finds what it removes through it, and removes the same messages as before. */
static void test_finished_index_migrated(void **state)
{
	const char *url = getenv("RELAIS_TEST_PGURL_V12");
	struct rl_store *s = NULL;
	struct rl_err err = { 0 };
	struct rl_store_purge_counts dry, done;
	long long cutoff = (long long)time(NULL) - 30 * 86400, expected;
	PGconn *conn;
	PGresult *r;
	char *plan;
	int applied = 0, per_call;

	(void)state;
	if (url == NULL || *url == '\0')
		skip();
	conn = database_at_version(url, 12);
	fill_plan_tables(conn, 4000);
	r = PQexec(conn, "SELECT count(*) FROM pg_indexes WHERE indexname = 'messages_finished'");
	assert_string_equal(PQgetvalue(r, 0, 0), "0");
	PQclear(r);

	if (rl_store_open(url, &s, &err) < 0 || rl_store_migrate(s, &applied, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(applied, rl_store_schema_target() - 12);
	/* Built and valid, with an entry for each finished message and none for the others. */
	r = PQexec(conn, "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i"
			 " WHERE i.indexrelid = 'messages_finished'::regclass");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	assert_non_null(strstr(PQgetvalue(r, 0, 1), "(updated_at) WHERE"));
	PQclear(r);
	PQclear(PQexec(conn, "ANALYZE messages; SET plan_cache_mode = force_generic_plan"));
	plan = explain_prepared(conn, rl_store_statement_sql("purge_count", &per_call), "1");
	assert_non_null(strstr(plan, "Index Scan using messages_finished"));
	free(plan);

	expected = sql_on(conn, "SELECT count(*) FROM messages m WHERE m.state IN ('delivered', 'failed')"
				" AND m.updated_at < to_timestamp(%lld) AND m.deliveries_pending = 0", cutoff);
	assert_true(expected > 1000);
	assert_int_equal(rl_store_purge(s, (time_t)cutoff, 1, &dry, &err), 0);
	assert_int_equal(dry.inbound + dry.outbound, expected);
	assert_int_equal(rl_store_purge(s, (time_t)cutoff, 0, &done, &err), 0);
	assert_int_equal(done.inbound, dry.inbound);
	assert_int_equal(done.outbound, dry.outbound);
	/* What stays: everything changed since the cutoff, and every unfinished message however old. */
	assert_int_equal(sql_on(conn, "SELECT count(*) FROM messages WHERE updated_at < to_timestamp(%lld)"
				      " AND state IN ('delivered', 'failed')", cutoff), 0);
	assert_int_equal(sql_on(conn, "SELECT count(*) FROM messages"), 4000 - expected);
	assert_true(sql_on(conn, "SELECT count(*) FROM messages WHERE updated_at < to_timestamp(%lld)", cutoff) > 0);
	PQfinish(conn);
	rl_store_close(s);
}

/* Schema 11 moves the history rows of a database at schema 10 into their messages, in order, with the
 * tabs and line ends of a detail made spaces; message_events then shows the same rows. */
static void test_history_migrated(void **state)
{
	const char *url = getenv("RELAIS_TEST_PGURL_OLD");
	struct rl_store *s = NULL;
	struct rl_err err = { 0 };
	struct rl_buf history = RL_BUF_INIT;
	PGconn *conn;
	PGresult *r;
	int applied = 0;

	(void)state;
	if (url == NULL || *url == '\0')
		skip();
	conn = database_at_version(url, 10);
	r = PQexec(conn, "INSERT INTO messages (id, direction, message_id, state) VALUES (7, 1, 'old@test', 'failed'),"
			 " (8, 0, 'quiet@test', 'received');"
			 "INSERT INTO message_events (message, at, state, detail) VALUES"
			 " (7, '2026-01-02 03:04:05.678+00', 'queued', 'submitted by cli'),"
			 " (7, '2026-01-02 03:04:06+00', 'sending', NULL),"
			 " (7, '2026-01-02 03:04:07+00', 'failed', E'HTTP 500:\\tline one\\nline two')");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);

	if (rl_store_open(url, &s, &err) < 0 || rl_store_migrate(s, &applied, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(applied, rl_store_schema_target() - 10);
	assert_int_equal(rl_store_message_history(s, 7, &history, &err), 0);
	assert_string_equal(history.data, "2026-01-02T03:04:05.678Z queued submitted by cli\n"
					  "2026-01-02T03:04:06.000Z sending\n"
					  "2026-01-02T03:04:07.000Z failed HTTP 500: line one line two\n");
	rl_buf_free(&history);
	/* A message without events has an empty history; it still exists. */
	assert_int_equal(rl_store_message_history(s, 8, &history, &err), 0);
	assert_true(history.len == 0);
	assert_int_equal(rl_store_message_history(s, 9, &history, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	r = PQexec(conn, "SELECT string_agg(seq || ' ' || state || ' ' || detail, '|' ORDER BY seq) FROM message_events"
			 " WHERE message = 7");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "1 queued submitted by cli|2 sending |3 failed HTTP 500: line one line two");
	PQclear(r);
	/* The store writes the new way on the migrated table: an operator's retry is one more line. */
	assert_int_equal(rl_store_outbound_retry(s, 7, NULL, "test", NULL, &err), 0);
	rl_buf_reset(&history);
	assert_int_equal(rl_store_message_history(s, 7, &history, &err), 0);
	assert_non_null(strstr(history.data, "failed HTTP 500: line one line two\n"));
	assert_non_null(strstr(history.data, " retry retry requested by test\n"));
	rl_buf_free(&history);
	PQfinish(conn);
	rl_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_twice),
		cmocka_unit_test(test_history_migrated),
		cmocka_unit_test(test_delivered_claims_next),
		cmocka_unit_test(test_id_lookup_plan),
		cmocka_unit_test(test_statement_plans),
		cmocka_unit_test(test_finished_index_migrated),
		cmocka_unit_test(test_open_refused),
		cmocka_unit_test(test_submit_claim_delivered),
		cmocka_unit_test(test_retry_and_final_failure),
		cmocka_unit_test(test_expired_lease_reclaimed),
		cmocka_unit_test(test_concurrent_claims),
		cmocka_unit_test(test_circuit_breaker),
		cmocka_unit_test(test_set_destination),
		cmocka_unit_test(test_attempts_and_leases),
		cmocka_unit_test(test_operator_retry),
		cmocka_unit_test(test_operator_redeliver),
		cmocka_unit_test(test_inbound_duplicate),
		cmocka_unit_test(test_inbound_race),
		cmocka_unit_test(test_deliveries),
		cmocka_unit_test(test_leased_deliveries),
		cmocka_unit_test(test_large_payload),
		cmocka_unit_test(test_list_and_stats),
		cmocka_unit_test(test_listen_wait),
		cmocka_unit_test(test_connection_cut),
		cmocka_unit_test(test_reconnect_after_restart),
		cmocka_unit_test(test_concurrent_migrate),
	};

	UNIT_PG_RUN(tests, NULL, "tests/scripts/store.sh");
}

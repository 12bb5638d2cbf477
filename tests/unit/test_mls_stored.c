/*
 * test_mls_stored.c - a Message Level Status read back from a real store (tests/scripts/mls_stored.sh
 * starts a private PostgreSQL and passes a fresh database in RELAIS_TEST_PGURL): rl_mls_read_stored on an
 * MLS kept in its row and one in a large object, its bound (exactly at it, one byte under it), what is
 * no MLS; then rl_mls_after_delivery as C2 noting an MLS delivered without its bytes in memory, from the
 * stored header, and leaving an invoice alone; and rl_mls_may_concern, which decides without the store.
 * Skipped (77) when run without a database.
 */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include "relais/buf.h"
#include "relais/daemon.h"
#include "relais/mls.h"
#include "relais/sbdh_wrap.h"
#include "relais/store.h"
#include "unit_pg.h"

static struct rl_store *store;

static int setup(void **state)
{
	(void)state;
	store = unit_pg_store_migrated();
	unit_pg_empty();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rl_store_close(store);
	return 0;
}

/* An MLS SBD from 0242:000002 to 0242:000001 about document `reference`: AB, or RE with nreasons status
 * reasons BV whose descriptions are text_len bytes long (a long one goes into a large object). */
static void mls_sbd(const char *code, const char *reference, int nreasons, size_t text_len, struct rl_buf *out)
{
	struct rl_mls m = { 0 };
	struct rl_buf doc = RL_BUF_INIT;
	struct rl_sbdh h;
	struct rl_err err;
	char *text = malloc(text_len + 1);

	assert_non_null(text);
	memset(text, 'x', text_len);
	text[text_len] = '\0';
	m.sender = (char *)"0242:000002";
	m.receiver = (char *)"0242:000001";
	m.code = (char *)code;
	m.reference = (char *)reference;
	if (strcmp(code, RL_MLS_REJECTED) == 0)
		m.description = (char *)"The invoice breaks business rules";
	for (int i = 0; i < nreasons; i++) {
		m.reasons[i] = (char *)RL_MLS_REASON_BUSINESS;
		m.reason_texts[i] = text;
	}
	m.nreasons = nreasons;
	if (rl_mls_build(&m, &doc, &err) < 0 || rl_mls_sbdh("0242:000002", "0242:000001", "DK", &h, &err) < 0)
		fail_msg("build: %s", err.msg);
	if (rl_sbdh_wrap_mem(doc.data, doc.len, &h, out, &err) < 0)
		fail_msg("wrap: %s", err.msg);
	rl_sbdh_free(&h);
	rl_buf_free(&doc);
	free(text);
}

/* A Peppol SBD with an invoice whose note is note_len bytes long. */
static void invoice_sbd(const char *instance, size_t note_len, struct rl_buf *out)
{
	unit_pg_invoice_sbd_open(out, "0088:5798000000001", "0088:5798000000002", instance);
	rl_buf_puts(out, "<cbc:Note>");
	for (size_t i = 0; i < note_len; i++)
		rl_buf_puts(out, "n");
	rl_buf_puts(out, "</cbc:Note></Invoice></StandardBusinessDocument>\n");
	assert_non_null(out->data);
}

/* Commits a received message with this payload; returns its row id. */
static int64_t received(const char *message_id, const struct rl_buf *payload)
{
	struct rl_store_inbound in = { 0 };
	struct rl_err err = { 0 };
	int64_t id = 0;

	in.message_id = message_id;
	in.from_party = "POP000002";
	in.to_party = "POP000001";
	in.service = RL_MLS_PROCESS;
	in.service_type = "cenbii-procid-ubl";
	in.action = "busdox-docid-qns::" RL_MLS_DOCTYPE;
	in.original_sender = "0242:000002";
	in.final_recipient = "0242:000001";
	in.payload = fmemopen(payload->data, payload->len, "rb");
	assert_non_null(in.payload);
	unit_pg_inbound_evidence(&in);
	in.deliver_inbox = 1;
	if (rl_store_inbound_commit(store, &in, &id, NULL, &err) != 0)
		fail_msg("inbound commit: %s", err.msg);
	fclose(in.payload);
	return id;
}

/* A message we sent, delivered, that carried the document `instance`; returns its row id. */
static int64_t sent(const char *message_id, const char *instance)
{
	struct rl_store_submission sub = { 0 };
	struct rl_buf payload = RL_BUF_INIT;
	struct rl_err err = { 0 };
	char *got = NULL;
	int64_t id;

	invoice_sbd(instance, 10, &payload);
	sub.message_id = message_id;
	sub.from_party = "POP000001";
	sub.to_party = "POP000002";
	sub.dest_url = "https://peer.example/as4";
	sub.payload = fmemopen(payload.data, payload.len, "rb");
	sub.source = "cli";
	if (rl_store_outbound_submit(store, &sub, &id, &got, &err) < 0)
		fail_msg("submit: %s", err.msg);
	fclose(sub.payload);
	free(got);
	rl_buf_free(&payload);
	sql("UPDATE messages SET state = 'delivered', document_id = '%s' WHERE id = %lld", instance, (long long)id);
	return id;
}

static void test_read_in_row(void **state)
{
	struct rl_buf sbd = RL_BUF_INIT;
	struct rl_mls m;
	struct rl_err err;
	int64_t id;

	(void)state;
	mls_sbd(RL_MLS_DELIVERED, "inv-row", 0, 0, &sbd);
	assert_true(sbd.len < RL_STORE_ROW_PAYLOAD_MAX);
	id = received("mls-row@t", &sbd);
	assert_int_equal(rl_mls_read_stored(store, id, RL_MLS_STORED_MAX, &m, &err), 0);
	assert_string_equal(m.code, RL_MLS_DELIVERED);
	assert_string_equal(m.reference, "inv-row");
	assert_string_equal(m.sender, "0242:000002");
	assert_int_equal(m.nreasons, 0);
	rl_mls_free(&m);
	/* Exactly as long as the bound: read; one byte under the payload's length: refused. */
	assert_int_equal(rl_mls_read_stored(store, id, sbd.len, &m, &err), 0);
	rl_mls_free(&m);
	assert_int_equal(rl_mls_read_stored(store, id, sbd.len - 1, &m, &err), -1);
	assert_int_equal(err.code, RL_EBMS_OTHER);
	assert_non_null(strstr(err.msg, "longer than"));
	assert_null(m.code);
	rl_mls_free(&m);
	rl_buf_free(&sbd);
}

static void test_read_large_object(void **state)
{
	struct rl_buf sbd = RL_BUF_INIT;
	struct rl_mls m;
	struct rl_err err;
	char bound[32];
	int64_t id;

	(void)state;
	/* Eight status reasons with descriptions of 20 KB: over 160 KB, kept in a large object and read in
	 * several chunks. */
	mls_sbd(RL_MLS_REJECTED, "inv-large", RL_MLS_REASONS_MAX, 20000, &sbd);
	assert_true(sbd.len > 2 * RL_STORE_ROW_PAYLOAD_MAX);
	id = received("mls-large@t", &sbd);
	assert_true(sql("SELECT count(*) FROM messages WHERE id = %lld AND payload IS NULL", (long long)id) == 1);
	assert_int_equal(rl_mls_read_stored(store, id, RL_MLS_STORED_MAX, &m, &err), 0);
	assert_string_equal(m.code, RL_MLS_REJECTED);
	assert_string_equal(m.reference, "inv-large");
	assert_int_equal(m.nreasons, RL_MLS_REASONS_MAX);
	assert_string_equal(m.reasons[7], RL_MLS_REASON_BUSINESS);
	assert_int_equal(strlen(m.reason_texts[7]), 20000);
	rl_mls_free(&m);
	assert_int_equal(rl_mls_read_stored(store, id, sbd.len, &m, &err), 0);
	rl_mls_free(&m);
	/* A bound within the first chunk and one within a later chunk: refused, the bound named. */
	assert_int_equal(rl_mls_read_stored(store, id, 1000, &m, &err), -1);
	assert_int_equal(err.code, RL_EBMS_OTHER);
	assert_non_null(strstr(err.msg, "longer than 1000 bytes"));
	assert_int_equal(rl_mls_read_stored(store, id, sbd.len - 1, &m, &err), -1);
	snprintf(bound, sizeof(bound), "longer than %zu bytes", sbd.len - 1);
	assert_non_null(strstr(err.msg, bound));
	/* The store is usable after a read stopped half-way. */
	assert_int_equal(rl_mls_read_stored(store, id, RL_MLS_STORED_MAX, &m, &err), 0);
	rl_mls_free(&m);
	rl_buf_free(&sbd);
}

static void test_read_refuses(void **state)
{
	struct rl_buf inv = RL_BUF_INIT, other = RL_BUF_INIT, cut = RL_BUF_INIT;
	struct rl_mls m;
	struct rl_err err;
	char *p;
	int64_t id;

	(void)state;
	invoice_sbd("inv-1", 100, &inv);
	id = received("invoice@t", &inv);
	assert_int_equal(rl_mls_read_stored(store, id, RL_MLS_STORED_MAX, &m, &err), -1);
	assert_int_equal(err.code, RL_EBMS_OTHER);
	assert_non_null(strstr(err.msg, "no UBL ApplicationResponse"));
	rl_mls_free(&m);
	/* An ApplicationResponse of another kind. */
	mls_sbd(RL_MLS_DELIVERED, "inv-2", 0, 0, &other);
	p = strstr(other.data, "<cbc:CustomizationID>" RL_MLS_CUSTOMIZATION);
	assert_non_null(p);
	memcpy(p + strlen("<cbc:CustomizationID>urn:peppol:edec:"), "xyz", 3);
	id = received("other-response@t", &other);
	assert_int_equal(rl_mls_read_stored(store, id, RL_MLS_STORED_MAX, &m, &err), -1);
	assert_non_null(strstr(err.msg, "not an MLS"));
	rl_mls_free(&m);
	/* Cut short: not well-formed. */
	mls_sbd(RL_MLS_DELIVERED, "inv-3", 0, 0, &cut);
	cut.len -= 40;
	id = received("cut@t", &cut);
	assert_int_equal(rl_mls_read_stored(store, id, RL_MLS_STORED_MAX, &m, &err), -1);
	assert_int_equal(err.code, RL_EBMS_OTHER);
	assert_non_null(strstr(err.msg, "well-formed"));
	rl_mls_free(&m);
	/* No such message. */
	assert_int_equal(rl_mls_read_stored(store, 999999999, RL_MLS_STORED_MAX, &m, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	rl_buf_free(&inv);
	rl_buf_free(&other);
	rl_buf_free(&cut);
}

static long long mls_code_is(const char *message_id, const char *code)
{
	return sql("SELECT count(*) FROM messages WHERE direction = 1 AND message_id = '%s' AND mls_code = '%s'",
		   message_id, code);
}

static long long events_of(const char *message_id)
{
	return sql("SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message"
		   " WHERE m.message_id = '%s' AND e.detail LIKE 'MLS %%'", message_id);
}

/* As C2, with its bytes not in memory (no hand-off, or one without them): the stored header says it is an
 * MLS, and it is noted against the message we sent. mls.send is off, so nothing is ever queued. */
static void test_noted_from_store(void **state)
{
	struct rl_daemon d = { 0 };
	struct rl_handoff bare = { 0 };
	struct rl_store_delivery dl = { 0 };
	struct rl_buf small = RL_BUF_INIT, large = RL_BUF_INIT, inv = RL_BUF_INIT;

	(void)state;
	sent("sent-a@t", "inv-a");
	sent("sent-b@t", "inv-b");
	sent("sent-c@t", "inv-c");
	mls_sbd(RL_MLS_DELIVERED, "inv-a", 0, 0, &small);
	dl.message = received("mls-a@t", &small);
	dl.message_id = (char *)"mls-a@t";
	rl_mls_after_delivery(&d, store, &dl, NULL, 1);
	assert_true(mls_code_is("sent-a@t", RL_MLS_DELIVERED) == 1);
	assert_true(sql("SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message WHERE"
			" m.message_id = 'sent-a@t' AND e.detail = 'MLS AB received: in mls-a@t'") == 1);
	/* A large one, handed over without its bytes. */
	mls_sbd(RL_MLS_REJECTED, "inv-b", 2, 40000, &large);
	dl.message = received("mls-b@t", &large);
	dl.message_id = (char *)"mls-b@t";
	rl_mls_after_delivery(&d, store, &dl, &bare, 1);
	assert_true(mls_code_is("sent-b@t", RL_MLS_REJECTED) == 1);
	assert_true(sql("SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message WHERE"
			" m.message_id = 'sent-b@t' AND e.detail = 'MLS RE received: BV,BV in mls-b@t'") == 1);
	/* An invoice from the store: nothing noted, nothing else touched. */
	invoice_sbd("inv-c", 70000, &inv);
	dl.message = received("invoice-c@t", &inv);
	dl.message_id = (char *)"invoice-c@t";
	rl_mls_after_delivery(&d, store, &dl, NULL, 1);
	assert_true(sql("SELECT count(*) FROM messages WHERE direction = 1 AND mls_code IS NOT NULL") == 2);
	assert_true(events_of("sent-c@t") == 0);
	assert_true(events_of("invoice-c@t") == 0);
	/* Without an SBDH that says MLS, no MLS is read: a payload that is no XML at all, and a bare MLS
	 * (Peppol carries every MLS in an SBDH). */
	{
		struct rl_buf binary = RL_BUF_INIT, bare_mls = RL_BUF_INIT;
		const char *start;

		for (int i = 0; i < 300; i++)
			rl_buf_printf(&binary, "%c%c\x01PK\x03\x04", (char)0xff, (char)0xfe);
		dl.message = received("binary@t", &binary);
		dl.message_id = (char *)"binary@t";
		rl_mls_after_delivery(&d, store, &dl, NULL, 1);
		start = strstr(small.data, "<ApplicationResponse");
		assert_non_null(start);
		rl_buf_puts(&bare_mls, start);
		*strstr(bare_mls.data, "</StandardBusinessDocument>") = '\0';
		bare_mls.len = strlen(bare_mls.data);
		dl.message = received("bare-mls@t", &bare_mls);
		dl.message_id = (char *)"bare-mls@t";
		rl_mls_after_delivery(&d, store, &dl, NULL, 1);
		assert_true(events_of("sent-a@t") == 1);	/* the bare MLS is about inv-a too */
		assert_true(sql("SELECT count(*) FROM messages WHERE direction = 1 AND mls_code IS NOT NULL") == 2);
		rl_buf_free(&binary);
		rl_buf_free(&bare_mls);
	}
	/* The same MLS delivered from memory is noted the same way. */
	{
		struct rl_handoff h = { 0 };

		h.payload = (unsigned char *)small.data;
		h.payload_len = small.len;
		dl.message = received("mls-a2@t", &small);
		dl.message_id = (char *)"mls-a2@t";
		assert_true(rl_mls_may_concern(&d, &h));
		rl_mls_after_delivery(&d, store, &dl, &h, 1);
		assert_true(sql("SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message WHERE"
				" m.message_id = 'sent-a@t' AND e.detail = 'MLS AB received: in mls-a2@t'") == 1);
	}
	/* A stored MLS about a document not sent from here changes nothing. */
	dl.message = received("mls-stray@t", &small);
	dl.message_id = (char *)"mls-stray@t";
	sql("UPDATE messages SET document_id = NULL WHERE message_id = 'sent-a@t'");
	rl_mls_after_delivery(&d, store, &dl, NULL, 1);
	assert_true(events_of("sent-a@t") == 2);
	rl_buf_free(&small);
	rl_buf_free(&large);
	rl_buf_free(&inv);
}

/* Decided without the store: an invoice in memory concerns the MLS only when it may ask for one and
 * mls.send is on; an MLS in memory always; without bytes in memory, always (the stored header says). */
static void test_may_concern(void **state)
{
	struct rl_daemon d = { 0 };
	struct rl_handoff h = { 0 };
	char invoice[] = "<StandardBusinessDocument>...<Invoice/></StandardBusinessDocument>";
	char asks[] = "<StandardBusinessDocument><Scope><Type>MLS_TYPE</Type></Scope><Invoice/></StandardBusinessDocument>";
	char mls[] = "<ApplicationResponse><cbc:CustomizationID>urn:peppol:edec:mls:1.0</cbc:CustomizationID>";

	(void)state;
	assert_true(rl_mls_may_concern(&d, NULL));
	assert_true(rl_mls_may_concern(&d, &h));
	h.payload = (unsigned char *)invoice;
	h.payload_len = strlen(invoice);
	assert_false(rl_mls_may_concern(&d, &h));
	h.payload = (unsigned char *)asks;
	h.payload_len = strlen(asks);
	assert_false(rl_mls_may_concern(&d, &h));
	d.mls_send = 1;
	assert_true(rl_mls_may_concern(&d, &h));
	h.payload = (unsigned char *)invoice;
	h.payload_len = strlen(invoice);
	assert_false(rl_mls_may_concern(&d, &h));
	h.payload = (unsigned char *)mls;
	h.payload_len = strlen(mls);
	assert_true(rl_mls_may_concern(&d, &h));
	d.mls_send = 0;
	assert_true(rl_mls_may_concern(&d, &h));
	/* Only the bytes handed over count. */
	h.payload_len = 20;
	assert_false(rl_mls_may_concern(&d, &h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_may_concern),
		cmocka_unit_test(test_read_in_row),
		cmocka_unit_test(test_read_large_object),
		cmocka_unit_test(test_read_refuses),
		cmocka_unit_test(test_noted_from_store),
	};

	pgurl = getenv("RELAIS_TEST_PGURL");
	if (pgurl == NULL || *pgurl == '\0') {
		fprintf(stderr, "SKIP: RELAIS_TEST_PGURL is not set (run through tests/scripts/mls_stored.sh)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}

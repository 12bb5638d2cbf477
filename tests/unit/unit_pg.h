/* unit_pg.h - what the unit tests that run against a private PostgreSQL share: the database they were
 * given (RELAIS_TEST_PGURL, set by the shell test that starts the cluster), a store on it, and SQL on a
 * side connection to set up states and check what the store wrote. Include after cmocka.h. */
#ifndef RELAIS_UNIT_PG_H
#define RELAIS_UNIT_PG_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include "relais/buf.h"
#include "relais/store.h"

static const char *pgurl;

static inline struct rl_store *unit_pg_store(void)
{
	struct rl_store *s = NULL;
	struct rl_err err = { 0 };

	if (rl_store_open(pgurl, &s, &err) < 0)
		fail_msg("open: %s", err.msg);
	return s;
}

/* A store on the test database with the schema migrated. */
static inline struct rl_store *unit_pg_store_migrated(void)
{
	struct rl_store *s = unit_pg_store();
	struct rl_err err = { 0 };

	if (rl_store_migrate(s, NULL, &err) < 0)
		fail_msg("migrate: %s", err.msg);
	return s;
}

/* Runs SQL on a side connection; returns the first value of the first row as a number (0 when there is
 * none). */
static long long sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long sql(const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	PGconn *conn;
	PGresult *r;
	long long v = 0;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	conn = PQconnectdb(pgurl);
	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	r = PQexec(conn, text);
	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", text, PQresultErrorMessage(r));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(conn);
	return v;
}

/* Fills what a received message's row needs beside its parties and payload with placeholders: the
 * payload's MIME type and Content-ID, the signed envelope, the signer's certificate and our receipt. */
static inline void unit_pg_inbound_evidence(struct rl_store_inbound *in)
{
	in->payload_mime_type = "application/xml";
	in->payload_content_id = "cid:payload";
	in->envelope = "<S:Envelope/>";
	in->envelope_len = strlen(in->envelope);
	in->signer_cert_pem = "-----BEGIN CERTIFICATE-----";
	in->receipt = "<R/>";
	in->receipt_len = strlen(in->receipt);
	in->receipt_message_id = "receipt@relais";
}

#define UNIT_PG_INVOICE_TYPE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##" \
	"urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
#define UNIT_PG_BILLING "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

/* Starts a Peppol SBD (from sender to receiver, seats 0088:..., document `instance`, C1 in BE) with an
 * invoice, up to its cbc:ID; the caller adds the rest of the invoice and closes it with
 * "</Invoice></StandardBusinessDocument>". */
static inline void unit_pg_invoice_sbd_open(struct rl_buf *out, const char *sender, const char *receiver,
					    const char *instance)
{
	rl_buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<StandardBusinessDocument xmlns=\"http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader\">"
		"<StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion>"
		"<Sender><Identifier Authority=\"iso6523-actorid-upis\">%s</Identifier></Sender>"
		"<Receiver><Identifier Authority=\"iso6523-actorid-upis\">%s</Identifier></Receiver>"
		"<DocumentIdentification><Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard>"
		"<TypeVersion>2.1</TypeVersion><InstanceIdentifier>%s</InstanceIdentifier><Type>Invoice</Type>"
		"<CreationDateAndTime>2026-11-23T10:00:00Z</CreationDateAndTime></DocumentIdentification>"
		"<BusinessScope><Scope><Type>DOCUMENTID</Type><InstanceIdentifier>" UNIT_PG_INVOICE_TYPE "</InstanceIdentifier>"
		"<Identifier>busdox-docid-qns</Identifier></Scope><Scope><Type>PROCESSID</Type>"
		"<InstanceIdentifier>" UNIT_PG_BILLING "</InstanceIdentifier><Identifier>cenbii-procid-ubl</Identifier></Scope>"
		"<Scope><Type>COUNTRY_C1</Type><InstanceIdentifier>BE</InstanceIdentifier></Scope>"
		"</BusinessScope></StandardBusinessDocumentHeader>"
		"<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\" "
		"xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">"
		"<cbc:ID>1</cbc:ID>", sender, receiver, instance);
}

/* Removes every message, its history, deliveries, attempts and large objects. */
static inline void unit_pg_empty(void)
{
	sql("SELECT lo_unlink(oid) FROM pg_largeobject_metadata");
	sql("TRUNCATE messages, deliveries, circuits, sent_attempts");
}

/* main() of such a test: runs the group (with its setup function, or NULL); skips (77) when not run by
 * its shell test (script, for the message). */
#define UNIT_PG_RUN(tests, setup, script)                                                               \
	do {                                                                                            \
		pgurl = getenv("RELAIS_TEST_PGURL");                                                    \
		if (pgurl == NULL || *pgurl == '\0') {                                                  \
			fprintf(stderr, "SKIP: RELAIS_TEST_PGURL is not set (run through " script ")\n"); \
			return 77;                                                                      \
		}                                                                                       \
		return cmocka_run_group_tests(tests, setup, NULL);                                      \
	} while (0)

#endif

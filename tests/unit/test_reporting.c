/*
 * test_reporting.c - the Peppol TSR and EUSR computed from a real store (tests/scripts/reporting.sh starts
 * a private PostgreSQL and passes a fresh database in RELAIS_TEST_PGURL). Messages of both directions in
 * two months, with several access points, document types, end users and countries, some not counted
 * (undelivered, another month, another seat); every total and subtotal of one month is checked.
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
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include "relais/reporting.h"
#include "relais/store.h"
#include "unit_pg.h"

#define INVOICE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##" \
	"urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
#define CREDIT "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote##" \
	"urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
#define BILLING "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


/* A Peppol SBD from sender to receiver with COUNTRY_C1 = country (none when NULL). */
static char *sbd(const char *doctype, const char *sender, const char *receiver, const char *country)
{
	const char *name = strstr(doctype, "CreditNote-2") ? "CreditNote" : "Invoice";
	char *text = NULL;
	char scope[128] = "";

	if (country)
		snprintf(scope, sizeof(scope), "<Scope><Type>COUNTRY_C1</Type><InstanceIdentifier>%s</InstanceIdentifier></Scope>",
			 country);
	assert_true(asprintf(&text,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<StandardBusinessDocument xmlns=\"http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader\">"
		"<StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion>"
		"<Sender><Identifier Authority=\"iso6523-actorid-upis\">%s</Identifier></Sender>"
		"<Receiver><Identifier Authority=\"iso6523-actorid-upis\">%s</Identifier></Receiver>"
		"<DocumentIdentification><Standard>urn:oasis:names:specification:ubl:schema:xsd:%s-2</Standard>"
		"<TypeVersion>2.1</TypeVersion><InstanceIdentifier>x</InstanceIdentifier><Type>%s</Type>"
		"<CreationDateAndTime>2026-03-01T10:00:00Z</CreationDateAndTime></DocumentIdentification>"
		"<BusinessScope><Scope><Type>DOCUMENTID</Type><InstanceIdentifier>%s</InstanceIdentifier>"
		"<Identifier>busdox-docid-qns</Identifier></Scope><Scope><Type>PROCESSID</Type>"
		"<InstanceIdentifier>" BILLING "</InstanceIdentifier><Identifier>cenbii-procid-ubl</Identifier></Scope>"
		"%s</BusinessScope></StandardBusinessDocumentHeader>"
		"<%s xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:%s-2\"><ID>1</ID></%s></StandardBusinessDocument>\n",
		sender, receiver, name, name, doctype, scope, name, name, name) > 0);
	return text;
}

/* An outbound message from our seat, in state `state`, created at `at` (SQL timestamp). */
static void sent(struct rl_store *s, const char *mid, const char *to_ap, const char *doctype, const char *c1,
		 const char *end_user, const char *state, const char *at)
{
	struct rl_store_submission sub = { 0 };
	struct rl_err err = { 0 };
	char action[512], *payload = sbd(doctype, end_user, "0088:7000000000001", c1), *got = NULL;
	int64_t id;

	snprintf(action, sizeof(action), "busdox-docid-qns::%s", doctype);
	sub.message_id = mid;
	sub.from_party = "POP000001";
	sub.to_party = to_ap;
	sub.service = BILLING;
	sub.service_type = "cenbii-procid-ubl";
	sub.action = action;
	sub.original_sender = end_user;
	sub.final_recipient = "0088:7000000000001";
	sub.dest_url = "https://peer.example/as4";
	sub.payload = fmemopen(payload, strlen(payload), "rb");
	sub.source = "cli";
	if (rl_store_outbound_submit(s, &sub, &id, &got, &err) < 0)
		fail_msg("submit: %s", err.msg);
	fclose(sub.payload);
	free(got);
	free(payload);
	sql("UPDATE messages SET state = '%s', created_at = '%s' WHERE id = %lld", state, at, (long long)id);
}

/* An inbound message to `to_seat` from `from_ap`; payload an SBD (or a bare document when bare). */
static void received(struct rl_store *s, const char *mid, const char *from_ap, const char *to_seat, const char *c1,
		     const char *end_user, int bare, const char *state, const char *at)
{
	struct rl_store_inbound in = { 0 };
	struct rl_err err = { 0 };
	char *payload = bare ? strdup("<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"/>")
			     : sbd(INVOICE, "0088:7000000000009", end_user, c1);
	int64_t id = 0;

	in.message_id = mid;
	in.from_party = from_ap;
	in.to_party = to_seat;
	in.service = BILLING;
	in.service_type = "cenbii-procid-ubl";
	in.action = "busdox-docid-qns::" INVOICE;
	in.original_sender = "0088:7000000000009";
	in.final_recipient = end_user;
	in.payload_data = payload;
	in.payload_len = strlen(payload);
	unit_pg_inbound_evidence(&in);
	if (rl_store_inbound_commit(s, &in, &id, NULL, &err) != 0)
		fail_msg("inbound commit: %s", err.msg);
	free(payload);
	sql("UPDATE messages SET state = '%s', created_at = '%s' WHERE id = %lld", state, at, (long long)id);
}

static struct rl_store *open_store(void)
{
	struct rl_store *s = NULL;
	struct rl_err err = { 0 };

	if (rl_store_open(pgurl, &s, &err) < 0 || rl_store_migrate(s, NULL, &err) < 0)
		fail_msg("open: %s", err.msg);
	unit_pg_empty();
	return s;
}

/* Two months of traffic of POP000001; March 2026 is the one reported. */
static void fill_store(struct rl_store *s)
{
	/* Counted in March: three sent, three received. */
	sent(s, "o1@t", "POP000002", INVOICE, "BE", "0088:1000000000001", "delivered", "2026-03-01 00:00:00+00");
	sent(s, "o2@t", "POP000002", INVOICE, "NL", "0088:1000000000002", "delivered", "2026-03-15 12:00:00+00");
	sent(s, "o3@t", "POP000003", CREDIT, "BE", "0088:1000000000001", "delivered", "2026-03-31 23:59:59+00");
	received(s, "i1@t", "POP000002", "POP000001", "DE", "0088:1000000000001", 0, "delivered", "2026-03-02 08:00:00+00");
	received(s, "i2@t", "POP000002", "POP000001", "DE", "0088:1000000000005", 0, "received", "2026-03-03 08:00:00+00");
	received(s, "i3@t", "POP000004", "POP000001", NULL, "0088:1000000000005", 1, "failed", "2026-03-04 08:00:00+00");
	/* Not counted: not delivered, other months, another seat. */
	sent(s, "o4@t", "POP000002", INVOICE, "BE", "0088:1000000000009", "failed", "2026-03-10 00:00:00+00");
	sent(s, "o5@t", "POP000002", INVOICE, "BE", "0088:1000000000009", "queued", "2026-03-10 00:00:00+00");
	sent(s, "o6@t", "POP000002", INVOICE, "BE", "0088:1000000000009", "retry", "2026-03-10 00:00:00+00");
	sent(s, "o7@t", "POP000002", INVOICE, "BE", "0088:1000000000009", "delivered", "2026-02-28 23:59:59+00");
	sent(s, "o8@t", "POP000002", INVOICE, "BE", "0088:1000000000009", "delivered", "2026-04-01 00:00:00+00");
	received(s, "i4@t", "POP000002", "POP000001", "DE", "0088:1000000000009", 0, "delivered", "2026-02-15 08:00:00+00");
	received(s, "i5@t", "POP000002", "POP000077", "DE", "0088:1000000000009", 0, "delivered", "2026-03-15 08:00:00+00");
}

static xmlDocPtr report(struct rl_store *s, enum rl_report_kind kind, const char *month, const char *c4)
{
	struct rl_report_opts o = { .seat_id = "POP000001", .c4_country = c4 };
	struct rl_buf out = RL_BUF_INIT;
	struct rl_err err = { 0 };
	xmlDocPtr doc;

	assert_int_equal(rl_report_parse_month(month, &o.period, &err), 0);
	if (rl_report_write(s, kind, &o, &out, &err) < 0)
		fail_msg("report: %s", err.msg);
	doc = xmlReadMemory(out.data, (int)out.len, "report.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	rl_buf_free(&out);
	return doc;
}

/* The string value of an XPath expression (prefix r = the report's namespace). */
static char *xp(xmlDocPtr doc, const char *ns, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr v;
	char *text;

	xmlXPathRegisterNs(ctx, BAD_CAST "r", BAD_CAST ns);
	v = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	assert_non_null(v);
	text = (char *)xmlXPathCastToString(v);
	xmlXPathFreeObject(v);
	xmlXPathFreeContext(ctx);
	return text;
}

static void expect(xmlDocPtr doc, const char *ns, const char *expr, const char *want)
{
	char *got = xp(doc, ns, expr);

	if (strcmp(got, want) != 0)
		fail_msg("%s = '%s', expected '%s'", expr, got, want);
	xmlFree(got);
}

#define T RL_REPORT_TSR_NS
#define E RL_REPORT_EUSR_NS
#define SPDTPR(sp, dt) "r:Subtotal[@type='PerSP-DT-PR'][r:Key[@metaSchemeID='SP'][@schemeID='CertSubjectCN']='" sp "']" \
	"[r:Key[@metaSchemeID='DT'][@schemeID='busdox-docid-qns']='" dt "']" \
	"[r:Key[@metaSchemeID='PR'][@schemeID='cenbii-procid-ubl']='" BILLING "']"

static void test_tsr_month(void **state)
{
	struct rl_store *s = open_store();
	xmlDocPtr d;

	(void)state;
	fill_store(s);
	d = report(s, RL_REPORT_TSR, "2026-03", "FR");
	expect(d, T, "local-name(/*)", "TransactionStatisticsReport");
	expect(d, T, "/r:TransactionStatisticsReport/r:CustomizationID", RL_REPORT_TSR_CUSTOMIZATION);
	expect(d, T, "/*/r:ProfileID", "urn:fdc:peppol.eu:edec:bis:reporting:1.0");
	expect(d, T, "/*/r:Header/r:ReportPeriod/r:StartDate", "2026-03-01");
	expect(d, T, "/*/r:Header/r:ReportPeriod/r:EndDate", "2026-03-31");
	expect(d, T, "/*/r:Header/r:ReporterID[@schemeID='CertSubjectCN']", "POP000001");
	expect(d, T, "/*/r:Total/r:Incoming", "3");
	expect(d, T, "/*/r:Total/r:Outgoing", "3");
	expect(d, T, "count(/*/r:Subtotal)", "6");
	/* Per transport protocol */
	expect(d, T, "count(/*/r:Subtotal[@type='PerTP'])", "1");
	expect(d, T, "/*/r:Subtotal[@type='PerTP']/r:Key[@metaSchemeID='TP'][@schemeID='Peppol']", "peppol-transport-as4-v2_0");
	expect(d, T, "/*/r:Subtotal[@type='PerTP']/r:Incoming", "3");
	expect(d, T, "/*/r:Subtotal[@type='PerTP']/r:Outgoing", "3");
	/* Per other access point, document type and process */
	expect(d, T, "count(/*/r:Subtotal[@type='PerSP-DT-PR'])", "3");
	expect(d, T, "/*/" SPDTPR("POP000002", INVOICE) "/r:Incoming", "2");
	expect(d, T, "/*/" SPDTPR("POP000002", INVOICE) "/r:Outgoing", "2");
	expect(d, T, "/*/" SPDTPR("POP000003", CREDIT) "/r:Incoming", "0");
	expect(d, T, "/*/" SPDTPR("POP000003", CREDIT) "/r:Outgoing", "1");
	expect(d, T, "/*/" SPDTPR("POP000004", INVOICE) "/r:Incoming", "1");
	expect(d, T, "/*/" SPDTPR("POP000004", INVOICE) "/r:Outgoing", "0");
	/* ... and countries: received only, C1 from the SBDH (ZZ without one), C4 configured */
	expect(d, T, "count(/*/r:Subtotal[@type='PerSP-DT-PR-CC'])", "2");
	expect(d, T, "count(/*/r:Subtotal[@type='PerSP-DT-PR-CC']/r:Key)", "10");
	expect(d, T, "/*/r:Subtotal[@type='PerSP-DT-PR-CC'][r:Key[@metaSchemeID='SP']='POP000002']"
		     "[r:Key[@metaSchemeID='CC'][@schemeID='SenderCountry']='DE'][r:Key[@schemeID='ReceiverCountry']='FR']/r:Incoming", "2");
	expect(d, T, "/*/r:Subtotal[@type='PerSP-DT-PR-CC'][r:Key[@metaSchemeID='SP']='POP000004']"
		     "[r:Key[@schemeID='SenderCountry']='ZZ'][r:Key[@schemeID='ReceiverCountry']='FR']/r:Incoming", "1");
	expect(d, T, "sum(/*/r:Subtotal[@type='PerSP-DT-PR-CC']/r:Outgoing)", "0");
	/* Element order of the schema */
	expect(d, T, "local-name(/*/*[1])", "CustomizationID");
	expect(d, T, "local-name(/*/*[4])", "Total");
	expect(d, T, "local-name(/*/*[5])", "Subtotal");
	xmlFreeDoc(d);

	/* Without reporting.c4_country the receiver country is ZZ. */
	d = report(s, RL_REPORT_TSR, "2026-03", NULL);
	expect(d, T, "count(/*/r:Subtotal[@type='PerSP-DT-PR-CC'][r:Key[@schemeID='ReceiverCountry']='ZZ'])", "2");
	xmlFreeDoc(d);

	/* The other months hold exactly the messages of theirs. */
	d = report(s, RL_REPORT_TSR, "2026-02", "FR");
	expect(d, T, "/*/r:Total/r:Incoming", "1");
	expect(d, T, "/*/r:Total/r:Outgoing", "1");
	expect(d, T, "/*/r:Header/r:ReportPeriod/r:EndDate", "2026-02-28");
	xmlFreeDoc(d);
	rl_store_close(s);
}

#define SUBSET(type, keys) "/*/r:Subset[@type='" type "']" keys
#define DT(dt) "[r:Key[@metaSchemeID='DT'][@schemeID='busdox-docid-qns']='" dt "']"
#define PR "[r:Key[@metaSchemeID='PR'][@schemeID='cenbii-procid-ubl']='" BILLING "']"
#define EUC(cc) "[r:Key[@metaSchemeID='CC'][@schemeID='EndUserCountry']='" cc "']"

static void expect_users(xmlDocPtr d, const char *path, const char *sending, const char *receiving, const char *either)
{
	char expr[1024];

	snprintf(expr, sizeof(expr), "%s/r:SendingEndUsers", path);
	expect(d, E, expr, sending);
	snprintf(expr, sizeof(expr), "%s/r:ReceivingEndUsers", path);
	expect(d, E, expr, receiving);
	snprintf(expr, sizeof(expr), "%s/r:SendingOrReceivingEndUsers", path);
	expect(d, E, expr, either);
}

static void test_eusr_month(void **state)
{
	struct rl_store *s = open_store();
	xmlDocPtr d;

	(void)state;
	fill_store(s);
	d = report(s, RL_REPORT_EUSR, "2026-03", "FR");
	expect(d, E, "local-name(/*)", "EndUserStatisticsReport");
	expect(d, E, "/r:EndUserStatisticsReport/r:CustomizationID", RL_REPORT_EUSR_CUSTOMIZATION);
	expect(d, E, "/*/r:ProfileID", "urn:fdc:peppol.eu:edec:bis:reporting:1.0");
	expect(d, E, "/*/r:Header/r:ReporterID[@schemeID='CertSubjectCN']", "POP000001");
	/* Senders: ...001 (twice) and ...002; receivers: ...001 and ...005 (twice); ...001 did both. */
	expect_users(d, "/*/r:FullSet", "2", "2", "3");
	expect(d, E, "count(/*/r:Subset[@type='PerDT-PR'])", "2");
	expect_users(d, SUBSET("PerDT-PR", DT(INVOICE) PR), "2", "2", "3");
	expect_users(d, SUBSET("PerDT-PR", DT(CREDIT) PR), "1", "0", "1");
	/* Sending end users have C1's country, receiving ones C4's (configured). */
	expect(d, E, "count(/*/r:Subset[@type='PerEUC'])", "3");
	expect_users(d, SUBSET("PerEUC", EUC("BE")), "1", "0", "1");
	expect_users(d, SUBSET("PerEUC", EUC("NL")), "1", "0", "1");
	expect_users(d, SUBSET("PerEUC", EUC("FR")), "0", "2", "2");
	expect(d, E, "count(/*/r:Subset[@type='PerDT-EUC'])", "4");
	expect_users(d, SUBSET("PerDT-EUC", DT(INVOICE) EUC("BE")), "1", "0", "1");
	expect_users(d, SUBSET("PerDT-EUC", DT(INVOICE) EUC("NL")), "1", "0", "1");
	expect_users(d, SUBSET("PerDT-EUC", DT(INVOICE) EUC("FR")), "0", "2", "2");
	expect_users(d, SUBSET("PerDT-EUC", DT(CREDIT) EUC("BE")), "1", "0", "1");
	expect(d, E, "count(/*/r:Subset[@type='PerDT-PR-EUC'])", "4");
	expect_users(d, SUBSET("PerDT-PR-EUC", DT(INVOICE) PR EUC("FR")), "0", "2", "2");
	expect_users(d, SUBSET("PerDT-PR-EUC", DT(CREDIT) PR EUC("BE")), "1", "0", "1");
	expect(d, E, "count(/*/r:Subset)", "13");
	expect(d, E, "local-name(/*/*[4])", "FullSet");
	xmlFreeDoc(d);
	rl_store_close(s);
}

/* A month without transactions: zero totals, no subtotals, still a complete report. */
static void test_zero_month(void **state)
{
	struct rl_store *s = open_store();
	xmlDocPtr d;

	(void)state;
	fill_store(s);
	d = report(s, RL_REPORT_TSR, "2025-12", "FR");
	expect(d, T, "/r:TransactionStatisticsReport/r:CustomizationID", RL_REPORT_TSR_CUSTOMIZATION);
	expect(d, T, "/*/r:Header/r:ReportPeriod/r:StartDate", "2025-12-01");
	expect(d, T, "/*/r:Header/r:ReportPeriod/r:EndDate", "2025-12-31");
	expect(d, T, "/*/r:Total/r:Incoming", "0");
	expect(d, T, "/*/r:Total/r:Outgoing", "0");
	expect(d, T, "count(/*/r:Subtotal)", "0");
	xmlFreeDoc(d);
	d = report(s, RL_REPORT_EUSR, "2025-12", "FR");
	expect(d, E, "/r:EndUserStatisticsReport/r:CustomizationID", RL_REPORT_EUSR_CUSTOMIZATION);
	expect_users(d, "/*/r:FullSet", "0", "0", "0");
	expect(d, E, "count(/*/r:Subset)", "0");
	xmlFreeDoc(d);
	rl_store_close(s);
}

static void test_month_parsing(void **state)
{
	struct rl_report_period p;
	struct rl_err err = { 0 };
	time_t from, to;

	(void)state;
	assert_int_equal(rl_report_parse_month("2026-12", &p, &err), 0);
	rl_report_period_bounds(&p, &from, &to);
	assert_int_equal((long long)from, 1796083200LL);	/* 2026-12-01T00:00:00Z */
	assert_int_equal((long long)to, 1798761600LL);		/* 2027-01-01T00:00:00Z */
	assert_int_equal(rl_report_parse_month("2026-13", &p, &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
	assert_int_equal(rl_report_parse_month("2026-1", &p, &err), -1);
	assert_int_equal(rl_report_parse_month("26-01-01", &p, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_month_parsing),
		cmocka_unit_test(test_tsr_month),
		cmocka_unit_test(test_eusr_month),
		cmocka_unit_test(test_zero_month),
	};

	UNIT_PG_RUN(tests, NULL, "tests/scripts/reporting.sh");
}

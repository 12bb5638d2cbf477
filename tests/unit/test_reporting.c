/*
 * test_reporting.c - the Peppol TSR and EUSR computed from a real store (tests/scripts/reporting.sh starts
 * a private PostgreSQL and passes a fresh database in RELAIS_TEST_PGURL). Messages of both directions in
 * two months, with several access points, document types, end users and countries, some not counted
 * (undelivered, another month, another seat, the reports themselves); every total and subtotal of one
 * month is checked. Every report generated is validated against the reports' XSD
 * (tests/reporting-schemas/) and against the rules of the reports' Schematron (TSR 1.0.5, EUSR 1.1.4),
 * asserted here one by one under their rule ids (report_conforms()). Reports that the rules would reject
 * (unknown EUSR country, no seat id) are refused. Skipped (77) when run without a database.
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
#include <libxml/xmlschemas.h>
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
#define TSR_DT RL_REPORT_TSR_NS "::" RL_REPORT_TSR_ROOT "##" RL_REPORT_TSR_CUSTOMIZATION "::" RL_REPORT_TSR_VERSION
#define EUSR_DT RL_REPORT_EUSR_NS "::" RL_REPORT_EUSR_ROOT "##" RL_REPORT_EUSR_CUSTOMIZATION "::" RL_REPORT_EUSR_VERSION


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
	/* Not counted either: the reports themselves, sent and received (TSR and EUSR BIS, Data Gathering). */
	sent(s, "o10@t", "POP000002", EUSR_DT, "BE", "0088:1000000000001", "delivered", "2026-03-05 00:00:00+00");
	received(s, "i6@t", "POP000002", "POP000001", "DE", "0088:1000000000001", 0, "received", "2026-03-05 08:00:00+00");
	sql("UPDATE messages SET action = 'busdox-docid-qns::%s' WHERE message_id = 'i6@t'", TSR_DT);
	/* May: a sent message whose SBDH has no COUNTRY_C1. June: one from an access point without a seat id. */
	sent(s, "o9@t", "POP000002", INVOICE, NULL, "0088:1000000000001", "delivered", "2026-05-10 00:00:00+00");
	received(s, "i7@t", "ap.example.com", "POP000001", "DE", "0088:1000000000001", 0, "received",
		 "2026-06-10 08:00:00+00");
	/* July: COUNTRY_C1 values that are no country code of the reports' code list. */
	received(s, "i8@t", "POP000002", "POP000001", "XX", "0088:1000000000001", 0, "received", "2026-07-01 08:00:00+00");
	received(s, "i9@t", "POP000002", "POP000001", "be", "0088:1000000000001", 0, "received", "2026-07-02 08:00:00+00");
	received(s, "i10@t", "POP000002", "POP000001", "EL", "0088:1000000000001", 0, "received", "2026-07-03 08:00:00+00");
}

static void report_conforms(xmlDocPtr doc, enum rl_report_kind kind);

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
	report_conforms(doc, kind);
	return doc;
}

/* rl_report_write's refusal: its error code, and its message containing `says`. */
static void refused(struct rl_store *s, enum rl_report_kind kind, const char *seat, const char *month, const char *c4,
		    int code, const char *says)
{
	struct rl_report_opts o = { .seat_id = seat, .c4_country = c4 };
	struct rl_buf out = RL_BUF_INIT;
	struct rl_err err = { 0 };

	assert_int_equal(rl_report_parse_month(month, &o.period, &err), 0);
	if (rl_report_write(s, kind, &o, &out, &err) == 0)
		fail_msg("the %s of %s for %s was written, expected a refusal (%s)", kind == RL_REPORT_TSR ? "TSR" : "EUSR",
			 month, seat, says);
	assert_int_equal(err.code, code);
	if (strstr(err.msg, says) == NULL)
		fail_msg("refused with '%s', expected it to say '%s'", err.msg, says);
	rl_buf_free(&out);
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

/* ---------------------------------------------------------------- the reports' XSD and Schematron */

/* ISO 3166-1 alpha-2 as the Schematron lists it (with EL, XK, 1A, XI); the TSR also takes ZZ, the EUSR
 * (since 1.1.4) does not. */
#define ISO3166 " 1A AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR " \
	"BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH EL " \
	"ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE " \
	"IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC " \
	"MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE " \
	"PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV " \
	"SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XI XK " \
	"YE YT ZA ZM ZW "
/* Nodes whose value is no Peppol seat id (^P[A-Z]{2}[0-9]{6}$), in XPath 1.0. */
#define NOT_SEAT "[not(string-length(normalize-space(.)) = 9 and substring(normalize-space(.), 1, 1) = 'P' and " \
	"translate(substring(normalize-space(.), 2, 2), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '') = '' and " \
	"translate(substring(normalize-space(.), 4), '0123456789', '') = '')]"

/* The Schematron rule `rule`: the XPath expression (prefix r) is true. */
static void rule_holds(xmlDocPtr doc, const char *ns, const char *rule, const char *expr)
{
	char *got = xp(doc, ns, expr);

	if (strcmp(got, "true") != 0)
		fail_msg("[%s] does not hold: %s", rule, expr);
	xmlFree(got);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SCH-TSR-06/10/14, SCH-EUSR-13/29/38/40: each key combination of a subtotal/subset type occurs once.
 * A combination is the sorted list of its keys' metaSchemeID, schemeID and value. */
static void keys_unique(xmlDocPtr doc, const char *ns, const char *rule, const char *element, const char *type)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr set;
	char expr[256], **combos;
	int n;

	xmlXPathRegisterNs(ctx, BAD_CAST "r", BAD_CAST ns);
	snprintf(expr, sizeof(expr), "/*/r:%s[normalize-space(@type) = '%s']", element, type);
	set = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	assert_non_null(set);
	n = set->nodesetval ? set->nodesetval->nodeNr : 0;
	combos = calloc((size_t)n + 1, sizeof(*combos));
	assert_non_null(combos);
	for (int i = 0; i < n; i++) {
		char *keys[16];
		int nk = 0;
		size_t len = 1;

		for (xmlNodePtr k = set->nodesetval->nodeTab[i]->children; k; k = k->next) {
			xmlChar *meta, *scheme, *value;

			if (k->type != XML_ELEMENT_NODE || !xmlStrEqual(k->name, BAD_CAST "Key"))
				continue;
			assert_true(nk < 16);
			meta = xmlGetProp(k, BAD_CAST "metaSchemeID");
			scheme = xmlGetProp(k, BAD_CAST "schemeID");
			value = xmlNodeGetContent(k);
			assert_true(asprintf(&keys[nk], "%s|%s|%s", meta ? (char *)meta : "", scheme ? (char *)scheme : "",
					     value ? (char *)value : "") > 0);
			len += strlen(keys[nk++]) + 2;
			xmlFree(meta);
			xmlFree(scheme);
			xmlFree(value);
		}
		qsort(keys, (size_t)nk, sizeof(*keys), compare_strings);
		combos[i] = calloc(len, 1);
		assert_non_null(combos[i]);
		for (int j = 0; j < nk; j++) {
			strcat(combos[i], keys[j]);
			strcat(combos[i], "\n");
			free(keys[j]);
		}
	}
	qsort(combos, (size_t)n, sizeof(*combos), compare_strings);
	for (int i = 1; i < n; i++)
		if (strcmp(combos[i - 1], combos[i]) == 0)
			fail_msg("[%s] the %s key combination occurs twice: %s", rule, type, combos[i]);
	for (int i = 0; i < n; i++)
		free(combos[i]);
	free(combos);
	xmlXPathFreeObject(set);
	xmlXPathFreeContext(ctx);
}

/* The XSD of the report kind from tests/reporting-schemas/; the EUSR one (1.0.0) under the 1.1 namespace
 * (see the README there). */
static void schema_valid(xmlDocPtr doc, enum rl_report_kind kind)
{
	const char *srcdir = getenv("top_srcdir");
	const char *ns10 = "urn:fdc:peppol:end-user-statistics-report:1.0";
	char path[4096], *text = NULL, *at;
	size_t len = 0;
	FILE *f;
	xmlSchemaParserCtxtPtr pc;
	xmlSchemaPtr schema;
	xmlSchemaValidCtxtPtr vc;
	int rc;

	snprintf(path, sizeof(path), "%s/tests/reporting-schemas/%s", srcdir ? srcdir : ".",
		 kind == RL_REPORT_TSR ? "peppol-transaction-statistics-reporting-1.0.1.xsd"
				       : "peppol-end-user-statistics-reporting-1.0.0.xsd");
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	text = calloc(1, 1 << 16);
	assert_non_null(text);
	len = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	assert_true(len > 0 && len < (1 << 16) - 1);
	if (kind == RL_REPORT_EUSR)	/* same length: "1.0" -> "1.1" */
		for (at = strstr(text, ns10); at; at = strstr(at, ns10))
			at[strlen(ns10) - 1] = '1', at += strlen(ns10);
	pc = xmlSchemaNewMemParserCtxt(text, (int)len);
	schema = xmlSchemaParse(pc);
	assert_non_null(schema);
	vc = xmlSchemaNewValidCtxt(schema);
	rc = xmlSchemaValidateDoc(vc, doc);
	if (rc != 0)
		fail_msg("the %s is not valid against %s (%d)", kind == RL_REPORT_TSR ? "TSR" : "EUSR", path, rc);
	xmlSchemaFreeValidCtxt(vc);
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pc);
	free(text);
}

/* Header rules common to both (SCH-TSR-16..18/40..42, SCH-EUSR-06..08/16..18). */
static void header_rules(xmlDocPtr d, const char *ns, int tsr)
{
	rule_holds(d, ns, tsr ? "SCH-TSR-40" : "SCH-EUSR-16", "string-length(/*/r:Header/r:ReportPeriod/r:StartDate) = 10 "
		   "and translate(/*/r:Header/r:ReportPeriod/r:StartDate, '0123456789', '') = '--'");
	rule_holds(d, ns, tsr ? "SCH-TSR-41" : "SCH-EUSR-17", "string-length(/*/r:Header/r:ReportPeriod/r:EndDate) = 10 "
		   "and translate(/*/r:Header/r:ReportPeriod/r:EndDate, '0123456789', '') = '--'");
	rule_holds(d, ns, tsr ? "SCH-TSR-42" : "SCH-EUSR-18", "number(translate(/*/r:Header/r:ReportPeriod/r:EndDate, '-', '')) "
		   ">= number(translate(/*/r:Header/r:ReportPeriod/r:StartDate, '-', ''))");
	rule_holds(d, ns, tsr ? "SCH-TSR-16" : "SCH-EUSR-06", "normalize-space(/*/r:Header/r:ReporterID) != ''");
	rule_holds(d, ns, tsr ? "SCH-TSR-17" : "SCH-EUSR-07",
		   "normalize-space(/*/r:Header/r:ReporterID/@schemeID) = 'CertSubjectCN'");
	rule_holds(d, ns, tsr ? "SCH-TSR-18" : "SCH-EUSR-08", "count(/*/r:Header/r:ReporterID" NOT_SEAT ") = 0");
}

static void tsr_rules(xmlDocPtr d)
{
	const char *ns = RL_REPORT_TSR_NS;
	int empty, incoming;
	char *v, expr[2048];

	rule_holds(d, ns, "SCH-TSR-01", "normalize-space(/*/r:CustomizationID) = '" RL_REPORT_TSR_CUSTOMIZATION "'");
	rule_holds(d, ns, "SCH-TSR-02", "normalize-space(/*/r:ProfileID) = 'urn:fdc:peppol.eu:edec:bis:reporting:1.0'");
	v = xp(d, ns, "/*/r:Total/r:Incoming + /*/r:Total/r:Outgoing");
	empty = strcmp(v, "0") == 0;
	xmlFree(v);
	v = xp(d, ns, "/*/r:Total/r:Incoming");
	incoming = strcmp(v, "0") != 0;
	xmlFree(v);
	if (!empty) {
		rule_holds(d, ns, "SCH-TSR-03", "count(/*/r:Subtotal[normalize-space(@type) = 'PerTP']) > 0");
		rule_holds(d, ns, "SCH-TSR-04", "sum(/*/r:Subtotal[normalize-space(@type) = 'PerTP']/r:Incoming) = /*/r:Total/r:Incoming");
		rule_holds(d, ns, "SCH-TSR-05", "sum(/*/r:Subtotal[normalize-space(@type) = 'PerTP']/r:Outgoing) = /*/r:Total/r:Outgoing");
		rule_holds(d, ns, "SCH-TSR-07", "count(/*/r:Subtotal[normalize-space(@type) = 'PerSP-DT-PR']) > 0");
		rule_holds(d, ns, "SCH-TSR-08",
			   "sum(/*/r:Subtotal[normalize-space(@type) = 'PerSP-DT-PR']/r:Incoming) = /*/r:Total/r:Incoming");
		rule_holds(d, ns, "SCH-TSR-09",
			   "sum(/*/r:Subtotal[normalize-space(@type) = 'PerSP-DT-PR']/r:Outgoing) = /*/r:Total/r:Outgoing");
	}
	if (incoming) {
		rule_holds(d, ns, "SCH-TSR-11", "count(/*/r:Subtotal[normalize-space(@type) = 'PerSP-DT-PR-CC']) > 0");
		rule_holds(d, ns, "SCH-TSR-12",
			   "sum(/*/r:Subtotal[normalize-space(@type) = 'PerSP-DT-PR-CC']/r:Incoming) = /*/r:Total/r:Incoming");
	}
	rule_holds(d, ns, "SCH-TSR-37/39", "count(/*/r:Subtotal[normalize-space(@type) != 'PerTP' and "
		   "normalize-space(@type) != 'PerSP-DT-PR' and normalize-space(@type) != 'PerSP-DT-PR-CC']) = 0");
	header_rules(d, ns, 1);
	rule_holds(d, ns, "SCH-TSR-19", "count(/*/r:Subtotal/r:Key[normalize-space(@schemeID) = 'CertSubjectCN']" NOT_SEAT ") = 0");
	snprintf(expr, sizeof(expr), "count(/*/r:Subtotal/r:Key[normalize-space(@schemeID) = 'SenderCountry' or "
		 "normalize-space(@schemeID) = 'ReceiverCountry'][contains(normalize-space(.), ' ') or "
		 "not(contains('%sZZ ', concat(' ', normalize-space(.), ' ')))]) = 0", ISO3166);
	rule_holds(d, ns, "SCH-TSR-20", expr);
	/* PerTP */
	keys_unique(d, ns, "SCH-TSR-06", "Subtotal", "PerTP");
#define TP "/*/r:Subtotal[normalize-space(@type) = 'PerTP']"
	rule_holds(d, ns, "SCH-TSR-21", "count(" TP "[count(r:Key) != 1]) = 0");
	rule_holds(d, ns, "SCH-TSR-22", "count(" TP "[count(r:Key[normalize-space(@metaSchemeID) = 'TP']) != 1]) = 0");
	rule_holds(d, ns, "SCH-TSR-23", "count(" TP "[count(r:Key[normalize-space(@schemeID) = 'Peppol']) != 1]) = 0");
	/* PerSP-DT-PR */
	keys_unique(d, ns, "SCH-TSR-10", "Subtotal", "PerSP-DT-PR");
#define SDP "/*/r:Subtotal[normalize-space(@type) = 'PerSP-DT-PR']"
#define META_ONCE(x, m) "count(" x "[count(r:Key[normalize-space(@metaSchemeID) = '" m "']) != 1]) = 0"
	rule_holds(d, ns, "SCH-TSR-24", "count(" SDP "[count(r:Key) != 3]) = 0");
	rule_holds(d, ns, "SCH-TSR-25", META_ONCE(SDP, "SP"));
	rule_holds(d, ns, "SCH-TSR-26", META_ONCE(SDP, "DT"));
	rule_holds(d, ns, "SCH-TSR-27", META_ONCE(SDP, "PR"));
	rule_holds(d, ns, "SCH-TSR-28", "count(" SDP "/r:Key[normalize-space(@metaSchemeID) = 'SP']"
		   "[normalize-space(@schemeID) != 'CertSubjectCN']) = 0");
	/* PerSP-DT-PR-CC */
	keys_unique(d, ns, "SCH-TSR-14", "Subtotal", "PerSP-DT-PR-CC");
#define SDPC "/*/r:Subtotal[normalize-space(@type) = 'PerSP-DT-PR-CC']"
	rule_holds(d, ns, "SCH-TSR-29", "count(" SDPC "[count(r:Key) != 5]) = 0");
	rule_holds(d, ns, "SCH-TSR-30", META_ONCE(SDPC, "SP"));
	rule_holds(d, ns, "SCH-TSR-31", META_ONCE(SDPC, "DT"));
	rule_holds(d, ns, "SCH-TSR-32", META_ONCE(SDPC, "PR"));
	rule_holds(d, ns, "SCH-TSR-33", "count(" SDPC "[count(r:Key[normalize-space(@metaSchemeID) = 'CC']) != 2]) = 0");
	rule_holds(d, ns, "SCH-TSR-34", "count(" SDPC "/r:Key[normalize-space(@metaSchemeID) = 'SP']"
		   "[normalize-space(@schemeID) != 'CertSubjectCN']) = 0");
	rule_holds(d, ns, "SCH-TSR-35", "count(" SDPC "[count(r:Key[normalize-space(@metaSchemeID) = 'CC']"
		   "[normalize-space(@schemeID) = 'SenderCountry']) != 1]) = 0");
	rule_holds(d, ns, "SCH-TSR-36", "count(" SDPC "[count(r:Key[normalize-space(@metaSchemeID) = 'CC']"
		   "[normalize-space(@schemeID) = 'ReceiverCountry']) != 1]) = 0");
	rule_holds(d, ns, "SCH-TSR-43", "count(" SDPC "[r:Outgoing != 0]) = 0");
}

static void eusr_rules(xmlDocPtr d)
{
	const char *ns = RL_REPORT_EUSR_NS;
	char *v, expr[2048];
	int empty;

	rule_holds(d, ns, "SCH-EUSR-01", "normalize-space(/*/r:CustomizationID) = '" RL_REPORT_EUSR_CUSTOMIZATION "'");
	rule_holds(d, ns, "SCH-EUSR-02", "normalize-space(/*/r:ProfileID) = 'urn:fdc:peppol.eu:edec:bis:reporting:1.0'");
	v = xp(d, ns, "/*/r:FullSet/r:SendingEndUsers + /*/r:FullSet/r:ReceivingEndUsers");
	empty = strcmp(v, "0") == 0;
	xmlFree(v);
#define FS "/*/r:FullSet/r:"
	if (!empty) {
		rule_holds(d, ns, "SCH-EUSR-03", "count(/*/r:Subset[r:SendingEndUsers > " FS "SendingEndUsers]) = 0");
		rule_holds(d, ns, "SCH-EUSR-04", "count(/*/r:Subset[r:ReceivingEndUsers > " FS "ReceivingEndUsers]) = 0");
		rule_holds(d, ns, "SCH-EUSR-22",
			   "count(/*/r:Subset[r:SendingOrReceivingEndUsers > " FS "SendingOrReceivingEndUsers]) = 0");
		rule_holds(d, ns, "SCH-EUSR-15", "count(/*/r:Subset[normalize-space(@type) = 'PerDT-PR']) > 0");
		rule_holds(d, ns, "SCH-EUSR-37", "count(/*/r:Subset[normalize-space(@type) = 'PerDT-EUC']) > 0");
		rule_holds(d, ns, "SCH-EUSR-39", "count(/*/r:Subset[normalize-space(@type) = 'PerEUC']) > 0");
	}
	rule_holds(d, ns, "SCH-EUSR-19", FS "SendingOrReceivingEndUsers <= " FS "SendingEndUsers + " FS "ReceivingEndUsers");
	rule_holds(d, ns, "SCH-EUSR-20", FS "SendingOrReceivingEndUsers >= " FS "SendingEndUsers");
	rule_holds(d, ns, "SCH-EUSR-21", FS "SendingOrReceivingEndUsers >= " FS "ReceivingEndUsers");
	keys_unique(d, ns, "SCH-EUSR-13", "Subset", "PerDT-PR");
	keys_unique(d, ns, "SCH-EUSR-29", "Subset", "PerDT-PR-EUC");
	keys_unique(d, ns, "SCH-EUSR-38", "Subset", "PerDT-EUC");
	keys_unique(d, ns, "SCH-EUSR-40", "Subset", "PerEUC");
	rule_holds(d, ns, "SCH-EUSR-14", "count(/*/r:Subset[normalize-space(@type) != 'PerDT-PR' and "
		   "normalize-space(@type) != 'PerDT-PR-EUC' and normalize-space(@type) != 'PerDT-EUC' and "
		   "normalize-space(@type) != 'PerEUC']) = 0");
	rule_holds(d, ns, "SCH-EUSR-33",
		   "count(/*/r:Subset[r:SendingOrReceivingEndUsers > r:SendingEndUsers + r:ReceivingEndUsers]) = 0");
	rule_holds(d, ns, "SCH-EUSR-34", "count(/*/r:Subset[r:SendingOrReceivingEndUsers < r:SendingEndUsers]) = 0");
	rule_holds(d, ns, "SCH-EUSR-35", "count(/*/r:Subset[r:SendingOrReceivingEndUsers < r:ReceivingEndUsers]) = 0");
	rule_holds(d, ns, "SCH-EUSR-36", "count(/*/r:Subset[not(r:SendingOrReceivingEndUsers > 0)]) = 0");
	header_rules(d, ns, 0);
	snprintf(expr, sizeof(expr), "count(/*/r:Subset/r:Key[normalize-space(@schemeID) = 'EndUserCountry']"
		 "[contains(normalize-space(.), ' ') or not(contains('%s', concat(' ', normalize-space(.), ' ')))]) = 0",
		 ISO3166);
	rule_holds(d, ns, "SCH-EUSR-30", expr);
#define DTPR "/*/r:Subset[normalize-space(@type) = 'PerDT-PR']"
#define DTPREUC "/*/r:Subset[normalize-space(@type) = 'PerDT-PR-EUC']"
#define DTEUC "/*/r:Subset[normalize-space(@type) = 'PerDT-EUC']"
#define EUCS "/*/r:Subset[normalize-space(@type) = 'PerEUC']"
#define EUC_ONCE(x) "count(" x "[count(r:Key[normalize-space(@metaSchemeID) = 'CC']" \
	"[normalize-space(@schemeID) = 'EndUserCountry']) != 1]) = 0"
	rule_holds(d, ns, "SCH-EUSR-09", "count(" DTPR "[count(r:Key) != 2]) = 0");
	rule_holds(d, ns, "SCH-EUSR-10", META_ONCE(DTPR, "DT"));
	rule_holds(d, ns, "SCH-EUSR-11", META_ONCE(DTPR, "PR"));
	rule_holds(d, ns, "SCH-EUSR-23", "count(" DTPREUC "[count(r:Key) != 3]) = 0");
	rule_holds(d, ns, "SCH-EUSR-24", META_ONCE(DTPREUC, "DT"));
	rule_holds(d, ns, "SCH-EUSR-25", META_ONCE(DTPREUC, "PR"));
	rule_holds(d, ns, "SCH-EUSR-26", META_ONCE(DTPREUC, "CC"));
	rule_holds(d, ns, "SCH-EUSR-27", EUC_ONCE(DTPREUC));
	rule_holds(d, ns, "SCH-EUSR-41", "count(" DTEUC "[count(r:Key) != 2]) = 0");
	rule_holds(d, ns, "SCH-EUSR-42", META_ONCE(DTEUC, "DT"));
	rule_holds(d, ns, "SCH-EUSR-43", META_ONCE(DTEUC, "CC"));
	rule_holds(d, ns, "SCH-EUSR-44", EUC_ONCE(DTEUC));
	rule_holds(d, ns, "SCH-EUSR-45", "count(" EUCS "[count(r:Key) != 1]) = 0");
	rule_holds(d, ns, "SCH-EUSR-46", META_ONCE(EUCS, "CC"));
	rule_holds(d, ns, "SCH-EUSR-47", EUC_ONCE(EUCS));
}

/* What OpenPeppol's validation of a received report checks: the XSD, then the Schematron rules. */
static void report_conforms(xmlDocPtr doc, enum rl_report_kind kind)
{
	schema_valid(doc, kind);
	if (kind == RL_REPORT_TSR)
		tsr_rules(doc);
	else
		eusr_rules(doc);
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

/* A message counts in the month of its exchange: an outbound one when its receipt came (its history's
 * "delivered" line), not when it was queued; an inbound one when it was received. */
static void test_month_of_exchange(void **state)
{
	struct rl_store *s = open_store();
	xmlDocPtr d;

	(void)state;
	sent(s, "late@t", "POP000002", INVOICE, "BE", "0088:1000000000001", "delivered", "2026-03-31 23:59:00+00");
	sql("UPDATE messages SET history = history || E'2026-04-01T00:00:05.123Z\\tdelivered\\treceipt r@t\\n'"
	    " WHERE message_id = 'late@t'");
	sent(s, "ontime@t", "POP000002", INVOICE, "BE", "0088:1000000000001", "delivered", "2026-03-30 10:00:00+00");
	sql("UPDATE messages SET history = history || E'2026-03-30T10:00:01.000Z\\tdelivered\\treceipt r@t\\n'"
	    " WHERE message_id = 'ontime@t'");
	received(s, "in@t", "POP000002", "POP000001", "DE", "0088:1000000000001", 0, "delivered", "2026-03-31 23:59:30+00");
	d = report(s, RL_REPORT_TSR, "2026-03", "FR");
	expect(d, T, "/*/r:Total/r:Outgoing", "1");
	expect(d, T, "/*/r:Total/r:Incoming", "1");
	xmlFreeDoc(d);
	d = report(s, RL_REPORT_TSR, "2026-04", "FR");
	expect(d, T, "/*/r:Total/r:Outgoing", "1");
	expect(d, T, "/*/r:Total/r:Incoming", "0");
	xmlFreeDoc(d);
	rl_store_close(s);
}

/* The reports themselves are counted in neither report (fill_store has a sent EUSR and a received TSR). */
static void test_reports_not_counted(void **state)
{
	struct rl_store *s = open_store();
	xmlDocPtr d;

	(void)state;
	fill_store(s);
	d = report(s, RL_REPORT_TSR, "2026-03", "FR");
	expect(d, T, "/*/r:Total/r:Incoming + /*/r:Total/r:Outgoing", "6");
	expect(d, T, "count(//r:Key[@metaSchemeID='DT'][. = '" TSR_DT "' or . = '" EUSR_DT "'])", "0");
	xmlFreeDoc(d);
	d = report(s, RL_REPORT_EUSR, "2026-03", "FR");
	expect(d, E, "count(//r:Key[@metaSchemeID='DT'][. = '" TSR_DT "' or . = '" EUSR_DT "'])", "0");
	xmlFreeDoc(d);
	rl_store_close(s);
}

/* What the reports' rules would reject is refused, saying why; the TSR takes ZZ, the EUSR does not. */
static void test_refusals(void **state)
{
	struct rl_store *s = open_store();
	xmlDocPtr d;

	(void)state;
	fill_store(s);
	/* EUSR: received end users without reporting.c4_country; a sent one without COUNTRY_C1. */
	refused(s, RL_REPORT_EUSR, "POP000001", "2026-03", NULL, RL_ERR_CONFIG, "set reporting.c4_country");
	refused(s, RL_REPORT_EUSR, "POP000001", "2026-05", "FR", RL_ERR_STATE, "o9@t");
	d = report(s, RL_REPORT_TSR, "2026-05", "FR");
	expect(d, T, "/*/r:Total/r:Outgoing", "1");
	xmlFreeDoc(d);
	/* C1 countries outside the code list are unknown: ZZ in the TSR; EL is on the list. */
	d = report(s, RL_REPORT_TSR, "2026-07", "FR");
	expect(d, T, "/*/r:Subtotal[@type='PerSP-DT-PR-CC'][r:Key[@schemeID='SenderCountry']='ZZ']/r:Incoming", "2");
	expect(d, T, "/*/r:Subtotal[@type='PerSP-DT-PR-CC'][r:Key[@schemeID='SenderCountry']='EL']/r:Incoming", "1");
	xmlFreeDoc(d);
	/* Seat ids: ours (the ReporterID) and the other access point's. */
	refused(s, RL_REPORT_TSR, "relais-ap", "2026-03", "FR", RL_ERR_CONFIG, "'relais-ap' is not a Peppol seat id");
	refused(s, RL_REPORT_EUSR, "pop000001", "2026-03", "FR", RL_ERR_CONFIG, "is not a Peppol seat id");
	refused(s, RL_REPORT_TSR, "POP000001", "2026-06", "FR", RL_ERR_STATE, "'ap.example.com' is not a Peppol seat id");
	assert_true(rl_report_is_seat_id("POP000001"));
	assert_true(rl_report_is_seat_id("PDE123456"));
	assert_false(rl_report_is_seat_id("POP00001"));
	assert_false(rl_report_is_seat_id("POP0000011"));
	assert_false(rl_report_is_seat_id("XOP000001"));
	assert_false(rl_report_is_seat_id("Pop000001"));
	assert_false(rl_report_is_seat_id("POPA00001"));
	assert_false(rl_report_is_seat_id(NULL));
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
		cmocka_unit_test(test_reports_not_counted),
		cmocka_unit_test(test_month_of_exchange),
		cmocka_unit_test(test_refusals),
	};

	UNIT_PG_RUN(tests, NULL, "tests/scripts/reporting.sh");
}

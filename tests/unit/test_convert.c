/*
 * test_convert.c - UBL 2.1 <-> CII D16B conversion checked business term by business term on the
 * invoice pairs of the shared corpus ($RELAIS_SHARED_DIR/invoice-corpus/pairs: cen-tc434 and the
 * XRechnung test suite; the cvd and EeISI negative pairs are left out, as the corpus manifest says).
 *
 * For each pair (UBL file U, CII file C, their models mU and mC):
 *   1. mU and mC hold the same terms, value for value (numbers compared by value), except for the
 *      pair's documented flaws listed in `known` below, each with its reason;
 *   2. U converted to CII holds every term of mU, except those reported as not representable, and
 *      nothing else; it matches mC as in 1. The same for C converted to UBL;
 *   3. U -> CII -> UBL and C -> UBL -> CII give back every term of the original (exact text);
 *   4. every converted document passes the UBL 2.1 / CII D16B XSD (libxml2, corpus schemas).
 * Plus unit checks of the model, dates, numbers, refusals and the report.
 */
#include "config.h"
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include "relais/cli.h"
#include "relais/convert.h"
#include "relais/en16931.h"
#include "relais/xml.h"

/* What differs between the two files of a corpus pair, and why. "ubl-only:" lines are terms of the
 * UBL file the CII file lacks (or has with another value), "cii-only:" the other way round. */
struct known_difference {
	const char *pair;
	const char *line;
	const char *reason;
};

static const struct known_difference known[] = {
#include "test_convert_known.h"
};

static const char *shared_dir;
static xmlSchemaPtr schema_invoice, schema_creditnote, schema_cii;
static int pairs_checked;

/* ---- string sets: the sorted lines of a dump ---- */

struct lines {
	char **v;
	size_t n;
	char *text;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_of(struct lines *l, const struct rl_en_node *m, int flags)
{
	struct rl_buf b = RL_BUF_INIT;
	char *p, *nl;

	assert_int_equal(rl_en_dump(m, &b, flags | RL_EN_DUMP_INDEXED), 0);
	l->text = rl_buf_steal(&b);
	if (l->text == NULL)
		l->text = strdup("");
	l->n = 0;
	l->v = NULL;
	for (p = l->text; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = '\0';
		l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
		l->v[l->n++] = p;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_str);
}

static void lines_free(struct lines *l)
{
	free(l->v);
	free(l->text);
}

static int lines_has(const struct lines *l, const char *s)
{
	return l->n && bsearch(&s, l->v, l->n, sizeof *l->v, cmp_str) != NULL;
}

/* ---- models and conversions ---- */

static struct rl_en_node *read_path(const char *path)
{
	struct rl_err err;
	struct rl_en_node *m = rl_en_read_file(path, NULL, &err);

	if (m == NULL)
		fail_msg("%s: %s", path, err.msg);
	return m;
}

static xmlSchemaPtr load_schema(const char *relative)
{
	char path[4096];
	xmlExternalEntityLoader safe = xmlGetExternalEntityLoader();
	xmlSchemaParserCtxtPtr pc;
	xmlSchemaPtr s;

	snprintf(path, sizeof path, "%s/invoice-corpus/xsd/%s", shared_dir, relative);
	/* The corpus schemas import each other by relative file names: let the schema parser read files. */
	xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
	pc = xmlSchemaNewParserCtxt(path);
	s = pc ? xmlSchemaParse(pc) : NULL;
	xmlSchemaFreeParserCtxt(pc);
	xmlSetExternalEntityLoader(safe);
	if (s == NULL)
		fail_msg("cannot load the schema %s", path);
	return s;
}

static void xsd_check(const char *label, const char *xml, size_t len)
{
	struct rl_err err;
	xmlDocPtr doc = rl_xml_parse(xml, len, RL_EBMS_OTHER, label, &err);
	xmlNodePtr root;
	xmlSchemaValidCtxtPtr vc;
	xmlSchemaPtr schema;
	int rc;

	if (doc == NULL)
		fail_msg("%s: the output does not parse: %s", label, err.msg);
	root = xmlDocGetRootElement(doc);
	schema = rl_xml_is(root, RL_NS_RSM, "CrossIndustryInvoice") ? schema_cii
		: rl_xml_is(root, RL_NS_UBL_CREDITNOTE, "CreditNote") ? schema_creditnote : schema_invoice;
	vc = xmlSchemaNewValidCtxt(schema);
	rc = xmlSchemaValidateDoc(vc, doc);
	xmlSchemaFreeValidCtxt(vc);
	xmlFreeDoc(doc);
	if (rc != 0)
		fail_msg("%s: the converted document is not valid against its XSD (%d)", label, rc);
}

/* Writes m in syntax `to`, checks the XSD, reads the result back. report receives the losses. */
static struct rl_en_node *convert(const char *label, const struct rl_en_node *m, enum rl_syntax to,
				  struct rl_buf *report)
{
	struct rl_buf xml = RL_BUF_INIT;
	struct rl_sink sink = { rl_sink_buf_write, &xml };
	struct rl_err err;
	struct rl_en_node *back;
	xmlDocPtr doc;

	if ((to == RL_SYNTAX_UBL ? rl_ubl_write(m, &sink, report, &err) : rl_cii_write(m, &sink, report, &err)) < 0)
		fail_msg("%s: conversion to %s failed: %s", label, rl_syntax_name(to), err.msg);
	xsd_check(label, xml.data, xml.len);
	doc = rl_xml_parse(xml.data, xml.len, RL_EBMS_OTHER, label, &err);
	assert_non_null(doc);
	back = to == RL_SYNTAX_UBL ? rl_ubl_read(doc, &err) : rl_cii_read(doc, &err);
	if (back == NULL)
		fail_msg("%s: the converted document cannot be read back: %s", label, err.msg);
	xmlFreeDoc(doc);
	rl_buf_free(&xml);
	return back;
}

/* Whether the report names this dump line's term and value ("PATH/BT-x = v [...]"). */
static int reported(const struct rl_buf *report, const char *line)
{
	const char *eq = strstr(line, " = "), *id, *p;
	char needle[1024];
	size_t id_len, value_len;

	if (eq == NULL || report->data == NULL)
		return 0;
	for (id = eq; id > line && id[-1] != '/'; id--)
		;
	id_len = (size_t)(eq - id);
	p = strstr(eq + 3, " [");
	value_len = p ? (size_t)(p - eq - 3) : strlen(eq + 3);
	snprintf(needle, sizeof needle, "%.*s: not representable in ", (int)id_len, id);
	for (p = report->data; (p = strstr(p, needle)) != NULL; p++) {
		const char *v = strstr(p, " in ") + 4;

		v = strchr(v, ' ') + 1;	/* past "SYNTAX:" */
		if (strncmp(v, eq + 3, value_len) == 0 && v[value_len] == '\n')
			return 1;
		if (strncmp(v, "a ", 2) == 0 || strncmp(v, "no ", 3) == 0)	/* a reason instead of the value */
			return 1;
	}
	return 0;
}

/* Every term of `orig` is in `got` unless reported lost; `got` invents nothing. Exact text. */
static int check_preserved(const char *label, const struct rl_en_node *orig, const struct rl_en_node *got,
			   const struct rl_buf *report)
{
	struct lines a, b;
	size_t i;
	int bad = 0, lost = 0;

	lines_of(&a, orig, 0);
	lines_of(&b, got, 0);
	for (i = 0; i < a.n; i++)
		if (!lines_has(&b, a.v[i])) {
			if (reported(report, a.v[i])) {
				lost++;
				continue;
			}
			printf("#   %s: dropped without report: %s\n", label, a.v[i]);
			bad++;
		}
	for (i = 0; i < b.n; i++)
		if (!lines_has(&a, b.v[i])) {
			printf("#   %s: appeared from nowhere: %s\n", label, b.v[i]);
			bad++;
		}
	printf("#   %s: %zu terms, %d reported not representable, %d wrong\n", label, a.n, lost, bad);
	lines_free(&a);
	lines_free(&b);
	return bad;
}

static int is_known(const char *pair, const char *side, const char *line)
{
	size_t i, side_len = strlen(side);

	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(known[i].pair, pair) == 0 && strncmp(known[i].line, side, side_len) == 0 &&
		    strcmp(known[i].line + side_len, line) == 0)
			return 1;
	return 0;
}

/* The terms of a UBL-side model against those of a CII-side model (numbers by value): every
 * difference must be a known one of the pair, or a term `lost_from` had and the conversion reported. */
static int check_pair_terms(const char *pair, const char *label, const struct rl_en_node *ubl,
			    const struct rl_en_node *cii, const struct rl_en_node *lost_from, int lost_side_ubl,
			    int *known_seen)
{
	struct lines u, c, l = { 0 };
	size_t i;
	int bad = 0, known_count = 0;

	lines_of(&u, ubl, RL_EN_DUMP_NUMBERS);
	lines_of(&c, cii, RL_EN_DUMP_NUMBERS);
	if (lost_from)
		lines_of(&l, lost_from, RL_EN_DUMP_NUMBERS);
	for (i = 0; i < u.n; i++)
		if (!lines_has(&c, u.v[i])) {
			if (is_known(pair, "ubl-only: ", u.v[i]))
				known_count++;
			else if (lost_from && !lost_side_ubl && lines_has(&l, u.v[i]))
				;	/* the CII side had it too; the conversion reported it */
			else {
				printf("#   %s: only in UBL: %s\n", label, u.v[i]);
				bad++;
			}
		}
	for (i = 0; i < c.n; i++)
		if (!lines_has(&u, c.v[i])) {
			if (is_known(pair, "cii-only: ", c.v[i]))
				known_count++;
			else if (lost_from && lost_side_ubl && lines_has(&l, c.v[i]))
				;
			else {
				printf("#   %s: only in CII: %s\n", label, c.v[i]);
				bad++;
			}
		}
	if (known_seen)
		*known_seen = known_count;
	lines_free(&u);
	lines_free(&c);
	if (lost_from)
		lines_free(&l);
	return bad;
}

static int known_count_for(const char *pair)
{
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		n += strcmp(known[i].pair, pair) == 0;
	return n;
}

static int check_one_pair(const char *pair, const char *ubl_path, const char *cii_path)
{
	struct rl_en_node *mu = read_path(ubl_path), *mc = read_path(cii_path);
	struct rl_buf r1 = RL_BUF_INIT, r2 = RL_BUF_INIT, r3 = RL_BUF_INIT, r4 = RL_BUF_INIT;
	struct rl_en_node *u2c, *c2u, *u2c2u, *c2u2c;
	char label[256];
	int bad = 0, seen = 0, want = known_count_for(pair);

	printf("# pair %s\n", pair);
	/* 1. the two files of the pair */
	snprintf(label, sizeof label, "%s UBL vs CII", pair);
	bad += check_pair_terms(pair, label, mu, mc, NULL, 0, &seen);
	if (seen != want) {
		printf("#   %s: %d of the %d known differences seen: the known list is stale\n", label, seen, want);
		bad++;
	}
	/* 2. each side converted, against itself and against the other side */
	snprintf(label, sizeof label, "%s UBL->CII", pair);
	u2c = convert(label, mu, RL_SYNTAX_CII, &r1);
	bad += check_preserved(label, mu, u2c, &r1);
	bad += check_pair_terms(pair, label, u2c, mc, mu, 1, NULL);
	snprintf(label, sizeof label, "%s CII->UBL", pair);
	c2u = convert(label, mc, RL_SYNTAX_UBL, &r2);
	bad += check_preserved(label, mc, c2u, &r2);
	bad += check_pair_terms(pair, label, mu, c2u, mc, 0, NULL);
	/* 3. round trips */
	snprintf(label, sizeof label, "%s UBL->CII->UBL", pair);
	u2c2u = convert(label, u2c, RL_SYNTAX_UBL, &r3);
	rl_buf_puts(&r3, r1.data ? r1.data : "");
	bad += check_preserved(label, mu, u2c2u, &r3);
	snprintf(label, sizeof label, "%s CII->UBL->CII", pair);
	c2u2c = convert(label, c2u, RL_SYNTAX_CII, &r4);
	rl_buf_puts(&r4, r2.data ? r2.data : "");
	bad += check_preserved(label, mc, c2u2c, &r4);
	printf("# pair %s: %s (%d known differences)\n", pair, bad ? "FAILED" : "ok", want);
	rl_en_free(mu);
	rl_en_free(mc);
	rl_en_free(u2c);
	rl_en_free(c2u);
	rl_en_free(u2c2u);
	rl_en_free(c2u2c);
	rl_buf_free(&r1);
	rl_buf_free(&r2);
	rl_buf_free(&r3);
	rl_buf_free(&r4);
	pairs_checked++;
	return bad;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Each sub-directory of dir holding one UBL and one CII file is a pair. */
static int check_pairs_in(const char *group)
{
	char dir[4096], path[4096 + 512], ubl[4096 + 512], cii[4096 + 512], pair[512];
	struct dirent **names;
	int i, n, bad = 0;

	snprintf(dir, sizeof dir, "%s/invoice-corpus/pairs/%s", shared_dir, group);
	n = scandir(dir, &names, NULL, alphasort);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		struct dirent **files;
		int j, m;

		if (names[i]->d_name[0] == '.') {
			free(names[i]);
			continue;
		}
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		ubl[0] = cii[0] = '\0';
		m = scandir(path, &files, NULL, alphasort);
		for (j = 0; j < m; j++) {
			const char *f = files[j]->d_name;

			if (ends_with(f, "_uncefact.xml") || strncmp(f, "CII_", 4) == 0)
				snprintf(cii, sizeof cii, "%s/%s", path, f);
			else if (ends_with(f, ".xml"))
				snprintf(ubl, sizeof ubl, "%s/%s", path, f);
			free(files[j]);
		}
		free(files);
		if (ubl[0] && cii[0]) {
			snprintf(pair, sizeof pair, "%s/%s", group, names[i]->d_name);
			bad += check_one_pair(pair, ubl, cii);
		}
		free(names[i]);
	}
	free(names);
	return bad;
}

static void test_corpus_pairs(void **state)
{
	int bad = 0;

	(void)state;
	if (shared_dir == NULL)
		skip();
	bad += check_pairs_in("cen-tc434");
	bad += check_pairs_in("xrechnung/standard");
	bad += check_pairs_in("xrechnung/cius");
	printf("# %d pairs checked, %d problems\n", pairs_checked, bad);
	assert_true(pairs_checked >= 45);
	assert_int_equal(bad, 0);
}

/* ---- small documents ---- */

static const char minimal_cii[] =
	"<rsm:CrossIndustryInvoice xmlns:rsm='" RL_NS_RSM "' xmlns:ram='" RL_NS_RAM "' xmlns:udt='" RL_NS_UDT "'>"
	"<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017"
	"</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>"
	"<rsm:ExchangedDocument><ram:ID>INV-1</ram:ID><ram:TypeCode>%s</ram:TypeCode><ram:IssueDateTime>"
	"<udt:DateTimeString format='%s'>%s</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>"
	"<rsm:SupplyChainTradeTransaction>%s<ram:ApplicableHeaderTradeAgreement/><ram:ApplicableHeaderTradeDelivery/>"
	"<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>"
	"<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:LineTotalAmount>100.10</ram:LineTotalAmount>"
	"<ram:DuePayableAmount>0.10000000000000000555</ram:DuePayableAmount>"
	"</ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
	"<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>P-1</ram:IssuerAssignedID></ram:InvoiceReferencedDocument>"
	"</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>";

static const char one_line[] =
	"<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID>"
	"</ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct><ram:Name>Widget</ram:Name>"
	"</ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode='H87'>3.000"
	"</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement>"
	"<ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>100.10</ram:LineTotalAmount>"
	"</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>"
	"</ram:IncludedSupplyChainTradeLineItem>";

static struct rl_en_node *model_of(const char *type, const char *format, const char *date, const char *lines,
				   struct rl_err *err)
{
	char xml[8192];
	xmlDocPtr doc;
	struct rl_en_node *m;

	snprintf(xml, sizeof xml, minimal_cii, type, format, date, lines);
	doc = rl_xml_parse(xml, strlen(xml), RL_EBMS_OTHER, "test", err);
	assert_non_null(doc);
	m = rl_cii_read(doc, err);
	xmlFreeDoc(doc);
	return m;
}

static char *write_to_string(const struct rl_en_node *m, enum rl_syntax to, struct rl_buf *report,
			     struct rl_err *err)
{
	struct rl_buf out = RL_BUF_INIT;
	struct rl_sink sink = { rl_sink_buf_write, &out };
	int rc = to == RL_SYNTAX_UBL ? rl_ubl_write(m, &sink, report, err) : rl_cii_write(m, &sink, report, err);

	if (rc < 0) {
		rl_buf_free(&out);
		return NULL;
	}
	return rl_buf_steal(&out);
}

static void test_exact_values_and_dates(void **state)
{
	struct rl_buf report = RL_BUF_INIT;
	struct rl_err err;
	struct rl_en_node *m = model_of("381", "102", "20240229", one_line, &err);
	char *ubl;

	(void)state;
	assert_non_null(m);
	assert_string_equal(rl_en_value(m, "BT-2"), "2024-02-29");
	ubl = write_to_string(m, RL_SYNTAX_UBL, &report, &err);
	assert_non_null(ubl);
	/* 381 makes a CreditNote; the amount keeps every digit; the date is ISO; the unit code stays. */
	assert_non_null(strstr(ubl, "<CreditNote xmlns=\"" RL_NS_UBL_CREDITNOTE "\""));
	assert_non_null(strstr(ubl, "<cbc:CreditedQuantity unitCode=\"H87\">3.000</cbc:CreditedQuantity>"));
	assert_non_null(strstr(ubl, ">0.10000000000000000555</cbc:PayableAmount>"));
	assert_non_null(strstr(ubl, "<cbc:IssueDate>2024-02-29</cbc:IssueDate>"));
	assert_non_null(strstr(ubl, "<cbc:LineExtensionAmount currencyID=\"EUR\">100.10<"));
	xsd_check("minimal credit note", ubl, strlen(ubl));
	assert_int_equal(report.len, 0);
	free(ubl);
	rl_en_free(m);
	rl_buf_free(&report);
}

static void test_bad_dates_refused(void **state)
{
	struct rl_err err;

	(void)state;
	assert_null(model_of("380", "102", "20241301", one_line, &err));
	assert_int_equal(err.code, RL_EBMS_VALUE_INCONSISTENT);
	assert_non_null(strstr(err.msg, "BT-2"));
	assert_null(model_of("380", "203", "202401011200", one_line, &err));
	assert_non_null(strstr(err.msg, "format"));
}

static void test_no_line_refused_for_ubl(void **state)
{
	struct rl_buf report = RL_BUF_INIT;
	struct rl_err err;
	struct rl_en_node *m = model_of("380", "102", "20240101", "", &err);
	char *cii;

	(void)state;
	assert_non_null(m);
	assert_null(write_to_string(m, RL_SYNTAX_UBL, &report, &err));
	assert_int_equal(err.code, RL_EBMS_VALUE_INCONSISTENT);
	assert_non_null(strstr(err.msg, "BG-25"));
	cii = write_to_string(m, RL_SYNTAX_CII, &report, &err);
	assert_non_null(cii);
	free(cii);
	rl_en_free(m);
	rl_buf_free(&report);
}

static void test_not_representable_reported(void **state)
{
	struct rl_buf report = RL_BUF_INIT;
	struct rl_err err;
	struct rl_en_node *m = model_of("380", "102", "20240101", one_line, &err);
	struct rl_en_node *g;
	char *cii;

	(void)state;
	assert_non_null(m);
	/* CII D16B has one preceding invoice reference; a second one is reported, not dropped. */
	g = rl_en_add_group(m, "BG-3");
	rl_en_add(g, "BT-25", "P-2");
	rl_en_add(g, "BT-26", "2023-12-31");
	cii = write_to_string(m, RL_SYNTAX_CII, &report, &err);
	assert_non_null(cii);
	assert_non_null(report.data);
	assert_non_null(strstr(report.data, "BT-25: not representable in CII: P-2\n"));
	assert_non_null(strstr(report.data, "BT-26: not representable in CII: 2023-12-31\n"));
	free(cii);
	rl_en_free(m);
	rl_buf_free(&report);
}

static struct rl_en_node *read_string(const char *xml, struct rl_err *err)
{
	xmlDocPtr doc = rl_xml_parse(xml, strlen(xml), RL_EBMS_OTHER, "test", err);
	enum rl_syntax s;
	struct rl_en_node *m;

	assert_non_null(doc);
	assert_int_equal(rl_en_detect(doc, &s, err), 0);
	m = s == RL_SYNTAX_UBL ? rl_ubl_read(doc, err) : rl_cii_read(doc, err);
	xmlFreeDoc(doc);
	return m;
}

/* Whether `needle` is inside the first <tag>...</tag> of xml. */
static int inside(const char *xml, const char *tag, const char *needle)
{
	char open[128], close[128];
	const char *start, *end, *at;

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	start = strstr(xml, open);
	end = start ? strstr(start, close) : NULL;
	at = start ? strstr(start, needle) : NULL;
	return at && end && at < end;
}

/* The places where the bindings differ: BT-9 and BT-11 of a UBL CreditNote, the BT-8 code lists. */
static void test_syntax_specific_bindings(void **state)
{
	struct rl_buf report = RL_BUF_INIT;
	struct rl_err err;
	struct rl_en_node *m = model_of("381", "102", "20240301", one_line, &err), *g, *back;
	char *ubl, *cii;

	(void)state;
	assert_non_null(m);
	rl_en_add(m, "BT-9", "2024-03-31");
	rl_en_add(m, "BT-11", "PROJ-7");
	rl_en_add(m, "BT-8", "432");
	g = rl_en_add_group(m, "BG-16");
	rl_en_add(g, "BT-81", "30");
	g = rl_en_add_group(m, "BG-23");
	rl_en_add(g, "BT-116", "100.10");
	rl_en_add(g, "BT-117", "0");
	rl_en_add(g, "BT-118", "E");
	rl_en_add(rl_en_get(m, "BG-22"), "BT-110", "0");
	ubl = write_to_string(m, RL_SYNTAX_UBL, &report, &err);
	assert_non_null(ubl);
	xsd_check("credit note bindings", ubl, strlen(ubl));
	assert_true(inside(ubl, "cac:PaymentMeans", "<cbc:PaymentDueDate>2024-03-31</cbc:PaymentDueDate>"));
	assert_true(inside(ubl, "cac:AdditionalDocumentReference", "<cbc:ID>PROJ-7</cbc:ID>"));
	assert_true(inside(ubl, "cac:AdditionalDocumentReference", "<cbc:DocumentTypeCode>50</cbc:DocumentTypeCode>"));
	assert_null(strstr(ubl, "ProjectReference"));
	assert_true(inside(ubl, "cac:InvoicePeriod", "<cbc:DescriptionCode>432</cbc:DescriptionCode>"));
	cii = write_to_string(m, RL_SYNTAX_CII, &report, &err);
	assert_non_null(cii);
	assert_non_null(strstr(cii, "<ram:DueDateTypeCode>72</ram:DueDateTypeCode>"));
	assert_true(inside(cii, "ram:SpecifiedProcuringProject", "<ram:ID>PROJ-7</ram:ID>"));
	assert_int_equal(report.len, 0);
	/* Both read back to the business terms of the model. */
	back = read_string(ubl, &err);
	assert_non_null(back);
	assert_int_equal(check_preserved("credit note via UBL", m, back, &report), 0);
	rl_en_free(back);
	back = read_string(cii, &err);
	assert_non_null(back);
	assert_int_equal(check_preserved("credit note via CII", m, back, &report), 0);
	rl_en_free(back);
	free(ubl);
	free(cii);
	rl_en_free(m);
	rl_buf_free(&report);
}

static void test_not_an_invoice(void **state)
{
	static const char order[] = "<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:Order-2'/>";
	struct rl_err err;
	xmlDocPtr doc = rl_xml_parse(order, sizeof order - 1, RL_EBMS_OTHER, "test", &err);
	enum rl_syntax s;

	(void)state;
	assert_non_null(doc);
	assert_int_equal(rl_en_detect(doc, &s, &err), -1);
	assert_int_equal(err.code, RL_EBMS_VALUE_NOT_RECOGNIZED);
	assert_null(rl_ubl_read(doc, &err));
	assert_null(rl_cii_read(doc, &err));
	xmlFreeDoc(doc);
}

static void test_dump_numbers(void **state)
{
	struct rl_en_node *m = rl_en_new(), *g;
	struct rl_buf b = RL_BUF_INIT;

	(void)state;
	g = rl_en_add_group(m, "BG-22");
	rl_en_add(g, "BT-106", "0229.60");
	rl_en_add(g, "BT-115", "-0.000");
	rl_en_add(g, "BT-109", "10.");
	rl_en_add(m, "BT-1", "007.50");
	assert_int_equal(rl_en_dump(m, &b, RL_EN_DUMP_NUMBERS), 0);
	assert_string_equal(b.data, "BG-22/BT-106 = 229.6\nBG-22/BT-115 = 0\nBG-22/BT-109 = 10\nBT-1 = 007.50\n");
	rl_buf_free(&b);
	rl_en_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_numbers),
		cmocka_unit_test(test_exact_values_and_dates),
		cmocka_unit_test(test_bad_dates_refused),
		cmocka_unit_test(test_no_line_refused_for_ubl),
		cmocka_unit_test(test_not_representable_reported),
		cmocka_unit_test(test_syntax_specific_bindings),
		cmocka_unit_test(test_not_an_invoice),
		cmocka_unit_test(test_corpus_pairs),
	};
	struct rl_err err;
	const char *dir = getenv("RELAIS_SHARED_DIR");
	char probe[4096];
	struct stat st;
	int rc;

	if (rl_init(&err) < 0)
		return 1;
	snprintf(probe, sizeof probe, "%s/invoice-corpus/pairs", dir ? dir : "");
	if (dir && stat(probe, &st) == 0)
		shared_dir = dir;
	if (shared_dir == NULL) {
		printf("SKIP: no shared invoice corpus\n");
		return 77;
	}
	schema_invoice = load_schema("ubl-2.1/maindoc/UBL-Invoice-2.1.xsd");
	schema_creditnote = load_schema("ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd");
	schema_cii = load_schema("cii-d16b/uncoupled/CII/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	xmlSchemaFree(schema_invoice);
	xmlSchemaFree(schema_creditnote);
	xmlSchemaFree(schema_cii);
	rl_shutdown();
	return rc;
}

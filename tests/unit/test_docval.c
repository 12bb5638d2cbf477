/*
 * test_docval.c - document detection, exact decimals, XSD validation with the shipped schemas, the
 * built-in rules on the good corpus examples, and hostile XML, on the shared invoice corpus.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "relais/buf.h"
#include "relais/doc.h"
#include "relais/docval.h"
#include "relais/sbdh_wrap.h"
#include "relais/xml.h"
#include "../../src/docval_model.h"

static char corpus[4096];
static char tmpdir[4096];

static int have_corpus(void)
{
	return corpus[0] != '\0';
}

static const char *corpus_path(const char *rel)
{
	static char path[8192];

	snprintf(path, sizeof(path), "%s/%s", corpus, rel);
	return path;
}

static void detect(const char *rel, int syntax, int kind, const char *customization)
{
	struct rl_doc_info info;
	struct rl_err err;

	if (rl_doc_detect_file(corpus_path(rel), &info, &err) < 0)
		fail_msg("%s: %s", rel, err.msg);
	assert_int_equal(info.syntax, syntax);
	assert_int_equal(info.kind, kind);
	if (customization)
		assert_string_equal(info.customization, customization);
	rl_doc_info_free(&info);
}

static void test_detect_kinds(void **state)
{
	struct rl_doc_info info;
	struct rl_err err;

	if (!have_corpus())
		skip();
	detect("examples/ubl/cen-en16931/ubl-tc434-example1.xml", RL_DOC_SYNTAX_UBL, RL_DOC_KIND_INVOICE,
	       "urn:cen.eu:en16931:2017");
	detect("examples/ubl/cen-en16931/ubl-tc434-creditnote1.xml", RL_DOC_SYNTAX_UBL, RL_DOC_KIND_CREDITNOTE,
	       "urn:cen.eu:en16931:2017");
	detect("examples/cii/cen-en16931/CII_example1.xml", RL_DOC_SYNTAX_CII, RL_DOC_KIND_INVOICE,
	       "urn:cen.eu:en16931:2017");
	detect("examples/cii/creditnotes/cii-br-de-17-tests-395-code-381.xml", RL_DOC_SYNTAX_CII,
	       RL_DOC_KIND_CREDITNOTE, NULL);
	detect("facturx/pdf/valid/EN16931_Einfach.pdf", RL_DOC_SYNTAX_PDF, RL_DOC_KIND_UNKNOWN, NULL);
	detect("examples/ubl/peppol-bis3/examples/base-creditnote-correction.xml", RL_DOC_SYNTAX_UBL,
	       RL_DOC_KIND_CREDITNOTE, RL_PEPPOL_BIS3_CUSTOMIZATION);

	/* A Peppol BIS 3 invoice: routing values and identifiers. */
	assert_int_equal(rl_doc_detect_file(corpus_path("examples/ubl/peppol-bis3/examples/base-example.xml"), &info,
					    &err), 0);
	assert_string_equal(info.profile, RL_PEPPOL_BIS3_PROCESS);
	assert_string_equal(info.document_id, "Snippet1");
	assert_string_equal(info.issue_date, "2017-11-13");
	assert_string_equal(info.seller_country, "GB");
	assert_string_equal(info.buyer_country, "SE");
	assert_string_equal(info.seller_endpoint_scheme, "0088");
	assert_string_equal(info.seller_endpoint, "9482348239847239874");
	assert_string_equal(info.currency, "EUR");
	assert_int_equal(info.sbdh, 0);
	{
		struct rl_buf b = RL_BUF_INIT;

		assert_int_equal(rl_doc_doctype_value(&info, &b, &err), 0);
		assert_string_equal(b.data, RL_NS_UBL_INVOICE "::Invoice##" RL_PEPPOL_BIS3_CUSTOMIZATION "::2.1");
		rl_buf_reset(&b);
		assert_int_equal(rl_doc_participant(info.seller_endpoint, info.seller_endpoint_scheme, &b, &err), 0);
		assert_string_equal(b.data, "0088:9482348239847239874");
		rl_buf_free(&b);
	}
	rl_doc_info_free(&info);

	/* CII issue date (format 102) comes out as YYYY-MM-DD, and the version is D16B. */
	assert_int_equal(rl_doc_detect_file(corpus_path("examples/cii/cen-en16931/CII_example1.xml"), &info, &err), 0);
	assert_string_equal(info.syntax_version, "D16B");
	assert_int_equal(strlen(info.issue_date), 10);
	assert_int_equal(info.issue_date[4], '-');
	rl_doc_info_free(&info);

	/* An SBD around something that is not an invoice. */
	assert_int_equal(rl_doc_detect_file(corpus_path("examples/envelopes/sbdh/ph-sbd-sample4.xml"), &info, &err), 0);
	assert_int_equal(info.sbdh, 1);
	assert_int_equal(info.syntax, RL_DOC_SYNTAX_UNKNOWN);
	assert_string_equal(info.root_name, "TransactionStatisticsReport");
	rl_doc_info_free(&info);
}

/* A Peppol invoice wrapped by the builder: detected as an SBD around a UBL invoice, read back by the
 * SBDH reader, valid against the SBDH and UBL schemas. */
static void test_detect_wrapped(void **state)
{
	const char *base = corpus_path("examples/ubl/peppol-bis3/examples/base-example.xml");
	struct rl_sbdh_wrap_opts opts = { .instance_id = "test-1", .creation_time = "2026-11-23T10:00:00Z" };
	struct rl_findings f = RL_FINDINGS_INIT;
	struct rl_doc_info info;
	struct rl_sbdh h, back;
	struct rl_sink sink;
	struct rl_err err;
	char path[8192];
	xmlDocPtr doc;
	FILE *out;

	if (!have_corpus())
		skip();
	assert_int_equal(rl_doc_detect_file(base, &info, &err), 0);
	assert_int_equal(rl_sbdh_plan(&info, &opts, &h, &err), 0);
	rl_doc_info_free(&info);
	snprintf(path, sizeof(path), "%s/wrapped.xml", tmpdir);
	out = fopen(path, "wb");
	assert_non_null(out);
	sink.write = rl_sink_file_write;
	sink.ctx = out;
	assert_int_equal(rl_sbdh_wrap_file(base, &h, &sink, &err), 0);
	fclose(out);

	assert_int_equal(rl_doc_detect_file(path, &info, &err), 0);
	assert_int_equal(info.sbdh, 1);
	assert_int_equal(info.syntax, RL_DOC_SYNTAX_UBL);
	assert_int_equal(info.kind, RL_DOC_KIND_INVOICE);
	assert_string_equal(info.customization, RL_PEPPOL_BIS3_CUSTOMIZATION);
	rl_doc_info_free(&info);
	assert_int_equal(rl_sbdh_read_file(path, &back, &err), 1);
	assert_string_equal(back.sender, "0088:9482348239847239874");
	assert_string_equal(back.receiver, "0002:FR23342");
	assert_string_equal(back.country_c1, "GB");
	assert_string_equal(back.instance_id, "test-1");
	assert_string_equal(back.document_id, h.document_id);
	assert_string_equal(back.process_id, RL_PEPPOL_BIS3_PROCESS);
	rl_sbdh_free(&back);
	rl_sbdh_free(&h);
	doc = rl_docval_parse_file(path, RL_DOCVAL_MAX_SIZE, &err);
	assert_non_null(doc);
	assert_int_equal(rl_docval_xsd(doc, &f, &err), 0);
	assert_int_equal(f.count, 0);
	assert_int_equal(rl_docval_rules(doc, 0, &f, &err), 0);
	assert_int_equal(rl_findings_fatal(&f), 0);
	rl_findings_free(&f);
	xmlFreeDoc(doc);
}

static void test_decimals(void **state)
{
	struct dv_dec d, p;
	char buf[64];

	assert_int_equal(dv_dec_parse("12.345", &d), 0);
	dv_dec_format(dv_dec_round2(d), buf, sizeof(buf));
	assert_string_equal(buf, "12.35");	/* half up */
	assert_int_equal(dv_dec_parse("-12.345", &d), 0);
	dv_dec_format(dv_dec_round2(d), buf, sizeof(buf));
	assert_string_equal(buf, "-12.34");	/* XPath round: towards +infinity at .5 */
	assert_int_equal(dv_dec_parse("0.1", &d), 0);
	assert_int_equal(dv_dec_parse("0.2", &p), 0);
	d.units += p.units;
	assert_int_equal(dv_dec_parse("0.3", &p), 0);
	assert_true(d.units == p.units);	/* exact, unlike binary floating point */
	assert_int_equal(dv_dec_parse("1000000000000000000.5", &d), 0);
	assert_int_equal(dv_dec_parse("72.50", &d), 0);
	assert_int_equal(dv_dec_parse("19", &p), 0);
	assert_int_equal(dv_dec_mul(d, p, &d), 0);
	dv_dec_format(d, buf, sizeof(buf));
	assert_string_equal(buf, "1377.50");
	assert_int_equal(dv_dec_parse("1e5", &d), -1);
	assert_int_equal(dv_dec_parse("", &d), -1);
	assert_int_equal(dv_dec_parse("1.0000000001", &d), -1);
	assert_int_equal(dv_dec_parse("+.5", &d), 0);
}

/* Validates every .xml of a corpus directory at the rules level: no XSD finding, no fatal finding. */
static void all_good(const char *rel, int *count)
{
	DIR *dir = opendir(corpus_path(rel));
	struct dirent *e;

	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		struct rl_findings f = RL_FINDINGS_INIT;
		struct rl_err err;
		char path[8192];
		xmlDocPtr doc;
		size_t n = strlen(e->d_name);

		if (n < 5 || strcasecmp(e->d_name + n - 4, ".xml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", corpus_path(rel), e->d_name);
		doc = rl_docval_parse_file(path, RL_DOCVAL_MAX_SIZE, &err);
		if (doc == NULL)
			fail_msg("%s: %s", path, err.msg);
		if (rl_docval_xsd(doc, &f, &err) < 0 || rl_docval_rules(doc, 0, &f, &err) < 0)
			fail_msg("%s: %s", path, err.msg);
		for (size_t i = 0; i < f.count; i++)
			if (f.items[i].severity == RL_SEV_FATAL)
				fail_msg("%s: %s %s: %s", path, f.items[i].rule, f.items[i].location, f.items[i].message);
		rl_findings_free(&f);
		xmlFreeDoc(doc);
		(*count)++;
	}
	closedir(dir);
}

static void test_good_examples(void **state)
{
	int count = 0;

	if (!have_corpus())
		skip();
	all_good("examples/ubl/cen-en16931", &count);
	all_good("examples/cii/cen-en16931", &count);
	all_good("examples/ubl/peppol-bis3/examples", &count);
	all_good("examples/cii/creditnotes", &count);
	print_message("%d good examples: valid against the schemas and the built-in rules\n", count);
	assert_true(count > 40);
}

static char *write_variant(const char *rel, const char *find, const char *insert, int *line)
{
	struct rl_buf in = RL_BUF_INIT, out = RL_BUF_INIT;
	char *path, *at;
	FILE *f;

	assert_int_equal(rl_buf_read_file(&in, corpus_path(rel), 64u << 20), 0);
	at = strstr(in.data, find);
	assert_non_null(at);
	*line = 1;
	for (char *p = in.data; p < at; p++)
		*line += *p == '\n';
	rl_buf_append(&out, in.data, (size_t)(at - in.data));
	rl_buf_puts(&out, insert);
	rl_buf_puts(&out, at);
	assert_int_not_equal(asprintf(&path, "%s/variant-%d.xml", tmpdir, *line), -1);
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(out.data, 1, out.len, f);
	fclose(f);
	rl_buf_free(&in);
	rl_buf_free(&out);
	return path;
}

static void test_xsd_broken(void **state)
{
	struct rl_findings f = RL_FINDINGS_INIT;
	struct rl_err err;
	char expect[32];
	xmlDocPtr doc;
	char *path;
	int line;

	if (!have_corpus())
		skip();
	path = write_variant("examples/ubl/cen-en16931/ubl-tc434-example2.xml", "<cbc:IssueDate>",
			     "<cbc:Bogus>1</cbc:Bogus>", &line);
	doc = rl_docval_parse_file(path, RL_DOCVAL_MAX_SIZE, &err);
	assert_non_null(doc);
	assert_int_equal(rl_docval_xsd(doc, &f, &err), 0);
	assert_true(f.count >= 1);
	snprintf(expect, sizeof(expect), "line %d", line);
	assert_string_equal(f.items[0].rule, "XSD");
	assert_string_equal(f.items[0].location, expect);
	assert_non_null(strstr(f.items[0].message, "Bogus"));
	print_message("XSD: %s %s\n", f.items[0].location, f.items[0].message);
	rl_findings_free(&f);
	xmlFreeDoc(doc);
	unlink(path);
	free(path);

	/* A calculation error the schema cannot see: BR-CO-10 (sum of line amounts). */
	path = write_variant("examples/ubl/cen-en16931/ubl-tc434-example2.xml",
			     "1436.50</cbc:LineExtensionAmount>", "1", &line);
	doc = rl_docval_parse_file(path, RL_DOCVAL_MAX_SIZE, &err);
	assert_non_null(doc);
	assert_int_equal(rl_docval_rules(doc, 0, &f, &err), 0);
	assert_true(rl_findings_has(&f, "BR-CO-10"));
	assert_true(rl_findings_has(&f, "BR-CO-13"));
	rl_findings_free(&f);
	xmlFreeDoc(doc);
	unlink(path);
	free(path);
}

static char *write_file(const char *name, const char *text)
{
	char *path;
	FILE *f;

	assert_int_not_equal(asprintf(&path, "%s/%s", tmpdir, name), -1);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void refused_everywhere(const char *path, const char *what)
{
	struct rl_doc_info info;
	struct rl_err err;
	clock_t start = clock();
	xmlDocPtr doc;

	assert_int_equal(rl_doc_detect_file(path, &info, &err), -1);
	assert_int_equal(err.code, RL_EBMS_OTHER);
	print_message("%s, detect: %s\n", what, err.msg);
	doc = rl_docval_parse_file(path, RL_DOCVAL_MAX_SIZE, &err);
	assert_null(doc);
	assert_int_equal(err.code, RL_EBMS_OTHER);
	print_message("%s, validate: %s\n", what, err.msg);
	assert_true((clock() - start) / CLOCKS_PER_SEC < 5);
	unlink(path);
}

static void test_hostile(void **state)
{
	struct rl_buf deep = RL_BUF_INIT;
	char *path;
	FILE *f;

	path = write_file("bomb.xml",
			  "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
			  "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
			  "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
			  "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
			  "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
			  "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
			  "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
			  "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
			  "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>\n"
			  "<Invoice xmlns=\"" RL_NS_UBL_INVOICE "\"><ID>&lol9;</ID></Invoice>\n");
	refused_everywhere(path, "entity bomb");
	free(path);
	path = write_file("xxe.xml",
			  "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
			  "<Invoice xmlns=\"" RL_NS_UBL_INVOICE "\"><ID>&x;</ID></Invoice>\n");
	refused_everywhere(path, "XXE");
	free(path);
	rl_buf_puts(&deep, "<Invoice xmlns=\"" RL_NS_UBL_INVOICE "\">");
	for (int i = 0; i < 10000; i++)
		rl_buf_puts(&deep, "<a>");
	for (int i = 0; i < 10000; i++)
		rl_buf_puts(&deep, "</a>");
	rl_buf_puts(&deep, "</Invoice>");
	path = write_file("deep.xml", deep.data);
	rl_buf_free(&deep);
	refused_everywhere(path, "10000-deep nesting");
	free(path);

	/* 200 MB of garbage: detection stops at the first byte, validation at the size. */
	assert_int_not_equal(asprintf(&path, "%s/garbage.bin", tmpdir), -1);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < 4096; i++)
		fputc((i * 7919) & 0xff, f);
	assert_int_equal(ftruncate(fileno(f), (off_t)200 << 20), 0);
	fclose(f);
	refused_everywhere(path, "200 MB of garbage");
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_kinds),
		cmocka_unit_test(test_detect_wrapped),
		cmocka_unit_test(test_decimals),
		cmocka_unit_test(test_good_examples),
		cmocka_unit_test(test_xsd_broken),
		cmocka_unit_test(test_hostile),
	};
	const char *shared = getenv("RELAIS_SHARED_DIR");
	const char *srcdir = getenv("top_srcdir");
	const char *builddir = getenv("top_builddir");
	char schemas[4096];

	if (shared && *shared) {
		snprintf(corpus, sizeof(corpus), "%s/invoice-corpus", shared);
		if (access(corpus, R_OK) != 0)
			corpus[0] = '\0';
	}
	snprintf(schemas, sizeof(schemas), "%s/schemas", srcdir ? srcdir : ".");
	setenv("RELAIS_SCHEMA_DIR", schemas, 0);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tests/tmp/test_docval", builddir ? builddir : ".");
	mkdir(tmpdir, 0700);
	{
		char parent[4096];

		snprintf(parent, sizeof(parent), "%s/tests/tmp", builddir ? builddir : ".");
		mkdir(parent, 0755);	/* shared: the embedded PostgreSQL of daemon_auto.sh enters it */
		mkdir(tmpdir, 0700);
	}
	rl_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

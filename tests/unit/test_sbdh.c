/*
 * test_sbdh.c - unit tests for the Peppol SBDH reader (src/sbdh.c): interop corpus files, the refusal of
 * every known-bad sample, agreement of the DOM and streaming paths, a 50 MB document read by streaming,
 * DOCTYPE refusal, and synthetic headers for the MLS scopes and the business-document checks.
 * Corpus cases need RELAIS_SHARED_DIR (set by make check) and are skipped when it is unset.
 */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>
#include "relais/err.h"
#include "relais/sbdh.h"
#include "relais/xml.h"

#define MAX_TEST_FILE (64u * 1024 * 1024)

static const char *shared_dir(void)
{
	const char *d = getenv("RELAIS_SHARED_DIR");

	return d && *d ? d : NULL;
}

static const char *field_names[] = {
	"sender", "sender_scheme", "receiver", "receiver_scheme", "standard", "type_version",
	"instance_id", "type", "creation_time", "document_id", "document_id_scheme", "process_id",
	"process_id_scheme", "country_c1", "mls_to", "mls_type",
};

static char *const *fields(const struct rl_sbdh *h)
{
	return (char *const *)&h->sender;
}

static void assert_same_header(const struct rl_sbdh *a, const struct rl_sbdh *b)
{
	size_t n = sizeof(field_names) / sizeof(field_names[0]);

	assert_int_equal(sizeof(struct rl_sbdh), n * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *x = fields(a)[i], *y = fields(b)[i];

		if (x == NULL || y == NULL) {
			if (x != y)
				fail_msg("field %s: DOM %s, stream %s", field_names[i], x ? x : "(null)",
					 y ? y : "(null)");
		} else if (strcmp(x, y) != 0) {
			fail_msg("field %s: DOM \"%s\", stream \"%s\"", field_names[i], x, y);
		}
	}
}

/* Reads path both ways, checks both give the same answer, and returns it; h holds the DOM result
 * (caller frees) and err the DOM error. */
static int read_both(const char *path, struct rl_sbdh *h, struct rl_err *err)
{
	struct rl_sbdh streamed;
	struct rl_err stream_err;
	xmlDocPtr doc;
	int dom_rc, stream_rc;

	rl_err_clear(err);
	rl_err_clear(&stream_err);
	doc = rl_xml_parse_file(path, MAX_TEST_FILE, RL_EBMS_OTHER, "SBD", err);
	if (doc == NULL) {
		memset(h, 0, sizeof(*h));
		dom_rc = -1;
	} else {
		dom_rc = rl_sbdh_read(doc, h, err);
		xmlFreeDoc(doc);
	}
	stream_rc = rl_sbdh_read_file(path, &streamed, &stream_err);
	if (dom_rc != stream_rc)
		fail_msg("%s: DOM gives %d (%s), stream gives %d (%s)", path, dom_rc,
			 dom_rc < 0 ? err->msg : "", stream_rc, stream_rc < 0 ? stream_err.msg : "");
	if (dom_rc < 0) {
		assert_int_equal(err->code, RL_EBMS_OTHER);
		assert_int_equal(stream_err.code, RL_EBMS_OTHER);
		assert_true(strlen(err->msg) > 0 && strchr(err->msg, '\n') == NULL);
		assert_true(strlen(stream_err.msg) > 0 && strchr(stream_err.msg, '\n') == NULL);
		print_message("    %s\n      DOM:    %s\n      stream: %s\n", strrchr(path, '/') + 1, err->msg,
			      stream_err.msg);
	}
	assert_same_header(h, &streamed);
	rl_sbdh_free(&streamed);
	return dom_rc;
}

static int corpus_path(char *out, size_t size, const char *rel)
{
	return snprintf(out, size, "%s/%s", shared_dir(), rel) < (int)size ? 0 : -1;
}

/* Envelope 2.0 samples that must be accepted; two are checked value by value below. */
static const char *const compliant_files[] = {
	"interop-corpus/sbdh/hredelivery-commons/good/good-gxs1.xml",
	"interop-corpus/sbdh/hredelivery-commons/good/good-order-with-qty-ph.xml",
	"interop-corpus/sbdh/hredelivery-commons/good/good-with-timezone.xml",
	"interop-corpus/sbdh/phase4/peppol-base-sbdh.xml",
	"as4peer/samples/invoice-sbd.xml",
};

/*
 * Samples that are valid for an older envelope but not for Business Message Envelope 2.0, so a Peppol
 * access point today must refuse them; each with the defect the message must name:
 * - hredelivery-commons good.xml, good-bis3.xml and phase4 hredelivery-base-sbdh.xml: HR eDelivery /
 *   envelope 1.0 style headers without any BusinessScope (so no DOCUMENTID, PROCESSID, COUNTRY_C1);
 * - oxalis simple-sbd.xml: envelope 1.x, DOCUMENTID and PROCESSID but no COUNTRY_C1 (mandatory since 2.0);
 * - oxalis as2-peppol-bis-invoice-sbdh.xml: envelope 1.x, no COUNTRY_C1 either, but refused first for its
 *   CreationDateAndTime without a time zone (2.0 requires one);
 * - oxalis cef-sbd.xml: a CEF connectivity-test SBD, its Sender has no Authority and no participant id.
 */
static const struct {
	const char *path;
	const char *defect;
} older_envelope_files[] = {
	{ "interop-corpus/sbdh/hredelivery-commons/good/good.xml", "BusinessScope" },
	{ "interop-corpus/sbdh/hredelivery-commons/good/good-bis3.xml", "BusinessScope" },
	{ "interop-corpus/sbdh/phase4/hredelivery-base-sbdh.xml", "BusinessScope" },
	{ "interop-corpus/sbdh/oxalis-as4/as2-peppol-bis-invoice-sbdh.xml", "time zone" },
	{ "interop-corpus/sbdh/oxalis-as4/simple-sbd.xml", "COUNTRY_C1" },
	{ "interop-corpus/sbdh/oxalis-as4/cef-sbd.xml", "Authority" },
};

static void test_corpus_compliant(void **state)
{
	char path[4096];
	struct rl_sbdh h;
	struct rl_err err;

	if (shared_dir() == NULL)
		skip();
	for (size_t i = 0; i < sizeof(compliant_files) / sizeof(compliant_files[0]); i++) {
		assert_int_equal(corpus_path(path, sizeof(path), compliant_files[i]), 0);
		if (read_both(path, &h, &err) != 1)
			fail_msg("%s refused: %s", compliant_files[i], err.msg);
		assert_string_equal(h.sender_scheme, "iso6523-actorid-upis");
		assert_string_equal(h.receiver_scheme, "iso6523-actorid-upis");
		assert_non_null(h.country_c1);
		rl_sbdh_free(&h);
	}
}

static void test_corpus_values(void **state)
{
	char path[4096];
	struct rl_sbdh h;
	struct rl_err err;

	if (shared_dir() == NULL)
		skip();
	assert_int_equal(corpus_path(path, sizeof(path), "as4peer/samples/invoice-sbd.xml"), 0);
	assert_int_equal(read_both(path, &h, &err), 1);
	assert_string_equal(h.sender, "0088:5798000000001");
	assert_string_equal(h.receiver, "0088:5798000000002");
	assert_string_equal(h.standard, "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2");
	assert_string_equal(h.type_version, "2.1");
	assert_string_equal(h.instance_id, "7f0f9b0e-6c1a-4b7e-9a52-0b1c2d3e4f50");
	assert_string_equal(h.type, "Invoice");
	assert_string_equal(h.creation_time, "2024-01-15T10:00:00Z");
	assert_string_equal(h.document_id,
			    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017"
			    "#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1");
	assert_string_equal(h.document_id_scheme, "busdox-docid-qns");
	assert_string_equal(h.process_id, "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0");
	assert_string_equal(h.process_id_scheme, "cenbii-procid-ubl");
	assert_string_equal(h.country_c1, "BE");
	assert_null(h.mls_to);
	assert_null(h.mls_type);
	rl_sbdh_free(&h);

	/* Prefixed SBDH namespace, default namespace of another vocabulary, scopes without Identifier. */
	assert_int_equal(corpus_path(path, sizeof(path),
				     "interop-corpus/sbdh/hredelivery-commons/good/good-order-with-qty-ph.xml"), 0);
	assert_int_equal(read_both(path, &h, &err), 1);
	assert_string_equal(h.sender, "0088:test");
	assert_string_equal(h.receiver, "0088:5033466000005");
	assert_string_equal(h.standard, "urn:oasis:names:specification:ubl:schema:xsd:Order-2");
	assert_string_equal(h.type, "Order");
	assert_string_equal(h.process_id, "urn:www.cenbii.eu:profile:bii03:ver2.0");
	assert_string_equal(h.process_id_scheme, "cenbii-procid-ubl");
	assert_string_equal(h.document_id_scheme, "busdox-docid-qns");
	assert_non_null(strstr(h.document_id, "urn:oasis:names:specification:ubl:schema:xsd:Order-2::Order##"));
	assert_string_equal(h.country_c1, "AT");
	rl_sbdh_free(&h);

	assert_int_equal(corpus_path(path, sizeof(path), "interop-corpus/sbdh/phase4/peppol-base-sbdh.xml"), 0);
	assert_int_equal(read_both(path, &h, &err), 1);
	assert_string_equal(h.sender, "9915:phase4-test-sender");
	assert_string_equal(h.receiver, "9915:helger");
	assert_string_equal(h.process_id, "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0");
	assert_string_equal(h.country_c1, "GB");
	rl_sbdh_free(&h);
}

static void test_corpus_older_envelopes(void **state)
{
	char path[4096];
	struct rl_sbdh h;
	struct rl_err err;

	if (shared_dir() == NULL)
		skip();
	for (size_t i = 0; i < sizeof(older_envelope_files) / sizeof(older_envelope_files[0]); i++) {
		assert_int_equal(corpus_path(path, sizeof(path), older_envelope_files[i].path), 0);
		assert_int_equal(read_both(path, &h, &err), -1);
		if (strstr(err.msg, older_envelope_files[i].defect) == NULL)
			fail_msg("%s: message \"%s\" does not name %s", older_envelope_files[i].path, err.msg,
				 older_envelope_files[i].defect);
	}
}

static void test_corpus_bad_refused(void **state)
{
	char dir[4096], path[4096 + 256];
	struct rl_sbdh h;
	struct rl_err err;
	struct dirent *e;
	DIR *d;
	int seen = 0;

	if (shared_dir() == NULL)
		skip();
	assert_int_equal(corpus_path(dir, sizeof(dir), "interop-corpus/sbdh/hredelivery-commons/bad"), 0);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (read_both(path, &h, &err) != -1)
			fail_msg("%s was not refused", e->d_name);
		seen++;
	}
	closedir(d);
	assert_true(seen >= 16);
}

static char *temp_path(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char *path = malloc(4096);
	int fd;

	assert_non_null(path);
	snprintf(path, 4096, "%s/relais-sbdh-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return path;
}

#define HEADER_START                                                                                           \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                         \
	"<StandardBusinessDocument xmlns=\"http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader\">" \
	"<StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion>"                                 \
	"<Sender><Identifier Authority=\"iso6523-actorid-upis\">0088:7315458756324</Identifier></Sender>"     \
	"<Receiver><Identifier Authority=\"iso6523-actorid-upis\">0088:4562458856624</Identifier></Receiver>" \
	"<DocumentIdentification><Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard>" \
	"<TypeVersion>2.1</TypeVersion><InstanceIdentifier>a593a0aa</InstanceIdentifier><Type>Invoice</Type>" \
	"<CreationDateAndTime>2019-04-25T15:46:10.5+02:00</CreationDateAndTime></DocumentIdentification>"     \
	"<BusinessScope>"                                                                                      \
	"<Scope><Type>DOCUMENTID</Type><InstanceIdentifier>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##x::2.1</InstanceIdentifier></Scope>" \
	"<Scope><Type>PROCESSID</Type><InstanceIdentifier>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</InstanceIdentifier><Identifier>cenbii-procid-ubl</Identifier></Scope>" \
	"<Scope><Type>COUNTRY_C1</Type><InstanceIdentifier>AT</InstanceIdentifier></Scope>"

#define INVOICE_START "<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">"

static char *write_temp(const char *tag, const char *text)
{
	char *path = temp_path(tag);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Writes HEADER_START + extra scopes + end of header + body, reads it both ways, returns the result. */
static int read_synthetic(const char *extra_scopes, const char *body, struct rl_sbdh *h, struct rl_err *err)
{
	char text[8192];
	char *path;
	int rc;

	snprintf(text, sizeof(text), "%s%s</BusinessScope></StandardBusinessDocumentHeader>%s</StandardBusinessDocument>",
		 HEADER_START, extra_scopes, body);
	path = write_temp("syn", text);
	rc = read_both(path, h, err);
	unlink(path);
	free(path);
	return rc;
}

static void test_synthetic_scopes(void **state)
{
	struct rl_sbdh h;
	struct rl_err err;
	const char *invoice = INVOICE_START "<ID>1</ID></Invoice>";

	assert_int_equal(read_synthetic("<Scope><Type>MLS_TO</Type><InstanceIdentifier>0242:000306</InstanceIdentifier>"
					"<Identifier>iso6523-actorid-upis</Identifier></Scope>"
					"<Scope><Type>MLS_TYPE</Type><InstanceIdentifier>ALWAYS_SEND</InstanceIdentifier></Scope>"
					"<Scope><Type>SOMETHING_ELSE</Type><InstanceIdentifier>x</InstanceIdentifier></Scope>",
					invoice, &h, &err), 1);
	assert_string_equal(h.mls_to, "0242:000306");
	assert_string_equal(h.mls_type, "ALWAYS_SEND");
	assert_string_equal(h.document_id_scheme, "busdox-docid-qns");
	assert_string_equal(h.creation_time, "2019-04-25T15:46:10.5+02:00");
	rl_sbdh_free(&h);

	assert_int_equal(read_synthetic("<Scope><Type>MLS_TO</Type><InstanceIdentifier>0242:000306-ABC.DEF</InstanceIdentifier></Scope>",
					invoice, &h, &err), 1);
	rl_sbdh_free(&h);

	assert_int_equal(read_synthetic("<Scope><Type>MLS_TYPE</Type><InstanceIdentifier>SOMETIMES</InstanceIdentifier></Scope>",
					invoice, &h, &err), -1);
	assert_non_null(strstr(err.msg, "MLS_TYPE"));
	assert_int_equal(read_synthetic("<Scope><Type>MLS_TO</Type><InstanceIdentifier>0088:000306</InstanceIdentifier></Scope>",
					invoice, &h, &err), -1);
	assert_non_null(strstr(err.msg, "MLS_TO"));
	assert_int_equal(read_synthetic("<Scope><Type>COUNTRY_C1</Type><InstanceIdentifier>BE</InstanceIdentifier></Scope>",
					invoice, &h, &err), -1);
	assert_non_null(strstr(err.msg, "more than once"));
}

static void test_synthetic_business_document(void **state)
{
	struct rl_sbdh h;
	struct rl_err err;

	assert_int_equal(read_synthetic("", "<CreditNote xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"/>",
					&h, &err), -1);
	assert_non_null(strstr(err.msg, "Type"));
	assert_int_equal(read_synthetic("", "<Invoice xmlns=\"urn:example\"/>", &h, &err), -1);
	assert_non_null(strstr(err.msg, "Standard"));
	assert_int_equal(read_synthetic("", "<!-- nothing -->", &h, &err), -1);
	assert_non_null(strstr(err.msg, "no business document"));
	/* Text after the header is skipped by both paths, like any text between elements. */
	assert_int_equal(read_synthetic("", "stray text " INVOICE_START "</Invoice>", &h, &err), 1);
	rl_sbdh_free(&h);
	/* Comments and white space before the business document are fine. */
	assert_int_equal(read_synthetic("", "\n <!-- c --> " INVOICE_START "</Invoice>", &h, &err), 1);
	rl_sbdh_free(&h);
}

static void test_not_an_sbd(void **state)
{
	struct rl_sbdh h;
	struct rl_err err;
	char *path = write_temp("bare", INVOICE_START "<ID>1</ID></Invoice>");

	assert_int_equal(read_both(path, &h, &err), 0);
	assert_null(h.sender);
	unlink(path);
	free(path);

	/* An empty SBD and a broken one are refused the same way by both paths. */
	path = write_temp("empty", "<StandardBusinessDocument xmlns=\"" RL_NS_SBDH "\"/>");
	assert_int_equal(read_both(path, &h, &err), -1);
	assert_non_null(strstr(err.msg, "StandardBusinessDocumentHeader"));
	unlink(path);
	free(path);
	path = write_temp("broken", "<StandardBusinessDocument xmlns=\"" RL_NS_SBDH "\"><Standard");
	assert_int_equal(read_both(path, &h, &err), -1);
	unlink(path);
	free(path);
}

static void test_doctype_refused(void **state)
{
	static const char *const texts[] = {
		"<?xml version=\"1.0\"?>\n<!DOCTYPE StandardBusinessDocument [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<StandardBusinessDocument xmlns=\"http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader\">"
		"<StandardBusinessDocumentHeader><HeaderVersion>&x;</HeaderVersion></StandardBusinessDocumentHeader>"
		"</StandardBusinessDocument>",
		"<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><l>&c;&c;&c;&c;</l>",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct rl_sbdh h;
		struct rl_err err;
		char *path = write_temp("dtd", texts[i]);

		assert_int_equal(rl_sbdh_read_file(path, &h, &err), -1);
		assert_non_null(strstr(err.msg, "DOCTYPE"));
		assert_int_equal(read_both(path, &h, &err), -1);
		unlink(path);
		free(path);
	}
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void test_big_document_streamed(void **state)
{
	static const char line[] = "<cac:InvoiceLine xmlns:cac=\"urn:x\"><cbc:ID xmlns:cbc=\"urn:y\">1</cbc:ID>"
				   "<cbc:Note xmlns:cbc=\"urn:y\">padding padding padding padding</cbc:Note></cac:InvoiceLine>\n";
	const size_t target = 50u * 1024 * 1024;
	char *path = temp_path("big");
	FILE *f = fopen(path, "w");
	struct rl_sbdh h;
	struct rl_err err;
	size_t written = 0;
	double start, took;
	long rss_before;
	int rc;

	assert_non_null(f);
	fputs(HEADER_START "</BusinessScope></StandardBusinessDocumentHeader>" INVOICE_START, f);
	while (written < target) {
		assert_int_equal(fwrite(line, 1, sizeof(line) - 1, f), sizeof(line) - 1);
		written += sizeof(line) - 1;
	}
	fputs("</Invoice></StandardBusinessDocument>\n", f);
	assert_int_equal(fclose(f), 0);

	rss_before = max_rss_kb();
	start = seconds_now();
	rc = rl_sbdh_read_file(path, &h, &err);
	took = seconds_now() - start;
	/* Peak memory grows by far less than the document (a DOM of 50 MB would take hundreds of MB). */
	print_message("    peak RSS grew by %ld kB\n", max_rss_kb() - rss_before);
	assert_true(max_rss_kb() - rss_before < 8 * 1024);
	if (rc != 1)
		fail_msg("big document refused: %s", err.msg);
	print_message("    50 MB SBD header read in %.4f s\n", took);
	assert_string_equal(h.type, "Invoice");
	assert_string_equal(h.country_c1, "AT");
	/* Only the head of the file is parsed: far below what parsing 50 MB would take. */
	assert_true(took < 2.0);
	rl_sbdh_free(&h);
	unlink(path);
	free(path);
}

/* A "header" that never ends is cut off after a bounded amount of input, not loaded whole. */
static void test_endless_header_refused(void **state)
{
	char *path = temp_path("endless");
	FILE *f = fopen(path, "w");
	struct rl_sbdh h;
	struct rl_err err;

	assert_non_null(f);
	fputs(HEADER_START, f);
	for (int i = 0; i < 200000; i++)
		fputs("<Scope><Type>OTHER</Type><InstanceIdentifier>x</InstanceIdentifier></Scope>\n", f);
	fputs("</BusinessScope></StandardBusinessDocumentHeader>" INVOICE_START "</Invoice></StandardBusinessDocument>", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rl_sbdh_read_file(path, &h, &err), -1);
	assert_int_equal(err.code, RL_EBMS_OTHER);
	print_message("    %s\n", err.msg);
	assert_non_null(strstr(err.msg, "header does not end"));
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_compliant),
		cmocka_unit_test(test_corpus_values),
		cmocka_unit_test(test_corpus_older_envelopes),
		cmocka_unit_test(test_corpus_bad_refused),
		cmocka_unit_test(test_synthetic_scopes),
		cmocka_unit_test(test_synthetic_business_document),
		cmocka_unit_test(test_not_an_sbd),
		cmocka_unit_test(test_doctype_refused),
		cmocka_unit_test(test_big_document_streamed),
		cmocka_unit_test(test_endless_header_refused),
	};

	rl_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

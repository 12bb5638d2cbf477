/* test_mls.c - unit tests for the Message Level Status: the addressee and when-rules, build -> read,
 * the UBL ApplicationResponse schema (when the shared corpus is there), and the SBDH of an MLS. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <libxml/xmlschemas.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/cli.h"
#include "relais/mls.h"
#include "relais/sbdh.h"
#include "relais/sbdh_wrap.h"
#include "relais/xml.h"

static xmlSchemaPtr schema;	/* UBL 2.1 ApplicationResponse, NULL without the shared corpus */

static void test_seat_to_spid(void **state)
{
	char out[64];
	struct rl_err err;

	(void)state;
	assert_int_equal(rl_mls_spid_of_seat("POP000306", out, sizeof(out), &err), 0);
	assert_string_equal(out, "0242:000306");
	assert_int_equal(rl_mls_spid_of_seat("PDE123456", out, sizeof(out), &err), 0);
	assert_string_equal(out, "0242:123456");
	assert_int_equal(rl_mls_spid_of_seat("POP00030", out, sizeof(out), &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
	assert_int_equal(rl_mls_spid_of_seat("pop000306", out, sizeof(out), &err), -1);
	assert_int_equal(rl_mls_spid_of_seat("POP00030X", out, sizeof(out), &err), -1);
	assert_int_equal(rl_mls_spid_of_seat(NULL, out, sizeof(out), &err), -1);
}

static void test_addressee(void **state)
{
	struct rl_sbdh h = { 0 };
	char out[128];
	struct rl_err err;

	(void)state;
	/* no MLS_TO: the seat's default */
	assert_int_equal(rl_mls_addressee(&h, "POP000306", out, sizeof(out), &err), 0);
	assert_string_equal(out, "0242:000306");
	/* MLS_TO of the same service provider, with a sub-id: taken */
	h.mls_to = (char *)"0242:000306-ERP_1.INVOICES";
	assert_int_equal(rl_mls_addressee(&h, "POP000306", out, sizeof(out), &err), 0);
	assert_string_equal(out, "0242:000306-ERP_1.INVOICES");
	h.mls_to = (char *)"0242:000306";
	assert_int_equal(rl_mls_addressee(&h, "POP000306", out, sizeof(out), &err), 0);
	assert_string_equal(out, "0242:000306");
	/* another provider's id: ignored */
	h.mls_to = (char *)"0242:000307";
	assert_int_equal(rl_mls_addressee(&h, "POP000306", out, sizeof(out), &err), 0);
	assert_string_equal(out, "0242:000306");
	/* another scheme, a malformed SPID: ignored */
	h.mls_to = (char *)"0088:000306";
	assert_int_equal(rl_mls_addressee(&h, "POP000306", out, sizeof(out), &err), 0);
	assert_string_equal(out, "0242:000306");
	h.mls_to = (char *)"0242:000306-ab";
	assert_int_equal(rl_mls_addressee(&h, "POP000306", out, sizeof(out), &err), 0);
	assert_string_equal(out, "0242:000306");
	h.mls_to = (char *)"0242:0003061";
	assert_int_equal(rl_mls_addressee(&h, "POP000306", out, sizeof(out), &err), 0);
	assert_string_equal(out, "0242:000306");
	/* a seat that is none: refused */
	assert_int_equal(rl_mls_addressee(&h, "AP-1", out, sizeof(out), &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
}

static void test_wanted(void **state)
{
	struct rl_sbdh h = { 0 };

	(void)state;
	h.document_id = (char *)"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##x::2.1";
	assert_true(rl_mls_wanted(&h, 0));	/* a negative one always */
	assert_false(rl_mls_wanted(&h, 1));	/* MLS_TYPE absent: no positive one */
	h.mls_type = (char *)"FAILURE_ONLY";
	assert_true(rl_mls_wanted(&h, 0));
	assert_false(rl_mls_wanted(&h, 1));
	h.mls_type = (char *)"ALWAYS_SEND";
	assert_true(rl_mls_wanted(&h, 0));
	assert_true(rl_mls_wanted(&h, 1));
	/* never about an MLS */
	h.document_id = (char *)RL_MLS_DOCTYPE;
	assert_true(rl_mls_is_mls(&h));
	assert_false(rl_mls_wanted(&h, 0));
	assert_false(rl_mls_wanted(&h, 1));
	assert_false(rl_mls_wanted(NULL, 0));
}

static void xsd_valid(const struct rl_buf *b)
{
	struct rl_err err;
	xmlDocPtr doc;
	xmlSchemaValidCtxtPtr vc;

	if (schema == NULL)
		return;
	doc = rl_xml_parse(b->data, b->len, RL_EBMS_OTHER, "MLS", &err);
	assert_non_null(doc);
	vc = xmlSchemaNewValidCtxt(schema);
	assert_int_equal(xmlSchemaValidateDoc(vc, doc), 0);
	xmlSchemaFreeValidCtxt(vc);
	xmlFreeDoc(doc);
}

static void test_round_trip_positive(void **state)
{
	struct rl_mls in = { 0 }, out;
	struct rl_buf b = RL_BUF_INIT;
	struct rl_err err;

	(void)state;
	in.sender = (char *)"0242:000002";
	in.receiver = (char *)"0242:000001";
	in.code = (char *)RL_MLS_DELIVERED;
	in.reference = (char *)"inv-4711 <&>";
	assert_int_equal(rl_mls_build(&in, &b, &err), 0);
	xsd_valid(&b);
	assert_non_null(strstr(b.data, "<cbc:CustomizationID>urn:peppol:edec:mls:1.0</cbc:CustomizationID>"));
	assert_non_null(strstr(b.data, "<cbc:ProfileID>urn:peppol:edec:mls</cbc:ProfileID>"));
	assert_null(strstr(b.data, "LineResponse"));
	assert_int_equal(rl_mls_read_mem(b.data, b.len, &out, &err), 0);
	assert_string_equal(out.code, "AB");
	assert_string_equal(out.reference, "inv-4711 <&>");
	assert_string_equal(out.sender, "0242:000002");
	assert_string_equal(out.receiver, "0242:000001");
	assert_int_equal(out.nreasons, 0);
	assert_null(out.description);
	assert_int_equal(strlen(out.id), 36);
	assert_int_equal(strlen(out.issue_date), 10);
	assert_int_equal(out.issue_time[8], 'Z');
	rl_mls_free(&out);
	rl_buf_free(&b);
}

static void test_round_trip_negative(void **state)
{
	struct rl_mls in = { 0 }, out;
	struct rl_buf b = RL_BUF_INIT;
	struct rl_err err;

	(void)state;
	in.id = (char *)"MLS-1";
	in.issue_date = (char *)"2027-04-01";
	in.issue_time = (char *)"10:00:00Z";
	in.sender = (char *)"0242:000002";
	in.receiver = (char *)"0242:000001-ERP";
	in.code = (char *)RL_MLS_REJECTED;
	in.description = (char *)"Delivery to the receiver failed";
	in.reference = (char *)"c0ffee";
	in.reasons[0] = (char *)RL_MLS_REASON_DELIVERY;
	in.nreasons = 1;
	assert_int_equal(rl_mls_build(&in, &b, &err), 0);
	xsd_valid(&b);
	assert_int_equal(rl_mls_read_mem(b.data, b.len, &out, &err), 0);
	assert_string_equal(out.id, "MLS-1");
	assert_string_equal(out.issue_date, "2027-04-01");
	assert_string_equal(out.code, "RE");
	assert_string_equal(out.description, "Delivery to the receiver failed");
	assert_int_equal(out.nreasons, 1);
	assert_string_equal(out.reasons[0], "FD");
	assert_string_equal(out.receiver, "0242:000001-ERP");
	rl_mls_free(&out);
	assert_non_null(strstr(b.data, "<cbc:LineID>NA</cbc:LineID>"));
	rl_buf_free(&b);
}

static void test_build_refuses(void **state)
{
	struct rl_mls in = { 0 };
	struct rl_buf b = RL_BUF_INIT;
	struct rl_err err;

	(void)state;
	in.sender = (char *)"0242:000002";
	in.receiver = (char *)"0242:000001";
	in.reference = (char *)"x";
	in.code = (char *)"OK";
	assert_int_equal(rl_mls_build(&in, &b, &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
	in.code = (char *)"RE";	/* negative without description and reason */
	assert_int_equal(rl_mls_build(&in, &b, &err), -1);
	in.description = (char *)"failed";
	assert_int_equal(rl_mls_build(&in, &b, &err), -1);
	in.reasons[0] = (char *)"XX";
	in.nreasons = 1;
	assert_int_equal(rl_mls_build(&in, &b, &err), -1);
	assert_non_null(strstr(err.msg, "XX"));
	in.reasons[0] = (char *)"SV";
	in.sender = (char *)"0088:123";
	assert_int_equal(rl_mls_build(&in, &b, &err), -1);
	in.sender = (char *)"0242:000002";
	in.reference = NULL;
	assert_int_equal(rl_mls_build(&in, &b, &err), -1);
	assert_int_equal(b.len, 0);
	rl_buf_free(&b);
}

static void test_read_refuses(void **state)
{
	static const char invoice[] = "<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"/>";
	static const char other[] =
		"<ApplicationResponse xmlns=\"" RL_NS_UBL_APPLICATION_RESPONSE "\" xmlns:cbc=\""
		"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">"
		"<cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>"
		"</ApplicationResponse>";
	struct rl_mls in = { 0 }, out;
	struct rl_buf b = RL_BUF_INIT;
	struct rl_err err;
	char *p;

	(void)state;
	assert_int_equal(rl_mls_read_mem(invoice, sizeof(invoice) - 1, &out, &err), -1);
	assert_non_null(strstr(err.msg, "ApplicationResponse"));
	rl_mls_free(&out);
	assert_int_equal(rl_mls_read_mem(other, sizeof(other) - 1, &out, &err), -1);
	assert_non_null(strstr(err.msg, "invoice_response"));
	rl_mls_free(&out);
	/* a second DocumentResponse */
	in.sender = (char *)"0242:000002";
	in.receiver = (char *)"0242:000001";
	in.code = (char *)"AB";
	in.reference = (char *)"x";
	assert_int_equal(rl_mls_build(&in, &b, &err), 0);
	p = strstr(b.data, "</ApplicationResponse>");
	b.len = (size_t)(p - b.data);
	assert_int_equal(rl_buf_puts(&b, "<cac:DocumentResponse/></ApplicationResponse>"), 0);
	assert_int_equal(rl_mls_read_mem(b.data, b.len, &out, &err), -1);
	assert_non_null(strstr(err.msg, "exactly one DocumentResponse"));
	rl_mls_free(&out);
	rl_buf_free(&b);
}

static void test_wrapped(void **state)
{
	struct rl_mls in = { 0 }, out;
	struct rl_sbdh h, back = { 0 };
	struct rl_buf doc = RL_BUF_INIT, sbd = RL_BUF_INIT;
	struct rl_err err;
	xmlDocPtr x;

	(void)state;
	in.sender = (char *)"0242:000002";
	in.receiver = (char *)"0242:000001";
	in.code = (char *)"AB";
	in.reference = (char *)"orig-1";
	assert_int_equal(rl_mls_build(&in, &doc, &err), 0);
	assert_int_equal(rl_mls_sbdh("0242:000002", "0242:000001", "BE", &h, &err), 0);
	assert_int_equal(rl_sbdh_wrap_mem(doc.data, doc.len, &h, &sbd, &err), 0);
	x = rl_xml_parse(sbd.data, sbd.len, RL_EBMS_OTHER, "SBD", &err);
	assert_non_null(x);
	assert_int_equal(rl_sbdh_read(x, &back, &err), 1);
	assert_true(rl_mls_is_mls(&back));
	assert_false(rl_mls_wanted(&back, 0));
	assert_string_equal(back.process_id, RL_MLS_PROCESS);
	assert_string_equal(back.receiver, "0242:000001");
	assert_string_equal(back.sender, "0242:000002");
	assert_string_equal(back.instance_id, h.instance_id);
	assert_int_equal(rl_mls_read(x, &out, &err), 0);	/* read through the SBD */
	assert_string_equal(out.reference, "orig-1");
	rl_mls_free(&out);
	xmlFreeDoc(x);
	rl_sbdh_free(&back);
	rl_sbdh_free(&h);
	rl_buf_free(&doc);
	rl_buf_free(&sbd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seat_to_spid),
		cmocka_unit_test(test_addressee),
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_round_trip_positive),
		cmocka_unit_test(test_round_trip_negative),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_read_refuses),
		cmocka_unit_test(test_wrapped),
	};
	const char *dir = getenv("RELAIS_SHARED_DIR");
	struct rl_err err;
	int rc;

	if (rl_init(&err) < 0)
		return 1;
	if (dir) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/invoice-corpus/xsd/ubl-2.1/maindoc/UBL-ApplicationResponse-2.1.xsd", dir);
		if (stat(path, &st) == 0) {
			xmlExternalEntityLoader safe = xmlGetExternalEntityLoader();
			xmlSchemaParserCtxtPtr pc;

			/* The UBL schemas include each other by relative file names. */
			xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
			pc = xmlSchemaNewParserCtxt(path);
			schema = pc ? xmlSchemaParse(pc) : NULL;
			xmlSchemaFreeParserCtxt(pc);
			xmlSetExternalEntityLoader(safe);
			if (schema == NULL) {
				fprintf(stderr, "cannot load %s\n", path);
				return 1;
			}
		}
	}
	if (schema == NULL)
		printf("note: no UBL schema (RELAIS_SHARED_DIR), the XSD checks are left out\n");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	xmlSchemaFree(schema);
	rl_shutdown();
	return rc;
}

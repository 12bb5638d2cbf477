/* test_smp.c - unit tests for SMP documents: building and signing what an SMP publishes, reading the
 * three flavours, the signature checks (tampering, untrusted signer, wrapping) and redirect subjects. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "relais/cli.h"
#include "relais/smp.h"
#include "relais/smp_client.h"
#include "relais/smp_publish.h"
#include "relais/xml.h"
#include "unit_pki.h"

#define INVOICE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017" \
		"#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
#define BILLING "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


struct fixture {
	struct rl_identity smp, ap;
	X509 *endpoint_cert;
	struct rl_trust *smp_anchors;
	struct rl_peppol_id participant, doctype, process;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rl_err err;

	assert_non_null(f);
	assert_int_equal(rl_identity_load_pem(&f->smp, pki("SMP000001.key.pem"), pki("SMP000001.cert.pem"), NULL, &err), 0);
	assert_int_equal(rl_identity_load_pem(&f->ap, pki("POP000001.key.pem"), pki("POP000001.cert.pem"), NULL, &err), 0);
	f->endpoint_cert = rl_cert_load_pem(pki("POP000002.cert.pem"), &err);
	assert_non_null(f->endpoint_cert);
	f->smp_anchors = rl_trust_load(pki("smp-ca-chain.pem"), &err);
	assert_non_null(f->smp_anchors);
	assert_int_equal(rl_participant_parse(&f->participant, "iso6523-actorid-upis::9915:Test", &err), 0);
	assert_int_equal(rl_peppol_id_make(&f->doctype, RL_ID_DOCTYPE, NULL, INVOICE, &err), 0);
	assert_int_equal(rl_peppol_id_make(&f->process, RL_ID_PROCESS, NULL, BILLING, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rl_identity_free(&f->smp);
	rl_identity_free(&f->ap);
	X509_free(f->endpoint_cert);
	rl_trust_free(f->smp_anchors);
	free(f);
	return 0;
}

static void build(struct fixture *f, const struct rl_identity *signer, struct rl_buf *out)
{
	struct rl_smp_publish_endpoint ep = {
		.transport_profile = RL_TRANSPORT_PEPPOL_AS4_V2,
		.url = "https://ap.example.org/as4?a=1&b=<2>",
		.cert = f->endpoint_cert,
		.activation = 1700000000,
	};
	struct rl_err err;

	assert_int_equal(rl_smp_build_signed_metadata(out, &f->participant, &f->doctype, &f->process, &ep, signer, &err), 0);
}

static void test_signed_metadata_round_trip(void **state)
{
	struct fixture *f = *state;
	struct rl_smp_client c = { .anchors = f->smp_anchors };
	struct rl_buf doc = RL_BUF_INIT;
	struct rl_smp_metadata m;
	struct rl_smp_signature sig;
	struct rl_err err;
	char cn[64];

	build(f, &f->smp, &doc);
	assert_int_equal(rl_smp_read_metadata(&c, doc.data, doc.len, &m, &sig, &err), 0);
	assert_string_equal(sig.algorithms, "rsa-sha256 sha256 exc-c14n");
	assert_string_equal(rl_cert_cn(sig.signer, cn, sizeof(cn)), "SMP000001");
	assert_int_equal(m.flavour, RL_SMP_PEPPOL1);
	assert_string_equal(m.participant_value, "9915:test");
	assert_string_equal(m.doctype_value, INVOICE);
	assert_int_equal(m.process_count, 1);
	assert_string_equal(m.processes[0].value, BILLING);
	assert_int_equal(m.processes[0].endpoint_count, 1);
	assert_string_equal(m.processes[0].endpoints[0].url, "https://ap.example.org/as4?a=1&b=<2>");
	assert_int_equal(m.processes[0].endpoints[0].activation, 1700000000);
	assert_int_equal(m.processes[0].endpoints[0].expiration, 0);
	assert_true(rl_cert_equal(m.processes[0].endpoints[0].cert, f->endpoint_cert));
	rl_smp_metadata_free(&m);
	rl_smp_signature_free(&sig);
	rl_buf_free(&doc);
}

static void test_tampered_and_untrusted(void **state)
{
	struct fixture *f = *state;
	struct rl_smp_client c = { .anchors = f->smp_anchors };
	struct rl_buf doc = RL_BUF_INIT;
	struct rl_smp_metadata m;
	struct rl_err err;
	char *p;

	build(f, &f->smp, &doc);
	p = strstr(doc.data, "ap.example.org");
	assert_non_null(p);
	p[0] = 'b';
	assert_int_equal(rl_smp_read_metadata(&c, doc.data, doc.len, &m, NULL, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	rl_buf_reset(&doc);

	/* a valid signature by an access point certificate: not an SMP signer */
	build(f, &f->ap, &doc);
	assert_int_equal(rl_smp_read_metadata(&c, doc.data, doc.len, &m, NULL, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_non_null(strstr(err.msg, "SMP signer"));
	rl_buf_free(&doc);
}

static void test_wrapping_refused(void **state)
{
	struct fixture *f = *state;
	struct rl_smp_client c = { .anchors = f->smp_anchors };
	struct rl_buf doc = RL_BUF_INIT, two = RL_BUF_INIT;
	struct rl_smp_metadata m;
	struct rl_err err;
	const char *sig;

	build(f, &f->smp, &doc);
	/* the same signature twice */
	sig = strstr(doc.data, "<Signature");
	assert_non_null(sig);
	assert_int_equal(rl_buf_append(&two, doc.data, (size_t)(sig - doc.data)), 0);
	assert_int_equal(rl_buf_append(&two, sig, strlen(sig) - strlen("</SignedServiceMetadata>\n")), 0);
	assert_int_equal(rl_buf_puts(&two, sig), 0);
	assert_int_equal(rl_smp_read_metadata(&c, two.data, two.len, &m, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "2 signatures"));
	rl_buf_free(&two);
	rl_buf_free(&doc);
}

static void test_service_group_round_trip(void **state)
{
	struct fixture *f = *state;
	struct rl_peppol_id doctypes[2];
	struct rl_buf doc = RL_BUF_INIT;
	struct rl_smp_service_group g;
	struct rl_err err;
	xmlDocPtr x;

	doctypes[0] = f->doctype;
	assert_int_equal(rl_doctype_parse(&doctypes[1], "busdox-docid-qns::urn:x:CreditNote##y::2.1", &err), 0);
	assert_int_equal(rl_smp_build_service_group(&doc, "http://smp.example.org/", &f->participant, doctypes, 2, &err), 0);
	assert_non_null(strstr(doc.data, "href=\"http://smp.example.org/iso6523-actorid-upis%3A%3A9915%3Atest/services/"
					 "busdox-docid-qns%3A%3Aurn%3Ax%3ACreditNote%23%23y%3A%3A2.1\""));
	x = rl_xml_parse(doc.data, doc.len, RL_ERR_BAD_RESPONSE, "test", &err);
	assert_non_null(x);
	assert_int_equal(rl_smp_parse_service_group(x, &g, &err), 0);
	assert_int_equal(g.count, 2);
	assert_string_equal(g.doctypes[0], "busdox-docid-qns::" INVOICE);
	assert_string_equal(g.doctypes[1], "busdox-docid-qns::urn:x:CreditNote##y::2.1");
	assert_string_equal(g.participant_value, "9915:test");
	rl_smp_service_group_free(&g);
	xmlFreeDoc(x);
	rl_buf_free(&doc);
}

/* OASIS SMP 2.0 ServiceMetadata (unsigned: read only) with two processes sharing an endpoint. */
static const char smp2_metadata[] =
	"<ServiceMetadata xmlns=\"http://docs.oasis-open.org/bdxr/ns/SMP/2/ServiceMetadata\""
	" xmlns:cbc=\"http://docs.oasis-open.org/bdxr/ns/SMP/2/BasicComponents\""
	" xmlns:cac=\"http://docs.oasis-open.org/bdxr/ns/SMP/2/AggregateComponents\">"
	"<cbc:SMPVersionID>2.0</cbc:SMPVersionID>"
	"<cbc:ID schemeID=\"busdox-docid-qns\">urn:doc::X##c::1</cbc:ID>"
	"<cbc:ParticipantID schemeID=\"iso6523-actorid-upis\">9915:abc</cbc:ParticipantID>"
	"<cac:ProcessMetadata>"
	"<cac:Process><cbc:ID schemeID=\"cenbii-procid-ubl\">p1</cbc:ID></cac:Process>"
	"<cac:Process><cbc:ID schemeID=\"cenbii-procid-ubl\">p2</cbc:ID></cac:Process>"
	"<cac:Endpoint><cbc:TransportProfileID>peppol-transport-as4-v2_0</cbc:TransportProfileID>"
	"<cbc:AddressURI>https://ap.example.org/as4</cbc:AddressURI>"
	"<cbc:ActivationDate>2020-01-01</cbc:ActivationDate><cbc:ExpirationDate>2030-12-31</cbc:ExpirationDate>"
	"</cac:Endpoint></cac:ProcessMetadata></ServiceMetadata>";

static void test_smp2_metadata(void **state)
{
	struct rl_smp_metadata m;
	struct rl_err err;
	xmlDocPtr x = rl_xml_parse(smp2_metadata, sizeof(smp2_metadata) - 1, RL_ERR_BAD_RESPONSE, "test", &err);

	(void)state;
	assert_non_null(x);
	assert_true(rl_smp_is_metadata(x));
	assert_int_equal(rl_smp_parse_metadata(x, &m, &err), 0);
	assert_int_equal(m.flavour, RL_SMP_BDXR2);
	assert_string_equal(m.participant_value, "9915:abc");
	assert_string_equal(m.doctype_value, "urn:doc::X##c::1");
	assert_int_equal(m.process_count, 2);
	assert_string_equal(m.processes[1].value, "p2");
	assert_int_equal(m.processes[1].endpoint_count, 1);
	assert_string_equal(m.processes[1].endpoints[0].url, "https://ap.example.org/as4");
	assert_int_equal(m.processes[0].endpoints[0].activation, 1577836800);		/* 2020-01-01T00:00:00Z */
	assert_int_equal(m.processes[0].endpoints[0].expiration, 1924991999);		/* 2030-12-31T23:59:59Z */
	assert_true(rl_smp_endpoint_active(&m.processes[0].endpoints[0], 1700000000));
	assert_false(rl_smp_endpoint_active(&m.processes[0].endpoints[0], 1924992000));
	rl_smp_metadata_free(&m);
	xmlFreeDoc(x);
}

static void test_smp2_service_group(void **state)
{
	static const char doc[] =
		"<ServiceGroup xmlns=\"http://docs.oasis-open.org/bdxr/ns/SMP/2/ServiceGroup\""
		" xmlns:cbc=\"http://docs.oasis-open.org/bdxr/ns/SMP/2/BasicComponents\""
		" xmlns:cac=\"http://docs.oasis-open.org/bdxr/ns/SMP/2/AggregateComponents\">"
		"<cbc:SMPVersionID>2.0</cbc:SMPVersionID>"
		"<cbc:ParticipantID schemeID=\"iso6523-actorid-upis\">9915:abc</cbc:ParticipantID>"
		"<cac:ServiceReference><cbc:ID schemeID=\"busdox-docid-qns\">urn:a::b##c::1</cbc:ID></cac:ServiceReference>"
		"<cac:ServiceReference><cbc:ID schemeID=\"busdox-docid-qns\">urn:d::e##f::1</cbc:ID></cac:ServiceReference>"
		"</ServiceGroup>";
	struct rl_smp_service_group g;
	struct rl_err err;
	xmlDocPtr x = rl_xml_parse(doc, sizeof(doc) - 1, RL_ERR_BAD_RESPONSE, "test", &err);

	(void)state;
	assert_non_null(x);
	assert_int_equal(rl_smp_parse_service_group(x, &g, &err), 0);
	assert_int_equal(g.flavour, RL_SMP_BDXR2);
	assert_string_equal(g.participant_value, "9915:abc");
	assert_int_equal(g.count, 2);
	assert_string_equal(g.doctypes[1], "busdox-docid-qns::urn:d::e##f::1");
	assert_null(g.hrefs);
	rl_smp_service_group_free(&g);
	xmlFreeDoc(x);
}

static void test_bad_documents(void **state)
{
	static const char no_process_list[] =
		"<SignedServiceMetadata xmlns=\"http://busdox.org/serviceMetadata/publishing/1.0/\"><ServiceMetadata>"
		"<ServiceInformation><ParticipantIdentifier scheme=\"s\">v</ParticipantIdentifier>"
		"<DocumentIdentifier scheme=\"s\">d</DocumentIdentifier></ServiceInformation></ServiceMetadata>"
		"</SignedServiceMetadata>";
	static const char bad_date[] =
		"<ServiceMetadata xmlns=\"http://docs.oasis-open.org/bdxr/ns/SMP/2016/05\"><ServiceInformation>"
		"<ParticipantIdentifier scheme=\"s\">v</ParticipantIdentifier><DocumentIdentifier scheme=\"s\">d"
		"</DocumentIdentifier><ProcessList><Process><ProcessIdentifier scheme=\"s\">p</ProcessIdentifier>"
		"<ServiceEndpointList><Endpoint transportProfile=\"t\"><EndpointURI>https://x</EndpointURI>"
		"<ServiceActivationDate>yesterday</ServiceActivationDate></Endpoint></ServiceEndpointList></Process>"
		"</ProcessList></ServiceInformation></ServiceMetadata>";
	struct rl_smp_metadata m;
	struct rl_err err;
	xmlDocPtr x;

	(void)state;
	x = rl_xml_parse(no_process_list, sizeof(no_process_list) - 1, RL_ERR_BAD_RESPONSE, "test", &err);
	assert_int_equal(rl_smp_parse_metadata(x, &m, &err), -1);
	assert_int_equal(err.code, RL_ERR_BAD_RESPONSE);
	assert_non_null(strstr(err.msg, "ProcessList"));
	xmlFreeDoc(x);
	x = rl_xml_parse(bad_date, sizeof(bad_date) - 1, RL_ERR_BAD_RESPONSE, "test", &err);
	assert_int_equal(rl_smp_parse_metadata(x, &m, &err), -1);
	assert_non_null(strstr(err.msg, "is not a date"));
	xmlFreeDoc(x);
}

static void test_cert_uid(void **state)
{
	struct fixture *f = *state;

	assert_true(rl_smp_cert_uid_matches(f->smp.cert, "CN=SMP000001,OU=PEPPOL TEST SMP,O=relais test,C=BE"));
	assert_true(rl_smp_cert_uid_matches(f->smp.cert, "cn=SMP000001, ou=PEPPOL TEST SMP, o=relais test, c=BE"));
	assert_true(rl_smp_cert_uid_matches(f->smp.cert, "SMP000001"));
	assert_false(rl_smp_cert_uid_matches(f->smp.cert, "CN=SMP000002,OU=PEPPOL TEST SMP,O=relais test,C=BE"));
	assert_false(rl_smp_cert_uid_matches(f->ap.cert, "SMP000001"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_metadata_round_trip),
		cmocka_unit_test(test_tampered_and_untrusted),
		cmocka_unit_test(test_wrapping_refused),
		cmocka_unit_test(test_service_group_round_trip),
		cmocka_unit_test(test_smp2_metadata),
		cmocka_unit_test(test_smp2_service_group),
		cmocka_unit_test(test_bad_documents),
		cmocka_unit_test(test_cert_uid),
	};
	struct rl_err err;
	int rc;

	unit_pki_init();
	if (rl_init(&err) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, setup, teardown);
	rl_shutdown();
	return rc;
}

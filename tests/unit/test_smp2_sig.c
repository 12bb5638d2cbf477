/* test_smp2_sig.c - the signature of OASIS SMP 2.0 responses. ServiceMetadata and ServiceGroup documents
 * are signed here, at test time, with the test SMP key (rl_smp_sign_document) and read back as an SMP
 * client reads them: a good signature verifies and the document is read; one byte changed, a signer that
 * is no SMP of the trust anchors, the signature twice, a signature that is not the last child of the root
 * (moved first, into ext:SMPExtensions, into a ProcessMetadata) and wrapped content are refused. */
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
#include "unit_smp_signers.h"

#define NS_EXT "http://docs.oasis-open.org/bdxr/ns/SMP/2/ExtensionComponents"
#define INVOICE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017" \
		"#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
#define BILLING "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
#define ENDPOINT_URL "https://ap-smp2.example.org/as4"
#define NAMESPACES \
	" xmlns:cbc=\"" RL_NS_SMP2_CBC "\" xmlns:cac=\"" RL_NS_SMP2_CAC "\" xmlns:ext=\"" NS_EXT "\""
#define EXTENSIONS \
	"<ext:SMPExtensions><ext:SMPExtension><ext:ExtensionContent><note xmlns=\"urn:relais:test\">kept</note>" \
	"</ext:ExtensionContent></ext:SMPExtension></ext:SMPExtensions>"


static xmlDocPtr parse(const struct rl_buf *text)
{
	struct rl_err err;
	xmlDocPtr doc = rl_xml_parse(text->data, text->len, RL_ERR_BAD_RESPONSE, "test SMP 2.0 document", &err);

	assert_non_null(doc);
	return doc;
}

/* An unsigned SMP 2.0 ServiceMetadata with one process and one AS4 endpoint (POP000002). */
static xmlDocPtr metadata2(struct fixture *f)
{
	struct rl_buf b = RL_BUF_INIT;
	xmlDocPtr doc;

	assert_int_equal(rl_buf_puts(&b, "<ServiceMetadata xmlns=\"" RL_NS_SMP2_SM "\"" NAMESPACES ">" EXTENSIONS
				     "<cbc:SMPVersionID>2.0</cbc:SMPVersionID>"
				     "<cbc:ID schemeID=\"busdox-docid-qns\">" INVOICE "</cbc:ID>"
				     "<cbc:ParticipantID schemeID=\"iso6523-actorid-upis\">9915:smp2</cbc:ParticipantID>"
				     "<cac:ProcessMetadata><cac:Process><cbc:ID schemeID=\"cenbii-procid-ubl\">" BILLING
				     "</cbc:ID></cac:Process><cac:Endpoint>"
				     "<cbc:TransportProfileID>peppol-transport-as4-v2_0</cbc:TransportProfileID>"
				     "<cbc:AddressURI>" ENDPOINT_URL "</cbc:AddressURI><cac:Certificate>"
				     "<cbc:ContentBinaryObject mimeCode=\"application/base64\">"), 0);
	assert_int_equal(rl_cert_to_der_base64(f->endpoint_cert, &b), 0);
	assert_int_equal(rl_buf_puts(&b, "</cbc:ContentBinaryObject></cac:Certificate></cac:Endpoint>"
				     "</cac:ProcessMetadata></ServiceMetadata>"), 0);
	doc = parse(&b);
	rl_buf_free(&b);
	return doc;
}

/* An unsigned SMP 2.0 ServiceGroup listing two document types. */
static xmlDocPtr group2(void)
{
	static const char text[] =
		"<ServiceGroup xmlns=\"" RL_NS_SMP2_SG "\"" NAMESPACES ">" EXTENSIONS
		"<cbc:SMPVersionID>2.0</cbc:SMPVersionID>"
		"<cbc:ParticipantID schemeID=\"iso6523-actorid-upis\">9915:smp2</cbc:ParticipantID>"
		"<cac:ServiceReference><cbc:ID schemeID=\"busdox-docid-qns\">" INVOICE "</cbc:ID></cac:ServiceReference>"
		"<cac:ServiceReference><cbc:ID schemeID=\"busdox-docid-qns\">urn:x::Other##y::1</cbc:ID>"
		"</cac:ServiceReference></ServiceGroup>";
	struct rl_buf b = { .data = (char *)text, .len = sizeof(text) - 1 };

	return parse(&b);
}

static xmlDocPtr signed_by(xmlDocPtr doc, const struct rl_identity *signer)
{
	struct rl_err err;

	assert_int_equal(rl_smp_sign_document(doc, signer, &err), 0);
	return doc;
}

static void dump(xmlDocPtr doc, struct rl_buf *out)
{
	rl_buf_reset(out);
	assert_int_equal(rl_xml_dump(doc, xmlDocGetRootElement(doc), out), 0);
}

/* The document as bytes, read as a client reads an SMP answer: -1 with err filled when refused. */
static int read_metadata(struct fixture *f, xmlDocPtr doc, struct rl_smp_metadata *m, struct rl_smp_signature *sig,
			 struct rl_err *err)
{
	struct rl_smp_client c = { .anchors = f->smp_anchors };
	struct rl_buf text = RL_BUF_INIT;
	int rc;

	dump(doc, &text);
	rc = rl_smp_read_metadata(&c, text.data, text.len, m, sig, err);
	rl_buf_free(&text);
	return rc;
}

static xmlNodePtr last_element(xmlNodePtr node)
{
	xmlNodePtr last = NULL;

	for (xmlNodePtr c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			last = c;
	return last;
}

static void expect_refused(struct fixture *f, xmlDocPtr doc, const char *reason)
{
	struct rl_smp_metadata m;
	struct rl_err err;

	assert_int_equal(read_metadata(f, doc, &m, NULL, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	if (!strstr(err.msg, reason))
		fail_msg("refused for \"%s\", not for \"%s\"", err.msg, reason);
	assert_null(strchr(err.msg, '\n'));
}

static void test_metadata_signed_verifies(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = signed_by(metadata2(f), &f->smp);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	struct rl_smp_metadata m;
	struct rl_smp_signature sig;
	struct rl_err err;
	char cn[64];

	/* where the signer put it: the last child of the root, outside the extensions */
	assert_true(rl_xml_is(last_element(root), RL_NS_DS, "Signature"));
	assert_int_equal(read_metadata(f, doc, &m, &sig, &err), 0);
	assert_string_equal(sig.algorithms, "rsa-sha256 sha256 exc-c14n");
	assert_string_equal(rl_cert_cn(sig.signer, cn, sizeof(cn)), "SMP000001");
	assert_int_equal(m.flavour, RL_SMP_BDXR2);
	assert_string_equal(m.participant_value, "9915:smp2");
	assert_string_equal(m.doctype_value, INVOICE);
	assert_int_equal(m.process_count, 1);
	assert_string_equal(m.processes[0].value, BILLING);
	assert_int_equal(m.processes[0].endpoint_count, 1);
	assert_string_equal(m.processes[0].endpoints[0].transport_profile, RL_TRANSPORT_PEPPOL_AS4_V2);
	assert_string_equal(m.processes[0].endpoints[0].url, ENDPOINT_URL);
	assert_true(rl_cert_equal(m.processes[0].endpoints[0].cert, f->endpoint_cert));
	rl_smp_metadata_free(&m);
	rl_smp_signature_free(&sig);
	xmlFreeDoc(doc);
}

static void test_service_group_signed_verifies(void **state)
{
	struct fixture *f = *state;
	struct rl_smp_client c = { .anchors = f->smp_anchors };
	struct rl_smp_service_group g;
	struct rl_smp_signature sig;
	struct rl_err err;
	xmlDocPtr doc = signed_by(group2(), &f->smp), plain = group2(), changed;
	struct rl_buf text = RL_BUF_INIT;
	char cn[64], *p;

	assert_int_equal(rl_smp_read_service_group(&c, doc, &g, &sig, &err), 0);
	assert_string_equal(rl_cert_cn(sig.signer, cn, sizeof(cn)), "SMP000001");
	assert_int_equal(g.flavour, RL_SMP_BDXR2);
	assert_int_equal(g.count, 2);
	assert_string_equal(g.doctypes[1], "busdox-docid-qns::urn:x::Other##y::1");
	rl_smp_service_group_free(&g);
	rl_smp_signature_free(&sig);

	/* an unsigned group is read as it is */
	assert_int_equal(rl_smp_read_service_group(&c, plain, &g, &sig, &err), 0);
	assert_null(sig.signer);
	assert_int_equal(g.count, 2);
	rl_smp_service_group_free(&g);

	/* a signed group changed after signing (one byte of a document type) is not read */
	dump(doc, &text);
	p = strstr(text.data, "urn:x::Other");
	assert_non_null(p);
	p[4] = 'X';
	changed = parse(&text);
	assert_int_equal(rl_smp_read_service_group(&c, changed, &g, &sig, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_non_null(strstr(err.msg, "does not match the document"));
	assert_null(g.doctypes);
	assert_null(sig.signer);
	rl_buf_free(&text);
	xmlFreeDoc(changed);
	xmlFreeDoc(plain);
	xmlFreeDoc(doc);
}

static void test_changed_after_signing(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = signed_by(metadata2(f), &f->smp), changed;
	struct rl_buf text = RL_BUF_INIT;
	char *p;

	dump(doc, &text);
	p = strstr(text.data, "ap-smp2.example.org");
	assert_non_null(p);
	p[0] = 'b';
	changed = parse(&text);
	expect_refused(f, changed, "does not match the document");
	xmlFreeDoc(changed);
	rl_buf_free(&text);
	xmlFreeDoc(doc);
}

static void test_signer_not_an_smp(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr foreign = signed_by(metadata2(f), &f->foreign), ap = signed_by(metadata2(f), &f->ap);

	/* a foreign CA's key: a valid signature, an untrusted signer */
	expect_refused(f, foreign, "SMP signer");
	/* an access point key under the same root: not an SMP certificate */
	expect_refused(f, ap, "SMP signer");
	xmlFreeDoc(foreign);
	xmlFreeDoc(ap);
}

static void test_signature_out_of_place(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = signed_by(metadata2(f), &f->smp);
	xmlNodePtr root = xmlDocGetRootElement(doc), sig = last_element(root), copy;
	struct rl_smp_metadata m;
	struct rl_err err;

	/* moved to the front of the root: the digest still matches, the place does not */
	xmlUnlinkNode(sig);
	assert_non_null(xmlAddPrevSibling(root->children, sig));
	expect_refused(f, doc, "its signature is followed by SMPExtensions; it must be the last child of ServiceMetadata");
	/* moved into the extensions */
	xmlUnlinkNode(sig);
	assert_non_null(xmlAddChild(find(root, NS_EXT, "ExtensionContent"), sig));
	expect_refused(f, doc, "its signature is inside ExtensionContent; it must be the last child of ServiceMetadata");
	/* moved into the ProcessMetadata */
	xmlUnlinkNode(sig);
	assert_non_null(xmlAddChild(find(root, RL_NS_SMP2_CAC, "ProcessMetadata"), sig));
	expect_refused(f, doc, "its signature is inside ProcessMetadata");
	/* back in its place, the same signature verifies: only the place was wrong */
	xmlUnlinkNode(sig);
	assert_non_null(xmlAddChild(root, sig));
	assert_int_equal(read_metadata(f, doc, &m, NULL, &err), 0);
	rl_smp_metadata_free(&m);
	/* twice: each copy now covers the other, so neither matches the document */
	copy = xmlDocCopyNode(sig, doc, 1);
	assert_non_null(xmlAddChild(root, copy));
	expect_refused(f, doc, "none of its 2 signatures is a valid SMP signature over the whole document (1: SMP "
		       "signature does not match the document");
	xmlFreeDoc(doc);
}

static void test_signature_in_extension_is_content(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr group = signed_by(group2(), &f->smp), doc = metadata2(f);
	xmlNodePtr inner = xmlDocCopyNode(last_element(xmlDocGetRootElement(group)), doc, 1);
	struct rl_smp_metadata m;
	struct rl_err err;

	/* an extension carrying a signature of its own, the whole document signed in its place: the inner one
	 * is signed content, the document's signature is the one checked */
	assert_non_null(xmlAddChild(find(xmlDocGetRootElement(doc), NS_EXT, "ExtensionContent"), inner));
	signed_by(doc, &f->smp);
	assert_int_equal(read_metadata(f, doc, &m, NULL, &err), 0);
	assert_string_equal(m.processes[0].endpoints[0].url, ENDPOINT_URL);
	rl_smp_metadata_free(&m);
	xmlFreeDoc(doc);
	xmlFreeDoc(group);
}

static void test_wrapped_content(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = signed_by(metadata2(f), &f->smp);
	xmlNodePtr root = xmlDocGetRootElement(doc), signed_pm = find(root, RL_NS_SMP2_CAC, "ProcessMetadata"), forged;

	/* the signed ProcessMetadata hidden in an extension, a forged one (another endpoint) in its place */
	forged = xmlDocCopyNode(signed_pm, doc, 1);
	assert_non_null(forged);
	xmlNodeSetContent(find(forged, RL_NS_SMP2_CBC, "AddressURI"), (const xmlChar *)"https://evil.example.org/as4");
	assert_non_null(xmlAddPrevSibling(signed_pm, forged));
	xmlUnlinkNode(signed_pm);
	assert_non_null(xmlAddChild(find(root, NS_EXT, "ExtensionContent"), signed_pm));
	expect_refused(f, doc, "does not match the document");
	xmlFreeDoc(doc);
}

static void test_unsigned_metadata(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = metadata2(f);

	expect_refused(f, doc, "SMP response ServiceMetadata is not signed");
	xmlFreeDoc(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata_signed_verifies),
		cmocka_unit_test(test_service_group_signed_verifies),
		cmocka_unit_test(test_changed_after_signing),
		cmocka_unit_test(test_signer_not_an_smp),
		cmocka_unit_test(test_signature_out_of_place),
		cmocka_unit_test(test_signature_in_extension_is_content),
		cmocka_unit_test(test_wrapped_content),
		cmocka_unit_test(test_unsigned_metadata),
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

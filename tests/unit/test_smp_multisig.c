/* test_smp_multisig.c - OASIS SMP 2.0 documents that end with several ds:Signature elements (the schemas
 * allow a set of them). Every document is signed here, at test time, with xmlsec and the test PKI keys
 * (the SMP's SMP000001, an access point's POP000001, a foreign CA's POP000666), and read as an SMP client
 * reads an answer. Accepted: a valid SMP signature over the whole document, wherever it stands among the
 * others. Refused: no valid SMP signature, a valid signature by an untrusted key next to a broken SMP one,
 * an SMP signature over part of the document only (even a valid one), a forged document wrapping a genuine
 * one, signatures followed by content, too many signatures, and two signatures in an SMP 1.0 document. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/templates.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
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
#define ENDPOINT_URL "https://ap-multisig.example.org/as4"
#define FORGED_URL "https://evil.example.org/as4"


static xmlDocPtr parse(const char *data, size_t len)
{
	struct rl_err err;
	xmlDocPtr doc = rl_xml_parse(data, len, RL_ERR_BAD_RESPONSE, "test SMP document", &err);

	assert_non_null(doc);
	return doc;
}

/* An unsigned SMP 2.0 ServiceMetadata with one process and one AS4 endpoint at url (POP000002). */
static xmlDocPtr metadata2(struct fixture *f, const char *url)
{
	struct rl_buf b = RL_BUF_INIT;
	xmlDocPtr doc;

	assert_int_equal(rl_buf_printf(&b, "<ServiceMetadata xmlns=\"%s\" xmlns:cbc=\"%s\" xmlns:cac=\"%s\" xmlns:ext=\"%s\">"
				       "<ext:SMPExtensions><ext:SMPExtension><ext:ExtensionContent/></ext:SMPExtension>"
				       "</ext:SMPExtensions><cbc:SMPVersionID>2.0</cbc:SMPVersionID>"
				       "<cbc:ID schemeID=\"busdox-docid-qns\">%s</cbc:ID>"
				       "<cbc:ParticipantID schemeID=\"iso6523-actorid-upis\">9915:multisig</cbc:ParticipantID>"
				       "<cac:ProcessMetadata><cac:Process><cbc:ID schemeID=\"cenbii-procid-ubl\">%s</cbc:ID>"
				       "</cac:Process><cac:Endpoint>"
				       "<cbc:TransportProfileID>peppol-transport-as4-v2_0</cbc:TransportProfileID>"
				       "<cbc:AddressURI>%s</cbc:AddressURI><cac:Certificate>"
				       "<cbc:ContentBinaryObject mimeCode=\"application/base64\">",
				       RL_NS_SMP2_SM, RL_NS_SMP2_CBC, RL_NS_SMP2_CAC, NS_EXT, INVOICE, BILLING, url), 0);
	assert_int_equal(rl_cert_to_der_base64(f->endpoint_cert, &b), 0);
	assert_int_equal(rl_buf_puts(&b, "</cbc:ContentBinaryObject></cac:Certificate></cac:Endpoint>"
				     "</cac:ProcessMetadata></ServiceMetadata>"), 0);
	doc = parse(b.data, b.len);
	rl_buf_free(&b);
	return doc;
}

/* An unsigned SMP 2.0 ServiceGroup listing two document types. */
static xmlDocPtr group2(void)
{
	static const char text[] =
		"<ServiceGroup xmlns=\"" RL_NS_SMP2_SG "\" xmlns:cbc=\"" RL_NS_SMP2_CBC "\" xmlns:cac=\"" RL_NS_SMP2_CAC "\">"
		"<cbc:SMPVersionID>2.0</cbc:SMPVersionID>"
		"<cbc:ParticipantID schemeID=\"iso6523-actorid-upis\">9915:multisig</cbc:ParticipantID>"
		"<cac:ServiceReference><cbc:ID schemeID=\"busdox-docid-qns\">" INVOICE "</cbc:ID></cac:ServiceReference>"
		"<cac:ServiceReference><cbc:ID schemeID=\"busdox-docid-qns\">urn:x::Other##y::1</cbc:ID>"
		"</cac:ServiceReference></ServiceGroup>";

	return parse(text, sizeof(text) - 1);
}

/* Appends an enveloped signature over the whole document by signer (rl_smp_sign_document, xmlsec). */
static xmlDocPtr signed_by(xmlDocPtr doc, const struct rl_identity *signer)
{
	struct rl_err err;

	assert_int_equal(rl_smp_sign_document(doc, signer, &err), 0);
	return doc;
}

/* The ds:Signature children of the root, in document order. */
static int root_signatures(xmlDocPtr doc, xmlNodePtr *sigs, int max)
{
	int n = 0;

	for (xmlNodePtr c = xmlDocGetRootElement(doc)->children; c; c = c->next)
		if (rl_xml_is(c, RL_NS_DS, "Signature") && n < max)
			sigs[n++] = c;
	return n;
}

/* 1 when xmlsec finds sig good with cert's key, whatever the rules of relais: shows that a signature a test
 * expects relais to refuse is a genuine one (refused for its coverage, not broken). */
static int xmlsec_finds_good(xmlNodePtr sig, X509 *cert)
{
	xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
	EVP_PKEY *pub = X509_get_pubkey(cert);
	xmlSecKeyDataPtr data;
	int good;

	assert_non_null(ctx);
	assert_non_null(pub);
	ctx->signKey = xmlSecKeyCreate();
	data = xmlSecOpenSSLEvpKeyAdopt(pub);
	assert_non_null(data);
	assert_int_equal(xmlSecKeySetValue(ctx->signKey, data), 0);
	good = xmlSecDSigCtxVerify(ctx, sig) == 0 && ctx->status == xmlSecDSigStatusSucceeded;
	xmlSecDSigCtxDestroy(ctx);
	return good;
}

/* Appends to the root a signature by signer over target only (Reference URI "#id", exclusive C14N, no
 * enveloped transform): what a signer that covers part of the document makes. */
static xmlNodePtr sign_part(xmlDocPtr doc, xmlNodePtr target, const char *id, const struct rl_identity *signer)
{
	xmlNodePtr sig, ref, x509data;
	xmlAttrPtr attr = xmlSetProp(target, (const xmlChar *)"Id", (const xmlChar *)id);
	xmlSecDSigCtxPtr ctx;
	xmlSecKeyDataPtr data;
	struct rl_buf b64 = RL_BUF_INIT;
	char uri[64];

	assert_non_null(attr);
	assert_non_null(xmlAddID(NULL, doc, (const xmlChar *)id, attr));
	snprintf(uri, sizeof(uri), "#%s", id);
	sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, NULL);
	assert_non_null(sig);
	assert_non_null(xmlAddChild(xmlDocGetRootElement(doc), sig));
	ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, (const xmlChar *)uri, NULL);
	assert_non_null(ref);
	assert_non_null(xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId));
	x509data = xmlSecTmplKeyInfoAddX509Data(xmlSecTmplSignatureEnsureKeyInfo(sig, NULL));
	assert_non_null(x509data);
	ctx = xmlSecDSigCtxCreate(NULL);
	assert_non_null(ctx);
	ctx->signKey = xmlSecKeyCreate();
	assert_int_equal(EVP_PKEY_up_ref(signer->key), 1);
	data = xmlSecOpenSSLEvpKeyAdopt(signer->key);
	assert_non_null(data);
	assert_int_equal(xmlSecKeySetValue(ctx->signKey, data), 0);
	assert_int_equal(xmlSecDSigCtxSign(ctx, sig), 0);
	xmlSecDSigCtxDestroy(ctx);
	assert_int_equal(rl_cert_to_der_base64(signer->cert, &b64), 0);
	assert_non_null(xmlNewChild(x509data, x509data->ns, (const xmlChar *)"X509Certificate", (const xmlChar *)b64.data));
	rl_buf_free(&b64);
	return sig;
}

struct explained {
	char lines[8][512];
	int count;
};

static void explain(void *arg, const char *line)
{
	struct explained *e = arg;

	if (e->count < 8)
		snprintf(e->lines[e->count++], sizeof(e->lines[0]), "%s", line);
}

/* The document as bytes, read as a client reads an SMP answer: -1 with err filled when refused. */
static int read_metadata(struct fixture *f, xmlDocPtr doc, struct rl_smp_metadata *m, struct rl_smp_signature *sig,
			 struct explained *e, struct rl_err *err)
{
	struct rl_smp_client c = { .anchors = f->smp_anchors, .explain = e ? explain : NULL, .explain_arg = e };
	struct rl_buf text = RL_BUF_INIT;
	int rc;

	assert_int_equal(rl_xml_dump(doc, xmlDocGetRootElement(doc), &text), 0);
	rc = rl_smp_read_metadata(&c, text.data, text.len, m, sig, err);
	rl_buf_free(&text);
	return rc;
}

/* Read and accepted, the SMP's signature being the index-th of count; the endpoint is the genuine one. */
static void expect_accepted(struct fixture *f, xmlDocPtr doc, int index, int count)
{
	struct rl_smp_metadata m;
	struct rl_smp_signature sig;
	struct rl_err err;
	char cn[64];

	if (read_metadata(f, doc, &m, &sig, NULL, &err) < 0)
		fail_msg("refused: %s", err.msg);
	assert_string_equal(rl_cert_cn(sig.signer, cn, sizeof(cn)), "SMP000001");
	assert_int_equal(sig.index, index);
	assert_int_equal(sig.count, count);
	assert_int_equal(m.flavour, RL_SMP_BDXR2);
	assert_int_equal(m.process_count, 1);
	assert_int_equal(m.processes[0].endpoint_count, 1);
	assert_string_equal(m.processes[0].endpoints[0].url, ENDPOINT_URL);
	rl_smp_metadata_free(&m);
	rl_smp_signature_free(&sig);
}

/* Refused with EBMS:0101, one line holding each of the reasons given (NULL-terminated), nothing read. */
static void expect_refused(struct fixture *f, xmlDocPtr doc, ...)
{
	struct rl_smp_metadata m;
	struct rl_smp_signature sig;
	struct rl_err err;
	const char *reason;
	va_list ap;

	assert_int_equal(read_metadata(f, doc, &m, &sig, NULL, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_null(strchr(err.msg, '\n'));
	assert_null(sig.signer);
	assert_int_equal(m.process_count, 0);
	assert_null(m.processes);
	va_start(ap, doc);
	while ((reason = va_arg(ap, const char *)) != NULL)
		if (!strstr(err.msg, reason))
			fail_msg("refused for \"%s\", not for \"%s\"", err.msg, reason);
	va_end(ap);
}

static void test_participant_then_smp(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = signed_by(signed_by(metadata2(f, ENDPOINT_URL), &f->ap), &f->smp);
	xmlNodePtr sigs[4];
	struct rl_smp_metadata m;
	struct rl_smp_signature sig;
	struct explained e = { .count = 0 };
	struct rl_err err;
	int i;

	/* another party's signature, then the SMP's over all of it: the SMP's is found, the other is content */
	assert_int_equal(root_signatures(doc, sigs, 4), 2);
	assert_false(xmlsec_finds_good(sigs[0], f->ap.cert));
	expect_accepted(f, doc, 2, 2);
	assert_int_equal(read_metadata(f, doc, &m, &sig, &e, &err), 0);
	for (i = 0; i < e.count && !strstr(e.lines[i], "the SMP's is signature 2 of 2"); i++)
		;
	if (i == e.count)
		fail_msg("the explanation does not say which signature is the SMP's");
	rl_smp_metadata_free(&m);
	rl_smp_signature_free(&sig);
	xmlFreeDoc(doc);
}

static void test_smp_signature_in_any_position(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = signed_by(signed_by(signed_by(metadata2(f, ENDPOINT_URL), &f->foreign), &f->ap), &f->smp);
	xmlNodePtr sigs[4];

	assert_int_equal(root_signatures(doc, sigs, 4), 3);
	expect_accepted(f, doc, 3, 3);
	/* the SMP's moved in front of the others: what it covers (all but itself) is the same */
	xmlUnlinkNode(sigs[2]);
	assert_non_null(xmlAddPrevSibling(sigs[0], sigs[2]));
	expect_accepted(f, doc, 1, 3);
	xmlUnlinkNode(sigs[2]);
	assert_non_null(xmlAddPrevSibling(sigs[1], sigs[2]));
	expect_accepted(f, doc, 2, 3);
	xmlFreeDoc(doc);
}

static void test_service_group(void **state)
{
	struct fixture *f = *state;
	struct rl_smp_client c = { .anchors = f->smp_anchors };
	xmlDocPtr good = signed_by(signed_by(group2(), &f->ap), &f->smp);
	xmlDocPtr bad = signed_by(signed_by(group2(), &f->smp), &f->ap);
	struct rl_smp_service_group g;
	struct rl_smp_signature sig;
	struct rl_err err;
	char cn[64];

	assert_int_equal(rl_smp_read_service_group(&c, good, &g, &sig, &err), 0);
	assert_string_equal(rl_cert_cn(sig.signer, cn, sizeof(cn)), "SMP000001");
	assert_int_equal(sig.index, 2);
	assert_int_equal(g.count, 2);
	assert_string_equal(g.doctypes[1], "busdox-docid-qns::urn:x::Other##y::1");
	rl_smp_service_group_free(&g);
	rl_smp_signature_free(&sig);
	/* signed by the SMP, then by an access point: the SMP's no longer matches, the other is no SMP */
	assert_int_equal(rl_smp_read_service_group(&c, bad, &g, &sig, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_non_null(strstr(err.msg, "SMP response ServiceGroup: none of its 2 signatures is a valid SMP signature"));
	assert_null(g.doctypes);
	assert_null(sig.signer);
	xmlFreeDoc(good);
	xmlFreeDoc(bad);
}

static void test_untrusted_valid_next_to_broken_smp(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr ap = signed_by(signed_by(metadata2(f, ENDPOINT_URL), &f->smp), &f->ap);
	xmlDocPtr foreign = signed_by(signed_by(metadata2(f, ENDPOINT_URL), &f->smp), &f->foreign);
	xmlNodePtr sigs[4];

	/* the last signature is good but by no SMP; the SMP's was broken by adding it */
	assert_int_equal(root_signatures(ap, sigs, 4), 2);
	assert_true(xmlsec_finds_good(sigs[1], f->ap.cert));
	assert_false(xmlsec_finds_good(sigs[0], f->smp.cert));
	expect_refused(f, ap, "SMP response ServiceMetadata: none of its 2 signatures is a valid SMP signature over the "
		       "whole document", "1: SMP signature does not match the document", "2: SMP signer", NULL);
	expect_refused(f, foreign, "none of its 2 signatures", "1: SMP signature does not match the document",
		       "2: SMP signer", NULL);
	xmlFreeDoc(ap);
	xmlFreeDoc(foreign);
}

static void test_no_smp_signature(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = signed_by(signed_by(metadata2(f, ENDPOINT_URL), &f->foreign), &f->ap);
	xmlDocPtr other = signed_by(metadata2(f, FORGED_URL), &f->smp);
	xmlNodePtr sigs[4], copy;

	expect_refused(f, doc, "none of its 2 signatures", "2: SMP signer", NULL);
	/* the SMP's signature of another document copied in: it is the SMP's key, not this document */
	assert_int_equal(root_signatures(other, sigs, 4), 1);
	copy = xmlDocCopyNode(sigs[0], doc, 1);
	assert_non_null(copy);
	assert_non_null(xmlAddChild(xmlDocGetRootElement(doc), copy));
	expect_refused(f, doc, "none of its 3 signatures", "3: SMP signature does not match the document", NULL);
	xmlFreeDoc(other);
	xmlFreeDoc(doc);
}

static void test_smp_signature_over_part(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = metadata2(f, ENDPOINT_URL);
	xmlNodePtr root = xmlDocGetRootElement(doc), pm = find(root, RL_NS_SMP2_CAC, "ProcessMetadata"), part;

	/* a genuine SMP signature that covers the ProcessMetadata only, next to a whole-document signature
	 * by an access point */
	part = sign_part(doc, pm, "pm1", &f->smp);
	assert_true(xmlsec_finds_good(part, f->smp.cert));
	signed_by(doc, &f->ap);
	expect_refused(f, doc, "none of its 2 signatures",
		       "1: SMP signature reference URI is \"#pm1\", not \"\": it does not cover the whole document",
		       "2: SMP signer", NULL);
	xmlFreeDoc(doc);
}

static void test_wrapped_genuine_document(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr genuine = signed_by(metadata2(f, ENDPOINT_URL), &f->smp), forged = metadata2(f, FORGED_URL);
	xmlNodePtr sigs[4], copy;

	/* the genuine signed document hidden in an extension of a forged one, whose root carries the SMP's
	 * signature (copied) and a good signature by a foreign key */
	assert_int_equal(root_signatures(genuine, sigs, 4), 1);
	copy = xmlDocCopyNode(xmlDocGetRootElement(genuine), forged, 1);
	assert_non_null(xmlAddChild(find(xmlDocGetRootElement(forged), NS_EXT, "ExtensionContent"), copy));
	copy = xmlDocCopyNode(sigs[0], forged, 1);
	assert_non_null(xmlAddChild(xmlDocGetRootElement(forged), copy));
	signed_by(forged, &f->foreign);
	expect_refused(f, forged, "none of its 2 signatures", "1: SMP signature does not match the document",
		       "2: SMP signer", NULL);
	xmlFreeDoc(genuine);
	xmlFreeDoc(forged);
}

static void test_signatures_followed_by_content(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = signed_by(signed_by(metadata2(f, ENDPOINT_URL), &f->ap), &f->smp);
	xmlNodePtr root = xmlDocGetRootElement(doc), sigs[4], pm = find(root, RL_NS_SMP2_CAC, "ProcessMetadata");

	assert_int_equal(root_signatures(doc, sigs, 4), 2);
	/* the ProcessMetadata moved between the signatures: the SMP's still matches, the place does not */
	xmlUnlinkNode(pm);
	assert_non_null(xmlAddNextSibling(sigs[0], pm));
	expect_refused(f, doc, "SMP response ServiceMetadata: signature 1 of 2 is followed by ProcessMetadata; the "
		       "signatures must be the last children of ServiceMetadata", NULL);
	/* back in its place */
	xmlUnlinkNode(pm);
	assert_non_null(xmlAddPrevSibling(sigs[0], pm));
	expect_accepted(f, doc, 2, 2);
	xmlFreeDoc(doc);
}

static void test_too_many_signatures(void **state)
{
	struct fixture *f = *state;
	xmlDocPtr doc = metadata2(f, ENDPOINT_URL);
	char reason[128];

	for (int i = 1; i < RL_SMP_SIGNATURES_MAX; i++)
		signed_by(doc, i % 2 ? &f->ap : &f->foreign);
	signed_by(doc, &f->smp);
	expect_accepted(f, doc, RL_SMP_SIGNATURES_MAX, RL_SMP_SIGNATURES_MAX);
	signed_by(doc, &f->smp);
	snprintf(reason, sizeof(reason), "SMP response ServiceMetadata has %d signatures; at most %d are examined",
		 RL_SMP_SIGNATURES_MAX + 1, RL_SMP_SIGNATURES_MAX);
	expect_refused(f, doc, reason, NULL);
	xmlFreeDoc(doc);
}

static void test_smp1_takes_one(void **state)
{
	struct fixture *f = *state;
	struct rl_peppol_id participant, doctype, process;
	struct rl_smp_publish_endpoint ep = { .transport_profile = RL_TRANSPORT_PEPPOL_AS4_V2, .url = ENDPOINT_URL,
					      .cert = f->endpoint_cert };
	struct rl_buf text = RL_BUF_INIT;
	struct rl_smp_metadata m;
	struct rl_err err;
	xmlDocPtr doc;

	/* a Peppol SMP 1.0 SignedServiceMetadata signed by the SMP reads; signed once more by the SMP (the
	 * last signature is good) it is refused: SMP 1.0 documents carry one signature */
	assert_int_equal(rl_participant_parse(&participant, "iso6523-actorid-upis::9915:multisig", &err), 0);
	assert_int_equal(rl_peppol_id_make(&doctype, RL_ID_DOCTYPE, NULL, INVOICE, &err), 0);
	assert_int_equal(rl_peppol_id_make(&process, RL_ID_PROCESS, NULL, BILLING, &err), 0);
	assert_int_equal(rl_smp_build_signed_metadata(&text, &participant, &doctype, &process, &ep, &f->smp, &err), 0);
	doc = parse(text.data, text.len);
	assert_int_equal(read_metadata(f, doc, &m, NULL, NULL, &err), 0);
	assert_int_equal(m.flavour, RL_SMP_PEPPOL1);
	rl_smp_metadata_free(&m);
	signed_by(doc, &f->smp);
	expect_refused(f, doc, "SMP response SignedServiceMetadata has 2 signatures; one is accepted", NULL);
	xmlFreeDoc(doc);
	rl_buf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_participant_then_smp),
		cmocka_unit_test(test_smp_signature_in_any_position),
		cmocka_unit_test(test_service_group),
		cmocka_unit_test(test_untrusted_valid_next_to_broken_smp),
		cmocka_unit_test(test_no_smp_signature),
		cmocka_unit_test(test_smp_signature_over_part),
		cmocka_unit_test(test_wrapped_genuine_document),
		cmocka_unit_test(test_signatures_followed_by_content),
		cmocka_unit_test(test_too_many_signatures),
		cmocka_unit_test(test_smp1_takes_one),
	};
	struct rl_err err;
	int rc;

	unit_pki_init();
	if (rl_init(&err) < 0 || rl_xmlsec_init(&err) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, setup, teardown);
	rl_shutdown();
	return rc;
}

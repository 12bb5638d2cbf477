/*
 * test_wss.c - WS-Security signatures: real receipts from Peppol access points verify (Governikus,
 * Dataport, BTC AG, phase4; files from ../shared/interop-corpus/as4/phase4/), an edited one is refused,
 * and our own signatures verify, with tampering, wrapping and weak algorithms refused; a signature in the
 * default namespace has its references acknowledged by our receipt.
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
#include <libxml/c14n.h>
#include "relais/as4.h"
#include "relais/buf.h"
#include "relais/crypto.h"
#include "relais/keys.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"
#include "unit_corpus.h"

/* Parses the SOAP envelope in a captured file (HTTP headers before it are skipped). */
static xmlDocPtr load_envelope(const char *rel, struct rl_err *err)
{
	const char *shared = getenv("RELAIS_SHARED_DIR");
	struct rl_buf file = RL_BUF_INIT;
	char path[4096], *start;
	xmlDocPtr doc = NULL;

	if (shared == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/interop-corpus/%s", shared, rel);
	if (rl_buf_read_file(&file, path, 16 << 20) < 0)
		return NULL;
	start = strstr(file.data, "<?xml");
	if (start == NULL)
		start = strchr(file.data, '<');
	if (start)
		doc = rl_xml_parse(start, file.len - (size_t)(start - file.data), RL_EBMS_INVALID_HEADER, rel, err);
	rl_buf_free(&file);
	return doc;
}

static xmlNodePtr security_of(xmlDocPtr doc)
{
	xmlNodePtr env = xmlDocGetRootElement(doc);
	xmlNodePtr header = rl_xml_child(env, RL_NS_SOAP12, "Header");

	return rl_xml_child(header, RL_NS_WSSE, "Security");
}

static int verify_file(const char *rel, struct rl_err *err)
{
	struct rl_wss_verify_opts opts = { 0 };
	struct rl_wss_verified v;
	xmlDocPtr doc = load_envelope(rel, err);
	int rc;

	if (doc == NULL)
		return -2;
	rc = rl_wss_verify(security_of(doc), &opts, &v, err);
	if (rc == 0) {
		/* a receipt's signature covers its eb:Messaging and its Body */
		int messaging = 0, body = 0;

		for (int i = 0; i < v.node_count; i++) {
			messaging |= rl_xml_is(v.nodes[i], RL_NS_EB, "Messaging");
			body |= rl_xml_is(v.nodes[i], RL_NS_SOAP12, "Body");
		}
		assert_true(messaging && body);
		assert_non_null(v.signer);
		rl_wss_verified_free(&v);
	}
	xmlFreeDoc(doc);
	return rc;
}

static void test_real_receipts(void **state)
{
	static const char *valid[] = {
		"as4/phase4/received-receipts/governikus.as4in",		/* Governikus, POP000260 */
		"as4/phase4/received-receipts/dataport1-mustunderstand.as4in",	/* Dataport, PDE000357 */
		"as4/phase4/received-receipts/helger.as4in",			/* phase4, POP000306 */
		"as4/phase4/testfiles/TestReceipt12.xml",			/* BTC AG */
	};
	struct rl_err err;

	if (getenv("RELAIS_SHARED_DIR") == NULL)
		skip();
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		int rc = verify_file(valid[i], &err);

		if (rc != 0)
			fail_msg("%s: %s", valid[i], err.msg);
	}
	/* phase4's edited copy (mustUnderstand re-namespaced after signing): eb:Messaging digest fails */
	assert_int_equal(verify_file("as4/phase4/received-receipts/dataport1.as4in", &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_non_null(strstr(err.msg, "digest"));
	print_message("dataport1.as4in refused: %s\n", err.msg);
}

/* An envelope with eb:Messaging and Body carrying wsu:Id, signed with POP000001. */
static xmlDocPtr signed_envelope(struct rl_identity *id, const unsigned char *att_digest, struct rl_err *err)
{
	static const char tmpl[] =
		"<S12:Envelope xmlns:S12='" RL_NS_SOAP12 "'><S12:Header>"
		"<wsse:Security xmlns:wsse='" RL_NS_WSSE "' xmlns:wsu='" RL_NS_WSU "' S12:mustUnderstand='true'/>"
		"<eb:Messaging xmlns:eb='" RL_NS_EB "' xmlns:wsu='" RL_NS_WSU "' wsu:Id='m1'><eb:UserMessage>"
		"<eb:MessageInfo><eb:MessageId>a@b</eb:MessageId></eb:MessageInfo></eb:UserMessage></eb:Messaging>"
		"</S12:Header><S12:Body xmlns:wsu='" RL_NS_WSU "' wsu:Id='b1'/></S12:Envelope>";
	xmlDocPtr doc = rl_xml_parse(tmpl, sizeof(tmpl) - 1, RL_EBMS_INVALID_HEADER, "template", err);
	xmlNodePtr header = rl_xml_child(xmlDocGetRootElement(doc), RL_NS_SOAP12, "Header");
	struct rl_wss_sign_ref refs[3] = {
		{ rl_xml_child(header, RL_NS_EB, "Messaging"), NULL, NULL },
		{ rl_xml_child(xmlDocGetRootElement(doc), RL_NS_SOAP12, "Body"), NULL, NULL },
		{ NULL, "payload@test", att_digest },
	};

	assert_int_equal(rl_wss_sign(rl_xml_child(header, RL_NS_WSSE, "Security"), id->key, id->cert, "X509-1",
				     refs, 3, err), 0);
	return doc;
}

/* The envelope of signed_envelope signed by POP000001 (loaded into *id, freed by the caller), its
 * attachment's digest (of "compressed payload") in *att. */
static xmlDocPtr signed_by_pop000001(struct rl_identity *id, struct rl_wss_attachment_digest *att)
{
	const char *builddir = getenv("top_builddir");
	char key[4096], cert[4096];
	struct rl_err err;

	snprintf(key, sizeof(key), "%s/tests/pki/POP000001.key.pem", builddir ? builddir : ".");
	snprintf(cert, sizeof(cert), "%s/tests/pki/POP000001.cert.pem", builddir ? builddir : ".");
	assert_int_equal(rl_identity_load_pem(id, key, cert, NULL, &err), 0);
	rl_sha256("compressed payload", 18, att->digest);
	return signed_envelope(id, att->digest, &err);
}

/* Serialises and parses again, as a receiver sees it. */
static xmlDocPtr reparse(xmlDocPtr doc, const char *replace_from, const char *replace_to)
{
	struct rl_buf text = RL_BUF_INIT, out = RL_BUF_INIT;
	struct rl_err err;
	char *hit;
	xmlDocPtr again;

	rl_xml_dump(doc, xmlDocGetRootElement(doc), &text);
	hit = replace_from ? strstr(text.data, replace_from) : NULL;
	if (replace_from)
		assert_non_null(hit);
	if (hit) {
		rl_buf_append(&out, text.data, (size_t)(hit - text.data));
		rl_buf_puts(&out, replace_to);
		rl_buf_puts(&out, hit + strlen(replace_from));
	} else {
		rl_buf_append(&out, text.data, text.len);
	}
	again = rl_xml_parse(out.data, out.len, RL_EBMS_INVALID_HEADER, "envelope", &err);
	rl_buf_free(&text);
	rl_buf_free(&out);
	return again;
}

static void test_sign_verify(void **state)
{
	struct rl_identity id;
	struct rl_err err;
	struct rl_wss_attachment_digest att = { "payload@test", { 0 } };
	struct rl_wss_verify_opts opts = { .attachments = &att, .attachment_count = 1 };
	struct rl_wss_verified v;
	xmlDocPtr doc, got;

	doc = signed_by_pop000001(&id, &att);

	got = reparse(doc, NULL, NULL);
	assert_int_equal(rl_wss_verify(security_of(got), &opts, &v, &err), 0);
	assert_int_equal(v.node_count, 2);
	assert_int_equal(v.cid_count, 1);
	assert_true(X509_cmp(v.signer, id.cert) == 0);
	assert_non_null(strstr(v.references.data, "cid:payload@test"));
	rl_wss_verified_free(&v);
	xmlFreeDoc(got);

	/* tampered eb:Messaging */
	got = reparse(doc, "a@b", "a@c");
	assert_int_equal(rl_wss_verify(security_of(got), &opts, &v, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_non_null(strstr(err.msg, "#m1"));
	xmlFreeDoc(got);

	/* tampered payload: the attachment digest differs */
	att.digest[0] ^= 1;
	got = reparse(doc, NULL, NULL);
	assert_int_equal(rl_wss_verify(security_of(got), &opts, &v, &err), -1);
	assert_non_null(strstr(err.msg, "payload was changed"));
	att.digest[0] ^= 1;
	xmlFreeDoc(got);

	/* wrapping: a second element with the id of eb:Messaging */
	got = reparse(doc, "<S12:Body", "<S12:Wrapper xmlns:wsu='" RL_NS_WSU "' wsu:Id='m1'/><S12:Body");
	assert_int_equal(rl_wss_verify(security_of(got), &opts, &v, &err), -1);
	assert_non_null(strstr(err.msg, "wrapping"));
	xmlFreeDoc(got);

	/* weak algorithm */
	got = reparse(doc, RL_DS_RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
	assert_int_equal(rl_wss_verify(security_of(got), &opts, &v, &err), -1);
	assert_int_equal(err.code, RL_EBMS_POLICY_NONCOMPLIANCE);
	xmlFreeDoc(got);

	/* tampered SignatureValue */
	got = reparse(doc, "<ds:SignatureValue>", "<ds:SignatureValue>AAAA");
	assert_int_equal(rl_wss_verify(security_of(got), &opts, &v, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	xmlFreeDoc(got);

	xmlFreeDoc(doc);
	rl_identity_free(&id);
}

/* ---------------------------------------------------------------- canonicalisation */

/* The reference: libxml2's exclusive C14N of the whole document, with only node's subtree visible. */
static int reference_visible(void *root, xmlNodePtr node, xmlNodePtr parent)
{
	xmlNodePtr n = node == NULL || node->type == XML_NAMESPACE_DECL ? parent :
		       node->type == XML_ATTRIBUTE_NODE ? node->parent : node;

	for (; n; n = n->parent)
		if (n == (xmlNodePtr)root)
			return 1;
	return 0;
}

static int reference_write(void *ctx, const char *data, int len)
{
	return rl_buf_append((struct rl_buf *)ctx, data, (size_t)len) < 0 ? -1 : len;
}

static void reference_c14n(xmlNodePtr node, xmlChar **prefixes, struct rl_buf *out)
{
	xmlOutputBufferPtr ob = xmlOutputBufferCreateIO(reference_write, NULL, out, NULL);

	assert_non_null(ob);
	assert_true(xmlC14NExecute(node->doc, reference_visible, node, XML_C14N_EXCLUSIVE_1_0, prefixes, 0, ob) >= 0);
	xmlOutputBufferClose(ob);
}

/* Every element of the document, canonicalised by rl_c14n_exclusive and by the reference, with no
 * inclusive prefixes and with every prefix the document declares (Domibus's messages declare over 40);
 * returns how many were compared. */
static int compare_subtrees(const char *rel, xmlDocPtr doc, xmlNodePtr node, const char *all_prefixes,
			    xmlChar **prefix_list)
{
	int compared = 0;

	for (; node; node = node->next) {
		if (node->type != XML_ELEMENT_NODE)
			continue;
		for (int with_prefixes = 0; with_prefixes < 2; with_prefixes++) {
			struct rl_buf ours = RL_BUF_INIT, reference = RL_BUF_INIT;
			struct rl_err err;

			if (rl_c14n_exclusive(node, with_prefixes ? all_prefixes : NULL, &ours, &err) < 0)
				fail_msg("%s: <%s>: %s", rel, (const char *)node->name, err.msg);
			reference_c14n(node, with_prefixes ? prefix_list : NULL, &reference);
			if (ours.len != reference.len || memcmp(ours.data, reference.data, ours.len) != 0)
				fail_msg("%s: <%s>%s: the canonical form differs from libxml2's whole-document one",
					 rel, (const char *)node->name, with_prefixes ? " (inclusive prefixes)" : "");
			rl_buf_free(&ours);
			rl_buf_free(&reference);
			compared++;
		}
		compared += compare_subtrees(rel, doc, node->children, all_prefixes, prefix_list);
	}
	return compared;
}

static void collect_prefixes(xmlNodePtr node, struct rl_buf *all)
{
	for (; node; node = node->next) {
		if (node->type != XML_ELEMENT_NODE)
			continue;
		for (xmlNsPtr ns = node->nsDef; ns; ns = ns->next)
			rl_buf_printf(all, "%s ", ns->prefix ? (const char *)ns->prefix : "#default");
		collect_prefixes(node->children, all);
	}
}

/* rl_c14n_exclusive canonicalises a subtree on its own, not by walking the whole document: for every
 * element of other implementations' messages and receipts it gives the same bytes as libxml2's
 * whole-document canonicalisation, and it leaves the document as it was. */
static void test_c14n_matches_whole_document(void **state)
{
	static const char *const files[] = {
		"phase4/outbound/dump-raw.as4out",
		"phase4/received-receipts/dataport1-mustunderstand.as4in",
		"phase4/unused/TestMimeMessage12.xml",
		"holodeck/via-phase4/from-holodeck-1.xml",
		"oxalis/eDeliveryAS4-example.xml",
		"domibus/msh-test-dataset/MSHAS4Request.xml",
		"domibus/msh-test-dataset/MSHAS4Response.xml",
		"domibus/msh-test-dataset/validAS4Response.xml",
		"domibus/msh-test-incoming/bst_x509v3_incoming_message.xml",
		"domibus/msh-test-incoming/RawXMLMessageWithSpaces.xml",
		"domibus/msh-test-incoming/ski_incoming_message.xml",
		"domibus/msh-test-dataset/SOAPMessage2.xml",
	};
	int compared = 0;

	(void)state;
	if (!unit_corpus_present())
		skip();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		xmlDocPtr doc = corpus_envelope(files[i]);
		struct rl_buf all = RL_BUF_INIT;
		xmlChar *prefix_list[256], *before = NULL, *after = NULL;
		char *save = NULL, *copy;
		int n = 0, before_len = 0, after_len = 0;

		collect_prefixes(xmlDocGetRootElement(doc), &all);
		copy = strdup(all.data ? all.data : "");
		for (char *tok = strtok_r(copy, " ", &save); tok && n < 255; tok = strtok_r(NULL, " ", &save))
			prefix_list[n++] = (xmlChar *)tok;
		prefix_list[n] = NULL;
		xmlDocDumpMemory(doc, &before, &before_len);
		compared += compare_subtrees(files[i], doc, xmlDocGetRootElement(doc), all.data, prefix_list);
		xmlDocDumpMemory(doc, &after, &after_len);
		assert_int_equal(before_len, after_len);
		assert_memory_equal(before, after, (size_t)before_len);
		xmlFree(before);
		xmlFree(after);
		free(copy);
		rl_buf_free(&all);
		xmlFreeDoc(doc);
	}
	assert_true(compared > 500);
}

/* The text of doc with every occurrence of from replaced by to. */
static void replace_all(xmlDocPtr doc, struct rl_buf *out, const char *const pairs[][2], size_t npairs)
{
	struct rl_buf text = RL_BUF_INIT;

	rl_xml_dump(doc, xmlDocGetRootElement(doc), &text);
	for (const char *p = text.data; *p;) {
		size_t i;

		for (i = 0; i < npairs; i++)
			if (strncmp(p, pairs[i][0], strlen(pairs[i][0])) == 0)
				break;
		if (i < npairs) {
			rl_buf_puts(out, pairs[i][1]);
			p += strlen(pairs[i][0]);
		} else {
			rl_buf_append(out, p++, 1);
		}
	}
	rl_buf_free(&text);
}

/* Counts the ds:Reference elements (in the XML Signature namespace) under node. */
static int count_references(xmlNodePtr node)
{
	int n = rl_xml_is(node, RL_NS_DS, "Reference");

	for (xmlNodePtr c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			n += count_references(c);
	return n;
}

/*
 * A sender whose ds:Signature is in the default namespace (<Signature xmlns="...xmldsig#">, as .NET's
 * SignedXml writes it): its references are kept with their namespace declared, so that they read alone
 * and the receipt acknowledges all three.
 */
static void test_default_namespace_signature(void **state)
{
	static const char *const to_default[][2] = {
		{ "<ds:", "<" }, { "</ds:", "</" }, { "xmlns:ds=", "xmlns=" },
	};
	struct rl_identity id;
	struct rl_err err;
	struct rl_wss_attachment_digest att = { "payload@test", { 0 } };
	struct rl_wss_verify_opts opts = { .attachments = &att, .attachment_count = 1 };
	struct rl_wss_verified v;
	struct rl_buf text = RL_BUF_INIT, c14n = RL_BUF_INIT, sig = RL_BUF_INIT, b64 = RL_BUF_INIT,
		      alone = RL_BUF_INIT, receipt = RL_BUF_INIT;
	struct rl_as4_received r;
	xmlDocPtr doc, got, parsed;
	xmlNodePtr signature, signed_info;

	(void)state;
	doc = signed_by_pop000001(&id, &att);
	replace_all(doc, &text, to_default, sizeof(to_default) / sizeof(to_default[0]));
	assert_null(strstr(text.data, "ds:"));
	got = rl_xml_parse(text.data, text.len, RL_EBMS_INVALID_HEADER, "envelope", &err);
	assert_non_null(got);
	/* The SignedInfo's canonical form names no prefix now: sign it again as such a sender does. */
	signature = rl_xml_child(security_of(got), RL_NS_DS, "Signature");
	assert_non_null(signature);
	assert_null(signature->ns->prefix);
	signed_info = rl_xml_child(signature, RL_NS_DS, "SignedInfo");
	assert_int_equal(rl_c14n_exclusive(signed_info, NULL, &c14n, &err), 0);
	assert_int_equal(rl_sign(id.key, EVP_sha256(), c14n.data, c14n.len, &sig, &err), 0);
	assert_int_equal(rl_base64_encode(sig.data, sig.len, &b64), 0);
	xmlNodeSetContent(rl_xml_child(signature, RL_NS_DS, "SignatureValue"), (const xmlChar *)b64.data);

	assert_int_equal(rl_wss_verify(security_of(got), &opts, &v, &err), 0);
	/* The references read without the declarations of the envelope around them. */
	rl_buf_puts(&alone, "<refs>");
	rl_buf_append(&alone, v.references.data, v.references.len);
	rl_buf_puts(&alone, "</refs>");
	parsed = rl_xml_parse(alone.data, alone.len, RL_ERR_INTERNAL, "references", &err);
	assert_non_null(parsed);
	assert_int_equal(count_references(xmlDocGetRootElement(parsed)), 3);
	xmlFreeDoc(parsed);

	memset(&r, 0, sizeof(r));
	r.um.message_id = "a@b";
	r.references = v.references;
	if (rl_as4_receipt_build(&r, &id, &receipt, NULL, &err) < 0)
		fail_msg("receipt: %s", err.msg);
	parsed = rl_xml_parse(receipt.data, receipt.len, RL_ERR_INTERNAL, "receipt", &err);
	assert_non_null(parsed);
	{
		xmlNodePtr env = xmlDocGetRootElement(parsed);
		xmlNodePtr messaging = rl_xml_child(rl_xml_child(env, RL_NS_SOAP12, "Header"), RL_NS_EB, "Messaging");
		xmlNodePtr nri = rl_xml_child(rl_xml_child(rl_xml_child(messaging, RL_NS_EB, "SignalMessage"), RL_NS_EB,
							   "Receipt"), RL_NS_EBBP, "NonRepudiationInformation");

		assert_non_null(nri);
		assert_int_equal(count_references(nri), 3);
	}
	xmlFreeDoc(parsed);
	rl_wss_verified_free(&v);
	rl_buf_free(&text);
	rl_buf_free(&c14n);
	rl_buf_free(&sig);
	rl_buf_free(&b64);
	rl_buf_free(&alone);
	rl_buf_free(&receipt);
	xmlFreeDoc(got);
	xmlFreeDoc(doc);
	rl_identity_free(&id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_receipts),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_c14n_matches_whole_document),
		cmocka_unit_test(test_default_namespace_signature),
	};
	rl_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_enc_refs.c - unpacking cross-checks the encryption references. Messages packed by relais
 * (POP000001 to POP000002, the test PKI) have their SOAP part edited. Refused with EBMS:0102: a
 * DataReference that is dangling, not "#id" (empty, "#", http:, cid:, absent), named twice or naming
 * another element; two EncryptedData with one id; another element claiming an EncryptedData's id
 * (wrapping); an EncryptedData the ReferenceList does not name; no or an empty ReferenceList, also in an
 * unencrypted message whose EncryptedKey decrypts nothing; an EncryptedData naming another key, or a
 * key id that another element claims too. Refused with EBMS:0103, layouts WS-Security allows and Peppol
 * AS4 does not use: a standalone ReferenceList
 * (beside the EncryptedKey's, in its place, listing another payload, or empty in an unencrypted
 * message); a second EncryptedKey or one inside a KeyInfo; a second ReferenceList in the EncryptedKey or
 * one inside a KeyInfo; an EncryptedData wrapped in another element; a KeyReference; an EncryptedData
 * naming its key by a KeyName, a KeyIdentifier, an empty or a second KeyInfo; a plain payload beside an
 * encrypted one. Each is refused with a one-line message naming the problem. Edits that change what is
 * signed (a second payload) are signed again with POP000001, so only the encryption structure is wrong.
 * The packed messages (encrypted, unencrypted, two encrypted payloads) and the SOAP parts of phase4,
 * Holodeck, Oxalis and Domibus messages (../shared/interop-corpus/as4) pass the check; the corpus
 * messages with their list copied standalone are refused.
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
#include "relais/as4.h"
#include "relais/buf.h"
#include "relais/cli.h"
#include "relais/crypto.h"
#include "relais/keys.h"
#include "relais/stream.h"
#include "relais/wss_enc_refs.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"
#include "unit_corpus.h"
#include "unit_pki.h"

static struct rl_identity sender, receiver;
static struct rl_trust *trust;
static struct rl_buf packed = RL_BUF_INIT;	/* the message as relais packs it */
static struct rl_buf packed_plain = RL_BUF_INIT;	/* the same, packed without encryption */
static struct rl_buf payload = RL_BUF_INIT;	/* the document packed */

/* ---------------------------------------------------------------- a packed message, taken apart */

struct msg {
	struct rl_buf head;	/* the bytes before the SOAP envelope */
	xmlDocPtr doc;		/* the SOAP envelope, to edit */
	struct rl_buf tail;	/* the bytes after it: attachments and the closing boundary */
	char boundary[128];
};

/* Takes a packed message (src) apart into m. */
static void msg_open_from(struct msg *m, const struct rl_buf *src)
{
	const char *start = strstr(src->data, "<S12:Envelope"), *end = strstr(src->data, "</S12:Envelope>");
	const char *b = strstr(src->data, "boundary=\"");
	struct rl_err err;

	assert_non_null(start);
	assert_non_null(end);
	assert_non_null(b);
	memset(m, 0, sizeof(*m));
	b += strlen("boundary=\"");
	snprintf(m->boundary, sizeof(m->boundary), "%.*s", (int)strcspn(b, "\""), b);
	end += strlen("</S12:Envelope>");
	rl_buf_append(&m->head, src->data, (size_t)(start - src->data));
	rl_buf_append(&m->tail, end, src->len - (size_t)(end - src->data));
	m->doc = rl_xml_parse(start, (size_t)(end - start), RL_EBMS_INVALID_HEADER, "packed envelope", &err);
	if (m->doc == NULL)
		fail_msg("%s", err.msg);
}

/* Takes the encrypted packed message apart. */
static void msg_open(struct msg *m)
{
	msg_open_from(m, &packed);
}

/* Joins the parts again into out (freed by the caller) and frees m. */
static void msg_close(struct msg *m, struct rl_buf *out)
{
	rl_buf_append(out, m->head.data, m->head.len);
	assert_int_equal(rl_xml_dump(m->doc, xmlDocGetRootElement(m->doc), out), 0);
	rl_buf_append(out, m->tail.data, m->tail.len);
	rl_buf_free(&m->head);
	rl_buf_free(&m->tail);
	xmlFreeDoc(m->doc);
}

static xmlNodePtr header_of(struct msg *m)
{
	return rl_xml_child(xmlDocGetRootElement(m->doc), RL_NS_SOAP12, "Header");
}

static xmlNodePtr security_of(struct msg *m)
{
	return rl_xml_child(header_of(m), RL_NS_WSSE, "Security");
}

static xmlNodePtr encrypted_key_of(struct msg *m)
{
	return rl_xml_child(security_of(m), RL_NS_XENC, "EncryptedKey");
}

static xmlNodePtr reference_list_of(struct msg *m)
{
	return rl_xml_child(encrypted_key_of(m), RL_NS_XENC, "ReferenceList");
}

static xmlNodePtr encrypted_data_of(struct msg *m)
{
	return rl_xml_child(security_of(m), RL_NS_XENC, "EncryptedData");
}

static xmlNodePtr payload_info_of(struct msg *m)
{
	xmlNodePtr messaging = rl_xml_child(header_of(m), RL_NS_EB, "Messaging");

	return rl_xml_child(rl_xml_child(messaging, RL_NS_EB, "UserMessage"), RL_NS_EB, "PayloadInfo");
}

/* The value of an attribute as a static string (the last two results stay valid). */
static const char *attr(xmlNodePtr node, const char *ns, const char *name)
{
	static char value[2][256];
	static int which;
	char *v = rl_xml_attr(node, ns, name);

	assert_non_null(v);
	which = !which;
	snprintf(value[which], sizeof(value[which]), "%s", v);
	free(v);
	return value[which];
}

/* The raw content of the first attachment. */
static void first_attachment(struct msg *m, struct rl_buf *out)
{
	const char *cid = find_bytes(m->tail.data, m->tail.len, "Content-ID:");
	const char *start, *end;
	char close[160];

	assert_non_null(cid);
	start = find_bytes(cid, m->tail.len - (size_t)(cid - m->tail.data), "\r\n\r\n");
	assert_non_null(start);
	start += 4;
	snprintf(close, sizeof(close), "\r\n--%s", m->boundary);
	end = find_bytes(start, m->tail.len - (size_t)(start - m->tail.data), close);
	assert_non_null(end);
	rl_buf_append(out, start, (size_t)(end - start));
}

/* Adds a MIME part before the closing boundary. */
static void add_part(struct msg *m, const char *cid, const char *type, const void *data, size_t len)
{
	struct rl_buf tail = RL_BUF_INIT;
	char close[160];
	const char *at;

	snprintf(close, sizeof(close), "\r\n--%s--", m->boundary);
	at = find_bytes(m->tail.data, m->tail.len, close);
	assert_non_null(at);
	rl_buf_append(&tail, m->tail.data, (size_t)(at - m->tail.data));
	rl_buf_printf(&tail, "\r\n--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: binary\r\n"
			     "Content-ID: <%s>\r\n\r\n", m->boundary, type, cid);
	rl_buf_append(&tail, data, len);
	rl_buf_append(&tail, at, m->tail.len - (size_t)(at - m->tail.data));
	rl_buf_free(&m->tail);
	m->tail = tail;
}

/* The signature digest of the first attachment, from the packed signature. */
static void first_attachment_digest(struct msg *m, unsigned char digest[32])
{
	xmlNodePtr si = rl_xml_child(rl_xml_child(security_of(m), RL_NS_DS, "Signature"), RL_NS_DS, "SignedInfo");
	struct rl_buf raw = RL_BUF_INIT;

	for (xmlNodePtr r = rl_xml_child(si, RL_NS_DS, "Reference"); r; r = rl_xml_next(r, RL_NS_DS, "Reference")) {
		char *uri = rl_xml_attr(r, NULL, "URI"), *b64;

		if (uri && strncmp(uri, "cid:", 4) == 0) {
			b64 = rl_xml_text(rl_xml_child(r, RL_NS_DS, "DigestValue"));
			assert_int_equal(rl_base64_decode(b64, strlen(b64), &raw), 0);
			assert_int_equal(raw.len, 32);
			memcpy(digest, raw.data, 32);
			free(b64);
			free(uri);
			rl_buf_free(&raw);
			return;
		}
		free(uri);
	}
	fail_msg("the packed signature has no attachment reference");
}

/* Signs the edited envelope again as POP000001: eb:Messaging, Body, the first attachment and the extra
 * one (cid, digest), replacing the packed signature and its token. */
static void resign(struct msg *m, const char *extra_cid, const unsigned char extra_digest[32])
{
	xmlNodePtr security = security_of(m), sig = rl_xml_child(security, RL_NS_DS, "Signature");
	xmlNodePtr ref = rl_xml_child(rl_xml_child(rl_xml_child(sig, RL_NS_DS, "KeyInfo"), RL_NS_WSSE,
						   "SecurityTokenReference"), RL_NS_WSSE, "Reference");
	xmlNodePtr bst;
	unsigned char first_digest[32];
	char first_cid[160], bst_id[160];
	struct rl_wss_sign_ref refs[4];
	struct rl_err err;
	int count;

	first_attachment_digest(m, first_digest);
	snprintf(first_cid, sizeof(first_cid), "%s",
		 attr(rl_xml_child(payload_info_of(m), RL_NS_EB, "PartInfo"), NULL, "href") + 4);
	bst = rl_wss_find_id(m->doc, attr(ref, NULL, "URI") + 1, &count);
	assert_non_null(bst);
	snprintf(bst_id, sizeof(bst_id), "%s", attr(bst, RL_NS_WSU, "Id"));
	xmlUnlinkNode(sig);
	xmlFreeNode(sig);
	xmlUnlinkNode(bst);
	xmlFreeNode(bst);
	refs[0] = (struct rl_wss_sign_ref){ rl_xml_child(header_of(m), RL_NS_EB, "Messaging"), NULL, NULL };
	refs[1] = (struct rl_wss_sign_ref){ rl_xml_child(xmlDocGetRootElement(m->doc), RL_NS_SOAP12, "Body"), NULL,
					    NULL };
	refs[2] = (struct rl_wss_sign_ref){ NULL, first_cid, first_digest };
	refs[3] = (struct rl_wss_sign_ref){ NULL, extra_cid, extra_digest };
	if (rl_wss_sign(security, sender.key, sender.cert, bst_id, refs, 4, &err) != 0)
		fail_msg("re-signing: %s", err.msg);
}

/* A copy of the first PartInfo naming cid:<cid>, added to the PayloadInfo. */
static xmlNodePtr add_part_info(struct msg *m, const char *cid)
{
	xmlNodePtr first = rl_xml_child(payload_info_of(m), RL_NS_EB, "PartInfo"), copy = xmlCopyNode(first, 1);
	char href[200];

	snprintf(href, sizeof(href), "cid:%s", cid);
	xmlSetProp(copy, (const xmlChar *)"href", (const xmlChar *)href);
	xmlAddNextSibling(first, copy);
	return copy;
}

/* A second payload, the first one's ciphertext again under another Content-ID, with its own
 * EncryptedData (Id ED-second) named by the ReferenceList. Signed again. */
static void add_second_encrypted_payload(struct msg *m)
{
	xmlNodePtr ed = encrypted_data_of(m), copy = xmlCopyNode(ed, 1), list = reference_list_of(m), dr;
	xmlNodePtr cref;
	struct rl_buf content = RL_BUF_INIT;
	unsigned char digest[32];

	first_attachment_digest(m, digest);
	first_attachment(m, &content);
	add_part_info(m, "second@test");
	xmlSetProp(copy, (const xmlChar *)"Id", (const xmlChar *)"ED-second");
	cref = rl_xml_child(rl_xml_child(copy, RL_NS_XENC, "CipherData"), RL_NS_XENC, "CipherReference");
	xmlSetProp(cref, (const xmlChar *)"URI", (const xmlChar *)"cid:second@test");
	xmlAddNextSibling(ed, copy);
	dr = xmlNewChild(list, list->ns, (const xmlChar *)"DataReference", NULL);
	xmlSetProp(dr, (const xmlChar *)"URI", (const xmlChar *)"#ED-second");
	add_part(m, "second@test", "application/octet-stream", content.data, content.len);
	rl_buf_free(&content);
	resign(m, "second@test", digest);
}

static void remove_node(xmlNodePtr node)
{
	assert_non_null(node);
	xmlUnlinkNode(node);
	xmlFreeNode(node);
}

/* A new empty xenc:<name>, declaring its namespace, as the last child of parent. */
static xmlNodePtr add_xenc_child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr node = xmlNewDocNode(parent->doc, NULL, (const xmlChar *)name, NULL);

	xmlSetNs(node, xmlNewNs(node, (const xmlChar *)RL_NS_XENC, (const xmlChar *)"xenc"));
	return xmlAddChild(parent, node);
}

/* The EncryptedData's ds:KeyInfo, emptied. */
static xmlNodePtr emptied_key_info(struct msg *m)
{
	xmlNodePtr key_info = rl_xml_child(encrypted_data_of(m), RL_NS_DS, "KeyInfo");

	assert_non_null(key_info);
	while (key_info->children)
		remove_node(key_info->children);
	return key_info;
}

/* Gives the message without encryption (m, from packed_plain) the EncryptedKey of the encrypted one and
 * the certificate token it names, its ReferenceList emptied (keep_list) or removed: a key that decrypts
 * nothing. The signature does not cover the Security header, so it stays valid. */
static void add_key_decrypting_nothing(struct msg *m, int keep_list)
{
	struct msg encrypted;
	struct rl_buf unused = RL_BUF_INIT;
	xmlNodePtr ek, ref, bst, first, copy;
	int count;

	msg_open(&encrypted);
	ek = encrypted_key_of(&encrypted);
	ref = rl_xml_child(rl_xml_child(rl_xml_child(ek, RL_NS_DS, "KeyInfo"), RL_NS_WSSE, "SecurityTokenReference"),
			   RL_NS_WSSE, "Reference");
	bst = rl_wss_find_id(encrypted.doc, attr(ref, NULL, "URI") + 1, &count);
	assert_int_equal(count, 1);
	first = security_of(m)->children;
	assert_non_null(first);
	xmlAddPrevSibling(first, xmlDocCopyNode(bst, m->doc, 1));
	copy = xmlAddPrevSibling(first, xmlDocCopyNode(ek, m->doc, 1));
	if (keep_list) {
		while (rl_xml_child(copy, RL_NS_XENC, "ReferenceList")->children)
			remove_node(rl_xml_child(copy, RL_NS_XENC, "ReferenceList")->children);
	} else {
		remove_node(rl_xml_child(copy, RL_NS_XENC, "ReferenceList"));
	}
	msg_close(&encrypted, &unused);
	rl_buf_free(&unused);
}

/* ---------------------------------------------------------------- unpacking */

static int unpack(const struct rl_buf *m, int allow_unencrypted, struct rl_as4_received *r, struct rl_err *err)
{
	const struct rl_identity *ids[1] = { &receiver };
	struct rl_as4_unpack_opts o;
	struct rl_as4_unpacker *u;
	int rc = 0;

	memset(&o, 0, sizeof(o));
	o.identities = ids;
	o.identity_count = 1;
	o.trust = trust;
	o.allow_unencrypted = allow_unencrypted;
	u = rl_as4_unpacker_new(&o, NULL, err);
	assert_non_null(u);
	/* in chunks, as it comes from the network */
	for (size_t off = 0; rc == 0 && off < m->len; off += 3000)
		rc = rl_as4_unpacker_feed(u, m->data + off, m->len - off < 3000 ? m->len - off : 3000, err);
	rc = rl_as4_unpacker_finish(u, r, err);
	rl_as4_unpacker_free(u);
	return rc;
}

static void expect_unpacked(const struct rl_buf *m, int allow_unencrypted, int payloads)
{
	struct rl_as4_received r;
	struct rl_err err;

	if (unpack(m, allow_unencrypted, &r, &err) != 0)
		fail_msg("refused: %s %s", rl_err_code_str(err.code), err.msg);
	assert_int_equal(r.payload_count, payloads);
	for (int i = 0; i < payloads; i++) {
		struct rl_buf got = RL_BUF_INIT;
		char chunk[4096];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), r.payloads[i].fp)) > 0)
			rl_buf_append(&got, chunk, n);
		assert_int_equal(got.len, payload.len);
		assert_memory_equal(got.data, payload.data, payload.len);
		rl_buf_free(&got);
	}
	rl_as4_received_free(&r);
}

/* Refused with code, and a one-line message holding both words (word2 may be NULL). */
static void expect_refused(const struct rl_buf *m, int allow_unencrypted, int code, const char *word1,
			   const char *word2)
{
	struct rl_as4_received r;
	struct rl_err err;

	assert_int_equal(unpack(m, allow_unencrypted, &r, &err), -1);
	if (err.code != code || strstr(err.msg, word1) == NULL || (word2 && strstr(err.msg, word2) == NULL) ||
	    strchr(err.msg, '\n'))
		fail_msg("expected %s naming '%s'%s%s, got %s: %s", rl_err_code_str(code), word1, word2 ? " and " : "",
			 word2 ? word2 : "", rl_err_code_str(err.code), err.msg);
	/* the message id is still known, for the error signal */
	assert_non_null(r.um.message_id);
	assert_int_equal(r.payload_count, 0);
	rl_as4_received_free(&r);
}

/* ---------------------------------------------------------------- tests */

static void test_packed_messages_unpack(void **state)
{
	struct rl_buf two = RL_BUF_INIT;
	struct msg m;

	(void)state;
	expect_unpacked(&packed, 0, 1);
	expect_unpacked(&packed_plain, 1, 1);
	/* edited and signed again without a fault: the editing itself breaks nothing */
	msg_open(&m);
	add_second_encrypted_payload(&m);
	msg_close(&m, &two);
	expect_unpacked(&two, 0, 2);
	rl_buf_free(&two);
}

static void test_dangling_reference(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	struct msg m;

	(void)state;
	msg_open(&m);
	xmlSetProp(rl_xml_child(reference_list_of(&m), RL_NS_XENC, "DataReference"), (const xmlChar *)"URI",
		   (const xmlChar *)"#ED-nowhere");
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, "#ED-nowhere", "no element");
	rl_buf_free(&out);

	/* not a same-document reference */
	msg_open(&m);
	xmlSetProp(rl_xml_child(reference_list_of(&m), RL_NS_XENC, "DataReference"), (const xmlChar *)"URI",
		   (const xmlChar *)"cid:elsewhere");
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, "cid:elsewhere", "not '#id'");
	rl_buf_free(&out);
}

static void test_reference_to_another_element(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	char uri[200];
	struct msg m;

	(void)state;
	msg_open(&m);
	snprintf(uri, sizeof(uri), "#%s",
		 attr(rl_xml_child(xmlDocGetRootElement(m.doc), RL_NS_SOAP12, "Body"), RL_NS_WSU, "Id"));
	xmlSetProp(rl_xml_child(reference_list_of(&m), RL_NS_XENC, "DataReference"), (const xmlChar *)"URI",
		   (const xmlChar *)uri);
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, uri, "a <Body> and not an EncryptedData");
	rl_buf_free(&out);
}

static void test_duplicated_ids(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	char id[200];
	struct msg m;

	(void)state;
	/* a second EncryptedData with the same Id */
	msg_open(&m);
	snprintf(id, sizeof(id), "#%s", attr(encrypted_data_of(&m), NULL, "Id"));
	xmlAddNextSibling(encrypted_data_of(&m), xmlCopyNode(encrypted_data_of(&m), 1));
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, id, "2 elements carry");
	rl_buf_free(&out);

	/* the ReferenceList naming the one EncryptedData twice */
	msg_open(&m);
	xmlAddChild(reference_list_of(&m), xmlCopyNode(rl_xml_child(reference_list_of(&m), RL_NS_XENC,
								    "DataReference"), 1));
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, id, "twice");
	rl_buf_free(&out);
}

static void test_id_wrapping(void **state)
{
	static const char *const attrs[] = { "Id", "wsu:Id" };
	struct rl_buf out = RL_BUF_INIT;
	char id[200];
	struct msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		xmlNodePtr decoy;
		xmlNsPtr ns;

		/* a header block nobody must understand, claiming the EncryptedData's id */
		msg_open(&m);
		snprintf(id, sizeof(id), "%s", attr(encrypted_data_of(&m), NULL, "Id"));
		decoy = xmlNewChild(header_of(&m), NULL, (const xmlChar *)"Decoy", NULL);
		ns = xmlNewNs(decoy, (const xmlChar *)"urn:example:decoy", (const xmlChar *)"x");
		xmlSetNs(decoy, ns);
		if (i == 0) {
			xmlSetProp(decoy, (const xmlChar *)"Id", (const xmlChar *)id);
		} else {
			ns = xmlNewNs(decoy, (const xmlChar *)RL_NS_WSU, (const xmlChar *)"wsu");
			xmlSetNsProp(decoy, ns, (const xmlChar *)"Id", (const xmlChar *)id);
		}
		msg_close(&m, &out);
		expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, id, "2 elements carry");
		rl_buf_free(&out);
	}
}

static void test_encrypted_data_not_named(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	struct msg m;

	(void)state;
	/* two encrypted payloads, the ReferenceList naming only the first */
	msg_open(&m);
	add_second_encrypted_payload(&m);
	{
		xmlNodePtr second = rl_xml_next(rl_xml_child(reference_list_of(&m), RL_NS_XENC, "DataReference"),
						RL_NS_XENC, "DataReference");

		assert_string_equal(attr(second, NULL, "URI"), "#ED-second");
		xmlUnlinkNode(second);
		xmlFreeNode(second);
	}
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, "ED-second (cid:second@test)", "is not named");
	rl_buf_free(&out);

	/* the second EncryptedData without any Id, so that nothing can name it */
	msg_open(&m);
	add_second_encrypted_payload(&m);
	{
		xmlNodePtr second = rl_xml_next(rl_xml_child(reference_list_of(&m), RL_NS_XENC, "DataReference"),
						RL_NS_XENC, "DataReference");

		xmlUnlinkNode(second);
		xmlFreeNode(second);
		xmlUnsetProp(rl_xml_next(encrypted_data_of(&m), RL_NS_XENC, "EncryptedData"), (const xmlChar *)"Id");
	}
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, "without an Id (cid:second@test)", "is not named");
	rl_buf_free(&out);
}

static void test_missing_or_empty_reference_list(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	struct msg m;
	xmlNodePtr list;

	(void)state;
	msg_open(&m);
	list = reference_list_of(&m);
	xmlUnlinkNode(list);
	xmlFreeNode(list);
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, "no ReferenceList", NULL);
	rl_buf_free(&out);

	msg_open(&m);
	list = reference_list_of(&m);
	while (list->children) {
		xmlNodePtr c = list->children;

		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, "ReferenceList is empty", NULL);
	rl_buf_free(&out);

	/* something else than DataReference in it: an element XML Encryption does not define there */
	msg_open(&m);
	list = reference_list_of(&m);
	xmlNodeSetName(rl_xml_child(list, RL_NS_XENC, "DataReference"), (const xmlChar *)"Junk");
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, "<Junk>", "only xenc:DataReference");
	rl_buf_free(&out);

	/* EncryptedData without any EncryptedKey */
	msg_open(&m);
	list = encrypted_key_of(&m);
	xmlUnlinkNode(list);
	xmlFreeNode(list);
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, "no EncryptedKey", NULL);
	rl_buf_free(&out);
}

static void test_encrypted_data_naming_another_key(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	char uri[200];
	struct msg m;
	xmlNodePtr ref;

	(void)state;
	msg_open(&m);
	/* the EncryptedData's key reference pointed at the receiver's certificate token */
	snprintf(uri, sizeof(uri), "#%s",
		 attr(rl_xml_child(security_of(&m), RL_NS_WSSE, "BinarySecurityToken"), RL_NS_WSU, "Id"));
	ref = rl_xml_child(rl_xml_child(rl_xml_child(encrypted_data_of(&m), RL_NS_DS, "KeyInfo"), RL_NS_WSSE,
					"SecurityTokenReference"), RL_NS_WSSE, "Reference");
	xmlSetProp(ref, (const xmlChar *)"URI", (const xmlChar *)uri);
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, uri, "not the message's EncryptedKey");
	rl_buf_free(&out);

	/* another header block claiming the EncryptedKey's id */
	msg_open(&m);
	snprintf(uri, sizeof(uri), "#%s", attr(encrypted_key_of(&m), NULL, "Id"));
	ref = xmlNewChild(header_of(&m), NULL, (const xmlChar *)"Decoy", NULL);
	xmlSetNs(ref, xmlNewNs(ref, (const xmlChar *)"urn:example:decoy", (const xmlChar *)"x"));
	xmlSetProp(ref, (const xmlChar *)"Id", (const xmlChar *)uri + 1);
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, uri, "an id that 2 elements carry");
	rl_buf_free(&out);
}

static void test_plain_payload_beside_encrypted(void **state)
{
	static const char plain[] = "a plain payload beside an encrypted one\n";
	struct rl_buf out = RL_BUF_INIT;
	unsigned char digest[32];
	struct msg m;
	xmlNodePtr pi;

	(void)state;
	msg_open(&m);
	pi = add_part_info(&m, "plain@test");
	for (xmlNodePtr p = rl_xml_child(rl_xml_child(pi, RL_NS_EB, "PartProperties"), RL_NS_EB, "Property"); p;) {
		xmlNodePtr next = rl_xml_next(p, RL_NS_EB, "Property");

		if (strcmp(attr(p, NULL, "name"), "CompressionType") == 0) {
			xmlUnlinkNode(p);
			xmlFreeNode(p);
		} else {
			xmlNodeSetContent(p, (const xmlChar *)"application/octet-stream");
		}
		p = next;
	}
	add_part(&m, "plain@test", "application/octet-stream", plain, strlen(plain));
	rl_sha256(plain, strlen(plain), digest);
	resign(&m, "plain@test", digest);
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "plain@test is not encrypted", "other payloads");
	/* allowing unencrypted messages does not allow a mix */
	expect_refused(&out, 1, RL_EBMS_POLICY_NONCOMPLIANCE, "plain@test is not encrypted", "other payloads");
	rl_buf_free(&out);
}

static void test_reference_uris_not_fragments(void **state)
{
	static const char *const uris[] = { "", "#", "http://example.com/message#ED-1", "cid:payload@example.com" };
	struct rl_buf out = RL_BUF_INIT;
	char want[200];
	struct msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		msg_open(&m);
		xmlSetProp(rl_xml_child(reference_list_of(&m), RL_NS_XENC, "DataReference"), (const xmlChar *)"URI",
			   (const xmlChar *)uris[i]);
		msg_close(&m, &out);
		snprintf(want, sizeof(want), "a DataReference with URI '%s', not '#id'", uris[i]);
		expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, want, NULL);
		rl_buf_free(&out);
	}
	/* no URI at all */
	msg_open(&m);
	xmlUnsetProp(rl_xml_child(reference_list_of(&m), RL_NS_XENC, "DataReference"), (const xmlChar *)"URI");
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_FAILED_DECRYPTION, "a DataReference with no URI, not '#id'", NULL);
	rl_buf_free(&out);
}

static void test_key_reference(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	struct msg m;
	xmlNodePtr list, key_ref;

	(void)state;
	/* in place of the DataReference */
	msg_open(&m);
	xmlNodeSetName(rl_xml_child(reference_list_of(&m), RL_NS_XENC, "DataReference"),
		       (const xmlChar *)"KeyReference");
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "holds a <KeyReference>",
		       "Peppol AS4 lists only xenc:DataReference");
	rl_buf_free(&out);

	/* beside it, naming the EncryptedKey itself: the list is otherwise the packed one */
	msg_open(&m);
	list = reference_list_of(&m);
	key_ref = xmlAddChild(list, xmlCopyNode(rl_xml_child(list, RL_NS_XENC, "DataReference"), 1));
	xmlNodeSetName(key_ref, (const xmlChar *)"KeyReference");
	xmlSetProp(key_ref, (const xmlChar *)"URI", (const xmlChar *)"#EK-itself");
	xmlSetProp(encrypted_key_of(&m), (const xmlChar *)"Id", (const xmlChar *)"EK-itself");
	xmlSetProp(rl_xml_child(rl_xml_child(rl_xml_child(encrypted_data_of(&m), RL_NS_DS, "KeyInfo"), RL_NS_WSSE,
					     "SecurityTokenReference"), RL_NS_WSSE, "Reference"),
		   (const xmlChar *)"URI", (const xmlChar *)"#EK-itself");
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "holds a <KeyReference>", NULL);
	rl_buf_free(&out);
}

static void test_empty_list_decrypting_nothing(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	struct msg m;

	(void)state;
	/* an unencrypted message (allowed here) with an EncryptedKey whose ReferenceList lists nothing */
	msg_open_from(&m, &packed_plain);
	add_key_decrypting_nothing(&m, 1);
	msg_close(&m, &out);
	expect_refused(&out, 1, RL_EBMS_FAILED_DECRYPTION, "ReferenceList is empty", "the key decrypts nothing");
	rl_buf_free(&out);

	/* the same EncryptedKey without any ReferenceList */
	msg_open_from(&m, &packed_plain);
	add_key_decrypting_nothing(&m, 0);
	msg_close(&m, &out);
	expect_refused(&out, 1, RL_EBMS_FAILED_DECRYPTION, "the EncryptedKey has no ReferenceList", NULL);
	rl_buf_free(&out);
}

/* ---------------------------------------------------------------- layouts Peppol AS4 does not use */

static void test_standalone_reference_list(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	char uri[200], want[300];
	struct msg m;
	xmlNodePtr list, second;

	(void)state;
	/* a copy of the EncryptedKey's list directly in the header too: one DataReference in two lists */
	msg_open(&m);
	snprintf(uri, sizeof(uri), "#%s", attr(encrypted_data_of(&m), NULL, "Id"));
	xmlAddPrevSibling(encrypted_data_of(&m), xmlCopyNode(reference_list_of(&m), 1));
	msg_close(&m, &out);
	snprintf(want, sizeof(want), "standalone xenc:ReferenceList, listing %s, which the EncryptedKey's "
		 "ReferenceList lists too", uri);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, want, NULL);
	rl_buf_free(&out);

	/* the list moved out of the EncryptedKey into the header (the layout of a standalone list) */
	msg_open(&m);
	list = reference_list_of(&m);
	xmlAddPrevSibling(encrypted_data_of(&m), xmlCopyNode(list, 1));
	remove_node(list);
	msg_close(&m, &out);
	snprintf(want, sizeof(want), "standalone xenc:ReferenceList, listing %s; Peppol AS4 accepts only the "
		 "EncryptedKey's ReferenceList", uri);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, want, NULL);
	rl_buf_free(&out);

	/* two payloads, the second listed only by a standalone list (and so not to be opened with the
	 * EncryptedKey's key) */
	msg_open(&m);
	add_second_encrypted_payload(&m);
	second = rl_xml_next(rl_xml_child(reference_list_of(&m), RL_NS_XENC, "DataReference"), RL_NS_XENC,
			     "DataReference");
	list = add_xenc_child(security_of(&m), "ReferenceList");
	xmlAddChild(list, xmlCopyNode(second, 1));
	remove_node(second);
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "standalone xenc:ReferenceList, listing #ED-second;",
		       NULL);
	rl_buf_free(&out);

	/* an empty standalone list in a message without any encryption (allowed here) */
	msg_open_from(&m, &packed_plain);
	add_xenc_child(security_of(&m), "ReferenceList");
	msg_close(&m, &out);
	expect_refused(&out, 1, RL_EBMS_POLICY_NONCOMPLIANCE, "standalone xenc:ReferenceList, listing no DataReference",
		       NULL);
	rl_buf_free(&out);
}

static void test_second_encrypted_key(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	char uri[200], want[300];
	struct msg m;
	xmlNodePtr copy, key_info;

	(void)state;
	/* a second EncryptedKey, its ReferenceList naming the same EncryptedData */
	msg_open(&m);
	snprintf(uri, sizeof(uri), "#%s", attr(encrypted_data_of(&m), NULL, "Id"));
	copy = xmlAddNextSibling(encrypted_key_of(&m), xmlCopyNode(encrypted_key_of(&m), 1));
	xmlSetProp(copy, (const xmlChar *)"Id", (const xmlChar *)"EK-second");
	msg_close(&m, &out);
	snprintf(want, sizeof(want), "EK-second, both listing %s); Peppol AS4 encrypts every payload with one key",
		 uri);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "holds 2 EncryptedKey (EK-", want);
	rl_buf_free(&out);

	/* the second one without a ReferenceList */
	msg_open(&m);
	copy = xmlAddNextSibling(encrypted_key_of(&m), xmlCopyNode(encrypted_key_of(&m), 1));
	xmlSetProp(copy, (const xmlChar *)"Id", (const xmlChar *)"EK-second");
	remove_node(rl_xml_child(copy, RL_NS_XENC, "ReferenceList"));
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "holds 2 EncryptedKey (EK-",
		       "EK-second); Peppol AS4 encrypts every payload with one key");
	rl_buf_free(&out);

	/* the EncryptedData's key given as an EncryptedKey inside its KeyInfo */
	msg_open(&m);
	key_info = emptied_key_info(&m);
	copy = xmlAddChild(key_info, xmlCopyNode(encrypted_key_of(&m), 1));
	xmlSetProp(copy, (const xmlChar *)"Id", (const xmlChar *)"EK-embedded");
	remove_node(rl_xml_child(copy, RL_NS_XENC, "ReferenceList"));
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "an xenc:EncryptedKey inside <KeyInfo>", NULL);
	rl_buf_free(&out);
}

static void test_reference_list_elsewhere(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	char uri[200], want[300];
	struct msg m;
	xmlNodePtr copy, wrapper;

	(void)state;
	/* a second ReferenceList in the EncryptedKey */
	msg_open(&m);
	snprintf(uri, sizeof(uri), "#%s", attr(encrypted_data_of(&m), NULL, "Id"));
	xmlAddNextSibling(reference_list_of(&m), xmlCopyNode(reference_list_of(&m), 1));
	msg_close(&m, &out);
	snprintf(want, sizeof(want), "second xenc:ReferenceList, listing %s, which the first one lists too", uri);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, want, NULL);
	rl_buf_free(&out);

	/* a ReferenceList inside the EncryptedData's KeyInfo, beside its key reference */
	msg_open(&m);
	xmlAddChild(rl_xml_child(encrypted_data_of(&m), RL_NS_DS, "KeyInfo"), xmlCopyNode(reference_list_of(&m), 1));
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "an xenc:ReferenceList inside <KeyInfo>",
		       "only the EncryptedKey's ReferenceList");
	rl_buf_free(&out);

	/* an EncryptedData wrapped in another element of the header */
	msg_open(&m);
	wrapper = xmlNewChild(security_of(&m), NULL, (const xmlChar *)"Wrapper", NULL);
	xmlSetNs(wrapper, xmlNewNs(wrapper, (const xmlChar *)"urn:example:wrapper", (const xmlChar *)"x"));
	copy = xmlAddChild(wrapper, xmlCopyNode(encrypted_data_of(&m), 1));
	xmlSetProp(copy, (const xmlChar *)"Id", (const xmlChar *)"ED-wrapped");
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "an xenc:EncryptedData inside <Wrapper>", NULL);
	rl_buf_free(&out);
}

static void test_key_info_forms(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	struct msg m;
	xmlNodePtr key_info, str, node;

	(void)state;
	/* a ds:KeyName in place of the reference to the EncryptedKey */
	msg_open(&m);
	key_info = emptied_key_info(&m);
	xmlNewTextChild(key_info, key_info->ns, (const xmlChar *)"KeyName", (const xmlChar *)"some other key");
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "names its key by <KeyName>",
		       "only a wsse:SecurityTokenReference to the EncryptedKey");
	rl_buf_free(&out);

	/* an empty ds:KeyInfo */
	msg_open(&m);
	emptied_key_info(&m);
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "names its key by an empty ds:KeyInfo", NULL);
	rl_buf_free(&out);

	/* a KeyIdentifier in place of the wsse:Reference */
	msg_open(&m);
	str = rl_xml_child(rl_xml_child(encrypted_data_of(&m), RL_NS_DS, "KeyInfo"), RL_NS_WSSE,
			   "SecurityTokenReference");
	node = rl_xml_child(str, RL_NS_WSSE, "Reference");
	xmlNodeSetName(node, (const xmlChar *)"KeyIdentifier");
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "refers to its key by <KeyIdentifier>",
		       "only a wsse:Reference to the EncryptedKey");
	rl_buf_free(&out);

	/* two KeyInfo */
	msg_open(&m);
	key_info = rl_xml_child(encrypted_data_of(&m), RL_NS_DS, "KeyInfo");
	xmlAddNextSibling(key_info, xmlCopyNode(key_info, 1));
	msg_close(&m, &out);
	expect_refused(&out, 0, RL_EBMS_POLICY_NONCOMPLIANCE, "has more than one ds:KeyInfo", NULL);
	rl_buf_free(&out);
}

/* ---------------------------------------------------------------- other implementations' messages */

static void test_corpus_messages(void **state)
{
	static const char *const files[] = {
		"phase4/outbound/dump-raw.as4out",
		"holodeck/via-phase4/from-holodeck-1.xml",
		"holodeck/via-phase4/from-holodeck-1.original-no-license-header.xml",
		"oxalis/eDeliveryAS4-example.xml",
		"domibus/msh-test-dataset/MSHAS4Request.xml",
		"domibus/msh-test-incoming/bst_x509v3_incoming_message.xml",
		"domibus/msh-test-incoming/bst_X509PKIPathv1_incoming_message.xml",
		"domibus/msh-test-incoming/is_incoming_message.xml",
		"domibus/msh-test-incoming/ski_incoming_message.xml",
	};

	(void)state;
	if (!unit_corpus_present())
		skip();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		xmlDocPtr doc = corpus_envelope(files[i]);
		xmlNodePtr header = rl_xml_child(xmlDocGetRootElement(doc), NULL, "Header");
		xmlNodePtr security = rl_xml_child(header, RL_NS_WSSE, "Security");
		xmlNodePtr list = rl_xml_child(rl_xml_child(security, RL_NS_XENC, "EncryptedKey"), RL_NS_XENC,
					       "ReferenceList");
		xmlNodePtr dr = rl_xml_child(list, RL_NS_XENC, "DataReference"), standalone;
		struct rl_err err;

		assert_non_null(security);
		assert_int_equal(rl_xml_count(security, RL_NS_XENC, "EncryptedData"), 1);
		if (rl_wss_check_encryption_refs(security, &err) != 0)
			fail_msg("%s: %s", files[i], err.msg);
		/* the same message with a copy of its list standalone in the header is refused */
		standalone = xmlAddChild(security, xmlCopyNode(list, 1));
		assert_int_equal(rl_wss_check_encryption_refs(security, &err), -1);
		assert_int_equal(err.code, RL_EBMS_POLICY_NONCOMPLIANCE);
		assert_non_null(strstr(err.msg, "standalone xenc:ReferenceList"));
		xmlUnlinkNode(standalone);
		xmlFreeNode(standalone);
		/* the same message with its DataReference gone is refused */
		assert_non_null(dr);
		xmlUnlinkNode(dr);
		xmlFreeNode(dr);
		assert_int_equal(rl_wss_check_encryption_refs(security, &err), -1);
		assert_int_equal(err.code, RL_EBMS_FAILED_DECRYPTION);
		xmlFreeDoc(doc);
	}
}

/* ---------------------------------------------------------------- set-up */

static int setup(void **state)
{
	struct rl_as4_pack_opts o;
	struct rl_as4_sent sent;
	struct rl_sink sink = { rl_sink_buf_write, &packed };
	const char *srcdir = getenv("top_srcdir");
	char path[1024];
	struct rl_err err;

	(void)state;
	unit_pki_init();
	if (rl_init(&err) != 0 ||
	    rl_identity_load_pem(&sender, pki("POP000001.key.pem"), pki("POP000001.cert.pem"), NULL, &err) != 0 ||
	    rl_identity_load_pem(&receiver, pki("POP000002.key.pem"), pki("POP000002.cert.pem"), NULL, &err) != 0 ||
	    (trust = rl_trust_load(pki("ca-chain.pem"), &err)) == NULL) {
		fprintf(stderr, "set-up: %s\n", err.msg);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/examples/invoice-sbd.xml", srcdir ? srcdir : ".");
	if (rl_buf_read_file(&payload, path, 1u << 20) != 0) {
		fprintf(stderr, "set-up: cannot read %s\n", path);
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.sender = &sender;
	o.receiver_cert = receiver.cert;
	o.payload_path = path;
	if (rl_as4_pack(&o, &sink, 1, &sent, &err) != 0) {
		fprintf(stderr, "set-up: packing: %s\n", err.msg);
		return -1;
	}
	rl_as4_sent_free(&sent);
	sink.ctx = &packed_plain;
	o.no_encrypt = 1;
	if (rl_as4_pack(&o, &sink, 1, &sent, &err) != 0) {
		fprintf(stderr, "set-up: packing without encryption: %s\n", err.msg);
		return -1;
	}
	rl_as4_sent_free(&sent);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rl_identity_free(&sender);
	rl_identity_free(&receiver);
	rl_trust_free(trust);
	rl_buf_free(&packed);
	rl_buf_free(&packed_plain);
	rl_buf_free(&payload);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packed_messages_unpack),
		cmocka_unit_test(test_dangling_reference),
		cmocka_unit_test(test_reference_to_another_element),
		cmocka_unit_test(test_duplicated_ids),
		cmocka_unit_test(test_id_wrapping),
		cmocka_unit_test(test_encrypted_data_not_named),
		cmocka_unit_test(test_missing_or_empty_reference_list),
		cmocka_unit_test(test_encrypted_data_naming_another_key),
		cmocka_unit_test(test_plain_payload_beside_encrypted),
		cmocka_unit_test(test_reference_uris_not_fragments),
		cmocka_unit_test(test_key_reference),
		cmocka_unit_test(test_empty_list_decrypting_nothing),
		cmocka_unit_test(test_standalone_reference_list),
		cmocka_unit_test(test_second_encrypted_key),
		cmocka_unit_test(test_reference_list_elsewhere),
		cmocka_unit_test(test_key_info_forms),
		cmocka_unit_test(test_corpus_messages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * as4_pack.c - packing a payload into a Peppol AS4 message: header values (from the SBDH or options),
 * one streaming pass gzip -> SHA-256 -> AES-128-GCM into a spool file, RSA-OAEP key transport, the
 * signed SOAP header, then the MIME message with the spool streamed behind it. Also reading back what
 * a sent message file referenced (for receipt checks). See include/relais/as4.h.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/c14n.h>
#include <openssl/evp.h>
#include "relais/as4.h"
#include "relais/crypto.h"
#include "relais/mime.h"
#include "relais/sbdh.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"

#define XENC11_RSA_OAEP "http://www.w3.org/2009/xmlenc11#rsa-oaep"
#define XENC11_MGF1_SHA256 "http://www.w3.org/2009/xmlenc11#mgf1sha256"
#define XENC11_AES128_GCM "http://www.w3.org/2009/xmlenc11#aes128-gcm"
#define SWA_CONTENT_ONLY "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Content-Only"
#define SWA_CIPHERTEXT_TRANSFORM \
	"http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Ciphertext-Transform"
#define WSSE11_TOKEN_EK "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKey"

void rl_as4_sent_free(struct rl_as4_sent *s)
{
	free(s->message_id);
	free(s->content_type);
	free(s->document_id);
	rl_buf_free(&s->references);
	rl_buf_free(&s->envelope);
	memset(s, 0, sizeof(*s));
}

/* The header values: options first, then the payload's SBDH. Strings point into opts or sbdh. */
static int fill_user_message(const struct rl_as4_pack_opts *o, const struct rl_sbdh *h, int has_sbdh,
			     struct rl_user_message *um, const char *part_cid, struct rl_err *err)
{
	char id[37], stamp[40], cn[256];
	const char *original_sender = o->original_sender, *final_recipient = o->final_recipient;
	const char *service = o->service, *service_type = o->service_type;
	char *action = o->action ? strdup(o->action) : NULL;
	struct rl_eb_part_info *part;

	if (has_sbdh) {
		if (original_sender == NULL)
			original_sender = h->sender;
		if (final_recipient == NULL)
			final_recipient = h->receiver;
		if (service == NULL) {
			service = h->process_id;
			if (service_type == NULL)
				service_type = h->process_id_scheme;
		}
		if (action == NULL && h->document_id &&
		    asprintf(&action, "%s::%s", h->document_id_scheme ? h->document_id_scheme : RL_EB_DOCTYPE_SCHEME,
			     h->document_id) < 0)
			action = NULL;
	}
	if (original_sender == NULL || final_recipient == NULL || service == NULL || action == NULL) {
		free(action);
		return rl_err_set(err, RL_ERR_USAGE, "the payload has no SBDH to take the %s from; give it as an option",
				  original_sender == NULL ? "original sender" : final_recipient == NULL ? "final recipient"
				  : service == NULL ? "service (process id)" : "action (document type)");
	}
	if (o->to_party == NULL && o->receiver_cert == NULL) {
		free(action);
		return rl_err_set(err, RL_ERR_USAGE, "the receiver's party id is unknown: give --to-party or --to-cert");
	}
	memset(um, 0, sizeof(*um));
	um->action = action;
	if (rl_uuid(id, err) < 0)
		return -1;
	if (o->message_id)
		um->message_id = strdup(o->message_id);
	else if (asprintf(&um->message_id, "%s@relais", id) < 0)
		um->message_id = NULL;
	rl_format_datetime(time(NULL), 1, stamp, sizeof(stamp));
	um->timestamp = strdup(stamp);
	um->from_party = strdup(o->from_party ? o->from_party : rl_cert_cn(o->sender->cert, cn, sizeof(cn)));
	um->from_party_type = strdup(RL_EB_PARTY_TYPE_AP);
	um->from_role = strdup(RL_EB_ROLE_INITIATOR);
	um->to_party = strdup(o->to_party ? o->to_party
			      : o->receiver_cert ? rl_cert_cn(o->receiver_cert, cn, sizeof(cn)) : "");
	um->to_party_type = strdup(RL_EB_PARTY_TYPE_AP);
	um->to_role = strdup(RL_EB_ROLE_RESPONDER);
	um->agreement_ref = strdup(RL_EB_AGREEMENT);
	um->service = strdup(service);
	um->service_type = strdup(service_type ? service_type : RL_EB_PROCESS_SCHEME);
	if (o->conversation_id)
		um->conversation_id = strdup(o->conversation_id);
	else if (rl_uuid(id, err) == 0)
		um->conversation_id = strdup(id);
	part = calloc(1, sizeof(*part));
	if (part == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	um->parts = part;
	um->part_count = 1;
	if (asprintf(&part->href, "cid:%s", part_cid) < 0)
		part->href = NULL;
	part->properties = calloc(2, sizeof(*part->properties));
	if (part->properties) {
		part->properties[0].name = strdup("MimeType");
		part->properties[0].value = strdup(o->payload_mime_type ? o->payload_mime_type : "application/xml");
		part->property_count = 1;
		if (!o->no_compress) {
			part->properties[1].name = strdup("CompressionType");
			part->properties[1].value = strdup("application/gzip");
			part->property_count = 2;
		}
	}
	if (rl_user_message_set_property(um, "originalSender", has_sbdh && h->sender_scheme ? h->sender_scheme
					 : RL_EB_PARTICIPANT_SCHEME, original_sender) < 0 ||
	    rl_user_message_set_property(um, "finalRecipient", has_sbdh && h->receiver_scheme ? h->receiver_scheme
					 : RL_EB_PARTICIPANT_SCHEME, final_recipient) < 0 ||
	    um->message_id == NULL || um->timestamp == NULL || um->from_party == NULL || um->to_party == NULL ||
	    um->service == NULL || um->conversation_id == NULL || part->href == NULL || part->properties == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

/* Digest of an uncompressed XML payload: the SwA content transform canonicalises XML (exclusive C14N
 * of the document). This needs the document in memory, so it is bounded. */
static int xml_payload_digest(const char *path, unsigned char digest[RL_SHA256_LEN], struct rl_err *err)
{
	xmlDocPtr doc = rl_xml_parse_file(path, 256u << 20, RL_ERR_USAGE, "the payload", err);
	xmlChar *c14n = NULL;
	int n;

	if (doc == NULL)
		return -1;
	n = xmlC14NDocDumpMemory(doc, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0, &c14n);
	xmlFreeDoc(doc);
	if (n < 0)
		return rl_err_set(err, RL_ERR_USAGE, "the payload cannot be canonicalised");
	rl_sha256(c14n, (size_t)n, digest);
	xmlFree(c14n);
	return 0;
}

/* One pass over the payload: [gzip] -> SHA-256 tee -> [AES-GCM] -> spool. */
static int spool_payload(const struct rl_as4_pack_opts *o, FILE *spool, const unsigned char key[16],
			 unsigned char digest[RL_SHA256_LEN], struct rl_err *err)
{
	struct rl_sink file_sink = { rl_sink_file_write, spool }, gcm_sink, digest_sink, first;
	struct rl_gcm *gcm = NULL;
	struct rl_digest *dig = NULL;
	struct rl_gzip *gz = NULL;
	unsigned int dlen = 0;
	unsigned char d[EVP_MAX_MD_SIZE];
	FILE *in = fopen(o->payload_path, "rb");
	int rc = -1;

	if (in == NULL)
		return rl_err_set(err, RL_ERR_USAGE, "cannot read the payload %s: %s", o->payload_path, strerror(errno));
	if (!o->no_encrypt) {
		if ((gcm = rl_gcm_encrypt_new(key, &file_sink, err)) == NULL)
			goto done;
		gcm_sink = rl_gcm_sink(gcm);
	} else {
		gcm_sink = file_sink;
	}
	if ((dig = rl_digest_new(EVP_sha256(), &gcm_sink, err)) == NULL)
		goto done;
	digest_sink = rl_digest_sink(dig);
	first = digest_sink;
	if (!o->no_compress) {
		if ((gz = rl_gzip_compress_new(&digest_sink, err)) == NULL)
			goto done;
		first = rl_gzip_sink(gz);
	}
	if (rl_stream_copy_file(in, &first, err) < 0)
		goto done;
	if ((gz && rl_gzip_finish(gz, err) < 0) || rl_digest_finish(dig, d, &dlen, err) < 0 ||
	    (gcm && rl_gcm_finish(gcm, err) < 0))
		goto done;
	if (fflush(spool) != 0) {
		rl_err_set(err, RL_ERR_IO, "cannot write the spool file: %s", strerror(errno));
		goto done;
	}
	memcpy(digest, d, RL_SHA256_LEN);
	rc = 0;
done:
	rl_gzip_free(gz);
	rl_digest_free(dig);
	rl_gcm_free(gcm);
	fclose(in);
	return rc;
}

/* The SOAP envelope before signing: Security with the encryption elements, an empty Body. */
static int envelope_text(const struct rl_as4_pack_opts *o, const char *ids, const char *cid,
			 const struct rl_buf *wrapped_key_b64, const struct rl_buf *receiver_b64,
			 const char *encrypted_mime, struct rl_buf *out)
{
	int rc = rl_buf_printf(out,
		"<S12:Envelope xmlns:S12=\"" RL_NS_SOAP12 "\"><S12:Header>"
		"<wsse:Security xmlns:wsse=\"" RL_NS_WSSE "\" xmlns:wsu=\"" RL_NS_WSU "\" S12:mustUnderstand=\"true\">");

	if (rc == 0 && !o->no_encrypt)
		rc = rl_buf_printf(out,
			"<wsse:BinarySecurityToken EncodingType=\"" RL_WSS_BASE64 "\" ValueType=\"" RL_WSS_X509V3
			"\" wsu:Id=\"X509-rcv-%s\">%s</wsse:BinarySecurityToken>"
			"<xenc:EncryptedKey xmlns:xenc=\"" RL_NS_XENC "\" Id=\"EK-%s\">"
			"<xenc:EncryptionMethod Algorithm=\"" XENC11_RSA_OAEP "\">"
			"<ds:DigestMethod xmlns:ds=\"" RL_NS_DS "\" Algorithm=\"" RL_DS_SHA256 "\"/>"
			"<xenc11:MGF xmlns:xenc11=\"" RL_NS_XENC11 "\" Algorithm=\"" XENC11_MGF1_SHA256 "\"/>"
			"</xenc:EncryptionMethod>"
			"<ds:KeyInfo xmlns:ds=\"" RL_NS_DS "\"><wsse:SecurityTokenReference><wsse:Reference URI=\"#X509-rcv-%s\""
			" ValueType=\"" RL_WSS_X509V3 "\"/></wsse:SecurityTokenReference></ds:KeyInfo>"
			"<xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData>"
			"<xenc:ReferenceList><xenc:DataReference URI=\"#ED-%s\"/></xenc:ReferenceList>"
			"</xenc:EncryptedKey>"
			"<xenc:EncryptedData xmlns:xenc=\"" RL_NS_XENC "\" Id=\"ED-%s\" MimeType=\"%s\" Type=\""
			SWA_CONTENT_ONLY "\">"
			"<xenc:EncryptionMethod Algorithm=\"" XENC11_AES128_GCM "\"/>"
			"<ds:KeyInfo xmlns:ds=\"" RL_NS_DS "\"><wsse:SecurityTokenReference xmlns:wsse11=\"" RL_NS_WSSE11
			"\" wsse11:TokenType=\"" WSSE11_TOKEN_EK "\"><wsse:Reference URI=\"#EK-%s\"/>"
			"</wsse:SecurityTokenReference></ds:KeyInfo>"
			"<xenc:CipherData><xenc:CipherReference URI=\"cid:%s\"><xenc:Transforms>"
			"<ds:Transform xmlns:ds=\"" RL_NS_DS "\" Algorithm=\"" SWA_CIPHERTEXT_TRANSFORM "\"/>"
			"</xenc:Transforms></xenc:CipherReference></xenc:CipherData></xenc:EncryptedData>",
			ids, receiver_b64->data, ids, ids, wrapped_key_b64->data, ids, ids, encrypted_mime, ids, cid);
	if (rc == 0)
		rc = rl_buf_printf(out, "</wsse:Security></S12:Header>"
				   "<S12:Body xmlns:wsu=\"" RL_NS_WSU "\" wsu:Id=\"body-%s\"/></S12:Envelope>", ids);
	return rc;
}

static int references_of(xmlNodePtr security, struct rl_buf *out)
{
	xmlNodePtr sig = rl_xml_child(security, RL_NS_DS, "Signature");
	xmlNodePtr si = rl_xml_child(sig, RL_NS_DS, "SignedInfo");

	for (xmlNodePtr r = rl_xml_child(si, RL_NS_DS, "Reference"); r; r = rl_xml_next(r, RL_NS_DS, "Reference"))
		if (rl_xml_dump_standalone(r, out) < 0)
			return -1;
	return 0;
}

int rl_as4_pack(const struct rl_as4_pack_opts *o, const struct rl_sink *out, int with_entity_headers,
		struct rl_as4_sent *sent, struct rl_err *err)
{
	struct rl_sbdh sbdh;
	struct rl_user_message um;
	struct rl_buf text = RL_BUF_INIT, wrapped = RL_BUF_INIT, wrapped_b64 = RL_BUF_INIT, rcv_b64 = RL_BUF_INIT;
	unsigned char key[RL_AES128_KEY_LEN], digest[RL_SHA256_LEN];
	char ids[37], cid[80], messaging_id[64], bst_id[64];
	const char *payload_type = o->payload_mime_type ? o->payload_mime_type : "application/xml";
	const char *part_type;
	struct rl_mime_writer *w = NULL;
	xmlDocPtr doc = NULL;
	xmlNodePtr header, security;
	FILE *spool = NULL;
	int has_sbdh, rc = -1;

	memset(sent, 0, sizeof(*sent));
	memset(&sbdh, 0, sizeof(sbdh));
	memset(&um, 0, sizeof(um));
	if (o->sender == NULL || o->sender->key == NULL || (!o->no_encrypt && o->receiver_cert == NULL))
		return rl_err_set(err, RL_ERR_USAGE, "packing needs the sender's key and the receiver's certificate");
	has_sbdh = rl_sbdh_read_file(o->payload_path, &sbdh, err);
	if (has_sbdh < 0)
		return rl_err_prefix(err, "the payload's SBDH");
	if (rl_uuid(ids, err) < 0)
		goto done;
	snprintf(cid, sizeof(cid), "payload-%s@relais", ids);
	snprintf(messaging_id, sizeof(messaging_id), "messaging-%s", ids);
	snprintf(bst_id, sizeof(bst_id), "X509-%s", ids);
	if (fill_user_message(o, &sbdh, has_sbdh == 1, &um, cid, err) < 0)
		goto done;

	if (rl_random_bytes(key, sizeof(key), err) < 0 || (spool = rl_tmpfile(o->tmp_dir ? o->tmp_dir : NULL, err)) == NULL)
		goto done;
	if (spool_payload(o, spool, key, digest, err) < 0)
		goto done;
	if (o->no_compress && rl_mime_is_xml_type(payload_type) && xml_payload_digest(o->payload_path, digest, err) < 0)
		goto done;
	part_type = o->no_compress ? payload_type : "application/gzip";
	if (!o->no_encrypt) {
		EVP_PKEY *pub = X509_get0_pubkey(o->receiver_cert);

		if (pub == NULL || rl_rsa_oaep_encrypt(pub, EVP_sha256(), EVP_sha256(), NULL, 0, key, sizeof(key),
						       &wrapped, err) < 0)
			goto done;
		if (rl_base64_encode(wrapped.data, wrapped.len, &wrapped_b64) < 0 ||
		    rl_cert_to_der_base64(o->receiver_cert, &rcv_b64) < 0) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto done;
		}
	}
	if (envelope_text(o, ids, cid, &wrapped_b64, &rcv_b64, part_type, &text) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto done;
	}
	doc = rl_xml_parse(text.data, text.len, RL_ERR_INTERNAL, "our SOAP envelope", err);
	if (doc == NULL)
		goto done;
	header = rl_xml_child(xmlDocGetRootElement(doc), RL_NS_SOAP12, "Header");
	security = rl_xml_child(header, RL_NS_WSSE, "Security");
	{
		xmlNodePtr messaging = rl_user_message_build(&um, header, messaging_id, err);
		struct rl_wss_sign_ref refs[3] = {
			{ messaging, NULL, NULL },
			{ rl_xml_child(xmlDocGetRootElement(doc), RL_NS_SOAP12, "Body"), NULL, NULL },
			{ NULL, cid, digest },
		};

		if (messaging == NULL ||
		    rl_wss_sign(security, o->sender->key, o->sender->cert, bst_id, refs, 3, err) < 0)
			goto done;
	}
	if (references_of(security, &sent->references) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto done;
	}
	rl_buf_reset(&text);
	if (rl_xml_dump(doc, xmlDocGetRootElement(doc), &text) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto done;
	}

	w = rl_mime_writer_new(out, NULL, err);
	if (w == NULL || (with_entity_headers && rl_mime_writer_entity_headers(w, err) < 0) ||
	    rl_mime_writer_part_begin(w, "application/soap+xml;charset=UTF-8", NULL, NULL, err) < 0 ||
	    rl_mime_writer_part_data(w, text.data, text.len, err) < 0 ||
	    rl_mime_writer_part_begin(w, o->no_encrypt ? part_type : "application/octet-stream", cid, NULL, err) < 0)
		goto done;
	rewind(spool);
	{
		unsigned char chunk[65536];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), spool)) > 0)
			if (rl_mime_writer_part_data(w, chunk, n, err) < 0)
				goto done;
		if (ferror(spool)) {
			rl_err_set(err, RL_ERR_IO, "cannot read the spool file: %s", strerror(errno));
			goto done;
		}
	}
	if (rl_mime_writer_end(w, err) < 0)
		goto done;
	if (rl_buf_append(&sent->envelope, text.data, text.len) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto done;
	}
	sent->message_id = strdup(um.message_id);
	sent->content_type = strdup(rl_mime_writer_content_type(w));
	if (has_sbdh == 1 && sbdh.instance_id)
		sent->document_id = strdup(sbdh.instance_id);
	if (sent->message_id == NULL || sent->content_type == NULL ||
	    (has_sbdh == 1 && sbdh.instance_id && sent->document_id == NULL)) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto done;
	}
	rc = 0;
done:
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0)
		rl_as4_sent_free(sent);
	rl_mime_writer_free(w);
	if (spool)
		fclose(spool);
	xmlFreeDoc(doc);
	rl_buf_free(&text);
	rl_buf_free(&wrapped);
	rl_buf_free(&wrapped_b64);
	rl_buf_free(&rcv_b64);
	rl_user_message_free(&um);
	rl_sbdh_free(&sbdh);
	return rc;
}

/* --- reading a sent message file back --- */

struct sent_reader {
	struct rl_buf root;
	int in_root;
	int root_seen;
};

static int sent_part_begin(void *ctx, const struct rl_mime_part *part, struct rl_err *err)
{
	struct sent_reader *s = ctx;

	s->in_root = part->is_root;
	if (part->is_root)
		s->root_seen = 1;
	return 0;
}

static int sent_part_data(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct sent_reader *s = ctx;

	if (!s->in_root)
		return 0;
	if (s->root.len + len > (16u << 20))
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "the SOAP part is larger than 16 MiB");
	return rl_buf_append(&s->root, data, len) < 0 ? rl_err_set(err, RL_ERR_NOMEM, "out of memory") : 0;
}

static int sent_part_end(void *ctx, struct rl_err *err)
{
	((struct sent_reader *)ctx)->in_root = 0;
	return 0;
}

/* Message id and references from the SOAP envelope text of a sent message. */
static int sent_from_root(const char *text, size_t len, const char *what, struct rl_as4_sent *sent,
			  struct rl_err *err)
{
	xmlDocPtr doc = rl_xml_parse(text ? text : "", len, RL_EBMS_INVALID_HEADER, "the sent message", err);
	xmlNodePtr env, header, messaging, security;
	int rc = -1;

	if (doc == NULL)
		return -1;
	env = xmlDocGetRootElement(doc);
	header = rl_xml_child(env, RL_NS_SOAP12, "Header");
	messaging = rl_xml_child(header, RL_NS_EB, "Messaging");
	security = rl_xml_child(header, RL_NS_WSSE, "Security");
	sent->message_id = rl_xml_text(rl_xml_child(rl_xml_child(rl_xml_child(messaging, RL_NS_EB, "UserMessage"),
								RL_NS_EB, "MessageInfo"), RL_NS_EB, "MessageId"));
	if (sent->message_id == NULL || *sent->message_id == '\0') {
		rl_err_set(err, RL_EBMS_INVALID_HEADER, "%s has no eb:UserMessage/eb:MessageInfo/eb:MessageId", what);
		goto done;
	}
	if (references_of(security, &sent->references) < 0 || sent->references.len == 0) {
		rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "%s is not signed", what);
		goto done;
	}
	rc = 0;
done:
	xmlFreeDoc(doc);
	return rc;
}

int rl_as4_sent_from_file(const char *path, struct rl_as4_sent *sent, struct rl_err *err)
{
	static const struct rl_mime_callbacks cb = { sent_part_begin, sent_part_data, sent_part_end };
	struct sent_reader s;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	memset(sent, 0, sizeof(*sent));
	if (rl_mime_read_file(path, NULL, &cb, &s, err) == 0)
		rc = sent_from_root(s.root.data, s.root.len, path, sent, err);
	if (rc < 0)
		rl_as4_sent_free(sent);
	rl_buf_free(&s.root);
	return rc;
}

int rl_as4_sent_from_envelope(const char *xml, size_t len, struct rl_as4_sent *sent, struct rl_err *err)
{
	memset(sent, 0, sizeof(*sent));
	if (sent_from_root(xml, len, "the stored envelope", sent, err) < 0) {
		rl_as4_sent_free(sent);
		return -1;
	}
	if (rl_buf_append(&sent->envelope, xml, len) < 0) {
		rl_as4_sent_free(sent);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/*
 * as4_unpack.c - the receiving side of AS4: streams a MIME message through the reader, parses the SOAP
 * part when it ends, cross-checks its encryption references (wss_enc_refs.c), unwraps the AES key, then
 * pipes each attachment through
 * AES-GCM decrypt -> SHA-256 tee -> gunzip -> spool file. At the end the signature (with the attachment
 * digests), its coverage and the signer's chain are checked before anything is handed out.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <libxml/c14n.h>
#include "relais/as4.h"
#include "relais/crypto.h"
#include "relais/mime.h"
#include "relais/wss_enc_refs.h"
#include "relais/wss_encrypt.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"

#define AS4_DEFAULT_MAX_HEADER (8u << 20)
#define AS4_MAX_ATTACHMENTS 64

#define ALG_AES128_GCM "http://www.w3.org/2009/xmlenc11#aes128-gcm"

/* One attachment: its filter chain, or its raw bytes spooled when it came before the SOAP part. */
struct as4_attachment {
	char *cid;
	char *media_type;		/* the part's Content-Type media type */
	FILE *early;			/* raw content that arrived before the root was processed */
	int encrypted;
	int compressed;
	char *digest_mime;		/* the type the signature digest canonicalises by */
	struct rl_gcm *gcm;
	struct rl_digest *digest;
	struct rl_gzip *gzip;
	int gzip_failed;		/* inflating failed: reported after the GCM tag is checked */
	struct rl_err gzip_err;
	FILE *out;			/* the payload spool */
	struct rl_sink head;		/* where the part's content goes */
	unsigned char sha[32];
	unsigned long long size;
	unsigned long long max_size;	/* max_payload, 0 = no limit */
	int finished;
};

struct rl_as4_unpacker {
	struct rl_as4_unpack_opts opts;
	struct rl_mime_reader *mime;
	int failed;
	struct rl_err fail_err;		/* why feeding failed */
	/* the current part */
	int in_root;
	struct as4_attachment *current;
	struct rl_buf root;
	int root_done;
	/* after the root */
	xmlDocPtr doc;
	xmlNodePtr messaging, body, security;
	struct rl_user_message um;
	int um_parsed;
	char *message_id;		/* a copy, kept after finish for error signals */
	int have_key;
	int has_encrypted_data;		/* some payload is encrypted: then every payload must be */
	unsigned char key[RL_AES128_KEY_LEN];
	char key_algorithm[64];
	struct as4_attachment atts[AS4_MAX_ATTACHMENTS];
	int att_count;
};

/* ---------------------------------------------------------------- helpers */

static int attr_is(xmlNodePtr node, const char *name, const char *value)
{
	char *v = rl_xml_attr(node, NULL, name);
	int same = v != NULL && strcmp(v, value) == 0;

	free(v);
	return same;
}

static struct as4_attachment *find_attachment(struct rl_as4_unpacker *u, const char *cid)
{
	for (int i = 0; i < u->att_count; i++)
		if (u->atts[i].cid && strcmp(u->atts[i].cid, cid) == 0)
			return &u->atts[i];
	return NULL;
}

static void attachment_release_chain(struct as4_attachment *a)
{
	if (a->gcm)
		rl_gcm_free(a->gcm);
	if (a->digest)
		rl_digest_free(a->digest);
	if (a->gzip)
		rl_gzip_free(a->gzip);
	a->gcm = NULL;
	a->digest = NULL;
	a->gzip = NULL;
}

static void attachment_free(struct as4_attachment *a)
{
	attachment_release_chain(a);
	free(a->cid);
	free(a->media_type);
	free(a->digest_mime);
	if (a->early)
		fclose(a->early);
	if (a->out)
		fclose(a->out);
	memset(a, 0, sizeof(*a));
}

/* ---------------------------------------------------------------- the SOAP part */

/* Checks the EncryptedKey's algorithms and unwraps the AES key with the identity it names. */
static int unwrap_key(struct rl_as4_unpacker *u, xmlNodePtr ek, struct rl_err *err)
{
	if (rl_wss_unwrap_key(ek, u->opts.identities, u->opts.identity_count, u->opts.allow_non_peppol_algorithms,
			      u->key, u->key_algorithm, sizeof(u->key_algorithm), err) < 0)
		return -1;
	u->have_key = 1;
	return 0;
}

/* Records each xenc:EncryptedData (cid -> type before encryption). */
static int read_encrypted_data(struct rl_as4_unpacker *u, struct rl_err *err)
{
	for (xmlNodePtr ed = rl_xml_child(u->security, RL_NS_XENC, "EncryptedData"); ed;
	     ed = rl_xml_next(ed, RL_NS_XENC, "EncryptedData")) {
		xmlNodePtr cr = rl_xml_child(rl_xml_child(ed, RL_NS_XENC, "CipherData"), RL_NS_XENC,
					     "CipherReference");
		char *uri = rl_xml_attr(cr, NULL, "URI");
		struct as4_attachment *a;

		if (!attr_is(rl_xml_child(ed, RL_NS_XENC, "EncryptionMethod"), "Algorithm", ALG_AES128_GCM)) {
			free(uri);
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE,
					  "attachments must be encrypted with aes128-gcm");
		}
		if (uri == NULL || strncmp(uri, "cid:", 4) != 0) {
			free(uri);
			return rl_err_set(err, RL_EBMS_INVALID_HEADER,
					  "an EncryptedData has no cid: CipherReference");
		}
		a = find_attachment(u, uri + 4);
		if (a == NULL) {
			if (u->att_count >= AS4_MAX_ATTACHMENTS) {
				free(uri);
				return rl_err_set(err, RL_EBMS_MIME_INCONSISTENCY, "too many attachments");
			}
			a = &u->atts[u->att_count++];
			a->cid = strdup(uri + 4);
		} else if (a->encrypted) {
			free(uri);
			return rl_err_set(err, RL_EBMS_INVALID_HEADER, "two EncryptedData for one attachment");
		}
		free(uri);
		a->encrypted = 1;
		free(a->digest_mime);
		a->digest_mime = rl_xml_attr(ed, NULL, "MimeType");
	}
	return 0;
}

/* Parses the SOAP envelope and prepares decryption. */
/*
 * SOAP 1.2: a header block addressed to us (no role, next or ultimateReceiver) and marked mustUnderstand
 * must be processed or the message refused. eb:Messaging and wsse:Security are what we process.
 */
static int check_must_understand(xmlNodePtr header, struct rl_err *err)
{
	for (xmlNodePtr h = header->children; h; h = h->next) {
		char *must, *role;
		int for_us, refuse;

		if (h->type != XML_ELEMENT_NODE || rl_xml_is(h, RL_NS_EB, "Messaging") ||
		    rl_xml_is(h, RL_NS_WSSE, "Security"))
			continue;
		must = rl_xml_attr(h, RL_NS_SOAP12, "mustUnderstand");
		role = rl_xml_attr(h, RL_NS_SOAP12, "role");
		for_us = role == NULL || strcmp(role, "http://www.w3.org/2003/05/soap-envelope/role/next") == 0 ||
			 strcmp(role, "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver") == 0;
		refuse = for_us && must && (strcmp(must, "true") == 0 || strcmp(must, "1") == 0);
		free(must);
		free(role);
		if (refuse)
			return rl_err_set(err, RL_EBMS_INVALID_HEADER, "the SOAP header block {%s}%s is marked "
					  "mustUnderstand, and this access point does not process it",
					  h->ns && h->ns->href ? (const char *)h->ns->href : "", (const char *)h->name);
	}
	return 0;
}

static int process_root(struct rl_as4_unpacker *u, struct rl_err *err)
{
	xmlNodePtr env, header, ek;

	u->doc = rl_xml_parse(u->root.data, u->root.len, RL_EBMS_INVALID_HEADER, "SOAP envelope", err);
	if (u->doc == NULL)
		return -1;
	env = xmlDocGetRootElement(u->doc);
	if (!rl_xml_is(env, RL_NS_SOAP12, "Envelope"))
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "the root part is not a SOAP 1.2 envelope");
	header = rl_xml_child(env, RL_NS_SOAP12, "Header");
	u->body = rl_xml_child(env, RL_NS_SOAP12, "Body");
	if (header == NULL || u->body == NULL)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "the SOAP envelope lacks its Header or Body");
	if (rl_xml_count(header, RL_NS_EB, "Messaging") != 1)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "the SOAP header must hold one eb:Messaging");
	if (rl_xml_count(header, RL_NS_WSSE, "Security") != 1)
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE,
				  "the SOAP header must hold one wsse:Security");
	if (check_must_understand(header, err) < 0)
		return -1;
	u->messaging = rl_xml_child(header, RL_NS_EB, "Messaging");
	u->security = rl_xml_child(header, RL_NS_WSSE, "Security");
	if (rl_user_message_parse(u->messaging, &u->um, err) != 0)
		return -1;
	u->um_parsed = 1;
	if (u->um.message_id)
		u->message_id = strdup(u->um.message_id);
	/* One EncryptedKey whose ReferenceList matches the EncryptedData, before the key is unwrapped and used. */
	if (rl_wss_check_encryption_refs(u->security, err) != 0)
		return -1;
	ek = rl_xml_child(u->security, RL_NS_XENC, "EncryptedKey");
	if (ek && unwrap_key(u, ek, err) != 0)
		return -1;
	if (read_encrypted_data(u, err) != 0)
		return -1;
	u->has_encrypted_data = rl_xml_child(u->security, RL_NS_XENC, "EncryptedData") != NULL;
	return 0;
}

/* ---------------------------------------------------------------- attachment chains */

/* The PartInfo of attachment cid: -1 when none, else 0 uncompressed, 1 gzip, 2 another compression;
 * *mime_type receives its MimeType property. */
static int compression_of(struct rl_as4_unpacker *u, const char *cid, const char **mime_type)
{
	*mime_type = NULL;
	for (int i = 0; i < u->um.part_count; i++) {
		const struct rl_eb_part_info *p = &u->um.parts[i];

		if (p->href && strncmp(p->href, "cid:", 4) == 0 && strcmp(p->href + 4, cid) == 0) {
			*mime_type = p->mime_type;
			if (p->compression_type == NULL)
				return 0;
			return strcmp(p->compression_type, "application/gzip") == 0 ? 1 : 2;
		}
	}
	return -1;
}

/* Between the digest and gunzip: a corrupt stream is only reported once the GCM tag was checked, so
 * that tampered ciphertext is a decryption failure and not a decompression one. */
static int gzip_guard_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct as4_attachment *a = ctx;
	struct rl_sink s;

	(void)err;
	if (a->gzip_failed)
		return 0;
	s = rl_gzip_sink(a->gzip);
	if (rl_sink_write(&s, data, len, &a->gzip_err) != 0)
		a->gzip_failed = 1;
	return 0;
}

/* The end of every chain: the spool file, bounded by max_payload while it is written. */
static int spool_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct as4_attachment *a = ctx;

	a->size += len;
	if (a->max_size && a->size > a->max_size)
		return rl_err_set(err, a->compressed ? RL_EBMS_DECOMPRESSION_FAILURE : RL_EBMS_OTHER,
				  "attachment %s: the payload is larger than %llu bytes", a->cid, a->max_size);
	return rl_sink_file_write(a->out, data, len, err);
}

/* Builds the chain of an attachment: [GCM ->] SHA-256 tee -> [gunzip ->] spool. */
static int attachment_start(struct rl_as4_unpacker *u, struct as4_attachment *a, struct rl_err *err)
{
	struct rl_sink out_sink, s;
	const char *part_mime;
	int c = compression_of(u, a->cid, &part_mime);

	if (c < 0)
		return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT, "attachment %s is not in the PayloadInfo",
				  a->cid);
	if (c == 2)
		return rl_err_set(err, RL_EBMS_DECOMPRESSION_FAILURE,
				  "attachment %s: only application/gzip compression is supported", a->cid);
	a->compressed = c;
	/* Peppol encrypts every payload with the one key: a plain part beside encrypted ones is refused
	 * even when unencrypted messages are allowed. */
	if (!a->encrypted && u->has_encrypted_data)
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "attachment %s is not encrypted, while other "
				  "payloads of the message are (every payload must be)", a->cid);
	if (!a->encrypted && !u->opts.allow_unencrypted)
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "attachment %s is not encrypted", a->cid);
	if (a->encrypted && !u->have_key)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "no key for attachment %s", a->cid);
	if (!a->encrypted) {
		free(a->digest_mime);
		a->digest_mime = a->media_type ? strdup(a->media_type) : NULL;
	}
	if (!c && a->digest_mime == NULL && part_mime)
		a->digest_mime = strdup(part_mime);
	a->out = rl_tmpfile(u->opts.tmp_dir, err);
	if (a->out == NULL)
		return -1;
	a->max_size = u->opts.max_payload;
	out_sink.write = spool_write;
	out_sink.ctx = a;
	s = out_sink;
	if (c) {
		a->gzip = rl_gzip_decompress_new(&out_sink, u->opts.max_payload, err);
		if (a->gzip == NULL)
			return -1;
		s.write = gzip_guard_write;
		s.ctx = a;
	}
	a->digest = rl_digest_new(EVP_sha256(), &s, err);
	if (a->digest == NULL)
		return -1;
	s = rl_digest_sink(a->digest);
	if (a->encrypted) {
		a->gcm = rl_gcm_decrypt_new(u->key, &s, err);
		if (a->gcm == NULL)
			return -1;
		s = rl_gcm_sink(a->gcm);
	}
	a->head = s;
	return 0;
}

/* Flushes the chain; checks the tag and the inflation; computes the signature digest. */
static int attachment_end(struct rl_as4_unpacker *u, struct as4_attachment *a, struct rl_err *err)
{
	unsigned int n = 0;
	unsigned char md[EVP_MAX_MD_SIZE];

	if (a->gcm && rl_gcm_finish(a->gcm, err) != 0)
		return rl_err_prefix(err, "attachment %s", a->cid);
	if (rl_digest_finish(a->digest, md, &n, err) != 0)
		return -1;
	memcpy(a->sha, md, 32);
	if (a->gzip_failed) {
		*err = a->gzip_err;
		err->code = RL_EBMS_DECOMPRESSION_FAILURE;
		return rl_err_prefix(err, "attachment %s", a->cid);
	}
	if (a->gzip && rl_gzip_finish(a->gzip, err) != 0) {
		err->code = RL_EBMS_DECOMPRESSION_FAILURE;
		return rl_err_prefix(err, "attachment %s", a->cid);
	}
	if (fflush(a->out) != 0)
		return rl_err_set(err, RL_ERR_IO, "cannot write the payload spool");
	/* An uncompressed XML attachment is digested after exclusive C14N (SwA content transform). */
	if (!a->compressed && rl_mime_is_xml_type(a->digest_mime)) {
		struct rl_buf text = RL_BUF_INIT;
		xmlChar *c14n = NULL;
		xmlDocPtr doc;
		int len;

		rewind(a->out);
		if (a->size > (1u << 30))
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "uncompressed XML payload too large");
		if (rl_buf_reserve(&text, (size_t)a->size + 1) != 0)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		text.len = fread(text.data, 1, (size_t)a->size, a->out);
		text.data[text.len] = '\0';
		doc = rl_xml_parse(text.data, text.len, RL_EBMS_FAILED_AUTHENTICATION, "XML attachment", err);
		rl_buf_free(&text);
		if (doc == NULL)
			return -1;
		len = xmlC14NDocDumpMemory(doc, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0, &c14n);
		xmlFreeDoc(doc);
		if (len < 0)
			return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "cannot canonicalise attachment %s",
					  a->cid);
		rl_sha256(c14n, (size_t)len, a->sha);
		xmlFree(c14n);
	}
	attachment_release_chain(a);
	rewind(a->out);
	a->finished = 1;
	return 0;
}

/* ---------------------------------------------------------------- MIME callbacks */

static int on_part_begin(void *ctx, const struct rl_mime_part *part, struct rl_err *err)
{
	struct rl_as4_unpacker *u = ctx;
	struct as4_attachment *a;

	if (part->is_root) {
		if (u->root_done)
			return rl_err_set(err, RL_EBMS_MIME_INCONSISTENCY, "two root parts");
		u->in_root = 1;
		return 0;
	}
	if (part->content_id == NULL)
		return rl_err_set(err, RL_EBMS_MIME_INCONSISTENCY, "an attachment has no Content-ID");
	a = find_attachment(u, part->content_id);
	if (a && (a->finished || a->early || a->out))
		return rl_err_set(err, RL_EBMS_MIME_INCONSISTENCY, "two parts with Content-ID %s",
				  part->content_id);
	if (a == NULL) {
		const char *unused;

		if (u->root_done && compression_of(u, part->content_id, &unused) < 0)
			return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT,
					  "attachment %s is not in the message header", part->content_id);
		if (u->att_count >= AS4_MAX_ATTACHMENTS)
			return rl_err_set(err, RL_EBMS_MIME_INCONSISTENCY, "too many attachments");
		a = &u->atts[u->att_count++];
		a->cid = strdup(part->content_id);
	}
	a->media_type = strdup(part->media_type);
	u->current = a;
	if (!u->root_done) {
		a->early = rl_tmpfile(u->opts.tmp_dir, err);
		return a->early ? 0 : -1;
	}
	return attachment_start(u, a, err);
}

static int on_part_data(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct rl_as4_unpacker *u = ctx;
	size_t max = u->opts.max_header ? u->opts.max_header : AS4_DEFAULT_MAX_HEADER;

	if (u->in_root) {
		if (u->root.len + len > max)
			return rl_err_set(err, RL_EBMS_INVALID_HEADER, "the SOAP part is larger than %zu bytes", max);
		return rl_buf_append(&u->root, data, len) == 0 ? 0
			: rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	if (u->current == NULL)
		return 0;
	if (u->current->early)
		return rl_sink_file_write(u->current->early, data, len, err);
	return rl_sink_write(&u->current->head, data, len, err);
}

static int on_part_end(void *ctx, struct rl_err *err)
{
	struct rl_as4_unpacker *u = ctx;
	struct as4_attachment *a = u->current;

	if (u->in_root) {
		u->in_root = 0;
		u->root_done = 1;
		if (process_root(u, err) != 0)
			return -1;
		/* Attachments that came first now go through their chains. */
		for (int i = 0; i < u->att_count; i++) {
			struct as4_attachment *e = &u->atts[i];

			if (e->early == NULL)
				continue;
			if (attachment_start(u, e, err) != 0)
				return -1;
			rewind(e->early);
			if (rl_stream_copy_file(e->early, &e->head, err) != 0 || attachment_end(u, e, err) != 0)
				return -1;
			fclose(e->early);
			e->early = NULL;
		}
		return 0;
	}
	u->current = NULL;
	if (a == NULL || a->early)
		return 0;
	return attachment_end(u, a, err);
}

/* ---------------------------------------------------------------- API */

struct rl_as4_unpacker *rl_as4_unpacker_new(const struct rl_as4_unpack_opts *o, const char *content_type,
					    struct rl_err *err)
{
	struct rl_as4_unpacker *u = calloc(1, sizeof(*u));
	static const struct rl_mime_callbacks cb = { on_part_begin, on_part_data, on_part_end };

	if (u == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	u->opts = *o;
	u->mime = rl_mime_reader_new(content_type, NULL, &cb, u, err);
	if (u->mime == NULL) {
		free(u);
		return NULL;
	}
	return u;
}

int rl_as4_unpacker_feed(struct rl_as4_unpacker *u, const void *data, size_t len, struct rl_err *err)
{
	if (u->failed)
		return rl_err_set(err, RL_ERR_INTERNAL, "feeding an unpacker that failed");
	if (rl_mime_reader_feed(u->mime, data, len, err) != 0) {
		u->failed = 1;
		u->fail_err = *err;
		return -1;
	}
	return 0;
}

const char *rl_as4_unpacker_message_id(const struct rl_as4_unpacker *u)
{
	return u->message_id;
}

/* The short name of an algorithm URI: its fragment ("rsa-sha256", "sha256"), "exc-c14n" for C14N. */
static void append_algorithm(struct rl_buf *b, xmlNodePtr method)
{
	char *uri = rl_xml_attr(method, NULL, "Algorithm");
	const char *hash = uri ? strrchr(uri, '#') : NULL;

	if (b->len)
		rl_buf_puts(b, " ");
	if (uri && strcmp(uri, RL_DS_EXC_C14N) == 0)
		rl_buf_puts(b, "exc-c14n");
	else
		rl_buf_puts(b, hash && hash[1] ? hash + 1 : uri ? uri : "?");
	free(uri);
}

/* "rsa-sha256 sha256 exc-c14n" from the verified signature's SignedInfo. */
static void signature_algorithms(struct rl_as4_unpacker *u, struct rl_buf *b)
{
	xmlNodePtr si = rl_xml_child(rl_xml_child(u->security, RL_NS_DS, "Signature"), RL_NS_DS, "SignedInfo");
	xmlNodePtr ref = rl_xml_child(si, RL_NS_DS, "Reference");

	append_algorithm(b, rl_xml_child(si, RL_NS_DS, "SignatureMethod"));
	append_algorithm(b, rl_xml_child(ref, RL_NS_DS, "DigestMethod"));
	append_algorithm(b, rl_xml_child(si, RL_NS_DS, "CanonicalizationMethod"));
}

/* Requires the signature to cover eb:Messaging, the Body and every attachment. */
static int check_coverage(struct rl_as4_unpacker *u, const struct rl_wss_verified *v, struct rl_err *err)
{
	int has_messaging = 0, has_body = 0;

	for (int i = 0; i < v->node_count; i++) {
		if (v->nodes[i] == u->messaging)
			has_messaging = 1;
		if (v->nodes[i] == u->body)
			has_body = 1;
	}
	if (!has_messaging || !has_body)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
				  "the signature does not cover the eb:Messaging and Body processed");
	for (int i = 0; i < u->att_count; i++) {
		int covered = 0;

		for (int j = 0; j < v->cid_count; j++)
			if (strcmp(v->cids[j], u->atts[i].cid) == 0)
				covered = 1;
		if (!covered)
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE,
					  "the signature does not cover attachment %s", u->atts[i].cid);
	}
	return 0;
}

static int finish(struct rl_as4_unpacker *u, struct rl_as4_received *r, struct rl_err *err)
{
	struct rl_wss_attachment_digest digests[AS4_MAX_ATTACHMENTS];
	struct rl_wss_verify_opts vo;
	struct rl_wss_verified v;
	struct rl_buf alg = RL_BUF_INIT;
	int rc = -1;

	if (rl_mime_reader_finish(u->mime, err) != 0)
		return -1;
	if (!u->root_done)
		return rl_err_set(err, RL_EBMS_MIME_INCONSISTENCY, "the message has no SOAP part");
	for (int i = 0; i < u->att_count; i++) {
		if (!u->atts[i].finished)
			return rl_err_set(err, RL_EBMS_MIME_INCONSISTENCY, "attachment %s is missing",
					  u->atts[i].cid);
		digests[i].cid = u->atts[i].cid;
		memcpy(digests[i].digest, u->atts[i].sha, 32);
	}
	if (u->um.part_count != u->att_count)
		return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT,
				  "the PayloadInfo names %d parts, the message has %d attachments",
				  u->um.part_count, u->att_count);
	memset(&vo, 0, sizeof(vo));
	memset(&v, 0, sizeof(v));
	vo.allow_non_peppol_algorithms = u->opts.allow_non_peppol_algorithms;
	vo.attachments = digests;
	vo.attachment_count = u->att_count;
	if (rl_wss_verify(u->security, &vo, &v, err) != 0)
		goto out;
	if (check_coverage(u, &v, err) != 0)
		goto out;
	if (rl_trust_verify(u->opts.trust, v.signer, NULL, u->opts.at, err) != 0)
		goto out;
	if (rl_user_message_check_peppol(&u->um, err) != 0)
		goto out;

	/* Hand everything over. */
	r->payloads = calloc((size_t)(u->att_count ? u->att_count : 1), sizeof(*r->payloads));
	if (r->payloads == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < u->att_count; i++) {
		struct as4_attachment *a = &u->atts[i];
		const char *mime;
		struct rl_as4_payload *p = &r->payloads[r->payload_count++];

		compression_of(u, a->cid, &mime);
		p->content_id = a->cid;
		a->cid = NULL;
		p->mime_type = strdup(mime ? mime : "application/octet-stream");
		p->fp = a->out;
		a->out = NULL;
		p->size = a->size;
		rewind(p->fp);
	}
	signature_algorithms(u, &alg);
	rl_buf_printf(&alg, "%s%s", u->att_count && u->have_key ? " aes128-gcm " : "",
		      u->att_count && u->have_key ? u->key_algorithm : "");
	r->algorithms = rl_buf_steal(&alg);
	r->signer = v.signer;
	v.signer = NULL;
	r->references = v.references;
	memset(&v.references, 0, sizeof(v.references));
	r->envelope_len = u->root.len;
	r->envelope = rl_buf_steal(&u->root);
	rc = 0;
out:
	rl_wss_verified_free(&v);
	return rc;
}

int rl_as4_unpacker_finish(struct rl_as4_unpacker *u, struct rl_as4_received *r, struct rl_err *err)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (u->failed) {
		*err = u->fail_err;
		rc = -1;
	} else {
		rc = finish(u, r, err);
	}
	/* The header is handed over either way so that an error signal can refer to the message id. */
	if (u->um_parsed) {
		r->um = u->um;
		memset(&u->um, 0, sizeof(u->um));
		u->um_parsed = 0;
	}
	if (rc != 0) {
		struct rl_user_message keep = r->um;

		memset(&r->um, 0, sizeof(r->um));
		rl_as4_received_free(r);
		r->um = keep;
	}
	return rc;
}

void rl_as4_unpacker_free(struct rl_as4_unpacker *u)
{
	if (u == NULL)
		return;
	rl_mime_reader_free(u->mime);
	for (int i = 0; i < u->att_count; i++)
		attachment_free(&u->atts[i]);
	if (u->doc)
		xmlFreeDoc(u->doc);
	if (u->um_parsed)
		rl_user_message_free(&u->um);
	rl_buf_free(&u->root);
	free(u->message_id);
	OPENSSL_cleanse(u->key, sizeof(u->key));
	free(u);
}

int rl_as4_unpack_file(const struct rl_as4_unpack_opts *o, const char *path, struct rl_as4_received *r,
		       struct rl_err *err)
{
	struct rl_as4_unpacker *u;
	unsigned char chunk[65536];
	FILE *fp = fopen(path, "rb");
	size_t n;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (fp == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot open %s", path);
	u = rl_as4_unpacker_new(o, NULL, err);
	if (u == NULL) {
		fclose(fp);
		return -1;
	}
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		rc = rl_as4_unpacker_feed(u, chunk, n, err);
	if (rc == 0 && ferror(fp))
		rc = rl_err_set(err, RL_ERR_IO, "cannot read %s", path);
	fclose(fp);
	if (rc != 0 && !u->failed) {
		u->failed = 1;
		u->fail_err = *err;
	}
	/* After a failure this still hands over the message id for an error signal. */
	rc = rl_as4_unpacker_finish(u, r, err);
	rl_as4_unpacker_free(u);
	return rc;
}

void rl_as4_received_free(struct rl_as4_received *r)
{
	if (r == NULL)
		return;
	rl_user_message_free(&r->um);
	for (int i = 0; i < r->payload_count; i++) {
		free(r->payloads[i].content_id);
		free(r->payloads[i].mime_type);
		if (r->payloads[i].fp)
			fclose(r->payloads[i].fp);
	}
	free(r->payloads);
	X509_free(r->signer);
	free(r->envelope);
	rl_buf_free(&r->references);
	free(r->algorithms);
	memset(r, 0, sizeof(*r));
}

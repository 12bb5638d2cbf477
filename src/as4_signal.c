/*
 * as4_signal.c - AS4 signals: build signed eb:Receipt (with NonRepudiationInformation) and eb:Error
 * signals, and check a signal that came back (signature over eb:Messaging and Body, trusted signer,
 * RefToMessageId and the digests of what was sent).
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <libxml/tree.h>
#include "relais/as4.h"
#include "relais/crypto.h"
#include "relais/keys.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"

#define SIGNAL_MAX_HEADER (8u << 20)

void rl_as4_signal_info_free(struct rl_as4_signal_info *i)
{
	if (i == NULL)
		return;
	free(i->message_id);
	free(i->ref_to_message_id);
	free(i->timestamp);
	free(i->error_text);
	X509_free(i->signer);
	memset(i, 0, sizeof(*i));
}

/* ---------------------------------------------------------------- building */

/* Parses a fragment of serialised ds:Reference elements inside a root declaring ds and ec. */
static xmlDocPtr parse_references(const struct rl_buf *refs, struct rl_err *err)
{
	struct rl_buf text = RL_BUF_INIT;
	xmlDocPtr doc;

	if (rl_buf_puts(&text, "<refs xmlns:ds='" RL_NS_DS "' xmlns:ec='" RL_NS_EC "'>") < 0 ||
	    (refs->len && rl_buf_append(&text, refs->data, refs->len) < 0) || rl_buf_puts(&text, "</refs>") < 0) {
		rl_buf_free(&text);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	doc = rl_xml_parse(text.data, text.len, RL_ERR_INTERNAL, "ds:Reference list", err);
	rl_buf_free(&text);
	return doc;
}

/* A signal being built: the envelope as a tree, up to the inside of eb:SignalMessage. */
struct signal_doc {
	xmlDocPtr doc;
	xmlNodePtr env, security, signal;
	xmlNsPtr s12, eb;
};

/* Adds the attribute ns:name="value" to node (ns NULL: no namespace); 0, or -1 out of memory. */
static int set_attr(xmlNodePtr node, xmlNsPtr ns, const char *name, const char *value)
{
	return xmlNewNsProp(node, ns, (const xmlChar *)name, (const xmlChar *)value) ? 0 : -1;
}

/* A new element prefix:name in namespace href, declared on it, as the last child of parent. */
static xmlNodePtr add_declared(xmlNodePtr parent, const char *href, const char *prefix, const char *name,
			       xmlNsPtr *ns)
{
	xmlNodePtr node = xmlNewChild(parent, NULL, (const xmlChar *)name, NULL);

	if (node == NULL || (*ns = xmlNewNs(node, (const xmlChar *)href, (const xmlChar *)prefix)) == NULL)
		return NULL;
	xmlSetNs(node, *ns);
	return node;
}

/*
 * Starts a signal: S12:Envelope, S12:Header with an empty wsse:Security and eb:Messaging, then
 * eb:SignalMessage with its eb:MessageInfo (timestamp, a new MessageId into *msg_id, RefToMessageId when
 * ref_to is given). Built as a tree, not as text parsed again. On error s->doc is freed.
 */
static int signal_open(struct signal_doc *s, const char *ref_to, char **msg_id, struct rl_err *err)
{
	char uuid[37], ts[40], ebm_uuid[37], ebm_id[48];
	xmlNodePtr header, messaging, info;
	xmlNsPtr wsse, wsu;

	memset(s, 0, sizeof(*s));
	*msg_id = NULL;
	if (rl_uuid(uuid, err) < 0 || rl_uuid(ebm_uuid, err) < 0)
		return -1;
	rl_format_datetime(0, 1, ts, sizeof(ts));
	snprintf(ebm_id, sizeof(ebm_id), "_ebm-%s", ebm_uuid);
	*msg_id = malloc(strlen(uuid) + 8);
	s->doc = xmlNewDoc((const xmlChar *)"1.0");
	if (*msg_id == NULL || s->doc == NULL)
		goto nomem;
	sprintf(*msg_id, "%s@relais", uuid);
	s->env = xmlNewDocNode(s->doc, NULL, (const xmlChar *)"Envelope", NULL);
	if (s->env == NULL)
		goto nomem;
	xmlDocSetRootElement(s->doc, s->env);
	if ((s->s12 = xmlNewNs(s->env, (const xmlChar *)RL_NS_SOAP12, (const xmlChar *)"S12")) == NULL)
		goto nomem;
	xmlSetNs(s->env, s->s12);
	header = xmlNewChild(s->env, s->s12, (const xmlChar *)"Header", NULL);
	if (header == NULL || (s->security = add_declared(header, RL_NS_WSSE, "wsse", "Security", &wsse)) == NULL ||
	    xmlNewNs(s->security, (const xmlChar *)RL_NS_WSU, (const xmlChar *)"wsu") == NULL ||
	    set_attr(s->security, s->s12, "mustUnderstand", "true") < 0 ||
	    (messaging = add_declared(header, RL_NS_EB, "eb", "Messaging", &s->eb)) == NULL ||
	    (wsu = xmlNewNs(messaging, (const xmlChar *)RL_NS_WSU, (const xmlChar *)"wsu")) == NULL ||
	    set_attr(messaging, wsu, "Id", ebm_id) < 0 || set_attr(messaging, s->s12, "mustUnderstand", "true") < 0 ||
	    (s->signal = xmlNewChild(messaging, s->eb, (const xmlChar *)"SignalMessage", NULL)) == NULL ||
	    (info = xmlNewChild(s->signal, s->eb, (const xmlChar *)"MessageInfo", NULL)) == NULL ||
	    !xmlNewTextChild(info, s->eb, (const xmlChar *)"Timestamp", (const xmlChar *)ts) ||
	    !xmlNewTextChild(info, s->eb, (const xmlChar *)"MessageId", (const xmlChar *)*msg_id) ||
	    (ref_to && !xmlNewTextChild(info, s->eb, (const xmlChar *)"RefToMessageId", (const xmlChar *)ref_to)))
		goto nomem;
	return 0;
nomem:
	free(*msg_id);
	*msg_id = NULL;
	xmlFreeDoc(s->doc);
	s->doc = NULL;
	return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
}

/* Ends the signal with an empty S12:Body, signs eb:Messaging and the Body with signer's key, and writes
 * the envelope to out. Frees s->doc in every case. */
static int signal_sign(struct signal_doc *s, const struct rl_identity *signer, struct rl_buf *out,
		       struct rl_err *err)
{
	char body_uuid[37], body_id[48], bst_uuid[37], bst_id[48];
	xmlNodePtr body;
	xmlNsPtr wsu;
	struct rl_wss_sign_ref refs[2];
	int rc = -1;

	if (rl_uuid(body_uuid, err) < 0 || rl_uuid(bst_uuid, err) < 0)
		goto done;
	snprintf(body_id, sizeof(body_id), "_body-%s", body_uuid);
	snprintf(bst_id, sizeof(bst_id), "X509-%s", bst_uuid);
	body = xmlNewChild(s->env, s->s12, (const xmlChar *)"Body", NULL);
	if (body == NULL || (wsu = xmlNewNs(body, (const xmlChar *)RL_NS_WSU, (const xmlChar *)"wsu")) == NULL ||
	    set_attr(body, wsu, "Id", body_id) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto done;
	}
	refs[0] = (struct rl_wss_sign_ref){ s->signal->parent, NULL, NULL };
	refs[1] = (struct rl_wss_sign_ref){ body, NULL, NULL };
	if (rl_wss_sign(s->security, signer->key, signer->cert, bst_id, refs, 2, err) < 0)
		goto done;
	if (rl_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>") < 0 || rl_xml_dump(s->doc, s->env, out) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto done;
	}
	rc = 0;
done:
	xmlFreeDoc(s->doc);
	s->doc = NULL;
	return rc;
}

int rl_as4_receipt_build(const struct rl_as4_received *r, const struct rl_identity *signer,
			 struct rl_buf *out, char **receipt_message_id, struct rl_err *err)
{
	struct signal_doc s;
	xmlDocPtr refs = NULL;
	xmlNodePtr receipt, nri;
	xmlNsPtr ebbp;
	char *msg_id = NULL;
	int rc = -1, count = 0;

	if (r == NULL || r->um.message_id == NULL || signer == NULL || signer->key == NULL || signer->cert == NULL)
		return rl_err_set(err, RL_ERR_USAGE, "a receipt needs the received message id and a signing identity");
	refs = parse_references(&r->references, err);
	if (refs == NULL)
		return -1;
	if (signal_open(&s, r->um.message_id, &msg_id, err) < 0)
		goto done;
	receipt = xmlNewChild(s.signal, s.eb, (const xmlChar *)"Receipt", NULL);
	if (receipt == NULL || (nri = add_declared(receipt, RL_NS_EBBP, "ebbp", "NonRepudiationInformation", &ebbp)) == NULL ||
	    xmlNewNs(nri, (const xmlChar *)RL_NS_DS, (const xmlChar *)"ds") == NULL ||
	    xmlNewNs(nri, (const xmlChar *)RL_NS_EC, (const xmlChar *)"ec") == NULL)
		goto nomem;
	/* Each received ds:Reference, copied with its namespaces bound to those in scope here. */
	for (xmlNodePtr ref = rl_xml_child(xmlDocGetRootElement(refs), RL_NS_DS, "Reference"); ref;
	     ref = rl_xml_next(ref, RL_NS_DS, "Reference")) {
		xmlNodePtr part = xmlNewChild(nri, ebbp, (const xmlChar *)"MessagePartNRInformation", NULL), copy = NULL;

		if (part == NULL || xmlDOMWrapCloneNode(NULL, refs, ref, &copy, s.doc, part, 1, 0) != 0 || copy == NULL ||
		    xmlAddChild(part, copy) == NULL) {
			xmlFreeNode(copy);
			goto nomem;
		}
		count++;
	}
	if (count == 0) {
		rl_err_set(err, RL_ERR_USAGE, "the received message has no ds:Reference for the receipt");
		goto done;
	}
	if (signal_sign(&s, signer, out, err) < 0)
		goto done;
	if (receipt_message_id) {
		*receipt_message_id = msg_id;
		msg_id = NULL;
	}
	rc = 0;
	goto done;
nomem:
	rl_err_set(err, RL_ERR_NOMEM, "out of memory");
done:
	xmlFreeDoc(s.doc);
	free(msg_id);
	xmlFreeDoc(refs);
	return rc;
}

/* A copy of text that XML 1.0 can carry: control characters become spaces and, when the text is not
 * UTF-8, every byte above 127 a question mark (a refusal may quote what a peer sent). Caller frees. */
static char *xml_safe_text(const char *text)
{
	char *copy = strdup(text);
	int utf8;

	if (copy == NULL)
		return NULL;
	utf8 = xmlCheckUTF8((const xmlChar *)copy);
	for (unsigned char *p = (unsigned char *)copy; *p; p++) {
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			*p = ' ';
		else if (*p > 0x7f && !utf8)
			*p = '?';
	}
	return copy;
}

int rl_as4_error_build(const struct rl_err *refusal, const char *ref_to_message_id,
		       const struct rl_identity *signer, struct rl_buf *out, struct rl_err *err)
{
	struct signal_doc s;
	xmlNodePtr error, description;
	char *msg_id = NULL, *text = NULL, *detail = NULL, *ref_to = NULL;
	int code, rc = -1;

	if (refusal == NULL || signer == NULL || signer->key == NULL || signer->cert == NULL)
		return rl_err_set(err, RL_ERR_USAGE, "an error signal needs the refusal and a signing identity");
	/* Local failures are not told to a peer as such: they become EBMS:0004 Other. */
	code = rl_err_is_ebms(refusal->code) ? refusal->code : RL_EBMS_OTHER;
	if (ref_to_message_id && (ref_to = xml_safe_text(ref_to_message_id)) == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (signal_open(&s, ref_to, &msg_id, err) < 0) {
		free(ref_to);
		return -1;
	}
	text = xml_safe_text(refusal->msg);
	detail = xml_safe_text(refusal->detail);
	error = xmlNewChild(s.signal, s.eb, (const xmlChar *)"Error", NULL);
	if (text == NULL || detail == NULL || error == NULL || set_attr(error, NULL, "category", rl_err_category(code)) < 0 ||
	    set_attr(error, NULL, "errorCode", rl_err_code_str(code)) < 0 ||
	    set_attr(error, NULL, "origin", rl_err_origin(code)) < 0 ||
	    (ref_to && set_attr(error, NULL, "refToMessageInError", ref_to) < 0) ||
	    set_attr(error, NULL, "severity", "failure") < 0 ||
	    set_attr(error, NULL, "shortDescription", rl_err_short(code)) < 0 ||
	    (description = xmlNewTextChild(error, s.eb, (const xmlChar *)"Description",
					   (const xmlChar *)text)) == NULL ||
	    (detail[0] && !xmlNewTextChild(error, s.eb, (const xmlChar *)"ErrorDetail", (const xmlChar *)detail))) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		xmlFreeDoc(s.doc);
		goto done;
	}
	xmlNodeSetLang(description, (const xmlChar *)"en");
	rc = signal_sign(&s, signer, out, err);
done:
	free(ref_to);
	free(text);
	free(detail);
	free(msg_id);
	return rc;
}

/* ---------------------------------------------------------------- checking */

/* If p (within end) starts an element whose local name is "Envelope", returns the position after the
 * name; else NULL. closing: p points after "</". */
static const char *envelope_name_at(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && *q != '>' && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n' && *q != '/' &&
	       *q != '<')
		q++;
	if (q - p < 8 || memcmp(q - 8, "Envelope", 8) != 0)
		return NULL;
	if (q - p > 8 && q[-9] != ':')
		return NULL;
	return q;
}

/* Finds the SOAP envelope in a response body or file: HTTP or MIME headers and a multipart wrapper
 * around it are skipped. */
static int locate_envelope(const char *data, size_t len, const char **start, size_t *out_len)
{
	const char *end = data + len, *s = NULL;

	for (const char *p = data; p < end; p++) {
		if (*p == '<' && p + 1 < end && p[1] != '/' && p[1] != '?' && envelope_name_at(p + 1, end)) {
			s = p;
			break;
		}
	}
	if (s == NULL)
		return -1;
	for (const char *p = s; p + 1 < end; p++) {
		const char *after;

		if (p[0] == '<' && p[1] == '/' && (after = envelope_name_at(p + 2, end)) != NULL) {
			while (after < end && *after != '>')
				after++;
			if (after == end)
				return -1;
			*start = s;
			*out_len = (size_t)(after + 1 - s);
			return 0;
		}
	}
	return -1;
}

/* Whitespace-free copy of a base64 text. */
static void strip_ws(char *s)
{
	char *w = s;

	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			*w++ = *s;
	*w = 0;
}

static int reference_matches(xmlNodePtr a, const char *uri, const char *digest)
{
	char *a_uri = rl_xml_attr(a, NULL, "URI");
	char *a_digest = rl_xml_text(rl_xml_child(a, RL_NS_DS, "DigestValue"));
	int same = 0;

	if (a_uri && a_digest) {
		strip_ws(a_digest);
		same = strcmp(a_uri, uri) == 0 && strcmp(a_digest, digest) == 0;
	}
	free(a_uri);
	free(a_digest);
	return same;
}

/* An NRI reference to an attachment (a cid: URI, whichever) with this digest. */
static int attachment_digest_matches(xmlNodePtr a, const char *digest)
{
	char *a_uri = rl_xml_attr(a, NULL, "URI");
	char *a_digest = rl_xml_text(rl_xml_child(a, RL_NS_DS, "DigestValue"));
	int same = 0;

	if (a_uri && a_digest) {
		strip_ws(a_digest);
		same = strncmp(a_uri, "cid:", 4) == 0 && strcmp(a_digest, digest) == 0;
	}
	free(a_uri);
	free(a_digest);
	return same;
}

/* Every sent ds:Reference (URI + DigestValue) must be among the receipt's NRI references; with
 * attachments_only, every sent attachment reference's digest must be that of an attachment reference. */
static int check_nri(xmlNodePtr receipt, const struct rl_as4_sent *sent, int attachments_only, struct rl_err *err)
{
	xmlNodePtr nri = rl_xml_child(receipt, RL_NS_EBBP, "NonRepudiationInformation");
	xmlDocPtr refs = parse_references(&sent->references, err);
	int rc = 0, count = 0;

	if (refs == NULL)
		return -1;
	if (nri == NULL) {
		xmlFreeDoc(refs);
		return rl_err_set(err, RL_EBMS_INVALID_RECEIPT, "the receipt has no ebbp:NonRepudiationInformation");
	}
	for (xmlNodePtr ref = rl_xml_child(xmlDocGetRootElement(refs), RL_NS_DS, "Reference"); ref && rc == 0;
	     ref = rl_xml_next(ref, RL_NS_DS, "Reference")) {
		char *uri = rl_xml_attr(ref, NULL, "URI");
		char *digest = rl_xml_text(rl_xml_child(ref, RL_NS_DS, "DigestValue"));
		int found = 0;

		if (attachments_only && (uri == NULL || strncmp(uri, "cid:", 4) != 0)) {
			free(uri);
			free(digest);
			continue;
		}
		count++;
		if (uri && digest) {
			strip_ws(digest);
			for (xmlNodePtr part = rl_xml_child(nri, RL_NS_EBBP, "MessagePartNRInformation");
			     part && !found; part = rl_xml_next(part, RL_NS_EBBP, "MessagePartNRInformation"))
				for (xmlNodePtr r = rl_xml_child(part, RL_NS_DS, "Reference"); r && !found;
				     r = rl_xml_next(r, RL_NS_DS, "Reference"))
					found = attachments_only ? attachment_digest_matches(r, digest)
								 : reference_matches(r, uri, digest);
		}
		if (!found)
			rc = rl_err_set(err, RL_EBMS_INVALID_RECEIPT,
					"the receipt does not acknowledge the digest of %s", uri ? uri : "(no URI)");
		free(uri);
		free(digest);
	}
	xmlFreeDoc(refs);
	if (rc == 0 && count == 0)
		rc = rl_err_set(err, attachments_only ? RL_EBMS_INVALID_RECEIPT : RL_ERR_USAGE,
				"the sent message has no %s to compare", attachments_only ? "attachment" : "ds:Reference");
	return rc;
}

/* Fills info from an eb:Error and returns -1 with the peer's code. */
static int report_error(xmlNodePtr error, const char *sig_problem, struct rl_as4_signal_info *info,
			struct rl_err *err)
{
	char *code_s = rl_xml_attr(error, NULL, "errorCode");
	char *shortd = rl_xml_attr(error, NULL, "shortDescription");
	char *desc = rl_xml_text(rl_xml_child(error, RL_NS_EB, "Description"));
	char *detail = rl_xml_text(rl_xml_child(error, RL_NS_EB, "ErrorDetail"));
	struct rl_buf text = RL_BUF_INIT;
	int code = code_s ? rl_err_code_parse(code_s) : -1;

	info->is_error = 1;
	info->error_code = code;
	rl_buf_printf(&text, "%s", shortd ? shortd : "(no short description)");
	if (desc && *desc)
		rl_buf_printf(&text, ": %s", desc);
	if (detail && *detail)
		rl_buf_printf(&text, " (%s)", detail);
	info->error_text = rl_buf_steal(&text);
	rl_err_set(err, code > 0 ? code : RL_EBMS_OTHER, "the peer answered with an error %s: %s%s%s",
		   code_s ? code_s : "(no code)", info->error_text ? info->error_text : "",
		   sig_problem ? "; its signature does not verify: " : "", sig_problem ? sig_problem : "");
	if (detail && *detail)
		rl_err_detail(err, detail);
	free(code_s);
	free(shortd);
	free(desc);
	free(detail);
	return -1;
}

static int covers(const struct rl_wss_verified *v, xmlNodePtr node)
{
	for (int i = 0; i < v->node_count; i++)
		if (v->nodes[i] == node)
			return 1;
	return 0;
}

/* The signature checks: covered eb:Messaging and Body, trusted signer, expected signer. */
static int check_signature(xmlNodePtr header, xmlNodePtr messaging, xmlNodePtr body,
			   const struct rl_as4_signal_check *chk, const char *timestamp,
			   struct rl_as4_signal_info *info, struct rl_err *err)
{
	struct rl_wss_verify_opts opts = { 0 };
	struct rl_wss_verified v;
	xmlNodePtr security = rl_xml_child(header, RL_NS_WSSE, "Security");
	time_t at = chk->at;
	int rc = -1;

	if (security == NULL)
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "the signal is not signed (no wsse:Security)");
	if (rl_xml_next(security, RL_NS_WSSE, "Security"))
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "the signal has more than one wsse:Security");
	if (rl_wss_verify(security, &opts, &v, err) < 0)
		return -1;
	if (!covers(&v, messaging) || !covers(&v, body)) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
			   "the signal's signature does not cover its eb:Messaging and Body");
		goto done;
	}
	if (at == -1) {
		at = timestamp ? rl_parse_datetime(timestamp) : -1;
		if (at == -1) {
			rl_err_set(err, RL_EBMS_INVALID_HEADER, "the signal's eb:Timestamp is missing or invalid");
			goto done;
		}
	}
	if (rl_trust_verify(chk->trust, v.signer, NULL, at, err) < 0)
		goto done;
	if (chk->expected_signer && !rl_cert_equal(chk->expected_signer, v.signer)) {
		char cn[128];

		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "the signal is signed by %s, not by the receiver",
			   rl_cert_cn(v.signer, cn, sizeof(cn)));
		goto done;
	}
	if (X509_up_ref(v.signer) == 1)
		info->signer = v.signer;
	rc = 0;
done:
	rl_wss_verified_free(&v);
	return rc;
}

int rl_as4_signal_check(const char *data, size_t len, const char *content_type,
			const struct rl_as4_signal_check *chk, struct rl_as4_signal_info *info,
			struct rl_err *err)
{
	const char *start;
	size_t env_len;
	xmlDocPtr doc = NULL;
	xmlNodePtr env, header, body, messaging, signal, minfo, error, receipt;
	struct rl_err sig_err;
	int rc = -1, sig_rc;

	(void)content_type;	/* the envelope is located in a plain or multipart body alike */
	memset(info, 0, sizeof(*info));
	if (chk == NULL || chk->trust == NULL)
		return rl_err_set(err, RL_ERR_USAGE, "checking a signal needs a trust store");
	if (data == NULL || locate_envelope(data, len, &start, &env_len) < 0)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "no SOAP envelope in the signal");
	if (env_len > SIGNAL_MAX_HEADER)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "the signal's SOAP envelope is too large");
	doc = rl_xml_parse(start, env_len, RL_EBMS_INVALID_HEADER, "signal SOAP envelope", err);
	if (doc == NULL)
		return -1;
	env = xmlDocGetRootElement(doc);
	header = rl_xml_child(env, RL_NS_SOAP12, "Header");
	body = rl_xml_child(env, RL_NS_SOAP12, "Body");
	messaging = rl_xml_child(header, RL_NS_EB, "Messaging");
	if (!rl_xml_is(env, RL_NS_SOAP12, "Envelope") || header == NULL || body == NULL || messaging == NULL) {
		rl_err_set(err, RL_EBMS_INVALID_HEADER, "the signal is not a SOAP 1.2 envelope with eb:Messaging");
		goto done;
	}
	if (rl_xml_next(messaging, RL_NS_EB, "Messaging") || rl_xml_next(body, RL_NS_SOAP12, "Body")) {
		rl_err_set(err, RL_EBMS_INVALID_HEADER, "the signal has more than one eb:Messaging or Body");
		goto done;
	}
	signal = rl_xml_child(messaging, RL_NS_EB, "SignalMessage");
	minfo = rl_xml_child(signal, RL_NS_EB, "MessageInfo");
	if (signal == NULL || minfo == NULL) {
		rl_err_set(err, RL_EBMS_INVALID_HEADER, "the answer has no eb:SignalMessage/eb:MessageInfo");
		goto done;
	}
	info->timestamp = rl_xml_text(rl_xml_child(minfo, RL_NS_EB, "Timestamp"));
	info->message_id = rl_xml_text(rl_xml_child(minfo, RL_NS_EB, "MessageId"));
	info->ref_to_message_id = rl_xml_text(rl_xml_child(minfo, RL_NS_EB, "RefToMessageId"));
	error = rl_xml_child(signal, RL_NS_EB, "Error");
	receipt = rl_xml_child(signal, RL_NS_EB, "Receipt");

	sig_rc = check_signature(header, messaging, body, chk, info->timestamp, info, &sig_err);
	if (error) {
		report_error(error, sig_rc < 0 ? sig_err.msg : NULL, info, err);
		goto done;
	}
	if (sig_rc < 0) {
		*err = sig_err;
		goto done;
	}
	if (receipt == NULL) {
		rl_err_set(err, RL_EBMS_INVALID_RECEIPT, "the signal is neither an eb:Receipt nor an eb:Error");
		goto done;
	}
	if (chk->sent) {
		if (info->ref_to_message_id == NULL || chk->sent->message_id == NULL ||
		    strcmp(info->ref_to_message_id, chk->sent->message_id) != 0) {
			rl_err_set(err, RL_EBMS_INVALID_RECEIPT, "the receipt refers to %s, not to the sent message %s",
				   info->ref_to_message_id ? info->ref_to_message_id : "(no RefToMessageId)",
				   chk->sent->message_id ? chk->sent->message_id : "(unknown)");
			goto done;
		}
		if (check_nri(receipt, chk->sent, chk->attachments_only, err) < 0)
			goto done;
	}
	rc = 0;
done:
	xmlFreeDoc(doc);
	return rc;
}

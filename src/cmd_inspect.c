/*
 * cmd_inspect.c - `relais inspect`: a human-readable summary of an AS4 message or signal file: MIME
 * layout, ebMS header, security header, and what verifies without the receiver's key (the signature
 * value, the element digests, the digests of attachments that are not encrypted).
 */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "relais/as4.h"
#include "relais/cli.h"
#include "relais/crypto.h"
#include "relais/ebms.h"
#include "relais/keys.h"
#include "relais/mime.h"
#include "relais/wss_encrypt.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"
#include "commands.h"

static const char usage[] =
	"usage: relais inspect [--trust CA.pem] [--key KEY.pem,CERT.pem ...] MSG.mime\n"
	"\n"
	"Prints what a message or signal file holds: MIME parts, the ebMS header (parties, service, action,\n"
	"properties, parts), the security header (tokens, key transport, encrypted parts) and what verifies\n"
	"without the receiver's key: the SignatureValue, the eb:Messaging and Body digests, and the digests of\n"
	"attachments that are not encrypted. With --trust, the signer's chain is checked at the message time.\n"
	"Each --key (repeatable) is tried on the EncryptedKey elements: the key they name is unwrapped.\n"
	"Exit status 1 when the file is malformed or its signature does not verify.\n";

#define MAX_PARTS 64

struct inspected_part {
	char *cid;
	char *type;
	unsigned long long size;
	EVP_MD_CTX *md;
	unsigned char digest[32];
};

struct inspection {
	struct rl_buf root;
	int in_root;
	int current;
	int count;
	struct inspected_part parts[MAX_PARTS];
};

static int on_begin(void *ctx, const struct rl_mime_part *p, struct rl_err *err)
{
	struct inspection *in = ctx;
	struct inspected_part *part;

	in->in_root = p->is_root;
	in->current = -1;
	if (p->is_root)
		return 0;
	if (in->count == MAX_PARTS)
		return rl_err_set(err, RL_EBMS_MIME_INCONSISTENCY, "more than %d attachments", MAX_PARTS);
	part = &in->parts[in->count];
	in->current = in->count++;
	part->cid = p->content_id ? strdup(p->content_id) : NULL;
	part->type = strdup(p->media_type ? p->media_type : "");
	part->md = EVP_MD_CTX_new();
	if (part->md == NULL || EVP_DigestInit_ex(part->md, EVP_sha256(), NULL) != 1)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

static int on_data(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct inspection *in = ctx;

	if (in->in_root) {
		if (in->root.len + len > (16u << 20))
			return rl_err_set(err, RL_EBMS_INVALID_HEADER, "the SOAP part is larger than 16 MiB");
		return rl_buf_append(&in->root, data, len) < 0 ? rl_err_set(err, RL_ERR_NOMEM, "out of memory") : 0;
	}
	if (in->current >= 0) {
		in->parts[in->current].size += len;
		EVP_DigestUpdate(in->parts[in->current].md, data, len);
	}
	return 0;
}

static int on_end(void *ctx, struct rl_err *err)
{
	struct inspection *in = ctx;

	if (in->current >= 0)
		EVP_DigestFinal_ex(in->parts[in->current].md, in->parts[in->current].digest, NULL);
	in->in_root = 0;
	in->current = -1;
	return 0;
}

static void print_text(const char *label, xmlNodePtr node)
{
	char *t = rl_xml_text(node);

	if (t && *t)
		printf("%-16s %s\n", label, t);
	free(t);
}

static void print_user_message(xmlNodePtr messaging)
{
	struct rl_user_message um;
	struct rl_err err;

	if (rl_user_message_parse(messaging, &um, &err) < 0) {
		printf("UserMessage:     malformed: %s %s\n", rl_err_code_str(err.code), err.msg);
		rl_user_message_free(&um);
		return;
	}
	printf("UserMessage:     %s\n", um.message_id);
	printf("Timestamp:       %s\n", um.timestamp);
	printf("From:            %s (%s)\n", um.from_party, um.from_party_type ? um.from_party_type : "no type");
	printf("To:              %s (%s)\n", um.to_party, um.to_party_type ? um.to_party_type : "no type");
	printf("Service:         %s (type %s)\n", um.service, um.service_type ? um.service_type : "none");
	printf("Action:          %s\n", um.action);
	printf("ConversationId:  %s\n", um.conversation_id);
	for (int i = 0; i < um.property_count; i++)
		printf("Property:        %s = %s%s%s\n", um.properties[i].name,
		       um.properties[i].type ? um.properties[i].type : "", um.properties[i].type ? "::" : "",
		       um.properties[i].value);
	for (int i = 0; i < um.part_count; i++)
		printf("PartInfo:        %s (%s%s%s)\n", um.parts[i].href ? um.parts[i].href : "(no href)",
		       um.parts[i].mime_type ? um.parts[i].mime_type : "no MimeType",
		       um.parts[i].compression_type ? ", compressed " : "",
		       um.parts[i].compression_type ? um.parts[i].compression_type : "");
	if (rl_user_message_check_peppol(&um, &err) < 0)
		printf("Peppol profile:  not conforming: %s %s\n", rl_err_code_str(err.code), err.msg);
	else
		printf("Peppol profile:  header conforms\n");
	rl_user_message_free(&um);
}

static void print_signal(xmlNodePtr signal)
{
	xmlNodePtr info = rl_xml_child(signal, RL_NS_EB, "MessageInfo");

	print_text("SignalMessage:", rl_xml_child(info, RL_NS_EB, "MessageId"));
	print_text("Timestamp:", rl_xml_child(info, RL_NS_EB, "Timestamp"));
	print_text("RefToMessageId:", rl_xml_child(info, RL_NS_EB, "RefToMessageId"));
	if (rl_xml_child(signal, RL_NS_EB, "Receipt")) {
		xmlNodePtr nri = rl_xml_child(rl_xml_child(signal, RL_NS_EB, "Receipt"), RL_NS_EBBP,
					      "NonRepudiationInformation");
		printf("Receipt:         %d MessagePartNRInformation\n",
		       nri ? rl_xml_count(nri, RL_NS_EBBP, "MessagePartNRInformation") : 0);
	}
	for (xmlNodePtr e = rl_xml_child(signal, RL_NS_EB, "Error"); e; e = rl_xml_next(e, RL_NS_EB, "Error")) {
		char *code = rl_xml_attr(e, NULL, "errorCode"), *sd = rl_xml_attr(e, NULL, "shortDescription");
		char *detail = rl_xml_text(rl_xml_child(e, RL_NS_EB, "ErrorDetail"));

		printf("Error:           %s %s%s%s\n", code ? code : "?", sd ? sd : "", detail && *detail ? ": " : "",
		       detail ? detail : "");
		free(code);
		free(sd);
		free(detail);
	}
}

#define MAX_KEYS 8

/* Unwraps each EncryptedKey with whichever of the given identities it names. */
static void print_unwrapped(xmlNodePtr security, const struct rl_identity *const *ids, int n)
{
	for (xmlNodePtr ek = rl_xml_child(security, RL_NS_XENC, "EncryptedKey"); ek && n > 0;
	     ek = rl_xml_next(ek, RL_NS_XENC, "EncryptedKey")) {
		unsigned char key[RL_AES128_KEY_LEN];
		char alg[64], cn[256];
		struct rl_err err;
		const struct rl_identity *owner = rl_wss_key_owner(ek, ids, n, &err);

		if (owner && rl_wss_unwrap_key(ek, ids, n, 1, key, alg, sizeof(alg), &err) == 0)
			printf("Unwrapped:       the EncryptedKey's 128-bit key with %s (%s)\n",
			       rl_cert_cn(owner->cert, cn, sizeof(cn)), alg);
		else
			printf("Unwrapped:       no: %s\n", err.msg);
		OPENSSL_cleanse(key, sizeof(key));
	}
}

static void print_security(xmlNodePtr security)
{
	for (xmlNodePtr n = security ? security->children : NULL; n; n = n->next) {
		if (rl_xml_is(n, RL_NS_WSSE, "BinarySecurityToken")) {
			char *b64 = rl_xml_text(n), cn[256];
			struct rl_err err;
			X509 *c = rl_cert_from_base64(b64 ? b64 : "", &err);

			printf("Token:           BinarySecurityToken %s\n", c ? rl_cert_cn(c, cn, sizeof(cn)) : "(unreadable)");
			X509_free(c);
			free(b64);
		} else if (rl_xml_is(n, RL_NS_XENC, "EncryptedKey")) {
			xmlNodePtr m = rl_xml_child(n, RL_NS_XENC, "EncryptionMethod");
			char *alg = rl_xml_attr(m, NULL, "Algorithm");
			char *dig = rl_xml_attr(rl_xml_child(m, RL_NS_DS, "DigestMethod"), NULL, "Algorithm");
			char *mgf = rl_xml_attr(rl_xml_child(m, RL_NS_XENC11, "MGF"), NULL, "Algorithm");

			printf("EncryptedKey:    %s%s%s%s%s\n", alg ? alg : "?", dig ? " digest " : "", dig ? dig : "",
			       mgf ? " mgf " : "", mgf ? mgf : "");
			free(alg);
			free(dig);
			free(mgf);
		} else if (rl_xml_is(n, RL_NS_XENC, "EncryptedData")) {
			char *alg = rl_xml_attr(rl_xml_child(n, RL_NS_XENC, "EncryptionMethod"), NULL, "Algorithm");
			char *uri = rl_xml_attr(rl_xml_child(rl_xml_child(n, RL_NS_XENC, "CipherData"), RL_NS_XENC,
							     "CipherReference"), NULL, "URI");

			printf("EncryptedData:   %s with %s\n", uri ? uri : "(inline)", alg ? alg : "?");
			free(alg);
			free(uri);
		} else if (rl_xml_is(n, RL_NS_DS, "Signature")) {
			xmlNodePtr si = rl_xml_child(n, RL_NS_DS, "SignedInfo");
			char *alg = rl_xml_attr(rl_xml_child(si, RL_NS_DS, "SignatureMethod"), NULL, "Algorithm");

			printf("Signature:       %s, %d references\n", alg ? alg : "?", rl_xml_count(si, RL_NS_DS, "Reference"));
			free(alg);
		}
	}
}

/* Is this attachment the target of an EncryptedData CipherReference? */
static int is_encrypted(xmlNodePtr security, const char *cid)
{
	for (xmlNodePtr n = rl_xml_child(security, RL_NS_XENC, "EncryptedData"); n; n = rl_xml_next(n, RL_NS_XENC, "EncryptedData")) {
		char *uri = rl_xml_attr(rl_xml_child(rl_xml_child(n, RL_NS_XENC, "CipherData"), RL_NS_XENC,
						     "CipherReference"), NULL, "URI");
		int hit = uri && strncmp(uri, "cid:", 4) == 0 && strcmp(uri + 4, cid) == 0;

		free(uri);
		if (hit)
			return 1;
	}
	return 0;
}

static int run_inspect(int argc, char **argv)
{
	static const struct option options[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct rl_mime_callbacks cb = { on_begin, on_data, on_end };
	struct rl_wss_attachment_digest digests[MAX_PARTS];
	struct rl_wss_verify_opts vo;
	struct rl_wss_verified v;
	struct inspection in;
	struct rl_err err;
	const char *trust_path = NULL, *soap_ns;
	xmlDocPtr doc = NULL;
	xmlNodePtr env, header, security, messaging;
	struct rl_identity keys[MAX_KEYS];
	const struct rl_identity *key_list[MAX_KEYS];
	int c, rc = RL_EXIT_REFUSED, ndigests = 0, nkeys = 0;

	optind = 1;
	memset(keys, 0, sizeof(keys));
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		char *comma;

		if (c == 't') {
			trust_path = optarg;
			continue;
		}
		if (c != 'k' || (comma = strchr(optarg, ',')) == NULL || nkeys == MAX_KEYS) {
			rc = rl_cli_usage_error(&rl_cmd_inspect, "--key takes KEY.pem,CERT.pem (at most %d)", MAX_KEYS);
			goto out_keys;
		}
		*comma = '\0';
		if (rl_identity_load_pem(&keys[nkeys], optarg, comma + 1, NULL, &err) < 0) {
			err.code = RL_ERR_USAGE;
			rc = rl_cli_fail(&err);
			goto out_keys;
		}
		key_list[nkeys] = &keys[nkeys];
		nkeys++;
	}
	if (optind != argc - 1) {
		rc = rl_cli_usage_error(&rl_cmd_inspect, "give one message file");
		goto out_keys;
	}
	memset(&in, 0, sizeof(in));
	in.current = -1;
	if (rl_mime_read_file(argv[optind], NULL, &cb, &in, &err) < 0) {
		rc = rl_cli_fail(&err);
		goto out;
	}
	printf("File:            %s\n", argv[optind]);
	for (int i = 0; i < in.count; i++)
		printf("Attachment:      %s (%s, %llu bytes)\n", in.parts[i].cid ? in.parts[i].cid : "(no Content-ID)",
		       in.parts[i].type, in.parts[i].size);
	doc = rl_xml_parse(in.root.data ? in.root.data : "", in.root.len, RL_EBMS_INVALID_HEADER, "the SOAP envelope", &err);
	if (doc == NULL) {
		rc = rl_cli_fail(&err);
		goto out;
	}
	env = xmlDocGetRootElement(doc);
	soap_ns = rl_xml_is(env, RL_NS_SOAP11, "Envelope") ? RL_NS_SOAP11 : RL_NS_SOAP12;
	if (!rl_xml_is(env, soap_ns, "Envelope")) {
		rl_err_set(&err, RL_EBMS_INVALID_HEADER, "the root part is not a SOAP envelope");
		rc = rl_cli_fail(&err);
		goto out;
	}
	printf("SOAP:            %s\n", strcmp(soap_ns, RL_NS_SOAP11) == 0 ? "1.1" : "1.2");
	header = rl_xml_child(env, soap_ns, "Header");
	messaging = rl_xml_child(header, RL_NS_EB, "Messaging");
	security = rl_xml_child(header, RL_NS_WSSE, "Security");
	if (messaging && rl_xml_child(messaging, RL_NS_EB, "UserMessage"))
		print_user_message(messaging);
	else if (messaging && rl_xml_child(messaging, RL_NS_EB, "SignalMessage"))
		print_signal(rl_xml_child(messaging, RL_NS_EB, "SignalMessage"));
	else
		printf("ebMS:            no eb:Messaging header\n");
	print_security(security);
	print_unwrapped(security, key_list, nkeys);
	if (security == NULL || rl_xml_child(security, RL_NS_DS, "Signature") == NULL) {
		printf("Verified:        nothing (the message is not signed)\n");
		rl_err_set(&err, RL_EBMS_POLICY_NONCOMPLIANCE, "the message is not signed");
		rc = rl_cli_fail(&err);
		goto out;
	}
	for (int i = 0; i < in.count; i++)
		if (in.parts[i].cid && !is_encrypted(security, in.parts[i].cid) &&
		    (strcmp(in.parts[i].type, "application/gzip") == 0 || strcmp(in.parts[i].type, "application/octet-stream") == 0)) {
			digests[ndigests].cid = in.parts[i].cid;
			memcpy(digests[ndigests].digest, in.parts[i].digest, 32);
			ndigests++;
		}
	memset(&vo, 0, sizeof(vo));
	vo.allow_non_peppol_algorithms = 1;
	vo.attachments = digests;
	vo.attachment_count = ndigests;
	vo.report_missing_attachments = 1;
	if (rl_wss_verify(security, &vo, &v, &err) < 0) {
		printf("Verified:        NO: %s\n", err.msg);
		rc = rl_cli_fail(&err);
		goto out;
	}
	{
		char cn[256];
		int covers_messaging = 0, covers_body = 0;

		for (int i = 0; i < v.node_count; i++) {
			covers_messaging |= v.nodes[i] == messaging;
			covers_body |= rl_xml_is(v.nodes[i], soap_ns, "Body") && v.nodes[i]->parent == env;
		}
		printf("Verified:        SignatureValue valid (signer %s); %d element digests ok%s%s; %d attachment "
		       "digests ok; %d attachment references not checkable here (encrypted or absent)\n",
		       rl_cert_cn(v.signer, cn, sizeof(cn)), v.node_count, covers_messaging ? ", eb:Messaging covered" : "",
		       covers_body ? ", Body covered" : "", v.cid_count, v.unchecked);
	}
	rc = RL_EXIT_OK;
	if (trust_path) {
		struct rl_trust *trust = rl_trust_load(trust_path, &err);
		xmlNodePtr ts = NULL;
		time_t at = 0;

		if (messaging) {
			xmlNodePtr m = rl_xml_child(messaging, RL_NS_EB, "UserMessage");

			if (m == NULL)
				m = rl_xml_child(messaging, RL_NS_EB, "SignalMessage");
			ts = rl_xml_child(rl_xml_child(m, RL_NS_EB, "MessageInfo"), RL_NS_EB, "Timestamp");
		}
		if (ts) {
			char *t = rl_xml_text(ts);

			at = t ? rl_parse_datetime(t) : 0;
			free(t);
			if (at == (time_t)-1)
				at = 0;
		}
		if (trust == NULL || rl_trust_verify(trust, v.signer, NULL, at, &err) < 0) {
			printf("Signer chain:    NO: %s\n", err.msg);
			rc = rl_cli_fail(&err);
		} else {
			printf("Signer chain:    trusted at the message time\n");
		}
		rl_trust_free(trust);
	}
	rl_wss_verified_free(&v);
out:
	xmlFreeDoc(doc);
	rl_buf_free(&in.root);
	for (int i = 0; i < in.count; i++) {
		free(in.parts[i].cid);
		free(in.parts[i].type);
		EVP_MD_CTX_free(in.parts[i].md);
	}
out_keys:
	for (int i = 0; i < nkeys; i++)
		rl_identity_free(&keys[i]);
	return rc;
}

const struct rl_command rl_cmd_inspect = {
	"inspect", "summarise an AS4 message or signal file and what verifies", usage, run_inspect,
};

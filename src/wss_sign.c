/*
 * wss_sign.c - WS-Security signatures over wsu:Id elements and SwA attachments: exclusive C14N with
 * libxml2, digests and RSA with OpenSSL. See include/relais/wss_sign.h.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <libxml/c14n.h>
#include <libxml/xmlIO.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include "relais/crypto.h"
#include "relais/keys.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"

#define WSS_SKI_VALUE_TYPE \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier"

/* ------------------------------------------------------------------ canonicalisation */

static int buf_output_write(void *ctx, const char *data, int len)
{
	return rl_buf_append((struct rl_buf *)ctx, data, (size_t)len) < 0 ? -1 : len;
}

static int buf_output_close(void *ctx)
{
	return 0;
}

int rl_c14n_exclusive(xmlNodePtr node, const char *prefixes, struct rl_buf *out, struct rl_err *err)
{
	xmlOutputBufferPtr ob;
	xmlChar **list = NULL;
	char *copy = NULL, *save = NULL, *tok;
	int n = 0, rc;

	if (prefixes) {
		/* the InclusiveNamespaces PrefixList, whole: a token per space at most */
		copy = strdup(prefixes);
		list = calloc(strlen(prefixes) / 2 + 2, sizeof(*list));
		if (copy == NULL || list == NULL) {
			free(copy);
			free(list);
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		}
		for (tok = strtok_r(copy, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save))
			list[n++] = (xmlChar *)tok;
	}
	ob = xmlOutputBufferCreateIO(buf_output_write, buf_output_close, out, NULL);
	if (ob == NULL) {
		free(copy);
		free(list);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	/* libxml2 canonicalises from doc->children; given a visibility callback it still walks and checks
	 * every node of the document, which costs several times the subtree's own work in a SOAP envelope.
	 * For the call, the subtree is made the document's only child instead. Exclusive C14N of a subtree
	 * does not depend on the nodes outside it: nothing outside is rendered, and the namespaces that
	 * InclusiveNamespaces names are looked up through the parent pointers, which stay. So the output is
	 * the same bytes (test_wss compares both ways over the interop corpus). The document
	 * belongs to the caller's thread for the call. */
	xmlDocPtr doc = node->doc;
	xmlNodePtr saved_children = doc->children, saved_next = node->next;
	doc->children = node;
	node->next = NULL;
	rc = xmlC14NExecute(doc, NULL, NULL, XML_C14N_EXCLUSIVE_1_0, n ? list : NULL, 0, ob);
	node->next = saved_next;
	doc->children = saved_children;
	xmlOutputBufferClose(ob);
	free(list);
	free(copy);
	if (rc < 0)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "exclusive canonicalisation of <%s> failed",
				  (const char *)node->name);
	return 0;
}

/* ------------------------------------------------------------------ ids */

static void count_ids(xmlNodePtr node, const char *id, xmlNodePtr *found, int *count)
{
	for (xmlNodePtr n = node; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (xmlAttrPtr a = n->properties; a; a = a->next) {
			int is_id = strcmp((const char *)a->name, "Id") == 0 &&
				    (a->ns == NULL || strcmp((const char *)a->ns->href, RL_NS_WSU) == 0);

			if (!is_id && strcmp((const char *)a->name, "ID") == 0 && a->ns == NULL)
				is_id = 1;
			if (is_id) {
				xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);

				if (v && strcmp((const char *)v, id) == 0) {
					if (*count == 0)
						*found = n;
					(*count)++;
				}
				xmlFree(v);
			}
		}
		count_ids(n->children, id, found, count);
	}
}

xmlNodePtr rl_wss_find_id(xmlDocPtr doc, const char *id, int *count)
{
	xmlNodePtr found = NULL;

	*count = 0;
	count_ids(xmlDocGetRootElement(doc), id, &found, count);
	return *count == 1 ? found : NULL;
}

/* ------------------------------------------------------------------ verification */

void rl_wss_verified_free(struct rl_wss_verified *v)
{
	X509_free(v->signer);
	free(v->nodes);
	for (int i = 0; i < v->cid_count; i++)
		free(v->cids[i]);
	free(v->cids);
	rl_buf_free(&v->references);
	memset(v, 0, sizeof(*v));
}

static const char *algorithm_attr(xmlNodePtr parent, const char *ns, const char *name, char **owned)
{
	*owned = rl_xml_attr(rl_xml_child(parent, ns, name), NULL, "Algorithm");
	return *owned ? *owned : "";
}

/* The PrefixList of an ec:InclusiveNamespaces child, malloc'd, or NULL. */
static char *prefix_list(xmlNodePtr method)
{
	return rl_xml_attr(rl_xml_child(method, RL_NS_EC, "InclusiveNamespaces"), NULL, "PrefixList");
}

static X509 *resolve_key(xmlNodePtr signature, const struct rl_wss_verify_opts *opts, struct rl_err *err)
{
	xmlNodePtr key_info = rl_xml_child(signature, RL_NS_DS, "KeyInfo");
	xmlNodePtr str = rl_xml_child(key_info, RL_NS_WSSE, "SecurityTokenReference");
	xmlNodePtr x509data = rl_xml_child(key_info, RL_NS_DS, "X509Data");

	if (key_info == NULL) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "the signature has no ds:KeyInfo");
		return NULL;
	}
	if (str) {
		xmlNodePtr ref = rl_xml_child(str, RL_NS_WSSE, "Reference");
		xmlNodePtr kid = rl_xml_child(str, RL_NS_WSSE, "KeyIdentifier");

		if (x509data == NULL)
			x509data = rl_xml_child(str, RL_NS_DS, "X509Data");
		if (ref) {
			char *uri = rl_xml_attr(ref, NULL, "URI"), *vt;
			xmlNodePtr bst;
			X509 *cert = NULL;
			char *b64;
			int count;

			if (uri == NULL || uri[0] != '#') {
				rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
					   "the signature's token reference '%s' is not a local #id", uri ? uri : "");
				free(uri);
				return NULL;
			}
			bst = rl_wss_find_id(signature->doc, uri + 1, &count);
			if (bst == NULL || !rl_xml_is(bst, RL_NS_WSSE, "BinarySecurityToken")) {
				rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, count > 1
					   ? "the signing token id '%s' appears more than once"
					   : "the signing token '%s' is not a wsse:BinarySecurityToken", uri + 1);
				free(uri);
				return NULL;
			}
			free(uri);
			vt = rl_xml_attr(bst, NULL, "ValueType");
			if (vt == NULL || strcmp(vt, RL_WSS_X509V3) != 0) {
				rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE,
					   "the signing BinarySecurityToken has ValueType '%s', not X509v3",
					   vt ? vt : "");
				free(vt);
				return NULL;
			}
			free(vt);
			b64 = rl_xml_text(bst);
			cert = b64 ? rl_cert_from_base64(b64, err) : NULL;
			free(b64);
			if (cert == NULL)
				rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
					   "the signing BinarySecurityToken does not hold an X.509 certificate");
			return cert;
		}
		if (kid) {
			char *vt = rl_xml_attr(kid, NULL, "ValueType"), *b64 = rl_xml_text(kid);
			struct rl_buf ski = RL_BUF_INIT;
			X509 *cert = NULL;

			if (vt && strcmp(vt, WSS_SKI_VALUE_TYPE) == 0 && b64 &&
			    rl_base64_decode(b64, strlen(b64), &ski) == 0)
				for (int i = 0; i < opts->known_cert_count && !cert; i++)
					if (rl_cert_matches_ski(opts->known_certs[i], (unsigned char *)ski.data, ski.len))
						cert = X509_dup(opts->known_certs[i]);
			if (cert == NULL)
				rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
					   "the signing key identifier names no known certificate");
			free(vt);
			free(b64);
			rl_buf_free(&ski);
			return cert;
		}
	}
	if (x509data) {
		xmlNodePtr c = rl_xml_child(x509data, RL_NS_DS, "X509Certificate");
		xmlNodePtr is = rl_xml_child(x509data, RL_NS_DS, "X509IssuerSerial");
		X509 *cert = NULL;

		if (c) {
			char *b64 = rl_xml_text(c);

			cert = rl_cert_from_base64(b64 ? b64 : "", err);
			free(b64);
		} else if (is) {
			char *issuer = rl_xml_text(rl_xml_child(is, RL_NS_DS, "X509IssuerName"));
			char *serial = rl_xml_text(rl_xml_child(is, RL_NS_DS, "X509SerialNumber"));

			for (int i = 0; i < opts->known_cert_count && !cert && issuer && serial; i++)
				if (rl_cert_matches_issuer_serial(opts->known_certs[i], issuer, serial))
					cert = X509_dup(opts->known_certs[i]);
			free(issuer);
			free(serial);
		}
		if (cert)
			return cert;
	}
	rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "the signing certificate cannot be found from ds:KeyInfo");
	return NULL;
}

static int digest_matches(const EVP_MD *md, const void *data, size_t len, xmlNodePtr digest_value,
			  const char *uri, struct rl_err *err)
{
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;
	struct rl_buf want = RL_BUF_INIT;
	char *b64 = rl_xml_text(digest_value);
	int ok;

	EVP_Digest(data, len, got, &got_len, rl_md_fetched(md), NULL);
	ok = b64 && rl_base64_decode(b64, strlen(b64), &want) == 0 && want.len == got_len &&
	     memcmp(want.data, got, got_len) == 0;
	free(b64);
	rl_buf_free(&want);
	if (!ok)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "the digest of %s does not match the signature",
				  uri);
	return 0;
}

static int verify_reference(xmlNodePtr ref, const struct rl_wss_verify_opts *opts, struct rl_wss_verified *out,
			    struct rl_err *err)
{
	char *uri = rl_xml_attr(ref, NULL, "URI"), *digest_alg = NULL;
	xmlNodePtr transforms = rl_xml_child(ref, RL_NS_DS, "Transforms");
	xmlNodePtr transform = rl_xml_child(transforms, RL_NS_DS, "Transform");
	xmlNodePtr digest_value = rl_xml_child(ref, RL_NS_DS, "DigestValue");
	const char *dalg = algorithm_attr(ref, RL_NS_DS, "DigestMethod", &digest_alg);
	const EVP_MD *md = rl_md_from_uri(dalg);
	char *talg = rl_xml_attr(transform, NULL, "Algorithm");
	int rc = -1;

	if (uri == NULL || digest_value == NULL) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "a ds:Reference has no URI or no DigestValue");
		goto done;
	}
	if (md == NULL || (!opts->allow_non_peppol_algorithms && strcmp(dalg, RL_DS_SHA256) != 0)) {
		rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "digest method '%s' of %s is not allowed (Peppol: "
			   "SHA-256)", dalg, uri);
		goto done;
	}
	if (transform && rl_xml_next(transform, RL_NS_DS, "Transform")) {
		rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "%s has more than one transform", uri);
		goto done;
	}
	if (uri[0] == '#') {
		int count;
		xmlNodePtr node = rl_wss_find_id(ref->doc, uri + 1, &count);
		struct rl_buf c14n = RL_BUF_INIT;
		char *prefixes;
		xmlNodePtr *nodes;

		if (node == NULL) {
			rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, count > 1
				   ? "the id %s appears %d times in the message (signature wrapping)"
				   : "the signed element %s does not exist%.0d", uri, count);
			goto done;
		}
		if (talg == NULL || strcmp(talg, RL_DS_EXC_C14N) != 0) {
			rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "%s is not canonicalised with exclusive C14N", uri);
			goto done;
		}
		prefixes = prefix_list(transform);
		rc = rl_c14n_exclusive(node, prefixes, &c14n, err);
		free(prefixes);
		if (rc == 0)
			rc = digest_matches(md, c14n.data, c14n.len, digest_value, uri, err);
		rl_buf_free(&c14n);
		if (rc < 0)
			goto done;
		nodes = realloc(out->nodes, sizeof(*nodes) * (size_t)(out->node_count + 1));
		if (nodes == NULL) {
			rc = rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto done;
		}
		out->nodes = nodes;
		out->nodes[out->node_count++] = node;
	} else if (strncmp(uri, "cid:", 4) == 0) {
		const struct rl_wss_attachment_digest *a = NULL;
		struct rl_buf want = RL_BUF_INIT;
		char *b64 = rl_xml_text(digest_value), **cids;
		int ok;

		if (talg == NULL || strcmp(talg, RL_SWA_CONTENT_SIG_TRANSFORM) != 0) {
			rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "%s does not use the Attachment-Content-"
				   "Signature-Transform", uri);
			free(b64);
			goto done;
		}
		for (int i = 0; i < opts->attachment_count; i++)
			if (strcmp(opts->attachments[i].cid, uri + 4) == 0)
				a = &opts->attachments[i];
		if (a == NULL && opts->report_missing_attachments) {
			free(b64);
			out->unchecked++;
			rc = 0;
			goto done;
		}
		if (a == NULL) {
			rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "the signed attachment %s is not in the message",
				   uri);
			free(b64);
			goto done;
		}
		ok = b64 && rl_base64_decode(b64, strlen(b64), &want) == 0 && want.len == 32 &&
		     EVP_MD_get_size(md) == 32 && memcmp(want.data, a->digest, 32) == 0;
		free(b64);
		rl_buf_free(&want);
		if (!ok) {
			rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "the digest of %s does not match the signature "
				   "(the payload was changed)", uri);
			goto done;
		}
		cids = realloc(out->cids, sizeof(*cids) * (size_t)(out->cid_count + 1));
		if (cids == NULL || (cids[out->cid_count] = strdup(uri + 4)) == NULL) {
			if (cids)
				out->cids = cids;
			rc = rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto done;
		}
		out->cids = cids;
		out->cid_count++;
	} else {
		rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "the signature reference '%s' is neither #id nor cid:",
			   uri);
		goto done;
	}
	rc = rl_xml_dump_standalone(ref, &out->references) < 0 ? rl_err_set(err, RL_ERR_NOMEM, "out of memory") : 0;
done:
	free(uri);
	free(digest_alg);
	free(talg);
	return rc;
}

int rl_wss_verify(xmlNodePtr security, const struct rl_wss_verify_opts *opts, struct rl_wss_verified *out,
		  struct rl_err *err)
{
	xmlNodePtr signature, signed_info, sig_value;
	char *c14n_alg = NULL, *sig_alg = NULL, *prefixes = NULL, *b64 = NULL;
	const char *calg, *salg;
	const EVP_MD *sig_md;
	struct rl_buf c14n = RL_BUF_INIT, sig = RL_BUF_INIT;
	EVP_PKEY *pub;
	int rc = -1, nsig;

	memset(out, 0, sizeof(*out));
	nsig = rl_xml_count(security, RL_NS_DS, "Signature");
	if (nsig == 0)
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "the message is not signed (no ds:Signature)");
	if (nsig > 1)
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "the security header holds %d signatures", nsig);
	signature = rl_xml_child(security, RL_NS_DS, "Signature");
	signed_info = rl_xml_child(signature, RL_NS_DS, "SignedInfo");
	sig_value = rl_xml_child(signature, RL_NS_DS, "SignatureValue");
	if (signed_info == NULL || sig_value == NULL)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "ds:Signature lacks SignedInfo or SignatureValue");
	calg = algorithm_attr(signed_info, RL_NS_DS, "CanonicalizationMethod", &c14n_alg);
	salg = algorithm_attr(signed_info, RL_NS_DS, "SignatureMethod", &sig_alg);
	sig_md = rl_sig_md_from_uri(salg);
	if (strcmp(calg, RL_DS_EXC_C14N) != 0) {
		rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "SignedInfo canonicalisation '%s' is not exclusive C14N",
			   calg);
		goto done;
	}
	if (sig_md == NULL || (!opts->allow_non_peppol_algorithms && strcmp(salg, RL_DS_RSA_SHA256) != 0)) {
		rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "signature method '%s' is not allowed (Peppol: "
			   "rsa-sha256)", salg);
		goto done;
	}
	for (xmlNodePtr ref = rl_xml_child(signed_info, RL_NS_DS, "Reference"); ref;
	     ref = rl_xml_next(ref, RL_NS_DS, "Reference"))
		if (verify_reference(ref, opts, out, err) < 0)
			goto done;
	if (out->node_count + out->cid_count == 0) {
		rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "the signature covers nothing");
		goto done;
	}
	out->signer = resolve_key(signature, opts, err);
	if (out->signer == NULL)
		goto done;
	prefixes = prefix_list(rl_xml_child(signed_info, RL_NS_DS, "CanonicalizationMethod"));
	if (rl_c14n_exclusive(signed_info, prefixes, &c14n, err) < 0)
		goto done;
	b64 = rl_xml_text(sig_value);
	if (b64 == NULL || rl_base64_decode(b64, strlen(b64), &sig) < 0) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "the SignatureValue is not base64");
		goto done;
	}
	pub = X509_get0_pubkey(out->signer);
	if (pub == NULL || rl_verify(pub, sig_md, c14n.data, c14n.len, (unsigned char *)sig.data, sig.len, err) < 0) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "the SignatureValue does not verify with the signer's "
			   "key");
		goto done;
	}
	snprintf(out->algorithms, sizeof(out->algorithms), "%s exc-c14n",
		 strrchr(salg, '#') ? strrchr(salg, '#') + 1 : salg);
	rc = 0;
done:
	free(c14n_alg);
	free(sig_alg);
	free(prefixes);
	free(b64);
	rl_buf_free(&c14n);
	rl_buf_free(&sig);
	if (rc < 0)
		rl_wss_verified_free(out);
	return rc;
}

/* ------------------------------------------------------------------ signing */

static xmlNodePtr add_alg(xmlNodePtr parent, xmlNsPtr ds, const char *name, const char *alg)
{
	xmlNodePtr n = xmlNewChild(parent, ds, (const xmlChar *)name, NULL);

	if (n && xmlNewProp(n, (const xmlChar *)"Algorithm", (const xmlChar *)alg) == NULL)
		return NULL;
	return n;
}

int rl_wss_sign(xmlNodePtr security, EVP_PKEY *key, X509 *cert, const char *bst_id,
		const struct rl_wss_sign_ref *refs, int ref_count, struct rl_err *err)
{
	xmlNsPtr wsse = xmlSearchNsByHref(security->doc, security, (const xmlChar *)RL_NS_WSSE);
	xmlNsPtr wsu = xmlSearchNsByHref(security->doc, security, (const xmlChar *)RL_NS_WSU), ds;
	xmlNodePtr bst, signature, signed_info, key_info, str, ref;
	struct rl_buf b64 = RL_BUF_INIT, c14n = RL_BUF_INIT, sig = RL_BUF_INIT;
	int rc = -1;

	if (wsse == NULL || wsu == NULL)
		return rl_err_set(err, RL_ERR_INTERNAL, "wsse:Security must declare the wsse and wsu namespaces");
	if (rl_cert_to_der_base64(cert, &b64) < 0)
		return rl_err_set(err, RL_ERR_CRYPTO, "cannot encode the signing certificate");
	bst = xmlNewTextChild(security, wsse, (const xmlChar *)"BinarySecurityToken", (const xmlChar *)b64.data);
	rl_buf_reset(&b64);
	if (bst == NULL || !xmlNewProp(bst, (const xmlChar *)"EncodingType", (const xmlChar *)RL_WSS_BASE64) ||
	    !xmlNewProp(bst, (const xmlChar *)"ValueType", (const xmlChar *)RL_WSS_X509V3) ||
	    !xmlNewNsProp(bst, wsu, (const xmlChar *)"Id", (const xmlChar *)bst_id))
		goto nomem;
	signature = xmlNewChild(security, NULL, (const xmlChar *)"Signature", NULL);
	if (signature == NULL || (ds = xmlNewNs(signature, (const xmlChar *)RL_NS_DS, (const xmlChar *)"ds")) == NULL)
		goto nomem;
	xmlSetNs(signature, ds);
	signed_info = xmlNewChild(signature, ds, (const xmlChar *)"SignedInfo", NULL);
	if (signed_info == NULL || !add_alg(signed_info, ds, "CanonicalizationMethod", RL_DS_EXC_C14N) ||
	    !add_alg(signed_info, ds, "SignatureMethod", RL_DS_RSA_SHA256))
		goto nomem;
	for (int i = 0; i < ref_count; i++) {
		xmlNodePtr transforms;
		unsigned char digest[RL_SHA256_LEN];
		char *uri = NULL;

		rl_buf_reset(&b64);
		if (refs[i].node) {
			char *id = rl_xml_attr(refs[i].node, RL_NS_WSU, "Id");

			if (id == NULL) {
				rl_err_set(err, RL_ERR_INTERNAL, "a signed element has no wsu:Id");
				goto done;
			}
			rl_buf_reset(&c14n);
			if (asprintf(&uri, "#%s", id) < 0 || rl_c14n_exclusive(refs[i].node, NULL, &c14n, err) < 0) {
				free(id);
				free(uri);
				goto done;
			}
			free(id);
			rl_sha256(c14n.data, c14n.len, digest);
		} else {
			if (asprintf(&uri, "cid:%s", refs[i].cid) < 0)
				goto nomem;
			memcpy(digest, refs[i].digest, RL_SHA256_LEN);
		}
		ref = xmlNewChild(signed_info, ds, (const xmlChar *)"Reference", NULL);
		if (ref == NULL || !xmlNewProp(ref, (const xmlChar *)"URI", (const xmlChar *)uri)) {
			free(uri);
			goto nomem;
		}
		free(uri);
		transforms = xmlNewChild(ref, ds, (const xmlChar *)"Transforms", NULL);
		if (transforms == NULL ||
		    !add_alg(transforms, ds, "Transform", refs[i].node ? RL_DS_EXC_C14N : RL_SWA_CONTENT_SIG_TRANSFORM) ||
		    !add_alg(ref, ds, "DigestMethod", RL_DS_SHA256) || rl_base64_encode(digest, sizeof(digest), &b64) < 0 ||
		    !xmlNewTextChild(ref, ds, (const xmlChar *)"DigestValue", (const xmlChar *)b64.data))
			goto nomem;
	}
	rl_buf_reset(&c14n);
	if (rl_c14n_exclusive(signed_info, NULL, &c14n, err) < 0 ||
	    rl_sign(key, EVP_sha256(), c14n.data, c14n.len, &sig, err) < 0)
		goto done;
	rl_buf_reset(&b64);
	if (rl_base64_encode(sig.data, sig.len, &b64) < 0 ||
	    !xmlNewTextChild(signature, ds, (const xmlChar *)"SignatureValue", (const xmlChar *)b64.data))
		goto nomem;
	key_info = xmlNewChild(signature, ds, (const xmlChar *)"KeyInfo", NULL);
	str = key_info ? xmlNewChild(key_info, wsse, (const xmlChar *)"SecurityTokenReference", NULL) : NULL;
	ref = str ? xmlNewChild(str, wsse, (const xmlChar *)"Reference", NULL) : NULL;
	rl_buf_reset(&b64);
	if (ref == NULL || rl_buf_printf(&b64, "#%s", bst_id) < 0 ||
	    !xmlNewProp(ref, (const xmlChar *)"URI", (const xmlChar *)b64.data) ||
	    !xmlNewProp(ref, (const xmlChar *)"ValueType", (const xmlChar *)RL_WSS_X509V3))
		goto nomem;
	rc = 0;
	goto done;
nomem:
	rl_err_set(err, RL_ERR_NOMEM, "out of memory building the signature");
done:
	rl_buf_free(&b64);
	rl_buf_free(&c14n);
	rl_buf_free(&sig);
	return rc;
}

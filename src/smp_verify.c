/*
 * smp_verify.c - the XML signature of SMP responses: one enveloped ds:Signature over the whole document,
 * checked with xmlsec against the signer certificate from ds:KeyInfo, whose chain is checked against the
 * SMP trust anchors (include/relais/smp.h states the rules).
 */
#include "config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/transforms.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include "relais/cli.h"
#include "relais/smp.h"
#include "relais/xml.h"

struct algorithm {
	const char *uri;
	const char *name;
};

static const struct algorithm signature_methods[] = {
	{ "http://www.w3.org/2000/09/xmldsig#rsa-sha1", "rsa-sha1" },
	{ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "rsa-sha256" },
	{ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "rsa-sha384" },
	{ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", "rsa-sha512" },
	{ NULL, NULL }
};
static const struct algorithm digest_methods[] = {
	{ "http://www.w3.org/2000/09/xmldsig#sha1", "sha1" },
	{ "http://www.w3.org/2001/04/xmlenc#sha256", "sha256" },
	{ "http://www.w3.org/2001/04/xmldsig-more#sha384", "sha384" },
	{ "http://www.w3.org/2001/04/xmlenc#sha512", "sha512" },
	{ NULL, NULL }
};
static const struct algorithm c14n_methods[] = {
	{ "http://www.w3.org/TR/2001/REC-xml-c14n-20010315", "c14n" },
	{ "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments", "c14n-with-comments" },
	{ "http://www.w3.org/2001/10/xml-exc-c14n#", "exc-c14n" },
	{ "http://www.w3.org/2001/10/xml-exc-c14n#WithComments", "exc-c14n-with-comments" },
	{ NULL, NULL }
};
#define ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

/* The short name of the algorithm attribute of node when it is in list, else NULL (uri gets the value). */
static const char *algorithm_of(xmlNodePtr node, const struct algorithm *list, char **uri)
{
	*uri = rl_xml_attr(node, NULL, "Algorithm");
	if (!*uri)
		return NULL;
	for (const struct algorithm *a = list; a->uri; a++)
		if (strcmp(a->uri, *uri) == 0)
			return a->name;
	return NULL;
}

/* The first ds:Signature below node, depth first (NULL when there is none). */
static xmlNodePtr signature_below(xmlNodePtr node)
{
	for (xmlNodePtr c = node->children; c; c = c->next) {
		xmlNodePtr found;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (rl_xml_is(c, RL_NS_DS, "Signature"))
			return c;
		if ((found = signature_below(c)) != NULL)
			return found;
	}
	return NULL;
}

/* The SMP signature: the one ds:Signature child of the document element, which must be its last element
 * child, where every flavour's schema puts it (Peppol and BDXR 1.0 SignedServiceMetadata: ServiceMetadata
 * then ds:Signature; SMP 2.0 ServiceGroup and ServiceMetadata: ds:Signature after the content). A
 * signature found only deeper, or followed by more content, is refused with where it is. ds:Signature
 * elements deeper in the document (some SMP 1.0 extensions carry one) are signed content, not used. */
static xmlNodePtr find_signature(xmlNodePtr root, struct rl_err *err)
{
	const char *name = (const char *)root->name;
	int count = rl_xml_count(root, RL_NS_DS, "Signature");
	xmlNodePtr sig, next;

	if (count > 1) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP response %s has %d signatures; one is accepted", name,
			   count);
		return NULL;
	}
	if (count == 0) {
		sig = signature_below(root);
		if (sig)
			rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
				   "SMP response %s: its signature is inside %s; it must be the last child of %s", name,
				   (const char *)sig->parent->name, name);
		else
			rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP response %s is not signed", name);
		return NULL;
	}
	sig = rl_xml_child(root, RL_NS_DS, "Signature");
	for (next = sig->next; next && next->type != XML_ELEMENT_NODE; next = next->next)
		;
	if (next) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
			   "SMP response %s: its signature is followed by %s; it must be the last child of %s", name,
			   (const char *)next->name, name);
		return NULL;
	}
	return sig;
}

/* Checks the shape of the signature and the algorithms before anything is computed. */
static int check_signed_info(xmlNodePtr sig, struct rl_smp_signature *out, struct rl_err *err)
{
	xmlNodePtr si = rl_xml_child(sig, RL_NS_DS, "SignedInfo"), ref, tr;
	const char *c14n, *method, *digest;
	char *uri = NULL, *c14n_uri = NULL, *method_uri = NULL, *digest_uri = NULL;
	int rc = -1, enveloped = 0;

	if (!si)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP signature has no SignedInfo");
	c14n = algorithm_of(rl_xml_child(si, RL_NS_DS, "CanonicalizationMethod"), c14n_methods, &c14n_uri);
	method = algorithm_of(rl_xml_child(si, RL_NS_DS, "SignatureMethod"), signature_methods, &method_uri);
	if (!c14n) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP signature: canonicalization %s is not accepted",
			   c14n_uri ? c14n_uri : "(none)");
		goto out;
	}
	if (!method) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP signature: signature method %s is not accepted",
			   method_uri ? method_uri : "(none)");
		goto out;
	}
	if (rl_xml_count(si, RL_NS_DS, "Reference") != 1) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
			   "SMP signature has %d references; exactly one, over the whole document, is accepted",
			   rl_xml_count(si, RL_NS_DS, "Reference"));
		goto out;
	}
	ref = rl_xml_child(si, RL_NS_DS, "Reference");
	uri = rl_xml_attr(ref, NULL, "URI");
	if (!uri || uri[0] != '\0') {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
			   "SMP signature reference URI is \"%.100s\", not \"\": it does not cover the whole document",
			   uri ? uri : "(absent)");
		goto out;
	}
	for (tr = rl_xml_child(rl_xml_child(ref, RL_NS_DS, "Transforms"), RL_NS_DS, "Transform"); tr;
	     tr = rl_xml_next(tr, RL_NS_DS, "Transform")) {
		char *turi = NULL;

		if (algorithm_of(tr, c14n_methods, &turi) == NULL) {
			if (turi && strcmp(turi, ENVELOPED) == 0) {
				enveloped = 1;
			} else {
				rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP signature: transform %.100s is not accepted",
					   turi ? turi : "(none)");
				free(turi);
				goto out;
			}
		}
		free(turi);
	}
	if (!enveloped) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP signature is not an enveloped signature");
		goto out;
	}
	digest = algorithm_of(rl_xml_child(ref, RL_NS_DS, "DigestMethod"), digest_methods, &digest_uri);
	if (!digest) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP signature: digest method %s is not accepted",
			   digest_uri ? digest_uri : "(none)");
		goto out;
	}
	snprintf(out->algorithms, sizeof(out->algorithms), "%s %s %s", method, digest, c14n);
	rc = 0;
out:
	free(uri);
	free(c14n_uri);
	free(method_uri);
	free(digest_uri);
	return rc;
}

/* The certificates of ds:KeyInfo/ds:X509Data: the first (the signer, usually) is returned, the others go
 * into *others. */
static X509 *keyinfo_certs(xmlNodePtr sig, STACK_OF(X509) **others, struct rl_err *err)
{
	xmlNodePtr data = rl_xml_child(rl_xml_child(sig, RL_NS_DS, "KeyInfo"), RL_NS_DS, "X509Data"), c;
	X509 *signer = NULL;

	*others = NULL;
	for (c = rl_xml_child(data, RL_NS_DS, "X509Certificate"); c; c = rl_xml_next(c, RL_NS_DS, "X509Certificate")) {
		char *b64 = rl_xml_text(c);
		X509 *cert = b64 ? rl_cert_from_base64(b64, err) : NULL;

		free(b64);
		if (!cert) {
			X509_free(signer);
			sk_X509_pop_free(*others, X509_free);
			*others = NULL;
			rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP signature: KeyInfo certificate cannot be read");
			return NULL;
		}
		if (!signer) {
			signer = cert;
		} else {
			if (!*others)
				*others = sk_X509_new_null();
			if (!*others || !sk_X509_push(*others, cert))
				X509_free(cert);
		}
	}
	if (!signer)
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
			   "SMP signature carries no X509Certificate in KeyInfo/X509Data");
	return signer;
}

static int enable_transforms(xmlSecDSigCtxPtr ctx)
{
	xmlSecTransformId ref_ids[] = {
		xmlSecTransformEnvelopedId, xmlSecTransformInclC14NId, xmlSecTransformInclC14NWithCommentsId,
		xmlSecTransformExclC14NId, xmlSecTransformExclC14NWithCommentsId, xmlSecTransformSha1Id,
		xmlSecTransformSha256Id, xmlSecTransformSha384Id, xmlSecTransformSha512Id
	};
	xmlSecTransformId sig_ids[] = {
		xmlSecTransformInclC14NId, xmlSecTransformInclC14NWithCommentsId, xmlSecTransformExclC14NId,
		xmlSecTransformExclC14NWithCommentsId, xmlSecTransformRsaSha1Id, xmlSecTransformRsaSha256Id,
		xmlSecTransformRsaSha384Id, xmlSecTransformRsaSha512Id
	};

	for (size_t i = 0; i < sizeof(ref_ids) / sizeof(ref_ids[0]); i++)
		if (xmlSecDSigCtxEnableReferenceTransform(ctx, ref_ids[i]) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(sig_ids) / sizeof(sig_ids[0]); i++)
		if (xmlSecDSigCtxEnableSignatureTransform(ctx, sig_ids[i]) < 0)
			return -1;
	return 0;
}

/* Verifies the signature value and digest with the signer's public key. */
static int xmlsec_verify(xmlNodePtr sig, X509 *signer, struct rl_err *err)
{
	xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
	EVP_PKEY *pub = X509_get_pubkey(signer);
	xmlSecKeyDataPtr data = NULL;
	int rc = -1;

	if (!ctx || !pub) {
		rl_err_set(err, RL_ERR_CRYPTO, "cannot prepare the SMP signature check");
		goto out;
	}
	ctx->signKey = xmlSecKeyCreate();
	data = ctx->signKey ? xmlSecOpenSSLEvpKeyAdopt(pub) : NULL;
	if (!data || xmlSecKeySetValue(ctx->signKey, data) < 0) {
		if (data)
			xmlSecKeyDataDestroy(data);
		else
			EVP_PKEY_free(pub);
		pub = NULL;
		rl_err_set(err, RL_ERR_CRYPTO, "cannot use the SMP signer's public key");
		goto out;
	}
	pub = NULL;
	if (enable_transforms(ctx) < 0) {
		rl_err_set(err, RL_ERR_CRYPTO, "cannot restrict the SMP signature algorithms");
		goto out;
	}
	if (xmlSecDSigCtxVerify(ctx, sig) < 0) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP signature cannot be processed");
		goto out;
	}
	if (ctx->status != xmlSecDSigStatusSucceeded) {
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
			   "SMP signature does not match the document (changed after signing, or wrong key)");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pub);
	if (ctx)
		xmlSecDSigCtxDestroy(ctx);
	return rc;
}

int rl_smp_is_signed(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);

	return root && (rl_xml_is(root, RL_NS_DS, "Signature") || signature_below(root) != NULL);
}

int rl_smp_verify(xmlDocPtr doc, const struct rl_trust *anchors, time_t at, struct rl_smp_signature *out,
		  struct rl_err *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), sig;
	STACK_OF(X509) *others = NULL;
	X509 *signer;

	memset(out, 0, sizeof(*out));
	if (rl_xmlsec_init(err) < 0)
		return -1;
	if (!root)
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response is empty");
	sig = find_signature(root, err);
	if (!sig)
		return -1;
	if (check_signed_info(sig, out, err) < 0)
		return -1;
	signer = keyinfo_certs(sig, &others, err);
	if (!signer)
		return -1;
	if (xmlsec_verify(sig, signer, err) < 0) {
		/* KeyInfo may list a CA certificate before the signer's: the signer is the one whose key
		 * verifies. */
		struct rl_err other_err;
		int found = -1;

		for (int i = 0; i < sk_X509_num(others) && found < 0; i++)
			if (xmlsec_verify(sig, sk_X509_value(others, i), &other_err) == 0)
				found = i;
		if (found < 0)
			goto fail;
		X509_free(signer);
		signer = sk_X509_delete(others, found);
	}
	/* Only the bundle's intermediates build the chain: a CA certificate slipped into KeyInfo (an AP CA
	 * under the same root) must not make another kind of certificate acceptable as an SMP signer. */
	if (rl_trust_verify(anchors, signer, NULL, at, err) < 0) {
		rl_err_prefix(err, "SMP signer");
		goto fail;
	}
	sk_X509_pop_free(others, X509_free);
	out->signer = signer;
	return 0;
fail:
	sk_X509_pop_free(others, X509_free);
	X509_free(signer);
	return -1;
}

/* Lower-cased copy of s without spaces. */
static void squash(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 1 < size; s++)
		if (!isspace((unsigned char)*s))
			out[n++] = (char)tolower((unsigned char)*s);
	out[n] = '\0';
}

int rl_smp_cert_uid_matches(X509 *cert, const char *cert_uid)
{
	char *subject = rl_cert_subject(cert);
	char a[1024], b[1024], cn[256];
	int match;

	if (!subject)
		return 0;
	squash(subject, a, sizeof(a));
	squash(cert_uid, b, sizeof(b));
	free(subject);
	match = strcmp(a, b) == 0;
	if (!match) {
		rl_cert_cn(cert, cn, sizeof(cn));
		squash(cn, a, sizeof(a));
		match = a[0] && strcmp(a, b) == 0;
	}
	return match;
}

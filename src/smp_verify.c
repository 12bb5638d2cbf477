/*
 * smp_verify.c - the XML signature of SMP responses: an enveloped ds:Signature over the whole document (the
 * one signature of an SMP 1.x document, one of the set that ends an SMP 2.0 document), checked with xmlsec
 * against the signer certificate from ds:KeyInfo, whose chain is checked against the SMP trust anchors
 * (include/relais/smp.h states the rules).
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

/* 1 for an OASIS SMP 2.0 document, whose schemas let the root end with a set of ds:Signature elements. */
static int is_smp2(xmlNodePtr root)
{
	return rl_xml_is(root, RL_NS_SMP2_SM, NULL) || rl_xml_is(root, RL_NS_SMP2_SG, NULL);
}

/* The candidates for the SMP signature: the ds:Signature children of the document element, which must be
 * its last element children, where every flavour's schema puts them (Peppol and BDXR 1.0
 * SignedServiceMetadata: ServiceMetadata then one ds:Signature; SMP 2.0 ServiceGroup and ServiceMetadata:
 * the content, then zero or more ds:Signature). SMP 1.x documents may have one, SMP 2.0 documents up to
 * RL_SMP_SIGNATURES_MAX. A signature found only deeper, or followed by more content, is refused with where
 * it is. ds:Signature elements deeper in the document (some SMP 1.0 extensions carry one) are signed
 * content, not candidates. Fills sigs (in document order) and returns their number, or -1. */
static int find_signatures(xmlNodePtr root, xmlNodePtr sigs[RL_SMP_SIGNATURES_MAX], struct rl_err *err)
{
	const char *name = (const char *)root->name;
	int count = rl_xml_count(root, RL_NS_DS, "Signature"), n = 0;
	xmlNodePtr sig, c;

	if (count > 1 && !is_smp2(root))
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP response %s has %d signatures; one is accepted",
				  name, count);
	if (count > RL_SMP_SIGNATURES_MAX)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
				  "SMP response %s has %d signatures; at most %d are examined", name, count,
				  RL_SMP_SIGNATURES_MAX);
	if (count == 0) {
		sig = signature_below(root);
		if (sig)
			return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
					  "SMP response %s: its signature is inside %s; it must be the last child of %s", name,
					  (const char *)sig->parent->name, name);
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP response %s is not signed", name);
	}
	for (c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (rl_xml_is(c, RL_NS_DS, "Signature")) {
			sigs[n++] = c;
		} else if (n > 0 && count == 1) {
			return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
					  "SMP response %s: its signature is followed by %s; it must be the last child of %s",
					  name, (const char *)c->name, name);
		} else if (n > 0) {
			return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
					  "SMP response %s: signature %d of %d is followed by %s; the signatures must be the "
					  "last children of %s", name, n, count, (const char *)c->name, name);
		}
	}
	return n;
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

/* Checks one candidate as the SMP signature: its shape, its value with the key of a KeyInfo certificate,
 * that certificate's chain to the anchors. Fills out (algorithms, signer). */
static int verify_one(xmlNodePtr sig, const struct rl_trust *anchors, time_t at, struct rl_smp_signature *out,
		      struct rl_err *err)
{
	STACK_OF(X509) *others = NULL;
	X509 *signer;

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

/* With several candidates, the first one that passes every check is the SMP's signature. It covers the
 * whole document but itself, so the other signatures are content it signed: they are not checked. When
 * none passes, the error lists why each was refused. */
int rl_smp_verify(xmlDocPtr doc, const struct rl_trust *anchors, time_t at, struct rl_smp_signature *out,
		  struct rl_err *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), sigs[RL_SMP_SIGNATURES_MAX];
	char reasons[RL_ERR_MSG_MAX] = "";
	int count, code = RL_EBMS_FAILED_AUTHENTICATION;
	size_t used = 0;

	memset(out, 0, sizeof(*out));
	if (rl_xmlsec_init(err) < 0)
		return -1;
	if (!root)
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response is empty");
	count = find_signatures(root, sigs, err);
	if (count < 0)
		return -1;
	for (int i = 0; i < count; i++) {
		struct rl_err one;

		/* the one signature of a document is refused with its own reason */
		if (verify_one(sigs[i], anchors, at, out, count == 1 ? err : &one) == 0) {
			out->index = i + 1;
			out->count = count;
			return 0;
		}
		memset(out, 0, sizeof(*out));
		if (count == 1)
			return -1;
		/* a failure that is not the signature's (xmlsec cannot be set up, the signer's revocation status
		 * cannot be had) keeps its code */
		if (code == RL_EBMS_FAILED_AUTHENTICATION && one.code != RL_EBMS_FAILED_AUTHENTICATION)
			code = one.code;
		if (used < sizeof(reasons)) {
			int n = snprintf(reasons + used, sizeof(reasons) - used, "%s%d: %s", i ? "; " : "", i + 1,
					 one.msg);

			used = n < 0 ? sizeof(reasons) : used + (size_t)n;
		}
	}
	return rl_err_set(err, code, "SMP response %s: none of its %d signatures is a valid SMP signature over the "
			  "whole document (%s)", (const char *)root->name, count, reasons);
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

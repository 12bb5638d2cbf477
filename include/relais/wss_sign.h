/*
 * wss_sign.h - WS-Security XML signatures as the Peppol AS4 profile uses them: a detached ds:Signature
 * in wsse:Security over elements named by wsu:Id (exclusive C14N, SHA-256) and over attachments
 * (cid: references with the SwA Attachment-Content-Signature-Transform, whose digests the caller
 * computes while streaming), signed with RSA-SHA256.
 *
 * Verification cannot be fooled by wrapping: every "#id" reference must name exactly one element in
 * the whole document (duplicate ids are refused), and the result lists the very nodes that were
 * digested so the caller can require that they are the eb:Messaging and Body it processes.
 */
#ifndef RELAIS_WSS_SIGN_H
#define RELAIS_WSS_SIGN_H

#include <libxml/tree.h>
#include <openssl/x509.h>
#include "relais/buf.h"
#include "relais/err.h"

#define RL_DS_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define RL_DS_SHA256 "http://www.w3.org/2001/04/xmlenc#sha256"
#define RL_DS_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define RL_SWA_CONTENT_SIG_TRANSFORM \
	"http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Content-Signature-Transform"
#define RL_WSS_X509V3 "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
#define RL_WSS_BASE64 \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

/* Exclusive C14N (without comments) of the subtree rooted at node; prefixes: the InclusiveNamespaces
 * PrefixList (space separated) or NULL. The document is rearranged during the call and put back before
 * it returns: no other thread may read it meanwhile. */
int rl_c14n_exclusive(xmlNodePtr node, const char *prefixes, struct rl_buf *out, struct rl_err *err);

/* The element whose wsu:Id (or unqualified Id) equals id. Returns NULL when none; *count receives how
 * many elements carry that id (more than one is a wrapping attempt). */
xmlNodePtr rl_wss_find_id(xmlDocPtr doc, const char *id, int *count);

/* Attachment digests, supplied by the caller. */
struct rl_wss_attachment_digest {
	const char *cid;		/* without "cid:" */
	unsigned char digest[32];	/* SHA-256 of the transformed attachment content */
};

struct rl_wss_verify_opts {
	int allow_non_peppol_algorithms;	/* accept rsa-sha1/sha1 etc. */
	const struct rl_wss_attachment_digest *attachments;
	int attachment_count;
	X509 *const *known_certs;		/* for KeyInfo by SKI or issuer/serial; may be NULL */
	int known_cert_count;
	int report_missing_attachments;		/* inspection only: a cid: reference whose digest was not
						 * supplied is counted in `unchecked`, not an error */
};

struct rl_wss_verified {
	X509 *signer;			/* owned by the result */
	xmlNodePtr *nodes;		/* the elements covered by "#id" references */
	int node_count;
	char **cids;			/* the attachments covered, without "cid:" */
	int cid_count;
	struct rl_buf references;	/* the ds:Reference elements, serialised (for a receipt's NRI) */
	int unchecked;			/* cid: references not checked (report_missing_attachments) */
	char algorithms[160];		/* "rsa-sha256 exc-c14n" */
};
void rl_wss_verified_free(struct rl_wss_verified *v);

/* Verifies the ds:Signature found in `security` (a wsse:Security element). A cid: reference whose digest
 * the caller did not supply fails. Errors: EBMS:0101 (bad digest or signature, unknown key, duplicate
 * ids), EBMS:0103 (algorithm outside the policy, no signature). The signer's chain is not checked here. */
int rl_wss_verify(xmlNodePtr security, const struct rl_wss_verify_opts *opts, struct rl_wss_verified *out,
		  struct rl_err *err);

/* Signing: a reference to an element (by its wsu:Id) or to an attachment (cid + precomputed digest). */
struct rl_wss_sign_ref {
	xmlNodePtr node;		/* element with a wsu:Id, or NULL for an attachment */
	const char *cid;		/* attachment Content-ID without "cid:" */
	const unsigned char *digest;	/* attachment digest (32 bytes) */
};
/* Appends a BinarySecurityToken (id bst_id) with cert, then a ds:Signature over refs, to security.
 * The prefix list "S12" is used for exc-c14n like phase4. */
int rl_wss_sign(xmlNodePtr security, EVP_PKEY *key, X509 *cert, const char *bst_id,
		const struct rl_wss_sign_ref *refs, int ref_count, struct rl_err *err);

#endif

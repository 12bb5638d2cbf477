/*
 * smp.h - SMP responses: reading ServiceGroup and (Signed)ServiceMetadata documents and checking their
 * XML signature (spec digest 5.4-5.5).
 *
 * Three flavours are read: Peppol SMP 1.0 (busdox namespaces), OASIS BDXR SMP 1.0 (bdxr/ns/SMP/2016/05)
 * and OASIS SMP 2.0 (bdxr/ns/SMP/2/...). The result is one plain structure for all of them.
 *
 * Signature check (rl_smp_verify): the ds:Signature elements that count are the children of the document
 * element, and they must be its last element children: where the schemas of all three flavours put them
 * (SMP 1.0: SignedServiceMetadata = ServiceMetadata, ds:Signature; OASIS SMP 2.0: ServiceGroup and
 * ServiceMetadata end with an optional set of ds:Signature, directly in the root, not in
 * ext:SMPExtensions). An SMP 1.x document must carry exactly one; an SMP 2.0 document one or more, up to
 * RL_SMP_SIGNATURES_MAX. A signature found only deeper (in an extension, a ProcessMetadata...) or followed
 * by more elements is refused; ds:Signature elements deeper in a document that has its own are signed
 * content and are not used. The document is accepted when one of its signatures is the SMP's: exactly one
 * ds:Reference whose URI is "" (the whole document) with the enveloped-signature transform, so the element
 * that is read afterwards is the element that was signed (no wrapping), a value that verifies, and a
 * signer that is an SMP of the anchors. That signature covers everything but itself, the other signatures
 * included (signatures of other parties, not checked). The signer certificate comes from
 * ds:KeyInfo/ds:X509Data and must chain to the SMP trust anchors at the given time, through the
 * intermediates of the anchors bundle only (other certificates in KeyInfo are not used: an AP CA there must
 * not make an AP certificate under the same root pass as an SMP signer). RSA with SHA-1/SHA-256/SHA-384/
 * SHA-512, inclusive or exclusive C14N (1.0, with or without comments) are accepted; other transforms
 * (XPath, XSLT...) are refused.
 *
 * Errors: RL_ERR_BAD_RESPONSE for a document that is not a usable SMP response; EBMS:0101
 * (FailedAuthentication) for a missing, broken or untrusted signature.
 */
#ifndef RELAIS_SMP_H
#define RELAIS_SMP_H

#include <stddef.h>
#include <time.h>
#include <libxml/tree.h>
#include <openssl/x509.h>
#include "relais/err.h"
#include "relais/keys.h"

#define RL_NS_SMP_PEPPOL "http://busdox.org/serviceMetadata/publishing/1.0/"
#define RL_NS_SMP_PEPPOL_IDS "http://busdox.org/transport/identifiers/1.0/"
#define RL_NS_WSA "http://www.w3.org/2005/08/addressing"
#define RL_NS_SMP_BDXR1 "http://docs.oasis-open.org/bdxr/ns/SMP/2016/05"
#define RL_NS_SMP2_SG "http://docs.oasis-open.org/bdxr/ns/SMP/2/ServiceGroup"
#define RL_NS_SMP2_SM "http://docs.oasis-open.org/bdxr/ns/SMP/2/ServiceMetadata"
#define RL_NS_SMP2_CBC "http://docs.oasis-open.org/bdxr/ns/SMP/2/BasicComponents"
#define RL_NS_SMP2_CAC "http://docs.oasis-open.org/bdxr/ns/SMP/2/AggregateComponents"

/* The most ds:Signature elements an SMP 2.0 document may end with (each one examined costs a
 * canonicalization of the whole document). */
#define RL_SMP_SIGNATURES_MAX 8

#define RL_TRANSPORT_PEPPOL_AS4_V2 "peppol-transport-as4-v2_0"
#define RL_TRANSPORT_CEF_AS4 "bdxr-transport-ebms3-as4-v1p0"

enum rl_smp_flavour {
	RL_SMP_PEPPOL1 = 1,	/* Peppol SMP 1.x (busdox) */
	RL_SMP_BDXR1,		/* OASIS BDXR SMP 1.0 */
	RL_SMP_BDXR2		/* OASIS SMP 2.0 */
};

/* "Peppol SMP 1.0", "OASIS BDXR SMP 1.0", "OASIS SMP 2.0". */
const char *rl_smp_flavour_name(int flavour);

struct rl_smp_endpoint {
	char *transport_profile;
	char *url;
	X509 *cert;		/* receiver certificate; NULL when the endpoint publishes none */
	time_t activation;	/* 0 = not given */
	time_t expiration;	/* 0 = not given */
	char *description;	/* may be NULL */
	char *contact;		/* technical contact URL, may be NULL */
};

struct rl_smp_process {
	char *scheme;		/* process identifier scheme ("" when absent) */
	char *value;
	struct rl_smp_endpoint *endpoints;
	size_t endpoint_count;
};

/* A ServiceMetadata: either the services or a redirect. Every string is owned (rl_smp_metadata_free). */
struct rl_smp_metadata {
	int flavour;
	char *participant_scheme, *participant_value;
	char *doctype_scheme, *doctype_value;
	struct rl_smp_process *processes;
	size_t process_count;
	char *redirect_url;		/* set when the SMP redirects */
	char *redirect_cert_uid;	/* Peppol/BDXR 1.0: subject the target's signer must have */
	X509 *redirect_cert;		/* SMP 2.0: the certificate the target's signer must be */
};

/* A ServiceGroup: the participant and the document types it can receive. */
struct rl_smp_service_group {
	int flavour;
	char *participant_scheme, *participant_value;
	char **doctypes;		/* "scheme::value" of each reference (decoded from the href) */
	char **hrefs;			/* the reference URLs as published (SMP 1.0; NULL in 2.0) */
	size_t count;
};

/* What rl_smp_verify found. */
struct rl_smp_signature {
	X509 *signer;			/* owned */
	char algorithms[160];		/* "rsa-sha1 sha1 exc-c14n" */
	int index, count;		/* the SMP's signature is the index-th (from 1) of the count the root ends with */
};

void rl_smp_metadata_free(struct rl_smp_metadata *m);
void rl_smp_service_group_free(struct rl_smp_service_group *g);
void rl_smp_signature_free(struct rl_smp_signature *s);

/* 1 when the document element is a (Signed)ServiceMetadata of one of the flavours. */
int rl_smp_is_metadata(xmlDocPtr doc);
/* Reads a SignedServiceMetadata (Peppol/BDXR 1.0) or ServiceMetadata (all flavours). The signature is
 * not checked here: call rl_smp_verify on the same document first. */
int rl_smp_parse_metadata(xmlDocPtr doc, struct rl_smp_metadata *out, struct rl_err *err);
/* Reads a ServiceGroup. */
int rl_smp_parse_service_group(xmlDocPtr doc, struct rl_smp_service_group *out, struct rl_err *err);

/* 1 when the document carries a ds:Signature anywhere (rl_smp_verify then says whether it is good and in
 * its place). */
int rl_smp_is_signed(xmlDocPtr doc);
/* Checks the document's signature as described above; at = 0 means now. */
int rl_smp_verify(xmlDocPtr doc, const struct rl_trust *anchors, time_t at, struct rl_smp_signature *out,
		  struct rl_err *err);

/* 1 when the endpoint may be used at time t (activation <= t <= expiration, where given). */
int rl_smp_endpoint_active(const struct rl_smp_endpoint *ep, time_t t);

/* 1 when the certificate's subject matches a Redirect CertificateUID (RFC 2253 subject compared without
 * case and spaces, or the bare common name). */
int rl_smp_cert_uid_matches(X509 *cert, const char *cert_uid);

#endif

/*
 * smp_publish.h - the documents an SMP publishes (Peppol SMP 1.0): ServiceGroup and
 * SignedServiceMetadata, the latter signed with the SMP's key (enveloped signature over the whole
 * document: exclusive C14N, RSA-SHA256, SHA-256, the signer certificate in KeyInfo/X509Data), so that
 * any Peppol SMP client, and rl_smp_verify, accepts it.
 */
#ifndef RELAIS_SMP_PUBLISH_H
#define RELAIS_SMP_PUBLISH_H

#include <stddef.h>
#include <time.h>
#include <libxml/tree.h>
#include <openssl/x509.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/keys.h"
#include "relais/peppol_id.h"

/* One published endpoint. The strings and the certificate stay the caller's. */
struct rl_smp_publish_endpoint {
	const char *transport_profile;	/* e.g. RL_TRANSPORT_PEPPOL_AS4_V2 */
	const char *url;
	X509 *cert;			/* receiver AP certificate */
	time_t activation, expiration;	/* 0 = not published */
	const char *description;	/* may be NULL */
	const char *contact;		/* technical contact URL, may be NULL */
};

/* Appends a ServiceGroup of participant listing each document type, with references
 * {base_url}/{participant}/services/{doctype} (percent-encoded). */
int rl_smp_build_service_group(struct rl_buf *out, const char *base_url, const struct rl_peppol_id *participant,
			       const struct rl_peppol_id *doctypes, size_t count, struct rl_err *err);

/* Signs an SMP document of any flavour in place: an enveloped signature over the whole document (URI "",
 * the algorithms above) appended as the last child of the document element, where the SMP 1.0 and 2.0
 * schemas put it. The document stays the caller's. */
int rl_smp_sign_document(xmlDocPtr doc, const struct rl_identity *signer, struct rl_err *err);

/* Appends a SignedServiceMetadata for participant, doctype and process with one endpoint, signed by
 * signer. */
int rl_smp_build_signed_metadata(struct rl_buf *out, const struct rl_peppol_id *participant,
				 const struct rl_peppol_id *doctype, const struct rl_peppol_id *process,
				 const struct rl_smp_publish_endpoint *ep, const struct rl_identity *signer,
				 struct rl_err *err);

#endif

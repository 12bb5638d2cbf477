/*
 * smp_client.h - asking an SMP over HTTP: ServiceGroup and signed ServiceMetadata (spec digest 5.4).
 *
 * URLs (rl_smp_url): for an SMP 1.x (Peppol SMP, OASIS SMP 1.0) {smp}/{participant URI, percent-encoded}
 * and {smp}/{participant}/services/{doctype}; for an OASIS SMP 2.0 the same under the REST binding's path
 * segment, {smp}/bdxr-smp-2/{participant} and {smp}/bdxr-smp-2/{participant}/services/{doctype} (SMP 2.0
 * section 5.4). Which one is used is c->api: what discovery found (discovery.h). They are asked
 * with the HTTP client of http_client.h (plain http allowed: SMP 1.0 answers are trusted for their
 * signature, not their transport). A host name is resolved through the given DNS resolver when there is
 * one (so the SMP of a private SML is reached), else by libcurl. Responses are bounded in size and time;
 * HTTP redirects are not followed.
 * A ServiceMetadata must carry a valid signature from a certificate chaining to the SMP anchors and must
 * name exactly the participant and document type asked for; a ServiceGroup that is signed (SMP 2.0) must be
 * too. An SMP Redirect is followed once: the
 * target's signer must match the Redirect's CertificateUID (1.0) or Certificate (2.0).
 *
 * Errors: RL_ERR_NETWORK (cannot connect, timeout, HTTP 5xx), RL_ERR_NOT_FOUND (HTTP 404: the SMP does
 * not know the participant or document type), RL_ERR_BAD_RESPONSE (other HTTP status, not an SMP
 * document, identifiers that differ from the request, a second redirect), EBMS:0101 (signature).
 */
#ifndef RELAIS_SMP_CLIENT_H
#define RELAIS_SMP_CLIENT_H

#include <stddef.h>
#include <time.h>
#include "relais/buf.h"
#include "relais/dns.h"
#include "relais/err.h"
#include "relais/keys.h"
#include "relais/peppol_id.h"
#include "relais/smp.h"

#define RL_SMP_RESPONSE_MAX (4u << 20)

/* Which REST paths an SMP serves. RL_SMP_API_1 (0, the default) is what Peppol uses. */
enum rl_smp_api {
	RL_SMP_API_1 = 0,	/* Peppol SMP / OASIS SMP 1.0: {smp}/{participant}[/services/{doctype}] */
	RL_SMP_API_2		/* OASIS SMP 2.0: {smp}/bdxr-smp-2/{participant}[/services/{doctype}] */
};

/* The path segment of the SMP 2.0 REST binding, and the NAPTR service that names an SMP 2.0 server. */
#define RL_SMP2_PATH_SEGMENT "bdxr-smp-2"
#define RL_SMP2_NAPTR_SERVICE "oasis-bdxr-smp-2"
#define RL_SMP1_NAPTR_SERVICE "Meta:SMP"

/* "SMP 1.x" or "SMP 2.0", for messages. */
const char *rl_smp_api_name(enum rl_smp_api api);

/* Appends to out the URL of a participant's ServiceGroup (doctype NULL) or of its ServiceMetadata for
 * doctype at the SMP of base URL smp_url (trailing '/' ignored), for the paths of api. Identifiers are
 * in URI form ("scheme::value"), percent-encoded (rl_peppol_id_uri_encoded). -1 only when out of memory. */
int rl_smp_url(struct rl_buf *out, const char *smp_url, enum rl_smp_api api, const struct rl_peppol_id *participant,
	       const struct rl_peppol_id *doctype);

/* Receives one line per step for `relais lookup --explain`. */
typedef void (*rl_explain_fn)(void *arg, const char *line);

struct rl_smp_client {
	struct rl_dns *dns;		/* may be NULL: libcurl resolves */
	const struct rl_trust *anchors;	/* SMP trust anchors; required for metadata */
	int timeout;			/* seconds for the whole request */
	enum rl_smp_api api;		/* the paths the SMP serves; 0 = SMP 1.x */
	time_t at;			/* signature time; 0 = now */
	rl_explain_fn explain;		/* may be NULL */
	void *explain_arg;
};

/* Calls c->explain with a formatted line when it is set. */
void rl_explain(const struct rl_smp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* GETs url into body (bounded by RL_SMP_RESPONSE_MAX); *status gets the HTTP status. Any status is
 * returned as success: the caller decides. Fails only when no HTTP answer came (RL_ERR_NETWORK). */
int rl_smp_http_get(const struct rl_smp_client *c, const char *url, struct rl_buf *body, long *status,
		    struct rl_err *err);

/* Reads a parsed ServiceGroup response. A group that carries a ds:Signature anywhere (SMP 2.0 groups may
 * be signed; SMP 1.0 groups are not) is read only when that signature verifies as rl_smp_verify says
 * (c->anchors required); sig->signer is then set. An unsigned group is read as it is (sig->signer NULL).
 * sig may be NULL. */
int rl_smp_read_service_group(const struct rl_smp_client *c, xmlDocPtr doc, struct rl_smp_service_group *out,
			      struct rl_smp_signature *sig, struct rl_err *err);
/* The ServiceGroup of participant at SMP base URL smp_url (rl_smp_read_service_group on the answer). */
int rl_smp_fetch_service_group(const struct rl_smp_client *c, const char *smp_url,
			       const struct rl_peppol_id *participant, struct rl_smp_service_group *out,
			       struct rl_err *err);
/* The verified ServiceMetadata of participant/doctype (a redirect followed once). sig may be NULL. */
int rl_smp_fetch_metadata(const struct rl_smp_client *c, const char *smp_url,
			  const struct rl_peppol_id *participant, const struct rl_peppol_id *doctype,
			  struct rl_smp_metadata *out, struct rl_smp_signature *sig, struct rl_err *err);
/* Parses and verifies one ServiceMetadata response held in memory (what fetch does with each body). */
int rl_smp_read_metadata(const struct rl_smp_client *c, const char *data, size_t len,
			 struct rl_smp_metadata *out, struct rl_smp_signature *sig, struct rl_err *err);

#endif

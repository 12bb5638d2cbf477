/*
 * discovery.h - Peppol dynamic discovery: participant -> SML (DNS) -> SMP -> endpoint.
 *
 * SML: the NAPTR (BDXL) name of the participant is asked first; the first record with flag "U" and
 * service "Meta:SMP" (an SMP 1.x: Peppol SMP, OASIS SMP 1.0) or "oasis-bdxr-smp-2" (an OASIS SMP 2.0),
 * by order, then preference, gives the SMP URL through its regexp; when records of both services share
 * the lowest order and preference the oasis-bdxr-smp-2 one is used. The SMP is then asked at the paths
 * of what its record named (smp_client.h: RL_SMP_API_1 or RL_SMP_API_2). When the NAPTR name does not
 * exist (or has no such record) the legacy CNAME name is tried; its SMP URL is http://<that name>, an
 * SMP 1.x. SMP: the signed ServiceMetadata of the document type (smp_client.h), then the
 * endpoint: the process asked for (any when NULL), transport profile peppol-transport-as4-v2_0 first
 * (then the CEF eDelivery AS4 profile), active now, with a certificate that chains to the AP anchors
 * when those are configured.
 *
 * Results are cached per process (key: participant, document type, process and the NAPTR services
 * looked for, so that no answer is shared with a reader of SMP 1.x only): found endpoints for cache_ttl, "not registered" for negative_ttl; with
 * rl_discovery_use_database() also in the database (smp_cache.h), shared by the instances using it.
 * One struct rl_discovery may be used by several threads at once.
 *
 * Errors (what `relais lookup` turns into distinct exit statuses):
 *   RL_ERR_NOT_FOUND     participant not registered in the SML, or the SMP does not serve the document type
 *   RL_ERR_NETWORK       DNS server or SMP unreachable, timed out or failing
 *   RL_ERR_BAD_RESPONSE  malformed DNS record (e.g. NAPTR regexp) or SMP response
 *   EBMS:0101            SMP signature or endpoint certificate refused
 *   EBMS:0003            no usable endpoint (no AS4 transport profile, not active, process not offered)
 */
#ifndef RELAIS_DISCOVERY_H
#define RELAIS_DISCOVERY_H

#include <time.h>
#include <openssl/x509.h>
#include "relais/config.h"
#include "relais/err.h"
#include "relais/keys.h"
#include "relais/smp.h"
#include "relais/smp_client.h"

struct rl_discovery_opts {
	const char *sml_zone;		/* required */
	const char *dns_server;		/* "host:port"; NULL or "" = system resolver */
	const char *smp_anchors_path;	/* PEM bundle; required to read ServiceMetadata */
	const char *ap_anchors_path;	/* PEM bundle; NULL = endpoint certificates are not chain-checked */
	int timeout;			/* seconds per DNS attempt and per HTTP request */
	long cache_ttl;			/* seconds; 0 = no cache */
	long negative_ttl;		/* seconds; 0 = no negative cache */
	time_t at;			/* time for signature and certificate checks; 0 = now */
	rl_explain_fn explain;		/* may be NULL */
	void *explain_arg;
};

/* The endpoint found. Owned by the caller: rl_endpoint_free(). */
struct rl_endpoint {
	char *url;			/* AS4 endpoint URL */
	char *transport_profile;
	X509 *cert;			/* receiver AP certificate */
	char *smp_url;			/* SMP base URL it came from */
	char *process;			/* "scheme::value" of the process the endpoint serves */
	time_t activation, expiration;	/* 0 when not given */
};

struct rl_discovery;

struct rl_discovery *rl_discovery_new(const struct rl_discovery_opts *opts, struct rl_err *err);
/* From discovery.* and trust.* keys of a validated configuration. */
struct rl_discovery *rl_discovery_from_config(const struct rl_config *cfg, struct rl_err *err);
void rl_discovery_free(struct rl_discovery *d);
/* Sets the time used for checks (0 = now) and the explain callback; not for use while other threads
 * use d. */
void rl_discovery_set_explain(struct rl_discovery *d, rl_explain_fn fn, void *arg);
void rl_discovery_set_time(struct rl_discovery *d, time_t at);
/* Shares the cache through the database (conninfo: libpq URL); RL_ERR_DB when it cannot be used. A
 * database that fails later only costs the shared cache, never a lookup. Same threading note. */
int rl_discovery_use_database(struct rl_discovery *d, const char *conninfo, struct rl_err *err);

/* The SMP base URL of a participant ("iso6523-actorid-upis::0088:..." or "0088:..."), into smp_url
 * (the base only: for an SMP 2.0 the bdxr-smp-2 path segment is not part of it). */
int rl_discovery_smp_url(struct rl_discovery *d, const char *participant, struct rl_buf *smp_url,
			 struct rl_err *err);
/* The participant's ServiceGroup (document types it receives). */
int rl_discovery_service_group(struct rl_discovery *d, const char *participant,
			       struct rl_smp_service_group *out, struct rl_err *err);
/* The whole lookup. doctype: URI form ("busdox-docid-qns::..."); process: URI form or NULL = any. */
int rl_discovery_resolve(struct rl_discovery *d, const char *participant, const char *doctype,
			 const char *process, struct rl_endpoint *ep, struct rl_err *err);
/* Same, also handing back the whole verified ServiceMetadata (for --explain / --json listings). */
int rl_discovery_resolve_full(struct rl_discovery *d, const char *participant, const char *doctype,
			      const char *process, struct rl_endpoint *ep, struct rl_smp_metadata *metadata,
			      struct rl_err *err);

/* Chooses the endpoint from verified metadata (the selection rules above). */
int rl_discovery_choose(struct rl_discovery *d, const struct rl_smp_metadata *m, const char *process,
			struct rl_endpoint *ep, struct rl_err *err);

void rl_endpoint_free(struct rl_endpoint *ep);

#endif

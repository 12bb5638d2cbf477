/*
 * sml.h - SML DNS names and U-NAPTR regexp application (spec digest 5.1-5.3).
 *
 * Pure functions: nothing here talks to the network. The DNS lookups that use these names live elsewhere.
 *  - legacy CNAME name: "B-" + hex(MD5(lower(value))) + "." + lower(scheme) + "." + zone
 *  - NAPTR (BDXL) name: base32(SHA-256(lower(value))), no padding, lower-case, + "." + scheme + "." + zone
 *  - U-NAPTR regexp "<d>ERE<d>replacement<d>flags" applied to a string, giving the SMP base URL.
 */
#ifndef RELAIS_SML_H
#define RELAIS_SML_H

#include <stddef.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/peppol_id.h"

/* OpenPeppol-operated zones (default) and the legacy EC-hosted ones. */
#define RL_SML_ZONE_PROD "participant.sml.prod.tech.peppol.org"
#define RL_SML_ZONE_TEST "participant.sml.test.tech.peppol.org"
#define RL_SML_ZONE_LEGACY_PROD "edelivery.tech.ec.europa.eu"
#define RL_SML_ZONE_LEGACY_TEST "acc.edelivery.tech.ec.europa.eu"

/*
 * Appends the legacy CNAME host name for a participant to out. A value of "*" gives "*." instead of
 * the hash. A trailing dot on zone is dropped. Returns 0, or -1 with err set.
 */
int rl_sml_cname_name(struct rl_buf *out, const char *scheme, const char *value, const char *zone,
		      struct rl_err *err);
/* Appends the NAPTR (BDXL) DNS name for a participant to out. Returns 0, or -1 with err set. */
int rl_sml_naptr_name(struct rl_buf *out, const char *scheme, const char *value, const char *zone,
		      struct rl_err *err);
/* Same, from a parsed participant identifier. */
int rl_sml_cname_name_id(struct rl_buf *out, const struct rl_peppol_id *id, const char *zone,
			 struct rl_err *err);
int rl_sml_naptr_name_id(struct rl_buf *out, const struct rl_peppol_id *id, const char *zone,
			 struct rl_err *err);

/* Appends the RFC 4648 base32 encoding of data, lower-case, without '=' padding. Returns 0 or -1. */
int rl_base32_lower_nopad(struct rl_buf *out, const unsigned char *data, size_t len);

/*
 * Applies a U-NAPTR regexp field ("!^.*$!https://smp.example.com!") to input and appends the result
 * to out. The delimiter is the first character; the ERE (POSIX extended) must match the whole input;
 * the only flag is 'i' (ignore case); "\1".."\9" in the replacement insert sub-matches, and
 * "\<delimiter>" / "\\" insert the character itself. On failure out is left as it was.
 * Errors: RL_ERR_USAGE for a malformed field or ERE, RL_ERR_NOT_FOUND when the ERE does not match.
 */
int rl_unaptr_apply(const char *regexp_field, const char *input, struct rl_buf *out, struct rl_err *err);

#endif

/*
 * revocation.h - is a certificate revoked? CRL files, OCSP responders, an in-memory cache, a policy.
 *
 * A checker answers for one certificate and its issuer, in this order:
 *   1. the cache: an earlier answer still within its thisUpdate..nextUpdate window;
 *   2. the CRLs loaded with rl_revocation_add_crl_file() (then those downloaded earlier) whose issuer
 *      is the certificate's issuer, whose signature verifies with the issuer's key and which are current;
 *   3. OCSP: the responder URL set with rl_revocation_set_ocsp_url(), else the one in the certificate's
 *      Authority Information Access. The response must be signed by the issuing CA or by a responder
 *      certificate the CA issued with id-kp-OCSPSigning (chained to the trust anchors), must echo our
 *      nonce when it carries one, and must be current;
 *   4. when enabled with rl_revocation_set_crl_download(), the CRL at the certificate's first http://
 *      CRL distribution point, checked as in 2 and kept in memory while it is current.
 * rl_revocation_check_ca() asks the same about a CA of a chain, from its issuer's CRLs and the sources
 * the CA certificate itself names (never the configured OCSP responder, which answers for the AP CA's
 * certificates); a CA for which nothing publishes a status is not checked.
 * A definite answer (good or revoked) is cached until the source's nextUpdate (at most
 * RL_REVOCATION_CACHE_MAX seconds; RL_REVOCATION_CACHE_DEFAULT when the source gives no nextUpdate).
 * When no source answers, the policy decides: hard refuses, soft accepts and records the outcome with
 * its reason so the caller can warn, off never checks.
 *
 * A checker is shared by threads (the cache is locked); network queries happen outside the lock.
 * The usual way in is rl_trust_set_revocation() (keys.h): every rl_trust_verify() then consults it.
 */
#ifndef RELAIS_REVOCATION_H
#define RELAIS_REVOCATION_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include "relais/err.h"

#define RL_REVOCATION_CACHE_DEFAULT 1800
#define RL_REVOCATION_CACHE_MAX (7 * 86400)
#define RL_REVOCATION_TIMEOUT_DEFAULT 5

enum rl_revocation_policy {
	RL_REVOCATION_OFF,	/* no revocation checks */
	RL_REVOCATION_SOFT,	/* revoked => refused; no answer => accepted, outcome recorded */
	RL_REVOCATION_HARD	/* revoked or no answer => refused */
};

enum rl_revocation_status {
	RL_REVOCATION_GOOD,
	RL_REVOCATION_REVOKED,
	RL_REVOCATION_UNKNOWN	/* no source could answer (see problem) */
};

/* One answer about one certificate, as recorded for the status page and for warnings. */
struct rl_revocation_outcome {
	char subject_cn[128];
	char serial[80];		/* decimal */
	enum rl_revocation_status status;
	char source[300];		/* "OCSP http://host/", "CRL /etc/relais/ap-ca.crl", "" */
	time_t checked_at;		/* when the source answered (or failed) */
	time_t next_update;		/* cached until then; 0 for UNKNOWN */
	time_t revoked_at;		/* REVOKED only */
	char reason[48];		/* REVOKED only: "keyCompromise", "unspecified", ... */
	char problem[480];		/* UNKNOWN only: why no source answered */
	unsigned long sequence;		/* increases with every outcome recorded */
};

/* What we know of one network source: an OCSP responder or a CRL distribution point. */
struct rl_revocation_responder {
	char url[256];
	int reachable;			/* the last request got a valid response */
	time_t last_success, last_failure;
	char last_error[200];
	unsigned long requests;		/* HTTP requests sent to it */
};

/* Parses "hard", "soft", "off". Returns 0 or -1. */
int rl_revocation_parse_policy(const char *s, enum rl_revocation_policy *out);
const char *rl_revocation_policy_name(enum rl_revocation_policy policy);
const char *rl_revocation_status_name(enum rl_revocation_status status);

struct rl_revocation;
struct rl_revocation *rl_revocation_new(enum rl_revocation_policy policy, struct rl_err *err);
/* Frees the checker and its cache; NULL is fine. */
void rl_revocation_free(struct rl_revocation *rev);
enum rl_revocation_policy rl_revocation_policy(const struct rl_revocation *rev);

/* Adds every CRL in a PEM bundle (or one DER CRL). Returns 0, or -1 (RL_ERR_CONFIG) when the file cannot
 * be read or holds no CRL. */
int rl_revocation_add_crl_file(struct rl_revocation *rev, const char *path, struct rl_err *err);
/* Asks this responder instead of the certificates' AIA ones (NULL or "" = AIA). Copied. */
int rl_revocation_set_ocsp_url(struct rl_revocation *rev, const char *url, struct rl_err *err);
/* Seconds allowed to one OCSP exchange or CRL download (connect, send, answer). */
void rl_revocation_set_timeout(struct rl_revocation *rev, int seconds);
/* Whether CRLs are fetched from the certificates' distribution points when nothing else answered
 * (default off). */
void rl_revocation_set_crl_download(struct rl_revocation *rev, int on);

/*
 * Checks `cert` issued by `issuer`. `anchors` and `untrusted` verify a delegated OCSP responder's
 * certificate (untrusted may be NULL). `at` (0 = now) is the time the certificate is relied upon: a
 * revocation dated after it does not count.
 * Returns 0 when the certificate may be used (good, or unknown under soft, or policy off), -1 with
 * EBMS:0101 "certificate CN=X was revoked on DATE (reason)" or, under hard, "could not check revocation
 * of certificate CN=X: why". `outcome` (may be NULL) receives the answer.
 */
int rl_revocation_check(struct rl_revocation *rev, X509 *cert, X509 *issuer, X509_STORE *anchors,
			STACK_OF(X509) *untrusted, time_t at, struct rl_revocation_outcome *outcome,
			struct rl_err *err);
/* The same for `ca`, a CA between a certificate and its trust anchor, issued by `issuer`: its issuer's
 * CRLs (configured or downloaded), then the OCSP responder and (with download on) the CRL distribution
 * point the CA certificate names. When none of these exists the CA is not checked (0). A revoked CA, or
 * under hard a CA whose sources all failed, gives -1 with EBMS:0101 as above. */
int rl_revocation_check_ca(struct rl_revocation *rev, X509 *ca, X509 *issuer, X509_STORE *anchors,
			   STACK_OF(X509) *untrusted, time_t at, struct rl_err *err);

/* The most recent outcomes, newest first (one per certificate), at most max. Returns how many. */
size_t rl_revocation_outcomes(struct rl_revocation *rev, struct rl_revocation_outcome *out, size_t max);
/* Every OCSP responder and CRL distribution point asked so far, at most max. Returns how many. */
size_t rl_revocation_responders(struct rl_revocation *rev, struct rl_revocation_responder *out, size_t max);
/* Every outcome recorded since `sequence` (exclusive), oldest first, at most max: what one command or
 * one message caused. Returns how many. */
size_t rl_revocation_outcomes_since(struct rl_revocation *rev, unsigned long sequence,
				    struct rl_revocation_outcome *out, size_t max);
/* The outcome recorded for `cert` itself since `sequence` (exclusive): 1 and *out filled, or 0 when
 * none was (the check stopped at a revoked CA of its chain, or revocation is off). The others recorded
 * since are those of its CAs. */
int rl_revocation_outcome_of(struct rl_revocation *rev, X509 *cert, unsigned long sequence,
			     struct rl_revocation_outcome *out);
/* One CRL loaded from trust.crls. */
struct rl_revocation_crl {
	char file[256];
	char issuer_cn[128];
	time_t next_update;		/* 0 = the CRL names none */
};

/* The CRLs loaded from files, in the order loaded, at most max. Returns how many. */
size_t rl_revocation_crls(struct rl_revocation *rev, struct rl_revocation_crl *out, size_t max);
/* The sequence number of the last recorded outcome (0 = none yet). */
unsigned long rl_revocation_sequence(struct rl_revocation *rev);

/* The OCSP responder URL in the certificate's AIA, malloc'd; NULL when it names none. */
char *rl_cert_ocsp_url(X509 *cert);
/* The first http:// URL of the certificate's CRL distribution points, malloc'd; NULL when none. */
char *rl_cert_crl_url(X509 *cert);

#endif

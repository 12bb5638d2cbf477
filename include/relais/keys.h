/*
 * keys.h - our own keys and certificates, trust anchors, and certificate checks.
 *
 * An identity is one private key with its certificate (and chain): loaded from PEM files (key in
 * PKCS#8 or PKCS#1, optionally encrypted) or a PKCS#12 keystore with a password.
 * A trust store is a PEM bundle that may hold several networks side by side (Peppol test and production,
 * G2 and G3, a private PKI): self-signed certificates are anchors; a CA certificate whose issuer is also in
 * the bundle is an intermediate, used only to build chains; a CA certificate whose issuer is not in the
 * bundle is itself an anchor (so a bundle of AP CAs without their roots works too).
 * A trust store may carry a revocation checker (revocation.h): rl_trust_verify() then also asks it
 * about the verified certificate, so every caller gets revocation checks.
 * A trust store remembers the certificates it verified (up to RL_TRUST_CACHE_SIZE, for
 * RL_TRUST_CACHE_SECONDS and never outside the validity of every certificate of the chain); a reloaded
 * trust store is a new object and starts with nothing remembered. Revocation is asked on every check.
 * Certificates read from base64 or PEM text come from the process-wide cache (cert_cache.h): they are
 * shared with other threads, so callers free them but never modify them.
 * Certificate checks return EBMS:0101 FailedAuthentication with a sentence naming the certificate
 * ("certificate CN=POP000099 expired on 2021-01-01", "... does not chain to a trusted CA").
 */
#ifndef RELAIS_KEYS_H
#define RELAIS_KEYS_H

#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "relais/err.h"
#include "relais/buf.h"

struct rl_identity {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;	/* further certificates from the keystore/cert file, may be NULL */
};

/* key_password may be NULL. cert_path may hold the leaf followed by its chain. */
int rl_identity_load_pem(struct rl_identity *id, const char *key_path, const char *cert_path,
			 const char *key_password, struct rl_err *err);
int rl_identity_load_p12(struct rl_identity *id, const char *p12_path, const char *password,
			 struct rl_err *err);
void rl_identity_free(struct rl_identity *id);

#define RL_TRUST_CACHE_SIZE 64
#define RL_TRUST_CACHE_SECONDS 300

struct rl_trust;
struct rl_revocation;
struct rl_trust *rl_trust_load(const char *pem_bundle_path, struct rl_err *err);
/* Frees the trust store and its revocation checker. */
void rl_trust_free(struct rl_trust *t);
/* Attaches a revocation checker; the trust store owns it from now on (a previous one is freed). */
void rl_trust_set_revocation(struct rl_trust *t, struct rl_revocation *rev);
/* The attached checker (NULL when none), for its status and outcomes. Still owned by the trust store. */
struct rl_revocation *rl_trust_revocation(const struct rl_trust *t);
/* How many anchors and intermediates the bundle gave. */
void rl_trust_counts(const struct rl_trust *t, int *anchors, int *intermediates);
/* How many verifications were answered from the trust store's cache, and how many it holds now. */
void rl_trust_cache_stats(const struct rl_trust *t, unsigned long *hits, int *entries);
/* Verifies cert (with extra untrusted intermediates, may be NULL) at time `at` (0 = now): chain to an
 * anchor, validity of every certificate at that time, then revocation of cert and of the CAs between it
 * and the anchor (those for which a status is published, see rl_revocation_check_ca) when a checker is
 * attached; that may block for the checker's network timeout. Returns 0 or -1 with
 * EBMS:0101. The chain and validity part of a success is remembered (see above) when untrusted is
 * empty; failures are checked afresh every time. */
int rl_trust_verify(const struct rl_trust *t, X509 *cert, STACK_OF(X509) *untrusted, time_t at,
		    struct rl_err *err);
/* The same, and on success hands back the chain from cert to its anchor (the caller frees it with
 * sk_X509_pop_free(chain, X509_free)). */
int rl_trust_verify_chain(const struct rl_trust *t, X509 *cert, STACK_OF(X509) *untrusted, time_t at,
			  STACK_OF(X509) **chain, struct rl_err *err);

X509 *rl_cert_load_pem(const char *path, struct rl_err *err);
X509 *rl_cert_from_der(const unsigned char *der, size_t len, struct rl_err *err);
/* From base64 DER (BST content, SMP Certificate element), through the certificate cache; the caller
 * frees the result and does not modify it. */
X509 *rl_cert_from_base64(const char *b64, struct rl_err *err);
/* The first certificate of PEM text, through the certificate cache (as above). RL_ERR_CRYPTO when none. */
X509 *rl_cert_from_pem_text(const char *pem, struct rl_err *err);
int rl_cert_to_der_base64(X509 *cert, struct rl_buf *out);
int rl_cert_to_pem(X509 *cert, struct rl_buf *out);
/* Subject CN into buf ("" when none). */
const char *rl_cert_cn(X509 *cert, char *buf, size_t size);
/* One-line subject/issuer in RFC 2253 form, malloc'd. */
char *rl_cert_subject(X509 *cert);
char *rl_cert_issuer(X509 *cert);
/* Serial number as a decimal string, malloc'd. */
char *rl_cert_serial_dec(X509 *cert);
/* notAfter as time_t. */
time_t rl_cert_not_after(X509 *cert);
time_t rl_cert_not_before(X509 *cert);
/* Matching the ways a message names a certificate. 1 = match. */
int rl_cert_matches_issuer_serial(X509 *cert, const char *issuer_dn, const char *serial_dec);
int rl_cert_matches_ski(X509 *cert, const unsigned char *ski, size_t ski_len);
int rl_cert_equal(X509 *a, X509 *b);
/* Parses "2021-05-01T00:00:00Z" (xs:dateTime, any zone) to time_t; -1 on error. */
time_t rl_parse_datetime(const char *s);
/* Writes now (or t) as xs:dateTime UTC with milliseconds "2026-01-29T15:39:03.805Z". */
void rl_format_datetime(time_t t, int millis, char *out, size_t size);

#endif

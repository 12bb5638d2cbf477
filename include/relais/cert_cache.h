/*
 * cert_cache.h - a process-wide, bounded cache of parsed certificates, keyed by their encoded form.
 *
 * Peers send the same few certificates with every message (BinarySecurityToken, SMP and destination
 * PEM); parsing one costs far more than the SHA-256 of its text. rl_cert_from_base64() and
 * rl_cert_from_pem_text() (keys.h) ask this cache first.
 *
 * The key is the SHA-256 of the encoding's name and the exact text, so a differently spaced copy of a
 * certificate is a separate entry. The cache holds RL_CERT_CACHE_SIZE entries at most (sets of four
 * kept in least-recently-used order), so hostile input can only evict, never grow it.
 * Certificates in the cache are shared read-only by every thread: their computed extension data is
 * filled in before they are added, and no caller may modify a certificate it got from here.
 * Every function may be called from any thread (one mutex).
 */
#ifndef RELAIS_CERT_CACHE_H
#define RELAIS_CERT_CACHE_H

#include <stddef.h>
#include <openssl/x509.h>

#define RL_CERT_CACHE_SIZE 256

enum rl_cert_encoding {
	RL_CERT_BASE64_DER,	/* base64 of DER, white space allowed (BST, ds:X509Certificate, SMP) */
	RL_CERT_PEM		/* PEM text */
};

struct rl_cert_cache_stats {
	unsigned long hits, misses;
	size_t entries;
};

/* The cache key of `text` in `encoding`: SHA-256 over both. */
void rl_cert_cache_key(enum rl_cert_encoding encoding, const char *text, size_t len, unsigned char key[32]);
/* The certificate cached under key with a new reference (the caller frees it with X509_free), or NULL. */
X509 *rl_cert_cache_find(const unsigned char key[32]);
/* Adds cert under key; the cache takes its own reference (the caller keeps and frees its own). When
 * the key is there already nothing changes. Returns 0, or -1 when cert cannot be shared (not added). */
int rl_cert_cache_add(const unsigned char key[32], X509 *cert);
/* Empties the cache (its references are dropped; certificates callers hold stay valid). */
void rl_cert_cache_clear(void);
void rl_cert_cache_stats(struct rl_cert_cache_stats *out);

#endif

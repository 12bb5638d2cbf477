/*
 * crypto.h - the cryptographic stages of an AS4 message, on OpenSSL EVP.
 *
 * Streaming filters (each one is an rl_sink that writes its output to a `next` sink):
 *   gzip compress / decompress (zlib, RFC 1952), SHA-256 digest tee, AES-128-GCM encrypt / decrypt in the
 *   XML Encryption 1.1 layout: IV (12 bytes) || ciphertext || tag (16 bytes), no padding.
 * One-shot operations: RSA-OAEP key transport (xmlenc11#rsa-oaep with a digest and an MGF1 digest, and
 * xmlenc#rsa-oaep-mgf1p), RSA-SHA256 signatures, base64, random bytes, UUIDs.
 *
 * Ownership: a filter does not own its `next` sink. rl_*_finish() flushes everything to `next` and
 * reports integrity failures (GCM tag -> EBMS:0102, gzip -> EBMS:0303); rl_*_free() releases.
 */
#ifndef RELAIS_CRYPTO_H
#define RELAIS_CRYPTO_H

#include <stddef.h>
#include <openssl/evp.h>
#include "relais/err.h"
#include "relais/buf.h"
#include "relais/stream.h"

#define RL_AES128_KEY_LEN 16
#define RL_GCM_IV_LEN 12
#define RL_GCM_TAG_LEN 16
#define RL_SHA256_LEN 32

/* --- algorithms fetched once per process ---
 * OpenSSL 3 looks an algorithm up in its (locked) method store every time a built-in EVP_sha256() or
 * EVP_aes_128_gcm() starts a context; these are fetched once and shared by every thread.
 * The digest and GCM filters and rl_sha256() use them already; the URI tables return the built-in
 * EVP_sha*() (pass them through rl_md_fetched() to digest with them). */
/* The fetched digest with the same type as md (e.g. EVP_sha256()); md itself when it was fetched
 * already or the providers lack it. Never freed by the caller. */
const EVP_MD *rl_md_fetched(const EVP_MD *md);
/* AES-128-GCM, fetched. Never freed by the caller. */
const EVP_CIPHER *rl_cipher_aes128gcm(void);

/* --- gzip --- */
struct rl_gzip;
struct rl_gzip *rl_gzip_compress_new(const struct rl_sink *next, struct rl_err *err);
/* max_output: refuse (EBMS:0303) when the inflated size passes it (0 = no limit): zip-bomb guard. */
struct rl_gzip *rl_gzip_decompress_new(const struct rl_sink *next, unsigned long long max_output,
				       struct rl_err *err);
struct rl_sink rl_gzip_sink(struct rl_gzip *z);
int rl_gzip_finish(struct rl_gzip *z, struct rl_err *err);
unsigned long long rl_gzip_total_out(const struct rl_gzip *z);
void rl_gzip_free(struct rl_gzip *z);

/* --- SHA-256 tee: passes bytes on to next (which may be NULL) and digests them --- */
struct rl_digest;
/* md: EVP_sha256() normally; any EVP_MD works. */
struct rl_digest *rl_digest_new(const EVP_MD *md, const struct rl_sink *next, struct rl_err *err);
struct rl_sink rl_digest_sink(struct rl_digest *d);
/* Writes the digest to out (size >= EVP_MAX_MD_SIZE), sets *out_len. */
int rl_digest_finish(struct rl_digest *d, unsigned char *out, unsigned int *out_len, struct rl_err *err);
unsigned long long rl_digest_total(const struct rl_digest *d);
void rl_digest_free(struct rl_digest *d);
/* One-shot SHA-256. */
void rl_sha256(const void *data, size_t len, unsigned char out[RL_SHA256_LEN]);

/* --- AES-128-GCM in the xmlenc11 layout --- */
struct rl_gcm;
/* Encrypt: writes a fresh random IV first, then ciphertext; finish appends the tag. */
struct rl_gcm *rl_gcm_encrypt_new(const unsigned char key[RL_AES128_KEY_LEN], const struct rl_sink *next,
				  struct rl_err *err);
/* Decrypt: reads the IV from the first 12 bytes, holds back the last 16 (the tag) until finish. Plaintext
 * is passed on as it is decrypted, so the caller must not release it before finish() succeeds. */
struct rl_gcm *rl_gcm_decrypt_new(const unsigned char key[RL_AES128_KEY_LEN], const struct rl_sink *next,
				  struct rl_err *err);
struct rl_sink rl_gcm_sink(struct rl_gcm *g);
int rl_gcm_finish(struct rl_gcm *g, struct rl_err *err);
void rl_gcm_free(struct rl_gcm *g);

/* --- RSA-OAEP key transport --- */
/* oaep_md: digest for OAEP (EVP_sha256() for xmlenc11#rsa-oaep in Peppol; EVP_sha1() default);
 * mgf1_md: MGF1 digest (EVP_sha256() for xmlenc11#mgf1sha256; EVP_sha1() for rsa-oaep-mgf1p);
 * label/label_len: OAEPparams (usually none). */
int rl_rsa_oaep_encrypt(EVP_PKEY *pub, const EVP_MD *oaep_md, const EVP_MD *mgf1_md,
			const unsigned char *label, size_t label_len, const unsigned char *in, size_t in_len,
			struct rl_buf *out, struct rl_err *err);
int rl_rsa_oaep_decrypt(EVP_PKEY *priv, const EVP_MD *oaep_md, const EVP_MD *mgf1_md,
			const unsigned char *label, size_t label_len, const unsigned char *in, size_t in_len,
			struct rl_buf *out, struct rl_err *err);

/* --- signatures (RSA PKCS#1 v1.5) --- */
int rl_sign(EVP_PKEY *key, const EVP_MD *md, const void *data, size_t len, struct rl_buf *sig,
	    struct rl_err *err);
/* Returns 0 when valid; -1 with EBMS:0101 when not. */
int rl_verify(EVP_PKEY *pub, const EVP_MD *md, const void *data, size_t len, const unsigned char *sig,
	      size_t sig_len, struct rl_err *err);

/* --- algorithm URIs -> EVP --- */
/* Digest method URI (xmlenc#sha256, xmldsig#sha1, xmldsig-more#sha384/512, xmlenc#sha512) -> EVP_MD. */
const EVP_MD *rl_md_from_uri(const char *uri);
/* Signature method URI (xmldsig-more#rsa-sha256, ...#rsa-sha384/512, xmldsig#rsa-sha1) -> EVP_MD. */
const EVP_MD *rl_sig_md_from_uri(const char *uri);
/* MGF URI (xmlenc11#mgf1sha1/224/256/384/512) -> EVP_MD. */
const EVP_MD *rl_mgf_md_from_uri(const char *uri);

/* --- encodings and randomness --- */
/* Base64 without line breaks, appended to out. */
int rl_base64_encode(const void *data, size_t len, struct rl_buf *out);
/* Decodes base64, ignoring white space; -1 on bad input. */
int rl_base64_decode(const char *text, size_t len, struct rl_buf *out);
void rl_hex(const unsigned char *data, size_t len, char *out /* 2*len+1 */);
int rl_random_bytes(void *out, size_t len, struct rl_err *err);
/* A random (v4) UUID as 36 lower-case characters + NUL. */
int rl_uuid(char out[37], struct rl_err *err);

#endif

/*
 * keys.c - our own keys and certificates, trust anchors, and certificate checks (see keys.h).
 *
 * Identities come from PEM files or a PKCS#12 keystore; trust stores from a PEM (or DER) bundle.
 * Verification uses an X509_STORE_CTX at a chosen time and turns OpenSSL's verdict into an
 * EBMS:0101 sentence naming the certificate. A trust store remembers the chains it verified for
 * TRUST_CACHE_SECONDS (never past a certificate's validity); revocation is asked every time (the
 * revocation checker has its own cache). Certificates decoded from base64 or PEM text go through the
 * process-wide cert_cache. Base64 is decoded here with EVP_DecodeUpdate so this module stands alone.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include "relais/cert_cache.h"
#include "relais/crypto.h"
#include "relais/keys.h"
#include "relais/revocation.h"

#define KEYS_FILE_MAX (4u * 1024 * 1024)
/* Subject/issuer printing: RFC 2253, but UTF-8 characters are kept rather than escaped as \XX. */
#define KEYS_NAME_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)

/* One certificate this trust store verified: the chain above it and when that verdict holds. */
struct verified_cert {
	unsigned char fingerprint[32];	/* SHA-256 of the certificate's DER */
	STACK_OF(X509) *issuers;	/* the chain from its issuer to the anchor, own references */
	time_t valid_from, valid_until;	/* every certificate of the chain is valid from .. before */
	time_t expires;			/* verified at + TRUST_CACHE_SECONDS */
	unsigned long used;		/* the clock when last found or added */
	int in_use;
};

/* Successful verifications, bounded; failures are never remembered. */
struct verified_cache {
	pthread_mutex_t lock;
	struct verified_cert entries[RL_TRUST_CACHE_SIZE];
	unsigned long clock, hits;
};

struct rl_trust {
	X509_STORE *store;
	STACK_OF(X509) *intermediates;
	int anchors;
	struct rl_revocation *revocation;	/* may be NULL */
	struct verified_cache *verified;	/* belongs to this trust store: a reload starts empty */
};

/* The first OpenSSL error as text, and the queue emptied. */
static const char *openssl_reason(char *buf, size_t size)
{
	unsigned long code = ERR_peek_last_error();

	if (code == 0)
		snprintf(buf, size, "unknown reason");
	else
		ERR_error_string_n(code, buf, size);
	ERR_clear_error();
	return buf;
}

static BIO *bio_from_file(const char *path, struct rl_buf *content, struct rl_err *err)
{
	if (rl_buf_read_file(content, path, KEYS_FILE_MAX) != 0) {
		rl_err_set(err, RL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	BIO *bio = BIO_new_mem_buf(content->data, (int)content->len);
	if (!bio)
		rl_err_set(err, RL_ERR_NOMEM, "out of memory reading %s", path);
	return bio;
}

/* A password callback that never prompts: the given password, or failure when there is none. */
static int password_from_arg(char *buf, int size, int rwflag, void *password)
{
	(void)rwflag;
	if (!password)
		return 0;
	size_t len = strlen(password);
	if (len > (size_t)size)
		return 0;
	memcpy(buf, password, len);
	return (int)len;
}

/* Reads every PEM certificate in bio; at least one required. */
static STACK_OF(X509) *read_pem_certs(BIO *bio)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *cert;

	if (!certs)
		return NULL;
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(certs, cert)) {
			X509_free(cert);
			break;
		}
	}
	ERR_clear_error();	/* the end of the file shows as an error */
	if (sk_X509_num(certs) == 0) {
		sk_X509_free(certs);
		return NULL;
	}
	return certs;
}

/* Reads the certificates in a PEM file, or one DER certificate. */
static STACK_OF(X509) *load_cert_file(const char *path, struct rl_err *err)
{
	struct rl_buf content = RL_BUF_INIT;
	BIO *bio = bio_from_file(path, &content, err);
	STACK_OF(X509) *certs = NULL;

	if (!bio) {
		rl_buf_free(&content);
		return NULL;
	}
	certs = read_pem_certs(bio);
	if (!certs) {
		const unsigned char *p = (const unsigned char *)content.data;
		X509 *der = d2i_X509(NULL, &p, (long)content.len);
		if (der) {
			certs = sk_X509_new_null();
			if (!certs || !sk_X509_push(certs, der)) {
				X509_free(der);
				sk_X509_free(certs);
				certs = NULL;
			}
		}
		ERR_clear_error();
		if (!certs)
			rl_err_set(err, RL_ERR_CRYPTO, "%s holds no certificate", path);
	}
	BIO_free(bio);
	rl_buf_free(&content);
	return certs;
}

int rl_identity_load_pem(struct rl_identity *id, const char *key_path, const char *cert_path,
			 const char *key_password, struct rl_err *err)
{
	struct rl_buf content = RL_BUF_INIT;
	char reason[256];
	BIO *bio;

	memset(id, 0, sizeof(*id));
	bio = bio_from_file(key_path, &content, err);
	if (!bio) {
		rl_buf_free(&content);
		return -1;
	}
	id->key = PEM_read_bio_PrivateKey(bio, NULL, password_from_arg, (void *)key_password);
	BIO_free(bio);
	int encrypted = content.data && strstr(content.data, "ENCRYPTED") != NULL;
	OPENSSL_cleanse(content.data, content.len);
	rl_buf_free(&content);
	if (!id->key) {
		openssl_reason(reason, sizeof(reason));
		if (encrypted && !key_password)
			return rl_err_set(err, RL_ERR_CRYPTO,
					  "private key %s is encrypted and no password was given", key_path);
		return rl_err_set(err, RL_ERR_CRYPTO, "cannot read private key %s%s: %s", key_path,
				  encrypted ? " (wrong password?)" : "", reason);
	}
	STACK_OF(X509) *certs = load_cert_file(cert_path, err);
	if (!certs) {
		rl_identity_free(id);
		return -1;
	}
	id->cert = sk_X509_shift(certs);
	if (sk_X509_num(certs) > 0)
		id->chain = certs;
	else
		sk_X509_free(certs);
	if (X509_check_private_key(id->cert, id->key) != 1) {
		ERR_clear_error();
		rl_identity_free(id);
		return rl_err_set(err, RL_ERR_CRYPTO, "private key %s does not match certificate %s",
				  key_path, cert_path);
	}
	return 0;
}

int rl_identity_load_p12(struct rl_identity *id, const char *p12_path, const char *password,
			 struct rl_err *err)
{
	struct rl_buf content = RL_BUF_INIT;
	char reason[256];
	PKCS12 *p12;
	BIO *bio;
	int rc = -1;

	memset(id, 0, sizeof(*id));
	bio = bio_from_file(p12_path, &content, err);
	if (!bio) {
		rl_buf_free(&content);
		return -1;
	}
	p12 = d2i_PKCS12_bio(bio, NULL);
	BIO_free(bio);
	rl_buf_free(&content);
	if (!p12)
		return rl_err_set(err, RL_ERR_CRYPTO, "%s is not a PKCS#12 keystore: %s", p12_path,
				  openssl_reason(reason, sizeof(reason)));
	if (!password)
		password = "";
	if (PKCS12_mac_present(p12) && PKCS12_verify_mac(p12, password, -1) != 1) {
		ERR_clear_error();
		rl_err_set(err, RL_ERR_CRYPTO, "wrong password for PKCS#12 keystore %s", p12_path);
		goto out;
	}
	if (PKCS12_parse(p12, password, &id->key, &id->cert, &id->chain) != 1) {
		rl_err_set(err, RL_ERR_CRYPTO, "cannot read PKCS#12 keystore %s: %s", p12_path,
			   openssl_reason(reason, sizeof(reason)));
		goto out;
	}
	if (!id->key || !id->cert) {
		rl_identity_free(id);
		rl_err_set(err, RL_ERR_CRYPTO, "PKCS#12 keystore %s lacks a private key or certificate",
			   p12_path);
		goto out;
	}
	if (id->chain && sk_X509_num(id->chain) == 0) {
		sk_X509_free(id->chain);
		id->chain = NULL;
	}
	rc = 0;
out:
	PKCS12_free(p12);
	return rc;
}

void rl_identity_free(struct rl_identity *id)
{
	if (!id)
		return;
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	sk_X509_pop_free(id->chain, X509_free);
	memset(id, 0, sizeof(*id));
}

/* Whether some other certificate of the bundle issued cert (names match and its key verifies cert). */
static int issuer_in_bundle(X509 *cert, STACK_OF(X509) *certs)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *candidate = sk_X509_value(certs, i);
		if (candidate != cert && X509_check_issued(candidate, cert) == X509_V_OK)
			return 1;
	}
	return 0;
}

struct rl_trust *rl_trust_load(const char *pem_bundle_path, struct rl_err *err)
{
	STACK_OF(X509) *certs = load_cert_file(pem_bundle_path, err);
	struct rl_trust *t;
	int partial = 0;

	if (!certs)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t && (t->verified = calloc(1, sizeof(*t->verified))) != NULL &&
	    pthread_mutex_init(&t->verified->lock, NULL) != 0) {
		free(t->verified);
		t->verified = NULL;
	}
	if (!t || !t->verified || !(t->store = X509_STORE_new()) ||
	    !(t->intermediates = sk_X509_new_null())) {
		rl_trust_free(t);
		sk_X509_pop_free(certs, X509_free);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory loading %s", pem_bundle_path);
		return NULL;
	}
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *cert = sk_X509_value(certs, i);
		int self_signed = X509_self_signed(cert, 0) == 1;
		int anchor = self_signed || !issuer_in_bundle(cert, certs);
		int ok;

		ERR_clear_error();
		if (anchor) {
			ok = X509_STORE_add_cert(t->store, cert);	/* takes its own reference */
			t->anchors++;
			partial |= !self_signed;
		} else {
			ok = X509_up_ref(cert) && sk_X509_push(t->intermediates, cert);
		}
		if (!ok) {
			rl_trust_free(t);
			sk_X509_pop_free(certs, X509_free);
			rl_err_set(err, RL_ERR_CRYPTO, "cannot add a certificate of %s", pem_bundle_path);
			return NULL;
		}
	}
	/* A CA without its root in the bundle is trusted as it is. */
	if (partial)
		X509_STORE_set_flags(t->store, X509_V_FLAG_PARTIAL_CHAIN);
	sk_X509_pop_free(certs, X509_free);
	return t;
}

void rl_trust_free(struct rl_trust *t)
{
	if (!t)
		return;
	if (t->verified) {
		for (int i = 0; i < RL_TRUST_CACHE_SIZE; i++)
			sk_X509_pop_free(t->verified->entries[i].issuers, X509_free);
		pthread_mutex_destroy(&t->verified->lock);
		free(t->verified);
	}
	X509_STORE_free(t->store);
	sk_X509_pop_free(t->intermediates, X509_free);
	rl_revocation_free(t->revocation);
	free(t);
}

void rl_trust_set_revocation(struct rl_trust *t, struct rl_revocation *rev)
{
	if (t->revocation != rev)
		rl_revocation_free(t->revocation);
	t->revocation = rev;
}

struct rl_revocation *rl_trust_revocation(const struct rl_trust *t)
{
	return t ? t->revocation : NULL;
}

void rl_trust_counts(const struct rl_trust *t, int *anchors, int *intermediates)
{
	*anchors = t ? t->anchors : 0;
	*intermediates = t ? sk_X509_num(t->intermediates) : 0;
}

void rl_trust_cache_stats(const struct rl_trust *t, unsigned long *hits, int *entries)
{
	*hits = 0;
	*entries = 0;
	if (!t || !t->verified)
		return;
	pthread_mutex_lock(&t->verified->lock);
	*hits = t->verified->hits;
	for (int i = 0; i < RL_TRUST_CACHE_SIZE; i++)
		*entries += t->verified->entries[i].in_use;
	pthread_mutex_unlock(&t->verified->lock);
}

/* The issuers above cert, with new references, when this trust store verified cert recently and the
 * whole chain is valid at `when`; NULL otherwise. */
static STACK_OF(X509) *verified_find(struct verified_cache *cache, const unsigned char fingerprint[32],
				     time_t now, time_t when)
{
	STACK_OF(X509) *issuers = NULL;

	pthread_mutex_lock(&cache->lock);
	for (int i = 0; i < RL_TRUST_CACHE_SIZE; i++) {
		struct verified_cert *e = &cache->entries[i];
		if (!e->in_use || memcmp(e->fingerprint, fingerprint, 32) != 0)
			continue;
		if (now < e->expires && when >= e->valid_from && when < e->valid_until &&
		    (issuers = X509_chain_up_ref(e->issuers)) != NULL) {
			e->used = ++cache->clock;
			cache->hits++;
		}
		break;
	}
	pthread_mutex_unlock(&cache->lock);
	return issuers;
}

/* Remembers that cert verified with this chain (cert first). Nothing happens when the chain's
 * validity cannot be read or the certificates cannot be shared. */
static void verified_add(struct verified_cache *cache, const unsigned char fingerprint[32],
			 STACK_OF(X509) *chain, time_t now)
{
	time_t valid_from = 0, valid_until = 0;
	STACK_OF(X509) *issuers = sk_X509_new_null();
	STACK_OF(X509) *replaced = NULL;

	for (int i = 0; issuers && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);
		time_t from = rl_cert_not_before(c), until = rl_cert_not_after(c);

		if (from == (time_t)-1 || until == (time_t)-1 || X509_check_purpose(c, -1, 0) != 1)
			goto drop;
		if (i == 0 || from > valid_from)
			valid_from = from;
		if (i == 0 || until < valid_until)
			valid_until = until;
		if (i > 0 && !X509_up_ref(c))
			goto drop;
		if (i > 0 && !sk_X509_push(issuers, c)) {
			X509_free(c);
			goto drop;
		}
	}
	if (!issuers)
		return;
	pthread_mutex_lock(&cache->lock);
	struct verified_cert *slot = &cache->entries[0];
	for (int i = 0; i < RL_TRUST_CACHE_SIZE; i++) {
		struct verified_cert *e = &cache->entries[i];
		if (e->in_use && memcmp(e->fingerprint, fingerprint, 32) == 0) {
			slot = e;
			break;
		}
		if (!e->in_use ? slot->in_use : slot->in_use && e->used < slot->used)
			slot = e;
	}
	replaced = slot->in_use ? slot->issuers : NULL;
	memcpy(slot->fingerprint, fingerprint, 32);
	slot->issuers = issuers;
	slot->valid_from = valid_from;
	slot->valid_until = valid_until;
	slot->expires = now + RL_TRUST_CACHE_SECONDS;
	slot->used = ++cache->clock;
	slot->in_use = 1;
	pthread_mutex_unlock(&cache->lock);
	sk_X509_pop_free(replaced, X509_free);
	return;
drop:
	ERR_clear_error();
	sk_X509_pop_free(issuers, X509_free);
}

static void format_date(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (t == (time_t)-1 || !gmtime_r(&t, &tm) || strftime(out, size, "%Y-%m-%d", &tm) == 0)
		snprintf(out, size, "an unknown date");
}

/* Turns a verification failure into the EBMS:0101 sentence. */
static int verify_failure(X509_STORE_CTX *ctx, X509 *leaf, struct rl_err *err)
{
	int code = X509_STORE_CTX_get_error(ctx);
	X509 *failing = X509_STORE_CTX_get_current_cert(ctx);
	char leaf_cn[256], failing_cn[256], date[32], about[300];

	rl_cert_cn(leaf, leaf_cn, sizeof(leaf_cn));
	if (failing && X509_cmp(failing, leaf) != 0)
		snprintf(about, sizeof(about), "certificate CN=%s: CA certificate CN=%s", leaf_cn,
			 rl_cert_cn(failing, failing_cn, sizeof(failing_cn)));
	else {
		snprintf(about, sizeof(about), "certificate CN=%s", leaf_cn);
		failing = leaf;
	}
	switch (code) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		format_date(rl_cert_not_after(failing), date, sizeof(date));
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "%s expired on %s", about, date);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		format_date(rl_cert_not_before(failing), date, sizeof(date));
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "%s is not valid before %s",
				  about, date);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
				  "certificate CN=%s does not chain to a trusted CA", leaf_cn);
	default:
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "%s is not valid: %s", about,
				  X509_verify_cert_error_string(code));
	}
}

int rl_trust_verify(const struct rl_trust *t, X509 *cert, STACK_OF(X509) *untrusted, time_t at,
		    struct rl_err *err)
{
	return rl_trust_verify_chain(t, cert, untrusted, at, NULL, err);
}

/* The chain from cert to its anchor, from the cache of recent verdicts when it holds one. */
static STACK_OF(X509) *chain_from_cache(const struct rl_trust *t, X509 *cert,
					const unsigned char fingerprint[32], time_t now, time_t when)
{
	STACK_OF(X509) *chain = verified_find(t->verified, fingerprint, now, when);

	if (!chain)
		return NULL;
	if (!X509_up_ref(cert)) {
		sk_X509_pop_free(chain, X509_free);
		return NULL;
	}
	if (!sk_X509_unshift(chain, cert)) {
		X509_free(cert);
		sk_X509_pop_free(chain, X509_free);
		return NULL;
	}
	return chain;
}

int rl_trust_verify_chain(const struct rl_trust *t, X509 *cert, STACK_OF(X509) *untrusted, time_t at,
			  STACK_OF(X509) **chain_out, struct rl_err *err)
{
	STACK_OF(X509) *candidates = NULL, *chain = NULL;
	X509_STORE_CTX *ctx = NULL;
	unsigned char fingerprint[32];
	unsigned int fp_len = 0;
	time_t now = time(NULL);
	int cacheable, rc = -1;

	if (!t || !cert)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "no certificate to verify");
	/* Extra intermediates change which chain is built: such calls are not cached. */
	cacheable = (!untrusted || sk_X509_num(untrusted) == 0) &&
		    X509_digest(cert, rl_md_fetched(EVP_sha256()), fingerprint, &fp_len) == 1 && fp_len == 32;
	if (cacheable)
		chain = chain_from_cache(t, cert, fingerprint, now, at != 0 ? at : now);
	candidates = sk_X509_dup(t->intermediates);
	if (!candidates) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory verifying a certificate");
		goto out;
	}
	if (!chain) {
		for (int i = 0; untrusted && i < sk_X509_num(untrusted); i++)
			if (!sk_X509_push(candidates, sk_X509_value(untrusted, i))) {
				rl_err_set(err, RL_ERR_NOMEM, "out of memory verifying a certificate");
				goto out;
			}
		ctx = X509_STORE_CTX_new();
		if (!ctx || X509_STORE_CTX_init(ctx, t->store, cert, candidates) != 1) {
			rl_err_set(err, RL_ERR_CRYPTO, "cannot set up certificate verification");
			goto out;
		}
		if (at != 0)
			X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
		if (X509_verify_cert(ctx) != 1) {
			verify_failure(ctx, cert, err);
			goto out;
		}
		if (!(chain = X509_STORE_CTX_get1_chain(ctx))) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory verifying a certificate");
			goto out;
		}
		if (cacheable)
			verified_add(t->verified, fingerprint, chain, now);
	}
	/* Revocation from the top: the CAs between the anchor (trusted as configured) and cert, then cert,
	 * so that nobody is asked about a certificate whose CA is revoked. */
	for (int i = sk_X509_num(chain) - 2; t->revocation && i >= 1; i--)
		if (rl_revocation_check_ca(t->revocation, sk_X509_value(chain, i), sk_X509_value(chain, i + 1),
					   t->store, candidates, at, err) < 0) {
			char cn[128];

			rl_err_prefix(err, "the chain of CN=%s", rl_cert_cn(cert, cn, sizeof(cn)));
			goto out;
		}
	X509 *issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
	if (t->revocation && rl_revocation_check(t->revocation, cert, issuer, t->store, candidates, at, NULL,
						 err) < 0)
		goto out;
	if (chain_out) {
		*chain_out = chain;
		chain = NULL;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_free(candidates);	/* the certificates belong to the trust store and the caller */
	return rc;
}

X509 *rl_cert_load_pem(const char *path, struct rl_err *err)
{
	STACK_OF(X509) *certs = load_cert_file(path, err);
	X509 *cert;

	if (!certs)
		return NULL;
	cert = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	return cert;
}

X509 *rl_cert_from_der(const unsigned char *der, size_t len, struct rl_err *err)
{
	const unsigned char *p = der;
	char reason[256];
	X509 *cert = d2i_X509(NULL, &p, (long)len);

	if (!cert)
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "not a DER certificate: %s",
			   openssl_reason(reason, sizeof(reason)));
	return cert;
}

/* Decodes base64 (whitespace allowed) into a malloc'd buffer. Returns NULL when malformed. */
static unsigned char *base64_decode(const char *b64, size_t *out_len)
{
	size_t in_len = strlen(b64);
	unsigned char *out = malloc(in_len / 4 * 3 + 4);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int n = 0, tail = 0;

	if (!out || !ctx || in_len > 0x7fffffff)
		goto fail;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)b64, (int)in_len) < 0)
		goto fail;
	if (EVP_DecodeFinal(ctx, out + n, &tail) != 1)
		goto fail;
	EVP_ENCODE_CTX_free(ctx);
	*out_len = (size_t)n + (size_t)tail;
	return out;
fail:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

X509 *rl_cert_from_base64(const char *b64, struct rl_err *err)
{
	unsigned char key[32];
	size_t len = 0;
	unsigned char *der;
	X509 *cert;

	if (!b64)
		return (void)rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "no certificate"), NULL;
	rl_cert_cache_key(RL_CERT_BASE64_DER, b64, strlen(b64), key);
	if ((cert = rl_cert_cache_find(key)) != NULL)
		return cert;
	der = base64_decode(b64, &len);
	if (!der || len == 0) {
		free(der);
		rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "certificate is not valid base64");
		return NULL;
	}
	cert = rl_cert_from_der(der, len, err);
	free(der);
	if (cert)
		rl_cert_cache_add(key, cert);	/* when it cannot be shared, the caller still has it */
	return cert;
}

X509 *rl_cert_from_pem_text(const char *pem, struct rl_err *err)
{
	unsigned char key[32];
	char reason[256];
	BIO *bio;
	X509 *cert;

	if (!pem)
		return (void)rl_err_set(err, RL_ERR_CRYPTO, "no certificate"), NULL;
	rl_cert_cache_key(RL_CERT_PEM, pem, strlen(pem), key);
	if ((cert = rl_cert_cache_find(key)) != NULL)
		return cert;
	bio = BIO_new_mem_buf(pem, -1);
	cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!cert) {
		rl_err_set(err, RL_ERR_CRYPTO, "not a PEM certificate: %s",
			   openssl_reason(reason, sizeof(reason)));
		return NULL;
	}
	rl_cert_cache_add(key, cert);
	return cert;
}

int rl_cert_to_der_base64(X509 *cert, struct rl_buf *out)
{
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);
	int rc = -1;

	if (len <= 0)
		return -1;
	size_t need = ((size_t)len + 2) / 3 * 4 + 1;
	if (rl_buf_reserve(out, need) == 0) {
		int written = EVP_EncodeBlock((unsigned char *)out->data + out->len, der, len);
		out->len += (size_t)written;
		out->data[out->len] = '\0';
		rc = 0;
	}
	OPENSSL_free(der);
	return rc;
}

/* Appends everything written to a memory BIO to out. */
static int append_bio(BIO *bio, struct rl_buf *out)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	if (len < 0)
		return -1;
	return rl_buf_append(out, data, (size_t)len);
}

int rl_cert_to_pem(X509 *cert, struct rl_buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc = -1;

	if (bio && PEM_write_bio_X509(bio, cert) == 1)
		rc = append_bio(bio, out);
	BIO_free(bio);
	return rc;
}

const char *rl_cert_cn(X509 *cert, char *buf, size_t size)
{
	X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
	int index = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	unsigned char *utf8 = NULL;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (index < 0)
		return buf;
	ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
	int len = ASN1_STRING_to_UTF8(&utf8, value);
	if (len >= 0) {
		snprintf(buf, size, "%.*s", len, (const char *)utf8);
		OPENSSL_free(utf8);
	}
	return buf;
}

static char *name_to_rfc2253(const X509_NAME *name)
{
	struct rl_buf text = RL_BUF_INIT;
	BIO *bio = BIO_new(BIO_s_mem());
	char *result = NULL;

	if (bio && name && X509_NAME_print_ex(bio, name, 0, KEYS_NAME_FLAGS) >= 0 &&
	    append_bio(bio, &text) == 0 && rl_buf_reserve(&text, 1) == 0)
		result = rl_buf_steal(&text);
	rl_buf_free(&text);
	BIO_free(bio);
	return result;
}

char *rl_cert_subject(X509 *cert)
{
	return cert ? name_to_rfc2253(X509_get_subject_name(cert)) : NULL;
}

char *rl_cert_issuer(X509 *cert)
{
	return cert ? name_to_rfc2253(X509_get_issuer_name(cert)) : NULL;
}

char *rl_cert_serial_dec(X509 *cert)
{
	BIGNUM *bn = cert ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL) : NULL;
	char *dec = bn ? BN_bn2dec(bn) : NULL;
	char *copy = dec ? strdup(dec) : NULL;

	OPENSSL_free(dec);
	BN_free(bn);
	return copy;
}

static time_t asn1_time_to_time_t(const ASN1_TIME *at)
{
	struct tm tm;

	if (!at || ASN1_TIME_to_tm(at, &tm) != 1)
		return (time_t)-1;
	return timegm(&tm);
}

time_t rl_cert_not_after(X509 *cert)
{
	return cert ? asn1_time_to_time_t(X509_get0_notAfter(cert)) : (time_t)-1;
}

time_t rl_cert_not_before(X509 *cert)
{
	return cert ? asn1_time_to_time_t(X509_get0_notBefore(cert)) : (time_t)-1;
}

/* One attribute=value of a distinguished name, normalised for comparison. */
struct dn_part {
	char type[64];
	char value[256];
};

#define DN_PARTS_MAX 32

static void normalise_type(char *type)
{
	static const struct {
		const char *alias, *name;
	} aliases[] = {
		{"E", "EMAILADDRESS"}, {"S", "ST"}, {"2.5.4.3", "CN"}, {"2.5.4.6", "C"},
		{"2.5.4.10", "O"}, {"2.5.4.11", "OU"}, {"2.5.4.7", "L"}, {"2.5.4.8", "ST"},
		{"2.5.4.5", "SERIALNUMBER"}, {"1.2.840.113549.1.9.1", "EMAILADDRESS"},
		{"OID.2.5.4.97", "ORGANIZATIONIDENTIFIER"}, {"2.5.4.97", "ORGANIZATIONIDENTIFIER"},
	};

	for (char *p = type; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(type, aliases[i].alias) == 0) {
			snprintf(type, 64, "%s", aliases[i].name);
			return;
		}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies s[0..len) with surrounding spaces trimmed and RFC 2253 escapes undone. */
static int copy_unescaped(char *dst, size_t size, const char *s, size_t len)
{
	size_t o = 0;

	while (len > 0 && isspace((unsigned char)*s))
		s++, len--;
	while (len > 0 && isspace((unsigned char)s[len - 1]) && !(len > 1 && s[len - 2] == '\\'))
		len--;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < len) {
			int hi = hex_digit(s[i + 1]), lo = i + 2 < len ? hex_digit(s[i + 2]) : -1;
			if (hi >= 0 && lo >= 0) {
				c = (char)(hi * 16 + lo);
				i += 2;
			} else {
				c = s[++i];
			}
		}
		if (o + 1 >= size)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

/* Splits "CN=a, O=b\, c" into parts. Returns the count, or -1 when malformed. */
static int parse_dn(const char *dn, struct dn_part *parts, int max)
{
	int count = 0;
	const char *start = dn;

	for (const char *p = dn;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p != ',' && *p != '+' && *p != ';' && *p != '\0')
			continue;
		const char *eq = start;
		while (eq < p && *eq != '=')
			eq++;
		if (eq == p || count == max)
			return -1;
		if (copy_unescaped(parts[count].type, sizeof(parts[count].type), start,
				   (size_t)(eq - start)) != 0 ||
		    copy_unescaped(parts[count].value, sizeof(parts[count].value), eq + 1,
				   (size_t)(p - eq - 1)) != 0)
			return -1;
		normalise_type(parts[count].type);
		count++;
		if (*p == '\0')
			break;
		start = p + 1;
	}
	return count;
}

static int dn_parts_equal(const struct dn_part *a, const struct dn_part *b, int count, int reversed)
{
	for (int i = 0; i < count; i++) {
		const struct dn_part *other = &b[reversed ? count - 1 - i : i];
		if (strcmp(a[i].type, other->type) != 0 || strcasecmp(a[i].value, other->value) != 0)
			return 0;
	}
	return 1;
}

static int dn_strings_match(const char *x, const char *y)
{
	struct dn_part a[DN_PARTS_MAX], b[DN_PARTS_MAX];
	int na = parse_dn(x, a, DN_PARTS_MAX), nb = parse_dn(y, b, DN_PARTS_MAX);

	if (na <= 0 || na != nb)
		return 0;
	return dn_parts_equal(a, b, na, 0) || dn_parts_equal(a, b, na, 1);
}

int rl_cert_matches_issuer_serial(X509 *cert, const char *issuer_dn, const char *serial_dec)
{
	BIGNUM *wanted = NULL, *actual = NULL;
	char *issuer = NULL;
	int match = 0;

	if (!cert || !issuer_dn || !serial_dec)
		return 0;
	while (isspace((unsigned char)*serial_dec))
		serial_dec++;
	int digits = BN_dec2bn(&wanted, serial_dec);
	if (digits == 0 || serial_dec[digits] != '\0')
		goto out;
	actual = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	if (!actual || BN_cmp(wanted, actual) != 0)
		goto out;
	issuer = rl_cert_issuer(cert);
	match = issuer && dn_strings_match(issuer, issuer_dn);
out:
	ERR_clear_error();
	BN_free(wanted);
	BN_free(actual);
	free(issuer);
	return match;
}

int rl_cert_matches_ski(X509 *cert, const unsigned char *ski, size_t ski_len)
{
	const ASN1_OCTET_STRING *own = cert ? X509_get0_subject_key_id(cert) : NULL;

	ERR_clear_error();
	return own && ski && (size_t)ASN1_STRING_length(own) == ski_len &&
	       memcmp(ASN1_STRING_get0_data(own), ski, ski_len) == 0;
}

int rl_cert_equal(X509 *a, X509 *b)
{
	return a && b && X509_cmp(a, b) == 0;
}

/* Reads exactly `digits` decimal digits. */
static int read_number(const char **s, int digits, int *value)
{
	*value = 0;
	for (int i = 0; i < digits; i++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		*value = *value * 10 + (**s - '0');
		(*s)++;
	}
	return 0;
}

static int expect_char(const char **s, char c)
{
	if (**s != c)
		return -1;
	(*s)++;
	return 0;
}

time_t rl_parse_datetime(const char *s)
{
	int year, month, day, hour, minute, second, zone_hours = 0, zone_minutes = 0;
	long offset = 0;
	struct tm tm;

	if (!s)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (read_number(&s, 4, &year) || expect_char(&s, '-') || read_number(&s, 2, &month) ||
	    expect_char(&s, '-') || read_number(&s, 2, &day) || expect_char(&s, 'T') ||
	    read_number(&s, 2, &hour) || expect_char(&s, ':') || read_number(&s, 2, &minute) ||
	    expect_char(&s, ':') || read_number(&s, 2, &second))
		return -1;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s))
			s++;	/* fractions of a second are dropped */
	}
	if (*s == 'Z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1;
		s++;
		if (read_number(&s, 2, &zone_hours) || expect_char(&s, ':') ||
		    read_number(&s, 2, &zone_minutes) || zone_hours > 14 || zone_minutes > 59)
			return -1;
		offset = sign * (zone_hours * 3600L + zone_minutes * 60L);
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s != '\0' || month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 ||
	    minute > 59 || second > 60 || (hour == 24 && (minute || second)))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || (hour < 24 && tm.tm_mday != day))	/* an impossible date */
		return -1;
	return t - offset;
}

/* t == 0 means now, with the clock's own milliseconds; otherwise t with the given millis. */
void rl_format_datetime(time_t t, int millis, char *out, size_t size)
{
	struct tm tm;
	char date[32];

	if (size == 0)
		return;
	if (t == 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		t = now.tv_sec;
		millis = (int)(now.tv_nsec / 1000000);
	}
	if (millis < 0 || millis > 999)
		millis = 0;
	if (!gmtime_r(&t, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out, size, "%s.%03dZ", date, millis);
}

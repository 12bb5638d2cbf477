/*
 * crypto.c - the cryptographic stages of an AS4 message (see include/relais/crypto.h).
 *
 * Streaming sinks for gzip (zlib), digests and AES-128-GCM in the xmlenc11 layout, plus one-shot
 * RSA-OAEP, RSA PKCS#1 v1.5 signatures, algorithm URI tables, base64, random bytes and UUIDs.
 * Everything uses OpenSSL 3 EVP; every stage works in fixed-size chunks and constant memory.
 */
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <pthread.h>
#include <zlib.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include "relais/crypto.h"

#define CHUNK_SIZE 16384

/* ------------------------------------------------------------------------------------------------ */
/* algorithms fetched once                                                                          */

static const struct {
	int nid;
	const char *name;
} prefetched_names[] = {
	{ NID_sha1, "SHA1" }, { NID_sha224, "SHA224" }, { NID_sha256, "SHA256" },
	{ NID_sha384, "SHA384" }, { NID_sha512, "SHA512" },
};

#define PREFETCHED_MD_COUNT (sizeof(prefetched_names) / sizeof(prefetched_names[0]))

/* Kept for the life of the process: OpenSSL releases its providers at exit. */
static EVP_MD *prefetched_md[PREFETCHED_MD_COUNT];
static EVP_CIPHER *prefetched_aes128gcm;
static pthread_once_t prefetch_once = PTHREAD_ONCE_INIT;

static void prefetch(void)
{
	for (size_t i = 0; i < PREFETCHED_MD_COUNT; i++)
		prefetched_md[i] = EVP_MD_fetch(NULL, prefetched_names[i].name, NULL);
	prefetched_aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	ERR_clear_error();	/* an algorithm the providers lack stays implicit */
}

const EVP_MD *rl_md_fetched(const EVP_MD *md)
{
	int nid;

	if (md == NULL || EVP_MD_get0_provider(md) != NULL)
		return md;
	pthread_once(&prefetch_once, prefetch);
	nid = EVP_MD_get_type(md);
	for (size_t i = 0; i < PREFETCHED_MD_COUNT; i++)
		if (prefetched_names[i].nid == nid && prefetched_md[i] != NULL)
			return prefetched_md[i];
	return md;
}

const EVP_CIPHER *rl_cipher_aes128gcm(void)
{
	pthread_once(&prefetch_once, prefetch);
	return prefetched_aes128gcm ? prefetched_aes128gcm : EVP_aes_128_gcm();
}

/* ------------------------------------------------------------------------------------------------ */
/* gzip                                                                                             */

struct rl_gzip {
	z_stream zs;
	int compressing;
	int stream_ended;	/* decompress: a whole gzip member has been read */
	int saw_input;
	unsigned long long max_output;
	unsigned long long total_out;
	struct rl_sink next;
	unsigned char out[CHUNK_SIZE];
};

static struct rl_gzip *gzip_alloc(const struct rl_sink *next, struct rl_err *err)
{
	struct rl_gzip *z = calloc(1, sizeof(*z));

	if (z == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	z->next = *next;
	return z;
}

struct rl_gzip *rl_gzip_compress_new(const struct rl_sink *next, struct rl_err *err)
{
	struct rl_gzip *z = gzip_alloc(next, err);

	if (z == NULL)
		return NULL;
	z->compressing = 1;
	if (deflateInit2(&z->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		rl_err_set(err, RL_ERR_CRYPTO, "gzip: deflateInit2 failed");
		return NULL;
	}
	return z;
}

struct rl_gzip *rl_gzip_decompress_new(const struct rl_sink *next, unsigned long long max_output,
				       struct rl_err *err)
{
	struct rl_gzip *z = gzip_alloc(next, err);

	if (z == NULL)
		return NULL;
	z->max_output = max_output;
	if (inflateInit2(&z->zs, 31) != Z_OK) {
		free(z);
		rl_err_set(err, RL_ERR_CRYPTO, "gzip: inflateInit2 failed");
		return NULL;
	}
	return z;
}

/* Passes the produced part of z->out on to next, enforcing max_output when decompressing. */
static int gzip_emit(struct rl_gzip *z, struct rl_err *err)
{
	size_t produced = sizeof(z->out) - z->zs.avail_out;

	if (produced == 0)
		return 0;
	if (!z->compressing && z->max_output && z->total_out + produced > z->max_output)
		return rl_err_set(err, RL_EBMS_DECOMPRESSION_FAILURE,
				  "gzip: decompressed size exceeds the limit of %llu bytes", z->max_output);
	z->total_out += produced;
	return rl_sink_write(&z->next, z->out, produced, err);
}

static int gzip_deflate(struct rl_gzip *z, int flush, struct rl_err *err)
{
	int rc;

	do {
		z->zs.next_out = z->out;
		z->zs.avail_out = sizeof(z->out);
		rc = deflate(&z->zs, flush);
		if (rc == Z_STREAM_ERROR)
			return rl_err_set(err, RL_ERR_CRYPTO, "gzip: deflate failed");
		if (gzip_emit(z, err) < 0)
			return -1;
	} while (z->zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return 0;
}

static int gzip_inflate(struct rl_gzip *z, struct rl_err *err)
{
	int rc;

	while (z->zs.avail_in > 0) {
		if (z->stream_ended) {
			/* Another gzip member follows (RFC 1952 allows concatenation). */
			if (inflateReset(&z->zs) != Z_OK)
				return rl_err_set(err, RL_EBMS_DECOMPRESSION_FAILURE, "gzip: reset failed");
			z->stream_ended = 0;
		}
		z->zs.next_out = z->out;
		z->zs.avail_out = sizeof(z->out);
		rc = inflate(&z->zs, Z_NO_FLUSH);
		switch (rc) {
		case Z_OK:
		case Z_BUF_ERROR:
			break;
		case Z_STREAM_END:
			z->stream_ended = 1;
			break;
		default:
			return rl_err_set(err, RL_EBMS_DECOMPRESSION_FAILURE, "gzip: corrupt data (%s)",
					  z->zs.msg ? z->zs.msg : "inflate error");
		}
		if (gzip_emit(z, err) < 0)
			return -1;
		if (rc == Z_BUF_ERROR && z->zs.avail_out != 0)
			break;
	}
	/* Drain output that did not fit while all input was consumed. */
	while (!z->stream_ended) {
		z->zs.next_out = z->out;
		z->zs.avail_out = sizeof(z->out);
		rc = inflate(&z->zs, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			z->stream_ended = 1;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return rl_err_set(err, RL_EBMS_DECOMPRESSION_FAILURE, "gzip: corrupt data (%s)",
					  z->zs.msg ? z->zs.msg : "inflate error");
		if (gzip_emit(z, err) < 0)
			return -1;
		if (z->zs.avail_out != 0)
			break;
	}
	return 0;
}

static int gzip_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct rl_gzip *z = ctx;

	while (len > 0) {
		uInt piece = len > UINT_MAX ? UINT_MAX : (uInt)len;

		z->zs.next_in = (Bytef *)data;
		z->zs.avail_in = piece;
		z->saw_input = 1;
		if ((z->compressing ? gzip_deflate(z, Z_NO_FLUSH, err) : gzip_inflate(z, err)) < 0)
			return -1;
		data += piece;
		len -= piece;
	}
	return 0;
}

struct rl_sink rl_gzip_sink(struct rl_gzip *z)
{
	struct rl_sink s = { gzip_write, z };
	return s;
}

int rl_gzip_finish(struct rl_gzip *z, struct rl_err *err)
{
	if (z->compressing) {
		z->zs.next_in = NULL;
		z->zs.avail_in = 0;
		return gzip_deflate(z, Z_FINISH, err);
	}
	if (!z->saw_input || !z->stream_ended)
		return rl_err_set(err, RL_EBMS_DECOMPRESSION_FAILURE, "gzip: truncated data");
	return 0;
}

unsigned long long rl_gzip_total_out(const struct rl_gzip *z)
{
	return z->total_out;
}

void rl_gzip_free(struct rl_gzip *z)
{
	if (z == NULL)
		return;
	if (z->compressing)
		deflateEnd(&z->zs);
	else
		inflateEnd(&z->zs);
	free(z);
}

/* ------------------------------------------------------------------------------------------------ */
/* digest tee                                                                                       */

struct rl_digest {
	EVP_MD_CTX *ctx;
	struct rl_sink next;
	int has_next;
	unsigned long long total;
};

struct rl_digest *rl_digest_new(const EVP_MD *md, const struct rl_sink *next, struct rl_err *err)
{
	struct rl_digest *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (next != NULL) {
		d->next = *next;
		d->has_next = 1;
	}
	d->ctx = EVP_MD_CTX_new();
	if (d->ctx == NULL || EVP_DigestInit_ex(d->ctx, rl_md_fetched(md), NULL) != 1) {
		rl_digest_free(d);
		rl_err_set(err, RL_ERR_CRYPTO, "digest: initialisation failed");
		return NULL;
	}
	return d;
}

static int digest_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct rl_digest *d = ctx;

	if (EVP_DigestUpdate(d->ctx, data, len) != 1)
		return rl_err_set(err, RL_ERR_CRYPTO, "digest: update failed");
	d->total += len;
	if (d->has_next)
		return rl_sink_write(&d->next, data, len, err);
	return 0;
}

struct rl_sink rl_digest_sink(struct rl_digest *d)
{
	struct rl_sink s = { digest_write, d };
	return s;
}

int rl_digest_finish(struct rl_digest *d, unsigned char *out, unsigned int *out_len, struct rl_err *err)
{
	if (EVP_DigestFinal_ex(d->ctx, out, out_len) != 1)
		return rl_err_set(err, RL_ERR_CRYPTO, "digest: final failed");
	return 0;
}

unsigned long long rl_digest_total(const struct rl_digest *d)
{
	return d->total;
}

void rl_digest_free(struct rl_digest *d)
{
	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void rl_sha256(const void *data, size_t len, unsigned char out[RL_SHA256_LEN])
{
	unsigned int out_len = RL_SHA256_LEN;

	if (EVP_Digest(data, len, out, &out_len, rl_md_fetched(EVP_sha256()), NULL) != 1)
		memset(out, 0, RL_SHA256_LEN);
}

/* ------------------------------------------------------------------------------------------------ */
/* AES-128-GCM, xmlenc11 layout IV || ciphertext || tag                                             */

struct rl_gcm {
	EVP_CIPHER_CTX *ctx;
	int encrypting;
	int cipher_ready;	/* IV known and the context initialised */
	int iv_written;		/* encrypt: the IV has gone out in front of the ciphertext */
	unsigned char key[RL_AES128_KEY_LEN];
	unsigned char iv[RL_GCM_IV_LEN];
	size_t iv_len;
	unsigned char held_tag[RL_GCM_TAG_LEN];	/* decrypt: the last bytes seen, maybe the tag */
	size_t held_len;
	struct rl_sink next;
	unsigned char out[CHUNK_SIZE + 32];
};

static struct rl_gcm *gcm_new(const unsigned char key[RL_AES128_KEY_LEN], const struct rl_sink *next,
			      int encrypting, struct rl_err *err)
{
	struct rl_gcm *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	g->ctx = EVP_CIPHER_CTX_new();
	if (g->ctx == NULL) {
		free(g);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	memcpy(g->key, key, RL_AES128_KEY_LEN);
	g->encrypting = encrypting;
	g->next = *next;
	return g;
}

static int gcm_init_cipher(struct rl_gcm *g, struct rl_err *err)
{
	const EVP_CIPHER *aes = rl_cipher_aes128gcm();
	int ok = g->encrypting ? EVP_EncryptInit_ex2(g->ctx, aes, g->key, g->iv, NULL)
			       : EVP_DecryptInit_ex2(g->ctx, aes, g->key, g->iv, NULL);

	OPENSSL_cleanse(g->key, sizeof(g->key));
	if (ok != 1)
		return rl_err_set(err, RL_ERR_CRYPTO, "AES-GCM: initialisation failed");
	g->cipher_ready = 1;
	return 0;
}

struct rl_gcm *rl_gcm_encrypt_new(const unsigned char key[RL_AES128_KEY_LEN], const struct rl_sink *next,
				  struct rl_err *err)
{
	struct rl_gcm *g = gcm_new(key, next, 1, err);

	if (g == NULL)
		return NULL;
	if (rl_random_bytes(g->iv, RL_GCM_IV_LEN, err) < 0 || gcm_init_cipher(g, err) < 0) {
		rl_gcm_free(g);
		return NULL;
	}
	g->iv_len = RL_GCM_IV_LEN;
	return g;
}

struct rl_gcm *rl_gcm_decrypt_new(const unsigned char key[RL_AES128_KEY_LEN], const struct rl_sink *next,
				  struct rl_err *err)
{
	return gcm_new(key, next, 0, err);
}

/* Runs data through the cipher in chunks and passes the result on. */
static int gcm_update(struct rl_gcm *g, const unsigned char *data, size_t len, struct rl_err *err)
{
	while (len > 0) {
		size_t piece = len > CHUNK_SIZE ? CHUNK_SIZE : len;
		int out_len = 0;
		int ok = g->encrypting ? EVP_EncryptUpdate(g->ctx, g->out, &out_len, data, (int)piece)
				       : EVP_DecryptUpdate(g->ctx, g->out, &out_len, data, (int)piece);

		if (ok != 1)
			return rl_err_set(err, g->encrypting ? RL_ERR_CRYPTO : RL_EBMS_FAILED_DECRYPTION,
					  "AES-GCM: update failed");
		if (out_len > 0 && rl_sink_write(&g->next, g->out, (size_t)out_len, err) < 0)
			return -1;
		data += piece;
		len -= piece;
	}
	return 0;
}

/* Writes the IV in front of the ciphertext, once. */
static int gcm_emit_iv(struct rl_gcm *g, struct rl_err *err)
{
	if (g->iv_written)
		return 0;
	g->iv_written = 1;
	return rl_sink_write(&g->next, g->iv, RL_GCM_IV_LEN, err);
}

static int gcm_decrypt_write(struct rl_gcm *g, const unsigned char *data, size_t len, struct rl_err *err)
{
	size_t total, to_decrypt, from_held, from_data;

	if (g->iv_len < RL_GCM_IV_LEN) {
		size_t take = RL_GCM_IV_LEN - g->iv_len;

		if (take > len)
			take = len;
		memcpy(g->iv + g->iv_len, data, take);
		g->iv_len += take;
		data += take;
		len -= take;
		if (g->iv_len < RL_GCM_IV_LEN)
			return 0;
		if (gcm_init_cipher(g, err) < 0)
			return -1;
	}
	total = g->held_len + len;
	if (total <= RL_GCM_TAG_LEN) {
		memcpy(g->held_tag + g->held_len, data, len);
		g->held_len += len;
		return 0;
	}
	/* Everything but the last 16 bytes of held||data is ciphertext. */
	to_decrypt = total - RL_GCM_TAG_LEN;
	from_held = to_decrypt < g->held_len ? to_decrypt : g->held_len;
	if (gcm_update(g, g->held_tag, from_held, err) < 0)
		return -1;
	memmove(g->held_tag, g->held_tag + from_held, g->held_len - from_held);
	g->held_len -= from_held;
	from_data = to_decrypt - from_held;
	if (gcm_update(g, data, from_data, err) < 0)
		return -1;
	memcpy(g->held_tag + g->held_len, data + from_data, len - from_data);
	g->held_len += len - from_data;
	return 0;
}

static int gcm_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct rl_gcm *g = ctx;

	if (!g->encrypting)
		return gcm_decrypt_write(g, data, len, err);
	if (gcm_emit_iv(g, err) < 0)
		return -1;
	return gcm_update(g, data, len, err);
}

struct rl_sink rl_gcm_sink(struct rl_gcm *g)
{
	struct rl_sink s = { gcm_write, g };
	return s;
}

int rl_gcm_finish(struct rl_gcm *g, struct rl_err *err)
{
	int out_len = 0;

	if (g->encrypting) {
		unsigned char tag[RL_GCM_TAG_LEN];

		if (gcm_emit_iv(g, err) < 0)
			return -1;
		if (EVP_EncryptFinal_ex(g->ctx, g->out, &out_len) != 1 ||
		    EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_GET_TAG, RL_GCM_TAG_LEN, tag) != 1)
			return rl_err_set(err, RL_ERR_CRYPTO, "AES-GCM: final failed");
		if (out_len > 0 && rl_sink_write(&g->next, g->out, (size_t)out_len, err) < 0)
			return -1;
		return rl_sink_write(&g->next, tag, RL_GCM_TAG_LEN, err);
	}
	if (!g->cipher_ready || g->held_len < RL_GCM_TAG_LEN)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
				  "AES-GCM: encrypted data shorter than IV and tag (%d bytes)",
				  RL_GCM_IV_LEN + RL_GCM_TAG_LEN);
	if (EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_SET_TAG, RL_GCM_TAG_LEN, g->held_tag) != 1)
		return rl_err_set(err, RL_ERR_CRYPTO, "AES-GCM: setting the tag failed");
	if (EVP_DecryptFinal_ex(g->ctx, g->out, &out_len) != 1)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "AES-GCM: authentication tag mismatch");
	if (out_len > 0 && rl_sink_write(&g->next, g->out, (size_t)out_len, err) < 0)
		return -1;
	return 0;
}

void rl_gcm_free(struct rl_gcm *g)
{
	if (g == NULL)
		return;
	EVP_CIPHER_CTX_free(g->ctx);
	OPENSSL_cleanse(g, sizeof(*g));
	free(g);
}

/* ------------------------------------------------------------------------------------------------ */
/* RSA-OAEP                                                                                         */

static EVP_PKEY_CTX *oaep_ctx(EVP_PKEY *key, int decrypting, const EVP_MD *oaep_md, const EVP_MD *mgf1_md,
			      const unsigned char *label, size_t label_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	unsigned char *label_copy = NULL;

	if (ctx == NULL)
		return NULL;
	if (oaep_md == NULL)
		oaep_md = EVP_sha1();
	if (mgf1_md == NULL)
		mgf1_md = EVP_sha1();
	if ((decrypting ? EVP_PKEY_decrypt_init(ctx) : EVP_PKEY_encrypt_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, oaep_md) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf1_md) != 1)
		goto fail;
	if (label != NULL && label_len > 0) {
		label_copy = OPENSSL_memdup(label, label_len);
		if (label_copy == NULL)
			goto fail;
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label_copy, (int)label_len) != 1) {
			OPENSSL_free(label_copy);
			goto fail;
		}
	}
	return ctx;
fail:
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

/* One RSA-OAEP operation (decrypt != 0: decryption), appending the result to out. */
static int oaep_run(EVP_PKEY *pkey, int decrypt, const EVP_MD *oaep_md, const EVP_MD *mgf1_md,
		    const unsigned char *label, size_t label_len, const unsigned char *in, size_t in_len,
		    struct rl_buf *out, struct rl_err *err)
{
	int (*op)(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *, size_t) =
		decrypt ? EVP_PKEY_decrypt : EVP_PKEY_encrypt;
	int fail_code = decrypt ? RL_EBMS_FAILED_DECRYPTION : RL_ERR_CRYPTO;
	EVP_PKEY_CTX *ctx = oaep_ctx(pkey, decrypt, oaep_md, mgf1_md, label, label_len);
	size_t out_len = 0;

	if (ctx == NULL)
		return rl_err_set(err, fail_code, "RSA-OAEP: cannot set up the key");
	if (op(ctx, NULL, &out_len, in, in_len) != 1)
		goto fail;
	if (rl_buf_reserve(out, out_len) < 0) {
		EVP_PKEY_CTX_free(ctx);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	if (op(ctx, (unsigned char *)out->data + out->len, &out_len, in, in_len) != 1)
		goto fail;
	out->len += out_len;
	out->data[out->len] = '\0';
	EVP_PKEY_CTX_free(ctx);
	return 0;
fail:
	EVP_PKEY_CTX_free(ctx);
	return rl_err_set(err, fail_code, "RSA-OAEP: %s failed", decrypt ? "decryption" : "encryption");
}

int rl_rsa_oaep_encrypt(EVP_PKEY *pub, const EVP_MD *oaep_md, const EVP_MD *mgf1_md,
			const unsigned char *label, size_t label_len, const unsigned char *in, size_t in_len,
			struct rl_buf *out, struct rl_err *err)
{
	return oaep_run(pub, 0, oaep_md, mgf1_md, label, label_len, in, in_len, out, err);
}

int rl_rsa_oaep_decrypt(EVP_PKEY *priv, const EVP_MD *oaep_md, const EVP_MD *mgf1_md,
			const unsigned char *label, size_t label_len, const unsigned char *in, size_t in_len,
			struct rl_buf *out, struct rl_err *err)
{
	return oaep_run(priv, 1, oaep_md, mgf1_md, label, label_len, in, in_len, out, err);
}

/* ------------------------------------------------------------------------------------------------ */
/* signatures                                                                                       */

int rl_sign(EVP_PKEY *key, const EVP_MD *md, const void *data, size_t len, struct rl_buf *sig,
	    struct rl_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = 0;

	if (ctx == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (EVP_DigestSignInit_ex(ctx, NULL, EVP_MD_get0_name(md), NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &sig_len, data, len) != 1)
		goto fail;
	if (rl_buf_reserve(sig, sig_len) < 0) {
		EVP_MD_CTX_free(ctx);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	if (EVP_DigestSign(ctx, (unsigned char *)sig->data + sig->len, &sig_len, data, len) != 1)
		goto fail;
	sig->len += sig_len;
	sig->data[sig->len] = '\0';
	EVP_MD_CTX_free(ctx);
	return 0;
fail:
	EVP_MD_CTX_free(ctx);
	return rl_err_set(err, RL_ERR_CRYPTO, "signing failed");
}

int rl_verify(EVP_PKEY *pub, const EVP_MD *md, const void *data, size_t len, const unsigned char *sig,
	      size_t sig_len, struct rl_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	ok = EVP_DigestVerifyInit_ex(ctx, NULL, EVP_MD_get0_name(md), NULL, NULL, pub, NULL) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "signature value does not verify");
	return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* algorithm URIs                                                                                   */

struct uri_md {
	const char *uri;
	const EVP_MD *(*md)(void);
};

static const struct uri_md digest_uris[] = {
	{ "http://www.w3.org/2000/09/xmldsig#sha1", EVP_sha1 },
	{ "http://www.w3.org/2001/04/xmldsig-more#sha224", EVP_sha224 },
	{ "http://www.w3.org/2001/04/xmlenc#sha256", EVP_sha256 },
	{ "http://www.w3.org/2001/04/xmldsig-more#sha384", EVP_sha384 },
	{ "http://www.w3.org/2001/04/xmlenc#sha512", EVP_sha512 },
	{ NULL, NULL }
};

static const struct uri_md signature_uris[] = {
	{ "http://www.w3.org/2000/09/xmldsig#rsa-sha1", EVP_sha1 },
	{ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", EVP_sha256 },
	{ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", EVP_sha384 },
	{ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", EVP_sha512 },
	{ NULL, NULL }
};

static const struct uri_md mgf_uris[] = {
	{ "http://www.w3.org/2009/xmlenc11#mgf1sha1", EVP_sha1 },
	{ "http://www.w3.org/2009/xmlenc11#mgf1sha224", EVP_sha224 },
	{ "http://www.w3.org/2009/xmlenc11#mgf1sha256", EVP_sha256 },
	{ "http://www.w3.org/2009/xmlenc11#mgf1sha384", EVP_sha384 },
	{ "http://www.w3.org/2009/xmlenc11#mgf1sha512", EVP_sha512 },
	{ NULL, NULL }
};

static const EVP_MD *md_lookup(const struct uri_md *table, const char *uri)
{
	if (uri == NULL)
		return NULL;
	for (; table->uri != NULL; table++)
		if (strcmp(table->uri, uri) == 0)
			return table->md();
	return NULL;
}

const EVP_MD *rl_md_from_uri(const char *uri)
{
	return md_lookup(digest_uris, uri);
}

const EVP_MD *rl_sig_md_from_uri(const char *uri)
{
	return md_lookup(signature_uris, uri);
}

const EVP_MD *rl_mgf_md_from_uri(const char *uri)
{
	return md_lookup(mgf_uris, uri);
}

/* ------------------------------------------------------------------------------------------------ */
/* base64, hex, randomness                                                                          */

int rl_base64_encode(const void *data, size_t len, struct rl_buf *out)
{
	const unsigned char *in = data;

	/* 3 input bytes -> 4 characters; go in blocks that are a multiple of 3. */
	while (len > 0) {
		size_t piece = len > 3 * 4096 ? 3 * 4096 : len;
		size_t encoded_len = 4 * ((piece + 2) / 3);
		int written;

		if (rl_buf_reserve(out, encoded_len) < 0)
			return -1;
		written = EVP_EncodeBlock((unsigned char *)out->data + out->len, in, (int)piece);
		if (written < 0)
			return -1;
		out->len += (size_t)written;
		out->data[out->len] = '\0';
		in += piece;
		len -= piece;
	}
	if (out->data == NULL && rl_buf_reserve(out, 0) < 0)
		return -1;
	if (out->data != NULL)
		out->data[out->len] = '\0';
	return 0;
}

static int is_base64_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int is_base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == '/';
}

/* Decodes one complete group of 4 characters (with up to 2 '=' at the end) onto out. */
static int base64_decode_quad(const char quad[4], int last, struct rl_buf *out)
{
	unsigned char bytes[3];
	int padding = 0, i;

	for (i = 0; i < 4; i++) {
		if (quad[i] == '=') {
			if (i < 2)
				return -1;
			padding++;
		} else if (padding || !is_base64_char(quad[i])) {
			return -1;
		}
	}
	if (padding && !last)
		return -1;
	if (EVP_DecodeBlock(bytes, (const unsigned char *)quad, 4) != 3)
		return -1;
	return rl_buf_append(out, bytes, (size_t)(3 - padding));
}

int rl_base64_decode(const char *text, size_t len, struct rl_buf *out)
{
	char quad[4];
	int quad_len = 0, finished = 0;
	size_t start_len = out->len;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = text[i];

		if (is_base64_space(c))
			continue;
		if (finished)
			goto bad;	/* data after the padded final group */
		quad[quad_len++] = c;
		if (quad_len == 4) {
			int last = quad[3] == '=';

			if (base64_decode_quad(quad, last, out) < 0)
				goto bad;
			quad_len = 0;
			finished = last;
		}
	}
	if (quad_len != 0)
		goto bad;
	if (out->data == NULL && rl_buf_reserve(out, 0) < 0)
		return -1;
	return 0;
bad:
	out->len = start_len;
	if (out->data != NULL)
		out->data[out->len] = '\0';
	return -1;
}

void rl_hex(const unsigned char *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

int rl_random_bytes(void *out, size_t len, struct rl_err *err)
{
	unsigned char *p = out;

	while (len > 0) {
		int piece = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, piece) != 1)
			return rl_err_set(err, RL_ERR_CRYPTO, "random number generator failed");
		p += piece;
		len -= (size_t)piece;
	}
	return 0;
}

int rl_uuid(char out[37], struct rl_err *err)
{
	unsigned char bytes[16];
	char hex[33];

	if (rl_random_bytes(bytes, sizeof(bytes), err) < 0)
		return -1;
	bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x40);	/* version 4 */
	bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	rl_hex(bytes, sizeof(bytes), hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
	return 0;
}

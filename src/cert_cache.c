/*
 * cert_cache.c - the process-wide cache of parsed certificates (see cert_cache.h).
 *
 * RL_CERT_CACHE_SIZE entries in sets of RL_CERT_CACHE_WAYS: the first key byte picks the set, and
 * within it the least recently used entry gives way. Lookups and additions hold one mutex for a few
 * comparisons; parsing happens outside it, in the caller.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "relais/cert_cache.h"
#include "relais/crypto.h"

#define RL_CERT_CACHE_WAYS 4
#define RL_CERT_CACHE_SETS (RL_CERT_CACHE_SIZE / RL_CERT_CACHE_WAYS)

struct cache_slot {
	unsigned char key[32];
	X509 *cert;		/* NULL when empty */
	unsigned long used;	/* the clock when last found or added */
};

static struct {
	pthread_mutex_t lock;
	struct cache_slot slots[RL_CERT_CACHE_SETS][RL_CERT_CACHE_WAYS];
	unsigned long clock, hits, misses;
	size_t entries;
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

void rl_cert_cache_key(enum rl_cert_encoding encoding, const char *text, size_t len, unsigned char key[32])
{
	unsigned char tag = (unsigned char)encoding;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int key_len = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, rl_md_fetched(EVP_sha256()), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &tag, 1) != 1 || EVP_DigestUpdate(ctx, text, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, key, &key_len) != 1 || key_len != 32)
		rl_sha256(text, len, key);	/* only when out of memory: still a usable key */
	EVP_MD_CTX_free(ctx);
}

static struct cache_slot *set_of(const unsigned char key[32])
{
	return cache.slots[key[0] % RL_CERT_CACHE_SETS];
}

X509 *rl_cert_cache_find(const unsigned char key[32])
{
	struct cache_slot *set = set_of(key);
	X509 *found = NULL;

	pthread_mutex_lock(&cache.lock);
	for (int i = 0; i < RL_CERT_CACHE_WAYS; i++)
		if (set[i].cert && memcmp(set[i].key, key, 32) == 0) {
			if (X509_up_ref(set[i].cert) == 1) {
				found = set[i].cert;
				set[i].used = ++cache.clock;
			}
			break;
		}
	if (found)
		cache.hits++;
	else
		cache.misses++;
	pthread_mutex_unlock(&cache.lock);
	return found;
}

int rl_cert_cache_add(const unsigned char key[32], X509 *cert)
{
	struct cache_slot *set = set_of(key), *victim;
	X509 *evicted = NULL;

	/* Fills the lazily computed extension data now, so that threads sharing it only read. */
	if (cert == NULL || X509_check_purpose(cert, -1, 0) != 1 || X509_up_ref(cert) != 1)
		return -1;
	pthread_mutex_lock(&cache.lock);
	victim = &set[0];
	for (int i = 0; i < RL_CERT_CACHE_WAYS; i++) {
		if (set[i].cert && memcmp(set[i].key, key, 32) == 0) {
			pthread_mutex_unlock(&cache.lock);
			X509_free(cert);	/* another thread added it first */
			return 0;
		}
		if (set[i].cert == NULL ? victim->cert != NULL : victim->cert && set[i].used < victim->used)
			victim = &set[i];
	}
	evicted = victim->cert;
	if (evicted == NULL)
		cache.entries++;
	memcpy(victim->key, key, 32);
	victim->cert = cert;
	victim->used = ++cache.clock;
	pthread_mutex_unlock(&cache.lock);
	X509_free(evicted);
	return 0;
}

void rl_cert_cache_clear(void)
{
	X509 *dropped[RL_CERT_CACHE_SIZE];
	size_t count = 0;

	pthread_mutex_lock(&cache.lock);
	for (int s = 0; s < RL_CERT_CACHE_SETS; s++)
		for (int i = 0; i < RL_CERT_CACHE_WAYS; i++)
			if (cache.slots[s][i].cert) {
				dropped[count++] = cache.slots[s][i].cert;
				cache.slots[s][i].cert = NULL;
			}
	cache.entries = 0;
	pthread_mutex_unlock(&cache.lock);
	for (size_t i = 0; i < count; i++)
		X509_free(dropped[i]);
}

void rl_cert_cache_stats(struct rl_cert_cache_stats *out)
{
	pthread_mutex_lock(&cache.lock);
	out->hits = cache.hits;
	out->misses = cache.misses;
	out->entries = cache.entries;
	pthread_mutex_unlock(&cache.lock);
}

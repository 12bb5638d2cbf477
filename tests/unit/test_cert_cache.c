/* test_cert_cache.c - unit tests for the certificate cache and the trust store's cache of verdicts. */
#include "config.h"
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <openssl/x509v3.h>
#include "relais/buf.h"
#include "relais/cert_cache.h"
#include "relais/keys.h"
#include "relais/revocation.h"
#include "unit_pki.h"

/* The certificate of a test PKI file as base64 DER text. */
static char *base64_of(const char *name)
{
	struct rl_err err;
	struct rl_buf text = RL_BUF_INIT;
	X509 *cert = rl_cert_load_pem(pki(name), &err);

	assert_non_null(cert);
	assert_int_equal(rl_cert_to_der_base64(cert, &text), 0);
	X509_free(cert);
	return rl_buf_steal(&text);
}

static char *pem_file_text(const char *name)
{
	struct rl_buf text = RL_BUF_INIT;

	assert_int_equal(rl_buf_read_file(&text, pki(name), 1 << 20), 0);
	assert_int_equal(rl_buf_append(&text, "", 1), 0);
	return rl_buf_steal(&text);
}

static X509 *load(const char *name)
{
	struct rl_err err;
	X509 *cert = rl_cert_load_pem(pki(name), &err);

	assert_non_null(cert);
	return cert;
}

static void test_base64_hit(void **state)
{
	struct rl_cert_cache_stats before, after;
	char *b64 = base64_of("POP000001.cert.pem");
	X509 *expected = load("POP000001.cert.pem");
	struct rl_err err;
	char cn[64];

	(void)state;
	rl_cert_cache_clear();
	rl_cert_cache_stats(&before);
	X509 *first = rl_cert_from_base64(b64, &err);
	X509 *second = rl_cert_from_base64(b64, &err);
	rl_cert_cache_stats(&after);
	assert_non_null(first);
	assert_ptr_equal(first, second);	/* the same parsed object, one more reference */
	assert_true(rl_cert_equal(first, expected));
	assert_int_equal(after.misses - before.misses, 1);
	assert_int_equal(after.hits - before.hits, 1);
	assert_int_equal(after.entries, 1);
	X509_free(first);
	X509_free(second);
	/* The caller's references are gone; the cache still holds its own. */
	X509 *third = rl_cert_from_base64(b64, &err);
	assert_string_equal(rl_cert_cn(third, cn, sizeof(cn)), "POP000001");
	X509_free(third);
	/* Emptied: callers' certificates stay valid, the next read parses again. */
	X509 *held = rl_cert_from_base64(b64, &err);
	rl_cert_cache_clear();
	assert_string_equal(rl_cert_cn(held, cn, sizeof(cn)), "POP000001");
	X509 *fresh = rl_cert_from_base64(b64, &err);
	assert_ptr_not_equal(fresh, held);
	assert_true(rl_cert_equal(fresh, held));
	X509_free(held);
	X509_free(fresh);
	X509_free(expected);
	free(b64);
}

static void test_bad_input_not_cached(void **state)
{
	struct rl_cert_cache_stats before, after;
	struct rl_err err;

	(void)state;
	rl_cert_cache_clear();
	rl_cert_cache_stats(&before);
	assert_null(rl_cert_from_base64("not base64 at all!", &err));
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_null(rl_cert_from_base64("QUJDRA==", &err));	/* "ABCD": base64, but no certificate */
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_non_null(strstr(err.msg, "not a DER certificate"));
	assert_null(rl_cert_from_pem_text("-----BEGIN CERTIFICATE-----\nQUJDRA==\n-----END CERTIFICATE-----\n",
					  &err));
	assert_int_equal(err.code, RL_ERR_CRYPTO);
	assert_null(rl_cert_from_pem_text("", &err));
	assert_non_null(strstr(err.msg, "not a PEM certificate"));
	/* Asked again: still refused, nothing was remembered. */
	assert_null(rl_cert_from_base64("QUJDRA==", &err));
	rl_cert_cache_stats(&after);
	assert_int_equal(after.entries, 0);
	assert_int_equal(after.hits, before.hits);
}

static void test_pem_text(void **state)
{
	char *pem = pem_file_text("ca-chain.pem");	/* the AP CA, then the root */
	char *b64 = base64_of("ap-ca.cert.pem");
	X509 *expected = load("ap-ca.cert.pem");
	struct rl_err err;

	(void)state;
	rl_cert_cache_clear();
	X509 *a = rl_cert_from_pem_text(pem, &err);
	X509 *b = rl_cert_from_pem_text(pem, &err);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_true(rl_cert_equal(a, expected));
	/* The same certificate in base64 is another key: PEM and base64 never answer for each other. */
	X509 *c = rl_cert_from_base64(b64, &err);
	assert_ptr_not_equal(a, c);
	assert_true(rl_cert_equal(a, c));
	X509_free(a);
	X509_free(b);
	X509_free(c);
	X509_free(expected);
	free(pem);
	free(b64);
}

/* Many different texts (line breaks in other places) never grow the cache past its size. */
static void test_bounded(void **state)
{
	char *b64 = base64_of("POP000002.cert.pem");
	size_t len = strlen(b64);
	char *variant = malloc(len + 2);
	X509 *expected = load("POP000002.cert.pem");
	struct rl_cert_cache_stats stats;
	struct rl_err err;
	int count = 3 * RL_CERT_CACHE_SIZE;

	(void)state;
	assert_non_null(variant);
	assert_true(len > (size_t)count + 8);
	rl_cert_cache_clear();
	for (int i = 0; i < count; i++) {
		size_t at = 4 + (size_t)i;	/* a line break after character `at` */
		memcpy(variant, b64, at);
		variant[at] = '\n';
		memcpy(variant + at + 1, b64 + at, len - at + 1);
		X509 *cert = rl_cert_from_base64(variant, &err);
		assert_non_null(cert);
		assert_true(rl_cert_equal(cert, expected));
		X509_free(cert);
	}
	rl_cert_cache_stats(&stats);
	assert_true(stats.entries <= RL_CERT_CACHE_SIZE);
	assert_true(stats.entries >= RL_CERT_CACHE_SIZE / 2);
	/* The most recent one is still there. */
	unsigned long hits = stats.hits;
	X509 *last = rl_cert_from_base64(variant, &err);
	rl_cert_cache_stats(&stats);
	assert_int_equal(stats.hits, hits + 1);
	X509_free(last);
	X509_free(expected);
	free(variant);
	free(b64);
}

struct reader {
	char *texts[3];
	X509 *expected[3];
	int failures;
};

static void *read_many(void *arg)
{
	struct reader *r = arg;
	struct rl_err err;
	char cn[64], wanted[64];

	for (int i = 0; i < 300; i++) {
		int which = i % 3;
		X509 *cert = rl_cert_from_base64(r->texts[which], &err);
		if (cert == NULL || !rl_cert_equal(cert, r->expected[which]) ||
		    strcmp(rl_cert_cn(cert, cn, sizeof(cn)),
			   rl_cert_cn(r->expected[which], wanted, sizeof(wanted))) != 0 ||
		    X509_get0_subject_key_id(cert) == NULL)
			__atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
		X509_free(cert);
		if (i % 100 == 99 && which == 0)
			rl_cert_cache_clear();
	}
	return NULL;
}

/* Threads reading, sharing and dropping the same certificates. */
static void test_threads(void **state)
{
	static const char *const names[3] = {
		"POP000001.cert.pem", "POP000002.cert.pem", "SMP000001.cert.pem"
	};
	struct reader r;
	pthread_t threads[6];

	(void)state;
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 3; i++) {
		r.texts[i] = base64_of(names[i]);
		r.expected[i] = load(names[i]);
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, read_many, &r), 0);
	for (int i = 0; i < 6; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(r.failures, 0);
	for (int i = 0; i < 3; i++) {
		free(r.texts[i]);
		X509_free(r.expected[i]);
	}
}

static int verify(const struct rl_trust *t, X509 *cert, time_t at, struct rl_err *err)
{
	return rl_trust_verify(t, cert, NULL, at, err);
}

/* A remembered verdict is the verdict: same success, same chain, same refusals. */
static void test_trust_same_verdict(void **state)
{
	struct rl_trust *t;
	struct rl_err err;
	X509 *good = load("POP000001.cert.pem"), *expired = load("POP000099.cert.pem");
	X509 *again = load("POP000001.cert.pem");	/* another object, the same certificate */
	STACK_OF(X509) *fresh = NULL, *cached = NULL;
	unsigned long hits;
	int entries;
	char first[RL_ERR_MSG_MAX];

	(void)state;
	t = rl_trust_load(pki("ca-chain.pem"), &err);
	assert_non_null(t);
	assert_int_equal(rl_trust_verify_chain(t, good, NULL, 0, &fresh, &err), 0);
	assert_int_equal(verify(t, again, 0, &err), 0);
	assert_int_equal(rl_trust_verify_chain(t, good, NULL, 0, &cached, &err), 0);
	rl_trust_cache_stats(t, &hits, &entries);
	assert_int_equal(hits, 2);
	assert_int_equal(entries, 1);
	assert_int_equal(sk_X509_num(cached), 3);
	assert_int_equal(sk_X509_num(cached), sk_X509_num(fresh));
	for (int i = 0; i < sk_X509_num(fresh); i++)
		assert_true(rl_cert_equal(sk_X509_value(cached, i), sk_X509_value(fresh, i)));
	assert_ptr_equal(sk_X509_value(cached, 0), good);

	/* Refusals are never remembered and stay the same. */
	assert_int_equal(verify(t, expired, 0, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	snprintf(first, sizeof(first), "%s", err.msg);
	assert_non_null(strstr(first, "certificate CN=POP000099 expired on "));
	assert_int_equal(verify(t, expired, 0, &err), -1);
	assert_string_equal(err.msg, first);
	rl_trust_cache_stats(t, &hits, &entries);
	assert_int_equal(hits, 2);
	assert_int_equal(entries, 1);

	/* Extra intermediates are not cached: they may change the chain. */
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509 *ca = load("ap-ca.cert.pem");
	assert_true(sk_X509_push(untrusted, ca) > 0);
	assert_int_equal(rl_trust_verify(t, good, untrusted, 0, &err), 0);
	rl_trust_cache_stats(t, &hits, &entries);
	assert_int_equal(hits, 2);
	sk_X509_pop_free(untrusted, X509_free);

	sk_X509_pop_free(fresh, X509_free);
	sk_X509_pop_free(cached, X509_free);
	X509_free(good);
	X509_free(again);
	X509_free(expired);
	rl_trust_free(t);
}

/* A certificate verified a moment ago is still refused at a time its chain is no longer (or not yet)
 * valid. */
static void test_trust_expired_after_caching(void **state)
{
	struct rl_trust *t = rl_trust_load(pki("ca-chain.pem"), NULL);
	X509 *cert = load("POP000002.cert.pem");
	STACK_OF(X509) *chain = NULL;
	time_t ends = 0, starts = 0;
	unsigned long hits;
	struct rl_err err;
	int entries;

	(void)state;
	assert_non_null(t);
	assert_int_equal(rl_trust_verify_chain(t, cert, NULL, 0, &chain, &err), 0);
	for (int i = 0; i < sk_X509_num(chain); i++) {
		time_t not_after = rl_cert_not_after(sk_X509_value(chain, i));
		time_t not_before = rl_cert_not_before(sk_X509_value(chain, i));
		if (i == 0 || not_after < ends)
			ends = not_after;
		if (i == 0 || not_before > starts)
			starts = not_before;
	}
	sk_X509_pop_free(chain, X509_free);
	assert_int_equal(verify(t, cert, ends - 1, &err), 0);	/* the chain's last valid second */
	assert_int_equal(verify(t, cert, starts, &err), 0);	/* and its first */
	rl_trust_cache_stats(t, &hits, &entries);
	assert_int_equal(hits, 2);
	assert_int_equal(verify(t, cert, ends, &err), -1);	/* OpenSSL: expired at notAfter itself */
	assert_non_null(strstr(err.msg, " expired on "));
	assert_int_equal(verify(t, cert, starts - 1, &err), -1);
	assert_non_null(strstr(err.msg, "is not valid before"));
	rl_trust_cache_stats(t, &hits, &entries);
	assert_int_equal(hits, 2);
	assert_int_equal(verify(t, cert, 0, &err), 0);
	X509_free(cert);
	rl_trust_free(t);
}

/* A reloaded (changed) trust store does not answer from the old one's verdicts. */
static void test_trust_changed(void **state)
{
	struct rl_trust *peppol = rl_trust_load(pki("ca-chain.pem"), NULL);
	struct rl_trust *other = rl_trust_load(pki("other-ca-chain.pem"), NULL);
	X509 *ours = load("POP000001.cert.pem"), *foreign = load("POP000666.cert.pem");
	struct rl_err err;

	(void)state;
	assert_non_null(peppol);
	assert_non_null(other);
	assert_int_equal(verify(peppol, ours, 0, &err), 0);
	assert_int_equal(verify(other, foreign, 0, &err), 0);
	assert_int_equal(verify(other, ours, 0, &err), -1);
	assert_non_null(strstr(err.msg, "does not chain to a trusted CA"));
	assert_int_equal(verify(peppol, foreign, 0, &err), -1);
	assert_non_null(strstr(err.msg, "does not chain to a trusted CA"));
	/* Reloaded with the other anchors: what the old store verified is refused. */
	rl_trust_free(peppol);
	peppol = rl_trust_load(pki("other-ca-chain.pem"), NULL);
	assert_non_null(peppol);
	assert_int_equal(verify(peppol, ours, 0, &err), -1);
	assert_non_null(strstr(err.msg, "does not chain to a trusted CA"));
	X509_free(ours);
	X509_free(foreign);
	rl_trust_free(peppol);
	rl_trust_free(other);
}

/* Revocation is asked on every check, remembered chain or not. */
static void test_trust_revocation_still_checked(void **state)
{
	struct rl_trust *t = rl_trust_load(pki("ca-chain.pem"), NULL);
	X509 *revoked = load("POP000003.cert.pem");
	struct rl_revocation *rev;
	unsigned long hits;
	struct rl_err err;
	int entries;

	(void)state;
	assert_non_null(t);
	assert_int_equal(verify(t, revoked, 0, &err), 0);	/* no checker yet */
	rev = rl_revocation_new(RL_REVOCATION_HARD, &err);
	assert_non_null(rev);
	assert_int_equal(rl_revocation_add_crl_file(rev, pki("ap-ca.crl.pem"), &err), 0);
	rl_trust_set_revocation(t, rev);
	assert_int_equal(verify(t, revoked, 0, &err), -1);
	assert_non_null(strstr(err.msg, "certificate CN=POP000003 was revoked on "));
	assert_int_equal(verify(t, revoked, 0, &err), -1);
	assert_non_null(strstr(err.msg, "was revoked"));
	rl_trust_cache_stats(t, &hits, &entries);
	assert_int_equal(hits, 2);	/* the chain came from the cache, the verdict from revocation */
	X509_free(revoked);
	rl_trust_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_hit),
		cmocka_unit_test(test_bad_input_not_cached),
		cmocka_unit_test(test_pem_text),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_trust_same_verdict),
		cmocka_unit_test(test_trust_expired_after_caching),
		cmocka_unit_test(test_trust_changed),
		cmocka_unit_test(test_trust_revocation_still_checked),
	};

	unit_pki_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_keys.c - unit tests for identities, trust stores, certificate checks and xs:dateTime. */
#include "config.h"
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
#include "relais/keys.h"
#include "unit_pki.h"


static time_t utc(int year, int month, int day)
{
	struct tm tm = {0};

	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	return timegm(&tm);
}

static void test_identity_pem(void **state)
{
	struct rl_identity id;
	struct rl_err err;
	char cn[64];

	assert_int_equal(rl_identity_load_pem(&id, pki("POP000001.key.pem"), pki("POP000001.cert.pem"),
					      NULL, &err), 0);
	assert_non_null(id.key);
	assert_string_equal(rl_cert_cn(id.cert, cn, sizeof(cn)), "POP000001");
	assert_null(id.chain);
	rl_identity_free(&id);

	/* A certificate file with the chain behind the leaf. */
	assert_int_equal(rl_identity_load_pem(&id, pki("ap-ca.key.pem"), pki("ca-chain.pem"), NULL,
					      &err), 0);
	assert_non_null(id.chain);
	assert_int_equal(sk_X509_num(id.chain), 1);
	rl_identity_free(&id);

	/* Mismatched key and certificate. */
	assert_int_equal(rl_identity_load_pem(&id, pki("POP000002.key.pem"), pki("POP000001.cert.pem"),
					      NULL, &err), -1);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_int_equal(rl_identity_load_pem(&id, pki("missing.key.pem"), pki("POP000001.cert.pem"),
					      NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_IO);
}

static void test_identity_pem_encrypted(void **state)
{
	struct rl_identity id;
	struct rl_err err;
	char path[1200], command[4000];

	snprintf(path, sizeof(path), "%s/tmp-encrypted.key.pem", pki_dir);
	snprintf(command, sizeof(command),
		 "openssl pkcs8 -topk8 -v2 aes-256-cbc -in '%s' -out '%s' -passout pass:secret",
		 pki("POP000001.key.pem"), path);
	assert_int_equal(system(command), 0);
	assert_int_equal(rl_identity_load_pem(&id, path, pki("POP000001.cert.pem"), "secret", &err), 0);
	rl_identity_free(&id);
	assert_int_equal(rl_identity_load_pem(&id, path, pki("POP000001.cert.pem"), "wrong", &err), -1);
	assert_non_null(strstr(err.msg, "wrong password"));
	assert_int_equal(rl_identity_load_pem(&id, path, pki("POP000001.cert.pem"), NULL, &err), -1);
	assert_non_null(strstr(err.msg, "no password was given"));
	remove(path);

	/* Encrypted PKCS#1 ("Proc-Type: 4,ENCRYPTED"). */
	snprintf(command, sizeof(command),
		 "openssl rsa -aes256 -traditional -in '%s' -out '%s' -passout pass:secret 2>/dev/null",
		 pki("POP000001.key.pem"), path);
	assert_int_equal(system(command), 0);
	assert_int_equal(rl_identity_load_pem(&id, path, pki("POP000001.cert.pem"), "secret", &err), 0);
	rl_identity_free(&id);
	remove(path);

	/* PKCS#1 ("BEGIN RSA PRIVATE KEY"). */
	snprintf(path, sizeof(path), "%s/tmp-pkcs1.key.pem", pki_dir);
	snprintf(command, sizeof(command), "openssl rsa -traditional -in '%s' -out '%s' 2>/dev/null",
		 pki("POP000002.key.pem"), path);
	assert_int_equal(system(command), 0);
	assert_int_equal(rl_identity_load_pem(&id, path, pki("POP000002.cert.pem"), NULL, &err), 0);
	rl_identity_free(&id);
	remove(path);
}

static void test_identity_p12(void **state)
{
	struct rl_identity id;
	struct rl_err err;
	char cn[64];

	assert_int_equal(rl_identity_load_p12(&id, pki("POP000002.p12"), "test", &err), 0);
	assert_string_equal(rl_cert_cn(id.cert, cn, sizeof(cn)), "POP000002");
	assert_non_null(id.chain);
	assert_int_equal(sk_X509_num(id.chain), 2);
	assert_int_equal(X509_check_private_key(id.cert, id.key), 1);
	rl_identity_free(&id);

	assert_int_equal(rl_identity_load_p12(&id, pki("POP000002.p12"), "nope", &err), -1);
	assert_int_equal(err.code, RL_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "wrong password"));
	assert_null(id.key);
	assert_int_equal(rl_identity_load_p12(&id, pki("POP000002.cert.pem"), "test", &err), -1);
}

static void expect_refusal(struct rl_trust *trust, const char *cert_name, time_t at,
			   const char *expected)
{
	struct rl_err err;
	X509 *cert = rl_cert_load_pem(pki(cert_name), &err);

	assert_non_null(cert);
	assert_int_equal(rl_trust_verify(trust, cert, NULL, at, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	if (!strstr(err.msg, expected))
		fail_msg("expected \"%s\" in \"%s\"", expected, err.msg);
	X509_free(cert);
}

static void test_trust_verify(void **state)
{
	struct rl_err err;
	struct rl_trust *trust = rl_trust_load(pki("ca-chain.pem"), &err);
	X509 *cert;

	assert_non_null(trust);
	cert = rl_cert_load_pem(pki("POP000001.cert.pem"), &err);
	assert_non_null(cert);
	assert_int_equal(rl_trust_verify(trust, cert, NULL, 0, &err), 0);
	X509_free(cert);

	expect_refusal(trust, "POP000099.cert.pem", 0, "certificate CN=POP000099 expired on 2021-01-01");
	expect_refusal(trust, "POP000666.cert.pem", 0,
		       "certificate CN=POP000666 does not chain to a trusted CA");
	/* At other times: next year fine, in twenty years expired, before it was made not yet valid. */
	cert = rl_cert_load_pem(pki("POP000001.cert.pem"), &err);
	assert_int_equal(rl_trust_verify(trust, cert, NULL, time(NULL) + 365L * 86400, &err), 0);
	X509_free(cert);
	expect_refusal(trust, "POP000001.cert.pem", time(NULL) + 20L * 365 * 86400, "expired on");
	expect_refusal(trust, "POP000001.cert.pem", utc(2020, 6, 1), "is not valid before");
	/* The expired certificate was fine in 2020 (the CAs date from 2019). */
	cert = rl_cert_load_pem(pki("POP000099.cert.pem"), &err);
	assert_int_equal(rl_trust_verify(trust, cert, NULL, utc(2020, 6, 1), &err), 0);
	X509_free(cert);
	/* Before the CAs existed the CA certificate is named. */
	expect_refusal(trust, "POP000099.cert.pem", utc(2018, 6, 1),
		       "certificate CN=POP000099: CA certificate CN=relais Test");
	rl_trust_free(trust);

	/* Only the AP CA, no root: it becomes the anchor. */
	trust = rl_trust_load(pki("ap-ca.cert.pem"), &err);
	assert_non_null(trust);
	cert = rl_cert_load_pem(pki("POP000002.cert.pem"), &err);
	assert_int_equal(rl_trust_verify(trust, cert, NULL, 0, &err), 0);
	X509_free(cert);
	rl_trust_free(trust);

	/* Only the root: the intermediate comes from the message. */
	trust = rl_trust_load(pki("root-ca.cert.pem"), &err);
	struct rl_identity id;
	assert_int_equal(rl_identity_load_p12(&id, pki("POP000001.p12"), "test", &err), 0);
	assert_int_equal(rl_trust_verify(trust, id.cert, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "does not chain"));
	assert_int_equal(rl_trust_verify(trust, id.cert, id.chain, 0, &err), 0);
	rl_identity_free(&id);
	rl_trust_free(trust);

	assert_null(rl_trust_load(pki("missing.pem"), &err));
}

static void test_cert_names(void **state)
{
	struct rl_err err;
	X509 *cert = rl_cert_load_pem(pki("POP000001.cert.pem"), &err);
	struct rl_buf text = RL_BUF_INIT;
	char *subject, *issuer, *serial;

	assert_non_null(cert);
	subject = rl_cert_subject(cert);
	issuer = rl_cert_issuer(cert);
	serial = rl_cert_serial_dec(cert);
	assert_string_equal(subject, "CN=POP000001,OU=PEPPOL TEST AP,O=relais test,C=BE");
	assert_string_equal(issuer, "CN=relais Test AP CA,O=relais test,C=BE");
	assert_true(strlen(serial) > 0);

	assert_true(rl_cert_matches_issuer_serial(cert, issuer, serial));
	assert_true(rl_cert_matches_issuer_serial(cert, "CN=relais Test AP CA, O=relais test, C=BE",
						  serial));
	assert_true(rl_cert_matches_issuer_serial(cert, "C=BE, O=relais test, CN=relais Test AP CA",
						  serial));
	assert_true(rl_cert_matches_issuer_serial(cert, "cn=RELAIS test ap ca,o=relais test,c=be",
						  serial));
	assert_false(rl_cert_matches_issuer_serial(cert, "CN=relais Test Root CA,O=relais test,C=BE",
						   serial));
	assert_false(rl_cert_matches_issuer_serial(cert, issuer, "12345"));
	assert_false(rl_cert_matches_issuer_serial(cert, issuer, "12x"));

	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);
	assert_non_null(ski);
	assert_true(rl_cert_matches_ski(cert, ASN1_STRING_get0_data(ski),
					(size_t)ASN1_STRING_length(ski)));
	assert_false(rl_cert_matches_ski(cert, (const unsigned char *)"01234567890123456789", 20));

	/* Round trips through base64 DER and PEM. */
	assert_int_equal(rl_cert_to_der_base64(cert, &text), 0);
	X509 *again = rl_cert_from_base64(text.data, &err);
	assert_non_null(again);
	assert_true(rl_cert_equal(cert, again));
	X509_free(again);
	rl_buf_reset(&text);
	assert_int_equal(rl_cert_to_pem(cert, &text), 0);
	assert_non_null(strstr(text.data, "-----BEGIN CERTIFICATE-----"));
	assert_null(rl_cert_from_base64("not base64 !!", &err));
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_null(rl_cert_from_base64("AAAA", &err));

	X509 *other = rl_cert_load_pem(pki("POP000002.cert.pem"), &err);
	assert_false(rl_cert_equal(cert, other));
	assert_true(rl_cert_not_after(cert) > time(NULL) + 9L * 365 * 86400);
	assert_true(rl_cert_not_before(cert) <= time(NULL));
	X509_free(other);

	rl_buf_free(&text);
	free(subject);
	free(issuer);
	free(serial);
	X509_free(cert);
}

static void test_datetime(void **state)
{
	char text[64];

	assert_int_equal(rl_parse_datetime("2021-05-01T00:00:00Z"), 1619827200);
	assert_int_equal(rl_parse_datetime("2021-05-01T02:00:00+02:00"), 1619827200);
	assert_int_equal(rl_parse_datetime("2021-04-30T19:30:00-04:30"), 1619827200);
	assert_int_equal(rl_parse_datetime("2021-05-01T00:00:00.805Z"), 1619827200);
	assert_int_equal(rl_parse_datetime("2021-05-01T00:00:00"), 1619827200);
	assert_int_equal(rl_parse_datetime("2021-02-30T00:00:00Z"), -1);
	assert_int_equal(rl_parse_datetime("2021-05-01"), -1);
	assert_int_equal(rl_parse_datetime("2021-05-01T00:00:00+2"), -1);
	assert_int_equal(rl_parse_datetime("garbage"), -1);

	rl_format_datetime(1619827200, 805, text, sizeof(text));
	assert_string_equal(text, "2021-05-01T00:00:00.805Z");
	assert_int_equal(rl_parse_datetime(text), 1619827200);
	rl_format_datetime(0, 0, text, sizeof(text));
	time_t now = rl_parse_datetime(text);
	/* time() reads a coarse clock that may still show the previous second. */
	assert_true(now >= time(NULL) - 2 && now <= time(NULL) + 1);
}

/* The real Peppol CAs and a Peppol test AP certificate of the G2 generation. */
static void test_peppol_certificates(void **state)
{
	const char *shared = getenv("RELAIS_SHARED_DIR");
	char path[1200], cn[128];
	struct rl_err err;

	if (!shared || !*shared)
		skip();
	snprintf(path, sizeof(path), "%s/interop-corpus/keys/peppol-ca/2018/Peppol_Test_AccessPoint_CA.cer",
		 shared);
	X509 *ap_ca = rl_cert_load_pem(path, &err);
	if (!ap_ca)
		skip();
	assert_string_equal(rl_cert_cn(ap_ca, cn, sizeof(cn)), "PEPPOL ACCESS POINT TEST CA - G2");
	X509_free(ap_ca);
	static const char *const g3[] = {"PEPPOL_Root_TEST_CA-G3.pem", "PEPPOL_ACCESS_POINT_TEST_CA-G3.pem",
					 "PEPPOL_Root_CA-G3.pem", "PEPPOL_ACCESS_POINT_CA-G3.pem"};
	for (size_t i = 0; i < sizeof(g3) / sizeof(g3[0]); i++) {
		snprintf(path, sizeof(path), "%s/interop-corpus/keys/peppol-ca/2025/%s", shared, g3[i]);
		X509 *cert = rl_cert_load_pem(path, &err);
		assert_non_null(cert);
		X509_free(cert);
	}

	snprintf(path, sizeof(path), "%s/interop-corpus/keys/phase4/pem/peppol-test-G2-chain.crt",
		 shared);
	struct rl_trust *trust = rl_trust_load(path, &err);
	assert_non_null(trust);
	snprintf(path, sizeof(path), "%s/interop-corpus/keys/phase4/pem/POP000306-expired-2021.crt",
		 shared);
	X509 *ap = rl_cert_load_pem(path, &err);
	assert_non_null(ap);
	assert_int_equal(rl_trust_verify(trust, ap, NULL, utc(2020, 6, 1), &err), 0);
	assert_int_equal(rl_trust_verify(trust, ap, NULL, 0, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	if (!strstr(err.msg, "certificate CN=POP000306 expired on 2021-06-20"))
		fail_msg("unexpected: %s", err.msg);
	X509_free(ap);
	rl_trust_free(trust);

	/* The same AP certificate against the 2018 CA files (root self-signed, AP CA intermediate). */
	snprintf(path, sizeof(path), "%s/interop-corpus/keys/peppol-ca/2018/Peppol_Test_Root_CA.cer",
		 shared);
	trust = rl_trust_load(path, &err);
	assert_non_null(trust);
	snprintf(path, sizeof(path), "%s/interop-corpus/keys/peppol-ca/2018/Peppol_Test_AccessPoint_CA.cer",
		 shared);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	sk_X509_push(untrusted, rl_cert_load_pem(path, &err));
	snprintf(path, sizeof(path), "%s/interop-corpus/keys/phase4/pem/POP000306-expired-2021.crt",
		 shared);
	ap = rl_cert_load_pem(path, &err);
	assert_int_equal(rl_trust_verify(trust, ap, NULL, utc(2020, 6, 1), &err), -1);
	assert_non_null(strstr(err.msg, "does not chain"));
	assert_int_equal(rl_trust_verify(trust, ap, untrusted, utc(2020, 6, 1), &err), 0);
	/* The issuer as a Java peer writes it, forward and reversed. */
	char *serial = rl_cert_serial_dec(ap);
	assert_true(rl_cert_matches_issuer_serial(
		ap, "CN=PEPPOL ACCESS POINT TEST CA - G2,OU=FOR TEST ONLY,O=OpenPEPPOL AISBL,C=BE", serial));
	assert_true(rl_cert_matches_issuer_serial(
		ap, "C=BE, O=OpenPEPPOL AISBL, OU=FOR TEST ONLY, CN=PEPPOL ACCESS POINT TEST CA - G2", serial));
	assert_false(rl_cert_matches_issuer_serial(
		ap, "CN=PEPPOL ACCESS POINT CA - G2,O=OpenPEPPOL AISBL,C=BE", serial));
	free(serial);
	X509_free(ap);
	sk_X509_pop_free(untrusted, X509_free);
	rl_trust_free(trust);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_pem),
		cmocka_unit_test(test_identity_pem_encrypted),
		cmocka_unit_test(test_identity_p12),
		cmocka_unit_test(test_trust_verify),
		cmocka_unit_test(test_cert_names),
		cmocka_unit_test(test_datetime),
		cmocka_unit_test(test_peppol_certificates),
	};

	unit_pki_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

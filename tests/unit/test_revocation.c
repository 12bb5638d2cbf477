/* test_revocation.c - unit tests for trust bundles with several networks, CRL checks, the hard/soft/off
 * policy, the identity set and the AIA responder URL. OCSP over HTTP is tested by tests/scripts/revocation.sh
 * against a real `openssl ocsp` responder. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "relais/config.h"
#include "relais/keys.h"
#include "relais/keys_config.h"
#include "relais/revocation.h"
#include "unit_pki.h"

static char tmp_dir[1024];

/* Concatenates PKI files into TMP/name; returns its path. */
static const char *bundle(const char *name, const char *const *parts)
{
	static char path[1200];
	char buf[8192];
	size_t n;
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	out = fopen(path, "w");
	assert_non_null(out);
	for (; *parts; parts++) {
		FILE *in = fopen(pki(*parts), "r");
		assert_non_null(in);
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			assert_int_equal(fwrite(buf, 1, n, out), n);
		fclose(in);
	}
	fclose(out);
	return path;
}

static int verify_file(const struct rl_trust *t, const char *cert_name, struct rl_err *err)
{
	X509 *cert = rl_cert_load_pem(pki(cert_name), err);
	int rc;

	assert_non_null(cert);
	rc = rl_trust_verify(t, cert, NULL, 0, err);
	X509_free(cert);
	return rc;
}

static void test_policy_names(void **state)
{
	enum rl_revocation_policy p;

	(void)state;
	assert_int_equal(rl_revocation_parse_policy("hard", &p), 0);
	assert_int_equal(p, RL_REVOCATION_HARD);
	assert_int_equal(rl_revocation_parse_policy("soft", &p), 0);
	assert_int_equal(p, RL_REVOCATION_SOFT);
	assert_int_equal(rl_revocation_parse_policy("off", &p), 0);
	assert_int_equal(p, RL_REVOCATION_OFF);
	assert_int_equal(rl_revocation_parse_policy("Hard", &p), -1);
	assert_string_equal(rl_revocation_policy_name(RL_REVOCATION_SOFT), "soft");
}

/* Several networks side by side: the AP and SMP CAs under one root, a second root, roots first or last. */
static void test_bundle_several_roots(void **state)
{
	static const char *const both[] = { "other-root-ca.cert.pem", "ap-ca.cert.pem", "smp-ca.cert.pem",
					    "root-ca.cert.pem", NULL };
	static const char *const cas_only[] = { "ap-ca.cert.pem", "other-root-ca.cert.pem", NULL };
	struct rl_trust *t;
	struct rl_err err;
	int anchors, intermediates;

	(void)state;
	t = rl_trust_load(bundle("both.pem", both), &err);
	assert_non_null(t);
	rl_trust_counts(t, &anchors, &intermediates);
	assert_int_equal(anchors, 2);
	assert_int_equal(intermediates, 2);
	assert_int_equal(verify_file(t, "POP000001.cert.pem", &err), 0);
	assert_int_equal(verify_file(t, "SMP000001.cert.pem", &err), 0);
	assert_int_equal(verify_file(t, "POP000666.cert.pem", &err), 0);
	/* An intermediate is chain material, not an anchor: a leaf it issued must still reach the root. */
	assert_int_equal(verify_file(t, "ocsp.cert.pem", &err), 0);
	rl_trust_free(t);

	/* An AP CA without its root is an anchor itself, next to another network's root. */
	t = rl_trust_load(bundle("cas.pem", cas_only), &err);
	assert_non_null(t);
	rl_trust_counts(t, &anchors, &intermediates);
	assert_int_equal(anchors, 2);
	assert_int_equal(intermediates, 0);
	assert_int_equal(verify_file(t, "POP000001.cert.pem", &err), 0);
	assert_int_equal(verify_file(t, "POP000666.cert.pem", &err), 0);
	assert_int_equal(verify_file(t, "SMP000001.cert.pem", &err), -1);
	assert_non_null(strstr(err.msg, "does not chain to a trusted CA"));
	rl_trust_free(t);
}

/* The trust store of anchors with a checker of policy, loaded with the CRL files crls (NULL-terminated,
 * may be NULL) and asking ocsp_url (may be NULL). */
static struct rl_trust *trust_from(const char *anchors, enum rl_revocation_policy policy,
				   const char *const *crls, const char *ocsp_url)
{
	struct rl_trust *t;
	struct rl_revocation *rev;
	struct rl_err err;

	t = rl_trust_load(anchors, &err);
	assert_non_null(t);
	rev = rl_revocation_new(policy, &err);
	assert_non_null(rev);
	for (; crls && *crls; crls++)
		assert_int_equal(rl_revocation_add_crl_file(rev, *crls, &err), 0);
	assert_int_equal(rl_revocation_set_ocsp_url(rev, ocsp_url, &err), 0);
	rl_revocation_set_timeout(rev, 1);
	rl_trust_set_revocation(t, rev);
	return t;
}

static struct rl_trust *trust_with(enum rl_revocation_policy policy, const char *crl, const char *ocsp_url)
{
	const char *crls[] = { crl, NULL };

	return trust_from(pki("ca-chain.pem"), policy, crls, ocsp_url);
}

static void test_crl(void **state)
{
	struct rl_trust *t = trust_with(RL_REVOCATION_HARD, pki("ap-ca.crl.pem"), NULL);
	struct rl_revocation_outcome outcomes[4];
	struct rl_err err;

	(void)state;
	assert_int_equal(verify_file(t, "POP000003.cert.pem", &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_non_null(strstr(err.msg, "certificate CN=POP000003 was revoked on "));
	assert_non_null(strstr(err.msg, "(keyCompromise)"));
	assert_int_equal(verify_file(t, "POP000001.cert.pem", &err), 0);
	assert_int_equal(rl_revocation_outcomes(rl_trust_revocation(t), outcomes, 4), 2);
	assert_string_equal(outcomes[0].subject_cn, "POP000001");
	assert_int_equal(outcomes[0].status, RL_REVOCATION_GOOD);
	assert_non_null(strstr(outcomes[0].source, "CRL "));
	assert_true(outcomes[0].next_update > time(NULL));
	assert_int_equal(outcomes[1].status, RL_REVOCATION_REVOKED);
	assert_string_equal(outcomes[1].reason, "keyCompromise");
	/* The SMP CA issued no CRL here: the SMP certificate has no source. */
	rl_trust_free(t);

	/* A file without a CRL is refused when loading. */
	struct rl_revocation *rev = rl_revocation_new(RL_REVOCATION_HARD, &err);
	assert_int_equal(rl_revocation_add_crl_file(rev, pki("ap-ca.cert.pem"), &err), -1);
	assert_int_equal(err.code, RL_ERR_CONFIG);
	rl_revocation_free(rev);
}

/* A responder nobody listens on: hard refuses, soft accepts and records why, off does not ask. */
static void test_unreachable_policy(void **state)
{
	struct rl_revocation_outcome outcome;
	struct rl_revocation_responder responders[2];
	struct rl_trust *t;
	struct rl_err err;

	(void)state;
	t = trust_with(RL_REVOCATION_HARD, NULL, "http://127.0.0.1:9/");
	assert_int_equal(verify_file(t, "POP000001.cert.pem", &err), -1);
	assert_non_null(strstr(err.msg, "could not check revocation of certificate CN=POP000001"));
	assert_int_equal(rl_revocation_responders(rl_trust_revocation(t), responders, 2), 1);
	assert_false(responders[0].reachable);
	assert_int_equal(responders[0].requests, 1);
	/* The failed responder rests: a second check does not wait for it again. */
	assert_int_equal(verify_file(t, "POP000002.cert.pem", &err), -1);
	assert_int_equal(rl_revocation_responders(rl_trust_revocation(t), responders, 2), 1);
	assert_int_equal(responders[0].requests, 1);
	rl_trust_free(t);

	t = trust_with(RL_REVOCATION_SOFT, NULL, "http://127.0.0.1:9/");
	assert_int_equal(verify_file(t, "POP000001.cert.pem", &err), 0);
	assert_int_equal(rl_revocation_outcomes(rl_trust_revocation(t), &outcome, 1), 1);
	assert_int_equal(outcome.status, RL_REVOCATION_UNKNOWN);
	assert_non_null(strstr(outcome.problem, "127.0.0.1:9"));
	/* Soft never lets a known revocation through. */
	rl_trust_free(t);
	t = trust_with(RL_REVOCATION_SOFT, pki("ap-ca.crl.pem"), "http://127.0.0.1:9/");
	assert_int_equal(verify_file(t, "POP000003.cert.pem", &err), -1);
	assert_non_null(strstr(err.msg, "was revoked"));
	rl_trust_free(t);

	t = trust_with(RL_REVOCATION_OFF, NULL, "http://127.0.0.1:9/");
	assert_int_equal(verify_file(t, "POP000003.cert.pem", &err), 0);
	assert_int_equal(rl_revocation_responders(rl_trust_revocation(t), responders, 2), 0);
	rl_trust_free(t);
}

/* The CAs of a chain are checked too, against their issuer's CRL: a certificate issued by a CA its root
 * revoked is refused whatever its own status; a CA for which nothing publishes a status is not checked,
 * even under hard. */
static void test_revoked_ca(void **state)
{
	static const char *const cas[] = { "ap-ca.cert.pem", "revoked-ap-ca.cert.pem", "root-ca.cert.pem", NULL };
	char anchors[1200], ap_ca_crl[1200], root_ca_crl[1200];
	const char *both_crls[] = { ap_ca_crl, root_ca_crl, NULL };
	const char *root_crl[] = { root_ca_crl, NULL };
	const char *ap_crl[] = { ap_ca_crl, NULL };
	struct rl_revocation_outcome outcomes[4];
	struct rl_trust *t;
	struct rl_err err;

	(void)state;
	/* pki() and bundle() hand out buffers that later calls reuse. */
	snprintf(anchors, sizeof(anchors), "%s", bundle("with-revoked-ca.pem", cas));
	snprintf(ap_ca_crl, sizeof(ap_ca_crl), "%s", pki("ap-ca.crl.pem"));
	snprintf(root_ca_crl, sizeof(root_ca_crl), "%s", pki("root-ca.crl.pem"));
	/* Under soft, the leaf's unanswered question lets it through; its CA's revocation does not. */
	t = trust_from(anchors, RL_REVOCATION_SOFT, root_crl, "http://127.0.0.1:9/");
	assert_int_equal(verify_file(t, "POP000777.cert.pem", &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	assert_non_null(strstr(err.msg, "the chain of CN=POP000777: certificate CN=relais Test Revoked AP CA was "
					"revoked on "));
	assert_non_null(strstr(err.msg, "(cACompromise)"));
	rl_trust_free(t);

	/* Under hard, with both CRLs: the AP CA is good by the root's CRL, its certificates by its own. */
	t = trust_from(anchors, RL_REVOCATION_HARD, both_crls, NULL);
	assert_int_equal(verify_file(t, "POP000001.cert.pem", &err), 0);
	assert_int_equal(rl_revocation_outcomes(rl_trust_revocation(t), outcomes, 4), 2);
	assert_string_equal(outcomes[0].subject_cn, "POP000001");	/* newest first: the CA is asked first */
	assert_string_equal(outcomes[1].subject_cn, "relais Test AP CA");
	assert_int_equal(outcomes[1].status, RL_REVOCATION_GOOD);
	assert_non_null(strstr(outcomes[1].source, "root-ca.crl.pem"));
	assert_int_equal(verify_file(t, "POP000003.cert.pem", &err), -1);
	assert_non_null(strstr(err.msg, "certificate CN=POP000003 was revoked"));
	assert_int_equal(verify_file(t, "POP000777.cert.pem", &err), -1);
	assert_non_null(strstr(err.msg, "relais Test Revoked AP CA was revoked"));
	rl_trust_free(t);

	/* Without the root's CRL nothing publishes the AP CA's status: hard still accepts its certificates,
	 * and the configured OCSP responder (the AP CA's) is not asked about the CA. */
	t = trust_from(anchors, RL_REVOCATION_HARD, ap_crl, "http://127.0.0.1:9/");
	assert_int_equal(verify_file(t, "POP000002.cert.pem", &err), 0);
	assert_int_equal(rl_revocation_outcomes(rl_trust_revocation(t), outcomes, 4), 1);
	assert_string_equal(outcomes[0].subject_cn, "POP000002");
	rl_trust_free(t);

	/* Off checks nothing. */
	t = trust_from(anchors, RL_REVOCATION_OFF, root_crl, NULL);
	assert_int_equal(verify_file(t, "POP000777.cert.pem", &err), 0);
	rl_trust_free(t);
}

static void test_aia_url(void **state)
{
	struct rl_err err;
	X509 *cert = rl_cert_load_pem(pki("POP000001.cert.pem"), &err);
	char *url = rl_cert_ocsp_url(cert);

	(void)state;
	assert_non_null(url);
	assert_string_equal(url, "http://127.0.0.1:18561/");
	free(url);
	url = rl_cert_crl_url(cert);
	assert_non_null(url);
	assert_string_equal(url, "http://127.0.0.1:18562/ap-ca.crl");
	free(url);
	X509_free(cert);
	cert = rl_cert_load_pem(pki("root-ca.cert.pem"), &err);
	assert_null(rl_cert_ocsp_url(cert));
	assert_null(rl_cert_crl_url(cert));
	X509_free(cert);
}

static struct rl_config *config_with(const char *const *sets)
{
	struct rl_config *cfg;
	struct rl_err err;

	cfg = rl_config_new(&err);
	assert_non_null(cfg);
	for (; *sets; sets++)
		assert_int_equal(rl_config_set(cfg, *sets, &err), 0);
	return cfg;
}

static void test_identity_set(void **state)
{
	char key[1300], cert[1300], next[1300], anchors[1300], crls[1300];
	const char *sets[8];
	struct rl_identity_set set;
	struct rl_config *cfg;
	struct rl_err err;
	char cn[64];
	int count;

	(void)state;
	snprintf(key, sizeof(key), "identity.key=%s", pki("POP000002.key.pem"));
	snprintf(cert, sizeof(cert), "identity.cert=%s", pki("POP000002.cert.pem"));
	snprintf(next, sizeof(next), "identity.next_keystore=%s", pki("POP000002-new.p12"));
	sets[0] = key, sets[1] = cert, sets[2] = next, sets[3] = "identity.next_password=test";
	sets[4] = "identity.switch_at=2030-01-01T00:00:00Z", sets[5] = NULL;
	cfg = config_with(sets);
	assert_int_equal(rl_config_validate(cfg, RL_CFG_MODE_CHECK), 0);
	assert_int_equal(rl_identity_set_load_config(&set, cfg, &err), 0);
	rl_identity_set_all(&set, &count);
	assert_int_equal(count, 2);
	time_t switch_at = rl_parse_datetime("2030-01-01T00:00:00Z");
	assert_ptr_equal(rl_identity_set_signing(&set, switch_at - 1), &set.current);
	assert_ptr_equal(rl_identity_set_signing(&set, switch_at), &set.next);
	assert_string_equal(rl_cert_cn(set.next.cert, cn, sizeof(cn)), "POP000002");
	assert_false(rl_cert_equal(set.current.cert, set.next.cert));
	rl_identity_set_free(&set);
	rl_config_free(cfg);

	/* Without switch_at the second identity only decrypts. */
	sets[4] = NULL;
	cfg = config_with(sets);
	assert_int_equal(rl_identity_set_load_config(&set, cfg, &err), 0);
	assert_ptr_equal(rl_identity_set_signing(&set, switch_at + 86400 * 3650L), &set.current);
	rl_identity_set_free(&set);
	rl_config_free(cfg);

	/* A wrong keystore password names the key. */
	sets[3] = "identity.next_password=wrong";
	cfg = config_with(sets);
	assert_int_equal(rl_identity_set_load_config(&set, cfg, &err), -1);
	assert_int_equal(err.code, RL_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "identity.next"));
	rl_config_free(cfg);

	/* The trust store from the configuration carries the policy and the CRLs. */
	snprintf(anchors, sizeof(anchors), "trust.anchors=%s", pki("ca-chain.pem"));
	snprintf(crls, sizeof(crls), "trust.crls=%s", pki("ap-ca.crl.pem"));
	sets[0] = anchors, sets[1] = crls, sets[2] = "trust.revocation=soft", sets[3] = NULL;
	cfg = config_with(sets);
	assert_int_equal(rl_config_validate(cfg, RL_CFG_MODE_CHECK), 0);
	struct rl_trust *t = rl_trust_load_config(cfg, NULL, &err);
	assert_non_null(t);
	assert_int_equal(rl_revocation_policy(rl_trust_revocation(t)), RL_REVOCATION_SOFT);
	assert_int_equal(verify_file(t, "POP000003.cert.pem", &err), -1);
	rl_trust_free(t);
	rl_config_free(cfg);

	/* Bad values are configuration problems. */
	sets[0] = "trust.revocation=sometimes", sets[1] = "identity.switch_at=tomorrow",
	sets[2] = "trust.crls=/nonexistent/x.crl", sets[3] = NULL;
	cfg = config_with(sets);
	assert_int_equal(rl_config_validate(cfg, RL_CFG_MODE_CHECK), 4);	/* + switch_at without next */
	rl_config_free(cfg);
}

int main(void)
{
	const char *builddir = getenv("top_builddir");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_names),
		cmocka_unit_test(test_bundle_several_roots),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_unreachable_policy),
		cmocka_unit_test(test_revoked_ca),
		cmocka_unit_test(test_aia_url),
		cmocka_unit_test(test_identity_set),
	};

	unit_pki_init();
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/tests/tmp/test_revocation", builddir ? builddir : ".");
	if (access(pki(".stamp"), F_OK) != 0) {
		fprintf(stderr, "no test PKI in %s\n", pki_dir);
		return 1;
	}
	char parent[1100];
	snprintf(parent, sizeof(parent), "%s/tests/tmp", builddir ? builddir : ".");
	mkdir(parent, 0755);
	mkdir(tmp_dir, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

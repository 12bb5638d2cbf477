/* test_smp_server.c - the SMP server over real HTTP on loopback, asked by the SMP client: ServiceGroup,
 * signed ServiceMetadata that verifies against the SMP CA, 404s, a changed directory seen at once. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "relais/cli.h"
#include "relais/http_client.h"
#include "relais/smp.h"
#include "relais/smp_client.h"
#include "relais/smp_server.h"
#include "unit_pki.h"

#define INVOICE "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##" \
		"urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
#define CREDITNOTE "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote##" \
		   "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
#define BILLING "cenbii-procid-ubl::urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


/* The directory of this test: one participant; `with_creditnote` adds a second document type. */
static int with_creditnote;

static int test_services(void *arg, const struct rl_peppol_id *participant, struct rl_smp_service **out,
			 struct rl_err *err)
{
	int n = with_creditnote ? 2 : 1;

	(void)arg;
	*out = NULL;
	if (strcmp(participant->value, "9915:hosted") != 0)
		return 0;
	*out = calloc((size_t)n, sizeof(**out));
	if (!*out)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (rl_doctype_parse(&(*out)[0].doctype, INVOICE, err) < 0 || rl_process_parse(&(*out)[0].process, BILLING, err) < 0)
		return -1;
	if (n == 2 && (rl_doctype_parse(&(*out)[1].doctype, CREDITNOTE, err) < 0 ||
		       rl_process_parse(&(*out)[1].process, BILLING, err) < 0))
		return -1;
	return n;
}

static void test_smp_server(void **state)
{
	struct rl_identity smp;
	struct rl_trust *anchors;
	struct rl_smp_server_opts o = { 0 };
	struct rl_smp_server *s;
	struct rl_smp_client c = { 0 };
	struct rl_smp_service_group g;
	struct rl_smp_metadata m;
	struct rl_peppol_id p, d, unknown, creditnote;
	struct rl_buf body = RL_BUF_INIT;
	struct rl_err err;
	char url[128], cn[64];
	X509 *ep_cert;
	long status;

	(void)state;
	assert_int_equal(rl_identity_load_pem(&smp, pki("SMP000001.key.pem"), pki("SMP000001.cert.pem"), NULL, &err), 0);
	assert_non_null(ep_cert = rl_cert_load_pem(pki("POP000002.cert.pem"), &err));
	assert_non_null(anchors = rl_trust_load(pki("smp-ca-chain.pem"), &err));
	o.host = "127.0.0.1";
	o.signer = &smp;
	o.endpoint.transport_profile = RL_TRANSPORT_PEPPOL_AS4_V2;
	o.endpoint.url = "https://ap.example.org/as4";
	o.endpoint.cert = ep_cert;
	o.directory.services = test_services;
	s = rl_smp_server_start(&o, &err);
	assert_non_null(s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", rl_smp_server_port(s));

	c.anchors = anchors;
	c.timeout = 5;
	assert_int_equal(rl_participant_parse(&p, "iso6523-actorid-upis::9915:HOSTED", &err), 0);
	assert_int_equal(rl_participant_parse(&unknown, "iso6523-actorid-upis::9915:elsewhere", &err), 0);
	assert_int_equal(rl_doctype_parse(&d, INVOICE, &err), 0);
	assert_int_equal(rl_doctype_parse(&creditnote, CREDITNOTE, &err), 0);

	assert_int_equal(rl_smp_fetch_service_group(&c, url, &p, &g, &err), 0);
	assert_int_equal(g.count, 1);
	assert_string_equal(g.doctypes[0], INVOICE);
	assert_non_null(strstr(g.hrefs[0], url));
	rl_smp_service_group_free(&g);

	assert_int_equal(rl_smp_fetch_metadata(&c, url, &p, &d, &m, NULL, &err), 0);
	assert_string_equal(m.processes[0].endpoints[0].url, "https://ap.example.org/as4");
	assert_string_equal(rl_cert_cn(m.processes[0].endpoints[0].cert, cn, sizeof(cn)), "POP000002");
	rl_smp_metadata_free(&m);

	assert_int_equal(rl_smp_fetch_metadata(&c, url, &p, &creditnote, &m, NULL, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	assert_int_equal(rl_smp_fetch_service_group(&c, url, &unknown, &g, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	/* the directory changes: the next answer has it */
	with_creditnote = 1;
	assert_int_equal(rl_smp_fetch_metadata(&c, url, &p, &creditnote, &m, NULL, &err), 0);
	rl_smp_metadata_free(&m);

	/* malformed identifiers and other paths */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/iso6523-actorid-upis%%3A%%3A12%%3Ax", rl_smp_server_port(s));
	assert_int_equal(rl_smp_http_get(&c, url, &body, &status, &err), 0);
	assert_int_equal(status, 400);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", rl_smp_server_port(s));
	assert_int_equal(rl_smp_http_get(&c, url, &body, &status, &err), 0);
	assert_int_equal(status, 404);
	assert_true(rl_smp_server_requests(s) >= 7);

	rl_buf_free(&body);
	rl_smp_server_stop(s);
	rl_trust_free(anchors);
	X509_free(ep_cert);
	rl_identity_free(&smp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smp_server),
	};
	struct rl_err err;
	int rc;

	unit_pki_init();
	if (rl_init(&err) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rl_shutdown();
	return rc;
}

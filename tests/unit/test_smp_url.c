/* test_smp_url.c - the URLs an SMP is asked at: SMP 1.x paths (Peppol, byte for byte as before) and the
 * OASIS SMP 2.0 paths under bdxr-smp-2/, identifiers percent-encoded in both. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "relais/smp_client.h"

#define PARTICIPANT "iso6523-actorid-upis::0088:5790000435975"
#define PARTICIPANT_ENC "iso6523-actorid-upis%3A%3A0088%3A5790000435975"
#define DOCTYPE "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##" \
		"urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
#define DOCTYPE_ENC "busdox-docid-qns%3A%3Aurn%3Aoasis%3Anames%3Aspecification%3Aubl%3Aschema%3Axsd%3A" \
		"Invoice-2%3A%3AInvoice%23%23urn%3Acen.eu%3Aen16931%3A2017%23compliant%23urn%3Afdc%3Apeppol.eu%3A" \
		"2017%3Apoacc%3Abilling%3A3.0%3A%3A2.1"

static void url_is(const char *smp, enum rl_smp_api api, int with_doctype, const char *want)
{
	struct rl_peppol_id participant, doctype;
	struct rl_buf url = RL_BUF_INIT;
	struct rl_err err;

	assert_int_equal(rl_participant_parse(&participant, PARTICIPANT, &err), 0);
	assert_int_equal(rl_doctype_parse(&doctype, DOCTYPE, &err), 0);
	assert_int_equal(rl_smp_url(&url, smp, api, &participant, with_doctype ? &doctype : NULL), 0);
	assert_string_equal(url.data, want);
	rl_buf_free(&url);
}

static void test_smp1_paths(void **state)
{
	(void)state;
	url_is("http://smp.example.org", RL_SMP_API_1, 0, "http://smp.example.org/" PARTICIPANT_ENC);
	url_is("http://smp.example.org/", RL_SMP_API_1, 1,
	       "http://smp.example.org/" PARTICIPANT_ENC "/services/" DOCTYPE_ENC);
	url_is("https://smp.example.org/base//", RL_SMP_API_1, 1,
	       "https://smp.example.org/base/" PARTICIPANT_ENC "/services/" DOCTYPE_ENC);
}

static void test_smp2_paths(void **state)
{
	(void)state;
	url_is("http://smp.example.org", RL_SMP_API_2, 0, "http://smp.example.org/bdxr-smp-2/" PARTICIPANT_ENC);
	url_is("http://smp.example.org/", RL_SMP_API_2, 1,
	       "http://smp.example.org/bdxr-smp-2/" PARTICIPANT_ENC "/services/" DOCTYPE_ENC);
	url_is("https://smp.example.org/base/", RL_SMP_API_2, 1,
	       "https://smp.example.org/base/bdxr-smp-2/" PARTICIPANT_ENC "/services/" DOCTYPE_ENC);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(rl_smp_api_name(RL_SMP_API_1), "SMP 1.x");
	assert_string_equal(rl_smp_api_name(RL_SMP_API_2), "SMP 2.0");
	assert_string_equal(RL_SMP2_NAPTR_SERVICE, "oasis-bdxr-smp-2");
	assert_int_equal(RL_SMP_API_1, 0);	/* a zeroed client asks at the SMP 1.x paths */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smp1_paths),
		cmocka_unit_test(test_smp2_paths),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_peppol_id.c - unit tests for Peppol identifiers, SML DNS names and U-NAPTR regexps. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/peppol_id.h"
#include "relais/sml.h"

#define INVOICE_DOCTYPE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##" \
	"urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
#define ZONE_LEGACY "edelivery.tech.ec.europa.eu"

static void test_cname_vectors(void **state)
{
	struct rl_buf b = RL_BUF_INIT;
	struct rl_err err;

	assert_int_equal(rl_sml_cname_name(&b, RL_SCHEME_PARTICIPANT, "9930:de298946909", ZONE_LEGACY, &err), 0);
	assert_string_equal(b.data, "B-40e8abe94e9a400e1e63bd292502a587.iso6523-actorid-upis.edelivery.tech.ec.europa.eu");
	rl_buf_reset(&b);
	/* upper case in the value is hashed lower-cased; trailing dot of the zone dropped */
	assert_int_equal(rl_sml_cname_name(&b, RL_SCHEME_PARTICIPANT, "9930:DE257746542", ZONE_LEGACY ".", &err), 0);
	assert_string_equal(b.data, "B-3ebc60ae69525acc4f3013a443a99889.iso6523-actorid-upis.edelivery.tech.ec.europa.eu");
	rl_buf_reset(&b);
	assert_int_equal(rl_sml_cname_name(&b, RL_SCHEME_PARTICIPANT, "0106:95781897", RL_SML_ZONE_PROD, &err), 0);
	assert_string_equal(b.data, "B-0d291bad7869ab46f673237c191eba76.iso6523-actorid-upis.participant.sml.prod.tech.peppol.org");
	rl_buf_reset(&b);
	assert_int_equal(rl_sml_cname_name(&b, RL_SCHEME_PARTICIPANT, "*", ZONE_LEGACY, &err), 0);
	assert_string_equal(b.data, "*.iso6523-actorid-upis.edelivery.tech.ec.europa.eu");
	rl_buf_reset(&b);
	assert_int_equal(rl_sml_cname_name(&b, RL_SCHEME_PARTICIPANT, "9930:x", "", &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
	rl_buf_free(&b);
}

static void test_naptr_vectors(void **state)
{
	struct rl_buf b = RL_BUF_INIT;
	struct rl_peppol_id id;
	struct rl_err err;

	assert_int_equal(rl_sml_naptr_name(&b, RL_SCHEME_PARTICIPANT, "9930:de298946909", RL_SML_ZONE_TEST, &err), 0);
	assert_string_equal(b.data, "b3q5ak3dgc7jujjdfw5halimost5v5vembtiw3mhwfydauxo244q.iso6523-actorid-upis."
			    "participant.sml.test.tech.peppol.org");
	rl_buf_reset(&b);
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::0106:95781897", &err), 0);
	assert_int_equal(rl_sml_naptr_name_id(&b, &id, "example.org.", &err), 0);
	assert_string_equal(b.data, "feylfv67iaghi2grodf4r6ahwy6o7hhjtoajkqkr4zhrxjyt4ira.iso6523-actorid-upis.example.org");
	rl_buf_reset(&b);
	/* upper-case input gives the same name as lower-case */
	assert_int_equal(rl_sml_naptr_name(&b, RL_SCHEME_PARTICIPANT, "9930:DE298946909", "z", &err), 0);
	assert_string_equal(b.data, "b3q5ak3dgc7jujjdfw5halimost5v5vembtiw3mhwfydauxo244q.iso6523-actorid-upis.z");
	rl_buf_reset(&b);
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::9930:DE257746542", &err), 0);
	assert_int_equal(rl_sml_cname_name_id(&b, &id, ZONE_LEGACY, &err), 0);
	assert_string_equal(b.data, "B-3ebc60ae69525acc4f3013a443a99889.iso6523-actorid-upis.edelivery.tech.ec.europa.eu");
	rl_buf_reset(&b);
	assert_int_equal(rl_process_parse(&id, "cenbii-procid-ubl::busdox:noprocess", &err), 0);
	assert_int_equal(rl_sml_naptr_name_id(&b, &id, "z", &err), -1);
	rl_buf_free(&b);
}

static void test_base32(void **state)
{
	struct rl_buf b = RL_BUF_INIT;

	/* RFC 4648 section 10 vectors, lower-case, no padding */
	assert_int_equal(rl_base32_lower_nopad(&b, (const unsigned char *)"foobar", 6), 0);
	assert_string_equal(b.data, "mzxw6ytboi");
	rl_buf_reset(&b);
	assert_int_equal(rl_base32_lower_nopad(&b, (const unsigned char *)"f", 1), 0);
	assert_string_equal(b.data, "my");
	rl_buf_reset(&b);
	assert_int_equal(rl_base32_lower_nopad(&b, (const unsigned char *)"foob", 4), 0);
	assert_string_equal(b.data, "mzxw6yq");
	rl_buf_free(&b);
}

static void test_participant(void **state)
{
	struct rl_peppol_id id;
	struct rl_buf b = RL_BUF_INIT;
	struct rl_err err;
	char longid[200];

	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::9930:DE298946909", &err), 0);
	assert_int_equal(id.kind, RL_ID_PARTICIPANT);
	assert_string_equal(id.scheme, "iso6523-actorid-upis");
	assert_string_equal(id.value, "9930:de298946909");
	assert_int_equal(id.flags, 0);
	assert_int_equal(rl_peppol_id_uri(&id, &b), 0);
	assert_string_equal(b.data, "iso6523-actorid-upis::9930:de298946909");
	rl_buf_reset(&b);

	{
		struct rl_peppol_id upper;
		assert_int_equal(rl_peppol_id_make(&upper, RL_ID_PARTICIPANT, "iso6523-actorid-upis",
						   "9930:de298946909", &err), 0);
		assert_true(rl_peppol_id_equal(&id, &upper));
	}

	/* scheme given separately; NULL = default scheme */
	assert_int_equal(rl_peppol_id_make(&id, RL_ID_PARTICIPANT, NULL, "0088:5798000000001", &err), 0);
	assert_string_equal(id.scheme, RL_SCHEME_PARTICIPANT);
	assert_int_equal(rl_peppol_id_make(&id, RL_ID_PARTICIPANT, "iso6523-actorid-upis", "0088:A.b_c-d~e", &err), 0);
	assert_string_equal(id.value, "0088:a.b_c-d~e");

	/* deprecated ICD: accepted, flagged */
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::9912:EU123", &err), 0);
	assert_int_equal(id.flags & RL_ID_FLAG_DEPRECATED_ICD, RL_ID_FLAG_DEPRECATED_ICD);

	/* removed and unknown ICDs */
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::9906:123", &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
	assert_non_null(strstr(err.msg, "ICD 9906 was removed"));
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::1234:123", &err), -1);
	assert_non_null(strstr(err.msg, "ICD 1234 is not in the code list"));

	/* malformed values */
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::88:123", &err), -1);
	assert_non_null(strstr(err.msg, "4-digit ICD"));
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::0088-123", &err), -1);
	assert_non_null(strstr(err.msg, "no ':' after the ICD"));
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::0088:", &err), -1);
	assert_non_null(strstr(err.msg, "empty local part"));
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::0088:12 3", &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
	assert_non_null(strstr(err.msg, "is not one of"));
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::0088:a/b", &err), -1);
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis::0088:\xc3\xa9", &err), -1);
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis:0088:123", &err), -1);
	assert_non_null(strstr(err.msg, "no '::'"));
	assert_int_equal(rl_participant_parse(&id, "other-actorid-upis::0088:123", &err), -1);
	assert_non_null(strstr(err.msg, "is not 'iso6523-actorid-upis'"));
	assert_int_equal(rl_participant_parse(&id, "iso6523-actorid-upis-much-too-long::0088:1", &err), -1);
	assert_non_null(strstr(err.msg, "at most 25"));

	/* length: 130 local characters are fine, 131 are not */
	memcpy(longid, "0088:", 5);
	memset(longid + 5, 'a', 130);
	longid[135] = '\0';
	assert_int_equal(rl_peppol_id_make(&id, RL_ID_PARTICIPANT, NULL, longid, &err), 0);
	longid[135] = 'a';
	longid[136] = '\0';
	assert_int_equal(rl_peppol_id_make(&id, RL_ID_PARTICIPANT, NULL, longid, &err), -1);
	assert_non_null(strstr(err.msg, "at most 135"));
	rl_buf_free(&b);
}

static void test_doctype_process(void **state)
{
	struct rl_peppol_id id;
	struct rl_err err;
	char longval[600];

	assert_int_equal(rl_doctype_parse(&id, "busdox-docid-qns::" INVOICE_DOCTYPE, &err), 0);
	assert_string_equal(id.value, INVOICE_DOCTYPE);	/* case preserved */
	assert_int_equal(rl_doctype_parse(&id, "busdox-docid-qns::urn:X:Y::Z##AbC::2.1", &err), 0);
	assert_string_equal(id.value, "urn:X:Y::Z##AbC::2.1");
	{
		struct rl_peppol_id lower;
		assert_int_equal(rl_doctype_parse(&lower, "busdox-docid-qns::urn:x:y::z##abc::2.1", &err), 0);
		assert_false(rl_peppol_id_equal(&id, &lower));	/* doctype ids are case-sensitive */
	}
	assert_int_equal(rl_doctype_parse(&id, "peppol-doctype-wildcard::urn:peppol:pint:billing-1@jp-1*", &err), 0);
	assert_string_equal(id.scheme, RL_SCHEME_DOCTYPE_WILDCARD);
	assert_int_equal(rl_doctype_parse(&id, "busdox-docid-qns::caf\xc3\xa9", &err), 0); /* ISO-8859-1 ok */
	assert_int_equal(rl_doctype_parse(&id, "busdox-docid-qns::\xe2\x82\xac", &err), -1); /* euro sign */
	assert_non_null(strstr(err.msg, "not ISO-8859-1"));
	assert_int_equal(rl_doctype_parse(&id, "busdox-docid-qns::a\tb", &err), -1);
	assert_non_null(strstr(err.msg, "control character"));
	assert_int_equal(rl_doctype_parse(&id, "busdox-docid-qns::", &err), -1);
	assert_non_null(strstr(err.msg, "empty"));
	assert_int_equal(rl_doctype_parse(&id, "Busdox-docid-qns::x", &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
	memset(longval, 'x', 500);
	longval[500] = '\0';
	assert_int_equal(rl_peppol_id_make(&id, RL_ID_DOCTYPE, NULL, longval, &err), 0);
	longval[500] = 'x';
	longval[501] = '\0';
	assert_int_equal(rl_peppol_id_make(&id, RL_ID_DOCTYPE, NULL, longval, &err), -1);
	assert_non_null(strstr(err.msg, "at most 500"));

	assert_int_equal(rl_process_parse(&id, "cenbii-procid-ubl::urn:fdc:peppol.eu:2017:poacc:billing:01:1.0", &err), 0);
	assert_string_equal(id.value, "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0");
	assert_int_equal(rl_process_parse(&id, "cenbii-procid-ubl::Urn:A", &err), 0);
	assert_string_equal(id.value, "Urn:A");
	assert_int_equal(rl_process_parse(&id, "cenbii-procid-ubl::urn:a b", &err), -1);
	assert_non_null(strstr(err.msg, "whitespace"));
	longval[201] = '\0';
	assert_int_equal(rl_peppol_id_make(&id, RL_ID_PROCESS, NULL, longval, &err), -1);
	assert_non_null(strstr(err.msg, "at most 200"));
	assert_int_equal(rl_process_parse(&id, "busdox-docid-qns::x", &err), -1);
}

static void test_percent_encoding(void **state)
{
	struct rl_peppol_id participant, doctype;
	struct rl_buf b = RL_BUF_INIT;
	struct rl_err err;

	assert_int_equal(rl_participant_parse(&participant, "iso6523-actorid-upis::9930:de298946909", &err), 0);
	assert_int_equal(rl_doctype_parse(&doctype, "busdox-docid-qns::" INVOICE_DOCTYPE, &err), 0);
	assert_int_equal(rl_buf_puts(&b, "/"), 0);
	assert_int_equal(rl_peppol_id_uri_encoded(&participant, &b), 0);
	assert_int_equal(rl_buf_puts(&b, "/services/"), 0);
	assert_int_equal(rl_peppol_id_uri_encoded(&doctype, &b), 0);
	assert_string_equal(b.data,
		"/iso6523-actorid-upis%3A%3A9930%3Ade298946909/services/busdox-docid-qns%3A%3Aurn%3Aoasis%3Anames"
		"%3Aspecification%3Aubl%3Aschema%3Axsd%3AInvoice-2%3A%3AInvoice%23%23urn%3Acen.eu%3Aen16931%3A2017"
		"%23compliant%23urn%3Afdc%3Apeppol.eu%3A2017%3Apoacc%3Abilling%3A3.0%3A%3A2.1");
	rl_buf_reset(&b);
	assert_int_equal(rl_percent_encode(&b, "a b/~\xc3\xa9"), 0);
	assert_string_equal(b.data, "a%20b%2F~%C3%A9");
	rl_buf_free(&b);
}

static void test_unaptr(void **state)
{
	struct rl_buf b = RL_BUF_INIT;
	struct rl_err err;
	const char *name = "b3q5ak3dgc7jujjdfw5halimost5v5vembtiw3mhwfydauxo244q.iso6523-actorid-upis.example.org";

	assert_int_equal(rl_unaptr_apply("!^.*$!https://smp.example.com!", name, &b, &err), 0);
	assert_string_equal(b.data, "https://smp.example.com");
	rl_buf_reset(&b);
	/* other delimiter, escaped delimiter in the replacement */
	assert_int_equal(rl_unaptr_apply("#.*#http://smp.example.com/a\\#b#", name, &b, &err), 0);
	assert_string_equal(b.data, "http://smp.example.com/a#b");
	rl_buf_reset(&b);
	/* backreferences */
	assert_int_equal(rl_unaptr_apply("!^([a-z0-9]+)\\.(.*)$!https://\\2/\\1!", "abc.smp.example.org", &b, &err), 0);
	assert_string_equal(b.data, "https://smp.example.org/abc");
	rl_buf_reset(&b);
	/* the ERE must match the whole input (anchored) */
	assert_int_equal(rl_unaptr_apply("!abc!https://x!", "xxabcxx", &b, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	assert_int_equal(rl_unaptr_apply("!ABC.*!https://x!", "abc.example", &b, &err), -1);
	assert_int_equal(err.code, RL_ERR_NOT_FOUND);
	/* flag i */
	assert_int_equal(rl_unaptr_apply("!ABC.*!https://x!i", "abc.example", &b, &err), 0);
	assert_string_equal(b.data, "https://x");
	rl_buf_reset(&b);
	/* malformed */
	assert_int_equal(rl_unaptr_apply("!^(.*$!https://x!", name, &b, &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
	assert_non_null(strstr(err.msg, "does not compile"));
	assert_int_equal(rl_unaptr_apply("!^.*$!https://x", name, &b, &err), -1);
	assert_non_null(strstr(err.msg, "does not have the form"));
	assert_int_equal(rl_unaptr_apply("!^.*$!https://x!g", name, &b, &err), -1);
	assert_non_null(strstr(err.msg, "unknown flag"));
	assert_int_equal(rl_unaptr_apply("!^(.*)$!https://\\2!", name, &b, &err), -1);
	assert_non_null(strstr(err.msg, "has 1 group"));
	assert_int_equal(rl_unaptr_apply("!^.*$!!", name, &b, &err), -1);
	assert_non_null(strstr(err.msg, "empty URL"));
	assert_int_equal(rl_unaptr_apply("", name, &b, &err), -1);
	assert_int_equal(rl_unaptr_apply("a.*a", name, &b, &err), -1);
	assert_int_equal(b.len, 0);
	rl_buf_free(&b);
}

static void test_shapes(void **state)
{
	(void)state;
	assert_true(rl_participant_value_shaped("0088:5798000000001"));
	assert_true(rl_participant_value_shaped("9925:b"));
	assert_false(rl_participant_value_shaped("9925:"));
	assert_false(rl_participant_value_shaped("088:57980"));
	assert_false(rl_participant_value_shaped("00885:798"));
	assert_false(rl_participant_value_shaped("iso6523-actorid-upis::0088:1"));
	assert_true(rl_country_code_valid("BE"));
	assert_true(rl_country_code_valid("ZZ"));
	assert_false(rl_country_code_valid("be"));
	assert_false(rl_country_code_valid("B1"));
	assert_false(rl_country_code_valid("BEL"));
	assert_false(rl_country_code_valid(""));
	assert_true(rl_seat_id_valid("POP000123"));
	assert_true(rl_seat_id_valid("PDE000001"));
	assert_false(rl_seat_id_valid("pOP000123"));
	assert_false(rl_seat_id_valid("POp000123"));
	assert_false(rl_seat_id_valid("PO1000123"));
	assert_false(rl_seat_id_valid("POP00012"));
	assert_false(rl_seat_id_valid("POP0001234"));
	assert_false(rl_seat_id_valid("POP00012A"));
	assert_false(rl_seat_id_valid("POPA00012"));
	assert_false(rl_seat_id_valid(""));
	assert_false(rl_seat_id_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cname_vectors),
		cmocka_unit_test(test_naptr_vectors),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_participant),
		cmocka_unit_test(test_doctype_process),
		cmocka_unit_test(test_percent_encoding),
		cmocka_unit_test(test_unaptr),
		cmocka_unit_test(test_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

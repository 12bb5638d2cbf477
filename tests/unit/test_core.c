/* test_core.c - unit tests for errors, buffers and the safe XML parser. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/xml.h"

static void test_err_codes(void **state)
{
	struct rl_err err;
	char line[600];

	assert_int_equal(rl_err_set(&err, RL_EBMS_FAILED_AUTHENTICATION, "bad %s", "signature"), -1);
	assert_string_equal(rl_err_code_str(err.code), "EBMS:0101");
	assert_string_equal(rl_err_short(err.code), "FailedAuthentication");
	assert_string_equal(rl_err_format(&err, line, sizeof(line)),
			    "EBMS:0101 FailedAuthentication: bad signature");
	assert_int_equal(rl_err_code_parse("EBMS:0303"), 303);
	assert_int_equal(rl_err_code_parse("EBMS:x"), -1);
	assert_int_equal(rl_err_code_parse("FOO:0001"), -1);
	assert_true(rl_err_is_ebms(RL_EBMS_OTHER));
	assert_false(rl_err_is_ebms(RL_ERR_IO));
	rl_err_prefix(&err, "part %d", 2);
	assert_string_equal(err.msg, "part 2: bad signature");
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
}

static void test_buf(void **state)
{
	struct rl_buf b = RL_BUF_INIT;

	for (int i = 0; i < 1000; i++)
		assert_int_equal(rl_buf_printf(&b, "%d,", i), 0);
	assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
	assert_int_equal(b.data[b.len], '\0');
	rl_buf_reset(&b);
	assert_int_equal(b.len, 0);
	rl_xml_escape(&b, "a<b&\"c\"");
	assert_string_equal(b.data, "a&lt;b&amp;&quot;c&quot;");
	rl_buf_free(&b);
}

static void test_xml_refuses_doctype(void **state)
{
	static const char xxe[] =
		"<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
	static const char bomb[] =
		"<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><l>&c;&c;&c;&c;</l>";
	struct rl_err err;

	assert_null(rl_xml_parse(xxe, sizeof(xxe) - 1, RL_EBMS_INVALID_HEADER, "test", &err));
	assert_int_equal(err.code, RL_EBMS_INVALID_HEADER);
	assert_non_null(strstr(err.msg, "DOCTYPE"));
	assert_null(rl_xml_parse(bomb, sizeof(bomb) - 1, RL_EBMS_INVALID_HEADER, "test", &err));
	assert_non_null(strstr(err.msg, "DOCTYPE"));
}

static void test_xml_malformed_and_deep(void **state)
{
	struct rl_err err;
	char deep[300 * 3 + 16];
	size_t n = 0;
	xmlDocPtr doc;

	assert_null(rl_xml_parse("<a><b></a>", 10, RL_EBMS_OTHER, "doc", &err));
	assert_int_equal(err.code, RL_EBMS_OTHER);
	assert_non_null(strstr(err.msg, "not well-formed"));
	for (int i = 0; i < 300; i++)
		n += (size_t)sprintf(deep + n, "<a>");
	assert_null(rl_xml_parse(deep, n, RL_EBMS_OTHER, "doc", &err));
	assert_non_null(strstr(err.msg, "nested"));
	doc = rl_xml_parse("<r xmlns='urn:x'><c a='1'> t </c></r>", 37, RL_EBMS_OTHER, "doc", &err);
	assert_non_null(doc);
	{
		xmlNodePtr c = rl_xml_child(xmlDocGetRootElement(doc), "urn:x", "c");
		char *t = rl_xml_text(c), *a = rl_xml_attr(c, NULL, "a");

		assert_string_equal(t, "t");
		assert_string_equal(a, "1");
		free(t);
		free(a);
	}
	xmlFreeDoc(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_codes),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_xml_refuses_doctype),
		cmocka_unit_test(test_xml_malformed_and_deep),
	};
	rl_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_relay.c - unit tests for relay routes: the file format, matching by receiver and document, the
 * inbound plan, and the SBD unwrapped for conversion. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "relais/doc.h"
#include "relais/err.h"
#include "relais/relay.h"
#include "relais/xml.h"

#define INVOICE_DOCTYPE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##" \
	"urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"

/* A small Peppol UBL invoice, wrapped in an SBD whose namespace prefixes the invoice relies on. */
static const char sbd_invoice[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<sh:StandardBusinessDocument xmlns:sh=\"http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader\""
	" xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\""
	" xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\">"
	"<sh:StandardBusinessDocumentHeader><sh:HeaderVersion>1.0</sh:HeaderVersion></sh:StandardBusinessDocumentHeader>"
	"<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">"
	"<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>"
	"<cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>"
	"<cbc:ID>R-1</cbc:ID><cbc:IssueDate>2026-11-23</cbc:IssueDate><cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>"
	"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
	"<cac:AccountingSupplierParty><cac:Party><cbc:EndpointID schemeID=\"0088\">5798000000001</cbc:EndpointID>"
	"<cac:PostalAddress><cac:Country><cbc:IdentificationCode>BE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>"
	"<cac:PartyLegalEntity><cbc:RegistrationName>Seller</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party>"
	"</cac:AccountingSupplierParty>"
	"<cac:AccountingCustomerParty><cac:Party><cbc:EndpointID schemeID=\"0009\">12345678900017</cbc:EndpointID>"
	"<cac:PostalAddress><cac:Country><cbc:IdentificationCode>FR</cbc:IdentificationCode></cac:Country></cac:PostalAddress>"
	"<cac:PartyLegalEntity><cbc:RegistrationName>Buyer</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party>"
	"</cac:AccountingCustomerParty>"
	"<cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID=\"EUR\">100.00</cbc:LineExtensionAmount>"
	"<cbc:TaxExclusiveAmount currencyID=\"EUR\">100.00</cbc:TaxExclusiveAmount>"
	"<cbc:TaxInclusiveAmount currencyID=\"EUR\">100.00</cbc:TaxInclusiveAmount>"
	"<cbc:PayableAmount currencyID=\"EUR\">100.00</cbc:PayableAmount></cac:LegalMonetaryTotal>"
	"</Invoice></sh:StandardBusinessDocument>\n";

static char dir[] = "/tmp/test_relay.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[4][512];
	static int next;
	char *p = path[next++ % 4];
	FILE *fp;

	snprintf(p, 512, "%s/%s", dir, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return p;
}

static struct rl_relay_table *load(const char *text, struct rl_err *err)
{
	return rl_relay_load(write_file("routes", text), err);
}

static void test_format(void **state)
{
	struct rl_relay_table *t;
	struct rl_err err;

	(void)state;
	t = rl_relay_load(NULL, &err);
	assert_non_null(t);
	rl_relay_free(t);
	t = load("# comment\n\n0009:* * cii inbox  # French SIRET\n" "0088:5798000000001 " INVOICE_DOCTYPE " ubl\n"
		 "* creditnote keep both\n", &err);
	assert_non_null(t);
	rl_relay_free(t);
	assert_null(load("0009:* * pdf\n", &err));
	assert_int_equal(err.code, RL_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "routes:1: syntax 'pdf'"));
	assert_null(load("\n0009:* * cii mail\n", &err));
	assert_non_null(strstr(err.msg, "routes:2: channel 'mail'"));
	assert_null(load("0009:* *\n", &err));
	assert_non_null(strstr(err.msg, "RECEIVER DOCTYPE SYNTAX"));
	assert_null(load("france * cii\n", &err));
	assert_non_null(strstr(err.msg, "receiver 'france'"));
	assert_null(load("* * cii inbox extra\n", &err));
	assert_null(rl_relay_load("/nonexistent/routes", &err));
	assert_int_equal(err.code, RL_ERR_CONFIG);
}

static void test_match(void **state)
{
	struct rl_doc_info inv = { 0 }, cn = { 0 };
	const struct rl_relay_route *r;
	struct rl_relay_table *t;
	struct rl_err err;

	(void)state;
	assert_int_equal(rl_doc_detect_file(write_file("sbd.xml", sbd_invoice), &inv, &err), 0);
	cn.syntax = RL_DOC_SYNTAX_UBL;
	cn.kind = RL_DOC_KIND_CREDITNOTE;
	t = load("0088:5798000000001 busdox-docid-qns::" INVOICE_DOCTYPE " keep\n"
		 "0009:* invoice cii inbox\n"
		 "iso6523-actorid-upis::0002:552100554 * cii webhook\n"
		 "* creditnote ubl\n", &err);
	assert_non_null(t);
	r = rl_relay_find(t, "0088:5798000000001", &inv);
	assert_non_null(r);
	assert_int_equal(r->syntax, RL_RELAY_KEEP);		/* the exact document type, scheme ignored */
	r = rl_relay_find(t, "iso6523-actorid-upis::0009:12345678900017", &inv);
	assert_non_null(r);
	assert_int_equal(r->line, 2);
	assert_int_equal(r->channels, RL_RELAY_INBOX);
	r = rl_relay_find(t, "0009:12345678900017", &cn);	/* a credit note: line 4 for anyone */
	assert_non_null(r);
	assert_int_equal(r->line, 4);
	r = rl_relay_find(t, "0002:552100554", &inv);		/* case and scheme prefix do not matter */
	assert_non_null(r);
	assert_int_equal(r->channels, RL_RELAY_WEBHOOK);
	assert_null(rl_relay_find(t, "0000:12345678900017", &inv));	/* "0009:*" is not a substring match */
	assert_null(rl_relay_find(t, "00091:2", &inv));
	assert_null(rl_relay_find(t, NULL, &inv));
	rl_relay_free(t);
	rl_doc_info_free(&inv);
}

static void test_plan_and_convert(void **state)
{
	enum rl_relay_syntax to = RL_RELAY_KEEP, from = RL_RELAY_KEEP;
	struct rl_relay_table *t;
	struct rl_doc_info out = { 0 };
	struct rl_err err;
	char out_path[600];
	const char *sbd;
	int channels;

	(void)state;
	sbd = write_file("sbd.xml", sbd_invoice);
	t = load("0009:* * cii\n0088:* * ubl\n", &err);
	assert_non_null(t);
	assert_int_equal(rl_relay_inbound_plan(t, "0009:12345678900017", sbd, &to, &from, &channels, &err), 1);
	assert_int_equal(to, RL_RELAY_CII);
	assert_int_equal(from, RL_RELAY_UBL);
	assert_int_equal(channels, RL_RELAY_INBOX | RL_RELAY_WEBHOOK);
	/* Already UBL, or no route: nothing to do. */
	assert_int_equal(rl_relay_inbound_plan(t, "0088:1", sbd, &to, &from, NULL, &err), 0);
	assert_int_equal(rl_relay_inbound_plan(t, "0002:1", sbd, &to, &from, NULL, &err), 0);
	/* The invoice inside the SBD is converted (its prefixes came from the envelope). */
	snprintf(out_path, sizeof(out_path), "%s/out.cii.xml", dir);
	assert_int_equal(rl_relay_convert(sbd, RL_RELAY_CII, out_path, NULL, &err), 0);
	assert_int_equal(rl_doc_detect_file(out_path, &out, &err), 0);
	assert_int_equal(out.syntax, RL_DOC_SYNTAX_CII);
	assert_int_equal(out.sbdh, 0);
	assert_string_equal(out.document_id, "R-1");
	assert_string_equal(out.buyer_endpoint, "12345678900017");
	rl_doc_info_free(&out);
	/* Not an invoice: refused, nothing written. */
	unlink(out_path);
	assert_int_equal(rl_relay_convert(write_file("other.xml", "<a/>"), RL_RELAY_CII, out_path, NULL, &err), -1);
	assert_int_equal(err.code, RL_EBMS_VALUE_NOT_RECOGNIZED);
	assert_int_not_equal(access(out_path, F_OK), 0);
	rl_relay_free(t);
}

static void test_outbound(void **state)
{
	struct rl_relay_table *t;
	struct rl_doc_info info = { 0 };
	struct rl_err err;
	char stem[600], *written = NULL;
	const char *sbd, *bare;

	(void)state;
	sbd = write_file("sbd.xml", sbd_invoice);
	t = load("0009:* * cii\n", &err);
	assert_non_null(t);
	snprintf(stem, sizeof(stem), "%s/out", dir);
	/* An SBD goes as it is. */
	assert_int_equal(rl_relay_outbound(t, sbd, stem, NULL, &written, NULL, &err), 0);
	assert_null(written);
	/* The bare invoice for a French buyer: CII, wrapped. */
	{
		const char *start = strstr(sbd_invoice, "<Invoice "), *end = strstr(sbd_invoice, "</sh:StandardBusinessDocument>");
		char *text;

		assert_true(asprintf(&text, "<?xml version=\"1.0\"?>\n<Invoice xmlns:cbc=\"" RL_NS_UBL_CBC "\" xmlns:cac=\""
				     RL_NS_UBL_CAC "\" %.*s", (int)(end - start - 9), start + 9) > 0);
		bare = write_file("bare.xml", text);
		free(text);
	}
	assert_int_equal(rl_relay_outbound(t, bare, stem, NULL, &written, NULL, &err), 1);
	assert_non_null(written);
	assert_non_null(strstr(written, "/out.cii.xml"));
	assert_int_equal(rl_doc_detect_file(written, &info, &err), 0);
	assert_int_equal(info.sbdh, 1);
	assert_int_equal(info.syntax, RL_DOC_SYNTAX_CII);
	rl_doc_info_free(&info);
	free(written);
	rl_relay_free(t);
	/* No route: UBL, which it is already - just wrapped. */
	t = load("", &err);
	assert_int_equal(rl_relay_outbound(t, bare, stem, NULL, &written, NULL, &err), 1);
	assert_int_equal(rl_doc_detect_file(written, &info, &err), 0);
	assert_int_equal(info.sbdh, 1);
	assert_int_equal(info.syntax, RL_DOC_SYNTAX_UBL);
	rl_doc_info_free(&info);
	free(written);
	rl_relay_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_plan_and_convert),
		cmocka_unit_test(test_outbound),
	};
	int rc;

	rl_xml_init();
	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			rc = rc ? rc : 1;
	}
	return rc;
}

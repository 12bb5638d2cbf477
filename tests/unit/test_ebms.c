/* test_ebms.c - the ebMS3 UserMessage model: build, parse, Peppol profile checks, a real phase4 header. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "relais/buf.h"
#include "relais/ebms.h"
#include "relais/xml.h"

static void fill_message(struct rl_user_message *um)
{
	memset(um, 0, sizeof(*um));
	um->message_id = strdup("5b0f6a2e-1c1d-4b8e-9a53-3c2f0e9d1a11@relais");
	um->timestamp = strdup("2026-11-23T10:00:00.000Z");
	um->from_party = strdup("POP000001");
	um->from_party_type = strdup(RL_EB_PARTY_TYPE_AP);
	um->to_party = strdup("POP000002");
	um->to_party_type = strdup(RL_EB_PARTY_TYPE_AP);
	um->service = strdup("urn:fdc:peppol.eu:2017:poacc:billing:01:1.0");
	um->service_type = strdup(RL_EB_PROCESS_SCHEME);
	um->action = strdup("busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice"
			    "##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1");
	um->conversation_id = strdup("conv-1");
	rl_user_message_set_property(um, "originalSender", RL_EB_PARTICIPANT_SCHEME, "0088:7315458756324");
	rl_user_message_set_property(um, "finalRecipient", RL_EB_PARTICIPANT_SCHEME, "0088:4562458856624");
	um->parts = calloc(1, sizeof(*um->parts));
	um->part_count = 1;
	um->parts[0].href = strdup("cid:payload-1@relais");
	um->parts[0].properties = calloc(2, sizeof(struct rl_eb_property));
	um->parts[0].properties[0].name = strdup("MimeType");
	um->parts[0].properties[0].value = strdup("application/xml");
	um->parts[0].properties[1].name = strdup("CompressionType");
	um->parts[0].properties[1].value = strdup("application/gzip");
	um->parts[0].property_count = 2;
}

/* Builds the message into an envelope, serialises it and parses it back. */
static xmlDocPtr round_trip(const struct rl_user_message *um, struct rl_user_message *back, struct rl_err *err)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0"), parsed;
	xmlNodePtr env = xmlNewNode(NULL, (const xmlChar *)"Envelope"), header;
	xmlNsPtr s12 = xmlNewNs(env, (const xmlChar *)RL_NS_SOAP12, (const xmlChar *)"S12");
	struct rl_buf text = RL_BUF_INIT;

	xmlSetNs(env, s12);
	xmlDocSetRootElement(doc, env);
	header = xmlNewChild(env, s12, (const xmlChar *)"Header", NULL);
	assert_non_null(rl_user_message_build(um, header, "messaging-1", err));
	assert_int_equal(rl_xml_dump(doc, env, &text), 0);
	xmlFreeDoc(doc);
	parsed = rl_xml_parse(text.data, text.len, RL_EBMS_INVALID_HEADER, "envelope", err);
	rl_buf_free(&text);
	assert_non_null(parsed);
	header = rl_xml_child(xmlDocGetRootElement(parsed), RL_NS_SOAP12, "Header");
	assert_int_equal(rl_user_message_parse(rl_xml_child(header, RL_NS_EB, "Messaging"), back, err), 0);
	return parsed;
}

static void test_round_trip(void **state)
{
	struct rl_user_message um, back;
	struct rl_err err;
	xmlDocPtr doc;
	const char *type;

	fill_message(&um);
	doc = round_trip(&um, &back, &err);
	assert_string_equal(back.message_id, um.message_id);
	assert_string_equal(back.from_party, "POP000001");
	assert_string_equal(back.to_role, RL_EB_ROLE_RESPONDER);
	assert_string_equal(back.agreement_ref, RL_EB_AGREEMENT);
	assert_string_equal(back.action, um.action);
	assert_string_equal(back.service_type, RL_EB_PROCESS_SCHEME);
	assert_string_equal(rl_user_message_property(&back, "finalRecipient", &type), "0088:4562458856624");
	assert_string_equal(type, RL_EB_PARTICIPANT_SCHEME);
	assert_int_equal(back.part_count, 1);
	assert_string_equal(back.parts[0].compression_type, "application/gzip");
	assert_string_equal(back.parts[0].mime_type, "application/xml");
	assert_int_equal(rl_user_message_check_peppol(&back, &err), 0);
	rl_user_message_free(&back);
	xmlFreeDoc(doc);
	rl_user_message_free(&um);
}

/* Each broken variant is refused by the Peppol check with its code and a message naming the field. */
static void test_peppol_rules(void **state)
{
	struct rl_user_message um, back;
	struct rl_err err;
	xmlDocPtr doc;

	fill_message(&um);
	free(um.properties[0].value);
	um.properties[0].value = strdup("");
	doc = round_trip(&um, &back, &err);
	assert_int_equal(rl_user_message_check_peppol(&back, &err), -1);
	assert_int_equal(err.code, RL_EBMS_OTHER);
	assert_non_null(strstr(err.msg, "originalSender"));
	rl_user_message_free(&back);
	xmlFreeDoc(doc);
	rl_user_message_free(&um);

	fill_message(&um);
	free(um.from_party);
	um.from_party = strdup("sender");
	doc = round_trip(&um, &back, &err);
	assert_int_equal(rl_user_message_check_peppol(&back, &err), -1);
	assert_non_null(strstr(err.msg, "seat id"));
	rl_user_message_free(&back);
	xmlFreeDoc(doc);
	rl_user_message_free(&um);

	fill_message(&um);
	um.ref_to_message_id = strdup("x@y");
	doc = round_trip(&um, &back, &err);
	assert_int_equal(rl_user_message_check_peppol(&back, &err), -1);
	assert_int_equal(err.code, RL_EBMS_VALUE_INCONSISTENT);
	rl_user_message_free(&back);
	xmlFreeDoc(doc);
	rl_user_message_free(&um);

	fill_message(&um);
	free(um.message_id);
	um.message_id = strdup("no-at-sign");
	doc = round_trip(&um, &back, &err);
	assert_int_equal(rl_user_message_check_peppol(&back, &err), -1);
	assert_int_equal(err.code, RL_EBMS_INVALID_HEADER);
	rl_user_message_free(&back);
	xmlFreeDoc(doc);
	rl_user_message_free(&um);
}

static void test_parse_refusals(void **state)
{
	static const char two_users[] =
		"<eb:Messaging xmlns:eb='" RL_NS_EB "'><eb:UserMessage/><eb:UserMessage/></eb:Messaging>";
	static const char no_action[] =
		"<eb:Messaging xmlns:eb='" RL_NS_EB "'><eb:UserMessage><eb:MessageInfo><eb:Timestamp>t"
		"</eb:Timestamp><eb:MessageId>a@b</eb:MessageId></eb:MessageInfo><eb:PartyInfo><eb:From>"
		"<eb:PartyId>POP000001</eb:PartyId><eb:Role>r</eb:Role></eb:From><eb:To><eb:PartyId>POP000002"
		"</eb:PartyId><eb:Role>r</eb:Role></eb:To></eb:PartyInfo><eb:CollaborationInfo><eb:Service>s"
		"</eb:Service><eb:ConversationId>c</eb:ConversationId></eb:CollaborationInfo></eb:UserMessage>"
		"</eb:Messaging>";
	struct rl_user_message um;
	struct rl_err err;
	xmlDocPtr doc;

	doc = rl_xml_parse(two_users, sizeof(two_users) - 1, RL_EBMS_INVALID_HEADER, "t", &err);
	assert_int_equal(rl_user_message_parse(xmlDocGetRootElement(doc), &um, &err), -1);
	assert_int_equal(err.code, RL_EBMS_INVALID_HEADER);
	rl_user_message_free(&um);
	xmlFreeDoc(doc);
	doc = rl_xml_parse(no_action, sizeof(no_action) - 1, RL_EBMS_INVALID_HEADER, "t", &err);
	assert_int_equal(rl_user_message_parse(xmlDocGetRootElement(doc), &um, &err), -1);
	assert_int_equal(err.code, RL_EBMS_INVALID_HEADER);
	assert_non_null(strstr(err.msg, "eb:Action is missing"));
	rl_user_message_free(&um);
	xmlFreeDoc(doc);
}

/* The header of a real phase4 Peppol message (interop-corpus/as4/phase4/outbound/dump-raw.as4out). */
static void test_phase4_header(void **state)
{
	const char *shared = getenv("RELAIS_SHARED_DIR");
	struct rl_buf file = RL_BUF_INIT;
	struct rl_user_message um;
	struct rl_err err;
	char path[4096];
	char *start, *end;
	xmlDocPtr doc;
	xmlNodePtr header;
	const char *type;

	if (shared == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/interop-corpus/as4/phase4/outbound/dump-raw.as4out", shared);
	if (rl_buf_read_file(&file, path, 64 << 20) < 0)
		skip();
	start = strstr(file.data, "<S12:Envelope");
	end = strstr(file.data, "</S12:Envelope>");
	assert_non_null(start);
	assert_non_null(end);
	end += strlen("</S12:Envelope>");
	doc = rl_xml_parse(start, (size_t)(end - start), RL_EBMS_INVALID_HEADER, "phase4 envelope", &err);
	assert_non_null(doc);
	header = rl_xml_child(xmlDocGetRootElement(doc), RL_NS_SOAP12, "Header");
	assert_int_equal(rl_user_message_parse(rl_xml_child(header, RL_NS_EB, "Messaging"), &um, &err), 0);
	assert_string_equal(um.message_id, "17a7c374-efe3-41e2-ac0d-8a8f47529e47@phase4");
	assert_string_equal(um.from_party, "POP000306");
	assert_string_equal(um.service, "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0");
	assert_string_equal(rl_user_message_property(&um, "originalSender", &type), "9915:phase4-test-sender");
	assert_string_equal(type, "iso6523-actorid-upis");
	assert_int_equal(um.part_count, 1);
	assert_string_equal(um.parts[0].href, "cid:phase4-att-ff0f8ad5-f982-48ba-b8e2-26997600f496@cid");
	assert_string_equal(um.parts[0].compression_type, "application/gzip");
	assert_int_equal(rl_user_message_check_peppol(&um, &err), 0);
	rl_user_message_free(&um);
	xmlFreeDoc(doc);
	rl_buf_free(&file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_peppol_rules),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_phase4_header),
	};
	rl_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

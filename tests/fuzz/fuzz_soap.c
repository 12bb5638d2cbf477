/*
 * fuzz_soap.c - libFuzzer target for the SOAP/ebMS/WS-Security reader: the safe XML parser, the
 * eb:Messaging parser and Peppol checks, and signature verification of whatever wsse:Security holds.
 * Build: ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_soap
 * Seeds: the SOAP parts and receipts of ../shared/interop-corpus/as4.
 */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "relais/ebms.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rl_err err;
	struct rl_user_message um;
	struct rl_wss_verify_opts opts;
	struct rl_wss_verified v;
	xmlDocPtr doc;
	xmlNodePtr env, header;

	rl_xml_init();
	doc = rl_xml_parse((const char *)data, size, RL_EBMS_INVALID_HEADER, "fuzz", &err);
	if (doc == NULL)
		return 0;
	env = xmlDocGetRootElement(doc);
	header = rl_xml_child(env, RL_NS_SOAP12, "Header");
	if (header == NULL)
		header = rl_xml_child(env, RL_NS_SOAP11, "Header");
	if (rl_user_message_parse(rl_xml_child(header, RL_NS_EB, "Messaging"), &um, &err) == 0)
		rl_user_message_check_peppol(&um, &err);
	rl_user_message_free(&um);
	memset(&opts, 0, sizeof(opts));
	opts.allow_non_peppol_algorithms = 1;
	opts.report_missing_attachments = 1;
	if (rl_wss_verify(rl_xml_child(header, RL_NS_WSSE, "Security"), &opts, &v, &err) == 0)
		rl_wss_verified_free(&v);
	xmlFreeDoc(doc);
	return 0;
}

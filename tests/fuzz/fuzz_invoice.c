/* fuzz_invoice.c - libFuzzer target: feeds arbitrary bytes through the safe XML parser, the invoice
 * readers (UBL or CII, whichever the root names) and both writers, to check they never crash or leak. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include "relais/en16931.h"
#include "relais/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rl_sink null_sink = { rl_sink_null_write, NULL };
	struct rl_buf report = RL_BUF_INIT;
	struct rl_en_node *m;
	enum rl_syntax syntax;
	struct rl_err err;
	xmlDocPtr doc;

	doc = rl_xml_parse((const char *)data, size, RL_EBMS_OTHER, "fuzz", &err);
	if (doc == NULL)
		return 0;
	if (rl_en_detect(doc, &syntax, &err) == 0) {
		m = syntax == RL_SYNTAX_UBL ? rl_ubl_read(doc, &err) : rl_cii_read(doc, &err);
		if (m) {
			rl_en_report_unread(doc, &report);
			(void)rl_ubl_write(m, &null_sink, &report, &err);
			(void)rl_cii_write(m, &null_sink, &report, &err);
			rl_en_free(m);
		}
	}
	xmlFreeDoc(doc);
	rl_buf_free(&report);
	return 0;
}

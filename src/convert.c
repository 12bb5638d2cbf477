/*
 * convert.c - invoice conversion: recognises the input (UBL, CII, Factur-X PDF), reads it into the
 * EN 16931 model and writes the target syntax atomically. See include/relais/convert.h.
 */
#include "config.h"
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/convert.h"
#include "relais/en16931.h"
#include "relais/stream.h"
#include "relais/xml.h"

#define NS_ZUGFERD1 "urn:ferd:CrossIndustryDocument:invoice:1p0"

int rl_en_detect(xmlDocPtr doc, enum rl_syntax *syntax, struct rl_err *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);

	if (rl_xml_is(root, RL_NS_UBL_INVOICE, "Invoice") || rl_xml_is(root, RL_NS_UBL_CREDITNOTE, "CreditNote")) {
		*syntax = RL_SYNTAX_UBL;
		return 0;
	}
	if (rl_xml_is(root, RL_NS_RSM, "CrossIndustryInvoice")) {
		*syntax = RL_SYNTAX_CII;
		return 0;
	}
	if (rl_xml_is(root, NS_ZUGFERD1, "CrossIndustryDocument"))
		return rl_err_set(err, RL_EBMS_VALUE_NOT_RECOGNIZED,
				  "a ZUGFeRD 1.0 CrossIndustryDocument: only EN 16931 invoices (UBL 2.1, CII D16B, "
				  "Factur-X/ZUGFeRD 2) are converted");
	return rl_err_set(err, RL_EBMS_VALUE_NOT_RECOGNIZED,
			  "not an invoice: the root element {%s}%s is neither a UBL 2.1 Invoice/CreditNote nor a "
			  "CII D16B CrossIndustryInvoice",
			  root && root->ns ? (const char *)root->ns->href : "",
			  root ? (const char *)root->name : "(none)");
}

static struct rl_en_node *read_doc(xmlDocPtr doc, enum rl_syntax *syntax, struct rl_buf *report,
				   struct rl_err *err)
{
	struct rl_en_node *m;
	enum rl_syntax s;

	if (rl_en_detect(doc, &s, err) < 0)
		return NULL;
	if (syntax)
		*syntax = s;
	m = s == RL_SYNTAX_UBL ? rl_ubl_read(doc, err) : rl_cii_read(doc, err);
	if (m && report)
		rl_en_report_unread(doc, report);
	return m;
}

struct rl_en_node *rl_en_read_file(const char *path, enum rl_syntax *syntax, struct rl_err *err)
{
	xmlDocPtr doc = rl_xml_parse_file(path, RL_CONVERT_MAX_XML, RL_EBMS_OTHER, "invoice", err);
	struct rl_en_node *m;

	if (doc == NULL)
		return NULL;
	m = read_doc(doc, syntax, NULL, err);
	xmlFreeDoc(doc);
	return m;
}

/* The model of the CII inside a Factur-X PDF, with the PDF added as a supporting document. */
static struct rl_en_node *read_pdf(const char *path, enum rl_syntax *syntax, struct rl_buf *report,
				   struct rl_err *err)
{
	struct rl_buf xml = RL_BUF_INIT;
	struct rl_en_node *m = NULL, *g, *bin;
	char *name = NULL, *copy = NULL;
	xmlDocPtr doc;

	if (rl_facturx_extract(path, &xml, &name, err) < 0)
		goto out;
	doc = rl_xml_parse(xml.data, xml.len, RL_EBMS_OTHER, name, err);
	if (doc == NULL) {
		rl_err_prefix(err, "%s", path);
		goto out;
	}
	m = read_doc(doc, syntax, report, err);
	xmlFreeDoc(doc);
	if (m == NULL) {
		rl_err_prefix(err, "%s (embedded %s)", path, name);
		goto out;
	}
	copy = strdup(path);
	rl_en_add_reset();
	g = rl_en_add_group(m, "BG-24");
	rl_en_add(g, "BT-122", copy ? basename(copy) : "invoice.pdf");
	rl_en_add(g, "BT-123", "Factur-X/ZUGFeRD PDF the invoice was converted from");
	bin = rl_en_add_group(g, "BT-125");
	if (bin) {
		bin->stream_path = strdup(path);
		rl_en_add(bin, "BT-125-1", "application/pdf");
		rl_en_add(bin, "BT-125-2", copy ? basename(copy) : "invoice.pdf");
	}
	if (rl_en_add_failed() || bin == NULL || bin->stream_path == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		rl_en_free(m);
		m = NULL;
	}
out:
	free(copy);
	free(name);
	rl_buf_free(&xml);
	return m;
}

struct rl_en_node *rl_convert_read(const char *in_path, enum rl_syntax *syntax, struct rl_buf *report,
				   struct rl_err *err)
{
	xmlDocPtr doc;
	struct rl_en_node *m;

	if (rl_is_pdf(in_path))
		return read_pdf(in_path, syntax, report, err);
	doc = rl_xml_parse_file(in_path, RL_CONVERT_MAX_XML, RL_EBMS_OTHER, "invoice", err);
	if (doc == NULL)
		return NULL;
	m = read_doc(doc, syntax, report, err);
	xmlFreeDoc(doc);
	return m;
}

int rl_convert_file(const char *in_path, enum rl_syntax to, const char *out_path, struct rl_buf *report,
		    struct rl_err *err)
{
	struct rl_outfile of = { 0 };
	struct rl_en_node *m;
	struct rl_sink sink;
	int to_stdout = out_path == NULL || strcmp(out_path, "-") == 0, rc;

	m = rl_convert_read(in_path, NULL, report, err);
	if (m == NULL)
		return -1;
	if (to_stdout) {
		sink.write = rl_sink_file_write;
		sink.ctx = stdout;
	} else {
		if (rl_outfile_open(&of, out_path, err) < 0) {
			rl_en_free(m);
			return -1;
		}
		sink.write = rl_sink_file_write;
		sink.ctx = of.fp;
	}
	rc = to == RL_SYNTAX_UBL ? rl_ubl_write(m, &sink, report, err) : rl_cii_write(m, &sink, report, err);
	rl_en_free(m);
	if (to_stdout) {
		if (rc == 0 && fflush(stdout) != 0)
			rc = rl_err_set(err, RL_ERR_IO, "writing to standard output failed");
		return rc;
	}
	if (rc < 0) {
		rl_outfile_abort(&of);
		return -1;
	}
	return rl_outfile_commit(&of, err);
}

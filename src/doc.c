/*
 * doc.c - detecting what a business document is. See include/relais/doc.h.
 *
 * One table maps the paths (local names below the business root, namespaces aside) of the values that
 * identify a document to fields of struct rl_doc_info. The file walker runs it over xmlTextReader so
 * memory stays constant: UBL reading stops at the first line, CII line items are skipped. The DOM
 * walker runs the same table over a parsed document.
 */
#include "config.h"
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/xmlreader.h>
#include "relais/doc.h"
#include "relais/peppol_id.h"
#include "relais/xml.h"

#define DOC_MAX_DEPTH 256
#define PATH_MAX_CHARS 512

struct field {
	int syntax;
	const char *path;	/* local names below the business root, '/'-separated */
	const char *attr;	/* NULL: the element's text; else this attribute */
	size_t offset;		/* of the char * in struct rl_doc_info */
};

#define F(s, p, a, m) { RL_DOC_SYNTAX_##s, p, a, offsetof(struct rl_doc_info, m) }
#define UBL_SELLER "AccountingSupplierParty/Party/"
#define UBL_BUYER "AccountingCustomerParty/Party/"
#define CII_AGREEMENT "SupplyChainTradeTransaction/ApplicableHeaderTradeAgreement/"
static const struct field fields[] = {
	F(UBL, "UBLVersionID", NULL, syntax_version),
	F(UBL, "CustomizationID", NULL, customization),
	F(UBL, "ProfileID", NULL, profile),
	F(UBL, "ID", NULL, document_id),
	F(UBL, "IssueDate", NULL, issue_date),
	F(UBL, "InvoiceTypeCode", NULL, type_code),
	F(UBL, "CreditNoteTypeCode", NULL, type_code),
	F(UBL, "DocumentCurrencyCode", NULL, currency),
	F(UBL, UBL_SELLER "EndpointID", NULL, seller_endpoint),
	F(UBL, UBL_SELLER "EndpointID", "schemeID", seller_endpoint_scheme),
	F(UBL, UBL_SELLER "PostalAddress/Country/IdentificationCode", NULL, seller_country),
	F(UBL, UBL_SELLER "PartyLegalEntity/RegistrationName", NULL, seller_name),
	F(UBL, UBL_BUYER "EndpointID", NULL, buyer_endpoint),
	F(UBL, UBL_BUYER "EndpointID", "schemeID", buyer_endpoint_scheme),
	F(UBL, UBL_BUYER "PostalAddress/Country/IdentificationCode", NULL, buyer_country),
	F(CII, "ExchangedDocumentContext/GuidelineSpecifiedDocumentContextParameter/ID", NULL, customization),
	F(CII, "ExchangedDocumentContext/BusinessProcessSpecifiedDocumentContextParameter/ID", NULL, profile),
	F(CII, "ExchangedDocument/ID", NULL, document_id),
	F(CII, "ExchangedDocument/TypeCode", NULL, type_code),
	F(CII, "ExchangedDocument/IssueDateTime/DateTimeString", NULL, issue_date),
	F(CII, CII_AGREEMENT "SellerTradeParty/Name", NULL, seller_name),
	F(CII, CII_AGREEMENT "SellerTradeParty/URIUniversalCommunication/URIID", NULL, seller_endpoint),
	F(CII, CII_AGREEMENT "SellerTradeParty/URIUniversalCommunication/URIID", "schemeID", seller_endpoint_scheme),
	F(CII, CII_AGREEMENT "SellerTradeParty/PostalTradeAddress/CountryID", NULL, seller_country),
	F(CII, CII_AGREEMENT "BuyerTradeParty/URIUniversalCommunication/URIID", NULL, buyer_endpoint),
	F(CII, CII_AGREEMENT "BuyerTradeParty/URIUniversalCommunication/URIID", "schemeID", buyer_endpoint_scheme),
	F(CII, CII_AGREEMENT "BuyerTradeParty/PostalTradeAddress/CountryID", NULL, buyer_country),
	F(CII, "SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/InvoiceCurrencyCode", NULL, currency),
};
#undef F

static char **slot(struct rl_doc_info *info, const struct field *f)
{
	return (char **)((char *)info + f->offset);
}

void rl_doc_info_free(struct rl_doc_info *info)
{
	if (info == NULL)
		return;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char **s = slot(info, &fields[i]);

		free(*s);
		*s = NULL;
	}
	free(info->root_ns);
	free(info->root_name);
	memset(info, 0, sizeof(*info));
}

const char *rl_doc_syntax_name(int syntax)
{
	switch (syntax) {
	case RL_DOC_SYNTAX_UBL: return "UBL";
	case RL_DOC_SYNTAX_CII: return "CII";
	case RL_DOC_SYNTAX_PDF: return "PDF";
	default: return "unknown";
	}
}

const char *rl_doc_kind_name(int kind)
{
	switch (kind) {
	case RL_DOC_KIND_INVOICE: return "Invoice";
	case RL_DOC_KIND_CREDITNOTE: return "CreditNote";
	default: return "unknown";
	}
}

static int nomem(struct rl_err *err)
{
	return rl_err_set(err, RL_ERR_NOMEM, "out of memory detecting the document");
}

/* Sets syntax and kind from the business root element. */
static int set_root(struct rl_doc_info *info, const char *ns, const char *name, struct rl_err *err)
{
	info->root_ns = strdup(ns ? ns : "");
	info->root_name = strdup(name);
	if (info->root_ns == NULL || info->root_name == NULL)
		return nomem(err);
	if (ns && strcmp(ns, RL_NS_UBL_INVOICE) == 0 && strcmp(name, "Invoice") == 0) {
		info->syntax = RL_DOC_SYNTAX_UBL;
		info->kind = RL_DOC_KIND_INVOICE;
	} else if (ns && strcmp(ns, RL_NS_UBL_CREDITNOTE) == 0 && strcmp(name, "CreditNote") == 0) {
		info->syntax = RL_DOC_SYNTAX_UBL;
		info->kind = RL_DOC_KIND_CREDITNOTE;
	} else if (ns && strcmp(ns, RL_NS_CII_RSM) == 0 && strcmp(name, "CrossIndustryInvoice") == 0) {
		info->syntax = RL_DOC_SYNTAX_CII;
		info->kind = RL_DOC_KIND_INVOICE;	/* refined by TypeCode in finish() */
	}
	return 0;
}

static const struct field *match_field(int syntax, const char *path, size_t from)
{
	for (size_t i = from; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].syntax == syntax && strcmp(fields[i].path, path) == 0)
			return &fields[i];
	return NULL;
}

static int is_cii_credit_code(const char *code)
{
	static const char *const codes[] = { "381", "396", "81", "83", "532" };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

/* Normalises what the table read: CII kind from TypeCode, CII date YYYYMMDD -> YYYY-MM-DD, versions. */
static int finish(struct rl_doc_info *info, struct rl_err *err)
{
	if (info->syntax == RL_DOC_SYNTAX_CII) {
		if (info->type_code && is_cii_credit_code(info->type_code))
			info->kind = RL_DOC_KIND_CREDITNOTE;
		if (info->issue_date && strlen(info->issue_date) == 8 &&
		    strspn(info->issue_date, "0123456789") == 8) {
			char *d = malloc(11);

			if (d == NULL)
				return nomem(err);
			snprintf(d, 11, "%.4s-%.2s-%.2s", info->issue_date, info->issue_date + 4,
				 info->issue_date + 6);
			free(info->issue_date);
			info->issue_date = d;
		}
		free(info->syntax_version);
		info->syntax_version = strdup("D16B");
	} else if (info->syntax == RL_DOC_SYNTAX_UBL && info->syntax_version == NULL) {
		info->syntax_version = strdup("2.1");
	} else {
		return 0;
	}
	if (info->syntax_version == NULL)
		return nomem(err);
	return 0;
}

static char *trimmed(const char *s)
{
	const char *end;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	return strndup(s, (size_t)(end - s));
}

/* ---- DOM ---- */

xmlNodePtr rl_doc_business_root(xmlDocPtr doc)
{
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	xmlNodePtr c;

	if (!rl_xml_is(root, RL_NS_SBDH, "StandardBusinessDocument"))
		return root;
	for (c = root->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !rl_xml_is(c, RL_NS_SBDH, "StandardBusinessDocumentHeader"))
			return c;
	return NULL;
}

static int dom_walk(struct rl_doc_info *info, xmlNodePtr parent, char *path, size_t len, int depth,
		    struct rl_err *err)
{
	for (xmlNodePtr c = parent->children; c; c = c->next) {
		const struct field *f;
		size_t n;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (depth == 0 && (strcmp((const char *)c->name, "InvoiceLine") == 0 ||
				   strcmp((const char *)c->name, "CreditNoteLine") == 0))
			break;
		if (depth == 1 && strcmp((const char *)c->name, "IncludedSupplyChainTradeLineItem") == 0)
			continue;
		n = (size_t)snprintf(path + len, PATH_MAX_CHARS - len, "%s%s", len ? "/" : "",
				     (const char *)c->name);
		if (len + n >= PATH_MAX_CHARS || depth >= 8)
			continue;
		for (f = match_field(info->syntax, path, 0); f; f = match_field(info->syntax, path,
										   (size_t)(f - fields) + 1)) {
			char **s = slot(info, f);

			if (*s)
				continue;
			*s = f->attr ? rl_xml_attr(c, NULL, f->attr) : rl_xml_text(c);
			if (*s == NULL && !f->attr)
				return nomem(err);
		}
		if (dom_walk(info, c, path, len + n, depth + 1, err) < 0)
			return -1;
		path[len] = '\0';
	}
	return 0;
}

int rl_doc_detect_doc(xmlDocPtr doc, struct rl_doc_info *info, struct rl_err *err)
{
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	xmlNodePtr business = rl_doc_business_root(doc);
	char path[PATH_MAX_CHARS] = "";

	memset(info, 0, sizeof(*info));
	if (root == NULL)
		return rl_err_set(err, RL_EBMS_OTHER, "document has no root element");
	info->sbdh = rl_xml_is(root, RL_NS_SBDH, "StandardBusinessDocument");
	if (business == NULL) {
		rl_err_set(err, RL_EBMS_OTHER, "SBDH: no business document follows the header");
		return -1;
	}
	if (set_root(info, business->ns ? (const char *)business->ns->href : NULL,
		     (const char *)business->name, err) < 0 ||
	    (info->syntax != RL_DOC_SYNTAX_UNKNOWN && dom_walk(info, business, path, 0, 0, err) < 0) ||
	    finish(info, err) < 0) {
		rl_doc_info_free(info);
		return -1;
	}
	return 0;
}

/* ---- streaming ---- */

struct walker {
	xmlTextReaderPtr reader;
	struct rl_doc_info *info;
	char *names[DOC_MAX_DEPTH + 1];
	int business_depth;	/* -1 until the business root is seen */
};

static void walker_free(struct walker *w)
{
	for (int i = 0; i <= DOC_MAX_DEPTH; i++)
		free(w->names[i]);
	if (w->reader)
		xmlFreeTextReader(w->reader);
}

/* Reads one field value at the reader's current element. */
static int stream_take(struct walker *w, const struct field *f, struct rl_err *err)
{
	char **s = slot(w->info, f);
	xmlChar *v;

	if (*s)
		return 0;
	if (f->attr) {
		v = xmlTextReaderGetAttribute(w->reader, (const xmlChar *)f->attr);
		if (v == NULL)
			return 0;
	} else {
		v = xmlTextReaderReadString(w->reader);
		if (v == NULL)
			v = xmlStrdup((const xmlChar *)"");
		if (v == NULL)
			return nomem(err);
	}
	*s = trimmed((const char *)v);
	xmlFree(v);
	return *s ? 0 : nomem(err);
}

/* The element the reader stands on: root detection, then the field table. Returns 1 to go on reading,
 * 2 to skip this element's subtree, 0 when detection is complete, -1 on error. */
static int stream_element(struct walker *w, int depth, struct rl_err *err)
{
	const char *ns = (const char *)xmlTextReaderConstNamespaceUri(w->reader);
	const char *name = (const char *)xmlTextReaderConstLocalName(w->reader);
	char path[PATH_MAX_CHARS];
	size_t len = 0;
	const struct field *f;

	free(w->names[depth]);
	w->names[depth] = strdup(name);
	if (w->names[depth] == NULL)
		return nomem(err);
	if (w->business_depth < 0) {
		if (depth == 0 && ns && strcmp(ns, RL_NS_SBDH) == 0 && strcmp(name, "StandardBusinessDocument") == 0) {
			w->info->sbdh = 1;
			return 1;
		}
		if (w->info->sbdh && depth == 1 && ns && strcmp(ns, RL_NS_SBDH) == 0 &&
		    strcmp(name, "StandardBusinessDocumentHeader") == 0)
			return 2;
		w->business_depth = depth;
		if (set_root(w->info, ns, name, err) < 0)
			return -1;
		return w->info->syntax == RL_DOC_SYNTAX_UNKNOWN ? 0 : 1;
	}
	if (depth <= w->business_depth)
		return 0;	/* past the business document */
	if (depth == w->business_depth + 1 &&
	    (strcmp(name, "InvoiceLine") == 0 || strcmp(name, "CreditNoteLine") == 0))
		return 0;	/* UBL: everything detection needs comes before the lines */
	if (depth == w->business_depth + 2 && strcmp(name, "IncludedSupplyChainTradeLineItem") == 0)
		return 2;
	if (depth - w->business_depth > 8)
		return 1;
	for (int d = w->business_depth + 1; d <= depth; d++) {
		int n = snprintf(path + len, sizeof(path) - len, "%s%s", len ? "/" : "", w->names[d]);

		if (n < 0 || (size_t)n >= sizeof(path) - len)
			return 1;
		len += (size_t)n;
	}
	for (f = match_field(w->info->syntax, path, 0); f;
	     f = match_field(w->info->syntax, path, (size_t)(f - fields) + 1))
		if (stream_take(w, f, err) < 0)
			return -1;
	return 1;
}

static int stream_detect(struct walker *w, struct rl_err *err)
{
	int skip = 0;

	for (;;) {
		int rc = skip ? xmlTextReaderNext(w->reader) : xmlTextReaderRead(w->reader);
		int type, depth;

		skip = 0;
		if (rc < 0)
			return rl_err_set(err, RL_EBMS_OTHER, "document is not well-formed XML (line %d)",
					  xmlTextReaderGetParserLineNumber(w->reader));
		if (rc == 0)
			break;
		type = xmlTextReaderNodeType(w->reader);
		depth = xmlTextReaderDepth(w->reader);
		if (type == XML_READER_TYPE_DOCUMENT_TYPE)
			return rl_err_set(err, RL_EBMS_OTHER,
					  "document: a DOCTYPE is not allowed (no DTDs or entities are accepted)");
		if (type == XML_READER_TYPE_ENTITY_REFERENCE || type == XML_READER_TYPE_ENTITY)
			return rl_err_set(err, RL_EBMS_OTHER, "document: entity references are not allowed");
		if (depth > DOC_MAX_DEPTH)
			return rl_err_set(err, RL_EBMS_OTHER, "document: elements nested deeper than %d levels",
					  DOC_MAX_DEPTH);
		if (type != XML_READER_TYPE_ELEMENT)
			continue;
		rc = stream_element(w, depth, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		skip = rc == 2;
	}
	if (w->info->root_name == NULL)
		return rl_err_set(err, RL_EBMS_OTHER, w->info->sbdh ? "SBDH: no business document follows the header"
							   : "document has no root element");
	return 0;
}

/* 1 when the file starts with the PDF signature, 0 when not, -1 on a read error. */
static int starts_as_pdf(FILE *f)
{
	char head[5];
	size_t n = fread(head, 1, sizeof(head), f);

	if (n < sizeof(head) && ferror(f))
		return -1;
	return n == sizeof(head) && memcmp(head, "%PDF-", 5) == 0;
}

int rl_doc_detect_file(const char *path, struct rl_doc_info *info, struct rl_err *err)
{
	struct walker w = { .business_depth = -1, .info = info };
	FILE *f;
	int pdf, rc;

	memset(info, 0, sizeof(*info));
	f = fopen(path, "rb");
	if (f == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	pdf = starts_as_pdf(f);
	fclose(f);
	if (pdf < 0)
		return rl_err_set(err, RL_ERR_IO, "cannot read %s", path);
	if (pdf) {
		info->syntax = RL_DOC_SYNTAX_PDF;
		return 0;
	}
	rl_xml_init();
	w.reader = xmlReaderForFile(path, NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (w.reader == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot read %s as XML", path);
	rc = stream_detect(&w, err);
	if (rc == 0)
		rc = finish(info, err);
	walker_free(&w);
	if (rc < 0)
		rl_doc_info_free(info);
	return rc;
}

/* ---- identifiers ---- */

int rl_doc_doctype_value(const struct rl_doc_info *info, struct rl_buf *out, struct rl_err *err)
{
	if (info->syntax != RL_DOC_SYNTAX_UBL && info->syntax != RL_DOC_SYNTAX_CII)
		return rl_err_set(err, RL_EBMS_OTHER, "not a UBL or CII business document: no document type");
	if (info->customization == NULL || *info->customization == '\0')
		return rl_err_set(err, RL_EBMS_OTHER,
				  "the document has no customization (BT-24) to build its document type from");
	if (rl_buf_printf(out, "%s::%s##%s::%s", info->root_ns, info->root_name, info->customization,
			  info->syntax_version) < 0)
		return nomem(err);
	return 0;
}

int rl_doc_process_value(const struct rl_doc_info *info, struct rl_buf *out, struct rl_err *err)
{
	if (info->profile == NULL || *info->profile == '\0')
		return rl_err_set(err, RL_EBMS_OTHER, "the document has no profile (BT-23) to name its process");
	if (rl_buf_puts(out, info->profile) < 0)
		return nomem(err);
	return 0;
}

int rl_doc_participant(const char *endpoint, const char *scheme, struct rl_buf *out, struct rl_err *err)
{
	struct rl_peppol_id id;
	struct rl_buf value = RL_BUF_INIT;
	struct rl_err id_err;
	int rc;

	if (endpoint == NULL || *endpoint == '\0')
		return rl_err_set(err, RL_EBMS_OTHER, "the document has no endpoint identifier");
	if (scheme == NULL || *scheme == '\0')
		return rl_err_set(err, RL_EBMS_OTHER, "endpoint \"%.100s\" has no schemeID", endpoint);
	if (rl_buf_printf(&value, "%s:%s", scheme, endpoint) < 0)
		return nomem(err);
	rc = rl_peppol_id_make(&id, RL_ID_PARTICIPANT, NULL, value.data, &id_err);
	if (rc < 0)
		rl_err_set(err, RL_EBMS_OTHER, "endpoint %.150s: %s", value.data, id_err.msg);
	else if (rl_buf_puts(out, value.data) < 0)
		rc = nomem(err);
	rl_buf_free(&value);
	return rc;
}

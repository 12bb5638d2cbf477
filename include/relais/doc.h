/*
 * doc.h - what a business document is: syntax (UBL, CII, PDF), kind (invoice or credit note), whether
 * it is wrapped in a Peppol SBDH, the customization and profile it claims, and the few business values
 * that route it (endpoint ids, seller country, document id, issue date).
 *
 * rl_doc_detect_file() streams the file (xmlTextReader, constant memory whatever its size) and refuses
 * what no parser should accept (a DOCTYPE, entities, deep nesting, text that is not XML). A PDF is
 * recognised by its "%PDF" signature and reported as such; the XML inside a Factur-X PDF is not read here.
 * rl_doc_detect_doc() does the same on a document already parsed.
 *
 * Strings in struct rl_doc_info are malloc'd, NULL when the document does not carry the value, and
 * owned by the struct: rl_doc_info_free() releases them.
 */
#ifndef RELAIS_DOC_H
#define RELAIS_DOC_H

#include <libxml/tree.h>
#include "relais/buf.h"
#include "relais/err.h"

#define RL_NS_UBL_INVOICE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
#define RL_NS_UBL_CREDITNOTE "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
#define RL_NS_UBL_CAC "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
#define RL_NS_UBL_CBC "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
#define RL_NS_CII_RSM "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
#define RL_NS_CII_RAM "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
#define RL_NS_CII_UDT "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
#define RL_NS_CII_QDT "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"

/* Peppol BIS Billing 3.0 customization and process. */
#define RL_PEPPOL_BIS3_CUSTOMIZATION "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
#define RL_PEPPOL_BIS3_PROCESS "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

enum rl_doc_syntax {
	RL_DOC_SYNTAX_UNKNOWN = 0,	/* XML, but not a business document relais knows */
	RL_DOC_SYNTAX_UBL,		/* OASIS UBL 2.1 Invoice or CreditNote */
	RL_DOC_SYNTAX_CII,		/* UN/CEFACT CrossIndustryInvoice D16B */
	RL_DOC_SYNTAX_PDF		/* a PDF (maybe Factur-X/ZUGFeRD); its XML is not read here */
};

enum rl_doc_kind {
	RL_DOC_KIND_UNKNOWN = 0,
	RL_DOC_KIND_INVOICE,
	RL_DOC_KIND_CREDITNOTE		/* UBL CreditNote, or CII TypeCode 381/396/81/83/532 */
};

struct rl_doc_info {
	int syntax;		/* enum rl_doc_syntax */
	int kind;		/* enum rl_doc_kind */
	int sbdh;		/* 1 when the document is wrapped in a StandardBusinessDocument */
	char *root_ns;		/* namespace of the business document's root element */
	char *root_name;	/* its local name: Invoice, CreditNote, CrossIndustryInvoice */
	char *syntax_version;	/* "2.1" for UBL (cbc:UBLVersionID or default), "D16B" for CII */
	char *customization;	/* BT-24: cbc:CustomizationID / GuidelineSpecifiedDocumentContextParameter */
	char *profile;		/* BT-23: cbc:ProfileID / BusinessProcessSpecifiedDocumentContextParameter */
	char *document_id;	/* BT-1 */
	char *issue_date;	/* BT-2, always YYYY-MM-DD (CII format 102 is converted) */
	char *type_code;	/* BT-3, UNCL1001 */
	char *currency;		/* BT-5 */
	char *seller_name;	/* BT-27 */
	char *seller_country;	/* BT-40, ISO 3166 alpha-2 */
	char *buyer_country;	/* BT-55 */
	char *seller_endpoint;	/* BT-34 value */
	char *seller_endpoint_scheme;	/* BT-34 schemeID (EAS code, e.g. "0088") */
	char *buyer_endpoint;	/* BT-49 value */
	char *buyer_endpoint_scheme;	/* BT-49 schemeID */
};

void rl_doc_info_free(struct rl_doc_info *info);

/* Detects the file at path. Returns 0 with info filled (syntax may be RL_DOC_SYNTAX_UNKNOWN for XML
 * relais does not know), or -1: RL_ERR_IO when it cannot be read, RL_EBMS_OTHER (EBMS:0004) when it is
 * neither a PDF nor safe, well-formed XML, or when an SBD holds no business document. */
int rl_doc_detect_file(const char *path, struct rl_doc_info *info, struct rl_err *err);
/* Same on a parsed document (a StandardBusinessDocument or a bare business document). */
int rl_doc_detect_doc(xmlDocPtr doc, struct rl_doc_info *info, struct rl_err *err);
/* The business document element of a parsed document: the root, or the element after the SBDH. */
xmlNodePtr rl_doc_business_root(xmlDocPtr doc);

/* "UBL", "CII", "PDF", "unknown"; "Invoice"/"CreditNote"/"unknown". Static strings. */
const char *rl_doc_syntax_name(int syntax);
const char *rl_doc_kind_name(int kind);

/* Peppol identifiers the document implies (spec digest sections 4 and 7), appended to out:
 * the document type value "<root ns>::<root name>##<customization>::<syntax version>" and the process
 * value (the profile). Both fail with RL_EBMS_OTHER when the document lacks what they need. */
int rl_doc_doctype_value(const struct rl_doc_info *info, struct rl_buf *out, struct rl_err *err);
int rl_doc_process_value(const struct rl_doc_info *info, struct rl_buf *out, struct rl_err *err);
/* The Peppol participant value "ICD:id" of an endpoint (BT-34/BT-49: schemeID is the EAS code, which
 * for Peppol is the ICD). Fails with RL_EBMS_OTHER when the endpoint is missing or malformed. */
int rl_doc_participant(const char *endpoint, const char *scheme, struct rl_buf *out, struct rl_err *err);

#endif

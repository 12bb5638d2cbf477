/*
 * docval_model.h - the small invoice model the built-in rules work on (internal to the validator).
 *
 * Extractors (docval_model.c, one per syntax) fill it from a UBL or CII DOM; the rule engine
 * (docval_rules.c) never looks at the syntax again except where EN 16931's own rules differ by syntax.
 * A value is its trimmed text (NULL when the element is absent) and the node it came from, so findings
 * can name a location. Amounts are exact decimals (struct dv_dec), never binary floating point.
 */
#ifndef RELAIS_DOCVAL_MODEL_H
#define RELAIS_DOCVAL_MODEL_H

#include <stddef.h>
#include <libxml/tree.h>
#include "relais/err.h"

/* A decimal as an integer count of 10^-9 units. Parsing refuses more than 9 fraction digits and values
 * that do not fit; arithmetic reports overflow. */
#define DV_DEC_SCALE 1000000000LL
typedef __int128 dv_int;
struct dv_dec {
	dv_int units;
};
/* xs:decimal lexical form ("-12.50", "+3", ".5"). Returns 0, or -1 when not usable. */
int dv_dec_parse(const char *text, struct dv_dec *out);
/* XPath round(x * 100) div 100: half-way values go towards positive infinity. */
struct dv_dec dv_dec_round2(struct dv_dec d);
/* XPath round(x). */
struct dv_dec dv_dec_round0(struct dv_dec d);
/* a * b; -1 on overflow. */
int dv_dec_mul(struct dv_dec a, struct dv_dec b, struct dv_dec *out);
/* "123.45" (fraction digits kept up to the last non-zero one, at least two). */
void dv_dec_format(struct dv_dec d, char *out, size_t size);

struct dv_text {
	char *text;		/* trimmed; NULL when absent */
	xmlNodePtr node;	/* the element (or NULL) */
};

struct dv_party {
	xmlNodePtr node;	/* the party element; NULL when absent */
	struct dv_text name;
	struct dv_text country;
	xmlNodePtr address;	/* postal address element, NULL when absent */
	struct dv_text endpoint;
	struct dv_text endpoint_scheme;
};

struct dv_allowance {
	xmlNodePtr node;
	int charge;		/* 1 charge, 0 allowance */
	int vat_scheme;		/* 1 when the tax category's scheme (UBL) or type (CII) is VAT */
	struct dv_text amount;
	struct dv_text vat_category;
	struct dv_text vat_rate;
	struct dv_text reason;
	struct dv_text reason_code;
};

struct dv_vat {
	xmlNodePtr node;
	struct dv_text taxable;
	struct dv_text tax;
	struct dv_text category;
	struct dv_text rate;
	xmlNodePtr exemption;	/* exemption reason or reason code element, NULL when none */
	int vat_scheme;		/* UBL: TaxScheme/ID is VAT; CII: always 1 */
};

struct dv_line {
	xmlNodePtr node;
	struct dv_text id;
	struct dv_text quantity;
	struct dv_text unit;	/* the quantity's unitCode */
	struct dv_text net;
	struct dv_text item_name;
	struct dv_text net_price;
	struct dv_text gross_price;
	int vat_scheme;		/* 1 when the item's tax category is a VAT one */
	struct dv_text vat_category;	/* BT-151 */
	struct dv_text vat_rate;	/* BT-152 */
};

/* A coded value to check against a code list (or, for "vat_prefix", its first two characters). */
struct dv_coded {
	const char *list;
	const char *rule;
	const char *what;	/* "currency", "country code"... for the message */
	struct dv_text value;
};

/* An identifier with a scheme (endpoint, party identifier, legal registration). */
struct dv_ident {
	struct dv_text value;
	struct dv_text scheme;
};

#define DV_ARRAY(type, name) type *name; size_t name##_count; size_t name##_cap

struct dv_model {
	int syntax;		/* enum rl_doc_syntax */
	int kind;		/* enum rl_doc_kind */
	xmlNodePtr root;
	struct dv_text customization, profile, id, issue_date, type_code, currency;
	struct dv_text buyer_reference, order_reference;
	struct dv_party seller, buyer;
	xmlNodePtr seller_context;	/* UBL AccountingSupplierParty, CII SellerTradeParty (BR-CO-26) */
	int seller_identified;	/* it has a seller identifier, legal registration or VAT identifier */
	xmlNodePtr totals;	/* LegalMonetaryTotal / SpecifiedTradeSettlementHeaderMonetarySummation */
	struct dv_text line_total, allowance_total, charge_total, tax_exclusive, tax_inclusive;
	struct dv_text prepaid, rounding, payable;
	xmlNodePtr settlement;	/* CII ApplicableHeaderTradeSettlement (NULL for UBL) */
	DV_ARRAY(struct dv_text, tax_totals);	/* VAT totals in the document currency (BT-110) */
	DV_ARRAY(xmlNodePtr, tax_total_groups);	/* UBL cac:TaxTotal elements (BR-CO-14 context) */
	DV_ARRAY(struct dv_allowance, allowances);
	DV_ARRAY(struct dv_vat, vat);
	DV_ARRAY(struct dv_line, lines);
	DV_ARRAY(struct dv_coded, coded);
	DV_ARRAY(struct dv_ident, idents);
};

/* Fills m from the business root element (UBL Invoice/CreditNote or CII). Returns 0, or -1 with
 * RL_EBMS_OTHER (not a known syntax) or RL_ERR_NOMEM. dv_model_free() releases what it holds. */
int dv_model_extract(xmlNodePtr root, struct dv_model *m, struct rl_err *err);
void dv_model_free(struct dv_model *m);

/* An XPath-like location of node ("/Invoice/cac:InvoiceLine[2]/cbc:LineExtensionAmount"), malloc'd. */
char *dv_location(xmlNodePtr node);

#endif

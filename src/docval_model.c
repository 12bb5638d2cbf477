/*
 * docval_model.c - exact decimals and the per-syntax extractors of the validation model.
 * See src/docval_model.h. Elements are matched by local name below known parents (the namespaces are
 * those of the root's syntax); a missing element leaves its value NULL and the rules decide. The parts
 * both syntaxes have (parties, totals, VAT breakdowns, allowances and charges, lines) are read by one
 * function each, from a table of where the syntax keeps them (ubl_*_paths, cii_*_paths).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/doc.h"
#include "relais/docval.h"
#include "relais/xml.h"
#include "docval_model.h"

#define DV_DEC_MAX_DIGITS 27	/* integer digits accepted: far beyond any amount, far below overflow */

/* ---- decimals ---- */

int dv_dec_parse(const char *text, struct dv_dec *out)
{
	const char *p = text;
	dv_int v = 0;
	int neg = 0, digits = 0, frac = 0, int_digits = 0;

	if (p == NULL)
		return -1;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (++int_digits > DV_DEC_MAX_DIGITS)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (++frac > 9) {
				if (*p != '0')
					return -1;	/* more precision than the model keeps */
				frac = 9;
				continue;
			}
			v = v * 10 + (*p - '0');
		}
	}
	if (*p != '\0' || digits == 0)
		return -1;
	for (; frac < 9; frac++)
		v *= 10;
	out->units = neg ? -v : v;
	return 0;
}

static dv_int floor_div(dv_int a, dv_int b)
{
	dv_int q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* round(x / unit) * unit with XPath's rule: floor(x / unit + 0.5). */
static struct dv_dec round_to(struct dv_dec d, dv_int unit)
{
	struct dv_dec r;

	r.units = floor_div(d.units * 2 + unit, unit * 2) * unit;
	return r;
}

struct dv_dec dv_dec_round2(struct dv_dec d)
{
	return round_to(d, DV_DEC_SCALE / 100);
}

struct dv_dec dv_dec_round0(struct dv_dec d)
{
	return round_to(d, DV_DEC_SCALE);
}

int dv_dec_mul(struct dv_dec a, struct dv_dec b, struct dv_dec *out)
{
	dv_int p;

	if (__builtin_mul_overflow(a.units, b.units, &p))
		return -1;
	out->units = p / DV_DEC_SCALE;	/* exact for the products the rules form (<= 9+9 digits kept) */
	return 0;
}

void dv_dec_format(struct dv_dec d, char *out, size_t size)
{
	char digits[64];
	dv_int v = d.units < 0 ? -d.units : d.units;
	dv_int ip = v / DV_DEC_SCALE, fp = v % DV_DEC_SCALE;
	int n = 0, keep;
	char frac[10];

	do {
		digits[n++] = (char)('0' + (int)(ip % 10));
		ip /= 10;
	} while (ip > 0 && n < 60);
	for (int i = 8; i >= 0; i--) {
		frac[i] = (char)('0' + (int)(fp % 10));
		fp /= 10;
	}
	frac[9] = '\0';
	keep = 9;
	while (keep > 2 && frac[keep - 1] == '0')
		keep--;
	frac[keep] = '\0';
	{
		char intpart[64];

		for (int i = 0; i < n; i++)
			intpart[i] = digits[n - 1 - i];
		intpart[n] = '\0';
		snprintf(out, size, "%s%s.%s", d.units < 0 ? "-" : "", intpart, frac);
	}
}

/* ---- DOM helpers ---- */

static int is_named(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	if (parent == NULL)
		return NULL;
	for (xmlNodePtr c = parent->children; c; c = c->next)
		if (is_named(c, name))
			return c;
	return NULL;
}

/* Follows "A/B/C" (first element child with each local name). */
static xmlNodePtr find(xmlNodePtr from, const char *path)
{
	char step[128];

	while (from && *path) {
		size_t n = strcspn(path, "/");

		if (n >= sizeof(step))
			return NULL;
		memcpy(step, path, n);
		step[n] = '\0';
		from = child(from, step);
		path += n;
		if (*path == '/')
			path++;
	}
	return from;
}

static int take_node(struct dv_text *t, xmlNodePtr node)
{
	t->node = node;
	t->text = NULL;
	if (node == NULL)
		return 0;
	t->text = rl_xml_text(node);
	return t->text ? 0 : -1;
}

static int take(struct dv_text *t, xmlNodePtr from, const char *path)
{
	return take_node(t, find(from, path));
}

static int take_attr(struct dv_text *t, xmlNodePtr node, const char *attr)
{
	t->node = node;
	t->text = node ? rl_xml_attr(node, NULL, attr) : NULL;
	return 0;
}

/* 1 when node has the attribute attr with the value value (never when value is NULL). */
static int attr_equals(xmlNodePtr node, const char *attr, const char *value)
{
	char *v;
	int same;

	if (value == NULL)
		return 0;
	v = rl_xml_attr(node, NULL, attr);
	same = v && strcmp(v, value) == 0;
	free(v);
	return same;
}

static void text_free(struct dv_text *t)
{
	free(t->text);
	t->text = NULL;
}

#define GROW(m, name)                                                                         \
	((m)->name##_count < (m)->name##_cap                                                   \
		 ? 0                                                                           \
		 : grow((void **)&(m)->name, &(m)->name##_cap, sizeof(*(m)->name)))

static int grow(void **items, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*items, ncap * size);

	if (p == NULL)
		return -1;
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*items = p;
	*cap = ncap;
	return 0;
}

static int add_coded(struct dv_model *m, const char *list, const char *rule, const char *what, xmlNodePtr node,
		     const char *attr)
{
	struct dv_coded *c;

	if (GROW(m, coded) < 0)
		return -1;
	c = &m->coded[m->coded_count++];
	c->list = list;
	c->rule = rule;
	c->what = what;
	c->value.node = node;
	c->value.text = attr ? rl_xml_attr(node, NULL, attr) : rl_xml_text(node);
	if (c->value.text == NULL)
		c->value.text = strdup("");
	return c->value.text ? 0 : -1;
}

static int has_ancestor(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr p = n->parent; p && p->type == XML_ELEMENT_NODE; p = p->parent)
		if (is_named(p, name))
			return 1;
	return 0;
}

/* UBL BR-CL-10 also accepts the SEPA creditor identifier scheme for the seller and the payee. */
static int ubl_party_id_scheme(struct dv_model *m, xmlNodePtr c)
{
	if (attr_equals(c, "schemeID", "SEPA") &&
	    (has_ancestor(c, "AccountingSupplierParty") || has_ancestor(c, "PayeeParty")))
		return 0;
	return add_coded(m, "iso6523_icd", "BR-CL-10", "identifier scheme", c, "schemeID");
}

static int add_ident(struct dv_model *m, xmlNodePtr node)
{
	struct dv_ident *id;

	if (GROW(m, idents) < 0)
		return -1;
	id = &m->idents[m->idents_count++];
	if (take_node(&id->value, node) < 0)
		return -1;
	return take_attr(&id->scheme, node, "schemeID");
}

/* A coded scheme that is also checked as an identifier (endpoint, party or legal registration). */
static int add_coded_ident(struct dv_model *m, const char *list, const char *rule, const char *what, xmlNodePtr node)
{
	return add_coded(m, list, rule, what, node, "schemeID") < 0 || add_ident(m, node) < 0 ? -1 : 0;
}

static int has_attr(xmlNodePtr n, const char *name)
{
	return xmlHasProp(n, (const xmlChar *)name) != NULL;
}

static int parent_is(xmlNodePtr n, const char *name)
{
	return n->parent && is_named(n->parent, name);
}


static int is_boolean_true(const char *s)
{
	return s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
}

/* 1 when the text of the element at path below node is "VAT" (any case, trimmed). */
static int is_vat_at(xmlNodePtr node, const char *path)
{
	char *id = rl_xml_text(find(node, path));
	int vat = id && strcasecmp(id, "VAT") == 0;

	free(id);
	return vat;
}

/* ---- the parts of the model, read by the paths of a syntax ---- */

/* Where a syntax keeps a party's parts. */
struct party_paths {
	const char *party;	/* below the role element ("" when the role element is the party) */
	const char *address, *name, *endpoint;	/* below the party; the endpoint's schemeID is its scheme */
	const char *country;	/* below the address */
};

static int take_party(struct dv_party *p, xmlNodePtr role, const struct party_paths *paths)
{
	xmlNodePtr endpoint;

	p->node = find(role, paths->party);
	p->address = find(p->node, paths->address);
	endpoint = find(p->node, paths->endpoint);
	if (take(&p->name, p->node, paths->name) < 0 || take(&p->country, p->address, paths->country) < 0 ||
	    take_node(&p->endpoint, endpoint) < 0 || take_attr(&p->endpoint_scheme, endpoint, "schemeID") < 0)
		return -1;
	return 0;
}

/* Where a syntax keeps the document totals, below its totals element. */
struct totals_paths {
	const char *line_total, *allowance_total, *charge_total, *tax_exclusive, *tax_inclusive;
	const char *prepaid, *rounding, *payable;
};

static int take_totals(struct dv_model *m, xmlNodePtr totals, const struct totals_paths *paths)
{
	m->totals = totals;
	if (take(&m->line_total, totals, paths->line_total) < 0 ||
	    take(&m->allowance_total, totals, paths->allowance_total) < 0 ||
	    take(&m->charge_total, totals, paths->charge_total) < 0 ||
	    take(&m->tax_exclusive, totals, paths->tax_exclusive) < 0 ||
	    take(&m->tax_inclusive, totals, paths->tax_inclusive) < 0 || take(&m->prepaid, totals, paths->prepaid) < 0 ||
	    take(&m->rounding, totals, paths->rounding) < 0 || take(&m->payable, totals, paths->payable) < 0)
		return -1;
	return 0;
}

/* Adds a VAT total amount element (BT-110) when it is in the document currency. */
static int add_tax_total(struct dv_model *m, xmlNodePtr amount)
{
	if (amount == NULL || !attr_equals(amount, "currencyID", m->currency.text))
		return 0;
	if (GROW(m, tax_totals) < 0 || take_node(&m->tax_totals[m->tax_totals_count++], amount) < 0)
		return -1;
	return 0;
}

/* Where a syntax keeps the parts of a VAT breakdown, below its element. */
struct vat_paths {
	const char *taxable, *tax, *category, *rate;
	const char *scheme;	/* the element that says VAT; NULL when the breakdown is always VAT */
	const char *exemption, *exemption_code;
};

static int add_vat(struct dv_model *m, xmlNodePtr node, const struct vat_paths *paths)
{
	struct dv_vat *v;

	if (GROW(m, vat) < 0)
		return -1;
	v = &m->vat[m->vat_count++];
	v->node = node;
	if (take(&v->taxable, node, paths->taxable) < 0 || take(&v->tax, node, paths->tax) < 0 ||
	    take(&v->category, node, paths->category) < 0 || take(&v->rate, node, paths->rate) < 0)
		return -1;
	v->vat_scheme = paths->scheme ? is_vat_at(node, paths->scheme) : 1;
	v->exemption = find(node, paths->exemption);
	if (v->exemption == NULL)
		v->exemption = find(node, paths->exemption_code);
	return 0;
}

/* Where a syntax keeps the parts of a document level allowance or charge, below its element. */
struct allowance_paths {
	const char *indicator;	/* true or 1: a charge */
	const char *scheme;	/* the element that says VAT */
	const char *amount, *vat_category, *vat_rate, *reason, *reason_code;
};

static int add_allowance(struct dv_model *m, xmlNodePtr node, const struct allowance_paths *paths)
{
	struct dv_allowance *a;
	char *indicator;

	if (GROW(m, allowances) < 0)
		return -1;
	a = &m->allowances[m->allowances_count++];
	a->node = node;
	indicator = rl_xml_text(find(node, paths->indicator));
	a->charge = is_boolean_true(indicator);
	free(indicator);
	a->vat_scheme = is_vat_at(node, paths->scheme);
	if (take(&a->amount, node, paths->amount) < 0 || take(&a->vat_category, node, paths->vat_category) < 0 ||
	    take(&a->vat_rate, node, paths->vat_rate) < 0 || take(&a->reason, node, paths->reason) < 0 ||
	    take(&a->reason_code, node, paths->reason_code) < 0)
		return -1;
	return 0;
}

/* Where a syntax keeps the parts of an invoice line, below its element. */
struct line_paths {
	const char *quantity;	/* its unitCode is the unit */
	const char *other_quantity;	/* where the quantity is when not at quantity (NULL: nowhere else) */
	const char *id, *net, *item_name, *net_price, *gross_price, *vat_category, *vat_rate;
	const char *scheme;	/* the element that says VAT */
};

static int add_line(struct dv_model *m, xmlNodePtr node, const struct line_paths *paths)
{
	struct dv_line *l;
	xmlNodePtr qty = find(node, paths->quantity);

	if (qty == NULL && paths->other_quantity)
		qty = find(node, paths->other_quantity);
	if (GROW(m, lines) < 0)
		return -1;
	l = &m->lines[m->lines_count++];
	l->node = node;
	if (take(&l->id, node, paths->id) < 0 || take_node(&l->quantity, qty) < 0 ||
	    take_attr(&l->unit, qty, "unitCode") < 0 || take(&l->net, node, paths->net) < 0 ||
	    take(&l->item_name, node, paths->item_name) < 0 || take(&l->net_price, node, paths->net_price) < 0 ||
	    take(&l->gross_price, node, paths->gross_price) < 0 ||
	    take(&l->vat_category, node, paths->vat_category) < 0 || take(&l->vat_rate, node, paths->vat_rate) < 0)
		return -1;
	l->vat_scheme = is_vat_at(node, paths->scheme);
	return 0;
}

/* Calls visit on every element below node, depth first in document order; stops at the first -1. */
static int walk(struct dv_model *m, xmlNodePtr node, int (*visit)(struct dv_model *m, xmlNodePtr c, const char *name))
{
	for (xmlNodePtr c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (visit(m, c, (const char *)c->name) < 0 || walk(m, c, visit) < 0)
			return -1;
	}
	return 0;
}

/* ---- UBL ---- */

static const char *const ubl_amounts[] = {
	"Amount", "BaseAmount", "PriceAmount", "TaxAmount", "TaxableAmount", "LineExtensionAmount",
	"TaxExclusiveAmount", "TaxInclusiveAmount", "AllowanceTotalAmount", "ChargeTotalAmount",
	"PrepaidAmount", "PayableRoundingAmount", "PayableAmount", NULL
};

static int in_list(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

/* The code list checks one UBL element calls for, added to m->coded (and its identifier to m->idents). */
static int ubl_coded(struct dv_model *m, xmlNodePtr c, const char *name)
{
	if (strcmp(name, "InvoiceTypeCode") == 0)
		return add_coded(m, "uncl1001_invoice_ubl", "BR-CL-01", "invoice type code", c, NULL);
	else if (strcmp(name, "CreditNoteTypeCode") == 0)
		return add_coded(m, "uncl1001_creditnote_ubl", "BR-CL-01", "credit note type code", c, NULL);
	else if (in_list(name, ubl_amounts))
		return add_coded(m, "iso4217", "BR-CL-03", "currencyID", c, "currencyID");
	else if (strcmp(name, "DocumentCurrencyCode") == 0)
		return add_coded(m, "iso4217", "BR-CL-04", "invoice currency code", c, NULL);
	else if (strcmp(name, "ID") == 0 && parent_is(c, "PartyIdentification") && has_attr(c, "schemeID"))
		return ubl_party_id_scheme(m, c) < 0 || add_ident(m, c) < 0 ? -1 : 0;
	else if (strcmp(name, "CompanyID") == 0 && parent_is(c, "PartyLegalEntity") && has_attr(c, "schemeID"))
		return add_coded_ident(m, "iso6523_icd", "BR-CL-11", "legal registration scheme", c);
	else if (strcmp(name, "CompanyID") == 0 && parent_is(c, "PartyTaxScheme") && is_vat_at(c->parent, "TaxScheme/ID"))
		return add_coded(m, "vat_prefix", "BR-CO-09", "VAT identifier", c, NULL);
	else if (strcmp(name, "IdentificationCode") == 0 && parent_is(c, "Country"))
		return add_coded(m, "iso3166", "BR-CL-14", "country code", c, NULL);
	else if (strcmp(name, "ID") == 0 && parent_is(c, "TaxCategory"))
		return add_coded(m, "uncl5305", "BR-CL-17", "VAT category code", c, NULL);
	else if (strcmp(name, "ID") == 0 && parent_is(c, "ClassifiedTaxCategory"))
		return add_coded(m, "uncl5305", "BR-CL-18", "VAT category code", c, NULL);
	else if ((strcmp(name, "InvoicedQuantity") == 0 || strcmp(name, "BaseQuantity") == 0 ||
		  strcmp(name, "CreditedQuantity") == 0) && has_attr(c, "unitCode"))
		return add_coded(m, "unece_rec20", "BR-CL-23", "unit code", c, "unitCode");
	else if (strcmp(name, "EndpointID") == 0 && has_attr(c, "schemeID"))
		return add_coded_ident(m, "eas", "BR-CL-25", "electronic address scheme", c);
	return 0;
}

static const struct party_paths ubl_party_paths = {
	.party = "Party", .address = "PostalAddress", .name = "PartyLegalEntity/RegistrationName",
	.endpoint = "EndpointID", .country = "Country/IdentificationCode",
};

static const struct totals_paths ubl_totals_paths = {
	.line_total = "LineExtensionAmount", .allowance_total = "AllowanceTotalAmount",
	.charge_total = "ChargeTotalAmount", .tax_exclusive = "TaxExclusiveAmount",
	.tax_inclusive = "TaxInclusiveAmount", .prepaid = "PrepaidAmount", .rounding = "PayableRoundingAmount",
	.payable = "PayableAmount",
};

static const struct vat_paths ubl_vat_paths = {
	.taxable = "TaxableAmount", .tax = "TaxAmount", .category = "TaxCategory/ID", .rate = "TaxCategory/Percent",
	.scheme = "TaxCategory/TaxScheme/ID", .exemption = "TaxCategory/TaxExemptionReason",
	.exemption_code = "TaxCategory/TaxExemptionReasonCode",
};

static const struct allowance_paths ubl_allowance_paths = {
	.indicator = "ChargeIndicator", .scheme = "TaxCategory/TaxScheme/ID", .amount = "Amount",
	.vat_category = "TaxCategory/ID", .vat_rate = "TaxCategory/Percent", .reason = "AllowanceChargeReason",
	.reason_code = "AllowanceChargeReasonCode",
};

static const struct line_paths ubl_line_paths = {
	.quantity = "InvoicedQuantity", .other_quantity = "CreditedQuantity", .id = "ID",
	.net = "LineExtensionAmount", .item_name = "Item/Name", .net_price = "Price/PriceAmount",
	.gross_price = "Price/AllowanceCharge/BaseAmount", .vat_category = "Item/ClassifiedTaxCategory/ID",
	.vat_rate = "Item/ClassifiedTaxCategory/Percent", .scheme = "Item/ClassifiedTaxCategory/TaxScheme/ID",
};

static int ubl_tax_total(struct dv_model *m, xmlNodePtr tt)
{
	if (GROW(m, tax_total_groups) < 0)
		return -1;
	m->tax_total_groups[m->tax_total_groups_count++] = tt;
	if (add_tax_total(m, child(tt, "TaxAmount")) < 0)
		return -1;
	for (xmlNodePtr st = child(tt, "TaxSubtotal"); st; st = st->next)
		if (is_named(st, "TaxSubtotal") && add_vat(m, st, &ubl_vat_paths) < 0)
			return -1;
	return 0;
}

/* BR-CO-26 in UBL: a VAT CompanyID, a PartyIdentification/ID not in the SEPA scheme, or a legal CompanyID. */
static int ubl_seller_identified(xmlNodePtr supplier)
{
	xmlNodePtr party = child(supplier, "Party");

	if (find(party, "PartyLegalEntity/CompanyID"))
		return 1;
	for (xmlNodePtr c = party ? party->children : NULL; c; c = c->next) {
		if (is_named(c, "PartyTaxScheme") && child(c, "CompanyID") && is_vat_at(c, "TaxScheme/ID"))
			return 1;
		if (is_named(c, "PartyIdentification") && child(c, "ID") && !attr_equals(child(c, "ID"), "schemeID", "SEPA"))
			return 1;
	}
	return 0;
}

static int extract_ubl(xmlNodePtr root, struct dv_model *m)
{
	if (take(&m->customization, root, "CustomizationID") < 0 || take(&m->profile, root, "ProfileID") < 0 ||
	    take(&m->id, root, "ID") < 0 || take(&m->issue_date, root, "IssueDate") < 0 ||
	    take(&m->type_code, root, m->kind == RL_DOC_KIND_CREDITNOTE ? "CreditNoteTypeCode" : "InvoiceTypeCode") < 0 ||
	    take(&m->currency, root, "DocumentCurrencyCode") < 0 ||
	    take(&m->buyer_reference, root, "BuyerReference") < 0 ||
	    take(&m->order_reference, root, "OrderReference/ID") < 0 ||
	    take_party(&m->seller, child(root, "AccountingSupplierParty"), &ubl_party_paths) < 0 ||
	    take_party(&m->buyer, child(root, "AccountingCustomerParty"), &ubl_party_paths) < 0)
		return -1;
	m->seller_context = child(root, "AccountingSupplierParty");
	m->seller_identified = ubl_seller_identified(m->seller_context);
	if (take_totals(m, child(root, "LegalMonetaryTotal"), &ubl_totals_paths) < 0)
		return -1;
	for (xmlNodePtr c = root->children; c; c = c->next) {
		int rc = 0;

		if (is_named(c, "TaxTotal"))
			rc = ubl_tax_total(m, c);
		else if (is_named(c, "AllowanceCharge"))
			rc = add_allowance(m, c, &ubl_allowance_paths);
		else if (is_named(c, "InvoiceLine") || is_named(c, "CreditNoteLine"))
			rc = add_line(m, c, &ubl_line_paths);
		if (rc < 0)
			return -1;
	}
	return walk(m, root, ubl_coded);
}

/* ---- CII ---- */

/* The code list checks one CII element calls for, added to m->coded (and its identifier to m->idents). */
static int cii_coded(struct dv_model *m, xmlNodePtr c, const char *name)
{
	if (strcmp(name, "TypeCode") == 0 && parent_is(c, "ExchangedDocument"))
		return add_coded(m, "uncl1001_cii", "BR-CL-01", "document type code", c, NULL);
	else if (strcmp(name, "TaxTotalAmount") == 0 && has_attr(c, "currencyID"))
		return add_coded(m, "iso4217", "BR-CL-03", "currencyID", c, "currencyID");
	else if (strcmp(name, "InvoiceCurrencyCode") == 0)
		return add_coded(m, "iso4217", "BR-CL-04", "invoice currency code", c, NULL);
	else if (strcmp(name, "GlobalID") == 0 && has_attr(c, "schemeID") &&
		 !has_ancestor(c, "SpecifiedTradeProduct") && !has_ancestor(c, "ShipToTradeParty"))
		return add_coded_ident(m, "iso6523_icd", "BR-CL-10", "identifier scheme", c);
	else if (strcmp(name, "ID") == 0 && has_attr(c, "schemeID") && parent_is(c, "SpecifiedTaxRegistration")) {
		if (attr_equals(c, "schemeID", "VA"))
			return add_coded(m, "vat_prefix", "BR-CO-09", "VAT identifier", c, NULL);
	} else if (strcmp(name, "ID") == 0 && has_attr(c, "schemeID"))
		return add_coded_ident(m, "iso6523_icd", "BR-CL-11", "identifier scheme", c);
	else if (strcmp(name, "CountryID") == 0)
		return add_coded(m, "iso3166", "BR-CL-14", "country code", c, NULL);
	else if (strcmp(name, "CategoryCode") == 0 && parent_is(c, "CategoryTradeTax"))
		return add_coded(m, "uncl5305", "BR-CL-17", "VAT category code", c, NULL);
	else if (strcmp(name, "CategoryCode") == 0 && parent_is(c, "ApplicableTradeTax"))
		return add_coded(m, "uncl5305", "BR-CL-18", "VAT category code", c, NULL);
	else if ((strcmp(name, "BasisQuantity") == 0 || strcmp(name, "BilledQuantity") == 0) &&
		 has_attr(c, "unitCode"))
		return add_coded(m, "unece_rec20", "BR-CL-23", "unit code", c, "unitCode");
	else if (strcmp(name, "URIID") == 0 && parent_is(c, "URIUniversalCommunication") &&
		 has_attr(c, "schemeID"))
		return add_coded_ident(m, "eas", "BR-CL-25", "electronic address scheme", c);
	return 0;
}

static const struct party_paths cii_party_paths = {
	.party = "", .address = "PostalTradeAddress", .name = "Name", .endpoint = "URIUniversalCommunication/URIID",
	.country = "CountryID",
};

static const struct totals_paths cii_totals_paths = {
	.line_total = "LineTotalAmount", .allowance_total = "AllowanceTotalAmount",
	.charge_total = "ChargeTotalAmount", .tax_exclusive = "TaxBasisTotalAmount",
	.tax_inclusive = "GrandTotalAmount", .prepaid = "TotalPrepaidAmount", .rounding = "RoundingAmount",
	.payable = "DuePayableAmount",
};

static const struct vat_paths cii_vat_paths = {
	.taxable = "BasisAmount", .tax = "CalculatedAmount", .category = "CategoryCode",
	.rate = "RateApplicablePercent", .scheme = NULL, .exemption = "ExemptionReason",
	.exemption_code = "ExemptionReasonCode",
};

static const struct allowance_paths cii_allowance_paths = {
	.indicator = "ChargeIndicator/Indicator", .scheme = "CategoryTradeTax/TypeCode", .amount = "ActualAmount",
	.vat_category = "CategoryTradeTax/CategoryCode", .vat_rate = "CategoryTradeTax/RateApplicablePercent",
	.reason = "Reason", .reason_code = "ReasonCode",
};

static const struct line_paths cii_line_paths = {
	.quantity = "SpecifiedLineTradeDelivery/BilledQuantity", .other_quantity = NULL,
	.id = "AssociatedDocumentLineDocument/LineID",
	.net = "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount",
	.item_name = "SpecifiedTradeProduct/Name",
	.net_price = "SpecifiedLineTradeAgreement/NetPriceProductTradePrice/ChargeAmount",
	.gross_price = "SpecifiedLineTradeAgreement/GrossPriceProductTradePrice/ChargeAmount",
	.vat_category = "SpecifiedLineTradeSettlement/ApplicableTradeTax/CategoryCode",
	.vat_rate = "SpecifiedLineTradeSettlement/ApplicableTradeTax/RateApplicablePercent",
	.scheme = "SpecifiedLineTradeSettlement/ApplicableTradeTax/TypeCode",
};

static int cii_settlement(struct dv_model *m, xmlNodePtr stl)
{
	xmlNodePtr totals = child(stl, "SpecifiedTradeSettlementHeaderMonetarySummation");

	m->settlement = stl;
	if (take_totals(m, totals, &cii_totals_paths) < 0)
		return -1;
	for (xmlNodePtr c = totals ? totals->children : NULL; c; c = c->next)
		if (is_named(c, "TaxTotalAmount") && add_tax_total(m, c) < 0)
			return -1;
	for (xmlNodePtr c = stl ? stl->children : NULL; c; c = c->next) {
		int rc = 0;

		if (is_named(c, "ApplicableTradeTax"))
			rc = add_vat(m, c, &cii_vat_paths);
		else if (is_named(c, "SpecifiedTradeAllowanceCharge"))
			rc = add_allowance(m, c, &cii_allowance_paths);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* BR-CO-26 in CII: ID, GlobalID, a legal organization ID or a VAT registration (schemeID VA). */
static int cii_seller_identified(xmlNodePtr seller)
{
	if (child(seller, "ID") || child(seller, "GlobalID") || find(seller, "SpecifiedLegalOrganization/ID"))
		return 1;
	for (xmlNodePtr c = seller ? seller->children : NULL; c; c = c->next)
		if (is_named(c, "SpecifiedTaxRegistration") && attr_equals(child(c, "ID"), "schemeID", "VA"))
			return 1;
	return 0;
}

static int extract_cii(xmlNodePtr root, struct dv_model *m)
{
	xmlNodePtr ctx = child(root, "ExchangedDocumentContext");
	xmlNodePtr doc = child(root, "ExchangedDocument");
	xmlNodePtr stt = child(root, "SupplyChainTradeTransaction");
	xmlNodePtr agreement = child(stt, "ApplicableHeaderTradeAgreement");
	xmlNodePtr stl = child(stt, "ApplicableHeaderTradeSettlement");

	if (take(&m->customization, ctx, "GuidelineSpecifiedDocumentContextParameter/ID") < 0 ||
	    take(&m->profile, ctx, "BusinessProcessSpecifiedDocumentContextParameter/ID") < 0 ||
	    take(&m->id, doc, "ID") < 0 || take(&m->issue_date, doc, "IssueDateTime/DateTimeString") < 0 ||
	    take(&m->type_code, doc, "TypeCode") < 0 || take(&m->currency, stl, "InvoiceCurrencyCode") < 0 ||
	    take(&m->buyer_reference, agreement, "BuyerReference") < 0 ||
	    take(&m->order_reference, agreement, "BuyerOrderReferencedDocument/IssuerAssignedID") < 0 ||
	    take_party(&m->seller, child(agreement, "SellerTradeParty"), &cii_party_paths) < 0 ||
	    take_party(&m->buyer, child(agreement, "BuyerTradeParty"), &cii_party_paths) < 0 ||
	    cii_settlement(m, stl) < 0)
		return -1;
	m->seller_context = child(agreement, "SellerTradeParty");
	m->seller_identified = cii_seller_identified(m->seller_context);
	for (xmlNodePtr c = stt ? stt->children : NULL; c; c = c->next)
		if (is_named(c, "IncludedSupplyChainTradeLineItem") && add_line(m, c, &cii_line_paths) < 0)
			return -1;
	return walk(m, root, cii_coded);
}

int dv_model_extract(xmlNodePtr root, struct dv_model *m, struct rl_err *err)
{
	const char *ns = root && root->ns ? (const char *)root->ns->href : "";

	memset(m, 0, sizeof(*m));
	m->root = root;
	if (rl_xml_is(root, RL_NS_UBL_INVOICE, "Invoice")) {
		m->syntax = RL_DOC_SYNTAX_UBL;
		m->kind = RL_DOC_KIND_INVOICE;
	} else if (rl_xml_is(root, RL_NS_UBL_CREDITNOTE, "CreditNote")) {
		m->syntax = RL_DOC_SYNTAX_UBL;
		m->kind = RL_DOC_KIND_CREDITNOTE;
	} else if (rl_xml_is(root, RL_NS_CII_RSM, "CrossIndustryInvoice")) {
		m->syntax = RL_DOC_SYNTAX_CII;
		m->kind = RL_DOC_KIND_INVOICE;
	} else {
		return rl_err_set(err, RL_EBMS_OTHER, "not a UBL Invoice/CreditNote or a CII CrossIndustryInvoice: {%.150s}%.60s",
				  ns, root ? (const char *)root->name : "");
	}
	if ((m->syntax == RL_DOC_SYNTAX_UBL ? extract_ubl(root, m) : extract_cii(root, m)) < 0) {
		dv_model_free(m);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory reading the invoice");
	}
	return 0;
}

static void party_free(struct dv_party *p)
{
	text_free(&p->name);
	text_free(&p->country);
	text_free(&p->endpoint);
	text_free(&p->endpoint_scheme);
}

void dv_model_free(struct dv_model *m)
{
	struct dv_text *singles[] = {
		&m->customization, &m->profile, &m->id, &m->issue_date, &m->type_code, &m->currency,
		&m->buyer_reference, &m->order_reference, &m->line_total, &m->allowance_total, &m->charge_total,
		&m->tax_exclusive, &m->tax_inclusive, &m->prepaid, &m->rounding, &m->payable,
	};

	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++)
		text_free(singles[i]);
	party_free(&m->seller);
	party_free(&m->buyer);
	for (size_t i = 0; i < m->tax_totals_count; i++)
		text_free(&m->tax_totals[i]);
	for (size_t i = 0; i < m->allowances_count; i++) {
		text_free(&m->allowances[i].amount);
		text_free(&m->allowances[i].vat_category);
		text_free(&m->allowances[i].vat_rate);
		text_free(&m->allowances[i].reason);
		text_free(&m->allowances[i].reason_code);
	}
	for (size_t i = 0; i < m->vat_count; i++) {
		text_free(&m->vat[i].taxable);
		text_free(&m->vat[i].tax);
		text_free(&m->vat[i].category);
		text_free(&m->vat[i].rate);
	}
	for (size_t i = 0; i < m->lines_count; i++) {
		struct dv_line *l = &m->lines[i];

		text_free(&l->id);
		text_free(&l->quantity);
		text_free(&l->unit);
		text_free(&l->net);
		text_free(&l->item_name);
		text_free(&l->net_price);
		text_free(&l->gross_price);
		text_free(&l->vat_category);
		text_free(&l->vat_rate);
	}
	for (size_t i = 0; i < m->coded_count; i++)
		text_free(&m->coded[i].value);
	for (size_t i = 0; i < m->idents_count; i++) {
		text_free(&m->idents[i].value);
		text_free(&m->idents[i].scheme);
	}
	free(m->tax_totals);
	free(m->tax_total_groups);
	free(m->allowances);
	free(m->vat);
	free(m->lines);
	free(m->coded);
	free(m->idents);
	memset(m, 0, sizeof(*m));
}

/* ---- locations ---- */

static int same_name_siblings(xmlNodePtr n, int *index)
{
	int count = 0;

	*index = 0;
	if (n->parent == NULL)
		return 1;
	for (xmlNodePtr s = n->parent->children; s; s = s->next) {
		if (s->type != XML_ELEMENT_NODE || strcmp((const char *)s->name, (const char *)n->name) != 0 ||
		    s->ns != n->ns)
			continue;
		count++;
		if (s == n)
			*index = count;
	}
	return count;
}

char *dv_location(xmlNodePtr node)
{
	char *path = strdup("");

	for (xmlNodePtr n = node; n && n->type == XML_ELEMENT_NODE && path; n = n->parent) {
		char step[200];
		int index, count = same_name_siblings(n, &index);
		const char *prefix = n->ns && n->ns->prefix ? (const char *)n->ns->prefix : NULL;
		char *joined;

		if (count > 1)
			snprintf(step, sizeof(step), "/%s%s%s[%d]", prefix ? prefix : "", prefix ? ":" : "",
				 (const char *)n->name, index);
		else
			snprintf(step, sizeof(step), "/%s%s%s", prefix ? prefix : "", prefix ? ":" : "",
				 (const char *)n->name);
		joined = malloc(strlen(step) + strlen(path) + 1);
		if (joined) {
			strcpy(joined, step);
			strcat(joined, path);
		}
		free(path);
		path = joined;
	}
	if (path && *path == '\0') {
		free(path);
		path = strdup("/");
	}
	return path;
}

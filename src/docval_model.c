/*
 * docval_model.c - exact decimals and the per-syntax extractors of the validation model.
 * See src/docval_model.h. Elements are matched by local name below known parents (the namespaces are
 * those of the root's syntax); a missing element leaves its value NULL and the rules decide.
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
	char *scheme = rl_xml_attr(c, NULL, "schemeID");
	int sepa = scheme && strcmp(scheme, "SEPA") == 0 &&
		   (has_ancestor(c, "AccountingSupplierParty") || has_ancestor(c, "PayeeParty"));

	free(scheme);
	if (sepa)
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

/* 1 when the text of the element at path below node is "VAT" (any case, trimmed). */
static int is_vat_at(xmlNodePtr node, const char *path)
{
	char *id = rl_xml_text(find(node, path));
	int vat = id && strcasecmp(id, "VAT") == 0;

	free(id);
	return vat;
}

static int ubl_is_vat_scheme(xmlNodePtr party_tax_scheme)
{
	char *id = rl_xml_text(find(party_tax_scheme, "TaxScheme/ID"));
	int vat = id && strcasecmp(id, "VAT") == 0;

	free(id);
	return vat;
}

static int ubl_walk(struct dv_model *m, xmlNodePtr node)
{
	for (xmlNodePtr c = node->children; c; c = c->next) {
		const char *name;
		int rc = 0;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		name = (const char *)c->name;
		if (strcmp(name, "InvoiceTypeCode") == 0)
			rc = add_coded(m, "uncl1001_invoice_ubl", "BR-CL-01", "invoice type code", c, NULL);
		else if (strcmp(name, "CreditNoteTypeCode") == 0)
			rc = add_coded(m, "uncl1001_creditnote_ubl", "BR-CL-01", "credit note type code", c, NULL);
		else if (in_list(name, ubl_amounts))
			rc = add_coded(m, "iso4217", "BR-CL-03", "currencyID", c, "currencyID");
		else if (strcmp(name, "DocumentCurrencyCode") == 0)
			rc = add_coded(m, "iso4217", "BR-CL-04", "invoice currency code", c, NULL);
		else if (strcmp(name, "ID") == 0 && parent_is(c, "PartyIdentification") && has_attr(c, "schemeID"))
			rc = ubl_party_id_scheme(m, c) < 0 || add_ident(m, c) < 0 ? -1 : 0;
		else if (strcmp(name, "CompanyID") == 0 && parent_is(c, "PartyLegalEntity") && has_attr(c, "schemeID"))
			rc = add_coded(m, "iso6523_icd", "BR-CL-11", "legal registration scheme", c, "schemeID") < 0 ||
					     add_ident(m, c) < 0 ? -1 : 0;
		else if (strcmp(name, "CompanyID") == 0 && parent_is(c, "PartyTaxScheme") && ubl_is_vat_scheme(c->parent))
			rc = add_coded(m, "vat_prefix", "BR-CO-09", "VAT identifier", c, NULL);
		else if (strcmp(name, "IdentificationCode") == 0 && parent_is(c, "Country"))
			rc = add_coded(m, "iso3166", "BR-CL-14", "country code", c, NULL);
		else if (strcmp(name, "ID") == 0 && parent_is(c, "TaxCategory"))
			rc = add_coded(m, "uncl5305", "BR-CL-17", "VAT category code", c, NULL);
		else if (strcmp(name, "ID") == 0 && parent_is(c, "ClassifiedTaxCategory"))
			rc = add_coded(m, "uncl5305", "BR-CL-18", "VAT category code", c, NULL);
		else if ((strcmp(name, "InvoicedQuantity") == 0 || strcmp(name, "BaseQuantity") == 0 ||
			  strcmp(name, "CreditedQuantity") == 0) && has_attr(c, "unitCode"))
			rc = add_coded(m, "unece_rec20", "BR-CL-23", "unit code", c, "unitCode");
		else if (strcmp(name, "EndpointID") == 0 && has_attr(c, "schemeID"))
			rc = add_coded(m, "eas", "BR-CL-25", "electronic address scheme", c, "schemeID") < 0 ||
					     add_ident(m, c) < 0 ? -1 : 0;
		if (rc < 0 || ubl_walk(m, c) < 0)
			return -1;
	}
	return 0;
}

static int ubl_party(struct dv_party *p, xmlNodePtr role)
{
	p->node = find(role, "Party");
	p->address = find(p->node, "PostalAddress");
	if (take(&p->name, p->node, "PartyLegalEntity/RegistrationName") < 0 ||
	    take(&p->country, p->address, "Country/IdentificationCode") < 0 ||
	    take(&p->endpoint, p->node, "EndpointID") < 0 ||
	    take_attr(&p->endpoint_scheme, find(p->node, "EndpointID"), "schemeID") < 0)
		return -1;
	return 0;
}

static int ubl_tax_total(struct dv_model *m, xmlNodePtr tt)
{
	xmlNodePtr amount = child(tt, "TaxAmount");

	if (GROW(m, tax_total_groups) < 0)
		return -1;
	m->tax_total_groups[m->tax_total_groups_count++] = tt;
	if (amount && m->currency.text) {
		char *cur = rl_xml_attr(amount, NULL, "currencyID");
		int same = cur && strcmp(cur, m->currency.text) == 0;

		free(cur);
		if (same) {
			if (GROW(m, tax_totals) < 0 || take_node(&m->tax_totals[m->tax_totals_count++], amount) < 0)
				return -1;
		}
	}
	for (xmlNodePtr st = child(tt, "TaxSubtotal"); st; st = st->next) {
		struct dv_vat *v;

		if (!is_named(st, "TaxSubtotal"))
			continue;
		if (GROW(m, vat) < 0)
			return -1;
		v = &m->vat[m->vat_count++];
		v->node = st;
		if (take(&v->taxable, st, "TaxableAmount") < 0 || take(&v->tax, st, "TaxAmount") < 0 ||
		    take(&v->category, st, "TaxCategory/ID") < 0 || take(&v->rate, st, "TaxCategory/Percent") < 0)
			return -1;
		v->vat_scheme = is_vat_at(st, "TaxCategory/TaxScheme/ID");
		v->exemption = find(st, "TaxCategory/TaxExemptionReason");
		if (v->exemption == NULL)
			v->exemption = find(st, "TaxCategory/TaxExemptionReasonCode");
	}
	return 0;
}

static int ubl_allowance(struct dv_model *m, xmlNodePtr ac)
{
	struct dv_allowance *a;
	char *indicator;

	if (GROW(m, allowances) < 0)
		return -1;
	a = &m->allowances[m->allowances_count++];
	a->node = ac;
	indicator = rl_xml_text(child(ac, "ChargeIndicator"));
	a->charge = is_boolean_true(indicator);
	free(indicator);
	a->vat_scheme = is_vat_at(ac, "TaxCategory/TaxScheme/ID");
	if (take(&a->amount, ac, "Amount") < 0 || take(&a->vat_category, ac, "TaxCategory/ID") < 0 ||
	    take(&a->vat_rate, ac, "TaxCategory/Percent") < 0 ||
	    take(&a->reason, ac, "AllowanceChargeReason") < 0 ||
	    take(&a->reason_code, ac, "AllowanceChargeReasonCode") < 0)
		return -1;
	return 0;
}

static int ubl_line(struct dv_model *m, xmlNodePtr ln)
{
	struct dv_line *l;
	xmlNodePtr qty = child(ln, "InvoicedQuantity");

	if (qty == NULL)
		qty = child(ln, "CreditedQuantity");
	if (GROW(m, lines) < 0)
		return -1;
	l = &m->lines[m->lines_count++];
	l->node = ln;
	if (take(&l->id, ln, "ID") < 0 || take_node(&l->quantity, qty) < 0 ||
	    take_attr(&l->unit, qty, "unitCode") < 0 || take(&l->net, ln, "LineExtensionAmount") < 0 ||
	    take(&l->item_name, ln, "Item/Name") < 0 || take(&l->net_price, ln, "Price/PriceAmount") < 0 ||
	    take(&l->gross_price, ln, "Price/AllowanceCharge/BaseAmount") < 0 ||
	    take(&l->vat_category, ln, "Item/ClassifiedTaxCategory/ID") < 0 ||
	    take(&l->vat_rate, ln, "Item/ClassifiedTaxCategory/Percent") < 0)
		return -1;
	l->vat_scheme = is_vat_at(ln, "Item/ClassifiedTaxCategory/TaxScheme/ID");
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
		if (is_named(c, "PartyIdentification") && child(c, "ID")) {
			char *scheme = rl_xml_attr(child(c, "ID"), NULL, "schemeID");
			int sepa = scheme && strcmp(scheme, "SEPA") == 0;

			free(scheme);
			if (!sepa)
				return 1;
		}
	}
	return 0;
}

static int extract_ubl(xmlNodePtr root, struct dv_model *m)
{
	xmlNodePtr totals = child(root, "LegalMonetaryTotal");

	if (take(&m->customization, root, "CustomizationID") < 0 || take(&m->profile, root, "ProfileID") < 0 ||
	    take(&m->id, root, "ID") < 0 || take(&m->issue_date, root, "IssueDate") < 0 ||
	    take(&m->type_code, root, m->kind == RL_DOC_KIND_CREDITNOTE ? "CreditNoteTypeCode" : "InvoiceTypeCode") < 0 ||
	    take(&m->currency, root, "DocumentCurrencyCode") < 0 ||
	    take(&m->buyer_reference, root, "BuyerReference") < 0 ||
	    take(&m->order_reference, root, "OrderReference/ID") < 0 ||
	    ubl_party(&m->seller, child(root, "AccountingSupplierParty")) < 0 ||
	    ubl_party(&m->buyer, child(root, "AccountingCustomerParty")) < 0)
		return -1;
	m->seller_context = child(root, "AccountingSupplierParty");
	m->seller_identified = ubl_seller_identified(m->seller_context);
	m->totals = totals;
	if (take(&m->line_total, totals, "LineExtensionAmount") < 0 ||
	    take(&m->allowance_total, totals, "AllowanceTotalAmount") < 0 ||
	    take(&m->charge_total, totals, "ChargeTotalAmount") < 0 ||
	    take(&m->tax_exclusive, totals, "TaxExclusiveAmount") < 0 ||
	    take(&m->tax_inclusive, totals, "TaxInclusiveAmount") < 0 ||
	    take(&m->prepaid, totals, "PrepaidAmount") < 0 ||
	    take(&m->rounding, totals, "PayableRoundingAmount") < 0 || take(&m->payable, totals, "PayableAmount") < 0)
		return -1;
	for (xmlNodePtr c = root->children; c; c = c->next) {
		int rc = 0;

		if (is_named(c, "TaxTotal"))
			rc = ubl_tax_total(m, c);
		else if (is_named(c, "AllowanceCharge"))
			rc = ubl_allowance(m, c);
		else if (is_named(c, "InvoiceLine") || is_named(c, "CreditNoteLine"))
			rc = ubl_line(m, c);
		if (rc < 0)
			return -1;
	}
	return ubl_walk(m, root);
}

/* ---- CII ---- */

static int cii_walk(struct dv_model *m, xmlNodePtr node)
{
	for (xmlNodePtr c = node->children; c; c = c->next) {
		const char *name;
		int rc = 0;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		name = (const char *)c->name;
		if (strcmp(name, "TypeCode") == 0 && parent_is(c, "ExchangedDocument"))
			rc = add_coded(m, "uncl1001_cii", "BR-CL-01", "document type code", c, NULL);
		else if (strcmp(name, "TaxTotalAmount") == 0 && has_attr(c, "currencyID"))
			rc = add_coded(m, "iso4217", "BR-CL-03", "currencyID", c, "currencyID");
		else if (strcmp(name, "InvoiceCurrencyCode") == 0)
			rc = add_coded(m, "iso4217", "BR-CL-04", "invoice currency code", c, NULL);
		else if (strcmp(name, "GlobalID") == 0 && has_attr(c, "schemeID") &&
			 !has_ancestor(c, "SpecifiedTradeProduct") && !has_ancestor(c, "ShipToTradeParty"))
			rc = add_coded(m, "iso6523_icd", "BR-CL-10", "identifier scheme", c, "schemeID") < 0 ||
					     add_ident(m, c) < 0 ? -1 : 0;
		else if (strcmp(name, "ID") == 0 && has_attr(c, "schemeID") && parent_is(c, "SpecifiedTaxRegistration")) {
			char *scheme = rl_xml_attr(c, NULL, "schemeID");

			if (scheme && strcmp(scheme, "VA") == 0)
				rc = add_coded(m, "vat_prefix", "BR-CO-09", "VAT identifier", c, NULL);
			free(scheme);
		} else if (strcmp(name, "ID") == 0 && has_attr(c, "schemeID"))
			rc = add_coded(m, "iso6523_icd", "BR-CL-11", "identifier scheme", c, "schemeID") < 0 ||
					     add_ident(m, c) < 0 ? -1 : 0;
		else if (strcmp(name, "CountryID") == 0)
			rc = add_coded(m, "iso3166", "BR-CL-14", "country code", c, NULL);
		else if (strcmp(name, "CategoryCode") == 0 && parent_is(c, "CategoryTradeTax"))
			rc = add_coded(m, "uncl5305", "BR-CL-17", "VAT category code", c, NULL);
		else if (strcmp(name, "CategoryCode") == 0 && parent_is(c, "ApplicableTradeTax"))
			rc = add_coded(m, "uncl5305", "BR-CL-18", "VAT category code", c, NULL);
		else if ((strcmp(name, "BasisQuantity") == 0 || strcmp(name, "BilledQuantity") == 0) &&
			 has_attr(c, "unitCode"))
			rc = add_coded(m, "unece_rec20", "BR-CL-23", "unit code", c, "unitCode");
		else if (strcmp(name, "URIID") == 0 && parent_is(c, "URIUniversalCommunication") &&
			 has_attr(c, "schemeID"))
			rc = add_coded(m, "eas", "BR-CL-25", "electronic address scheme", c, "schemeID") < 0 ||
					     add_ident(m, c) < 0 ? -1 : 0;
		if (rc < 0 || cii_walk(m, c) < 0)
			return -1;
	}
	return 0;
}

static int cii_party(struct dv_party *p, xmlNodePtr party)
{
	p->node = party;
	p->address = find(party, "PostalTradeAddress");
	if (take(&p->name, party, "Name") < 0 || take(&p->country, p->address, "CountryID") < 0 ||
	    take(&p->endpoint, party, "URIUniversalCommunication/URIID") < 0 ||
	    take_attr(&p->endpoint_scheme, find(party, "URIUniversalCommunication/URIID"), "schemeID") < 0)
		return -1;
	return 0;
}

static int cii_line(struct dv_model *m, xmlNodePtr ln)
{
	struct dv_line *l;
	xmlNodePtr qty = find(ln, "SpecifiedLineTradeDelivery/BilledQuantity");

	if (GROW(m, lines) < 0)
		return -1;
	l = &m->lines[m->lines_count++];
	l->node = ln;
	if (take(&l->id, ln, "AssociatedDocumentLineDocument/LineID") < 0 || take_node(&l->quantity, qty) < 0 ||
	    take_attr(&l->unit, qty, "unitCode") < 0 ||
	    take(&l->net, ln, "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount") < 0 ||
	    take(&l->item_name, ln, "SpecifiedTradeProduct/Name") < 0 ||
	    take(&l->net_price, ln, "SpecifiedLineTradeAgreement/NetPriceProductTradePrice/ChargeAmount") < 0 ||
	    take(&l->gross_price, ln, "SpecifiedLineTradeAgreement/GrossPriceProductTradePrice/ChargeAmount") < 0 ||
	    take(&l->vat_category, ln, "SpecifiedLineTradeSettlement/ApplicableTradeTax/CategoryCode") < 0 ||
	    take(&l->vat_rate, ln, "SpecifiedLineTradeSettlement/ApplicableTradeTax/RateApplicablePercent") < 0)
		return -1;
	l->vat_scheme = is_vat_at(ln, "SpecifiedLineTradeSettlement/ApplicableTradeTax/TypeCode");
	return 0;
}

static int cii_settlement(struct dv_model *m, xmlNodePtr stl)
{
	xmlNodePtr totals = child(stl, "SpecifiedTradeSettlementHeaderMonetarySummation");

	m->settlement = stl;
	m->totals = totals;
	if (take(&m->line_total, totals, "LineTotalAmount") < 0 ||
	    take(&m->allowance_total, totals, "AllowanceTotalAmount") < 0 ||
	    take(&m->charge_total, totals, "ChargeTotalAmount") < 0 ||
	    take(&m->tax_exclusive, totals, "TaxBasisTotalAmount") < 0 ||
	    take(&m->tax_inclusive, totals, "GrandTotalAmount") < 0 ||
	    take(&m->prepaid, totals, "TotalPrepaidAmount") < 0 || take(&m->rounding, totals, "RoundingAmount") < 0 ||
	    take(&m->payable, totals, "DuePayableAmount") < 0)
		return -1;
	for (xmlNodePtr c = totals ? totals->children : NULL; c; c = c->next) {
		char *cur;
		int same;

		if (!is_named(c, "TaxTotalAmount"))
			continue;
		cur = rl_xml_attr(c, NULL, "currencyID");
		same = cur && m->currency.text && strcmp(cur, m->currency.text) == 0;
		free(cur);
		if (same && (GROW(m, tax_totals) < 0 || take_node(&m->tax_totals[m->tax_totals_count++], c) < 0))
			return -1;
	}
	for (xmlNodePtr c = stl ? stl->children : NULL; c; c = c->next) {
		if (is_named(c, "ApplicableTradeTax")) {
			struct dv_vat *v;

			if (GROW(m, vat) < 0)
				return -1;
			v = &m->vat[m->vat_count++];
			v->node = c;
			if (take(&v->taxable, c, "BasisAmount") < 0 || take(&v->tax, c, "CalculatedAmount") < 0 ||
			    take(&v->category, c, "CategoryCode") < 0 || take(&v->rate, c, "RateApplicablePercent") < 0)
				return -1;
			v->vat_scheme = 1;
			v->exemption = child(c, "ExemptionReason");
			if (v->exemption == NULL)
				v->exemption = child(c, "ExemptionReasonCode");
		} else if (is_named(c, "SpecifiedTradeAllowanceCharge")) {
			struct dv_allowance *a;
			char *indicator;

			if (GROW(m, allowances) < 0)
				return -1;
			a = &m->allowances[m->allowances_count++];
			a->node = c;
			indicator = rl_xml_text(find(c, "ChargeIndicator/Indicator"));
			a->charge = is_boolean_true(indicator);
			free(indicator);
			a->vat_scheme = is_vat_at(c, "CategoryTradeTax/TypeCode");
			if (take(&a->amount, c, "ActualAmount") < 0 ||
			    take(&a->vat_category, c, "CategoryTradeTax/CategoryCode") < 0 ||
			    take(&a->vat_rate, c, "CategoryTradeTax/RateApplicablePercent") < 0 ||
			    take(&a->reason, c, "Reason") < 0 || take(&a->reason_code, c, "ReasonCode") < 0)
				return -1;
		}
	}
	return 0;
}

/* BR-CO-26 in CII: ID, GlobalID, a legal organization ID or a VAT registration (schemeID VA). */
static int cii_seller_identified(xmlNodePtr seller)
{
	if (child(seller, "ID") || child(seller, "GlobalID") || find(seller, "SpecifiedLegalOrganization/ID"))
		return 1;
	for (xmlNodePtr c = seller ? seller->children : NULL; c; c = c->next)
		if (is_named(c, "SpecifiedTaxRegistration")) {
			char *scheme = rl_xml_attr(child(c, "ID"), NULL, "schemeID");
			int vat = scheme && strcmp(scheme, "VA") == 0;

			free(scheme);
			if (vat)
				return 1;
		}
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
	    cii_party(&m->seller, child(agreement, "SellerTradeParty")) < 0 ||
	    cii_party(&m->buyer, child(agreement, "BuyerTradeParty")) < 0 || cii_settlement(m, stl) < 0)
		return -1;
	m->seller_context = child(agreement, "SellerTradeParty");
	m->seller_identified = cii_seller_identified(m->seller_context);
	for (xmlNodePtr c = stt ? stt->children : NULL; c; c = c->next)
		if (is_named(c, "IncludedSupplyChainTradeLineItem") && cii_line(m, c) < 0)
			return -1;
	return cii_walk(m, root);
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

/*
 * docval_rules.c - the built-in EN 16931 rules (and the Peppol BIS 3 ones relais implements) over the
 * model of src/docval_model.h. Each rule follows the test of the official schematron for the same id,
 * context included, so that a document the schematron rejects on a rule listed here is rejected here
 * too. Amounts use exact decimals; rounding is XPath's round(x * 100) div 100.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/doc.h"
#include "relais/docval.h"
#include "relais/xml.h"
#include "docval_model.h"

static const char *const rule_ids[] = {
	"BR-01", "BR-02", "BR-03", "BR-04", "BR-05", "BR-06", "BR-07", "BR-08", "BR-09", "BR-10", "BR-11",
	"BR-12", "BR-13", "BR-14", "BR-15", "BR-16", "BR-21", "BR-22", "BR-23", "BR-24", "BR-25", "BR-26",
	"BR-27", "BR-28", "BR-31", "BR-32", "BR-33", "BR-36", "BR-37", "BR-38",
	"BR-CO-09", "BR-CO-10", "BR-CO-11", "BR-CO-12", "BR-CO-13", "BR-CO-14", "BR-CO-15", "BR-CO-16",
	"BR-CO-04", "BR-CO-17", "BR-CO-18", "BR-CO-26",
	"BR-CL-01", "BR-CL-03", "BR-CL-04", "BR-CL-10", "BR-CL-11", "BR-CL-14", "BR-CL-17", "BR-CL-18",
	"BR-CL-23", "BR-CL-25",
	"BR-S-05", "BR-S-06", "BR-S-07", "BR-S-08", "BR-S-09", "BR-S-10",
	"BR-Z-05", "BR-Z-06", "BR-Z-07", "BR-Z-08", "BR-Z-09", "BR-Z-10",
	"BR-E-05", "BR-E-06", "BR-E-07", "BR-E-08", "BR-E-09", "BR-E-10",
	"BR-AE-05", "BR-AE-06", "BR-AE-07", "BR-AE-08", "BR-AE-09", "BR-AE-10",
	"BR-IC-05", "BR-IC-06", "BR-IC-07", "BR-IC-08", "BR-IC-09", "BR-IC-10",
	"BR-G-05", "BR-G-06", "BR-G-07", "BR-G-08", "BR-G-09", "BR-G-10",
	"PEPPOL-EN16931-R001", "PEPPOL-EN16931-R003", "PEPPOL-EN16931-R004", "PEPPOL-EN16931-R010",
	"PEPPOL-EN16931-R020", "PEPPOL-COMMON-R040", "PEPPOL-COMMON-R041", "PEPPOL-COMMON-R043",
	"RELAIS-FR-SIREN", "RELAIS-FR-SIRET",
	NULL
};

const char *const *rl_docval_rule_ids(void)
{
	return rule_ids;
}

struct run {
	const struct dv_model *m;
	struct rl_findings *out;
	int failed;	/* out of memory */
};

/* Adds a finding of the given severity located at node (the document root when NULL). */
static void finding(struct run *r, int severity, const char *rule, xmlNodePtr node, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void finding(struct run *r, int severity, const char *rule, xmlNodePtr node, const char *fmt, ...)
{
	char msg[512];
	char *loc = dv_location(node ? node : r->m->root);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (loc == NULL || rl_findings_add(r->out, rule, severity, loc, "%s", msg) < 0)
		r->failed = 1;
	free(loc);
}

/* A fatal finding: what EN 16931 and Peppol BIS 3 require. */
#define report(r, ...) finding(r, RL_SEV_FATAL, __VA_ARGS__)
/* A warning: for checks relais makes beyond EN 16931 and Peppol BIS 3. */
#define warn(r, ...) finding(r, RL_SEV_WARNING, __VA_ARGS__)

static int blank(const struct dv_text *t)
{
	return t->text == NULL || t->text[0] == '\0';
}

/* Parses a value; 0 when present and a usable decimal. */
static int dec(const struct dv_text *t, struct dv_dec *d)
{
	return t->text ? dv_dec_parse(t->text, d) : -1;
}

/* Adds a present value to sum, as XPath sum() does (an absent one adds nothing); sets *unusable when
 * it is not a decimal. */
static void add_amount(const struct dv_text *t, struct dv_dec *sum, int *unusable)
{
	struct dv_dec d;

	if (t->text == NULL)
		return;
	if (dec(t, &d) < 0)
		*unusable = 1;
	else
		sum->units += d.units;
}

static int dec_eq(struct dv_dec a, struct dv_dec b)
{
	return a.units == b.units;
}

static const char *fmt_dec(struct dv_dec d, char *buf, size_t size)
{
	dv_dec_format(d, buf, size);
	return buf;
}

/* ---- mandatory business terms ---- */

static void mandatory(struct run *r)
{
	const struct dv_model *m = r->m;
	int ubl = m->syntax == RL_DOC_SYNTAX_UBL;

	if (blank(&m->customization))
		report(r, "BR-01", NULL, "An Invoice shall have a Specification identifier (BT-24).");
	if (blank(&m->id))
		report(r, "BR-02", NULL, "An Invoice shall have an Invoice number (BT-1).");
	if (blank(&m->issue_date))
		report(r, "BR-03", NULL, "An Invoice shall have an Invoice issue date (BT-2).");
	if (blank(&m->type_code))
		report(r, "BR-04", NULL, "An Invoice shall have an Invoice type code (BT-3).");
	if (blank(&m->currency))
		report(r, "BR-05", NULL, "An Invoice shall have an Invoice currency code (BT-5).");
	if (blank(&m->seller.name))
		report(r, "BR-06", m->seller.node, "An Invoice shall contain the Seller name (BT-27).");
	if (blank(&m->buyer.name))
		report(r, "BR-07", m->buyer.node, "An Invoice shall contain the Buyer name (BT-44).");
	if (m->seller.address == NULL)
		report(r, "BR-08", m->seller.node, "An Invoice shall contain the Seller postal address (BG-5).");
	/* UBL checks the country inside an address; CII at the root. */
	if ((ubl ? m->seller.address != NULL : 1) && blank(&m->seller.country))
		report(r, "BR-09", m->seller.address, "The Seller postal address (BG-5) shall contain a Seller country code (BT-40).");
	if (m->buyer.address == NULL)
		report(r, "BR-10", m->buyer.node, "An Invoice shall contain the Buyer postal address (BG-8).");
	if ((ubl ? m->buyer.address != NULL : 1) && blank(&m->buyer.country))
		report(r, "BR-11", m->buyer.address, "The Buyer postal address shall contain a Buyer country code (BT-55).");
	if (m->totals) {
		if (m->line_total.text == NULL)
			report(r, "BR-12", m->totals, "An Invoice shall have the Sum of Invoice line net amount (BT-106).");
		if (m->tax_exclusive.text == NULL)
			report(r, "BR-13", m->totals, "An Invoice shall have the Invoice total amount without VAT (BT-109).");
		if (m->tax_inclusive.text == NULL)
			report(r, "BR-14", m->totals, "An Invoice shall have the Invoice total amount with VAT (BT-112).");
		if (m->payable.text == NULL)
			report(r, "BR-15", m->totals, "An Invoice shall have the Amount due for payment (BT-115).");
	}
	if (m->seller_context && !m->seller_identified)
		report(r, "BR-CO-26", m->seller_context,
		       "In order for the buyer to automatically identify a supplier, the Seller identifier (BT-29), the Seller legal registration identifier (BT-30) and/or the Seller VAT identifier (BT-31) shall be present.");
	if (m->lines_count == 0)
		report(r, "BR-16", NULL, "An Invoice shall have at least one Invoice line (BG-25).");
	if (ubl ? m->tax_total_groups_count == 0 || m->vat_count == 0 : m->vat_count == 0)
		report(r, "BR-CO-18", NULL, "An Invoice shall at least have one VAT breakdown group (BG-23).");
}

static void lines(struct run *r)
{
	for (size_t i = 0; i < r->m->lines_count; i++) {
		const struct dv_line *l = &r->m->lines[i];
		struct dv_dec price;

		if (blank(&l->id))
			report(r, "BR-21", l->node, "Each Invoice line (BG-25) shall have an Invoice line identifier (BT-126).");
		if (l->quantity.node == NULL)
			report(r, "BR-22", l->node, "Each Invoice line (BG-25) shall have an Invoiced quantity (BT-129).");
		if (l->unit.text == NULL)
			report(r, "BR-23", l->node, "An Invoice line (BG-25) shall have an Invoiced quantity unit of measure code (BT-130).");
		if (l->net.text == NULL)
			report(r, "BR-24", l->node, "Each Invoice line (BG-25) shall have an Invoice line net amount (BT-131).");
		if (!l->vat_scheme || l->vat_category.node == NULL)
			report(r, "BR-CO-04", l->node, "Each Invoice line (BG-25) shall be categorized with an Invoiced item VAT category code (BT-151).");
		if (blank(&l->item_name))
			report(r, "BR-25", l->node, "Each Invoice line (BG-25) shall contain the Item name (BT-153).");
		if (l->net_price.text == NULL)
			report(r, "BR-26", l->node, "Each Invoice line (BG-25) shall contain the Item net price (BT-146).");
		/* "(price) >= 0" is false for an absent price too. */
		if (dec(&l->net_price, &price) < 0 || price.units < 0)
			report(r, "BR-27", l->net_price.node ? l->net_price.node : l->node,
			       "The Item net price (BT-146) shall NOT be negative.");
		if (l->gross_price.text && (dec(&l->gross_price, &price) < 0 || price.units < 0))
			report(r, "BR-28", l->gross_price.node, "The Item gross price (BT-148) shall NOT be negative.");
	}
}

static void allowances(struct run *r)
{
	for (size_t i = 0; i < r->m->allowances_count; i++) {
		const struct dv_allowance *a = &r->m->allowances[i];

		if (a->amount.text == NULL)
			report(r, a->charge ? "BR-36" : "BR-31", a->node, "Each Document level %s (BG-%s) shall have an amount (BT-%s).",
			       a->charge ? "charge" : "allowance", a->charge ? "21" : "20", a->charge ? "99" : "92");
		if (a->vat_category.text == NULL)
			report(r, a->charge ? "BR-37" : "BR-32", a->node,
			       "Each Document level %s (BG-%s) shall have a VAT category code (BT-%s).",
			       a->charge ? "charge" : "allowance", a->charge ? "21" : "20", a->charge ? "102" : "95");
		if (a->reason.node == NULL && a->reason_code.node == NULL)
			report(r, a->charge ? "BR-38" : "BR-33", a->node,
			       "Each Document level %s (BG-%s) shall have a reason or a reason code.",
			       a->charge ? "charge" : "allowance", a->charge ? "21" : "20");
	}
}

/* ---- calculations (BR-CO-10 .. BR-CO-17) ---- */

/* Sum of the document level allowances (charge 0) or charges (charge 1); -1 when one is unusable. */
static int sum_allowances(const struct dv_model *m, int charge, struct dv_dec *sum, int *count)
{
	int unusable = 0;

	sum->units = 0;
	*count = 0;
	for (size_t i = 0; i < m->allowances_count && !unusable; i++) {
		if (m->allowances[i].charge != charge)
			continue;
		(*count)++;
		add_amount(&m->allowances[i].amount, sum, &unusable);
	}
	return unusable ? -1 : 0;
}

static void totals(struct run *r)
{
	const struct dv_model *m = r->m;
	struct dv_dec lines_sum = { 0 }, line_total, allow_sum, charge_sum, allow, charge, excl, incl, prepaid,
		       rounding, payable, expect;
	int n_allow, n_charge, ok, unusable;
	char a[64], b[64];

	if (m->totals == NULL)
		return;
	/* BR-CO-10 */
	unusable = 0;
	for (size_t i = 0; i < m->lines_count && !unusable; i++)
		add_amount(&m->lines[i].net, &lines_sum, &unusable);
	ok = !unusable;
	if (!ok || dec(&m->line_total, &line_total) < 0 || !dec_eq(line_total, dv_dec_round2(lines_sum)))
		report(r, "BR-CO-10", m->line_total.node ? m->line_total.node : m->totals,
		       "Sum of Invoice line net amount (BT-106) %s = Σ Invoice line net amount (BT-131) %s.",
		       m->line_total.text ? m->line_total.text : "(absent)", ok ? fmt_dec(lines_sum, b, sizeof(b)) : "(not computable)");
	/* BR-CO-11, BR-CO-12 */
	if (sum_allowances(m, 0, &allow_sum, &n_allow) < 0 ||
	    (m->allowance_total.text && (dec(&m->allowance_total, &allow) < 0 || !dec_eq(allow, dv_dec_round2(allow_sum)))) ||
	    (m->allowance_total.text == NULL && n_allow > 0))
		report(r, "BR-CO-11", m->allowance_total.node ? m->allowance_total.node : m->totals,
		       "Sum of allowances on document level (BT-107) %s = Σ Document level allowance amount (BT-92) %s.",
		       m->allowance_total.text ? m->allowance_total.text : "(absent)", fmt_dec(allow_sum, b, sizeof(b)));
	if (sum_allowances(m, 1, &charge_sum, &n_charge) < 0 ||
	    (m->charge_total.text && (dec(&m->charge_total, &charge) < 0 || !dec_eq(charge, dv_dec_round2(charge_sum)))) ||
	    (m->charge_total.text == NULL && n_charge > 0))
		report(r, "BR-CO-12", m->charge_total.node ? m->charge_total.node : m->totals,
		       "Sum of charges on document level (BT-108) %s = Σ Document level charge amount (BT-99) %s.",
		       m->charge_total.text ? m->charge_total.text : "(absent)", fmt_dec(charge_sum, b, sizeof(b)));
	/* BR-CO-13: BT-109 = BT-106 - BT-107 + BT-108 */
	ok = dec(&m->tax_exclusive, &excl) == 0 && dec(&m->line_total, &line_total) == 0 &&
	     (m->allowance_total.text == NULL || dec(&m->allowance_total, &allow) == 0) &&
	     (m->charge_total.text == NULL || dec(&m->charge_total, &charge) == 0);
	if (ok) {
		expect = line_total;
		if (m->allowance_total.text)
			expect.units -= allow.units;
		if (m->charge_total.text)
			expect.units += charge.units;
		if (m->allowance_total.text || m->charge_total.text)
			expect = dv_dec_round2(expect);
		ok = dec_eq(excl, expect);
	}
	if (!ok)
		report(r, "BR-CO-13", m->tax_exclusive.node ? m->tax_exclusive.node : m->totals,
		       "Invoice total amount without VAT (BT-109) %s = Σ Invoice line net amount (BT-106) - Sum of allowances on document level (BT-107) + Sum of charges on document level (BT-108).",
		       m->tax_exclusive.text ? m->tax_exclusive.text : "(absent)");
	/* BR-CO-16: BT-115 = BT-112 - BT-113 + BT-114 */
	ok = dec(&m->payable, &payable) == 0 && dec(&m->tax_inclusive, &incl) == 0 &&
	     (m->prepaid.text == NULL || dec(&m->prepaid, &prepaid) == 0) &&
	     (m->rounding.text == NULL || dec(&m->rounding, &rounding) == 0);
	if (ok) {
		struct dv_dec left = payable, right = incl;

		if (m->syntax == RL_DOC_SYNTAX_CII) {
			if (m->prepaid.text)
				right.units -= prepaid.units;
			if (m->rounding.text)
				right.units += rounding.units;
			ok = dec_eq(left, right);
		} else {
			if (m->rounding.text)
				left = dv_dec_round2((struct dv_dec){ payable.units - rounding.units });
			if (m->prepaid.text)
				right = dv_dec_round2((struct dv_dec){ incl.units - prepaid.units });
			ok = dec_eq(left, right);
		}
	}
	if (!ok)
		report(r, "BR-CO-16", m->payable.node ? m->payable.node : m->totals,
		       "Amount due for payment (BT-115) %s = Invoice total amount with VAT (BT-112) %s - Paid amount (BT-113) + Rounding amount (BT-114).",
		       m->payable.text ? m->payable.text : "(absent)", m->tax_inclusive.text ? m->tax_inclusive.text : "(absent)");
	(void)a;
}

/* round(|taxable| x rate / 100, 2): the VAT amount a taxable amount and rate make; -1 on overflow. */
static int expected_tax(struct dv_dec taxable, struct dv_dec rate, struct dv_dec *expect)
{
	struct dv_dec abs_taxable = { taxable.units < 0 ? -taxable.units : taxable.units }, product;

	if (dv_dec_mul(abs_taxable, rate, &product) < 0)
		return -1;
	product.units /= 100;
	*expect = dv_dec_round2(product);
	return 0;
}

/* |tax| is less than 1 away from expect (1 away too when inclusive). */
static int tax_within_one(struct dv_dec tax, struct dv_dec expect, int inclusive)
{
	dv_int abs_tax = tax.units < 0 ? -tax.units : tax.units;

	if (inclusive)
		return abs_tax - DV_DEC_SCALE <= expect.units && abs_tax + DV_DEC_SCALE >= expect.units;
	return abs_tax - DV_DEC_SCALE < expect.units && abs_tax + DV_DEC_SCALE > expect.units;
}

static void vat(struct run *r)
{
	const struct dv_model *m = r->m;
	struct dv_dec excl, incl, vat_total, sum;
	char b[64];
	int ok, unusable;

	/* BR-CO-14 */
	if (m->syntax == RL_DOC_SYNTAX_UBL) {
		for (size_t g = 0; g < m->tax_total_groups_count; g++) {
			xmlNodePtr group = m->tax_total_groups[g];
			int subtotals = 0;
			struct dv_text amount = { NULL, NULL };
			struct dv_dec t;

			sum.units = 0;
			unusable = 0;
			for (size_t i = 0; i < m->vat_count; i++) {
				if (m->vat[i].node->parent != group)
					continue;
				subtotals++;
				add_amount(&m->vat[i].tax, &sum, &unusable);
			}
			ok = !unusable;
			if (subtotals == 0)
				continue;
			for (xmlNodePtr c = group->children; c; c = c->next)
				if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "TaxAmount") == 0) {
					amount.node = c;
					break;
				}
			amount.text = rl_xml_text(amount.node);
			if (!ok || dec(&amount, &t) < 0 || !dec_eq(t, dv_dec_round2(sum)))
				report(r, "BR-CO-14", amount.node ? amount.node : group,
				       "Invoice total VAT amount (BT-110) %s = Σ VAT category tax amount (BT-117) %s.",
				       amount.text ? amount.text : "(absent)", fmt_dec(sum, b, sizeof(b)));
			free(amount.text);
		}
	} else {
		sum.units = 0;
		unusable = 0;
		for (size_t i = 0; i < m->vat_count; i++)
			add_amount(&m->vat[i].tax, &sum, &unusable);
		ok = !unusable;
		for (size_t i = 0; i < m->tax_totals_count; i++)
			if (!ok || dec(&m->tax_totals[i], &vat_total) < 0 || !dec_eq(vat_total, dv_dec_round2(sum)))
				report(r, "BR-CO-14", m->tax_totals[i].node,
				       "Invoice total VAT amount (BT-110) %s = Σ VAT category tax amount (BT-117) %s.",
				       m->tax_totals[i].text, fmt_dec(sum, b, sizeof(b)));
	}
	/* BR-CO-15: exactly one VAT total in the invoice currency, and BT-112 = BT-109 + BT-110. */
	if (!blank(&m->currency)) {
		ok = m->tax_totals_count == 1 && dec(&m->tax_inclusive, &incl) == 0 &&
		     dec(&m->tax_exclusive, &excl) == 0 && dec(&m->tax_totals[0], &vat_total) == 0 &&
		     dec_eq(incl, dv_dec_round2((struct dv_dec){ excl.units + vat_total.units }));
		/* CII also accepts BT-112 = BT-109 whatever the VAT totals say. */
		if (!ok && m->syntax == RL_DOC_SYNTAX_CII)
			ok = dec(&m->tax_inclusive, &incl) == 0 && dec(&m->tax_exclusive, &excl) == 0 && dec_eq(incl, excl);
		if (!ok)
			report(r, "BR-CO-15", m->tax_inclusive.node ? m->tax_inclusive.node : m->totals,
			       "Invoice total amount with VAT (BT-112) %s = Invoice total amount without VAT (BT-109) %s + Invoice total VAT amount (BT-110)%s.",
			       m->tax_inclusive.text ? m->tax_inclusive.text : "(absent)",
			       m->tax_exclusive.text ? m->tax_exclusive.text : "(absent)",
			       m->tax_totals_count == 1 ? "" : " (there must be exactly one in the invoice currency)");
	}
	/* BR-CO-17: VAT category tax amount = taxable amount x rate / 100, within 1 either way. */
	for (size_t i = 0; i < m->vat_count; i++) {
		const struct dv_vat *v = &m->vat[i];
		struct dv_dec rate, tax, taxable, expect;

		if (m->syntax == RL_DOC_SYNTAX_CII && v->node->parent != m->settlement)
			continue;
		if (dec(&v->tax, &tax) < 0) {
			report(r, "BR-CO-17", v->node, "VAT category tax amount (BT-117) is missing or not a number.");
			continue;
		}
		if (v->rate.text == NULL || dv_dec_round0((dec(&v->rate, &rate) == 0 ? rate : (struct dv_dec){ 0 })).units == 0) {
			if (v->rate.text && dec(&v->rate, &rate) < 0)
				ok = 0;
			else
				ok = dv_dec_round0(tax).units == 0;
		} else {
			/* UBL's test has strict bounds, CII's inclusive ones. */
			ok = dec(&v->taxable, &taxable) == 0 && expected_tax(taxable, rate, &expect) == 0 &&
			     tax_within_one(tax, expect, m->syntax == RL_DOC_SYNTAX_CII);
		}
		if (!ok)
			report(r, "BR-CO-17", v->tax.node ? v->tax.node : v->node,
			       "VAT category tax amount (BT-117) %s = VAT category taxable amount (BT-116) %s x (VAT category rate (BT-119) %s / 100), rounded to two decimals.",
			       v->tax.text ? v->tax.text : "(absent)", v->taxable.text ? v->taxable.text : "(absent)",
			       v->rate.text ? v->rate.text : "(absent)");
	}
}

/* ---- VAT categories: standard rated (S), zero rated (Z), exempt (E), reverse charge (AE),
 * intra-community supply (K, rules BR-IC-*), export (G). Only S has a rate above zero and a tax amount;
 * E, AE, K and G need an exemption reason, S and Z must not have one. ---- */

static int is_category(const struct dv_text *t, const char *code)
{
	return t->text && strcmp(t->text, code) == 0;
}

/* The rate a category demands: S more than zero, Z and E zero. An absent rate fails both. */
static int rate_fits(const char *code, const struct dv_text *rate)
{
	struct dv_dec d;

	if (dec(rate, &d) < 0)
		return 0;
	return code[0] == 'S' ? d.units > 0 : d.units == 0;
}

/* What one VAT category (and rate, when rate != NULL) is made of: line net amounts, document level
 * charges and allowances. matched counts the lines and allowances/charges of that category and rate. */
struct category_sums {
	struct dv_dec lines, charges, allowances;
	int matched;
	int unusable;	/* an amount that is not a decimal */
};

static int rate_equals(const struct dv_text *t, const struct dv_dec *rate)
{
	struct dv_dec d;

	return dec(t, &d) == 0 && d.units == rate->units;
}

static struct category_sums category_sums(const struct dv_model *m, const char *code, const struct dv_dec *rate)
{
	struct category_sums c = { { 0 }, { 0 }, { 0 }, 0, 0 };

	for (size_t i = 0; i < m->lines_count; i++) {
		const struct dv_line *l = &m->lines[i];

		if (!is_category(&l->vat_category, code) || (rate && !rate_equals(&l->vat_rate, rate)))
			continue;
		c.matched++;
		add_amount(&l->net, &c.lines, &c.unusable);
	}
	for (size_t i = 0; i < m->allowances_count; i++) {
		const struct dv_allowance *a = &m->allowances[i];

		if (!is_category(&a->vat_category, code) || (rate && !rate_equals(&a->vat_rate, rate)))
			continue;
		c.matched++;
		add_amount(&a->amount, a->charge ? &c.charges : &c.allowances, &c.unusable);
	}
	return c;
}

/* BR-S-08, BR-Z-08, BR-E-08: the taxable amount of a VAT breakdown is what its category is made of.
 * Follows each syntax's own test: UBL S within 1 of the exact sum, UBL Z/E exactly; CII S exactly equal
 * to the sum of the rounded parts, CII Z/E within 1 of it. */
static int category_taxable_ok(const struct dv_model *m, const struct dv_vat *v, const char *code)
{
	int cii = m->syntax == RL_DOC_SYNTAX_CII, standard = code[0] == 'S';
	struct dv_dec taxable, rate, sum;
	struct category_sums c;

	if (standard) {
		if (v->rate.text == NULL)
			return 1;	/* "every $rate in ()" holds */
		if (dec(&v->rate, &rate) < 0)
			return 0;
	}
	c = category_sums(m, code, standard ? &rate : NULL);
	if (c.unusable || dec(&v->taxable, &taxable) < 0)
		return 0;
	if (cii) {
		sum.units = dv_dec_round2(c.lines).units + dv_dec_round2(c.charges).units -
			    dv_dec_round2(c.allowances).units;
		if (standard)
			return taxable.units == sum.units;
		return taxable.units - DV_DEC_SCALE < sum.units && taxable.units + DV_DEC_SCALE > sum.units;
	}
	sum.units = c.lines.units + c.charges.units - c.allowances.units;
	if (standard)
		return c.matched > 0 && taxable.units - DV_DEC_SCALE < sum.units && taxable.units + DV_DEC_SCALE > sum.units;
	return m->lines_count > 0 && taxable.units == sum.units;
}

static void vat_category(struct run *r, const char *code, const char *prefix, const char *name)
{
	const struct dv_model *m = r->m;
	int exempt = strcmp(code, "S") != 0 && strcmp(code, "Z") != 0;
	char rule[16];
	const char *demand = code[0] == 'S' ? "greater than zero" : "0 (zero)";

	for (size_t i = 0; i < m->lines_count; i++) {
		const struct dv_line *l = &m->lines[i];

		if (l->vat_scheme && is_category(&l->vat_category, code) && !rate_fits(code, &l->vat_rate)) {
			snprintf(rule, sizeof(rule), "BR-%s-05", prefix);
			report(r, rule, l->vat_rate.node ? l->vat_rate.node : l->vat_category.node,
			       "In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is \"%s\" the Invoiced item VAT rate (BT-152) shall be %s.",
			       name, demand);
		}
	}
	for (size_t i = 0; i < m->allowances_count; i++) {
		const struct dv_allowance *a = &m->allowances[i];

		if (a->vat_scheme && is_category(&a->vat_category, code) && !rate_fits(code, &a->vat_rate)) {
			snprintf(rule, sizeof(rule), "BR-%s-%s", prefix, a->charge ? "07" : "06");
			report(r, rule, a->vat_rate.node ? a->vat_rate.node : a->vat_category.node,
			       "In a Document level %s where the VAT category code is \"%s\" the VAT rate shall be %s.",
			       a->charge ? "charge (BG-21)" : "allowance (BG-20)", name, demand);
		}
	}
	for (size_t i = 0; i < m->vat_count; i++) {
		const struct dv_vat *v = &m->vat[i];
		struct dv_dec tax, taxable, rate, expect;
		int ok;

		if (!v->vat_scheme || !is_category(&v->category, code) ||
		    (m->syntax == RL_DOC_SYNTAX_CII && v->node->parent != m->settlement))
			continue;
		if (!category_taxable_ok(m, v, code)) {
			snprintf(rule, sizeof(rule), "BR-%s-08", prefix);
			report(r, rule, v->taxable.node ? v->taxable.node : v->node,
			       "In a VAT breakdown (BG-23) where the VAT category code (BT-118) is \"%s\" the VAT category taxable amount (BT-116) %s shall equal the sum of Invoice line net amounts (BT-131) minus document level allowances (BT-92) plus document level charges (BT-99) of that category%s.",
			       name, v->taxable.text ? v->taxable.text : "(absent)", code[0] == 'S' ? " and rate" : "");
		}
		if (code[0] == 'S') {
			ok = dec(&v->tax, &tax) == 0 && dec(&v->taxable, &taxable) == 0 && dec(&v->rate, &rate) == 0 &&
			     expected_tax(taxable, rate, &expect) == 0 && tax_within_one(tax, expect, 0);
		} else {
			ok = dec(&v->tax, &tax) == 0 && tax.units == 0;
		}
		if (!ok) {
			snprintf(rule, sizeof(rule), "BR-%s-09", prefix);
			report(r, rule, v->tax.node ? v->tax.node : v->node,
			       code[0] == 'S' ? "The VAT category tax amount (BT-117) where the VAT category code (BT-118) is \"%s\" shall equal the VAT category taxable amount (BT-116) multiplied by the VAT category rate (BT-119)."
					      : "The VAT category tax amount (BT-117) where the VAT category code (BT-118) is \"%s\" shall equal 0 (zero).",
			       name);
		}
		if (exempt != (v->exemption != NULL)) {
			snprintf(rule, sizeof(rule), "BR-%s-10", prefix);
			report(r, rule, v->exemption ? v->exemption : v->node,
			       exempt ? "A VAT breakdown (BG-23) with VAT category code (BT-118) \"%s\" shall have a VAT exemption reason code (BT-121) or a VAT exemption reason text (BT-120)."
					      : "A VAT breakdown (BG-23) with VAT category code (BT-118) \"%s\" shall not have a VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120).",
			       name);
		}
	}
}

/* ---- code lists ---- */

static void code_lists(struct run *r)
{
	for (size_t i = 0; i < r->m->coded_count; i++) {
		const struct dv_coded *c = &r->m->coded[i];
		const char *v = c->value.text;
		int ok;

		if (strcmp(c->list, "vat_prefix") == 0) {
			char prefix[3] = { 0 };

			strncpy(prefix, v, 2);
			ok = strlen(prefix) == 2 && rl_code_in_list(c->list, prefix);
		} else {
			ok = rl_code_in_list(c->list, v);
		}
		if (!ok)
			report(r, c->rule, c->value.node, "%s \"%.60s\" is not in the code list (%s).", c->what, v,
			       strcmp(c->list, "vat_prefix") == 0 ? "it must start with an ISO 3166-1 alpha-2 country code or EL" : c->list);
	}
}

/* ---- identifiers ---- */

static int all_digits(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Luhn: from the right, every second digit doubled. */
static int luhn_ok(const char *s)
{
	size_t n = strlen(s);
	int sum = 0;

	for (size_t i = 0; i < n; i++) {
		int d = s[n - 1 - i] - '0';

		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

/* GLN (GS1 mod 10): weights 3,1,3,... from the right, the last digit being the check digit. */
static int gln_ok(const char *s)
{
	size_t n = strlen(s);
	int sum = 0;

	if (n == 0 || !all_digits(s, n))
		return 0;
	for (size_t i = 1; i < n; i++)
		sum += (s[n - 1 - i] - '0') * (i % 2 == 1 ? 3 : 1);
	return (10 - sum % 10) % 10 == s[n - 1] - '0';
}

/* Norwegian organisation number: 9 digits, mod 11 with weights 3 2 7 6 5 4 3 2. */
static int no_org_ok(const char *s)
{
	static const int w[8] = { 3, 2, 7, 6, 5, 4, 3, 2 };
	int sum = 0, check;

	if (!all_digits(s, 9))
		return 0;
	for (int i = 0; i < 8; i++)
		sum += (s[i] - '0') * w[i];
	check = 11 - sum % 11;
	if (check == 11)
		check = 0;
	return check != 10 && check == s[8] - '0';
}

/* Belgian enterprise number: 10 digits, the last two are 97 - (first eight mod 97). */
static int be_en_ok(const char *s)
{
	long first = 0;

	if (!all_digits(s, 10))
		return 0;
	for (int i = 0; i < 8; i++)
		first = first * 10 + (s[i] - '0');
	return 97 - first % 97 == (s[8] - '0') * 10 + (s[9] - '0');
}

/* SIRET: 14 digits, Luhn; La Poste's establishments (SIREN 356000000) use digit sum mod 5 instead. */
static int siret_ok(const char *s)
{
	int sum = 0;

	if (!all_digits(s, 14))
		return 0;
	if (strncmp(s, "356000000", 9) == 0 && strcmp(s, "35600000000048") != 0) {
		for (int i = 0; i < 14; i++)
			sum += s[i] - '0';
		return sum % 5 == 0;
	}
	return luhn_ok(s);
}

static void identifiers(struct run *r, int peppol)
{
	for (size_t i = 0; i < r->m->idents_count; i++) {
		const struct dv_ident *id = &r->m->idents[i];
		const char *s = id->scheme.text, *v = id->value.text ? id->value.text : "";

		if (s == NULL)
			continue;
		if (strcmp(s, "0002") == 0 && !(all_digits(v, 9) && luhn_ok(v)))
			warn(r, "RELAIS-FR-SIREN", id->value.node, "SIREN \"%.40s\" (scheme 0002) must be 9 digits with a valid Luhn check digit.", v);
		else if (strcmp(s, "0009") == 0 && !siret_ok(v))
			warn(r, "RELAIS-FR-SIRET", id->value.node, "SIRET \"%.40s\" (scheme 0009) must be 14 digits with a valid Luhn check digit.", v);
		if (!peppol)
			continue;
		if (strcmp(s, "0088") == 0 && !gln_ok(v))
			report(r, "PEPPOL-COMMON-R040", id->value.node, "GLN \"%.40s\" must have a valid format according to GS1 rules.", v);
		else if (strcmp(s, "0192") == 0 && !no_org_ok(v))
			report(r, "PEPPOL-COMMON-R041", id->value.node, "Norwegian organization number \"%.40s\" must be 9 digits with a valid MOD11 check digit.", v);
		else if (strcmp(s, "0208") == 0 && !be_en_ok(v))
			report(r, "PEPPOL-COMMON-R043", id->value.node, "Belgian enterprise number \"%.40s\" must be 10 digits with a valid MOD97 check.", v);
	}
}

/* ---- Peppol BIS 3 ---- */

static int claims_peppol(const struct dv_model *m)
{
	return m->customization.text &&
	       strncmp(m->customization.text, RL_PEPPOL_BIS3_CUSTOMIZATION, strlen(RL_PEPPOL_BIS3_CUSTOMIZATION)) == 0;
}

static void peppol(struct run *r)
{
	const struct dv_model *m = r->m;
	const char *c = m->customization.text;

	if (m->profile.node == NULL)
		report(r, "PEPPOL-EN16931-R001", NULL, "Business process MUST be provided.");
	if (m->buyer_reference.node == NULL && m->order_reference.node == NULL)
		report(r, "PEPPOL-EN16931-R003", NULL, "A buyer reference or purchase order reference MUST be provided.");
	if (c == NULL || strncmp(c, RL_PEPPOL_BIS3_CUSTOMIZATION, strlen(RL_PEPPOL_BIS3_CUSTOMIZATION)) != 0 ||
	    strstr(c, "::"))
		report(r, "PEPPOL-EN16931-R004", m->customization.node,
		       "Specification identifier MUST have the value '" RL_PEPPOL_BIS3_CUSTOMIZATION "'.");
	if (m->buyer.node && m->buyer.endpoint.node == NULL)
		report(r, "PEPPOL-EN16931-R010", m->buyer.node, "Buyer electronic address MUST be provided.");
	if (m->seller.node && m->seller.endpoint.node == NULL)
		report(r, "PEPPOL-EN16931-R020", m->seller.node, "Seller electronic address MUST be provided.");
}

int rl_docval_rules(xmlDocPtr doc, unsigned flags, struct rl_findings *out, struct rl_err *err)
{
	struct dv_model m;
	struct run r = { .m = &m, .out = out };
	int is_peppol;

	if (dv_model_extract(rl_doc_business_root(doc), &m, err) < 0)
		return -1;
	is_peppol = (flags & RL_RULES_PEPPOL) || claims_peppol(&m);
	mandatory(&r);
	lines(&r);
	allowances(&r);
	totals(&r);
	vat(&r);
	vat_category(&r, "S", "S", "Standard rated");
	vat_category(&r, "Z", "Z", "Zero rated");
	vat_category(&r, "E", "E", "Exempt from VAT");
	vat_category(&r, "AE", "AE", "Reverse charge");
	vat_category(&r, "K", "IC", "Intra-community supply");
	vat_category(&r, "G", "G", "Export outside the EU");
	code_lists(&r);
	identifiers(&r, is_peppol);
	if (is_peppol)
		peppol(&r);
	dv_model_free(&m);
	if (r.failed)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory recording findings");
	return 0;
}

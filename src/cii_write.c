/*
 * cii_write.c - writes the EN 16931 model as a UN/CEFACT CII D16B CrossIndustryInvoice, with the
 * elements in the order of the D16B schema. Values the syntax has no place for are reported.
 * See include/relais/en16931.h.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "relais/en16931.h"
#include "en_syntax.h"

struct cii_writer {
	struct xw w;
	const struct rl_en_node *m;
	struct rl_buf *report;
};

#define V(g, id) rl_en_value((g), (id))
#define SUB(node, id) ((node) ? rl_en_value((node), (id)) : NULL)

static void lost(struct cii_writer *c, const struct rl_en_node *n, const char *why)
{
	rl_en_report_lost(c->report, RL_SYNTAX_CII, n, why);
}

/* <outer><inner format="102">YYYYMMDD</inner></outer>; dates in the model are checked ISO dates. */
static void date(struct cii_writer *c, const char *outer, const char *inner, const char *iso)
{
	char d[9];

	if (iso == NULL || en_date_to_102(iso, d) < 0)
		return;
	xw_open(&c->w, outer, NULL);
	xw_leaf(&c->w, inner, d, "format", "102", NULL);
	xw_close(&c->w, outer);
}

/* <outer><ram:tag>value</ram:tag></outer> */
static void wrapped(struct cii_writer *c, const char *outer, const char *tag, const char *value)
{
	if (value == NULL)
		return;
	xw_open(&c->w, outer, NULL);
	xw_leaf(&c->w, tag, value, NULL);
	xw_close(&c->w, outer);
}

/* An identifier with a scheme is a global one (ram:GlobalID), without a scheme a ram:ID. Where the
 * term is 0..1 (`one`), identifiers after the first are reported. */
static void identifiers(struct cii_writer *c, const struct rl_en_node *g, const char *id, const char *scheme,
			int one)
{
	const struct rl_en_node *t, *first = rl_en_get(g, id);

	for (t = first; t; t = rl_en_next(t)) {
		if (one && t != first)
			lost(c, t, NULL);
		else if (V(t, scheme) == NULL)
			xw_leaf(&c->w, "ram:ID", t->value, NULL);
	}
	for (t = first; t && !(one && t != first); t = rl_en_next(t))
		if (V(t, scheme))
			xw_leaf(&c->w, "ram:GlobalID", t->value, "schemeID", V(t, scheme), NULL);
}

static void write_address(struct cii_writer *c, const struct en_address_role *role, const struct rl_en_node *a)
{
	if (a == NULL)
		return;
	xw_open(&c->w, "ram:PostalTradeAddress", NULL);
	xw_leaf(&c->w, "ram:PostcodeCode", V(a, role->post_code), NULL);
	xw_leaf(&c->w, "ram:LineOne", V(a, role->line1), NULL);
	xw_leaf(&c->w, "ram:LineTwo", V(a, role->line2), NULL);
	xw_leaf(&c->w, "ram:LineThree", V(a, role->line3), NULL);
	xw_leaf(&c->w, "ram:CityName", V(a, role->city), NULL);
	xw_leaf(&c->w, "ram:CountryID", V(a, role->country), NULL);
	xw_leaf(&c->w, "ram:CountrySubDivisionName", V(a, role->subdivision), NULL);
	xw_close(&c->w, "ram:PostalTradeAddress");
}

static void tax_registration(struct cii_writer *c, const char *id, const char *scheme)
{
	if (id == NULL)
		return;
	xw_open(&c->w, "ram:SpecifiedTaxRegistration", NULL);
	xw_leaf(&c->w, "ram:ID", id, "schemeID", scheme, NULL);
	xw_close(&c->w, "ram:SpecifiedTaxRegistration");
}

static void write_party(struct cii_writer *c, const char *tag, const struct en_party_role *role)
{
	const struct rl_en_node *g = rl_en_get(c->m, role->group), *t, *ct;
	const char *trading = role->trading_name ? V(g, role->trading_name) : NULL;

	if (g == NULL)
		return;
	xw_open(&c->w, tag, NULL);
	if (role->id)
		identifiers(c, g, role->id, role->id_scheme, role->one_id);
	xw_leaf(&c->w, "ram:Name", V(g, role->name), NULL);
	if (role->legal_info)
		xw_leaf(&c->w, "ram:Description", V(g, role->legal_info), NULL);
	t = role->legal_id ? rl_en_get(g, role->legal_id) : NULL;
	if (t || trading) {
		xw_open(&c->w, "ram:SpecifiedLegalOrganization", NULL);
		if (t)
			xw_leaf(&c->w, "ram:ID", t->value, "schemeID", V(t, role->legal_id_scheme), NULL);
		xw_leaf(&c->w, "ram:TradingBusinessName", trading, NULL);
		xw_close(&c->w, "ram:SpecifiedLegalOrganization");
	}
	for (t = t ? rl_en_next(t) : NULL; t; t = rl_en_next(t))
		lost(c, t, NULL);
	if (role->contact && (ct = rl_en_get(g, role->contact->group))) {
		xw_open(&c->w, "ram:DefinedTradeContact", NULL);
		xw_leaf(&c->w, "ram:PersonName", V(ct, role->contact->name), NULL);
		wrapped(c, "ram:TelephoneUniversalCommunication", "ram:CompleteNumber", V(ct, role->contact->phone));
		wrapped(c, "ram:EmailURIUniversalCommunication", "ram:URIID", V(ct, role->contact->email));
		xw_close(&c->w, "ram:DefinedTradeContact");
	}
	if (role->address)
		write_address(c, role->address, rl_en_get(g, role->address->group));
	if (role->endpoint && (t = rl_en_get(g, role->endpoint))) {
		xw_open(&c->w, "ram:URIUniversalCommunication", NULL);
		xw_leaf(&c->w, "ram:URIID", t->value, "schemeID", V(t, role->endpoint_scheme), NULL);
		xw_close(&c->w, "ram:URIUniversalCommunication");
	}
	if (role->vat_id)
		tax_registration(c, V(g, role->vat_id), "VA");
	if (role->tax_reg_id)
		tax_registration(c, V(g, role->tax_reg_id), "FC");
	xw_close(&c->w, tag);
}

static void referenced_document(struct cii_writer *c, const char *tag, const char *id)
{
	wrapped(c, tag, "ram:IssuerAssignedID", id);
}

static void write_agreement(struct cii_writer *c)
{
	const struct rl_en_node *g, *t;

	xw_open(&c->w, "ram:ApplicableHeaderTradeAgreement", NULL);
	xw_leaf(&c->w, "ram:BuyerReference", V(c->m, "BT-10"), NULL);
	write_party(c, "ram:SellerTradeParty", &en_seller);
	write_party(c, "ram:BuyerTradeParty", &en_buyer);
	write_party(c, "ram:SellerTaxRepresentativeTradeParty", &en_tax_representative);
	referenced_document(c, "ram:SellerOrderReferencedDocument", V(c->m, "BT-14"));
	referenced_document(c, "ram:BuyerOrderReferencedDocument", V(c->m, "BT-13"));
	referenced_document(c, "ram:ContractReferencedDocument", V(c->m, "BT-12"));
	for (g = rl_en_get(c->m, "BG-24"); g; g = rl_en_next(g)) {
		const struct rl_en_node *bin = rl_en_get(g, "BT-125");

		xw_open(&c->w, "ram:AdditionalReferencedDocument", NULL);
		xw_leaf(&c->w, "ram:IssuerAssignedID", V(g, "BT-122"), NULL);
		xw_leaf(&c->w, "ram:URIID", V(g, "BT-124"), NULL);
		xw_leaf(&c->w, "ram:TypeCode", "916", NULL);
		xw_leaf(&c->w, "ram:Name", V(g, "BT-123"), NULL);
		if (bin && bin->stream_path) {
			xw_open(&c->w, "ram:AttachmentBinaryObject", "mimeCode", V(bin, "BT-125-1"), "filename",
				V(bin, "BT-125-2"), NULL);
			xw_base64_file(&c->w, bin->stream_path);
			c->w.depth--;
			xw_raw(&c->w, "</ram:AttachmentBinaryObject>");
		} else if (bin) {
			xw_leaf(&c->w, "ram:AttachmentBinaryObject", bin->value, "mimeCode", V(bin, "BT-125-1"),
				"filename", V(bin, "BT-125-2"), NULL);
		}
		xw_close(&c->w, "ram:AdditionalReferencedDocument");
	}
	if ((t = rl_en_get(c->m, "BT-17"))) {
		xw_open(&c->w, "ram:AdditionalReferencedDocument", NULL);
		xw_leaf(&c->w, "ram:IssuerAssignedID", t->value, NULL);
		xw_leaf(&c->w, "ram:TypeCode", "50", NULL);
		xw_close(&c->w, "ram:AdditionalReferencedDocument");
	}
	for (t = rl_en_get(c->m, "BT-18"); t; t = rl_en_next(t)) {
		xw_open(&c->w, "ram:AdditionalReferencedDocument", NULL);
		xw_leaf(&c->w, "ram:IssuerAssignedID", t->value, NULL);
		xw_leaf(&c->w, "ram:TypeCode", "130", NULL);
		xw_leaf(&c->w, "ram:ReferenceTypeCode", V(t, "BT-18-1"), NULL);
		xw_close(&c->w, "ram:AdditionalReferencedDocument");
	}
	if (V(c->m, "BT-11")) {
		xw_open(&c->w, "ram:SpecifiedProcuringProject", NULL);
		xw_leaf(&c->w, "ram:ID", V(c->m, "BT-11"), NULL);
		/* The project name is mandatory in CII and has no business term. */
		xw_leaf(&c->w, "ram:Name", "Project reference", NULL);
		xw_close(&c->w, "ram:SpecifiedProcuringProject");
	}
	xw_close(&c->w, "ram:ApplicableHeaderTradeAgreement");
}

static void write_delivery(struct cii_writer *c)
{
	const struct rl_en_node *g = rl_en_get(c->m, "BG-13");

	xw_open(&c->w, "ram:ApplicableHeaderTradeDelivery", NULL);
	if (g && (rl_en_get(g, "BT-71") || V(g, "BT-70") || rl_en_get(g, "BG-15"))) {
		xw_open(&c->w, "ram:ShipToTradeParty", NULL);
		identifiers(c, g, "BT-71", "BT-71-1", 1);
		xw_leaf(&c->w, "ram:Name", V(g, "BT-70"), NULL);
		write_address(c, &en_deliver_to_address, rl_en_get(g, "BG-15"));
		xw_close(&c->w, "ram:ShipToTradeParty");
	}
	if (SUB(g, "BT-72")) {
		xw_open(&c->w, "ram:ActualDeliverySupplyChainEvent", NULL);
		date(c, "ram:OccurrenceDateTime", "udt:DateTimeString", V(g, "BT-72"));
		xw_close(&c->w, "ram:ActualDeliverySupplyChainEvent");
	}
	referenced_document(c, "ram:DespatchAdviceReferencedDocument", V(c->m, "BT-16"));
	referenced_document(c, "ram:ReceivingAdviceReferencedDocument", V(c->m, "BT-15"));
	xw_close(&c->w, "ram:ApplicableHeaderTradeDelivery");
}

/* Whether an account identifier is an IBAN: two letters, two digits, then letters and digits, 15 to
 * 34 of them in all; spaces between groups are allowed. */
static int looks_like_iban(const char *s)
{
	char c[35];
	size_t i, n = 0;

	for (i = 0; s[i]; i++) {
		if (s[i] == ' ')
			continue;
		if (n == sizeof c - 1)
			return 0;
		c[n++] = s[i];
	}
	if (n < 15 || !(c[0] >= 'A' && c[0] <= 'Z') || !(c[1] >= 'A' && c[1] <= 'Z') ||
	    !(c[2] >= '0' && c[2] <= '9') || !(c[3] >= '0' && c[3] <= '9'))
		return 0;
	for (i = 4; i < n; i++)
		if (!((c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= '0' && c[i] <= '9')))
			return 0;
	return 1;
}

static void write_payment_means(struct cii_writer *c, const struct rl_en_node *dd)
{
	const struct rl_en_node *g, *s, *with_mandate = en_mandate_means(c->m);

	for (g = rl_en_get(c->m, "BG-16"); g; g = rl_en_next(g)) {
		xw_open(&c->w, "ram:SpecifiedTradeSettlementPaymentMeans", NULL);
		xw_leaf(&c->w, "ram:TypeCode", V(g, "BT-81"), NULL);
		xw_leaf(&c->w, "ram:Information", V(g, "BT-82"), NULL);
		if ((s = rl_en_get(g, "BG-18"))) {
			xw_open(&c->w, "ram:ApplicableTradeSettlementFinancialCard", NULL);
			xw_leaf(&c->w, "ram:ID", V(s, "BT-87"), NULL);
			xw_leaf(&c->w, "ram:CardholderName", V(s, "BT-88"), NULL);
			xw_close(&c->w, "ram:ApplicableTradeSettlementFinancialCard");
		}
		if (g == with_mandate && SUB(dd, "BT-91"))
			wrapped(c, "ram:PayerPartyDebtorFinancialAccount", "ram:IBANID", V(dd, "BT-91"));
		if ((s = rl_en_get(g, "BG-17"))) {
			const char *account = V(s, "BT-84");
			int iban = account && looks_like_iban(account);

			xw_open(&c->w, "ram:PayeePartyCreditorFinancialAccount", NULL);
			if (iban)
				xw_leaf(&c->w, "ram:IBANID", account, NULL);
			xw_leaf(&c->w, "ram:AccountName", V(s, "BT-85"), NULL);
			if (!iban)
				xw_leaf(&c->w, "ram:ProprietaryID", account, NULL);
			xw_close(&c->w, "ram:PayeePartyCreditorFinancialAccount");
			wrapped(c, "ram:PayeeSpecifiedCreditorFinancialInstitution", "ram:BICID", V(s, "BT-86"));
		}
		xw_close(&c->w, "ram:SpecifiedTradeSettlementPaymentMeans");
	}
	if (with_mandate == NULL && SUB(dd, "BT-91"))
		lost(c, rl_en_get(dd, "BT-91"), NULL);
}

static void write_vat_breakdown(struct cii_writer *c)
{
	const struct rl_en_node *g = rl_en_get(c->m, "BG-23"), *t;

	if (g == NULL) {
		if ((t = rl_en_get(c->m, "BT-7")))
			lost(c, t, "no VAT breakdown (BG-23) to carry it");
		if ((t = rl_en_get(c->m, "BT-8")))
			lost(c, t, "no VAT breakdown (BG-23) to carry it");
	}
	for (; g; g = rl_en_next(g)) {
		xw_open(&c->w, "ram:ApplicableTradeTax", NULL);
		xw_leaf(&c->w, "ram:CalculatedAmount", V(g, "BT-117"), NULL);
		xw_leaf(&c->w, "ram:TypeCode", "VAT", NULL);
		xw_leaf(&c->w, "ram:ExemptionReason", V(g, "BT-120"), NULL);
		xw_leaf(&c->w, "ram:BasisAmount", V(g, "BT-116"), NULL);
		xw_leaf(&c->w, "ram:CategoryCode", V(g, "BT-118"), NULL);
		xw_leaf(&c->w, "ram:ExemptionReasonCode", V(g, "BT-121"), NULL);
		/* BT-7 and BT-8 are the invoice's: stated once, with the first VAT breakdown. */
		if (g == rl_en_get(c->m, "BG-23")) {
			date(c, "ram:TaxPointDate", "udt:DateString", V(c->m, "BT-7"));
			xw_leaf(&c->w, "ram:DueDateTypeCode", en_tax_point_code_to_cii(V(c->m, "BT-8")), NULL);
		}
		xw_leaf(&c->w, "ram:RateApplicablePercent", V(g, "BT-119"), NULL);
		xw_close(&c->w, "ram:ApplicableTradeTax");
	}
}

static void period(struct cii_writer *c, const char *start, const char *end)
{
	if (start == NULL && end == NULL)
		return;
	xw_open(&c->w, "ram:BillingSpecifiedPeriod", NULL);
	date(c, "ram:StartDateTime", "udt:DateTimeString", start);
	date(c, "ram:EndDateTime", "udt:DateTimeString", end);
	xw_close(&c->w, "ram:BillingSpecifiedPeriod");
}

static void write_allowance_charge(struct cii_writer *c, const struct rl_en_node *g,
				   const struct en_allowance_charge_role *role)
{
	xw_open(&c->w, "ram:SpecifiedTradeAllowanceCharge", NULL);
	wrapped(c, "ram:ChargeIndicator", "udt:Indicator", role->charge ? "true" : "false");
	xw_leaf(&c->w, "ram:CalculationPercent", V(g, role->percent), NULL);
	xw_leaf(&c->w, "ram:BasisAmount", V(g, role->base), NULL);
	xw_leaf(&c->w, "ram:ActualAmount", V(g, role->amount), NULL);
	xw_leaf(&c->w, "ram:ReasonCode", V(g, role->reason_code), NULL);
	xw_leaf(&c->w, "ram:Reason", V(g, role->reason), NULL);
	if (role->vat_category && (V(g, role->vat_category) || V(g, role->vat_rate))) {
		xw_open(&c->w, "ram:CategoryTradeTax", NULL);
		xw_leaf(&c->w, "ram:TypeCode", "VAT", NULL);
		xw_leaf(&c->w, "ram:CategoryCode", V(g, role->vat_category), NULL);
		xw_leaf(&c->w, "ram:RateApplicablePercent", V(g, role->vat_rate), NULL);
		xw_close(&c->w, "ram:CategoryTradeTax");
	}
	xw_close(&c->w, "ram:SpecifiedTradeAllowanceCharge");
}

static void write_allowances_charges(struct cii_writer *c, const struct rl_en_node *parent, int line)
{
	const struct en_allowance_charge_role *role;
	const struct rl_en_node *n;

	/* In document order, whichever kind each is. */
	for (n = parent->first; n; n = n->next)
		if ((role = en_allowance_charge_role_of(n->id, line)))
			write_allowance_charge(c, n, role);
}

static void write_settlement(struct cii_writer *c)
{
	const struct rl_en_node *dd = rl_en_get(c->m, "BG-19"), *g, *t, *totals = rl_en_get(c->m, "BG-22");
	const struct rl_en_node *p = rl_en_get(c->m, "BG-14");
	const char *remittance = NULL;

	xw_open(&c->w, "ram:ApplicableHeaderTradeSettlement", NULL);
	xw_leaf(&c->w, "ram:CreditorReferenceID", SUB(dd, "BT-90"), NULL);
	/* One remittance information for the invoice; a second, different one has no place. */
	if ((t = rl_en_get(c->m, "BT-83"))) {
		remittance = t->value;
		for (t = rl_en_next(t); t; t = rl_en_next(t))
			lost(c, t, NULL);
	}
	xw_leaf(&c->w, "ram:PaymentReference", remittance, NULL);
	xw_leaf(&c->w, "ram:TaxCurrencyCode", V(c->m, "BT-6"), NULL);
	xw_leaf(&c->w, "ram:InvoiceCurrencyCode", V(c->m, "BT-5"), NULL);
	write_party(c, "ram:PayeeTradeParty", &en_payee);
	write_payment_means(c, dd);
	write_vat_breakdown(c);
	period(c, SUB(p, "BT-73"), SUB(p, "BT-74"));
	write_allowances_charges(c, c->m, 0);
	if (rl_en_get(c->m, "BT-20") || V(c->m, "BT-9") || SUB(dd, "BT-89")) {
		xw_open(&c->w, "ram:SpecifiedTradePaymentTerms", NULL);
		for (t = rl_en_get(c->m, "BT-20"); t; t = rl_en_next(t))
			xw_leaf(&c->w, "ram:Description", t->value, NULL);
		date(c, "ram:DueDateDateTime", "udt:DateTimeString", V(c->m, "BT-9"));
		xw_leaf(&c->w, "ram:DirectDebitMandateID", SUB(dd, "BT-89"), NULL);
		xw_close(&c->w, "ram:SpecifiedTradePaymentTerms");
	}
	if (totals) {
		xw_open(&c->w, "ram:SpecifiedTradeSettlementHeaderMonetarySummation", NULL);
		xw_leaf(&c->w, "ram:LineTotalAmount", V(totals, "BT-106"), NULL);
		xw_leaf(&c->w, "ram:ChargeTotalAmount", V(totals, "BT-108"), NULL);
		xw_leaf(&c->w, "ram:AllowanceTotalAmount", V(totals, "BT-107"), NULL);
		xw_leaf(&c->w, "ram:TaxBasisTotalAmount", V(totals, "BT-109"), NULL);
		xw_leaf(&c->w, "ram:TaxTotalAmount", V(totals, "BT-110"), "currencyID", V(c->m, "BT-5"), NULL);
		if ((t = rl_en_get(totals, "BT-111"))) {
			if (V(c->m, "BT-6"))
				xw_leaf(&c->w, "ram:TaxTotalAmount", t->value, "currencyID", V(c->m, "BT-6"), NULL);
			else
				lost(c, t, "no VAT accounting currency (BT-6) to state it in");
		}
		xw_leaf(&c->w, "ram:RoundingAmount", V(totals, "BT-114"), NULL);
		xw_leaf(&c->w, "ram:GrandTotalAmount", V(totals, "BT-112"), NULL);
		xw_leaf(&c->w, "ram:TotalPrepaidAmount", V(totals, "BT-113"), NULL);
		xw_leaf(&c->w, "ram:DuePayableAmount", V(totals, "BT-115"), NULL);
		xw_close(&c->w, "ram:SpecifiedTradeSettlementHeaderMonetarySummation");
	}
	/* CII D16B has room for one preceding invoice reference. */
	if ((g = rl_en_get(c->m, "BG-3"))) {
		xw_open(&c->w, "ram:InvoiceReferencedDocument", NULL);
		xw_leaf(&c->w, "ram:IssuerAssignedID", V(g, "BT-25"), NULL);
		date(c, "ram:FormattedIssueDateTime", "qdt:DateTimeString", V(g, "BT-26"));
		xw_close(&c->w, "ram:InvoiceReferencedDocument");
		for (g = rl_en_next(g); g; g = rl_en_next(g))
			for (t = g->first; t; t = t->next)
				lost(c, t, NULL);
	}
	wrapped(c, "ram:ReceivableSpecifiedTradeAccountingAccount", "ram:ID", V(c->m, "BT-19"));
	xw_close(&c->w, "ram:ApplicableHeaderTradeSettlement");
}

static void write_product(struct cii_writer *c, const struct rl_en_node *item)
{
	const struct rl_en_node *t, *a;

	if (item == NULL)
		return;
	xw_open(&c->w, "ram:SpecifiedTradeProduct", NULL);
	if ((t = rl_en_get(item, "BT-157")))
		xw_leaf(&c->w, "ram:GlobalID", t->value, "schemeID", V(t, "BT-157-1"), NULL);
	xw_leaf(&c->w, "ram:SellerAssignedID", V(item, "BT-155"), NULL);
	xw_leaf(&c->w, "ram:BuyerAssignedID", V(item, "BT-156"), NULL);
	xw_leaf(&c->w, "ram:Name", V(item, "BT-153"), NULL);
	xw_leaf(&c->w, "ram:Description", V(item, "BT-154"), NULL);
	for (a = rl_en_get(item, "BG-32"); a; a = rl_en_next(a)) {
		xw_open(&c->w, "ram:ApplicableProductCharacteristic", NULL);
		xw_leaf(&c->w, "ram:Description", V(a, "BT-160"), NULL);
		xw_leaf(&c->w, "ram:Value", V(a, "BT-161"), NULL);
		xw_close(&c->w, "ram:ApplicableProductCharacteristic");
	}
	for (t = rl_en_get(item, "BT-158"); t; t = rl_en_next(t)) {
		xw_open(&c->w, "ram:DesignatedProductClassification", NULL);
		xw_leaf(&c->w, "ram:ClassCode", t->value, "listID", V(t, "BT-158-1"), "listVersionID",
			V(t, "BT-158-2"), NULL);
		xw_close(&c->w, "ram:DesignatedProductClassification");
	}
	wrapped(c, "ram:OriginTradeCountry", "ram:ID", V(item, "BT-159"));
	xw_close(&c->w, "ram:SpecifiedTradeProduct");
}

static void write_line_agreement(struct cii_writer *c, const struct rl_en_node *l)
{
	const struct rl_en_node *p = rl_en_get(l, "BG-29"), *t;
	const char *gross = SUB(p, "BT-148"), *discount = SUB(p, "BT-147");

	if (p == NULL && V(l, "BT-132") == NULL)
		return;
	xw_open(&c->w, "ram:SpecifiedLineTradeAgreement", NULL);
	if (V(l, "BT-132")) {
		xw_open(&c->w, "ram:BuyerOrderReferencedDocument", NULL);
		xw_leaf(&c->w, "ram:LineID", V(l, "BT-132"), NULL);
		xw_close(&c->w, "ram:BuyerOrderReferencedDocument");
	}
	if (gross) {
		xw_open(&c->w, "ram:GrossPriceProductTradePrice", NULL);
		xw_leaf(&c->w, "ram:ChargeAmount", gross, NULL);
		if (discount) {
			xw_open(&c->w, "ram:AppliedTradeAllowanceCharge", NULL);
			wrapped(c, "ram:ChargeIndicator", "udt:Indicator", "false");
			xw_leaf(&c->w, "ram:ActualAmount", discount, NULL);
			xw_close(&c->w, "ram:AppliedTradeAllowanceCharge");
		}
		xw_close(&c->w, "ram:GrossPriceProductTradePrice");
	} else if ((t = p ? rl_en_get(p, "BT-147") : NULL)) {
		lost(c, t, "a price discount without the gross price (BT-148)");
	}
	if (SUB(p, "BT-146")) {
		xw_open(&c->w, "ram:NetPriceProductTradePrice", NULL);
		xw_leaf(&c->w, "ram:ChargeAmount", V(p, "BT-146"), NULL);
		xw_leaf(&c->w, "ram:BasisQuantity", V(p, "BT-149"), "unitCode", V(p, "BT-150"), NULL);
		xw_close(&c->w, "ram:NetPriceProductTradePrice");
	} else if ((t = p ? rl_en_get(p, "BT-149") : NULL)) {
		lost(c, t, "a base quantity without the net price (BT-146)");
	}
	xw_close(&c->w, "ram:SpecifiedLineTradeAgreement");
}

static void write_line(struct cii_writer *c, const struct rl_en_node *l)
{
	const struct rl_en_node *t, *vat = rl_en_get(l, "BG-30"), *p = rl_en_get(l, "BG-26");

	xw_open(&c->w, "ram:IncludedSupplyChainTradeLineItem", NULL);
	xw_open(&c->w, "ram:AssociatedDocumentLineDocument", NULL);
	xw_leaf(&c->w, "ram:LineID", V(l, "BT-126"), NULL);
	for (t = rl_en_get(l, "BT-127"); t; t = rl_en_next(t))
		wrapped(c, "ram:IncludedNote", "ram:Content", t->value);
	xw_close(&c->w, "ram:AssociatedDocumentLineDocument");
	write_product(c, rl_en_get(l, "BG-31"));
	write_line_agreement(c, l);
	if (V(l, "BT-129")) {
		xw_open(&c->w, "ram:SpecifiedLineTradeDelivery", NULL);
		xw_leaf(&c->w, "ram:BilledQuantity", V(l, "BT-129"), "unitCode", V(l, "BT-130"), NULL);
		xw_close(&c->w, "ram:SpecifiedLineTradeDelivery");
	}
	xw_open(&c->w, "ram:SpecifiedLineTradeSettlement", NULL);
	if (vat) {
		xw_open(&c->w, "ram:ApplicableTradeTax", NULL);
		xw_leaf(&c->w, "ram:TypeCode", "VAT", NULL);
		xw_leaf(&c->w, "ram:CategoryCode", V(vat, "BT-151"), NULL);
		xw_leaf(&c->w, "ram:RateApplicablePercent", V(vat, "BT-152"), NULL);
		xw_close(&c->w, "ram:ApplicableTradeTax");
	}
	period(c, SUB(p, "BT-134"), SUB(p, "BT-135"));
	write_allowances_charges(c, l, 1);
	wrapped(c, "ram:SpecifiedTradeSettlementLineMonetarySummation", "ram:LineTotalAmount", V(l, "BT-131"));
	for (t = rl_en_get(l, "BT-128"); t; t = rl_en_next(t)) {
		xw_open(&c->w, "ram:AdditionalReferencedDocument", NULL);
		xw_leaf(&c->w, "ram:IssuerAssignedID", t->value, NULL);
		xw_leaf(&c->w, "ram:TypeCode", "130", NULL);
		xw_leaf(&c->w, "ram:ReferenceTypeCode", V(t, "BT-128-1"), NULL);
		xw_close(&c->w, "ram:AdditionalReferencedDocument");
	}
	wrapped(c, "ram:ReceivableSpecifiedTradeAccountingAccount", "ram:ID", V(l, "BT-133"));
	xw_close(&c->w, "ram:SpecifiedLineTradeSettlement");
	xw_close(&c->w, "ram:IncludedSupplyChainTradeLineItem");
}

static void write_notes(struct cii_writer *c)
{
	const struct rl_en_node *g;

	for (g = rl_en_get(c->m, "BG-1"); g; g = rl_en_next(g)) {
		xw_open(&c->w, "ram:IncludedNote", NULL);
		xw_leaf(&c->w, "ram:Content", V(g, "BT-22"), NULL);
		xw_leaf(&c->w, "ram:SubjectCode", V(g, "BT-21"), NULL);
		xw_close(&c->w, "ram:IncludedNote");
	}
}

int rl_cii_write(const struct rl_en_node *m, const struct rl_sink *out, struct rl_buf *report,
		 struct rl_err *err)
{
	struct cii_writer c = { .m = m, .report = report };
	const struct rl_en_node *g;

	if (V(m, "BT-1") == NULL || V(m, "BT-2") == NULL)
		return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT, "%s missing: CII needs the invoice number "
				  "and issue date", V(m, "BT-1") == NULL ? "BT-1" : "BT-2");
	xw_init(&c.w, out, err);
	xw_raw(&c.w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	xw_open(&c.w, "rsm:CrossIndustryInvoice", "xmlns:rsm", RL_NS_RSM, "xmlns:ram", RL_NS_RAM,
		"xmlns:qdt", RL_NS_QDT, "xmlns:udt", RL_NS_UDT, NULL);
	xw_open(&c.w, "rsm:ExchangedDocumentContext", NULL);
	g = rl_en_get(m, "BG-2");
	wrapped(&c, "ram:BusinessProcessSpecifiedDocumentContextParameter", "ram:ID", SUB(g, "BT-23"));
	wrapped(&c, "ram:GuidelineSpecifiedDocumentContextParameter", "ram:ID", SUB(g, "BT-24"));
	xw_close(&c.w, "rsm:ExchangedDocumentContext");
	xw_open(&c.w, "rsm:ExchangedDocument", NULL);
	xw_leaf(&c.w, "ram:ID", V(m, "BT-1"), NULL);
	xw_leaf(&c.w, "ram:TypeCode", V(m, "BT-3"), NULL);
	date(&c, "ram:IssueDateTime", "udt:DateTimeString", V(m, "BT-2"));
	write_notes(&c);
	xw_close(&c.w, "rsm:ExchangedDocument");
	xw_open(&c.w, "rsm:SupplyChainTradeTransaction", NULL);
	for (g = rl_en_get(m, "BG-25"); g; g = rl_en_next(g))
		write_line(&c, g);
	write_agreement(&c);
	write_delivery(&c);
	write_settlement(&c);
	xw_close(&c.w, "rsm:SupplyChainTradeTransaction");
	xw_close(&c.w, "rsm:CrossIndustryInvoice");
	return xw_finish(&c.w);
}

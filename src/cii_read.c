/*
 * cii_read.c - reads a UN/CEFACT CII D16B CrossIndustryInvoice (EN 16931 profile, and the EN 16931
 * part of Factur-X/ZUGFeRD documents) into the EN 16931 model, following the CII syntax binding
 * (EN 16931-3-3 as published in the mapping tables). See include/relais/en16931.h.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "relais/en16931.h"
#include "relais/xml.h"
#include "en_read.h"

/* Where CII has the terms of the groups both syntaxes lay out alike (see src/en_read.h). */
static const struct en_period_paths period_paths = {
	"ram:StartDateTime/udt:DateTimeString", "ram:EndDateTime/udt:DateTimeString"
};
static const struct en_preceding_invoice_paths preceding_invoice_paths = {
	"ram:IssuerAssignedID", "ram:FormattedIssueDateTime/qdt:DateTimeString"
};
static const struct en_address_paths address_paths = {
	"ram:LineOne", "ram:LineTwo", "ram:LineThree", "ram:CityName", "ram:PostcodeCode",
	"ram:CountrySubDivisionName", "ram:CountryID"
};
static const struct en_allowance_charge_paths allowance_charge_paths = {
	"ram:ChargeIndicator/udt:Indicator", "ram:ActualAmount", "ram:BasisAmount", "ram:CalculationPercent",
	"ram:Reason", "ram:ReasonCode", "ram:CategoryTradeTax/ram:CategoryCode",
	"ram:CategoryTradeTax/ram:RateApplicablePercent"
};
static const struct en_supporting_document_paths supporting_document_paths = {
	"ram:IssuerAssignedID", "ram:Name", "ram:URIID", "ram:AttachmentBinaryObject"
};
static const struct en_card_paths card_paths = { "ram:ID", "ram:CardholderName" };
/* The VAT totals are ram:TaxTotalAmount elements of the monetary summation. */
static const struct en_totals_paths totals_paths = {
	"ram:LineTotalAmount", "ram:AllowanceTotalAmount", "ram:ChargeTotalAmount", "ram:TaxBasisTotalAmount",
	"ram:TaxTotalAmount", "", NULL,
	"ram:GrandTotalAmount", "ram:TotalPrepaidAmount", "ram:RoundingAmount", "ram:DuePayableAmount"
};
static const struct en_vat_breakdown_paths vat_breakdown_paths = {
	"ram:BasisAmount", "ram:CalculatedAmount", "ram:CategoryCode", "ram:RateApplicablePercent",
	"ram:ExemptionReason", "ram:ExemptionReasonCode"
};
static const struct en_line_vat_paths line_vat_paths = { "ram:CategoryCode", "ram:RateApplicablePercent" };
static const struct en_item_paths item_paths = {
	"ram:Name", "ram:Description", "ram:SellerAssignedID", "ram:BuyerAssignedID", "ram:GlobalID",
	"ram:DesignatedProductClassification", "ram:ClassCode", "ram:OriginTradeCountry/ram:ID",
	"ram:ApplicableProductCharacteristic", "ram:Description", "ram:Value"
};

/* Party identifiers: ram:ID (optionally with a scheme) and ram:GlobalID with its scheme. */
static void read_ids(struct rl_en_node *g, const char *id, const char *scheme_id, xmlNodePtr p)
{
	xmlNodePtr n;

	for (n = en_path(p, "ram:ID"); n; n = en_next(n))
		en_add_attr(en_add_text(g, id, n, ""), scheme_id, n, "", "schemeID");
	for (n = en_path(p, "ram:GlobalID"); n; n = en_next(n))
		en_add_attr(en_add_text(g, id, n, ""), scheme_id, n, "", "schemeID");
}

static void read_party(struct en_reader *r, const struct en_party_role *role, xmlNodePtr p)
{
	struct rl_en_node *g, *t;
	xmlNodePtr n;

	if (p == NULL)
		return;
	g = rl_en_add_group(r->model, role->group);
	if (role->id)
		read_ids(g, role->id, role->id_scheme, p);
	en_add_text(g, role->name, p, "ram:Name");
	if (role->legal_info)
		en_add_text(g, role->legal_info, p, "ram:Description");
	n = en_path(p, "ram:SpecifiedLegalOrganization");
	if (n) {
		if (role->legal_id) {
			t = en_add_text(g, role->legal_id, n, "ram:ID");
			en_add_attr(t, role->legal_id_scheme, n, "ram:ID", "schemeID");
		}
		if (role->trading_name)
			en_add_text(g, role->trading_name, n, "ram:TradingBusinessName");
	}
	n = en_path(p, "ram:DefinedTradeContact");
	if (n && role->contact) {
		struct rl_en_node *c = rl_en_add_group(g, role->contact->group);

		/* The contact point is a person, or else a department. */
		if (en_path(n, "ram:PersonName"))
			en_add_text(c, role->contact->name, n, "ram:PersonName");
		else
			en_add_text(c, role->contact->name, n, "ram:DepartmentName");
		en_add_text(c, role->contact->phone, n, "ram:TelephoneUniversalCommunication/ram:CompleteNumber");
		en_add_text(c, role->contact->email, n, "ram:EmailURIUniversalCommunication/ram:URIID");
		en_drop_if_empty(c);
	}
	en_read_address(g, role->address, en_path(p, "ram:PostalTradeAddress"), &address_paths);
	if (role->endpoint) {
		t = en_add_text(g, role->endpoint, p, "ram:URIUniversalCommunication/ram:URIID");
		en_add_attr(t, role->endpoint_scheme, p, "ram:URIUniversalCommunication/ram:URIID", "schemeID");
	}
	for (n = en_path(p, "ram:SpecifiedTaxRegistration"); n; n = en_next(n)) {
		char *scheme = en_attr(n, "ram:ID", "schemeID");

		if (scheme && strcmp(scheme, "VA") == 0)
			en_add_text(g, role->vat_id, n, "ram:ID");
		else if (scheme && strcmp(scheme, "FC") == 0 && role->tax_reg_id)
			en_add_text(g, role->tax_reg_id, n, "ram:ID");
		free(scheme);
	}
	en_drop_if_empty(g);
}

static void read_agreement(struct en_reader *r, xmlNodePtr a)
{
	xmlNodePtr n;

	en_add_text(r->model, "BT-10", a, "ram:BuyerReference");
	read_party(r, &en_seller, en_path(a, "ram:SellerTradeParty"));
	read_party(r, &en_buyer, en_path(a, "ram:BuyerTradeParty"));
	read_party(r, &en_tax_representative, en_path(a, "ram:SellerTaxRepresentativeTradeParty"));
	en_add_text(r->model, "BT-14", a, "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID");
	en_add_text(r->model, "BT-13", a, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID");
	en_add_text(r->model, "BT-12", a, "ram:ContractReferencedDocument/ram:IssuerAssignedID");
	for (n = en_path(a, "ram:AdditionalReferencedDocument"); n; n = en_next(n)) {
		char *code = en_text(n, "ram:TypeCode");

		if (code && strcmp(code, "50") == 0) {
			en_add_text(r->model, "BT-17", n, "ram:IssuerAssignedID");
		} else if (code && strcmp(code, "130") == 0) {
			struct rl_en_node *t = en_add_text(r->model, "BT-18", n, "ram:IssuerAssignedID");

			if (t)
				en_add_text(t, "BT-18-1", n, "ram:ReferenceTypeCode");
		} else {
			en_read_supporting_document(r->model, n, &supporting_document_paths);
		}
		free(code);
	}
	en_add_text(r->model, "BT-11", a, "ram:SpecifiedProcuringProject/ram:ID");
}

static void read_delivery(struct en_reader *r, xmlNodePtr d)
{
	struct rl_en_node *g = rl_en_add_group(r->model, "BG-13");
	xmlNodePtr ship = en_path(d, "ram:ShipToTradeParty");

	if (ship) {
		read_ids(g, "BT-71", "BT-71-1", ship);
		en_add_text(g, "BT-70", ship, "ram:Name");
		en_read_address(g, &en_deliver_to_address, en_path(ship, "ram:PostalTradeAddress"),
				&address_paths);
	}
	en_read_date(r, g, "BT-72", d, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString");
	en_drop_if_empty(g);
	en_add_text(r->model, "BT-16", d, "ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID");
	en_add_text(r->model, "BT-15", d, "ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID");
}

static void read_payment_means(struct en_reader *r, xmlNodePtr pm, struct rl_en_node *direct_debit)
{
	struct rl_en_node *g = rl_en_add_group(r->model, "BG-16"), *s;
	xmlNodePtr n;

	en_add_text(g, "BT-81", pm, "ram:TypeCode");
	en_add_text(g, "BT-82", pm, "ram:Information");
	n = en_path(pm, "ram:PayeePartyCreditorFinancialAccount");
	if (n) {
		s = rl_en_add_group(g, "BG-17");
		if (en_path(n, "ram:IBANID"))
			en_add_text(s, "BT-84", n, "ram:IBANID");
		else
			en_add_text(s, "BT-84", n, "ram:ProprietaryID");
		en_add_text(s, "BT-85", n, "ram:AccountName");
		en_add_text(s, "BT-86", pm, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID");
		en_drop_if_empty(s);
	}
	en_read_card(g, en_path(pm, "ram:ApplicableTradeSettlementFinancialCard"), &card_paths);
	if (rl_en_get(direct_debit, "BT-91") == NULL)
		en_add_text(direct_debit, "BT-91", pm, "ram:PayerPartyDebtorFinancialAccount/ram:IBANID");
	en_drop_if_empty(g);
}

static void read_settlement(struct en_reader *r, xmlNodePtr s)
{
	struct rl_en_node *dd;
	xmlNodePtr n;

	en_add_text(r->model, "BT-5", s, "ram:InvoiceCurrencyCode");
	en_add_text(r->model, "BT-6", s, "ram:TaxCurrencyCode");
	en_add_text(r->model, "BT-19", s, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID");
	for (n = en_path(s, "ram:SpecifiedTradePaymentTerms"); n; n = en_next(n)) {
		xmlNodePtr d;

		for (d = en_path(n, "ram:Description"); d; d = en_next(d))
			en_add_text(r->model, "BT-20", d, "");
		if (rl_en_get(r->model, "BT-9") == NULL)
			en_read_date(r, r->model, "BT-9", n, "ram:DueDateDateTime/udt:DateTimeString");
	}
	n = en_path(s, "ram:ApplicableTradeTax");
	for (; n; n = en_next(n)) {
		if (rl_en_get(r->model, "BT-7") == NULL)
			en_read_date(r, r->model, "BT-7", n, "ram:TaxPointDate/udt:DateString");
		if (rl_en_get(r->model, "BT-8") == NULL) {
			char *code = en_text(n, "ram:DueDateTypeCode");

			rl_en_add(r->model, "BT-8", en_tax_point_code_from_cii(code));
			free(code);
		}
	}
	read_party(r, &en_payee, en_path(s, "ram:PayeeTradeParty"));
	en_read_period(r, r->model, &en_invoicing_period, en_path(s, "ram:BillingSpecifiedPeriod"),
		       &period_paths);
	dd = rl_en_add_group(r->model, "BG-19");
	for (n = en_path(s, "ram:SpecifiedTradePaymentTerms"); n; n = en_next(n))
		if (rl_en_get(dd, "BT-89") == NULL)
			en_add_text(dd, "BT-89", n, "ram:DirectDebitMandateID");
	en_add_text(dd, "BT-90", s, "ram:CreditorReferenceID");
	en_add_text(r->model, "BT-83", s, "ram:PaymentReference");
	for (n = en_path(s, "ram:SpecifiedTradeSettlementPaymentMeans"); n; n = en_next(n))
		read_payment_means(r, n, dd);
	en_drop_if_empty(dd);
	for (n = en_path(s, "ram:SpecifiedTradeAllowanceCharge"); n; n = en_next(n))
		en_read_allowance_charge(r->model, n, 0, &allowance_charge_paths);
	n = en_path(s, "ram:SpecifiedTradeSettlementHeaderMonetarySummation");
	if (n)
		en_read_totals(r->model, n, n, &totals_paths);
	for (n = en_path(s, "ram:ApplicableTradeTax"); n; n = en_next(n))
		en_read_vat_breakdown(r->model, n, &vat_breakdown_paths);
	for (n = en_path(s, "ram:InvoiceReferencedDocument"); n; n = en_next(n))
		en_read_preceding_invoice(r, n, &preceding_invoice_paths);
}

static void read_line(struct en_reader *r, xmlNodePtr l)
{
	struct rl_en_node *g = rl_en_add_group(r->model, "BG-25"), *s, *t;
	xmlNodePtr n, doc = en_path(l, "ram:AssociatedDocumentLineDocument");
	xmlNodePtr agr = en_path(l, "ram:SpecifiedLineTradeAgreement");
	xmlNodePtr set = en_path(l, "ram:SpecifiedLineTradeSettlement");
	const char *quantity_path;

	en_add_text(g, "BT-126", doc, "ram:LineID");
	for (n = en_path(doc, "ram:IncludedNote"); n; n = en_next(n))
		en_add_text(g, "BT-127", n, "ram:Content");
	/* Line object identifiers: type 130 (the only referenced document a line has in EN 16931). */
	for (n = en_path(set, "ram:AdditionalReferencedDocument"); n; n = en_next(n)) {
		free(en_text(n, "ram:TypeCode"));
		t = en_add_text(g, "BT-128", n, "ram:IssuerAssignedID");
		if (t)
			en_add_text(t, "BT-128-1", n, "ram:ReferenceTypeCode");
	}
	t = en_add_text(g, "BT-129", l, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity");
	rl_en_add_owned(g, "BT-130", en_attr(l, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", "unitCode"));
	en_add_text(g, "BT-131", set, "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount");
	en_add_text(g, "BT-132", agr, "ram:BuyerOrderReferencedDocument/ram:LineID");
	en_add_text(g, "BT-133", set, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID");
	en_read_period(r, g, &en_line_period, en_path(set, "ram:BillingSpecifiedPeriod"), &period_paths);
	for (n = en_path(set, "ram:SpecifiedTradeAllowanceCharge"); n; n = en_next(n))
		en_read_allowance_charge(g, n, 1, &allowance_charge_paths);
	if (agr) {
		s = rl_en_add_group(g, "BG-29");
		en_add_text(s, "BT-146", agr, "ram:NetPriceProductTradePrice/ram:ChargeAmount");
		en_add_text(s, "BT-147", agr,
			    "ram:GrossPriceProductTradePrice/ram:AppliedTradeAllowanceCharge/ram:ActualAmount");
		en_add_text(s, "BT-148", agr, "ram:GrossPriceProductTradePrice/ram:ChargeAmount");
		/* The base quantity belongs to the net price; some documents give it with the gross one. */
		quantity_path = en_path(agr, "ram:NetPriceProductTradePrice/ram:BasisQuantity")
			? "ram:NetPriceProductTradePrice/ram:BasisQuantity"
			: "ram:GrossPriceProductTradePrice/ram:BasisQuantity";
		en_add_text(s, "BT-149", agr, quantity_path);
		rl_en_add_owned(s, "BT-150", en_attr(agr, quantity_path, "unitCode"));
		en_drop_if_empty(s);
	}
	en_read_line_vat(g, en_path(set, "ram:ApplicableTradeTax"), &line_vat_paths);
	en_read_item(g, en_path(l, "ram:SpecifiedTradeProduct"), &item_paths);
}

struct rl_en_node *rl_cii_read(xmlDocPtr doc, struct rl_err *err)
{
	struct en_reader r;
	xmlNodePtr root = xmlDocGetRootElement(doc), tx, n;
	struct rl_en_node *g;

	if (!rl_xml_is(root, RL_NS_RSM, "CrossIndustryInvoice")) {
		rl_err_set(err, RL_EBMS_VALUE_NOT_RECOGNIZED, "not a CII D16B CrossIndustryInvoice");
		return NULL;
	}
	if (en_reader_start(&r, RL_SYNTAX_CII, err) < 0)
		return NULL;
	n = en_path(root, "rsm:ExchangedDocument");
	en_add_text(r.model, "BT-1", n, "ram:ID");
	en_read_date(&r, r.model, "BT-2", n, "ram:IssueDateTime/udt:DateTimeString");
	en_add_text(r.model, "BT-3", n, "ram:TypeCode");
	if (n) {
		xmlNodePtr note;

		for (note = en_path(n, "ram:IncludedNote"); note; note = en_next(note)) {
			g = rl_en_add_group(r.model, "BG-1");
			en_add_text(g, "BT-21", note, "ram:SubjectCode");
			en_add_text(g, "BT-22", note, "ram:Content");
			en_drop_if_empty(g);
		}
	}
	n = en_path(root, "rsm:ExchangedDocumentContext");
	g = rl_en_add_group(r.model, "BG-2");
	en_add_text(g, "BT-23", n, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID");
	en_add_text(g, "BT-24", n, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID");
	en_drop_if_empty(g);
	tx = en_path(root, "rsm:SupplyChainTradeTransaction");
	if (tx) {
		n = en_path(tx, "ram:ApplicableHeaderTradeAgreement");
		if (n)
			read_agreement(&r, n);
		n = en_path(tx, "ram:ApplicableHeaderTradeDelivery");
		if (n)
			read_delivery(&r, n);
		n = en_path(tx, "ram:ApplicableHeaderTradeSettlement");
		if (n)
			read_settlement(&r, n);
		for (n = en_path(tx, "ram:IncludedSupplyChainTradeLineItem"); n; n = en_next(n))
			read_line(&r, n);
	}
	en_drop_zero_vat_total(r.model);
	return en_reader_finish(&r);
}

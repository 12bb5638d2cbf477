/*
 * ubl_read.c - reads a UBL 2.1 Invoice or CreditNote into the EN 16931 model, following the UBL
 * syntax binding (EN 16931-3-2 as published in the mapping tables). See include/relais/en16931.h.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "relais/en16931.h"
#include "relais/xml.h"
#include "en_read.h"

struct ubl_reader {
	struct en_reader en;
	struct rl_en_node *direct_debit;	/* BG-19, created on first use */
};

/* Where UBL has the terms of the groups both syntaxes lay out alike (see src/en_read.h). */
static const struct en_period_paths period_paths = { "cbc:StartDate", "cbc:EndDate" };
static const struct en_preceding_invoice_paths preceding_invoice_paths = {
	"cac:InvoiceDocumentReference/cbc:ID", "cac:InvoiceDocumentReference/cbc:IssueDate"
};
static const struct en_address_paths address_paths = {
	"cbc:StreetName", "cbc:AdditionalStreetName", "cac:AddressLine/cbc:Line", "cbc:CityName",
	"cbc:PostalZone", "cbc:CountrySubentity", "cac:Country/cbc:IdentificationCode"
};
static const struct en_allowance_charge_paths allowance_charge_paths = {
	"cbc:ChargeIndicator", "cbc:Amount", "cbc:BaseAmount", "cbc:MultiplierFactorNumeric",
	"cbc:AllowanceChargeReason", "cbc:AllowanceChargeReasonCode",
	"cac:TaxCategory/cbc:ID", "cac:TaxCategory/cbc:Percent"
};
static const struct en_supporting_document_paths supporting_document_paths = {
	"cbc:ID", "cbc:DocumentDescription", "cac:Attachment/cac:ExternalReference/cbc:URI",
	"cac:Attachment/cbc:EmbeddedDocumentBinaryObject"
};
static const struct en_card_paths card_paths = { "cbc:PrimaryAccountNumberID", "cbc:HolderName" };
/* The VAT totals are cac:TaxTotal elements of the document; the one with the breakdown is in the
 * document currency. */
static const struct en_totals_paths totals_paths = {
	"cbc:LineExtensionAmount", "cbc:AllowanceTotalAmount", "cbc:ChargeTotalAmount", "cbc:TaxExclusiveAmount",
	"cac:TaxTotal", "cbc:TaxAmount", "cac:TaxSubtotal",
	"cbc:TaxInclusiveAmount", "cbc:PrepaidAmount", "cbc:PayableRoundingAmount", "cbc:PayableAmount"
};
static const struct en_vat_breakdown_paths vat_breakdown_paths = {
	"cbc:TaxableAmount", "cbc:TaxAmount", "cac:TaxCategory/cbc:ID", "cac:TaxCategory/cbc:Percent",
	"cac:TaxCategory/cbc:TaxExemptionReason", "cac:TaxCategory/cbc:TaxExemptionReasonCode"
};
static const struct en_line_vat_paths line_vat_paths = {
	"cac:ClassifiedTaxCategory/cbc:ID", "cac:ClassifiedTaxCategory/cbc:Percent"
};
static const struct en_item_paths item_paths = {
	"cbc:Name", "cbc:Description", "cac:SellersItemIdentification/cbc:ID",
	"cac:BuyersItemIdentification/cbc:ID", "cac:StandardItemIdentification/cbc:ID",
	"cac:CommodityClassification", "cbc:ItemClassificationCode", "cac:OriginCountry/cbc:IdentificationCode",
	"cac:AdditionalItemProperty", "cbc:Name", "cbc:Value"
};

static struct rl_en_node *direct_debit(struct ubl_reader *r)
{
	if (r->direct_debit == NULL)
		r->direct_debit = rl_en_add_group(r->en.model, "BG-19");
	return r->direct_debit;
}

static void read_party(struct ubl_reader *r, const struct en_party_role *role, xmlNodePtr p)
{
	struct rl_en_node *g, *t;
	xmlNodePtr n;

	if (p == NULL)
		return;
	g = rl_en_add_group(r->en.model, role->group);
	if (role->endpoint) {
		t = en_add_text(g, role->endpoint, p, "cbc:EndpointID");
		en_add_attr(t, role->endpoint_scheme, p, "cbc:EndpointID", "schemeID");
	}
	for (n = en_path(p, "cac:PartyIdentification"); n; n = en_next(n)) {
		char *scheme = en_attr(n, "cbc:ID", "schemeID");

		/* BT-90, the bank assigned creditor identifier, is a SEPA-scheme identification. */
		if (scheme && strcmp(scheme, "SEPA") == 0 && (role == &en_seller || role == &en_payee))
			en_add_text(direct_debit(r), "BT-90", n, "cbc:ID");
		else if (role->id) {
			t = en_add_text(g, role->id, n, "cbc:ID");
			if (t)
				rl_en_add(t, role->id_scheme, scheme);
		}
		free(scheme);
	}
	if (role->name_is_party_name)
		en_add_text(g, role->name, p, "cac:PartyName/cbc:Name");
	else
		en_add_text(g, role->trading_name, p, "cac:PartyName/cbc:Name");
	for (n = en_path(p, "cac:PartyTaxScheme"); n; n = en_next(n)) {
		char *scheme = en_text(n, "cac:TaxScheme/cbc:ID");

		if (scheme && strcmp(scheme, "VAT") == 0)
			en_add_text(g, role->vat_id, n, "cbc:CompanyID");
		else if (role->tax_reg_id)
			en_add_text(g, role->tax_reg_id, n, "cbc:CompanyID");
		free(scheme);
	}
	n = en_path(p, "cac:PartyLegalEntity");
	if (n) {
		if (!role->name_is_party_name)
			en_add_text(g, role->name, n, "cbc:RegistrationName");
		if (role->legal_id) {
			t = en_add_text(g, role->legal_id, n, "cbc:CompanyID");
			en_add_attr(t, role->legal_id_scheme, n, "cbc:CompanyID", "schemeID");
		}
		if (role->legal_info)
			en_add_text(g, role->legal_info, n, "cbc:CompanyLegalForm");
	}
	en_read_address(g, role->address, en_path(p, "cac:PostalAddress"), &address_paths);
	n = en_path(p, "cac:Contact");
	if (n && role->contact) {
		struct rl_en_node *c = rl_en_add_group(g, role->contact->group);

		en_add_text(c, role->contact->name, n, "cbc:Name");
		en_add_text(c, role->contact->phone, n, "cbc:Telephone");
		en_add_text(c, role->contact->email, n, "cbc:ElectronicMail");
		en_drop_if_empty(c);
	}
	en_drop_if_empty(g);
}

/* "#AAI#text": the UBL way of carrying a note subject code (BT-21) in front of the note. */
static void read_note(struct rl_en_node *model, xmlNodePtr note)
{
	char *text = rl_xml_text(note);
	struct rl_en_node *g;
	const char *end;

	en_mark_read(note);

	if (text == NULL || *text == '\0') {
		free(text);
		return;
	}
	g = rl_en_add_group(model, "BG-1");
	end = text[0] == '#' ? strchr(text + 1, '#') : NULL;
	if (end && end - text > 1 && end - text <= 4) {
		char code[4] = { 0 };

		memcpy(code, text + 1, (size_t)(end - text - 1));
		rl_en_add(g, "BT-21", code);
		rl_en_add(g, "BT-22", end + 1);
	} else {
		rl_en_add(g, "BT-22", text);
	}
	free(text);
	en_drop_if_empty(g);
}

static void read_document_references(struct ubl_reader *r, xmlNodePtr root, int credit_note)
{
	xmlNodePtr n;

	for (n = en_path(root, "cac:AdditionalDocumentReference"); n; n = en_next(n)) {
		char *code = en_text(n, "cbc:DocumentTypeCode");

		if (code && strcmp(code, "130") == 0) {
			struct rl_en_node *t = en_add_text(r->en.model, "BT-18", n, "cbc:ID");

			en_add_attr(t, "BT-18-1", n, "cbc:ID", "schemeID");
		} else if (code && strcmp(code, "50") == 0 && credit_note) {
			/* UBL 2.1 CreditNote has no ProjectReference: BT-11 is a reference of type 50. */
			en_add_text(r->en.model, "BT-11", n, "cbc:ID");
		} else {
			en_read_supporting_document(r->en.model, n, &supporting_document_paths);
		}
		free(code);
	}
}

static void read_payment_means(struct ubl_reader *r, xmlNodePtr pm)
{
	struct rl_en_node *g = rl_en_add_group(r->en.model, "BG-16"), *s;
	xmlNodePtr n;

	en_add_text(g, "BT-81", pm, "cbc:PaymentMeansCode");
	rl_en_add_owned(g, "BT-82", en_attr(pm, "cbc:PaymentMeansCode", "name"));
	/* BT-83 (remittance information) is one for the invoice; UBL repeats it per payment means. */
	for (n = en_path(pm, "cbc:PaymentID"); n; n = en_next(n)) {
		char *v = rl_xml_text(n);
		struct rl_en_node *t;

		en_mark_read(n);
		for (t = rl_en_get(r->en.model, "BT-83"); t && v && strcmp(t->value, v) != 0; t = rl_en_next(t))
			;
		if (t == NULL)
			rl_en_add(r->en.model, "BT-83", v);
		free(v);
	}
	n = en_path(pm, "cac:PayeeFinancialAccount");
	if (n) {
		s = rl_en_add_group(g, "BG-17");
		en_add_text(s, "BT-84", n, "cbc:ID");
		en_add_text(s, "BT-85", n, "cbc:Name");
		en_add_text(s, "BT-86", n, "cac:FinancialInstitutionBranch/cbc:ID");
		en_drop_if_empty(s);
	}
	en_read_card(g, en_path(pm, "cac:CardAccount"), &card_paths);
	n = en_path(pm, "cac:PaymentMandate");
	if (n) {
		if (rl_en_get(direct_debit(r), "BT-89") == NULL)
			en_add_text(direct_debit(r), "BT-89", n, "cbc:ID");
		if (rl_en_get(direct_debit(r), "BT-91") == NULL)
			en_add_text(direct_debit(r), "BT-91", n, "cac:PayerFinancialAccount/cbc:ID");
	}
	en_drop_if_empty(g);
}

/* A gross price needs a discount amount in UBL: a zero one only stands in for "no discount". */
static void drop_zero_discount(struct rl_en_node *price)
{
	struct rl_en_node *discount = rl_en_get(price, "BT-147");

	if (discount && rl_en_get(price, "BT-148") && strspn(discount->value, "0.") == strlen(discount->value))
		rl_en_remove(discount);
}

static void read_line(struct ubl_reader *r, xmlNodePtr l, int credit_note)
{
	struct rl_en_node *g = rl_en_add_group(r->en.model, "BG-25"), *s, *t;
	const char *qty = credit_note ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity";
	xmlNodePtr n, item, price;

	en_add_text(g, "BT-126", l, "cbc:ID");
	for (n = en_path(l, "cbc:Note"); n; n = en_next(n))
		en_add_text(g, "BT-127", n, "");
	/* Line object identifiers: document type 130 (the only document reference of a line in EN 16931). */
	for (n = en_path(l, "cac:DocumentReference"); n; n = en_next(n)) {
		free(en_text(n, "cbc:DocumentTypeCode"));
		t = en_add_text(g, "BT-128", n, "cbc:ID");
		en_add_attr(t, "BT-128-1", n, "cbc:ID", "schemeID");
	}
	en_add_text(g, "BT-129", l, qty);
	rl_en_add_owned(g, "BT-130", en_attr(l, qty, "unitCode"));
	en_add_text(g, "BT-131", l, "cbc:LineExtensionAmount");
	en_add_text(g, "BT-132", l, "cac:OrderLineReference/cbc:LineID");
	en_add_text(g, "BT-133", l, "cbc:AccountingCost");
	en_read_period(&r->en, g, &en_line_period, en_path(l, "cac:InvoicePeriod"), &period_paths);
	for (n = en_path(l, "cac:AllowanceCharge"); n; n = en_next(n))
		en_read_allowance_charge(g, n, 1, &allowance_charge_paths);
	price = en_path(l, "cac:Price");
	if (price) {
		s = rl_en_add_group(g, "BG-29");
		en_add_text(s, "BT-146", price, "cbc:PriceAmount");
		en_add_text(s, "BT-147", price, "cac:AllowanceCharge/cbc:Amount");
		en_add_text(s, "BT-148", price, "cac:AllowanceCharge/cbc:BaseAmount");
		drop_zero_discount(s);
		en_add_text(s, "BT-149", price, "cbc:BaseQuantity");
		rl_en_add_owned(s, "BT-150", en_attr(price, "cbc:BaseQuantity", "unitCode"));
		en_drop_if_empty(s);
	}
	item = en_path(l, "cac:Item");
	en_read_line_vat(g, item, &line_vat_paths);
	en_read_item(g, item, &item_paths);
}

struct rl_en_node *rl_ubl_read(xmlDocPtr doc, struct rl_err *err)
{
	struct ubl_reader r = { 0 };
	xmlNodePtr root = xmlDocGetRootElement(doc), n, tax_total;
	struct rl_en_node *model, *g;
	int credit_note;
	char *order_id, *sales_order_id;

	if (rl_xml_is(root, RL_NS_UBL_INVOICE, "Invoice"))
		credit_note = 0;
	else if (rl_xml_is(root, RL_NS_UBL_CREDITNOTE, "CreditNote"))
		credit_note = 1;
	else {
		rl_err_set(err, RL_EBMS_VALUE_NOT_RECOGNIZED, "not a UBL 2.1 Invoice or CreditNote");
		return NULL;
	}
	if (en_reader_start(&r.en, RL_SYNTAX_UBL, err) < 0)
		return NULL;
	model = r.en.model;
	en_add_text(model, "BT-1", root, "cbc:ID");
	en_read_date(&r.en, model, "BT-2", root, "cbc:IssueDate");
	en_add_text(model, "BT-3", root, credit_note ? "cbc:CreditNoteTypeCode" : "cbc:InvoiceTypeCode");
	en_add_text(model, "BT-5", root, "cbc:DocumentCurrencyCode");
	en_add_text(model, "BT-6", root, "cbc:TaxCurrencyCode");
	en_read_date(&r.en, model, "BT-7", root, "cbc:TaxPointDate");
	en_add_text(model, "BT-8", root, "cac:InvoicePeriod/cbc:DescriptionCode");
	if (credit_note)
		en_read_date(&r.en, model, "BT-9", root, "cac:PaymentMeans/cbc:PaymentDueDate");
	else
		en_read_date(&r.en, model, "BT-9", root, "cbc:DueDate");
	en_add_text(model, "BT-10", root, "cbc:BuyerReference");
	en_add_text(model, "BT-11", root, "cac:ProjectReference/cbc:ID");
	en_add_text(model, "BT-12", root, "cac:ContractDocumentReference/cbc:ID");
	/* A purchase order "NA" only stands in for the mandatory cbc:ID when just BT-14 is known. */
	order_id = en_text(root, "cac:OrderReference/cbc:ID");
	sales_order_id = en_text(root, "cac:OrderReference/cbc:SalesOrderID");
	if (order_id && !(strcmp(order_id, "NA") == 0 && sales_order_id && *sales_order_id))
		rl_en_add(model, "BT-13", order_id);
	rl_en_add(model, "BT-14", sales_order_id);
	free(order_id);
	free(sales_order_id);
	en_add_text(model, "BT-15", root, "cac:ReceiptDocumentReference/cbc:ID");
	en_add_text(model, "BT-16", root, "cac:DespatchDocumentReference/cbc:ID");
	en_add_text(model, "BT-17", root, "cac:OriginatorDocumentReference/cbc:ID");
	read_document_references(&r, root, credit_note);
	en_add_text(model, "BT-19", root, "cbc:AccountingCost");
	for (n = en_path(root, "cac:PaymentTerms"); n; n = en_next(n)) {
		xmlNodePtr note;

		for (note = en_path(n, "cbc:Note"); note; note = en_next(note))
			en_add_text(model, "BT-20", note, "");
	}
	for (n = en_path(root, "cbc:Note"); n; n = en_next(n))
		read_note(model, n);
	g = rl_en_add_group(model, "BG-2");
	en_add_text(g, "BT-23", root, "cbc:ProfileID");
	en_add_text(g, "BT-24", root, "cbc:CustomizationID");
	en_drop_if_empty(g);
	for (n = en_path(root, "cac:BillingReference"); n; n = en_next(n))
		en_read_preceding_invoice(&r.en, n, &preceding_invoice_paths);
	read_party(&r, &en_seller, en_path(root, "cac:AccountingSupplierParty/cac:Party"));
	read_party(&r, &en_buyer, en_path(root, "cac:AccountingCustomerParty/cac:Party"));
	read_party(&r, &en_payee, en_path(root, "cac:PayeeParty"));
	read_party(&r, &en_tax_representative, en_path(root, "cac:TaxRepresentativeParty"));
	n = en_path(root, "cac:Delivery");
	if (n) {
		struct rl_en_node *t;

		g = rl_en_add_group(model, "BG-13");
		en_add_text(g, "BT-70", n, "cac:DeliveryParty/cac:PartyName/cbc:Name");
		t = en_add_text(g, "BT-71", n, "cac:DeliveryLocation/cbc:ID");
		en_add_attr(t, "BT-71-1", n, "cac:DeliveryLocation/cbc:ID", "schemeID");
		en_read_date(&r.en, g, "BT-72", n, "cbc:ActualDeliveryDate");
		en_read_address(g, &en_deliver_to_address, en_path(n, "cac:DeliveryLocation/cac:Address"),
				&address_paths);
		en_drop_if_empty(g);
	}
	en_read_period(&r.en, model, &en_invoicing_period, en_path(root, "cac:InvoicePeriod"), &period_paths);
	for (n = en_path(root, "cac:PaymentMeans"); n; n = en_next(n))
		read_payment_means(&r, n);
	for (n = en_path(root, "cac:AllowanceCharge"); n; n = en_next(n))
		en_read_allowance_charge(model, n, 0, &allowance_charge_paths);
	en_read_totals(model, en_path(root, "cac:LegalMonetaryTotal"), root, &totals_paths);
	for (tax_total = en_path(root, "cac:TaxTotal"); tax_total; tax_total = en_next(tax_total))
		for (n = en_path(tax_total, "cac:TaxSubtotal"); n; n = en_next(n))
			en_read_vat_breakdown(model, n, &vat_breakdown_paths);
	en_drop_zero_vat_total(model);
	for (n = en_path(root, credit_note ? "cac:CreditNoteLine" : "cac:InvoiceLine"); n; n = en_next(n))
		read_line(&r, n, credit_note);
	en_drop_if_empty(r.direct_debit);
	return en_reader_finish(&r.en);
}

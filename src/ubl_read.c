/*
 * ubl_read.c - reads a UBL 2.1 Invoice or CreditNote into the EN 16931 model, following the UBL
 * syntax binding (EN 16931-3-2 as published in the mapping tables). See include/relais/en16931.h.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "relais/en16931.h"
#include "relais/xml.h"
#include "en_syntax.h"

struct ubl_reader {
	struct rl_en_node *model;
	struct rl_en_node *direct_debit;	/* BG-19, created on first use */
	struct rl_err *err;
	int failed;
};

static struct rl_en_node *direct_debit(struct ubl_reader *r)
{
	if (r->direct_debit == NULL)
		r->direct_debit = rl_en_add_group(r->model, "BG-19");
	return r->direct_debit;
}

/* Adds a date term, refusing text that is not YYYY-MM-DD. */
static void add_date(struct ubl_reader *r, struct rl_en_node *group, const char *id, xmlNodePtr node,
		     const char *path)
{
	char *v;

	if (r->failed || node == NULL)
		return;
	v = en_text(node, path);
	if (v && *v && !en_is_iso_date(v)) {
		rl_err_set(r->err, RL_EBMS_VALUE_INCONSISTENT, "%s (%s): '%.40s' is not a date (YYYY-MM-DD)", id,
			   rl_en_name(id), v);
		r->failed = 1;
		free(v);
		return;
	}
	rl_en_add_owned(group, id, v);
}

static void read_address(struct rl_en_node *parent, const struct en_address_role *role, xmlNodePtr a)
{
	struct rl_en_node *g;

	if (a == NULL || role == NULL)
		return;
	g = rl_en_add_group(parent, role->group);
	en_add_text(g, role->line1, a, "cbc:StreetName");
	en_add_text(g, role->line2, a, "cbc:AdditionalStreetName");
	en_add_text(g, role->line3, a, "cac:AddressLine/cbc:Line");
	en_add_text(g, role->city, a, "cbc:CityName");
	en_add_text(g, role->post_code, a, "cbc:PostalZone");
	en_add_text(g, role->subdivision, a, "cbc:CountrySubentity");
	en_add_text(g, role->country, a, "cac:Country/cbc:IdentificationCode");
	en_drop_if_empty(g);
}

static void read_party(struct ubl_reader *r, const struct en_party_role *role, xmlNodePtr p)
{
	struct rl_en_node *g, *t;
	xmlNodePtr n;

	if (p == NULL)
		return;
	g = rl_en_add_group(r->model, role->group);
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
	read_address(g, role->address, en_path(p, "cac:PostalAddress"));
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

static void read_allowance_charge(struct rl_en_node *parent, xmlNodePtr ac, int line)
{
	static const char *const doc_ids[2][7] = {
		{ "BG-20", "BT-92", "BT-93", "BT-94", "BT-97", "BT-98", "BT-95" },
		{ "BG-21", "BT-99", "BT-100", "BT-101", "BT-104", "BT-105", "BT-102" },
	};
	static const char *const line_ids[2][6] = {
		{ "BG-27", "BT-136", "BT-137", "BT-138", "BT-139", "BT-140" },
		{ "BG-28", "BT-141", "BT-142", "BT-143", "BT-144", "BT-145" },
	};
	char *indicator = en_text(ac, "cbc:ChargeIndicator");
	int charge = indicator && strcmp(indicator, "true") == 0;
	const char *const *ids = line ? line_ids[charge] : doc_ids[charge];
	struct rl_en_node *g = rl_en_add_group(parent, ids[0]);

	free(indicator);
	en_add_text(g, ids[1], ac, "cbc:Amount");
	en_add_text(g, ids[2], ac, "cbc:BaseAmount");
	en_add_text(g, ids[3], ac, "cbc:MultiplierFactorNumeric");
	en_add_text(g, ids[4], ac, "cbc:AllowanceChargeReason");
	en_add_text(g, ids[5], ac, "cbc:AllowanceChargeReasonCode");
	if (!line) {
		en_add_text(g, ids[6], ac, "cac:TaxCategory/cbc:ID");
		en_add_text(g, charge ? "BT-103" : "BT-96", ac, "cac:TaxCategory/cbc:Percent");
	}
	en_drop_if_empty(g);
}

static void read_document_references(struct ubl_reader *r, xmlNodePtr root, int credit_note)
{
	xmlNodePtr n;

	for (n = en_path(root, "cac:AdditionalDocumentReference"); n; n = en_next(n)) {
		char *code = en_text(n, "cbc:DocumentTypeCode");
		struct rl_en_node *t, *g;

		if (code && strcmp(code, "130") == 0) {
			t = en_add_text(r->model, "BT-18", n, "cbc:ID");
			en_add_attr(t, "BT-18-1", n, "cbc:ID", "schemeID");
		} else if (code && strcmp(code, "50") == 0 && credit_note) {
			/* UBL 2.1 CreditNote has no ProjectReference: BT-11 is a reference of type 50. */
			en_add_text(r->model, "BT-11", n, "cbc:ID");
		} else {
			xmlNodePtr bin = en_path(n, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject");

			g = rl_en_add_group(r->model, "BG-24");
			en_add_text(g, "BT-122", n, "cbc:ID");
			en_add_text(g, "BT-123", n, "cbc:DocumentDescription");
			en_add_text(g, "BT-124", n, "cac:Attachment/cac:ExternalReference/cbc:URI");
			if (bin) {
				t = en_add_text(g, "BT-125", bin, "");
				en_add_attr(t, "BT-125-1", bin, "", "mimeCode");
				en_add_attr(t, "BT-125-2", bin, "", "filename");
			}
			en_drop_if_empty(g);
		}
		free(code);
	}
}

static void read_payment_means(struct ubl_reader *r, xmlNodePtr pm)
{
	struct rl_en_node *g = rl_en_add_group(r->model, "BG-16"), *s;
	xmlNodePtr n;

	en_add_text(g, "BT-81", pm, "cbc:PaymentMeansCode");
	rl_en_add_owned(g, "BT-82", en_attr(pm, "cbc:PaymentMeansCode", "name"));
	/* BT-83 (remittance information) is one for the invoice; UBL repeats it per payment means. */
	for (n = en_path(pm, "cbc:PaymentID"); n; n = en_next(n)) {
		char *v = rl_xml_text(n);
		struct rl_en_node *t;

		en_mark_read(n);
		for (t = rl_en_get(r->model, "BT-83"); t && v && strcmp(t->value, v) != 0; t = rl_en_next(t))
			;
		if (t == NULL)
			rl_en_add(r->model, "BT-83", v);
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
	n = en_path(pm, "cac:CardAccount");
	if (n) {
		s = rl_en_add_group(g, "BG-18");
		en_add_text(s, "BT-87", n, "cbc:PrimaryAccountNumberID");
		en_add_text(s, "BT-88", n, "cbc:HolderName");
		en_drop_if_empty(s);
	}
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
	struct rl_en_node *g = rl_en_add_group(r->model, "BG-25"), *s, *t;
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
	n = en_path(l, "cac:InvoicePeriod");
	if (n) {
		s = rl_en_add_group(g, "BG-26");
		add_date(r, s, "BT-134", n, "cbc:StartDate");
		add_date(r, s, "BT-135", n, "cbc:EndDate");
		en_drop_if_empty(s);
	}
	for (n = en_path(l, "cac:AllowanceCharge"); n; n = en_next(n))
		read_allowance_charge(g, n, 1);
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
	if (item) {
		s = rl_en_add_group(g, "BG-30");
		en_add_text(s, "BT-151", item, "cac:ClassifiedTaxCategory/cbc:ID");
		en_add_text(s, "BT-152", item, "cac:ClassifiedTaxCategory/cbc:Percent");
		en_drop_if_empty(s);
		s = rl_en_add_group(g, "BG-31");
		en_add_text(s, "BT-153", item, "cbc:Name");
		en_add_text(s, "BT-154", item, "cbc:Description");
		en_add_text(s, "BT-155", item, "cac:SellersItemIdentification/cbc:ID");
		en_add_text(s, "BT-156", item, "cac:BuyersItemIdentification/cbc:ID");
		t = en_add_text(s, "BT-157", item, "cac:StandardItemIdentification/cbc:ID");
		en_add_attr(t, "BT-157-1", item, "cac:StandardItemIdentification/cbc:ID", "schemeID");
		for (n = en_path(item, "cac:CommodityClassification"); n; n = en_next(n)) {
			t = en_add_text(s, "BT-158", n, "cbc:ItemClassificationCode");
			en_add_attr(t, "BT-158-1", n, "cbc:ItemClassificationCode", "listID");
			en_add_attr(t, "BT-158-2", n, "cbc:ItemClassificationCode", "listVersionID");
		}
		en_add_text(s, "BT-159", item, "cac:OriginCountry/cbc:IdentificationCode");
		for (n = en_path(item, "cac:AdditionalItemProperty"); n; n = en_next(n)) {
			struct rl_en_node *a = rl_en_add_group(s, "BG-32");

			en_add_text(a, "BT-160", n, "cbc:Name");
			en_add_text(a, "BT-161", n, "cbc:Value");
			en_drop_if_empty(a);
		}
		en_drop_if_empty(s);
	}
}

static void read_totals(struct rl_en_node *model, xmlNodePtr root)
{
	struct rl_en_node *g = rl_en_add_group(model, "BG-22");
	xmlNodePtr m = en_path(root, "cac:LegalMonetaryTotal"), n;
	const char *currency = rl_en_value(model, "BT-5");

	en_add_text(g, "BT-106", m, "cbc:LineExtensionAmount");
	en_add_text(g, "BT-107", m, "cbc:AllowanceTotalAmount");
	en_add_text(g, "BT-108", m, "cbc:ChargeTotalAmount");
	en_add_text(g, "BT-109", m, "cbc:TaxExclusiveAmount");
	for (n = en_path(root, "cac:TaxTotal"); n; n = en_next(n)) {
		char *cur = en_attr(n, "cbc:TaxAmount", "currencyID");
		int in_doc_currency = en_path(n, "cac:TaxSubtotal") || cur == NULL || currency == NULL ||
				      strcmp(cur, currency) == 0;

		en_add_text(g, in_doc_currency ? "BT-110" : "BT-111", n, "cbc:TaxAmount");
		free(cur);
	}
	en_add_text(g, "BT-112", m, "cbc:TaxInclusiveAmount");
	en_add_text(g, "BT-113", m, "cbc:PrepaidAmount");
	en_add_text(g, "BT-114", m, "cbc:PayableRoundingAmount");
	en_add_text(g, "BT-115", m, "cbc:PayableAmount");
	en_drop_if_empty(g);
}

static void read_vat_breakdown(struct rl_en_node *model, xmlNodePtr root)
{
	xmlNodePtr tt, st;

	for (tt = en_path(root, "cac:TaxTotal"); tt; tt = en_next(tt))
		for (st = en_path(tt, "cac:TaxSubtotal"); st; st = en_next(st)) {
			struct rl_en_node *g = rl_en_add_group(model, "BG-23");

			en_add_text(g, "BT-116", st, "cbc:TaxableAmount");
			en_add_text(g, "BT-117", st, "cbc:TaxAmount");
			en_add_text(g, "BT-118", st, "cac:TaxCategory/cbc:ID");
			en_add_text(g, "BT-119", st, "cac:TaxCategory/cbc:Percent");
			en_add_text(g, "BT-120", st, "cac:TaxCategory/cbc:TaxExemptionReason");
			en_add_text(g, "BT-121", st, "cac:TaxCategory/cbc:TaxExemptionReasonCode");
			en_drop_if_empty(g);
		}
}

struct rl_en_node *rl_ubl_read(xmlDocPtr doc, struct rl_err *err)
{
	struct ubl_reader r = { 0 };
	xmlNodePtr root = xmlDocGetRootElement(doc), n;
	struct rl_en_node *g;
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
	rl_en_add_reset();
	r.model = rl_en_new();
	r.err = err;
	if (r.model == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	en_add_text(r.model, "BT-1", root, "cbc:ID");
	add_date(&r, r.model, "BT-2", root, "cbc:IssueDate");
	en_add_text(r.model, "BT-3", root, credit_note ? "cbc:CreditNoteTypeCode" : "cbc:InvoiceTypeCode");
	en_add_text(r.model, "BT-5", root, "cbc:DocumentCurrencyCode");
	en_add_text(r.model, "BT-6", root, "cbc:TaxCurrencyCode");
	add_date(&r, r.model, "BT-7", root, "cbc:TaxPointDate");
	en_add_text(r.model, "BT-8", root, "cac:InvoicePeriod/cbc:DescriptionCode");
	if (credit_note)
		add_date(&r, r.model, "BT-9", root, "cac:PaymentMeans/cbc:PaymentDueDate");
	else
		add_date(&r, r.model, "BT-9", root, "cbc:DueDate");
	en_add_text(r.model, "BT-10", root, "cbc:BuyerReference");
	en_add_text(r.model, "BT-11", root, "cac:ProjectReference/cbc:ID");
	en_add_text(r.model, "BT-12", root, "cac:ContractDocumentReference/cbc:ID");
	/* A purchase order "NA" only stands in for the mandatory cbc:ID when just BT-14 is known. */
	order_id = en_text(root, "cac:OrderReference/cbc:ID");
	sales_order_id = en_text(root, "cac:OrderReference/cbc:SalesOrderID");
	if (order_id && !(strcmp(order_id, "NA") == 0 && sales_order_id && *sales_order_id))
		rl_en_add(r.model, "BT-13", order_id);
	rl_en_add(r.model, "BT-14", sales_order_id);
	free(order_id);
	free(sales_order_id);
	en_add_text(r.model, "BT-15", root, "cac:ReceiptDocumentReference/cbc:ID");
	en_add_text(r.model, "BT-16", root, "cac:DespatchDocumentReference/cbc:ID");
	en_add_text(r.model, "BT-17", root, "cac:OriginatorDocumentReference/cbc:ID");
	read_document_references(&r, root, credit_note);
	en_add_text(r.model, "BT-19", root, "cbc:AccountingCost");
	for (n = en_path(root, "cac:PaymentTerms"); n; n = en_next(n)) {
		xmlNodePtr note;

		for (note = en_path(n, "cbc:Note"); note; note = en_next(note))
			en_add_text(r.model, "BT-20", note, "");
	}
	for (n = en_path(root, "cbc:Note"); n; n = en_next(n))
		read_note(r.model, n);
	g = rl_en_add_group(r.model, "BG-2");
	en_add_text(g, "BT-23", root, "cbc:ProfileID");
	en_add_text(g, "BT-24", root, "cbc:CustomizationID");
	en_drop_if_empty(g);
	for (n = en_path(root, "cac:BillingReference"); n; n = en_next(n)) {
		g = rl_en_add_group(r.model, "BG-3");
		en_add_text(g, "BT-25", n, "cac:InvoiceDocumentReference/cbc:ID");
		add_date(&r, g, "BT-26", n, "cac:InvoiceDocumentReference/cbc:IssueDate");
		en_drop_if_empty(g);
	}
	read_party(&r, &en_seller, en_path(root, "cac:AccountingSupplierParty/cac:Party"));
	read_party(&r, &en_buyer, en_path(root, "cac:AccountingCustomerParty/cac:Party"));
	read_party(&r, &en_payee, en_path(root, "cac:PayeeParty"));
	read_party(&r, &en_tax_representative, en_path(root, "cac:TaxRepresentativeParty"));
	n = en_path(root, "cac:Delivery");
	if (n) {
		struct rl_en_node *t;

		g = rl_en_add_group(r.model, "BG-13");
		en_add_text(g, "BT-70", n, "cac:DeliveryParty/cac:PartyName/cbc:Name");
		t = en_add_text(g, "BT-71", n, "cac:DeliveryLocation/cbc:ID");
		en_add_attr(t, "BT-71-1", n, "cac:DeliveryLocation/cbc:ID", "schemeID");
		add_date(&r, g, "BT-72", n, "cbc:ActualDeliveryDate");
		read_address(g, &en_deliver_to_address, en_path(n, "cac:DeliveryLocation/cac:Address"));
		en_drop_if_empty(g);
	}
	n = en_path(root, "cac:InvoicePeriod");
	if (n) {
		g = rl_en_add_group(r.model, "BG-14");
		add_date(&r, g, "BT-73", n, "cbc:StartDate");
		add_date(&r, g, "BT-74", n, "cbc:EndDate");
		en_drop_if_empty(g);
	}
	for (n = en_path(root, "cac:PaymentMeans"); n; n = en_next(n))
		read_payment_means(&r, n);
	for (n = en_path(root, "cac:AllowanceCharge"); n; n = en_next(n))
		read_allowance_charge(r.model, n, 0);
	read_totals(r.model, root);
	read_vat_breakdown(r.model, root);
	en_drop_zero_vat_total(r.model);
	for (n = en_path(root, credit_note ? "cac:CreditNoteLine" : "cac:InvoiceLine"); n; n = en_next(n))
		read_line(&r, n, credit_note);
	en_drop_if_empty(r.direct_debit);
	if (!r.failed && rl_en_add_failed()) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		r.failed = 1;
	}
	if (r.failed) {
		rl_en_free(r.model);
		return NULL;
	}
	return r.model;
}

/*
 * ubl_write.c - writes the EN 16931 model as a UBL 2.1 Invoice, or CreditNote when the type code
 * (BT-3) is a credit note code, with the elements in the order of the UBL 2.1 schemas. Values the
 * syntax has no place for are reported. See include/relais/en16931.h.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "relais/en16931.h"
#include "en_syntax.h"

struct ubl_writer {
	struct xw w;
	const struct rl_en_node *m;
	struct rl_buf *report;
	int credit_note;
	const char *currency;		/* BT-5, on every amount */
};

#define V(g, id) rl_en_value((g), (id))
#define SUB(node, id) ((node) ? rl_en_value((node), (id)) : NULL)

static void lost(struct ubl_writer *u, const struct rl_en_node *n, const char *why)
{
	rl_en_report_lost(u->report, RL_SYNTAX_UBL, n, why);
}

static void amount(struct ubl_writer *u, const char *tag, const char *value)
{
	xw_leaf(&u->w, tag, value, "currencyID", u->currency, NULL);
}

static void tax_scheme_vat(struct ubl_writer *u)
{
	xw_open(&u->w, "cac:TaxScheme", NULL);
	xw_leaf(&u->w, "cbc:ID", "VAT", NULL);
	xw_close(&u->w, "cac:TaxScheme");
}

static void write_address(struct ubl_writer *u, const char *tag, const struct en_address_role *role,
			  const struct rl_en_node *a)
{
	if (a == NULL)
		return;
	xw_open(&u->w, tag, NULL);
	xw_leaf(&u->w, "cbc:StreetName", V(a, role->line1), NULL);
	xw_leaf(&u->w, "cbc:AdditionalStreetName", V(a, role->line2), NULL);
	xw_leaf(&u->w, "cbc:CityName", V(a, role->city), NULL);
	xw_leaf(&u->w, "cbc:PostalZone", V(a, role->post_code), NULL);
	xw_leaf(&u->w, "cbc:CountrySubentity", V(a, role->subdivision), NULL);
	if (V(a, role->line3)) {
		xw_open(&u->w, "cac:AddressLine", NULL);
		xw_leaf(&u->w, "cbc:Line", V(a, role->line3), NULL);
		xw_close(&u->w, "cac:AddressLine");
	}
	if (V(a, role->country)) {
		xw_open(&u->w, "cac:Country", NULL);
		xw_leaf(&u->w, "cbc:IdentificationCode", V(a, role->country), NULL);
		xw_close(&u->w, "cac:Country");
	}
	xw_close(&u->w, tag);
}

static void party_tax_scheme(struct ubl_writer *u, const char *company_id, const char *scheme)
{
	if (company_id == NULL)
		return;
	xw_open(&u->w, "cac:PartyTaxScheme", NULL);
	xw_leaf(&u->w, "cbc:CompanyID", company_id, NULL);
	xw_open(&u->w, "cac:TaxScheme", NULL);
	xw_leaf(&u->w, "cbc:ID", scheme, NULL);
	xw_close(&u->w, "cac:TaxScheme");
	xw_close(&u->w, "cac:PartyTaxScheme");
}

/* The party elements of cac:PartyType, in schema order. creditor_id: BT-90 when it goes here. */
static void write_party_content(struct ubl_writer *u, const struct en_party_role *role,
				const struct rl_en_node *g, const char *creditor_id)
{
	const struct rl_en_node *t, *c;

	if (role->endpoint && (t = rl_en_get(g, role->endpoint)))
		xw_leaf(&u->w, "cbc:EndpointID", t->value, "schemeID", SUB(t, role->endpoint_scheme), NULL);
	for (t = role->id ? rl_en_get(g, role->id) : NULL; t; t = rl_en_next(t)) {
		if (role->one_id && t != rl_en_get(g, role->id)) {
			lost(u, t, NULL);	/* BT-46, BT-60: one identifier */
			continue;
		}
		xw_open(&u->w, "cac:PartyIdentification", NULL);
		xw_leaf(&u->w, "cbc:ID", t->value, "schemeID", SUB(t, role->id_scheme), NULL);
		xw_close(&u->w, "cac:PartyIdentification");
	}
	if (creditor_id) {
		xw_open(&u->w, "cac:PartyIdentification", NULL);
		xw_leaf(&u->w, "cbc:ID", creditor_id, "schemeID", "SEPA", NULL);
		xw_close(&u->w, "cac:PartyIdentification");
	}
	{
		const char *party_name = role->name_is_party_name ? V(g, role->name)
			: role->trading_name ? V(g, role->trading_name) : NULL;

		if (party_name) {
			xw_open(&u->w, "cac:PartyName", NULL);
			xw_leaf(&u->w, "cbc:Name", party_name, NULL);
			xw_close(&u->w, "cac:PartyName");
		}
	}
	if (role->address)
		write_address(u, "cac:PostalAddress", role->address, rl_en_get(g, role->address->group));
	if (role->vat_id)
		party_tax_scheme(u, V(g, role->vat_id), "VAT");
	if (role->tax_reg_id)
		party_tax_scheme(u, V(g, role->tax_reg_id), "FC");
	{
		const char *reg_name = role->name_is_party_name ? NULL : V(g, role->name);
		const struct rl_en_node *legal = role->legal_id ? rl_en_get(g, role->legal_id) : NULL;
		const char *legal_info = role->legal_info ? V(g, role->legal_info) : NULL;

		if (reg_name || legal || legal_info) {
			xw_open(&u->w, "cac:PartyLegalEntity", NULL);
			xw_leaf(&u->w, "cbc:RegistrationName", reg_name, NULL);
			if (legal)
				xw_leaf(&u->w, "cbc:CompanyID", legal->value, "schemeID",
					SUB(legal, role->legal_id_scheme), NULL);
			xw_leaf(&u->w, "cbc:CompanyLegalForm", legal_info, NULL);
			xw_close(&u->w, "cac:PartyLegalEntity");
		}
		for (legal = legal ? rl_en_next(legal) : NULL; legal; legal = rl_en_next(legal))
			lost(u, legal, NULL);
	}
	if (role->contact && (c = rl_en_get(g, role->contact->group))) {
		xw_open(&u->w, "cac:Contact", NULL);
		xw_leaf(&u->w, "cbc:Name", V(c, role->contact->name), NULL);
		xw_leaf(&u->w, "cbc:Telephone", V(c, role->contact->phone), NULL);
		xw_leaf(&u->w, "cbc:ElectronicMail", V(c, role->contact->email), NULL);
		xw_close(&u->w, "cac:Contact");
	}
}

static void write_party(struct ubl_writer *u, const char *outer, const char *inner,
			const struct en_party_role *role, const char *creditor_id)
{
	const struct rl_en_node *g = rl_en_get(u->m, role->group);

	if (g == NULL && creditor_id == NULL) {
		if (inner) {	/* seller and buyer are mandatory in the schema */
			xw_open(&u->w, outer, NULL);
			xw_close(&u->w, outer);
		}
		return;
	}
	xw_open(&u->w, outer, NULL);
	if (inner)
		xw_open(&u->w, inner, NULL);
	write_party_content(u, role, g, creditor_id);
	if (inner)
		xw_close(&u->w, inner);
	xw_close(&u->w, outer);
}

static void write_notes(struct ubl_writer *u)
{
	const struct rl_en_node *g;

	for (g = rl_en_get(u->m, "BG-1"); g; g = rl_en_next(g)) {
		const char *code = V(g, "BT-21"), *text = V(g, "BT-22");
		struct rl_buf note = RL_BUF_INIT;

		if (code)
			rl_buf_printf(&note, "#%s#", code);
		rl_buf_puts(&note, text ? text : "");
		xw_leaf(&u->w, "cbc:Note", note.data, NULL);
		rl_buf_free(&note);
	}
}

static void write_document_reference(struct ubl_writer *u, const char *tag, const char *id)
{
	if (id == NULL)
		return;
	xw_open(&u->w, tag, NULL);
	xw_leaf(&u->w, "cbc:ID", id, NULL);
	xw_close(&u->w, tag);
}

static void write_attachment(struct ubl_writer *u, const struct rl_en_node *bin)
{
	const char *mime = SUB(bin, "BT-125-1"), *filename = SUB(bin, "BT-125-2");

	if (bin->stream_path) {
		xw_open(&u->w, "cbc:EmbeddedDocumentBinaryObject", "mimeCode", mime, "filename", filename, NULL);
		xw_base64_file(&u->w, bin->stream_path);
		u->w.depth--;
		xw_raw(&u->w, "</cbc:EmbeddedDocumentBinaryObject>");
	} else {
		xw_leaf(&u->w, "cbc:EmbeddedDocumentBinaryObject", bin->value, "mimeCode", mime, "filename",
			filename, NULL);
	}
}

static void write_additional_documents(struct ubl_writer *u)
{
	const struct rl_en_node *t, *g;

	if (u->credit_note && (t = rl_en_get(u->m, "BT-11"))) {
		xw_open(&u->w, "cac:AdditionalDocumentReference", NULL);
		xw_leaf(&u->w, "cbc:ID", t->value, NULL);
		xw_leaf(&u->w, "cbc:DocumentTypeCode", "50", NULL);
		xw_close(&u->w, "cac:AdditionalDocumentReference");
	}
	for (t = rl_en_get(u->m, "BT-18"); t; t = rl_en_next(t)) {
		xw_open(&u->w, "cac:AdditionalDocumentReference", NULL);
		xw_leaf(&u->w, "cbc:ID", t->value, "schemeID", SUB(t, "BT-18-1"), NULL);
		xw_leaf(&u->w, "cbc:DocumentTypeCode", "130", NULL);
		xw_close(&u->w, "cac:AdditionalDocumentReference");
	}
	for (g = rl_en_get(u->m, "BG-24"); g; g = rl_en_next(g)) {
		const struct rl_en_node *bin = rl_en_get(g, "BT-125");
		const char *uri = V(g, "BT-124");

		if (V(g, "BT-122") == NULL) {
			lost(u, g, "a supporting document without its reference (BT-122)");
			continue;
		}
		xw_open(&u->w, "cac:AdditionalDocumentReference", NULL);
		xw_leaf(&u->w, "cbc:ID", V(g, "BT-122"), NULL);
		xw_leaf(&u->w, "cbc:DocumentDescription", V(g, "BT-123"), NULL);
		if (bin || uri) {
			xw_open(&u->w, "cac:Attachment", NULL);
			if (bin)
				write_attachment(u, bin);
			if (uri) {
				xw_open(&u->w, "cac:ExternalReference", NULL);
				xw_leaf(&u->w, "cbc:URI", uri, NULL);
				xw_close(&u->w, "cac:ExternalReference");
			}
			xw_close(&u->w, "cac:Attachment");
		}
		xw_close(&u->w, "cac:AdditionalDocumentReference");
	}
}

static void write_header_references(struct ubl_writer *u)
{
	const struct rl_en_node *g, *p = rl_en_get(u->m, "BG-14");
	const char *order = V(u->m, "BT-13"), *sales_order = V(u->m, "BT-14");

	if (p || V(u->m, "BT-8")) {
		xw_open(&u->w, "cac:InvoicePeriod", NULL);
		xw_leaf(&u->w, "cbc:StartDate", SUB(p, "BT-73"), NULL);
		xw_leaf(&u->w, "cbc:EndDate", SUB(p, "BT-74"), NULL);
		xw_leaf(&u->w, "cbc:DescriptionCode", V(u->m, "BT-8"), NULL);
		xw_close(&u->w, "cac:InvoicePeriod");
	}
	if (order || sales_order) {
		xw_open(&u->w, "cac:OrderReference", NULL);
		xw_leaf(&u->w, "cbc:ID", order ? order : "NA", NULL);
		xw_leaf(&u->w, "cbc:SalesOrderID", sales_order, NULL);
		xw_close(&u->w, "cac:OrderReference");
	}
	for (g = rl_en_get(u->m, "BG-3"); g; g = rl_en_next(g)) {
		xw_open(&u->w, "cac:BillingReference", NULL);
		xw_open(&u->w, "cac:InvoiceDocumentReference", NULL);
		xw_leaf(&u->w, "cbc:ID", V(g, "BT-25"), NULL);
		xw_leaf(&u->w, "cbc:IssueDate", V(g, "BT-26"), NULL);
		xw_close(&u->w, "cac:InvoiceDocumentReference");
		xw_close(&u->w, "cac:BillingReference");
	}
	write_document_reference(u, "cac:DespatchDocumentReference", V(u->m, "BT-16"));
	write_document_reference(u, "cac:ReceiptDocumentReference", V(u->m, "BT-15"));
	if (u->credit_note) {
		write_document_reference(u, "cac:ContractDocumentReference", V(u->m, "BT-12"));
		write_additional_documents(u);
		write_document_reference(u, "cac:OriginatorDocumentReference", V(u->m, "BT-17"));
	} else {
		write_document_reference(u, "cac:OriginatorDocumentReference", V(u->m, "BT-17"));
		write_document_reference(u, "cac:ContractDocumentReference", V(u->m, "BT-12"));
		write_additional_documents(u);
		write_document_reference(u, "cac:ProjectReference", V(u->m, "BT-11"));
	}
}

static void write_delivery(struct ubl_writer *u)
{
	const struct rl_en_node *g = rl_en_get(u->m, "BG-13"), *loc, *addr;

	if (g == NULL)
		return;
	loc = rl_en_get(g, "BT-71");
	addr = rl_en_get(g, "BG-15");
	xw_open(&u->w, "cac:Delivery", NULL);
	xw_leaf(&u->w, "cbc:ActualDeliveryDate", V(g, "BT-72"), NULL);
	if (loc || addr) {
		xw_open(&u->w, "cac:DeliveryLocation", NULL);
		if (loc)
			xw_leaf(&u->w, "cbc:ID", loc->value, "schemeID", SUB(loc, "BT-71-1"), NULL);
		write_address(u, "cac:Address", &en_deliver_to_address, addr);
		xw_close(&u->w, "cac:DeliveryLocation");
	}
	for (loc = loc ? rl_en_next(loc) : NULL; loc; loc = rl_en_next(loc))
		lost(u, loc, NULL);
	if (V(g, "BT-70")) {
		xw_open(&u->w, "cac:DeliveryParty", NULL);
		xw_open(&u->w, "cac:PartyName", NULL);
		xw_leaf(&u->w, "cbc:Name", V(g, "BT-70"), NULL);
		xw_close(&u->w, "cac:PartyName");
		xw_close(&u->w, "cac:DeliveryParty");
	}
	xw_close(&u->w, "cac:Delivery");
}

static void write_payment(struct ubl_writer *u)
{
	const struct rl_en_node *g, *s, *t, *dd = rl_en_get(u->m, "BG-19");
	const struct rl_en_node *with_mandate = en_mandate_means(u->m);
	int due_date_written = 0;

	for (g = rl_en_get(u->m, "BG-16"); g; g = rl_en_next(g)) {
		if (V(g, "BT-81") == NULL) {
			for (t = g->first; t; t = t->next)
				lost(u, t, t->value ? NULL : "payment details without a payment means code (BT-81)");
			continue;
		}
		xw_open(&u->w, "cac:PaymentMeans", NULL);
		xw_leaf(&u->w, "cbc:PaymentMeansCode", V(g, "BT-81"), "name", V(g, "BT-82"), NULL);
		if (u->credit_note && !due_date_written) {
			xw_leaf(&u->w, "cbc:PaymentDueDate", V(u->m, "BT-9"), NULL);
			due_date_written = 1;
		}
		xw_leaf(&u->w, "cbc:PaymentID", V(u->m, "BT-83"), NULL);
		if ((s = rl_en_get(g, "BG-18"))) {
			xw_open(&u->w, "cac:CardAccount", NULL);
			xw_leaf(&u->w, "cbc:PrimaryAccountNumberID", V(s, "BT-87"), NULL);
			xw_leaf(&u->w, "cbc:NetworkID", "NA", NULL);	/* mandatory in UBL, no EN 16931 term */
			xw_leaf(&u->w, "cbc:HolderName", V(s, "BT-88"), NULL);
			xw_close(&u->w, "cac:CardAccount");
		}
		if ((s = rl_en_get(g, "BG-17"))) {
			xw_open(&u->w, "cac:PayeeFinancialAccount", NULL);
			xw_leaf(&u->w, "cbc:ID", V(s, "BT-84"), NULL);
			xw_leaf(&u->w, "cbc:Name", V(s, "BT-85"), NULL);
			if (V(s, "BT-86")) {
				xw_open(&u->w, "cac:FinancialInstitutionBranch", NULL);
				xw_leaf(&u->w, "cbc:ID", V(s, "BT-86"), NULL);
				xw_close(&u->w, "cac:FinancialInstitutionBranch");
			}
			xw_close(&u->w, "cac:PayeeFinancialAccount");
		}
		if (g == with_mandate && dd && (V(dd, "BT-89") || V(dd, "BT-91"))) {
			xw_open(&u->w, "cac:PaymentMandate", NULL);
			xw_leaf(&u->w, "cbc:ID", V(dd, "BT-89"), NULL);
			if (V(dd, "BT-91")) {
				xw_open(&u->w, "cac:PayerFinancialAccount", NULL);
				xw_leaf(&u->w, "cbc:ID", V(dd, "BT-91"), NULL);
				xw_close(&u->w, "cac:PayerFinancialAccount");
			}
			xw_close(&u->w, "cac:PaymentMandate");
		}
		xw_close(&u->w, "cac:PaymentMeans");
	}
	if (with_mandate == NULL && dd) {
		if ((t = rl_en_get(dd, "BT-89")))
			lost(u, t, NULL);
		if ((t = rl_en_get(dd, "BT-91")))
			lost(u, t, NULL);
	}
	/* The remittance information goes with each payment means: without one, it has no place. */
	for (t = rl_en_get(u->m, "BT-83"); t; t = rl_en_next(t))
		if (with_mandate == NULL || t != rl_en_get(u->m, "BT-83"))
			lost(u, t, NULL);
	if (u->credit_note && !due_date_written && (t = rl_en_get(u->m, "BT-9")))
		lost(u, t, NULL);
	/* One payment terms note in UBL (UBL-SR-05); CII may have several descriptions. */
	if ((t = rl_en_get(u->m, "BT-20"))) {
		xw_open(&u->w, "cac:PaymentTerms", NULL);
		xw_leaf(&u->w, "cbc:Note", t->value, NULL);
		xw_close(&u->w, "cac:PaymentTerms");
		for (t = rl_en_next(t); t; t = rl_en_next(t))
			lost(u, t, NULL);
	}
}

static void tax_category(struct ubl_writer *u, const char *tag, const char *code, const char *rate,
			 const char *reason_code, const char *reason)
{
	xw_open(&u->w, tag, NULL);
	xw_leaf(&u->w, "cbc:ID", code, NULL);
	xw_leaf(&u->w, "cbc:Percent", rate, NULL);
	xw_leaf(&u->w, "cbc:TaxExemptionReasonCode", reason_code, NULL);
	xw_leaf(&u->w, "cbc:TaxExemptionReason", reason, NULL);
	tax_scheme_vat(u);
	xw_close(&u->w, tag);
}

static void write_allowance_charge(struct ubl_writer *u, const struct rl_en_node *g,
				   const struct en_allowance_charge_role *role)
{
	xw_open(&u->w, "cac:AllowanceCharge", NULL);
	xw_leaf(&u->w, "cbc:ChargeIndicator", role->charge ? "true" : "false", NULL);
	xw_leaf(&u->w, "cbc:AllowanceChargeReasonCode", V(g, role->reason_code), NULL);
	xw_leaf(&u->w, "cbc:AllowanceChargeReason", V(g, role->reason), NULL);
	xw_leaf(&u->w, "cbc:MultiplierFactorNumeric", V(g, role->percent), NULL);
	amount(u, "cbc:Amount", V(g, role->amount));
	amount(u, "cbc:BaseAmount", V(g, role->base));
	if (role->vat_category && (V(g, role->vat_category) || V(g, role->vat_rate)))
		tax_category(u, "cac:TaxCategory", V(g, role->vat_category), V(g, role->vat_rate), NULL, NULL);
	xw_close(&u->w, "cac:AllowanceCharge");
}

static void write_allowances_charges(struct ubl_writer *u, const struct rl_en_node *parent, int line)
{
	const struct en_allowance_charge_role *role;
	const struct rl_en_node *c;

	/* In document order, whichever kind each is. */
	for (c = parent->first; c; c = c->next)
		if ((role = en_allowance_charge_role_of(c->id, line)))
			write_allowance_charge(u, c, role);
}

static void write_taxes_and_totals(struct ubl_writer *u)
{
	const struct rl_en_node *totals = rl_en_get(u->m, "BG-22"), *g, *t;
	const char *tax = SUB(totals, "BT-110");

	/* UBL needs cac:TaxTotal/cbc:TaxAmount; an invoice not subject to VAT may lack BT-110. */
	if (tax == NULL && en_only_not_subject_to_vat(u->m))
		tax = "0";
	if (tax) {
		xw_open(&u->w, "cac:TaxTotal", NULL);
		amount(u, "cbc:TaxAmount", tax);
		for (g = rl_en_get(u->m, "BG-23"); g; g = rl_en_next(g)) {
			xw_open(&u->w, "cac:TaxSubtotal", NULL);
			amount(u, "cbc:TaxableAmount", V(g, "BT-116"));
			amount(u, "cbc:TaxAmount", V(g, "BT-117"));
			tax_category(u, "cac:TaxCategory", V(g, "BT-118"), V(g, "BT-119"), V(g, "BT-121"),
				     V(g, "BT-120"));
			xw_close(&u->w, "cac:TaxSubtotal");
		}
		xw_close(&u->w, "cac:TaxTotal");
	} else {
		for (g = rl_en_get(u->m, "BG-23"); g; g = rl_en_next(g))
			lost(u, g, "a VAT breakdown without the invoice total VAT amount (BT-110)");
	}
	if ((t = totals ? rl_en_get(totals, "BT-111") : NULL)) {
		if (V(u->m, "BT-6")) {
			xw_open(&u->w, "cac:TaxTotal", NULL);
			xw_leaf(&u->w, "cbc:TaxAmount", t->value, "currencyID", V(u->m, "BT-6"), NULL);
			xw_close(&u->w, "cac:TaxTotal");
		} else {
			lost(u, t, "no VAT accounting currency (BT-6) to state it in");
		}
	}
	xw_open(&u->w, "cac:LegalMonetaryTotal", NULL);
	amount(u, "cbc:LineExtensionAmount", SUB(totals, "BT-106"));
	amount(u, "cbc:TaxExclusiveAmount", SUB(totals, "BT-109"));
	amount(u, "cbc:TaxInclusiveAmount", SUB(totals, "BT-112"));
	amount(u, "cbc:AllowanceTotalAmount", SUB(totals, "BT-107"));
	amount(u, "cbc:ChargeTotalAmount", SUB(totals, "BT-108"));
	amount(u, "cbc:PrepaidAmount", SUB(totals, "BT-113"));
	amount(u, "cbc:PayableRoundingAmount", SUB(totals, "BT-114"));
	amount(u, "cbc:PayableAmount", SUB(totals, "BT-115"));
	xw_close(&u->w, "cac:LegalMonetaryTotal");
}

static void write_item(struct ubl_writer *u, const struct rl_en_node *line)
{
	const struct rl_en_node *item = rl_en_get(line, "BG-31"), *vat = rl_en_get(line, "BG-30"), *t, *a;

	xw_open(&u->w, "cac:Item", NULL);
	xw_leaf(&u->w, "cbc:Description", SUB(item, "BT-154"), NULL);
	xw_leaf(&u->w, "cbc:Name", SUB(item, "BT-153"), NULL);
	if (SUB(item, "BT-156")) {
		xw_open(&u->w, "cac:BuyersItemIdentification", NULL);
		xw_leaf(&u->w, "cbc:ID", V(item, "BT-156"), NULL);
		xw_close(&u->w, "cac:BuyersItemIdentification");
	}
	if (SUB(item, "BT-155")) {
		xw_open(&u->w, "cac:SellersItemIdentification", NULL);
		xw_leaf(&u->w, "cbc:ID", V(item, "BT-155"), NULL);
		xw_close(&u->w, "cac:SellersItemIdentification");
	}
	if (item && (t = rl_en_get(item, "BT-157"))) {
		xw_open(&u->w, "cac:StandardItemIdentification", NULL);
		xw_leaf(&u->w, "cbc:ID", t->value, "schemeID", V(t, "BT-157-1"), NULL);
		xw_close(&u->w, "cac:StandardItemIdentification");
	}
	if (SUB(item, "BT-159")) {
		xw_open(&u->w, "cac:OriginCountry", NULL);
		xw_leaf(&u->w, "cbc:IdentificationCode", V(item, "BT-159"), NULL);
		xw_close(&u->w, "cac:OriginCountry");
	}
	for (t = item ? rl_en_get(item, "BT-158") : NULL; t; t = rl_en_next(t)) {
		xw_open(&u->w, "cac:CommodityClassification", NULL);
		xw_leaf(&u->w, "cbc:ItemClassificationCode", t->value, "listID", V(t, "BT-158-1"), "listVersionID",
			V(t, "BT-158-2"), NULL);
		xw_close(&u->w, "cac:CommodityClassification");
	}
	if (vat)
		tax_category(u, "cac:ClassifiedTaxCategory", V(vat, "BT-151"), V(vat, "BT-152"), NULL, NULL);
	for (a = item ? rl_en_get(item, "BG-32") : NULL; a; a = rl_en_next(a)) {
		xw_open(&u->w, "cac:AdditionalItemProperty", NULL);
		xw_leaf(&u->w, "cbc:Name", V(a, "BT-160"), NULL);
		xw_leaf(&u->w, "cbc:Value", V(a, "BT-161"), NULL);
		xw_close(&u->w, "cac:AdditionalItemProperty");
	}
	xw_close(&u->w, "cac:Item");
}

static void write_price(struct ubl_writer *u, const struct rl_en_node *line)
{
	const struct rl_en_node *p = rl_en_get(line, "BG-29"), *t;
	const char *discount, *gross;

	if (p == NULL)
		return;
	if (V(p, "BT-146") == NULL) {
		for (t = p->first; t; t = t->next)
			lost(u, t, NULL);
		return;
	}
	discount = V(p, "BT-147");
	gross = V(p, "BT-148");
	xw_open(&u->w, "cac:Price", NULL);
	amount(u, "cbc:PriceAmount", V(p, "BT-146"));
	xw_leaf(&u->w, "cbc:BaseQuantity", V(p, "BT-149"), "unitCode", V(p, "BT-150"), NULL);
	if (discount || gross) {
		xw_open(&u->w, "cac:AllowanceCharge", NULL);
		xw_leaf(&u->w, "cbc:ChargeIndicator", "false", NULL);
		/* The amount is mandatory in UBL: a gross price without discount has a zero one. */
		amount(u, "cbc:Amount", discount ? discount : "0");
		amount(u, "cbc:BaseAmount", gross);
		xw_close(&u->w, "cac:AllowanceCharge");
	}
	xw_close(&u->w, "cac:Price");
}

static void write_line(struct ubl_writer *u, const struct rl_en_node *l)
{
	const char *tag = u->credit_note ? "cac:CreditNoteLine" : "cac:InvoiceLine";
	const struct rl_en_node *t, *p = rl_en_get(l, "BG-26");

	xw_open(&u->w, tag, NULL);
	xw_leaf(&u->w, "cbc:ID", V(l, "BT-126"), NULL);
	for (t = rl_en_get(l, "BT-127"); t; t = rl_en_next(t))
		xw_leaf(&u->w, "cbc:Note", t->value, NULL);
	xw_leaf(&u->w, u->credit_note ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity", V(l, "BT-129"),
		"unitCode", V(l, "BT-130"), NULL);
	amount(u, "cbc:LineExtensionAmount", V(l, "BT-131"));
	xw_leaf(&u->w, "cbc:AccountingCost", V(l, "BT-133"), NULL);
	if (p) {
		xw_open(&u->w, "cac:InvoicePeriod", NULL);
		xw_leaf(&u->w, "cbc:StartDate", V(p, "BT-134"), NULL);
		xw_leaf(&u->w, "cbc:EndDate", V(p, "BT-135"), NULL);
		xw_close(&u->w, "cac:InvoicePeriod");
	}
	if (V(l, "BT-132")) {
		xw_open(&u->w, "cac:OrderLineReference", NULL);
		xw_leaf(&u->w, "cbc:LineID", V(l, "BT-132"), NULL);
		xw_close(&u->w, "cac:OrderLineReference");
	}
	for (t = rl_en_get(l, "BT-128"); t; t = rl_en_next(t)) {
		xw_open(&u->w, "cac:DocumentReference", NULL);
		xw_leaf(&u->w, "cbc:ID", t->value, "schemeID", V(t, "BT-128-1"), NULL);
		xw_leaf(&u->w, "cbc:DocumentTypeCode", "130", NULL);
		xw_close(&u->w, "cac:DocumentReference");
	}
	write_allowances_charges(u, l, 1);
	write_item(u, l);
	write_price(u, l);
	xw_close(&u->w, tag);
}

static int check_required(const struct rl_en_node *m, struct rl_err *err)
{
	const struct rl_en_node *l;
	int n = 0;

	if (V(m, "BT-1") == NULL || V(m, "BT-2") == NULL || V(m, "BT-5") == NULL)
		return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT, "%s missing: UBL needs the invoice number, "
				  "issue date and currency", V(m, "BT-1") == NULL ? "BT-1" :
				  V(m, "BT-2") == NULL ? "BT-2" : "BT-5");
	if (SUB(rl_en_get(m, "BG-22"), "BT-115") == NULL)
		return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT, "BT-115 (amount due for payment) missing");
	for (l = rl_en_get(m, "BG-25"); l; l = rl_en_next(l)) {
		n++;
		if (V(l, "BT-126") == NULL || V(l, "BT-131") == NULL || rl_en_get(l, "BG-31") == NULL)
			return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT, "BG-25 (invoice line) %d lacks %s", n,
					  V(l, "BT-126") == NULL ? "its identifier (BT-126)" :
					  V(l, "BT-131") == NULL ? "its net amount (BT-131)" : "its item (BG-31)");
	}
	if (n == 0)
		return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT,
				  "BG-25 missing: the invoice has no line, and UBL needs at least one");
	return 0;
}

int rl_ubl_write(const struct rl_en_node *m, const struct rl_sink *out, struct rl_buf *report,
		 struct rl_err *err)
{
	struct ubl_writer u = { .m = m, .report = report };
	const struct rl_en_node *g, *dd = rl_en_get(m, "BG-19"), *creditor;
	const char *root;
	int payee_takes_creditor;

	if (check_required(m, err) < 0)
		return -1;
	u.credit_note = rl_en_is_credit_note_code(V(m, "BT-3"));
	u.currency = V(m, "BT-5");
	root = u.credit_note ? "CreditNote" : "Invoice";
	xw_init(&u.w, out, err);
	xw_raw(&u.w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	xw_open(&u.w, root, "xmlns", u.credit_note ? RL_NS_UBL_CREDITNOTE : RL_NS_UBL_INVOICE,
		"xmlns:cac", RL_NS_CAC, "xmlns:cbc", RL_NS_CBC, NULL);
	g = rl_en_get(m, "BG-2");
	xw_leaf(&u.w, "cbc:CustomizationID", SUB(g, "BT-24"), NULL);
	xw_leaf(&u.w, "cbc:ProfileID", SUB(g, "BT-23"), NULL);
	xw_leaf(&u.w, "cbc:ID", V(m, "BT-1"), NULL);
	xw_leaf(&u.w, "cbc:IssueDate", V(m, "BT-2"), NULL);
	if (u.credit_note) {
		xw_leaf(&u.w, "cbc:TaxPointDate", V(m, "BT-7"), NULL);
		xw_leaf(&u.w, "cbc:CreditNoteTypeCode", V(m, "BT-3"), NULL);
		write_notes(&u);
	} else {
		xw_leaf(&u.w, "cbc:DueDate", V(m, "BT-9"), NULL);
		xw_leaf(&u.w, "cbc:InvoiceTypeCode", V(m, "BT-3"), NULL);
		write_notes(&u);
		xw_leaf(&u.w, "cbc:TaxPointDate", V(m, "BT-7"), NULL);
	}
	xw_leaf(&u.w, "cbc:DocumentCurrencyCode", V(m, "BT-5"), NULL);
	xw_leaf(&u.w, "cbc:TaxCurrencyCode", V(m, "BT-6"), NULL);
	xw_leaf(&u.w, "cbc:AccountingCost", V(m, "BT-19"), NULL);
	xw_leaf(&u.w, "cbc:BuyerReference", V(m, "BT-10"), NULL);
	write_header_references(&u);
	/* BT-90 is an identification of the payee when there is one, else of the seller. */
	creditor = dd ? rl_en_get(dd, "BT-90") : NULL;
	payee_takes_creditor = rl_en_get(m, "BG-10") != NULL;
	write_party(&u, "cac:AccountingSupplierParty", "cac:Party", &en_seller,
		    creditor && !payee_takes_creditor ? creditor->value : NULL);
	write_party(&u, "cac:AccountingCustomerParty", "cac:Party", &en_buyer, NULL);
	write_party(&u, "cac:PayeeParty", NULL, &en_payee,
		    creditor && payee_takes_creditor ? creditor->value : NULL);
	write_party(&u, "cac:TaxRepresentativeParty", NULL, &en_tax_representative, NULL);
	write_delivery(&u);
	write_payment(&u);
	write_allowances_charges(&u, m, 0);
	write_taxes_and_totals(&u);
	for (g = rl_en_get(m, "BG-25"); g; g = rl_en_next(g))
		write_line(&u, g);
	xw_close(&u.w, root);
	return xw_finish(&u.w);
}

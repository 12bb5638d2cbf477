/* en_read.c - the reader's state, dates and the groups the UBL and CII readers read alike, each from
 * the element paths of the syntax. See src/en_read.h. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "relais/xml.h"
#include "en_read.h"

int en_reader_start(struct en_reader *r, enum rl_syntax syntax, struct rl_err *err)
{
	memset(r, 0, sizeof *r);
	r->syntax = syntax;
	r->err = err;
	rl_en_add_reset();
	r->model = rl_en_new();
	if (r->model == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

struct rl_en_node *en_reader_finish(struct en_reader *r)
{
	if (!r->failed && rl_en_add_failed()) {
		rl_err_set(r->err, RL_ERR_NOMEM, "out of memory");
		r->failed = 1;
	}
	if (r->failed) {
		rl_en_free(r->model);
		r->model = NULL;
	}
	return r->model;
}

/* UBL: the text must be YYYY-MM-DD. */
static void read_iso_date(struct en_reader *r, struct rl_en_node *group, const char *id, xmlNodePtr node,
			  const char *path)
{
	char *v = en_text(node, path);

	if (v && *v && !en_is_iso_date(v)) {
		rl_err_set(r->err, RL_EBMS_VALUE_INCONSISTENT, "%s (%s): '%.40s' is not a date (YYYY-MM-DD)", id,
			   rl_en_name(id), v);
		r->failed = 1;
		free(v);
		return;
	}
	rl_en_add_owned(group, id, v);
}

/* CII: a udt/qdt date, format 102 (YYYYMMDD). */
static void read_date_102(struct en_reader *r, struct rl_en_node *group, const char *id, xmlNodePtr node,
			  const char *path)
{
	xmlNodePtr d = en_path(node, path);
	char *v, *format, iso[11];

	if (d == NULL)
		return;
	v = rl_xml_text(d);
	en_mark_read(d);
	format = rl_xml_attr(d, NULL, "format");
	if (v && *v) {
		if (format && strcmp(format, "102") != 0) {
			rl_err_set(r->err, RL_EBMS_VALUE_INCONSISTENT, "%s (%s): date format '%.10s' is not 102",
				   id, rl_en_name(id), format);
			r->failed = 1;
		} else if (en_date_from_102(v, iso) < 0) {
			rl_err_set(r->err, RL_EBMS_VALUE_INCONSISTENT, "%s (%s): '%.40s' is not a date (YYYYMMDD)",
				   id, rl_en_name(id), v);
			r->failed = 1;
		} else {
			rl_en_add(group, id, iso);
		}
	}
	free(v);
	free(format);
}

void en_read_date(struct en_reader *r, struct rl_en_node *group, const char *id, xmlNodePtr node,
		  const char *path)
{
	if (r->failed || node == NULL)
		return;
	if (r->syntax == RL_SYNTAX_CII)
		read_date_102(r, group, id, node, path);
	else
		read_iso_date(r, group, id, node, path);
}

void en_read_period(struct en_reader *r, struct rl_en_node *parent, const struct en_period_role *role,
		    xmlNodePtr period, const struct en_period_paths *paths)
{
	struct rl_en_node *g;

	if (period == NULL)
		return;
	g = rl_en_add_group(parent, role->group);
	en_read_date(r, g, role->start, period, paths->start);
	en_read_date(r, g, role->end, period, paths->end);
	en_drop_if_empty(g);
}

void en_read_preceding_invoice(struct en_reader *r, xmlNodePtr reference,
			       const struct en_preceding_invoice_paths *paths)
{
	struct rl_en_node *g = rl_en_add_group(r->model, "BG-3");

	en_add_text(g, "BT-25", reference, paths->id);
	en_read_date(r, g, "BT-26", reference, paths->issue_date);
	en_drop_if_empty(g);
}

void en_read_address(struct rl_en_node *parent, const struct en_address_role *role, xmlNodePtr address,
		     const struct en_address_paths *paths)
{
	struct rl_en_node *g;

	if (address == NULL || role == NULL)
		return;
	g = rl_en_add_group(parent, role->group);
	en_add_text(g, role->line1, address, paths->line1);
	en_add_text(g, role->line2, address, paths->line2);
	en_add_text(g, role->line3, address, paths->line3);
	en_add_text(g, role->city, address, paths->city);
	en_add_text(g, role->post_code, address, paths->post_code);
	en_add_text(g, role->subdivision, address, paths->subdivision);
	en_add_text(g, role->country, address, paths->country);
	en_drop_if_empty(g);
}

void en_read_allowance_charge(struct rl_en_node *parent, xmlNodePtr allowance_charge, int line,
			      const struct en_allowance_charge_paths *paths)
{
	char *indicator = en_text(allowance_charge, paths->indicator);
	int charge = indicator && strcmp(indicator, "true") == 0;
	const struct en_allowance_charge_role *role = line ? (charge ? &en_line_charge : &en_line_allowance)
							   : (charge ? &en_document_charge : &en_document_allowance);
	struct rl_en_node *g = rl_en_add_group(parent, role->group);

	free(indicator);
	en_add_text(g, role->amount, allowance_charge, paths->amount);
	en_add_text(g, role->base, allowance_charge, paths->base);
	en_add_text(g, role->percent, allowance_charge, paths->percent);
	en_add_text(g, role->reason, allowance_charge, paths->reason);
	en_add_text(g, role->reason_code, allowance_charge, paths->reason_code);
	if (role->vat_category) {
		en_add_text(g, role->vat_category, allowance_charge, paths->vat_category);
		en_add_text(g, role->vat_rate, allowance_charge, paths->vat_rate);
	}
	en_drop_if_empty(g);
}

void en_read_supporting_document(struct rl_en_node *model, xmlNodePtr reference,
				 const struct en_supporting_document_paths *paths)
{
	struct rl_en_node *g = rl_en_add_group(model, "BG-24"), *t;
	xmlNodePtr attachment = en_path(reference, paths->attachment);

	en_add_text(g, "BT-122", reference, paths->id);
	en_add_text(g, "BT-123", reference, paths->description);
	en_add_text(g, "BT-124", reference, paths->uri);
	if (attachment) {
		t = en_add_text(g, "BT-125", attachment, "");
		en_add_attr(t, "BT-125-1", attachment, "", "mimeCode");
		en_add_attr(t, "BT-125-2", attachment, "", "filename");
	}
	en_drop_if_empty(g);
}

void en_read_card(struct rl_en_node *payment, xmlNodePtr card, const struct en_card_paths *paths)
{
	struct rl_en_node *g;

	if (card == NULL)
		return;
	g = rl_en_add_group(payment, "BG-18");
	en_add_text(g, "BT-87", card, paths->number);
	en_add_text(g, "BT-88", card, paths->holder);
	en_drop_if_empty(g);
}

void en_read_totals(struct rl_en_node *model, xmlNodePtr totals, xmlNodePtr vat_parent,
		    const struct en_totals_paths *paths)
{
	struct rl_en_node *g = rl_en_add_group(model, "BG-22");
	const char *currency = rl_en_value(model, "BT-5");
	xmlNodePtr n;

	en_add_text(g, "BT-106", totals, paths->line_total);
	en_add_text(g, "BT-107", totals, paths->allowances);
	en_add_text(g, "BT-108", totals, paths->charges);
	en_add_text(g, "BT-109", totals, paths->without_vat);
	for (n = en_path(vat_parent, paths->vat_total); n; n = en_next(n)) {
		char *cur = en_attr(n, paths->vat_amount, "currencyID");
		int in_doc_currency = (paths->vat_breakdown && en_path(n, paths->vat_breakdown)) || cur == NULL ||
				      currency == NULL || strcmp(cur, currency) == 0;

		en_add_text(g, in_doc_currency ? "BT-110" : "BT-111", n, paths->vat_amount);
		free(cur);
	}
	en_add_text(g, "BT-112", totals, paths->with_vat);
	en_add_text(g, "BT-113", totals, paths->prepaid);
	en_add_text(g, "BT-114", totals, paths->rounding);
	en_add_text(g, "BT-115", totals, paths->payable);
	en_drop_if_empty(g);
}

void en_read_vat_breakdown(struct rl_en_node *model, xmlNodePtr breakdown,
			   const struct en_vat_breakdown_paths *paths)
{
	struct rl_en_node *g = rl_en_add_group(model, "BG-23");

	en_add_text(g, "BT-116", breakdown, paths->taxable);
	en_add_text(g, "BT-117", breakdown, paths->tax);
	en_add_text(g, "BT-118", breakdown, paths->category);
	en_add_text(g, "BT-119", breakdown, paths->rate);
	en_add_text(g, "BT-120", breakdown, paths->exemption_reason);
	en_add_text(g, "BT-121", breakdown, paths->exemption_code);
	en_drop_if_empty(g);
}

void en_read_line_vat(struct rl_en_node *line, xmlNodePtr vat, const struct en_line_vat_paths *paths)
{
	struct rl_en_node *g;

	if (vat == NULL)
		return;
	g = rl_en_add_group(line, "BG-30");
	en_add_text(g, "BT-151", vat, paths->category);
	en_add_text(g, "BT-152", vat, paths->rate);
	en_drop_if_empty(g);
}

void en_read_item(struct rl_en_node *line, xmlNodePtr item, const struct en_item_paths *paths)
{
	struct rl_en_node *g, *t;
	xmlNodePtr n;

	if (item == NULL)
		return;
	g = rl_en_add_group(line, "BG-31");
	en_add_text(g, "BT-153", item, paths->name);
	en_add_text(g, "BT-154", item, paths->description);
	en_add_text(g, "BT-155", item, paths->seller_id);
	en_add_text(g, "BT-156", item, paths->buyer_id);
	t = en_add_text(g, "BT-157", item, paths->standard_id);
	en_add_attr(t, "BT-157-1", item, paths->standard_id, "schemeID");
	for (n = en_path(item, paths->classification); n; n = en_next(n)) {
		t = en_add_text(g, "BT-158", n, paths->classification_code);
		en_add_attr(t, "BT-158-1", n, paths->classification_code, "listID");
		en_add_attr(t, "BT-158-2", n, paths->classification_code, "listVersionID");
	}
	en_add_text(g, "BT-159", item, paths->origin_country);
	for (n = en_path(item, paths->attribute); n; n = en_next(n)) {
		struct rl_en_node *a = rl_en_add_group(g, "BG-32");

		en_add_text(a, "BT-160", n, paths->attribute_name);
		en_add_text(a, "BT-161", n, paths->attribute_value);
		en_drop_if_empty(a);
	}
	en_drop_if_empty(g);
}

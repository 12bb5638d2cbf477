/*
 * en_read.h - what the UBL and CII readers share (internal to the library): the reader's state and
 * its dates, and one function for each group whose business terms both syntaxes lay out alike. Such
 * a function knows the business terms; the reader gives the element paths of its syntax in a small
 * struct, each path relative to the group's element (prefixed names as for en_path(); "" is the
 * element itself). Where the two syntaxes differ in structure, the readers keep their own code.
 *
 * Every element whose text is taken is marked read (see rl_en_report_unread()); a group that received
 * nothing is removed again. Terms belong to the model; the path structs are static data of the readers.
 */
#ifndef RELAIS_EN_READ_H
#define RELAIS_EN_READ_H

#include <libxml/tree.h>
#include "relais/en16931.h"
#include "relais/err.h"
#include "en_syntax.h"

/* A reader at work: the model it builds and whether it has failed (err then says why). */
struct en_reader {
	enum rl_syntax syntax;		/* how its dates are written */
	struct rl_en_node *model;
	struct rl_err *err;
	int failed;
};
/* Starts an empty model; -1 (err set) when out of memory. */
int en_reader_start(struct en_reader *r, enum rl_syntax syntax, struct rl_err *err);
/* Ends reading: the model (the caller's to free), or NULL with the model freed when reading failed or
 * memory ran out (err set). */
struct rl_en_node *en_reader_finish(struct en_reader *r);

/* Adds date term `id` under `group` from the element at `path` below `node`: UBL writes YYYY-MM-DD,
 * CII a udt/qdt date in format 102 (YYYYMMDD), the only one EN 16931 allows, kept as YYYY-MM-DD.
 * Other text fails the reader (RL_EBMS_VALUE_INCONSISTENT), no text adds nothing; nothing is done once
 * the reader has failed. */
void en_read_date(struct en_reader *r, struct rl_en_node *group, const char *id, xmlNodePtr node,
		  const char *path);

/* A period (BG-14, BG-26) under `parent` from the element `period` (nothing when NULL). */
struct en_period_paths {
	const char *start, *end;
};
void en_read_period(struct en_reader *r, struct rl_en_node *parent, const struct en_period_role *role,
		    xmlNodePtr period, const struct en_period_paths *paths);

/* A preceding invoice reference (BG-3) from the element `reference`. */
struct en_preceding_invoice_paths {
	const char *id, *issue_date;
};
void en_read_preceding_invoice(struct en_reader *r, xmlNodePtr reference,
			       const struct en_preceding_invoice_paths *paths);

/* A postal address (BG-5, BG-8, BG-12, BG-15) under `parent` from the element `address` (nothing when
 * it or the role is NULL). */
struct en_address_paths {
	const char *line1, *line2, *line3, *city, *post_code, *subdivision, *country;
};
void en_read_address(struct rl_en_node *parent, const struct en_address_role *role, xmlNodePtr address,
		     const struct en_address_paths *paths);

/* An allowance or charge of the document (line 0: BG-20, BG-21, VAT category and rate included) or
 * of a line (line 1: BG-27, BG-28) under `parent`; the indicator's text "true" makes it a charge. */
struct en_allowance_charge_paths {
	const char *indicator, *amount, *base, *percent, *reason, *reason_code, *vat_category, *vat_rate;
};
void en_read_allowance_charge(struct rl_en_node *parent, xmlNodePtr allowance_charge, int line,
			      const struct en_allowance_charge_paths *paths);

/* An additional supporting document (BG-24: BT-122..BT-125, the attachment with its mime code and
 * file name) from the element `reference`. */
struct en_supporting_document_paths {
	const char *id, *description, *uri, *attachment;
};
void en_read_supporting_document(struct rl_en_node *model, xmlNodePtr reference,
				 const struct en_supporting_document_paths *paths);

/* Payment card information (BG-18) under the payment instructions `payment` from the element `card`
 * (nothing when NULL). */
struct en_card_paths {
	const char *number, *holder;
};
void en_read_card(struct rl_en_node *payment, xmlNodePtr card, const struct en_card_paths *paths);

/* The document totals (BG-22) from the element `totals` (NULL: none there), with the VAT totals
 * (BT-110, BT-111) in their place among them: each `vat_total` element below `vat_parent` gives its
 * `vat_amount`, BT-110 when in the document currency (BT-5: the same currencyID, or none), else
 * BT-111. A VAT total element holding a `vat_breakdown` child is the one in the document currency
 * whatever its currencyID (NULL: no such child). */
struct en_totals_paths {
	const char *line_total, *allowances, *charges, *without_vat;
	const char *vat_total, *vat_amount, *vat_breakdown;
	const char *with_vat, *prepaid, *rounding, *payable;
};
void en_read_totals(struct rl_en_node *model, xmlNodePtr totals, xmlNodePtr vat_parent,
		    const struct en_totals_paths *paths);

/* One VAT breakdown (BG-23) from the element `breakdown`. */
struct en_vat_breakdown_paths {
	const char *taxable, *tax, *category, *rate, *exemption_reason, *exemption_code;
};
void en_read_vat_breakdown(struct rl_en_node *model, xmlNodePtr breakdown,
			   const struct en_vat_breakdown_paths *paths);

/* A line's VAT information (BG-30) under `line` from the element `vat` (nothing when NULL). */
struct en_line_vat_paths {
	const char *category, *rate;
};
void en_read_line_vat(struct rl_en_node *line, xmlNodePtr vat, const struct en_line_vat_paths *paths);

/* A line's item information (BG-31, with its attributes BG-32) under `line` from the element `item`
 * (nothing when NULL). Classifications and attributes repeat: each `classification` element gives a
 * BT-158 from its `classification_code` (with listID, listVersionID), each `attribute` element a
 * BG-32 from its `attribute_name` and `attribute_value`. */
struct en_item_paths {
	const char *name, *description, *seller_id, *buyer_id, *standard_id;
	const char *classification, *classification_code, *origin_country;
	const char *attribute, *attribute_name, *attribute_value;
};
void en_read_item(struct rl_en_node *line, xmlNodePtr item, const struct en_item_paths *paths);

#endif

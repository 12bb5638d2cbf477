/*
 * en_syntax.h - what the UBL and CII readers and writers share (internal to the library): the roles
 * of EN 16931 (which BT numbers a seller, buyer, payee, an allowance or charge, a period... uses),
 * prefixed-path lookups in a DOM, date conversion, the model questions both writers ask, and a small
 * streaming XML writer. What only the two readers share is in src/en_read.h.
 */
#ifndef RELAIS_EN_SYNTAX_H
#define RELAIS_EN_SYNTAX_H

#include <libxml/tree.h>
#include "relais/buf.h"
#include "relais/en16931.h"
#include "relais/err.h"
#include "relais/stream.h"

/* The business terms of one postal address, contact and party role; NULL where the role has none. */
struct en_address_role {
	const char *group, *line1, *line2, *line3, *city, *post_code, *subdivision, *country;
};
struct en_contact_role {
	const char *group, *name, *phone, *email;
};
struct en_party_role {
	const char *group;
	const char *name, *trading_name, *id, *id_scheme, *legal_id, *legal_id_scheme;
	const char *vat_id, *tax_reg_id, *legal_info, *endpoint, *endpoint_scheme;
	int name_is_party_name;	/* payee, tax representative: UBL carries the name in cac:PartyName */
	int one_id;		/* buyer, payee: one identifier (BT-46, BT-60 are 0..1) */
	const struct en_address_role *address;
	const struct en_contact_role *contact;
};
extern const struct en_party_role en_seller, en_buyer, en_payee, en_tax_representative;
extern const struct en_address_role en_deliver_to_address;

/* The business terms of a document level (BG-20, BG-21) or line (BG-27, BG-28) allowance or charge. */
struct en_allowance_charge_role {
	const char *group;
	const char *amount, *base, *percent, *reason, *reason_code;
	const char *vat_category, *vat_rate;	/* document level only: NULL on a line */
	int charge;				/* 1: a charge, 0: an allowance */
};
extern const struct en_allowance_charge_role en_document_allowance, en_document_charge;
extern const struct en_allowance_charge_role en_line_allowance, en_line_charge;
/* The role of a model group with that id among the allowances and charges of a document (line 0)
 * or of a line (line 1); NULL when it is none of them. */
const struct en_allowance_charge_role *en_allowance_charge_role_of(const char *group_id, int line);

/* The beginning and end date of a period: the invoicing period (BG-14) or a line's (BG-26). */
struct en_period_role {
	const char *group, *start, *end;
};
extern const struct en_period_role en_invoicing_period, en_line_period;

/* The first element reached from `node` by a path of prefixed names, "cac:Party/cbc:Name": prefixes
 * cac, cbc (UBL), rsm, ram, udt, qdt (CII). NULL when absent. */
xmlNodePtr en_path(xmlNodePtr node, const char *path);
/* Marks an element whose value a reader took (see rl_en_report_unread()). en_text() marks. */
void en_mark_read(xmlNodePtr node);
/* Trimmed text of en_path(); NULL when absent. Free with free(). */
char *en_text(xmlNodePtr node, const char *path);
/* Attribute (unqualified) of en_path(); NULL when absent. */
char *en_attr(xmlNodePtr node, const char *path, const char *attr);
/* Next element sibling with the same namespace and name. */
xmlNodePtr en_next(xmlNodePtr node);
/* Adds term `id` with the text at `path` under `group`; returns the new node or NULL. */
struct rl_en_node *en_add_text(struct rl_en_node *group, const char *id, xmlNodePtr node, const char *path);
/* Adds sub-term `id` under `term` from attribute `attr` of the element at `path`. */
void en_add_attr(struct rl_en_node *term, const char *id, xmlNodePtr node, const char *path, const char *attr);
/* Removes `group` when nothing was added to it. */
void en_drop_if_empty(struct rl_en_node *group);

/* BT-8, the VAT point date code: EN 16931 and UBL use UNTDID 2005 (3, 35, 432), CII UNTDID 2475
 * (5, 29, 72). Codes without a counterpart are returned as they are. */
const char *en_tax_point_code_to_cii(const char *code);
const char *en_tax_point_code_from_cii(const char *code);

/* A zero invoice total VAT amount (BT-110) when the VAT breakdown is all category O (not subject to
 * VAT) is the same as none: UBL must write one there, CII may. Both readers remove it. */
void en_drop_zero_vat_total(struct rl_en_node *model);
/* 1 when the model has a VAT breakdown (BG-23) and all of it is category O (not subject to VAT). */
int en_only_not_subject_to_vat(const struct rl_en_node *model);

/* The payment instructions (BG-16) that carry the direct debit mandate and the debited account
 * (BG-19), which both syntaxes hold per payment means: the first with a direct debit code (49, 59),
 * else the first with any code; NULL when no payment means has a code. */
const struct rl_en_node *en_mandate_means(const struct rl_en_node *model);

/* Date conversion: "YYYY-MM-DD" <-> "YYYYMMDD" (CII format 102). -1 when the text is not such a date. */
int en_date_from_102(const char *in, char out[11]);
int en_date_to_102(const char *in, char out[9]);
/* 1 when s is an ISO date YYYY-MM-DD. */
int en_is_iso_date(const char *s);

/* A streaming XML writer: text accumulates in a small buffer flushed to the sink. Errors are sticky:
 * after the first failure every call does nothing and xw_finish() returns -1. */
struct xw {
	const struct rl_sink *sink;
	struct rl_buf buf;
	struct rl_err *err;
	int depth;
	int failed;
};
void xw_init(struct xw *w, const struct rl_sink *sink, struct rl_err *err);
/* Opens an element; attributes follow as name, value pairs ending with NULL (NULL values are skipped). */
void xw_open(struct xw *w, const char *tag, ...) __attribute__((sentinel));
void xw_close(struct xw *w, const char *tag);
/* <tag attrs>value</tag>; nothing when value is NULL or empty. */
void xw_leaf(struct xw *w, const char *tag, const char *value, ...) __attribute__((sentinel));
/* Raw text (already markup). */
void xw_raw(struct xw *w, const char *text);
/* Base64 of a file's bytes, read and encoded in chunks, as element content. */
void xw_base64_file(struct xw *w, const char *path);
int xw_finish(struct xw *w);

#endif

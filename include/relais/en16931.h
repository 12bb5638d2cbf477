/*
 * en16931.h - the EN 16931 semantic invoice model, the syntax readers and writers around it, and
 * conversion between UBL 2.1 (Invoice, CreditNote) and UN/CEFACT CII D16B (CrossIndustryInvoice).
 *
 * The model is a tree of business terms keyed by their EN 16931 identifiers: a node is either a
 * group ("BG-25") holding other nodes, or a term ("BT-153") holding a value. Attributes that EN 16931
 * numbers as sub-terms ("BT-29-1", the scheme of BT-29) are children of their term. Values are kept
 * as the exact text of the document, with one canonical form for dates (YYYY-MM-DD) so both syntaxes
 * share them; amounts, quantities and percentages are never converted to binary numbers.
 *
 * Where a syntax spreads one EN 16931 group over several places, the model keeps it where both
 * syntaxes can find it: BG-16 (payment instructions) repeats at document level, one per payment means,
 * each holding BT-81, BT-82 and BG-17/BG-18; BT-83 (remittance information, one per invoice), BG-19
 * (direct debit: BT-89..BT-91), BG-14 (invoicing period), BT-7, BT-8 and BT-20 sit at document level.
 * Code values are those of EN 16931 (BT-8 in UNTDID 2005: the CII writer and reader translate).
 *
 * Readers return the model of a parsed document; writers serialise a model, in the schema's element
 * order, into a sink. Whatever a writer cannot express in its syntax is appended to `report` as one
 * line per value: "BT-x: not representable in <syntax>: value". Nothing is dropped silently.
 *
 * Memory: every node (and its value) belongs to its tree; rl_en_free() on the root frees all of it.
 */
#ifndef RELAIS_EN16931_H
#define RELAIS_EN16931_H

#include <stddef.h>
#include <libxml/tree.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/stream.h"

#define RL_NS_UBL_INVOICE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
#define RL_NS_UBL_CREDITNOTE "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
#define RL_NS_CAC "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
#define RL_NS_CBC "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
#define RL_NS_RSM "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
#define RL_NS_RAM "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
#define RL_NS_UDT "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
#define RL_NS_QDT "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"

/* The invoice syntaxes relais converts between. */
enum rl_syntax {
	RL_SYNTAX_UBL,
	RL_SYNTAX_CII
};

/* What kind of value a business term holds (EN 16931 semantic data types). */
enum rl_en_type {
	RL_EN_GROUP,
	RL_EN_TEXT,
	RL_EN_IDENTIFIER,
	RL_EN_CODE,
	RL_EN_DATE,
	RL_EN_AMOUNT,
	RL_EN_PRICE,
	RL_EN_QUANTITY,
	RL_EN_PERCENT,
	RL_EN_BINARY
};

struct rl_en_node {
	const char *id;			/* "BG-4", "BT-27", "BT-29-1": a static string */
	char *value;			/* the term's value (malloc'd); NULL for groups */
	char *stream_path;		/* BT-125 only: the attached file is streamed from here when value is NULL */
	struct rl_en_node *parent;
	struct rl_en_node *first;	/* children, in document order */
	struct rl_en_node *last;
	struct rl_en_node *next;	/* next sibling */
};

/* The root group ("INVOICE") of a new, empty model; NULL when out of memory. */
struct rl_en_node *rl_en_new(void);
void rl_en_free(struct rl_en_node *node);

/* Appends a group or a term (value copied; a NULL or empty value adds nothing and returns NULL).
 * `id` must be a string literal or otherwise outlive the tree. NULL on allocation failure too:
 * callers check rl_en_add_failed() once at the end. */
struct rl_en_node *rl_en_add_group(struct rl_en_node *parent, const char *id);
struct rl_en_node *rl_en_add(struct rl_en_node *parent, const char *id, const char *value);
/* Same, taking ownership of a malloc'd value (freed when NULL/empty). */
struct rl_en_node *rl_en_add_owned(struct rl_en_node *parent, const char *id, char *value);
/* 1 once an allocation in this thread has failed since its last rl_en_add_reset(). */
int rl_en_add_failed(void);
void rl_en_add_reset(void);
/* Removes a node from its parent and frees it. */
void rl_en_remove(struct rl_en_node *node);

/* First child with that id (NULL if none), the next sibling with the same id, and the value of the
 * first child with that id (NULL if none). */
struct rl_en_node *rl_en_get(const struct rl_en_node *parent, const char *id);
struct rl_en_node *rl_en_next(const struct rl_en_node *node);
const char *rl_en_value(const struct rl_en_node *parent, const char *id);
/* Number of children with that id. */
int rl_en_count(const struct rl_en_node *parent, const char *id);

/* The name ("Seller name") and type of a term or group; "?" / RL_EN_TEXT when unknown. */
const char *rl_en_name(const char *id);
enum rl_en_type rl_en_type_of(const char *id);
/* The syntax name used in messages: "UBL" / "CII". */
const char *rl_syntax_name(enum rl_syntax s);

/* Writes every term of the tree, one line each: "BG-25[2]/BG-31/BT-153 = value [BT-153-1 = x]".
 * A repeated group gets its position in brackets; a term's sub-terms follow it on its line. Attached
 * binaries are summarised by length; line breaks in values are written as \n. With
 * RL_EN_DUMP_NUMBERS, amounts, prices, quantities and percentages are written without insignificant
 * zeros ("229.60" -> "229.6") and runs of white space in text as one space, for comparing documents
 * made by different tools. With RL_EN_DUMP_INDEXED every group gets its position, even a
 * single one, so that dumps of documents with more or fewer groups line up. */
#define RL_EN_DUMP_NUMBERS 1
#define RL_EN_DUMP_INDEXED 2
int rl_en_dump(const struct rl_en_node *root, struct rl_buf *out, int flags);

/* Appends "ID: not representable in SYNTAX: value" (or `why` instead of the value when given). */
int rl_en_report_lost(struct rl_buf *report, enum rl_syntax target, const struct rl_en_node *node,
		      const char *why);

/* Readers: the model of a parsed UBL Invoice/CreditNote or CII CrossIndustryInvoice document.
 * Refuse (RL_EBMS_VALUE_NOT_RECOGNIZED) a root that is not one of them; malformed values (a date
 * that is not a date) are RL_EBMS_VALUE_INCONSISTENT. */
struct rl_en_node *rl_ubl_read(xmlDocPtr doc, struct rl_err *err);
struct rl_en_node *rl_cii_read(xmlDocPtr doc, struct rl_err *err);
/* After a reader has read `doc`: appends one line per element value that no business term took
 * (content outside EN 16931, such as Factur-X EXTENDED data, or repeats the syntax allows and
 * EN 16931 does not), "(no business term): not carried: /PATH = value". */
int rl_en_report_unread(xmlDocPtr doc, struct rl_buf *report);
/* Recognises the syntax of a parsed document: 0 with *syntax set, -1 when it is no invoice. */
int rl_en_detect(xmlDocPtr doc, enum rl_syntax *syntax, struct rl_err *err);
/* Parses a file (size-capped, safe parser) and reads it with the right reader. */
struct rl_en_node *rl_en_read_file(const char *path, enum rl_syntax *syntax, struct rl_err *err);

/* Writers: the document for a model, as UTF-8 XML into `out`. A model without the terms the target
 * schema cannot do without (BT-1, BT-2, BT-5, a line for UBL) is refused (RL_EBMS_VALUE_INCONSISTENT).
 * report (may be NULL) receives the values the syntax cannot carry. */
int rl_ubl_write(const struct rl_en_node *model, const struct rl_sink *out, struct rl_buf *report,
		 struct rl_err *err);
int rl_cii_write(const struct rl_en_node *model, const struct rl_sink *out, struct rl_buf *report,
		 struct rl_err *err);

/* Type codes (BT-3) that make a UBL CreditNote rather than an Invoice. */
int rl_en_is_credit_note_code(const char *type_code);

#endif

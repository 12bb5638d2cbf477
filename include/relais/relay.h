/*
 * relay.h - relay routes (relay.routes): the invoice syntax a receiver wants, applied by `relais serve`
 * between receive and deliver, and before send.
 *
 * The file has one route per line, "RECEIVER DOCTYPE SYNTAX [CHANNEL]", '#' starts a comment:
 *   RECEIVER  a participant id (with or without iso6523-actorid-upis::), a scheme prefix "0009:*", or *
 *   DOCTYPE   *, invoice, creditnote, or an exact Peppol document type id (with or without its scheme)
 *   SYNTAX    ubl, cii or keep
 *   CHANNEL   inbound only: inbox, webhook or both (default) - where the converted form is delivered
 * The first route matching the receiver and the document wins.
 *
 * Inbound, the original as received is always delivered unchanged; the converted form comes beside it
 * (the inbox) or instead of it (the webhook, which still gets the original when the conversion fails).
 * Outbound, a bare invoice or a Factur-X/ZUGFeRD PDF is converted into the route's syntax (UBL when no
 * route says otherwise; a PDF travels inside as BG-24) and wrapped in a Peppol SBDH.
 *
 * Memory: the table owns its routes; the route pointers returned point into it.
 */
#ifndef RELAIS_RELAY_H
#define RELAIS_RELAY_H

#include <stdio.h>
#include "relais/buf.h"
#include "relais/doc.h"
#include "relais/err.h"
#include "relais/store.h"

enum rl_relay_syntax {
	RL_RELAY_KEEP = 0,	/* whatever the document is */
	RL_RELAY_UBL,
	RL_RELAY_CII
};

/* Channel bits of a route. */
#define RL_RELAY_INBOX 1
#define RL_RELAY_WEBHOOK 2

struct rl_relay_route {
	char *receiver;		/* as written: "0009:*", "*", a participant id */
	char *doctype;		/* "*", "invoice", "creditnote" or a document type id */
	enum rl_relay_syntax syntax;
	int channels;		/* RL_RELAY_INBOX | RL_RELAY_WEBHOOK */
	int line;		/* where it was written */
};

struct rl_relay_table;

/* Loads the routes of path; NULL or "" = an empty table. A malformed line is refused with
 * RL_ERR_CONFIG naming the file and line. */
struct rl_relay_table *rl_relay_load(const char *path, struct rl_err *err);
void rl_relay_free(struct rl_relay_table *t);
/* Number of routes (0 for NULL). */
size_t rl_relay_count(const struct rl_relay_table *t);

/* The first route for the receiver (participant id, scheme optional; NULL matches only "*") and the
 * detected document, or NULL. */
const struct rl_relay_route *rl_relay_find(const struct rl_relay_table *t, const char *receiver,
					   const struct rl_doc_info *info);

/* "keep", "ubl", "cii". */
const char *rl_relay_syntax_name(enum rl_relay_syntax s);
/* The syntax of a detected document as a relay syntax (KEEP when it is neither UBL nor CII). */
enum rl_relay_syntax rl_relay_syntax_of(const struct rl_doc_info *info);

/* Inbound: what the route for receiver asks of the document at doc_path (bare or in an SBD). Returns 1
 * with *to and *from set when it must be converted, 0 when it stays as it is (no route, keep, already
 * that syntax, not an invoice or not even XML). *channels (may be NULL) gets the route's channels. */
int rl_relay_inbound_plan(const struct rl_relay_table *t, const char *receiver, const char *doc_path,
			  enum rl_relay_syntax *to, enum rl_relay_syntax *from, int *channels, struct rl_err *err);

/* Converts the invoice at doc_path (bare UBL or CII, the one inside an SBD, or a Factur-X PDF) into `to`
 * (UBL or CII), written atomically to out_path. Values the target cannot carry are appended to report
 * (may be NULL). Returns 0, or -1 with err set (the conversion's error: EBMS:0001/0003/0004, I/O). */
int rl_relay_convert(const char *doc_path, enum rl_relay_syntax to, const char *out_path, struct rl_buf *report,
		     struct rl_err *err);

/* Outbound: prepares the file at path for sending. A bare UBL/CII invoice or a PDF is converted when the
 * route for its buyer (or UBL by default) asks for another syntax, then wrapped in an SBDH; the
 * result is written atomically to "<out_stem>.<syntax>.xml", whose path (malloc'd) goes to *written.
 * sender (may be NULL) is the participant used when the document has no seller endpoint (BT-34).
 * Returns 1 when *written holds what to send, 0 when the file is sent as it is (already an SBD, or not
 * an invoice relais knows), -1 when it cannot be prepared (a PDF without invoice XML, a document the
 * converter refuses, no buyer endpoint to address it to). */
int rl_relay_outbound(const struct rl_relay_table *t, const char *path, const char *out_stem, const char *sender,
		      char **written, struct rl_buf *report, struct rl_err *err);

/* --- the delivery side of `relais serve` (relay_deliver.c); these log the conversions they make --- */

/* After the original was delivered to the inbox at path: its converted form beside it
 * ("<path without .xml>.<syntax>.xml", written once) when the route for the message's final recipient
 * asks for one on the inbox. A failure leaves the original alone and is put in problem. */
void rl_relay_deliver_inbox(struct rl_store *st, const struct rl_store_delivery *dl, const struct rl_relay_table *relay,
			    const char *path, struct rl_err *problem);
/* A new spool file in dir ("" or NULL: /tmp), open for writing and reading; *path (malloc'd) is its name,
 * which the caller unlinks and frees. */
FILE *rl_relay_spool(const char *dir, char **path, struct rl_err *err);
/* Before a webhook POST of the original spooled at spool_path (open as *spool, *size bytes): when the route
 * asks for another syntax on the webhook, *spool and *size become the converted document's and
 * from_header gets "Relais-Converted-From: <syntax>"; when the conversion fails, the original stays and
 * problem says why. */
void rl_relay_deliver_webhook(const char *spool_dir, struct rl_store *st, const struct rl_store_delivery *dl,
			      const struct rl_relay_table *relay, const char *spool_path, FILE **spool, long *size,
			      char *from_header, size_t from_size, struct rl_err *problem);

#endif

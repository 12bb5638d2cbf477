/*
 * convert.h - invoice conversion between UBL 2.1 and CII D16B through the EN 16931 model, and
 * Factur-X/ZUGFeRD PDFs as input (the embedded CII is converted; the PDF itself travels along as an
 * additional supporting document, BG-24, streamed from the file into the output).
 */
#ifndef RELAIS_CONVERT_H
#define RELAIS_CONVERT_H

#include "relais/buf.h"
#include "relais/en16931.h"
#include "relais/err.h"

/* Largest invoice XML read (a file, or the XML embedded in a PDF). */
#define RL_CONVERT_MAX_XML (64u << 20)

/* Converts the invoice in in_path (UBL, CII, or a Factur-X/ZUGFeRD PDF) into syntax `to`, written
 * atomically to out_path ("-" or NULL: standard output). Values the target cannot carry, and values of
 * the input that are no EN 16931 business term, are appended to report (may be NULL), one line each. Returns 0, or -1 with err set: not an invoice
 * (EBMS:0001), malformed XML or PDF (EBMS:0004), inconsistent values (EBMS:0003), I/O. */
int rl_convert_file(const char *in_path, enum rl_syntax to, const char *out_path, struct rl_buf *report,
		    struct rl_err *err);

/* The EN 16931 model of in_path (UBL, CII or Factur-X PDF); *syntax (may be NULL) receives the syntax
 * of the invoice XML. For a PDF, BG-24 gains the PDF itself (BT-125 with stream_path set). report (may
 * be NULL) receives the input's values that are no business term (rl_en_report_unread()). */
struct rl_en_node *rl_convert_read(const char *in_path, enum rl_syntax *syntax, struct rl_buf *report,
				   struct rl_err *err);

/* 1 when the file starts like a PDF. */
int rl_is_pdf(const char *path);

/* The invoice XML embedded in a Factur-X/ZUGFeRD/XRechnung PDF (factur-x.xml, zugferd-invoice.xml,
 * xrechnung.xml) into xml; *name (malloc'd, may be NULL) gets the attachment's name. A PDF that
 * cannot be read, or has no such attachment, is refused (EBMS:0004 / EBMS:0001). */
int rl_facturx_extract(const char *pdf_path, struct rl_buf *xml, char **name, struct rl_err *err);

#endif

/*
 * docval.h - validating business documents (UBL 2.1 Invoice/CreditNote, CII D16B, either bare or in a
 * Peppol SBD) at three levels:
 *   xsd   - the XML Schemas relais installs with itself (UBL 2.1, CII D16B, SBDH 1.3), compiled once per
 *           process and reused, never fetching anything;
 *   rules - built-in EN 16931 rules in C (mandatory business terms, code lists, identifier checks, the
 *           calculation rules with exact decimal arithmetic) over a model extracted from either syntax,
 *           plus the Peppol BIS 3 rules relais implements when the document claims Peppol BIS 3;
 *   full  - the official schematron (XSLT 2.0) through a Saxon worker, see schematron.h.
 * Every finding names its rule (BR-xx, BR-CO-xx, PEPPOL-..., XSD), a location (an XPath-like path or a
 * line) and a plain message. A document is valid when no finding is fatal.
 *
 * Findings own their strings; rl_findings_free() releases them.
 */
#ifndef RELAIS_DOCVAL_H
#define RELAIS_DOCVAL_H

#include <stddef.h>
#include <libxml/tree.h>
#include "relais/err.h"

enum rl_severity {
	RL_SEV_FATAL = 0,
	RL_SEV_WARNING
};

enum rl_docval_level {
	RL_DOCVAL_XSD = 1,
	RL_DOCVAL_RULES,	/* xsd + built-in rules */
	RL_DOCVAL_FULL		/* xsd + built-in rules + schematron */
};

struct rl_finding {
	char *rule;		/* "BR-CO-10", "PEPPOL-EN16931-R004", "XSD", ... */
	int severity;		/* enum rl_severity */
	char *location;		/* "/Invoice/cac:LegalMonetaryTotal/cbc:LineExtensionAmount", "line 12" */
	char *message;
};

struct rl_findings {
	struct rl_finding *items;
	size_t count;
	size_t cap;
};

#define RL_FINDINGS_INIT { NULL, 0, 0 }

/* Appends a finding; returns 0, or -1 when out of memory. */
int rl_findings_add(struct rl_findings *f, const char *rule, int severity, const char *location,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void rl_findings_free(struct rl_findings *f);
size_t rl_findings_fatal(const struct rl_findings *f);
/* 1 when a finding with that rule id is present. */
int rl_findings_has(const struct rl_findings *f, const char *rule);
const char *rl_severity_name(int severity);	/* "fatal", "warning" */
/* Parses "xsd", "rules", "full"; -1 when unknown. */
int rl_docval_level_parse(const char *name);

/* The directory holding the installed schemas: $RELAIS_SCHEMA_DIR when set, else the compiled-in
 * $(pkgdatadir)/schemas. Static or environment string. */
const char *rl_docval_schema_dir(void);

/* Parses a document for validation (rl_xml_parse rules: no DOCTYPE, depth cap, no network), mapping
 * the file instead of reading it into a second buffer. Files above max_size are refused.
 * Returns the document (caller frees with xmlFreeDoc), or NULL with RL_EBMS_OTHER / RL_ERR_IO. */
xmlDocPtr rl_docval_parse_file(const char *path, size_t max_size, struct rl_err *err);
#define RL_DOCVAL_MAX_SIZE ((size_t)100 << 20)

/* XSD validation: the SBDH (when present) against the SBDH 1.3 schema and the business document
 * against UBL 2.1 or CII D16B. Schema violations become findings (rule "XSD", location "line N");
 * returns 0, or -1 when validation could not run (RL_ERR_CONFIG: schemas missing or broken;
 * RL_EBMS_OTHER: not a UBL or CII document). Thread-safe; schemas are compiled on first use. */
int rl_docval_xsd(xmlDocPtr doc, struct rl_findings *out, struct rl_err *err);

/* Built-in rules on the business document of doc. flags: RL_RULES_PEPPOL forces the Peppol BIS 3 rules
 * (otherwise they run when CustomizationID claims Peppol BIS 3). Returns 0 (findings appended), or -1
 * (RL_EBMS_OTHER: not UBL or CII; RL_ERR_NOMEM). */
#define RL_RULES_PEPPOL 0x1
int rl_docval_rules(xmlDocPtr doc, unsigned flags, struct rl_findings *out, struct rl_err *err);
/* The rule ids the built-in engine implements, NULL-terminated (static). */
const char *const *rl_docval_rule_ids(void);

/* 1 when code is in the named code list shipped with relais: "iso4217", "iso3166", "uncl5305",
 * "uncl1001_invoice_ubl", "uncl1001_creditnote_ubl", "uncl1001_cii", "iso6523_icd", "eas",
 * "vat_prefix", "unece_rec20". */
int rl_code_in_list(const char *list, const char *code);

#endif

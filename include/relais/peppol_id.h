/*
 * peppol_id.h - Peppol identifiers: participants, document types and processes.
 *
 * An identifier is a scheme plus a value; its URI form is "scheme::value". Parsing checks the rules of
 * the Peppol Policy for use of Identifiers (spec digest section 4) and stores the canonical form:
 * participant values (iso6523-actorid-upis) are case-insensitive and kept lower-case; document type
 * and process values are case-sensitive and kept as given. Malformed identifiers fail with
 * RL_ERR_USAGE and a message naming the broken rule. ICD codes are checked against the code list
 * table in peppol_id.c: removed codes are refused, deprecated ones are accepted and flagged.
 */
#ifndef RELAIS_PEPPOL_ID_H
#define RELAIS_PEPPOL_ID_H

#include <stddef.h>
#include "relais/buf.h"
#include "relais/err.h"

#define RL_SCHEME_PARTICIPANT "iso6523-actorid-upis"
#define RL_SCHEME_DOCTYPE "busdox-docid-qns"
#define RL_SCHEME_DOCTYPE_WILDCARD "peppol-doctype-wildcard"
#define RL_SCHEME_PROCESS "cenbii-procid-ubl"
#define RL_PROCESS_NOPROCESS "busdox:noprocess"

#define RL_ID_SCHEME_MAX 25		/* characters */
#define RL_ID_PARTICIPANT_MAX 135	/* characters, "NNNN:" included */
#define RL_ID_PARTICIPANT_LOCAL_MAX 130	/* characters after "NNNN:" */
#define RL_ID_DOCTYPE_MAX 500		/* characters (ISO-8859-1) */
#define RL_ID_PROCESS_MAX 200		/* characters (ISO-8859-1) */
/* Bytes for a value: each ISO-8859-1 character takes at most 2 bytes in UTF-8. */
#define RL_ID_VALUE_BYTES (2 * RL_ID_DOCTYPE_MAX + 1)

enum rl_id_kind {
	RL_ID_PARTICIPANT = 1,
	RL_ID_DOCTYPE,
	RL_ID_PROCESS
};

/* Flags set by parsing. */
#define RL_ID_FLAG_DEPRECATED_ICD 0x1	/* participant uses a deprecated ICD: accepted, warn */

struct rl_peppol_id {
	int kind;				/* enum rl_id_kind */
	char scheme[RL_ID_SCHEME_MAX + 1];
	char value[RL_ID_VALUE_BYTES];		/* canonical value, UTF-8 */
	unsigned flags;				/* RL_ID_FLAG_* */
};

enum rl_icd_status {
	RL_ICD_UNKNOWN = 0,
	RL_ICD_ACTIVE,
	RL_ICD_DEPRECATED,
	RL_ICD_REMOVED
};

/* Status of a 4-digit ICD code in the shipped code list; *name (if given) gets e.g. "GLN" or NULL. */
enum rl_icd_status rl_icd_lookup(const char *icd, const char **name);

/* Parses the URI form "scheme::value" of an identifier of the given kind into id. */
int rl_peppol_id_parse(struct rl_peppol_id *id, int kind, const char *uri, struct rl_err *err);
/* Same with the scheme given separately (scheme NULL = the default scheme of the kind). */
int rl_peppol_id_make(struct rl_peppol_id *id, int kind, const char *scheme, const char *value,
		      struct rl_err *err);

/* Shorthands for the three kinds. */
int rl_participant_parse(struct rl_peppol_id *id, const char *uri, struct rl_err *err);
int rl_doctype_parse(struct rl_peppol_id *id, const char *uri, struct rl_err *err);
int rl_process_parse(struct rl_peppol_id *id, const char *uri, struct rl_err *err);

/* True when a and b are the same identifier (same kind, scheme and canonical value). */
int rl_peppol_id_equal(const struct rl_peppol_id *a, const struct rl_peppol_id *b);

/* Appends "scheme::value" to out. Returns 0, or -1 when out of memory. */
int rl_peppol_id_uri(const struct rl_peppol_id *id, struct rl_buf *out);
/* Appends the percent-encoded URI form (an SMP URL path segment) to out. Returns 0 or -1 (memory). */
int rl_peppol_id_uri_encoded(const struct rl_peppol_id *id, struct rl_buf *out);
/* Appends s percent-encoded: RFC 3986 unreserved characters stay, every other byte becomes %XX. */
int rl_percent_encode(struct rl_buf *out, const char *s);

/* True when s has the shape of a participant value "ICD:value" (four digits, a colon, at least one more
 * character), as configuration keys and options take it. */
int rl_participant_value_shaped(const char *s);
/* True when s is a country code: two capital letters (ISO 3166 alpha-2; ZZ for unknown). */
int rl_country_code_valid(const char *s);
/* True when s is a Peppol seat id (an access point certificate's CN): P, two capital letters, six
 * digits, e.g. POP000123. */
int rl_seat_id_valid(const char *s);

#endif

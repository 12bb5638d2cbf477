/*
 * mls.h - the Peppol Message Level Status (MLS): a UBL 2.1 ApplicationResponse an access point receiving a
 * business document (C3) sends back to the sending access point (C2) about it (spec digest section 8.1).
 *
 * Building writes the document with the elements in the order of the UBL schema; reading takes what a
 * C2 needs from one (code, reasons, the InstanceIdentifier it is about, the parties). The rules around it:
 * who the MLS goes to (MLS_TO of the original's SBDH when it names the sending access point, otherwise
 * 0242:<the seat's number>), whether one is wanted (MLS_TYPE), and never one about an MLS.
 * Strings in struct rl_mls are malloc'd and owned by it; rl_mls_free() releases them.
 */
#ifndef RELAIS_MLS_H
#define RELAIS_MLS_H

#include <stdint.h>
#include <time.h>
#include <libxml/tree.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/sbdh.h"

#define RL_MLS_DOCTYPE "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse" \
	"##urn:peppol:edec:mls:1.0::2.1"
#define RL_MLS_PROCESS "urn:peppol:edec:mls"
#define RL_MLS_CUSTOMIZATION "urn:peppol:edec:mls:1.0"
#define RL_MLS_PROFILE "urn:peppol:edec:mls"
#define RL_NS_UBL_APPLICATION_RESPONSE "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
#define RL_MLS_SCHEME "0242"		/* the EAS code of Peppol service provider ids (SPIS) */
#define RL_MLS_REASONS_MAX 8

/* Response codes: AP accepted (delivered with confirmation), AB delivered, RE rejected. */
#define RL_MLS_ACCEPTED "AP"
#define RL_MLS_DELIVERED "AB"
#define RL_MLS_REJECTED "RE"
/* Status reasons of a negative MLS: syntax violation, business rule fatal, business rule warning,
 * failure of delivery. */
#define RL_MLS_REASON_SYNTAX "SV"
#define RL_MLS_REASON_BUSINESS "BV"
#define RL_MLS_REASON_WARNING "BW"
#define RL_MLS_REASON_DELIVERY "FD"

/* What an MLS says. In rl_mls_build's input every string is the caller's; from rl_mls_read they are
 * the struct's. sender and receiver are SPIS participant values "0242:<SPID>". */
struct rl_mls {
	char *id;			/* cbc:ID; NULL when building = a fresh UUID */
	char *issue_date;		/* YYYY-MM-DD (UTC) */
	char *issue_time;		/* HH:MM:SSZ */
	char *sender, *receiver;
	char *code;			/* AP, AB or RE */
	char *description;		/* required for RE */
	char *reference;		/* the SBDH InstanceIdentifier of the document it is about */
	char *reasons[RL_MLS_REASONS_MAX];	/* status reason codes of the line responses */
	char *reason_texts[RL_MLS_REASONS_MAX];	/* their descriptions (may be NULL) */
	int nreasons;
};
void rl_mls_free(struct rl_mls *m);

/* Writes the ApplicationResponse of m into out (appended, with an XML declaration). issue_date and
 * issue_time NULL = now. A negative MLS (RE) needs a description and at least one reason; each
 * reason becomes a LineResponse with LineID NA. Unknown codes or reasons, a missing party or reference
 * are RL_ERR_USAGE. */
int rl_mls_build(const struct rl_mls *m, struct rl_buf *out, struct rl_err *err);

/* Reads an MLS: doc is a bare ApplicationResponse or a StandardBusinessDocument carrying one. Fills m
 * (caller frees, also on failure). Returns 0, or -1 with RL_EBMS_OTHER naming what is missing or wrong
 * (not an ApplicationResponse, another CustomizationID, not exactly one DocumentResponse, ...). */
int rl_mls_read(xmlDocPtr doc, struct rl_mls *m, struct rl_err *err);
int rl_mls_read_mem(const void *data, size_t len, struct rl_mls *m, struct rl_err *err);

/* The most of a stored payload rl_mls_read_stored takes in: an MLS is a few KB, and anything longer than
 * this is refused rather than held in memory whole. */
#define RL_MLS_STORED_MAX (1024 * 1024)

/* Reads the MLS that is the payload of a stored message (row id), as rl_mls_read_mem: the payload is
 * streamed from the store into memory, and the read stops as soon as it passes max bytes. Fills m (caller
 * frees, also on failure). Returns 0, or -1: the store cannot be read (a local RL_ERR_* code), the
 * payload is longer than max bytes, or it is no MLS (both RL_EBMS_OTHER, the message saying which). */
struct rl_store;
int rl_mls_read_stored(struct rl_store *st, int64_t message, size_t max, struct rl_mls *m, struct rl_err *err);

/* The SPIS participant value of an access point's seat: "POP000306" -> "0242:000306" (any P + two
 * letters + six digits). RL_ERR_USAGE for anything else. */
int rl_mls_spid_of_seat(const char *seat, char *out, size_t size, struct rl_err *err);

/* Who the MLS about the document with header h goes to, when it came from the access point with seat
 * c2_seat: h->mls_to when it is a well-formed 0242 id whose SPID main part (the six digits) is that
 * seat's number, otherwise the seat's default 0242:<number>. Writes the participant value into out. */
int rl_mls_addressee(const struct rl_sbdh *h, const char *c2_seat, char *out, size_t size, struct rl_err *err);

/* Whether h is the header of an MLS (its document type is the MLS doctype): an MLS is never answered. */
int rl_mls_is_mls(const struct rl_sbdh *h);
/* Whether the sender of the document with header h wants an MLS of this kind: a negative one always,
 * a positive one only when MLS_TYPE is ALWAYS_SEND. Never for an MLS. */
int rl_mls_wanted(const struct rl_sbdh *h, int positive);

/* Fills h (rl_sbdh_free it) with the SBDH of an MLS: MLS doctype and process, sender our 0242 id,
 * receiver the addressee, a new InstanceIdentifier, now, country_c1 given. */
int rl_mls_sbdh(const char *our_spid, const char *addressee, const char *country, struct rl_sbdh *h,
		struct rl_err *err);

#endif

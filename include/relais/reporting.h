/*
 * reporting.h - the two monthly Peppol reports of a service provider, computed from the message store:
 * the Transaction Statistics Report (TSR 1.0) and the End User Statistics Report (EUSR 1.1).
 *
 * What is counted (see the top of src/reporting.c for the details and the spec versions followed):
 * the messages of one calendar month (UTC, by the time the store recorded them) that this access point
 * exchanged over Peppol AS4 with a transport acknowledgment: outbound ones in state delivered (a verified
 * receipt came back) sent by our seat (C2), and every inbound one addressed to our seat (C3), which is
 * stored only once committed and answered with a receipt, whatever its backend delivery did afterwards.
 * The reports themselves (TSR and EUSR document types) are counted in neither report. Document type,
 * process, end users and the C1 country come from the stored row and from the SBDH at the head of the
 * stored payload (only the header is read, streamed); a missing country is ZZ in the TSR, while the EUSR
 * refuses (RL_ERR_STATE/RL_ERR_CONFIG naming the message) because its rules take no ZZ.
 *
 * The report is written into an rl_buf (a report is a summary: its size grows with the number of
 * distinct keys, never with the payloads). The caller owns and frees the buffer.
 */
#ifndef RELAIS_REPORTING_H
#define RELAIS_REPORTING_H

#include <time.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/sbdh.h"
#include "relais/store.h"

enum rl_report_kind { RL_REPORT_TSR, RL_REPORT_EUSR };

/* Identifiers of the reports as Peppol documents (OpenPeppol receives them as participant
 * RL_REPORT_RECEIVER). */
#define RL_REPORT_RECEIVER "9925:be0848934496"
#define RL_REPORT_PROCESS "urn:fdc:peppol.eu:edec:bis:reporting:1.0"
#define RL_REPORT_TSR_NS "urn:fdc:peppol:transaction-statistics-report:1.0"
#define RL_REPORT_TSR_ROOT "TransactionStatisticsReport"
#define RL_REPORT_TSR_CUSTOMIZATION "urn:fdc:peppol.eu:edec:trns:transaction-statistics-reporting:1.0"
#define RL_REPORT_TSR_VERSION "1.0"
#define RL_REPORT_EUSR_NS "urn:fdc:peppol:end-user-statistics-report:1.1"
#define RL_REPORT_EUSR_ROOT "EndUserStatisticsReport"
#define RL_REPORT_EUSR_CUSTOMIZATION "urn:fdc:peppol.eu:edec:trns:end-user-statistics-report:1.1"
#define RL_REPORT_EUSR_VERSION "1.1"
/* The country code for "unknown". */
#define RL_REPORT_UNKNOWN_COUNTRY "ZZ"

struct rl_report_period {
	int year, month;	/* month 1..12 */
};

struct rl_report_opts {
	const char *seat_id;	/* our seat id (the AP certificate's subject CN), e.g. POP000001 */
	const char *c4_country;	/* the country of the end users we receive for; NULL or "" = ZZ */
	struct rl_report_period period;
};

/* 1 when v is a Peppol seat id as the reports' ReporterID and SP keys must be (CertSubjectCN): "P", two
 * upper-case letters, six digits (e.g. POP000001); 0 otherwise. */
int rl_report_is_seat_id(const char *v);

/* "YYYY-MM" -> period. RL_ERR_USAGE when malformed. */
int rl_report_parse_month(const char *text, struct rl_report_period *p, struct rl_err *err);
/* The period's bounds as UTC times: [*from, *to). */
void rl_report_period_bounds(const struct rl_report_period *p, time_t *from, time_t *to);

/* Collects the period's transactions from the store and writes the report (an XML document, UTF-8,
 * with its declaration) to out. A month without transactions gives a valid report with zero counts.
 * RL_ERR_CONFIG when o->seat_id is no seat id (rl_report_is_seat_id) or, for the EUSR, when messages
 * were received and o->c4_country is unset; RL_ERR_STATE when a counted message lacks a value the
 * report needs (the other access point, its seat id form, document type, process, end user, and for the
 * EUSR C1's country of a sent one). */
int rl_report_write(struct rl_store *s, enum rl_report_kind kind, const struct rl_report_opts *o,
		    struct rl_buf *out, struct rl_err *err);

/* The SBDH for sending a report to OpenPeppol: sender (the reporting service provider's participant,
 * "ICD:value"), RL_REPORT_RECEIVER, the report's document type and process, COUNTRY_C1 = country, a fresh
 * UUID and the time now. h is filled for rl_sbdh_wrap_file() (free it with rl_sbdh_free()). */
int rl_report_sbdh(enum rl_report_kind kind, const char *sender, const char *country, struct rl_sbdh *h,
		   struct rl_err *err);

#endif

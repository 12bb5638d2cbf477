/*
 * reporting.c - the Peppol Transaction Statistics Report (TSR) and End User Statistics Report (EUSR) of one
 * calendar month, computed from the message store at report time.
 *
 * Versions followed: TSR 1.0 (namespace urn:fdc:peppol:transaction-statistics-report:1.0, CustomizationID
 * urn:fdc:peppol.eu:edec:trns:transaction-statistics-reporting:1.0) and EUSR 1.1 (namespace
 * urn:fdc:peppol:end-user-statistics-report:1.1, CustomizationID
 * urn:fdc:peppol.eu:edec:trns:end-user-statistics-report:1.1); both with ProfileID
 * urn:fdc:peppol.eu:edec:bis:reporting:1.0.
 *
 * Checked against (read in OpenPEPPOL/edec-reporting and phax/peppol-reporting):
 *   - the TSR 1.0.1 XSD (tests validate every generated TSR against it, tests/reporting-schemas/);
 *   - the TSR Schematron 1.0.5 (SCH-TSR-01..43) and the TSR BIS text (chapters "Data Gathering",
 *     "Subtotals");
 *   - the EUSR Schematron 1.1.4 (SCH-EUSR-01..47), the EUSR 1.1 example report and the EUSR BIS text;
 *   - the EUSR structure against the EUSR 1.0.0 XSD: the 1.1 XSD itself could not be read; the 1.1
 *     Schematron and example use the same elements, so the tests validate with the 1.0.0 XSD under the
 *     1.1 namespace. The later EUSR Schematron 1.1.5 could not be read either.
 * The tests also assert the Schematron rules (tests/unit/test_reporting.c, report_conforms()).
 *
 *   TransactionStatisticsReport: CustomizationID, ProfileID, Header (ReportPeriod (StartDate, EndDate),
 *     ReporterID@schemeID=CertSubjectCN = our seat id, P + two letters + six digits), Total (Incoming,
 *     Outgoing), then Subtotal@type elements, each with its Key@metaSchemeID@schemeID elements, Incoming
 *     and Outgoing; the sums of each subtotal type equal the totals:
 *       PerTP           TP/Peppol = the transport profile (peppol-transport-as4-v2_0, the code list id)
 *       PerSP-DT-PR     SP/CertSubjectCN = the other access point (C3 when we sent, C2 when we received),
 *                       DT/<doctype scheme> = doctype value, PR/<process scheme> = process value
 *       PerSP-DT-PR-CC  the same and CC/SenderCountry = C1's country, CC/ReceiverCountry = C4's country;
 *                       received messages only, Outgoing always 0 (SCH-TSR-43: a sender cannot know C4's
 *                       country); required whenever something was received (SCH-TSR-11/12).
 *   EndUserStatisticsReport: CustomizationID, ProfileID, Header (as above), FullSet (SendingEndUsers,
 *     ReceivingEndUsers, SendingOrReceivingEndUsers: distinct end users), then Subset@type elements with
 *     Keys and the same three counts: PerDT-PR (DT, PR), PerEUC (CC/EndUserCountry), PerDT-EUC (DT, CC),
 *     PerDT-PR-EUC (DT, PR, CC). Each key combination once; a subset never has zero users.
 *     The end user of a sent message is its C1 (originalSender), of a received one its C4
 *     (finalRecipient); its country is C1's country (from the SBDH COUNTRY_C1) resp. C4's
 *     (reporting.c4_country). The spec counts End Users, not participant ids: relais counts participant
 *     ids (it knows no grouping of several ids into one end user).
 *   A month without transactions: the totals are zero and there are no Subtotal/Subset elements.
 *   An unknown country is ZZ in the TSR (allowed since TSR Schematron 1.0.4); the EUSR Schematron 1.1.4
 *   does not allow ZZ, so an EUSR with an end user of unknown country is refused, naming the message.
 *   Country values are those of the Schematron's code list (SCH-TSR-20, SCH-EUSR-30: ISO 3166-1 alpha-2
 *   with EL, XK, 1A, XI); others (lower case, XX, ...) count as unknown.
 *
 * What counts as a transaction of the month (TSR and EUSR BIS, "Data Gathering"): only exchanges with a
 * positive transport level acknowledgment (AS4 receipt), each counted once, by the sender as outgoing and
 * by the receiver as incoming; TSRs and EUSRs themselves are counted in neither report. So an outbound
 * message counts once delivered and only when our seat sent it (from_party is our seat, or unset: then
 * our identity was used at pack time); queued, retried and failed ones do not. An inbound message
 * addressed to our seat counts in any state: the store keeps it only once it was committed and answered
 * with a signed receipt (its later backend delivery is not a Peppol exchange).
 * Message Level Status documents are ordinary Peppol exchanges for the TSR (no rule excludes them); they
 * are left out of the EUSR by relais's own choice (their parties are service providers, not end users):
 * no reporting text read says so either way.
 * The month: the BIS counts exchanges by the time of the exchange (UTC): for a sent message when its
 * receipt came (the "delivered" line of its history), for a received one when it was committed and
 * answered (rl_store_message_range selects them so).
 * Values come from the row (Action = "scheme::doctype", Service and its type, originalSender,
 * finalRecipient, the parties) and, where the row lacks one, from the payload's SBDH; the SBDH is also
 * where COUNTRY_C1 is read. Only the payload's first bytes are read from the store (up to the end of the
 * header). A payload without a readable SBDH gives C1 country unknown. Participants are compared
 * case-insensitively (their scheme is).
 */
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <libxml/xmlwriter.h>
#include "relais/crypto.h"
#include "relais/keys.h"
#include "relais/reporting.h"
#include "relais/stream.h"

#define TRANSPORT_PROFILE "peppol-transport-as4-v2_0"
#define DEFAULT_DOCTYPE_SCHEME "busdox-docid-qns"
#define DEFAULT_PROCESS_SCHEME "cenbii-procid-ubl"
#define PARTICIPANT_SCHEME "iso6523-actorid-upis"
#define MLS_DOCTYPE "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##" \
	"urn:peppol:edec:mls:1.0::2.1"
/* The reports' own document types: never counted in either report. */
#define TSR_DOCTYPE RL_REPORT_TSR_NS "::" RL_REPORT_TSR_ROOT "##" RL_REPORT_TSR_CUSTOMIZATION "::" RL_REPORT_TSR_VERSION
#define EUSR_DOCTYPE RL_REPORT_EUSR_NS "::" RL_REPORT_EUSR_ROOT "##" RL_REPORT_EUSR_CUSTOMIZATION "::" RL_REPORT_EUSR_VERSION
/* The SBDH ends well within this many bytes of a payload; past it the rest is not read. */
#define HEAD_READ_MAX (4u * 1024 * 1024 + 1)

/* ---------------------------------------------------------------- period */

int rl_report_parse_month(const char *text, struct rl_report_period *p, struct rl_err *err)
{
	if (text == NULL || strlen(text) != 7 || text[4] != '-' || strspn(text, "0123456789") != 4 ||
	    !isdigit((unsigned char)text[5]) || !isdigit((unsigned char)text[6]))
		return rl_err_set(err, RL_ERR_USAGE, "'%s' is not a month YYYY-MM", text ? text : "");
	p->year = atoi(text);
	p->month = atoi(text + 5);
	if (p->year < 1970 || p->month < 1 || p->month > 12)
		return rl_err_set(err, RL_ERR_USAGE, "'%s' is not a month YYYY-MM", text);
	return 0;
}

static time_t utc_month_start(int year, int month)
{
	struct tm tm = { 0 };

	tm.tm_year = year - 1900 + (month - 1) / 12;
	tm.tm_mon = (month - 1) % 12;
	tm.tm_mday = 1;
	return timegm(&tm);
}

void rl_report_period_bounds(const struct rl_report_period *p, time_t *from, time_t *to)
{
	*from = utc_month_start(p->year, p->month);
	*to = utc_month_start(p->year, p->month + 1);
}

/* ---------------------------------------------------------------- items */

/* The values of one counted transaction. K_EUC points at K_C1 or K_C4 (not owned separately). */
enum { K_SP, K_DTS, K_DTV, K_PRS, K_PRV, K_C1, K_C4, K_EU, K_EUC, K_COUNT };

struct item {
	const char *k[K_COUNT];
	char *message_id;		/* for the errors that name it */
	int sent;			/* 1 sent by us (C2), 0 received (C3) */
	int mls;
};

struct collection {
	struct rl_store *store;
	const struct rl_report_opts *opts;
	struct item *items;
	size_t n, cap;
	struct rl_err *err;
	int failed;
};

static void item_free(struct item *it)
{
	for (int i = 0; i < K_COUNT; i++)
		if (i != K_EUC)
			free((char *)it->k[i]);
	free(it->message_id);
}

static void collection_free(struct collection *c)
{
	for (size_t i = 0; i < c->n; i++)
		item_free(&c->items[i]);
	free(c->items);
}

/* Reads the SBDH at the head of a stored payload: 1 h filled, 0 none (a bare or unreadable document),
 * -1 when the store failed. */
static int payload_sbdh(struct rl_store *s, int64_t id, struct rl_sbdh *h, struct rl_err *err)
{
	struct rl_err local;
	int rc = rl_sbdh_read_stored(s, id, HEAD_READ_MAX, h, &local);

	if (rc < 0 && !rl_err_is_ebms(local.code)) {
		*err = local;
		return -1;
	}
	if (rc < 0)
		memset(h, 0, sizeof(*h));
	return rc > 0 ? 1 : 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* "iso6523-actorid-upis::0088:123" or "0088:123" -> "0088:123", lower case (the scheme is case-insensitive). */
static char *participant_key(const char *v)
{
	char *out;

	if (v == NULL || v[0] == '\0')
		return NULL;
	if (strncasecmp(v, PARTICIPANT_SCHEME "::", sizeof(PARTICIPANT_SCHEME) + 1) == 0)
		v += sizeof(PARTICIPANT_SCHEME) + 1;
	out = strdup(v);
	for (char *p = out; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

/* Action "scheme::value" (or a bare value: default scheme) into scheme and value. A scheme has no ':'
 * (doctype values themselves contain "::"). */
static int split_doctype(const char *action, char **scheme, char **value)
{
	const char *sep = strstr(action, "::");

	if (sep && memchr(action, ':', (size_t)(sep - action)) == NULL && sep > action) {
		*scheme = strndup(action, (size_t)(sep - action));
		*value = strdup(sep + 2);
	} else {
		*scheme = strdup(DEFAULT_DOCTYPE_SCHEME);
		*value = strdup(action);
	}
	return *scheme && *value ? 0 : -1;
}

/* The country codes the reports' Schematron takes (TSR 1.0.5 SCH-TSR-20, EUSR 1.1.4 SCH-EUSR-30): ISO 3166-1
 * alpha-2, and EL (Greece), XK and 1A (Kosovo), XI (Northern Ireland). */
static const char COUNTRY_CODES[] =
	" 1A AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV"
	" BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH EL ER ES"
	" ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL"
	" IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC"
	" MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA"
	" PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS"
	" ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF"
	" WS XI XK YE YT ZA ZM ZW ";

/* A country code as the reports take it (COUNTRY_CODES); anything else (absent, lower case, not a code)
 * is unknown. */
static const char *country_or_unknown(const char *c)
{
	char probe[5];

	if (c == NULL || strlen(c) != 2)
		return RL_REPORT_UNKNOWN_COUNTRY;
	snprintf(probe, sizeof(probe), " %s ", c);
	return strstr(COUNTRY_CODES, probe) ? c : RL_REPORT_UNKNOWN_COUNTRY;
}

int rl_report_is_seat_id(const char *v)
{
	if (v == NULL || strlen(v) != 9 || v[0] != 'P')
		return 0;
	for (int i = 1; i < 9; i++)
		if (i < 3 ? !isupper((unsigned char)v[i]) : !isdigit((unsigned char)v[i]))
			return 0;
	return 1;
}

static int is_report_doctype(const char *scheme, const char *value)
{
	return scheme && value && strcmp(scheme, DEFAULT_DOCTYPE_SCHEME) == 0 &&
	       (strcmp(value, TSR_DOCTYPE) == 0 || strcmp(value, EUSR_DOCTYPE) == 0);
}

/* The other access point of a sent message: to_party, else the CN of the certificate it was encrypted to. */
static char *receiving_ap(const struct rl_store_message *m)
{
	char cn[256] = "";
	struct rl_err err;
	X509 *cert;

	if (m->to_party && m->to_party[0])
		return strdup(m->to_party);
	if (m->dest_cert_pem == NULL)
		return NULL;
	cert = rl_cert_from_pem_text(m->dest_cert_pem, &err);
	if (cert == NULL)
		return NULL;
	rl_cert_cn(cert, cn, sizeof(cn));
	X509_free(cert);
	return cn[0] ? strdup(cn) : NULL;
}

static int counted(const struct rl_store_message *m, const char *seat)
{
	if (m->direction == RL_DIR_OUT)
		return strcmp(m->state, "delivered") == 0 &&
		       (m->from_party == NULL || m->from_party[0] == '\0' || strcasecmp(m->from_party, seat) == 0);
	return m->to_party != NULL && strcasecmp(m->to_party, seat) == 0;
}

static int collect_one(void *ctx, const struct rl_store_message *m)
{
	struct collection *c = ctx;
	struct item it = { 0 };
	struct rl_sbdh h;
	char *scheme = NULL, *value = NULL;
	int have;

	if (!counted(m, c->opts->seat_id))
		return 0;
	have = payload_sbdh(c->store, m->id, &h, c->err);
	if (have < 0)
		goto fail;
	it.sent = m->direction == RL_DIR_OUT;
	it.k[K_SP] = it.sent ? receiving_ap(m) : dup_or_null(m->from_party);
	if (it.k[K_SP] == NULL) {
		rl_err_set(c->err, RL_ERR_STATE, "message %s: the other access point is not known", m->message_id);
		goto fail;
	}
	if (m->action && m->action[0]) {
		if (split_doctype(m->action, &scheme, &value) < 0)
			goto nomem;
		it.k[K_DTS] = scheme;
		it.k[K_DTV] = value;
	} else if (have && h.document_id) {
		it.k[K_DTS] = strdup(h.document_id_scheme ? h.document_id_scheme : DEFAULT_DOCTYPE_SCHEME);
		it.k[K_DTV] = strdup(h.document_id);
	}
	if (m->service && m->service[0]) {
		it.k[K_PRS] = strdup(m->service_type && m->service_type[0] ? m->service_type : DEFAULT_PROCESS_SCHEME);
		it.k[K_PRV] = strdup(m->service);
	} else if (have && h.process_id) {
		it.k[K_PRS] = strdup(h.process_id_scheme ? h.process_id_scheme : DEFAULT_PROCESS_SCHEME);
		it.k[K_PRV] = strdup(h.process_id);
	}
	if (it.k[K_DTV] == NULL || it.k[K_PRV] == NULL) {
		rl_err_set(c->err, RL_ERR_STATE, "message %s: its document type or process is not known", m->message_id);
		goto fail;
	}
	if (is_report_doctype(it.k[K_DTS], it.k[K_DTV])) {	/* a TSR or EUSR itself: counted in neither */
		if (have > 0)
			rl_sbdh_free(&h);
		it.k[K_EUC] = NULL;
		item_free(&it);
		return 0;
	}
	if (!rl_report_is_seat_id(it.k[K_SP])) {
		rl_err_set(c->err, RL_ERR_STATE, "message %s: the other access point '%s' is not a Peppol seat id "
			   "(P, two letters, six digits)", m->message_id, it.k[K_SP]);
		goto fail;
	}
	it.message_id = strdup(m->message_id);
	it.k[K_C1] = strdup(country_or_unknown(have ? h.country_c1 : NULL));
	it.k[K_C4] = strdup(it.sent ? RL_REPORT_UNKNOWN_COUNTRY : country_or_unknown(c->opts->c4_country));
	it.k[K_EUC] = it.sent ? it.k[K_C1] : it.k[K_C4];
	it.k[K_EU] = participant_key(it.sent ? m->original_sender : m->final_recipient);
	if (it.k[K_EU] == NULL && have)
		it.k[K_EU] = participant_key(it.sent ? h.sender : h.receiver);
	if (it.k[K_EU] == NULL) {
		rl_err_set(c->err, RL_ERR_STATE, "message %s: its %s is not known", m->message_id,
			   it.sent ? "original sender" : "final recipient");
		goto fail;
	}
	for (int i = 0; i < K_COUNT; i++)
		if (it.k[i] == NULL)
			goto nomem;
	if (it.message_id == NULL)
		goto nomem;
	it.mls = strcmp(it.k[K_DTS], DEFAULT_DOCTYPE_SCHEME) == 0 && strcmp(it.k[K_DTV], MLS_DOCTYPE) == 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct item *grown = realloc(c->items, cap * sizeof(*grown));

		if (grown == NULL)
			goto nomem;
		c->items = grown;
		c->cap = cap;
	}
	c->items[c->n++] = it;
	rl_sbdh_free(&h);
	return 0;
nomem:
	rl_err_set(c->err, RL_ERR_NOMEM, "out of memory");
fail:
	if (have > 0)
		rl_sbdh_free(&h);
	it.k[K_EUC] = NULL;
	item_free(&it);
	c->failed = 1;
	return 1;
}

/* ---------------------------------------------------------------- grouping */

struct grouping {
	const int *keys;
	int nkeys;
	int by_user;		/* then by end user and direction */
};

static int compare_items(const void *a, const void *b, void *ctx)
{
	const struct item *x = *(const struct item *const *)a, *y = *(const struct item *const *)b;
	const struct grouping *g = ctx;
	int d;

	for (int i = 0; i < g->nkeys; i++)
		if ((d = strcmp(x->k[g->keys[i]], y->k[g->keys[i]])) != 0)
			return d;
	if (!g->by_user)
		return 0;
	if ((d = strcmp(x->k[K_EU], y->k[K_EU])) != 0)
		return d;
	return x->sent - y->sent;
}

static int same_group(const struct item *x, const struct item *y, const struct grouping *g)
{
	for (int i = 0; i < g->nkeys; i++)
		if (strcmp(x->k[g->keys[i]], y->k[g->keys[i]]) != 0)
			return 0;
	return 1;
}

/* Writes the Key elements of a group: the scheme keys (K_DTS, K_PRS) are the schemeID of the value after. */
static int write_keys(xmlTextWriterPtr w, const struct item *it, const struct grouping *g)
{
	for (int i = 0; i < g->nkeys; i++) {
		const char *meta = NULL, *scheme = NULL;

		switch (g->keys[i]) {
		case K_SP: meta = "SP"; scheme = "CertSubjectCN"; break;
		case K_DTV: meta = "DT"; scheme = it->k[K_DTS]; break;
		case K_PRV: meta = "PR"; scheme = it->k[K_PRS]; break;
		case K_C1: meta = "CC"; scheme = "SenderCountry"; break;
		case K_C4: meta = "CC"; scheme = "ReceiverCountry"; break;
		case K_EUC: meta = "CC"; scheme = "EndUserCountry"; break;
		default: continue;
		}
		if (xmlTextWriterStartElement(w, BAD_CAST "Key") < 0 ||
		    xmlTextWriterWriteAttribute(w, BAD_CAST "metaSchemeID", BAD_CAST meta) < 0 ||
		    xmlTextWriterWriteAttribute(w, BAD_CAST "schemeID", BAD_CAST scheme) < 0 ||
		    xmlTextWriterWriteString(w, BAD_CAST it->k[g->keys[i]]) < 0 || xmlTextWriterEndElement(w) < 0)
			return -1;
	}
	return 0;
}

static int write_count(xmlTextWriterPtr w, const char *name, size_t n)
{
	return xmlTextWriterWriteFormatElement(w, BAD_CAST name, "%zu", n) < 0 ? -1 : 0;
}

/* One TSR Subtotal per distinct key over v (sorted here). */
static int tsr_subtotals(xmlTextWriterPtr w, const struct item **v, size_t n, const char *type, const int *keys,
			 int nkeys)
{
	struct grouping g = { keys, nkeys, 0 };

	qsort_r(v, n, sizeof(*v), compare_items, &g);
	for (size_t i = 0; i < n;) {
		size_t in = 0, out = 0, j = i;

		for (; j < n && same_group(v[i], v[j], &g); j++) {
			if (v[j]->sent)
				out++;
			else
				in++;
		}
		if (xmlTextWriterStartElement(w, BAD_CAST "Subtotal") < 0 ||
		    xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST type) < 0)
			return -1;
		if (nkeys == 0) {	/* PerTP: every exchange here is Peppol AS4 */
			if (xmlTextWriterStartElement(w, BAD_CAST "Key") < 0 ||
			    xmlTextWriterWriteAttribute(w, BAD_CAST "metaSchemeID", BAD_CAST "TP") < 0 ||
			    xmlTextWriterWriteAttribute(w, BAD_CAST "schemeID", BAD_CAST "Peppol") < 0 ||
			    xmlTextWriterWriteString(w, BAD_CAST TRANSPORT_PROFILE) < 0 || xmlTextWriterEndElement(w) < 0)
				return -1;
		} else if (write_keys(w, v[i], &g) < 0) {
			return -1;
		}
		if (write_count(w, "Incoming", in) < 0 || write_count(w, "Outgoing", out) < 0 ||
		    xmlTextWriterEndElement(w) < 0)
			return -1;
		i = j;
	}
	return 0;
}

struct user_counts {
	size_t sending, receiving, either;
};

/* Distinct end users of v[i..j) sorted by end user then direction. */
static struct user_counts count_users(const struct item **v, size_t i, size_t j)
{
	struct user_counts c = { 0, 0, 0 };

	while (i < j) {
		size_t k = i;
		int sent = 0, received = 0;

		for (; k < j && strcmp(v[k]->k[K_EU], v[i]->k[K_EU]) == 0; k++) {
			if (v[k]->sent)
				sent = 1;
			else
				received = 1;
		}
		c.sending += (size_t)sent;
		c.receiving += (size_t)received;
		c.either++;
		i = k;
	}
	return c;
}

static int write_user_counts(xmlTextWriterPtr w, struct user_counts c)
{
	return write_count(w, "SendingEndUsers", c.sending) < 0 || write_count(w, "ReceivingEndUsers", c.receiving) < 0 ||
			       write_count(w, "SendingOrReceivingEndUsers", c.either) < 0
		       ? -1
		       : 0;
}

static int eusr_subsets(xmlTextWriterPtr w, const struct item **v, size_t n, const char *type, const int *keys,
			int nkeys)
{
	struct grouping g = { keys, nkeys, 1 };

	qsort_r(v, n, sizeof(*v), compare_items, &g);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && same_group(v[i], v[j], &g))
			j++;
		if (xmlTextWriterStartElement(w, BAD_CAST "Subset") < 0 ||
		    xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST type) < 0 || write_keys(w, v[i], &g) < 0 ||
		    write_user_counts(w, count_users(v, i, j)) < 0 || xmlTextWriterEndElement(w) < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* ---------------------------------------------------------------- the documents */

static int write_head(xmlTextWriterPtr w, const char *root, const char *ns, const char *customization,
		      const struct rl_report_opts *o)
{
	time_t from, to;
	char start[16], end[16];
	struct tm tm;

	rl_report_period_bounds(&o->period, &from, &to);
	to -= 86400;
	gmtime_r(&from, &tm);
	strftime(start, sizeof(start), "%Y-%m-%d", &tm);
	gmtime_r(&to, &tm);
	strftime(end, sizeof(end), "%Y-%m-%d", &tm);
	return xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0 ||
			       xmlTextWriterStartElement(w, BAD_CAST root) < 0 ||
			       xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns", BAD_CAST ns) < 0 ||
			       xmlTextWriterWriteElement(w, BAD_CAST "CustomizationID", BAD_CAST customization) < 0 ||
			       xmlTextWriterWriteElement(w, BAD_CAST "ProfileID", BAD_CAST RL_REPORT_PROCESS) < 0 ||
			       xmlTextWriterStartElement(w, BAD_CAST "Header") < 0 ||
			       xmlTextWriterStartElement(w, BAD_CAST "ReportPeriod") < 0 ||
			       xmlTextWriterWriteElement(w, BAD_CAST "StartDate", BAD_CAST start) < 0 ||
			       xmlTextWriterWriteElement(w, BAD_CAST "EndDate", BAD_CAST end) < 0 ||
			       xmlTextWriterEndElement(w) < 0 || xmlTextWriterStartElement(w, BAD_CAST "ReporterID") < 0 ||
			       xmlTextWriterWriteAttribute(w, BAD_CAST "schemeID", BAD_CAST "CertSubjectCN") < 0 ||
			       xmlTextWriterWriteString(w, BAD_CAST o->seat_id) < 0 || xmlTextWriterEndElement(w) < 0 ||
			       xmlTextWriterEndElement(w) < 0
		       ? -1
		       : 0;
}

static int write_tsr(xmlTextWriterPtr w, const struct collection *c, const struct item **v)
{
	static const int sp_dt_pr[] = { K_SP, K_DTS, K_DTV, K_PRS, K_PRV };
	static const int sp_dt_pr_cc[] = { K_SP, K_DTS, K_DTV, K_PRS, K_PRV, K_C1, K_C4 };
	size_t in = 0, out = 0, received = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (c->items[i].sent)
			out++;
		else
			in++;
	}
	if (write_head(w, RL_REPORT_TSR_ROOT, RL_REPORT_TSR_NS, RL_REPORT_TSR_CUSTOMIZATION, c->opts) < 0 ||
	    xmlTextWriterStartElement(w, BAD_CAST "Total") < 0 || write_count(w, "Incoming", in) < 0 ||
	    write_count(w, "Outgoing", out) < 0 || xmlTextWriterEndElement(w) < 0)
		return -1;
	if (tsr_subtotals(w, v, c->n, "PerTP", NULL, 0) < 0 ||
	    tsr_subtotals(w, v, c->n, "PerSP-DT-PR", sp_dt_pr, 5) < 0)
		return -1;
	for (size_t i = 0; i < c->n; i++)
		if (!c->items[i].sent)
			v[received++] = &c->items[i];
	if (tsr_subtotals(w, v, received, "PerSP-DT-PR-CC", sp_dt_pr_cc, 7) < 0)
		return -1;
	return xmlTextWriterEndDocument(w) < 0 ? -1 : 0;
}

static int write_eusr(xmlTextWriterPtr w, const struct collection *c, const struct item **v)
{
	static const int dt_pr[] = { K_DTS, K_DTV, K_PRS, K_PRV };
	static const int euc[] = { K_EUC };
	static const int dt_euc[] = { K_DTS, K_DTV, K_EUC };
	static const int dt_pr_euc[] = { K_DTS, K_DTV, K_PRS, K_PRV, K_EUC };
	struct grouping by_user = { NULL, 0, 1 };
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		if (!c->items[i].mls)
			v[n++] = &c->items[i];
	if (write_head(w, RL_REPORT_EUSR_ROOT, RL_REPORT_EUSR_NS, RL_REPORT_EUSR_CUSTOMIZATION, c->opts) < 0)
		return -1;
	qsort_r(v, n, sizeof(*v), compare_items, &by_user);
	if (xmlTextWriterStartElement(w, BAD_CAST "FullSet") < 0 || write_user_counts(w, count_users(v, 0, n)) < 0 ||
	    xmlTextWriterEndElement(w) < 0)
		return -1;
	if (eusr_subsets(w, v, n, "PerDT-PR", dt_pr, 4) < 0 || eusr_subsets(w, v, n, "PerEUC", euc, 1) < 0 ||
	    eusr_subsets(w, v, n, "PerDT-EUC", dt_euc, 3) < 0 || eusr_subsets(w, v, n, "PerDT-PR-EUC", dt_pr_euc, 5) < 0)
		return -1;
	return xmlTextWriterEndDocument(w) < 0 ? -1 : 0;
}

/* The EUSR Schematron (1.1.4) takes no unknown country (ZZ is for the TSR only): every counted end user
 * needs a real one. */
static int eusr_countries_known(const struct collection *c, struct rl_err *err)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct item *it = &c->items[i];

		if (it->mls || strcmp(it->k[K_EUC], RL_REPORT_UNKNOWN_COUNTRY) != 0)
			continue;
		if (it->sent)
			return rl_err_set(err, RL_ERR_STATE, "message %s: the sending end user's country is not known "
					  "(its SBDH has no COUNTRY_C1 with an ISO 3166 code); the EUSR takes no unknown country",
					  it->message_id);
		return rl_err_set(err, RL_ERR_CONFIG, "message %s: the receiving end users' country is not known "
				  "(set reporting.c4_country to an ISO 3166 code); the EUSR takes no unknown country",
				  it->message_id);
	}
	return 0;
}

int rl_report_write(struct rl_store *s, enum rl_report_kind kind, const struct rl_report_opts *o,
		    struct rl_buf *out, struct rl_err *err)
{
	struct collection c = { 0 };
	const struct item **v = NULL;
	xmlBufferPtr xb = NULL;
	xmlTextWriterPtr w = NULL;
	time_t from, to;
	int rc = -1;

	if (o->seat_id == NULL || o->seat_id[0] == '\0')
		return rl_err_set(err, RL_ERR_CONFIG, "the reporting access point's seat id is not known "
				  "(set identity.party_id or identity.cert)");
	if (!rl_report_is_seat_id(o->seat_id))
		return rl_err_set(err, RL_ERR_CONFIG, "the reporting access point's seat id '%s' is not a Peppol seat id "
				  "(P, two letters, six digits)", o->seat_id);
	c.store = s;
	c.opts = o;
	c.err = err;
	rl_report_period_bounds(&o->period, &from, &to);
	if (rl_store_message_range(s, from, to, collect_one, &c, err) < 0 || c.failed)
		goto out;
	if (kind == RL_REPORT_EUSR && eusr_countries_known(&c, err) < 0)
		goto out;
	v = malloc((c.n ? c.n : 1) * sizeof(*v));
	xb = xmlBufferCreate();
	w = xb ? xmlNewTextWriterMemory(xb, 0) : NULL;
	if (v == NULL || w == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c.n; i++)
		v[i] = &c.items[i];
	xmlTextWriterSetIndent(w, 1);
	xmlTextWriterSetIndentString(w, BAD_CAST "  ");
	if ((kind == RL_REPORT_TSR ? write_tsr(w, &c, v) : write_eusr(w, &c, v)) < 0) {
		rl_err_set(err, RL_ERR_INTERNAL, "cannot write the report XML");
		goto out;
	}
	xmlFreeTextWriter(w);	/* flushes into xb */
	w = NULL;
	if (rl_buf_append(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb)) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (w)
		xmlFreeTextWriter(w);
	if (xb)
		xmlBufferFree(xb);
	free(v);
	collection_free(&c);
	return rc;
}

/* ---------------------------------------------------------------- the SBDH to send a report */

static int set_str(char **dst, const char *v)
{
	*dst = strdup(v);
	return *dst ? 0 : -1;
}

int rl_report_sbdh(enum rl_report_kind kind, const char *sender, const char *country, struct rl_sbdh *h,
		   struct rl_err *err)
{
	int tsr = kind == RL_REPORT_TSR;
	char uuid[37], now[32], doctype[512];
	time_t t = time(NULL);
	struct tm tm;

	memset(h, 0, sizeof(*h));
	if (rl_uuid(uuid, err) < 0)
		return -1;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(doctype, sizeof(doctype), "%s::%s##%s::%s", tsr ? RL_REPORT_TSR_NS : RL_REPORT_EUSR_NS,
		 tsr ? RL_REPORT_TSR_ROOT : RL_REPORT_EUSR_ROOT,
		 tsr ? RL_REPORT_TSR_CUSTOMIZATION : RL_REPORT_EUSR_CUSTOMIZATION,
		 tsr ? RL_REPORT_TSR_VERSION : RL_REPORT_EUSR_VERSION);
	if (set_str(&h->sender, sender) < 0 || set_str(&h->sender_scheme, PARTICIPANT_SCHEME) < 0 ||
	    set_str(&h->receiver, RL_REPORT_RECEIVER) < 0 || set_str(&h->receiver_scheme, PARTICIPANT_SCHEME) < 0 ||
	    set_str(&h->standard, tsr ? RL_REPORT_TSR_NS : RL_REPORT_EUSR_NS) < 0 ||
	    set_str(&h->type_version, tsr ? RL_REPORT_TSR_VERSION : RL_REPORT_EUSR_VERSION) < 0 ||
	    set_str(&h->instance_id, uuid) < 0 || set_str(&h->type, tsr ? RL_REPORT_TSR_ROOT : RL_REPORT_EUSR_ROOT) < 0 ||
	    set_str(&h->creation_time, now) < 0 || set_str(&h->document_id, doctype) < 0 ||
	    set_str(&h->document_id_scheme, DEFAULT_DOCTYPE_SCHEME) < 0 ||
	    set_str(&h->process_id, RL_REPORT_PROCESS) < 0 || set_str(&h->process_id_scheme, DEFAULT_PROCESS_SCHEME) < 0 ||
	    set_str(&h->country_c1, country) < 0) {
		rl_sbdh_free(h);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return 0;
}

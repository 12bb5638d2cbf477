/*
 * mls.c - the Peppol Message Level Status: building and reading the UBL ApplicationResponse, and the
 * rules of who gets one and when. See include/relais/mls.h.
 */
#include "config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "relais/crypto.h"
#include "relais/doc.h"
#include "relais/mls.h"
#include "relais/peppol_id.h"
#include "relais/xml.h"

static int nomem(struct rl_err *err)
{
	return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
}

void rl_mls_free(struct rl_mls *m)
{
	if (m == NULL)
		return;
	free(m->id);
	free(m->issue_date);
	free(m->issue_time);
	free(m->sender);
	free(m->receiver);
	free(m->code);
	free(m->description);
	free(m->reference);
	for (int i = 0; i < m->nreasons; i++) {
		free(m->reasons[i]);
		free(m->reason_texts[i]);
	}
	memset(m, 0, sizeof(*m));
}

static int is_code(const char *s, const char *const *codes)
{
	for (; s && *codes; codes++)
		if (strcmp(s, *codes) == 0)
			return 1;
	return 0;
}

static const char *const response_codes[] = { RL_MLS_ACCEPTED, RL_MLS_DELIVERED, RL_MLS_REJECTED, NULL };
static const char *const reason_codes[] = { RL_MLS_REASON_SYNTAX, RL_MLS_REASON_BUSINESS, RL_MLS_REASON_WARNING,
					    RL_MLS_REASON_DELIVERY, NULL };

/* "0242:<SPID>" split: the SPID after the scheme, or NULL when value is no SPIS participant. */
static const char *spid_of(const char *value)
{
	if (value == NULL || strncmp(value, RL_MLS_SCHEME ":", 5) != 0 || value[5] == '\0')
		return NULL;
	return value + 5;
}

static int leaf(struct rl_buf *b, const char *indent, const char *tag, const char *attr, const char *attr_value,
		const char *text)
{
	if (rl_buf_printf(b, "%s<%s", indent, tag) < 0)
		return -1;
	if (attr && (rl_buf_printf(b, " %s=\"", attr) < 0 || rl_xml_escape(b, attr_value) < 0 ||
		     rl_buf_puts(b, "\"") < 0))
		return -1;
	if (rl_buf_puts(b, ">") < 0 || rl_xml_escape(b, text) < 0 || rl_buf_printf(b, "</%s>\n", tag) < 0)
		return -1;
	return 0;
}

static int party(struct rl_buf *b, const char *tag, const char *participant)
{
	if (rl_buf_printf(b, "  <cac:%s>\n", tag) < 0 ||
	    leaf(b, "    ", "cbc:EndpointID", "schemeID", RL_MLS_SCHEME, spid_of(participant)) < 0 ||
	    rl_buf_printf(b, "  </cac:%s>\n", tag) < 0)
		return -1;
	return 0;
}

int rl_mls_build(const struct rl_mls *m, struct rl_buf *out, struct rl_err *err)
{
	char uuid[37], date[16], clock[16];
	int negative;

	if (!is_code(m->code, response_codes))
		return rl_err_set(err, RL_ERR_USAGE, "MLS response code '%s' is none of AP, AB, RE",
				  m->code ? m->code : "");
	if (spid_of(m->sender) == NULL || spid_of(m->receiver) == NULL)
		return rl_err_set(err, RL_ERR_USAGE, "the MLS sender and receiver must be " RL_MLS_SCHEME ":<SPID> ids");
	if (m->reference == NULL || m->reference[0] == '\0')
		return rl_err_set(err, RL_ERR_USAGE, "an MLS needs the InstanceIdentifier of the document it is about");
	negative = strcmp(m->code, RL_MLS_REJECTED) == 0;
	if (negative && (m->description == NULL || m->description[0] == '\0' || m->nreasons < 1))
		return rl_err_set(err, RL_ERR_USAGE, "a negative MLS needs a description and a status reason");
	if (m->nreasons < 0 || m->nreasons > RL_MLS_REASONS_MAX)
		return rl_err_set(err, RL_ERR_USAGE, "an MLS carries at most %d status reasons", RL_MLS_REASONS_MAX);
	for (int i = 0; i < m->nreasons; i++)
		if (!is_code(m->reasons[i], reason_codes))
			return rl_err_set(err, RL_ERR_USAGE, "MLS status reason '%s' is none of SV, BV, BW, FD",
					  m->reasons[i] ? m->reasons[i] : "");
	if (m->id == NULL && rl_uuid(uuid, err) < 0)
		return -1;
	if (m->issue_date == NULL || m->issue_time == NULL) {
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		strftime(clock, sizeof(clock), "%H:%M:%SZ", &tm);
	}
	if (rl_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			     "<ApplicationResponse xmlns=\"" RL_NS_UBL_APPLICATION_RESPONSE "\"\n"
			     "                     xmlns:cac=\"" RL_NS_UBL_CAC "\"\n"
			     "                     xmlns:cbc=\"" RL_NS_UBL_CBC "\">\n") < 0 ||
	    leaf(out, "  ", "cbc:CustomizationID", NULL, NULL, RL_MLS_CUSTOMIZATION) < 0 ||
	    leaf(out, "  ", "cbc:ProfileID", NULL, NULL, RL_MLS_PROFILE) < 0 ||
	    leaf(out, "  ", "cbc:ID", NULL, NULL, m->id ? m->id : uuid) < 0 ||
	    leaf(out, "  ", "cbc:IssueDate", NULL, NULL, m->issue_date ? m->issue_date : date) < 0 ||
	    leaf(out, "  ", "cbc:IssueTime", NULL, NULL, m->issue_time ? m->issue_time : clock) < 0 ||
	    party(out, "SenderParty", m->sender) < 0 || party(out, "ReceiverParty", m->receiver) < 0 ||
	    rl_buf_puts(out, "  <cac:DocumentResponse>\n    <cac:Response>\n") < 0 ||
	    leaf(out, "      ", "cbc:ResponseCode", NULL, NULL, m->code) < 0 ||
	    (m->description && leaf(out, "      ", "cbc:Description", NULL, NULL, m->description) < 0) ||
	    rl_buf_puts(out, "    </cac:Response>\n    <cac:DocumentReference>\n") < 0 ||
	    leaf(out, "      ", "cbc:ID", NULL, NULL, m->reference) < 0 ||
	    rl_buf_puts(out, "    </cac:DocumentReference>\n") < 0)
		return nomem(err);
	for (int i = 0; i < m->nreasons; i++) {
		if (rl_buf_puts(out, "    <cac:LineResponse>\n      <cac:LineReference>\n") < 0 ||
		    leaf(out, "        ", "cbc:LineID", NULL, NULL, "NA") < 0 ||
		    rl_buf_puts(out, "      </cac:LineReference>\n      <cac:Response>\n") < 0 ||
		    leaf(out, "        ", "cbc:Description", NULL, NULL,
			 m->reason_texts[i] ? m->reason_texts[i] : m->description ? m->description : m->reasons[i]) < 0 ||
		    rl_buf_puts(out, "        <cac:Status>\n") < 0 ||
		    leaf(out, "          ", "cbc:StatusReasonCode", NULL, NULL, m->reasons[i]) < 0 ||
		    rl_buf_puts(out, "        </cac:Status>\n      </cac:Response>\n    </cac:LineResponse>\n") < 0)
			return nomem(err);
	}
	if (rl_buf_puts(out, "  </cac:DocumentResponse>\n</ApplicationResponse>\n") < 0)
		return nomem(err);
	return 0;
}

/* The text of the only child ns:name of node, into *slot; missing = NULL, unless required. */
static int child_text(xmlNodePtr node, const char *ns, const char *name, int required, char **slot,
		      struct rl_err *err)
{
	xmlNodePtr c = node ? rl_xml_child(node, ns, name) : NULL;

	*slot = NULL;
	if (c == NULL) {
		if (required)
			return rl_err_set(err, RL_EBMS_OTHER, "the MLS has no %s", name);
		return 0;
	}
	*slot = rl_xml_text(c);
	if (*slot == NULL)
		return nomem(err);
	return 0;
}

static int read_party(xmlNodePtr root, const char *tag, char **slot, struct rl_err *err)
{
	xmlNodePtr p = rl_xml_child(root, RL_NS_UBL_CAC, tag);
	xmlNodePtr e = p ? rl_xml_child(p, RL_NS_UBL_CBC, "EndpointID") : NULL;
	char *scheme, *value;
	int rc = 0;

	*slot = NULL;
	if (e == NULL)
		return rl_err_set(err, RL_EBMS_OTHER, "the MLS has no %s/EndpointID", tag);
	scheme = rl_xml_attr(e, NULL, "schemeID");
	value = rl_xml_text(e);
	if (scheme == NULL || strcmp(scheme, RL_MLS_SCHEME) != 0)
		rc = rl_err_set(err, RL_EBMS_OTHER, "the MLS %s/EndpointID has schemeID '%s', not " RL_MLS_SCHEME,
				tag, scheme ? scheme : "");
	else if (value == NULL || value[0] == '\0' || asprintf(slot, RL_MLS_SCHEME ":%s", value) < 0) {
		*slot = NULL;
		rc = value == NULL ? nomem(err) : rl_err_set(err, RL_EBMS_OTHER, "the MLS %s/EndpointID is empty", tag);
	}
	free(scheme);
	free(value);
	return rc;
}

int rl_mls_read(xmlDocPtr doc, struct rl_mls *m, struct rl_err *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), response, ref, line;
	char *customization = NULL;

	memset(m, 0, sizeof(*m));
	if (root && !rl_xml_is(root, RL_NS_UBL_APPLICATION_RESPONSE, "ApplicationResponse"))
		for (root = root->children; root && !rl_xml_is(root, RL_NS_UBL_APPLICATION_RESPONSE, "ApplicationResponse");
		     root = root->next)
			;
	if (root == NULL)
		return rl_err_set(err, RL_EBMS_OTHER, "the document is no UBL ApplicationResponse");
	if (child_text(root, RL_NS_UBL_CBC, "CustomizationID", 1, &customization, err) < 0)
		return -1;
	if (strcmp(customization, RL_MLS_CUSTOMIZATION) != 0) {
		rl_err_set(err, RL_EBMS_OTHER, "the ApplicationResponse has CustomizationID '%s', not an MLS", customization);
		free(customization);
		return -1;
	}
	free(customization);
	if (child_text(root, RL_NS_UBL_CBC, "ID", 1, &m->id, err) < 0 ||
	    child_text(root, RL_NS_UBL_CBC, "IssueDate", 1, &m->issue_date, err) < 0 ||
	    child_text(root, RL_NS_UBL_CBC, "IssueTime", 1, &m->issue_time, err) < 0 ||
	    read_party(root, "SenderParty", &m->sender, err) < 0 ||
	    read_party(root, "ReceiverParty", &m->receiver, err) < 0)
		return -1;
	if (rl_xml_count(root, RL_NS_UBL_CAC, "DocumentResponse") != 1)
		return rl_err_set(err, RL_EBMS_OTHER, "an MLS has exactly one DocumentResponse");
	response = rl_xml_child(root, RL_NS_UBL_CAC, "DocumentResponse");
	if (child_text(rl_xml_child(response, RL_NS_UBL_CAC, "Response"), RL_NS_UBL_CBC, "ResponseCode", 1, &m->code,
		       err) < 0 ||
	    child_text(rl_xml_child(response, RL_NS_UBL_CAC, "Response"), RL_NS_UBL_CBC, "Description", 0,
		       &m->description, err) < 0)
		return -1;
	if (!is_code(m->code, response_codes))
		return rl_err_set(err, RL_EBMS_OTHER, "the MLS response code '%s' is none of AP, AB, RE", m->code);
	if (rl_xml_count(response, RL_NS_UBL_CAC, "DocumentReference") != 1)
		return rl_err_set(err, RL_EBMS_OTHER, "an MLS has exactly one DocumentReference");
	ref = rl_xml_child(response, RL_NS_UBL_CAC, "DocumentReference");
	if (child_text(ref, RL_NS_UBL_CBC, "ID", 1, &m->reference, err) < 0)
		return -1;
	for (line = rl_xml_child(response, RL_NS_UBL_CAC, "LineResponse"); line;
	     line = rl_xml_next(line, RL_NS_UBL_CAC, "LineResponse")) {
		xmlNodePtr r = rl_xml_child(line, RL_NS_UBL_CAC, "Response");
		xmlNodePtr status = r ? rl_xml_child(r, RL_NS_UBL_CAC, "Status") : NULL;

		if (m->nreasons == RL_MLS_REASONS_MAX)
			break;
		if (status == NULL)
			continue;
		if (child_text(status, RL_NS_UBL_CBC, "StatusReasonCode", 1, &m->reasons[m->nreasons], err) < 0)
			return -1;
		m->nreasons++;
		if (child_text(r, RL_NS_UBL_CBC, "Description", 0, &m->reason_texts[m->nreasons - 1], err) < 0)
			return -1;
	}
	if (strcmp(m->code, RL_MLS_REJECTED) == 0 && m->nreasons == 0)
		return rl_err_set(err, RL_EBMS_OTHER, "a negative MLS without a status reason");
	return 0;
}

int rl_mls_read_mem(const void *data, size_t len, struct rl_mls *m, struct rl_err *err)
{
	xmlDocPtr doc = rl_xml_parse(data, len, RL_EBMS_OTHER, "MLS", err);
	int rc;

	memset(m, 0, sizeof(*m));
	if (doc == NULL)
		return -1;
	rc = rl_mls_read(doc, m, err);
	xmlFreeDoc(doc);
	return rc;
}

int rl_mls_spid_of_seat(const char *seat, char *out, size_t size, struct rl_err *err)
{
	if (!rl_seat_id_valid(seat))
		return rl_err_set(err, RL_ERR_USAGE, "'%s' is no Peppol seat id (P, two letters, six digits)",
				  seat ? seat : "");
	if ((size_t)snprintf(out, size, RL_MLS_SCHEME ":%s", seat + 3) >= size)
		return rl_err_set(err, RL_ERR_INTERNAL, "SPIS id buffer too small");
	return 0;
}

/* A SPID: six digits, optionally "-" and 3..12 of [0-9A-Z_], optionally "." and 3..24 of [0-9A-Z._~-]. */
static int valid_spid(const char *s)
{
	size_t n;

	for (n = 0; n < 6; n++)
		if (!isdigit((unsigned char)s[n]))
			return 0;
	s += 6;
	if (*s == '\0')
		return 1;
	if (*s++ != '-')
		return 0;
	for (n = 0; s[n] && s[n] != '.'; n++)
		if (!(isdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]) || s[n] == '_'))
			return 0;
	if (n < 3 || n > 12)
		return 0;
	s += n;
	if (*s == '\0')
		return 1;
	s++;
	for (n = 0; s[n]; n++)
		if (!(isdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]) || strchr("-._~", s[n])))
			return 0;
	return n >= 3 && n <= 24;
}

int rl_mls_addressee(const struct rl_sbdh *h, const char *c2_seat, char *out, size_t size, struct rl_err *err)
{
	const char *to;

	if (rl_mls_spid_of_seat(c2_seat, out, size, err) < 0)
		return -1;
	to = h ? spid_of(h->mls_to) : NULL;
	if (to && valid_spid(to) && strncmp(to, c2_seat + 3, 6) == 0) {
		if ((size_t)snprintf(out, size, "%s", h->mls_to) >= size)
			return rl_err_set(err, RL_ERR_INTERNAL, "SPIS id buffer too small");
	}
	return 0;
}

int rl_mls_is_mls(const struct rl_sbdh *h)
{
	return h && h->document_id && strcmp(h->document_id, RL_MLS_DOCTYPE) == 0;
}

int rl_mls_wanted(const struct rl_sbdh *h, int positive)
{
	if (h == NULL || rl_mls_is_mls(h))
		return 0;
	if (!positive)
		return 1;
	return h->mls_type && strcmp(h->mls_type, "ALWAYS_SEND") == 0;
}

static int set(char **slot, const char *value, struct rl_err *err)
{
	*slot = strdup(value);
	return *slot ? 0 : nomem(err);
}

int rl_mls_sbdh(const char *our_spid, const char *addressee, const char *country, struct rl_sbdh *h,
		struct rl_err *err)
{
	char uuid[37], now[32];
	time_t t = time(NULL);
	struct tm tm;

	memset(h, 0, sizeof(*h));
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (rl_uuid(uuid, err) < 0)
		return -1;
	if (set(&h->sender, our_spid, err) < 0 || set(&h->sender_scheme, RL_SCHEME_PARTICIPANT, err) < 0 ||
	    set(&h->receiver, addressee, err) < 0 || set(&h->receiver_scheme, RL_SCHEME_PARTICIPANT, err) < 0 ||
	    set(&h->standard, RL_NS_UBL_APPLICATION_RESPONSE, err) < 0 || set(&h->type_version, "2.1", err) < 0 ||
	    set(&h->instance_id, uuid, err) < 0 || set(&h->type, "ApplicationResponse", err) < 0 ||
	    set(&h->creation_time, now, err) < 0 || set(&h->document_id, RL_MLS_DOCTYPE, err) < 0 ||
	    set(&h->document_id_scheme, RL_SCHEME_DOCTYPE, err) < 0 || set(&h->process_id, RL_MLS_PROCESS, err) < 0 ||
	    set(&h->process_id_scheme, RL_SCHEME_PROCESS, err) < 0 || set(&h->country_c1, country, err) < 0) {
		rl_sbdh_free(h);
		return -1;
	}
	return 0;
}

/*
 * sbdh.c - reading the Peppol Standard Business Document Header (Business Message Envelope 2.0).
 * See include/relais/sbdh.h. Both entry points share one validator that works on the header element:
 * rl_sbdh_read() takes it from a DOM document, rl_sbdh_read_file() expands just that element with
 * xmlTextReader and stops at the start tag of the business document, so memory does not grow with
 * the size of the document. Every defect is RL_EBMS_OTHER (EBMS:0004) with a one-line message.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/xmlreader.h>
#include "relais/sbdh.h"
#include "relais/store.h"
#include "relais/stream.h"
#include "relais/xml.h"

#define SBDH_MAX_DEPTH 256
/* rl_sbdh_read_file() lets the reader take at most this much of the file: a Peppol header is a few kB,
 * and this bounds memory even for a hostile file whose "header" never ends. */
#define SBDH_MAX_HEAD_BYTES (4u * 1024 * 1024)
#define PARTICIPANT_LOCAL_MAX 130
#define AUTHORITY_PARTICIPANT "iso6523-actorid-upis"
#define DEFAULT_DOCUMENT_SCHEME "busdox-docid-qns"
#define DEFAULT_PROCESS_SCHEME "cenbii-procid-ubl"

static void free_and_null(char **s)
{
	free(*s);
	*s = NULL;
}

void rl_sbdh_free(struct rl_sbdh *h)
{
	if (h == NULL)
		return;
	free_and_null(&h->sender);
	free_and_null(&h->sender_scheme);
	free_and_null(&h->receiver);
	free_and_null(&h->receiver_scheme);
	free_and_null(&h->standard);
	free_and_null(&h->type_version);
	free_and_null(&h->instance_id);
	free_and_null(&h->type);
	free_and_null(&h->creation_time);
	free_and_null(&h->document_id);
	free_and_null(&h->document_id_scheme);
	free_and_null(&h->process_id);
	free_and_null(&h->process_id_scheme);
	free_and_null(&h->country_c1);
	free_and_null(&h->mls_to);
	free_and_null(&h->mls_type);
}

static int nomem(struct rl_err *err)
{
	return rl_err_set(err, RL_ERR_NOMEM, "out of memory reading the SBDH");
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_upper_or_digit(char c)
{
	return (c >= 'A' && c <= 'Z') || is_digit(c);
}

/* "NNNN:local": a 4-digit ICD, then 1..130 characters of [A-Za-z0-9-._~]. */
static int valid_participant(const char *v)
{
	size_t n;

	for (int i = 0; i < 4; i++)
		if (!is_digit(v[i]))
			return 0;
	if (v[4] != ':')
		return 0;
	n = strlen(v + 5);
	if (n < 1 || n > PARTICIPANT_LOCAL_MAX)
		return 0;
	for (const char *p = v + 5; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || is_upper_or_digit(*p) || strchr("-._~", *p)))
			return 0;
	return 1;
}

static size_t span_of(const char *p, const char *extra, int allow_upper_digit)
{
	size_t n = 0;

	while (p[n] && ((allow_upper_digit && is_upper_or_digit(p[n])) || strchr(extra, p[n])))
		n++;
	return n;
}

/* SPID: [0-9]{6}(-[0-9A-Z_]{3,12}(\.[0-9A-Z\-\._~]{3,24})?)? */
static int valid_spid(const char *p)
{
	size_t n;

	for (int i = 0; i < 6; i++)
		if (!is_digit(p[i]))
			return 0;
	p += 6;
	if (*p == '\0')
		return 1;
	if (*p++ != '-')
		return 0;
	n = span_of(p, "_", 1);
	if (n < 3 || n > 12)
		return 0;
	p += n;
	if (*p == '\0')
		return 1;
	if (*p++ != '.')
		return 0;
	n = span_of(p, "-._~", 1);
	return n >= 3 && n <= 24 && p[n] == '\0';
}

static int parse_fixed_digits(const char **p, int count)
{
	for (int i = 0; i < count; i++)
		if (!is_digit((*p)[i]))
			return 0;
	*p += count;
	return 1;
}

/* xs:dateTime with a zone: YYYY-MM-DDThh:mm:ss[.fraction](Z|(+|-)hh:mm). */
static int valid_date_time(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (!parse_fixed_digits(&p, 4) || *p++ != '-' || !parse_fixed_digits(&p, 2) || *p++ != '-' ||
	    !parse_fixed_digits(&p, 2) || *p++ != 'T' || !parse_fixed_digits(&p, 2) || *p++ != ':' ||
	    !parse_fixed_digits(&p, 2) || *p++ != ':' || !parse_fixed_digits(&p, 2))
		return 0;
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return 0;
		while (is_digit(*p))
			p++;
	}
	if (*p == 'Z')
		return p[1] == '\0';
	if (*p != '+' && *p != '-')
		return 0;
	p++;
	return parse_fixed_digits(&p, 2) && *p++ == ':' && parse_fixed_digits(&p, 2) && *p == '\0';
}

/* Text of the single SBDH child `name` of parent; refuses missing, repeated or empty ones. */
static int required_text(xmlNodePtr parent, const char *parent_name, const char *name, char **out,
			 struct rl_err *err)
{
	int count = rl_xml_count(parent, RL_NS_SBDH, name);

	if (count == 0)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: %s has no %s", parent_name, name);
	if (count > 1)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: %s has %d %s elements, expected one", parent_name,
				  count, name);
	*out = rl_xml_text(rl_xml_child(parent, RL_NS_SBDH, name));
	if (*out == NULL)
		return nomem(err);
	if (**out == '\0')
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: %s/%s is empty", parent_name, name);
	return 0;
}

/* Sender or Receiver: exactly one element holding exactly one Identifier with the Peppol authority. */
static int read_party(xmlNodePtr header, const char *role, char **value, char **scheme,
		      struct rl_err *err)
{
	int parties = rl_xml_count(header, RL_NS_SBDH, role);
	xmlNodePtr party, id;
	int ids;

	if (parties != 1)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: %d %s elements, exactly one is required",
				  parties, role);
	party = rl_xml_child(header, RL_NS_SBDH, role);
	ids = rl_xml_count(party, RL_NS_SBDH, "Identifier");
	if (ids != 1)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: %s has %d Identifier elements, exactly one is required",
				  role, ids);
	id = rl_xml_child(party, RL_NS_SBDH, "Identifier");
	*scheme = rl_xml_attr(id, NULL, "Authority");
	if (*scheme == NULL)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: %s/Identifier has no Authority", role);
	if (strcmp(*scheme, AUTHORITY_PARTICIPANT) != 0)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: %s/Identifier Authority \"%.100s\" is not \"%s\"",
				  role, *scheme, AUTHORITY_PARTICIPANT);
	*value = rl_xml_text(id);
	if (*value == NULL)
		return nomem(err);
	if (!valid_participant(*value))
		return rl_err_set(err, RL_EBMS_OTHER,
				  "SBDH: %s identifier \"%.150s\" is not a Peppol participant (NNNN:value)", role,
				  *value);
	return 0;
}

static int read_document_identification(xmlNodePtr header, struct rl_sbdh *h, struct rl_err *err)
{
	int count = rl_xml_count(header, RL_NS_SBDH, "DocumentIdentification");
	xmlNodePtr di;

	if (count != 1)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: %d DocumentIdentification elements, expected one",
				  count);
	di = rl_xml_child(header, RL_NS_SBDH, "DocumentIdentification");
	if (required_text(di, "DocumentIdentification", "Standard", &h->standard, err) < 0 ||
	    required_text(di, "DocumentIdentification", "TypeVersion", &h->type_version, err) < 0 ||
	    required_text(di, "DocumentIdentification", "InstanceIdentifier", &h->instance_id, err) < 0 ||
	    required_text(di, "DocumentIdentification", "Type", &h->type, err) < 0 ||
	    required_text(di, "DocumentIdentification", "CreationDateAndTime", &h->creation_time, err) < 0)
		return -1;
	if (!valid_date_time(h->creation_time))
		return rl_err_set(err, RL_EBMS_OTHER,
				  "SBDH: CreationDateAndTime \"%.60s\" is not an xs:dateTime with a time zone",
				  h->creation_time);
	return 0;
}

/* Stores one scope's value (and scheme) in its slot; a scope type given twice is refused. */
static int take_scope(const char *type, char *value, char *scheme, const char *default_scheme,
		      char **value_slot, char **scheme_slot, struct rl_err *err)
{
	if (*value_slot) {
		free(value);
		free(scheme);
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: scope %s is given more than once", type);
	}
	*value_slot = value;
	if (scheme_slot == NULL) {
		free(scheme);
		return 0;
	}
	if (scheme == NULL || *scheme == '\0') {
		free(scheme);
		scheme = strdup(default_scheme);
		if (scheme == NULL)
			return nomem(err);
	}
	*scheme_slot = scheme;
	return 0;
}

static int read_scope(xmlNodePtr scope, struct rl_sbdh *h, struct rl_err *err)
{
	char *type = NULL, *value = NULL, *scheme = NULL;
	int rc = -1;

	if (required_text(scope, "Scope", "Type", &type, err) < 0 ||
	    required_text(scope, "Scope", "InstanceIdentifier", &value, err) < 0)
		goto out;
	if (rl_xml_child(scope, RL_NS_SBDH, "Identifier")) {
		scheme = rl_xml_text(rl_xml_child(scope, RL_NS_SBDH, "Identifier"));
		if (scheme == NULL) {
			nomem(err);
			goto out;
		}
	}
	if (strcmp(type, "DOCUMENTID") == 0) {
		rc = take_scope(type, value, scheme, DEFAULT_DOCUMENT_SCHEME, &h->document_id,
				&h->document_id_scheme, err);
	} else if (strcmp(type, "PROCESSID") == 0) {
		rc = take_scope(type, value, scheme, DEFAULT_PROCESS_SCHEME, &h->process_id,
				&h->process_id_scheme, err);
	} else if (strcmp(type, "COUNTRY_C1") == 0) {
		if (strlen(value) != 2 || !is_upper_or_digit(value[0]) || !is_upper_or_digit(value[1])) {
			rc = rl_err_set(err, RL_EBMS_OTHER, "SBDH: COUNTRY_C1 \"%.20s\" is not two of [A-Z0-9]",
					value);
			goto out;
		}
		rc = take_scope(type, value, scheme, NULL, &h->country_c1, NULL, err);
	} else if (strcmp(type, "MLS_TO") == 0) {
		if (!valid_participant(value) || strncmp(value, "0242:", 5) != 0 || !valid_spid(value + 5)) {
			rc = rl_err_set(err, RL_EBMS_OTHER, "SBDH: MLS_TO \"%.150s\" is not an SPIS participant 0242:<SPID>",
					value);
			goto out;
		}
		rc = take_scope(type, value, scheme, NULL, &h->mls_to, NULL, err);
	} else if (strcmp(type, "MLS_TYPE") == 0) {
		if (strcmp(value, "ALWAYS_SEND") != 0 && strcmp(value, "FAILURE_ONLY") != 0) {
			rc = rl_err_set(err, RL_EBMS_OTHER, "SBDH: MLS_TYPE \"%.60s\" is neither ALWAYS_SEND nor FAILURE_ONLY",
					value);
			goto out;
		}
		rc = take_scope(type, value, scheme, NULL, &h->mls_type, NULL, err);
	} else {
		rc = 0;	/* other scopes are tolerated */
		goto out;
	}
	value = scheme = NULL;	/* owned by h (or freed by take_scope) now */
out:
	free(type);
	free(value);
	free(scheme);
	return rc;
}

static int read_business_scope(xmlNodePtr header, struct rl_sbdh *h, struct rl_err *err)
{
	int count = rl_xml_count(header, RL_NS_SBDH, "BusinessScope");
	xmlNodePtr bs;

	if (count != 1)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: %d BusinessScope elements, expected one", count);
	bs = rl_xml_child(header, RL_NS_SBDH, "BusinessScope");
	for (xmlNodePtr scope = rl_xml_child(bs, RL_NS_SBDH, "Scope"); scope;
	     scope = rl_xml_next(scope, RL_NS_SBDH, "Scope"))
		if (read_scope(scope, h, err) < 0)
			return -1;
	if (h->document_id == NULL)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: BusinessScope has no DOCUMENTID scope");
	if (h->process_id == NULL)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: BusinessScope has no PROCESSID scope");
	if (h->country_c1 == NULL)
		return rl_err_set(err, RL_EBMS_OTHER,
				  "SBDH: BusinessScope has no COUNTRY_C1 scope (mandatory since envelope 2.0)");
	return 0;
}

/* Validates the StandardBusinessDocumentHeader element and fills h. */
static int read_header(xmlNodePtr header, struct rl_sbdh *h, struct rl_err *err)
{
	char *version = NULL;
	int rc;

	rc = required_text(header, "StandardBusinessDocumentHeader", "HeaderVersion", &version, err);
	if (rc == 0 && strcmp(version, "1.0") != 0)
		rc = rl_err_set(err, RL_EBMS_OTHER, "SBDH: HeaderVersion \"%.40s\" is not 1.0", version);
	free(version);
	if (rc < 0)
		return -1;
	if (read_party(header, "Sender", &h->sender, &h->sender_scheme, err) < 0 ||
	    read_party(header, "Receiver", &h->receiver, &h->receiver_scheme, err) < 0 ||
	    read_document_identification(header, h, err) < 0 || read_business_scope(header, h, err) < 0)
		return -1;
	return 0;
}

/* The business document must carry the namespace named by Standard and the local name named by Type. */
static int check_business_document(const struct rl_sbdh *h, const char *ns, const char *name,
				   struct rl_err *err)
{
	if (ns == NULL || strcmp(ns, h->standard) != 0)
		return rl_err_set(err, RL_EBMS_OTHER,
				  "SBDH: business document namespace \"%.150s\" differs from Standard \"%.150s\"",
				  ns ? ns : "", h->standard);
	if (strcmp(name, h->type) != 0)
		return rl_err_set(err, RL_EBMS_OTHER,
				  "SBDH: business document element \"%.100s\" differs from Type \"%.100s\"", name,
				  h->type);
	return 0;
}

static int fail(struct rl_sbdh *h)
{
	rl_sbdh_free(h);
	return -1;
}

static xmlNodePtr first_element(xmlNodePtr node)
{
	while (node && node->type != XML_ELEMENT_NODE)
		node = node->next;
	return node;
}

int rl_sbdh_read(xmlDocPtr doc, struct rl_sbdh *h, struct rl_err *err)
{
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	xmlNodePtr header, business;

	memset(h, 0, sizeof(*h));
	if (!rl_xml_is(root, RL_NS_SBDH, "StandardBusinessDocument"))
		return 0;
	header = first_element(root->children);
	if (!rl_xml_is(header, RL_NS_SBDH, "StandardBusinessDocumentHeader"))
		return rl_err_set(err, RL_EBMS_OTHER,
				  "SBDH: StandardBusinessDocument does not start with a StandardBusinessDocumentHeader");
	if (read_header(header, h, err) < 0)
		return fail(h);
	business = first_element(header->next);
	if (business == NULL) {
		rl_err_set(err, RL_EBMS_OTHER, "SBDH: no business document follows the header");
		return fail(h);
	}
	if (check_business_document(h, business->ns ? (const char *)business->ns->href : NULL,
				    (const char *)business->name, err) < 0)
		return fail(h);
	return 1;
}

/* Reads to the next node that is not white space, a comment or a processing instruction.
 * Returns 1 with the reader on it, 0 at the end of the input, -1 on a parse or safety error. */
static int next_significant(xmlTextReaderPtr reader, int use_next, struct rl_err *err)
{
	for (;;) {
		int rc = use_next ? xmlTextReaderNext(reader) : xmlTextReaderRead(reader);
		int type;

		use_next = 0;
		if (rc < 0)
			return rl_err_set(err, RL_EBMS_OTHER, "SBDH: document is not well-formed XML");
		if (rc == 0)
			return 0;
		type = xmlTextReaderNodeType(reader);
		if (type == XML_READER_TYPE_DOCUMENT_TYPE)
			return rl_err_set(err, RL_EBMS_OTHER,
					  "SBDH document: a DOCTYPE is not allowed (no DTDs or entities are accepted)");
		if (type == XML_READER_TYPE_ENTITY_REFERENCE || type == XML_READER_TYPE_ENTITY)
			return rl_err_set(err, RL_EBMS_OTHER, "SBDH document: entity references are not allowed");
		if (xmlTextReaderDepth(reader) > SBDH_MAX_DEPTH)
			return rl_err_set(err, RL_EBMS_OTHER, "SBDH document: elements nested deeper than %d levels",
					  SBDH_MAX_DEPTH);
		if (type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
		    type == XML_READER_TYPE_COMMENT || type == XML_READER_TYPE_PROCESSING_INSTRUCTION ||
		    type == XML_READER_TYPE_XML_DECLARATION)
			continue;
		return 1;
	}
}

static int reader_is(xmlTextReaderPtr reader, const char *ns, const char *name)
{
	const char *uri = (const char *)xmlTextReaderConstNamespaceUri(reader);
	const char *local = (const char *)xmlTextReaderConstLocalName(reader);

	return xmlTextReaderNodeType(reader) == XML_READER_TYPE_ELEMENT && uri && local &&
	       strcmp(uri, ns) == 0 && strcmp(local, name) == 0;
}

/* Header depth check on the expanded subtree (the reader only checks the nodes it visits). */
static int subtree_too_deep(xmlNodePtr node, int depth)
{
	if (depth > SBDH_MAX_DEPTH)
		return 1;
	for (xmlNodePtr c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && subtree_too_deep(c, depth + 1))
			return 1;
	return 0;
}

/* Moves to the next sibling-or-child element the way the DOM path finds one (text is skipped):
 * 1 on an element, 0 at an end tag or the end of input, -1 on error. */
static int next_element(xmlTextReaderPtr reader, int use_next, struct rl_err *err)
{
	int rc = next_significant(reader, use_next, err);

	while (rc > 0 && xmlTextReaderNodeType(reader) != XML_READER_TYPE_ELEMENT) {
		if (xmlTextReaderNodeType(reader) == XML_READER_TYPE_END_ELEMENT)
			return 0;
		rc = next_significant(reader, 1, err);
	}
	return rc;
}

static int stream_read(xmlTextReaderPtr reader, struct rl_sbdh *h, struct rl_err *err)
{
	xmlNodePtr header;
	int rc;

	rc = next_element(reader, 0, err);
	if (rc <= 0)
		return rc < 0 ? -1 : rl_err_set(err, RL_EBMS_OTHER, "SBDH: document has no root element");
	if (!reader_is(reader, RL_NS_SBDH, "StandardBusinessDocument"))
		return 0;
	rc = xmlTextReaderIsEmptyElement(reader) ? 0 : next_element(reader, 0, err);
	if (rc < 0)
		return -1;
	if (rc == 0 || !reader_is(reader, RL_NS_SBDH, "StandardBusinessDocumentHeader"))
		return rl_err_set(err, RL_EBMS_OTHER,
				  "SBDH: StandardBusinessDocument does not start with a StandardBusinessDocumentHeader");
	header = xmlTextReaderExpand(reader);
	if (header == NULL)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: header is not well-formed XML");
	if (subtree_too_deep(header, xmlTextReaderDepth(reader)))
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH document: elements nested deeper than %d levels",
				  SBDH_MAX_DEPTH);
	if (read_header(header, h, err) < 0)
		return -1;
	/* Past </StandardBusinessDocumentHeader> to the start tag of the business document; stop there. */
	rc = next_element(reader, 1, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: no business document follows the header");
	return check_business_document(h, (const char *)xmlTextReaderConstNamespaceUri(reader),
				       (const char *)xmlTextReaderConstLocalName(reader), err) < 0
		       ? -1
		       : 1;
}

/* Watches the bytes handed to the reader: a DOCTYPE in the prolog stops the input at once, before
 * libxml2 parses any declaration in it (the reader itself also refuses a DOCTYPE node it reports), and
 * the input ends with an error once SBDH_MAX_HEAD_BYTES have been read. */
struct prolog_watch {
	FILE *file;
	size_t delivered;
	int too_big;
	int in_prolog;
	int after_lt;
	size_t matched;
	int saw_doctype;
};

static int watched_read(void *context, char *buffer, int len)
{
	static const char doctype[] = "<!DOCTYPE";
	struct prolog_watch *w = context;
	size_t n;

	if (len <= 0)
		return 0;
	if (w->delivered >= SBDH_MAX_HEAD_BYTES) {
		w->too_big = 1;
		return -1;
	}
	if ((size_t)len > SBDH_MAX_HEAD_BYTES - w->delivered)
		len = (int)(SBDH_MAX_HEAD_BYTES - w->delivered);
	n = fread(buffer, 1, (size_t)len, w->file);
	if (n == 0 && ferror(w->file))
		return -1;
	w->delivered += n;
	for (size_t i = 0; i < n && w->in_prolog; i++) {
		char c = buffer[i];

		if (w->after_lt && c != '?' && c != '!' && c != '/')
			w->in_prolog = 0;	/* the root element starts: no DOCTYPE can follow */
		w->after_lt = c == '<';
		if (c == doctype[w->matched])
			w->matched++;
		else
			w->matched = c == '<' ? 1 : 0;
		if (w->matched == sizeof(doctype) - 1) {
			w->saw_doctype = 1;
			return -1;
		}
	}
	return (int)n;
}

static int watched_close(void *context)
{
	return 0;	/* the file is closed by rl_sbdh_read_file */
}

int rl_sbdh_read_stream(FILE *in, const char *name, struct rl_sbdh *h, struct rl_err *err)
{
	struct prolog_watch watch = { .in_prolog = 1 };
	xmlTextReaderPtr reader;
	int rc;

	memset(h, 0, sizeof(*h));
	rl_xml_init();
	watch.file = in;
	reader = xmlReaderForIO(watched_read, watched_close, &watch, name, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (reader == NULL) {
		rc = watch.saw_doctype ? -1 : rl_err_set(err, RL_EBMS_OTHER, "SBDH: cannot read %s as XML", name);
	} else {
		rc = stream_read(reader, h, err);
		xmlFreeTextReader(reader);
	}
	if (watch.saw_doctype)
		rc = rl_err_set(err, RL_EBMS_OTHER,
				"SBDH document: a DOCTYPE is not allowed (no DTDs or entities are accepted)");
	else if (watch.too_big && rc < 0)
		rc = rl_err_set(err, RL_EBMS_OTHER, "SBDH: the header does not end within the first %u bytes",
				SBDH_MAX_HEAD_BYTES);
	if (rc < 0)
		rl_sbdh_free(h);
	return rc;
}

/* A sink keeping the first max bytes of a stored payload in a spool, then stopping the read (full). */
struct head_spool {
	FILE *fp;
	size_t max, taken;
	int full;
};

static int head_spool_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct head_spool *hs = ctx;
	size_t room = hs->max - hs->taken;

	if (len > room)
		len = room;
	if (len > 0 && fwrite(data, 1, len, hs->fp) != len)
		return rl_err_set(err, RL_ERR_IO, "cannot spool the head of a stored payload");
	hs->taken += len;
	if (hs->taken >= hs->max) {
		hs->full = 1;
		return rl_err_set(err, RL_ERR_IO, "enough of the payload read");
	}
	return 0;
}

int rl_sbdh_read_stored(struct rl_store *st, int64_t message, size_t max, struct rl_sbdh *h,
			struct rl_err *err)
{
	struct head_spool hs = { NULL, max, 0, 0 };
	struct rl_sink sink = { head_spool_write, &hs };
	int rc;

	memset(h, 0, sizeof(*h));
	hs.fp = rl_tmpfile(NULL, err);
	if (hs.fp == NULL)
		return -1;
	if (rl_store_payload_read(st, message, &sink, err) < 0 && !hs.full) {
		fclose(hs.fp);
		return -1;
	}
	rewind(hs.fp);
	rc = rl_sbdh_read_stream(hs.fp, "the stored payload", h, err);
	fclose(hs.fp);
	return rc;
}

int rl_sbdh_read_file(const char *path, struct rl_sbdh *h, struct rl_err *err)
{
	FILE *in;
	int rc;

	memset(h, 0, sizeof(*h));
	in = fopen(path, "rb");
	if (in == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	rc = rl_sbdh_read_stream(in, path, h, err);
	fclose(in);
	return rc;
}

/*
 * sbdh_wrap.c - the Peppol SBDH for a bare document, and the check of a wrapped one.
 * See include/relais/sbdh_wrap.h. The header is written from struct rl_sbdh, then the document's bytes
 * follow as they are (minus a BOM and the XML declaration), so a large invoice is copied, not parsed.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "relais/buf.h"
#include "relais/crypto.h"
#include "relais/keys.h"
#include "relais/peppol_id.h"
#include "relais/sbdh_wrap.h"
#include "relais/xml.h"

#define COPY_CHUNK 65536
#define DECL_MAX 4096

static int nomem(struct rl_err *err)
{
	return rl_err_set(err, RL_ERR_NOMEM, "out of memory building the SBDH");
}

static int set(char **slot, const char *value, struct rl_err *err)
{
	free(*slot);
	*slot = strdup(value);
	return *slot ? 0 : nomem(err);
}

static int participant_option(const char *what, const char *value, char **slot, struct rl_err *err)
{
	struct rl_peppol_id id;
	struct rl_err id_err;
	const char *v = value;

	if (strncmp(v, RL_SCHEME_PARTICIPANT "::", strlen(RL_SCHEME_PARTICIPANT) + 2) == 0)
		v += strlen(RL_SCHEME_PARTICIPANT) + 2;
	if (rl_peppol_id_make(&id, RL_ID_PARTICIPANT, NULL, v, &id_err) < 0)
		return rl_err_set(err, RL_ERR_USAGE, "%s %.150s: %s", what, value, id_err.msg);
	return set(slot, v, err);
}

static int party(const char *what, const char *option, const char *endpoint, const char *scheme,
		 char **slot, struct rl_err *err)
{
	struct rl_buf b = RL_BUF_INIT;
	int rc;

	if (option)
		return participant_option(what, option, slot, err);
	if (rl_doc_participant(endpoint, scheme, &b, err) < 0)
		return rl_err_prefix(err, "SBDH %s", what);
	rc = set(slot, b.data, err);
	rl_buf_free(&b);
	return rc;
}

static int valid_country(const char *c)
{
	return strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z';
}

int rl_sbdh_plan(const struct rl_doc_info *info, const struct rl_sbdh_wrap_opts *opts, struct rl_sbdh *h,
		 struct rl_err *err)
{
	static const struct rl_sbdh_wrap_opts none;
	struct rl_buf b = RL_BUF_INIT;
	char uuid[37], now[40];
	const char *country;

	memset(h, 0, sizeof(*h));
	if (opts == NULL)
		opts = &none;
	if (info->sbdh)
		return rl_err_set(err, RL_EBMS_OTHER, "the document is already wrapped in an SBDH");
	if (info->syntax != RL_DOC_SYNTAX_UBL && info->syntax != RL_DOC_SYNTAX_CII)
		return rl_err_set(err, RL_EBMS_OTHER, "only a UBL or CII business document can be wrapped (this is %s)",
				  info->syntax == RL_DOC_SYNTAX_PDF ? "a PDF" : "not one");
	if (party("sender", opts->sender, info->seller_endpoint, info->seller_endpoint_scheme, &h->sender, err) < 0 ||
	    party("receiver", opts->receiver, info->buyer_endpoint, info->buyer_endpoint_scheme, &h->receiver,
		  err) < 0)
		goto fail;
	country = opts->country ? opts->country : info->seller_country;
	if (country == NULL) {
		rl_err_set(err, RL_EBMS_OTHER, "SBDH COUNTRY_C1: the document has no seller country (BT-40)");
		goto fail;
	}
	if (!valid_country(country)) {
		rl_err_set(err, opts->country ? RL_ERR_USAGE : RL_EBMS_OTHER,
			   "SBDH COUNTRY_C1: \"%.20s\" is not an ISO 3166 alpha-2 code", country);
		goto fail;
	}
	if (rl_doc_doctype_value(info, &b, err) < 0) {
		rl_err_prefix(err, "SBDH DOCUMENTID");
		goto fail;
	}
	if (set(&h->document_id, b.data, err) < 0)
		goto fail;
	rl_buf_reset(&b);
	if (opts->process) {
		if (set(&h->process_id, opts->process, err) < 0)
			goto fail;
	} else if (rl_doc_process_value(info, &b, err) < 0) {
		rl_err_prefix(err, "SBDH PROCESSID");
		goto fail;
	} else if (set(&h->process_id, b.data, err) < 0) {
		goto fail;
	}
	if (opts->instance_id == NULL && rl_uuid(uuid, err) < 0)
		goto fail;
	if (opts->creation_time == NULL)
		rl_format_datetime(0, 0, now, sizeof(now));
	else if (rl_parse_datetime(opts->creation_time) == -1) {
		rl_err_set(err, RL_ERR_USAGE, "creation time \"%.60s\" is not an xs:dateTime", opts->creation_time);
		goto fail;
	}
	if (set(&h->sender_scheme, RL_SCHEME_PARTICIPANT, err) < 0 ||
	    set(&h->receiver_scheme, RL_SCHEME_PARTICIPANT, err) < 0 ||
	    set(&h->standard, info->root_ns, err) < 0 || set(&h->type, info->root_name, err) < 0 ||
	    set(&h->type_version, info->syntax_version, err) < 0 ||
	    set(&h->instance_id, opts->instance_id ? opts->instance_id : uuid, err) < 0 ||
	    set(&h->creation_time, opts->creation_time ? opts->creation_time : now, err) < 0 ||
	    set(&h->document_id_scheme, RL_SCHEME_DOCTYPE, err) < 0 ||
	    set(&h->process_id_scheme, RL_SCHEME_PROCESS, err) < 0 || set(&h->country_c1, country, err) < 0)
		goto fail;
	rl_buf_free(&b);
	return 0;
fail:
	rl_buf_free(&b);
	rl_sbdh_free(h);
	return -1;
}

static int element(struct rl_buf *b, const char *indent, const char *name, const char *value)
{
	if (rl_buf_printf(b, "%s<%s>", indent, name) < 0 || rl_xml_escape(b, value) < 0 ||
	    rl_buf_printf(b, "</%s>\n", name) < 0)
		return -1;
	return 0;
}

static int scope(struct rl_buf *b, const char *type, const char *value, const char *identifier)
{
	if (rl_buf_puts(b, "      <Scope>\n") < 0 || element(b, "        ", "Type", type) < 0 ||
	    element(b, "        ", "InstanceIdentifier", value) < 0 ||
	    (identifier && element(b, "        ", "Identifier", identifier) < 0) ||
	    rl_buf_puts(b, "      </Scope>\n") < 0)
		return -1;
	return 0;
}

static int participant(struct rl_buf *b, const char *role, const char *scheme, const char *value)
{
	if (rl_buf_printf(b, "    <%s>\n      <Identifier Authority=\"", role) < 0 || rl_xml_escape(b, scheme) < 0 ||
	    rl_buf_puts(b, "\">") < 0 || rl_xml_escape(b, value) < 0 ||
	    rl_buf_printf(b, "</Identifier>\n    </%s>\n", role) < 0)
		return -1;
	return 0;
}

static int header_xml(const struct rl_sbdh *h, struct rl_buf *b)
{
	if (rl_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			   "<StandardBusinessDocument xmlns=\"" RL_NS_SBDH "\">\n"
			   "  <StandardBusinessDocumentHeader>\n"
			   "    <HeaderVersion>1.0</HeaderVersion>\n") < 0 ||
	    participant(b, "Sender", h->sender_scheme, h->sender) < 0 ||
	    participant(b, "Receiver", h->receiver_scheme, h->receiver) < 0 ||
	    rl_buf_puts(b, "    <DocumentIdentification>\n") < 0 ||
	    element(b, "      ", "Standard", h->standard) < 0 ||
	    element(b, "      ", "TypeVersion", h->type_version) < 0 ||
	    element(b, "      ", "InstanceIdentifier", h->instance_id) < 0 ||
	    element(b, "      ", "Type", h->type) < 0 ||
	    element(b, "      ", "CreationDateAndTime", h->creation_time) < 0 ||
	    rl_buf_puts(b, "    </DocumentIdentification>\n    <BusinessScope>\n") < 0 ||
	    scope(b, "DOCUMENTID", h->document_id, h->document_id_scheme) < 0 ||
	    scope(b, "PROCESSID", h->process_id, h->process_id_scheme) < 0 ||
	    scope(b, "COUNTRY_C1", h->country_c1, NULL) < 0 ||
	    (h->mls_to && scope(b, "MLS_TO", h->mls_to, RL_SCHEME_PARTICIPANT) < 0) ||
	    (h->mls_type && scope(b, "MLS_TYPE", h->mls_type, NULL) < 0) ||
	    rl_buf_puts(b, "    </BusinessScope>\n  </StandardBusinessDocumentHeader>\n") < 0)
		return -1;
	return 0;
}

/* Length of the BOM and XML declaration at the start of head (0 when none); -1 when the declaration
 * names an encoding other than UTF-8 or does not end within the bytes read. */
static long prolog_length(const char *head, size_t n, struct rl_err *err)
{
	size_t start = 0;
	const char *end, *enc;

	if ((n >= 2 && ((unsigned char)head[0] == 0xFE || (unsigned char)head[0] == 0xFF)) || memchr(head, '\0', n < 4 ? n : 4))
		return rl_err_set(err, RL_EBMS_OTHER, "only UTF-8 documents can be wrapped (this one is UTF-16 or UTF-32)");
	if (n >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0)
		start = 3;
	if (n - start < 5 || memcmp(head + start, "<?xml", 5) != 0 ||
	    !(head[start + 5] == ' ' || head[start + 5] == '\t' || head[start + 5] == '\r' || head[start + 5] == '\n'))
		return (long)start;
	end = memmem(head + start, n - start, "?>", 2);
	if (end == NULL)
		return rl_err_set(err, RL_EBMS_OTHER, "the document's XML declaration does not end");
	enc = memmem(head + start, (size_t)(end - head - start), "encoding", 8);
	if (enc) {
		enc += 8;
		while (*enc == ' ' || *enc == '=' || *enc == '"' || *enc == '\'')
			enc++;
		if (strncasecmp(enc, "UTF-8", 5) != 0 || (enc[5] != '"' && enc[5] != '\''))
			return rl_err_set(err, RL_EBMS_OTHER, "only UTF-8 documents can be wrapped (the declaration names another encoding)");
	}
	return (long)(end + 2 - head);
}

int rl_sbdh_wrap_file(const char *doc_path, const struct rl_sbdh *h, const struct rl_sink *out,
		      struct rl_err *err)
{
	struct rl_buf b = RL_BUF_INIT;
	unsigned char *chunk;
	FILE *in;
	size_t n;
	long skip;
	int rc = -1;

	in = fopen(doc_path, "rb");
	if (in == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot open %s: %s", doc_path, strerror(errno));
	chunk = malloc(COPY_CHUNK);
	if (chunk == NULL) {
		fclose(in);
		return nomem(err);
	}
	n = fread(chunk, 1, DECL_MAX, in);
	if (ferror(in)) {
		rl_err_set(err, RL_ERR_IO, "cannot read %s", doc_path);
		goto out;
	}
	skip = prolog_length((const char *)chunk, n, err);
	if (skip < 0)
		goto out;
	if (header_xml(h, &b) < 0) {
		nomem(err);
		goto out;
	}
	if (rl_sink_write(out, b.data, b.len, err) < 0 ||
	    rl_sink_write(out, chunk + skip, n - (size_t)skip, err) < 0)
		goto out;
	while ((n = fread(chunk, 1, COPY_CHUNK, in)) > 0)
		if (rl_sink_write(out, chunk, n, err) < 0)
			goto out;
	if (ferror(in)) {
		rl_err_set(err, RL_ERR_IO, "cannot read %s", doc_path);
		goto out;
	}
	rc = rl_sink_write(out, "\n</StandardBusinessDocument>\n", 29, err);
out:
	rl_buf_free(&b);
	free(chunk);
	fclose(in);
	return rc;
}

int rl_sbdh_wrap_mem(const void *doc, size_t len, const struct rl_sbdh *h, struct rl_buf *out,
		     struct rl_err *err)
{
	long skip = prolog_length(doc, len < DECL_MAX ? len : DECL_MAX, err);

	if (skip < 0)
		return -1;
	if (header_xml(h, out) < 0 || rl_buf_append(out, (const char *)doc + skip, len - (size_t)skip) < 0 ||
	    rl_buf_puts(out, "\n</StandardBusinessDocument>\n") < 0)
		return nomem(err);
	return 0;
}

static int same_participant(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

int rl_sbdh_check_file(const char *path, struct rl_sbdh *h, struct rl_doc_info *info, struct rl_err *err)
{
	struct rl_buf b = RL_BUF_INIT;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = rl_sbdh_read_file(path, h, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return rl_err_set(err, RL_EBMS_OTHER, "%s is not a StandardBusinessDocument (no SBDH)", path);
	if (rl_doc_detect_file(path, info, err) < 0)
		return -1;
	if (info->syntax != RL_DOC_SYNTAX_UBL && info->syntax != RL_DOC_SYNTAX_CII)
		return rl_err_set(err, RL_EBMS_OTHER, "SBDH: the business document %s is neither UBL nor CII",
				  info->root_name ? info->root_name : "");
	if (info->buyer_endpoint) {
		if (rl_doc_participant(info->buyer_endpoint, info->buyer_endpoint_scheme, &b, err) < 0)
			goto fail;
		if (!same_participant(h->receiver, b.data)) {
			rl_err_set(err, RL_EBMS_OTHER, "SBDH: Receiver %.150s is not the buyer's endpoint %.150s",
				   h->receiver, b.data);
			goto fail;
		}
		rl_buf_reset(&b);
	}
	if (info->seller_endpoint) {
		if (rl_doc_participant(info->seller_endpoint, info->seller_endpoint_scheme, &b, err) < 0)
			goto fail;
		if (!same_participant(h->sender, b.data)) {
			rl_err_set(err, RL_EBMS_OTHER, "SBDH: Sender %.150s is not the seller's endpoint %.150s",
				   h->sender, b.data);
			goto fail;
		}
		rl_buf_reset(&b);
	}
	if (rl_doc_doctype_value(info, &b, err) < 0)
		goto fail;
	if (strcmp(h->document_id, b.data) != 0) {
		rl_err_set(err, RL_EBMS_OTHER, "SBDH: DOCUMENTID %.200s is not the document's type %.200s",
			   h->document_id, b.data);
		goto fail;
	}
	if (strcmp(h->type_version, info->syntax_version) != 0) {
		rl_err_set(err, RL_EBMS_OTHER, "SBDH: TypeVersion %.40s is not the document's syntax version %.40s",
			   h->type_version, info->syntax_version);
		goto fail;
	}
	if (info->profile && strcmp(h->process_id, info->profile) != 0) {
		rl_err_set(err, RL_EBMS_OTHER, "SBDH: PROCESSID %.200s is not the document's profile %.200s",
			   h->process_id, info->profile);
		goto fail;
	}
	rl_buf_free(&b);
	return 0;
fail:
	rl_buf_free(&b);
	return -1;
}

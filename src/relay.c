/*
 * relay.c - relay routes: which syntax a receiver wants, and the conversions `relais serve` makes for
 * them inbound (after receive, before deliver) and outbound (a bare invoice or Factur-X PDF dropped in
 * the outbox becomes a Peppol SBD). See include/relais/relay.h.
 */
#include "config.h"
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "relais/convert.h"
#include "relais/en16931.h"
#include "relais/relay.h"
#include "relais/sbdh_wrap.h"
#include "relais/stream.h"
#include "relais/xml.h"

struct rl_relay_table {
	struct rl_relay_route *routes;
	size_t count;
};

void rl_relay_free(struct rl_relay_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->count; i++) {
		free(t->routes[i].receiver);
		free(t->routes[i].doctype);
	}
	free(t->routes);
	free(t);
}

size_t rl_relay_count(const struct rl_relay_table *t)
{
	return t ? t->count : 0;
}

const char *rl_relay_syntax_name(enum rl_relay_syntax s)
{
	return s == RL_RELAY_UBL ? "ubl" : s == RL_RELAY_CII ? "cii" : "keep";
}

enum rl_relay_syntax rl_relay_syntax_of(const struct rl_doc_info *info)
{
	return info->syntax == RL_DOC_SYNTAX_UBL ? RL_RELAY_UBL :
	       info->syntax == RL_DOC_SYNTAX_CII ? RL_RELAY_CII : RL_RELAY_KEEP;
}

static int parse_syntax(const char *s, enum rl_relay_syntax *out)
{
	if (strcmp(s, "ubl") == 0)
		*out = RL_RELAY_UBL;
	else if (strcmp(s, "cii") == 0)
		*out = RL_RELAY_CII;
	else if (strcmp(s, "keep") == 0)
		*out = RL_RELAY_KEEP;
	else
		return -1;
	return 0;
}

static int parse_channel(const char *s, int *out)
{
	if (s == NULL || strcmp(s, "both") == 0)
		*out = RL_RELAY_INBOX | RL_RELAY_WEBHOOK;
	else if (strcmp(s, "inbox") == 0)
		*out = RL_RELAY_INBOX;
	else if (strcmp(s, "webhook") == 0)
		*out = RL_RELAY_WEBHOOK;
	else
		return -1;
	return 0;
}

/* A receiver is "*", "ICD:*" (four digits) or a participant id "ICD:value" (scheme optional). */
static int receiver_ok(const char *r)
{
	const char *id = strstr(r, "::") ? strstr(r, "::") + 2 : r;

	if (strcmp(r, "*") == 0)
		return 1;
	return strlen(id) > 5 && id[4] == ':' && strspn(id, "0123456789") == 4;
}

struct rl_relay_table *rl_relay_load(const char *path, struct rl_err *err)
{
	struct rl_relay_table *t = calloc(1, sizeof(*t));
	char line[4096];
	int lineno = 0;
	FILE *fp;

	if (t == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (path == NULL || path[0] == '\0')
		return t;
	fp = fopen(path, "r");
	if (fp == NULL) {
		rl_err_set(err, RL_ERR_CONFIG, "relay.routes %s: %s", path, strerror(errno));
		rl_relay_free(t);
		return NULL;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char receiver[1024], doctype[2048], syntax[64], channel[64], extra[2];
		struct rl_relay_route r = { 0 }, *grown;
		char *hash = strchr(line, '#');
		int n;

		lineno++;
		/* '#' also appears in document type ids: a comment starts at a '#' that begins a word. */
		while (hash && hash != line && hash[-1] != ' ' && hash[-1] != '\t')
			hash = strchr(hash + 1, '#');
		if (hash)
			*hash = '\0';
		n = sscanf(line, "%1023s %2047s %63s %63s %1s", receiver, doctype, syntax, channel, extra);
		if (n <= 0)
			continue;
		if (n < 3 || n > 4) {
			rl_err_set(err, RL_ERR_CONFIG, "%s:%d: a relay route is 'RECEIVER DOCTYPE SYNTAX [CHANNEL]'",
				   path, lineno);
			goto fail;
		}
		if (!receiver_ok(receiver)) {
			rl_err_set(err, RL_ERR_CONFIG, "%s:%d: receiver '%s' is neither *, a scheme 'ICD:*' nor a "
				   "participant id 'ICD:value'", path, lineno, receiver);
			goto fail;
		}
		if (parse_syntax(syntax, &r.syntax) < 0) {
			rl_err_set(err, RL_ERR_CONFIG, "%s:%d: syntax '%s' is not ubl, cii or keep", path, lineno, syntax);
			goto fail;
		}
		if (parse_channel(n == 4 ? channel : NULL, &r.channels) < 0) {
			rl_err_set(err, RL_ERR_CONFIG, "%s:%d: channel '%s' is not inbox, webhook or both", path, lineno,
				   channel);
			goto fail;
		}
		grown = realloc(t->routes, (t->count + 1) * sizeof(*grown));
		if (grown == NULL) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto fail;
		}
		t->routes = grown;
		r.receiver = strdup(receiver);
		r.doctype = strdup(doctype);
		r.line = lineno;
		grown[t->count++] = r;
		if (r.receiver == NULL || r.doctype == NULL) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto fail;
		}
	}
	fclose(fp);
	return t;
fail:
	fclose(fp);
	rl_relay_free(t);
	return NULL;
}

static const char *strip_scheme(const char *id)
{
	const char *sep = strstr(id, "::");

	return sep ? sep + 2 : id;
}

static int receiver_matches(const char *pattern, const char *receiver)
{
	const char *p = strip_scheme(pattern);
	size_t n = strlen(p);

	if (strcmp(pattern, "*") == 0)
		return 1;
	if (receiver == NULL)
		return 0;
	receiver = strip_scheme(receiver);
	if (n >= 2 && strcmp(p + n - 2, ":*") == 0)	/* "0009:*": the scheme */
		return strncasecmp(p, receiver, n - 1) == 0;
	return strcasecmp(p, receiver) == 0;
}

static int doctype_matches(const char *pattern, const struct rl_doc_info *info)
{
	struct rl_buf value = RL_BUF_INIT;
	struct rl_err err;
	int match;

	if (strcmp(pattern, "*") == 0)
		return 1;
	if (strcmp(pattern, "invoice") == 0)
		return info->kind == RL_DOC_KIND_INVOICE;
	if (strcmp(pattern, "creditnote") == 0)
		return info->kind == RL_DOC_KIND_CREDITNOTE;
	if (rl_doc_doctype_value(info, &value, &err) < 0 || rl_buf_append(&value, "", 1) < 0) {
		rl_buf_free(&value);
		return 0;
	}
	match = strcmp(strip_scheme(pattern), (const char *)value.data) == 0;
	rl_buf_free(&value);
	return match;
}

const struct rl_relay_route *rl_relay_find(const struct rl_relay_table *t, const char *receiver,
					   const struct rl_doc_info *info)
{
	for (size_t i = 0; t != NULL && i < t->count; i++)
		if (receiver_matches(t->routes[i].receiver, receiver) && doctype_matches(t->routes[i].doctype, info))
			return &t->routes[i];
	return NULL;
}

int rl_relay_inbound_plan(const struct rl_relay_table *t, const char *receiver, const char *doc_path,
			  enum rl_relay_syntax *to, enum rl_relay_syntax *from, int *channels, struct rl_err *err)
{
	struct rl_doc_info info = { 0 };
	const struct rl_relay_route *r;
	int rc = 0;

	if (channels)
		*channels = 0;
	if (t == NULL || t->count == 0)
		return 0;
	if (rl_doc_detect_file(doc_path, &info, err) < 0) {
		rl_doc_info_free(&info);
		rl_err_clear(err);
		return 0;	/* not XML relais reads: no invoice to convert */
	}
	*from = rl_relay_syntax_of(&info);
	r = *from == RL_RELAY_KEEP ? NULL : rl_relay_find(t, receiver, &info);
	if (r != NULL && r->syntax != RL_RELAY_KEEP && r->syntax != *from) {
		*to = r->syntax;
		if (channels)
			*channels = r->channels;
		rc = 1;
	}
	rl_doc_info_free(&info);
	return rc;
}

/* The model of the invoice in doc_path: a bare document, the one inside an SBD, or a Factur-X PDF. */
static struct rl_en_node *read_invoice(const char *doc_path, struct rl_buf *report, struct rl_err *err)
{
	xmlNodePtr root, business, old_root = NULL;
	struct rl_en_node *m = NULL;
	enum rl_syntax syntax;
	xmlDocPtr doc;

	if (rl_is_pdf(doc_path))
		return rl_convert_read(doc_path, NULL, report, err);
	doc = rl_xml_parse_file(doc_path, RL_CONVERT_MAX_XML, RL_EBMS_OTHER, "invoice", err);
	if (doc == NULL)
		return NULL;
	root = xmlDocGetRootElement(doc);
	business = rl_doc_business_root(doc);
	if (business == NULL) {
		rl_err_set(err, RL_EBMS_OTHER, "the StandardBusinessDocument holds no business document");
		goto out;
	}
	if (business != root) {
		/* The invoice becomes the root; namespaces it used from the envelope are declared on it. */
		xmlUnlinkNode(business);
		old_root = xmlDocSetRootElement(doc, business);
		if (xmlDOMWrapReconcileNamespaces(NULL, business, 0) < 0) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (rl_en_detect(doc, &syntax, err) < 0)
		goto out;
	m = syntax == RL_SYNTAX_UBL ? rl_ubl_read(doc, err) : rl_cii_read(doc, err);
	if (m && report)
		rl_en_report_unread(doc, report);
out:
	if (old_root)
		xmlFreeNode(old_root);	/* before the document: it uses the document's dictionary */
	xmlFreeDoc(doc);
	return m;
}

int rl_relay_convert(const char *doc_path, enum rl_relay_syntax to, const char *out_path, struct rl_buf *report,
		     struct rl_err *err)
{
	struct rl_outfile of;
	struct rl_en_node *m;
	struct rl_sink sink;
	int rc;

	if (to != RL_RELAY_UBL && to != RL_RELAY_CII)
		return rl_err_set(err, RL_ERR_INTERNAL, "no target syntax to convert into");
	m = read_invoice(doc_path, report, err);
	if (m == NULL)
		return -1;
	if (rl_outfile_open(&of, out_path, err) < 0) {
		rl_en_free(m);
		return -1;
	}
	sink.write = rl_sink_file_write;
	sink.ctx = of.fp;
	rc = to == RL_RELAY_UBL ? rl_ubl_write(m, &sink, report, err) : rl_cii_write(m, &sink, report, err);
	rl_en_free(m);
	if (rc < 0) {
		rl_outfile_abort(&of);
		return -1;
	}
	return rl_outfile_commit(&of, err);
}

/* Wraps the bare document at doc_path into out_path. */
static int wrap(const char *doc_path, const char *sender, const char *out_path, struct rl_err *err)
{
	struct rl_sbdh_wrap_opts opts = { 0 };
	struct rl_doc_info info = { 0 };
	struct rl_sbdh h = { 0 };
	struct rl_outfile of;
	struct rl_sink sink;
	int rc = -1;

	if (rl_doc_detect_file(doc_path, &info, err) < 0)
		goto out;
	if (info.buyer_endpoint == NULL) {
		rl_err_set(err, RL_EBMS_OTHER, "the invoice names no buyer endpoint (BT-49) to address it to");
		goto out;
	}
	if (info.seller_endpoint == NULL)
		opts.sender = sender;
	if (info.profile == NULL)
		opts.process = RL_PEPPOL_BIS3_PROCESS;
	if (rl_sbdh_plan(&info, &opts, &h, err) < 0) {
		if (info.seller_endpoint == NULL && sender == NULL)
			rl_err_prefix(err, "no seller endpoint (BT-34) and no relay.sender");
		goto out;
	}
	if (rl_outfile_open(&of, out_path, err) < 0)
		goto out;
	sink.write = rl_sink_file_write;
	sink.ctx = of.fp;
	if (rl_sbdh_wrap_file(doc_path, &h, &sink, err) < 0 || rl_outfile_commit(&of, err) < 0) {
		rl_outfile_abort(&of);
		goto out;
	}
	rc = 0;
out:
	rl_sbdh_free(&h);
	rl_doc_info_free(&info);
	return rc;
}

/* A fresh hidden file name next to stem ("DIR/.relay-XXXXXX"), created empty. */
static char *temp_near(const char *stem, struct rl_err *err)
{
	char *copy = strdup(stem), *path = NULL;
	int fd;

	if (copy == NULL || asprintf(&path, "%s/.relay-XXXXXX", dirname(copy)) < 0) {
		free(copy);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	free(copy);
	fd = mkstemp(path);
	if (fd < 0) {
		rl_err_set(err, RL_ERR_IO, "cannot create a temporary file %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

int rl_relay_outbound(const struct rl_relay_table *t, const char *path, const char *out_stem, const char *sender,
		      char **written, struct rl_buf *report, struct rl_err *err)
{
	struct rl_doc_info info = { 0 }, converted = { 0 };
	enum rl_relay_syntax have, want = RL_RELAY_UBL;
	const struct rl_relay_route *r;
	char *bare = NULL, *receiver = NULL;
	struct rl_buf participant = RL_BUF_INIT;
	struct rl_err ignored;
	int rc = -1;

	*written = NULL;
	if (rl_doc_detect_file(path, &info, err) < 0) {
		rl_doc_info_free(&info);
		return rl_is_pdf(path) ? -1 : 0;
	}
	if (info.sbdh || (info.syntax != RL_DOC_SYNTAX_PDF && rl_relay_syntax_of(&info) == RL_RELAY_KEEP)) {
		rl_doc_info_free(&info);
		return 0;	/* an SBD already, or no invoice: sent as it is */
	}
	bare = temp_near(out_stem, err);
	if (bare == NULL)
		goto out;
	have = rl_relay_syntax_of(&info);
	if (info.syntax == RL_DOC_SYNTAX_PDF) {
		/* Its buyer is inside: converted to UBL first, then to what the buyer's route wants. */
		if (rl_relay_convert(path, RL_RELAY_UBL, bare, report, err) < 0)
			goto out;
		if (rl_doc_detect_file(bare, &converted, err) < 0)
			goto out;
		have = RL_RELAY_UBL;
	}
	{
		const struct rl_doc_info *d = info.syntax == RL_DOC_SYNTAX_PDF ? &converted : &info;

		if (rl_doc_participant(d->buyer_endpoint, d->buyer_endpoint_scheme, &participant, &ignored) == 0 &&
		    rl_buf_append(&participant, "", 1) == 0)
			receiver = (char *)participant.data;
		r = rl_relay_find(t, receiver, d);
	}
	if (r != NULL && r->syntax != RL_RELAY_KEEP)
		want = r->syntax;
	else if (r != NULL && info.syntax != RL_DOC_SYNTAX_PDF)
		want = have;
	if (info.syntax == RL_DOC_SYNTAX_PDF && want == RL_RELAY_CII) {
		if (report)
			rl_buf_reset(report);
		if (rl_relay_convert(path, RL_RELAY_CII, bare, report, err) < 0)
			goto out;
	} else if (info.syntax != RL_DOC_SYNTAX_PDF && want != have) {
		if (rl_relay_convert(path, want, bare, report, err) < 0)
			goto out;
	} else if (info.syntax != RL_DOC_SYNTAX_PDF) {
		free(bare);	/* nothing to convert: the file itself is wrapped */
		bare = NULL;
	}
	if (asprintf(written, "%s.%s.xml", out_stem, rl_relay_syntax_name(want)) < 0) {
		*written = NULL;
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (wrap(bare ? bare : path, sender, *written, err) < 0) {
		free(*written);
		*written = NULL;
		goto out;
	}
	rc = 1;
out:
	if (bare) {
		unlink(bare);
		free(bare);
	}
	rl_buf_free(&participant);
	rl_doc_info_free(&converted);
	rl_doc_info_free(&info);
	return rc;
}

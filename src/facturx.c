/*
 * facturx.c - takes the invoice XML out of a Factur-X / ZUGFeRD / XRechnung PDF (a PDF/A-3 file with
 * the CII document as an embedded file), with poppler-glib. See include/relais/convert.h.
 */
#include "config.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poppler.h>
#include "relais/convert.h"

/* The embedded file names the Factur-X 1.0, ZUGFeRD 2.x/1.0 and XRechnung specifications give. */
static const char *const invoice_names[] = {
	"factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml",
};

struct capture {
	struct rl_buf *xml;
	int too_big;
};

static gboolean capture_bytes(const gchar *data, gsize len, gpointer user, GError **error)
{
	struct capture *c = user;

	if (c->xml->len + len > RL_CONVERT_MAX_XML) {
		c->too_big = 1;
		g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "embedded invoice too large");
		return FALSE;
	}
	if (rl_buf_append(c->xml, data, len) < 0) {
		g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "out of memory");
		return FALSE;
	}
	return TRUE;
}

static int is_invoice_name(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof invoice_names / sizeof invoice_names[0]; i++)
		if (strcasecmp(name, invoice_names[i]) == 0)
			return 1;
	return 0;
}

int rl_is_pdf(const char *path)
{
	char head[5];
	FILE *fp = fopen(path, "rb");
	int pdf;

	if (fp == NULL)
		return 0;
	pdf = fread(head, 1, sizeof head, fp) == sizeof head && memcmp(head, "%PDF-", 5) == 0;
	fclose(fp);
	return pdf;
}

int rl_facturx_extract(const char *pdf_path, struct rl_buf *xml, char **name, struct rl_err *err)
{
	char abs_path[PATH_MAX];
	GError *gerr = NULL;
	PopplerDocument *doc;
	GList *list, *l;
	gchar *uri;
	int rc = -1, found = 0;

	if (name)
		*name = NULL;
	if (realpath(pdf_path, abs_path) == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot open %s", pdf_path);
	uri = g_filename_to_uri(abs_path, NULL, NULL);
	if (uri == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot name %s as a URI", pdf_path);
	doc = poppler_document_new_from_file(uri, NULL, &gerr);
	g_free(uri);
	if (doc == NULL) {
		rl_err_set(err, RL_EBMS_OTHER, "%s is not a readable PDF: %s", pdf_path,
			   gerr ? gerr->message : "unknown error");
		g_clear_error(&gerr);
		return -1;
	}
	list = poppler_document_has_attachments(doc) ? poppler_document_get_attachments(doc) : NULL;
	for (l = list; l && !found; l = l->next) {
		PopplerAttachment *a = l->data;
		struct capture c = { xml, 0 };

		if (!is_invoice_name(a->name))
			continue;
		found = 1;
		rl_buf_reset(xml);
		if (!poppler_attachment_save_to_callback(a, capture_bytes, &c, &gerr)) {
			if (c.too_big)
				rl_err_set(err, RL_EBMS_OTHER, "%s: the embedded %s is larger than %u bytes", pdf_path,
					   a->name, RL_CONVERT_MAX_XML);
			else
				rl_err_set(err, RL_EBMS_OTHER, "%s: the embedded %s cannot be read: %s", pdf_path,
					   a->name, gerr ? gerr->message : "unknown error");
			g_clear_error(&gerr);
			goto out;
		}
		if (name)
			*name = strdup(a->name);
	}
	if (!found) {
		rl_err_set(err, RL_EBMS_VALUE_NOT_RECOGNIZED,
			   "%s is a PDF without an embedded invoice (no factur-x.xml, zugferd-invoice.xml or "
			   "xrechnung.xml): not Factur-X/ZUGFeRD", pdf_path);
		goto out;
	}
	rc = 0;
out:
	g_list_free_full(list, g_object_unref);
	g_object_unref(doc);
	return rc;
}

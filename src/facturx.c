/*
 * facturx.c - takes the invoice XML out of a Factur-X / ZUGFeRD / XRechnung PDF (a PDF/A-3 file with
 * the CII document as an embedded file), with poppler-glib. See include/relais/convert.h.
 *
 * poppler-glib (with GLib, cairo and the C++ runtime behind it) is loaded with dlopen() the first time
 * a PDF is read, so that an access point that never sees one does not carry it in memory.
 */
#include "config.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dlfcn.h>
#include <pthread.h>
#include <poppler.h>
#include "relais/convert.h"

#define POPPLER_GLIB_SONAME "libpoppler-glib.so.8"

/* The few poppler-glib and GLib functions used here, resolved at first use. */
static struct {
	PopplerDocument *(*document_new_from_file)(const char *uri, const char *password, GError **error);
	gboolean (*document_has_attachments)(PopplerDocument *doc);
	GList *(*document_get_attachments)(PopplerDocument *doc);
	gboolean (*attachment_save_to_callback)(PopplerAttachment *a, PopplerAttachmentSaveFunc fn, gpointer user,
						GError **error);
	gchar *(*filename_to_uri)(const gchar *filename, const gchar *hostname, GError **error);
	void (*free)(gpointer p);
	void (*list_free_full)(GList *list, GDestroyNotify fn);
	void (*object_unref)(gpointer object);
	void (*clear_error)(GError **error);
	void (*set_error_literal)(GError **error, GQuark domain, gint code, const gchar *message);
	GQuark (*file_error_quark)(void);
	int loaded;
	char problem[256];
} pg;
static pthread_once_t pg_once = PTHREAD_ONCE_INIT;

static void load_poppler(void)
{
	void *h = dlopen(POPPLER_GLIB_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (h == NULL) {
		snprintf(pg.problem, sizeof(pg.problem), "cannot load %s: %s", POPPLER_GLIB_SONAME, dlerror());
		return;
	}
#define SYM(field, name) \
	do { \
		*(void **)&pg.field = dlsym(h, name); \
		if (pg.field == NULL && missing == NULL) \
			missing = name; \
	} while (0)
	SYM(document_new_from_file, "poppler_document_new_from_file");
	SYM(document_has_attachments, "poppler_document_has_attachments");
	SYM(document_get_attachments, "poppler_document_get_attachments");
	SYM(attachment_save_to_callback, "poppler_attachment_save_to_callback");
	SYM(filename_to_uri, "g_filename_to_uri");
	SYM(free, "g_free");
	SYM(list_free_full, "g_list_free_full");
	SYM(object_unref, "g_object_unref");
	SYM(clear_error, "g_clear_error");
	SYM(set_error_literal, "g_set_error_literal");
	SYM(file_error_quark, "g_file_error_quark");
#undef SYM
	if (missing) {
		snprintf(pg.problem, sizeof(pg.problem), "%s lacks %s", POPPLER_GLIB_SONAME, missing);
		return;
	}
	pg.loaded = 1;
}

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
		pg.set_error_literal(error, pg.file_error_quark(), G_FILE_ERROR_FAILED, "embedded invoice too large");
		return FALSE;
	}
	if (rl_buf_append(c->xml, data, len) < 0) {
		pg.set_error_literal(error, pg.file_error_quark(), G_FILE_ERROR_NOMEM, "out of memory");
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
	pthread_once(&pg_once, load_poppler);
	if (!pg.loaded)
		return rl_err_set(err, RL_ERR_CONFIG, "cannot read PDF files: %s", pg.problem);
	if (realpath(pdf_path, abs_path) == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot open %s", pdf_path);
	uri = pg.filename_to_uri(abs_path, NULL, NULL);
	if (uri == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot name %s as a URI", pdf_path);
	doc = pg.document_new_from_file(uri, NULL, &gerr);
	pg.free(uri);
	if (doc == NULL) {
		rl_err_set(err, RL_EBMS_OTHER, "%s is not a readable PDF: %s", pdf_path,
			   gerr ? gerr->message : "unknown error");
		pg.clear_error(&gerr);
		return -1;
	}
	list = pg.document_has_attachments(doc) ? pg.document_get_attachments(doc) : NULL;
	for (l = list; l && !found; l = l->next) {
		PopplerAttachment *a = l->data;
		struct capture c = { xml, 0 };

		if (!is_invoice_name(a->name))
			continue;
		found = 1;
		rl_buf_reset(xml);
		if (!pg.attachment_save_to_callback(a, capture_bytes, &c, &gerr)) {
			if (c.too_big)
				rl_err_set(err, RL_EBMS_OTHER, "%s: the embedded %s is larger than %u bytes", pdf_path,
					   a->name, RL_CONVERT_MAX_XML);
			else
				rl_err_set(err, RL_EBMS_OTHER, "%s: the embedded %s cannot be read: %s", pdf_path,
					   a->name, gerr ? gerr->message : "unknown error");
			pg.clear_error(&gerr);
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
	pg.list_free_full(list, pg.object_unref);
	pg.object_unref(doc);
	return rc;
}

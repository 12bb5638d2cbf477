/*
 * docval.c - findings, the document parser used for validation, and XSD validation against the schemas
 * installed with relais. See include/relais/docval.h.
 *
 * The schemas are compiled once per process (under a mutex) and shared: libxml2 allows one compiled
 * xmlSchema to be used by many validation contexts at once. While compiling, the external entity loader
 * lets libxml2 read files below the schema directory and nothing else.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlschemas.h>
#include "relais/doc.h"
#include "relais/docval.h"
#include "relais/xml.h"

#ifndef RELAIS_DATADIR
#define RELAIS_DATADIR "/usr/local/share/relais"
#endif

/* ---- findings ---- */

/* Findings print one per line: runs of white space become one space, and the ends are trimmed. */
static void one_line(char *s)
{
	char *w = s;
	int space = 1;

	for (char *r = s; *r; r++) {
		int is_space = *r == ' ' || *r == '\n' || *r == '\r' || *r == '\t';

		if (is_space && space)
			continue;
		*w++ = is_space ? ' ' : *r;
		space = is_space;
	}
	if (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

int rl_findings_add(struct rl_findings *f, const char *rule, int severity, const char *location,
		    const char *fmt, ...)
{
	struct rl_finding *item;
	char msg[1024];
	va_list ap;

	if (f->count == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 16;
		struct rl_finding *p = realloc(f->items, ncap * sizeof(*p));

		if (p == NULL)
			return -1;
		f->items = p;
		f->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	one_line(msg);
	item = &f->items[f->count];
	item->rule = strdup(rule);
	item->location = strdup(location ? location : "");
	item->message = strdup(msg);
	item->severity = severity;
	if (item->rule == NULL || item->location == NULL || item->message == NULL) {
		free(item->rule);
		free(item->location);
		free(item->message);
		return -1;
	}
	f->count++;
	return 0;
}

void rl_findings_free(struct rl_findings *f)
{
	for (size_t i = 0; i < f->count; i++) {
		free(f->items[i].rule);
		free(f->items[i].location);
		free(f->items[i].message);
	}
	free(f->items);
	memset(f, 0, sizeof(*f));
}

size_t rl_findings_fatal(const struct rl_findings *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->count; i++)
		n += f->items[i].severity == RL_SEV_FATAL;
	return n;
}

int rl_findings_has(const struct rl_findings *f, const char *rule)
{
	for (size_t i = 0; i < f->count; i++)
		if (strcmp(f->items[i].rule, rule) == 0)
			return 1;
	return 0;
}

const char *rl_severity_name(int severity)
{
	return severity == RL_SEV_FATAL ? "fatal" : "warning";
}

int rl_docval_level_parse(const char *name)
{
	if (strcmp(name, "xsd") == 0)
		return RL_DOCVAL_XSD;
	if (strcmp(name, "rules") == 0)
		return RL_DOCVAL_RULES;
	if (strcmp(name, "full") == 0)
		return RL_DOCVAL_FULL;
	return -1;
}

const char *rl_docval_schema_dir(void)
{
	const char *env = getenv("RELAIS_SCHEMA_DIR");

	return env && *env ? env : RELAIS_DATADIR "/schemas";
}

/* ---- parsing ---- */

xmlDocPtr rl_docval_parse_file(const char *path, size_t max_size, struct rl_err *err)
{
	struct stat st;
	void *map;
	xmlDocPtr doc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return rl_err_set(err, RL_ERR_IO, "cannot open %s: %s", path, strerror(errno)), NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rl_err_set(err, RL_ERR_IO, "%s is not a readable regular file", path), NULL;
	}
	if ((size_t)st.st_size > max_size) {
		close(fd);
		return rl_err_set(err, RL_EBMS_OTHER, "document %s is larger than %zu bytes", path, max_size), NULL;
	}
	if (st.st_size == 0) {
		close(fd);
		return rl_err_set(err, RL_EBMS_OTHER, "document %s is empty", path), NULL;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return rl_err_set(err, RL_ERR_IO, "cannot map %s: %s", path, strerror(errno)), NULL;
	doc = rl_xml_parse(map, (size_t)st.st_size, RL_EBMS_OTHER, "document", err);
	munmap(map, (size_t)st.st_size);
	return doc;
}

/* ---- XSD ---- */

enum { SCHEMA_UBL_INVOICE, SCHEMA_UBL_CREDITNOTE, SCHEMA_CII, SCHEMA_SBDH, SCHEMA_COUNT };

static const char *const schema_paths[SCHEMA_COUNT] = {
	"ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
	"ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
	"cii-d16b/CII/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd",
	"sbdh/StandardBusinessDocumentHeader.xsd",
};

static pthread_mutex_t schema_lock = PTHREAD_MUTEX_INITIALIZER;
static xmlSchemaPtr schemas[SCHEMA_COUNT];
static char schema_root[PATH_MAX];
static xmlExternalEntityLoader saved_loader;

/* While schemas compile: local files below schema_root, nothing else. */
static xmlParserInputPtr schema_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	char resolved[PATH_MAX];
	const char *path = url;
	size_t root_len = strlen(schema_root);

	if (url == NULL)
		return NULL;
	if (strncmp(path, "file://", 7) == 0)
		path += 7;
	if (strstr(path, "://") || realpath(path, resolved) == NULL)
		return NULL;
	if (strncmp(resolved, schema_root, root_len) != 0 || resolved[root_len] != '/')
		return NULL;
	return xmlNewInputFromFile(ctxt, resolved);
}

static void collect_schema_error(void *ctx, const xmlError *e)
{
	struct rl_err *err = ctx;

	if (err->code == 0 && e && e->level >= XML_ERR_ERROR)
		rl_err_set(err, RL_ERR_CONFIG, "schema %s: %s", e->file ? e->file : "?", e->message ? e->message : "error");
}

static xmlSchemaPtr load_schema(int which, struct rl_err *err)
{
	char path[PATH_MAX];
	xmlSchemaParserCtxtPtr pctxt;
	xmlSchemaPtr schema = NULL;
	struct rl_err compile_err = { 0 };

	pthread_mutex_lock(&schema_lock);
	if (schemas[which]) {
		schema = schemas[which];
		goto out;
	}
	if (realpath(rl_docval_schema_dir(), schema_root) == NULL) {
		rl_err_set(err, RL_ERR_CONFIG, "schema directory %s: %s (set RELAIS_SCHEMA_DIR)", rl_docval_schema_dir(),
			   strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", schema_root, schema_paths[which]);
	if (access(path, R_OK) != 0) {
		rl_err_set(err, RL_ERR_CONFIG, "schema %s: %s", path, strerror(errno));
		goto out;
	}
	rl_xml_init();
	saved_loader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(schema_loader);
	pctxt = xmlSchemaNewParserCtxt(path);
	if (pctxt) {
		xmlSchemaSetParserStructuredErrors(pctxt, (xmlStructuredErrorFunc)collect_schema_error, &compile_err);
		schema = xmlSchemaParse(pctxt);
		xmlSchemaFreeParserCtxt(pctxt);
	}
	xmlSetExternalEntityLoader(saved_loader);
	if (schema == NULL) {
		if (compile_err.code)
			*err = compile_err;
		else
			rl_err_set(err, RL_ERR_CONFIG, "schema %s does not compile", path);
		goto out;
	}
	schemas[which] = schema;
out:
	pthread_mutex_unlock(&schema_lock);
	return schema;
}

struct xsd_run {
	struct rl_findings *out;
	const char *what;
	int failed;
};

static void collect_validity_error(void *ctx, const xmlError *e)
{
	struct xsd_run *run = ctx;
	char loc[32], msg[600];
	size_t n;

	if (e == NULL || e->level < XML_ERR_ERROR)
		return;
	snprintf(loc, sizeof(loc), "line %d", e->line);
	snprintf(msg, sizeof(msg), "%s: %s", run->what, e->message ? e->message : "not valid");
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	if (rl_findings_add(run->out, "XSD", RL_SEV_FATAL, loc, "%s", msg) < 0)
		run->failed = 1;
}

static int validate_with(int which, xmlDocPtr doc, xmlNodePtr element, const char *what, struct rl_findings *out,
			 struct rl_err *err)
{
	xmlSchemaPtr schema = load_schema(which, err);
	xmlSchemaValidCtxtPtr vctxt;
	struct xsd_run run = { out, what, 0 };
	int rc;

	if (schema == NULL)
		return -1;
	vctxt = xmlSchemaNewValidCtxt(schema);
	if (vctxt == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory validating");
	xmlSchemaSetValidStructuredErrors(vctxt, (xmlStructuredErrorFunc)collect_validity_error, &run);
	rc = element ? xmlSchemaValidateOneElement(vctxt, element) : xmlSchemaValidateDoc(vctxt, doc);
	xmlSchemaFreeValidCtxt(vctxt);
	if (run.failed)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory recording findings");
	if (rc < 0)
		return rl_err_set(err, RL_ERR_INTERNAL, "%s: the XSD validator failed internally", what);
	if (rc > 0 && !rl_findings_has(out, "XSD"))
		return rl_findings_add(out, "XSD", RL_SEV_FATAL, "/", "%s is not valid", what) < 0
			       ? rl_err_set(err, RL_ERR_NOMEM, "out of memory")
			       : 0;
	return 0;
}

int rl_docval_xsd(xmlDocPtr doc, struct rl_findings *out, struct rl_err *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlNodePtr business = rl_doc_business_root(doc);
	int which;

	if (rl_xml_is(business, RL_NS_UBL_INVOICE, "Invoice"))
		which = SCHEMA_UBL_INVOICE;
	else if (rl_xml_is(business, RL_NS_UBL_CREDITNOTE, "CreditNote"))
		which = SCHEMA_UBL_CREDITNOTE;
	else if (rl_xml_is(business, RL_NS_CII_RSM, "CrossIndustryInvoice"))
		which = SCHEMA_CII;
	else
		return rl_err_set(err, RL_EBMS_OTHER, "not a UBL Invoice/CreditNote or a CII CrossIndustryInvoice");
	if (business != root && validate_with(SCHEMA_SBDH, doc, NULL, "SBDH", out, err) < 0)
		return -1;
	return validate_with(which, doc, business != root ? business : NULL,
			     which == SCHEMA_CII ? "CII D16B" : "UBL 2.1", out, err);
}

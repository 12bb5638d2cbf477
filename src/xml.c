/* xml.c - safe XML parsing and DOM helpers. See include/relais/xml.h. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#include "relais/xml.h"

#define RL_XML_MAX_DEPTH 256

static xmlParserInputPtr refuse_entity_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	return NULL;
}

static void quiet_error(void *ctx, const char *msg, ...)
{
}

void rl_xml_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	xmlInitParser();
	xmlSetExternalEntityLoader(refuse_entity_loader);
	xmlSetGenericErrorFunc(NULL, quiet_error);
	xmlLoadExtDtdDefaultValue = 0;
	xmlSubstituteEntitiesDefault(0);
}

struct parse_state {
	int saw_dtd;
	int too_deep;
	int depth;
	startElementNsSAX2Func start;
	endElementNsSAX2Func end;
	internalSubsetSAXFunc internal_subset;
};

static void on_internal_subset(void *vctxt, const xmlChar *name, const xmlChar *ext_id,
			       const xmlChar *sys_id)
{
	xmlParserCtxtPtr ctxt = vctxt;
	struct parse_state *st = ctxt->_private;

	st->saw_dtd = 1;
	xmlStopParser(ctxt);
}

static void on_start(void *vctxt, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
		     int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
		     const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = vctxt;
	struct parse_state *st = ctxt->_private;

	if (++st->depth > RL_XML_MAX_DEPTH) {
		st->too_deep = 1;
		xmlStopParser(ctxt);
		return;
	}
	st->start(vctxt, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
		  attributes);
}

static void on_end(void *vctxt, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = vctxt;
	struct parse_state *st = ctxt->_private;

	st->depth--;
	st->end(vctxt, localname, prefix, uri);
}

xmlDocPtr rl_xml_parse(const char *data, size_t len, int code, const char *what, struct rl_err *err)
{
	struct parse_state st;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	const xmlError *xe;

	rl_xml_init();
	if (len > (size_t)0x7fffffff)
		return rl_err_set(err, code, "%s is too large", what), NULL;
	ctxt = xmlCreateMemoryParserCtxt(data, (int)len);
	if (ctxt == NULL) {
		rl_err_set(err, code, "%s: empty or unreadable XML", what);
		return NULL;
	}
	memset(&st, 0, sizeof(st));
	st.start = ctxt->sax->startElementNs;
	st.end = ctxt->sax->endElementNs;
	ctxt->sax->startElementNs = on_start;
	ctxt->sax->endElementNs = on_end;
	ctxt->sax->internalSubset = on_internal_subset;
	ctxt->sax->externalSubset = NULL;
	ctxt->_private = &st;
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	ctxt->replaceEntities = 0;
	ctxt->loadsubset = 0;
	ctxt->validate = 0;
	xmlParseDocument(ctxt);
	if (st.saw_dtd) {
		rl_err_set(err, code, "%s: a DOCTYPE is not allowed (no DTDs or entities are accepted)", what);
	} else if (st.too_deep) {
		rl_err_set(err, code, "%s: elements nested deeper than %d levels", what, RL_XML_MAX_DEPTH);
	} else if (!ctxt->wellFormed || ctxt->myDoc == NULL) {
		xe = xmlCtxtGetLastError(ctxt);
		if (xe && xe->message) {
			char m[256];
			size_t n;

			snprintf(m, sizeof(m), "%s", xe->message);
			n = strlen(m);
			while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
				m[--n] = '\0';
			rl_err_set(err, code, "%s is not well-formed XML (line %d: %s)", what, xe->line, m);
		} else {
			rl_err_set(err, code, "%s is not well-formed XML", what);
		}
	} else {
		doc = ctxt->myDoc;
		ctxt->myDoc = NULL;
	}
	if (ctxt->myDoc)
		xmlFreeDoc(ctxt->myDoc);
	ctxt->myDoc = NULL;
	xmlFreeParserCtxt(ctxt);
	return doc;
}

xmlDocPtr rl_xml_parse_file(const char *path, size_t max_size, int code, const char *what,
			    struct rl_err *err)
{
	struct rl_buf b = RL_BUF_INIT;
	xmlDocPtr doc;

	if (rl_buf_read_file(&b, path, max_size) < 0) {
		if (errno == EFBIG)
			rl_err_set(err, code, "%s: %s is larger than %zu bytes", what, path, max_size);
		else
			rl_err_set(err, RL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
		rl_buf_free(&b);
		return NULL;
	}
	doc = rl_xml_parse(b.data, b.len, code, what, err);
	rl_buf_free(&b);
	return doc;
}

int rl_xml_is(xmlNodePtr node, const char *ns, const char *name)
{
	if (node == NULL || node->type != XML_ELEMENT_NODE)
		return 0;
	if (name && strcmp((const char *)node->name, name) != 0)
		return 0;
	if (ns == NULL)
		return 1;
	return node->ns && node->ns->href && strcmp((const char *)node->ns->href, ns) == 0;
}

xmlNodePtr rl_xml_child(xmlNodePtr node, const char *ns, const char *name)
{
	if (node == NULL)
		return NULL;
	for (xmlNodePtr c = node->children; c; c = c->next)
		if (rl_xml_is(c, ns, name))
			return c;
	return NULL;
}

xmlNodePtr rl_xml_next(xmlNodePtr node, const char *ns, const char *name)
{
	if (node == NULL)
		return NULL;
	for (xmlNodePtr c = node->next; c; c = c->next)
		if (rl_xml_is(c, ns, name))
			return c;
	return NULL;
}

int rl_xml_count(xmlNodePtr node, const char *ns, const char *name)
{
	int n = 0;

	if (node == NULL)
		return 0;
	for (xmlNodePtr c = node->children; c; c = c->next)
		if (rl_xml_is(c, ns, name))
			n++;
	return n;
}

char *rl_xml_text(xmlNodePtr node)
{
	xmlChar *t;
	char *s, *start, *end;

	if (node == NULL)
		return NULL;
	t = xmlNodeGetContent(node);
	if (t == NULL)
		return strdup("");
	start = (char *)t;
	while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	s = strndup(start, (size_t)(end - start));
	xmlFree(t);
	return s;
}

char *rl_xml_attr(xmlNodePtr node, const char *ns, const char *name)
{
	xmlChar *v;
	char *s;

	if (node == NULL)
		return NULL;
	v = ns ? xmlGetNsProp(node, (const xmlChar *)name, (const xmlChar *)ns)
	       : xmlGetNoNsProp(node, (const xmlChar *)name);
	if (v == NULL)
		return NULL;
	s = strdup((const char *)v);
	xmlFree(v);
	return s;
}

int rl_xml_dump(xmlDocPtr doc, xmlNodePtr node, struct rl_buf *out)
{
	xmlBufferPtr xb = xmlBufferCreate();
	xmlSaveCtxtPtr sc;
	int rc = 0;

	if (xb == NULL)
		return -1;
	sc = xmlSaveToBuffer(xb, "UTF-8", XML_SAVE_NO_DECL);
	if (sc == NULL) {
		xmlBufferFree(xb);
		return -1;
	}
	if (node)
		xmlSaveTree(sc, node);
	else
		xmlSaveDoc(sc, doc);
	xmlSaveClose(sc);
	if (rl_buf_append(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb)) < 0)
		rc = -1;
	xmlBufferFree(xb);
	return rc;
}

int rl_xml_dump_standalone(xmlNodePtr node, struct rl_buf *out)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr copy;
	int rc;

	/* A copy made outside its tree declares, on its root, the namespaces it takes from above. */
	if (doc == NULL || (copy = xmlDocCopyNode(node, doc, 1)) == NULL) {
		xmlFreeDoc(doc);
		return -1;
	}
	xmlDocSetRootElement(doc, copy);
	rc = rl_xml_dump(doc, copy, out);
	xmlFreeDoc(doc);
	return rc;
}

int rl_xml_escape(struct rl_buf *out, const char *text)
{
	for (const char *p = text; *p; p++) {
		int rc;

		switch (*p) {
		case '&': rc = rl_buf_puts(out, "&amp;"); break;
		case '<': rc = rl_buf_puts(out, "&lt;"); break;
		case '>': rc = rl_buf_puts(out, "&gt;"); break;
		case '"': rc = rl_buf_puts(out, "&quot;"); break;
		case '\r': rc = rl_buf_puts(out, "&#13;"); break;
		default: rc = rl_buf_append(out, p, 1); break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

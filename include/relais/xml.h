/*
 * xml.h - safe XML parsing and small DOM helpers shared by every XML reader in relais.
 *
 * rl_xml_parse() never loads anything from the network or the file system, refuses any document with
 * a DOCTYPE (so no entity can be declared, let alone expanded: no XXE, no entity bombs), caps nesting
 * depth, and reports a one-line reason. rl_xml_init() installs an external-entity loader that refuses
 * everything, for any libxml2 use elsewhere in the process (xmlsec included).
 */
#ifndef RELAIS_XML_H
#define RELAIS_XML_H

#include <stddef.h>
#include <libxml/tree.h>
#include "relais/err.h"
#include "relais/buf.h"

/* Namespaces. */
#define RL_NS_SOAP12 "http://www.w3.org/2003/05/soap-envelope"
#define RL_NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"
#define RL_NS_EB "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
#define RL_NS_EBBP "http://docs.oasis-open.org/ebxml-bp/ebbp-signals-2.0"
#define RL_NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define RL_NS_WSU "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define RL_NS_WSSE11 "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"
#define RL_NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define RL_NS_XENC "http://www.w3.org/2001/04/xmlenc#"
#define RL_NS_XENC11 "http://www.w3.org/2009/xmlenc11#"
#define RL_NS_EC "http://www.w3.org/2001/10/xml-exc-c14n#"
#define RL_NS_SBDH "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"

/* Once per process, before threads start. Safe to call more than once. */
void rl_xml_init(void);

/* code: the rl_err code to report on malformed input (EBMS:0009 for SOAP headers, EBMS:0004 for
 * documents...). what: names the input in the message ("SOAP envelope"). */
xmlDocPtr rl_xml_parse(const char *data, size_t len, int code, const char *what, struct rl_err *err);
xmlDocPtr rl_xml_parse_file(const char *path, size_t max_size, int code, const char *what,
			    struct rl_err *err);

/* First element child of node (any namespace when ns == NULL) with that local name; NULL if none. */
xmlNodePtr rl_xml_child(xmlNodePtr node, const char *ns, const char *name);
/* Next element sibling after node with that namespace/name. */
xmlNodePtr rl_xml_next(xmlNodePtr node, const char *ns, const char *name);
/* Number of element children with that namespace/name. */
int rl_xml_count(xmlNodePtr node, const char *ns, const char *name);
/* 1 when the element has that namespace (NULL = no namespace) and local name. */
int rl_xml_is(xmlNodePtr node, const char *ns, const char *name);
/* Text content, malloc'd (free with free()), trimmed of surrounding white space; NULL if node NULL. */
char *rl_xml_text(xmlNodePtr node);
/* Attribute value (ns NULL = unqualified), malloc'd, or NULL when absent. */
char *rl_xml_attr(xmlNodePtr node, const char *ns, const char *name);
/* Serialises a node (or a whole doc when node == NULL) as it is, without XML declaration. */
int rl_xml_dump(xmlDocPtr doc, xmlNodePtr node, struct rl_buf *out);
/* Serialises a node with every namespace it uses declared on it, so that the text parses on its own
 * whatever prefixes (or default namespace) the document declared above it. */
int rl_xml_dump_standalone(xmlNodePtr node, struct rl_buf *out);
/* Appends text escaped for element content or attribute values. */
int rl_xml_escape(struct rl_buf *out, const char *text);

#endif

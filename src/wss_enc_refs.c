/*
 * wss_enc_refs.c - the encryption structure of a received wsse:Security header, checked before the key
 * is unwrapped: first the layout Peppol AS4 uses (one EncryptedKey directly in the header, carrying the
 * header's only ReferenceList; EncryptedData directly in the header; each EncryptedData naming that key),
 * then the EncryptedKey's ReferenceList against the EncryptedData, one to one, by ids that no other
 * element claims. See include/relais/wss_enc_refs.h for which code each refusal carries.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "relais/wss_enc_refs.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"

#define ID_SHOWN_MAX 96

/* A received id or URI made fit for a one-line message: control characters replaced, length capped. */
static const char *shown(const char *s, char out[ID_SHOWN_MAX])
{
	size_t i = 0;

	for (; s && s[i] && i + 4 < ID_SHOWN_MAX; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s && s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* An element's Id (or wsu:Id) shown, or "without an Id". */
static const char *id_shown(xmlNodePtr node, char out[ID_SHOWN_MAX])
{
	char *id = rl_xml_attr(node, NULL, "Id");

	if (id == NULL)
		id = rl_xml_attr(node, RL_NS_WSU, "Id");
	shown(id ? id : "without an Id", out);
	free(id);
	return out;
}

/* The element after node in document order, within root's subtree (NULL after the last one). */
static xmlNodePtr next_in_subtree(xmlNodePtr node, xmlNodePtr root)
{
	if (node->type == XML_ELEMENT_NODE && node->children)
		return node->children;
	for (; node != root; node = node->parent)
		if (node->next)
			return node->next;
	return NULL;
}

/* ---------------------------------------------------------------- the layout */

/* Reads at most RL_WSS_MAX_ENCRYPTED_DATA DataReference URIs of list into uris[]; returns their count. */
static int list_uris(xmlNodePtr list, char **uris)
{
	int n = 0;

	for (xmlNodePtr r = rl_xml_child(list, RL_NS_XENC, "DataReference"); r && n < RL_WSS_MAX_ENCRYPTED_DATA;
	     r = rl_xml_next(r, RL_NS_XENC, "DataReference")) {
		uris[n] = rl_xml_attr(r, NULL, "URI");
		if (uris[n])
			n++;
	}
	return n;
}

/*
 * What a refused ReferenceList lists, shown in out: the first DataReference URI it shares with `other`
 * (the accepted list, may be NULL), then *also = 1; else its first DataReference URI, else "no
 * DataReference", and *also = 0. Reads at most RL_WSS_MAX_ENCRYPTED_DATA entries of each list.
 */
static const char *listed(xmlNodePtr list, xmlNodePtr other, int *also, char out[ID_SHOWN_MAX])
{
	char *mine[RL_WSS_MAX_ENCRYPTED_DATA], *theirs[RL_WSS_MAX_ENCRYPTED_DATA];
	int n_mine = list_uris(list, mine), n_theirs = list_uris(other, theirs);

	*also = 0;
	for (int i = 0; i < n_mine && !*also; i++)
		for (int j = 0; j < n_theirs && !*also; j++)
			if (strcmp(mine[i], theirs[j]) == 0) {
				shown(mine[i], out);
				*also = 1;
			}
	if (!*also)
		shown(n_mine ? mine[0] : "no DataReference", out);
	for (int i = 0; i < n_mine; i++)
		free(mine[i]);
	for (int j = 0; j < n_theirs; j++)
		free(theirs[j]);
	return out;
}

/* More than one EncryptedKey directly in the header: named by the first two ids, and by a DataReference
 * their lists share. */
static int refuse_second_key(xmlNodePtr security, int count, struct rl_err *err)
{
	xmlNodePtr first = rl_xml_child(security, RL_NS_XENC, "EncryptedKey");
	xmlNodePtr second = rl_xml_next(first, RL_NS_XENC, "EncryptedKey");
	char id1[ID_SHOWN_MAX], id2[ID_SHOWN_MAX], uri[ID_SHOWN_MAX];
	int also;

	listed(rl_xml_child(second, RL_NS_XENC, "ReferenceList"), rl_xml_child(first, RL_NS_XENC, "ReferenceList"),
	       &also, uri);
	id_shown(first, id1);
	id_shown(second, id2);
	return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "the wsse:Security header holds %d EncryptedKey (%s, "
			  "%s%s%s); Peppol AS4 encrypts every payload with one key", count, id1, id2,
			  also ? ", both listing " : "", also ? uri : "");
}

/*
 * Everything of the header's subtree that Peppol AS4 does not use, though WS-Security allows it, refused
 * with EBMS:0103 before any reference is resolved: more than one EncryptedKey, or one that is not directly
 * in the header (inside a KeyInfo); a ReferenceList other than the EncryptedKey's one (standalone in the
 * header, a second one in the EncryptedKey, or nested elsewhere); an EncryptedData not directly in the
 * header. What stays is at most one EncryptedKey, with at most one ReferenceList.
 */
static int check_layout(xmlNodePtr security, struct rl_err *err)
{
	xmlNodePtr ek = rl_xml_child(security, RL_NS_XENC, "EncryptedKey");
	xmlNodePtr list = rl_xml_child(ek, RL_NS_XENC, "ReferenceList");
	int keys = rl_xml_count(security, RL_NS_XENC, "EncryptedKey");
	char show[ID_SHOWN_MAX], parent[ID_SHOWN_MAX];
	int also;

	if (keys > 1)
		return refuse_second_key(security, keys, err);
	for (xmlNodePtr n = security->children; n; n = next_in_subtree(n, security)) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (rl_xml_is(n, RL_NS_XENC, "EncryptedKey") && n->parent != security)
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "an xenc:EncryptedKey inside <%s> of the "
					  "wsse:Security header; only one EncryptedKey directly in the header is "
					  "accepted", shown((const char *)n->parent->name, parent));
		if (rl_xml_is(n, RL_NS_XENC, "EncryptedData") && n->parent != security)
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "an xenc:EncryptedData inside <%s> of "
					  "the wsse:Security header; EncryptedData are accepted only directly in the "
					  "header", shown((const char *)n->parent->name, parent));
		if (!rl_xml_is(n, RL_NS_XENC, "ReferenceList") || n == list)
			continue;
		listed(n, list, &also, show);
		if (n->parent == security)
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "the wsse:Security header holds a "
					  "standalone xenc:ReferenceList, listing %s%s; Peppol AS4 accepts only the "
					  "EncryptedKey's ReferenceList", show,
					  also ? ", which the EncryptedKey's ReferenceList lists too" : "");
		if (n->parent == ek)
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "the EncryptedKey holds a second "
					  "xenc:ReferenceList, listing %s%s; one ReferenceList is accepted", show,
					  also ? ", which the first one lists too" : "");
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "an xenc:ReferenceList inside <%s> of the "
				  "wsse:Security header; Peppol AS4 accepts only the EncryptedKey's ReferenceList",
				  shown((const char *)n->parent->name, parent));
	}
	return 0;
}

/* ---------------------------------------------------------------- the EncryptedKey's ReferenceList */

/* The element a DataReference URI ("#id") names, required to be an EncryptedData of security. */
static xmlNodePtr resolve_data_reference(xmlNodePtr security, const char *uri, struct rl_err *err)
{
	char show[ID_SHOWN_MAX];
	xmlNodePtr node;
	int count = 0;

	if (uri == NULL || uri[0] != '#' || uri[1] == '\0') {
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
			   "the EncryptedKey's ReferenceList has a DataReference with %s%s%s, not '#id' naming an "
			   "EncryptedData of the header", uri ? "URI '" : "no URI", uri ? shown(uri, show) : "",
			   uri ? "'" : "");
		return NULL;
	}
	node = rl_wss_find_id(security->doc, uri + 1, &count);
	if (count == 0) {
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
			   "the EncryptedKey's ReferenceList names %s, which no element of the message carries",
			   shown(uri, show));
		return NULL;
	}
	if (count > 1) {
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
			   "the EncryptedKey's ReferenceList names %s, an id that %d elements carry (duplicated or "
			   "wrapped)", shown(uri, show), count);
		return NULL;
	}
	if (!rl_xml_is(node, RL_NS_XENC, "EncryptedData") || node->parent != security) {
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
			   "the EncryptedKey's ReferenceList names %s, a <%s> and not an EncryptedData of the "
			   "wsse:Security header", shown(uri, show), (const char *)node->name);
		return NULL;
	}
	return node;
}

/* Reads the ReferenceList into named[] (at most RL_WSS_MAX_ENCRYPTED_DATA entries); *n receives the count. */
static int read_reference_list(xmlNodePtr security, xmlNodePtr list, xmlNodePtr *named, int *n, struct rl_err *err)
{
	char show[ID_SHOWN_MAX];

	*n = 0;
	for (xmlNodePtr r = list->children; r; r = r->next) {
		xmlNodePtr ed;
		char *uri;

		if (r->type != XML_ELEMENT_NODE)
			continue;
		if (rl_xml_is(r, RL_NS_XENC, "KeyReference"))
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE,
					  "the EncryptedKey's ReferenceList holds a <KeyReference> (a key wrapped by "
					  "this key); Peppol AS4 lists only xenc:DataReference");
		if (!rl_xml_is(r, RL_NS_XENC, "DataReference"))
			return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
					  "the EncryptedKey's ReferenceList holds a <%s>; "
					  "only xenc:DataReference is accepted",
					  shown((const char *)r->name, show));
		if (*n == RL_WSS_MAX_ENCRYPTED_DATA)
			return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
					  "the EncryptedKey's ReferenceList names more than %d EncryptedData",
					  RL_WSS_MAX_ENCRYPTED_DATA);
		uri = rl_xml_attr(r, NULL, "URI");
		ed = resolve_data_reference(security, uri, err);
		for (int i = 0; ed && i < *n; i++)
			if (named[i] == ed) {
				rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
					   "the EncryptedKey's ReferenceList names %s twice", shown(uri, show));
				ed = NULL;
			}
		free(uri);
		if (ed == NULL)
			return -1;
		named[(*n)++] = ed;
	}
	return 0;
}

/* ---------------------------------------------------------------- each EncryptedData */

/* "ED-1 (cid:payload@x)" or "without an Id (cid:...)": how a message names an EncryptedData. */
static void describe(xmlNodePtr ed, char *out, size_t size)
{
	char *uri = rl_xml_attr(rl_xml_child(rl_xml_child(ed, RL_NS_XENC, "CipherData"), RL_NS_XENC, "CipherReference"),
				NULL, "URI");
	char show_id[ID_SHOWN_MAX], show_uri[ID_SHOWN_MAX];

	snprintf(out, size, "%s (%s)", id_shown(ed, show_id), uri ? shown(uri, show_uri) : "no CipherReference");
	free(uri);
}

/* "<name>" of an element, capped, or `none` when there is no element. */
static const char *element_shown(xmlNodePtr node, const char *none, char out[ID_SHOWN_MAX + 2])
{
	char name[ID_SHOWN_MAX];

	if (node == NULL)
		return none;
	snprintf(out, ID_SHOWN_MAX + 2, "<%s>", shown((const char *)node->name, name));
	return out;
}

/* The only element child of node when it is {ns}name; else NULL, with *other set to the first element
 * child that is not (NULL when node has no element child). */
static xmlNodePtr sole_child(xmlNodePtr node, const char *ns, const char *name, xmlNodePtr *other)
{
	xmlNodePtr found = NULL;

	*other = NULL;
	for (xmlNodePtr c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (found || !rl_xml_is(c, ns, name)) {
			*other = c;
			return NULL;
		}
		found = c;
	}
	return found;
}

/*
 * An EncryptedData's ds:KeyInfo, when it has one, must name the EncryptedKey the way Peppol AS4 does:
 * one wsse:SecurityTokenReference holding one wsse:Reference to the EncryptedKey. Another form (a
 * KeyName, an embedded key, a KeyIdentifier) would name a key other than the one it is decrypted with:
 * EBMS:0103. A Reference to another element: EBMS:0102.
 */
static int check_key_info(xmlNodePtr ed, xmlNodePtr ek, struct rl_err *err)
{
	xmlNodePtr key_info = rl_xml_child(ed, RL_NS_DS, "KeyInfo"), str, ref, other, target = NULL;
	char what[256], show[ID_SHOWN_MAX + 2];
	char *uri;
	int count = 0;

	if (key_info == NULL)
		return 0;
	describe(ed, what, sizeof(what));
	if (rl_xml_count(ed, RL_NS_DS, "KeyInfo") > 1)
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "EncryptedData %s has more than one ds:KeyInfo",
				  what);
	str = sole_child(key_info, RL_NS_WSSE, "SecurityTokenReference", &other);
	if (str == NULL)
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "EncryptedData %s names its key by %s; only a "
				  "wsse:SecurityTokenReference to the EncryptedKey is accepted", what,
				  element_shown(other, "an empty ds:KeyInfo", show));
	ref = sole_child(str, RL_NS_WSSE, "Reference", &other);
	if (ref == NULL)
		return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "EncryptedData %s refers to its key by %s; only "
				  "a wsse:Reference to the EncryptedKey is accepted", what,
				  element_shown(other, "an empty SecurityTokenReference", show));
	uri = rl_xml_attr(ref, NULL, "URI");
	if (uri && uri[0] == '#')
		target = rl_wss_find_id(ed->doc, uri + 1, &count);
	if (target == ek && count == 1) {
		free(uri);
		return 0;
	}
	if (count > 1)
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "EncryptedData %s names the key '%s', an id that %d "
			   "elements carry (duplicated or wrapped)", what, shown(uri, show), count);
	else
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "EncryptedData %s names the key '%s', not the message's "
			   "EncryptedKey", what, shown(uri ? uri : "", show));
	free(uri);
	return -1;
}

int rl_wss_check_encryption_refs(xmlNodePtr security, struct rl_err *err)
{
	xmlNodePtr ek, list, named[RL_WSS_MAX_ENCRYPTED_DATA];
	int data_count = rl_xml_count(security, RL_NS_XENC, "EncryptedData"), named_count = 0;

	if (data_count > RL_WSS_MAX_ENCRYPTED_DATA)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the wsse:Security header holds %d EncryptedData, "
				  "more than %d", data_count, RL_WSS_MAX_ENCRYPTED_DATA);
	if (check_layout(security, err) != 0)
		return -1;
	ek = rl_xml_child(security, RL_NS_XENC, "EncryptedKey");
	list = rl_xml_child(ek, RL_NS_XENC, "ReferenceList");
	if (data_count == 0 && ek == NULL)
		return 0;
	if (ek == NULL)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
				  "the wsse:Security header holds EncryptedData but no EncryptedKey");
	if (list == NULL)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
				  "the EncryptedKey has no ReferenceList naming the EncryptedData it decrypts");
	if (read_reference_list(security, list, named, &named_count, err) != 0)
		return -1;
	if (named_count == 0 && data_count == 0)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the EncryptedKey's ReferenceList is empty: it "
				  "lists no DataReference, and the key decrypts nothing");
	if (named_count == 0)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the EncryptedKey's ReferenceList is empty, though "
				  "the header holds %d EncryptedData", data_count);
	for (xmlNodePtr ed = rl_xml_child(security, RL_NS_XENC, "EncryptedData"); ed;
	     ed = rl_xml_next(ed, RL_NS_XENC, "EncryptedData")) {
		int is_named = 0;

		for (int i = 0; i < named_count; i++)
			if (named[i] == ed)
				is_named = 1;
		if (!is_named) {
			char what[256];

			describe(ed, what, sizeof(what));
			return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
					  "EncryptedData %s is not named by the EncryptedKey's ReferenceList", what);
		}
		if (check_key_info(ed, ek, err) != 0)
			return -1;
	}
	return 0;
}

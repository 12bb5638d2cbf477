/*
 * wss_enc_refs.c - the cross-check of a wsse:Security header's encryption references: the
 * EncryptedKey's ReferenceList and the EncryptedData it names must match one to one, by ids that no
 * other element claims, before the key is used. See include/relais/wss_enc_refs.h.
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

/* The element a DataReference URI ("#id") names, required to be an EncryptedData of security. */
static xmlNodePtr resolve_data_reference(xmlNodePtr security, const char *uri, struct rl_err *err)
{
	char show[ID_SHOWN_MAX];
	xmlNodePtr node;
	int count = 0;

	if (uri == NULL || uri[0] != '#' || uri[1] == '\0') {
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
			   "the EncryptedKey's ReferenceList has a DataReference with URI '%s', not '#id'",
			   shown(uri ? uri : "", show));
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

/* "ED-1 (cid:payload@x)" or "without an Id (cid:...)": how a message names an EncryptedData. */
static void describe(xmlNodePtr ed, char *out, size_t size)
{
	char *id = rl_xml_attr(ed, NULL, "Id");
	char *uri = rl_xml_attr(rl_xml_child(rl_xml_child(ed, RL_NS_XENC, "CipherData"), RL_NS_XENC, "CipherReference"),
				NULL, "URI");
	char show_id[ID_SHOWN_MAX], show_uri[ID_SHOWN_MAX];

	if (id == NULL)
		id = rl_xml_attr(ed, RL_NS_WSU, "Id");
	snprintf(out, size, "%s%s (%s)", id ? "" : "without an Id", id ? shown(id, show_id) : "",
		 uri ? shown(uri, show_uri) : "no CipherReference");
	free(id);
	free(uri);
}

/* An EncryptedData that names its key by reference (wsse:Reference URI="#EK-...") must name ours. */
static int check_key_reference(xmlNodePtr ed, xmlNodePtr ek, struct rl_err *err)
{
	xmlNodePtr str = rl_xml_child(rl_xml_child(ed, RL_NS_DS, "KeyInfo"), RL_NS_WSSE, "SecurityTokenReference");
	xmlNodePtr ref = rl_xml_child(str, RL_NS_WSSE, "Reference");
	char *uri = rl_xml_attr(ref, NULL, "URI");
	xmlNodePtr target = NULL;
	int count = 0;
	char what[256], show[ID_SHOWN_MAX];

	if (ref == NULL)
		return 0;
	if (uri && uri[0] == '#')
		target = rl_wss_find_id(ed->doc, uri + 1, &count);
	if (target == ek) {
		free(uri);
		return 0;
	}
	describe(ed, what, sizeof(what));
	rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "EncryptedData %s names the key '%s', not the message's "
		   "EncryptedKey", what, shown(uri ? uri : "", show));
	free(uri);
	return -1;
}

int rl_wss_check_encryption_refs(xmlNodePtr security, struct rl_err *err)
{
	xmlNodePtr ek = rl_xml_child(security, RL_NS_XENC, "EncryptedKey");
	xmlNodePtr list = rl_xml_child(ek, RL_NS_XENC, "ReferenceList");
	xmlNodePtr named[RL_WSS_MAX_ENCRYPTED_DATA];
	int data_count = rl_xml_count(security, RL_NS_XENC, "EncryptedData"), named_count = 0;

	if (data_count == 0 && list == NULL)
		return 0;
	if (data_count > RL_WSS_MAX_ENCRYPTED_DATA)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the wsse:Security header holds %d EncryptedData, "
				  "more than %d", data_count, RL_WSS_MAX_ENCRYPTED_DATA);
	if (ek == NULL)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
				  "the wsse:Security header holds EncryptedData but no EncryptedKey");
	if (list == NULL)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
				  "the EncryptedKey has no ReferenceList naming the EncryptedData it decrypts");
	if (read_reference_list(security, list, named, &named_count, err) != 0)
		return -1;
	if (named_count == 0 && data_count > 0)
		return rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
				  "the EncryptedKey's ReferenceList is empty, though the header holds %d EncryptedData",
				  data_count);
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
		if (check_key_reference(ed, ek, err) != 0)
			return -1;
	}
	return 0;
}

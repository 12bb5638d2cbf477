/*
 * ebms.c - the ebMS3 UserMessage: parse eb:Messaging into struct rl_user_message, check it against the
 * Peppol AS4 profile, and build eb:Messaging from it. See include/relais/ebms.h.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/ebms.h"
#include "relais/peppol_id.h"
#include "relais/xml.h"

static void free_properties(struct rl_eb_property *p, int n)
{
	for (int i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].type);
		free(p[i].value);
	}
	free(p);
}

void rl_user_message_free(struct rl_user_message *um)
{
	char **strings[] = {
		&um->message_id, &um->timestamp, &um->ref_to_message_id, &um->mpc, &um->from_party,
		&um->from_party_type, &um->from_role, &um->to_party, &um->to_party_type, &um->to_role,
		&um->agreement_ref, &um->service, &um->service_type, &um->action, &um->conversation_id,
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(*strings[i]);
	free_properties(um->properties, um->property_count);
	for (int i = 0; i < um->part_count; i++) {
		struct rl_eb_part_info *p = &um->parts[i];

		free(p->href);
		free(p->mime_type);
		free(p->compression_type);
		free(p->charset);
		free_properties(p->properties, p->property_count);
	}
	free(um->parts);
	memset(um, 0, sizeof(*um));
}

const char *rl_user_message_property(const struct rl_user_message *um, const char *name, const char **type)
{
	for (int i = 0; i < um->property_count; i++)
		if (strcmp(um->properties[i].name, name) == 0) {
			if (type)
				*type = um->properties[i].type;
			return um->properties[i].value;
		}
	return NULL;
}

static int add_property(struct rl_eb_property **props, int *count, const char *name, const char *type,
			const char *value)
{
	struct rl_eb_property *p = realloc(*props, sizeof(**props) * (size_t)(*count + 1));

	if (p == NULL)
		return -1;
	*props = p;
	p += *count;
	p->name = strdup(name);
	p->type = type ? strdup(type) : NULL;
	p->value = strdup(value ? value : "");
	if (p->name == NULL || p->value == NULL || (type && p->type == NULL)) {
		free(p->name);
		free(p->type);
		free(p->value);
		return -1;
	}
	(*count)++;
	return 0;
}

int rl_user_message_set_property(struct rl_user_message *um, const char *name, const char *type,
				 const char *value)
{
	for (int i = 0; i < um->property_count; i++) {
		struct rl_eb_property *p = &um->properties[i];

		if (strcmp(p->name, name) == 0) {
			char *t = type ? strdup(type) : NULL, *v = strdup(value);

			if (v == NULL || (type && t == NULL)) {
				free(t);
				free(v);
				return -1;
			}
			free(p->type);
			free(p->value);
			p->type = t;
			p->value = v;
			return 0;
		}
	}
	return add_property(&um->properties, &um->property_count, name, type, value);
}

/* Text of the only child `name` of parent; missing or repeated -> EBMS:0009. */
static int required_text(xmlNodePtr parent, const char *name, const char *where, char **out,
			 struct rl_err *err)
{
	int n = rl_xml_count(parent, RL_NS_EB, name);

	if (n == 0)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "eb:%s is missing in %s", name, where);
	if (n > 1)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "eb:%s appears %d times in %s", name, n, where);
	*out = rl_xml_text(rl_xml_child(parent, RL_NS_EB, name));
	if (*out == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (**out == '\0')
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "eb:%s is empty in %s", name, where);
	return 0;
}

static int parse_properties(xmlNodePtr container, struct rl_eb_property **props, int *count,
			    const char *where, struct rl_err *err)
{
	if (container == NULL)
		return 0;
	for (xmlNodePtr p = rl_xml_child(container, RL_NS_EB, "Property"); p;
	     p = rl_xml_next(p, RL_NS_EB, "Property")) {
		char *name = rl_xml_attr(p, NULL, "name"), *type = rl_xml_attr(p, NULL, "type");
		char *value = rl_xml_text(p);
		int rc = 0;

		if (name == NULL || *name == '\0')
			rc = rl_err_set(err, RL_EBMS_INVALID_HEADER, "an eb:Property in %s has no name", where);
		else if (add_property(props, count, name, type, value) < 0)
			rc = rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		free(name);
		free(type);
		free(value);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int parse_party(xmlNodePtr party_info, const char *which, char **id, char **type, char **role,
		       struct rl_err *err)
{
	xmlNodePtr party = rl_xml_child(party_info, RL_NS_EB, which);
	int n;

	if (party == NULL)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "eb:PartyInfo has no eb:%s", which);
	n = rl_xml_count(party, RL_NS_EB, "PartyId");
	if (n == 0)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "eb:%s has no eb:PartyId", which);
	if (n > 1)
		return rl_err_set(err, RL_EBMS_OTHER, "eb:%s has %d eb:PartyId elements; Peppol allows one", which,
				  n);
	*id = rl_xml_text(rl_xml_child(party, RL_NS_EB, "PartyId"));
	*type = rl_xml_attr(rl_xml_child(party, RL_NS_EB, "PartyId"), NULL, "type");
	if (*id == NULL || **id == '\0')
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "eb:%s/eb:PartyId is empty", which);
	return required_text(party, "Role", which, role, err);
}

static int parse_part_info(xmlNodePtr pi, struct rl_user_message *um, struct rl_err *err)
{
	struct rl_eb_part_info *parts = realloc(um->parts, sizeof(*parts) * (size_t)(um->part_count + 1));
	struct rl_eb_part_info *p;

	if (parts == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	um->parts = parts;
	p = &parts[um->part_count++];
	memset(p, 0, sizeof(*p));
	p->href = rl_xml_attr(pi, NULL, "href");
	if (parse_properties(rl_xml_child(pi, RL_NS_EB, "PartProperties"), &p->properties, &p->property_count,
			     "eb:PartProperties", err) < 0)
		return -1;
	for (int i = 0; i < p->property_count; i++) {
		char **slot = NULL;

		if (strcmp(p->properties[i].name, "MimeType") == 0)
			slot = &p->mime_type;
		else if (strcmp(p->properties[i].name, "CompressionType") == 0)
			slot = &p->compression_type;
		else if (strcmp(p->properties[i].name, "CharacterSet") == 0)
			slot = &p->charset;
		if (slot && *slot == NULL && (*slot = strdup(p->properties[i].value)) == NULL)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return 0;
}

int rl_user_message_parse(xmlNodePtr messaging, struct rl_user_message *um, struct rl_err *err)
{
	xmlNodePtr user, info, party_info, collab, service, payload;
	int n;

	memset(um, 0, sizeof(*um));
	if (!rl_xml_is(messaging, RL_NS_EB, "Messaging"))
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "the SOAP header has no eb:Messaging");
	n = rl_xml_count(messaging, RL_NS_EB, "UserMessage");
	if (n != 1)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER,
				  "eb:Messaging holds %d eb:UserMessage elements; exactly one is expected", n);
	user = rl_xml_child(messaging, RL_NS_EB, "UserMessage");
	um->mpc = rl_xml_attr(user, NULL, "mpc");

	info = rl_xml_child(user, RL_NS_EB, "MessageInfo");
	if (info == NULL)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "eb:UserMessage has no eb:MessageInfo");
	if (required_text(info, "MessageId", "eb:MessageInfo", &um->message_id, err) < 0 ||
	    required_text(info, "Timestamp", "eb:MessageInfo", &um->timestamp, err) < 0)
		return -1;
	um->ref_to_message_id = rl_xml_text(rl_xml_child(info, RL_NS_EB, "RefToMessageId"));

	party_info = rl_xml_child(user, RL_NS_EB, "PartyInfo");
	if (party_info == NULL)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "eb:UserMessage has no eb:PartyInfo");
	if (parse_party(party_info, "From", &um->from_party, &um->from_party_type, &um->from_role, err) < 0 ||
	    parse_party(party_info, "To", &um->to_party, &um->to_party_type, &um->to_role, err) < 0)
		return -1;

	collab = rl_xml_child(user, RL_NS_EB, "CollaborationInfo");
	if (collab == NULL)
		return rl_err_set(err, RL_EBMS_INVALID_HEADER, "eb:UserMessage has no eb:CollaborationInfo");
	um->agreement_ref = rl_xml_text(rl_xml_child(collab, RL_NS_EB, "AgreementRef"));
	if (required_text(collab, "Service", "eb:CollaborationInfo", &um->service, err) < 0 ||
	    required_text(collab, "Action", "eb:CollaborationInfo", &um->action, err) < 0 ||
	    required_text(collab, "ConversationId", "eb:CollaborationInfo", &um->conversation_id, err) < 0)
		return -1;
	service = rl_xml_child(collab, RL_NS_EB, "Service");
	um->service_type = rl_xml_attr(service, NULL, "type");

	if (parse_properties(rl_xml_child(user, RL_NS_EB, "MessageProperties"), &um->properties,
			     &um->property_count, "eb:MessageProperties", err) < 0)
		return -1;

	payload = rl_xml_child(user, RL_NS_EB, "PayloadInfo");
	for (xmlNodePtr pi = rl_xml_child(payload, RL_NS_EB, "PartInfo"); pi;
	     pi = rl_xml_next(pi, RL_NS_EB, "PartInfo"))
		if (parse_part_info(pi, um, err) < 0)
			return -1;
	return 0;
}

/* dot-atom "@" dot-atom (RFC 2822 msg-id without the angle brackets). */
static int is_message_id(const char *s)
{
	static const char atext[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				    "!#$%&'*+-/=?^_`{|}~";
	const char *at = strchr(s, '@');

	if (at == NULL || strchr(at + 1, '@'))
		return 0;
	for (int side = 0; side < 2; side++) {
		const char *p = side ? at + 1 : s, *end = side ? s + strlen(s) : at;
		int prev_dot = 1;

		if (p == end)
			return 0;
		for (; p < end; p++) {
			if (*p == '.') {
				if (prev_dot)
					return 0;
				prev_dot = 1;
			} else if (strchr(atext, *p) && *p) {
				prev_dot = 0;
			} else {
				return 0;
			}
		}
		if (prev_dot)
			return 0;
	}
	return 1;
}

static int peppol_failure(struct rl_err *err, int code, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int peppol_failure(struct rl_err *err, int code, const char *detail, const char *fmt, ...)
{
	char msg[RL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rl_err_set(err, code, "%s", msg);
	if (detail)
		rl_err_detail(err, detail);
	return -1;
}

int rl_user_message_check_peppol(const struct rl_user_message *um, struct rl_err *err)
{
	const char *type;
	const char *names[] = { "originalSender", "finalRecipient" };

	if (!is_message_id(um->message_id))
		return peppol_failure(err, RL_EBMS_INVALID_HEADER, NULL,
				      "eb:MessageId '%s' is not of the form left@right", um->message_id);
	if (um->ref_to_message_id)
		return peppol_failure(err, RL_EBMS_VALUE_INCONSISTENT, NULL,
				      "eb:RefToMessageId '%s' is not allowed on a Peppol UserMessage",
				      um->ref_to_message_id);
	if (um->mpc && strcmp(um->mpc, RL_EB_DEFAULT_MPC) != 0)
		return peppol_failure(err, RL_EBMS_VALUE_INCONSISTENT, NULL,
				      "mpc '%s' is not the default MPC", um->mpc);
	if (um->from_party_type == NULL || strcmp(um->from_party_type, RL_EB_PARTY_TYPE_AP) != 0)
		return peppol_failure(err, RL_EBMS_OTHER, NULL, "eb:From/eb:PartyId type is '%s', not "
				      RL_EB_PARTY_TYPE_AP, um->from_party_type ? um->from_party_type : "");
	if (um->to_party_type == NULL || strcmp(um->to_party_type, RL_EB_PARTY_TYPE_AP) != 0)
		return peppol_failure(err, RL_EBMS_OTHER, NULL, "eb:To/eb:PartyId type is '%s', not "
				      RL_EB_PARTY_TYPE_AP, um->to_party_type ? um->to_party_type : "");
	if (!rl_seat_id_valid(um->from_party))
		return peppol_failure(err, RL_EBMS_OTHER, NULL,
				      "eb:From/eb:PartyId '%s' is not a Peppol seat id (P + 2 letters + 6 digits)",
				      um->from_party);
	if (!rl_seat_id_valid(um->to_party))
		return peppol_failure(err, RL_EBMS_OTHER, NULL,
				      "eb:To/eb:PartyId '%s' is not a Peppol seat id (P + 2 letters + 6 digits)",
				      um->to_party);
	if (strcmp(um->from_role, RL_EB_ROLE_INITIATOR) != 0)
		return peppol_failure(err, RL_EBMS_VALUE_INCONSISTENT, NULL,
				      "eb:From/eb:Role '%s' is not the ebMS initiator role", um->from_role);
	if (strcmp(um->to_role, RL_EB_ROLE_RESPONDER) != 0)
		return peppol_failure(err, RL_EBMS_VALUE_INCONSISTENT, NULL,
				      "eb:To/eb:Role '%s' is not the ebMS responder role", um->to_role);
	if (um->agreement_ref == NULL || strcmp(um->agreement_ref, RL_EB_AGREEMENT) != 0)
		return peppol_failure(err, RL_EBMS_VALUE_INCONSISTENT, NULL,
				      "eb:AgreementRef '%s' is not " RL_EB_AGREEMENT,
				      um->agreement_ref ? um->agreement_ref : "");
	for (int i = 0; i < 2; i++) {
		const char *v = rl_user_message_property(um, names[i], &type);

		if (v == NULL || *v == '\0')
			return peppol_failure(err, RL_EBMS_OTHER, NULL,
					      "the MessageProperty '%s' is missing (mandatory in Peppol)", names[i]);
		if (type == NULL || *type == '\0')
			return peppol_failure(err, RL_EBMS_OTHER, NULL,
					      "the MessageProperty '%s' has no type attribute", names[i]);
	}
	if (um->part_count == 0)
		return peppol_failure(err, RL_EBMS_OTHER, NULL, "%s", "eb:PayloadInfo names no payload");
	for (int i = 0; i < um->part_count; i++) {
		const struct rl_eb_part_info *p = &um->parts[i];

		if (p->href == NULL || strncmp(p->href, "cid:", 4) != 0)
			return peppol_failure(err, RL_EBMS_EXTERNAL_PAYLOAD_ERROR, NULL,
					      "eb:PartInfo href '%s' is not a cid: reference (payloads must be "
					      "MIME attachments)", p->href ? p->href : "");
		if (p->compression_type && strcmp(p->compression_type, "application/gzip") != 0)
			return peppol_failure(err, RL_EBMS_FEATURE_NOT_SUPPORTED_UNPACKAGING, NULL,
					      "CompressionType '%s' is not application/gzip", p->compression_type);
		if (p->compression_type && p->mime_type == NULL)
			return peppol_failure(err, RL_EBMS_VALUE_INCONSISTENT, NULL,
					      "part %s is compressed but has no MimeType property", p->href);
	}
	return 0;
}

/* --- building --- */

static xmlNodePtr add_text(xmlNodePtr parent, xmlNsPtr eb, const char *name, const char *text)
{
	return xmlNewTextChild(parent, eb, (const xmlChar *)name, (const xmlChar *)text);
}

static int build_properties(xmlNodePtr parent, xmlNsPtr eb, const char *container,
			    const struct rl_eb_property *props, int n)
{
	xmlNodePtr c;

	if (n == 0)
		return 0;
	c = xmlNewChild(parent, eb, (const xmlChar *)container, NULL);
	if (c == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		xmlNodePtr p = add_text(c, eb, "Property", props[i].value);

		if (p == NULL || xmlNewProp(p, (const xmlChar *)"name", (const xmlChar *)props[i].name) == NULL)
			return -1;
		if (props[i].type && xmlNewProp(p, (const xmlChar *)"type", (const xmlChar *)props[i].type) == NULL)
			return -1;
	}
	return 0;
}

static int build_party(xmlNodePtr party_info, xmlNsPtr eb, const char *which, const char *id,
		       const char *type, const char *role)
{
	xmlNodePtr party = xmlNewChild(party_info, eb, (const xmlChar *)which, NULL);
	xmlNodePtr pid;

	if (party == NULL || (pid = add_text(party, eb, "PartyId", id)) == NULL)
		return -1;
	if (type && xmlNewProp(pid, (const xmlChar *)"type", (const xmlChar *)type) == NULL)
		return -1;
	return add_text(party, eb, "Role", role) ? 0 : -1;
}

xmlNodePtr rl_user_message_build(const struct rl_user_message *um, xmlNodePtr header, const char *messaging_id,
				 struct rl_err *err)
{
	xmlNodePtr messaging, user, info, party_info, collab, service, payload;
	xmlNsPtr eb, wsu, soap;
	const char *required[] = { um->message_id, um->timestamp, um->from_party, um->to_party, um->service,
				   um->action, um->conversation_id };

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (required[i] == NULL || *required[i] == '\0') {
			rl_err_set(err, RL_ERR_USAGE, "cannot build eb:Messaging: a required value is missing");
			return NULL;
		}
	messaging = xmlNewChild(header, NULL, (const xmlChar *)"Messaging", NULL);
	if (messaging == NULL)
		goto nomem;
	eb = xmlNewNs(messaging, (const xmlChar *)RL_NS_EB, (const xmlChar *)"eb");
	wsu = xmlNewNs(messaging, (const xmlChar *)RL_NS_WSU, (const xmlChar *)"wsu");
	if (eb == NULL || wsu == NULL)
		goto nomem;
	xmlSetNs(messaging, eb);
	soap = xmlSearchNsByHref(header->doc, header, (const xmlChar *)RL_NS_SOAP12);
	if (soap && xmlNewNsProp(messaging, soap, (const xmlChar *)"mustUnderstand", (const xmlChar *)"true") == NULL)
		goto nomem;
	if (xmlNewNsProp(messaging, wsu, (const xmlChar *)"Id", (const xmlChar *)messaging_id) == NULL)
		goto nomem;
	user = xmlNewChild(messaging, eb, (const xmlChar *)"UserMessage", NULL);
	if (user == NULL || (um->mpc && xmlNewProp(user, (const xmlChar *)"mpc", (const xmlChar *)um->mpc) == NULL))
		goto nomem;
	info = xmlNewChild(user, eb, (const xmlChar *)"MessageInfo", NULL);
	if (info == NULL || !add_text(info, eb, "Timestamp", um->timestamp) ||
	    !add_text(info, eb, "MessageId", um->message_id))
		goto nomem;
	if (um->ref_to_message_id && !add_text(info, eb, "RefToMessageId", um->ref_to_message_id))
		goto nomem;
	party_info = xmlNewChild(user, eb, (const xmlChar *)"PartyInfo", NULL);
	if (party_info == NULL ||
	    build_party(party_info, eb, "From", um->from_party, um->from_party_type,
			um->from_role ? um->from_role : RL_EB_ROLE_INITIATOR) < 0 ||
	    build_party(party_info, eb, "To", um->to_party, um->to_party_type,
			um->to_role ? um->to_role : RL_EB_ROLE_RESPONDER) < 0)
		goto nomem;
	collab = xmlNewChild(user, eb, (const xmlChar *)"CollaborationInfo", NULL);
	if (collab == NULL || !add_text(collab, eb, "AgreementRef", um->agreement_ref ? um->agreement_ref
										       : RL_EB_AGREEMENT))
		goto nomem;
	service = add_text(collab, eb, "Service", um->service);
	if (service == NULL ||
	    (um->service_type && xmlNewProp(service, (const xmlChar *)"type", (const xmlChar *)um->service_type) == NULL))
		goto nomem;
	if (!add_text(collab, eb, "Action", um->action) || !add_text(collab, eb, "ConversationId", um->conversation_id))
		goto nomem;
	if (build_properties(user, eb, "MessageProperties", um->properties, um->property_count) < 0)
		goto nomem;
	if (um->part_count > 0) {
		payload = xmlNewChild(user, eb, (const xmlChar *)"PayloadInfo", NULL);
		if (payload == NULL)
			goto nomem;
		for (int i = 0; i < um->part_count; i++) {
			xmlNodePtr pi = xmlNewChild(payload, eb, (const xmlChar *)"PartInfo", NULL);

			if (pi == NULL || xmlNewProp(pi, (const xmlChar *)"href", (const xmlChar *)um->parts[i].href) == NULL)
				goto nomem;
			if (build_properties(pi, eb, "PartProperties", um->parts[i].properties,
					     um->parts[i].property_count) < 0)
				goto nomem;
		}
	}
	return messaging;
nomem:
	rl_err_set(err, RL_ERR_NOMEM, "out of memory building eb:Messaging");
	return NULL;
}

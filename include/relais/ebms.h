/*
 * ebms.h - the ebMS3 message model: eb:UserMessage and eb:SignalMessage, built and parsed.
 * Strings are malloc'd and owned by the struct; rl_user_message_free() releases them.
 */
#ifndef RELAIS_EBMS_H
#define RELAIS_EBMS_H

#include <libxml/tree.h>
#include "relais/err.h"

#define RL_EB_PARTY_TYPE_AP "urn:fdc:peppol.eu:2017:identifiers:ap"
#define RL_EB_ROLE_INITIATOR "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator"
#define RL_EB_ROLE_RESPONDER "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/responder"
#define RL_EB_AGREEMENT "urn:fdc:peppol.eu:2017:agreements:tia:ap_provider"
#define RL_EB_DEFAULT_MPC "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/defaultMPC"
#define RL_EB_PARTICIPANT_SCHEME "iso6523-actorid-upis"
#define RL_EB_PROCESS_SCHEME "cenbii-procid-ubl"
#define RL_EB_DOCTYPE_SCHEME "busdox-docid-qns"

struct rl_eb_property {
	char *name;
	char *type;	/* may be NULL */
	char *value;
};

struct rl_eb_part_info {
	char *href;		/* "cid:..." */
	char *mime_type;	/* PartProperties MimeType */
	char *compression_type;	/* "application/gzip" or NULL */
	char *charset;
	struct rl_eb_property *properties;	/* all PartProperties, in order */
	int property_count;
};

struct rl_user_message {
	char *message_id;
	char *timestamp;
	char *ref_to_message_id;
	char *mpc;
	char *from_party, *from_party_type, *from_role;
	char *to_party, *to_party_type, *to_role;
	char *agreement_ref;
	char *service, *service_type;
	char *action;
	char *conversation_id;
	struct rl_eb_property *properties;	/* MessageProperties */
	int property_count;
	struct rl_eb_part_info *parts;
	int part_count;
};

void rl_user_message_free(struct rl_user_message *um);
/* Value of MessageProperty `name`, or NULL; *type receives its type attribute when type != NULL. */
const char *rl_user_message_property(const struct rl_user_message *um, const char *name, const char **type);
/* Sets (replacing) a MessageProperty. */
int rl_user_message_set_property(struct rl_user_message *um, const char *name, const char *type,
				 const char *value);

/* Parses eb:Messaging (must hold exactly one eb:UserMessage). Errors: EBMS:0009 InvalidHeader for a
 * missing or malformed element, EBMS:0004 with detail for Peppol rules (originalSender ...). */
int rl_user_message_parse(xmlNodePtr messaging, struct rl_user_message *um, struct rl_err *err);
/* Checks the Peppol AS4 profile rules (PartyId type and seat-id form, roles, AgreementRef,
 * originalSender/finalRecipient with type, ...). */
int rl_user_message_check_peppol(const struct rl_user_message *um, struct rl_err *err);
/* Builds eb:Messaging (with wsu:Id = messaging_id, mustUnderstand) as a child of `header`. */
xmlNodePtr rl_user_message_build(const struct rl_user_message *um, xmlNodePtr header, const char *messaging_id,
				 struct rl_err *err);

#endif

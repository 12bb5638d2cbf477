/*
 * as4.h - a Peppol AS4 message, whole: pack a payload into a signed, encrypted MIME message; unpack
 * one (streaming) into its verified payload; build and check receipts and error signals.
 *
 * Pack order (Peppol AS4 profile): gzip -> SHA-256 digest for the signature -> AES-128-GCM, key wrapped
 * with RSA-OAEP (xmlenc11, SHA-256, MGF1-SHA256) to the receiver's certificate; the SOAP header
 * (eb:Messaging + wsse:Security) is signed with RSA-SHA256 over exc-c14n of eb:Messaging and Body and
 * the SwA attachment digest. Unpack does the reverse and only hands out a payload once the GCM tag, the
 * signature, every reference and the signer's chain have been checked; before the key is used, the
 * EncryptedKey's ReferenceList must name exactly the EncryptedData of the header, and when one payload
 * is encrypted every payload must be (include/relais/wss_enc_refs.h).
 */
#ifndef RELAIS_AS4_H
#define RELAIS_AS4_H

#include <stdio.h>
#include <time.h>
#include "relais/buf.h"
#include "relais/ebms.h"
#include "relais/err.h"
#include "relais/keys.h"
#include "relais/stream.h"

/* ---------------------------------------------------------------- packing */

struct rl_as4_pack_opts {
	const struct rl_identity *sender;	/* signs; its CN is the From PartyId by default */
	X509 *receiver_cert;			/* encrypts; its CN is the To PartyId by default */
	int no_encrypt;
	int no_compress;
	const char *payload_path;		/* the business document (usually an SBD) */
	const char *payload_mime_type;		/* default "application/xml" */
	/* Header values: NULL = from the payload's SBDH when it has one, else the Peppol defaults. */
	const char *message_id;			/* default: <uuid>@relais */
	const char *conversation_id;		/* default: a fresh uuid */
	const char *from_party, *to_party;
	const char *service, *service_type, *action;
	const char *original_sender, *final_recipient;
	const char *tmp_dir;			/* where the ciphertext is spooled (NULL = TMPDIR) */
};

/* What was sent, kept to check the receipt: the message id and the ds:Reference elements of the
 * signature (serialised XML, in SignedInfo order). */
struct rl_as4_sent {
	char *message_id;
	char *content_type;	/* for the HTTP Content-Type header */
	struct rl_buf references;	/* "<ds:Reference ...>...</ds:Reference>..." (a fragment) */
	struct rl_buf envelope;		/* the signed SOAP envelope sent (non-repudiation); empty when read
					 * back from a file */
	char *document_id;		/* the payload's SBDH InstanceIdentifier (what a Message Level
					 * Status refers to); NULL without an SBDH or when read back */
};
void rl_as4_sent_free(struct rl_as4_sent *s);

/* Writes the whole message to out. with_entity_headers: 1 for a message file (MIME-Version and
 * Content-Type first), 0 for an HTTP body (then send sent->content_type as the header). */
int rl_as4_pack(const struct rl_as4_pack_opts *o, const struct rl_sink *out, int with_entity_headers,
		struct rl_as4_sent *sent, struct rl_err *err);

/* Reads a sent message file back (e.g. `verify-receipt --sent MSG`): message id and references. */
int rl_as4_sent_from_file(const char *path, struct rl_as4_sent *sent, struct rl_err *err);
/* The same from the signed SOAP envelope alone (as kept in the store); also fills sent->envelope. */
int rl_as4_sent_from_envelope(const char *xml, size_t len, struct rl_as4_sent *sent, struct rl_err *err);

/* ---------------------------------------------------------------- unpacking */

struct rl_as4_unpack_opts {
	const struct rl_identity *const *identities;	/* our keys (several during a rollover) */
	int identity_count;
	const struct rl_trust *trust;			/* anchors for the sender's certificate */
	time_t at;					/* validity time, 0 = now */
	int allow_non_peppol_algorithms;		/* relaxes the algorithm policy */
	int allow_unencrypted;				/* accept a payload that was not encrypted */
	unsigned long long max_payload;			/* largest inflated payload, 0 = no limit */
	size_t max_header;				/* largest SOAP part, 0 = 8 MiB */
	const char *tmp_dir;				/* where payloads are spooled (NULL = TMPDIR) */
};

struct rl_as4_payload {
	char *content_id;
	char *mime_type;
	FILE *fp;		/* the verified, decompressed payload, positioned at 0; owned by the result */
	unsigned long long size;
};

struct rl_as4_received {
	struct rl_user_message um;	/* the eb:UserMessage */
	struct rl_as4_payload *payloads;
	int payload_count;
	X509 *signer;			/* the sender's certificate (owned) */
	char *envelope;			/* the SOAP envelope as received (non-repudiation), NUL-terminated */
	size_t envelope_len;
	struct rl_buf references;	/* the ds:Reference elements of the signature, for the receipt */
	char *algorithms;		/* one line: "rsa-sha256 sha256 exc-c14n aes128-gcm rsa-oaep(sha256,mgf1sha256)" */
};
void rl_as4_received_free(struct rl_as4_received *r);

/* Streaming unpack: feed the HTTP body (content_type = its Content-Type) or a message file
 * (content_type = NULL) in any chunk sizes. On error the message id, when it could be read, is in
 * r->um.message_id so that an error signal can refer to it. */
struct rl_as4_unpacker;
struct rl_as4_unpacker *rl_as4_unpacker_new(const struct rl_as4_unpack_opts *o, const char *content_type,
					    struct rl_err *err);
int rl_as4_unpacker_feed(struct rl_as4_unpacker *u, const void *data, size_t len, struct rl_err *err);
int rl_as4_unpacker_finish(struct rl_as4_unpacker *u, struct rl_as4_received *r, struct rl_err *err);
/* The MessageId read so far (for error signals when unpacking failed), or NULL. */
const char *rl_as4_unpacker_message_id(const struct rl_as4_unpacker *u);
void rl_as4_unpacker_free(struct rl_as4_unpacker *u);

int rl_as4_unpack_file(const struct rl_as4_unpack_opts *o, const char *path, struct rl_as4_received *r,
		       struct rl_err *err);

/* ---------------------------------------------------------------- signals */

/* A signed eb:Receipt with NonRepudiationInformation for a received message (application/soap+xml). */
int rl_as4_receipt_build(const struct rl_as4_received *r, const struct rl_identity *signer,
			 struct rl_buf *out, char **receipt_message_id, struct rl_err *err);
/* A signed eb:Error signal (application/soap+xml) for a refusal; ref_to_message_id may be NULL. */
int rl_as4_error_build(const struct rl_err *refusal, const char *ref_to_message_id,
		       const struct rl_identity *signer, struct rl_buf *out, struct rl_err *err);

struct rl_as4_signal_check {
	const struct rl_trust *trust;	/* required */
	X509 *expected_signer;		/* the receiver's certificate, or NULL */
	const struct rl_as4_sent *sent;	/* what was sent, or NULL to check the signature only */
	time_t at;			/* 0 = now; -1 = at the receipt's eb:Timestamp */
	/* 1: of what was sent, only the attachments' digests must be acknowledged, whatever their cid: URIs.
	 * A receipt for an earlier attempt of the same message whose envelope was not kept (the sender
	 * stopped between sending and recording it) acknowledges the same compressed payload: the gzip
	 * stream and so its digest are the same at every attempt, while the envelope and the ids are not. */
	int attachments_only;
};
struct rl_as4_signal_info {
	char *message_id;
	char *ref_to_message_id;
	char *timestamp;
	int is_error;			/* an eb:Error signal came back */
	int error_code;			/* its first error code (ebMS number) */
	char *error_text;		/* its short description and detail */
	X509 *signer;
};
void rl_as4_signal_info_free(struct rl_as4_signal_info *i);
/* Checks a receipt (data = response body or a receipt file): signature (Body + eb:Messaging covered,
 * trusted signer), RefToMessageId = sent message id, and every sent ds:Reference digest present in the
 * NonRepudiationInformation. An eb:Error answer fails with the peer's code. Returns 0 when valid. */
int rl_as4_signal_check(const char *data, size_t len, const char *content_type,
			const struct rl_as4_signal_check *chk, struct rl_as4_signal_info *info,
			struct rl_err *err);

#endif

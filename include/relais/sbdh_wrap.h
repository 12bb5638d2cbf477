/*
 * sbdh_wrap.h - building the Peppol SBDH for a bare business document, and checking a wrapped one
 * against the document inside it (spec digest section 7).
 *
 * rl_sbdh_plan() derives every header value from the document: sender and receiver from the seller's
 * and buyer's EndpointID (schemeID = ICD), document type "<root ns>::<root>##<customization>::<version>",
 * process = ProfileID, COUNTRY_C1 = the seller's country, a fresh UUID and the creation time; the options
 * replace what the document lacks or what the caller wants otherwise. rl_sbdh_wrap_file() streams the
 * document behind the header (its bytes are copied, never parsed into a second tree).
 * The struct rl_sbdh it fills is the reader's (sbdh.h): free it with rl_sbdh_free().
 */
#ifndef RELAIS_SBDH_WRAP_H
#define RELAIS_SBDH_WRAP_H

#include "relais/doc.h"
#include "relais/sbdh.h"
#include "relais/stream.h"

struct rl_sbdh_wrap_opts {
	const char *sender;	/* participant "ICD:id"; NULL = from the seller's EndpointID */
	const char *receiver;	/* NULL = from the buyer's EndpointID */
	const char *country;	/* COUNTRY_C1; NULL = the seller's country (BT-40) */
	const char *process;	/* NULL = the document's ProfileID (BT-23) */
	const char *instance_id; /* NULL = a random UUID */
	const char *creation_time; /* NULL = now */
};

/* Fills h for the document described by info (a bare UBL or CII document). Fails with RL_EBMS_OTHER
 * naming the value that is missing or malformed, RL_ERR_USAGE when an option is malformed. */
int rl_sbdh_plan(const struct rl_doc_info *info, const struct rl_sbdh_wrap_opts *opts, struct rl_sbdh *h,
		 struct rl_err *err);

/* Writes the StandardBusinessDocument: the header of h, then the document at doc_path without its XML
 * declaration. The document must be UTF-8 (a declared other encoding is refused). */
int rl_sbdh_wrap_file(const char *doc_path, const struct rl_sbdh *h, const struct rl_sink *out,
		      struct rl_err *err);

/* The same for a document in memory (len bytes, UTF-8, with or without XML declaration): the whole
 * StandardBusinessDocument is appended to out. */
int rl_sbdh_wrap_mem(const void *doc, size_t len, const struct rl_sbdh *h, struct rl_buf *out,
		     struct rl_err *err);

/* Reads the SBDH of the file at path (streaming) and checks it against the document inside: sender and
 * receiver must be the seller's and buyer's endpoints when the document has them (participants compared
 * case-insensitively), document type and syntax version those of the document, the process its profile
 * when it has one. Fills h and info (caller frees both, also on failure). Returns 0, or -1 with
 * RL_EBMS_OTHER naming the first mismatch; a bare document is refused too. */
int rl_sbdh_check_file(const char *path, struct rl_sbdh *h, struct rl_doc_info *info, struct rl_err *err);

#endif

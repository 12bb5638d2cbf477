/*
 * sbdh.h - the Peppol Standard Business Document Header (Business Message Envelope 2.0).
 * Reading gives the routing values an AS4 message carries; building wraps a bare business document.
 * Strings are malloc'd and owned by struct rl_sbdh; rl_sbdh_free() releases them.
 */
#ifndef RELAIS_SBDH_H
#define RELAIS_SBDH_H

#include <stdint.h>
#include <stdio.h>
#include <libxml/tree.h>
#include "relais/err.h"

struct rl_sbdh {
	char *sender;		/* participant value, e.g. "0088:7315458756324" */
	char *sender_scheme;	/* Authority, "iso6523-actorid-upis" */
	char *receiver;
	char *receiver_scheme;
	char *standard;		/* DocumentIdentification/Standard (root namespace) */
	char *type_version;
	char *instance_id;
	char *type;		/* local name of the business document */
	char *creation_time;
	char *document_id;	/* DOCUMENTID scope value (the doctype value, without scheme) */
	char *document_id_scheme; /* its Identifier, default "busdox-docid-qns" */
	char *process_id;	/* PROCESSID scope value */
	char *process_id_scheme; /* default "cenbii-procid-ubl" */
	char *country_c1;	/* COUNTRY_C1 */
	char *mls_to;		/* optional */
	char *mls_type;		/* optional */
};

void rl_sbdh_free(struct rl_sbdh *h);
/* Reads the SBDH of a StandardBusinessDocument. Returns 1 when the document is an SBD and h was
 * filled, 0 when the root is not an SBD (a bare document), -1 on a malformed or non-Peppol SBDH
 * (EBMS:0004, message naming the defect). */
int rl_sbdh_read(xmlDocPtr doc, struct rl_sbdh *h, struct rl_err *err);
/* Same for a file, streaming (xmlTextReader): reads only up to the end of the header, so memory stays
 * constant whatever the size of the document behind it. */
int rl_sbdh_read_file(const char *path, struct rl_sbdh *h, struct rl_err *err);
/* Same for an open stream (read from its current position; not closed); name is used in messages.
 * At most the header's first 4 MiB are read. */
int rl_sbdh_read_stream(FILE *in, const char *name, struct rl_sbdh *h, struct rl_err *err);
/* Same for the payload of a stored message (row id), of which at most its first max bytes are read from
 * the store. -1 either when the store cannot be read (err: a local RL_ERR_* code) or when the header is
 * wrong (err: an ebMS code, as above). */
struct rl_store;
int rl_sbdh_read_stored(struct rl_store *st, int64_t message, size_t max, struct rl_sbdh *h,
			struct rl_err *err);

#endif

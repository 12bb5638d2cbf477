/*
 * smp_server.h - an SMP (Peppol SMP 1.0 REST interface) for the participants this access point hosts.
 *
 *   GET /{participant URI}                      -> ServiceGroup (its document types)
 *   GET /{participant URI}/services/{doctype}   -> SignedServiceMetadata, signed with the SMP key
 * (path segments percent-encoded as smp_client.h sends them). Unknown participants and document types
 * get 404, other methods 405, malformed identifiers 400. The participants and their document types come
 * from a directory the caller provides (the database, see participants.h); every answer is built when
 * asked, so a change in the directory shows at once.
 */
#ifndef RELAIS_SMP_SERVER_H
#define RELAIS_SMP_SERVER_H

#include <stddef.h>
#include "relais/err.h"
#include "relais/keys.h"
#include "relais/peppol_id.h"
#include "relais/smp_publish.h"

/* One document type a participant receives, with the process it belongs to. */
struct rl_smp_service {
	struct rl_peppol_id doctype;
	struct rl_peppol_id process;
};

/* Where the hosted participants come from. services(): fills *out (malloc'd, the caller frees it) with the
 * participant's services and returns their number; 0 = participant not hosted; -1 with err set on
 * failure. Called from the server's threads, possibly at once. */
struct rl_smp_directory {
	void *arg;
	int (*services)(void *arg, const struct rl_peppol_id *participant, struct rl_smp_service **out,
			struct rl_err *err);
};

struct rl_smp_server_opts {
	const char *host;			/* listen address; NULL or "" = all */
	unsigned port;				/* 0 = any free port */
	const char *base_url;			/* ServiceGroup references; NULL/"" = http://<Host header> */
	const struct rl_identity *signer;	/* SMP key and certificate; kept by the caller */
	struct rl_smp_publish_endpoint endpoint; /* what every ServiceMetadata publishes (kept by caller) */
	struct rl_smp_directory directory;
	unsigned threads;			/* 0 = 2 */
};

struct rl_smp_server;

struct rl_smp_server *rl_smp_server_start(const struct rl_smp_server_opts *o, struct rl_err *err);
unsigned rl_smp_server_port(const struct rl_smp_server *s);
/* Number of requests answered (any status), for logs and tests. */
unsigned long rl_smp_server_requests(const struct rl_smp_server *s);
void rl_smp_server_stop(struct rl_smp_server *s);

#endif

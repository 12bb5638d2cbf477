/*
 * participants.h - the participants this access point hosts, as its SMP publishes them: one row per
 * (participant, document type) with the process, in the table smp_participants of the store's database
 * (schema migration 2; `relais db migrate` creates it).
 *
 * A struct rl_participants is one database connection guarded by a mutex: the SMP server's threads may
 * share it. Identifiers are stored in their canonical URI form (participants lower-cased).
 */
#ifndef RELAIS_PARTICIPANTS_H
#define RELAIS_PARTICIPANTS_H

#include <stddef.h>
#include "relais/err.h"
#include "relais/peppol_id.h"
#include "relais/smp_server.h"

struct rl_participants;

/* Connects (a libpq URL or key=value string). RL_ERR_DB when the database cannot be reached or its
 * schema lacks the table (then the message says to run `relais db migrate`). */
struct rl_participants *rl_participants_open(const char *conninfo, struct rl_err *err);
/* The same for database.url of cfg; for "auto" the embedded cluster of state.dir is started first and
 * handed back in *cluster (stop it with rl_pgcluster_stop after closing; NULL otherwise). */
struct rl_config;
struct rl_pgcluster;
struct rl_participants *rl_participants_open_config(const struct rl_config *cfg, struct rl_pgcluster **cluster,
						   struct rl_err *err);
void rl_participants_close(struct rl_participants *p);

/* Adds (or updates the process of) one document type of a participant. */
int rl_participants_add(struct rl_participants *p, const struct rl_peppol_id *participant,
			const struct rl_peppol_id *doctype, const struct rl_peppol_id *process, struct rl_err *err);
/* Removes one document type, or every one when doctype is NULL. Returns the number of rows removed. */
int rl_participants_remove(struct rl_participants *p, const struct rl_peppol_id *participant,
			   const struct rl_peppol_id *doctype, struct rl_err *err);

/* One row of the list. */
struct rl_participant_row {
	char *participant, *doctype, *process;	/* URI forms */
};
/* Every row (of one participant when participant != NULL), ordered; *rows is the caller's
 * (rl_participant_rows_free). Returns the count. */
int rl_participants_list(struct rl_participants *p, const struct rl_peppol_id *participant,
			 struct rl_participant_row **rows, struct rl_err *err);
void rl_participant_rows_free(struct rl_participant_row *rows, int count);

/* The SMP server's directory (smp_server.h) reading from p. */
struct rl_smp_directory rl_participants_directory(struct rl_participants *p);

#endif

/*
 * smp_cache.h - discovery results shared by the relais instances of one database: the table smp_cache
 * (schema migration 3) holds found endpoints and "not found" answers until their expiry. discovery.c
 * consults it after its in-memory cache and fills it after each lookup.
 *
 * One struct rl_smp_cache_db is one connection guarded by a mutex (threads may share it). A failing
 * database never fails a lookup: callers treat errors as a miss.
 */
#ifndef RELAIS_SMP_CACHE_H
#define RELAIS_SMP_CACHE_H

#include "relais/discovery.h"
#include "relais/err.h"

struct rl_smp_cache_db;

/* Connects; RL_ERR_DB when unreachable or without the table (run relais db migrate). */
struct rl_smp_cache_db *rl_smp_cache_db_open(const char *conninfo, struct rl_err *err);
void rl_smp_cache_db_close(struct rl_smp_cache_db *db);

enum rl_smp_cache_hit {
	RL_SMP_CACHE_MISS = 0,
	RL_SMP_CACHE_FOUND,		/* *ep filled (the caller frees it) */
	RL_SMP_CACHE_NOT_FOUND		/* *not_found filled with the remembered RL_ERR_NOT_FOUND */
};
/* Looks key up among the rows not yet expired. Returns an enum rl_smp_cache_hit, or -1 with err set. */
int rl_smp_cache_db_get(struct rl_smp_cache_db *db, const char *key, struct rl_endpoint *ep,
			struct rl_err *not_found, struct rl_err *err);
/* Remembers an endpoint (ep) or a not-found answer (not_found) for ttl seconds; drops expired rows. */
int rl_smp_cache_db_put(struct rl_smp_cache_db *db, const char *key, long ttl, const struct rl_endpoint *ep,
			const struct rl_err *not_found, struct rl_err *err);

#endif

/*
 * store_sql.h - the SQL text of some of the store's prepared statements, by name (internal to store.c
 * and its tests, which check the plans PostgreSQL makes for them). Static strings; nothing to free.
 */
#ifndef RELAIS_STORE_SQL_H
#define RELAIS_STORE_SQL_H

/* The statement called name ("outbound_retry", "purge_batch", ... as listed in store.c), or NULL; with
 * *planned_per_call set when it is planned at each call (its plan is never kept) rather than prepared. */
const char *rl_store_statement_sql(const char *name, int *planned_per_call);

#endif

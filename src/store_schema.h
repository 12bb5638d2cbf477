/*
 * store_schema.h - the schema migrations of the store (internal to store.c and its tests).
 * Static strings; nothing to free.
 */
#ifndef RELAIS_STORE_SCHEMA_H
#define RELAIS_STORE_SCHEMA_H

/* How many migrations there are: the schema version this program wants. */
int rl_store_schema_count(void);
/* The SQL of migration `version` (1 .. count): from version-1 to version. NULL when out of range. */
const char *rl_store_schema_migration(int version);

#endif

/*
 * config.h - the relais daemon configuration: one INI file, built-in defaults, --set overrides.
 *
 * Every key is described once in a table (rl_config_key_table()): name, type, default, limits and a
 * description. Parsing, validation, conf/relais.conf.sample and relais.conf(5) all follow that table.
 *
 * Use: rl_config_new() (defaults) -> rl_config_load_file() -> rl_config_set() for each --set ->
 * rl_config_validate() -> rl_config_problem_count() / rl_config_problem_format() -> typed accessors.
 * Unknown sections/keys and bad values do not fail the load: they are collected as problems so that
 * all of them can be reported at once. Only I/O and memory failures are returned as errors.
 */
#ifndef RELAIS_CONFIG_H
#define RELAIS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "relais/err.h"

enum rl_config_type {
	RL_CFG_STRING,		/* any text */
	RL_CFG_BOOL,		/* on/off yes/no true/false 1/0 */
	RL_CFG_INT,		/* decimal integer within [min, max] */
	RL_CFG_DURATION,	/* 30s, 5m, 1h, 2d or plain seconds; within [min, max] seconds */
	RL_CFG_SIZE,		/* 512, 64K, 10M, 1G (powers of 1024); within [min, max] bytes */
	RL_CFG_HOSTPORT,	/* host:port or [v6addr]:port; empty allowed when not required */
	RL_CFG_HOSTNAME,	/* a DNS name */
	RL_CFG_FILE,		/* a file that must exist and be readable (when set) */
	RL_CFG_DIR,		/* a directory that must exist (when set explicitly, or for serve) */
	RL_CFG_URL,		/* http:// or https:// URL, empty = unused */
	RL_CFG_DBURL,		/* "auto" or postgresql://... */
	RL_CFG_LOGLEVEL		/* error, warn, info, debug */
};

/* Every key; the order is the order of the table, the sample file and the man page. */
enum rl_config_key {
	RL_CFG_IDENTITY_KEY,
	RL_CFG_IDENTITY_CERT,
	RL_CFG_IDENTITY_KEYSTORE,
	RL_CFG_IDENTITY_PASSWORD,
	RL_CFG_IDENTITY_PARTY_ID,
	RL_CFG_IDENTITY_NEXT_KEY,
	RL_CFG_IDENTITY_NEXT_CERT,
	RL_CFG_IDENTITY_NEXT_KEYSTORE,
	RL_CFG_IDENTITY_NEXT_PASSWORD,
	RL_CFG_IDENTITY_SWITCH_AT,
	RL_CFG_IDENTITY_COUNTRY,
	RL_CFG_TRUST_ANCHORS,
	RL_CFG_TRUST_SMP_ANCHORS,
	RL_CFG_TRUST_TLS_ANCHORS,
	RL_CFG_TRUST_REVOCATION,
	RL_CFG_TRUST_CRLS,
	RL_CFG_TRUST_OCSP_URL,
	RL_CFG_TRUST_OCSP_TIMEOUT,
	RL_CFG_TRUST_CRL_DOWNLOAD,
	RL_CFG_SERVER_LISTEN,
	RL_CFG_SERVER_TLS,
	RL_CFG_SERVER_TLS_KEY,
	RL_CFG_SERVER_TLS_CERT,
	RL_CFG_SERVER_THREADS,
	RL_CFG_DATABASE_URL,
	RL_CFG_STATE_DIR,
	RL_CFG_DELIVERY_INBOX,
	RL_CFG_DELIVERY_WEBHOOK,
	RL_CFG_SUBMISSION_OUTBOX,
	RL_CFG_API_TOKEN,
	RL_CFG_API_METRICS,
	RL_CFG_LIMITS_MAX_BODY,
	RL_CFG_LIMITS_MAX_CONNECTIONS,
	RL_CFG_LIMITS_REQUEST_TIMEOUT,
	RL_CFG_RETRY_MAX_ATTEMPTS,
	RL_CFG_RETRY_INITIAL_DELAY,
	RL_CFG_RETRY_MAX_DELAY,
	RL_CFG_RETRY_CIRCUIT_THRESHOLD,
	RL_CFG_RETRY_CIRCUIT_OPEN,
	RL_CFG_QUEUE_WORKERS,
	RL_CFG_ROUTING_TABLE,
	RL_CFG_LOG_LEVEL,
	RL_CFG_LOG_FILE,
	RL_CFG_DISCOVERY_SML_ZONE,
	RL_CFG_DISCOVERY_DNS,
	RL_CFG_DISCOVERY_TIMEOUT,
	RL_CFG_DISCOVERY_CACHE_TTL,
	RL_CFG_DISCOVERY_NEGATIVE_TTL,
	RL_CFG_SMP_LISTEN,
	RL_CFG_SMP_KEY,
	RL_CFG_SMP_CERT,
	RL_CFG_SMP_KEYSTORE,
	RL_CFG_SMP_PASSWORD,
	RL_CFG_SMP_ENDPOINT_URL,
	RL_CFG_SMP_ENDPOINT_CERT,
	RL_CFG_SMP_BASE_URL,
	RL_CFG_RELAY_ROUTES,
	RL_CFG_RELAY_SENDER,
	RL_CFG_REPORTING_C4_COUNTRY,
	RL_CFG_RETENTION_KEEP,
	RL_CFG_MLS_SEND,
	RL_CFG_NKEYS
};

struct rl_config_key_info {
	enum rl_config_key key;
	const char *section;		/* "server" */
	const char *name;		/* "listen" */
	enum rl_config_type type;
	const char *default_value;	/* as it would be written in the file; "" = unset */
	long long min, max;		/* for INT, DURATION (seconds), SIZE (bytes) */
	const char *description;	/* one sentence for the sample file and the man page */
};

/* What the configuration is checked for: plain syntax/values, or everything `serve` needs. */
enum rl_config_mode {
	RL_CFG_MODE_CHECK,
	RL_CFG_MODE_SERVE
};

struct rl_config;

/* The key table, RL_CFG_NKEYS entries in enum order. */
const struct rl_config_key_info *rl_config_key_table(void);
/* Looks up "section.key"; NULL when unknown. */
const struct rl_config_key_info *rl_config_key_find(const char *dotted_name);

/* A configuration holding the built-in defaults. */
struct rl_config *rl_config_new(struct rl_err *err);
void rl_config_free(struct rl_config *cfg);

/* Reads an INI file over the current values. Unknown sections/keys and syntax errors become problems.
 * Returns -1 only when the file cannot be opened (RL_ERR_CONFIG) or read (RL_ERR_IO, RL_ERR_NOMEM). */
int rl_config_load_file(struct rl_config *cfg, const char *path, struct rl_err *err);
/* Applies one "section.key=value" override. An unknown key becomes a problem; a missing '=' is an
 * RL_ERR_USAGE error. */
int rl_config_set(struct rl_config *cfg, const char *assignment, struct rl_err *err);
/* Checks every value and the rules between keys; adds a problem for each thing wrong.
 * Returns the total number of problems (including those found while loading). Call it once. */
size_t rl_config_validate(struct rl_config *cfg, enum rl_config_mode mode);

size_t rl_config_problem_count(const struct rl_config *cfg);
/* "FILE:LINE: section.key: what is wrong" (or "--set: ..." / "FILE: ..." without a line). */
const char *rl_config_problem_format(const struct rl_config *cfg, size_t index, char *buf, size_t size);
/* The line number of problem `index` (0 when it has none). */
int rl_config_problem_line(const struct rl_config *cfg, size_t index);

/* Typed accessors. On a value that does not parse they return the parsed default. */
const char *rl_config_str(const struct rl_config *cfg, enum rl_config_key key);	/* never NULL */
int rl_config_bool(const struct rl_config *cfg, enum rl_config_key key);
long long rl_config_int(const struct rl_config *cfg, enum rl_config_key key);
long long rl_config_duration_seconds(const struct rl_config *cfg, enum rl_config_key key);
uint64_t rl_config_size_bytes(const struct rl_config *cfg, enum rl_config_key key);
/* Splits a HOSTPORT value; host without brackets. Returns -1 when empty or invalid. */
int rl_config_hostport(const struct rl_config *cfg, enum rl_config_key key,
		       char *host, size_t host_size, unsigned *port);
/* Where a value came from: 0 = default, -1 = --set, N = line N of the file. */
int rl_config_line(const struct rl_config *cfg, enum rl_config_key key);

/* Value parsers, also used by validation; each returns 0 or -1. */
int rl_config_parse_bool(const char *s, int *out);
int rl_config_parse_int(const char *s, long long *out);
int rl_config_parse_duration(const char *s, long long *seconds);
int rl_config_parse_size(const char *s, uint64_t *bytes);
int rl_config_parse_hostport(const char *s, char *host, size_t host_size, unsigned *port);

#endif

/* config.c - the relais configuration: key table, INI loading, --set, validation. See relais/config.h. */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ini.h>
#include "relais/config.h"
#include "relais/keys.h"
#include "relais/peppol_id.h"
#include "relais/relay.h"

#define KIB 1024LL
#define MIB (1024LL * KIB)
#define GIB (1024LL * MIB)
#define MINUTE 60LL
#define HOUR (60LL * MINUTE)
#define DAY (24LL * HOUR)

#define LINE_DEFAULT 0
#define LINE_SET (-1)

#define API_TOKEN_MIN 16

static const struct rl_config_key_info key_table[RL_CFG_NKEYS] = {
	{ RL_CFG_IDENTITY_KEY, "identity", "key", RL_CFG_FILE, "", 0, 0,
	  "PEM private key of the access point (used with identity.cert, instead of identity.keystore)." },
	{ RL_CFG_IDENTITY_CERT, "identity", "cert", RL_CFG_FILE, "", 0, 0,
	  "PEM certificate of the access point, issued by the Peppol AP CA." },
	{ RL_CFG_IDENTITY_KEYSTORE, "identity", "keystore", RL_CFG_FILE, "", 0, 0,
	  "PKCS#12 keystore holding key and certificate (instead of identity.key and identity.cert)." },
	{ RL_CFG_IDENTITY_PASSWORD, "identity", "password", RL_CFG_STRING, "", 0, 0,
	  "Password of identity.keystore." },
	{ RL_CFG_IDENTITY_PARTY_ID, "identity", "party_id", RL_CFG_STRING, "", 0, 0,
	  "Our AS4 party id (the Peppol seat id, e.g. POP000123)." },
	{ RL_CFG_IDENTITY_NEXT_KEY, "identity", "next_key", RL_CFG_FILE, "", 0, 0,
	  "PEM private key of the second identity (the next one during a key rollover, or the previous one)." },
	{ RL_CFG_IDENTITY_NEXT_CERT, "identity", "next_cert", RL_CFG_FILE, "", 0, 0,
	  "PEM certificate of the second identity (used with identity.next_key)." },
	{ RL_CFG_IDENTITY_NEXT_KEYSTORE, "identity", "next_keystore", RL_CFG_FILE, "", 0, 0,
	  "PKCS#12 keystore of the second identity (instead of identity.next_key and identity.next_cert)." },
	{ RL_CFG_IDENTITY_NEXT_PASSWORD, "identity", "next_password", RL_CFG_STRING, "", 0, 0,
	  "Password of identity.next_keystore." },
	{ RL_CFG_IDENTITY_SWITCH_AT, "identity", "switch_at", RL_CFG_STRING, "", 0, 0,
	  "Date-time (2026-03-01T00:00:00Z) from which we sign with the second identity; empty = it only decrypts." },
	{ RL_CFG_IDENTITY_COUNTRY, "identity", "country", RL_CFG_STRING, "", 0, 0,
	  "This service provider's country (ISO 3166 alpha-2), COUNTRY_C1 of what it sends about itself: the Message Level Status, the Peppol reports; empty = ZZ." },
	{ RL_CFG_TRUST_ANCHORS, "trust", "anchors", RL_CFG_FILE, "", 0, 0,
	  "PEM bundle of the CA certificates that peer access point certificates must chain to." },
	{ RL_CFG_TRUST_SMP_ANCHORS, "trust", "smp_anchors", RL_CFG_FILE, "", 0, 0,
	  "PEM bundle of the CA certificates that SMP signing certificates must chain to." },
	{ RL_CFG_TRUST_TLS_ANCHORS, "trust", "tls_anchors", RL_CFG_FILE, "", 0, 0,
	  "PEM bundle of the CAs for the HTTPS server certificates of peers; empty = the system's CAs." },
	{ RL_CFG_TRUST_REVOCATION, "trust", "revocation", RL_CFG_STRING, "hard", 0, 0,
	  "Revocation checks of peer certificates: hard (no answer = refused), soft (no answer = accepted with a warning) or off." },
	{ RL_CFG_TRUST_CRLS, "trust", "crls", RL_CFG_STRING, "", 0, 0,
	  "CRL files (PEM bundles or DER), separated by spaces or commas; consulted before OCSP." },
	{ RL_CFG_TRUST_OCSP_URL, "trust", "ocsp_url", RL_CFG_URL, "", 0, 0,
	  "OCSP responder asked for every certificate; empty = the one named in each certificate (AIA)." },
	{ RL_CFG_TRUST_OCSP_TIMEOUT, "trust", "ocsp_timeout", RL_CFG_DURATION, "5s", 1, 120,
	  "Time allowed to one OCSP request or CRL download." },
	{ RL_CFG_TRUST_CRL_DOWNLOAD, "trust", "crl_download", RL_CFG_BOOL, "on", 0, 0,
	  "When neither trust.crls nor OCSP answers, fetch the CRL from the certificate's distribution point (http)." },
	{ RL_CFG_SERVER_LISTEN, "server", "listen", RL_CFG_HOSTPORT, "127.0.0.1:8443", 0, 0,
	  "Address and port the AS4 endpoint listens on." },
	{ RL_CFG_SERVER_TLS, "server", "tls", RL_CFG_BOOL, "on", 0, 0,
	  "Serve HTTPS (off when a reverse proxy terminates TLS)." },
	{ RL_CFG_SERVER_TLS_KEY, "server", "tls_key", RL_CFG_FILE, "", 0, 0,
	  "PEM private key of the HTTPS server (required when server.tls is on)." },
	{ RL_CFG_SERVER_TLS_CERT, "server", "tls_cert", RL_CFG_FILE, "", 0, 0,
	  "PEM certificate chain of the HTTPS server (required when server.tls is on)." },
	{ RL_CFG_SERVER_THREADS, "server", "threads", RL_CFG_INT, "4", 1, 256,
	  "Threads answering HTTP requests (each request is handled by one of them)." },
	{ RL_CFG_DATABASE_URL, "database", "url", RL_CFG_DBURL, "auto", 0, 0,
	  "PostgreSQL connection URL (postgresql://...), or auto for a private database in state.dir." },
	{ RL_CFG_STATE_DIR, "state", "dir", RL_CFG_DIR, "/var/lib/relais", 0, 0,
	  "Directory for the daemon's state (spool, private database)." },
	{ RL_CFG_DELIVERY_INBOX, "delivery", "inbox", RL_CFG_DIR, "", 0, 0,
	  "Directory where received documents are delivered; empty = no file delivery." },
	{ RL_CFG_DELIVERY_WEBHOOK, "delivery", "webhook", RL_CFG_URL, "", 0, 0,
	  "URL that is POSTed each received document; empty = no webhook." },
	{ RL_CFG_SUBMISSION_OUTBOX, "submission", "outbox", RL_CFG_DIR, "", 0, 0,
	  "Directory watched for documents to send; empty = submission by the API only." },
	{ RL_CFG_API_TOKEN, "api", "token", RL_CFG_STRING, "", 0, 0,
	  "Bearer token (16 characters or more) required by the local submission API; empty = API disabled." },
	{ RL_CFG_API_METRICS, "api", "metrics", RL_CFG_BOOL, "on", 0, 0,
	  "Serve GET /metrics (Prometheus text format, no token needed, no message content); off = 404." },
	{ RL_CFG_LIMITS_MAX_BODY, "limits", "max_body", RL_CFG_SIZE, "100M", 1 * KIB, 4 * GIB,
	  "Largest AS4 message accepted." },
	{ RL_CFG_LIMITS_MAX_CONNECTIONS, "limits", "max_connections", RL_CFG_INT, "64", 1, 100000,
	  "Most simultaneous HTTP connections." },
	{ RL_CFG_LIMITS_REQUEST_TIMEOUT, "limits", "request_timeout", RL_CFG_DURATION, "60s", 1, HOUR,
	  "Time allowed to receive one request." },
	{ RL_CFG_RETRY_MAX_ATTEMPTS, "retry", "max_attempts", RL_CFG_INT, "10", 1, 1000,
	  "Sending attempts before a message is given up." },
	{ RL_CFG_RETRY_INITIAL_DELAY, "retry", "initial_delay", RL_CFG_DURATION, "30s", 1, DAY,
	  "Delay before the first retry; doubled on each further attempt." },
	{ RL_CFG_RETRY_MAX_DELAY, "retry", "max_delay", RL_CFG_DURATION, "6h", 1, 7 * DAY,
	  "Longest delay between two attempts." },
	{ RL_CFG_RETRY_CIRCUIT_THRESHOLD, "retry", "circuit_threshold", RL_CFG_INT, "5", 1, 1000,
	  "Consecutive connection failures to one destination after which it is paused." },
	{ RL_CFG_RETRY_CIRCUIT_OPEN, "retry", "circuit_open", RL_CFG_DURATION, "60s", 1, DAY,
	  "How long a destination is paused once its failures reach retry.circuit_threshold." },
	{ RL_CFG_QUEUE_WORKERS, "queue", "workers", RL_CFG_INT, "4", 1, 256,
	  "Threads sending queued messages (each with its own database and HTTP connection)." },
	{ RL_CFG_ROUTING_TABLE, "routing", "table", RL_CFG_FILE, "", 0, 0,
	  "Static routes: lines 'RECEIVER URL CERTIFICATE-FILE' (RECEIVER a participant id, a party id or *)." },
	{ RL_CFG_LOG_LEVEL, "log", "level", RL_CFG_LOGLEVEL, "info", 0, 0,
	  "Least severe level logged: error, warn, info or debug." },
	{ RL_CFG_LOG_FILE, "log", "file", RL_CFG_STRING, "", 0, 0,
	  "File the log is appended to; empty = standard error." },
	{ RL_CFG_DISCOVERY_SML_ZONE, "discovery", "sml_zone", RL_CFG_HOSTNAME,
	  "participant.sml.prod.tech.peppol.org", 0, 0,
	  "DNS zone of the SML (participant.sml.test.tech.peppol.org for the test network)." },
	{ RL_CFG_DISCOVERY_DNS, "discovery", "dns", RL_CFG_HOSTPORT, "", 0, 0,
	  "DNS server (host:port) for SML lookups; empty = the system resolver." },
	{ RL_CFG_DISCOVERY_TIMEOUT, "discovery", "timeout", RL_CFG_DURATION, "10s", 1, 300,
	  "Time allowed for each DNS attempt and for each HTTP request to an SMP." },
	{ RL_CFG_DISCOVERY_CACHE_TTL, "discovery", "cache_ttl", RL_CFG_DURATION, "1h", 0, DAY,
	  "How long a found endpoint is remembered (per process); 0 = not cached." },
	{ RL_CFG_DISCOVERY_NEGATIVE_TTL, "discovery", "negative_ttl", RL_CFG_DURATION, "5m", 0, DAY,
	  "How long \"participant or document type not found\" is remembered; 0 = not cached." },
	{ RL_CFG_SMP_LISTEN, "smp", "listen", RL_CFG_HOSTPORT, "0.0.0.0:8081", 0, 0,
	  "Address and port relais smp serves the SMP REST interface on (the SML CNAME route needs port 80)." },
	{ RL_CFG_SMP_KEY, "smp", "key", RL_CFG_FILE, "", 0, 0,
	  "PEM private key that signs the SMP's answers (an SMP certificate's key)." },
	{ RL_CFG_SMP_CERT, "smp", "cert", RL_CFG_FILE, "", 0, 0,
	  "PEM SMP certificate (issued by the SMP CA) for smp.key." },
	{ RL_CFG_SMP_KEYSTORE, "smp", "keystore", RL_CFG_FILE, "", 0, 0,
	  "PKCS#12 keystore with the SMP key and certificate, instead of smp.key and smp.cert." },
	{ RL_CFG_SMP_PASSWORD, "smp", "password", RL_CFG_STRING, "", 0, 0,
	  "Password of smp.keystore (or of an encrypted smp.key)." },
	{ RL_CFG_SMP_ENDPOINT_URL, "smp", "endpoint_url", RL_CFG_URL, "", 0, 0,
	  "The AS4 endpoint URL the SMP publishes for every hosted participant." },
	{ RL_CFG_SMP_ENDPOINT_CERT, "smp", "endpoint_cert", RL_CFG_FILE, "", 0, 0,
	  "PEM certificate published with the endpoint; empty = identity.cert." },
	{ RL_CFG_SMP_BASE_URL, "smp", "base_url", RL_CFG_URL, "", 0, 0,
	  "Base URL of the ServiceGroup references; empty = http:// and the Host header of the request." },
	{ RL_CFG_RELAY_ROUTES, "relay", "routes", RL_CFG_FILE, "", 0, 0,
	  "Relay routes: lines 'RECEIVER DOCTYPE SYNTAX [CHANNEL]' choosing the syntax (ubl, cii, keep) a receiver gets." },
	{ RL_CFG_RELAY_SENDER, "relay", "sender", RL_CFG_STRING, "", 0, 0,
	  "Participant id (ICD:value) an outbox invoice is sent for when it names no seller endpoint (BT-34)." },
	{ RL_CFG_REPORTING_C4_COUNTRY, "reporting", "c4_country", RL_CFG_STRING, "", 0, 0,
	  "Country (ISO 3166 alpha-2) of the end users we receive for (C4), for the Peppol reports; empty = ZZ (unknown) in the TSR, and no EUSR of a month with received messages." },
	{ RL_CFG_RETENTION_KEEP, "retention", "keep", RL_CFG_DURATION, "0", 0, 36500 * DAY,
	  "How long finished messages and their evidence are kept before relais serve removes them (hourly); 0 = forever. Peppol and national rules may require years." },
	{ RL_CFG_MLS_SEND, "mls", "send", RL_CFG_BOOL, "on", 0, 0,
	  "Send the Peppol Message Level Status to the sender's access point: RE when a delivery fails for good, AB when an SBDH asks for it." },
};

struct config_problem {
	int line;		/* LINE_SET, LINE_DEFAULT (no line) or a line of the file */
	char *text;		/* "section.key: what is wrong" */
};

struct rl_config {
	char *path;				/* the file loaded, or NULL */
	char *values[RL_CFG_NKEYS];
	int lines[RL_CFG_NKEYS];		/* LINE_DEFAULT, LINE_SET or the file line */
	struct config_problem *problems;
	size_t nproblems, problems_cap;
	int nomem;				/* an allocation failed while recording */
};

const struct rl_config_key_info *rl_config_key_table(void)
{
	return key_table;
}

static const struct rl_config_key_info *find_key(const char *section, size_t section_len, const char *name)
{
	for (size_t i = 0; i < RL_CFG_NKEYS; i++)
		if (strlen(key_table[i].section) == section_len &&
		    strncmp(key_table[i].section, section, section_len) == 0 &&
		    strcmp(key_table[i].name, name) == 0)
			return &key_table[i];
	return NULL;
}

static int section_known(const char *section, size_t len)
{
	for (size_t i = 0; i < RL_CFG_NKEYS; i++)
		if (strlen(key_table[i].section) == len && strncmp(key_table[i].section, section, len) == 0)
			return 1;
	return 0;
}

const struct rl_config_key_info *rl_config_key_find(const char *dotted_name)
{
	const char *dot = strchr(dotted_name, '.');

	if (dot == NULL)
		return NULL;
	return find_key(dotted_name, (size_t)(dot - dotted_name), dot + 1);
}

static const char *origin_of_line(const struct rl_config *cfg, int line)
{
	if (line == LINE_SET)
		return "--set";
	return cfg->path ? cfg->path : "(defaults)";
}

static void add_problem(struct rl_config *cfg, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_problem(struct rl_config *cfg, int line, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (cfg->nproblems == cfg->problems_cap) {
		size_t cap = cfg->problems_cap ? cfg->problems_cap * 2 : 8;
		struct config_problem *p = realloc(cfg->problems, cap * sizeof(*p));

		if (p == NULL) {
			cfg->nomem = 1;
			return;
		}
		cfg->problems = p;
		cfg->problems_cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cfg->problems[cfg->nproblems].text = strdup(text);
	if (cfg->problems[cfg->nproblems].text == NULL) {
		cfg->nomem = 1;
		return;
	}
	cfg->problems[cfg->nproblems].line = line;
	cfg->nproblems++;
}

static void clear_problems(struct rl_config *cfg)
{
	for (size_t i = 0; i < cfg->nproblems; i++)
		free(cfg->problems[i].text);
	cfg->nproblems = 0;
}

static int set_value(struct rl_config *cfg, enum rl_config_key key, const char *value, int line)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(cfg->values[key]);
	cfg->values[key] = copy;
	cfg->lines[key] = line;
	return 0;
}

struct rl_config *rl_config_new(struct rl_err *err)
{
	struct rl_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "configuration: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < RL_CFG_NKEYS; i++) {
		if (set_value(cfg, key_table[i].key, key_table[i].default_value, LINE_DEFAULT) < 0) {
			rl_config_free(cfg);
			rl_err_set(err, RL_ERR_NOMEM, "configuration: out of memory");
			return NULL;
		}
	}
	return cfg;
}

void rl_config_free(struct rl_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < RL_CFG_NKEYS; i++)
		free(cfg->values[i]);
	clear_problems(cfg);
	free(cfg->problems);
	free(cfg->path);
	free(cfg);
}

/* --- loading ---------------------------------------------------------------------------------- */

/* State shared by the line reader (which counts lines and checks syntax) and the key handler. */
struct load_state {
	struct rl_config *cfg;
	FILE *fp;
	int line;			/* number of the line being parsed */
	int at_line_start;		/* the previous chunk ended with a newline */
	int section_unknown;		/* the current [section] was reported as unknown */
	int failed;			/* out of memory */
};

/* Checks one whole line for what inih would silently ignore or mis-parse: reports bad syntax and
 * unknown sections with their line numbers. */
static void check_line_syntax(struct load_state *st, const char *chunk)
{
	const char *s = chunk, *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '\n' || *s == '\r' || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		end = strchr(s, ']');
		if (end == NULL) {
			add_problem(st->cfg, st->line, "syntax error: '[' without ']'");
			return;
		}
		st->section_unknown = !section_known(s + 1, (size_t)(end - s - 1));
		if (st->section_unknown)
			add_problem(st->cfg, st->line, "%.*s: unknown section", (int)(end - s - 1), s + 1);
		return;
	}
	if (strchr(s, '=') == NULL && strchr(s, ':') == NULL)
		add_problem(st->cfg, st->line, "syntax error: expected [section] or key = value");
}

static char *read_counted_line(char *str, int num, void *stream)
{
	struct load_state *st = stream;
	char *got = fgets(str, num, st->fp);
	size_t len;

	if (got == NULL)
		return NULL;
	len = strlen(got);
	if (st->at_line_start) {
		st->line++;
		check_line_syntax(st, got);
		/* inih cannot take longer lines: a value would be cut short without a word. */
		if ((len == 0 || got[len - 1] != '\n') && !feof(st->fp))
			add_problem(st->cfg, st->line, "line too long (at most %d characters)", num - 2);
	}
	st->at_line_start = len > 0 && got[len - 1] == '\n';
	return got;
}

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	const struct rl_config_key_info *info;

	if (st->section_unknown)
		return 1;	/* already reported once for the section */
	if (section[0] == '\0') {
		add_problem(st->cfg, st->line, "%s: key outside of any [section]", name);
		return 1;
	}
	info = find_key(section, strlen(section), name);
	if (info == NULL) {
		add_problem(st->cfg, st->line, "%s.%s: unknown key", section, name);
		return 1;
	}
	if (st->cfg->lines[info->key] > 0)
		add_problem(st->cfg, st->line, "%s.%s: set again (first on line %d)", section, name,
			    st->cfg->lines[info->key]);
	if (set_value(st->cfg, info->key, value, st->line) < 0)
		st->failed = 1;
	return 1;
}

int rl_config_load_file(struct rl_config *cfg, const char *path, struct rl_err *err)
{
	struct load_state st = { .cfg = cfg, .at_line_start = 1 };
	int rc;

	st.fp = fopen(path, "r");
	if (st.fp == NULL)
		return rl_err_set(err, RL_ERR_CONFIG, "%s: %s", path, strerror(errno));
	free(cfg->path);
	cfg->path = strdup(path);
	if (cfg->path == NULL) {
		fclose(st.fp);
		return rl_err_set(err, RL_ERR_NOMEM, "configuration: out of memory");
	}
	rc = ini_parse_stream(read_counted_line, &st, handle_key, &st);
	if (ferror(st.fp)) {
		fclose(st.fp);
		return rl_err_set(err, RL_ERR_IO, "%s: read error", path);
	}
	fclose(st.fp);
	if (rc == -2 || st.failed || cfg->nomem)
		return rl_err_set(err, RL_ERR_NOMEM, "%s: out of memory", path);
	return 0;
}

int rl_config_set(struct rl_config *cfg, const char *assignment, struct rl_err *err)
{
	const char *eq = strchr(assignment, '=');
	const struct rl_config_key_info *info;
	char name[128];
	size_t len;

	if (eq == NULL)
		return rl_err_set(err, RL_ERR_USAGE, "--set %s: expected section.key=value", assignment);
	len = (size_t)(eq - assignment);
	while (len > 0 && isspace((unsigned char)assignment[len - 1]))
		len--;
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, assignment, len);
	name[len] = '\0';
	eq++;
	while (isspace((unsigned char)*eq))
		eq++;
	info = rl_config_key_find(name);
	if (info == NULL) {
		add_problem(cfg, LINE_SET, "%s: unknown key", name);
		return cfg->nomem ? rl_err_set(err, RL_ERR_NOMEM, "configuration: out of memory") : 0;
	}
	if (set_value(cfg, info->key, eq, LINE_SET) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "configuration: out of memory");
	return 0;
}

/* --- value parsers ---------------------------------------------------------------------------- */

int rl_config_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* A decimal number followed by an optional suffix; the suffix is returned in *rest. */
static int parse_number_prefix(const char *s, long long *out, const char **rest)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	*out = v;
	*rest = end;
	return 0;
}

int rl_config_parse_int(const char *s, long long *out)
{
	const char *rest;
	int negative = 0;

	if (*s == '-') {
		negative = 1;
		s++;
	}
	if (parse_number_prefix(s, out, &rest) < 0 || *rest != '\0')
		return -1;
	if (negative)
		*out = -*out;
	return 0;
}

static int scale(long long v, long long unit, long long *out)
{
	if (v > LLONG_MAX / unit)
		return -1;
	*out = v * unit;
	return 0;
}

int rl_config_parse_duration(const char *s, long long *seconds)
{
	const char *rest;
	long long v, unit;

	if (parse_number_prefix(s, &v, &rest) < 0)
		return -1;
	if (strcmp(rest, "") == 0 || strcmp(rest, "s") == 0)
		unit = 1;
	else if (strcmp(rest, "m") == 0)
		unit = MINUTE;
	else if (strcmp(rest, "h") == 0)
		unit = HOUR;
	else if (strcmp(rest, "d") == 0)
		unit = DAY;
	else
		return -1;
	return scale(v, unit, seconds);
}

int rl_config_parse_size(const char *s, uint64_t *bytes)
{
	const char *rest;
	long long v, unit, total;

	if (parse_number_prefix(s, &v, &rest) < 0)
		return -1;
	switch (toupper((unsigned char)*rest)) {
	case '\0': unit = 1; break;
	case 'K': unit = KIB; break;
	case 'M': unit = MIB; break;
	case 'G': unit = GIB; break;
	case 'T': unit = 1024LL * GIB; break;
	default: return -1;
	}
	if (*rest != '\0') {
		rest++;
		if (*rest == 'B' || *rest == 'b')
			rest++;
		if (*rest != '\0')
			return -1;
	}
	if (scale(v, unit, &total) < 0)
		return -1;
	*bytes = (uint64_t)total;
	return 0;
}

static int valid_hostname(const char *s, size_t len)
{
	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return 0;
	return s[0] != '.' && s[0] != '-';
}

int rl_config_parse_hostport(const char *s, char *host, size_t host_size, unsigned *port)
{
	const char *host_start = s, *host_end, *colon;
	long long p;

	if (*s == '[') {
		host_start = s + 1;
		host_end = strchr(host_start, ']');
		if (host_end == NULL || host_end[1] != ':')
			return -1;
		colon = host_end + 1;
		for (const char *c = host_start; c < host_end; c++)
			if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
				return -1;
		if (host_end == host_start)
			return -1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		host_end = colon;
		if (!valid_hostname(host_start, (size_t)(host_end - host_start)))
			return -1;
	}
	if (rl_config_parse_int(colon + 1, &p) < 0 || colon[1] == '-' || p < 1 || p > 65535)
		return -1;
	if (host != NULL) {
		size_t len = (size_t)(host_end - host_start);

		if (len >= host_size)
			return -1;
		memcpy(host, host_start, len);
		host[len] = '\0';
	}
	if (port != NULL)
		*port = (unsigned)p;
	return 0;
}

/* --- validation ------------------------------------------------------------------------------- */

static void key_problem(struct rl_config *cfg, enum rl_config_key key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void key_problem(struct rl_config *cfg, enum rl_config_key key, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	add_problem(cfg, cfg->lines[key], "%s.%s: %s", key_table[key].section, key_table[key].name, what);
}

static void describe_range(const struct rl_config_key_info *info, char *buf, size_t size)
{
	if (info->type == RL_CFG_DURATION)
		snprintf(buf, size, "%llds..%llds", info->min, info->max);
	else
		snprintf(buf, size, "%lld..%lld", info->min, info->max);
}

static void check_value(struct rl_config *cfg, const struct rl_config_key_info *info, enum rl_config_mode mode)
{
	const char *v = cfg->values[info->key];
	char range[64];
	long long n;
	uint64_t bytes;
	int b;
	struct stat st;

	switch (info->type) {
	case RL_CFG_STRING:
		break;
	case RL_CFG_BOOL:
		if (rl_config_parse_bool(v, &b) < 0)
			key_problem(cfg, info->key, "'%s' is not a boolean (on/off, yes/no, true/false, 1/0)", v);
		break;
	case RL_CFG_INT:
		describe_range(info, range, sizeof(range));
		if (rl_config_parse_int(v, &n) < 0)
			key_problem(cfg, info->key, "'%s' is not an integer", v);
		else if (n < info->min || n > info->max)
			key_problem(cfg, info->key, "%s is out of range %s", v, range);
		break;
	case RL_CFG_DURATION:
		describe_range(info, range, sizeof(range));
		if (rl_config_parse_duration(v, &n) < 0)
			key_problem(cfg, info->key, "'%s' is not a duration (like 30s, 5m, 1h, 2d)", v);
		else if (n < info->min || n > info->max)
			key_problem(cfg, info->key, "%s is out of range %s", v, range);
		break;
	case RL_CFG_SIZE:
		if (rl_config_parse_size(v, &bytes) < 0)
			key_problem(cfg, info->key, "'%s' is not a size (like 512K, 10M, 1G)", v);
		else if ((long long)bytes < info->min || (long long)bytes > info->max)
			key_problem(cfg, info->key, "%s is out of range %lld..%lld bytes", v, info->min, info->max);
		break;
	case RL_CFG_HOSTPORT:
		if (v[0] != '\0' && rl_config_parse_hostport(v, NULL, 0, NULL) < 0)
			key_problem(cfg, info->key, "'%s' is not host:port (port 1..65535)", v);
		break;
	case RL_CFG_HOSTNAME:
		if (!valid_hostname(v, strlen(v)))
			key_problem(cfg, info->key, "'%s' is not a DNS name", v);
		break;
	case RL_CFG_FILE:
		if (v[0] == '\0')
			break;
		if (stat(v, &st) < 0)
			key_problem(cfg, info->key, "%s: %s", v, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			key_problem(cfg, info->key, "%s: not a regular file", v);
		else if (access(v, R_OK) < 0)
			key_problem(cfg, info->key, "%s: not readable: %s", v, strerror(errno));
		break;
	case RL_CFG_DIR:
		if (v[0] == '\0' || (cfg->lines[info->key] == LINE_DEFAULT && mode != RL_CFG_MODE_SERVE))
			break;
		if (stat(v, &st) < 0)
			key_problem(cfg, info->key, "%s: %s", v, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			key_problem(cfg, info->key, "%s: not a directory", v);
		break;
	case RL_CFG_URL:
		if (v[0] != '\0' && !((strncmp(v, "http://", 7) == 0 && v[7] != '\0') ||
				      (strncmp(v, "https://", 8) == 0 && v[8] != '\0')))
			key_problem(cfg, info->key, "'%s' is not an http:// or https:// URL", v);
		break;
	case RL_CFG_DBURL:
		if (strcmp(v, "auto") != 0 && strncmp(v, "postgresql://", 13) != 0 &&
		    strncmp(v, "postgres://", 11) != 0)
			key_problem(cfg, info->key, "'%s' is neither auto nor a postgresql:// URL", v);
		break;
	case RL_CFG_LOGLEVEL:
		if (strcmp(v, "error") != 0 && strcmp(v, "warn") != 0 && strcmp(v, "info") != 0 &&
		    strcmp(v, "debug") != 0)
			key_problem(cfg, info->key, "'%s' is not one of error, warn, info, debug", v);
		break;
	}
}

static int is_set(const struct rl_config *cfg, enum rl_config_key key)
{
	return cfg->values[key][0] != '\0';
}

/* A country key, when set: two capital letters (ISO 3166 alpha-2; ZZ for unknown). */
static void check_country(struct rl_config *cfg, enum rl_config_key key)
{
	const char *v = cfg->values[key];

	if (is_set(cfg, key) && !rl_country_code_valid(v))
		key_problem(cfg, key, "'%s' is not a two-letter country code (ISO 3166 alpha-2)", v);
}

/* The second identity of a key rollover: the same rules as the first, and a valid switch time. */
static void check_identity_next(struct rl_config *cfg)
{
	int has_pair = is_set(cfg, RL_CFG_IDENTITY_NEXT_KEY) || is_set(cfg, RL_CFG_IDENTITY_NEXT_CERT);
	int has_store = is_set(cfg, RL_CFG_IDENTITY_NEXT_KEYSTORE);

	if (has_pair && has_store)
		key_problem(cfg, RL_CFG_IDENTITY_NEXT_KEYSTORE, "set either identity.next_keystore or "
			    "identity.next_key and identity.next_cert, not both");
	if (is_set(cfg, RL_CFG_IDENTITY_NEXT_KEY) && !is_set(cfg, RL_CFG_IDENTITY_NEXT_CERT))
		key_problem(cfg, RL_CFG_IDENTITY_NEXT_CERT, "required with identity.next_key");
	if (is_set(cfg, RL_CFG_IDENTITY_NEXT_CERT) && !is_set(cfg, RL_CFG_IDENTITY_NEXT_KEY))
		key_problem(cfg, RL_CFG_IDENTITY_NEXT_KEY, "required with identity.next_cert");
	if (is_set(cfg, RL_CFG_IDENTITY_NEXT_PASSWORD) && !has_store)
		key_problem(cfg, RL_CFG_IDENTITY_NEXT_PASSWORD, "set without identity.next_keystore");
	if (is_set(cfg, RL_CFG_IDENTITY_SWITCH_AT)) {
		if (rl_parse_datetime(cfg->values[RL_CFG_IDENTITY_SWITCH_AT]) == (time_t)-1)
			key_problem(cfg, RL_CFG_IDENTITY_SWITCH_AT, "'%s' is not a date-time like "
				    "2026-03-01T00:00:00Z", cfg->values[RL_CFG_IDENTITY_SWITCH_AT]);
		if (!has_pair && !has_store)
			key_problem(cfg, RL_CFG_IDENTITY_SWITCH_AT, "set without a second identity "
				    "(identity.next_keystore or identity.next_key and identity.next_cert)");
	}
}

static void check_trust_revocation(struct rl_config *cfg)
{
	const char *policy = cfg->values[RL_CFG_TRUST_REVOCATION];
	char *list = strdup(cfg->values[RL_CFG_TRUST_CRLS]), *save = NULL;
	struct stat st;

	if (strcmp(policy, "hard") != 0 && strcmp(policy, "soft") != 0 && strcmp(policy, "off") != 0)
		key_problem(cfg, RL_CFG_TRUST_REVOCATION, "'%s' is not one of hard, soft, off", policy);
	if (list == NULL) {
		cfg->nomem = 1;
		return;
	}
	for (char *path = strtok_r(list, " ,\t", &save); path; path = strtok_r(NULL, " ,\t", &save)) {
		if (stat(path, &st) < 0)
			key_problem(cfg, RL_CFG_TRUST_CRLS, "%s: %s", path, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			key_problem(cfg, RL_CFG_TRUST_CRLS, "%s: not a regular file", path);
		else if (access(path, R_OK) < 0)
			key_problem(cfg, RL_CFG_TRUST_CRLS, "%s: not readable: %s", path, strerror(errno));
	}
	free(list);
}

static void check_rules(struct rl_config *cfg, enum rl_config_mode mode)
{
	int has_pair = is_set(cfg, RL_CFG_IDENTITY_KEY) || is_set(cfg, RL_CFG_IDENTITY_CERT);
	int has_store = is_set(cfg, RL_CFG_IDENTITY_KEYSTORE);
	long long initial, longest;
	int tls;

	if (has_pair && has_store)
		key_problem(cfg, RL_CFG_IDENTITY_KEYSTORE, "set either identity.keystore or identity.key and "
			    "identity.cert, not both");
	if (is_set(cfg, RL_CFG_IDENTITY_KEY) && !is_set(cfg, RL_CFG_IDENTITY_CERT))
		key_problem(cfg, RL_CFG_IDENTITY_CERT, "required with identity.key");
	if (is_set(cfg, RL_CFG_IDENTITY_CERT) && !is_set(cfg, RL_CFG_IDENTITY_KEY))
		key_problem(cfg, RL_CFG_IDENTITY_KEY, "required with identity.cert");
	if (is_set(cfg, RL_CFG_IDENTITY_PASSWORD) && !has_store)
		key_problem(cfg, RL_CFG_IDENTITY_PASSWORD, "set without identity.keystore");
	check_identity_next(cfg);
	check_trust_revocation(cfg);
	if (rl_config_parse_duration(cfg->values[RL_CFG_RETRY_INITIAL_DELAY], &initial) == 0 &&
	    rl_config_parse_duration(cfg->values[RL_CFG_RETRY_MAX_DELAY], &longest) == 0 && initial > longest)
		key_problem(cfg, RL_CFG_RETRY_MAX_DELAY, "shorter than retry.initial_delay");
	if (is_set(cfg, RL_CFG_API_TOKEN) && strlen(cfg->values[RL_CFG_API_TOKEN]) < API_TOKEN_MIN)
		key_problem(cfg, RL_CFG_API_TOKEN, "too short to be a secret (at least %d characters)", API_TOKEN_MIN);
	if (is_set(cfg, RL_CFG_RELAY_ROUTES) && access(cfg->values[RL_CFG_RELAY_ROUTES], R_OK) == 0) {
		struct rl_err rerr;
		struct rl_relay_table *relay = rl_relay_load(cfg->values[RL_CFG_RELAY_ROUTES], &rerr);

		if (relay == NULL)
			key_problem(cfg, RL_CFG_RELAY_ROUTES, "%s", rerr.msg);
		rl_relay_free(relay);
	}
	if (is_set(cfg, RL_CFG_RELAY_SENDER)) {
		const char *v = cfg->values[RL_CFG_RELAY_SENDER], *id = strstr(v, "::") ? strstr(v, "::") + 2 : v;

		if (!rl_participant_value_shaped(id))
			key_problem(cfg, RL_CFG_RELAY_SENDER, "'%s' is not a participant id ICD:value", v);
	}
	check_country(cfg, RL_CFG_IDENTITY_COUNTRY);
	check_country(cfg, RL_CFG_REPORTING_C4_COUNTRY);
	if (mode != RL_CFG_MODE_SERVE)
		return;
	if (!has_pair && !has_store)
		key_problem(cfg, RL_CFG_IDENTITY_KEYSTORE, "serve needs identity.keystore or identity.key and "
			    "identity.cert");
	if (!is_set(cfg, RL_CFG_IDENTITY_PARTY_ID))
		key_problem(cfg, RL_CFG_IDENTITY_PARTY_ID, "required by serve");
	if (!is_set(cfg, RL_CFG_TRUST_ANCHORS))
		key_problem(cfg, RL_CFG_TRUST_ANCHORS, "required by serve");
	if (rl_config_parse_bool(cfg->values[RL_CFG_SERVER_TLS], &tls) == 0 && tls) {
		if (!is_set(cfg, RL_CFG_SERVER_TLS_KEY))
			key_problem(cfg, RL_CFG_SERVER_TLS_KEY, "required when server.tls is on");
		if (!is_set(cfg, RL_CFG_SERVER_TLS_CERT))
			key_problem(cfg, RL_CFG_SERVER_TLS_CERT, "required when server.tls is on");
	}
	if (!is_set(cfg, RL_CFG_SERVER_LISTEN))
		key_problem(cfg, RL_CFG_SERVER_LISTEN, "required by serve");
}

/* Sort rank of a problem: file lines in order, then problems without a line, then --set ones. */
static long problem_rank(const struct config_problem *p)
{
	if (p->line > 0)
		return p->line;
	return p->line == LINE_DEFAULT ? (long)INT_MAX + 1 : (long)INT_MAX + 2;
}

/* Stable insertion sort so that problems read in file order. */
static void sort_problems(struct rl_config *cfg)
{
	for (size_t i = 1; i < cfg->nproblems; i++) {
		struct config_problem moving = cfg->problems[i];
		size_t j = i;

		while (j > 0 && problem_rank(&cfg->problems[j - 1]) > problem_rank(&moving)) {
			cfg->problems[j] = cfg->problems[j - 1];
			j--;
		}
		cfg->problems[j] = moving;
	}
}

size_t rl_config_validate(struct rl_config *cfg, enum rl_config_mode mode)
{
	for (size_t i = 0; i < RL_CFG_NKEYS; i++)
		check_value(cfg, &key_table[i], mode);
	check_rules(cfg, mode);
	sort_problems(cfg);
	return cfg->nproblems;
}

size_t rl_config_problem_count(const struct rl_config *cfg)
{
	return cfg->nproblems;
}

int rl_config_problem_line(const struct rl_config *cfg, size_t index)
{
	if (index >= cfg->nproblems || cfg->problems[index].line < 0)
		return 0;
	return cfg->problems[index].line;
}

const char *rl_config_problem_format(const struct rl_config *cfg, size_t index, char *buf, size_t size)
{
	const struct config_problem *p;

	if (size == 0)
		return buf;
	if (index >= cfg->nproblems) {
		buf[0] = '\0';
		return buf;
	}
	p = &cfg->problems[index];
	if (p->line > 0)
		snprintf(buf, size, "%s:%d: %s", origin_of_line(cfg, p->line), p->line, p->text);
	else
		snprintf(buf, size, "%s: %s", origin_of_line(cfg, p->line), p->text);
	return buf;
}

/* --- accessors -------------------------------------------------------------------------------- */

const char *rl_config_str(const struct rl_config *cfg, enum rl_config_key key)
{
	if ((size_t)key >= RL_CFG_NKEYS)
		return "";
	return cfg->values[key];
}

int rl_config_line(const struct rl_config *cfg, enum rl_config_key key)
{
	return (size_t)key < RL_CFG_NKEYS ? cfg->lines[key] : LINE_DEFAULT;
}

int rl_config_bool(const struct rl_config *cfg, enum rl_config_key key)
{
	int b = 0;

	if (rl_config_parse_bool(rl_config_str(cfg, key), &b) < 0 && (size_t)key < RL_CFG_NKEYS)
		rl_config_parse_bool(key_table[key].default_value, &b);
	return b;
}

long long rl_config_int(const struct rl_config *cfg, enum rl_config_key key)
{
	long long n = 0;

	if (rl_config_parse_int(rl_config_str(cfg, key), &n) < 0 && (size_t)key < RL_CFG_NKEYS)
		rl_config_parse_int(key_table[key].default_value, &n);
	return n;
}

long long rl_config_duration_seconds(const struct rl_config *cfg, enum rl_config_key key)
{
	long long n = 0;

	if (rl_config_parse_duration(rl_config_str(cfg, key), &n) < 0 && (size_t)key < RL_CFG_NKEYS)
		rl_config_parse_duration(key_table[key].default_value, &n);
	return n;
}

uint64_t rl_config_size_bytes(const struct rl_config *cfg, enum rl_config_key key)
{
	uint64_t n = 0;

	if (rl_config_parse_size(rl_config_str(cfg, key), &n) < 0 && (size_t)key < RL_CFG_NKEYS)
		rl_config_parse_size(key_table[key].default_value, &n);
	return n;
}

int rl_config_hostport(const struct rl_config *cfg, enum rl_config_key key,
		       char *host, size_t host_size, unsigned *port)
{
	return rl_config_parse_hostport(rl_config_str(cfg, key), host, host_size, port);
}

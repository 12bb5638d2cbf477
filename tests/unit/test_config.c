/* test_config.c - unit tests for the configuration: defaults, INI parsing, --set, value types, validation. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "relais/config.h"

/* Writes text to a fresh temporary file; the caller unlinks and frees the returned path. */
static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/test_config.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static struct rl_config *load_text(const char *text, char **path_out)
{
	struct rl_err err;
	struct rl_config *cfg = rl_config_new(&err);
	char *path = write_temp(text);

	assert_non_null(cfg);
	assert_int_equal(rl_config_load_file(cfg, path, &err), 0);
	*path_out = path;
	return cfg;
}

static void done(struct rl_config *cfg, char *path)
{
	rl_config_free(cfg);
	if (path != NULL) {
		unlink(path);
		free(path);
	}
}

/* True when some problem, formatted, contains every one of the given fragments. */
static int has_problem(const struct rl_config *cfg, const char *a, const char *b)
{
	char line[1024];

	for (size_t i = 0; i < rl_config_problem_count(cfg); i++) {
		rl_config_problem_format(cfg, i, line, sizeof(line));
		if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL))
			return 1;
	}
	return 0;
}

static void test_table_is_complete(void **state)
{
	const struct rl_config_key_info *t = rl_config_key_table();
	static const char *const required[] = {
		"identity.key", "identity.cert", "identity.keystore", "identity.password", "identity.party_id",
		"trust.anchors", "trust.smp_anchors", "trust.tls_anchors", "server.listen", "server.tls", "server.tls_key",
		"server.tls_cert", "database.url", "state.dir", "delivery.inbox", "delivery.webhook",
		"submission.outbox", "api.token", "limits.max_body", "limits.max_connections",
		"limits.request_timeout", "retry.max_attempts", "retry.initial_delay", "retry.max_delay",
		"log.level", "log.file", "discovery.sml_zone", "discovery.dns",
	};

	for (size_t i = 0; i < RL_CFG_NKEYS; i++) {
		assert_int_equal(t[i].key, i);
		assert_non_null(t[i].description);
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		assert_non_null(rl_config_key_find(required[i]));
	assert_null(rl_config_key_find("server.nope"));
	assert_null(rl_config_key_find("nodot"));
}

static void test_defaults(void **state)
{
	struct rl_err err;
	struct rl_config *cfg = rl_config_new(&err);
	char host[64];
	unsigned port = 0;

	assert_non_null(cfg);
	assert_string_equal(rl_config_str(cfg, RL_CFG_SERVER_LISTEN), "127.0.0.1:8443");
	assert_int_equal(rl_config_hostport(cfg, RL_CFG_SERVER_LISTEN, host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8443);
	assert_true(rl_config_bool(cfg, RL_CFG_SERVER_TLS));
	assert_string_equal(rl_config_str(cfg, RL_CFG_DATABASE_URL), "auto");
	assert_int_equal(rl_config_size_bytes(cfg, RL_CFG_LIMITS_MAX_BODY), 100ULL * 1024 * 1024);
	assert_string_equal(rl_config_str(cfg, RL_CFG_DISCOVERY_SML_ZONE), "participant.sml.prod.tech.peppol.org");
	assert_string_equal(rl_config_str(cfg, RL_CFG_DISCOVERY_DNS), "");
	assert_int_equal(rl_config_line(cfg, RL_CFG_SERVER_LISTEN), 0);
	/* The defaults are valid on their own for a plain check. */
	assert_int_equal(rl_config_validate(cfg, RL_CFG_MODE_CHECK), 0);
	rl_config_free(cfg);
}

static void test_parse_file_and_overrides(void **state)
{
	char *path;
	struct rl_err err;
	struct rl_config *cfg = load_text("; comment\n"
					  "# another\n"
					  "[server]\n"
					  "listen = 0.0.0.0:9443\n"
					  "tls = off ; inline comment\n"
					  "\n"
					  "[retry]\n"
					  "max_attempts = 5\n"
					  "initial_delay = 5m\n", &path);

	assert_string_equal(rl_config_str(cfg, RL_CFG_SERVER_LISTEN), "0.0.0.0:9443");
	assert_int_equal(rl_config_line(cfg, RL_CFG_SERVER_LISTEN), 4);
	assert_false(rl_config_bool(cfg, RL_CFG_SERVER_TLS));
	assert_int_equal(rl_config_int(cfg, RL_CFG_RETRY_MAX_ATTEMPTS), 5);
	assert_int_equal(rl_config_line(cfg, RL_CFG_RETRY_MAX_ATTEMPTS), 8);
	assert_int_equal(rl_config_duration_seconds(cfg, RL_CFG_RETRY_INITIAL_DELAY), 300);

	/* --set applies over the file. */
	assert_int_equal(rl_config_set(cfg, "retry.max_attempts=7", &err), 0);
	assert_int_equal(rl_config_set(cfg, "log.level = debug", &err), 0);
	assert_int_equal(rl_config_int(cfg, RL_CFG_RETRY_MAX_ATTEMPTS), 7);
	assert_int_equal(rl_config_line(cfg, RL_CFG_RETRY_MAX_ATTEMPTS), -1);
	assert_string_equal(rl_config_str(cfg, RL_CFG_LOG_LEVEL), "debug");
	assert_int_equal(rl_config_set(cfg, "no-equals-sign", &err), -1);
	assert_int_equal(err.code, RL_ERR_USAGE);
	assert_int_equal(rl_config_validate(cfg, RL_CFG_MODE_CHECK), 0);
	done(cfg, path);

	/* A key set twice in the file, and a token too short. */
	cfg = load_text("[log]\nlevel = info\nlevel = debug\n[api]\ntoken = short\n", &path);
	assert_string_equal(rl_config_str(cfg, RL_CFG_LOG_LEVEL), "debug");
	assert_int_equal(rl_config_validate(cfg, RL_CFG_MODE_CHECK), 2);
	assert_true(has_problem(cfg, ":3: log.level: set again (first on line 2)", NULL));
	assert_true(has_problem(cfg, ":5: api.token: too short", NULL));
	done(cfg, path);
}

static void test_long_line(void **state)
{
	char text[1024], *path;
	struct rl_config *cfg;

	snprintf(text, sizeof(text), "[database]\nurl = postgresql://%0400d\n[log]\nlevel = info\n", 0);
	cfg = load_text(text, &path);
	rl_config_validate(cfg, RL_CFG_MODE_CHECK);
	assert_true(has_problem(cfg, ":2: line too long", NULL));
	assert_int_equal(rl_config_problem_count(cfg), 1);
	done(cfg, path);
}

static void test_missing_file(void **state)
{
	struct rl_err err;
	struct rl_config *cfg = rl_config_new(&err);

	assert_int_equal(rl_config_load_file(cfg, "/nonexistent/relais.conf", &err), -1);
	assert_int_equal(err.code, RL_ERR_CONFIG);
	rl_config_free(cfg);
}

static void test_value_parsers(void **state)
{
	int b;
	long long n;
	uint64_t bytes;
	char host[64];
	unsigned port;

	for (const char *const *s = (const char *const[]){ "on", "YES", "true", "1", NULL }; *s; s++) {
		assert_int_equal(rl_config_parse_bool(*s, &b), 0);
		assert_true(b);
	}
	for (const char *const *s = (const char *const[]){ "off", "No", "false", "0", NULL }; *s; s++) {
		assert_int_equal(rl_config_parse_bool(*s, &b), 0);
		assert_false(b);
	}
	assert_int_equal(rl_config_parse_bool("maybe", &b), -1);
	assert_int_equal(rl_config_parse_bool("", &b), -1);

	assert_int_equal(rl_config_parse_int("42", &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(rl_config_parse_int("-3", &n), 0);
	assert_int_equal(n, -3);
	assert_int_equal(rl_config_parse_int("4x", &n), -1);
	assert_int_equal(rl_config_parse_int("", &n), -1);
	assert_int_equal(rl_config_parse_int("99999999999999999999999", &n), -1);

	assert_int_equal(rl_config_parse_duration("30s", &n), 0);
	assert_int_equal(n, 30);
	assert_int_equal(rl_config_parse_duration("5m", &n), 0);
	assert_int_equal(n, 300);
	assert_int_equal(rl_config_parse_duration("1h", &n), 0);
	assert_int_equal(n, 3600);
	assert_int_equal(rl_config_parse_duration("2d", &n), 0);
	assert_int_equal(n, 172800);
	assert_int_equal(rl_config_parse_duration("90", &n), 0);
	assert_int_equal(n, 90);
	assert_int_equal(rl_config_parse_duration("5 minutes", &n), -1);
	assert_int_equal(rl_config_parse_duration("-5s", &n), -1);
	assert_int_equal(rl_config_parse_duration("h", &n), -1);

	assert_int_equal(rl_config_parse_size("10M", &bytes), 0);
	assert_int_equal(bytes, 10ULL << 20);
	assert_int_equal(rl_config_parse_size("512k", &bytes), 0);
	assert_int_equal(bytes, 512ULL << 10);
	assert_int_equal(rl_config_parse_size("1GB", &bytes), 0);
	assert_int_equal(bytes, 1ULL << 30);
	assert_int_equal(rl_config_parse_size("123", &bytes), 0);
	assert_int_equal(bytes, 123);
	assert_int_equal(rl_config_parse_size("10Q", &bytes), -1);
	assert_int_equal(rl_config_parse_size("M", &bytes), -1);
	assert_int_equal(rl_config_parse_size("9999999999999T", &bytes), -1);

	assert_int_equal(rl_config_parse_hostport("example.org:53", host, sizeof(host), &port), 0);
	assert_string_equal(host, "example.org");
	assert_int_equal(port, 53);
	assert_int_equal(rl_config_parse_hostport("[::1]:8443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 8443);
	assert_int_equal(rl_config_parse_hostport("localhost", host, sizeof(host), &port), -1);
	assert_int_equal(rl_config_parse_hostport("localhost:0", host, sizeof(host), &port), -1);
	assert_int_equal(rl_config_parse_hostport("localhost:65536", host, sizeof(host), &port), -1);
	assert_int_equal(rl_config_parse_hostport(":80", host, sizeof(host), &port), -1);
	assert_int_equal(rl_config_parse_hostport("[::1]", host, sizeof(host), &port), -1);
}

static void test_all_errors_at_once(void **state)
{
	char *path;
	char line[1024];
	struct rl_err err;
	struct rl_config *cfg = load_text("[server]\n"			/* 1 */
					  "listen = nowhere\n"		/* 2 bad host:port */
					  "tls = perhaps\n"		/* 3 bad boolean */
					  "colour = blue\n"		/* 4 unknown key */
					  "[limits]\n"			/* 5 */
					  "max_body = 10X\n"		/* 6 bad size */
					  "max_connections = 0\n"	/* 7 out of range */
					  "request_timeout = soon\n"	/* 8 bad duration */
					  "[nosuch]\n"			/* 9 unknown section */
					  "a = b\n"			/* 10 not reported again */
					  "[log]\n"			/* 11 */
					  "level = loud\n"		/* 12 bad level */
					  "this line is wrong\n"	/* 13 syntax */
					  "[database]\n"		/* 14 */
					  "url = mysql://x\n"		/* 15 bad url */
					  "[delivery]\n"		/* 16 */
					  "webhook = ftp://x\n"		/* 17 bad url */
					  "inbox = /nonexistent/inbox\n"	/* 18 missing dir */
					  "[trust]\n"			/* 19 */
					  "anchors = /nonexistent/ca.pem\n"	/* 20 missing file */
					  "[retry]\n"			/* 21 */
					  "initial_delay = 2h\n"	/* 22 */
					  "max_delay = 1h\n", &path);	/* 23 shorter than initial */

	assert_int_equal(rl_config_set(cfg, "server.bogus=1", &err), 0);
	assert_int_equal(rl_config_set(cfg, "retry.max_attempts=many", &err), 0);
	rl_config_validate(cfg, RL_CFG_MODE_CHECK);
	for (size_t i = 0; i < rl_config_problem_count(cfg); i++)
		printf("# %s\n", rl_config_problem_format(cfg, i, line, sizeof(line)));
	assert_true(has_problem(cfg, ":2: server.listen:", "host:port"));
	assert_true(has_problem(cfg, ":3: server.tls:", "boolean"));
	assert_true(has_problem(cfg, ":4: server.colour: unknown key", NULL));
	assert_true(has_problem(cfg, ":6: limits.max_body:", "size"));
	assert_true(has_problem(cfg, ":7: limits.max_connections:", "out of range"));
	assert_true(has_problem(cfg, ":8: limits.request_timeout:", "duration"));
	assert_true(has_problem(cfg, ":9: nosuch: unknown section", NULL));
	assert_false(has_problem(cfg, ":10:", NULL));
	assert_true(has_problem(cfg, ":12: log.level:", "loud"));
	assert_true(has_problem(cfg, ":13: syntax error", NULL));
	assert_true(has_problem(cfg, ":15: database.url:", NULL));
	assert_true(has_problem(cfg, ":17: delivery.webhook:", NULL));
	assert_true(has_problem(cfg, ":18: delivery.inbox:", "/nonexistent/inbox"));
	assert_true(has_problem(cfg, ":20: trust.anchors:", "/nonexistent/ca.pem"));
	assert_true(has_problem(cfg, ":23: retry.max_delay:", "shorter"));
	assert_true(has_problem(cfg, "--set: server.bogus: unknown key", NULL));
	assert_true(has_problem(cfg, "--set: retry.max_attempts:", "integer"));
	assert_int_equal(rl_config_problem_count(cfg), 16);
	/* Sorted: file lines in order, then --set. */
	assert_int_equal(rl_config_problem_line(cfg, 0), 2);
	assert_int_equal(rl_config_problem_line(cfg, 1), 3);
	assert_int_equal(rl_config_problem_line(cfg, 13), 23);
	assert_int_equal(rl_config_problem_line(cfg, 15), 0);
	/* Accessors fall back to the default for values that do not parse. */
	assert_true(rl_config_bool(cfg, RL_CFG_SERVER_TLS));
	assert_int_equal(rl_config_int(cfg, RL_CFG_RETRY_MAX_ATTEMPTS), 10);
	done(cfg, path);
}

static void test_identity_rules(void **state)
{
	struct rl_err err;
	struct rl_config *cfg;
	char *file = write_temp("not really a key\n");
	char set[512];

	/* serve needs an identity, the party id, trust anchors and TLS files. */
	cfg = rl_config_new(&err);
	assert_int_equal(rl_config_set(cfg, "state.dir=/tmp", &err), 0);
	rl_config_validate(cfg, RL_CFG_MODE_SERVE);
	assert_true(has_problem(cfg, "identity.keystore:", "serve needs"));
	assert_true(has_problem(cfg, "identity.party_id:", NULL));
	assert_true(has_problem(cfg, "trust.anchors:", NULL));
	assert_true(has_problem(cfg, "server.tls_key:", NULL));
	assert_true(has_problem(cfg, "server.tls_cert:", NULL));
	assert_int_equal(rl_config_problem_count(cfg), 5);
	rl_config_free(cfg);

	/* keystore and key+cert together are refused; key without cert too. */
	cfg = rl_config_new(&err);
	snprintf(set, sizeof(set), "identity.keystore=%s", file);
	rl_config_set(cfg, set, &err);
	snprintf(set, sizeof(set), "identity.key=%s", file);
	rl_config_set(cfg, set, &err);
	rl_config_validate(cfg, RL_CFG_MODE_CHECK);
	assert_true(has_problem(cfg, "identity.keystore:", "not both"));
	assert_true(has_problem(cfg, "identity.cert:", "required with identity.key"));
	assert_int_equal(rl_config_problem_count(cfg), 2);
	rl_config_free(cfg);

	/* A complete serve configuration with a keystore. */
	cfg = rl_config_new(&err);
	snprintf(set, sizeof(set), "identity.keystore=%s", file);
	rl_config_set(cfg, set, &err);
	rl_config_set(cfg, "identity.password=secret", &err);
	rl_config_set(cfg, "identity.party_id=POP000001", &err);
	snprintf(set, sizeof(set), "trust.anchors=%s", file);
	rl_config_set(cfg, set, &err);
	rl_config_set(cfg, "server.tls=no", &err);
	rl_config_set(cfg, "state.dir=/tmp", &err);
	assert_int_equal(rl_config_validate(cfg, RL_CFG_MODE_SERVE), 0);
	rl_config_free(cfg);

	/* A password without a keystore is a mistake. */
	cfg = rl_config_new(&err);
	rl_config_set(cfg, "identity.password=secret", &err);
	assert_int_equal(rl_config_validate(cfg, RL_CFG_MODE_CHECK), 1);
	assert_true(has_problem(cfg, "identity.password:", "without identity.keystore"));
	rl_config_free(cfg);

	unlink(file);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_complete),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse_file_and_overrides),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_value_parsers),
		cmocka_unit_test(test_all_errors_at_once),
		cmocka_unit_test(test_identity_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_pgcluster.c - the embedded PostgreSQL cluster: initdb, start, stop, an already running cluster,
 * the /tmp socket directory for long state paths, and (run as root) PostgreSQL run as the postgres user.
 * tests/scripts/pgcluster.sh passes a fresh state directory in RELAIS_TEST_STATE_DIR and the server
 * programs' directory in PG_BINDIR; skipped (77) without them.
 */
#include "config.h"
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "relais/store.h"

static const char *base_dir;
static const char *pg_bindir;

/* A fresh state directory BASE/name (reachable by the postgres user). Caller frees. */
static char *state_dir(const char *name)
{
	size_t n = strlen(base_dir) + strlen(name) + 2;
	char *dir = malloc(n);

	snprintf(dir, n, "%s/%s", base_dir, name);
	assert_int_equal(mkdir(dir, 0755), 0);
	return dir;
}

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static char *first_line(const char *path)
{
	char line[4096];
	FILE *fp = fopen(path, "r");

	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

static int file_exists(const char *dir, const char *name)
{
	char *p = path_in(dir, name);
	int rc = access(p, F_OK) == 0;

	free(p);
	return rc;
}

/* Connects to the cluster, migrates, returns the schema version. */
static int migrate_through(const char *conninfo)
{
	struct rl_store *s = NULL;
	struct rl_err err = { 0 };
	int version = -1;

	if (rl_store_open(conninfo, &s, &err) < 0)
		fail_msg("open %s: %s", conninfo, err.msg);
	if (rl_store_migrate(s, NULL, &err) < 0 || rl_store_schema_version(s, &version, &err) < 0)
		fail_msg("migrate: %s", err.msg);
	rl_store_close(s);
	return version;
}

static void test_start_stop(void **state)
{
	char *dir = state_dir("main"), *datadir = path_in(dir, "pgdata"), *sock = path_in(dir, "pgsock");
	char *record = path_in(dir, "pgsock.path"), *recorded, *client;
	struct rl_pgcluster *c = NULL, *again = NULL;
	struct rl_err err = { 0 };
	struct stat st;

	(void)state;
	if (rl_pgcluster_start(dir, pg_bindir, &c, &err) < 0)
		fail_msg("start: %s", err.msg);
	assert_true(file_exists(datadir, "PG_VERSION"));
	assert_true(file_exists(datadir, "postmaster.pid"));
	assert_true(file_exists(dir, "pg.log"));
	recorded = first_line(record);
	assert_string_equal(recorded, sock);
	assert_non_null(strstr(rl_pgcluster_conninfo(c), sock));
	assert_int_equal(stat(datadir, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	if (geteuid() == 0) {
		/* PostgreSQL does not run as root: it ran as the postgres user, who owns its files. */
		struct passwd *pw = getpwnam("postgres");

		assert_non_null(pw);
		assert_int_equal(st.st_uid, pw->pw_uid);
		assert_int_equal(stat(sock, &st), 0);
		assert_int_equal(st.st_uid, pw->pw_uid);
	}
	assert_int_equal(migrate_through(rl_pgcluster_conninfo(c)), rl_store_schema_target());

	/* A client of the running cluster finds it. */
	client = rl_pgcluster_client_conninfo(dir, &err);
	assert_non_null(client);
	assert_string_equal(client, rl_pgcluster_conninfo(c));
	free(client);

	/* Started again while running: used as it is, and left running by its stop. */
	if (rl_pgcluster_start(dir, pg_bindir, &again, &err) < 0)
		fail_msg("second start: %s", err.msg);
	assert_string_equal(rl_pgcluster_conninfo(again), rl_pgcluster_conninfo(c));
	rl_pgcluster_stop(again);
	assert_true(file_exists(datadir, "postmaster.pid"));
	assert_int_equal(migrate_through(rl_pgcluster_conninfo(c)), rl_store_schema_target());

	/* Stopped by the one that started it. */
	rl_pgcluster_stop(c);
	assert_false(file_exists(datadir, "postmaster.pid"));
	client = rl_pgcluster_client_conninfo(dir, &err);
	assert_null(client);
	assert_int_equal(err.code, RL_ERR_DB);
	assert_non_null(strstr(err.msg, "is not running (start relais serve)"));

	/* Started again: the data is still there (no second initdb). */
	if (rl_pgcluster_start(dir, pg_bindir, &c, &err) < 0)
		fail_msg("restart: %s", err.msg);
	{
		struct rl_store *s = NULL;
		int version = -1;

		assert_int_equal(rl_store_open(rl_pgcluster_conninfo(c), &s, &err), 0);
		assert_int_equal(rl_store_schema_version(s, &version, &err), 0);
		assert_int_equal(version, rl_store_schema_target());
		rl_store_close(s);
	}
	rl_pgcluster_stop(c);
	assert_false(file_exists(datadir, "postmaster.pid"));
	free(recorded);
	free(record);
	free(sock);
	free(datadir);
	free(dir);
}

static void test_long_state_path(void **state)
{
	char name[160], *dir, *record, *recorded;
	struct rl_pgcluster *c = NULL;
	struct rl_err err = { 0 };

	(void)state;
	memset(name, 'x', 120);
	name[120] = '\0';
	dir = state_dir(name);
	if (rl_pgcluster_start(dir, pg_bindir, &c, &err) < 0)
		fail_msg("start: %s", err.msg);
	record = path_in(dir, "pgsock.path");
	recorded = first_line(record);
	assert_memory_equal(recorded, "/tmp/relais-pg.", 15);
	assert_true(file_exists(recorded, ".s.PGSQL.5432"));
	assert_int_equal(migrate_through(rl_pgcluster_conninfo(c)), rl_store_schema_target());
	rl_pgcluster_stop(c);
	assert_false(file_exists(recorded, ".s.PGSQL.5432"));
	/* The recorded directory is used again at the next start. */
	assert_int_equal(rl_pgcluster_start(dir, pg_bindir, &c, &err), 0);
	assert_non_null(strstr(rl_pgcluster_conninfo(c), recorded));
	rl_pgcluster_stop(c);
	rmdir(recorded);
	free(recorded);
	free(record);
	free(dir);
}

static void test_missing_programs(void **state)
{
	char *dir = state_dir("noprograms");
	struct rl_pgcluster *c = NULL;
	struct rl_err err = { 0 };

	(void)state;
	assert_int_equal(rl_pgcluster_start(dir, "/nonexistent/pg/bin", &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.code, RL_ERR_DB);
	assert_non_null(strstr(err.msg, "/nonexistent/pg/bin/initdb is missing"));
	assert_int_equal(rl_pgcluster_start("/nonexistent/state", pg_bindir, &c, &err), -1);
	assert_int_equal(err.code, RL_ERR_CONFIG);
	free(dir);
}

/* As root: a state directory the postgres user cannot enter is reported with the log's explanation. */
static void test_unreachable_state_dir(void **state)
{
	char *dir;
	struct rl_pgcluster *c = NULL;
	struct rl_err err = { 0 };

	(void)state;
	if (geteuid() != 0)
		skip();
	dir = state_dir("closed");
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(rl_pgcluster_start(dir, pg_bindir, &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.code, RL_ERR_DB);
	assert_non_null(strstr(err.msg, "initdb failed"));
	assert_non_null(strstr(err.msg, "pg.log: relais: the database's user cannot enter the state directory"));
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_stop),
		cmocka_unit_test(test_long_state_path),
		cmocka_unit_test(test_missing_programs),
		cmocka_unit_test(test_unreachable_state_dir),
	};

	base_dir = getenv("RELAIS_TEST_STATE_DIR");
	pg_bindir = getenv("PG_BINDIR");
	if (base_dir == NULL || pg_bindir == NULL || *pg_bindir == '\0') {
		fprintf(stderr, "SKIP: RELAIS_TEST_STATE_DIR or PG_BINDIR not set (run through tests/scripts/pgcluster.sh)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * cmd_db.c - `relais db`: brings the database schema up to date (migrate), reports it (status), or removes
 * the finished messages older than a period (purge, the hand-run form of retention.keep).
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/store.h"
#include "commands.h"

static int run_db(int argc, char **argv);

const struct rl_command rl_cmd_db = {
	.name = "db",
	.summary = "apply the database schema migrations, show the schema version, or purge old messages",
	.usage =
		"usage: relais db migrate [-c FILE] [--set section.key=value ...]\n"
		"       relais db status  [-c FILE] [--set section.key=value ...]\n"
		"       relais db purge   [-c FILE] [--set section.key=value ...] --older-than DURATION\n"
		"                         [--dry-run]\n"
		"\n"
		"migrate applies the schema migrations the database named by database.url lacks, in\n"
		"order, each in its own transaction (several instances may run it at once: they take\n"
		"turns). status prints the database's schema version and the one this program needs.\n"
		"purge removes the finished messages (delivered or failed, no backend delivery pending)\n"
		"last changed longer ago than DURATION (90d, 12h, 30m, 3600s or plain seconds), each\n"
		"with its envelopes, receipt, payload, deliveries and history, in transactions of 500\n"
		"messages that never wait for a running daemon; queued, sending, retry and received\n"
		"messages stay. It prints one line with what it removed; --dry-run prints what it\n"
		"would remove and removes nothing.\n"
		"With database.url = auto the embedded database in state.dir is used; when it is not\n"
		"running it is started (created on first use) for the duration of the command.\n"
		"\n"
		"  -c, --config FILE     the configuration file (see relais.conf(5))\n"
		"  --set section.key=value\n"
		"                        override one key after the file is read (repeatable)\n"
		"  --older-than DURATION (purge) what was last changed longer ago than this goes\n"
		"  --dry-run             (purge) count only\n"
		"Exit status 0 on success, 1 when the database fails, 2 on usage or configuration errors.\n",
	.run = run_db,
};

/* What `relais db purge` was asked. */
struct purge_opts {
	long long older_than;		/* seconds; 0 = not given */
	int dry_run;
};

/* Takes purge's own option at argv[*i]: 1 taken, 0 not one of them, -1 usage error (printed). */
static int purge_opt(struct purge_opts *po, int argc, char **argv, int *i)
{
	if (strcmp(argv[*i], "--dry-run") == 0) {
		po->dry_run = 1;
		return 1;
	}
	if (strcmp(argv[*i], "--older-than") != 0)
		return 0;
	if (*i + 1 >= argc) {
		rl_cli_usage_error(&rl_cmd_db, "--older-than needs a duration (like 90d, 12h, 3600s)");
		return -1;
	}
	(*i)++;
	if (rl_config_parse_duration(argv[*i], &po->older_than) < 0 || po->older_than <= 0) {
		rl_cli_usage_error(&rl_cmd_db, "--older-than '%s' is not a duration above 0 (like 90d, 12h, 3600s)",
				   argv[*i]);
		return -1;
	}
	return 1;
}

/* Reads -c FILE and every --set (applied after the file, in order) into a validated configuration.
 * argv[1] is the subcommand; po (NULL for the others) takes purge's options. */
static int load_config(int argc, char **argv, struct purge_opts *po, struct rl_config **out)
{
	struct rl_cli_config_opts co = { 0 };
	int rc;

	for (int i = 2; i < argc; i++) {
		int taken = po ? purge_opt(po, argc, argv, &i) : 0;

		if (taken == 0)
			taken = rl_cli_config_opt(&rl_cmd_db, &co, argc, argv, &i);
		if (taken <= 0) {
			rl_cli_config_opts_free(&co);
			return taken < 0 ? RL_EXIT_USAGE
					 : rl_cli_usage_error(&rl_cmd_db, "unexpected argument '%s'", argv[i]);
		}
	}
	if (po && po->older_than == 0) {
		rl_cli_config_opts_free(&co);
		return rl_cli_usage_error(&rl_cmd_db, "purge needs --older-than DURATION (like 90d)");
	}
	rc = rl_cli_config_load(&rl_cmd_db, &co, RL_CFG_MODE_CHECK, out);
	rl_cli_config_opts_free(&co);
	return rc;
}

/* Connects to database.url, starting the embedded cluster first for `auto` (*cluster, NULL otherwise). */
static int open_database(const struct rl_config *cfg, struct rl_pgcluster **cluster, struct rl_store **store,
			 struct rl_err *err)
{
	const char *url = rl_config_str(cfg, RL_CFG_DATABASE_URL);

	*cluster = NULL;
	if (strcmp(url, "auto") == 0) {
		if (rl_pgcluster_start(rl_config_str(cfg, RL_CFG_STATE_DIR), RELAIS_PG_BINDIR, cluster, err) < 0)
			return -1;
		url = rl_pgcluster_conninfo(*cluster);
	}
	if (rl_store_open(url, store, err) < 0) {
		rl_pgcluster_stop(*cluster);
		*cluster = NULL;
		return -1;
	}
	return 0;
}

/* Removes (or counts) the finished messages older than po->older_than; prints one line. */
static int purge(struct rl_store *store, const struct purge_opts *po, struct rl_err *err)
{
	struct rl_store_purge_counts c;
	time_t cutoff = time(NULL) - (time_t)po->older_than;
	char when[32];
	struct tm tm;

	if (rl_store_purge(store, cutoff, po->dry_run, &c, err) < 0)
		return -1;
	gmtime_r(&cutoff, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s %lld finished message%s (%lld inbound, %lld outbound) last changed before %s: %lld payload, "
	       "%lld envelope and %lld receipt bytes\n", po->dry_run ? "would remove" : "removed",
	       c.inbound + c.outbound, c.inbound + c.outbound == 1 ? "" : "s", c.inbound, c.outbound, when,
	       c.payload_bytes, c.envelope_bytes, c.receipt_bytes);
	return 0;
}

static int run_db(int argc, char **argv)
{
	struct rl_pgcluster *cluster = NULL;
	struct rl_store *store = NULL;
	struct rl_config *cfg = NULL;
	struct purge_opts po = { 0 };
	struct rl_err err;
	int migrate = 0, purging = 0, rc, applied = 0, version = 0;

	if (argc < 2)
		return rl_cli_usage_error(&rl_cmd_db, "which: migrate, status or purge?");
	if (strcmp(argv[1], "migrate") == 0)
		migrate = 1;
	else if (strcmp(argv[1], "purge") == 0)
		purging = 1;
	else if (strcmp(argv[1], "status") != 0)
		return rl_cli_usage_error(&rl_cmd_db, "unknown subcommand '%s' (migrate, status or purge)", argv[1]);
	rc = load_config(argc, argv, purging ? &po : NULL, &cfg);
	if (rc != RL_EXIT_OK)
		return rc;
	if (open_database(cfg, &cluster, &store, &err) < 0) {
		rl_config_free(cfg);
		return rl_cli_fail(&err);
	}
	if (purging) {
		if (purge(store, &po, &err) < 0)
			rc = rl_cli_fail(&err);
	} else if ((migrate && rl_store_migrate(store, &applied, &err) < 0) ||
		   rl_store_schema_version(store, &version, &err) < 0) {
		rc = rl_cli_fail(&err);
	} else if (migrate) {
		printf("schema version %d (%d migration%s applied)\n", version, applied, applied == 1 ? "" : "s");
	} else {
		printf("schema version %d (this program needs %d)%s\n", version, rl_store_schema_target(),
		       version < rl_store_schema_target() ? ": run relais db migrate" : "");
	}
	rl_store_close(store);
	rl_pgcluster_stop(cluster);
	rl_config_free(cfg);
	return rc;
}

/* cmd_db.c - `relais db`: brings the database schema up to date (migrate) or reports it (status). */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/store.h"
#include "commands.h"

static int run_db(int argc, char **argv);

const struct rl_command rl_cmd_db = {
	.name = "db",
	.summary = "apply the database schema migrations, or show the schema version",
	.usage =
		"usage: relais db migrate [-c FILE] [--set section.key=value ...]\n"
		"       relais db status  [-c FILE] [--set section.key=value ...]\n"
		"\n"
		"migrate applies the schema migrations the database named by database.url lacks, in\n"
		"order, each in its own transaction (several instances may run it at once: they take\n"
		"turns). status prints the database's schema version and the one this program needs.\n"
		"With database.url = auto the embedded database in state.dir is used; when it is not\n"
		"running it is started (created on first use) for the duration of the command.\n"
		"\n"
		"  -c, --config FILE     the configuration file (see relais.conf(5))\n"
		"  --set section.key=value\n"
		"                        override one key after the file is read (repeatable)\n"
		"Exit status 0 on success, 1 when the database fails, 2 on usage or configuration errors.\n",
	.run = run_db,
};

/* Reads -c FILE and every --set (applied after the file, in order) into a validated configuration.
 * argv[1] is the subcommand. */
static int load_config(int argc, char **argv, struct rl_config **out)
{
	struct rl_cli_config_opts co = { 0 };
	int rc;

	for (int i = 2; i < argc; i++) {
		int taken = rl_cli_config_opt(&rl_cmd_db, &co, argc, argv, &i);

		if (taken <= 0) {
			rl_cli_config_opts_free(&co);
			return taken < 0 ? RL_EXIT_USAGE
					 : rl_cli_usage_error(&rl_cmd_db, "unexpected argument '%s'", argv[i]);
		}
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

static int run_db(int argc, char **argv)
{
	struct rl_pgcluster *cluster = NULL;
	struct rl_store *store = NULL;
	struct rl_config *cfg = NULL;
	struct rl_err err;
	int migrate, rc, applied = 0, version = 0;

	if (argc < 2)
		return rl_cli_usage_error(&rl_cmd_db, "which: migrate or status?");
	if (strcmp(argv[1], "migrate") == 0)
		migrate = 1;
	else if (strcmp(argv[1], "status") == 0)
		migrate = 0;
	else
		return rl_cli_usage_error(&rl_cmd_db, "unknown subcommand '%s' (migrate or status)", argv[1]);
	rc = load_config(argc, argv, &cfg);
	if (rc != RL_EXIT_OK)
		return rc;
	if (open_database(cfg, &cluster, &store, &err) < 0) {
		rl_config_free(cfg);
		return rl_cli_fail(&err);
	}
	if ((migrate && rl_store_migrate(store, &applied, &err) < 0) ||
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

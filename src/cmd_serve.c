/* cmd_serve.c - `relais serve`: run the access point in the foreground. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/daemon.h"
#include "relais/log.h"
#include "commands.h"

static int run_serve(int argc, char **argv);

const struct rl_command rl_cmd_serve = {
	.name = "serve",
	.summary = "run the access point: receive, send, deliver (foreground)",
	.usage =
		"usage: relais serve -c FILE [--set section.key=value ...]\n"
		"\n"
		"Runs the access point in the foreground until SIGTERM or SIGINT, logging one line per\n"
		"event to standard error (or log.file). It receives AS4 messages on server.listen, sends\n"
		"the queued ones (from `relais send`, the API and the outbox), and delivers received\n"
		"documents to delivery.inbox and/or delivery.webhook. With database.url = auto it runs\n"
		"a private PostgreSQL cluster under state.dir and stops it on exit.\n"
		"SIGHUP reloads the keys, certificates, trust anchors and routing table.\n"
		"\n"
		"  -c, --config FILE     the configuration (see relais.conf(5))\n"
		"  --set section.key=value\n"
		"                        override one key (repeatable)\n",
	.run = run_serve,
};

static int run_serve(int argc, char **argv)
{
	struct rl_cli_config_opts co = { 0 };
	struct rl_config *cfg = NULL;
	struct rl_err err;
	int rc;

	for (int i = 1; i < argc; i++) {
		int taken = rl_cli_config_opt(&rl_cmd_serve, &co, argc, argv, &i);

		if (taken < 0) {
			rl_cli_config_opts_free(&co);
			return RL_EXIT_USAGE;
		}
		if (taken == 0) {
			rl_cli_config_opts_free(&co);
			return rl_cli_usage_error(&rl_cmd_serve, "unexpected argument '%s'", argv[i]);
		}
	}
	rc = rl_cli_config_load(&rl_cmd_serve, &co, RL_CFG_MODE_SERVE, &cfg);
	rl_cli_config_opts_free(&co);
	if (rc != RL_EXIT_OK)
		return rc;
	rl_log_set_level((enum rl_log_level)rl_log_parse_level(rl_config_str(cfg, RL_CFG_LOG_LEVEL)));
	{
		const char *log_file = rl_config_str(cfg, RL_CFG_LOG_FILE);
		FILE *fp = NULL;

		if (log_file[0]) {
			fp = fopen(log_file, "a");
			if (fp == NULL) {
				rl_err_set(&err, RL_ERR_CONFIG, "log.file %s: cannot open it", log_file);
				rl_config_free(cfg);
				return rl_cli_fail(&err);
			}
			setvbuf(fp, NULL, _IOLBF, 0);
			rl_log_set_file(fp);
		}
		rc = rl_daemon_run(cfg, &err) < 0 ? rl_cli_fail(&err) : RL_EXIT_OK;
		if (fp) {
			rl_log_set_file(stderr);
			fclose(fp);
		}
	}
	rl_config_free(cfg);
	return rc;
}

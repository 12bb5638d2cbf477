/* cli_config.c - relais.conf for a command: -c FILE and --set options, validation, and its database.
 * See include/relais/cli_config.h. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/store.h"

int rl_cli_config_opt(const struct rl_command *cmd, struct rl_cli_config_opts *o, int argc, char **argv,
		      int *i)
{
	const char *arg = argv[*i];
	const char *set = NULL;

	if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) {
		if (*i + 1 >= argc) {
			rl_cli_usage_error(cmd, "%s needs a FILE", arg);
			return -1;
		}
		o->path = argv[++*i];
		return 1;
	}
	if (strncmp(arg, "--config=", 9) == 0) {
		o->path = arg + 9;
		return 1;
	}
	if (strcmp(arg, "--set") == 0) {
		if (*i + 1 >= argc) {
			rl_cli_usage_error(cmd, "--set needs section.key=value");
			return -1;
		}
		set = argv[++*i];
	} else if (strncmp(arg, "--set=", 6) == 0)
		set = arg + 6;
	if (set == NULL)
		return 0;
	if (rl_cli_config_add_set(o, set) < 0) {
		rl_cli_usage_error(cmd, "out of memory");
		return -1;
	}
	return 1;
}

int rl_cli_config_add_set(struct rl_cli_config_opts *o, const char *assignment)
{
	const char **grown = realloc(o->sets, (size_t)(o->nsets + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	o->sets = grown;
	o->sets[o->nsets++] = assignment;
	return 0;
}

void rl_cli_config_opts_free(struct rl_cli_config_opts *o)
{
	free(o->sets);
	memset(o, 0, sizeof(*o));
}

int rl_cli_config_load(const struct rl_command *cmd, const struct rl_cli_config_opts *o, int mode,
		       struct rl_config **out)
{
	struct rl_config *cfg;
	struct rl_err err;
	size_t n;

	*out = NULL;
	cfg = rl_config_new(&err);
	if (cfg == NULL)
		return rl_cli_fail(&err);
	if (o->path && rl_config_load_file(cfg, o->path, &err) < 0) {
		rl_config_free(cfg);
		return rl_cli_fail(&err);
	}
	for (int i = 0; i < o->nsets; i++) {
		if (rl_config_set(cfg, o->sets[i], &err) < 0) {
			rl_config_free(cfg);
			if (err.code == RL_ERR_USAGE)
				return rl_cli_usage_error(cmd, "%s", err.msg);
			return rl_cli_fail(&err);
		}
	}
	n = rl_config_validate(cfg, (enum rl_config_mode)mode);
	if (n > 0) {
		char line[1024];

		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%s\n", rl_config_problem_format(cfg, i, line, sizeof(line)));
		rl_config_free(cfg);
		return RL_EXIT_USAGE;
	}
	*out = cfg;
	return RL_EXIT_OK;
}

int rl_cli_store_open(const struct rl_config *cfg, struct rl_store **out, struct rl_err *err)
{
	const char *url = rl_config_str(cfg, RL_CFG_DATABASE_URL);
	char *conninfo;
	int rc;

	if (strcmp(url, "auto") != 0)
		return rl_store_open(url, out, err);
	conninfo = rl_pgcluster_client_conninfo(rl_config_str(cfg, RL_CFG_STATE_DIR), err);
	if (conninfo == NULL)
		return -1;
	rc = rl_store_open(conninfo, out, err);
	free(conninfo);
	return rc;
}

int rl_cli_config_load_argv(const struct rl_command *cmd, const char *path, int argc, char **argv,
		       const char *const *extra, struct rl_config **out)
{
	struct rl_config *cfg;
	struct rl_err err;
	char line[1024];
	size_t problems;

	*out = NULL;
	if (!(cfg = rl_config_new(&err)))
		return rl_cli_fail(&err);
	if (path && rl_config_load_file(cfg, path, &err) < 0)
		goto fail;
	for (int i = 1; i < argc; i++) {
		const char *assignment = NULL;

		if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
			assignment = argv[++i];
		else if (strncmp(argv[i], "--set=", 6) == 0)
			assignment = argv[i] + 6;
		if (assignment && rl_config_set(cfg, assignment, &err) < 0)
			goto fail;
	}
	for (const char *const *e = extra; e && *e; e++)
		if (rl_config_set(cfg, *e, &err) < 0)
			goto fail;
	problems = rl_config_validate(cfg, RL_CFG_MODE_CHECK);
	for (size_t i = 0; i < problems; i++)
		fprintf(stderr, "%s\n", rl_config_problem_format(cfg, i, line, sizeof(line)));
	if (problems > 0) {
		rl_config_free(cfg);
		return RL_EXIT_USAGE;
	}
	*out = cfg;
	return RL_EXIT_OK;
fail:
	rl_config_free(cfg);
	if (err.code == RL_ERR_USAGE)
		return rl_cli_usage_error(cmd, "%s", err.msg);
	return rl_cli_fail(&err);
}

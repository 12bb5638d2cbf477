/* cli_config.c - loading relais.conf for a command: file, --set overrides, validation. See
 * include/relais/cli_config.h. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "relais/cli_config.h"

int rl_cli_config_load(const struct rl_command *cmd, const char *path, int argc, char **argv,
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

/* cmd_check_config.c - `relais check-config`: reads the configuration and reports every problem in it. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "relais/cli.h"
#include "relais/config.h"
#include "commands.h"

static int run_check_config(int argc, char **argv);

const struct rl_command rl_cmd_check_config = {
	.name = "check-config",
	.summary = "check a configuration file and report every problem",
	.usage =
		"usage: relais check-config [-c FILE] [--set section.key=value ...] [--serve]\n"
		"       relais check-config --sample\n"
		"\n"
		"Reads FILE (or only the built-in defaults when -c is not given), applies each --set\n"
		"override in order, and checks every value. Each problem is printed as\n"
		"  FILE:LINE: section.key: what is wrong\n"
		"Exit status 0 and \"configuration OK\" when there is none, 2 otherwise.\n"
		"\n"
		"  -c, --config FILE     the configuration file (see relais.conf(5))\n"
		"  --set section.key=value\n"
		"                        override one key after the file is read (repeatable)\n"
		"  --serve               also check what `relais serve` requires (identity, trust\n"
		"                        anchors, TLS files, existing directories)\n"
		"  --sample              print a sample file with every key, commented, at its default\n",
	.run = run_check_config,
};

/* Prints every key of the table as a commented sample configuration file. */
static int print_sample(void)
{
	const struct rl_config_key_info *table = rl_config_key_table();
	const char *section = "";

	printf("# relais.conf - configuration of the relais AS4 access point. See relais.conf(5).\n"
	       "# Every key is shown commented out at its default value; an empty value means unset.\n");
	for (size_t i = 0; i < RL_CFG_NKEYS; i++) {
		if (strcmp(section, table[i].section) != 0) {
			section = table[i].section;
			printf("\n[%s]\n", section);
		}
		printf("# %s\n;%s =%s%s\n", table[i].description, table[i].name,
		       table[i].default_value[0] ? " " : "", table[i].default_value);
	}
	return RL_EXIT_OK;
}

/* Reports every problem of the configuration on stderr; returns the exit status. */
static int report_problems(const struct rl_config *cfg)
{
	size_t n = rl_config_problem_count(cfg);
	char line[1024];

	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s\n", rl_config_problem_format(cfg, i, line, sizeof(line)));
	if (n > 0)
		return RL_EXIT_USAGE;
	printf("configuration OK\n");
	return RL_EXIT_OK;
}

static int run_check_config(int argc, char **argv)
{
	const char *config_path = NULL;
	enum rl_config_mode mode = RL_CFG_MODE_CHECK;
	struct rl_config *cfg;
	struct rl_err err;
	int i, rc;

	/* First pass: options, so that --set applies after the file whatever the order. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (++i >= argc)
				return rl_cli_usage_error(&rl_cmd_check_config, "%s needs a FILE", argv[i - 1]);
			config_path = argv[i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--set") == 0) {
			if (++i >= argc)
				return rl_cli_usage_error(&rl_cmd_check_config, "--set needs section.key=value");
		} else if (strncmp(argv[i], "--set=", 6) == 0) {
			continue;
		} else if (strcmp(argv[i], "--sample") == 0) {
			return print_sample();
		} else if (strcmp(argv[i], "--serve") == 0) {
			mode = RL_CFG_MODE_SERVE;
		} else {
			return rl_cli_usage_error(&rl_cmd_check_config, "unexpected argument '%s'", argv[i]);
		}
	}
	cfg = rl_config_new(&err);
	if (cfg == NULL)
		return rl_cli_fail(&err);
	if (config_path != NULL && rl_config_load_file(cfg, config_path, &err) < 0) {
		rl_config_free(cfg);
		return rl_cli_fail(&err);
	}
	for (i = 1; i < argc; i++) {
		const char *assignment = NULL;

		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
			i++;
		else if (strcmp(argv[i], "--set") == 0)
			assignment = argv[++i];
		else if (strncmp(argv[i], "--set=", 6) == 0)
			assignment = argv[i] + 6;
		if (assignment != NULL && rl_config_set(cfg, assignment, &err) < 0) {
			rl_config_free(cfg);
			if (err.code == RL_ERR_USAGE)
				return rl_cli_usage_error(&rl_cmd_check_config, "%s", err.msg);
			return rl_cli_fail(&err);
		}
	}
	rl_config_validate(cfg, mode);
	rc = report_problems(cfg);
	rl_config_free(cfg);
	return rc;
}

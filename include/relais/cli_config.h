/*
 * cli_config.h - the configuration of a command that reads relais.conf: -c FILE, then every
 * "--set section.key=value" of its arguments in order, then the command's own overrides, then validation.
 */
#ifndef RELAIS_CLI_CONFIG_H
#define RELAIS_CLI_CONFIG_H

#include "relais/cli.h"
#include "relais/config.h"

/* path may be NULL (defaults only). argv is scanned for "--set X" pairs (argv[0] is skipped). extra:
 * further "section.key=value" assignments applied last, NULL-terminated, or NULL. Problems are printed
 * on stderr. Returns RL_EXIT_OK with *out set (free with rl_config_free), or the exit status to return. */
int rl_cli_config_load_argv(const struct rl_command *cmd, const char *path, int argc, char **argv,
		       const char *const *extra, struct rl_config **out);

/* The configuration options every daemon-side command shares: -c/--config FILE and --set k=v
 * (repeatable, applied after the file; without -c, over the built-in defaults). */
struct rl_store;
struct rl_cli_config_opts {
	const char *path;
	const char **sets;
	int nsets;
};
/* Takes argv[*i] when it is one of those options (advancing *i past its value): returns 1; 0 when it
 * is not; -1 when its value is missing (a usage error was printed, exit with RL_EXIT_USAGE). */
int rl_cli_config_opt(const struct rl_command *cmd, struct rl_cli_config_opts *o, int argc, char **argv,
		      int *i);
/* Adds one "section.key=value" (not copied: it must outlive o), for commands that parse with getopt.
 * Returns -1 when out of memory. */
int rl_cli_config_add_set(struct rl_cli_config_opts *o, const char *assignment);
void rl_cli_config_opts_free(struct rl_cli_config_opts *o);
/* Loads and validates (mode: enum rl_config_mode); prints every problem. Returns RL_EXIT_OK with *out
 * set (caller frees with rl_config_free), or the exit status. */
int rl_cli_config_load(const struct rl_command *cmd, const struct rl_cli_config_opts *o, int mode,
		       struct rl_config **out);
/* Connects to the configuration's database: database.url, or for auto the embedded cluster that a
 * running `relais serve` with the same state.dir started. */
int rl_cli_store_open(const struct rl_config *cfg, struct rl_store **out, struct rl_err *err);

#endif

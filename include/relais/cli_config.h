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
int rl_cli_config_load(const struct rl_command *cmd, const char *path, int argc, char **argv,
		       const char *const *extra, struct rl_config **out);

#endif

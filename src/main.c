/* main.c - the relais program: dispatches to subcommands, prints help and version. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "relais/cli.h"
#include "relais/revocation.h"
#include "commands.h"

static const struct rl_command *const commands[] = {
	RL_COMMAND_LIST NULL
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct rl_command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (commands[i] && strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void print_help(FILE *out)
{
	fprintf(out, "usage: relais [--version] [--help] <command> [<args>]\n\n"
		     "relais is a Peppol / eDelivery AS4 access point.\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (commands[i])
			fprintf(out, "  %-16s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\n'relais help <command>' shows a command's options. See relais(1).\n");
}

int rl_cli_fail(const struct rl_err *err)
{
	char line[RL_ERR_MSG_MAX + 64];

	fprintf(stderr, "error: %s\n", rl_err_format(err, line, sizeof(line)));
	if (err->code == RL_ERR_USAGE || err->code == RL_ERR_CONFIG)
		return RL_EXIT_USAGE;
	return RL_EXIT_REFUSED;
}

int rl_cli_usage_error(const struct rl_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "relais %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'relais help %s'.\n", cmd->name);
	return RL_EXIT_USAGE;
}

int rl_cli_print_usage(const struct rl_command *cmd)
{
	printf("%s", cmd->usage);
	return RL_EXIT_OK;
}

int rl_cli_load_identity(const char *key, const char *cert, const char *keystore, const char *password,
			 struct rl_identity *id, struct rl_err *err)
{
	int rc = keystore ? rl_identity_load_p12(id, keystore, password ? password : "", err)
			  : rl_identity_load_pem(id, key, cert, password, err);

	if (rc < 0)
		err->code = RL_ERR_USAGE;
	return rc;
}

int rl_cli_warn_revocation(const struct rl_trust *trust, unsigned long since)
{
	struct rl_revocation *rev = rl_trust_revocation(trust);
	struct rl_revocation_outcome outcomes[16];
	size_t n;
	int warned = 0;

	if (rl_revocation_policy(rev) != RL_REVOCATION_SOFT)
		return 0;
	n = rl_revocation_outcomes_since(rev, since, outcomes, 16);
	for (size_t i = 0; i < n; i++)
		if (outcomes[i].status == RL_REVOCATION_UNKNOWN) {
			fprintf(stderr, "warning: could not check revocation of certificate CN=%s: %s "
				"(accepted: trust.revocation = soft)\n", outcomes[i].subject_cn, outcomes[i].problem);
			warned++;
		}
	return warned;
}

int main(int argc, char **argv)
{
	const struct rl_command *cmd;
	struct rl_err err;
	int rc;

	if (argc < 2) {
		print_help(stderr);
		return RL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(stdout);
		return RL_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("relais %s\n", PACKAGE_VERSION);
		return RL_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			print_help(stdout);
			return RL_EXIT_OK;
		}
		cmd = find_command(argv[2]);
		if (cmd == NULL) {
			fprintf(stderr, "relais: no command '%s'. See 'relais --help'.\n", argv[2]);
			return RL_EXIT_USAGE;
		}
		return rl_cli_print_usage(cmd);
	}
	cmd = find_command(argv[1]);
	if (cmd == NULL) {
		fprintf(stderr, "relais: '%s' is not a relais command. See 'relais --help'.\n", argv[1]);
		return RL_EXIT_USAGE;
	}
	if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0))
		return rl_cli_print_usage(cmd);
	if (rl_init(&err) < 0)
		return rl_cli_fail(&err);
	rc = cmd->run(argc - 1, argv + 1);
	rl_shutdown();
	return rc;
}

/*
 * cli.h - the relais command line: one program, git-style subcommands.
 *
 * Each subcommand lives in its own src/cmd_*.c and exports one `struct rl_command`; main.c lists them.
 * Exit status: 0 success; 1 the message or document was refused (stderr: one line
 * "error: EBMS:xxxx ShortDescription: what was wrong"); 2 usage or configuration error.
 */
#ifndef RELAIS_CLI_H
#define RELAIS_CLI_H

#include "relais/err.h"
#include "relais/keys.h"

#define RL_EXIT_OK 0
#define RL_EXIT_REFUSED 1
#define RL_EXIT_USAGE 2

struct rl_command {
	const char *name;
	const char *summary;	/* one line for `relais --help` */
	const char *usage;	/* full text for `relais help NAME` and `relais NAME --help` */
	int (*run)(int argc, char **argv);	/* argv[0] is the command name */
};

/* Prints "error: <code> <short>: <msg>" to stderr and returns the exit status for that error. */
int rl_cli_fail(const struct rl_err *err);
/* Prints "relais NAME: <msg>" and the usage hint, returns RL_EXIT_USAGE. */
int rl_cli_usage_error(const struct rl_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints the command's usage to stdout; returns RL_EXIT_OK. */
int rl_cli_print_usage(const struct rl_command *cmd);

/* Our identity from the options of the key-using commands: --keystore (PKCS#12, --password) when given,
 * else --key and --cert (PEM, --password for an encrypted key). A file that cannot be loaded is a usage
 * error (RL_ERR_USAGE). */
int rl_cli_load_identity(const char *key, const char *cert, const char *keystore, const char *password,
			 struct rl_identity *id, struct rl_err *err);

/* Prints a "warning: could not check revocation of certificate CN=X: why" line to stderr for every
 * certificate that the trust store's revocation checker accepted without an answer (soft policy) since
 * sequence `since` (rl_revocation_sequence() taken before the work). Returns how many. */
int rl_cli_warn_revocation(const struct rl_trust *trust, unsigned long since);

/* Process-wide initialisation (libxml2, OpenSSL); idempotent. Returns 0 or -1. */
int rl_init(struct rl_err *err);
void rl_shutdown(void);
/* xmlsec, initialised once at the first call (thread-safe): every function using xmlsec calls it first. */
int rl_xmlsec_init(struct rl_err *err);

#endif

/*
 * commands.h - every subcommand of the relais program. Each is defined in its own src/cmd_*.c.
 * Add a command: declare it here and add it to RL_COMMAND_LIST (the order of `relais --help`).
 */
#ifndef RELAIS_COMMANDS_H
#define RELAIS_COMMANDS_H

#include "relais/cli.h"

extern const struct rl_command rl_cmd_pack;
extern const struct rl_command rl_cmd_inspect;
extern const struct rl_command rl_cmd_check_config;
extern const struct rl_command rl_cmd_unpack;
extern const struct rl_command rl_cmd_verify_receipt;
extern const struct rl_command rl_cmd_convert;
extern const struct rl_command rl_cmd_db;
extern const struct rl_command rl_cmd_serve;
extern const struct rl_command rl_cmd_send;
extern const struct rl_command rl_cmd_status;
extern const struct rl_command rl_cmd_message;
extern const struct rl_command rl_cmd_lookup;
extern const struct rl_command rl_cmd_smp;
extern const struct rl_command rl_cmd_participant;
extern const struct rl_command rl_cmd_sbdh;
extern const struct rl_command rl_cmd_validate;
extern const struct rl_command rl_cmd_keys;
extern const struct rl_command rl_cmd_report;

#define RL_COMMAND_LIST \
	&rl_cmd_unpack, \
	&rl_cmd_pack, \
	&rl_cmd_inspect, \
	&rl_cmd_check_config, \
	&rl_cmd_verify_receipt, \
	&rl_cmd_convert, \
	&rl_cmd_db, \
	&rl_cmd_serve, \
	&rl_cmd_send, \
	&rl_cmd_status, \
	&rl_cmd_message, \
	&rl_cmd_lookup, \
	&rl_cmd_smp, \
	&rl_cmd_participant, \
	&rl_cmd_sbdh, \
	&rl_cmd_validate, \
	&rl_cmd_keys, \
	&rl_cmd_report,

#endif

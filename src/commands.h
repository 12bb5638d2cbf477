/*
 * commands.h - every subcommand of the relais program. Each is defined in its own src/cmd_*.c.
 * Add a command: declare it here and add it to RL_COMMAND_LIST (the order of `relais --help`).
 */
#ifndef RELAIS_COMMANDS_H
#define RELAIS_COMMANDS_H

#include "relais/cli.h"

#define RL_COMMAND_LIST

#endif

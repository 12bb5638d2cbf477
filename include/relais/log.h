/*
 * log.h - the one place log lines are written.
 * One line per event: "<time> <level> [<message-id>] <text>". Destination and level are set once at
 * start; deep code returns errors instead of logging them.
 */
#ifndef RELAIS_LOG_H
#define RELAIS_LOG_H

#include <stdio.h>

enum rl_log_level { RL_LOG_DEBUG, RL_LOG_INFO, RL_LOG_WARN, RL_LOG_ERROR };

void rl_log_set_level(enum rl_log_level level);
int rl_log_parse_level(const char *name); /* "debug".."error" -> level, -1 if unknown */
void rl_log_set_file(FILE *fp);		/* default stderr; the caller keeps ownership */
void rl_log_set_syslog(const char *ident); /* send lines to syslog instead */
void rl_log(enum rl_log_level level, const char *message_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define rl_log_info(id, ...) rl_log(RL_LOG_INFO, id, __VA_ARGS__)
#define rl_log_warn(id, ...) rl_log(RL_LOG_WARN, id, __VA_ARGS__)
#define rl_log_error(id, ...) rl_log(RL_LOG_ERROR, id, __VA_ARGS__)
#define rl_log_debug(id, ...) rl_log(RL_LOG_DEBUG, id, __VA_ARGS__)

#endif

/* log.c - the one place log lines are written. See include/relais/log.h. */
#include "config.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include "relais/log.h"

static enum rl_log_level log_level = RL_LOG_INFO;
static FILE *log_fp;
static int log_to_syslog;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_names[] = { "debug", "info", "warn", "error" };

void rl_log_set_level(enum rl_log_level level)
{
	log_level = level;
}

int rl_log_parse_level(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "warning") == 0)
		return RL_LOG_WARN;
	return -1;
}

void rl_log_set_file(FILE *fp)
{
	log_fp = fp;
	log_to_syslog = 0;
}

void rl_log_set_syslog(const char *ident)
{
	openlog(ident, LOG_PID, LOG_DAEMON);
	log_to_syslog = 1;
}

void rl_log(enum rl_log_level level, const char *message_id, const char *fmt, ...)
{
	static const int syslog_prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
	char text[2048], stamp[40];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* One event, one line. */
	for (char *p = text; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_to_syslog) {
		if (message_id)
			syslog(syslog_prio[level], "[%s] %s", message_id, text);
		else
			syslog(syslog_prio[level], "%s", text);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(log_fp ? log_fp : stderr, "%s.%03dZ %s%s%s%s %s\n", stamp, (int)(tv.tv_usec / 1000),
		level_names[level], message_id ? " [" : "", message_id ? message_id : "",
		message_id ? "]" : "", text);
	fflush(log_fp ? log_fp : stderr);
	pthread_mutex_unlock(&log_lock);
}

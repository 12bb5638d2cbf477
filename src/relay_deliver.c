/*
 * relay_deliver.c - relay routes on the delivery side of `relais serve`: the converted form of a received
 * document for the inbox (beside the original) and for the webhook (instead of it). See relay.h.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "relais/log.h"
#include "relais/relay.h"
#include "relais/store.h"

/* The syntax the relay route for the message's final recipient asks on this channel for the delivered
 * document at doc_path: 1 with *to and *from, 0 when it stays as it is, -1 when it cannot be told. */
static int relay_target(struct rl_store *st, const struct rl_store_delivery *dl, const struct rl_relay_table *relay,
			int channel, const char *doc_path, enum rl_relay_syntax *to, enum rl_relay_syntax *from,
			struct rl_err *err)
{
	struct rl_store_message m = { 0 };
	int channels = 0, rc;

	if (rl_relay_count(relay) == 0)
		return 0;
	if (rl_store_message_get(st, dl->message, NULL, RL_DIR_IN, &m, err) <= 0) {
		if (err->code == RL_OK)
			rl_err_set(err, RL_ERR_INTERNAL, "message row %lld is gone", (long long)dl->message);
		return -1;
	}
	rc = rl_relay_inbound_plan(relay, m.final_recipient ? m.final_recipient : m.to_party, doc_path, to, from,
				   &channels, err);
	rl_store_message_free(&m);
	return rc > 0 && (channels & channel) ? 1 : rc < 0 ? -1 : 0;
}

/* Converts doc_path into out_path for the relay route; logs what was done. -1 with err: it failed. */
static int relay_convert(const struct rl_store_delivery *dl, const char *doc_path, enum rl_relay_syntax to,
			 enum rl_relay_syntax from, const char *out_path, const char *where, struct rl_err *err)
{
	struct rl_buf report = RL_BUF_INIT;
	int rc = rl_relay_convert(doc_path, to, out_path, &report, err);

	for (size_t i = 0; i + 1 < report.len; i++)
		if (report.data[i] == '\n')
			report.data[i] = ';';	/* one log line */
	if (rc == 0)
		rl_log_info(dl->message_id, "relay: converted %s to %s for the %s%s%.*s", rl_relay_syntax_name(from),
			    rl_relay_syntax_name(to), where, report.len ? "; not carried: " : "",
			    (int)(report.len > 400 ? 400 : report.len), report.data ? report.data : "");
	rl_buf_free(&report);
	return rc;
}

/* The original in the inbox at path; its converted form beside it when a relay route asks for one. */
void rl_relay_deliver_inbox(struct rl_store *st, const struct rl_store_delivery *dl, const struct rl_relay_table *relay,
			    const char *path, struct rl_err *problem)
{
	enum rl_relay_syntax to, from;
	struct stat sb;
	char *out;
	size_t n = strlen(path);
	int rc = relay_target(st, dl, relay, RL_RELAY_INBOX, path, &to, &from, problem);

	if (rc <= 0)
		return;
	if (asprintf(&out, "%.*s.%s.xml", (int)(n > 4 ? n - 4 : n), path, rl_relay_syntax_name(to)) < 0) {
		rl_err_set(problem, RL_ERR_NOMEM, "out of memory");
		return;
	}
	if (stat(out, &sb) != 0 && relay_convert(dl, path, to, from, out, "inbox", problem) < 0)
		rl_err_prefix(problem, "relay conversion to %s failed, the original was delivered", rl_relay_syntax_name(to));
	free(out);
}

/* A named spool file (conversions read paths): *path gets its name, which the caller unlinks and frees. */
FILE *rl_relay_spool(const char *dir, char **path, struct rl_err *err)
{
	FILE *fp;
	int fd;

	if (asprintf(path, "%s/.relay-XXXXXX", dir && dir[0] ? dir : "/tmp") < 0) {
		*path = NULL;
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	fd = mkstemp(*path);
	if (fd < 0 || (fp = fdopen(fd, "w+b")) == NULL) {
		rl_err_set(err, RL_ERR_IO, "cannot create a spool file %s: %s", *path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(*path);
		}
		free(*path);
		*path = NULL;
		return NULL;
	}
	return fp;
}

/* The webhook body when a relay route asks for another syntax: the converted document (spool replaced,
 * *size updated, from_header filled), or the original when the conversion fails (problem set). */
void rl_relay_deliver_webhook(const char *spool_dir, struct rl_store *st, const struct rl_store_delivery *dl,
			      const struct rl_relay_table *relay, const char *spool_path, FILE **spool, long *size,
			      char *from_header, size_t from_size, struct rl_err *problem)
{
	enum rl_relay_syntax to, from;
	char *out = NULL;
	FILE *converted;

	if (spool_path == NULL || relay_target(st, dl, relay, RL_RELAY_WEBHOOK, spool_path, &to, &from, problem) <= 0)
		return;
	converted = rl_relay_spool(spool_dir, &out, problem);
	if (converted == NULL)
		return;
	fclose(converted);
	if (relay_convert(dl, spool_path, to, from, out, "webhook", problem) < 0 || (converted = fopen(out, "rb")) == NULL) {
		if (problem->code == RL_OK)
			rl_err_set(problem, RL_ERR_IO, "cannot read %s: %s", out, strerror(errno));
		rl_err_prefix(problem, "relay conversion to %s failed, the original was delivered", rl_relay_syntax_name(to));
	} else if (fseek(converted, 0, SEEK_END) == 0 && (*size = ftell(converted)) >= 0) {
		rewind(converted);
		fclose(*spool);
		*spool = converted;
		snprintf(from_header, from_size, "Relais-Converted-From: %s", rl_relay_syntax_name(from));
	} else {
		fclose(converted);
	}
	unlink(out);
	free(out);
}

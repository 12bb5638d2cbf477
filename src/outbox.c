/*
 * outbox.c - the watched outbox directory (submission.outbox).
 *
 * Every second, each regular file in the directory whose name does not start with '.' nor end in
 * .tmp/.part, and that has not changed for a second, is queued like `relais send` would, then moved to
 * OUTBOX/.queued/. Its MessageId is derived from the file (name, size, modification time, inode), so a
 * crash between queueing and moving cannot queue it twice: the second submission of the same MessageId is
 * recognised and the file is just moved. A file that cannot be queued is moved to OUTBOX/.failed/ with
 * a NAME.error file saying why. The destination comes from the routing table when the message is sent.
 * A bare invoice or a Factur-X PDF is first made a Peppol SBD in the syntax its relay route asks for
 * (relay.h): that SBD is what is queued, kept as OUTBOX/.queued/NAME.<syntax>.xml beside the original.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "relais/crypto.h"
#include "relais/daemon.h"
#include "relais/log.h"
#include "relais/relay.h"

#define OUTBOX_SCAN_SECONDS 1

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void move_to(const char *dir, const char *sub, const char *name, const char *error_text)
{
	char from[4096], to[4096];

	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s/%s", dir, sub);
	mkdir(to, 0750);
	snprintf(to, sizeof(to), "%s/%s/%s", dir, sub, name);
	if (rename(from, to) != 0)
		rl_log_error(NULL, "outbox: cannot move %s to %s: %s", from, to, strerror(errno));
	if (error_text) {
		FILE *fp;

		snprintf(to, sizeof(to), "%s/%s/%s.error", dir, sub, name);
		fp = fopen(to, "w");
		if (fp) {
			fprintf(fp, "%s\n", error_text);
			fclose(fp);
		}
	}
}

/* "<32 hex>@outbox.relais": a digest of the file's identity, so a re-scan gives the same MessageId. */
static void message_id_of(const char *name, const struct stat *sb, char *out, size_t size)
{
	unsigned char digest[RL_SHA256_LEN];
	char hex[2 * RL_SHA256_LEN + 1], text[4096];

	snprintf(text, sizeof(text), "%s|%lld|%lld.%09ld|%llu|%llu", name, (long long)sb->st_size,
		 (long long)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec, (unsigned long long)sb->st_ino,
		 (unsigned long long)sb->st_dev);
	rl_sha256(text, strlen(text), digest);
	rl_hex(digest, 16, hex);
	snprintf(out, size, "%s@outbox.relais", hex);
}

/* The SBD to send for a bare invoice or PDF (relay routes): NULL with *refused = 0 when the file goes as it
 * is; *refused = 1 when it was moved to .failed/ or stays for the next scan. */
static char *relay_prepare(struct rl_daemon *d, const struct rl_relay_table *relay, const char *name,
			   const char *path, int *refused)
{
	char stem[4096], *written = NULL;
	const char *sender;
	struct rl_buf report = RL_BUF_INIT;
	struct rl_err err;
	int rc;

	*refused = 0;
	snprintf(stem, sizeof(stem), "%s/.queued", d->outbox_dir);
	mkdir(stem, 0750);
	snprintf(stem, sizeof(stem), "%s/.queued/%s", d->outbox_dir, name);
	sender = rl_config_str(d->cfg, RL_CFG_RELAY_SENDER);
	rc = rl_relay_outbound(relay, path, stem, sender[0] ? sender : NULL, &written, &report, &err);
	if (rc < 0 && err.code == RL_ERR_NOMEM) {
		rl_log_warn(NULL, "outbox: %s stays for the next scan: %s", name, err.msg);
		*refused = 1;
	} else if (rc < 0) {
		char text[RL_ERR_MSG_MAX + 64];

		rl_err_format(&err, text, sizeof(text));
		rl_log_error(NULL, "outbox: %s cannot be sent: %s", name, text);
		move_to(d->outbox_dir, ".failed", name, text);
		*refused = 1;
	} else if (rc > 0) {
		for (size_t i = 0; i + 1 < report.len; i++)
			if (report.data[i] == '\n')
				report.data[i] = ';';	/* one log line */
		rl_log_info(NULL, "outbox: %s converted to %s%s%.*s", name, written, report.len ? "; not carried: " : "",
			    (int)(report.len > 400 ? 400 : report.len), report.data ? report.data : "");
	}
	rl_buf_free(&report);
	return written;
}

static void queue_file(struct rl_daemon *d, struct rl_store *st, const struct rl_relay_table *relay,
		       const char *name, const struct stat *sb)
{
	struct rl_store_submission sub = { 0 };
	char path[4096], message_id[128], source[512];
	char *queued_id = NULL, *converted;
	struct rl_err err;
	int64_t id;
	int refused;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", d->outbox_dir, name);
	converted = relay_prepare(d, relay, name, path, &refused);
	if (refused)
		return;
	fp = fopen(converted ? converted : path, "rb");
	if (fp == NULL) {
		rl_log_error(NULL, "outbox: cannot open %s: %s", converted ? converted : path, strerror(errno));
		free(converted);
		return;
	}
	message_id_of(name, sb, message_id, sizeof(message_id));
	snprintf(source, sizeof(source), "outbox:%s", name);
	sub.message_id = message_id;
	sub.payload = fp;
	sub.payload_mime_type = "application/xml";
	sub.source = source;
	if (rl_store_outbound_submit(st, &sub, &id, &queued_id, &err) == 0) {
		rl_log_info(queued_id, "queued from the outbox file %s", name);
		move_to(d->outbox_dir, ".queued", name, NULL);
	} else if (err.code == RL_EBMS_VALUE_INCONSISTENT) {
		/* Queued before a crash that left the file here. */
		rl_log_info(message_id, "outbox file %s was already queued", name);
		move_to(d->outbox_dir, ".queued", name, NULL);
	} else if (err.code == RL_ERR_DB || err.code == RL_ERR_NOMEM) {
		rl_log_warn(NULL, "outbox: %s stays for the next scan: %s", name, err.msg);
		if (converted)
			unlink(converted);
	} else {
		char text[RL_ERR_MSG_MAX + 64];

		rl_err_format(&err, text, sizeof(text));
		rl_log_error(NULL, "outbox: %s refused: %s", name, text);
		move_to(d->outbox_dir, ".failed", name, text);
		if (converted)
			unlink(converted);
	}
	free(converted);
	free(queued_id);
	fclose(fp);
}

static void scan_outbox(struct rl_daemon *d, struct rl_store *st, const struct rl_relay_table *relay)
{
	DIR *dir = opendir(d->outbox_dir);
	struct dirent *de;
	time_t now = time(NULL);

	if (dir == NULL) {
		rl_log_error(NULL, "outbox: cannot read %s: %s", d->outbox_dir, strerror(errno));
		return;
	}
	while ((de = readdir(dir)) != NULL && !atomic_load(&d->stopping)) {
		char path[4096];
		struct stat sb;

		if (de->d_name[0] == '.' || ends_with(de->d_name, ".tmp") || ends_with(de->d_name, ".part"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->outbox_dir, de->d_name);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_mtime >= now)
			continue;	/* gone, not a file, or still being written */
		queue_file(d, st, relay, de->d_name, &sb);
	}
	closedir(dir);
}

void *rl_outbox_thread(void *arg)
{
	struct rl_daemon *d = arg;
	struct rl_err err;

	while (!atomic_load(&d->stopping)) {
		struct rl_store *st = rl_daemon_store(d, &err);

		if (st == NULL) {
			rl_log_warn(NULL, "outbox: %s", err.msg);
		} else {
			/* The relay routes in force for this scan (SIGHUP may replace them meanwhile). */
			struct rl_keyring *keys = rl_daemon_keyring(d);

			scan_outbox(d, st, keys->relay);
			rl_keyring_put(d, keys);
		}
		sleep(OUTBOX_SCAN_SECONDS);
	}
	return NULL;
}

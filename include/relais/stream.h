/*
 * stream.h - the one shape every streaming stage has: a sink that takes bytes.
 *
 * Payloads flow through chains of sinks (gzip -> digest -> AES-GCM -> file, and back), so no stage
 * ever holds a whole payload. A sink's write returns 0, or -1 with err filled.
 */
#ifndef RELAIS_STREAM_H
#define RELAIS_STREAM_H

#include <stddef.h>
#include <stdio.h>
#include "relais/err.h"

typedef int (*rl_write_fn)(void *ctx, const unsigned char *data, size_t len, struct rl_err *err);

struct rl_sink {
	rl_write_fn write;
	void *ctx;
};

static inline int rl_sink_write(const struct rl_sink *s, const void *data, size_t len,
				struct rl_err *err)
{
	return s->write(s->ctx, (const unsigned char *)data, len, err);
}

/* A sink that appends to a stdio FILE (ctx is the FILE *). */
int rl_sink_file_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err);
/* A sink that appends to an rl_buf (ctx is the struct rl_buf *). */
int rl_sink_buf_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err);
/* A sink that discards. */
int rl_sink_null_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err);

/* Copies a whole FILE into a sink in fixed-size chunks. */
int rl_stream_copy_file(FILE *in, const struct rl_sink *out, struct rl_err *err);

/* A spool: a temporary stream beside `near_path` (or in TMPDIR when NULL), opened "w+b". The first
 * RL_SPOOL_MEMORY_MAX bytes are kept in memory; past that it moves to a file created and unlinked at once
 * in that directory, so nothing is left behind whatever happens. fileno() does not apply to it. */
#define RL_SPOOL_MEMORY_MAX (256 * 1024)
FILE *rl_tmpfile(const char *near_path, struct rl_err *err);

/* Atomic output: write to DIR/.NAME.tmp-XXXXXX (hidden), then rl_outfile_commit() fsyncs and renames it to PATH,
 * and fsyncs DIR so that the rename is durable too; rl_outfile_abort() removes it. Nothing half-written ever
 * appears under PATH. Many files written into one directory in a row may set defer_dir_sync after
 * rl_outfile_open(): their renames are then durable only after one rl_sync_dir(DIR) for all of them. */
struct rl_outfile {
	FILE *fp;
	char *path;
	char *tmp_path;
	int defer_dir_sync;
};
int rl_outfile_open(struct rl_outfile *of, const char *path, struct rl_err *err);
int rl_outfile_commit(struct rl_outfile *of, struct rl_err *err);
void rl_outfile_abort(struct rl_outfile *of);
int rl_sync_dir(const char *dir, struct rl_err *err);

#endif

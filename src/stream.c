/* stream.c - basic sinks, temporary files and atomic output files. See include/relais/stream.h. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "relais/buf.h"
#include "relais/stream.h"

int rl_sink_file_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	if (len && fwrite(data, 1, len, (FILE *)ctx) != len)
		return rl_err_set(err, RL_ERR_IO, "write failed: %s", strerror(errno));
	return 0;
}

int rl_sink_buf_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	if (rl_buf_append((struct rl_buf *)ctx, data, len) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

int rl_sink_null_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	return 0;
}

int rl_stream_copy_file(FILE *in, const struct rl_sink *out, struct rl_err *err)
{
	unsigned char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		if (rl_sink_write(out, chunk, n, err) < 0)
			return -1;
	if (ferror(in))
		return rl_err_set(err, RL_ERR_IO, "read failed: %s", strerror(errno));
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	char *d;

	if (path == NULL) {
		const char *t = getenv("TMPDIR");
		return strdup(t && *t ? t : "/tmp");
	}
	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	d = strndup(path, (size_t)(slash - path));
	return d;
}

/*
 * Spool files: the first RL_SPOOL_MEMORY_MAX bytes live in memory; a spool that grows past that moves
 * to an unlinked temporary file (so small messages never touch the file system, and large ones never
 * sit in memory). A stdio stream over this through fopencookie().
 */
struct spool {
	char *dir;		/* where the file goes if it spills */
	unsigned char *mem;
	size_t cap;
	off64_t len, pos;
	int fd;			/* -1 while in memory */
};

static int spool_spill(struct spool *sp)
{
	char *tmpl = NULL;
	int fd;

	if (asprintf(&tmpl, "%s/.relais-tmp-XXXXXX", sp->dir) < 0)
		return -1;
	fd = mkstemp(tmpl);
	if (fd < 0) {
		free(tmpl);
		return -1;
	}
	unlink(tmpl);
	free(tmpl);
	for (off64_t done = 0; done < sp->len;) {
		ssize_t n = pwrite(fd, sp->mem + done, (size_t)(sp->len - done), done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		done += n;
	}
	free(sp->mem);
	sp->mem = NULL;
	sp->cap = 0;
	sp->fd = fd;
	return 0;
}

static ssize_t spool_write(void *cookie, const char *buf, size_t size)
{
	struct spool *sp = cookie;

	if (sp->fd < 0 && sp->pos + (off64_t)size > RL_SPOOL_MEMORY_MAX && spool_spill(sp) < 0)
		return -1;
	if (sp->fd >= 0) {
		ssize_t n = pwrite(sp->fd, buf, size, sp->pos);

		if (n < 0)
			return -1;
		size = (size_t)n;
	} else {
		size_t need = (size_t)sp->pos + size;

		if (need > sp->cap) {
			size_t cap = sp->cap ? sp->cap : 16384;
			unsigned char *grown;

			while (cap < need)
				cap *= 2;
			grown = realloc(sp->mem, cap);
			if (grown == NULL)
				return -1;
			sp->mem = grown;
			sp->cap = cap;
		}
		if (sp->pos > sp->len)
			memset(sp->mem + sp->len, 0, (size_t)(sp->pos - sp->len));
		memcpy(sp->mem + sp->pos, buf, size);
	}
	sp->pos += (off64_t)size;
	if (sp->pos > sp->len)
		sp->len = sp->pos;
	return (ssize_t)size;
}

static ssize_t spool_read(void *cookie, char *buf, size_t size)
{
	struct spool *sp = cookie;
	ssize_t n;

	if (sp->fd >= 0) {
		n = pread(sp->fd, buf, size, sp->pos);
		if (n < 0)
			return -1;
	} else {
		n = sp->pos >= sp->len ? 0 : (ssize_t)((off64_t)size < sp->len - sp->pos ? (off64_t)size : sp->len - sp->pos);
		if (n > 0)
			memcpy(buf, sp->mem + sp->pos, (size_t)n);
	}
	sp->pos += n;
	return n;
}

static int spool_seek(void *cookie, off64_t *offset, int whence)
{
	struct spool *sp = cookie;
	off64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? sp->pos : sp->len;

	if (base + *offset < 0) {
		errno = EINVAL;
		return -1;
	}
	sp->pos = base + *offset;
	*offset = sp->pos;
	return 0;
}

static int spool_close(void *cookie)
{
	struct spool *sp = cookie;

	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->mem);
	free(sp->dir);
	free(sp);
	return 0;
}

FILE *rl_tmpfile(const char *near_path, struct rl_err *err)
{
	static const cookie_io_functions_t io = { spool_read, spool_write, spool_seek, spool_close };
	struct spool *sp = calloc(1, sizeof(*sp));
	FILE *fp;

	if (sp == NULL || (sp->dir = dir_of(near_path)) == NULL) {
		free(sp);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	sp->fd = -1;
	fp = fopencookie(sp, "w+b", io);
	if (fp == NULL) {
		spool_close(sp);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return fp;
}

int rl_outfile_open(struct rl_outfile *of, const char *path, struct rl_err *err)
{
	int fd;

	memset(of, 0, sizeof(*of));
	of->path = strdup(path);
	/* A hidden name beside the final one: programs watching the directory skip dot files. */
	{
		const char *slash = strrchr(path, '/');
		int dir_len = slash ? (int)(slash - path + 1) : 0;

		if (of->path != NULL &&
		    asprintf(&of->tmp_path, "%.*s.%s.tmp-XXXXXX", dir_len, path, path + dir_len) < 0)
			of->tmp_path = NULL;
	}
	if (of->path == NULL || of->tmp_path == NULL) {
		free(of->path);
		of->path = NULL;
		of->tmp_path = NULL;
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	fd = mkstemp(of->tmp_path);
	if (fd < 0) {
		rl_err_set(err, RL_ERR_IO, "cannot create %s: %s", of->tmp_path, strerror(errno));
		free(of->path);
		free(of->tmp_path);
		memset(of, 0, sizeof(*of));
		return -1;
	}
	fchmod(fd, 0644); /* mkstemp makes 0600; outputs are ordinary files */
	of->fp = fdopen(fd, "wb");
	if (of->fp == NULL) {
		close(fd);
		unlink(of->tmp_path);
		rl_err_set(err, RL_ERR_IO, "fdopen: %s", strerror(errno));
		free(of->path);
		free(of->tmp_path);
		memset(of, 0, sizeof(*of));
		return -1;
	}
	return 0;
}

/* Makes a rename durable: fsync of the directory holding path. */
static int sync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int rl_sync_dir(const char *dir, struct rl_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0) {
		rl_err_set(err, RL_ERR_IO, "cannot sync the directory %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int rl_outfile_commit(struct rl_outfile *of, struct rl_err *err)
{
	int rc = 0;

	if (fflush(of->fp) != 0 || fsync(fileno(of->fp)) != 0)
		rc = rl_err_set(err, RL_ERR_IO, "cannot write %s: %s", of->path, strerror(errno));
	if (fclose(of->fp) != 0 && rc == 0)
		rc = rl_err_set(err, RL_ERR_IO, "cannot write %s: %s", of->path, strerror(errno));
	of->fp = NULL;
	if (rc == 0 && rename(of->tmp_path, of->path) != 0)
		rc = rl_err_set(err, RL_ERR_IO, "cannot rename to %s: %s", of->path, strerror(errno));
	if (rc == 0 && !of->defer_dir_sync && sync_parent_dir(of->path) < 0)
		rc = rl_err_set(err, RL_ERR_IO, "cannot sync the directory of %s: %s", of->path, strerror(errno));
	if (rc != 0)
		unlink(of->tmp_path);
	free(of->path);
	free(of->tmp_path);
	of->path = of->tmp_path = NULL;
	return rc;
}

void rl_outfile_abort(struct rl_outfile *of)
{
	if (of->fp) {
		fclose(of->fp);
		of->fp = NULL;
	}
	if (of->tmp_path)
		unlink(of->tmp_path);
	free(of->path);
	free(of->tmp_path);
	of->path = of->tmp_path = NULL;
}

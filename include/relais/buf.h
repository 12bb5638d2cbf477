/*
 * buf.h - a growable byte buffer for small things (XML headers, strings, HTTP bodies of signals).
 * Payloads never go through an rl_buf: they stream (see stream.h).
 * The buffer owns `data`; rl_buf_free() releases it. `data` is always NUL-terminated.
 */
#ifndef RELAIS_BUF_H
#define RELAIS_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct rl_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define RL_BUF_INIT { NULL, 0, 0 }

int rl_buf_reserve(struct rl_buf *b, size_t extra);
int rl_buf_append(struct rl_buf *b, const void *p, size_t n);
int rl_buf_puts(struct rl_buf *b, const char *s);
int rl_buf_printf(struct rl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rl_buf_vprintf(struct rl_buf *b, const char *fmt, va_list ap);
void rl_buf_reset(struct rl_buf *b);
/* Hands the data to the caller (who frees it with free()) and empties the buffer. */
char *rl_buf_steal(struct rl_buf *b);
void rl_buf_free(struct rl_buf *b);

/* Reads a whole small file (bounded by max) into b. Returns 0, or -1 with errno set (EFBIG if larger). */
int rl_buf_read_file(struct rl_buf *b, const char *path, size_t max);

#endif

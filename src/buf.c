/* buf.c - growable byte buffer. See include/relais/buf.h. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/buf.h"

int rl_buf_reserve(struct rl_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > (size_t)-1 / 2 - b->len)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int rl_buf_append(struct rl_buf *b, const void *p, size_t n)
{
	if (rl_buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int rl_buf_puts(struct rl_buf *b, const char *s)
{
	return rl_buf_append(b, s, strlen(s));
}

int rl_buf_vprintf(struct rl_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || rl_buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int rl_buf_printf(struct rl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = rl_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void rl_buf_reset(struct rl_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *rl_buf_steal(struct rl_buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void rl_buf_free(struct rl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int rl_buf_read_file(struct rl_buf *b, const char *path, size_t max)
{
	char chunk[16384];
	size_t n;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (b->len + n > max) {
			fclose(fp);
			errno = EFBIG;
			return -1;
		}
		if (rl_buf_append(b, chunk, n) < 0) {
			fclose(fp);
			errno = ENOMEM;
			return -1;
		}
	}
	if (ferror(fp)) {
		fclose(fp);
		errno = EIO;
		return -1;
	}
	fclose(fp);
	if (b->data == NULL && rl_buf_reserve(b, 0) < 0)
		return -1;
	return 0;
}

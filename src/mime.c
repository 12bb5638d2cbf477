/*
 * mime.c - streaming MIME multipart/related reader (push parser, constant memory) and writer.
 * See include/relais/mime.h for the contract.
 *
 * The reader scans for the delimiter "\n--boundary" byte by byte; the CR of a CRLF before it and a
 * partial match are held back as a count (the held bytes are known: a CR and a delimiter prefix), so
 * only header blocks are ever buffered.
 * In entity mode a file starting with '<' (or a UTF-8 BOM) is taken as a bare XML body without
 * headers: one root part whose Content-Type is absent ("text/plain" per the contract).
 */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/rand.h>
#include "relais/buf.h"
#include "relais/mime.h"

#define MIME_ERR RL_EBMS_MIME_INCONSISTENCY
#define OUT_CHUNK 8192

/* ---------------------------------------------------------------- header value helpers */

char *rl_mime_header_param(const char *header_value, const char *name)
{
	const char *p;
	size_t name_len = strlen(name);

	if (header_value == NULL)
		return NULL;
	p = header_value;
	/* skip the media type itself, honouring quotes (there are none there in practice) */
	for (;;) {
		const char *pname, *pname_end;
		struct rl_buf val = RL_BUF_INIT;

		while (*p && *p != ';') {
			if (*p == '"') {
				for (p++; *p && *p != '"'; p++)
					if (*p == '\\' && p[1])
						p++;
				if (*p)
					p++;
			} else {
				p++;
			}
		}
		if (*p != ';')
			return NULL;
		p++;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		pname = p;
		while (*p && *p != '=' && *p != ';')
			p++;
		pname_end = p;
		while (pname_end > pname && (pname_end[-1] == ' ' || pname_end[-1] == '\t'))
			pname_end--;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if ((size_t)(pname_end - pname) != name_len || strncasecmp(pname, name, name_len) != 0)
			continue;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (rl_buf_append(&val, p, 1) < 0)
					goto nomem;
			}
		} else {
			const char *start = p, *end;

			while (*p && *p != ';')
				p++;
			end = p;
			while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			if (rl_buf_append(&val, start, (size_t)(end - start)) < 0)
				goto nomem;
		}
		if (val.data == NULL)
			return strdup("");
		return rl_buf_steal(&val);
nomem:
		rl_buf_free(&val);
		return NULL;
	}
}

char *rl_mime_media_type(const char *header_value)
{
	const char *s = header_value, *e;
	char *out;

	if (s == NULL)
		return NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s;
	while (*e && *e != ';' && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n')
		e++;
	out = strndup(s, (size_t)(e - s));
	if (out)
		for (char *c = out; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	return out;
}

/* ---------------------------------------------------------------- reader */

enum reader_state {
	ST_ENTITY_HEADERS,	/* top-level headers (entity mode) */
	ST_SINGLE,		/* non-multipart body: everything is the root part */
	ST_PREAMBLE,		/* before the first delimiter */
	ST_AFTER_DELIM,		/* just matched a delimiter: "--" or padding and a line end follow */
	ST_PART_HEADERS,
	ST_PART_BODY,
	ST_EPILOGUE,		/* after the closing delimiter */
	ST_FAILED
};

enum transfer_decoding { DEC_BINARY, DEC_BASE64, DEC_QP };

struct rl_mime_reader {
	struct rl_mime_callbacks cb;
	void *ctx;
	struct rl_mime_limits limits;
	enum reader_state state;
	unsigned long long total;

	char *content_type;	/* top-level */
	char *boundary;
	char *start_id;		/* `start` parameter without <> */
	char *start_param;	/* `start` as written (unquoted) */
	char *type_param;
	struct rl_buf top_header_block;	/* kept in entity mode for the single-part case */
	struct rl_mime_header top_headers[RL_MIME_MAX_HEADERS];
	int top_header_count;
	int top_is_multipart;
	char *top_transfer_encoding;

	char *delim;		/* "\n--" boundary */
	size_t delim_len;
	size_t match;		/* delimiter bytes matched so far */
	int held_cr;		/* a CR is held back before the match */
	int virtual_lf;		/* delim[0] was not in the input (start of body) */
	int after_delim_pos;	/* ST_AFTER_DELIM: 0 at start, 1 after one '-', 2 in padding, 3 after CR */

	struct rl_buf headers;	/* the header block being read */
	int part_count;
	int in_part;
	int root_found;
	int single_begun;

	/* transfer decoding of the current part */
	enum transfer_decoding dec;
	unsigned int b64_bits;
	int b64_count;
	int b64_pad;
	int qp_state;		/* 0 normal, 1 after '=', 2 after '=X', 3 after '=' + CR, 4 '=' + blanks */
	int qp_hi;
	unsigned char qp_ws[80];	/* white space held back */
	size_t qp_ws_len;
	unsigned char out[OUT_CHUNK];
	size_t out_len;
	/* raw body bytes before decoding are batched here */
	unsigned char raw[OUT_CHUNK];
	size_t raw_len;
};

static int fail(struct rl_mime_reader *r, struct rl_err *err)
{
	r->state = ST_FAILED;
	return -1;
}

static int flush_out(struct rl_mime_reader *r, struct rl_err *err)
{
	if (r->out_len == 0)
		return 0;
	size_t n = r->out_len;

	r->out_len = 0;
	if (r->cb.part_data && r->cb.part_data(r->ctx, r->out, n, err) < 0)
		return -1;
	return 0;
}

static int put_out(struct rl_mime_reader *r, unsigned char c, struct rl_err *err)
{
	r->out[r->out_len++] = c;
	if (r->out_len == sizeof(r->out))
		return flush_out(r, err);
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int flush_qp_ws(struct rl_mime_reader *r, struct rl_err *err)
{
	for (size_t i = 0; i < r->qp_ws_len; i++)
		if (put_out(r, r->qp_ws[i], err) < 0)
			return -1;
	r->qp_ws_len = 0;
	return 0;
}

/* Decodes (per the part's transfer encoding) and passes raw content bytes on. */
static int decode(struct rl_mime_reader *r, const unsigned char *p, size_t n, struct rl_err *err)
{
	if (r->dec == DEC_BINARY) {
		if (n == 0)
			return 0;
		if (flush_out(r, err) < 0)
			return -1;
		return r->cb.part_data ? r->cb.part_data(r->ctx, p, n, err) : 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (r->dec == DEC_BASE64) {
			int v;

			if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
				continue;
			if (c == '=') {
				r->b64_pad++;
				continue;
			}
			v = b64_value(c);
			if (v < 0 || r->b64_pad)
				return rl_err_set(err, MIME_ERR, "part %d: invalid base64 content",
						  r->part_count - 1);
			r->b64_bits = (r->b64_bits << 6) | (unsigned int)v;
			if (++r->b64_count == 4) {
				if (put_out(r, (unsigned char)(r->b64_bits >> 16), err) < 0 ||
				    put_out(r, (unsigned char)(r->b64_bits >> 8), err) < 0 ||
				    put_out(r, (unsigned char)r->b64_bits, err) < 0)
					return -1;
				r->b64_bits = 0;
				r->b64_count = 0;
			}
		} else {	/* quoted-printable */
			switch (r->qp_state) {
			case 0:
				/* white space is held back: it is dropped when it ends a line (RFC 2045) */
				if (c == ' ' || c == '\t') {
					if (r->qp_ws_len == sizeof(r->qp_ws) && flush_qp_ws(r, err) < 0)
						return -1;
					r->qp_ws[r->qp_ws_len++] = c;
					break;
				}
				if (c == '\r' || c == '\n')
					r->qp_ws_len = 0;
				else if (flush_qp_ws(r, err) < 0)
					return -1;
				if (c == '=')
					r->qp_state = 1;
				else if (put_out(r, c, err) < 0)
					return -1;
				break;
			case 4:		/* white space after '=': only a line end may follow */
				if (c == ' ' || c == '\t')
					break;
				/* fall through */
			case 1:
				if (c == '\n') {
					r->qp_state = 0;	/* soft line break */
				} else if (c == ' ' || c == '\t') {
					r->qp_state = 4;
				} else if (c == '\r') {
					r->qp_state = 3;
				} else if (r->qp_state == 1 && hex_value(c) >= 0) {
					r->qp_hi = hex_value(c);
					r->qp_state = 2;
				} else {
					return rl_err_set(err, MIME_ERR,
							  "part %d: invalid quoted-printable escape",
							  r->part_count - 1);
				}
				break;
			case 2:
				if (hex_value(c) < 0)
					return rl_err_set(err, MIME_ERR,
							  "part %d: invalid quoted-printable escape",
							  r->part_count - 1);
				if (put_out(r, (unsigned char)(r->qp_hi * 16 + hex_value(c)), err) < 0)
					return -1;
				r->qp_state = 0;
				break;
			case 3:
				if (c != '\n')
					return rl_err_set(err, MIME_ERR,
							  "part %d: invalid quoted-printable soft line break",
							  r->part_count - 1);
				r->qp_state = 0;
				break;
			}
		}
	}
	return 0;
}

static int flush_raw(struct rl_mime_reader *r, struct rl_err *err)
{
	size_t n = r->raw_len;

	r->raw_len = 0;
	return decode(r, r->raw, n, err);
}

static int put_raw(struct rl_mime_reader *r, const unsigned char *p, size_t n, struct rl_err *err)
{
	if (r->raw_len + n > sizeof(r->raw)) {
		if (flush_raw(r, err) < 0)
			return -1;
		if (n > sizeof(r->raw))
			return decode(r, p, n, err);
	}
	memcpy(r->raw + r->raw_len, p, n);
	r->raw_len += n;
	return 0;
}

/* Ends the current part's content: flushes decoders and tells part_end. */
static int end_part(struct rl_mime_reader *r, struct rl_err *err)
{
	if (flush_raw(r, err) < 0)
		return -1;
	if (r->dec == DEC_BASE64) {
		if (r->b64_count == 1)
			return rl_err_set(err, MIME_ERR, "part %d: truncated base64 content", r->part_count - 1);
		if (r->b64_count == 2 && put_out(r, (unsigned char)(r->b64_bits >> 4), err) < 0)
			return -1;
		if (r->b64_count == 3 &&
		    (put_out(r, (unsigned char)(r->b64_bits >> 10), err) < 0 ||
		     put_out(r, (unsigned char)(r->b64_bits >> 2), err) < 0))
			return -1;
	} else if (r->dec == DEC_QP && (r->qp_state == 2 || r->qp_state == 1)) {
		return rl_err_set(err, MIME_ERR, "part %d: truncated quoted-printable escape", r->part_count - 1);
	}
	if (flush_out(r, err) < 0)
		return -1;
	r->in_part = 0;
	if (r->cb.part_end && r->cb.part_end(r->ctx, err) < 0)
		return -1;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	*e = '\0';
	return s;
}

/*
 * Splits a header block (NUL-terminated, modified in place) into headers. Continuation lines are
 * unfolded. skip_request_line: ignore a first line that is an HTTP status or request line.
 * Headers beyond RL_MIME_MAX_HEADERS are an error.
 */
static int parse_header_block(char *block, struct rl_mime_header *hdrs, int *count, int skip_request_line,
			      struct rl_err *err)
{
	char *p = block, *w;
	int n = 0;

	if (skip_request_line) {
		char *eol = strchr(p, '\n');
		size_t line_len = eol ? (size_t)(eol - p) : strlen(p);
		char *colon = memchr(p, ':', line_len);
		char *space = memchr(p, ' ', line_len);

		/* "HTTP/1.1 200 OK" or "POST /as4 HTTP/1.1" (no colon before the first space) */
		if ((line_len >= 5 && strncmp(p, "HTTP/", 5) == 0) ||
		    (memmem(p, line_len, " HTTP/", 6) != NULL && space && (colon == NULL || colon > space)))
			p = eol ? eol + 1 : p + line_len;
	}
	/* unfold: copy lines, joining continuation lines with one space */
	w = p;
	while (*p) {
		char *eol = strchr(p, '\n');
		char *line_end = eol ? eol : p + strlen(p);
		char *next = eol ? eol + 1 : line_end;
		char *le = line_end;

		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) {	/* blank line: end of block */
			break;
		}
		if (*p == ' ' || *p == '\t') {
			if (n == 0)
				return rl_err_set(err, MIME_ERR, "header block starts with a continuation line");
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
			/* replace the previous line's terminating NUL by a space */
			w[-1] = ' ';
			memmove(w, p, (size_t)(le - p));
			w += le - p;
			*w++ = '\0';
		} else {
			char *colon = memchr(p, ':', (size_t)(le - p));

			if (colon == NULL)
				return rl_err_set(err, MIME_ERR, "malformed header line (no colon)");
			if (n == RL_MIME_MAX_HEADERS)
				return rl_err_set(err, MIME_ERR, "more than %d headers", RL_MIME_MAX_HEADERS);
			hdrs[n].name = w;
			memmove(w, p, (size_t)(le - p));
			hdrs[n].value = w + (colon - p) + 1;
			w[colon - p] = '\0';
			w += le - p;
			*w++ = '\0';
			n++;
		}
		p = next;
	}
	for (int i = 0; i < n; i++) {
		hdrs[i].name = trim(hdrs[i].name);
		hdrs[i].value = trim(hdrs[i].value);
		if (hdrs[i].name[0] == '\0')
			return rl_err_set(err, MIME_ERR, "header with an empty name");
	}
	*count = n;
	return 0;
}

static const char *find_header(const struct rl_mime_header *h, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

static char *strip_angles(const char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '<')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len && s[len - 1] == '>')
		len--;
	return strndup(s, len);
}

static int set_decoding(struct rl_mime_reader *r, const char *te, struct rl_err *err)
{
	r->b64_bits = 0;
	r->b64_count = 0;
	r->b64_pad = 0;
	r->qp_state = 0;
	r->qp_ws_len = 0;
	if (strcmp(te, "base64") == 0)
		r->dec = DEC_BASE64;
	else if (strcmp(te, "quoted-printable") == 0)
		r->dec = DEC_QP;
	else if (strcmp(te, "binary") == 0 || strcmp(te, "8bit") == 0 || strcmp(te, "7bit") == 0)
		r->dec = DEC_BINARY;
	else
		return rl_err_set(err, MIME_ERR, "unknown Content-Transfer-Encoding \"%s\"", te);
	return 0;
}

/* Builds the part description from headers and calls part_begin. */
static int begin_part(struct rl_mime_reader *r, const struct rl_mime_header *hdrs, int count, int is_root,
		      struct rl_err *err)
{
	struct rl_mime_part part;
	const char *ct = find_header(hdrs, count, "Content-Type");
	const char *cid = find_header(hdrs, count, "Content-ID");
	const char *te = find_header(hdrs, count, "Content-Transfer-Encoding");
	char *media = NULL, *cid_bare = NULL, *te_lower = NULL;
	int rc = -1;

	if (r->part_count >= r->limits.max_parts)
		return rl_err_set(err, MIME_ERR, "more than %d parts", r->limits.max_parts);
	if (ct == NULL || *ct == '\0')
		ct = "text/plain";
	media = rl_mime_media_type(ct);
	cid_bare = cid ? strip_angles(cid) : NULL;
	te_lower = rl_mime_media_type(te && *te ? te : "binary");
	if (media == NULL || te_lower == NULL || (cid && cid_bare == NULL)) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (set_decoding(r, te_lower, err) < 0)
		goto out;
	if (is_root < 0) {
		if (r->start_id)
			is_root = cid_bare && strcmp(cid_bare, r->start_id) == 0 && !r->root_found;
		else
			is_root = r->part_count == 0;
	}
	if (is_root)
		r->root_found = 1;
	part.index = r->part_count++;
	part.is_root = is_root;
	part.content_type = ct;
	part.media_type = media;
	part.content_id = cid_bare;
	part.transfer_encoding = te_lower;
	part.headers = hdrs;
	part.header_count = count;
	r->in_part = 1;
	rc = r->cb.part_begin ? r->cb.part_begin(r->ctx, &part, err) : 0;
out:
	free(media);
	free(cid_bare);
	free(te_lower);
	return rc;
}

/* Sets up from the top-level Content-Type: multipart (boundary) or single part. */
static int setup_top(struct rl_mime_reader *r, const char *content_type, struct rl_err *err)
{
	char *media;

	r->content_type = strdup(content_type ? content_type : "text/plain");
	media = rl_mime_media_type(r->content_type);
	if (r->content_type == NULL || media == NULL) {
		free(media);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	r->top_is_multipart = strncmp(media, "multipart/", 10) == 0;
	free(media);
	if (!r->top_is_multipart) {
		r->state = ST_SINGLE;
		return 0;
	}
	r->boundary = rl_mime_header_param(r->content_type, "boundary");
	if (r->boundary == NULL || r->boundary[0] == '\0')
		return rl_err_set(err, MIME_ERR, "multipart Content-Type without a boundary parameter");
	if (strlen(r->boundary) > 200 || strpbrk(r->boundary, "\r\n") != NULL)
		return rl_err_set(err, MIME_ERR, "invalid multipart boundary");
	{
		char *start = rl_mime_header_param(r->content_type, "start");

		r->type_param = rl_mime_header_param(r->content_type, "type");
		if (start) {
			r->start_id = strip_angles(start);
			r->start_param = start;
			if (r->start_id == NULL)
				return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			if (r->start_id[0] == '\0') {
				free(r->start_id);
				r->start_id = NULL;
			}
		}
	}
	r->delim_len = strlen(r->boundary) + 3;
	r->delim = malloc(r->delim_len + 1);
	if (r->delim == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	snprintf(r->delim, r->delim_len + 1, "\n--%s", r->boundary);
	r->state = ST_PREAMBLE;
	r->match = 1;		/* the body may start with the delimiter */
	r->virtual_lf = 1;
	r->held_cr = 0;
	return 0;
}

struct rl_mime_reader *rl_mime_reader_new(const char *content_type, const struct rl_mime_limits *limits,
					  const struct rl_mime_callbacks *cb, void *ctx, struct rl_err *err)
{
	struct rl_mime_reader *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (cb)
		r->cb = *cb;
	r->ctx = ctx;
	r->limits.max_header_bytes = 64 * 1024;
	r->limits.max_parts = 64;
	if (limits) {
		if (limits->max_header_bytes)
			r->limits.max_header_bytes = limits->max_header_bytes;
		if (limits->max_parts > 0)
			r->limits.max_parts = limits->max_parts;
		r->limits.max_total = limits->max_total;
	}
	if (content_type == NULL) {
		r->state = ST_ENTITY_HEADERS;
		return r;
	}
	if (setup_top(r, content_type, err) < 0) {
		rl_mime_reader_free(r);
		return NULL;
	}
	return r;
}

/*
 * Appends header bytes from p until the blank line ending the block. Returns the number of bytes
 * consumed, and sets *done when the block is complete. -1 on error.
 */
static long take_header_bytes(struct rl_mime_reader *r, const unsigned char *p, size_t n, int *done,
			      struct rl_err *err)
{
	size_t i = 0;

	*done = 0;
	while (i < n) {
		const unsigned char *nl = memchr(p + i, '\n', n - i);
		size_t take = nl ? (size_t)(nl - (p + i)) + 1 : n - i;

		if (r->headers.len + take > r->limits.max_header_bytes)
			return rl_err_set(err, MIME_ERR, "header block larger than %zu bytes",
					  r->limits.max_header_bytes);
		if (rl_buf_append(&r->headers, p + i, take) < 0)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		i += take;
		if (nl) {
			const char *d = r->headers.data;
			size_t len = r->headers.len;

			if ((len == 1) || (len == 2 && d[0] == '\r') ||
			    (len >= 2 && d[len - 2] == '\n') ||
			    (len >= 3 && d[len - 2] == '\r' && d[len - 3] == '\n')) {
				*done = 1;
				break;
			}
		}
	}
	return (long)i;
}

static int top_headers_done(struct rl_mime_reader *r, struct rl_err *err)
{
	const char *ct, *te;

	r->top_header_block = r->headers;
	r->headers = (struct rl_buf)RL_BUF_INIT;
	if (parse_header_block(r->top_header_block.data, r->top_headers, &r->top_header_count, 1, err) < 0)
		return rl_err_prefix(err, "top-level headers");
	ct = find_header(r->top_headers, r->top_header_count, "Content-Type");
	te = find_header(r->top_headers, r->top_header_count, "Content-Transfer-Encoding");
	if (te && *te && (r->top_transfer_encoding = rl_mime_media_type(te)) == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return setup_top(r, ct && *ct ? ct : NULL, err);
}

static int begin_single(struct rl_mime_reader *r, struct rl_err *err)
{
	struct rl_mime_header synth;

	r->single_begun = 1;
	if (r->top_header_block.data)
		return begin_part(r, r->top_headers, r->top_header_count, 1, err);
	synth.name = (char *)"Content-Type";
	synth.value = r->content_type;
	return begin_part(r, &synth, 1, 1, err);
}

/* Scans body bytes for the delimiter; content bytes go to the decoder unless in the preamble. */
static long scan_body(struct rl_mime_reader *r, const unsigned char *p, size_t n, int *found,
		      struct rl_err *err)
{
	int keep = r->state == ST_PART_BODY;
	size_t i = 0;

	*found = 0;
	while (i < n) {
		unsigned char c = p[i];

		if (r->match == 0 && !r->held_cr) {
			/* fast path: a run with no CR or LF is content */
			size_t j = i;

			while (j < n && p[j] != '\r' && p[j] != '\n')
				j++;
			if (j > i) {
				if (keep && put_raw(r, p + i, j - i, err) < 0)
					return -1;
				i = j;
				continue;
			}
		}
		i++;
		if (r->match < r->delim_len && c == (unsigned char)r->delim[r->match] &&
		    (r->match > 0 || c == '\n')) {
			r->match++;
			if (r->match == r->delim_len) {
				*found = 1;
				r->match = 0;
				r->held_cr = 0;
				r->virtual_lf = 0;
				return (long)i;
			}
			continue;
		}
		/* mismatch: release what was held back, then look at c afresh */
		if (keep) {
			if (r->held_cr && put_raw(r, (const unsigned char *)"\r", 1, err) < 0)
				return -1;
			if (r->match > (size_t)r->virtual_lf &&
			    put_raw(r, (const unsigned char *)r->delim + r->virtual_lf,
				    r->match - (size_t)r->virtual_lf, err) < 0)
				return -1;
		}
		r->held_cr = 0;
		r->match = 0;
		r->virtual_lf = 0;
		if (c == '\n') {
			r->match = 1;
		} else if (c == '\r') {
			r->held_cr = 1;
		} else if (keep && put_raw(r, &c, 1, err) < 0) {
			return -1;
		}
	}
	return (long)i;
}

static int feed(struct rl_mime_reader *r, const unsigned char *p, size_t n, struct rl_err *err)
{
	while (n > 0) {
		long used = 0;
		int done;

		switch (r->state) {
		case ST_FAILED:
			return rl_err_set(err, MIME_ERR, "reader already failed");
		case ST_ENTITY_HEADERS:
			if (r->headers.len == 0 && (p[0] == '<' || p[0] == 0xEF)) {
				/* a bare XML file (perhaps with a BOM): no headers, all is the root */
				if (setup_top(r, NULL, err) < 0)
					return -1;
				break;
			}
			used = take_header_bytes(r, p, n, &done, err);
			if (used < 0)
				return -1;
			if (done && top_headers_done(r, err) < 0)
				return -1;
			break;
		case ST_SINGLE:
			if (!r->single_begun && begin_single(r, err) < 0)
				return -1;
			if (decode(r, p, n, err) < 0)
				return -1;
			used = (long)n;
			break;
		case ST_PREAMBLE:
		case ST_PART_BODY:
			used = scan_body(r, p, n, &done, err);
			if (used < 0)
				return -1;
			if (done) {
				if (r->state == ST_PART_BODY && end_part(r, err) < 0)
					return -1;
				r->state = ST_AFTER_DELIM;
				r->after_delim_pos = 0;
			}
			break;
		case ST_AFTER_DELIM: {
			unsigned char c = *p;

			used = 1;
			if (r->after_delim_pos == 0 && c == '-') {
				r->after_delim_pos = 1;
			} else if (r->after_delim_pos == 1) {
				if (c != '-')
					return rl_err_set(err, MIME_ERR, "garbage after a multipart boundary");
				r->state = ST_EPILOGUE;
			} else if ((r->after_delim_pos == 0 || r->after_delim_pos == 2) &&
				   (c == ' ' || c == '\t')) {
				r->after_delim_pos = 2;
			} else if (r->after_delim_pos != 3 && c == '\r') {
				r->after_delim_pos = 3;
			} else if (c == '\n') {
				r->state = ST_PART_HEADERS;
				rl_buf_reset(&r->headers);
			} else {
				return rl_err_set(err, MIME_ERR, "garbage after a multipart boundary");
			}
			break;
		}
		case ST_PART_HEADERS:
			used = take_header_bytes(r, p, n, &done, err);
			if (used < 0)
				return rl_err_prefix(err, "part %d", r->part_count);
			if (done) {
				struct rl_mime_header hdrs[RL_MIME_MAX_HEADERS];
				int count = 0;

				if (parse_header_block(r->headers.data, hdrs, &count, 0, err) < 0)
					return rl_err_prefix(err, "part %d", r->part_count);
				if (begin_part(r, hdrs, count, -1, err) < 0)
					return -1;
				rl_buf_reset(&r->headers);
				r->state = ST_PART_BODY;
				/* an empty body may be followed directly by the delimiter */
				r->match = 1;
				r->virtual_lf = 1;
				r->held_cr = 0;
			}
			break;
		case ST_EPILOGUE:
			used = (long)n;
			break;
		}
		p += used;
		n -= (size_t)used;
	}
	if (r->state == ST_PART_BODY || r->state == ST_SINGLE)
		return flush_raw(r, err);
	return 0;
}

int rl_mime_reader_feed(struct rl_mime_reader *r, const void *data, size_t len, struct rl_err *err)
{
	if (r->state == ST_FAILED)
		return rl_err_set(err, MIME_ERR, "reader already failed");
	r->total += len;
	if (r->limits.max_total && r->total > r->limits.max_total) {
		rl_err_set(err, MIME_ERR, "message larger than %llu bytes", r->limits.max_total);
		return fail(r, err);
	}
	if (feed(r, data, len, err) < 0)
		return fail(r, err);
	return 0;
}

int rl_mime_reader_finish(struct rl_mime_reader *r, struct rl_err *err)
{
	switch (r->state) {
	case ST_FAILED:
		return rl_err_set(err, MIME_ERR, "reader already failed");
	case ST_ENTITY_HEADERS:
		/* headers without the blank line: accept only if complete lines, as a bodyless entity */
		if (r->headers.len == 0) {
			rl_err_set(err, MIME_ERR, "empty message");
			return fail(r, err);
		}
		if (rl_buf_append(&r->headers, "\n\n", 2) < 0) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			return fail(r, err);
		}
		if (top_headers_done(r, err) < 0)
			return fail(r, err);
		if (r->state != ST_SINGLE) {
			rl_err_set(err, MIME_ERR, "truncated: no multipart body");
			return fail(r, err);
		}
		/* fall through */
	case ST_SINGLE:
		if (!r->single_begun && begin_single(r, err) < 0)
			return fail(r, err);
		if (end_part(r, err) < 0)
			return fail(r, err);
		r->state = ST_EPILOGUE;
		return 0;
	case ST_EPILOGUE:
		if (r->start_id && !r->root_found) {
			rl_err_set(err, MIME_ERR, "no part has the Content-ID <%s> named by the start parameter",
				   r->start_id);
			return fail(r, err);
		}
		return 0;
	default:
		rl_err_set(err, MIME_ERR, "truncated: no closing multipart boundary");
		return fail(r, err);
	}
}

void rl_mime_reader_free(struct rl_mime_reader *r)
{
	if (r == NULL)
		return;
	free(r->content_type);
	free(r->boundary);
	free(r->start_id);
	free(r->start_param);
	free(r->type_param);
	free(r->delim);
	free(r->top_transfer_encoding);
	rl_buf_free(&r->top_header_block);
	rl_buf_free(&r->headers);
	free(r);
}

const char *rl_mime_reader_content_type(const struct rl_mime_reader *r)
{
	return r->content_type;
}

const char *rl_mime_reader_param(const struct rl_mime_reader *r, const char *name)
{
	/* the parameters the reader uses are kept; others are not */
	if (strcasecmp(name, "boundary") == 0)
		return r->boundary;
	if (strcasecmp(name, "start") == 0)
		return r->start_param;
	if (strcasecmp(name, "type") == 0)
		return r->type_param;
	return NULL;
}

int rl_mime_read_file(const char *path, const struct rl_mime_limits *limits,
		      const struct rl_mime_callbacks *cb, void *ctx, struct rl_err *err)
{
	static const size_t chunk_size = 64 * 1024;
	struct rl_mime_reader *r;
	unsigned char *chunk;
	FILE *fp;
	size_t n;
	int rc = -1;

	fp = fopen(path, "rb");
	if (fp == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	chunk = malloc(chunk_size);
	r = chunk ? rl_mime_reader_new(NULL, limits, cb, ctx, err) : NULL;
	if (chunk == NULL)
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (r == NULL)
		goto out;
	while ((n = fread(chunk, 1, chunk_size, fp)) > 0)
		if (rl_mime_reader_feed(r, chunk, n, err) < 0)
			goto out;
	if (ferror(fp)) {
		rl_err_set(err, RL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	rc = rl_mime_reader_finish(r, err);
out:
	rl_mime_reader_free(r);
	free(chunk);
	fclose(fp);
	return rc;
}

/* ---------------------------------------------------------------- writer */

struct rl_mime_writer {
	struct rl_sink out;
	char boundary[64];
	char *content_type;
	char *root_content_id;
	int parts;
	int ended;
};

struct rl_mime_writer *rl_mime_writer_new(const struct rl_sink *out, const char *root_content_id,
					  struct rl_err *err)
{
	struct rl_mime_writer *w = calloc(1, sizeof(*w));
	unsigned char rnd[16];
	struct rl_buf ct = RL_BUF_INIT;
	int len;

	if (w == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1) {
		free(w);
		rl_err_set(err, RL_ERR_CRYPTO, "random boundary: RAND_bytes failed");
		return NULL;
	}
	w->out = *out;
	len = snprintf(w->boundary, sizeof(w->boundary), "----=_Part_relais_");
	for (size_t i = 0; i < sizeof(rnd); i++)
		len += snprintf(w->boundary + len, sizeof(w->boundary) - (size_t)len, "%02x", rnd[i]);
	if (rl_buf_printf(&ct, "multipart/related; boundary=\"%s\"; type=\"application/soap+xml\"",
			  w->boundary) < 0 ||
	    (root_content_id && rl_buf_printf(&ct, "; start=\"<%s>\"", root_content_id) < 0) ||
	    (root_content_id && (w->root_content_id = strdup(root_content_id)) == NULL)) {
		rl_buf_free(&ct);
		rl_mime_writer_free(w);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	w->content_type = rl_buf_steal(&ct);
	return w;
}

const char *rl_mime_writer_content_type(const struct rl_mime_writer *w)
{
	return w->content_type;
}

static int write_buf(struct rl_mime_writer *w, struct rl_buf *b, struct rl_err *err)
{
	int rc;

	if (b->data == NULL && b->len == 0)
		return 0;
	rc = rl_sink_write(&w->out, b->data, b->len, err);
	rl_buf_free(b);
	return rc;
}

int rl_mime_writer_entity_headers(struct rl_mime_writer *w, struct rl_err *err)
{
	struct rl_buf b = RL_BUF_INIT;

	if (rl_buf_printf(&b, "MIME-Version: 1.0\r\nContent-Type: %s\r\n\r\n", w->content_type) < 0) {
		rl_buf_free(&b);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return write_buf(w, &b, err);
}

int rl_mime_writer_part_begin(struct rl_mime_writer *w, const char *content_type, const char *content_id,
			      const char *const *extra_headers, struct rl_err *err)
{
	struct rl_buf b = RL_BUF_INIT;
	int bad = 0;

	if (w->ended)
		return rl_err_set(err, RL_ERR_INTERNAL, "MIME writer: part after the end");
	if (w->parts == 0 && content_id == NULL)
		content_id = w->root_content_id;
	bad |= rl_buf_printf(&b, "%s--%s\r\n", w->parts ? "\r\n" : "", w->boundary) < 0;
	bad |= rl_buf_printf(&b, "Content-Type: %s\r\nContent-Transfer-Encoding: binary\r\n",
			     content_type ? content_type : "application/octet-stream") < 0;
	if (content_id)
		bad |= rl_buf_printf(&b, "Content-ID: <%s>\r\n", content_id) < 0;
	for (int i = 0; extra_headers && extra_headers[i]; i++)
		bad |= rl_buf_printf(&b, "%s\r\n", extra_headers[i]) < 0;
	bad |= rl_buf_puts(&b, "\r\n") < 0;
	if (bad) {
		rl_buf_free(&b);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	w->parts++;
	return write_buf(w, &b, err);
}

int rl_mime_writer_part_data(struct rl_mime_writer *w, const void *data, size_t len, struct rl_err *err)
{
	if (w->parts == 0 || w->ended)
		return rl_err_set(err, RL_ERR_INTERNAL, "MIME writer: data outside a part");
	return len ? rl_sink_write(&w->out, data, len, err) : 0;
}

int rl_mime_writer_end(struct rl_mime_writer *w, struct rl_err *err)
{
	struct rl_buf b = RL_BUF_INIT;

	if (w->ended)
		return 0;
	w->ended = 1;
	if (rl_buf_printf(&b, "%s--%s--\r\n", w->parts ? "\r\n" : "", w->boundary) < 0) {
		rl_buf_free(&b);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return write_buf(w, &b, err);
}

void rl_mime_writer_free(struct rl_mime_writer *w)
{
	if (w == NULL)
		return;
	free(w->content_type);
	free(w->root_content_id);
	free(w);
}

int rl_mime_is_xml_type(const char *t)
{
	size_t n;

	if (t == NULL)
		return 0;
	if (strncasecmp(t, "text/xml", 8) == 0 || strncasecmp(t, "application/xml", 15) == 0)
		return 1;
	n = strcspn(t, "; \t");
	return n >= 4 && strncasecmp(t + n - 4, "+xml", 4) == 0;
}

/*
 * mime.h - streaming MIME multipart/related (SOAP with Attachments) reader and writer.
 *
 * Reader: push-based. Bytes are fed in any chunk sizes (a file read loop, or libmicrohttpd's upload
 * callback); the reader calls back at each part's start (with its parsed headers), with each piece of
 * decoded content (base64 and quoted-printable are decoded; binary/8bit/7bit pass through), and at each
 * part's end. Nothing of a part's content is kept by the reader, so memory stays constant whatever the
 * part size (only header blocks are bounded and buffered).
 *
 * Two ways to start:
 *   - entity mode (content_type == NULL): the input starts with headers (MIME headers, optionally after
 *     an HTTP status or request line, "HTTP/1.1 200 OK" / "POST /as4 HTTP/1.1"), a blank line, then the
 *     body. This is the format of a message file.
 *   - body mode (content_type given, e.g. the HTTP Content-Type header): the input is the body only.
 * When the top-level Content-Type is not multipart (a bare SOAP envelope, as receipts are sent), the
 * whole body is delivered as one part, the root, with the top-level headers.
 * Line ends may be CRLF or bare LF. A preamble before the first boundary and an epilogue after the
 * closing boundary are ignored.
 *
 * Root part: if the multipart Content-Type has a `start` parameter, the root is the part whose
 * Content-ID matches it; otherwise the first part (RFC 2387).
 */
#ifndef RELAIS_MIME_H
#define RELAIS_MIME_H

#include <stddef.h>
#include "relais/err.h"
#include "relais/stream.h"

#define RL_MIME_MAX_HEADERS 32

struct rl_mime_header {
	char *name;	/* as written, e.g. "Content-Type" */
	char *value;	/* unfolded, surrounding white space trimmed */
};

/* What the reader tells about a part at its start. Valid only during the part_begin callback. */
struct rl_mime_part {
	int index;			/* 0 for the first part */
	int is_root;			/* 1 when this is the root part (see above) */
	const char *content_type;	/* full header value ("application/soap+xml;charset=UTF-8"), or
					 * "text/plain" when absent */
	const char *media_type;		/* type/subtype only, lower-cased ("application/soap+xml") */
	const char *content_id;		/* without the angle brackets, NULL when absent */
	const char *transfer_encoding;	/* lower-cased, "binary" when absent */
	const struct rl_mime_header *headers;
	int header_count;
};

struct rl_mime_callbacks {
	int (*part_begin)(void *ctx, const struct rl_mime_part *part, struct rl_err *err);
	int (*part_data)(void *ctx, const unsigned char *data, size_t len, struct rl_err *err);
	int (*part_end)(void *ctx, struct rl_err *err);
};

struct rl_mime_limits {
	size_t max_header_bytes;	/* one header block, default 64 KiB */
	int max_parts;			/* default 64 */
	unsigned long long max_total;	/* total input bytes, 0 = no limit */
};

struct rl_mime_reader;

/* content_type: NULL for entity mode, else the Content-Type of the body. limits may be NULL. */
struct rl_mime_reader *rl_mime_reader_new(const char *content_type, const struct rl_mime_limits *limits,
					  const struct rl_mime_callbacks *cb, void *ctx,
					  struct rl_err *err);
int rl_mime_reader_feed(struct rl_mime_reader *r, const void *data, size_t len, struct rl_err *err);
/* Call at end of input: checks that the closing boundary was seen (else EBMS:0007 "truncated"). */
int rl_mime_reader_finish(struct rl_mime_reader *r, struct rl_err *err);
void rl_mime_reader_free(struct rl_mime_reader *r);

/* The top-level Content-Type (entity mode: once the headers were read; body mode: as given). */
const char *rl_mime_reader_content_type(const struct rl_mime_reader *r);
/* A parameter of the top-level Content-Type ("boundary", "start", "type"), NULL when absent. */
const char *rl_mime_reader_param(const struct rl_mime_reader *r, const char *name);

/* Reads a whole file through the reader (entity mode). */
int rl_mime_read_file(const char *path, const struct rl_mime_limits *limits,
		      const struct rl_mime_callbacks *cb, void *ctx, struct rl_err *err);

/* Helpers shared with HTTP code. */
/* Parameter `name` of a header value like `multipart/related; boundary="x"; start="<a>"`.
 * Returns a malloc'd unquoted string, or NULL when absent. */
char *rl_mime_header_param(const char *header_value, const char *name);
/* The media type (type/subtype, lower-cased, malloc'd) of a Content-Type value. */
char *rl_mime_media_type(const char *header_value);
/* 1 for text/xml, application/xml and any type/...+xml: the types whose content the SwA
 * Attachment-Content-Signature-Transform canonicalises as XML before digesting. */
int rl_mime_is_xml_type(const char *content_type);

/*
 * Writer: emits a multipart/related body to a sink. Every part is written "binary" with CRLF line ends
 * between headers, as Peppol stacks do. The boundary is random (from a CSPRNG).
 *   w = rl_mime_writer_new(sink)
 *   rl_mime_writer_content_type(w) -> value for the top Content-Type header (HTTP or file)
 *   rl_mime_writer_part_begin(w, headers...) ; rl_mime_writer_part_data(...)* ; (next part | end)
 *   rl_mime_writer_end(w)   writes the closing boundary
 */
struct rl_mime_writer;
/* root_content_id: the root part's Content-ID (without <>), or NULL to send no `start` parameter and
 * no Content-ID on the root, as phase4 does. */
struct rl_mime_writer *rl_mime_writer_new(const struct rl_sink *out, const char *root_content_id,
					  struct rl_err *err);
const char *rl_mime_writer_content_type(const struct rl_mime_writer *w);
/* Writes "MIME-Version: 1.0" and "Content-Type: ..." and the blank line: the message file form. */
int rl_mime_writer_entity_headers(struct rl_mime_writer *w, struct rl_err *err);
/* content_id without <> (NULL for none); extra_headers: NULL-terminated "Name: value" strings or NULL. */
int rl_mime_writer_part_begin(struct rl_mime_writer *w, const char *content_type, const char *content_id,
			      const char *const *extra_headers, struct rl_err *err);
int rl_mime_writer_part_data(struct rl_mime_writer *w, const void *data, size_t len, struct rl_err *err);
int rl_mime_writer_end(struct rl_mime_writer *w, struct rl_err *err);
void rl_mime_writer_free(struct rl_mime_writer *w);

#endif

/* test_mime.c - unit tests for the streaming MIME multipart/related reader and writer. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "relais/buf.h"
#include "relais/mime.h"

/* What the callbacks saw, as a printable transcript: one line per part start and end. */
struct transcript {
	struct rl_buf log;
	struct rl_buf data[8];	/* decoded content of the first parts */
	int parts;
	int root_index;
};

static int on_begin(void *ctx, const struct rl_mime_part *part, struct rl_err *err)
{
	struct transcript *t = ctx;

	rl_buf_printf(&t->log, "begin %d root=%d media=%s cid=%s te=%s hdrs=%d\n", part->index, part->is_root,
		      part->media_type, part->content_id ? part->content_id : "-", part->transfer_encoding,
		      part->header_count);
	if (part->is_root)
		t->root_index = part->index;
	t->parts++;
	return 0;
}

static int on_data(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct transcript *t = ctx;

	if (t->parts >= 1 && t->parts <= 8)
		rl_buf_append(&t->data[t->parts - 1], data, len);
	return 0;
}

static int on_end(void *ctx, struct rl_err *err)
{
	struct transcript *t = ctx;

	rl_buf_printf(&t->log, "end\n");
	return 0;
}

static const struct rl_mime_callbacks callbacks = { on_begin, on_data, on_end };

static void transcript_init(struct transcript *t)
{
	memset(t, 0, sizeof(*t));
	t->root_index = -1;
}

static void transcript_free(struct transcript *t)
{
	rl_buf_free(&t->log);
	for (int i = 0; i < 8; i++)
		rl_buf_free(&t->data[i]);
}

/* Feeds input in chunks: chunk 0 = all at once, -1 = random sizes, else that size. Returns the
 * result of feed/finish; err holds the message. */
static int parse(const char *content_type, const void *input, size_t len, long chunk,
		 const struct rl_mime_limits *limits, struct transcript *t, struct rl_err *err)
{
	const unsigned char *p = input;
	struct rl_mime_reader *r;
	int rc = 0;

	transcript_init(t);
	r = rl_mime_reader_new(content_type, limits, &callbacks, t, err);
	if (r == NULL)
		return -1;
	while (len > 0 && rc == 0) {
		size_t n = chunk == 0 ? len : chunk < 0 ? (size_t)(rand() % 97 + 1) : (size_t)chunk;

		if (n > len)
			n = len;
		rc = rl_mime_reader_feed(r, p, n, err);
		p += n;
		len -= n;
	}
	if (rc == 0)
		rc = rl_mime_reader_finish(r, err);
	rl_mime_reader_free(r);
	return rc;
}

/* Parses with several chunkings and checks every one gives the same transcript and data. */
static int parse_all_ways(const char *content_type, const void *input, size_t len,
			  const struct rl_mime_limits *limits, struct transcript *t, struct rl_err *err)
{
	static const long chunks[] = { 1, 2, 3, 7, -1, -1, -1, 64 };
	int rc = parse(content_type, input, len, 0, limits, t, err);

	for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		struct transcript other;
		struct rl_err err2;
		int rc2 = parse(content_type, input, len, chunks[k], limits, &other, &err2);

		assert_int_equal(rc2, rc);
		if (rc == 0) {
			assert_string_equal(other.log.data ? other.log.data : "",
					    t->log.data ? t->log.data : "");
			for (int i = 0; i < 8; i++) {
				assert_int_equal(other.data[i].len, t->data[i].len);
				if (t->data[i].len)
					assert_memory_equal(other.data[i].data, t->data[i].data, t->data[i].len);
			}
		} else {
			assert_int_equal(err2.code, err->code);
		}
		transcript_free(&other);
	}
	return rc;
}

static void test_params(void **state)
{
	char *v;

	v = rl_mime_header_param("multipart/related; boundary=\"a;b\"; start=\"<x@y>\"; type=text/xml",
				 "boundary");
	assert_string_equal(v, "a;b");
	free(v);
	v = rl_mime_header_param("multipart/related;\r\n\tBOUNDARY=\"q\\\"x\" ; START = <r> ", "start");
	assert_string_equal(v, "<r>");
	free(v);
	assert_null(rl_mime_header_param("text/plain", "boundary"));
	v = rl_mime_media_type(" Application/SOAP+xml;charset=UTF-8");
	assert_string_equal(v, "application/soap+xml");
	free(v);
}

/* Writer -> reader, with binary data that contains boundary-like bytes and line ends. */
static void test_round_trip(void **state)
{
	struct rl_buf out = RL_BUF_INIT;
	struct rl_sink sink = { rl_sink_buf_write, &out };
	struct rl_err err;
	struct rl_mime_writer *w = rl_mime_writer_new(&sink, "root@relais", &err);
	unsigned char bin[5000];
	const char *soap = "<env:Envelope/>";
	const char *extra[] = { "Content-Description: test", NULL };
	struct transcript t;
	char boundary_like[200];

	assert_non_null(w);
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7 + (i >> 8));
	/* plant a near-boundary: CRLF "--" and the boundary minus its last byte */
	{
		char *b = rl_mime_header_param(rl_mime_writer_content_type(w), "boundary");

		snprintf(boundary_like, sizeof(boundary_like), "\r\n--%s", b);
		free(b);
	}
	memcpy(bin + 100, boundary_like, strlen(boundary_like) - 1);
	memcpy(bin + 1000, "\r\n--", 4);
	memcpy(bin + 2000, "\n\r\n\r\r\n-", 7);
	bin[sizeof(bin) - 1] = '\r';
	assert_int_equal(rl_mime_writer_entity_headers(w, &err), 0);
	assert_int_equal(rl_mime_writer_part_begin(w, "application/soap+xml;charset=UTF-8", NULL, NULL, &err), 0);
	assert_int_equal(rl_mime_writer_part_data(w, soap, strlen(soap), &err), 0);
	assert_int_equal(rl_mime_writer_part_begin(w, "application/octet-stream", "att1@relais", extra, &err), 0);
	assert_int_equal(rl_mime_writer_part_data(w, bin, 10, &err), 0);
	assert_int_equal(rl_mime_writer_part_data(w, bin + 10, sizeof(bin) - 10, &err), 0);
	assert_int_equal(rl_mime_writer_part_begin(w, "text/plain", "empty@relais", NULL, &err), 0);
	assert_int_equal(rl_mime_writer_end(w, &err), 0);

	assert_int_equal(parse_all_ways(NULL, out.data, out.len, NULL, &t, &err), 0);
	assert_string_equal(t.log.data,
			    "begin 0 root=1 media=application/soap+xml cid=root@relais te=binary hdrs=3\nend\n"
			    "begin 1 root=0 media=application/octet-stream cid=att1@relais te=binary hdrs=4\nend\n"
			    "begin 2 root=0 media=text/plain cid=empty@relais te=binary hdrs=3\nend\n");
	assert_int_equal(t.data[0].len, strlen(soap));
	assert_memory_equal(t.data[0].data, soap, strlen(soap));
	assert_int_equal(t.data[1].len, sizeof(bin));
	assert_memory_equal(t.data[1].data, bin, sizeof(bin));
	assert_int_equal(t.data[2].len, 0);
	transcript_free(&t);

	/* body mode: the HTTP Content-Type plus the body after the entity headers */
	{
		const char *body = strstr(out.data, "\r\n\r\n") + 4;
		struct rl_mime_reader *r = rl_mime_reader_new(rl_mime_writer_content_type(w), NULL,
							      &callbacks, &t, &err);

		transcript_init(&t);
		assert_non_null(r);
		assert_non_null(rl_mime_reader_param(r, "start"));
		assert_string_equal(rl_mime_reader_param(r, "start"), "<root@relais>");
		assert_string_equal(rl_mime_reader_param(r, "type"), "application/soap+xml");
		assert_int_equal(rl_mime_reader_feed(r, body, out.len - (size_t)(body - out.data), &err), 0);
		assert_int_equal(rl_mime_reader_finish(r, &err), 0);
		assert_int_equal(t.parts, 3);
		assert_int_equal(t.root_index, 0);
		rl_mime_reader_free(r);
		transcript_free(&t);
	}
	rl_mime_writer_free(w);
	rl_buf_free(&out);
}

static void test_lf_only_and_start(void **state)
{
	const char *msg =
		"HTTP/1.1 200 OK\n"
		"Content-Type: multipart/related;\n"
		"\tboundary=\"BB\"; start=\"<second>\"\n"
		"\n"
		"preamble text\n"
		"--BB\n"
		"Content-Type: text/plain\n"
		"Content-ID: <first>\n"
		"\n"
		"one\n"
		"--BB  \n"
		"Content-Type: application/soap+xml\n"
		"Content-ID:\n <second>\n"
		"\n"
		"two\n\n"
		"--BB--\n"
		"epilogue --BB\n";
	struct transcript t;
	struct rl_err err;

	assert_int_equal(parse_all_ways(NULL, msg, strlen(msg), NULL, &t, &err), 0);
	assert_string_equal(t.log.data,
			    "begin 0 root=0 media=text/plain cid=first te=binary hdrs=2\nend\n"
			    "begin 1 root=1 media=application/soap+xml cid=second te=binary hdrs=2\nend\n");
	assert_int_equal(t.data[0].len, 3);
	assert_memory_equal(t.data[0].data, "one", 3);
	assert_int_equal(t.data[1].len, 4);
	assert_memory_equal(t.data[1].data, "two\n", 4);
	transcript_free(&t);
}

static void test_encodings(void **state)
{
	const char *body =
		"--x\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"aGVsbG8g\r\nd29y\r\nbGQ=\r\n"
		"--x\r\n"
		"Content-Transfer-Encoding: Quoted-Printable\r\n"
		"\r\n"
		"caf=C3=A9 long=  \r\n line=3D \t\r\n a\tb \r\nz  \r\n"
		"--x--\r\n";
	struct transcript t;
	struct rl_err err;

	assert_int_equal(parse_all_ways("multipart/related; boundary=x", body, strlen(body), NULL, &t, &err), 0);
	assert_string_equal(t.log.data,
			    "begin 0 root=1 media=text/plain cid=- te=base64 hdrs=1\nend\n"
			    "begin 1 root=0 media=text/plain cid=- te=quoted-printable hdrs=1\nend\n");
	assert_int_equal(t.data[0].len, 11);
	assert_memory_equal(t.data[0].data, "hello world", 11);
	assert_int_equal(t.data[1].len, strlen("caf\xc3\xa9 long line=\r\n a\tb\r\nz"));
	assert_memory_equal(t.data[1].data, "caf\xc3\xa9 long line=\r\n a\tb\r\nz", t.data[1].len);
	transcript_free(&t);

	const char *bad = "--x\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n--x--\r\n";

	assert_int_equal(parse_all_ways("multipart/related; boundary=x", bad, strlen(bad), NULL, &t, &err), -1);
	assert_int_equal(err.code, RL_EBMS_MIME_INCONSISTENCY);
	transcript_free(&t);
}

static void test_single_part(void **state)
{
	const char *msg = "Content-Type: application/soap+xml\r\n\r\n<Envelope>\r\n--notaboundary\r\n";
	struct transcript t;
	struct rl_err err;

	assert_int_equal(parse_all_ways(NULL, msg, strlen(msg), NULL, &t, &err), 0);
	assert_string_equal(t.log.data, "begin 0 root=1 media=application/soap+xml cid=- te=binary hdrs=1\nend\n");
	assert_string_equal(t.data[0].data, "<Envelope>\r\n--notaboundary\r\n");
	transcript_free(&t);

	/* a bare XML file in entity mode, with or without a BOM */
	msg = "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<a xmlns:b=\"c\"/>\n";
	assert_int_equal(parse_all_ways(NULL, msg, strlen(msg), NULL, &t, &err), 0);
	assert_string_equal(t.log.data, "begin 0 root=1 media=text/plain cid=- te=binary hdrs=1\nend\n");
	assert_string_equal(t.data[0].data, msg);
	transcript_free(&t);
	assert_int_equal(parse_all_ways(NULL, msg + 3, strlen(msg + 3), NULL, &t, &err), 0);
	assert_string_equal(t.data[0].data, msg + 3);
	transcript_free(&t);

	/* body mode, non-multipart: one root part, even when empty */
	assert_int_equal(parse_all_ways("application/soap+xml; charset=utf-8", "", 0, NULL, &t, &err), 0);
	assert_string_equal(t.log.data, "begin 0 root=1 media=application/soap+xml cid=- te=binary hdrs=1\nend\n");
	transcript_free(&t);
}

static void expect_error(const char *content_type, const char *input, const struct rl_mime_limits *limits,
			 const char *msg_part)
{
	struct transcript t;
	struct rl_err err;

	assert_int_equal(parse_all_ways(content_type, input, strlen(input), limits, &t, &err), -1);
	assert_int_equal(err.code, RL_EBMS_MIME_INCONSISTENCY);
	if (strstr(err.msg, msg_part) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err.msg, msg_part);
	transcript_free(&t);
}

static void test_errors(void **state)
{
	const char *mp = "multipart/related; boundary=b";
	struct rl_mime_limits small = { 64, 2, 0 };
	struct rl_mime_limits tiny_total = { 0, 0, 20 };
	char big[300];

	expect_error(mp, "--b\r\nContent-Type: text/plain\r\n\r\nno end", NULL, "truncated");
	expect_error(mp, "only a preamble", NULL, "truncated");
	expect_error(NULL, "Content-Type: multipart/related\r\n\r\n--b\r\n", NULL, "boundary");
	expect_error(mp, "--bogus\r\n\r\nx\r\n--b--", NULL, "garbage");
	expect_error(mp, "--b\r\nno colon here\r\n\r\nx\r\n--b--\r\n", NULL, "colon");
	expect_error(mp, "--b\r\nContent-Transfer-Encoding: x-weird\r\n\r\nx\r\n--b--\r\n", NULL, "x-weird");
	expect_error(mp, "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--\r\n", &small, "parts");
	expect_error(mp, "0123456789012345678901234567890", &tiny_total, "larger");
	expect_error("multipart/related; boundary=b; start=\"<nope>\"", "--b\r\n\r\nx\r\n--b--\r\n", NULL,
		     "start");
	memset(big, 'a', sizeof(big));
	memcpy(big, "--b\r\nX-Big: ", 12);
	big[sizeof(big) - 1] = '\0';
	expect_error(mp, big, &small, "header block larger");
	expect_error(NULL, "\x01\x02 garbage without colon\r\n\r\n", NULL, "colon");
}

static void test_http_request_line(void **state)
{
	const char *msg =
		"POST /as4 HTTP/1.1\r\n"
		"Host: example\r\n"
		"Content-Type: multipart/related; boundary=\"=_q\"; type=\"application/soap+xml\"\r\n"
		"\r\n"
		"--=_q\r\n"
		"Content-Type: application/soap+xml\r\n"
		"\r\n"
		"<e/>\r\n"
		"--=_q--";
	struct transcript t;
	struct rl_err err;

	assert_int_equal(parse_all_ways(NULL, msg, strlen(msg), NULL, &t, &err), 0);
	assert_string_equal(t.log.data, "begin 0 root=1 media=application/soap+xml cid=- te=binary hdrs=1\nend\n");
	assert_string_equal(t.data[0].data, "<e/>");
	transcript_free(&t);
}

/* Random corruptions of a valid message: whatever the outcome, every chunking must agree. */
static void test_mutations(void **state)
{
	const char *base =
		"Content-Type: multipart/related; boundary=\"b1\"; start=\"<r>\"\r\n\r\n"
		"--b1\r\nContent-ID: <r>\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n"
		"--b1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n"
		"--b1\r\n\r\n\r\n--b1--\r\n";
	size_t len = strlen(base);
	char *msg = malloc(len + 1);

	assert_non_null(msg);
	for (int round = 0; round < 300; round++) {
		struct transcript t;
		struct rl_err err;

		memcpy(msg, base, len + 1);
		for (int k = 0; k < 1 + round % 3; k++)
			msg[rand() % (int)len] = "\r\n-=b1:<>A \x00"[rand() % 12];
		parse_all_ways(NULL, msg, len, NULL, &t, &err);
		transcript_free(&t);
	}
	free(msg);
}

/* The exact header layout as4peer writes (start parameter, root with Content-ID), short content. */
static void test_as4peer_layout(void **state)
{
	const char *msg =
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/related; boundary=\"----=_Part_as4peer_728dc41b\"; "
		"type=\"application/soap+xml\"; start=\"<root-ddf50017@as4peer>\"\r\n"
		"\r\n"
		"------=_Part_as4peer_728dc41b\r\n"
		"Content-Type: application/soap+xml; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: binary\r\n"
		"Content-ID: <root-ddf50017@as4peer>\r\n"
		"\r\n"
		"<env:Envelope/>\r\n"
		"------=_Part_as4peer_728dc41b\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: binary\r\n"
		"Content-ID: <78bb4d24@as4peer>\r\n"
		"\r\n"
		"\x1f\x8b\r\n------=_Part_as4peer_728dc41\r\n"
		"------=_Part_as4peer_728dc41b--\r\n";
	struct transcript t;
	struct rl_err err;

	assert_int_equal(parse_all_ways(NULL, msg, strlen(msg), NULL, &t, &err), 0);
	assert_string_equal(t.log.data,
			    "begin 0 root=1 media=application/soap+xml cid=root-ddf50017@as4peer te=binary hdrs=3\n"
			    "end\n"
			    "begin 1 root=0 media=application/octet-stream cid=78bb4d24@as4peer te=binary hdrs=3\n"
			    "end\n");
	assert_string_equal(t.data[0].data, "<env:Envelope/>");
	assert_string_equal(t.data[1].data, "\x1f\x8b\r\n------=_Part_as4peer_728dc41");
	transcript_free(&t);
}

/* The writer's sink feeds the reader directly: 16 MiB pass through with small header limits. */
struct pipe_check {
	struct rl_mime_reader *reader;
	unsigned long long bytes;
	unsigned long long sum;
};

static int pipe_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	return rl_mime_reader_feed(((struct pipe_check *)ctx)->reader, data, len, err);
}

static int pipe_data(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct pipe_check *pc = ctx;

	for (size_t i = 0; i < len; i++)
		pc->sum = pc->sum * 31 + data[i];
	pc->bytes += len;
	return 0;
}

static void test_streaming_large(void **state)
{
	static unsigned char chunk[65536];
	struct rl_mime_callbacks cb = { NULL, pipe_data, NULL };
	struct rl_mime_limits limits = { 1024, 4, 0 };
	struct pipe_check pc = { NULL, 0, 0 };
	struct rl_sink sink = { pipe_write, &pc };
	unsigned long long expect_sum = 0;
	struct rl_err err;
	struct rl_mime_writer *w;

	pc.reader = rl_mime_reader_new(NULL, &limits, &cb, &pc, &err);
	assert_non_null(pc.reader);
	w = rl_mime_writer_new(&sink, NULL, &err);
	assert_non_null(w);
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (unsigned char)((i * 2654435761u) >> 13);
	memcpy(chunk + 500, "\r\n------=_Part_relais_", 22);
	assert_int_equal(rl_mime_writer_entity_headers(w, &err), 0);
	assert_int_equal(rl_mime_writer_part_begin(w, "application/octet-stream", NULL, NULL, &err), 0);
	for (int k = 0; k < 256; k++) {
		assert_int_equal(rl_mime_writer_part_data(w, chunk, sizeof(chunk), &err), 0);
		for (size_t i = 0; i < sizeof(chunk); i++)
			expect_sum = expect_sum * 31 + chunk[i];
	}
	assert_int_equal(rl_mime_writer_end(w, &err), 0);
	assert_int_equal(rl_mime_reader_finish(pc.reader, &err), 0);
	assert_int_equal(pc.bytes, 256ull * sizeof(chunk));
	assert_true(pc.sum == expect_sum);
	rl_mime_writer_free(w);
	rl_mime_reader_free(pc.reader);
}

static int skip_without_shared(char *path, size_t size, const char *rel)
{
	const char *dir = getenv("RELAIS_SHARED_DIR");

	if (dir == NULL || *dir == '\0')
		return 1;
	snprintf(path, size, "%s/%s", dir, rel);
	return access(path, R_OK) != 0;
}

static void test_phase4_file(void **state)
{
	char path[4096];
	struct transcript t;
	struct rl_err err;
	struct rl_buf whole = RL_BUF_INIT;

	if (skip_without_shared(path, sizeof(path), "interop-corpus/as4/phase4/outbound/dump-raw.as4out"))
		skip();
	transcript_init(&t);
	assert_int_equal(rl_mime_read_file(path, NULL, &callbacks, &t, &err), 0);
	assert_int_equal(t.parts, 2);
	assert_int_equal(t.root_index, 0);
	assert_non_null(strstr(t.log.data, "begin 0 root=1 media=application/soap+xml cid=- te=binary"));
	assert_true(t.data[0].len > 100);
	assert_memory_equal(t.data[0].data, "<?xml", 5);
	assert_true(t.data[0].data[t.data[0].len - 1] == '>');
	transcript_free(&t);

	/* byte at a time gives the same result */
	assert_int_equal(rl_buf_read_file(&whole, path, 1 << 20), 0);
	{
		struct transcript t2;

		assert_int_equal(parse_all_ways(NULL, whole.data, whole.len, NULL, &t2, &err), 0);
		assert_int_equal(t2.parts, 2);
		transcript_free(&t2);
	}
	rl_buf_free(&whole);
}

static void test_lf_file(void **state)
{
	char path[4096];
	struct transcript t;
	struct rl_err err;

	if (skip_without_shared(path, sizeof(path), "interop-corpus/as4/phase4/testfiles/WrongCompression.mime"))
		skip();
	transcript_init(&t);
	assert_int_equal(rl_mime_read_file(path, NULL, &callbacks, &t, &err), 0);
	assert_true(t.parts >= 2);
	assert_int_equal(t.root_index, 0);
	assert_memory_equal(t.data[0].data, "<?xml", 5);
	transcript_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_lf_only_and_start),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_single_part),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_http_request_line),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_as4peer_layout),
		cmocka_unit_test(test_streaming_large),
		cmocka_unit_test(test_phase4_file),
		cmocka_unit_test(test_lf_file),
	};

	srand(42);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

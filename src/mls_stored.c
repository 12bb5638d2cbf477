/*
 * mls_stored.c - a Message Level Status read back from the store: for an MLS whose bytes are not in
 * memory when it is delivered (taken from the store after a restart or a retry, or too large to be handed
 * over with its bytes). The payload is streamed from the store into memory up to a bound; one longer than
 * that is refused without the rest being read. See include/relais/mls.h.
 */
#include "config.h"
#include <string.h>
#include "relais/buf.h"
#include "relais/mls.h"
#include "relais/store.h"
#include "relais/stream.h"

/* A sink that keeps what it is given in buf while it stays within max bytes, and stops the read (over)
 * when it would pass them. */
struct bounded_sink {
	struct rl_buf *buf;
	size_t max;
	int over;
};

static int bounded_write(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	struct bounded_sink *b = ctx;

	if (len > b->max - b->buf->len) {
		b->over = 1;
		return rl_err_set(err, RL_EBMS_OTHER, "the payload is longer than %zu bytes", b->max);
	}
	if (rl_buf_append(b->buf, data, len) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

int rl_mls_read_stored(struct rl_store *st, int64_t message, size_t max, struct rl_mls *m, struct rl_err *err)
{
	struct rl_buf payload = RL_BUF_INIT;
	struct bounded_sink bounded = { &payload, max, 0 };
	struct rl_sink sink = { bounded_write, &bounded };
	int rc;

	memset(m, 0, sizeof(*m));
	if (rl_store_payload_read(st, message, &sink, err) < 0) {
		/* The store may have said more about stopping the read: what stopped it is the length. */
		if (bounded.over)
			rl_err_set(err, RL_EBMS_OTHER, "the stored payload is longer than %zu bytes, more than a "
				   "Message Level Status takes", max);
		rl_buf_free(&payload);
		return -1;
	}
	rc = rl_mls_read_mem(payload.data ? payload.data : "", payload.len, m, err);
	rl_buf_free(&payload);
	return rc;
}

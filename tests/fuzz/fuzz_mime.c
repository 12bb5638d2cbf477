/* fuzz_mime.c - libFuzzer target: feeds arbitrary bytes through the MIME reader in entity mode,
 * in two chunks split at a position taken from the input, to check it never crashes or leaks. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include "relais/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_part(void *ctx, const struct rl_mime_part *part, struct rl_err *err)
{
	(*(size_t *)ctx)++;
	return 0;
}

static int count_data(void *ctx, const unsigned char *data, size_t len, struct rl_err *err)
{
	(*(size_t *)ctx) += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rl_mime_callbacks cb = { count_part, count_data, NULL };
	struct rl_mime_limits limits = { 4096, 16, 1 << 20 };
	struct rl_err err;
	size_t counter = 0, split;
	struct rl_mime_reader *r;

	if (size == 0)
		return 0;
	split = data[0] % size;
	r = rl_mime_reader_new(NULL, &limits, &cb, &counter, &err);
	if (r == NULL)
		return 0;
	if (rl_mime_reader_feed(r, data + 1, split ? split - 1 : 0, &err) == 0 &&
	    rl_mime_reader_feed(r, data + (split ? split : 1), size - (split ? split : 1), &err) == 0)
		(void)rl_mime_reader_finish(r, &err);
	rl_mime_reader_free(r);
	return 0;
}

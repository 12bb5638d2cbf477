/* unit_corpus.h - how the unit tests read the SOAP envelopes of other implementations' messages in the
 * shared interop corpus ($RELAIS_SHARED_DIR/interop-corpus/as4). Include after cmocka.h and relais/xml.h. */
#ifndef RELAIS_UNIT_CORPUS_H
#define RELAIS_UNIT_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/buf.h"
#include "relais/err.h"

static inline const char *find_bytes(const char *hay, size_t hay_len, const char *needle)
{
	return memmem(hay, hay_len, needle, strlen(needle));
}

/* Whether the shared corpus is there (tests that need it skip() without it). */
static inline int unit_corpus_present(void)
{
	const char *shared = getenv("RELAIS_SHARED_DIR");

	return shared != NULL && *shared != '\0';
}

/* The SOAP envelope inside a corpus file (a MIME message, an HTTP dump or an XML file), parsed; the
 * caller frees it with xmlFreeDoc. */
static inline xmlDocPtr corpus_envelope(const char *rel)
{
	const char *shared = getenv("RELAIS_SHARED_DIR");
	struct rl_buf file = RL_BUF_INIT;
	const char *start = NULL, *end = NULL;
	char path[1024];
	struct rl_err err;
	xmlDocPtr doc;

	snprintf(path, sizeof(path), "%s/interop-corpus/as4/%s", shared, rel);
	if (rl_buf_read_file(&file, path, 16u << 20) != 0)
		fail_msg("cannot read %s", path);
	/* from the first "<prefix:Envelope" to the last "Envelope>" */
	for (const char *p = file.data; (p = find_bytes(p, file.len - (size_t)(p - file.data), "Envelope")) != NULL;
	     p += 8) {
		const char *q = p;

		while (q > file.data && q[-1] != '<' && q[-1] != '/' && q[-1] != ' ' && q[-1] != '\n')
			q--;
		if (q > file.data && q[-1] == '<' && start == NULL)
			start = q - 1;
		if (p[8] == '>')
			end = p + 9;
	}
	if (start == NULL || end == NULL || end < start)
		fail_msg("%s: no SOAP envelope", rel);
	doc = rl_xml_parse(start, (size_t)(end - start), RL_EBMS_INVALID_HEADER, rel, &err);
	if (doc == NULL)
		fail_msg("%s: %s", rel, err.msg);
	rl_buf_free(&file);
	return doc;
}

#endif

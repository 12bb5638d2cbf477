/*
 * bench_convert.c - invoice conversion throughput: parses, reads into the EN 16931 model and writes
 * the other syntax, many times over, for a UBL and a CII invoice; prints conversions/s and peak
 * resident memory. Usage: bench_convert UBL.xml CII.xml [count]
 * (for instance the CEN example 1 pair: invoice-corpus/pairs/cen-tc434/example1/ in the shared corpus).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include "relais/buf.h"
#include "relais/cli.h"
#include "relais/en16931.h"
#include "relais/stream.h"
#include "relais/xml.h"
#include "bench_util.h"



/* Converts the document in `xml` count times (parse, read, write into a reused buffer). */
static int run(const char *label, const struct rl_buf *xml, enum rl_syntax to, int count)
{
	struct rl_buf out = RL_BUF_INIT;
	struct rl_sink sink = { rl_sink_buf_write, &out };
	struct rl_err err;
	double start = bench_now(), elapsed;
	size_t out_len = 0;
	int i;

	for (i = 0; i < count; i++) {
		xmlDocPtr doc = rl_xml_parse(xml->data, xml->len, RL_EBMS_OTHER, label, &err);
		struct rl_en_node *m;
		enum rl_syntax from;

		if (doc == NULL || rl_en_detect(doc, &from, &err) < 0) {
			fprintf(stderr, "%s: %s\n", label, err.msg);
			return -1;
		}
		m = from == RL_SYNTAX_UBL ? rl_ubl_read(doc, &err) : rl_cii_read(doc, &err);
		xmlFreeDoc(doc);
		if (m == NULL) {
			fprintf(stderr, "%s: %s\n", label, err.msg);
			return -1;
		}
		rl_buf_reset(&out);
		if ((to == RL_SYNTAX_UBL ? rl_ubl_write(m, &sink, NULL, &err) : rl_cii_write(m, &sink, NULL, &err)) < 0) {
			fprintf(stderr, "%s: %s\n", label, err.msg);
			rl_en_free(m);
			return -1;
		}
		out_len = out.len;
		rl_en_free(m);
	}
	elapsed = bench_now() - start;
	printf("%-10s %6d conversions of %zu bytes (-> %zu bytes) in %.2f s: %.0f conversions/s, %.1f MB/s\n",
	       label, count, xml->len, out_len, elapsed, count / elapsed, count * (double)xml->len / elapsed / 1e6);
	rl_buf_free(&out);
	return 0;
}

int main(int argc, char **argv)
{
	struct rl_buf ubl = RL_BUF_INIT, cii = RL_BUF_INIT;
	struct rl_err err;
	int count = argc > 3 ? atoi(argv[3]) : 2000;

	if (argc < 3 || count <= 0) {
		fprintf(stderr, "usage: bench_convert UBL.xml CII.xml [count]\n");
		return 2;
	}
	if (rl_init(&err) < 0 || rl_buf_read_file(&ubl, argv[1], 64u << 20) < 0 ||
	    rl_buf_read_file(&cii, argv[2], 64u << 20) < 0) {
		fprintf(stderr, "bench_convert: cannot read the inputs\n");
		return 1;
	}
	if (run("UBL->CII", &ubl, RL_SYNTAX_CII, count) < 0 || run("CII->UBL", &cii, RL_SYNTAX_UBL, count) < 0)
		return 1;
	printf("peak resident memory: %ld KiB\n", bench_peak_rss_kib());
	rl_buf_free(&ubl);
	rl_buf_free(&cii);
	rl_shutdown();
	return 0;
}

/*
 * bench_docs.c - document validation throughput: detects and validates typical invoices (the files
 * given, e.g. the CEN UBL and CII examples) at each level and prints documents/s per level and peak
 * resident memory. The full level runs through one schematron worker; its start-up (JVM and stylesheet
 * compilation) is timed apart from the per-document rate.
 * Usage: RELAIS_SCHEMA_DIR=schemas bench_docs [-n rounds] [--no-full] FILE...
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "relais/doc.h"
#include "relais/docval.h"
#include "relais/schematron.h"
#include "relais/xml.h"
#include "bench_util.h"



/* One document at one level; returns the number of fatal findings, or -1 when it could not run. */
static long validate(const char *path, int level, struct rl_schematron *worker)
{
	struct rl_findings f = RL_FINDINGS_INIT;
	struct rl_doc_info info;
	struct rl_err err;
	xmlDocPtr doc;
	long fatal = -1;

	if (rl_doc_detect_file(path, &info, &err) < 0) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		return -1;
	}
	rl_doc_info_free(&info);
	doc = rl_docval_parse_file(path, RL_DOCVAL_MAX_SIZE, &err);
	if (doc == NULL) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		return -1;
	}
	if (rl_docval_xsd(doc, &f, &err) == 0 && (level < RL_DOCVAL_RULES || rl_docval_rules(doc, 0, &f, &err) == 0) &&
	    (level < RL_DOCVAL_FULL || rl_schematron_validate(worker, path, doc, &f, &err) == 0))
		fatal = (long)rl_findings_fatal(&f);
	else
		fprintf(stderr, "%s: %s\n", path, err.msg);
	rl_findings_free(&f);
	xmlFreeDoc(doc);
	return fatal;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "", "xsd", "rules", "full" };
	struct rl_schematron *worker = NULL;
	int rounds = 20, full = 1, first = 1;
	struct rl_err err;

	while (first < argc && argv[first][0] == '-') {
		if (strcmp(argv[first], "-n") == 0 && first + 1 < argc) {
			rounds = atoi(argv[first + 1]);
			first += 2;
		} else if (strcmp(argv[first], "--no-full") == 0) {
			full = 0;
			first++;
		} else {
			break;
		}
	}
	if (first >= argc || rounds < 1) {
		fprintf(stderr, "usage: bench_docs [-n rounds] [--no-full] FILE...\n");
		return 2;
	}
	rl_xml_init();
	/* Compile the schemas once, outside the timings. */
	if (validate(argv[first], RL_DOCVAL_XSD, NULL) < 0)
		return 1;
	if (full) {
		double t0 = bench_now();

		int ok = 1;

		/* One pass compiles every stylesheet the files need. */
		worker = rl_schematron_new(300, &err);
		for (int i = first; worker && ok && i < argc; i++)
			ok = validate(argv[i], RL_DOCVAL_FULL, worker) >= 0;
		if (worker == NULL || !ok) {
			fprintf(stderr, "full level skipped: %s\n", worker ? "the worker failed" : err.msg);
			full = 0;
		} else {
			printf("full: worker start, stylesheet compilation and a first pass %.2f s\n", bench_now() - t0);
		}
	}
	for (int level = RL_DOCVAL_XSD; level <= (full ? RL_DOCVAL_FULL : RL_DOCVAL_RULES); level++) {
		int docs = 0, level_rounds = level == RL_DOCVAL_FULL ? (rounds + 9) / 10 : rounds;
		double t0 = bench_now(), dt;

		for (int r = 0; r < level_rounds; r++)
			for (int i = first; i < argc; i++)
				if (validate(argv[i], level, worker) >= 0)
					docs++;
		dt = bench_now() - t0;
		printf("%-5s %6d documents in %7.2f s: %8.1f documents/s\n", names[level], docs, dt, docs / dt);
	}
	printf("peak RSS %ld KiB\n", bench_peak_rss_kib());
	rl_schematron_free(worker);
	return 0;
}

/*
 * test_docval_full.c - full validation through the Saxon schematron worker (skipped when Java or
 * Saxon-HE is absent): valid and invalid examples through one worker, agreement with the built-in
 * rules on a sample of corpus examples and vefa test fragments, and supervision: a killed worker and a
 * worker that never answers both mean "could not validate", never "valid".
 */
#include "config.h"
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "relais/doc.h"
#include "relais/docval.h"
#include "relais/schematron.h"
#include "relais/xml.h"

#define VEFA_NS "http://difi.no/xsd/vefa/validator/1.0"

static char corpus[4096];
static char tmpdir[4096];
static struct rl_schematron *worker;

static const char *corpus_path(const char *rel)
{
	static char path[8192];

	snprintf(path, sizeof(path), "%s/%s", corpus, rel);
	return path;
}

/* Full validation of one file: returns the findings (schematron only) in *f. */
static int full(const char *path, struct rl_findings *f, struct rl_err *err)
{
	xmlDocPtr doc = rl_docval_parse_file(path, RL_DOCVAL_MAX_SIZE, err);
	int rc;

	if (doc == NULL)
		return -1;
	rc = rl_schematron_validate(worker, path, doc, f, err);
	xmlFreeDoc(doc);
	return rc;
}

static void test_valid_and_invalid(void **state)
{
	static const char *const valid[] = {
		"examples/ubl/cen-en16931/ubl-tc434-example1.xml",
		"examples/cii/cen-en16931/CII_example1.xml",
		"examples/ubl/peppol-bis3/examples/base-example.xml",
		"examples/ubl/peppol-bis3/examples/base-creditnote-correction.xml",
	};
	struct rl_findings f = RL_FINDINGS_INIT;
	struct rl_err err;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		if (full(corpus_path(valid[i]), &f, &err) < 0)
			fail_msg("%s: %s", valid[i], err.msg);
		for (size_t k = 0; k < f.count; k++)
			if (f.items[k].severity == RL_SEV_FATAL)
				fail_msg("%s: %s %s", valid[i], f.items[k].rule, f.items[k].message);
		rl_findings_free(&f);
	}
	assert_int_equal(full(corpus_path("pairs/xrechnung/cvd/02.01a-cvd_INVOICE/02.01a-cvd_INVOICE_uncefact.xml"), &f,
			      &err), 0);
	assert_true(rl_findings_has(&f, "BR-CL-13"));
	assert_true(rl_findings_fatal(&f) > 0);
	rl_findings_free(&f);
	assert_int_equal(full(corpus_path("pairs/eeisi-fullmodel-not-valid/not_validating_full_invoice_based_onTest_EeISI_300_CENfullmodel.ubl.xml"),
			      &f, &err), 0);
	assert_true(rl_findings_fatal(&f) > 0);
	print_message("EeISI negative UBL: %zu fatal schematron findings\n", rl_findings_fatal(&f));
	rl_findings_free(&f);
}

static int implemented(const char *rule)
{
	for (const char *const *id = rl_docval_rule_ids(); *id; id++)
		if (strcmp(*id, rule) == 0)
			return 1;
	return 0;
}

static int agreements, rejections;

/* Every fatal schematron finding on a rule the built-in engine implements is a built-in finding too. */
static void agree(const char *path, const char *label)
{
	struct rl_findings sch = RL_FINDINGS_INIT, builtin = RL_FINDINGS_INIT;
	struct rl_err err;
	xmlDocPtr doc = rl_docval_parse_file(path, RL_DOCVAL_MAX_SIZE, &err);

	if (doc == NULL)
		fail_msg("%s: %s", label, err.msg);
	if (rl_schematron_validate(worker, path, doc, &sch, &err) < 0)
		fail_msg("%s: %s", label, err.msg);
	assert_int_equal(rl_docval_rules(doc, 0, &builtin, &err), 0);
	for (size_t i = 0; i < sch.count; i++) {
		if (sch.items[i].severity != RL_SEV_FATAL || !implemented(sch.items[i].rule))
			continue;
		rejections++;
		if (!rl_findings_has(&builtin, sch.items[i].rule))
			fail_msg("%s: the schematron rejects on %s (%s) but the built-in rules do not", label,
				 sch.items[i].rule, sch.items[i].message);
	}
	agreements++;
	rl_findings_free(&sch);
	rl_findings_free(&builtin);
	xmlFreeDoc(doc);
}

static void agree_dir(const char *rel, int every)
{
	DIR *dir = opendir(corpus_path(rel));
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		size_t len = strlen(e->d_name);
		char path[8192];

		if (len < 5 || strcasecmp(e->d_name + len - 4, ".xml") != 0 || n++ % every != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", corpus_path(rel), e->d_name);
		agree(path, path);
	}
	closedir(dir);
}

/* Each <test> fragment of a vefa file as its own document. */
static void agree_vefa(const char *rel)
{
	struct rl_err err;
	xmlDocPtr set = rl_xml_parse_file(corpus_path(rel), 8u << 20, RL_EBMS_OTHER, "testSet", &err);
	int index = 0;

	if (set == NULL)
		fail_msg("%s: %s", rel, err.msg);
	for (xmlNodePtr t = xmlDocGetRootElement(set)->children; t; t = t->next) {
		xmlNodePtr fragment = NULL;
		char path[8192], label[8400];
		xmlDocPtr doc;

		if (!rl_xml_is(t, VEFA_NS, "test"))
			continue;
		for (xmlNodePtr c = t->children; c; c = c->next)
			if (c->type == XML_ELEMENT_NODE && !rl_xml_is(c, VEFA_NS, NULL))
				fragment = c;
		if (fragment == NULL)
			continue;
		doc = xmlNewDoc((const xmlChar *)"1.0");
		xmlDocSetRootElement(doc, xmlDocCopyNode(fragment, doc, 1));
		snprintf(path, sizeof(path), "%s/fragment.xml", tmpdir);
		assert_true(xmlSaveFile(path, doc) > 0);
		xmlFreeDoc(doc);
		snprintf(label, sizeof(label), "%s test %d", rel, ++index);
		agree(path, label);
	}
	xmlFreeDoc(set);
}

static void test_agreement(void **state)
{
	static const char *const vefa[] = {
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-CO-10.xml",
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-CO-13.xml",
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-CO-15.xml",
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-CO-16.xml",
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-CO-17.xml",
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-06.xml",
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-S-08-1.xml",
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-AE-08.xml",
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-E-10.xml",
		"schematron-tests/cen-en16931/Invoice-unit-UBL/BR-CL-10.xml",
		"schematron-tests/cen-en16931/CreditNote-unit-UBL/BR-12.xml",
		"schematron-tests/cen-en16931/cii-unit/BR-CO-17.xml",
		"schematron-tests/cen-en16931/cii-unit/BR-CO-15-2.xml",
	};

	agree_dir("examples/ubl/cen-en16931", 2);
	agree_dir("examples/cii/cen-en16931", 2);
	agree_dir("examples/ubl/peppol-bis3/examples", 1);
	agree_dir("pairs/eeisi-fullmodel-not-valid", 1);
	agree_dir("examples/xrechnung-testsuite/extension", 1);
	for (size_t i = 0; i < sizeof(vefa) / sizeof(vefa[0]); i++)
		agree_vefa(vefa[i]);
	print_message("%d documents: the built-in rules caught all %d schematron rejections on rules they implement\n",
		      agreements, rejections);
	assert_true(rejections > 20);
}

static void test_killed_worker(void **state)
{
	struct rl_findings f = RL_FINDINGS_INIT;
	struct rl_err err;
	const char *doc = corpus_path("examples/cii/cen-en16931/CII_example2.xml");
	pid_t pid = rl_schematron_pid(worker);

	assert_true(pid > 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(full(doc, &f, &err), -1);
	assert_int_equal(err.code, RL_ERR_INTERNAL);
	print_message("killed worker: %s\n", err.msg);
	assert_int_equal(f.count, 0);
	/* The next document gets a new worker. */
	assert_int_equal(full(doc, &f, &err), 0);
	assert_true(rl_schematron_pid(worker) > 0 && rl_schematron_pid(worker) != pid);
	assert_int_equal(rl_findings_fatal(&f), 0);
	rl_findings_free(&f);
}

static void test_silent_worker(void **state)
{
	struct rl_findings f = RL_FINDINGS_INIT;
	struct rl_schematron *silent;
	struct rl_err err;
	char java[8192];
	time_t start;
	FILE *script;

	/* A "java" that reads its requests and never answers. */
	snprintf(java, sizeof(java), "%s/silent-java", tmpdir);
	script = fopen(java, "w");
	assert_non_null(script);
	fputs("#!/bin/sh\nexec cat >/dev/null\n", script);
	fclose(script);
	chmod(java, 0700);
	setenv("RELAIS_JAVA", java, 1);
	silent = rl_schematron_new(1, &err);
	unsetenv("RELAIS_JAVA");
	assert_non_null(silent);
	start = time(NULL);
	{
		xmlDocPtr doc = rl_docval_parse_file(corpus_path("examples/cii/cen-en16931/CII_example2.xml"),
						     RL_DOCVAL_MAX_SIZE, &err);

		assert_non_null(doc);
		assert_int_equal(rl_schematron_validate(silent, corpus_path("examples/cii/cen-en16931/CII_example2.xml"),
							doc, &f, &err), -1);
		xmlFreeDoc(doc);
	}
	assert_true(time(NULL) - start < 10);
	assert_int_equal(err.code, RL_ERR_INTERNAL);
	print_message("silent worker: %s\n", err.msg);
	assert_int_equal(rl_schematron_pid(silent), 0);
	rl_schematron_free(silent);
}

/* A stylesheet that does not compile is a failure to validate, not a finding on the document. */
static void test_broken_stylesheet(void **state)
{
	struct rl_findings f = RL_FINDINGS_INIT;
	struct rl_schematron *w;
	struct rl_err err;
	char dir[8192], path[8192], saved[8192];
	const char *srcdir = getenv("top_srcdir");
	const char *doc_path = corpus_path("examples/cii/cen-en16931/CII_example2.xml");
	xmlDocPtr doc;
	FILE *fp;

	snprintf(saved, sizeof(saved), "%s", rl_docval_schema_dir());
	snprintf(dir, sizeof(dir), "%s/broken", tmpdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/java", dir);
	unlink(path);
	snprintf(dir, sizeof(dir), "%s/java", srcdir ? srcdir : ".");
	if (dir[0] != '/') {
		char cwd[4096];

		assert_non_null(getcwd(cwd, sizeof(cwd)));
		snprintf(dir, sizeof(dir), "%s/%s/java", cwd, srcdir ? srcdir : ".");
	}
	assert_int_equal(symlink(dir, path), 0);
	snprintf(dir, sizeof(dir), "%s/broken/schemas", tmpdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/schematron", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/schematron/EN16931-CII-validation.xslt", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("<not-a-stylesheet/>\n", fp);
	fclose(fp);
	setenv("RELAIS_SCHEMA_DIR", dir, 1);
	w = rl_schematron_new(120, &err);
	setenv("RELAIS_SCHEMA_DIR", saved, 1);
	assert_non_null(w);
	doc = rl_docval_parse_file(doc_path, RL_DOCVAL_MAX_SIZE, &err);
	assert_non_null(doc);
	assert_int_equal(rl_schematron_validate(w, doc_path, doc, &f, &err), -1);
	assert_int_equal(err.code, RL_ERR_CONFIG);
	assert_int_equal(f.count, 0);
	print_message("broken stylesheet: %s\n", err.msg);
	xmlFreeDoc(doc);
	rl_schematron_free(w);
}

static int setup(void **state)
{
	struct rl_err err;

	worker = rl_schematron_new(300, &err);
	if (worker == NULL) {
		printf("SKIP: %s\n", err.msg);
		exit(77);
	}
	return 0;
}

static int teardown(void **state)
{
	rl_schematron_free(worker);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_invalid),
		cmocka_unit_test(test_agreement),
		cmocka_unit_test(test_killed_worker),
		cmocka_unit_test(test_silent_worker),
		cmocka_unit_test(test_broken_stylesheet),
	};
	const char *shared = getenv("RELAIS_SHARED_DIR");
	const char *srcdir = getenv("top_srcdir");
	const char *builddir = getenv("top_builddir");
	char schemas[4096], parent[4096];

	if (shared == NULL || *shared == '\0') {
		printf("SKIP: RELAIS_SHARED_DIR is not set\n");
		return 77;
	}
	snprintf(corpus, sizeof(corpus), "%s/invoice-corpus", shared);
	snprintf(schemas, sizeof(schemas), "%s/schemas", srcdir ? srcdir : ".");
	setenv("RELAIS_SCHEMA_DIR", schemas, 0);
	snprintf(parent, sizeof(parent), "%s/tests/tmp", builddir ? builddir : ".");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_docval_full", parent);
	mkdir(parent, 0755);	/* shared: the embedded PostgreSQL of daemon_auto.sh enters it */
	mkdir(tmpdir, 0700);
	rl_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}

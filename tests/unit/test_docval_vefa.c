/*
 * test_docval_vefa.c - the built-in rules against the official per-rule test files (vefa "testSet"
 * files of CEN EN 16931 and Peppol BIS 3 in the shared invoice corpus). Each <test> wraps a small
 * document and names the rules it must trigger (<error>) or must not (<success>). For every rule the
 * built-in engine implements, the engine must agree with every such expectation. Prints the rules
 * covered and each disagreement; exits 1 on any, 77 when the corpus is absent.
 */
#include "config.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/tree.h>
#include "relais/docval.h"
#include "relais/xml.h"

#define VEFA_NS "http://difi.no/xsd/vefa/validator/1.0"
#define MAX_RULES 128

struct tally {
	const char *rule;
	int checked;
	int failed;
};

static struct tally tallies[MAX_RULES];
static int ntallies;
static int failures;

static struct tally *tally_of(const char *rule)
{
	const char *const *ids = rl_docval_rule_ids();

	for (int i = 0; i < ntallies; i++)
		if (strcmp(tallies[i].rule, rule) == 0)
			return &tallies[i];
	for (; *ids; ids++)
		if (strcmp(*ids, rule) == 0 && ntallies < MAX_RULES) {
			tallies[ntallies].rule = *ids;
			return &tallies[ntallies++];
		}
	return NULL;	/* not a rule the built-in engine implements */
}

static void run_test(const char *file, int index, xmlNodePtr test, unsigned flags)
{
	xmlNodePtr assert_el = rl_xml_child(test, VEFA_NS, "assert"), fragment = NULL;
	struct rl_findings findings = RL_FINDINGS_INIT;
	struct rl_err err;
	xmlDocPtr doc;
	int ran = 0;

	for (xmlNodePtr c = test->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !rl_xml_is(c, VEFA_NS, NULL)) {
			fragment = c;
			break;
		}
	if (assert_el == NULL || fragment == NULL)
		return;
	for (xmlNodePtr e = assert_el->children; e; e = e->next) {
		int expect_error = rl_xml_is(e, VEFA_NS, "error");
		struct tally *t;
		char *rule;

		if (!expect_error && !rl_xml_is(e, VEFA_NS, "success"))
			continue;
		rule = rl_xml_text(e);
		t = rule ? tally_of(rule) : NULL;
		if (t == NULL) {
			free(rule);
			continue;
		}
		if (!ran) {
			doc = xmlNewDoc((const xmlChar *)"1.0");
			xmlDocSetRootElement(doc, xmlDocCopyNode(fragment, doc, 1));
			if (rl_docval_rules(doc, flags, &findings, &err) < 0) {
				printf("not ok - %s test %d: the engine failed: %s\n", file, index, err.msg);
				failures++;
			}
			xmlFreeDoc(doc);
			ran = 1;
		}
		t->checked++;
		if (rl_findings_has(&findings, rule) != expect_error) {
			char *desc = rl_xml_text(rl_xml_child(assert_el, VEFA_NS, "description"));

			t->failed++;
			failures++;
			printf("not ok - %s test %d: %s expected %s (%s)\n", file, index, rule,
			       expect_error ? "to fire" : "not to fire", desc ? desc : "");
			for (size_t i = 0; i < findings.count; i++)
				if (strcmp(findings.items[i].rule, rule) == 0)
					printf("    got: %s %s: %s\n", findings.items[i].rule, findings.items[i].location,
					       findings.items[i].message);
			free(desc);
		}
		free(rule);
	}
	rl_findings_free(&findings);
}

static void run_file(const char *path, unsigned flags)
{
	struct rl_err err;
	xmlDocPtr doc = rl_xml_parse_file(path, 8u << 20, RL_EBMS_OTHER, "testSet", &err);
	xmlNodePtr root;
	int index = 0;

	if (doc == NULL) {
		printf("not ok - %s: %s\n", path, err.msg);
		failures++;
		return;
	}
	root = xmlDocGetRootElement(doc);
	for (xmlNodePtr t = root ? root->children : NULL; t; t = t->next)
		if (rl_xml_is(t, VEFA_NS, "test"))
			run_test(path, ++index, t, flags);
	xmlFreeDoc(doc);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, unsigned flags)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);

		if (len > 4 && strcmp(names[i]->d_name + len - 4, ".xml") == 0) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			run_file(path, flags);
		}
		free(names[i]);
	}
	free(names);
	return 0;
}

int main(void)
{
	static const struct {
		const char *dir;
		unsigned flags;
	} sets[] = {
		{ "cen-en16931/Invoice-unit-UBL", 0 },
		{ "cen-en16931/CreditNote-unit-UBL", 0 },
		{ "cen-en16931/cii-unit", 0 },
		{ "peppol-bis3/unit-UBL-PEPPOL", RL_RULES_PEPPOL },
		{ "peppol-bis3/unit-CII-PEPPOL", RL_RULES_PEPPOL },
	};
	const char *shared = getenv("RELAIS_SHARED_DIR");
	int checked = 0;

	if (shared == NULL || *shared == '\0') {
		printf("SKIP: RELAIS_SHARED_DIR is not set\n");
		return 77;
	}
	rl_xml_init();
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/invoice-corpus/schematron-tests/%s", shared, sets[i].dir);
		if (run_dir(dir, sets[i].flags) < 0) {
			printf("SKIP: no %s\n", dir);
			return 77;
		}
	}
	printf("rules covered by the vefa test files:\n");
	for (int i = 0; i < ntallies; i++) {
		printf("  %-22s %3d expectations, %d disagreements\n", tallies[i].rule, tallies[i].checked,
		       tallies[i].failed);
		checked += tallies[i].checked;
	}
	printf("%d rules, %d expectations checked, %d disagreements\n", ntallies, checked, failures);
	return failures ? 1 : (checked > 0 ? 0 : 1);
}

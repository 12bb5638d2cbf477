/* cmd_lookup.c - `relais lookup`: finds a participant's AS4 endpoint through the SML and its SMP, or reads
 * one SMP response file, and tells each step with --explain. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/discovery.h"
#include "relais/keys.h"
#include "relais/smp.h"
#include "relais/smp_client.h"
#include "relais/xml.h"
#include "relais/store.h"
#include "commands.h"

/* Exit statuses of lookup, one per failure kind (documented in relais(1)). */
#define EXIT_NOT_FOUND 3	/* RL_ERR_NOT_FOUND */
#define EXIT_NETWORK 4		/* RL_ERR_NETWORK */
#define EXIT_BAD_RESPONSE 5	/* RL_ERR_BAD_RESPONSE */

static int run_lookup(int argc, char **argv);

const struct rl_command rl_cmd_lookup = {
	.name = "lookup",
	.summary = "find a participant's AS4 endpoint through the SML and its SMP",
	.usage =
		"usage: relais lookup [--explain] [--json] [--cache] [--sml-zone ZONE] [--dns HOST:PORT]\n"
		"                     [-c FILE] [--set section.key=value ...] [--process PROCESS] [--at TIME]\n"
		"                     PARTICIPANT [DOCTYPE]\n"
		"       relais lookup [--explain] [--json] [--process PROCESS] [--at TIME] [-c FILE]\n"
		"                     [--set ...] --smp-file FILE\n"
		"\n"
		"Asks the SML (NAPTR record Meta:SMP, an SMP 1.x, or oasis-bdxr-smp-2, an SMP 2.0 asked\n"
		"under bdxr-smp-2/; else the legacy CNAME) for the participant's SMP,\n"
		"then the SMP for the signed ServiceMetadata of DOCTYPE, checks its signature against\n"
		"trust.smp_anchors and prints the chosen endpoint: URL, transport profile and receiver\n"
		"certificate. Without DOCTYPE it lists the document types of the participant's\n"
		"ServiceGroup. PARTICIPANT is \"iso6523-actorid-upis::0088:123\" or \"0088:123\";\n"
		"DOCTYPE is \"busdox-docid-qns::...\" (the scheme may be left out).\n"
		"\n"
		"  --explain          print every step: DNS names and answers, SMP URL, HTTP status,\n"
		"                     signature verdict, endpoint, and why a step failed\n"
		"  --json             print the result as JSON (endpoint_url, transport_profile,\n"
		"                     certificate as PEM, ...)\n"
		"  --sml-zone ZONE    SML zone (default: discovery.sml_zone)\n"
		"  --dns HOST:PORT    DNS server for the SML and the SMP host (default: discovery.dns)\n"
		"  --process PROCESS  the process the endpoint must serve (default: any)\n"
		"  --at TIME          check signatures and certificates at this xs:dateTime, not now\n"
		"  --smp-file FILE    read and verify this ServiceMetadata response instead of asking\n"
		"                     (a ServiceGroup file is listed, its signature checked if it has one)\n"
		"  --cache            use (and fill) the discovery cache shared through the database\n"
		"                     (database.url): a remembered answer comes without asking again\n"
		"  -c, --config FILE  configuration file (relais.conf(5)); --set overrides one key\n"
		"\n"
		"Exit status: 0 found; 1 refused (SMP signature or certificate not trusted, no usable\n"
		"AS4 endpoint); 2 usage or configuration error; 3 not found (participant not registered\n"
		"in the SML, or document type unknown to the SMP); 4 DNS server or SMP unreachable or\n"
		"timed out; 5 malformed DNS record or SMP response.\n",
	.run = run_lookup,
};

struct lookup_opts {
	int explain, json, cache;
	const char *zone, *dns, *process, *smp_file, *config_path, *participant, *doctype;
	time_t at;
};

static int exit_status(const struct rl_err *err)
{
	int status = rl_cli_fail(err);

	switch (err->code) {
	case RL_ERR_NOT_FOUND: return EXIT_NOT_FOUND;
	case RL_ERR_NETWORK: return EXIT_NETWORK;
	case RL_ERR_BAD_RESPONSE: return EXIT_BAD_RESPONSE;
	default: return status;
	}
}

static void explain_line(void *arg, const char *line)
{
	FILE *out = arg;

	fprintf(out, "  %s\n", line);
}

static void print_time(const char *label, time_t t)
{
	char text[40];

	if (!t)
		return;
	rl_format_datetime(t, 0, text, sizeof(text));
	printf("%-12s %s\n", label, text);
}

static void json_time(json_t *obj, const char *key, time_t t)
{
	char text[40];

	if (!t)
		return;
	rl_format_datetime(t, 0, text, sizeof(text));
	json_object_set_new(obj, key, json_string(text));
}

static int print_json(json_t *obj)
{
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(obj);
	if (!text)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* Prints the endpoint (plain or JSON). */
static int print_endpoint(const struct lookup_opts *o, const char *participant, const char *doctype,
			  const struct rl_endpoint *ep)
{
	struct rl_buf pem = RL_BUF_INIT;
	char *subject = rl_cert_subject(ep->cert), *issuer = rl_cert_issuer(ep->cert);
	int rc = 0;

	if (rl_cert_to_pem(ep->cert, &pem) < 0)
		rc = -1;
	if (rc == 0 && o->json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "participant", json_string(participant ? participant : ""));
		json_object_set_new(obj, "doctype", json_string(doctype ? doctype : ""));
		json_object_set_new(obj, "process", json_string(ep->process ? ep->process : ""));
		json_object_set_new(obj, "smp_url", json_string(ep->smp_url ? ep->smp_url : ""));
		json_object_set_new(obj, "endpoint_url", json_string(ep->url));
		json_object_set_new(obj, "transport_profile", json_string(ep->transport_profile));
		json_object_set_new(obj, "certificate", json_string(pem.data));
		json_object_set_new(obj, "certificate_subject", json_string(subject ? subject : ""));
		json_object_set_new(obj, "certificate_issuer", json_string(issuer ? issuer : ""));
		json_time(obj, "activation", ep->activation);
		json_time(obj, "expiration", ep->expiration);
		rc = print_json(obj);
	} else if (rc == 0) {
		if (ep->smp_url && ep->smp_url[0])
			printf("%-12s %s\n", "smp", ep->smp_url);
		printf("%-12s %s\n%-12s %s\n%-12s %s\n", "endpoint", ep->url, "transport", ep->transport_profile,
		       "process", ep->process);
		printf("%-12s %s\n%-12s %s\n", "certificate", subject ? subject : "?", "issuer", issuer ? issuer : "?");
		print_time("activation", ep->activation);
		print_time("expiration", ep->expiration);
		fputs(pem.data, stdout);
	}
	free(subject);
	free(issuer);
	rl_buf_free(&pem);
	return rc;
}

/* Lists every process and endpoint of verified metadata in --explain output. */
static void explain_metadata(const struct lookup_opts *o, FILE *out, const struct rl_smp_metadata *m)
{
	char cn[128];

	if (!o->explain)
		return;
	fprintf(out, "  SMP: %s ServiceMetadata for %s::%s, document type %s::%s\n", rl_smp_flavour_name(m->flavour),
		m->participant_scheme, m->participant_value, m->doctype_scheme, m->doctype_value);
	for (size_t i = 0; i < m->process_count; i++)
		for (size_t j = 0; j < m->processes[i].endpoint_count; j++) {
			const struct rl_smp_endpoint *e = &m->processes[i].endpoints[j];

			fprintf(out, "  SMP: process %s::%s endpoint %s %s certificate %s\n", m->processes[i].scheme,
				m->processes[i].value, e->transport_profile, e->url,
				e->cert ? rl_cert_cn(e->cert, cn, sizeof(cn)) : "(none)");
		}
}

static void print_service_group(const struct lookup_opts *o, const struct rl_smp_service_group *g);

/* A ServiceGroup file is listed (its signature checked when it has one: SMP 2.0); returns -1 when the file
 * is none. */
static int file_service_group(const struct lookup_opts *o, const struct rl_smp_client *c, const struct rl_buf *data,
			      int *status)
{
	struct rl_smp_service_group g;
	struct rl_err err;
	xmlDocPtr doc = rl_xml_parse(data->data, data->len, RL_ERR_BAD_RESPONSE, "SMP response", &err);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

	if (!root || strcmp((const char *)root->name, "ServiceGroup") != 0) {
		xmlFreeDoc(doc);
		return -1;
	}
	if (rl_smp_read_service_group(c, doc, &g, NULL, &err) < 0) {
		*status = exit_status(&err);
	} else {
		print_service_group(o, &g);
		rl_smp_service_group_free(&g);
		*status = RL_EXIT_OK;
	}
	xmlFreeDoc(doc);
	return 0;
}

static int lookup_file(const struct lookup_opts *o, struct rl_discovery *d, const struct rl_config *cfg, FILE *xout)
{
	struct rl_smp_client c = { .at = o->at, .explain = o->explain ? explain_line : NULL, .explain_arg = xout };
	struct rl_smp_metadata m;
	struct rl_endpoint ep;
	struct rl_trust *anchors = NULL;
	struct rl_buf data = RL_BUF_INIT;
	const char *anchors_path = rl_config_str(cfg, RL_CFG_TRUST_SMP_ANCHORS);
	struct rl_err err;
	int status;

	if (!anchors_path[0]) {
		rl_err_set(&err, RL_ERR_CONFIG, "no SMP trust anchors configured (trust.smp_anchors)");
		return exit_status(&err);
	}
	if (!(anchors = rl_trust_load(anchors_path, &err))) {
		err.code = RL_ERR_CONFIG;
		return exit_status(&err);
	}
	c.anchors = anchors;
	if (o->explain)
		fprintf(xout, "  file: %s\n", o->smp_file);
	if (rl_buf_read_file(&data, o->smp_file, RL_SMP_RESPONSE_MAX) < 0) {
		rl_err_set(&err, RL_ERR_IO, "cannot read %s", o->smp_file);
		status = exit_status(&err);
	} else if (file_service_group(o, &c, &data, &status) == 0) {
		/* listed */
	} else if (rl_smp_read_metadata(&c, data.data, data.len, &m, NULL, &err) < 0) {
		status = exit_status(&err);
	} else {
		explain_metadata(o, xout, &m);
		if (m.redirect_url) {
			printf("%-12s %s\n%-12s %s\n", "redirect", m.redirect_url, "signer-must-be",
			       m.redirect_cert_uid ? m.redirect_cert_uid : "(certificate given)");
			status = RL_EXIT_OK;
		} else if (rl_discovery_choose(d, &m, o->process, &ep, &err) < 0) {
			status = exit_status(&err);
		} else {
			char uri[1200];

			snprintf(uri, sizeof(uri), "%s::%s", m.doctype_scheme, m.doctype_value);
			status = print_endpoint(o, m.participant_value, uri, &ep) < 0 ? RL_EXIT_REFUSED : RL_EXIT_OK;
			rl_endpoint_free(&ep);
		}
		rl_smp_metadata_free(&m);
	}
	rl_buf_free(&data);
	rl_trust_free(anchors);
	return status;
}

/* Prints a ServiceGroup's document types (plain or JSON). */
static void print_service_group(const struct lookup_opts *o, const struct rl_smp_service_group *g)
{
	if (o->json) {
		json_t *obj = json_object(), *list = json_array();

		json_object_set_new(obj, "participant", json_sprintf("%s::%s", g->participant_scheme, g->participant_value));
		json_object_set_new(obj, "smp_flavour", json_string(rl_smp_flavour_name(g->flavour)));
		for (size_t i = 0; i < g->count; i++)
			json_array_append_new(list, json_string(g->doctypes[i]));
		json_object_set_new(obj, "document_types", list);
		print_json(obj);
	} else {
		printf("participant  %s::%s\n", g->participant_scheme, g->participant_value);
		for (size_t i = 0; i < g->count; i++)
			printf("doctype      %s\n", g->doctypes[i]);
	}
}

static int lookup_service_group(const struct lookup_opts *o, struct rl_discovery *d)
{
	struct rl_smp_service_group g;
	struct rl_err err;

	if (rl_discovery_service_group(d, o->participant, &g, &err) < 0) {
		if (o->explain)
			fprintf(o->json ? stderr : stdout, "  failed: %s\n", err.msg);
		return exit_status(&err);
	}
	print_service_group(o, &g);
	rl_smp_service_group_free(&g);
	return RL_EXIT_OK;
}

static int lookup_endpoint(const struct lookup_opts *o, struct rl_discovery *d, FILE *xout)
{
	struct rl_smp_metadata m;
	struct rl_endpoint ep;
	struct rl_err err;
	int status;

	memset(&m, 0, sizeof(m));
	if ((o->cache ? rl_discovery_resolve(d, o->participant, o->doctype, o->process, &ep, &err)
		      : rl_discovery_resolve_full(d, o->participant, o->doctype, o->process, &ep, &m, &err)) < 0) {
		if (o->explain)
			fprintf(xout, "  failed: %s\n", err.msg);
		return exit_status(&err);
	}
	if (!o->cache)
		explain_metadata(o, xout, &m);
	status = print_endpoint(o, o->participant, o->doctype, &ep) < 0 ? RL_EXIT_REFUSED : RL_EXIT_OK;
	rl_endpoint_free(&ep);
	rl_smp_metadata_free(&m);
	return status;
}

/* --cache: the database of database.url (for auto, the running embedded cluster of state.dir). */
static int use_shared_cache(struct rl_discovery *d, const struct rl_config *cfg, struct rl_err *err)
{
	const char *url = rl_config_str(cfg, RL_CFG_DATABASE_URL);
	char *auto_url = NULL;
	int rc;

	if (strcmp(url, "auto") == 0 && !(url = auto_url = rl_pgcluster_client_conninfo(rl_config_str(cfg, RL_CFG_STATE_DIR), err)))
		return -1;
	rc = rl_discovery_use_database(d, url, err);
	free(auto_url);
	return rc;
}

static int run_lookup(int argc, char **argv)
{
	struct lookup_opts o = { 0 };
	char zone_set[300], dns_set[300];
	const char *extra[3] = { NULL, NULL, NULL };
	int nextra = 0;
	struct rl_config *cfg;
	struct rl_discovery *d;
	struct rl_err err;
	FILE *xout;
	int status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int takes_value = strcmp(a, "--sml-zone") == 0 || strcmp(a, "--dns") == 0 || strcmp(a, "-c") == 0 ||
				  strcmp(a, "--config") == 0 || strcmp(a, "--set") == 0 || strcmp(a, "--process") == 0 ||
				  strcmp(a, "--at") == 0 || strcmp(a, "--smp-file") == 0;

		if (takes_value && i + 1 >= argc)
			return rl_cli_usage_error(&rl_cmd_lookup, "%s needs a value", a);
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return rl_cli_print_usage(&rl_cmd_lookup);
		else if (strcmp(a, "--explain") == 0)
			o.explain = 1;
		else if (strcmp(a, "--json") == 0)
			o.json = 1;
		else if (strcmp(a, "--cache") == 0)
			o.cache = 1;
		else if (strcmp(a, "--sml-zone") == 0)
			o.zone = argv[++i];
		else if (strcmp(a, "--dns") == 0)
			o.dns = argv[++i];
		else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
			o.config_path = argv[++i];
		else if (strcmp(a, "--set") == 0)
			i++;
		else if (strcmp(a, "--process") == 0)
			o.process = argv[++i];
		else if (strcmp(a, "--smp-file") == 0)
			o.smp_file = argv[++i];
		else if (strcmp(a, "--at") == 0) {
			if ((o.at = rl_parse_datetime(argv[++i])) == (time_t)-1)
				return rl_cli_usage_error(&rl_cmd_lookup, "--at: not an xs:dateTime: %s", argv[i]);
		} else if (a[0] == '-' && a[1] != '\0')
			return rl_cli_usage_error(&rl_cmd_lookup, "unknown option %s", a);
		else if (!o.participant)
			o.participant = a;
		else if (!o.doctype)
			o.doctype = a;
		else
			return rl_cli_usage_error(&rl_cmd_lookup, "too many arguments");
	}
	if (!o.participant && !o.smp_file)
		return rl_cli_usage_error(&rl_cmd_lookup, "a PARTICIPANT is required");
	if (o.zone && snprintf(zone_set, sizeof(zone_set), "discovery.sml_zone=%s", o.zone) > 0)
		extra[nextra++] = zone_set;
	if (o.dns && snprintf(dns_set, sizeof(dns_set), "discovery.dns=%s", o.dns) > 0)
		extra[nextra++] = dns_set;
	if ((status = rl_cli_config_load_argv(&rl_cmd_lookup, o.config_path, argc, argv, extra, &cfg)) != RL_EXIT_OK)
		return status;
	if (rl_init(&err) < 0) {
		rl_config_free(cfg);
		return rl_cli_fail(&err);
	}
	if (!(d = rl_discovery_from_config(cfg, &err))) {
		rl_config_free(cfg);
		return rl_cli_fail(&err);
	}
	xout = o.json ? stderr : stdout;
	rl_discovery_set_time(d, o.at);
	if (o.explain)
		rl_discovery_set_explain(d, explain_line, xout);
	if (o.cache && use_shared_cache(d, cfg, &err) < 0) {
		status = rl_cli_fail(&err);
		goto done;
	}
	if (o.smp_file)
		status = lookup_file(&o, d, cfg, xout);
	else if (!o.doctype)
		status = lookup_service_group(&o, d);
	else
		status = lookup_endpoint(&o, d, xout);
done:
	rl_discovery_free(d);
	rl_config_free(cfg);
	return status;
}

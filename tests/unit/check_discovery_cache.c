/*
 * check_discovery_cache.c - run by tests/scripts/lookup.sh against its dnsmasq and HTTP server: the
 * in-memory cache of rl_discovery_resolve keeps a found endpoint after the SMP stopped publishing it,
 * a discovery without cache then sees it gone, and "not registered" is remembered too.
 *
 * usage: check_discovery_cache DNS ZONE SMP_ANCHORS PARTICIPANT DOCTYPE PUBLISHED_FILE UNKNOWN_PARTICIPANT
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "relais/cli.h"
#include "relais/discovery.h"

static int cache_lines;
static int failures;

static void count_cache(void *arg, const char *line)
{
	(void)arg;
	if (strncmp(line, "cache:", 6) == 0)
		cache_lines++;
}

static void check(int cond, const char *what, const struct rl_err *err)
{
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
	if (!cond) {
		failures++;
		if (err && err->msg[0])
			printf("    %s\n", err->msg);
	}
}

int main(int argc, char **argv)
{
	struct rl_discovery_opts o = { 0 };
	struct rl_discovery *cached, *uncached;
	struct rl_endpoint ep;
	struct rl_err err = { 0 };
	int rc;

	if (argc != 8) {
		fprintf(stderr, "usage: %s DNS ZONE SMP_ANCHORS PARTICIPANT DOCTYPE PUBLISHED_FILE UNKNOWN\n", argv[0]);
		return 2;
	}
	if (rl_init(&err) < 0)
		return 2;
	o.dns_server = argv[1];
	o.sml_zone = argv[2];
	o.smp_anchors_path = argv[3];
	o.timeout = 5;
	o.cache_ttl = 60;
	o.negative_ttl = 60;
	o.explain = count_cache;
	cached = rl_discovery_new(&o, &err);
	o.cache_ttl = o.negative_ttl = 0;
	uncached = rl_discovery_new(&o, &err);
	if (!cached || !uncached) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}

	rc = rl_discovery_resolve(cached, argv[4], argv[5], NULL, &ep, &err);
	check(rc == 0 && cache_lines == 0, "first lookup asks the SML and the SMP", &err);
	rl_endpoint_free(&ep);
	check(unlink(argv[6]) == 0, "the SMP stops publishing the document type", NULL);
	rc = rl_discovery_resolve(cached, argv[4], argv[5], NULL, &ep, &err);
	check(rc == 0 && cache_lines == 1 && ep.url && ep.cert, "second lookup answered from the cache", &err);
	rl_endpoint_free(&ep);
	rc = rl_discovery_resolve(uncached, argv[4], argv[5], NULL, &ep, &err);
	check(rc < 0 && err.code == RL_ERR_NOT_FOUND, "without cache the SMP answers 404", &err);

	rc = rl_discovery_resolve(cached, argv[7], argv[5], NULL, &ep, &err);
	check(rc < 0 && err.code == RL_ERR_NOT_FOUND && cache_lines == 1, "unknown participant: not registered", &err);
	rc = rl_discovery_resolve(cached, argv[7], argv[5], NULL, &ep, &err);
	check(rc < 0 && err.code == RL_ERR_NOT_FOUND && cache_lines == 2, "not registered is remembered", &err);

	rl_discovery_free(cached);
	rl_discovery_free(uncached);
	rl_shutdown();
	return failures ? 1 : 0;
}

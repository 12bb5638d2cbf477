/*
 * routing.c - the static routing table (routing.table): where a message goes when the submission did
 * not say. Lines "RECEIVER URL CERTIFICATE-FILE"; RECEIVER is a participant id (with or without the
 * iso6523-actorid-upis:: scheme), an AS4 party id, or * for any other receiver. First match wins.
 */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "relais/daemon.h"

struct route {
	char *receiver;
	char *url;
	char *cert_path;
};

struct rl_routes {
	struct route *routes;
	size_t count;
};

void rl_routes_free(struct rl_routes *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->count; i++) {
		free(r->routes[i].receiver);
		free(r->routes[i].url);
		free(r->routes[i].cert_path);
	}
	free(r->routes);
	free(r);
}

/* Participant ids compare without their scheme and without case (Peppol's ICD scheme is case-insensitive). */
static const char *strip_scheme(const char *id)
{
	const char *sep = strstr(id, "::");

	return sep ? sep + 2 : id;
}

static int add_route(struct rl_routes *r, const char *receiver, const char *url, const char *cert)
{
	struct route *grown = realloc(r->routes, (r->count + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	r->routes = grown;
	grown[r->count].receiver = strdup(receiver);
	grown[r->count].url = strdup(url);
	grown[r->count].cert_path = strdup(cert);
	r->count++;
	if (!grown[r->count - 1].receiver || !grown[r->count - 1].url || !grown[r->count - 1].cert_path)
		return -1;
	return 0;
}

struct rl_routes *rl_routes_load(const char *path, struct rl_err *err)
{
	struct rl_routes *r = calloc(1, sizeof(*r));
	char line[4096];
	FILE *fp;
	int lineno = 0;

	if (r == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (path == NULL || path[0] == '\0')
		return r;
	fp = fopen(path, "r");
	if (fp == NULL) {
		rl_err_set(err, RL_ERR_CONFIG, "routing.table %s: %s", path, strerror(errno));
		rl_routes_free(r);
		return NULL;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char receiver[1024], url[2048], cert[1024], extra[2];
		char *hash = strchr(line, '#');
		int n;

		lineno++;
		if (hash)
			*hash = '\0';
		n = sscanf(line, "%1023s %2047s %1023s %1s", receiver, url, cert, extra);
		if (n <= 0)
			continue;
		if (n != 3) {
			rl_err_set(err, RL_ERR_CONFIG, "%s:%d: a route is 'RECEIVER URL CERTIFICATE-FILE'", path,
				   lineno);
			goto fail;
		}
		if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
			rl_err_set(err, RL_ERR_CONFIG, "%s:%d: '%s' is not an http(s) URL", path, lineno, url);
			goto fail;
		}
		if (add_route(r, receiver, url, cert) < 0) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto fail;
		}
	}
	fclose(fp);
	return r;
fail:
	fclose(fp);
	rl_routes_free(r);
	return NULL;
}

int rl_routes_find(const struct rl_routes *r, const char *receiver, const char **url, const char **cert_path,
		   int *wildcard, struct rl_err *err)
{
	for (size_t i = 0; r != NULL && i < r->count; i++) {
		const struct route *rt = &r->routes[i];
		int any = strcmp(rt->receiver, "*") == 0;

		if (any || (receiver != NULL && strcasecmp(strip_scheme(rt->receiver), strip_scheme(receiver)) == 0)) {
			*url = rt->url;
			*cert_path = rt->cert_path;
			if (wildcard)
				*wildcard = any;
			return 0;
		}
	}
	return rl_err_set(err, RL_ERR_NOT_FOUND, "no route for receiver %s (routing.table)",
			  receiver ? receiver : "(unknown)");
}

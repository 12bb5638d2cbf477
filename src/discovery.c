/*
 * discovery.c - the whole lookup of a receiver: SML over DNS (NAPTR, then legacy CNAME), the SMP's signed
 * ServiceMetadata, the choice of endpoint, and an in-memory cache with TTLs. See include/relais/discovery.h.
 */
#include "config.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "relais/discovery.h"
#include "relais/dns.h"
#include "relais/sml.h"
#include "relais/smp_cache.h"

#define CACHE_MAX 4096

struct cache_entry {
	char *key;
	time_t expires;
	int found;
	struct rl_endpoint ep;	/* when found */
	struct rl_err err;	/* when not found */
};

struct rl_discovery {
	char *zone;
	char *dns_server;
	struct rl_trust *smp_anchors;
	struct rl_trust *ap_anchors;
	int timeout;
	long cache_ttl, negative_ttl;
	time_t at;
	rl_explain_fn explain;
	void *explain_arg;
	pthread_mutex_t lock;
	struct cache_entry *cache;
	size_t cache_count;
	struct rl_smp_cache_db *shared;	/* the database's cache, or NULL */
};

static const char *const preferred_profiles[] = { RL_TRANSPORT_PEPPOL_AS4_V2, RL_TRANSPORT_CEF_AS4 };

void rl_endpoint_free(struct rl_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->url);
	free(ep->transport_profile);
	X509_free(ep->cert);
	free(ep->smp_url);
	free(ep->process);
	memset(ep, 0, sizeof(*ep));
}

static int endpoint_copy(struct rl_endpoint *dst, const struct rl_endpoint *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->url = strdup(src->url);
	dst->transport_profile = strdup(src->transport_profile);
	dst->smp_url = strdup(src->smp_url ? src->smp_url : "");
	dst->process = strdup(src->process ? src->process : "");
	dst->activation = src->activation;
	dst->expiration = src->expiration;
	if (src->cert && X509_up_ref(src->cert))
		dst->cert = src->cert;
	if (!dst->url || !dst->transport_profile || !dst->smp_url || !dst->process) {
		rl_endpoint_free(dst);
		return -1;
	}
	return 0;
}

struct rl_discovery *rl_discovery_new(const struct rl_discovery_opts *o, struct rl_err *err)
{
	struct rl_discovery *d = calloc(1, sizeof(*d));

	if (!d) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->zone = strdup(o->sml_zone ? o->sml_zone : "");
	d->dns_server = strdup(o->dns_server ? o->dns_server : "");
	if (!d->zone || !d->dns_server) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (!d->zone[0]) {
		rl_err_set(err, RL_ERR_CONFIG, "no SML zone configured (discovery.sml_zone)");
		goto fail;
	}
	if (o->smp_anchors_path && o->smp_anchors_path[0] &&
	    !(d->smp_anchors = rl_trust_load(o->smp_anchors_path, err))) {
		err->code = RL_ERR_CONFIG;
		rl_err_prefix(err, "SMP trust anchors");
		goto fail;
	}
	if (o->ap_anchors_path && o->ap_anchors_path[0] && !(d->ap_anchors = rl_trust_load(o->ap_anchors_path, err))) {
		err->code = RL_ERR_CONFIG;
		rl_err_prefix(err, "AP trust anchors");
		goto fail;
	}
	d->timeout = o->timeout > 0 ? o->timeout : 10;
	d->cache_ttl = o->cache_ttl;
	d->negative_ttl = o->negative_ttl;
	d->at = o->at;
	d->explain = o->explain;
	d->explain_arg = o->explain_arg;
	return d;
fail:
	rl_discovery_free(d);
	return NULL;
}

struct rl_discovery *rl_discovery_from_config(const struct rl_config *cfg, struct rl_err *err)
{
	struct rl_discovery_opts o = {
		.sml_zone = rl_config_str(cfg, RL_CFG_DISCOVERY_SML_ZONE),
		.dns_server = rl_config_str(cfg, RL_CFG_DISCOVERY_DNS),
		.smp_anchors_path = rl_config_str(cfg, RL_CFG_TRUST_SMP_ANCHORS),
		.ap_anchors_path = rl_config_str(cfg, RL_CFG_TRUST_ANCHORS),
		.timeout = (int)rl_config_duration_seconds(cfg, RL_CFG_DISCOVERY_TIMEOUT),
		.cache_ttl = (long)rl_config_duration_seconds(cfg, RL_CFG_DISCOVERY_CACHE_TTL),
		.negative_ttl = (long)rl_config_duration_seconds(cfg, RL_CFG_DISCOVERY_NEGATIVE_TTL),
	};

	return rl_discovery_new(&o, err);
}

void rl_discovery_free(struct rl_discovery *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->cache_count; i++) {
		free(d->cache[i].key);
		rl_endpoint_free(&d->cache[i].ep);
	}
	free(d->cache);
	rl_smp_cache_db_close(d->shared);
	free(d->zone);
	free(d->dns_server);
	rl_trust_free(d->smp_anchors);
	rl_trust_free(d->ap_anchors);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void rl_discovery_set_explain(struct rl_discovery *d, rl_explain_fn fn, void *arg)
{
	d->explain = fn;
	d->explain_arg = arg;
}

int rl_discovery_use_database(struct rl_discovery *d, const char *conninfo, struct rl_err *err)
{
	struct rl_smp_cache_db *db = rl_smp_cache_db_open(conninfo, err);

	if (!db)
		return -1;
	rl_smp_cache_db_close(d->shared);
	d->shared = db;
	return 0;
}

void rl_discovery_set_time(struct rl_discovery *d, time_t at)
{
	d->at = at;
}

/* An SMP client for one lookup, with its own resolver (resolvers are not shared between threads). */
static int client_open(struct rl_discovery *d, struct rl_smp_client *c, struct rl_err *err)
{
	memset(c, 0, sizeof(*c));
	c->anchors = d->smp_anchors;
	c->timeout = d->timeout;
	c->at = d->at;
	c->explain = d->explain;
	c->explain_arg = d->explain_arg;
	if (!d->dns_server[0])
		return 0;
	c->dns = rl_dns_new(d->dns_server, d->timeout, err);
	return c->dns ? 0 : -1;
}

/* A participant from "scheme::value" or a bare "NNNN:value". */
static int parse_participant(struct rl_peppol_id *id, const char *text, struct rl_err *err)
{
	if (strstr(text, "::"))
		return rl_participant_parse(id, text, err);
	return rl_peppol_id_make(id, RL_ID_PARTICIPANT, NULL, text, err);
}

/* A document type from "scheme::value", or a value given without scheme (busdox-docid-qns is assumed). */
static int parse_doctype(struct rl_peppol_id *id, const char *text, struct rl_err *err)
{
	if (strncmp(text, RL_SCHEME_DOCTYPE "::", strlen(RL_SCHEME_DOCTYPE) + 2) == 0 ||
	    strncmp(text, RL_SCHEME_DOCTYPE_WILDCARD "::", strlen(RL_SCHEME_DOCTYPE_WILDCARD) + 2) == 0)
		return rl_doctype_parse(id, text, err);
	if (strncmp(text, "urn:", 4) == 0)
		return rl_peppol_id_make(id, RL_ID_DOCTYPE, NULL, text, err);
	return rl_doctype_parse(id, text, err);
}

/* The NAPTR services that name an SMP, and the paths that SMP then serves. */
static enum rl_smp_api naptr_service_api(const struct rl_dns_naptr *r, int *usable)
{
	*usable = strcasecmp(r->flags, "U") == 0;
	if (*usable && strcasecmp(r->service, RL_SMP2_NAPTR_SERVICE) == 0)
		return RL_SMP_API_2;
	*usable = *usable && strcasecmp(r->service, RL_SMP1_NAPTR_SERVICE) == 0;
	return RL_SMP_API_1;
}

/* The record to use among records sorted by order, then preference (dns.h): the first usable one; among
 * usable records of the same order and preference an oasis-bdxr-smp-2 one. count when none is usable. */
static size_t naptr_choose(const struct rl_dns_naptr *records, size_t count, enum rl_smp_api *api)
{
	size_t best = count, i;
	int usable;

	for (i = 0; i < count; i++) {
		enum rl_smp_api a = naptr_service_api(&records[i], &usable);

		if (!usable)
			continue;
		if (best == count) {
			best = i;
			*api = a;
		} else if (records[i].order != records[best].order ||
			   records[i].preference != records[best].preference) {
			break;
		}
		if (a == RL_SMP_API_2 && *api != RL_SMP_API_2) {
			best = i;
			*api = a;
		}
	}
	return best;
}

static int sml_naptr(struct rl_discovery *d, struct rl_smp_client *c, struct rl_dns *dns,
		     const struct rl_peppol_id *id, struct rl_buf *smp_url, struct rl_err *err)
{
	struct rl_buf name = RL_BUF_INIT;
	struct rl_dns_naptr *records = NULL;
	enum rl_smp_api api = RL_SMP_API_1;
	size_t count = 0, i;
	int rc = -1;

	if (rl_sml_naptr_name_id(&name, id, d->zone, err) < 0)
		goto out;
	rl_explain(c, "SML: NAPTR %s (asking %s)", name.data, rl_dns_server(dns));
	if (rl_dns_naptr(dns, name.data, &records, &count, err) < 0) {
		rl_explain(c, "SML: NAPTR: %s", err->msg);
		goto out;
	}
	for (i = 0; i < count; i++)
		rl_explain(c, "SML: NAPTR answer: order %u preference %u flags \"%s\" service \"%s\" regexp \"%s\"",
			   records[i].order, records[i].preference, records[i].flags, records[i].service,
			   records[i].regexp);
	i = naptr_choose(records, count, &api);
	if (i == count) {
		rl_err_set(err, RL_ERR_NOT_FOUND, "%s has no NAPTR record with flag U and service %s or %s", name.data,
			   RL_SMP1_NAPTR_SERVICE, RL_SMP2_NAPTR_SERVICE);
		rl_explain(c, "SML: NAPTR: %s", err->msg);
		goto out;
	}
	if (rl_unaptr_apply(records[i].regexp, name.data, smp_url, err) < 0) {
		rl_err_set(err, RL_ERR_BAD_RESPONSE, "malformed NAPTR record for %s: regexp \"%.200s\": %s", name.data,
			   records[i].regexp, err->msg);
		rl_explain(c, "SML: %s", err->msg);
		goto out;
	}
	if (strncasecmp(smp_url->data, "http://", 7) != 0 && strncasecmp(smp_url->data, "https://", 8) != 0) {
		rl_err_set(err, RL_ERR_BAD_RESPONSE, "malformed NAPTR record for %s: \"%.200s\" is not an http(s) URL",
			   name.data, smp_url->data);
		rl_buf_reset(smp_url);
		rl_explain(c, "SML: %s", err->msg);
		goto out;
	}
	rl_explain(c, "SML: NAPTR gives SMP %s", smp_url->data);
	rl_explain(c, "SML: NAPTR service \"%s\" (order %u preference %u): an %s, paths %s/%s{participant}",
		   records[i].service, records[i].order, records[i].preference, rl_smp_api_name(api), smp_url->data,
		   api == RL_SMP_API_2 ? RL_SMP2_PATH_SEGMENT "/" : "");
	c->api = api;
	rc = 0;
out:
	free(records);
	rl_buf_free(&name);
	return rc;
}

static int sml_cname(struct rl_discovery *d, struct rl_smp_client *c, struct rl_dns *dns,
		     const struct rl_peppol_id *id, struct rl_buf *smp_url, struct rl_err *err)
{
	struct rl_buf name = RL_BUF_INIT;
	struct rl_dns_host host;
	int rc = -1;

	if (rl_sml_cname_name_id(&name, id, d->zone, err) < 0)
		goto out;
	rl_explain(c, "SML: CNAME %s (asking %s)", name.data, rl_dns_server(dns));
	if (rl_dns_host(dns, name.data, &host, err) < 0) {
		rl_explain(c, "SML: CNAME: %s", err->msg);
		goto out;
	}
	rl_explain(c, "SML: CNAME answer: %s -> %s", host.cname[0] ? host.cname : "(no CNAME, address record)",
		   host.addr[0]);
	if (rl_buf_printf(smp_url, "http://%s", name.data) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rl_explain(c, "SML: CNAME gives SMP %s", smp_url->data);
	c->api = RL_SMP_API_1;
	rc = 0;
out:
	rl_buf_free(&name);
	return rc;
}

static int smp_url_for(struct rl_discovery *d, struct rl_smp_client *c, const struct rl_peppol_id *id,
		       struct rl_buf *smp_url, struct rl_err *err)
{
	struct rl_dns *dns = c->dns, *own = NULL;
	struct rl_err naptr_err;
	int rc;

	if (!dns && !(dns = own = rl_dns_new(NULL, d->timeout, err)))
		return -1;
	rc = sml_naptr(d, c, dns, id, smp_url, &naptr_err);
	if (rc < 0 && naptr_err.code == RL_ERR_NOT_FOUND) {
		rc = sml_cname(d, c, dns, id, smp_url, err);
		if (rc < 0 && err->code == RL_ERR_NOT_FOUND)
			rl_err_set(err, RL_ERR_NOT_FOUND,
				   "participant %s::%s is not registered in SML zone %s (no NAPTR %s or %s record, no CNAME)",
				   id->scheme, id->value, d->zone, RL_SMP1_NAPTR_SERVICE, RL_SMP2_NAPTR_SERVICE);
	} else if (rc < 0) {
		*err = naptr_err;
	}
	rl_dns_free(own);
	return rc;
}

int rl_discovery_smp_url(struct rl_discovery *d, const char *participant, struct rl_buf *smp_url,
			 struct rl_err *err)
{
	struct rl_peppol_id id;
	struct rl_smp_client c;
	int rc;

	if (parse_participant(&id, participant, err) < 0 || client_open(d, &c, err) < 0)
		return -1;
	rc = smp_url_for(d, &c, &id, smp_url, err);
	rl_dns_free(c.dns);
	return rc;
}

int rl_discovery_service_group(struct rl_discovery *d, const char *participant,
			       struct rl_smp_service_group *out, struct rl_err *err)
{
	struct rl_buf url = RL_BUF_INIT;
	struct rl_peppol_id id;
	struct rl_smp_client c;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (parse_participant(&id, participant, err) < 0 || client_open(d, &c, err) < 0)
		return -1;
	if (smp_url_for(d, &c, &id, &url, err) == 0)
		rc = rl_smp_fetch_service_group(&c, url.data, &id, out, err);
	rl_dns_free(c.dns);
	rl_buf_free(&url);
	return rc;
}

static int explain_time(char *buf, size_t size, time_t t)
{
	if (!t)
		return snprintf(buf, size, "-");
	rl_format_datetime(t, 0, buf, size);
	return 0;
}

int rl_discovery_choose(struct rl_discovery *d, const struct rl_smp_metadata *m, const char *process,
			struct rl_endpoint *ep, struct rl_err *err)
{
	struct rl_smp_client c = { .explain = d->explain, .explain_arg = d->explain_arg };
	const struct rl_smp_endpoint *chosen = NULL, *inactive = NULL;
	const struct rl_smp_process *chosen_proc = NULL;
	time_t now = d->at ? d->at : time(NULL);
	int process_seen = 0;
	char from[40], to[40];

	memset(ep, 0, sizeof(*ep));
	for (size_t k = 0; k < sizeof(preferred_profiles) / sizeof(preferred_profiles[0]) && !chosen; k++)
		for (size_t i = 0; i < m->process_count && !chosen; i++) {
			const struct rl_smp_process *p = &m->processes[i];
			char uri[1024];

			snprintf(uri, sizeof(uri), "%s::%s", p->scheme, p->value);
			if (process && strcmp(process, uri) != 0 && strcmp(process, p->value) != 0)
				continue;
			process_seen = 1;
			for (size_t j = 0; j < p->endpoint_count && !chosen; j++) {
				const struct rl_smp_endpoint *e = &p->endpoints[j];

				if (strcmp(e->transport_profile, preferred_profiles[k]) != 0)
					continue;
				if (!rl_smp_endpoint_active(e, now)) {
					inactive = e;
					continue;
				}
				chosen = e;
				chosen_proc = p;
			}
		}
	if (!process_seen)
		return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT, "the SMP lists no process %s for this document type",
				  process);
	if (!chosen && inactive) {
		explain_time(from, sizeof(from), inactive->activation);
		explain_time(to, sizeof(to), inactive->expiration);
		return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT,
				  "the %s endpoint %.300s is not active now (activation %s, expiration %s)",
				  inactive->transport_profile, inactive->url, from, to);
	}
	if (!chosen)
		return rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT,
				  "the SMP publishes no endpoint with transport profile %s or %s", RL_TRANSPORT_PEPPOL_AS4_V2,
				  RL_TRANSPORT_CEF_AS4);
	if (!chosen->cert)
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "the SMP endpoint %.300s publishes no certificate",
				  chosen->url);
	if (d->ap_anchors) {
		if (rl_trust_verify(d->ap_anchors, chosen->cert, NULL, d->at, err) < 0) {
			rl_err_prefix(err, "endpoint certificate");
			rl_explain(&c, "endpoint: certificate refused: %s", err->msg);
			return -1;
		}
		rl_explain(&c, "endpoint: certificate chains to the AP anchors");
	}
	ep->url = strdup(chosen->url);
	ep->transport_profile = strdup(chosen->transport_profile);
	ep->process = malloc(strlen(chosen_proc->scheme) + strlen(chosen_proc->value) + 3);
	if (ep->process)
		sprintf(ep->process, "%s::%s", chosen_proc->scheme, chosen_proc->value);
	ep->activation = chosen->activation;
	ep->expiration = chosen->expiration;
	if (X509_up_ref(chosen->cert))
		ep->cert = chosen->cert;
	if (!ep->url || !ep->transport_profile || !ep->process || !ep->cert) {
		rl_endpoint_free(ep);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return 0;
}

int rl_discovery_resolve_full(struct rl_discovery *d, const char *participant, const char *doctype,
			      const char *process, struct rl_endpoint *ep, struct rl_smp_metadata *metadata,
			      struct rl_err *err)
{
	struct rl_peppol_id pid, did;
	struct rl_buf url = RL_BUF_INIT;
	struct rl_smp_metadata local;
	struct rl_smp_client c;
	int rc = -1;

	memset(ep, 0, sizeof(*ep));
	if (!metadata)
		metadata = &local;
	memset(metadata, 0, sizeof(*metadata));
	if (parse_participant(&pid, participant, err) < 0 || parse_doctype(&did, doctype, err) < 0)
		return -1;
	if (!d->smp_anchors)
		return rl_err_set(err, RL_ERR_CONFIG, "no SMP trust anchors configured (trust.smp_anchors)");
	if (client_open(d, &c, err) < 0)
		return -1;
	if (smp_url_for(d, &c, &pid, &url, err) < 0 ||
	    rl_smp_fetch_metadata(&c, url.data, &pid, &did, metadata, NULL, err) < 0)
		goto out;
	if (rl_discovery_choose(d, metadata, process, ep, err) < 0)
		goto out;
	ep->smp_url = strdup(url.data);
	if (!ep->smp_url) {
		rl_endpoint_free(ep);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	{
		char *subject = rl_cert_subject(ep->cert), *issuer = rl_cert_issuer(ep->cert);

		rl_explain(&c, "endpoint: %s %s, certificate %s (issuer %s)", ep->transport_profile, ep->url,
			   subject ? subject : "?", issuer ? issuer : "?");
		free(subject);
		free(issuer);
	}
	rc = 0;
out:
	if (rc < 0 || metadata == &local)
		rl_smp_metadata_free(metadata);
	rl_dns_free(c.dns);
	rl_buf_free(&url);
	return rc;
}

/* Cache. The caller holds d->lock. */
static struct cache_entry *cache_find(struct rl_discovery *d, const char *key, time_t now)
{
	for (size_t i = 0; i < d->cache_count; i++)
		if (strcmp(d->cache[i].key, key) == 0)
			return d->cache[i].expires > now ? &d->cache[i] : NULL;
	return NULL;
}

static void cache_put(struct rl_discovery *d, const char *key, time_t expires, const struct rl_endpoint *ep,
		      const struct rl_err *err, time_t now)
{
	struct cache_entry *slot = NULL;
	size_t i;

	for (i = 0; i < d->cache_count && !slot; i++)
		if (strcmp(d->cache[i].key, key) == 0 || d->cache[i].expires <= now)
			slot = &d->cache[i];
	if (!slot && d->cache_count == CACHE_MAX)
		slot = &d->cache[0];	/* full of live entries: replace the oldest slot */
	if (!slot) {
		struct cache_entry *grown = realloc(d->cache, (d->cache_count + 1) * sizeof(*grown));

		if (!grown)
			return;
		d->cache = grown;
		slot = &d->cache[d->cache_count++];
		memset(slot, 0, sizeof(*slot));
	}
	free(slot->key);
	rl_endpoint_free(&slot->ep);
	memset(slot, 0, sizeof(*slot));
	slot->key = strdup(key);
	slot->expires = expires;
	if (ep) {
		slot->found = 1;
		if (endpoint_copy(&slot->ep, ep) < 0)
			slot->expires = 0;
	} else {
		slot->err = *err;
	}
	if (!slot->key)
		slot->key = strdup(""), slot->expires = 0;
}

int rl_discovery_resolve(struct rl_discovery *d, const char *participant, const char *doctype,
			 const char *process, struct rl_endpoint *ep, struct rl_err *err)
{
	struct rl_smp_client c = { .explain = d->explain, .explain_arg = d->explain_arg };
	struct rl_buf key = RL_BUF_INIT;
	struct cache_entry *hit;
	time_t now = time(NULL);
	int rc;

	memset(ep, 0, sizeof(*ep));
	/* The NAPTR services looked for are part of the key: an instance that reads SMP 2.0 never shares an
	 * answer with one that reads SMP 1.x only (whose key has three lines). */
	if (rl_buf_printf(&key, "%s\n%s\n%s\nnaptr %s %s", participant, doctype, process ? process : "",
			  RL_SMP1_NAPTR_SERVICE, RL_SMP2_NAPTR_SERVICE) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	pthread_mutex_lock(&d->lock);
	hit = cache_find(d, key.data, now);
	if (hit && hit->found) {
		rc = endpoint_copy(ep, &hit->ep) < 0 ? rl_err_set(err, RL_ERR_NOMEM, "out of memory") : 0;
		pthread_mutex_unlock(&d->lock);
		rl_explain(&c, "cache: endpoint remembered from an earlier lookup: %s", ep->url ? ep->url : "");
		rl_buf_free(&key);
		return rc;
	}
	if (hit) {
		*err = hit->err;
		pthread_mutex_unlock(&d->lock);
		rl_explain(&c, "cache: \"not found\" remembered from an earlier lookup");
		rl_buf_free(&key);
		return -1;
	}
	pthread_mutex_unlock(&d->lock);

	if (d->shared) {
		struct rl_err not_found, db_err;
		int shared = rl_smp_cache_db_get(d->shared, key.data, ep, &not_found, &db_err);

		if (shared < 0)
			rl_explain(&c, "cache: shared database not usable: %s", db_err.msg);
		if (shared == RL_SMP_CACHE_FOUND || shared == RL_SMP_CACHE_NOT_FOUND) {
			rl_explain(&c, "cache: %s from the shared database", shared == RL_SMP_CACHE_FOUND ? "endpoint" : "\"not found\"");
			pthread_mutex_lock(&d->lock);
			if (shared == RL_SMP_CACHE_FOUND && d->cache_ttl > 0)
				cache_put(d, key.data, now + d->cache_ttl, ep, NULL, now);
			else if (shared == RL_SMP_CACHE_NOT_FOUND && d->negative_ttl > 0)
				cache_put(d, key.data, now + d->negative_ttl, NULL, &not_found, now);
			pthread_mutex_unlock(&d->lock);
			rl_buf_free(&key);
			if (shared == RL_SMP_CACHE_NOT_FOUND) {
				*err = not_found;
				return -1;
			}
			return 0;
		}
	}

	rc = rl_discovery_resolve_full(d, participant, doctype, process, ep, NULL, err);
	pthread_mutex_lock(&d->lock);
	if (rc == 0 && d->cache_ttl > 0)
		cache_put(d, key.data, now + d->cache_ttl, ep, NULL, now);
	else if (rc < 0 && err->code == RL_ERR_NOT_FOUND && d->negative_ttl > 0)
		cache_put(d, key.data, now + d->negative_ttl, NULL, err, now);
	pthread_mutex_unlock(&d->lock);
	if (d->shared) {
		struct rl_err db_err;
		int put = 0;

		if (rc == 0 && d->cache_ttl > 0)
			put = rl_smp_cache_db_put(d->shared, key.data, d->cache_ttl, ep, NULL, &db_err);
		else if (rc < 0 && err->code == RL_ERR_NOT_FOUND && d->negative_ttl > 0)
			put = rl_smp_cache_db_put(d->shared, key.data, d->negative_ttl, NULL, err, &db_err);
		if (put < 0)
			rl_explain(&c, "cache: shared database not updated: %s", db_err.msg);
	}
	rl_buf_free(&key);
	return rc;
}

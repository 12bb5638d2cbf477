/*
 * daemon.c - `relais serve`: starts the parts in order, runs until SIGTERM, stops them in reverse.
 *
 * Start: log destination, state directories, the database (the embedded cluster for database.url =
 * auto) and its migrations, our keys and trust anchors, the routing table, the HTTP(S) endpoint, then
 * the sender, delivery, outbox and retention threads. The main thread then only waits for signals:
 *   SIGHUP          reloads keys, trust anchors, the TLS certificate and the routing table; requests
 *                   and sends in progress finish with the keys they started with
 *   SIGTERM/SIGINT  drains: no new connections, requests in progress are answered, each worker ends
 *                   its current message, then the database (when embedded) is stopped
 */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <malloc.h>
#include <unistd.h>
#include "relais/daemon.h"
#include "relais/discovery.h"
#include "relais/log.h"
#include "relais/relay.h"

/* ---------------------------------------------------------------- per-thread database connections */

static pthread_key_t store_key;
static pthread_once_t store_key_once = PTHREAD_ONCE_INIT;

static void close_thread_store(void *store)
{
	rl_store_close(store);
}

static void make_store_key(void)
{
	pthread_key_create(&store_key, close_thread_store);
}

struct rl_store *rl_daemon_store(struct rl_daemon *d, struct rl_err *err)
{
	struct rl_store *st;

	pthread_once(&store_key_once, make_store_key);
	st = pthread_getspecific(store_key);
	if (st)
		return st;
	if (rl_store_open(d->conninfo, &st, err) < 0)
		return NULL;
	pthread_setspecific(store_key, st);
	return st;
}

/* Closes the calling thread's connection now (the main thread, before the database stops). */
static void close_own_store(void)
{
	struct rl_store *st;

	pthread_once(&store_key_once, make_store_key);
	st = pthread_getspecific(store_key);
	if (st) {
		pthread_setspecific(store_key, NULL);
		rl_store_close(st);
	}
}

/* ---------------------------------------------------------------- keys */

static void keyring_free(struct rl_keyring *k)
{
	if (k == NULL)
		return;
	rl_identity_set_free(&k->identities);
	rl_trust_free(k->trust);
	rl_routes_free(k->routes);
	rl_relay_free(k->relay);
	free(k);
}

static struct rl_keyring *keyring_load(const struct rl_config *cfg, struct rl_err *err)
{
	struct rl_keyring *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	k->refs = 1;
	if (rl_identity_set_load_config(&k->identities, cfg, err) < 0) {
		free(k);
		return NULL;
	}
	k->trust = rl_trust_load_config(cfg, NULL, err);
	if (k->trust == NULL) {
		keyring_free(k);
		return NULL;
	}
	k->routes = rl_routes_load(rl_config_str(cfg, RL_CFG_ROUTING_TABLE), err);
	if (k->routes == NULL) {
		keyring_free(k);
		return NULL;
	}
	k->relay = rl_relay_load(rl_config_str(cfg, RL_CFG_RELAY_ROUTES), err);
	if (k->relay == NULL) {
		keyring_free(k);
		return NULL;
	}
	return k;
}

const struct rl_identity *rl_keyring_signer(const struct rl_keyring *k)
{
	return rl_identity_set_signing(&k->identities, time(NULL));
}

struct rl_keyring *rl_daemon_keyring(struct rl_daemon *d)
{
	struct rl_keyring *k;

	pthread_mutex_lock(&d->keyring_lock);
	k = d->keyring;
	k->refs++;
	pthread_mutex_unlock(&d->keyring_lock);
	return k;
}

void rl_keyring_put(struct rl_daemon *d, struct rl_keyring *k)
{
	int last;

	if (k == NULL)
		return;
	pthread_mutex_lock(&d->keyring_lock);
	last = --k->refs == 0;
	pthread_mutex_unlock(&d->keyring_lock);
	if (last)
		keyring_free(k);
}

int rl_daemon_backoff(const struct rl_daemon *d, int attempts)
{
	double delay = (double)d->initial_delay;

	for (int i = 1; i < attempts && delay < (double)d->max_delay; i++)
		delay *= 2;
	if (delay > (double)d->max_delay)
		delay = (double)d->max_delay;
	delay *= 0.9 + 0.2 * ((double)random() / RAND_MAX);
	return delay < 1 ? 1 : (int)delay;
}

/* ---------------------------------------------------------------- the HTTP entry point */

/* A request is either for the REST API (and /metrics) or for the AS4 endpoint; the context remembers which. */
struct request {
	int is_api;
	void *inner;
};

static void *route_begin(void *app, const struct rl_http_request *req)
{
	struct request *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->is_api = strncmp(req->path, "/api/", 5) == 0 || strcmp(req->path, "/api") == 0 ||
		    strcmp(req->path, "/metrics") == 0;
	r->inner = r->is_api ? rl_api_begin(app, req) : rl_receive_begin(app, req);
	if (r->inner == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static int route_body(void *ctx, const void *data, size_t len)
{
	struct request *r = ctx;

	return r->is_api ? rl_api_body(r->inner, data, len) : rl_receive_body(r->inner, data, len);
}

static void route_finish(void *ctx, enum rl_http_body_end how, struct rl_http_response *resp)
{
	struct request *r = ctx;

	if (r->is_api)
		rl_api_finish(r->inner, how, resp);
	else
		rl_receive_finish(r->inner, how, resp);
}

static void route_cleanup(void *ctx, int completed)
{
	struct request *r = ctx;

	if (r->is_api)
		rl_api_cleanup(r->inner, completed);
	else
		rl_receive_cleanup(r->inner, completed);
	free(r);
}

/* ---------------------------------------------------------------- start and stop */

static char *dup_or_null(const char *s)
{
	return s && s[0] ? strdup(s) : NULL;
}

static int make_dir(const char *path, struct rl_err *err)
{
	if (mkdir(path, 0750) != 0 && errno != EEXIST)
		return rl_err_set(err, RL_ERR_IO, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

void rl_daemon_remove_leftovers(const char *dir, enum rl_leftovers which)
{
	DIR *dp = opendir(dir);
	struct dirent *de;

	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		int hidden_temporary = de->d_name[0] == '.' && strstr(de->d_name, ".tmp-") != NULL;
		char path[4096];

		if (which == RL_LEFTOVER_SPOOL ? de->d_name[0] == '.' : !hidden_temporary)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0 && which == RL_LEFTOVER_TEMPORARIES)
			rl_log_info(NULL, "removed %s, left by an interrupted delivery", path);
	}
	closedir(dp);
}

int rl_daemon_lease_seconds(const struct rl_daemon *d)
{
	return (int)(2 * d->request_timeout + 30);
}

int rl_daemon_db_retry(const struct rl_daemon *d, int *attempt, const struct rl_err *err)
{
	if (err->code != RL_ERR_DB || ++*attempt > 60 || atomic_load(&d->stopping))
		return 0;
	usleep(500 * 1000);
	return 1;
}

/* Work held by instances of this host that are gone (killed) is made due again at once, instead of
 * waiting for their leases to run out. Owners are "host:pid". */
static void release_dead_leases(struct rl_daemon *d, struct rl_store *st)
{
	struct rl_buf owners = RL_BUF_INIT;
	size_t host_len = strcspn(d->worker_id, ":");
	struct rl_err err;
	char *save = NULL;

	if (rl_store_lease_owners(st, &owners, &err) < 0) {
		rl_log_warn(NULL, "cannot list the leases: %s", err.msg);
		return;
	}
	for (char *o = owners.data ? strtok_r(owners.data, "\n", &save) : NULL; o; o = strtok_r(NULL, "\n", &save)) {
		long pid;

		if (strncmp(o, d->worker_id, host_len + 1) != 0 || strcmp(o, d->worker_id) == 0)
			continue;
		pid = atol(o + host_len + 1);
		if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (rl_store_leases_release(st, o, &err) < 0)
			rl_log_warn(NULL, "cannot release the work of %s: %s", o, err.msg);
		else
			rl_log_info(NULL, "took over the unfinished work of %s (no longer running)", o);
	}
	rl_buf_free(&owners);
}

static int open_database(struct rl_daemon *d, struct rl_err *err)
{
	const char *url = rl_config_str(d->cfg, RL_CFG_DATABASE_URL);
	struct rl_store *st;
	int applied = 0;

	if (strcmp(url, "auto") == 0) {
		if (rl_pgcluster_start(rl_config_str(d->cfg, RL_CFG_STATE_DIR), RELAIS_PG_BINDIR, &d->cluster,
				       err) < 0)
			return -1;
		d->conninfo = strdup(rl_pgcluster_conninfo(d->cluster));
	} else
		d->conninfo = strdup(url);
	if (d->conninfo == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	st = rl_daemon_store(d, err);
	if (st == NULL || rl_store_migrate(st, &applied, err) < 0)
		return -1;
	if (applied > 0)
		rl_log_info(NULL, "database schema: %d migration(s) applied", applied);
	release_dead_leases(d, st);
	return 0;
}

static int start_http(struct rl_daemon *d, struct rl_err *err)
{
	struct rl_http_server_opts o = { 0 };
	struct rl_http_handler h = { d, route_begin, route_body, route_finish, route_cleanup };
	char host[256];
	unsigned port;

	if (rl_config_hostport(d->cfg, RL_CFG_SERVER_LISTEN, host, sizeof(host), &port) < 0)
		return rl_err_set(err, RL_ERR_CONFIG, "server.listen is not host:port");
	o.host = host;
	o.port = port;
	o.tls = rl_config_bool(d->cfg, RL_CFG_SERVER_TLS);
	o.tls_key_path = rl_config_str(d->cfg, RL_CFG_SERVER_TLS_KEY);
	o.tls_cert_path = rl_config_str(d->cfg, RL_CFG_SERVER_TLS_CERT);
	o.threads = (unsigned)rl_config_int(d->cfg, RL_CFG_SERVER_THREADS);
	o.max_connections = (unsigned)rl_config_int(d->cfg, RL_CFG_LIMITS_MAX_CONNECTIONS);
	if (o.max_connections < o.threads)
		o.max_connections = o.threads;
	o.request_timeout = (unsigned)d->request_timeout;
	o.max_body = d->max_body;
	d->http = rl_http_server_start(&o, &h, err);
	if (d->http == NULL)
		return -1;
	rl_log_info(NULL, "relais %s: %s listening on %s://%s:%u/ (AS4 endpoint; API under /api/v1/)",
		    PACKAGE_VERSION, d->party_id, o.tls ? "https" : "http", host, rl_http_server_port(d->http));
	if (d->mls_send && (d->mls_country == NULL || strcmp(d->mls_country, "ZZ") == 0))
		rl_log_warn(NULL, "identity.country is not set: the Message Level Status sent will say COUNTRY_C1 ZZ");
	return 0;
}

static int start_threads(struct rl_daemon *d, struct rl_err *err)
{
	int n = (int)rl_config_int(d->cfg, RL_CFG_QUEUE_WORKERS);

	d->senders = calloc((size_t)n, sizeof(*d->senders));
	if (d->senders == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		if (pthread_create(&d->senders[i], NULL, rl_sender_thread, d) != 0)
			return rl_err_set(err, RL_ERR_INTERNAL, "cannot start a sender thread");
		d->sender_count++;
	}
	if (pthread_create(&d->waker_thread, NULL, rl_sender_waker_thread, d) != 0)
		return rl_err_set(err, RL_ERR_INTERNAL, "cannot start the queue listener thread");
	d->waker_started = 1;
	if (d->inbox_dir || d->webhook_url) {
		if (pthread_create(&d->delivery_thread, NULL, rl_delivery_thread, d) != 0)
			return rl_err_set(err, RL_ERR_INTERNAL, "cannot start the delivery thread");
		d->delivery_started = 1;
	}
	if (d->outbox_dir) {
		if (pthread_create(&d->outbox_thread, NULL, rl_outbox_thread, d) != 0)
			return rl_err_set(err, RL_ERR_INTERNAL, "cannot start the outbox thread");
		d->outbox_started = 1;
	}
	if (d->retention_keep > 0) {
		if (pthread_create(&d->retention_thread, NULL, rl_retention_thread, d) != 0)
			return rl_err_set(err, RL_ERR_INTERNAL, "cannot start the retention thread");
		d->retention_started = 1;
	}
	return 0;
}

static void stop_all(struct rl_daemon *d)
{
	atomic_store(&d->stopping, 1);
	if (d->http)
		rl_http_server_quiesce(d->http);
	rl_http_server_stop(d->http);	/* answers the requests under way */
	d->http = NULL;
	pthread_mutex_lock(&d->work_lock);
	pthread_cond_broadcast(&d->work_cond);
	pthread_mutex_unlock(&d->work_lock);
	pthread_mutex_lock(&d->handoff_lock);
	pthread_cond_broadcast(&d->handoff_cond);
	pthread_mutex_unlock(&d->handoff_lock);
	for (int i = 0; i < d->sender_count; i++)
		pthread_join(d->senders[i], NULL);
	if (d->waker_started)
		pthread_join(d->waker_thread, NULL);
	if (d->delivery_started)
		pthread_join(d->delivery_thread, NULL);
	if (d->outbox_started)
		pthread_join(d->outbox_thread, NULL);
	if (d->retention_started)
		pthread_join(d->retention_thread, NULL);
	close_own_store();
	if (d->cluster)
		rl_pgcluster_stop(d->cluster);
	d->cluster = NULL;
}

static void reload(struct rl_daemon *d)
{
	struct rl_err err;
	struct rl_keyring *fresh = keyring_load(d->cfg, &err), *old;

	if (fresh == NULL) {
		rl_log_error(NULL, "SIGHUP: nothing reloaded, the old keys and routes stay in use: %s", err.msg);
		return;
	}
	pthread_mutex_lock(&d->keyring_lock);
	old = d->keyring;
	d->keyring = fresh;
	pthread_mutex_unlock(&d->keyring_lock);
	rl_keyring_put(d, old);
	if (rl_config_bool(d->cfg, RL_CFG_SERVER_TLS) &&
	    rl_http_server_reload_tls(d->http, rl_config_str(d->cfg, RL_CFG_SERVER_TLS_KEY),
				      rl_config_str(d->cfg, RL_CFG_SERVER_TLS_CERT), &err) < 0)
		rl_log_error(NULL, "SIGHUP: TLS certificate not reloaded: %s", err.msg);
	rl_log_info(NULL, "SIGHUP: keys, trust anchors, TLS certificate, routes and relay routes reloaded");
}

/*
 * Each message makes a thread allocate and free a few hundred KiB (the compression state, XML trees,
 * buffers). By default glibc hands the free top of a thread's heap back to the kernel as soon as it
 * exceeds 128 KiB, and the next message faults the same pages in again (a tenth of the sender's CPU).
 * A heap keeps up to 1 MiB free instead; blocks of 512 KiB and more are still mapped on their own and
 * returned when freed, so a large payload's buffers do not stay behind.
 */
static void tune_malloc(void)
{
	mallopt(M_TRIM_THRESHOLD, 1 << 20);
	mallopt(M_MMAP_THRESHOLD, 512 << 10);
}

int rl_daemon_run(struct rl_config *cfg, struct rl_err *err)
{
	struct rl_daemon d;
	sigset_t signals;
	char *state_dir;
	int rc = -1, sig;

	tune_malloc();
	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	pthread_mutex_init(&d.keyring_lock, NULL);
	pthread_mutex_init(&d.work_lock, NULL);
	pthread_cond_init(&d.work_cond, NULL);
	pthread_mutex_init(&d.handoff_lock, NULL);
	pthread_cond_init(&d.handoff_cond, NULL);
	d.started_at = time(NULL);
	d.party_id = dup_or_null(rl_config_str(cfg, RL_CFG_IDENTITY_PARTY_ID));
	d.inbox_dir = dup_or_null(rl_config_str(cfg, RL_CFG_DELIVERY_INBOX));
	d.webhook_url = dup_or_null(rl_config_str(cfg, RL_CFG_DELIVERY_WEBHOOK));
	d.outbox_dir = dup_or_null(rl_config_str(cfg, RL_CFG_SUBMISSION_OUTBOX));
	d.api_token = dup_or_null(rl_config_str(cfg, RL_CFG_API_TOKEN));
	d.metrics = rl_config_bool(cfg, RL_CFG_API_METRICS);
	d.max_attempts = (int)rl_config_int(cfg, RL_CFG_RETRY_MAX_ATTEMPTS);
	d.initial_delay = rl_config_duration_seconds(cfg, RL_CFG_RETRY_INITIAL_DELAY);
	d.max_delay = rl_config_duration_seconds(cfg, RL_CFG_RETRY_MAX_DELAY);
	d.circuit_threshold = (int)rl_config_int(cfg, RL_CFG_RETRY_CIRCUIT_THRESHOLD);
	d.circuit_open = rl_config_duration_seconds(cfg, RL_CFG_RETRY_CIRCUIT_OPEN);
	d.request_timeout = rl_config_duration_seconds(cfg, RL_CFG_LIMITS_REQUEST_TIMEOUT);
	d.max_body = rl_config_size_bytes(cfg, RL_CFG_LIMITS_MAX_BODY);
	d.retention_keep = rl_config_duration_seconds(cfg, RL_CFG_RETENTION_KEEP);
	d.mls_send = rl_config_bool(cfg, RL_CFG_MLS_SEND);
	d.mls_country = strdup(rl_config_str(cfg, RL_CFG_IDENTITY_COUNTRY)[0] ?
			       rl_config_str(cfg, RL_CFG_IDENTITY_COUNTRY) : "ZZ");
	{
		char host[200];

		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(d.worker_id, sizeof(d.worker_id), "%s:%ld", host, (long)getpid());
	}
	srandom((unsigned)(time(NULL) ^ getpid()));

	/* Every thread started below inherits a mask without these: the main thread takes them. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	state_dir = (char *)rl_config_str(cfg, RL_CFG_STATE_DIR);
	if (make_dir(state_dir, err) < 0)
		goto out;
	if (asprintf(&d.spool_dir, "%s/spool", state_dir) < 0) {
		d.spool_dir = NULL;
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (make_dir(d.spool_dir, err) < 0)
		goto out;
	rl_daemon_remove_leftovers(d.spool_dir, RL_LEFTOVER_SPOOL);
	d.keyring = keyring_load(cfg, err);
	if (d.keyring == NULL)
		goto out;
	d.tls_anchors = dup_or_null(rl_config_str(cfg, RL_CFG_TRUST_TLS_ANCHORS));
	if (open_database(&d, err) < 0)
		goto out;
	if (rl_config_str(cfg, RL_CFG_TRUST_SMP_ANCHORS)[0]) {
		d.discovery = rl_discovery_from_config(cfg, err);
		if (d.discovery == NULL || rl_discovery_use_database(d.discovery, d.conninfo, err) < 0)
			goto out;
		rl_log_info(NULL, "discovery: SML zone %s, receivers without a route are looked up",
			    rl_config_str(cfg, RL_CFG_DISCOVERY_SML_ZONE));
	}
	if (start_http(&d, err) < 0 || start_threads(&d, err) < 0)
		goto out;

	for (;;) {
		if (sigwait(&signals, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&d);
			continue;
		}
		rl_log_info(NULL, "%s: draining and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	rc = 0;
out:
	stop_all(&d);
	if (rc == 0)
		rl_log_info(NULL, "stopped");
	rl_keyring_put(&d, d.keyring);
	free(d.senders);
	free(d.conninfo);
	free(d.spool_dir);
	free(d.party_id);
	free(d.mls_country);
	free(d.inbox_dir);
	free(d.webhook_url);
	free(d.outbox_dir);
	free(d.api_token);
	free(d.tls_anchors);
	rl_discovery_free(d.discovery);
	pthread_mutex_destroy(&d.keyring_lock);
	pthread_mutex_destroy(&d.work_lock);
	pthread_cond_destroy(&d.work_cond);
	pthread_mutex_destroy(&d.handoff_lock);
	pthread_cond_destroy(&d.handoff_cond);
	return rc;
}

/*
 * daemon.h - `relais serve`: the running access point, and what its parts share.
 *
 * The parts, one file each:
 *   daemon.c    start-up, the shared context, worker threads, signals (SIGTERM drains, SIGHUP reloads)
 *   receive.c   the AS4 endpoint: POST -> streaming unpack -> duplicate check -> commit -> signed receipt
 *   sender.c    the outbound queue workers: claim -> route -> pack -> POST -> verify receipt -> store
 *   delivery.c  backend delivery of received messages: inbox directory and/or webhook, with retries
 *   outbox.c    the watched outbox directory: each file dropped there becomes a submission
 *   api.c       the JSON REST API (/api/v1/...), the health document shared with `relais status`, and
 *               GET /metrics (the numbers counted by metrics.c)
 *   routing.c   the static routing table (routing.table)
 *   mls_send.c  the Message Level Status about a received document once its delivery is settled
 *   retention.c removal of finished messages older than retention.keep, hourly
 *
 * Threads: libmicrohttpd's pool answers requests; queue.workers sender threads; one delivery thread;
 * one outbox thread; one retention thread (retention.keep set); the main thread waits for signals. Each thread has its own database connection
 * (rl_daemon_store) and, for senders, its own HTTP client.
 */
#ifndef RELAIS_DAEMON_H
#define RELAIS_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "relais/config.h"
#include "relais/err.h"
#include "relais/http_server.h"
#include "relais/keys.h"
#include "relais/keys_config.h"
#include "relais/store.h"

/* What SIGHUP reloads: our identities (the current one and, during a key rollover, the next; see
 * keys_config.h), the trust anchors with their revocation checker, and the routing table.
 * Reference-counted so that a request or a send in progress keeps the keys it started with while new
 * work uses the new ones. */
struct rl_routes;

struct rl_keyring {
	int refs;			/* guarded by the daemon's keyring_lock */
	struct rl_identity_set identities;
	struct rl_trust *trust;
	struct rl_routes *routes;
	struct rl_relay_table *relay;	/* relay routes (relay.routes), read-only */
};

struct rl_daemon {
	struct rl_config *cfg;
	char *conninfo;			/* PostgreSQL */
	struct rl_pgcluster *cluster;	/* the embedded cluster, or NULL */
	char *spool_dir;		/* state.dir/spool */
	char *party_id;			/* identity.party_id */
	char worker_id[128];		/* host:pid, recorded on the rows this instance takes */
	char *inbox_dir;		/* NULL = no inbox delivery */
	char *webhook_url;		/* NULL = no webhook delivery */
	char *outbox_dir;		/* NULL = no outbox */
	char *api_token;		/* NULL = API disabled */
	int metrics;			/* GET /metrics served (api.metrics) */
	char *tls_anchors;		/* CAs for peers' HTTPS certificates, NULL = system */
	struct rl_discovery *discovery;	/* SML/SMP lookups (trust.smp_anchors set), or NULL */

	pthread_mutex_t keyring_lock;
	struct rl_keyring *keyring;

	struct rl_http_server *http;
	pthread_t *senders;
	int sender_count;
	pthread_t delivery_thread, outbox_thread, waker_thread, retention_thread;
	int delivery_started, outbox_started, waker_started, retention_started;
	/* Idle senders sleep here; the waker thread (the one LISTENer of relais_outbound) wakes one of
	 * them per queued message, so a submission does not wake every worker. work_signals counts the
	 * wake-ups not yet taken; work_notified counts every notification received. A look for due messages
	 * that finds none leaves only the wake-ups of notifications received since it began. */
	pthread_mutex_t work_lock;
	pthread_cond_t work_cond;
	int work_signals;
	uint64_t work_notified;
	atomic_int stopping;
	time_t started_at;
	/* Received messages whose deliveries the receiving thread took at commit, queued for this process's
	 * delivery worker (receive.c -> delivery.c), so that it neither claims nor reads them back. */
	pthread_mutex_t handoff_lock;
	pthread_cond_t handoff_cond;
	struct rl_handoff *handoff_head, *handoff_tail;
	int handoff_count;
	int handoff_closed;		/* the delivery worker has stopped taking them */

	/* Sending policy, from the configuration. */
	int max_attempts;
	long long initial_delay, max_delay;
	int circuit_threshold;
	long long circuit_open;
	long long request_timeout;
	unsigned long long max_body;
	long long retention_keep;	/* seconds finished messages are kept; 0 = forever */
	int mls_send;			/* mls.send: Message Level Status about received documents */
	char *mls_country;		/* COUNTRY_C1 of the MLS we send (identity.country, else ZZ) */
};

/* The identity that signs now (receipts, error signals, sent messages). */
const struct rl_identity *rl_keyring_signer(const struct rl_keyring *k);
/* The keys in force: a reference the caller gives back with rl_keyring_put(). */
struct rl_keyring *rl_daemon_keyring(struct rl_daemon *d);
void rl_keyring_put(struct rl_daemon *d, struct rl_keyring *k);

/* This thread's database connection (opened on first use, closed when the thread ends). */
struct rl_store *rl_daemon_store(struct rl_daemon *d, struct rl_err *err);

/* How long a worker holds a message or a delivery it took: twice limits.request_timeout and a margin. */
int rl_daemon_lease_seconds(const struct rl_daemon *d);
/* An outcome that could not be recorded because the database is away (restarting): returns 1 after a
 * short pause when it is worth trying again (for up to 30 s), 0 to give up. *attempt starts at 0. */
int rl_daemon_db_retry(const struct rl_daemon *d, int *attempt, const struct rl_err *err);
/* What a crash leaves in a directory: every file of the spool (RL_LEFTOVER_SPOOL: the store has every
 * committed message), or the hidden temporaries of atomic writes (RL_LEFTOVER_TEMPORARIES). */
enum rl_leftovers { RL_LEFTOVER_SPOOL, RL_LEFTOVER_TEMPORARIES };
void rl_daemon_remove_leftovers(const char *dir, enum rl_leftovers which);

/* The exponential backoff before attempt `attempts + 1`: initial * 2^(attempts-1), capped, +-10%. */
int rl_daemon_backoff(const struct rl_daemon *d, int attempts);

/* --- the parts (each in its own file) --- */

void *rl_receive_begin(struct rl_daemon *d, const struct rl_http_request *req);
int rl_receive_body(void *ctx, const void *data, size_t len);
void rl_receive_finish(void *ctx, enum rl_http_body_end how, struct rl_http_response *resp);
void rl_receive_cleanup(void *ctx, int completed);

void *rl_api_begin(struct rl_daemon *d, const struct rl_http_request *req);
int rl_api_body(void *ctx, const void *data, size_t len);
void rl_api_finish(void *ctx, enum rl_http_body_end how, struct rl_http_response *resp);
void rl_api_cleanup(void *ctx, int completed);
/* The health document (JSON text, caller frees): queues, last error, certificate expiry. Shared by
 * GET /api/v1/health and `relais status --json`; uptime < 0 = not known (no daemon asked). */
struct rl_revocation;
char *rl_health_json(const char *party_id, X509 *cert, const struct rl_store_stats *st, long long uptime,
		     struct rl_revocation *revocation, int pretty);
/* One message as JSON text (caller frees; NULL when out of memory): its fields, and with detail its state
 * history and whether a receipt is stored. Shared by GET /api/v1/messages/{id} and `relais message`. */
char *rl_message_json(struct rl_store *st, const struct rl_store_message *m, int detail, int pretty);

void *rl_sender_thread(void *daemon);
void *rl_sender_waker_thread(void *daemon);
void *rl_delivery_thread(void *daemon);

/* A received message's deliveries, taken by this process when it was committed
 * (rl_store_inbound_commit_leased), with its payload when small enough to be kept in memory. */
struct rl_handoff {
	struct rl_handoff *next;
	struct rl_store_delivery deliveries[2];
	int count;
	unsigned char *payload;		/* NULL: the worker reads it from the store */
	size_t payload_len;
};
/* mls_send.c: whether the Message Level Status may concern a delivered message, decided without reading
 * the store: its payload in memory mentions MLS_TYPE (with mls.send on) or names the MLS customization, or
 * is not in memory (h NULL or without payload: its stored header says). Then rl_mls_after_delivery, also
 * for a delivery failed for good: as C2, a delivered MLS about a document we sent is noted against it
 * (rl_store_mls_received; without the bytes in memory, read from the store when its stored SBDH names
 * the MLS document type); as C3, with mls.send on, the MLS due once the message's deliveries are settled
 * (delivered: all done, or failed for good) is queued, at most once per message. The SBDH is read at most
 * once; problems are logged, never fail the delivery. */
int rl_mls_may_concern(const struct rl_daemon *d, const struct rl_handoff *h);
void rl_mls_after_delivery(struct rl_daemon *d, struct rl_store *st, const struct rl_store_delivery *dl,
			   const struct rl_handoff *h, int delivered);

/* Frees h and the hand-offs chained after it (next). */
void rl_handoff_free(struct rl_handoff *h);
/* Whether the delivery worker takes hand-offs now: it runs and has fewer than a few hundred queued (a
 * backlog stays in the store, where any worker claims it). */
int rl_delivery_accepts(struct rl_daemon *d);
/* Queues h for the delivery worker, which then owns it. Returns -1 (h not taken, still the caller's)
 * when the worker has stopped; the deliveries are then left to their lease. */
int rl_delivery_handoff(struct rl_daemon *d, struct rl_handoff *h);
void *rl_outbox_thread(void *daemon);
void *rl_retention_thread(void *daemon);

/* Routing table: NULL path = an empty table. */
struct rl_routes *rl_routes_load(const char *path, struct rl_err *err);
void rl_routes_free(struct rl_routes *r);
/* The route for a receiver (participant id with or without scheme, or party id): URL and certificate
 * file, or RL_ERR_NOT_FOUND. Strings point into the table. *wildcard (may be NULL) tells whether the
 * route found is the catch-all "*" one. */
int rl_routes_find(const struct rl_routes *r, const char *receiver, const char **url, const char **cert_path,
		   int *wildcard, struct rl_err *err);

/* Runs `relais serve` until SIGTERM/SIGINT. Returns the exit status. */
int rl_daemon_run(struct rl_config *cfg, struct rl_err *err);

#endif

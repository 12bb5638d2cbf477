/*
 * store.h - the durable store: PostgreSQL through libpq.
 *
 * What lives there: messages in both directions with their state history, payloads (up to one chunk of
 * 64 KiB in the message row, written and read with it; larger ones as PostgreSQL large objects, streamed in
 * and out in chunks, never whole in memory), receipts and error signals as received
 * or sent, the raw signed SOAP envelopes kept for non-repudiation, backend deliveries, and a per-destination
 * circuit breaker. Several relais instances may share one database: duplicates are stopped by unique
 * constraints and queue rows are taken with FOR UPDATE SKIP LOCKED.
 *
 * One struct rl_store is one connection: not thread-safe, one per thread. Every call reconnects once when
 * the connection was lost (database restarted) before failing with RL_ERR_DB. Strings returned inside the
 * structs below are owned by the struct and released by its _free function.
 *
 * Outbound states:  queued -> sending -> delivered
 *                                     -> retry (next_attempt_at) -> sending ...
 *                                     -> failed (after retry.max_attempts, or a peer's final error)
 *                  failed -> retry (an operator's rl_store_outbound_retry)
 * Inbound states:   received (committed, receipt sent) -> delivered (every backend delivery done)
 *                                                      -> failed (a delivery gave up)
 *                  delivered, failed -> received (an operator's rl_store_inbound_redeliver)
 */
#ifndef RELAIS_STORE_H
#define RELAIS_STORE_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "relais/buf.h"
#include "relais/err.h"
#include "relais/stream.h"

struct rl_store;

/* Payloads shorter than this are kept in their message row; longer ones are large objects. */
#define RL_STORE_ROW_PAYLOAD_MAX 65536

/* Connects (conninfo: a libpq URL or key=value string). Does not migrate. */
int rl_store_open(const char *conninfo, struct rl_store **out, struct rl_err *err);
void rl_store_close(struct rl_store *s);

/* Applies the missing schema migrations in order, each in its own transaction, serialised between
 * instances by an advisory lock. *applied = how many were applied (may be NULL). */
int rl_store_migrate(struct rl_store *s, int *applied, struct rl_err *err);
/* The schema version of the database (0 = empty) and the one this program wants. */
int rl_store_schema_version(struct rl_store *s, int *version, struct rl_err *err);
int rl_store_schema_target(void);

/* ---------------------------------------------------------------- the embedded cluster */

/* database.url = auto: a private PostgreSQL cluster in STATE_DIR/pgdata, listening only on a unix socket
 * in STATE_DIR/pgsock (or a short directory under /tmp when that path would be too long for a socket, the
 * choice recorded in STATE_DIR/pgsock.path). initdb on first start, pg_ctl start, database "relais".
 * rl_pgcluster_stop() stops it (pg_ctl stop -m fast) unless it was already running when started.
 * initdb's and pg_ctl's output and the server log go to STATE_DIR/pg.log, which failures name. Run as
 * root, PostgreSQL runs as the "postgres" user (who must be able to enter STATE_DIR). pg_bindir NULL =
 * RELAIS_PG_BINDIR. rl_pgcluster_stop(NULL) does nothing. */
struct rl_pgcluster;
/* A server setting of the embedded cluster that suits relais's tables (the benchmark uses it too). */
#define RL_PG_AUTOVACUUM_NAPTIME "autovacuum_naptime = 5s"
int rl_pgcluster_start(const char *state_dir, const char *pg_bindir, struct rl_pgcluster **out,
		       struct rl_err *err);
const char *rl_pgcluster_conninfo(const struct rl_pgcluster *c);
void rl_pgcluster_stop(struct rl_pgcluster *c);
/* For clients of a running cluster (`relais send`, `status`): the conninfo of STATE_DIR's cluster, or
 * RL_ERR_DB "the embedded database in DIR is not running (start relais serve)". Caller frees. */
char *rl_pgcluster_client_conninfo(const char *state_dir, struct rl_err *err);

/* ---------------------------------------------------------------- messages */

enum rl_direction { RL_DIR_IN = 0, RL_DIR_OUT = 1 };

/* One message row (either direction). */
struct rl_store_message {
	int64_t id;
	enum rl_direction direction;
	char *message_id;
	char *state;
	char *conversation_id;
	char *from_party, *to_party;
	char *service, *service_type, *action;
	char *original_sender, *final_recipient;
	char *dest_url;			/* outbound: where it goes */
	char *dest_cert_pem;		/* outbound: the receiver's certificate */
	char *payload_mime_type;
	uint64_t payload_size;
	int attempts;
	time_t created_at, updated_at, next_attempt_at;
	char *last_error;		/* "EBMS:0101 FailedAuthentication: ..." or NULL */
	char *receipt_message_id;	/* the receipt's (outbound: received; inbound: sent) */
	int receipt_stored;		/* a receipt or an error signal is stored (rl_store_message_receipt) */
	char *mls_code;			/* outbound: the latest Message Level Status received about it, or NULL */
	/* Filled by rl_store_outbound_claim when the payload fits one chunk: the payload itself, so that
	 * it needs no second read (payload_here set; payload_len may be 0). Otherwise read it with
	 * rl_store_payload_read. */
	unsigned char *payload;
	size_t payload_len;
	int payload_here;
};
void rl_store_message_free(struct rl_store_message *m);

/* ---------------------------------------------------------------- inbound */

struct rl_store_inbound {
	const char *message_id, *conversation_id;
	const char *from_party, *to_party;
	const char *service, *service_type, *action;
	const char *original_sender, *final_recipient;
	FILE *payload;			/* read from its current position to EOF: into the row or a large object */
	const void *payload_data;	/* or, when payload is NULL, the payload in memory (payload_len bytes) */
	size_t payload_len;
	const char *payload_mime_type;
	const char *payload_content_id;
	const char *envelope;		/* the signed SOAP envelope as received */
	size_t envelope_len;
	const char *signer_cert_pem;
	const char *receipt;		/* the signed receipt we answer with */
	size_t receipt_len;
	const char *receipt_message_id;
	int deliver_inbox;		/* create a pending inbox delivery */
	int deliver_webhook;		/* create a pending webhook delivery */
};

/* The stored receipt of an inbound message already received with this MessageId: returns 1 and fills
 * receipt (the exact bytes answered the first time), 0 when there is none. */
int rl_store_inbound_find_receipt(struct rl_store *s, const char *message_id, struct rl_buf *receipt,
				  struct rl_err *err);

/* Commits a received message in one transaction: message row (state received), payload, envelope,
 * receipt, state history, pending deliveries; then NOTIFY relais_delivery. Returns 0 and *id, or 1 when
 * a message with this MessageId was committed first (a duplicate, possibly by another instance): then
 * nothing is written and `existing_receipt` holds the stored receipt. A payload that fits one chunk is
 * written with the row in a single statement. */
int rl_store_inbound_commit(struct rl_store *s, const struct rl_store_inbound *in, int64_t *id,
			    struct rl_buf *existing_receipt, struct rl_err *err);
struct rl_store_delivery;
/* As rl_store_inbound_commit, but the message's deliveries are created already taken by `worker` for
 * lease_seconds (their first attempt), and nobody is woken: the caller hands them to its own delivery
 * worker. On 0, leased[0..*nleased-1] (an array of 2) are filled (free each with rl_store_delivery_free). */
int rl_store_inbound_commit_leased(struct rl_store *s, const struct rl_store_inbound *in, const char *worker,
				   int lease_seconds, int64_t *id, struct rl_store_delivery *leased, int *nleased,
				   struct rl_buf *existing_receipt, struct rl_err *err);

/* ---------------------------------------------------------------- backend deliveries */

enum rl_delivery_channel { RL_DELIVERY_INBOX = 0, RL_DELIVERY_WEBHOOK = 1 };

struct rl_store_delivery {
	int64_t id;			/* the delivery row */
	int64_t message;		/* the inbound message row */
	enum rl_delivery_channel channel;
	char *message_id;
	char *payload_mime_type;
	int attempts;			/* including this one */
};
void rl_store_delivery_free(struct rl_store_delivery *d);

/* Takes one due delivery (pending, next_attempt_at <= now, or one whose lease of lease_seconds ran out):
 * returns 1 and fills d, 0 when none is due. */
int rl_store_delivery_claim(struct rl_store *s, const char *worker, int lease_seconds,
			    struct rl_store_delivery *d, struct rl_err *err);
/* Marks it done; when it was the message's last pending delivery the message becomes delivered.
 * Reporting a delivery done twice changes nothing the second time. */
int rl_store_delivery_done(struct rl_store *s, const struct rl_store_delivery *d, struct rl_err *err);
/* The same for n deliveries in one statement (one commit for a batch). */
int rl_store_deliveries_done(struct rl_store *s, const struct rl_store_delivery *list, size_t n, struct rl_err *err);
/* Records a failed attempt: retried after delay_seconds, or failed for good when final is set. */
int rl_store_delivery_failed(struct rl_store *s, const struct rl_store_delivery *d, const char *error,
			     int delay_seconds, int final, struct rl_err *err);
/* Records a problem beside a delivery that was done (e.g. a relay conversion that failed while the original
 * was delivered): the delivery's and the message's last_error and an event; the state is unchanged. */
int rl_store_delivery_note(struct rl_store *s, const struct rl_store_delivery *d, const char *problem,
			   struct rl_err *err);

/* Streams the payload of a message (either direction) into out, in chunks. */
int rl_store_payload_read(struct rl_store *s, int64_t message, const struct rl_sink *out,
			  struct rl_err *err);

/* ---------------------------------------------------------------- outbound */

struct rl_store_submission {
	const char *message_id;		/* NULL = a fresh <uuid>@relais */
	const char *conversation_id;	/* NULL = pack chooses */
	const char *from_party, *to_party;	/* NULL = from the payload's SBDH / certificates at pack time */
	const char *service, *service_type, *action;
	const char *original_sender, *final_recipient;
	const char *dest_url;		/* NULL = resolved by the sender (routing table, later SMP) */
	const char *dest_cert_pem;
	FILE *payload;			/* read to EOF: into the row, or streamed into a large object */
	const char *payload_mime_type;	/* NULL = application/xml */
	const char *source;		/* "cli", "api", "outbox:<file name>" */
	int wake_on_outcome;		/* the submitter waits: its state changes NOTIFY relais_state */
};

/* Queues a message (state queued) and NOTIFYs relais_outbound. Returns 0 with the row id and the
 * MessageId (caller frees). A MessageId already queued is RL_EBMS_VALUE_INCONSISTENT. */
int rl_store_outbound_submit(struct rl_store *s, const struct rl_store_submission *sub, int64_t *id,
			     char **message_id, struct rl_err *err);

/* Takes one due outbound message (queued, or retry with next_attempt_at <= now, or sending with an
 * expired lease), skipping destinations whose circuit is open, with FOR UPDATE SKIP LOCKED; sets it to
 * sending with a lease of lease_seconds and attempts + 1. Returns 1 and fills m, 0 when none is due. */
int rl_store_outbound_claim(struct rl_store *s, const char *worker, int lease_seconds,
			    struct rl_store_message *m, struct rl_err *err);
/* A verified receipt came back: stores it and the envelope we sent, state delivered, closes the circuit.
 * This and the two below fail with RL_ERR_NOT_FOUND for an id that is no outbound message. */
int rl_store_outbound_delivered(struct rl_store *s, int64_t id, const char *receipt, size_t receipt_len,
				const char *receipt_message_id, const char *sent_envelope,
				size_t sent_envelope_len, struct rl_err *err);
/* rl_store_outbound_delivered, also keeping document_id (may be NULL: the payload's SBDH
 * InstanceIdentifier, which a Message Level Status about the message refers to, rl_store_mls_received),
 * and rl_store_outbound_claim, in one statement and one commit: the delivered record, then the claim
 * of the next due message for worker (never id itself; none when worker is NULL). Returns 1 with *next
 * filled (the caller frees it with rl_store_message_free), 0 when none was claimed, -1 on error
 * (RL_ERR_NOT_FOUND for an id that is no outbound message: nothing is claimed then). */
int rl_store_outbound_delivered_claim(struct rl_store *s, int64_t id, const char *receipt, size_t receipt_len,
				      const char *receipt_message_id, const char *sent_envelope,
				      size_t sent_envelope_len, const char *document_id, const char *worker,
				      int lease_seconds, struct rl_store_message *next, struct rl_err *err);
/* An attempt failed: state retry with next_attempt_at = now + delay_seconds, or failed when final.
 * signal (may be NULL) is an error signal as received. transport_failure counts toward the destination's
 * circuit breaker. */
int rl_store_outbound_failed(struct rl_store *s, int64_t id, const char *error, const char *signal,
			     size_t signal_len, int delay_seconds, int final, int transport_failure,
			     struct rl_err *err);
/* Fills in where it goes once resolved (routing table, discovery) so retries reuse it. */
int rl_store_outbound_set_destination(struct rl_store *s, int64_t id, const char *dest_url,
				      const char *dest_cert_pem, struct rl_err *err);

/* Records the signed envelope of attempt `attempt` before it is POSTed (without waiting for the disk:
 * losing it in a crash only costs a retry). */
int rl_store_outbound_attempt_record(struct rl_store *s, int64_t id, int attempt, const char *envelope,
				     size_t len, struct rl_err *err);
/* Calls fn for each recorded attempt's envelope, newest first; fn returning non-zero stops (and is
 * returned). Attempts are numbered as the message's attempt counter counts them: those made before an
 * operator's retry (rl_store_outbound_retry) come with numbers of 0 and below. */
int rl_store_outbound_attempts(struct rl_store *s, int64_t id,
			       int (*fn)(void *ctx, int attempt, const char *envelope, size_t len), void *ctx,
			       struct rl_err *err);

/* The circuit breaker: after `threshold` consecutive transport failures toward a destination URL, it is
 * skipped by claim for open_seconds (then one message is let through: a receipt closes the circuit, a
 * further transport failure opens it again). Applies to the failures this connection records; the
 * default is 5 failures and 300 seconds. */
int rl_store_circuit_configure(struct rl_store *s, int threshold, int open_seconds, struct rl_err *err);

/* Work taken by an instance that stopped without finishing it (killed) waits for its lease to run out.
 * At start-up an instance lists the lease owners (worker ids, one per line into out) and releases those
 * it knows to be gone: their sending messages and deliveries become due at once. */
int rl_store_lease_owners(struct rl_store *s, struct rl_buf *out, struct rl_err *err);
int rl_store_leases_release(struct rl_store *s, const char *owner, struct rl_err *err);

/* ---------------------------------------------------------------- operator actions */

/* Both name the message by row id (id > 0) or by MessageId (id 0), and record who asked ("cli",
 * "api") in its history. On 0, *row (may be NULL) is the message's row id. An unknown message is
 * RL_ERR_NOT_FOUND; one whose direction or state does not allow the action is RL_ERR_STATE, with a
 * message saying why, and nothing is changed. */

/* Queues an outbound message that failed (or waits for a retry) again now, in one statement: state
 * retry, due now, its attempt counter from 0 again so that retry.max_attempts applies anew (the earlier
 * attempts stay in the history and in the recorded envelopes), an event "retry requested by WHO"; then
 * NOTIFY relais_outbound. When the destination's circuit is open, the next attempt toward it is let
 * through (half-open: a failure opens it again). A delivered message is never sent again; a queued or
 * sending one is refused. */
int rl_store_outbound_retry(struct rl_store *s, int64_t id, const char *message_id, const char *who,
			    int64_t *row, struct rl_err *err);
/* Hands an inbound message that was delivered or failed (no delivery of it pending) to the backend again:
 * the deliveries of the channels configured now (deliver_inbox, deliver_webhook; a channel without a row
 * gets one) pending from attempt 0 and due now, the message received with that many deliveries pending,
 * an event "redelivery requested by WHO (channels)"; then NOTIFY relais_delivery. Neither channel is
 * RL_ERR_CONFIG. A message still being delivered is refused. */
int rl_store_inbound_redeliver(struct rl_store *s, int64_t id, const char *message_id, const char *who,
			       int deliver_inbox, int deliver_webhook, int64_t *row, struct rl_err *err);

/* ---------------------------------------------------------------- retention */

/* What a purge removed (or, for a dry run, would remove): messages by direction, and the bytes they held
 * as stored before compression: payloads; signed envelopes (as received or sent, and the one of every
 * recorded sending attempt); receipts and error signals. */
struct rl_store_purge_counts {
	long long inbound, outbound;
	long long payload_bytes, envelope_bytes, receipt_bytes;
};

/* How many messages one purge transaction removes at most. */
#define RL_STORE_PURGE_BATCH 500

/* Removes the finished messages last changed (updated_at) before older_than: outbound delivered or
 * failed, inbound delivered or failed with no backend delivery pending. Each goes with its state history,
 * backend deliveries, recorded sending attempts and payload (in the row or a large object). A message in
 * any other state (queued, sending, retry, received) stays however old it is. The work is done in batches
 * of RL_STORE_PURGE_BATCH messages, each one transaction, so a message is gone whole or not at all; a
 * batch skips the rows another connection holds locked (a claim, an operator's action) instead of waiting
 * for them, and leaves them to the next purge. dry_run: nothing is removed, *out counts what would be.
 * *out is zeroed first and holds the totals (on failure: what the batches committed so far). */
int rl_store_purge(struct rl_store *s, time_t older_than, int dry_run, struct rl_store_purge_counts *out,
		   struct rl_err *err);
/* One batch of rl_store_purge, for a caller that stops between batches (the daemon): removes up to
 * RL_STORE_PURGE_BATCH messages in one transaction and adds them to *out. Returns how many it removed
 * (fewer than RL_STORE_PURGE_BATCH: nothing more is due now), or -1 with nothing removed. */
int rl_store_purge_batch(struct rl_store *s, time_t older_than, struct rl_store_purge_counts *out,
			 struct rl_err *err);

/* ---------------------------------------------------------------- queries */

/* By row id (id > 0) or by MessageId and direction. Returns 1 found, 0 not found. */
int rl_store_message_get(struct rl_store *s, int64_t id, const char *message_id, enum rl_direction dir,
			 struct rl_store_message *m, struct rl_err *err);
/* The state history: one "timestamp state detail" line per change, oldest first, appended to out
 * (timestamps in UTC, 2026-11-23T10:00:00.123Z). An unknown id is RL_ERR_NOT_FOUND. */
int rl_store_message_history(struct rl_store *s, int64_t id, struct rl_buf *out, struct rl_err *err);
/* Newest first; state NULL = any; dir < 0 = both; limit <= 0 = all. Calls fn for each; fn returning
 * non-zero stops. */
int rl_store_message_list(struct rl_store *s, const char *state, int dir, int limit,
			  int (*fn)(void *ctx, const struct rl_store_message *m), void *ctx,
			  struct rl_err *err);
/* Every message (either direction, any state) exchanged in [from, to), oldest first, in pages: outbound
 * ones when their receipt came (created_at until then), inbound ones when received. The store may be
 * used from fn (e.g. rl_store_payload_read). fn returning non-zero stops, and that is returned. */
int rl_store_message_range(struct rl_store *s, time_t from, time_t to,
			   int (*fn)(void *ctx, const struct rl_store_message *m), void *ctx, struct rl_err *err);
/* The stored receipt (or error signal) of a message, as received/sent. Returns 1 found, 0 none. */
int rl_store_message_receipt(struct rl_store *s, int64_t id, struct rl_buf *out, struct rl_err *err);
/* The stored signed envelope (inbound: received; outbound: sent). Returns 1 found, 0 none. */
int rl_store_message_envelope(struct rl_store *s, int64_t id, struct rl_buf *out, struct rl_err *err);

struct rl_store_stats {
	long long out_queued, out_sending, out_retry, out_delivered, out_failed;
	long long in_received, in_delivered, in_failed;
	long long deliveries_pending;
	long long circuits_open;
	char *last_error;		/* the newest last_error of any message, or NULL */
	char *last_error_message_id;
	time_t last_error_at;
};
void rl_store_stats_free(struct rl_store_stats *st);
int rl_store_stats(struct rl_store *s, struct rl_store_stats *st, struct rl_err *err);

/* ---------------------------------------------------------------- Message Level Status */

/* Queues the Message Level Status `mls` (a submission as for rl_store_outbound_submit, NOTIFYing
 * relais_outbound) about the received message (row id) and appends "MLS <code> queued: <its MessageId>"
 * (code: AB, RE...) to that message's history, in one transaction: both are stored or neither. The
 * received message's row is locked while its history is checked, so however many try at once (threads,
 * processes on one database), one MLS is queued about it. Returns 1 with the MLS's row id and MessageId
 * (caller frees), 0 when an MLS about the message was queued already (nothing is queued), -1 on error
 * (RL_ERR_NOT_FOUND: no received message with that row id). */
int rl_store_mls_queue(struct rl_store *s, int64_t message, const char *code,
		       const struct rl_store_submission *mls, int64_t *id, char **mls_message_id, struct rl_err *err);
/* An MLS came back about the document we sent as document_id (its SBDH InstanceIdentifier): the sent
 * messages that carried it get mls_code = code and "MLS <code> received: <detail>" in their history.
 * Returns 1, or 0 when no sent message carried that document. */
int rl_store_mls_received(struct rl_store *s, const char *document_id, const char *code, const char *detail,
			  struct rl_err *err);

/* ---------------------------------------------------------------- wake-ups */

/* Notifications carry the message row id: relais_outbound (a submission), relais_delivery (a received
 * message committed by rl_store_inbound_commit), relais_state (the claim, delivery or failure of an
 * outbound message submitted with wake_on_outcome). They are sent after the change is committed and are
 * hints: a process that crashes in between sends none, so listeners also look now and then. */

/* LISTEN on a channel ("relais_outbound", "relais_delivery", "relais_state"). */
int rl_store_listen(struct rl_store *s, const char *channel, struct rl_err *err);
/* Waits up to timeout_ms for a notification on a listened channel: 1 notified, 0 timed out. Every
 * notification already received is consumed. After re-establishing a lost connection (LISTENing again)
 * it returns 1, as notifications may have been missed meanwhile. */
int rl_store_wait(struct rl_store *s, int timeout_ms, struct rl_err *err);

#endif

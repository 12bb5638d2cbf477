/*
 * store.c - the durable store on PostgreSQL through libpq. See include/relais/store.h.
 *
 * Every operation is one statement (data-modifying CTEs write the row, its history line and its side
 * rows together) or, when a payload is involved, one short transaction. Statements are prepared once
 * per connection. A lost connection is re-established once per call; the statement is then repeated
 * only when no transaction was open (a transaction cut in the middle is reported as RL_ERR_DB and
 * rolled back by the server).
 *
 * Payloads that fit one chunk (64 KiB, most invoices) live in the message row: the row and its payload
 * are one INSERT, and the claim returns the payload with the row. Larger ones are large objects, written
 * in chunks inside the transaction that inserts the row.
 *
 * A message's history is a column of its row (history: one line per event, "when<TAB>state<TAB>detail"),
 * appended by the statement that changes the message (HISTORY_ADD); the view message_events shows it
 * as rows.
 *
 * Wake-ups: a submission NOTIFYs relais_outbound, a received message relais_delivery (unless its
 * deliveries were handed to this process's own worker), the state changes of an outbound message whose
 * submitter waits for them relais_state, with the message row id as payload. PostgreSQL serialises the commits of all
 * transactions that NOTIFY, WAL flush included, so a durable write never NOTIFYs itself: the
 * notification follows its commit in a small transaction of its own that does not wait for a flush.
 * Wake-ups are hints (one lost in a crash costs a listener its poll interval), the data is durable.
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>
#include <libpq/libpq-fs.h>
#include "relais/store.h"
#include "store_schema.h"
#include "store_sql.h"

#define CHUNK_SIZE RL_STORE_ROW_PAYLOAD_MAX	/* 64 KiB: large objects are written and read in chunks of it */
#define MAX_PARAMS 24
#define MIGRATION_LOCK "7308604897062070643"	/* pg_advisory_lock key shared by every instance */
#define DEFAULT_CIRCUIT_THRESHOLD 5
#define DEFAULT_CIRCUIT_OPEN_SECONDS 300

/* The columns of struct rl_store_message, in the order fill_message() reads them. */
#define MESSAGE_COLUMNS \
	"m.id, m.direction, m.message_id, m.state, m.conversation_id, m.from_party, m.to_party, " \
	"m.service, m.service_type, m.action, m.original_sender, m.final_recipient, m.dest_url, " \
	"m.dest_cert_pem, m.payload_mime_type, m.payload_size, m.attempts, " \
	"extract(epoch FROM m.created_at)::bigint AS created_epoch, " \
	"extract(epoch FROM m.updated_at)::bigint AS updated_epoch, " \
	"extract(epoch FROM m.next_attempt_at)::bigint AS next_attempt_epoch, " \
	"m.last_error, m.receipt_message_id, m.receipt IS NOT NULL OR m.signal IS NOT NULL, m.mls_code"
#define MESSAGE_COLUMN_COUNT 24
#define CLAIM_COLUMN_COUNT (MESSAGE_COLUMN_COUNT + 3)	/* CLAIM_CTE's: the payload, whether whole, wake_on_outcome */

/*
 * The messages retention may remove ($1: the cutoff, epoch seconds): finished (outbound delivered or
 * failed; inbound delivered or failed with no backend delivery pending) and last changed before the cutoff.
 * The state condition is the one of the partial index messages_finished (updated_at), which finds them.
 */
#define PURGEABLE \
	"m.direction IN (0, 1) AND m.state IN ('delivered', 'failed') AND m.updated_at < to_timestamp($1::float8)" \
	" AND m.deliveries_pending = 0" \
	" AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.message = m.id AND p.state = 'pending')"

/*
 * Added to the output of the claims and of a finished backend delivery: that transaction commits without
 * waiting for its WAL flush (SET LOCAL synchronous_commit = off, for that transaction only). A claim lost
 * in a crash of the database only means the row is taken again, which a lease expiry does anyway; the next
 * synchronous commit (delivered, failed) flushes it. A delivery recorded as done and lost the same way is
 * made again: the inbox file was fsynced before, and the repeated attempt finds it and leaves it; a
 * webhook is delivered at least once in any case. Every other write waits for its flush, and so do the
 * commits that answer a peer (inbound) or a submitter.
 */
#define ASYNC_COMMIT "set_config('synchronous_commit', 'off', true) AS async_commit"

/* One line of a message's history (SQL expressions for its state and detail; a NULL detail is empty):
 * when (UTC, milliseconds), the state, what happened. Tabs and line ends in the detail become spaces. */
#define HISTORY_LINE(state, detail) \
	"to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') || E'\\t' || (" \
	state ") || E'\\t' || translate(coalesce(" detail ", ''), E'\\t\\n\\r', '   ') || E'\\n'"
/* The SET clause that appends one line to the history of the row being updated. */
#define HISTORY_ADD(state, detail) " history = history || " HISTORY_LINE(state, detail)
/* The state of an inbound message whose done deliveries (n.done of them) were the last pending ones. */
#define DONE_STATE "CASE WHEN deliveries_pending = n.done AND state = 'received' THEN 'delivered' ELSE state END"

/*
 * The claim of an outbound message, as the CTE c (worker, lease seconds and a further condition on the
 * claimed row m are SQL expressions; the due row is found the same way whatever the condition, so that
 * the plan is the same). A claimed row's next_attempt_at is the end of its lease: one
 * index serves new, retried and abandoned rows alike. A payload of up to one chunk comes with the row
 * (after MESSAGE_COLUMNS: the bytes, and whether that is the whole payload), then wake_on_outcome.
 */
#define CLAIM_CTE(worker, lease, condition) \
	"c AS (UPDATE messages m SET state = 'sending', attempts = m.attempts + 1," \
	"  lease_owner = " worker ", lease_until = now() + make_interval(secs => " lease ")," \
	"  next_attempt_at = now() + make_interval(secs => " lease "), updated_at = now()," \
	HISTORY_ADD("'sending'", "'attempt ' || (m.attempts + 1) || ' by ' || " worker) \
	" WHERE m.id = (SELECT q.id FROM messages q" \
	"  WHERE q.direction = 1 AND q.state IN ('queued', 'retry', 'sending') AND q.next_attempt_at <= now()" \
	"   AND (q.dest_url IS NULL OR NOT EXISTS (SELECT 1 FROM circuits k" \
	"        WHERE k.dest_url = q.dest_url AND k.open_until > now()))" \
	"  ORDER BY q.next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) AND " condition \
	" RETURNING " MESSAGE_COLUMNS "," \
	"  CASE WHEN m.payload IS NOT NULL THEN m.payload" \
	"   WHEN m.payload_oid IS NOT NULL AND m.payload_size <= 65536 THEN lo_get(m.payload_oid) END," \
	"  m.payload IS NOT NULL OR m.payload_oid IS NULL OR m.payload_size <= 65536," \
	"  m.wake_on_outcome)"
/* The delivered record of outbound message $1 (receipt $2, its MessageId $3, the envelope sent $4, the
 * document id $5) as the CTE dm, and the reset of its destination's circuit. */
#define DELIVERED_CTES \
	"dm AS (UPDATE messages SET state = 'delivered', receipt = $2, receipt_message_id = $3::text," \
	"  envelope = $4, document_id = coalesce($5::text, document_id), lease_owner = NULL, lease_until = NULL," \
	"  last_error = NULL, last_error_at = NULL, updated_at = now()," \
	HISTORY_ADD("'delivered'", "'receipt ' || $3::text") \
	" WHERE id = $1 AND direction = 1 RETURNING id, dest_url, wake_on_outcome)," \
	" cb AS (UPDATE circuits SET consecutive_failures = 0, open_until = NULL" \
	"  WHERE dest_url = (SELECT dest_url FROM dm) AND (consecutive_failures <> 0 OR open_until IS NOT NULL))"

/*
 * The insert of an outbound message as the CTE m (state queued, its MessageId $1 or a fresh one; $2..$17
 * as rl_store_outbound_submit passes them: the payload in the row ($16) or as large object $12), one row
 * per row that `from` gives (an SQL FROM clause, or "" for one row). Returns id and message_id; nothing
 * when the MessageId is queued already.
 */
#define SUBMIT_CTE(from) \
	"m AS (INSERT INTO messages (direction, message_id, state, conversation_id, from_party," \
	"  to_party, service, service_type, action, original_sender, final_recipient, dest_url," \
	"  dest_cert_pem, payload_oid, payload_size, payload_mime_type, source, payload, wake_on_outcome," \
	"  history)" \
	" SELECT 1, coalesce($1::text, gen_random_uuid()::text || '@relais'), 'queued', $2::text, $3::text," \
	"  $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, $11::text, $12::oid," \
	"  $13::bigint, coalesce($14::text, 'application/xml'), $15::text, $16::bytea, $17::boolean," \
	"  " HISTORY_LINE("'queued'", "'submitted by ' || coalesce($15::text, 'unknown')") from \
	" ON CONFLICT (direction, message_id) DO NOTHING RETURNING id, message_id)"

enum statement {
	ST_FIND_RECEIPT,
	ST_LO_FROM_BYTEA,
	ST_INBOUND_INSERT,
	ST_SUBMIT,
	ST_MLS_QUEUE,
	ST_OUTBOUND_CLAIM,
	ST_OUTBOUND_DELIVERED,
	ST_OUTBOUND_DELIVERED_CLAIM,
	ST_OUTBOUND_FAILED,
	ST_SET_DESTINATION,
	ST_DELIVERY_CLAIM,
	ST_DELIVERY_DONE,
	ST_DELIVERY_FAILED,
	ST_DELIVERY_NOTE,
	ST_PAYLOAD_OID,
	ST_PAYLOAD_SMALL,
	ST_GET_BY_ID,
	ST_GET_BY_MESSAGE_ID,
	ST_HISTORY,
	ST_LIST,
	ST_RECEIPT,
	ST_ENVELOPE,
	ST_STATS,
	ST_NOTIFY,
	ST_OUTBOUND_RETRY,
	ST_INBOUND_REDELIVER,
	ST_PURGE_BATCH,
	ST_PURGE_COUNT,
	ST_COUNT
};

/*
 * Statements planned at each call rather than prepared once: their best plan depends on how many rows
 * the tables hold, and a plan made while the tables were nearly empty would be kept until the next
 * ANALYZE of the table (a sequential scan of messages for every batch of done deliveries, read through a
 * hash join; every row of messages read and sorted for a list of the newest few). The list and the purge
 * are an operator's or hourly: planning them each time costs nothing.
 */
static const unsigned char statement_planned_per_call[ST_COUNT] = {
	[ST_DELIVERY_DONE] = 1,
	[ST_LIST] = 1,
	[ST_PURGE_BATCH] = 1,
	[ST_PURGE_COUNT] = 1,
};

static const char *const statement_sql[ST_COUNT] = {
	[ST_FIND_RECEIPT] =
		"SELECT receipt FROM messages WHERE direction = 0 AND message_id = $1",
	[ST_LO_FROM_BYTEA] =
		"SELECT lo_from_bytea(0, $1)",
	/* $20 NULL: the deliveries are pending for any worker; else they are taken by worker $20 for $21
	 * seconds (attempt 1) and returned as "id:channel,...". */
	[ST_INBOUND_INSERT] =
		"WITH m AS (INSERT INTO messages (direction, message_id, state, conversation_id, from_party,"
		"  to_party, service, service_type, action, original_sender, final_recipient, payload_oid,"
		"  payload_size, payload_mime_type, payload_content_id, envelope, signer_cert_pem, receipt,"
		"  receipt_message_id, deliveries_pending, source, payload, history)"
		" VALUES (0, $1, 'received', $2, $3, $4, $5, $6, $7, $8, $9, $10::oid, $11, $12, $13, $14, $15,"
		"  $16, $17, cardinality($18::smallint[]), 'as4', $19::bytea,"
		"  " HISTORY_LINE("'received'", "'receipt ' || $17::text") ")"
		" ON CONFLICT (direction, message_id) DO NOTHING RETURNING id),"
		" d AS (INSERT INTO deliveries (message, channel, attempts, lease_owner, lease_until, next_attempt_at)"
		"  SELECT m.id, ch, CASE WHEN $20::text IS NULL THEN 0 ELSE 1 END, $20::text,"
		"   CASE WHEN $20::text IS NOT NULL THEN now() + make_interval(secs => $21::int) END,"
		"   now() + make_interval(secs => CASE WHEN $20::text IS NULL THEN 0 ELSE $21::int END)"
		"  FROM m, unnest($18::smallint[]) ch RETURNING id, channel)"
		" SELECT id, (SELECT string_agg(d.id || ':' || d.channel, ',') FROM d) FROM m",
	[ST_SUBMIT] =
		"WITH " SUBMIT_CTE("")
		" SELECT id, message_id FROM m",
	/* A Message Level Status about received message $18 with response code $19: SUBMIT_CTE and the note
	 * in the received message's history, one statement. The received row is locked first, so that of two
	 * at once the second sees the first's note once that committed, and queues nothing. Answers whether
	 * an MLS was queued about it already, then the new row's id and MessageId (NULL when none); no row
	 * when $18 is no received message. */
	[ST_MLS_QUEUE] =
		"WITH r AS (SELECT id, history ~ E'\\tMLS [A-Z][A-Z] queued: ' AS queued FROM messages"
		"  WHERE id = $18::bigint AND direction = 0 FOR UPDATE),"
		" " SUBMIT_CTE(" FROM r WHERE NOT r.queued") ","
		" n AS (UPDATE messages SET" HISTORY_ADD("state", "'MLS ' || $19::text || ' queued: ' || m.message_id")
		"  FROM m WHERE messages.id = $18::bigint)"
		" SELECT r.queued, m.id, m.message_id FROM r LEFT JOIN m ON true",
	[ST_OUTBOUND_CLAIM] =
		"WITH " CLAIM_CTE("$1::text", "$2::int", "true")
		" SELECT *, CASE WHEN wake_on_outcome THEN pg_notify('relais_state', id::text) END, " ASYNC_COMMIT
		" FROM c",
	[ST_OUTBOUND_DELIVERED] =
		"WITH " DELIVERED_CTES
		" SELECT id, wake_on_outcome FROM dm",
	/* Both in one statement and one commit: the delivered record, then (when there was one) the claim of
	 * the next due message. The claimed columns come first (NULL when none was due), then the delivered
	 * message's id and wake_on_outcome. */
	[ST_OUTBOUND_DELIVERED_CLAIM] =
		"WITH " DELIVERED_CTES ", " CLAIM_CTE("$6::text", "$7::int",
								   "m.id <> $1 AND $6::text IS NOT NULL AND EXISTS (SELECT 1 FROM dm)")
		" SELECT c.*, (SELECT id FROM dm), (SELECT wake_on_outcome FROM dm) FROM (SELECT 1) AS one"
		" LEFT JOIN c ON true",
	[ST_OUTBOUND_FAILED] =
		"WITH m AS (UPDATE messages SET state = CASE WHEN $5::boolean THEN 'failed' ELSE 'retry' END,"
		"  next_attempt_at = now() + CASE WHEN $5::boolean THEN interval '0' ELSE make_interval(secs => $4::int) END,"
		"  last_error = $2::text, last_error_at = now(), signal = coalesce($3, signal),"
		"  lease_owner = NULL, lease_until = NULL, updated_at = now(),"
		HISTORY_ADD("CASE WHEN $5::boolean THEN 'failed' ELSE 'retry' END",
			    "CASE WHEN $5::boolean THEN '' ELSE 'retry in ' || $4::int || 's: ' END || coalesce($2::text, '')")
		" WHERE id = $1 AND direction = 1 RETURNING id, state, dest_url, wake_on_outcome),"
		" cb AS (INSERT INTO circuits AS k (dest_url, consecutive_failures, open_until)"
		"  SELECT dest_url, 1, CASE WHEN 1 >= $7::int THEN now() + make_interval(secs => $8::int) END"
		"  FROM m WHERE $6::boolean AND dest_url IS NOT NULL"
		"  ON CONFLICT (dest_url) DO UPDATE SET consecutive_failures = k.consecutive_failures + 1,"
		"   open_until = CASE WHEN k.consecutive_failures + 1 >= $7::int"
		"    THEN now() + make_interval(secs => $8::int) ELSE k.open_until END)"
		" SELECT id, wake_on_outcome FROM m",
	[ST_SET_DESTINATION] =
		"UPDATE messages SET dest_url = $2, dest_cert_pem = $3, updated_at = now()"
		" WHERE id = $1 AND direction = 1",
	[ST_DELIVERY_CLAIM] =
		"WITH d AS (UPDATE deliveries SET attempts = attempts + 1, lease_owner = $1::text,"
		"  lease_until = now() + make_interval(secs => $2::int),"
		"  next_attempt_at = now() + make_interval(secs => $2::int), updated_at = now()"
		" WHERE id = (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= now()"
		"  ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
		" RETURNING id, message, channel, attempts)"
		" SELECT d.id, d.message, d.channel, d.attempts, m.message_id, m.payload_mime_type, " ASYNC_COMMIT
		" FROM d JOIN messages m ON m.id = d.message",
	/* A batch of deliveries ($1, an array of ids). The pending count on each message row is decremented
	 * under its row lock, so two deliveries of one message finishing at once still make it delivered
	 * exactly once. "Not done or failed" is pending, said so that the rows are found by their ids: with
	 * "state = 'pending'" the planner may read the whole partial index of pending deliveries instead. */
	[ST_DELIVERY_DONE] =
		"WITH d AS (UPDATE deliveries SET state = 'done', lease_owner = NULL, lease_until = NULL,"
		"  last_error = NULL, updated_at = now()"
		" WHERE id = ANY ($1::bigint[]) AND state NOT IN ('done', 'failed') RETURNING id, message, channel, attempts),"
		" n AS (SELECT message, count(*) AS done FROM d GROUP BY message),"
		" m AS (UPDATE messages SET deliveries_pending = deliveries_pending - n.done,"
		"  state = " DONE_STATE ", updated_at = now(), history = history || (SELECT string_agg("
		HISTORY_LINE(DONE_STATE, "CASE d.channel WHEN 0 THEN 'inbox' ELSE 'webhook' END"
			     " || ' delivery done (attempt ' || d.attempts || ')'") ", '' ORDER BY d.id)"
		"   FROM d WHERE d.message = messages.id)"
		" FROM n WHERE messages.id = n.message)"
		" SELECT count(*), " ASYNC_COMMIT " FROM d",
	/* A failed attempt of delivery $1 ($4: for good). Pending is "not done or failed" here too, so that
	 * the row is found by its id rather than among every pending delivery (see ST_DELIVERY_DONE). */
	[ST_DELIVERY_FAILED] =
		"WITH d AS (UPDATE deliveries SET state = CASE WHEN $4::boolean THEN 'failed' ELSE 'pending' END,"
		"  next_attempt_at = now() + make_interval(secs => $3::int), lease_owner = NULL, lease_until = NULL,"
		"  last_error = $2::text, updated_at = now()"
		" WHERE id = $1 AND state NOT IN ('done', 'failed') RETURNING message,"
		"  CASE channel WHEN 0 THEN 'inbox' ELSE 'webhook' END AS channel_name),"
		" m AS (UPDATE messages SET deliveries_pending = deliveries_pending - CASE WHEN $4::boolean THEN 1 ELSE 0 END,"
		"  state = CASE WHEN $4::boolean AND state = 'received' THEN 'failed' ELSE state END,"
		"  last_error = (SELECT channel_name FROM d) || ' delivery: ' || coalesce($2::text, ''),"
		"  last_error_at = now(), updated_at = now(),"
		HISTORY_ADD("CASE WHEN $4::boolean AND state = 'received' THEN 'failed' ELSE state END",
			    "(SELECT channel_name FROM d) || ' delivery '"
			    " || CASE WHEN $4::boolean THEN 'failed: ' ELSE 'retry in ' || $3::int || 's: ' END"
			    " || coalesce($2::text, '')")
		" WHERE id = (SELECT message FROM d))"
		" SELECT count(*) FROM d",
	/* A problem beside a delivery that was done (a relay conversion that failed): recorded, state unchanged. */
	[ST_DELIVERY_NOTE] =
		"WITH d AS (UPDATE deliveries SET last_error = $2::text, updated_at = now()"
		" WHERE id = $1 RETURNING message, CASE channel WHEN 0 THEN 'inbox' ELSE 'webhook' END AS channel_name),"
		" m AS (UPDATE messages SET last_error = (SELECT channel_name FROM d) || ' delivery: ' || $2::text,"
		"  last_error_at = now(), updated_at = now(),"
		HISTORY_ADD("state", "(SELECT channel_name FROM d) || ' delivery: ' || $2::text")
		" WHERE id = (SELECT message FROM d))"
		" SELECT count(*) FROM d",
	[ST_PAYLOAD_OID] =
		"SELECT payload_oid FROM messages WHERE id = $1",
	/* Small payloads come whole in one round trip (from the row, or a small large object stored before
	 * schema 6); larger ones are read in chunks: then the second column is NULL. */
	[ST_PAYLOAD_SMALL] =
		"SELECT payload_oid, CASE WHEN payload IS NOT NULL THEN payload"
		"  WHEN payload_oid IS NOT NULL AND payload_size <= 65536 THEN lo_get(payload_oid) END"
		" FROM messages WHERE id = $1",
	[ST_GET_BY_ID] =
		"SELECT " MESSAGE_COLUMNS " FROM messages m WHERE m.id = $1",
	[ST_GET_BY_MESSAGE_ID] =
		"SELECT " MESSAGE_COLUMNS " FROM messages m WHERE m.message_id = $1 AND m.direction = $2",
	/* Each line "when state detail" (or "when state" when there is no detail). */
	[ST_HISTORY] =
		"SELECT translate(replace(history, E'\\t\\n', E'\\n'), E'\\t', ' ') FROM messages WHERE id = $1",
	[ST_LIST] =
		"SELECT " MESSAGE_COLUMNS " FROM messages m"
		" WHERE ($1::text IS NULL OR m.state = $1::text) AND ($2::int < 0 OR m.direction = $2::int)"
		" ORDER BY m.id DESC LIMIT $3::bigint",
	[ST_RECEIPT] =
		"SELECT coalesce(receipt, signal) FROM messages WHERE id = $1",
	[ST_ENVELOPE] =
		"SELECT envelope FROM messages WHERE id = $1",
	[ST_STATS] =
		"SELECT"
		" (SELECT count(*) FROM messages WHERE direction = 1 AND state = 'queued'),"
		" (SELECT count(*) FROM messages WHERE direction = 1 AND state = 'sending'),"
		" (SELECT count(*) FROM messages WHERE direction = 1 AND state = 'retry'),"
		" (SELECT count(*) FROM messages WHERE direction = 1 AND state = 'delivered'),"
		" (SELECT count(*) FROM messages WHERE direction = 1 AND state = 'failed'),"
		" (SELECT count(*) FROM messages WHERE direction = 0 AND state = 'received'),"
		" (SELECT count(*) FROM messages WHERE direction = 0 AND state = 'delivered'),"
		" (SELECT count(*) FROM messages WHERE direction = 0 AND state = 'failed'),"
		" (SELECT count(*) FROM deliveries WHERE state = 'pending'),"
		" (SELECT count(*) FROM circuits WHERE open_until > now()),"
		" l.last_error, l.message_id, extract(epoch FROM l.last_error_at)::bigint"
		" FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT last_error, message_id, last_error_at"
		"  FROM messages WHERE last_error IS NOT NULL ORDER BY last_error_at DESC LIMIT 1) l ON true",
	[ST_NOTIFY] =
		"SELECT pg_notify($1::text, $2::text), " ASYNC_COMMIT,
	/* The message ($1 row id, or $2 MessageId when $1 is 0) locked, then changed only when it is an
	 * outbound message that failed or waits for a retry; the answer says what it was either way. The row
	 * is found by its id, the MessageId's row id coming from a subquery on the MessageId key: a condition
	 * choosing between the two keys (a CASE; an OR, once the table looked small) has a generic plan that
	 * reads the whole table. */
	[ST_OUTBOUND_RETRY] =
		"WITH t AS (SELECT id, direction, state FROM messages"
		"  WHERE id = CASE WHEN $1::bigint > 0 THEN $1::bigint"
		"   ELSE (SELECT q.id FROM messages q WHERE q.message_id = $2::text AND q.direction = 1) END"
		"  FOR UPDATE),"
		" m AS (UPDATE messages SET state = 'retry', attempts_before = attempts_before + attempts, attempts = 0,"
		"  next_attempt_at = now(), lease_owner = NULL, lease_until = NULL, updated_at = now(),"
		HISTORY_ADD("'retry'", "'retry requested by ' || $3::text || CASE WHEN EXISTS (SELECT 1 FROM circuits k"
			    " WHERE k.dest_url = messages.dest_url AND k.open_until > now())"
			    " THEN ' (the paused destination is tried again)' ELSE '' END")
		" WHERE id = (SELECT id FROM t) AND direction = 1 AND state IN ('failed', 'retry')"
		" RETURNING id, dest_url),"
		/* An open circuit toward the destination lets the next attempt through (half-open): the
		 * operator says the peer is back; a failure opens it again. */
		" cb AS (UPDATE circuits SET open_until = now()"
		"  WHERE dest_url = (SELECT dest_url FROM m) AND open_until > now() RETURNING dest_url)"
		" SELECT t.id, t.direction, t.state, EXISTS (SELECT 1 FROM m) FROM t",
	/* The same for an inbound message that is delivered or failed with no delivery left pending: the
	 * deliveries of the channels $4 (smallint[]) are pending again from attempt 0 (created when missing). */
	[ST_INBOUND_REDELIVER] =
		"WITH t AS (SELECT id, direction, state, deliveries_pending FROM messages"
		"  WHERE id = CASE WHEN $1::bigint > 0 THEN $1::bigint"
		"   ELSE (SELECT q.id FROM messages q WHERE q.message_id = $2::text AND q.direction = 0) END"
		"  FOR UPDATE),"
		" ok AS (SELECT id FROM t WHERE direction = 0 AND state IN ('delivered', 'failed')"
		"  AND deliveries_pending = 0 AND cardinality($4::smallint[]) > 0),"
		" d AS (INSERT INTO deliveries AS x (message, channel) SELECT ok.id, ch FROM ok, unnest($4::smallint[]) ch"
		"  ON CONFLICT (message, channel) DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = now(),"
		"   lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = now()"
		"  RETURNING x.channel),"
		" m AS (UPDATE messages SET state = 'received', deliveries_pending = cardinality($4::smallint[]),"
		"  updated_at = now(),"
		HISTORY_ADD("'received'", "'redelivery requested by ' || $3::text || ' ('"
			    " || (SELECT string_agg(CASE channel WHEN 0 THEN 'inbox' ELSE 'webhook' END, ', ' ORDER BY channel)"
			    " FROM d) || ')'")
		" WHERE id = (SELECT id FROM ok) RETURNING id)"
		" SELECT t.id, t.direction, t.state, EXISTS (SELECT 1 FROM m), t.deliveries_pending FROM t",
	/* Retention: up to $2 finished messages last changed before $1 (epoch seconds), the oldest first
	 * (read in the order of their index, messages_finished, whatever the table's size), locked with SKIP
	 * LOCKED, removed with everything that refers to them in this one statement (children first; the
	 * foreign keys are checked at its end), their large objects unlinked. Answers the counts of
	 * struct rl_store_purge_counts. The rows are removed by their ids as one array: "IN (SELECT id FROM
	 * t)" is a join, which the planner (taking a tenth of the table for LIMIT $2) made a hash join over
	 * a sequential scan of each table. */
	[ST_PURGE_BATCH] =
		"WITH t AS (SELECT m.id, m.direction, m.payload_oid, m.payload_size,"
		"  coalesce(octet_length(m.envelope), 0) AS envelope_len,"
		"  coalesce(octet_length(m.receipt), 0) + coalesce(octet_length(m.signal), 0) AS receipt_len"
		" FROM messages m WHERE " PURGEABLE
		" ORDER BY m.updated_at LIMIT $2::int FOR UPDATE OF m SKIP LOCKED),"
		" a AS (DELETE FROM sent_attempts WHERE message = ANY ((SELECT array_agg(id) FROM t)::bigint[])"
		"  RETURNING octet_length(envelope) AS len),"
		" d AS (DELETE FROM deliveries WHERE message = ANY ((SELECT array_agg(id) FROM t)::bigint[])),"
		" m AS (DELETE FROM messages WHERE id = ANY ((SELECT array_agg(id) FROM t)::bigint[]))"
		" SELECT count(*) FILTER (WHERE direction = 0), count(*) FILTER (WHERE direction = 1),"
		"  coalesce(sum(payload_size), 0), coalesce(sum(envelope_len), 0) + (SELECT coalesce(sum(len), 0) FROM a),"
		"  coalesce(sum(receipt_len), 0),"
		"  (SELECT count(lo_unlink(t.payload_oid)) FROM t WHERE t.payload_oid IS NOT NULL"
		"   AND EXISTS (SELECT 1 FROM pg_largeobject_metadata l WHERE l.oid = t.payload_oid))"
		" FROM t",
	/* The same counts for a dry run, without locking or removing anything. */
	[ST_PURGE_COUNT] =
		"SELECT count(*) FILTER (WHERE direction = 0), count(*) FILTER (WHERE direction = 1),"
		"  coalesce(sum(payload_size), 0),"
		"  coalesce(sum(coalesce(octet_length(m.envelope), 0)"
		"   + (SELECT coalesce(sum(octet_length(a.envelope)), 0) FROM sent_attempts a WHERE a.message = m.id)), 0),"
		"  coalesce(sum(coalesce(octet_length(m.receipt), 0) + coalesce(octet_length(m.signal), 0)), 0)"
		" FROM messages m WHERE " PURGEABLE,
};

/* The statements whose plans tests/unit/test_store.c looks at, by the names store_sql.h gives. */
static const struct {
	const char *name;
	enum statement stmt;
} statement_names[] = {
	{ "find_receipt", ST_FIND_RECEIPT },
	{ "delivery_failed", ST_DELIVERY_FAILED },
	{ "delivery_note", ST_DELIVERY_NOTE },
	{ "get_by_message_id", ST_GET_BY_MESSAGE_ID },
	{ "mls_queue", ST_MLS_QUEUE },
	{ "list", ST_LIST },
	{ "stats", ST_STATS },
	{ "outbound_retry", ST_OUTBOUND_RETRY },
	{ "inbound_redeliver", ST_INBOUND_REDELIVER },
	{ "purge_batch", ST_PURGE_BATCH },
	{ "purge_count", ST_PURGE_COUNT },
};

const char *rl_store_statement_sql(const char *name, int *planned_per_call)
{
	for (size_t i = 0; i < sizeof(statement_names) / sizeof(statement_names[0]); i++)
		if (strcmp(statement_names[i].name, name) == 0) {
			*planned_per_call = statement_planned_per_call[statement_names[i].stmt];
			return statement_sql[statement_names[i].stmt];
		}
	return NULL;
}

struct rl_store {
	PGconn *conn;
	unsigned char prepared[ST_COUNT];	/* prepared on this connection (cleared by a reconnect) */
	int in_tx;				/* a transaction is open: statements are not repeated */
	int circuit_threshold;
	int circuit_open_seconds;
	char **channels;			/* LISTENed channels, listened again after a reconnect */
	size_t nchannels;
};

/* Statement parameters: text, integers (formatted here) and binary byte strings. */
struct params {
	int n;
	const char *values[MAX_PARAMS];
	int lengths[MAX_PARAMS];
	int formats[MAX_PARAMS];
	char numbers[MAX_PARAMS][24];
};

static void p_text(struct params *p, const char *s)
{
	p->values[p->n] = s;
	p->lengths[p->n] = 0;
	p->formats[p->n] = 0;
	p->n++;
}

static void p_int(struct params *p, long long v)
{
	snprintf(p->numbers[p->n], sizeof(p->numbers[p->n]), "%lld", v);
	p_text(p, p->numbers[p->n]);
}

static void p_bool(struct params *p, int v)
{
	p_text(p, v ? "t" : "f");
}

/* NULL data is SQL NULL. The caller has checked that len fits an int. */
static void p_bytes(struct params *p, const void *data, size_t len)
{
	p->values[p->n] = data;
	p->lengths[p->n] = (int)len;
	p->formats[p->n] = 1;
	p->n++;
}

static int check_bytes_len(size_t len, const char *what, struct rl_err *err)
{
	if (len > (size_t)INT_MAX / 2)
		return rl_err_set(err, RL_ERR_USAGE, "%s of %zu bytes is too large to store", what, len);
	return 0;
}

/* RL_ERR_DB with the first line of a libpq message. */
static int db_error(struct rl_err *err, const char *context, const char *msg)
{
	size_t n;

	if (msg == NULL || *msg == '\0')
		msg = "unknown database error";
	n = strcspn(msg, "\n");
	return rl_err_set(err, RL_ERR_DB, "%s: %.*s", context, (int)n, msg);
}

/* The server's own message when there is one ("duplicate key value ..."), else libpq's. */
static int result_error(struct rl_store *s, PGresult *r, struct rl_err *err)
{
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (msg == NULL || *msg == '\0')
		msg = r ? PQresultErrorMessage(r) : NULL;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(s->conn);
	return db_error(err, "database", msg);
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * The session's settings. Every statement here is prepared once and then run with parameters that do not
 * change the best plan (lookups by key, the queue's index in order), so the generic plan is used from the
 * first run instead of planning again for the first executions and whenever it looks costlier.
 */
static int session_setup(struct rl_store *s, struct rl_err *err)
{
	PGresult *r = PQexec(s->conn, "SET plan_cache_mode = force_generic_plan");
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = result_error(s, r, err);
	PQclear(r);
	return rc;
}

/* Re-establishes a lost connection: session settings, prepared statements and LISTENs are made again. */
static int reconnect(struct rl_store *s, struct rl_err *err)
{
	PQreset(s->conn);
	memset(s->prepared, 0, sizeof(s->prepared));
	s->in_tx = 0;
	if (PQstatus(s->conn) != CONNECTION_OK)
		return db_error(err, "database connection lost and not re-established", PQerrorMessage(s->conn));
	if (session_setup(s, err) < 0)
		return -1;
	for (size_t i = 0; i < s->nchannels; i++) {
		char *ident = PQescapeIdentifier(s->conn, s->channels[i], strlen(s->channels[i]));
		char sql[256];
		PGresult *r;

		if (ident == NULL)
			return db_error(err, "LISTEN again", PQerrorMessage(s->conn));
		snprintf(sql, sizeof(sql), "LISTEN %s", ident);
		PQfreemem(ident);
		r = PQexec(s->conn, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			result_error(s, r, err);
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}

/*
 * Runs a prepared statement (stmt >= 0; sent with its text each time when statement_planned_per_call says
 * so) or plain SQL (stmt < 0, sql given). Outside a transaction a
 * lost connection is re-established and the statement repeated once. Returns the result (caller
 * PQclear()s) or NULL with err filled.
 */
static PGresult *run(struct rl_store *s, int stmt, const char *sql, const struct params *p, int binary,
		     struct rl_err *err)
{
	static const struct params none;

	if (p == NULL)
		p = &none;
	for (int attempt = 0;; attempt++) {
		PGresult *r = NULL;
		ExecStatusType st;

		if (!s->in_tx && PQstatus(s->conn) != CONNECTION_OK && reconnect(s, err) < 0)
			return NULL;
		if (stmt >= 0 && statement_planned_per_call[stmt]) {
			sql = statement_sql[stmt];
			stmt = -1;
		}
		if (stmt >= 0 && !s->prepared[stmt]) {
			char name[16];

			snprintf(name, sizeof(name), "rl%d", stmt);
			r = PQprepare(s->conn, name, statement_sql[stmt], 0, NULL);
			if (PQresultStatus(r) == PGRES_COMMAND_OK) {
				s->prepared[stmt] = 1;
				PQclear(r);
				r = NULL;
			}
		}
		if (r == NULL) {
			if (stmt >= 0) {
				char name[16];

				snprintf(name, sizeof(name), "rl%d", stmt);
				r = PQexecPrepared(s->conn, name, p->n, p->values, p->lengths, p->formats, binary);
			} else if (p->n == 0 && !binary) {
				r = PQexec(s->conn, sql);	/* may hold several statements (migrations) */
			} else {
				r = PQexecParams(s->conn, sql, p->n, NULL, p->values, p->lengths, p->formats, binary);
			}
		}
		st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			return r;
		if (attempt == 0 && !s->in_tx && PQstatus(s->conn) == CONNECTION_BAD) {
			PQclear(r);
			continue;
		}
		result_error(s, r, err);
		PQclear(r);
		return NULL;
	}
}

/* Runs a statement whose result is not needed. */
static int run_command(struct rl_store *s, int stmt, const char *sql, const struct params *p, struct rl_err *err)
{
	PGresult *r = run(s, stmt, sql, p, 0, err);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

static int tx_begin(struct rl_store *s, struct rl_err *err)
{
	if (run_command(s, -1, "BEGIN", NULL, err) < 0)
		return -1;
	s->in_tx = 1;
	return 0;
}

static int tx_commit(struct rl_store *s, struct rl_err *err)
{
	int rc = run_command(s, -1, "COMMIT", NULL, err);

	s->in_tx = 0;
	return rc;
}

static void tx_rollback(struct rl_store *s)
{
	if (s->in_tx && PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	s->in_tx = 0;
}

/*
 * Wakes the listeners of channel about a message row, after its change committed. A failure here is not
 * the operation's: the change is stored, and listeners also poll.
 */
static void notify(struct rl_store *s, const char *channel, int64_t message)
{
	struct params p = { 0 };
	struct rl_err ignored;

	p_text(&p, channel);
	p_int(&p, message);
	run_command(s, ST_NOTIFY, NULL, &p, &ignored);
}

/* ---------------------------------------------------------------- connection and schema */

int rl_store_open(const char *conninfo, struct rl_store **out, struct rl_err *err)
{
	const char *keywords[] = { "dbname", "fallback_application_name", NULL };
	const char *values[] = { conninfo, "relais", NULL };
	struct rl_store *s;

	*out = NULL;
	if (conninfo == NULL)
		return rl_err_set(err, RL_ERR_USAGE, "no database connection string");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	s->circuit_threshold = DEFAULT_CIRCUIT_THRESHOLD;
	s->circuit_open_seconds = DEFAULT_CIRCUIT_OPEN_SECONDS;
	s->conn = PQconnectdbParams(keywords, values, 1);
	if (s->conn == NULL) {
		free(s);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		db_error(err, "cannot connect to the database", PQerrorMessage(s->conn));
		rl_store_close(s);
		return -1;
	}
	PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
	if (session_setup(s, err) < 0) {
		rl_store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void rl_store_close(struct rl_store *s)
{
	if (s == NULL)
		return;
	PQfinish(s->conn);
	for (size_t i = 0; i < s->nchannels; i++)
		free(s->channels[i]);
	free(s->channels);
	free(s);
}

int rl_store_schema_target(void)
{
	return rl_store_schema_count();
}

int rl_store_schema_version(struct rl_store *s, int *version, struct rl_err *err)
{
	PGresult *r = run(s, -1, "SELECT to_regclass('schema_version') IS NOT NULL", NULL, 0, err);
	int exists;

	if (r == NULL)
		return -1;
	exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	*version = 0;
	if (!exists)
		return 0;
	r = run(s, -1, "SELECT coalesce(max(version), 0) FROM schema_version", NULL, 0, err);
	if (r == NULL)
		return -1;
	*version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* Applies migrations after `version` up to the target, each in its own transaction. */
static int apply_migrations(struct rl_store *s, int version, int *applied, struct rl_err *err)
{
	for (int v = version + 1; v <= rl_store_schema_target(); v++) {
		struct params p = { 0 };

		if (tx_begin(s, err) < 0)
			return -1;
		p_int(&p, v);
		if (run_command(s, -1, rl_store_schema_migration(v), NULL, err) < 0 ||
		    run_command(s, -1, "INSERT INTO schema_version (version) VALUES ($1::int)", &p, err) < 0) {
			tx_rollback(s);
			return rl_err_prefix(err, "schema migration %d", v);
		}
		if (tx_commit(s, err) < 0)
			return rl_err_prefix(err, "schema migration %d", v);
		(*applied)++;
	}
	return 0;
}

int rl_store_migrate(struct rl_store *s, int *applied, struct rl_err *err)
{
	int version = 0, count = 0, rc;

	if (applied)
		*applied = 0;
	if (run_command(s, -1, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")", NULL, err) < 0)
		return -1;
	rc = run_command(s, -1, "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
			 " applied_at timestamptz NOT NULL DEFAULT now())", NULL, err);
	if (rc == 0)
		rc = rl_store_schema_version(s, &version, err);
	if (rc == 0 && version > rl_store_schema_target())
		rc = rl_err_set(err, RL_ERR_DB, "the database has schema version %d, newer than this program's %d",
				version, rl_store_schema_target());
	if (rc == 0)
		rc = apply_migrations(s, version, &count, err);
	if (PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")"));
	if (applied)
		*applied = count;
	return rc;
}

/* ---------------------------------------------------------------- row reading */

static char *dup_value(const PGresult *r, int row, int col, int *failed)
{
	char *v;

	if (PQgetisnull(r, row, col))
		return NULL;
	v = strdup(PQgetvalue(r, row, col));
	if (v == NULL)
		*failed = 1;
	return v;
}

/* An integer column of a text-format result, or of a binary one (int2, int4, int8 in network order). */
static long long int_value(const PGresult *r, int row, int col)
{
	const unsigned char *v;
	int len;
	uint64_t u = 0;

	if (PQgetisnull(r, row, col))
		return 0;
	if (PQfformat(r, col) == 0)
		return strtoll(PQgetvalue(r, row, col), NULL, 10);
	v = (const unsigned char *)PQgetvalue(r, row, col);
	len = PQgetlength(r, row, col);
	for (int i = 0; i < len && i < 8; i++)
		u = u << 8 | v[i];
	return len == 2 ? (int16_t)u : len == 4 ? (int32_t)u : (long long)u;
}

/* A boolean column, text ("t") or binary (one byte). */
static int bool_value(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return PQfformat(r, col) == 0 ? strcmp(PQgetvalue(r, row, col), "t") == 0 : PQgetvalue(r, row, col)[0] != 0;
}

void rl_store_message_free(struct rl_store_message *m)
{
	if (m == NULL)
		return;
	free(m->message_id);
	free(m->state);
	free(m->conversation_id);
	free(m->from_party);
	free(m->to_party);
	free(m->service);
	free(m->service_type);
	free(m->action);
	free(m->original_sender);
	free(m->final_recipient);
	free(m->dest_url);
	free(m->dest_cert_pem);
	free(m->payload_mime_type);
	free(m->last_error);
	free(m->receipt_message_id);
	free(m->mls_code);
	free(m->payload);
	memset(m, 0, sizeof(*m));
}

/* Reads MESSAGE_COLUMNS of one row into m. */
static int fill_message(const PGresult *r, int row, struct rl_store_message *m, struct rl_err *err)
{
	int failed = 0, c = 0;

	memset(m, 0, sizeof(*m));
	m->id = int_value(r, row, c++);
	m->direction = int_value(r, row, c++) ? RL_DIR_OUT : RL_DIR_IN;
	m->message_id = dup_value(r, row, c++, &failed);
	m->state = dup_value(r, row, c++, &failed);
	m->conversation_id = dup_value(r, row, c++, &failed);
	m->from_party = dup_value(r, row, c++, &failed);
	m->to_party = dup_value(r, row, c++, &failed);
	m->service = dup_value(r, row, c++, &failed);
	m->service_type = dup_value(r, row, c++, &failed);
	m->action = dup_value(r, row, c++, &failed);
	m->original_sender = dup_value(r, row, c++, &failed);
	m->final_recipient = dup_value(r, row, c++, &failed);
	m->dest_url = dup_value(r, row, c++, &failed);
	m->dest_cert_pem = dup_value(r, row, c++, &failed);
	m->payload_mime_type = dup_value(r, row, c++, &failed);
	m->payload_size = (uint64_t)int_value(r, row, c++);
	m->attempts = (int)int_value(r, row, c++);
	m->created_at = (time_t)int_value(r, row, c++);
	m->updated_at = (time_t)int_value(r, row, c++);
	m->next_attempt_at = (time_t)int_value(r, row, c++);
	m->last_error = dup_value(r, row, c++, &failed);
	m->receipt_message_id = dup_value(r, row, c++, &failed);
	m->receipt_stored = bool_value(r, row, c++);
	m->mls_code = dup_value(r, row, c++, &failed);
	if (failed) {
		rl_store_message_free(m);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* Copies a bytea column of a binary-format result into out (replacing its content). */
static int copy_bytes(const PGresult *r, int row, int col, struct rl_buf *out, struct rl_err *err)
{
	rl_buf_reset(out);
	if (rl_buf_append(out, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col)) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

/* ---------------------------------------------------------------- payloads */

/*
 * Reads the first chunk of fp (from its position). Returns 1 when that is all of it (the payload fits the
 * row), 0 when more follows (it goes to a large object), -1 on error. *chunk is the caller's to free.
 */
static int payload_first_chunk(FILE *fp, unsigned char **chunk, size_t *n, struct rl_err *err)
{
	*n = 0;
	*chunk = malloc(CHUNK_SIZE);
	if (*chunk == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	*n = fread(*chunk, 1, CHUNK_SIZE, fp);
	if (ferror(fp)) {
		free(*chunk);
		*chunk = NULL;
		return rl_err_set(err, RL_ERR_IO, "reading the payload: %s", strerror(errno));
	}
	return *n < CHUNK_SIZE;
}

/*
 * Streams a payload larger than a chunk into a new large object: the first chunk (already read, n bytes),
 * then the rest of fp to EOF. Inside an open transaction.
 */
static int payload_store_large(struct rl_store *s, unsigned char *chunk, size_t n, FILE *fp, unsigned *oid,
			       long long *size, struct rl_err *err)
{
	int fd;

	*size = 0;
	*oid = lo_create(s->conn, InvalidOid);
	if (*oid == InvalidOid)
		return db_error(err, "creating the payload large object", PQerrorMessage(s->conn));
	fd = lo_open(s->conn, *oid, INV_WRITE);
	if (fd < 0)
		return db_error(err, "opening the payload large object", PQerrorMessage(s->conn));
	while (n > 0) {
		if (lo_write(s->conn, fd, (const char *)chunk, n) != (int)n)
			return db_error(err, "writing the payload large object", PQerrorMessage(s->conn));
		*size += (long long)n;
		n = fread(chunk, 1, CHUNK_SIZE, fp);
		if (ferror(fp))
			return rl_err_set(err, RL_ERR_IO, "reading the payload: %s", strerror(errno));
	}
	if (lo_close(s->conn, fd) < 0)
		return db_error(err, "closing the payload large object", PQerrorMessage(s->conn));
	return 0;
}

/* A payload about to be stored with its row: small ones go in the row, larger ones into a large object
 * inside a transaction that this opens (s->in_tx then set; the caller commits or rolls back). */
struct payload_in {
	unsigned char *chunk;		/* read from the file (owned) */
	const void *data;		/* the row's payload when small (chunk, or the caller's memory) */
	size_t len;
	int small;
	unsigned oid;			/* large */
	long long size;
	char oid_text[16], size_text[24];
};

static int payload_in_store(struct rl_store *s, FILE *fp, const void *data, size_t len, struct payload_in *pl,
			    struct rl_err *err)
{
	memset(pl, 0, sizeof(*pl));
	if (fp == NULL && data != NULL && len < CHUNK_SIZE) {
		pl->data = data;
		pl->len = len;
		pl->small = 1;
		pl->size = (long long)len;
	} else if (fp == NULL && data != NULL) {
		return rl_err_set(err, RL_ERR_USAGE, "a payload in memory must be shorter than %d bytes", CHUNK_SIZE);
	} else if (fp != NULL) {
		pl->small = payload_first_chunk(fp, &pl->chunk, &pl->len, err);
		if (pl->small < 0)
			return -1;
		if (pl->small) {
			pl->data = pl->chunk;
			pl->size = (long long)pl->len;
		} else if (tx_begin(s, err) < 0 ||
			   payload_store_large(s, pl->chunk, pl->len, fp, &pl->oid, &pl->size, err) < 0) {
			return -1;
		}
	}
	snprintf(pl->oid_text, sizeof(pl->oid_text), "%u", pl->oid);
	snprintf(pl->size_text, sizeof(pl->size_text), "%lld", pl->size);
	return 0;
}

int rl_store_payload_read(struct rl_store *s, int64_t message, const struct rl_sink *out, struct rl_err *err)
{
	struct params p = { 0 };
	unsigned char *chunk = NULL;
	PGresult *r;
	unsigned oid;
	int fd, n;

	p_int(&p, message);
	r = run(s, ST_PAYLOAD_SMALL, NULL, &p, 1, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return rl_err_set(err, RL_ERR_NOT_FOUND, "no message with id %" PRId64, message);
	}
	if (PQgetisnull(r, 0, 0) || !PQgetisnull(r, 0, 1)) {
		/* No payload, or a small one, here whole. */
		int rc = PQgetisnull(r, 0, 1) ? 0 : rl_sink_write(out, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1), err);

		PQclear(r);
		return rc;
	}
	PQclear(r);
	memset(&p, 0, sizeof(p));
	if (tx_begin(s, err) < 0)
		return -1;
	p_int(&p, message);
	r = run(s, ST_PAYLOAD_OID, NULL, &p, 0, err);
	if (r == NULL)
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		rl_err_set(err, RL_ERR_NOT_FOUND, "no message with id %" PRId64, message);
		goto fail;
	}
	oid = PQgetisnull(r, 0, 0) ? 0 : (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (oid != 0) {
		chunk = malloc(CHUNK_SIZE);
		if (chunk == NULL) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto fail;
		}
		fd = lo_open(s->conn, oid, INV_READ);
		if (fd < 0) {
			db_error(err, "opening the payload", PQerrorMessage(s->conn));
			goto fail;
		}
		while ((n = lo_read(s->conn, fd, (char *)chunk, CHUNK_SIZE)) > 0)
			if (rl_sink_write(out, chunk, (size_t)n, err) < 0)
				goto fail;
		if (n < 0) {
			db_error(err, "reading the payload", PQerrorMessage(s->conn));
			goto fail;
		}
		free(chunk);
		chunk = NULL;
	}
	return tx_commit(s, err);
fail:
	free(chunk);
	tx_rollback(s);
	return -1;
}

/* ---------------------------------------------------------------- inbound */

int rl_store_inbound_find_receipt(struct rl_store *s, const char *message_id, struct rl_buf *receipt,
				  struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	int found;

	p_text(&p, message_id);
	r = run(s, ST_FIND_RECEIPT, NULL, &p, 1, err);
	if (r == NULL)
		return -1;
	found = PQntuples(r) > 0;
	if (found && receipt != NULL && copy_bytes(r, 0, 0, receipt, err) < 0)
		found = -1;
	PQclear(r);
	return found;
}

/* The deliveries the insert created for worker, "id:channel,..." (see ST_INBOUND_INSERT). */
static int parse_leased(const char *text, const struct rl_store_inbound *in, int64_t message,
			struct rl_store_delivery leased[2], int *nleased, struct rl_err *err)
{
	*nleased = 0;
	while (text && *text && *nleased < 2) {
		struct rl_store_delivery *d = &leased[*nleased];
		char *end;

		memset(d, 0, sizeof(*d));
		d->id = strtoll(text, &end, 10);
		d->channel = (*end == ':' && strtol(end + 1, &end, 10) == 1) ? RL_DELIVERY_WEBHOOK : RL_DELIVERY_INBOX;
		d->message = message;
		d->attempts = 1;
		d->message_id = strdup(in->message_id);
		d->payload_mime_type = in->payload_mime_type ? strdup(in->payload_mime_type) : NULL;
		(*nleased)++;
		if (d->message_id == NULL || (in->payload_mime_type && d->payload_mime_type == NULL)) {
			for (int i = 0; i < *nleased; i++)
				rl_store_delivery_free(&leased[i]);
			*nleased = 0;
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		}
		text = *end == ',' ? end + 1 : "";
	}
	return 0;
}

static int inbound_commit(struct rl_store *s, const struct rl_store_inbound *in, const char *worker,
			  int lease_seconds, int64_t *id, struct rl_store_delivery *leased, int *nleased,
			  struct rl_buf *existing_receipt, struct rl_err *err)
{
	struct params p = { 0 };
	struct payload_in pl;
	char channels[8];
	PGresult *r;
	int found, rc = -1;

	if (nleased)
		*nleased = 0;
	if (in->message_id == NULL || in->message_id[0] == '\0')
		return rl_err_set(err, RL_ERR_USAGE, "an inbound message needs a MessageId");
	if (check_bytes_len(in->envelope_len, "an envelope", err) < 0 ||
	    check_bytes_len(in->receipt_len, "a receipt", err) < 0)
		return -1;
	if (payload_in_store(s, in->payload, in->payload_data, in->payload_len, &pl, err) < 0)
		goto out;
	snprintf(channels, sizeof(channels), "{%s%s%s}", in->deliver_inbox ? "0" : "",
		 in->deliver_inbox && in->deliver_webhook ? "," : "", in->deliver_webhook ? "1" : "");
	p_text(&p, in->message_id);
	p_text(&p, in->conversation_id);
	p_text(&p, in->from_party);
	p_text(&p, in->to_party);
	p_text(&p, in->service);
	p_text(&p, in->service_type);
	p_text(&p, in->action);
	p_text(&p, in->original_sender);
	p_text(&p, in->final_recipient);
	p_text(&p, pl.oid ? pl.oid_text : NULL);
	p_text(&p, pl.size_text);
	p_text(&p, in->payload_mime_type);
	p_text(&p, in->payload_content_id);
	p_bytes(&p, in->envelope, in->envelope_len);
	p_text(&p, in->signer_cert_pem);
	p_bytes(&p, in->receipt, in->receipt_len);
	p_text(&p, in->receipt_message_id);
	p_text(&p, channels);
	p_bytes(&p, pl.small ? pl.data : NULL, pl.len);
	p_text(&p, worker);
	p_int(&p, lease_seconds);
	r = run(s, ST_INBOUND_INSERT, NULL, &p, 0, err);
	if (r == NULL)
		goto out;
	if (PQntuples(r) == 0) {
		/* Committed first by someone else: drop our large object with the transaction. */
		PQclear(r);
		tx_rollback(s);
		found = rl_store_inbound_find_receipt(s, in->message_id, existing_receipt, err);
		if (found == 0)
			rl_err_set(err, RL_ERR_DB, "message %s conflicted with a stored one that is gone", in->message_id);
		rc = found == 1 ? 1 : -1;
		goto out;
	}
	*id = int_value(r, 0, 0);
	if (worker && parse_leased(PQgetvalue(r, 0, 1), in, *id, leased, nleased, err) < 0) {
		PQclear(r);
		goto out;
	}
	PQclear(r);
	if (s->in_tx && tx_commit(s, err) < 0) {
		for (int i = 0; nleased && i < *nleased; i++)
			rl_store_delivery_free(&leased[i]);
		if (nleased)
			*nleased = 0;
		goto out;
	}
	if (worker == NULL)
		notify(s, "relais_delivery", *id);
	rc = 0;
out:
	tx_rollback(s);
	free(pl.chunk);
	return rc;
}

int rl_store_inbound_commit(struct rl_store *s, const struct rl_store_inbound *in, int64_t *id,
			    struct rl_buf *existing_receipt, struct rl_err *err)
{
	return inbound_commit(s, in, NULL, 0, id, NULL, NULL, existing_receipt, err);
}

int rl_store_inbound_commit_leased(struct rl_store *s, const struct rl_store_inbound *in, const char *worker,
				   int lease_seconds, int64_t *id, struct rl_store_delivery *leased, int *nleased,
				   struct rl_buf *existing_receipt, struct rl_err *err)
{
	if (worker == NULL)
		return rl_err_set(err, RL_ERR_USAGE, "leased deliveries need a worker");
	return inbound_commit(s, in, worker, lease_seconds, id, leased, nleased, existing_receipt, err);
}

/* ---------------------------------------------------------------- deliveries */

void rl_store_delivery_free(struct rl_store_delivery *d)
{
	if (d == NULL)
		return;
	free(d->message_id);
	free(d->payload_mime_type);
	memset(d, 0, sizeof(*d));
}

int rl_store_delivery_claim(struct rl_store *s, const char *worker, int lease_seconds,
			    struct rl_store_delivery *d, struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	int failed = 0;

	memset(d, 0, sizeof(*d));
	p_text(&p, worker ? worker : "relais");
	p_int(&p, lease_seconds);
	r = run(s, ST_DELIVERY_CLAIM, NULL, &p, 0, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	d->id = int_value(r, 0, 0);
	d->message = int_value(r, 0, 1);
	d->channel = int_value(r, 0, 2) ? RL_DELIVERY_WEBHOOK : RL_DELIVERY_INBOX;
	d->attempts = (int)int_value(r, 0, 3);
	d->message_id = dup_value(r, 0, 4, &failed);
	d->payload_mime_type = dup_value(r, 0, 5, &failed);
	PQclear(r);
	if (failed) {
		rl_store_delivery_free(d);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return 1;
}

/* Runs a statement ending a delivery attempt; when it changed the delivery, the message's history got
 * an event: relais_state is woken. */
static int delivery_update(struct rl_store *s, int stmt, const struct params *p, int64_t message,
			   struct rl_err *err)
{
	PGresult *r = run(s, stmt, NULL, p, 0, err);
	long long changed;

	if (r == NULL)
		return -1;
	changed = int_value(r, 0, 0);
	PQclear(r);
	if (changed > 0)
		notify(s, "relais_state", message);
	return 0;
}

int rl_store_deliveries_done(struct rl_store *s, const struct rl_store_delivery *list, size_t n, struct rl_err *err)
{
	struct params p = { 0 };
	struct rl_buf ids = RL_BUF_INIT;
	PGresult *r;

	if (n == 0)
		return 0;
	rl_buf_puts(&ids, "{");
	for (size_t i = 0; i < n; i++)
		rl_buf_printf(&ids, "%s%lld", i ? "," : "", (long long)list[i].id);
	if (rl_buf_puts(&ids, "}") < 0) {
		rl_buf_free(&ids);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	p_text(&p, ids.data);
	r = run(s, ST_DELIVERY_DONE, NULL, &p, 0, err);
	rl_buf_free(&ids);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int rl_store_delivery_done(struct rl_store *s, const struct rl_store_delivery *d, struct rl_err *err)
{
	return rl_store_deliveries_done(s, d, 1, err);
}

int rl_store_delivery_failed(struct rl_store *s, const struct rl_store_delivery *d, const char *error,
			     int delay_seconds, int final, struct rl_err *err)
{
	struct params p = { 0 };

	p_int(&p, d->id);
	p_text(&p, error);
	p_int(&p, delay_seconds < 0 ? 0 : delay_seconds);
	p_bool(&p, final);
	return delivery_update(s, ST_DELIVERY_FAILED, &p, d->message, err);
}

int rl_store_delivery_note(struct rl_store *s, const struct rl_store_delivery *d, const char *problem,
			   struct rl_err *err)
{
	struct params p = { 0 };

	p_int(&p, d->id);
	p_text(&p, problem);
	return delivery_update(s, ST_DELIVERY_NOTE, &p, d->message, err);
}

/* ---------------------------------------------------------------- outbound */

/*
 * Stores a submission: ST_SUBMIT, or with code set ST_MLS_QUEUE (the MLS about received message
 * `received`). The payload goes into the row, or into a large object inside a transaction that the
 * statement then commits. Returns 1 with *id and *message_id (caller frees), 0 when an MLS about
 * `received` was queued already (nothing stored), -1 on error.
 */
static int submit(struct rl_store *s, const struct rl_store_submission *sub, int64_t received, const char *code,
		  int64_t *id, char **message_id, struct rl_err *err)
{
	struct params p = { 0 };
	struct payload_in pl;
	PGresult *r;
	int rc = -1, col = code != NULL;	/* ST_MLS_QUEUE answers whether queued already first */

	*message_id = NULL;
	if (payload_in_store(s, sub->payload, NULL, 0, &pl, err) < 0)
		goto out;
	p_text(&p, sub->message_id);
	p_text(&p, sub->conversation_id);
	p_text(&p, sub->from_party);
	p_text(&p, sub->to_party);
	p_text(&p, sub->service);
	p_text(&p, sub->service_type);
	p_text(&p, sub->action);
	p_text(&p, sub->original_sender);
	p_text(&p, sub->final_recipient);
	p_text(&p, sub->dest_url);
	p_text(&p, sub->dest_cert_pem);
	p_text(&p, pl.oid ? pl.oid_text : NULL);
	p_text(&p, pl.size_text);
	p_text(&p, sub->payload_mime_type);
	p_text(&p, sub->source);
	p_bytes(&p, pl.small ? pl.data : NULL, pl.len);
	p_bool(&p, sub->wake_on_outcome);
	if (code != NULL) {
		p_int(&p, received);
		p_text(&p, code);
	}
	r = run(s, code != NULL ? ST_MLS_QUEUE : ST_SUBMIT, NULL, &p, 0, err);
	if (r == NULL)
		goto out;
	if (code != NULL && PQntuples(r) == 0) {
		PQclear(r);
		rl_err_set(err, RL_ERR_NOT_FOUND, "no received message with row id %" PRId64, received);
		goto out;
	}
	if (code != NULL && bool_value(r, 0, 0)) {
		PQclear(r);
		rc = 0;
		goto out;
	}
	if (PQntuples(r) == 0 || PQgetisnull(r, 0, col)) {
		PQclear(r);
		rl_err_set(err, RL_EBMS_VALUE_INCONSISTENT, "a message with MessageId %s is already queued",
			   sub->message_id ? sub->message_id : "(a fresh one)");
		goto out;
	}
	*id = int_value(r, 0, col);
	*message_id = strdup(PQgetvalue(r, 0, col + 1));
	PQclear(r);
	if (*message_id == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (s->in_tx && tx_commit(s, err) < 0) {
		free(*message_id);
		*message_id = NULL;
		goto out;
	}
	notify(s, "relais_outbound", *id);
	rc = 1;
out:
	tx_rollback(s);
	free(pl.chunk);
	return rc;
}

int rl_store_outbound_submit(struct rl_store *s, const struct rl_store_submission *sub, int64_t *id,
			     char **message_id, struct rl_err *err)
{
	return submit(s, sub, 0, NULL, id, message_id, err) < 0 ? -1 : 0;
}

/* The message a claim returned in the first row of r (CLAIM_CTE's columns, binary): 1, or -1. */
static int claimed_message(const PGresult *r, struct rl_store_message *m, struct rl_err *err)
{
	if (fill_message(r, 0, m, err) < 0)
		return -1;
	if (bool_value(r, 0, MESSAGE_COLUMN_COUNT + 1)) {
		/* The payload came with the row. */
		m->payload_here = 1;
		if (!PQgetisnull(r, 0, MESSAGE_COLUMN_COUNT)) {
			m->payload_len = (size_t)PQgetlength(r, 0, MESSAGE_COLUMN_COUNT);
			m->payload = malloc(m->payload_len ? m->payload_len : 1);
			if (m->payload == NULL) {
				rl_store_message_free(m);
				return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			}
			memcpy(m->payload, PQgetvalue(r, 0, MESSAGE_COLUMN_COUNT), m->payload_len);
		}
	}
	return 1;
}

int rl_store_outbound_claim(struct rl_store *s, const char *worker, int lease_seconds,
			    struct rl_store_message *m, struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	int rc;

	memset(m, 0, sizeof(*m));
	p_text(&p, worker ? worker : "relais");
	p_int(&p, lease_seconds);
	/* binary format: the payload's bytes as they are, not hex text to unescape */
	r = run(s, ST_OUTBOUND_CLAIM, NULL, &p, 1, err);
	if (r == NULL)
		return -1;
	rc = PQntuples(r) == 0 ? 0 : claimed_message(r, m, err);
	PQclear(r);
	return rc;
}

/* Runs an UPDATE of one outbound row; a missing row is RL_ERR_NOT_FOUND. A state change wakes relais_state
 * when the submitter asked for it (the statement's second column). */
static int update_outbound(struct rl_store *s, int stmt, const struct params *p, int64_t id, int state_change,
			   struct rl_err *err)
{
	PGresult *r = run(s, stmt, NULL, p, 0, err);
	int found, wake;

	if (r == NULL)
		return -1;
	found = PQntuples(r) > 0 || atoi(PQcmdTuples(r)) > 0;
	wake = state_change && PQntuples(r) > 0 && PQnfields(r) > 1 && strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	PQclear(r);
	if (!found)
		return rl_err_set(err, RL_ERR_NOT_FOUND, "no outbound message with id %" PRId64, id);
	if (wake)
		notify(s, "relais_state", id);
	return 0;
}

/* DELIVERED_CTES' parameters $1..$5 into p. */
static int delivered_params(struct params *p, int64_t id, const char *receipt, size_t receipt_len,
			    const char *receipt_message_id, const char *sent_envelope, size_t sent_envelope_len,
			    const char *document_id, struct rl_err *err)
{
	if (check_bytes_len(receipt_len, "a receipt", err) < 0 ||
	    check_bytes_len(sent_envelope_len, "an envelope", err) < 0)
		return -1;
	p_int(p, id);
	p_bytes(p, receipt, receipt_len);
	p_text(p, receipt_message_id);
	p_bytes(p, sent_envelope, sent_envelope_len);
	p_text(p, document_id);
	return 0;
}

int rl_store_outbound_delivered(struct rl_store *s, int64_t id, const char *receipt, size_t receipt_len,
				const char *receipt_message_id, const char *sent_envelope,
				size_t sent_envelope_len, struct rl_err *err)
{
	struct params p = { 0 };

	if (delivered_params(&p, id, receipt, receipt_len, receipt_message_id, sent_envelope, sent_envelope_len, NULL,
			     err) < 0)
		return -1;
	return update_outbound(s, ST_OUTBOUND_DELIVERED, &p, id, 1, err);
}

int rl_store_outbound_delivered_claim(struct rl_store *s, int64_t id, const char *receipt, size_t receipt_len,
				      const char *receipt_message_id, const char *sent_envelope,
				      size_t sent_envelope_len, const char *document_id, const char *worker,
				      int lease_seconds, struct rl_store_message *next, struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	int rc = 0;

	memset(next, 0, sizeof(*next));
	if (delivered_params(&p, id, receipt, receipt_len, receipt_message_id, sent_envelope, sent_envelope_len,
			     document_id, err) < 0)
		return -1;
	p_text(&p, worker);
	p_int(&p, lease_seconds);
	r = run(s, ST_OUTBOUND_DELIVERED_CLAIM, NULL, &p, 1, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, CLAIM_COLUMN_COUNT)) {
		PQclear(r);
		return rl_err_set(err, RL_ERR_NOT_FOUND, "no outbound message with id %" PRId64, id);
	}
	if (bool_value(r, 0, CLAIM_COLUMN_COUNT + 1))
		notify(s, "relais_state", id);
	if (!PQgetisnull(r, 0, 0)) {
		rc = claimed_message(r, next, err);
		if (rc == 1 && bool_value(r, 0, MESSAGE_COLUMN_COUNT + 2))
			notify(s, "relais_state", next->id);
	}
	PQclear(r);
	return rc;
}

int rl_store_outbound_failed(struct rl_store *s, int64_t id, const char *error, const char *signal,
			     size_t signal_len, int delay_seconds, int final, int transport_failure,
			     struct rl_err *err)
{
	struct params p = { 0 };

	if (check_bytes_len(signal_len, "an error signal", err) < 0)
		return -1;
	p_int(&p, id);
	p_text(&p, error);
	p_bytes(&p, signal, signal_len);
	p_int(&p, delay_seconds < 0 ? 0 : delay_seconds);
	p_bool(&p, final);
	p_bool(&p, transport_failure);
	p_int(&p, s->circuit_threshold);
	p_int(&p, s->circuit_open_seconds);
	return update_outbound(s, ST_OUTBOUND_FAILED, &p, id, 1, err);
}

int rl_store_outbound_set_destination(struct rl_store *s, int64_t id, const char *dest_url,
				      const char *dest_cert_pem, struct rl_err *err)
{
	struct params p = { 0 };

	p_int(&p, id);
	p_text(&p, dest_url);
	p_text(&p, dest_cert_pem);
	return update_outbound(s, ST_SET_DESTINATION, &p, id, 0, err);
}

int rl_store_circuit_configure(struct rl_store *s, int threshold, int open_seconds, struct rl_err *err)
{
	if (threshold < 1 || open_seconds < 0)
		return rl_err_set(err, RL_ERR_USAGE, "circuit breaker: threshold must be 1 or more and the open "
				  "time 0 or more seconds (got %d and %d)", threshold, open_seconds);
	s->circuit_threshold = threshold;
	s->circuit_open_seconds = open_seconds;
	return 0;
}

/* ---------------------------------------------------------------- operator actions */

/* The message an operator names, for error messages: the row id, or the MessageId. */
static const char *named(int64_t id, const char *message_id, char *buf, size_t size)
{
	if (id > 0) {
		snprintf(buf, size, "%" PRId64, id);
		return buf;
	}
	return message_id;
}

/* Runs ST_OUTBOUND_RETRY or ST_INBOUND_REDELIVER. Returns 1 when changed (*row set), 0 when refused
 * (*row, *direction and state filled for the message that is there), -1 with err filled (an unknown
 * message is RL_ERR_NOT_FOUND). */
static int operator_action(struct rl_store *s, int stmt, int64_t id, const char *message_id, const char *who,
			   const char *channels, int64_t *row, int *direction, char *state, size_t state_size,
			   long long *pending, struct rl_err *err)
{
	struct params p = { 0 };
	char name[32];
	PGresult *r;
	int changed;

	if (id <= 0 && (message_id == NULL || message_id[0] == '\0'))
		return rl_err_set(err, RL_ERR_USAGE, "a message is named by its row id or its MessageId");
	p_int(&p, id > 0 ? id : 0);
	p_text(&p, id > 0 ? NULL : message_id);
	p_text(&p, who && who[0] ? who : "unknown");
	if (channels)
		p_text(&p, channels);
	r = run(s, stmt, NULL, &p, 0, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return rl_err_set(err, RL_ERR_NOT_FOUND, "no %s message %s", stmt == ST_OUTBOUND_RETRY ? "outbound" :
				  "inbound", named(id, message_id, name, sizeof(name)));
	}
	*row = int_value(r, 0, 0);
	*direction = (int)int_value(r, 0, 1);
	snprintf(state, state_size, "%s", PQgetvalue(r, 0, 2));
	changed = bool_value(r, 0, 3);
	if (pending)
		*pending = PQnfields(r) > 4 ? int_value(r, 0, 4) : 0;
	PQclear(r);
	return changed;
}

int rl_store_outbound_retry(struct rl_store *s, int64_t id, const char *message_id, const char *who,
			    int64_t *row, struct rl_err *err)
{
	char state[32], number[32];
	const char *name;
	int64_t found = 0;
	int direction = 0;
	int rc = operator_action(s, ST_OUTBOUND_RETRY, id, message_id, who, NULL, &found, &direction, state,
				 sizeof(state), NULL, err);

	if (rc < 0)
		return -1;
	if (row)
		*row = found;
	name = named(id, message_id, number, sizeof(number));
	if (rc == 1) {
		notify(s, "relais_outbound", found);
		return 0;
	}
	if (direction != RL_DIR_OUT)
		return rl_err_set(err, RL_ERR_STATE, "message %s is inbound: only outbound messages are sent again",
				  name);
	if (strcmp(state, "delivered") == 0)
		return rl_err_set(err, RL_ERR_STATE, "message %s was delivered: it is never sent again", name);
	return rl_err_set(err, RL_ERR_STATE, "message %s is %s: it is being sent already", name, state);
}

int rl_store_inbound_redeliver(struct rl_store *s, int64_t id, const char *message_id, const char *who,
			       int deliver_inbox, int deliver_webhook, int64_t *row, struct rl_err *err)
{
	char state[32], number[32], channels[8];
	const char *name;
	int64_t found = 0;
	long long pending = 0;
	int direction = 0, rc;

	if (!deliver_inbox && !deliver_webhook)
		return rl_err_set(err, RL_ERR_CONFIG, "no backend delivery is configured (delivery.inbox, "
				  "delivery.webhook): nothing to redeliver to");
	snprintf(channels, sizeof(channels), "{%s%s%s}", deliver_inbox ? "0" : "",
		 deliver_inbox && deliver_webhook ? "," : "", deliver_webhook ? "1" : "");
	rc = operator_action(s, ST_INBOUND_REDELIVER, id, message_id, who, channels, &found, &direction, state,
			     sizeof(state), &pending, err);
	if (rc < 0)
		return -1;
	if (row)
		*row = found;
	name = named(id, message_id, number, sizeof(number));
	if (rc == 1) {
		notify(s, "relais_delivery", found);
		return 0;
	}
	if (direction != RL_DIR_IN)
		return rl_err_set(err, RL_ERR_STATE, "message %s is outbound: only inbound messages are redelivered",
				  name);
	return rl_err_set(err, RL_ERR_STATE, "message %s is %s with %lld backend deliveries pending: it is being "
			  "delivered already", name, state, pending);
}

/* ---------------------------------------------------------------- retention */

/* Adds the counts answered by ST_PURGE_BATCH or ST_PURGE_COUNT to *out; returns the messages counted. */
static long long add_purge_counts(const PGresult *r, struct rl_store_purge_counts *out)
{
	long long inbound = int_value(r, 0, 0), outbound = int_value(r, 0, 1);

	out->inbound += inbound;
	out->outbound += outbound;
	out->payload_bytes += int_value(r, 0, 2);
	out->envelope_bytes += int_value(r, 0, 3);
	out->receipt_bytes += int_value(r, 0, 4);
	return inbound + outbound;
}

int rl_store_purge_batch(struct rl_store *s, time_t older_than, struct rl_store_purge_counts *out,
			 struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	long long removed;

	p_int(&p, (long long)older_than);
	p_int(&p, RL_STORE_PURGE_BATCH);
	r = run(s, ST_PURGE_BATCH, NULL, &p, 0, err);
	if (r == NULL)
		return -1;
	removed = add_purge_counts(r, out);
	PQclear(r);
	return (int)removed;
}

int rl_store_purge(struct rl_store *s, time_t older_than, int dry_run, struct rl_store_purge_counts *out,
		   struct rl_err *err)
{
	int removed;

	memset(out, 0, sizeof(*out));
	if (dry_run) {
		struct params p = { 0 };
		PGresult *r;

		p_int(&p, (long long)older_than);
		r = run(s, ST_PURGE_COUNT, NULL, &p, 0, err);
		if (r == NULL)
			return -1;
		add_purge_counts(r, out);
		PQclear(r);
		return 0;
	}
	do {
		removed = rl_store_purge_batch(s, older_than, out, err);
		if (removed < 0)
			return -1;
	} while (removed == RL_STORE_PURGE_BATCH);
	return 0;
}

/* ---------------------------------------------------------------- queries */

int rl_store_message_get(struct rl_store *s, int64_t id, const char *message_id, enum rl_direction dir,
			 struct rl_store_message *m, struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	int rc;

	memset(m, 0, sizeof(*m));
	if (id > 0) {
		p_int(&p, id);
		r = run(s, ST_GET_BY_ID, NULL, &p, 0, err);
	} else {
		if (message_id == NULL)
			return rl_err_set(err, RL_ERR_USAGE, "a message is looked up by id or MessageId");
		p_text(&p, message_id);
		p_int(&p, dir);
		r = run(s, ST_GET_BY_MESSAGE_ID, NULL, &p, 0, err);
	}
	if (r == NULL)
		return -1;
	rc = PQntuples(r) == 0 ? 0 : fill_message(r, 0, m, err) < 0 ? -1 : 1;
	PQclear(r);
	return rc;
}

int rl_store_message_history(struct rl_store *s, int64_t id, struct rl_buf *out, struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	int failed;

	p_int(&p, id);
	r = run(s, ST_HISTORY, NULL, &p, 0, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return rl_err_set(err, RL_ERR_NOT_FOUND, "no message with id %" PRId64, id);
	}
	failed = rl_buf_puts(out, PQgetvalue(r, 0, 0));
	PQclear(r);
	if (failed < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

/* Gives fn each row of r (MESSAGE_COLUMNS first) until it returns nonzero, then clears r. Returns what fn
 * returned last (0: every row was given), or -1; *last_id: the id of the last row given, *rows: how many
 * rows r had (either may be NULL). */
static int each_message(PGresult *r, int (*fn)(void *ctx, const struct rl_store_message *m), void *ctx,
			int64_t *last_id, int *rows, struct rl_err *err)
{
	int n = PQntuples(r), stop = 0;

	if (rows)
		*rows = n;
	for (int i = 0; i < n && !stop; i++) {
		struct rl_store_message m;

		if (fill_message(r, i, &m, err) < 0) {
			PQclear(r);
			return -1;
		}
		if (last_id)
			*last_id = m.id;
		stop = fn(ctx, &m);
		rl_store_message_free(&m);
	}
	PQclear(r);
	return stop;
}

int rl_store_message_list(struct rl_store *s, const char *state, int dir, int limit,
			  int (*fn)(void *ctx, const struct rl_store_message *m), void *ctx,
			  struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;

	p_text(&p, state);
	p_int(&p, dir < 0 ? -1 : dir);
	if (limit > 0)
		p_int(&p, limit);
	else
		p_text(&p, NULL);
	r = run(s, ST_LIST, NULL, &p, 0, err);
	if (r == NULL)
		return -1;
	return each_message(r, fn, ctx, NULL, NULL, err) < 0 ? -1 : 0;
}

/* Keyset pages by id over the messages exchanged in [from, to): each page is read and released before
 * the next is asked for, so that fn may use the store (read a payload) between rows. An outbound message
 * was exchanged when its receipt came (the first "delivered" line of its history), an inbound one when
 * it was committed and answered (created_at); an outbound message never delivered counts by created_at. */
#define RANGE_PAGE 500

int rl_store_message_range(struct rl_store *s, time_t from, time_t to,
			   int (*fn)(void *ctx, const struct rl_store_message *m), void *ctx, struct rl_err *err)
{
	static const char sql[] =
		"SELECT " MESSAGE_COLUMNS " FROM messages m, LATERAL (SELECT coalesce(CASE WHEN m.direction = 1 THEN"
		"  (regexp_match(m.history, E'(?:^|\\n)([^\\t\\n]+)\\tdelivered\\t'))[1]::timestamptz END,"
		"  m.created_at) AS at) x"
		" WHERE m.id > $1::bigint AND x.at >= to_timestamp($2::bigint)"
		" AND x.at < to_timestamp($3::bigint) ORDER BY m.id LIMIT $4::bigint";
	int64_t after = 0;

	for (;;) {
		struct params p = { 0 };
		PGresult *r;
		int rows, rc;

		p_int(&p, after);
		p_int(&p, (long long)from);
		p_int(&p, (long long)to);
		p_int(&p, RANGE_PAGE);
		r = run(s, -1, sql, &p, 0, err);
		if (r == NULL)
			return -1;
		if ((rc = each_message(r, fn, ctx, &after, &rows, err)) != 0)
			return rc;
		if (rows < RANGE_PAGE)
			return 0;
	}
}

/* One bytea column of a message by id: 1 and out filled, 0 when there is none. */
static int message_bytes(struct rl_store *s, int stmt, int64_t id, struct rl_buf *out, struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	int found;

	p_int(&p, id);
	r = run(s, stmt, NULL, &p, 1, err);
	if (r == NULL)
		return -1;
	found = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0);
	if (found && copy_bytes(r, 0, 0, out, err) < 0)
		found = -1;
	PQclear(r);
	return found;
}

int rl_store_message_receipt(struct rl_store *s, int64_t id, struct rl_buf *out, struct rl_err *err)
{
	return message_bytes(s, ST_RECEIPT, id, out, err);
}

int rl_store_message_envelope(struct rl_store *s, int64_t id, struct rl_buf *out, struct rl_err *err)
{
	return message_bytes(s, ST_ENVELOPE, id, out, err);
}

int rl_store_lease_owners(struct rl_store *s, struct rl_buf *out, struct rl_err *err)
{
	PGresult *r = run(s, -1, "SELECT lease_owner FROM messages WHERE state = 'sending' AND lease_owner IS NOT NULL"
			  " UNION SELECT lease_owner FROM deliveries WHERE state = 'pending' AND lease_owner IS NOT NULL",
			  NULL, 0, err);

	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		if (rl_buf_printf(out, "%s\n", PQgetvalue(r, i, 0)) < 0) {
			PQclear(r);
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		}
	PQclear(r);
	return 0;
}

int rl_store_leases_release(struct rl_store *s, const char *owner, struct rl_err *err)
{
	struct params p = { 0 };

	p_text(&p, owner);
	if (run_command(s, -1, "UPDATE messages SET next_attempt_at = now(), lease_until = now()"
			" WHERE lease_owner = $1 AND state = 'sending'", &p, err) < 0)
		return -1;
	return run_command(s, -1, "UPDATE deliveries SET next_attempt_at = now(), lease_until = now()"
			   " WHERE lease_owner = $1 AND state = 'pending'", &p, err);
}

int rl_store_outbound_attempt_record(struct rl_store *s, int64_t id, int attempt, const char *envelope,
				     size_t len, struct rl_err *err)
{
	struct params p = { 0 };

	if (check_bytes_len(len, "an envelope", err) < 0)
		return -1;
	p_int(&p, id);
	p_int(&p, attempt);
	p_bytes(&p, envelope, len);
	if (tx_begin(s, err) < 0)
		return -1;
	if (run_command(s, -1, "SET LOCAL synchronous_commit = off", NULL, err) < 0 ||
	    run_command(s, -1, "INSERT INTO sent_attempts (message, attempt, envelope)"
			" SELECT id, attempts_before + $2, $3 FROM messages WHERE id = $1"
			" ON CONFLICT (message, attempt) DO UPDATE SET envelope = EXCLUDED.envelope, at = now()",
			&p, err) < 0) {
		tx_rollback(s);
		return -1;
	}
	return tx_commit(s, err);
}

int rl_store_outbound_attempts(struct rl_store *s, int64_t id,
			       int (*fn)(void *ctx, int attempt, const char *envelope, size_t len), void *ctx,
			       struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	int rc = 0;

	p_int(&p, id);
	r = run(s, -1, "SELECT a.attempt - m.attempts_before, a.envelope FROM sent_attempts a"
		" JOIN messages m ON m.id = a.message WHERE a.message = $1 ORDER BY a.attempt DESC", &p, 1,
		err);
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		uint32_t attempt_be;

		memcpy(&attempt_be, PQgetvalue(r, i, 0), sizeof(attempt_be));
		rc = fn(ctx, (int)ntohl(attempt_be), PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
	}
	PQclear(r);
	return rc;
}

void rl_store_stats_free(struct rl_store_stats *st)
{
	if (st == NULL)
		return;
	free(st->last_error);
	free(st->last_error_message_id);
	memset(st, 0, sizeof(*st));
}

int rl_store_stats(struct rl_store *s, struct rl_store_stats *st, struct rl_err *err)
{
	PGresult *r = run(s, ST_STATS, NULL, NULL, 0, err);
	int failed = 0;

	memset(st, 0, sizeof(*st));
	if (r == NULL)
		return -1;
	st->out_queued = int_value(r, 0, 0);
	st->out_sending = int_value(r, 0, 1);
	st->out_retry = int_value(r, 0, 2);
	st->out_delivered = int_value(r, 0, 3);
	st->out_failed = int_value(r, 0, 4);
	st->in_received = int_value(r, 0, 5);
	st->in_delivered = int_value(r, 0, 6);
	st->in_failed = int_value(r, 0, 7);
	st->deliveries_pending = int_value(r, 0, 8);
	st->circuits_open = int_value(r, 0, 9);
	st->last_error = dup_value(r, 0, 10, &failed);
	st->last_error_message_id = dup_value(r, 0, 11, &failed);
	st->last_error_at = (time_t)int_value(r, 0, 12);
	PQclear(r);
	if (failed) {
		rl_store_stats_free(st);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* ---------------------------------------------------------------- wake-ups */

int rl_store_listen(struct rl_store *s, const char *channel, struct rl_err *err)
{
	char sql[256], *ident, *copy, **grown;

	for (size_t i = 0; i < s->nchannels; i++)
		if (strcmp(s->channels[i], channel) == 0)
			return 0;
	if (strlen(channel) > 63)
		return rl_err_set(err, RL_ERR_USAGE, "channel name '%s' is too long", channel);
	ident = PQescapeIdentifier(s->conn, channel, strlen(channel));
	if (ident == NULL)
		return db_error(err, "LISTEN", PQerrorMessage(s->conn));
	snprintf(sql, sizeof(sql), "LISTEN %s", ident);
	PQfreemem(ident);
	copy = strdup(channel);
	grown = realloc(s->channels, (s->nchannels + 1) * sizeof(*s->channels));
	if (copy == NULL || grown == NULL) {
		free(copy);
		if (grown != NULL)
			s->channels = grown;
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	s->channels = grown;
	/* Recorded first: a reconnect inside run() then listens to it too. */
	s->channels[s->nchannels++] = copy;
	if (run_command(s, -1, sql, NULL, err) < 0) {
		free(s->channels[--s->nchannels]);
		return -1;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drains every queued notification; returns how many there were. */
static int drain_notifications(struct rl_store *s)
{
	PGnotify *n;
	int count = 0;

	while ((n = PQnotifies(s->conn)) != NULL) {
		PQfreemem(n);
		count++;
	}
	return count;
}

int rl_store_wait(struct rl_store *s, int timeout_ms, struct rl_err *err)
{
	long long deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);

	for (;;) {
		struct pollfd pfd;
		long long left;
		int rc;

		if (PQstatus(s->conn) != CONNECTION_OK) {
			/* Notifications sent while we were away are lost: report a wake-up so the caller looks. */
			if (reconnect(s, err) < 0)
				return -1;
			return 1;
		}
		if (!PQconsumeInput(s->conn)) {
			if (PQstatus(s->conn) != CONNECTION_OK)
				continue;
			return db_error(err, "waiting for notifications", PQerrorMessage(s->conn));
		}
		{
			int n = drain_notifications(s);

			if (n > 0)
				return n;
		}
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		pfd.fd = PQsocket(s->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			continue;
		rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc < 0 && errno != EINTR)
			return rl_err_set(err, RL_ERR_IO, "waiting for notifications: %s", strerror(errno));
	}
}

/* ---------------------------------------------------------------- Message Level Status */

int rl_store_mls_queue(struct rl_store *s, int64_t message, const char *code,
		       const struct rl_store_submission *mls, int64_t *id, char **mls_message_id, struct rl_err *err)
{
	return submit(s, mls, message, code, id, mls_message_id, err);
}

int rl_store_mls_received(struct rl_store *s, const char *document_id, const char *code, const char *detail,
			  struct rl_err *err)
{
	struct params p = { 0 };
	PGresult *r;
	int n;

	p_text(&p, document_id);
	p_text(&p, code);
	p_text(&p, detail);
	r = run(s, -1, "UPDATE messages SET mls_code = $2::text, updated_at = now(),"
		       HISTORY_ADD("state", "'MLS ' || $2::text || ' received: ' || $3::text")
		       " WHERE direction = 1 AND document_id = $1::text", &p, 0, err);
	if (r == NULL)
		return -1;
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	return n > 0;
}

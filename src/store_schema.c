/*
 * store_schema.c - the database schema as an ordered list of migrations.
 *
 * Entry N (counting from 1) takes the database from schema version N-1 to N. An applied entry is never
 * edited: a change to the schema is a new entry appended at the end. rl_store_migrate() runs each missing
 * entry in its own transaction and records it in schema_version.
 */
#include "config.h"
#include <stddef.h>
#include "store_schema.h"

static const char *const migrations[] = {
	/* 1: messages, their state history, backend deliveries, circuit breakers. */
	"CREATE TABLE messages ("
	"  id bigserial PRIMARY KEY,"
	"  direction smallint NOT NULL CHECK (direction IN (0, 1)),"	/* 0 inbound, 1 outbound */
	"  message_id text NOT NULL,"
	"  state text NOT NULL,"
	"  conversation_id text,"
	"  from_party text,"
	"  to_party text,"
	"  service text,"
	"  service_type text,"
	"  action text,"
	"  original_sender text,"
	"  final_recipient text,"
	"  dest_url text,"
	"  dest_cert_pem text,"
	"  payload_oid oid,"
	"  payload_size bigint NOT NULL DEFAULT 0,"
	"  payload_mime_type text,"
	"  payload_content_id text,"
	"  envelope bytea,"			/* inbound: as received; outbound: as sent */
	"  receipt bytea,"			/* inbound: as sent; outbound: as received */
	"  receipt_message_id text,"
	"  signal bytea,"			/* an error signal as received */
	"  signer_cert_pem text,"
	"  deliveries_pending integer NOT NULL DEFAULT 0,"
	"  attempts integer NOT NULL DEFAULT 0,"
	"  next_attempt_at timestamptz NOT NULL DEFAULT now(),"
	"  lease_owner text,"
	"  lease_until timestamptz,"
	"  last_error text,"
	"  last_error_at timestamptz,"
	"  source text,"
	"  created_at timestamptz NOT NULL DEFAULT now(),"
	"  updated_at timestamptz NOT NULL DEFAULT now(),"
	"  UNIQUE (direction, message_id)"
	");"
	/* The outbound claim: due rows in order (a claimed row's next_attempt_at is its lease end). */
	"CREATE INDEX messages_outbound_due ON messages (next_attempt_at)"
	"  WHERE direction = 1 AND state IN ('queued', 'retry', 'sending');"
	"CREATE INDEX messages_state ON messages (direction, state);"
	"CREATE INDEX messages_last_error ON messages (last_error_at) WHERE last_error IS NOT NULL;"
	""
	"CREATE TABLE message_events ("
	"  id bigserial PRIMARY KEY,"
	"  message bigint NOT NULL REFERENCES messages (id),"
	"  at timestamptz NOT NULL DEFAULT clock_timestamp(),"
	"  state text NOT NULL,"
	"  detail text"
	");"
	"CREATE INDEX message_events_message ON message_events (message, id);"
	""
	"CREATE TABLE deliveries ("
	"  id bigserial PRIMARY KEY,"
	"  message bigint NOT NULL REFERENCES messages (id),"
	"  channel smallint NOT NULL,"		/* 0 inbox, 1 webhook */
	"  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),"
	"  attempts integer NOT NULL DEFAULT 0,"
	"  next_attempt_at timestamptz NOT NULL DEFAULT now(),"
	"  lease_owner text,"
	"  lease_until timestamptz,"
	"  last_error text,"
	"  created_at timestamptz NOT NULL DEFAULT now(),"
	"  updated_at timestamptz NOT NULL DEFAULT now(),"
	"  UNIQUE (message, channel)"
	");"
	"CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';"
	""
	"CREATE TABLE circuits ("
	"  dest_url text PRIMARY KEY,"
	"  consecutive_failures integer NOT NULL DEFAULT 0,"
	"  open_until timestamptz"
	");",
	/* 2: the participants this access point publishes in its SMP (relais participant, relais smp). */
	"CREATE TABLE smp_participants ("
	"  participant text NOT NULL,"		/* iso6523-actorid-upis::0088:..., canonical (lower case) */
	"  doctype text NOT NULL,"		/* busdox-docid-qns::..., case kept */
	"  process text NOT NULL,"		/* cenbii-procid-ubl::... */
	"  created_at timestamptz NOT NULL DEFAULT now(),"
	"  PRIMARY KEY (participant, doctype)"
	");",
	/* 3: discovery results shared by the instances: found endpoints and "not found", until expires_at. */
	"CREATE TABLE smp_cache ("
	"  key text PRIMARY KEY,"		/* participant, doctype, process */
	"  found boolean NOT NULL,"
	"  endpoint_url text,"
	"  transport_profile text,"
	"  cert_pem text,"
	"  smp_url text,"
	"  process text,"
	"  activation timestamptz,"
	"  expiration timestamptz,"
	"  error text,"				/* the not-found message */
	"  expires_at timestamptz NOT NULL"
	");"
	"CREATE INDEX smp_cache_expires ON smp_cache (expires_at);",
	/* 4: the signed envelope of every sending attempt, so that a receipt for an earlier attempt (the
	 * receiver's duplicate detection answers a resend with its first receipt) can still be verified. */
	"CREATE TABLE sent_attempts ("
	"  message bigint NOT NULL REFERENCES messages (id),"
	"  attempt integer NOT NULL,"
	"  envelope bytea NOT NULL,"
	"  at timestamptz NOT NULL DEFAULT now(),"
	"  PRIMARY KEY (message, attempt)"
	");",
	/* 5: envelopes, receipts and signals are XML of a few KiB written with every message: compressed
	 * with lz4 rather than pglz, which costs several times more CPU (where the server has lz4). */
	"DO $$ BEGIN"
	"  ALTER TABLE messages ALTER COLUMN envelope SET COMPRESSION lz4,"
	"   ALTER COLUMN receipt SET COMPRESSION lz4, ALTER COLUMN signal SET COMPRESSION lz4,"
	"   ALTER COLUMN signer_cert_pem SET COMPRESSION lz4, ALTER COLUMN dest_cert_pem SET COMPRESSION lz4;"
	"  ALTER TABLE sent_attempts ALTER COLUMN envelope SET COMPRESSION lz4;"
	" EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;"
	" END $$;",
	/* 6: payloads that fit one chunk (64 KiB) kept in the row, written and read with it in one round
	 * trip, instead of a large object; and the wake-up asked for by a submitter that waits for the
	 * outcome (relais send), so that no other state change NOTIFYs. */
	"ALTER TABLE messages ADD COLUMN payload bytea,"
	"  ADD COLUMN wake_on_outcome boolean NOT NULL DEFAULT false;"
	"DO $$ BEGIN"
	"  ALTER TABLE messages ALTER COLUMN payload SET COMPRESSION lz4;"
	" EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;"
	" END $$;",
	/* 7: messages and deliveries are queues as much as archives: every message leaves dead row versions
	 * (claimed, delivered) that the claims step over until a vacuum removes them. They are vacuumed after
	 * 1% of their rows changed (PostgreSQL's default waits for 20%, which grows with the archive). */
	"ALTER TABLE messages SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 500,"
	"  toast.autovacuum_vacuum_scale_factor = 0.01, toast.autovacuum_vacuum_threshold = 500);"
	"ALTER TABLE deliveries SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 500);",
	/* 8: an operator may queue a failed outbound message again (rl_store_outbound_retry): its attempt
	 * counter starts again from 0, and the attempts made before are counted here, so that the signed
	 * envelopes of every attempt stay in sent_attempts under distinct numbers. */
	"ALTER TABLE messages ADD COLUMN attempts_before integer NOT NULL DEFAULT 0;",
	/* 9: a message's history is written only by the statements that change the message, in the same
	 * statement, and read by message. The foreign key checked each of the five events of a message with a
	 * query and a row lock of its own: about a twentieth of the database server's CPU per message, for
	 * nothing those statements do not already guarantee. */
	"ALTER TABLE message_events DROP CONSTRAINT IF EXISTS message_events_message_fkey;",
	/* 10: the Message Level Status. An outbound message keeps its payload's SBDH InstanceIdentifier
	 * (written with the delivered record), which an MLS that comes back refers to; mls_code is the
	 * latest status received about it (AP, AB, RE). */
	"ALTER TABLE messages ADD COLUMN document_id text, ADD COLUMN mls_code text;"
	"CREATE INDEX messages_document_id ON messages (document_id) WHERE direction = 1 AND document_id IS NOT NULL;",
	/* 11: a message's history moves into its row: one line per event ("when<TAB>state<TAB>detail"),
	 * appended by the statement that changes the message. A row of its own per event cost an insert,
	 * a sequence number and two index entries five times per message, about a twelfth of the database
	 * server's CPU. message_events stays, as a view of the lines. The two CHECK constraints go as well:
	 * the server parsed them again at each insert and update of their tables (a thirtieth of its CPU),
	 * for values that only relais writes. */
	"ALTER TABLE messages ADD COLUMN history text NOT NULL DEFAULT '';"
	"UPDATE messages m SET history = h.lines FROM (SELECT message, string_agg("
	"  to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') || E'\\t' || state || E'\\t'"
	"  || translate(coalesce(detail, ''), E'\\t\\n\\r', '   ') || E'\\n', '' ORDER BY id) AS lines"
	"  FROM message_events GROUP BY message) h WHERE m.id = h.message;"
	"DROP TABLE message_events;"
	"CREATE VIEW message_events AS SELECT m.id AS message, e.n AS seq, split_part(e.line, E'\\t', 1) AS at,"
	"  split_part(e.line, E'\\t', 2) AS state, split_part(e.line, E'\\t', 3) AS detail"
	" FROM messages m, regexp_split_to_table(rtrim(m.history, E'\\n'), E'\\n') WITH ORDINALITY AS e (line, n)"
	" WHERE m.history <> '';"
	"ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_direction_check;"
	"ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_state_check;",
	/* 12: no index leads with the direction. Led by it, the state index and the MessageId key were ways
	 * to find a message by "id = $1 AND direction = 1" that the planner took while the statistics said
	 * the table was small: a generic plan then read every outbound row for each delivered record. Both
	 * serve their queries (counts by state, a MessageId in one direction, ON CONFLICT) as well the other
	 * way round. */
	"DROP INDEX messages_state;"
	"CREATE INDEX messages_state ON messages (state, direction);"
	"ALTER TABLE messages DROP CONSTRAINT messages_direction_message_id_key,"
	"  ADD CONSTRAINT messages_message_id_direction_key UNIQUE (message_id, direction);",
	/* 13: the retention purge finds the finished messages last changed before its cutoff, oldest first,
	 * through an index instead of reading the whole table for each batch of 500 (and for each dry run).
	 * Partial: only rows in a final state have an entry, so a message costs one index insertion, when
	 * it is delivered or fails; queued, sending, retried and received rows never do. The price beyond
	 * that: an update that changes updated_at and no other indexed column (the destination found by
	 * discovery, one of two backend deliveries done, an MLS noted) can no longer be a heap-only update
	 * and writes an entry in each index whose condition the row meets. Every other update of the hot
	 * path changes the state or another indexed column already. An index of every row (created_at, or
	 * updated_at without the condition) would cost every message an entry at each of its updates. Built
	 * inside the migration's transaction: writes to messages wait while it reads the table once. */
	"CREATE INDEX messages_finished ON messages (updated_at) WHERE state IN ('delivered', 'failed');",
};

int rl_store_schema_count(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *rl_store_schema_migration(int version)
{
	if (version < 1 || version > rl_store_schema_count())
		return NULL;
	return migrations[version - 1];
}

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
	/* Every state change is an event; waiting clients are woken by it. */
	"CREATE FUNCTION relais_notify_state() RETURNS trigger LANGUAGE plpgsql AS $$"
	"BEGIN PERFORM pg_notify('relais_state', NEW.message::text); RETURN NULL; END $$;"
	"CREATE TRIGGER message_events_notify AFTER INSERT ON message_events"
	"  FOR EACH ROW EXECUTE FUNCTION relais_notify_state();"
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

#!/bin/sh
# retention.sh - finished messages removed after their retention period, with two access points over HTTPS
# on loopback and a private PostgreSQL: A sends four invoices to B (one with a payload large enough for a
# large object); two are made three days old on both sides, with a message still waiting for a retry at A
# made as old. `relais db purge --older-than 1d --dry-run` counts the two old finished ones on each side and
# removes nothing; the purge removes them with their history, deliveries, attempts and large object, and
# leaves the recent ones and the unfinished one. Then A, restarted with retention.keep = 1d, removes a
# message aged meanwhile by itself soon after start, logs it, counts it in /metrics, and stops promptly.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
ap_pair_config
purge_a() { "$RELAIS" db purge -c "$TMP/A/relais.conf" "$@"; }
purge_b() { "$RELAIS" db purge -c "$TMP/B/relais.conf" "$@"; }
msg_a() { "$RELAIS" message -c "$TMP/A/relais.conf" "$@"; }
msg_b() { "$RELAIS" message -c "$TMP/B/relais.conf" "$@"; }
# rows DBURL MID: the rows of the message and of everything that refers to it.
rows() {
	sql "$1" "SELECT (SELECT count(*) FROM messages WHERE message_id = '$2')
		+ (SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message WHERE m.message_id = '$2')
		+ (SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message WHERE m.message_id = '$2')
		+ (SELECT count(*) FROM sent_attempts a JOIN messages m ON m.id = a.message WHERE m.message_id = '$2')"
}
# removed_counts: the numbers of a purge line ("N (I inbound, O outbound) ... P payload, E envelope and R
# receipt bytes") in $TMP/stdout, without its verb and cutoff.
removed_counts() {
	sed -n 's/^\(would remove\|removed\) \([0-9]*\) finished messages\{0,1\} (\([0-9]*\) inbound, \([0-9]*\) outbound) last changed before [^ ]*: \([0-9]*\) payload, \([0-9]*\) envelope and \([0-9]*\) receipt bytes$/\2 \3 \4 \5 \6 \7/p' "$TMP/stdout"
}
all_in_delivered() { [ "$(sql "$DB_B" "SELECT count(*) FROM messages WHERE direction = 0 AND state = 'delivered'")" = 4 ]; }
gone_at_a() { [ "$(rows "$DB_A" "$1")" = 0 ]; }

ap_start B || { not_ok "B starts"; finish; }
ap_start A || { not_ok "A starts"; finish; }

# 1. Four invoices, A -> B; the first one over 64 KiB (a large object on both sides).
make_invoice 1 "$TMP/small.xml"
{ head -n -1 "$TMP/small.xml"; head -c 90000 /dev/urandom | base64 -w 76; tail -n 1 "$TMP/small.xml"; } > "$TMP/inv1.xml"
for n in 2 3 4; do make_invoice $n "$TMP/inv$n.xml"; done
for n in 1 2 3 4; do
	"$RELAIS" send -c "$TMP/A/relais.conf" --payload "$TMP/inv$n.xml" >"$TMP/send$n.out" 2>&1
	eval "MID$n=\$(sed -n 's/^delivered \([^ ]*\) .*/\1/p' \"\$TMP/send\$n.out\")"
done
[ -n "$MID1" ] && [ -n "$MID2" ] && [ -n "$MID3" ] && [ -n "$MID4" ] && ok "A delivered four invoices to B" ||
	{ not_ok "sending: $(cat "$TMP"/send*.out)"; finish; }
wait_until 20 "B delivered all four to its inbox" -- all_in_delivered
# A message waiting for a retry toward an address where nobody answers: unfinished, however old.
expect_exit 0 "an unanswered message is queued" -- "$RELAIS" send -c "$TMP/A/relais.conf" --no-wait \
	--payload "$TMP/small.xml" --to-url "https://127.0.0.1:1/as4" --to-cert "$PKI/POP000002.cert.pem"
MIDR=$(sed -n 's/^queued //p' "$TMP/stdout")
[ "$(sql "$DB_A" "SELECT count(*) FROM pg_largeobject_metadata")" = 1 ] &&
[ "$(sql "$DB_B" "SELECT count(*) FROM pg_largeobject_metadata")" = 1 ] &&
	ok "the first payload is a large object on both sides" || not_ok "large objects at A and B"

# 2. Two finished messages and the unfinished one are three days old.
OLD="'$MID1', '$MID2', '$MIDR'"
sql "$DB_A" "UPDATE messages SET updated_at = now() - interval '3 days' WHERE message_id IN ($OLD)" >/dev/null
sql "$DB_B" "UPDATE messages SET updated_at = now() - interval '3 days' WHERE message_id IN ($OLD)" >/dev/null

# 3. The dry run counts them and removes nothing.
expect_exit 0 "relais db purge --dry-run at A" -- purge_a --older-than 1d --dry-run
DRY_A=$(removed_counts)
grep -q '^would remove ' "$TMP/stdout" && [ "$(echo "$DRY_A" | cut -d' ' -f1-3)" = "2 0 2" ] &&
	ok "A would remove its 2 old outbound messages: $(cat "$TMP/stdout")" || not_ok "A dry run: $(cat "$TMP/stdout")"
expect_exit 0 "relais db purge --dry-run at B" -- purge_b --older-than 1d --dry-run
DRY_B=$(removed_counts)
[ "$(echo "$DRY_B" | cut -d' ' -f1-3)" = "2 2 0" ] && ok "B would remove its 2 old inbound messages: $(cat "$TMP/stdout")" ||
	not_ok "B dry run: $(cat "$TMP/stdout")"
[ "$(echo "$DRY_A" | cut -d' ' -f4)" -gt 90000 ] && [ "$(echo "$DRY_B" | cut -d' ' -f4)" -gt 90000 ] &&
	[ "$(echo "$DRY_A" | cut -d' ' -f6)" -gt 0 ] && [ "$(echo "$DRY_B" | cut -d' ' -f6)" -gt 0 ] &&
	ok "both count the payload and receipt bytes" || not_ok "bytes: A $DRY_A, B $DRY_B"
if [ "$(sql "$DB_A" "SELECT count(*) FROM messages")" = 5 ] && [ "$(sql "$DB_B" "SELECT count(*) FROM messages")" = 4 ] &&
   [ "$(rows "$DB_A" "$MID1")" -gt 3 ]; then ok "the dry runs removed nothing"; else not_ok "a dry run removed rows"; fi

# 4. The purge removes exactly what the dry run counted.
expect_exit 0 "relais db purge at A" -- purge_a --older-than 1d
[ "$(removed_counts)" = "$DRY_A" ] && grep -q '^removed ' "$TMP/stdout" && ok "A removed what it counted: $(cat "$TMP/stdout")" ||
	not_ok "A purge: $(cat "$TMP/stdout") (dry run: $DRY_A)"
expect_exit 0 "relais db purge at B" -- purge_b --older-than 1d
[ "$(removed_counts)" = "$DRY_B" ] && ok "B removed what it counted: $(cat "$TMP/stdout")" ||
	not_ok "B purge: $(cat "$TMP/stdout") (dry run: $DRY_B)"
[ "$(rows "$DB_A" "$MID1")$(rows "$DB_A" "$MID2")$(rows "$DB_B" "$MID1")$(rows "$DB_B" "$MID2")" = 0000 ] &&
	ok "the purged messages left no event, delivery or attempt row" || not_ok "rows left behind"
[ "$(sql "$DB_A" "SELECT count(*) FROM pg_largeobject_metadata")$(sql "$DB_B" "SELECT count(*) FROM pg_largeobject_metadata")" = 00 ] &&
	ok "their large objects are gone on both sides" || not_ok "large objects left"
expect_refused RELAIS:NOT_FOUND "relais message show of a purged message at A" -- msg_a show "$MID1"
expect_refused RELAIS:NOT_FOUND "relais message show of a purged message at B" -- msg_b show "$MID2"
expect_exit 0 "relais message show of a recent message at A" -- msg_a show "$MID3"
grep -q "^state *delivered" "$TMP/stdout" && grep -q "^receipt *stored" "$TMP/stdout" &&
	ok "it is delivered with its receipt" || { not_ok "show $MID3"; sed 's/^/    /' "$TMP/stdout"; }
expect_exit 0 "relais message show of a recent message at B" -- msg_b show "$MID4"
[ "$(sql "$DB_A" "SELECT state FROM messages WHERE message_id = '$MIDR'")" = retry ] &&
	ok "the old message waiting for a retry stays" || not_ok "the unfinished message: $(sql "$DB_A" "SELECT state FROM messages WHERE message_id = '$MIDR'")"
expect_exit 0 "a second purge at A" -- purge_a --older-than 1d
[ "$(removed_counts)" = "0 0 0 0 0 0" ] && ok "it removes nothing" || not_ok "second purge: $(cat "$TMP/stdout")"

# 5. Usage errors.
expect_exit 2 "relais db purge without --older-than" -- purge_b
expect_exit 2 "relais db purge --older-than 0" -- purge_b --older-than 0
expect_exit 2 "relais db purge --older-than -1d" -- purge_b --older-than -1d
expect_exit 2 "relais db purge --older-than soon" -- purge_b --older-than soon

# 6. The daemon's own purge: A restarted with retention.keep = 1d removes a message aged meanwhile, soon after
# its start, and says so; the recent and the unfinished messages stay.
ap_stop A && ok "A stops" || not_ok "A's exit status"
sql "$DB_A" "UPDATE messages SET updated_at = now() - interval '2 days' WHERE message_id = '$MID3'" >/dev/null
echo "retention.keep=1d" >> "$TMP/A/sets"
ap_start A || { not_ok "A starts with retention.keep"; finish; }
wait_until 10 "A removed the aged message by itself" -- gone_at_a "$MID3"
grep -q "retention: removed 1 finished message (0 inbound, 1 outbound)" "$TMP/A/log" &&
	ok "A logged it: $(grep "retention: removed" "$TMP/A/log" | head -1 | cut -c1-160)" || not_ok "no retention line in A's log"
curl -s $CURL_TLS "https://127.0.0.1:$PORT_A/metrics" > "$TMP/A.metrics"
grep -q '^relais_purged_messages_total{direction="outbound"} 1$' "$TMP/A.metrics" &&
	grep -q '^relais_purged_messages_total{direction="inbound"} 0$' "$TMP/A.metrics" &&
	ok "/metrics counts it" || not_ok "metrics: $(grep purged "$TMP/A.metrics")"
[ "$(sql "$DB_A" "SELECT count(*) FROM messages WHERE message_id IN ('$MID4', '$MIDR')")" = 2 ] &&
	ok "the recent and the unfinished message stay" || not_ok "A's remaining messages"
START=$(date +%s)
ap_stop A && ok "A stops on SIGTERM" || not_ok "A's exit status"
[ $(( $(date +%s) - START )) -le 5 ] && ok "promptly" || not_ok "A took $(( $(date +%s) - START ))s to stop"
ap_stop B

# 7. With database.url = auto the embedded cluster is started for the command and stopped after it, as for
# the other db subcommands. Its state directory is a short /tmp path the postgres user can enter.
AUTO=$(mktemp -d /tmp/rlst.XXXXXX)
chmod 755 "$AUTO"
trap 'kill_aps; [ -f "$AUTO/pgdata/postmaster.pid" ] && pg_as_owner "$PG_BINDIR/pg_ctl" -D "$AUTO/pgdata" -m immediate -w -s stop >/dev/null 2>&1; rm -rf "$AUTO"; stop_private_pg' EXIT
printf '[database]\nurl = auto\n[state]\ndir = %s\n' "$AUTO" > "$TMP/auto.conf"
expect_exit 0 "relais db migrate with database.url = auto" -- "$RELAIS" db migrate -c "$TMP/auto.conf"
expect_exit 0 "relais db purge with database.url = auto" -- "$RELAIS" db purge -c "$TMP/auto.conf" --older-than 90d
[ "$(removed_counts)" = "0 0 0 0 0 0" ] && [ ! -f "$AUTO/pgdata/postmaster.pid" ] &&
	ok "it purged the embedded database and stopped it: $(cat "$TMP/stdout")" || not_ok "auto: $(cat "$TMP/stdout")"
finish

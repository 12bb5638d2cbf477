#!/bin/sh
# daemon_faults.sh - nothing lost, nothing doubled: B down while A sends; B killed (SIGKILL) in the
# middle of a 200-message run and restarted; the database restarted under load; a MessageId sent again;
# two sending instances sharing one database.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
ap_pair_config
out_count() { sql "$DB_A" "SELECT count(*) FROM messages WHERE direction=1 AND state='$1'"; }
in_count() { sql "$DB_B" "SELECT count(*) FROM messages WHERE direction=0"; }
all_delivered() { [ "$(out_count delivered)" = "$1" ]; }

# 1. B is down: A keeps the messages and retries; they go when B comes up.
ap_start A || { not_ok "A starts"; finish; }
for i in 1 2 3 4 5; do make_invoice "down-$i" "$TMP/A/outbox/down-$i.xml"; done
wait_until 20 "A retries while B is down" -- sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \"SELECT count(*) FROM messages WHERE state='retry' AND attempts >= 1\")\" = 5 ]"
ap_start B || { not_ok "B starts"; finish; }
wait_until 60 "A delivers the 5 once B is up" -- all_delivered 5
[ "$(in_count)" = 5 ] && ok "B holds each of them once" || not_ok "B holds $(in_count) messages"

# 2. B killed with SIGKILL in the middle of 200 messages, then restarted.
mkdir -p "$TMP/src"
i=1; while [ $i -le 200 ]; do make_invoice "kill-$i" "$TMP/src/kill-$i.xml"; i=$((i + 1)); done
mv "$TMP"/src/*.xml "$TMP/A/outbox/"
wait_until 60 "B has received some of the 200" -- sh -c "[ \$(find '$TMP/B/inbox' -maxdepth 1 -type f | wc -l) -ge 40 ]"
ap_kill B
ok "B killed with SIGKILL after $(count_files "$TMP/B/inbox") deliveries"
sleep 1
ap_start B || { not_ok "B restarts"; finish; }
wait_until 120 "A delivers all 205 after B's restart" -- all_delivered 205
wait_until 30 "B's inbox holds 205 files" -- sh -c "[ \$(find '$TMP/B/inbox' -maxdepth 1 -type f | wc -l) = 205 ]"
[ "$(in_count)" = 205 ] && ok "B committed each message once (205 rows)" || not_ok "B has $(in_count) rows"
[ "$(find "$TMP/B/inbox" -name '*.tmp-*' | wc -l)" = 0 ] && ok "no half-written file in B's inbox" || not_ok "half-written files in B's inbox"
wait_until 30 "every delivery of B is done" -- sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_B' -c \"SELECT count(*) FROM deliveries WHERE state <> 'done'\")\" = 0 ]"

# 3. The database restarted under load: both reconnect and carry on.
i=1; while [ $i -le 100 ]; do make_invoice "pg-$i" "$TMP/src/pg-$i.xml"; i=$((i + 1)); done
mv "$TMP"/src/*.xml "$TMP/A/outbox/"
sleep 1
restart_private_pg
ok "PostgreSQL restarted while sending"
wait_until 120 "all 305 delivered after the database restart" -- all_delivered 305
[ "$(in_count)" = 305 ] && ok "B holds 305 messages, none twice" || not_ok "B holds $(in_count)"

# 4. The same MessageId sent again: B answers with the first receipt and delivers nothing new.
MID=$(sql "$DB_A" "SELECT message_id FROM messages WHERE direction=1 AND state='delivered' ORDER BY id LIMIT 1")
RID=$(sql "$DB_A" "SELECT receipt_message_id FROM messages WHERE message_id='$MID' AND direction=1")
sql "$DB_A" "UPDATE messages SET state='queued', next_attempt_at=now(), receipt=NULL, receipt_message_id=NULL WHERE message_id='$MID' AND direction=1" >/dev/null
sql "$DB_A" "NOTIFY relais_outbound" >/dev/null
wait_until 30 "the resent message is delivered again at A" -- sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \"SELECT state FROM messages WHERE message_id='$MID' AND direction=1\")\" = delivered ]"
[ "$(sql "$DB_A" "SELECT receipt_message_id FROM messages WHERE message_id='$MID' AND direction=1")" = "$RID" ] &&
	ok "the duplicate got the same receipt ($RID)" || not_ok "the duplicate got another receipt"
grep -q "\[$MID\].*duplicate" "$TMP/B/log" && ok "B logged the duplicate" || not_ok "B did not log the duplicate"
wait_until 30 "every delivery of B is done again" -- sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_B' -c \"SELECT count(*) FROM deliveries WHERE state <> 'done'\")\" = 0 ]"
[ "$(in_count)" = 305 ] && [ "$(count_files "$TMP/B/inbox")" = 305 ] && ok "the duplicate was not delivered again" ||
	not_ok "after the duplicate: $(in_count) rows, $(count_files "$TMP/B/inbox") files"

# 4b. A message sent whose outcome A never recorded (A stopped between the POST and the commit): nothing of
# that attempt is kept at A, its resend is answered with the first receipt, and A accepts that receipt
# because it acknowledges the same payload.
MID2=$(sql "$DB_A" "SELECT message_id FROM messages WHERE direction=1 AND state='delivered' AND message_id <> '$MID' ORDER BY id LIMIT 1")
RID2=$(sql "$DB_A" "SELECT receipt_message_id FROM messages WHERE message_id='$MID2' AND direction=1")
sql "$DB_A" "DELETE FROM sent_attempts WHERE message = (SELECT id FROM messages WHERE message_id='$MID2' AND direction=1);
	UPDATE messages SET state='retry', next_attempt_at=now(), envelope=NULL, receipt=NULL, receipt_message_id=NULL
	WHERE message_id='$MID2' AND direction=1" >/dev/null
sql "$DB_A" "NOTIFY relais_outbound" >/dev/null
wait_until 30 "the message sent but not recorded is delivered at A" -- sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \"SELECT state FROM messages WHERE message_id='$MID2' AND direction=1\")\" = delivered ]"
[ "$(sql "$DB_A" "SELECT receipt_message_id FROM messages WHERE message_id='$MID2' AND direction=1")" = "$RID2" ] &&
	ok "its resend got the first receipt ($RID2), accepted for the same payload" || not_ok "the unrecorded attempt's receipt"
grep -q "\[$MID2\].*not recorded here" "$TMP/A/log" && ok "A logged the receipt of the unrecorded attempt" ||
	not_ok "A did not log the receipt of the unrecorded attempt"
[ "$(in_count)" = 305 ] && ok "the resend was not delivered again" || not_ok "after the resend: $(in_count) rows"

# 5. Two sending instances on one database: every message sent once.
ap_stop A
ap_config A2 POP000001 "$DB_A"
route_to A2 B POP000002
ap_start A || { not_ok "A restarts"; finish; }
ap_start A2 || { not_ok "A2 starts"; finish; }
before=$(grep -c "duplicate" "$TMP/B/log")
i=1; while [ $i -le 200 ]; do make_invoice "two-$i" "$TMP/src/two-$i.xml"; i=$((i + 1)); done
mv "$TMP"/src/*.xml "$TMP/A/outbox/"
wait_until 120 "A and A2 deliver the 200 between them" -- all_delivered 505
[ "$(in_count)" = 505 ] && ok "B received 505 messages in all" || not_ok "B received $(in_count)"
[ "$(grep -c "duplicate" "$TMP/B/log")" = "$before" ] && ok "no message was sent by both instances" || not_ok "B saw duplicates"
a1=$(grep -c "delivered to https" "$TMP/A/log"); a2=$(grep -c "delivered to https" "$TMP/A2/log")
[ "$a2" -gt 0 ] && ok "both instances sent (A: $a1 lines in all, A2: $a2)" || not_ok "A2 sent nothing ($a2)"
ap_stop A2; ap_stop A; ap_stop B
finish

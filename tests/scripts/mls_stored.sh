#!/bin/sh
# mls_stored.sh - a Message Level Status that A (C2) delivers from the store, not from memory, is noted
# against the invoice it sent all the same. tests/unit/test_mls_stored on a private PostgreSQL, then two
# access points over HTTPS on loopback: B (C3) answers inv-1 with an AB MLS while A's inbox is gone, so
# A's delivery of it fails and is left pending; A is stopped, the inbox put back, A started again, and
# its delivery from the store notes the AB (relais message show, the API's "mls"). B then sends A a
# negative MLS of over 64 KB about inv-2 (handed to A's delivery without its bytes): noted RE with its
# status reasons; and one of over 1 MiB about inv-3: delivered, but refused as an MLS, nothing noted. A
# large invoice B delivers from its store is taken for no MLS.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
. "$top_srcdir/tests/scripts/mls_lib.sh"
command -v xmllint >/dev/null 2>&1 || { echo "SKIP: no xmllint"; exit 77; }
ap_pair_config retry.max_attempts=100
printf '0242:000001 https://127.0.0.1:%s/as4 %s\n' "$PORT_A" "$PKI/POP000001.cert.pem" > "$TMP/B/routes"
printf 'routing.table=%s\n' "$TMP/B/routes" >> "$TMP/B/sets"
printf 'identity.country=DK\n' >> "$TMP/B/sets"

pg_unit_test test_mls_stored "stored MLS tests"

in_b_state_is() { [ "$(sql "$DB_B" "SELECT state FROM messages WHERE direction=0 AND message_id='$2'")" = "$1" ]; }
mls_events_at_a() { sql "$DB_A" "SELECT e.detail FROM message_events e JOIN messages m ON m.id = e.message
	WHERE m.direction=1 AND m.message_id='$1' AND e.detail LIKE 'MLS %'"; }
# The MessageId of the message A received last.
received_at_a() { sql "$DB_A" "SELECT message_id FROM messages WHERE direction=0 ORDER BY id DESC LIMIT 1"; }
# A's deliveries of received messages that failed at least once and wait for another attempt.
pending_after_failure_at_a() {
	[ "$(sql "$DB_A" "SELECT count(*) FROM deliveries WHERE state='pending' AND attempts >= 1 AND last_error IS NOT NULL")" -ge 1 ]
}
delivered_at_a() { [ "$(sql "$DB_A" "SELECT state FROM messages WHERE direction=0 AND message_id='$1'")" = delivered ]; }
# send_from NAME FILE DESCRIPTION: NAME queues FILE; sets MID. (The inbox is no business of relais send: it
# is left out of its configuration, for the time A's is gone.)
send_from() {
	expect_exit 0 "$1 queues $3" -- "$RELAIS" send -c "$TMP/$1/relais.conf" --set delivery.inbox= --no-wait --payload "$2"
	MID=$(sed -n 's/^queued //p' "$TMP/stdout")
}
# invoice N [MLS_TYPE]: an SBD in $TMP/inv-N.xml, InstanceIdentifier inv-N, sent by A; sets MID.
invoice() {
	make_invoice "$1" "$TMP/inv-$1.xml"
	if [ -n "${2:-}" ]; then
		sed -i "s|</BusinessScope>|<Scope><Type>MLS_TYPE</Type><InstanceIdentifier>$2</InstanceIdentifier></Scope></BusinessScope>|" \
			"$TMP/inv-$1.xml"
	fi
	send_from A "$TMP/inv-$1.xml" "invoice inv-$1${2:+ (${2:-})}"
}
# negative_mls TEMPLATE N LINES TEXT_BYTES OUT: the MLS TEMPLATE (an AB MLS from B) made a negative one
# about inv-N with LINES status reasons BV, each with a description of TEXT_BYTES bytes, and an
# InstanceIdentifier of its own.
negative_mls() {
	text=$(head -c "$4" /dev/zero | tr '\0' 'x')
	own=$(xp "$1" "//*[local-name()='DocumentIdentification']/*[local-name()='InstanceIdentifier']")
	{
		sed -e "s|<InstanceIdentifier>$own</InstanceIdentifier>|<InstanceIdentifier>neg-$2-$own</InstanceIdentifier>|" \
		    -e 's|<cbc:ResponseCode>AB</cbc:ResponseCode>|<cbc:ResponseCode>RE</cbc:ResponseCode><cbc:Description>Business rules broken</cbc:Description>|' \
		    -e "s|<cbc:ID>inv-1</cbc:ID>|<cbc:ID>inv-$2</cbc:ID>|" -e '/<\/cac:DocumentResponse>/,$d' "$1"
		i=0
		while [ $i -lt "$3" ]; do
			printf '    <cac:LineResponse><cac:LineReference><cbc:LineID>NA</cbc:LineID></cac:LineReference>'
			printf '<cac:Response><cbc:Description>%s</cbc:Description><cac:Status><cbc:StatusReasonCode>BV</cbc:StatusReasonCode></cac:Status></cac:Response></cac:LineResponse>\n' "$text"
			i=$((i + 1))
		done
		sed -n '/<\/cac:DocumentResponse>/,$p' "$1"
	} > "$5"
}

ap_start A || { not_ok "A starts"; finish; }
ap_start B || { not_ok "B starts"; finish; }

# 1. The MLS about inv-1 cannot be delivered at A (its inbox is gone): A is restarted with the delivery
# pending, and delivers it from the store.
mv "$TMP/A/inbox" "$TMP/A/inbox.away"
invoice 1 ALWAYS_SEND
MID1=$MID
wait_until 30 "B delivers inv-1" -- in_b_state_is delivered "$MID1"
wait_until 30 "A's delivery of the MLS about inv-1 fails and waits for another attempt" -- pending_after_failure_at_a
MLS1=$(received_at_a)
[ -z "$(mls_code_at_a "$MID1")" ] && ok "nothing is noted against inv-1 while the MLS is not delivered" ||
	not_ok "inv-1 at A before the MLS is delivered: $(mls_code_at_a "$MID1")"
ap_stop A
mv "$TMP/A/inbox.away" "$TMP/A/inbox"
from_line=$(($(wc -l < "$TMP/A/log") + 1))
ap_start A || { not_ok "A starts again"; finish; }
wait_until 30 "A delivers the MLS about inv-1 from the store" -- delivered_at_a "$MLS1"
wait_until 30 "A notes the AB against inv-1" -- mls_noted_at_a AB "$MID1"
attempts=$(sql "$DB_A" "SELECT max(d.attempts) FROM deliveries d JOIN messages m ON m.id = d.message WHERE m.message_id='$MLS1'")
[ "$attempts" -ge 2 ] && ok "the MLS was delivered on a later attempt than the first ($attempts)" ||
	not_ok "attempts of the MLS's delivery: $attempts"
logged_since_restart() { tail -n +"$from_line" "$TMP/A/log" | grep -F "$1" | grep -q "$2"; }
wait_until 10 "A, restarted, logs the MLS received" -- logged_since_restart "$MLS1" "Message Level Status AB received about document inv-1" ||
	tail -n +"$from_line" "$TMP/A/log" | sed 's/^/    /'
F=$(mls_at_a inv-1)
[ -n "$F" ] && ok "the MLS is in A's inbox" || not_ok "no MLS about inv-1 in A's inbox"
expect_exit 0 "relais message show of inv-1 at A" -- "$RELAIS" message -c "$TMP/A/relais.conf" show "$MID1"
grep -q '^mls  *AB ' "$TMP/stdout" && grep -q "MLS AB received: in $MLS1" "$TMP/stdout" &&
	ok "it shows the MLS, and its history the MLS's MessageId" || { not_ok "show"; sed 's/^/    /' "$TMP/stdout"; }
ap_api A GET "/api/v1/messages/$MID1?direction=out" > "$TMP/inv1.json"
[ "$(cat "$TMP/http_status")" = 200 ] && grep -q '"mls": *"AB"' "$TMP/inv1.json" &&
	ok "the API's JSON of inv-1 has \"mls\": \"AB\"" || not_ok "API: $(cat "$TMP/http_status") $(head -c 400 "$TMP/inv1.json")"

# 2. A negative MLS of over 64 KB about inv-2, sent by B: handed to A's delivery without its bytes.
invoice 2
MID2=$MID
wait_until 30 "B delivers inv-2" -- in_b_state_is delivered "$MID2"
if [ -n "$F" ]; then
	negative_mls "$F" 2 3 30000 "$TMP/neg-2.xml"
	[ "$(wc -c < "$TMP/neg-2.xml")" -gt 90000 ] && ok "the RE MLS about inv-2 is over 90 KB" ||
		not_ok "size of the RE MLS: $(wc -c < "$TMP/neg-2.xml")"
	send_from B "$TMP/neg-2.xml" "a negative MLS about inv-2 of over 64 KB"
	wait_until 30 "A notes the RE against inv-2" -- mls_noted_at_a RE "$MID2"
	mls_events_at_a "$MID2" | grep -q '^MLS RE received: BV,BV,BV in ' &&
		ok "inv-2's history has the RE and its status reasons" || not_ok "inv-2's history: $(mls_events_at_a "$MID2")"

	# 3. One of over 1 MiB about inv-3: delivered to the inbox, not read as an MLS.
	invoice 3
	MID3=$MID
	wait_until 30 "B delivers inv-3" -- in_b_state_is delivered "$MID3"
	negative_mls "$F" 3 2 600000 "$TMP/neg-3.xml"
	send_from B "$TMP/neg-3.xml" "a negative MLS about inv-3 of over 1 MiB"
	wait_until 60 "A's inbox gets the MLS about inv-3" -- mls_at_a inv-3
	wait_until 10 "A says it is too long to be read as an MLS" -- logged_since_restart "a Message Level Status that cannot be read" \
		"longer than 1048576 bytes" || tail -5 "$TMP/A/log" | cut -c1-300 | sed 's/^/    /'
	[ -z "$(mls_code_at_a "$MID3")" ] && [ -z "$(mls_events_at_a "$MID3")" ] && ok "nothing is noted against inv-3" ||
		not_ok "inv-3 at A: $(mls_code_at_a "$MID3") $(mls_events_at_a "$MID3")"
	cmp -s "$(mls_at_a inv-3)" "$TMP/neg-3.xml" && ok "the MLS in A's inbox is the one sent, whole" ||
		not_ok "the MLS about inv-3 in A's inbox differs from the one sent"
fi

# 4. A large invoice B delivers from its store is taken for no MLS: no MLS line about it in B's log.
make_invoice 4 "$TMP/inv-4.xml"
head -c 150000 /dev/urandom | base64 -w 76 > "$TMP/big"
awk -v f="$TMP/big" '/^<\/cbc:Note>/ { while ((getline l < f) > 0) print l } { print }' "$TMP/inv-4.xml" > "$TMP/inv-4-big.xml"
send_from A "$TMP/inv-4-big.xml" "invoice inv-4 (large)"
MID4=$MID
wait_until 30 "B delivers inv-4" -- in_b_state_is delivered "$MID4"
sleep 0.5
! grep -F "$MID4" "$TMP/B/log" | grep -q "Message Level Status" &&
	ok "B logs nothing about an MLS for inv-4" || { not_ok "B's log about inv-4"; grep "$MID4" "$TMP/B/log" | sed 's/^/    /'; }
ap_stop B
ap_stop A
finish

#!/bin/sh
# daemon_as4peer.sh - relais serve against the independent Java/Santuario peer, over HTTP on loopback
# (the peer speaks plain HTTP only): relais -> `as4peer serve` and `as4peer send` -> relais, each
# document delivered once, byte for byte, with a receipt verified on the sending side.
. "$top_srcdir/tests/scripts/lib.sh"
need_as4peer
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
start_test_db
DB_A=$(pg_createdb ap_a)
DB_B=$(pg_createdb ap_b)
N=20

# relais A -> as4peer serve (POP000002's key)
NEXT_PORT=$((NEXT_PORT + 1)); PEER_PORT=$NEXT_PORT
mkdir -p "$TMP/peer-store"
"$AS4PEER" serve --port "$PEER_PORT" --key "$PKI/POP000002" --trust "$PKI/ca-chain.pem" --store "$TMP/peer-store" \
	>"$TMP/peer.log" 2>&1 &
PEER=$!
ap_config A POP000001 "$DB_A"
printf '* http://127.0.0.1:%s/as4 %s\n' "$PEER_PORT" "$PKI/POP000002.cert.pem" > "$TMP/A/routes"
printf 'routing.table=%s\n' "$TMP/A/routes" >> "$TMP/A/sets"
ap_start A || { not_ok "A starts"; kill $PEER; finish; }
i=0; until grep -qi "listening\|serving" "$TMP/peer.log" 2>/dev/null || [ $i -ge 100 ]; do sleep 0.2; i=$((i + 1)); done
mkdir -p "$TMP/src"
i=1; while [ $i -le $N ]; do make_invoice "peer-$i" "$TMP/src/peer-$i.xml"; i=$((i + 1)); done
cp "$TMP"/src/peer-*.xml "$TMP/A/outbox/"
wait_until 120 "relais delivers $N messages to as4peer serve with verified receipts" -- sh -c \
	"[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \"SELECT count(*) FROM messages WHERE direction=1 AND state='delivered'\")\" = $N ]"
same=0
for f in "$TMP"/peer-store/*.payload.xml; do
	[ -f "$f" ] || continue
	n=$(sed -n 's/.*<InstanceIdentifier>inv-\(peer-[0-9]*\)<.*/\1/p' "$f" | head -1)
	cmp -s "$f" "$TMP/src/$n.xml" && same=$((same + 1))
done
[ $same = $N ] && ok "as4peer stored the $N documents byte for byte" || not_ok "as4peer stored $same of $N documents intact"
kill $PEER; wait $PEER 2>/dev/null
ap_stop A

# as4peer send -> relais B (plain HTTP on loopback)
ap_config B POP000002 "$DB_B" "server.tls=off"
ap_start_plain() {
	(IFS='
'; exec "$RELAIS" serve -c "$TMP/B/relais.conf" $(ap_sets B)) >>"$TMP/B/log" 2>&1 &
	PID_B=$!
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$PORT_B/api/v1/health" || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
}
ap_start_plain
sent=0
for i in 1 2 3 4 5; do
	make_invoice "java-$i" "$TMP/java-$i.xml"
	if "$AS4PEER" send --url "http://127.0.0.1:$PORT_B/as4" --from "$PKI/POP000001" --to "$PKI/POP000002.cert.pem" \
		--payload "$TMP/java-$i.xml" --trust "$PKI/ca-chain.pem" >"$TMP/send-$i.log" 2>&1; then
		sent=$((sent + 1))
	else
		sed 's/^/    /' "$TMP/send-$i.log" | head -5
	fi
done
[ $sent = 5 ] && ok "as4peer send -> relais: 5 receipts verified by as4peer" || not_ok "as4peer send succeeded $sent of 5 times"
wait_until 20 "relais delivered the 5 to its inbox" -- sh -c "[ \$(find '$TMP/B/inbox' -maxdepth 1 -type f | wc -l) = 5 ]"
same=0
for i in 1 2 3 4 5; do
	f=$(grep -l "inv-java-$i<" "$TMP"/B/inbox/* 2>/dev/null | head -1)
	[ -n "$f" ] && cmp -s "$f" "$TMP/java-$i.xml" && same=$((same + 1))
done
[ $same = 5 ] && ok "the 5 documents from as4peer arrived byte for byte" || not_ok "only $same of 5 intact"
# the peer resends one message (same MessageId): answered with the stored receipt, not delivered again
"$AS4PEER" build --from "$PKI/POP000001" --to "$PKI/POP000002.cert.pem" --payload "$TMP/java-1.xml" \
	--message-id "resend-1@as4peer" --out "$TMP/resend.mime" >/dev/null 2>&1
ctype=$(sed -n 's/^Content-Type: \(.*\)\r\{0,1\}$/\1/p' "$TMP/resend.mime" | head -1 | tr -d '\r')
n=$(sed -n '1,/^\r\{0,1\}$/p' "$TMP/resend.mime" | wc -c)
tail -c +$((n + 1)) "$TMP/resend.mime" > "$TMP/resend.body"
curl -s -H "Content-Type: $ctype" --data-binary @"$TMP/resend.body" -o "$TMP/r1" "http://127.0.0.1:$PORT_B/as4"
curl -s -H "Content-Type: $ctype" --data-binary @"$TMP/resend.body" -o "$TMP/r2" "http://127.0.0.1:$PORT_B/as4"
grep -q Receipt "$TMP/r1" && cmp -s "$TMP/r1" "$TMP/r2" && ok "a message built by as4peer and sent twice gets one receipt, twice" ||
	not_ok "resent as4peer message: $(head -c 300 "$TMP/r1")"
[ "$(sql "$DB_B" "SELECT count(*) FROM messages WHERE message_id='resend-1@as4peer'")" = 1 ] && ok "and is stored once" || not_ok "stored more than once"
kill -TERM "$PID_B"; wait "$PID_B" && ok "B stops cleanly" || not_ok "B's exit status"
finish

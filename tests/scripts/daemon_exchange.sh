#!/bin/sh
# daemon_exchange.sh - two relais access points on loopback (HTTPS, each with its own database in a
# private PostgreSQL cluster): A sends 500 invoices to B; each reaches B's inbox exactly once, byte for
# byte, and is delivered at A with a verified receipt stored. Then `relais send` (waiting), the REST API,
# `relais status`, SIGHUP and SIGTERM.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
N=500
ap_pair_config
ap_start B || { not_ok "B starts"; finish; }
ap_start A || { not_ok "A starts"; finish; }
ok "A and B serve on 127.0.0.1:$PORT_A and :$PORT_B"

# 500 invoices through A's outbox (written aside, then moved in, as a backend would)
mkdir -p "$TMP/src"
i=1
while [ $i -le $N ]; do
	make_invoice $i "$TMP/src/inv-$i.xml"
	i=$((i + 1))
done
mv "$TMP"/src/*.xml "$TMP/A/outbox/"
wait_until 180 "A delivers all $N messages with a verified receipt" -- \
	sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \"SELECT count(*) FROM messages WHERE direction=1 AND state='delivered'\")\" = $N ]"
wait_until 60 "B's inbox holds $N files" -- sh -c "[ \$(find '$TMP/B/inbox' -maxdepth 1 -type f | wc -l) = $N ]"
[ "$(sql "$DB_A" "SELECT count(*) FROM messages WHERE direction=1 AND receipt IS NOT NULL AND receipt_message_id IS NOT NULL")" = $N ] &&
	ok "A stored a receipt for each" || not_ok "A stored a receipt for each"
[ "$(sql "$DB_B" "SELECT count(*) FROM messages WHERE direction=0")" = $N ] &&
	ok "B committed $N inbound messages, no more" || not_ok "B committed $N inbound messages: $(sql "$DB_B" "SELECT count(*) FROM messages")"
[ "$(sql "$DB_B" "SELECT count(DISTINCT message_id) FROM messages WHERE direction=0")" = $N ] &&
	ok "B has $N distinct MessageIds" || not_ok "B has $N distinct MessageIds"
# every inbox file is one of the invoices, byte for byte, and every invoice is there once
same=0
for f in "$TMP"/B/inbox/*; do
	n=$(sed -n 's/.*<InstanceIdentifier>inv-\([0-9]*\)<.*/\1/p' "$f" | head -1)
	cmp -s "$f" "$TMP/A/outbox/.queued/inv-$n.xml" && same=$((same + 1))
done
[ $same = $N ] && ok "all $N delivered documents equal what was sent" || not_ok "only $same of $N documents equal what was sent"
[ "$(count_files "$TMP/A/outbox")" = 0 ] && ok "A's outbox was emptied into .queued" || not_ok "A's outbox still has files"
grep -q "duplicate" "$TMP/B/log" && not_ok "B saw duplicates in a clean run" || ok "no message was sent twice"
[ "$(sql "$DB_B" "SELECT count(*) FROM messages WHERE direction=0 AND state='delivered'")" = $N ] &&
	ok "B marked every inbound message delivered to its backend" || not_ok "B inbound delivered count"

# relais send: queue through the database of the running A and wait for the receipt
make_invoice 9001 "$TMP/one.xml"
expect_exit 0 "relais send waits for the receipt" -- "$RELAIS" send -c "$TMP/A/relais.conf" \
	--payload "$TMP/one.xml" --to-url "https://127.0.0.1:$PORT_B/as4" --to-cert "$PKI/POP000002.cert.pem"
grep -q "^delivered " "$TMP/stdout" && ok "send printed: $(tail -1 "$TMP/stdout")" || not_ok "send printed no outcome"
MID=$(sed -n 's/^queued //p' "$TMP/stdout")
# B's backend gets it after its receipt, a few milliseconds later.
[ -n "$MID" ] && wait_until 10 "the sent document is in B's inbox" -- test -f "$TMP/B/inbox/$MID.xml"

# a peer that refuses for good: the receiver certificate is not B's, so B cannot decrypt (EBMS:0102)
expect_exit 1 "relais send reports a final refusal" -- "$RELAIS" send -c "$TMP/A/relais.conf" \
	--payload "$TMP/one.xml" --to-url "https://127.0.0.1:$PORT_B/as4" --to-cert "$PKI/POP000001.cert.pem"
grep -q "EBMS:0102" "$TMP/stderr" && ok "the refusal names EBMS:0102: $(head -1 "$TMP/stderr")" || not_ok "no EBMS:0102 in: $(cat "$TMP/stderr")"

# REST API
ap_api A GET /api/v1/health >/dev/null
[ "$(cat "$TMP/http_status")" = 200 ] && grep -q '"delivered": 50[12]' "$TMP/api_body" &&
	ok "GET /api/v1/health" || not_ok "GET /api/v1/health: $(cat "$TMP/http_status") $(cat "$TMP/api_body")"
curl -s $CURL_TLS -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT_A/api/v1/messages" > "$TMP/code"
[ "$(cat "$TMP/code")" = 401 ] && ok "the API needs the bearer token" || not_ok "API without token: $(cat "$TMP/code")"
make_invoice 9002 "$TMP/api.xml"
CERT_B64=$(openssl x509 -in "$PKI/POP000002.cert.pem" -outform DER | base64 -w 0)
ap_api A POST "/api/v1/messages?to_url=https://127.0.0.1:$PORT_B/as4" -H "Content-Type: application/xml" \
	-H "Relais-To-Cert: $CERT_B64" --data-binary @"$TMP/api.xml" >/dev/null
[ "$(cat "$TMP/http_status")" = 202 ] && ok "POST /api/v1/messages (raw body) is accepted" || not_ok "raw POST: $(cat "$TMP/http_status") $(cat "$TMP/api_body")"
API_ID=$(sed -n 's/.*"message_id": "\([^"]*\)".*/\1/p' "$TMP/api_body")
PAYLOAD_B64=$(base64 -w 0 "$TMP/api.xml")
printf '{"payload": "%s", "message_id": "json-1@test", "to_url": "https://127.0.0.1:%s/as4", "to_cert": "%s"}' \
	"$PAYLOAD_B64" "$PORT_B" "$(awk '{printf "%s\\n", $0}' "$PKI/POP000002.cert.pem")" > "$TMP/submit.json"
ap_api A POST /api/v1/messages -H "Content-Type: application/json" --data-binary @"$TMP/submit.json" >/dev/null
[ "$(cat "$TMP/http_status")" = 202 ] && grep -q '"message_id": "json-1@test"' "$TMP/api_body" &&
	ok "POST /api/v1/messages (JSON) is accepted" || not_ok "JSON POST: $(cat "$TMP/http_status") $(cat "$TMP/api_body")"
wait_until 30 "both API submissions are delivered" -- sh -c "
	curl -s $CURL_TLS -H 'Authorization: Bearer $API_TOKEN' https://127.0.0.1:$PORT_A/api/v1/messages/json-1@test | grep -q '\"state\": \"delivered\"' &&
	curl -s $CURL_TLS -H 'Authorization: Bearer $API_TOKEN' https://127.0.0.1:$PORT_A/api/v1/messages/$API_ID | grep -q '\"state\": \"delivered\"'"
ap_api A GET /api/v1/messages/json-1@test >/dev/null
grep -q '"history"' "$TMP/api_body" && grep -q 'delivered' "$TMP/api_body" && ok "GET /api/v1/messages/{id} shows the history" ||
	not_ok "message document: $(cat "$TMP/api_body")"
ap_api A GET /api/v1/messages/json-1@test/receipt >/dev/null
grep -q 'Receipt' "$TMP/api_body" && ok "GET .../receipt gives the stored receipt" || not_ok "no receipt: $(head -c 300 "$TMP/api_body")"
ap_api A GET "/api/v1/messages?state=failed&direction=out" >/dev/null
[ "$(grep -c '"state": "failed"' "$TMP/api_body")" = 1 ] && ok "GET /api/v1/messages?state=failed lists the one refused" ||
	not_ok "failed list: $(cat "$TMP/api_body")"

# relais status
expect_exit 1 "relais status exits 1 while a message has failed" -- "$RELAIS" status -c "$TMP/A/relais.conf"
grep -q "delivered" "$TMP/stdout" && grep -q "days left" "$TMP/stdout" && ok "status shows queues and certificate" ||
	not_ok "status output: $(cat "$TMP/stdout")"
expect_exit 0 "relais status of B" -- "$RELAIS" status -c "$TMP/B/relais.conf" --json
grep -q '"received"' "$TMP/stdout" && ok "status --json" || not_ok "status --json: $(cat "$TMP/stdout")"

# SIGHUP reloads without stopping; SIGTERM drains and exits 0
kill -HUP "$PID_B"
sleep 0.5
grep -q "SIGHUP: keys" "$TMP/B/log" && ok "B reloaded on SIGHUP" || not_ok "B did not log the reload"
make_invoice 9003 "$TMP/after-hup.xml"
expect_exit 0 "B still receives after SIGHUP" -- "$RELAIS" send -c "$TMP/A/relais.conf" --timeout 30 \
	--payload "$TMP/after-hup.xml" --to-url "https://127.0.0.1:$PORT_B/as4" --to-cert "$PKI/POP000002.cert.pem"
ap_stop A && ok "A stops with status 0 on SIGTERM" || not_ok "A's exit status on SIGTERM"
ap_stop B && ok "B stops with status 0 on SIGTERM" || not_ok "B's exit status on SIGTERM"
finish

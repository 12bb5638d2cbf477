#!/bin/sh
# message_ops.sh - an operator acts on messages in a final state, with two access points over HTTPS on
# loopback and a private PostgreSQL: a message that failed while B was down is sent again (`relais message
# retry`, then POST /api/v1/messages/{id}/retry once B is up) and reaches B exactly once; a delivered one is
# never sent again; a received message whose inbox file the backend lost is delivered again (`relais message
# redeliver`), byte for byte.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
ap_pair_config retry.max_attempts=2
msg_a() { "$RELAIS" message -c "$TMP/A/relais.conf" "$@"; }
msg_b() { "$RELAIS" message -c "$TMP/B/relais.conf" "$@"; }
out_field() { sql "$DB_A" "SELECT $1 FROM messages WHERE direction=1 AND message_id='$MID'"; }
out_state_is() { [ "$(out_field state)" = "$1" ]; }
in_field() { sql "$DB_B" "SELECT $1 FROM messages WHERE direction=0 AND message_id='$MID'"; }
in_state_is() { [ "$(in_field state)" = "$1" ]; }
events_a() { sql "$DB_A" "SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message
	WHERE m.direction=1 AND m.message_id='$MID' AND e.detail LIKE '$1'"; }

# 1. B is down: the message fails after retry.max_attempts (2).
ap_start A || { not_ok "A starts"; finish; }
make_invoice 1 "$TMP/one.xml"
expect_exit 0 "relais send queues the invoice" -- "$RELAIS" send -c "$TMP/A/relais.conf" --no-wait \
	--payload "$TMP/one.xml" --to-url "https://127.0.0.1:$PORT_B/as4" --to-cert "$PKI/POP000002.cert.pem"
MID=$(sed -n 's/^queued //p' "$TMP/stdout")
[ -n "$MID" ] && ok "queued $MID" || { not_ok "no MessageId printed"; finish; }
wait_until 30 "the message fails while B is down" -- out_state_is failed
[ "$(out_field attempts)" = 2 ] && ok "after 2 attempts" || not_ok "attempts: $(out_field attempts)"

# 2. Sent again while B is still down: retried, failed again, its attempts counted from 1 again.
expect_exit 0 "relais message retry of the failed message" -- msg_a retry "$MID"
grep -q "^retry [0-9]* $MID: queued again" "$TMP/stdout" && ok "retry printed: $(cat "$TMP/stdout")" ||
	not_ok "retry printed: $(cat "$TMP/stdout")"
[ "$(events_a 'retry requested by cli')" = 1 ] && ok "the history records the retry asked by the CLI" ||
	not_ok "no retry event"
wait_until 30 "the retried message fails again" -- out_state_is failed
[ "$(out_field attempts)" = 2 ] && [ "$(events_a 'attempt 1 by %')" = 2 ] && [ "$(events_a 'attempt 2 by %')" = 2 ] &&
	ok "its attempts were counted from 1 again (2 more)" ||
	not_ok "attempts $(out_field attempts), attempt-1 events $(events_a 'attempt 1 by %')"
[ "$(sql "$DB_A" "SELECT count(*) FROM sent_attempts a JOIN messages m ON m.id = a.message WHERE m.message_id='$MID'")" = 4 ] &&
	ok "the envelopes of all 4 attempts are kept" || not_ok "sent_attempts rows"
expect_exit 0 "relais message show" -- msg_a show "$MID"
grep -q "^state *failed" "$TMP/stdout" && grep -q "retry requested by cli" "$TMP/stdout" &&
	grep -q "^receipt *none" "$TMP/stdout" && ok "show prints the state, the history and no receipt" ||
	{ not_ok "show output"; sed 's/^/    /' "$TMP/stdout"; }

# 3. B up; the retry asked through the API: delivered, exactly once.
ap_start B || { not_ok "B starts"; finish; }
ap_api A POST "/api/v1/messages/$MID/retry" > "$TMP/retry.json"
[ "$(cat "$TMP/http_status")" = 200 ] && grep -q '"retry requested by api"\|retry requested by api' "$TMP/retry.json" &&
	grep -q "\"message_id\": \"$MID\"" "$TMP/retry.json" && ok "POST .../retry answers 200 with the message" ||
	{ not_ok "POST .../retry: $(cat "$TMP/http_status")"; sed 's/^/    /' "$TMP/retry.json"; }
wait_until 30 "the message is delivered once B is up" -- out_state_is delivered
wait_until 10 "B's inbox holds its file" -- test -f "$TMP/B/inbox/$MID.xml"
[ "$(count_files "$TMP/B/inbox")" = 1 ] && ok "B's inbox holds exactly one file" || not_ok "B's inbox: $(count_files "$TMP/B/inbox") files"
cmp -s "$TMP/one.xml" "$TMP/B/inbox/$MID.xml" && ok "B's file is the payload, byte for byte" || not_ok "B's file differs"

# 4. A delivered message is never sent again.
ATTEMPTS=$(sql "$DB_A" "SELECT count(*) FROM sent_attempts a JOIN messages m ON m.id = a.message WHERE m.message_id='$MID'")
expect_refused RELAIS:STATE "relais message retry of a delivered message" -- msg_a retry "$MID"
grep -q "never sent again" "$TMP/stderr" && ok "it says why" || not_ok "refusal reason: $(cat "$TMP/stderr")"
ap_api A POST "/api/v1/messages/$MID/retry" > "$TMP/refused.json"
[ "$(cat "$TMP/http_status")" = 409 ] && [ "$(wc -l < "$TMP/refused.json")" = 1 ] && grep -q '"error".*delivered' "$TMP/refused.json" &&
	ok "POST .../retry of a delivered message answers 409: $(cat "$TMP/refused.json")" ||
	{ not_ok "POST .../retry of a delivered message: $(cat "$TMP/http_status")"; sed 's/^/    /' "$TMP/refused.json"; }
ap_api A POST "/api/v1/messages/no-such-message@test/retry" > /dev/null
[ "$(cat "$TMP/http_status")" = 404 ] && ok "POST .../retry of an unknown message answers 404" || not_ok "unknown: $(cat "$TMP/http_status")"
curl -s $CURL_TLS -X POST -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT_A/api/v1/messages/$MID/retry" > "$TMP/http_status"
[ "$(cat "$TMP/http_status")" = 401 ] && ok "POST .../retry without the token answers 401" || not_ok "no token: $(cat "$TMP/http_status")"
sleep 2
out_state_is delivered && [ "$(out_field attempts)" = 1 ] && ok "the message stays delivered" || not_ok "state $(out_field state)"
[ "$(sql "$DB_A" "SELECT count(*) FROM sent_attempts a JOIN messages m ON m.id = a.message WHERE m.message_id='$MID'")" = "$ATTEMPTS" ] &&
	ok "nothing more was sent" || not_ok "more attempts were recorded"
[ "$(count_files "$TMP/B/inbox")" = 1 ] && [ "$(grep -c "\[$MID\].*received from" "$TMP/B/log")" = 1 ] &&
	ok "B received it once (one file, one receipt in its log)" ||
	not_ok "B: $(count_files "$TMP/B/inbox") files, $(grep -c "\[$MID\].*received from" "$TMP/B/log") receipts"

# 5. The backend lost the file: redelivered, byte for byte, and the history says so.
wait_until 10 "B's message is delivered to its backend" -- in_state_is delivered
rm -f "$TMP/B/inbox/$MID.xml"
expect_exit 0 "relais message redeliver" -- msg_b redeliver "$MID"
wait_until 20 "the file is back in B's inbox" -- test -f "$TMP/B/inbox/$MID.xml"
cmp -s "$TMP/one.xml" "$TMP/B/inbox/$MID.xml" && ok "it is the payload, byte for byte" || not_ok "the redelivered file differs"
wait_until 10 "the message is delivered again" -- in_state_is delivered
expect_exit 0 "relais message show at B" -- msg_b show "$MID"
grep -q "received redelivery requested by cli (inbox)" "$TMP/stdout" && grep -q "^receipt *stored" "$TMP/stdout" &&
	grep -c "delivered inbox delivery done" "$TMP/stdout" | grep -q '^2$' &&
	ok "the history shows the redelivery and both deliveries" || { not_ok "history at B"; sed 's/^/    /' "$TMP/stdout"; }
expect_exit 0 "relais message show --json at B" -- msg_b show "$MID" --json
grep -q '"direction": "in"' "$TMP/stdout" && grep -q '"receipt_stored": true' "$TMP/stdout" &&
	grep -q 'redelivery requested by cli' "$TMP/stdout" && ok "show --json has the message, its receipt and history" ||
	{ not_ok "show --json"; sed 's/^/    /' "$TMP/stdout"; }
# The backend's copy damaged: a redelivery through the API replaces it whole.
printf 'damaged' > "$TMP/B/inbox/$MID.xml"
ap_api B POST "/api/v1/messages/$MID/redeliver" > "$TMP/redeliver.json"
[ "$(cat "$TMP/http_status")" = 200 ] && grep -q '"state": "received"' "$TMP/redeliver.json" &&
	ok "POST .../redeliver answers 200 with the message" || { not_ok "POST .../redeliver: $(cat "$TMP/http_status")"; sed 's/^/    /' "$TMP/redeliver.json"; }
wait_until 10 "delivered again after the API's redelivery" -- in_state_is delivered
[ "$(in_field "(SELECT count(*) FROM message_events e WHERE e.message = messages.id AND e.detail = 'redelivery requested by api (inbox)')")" = 1 ] &&
	ok "the history records the redelivery asked through the API" || not_ok "no API redelivery event"
[ "$(count_files "$TMP/B/inbox")" = 1 ] && cmp -s "$TMP/one.xml" "$TMP/B/inbox/$MID.xml" &&
	ok "the damaged file was replaced whole; B's inbox holds that one file" || not_ok "B's inbox after the API's redelivery"

# 6. Redelivering an outbound message or an unknown one is refused.
ROW=$(out_field id)
expect_refused RELAIS:STATE "relais message redeliver of an outbound message" -- msg_a redeliver "$ROW"
grep -q "outbound" "$TMP/stderr" && ok "it says why" || not_ok "refusal reason: $(cat "$TMP/stderr")"
expect_refused RELAIS:NOT_FOUND "relais message redeliver of an unknown id" -- msg_b redeliver 999999
expect_refused RELAIS:NOT_FOUND "relais message redeliver of an unknown MessageId" -- msg_b redeliver no-such@test
ap_api A POST "/api/v1/messages/$ROW/redeliver" > "$TMP/refused.json"
[ "$(cat "$TMP/http_status")" = 409 ] && ok "POST .../redeliver of an outbound message answers 409" || not_ok "redeliver outbound: $(cat "$TMP/http_status")"
ap_api B POST "/api/v1/messages/999999/redeliver" > /dev/null
[ "$(cat "$TMP/http_status")" = 404 ] && ok "POST .../redeliver of an unknown id answers 404" || not_ok "redeliver unknown: $(cat "$TMP/http_status")"

# 7. list, and usage errors.
expect_exit 0 "relais message list --direction out" -- msg_a list --direction out
grep -q " out  *delivered .* $MID\$" "$TMP/stdout" && ok "list shows the message" || { not_ok "list"; sed 's/^/    /' "$TMP/stdout"; }
expect_exit 0 "relais message list --state delivered --json" -- msg_b list --state delivered --json
grep -q "\"message_id\": \"$MID\"" "$TMP/stdout" && ok "list --json has the message" || { not_ok "list --json"; sed 's/^/    /' "$TMP/stdout"; }
expect_exit 2 "relais message with no action" -- msg_a
expect_exit 2 "relais message retry with no ID" -- msg_a retry
expect_exit 2 "relais message list --direction sideways" -- msg_a list --direction sideways
expect_exit 2 "relais message export with no -o" -- msg_a export "$MID"

# 8. The evidence of the exchange, exported on both sides and checked again offline: A's receipt from B
# acknowledges the envelope A sent; B's envelope verifies and its receipt acknowledges it.
expect_exit 0 "relais message export at A" -- msg_a export "$MID" -o "$TMP/evidence-a"
for f in envelope.xml receipt.xml payload message.json; do
	[ -s "$TMP/evidence-a/$f" ] || not_ok "A's export has no $f"
done
cmp -s "$TMP/one.xml" "$TMP/evidence-a/payload" && ok "A's exported payload is the document, byte for byte" ||
	not_ok "A's exported payload differs"
grep -q "\"message_id\": \"$MID\"" "$TMP/evidence-a/message.json" && grep -q "retry requested by cli" "$TMP/evidence-a/message.json" &&
	ok "A's message.json has the message and its history" || not_ok "A's message.json"
ls -A "$TMP/evidence-a" | grep -q '\.tmp' && not_ok "a temporary file was left" || ok "no temporary file is left"
expect_exit 0 "verify-receipt: B's receipt acknowledges the envelope A sent" -- "$RELAIS" verify-receipt \
	--trust "$PKI/ca-chain.pem" --sent "$TMP/evidence-a/envelope.xml" "$TMP/evidence-a/receipt.xml"
expect_exit 0 "relais message export at B" -- msg_b export "$MID" -o "$TMP/evidence-b"
cmp -s "$TMP/one.xml" "$TMP/evidence-b/payload" && ok "B's exported payload is the document, byte for byte" ||
	not_ok "B's exported payload differs"
expect_exit 0 "verify-receipt: the receipt B sent acknowledges the envelope B received" -- "$RELAIS" verify-receipt \
	--trust "$PKI/ca-chain.pem" --sent "$TMP/evidence-b/envelope.xml" "$TMP/evidence-b/receipt.xml"
sed -i 's/<eb:MessageId>/<eb:MessageId>x/' "$TMP/evidence-b/envelope.xml"
expect_refused EBMS:0302 "verify-receipt refuses the pair once the envelope is changed" -- "$RELAIS" verify-receipt \
	--trust "$PKI/ca-chain.pem" --sent "$TMP/evidence-b/envelope.xml" "$TMP/evidence-b/receipt.xml"
expect_refused RELAIS:NOT_FOUND "relais message export of an unknown id" -- msg_b export 999999 -o "$TMP/evidence-x"
[ ! -e "$TMP/evidence-x" ] && ok "nothing was made for it" || not_ok "a directory was made for an unknown id"

ap_stop A; ap_stop B
finish

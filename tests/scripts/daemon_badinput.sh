#!/bin/sh
# daemon_badinput.sh - bad input on the wire gets the right answer and stores nothing: garbage, a wrong
# Content-Type, a truncated body, an oversized body (with a Content-Length, or chunked), a slow client; a
# message POSTed twice is answered with the same receipt and stored once; the server keeps serving
# throughout.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
start_test_db
DB_B=$(pg_createdb ap_b)
ap_config B POP000002 "$DB_B" "limits.max_body=256K" "limits.request_timeout=2s"
ap_start B || { not_ok "B starts"; finish; }
URL="https://127.0.0.1:$PORT_B/as4"

# post NAME CONTENT-TYPE FILE [curl args]: the answer in $TMP/NAME.body, the status in $TMP/NAME.code
post() {
	name=$1; ctype=$2; file=$3; shift 3
	curl -s $CURL_TLS -H "Content-Type: $ctype" --data-binary @"$file" -o "$TMP/$name.body" -w '%{http_code}' \
		"$@" "$URL" > "$TMP/$name.code" 2>/dev/null
}
# expect_signal NAME STATUS CODE DESCRIPTION: HTTP status and an eb:Error with errorCode CODE
expect_signal() {
	if [ "$(cat "$TMP/$1.code")" = "$2" ] && grep -q "errorCode=\"$3\"" "$TMP/$1.body"; then
		ok "$4: HTTP $2, $3 ($(sed -n 's/.*<eb:Description[^>]*>\([^<]*\)<.*/\1/p' "$TMP/$1.body" | head -c 120))"
	else
		not_ok "$4: HTTP $(cat "$TMP/$1.code"), wanted $2 with $3: $(head -c 400 "$TMP/$1.body")"
	fi
}
# A valid message from A to B, split into the HTTP Content-Type and body.
make_http_message() {
	make_invoice "$1" "$TMP/$1.xml"
	"$RELAIS" pack --key "$PKI/POP000001.key.pem" --cert "$PKI/POP000001.cert.pem" \
		--to-cert "$PKI/POP000002.cert.pem" --payload "$TMP/$1.xml" -o "$TMP/$1.mime" >/dev/null
	sed -n 's/^Content-Type: \(.*\)\r$/\1/p' "$TMP/$1.mime" | head -1 > "$TMP/$1.ctype"
	http_body "$TMP/$1.mime" > "$TMP/$1.body.raw"
}
# The body of a message file: everything after the entity headers' empty line.
http_body() {
	n=$(sed -n '1,/^\r\{0,1\}$/p' "$1" | wc -c)
	tail -c +$((n + 1)) "$1"
}

head -c 5000 /dev/urandom > "$TMP/garbage"
post garbage "multipart/related; boundary=xyz; type=\"application/soap+xml\"" "$TMP/garbage"
expect_signal garbage 500 EBMS:0007 "garbage in a multipart body"
post plain "text/plain" "$TMP/garbage"
expect_signal plain 500 EBMS:0007 "wrong Content-Type"
printf '<not xml' > "$TMP/notxml"
post soapjunk "application/soap+xml" "$TMP/notxml"
expect_signal soapjunk 500 EBMS:0009 "a SOAP body that is not XML"

make_http_message good
head -c 3000 "$TMP/good.body.raw" > "$TMP/truncated"
post truncated "$(cat "$TMP/good.ctype")" "$TMP/truncated"
expect_signal truncated 500 EBMS:0007 "a truncated message"

make_invoice big "$TMP/big.xml"
head -c 400000 /dev/urandom | base64 >> "$TMP/big.xml"
post big "multipart/related; boundary=xyz" "$TMP/big.xml"
expect_signal big 413 EBMS:0004 "a body over limits.max_body"

# a real message over the limit, sent chunked (no Content-Length): answered with the same signal as
# soon as its body passes limits.max_body, naming the limit and the message
make_invoice bigchunked "$TMP/bigchunked.xml"
{ head -n -1 "$TMP/bigchunked.xml"; head -c 400000 /dev/urandom | base64 -w 76; tail -n 1 "$TMP/bigchunked.xml"; } \
	> "$TMP/bigchunked.payload.xml"
"$RELAIS" pack --key "$PKI/POP000001.key.pem" --cert "$PKI/POP000001.cert.pem" --to-cert "$PKI/POP000002.cert.pem" \
	--payload "$TMP/bigchunked.payload.xml" -o "$TMP/bigchunked.mime" >/dev/null
http_body "$TMP/bigchunked.mime" > "$TMP/bigchunked.raw"
[ "$(wc -c < "$TMP/bigchunked.raw")" -gt 300000 ] || not_ok "the chunked message is only $(wc -c < "$TMP/bigchunked.raw") bytes"
post bigchunked "$(sed -n 's/^Content-Type: \(.*\)\r$/\1/p' "$TMP/bigchunked.mime" | head -1)" "$TMP/bigchunked.raw" \
	-H 'Transfer-Encoding: chunked'
expect_signal bigchunked 413 EBMS:0004 "a chunked body over limits.max_body"
grep -q '262144 bytes' "$TMP/bigchunked.body" && ok "the signal names the limit" || not_ok "limit not named"
BIG_ID=$(sed -n 's/.*<eb:MessageId>\([^<]*\)<.*/\1/p' "$TMP/bigchunked.mime" | head -1)
[ -n "$BIG_ID" ] && grep -q "RefToMessageId>$BIG_ID<" "$TMP/bigchunked.body" && ok "the signal refers to the chunked message" ||
	not_ok "RefToMessageId is not $BIG_ID: $(grep -o 'RefToMessageId>[^<]*' "$TMP/bigchunked.body")"
make_http_message afterchunked
post afterchunked "$(cat "$TMP/afterchunked.ctype")" "$TMP/afterchunked.body.raw"
[ "$(cat "$TMP/afterchunked.code")" = 200 ] && grep -q "Receipt" "$TMP/afterchunked.body" &&
	ok "a valid message is received after the chunked one" || not_ok "after the chunked body: $(cat "$TMP/afterchunked.code")"

# a slow client (5 bytes/s) is cut off after limits.request_timeout while others are served
curl -s $CURL_TLS -H "Content-Type: $(cat "$TMP/good.ctype")" --limit-rate 5 --data-binary @"$TMP/good.body.raw" \
	-o /dev/null "$URL" 2>/dev/null &
SLOW=$!
sleep 0.5
make_http_message other
post other "$(cat "$TMP/other.ctype")" "$TMP/other.body.raw"
[ "$(cat "$TMP/other.code")" = 200 ] && grep -q "Receipt" "$TMP/other.body" && ok "a good message is served while a slow client trickles" ||
	not_ok "good message during slow client: $(cat "$TMP/other.code")"
i=0; while kill -0 $SLOW 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $SLOW 2>/dev/null; then kill $SLOW; not_ok "the slow client was not cut off"; else ok "the slow client was cut off after the timeout"; fi
wait $SLOW 2>/dev/null

[ "$(sql "$DB_B" "SELECT count(*) FROM messages")" = 2 ] && ok "nothing of the bad requests was stored" ||
	not_ok "rows after bad input: $(sql "$DB_B" "SELECT count(*) FROM messages")"
[ "$(find "$TMP/B/state/spool" -type f | wc -l)" = 0 ] && ok "no spool file left behind" || not_ok "spool files left: $(ls "$TMP/B/state/spool")"

# the same message POSTed twice: the same receipt, one row, one delivery
post dup1 "$(cat "$TMP/good.ctype")" "$TMP/good.body.raw"
post dup2 "$(cat "$TMP/good.ctype")" "$TMP/good.body.raw"
[ "$(cat "$TMP/dup1.code")" = 200 ] && [ "$(cat "$TMP/dup2.code")" = 200 ] && cmp -s "$TMP/dup1.body" "$TMP/dup2.body" &&
	ok "a duplicate gets the same receipt, byte for byte" || not_ok "duplicate: $(cat "$TMP/dup1.code") $(cat "$TMP/dup2.code")"
[ "$(sql "$DB_B" "SELECT count(*) FROM messages")" = 3 ] && ok "the duplicate is stored once" || not_ok "rows: $(sql "$DB_B" "SELECT count(*) FROM messages")"
wait_until 10 "and delivered once" -- sh -c "[ \$(find '$TMP/B/inbox' -maxdepth 1 -type f | wc -l) = 3 ]"

# a message for another access point
make_invoice other-ap "$TMP/other-ap.xml"
"$RELAIS" pack --key "$PKI/POP000001.key.pem" --cert "$PKI/POP000001.cert.pem" --to-party POP000009 \
	--to-cert "$PKI/POP000002.cert.pem" --payload "$TMP/other-ap.xml" -o "$TMP/other-ap.mime" >/dev/null
http_body "$TMP/other-ap.mime" > "$TMP/other-ap.raw"
post otherap "$(sed -n 's/^Content-Type: \(.*\)\r$/\1/p' "$TMP/other-ap.mime" | head -1)" "$TMP/other-ap.raw"
expect_signal otherap 500 EBMS:0003 "a message addressed to another access point"

# a GET on the AS4 endpoint
curl -s $CURL_TLS -o /dev/null -w '%{http_code}' "$URL" > "$TMP/get.code"
[ "$(cat "$TMP/get.code")" = 405 ] && ok "GET on the AS4 endpoint: 405" || not_ok "GET: $(cat "$TMP/get.code")"
kill -0 "$PID_B" && ok "B is still running" || not_ok "B died"
ap_stop B && ok "B stops cleanly" || not_ok "B's exit status"
finish

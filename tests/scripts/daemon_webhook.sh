#!/bin/sh
# daemon_webhook.sh - backend delivery by webhook: a real HTTP server (busybox httpd with a CGI hook)
# that first fails, so relais retries with backoff and records each attempt; then every received document
# is POSTed once, byte for byte, with its Relais-* headers, and the delivery is recorded as done.
. "$top_srcdir/tests/scripts/lib.sh"
command -v busybox >/dev/null 2>&1 || { echo "SKIP: no busybox (httpd)"; exit 77; }
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
start_test_db
DB_A=$(pg_createdb ap_a)
DB_B=$(pg_createdb ap_b)

# The backend: answers 503 while $TMP/hook-down exists, else keeps the body under the MessageId.
mkdir -p "$TMP/www/cgi-bin" "$TMP/hooks"
cat > "$TMP/www/cgi-bin/hook" <<EOF
#!/bin/sh
if [ -e "$TMP/hook-down" ]; then
	echo "\$HTTP_RELAIS_MESSAGE_ID" >> "$TMP/hook-refused"
	printf 'Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nnot now\n'
	exit 0
fi
head -c "\$CONTENT_LENGTH" > "$TMP/hooks/\$HTTP_RELAIS_MESSAGE_ID"
printf '%s %s %s %s\n' "\$HTTP_RELAIS_MESSAGE_ID" "\$HTTP_RELAIS_FROM" "\$HTTP_RELAIS_TO" "\$CONTENT_TYPE" >> "$TMP/hooks.log"
printf 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok\n'
EOF
chmod +x "$TMP/www/cgi-bin/hook"
NEXT_PORT=$((NEXT_PORT + 1)); HOOK_PORT=$NEXT_PORT
busybox httpd -f -p "127.0.0.1:$HOOK_PORT" -h "$TMP/www" &
HOOK_PID=$!
PID_hook=$HOOK_PID	# killed with the access points on exit
touch "$TMP/hook-down"

ap_config B POP000002 "$DB_B" "delivery.inbox=" "delivery.webhook=http://127.0.0.1:$HOOK_PORT/cgi-bin/hook"
ap_config A POP000001 "$DB_A"
route_to A B POP000002
ap_start B || { not_ok "B starts"; finish; }
ap_start A || { not_ok "A starts"; finish; }

for i in 1 2 3; do make_invoice "hook-$i" "$TMP/A/outbox/hook-$i.xml"; done
wait_until 60 "A delivers the 3 messages to B" -- sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \"SELECT count(*) FROM messages WHERE direction=1 AND state='delivered'\")\" = 3 ]"
wait_until 30 "B's webhook deliveries are retried while the backend answers 503" -- sh -c \
	"[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_B' -c \"SELECT count(*) FROM deliveries WHERE attempts >= 2 AND state = 'pending'\")\" = 3 ]"
grep -q "webhook .* answered HTTP 503" "$TMP/B/log" && ok "the failed attempts are logged with the backend's answer" ||
	not_ok "no failed webhook attempt in B's log"
[ "$(sql "$DB_B" "SELECT count(*) FROM deliveries WHERE last_error LIKE '%503%'")" = 3 ] &&
	ok "each delivery records its last error" || not_ok "deliveries' last_error"
rm -f "$TMP/hook-down"
wait_until 30 "the backend receives the 3 documents once it is up" -- sh -c "[ \$(ls '$TMP/hooks' | wc -l) = 3 ]"
wait_until 10 "B records the deliveries as done and the messages as delivered" -- sh -c \
	"[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_B' -c \"SELECT count(*) FROM messages m JOIN deliveries d ON d.message = m.id WHERE d.state = 'done' AND m.state = 'delivered'\")\" = 3 ]"
same=0
for f in "$TMP"/hooks/*; do
	n=$(sed -n 's/.*<InstanceIdentifier>inv-\(hook-[0-9]*\)<.*/\1/p' "$f" | head -1)
	cmp -s "$f" "$TMP/A/outbox/.queued/$n.xml" && same=$((same + 1))
done
[ $same = 3 ] && ok "the backend got each document byte for byte" || not_ok "only $same of 3 documents intact"
[ "$(wc -l < "$TMP/hooks.log")" = 3 ] && ok "each document was POSTed once after the backend came up" || not_ok "hooks.log: $(cat "$TMP/hooks.log")"
grep -q "0088:5798000000001 [^ ]*0088:5798000000002 application/xml" "$TMP/hooks.log" &&
	ok "with Relais-From, Relais-To and the payload's Content-Type" || not_ok "headers: $(head -1 "$TMP/hooks.log")"
ap_stop A; ap_stop B
kill $HOOK_PID 2>/dev/null
finish

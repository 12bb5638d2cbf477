#!/bin/sh
# daemon_metrics.sh - GET /metrics of two access points on loopback (HTTPS, private PostgreSQL): A sends
# N invoices to B, a message is POSTed to B twice (a duplicate), and one signed by a foreign CA is refused.
# The scraped numbers are what happened on each side, every line is exposition format 0.0.4 (checked by
# the validator below), no MessageId shows, and with api.metrics = off the endpoint answers 404.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
N=5
ap_pair_config
ap_start B || { not_ok "B starts"; finish; }
ap_start A || { not_ok "A starts"; finish; }

# scrape NAME: the metrics of NAME (no token) into $TMP/NAME.metrics, its headers into $TMP/NAME.headers
scrape() {
	eval "port=\$PORT_$1"
	curl -s $CURL_TLS -D "$TMP/$1.headers" -o "$TMP/$1.metrics" -w '%{http_code}' \
		"https://127.0.0.1:$port/metrics" > "$TMP/$1.code"
}
# value NAME SERIES: the value of one series (exactly as written) in the last scrape of NAME
value() {
	awk -v s="$2" 'index($0, s " ") == 1 { print substr($0, length(s) + 2) }' "$TMP/$1.metrics"
}
# expect_value NAME SERIES VALUE: scrapes NAME until SERIES has VALUE (for up to 10 s: a counter may be
# added to just after the effect the test waited for)
expect_value() {
	end=$(( $(date +%s) + 10 ))
	while :; do
		scrape "$1"
		got=$(value "$1" "$2")
		[ "$got" = "$3" ] && { ok "$1: $2 = $3"; return 0; }
		[ "$(date +%s)" -gt "$end" ] && { not_ok "$1: $2 is '$got', not $3"; return 1; }
		sleep 0.2
	done
}

# The exposition format 0.0.4, line by line: HELP and TYPE (once per family, HELP first), samples of the
# family last typed (histograms: _bucket with le, _sum, _count), label values quoted with \\ \" \n
# escaped, numeric values; buckets cumulative, +Inf equal to _count. Prints what is wrong, nothing else.
validate() {
	awk '
	function bad(why) { print "line " NR ": " why ": " $0; errors++ }
	BEGIN { name = "[a-zA-Z_:][a-zA-Z0-9_:]*"; lv = "\"([^\"\\\\]|\\\\[\\\\\"n])*\""
		label = "[a-zA-Z_][a-zA-Z0-9_]*=" lv
		sample_re = "^" name "(\\{" label "(," label ")*\\})? -?[0-9]+(\\.[0-9]+)?$" }
	/^# HELP / { if ($3 !~ ("^" name "$") || NF < 4) bad("bad HELP"); help = $3; next }
	/^# TYPE / {
		if (NF != 4 || $4 !~ /^(counter|gauge|histogram)$/) bad("bad TYPE")
		if ($3 != help) bad("TYPE without its HELP just before")
		if ($3 in typed) bad("family typed twice")
		typed[$3] = 1; family = $3; type = $4
		if (type == "counter" && family !~ /_total$/) bad("counter not named _total")
		last_bucket = -1; next }
	/^#/ { bad("unknown comment"); next }
	{
		if ($0 !~ sample_re) { bad("not a sample"); next }
		n = $0; sub(/[{ ].*/, "", n); v = $NF
		if (type == "histogram") {
			if (n == family "_bucket") {
				if ($0 !~ /le="/) bad("bucket without le")
				if (v + 0 < last_bucket) bad("buckets not cumulative")
				last_bucket = v + 0
				if ($0 ~ /le="\+Inf"/) inf = v + 0
			} else if (n == family "_count") {
				if (v + 0 != inf) bad("_count is not the +Inf bucket")
			} else if (n != family "_sum") bad("not a sample of histogram " family)
		} else if (n != family) bad("not a sample of " family)
		samples++
	}
	END { if (samples < 20) { print "only " samples " samples"; errors++ } exit errors > 0 }' "$1"
}

# N invoices through A's outbox
i=1
while [ $i -le $N ]; do
	make_invoice $i "$TMP/inv-$i.xml"
	i=$((i + 1))
done
mv "$TMP"/inv-*.xml "$TMP/A/outbox/"
wait_until 60 "A delivers its $N messages" -- \
	sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \"SELECT count(*) FROM messages WHERE direction=1 AND state='delivered'\")\" = $N ]"

# Straight to B: one message twice (accepted, then a duplicate), one signed with a foreign CA's key
B_URL="https://127.0.0.1:$PORT_B/as4"
post_packed() {	# post_packed NAME KEY-SEAT: packs $TMP/NAME.xml from KEY-SEAT to B and POSTs it
	"$RELAIS" pack --key "$PKI/$2.key.pem" --cert "$PKI/$2.cert.pem" --to-cert "$PKI/POP000002.cert.pem" \
		--payload "$TMP/$1.xml" -o "$TMP/$1.mime" >/dev/null
	sed -n 's/^Content-Type: \(.*\)\r$/\1/p' "$TMP/$1.mime" | head -1 > "$TMP/$1.ctype"
	n=$(sed -n '1,/^\r\{0,1\}$/p' "$TMP/$1.mime" | wc -c)
	tail -c +$((n + 1)) "$TMP/$1.mime" > "$TMP/$1.raw"
}
send_raw() {	# send_raw NAME: POSTs what post_packed made; the status in $TMP/NAME.code
	curl -s $CURL_TLS -H "Content-Type: $(cat "$TMP/$1.ctype")" --data-binary @"$TMP/$1.raw" \
		-o "$TMP/$1.answer" -w '%{http_code}' "$B_URL" > "$TMP/$1.code"
}
make_invoice twice "$TMP/twice.xml"
post_packed twice POP000001
send_raw twice
[ "$(cat "$TMP/twice.code")" = 200 ] && ok "B accepts a message POSTed straight to it" || not_ok "first POST: $(cat "$TMP/twice.code")"
send_raw twice
[ "$(cat "$TMP/twice.code")" = 200 ] && grep -q Receipt "$TMP/twice.answer" && ok "the same message again gets the receipt" ||
	not_ok "second POST: $(cat "$TMP/twice.code")"
make_invoice foreign "$TMP/foreign.xml"
post_packed foreign POP000666
send_raw foreign
[ "$(cat "$TMP/foreign.code")" = 500 ] && grep -q 'errorCode="EBMS:0101"' "$TMP/foreign.answer" &&
	ok "a message signed under a foreign CA is refused with EBMS:0101" || not_ok "foreign: $(cat "$TMP/foreign.code") $(head -c 300 "$TMP/foreign.answer")"
wait_until 30 "B's inbox holds $((N + 1)) files" -- sh -c "[ \$(find '$TMP/B/inbox' -maxdepth 1 -type f | wc -l) = $((N + 1)) ]"

# B, the receiver
scrape B
[ "$(cat "$TMP/B.code")" = 200 ] && ok "GET /metrics answers 200 without a token" || not_ok "B /metrics: HTTP $(cat "$TMP/B.code")"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$TMP/B.headers" && ok "Content-Type: text/plain; version=0.0.4" ||
	not_ok "Content-Type: $(grep -i '^Content-Type' "$TMP/B.headers")"
expect_value B 'relais_inbound_requests_total{outcome="accepted"}' $((N + 1))
expect_value B 'relais_inbound_requests_total{outcome="duplicate"}' 1
expect_value B 'relais_inbound_requests_total{outcome="refused",code="EBMS:0101"}' 1
expect_value B 'relais_inbound_requests_total{outcome="refused",code="EBMS:0004"}' 0
expect_value B 'relais_inbound_processing_seconds_count' $((N + 2))
expect_value B 'relais_inbound_processing_seconds_bucket{le="+Inf"}' $((N + 2))
expect_value B 'relais_backend_deliveries_total{channel="inbox",outcome="delivered"}' $((N + 1))
expect_value B 'relais_backend_deliveries_total{channel="webhook",outcome="delivered"}' 0
expect_value B 'relais_http_responses_total{class="5xx"}' 1
expect_value B 'relais_outbound_attempts_total{outcome="delivered"}' 0
expect_value B 'relais_inbound_messages{state="delivered"}' $((N + 1))
expect_value B 'relais_database_up' 1
[ "$(value B 'relais_http_responses_total{class="2xx"}')" -ge $((N + 2)) ] && ok "B counted its 2xx answers" ||
	not_ok "B 2xx: $(value B 'relais_http_responses_total{class="2xx"}')"
sum=$(value B relais_inbound_processing_seconds_sum)
awk -v s="$sum" 'BEGIN { exit !(s > 0 && s < 60) }' && ok "B's processing time sum is $sum s" || not_ok "B's sum: $sum"
if validate "$TMP/B.metrics" > "$TMP/B.invalid"; then ok "every line of B's metrics is exposition format"
else not_ok "B's metrics are not exposition format:"; sed 's/^/#   /' "$TMP/B.invalid"; fi

# A, the sender
expect_value A 'relais_outbound_attempts_total{outcome="delivered"}' $N
expect_value A 'relais_outbound_attempts_total{outcome="retry"}' 0
expect_value A 'relais_outbound_attempts_total{outcome="failed"}' 0
expect_value A 'relais_outbound_send_seconds_count' $N
expect_value A 'relais_outbound_messages{state="delivered"}' $N
expect_value A 'relais_outbound_messages{state="queued"}' 0
expect_value A 'relais_inbound_requests_total{outcome="accepted"}' 0
expect_value A 'relais_http_responses_total{class="5xx"}' 0
expect_value A 'relais_revocation_responders{state="unreachable"}' 0
if validate "$TMP/A.metrics" > "$TMP/A.invalid"; then ok "every line of A's metrics is exposition format"
else not_ok "A's metrics are not exposition format:"; sed 's/^/#   /' "$TMP/A.invalid"; fi

# The state read at scrape time: the certificate's expiry as openssl reads it, memory, start time
not_after=$(date -d "$(openssl x509 -in "$PKI/POP000001.cert.pem" -noout -enddate | cut -d= -f2)" +%s)
left=$(value A relais_signing_certificate_remaining_seconds)
diff=$(( not_after - $(date +%s) - left ))
[ -n "$left" ] && [ ${diff#-} -le 5 ] && ok "A's certificate expires in $left s, as openssl says" ||
	not_ok "certificate seconds left: '$left', openssl: $((not_after - $(date +%s)))"
# the CRL of trust.crls: seconds until its nextUpdate, as openssl reads it
next_update=$(date -d "$(openssl crl -in "$PKI/ap-ca.crl.pem" -noout -nextupdate | cut -d= -f2)" +%s)
crl_left=$(value A "relais_revocation_crl_next_update_seconds{file=\"$PKI/ap-ca.crl.pem\",issuer=\"relais Test AP CA\"}")
diff=$(( next_update - $(date +%s) - ${crl_left:-0} ))
[ -n "$crl_left" ] && [ ${diff#-} -le 5 ] && ok "A's CRL is due in $crl_left s, as openssl says" ||
	not_ok "CRL seconds left: '$crl_left', openssl: $((next_update - $(date +%s)))"
rss=$(value A relais_process_resident_memory_bytes)
[ -n "$rss" ] && [ "$rss" -gt 1000000 ] && ok "A's resident memory: $rss bytes" || not_ok "resident memory: '$rss'"
started=$(value A relais_process_start_time_seconds)
[ -n "$started" ] && [ $(( $(date +%s) - started )) -ge 0 ] && [ $(( $(date +%s) - started )) -lt 120 ] &&
	ok "A started at $started" || not_ok "start time: '$started'"
grep -q "^relais_build_info{version=\"[^\"]*\",party_id=\"POP000001\"} 1$" "$TMP/A.metrics" && ok "build info names A's party" ||
	not_ok "build info: $(grep build_info "$TMP/A.metrics")"

# No MessageId (nor any other value of a message) becomes a label
MID=$(sed -n 's/.*<eb:MessageId>\([^<]*\)<.*/\1/p' "$TMP/twice.mime" | head -1)
[ -n "$MID" ] && ! grep -qF "$MID" "$TMP/B.metrics" && ! grep -q '0088:' "$TMP/B.metrics" &&
	ok "no MessageId or participant in the metrics" || not_ok "a message value leaked into the metrics"

# Only GET; and api.metrics = off answers 404 while health stays
curl -s $CURL_TLS -X POST -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT_B/metrics" > "$TMP/code"
[ "$(cat "$TMP/code")" = 405 ] && ok "POST /metrics is 405" || not_ok "POST /metrics: $(cat "$TMP/code")"
ap_stop B || not_ok "B stops"
echo "api.metrics=off" >> "$TMP/B/sets"
ap_start B || { not_ok "B starts with api.metrics=off"; finish; }
scrape B
[ "$(cat "$TMP/B.code")" = 404 ] && ok "api.metrics=off: GET /metrics is 404" || not_ok "api.metrics=off: HTTP $(cat "$TMP/B.code")"
ap_api B GET /api/v1/health >/dev/null
[ "$(cat "$TMP/http_status")" = 200 ] && ok "health still answers" || not_ok "health: $(cat "$TMP/http_status")"
ap_stop A && ap_stop B && ok "A and B stop" || not_ok "A and B stop"
finish

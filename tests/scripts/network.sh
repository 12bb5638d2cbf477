#!/bin/sh
# network.sh - a whole Peppol network on one machine: a private PostgreSQL, a real dnsmasq serving the
# SML zone, `relais smp` publishing signed metadata (SMP000001) for participants hosted by access point
# B, and two `relais serve` access points over HTTPS. A's documents name only the receiver in their SBDH
# (no URL, no route): A finds B through DNS and the SMP and delivers, byte for byte, with the receipt
# stored - over the NAPTR and CNAME routes together, the NAPTR route alone and the CNAME route alone. A
# receiver that is not registered fails for good; with the DNS server down A keeps retrying and delivers
# once it is back.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
. "$top_srcdir/tests/scripts/smp_fixtures.sh"
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || { echo "SKIP: no dnsmasq"; exit 77; }
# every background process (access points, dnsmasq, relais smp) is a PID_* variable: kill_aps ends them
start_test_db
trap 'exit 130' INT TERM
DB_A=$(pg_createdb net_a)
DB_B=$(pg_createdb net_b)

ZONE=sml.network.test
SCHEME=iso6523-actorid-upis
# SML names, computed here independently of relais: base32 SHA-256 (NAPTR, naptr_of) and MD5 hex (CNAME).
lower() { printf '%s' "$1" | tr 'A-Z' 'a-z'; }
cname_of() { echo "B-$(lower "$1" | md5sum | cut -c1-32).$SCHEME.$ZONE"; }

# The participants B hosts, one per SML route; one only ever asked while DNS is down; one not registered.
P_BOTH=9915:net-both-routes
P_NAPTR=9915:net-naptr-only
P_CNAME=9915:net-cname-only
P_LATER=9915:net-dns-down
P_UNKNOWN=9915:net-not-registered

ap_config B POP000002 "$DB_B"
ap_config A POP000001 "$DB_A"
DNS_PORT=$((NEXT_PORT + 1))
SMP_PORT=$((NEXT_PORT + 2))
NEXT_PORT=$SMP_PORT
printf '%s\n' "trust.smp_anchors=$PKI/smp-ca-chain.pem" "discovery.sml_zone=$ZONE" \
	"discovery.dns=127.0.0.1:$DNS_PORT" "discovery.timeout=2s" >> "$TMP/A/sets"

# The CNAME route's SMP is http://<B-name>/ on port 80: a private loopback address of its own, when this
# test may bind port 80 (root).
ADDR80=127.$((220 + NEXT_PORT % 30)).$((NEXT_PORT / 250 % 250)).$((NEXT_PORT % 250 + 2))
CAN_BIND_80=0
[ "$(id -u)" = 0 ] && CAN_BIND_80=1

# --- B, its participants and its SMP ---
ap_start B || { not_ok "B starts"; finish; }
ok "B serves AS4 on https://127.0.0.1:$PORT_B/as4"
for p in "$P_BOTH" "$P_NAPTR" "$P_CNAME" "$P_LATER"; do
	"$RELAIS" participant add --set "database.url=$DB_B" "$p" "$INVOICE_DOCTYPE" >"$TMP/stdout" 2>&1 ||
		{ not_ok "participant add $p"; cat "$TMP/stdout"; finish; }
done
ok "B's participants are in its database"

# start_smp NAME HOST:PORT: relais smp for B's participants, publishing B's endpoint and certificate.
start_smp() {
	"$RELAIS" smp --set "database.url=$DB_B" --set "smp.listen=$2" --set "smp.key=$PKI/SMP000001.key.pem" \
		--set "smp.cert=$PKI/SMP000001.cert.pem" --set "smp.endpoint_url=https://127.0.0.1:$PORT_B/as4" \
		--set "smp.endpoint_cert=$PKI/POP000002.cert.pem" >"$TMP/$1.log" 2>&1 &
	eval "PID_$1=$!"
	i=0
	while [ $i -lt 50 ]; do
		grep -q "^relais smp: serving on $2\$" "$TMP/$1.log" && return 0
		eval "kill -0 \$PID_$1" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	sed 's/^/#   /' "$TMP/$1.log"
	return 1
}
start_smp SMP "127.0.0.1:$SMP_PORT" && ok "relais smp serves on 127.0.0.1:$SMP_PORT" ||
	{ not_ok "relais smp serves"; finish; }
if [ "$CAN_BIND_80" = 1 ]; then
	start_smp SMP80 "$ADDR80:80" && ok "relais smp serves on $ADDR80:80 (the CNAME route)" ||
		{ not_ok "relais smp serves on port 80"; finish; }
else
	echo "# not root: nothing may listen on port 80, so the CNAME route is not delivered over here"
fi

# --- the SML: dnsmasq on a loopback port ---
SMP_URL="http://smp.network.test:$SMP_PORT"
naptr() { echo "--naptr-record=$(naptr_of "$1"),100,10,U,Meta:SMP,!^.*\$!$SMP_URL!"; }
cname() { echo "--cname=$(cname_of "$1"),smp80.network.test"; }
start_dns() {
	user_opt=""
	[ "$(id -u)" = 0 ] && user_opt="--user=root"
	"$DNSMASQ" -k --conf-file=/dev/null --no-resolv --no-hosts --port="$DNS_PORT" --listen-address=127.0.0.1 \
		--bind-interfaces $user_opt --local=/network.test/ --log-facility="$TMP/dnsmasq.log" --log-queries \
		--host-record=smp.network.test,127.0.0.1 "--host-record=smp80.network.test,$ADDR80" \
		"$(naptr "$P_BOTH")" "$(cname "$P_BOTH")" "$(naptr "$P_NAPTR")" "$(cname "$P_CNAME")" \
		"$(naptr "$P_LATER")" &
	PID_DNS=$!
	i=0
	while [ $i -lt 30 ]; do
		"$RELAIS" lookup --sml-zone "$ZONE" --dns "127.0.0.1:$DNS_PORT" --set discovery.timeout=1s \
			--set "trust.smp_anchors=$PKI/smp-ca-chain.pem" "$P_NAPTR" "$INVOICE_DOCTYPE" >/dev/null 2>&1 && return 0
		kill -0 "$PID_DNS" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	tail -5 "$TMP/dnsmasq.log" 2>/dev/null | sed 's/^/#   /'
	return 1
}
stop_dns() {
	kill -TERM "$PID_DNS" 2>/dev/null
	wait "$PID_DNS" 2>/dev/null
	unset PID_DNS
}
start_dns && ok "dnsmasq serves the SML zone $ZONE on 127.0.0.1:$DNS_PORT" || { not_ok "dnsmasq serves"; finish; }

# --- A: no routing table, discovery only ---
ap_start A || { not_ok "A starts"; finish; }
grep -q "discovery: SML zone $ZONE" "$TMP/A/log" && ok "A serves on :$PORT_A and looks receivers up in $ZONE" ||
	not_ok "A logs its discovery configuration"

# state_of MESSAGE-ID: its state at A.  delivered_to_b N FILE DESC: B's inbox file of inv-N equals FILE.
state_of() { sql "$DB_A" "SELECT state FROM messages WHERE direction=1 AND message_id='$1'"; }
# B writes its inbox after the receipt went out (temporary name, then renamed): waits up to 15 s.
inbox_file_of() { grep -l "<InstanceIdentifier>inv-$1<" "$TMP"/B/inbox/*.xml 2>/dev/null | head -1; }
delivered_to_b() { # N SOURCE-FILE DESCRIPTION
	i=0
	while [ -z "$(inbox_file_of "$1")" ] && [ $i -lt 75 ]; do sleep 0.2; i=$((i + 1)); done
	f=$(inbox_file_of "$1")
	if [ -n "$f" ] && cmp -s "$f" "$2"; then ok "$3"; else not_ok "$3 (${f:-nothing} in B's inbox)"; fi
}
# Outbound messages from the outbox delivered with a receipt.
OUTBOX_DONE="SELECT count(*) FROM messages WHERE direction=1 AND state='delivered' AND receipt IS NOT NULL AND source <> 'cli'"
outbox_done() { sql "$DB_A" "$OUTBOX_DONE"; }

# route_case NAME PARTICIPANT N: one document through `relais send` (waiting for the receipt), one
# through A's outbox; both reach B's inbox as sent and are delivered with a receipt at A.
route_case() {
	name=$1; p=$2; n=$3
	make_invoice "$n" "$TMP/send-$n.xml" "$p"
	expect_exit 0 "$name: relais send without --to-url is delivered" -- \
		"$RELAIS" send -c "$TMP/A/relais.conf" --timeout 40 --payload "$TMP/send-$n.xml"
	mid=$(sed -n 's/^queued //p' "$TMP/stdout")
	[ "$(sql "$DB_A" "SELECT state || ' ' || (receipt IS NOT NULL) || ' ' || dest_url FROM messages WHERE
		direction=1 AND message_id='$mid'")" = "delivered true https://127.0.0.1:$PORT_B/as4" ] &&
		ok "$name: A stored the receipt; the destination found is B's" ||
		not_ok "$name: A's record: $(sql "$DB_A" "SELECT state, last_error, dest_url FROM messages WHERE message_id='$mid'")"
	delivered_to_b "$n" "$TMP/send-$n.xml" "$name: the sent document is in B's inbox, byte for byte"
	n2=$((n + 1))
	make_invoice "$n2" "$TMP/src-$n2.xml" "$p"
	before=$(outbox_done)
	cp "$TMP/src-$n2.xml" "$TMP/staged.xml" && mv "$TMP/staged.xml" "$TMP/A/outbox/inv-$n2.xml"
	wait_until 30 "$name: A delivers the outbox document with a receipt" -- \
		sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \"$OUTBOX_DONE\")\" = $((before + 1)) ]"
	delivered_to_b "$n2" "$TMP/src-$n2.xml" "$name: the outbox document is in B's inbox, byte for byte"
}

# --- the three ways the SML may publish a participant ---
expect_exit 0 "NAPTR and CNAME: relais lookup finds B" -- "$RELAIS" lookup --sml-zone "$ZONE" \
	--dns "127.0.0.1:$DNS_PORT" --set "trust.smp_anchors=$PKI/smp-ca-chain.pem" --explain "$P_BOTH" "$INVOICE_DOCTYPE"
grep -q "SML: NAPTR gives SMP $SMP_URL" "$TMP/stdout" && grep -q "^endpoint *https://127.0.0.1:$PORT_B/as4\$" "$TMP/stdout" &&
	ok "NAPTR and CNAME: the NAPTR record is used" || { not_ok "NAPTR and CNAME: the NAPTR record is used"; cat "$TMP/stdout"; }
: > "$TMP/dnsmasq.log"
route_case "NAPTR and CNAME" "$P_BOTH" 100
grep -q "query\[NAPTR\] $(naptr_of "$P_BOTH")" "$TMP/dnsmasq.log" && ! grep -q "$(cname_of "$P_BOTH")" "$TMP/dnsmasq.log" &&
	ok "NAPTR and CNAME: A asked the NAPTR name, never the CNAME name" ||
	not_ok "NAPTR and CNAME: A asked the NAPTR name, never the CNAME name"
route_case "NAPTR only" "$P_NAPTR" 200
if [ "$CAN_BIND_80" = 1 ]; then
	route_case "CNAME only" "$P_CNAME" 300
	grep -q "query\[A\] $(cname_of "$P_CNAME")" "$TMP/dnsmasq.log" && ok "CNAME only: A asked for the B-MD5 name" ||
		not_ok "CNAME only: A asked for the B-MD5 name"
else
	echo "# CNAME only: skipped (port 80 needs root)"
fi

# --- not registered: NXDOMAIN, failed for good ---
make_invoice 400 "$TMP/unknown.xml" "$P_UNKNOWN"
expect_exit 1 "a receiver not registered in the SML: relais send reports the failure" -- \
	"$RELAIS" send -c "$TMP/A/relais.conf" --timeout 30 --payload "$TMP/unknown.xml"
grep -q "not registered in SML zone $ZONE" "$TMP/stderr" && [ "$(wc -l < "$TMP/stderr")" = 1 ] && ok "not registered: $(head -1 "$TMP/stderr")" ||
	not_ok "not registered: $(cat "$TMP/stderr")"
mid=$(sed -n 's/^queued //p' "$TMP/stdout")
[ "$(state_of "$mid")" = failed ] && sql "$DB_A" "SELECT last_error FROM messages WHERE message_id='$mid'" |
	grep -q "is not registered" && ok "not registered: failed at A, the reason recorded" ||
	not_ok "not registered: A's record: $(sql "$DB_A" "SELECT state, last_error FROM messages WHERE message_id='$mid'")"
[ -z "$(inbox_file_of 400)" ] && ok "not registered: nothing reached B" || not_ok "not registered: something reached B"

# --- DNS down: retry, then delivered once it is back ---
stop_dns
make_invoice 500 "$TMP/later.xml" "$P_LATER"
expect_exit 0 "DNS down: relais send --no-wait queues" -- \
	"$RELAIS" send -c "$TMP/A/relais.conf" --no-wait --payload "$TMP/later.xml"
mid=$(sed -n 's/^queued //p' "$TMP/stdout")
retrying() {
	[ "$(sql "$DB_A" "SELECT state FROM messages WHERE message_id='$mid' AND last_error LIKE '%unreachable%'")" = retry ]
}
wait_until 20 "DNS down: A keeps the message for another attempt (state retry, DNS unreachable)" -- retrying
wait_until 20 "DNS down: A tries again" -- \
	sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \"SELECT attempts FROM messages WHERE message_id='$mid'\")\" -ge 2 ]"
[ "$(state_of "$mid")" = retry ] && [ "$(sql "$DB_A" "SELECT attempts FROM messages WHERE message_id='$mid'")" -ge 2 ] &&
	ok "DNS down: still retry after $(sql "$DB_A" "SELECT attempts FROM messages WHERE message_id='$mid'") attempts: $(sql "$DB_A" "SELECT last_error FROM messages WHERE message_id='$mid'")" ||
	not_ok "DNS down: A's record: $(sql "$DB_A" "SELECT state, attempts, last_error FROM messages WHERE message_id='$mid'")"
[ -z "$(inbox_file_of 500)" ] && ok "DNS down: nothing reached B" || not_ok "DNS down: something reached B"
start_dns && ok "DNS is back" || { not_ok "dnsmasq restarts"; finish; }
wait_until 20 "DNS back: A delivers the message" -- sh -c "[ \"\$(\"$PG_BINDIR/psql\" -X -A -t -q -d '$DB_A' -c \
	\"SELECT state FROM messages WHERE message_id='$mid' AND receipt IS NOT NULL\")\" = delivered ]"
delivered_to_b 500 "$TMP/later.xml" "DNS back: the document is in B's inbox, byte for byte"

grep -q "duplicate" "$TMP/B/log" && not_ok "B saw duplicates" || ok "no message reached B twice"
ap_stop A && ok "A stops with status 0 on SIGTERM" || not_ok "A's exit status on SIGTERM"
ap_stop B && ok "B stops with status 0 on SIGTERM" || not_ok "B's exit status on SIGTERM"
finish

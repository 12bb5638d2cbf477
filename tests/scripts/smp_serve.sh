#!/bin/sh
# smp_serve.sh - `relais participant` and `relais smp` with a real PostgreSQL, dnsmasq and relais lookup:
# participants added to the database are published by the SMP (signed with the test SMP key SMP000001),
# found end to end through the SML, and verified independently by xmlsec1; an SMP signing with an access
# point key is refused by lookup.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/smp_fixtures.sh"
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || { echo "SKIP: no dnsmasq"; exit 77; }
start_private_pg

ZONE=sml.relais.test
SCHEME=iso6523-actorid-upis
DNS_PORT=$((61000 + $$ % 4000))	# above the ephemeral ports, apart from the daemon tests
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	stop_private_pg
}
trap cleanup EXIT INT TERM

DB="--set database.url=$PGURL"
P=9915:hosted
P_BADKEY=9915:hosted-elsewhere
P_UNKNOWN=9915:not-hosted

# --- the database ---
expect_exit 0 "db migrate" -- "$RELAIS" db migrate $DB
expect_exit 0 "participant add (two document types)" -- \
	"$RELAIS" participant add $DB "$P" "$INVOICE_DOCTYPE" "$CREDITNOTE_DOCTYPE"
expect_exit 0 "participant add, another one" -- "$RELAIS" participant add $DB "$SCHEME::$P_BADKEY" "$INVOICE_DOCTYPE"
expect_exit 0 "participant list" -- "$RELAIS" participant list $DB
[ "$(wc -l <"$TMP/stdout")" = 3 ] && grep -qF "$SCHEME::$P $INVOICE_DOCTYPE $BILLING_PROCESS" "$TMP/stdout" &&
	ok "list: three rows, canonical identifiers" || { not_ok "list: three rows, canonical identifiers"; cat "$TMP/stdout"; }
expect_exit 0 "participant remove one document type" -- "$RELAIS" participant remove $DB "$P" "$CREDITNOTE_DOCTYPE"
expect_exit 0 "participant list PARTICIPANT" -- "$RELAIS" participant list $DB "$P"
[ "$(wc -l <"$TMP/stdout")" = 1 ] && ok "list PARTICIPANT: one row left" || not_ok "list PARTICIPANT: one row left"
expect_exit 2 "participant add with a malformed identifier" -- "$RELAIS" participant add $DB "9915" "$INVOICE_DOCTYPE"
expect_exit 2 "participant add without document type" -- "$RELAIS" participant add $DB "$P"
expect_refused RELAIS:NOT_FOUND "participant remove of what is not there" -- \
	"$RELAIS" participant remove $DB "$P_UNKNOWN"
url2=$(pg_createdb empty) || { not_ok "create an unmigrated database"; finish; }
expect_refused RELAIS:DB "participant list on a database without the schema" -- \
	"$RELAIS" participant list --set "database.url=$url2"
grep -q 'relais db migrate' "$TMP/stderr" && ok "unmigrated: says what to do" || not_ok "unmigrated: says what to do"

# --- the SMP: one signing with the SMP key, one with an access point key ---
SMP_PORT=$((DNS_PORT + 1))
BAD_PORT=$((DNS_PORT + 2))
start_smp() { # OUTFILE PORT KEY CERT: sets SMP_PID
	"$RELAIS" smp $DB --set "smp.listen=127.0.0.1:$2" --set "smp.key=$3" --set "smp.cert=$4" \
		--set smp.endpoint_url=https://ap.relais.test/as4 --set "smp.endpoint_cert=$PKI/POP000002.cert.pem" \
		>"$1" 2>&1 &
	SMP_PID=$!
	PIDS="$PIDS $SMP_PID"
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		grep -q 'serving on' "$1" && break
		sleep 0.1
	done
	grep -q "^relais smp: serving on 127.0.0.1:$2\$" "$1"
}
start_smp "$TMP/smp.out" "$SMP_PORT" "$PKI/SMP000001.key.pem" "$PKI/SMP000001.cert.pem" &&
	ok "relais smp serves on port $SMP_PORT" || { not_ok "relais smp serves"; cat "$TMP/smp.out"; finish; }
GOOD_PID=$SMP_PID
start_smp "$TMP/smp-bad.out" "$BAD_PORT" "$PKI/POP000001.key.pem" "$PKI/POP000001.cert.pem" &&
	ok "a second relais smp (AP key) serves on port $BAD_PORT" ||
	{ not_ok "second relais smp serves"; cat "$TMP/smp-bad.out"; finish; }
expect_exit 2 "relais smp without a key" -- "$RELAIS" smp $DB --set smp.endpoint_url=https://ap.relais.test/as4

# --- the SML ---
"$DNSMASQ" -k --conf-file=/dev/null --no-resolv --no-hosts --port="$DNS_PORT" --listen-address=127.0.0.1 \
	--bind-interfaces --pid-file="$TMP/dnsmasq.pid" $([ "$(id -u)" = 0 ] && echo --user=root) --local=/relais.test/ \
	--log-facility="$TMP/dnsmasq.log" --host-record=smp.relais.test,127.0.0.1 \
	"--naptr-record=$(naptr_of "$P"),100,10,U,Meta:SMP,!^.*\$!http://smp.relais.test:$SMP_PORT!" \
	"--naptr-record=$(naptr_of "$P_UNKNOWN"),100,10,U,Meta:SMP,!^.*\$!http://smp.relais.test:$SMP_PORT!" \
	"--naptr-record=$(naptr_of "$P_BADKEY"),100,10,U,Meta:SMP,!^.*\$!http://smp.relais.test:$BAD_PORT!" &
PIDS="$PIDS $!"
sleep 0.3
lookup() {
	"$RELAIS" lookup --sml-zone "$ZONE" --dns "127.0.0.1:$DNS_PORT" --set "trust.smp_anchors=$PKI/smp-ca-chain.pem" \
		--set "trust.anchors=$PKI/ca-chain.pem" --set discovery.timeout=2s "$@"
}

expect_exit 0 "lookup of a hosted participant" -- lookup --explain "$P" "$INVOICE_DOCTYPE"
grep -q '^endpoint *https://ap.relais.test/as4$' "$TMP/stdout" && grep -q 'signature: valid (rsa-sha256 sha256 exc-c14n), signer SMP000001' "$TMP/stdout" &&
	ok "lookup: endpoint from relais smp, signature valid" || { not_ok "lookup: endpoint from relais smp"; cat "$TMP/stdout"; }
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$TMP/stdout" >"$TMP/ep.pem"
openssl x509 -in "$PKI/POP000002.cert.pem" >"$TMP/pop2.pem"
expect_same_file "$TMP/ep.pem" "$TMP/pop2.pem" "lookup: the published certificate is POP000002's"
expect_exit 0 "lookup without document type: the ServiceGroup" -- lookup "$P"
grep -qF "doctype      $INVOICE_DOCTYPE" "$TMP/stdout" && [ "$(grep -c '^doctype' "$TMP/stdout")" = 1 ] &&
	ok "ServiceGroup lists the one document type left" || not_ok "ServiceGroup lists the one document type left"
expect_exit 3 "lookup of a removed document type" -- lookup "$P" "$CREDITNOTE_DOCTYPE"
expect_exit 3 "lookup of a participant the SMP does not host" -- lookup "$P_UNKNOWN" "$INVOICE_DOCTYPE"
expect_refused EBMS:0101 "lookup at an SMP that signs with an access point key" -- lookup "$P_BADKEY" "$INVOICE_DOCTYPE"

# a change in the database shows at once
expect_exit 0 "participant add again" -- "$RELAIS" participant add $DB "$P" "$CREDITNOTE_DOCTYPE"
expect_exit 0 "lookup of the document type added back" -- lookup "$P" "$CREDITNOTE_DOCTYPE"

# the discovery cache shared through the database: an answer is remembered after the SMP changed
expect_exit 0 "lookup --cache: asks and remembers" -- lookup --cache $DB --explain "$P" "$CREDITNOTE_DOCTYPE"
grep -q 'cache:' "$TMP/stdout" && not_ok "first lookup --cache had nothing remembered" || ok "first lookup --cache asks the SMP"
expect_exit 0 "participant remove (the SMP now answers 404)" -- "$RELAIS" participant remove $DB "$P" "$CREDITNOTE_DOCTYPE"
expect_exit 3 "lookup without cache sees it gone" -- lookup "$P" "$CREDITNOTE_DOCTYPE"
expect_exit 0 "lookup --cache: the remembered endpoint" -- lookup --cache $DB --explain "$P" "$CREDITNOTE_DOCTYPE"
grep -q 'cache: endpoint from the shared database' "$TMP/stdout" && grep -q '^endpoint *https://ap.relais.test/as4$' "$TMP/stdout" &&
	ok "lookup --cache: endpoint and certificate from smp_cache" || { not_ok "lookup --cache: from smp_cache"; cat "$TMP/stdout"; }
expect_exit 3 "lookup --cache of a participant not hosted" -- lookup --cache $DB "$P_UNKNOWN" "$INVOICE_DOCTYPE"
expect_exit 3 "... again: not found remembered" -- lookup --cache $DB --explain "$P_UNKNOWN" "$INVOICE_DOCTYPE"
grep -q 'cache: "not found" from the shared database' "$TMP/stdout" && ok "negative answer from smp_cache" ||
	not_ok "negative answer from smp_cache"
expect_refused RELAIS:DB "lookup --cache on a database without the schema" -- \
	lookup --cache --set "database.url=$url2" "$P" "$INVOICE_DOCTYPE"

# xmlsec1, an independent implementation, verifies what relais smp signed
if command -v xmlsec1 >/dev/null 2>&1 && command -v curl >/dev/null 2>&1; then
	curl -s -o "$TMP/served.xml" "http://127.0.0.1:$SMP_PORT/$(pct "$SCHEME::$P")/services/$(pct "$INVOICE_DOCTYPE")"
	expect_exit 0 "xmlsec1 verifies the served SignedServiceMetadata" -- xmlsec1 --verify \
		--trusted-pem "$PKI/root-ca.cert.pem" --untrusted-pem "$PKI/smp-ca.cert.pem" "$TMP/served.xml"
fi

kill -TERM "$GOOD_PID"
wait "$GOOD_PID"
[ $? = 0 ] && grep -q 'stopped by signal' "$TMP/smp.out" && ok "relais smp stops on SIGTERM" ||
	not_ok "relais smp stops on SIGTERM"
finish

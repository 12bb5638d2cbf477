#!/bin/sh
# lookup.sh - `relais lookup` end to end on a private network: a real dnsmasq on a loopback port serves
# the SML zone (NAPTR and CNAME records), busybox httpd serves SMP responses signed by the test SMP
# (SMP000001, by xmlsec1). Each failure kind has its own message and exit status: not registered (3),
# DNS or SMP unreachable (4), malformed record (5), refused signature (1).
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/smp_fixtures.sh"
sml_test_network 0 4000	# apart from the daemon tests
DEAD_PORT=$((DNS_PORT + 2))

# SML names, computed here independently of relais: MD5 hex (CNAME) and base32 SHA-256 (NAPTR, naptr_of).
lower() { printf '%s' "$1" | tr 'A-Z' 'a-z'; }
cname_of() { echo "B-$(lower "$1" | md5sum | cut -c1-32).$SCHEME.$ZONE"; }

# Participants, one per route or failure.
P_NAPTR=9915:naptr-only
P_CNAME=9915:cname-only
P_BOTH=9915:both-routes
P_UNKNOWN=9915:not-registered
P_BADRE=9915:bad-regexp
P_OTHERSVC=9915:other-service
P_GROUP=9915:group
P_UNSIGNED=9915:unsigned
P_WRONGSIG=9915:wrong-signer
P_REDIRECT=9915:redirect
P_BADREDIRECT=9915:bad-redirect
P_CACHE=9915:cached
P_NOTHING=9915:nothing-published
SMP="http://smp.relais.test:$HTTP_PORT"
SMP2="http://smp2.relais.test:$HTTP_PORT"

# The CNAME route's SMP is http://<cname>/ on port 80: served on a private loopback address when this test
# may bind port 80 (root), else only the DNS part of that route is checked.
ADDR80=127.$((($$ >> 8) % 200 + 20)).$(($$ % 250 + 2)).$(($$ % 7 + 2))
CAN_BIND_80=0
[ "$(id -u)" = 0 ] && CAN_BIND_80=1

naptr() { echo "--naptr-record=$(naptr_of "$1"),100,10,U,Meta:SMP,$2"; }
set -- \
	"$(naptr "$P_NAPTR" "!^.*\$!$SMP!")" \
	"--cname=$(cname_of "$P_CNAME"),smp80.relais.test" \
	"$(naptr "$P_BOTH" "!^.*\$!$SMP2!")" "--cname=$(cname_of "$P_BOTH"),smp80.relais.test" \
	"$(naptr "$P_BADRE" "!^.*\$http://broken.example")" \
	"--naptr-record=$(naptr_of "$P_OTHERSVC"),100,10,U,Meta:Other,!^.*\$!$SMP!" \
	"$(naptr "$P_GROUP" "!^.*\$!$SMP!")" "$(naptr "$P_UNSIGNED" "!^.*\$!$SMP!")" \
	"$(naptr "$P_WRONGSIG" "!^.*\$!$SMP!")" "$(naptr "$P_REDIRECT" "!^.*\$!$SMP!")" \
	"$(naptr "$P_BADREDIRECT" "!^.*\$!$SMP!")" "$(naptr "$P_CACHE" "!^.*\$!$SMP!")" \
	"$(naptr "$P_NOTHING" "!^.*\$!$SMP!")" \
	--host-record=smp.relais.test,127.0.0.1 --host-record=smp2.relais.test,127.0.0.1 \
	"--host-record=smp80.relais.test,$ADDR80"
sml_test_servers "$@"

# publish PARTICIPANT DOCTYPE FILE: where the SMP serves a participant's ServiceMetadata (busybox decodes
# the percent-encoded path into these file names).
publish() {
	mkdir -p "$WWW/$SCHEME::$1/services"
	cp "$3" "$WWW/$SCHEME::$1/services/$2"
}
signed_metadata() { # PARTICIPANT ENDPOINT-URL OUT
	metadata_xml "$1" "$INVOICE_DOCTYPE" "$2" "$PKI/POP000002.cert.pem" >"$TMP/tmpl.xml"
	smp_sign "$TMP/tmpl.xml" "$3"
}
for p in "$P_NAPTR" "$P_CNAME" "$P_BOTH" "$P_CACHE"; do
	signed_metadata "$p" "https://ap-$(echo "$p" | cut -d: -f2).example.org/as4" "$TMP/m.xml"
	publish "$p" "$INVOICE_DOCTYPE" "$TMP/m.xml"
done
metadata_xml "$P_UNSIGNED" "$INVOICE_DOCTYPE" https://ap.example.org/as4 "$PKI/POP000002.cert.pem" |
	sed 's#<Signature xmlns=.*</Signature>##' >"$TMP/m.xml"
publish "$P_UNSIGNED" "$INVOICE_DOCTYPE" "$TMP/m.xml"
metadata_xml "$P_WRONGSIG" "$INVOICE_DOCTYPE" https://ap.example.org/as4 "$PKI/POP000002.cert.pem" >"$TMP/tmpl.xml"
sign_with "$PKI/POP000666.key.pem" "$PKI/POP000666.cert.pem" "$TMP/tmpl.xml" "$TMP/m.xml"
publish "$P_WRONGSIG" "$INVOICE_DOCTYPE" "$TMP/m.xml"
service_group_xml "$P_GROUP" "$SMP" "$INVOICE_DOCTYPE" "$CREDITNOTE_DOCTYPE" >"$WWW/$SCHEME::$P_GROUP"
# Redirects to another place of the same server, whose response is signed by SMP000001.
SMP_SUBJECT=$(openssl x509 -in "$PKI/SMP000001.cert.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
signed_metadata "$P_REDIRECT" https://ap-redirected.example.org/as4 "$TMP/m.xml"
mkdir -p "$WWW/moved"
cp "$TMP/m.xml" "$WWW/moved/target.xml"
redirect_xml "$SMP/moved/target.xml" "$SMP_SUBJECT" >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/m.xml"
publish "$P_REDIRECT" "$INVOICE_DOCTYPE" "$TMP/m.xml"
redirect_xml "$SMP/moved/target.xml" "CN=SMP000999,O=relais test,C=BE" >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/m.xml"
publish "$P_BADREDIRECT" "$INVOICE_DOCTYPE" "$TMP/m.xml"

lookup() {
	"$RELAIS" lookup --sml-zone "$ZONE" --dns "127.0.0.1:$DNS_PORT" --set "trust.smp_anchors=$PKI/smp-ca-chain.pem" \
		--set "trust.anchors=$PKI/ca-chain.pem" --set discovery.timeout=2s "$@"
}

# --- the SML routes ---
expect_exit 0 "NAPTR route" -- lookup --explain "$P_NAPTR" "$INVOICE_DOCTYPE"
grep -q "SML: NAPTR $(naptr_of "$P_NAPTR") (asking 127.0.0.1:$DNS_PORT)" "$TMP/stdout" &&
	grep -q "SML: NAPTR gives SMP $SMP" "$TMP/stdout" && grep -q 'HTTP: status 200' "$TMP/stdout" &&
	grep -q 'signature: valid .*signer SMP000001' "$TMP/stdout" &&
	grep -q '^endpoint *https://ap-naptr-only.example.org/as4$' "$TMP/stdout" &&
	ok "NAPTR route: every step explained" || { not_ok "NAPTR route: every step explained"; cat "$TMP/stdout"; }

if [ "$CAN_BIND_80" = 1 ]; then
	expect_exit 0 "CNAME route (legacy)" -- lookup --explain "$P_CNAME" "$INVOICE_DOCTYPE"
	grep -q '^endpoint *https://ap-cname-only.example.org/as4$' "$TMP/stdout" && ok "CNAME route: endpoint" ||
		not_ok "CNAME route: endpoint"
else
	expect_exit 4 "CNAME route (port 80 not available here: SMP unreachable)" -- \
		lookup --explain "$P_CNAME" "$INVOICE_DOCTYPE"
fi
grep -q "SML: CNAME answer: smp80.relais.test -> $ADDR80" "$TMP/stdout" &&
	grep -q "SML: CNAME gives SMP http://$(cname_of "$P_CNAME")\$" "$TMP/stdout" &&
	ok "CNAME route: the B-MD5 name is asked and its CNAME followed" ||
	{ not_ok "CNAME route: the B-MD5 name is asked and its CNAME followed"; cat "$TMP/stdout"; }

expect_exit 0 "both routes published: NAPTR is used" -- lookup --json "$P_BOTH" "$INVOICE_DOCTYPE"
grep -q "\"smp_url\": \"$SMP2\"" "$TMP/stdout" &&
	grep -q '"endpoint_url": "https://ap-both-routes.example.org/as4"' "$TMP/stdout" &&
	grep -q '"transport_profile": "peppol-transport-as4-v2_0"' "$TMP/stdout" && ok "both routes: --json from the NAPTR SMP" ||
	not_ok "both routes: --json from the NAPTR SMP"
# the certificate in the JSON is POP000002's
sed -n 's/.*"certificate": "\(.*\)",$/\1/p' "$TMP/stdout" | sed 's/\\n/\n/g' >"$TMP/json.pem"
openssl x509 -in "$TMP/json.pem" -noout -subject 2>/dev/null | grep -q 'CN *= *POP000002' &&
	ok "--json certificate is the receiver's" || not_ok "--json certificate is the receiver's"

# --- failure kinds: each its own exit status and text ---
expect_exit 3 "not registered (NXDOMAIN)" -- lookup --explain "$P_UNKNOWN" "$INVOICE_DOCTYPE"
grep -q "^error: RELAIS:NOT_FOUND NotFound: participant $SCHEME::$P_UNKNOWN is not registered in SML zone $ZONE" \
	"$TMP/stderr" && grep -q 'NXDOMAIN' "$TMP/stdout" && ok "not registered: message" || not_ok "not registered: message"
expect_exit 3 "NAPTR without Meta:SMP service and no CNAME" -- lookup --explain "$P_OTHERSVC" "$INVOICE_DOCTYPE"
grep -q 'no NAPTR record with flag U and service Meta:SMP' "$TMP/stdout" && ok "other service: explained" ||
	not_ok "other service: explained"
expect_exit 5 "malformed NAPTR regexp" -- lookup "$P_BADRE" "$INVOICE_DOCTYPE"
grep -q '^error: RELAIS:BAD_RESPONSE BadResponse: malformed NAPTR record' "$TMP/stderr" && ok "malformed regexp: message" ||
	not_ok "malformed regexp: message"
expect_exit 4 "DNS server down" -- "$RELAIS" lookup --sml-zone "$ZONE" --dns "127.0.0.1:$DEAD_PORT" \
	--set "trust.smp_anchors=$PKI/smp-ca-chain.pem" --set discovery.timeout=1s "$P_NAPTR" "$INVOICE_DOCTYPE"
grep -q "^error: RELAIS:NETWORK Network: DNS server 127.0.0.1:$DEAD_PORT" "$TMP/stderr" && ok "DNS down: message" ||
	not_ok "DNS down: message"
# a DNS server that takes the query and never answers (stopped): timeout
kill -STOP "$DNSMASQ_PID"
expect_exit 4 "DNS server not answering" -- lookup --set discovery.timeout=1s "$P_NAPTR" "$INVOICE_DOCTYPE"
kill -CONT "$DNSMASQ_PID"
grep -q "^error: RELAIS:NETWORK Network: DNS server 127.0.0.1:$DNS_PORT did not answer the NAPTR query for .* in time" \
	"$TMP/stderr" && ok "DNS timeout: message" || { not_ok "DNS timeout: message"; cat "$TMP/stderr"; }
expect_exit 3 "document type the SMP does not publish (HTTP 404)" -- lookup "$P_NAPTR" "$CREDITNOTE_DOCTYPE"
grep -q 'HTTP 404' "$TMP/stderr" && ok "404: message" || not_ok "404: message"
expect_refused EBMS:0101 "unsigned SMP response" -- lookup "$P_UNSIGNED" "$INVOICE_DOCTYPE"
expect_refused EBMS:0101 "SMP response signed by a foreign CA" -- lookup "$P_WRONGSIG" "$INVOICE_DOCTYPE"

# --- ServiceGroup and redirects ---
expect_exit 0 "ServiceGroup: document types listed" -- lookup "$P_GROUP"
grep -qF "doctype      $INVOICE_DOCTYPE" "$TMP/stdout" && grep -qF "doctype      $CREDITNOTE_DOCTYPE" "$TMP/stdout" &&
	ok "ServiceGroup: both document types" || not_ok "ServiceGroup: both document types"
expect_exit 0 "ServiceGroup --json" -- lookup --json "$P_GROUP"
grep -q '"document_types": \[' "$TMP/stdout" && ok "ServiceGroup --json has document_types" ||
	not_ok "ServiceGroup --json has document_types"
expect_exit 3 "ServiceGroup of a participant the SMP does not know" -- lookup "$P_NOTHING"
expect_exit 0 "SMP redirect followed once" -- lookup --explain "$P_REDIRECT" "$INVOICE_DOCTYPE"
grep -q 'SMP: redirect to' "$TMP/stdout" && grep -q '^endpoint *https://ap-redirected.example.org/as4$' "$TMP/stdout" &&
	ok "redirect: endpoint of the target" || not_ok "redirect: endpoint of the target"
expect_refused EBMS:0101 "redirect whose target is signed by another certificate than named" -- \
	lookup "$P_BADREDIRECT" "$INVOICE_DOCTYPE"

# --- cache (in memory, per process) ---
"$top_builddir/tests/unit/check_discovery_cache" "127.0.0.1:$DNS_PORT" "$ZONE" "$PKI/smp-ca-chain.pem" \
	"$P_CACHE" "$INVOICE_DOCTYPE" "$WWW/$SCHEME::$P_CACHE/services/$INVOICE_DOCTYPE" "$P_UNKNOWN" >"$TMP/cache.out" 2>&1
status=$?
sed 's/^/    /' "$TMP/cache.out"
[ "$status" = 0 ] && ok "cache: endpoint and not-registered remembered" || not_ok "cache: endpoint and not-registered remembered"

# --- SMP down: the name resolves, nothing answers HTTP ---
for p in $PIDS; do
	if [ "$(ps -o comm= -p "$p" 2>/dev/null)" = busybox ]; then kill "$p"; fi
done
sleep 0.2
expect_exit 4 "SMP not answering" -- lookup "$P_NAPTR" "$INVOICE_DOCTYPE"
grep -q '^error: RELAIS:NETWORK Network: GET http://smp.relais.test' "$TMP/stderr" && ok "SMP down: message" ||
	not_ok "SMP down: message"
finish

#!/bin/sh
# smp2_discovery.sh - how an OASIS SMP 2.0 is found and asked, end to end: a real dnsmasq on a loopback
# port serves the SML zone with NAPTR records of service "oasis-bdxr-smp-2" (an SMP 2.0) and "Meta:SMP"
# (an SMP 1.x), busybox httpd serves signed responses (xmlsec1, test SMP key SMP000001). An SMP 2.0 is
# asked under {smp}/bdxr-smp-2/ only, so a client using the SMP 1.x paths would find nothing there; a
# Meta:SMP SMP is asked at the SMP 1.x paths as before. When both services are published the record of
# lowest order, then preference, is used; on a tie the oasis-bdxr-smp-2 one.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/smp_fixtures.sh"
sml_test_network 997 3980	# apart from lookup.sh's ports

SMP="http://smp.relais.test:$HTTP_PORT"
URL_V1=https://ap-smp1.example.org/as4
URL_V2=https://ap-smp2.example.org/as4

# An SMP 2.0 ServiceMetadata or ServiceGroup (signature template last), on stdout.
NS2=http://docs.oasis-open.org/bdxr/ns/SMP/2
NS_DECL="xmlns:cbc=\"$NS2/BasicComponents\" xmlns:cac=\"$NS2/AggregateComponents\""
metadata2_xml() { # PARTICIPANT ENDPOINT-URL
	printf '<?xml version="1.0" encoding="UTF-8"?>\n<ServiceMetadata xmlns="%s/ServiceMetadata" %s>' "$NS2" "$NS_DECL"
	printf '<cbc:SMPVersionID>2.0</cbc:SMPVersionID><cbc:ID schemeID="%s">%s</cbc:ID>' \
		"${INVOICE_DOCTYPE%%::*}" "${INVOICE_DOCTYPE#*::}"
	printf '<cbc:ParticipantID schemeID="%s">%s</cbc:ParticipantID>' "$SCHEME" "$1"
	printf '<cac:ProcessMetadata><cac:Process><cbc:ID schemeID="%s">%s</cbc:ID></cac:Process>' \
		"${BILLING_PROCESS%%::*}" "${BILLING_PROCESS#*::}"
	printf '<cac:Endpoint><cbc:TransportProfileID>peppol-transport-as4-v2_0</cbc:TransportProfileID>'
	printf '<cbc:AddressURI>%s</cbc:AddressURI><cac:Certificate><cbc:TypeCode>signing</cbc:TypeCode>' "$2"
	printf '<cbc:ContentBinaryObject mimeCode="application/base64">%s</cbc:ContentBinaryObject>' \
		"$(cert_b64 "$PKI/POP000002.cert.pem")"
	printf '</cac:Certificate></cac:Endpoint></cac:ProcessMetadata>%s</ServiceMetadata>\n' "$(signature_template)"
}
group2_xml() { # PARTICIPANT
	printf '<?xml version="1.0" encoding="UTF-8"?>\n<ServiceGroup xmlns="%s/ServiceGroup" %s>' "$NS2" "$NS_DECL"
	printf '<cbc:SMPVersionID>2.0</cbc:SMPVersionID><cbc:ParticipantID schemeID="%s">%s</cbc:ParticipantID>' "$SCHEME" "$1"
	for _d in "$INVOICE_DOCTYPE" "$CREDITNOTE_DOCTYPE"; do
		printf '<cac:ServiceReference><cbc:ID schemeID="%s">%s</cbc:ID></cac:ServiceReference>' "${_d%%::*}" "${_d#*::}"
	done
	printf '%s</ServiceGroup>\n' "$(signature_template)"
}
# publish1 / publish2 PARTICIPANT FILE [DOCTYPE]: serves FILE at the SMP 1.x / SMP 2.0 path of the
# participant's ServiceMetadata for DOCTYPE, or without DOCTYPE of its ServiceGroup (busybox decodes the
# percent-encoded path into these names).
publish_at() { # DIR PARTICIPANT FILE [DOCTYPE]
	if [ $# = 4 ]; then
		mkdir -p "$1/$SCHEME::$2/services"
		cp "$3" "$1/$SCHEME::$2/services/$4"
	else
		mkdir -p "$1"
		cp "$3" "$1/$SCHEME::$2"
	fi
}
publish1() { publish_at "$WWW" "$@"; }
publish2() { publish_at "$WWW/bdxr-smp-2" "$@"; }
v1_metadata() { # PARTICIPANT OUT: a signed Peppol SMP 1.0 ServiceMetadata for endpoint URL_V1
	metadata_xml "$1" "$INVOICE_DOCTYPE" "$URL_V1" "$PKI/POP000002.cert.pem" >"$TMP/tmpl.xml"
	smp_sign "$TMP/tmpl.xml" "$2"
}
v2_metadata() { # PARTICIPANT OUT: a signed SMP 2.0 ServiceMetadata for endpoint URL_V2
	metadata2_xml "$1" "$URL_V2" >"$TMP/tmpl.xml"
	smp_sign "$TMP/tmpl.xml" "$2"
}

# Participants, one per case.
P_V2=9915:smp2-naptr			# oasis-bdxr-smp-2; SMP 2.0 paths
P_V2GROUP=9915:smp2-group		# oasis-bdxr-smp-2; a ServiceGroup at the SMP 2.0 path
P_V2_AT_V1=9915:smp2-at-v1-paths	# oasis-bdxr-smp-2; documents only at the SMP 1.x paths
P_V1=9915:meta-smp			# Meta:SMP; SMP 1.x paths
P_V1_AT_V2=9915:meta-smp-at-v2-paths	# Meta:SMP; documents only at the SMP 2.0 paths
P_ORDER2=9915:both-smp2-lower-order	# both; oasis-bdxr-smp-2 has the lower order
P_ORDER1=9915:both-meta-lower-order	# both; Meta:SMP has the lower order
P_PREF1=9915:both-meta-lower-pref	# both, same order; Meta:SMP has the lower preference
P_TIE=9915:both-tie			# both, same order and preference
P_PROFILE=9915:smp2-network-profile	# only a service with a network suffix (oasis-bdxr-smp-2#...)
rec() { echo "--naptr-record=$(naptr_of "$1"),$2,$3,U,$4,!^.*\$!$SMP!"; }	# PARTICIPANT ORDER PREF SERVICE
set -- "$(rec "$P_V2" 100 10 oasis-bdxr-smp-2)" "$(rec "$P_V2GROUP" 100 10 oasis-bdxr-smp-2)" \
	"$(rec "$P_V2_AT_V1" 100 10 oasis-bdxr-smp-2)" "$(rec "$P_V1" 100 10 Meta:SMP)" \
	"$(rec "$P_V1_AT_V2" 100 10 Meta:SMP)" \
	"$(rec "$P_ORDER2" 200 10 Meta:SMP)" "$(rec "$P_ORDER2" 100 10 oasis-bdxr-smp-2)" \
	"$(rec "$P_ORDER1" 100 10 Meta:SMP)" "$(rec "$P_ORDER1" 200 10 oasis-bdxr-smp-2)" \
	"$(rec "$P_PREF1" 100 5 Meta:SMP)" "$(rec "$P_PREF1" 100 10 oasis-bdxr-smp-2)" \
	"$(rec "$P_TIE" 100 10 Meta:SMP)" "$(rec "$P_TIE" 100 10 oasis-bdxr-smp-2)" \
	"$(rec "$P_PROFILE" 100 10 'oasis-bdxr-smp-2#dbnalliance-1.1')"
sml_test_servers --host-record=smp.relais.test,127.0.0.1 "$@"

v2_metadata "$P_V2" "$TMP/v2.xml" && publish2 "$P_V2" "$TMP/v2.xml" "$INVOICE_DOCTYPE"
group2_xml "$P_V2GROUP" >"$TMP/tmpl.xml" && smp_sign "$TMP/tmpl.xml" "$TMP/group.xml" && publish2 "$P_V2GROUP" "$TMP/group.xml"
v2_metadata "$P_V2_AT_V1" "$TMP/v2-at-v1.xml" && publish1 "$P_V2_AT_V1" "$TMP/v2-at-v1.xml" "$INVOICE_DOCTYPE"
v1_metadata "$P_V1" "$TMP/v1.xml" && publish1 "$P_V1" "$TMP/v1.xml" "$INVOICE_DOCTYPE"
v2_metadata "$P_V1_AT_V2" "$TMP/v1-at-v2.xml" && publish2 "$P_V1_AT_V2" "$TMP/v1-at-v2.xml" "$INVOICE_DOCTYPE"
# both services published: the SMP 1.x paths answer endpoint URL_V1, the SMP 2.0 paths URL_V2
for p in "$P_ORDER2" "$P_ORDER1" "$P_PREF1" "$P_TIE" "$P_PROFILE"; do
	v1_metadata "$p" "$TMP/both1.xml" && publish1 "$p" "$TMP/both1.xml" "$INVOICE_DOCTYPE"
	v2_metadata "$p" "$TMP/both2.xml" && publish2 "$p" "$TMP/both2.xml" "$INVOICE_DOCTYPE"
done

lookup() {
	"$RELAIS" lookup --sml-zone "$ZONE" --dns "127.0.0.1:$DNS_PORT" --set "trust.smp_anchors=$PKI/smp-ca-chain.pem" \
		--set "trust.anchors=$PKI/ca-chain.pem" --set discovery.timeout=2s "$@"
}
enc() { pct "$SCHEME::$1"; }
# shows WHAT: the last output has every grep -F pattern given after WHAT
shows() {
	_what=$1
	shift
	for _pat in "$@"; do
		grep -qF -- "$_pat" "$TMP/stdout" || { not_ok "$_what"; echo "    missing: $_pat"; sed 's/^/    /' "$TMP/stdout"; return; }
	done
	ok "$_what"
}

# --- an SMP 2.0 found through oasis-bdxr-smp-2, asked at the SMP 2.0 paths ---
expect_exit 0 "oasis-bdxr-smp-2: endpoint found" -- lookup --explain "$P_V2" "$INVOICE_DOCTYPE"
shows "oasis-bdxr-smp-2: service, SMP 2.0 paths, endpoint" \
	"SML: NAPTR service \"oasis-bdxr-smp-2\" (order 100 preference 10): an SMP 2.0, paths $SMP/bdxr-smp-2/{participant}" \
	"HTTP: GET $SMP/bdxr-smp-2/$(enc "$P_V2")/services/$(pct "$INVOICE_DOCTYPE")" \
	"SMP: OASIS SMP 2.0 ServiceMetadata for $SCHEME::$P_V2" "endpoint     $URL_V2"
grep -q "^smp *$SMP\$" "$TMP/stdout" && ok "oasis-bdxr-smp-2: the SMP base URL printed" ||
	not_ok "oasis-bdxr-smp-2: the SMP base URL printed"
expect_exit 0 "oasis-bdxr-smp-2: ServiceGroup" -- lookup --explain "$P_V2GROUP"
shows "oasis-bdxr-smp-2: ServiceGroup at the SMP 2.0 path, both document types" \
	"HTTP: GET $SMP/bdxr-smp-2/$(enc "$P_V2GROUP")" "doctype      $INVOICE_DOCTYPE" "doctype      $CREDITNOTE_DOCTYPE"
expect_exit 3 "oasis-bdxr-smp-2, documents at the SMP 1.x paths only: not found" -- \
	lookup --explain "$P_V2_AT_V1" "$INVOICE_DOCTYPE"
shows "oasis-bdxr-smp-2: the SMP 1.x path is not asked" "HTTP: GET $SMP/bdxr-smp-2/$(enc "$P_V2_AT_V1")/services/" \
	"HTTP: status 404"
grep -q "^error: RELAIS:NOT_FOUND NotFound: SMP has no ServiceMetadata .*HTTP 404 from $SMP/bdxr-smp-2/" "$TMP/stderr" &&
	ok "oasis-bdxr-smp-2 at the wrong paths: one line naming the URL" || { not_ok "wrong paths: message"; cat "$TMP/stderr"; }

# --- Meta:SMP: the SMP 1.x paths, as before ---
expect_exit 0 "Meta:SMP: endpoint found" -- lookup --explain "$P_V1" "$INVOICE_DOCTYPE"
shows "Meta:SMP: SMP 1.x paths, endpoint" "SML: NAPTR gives SMP $SMP" \
	"SML: NAPTR service \"Meta:SMP\" (order 100 preference 10): an SMP 1.x, paths $SMP/{participant}" \
	"HTTP: GET $SMP/$(enc "$P_V1")/services/$(pct "$INVOICE_DOCTYPE")" "endpoint     $URL_V1"
grep -q 'bdxr-smp-2' "$TMP/stdout" && not_ok "Meta:SMP: no bdxr-smp-2 path asked" || ok "Meta:SMP: no bdxr-smp-2 path asked"
expect_exit 3 "Meta:SMP, documents at the SMP 2.0 paths only: not found" -- lookup --explain "$P_V1_AT_V2" "$INVOICE_DOCTYPE"
shows "Meta:SMP: the SMP 1.x path asked" "HTTP: GET $SMP/$(enc "$P_V1_AT_V2")/services/" "HTTP: status 404"

# --- both services: order, then preference; on a tie oasis-bdxr-smp-2 ---
expect_exit 0 "both, oasis-bdxr-smp-2 of lower order" -- lookup --explain "$P_ORDER2" "$INVOICE_DOCTYPE"
shows "lower order oasis-bdxr-smp-2 wins" "SML: NAPTR service \"oasis-bdxr-smp-2\" (order 100 preference 10)" \
	"HTTP: GET $SMP/bdxr-smp-2/$(enc "$P_ORDER2")/services/" "endpoint     $URL_V2"
expect_exit 0 "both, Meta:SMP of lower order" -- lookup --explain "$P_ORDER1" "$INVOICE_DOCTYPE"
shows "lower order Meta:SMP wins" "SML: NAPTR service \"Meta:SMP\" (order 100 preference 10)" \
	"HTTP: GET $SMP/$(enc "$P_ORDER1")/services/" "endpoint     $URL_V1"
expect_exit 0 "both, same order, Meta:SMP of lower preference" -- lookup --explain "$P_PREF1" "$INVOICE_DOCTYPE"
shows "lower preference Meta:SMP wins" "SML: NAPTR service \"Meta:SMP\" (order 100 preference 5)" \
	"HTTP: GET $SMP/$(enc "$P_PREF1")/services/" "endpoint     $URL_V1"
expect_exit 0 "both, same order and preference" -- lookup --explain "$P_TIE" "$INVOICE_DOCTYPE"
shows "tie: oasis-bdxr-smp-2 wins" "SML: NAPTR service \"oasis-bdxr-smp-2\" (order 100 preference 10)" \
	"HTTP: GET $SMP/bdxr-smp-2/$(enc "$P_TIE")/services/" "endpoint     $URL_V2"
expect_exit 0 "both, --json" -- lookup --json "$P_TIE" "$INVOICE_DOCTYPE"
shows "tie --json: SMP base URL and SMP 2.0 endpoint" "\"smp_url\": \"$SMP\"" "\"endpoint_url\": \"$URL_V2\""

# --- a network profile's service (oasis-bdxr-smp-2#...) is not one of the two ---
expect_exit 3 "oasis-bdxr-smp-2#dbnalliance-1.1 only: not registered" -- lookup --explain "$P_PROFILE" "$INVOICE_DOCTYPE"
shows "network profile service: explained" 'no NAPTR record with flag U and service Meta:SMP or oasis-bdxr-smp-2'
grep -q 'HTTP: GET' "$TMP/stdout" && not_ok "network profile service: no SMP asked" || ok "network profile service: no SMP asked"
finish

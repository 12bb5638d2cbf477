#!/bin/sh
# smp2_signed.sh - signed OASIS SMP 2.0 responses through `relais lookup`, end to end: a real dnsmasq on a
# loopback port serves the SML zone (NAPTR), busybox httpd serves SMP 2.0 ServiceMetadata and ServiceGroup
# documents signed here, at test time, by xmlsec1 (an independent signer) with the test SMP key SMP000001.
# A good signature verifies and the endpoint is read; a document changed after signing, a signer that is
# no SMP of trust.smp_anchors, a signature out of its place (the last child of the root) or twice, and an
# unsigned document are refused with one line saying why. Two signatures (the schemas end the root with a
# set of them), signed one after the other by xmlsec1: read when the SMP's is the later one, over the whole
# document; refused when the later one is by an access point, over a broken SMP signature.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/smp_fixtures.sh"
sml_test_network 1999 3990	# apart from lookup.sh's ports

NS_SM=http://docs.oasis-open.org/bdxr/ns/SMP/2/ServiceMetadata
NS_SG=http://docs.oasis-open.org/bdxr/ns/SMP/2/ServiceGroup
NS_CBC=http://docs.oasis-open.org/bdxr/ns/SMP/2/BasicComponents
NS_CAC=http://docs.oasis-open.org/bdxr/ns/SMP/2/AggregateComponents
NS_EXT=http://docs.oasis-open.org/bdxr/ns/SMP/2/ExtensionComponents
NAMESPACES="xmlns:cbc=\"$NS_CBC\" xmlns:cac=\"$NS_CAC\" xmlns:ext=\"$NS_EXT\""
SIG=$(signature_template)

# SMP 2.0 documents on one line, with the signature template at SIGNATURE-AT: "last" (the place the
# schemas give it), "first" (before the content) or "extension" (inside ext:SMPExtensions).
extensions() { # SIGNATURE-AT
	_inner=""
	[ "$1" = extension ] && _inner=$SIG
	printf '<ext:SMPExtensions><ext:SMPExtension><ext:ExtensionContent><note xmlns="urn:relais:test">kept</note>%s</ext:ExtensionContent></ext:SMPExtension></ext:SMPExtensions>' "$_inner"
}
metadata2_xml() { # PARTICIPANT ENDPOINT-URL SIGNATURE-AT
	_first="" _last=""
	[ "$3" = first ] && _first=$SIG
	[ "$3" = last ] && _last=$SIG
	printf '<?xml version="1.0" encoding="UTF-8"?>\n'
	printf '<ServiceMetadata xmlns="%s" %s>%s%s<cbc:SMPVersionID>2.0</cbc:SMPVersionID>' "$NS_SM" "$NAMESPACES" \
		"$_first" "$(extensions "$3")"
	printf '<cbc:ID schemeID="%s">%s</cbc:ID>' "${INVOICE_DOCTYPE%%::*}" "${INVOICE_DOCTYPE#*::}"
	printf '<cbc:ParticipantID schemeID="%s">%s</cbc:ParticipantID>' "$SCHEME" "$1"
	printf '<cac:ProcessMetadata><cac:Process><cbc:ID schemeID="%s">%s</cbc:ID></cac:Process>' \
		"${BILLING_PROCESS%%::*}" "${BILLING_PROCESS#*::}"
	printf '<cac:Endpoint><cbc:TransportProfileID>peppol-transport-as4-v2_0</cbc:TransportProfileID>'
	printf '<cbc:Description>relais test endpoint</cbc:Description><cbc:Contact>mailto:ops@example.org</cbc:Contact>'
	printf '<cbc:AddressURI>%s</cbc:AddressURI><cac:Certificate><cbc:TypeCode>signing</cbc:TypeCode>' "$2"
	printf '<cbc:ContentBinaryObject mimeCode="application/base64">%s</cbc:ContentBinaryObject>' \
		"$(cert_b64 "$PKI/POP000002.cert.pem")"
	printf '</cac:Certificate></cac:Endpoint></cac:ProcessMetadata>%s</ServiceMetadata>\n' "$_last"
}
group2_xml() { # PARTICIPANT SIGNATURE-AT
	_first="" _last=""
	[ "$2" = first ] && _first=$SIG
	[ "$2" = last ] && _last=$SIG
	printf '<?xml version="1.0" encoding="UTF-8"?>\n'
	printf '<ServiceGroup xmlns="%s" %s>%s%s<cbc:SMPVersionID>2.0</cbc:SMPVersionID>' "$NS_SG" "$NAMESPACES" \
		"$_first" "$(extensions "$2")"
	printf '<cbc:ParticipantID schemeID="%s">%s</cbc:ParticipantID>' "$SCHEME" "$1"
	for _d in "$INVOICE_DOCTYPE" "$CREDITNOTE_DOCTYPE"; do
		printf '<cac:ServiceReference><cbc:ID schemeID="%s">%s</cbc:ID></cac:ServiceReference>' "${_d%%::*}" "${_d#*::}"
	done
	printf '%s</ServiceGroup>\n' "$_last"
}
# one_line IN OUT: the signed document with the line breaks xmlsec1 puts into base64 values removed (those
# are outside SignedInfo, or whitespace base64 ignores), so sed can move whole elements.
one_line() { tr -d '\n' <"$1" >"$2"; }
# sign_again KEY CERT IN OUT ROOT: the signed document IN with one more signature template at the end of its
# root element ROOT, signed by KEY with xmlsec1: it ends with two signatures, the second over the first.
sign_again() {
	one_line "$3" "$TMP/again1.xml"
	_doc=$(cat "$TMP/again1.xml")
	printf '%s%s</%s>\n' "${_doc%"</$5>"*}" "$SIG" "$5" >"$TMP/again2.xml"
	xmlsec1 --sign --privkey-pem "$1,$2" --node-xpath "(//*[local-name()='Signature'])[2]" --output "$4" \
		"$TMP/again2.xml" >"$TMP/xmlsec1.log" 2>&1 || { cat "$TMP/xmlsec1.log"; echo "xmlsec1 cannot sign $3 again"; exit 99; }
}

# Participants, one per case.
P_OK=9915:smp2-ok
P_GROUP=9915:smp2-group
P_CHANGED=9915:smp2-changed
P_FOREIGN=9915:smp2-foreign-ca
P_APKEY=9915:smp2-ap-key
P_FIRST=9915:smp2-sig-first
P_INEXT=9915:smp2-sig-in-extension
P_TWICE=9915:smp2-sig-twice
P_UNSIGNED=9915:smp2-unsigned
P_GCHANGED=9915:smp2-group-changed
P_GFIRST=9915:smp2-group-sig-first
P_MULTI=9915:smp2-ap-then-smp
P_MULTIBAD=9915:smp2-smp-then-ap
SMP="http://smp.relais.test:$HTTP_PORT"
set --
for p in "$P_OK" "$P_GROUP" "$P_CHANGED" "$P_FOREIGN" "$P_APKEY" "$P_FIRST" "$P_INEXT" "$P_TWICE" "$P_UNSIGNED" \
	"$P_GCHANGED" "$P_GFIRST" "$P_MULTI" "$P_MULTIBAD"; do
	set -- "$@" "--naptr-record=$(naptr_of "$p"),100,10,U,Meta:SMP,!^.*\$!$SMP!"
done
sml_test_servers --host-record=smp.relais.test,127.0.0.1 "$@"

# publish PARTICIPANT FILE [DOCTYPE]: where the SMP serves the ServiceMetadata of DOCTYPE, or without
# DOCTYPE the ServiceGroup (busybox decodes the percent-encoded path into these names; a participant here
# has either, as a path cannot be both a file and a directory).
publish() {
	if [ $# = 3 ]; then
		mkdir -p "$WWW/$SCHEME::$1/services"
		cp "$2" "$WWW/$SCHEME::$1/services/$3"
	else
		cp "$2" "$WWW/$SCHEME::$1"
	fi
}
url_of() { echo "https://ap-$(echo "$1" | cut -d: -f2).example.org/as4"; }
# xmlsec1, independently of relais, finds the signature of FILE good (wherever it is).
xmlsec1_accepts() { xmlsec1 --verify --pubkey-cert-pem "$PKI/SMP000001.cert.pem" "$1" >"$TMP/xmlsec1-verify.log" 2>&1; }

# good: ServiceMetadata and ServiceGroup signed by the SMP, the signature last
metadata2_xml "$P_OK" "$(url_of "$P_OK")" last >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/ok.xml"
publish "$P_OK" "$TMP/ok.xml" "$INVOICE_DOCTYPE"
group2_xml "$P_GROUP" last >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/group-ok.xml"
publish "$P_GROUP" "$TMP/group-ok.xml"
# one byte of the endpoint URL changed after signing
metadata2_xml "$P_CHANGED" "$(url_of "$P_CHANGED")" last >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/signed.xml"
sed 's#https://ap-smp2-changed#https://bp-smp2-changed#' "$TMP/signed.xml" >"$TMP/changed.xml"
cmp -s "$TMP/signed.xml" "$TMP/changed.xml" && { echo "the endpoint URL was not changed"; exit 99; }
publish "$P_CHANGED" "$TMP/changed.xml" "$INVOICE_DOCTYPE"
# good signatures by keys that are no SMP's: a foreign CA's, an access point's
metadata2_xml "$P_FOREIGN" "$(url_of "$P_FOREIGN")" last >"$TMP/tmpl.xml"
sign_with "$PKI/POP000666.key.pem" "$PKI/POP000666.cert.pem" "$TMP/tmpl.xml" "$TMP/foreign.xml"
publish "$P_FOREIGN" "$TMP/foreign.xml" "$INVOICE_DOCTYPE"
metadata2_xml "$P_APKEY" "$(url_of "$P_APKEY")" last >"$TMP/tmpl.xml"
sign_with "$PKI/POP000001.key.pem" "$PKI/POP000001.cert.pem" "$TMP/tmpl.xml" "$TMP/apkey.xml"
publish "$P_APKEY" "$TMP/apkey.xml" "$INVOICE_DOCTYPE"
# signed by the SMP where the schemas do not put the signature: first child, inside the extensions
metadata2_xml "$P_FIRST" "$(url_of "$P_FIRST")" first >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/first.xml"
publish "$P_FIRST" "$TMP/first.xml" "$INVOICE_DOCTYPE"
metadata2_xml "$P_INEXT" "$(url_of "$P_INEXT")" extension >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/inext.xml"
publish "$P_INEXT" "$TMP/inext.xml" "$INVOICE_DOCTYPE"
# the good signature twice
metadata2_xml "$P_TWICE" "$(url_of "$P_TWICE")" last >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/signed.xml"
one_line "$TMP/signed.xml" "$TMP/signed1.xml"
sed 's#\(<Signature xmlns=.*</Signature>\)#\1\1#' "$TMP/signed1.xml" >"$TMP/twice.xml"
publish "$P_TWICE" "$TMP/twice.xml" "$INVOICE_DOCTYPE"
# no signature at all
metadata2_xml "$P_UNSIGNED" "$(url_of "$P_UNSIGNED")" none >"$TMP/unsigned.xml"
publish "$P_UNSIGNED" "$TMP/unsigned.xml" "$INVOICE_DOCTYPE"
# ServiceGroups: one changed after signing, one signed with the signature first
group2_xml "$P_GCHANGED" last >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/signed.xml"
sed 's#CreditNote-2::CreditNote#CreditNote-2::CreditNotX#' "$TMP/signed.xml" >"$TMP/group-changed.xml"
publish "$P_GCHANGED" "$TMP/group-changed.xml"
group2_xml "$P_GFIRST" first >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/group-first.xml"
publish "$P_GFIRST" "$TMP/group-first.xml"
# two signatures: an access point's, then the SMP's over all of it; the SMP's, then an access point's
metadata2_xml "$P_MULTI" "$(url_of "$P_MULTI")" last >"$TMP/tmpl.xml"
sign_with "$PKI/POP000001.key.pem" "$PKI/POP000001.cert.pem" "$TMP/tmpl.xml" "$TMP/signed.xml"
sign_again "$PKI/SMP000001.key.pem" "$PKI/SMP000001.cert.pem" "$TMP/signed.xml" "$TMP/multi.xml" ServiceMetadata
publish "$P_MULTI" "$TMP/multi.xml" "$INVOICE_DOCTYPE"
metadata2_xml "$P_MULTIBAD" "$(url_of "$P_MULTIBAD")" last >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/signed.xml"
sign_again "$PKI/POP000001.key.pem" "$PKI/POP000001.cert.pem" "$TMP/signed.xml" "$TMP/multibad.xml" ServiceMetadata
publish "$P_MULTIBAD" "$TMP/multibad.xml" "$INVOICE_DOCTYPE"

lookup() {
	"$RELAIS" lookup --sml-zone "$ZONE" --dns "127.0.0.1:$DNS_PORT" --set "trust.smp_anchors=$PKI/smp-ca-chain.pem" \
		--set "trust.anchors=$PKI/ca-chain.pem" --set discovery.timeout=2s "$@"
}
# refused_because WHY DESCRIPTION: the refusal just checked is one line on stderr and gives WHY
refused_because() {
	[ "$(wc -l <"$TMP/stderr")" = 1 ] && grep -q "$1" "$TMP/stderr" && ok "$2: one line, $1" ||
		{ not_ok "$2: one line, $1"; sed 's/^/    /' "$TMP/stderr"; }
}

# --- a good signature: verified, then the document read ---
expect_exit 0 "SMP 2.0 ServiceMetadata signed by the SMP" -- lookup --explain "$P_OK" "$INVOICE_DOCTYPE"
grep -q "HTTP: GET $SMP/$SCHEME%3A%3A" "$TMP/stdout" &&
	grep -q 'signature: valid (rsa-sha256 sha256 exc-c14n), signer SMP000001, chains to the SMP anchors' "$TMP/stdout" &&
	grep -q "SMP: OASIS SMP 2.0 ServiceMetadata for $SCHEME::$P_OK" "$TMP/stdout" &&
	grep -q "SMP: process $BILLING_PROCESS endpoint peppol-transport-as4-v2_0 $(url_of "$P_OK") certificate POP000002" \
		"$TMP/stdout" && ok "SMP 2.0: fetched over HTTP, signature valid, process and endpoint read" ||
	{ not_ok "SMP 2.0: fetched over HTTP, signature valid, process and endpoint read"; cat "$TMP/stdout"; }
grep -q "^endpoint *$(url_of "$P_OK")\$" "$TMP/stdout" && grep -q "^process *$BILLING_PROCESS\$" "$TMP/stdout" &&
	ok "SMP 2.0: endpoint URL and process printed" || not_ok "SMP 2.0: endpoint URL and process printed"
expect_exit 0 "SMP 2.0 --json, the process asked for" -- lookup --json --process "$BILLING_PROCESS" "$P_OK" "$INVOICE_DOCTYPE"
sed -n 's/.*"certificate": "\(.*\)",$/\1/p' "$TMP/stdout" | sed 's/\\n/\n/g' >"$TMP/json.pem"
openssl x509 -in "$TMP/json.pem" -noout -subject 2>/dev/null | grep -q 'CN *= *POP000002' &&
	grep -q "\"endpoint_url\": \"$(url_of "$P_OK")\"" "$TMP/stdout" &&
	ok "SMP 2.0 --json: endpoint URL, the receiver's certificate" || not_ok "SMP 2.0 --json: endpoint URL, the receiver's certificate"
expect_exit 0 "signed SMP 2.0 ServiceGroup" -- lookup --explain "$P_GROUP"
grep -q 'signature: valid (rsa-sha256 sha256 exc-c14n), signer SMP000001' "$TMP/stdout" &&
	grep -qF "doctype      $INVOICE_DOCTYPE" "$TMP/stdout" && grep -qF "doctype      $CREDITNOTE_DOCTYPE" "$TMP/stdout" &&
	ok "SMP 2.0 ServiceGroup: signature valid, both document types" ||
	{ not_ok "SMP 2.0 ServiceGroup: signature valid, both document types"; cat "$TMP/stdout"; }

expect_exit 0 "two signatures, the SMP's over the other" -- lookup --explain "$P_MULTI" "$INVOICE_DOCTYPE"
grep -q 'signature: valid (rsa-sha256 sha256 exc-c14n), signer SMP000001' "$TMP/stdout" &&
	grep -q "signature: the SMP's is signature 2 of 2" "$TMP/stdout" &&
	grep -q "^endpoint *$(url_of "$P_MULTI")\$" "$TMP/stdout" &&
	ok "two signatures: the SMP's found (2 of 2), endpoint read" ||
	{ not_ok "two signatures: the SMP's found (2 of 2), endpoint read"; cat "$TMP/stdout"; }

# --- refused ---
expect_refused EBMS:0101 "endpoint URL changed after signing" -- lookup "$P_CHANGED" "$INVOICE_DOCTYPE"
refused_because 'signature does not match the document' "changed after signing"
expect_refused EBMS:0101 "signed by a foreign CA's key" -- lookup "$P_FOREIGN" "$INVOICE_DOCTYPE"
refused_because 'SMP signer' "foreign CA"
expect_refused EBMS:0101 "signed by an access point key" -- lookup "$P_APKEY" "$INVOICE_DOCTYPE"
refused_because 'SMP signer' "access point key"
xmlsec1_accepts "$TMP/first.xml" && xmlsec1_accepts "$TMP/inext.xml" &&
	ok "xmlsec1 finds the out-of-place signatures good" || { not_ok "xmlsec1 finds the out-of-place signatures good"; cat "$TMP/xmlsec1-verify.log"; }
expect_refused EBMS:0101 "signature first in the root" -- lookup "$P_FIRST" "$INVOICE_DOCTYPE"
refused_because 'its signature is followed by SMPExtensions; it must be the last child of ServiceMetadata' "signature first"
expect_refused EBMS:0101 "signature inside ext:SMPExtensions" -- lookup "$P_INEXT" "$INVOICE_DOCTYPE"
refused_because 'its signature is inside ExtensionContent; it must be the last child of ServiceMetadata' \
	"signature in the extensions"
expect_refused EBMS:0101 "the signature twice" -- lookup "$P_TWICE" "$INVOICE_DOCTYPE"
refused_because 'none of its 2 signatures is a valid SMP signature over the whole document' "signature twice"
expect_refused EBMS:0101 "two signatures, an access point's over the SMP's" -- lookup "$P_MULTIBAD" "$INVOICE_DOCTYPE"
refused_because 'none of its 2 signatures is a valid SMP signature over the whole document (1: SMP signature does not match the document.*; 2: SMP signer' \
	"access point's signature over the SMP's"
expect_refused EBMS:0101 "unsigned SMP 2.0 ServiceMetadata" -- lookup "$P_UNSIGNED" "$INVOICE_DOCTYPE"
refused_because 'ServiceMetadata is not signed' "unsigned"
expect_refused EBMS:0101 "SMP 2.0 ServiceGroup changed after signing" -- lookup "$P_GCHANGED"
refused_because 'signature does not match the document' "group changed after signing"
grep -q 'doctype' "$TMP/stdout" && not_ok "changed group: nothing listed" || ok "changed group: nothing listed"
expect_refused EBMS:0101 "SMP 2.0 ServiceGroup with the signature first" -- lookup "$P_GFIRST"
refused_because 'its signature is followed by SMPExtensions; it must be the last child of ServiceGroup' "group signature first"

# --- the same files read with --smp-file: what is verified does not depend on the transport ---
lookup_file() {
	"$RELAIS" lookup --set "trust.smp_anchors=$PKI/smp-ca-chain.pem" --set "trust.anchors=$PKI/ca-chain.pem" "$@"
}
expect_exit 0 "--smp-file: signed SMP 2.0 ServiceMetadata" -- lookup_file --smp-file "$TMP/ok.xml"
grep -q "^endpoint *$(url_of "$P_OK")\$" "$TMP/stdout" && ok "--smp-file: endpoint" || not_ok "--smp-file: endpoint"
expect_exit 0 "--smp-file: signed SMP 2.0 ServiceGroup" -- lookup_file --explain --smp-file "$TMP/group-ok.xml"
grep -q 'signature: valid .*signer SMP000001' "$TMP/stdout" && ok "--smp-file: group signature checked" ||
	not_ok "--smp-file: group signature checked"
expect_refused EBMS:0101 "--smp-file: ServiceGroup changed after signing" -- lookup_file --smp-file "$TMP/group-changed.xml"
expect_refused EBMS:0101 "--smp-file: signature inside the extensions" -- lookup_file --smp-file "$TMP/inext.xml"
finish

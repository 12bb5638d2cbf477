#!/bin/sh
# smp_files.sh - `relais lookup --smp-file`: SMP ServiceMetadata responses are parsed and their signature
# checked without any network. Real responses of production Peppol SMPs (../shared/interop-corpus/smp,
# see its MANIFEST.md) verify against the Peppol G2 SMP CA at a time their signer was valid; the broken
# ones are refused with their reason. Responses signed by xmlsec1 with the test SMP key verify; changed,
# unsigned, wrongly signed or wrapped ones are refused.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/smp_fixtures.sh"
need_xmlsec1

SMP_ANCHORS="$PKI/smp-ca-chain.pem"
P=9915:relaistest
lookup_file() {
	"$RELAIS" lookup --set "trust.smp_anchors=$SMP_ANCHORS" --set "trust.anchors=$PKI/ca-chain.pem" "$@"
}

# --- responses signed by the test SMP ---
metadata_xml "$P" "$INVOICE_DOCTYPE" https://ap2.example.org/as4 "$PKI/POP000002.cert.pem" >"$TMP/tmpl.xml"
smp_sign "$TMP/tmpl.xml" "$TMP/good.xml"
expect_exit 0 "signed by SMP000001: verifies" -- lookup_file --explain --smp-file "$TMP/good.xml"
grep -q '^endpoint *https://ap2.example.org/as4$' "$TMP/stdout" && ok "endpoint URL printed" ||
	not_ok "endpoint URL printed"
grep -q 'signature: valid (rsa-sha256 sha256 exc-c14n), signer SMP000001' "$TMP/stdout" &&
	ok "explain gives the signature verdict" || not_ok "explain gives the signature verdict"
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$TMP/stdout" >"$TMP/ep.pem"
openssl x509 -in "$PKI/POP000002.cert.pem" >"$TMP/pop2.pem"
expect_same_file "$TMP/ep.pem" "$TMP/pop2.pem" "the endpoint certificate is POP000002's"

expect_exit 0 "--json" -- lookup_file --json --smp-file "$TMP/good.xml"
grep -q '"endpoint_url": "https://ap2.example.org/as4"' "$TMP/stdout" &&
	grep -q '"transport_profile": "peppol-transport-as4-v2_0"' "$TMP/stdout" &&
	grep -q '"certificate": "-----BEGIN CERTIFICATE-----' "$TMP/stdout" && ok "--json has the endpoint fields" ||
	not_ok "--json has the endpoint fields"

# the same document, one character of the endpoint URL changed after signing
sed 's#https://ap2.example.org/as4#https://evil.example.org/as4#' "$TMP/good.xml" >"$TMP/changed.xml"
expect_refused EBMS:0101 "changed after signing" -- lookup_file --smp-file "$TMP/changed.xml"
grep -q 'does not match the document' "$TMP/stderr" && ok "changed: reason given" || not_ok "changed: reason given"

# unsigned (the template as it was before signing, signature removed)
sed 's#<Signature xmlns=.*</Signature>##' "$TMP/tmpl.xml" >"$TMP/unsigned.xml"
expect_refused EBMS:0101 "unsigned" -- lookup_file --smp-file "$TMP/unsigned.xml"
grep -q 'is not signed' "$TMP/stderr" && ok "unsigned: reason given" || not_ok "unsigned: reason given"

# signed by an access point key (chains to the same root, but not through the SMP CA)
sign_with "$PKI/POP000001.key.pem" "$PKI/POP000001.cert.pem" "$TMP/tmpl.xml" "$TMP/ap-signed.xml"
expect_refused EBMS:0101 "signed by an AP certificate" -- lookup_file --smp-file "$TMP/ap-signed.xml"
grep -q 'SMP signer' "$TMP/stderr" && ok "AP signer: reason names the signer" || not_ok "AP signer: reason names the signer"
# ... even with the AP CA certificate added to KeyInfo
openssl x509 -in "$PKI/ap-ca.cert.pem" -outform DER | base64 -w0 >"$TMP/apca.b64"
sed "s#</X509Certificate>#</X509Certificate><X509Certificate>$(cat "$TMP/apca.b64")</X509Certificate>#" \
	"$TMP/ap-signed.xml" >"$TMP/ap-signed-chain.xml"
expect_refused EBMS:0101 "signed by an AP certificate with the AP CA in KeyInfo" -- \
	lookup_file --smp-file "$TMP/ap-signed-chain.xml"
# KeyInfo listing the SMP CA certificate before the signer's: the signer is still found
openssl x509 -in "$PKI/smp-ca.cert.pem" -outform DER | base64 -w0 >"$TMP/smpca.b64"
sed "s#<X509Certificate>#<X509Certificate>$(cat "$TMP/smpca.b64")</X509Certificate><X509Certificate>#" \
	"$TMP/good.xml" >"$TMP/ca-first.xml"
expect_exit 0 "KeyInfo with the CA certificate first" -- lookup_file --explain --smp-file "$TMP/ca-first.xml"
grep -q 'signer SMP000001' "$TMP/stdout" && ok "CA first: signer SMP000001 found" || not_ok "CA first: signer SMP000001 found"
# signed by a foreign CA's certificate
sign_with "$PKI/POP000666.key.pem" "$PKI/POP000666.cert.pem" "$TMP/tmpl.xml" "$TMP/foreign.xml"
expect_refused EBMS:0101 "signed by a foreign CA's certificate" -- lookup_file --smp-file "$TMP/foreign.xml"

# wrapping: the reference names an element instead of the whole document
sed 's#<Reference URI="">#<Reference URI="\#x">#' "$TMP/good.xml" >"$TMP/wrapped.xml"
expect_refused EBMS:0101 "reference that does not cover the whole document" -- \
	lookup_file --smp-file "$TMP/wrapped.xml"
grep -q 'does not cover the whole document' "$TMP/stderr" && ok "wrapping: reason given" || not_ok "wrapping: reason given"
# wrapping: a second, forged ServiceMetadata next to the signed one
sed 's#<ServiceMetadata>#<ServiceMetadata><ServiceInformation/></ServiceMetadata><ServiceMetadata>#' \
	"$TMP/good.xml" >"$TMP/wrapped2.xml"
expect_refused EBMS:0101 "a forged element added next to the signed one" -- lookup_file --smp-file "$TMP/wrapped2.xml"

# the endpoint certificate is checked against trust.anchors (the AP CAs)
metadata_xml "$P" "$INVOICE_DOCTYPE" https://ap2.example.org/as4 "$PKI/POP000666.cert.pem" >"$TMP/tmpl666.xml"
smp_sign "$TMP/tmpl666.xml" "$TMP/foreign-endpoint.xml"
expect_refused EBMS:0101 "endpoint certificate from a foreign CA" -- lookup_file --smp-file "$TMP/foreign-endpoint.xml"
grep -q 'endpoint certificate' "$TMP/stderr" && ok "foreign endpoint cert: reason given" ||
	not_ok "foreign endpoint cert: reason given"

# an endpoint that expired, one not yet active, one active now, and one with another transport profile only
dated() { # NAME FROM TO
	metadata_xml "$P" "$INVOICE_DOCTYPE" https://ap2.example.org/as4 "$PKI/POP000002.cert.pem" peppol-transport-as4-v2_0 \
		"<ServiceActivationDate>$2</ServiceActivationDate><ServiceExpirationDate>$3</ServiceExpirationDate>" \
		>"$TMP/tmpl-$1.xml"
	smp_sign "$TMP/tmpl-$1.xml" "$TMP/$1.xml"
}
dated expired 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z
dated future 2099-01-01T00:00:00Z 2100-01-01T00:00:00Z
dated current 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z
expect_refused EBMS:0003 "endpoint no longer active" -- lookup_file --smp-file "$TMP/expired.xml"
grep -q 'not active now' "$TMP/stderr" && ok "expired endpoint: reason given" || not_ok "expired endpoint: reason given"
expect_refused EBMS:0003 "endpoint not active yet" -- lookup_file --smp-file "$TMP/future.xml"
expect_exit 0 "endpoint within its dates" -- lookup_file --smp-file "$TMP/current.xml"
grep -q '^expiration *2099-01-01T00:00:00' "$TMP/stdout" && ok "expiration date printed" || not_ok "expiration date printed"
metadata_xml "$P" "$INVOICE_DOCTYPE" https://ap2.example.org/as2 "$PKI/POP000002.cert.pem" busdox-transport-as2-ver2p0 \
	>"$TMP/tmpl-as2.xml"
smp_sign "$TMP/tmpl-as2.xml" "$TMP/as2.xml"
expect_refused EBMS:0003 "AS2 endpoint only" -- lookup_file --smp-file "$TMP/as2.xml"
expect_refused EBMS:0003 "a process the SMP does not list" -- \
	lookup_file --process cenbii-procid-ubl::urn:other --smp-file "$TMP/good.xml"
expect_exit 0 "the process the SMP lists" -- lookup_file --process "$BILLING_PROCESS" --smp-file "$TMP/good.xml"

# a ServiceGroup file is listed
service_group_xml "$P" http://smp.example.org "$INVOICE_DOCTYPE" "$CREDITNOTE_DOCTYPE" >"$TMP/group.xml"
expect_exit 0 "ServiceGroup file" -- lookup_file --smp-file "$TMP/group.xml"
grep -qF "doctype      $INVOICE_DOCTYPE" "$TMP/stdout" && grep -qF "doctype      $CREDITNOTE_DOCTYPE" "$TMP/stdout" &&
	ok "ServiceGroup file: both document types" || not_ok "ServiceGroup file: both document types"
sed 's#/services/#/elsewhere/#' "$TMP/group.xml" >"$TMP/group-bad.xml"
expect_exit 5 "ServiceGroup reference without a document type" -- lookup_file --smp-file "$TMP/group-bad.xml"

# not an SMP document, not XML
expect_exit 5 "a file that is not XML" -- lookup_file --smp-file \
	"$top_srcdir/tests/scripts/smp_fixtures.sh"
grep -q 'RELAIS:BAD_RESPONSE' "$TMP/stderr" && ok "not XML: BadResponse" || not_ok "not XML: BadResponse"

# --- real responses of production SMPs (shared corpus) ---
if [ -d "${RELAIS_SHARED_DIR:-}/interop-corpus/smp" ]; then
	SHARED="$RELAIS_SHARED_DIR"
	CA="$SHARED/interop-corpus/keys/peppol-ca/2018"
	openssl x509 -inform DER -in "$CA/Peppol_Root_CA.cer" >"$TMP/g2-smp.pem" &&
		openssl x509 -inform DER -in "$CA/Peppol_ServiceMetadataPublisher_CA.cer" >>"$TMP/g2-smp.pem" ||
		{ echo "cannot convert the Peppol CAs"; exit 99; }
	C="$SHARED/interop-corpus/smp/peppol-commons"
	prod() { "$RELAIS" lookup --explain --set "trust.smp_anchors=$TMP/g2-smp.pem" --at 2020-01-01T00:00:00Z "$@"; }
	# eConnect PNL000052: rsa-sha1, with an AS4 endpoint
	expect_exit 0 "production SMP PNL000052 (rsa-sha1) verifies" -- prod --smp-file "$C/signed-service-metadata3-c14n-inclusive.xml"
	grep -q 'signature: valid (rsa-sha1 sha1 exc-c14n), signer PNL000052' "$TMP/stdout" &&
		grep -q '^endpoint *https://ap.econnect.eu/as4/v1$' "$TMP/stdout" && ok "PNL000052: AS4 endpoint chosen" ||
		not_ok "PNL000052: AS4 endpoint chosen"
	# NetEDI PNO000070: signature valid, but it publishes an AS2 endpoint only
	expect_refused EBMS:0003 "production SMP PNO000070 verifies, offers AS2 only" -- \
		prod --smp-file "$C/signed-service-metadata2.xml"
	grep -q 'signature: valid (rsa-sha1 sha1 exc-c14n), signer PNO000070' "$TMP/stdout" &&
		ok "PNO000070: signature valid" || not_ok "PNO000070: signature valid"
	# the edited copy no longer matches its signature
	expect_refused EBMS:0101 "signed-service-metadata1.xml (edited) refused" -- prod --smp-file "$C/signed-service-metadata1.xml"
	# their signers have expired by now
	expect_refused EBMS:0101 "PNL000052 refused now (signer expired)" -- "$RELAIS" lookup \
		--set "trust.smp_anchors=$TMP/g2-smp.pem" --smp-file "$C/signed-service-metadata3-c14n-inclusive.xml"
	grep -q 'expired' "$TMP/stderr" && ok "expired signer: reason given" || not_ok "expired signer: reason given"
	# test-network anchors (not production) do not trust a production SMP
	openssl x509 -inform DER -in "$CA/Peppol_Test_Root_CA.cer" >"$TMP/g2-test.pem" &&
		openssl x509 -inform DER -in "$CA/Peppol_Test_ServiceMetadataPublisher_CA.cer" >>"$TMP/g2-test.pem"
	expect_refused EBMS:0101 "production SMP refused with the test SMP CA" -- "$RELAIS" lookup \
		--set "trust.smp_anchors=$TMP/g2-test.pem" --at 2020-01-01T00:00:00Z --smp-file "$C/signed-service-metadata2.xml"
	# OASIS BDXR SMP 1.0, signed by the DomiSMP test key (rsa-sha256, inclusive c14n)
	H="$SHARED/interop-corpus/smp/harmony-smp"
	expect_refused EBMS:0003 "BDXR SMP 1.0 response verifies (no AS4 endpoint in it)" -- "$RELAIS" lookup --explain \
		--set "trust.smp_anchors=$SHARED/interop-corpus/keys/harmony-smp/pem/smp-mock-services.crt" \
		--at 2025-01-01T00:00:00Z --smp-file "$H/SignedServiceMetadataPoland.xml"
	grep -q 'signature: valid (rsa-sha256 sha256 c14n), signer SMP Mock Services' "$TMP/stdout" &&
		grep -q 'OASIS BDXR SMP 1.0 ServiceMetadata' "$TMP/stdout" && ok "BDXR 1.0: signature valid, flavour read" ||
		not_ok "BDXR 1.0: signature valid, flavour read"
	expect_exit 0 "BDXR SMP 1.0 ServiceGroup (DomiSMP sample)" -- lookup_file --json --smp-file "$H/ServiceGroupPoland.xml"
	grep -q '"participant": "ehealth-actorid-qns::urn:poland:ncpb:utest"' "$TMP/stdout" &&
		grep -q '"smp_flavour": "OASIS BDXR SMP 1.0"' "$TMP/stdout" && ok "BDXR ServiceGroup read" ||
		not_ok "BDXR ServiceGroup read"
	for f in SignedServiceMetadata_invalid_default_signature.xml SignedServiceMetadata_withoutSignature.xml; do
		expect_refused EBMS:0101 "$f refused" -- "$RELAIS" lookup \
			--set "trust.smp_anchors=$SHARED/interop-corpus/keys/harmony-smp/pem/smp-mock-services.crt" \
			--at 2025-01-01T00:00:00Z --smp-file "$H/$f"
	done
else
	echo "# shared corpus absent: production SMP responses not checked"
fi
finish

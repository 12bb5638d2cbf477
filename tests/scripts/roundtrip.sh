#!/bin/sh
# roundtrip.sh - relais pack -> relais unpack gives back the payload byte for byte (1 KB, 1 MB, 50 MB),
# the receipt verifies against the sent message; the independent peer checks relais's receipt, and relais
# checks the peer's; tampering and wrong keys are refused with their ebMS codes.
. "$top_srcdir/tests/scripts/lib.sh"
A="--key $PKI/POP000001.key.pem --cert $PKI/POP000001.cert.pem"
B="--key $PKI/POP000002.key.pem --cert $PKI/POP000002.cert.pem"
TRUST="--trust $PKI/ca-chain.pem"

# An SBD with a body of about SIZE bytes (the SBDH gives the routing values).
make_sbd() {
	size=$1; out=$2
	{
		cat <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"><StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion><Sender><Identifier Authority="iso6523-actorid-upis">0088:5798000000001</Identifier></Sender><Receiver><Identifier Authority="iso6523-actorid-upis">0088:5798000000002</Identifier></Receiver><DocumentIdentification><Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard><TypeVersion>2.1</TypeVersion><InstanceIdentifier>rt-1</InstanceIdentifier><Type>Invoice</Type><CreationDateAndTime>2026-11-23T10:00:00Z</CreationDateAndTime></DocumentIdentification><BusinessScope><Scope><Type>DOCUMENTID</Type><InstanceIdentifier>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1</InstanceIdentifier><Identifier>busdox-docid-qns</Identifier></Scope><Scope><Type>PROCESSID</Type><InstanceIdentifier>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</InstanceIdentifier><Identifier>cenbii-procid-ubl</Identifier></Scope><Scope><Type>COUNTRY_C1</Type><InstanceIdentifier>BE</InstanceIdentifier></Scope></BusinessScope></StandardBusinessDocumentHeader>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><Note>
XML
		# random text (base64 of random bytes) so compression cannot shrink it to nothing
		head -c $((size * 3 / 4)) /dev/urandom | base64 -w 76
		echo '</Note></Invoice></StandardBusinessDocument>'
	} > "$out"
}

for size in 1024 1048576 52428800; do
	make_sbd $size "$TMP/in-$size.xml"
	expect_exit 0 "pack $size bytes" -- "$RELAIS" pack $A --to-cert "$PKI/POP000002.cert.pem" \
		--payload "$TMP/in-$size.xml" -o "$TMP/m-$size.mime"
	expect_exit 0 "unpack $size bytes" -- "$RELAIS" unpack $B $TRUST "$TMP/m-$size.mime" \
		--payload-out "$TMP/out-$size.xml" --receipt-out "$TMP/r-$size.mime"
	expect_same_file "$TMP/in-$size.xml" "$TMP/out-$size.xml" "$size-byte payload byte for byte"
	expect_exit 0 "receipt for $size bytes verifies against the sent message" -- \
		"$RELAIS" verify-receipt $TRUST --sent "$TMP/m-$size.mime" "$TMP/r-$size.mime"
done
rm -f "$TMP"/*-52428800.*

# the receipt of one message does not acknowledge another
expect_refused EBMS:0302 "receipt checked against another message" -- \
	"$RELAIS" verify-receipt $TRUST --sent "$TMP/m-1024.mime" "$TMP/r-1048576.mime"
# a receipt signed by a key outside the trust anchors
expect_refused EBMS:0101 "receipt from an untrusted signer" -- \
	"$RELAIS" verify-receipt --trust "$PKI/other-ca-chain.pem" --sent "$TMP/m-1024.mime" "$TMP/r-1024.mime"

# refusals on unpack: nothing is written
expect_refused EBMS:0102 "message for another receiver" -- "$RELAIS" unpack $A $TRUST "$TMP/m-1024.mime" \
	--payload-out "$TMP/x.xml"
expect_refused EBMS:0101 "untrusted sender" -- "$RELAIS" unpack $B --trust "$PKI/other-ca-chain.pem" \
	"$TMP/m-1024.mime" --payload-out "$TMP/x.xml"
# a SOAP header block marked mustUnderstand that relais does not process is refused; not marked, it is ignored
sed 's|<eb:Messaging |<x:Routing xmlns:x="urn:example:routing" S12:mustUnderstand="true">r</x:Routing><eb:Messaging |' \
	"$TMP/m-1024.mime" > "$TMP/mu.mime"
grep -q '<x:Routing' "$TMP/mu.mime" && ok "a message with an extra header block" || not_ok "no header block inserted"
expect_refused EBMS:0009 "an unknown header block marked mustUnderstand" -- "$RELAIS" unpack $B $TRUST "$TMP/mu.mime" \
	--payload-out "$TMP/x.xml"
grep -q "{urn:example:routing}Routing is marked mustUnderstand" "$TMP/stderr" && ok "  ... naming it" ||
	not_ok "  ... message: $(cat "$TMP/stderr")"
sed 's|S12:mustUnderstand="true">r</x:Routing>|S12:mustUnderstand="false">r</x:Routing>|' "$TMP/mu.mime" > "$TMP/mu-no.mime"
expect_exit 0 "the same block without mustUnderstand is ignored" -- "$RELAIS" unpack $B $TRUST "$TMP/mu-no.mime" \
	--payload-out "$TMP/mu-payload.xml"
expect_same_file "$TMP/in-1024.xml" "$TMP/mu-payload.xml" "  ... and the payload comes out whole"

# a changed Body, weak algorithms
sed 's|wsu:Id="body-\([^"]*\)"/>|wsu:Id="body-\1"><injected/></S12:Body>|' "$TMP/m-1024.mime" > "$TMP/body.mime"
expect_refused EBMS:0101 "content added to the signed Body" -- "$RELAIS" unpack $B $TRUST "$TMP/body.mime" \
	--payload-out "$TMP/x.xml"
sed 's|http://www.w3.org/2009/xmlenc11#rsa-oaep|http://www.w3.org/2001/04/xmlenc#rsa-1_5|' "$TMP/m-1024.mime" > "$TMP/rsa15.mime"
expect_refused EBMS:0103 "RSA 1.5 key transport" -- "$RELAIS" unpack $B $TRUST "$TMP/rsa15.mime" --payload-out "$TMP/x.xml"
sed 's|http://www.w3.org/2001/04/xmldsig-more#rsa-sha256|http://www.w3.org/2000/09/xmldsig#rsa-sha1|' "$TMP/m-1024.mime" > "$TMP/sha1.mime"
expect_refused EBMS:0103 "RSA-SHA1 signature" -- "$RELAIS" unpack $B $TRUST "$TMP/sha1.mime" --payload-out "$TMP/x.xml"
sed '0,/xmlenc#sha256/s|http://www.w3.org/2001/04/xmlenc#sha256|http://www.w3.org/2000/09/xmldsig#sha1|' "$TMP/m-1024.mime" > "$TMP/sha1d.mime"
expect_refused EBMS:0103 "SHA-1 digest" -- "$RELAIS" unpack $B $TRUST "$TMP/sha1d.mime" --payload-out "$TMP/x.xml"
[ ! -e "$TMP/x.xml" ] && ok "no payload written on refusal" || not_ok "no payload written on refusal"

# interop of receipts with the independent peer
if command -v java >/dev/null 2>&1 && [ -d "${RELAIS_SHARED_DIR:-}/as4peer" ]; then
	need_as4peer
	expect_exit 0 "as4peer verify-receipt --sent accepts relais's receipt" -- "$AS4PEER" verify-receipt \
		--trust "$PKI/ca-chain.pem" --sent "$TMP/m-1024.mime" "$TMP/r-1024.mime"
	expect_exit 0 "as4peer opens relais's message and writes its receipt" -- "$AS4PEER" open \
		--key "$PKI/POP000002.key.pem,$PKI/POP000002.cert.pem" --trust "$PKI/ca-chain.pem" --strict \
		"$TMP/m-1024.mime" --out-payload "$TMP/peer.xml" --out-receipt "$TMP/peer-r.mime"
	expect_exit 0 "relais verifies as4peer's receipt against the sent message" -- "$RELAIS" verify-receipt \
		$TRUST --sent "$TMP/m-1024.mime" "$TMP/peer-r.mime"
fi
finish

#!/bin/sh
# pack_interop.sh - relais pack -> the independent Java/Santuario peer (../shared/as4peer) opens the message
# in --strict Peppol mode and returns the payload byte for byte; variants without compression.
. "$top_srcdir/tests/scripts/lib.sh"
need_as4peer
SBD="$SHARED/as4peer/samples/invoice-sbd.xml"
A="--key $PKI/POP000001.key.pem --cert $PKI/POP000001.cert.pem"
B="$PKI/POP000002.key.pem,$PKI/POP000002.cert.pem"

# default: compressed, signed, encrypted
expect_exit 0 "pack for POP000002" -- "$RELAIS" pack $A --to-cert "$PKI/POP000002.cert.pem" --payload "$SBD" -o "$TMP/m1.mime"
expect_exit 0 "as4peer open --strict accepts it" -- "$AS4PEER" open --key "$B" --trust "$PKI/ca-chain.pem" --strict \
	"$TMP/m1.mime" --out-payload "$TMP/got1.xml" --out-receipt "$TMP/r1.mime"
expect_same_file "$SBD" "$TMP/got1.xml" "payload byte for byte"
grep -q "aes128-gcm" "$TMP/stdout" && grep -q "xmlenc11#rsa-oaep" "$TMP/stdout" && ok "peer saw AES-128-GCM and RSA-OAEP" \
	|| not_ok "peer saw AES-128-GCM and RSA-OAEP"

# PKCS#12 keystore instead of PEM, uncompressed XML payload (the SwA transform canonicalises XML)
expect_exit 0 "pack --keystore --no-compress" -- "$RELAIS" pack --keystore "$PKI/POP000001.p12" --password test \
	--to-cert "$PKI/POP000002.cert.pem" --payload "$SBD" --no-compress -o "$TMP/m2.mime"
expect_exit 0 "as4peer opens the uncompressed message" -- "$AS4PEER" open --key "$B" --trust "$PKI/ca-chain.pem" \
	--strict "$TMP/m2.mime" --out-payload "$TMP/got2.xml"
expect_same_file "$SBD" "$TMP/got2.xml" "uncompressed payload byte for byte"

# the peer is not fooled either: a changed eb:Messaging value breaks the signature
sed 's/POP000001</POP000009</' "$TMP/m1.mime" > "$TMP/m3.mime"
expect_exit 1 "as4peer refuses a tampered header" -- "$AS4PEER" open --key "$B" --trust "$PKI/ca-chain.pem" \
	"$TMP/m3.mime" --out-payload "$TMP/got3.xml"

# usage errors
expect_exit 2 "pack without --payload" -- "$RELAIS" pack $A --to-cert "$PKI/POP000002.cert.pem" -o "$TMP/x.mime"
expect_exit 2 "pack with a missing key file" -- "$RELAIS" pack --key /nonexistent --cert "$PKI/POP000001.cert.pem" \
	--to-cert "$PKI/POP000002.cert.pem" --payload "$SBD" -o "$TMP/x.mime"
[ ! -e "$TMP/x.mime" ] && ok "nothing written on failure" || not_ok "nothing written on failure"
finish

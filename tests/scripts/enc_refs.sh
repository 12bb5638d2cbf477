#!/bin/sh
# enc_refs.sh - `relais unpack` refuses a message whose encryption references do not match (the
# EncryptedKey's ReferenceList against the EncryptedData) with EBMS:0102, and one with a standalone
# ReferenceList in wsse:Security with EBMS:0103, each with one line naming the id, and writes no payload;
# the message as packed unpacks.
. "$top_srcdir/tests/scripts/lib.sh"
A="--key $PKI/POP000001.key.pem --cert $PKI/POP000001.cert.pem"
B="--key $PKI/POP000002.key.pem --cert $PKI/POP000002.cert.pem --trust $PKI/ca-chain.pem"
M="$TMP/m.mime"
export LC_ALL=C

expect_exit 0 "pack" -- "$RELAIS" pack $A --to-cert "$PKI/POP000002.cert.pem" \
	--payload "$top_srcdir/examples/invoice-sbd.xml" -o "$M"
expect_exit 0 "the packed message unpacks" -- "$RELAIS" unpack $B --payload-out "$TMP/out.xml" "$M"
expect_same_file "$top_srcdir/examples/invoice-sbd.xml" "$TMP/out.xml" "payload byte for byte"
ED=$(grep -a -o '<xenc:EncryptedData [^>]* Id="[^"]*"' "$M" | sed 's/.* Id="\([^"]*\)"/\1/')
[ -n "$ED" ] && ok "the EncryptedData id is $ED" || not_ok "the EncryptedData has an id"

# refused CODE DESCRIPTION WORD EDITED: refused with CODE, one line naming WORD, no payload written
refused() {
	rm -f "$TMP/no.xml"
	expect_refused "$1" "$2" -- "$RELAIS" unpack $B --payload-out "$TMP/no.xml" "$4"
	if grep -qF -- "$3" "$TMP/stderr" && [ "$(wc -l <"$TMP/stderr")" = 1 ]; then ok "$2: one line naming $3"
	else not_ok "$2: one line naming $3"; sed 's/^/    /' "$TMP/stderr"; fi
	[ ! -e "$TMP/no.xml" ] && ok "$2: no payload written" || not_ok "$2: a payload was written"
}

sed "s|<xenc:DataReference URI=\"#$ED\"/>|<xenc:DataReference URI=\"#$ED-gone\"/>|" "$M" >"$TMP/dangling.mime"
refused EBMS:0102 "a dangling DataReference" "#$ED-gone" "$TMP/dangling.mime"

sed "s|<eb:Messaging |<x:Decoy xmlns:x=\"urn:example:decoy\" Id=\"$ED\"/><eb:Messaging |" "$M" >"$TMP/wrapped.mime"
refused EBMS:0102 "another header block claiming the EncryptedData's id" "#$ED" "$TMP/wrapped.mime"

sed "s|<xenc:ReferenceList><xenc:DataReference URI=\"#$ED\"/></xenc:ReferenceList>||" "$M" >"$TMP/nolist.mime"
refused EBMS:0102 "an EncryptedKey without a ReferenceList" "no ReferenceList" "$TMP/nolist.mime"

sed "s|<xenc:DataReference URI=\"#$ED\"/>||" "$M" >"$TMP/empty.mime"
refused EBMS:0102 "an empty ReferenceList" "ReferenceList is empty" "$TMP/empty.mime"

# A ReferenceList directly in wsse:Security (WS-Security allows it, Peppol AS4 does not use it): beside
# the EncryptedKey's list, and in its place. The signature does not cover the header: only this is wrong.
LIST="<xenc:ReferenceList xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"><xenc:DataReference URI=\"#$ED\"/></xenc:ReferenceList>"
sed "s|<xenc:EncryptedData |$LIST&|" "$M" >"$TMP/standalone.mime"
refused EBMS:0103 "a standalone ReferenceList beside the EncryptedKey's" \
	"standalone xenc:ReferenceList, listing #$ED, which the EncryptedKey's ReferenceList lists too" \
	"$TMP/standalone.mime"
sed -e "s|<xenc:ReferenceList><xenc:DataReference URI=\"#$ED\"/></xenc:ReferenceList>||" \
	-e "s|<xenc:EncryptedData |$LIST&|" "$M" >"$TMP/moved.mime"
refused EBMS:0103 "a standalone ReferenceList in place of the EncryptedKey's" \
	"standalone xenc:ReferenceList, listing #$ED;" "$TMP/moved.mime"
finish

#!/bin/sh
# rollover.sh - key rollover without downtime: POP000002 holds its old certificate (identity) and its renewal
# POP000002-new (identity.next). Messages encrypted to either are accepted before and after
# identity.switch_at; before it receipts and sent messages are signed with the old key, after it with the
# new one. Senders with an expired (POP000099) or foreign-CA (POP000666) certificate are refused.
. "$top_srcdir/tests/scripts/lib.sh"

cat >"$TMP/relais.conf" <<EOF
[identity]
key = $PKI/POP000002.key.pem
cert = $PKI/POP000002.cert.pem
next_keystore = $PKI/POP000002-new.p12
next_password = test

[trust]
anchors = $PKI/ca-chain.pem
revocation = hard
crls = $PKI/ap-ca.crl.pem
EOF
CONF="-c $TMP/relais.conf"
BEFORE="--set identity.switch_at=2099-01-01T00:00:00Z"
AFTER="--set identity.switch_at=2020-01-01T00:00:00Z"
OLD_SERIAL=$(openssl x509 -in "$PKI/POP000002.cert.pem" -noout -serial)
NEW_SERIAL=$(openssl x509 -in "$PKI/POP000002-new.cert.pem" -noout -serial)

# The serial of the certificate in the signing BinarySecurityToken of a message or receipt ("serial=..."),
# not the receiver's token (wsu:Id="X509-rcv-...").
signer_serial() {
	grep -a -o '<wsse:BinarySecurityToken [^>]*wsu:Id="X509-[0-9a-f][^"]*">[^<]*' "$1" | head -1 | sed 's/.*>//' |
		base64 -d 2>/dev/null | openssl x509 -inform DER -noout -serial 2>/dev/null
}

# check_signer FILE WANTED DESCRIPTION
check_signer() {
	got=$(signer_serial "$1")
	if [ -n "$got" ] && [ "$got" = "$2" ]; then ok "$3"; else not_ok "$3 (signed by '$got', wanted '$2')"; fi
}

cat >"$TMP/sbd.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"><StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion><Sender><Identifier Authority="iso6523-actorid-upis">0088:5798000000001</Identifier></Sender><Receiver><Identifier Authority="iso6523-actorid-upis">0088:5798000000002</Identifier></Receiver><DocumentIdentification><Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard><TypeVersion>2.1</TypeVersion><InstanceIdentifier>roll-1</InstanceIdentifier><Type>Invoice</Type><CreationDateAndTime>2026-11-23T10:00:00Z</CreationDateAndTime></DocumentIdentification><BusinessScope><Scope><Type>DOCUMENTID</Type><InstanceIdentifier>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1</InstanceIdentifier><Identifier>busdox-docid-qns</Identifier></Scope><Scope><Type>PROCESSID</Type><InstanceIdentifier>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</InstanceIdentifier><Identifier>cenbii-procid-ubl</Identifier></Scope><Scope><Type>COUNTRY_C1</Type><InstanceIdentifier>BE</InstanceIdentifier></Scope></BusinessScope></StandardBusinessDocumentHeader>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><Note>rollover</Note></Invoice></StandardBusinessDocument>
XML

# POP000001 sends to the old certificate (what an SMP still published) and to the new one.
for to in POP000002 POP000002-new; do
	expect_exit 0 "pack from POP000001 to $to" -- "$RELAIS" pack --key "$PKI/POP000001.key.pem" \
		--cert "$PKI/POP000001.cert.pem" --to-cert "$PKI/$to.cert.pem" --payload "$TMP/sbd.xml" \
		-o "$TMP/to-$to.mime"
done

for phase in before after; do
	if [ $phase = before ]; then SWITCH=$BEFORE; SIGNER=$OLD_SERIAL; else SWITCH=$AFTER; SIGNER=$NEW_SERIAL; fi
	for to in POP000002 POP000002-new; do
		rm -f "$TMP/out.xml"
		expect_exit 0 "$phase the switch: a message encrypted to $to is accepted" -- "$RELAIS" unpack \
			$CONF $SWITCH --payload-out "$TMP/out.xml" --receipt-out "$TMP/r-$phase-$to.mime" "$TMP/to-$to.mime"
		expect_same_file "$TMP/sbd.xml" "$TMP/out.xml" "$phase the switch: payload for $to byte for byte"
		check_signer "$TMP/r-$phase-$to.mime" "$SIGNER" "$phase the switch: the receipt is signed with the $( [ $phase = before ] && echo old || echo new) key"
		expect_exit 0 "$phase the switch: the sender accepts the receipt" -- "$RELAIS" verify-receipt \
			--trust "$PKI/ca-chain.pem" --sent "$TMP/to-$to.mime" "$TMP/r-$phase-$to.mime"
	done
	# What we send is signed by the key of the moment and verifies at the receiver.
	expect_exit 0 "$phase the switch: pack -c" -- "$RELAIS" pack $CONF $SWITCH --to-cert "$PKI/POP000001.cert.pem" \
		--payload "$TMP/sbd.xml" -o "$TMP/sent-$phase.mime"
	check_signer "$TMP/sent-$phase.mime" "$SIGNER" "$phase the switch: our message is signed with the $( [ $phase = before ] && echo old || echo new) key"
	expect_exit 0 "$phase the switch: POP000001 accepts our message" -- "$RELAIS" unpack \
		--key "$PKI/POP000001.key.pem" --cert "$PKI/POP000001.cert.pem" --trust "$PKI/ca-chain.pem" \
		--payload-out "$TMP/back-$phase.xml" "$TMP/sent-$phase.mime"
done

# --at picks the signing identity too.
expect_exit 0 "--at after the switch time signs the receipt with the new key" -- "$RELAIS" unpack $CONF \
	--set identity.switch_at=2030-01-01T00:00:00Z --at 2031-01-01T00:00:00Z --payload-out "$TMP/out.xml" \
	--receipt-out "$TMP/r-at.mime" "$TMP/to-POP000002.mime"
check_signer "$TMP/r-at.mime" "$NEW_SERIAL" "receipt signed with the new key at the --at time"

# Once the old identity is dropped, messages still encrypted to it fail with a clear error.
expect_refused EBMS:0102 "without the old key, a message encrypted to it is refused" -- "$RELAIS" unpack $CONF \
	--set identity.key="$PKI/POP000002-new.key.pem" --set identity.cert="$PKI/POP000002-new.cert.pem" \
	--set identity.next_keystore= --set identity.next_password= --payload-out "$TMP/x.xml" "$TMP/to-POP000002.mime"

# Senders whose certificate is expired or from another CA are refused, before and after.
for sender in POP000099 POP000666; do
	expect_exit 0 "pack from $sender" -- "$RELAIS" pack --key "$PKI/$sender.key.pem" --cert "$PKI/$sender.cert.pem" \
		--to-cert "$PKI/POP000002-new.cert.pem" --payload "$TMP/sbd.xml" -o "$TMP/from-$sender.mime"
	expect_refused EBMS:0101 "a message signed by $sender is refused" -- "$RELAIS" unpack $CONF $AFTER \
		--payload-out "$TMP/x.xml" "$TMP/from-$sender.mime"
done
grep -q "CN=POP000666 does not chain to a trusted CA" "$TMP/stderr" && ok "the foreign CA is named as such" ||
	not_ok "foreign CA message: $(cat "$TMP/stderr")"
[ ! -e "$TMP/x.xml" ] && ok "nothing written on refusal" || not_ok "nothing written on refusal"

# Configuration mistakes are reported before anything is read.
expect_exit 2 "a switch time that is not a date-time" -- "$RELAIS" unpack $CONF --set identity.switch_at=soon \
	--payload-out "$TMP/x.xml" "$TMP/to-POP000002.mime"
grep -q "identity.switch_at: 'soon' is not a date-time" "$TMP/stderr" && ok "the bad switch time is named" ||
	not_ok "bad switch time: $(cat "$TMP/stderr")"
expect_exit 2 "a wrong password for the next keystore" -- "$RELAIS" unpack $CONF --set identity.next_password=wrong \
	--payload-out "$TMP/x.xml" "$TMP/to-POP000002.mime"
grep -q "identity.next: wrong password" "$TMP/stderr" && ok "the wrong password names identity.next" ||
	not_ok "wrong password: $(cat "$TMP/stderr")"
finish

#!/bin/sh
# verify_receipt.sh - `relais verify-receipt` on real receipts of Peppol access points (corpus files
# ../shared/interop-corpus/as4/phase4/received-receipts/{governikus,helger,dataport1-mustunderstand,
# dataport1}.as4in and as4/phase4/testfiles/TestReceipt12.xml), trusted through the Peppol G2 test CAs
# of ../shared/interop-corpus/keys/peppol-ca/2018/ (G3 ones of 2025/ for TestReceipt12.xml), valid at the receipts' own timestamps.
. "$top_srcdir/tests/scripts/lib.sh"
need_shared

CA_DIR="$SHARED/interop-corpus/keys/peppol-ca/2018"
RECEIPTS="$SHARED/interop-corpus/as4/phase4/received-receipts"
CHAIN="$TMP/peppol-g2-test-chain.pem"
openssl x509 -inform DER -in "$CA_DIR/Peppol_Test_Root_CA.cer" >"$CHAIN" &&
	openssl x509 -inform DER -in "$CA_DIR/Peppol_Test_AccessPoint_CA.cer" >>"$CHAIN" ||
	{ echo "cannot convert the Peppol test CAs"; exit 99; }
# TestReceipt12.xml (BTC AG) is signed under the G3 test CA: ../shared/interop-corpus/keys/peppol-ca/2025/
cat "$SHARED/interop-corpus/keys/peppol-ca/2025/PEPPOL_Root_TEST_CA-G3.pem" \
	"$SHARED/interop-corpus/keys/peppol-ca/2025/PEPPOL_ACCESS_POINT_TEST_CA-G3.pem" >>"$CHAIN"

for f in "$RECEIPTS/governikus.as4in" "$RECEIPTS/helger.as4in" "$RECEIPTS/dataport1-mustunderstand.as4in" \
	"$SHARED/interop-corpus/as4/phase4/testfiles/TestReceipt12.xml"; do
	expect_exit 0 "$(basename "$f") verifies at its timestamp" -- \
		"$RELAIS" verify-receipt --trust "$CHAIN" --at receipt "$f"
	grep -q "OK" "$TMP/stdout" && ok "$(basename "$f") reported OK" || not_ok "$(basename "$f") reported OK"
done

# phase4's edited copy of the Dataport receipt no longer matches its signature
expect_refused EBMS:0101 "dataport1.as4in refused" -- \
	"$RELAIS" verify-receipt --trust "$CHAIN" --at receipt "$RECEIPTS/dataport1.as4in"
# their certificates have expired since
expect_refused EBMS:0101 "governikus.as4in refused now" -- \
	"$RELAIS" verify-receipt --trust "$CHAIN" --at now "$RECEIPTS/governikus.as4in"
expect_exit 2 "no --trust" -- "$RELAIS" verify-receipt "$RECEIPTS/helger.as4in"
expect_exit 2 "bad --at" -- "$RELAIS" verify-receipt --trust "$CHAIN" --at tomorrow "$RECEIPTS/helger.as4in"

# --sent: a message packed by relais and opened by the independent Java peer (../shared/as4peer), whose
# receipt must refer to it and acknowledge its digests; the same receipt does not fit another message.
if command -v java >/dev/null 2>&1 && [ -f /usr/share/java/xmlsec.jar ]; then
	need_as4peer
	SBD="$SHARED/as4peer/samples/invoice-sbd.xml"
	A="--key $PKI/POP000001.key.pem --cert $PKI/POP000001.cert.pem --to-cert $PKI/POP000002.cert.pem"
	expect_exit 0 "pack m1" -- "$RELAIS" pack $A --payload "$SBD" -o "$TMP/m1.mime"
	expect_exit 0 "pack m2" -- "$RELAIS" pack $A --payload "$SBD" -o "$TMP/m2.mime"
	expect_exit 0 "as4peer opens m1 and answers a receipt" -- "$AS4PEER" open \
		--key "$PKI/POP000002.key.pem,$PKI/POP000002.cert.pem" --trust "$PKI/ca-chain.pem" --strict \
		"$TMP/m1.mime" --out-payload "$TMP/p1.xml" --out-receipt "$TMP/r1.mime"
	expect_exit 0 "as4peer receipt verifies with --sent m1" -- \
		"$RELAIS" verify-receipt --trust "$PKI/ca-chain.pem" --sent "$TMP/m1.mime" "$TMP/r1.mime"
	expect_refused EBMS:0302 "as4peer receipt for m1 refused for m2" -- \
		"$RELAIS" verify-receipt --trust "$PKI/ca-chain.pem" --sent "$TMP/m2.mime" "$TMP/r1.mime"
	expect_refused EBMS:0101 "as4peer receipt refused under another CA" -- \
		"$RELAIS" verify-receipt --trust "$PKI/other-ca-chain.pem" "$TMP/r1.mime"
fi
finish

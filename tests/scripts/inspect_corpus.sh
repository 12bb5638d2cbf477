#!/bin/sh
# inspect_corpus.sh - relais inspect on third-party messages from ../shared/interop-corpus (see its
# MANIFEST.md): what verifies without the receiver's key verifies, broken samples are refused with their code.
. "$top_srcdir/tests/scripts/lib.sh"
need_shared
C="$SHARED/interop-corpus/as4"

# phase4 outbound Peppol message (full MIME, signed + encrypted for POP000306, whose key is not public)
expect_exit 0 "phase4 outbound message: signature and header digests" -- "$RELAIS" inspect "$C/phase4/outbound/dump-raw.as4out"
grep -q "SignatureValue valid (signer POP000306); 2 element digests ok, eb:Messaging covered, Body covered" "$TMP/stdout" \
	&& ok "phase4: eb:Messaging and Body digests verified" || not_ok "phase4: eb:Messaging and Body digests verified"
grep -q "Peppol profile:  header conforms" "$TMP/stdout" && ok "phase4: header conforms to the Peppol profile" \
	|| not_ok "phase4: header conforms"
grep -q "EncryptedKey:    http://www.w3.org/2009/xmlenc11#rsa-oaep" "$TMP/stdout" && ok "phase4: key transport shown" \
	|| not_ok "phase4: key transport shown"

# Holodeck B2B message (SOAP part only; the attachment is not in the file)
expect_exit 0 "Holodeck message: SignatureValue and header digests" -- "$RELAIS" inspect \
	"$C/holodeck/via-phase4/from-holodeck-1.original-no-license-header.xml"
# receipts from real access points
for f in phase4/received-receipts/governikus.as4in phase4/received-receipts/helger.as4in \
	phase4/received-receipts/dataport1-mustunderstand.as4in phase4/testfiles/TestReceipt12.xml; do
	expect_exit 0 "receipt $(basename "$f") verifies" -- "$RELAIS" inspect "$C/$f"
done
# broken samples
expect_refused EBMS:0101 "dataport1.as4in, edited after signing" -- "$RELAIS" inspect "$C/phase4/received-receipts/dataport1.as4in"
expect_refused EBMS:0103 "phase4 WrongSigningAlgorithm.xml" -- "$RELAIS" inspect "$C/phase4/testfiles/WrongSigningAlgorithm.xml"
expect_refused EBMS:0103 "phase4 WrongSigningDigestAlgorithm.xml" -- "$RELAIS" inspect "$C/phase4/testfiles/WrongSigningDigestAlgorithm.xml"
expect_refused EBMS:0103 "unsigned phase4 UserMessage" -- "$RELAIS" inspect "$C/phase4/unsigned/UserMessageWithoutWSSE.xml"

# Domibus key transport (keys/domibus/pem, see the MANIFEST): each EncryptedKey unwraps with the key its
# KeyInfo names (BST, PKIPath BST, issuer+serial, subject key identifier; xmlenc11 rsa-oaep and rsa-oaep-mgf1p).
# Their signatures were broken by reformatting after signing, so inspect refuses them (EBMS:0101).
K="$SHARED/interop-corpus/keys/domibus/pem"
for f in msh-test-incoming/bst_x509v3_incoming_message.xml msh-test-incoming/bst_X509PKIPathv1_incoming_message.xml \
	msh-test-incoming/is_incoming_message.xml msh-test-incoming/ski_incoming_message.xml \
	msh-test-dataset/MSHAS4Request.xml msh-test-dataset/SoapRequest.xml msh-test-dataset/SoapRequestBinaryToken.xml; do
	expect_refused EBMS:0101 "Domibus $(basename "$f"): signature refused (reformatted)" -- "$RELAIS" inspect \
		--key "$K/blue_gw.key,$K/blue_gw.crt" --key "$K/red_gw.key,$K/red_gw.crt" "$C/domibus/$f"
	grep -q "^Unwrapped:       the EncryptedKey's 128-bit key with \(red\|blue\)_gw" "$TMP/stdout" \
		&& ok "Domibus $(basename "$f"): EncryptedKey unwrapped" || not_ok "Domibus $(basename "$f"): EncryptedKey unwrapped"
done
# an EncryptedKey for somebody else is reported as such
expect_exit 0 "phase4 message inspected with an unrelated key" -- "$RELAIS" inspect \
	--key "$PKI/POP000002.key.pem,$PKI/POP000002.cert.pem" "$C/phase4/outbound/dump-raw.as4out"
grep -q "^Unwrapped:       no: .*not for our certificate" "$TMP/stdout" && ok "foreign EncryptedKey reported" \
	|| not_ok "foreign EncryptedKey reported"

# our own unencrypted message: the attachment digest is checked too; the chain with --trust
"$RELAIS" pack --key "$PKI/POP000001.key.pem" --cert "$PKI/POP000001.cert.pem" --no-encrypt --to-party POP000002 \
	--payload "$SHARED/as4peer/samples/invoice-sbd.xml" -o "$TMP/plain.mime" >/dev/null
expect_exit 0 "own unencrypted message" -- "$RELAIS" inspect --trust "$PKI/ca-chain.pem" "$TMP/plain.mime"
grep -q "1 attachment digests ok" "$TMP/stdout" && ok "attachment digest verified" || not_ok "attachment digest verified"
expect_refused EBMS:0101 "signer from a foreign CA" -- "$RELAIS" inspect --trust "$PKI/other-ca-chain.pem" "$TMP/plain.mime"
finish

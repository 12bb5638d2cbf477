#!/bin/sh
# unpack_interop.sh - `relais unpack` opens messages built by the independent Java peer (as4peer):
# every encryption key reference form, uncompressed payloads, and refusals with the right ebMS code.
. "$top_srcdir/tests/scripts/lib.sh"
need_shared
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

cp -r "$SHARED/as4peer" "$TMP/as4peer" && chmod -R u+w "$TMP/as4peer"
PEER="$TMP/as4peer/as4peer"
PAYLOAD="$SHARED/as4peer/samples/invoice-sbd.xml"
FROM_A="$PKI/POP000001.key.pem,$PKI/POP000001.cert.pem"

# build NAME FROM [options...]: a message to POP000002 in $TMP/NAME.mime
build() {
	name=$1; from=$2; shift 2
	if "$PEER" build --from "$from" --to "$PKI/POP000002.cert.pem" --payload "$PAYLOAD" \
		--out "$TMP/$name.mime" "$@" >"$TMP/build.out" 2>&1; then return 0; fi
	echo "# as4peer build $name failed:"; sed 's/^/    /' "$TMP/build.out"; return 1
}

unpack_b() {	# unpack as POP000002
	"$RELAIS" unpack --key "$PKI/POP000002.key.pem" --cert "$PKI/POP000002.cert.pem" \
		--trust "$PKI/ca-chain.pem" "$@"
}

# edit IN OUT PYTHON-EXPR: rewrites the bytes b of IN with the expression into OUT
edit() {
	python3 -c "import sys; b=open(sys.argv[1],'rb').read(); b=$3; open(sys.argv[2],'wb').write(b)" "$1" "$2"
}

if ! build first "$FROM_A"; then not_ok "as4peer builds"; finish; fi

for ref in bst issuerserial ski; do
	if build "ref-$ref" "$FROM_A" --enc-keyref "$ref"; then
		rm -f "$TMP/out-$ref.xml"
		expect_exit 0 "unpack, key named by $ref" -- unpack_b --payload-out "$TMP/out-$ref.xml" \
			"$TMP/ref-$ref.mime"
		expect_same_file "$PAYLOAD" "$TMP/out-$ref.xml" "payload byte for byte ($ref)"
		if [ "$ref" = bst ]; then
			expect_exit 0 "unpack --receipt-out" -- unpack_b --payload-out "$TMP/out-r.xml" \
				--receipt-out "$TMP/receipt.mime" "$TMP/ref-$ref.mime"
			expect_exit 0 "as4peer verify-receipt --sent accepts our receipt" -- "$PEER" verify-receipt \
				--trust "$PKI/ca-chain.pem" --sent "$TMP/ref-$ref.mime" "$TMP/receipt.mime"
		fi
	else not_ok "as4peer build --enc-keyref $ref"; fi
done

if build nocomp "$FROM_A" --no-compress; then
	expect_exit 0 "unpack an uncompressed payload (keystore)" -- "$RELAIS" unpack \
		--keystore "$PKI/POP000002.p12" --password test --trust "$PKI/ca-chain.pem" \
		--payload-out "$TMP/out-nocomp.xml" "$TMP/nocomp.mime"
	expect_same_file "$PAYLOAD" "$TMP/out-nocomp.xml" "uncompressed payload byte for byte"
else not_ok "as4peer build --no-compress"; fi

M="$TMP/first.mime"
# The attachment before the SOAP part (the start parameter names the root): spooled, then processed.
python3 - "$M" "$TMP/reordered.mime" <<'PY'
import re, sys
b = open(sys.argv[1], 'rb').read()
bd = re.search(rb'boundary="([^"]+)"', b).group(1)
sep = b'\r\n--' + bd
head, rest = b.split(b'--' + bd, 1)
parts = rest.split(sep)
open(sys.argv[2], 'wb').write(head + b'--' + bd + parts[1] + sep + parts[0] + sep + parts[2])
PY
expect_exit 0 "unpack with the attachment before the root part" -- unpack_b --payload-out "$TMP/out-reord.xml" \
	"$TMP/reordered.mime"
expect_same_file "$PAYLOAD" "$TMP/out-reord.xml" "reordered: payload byte for byte"

if build plain "$FROM_A" --no-encrypt; then
	expect_refused EBMS:0103 "unencrypted payload refused" -- unpack_b --payload-out "$TMP/no0.xml" \
		"$TMP/plain.mime"
	expect_exit 0 "unencrypted payload with --allow-unencrypted" -- unpack_b --allow-unencrypted \
		--payload-out "$TMP/out-plain.xml" "$TMP/plain.mime"
	expect_same_file "$PAYLOAD" "$TMP/out-plain.xml" "unencrypted payload byte for byte"
else not_ok "as4peer build --no-encrypt"; fi

# Refusals. A refused message writes no payload file.
edit "$M" "$TMP/tampered.mime" "(lambda i: b[:i] + bytes([b[i] ^ 1]) + b[i+1:])(b.rindex(b'\r\n--') - 40)"
expect_refused EBMS:0102 "tampered ciphertext byte" -- unpack_b --payload-out "$TMP/no1.xml" "$TMP/tampered.mime"
[ ! -e "$TMP/no1.xml" ] && ok "nothing written for a refused message" || not_ok "payload written though refused"

expect_refused EBMS:0102 "encrypted for another receiver" -- "$RELAIS" unpack \
	--key "$PKI/POP000001.key.pem" --cert "$PKI/POP000001.cert.pem" --trust "$PKI/ca-chain.pem" \
	--payload-out "$TMP/no2.xml" "$M"

if build expired "$PKI/POP000099.key.pem,$PKI/POP000099.cert.pem"; then
	expect_refused EBMS:0101 "expired signer certificate" -- unpack_b --payload-out "$TMP/no3.xml" \
		"$TMP/expired.mime"
	expect_exit 0 "the same signer accepted --at a time it was valid" -- unpack_b --at 2020-06-01T00:00:00Z \
		--payload-out "$TMP/out-at.xml" "$TMP/expired.mime"
else not_ok "as4peer build with the expired certificate"; fi

if build foreign "$PKI/POP000666.key.pem,$PKI/POP000666.cert.pem"; then
	expect_refused EBMS:0101 "signer from a foreign CA" -- unpack_b --payload-out "$TMP/no4.xml" \
		"$TMP/foreign.mime"
else not_ok "as4peer build with the foreign certificate"; fi

edit "$M" "$TMP/header.mime" "b.replace(b'billing:01:1.0</eb:Service>', b'billing:01:1.1</eb:Service>', 1)"
if cmp -s "$M" "$TMP/header.mime"; then not_ok "eb:Messaging edited"; else
	expect_refused EBMS:0101 "tampered eb:Messaging text" -- unpack_b --payload-out "$TMP/no5.xml" \
		"$TMP/header.mime"
fi

# Wrapping: the signed eb:Messaging kept in a wrapper (same wsu:Id), an altered one processed.
edit "$M" "$TMP/wrapped.mime" "(lambda i, j: b[:i] + b'<x:Wrap xmlns:x=\"urn:x\">' + b[i:j] + b'</x:Wrap>' + b[i:j].replace(b'01:1.0</eb:Service>', b'01:1.1</eb:Service>') + b[j:])(b.index(b'<eb:Messaging'), b.index(b'</eb:Messaging>') + 15)"
expect_refused EBMS:0101 "signature wrapping (a second eb:Messaging with the signed id)" -- unpack_b \
	--payload-out "$TMP/no9.xml" "$TMP/wrapped.mime"

head -c $(( $(wc -c <"$M") - 200 )) "$M" >"$TMP/truncated.mime"
expect_refused EBMS:0007 "truncated file" -- unpack_b --payload-out "$TMP/no6.xml" "$TMP/truncated.mime"

edit "$M" "$TMP/doctype.mime" \
	"b.replace(b'?>', b'?><!DOCTYPE env:Envelope [<!ENTITY x \"boom\">]>', 1)"
expect_refused EBMS:0009 "DOCTYPE with an entity in the SOAP part" -- unpack_b --payload-out "$TMP/no7.xml" \
	"$TMP/doctype.mime"

# A real phase4 message (to POP000306): its header is read, and it is not for us.
expect_refused EBMS:0102 "phase4 message for another access point" -- unpack_b --payload-out "$TMP/no10.xml" \
	"$SHARED/interop-corpus/as4/phase4/outbound/dump-raw.as4out"
grep -q "POP000306" "$TMP/stderr" && ok "the refusal names the certificate" || not_ok "the refusal names the certificate"

expect_exit 2 "usage: no message file" -- unpack_b --payload-out "$TMP/no8.xml"
finish

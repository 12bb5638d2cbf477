#!/bin/sh
# sbdh_wrap.sh - `relais sbdh wrap|check`: the CEN UBL and CII examples and a Peppol BIS 3 invoice are
# wrapped; the result is valid against the SBDH XSD (relais validate --level xsd), reads back with the
# SBDH reader and passes `sbdh check`; a wrapped invoice whose Receiver was changed is refused.
. "$(dirname "$0")/lib.sh"
need_shared
EX="$SHARED/invoice-corpus/examples"
RELAIS_SCHEMA_DIR="$top_srcdir/schemas"; export RELAIS_SCHEMA_DIR
# Drops blank lines at the start and at the end.
trim_blank() { sed '/./,$!d' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }

for pair in "ubl:$EX/ubl/cen-en16931/ubl-tc434-example1.xml" "cii:$EX/cii/cen-en16931/CII_example1.xml"; do
	name=${pair%%:*}; doc=${pair#*:}
	# The CEN examples carry no EndpointID or ProfileID: sender, receiver and process are given.
	expect_exit 1 "$name: wrap without endpoints is refused" -- \
		"$RELAIS" sbdh wrap "$doc" -o "$TMP/$name-sbd.xml"
	grep -q "endpoint" "$TMP/stderr" && ok "$name: the refusal names the missing endpoint" || not_ok "$name: refusal message"
	[ ! -e "$TMP/$name-sbd.xml" ] && ok "$name: nothing written on refusal" || not_ok "$name: output left behind"
	expect_exit 0 "$name: wrap with --sender --receiver --process" -- \
		"$RELAIS" sbdh wrap "$doc" -o "$TMP/$name-sbd.xml" --sender 0088:7315458756324 \
		--receiver 0088:4562458856624 --process urn:fdc:peppol.eu:2017:poacc:billing:01:1.0
	expect_exit 0 "$name: the SBD is valid (SBDH 1.3 XSD and the business document's XSD)" -- \
		"$RELAIS" validate --level xsd "$TMP/$name-sbd.xml"
	expect_exit 0 "$name: sbdh check reads it back and finds it consistent" -- \
		"$RELAIS" sbdh check "$TMP/$name-sbd.xml"
	grep -q "0088:7315458756324 -> 0088:4562458856624" "$TMP/stdout" && ok "$name: sender and receiver read back" \
		|| not_ok "$name: sender/receiver read back ($(cat "$TMP/stdout"))"
	# The document inside is the original, line for line after its XML declaration.
	sed '1s/^<?xml[^>]*?>//' "$doc" | trim_blank > "$TMP/$name-body.expected"
	awk '/<\/StandardBusinessDocumentHeader>/{found=1; next} found' "$TMP/$name-sbd.xml" | sed '$d' | trim_blank \
		> "$TMP/$name-body.got"
	expect_same_file "$TMP/$name-body.expected" "$TMP/$name-body.got" "$name: the business document is copied unchanged"
done
grep -q "<Standard>urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100</Standard>" "$TMP/cii-sbd.xml" &&
	grep -q "CrossIndustryInvoice##urn:cen.eu:en16931:2017::D16B" "$TMP/cii-sbd.xml" &&
	grep -q "<TypeVersion>D16B</TypeVersion>" "$TMP/cii-sbd.xml" && ok "cii: CII document type and version" \
	|| not_ok "cii: CII document type"

# A Peppol BIS 3 invoice carries everything: no options needed; COUNTRY_C1 is the seller's country.
BASE="$EX/ubl/peppol-bis3/examples/base-example.xml"
expect_exit 0 "peppol: wrap from the document alone" -- "$RELAIS" sbdh wrap "$BASE" -o "$TMP/base-sbd.xml"
grep -q '<Identifier Authority="iso6523-actorid-upis">0088:9482348239847239874</Identifier>' "$TMP/base-sbd.xml" &&
	grep -q '<Identifier Authority="iso6523-actorid-upis">0002:FR23342</Identifier>' "$TMP/base-sbd.xml" &&
	grep -q "<InstanceIdentifier>GB</InstanceIdentifier>" "$TMP/base-sbd.xml" &&
	grep -q "Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1<" "$TMP/base-sbd.xml" &&
	ok "peppol: sender, receiver, COUNTRY_C1 and document type from the invoice" || not_ok "peppol: header values"
expect_exit 0 "peppol: sbdh check" -- "$RELAIS" sbdh check "$TMP/base-sbd.xml"
expect_exit 0 "peppol: the SBD validates at the rules level" -- "$RELAIS" validate --level rules "$TMP/base-sbd.xml"

# Receiver changed: refused, naming the mismatch.
sed 's|>0002:FR23342<|>0002:FR99999<|' "$TMP/base-sbd.xml" > "$TMP/bad-receiver.xml"
expect_refused EBMS:0004 "a changed Receiver is refused" -- "$RELAIS" sbdh check "$TMP/bad-receiver.xml"
grep -q "Receiver" "$TMP/stderr" && ok "the refusal names the Receiver" || not_ok "refusal names the Receiver"
sed 's|billing:3.0::2.1<|billing:3.0::2.2<|' "$TMP/base-sbd.xml" > "$TMP/bad-doctype.xml"
expect_refused EBMS:0004 "a changed DOCUMENTID is refused" -- "$RELAIS" sbdh check "$TMP/bad-doctype.xml"
expect_refused EBMS:0004 "a bare invoice is not an SBD" -- "$RELAIS" sbdh check "$BASE"
expect_exit 1 "an SBD cannot be wrapped again" -- "$RELAIS" sbdh wrap "$TMP/base-sbd.xml" -o "$TMP/twice.xml"
iconv -f UTF-8 -t UTF-16 "$BASE" > "$TMP/utf16.xml"
expect_refused EBMS:0004 "a UTF-16 document is refused (the SBD is UTF-8)" -- "$RELAIS" sbdh wrap "$TMP/utf16.xml" -o "$TMP/u.xml"
[ ! -e "$TMP/u.xml" ] && ok "nothing written for it" || not_ok "output left for a refused UTF-16 document"
expect_exit 2 "--country must be ISO 3166 alpha-2" -- "$RELAIS" sbdh wrap "$BASE" -o "$TMP/x.xml" --country France
expect_exit 2 "a malformed --receiver is a usage error" -- "$RELAIS" sbdh wrap "$BASE" -o "$TMP/x.xml" --receiver nonsense
expect_exit 2 "no action" -- "$RELAIS" sbdh "$BASE"
finish

#!/bin/sh
# validate.sh - `relais validate` on the command line: exit status (0 valid, 1 invalid, 2 usage,
# 3 could not validate), findings one per line, --json, hostile input refused with one line.
. "$(dirname "$0")/lib.sh"
need_shared
EX="$SHARED/invoice-corpus/examples"
RELAIS_SCHEMA_DIR="$top_srcdir/schemas"; export RELAIS_SCHEMA_DIR

expect_exit 0 "UBL, CII and a credit note are valid (rules level)" -- "$RELAIS" validate \
	"$EX/ubl/cen-en16931/ubl-tc434-example1.xml" "$EX/cii/cen-en16931/CII_example2.xml" \
	"$EX/ubl/cen-en16931/ubl-tc434-creditnote1.xml"
grep -q "CII_example2.xml: CII Invoice (urn:cen.eu:en16931:2017): valid (level rules)" "$TMP/stdout" &&
	ok "the summary line names syntax, kind and customization" || not_ok "summary line ($(tail -1 "$TMP/stdout"))"

sed 's|<cbc:PayableAmount currencyID="EUR">|<cbc:PayableAmount currencyID="EUR">1|' \
	"$EX/ubl/cen-en16931/ubl-tc434-example1.xml" > "$TMP/payable.xml"
expect_exit 0 "the changed payable amount still passes the XSD" -- "$RELAIS" validate --level xsd "$TMP/payable.xml"
expect_exit 1 "and fails BR-CO-16 at the rules level" -- "$RELAIS" validate "$TMP/payable.xml"
grep -q "^BR-CO-16 fatal /Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount: " "$TMP/stdout" &&
	ok "finding line: RULE severity location: message" || not_ok "finding line ($(head -1 "$TMP/stdout"))"
expect_exit 1 "--json" -- "$RELAIS" validate --json "$TMP/payable.xml"
grep -q '"valid": *false' "$TMP/stdout" && grep -q '"rule": *"BR-CO-16"' "$TMP/stdout" &&
	ok "JSON names the rule and the verdict" || not_ok "JSON ($(cat "$TMP/stdout"))"

# Peppol: the official example passes; without its endpoint it fails PEPPOL-EN16931-R020.
BASE="$EX/ubl/peppol-bis3/examples/base-example.xml"
expect_exit 0 "Peppol BIS 3 example is valid" -- "$RELAIS" validate "$BASE"
sed '0,/<cbc:EndpointID[^>]*>[^<]*<\/cbc:EndpointID>/s///' "$BASE" > "$TMP/no-endpoint.xml"
expect_exit 1 "a Peppol invoice without the seller's endpoint" -- "$RELAIS" validate "$TMP/no-endpoint.xml"
grep -q "^PEPPOL-EN16931-R020 fatal" "$TMP/stdout" && ok "PEPPOL-EN16931-R020 reported" || not_ok "R020 ($(cat "$TMP/stdout"))"

printf '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>\n' > "$TMP/xxe.xml"
expect_exit 1 "XXE refused" -- "$RELAIS" validate "$TMP/xxe.xml"
[ "$(wc -l < "$TMP/stderr")" = 1 ] && grep -q "DOCTYPE is not allowed" "$TMP/stderr" && ok "one line saying why" \
	|| not_ok "XXE message ($(cat "$TMP/stderr"))"
expect_exit 3 "a PDF cannot be validated here" -- "$RELAIS" validate "$SHARED/invoice-corpus/facturx/pdf/valid/EN16931_Einfach.pdf"
expect_exit 3 "missing schemas: could not validate" -- env RELAIS_SCHEMA_DIR="$TMP/nowhere" "$RELAIS" validate "$BASE"
expect_exit 2 "unknown level" -- "$RELAIS" validate --level deep "$BASE"
expect_exit 2 "no file" -- "$RELAIS" validate --json
finish

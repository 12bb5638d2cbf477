#!/bin/sh
# reporting.sh - the Peppol TSR and EUSR (`relais report`): tests/unit/test_reporting against a private
# PostgreSQL, then two access points over HTTPS on loopback exchange three invoices and each reports this
# month: A counts them as sent (to POP000002), B as received (from POP000001, C4 country from
# reporting.c4_country); the output is valid against the report's XSD (tests/reporting-schemas/) with the
# report's root and CustomizationID, and can be wrapped in the SBDH for OpenPeppol. A report sent over
# Peppol is itself counted in neither report.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
command -v xmllint >/dev/null 2>&1 || { echo "SKIP: no xmllint"; exit 77; }
ap_pair_config

pg_unit_test test_reporting "reporting tests"

TSR_CUST=urn:fdc:peppol.eu:edec:trns:transaction-statistics-reporting:1.0
EUSR_CUST=urn:fdc:peppol.eu:edec:trns:end-user-statistics-report:1.1
INVOICE='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1'
report_a() { "$RELAIS" report -c "$TMP/A/relais.conf" "$@"; }
report_b() { "$RELAIS" report -c "$TMP/B/relais.conf" --set reporting.c4_country=DK "$@"; }
# x FILE XPATH: the string value, elements named by local name only (e.g. //*[local-name()='Total']).
x() { xmllint --xpath "string($2)" "$1" 2>/dev/null; }
e() { printf "*[local-name()='%s']" "$1"; }
# check FILE XPATH WANT DESCRIPTION
check() {
	got=$(x "$1" "$2")
	[ "$got" = "$3" ] && ok "$4: $3" || not_ok "$4: '$got', wanted '$3'"
}

# Usage errors come before anything is read.
expect_exit 2 "report without --month" -- report_a tsr
expect_exit 2 "report with a malformed month" -- report_a tsr --month 2026-13
expect_exit 2 "an unknown report" -- report_a tsr2 --month 2026-01
expect_exit 2 "--wrap without --sender and --country" -- report_a tsr --month 2026-01 --wrap
expect_exit 2 "--send without --wrap" -- report_a tsr --month 2026-01 --send
expect_exit 2 "reporting.c4_country that is no country code" -- report_b tsr --month 2026-01 --set reporting.c4_country=DNK
grep -q "reporting.c4_country: 'DNK' is not a two-letter country code" "$TMP/stderr" && ok "it says why" ||
	not_ok "c4_country message: $(cat "$TMP/stderr")"

ap_start B || { not_ok "B starts"; finish; }
ap_start A || { not_ok "A starts"; finish; }
MONTH=$(date -u +%Y-%m)
for n in 1 2 3; do
	receiver=0088:5798000000002
	[ $n = 3 ] && receiver=0088:5798000000003
	make_invoice $n "$TMP/inv$n.xml" $receiver
	expect_exit 0 "invoice $n is delivered from A to B" -- "$RELAIS" send -c "$TMP/A/relais.conf" --payload "$TMP/inv$n.xml" \
		--timeout 60
done
[ "$(sql "$DB_B" "SELECT count(*) FROM messages WHERE direction = 0")" = 3 ] && ok "B stored the three" ||
	not_ok "B stored $(sql "$DB_B" "SELECT count(*) FROM messages WHERE direction = 0")"

# A: three sent to POP000002.
expect_exit 0 "A's TSR of $MONTH" -- report_a tsr --month "$MONTH" -o "$TMP/a-tsr.xml"
TSR_XSD="$top_srcdir/tests/reporting-schemas/peppol-transaction-statistics-reporting-1.0.1.xsd"
xmllint --noout --schema "$TSR_XSD" "$TMP/a-tsr.xml" 2>"$TMP/xsd.err" && ok "A's TSR is valid against the TSR 1.0.1 XSD" ||
	not_ok "A's TSR is not valid: $(cat "$TMP/xsd.err")"
check "$TMP/a-tsr.xml" "local-name(/*)" TransactionStatisticsReport "A's TSR root"
check "$TMP/a-tsr.xml" "namespace-uri(/*)" urn:fdc:peppol:transaction-statistics-report:1.0 "A's TSR namespace"
check "$TMP/a-tsr.xml" "/*/$(e CustomizationID)" "$TSR_CUST" "A's TSR CustomizationID"
check "$TMP/a-tsr.xml" "/*/$(e Header)/$(e ReporterID)" POP000001 "A reports as"
check "$TMP/a-tsr.xml" "/*/$(e Total)/$(e Outgoing)" 3 "A's TSR total outgoing"
check "$TMP/a-tsr.xml" "/*/$(e Total)/$(e Incoming)" 0 "A's TSR total incoming"
check "$TMP/a-tsr.xml" "/*/$(e Subtotal)[@type='PerSP-DT-PR'][$(e Key)[@metaSchemeID='SP']='POP000002'][$(e Key)[@metaSchemeID='DT']='$INVOICE']/$(e Outgoing)" 3 \
	"A's TSR per receiving AP and doctype"
check "$TMP/a-tsr.xml" "count(/*/$(e Subtotal)[@type='PerSP-DT-PR-CC'])" 0 "A's TSR has no country subtotals (only received ones have them)"
expect_exit 0 "A's EUSR of $MONTH (standard output)" -- report_a eusr --month "$MONTH"
cp "$TMP/stdout" "$TMP/a-eusr.xml"
xmllint --noout "$TMP/a-eusr.xml" 2>/dev/null && ok "A's EUSR is well-formed XML" || not_ok "A's EUSR is not well-formed"
check "$TMP/a-eusr.xml" "local-name(/*)" EndUserStatisticsReport "A's EUSR root"
check "$TMP/a-eusr.xml" "/*/$(e CustomizationID)" "$EUSR_CUST" "A's EUSR CustomizationID"
check "$TMP/a-eusr.xml" "/*/$(e FullSet)/$(e SendingEndUsers)" 1 "A's sending end users"
check "$TMP/a-eusr.xml" "/*/$(e FullSet)/$(e ReceivingEndUsers)" 0 "A's receiving end users"
check "$TMP/a-eusr.xml" "/*/$(e Subset)[@type='PerEUC'][$(e Key)='BE']/$(e SendingEndUsers)" 1 "A's sending end users in BE (COUNTRY_C1)"

# B: three received from POP000001, by two end users, C1 in BE, C4 in DK.
expect_exit 0 "B's TSR of $MONTH" -- report_b tsr --month "$MONTH" -o "$TMP/b-tsr.xml"
xmllint --noout --schema "$TSR_XSD" "$TMP/b-tsr.xml" 2>"$TMP/xsd.err" && ok "B's TSR is valid against the TSR 1.0.1 XSD" ||
	not_ok "B's TSR is not valid: $(cat "$TMP/xsd.err")"
check "$TMP/b-tsr.xml" "/*/$(e Header)/$(e ReporterID)" POP000002 "B reports as"
check "$TMP/b-tsr.xml" "/*/$(e Total)/$(e Incoming)" 3 "B's TSR total incoming"
check "$TMP/b-tsr.xml" "/*/$(e Total)/$(e Outgoing)" 0 "B's TSR total outgoing"
check "$TMP/b-tsr.xml" "/*/$(e Subtotal)[@type='PerSP-DT-PR'][$(e Key)[@metaSchemeID='SP']='POP000001']/$(e Incoming)" 3 \
	"B's TSR per sending AP"
check "$TMP/b-tsr.xml" "/*/$(e Subtotal)[@type='PerSP-DT-PR-CC'][$(e Key)[@schemeID='SenderCountry']='BE'][$(e Key)[@schemeID='ReceiverCountry']='DK']/$(e Incoming)" 3 \
	"B's TSR per countries BE -> DK"
expect_exit 0 "B's EUSR of $MONTH" -- report_b eusr --month "$MONTH" -o "$TMP/b-eusr.xml"
check "$TMP/b-eusr.xml" "/*/$(e FullSet)/$(e ReceivingEndUsers)" 2 "B's receiving end users"
check "$TMP/b-eusr.xml" "/*/$(e FullSet)/$(e SendingEndUsers)" 0 "B's sending end users"
check "$TMP/b-eusr.xml" "/*/$(e Subset)[@type='PerEUC'][$(e Key)='DK']/$(e ReceivingEndUsers)" 2 "B's receiving end users in DK"
# Without reporting.c4_country: ZZ in the TSR, while the EUSR (whose rules take no ZZ) is refused.
expect_exit 0 "B's TSR without reporting.c4_country" -- "$RELAIS" report -c "$TMP/B/relais.conf" tsr --month "$MONTH" \
	-o "$TMP/b-tsr-zz.xml"
check "$TMP/b-tsr-zz.xml" "count(/*/$(e Subtotal)[@type='PerSP-DT-PR-CC'][$(e Key)[@schemeID='ReceiverCountry']='ZZ'])" 1 \
	"its receiver country is ZZ"
expect_exit 2 "B's EUSR without reporting.c4_country" -- "$RELAIS" report -c "$TMP/B/relais.conf" eusr --month "$MONTH"
grep -q "set reporting.c4_country" "$TMP/stderr" && ok "it says what to set" || not_ok "EUSR refusal: $(cat "$TMP/stderr")"

# A month without messages: a valid report with zero counts.
expect_exit 0 "A's TSR of a month without messages" -- report_a tsr --month 2020-01 -o "$TMP/zero.xml"
check "$TMP/zero.xml" "concat(/*/$(e Total)/$(e Incoming), '/', /*/$(e Total)/$(e Outgoing), '/', count(/*/$(e Subtotal)))" 0/0/0 \
	"zero totals, no subtotals"
check "$TMP/zero.xml" "/*/$(e Header)/$(e ReportPeriod)/$(e EndDate)" 2020-01-31 "its period ends on the month's last day"

# Wrapped for OpenPeppol.
expect_exit 0 "A's TSR wrapped in the SBDH" -- report_a tsr --month "$MONTH" --wrap --sender 0088:5798000000001 \
	--country BE -o "$TMP/a-tsr-sbd.xml"
xmllint --noout "$TMP/a-tsr-sbd.xml" 2>/dev/null && ok "the wrapped report is well-formed" || not_ok "the wrapped report is not well-formed"
H="/$(e StandardBusinessDocument)/$(e StandardBusinessDocumentHeader)"
check "$TMP/a-tsr-sbd.xml" "$H/$(e Receiver)/$(e Identifier)" 9925:be0848934496 "SBDH receiver"
check "$TMP/a-tsr-sbd.xml" "$H/$(e DocumentIdentification)/$(e TypeVersion)" 1.0 "SBDH TypeVersion"
check "$TMP/a-tsr-sbd.xml" "$H/$(e BusinessScope)/$(e Scope)[$(e Type)='DOCUMENTID']/$(e InstanceIdentifier)" \
	"urn:fdc:peppol:transaction-statistics-report:1.0::TransactionStatisticsReport##$TSR_CUST::1.0" "SBDH DOCUMENTID"
check "$TMP/a-tsr-sbd.xml" "$H/$(e BusinessScope)/$(e Scope)[$(e Type)='PROCESSID']/$(e InstanceIdentifier)" \
	"urn:fdc:peppol.eu:edec:bis:reporting:1.0" "SBDH PROCESSID"
check "$TMP/a-tsr-sbd.xml" "/$(e StandardBusinessDocument)/$(e TransactionStatisticsReport)/$(e Total)/$(e Outgoing)" 3 \
	"the report follows the header"
expect_exit 0 "A's EUSR wrapped" -- report_a eusr --month "$MONTH" --wrap --sender 0088:5798000000001 --country BE
check "$TMP/stdout" "$H/$(e DocumentIdentification)/$(e TypeVersion)" 1.1 "EUSR SBDH TypeVersion"
expect_exit 2 "--wrap without --country and without identity.country" -- \
	report_a eusr --month "$MONTH" --wrap --sender 0088:5798000000001
expect_exit 0 "--wrap takes the country from identity.country" -- \
	report_a eusr --month "$MONTH" --wrap --sender 0088:5798000000001 --set identity.country=LU
check "$TMP/stdout" "$H/$(e BusinessScope)/$(e Scope)[$(e Type)='COUNTRY_C1']/$(e InstanceIdentifier)" LU \
	"SBDH COUNTRY_C1 from identity.country"

# Queued for sending (here A's routing table sends everything to B); the report itself is counted in
# neither report, on either side.
EUSR_DT="urn:fdc:peppol:end-user-statistics-report:1.1::EndUserStatisticsReport##$EUSR_CUST::1.1"
expect_exit 0 "A queues its EUSR for OpenPeppol" -- report_a eusr --month "$MONTH" --wrap --sender 0088:5798000000001 \
	--country BE --send
RMID=$(sed -n 's/^queued //p' "$TMP/stdout")
[ -n "$RMID" ] && ok "queued $RMID" || not_ok "no MessageId printed: $(cat "$TMP/stdout")"
report_delivered() { [ "$(sql "$DB_A" "SELECT state FROM messages WHERE direction=1 AND message_id='$RMID'")" = delivered ]; }
wait_until 30 "the report is delivered" -- report_delivered
wait_until 10 "B's inbox holds it" -- test -f "$TMP/B/inbox/$RMID.xml"
check "$TMP/B/inbox/$RMID.xml" "/$(e StandardBusinessDocument)/$(e EndUserStatisticsReport)/$(e FullSet)/$(e SendingEndUsers)" 1 \
	"B received the wrapped EUSR"
[ "$(sql "$DB_B" "SELECT action FROM messages WHERE direction=0 AND message_id='$RMID'")" = "busdox-docid-qns::$EUSR_DT" ] &&
	ok "it was sent with the EUSR document type" || not_ok "action: $(sql "$DB_B" "SELECT action FROM messages WHERE message_id='$RMID'")"
expect_exit 0 "B's TSR once more" -- report_b tsr --month "$MONTH" -o "$TMP/b-tsr2.xml"
check "$TMP/b-tsr2.xml" "/*/$(e Total)/$(e Incoming)" 3 "B's TSR does not count the report received"
check "$TMP/b-tsr2.xml" "count(//$(e Key)[@metaSchemeID='DT'][.='$EUSR_DT'])" 0 "no subtotal has the EUSR document type"
expect_exit 0 "A's TSR once more" -- report_a tsr --month "$MONTH" -o "$TMP/a-tsr2.xml"
check "$TMP/a-tsr2.xml" "/*/$(e Total)/$(e Outgoing)" 3 "A's TSR does not count the report sent"
expect_exit 0 "A's EUSR once more" -- report_a eusr --month "$MONTH" -o "$TMP/a-eusr2.xml"
check "$TMP/a-eusr2.xml" "count(//$(e Key)[@metaSchemeID='DT'][.='$EUSR_DT'])" 0 "A's EUSR does not count it either"

ap_stop A; ap_stop B
finish

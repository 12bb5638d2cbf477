#!/bin/sh
# relay.sh - relay routes between two access points on loopback: a Peppol UBL invoice for a French
# participant reaches B's inbox as the original SBD and as CII beside it; a Factur-X PDF dropped in A's
# outbox goes out as a UBL SBD embedding the PDF; a PDF without invoice XML is refused into .failed/;
# a conversion that fails inbound still delivers the original and is recorded; SIGHUP reloads the routes.
. "$top_srcdir/tests/scripts/lib.sh"
need_shared
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
RELAIS_SCHEMA_DIR="$top_srcdir/schemas"; export RELAIS_SCHEMA_DIR
C="$SHARED/invoice-corpus"
[ -f "$C/examples/ubl/peppol-bis3/examples/base-example.xml" ] || { echo "SKIP: no invoice corpus"; exit 77; }
SIRET=0009:12345678900017

# Configuration first: a malformed route is refused by check-config, naming the line.
printf '0009:* * cii inbox\n* invoice pdf\n' > "$TMP/bad-routes"
expect_exit 2 "check-config refuses an unknown syntax in relay.routes" -- \
	"$RELAIS" check-config --set "relay.routes=$TMP/bad-routes"
grep -q "bad-routes:2: syntax 'pdf'" "$TMP/stderr" "$TMP/stdout" && ok "  ... naming the file and line" ||
	not_ok "  ... message: $(cat "$TMP/stderr" "$TMP/stdout")"

start_test_db
DB_A=$(pg_createdb ap_a)
DB_B=$(pg_createdb ap_b)
cat > "$TMP/b-routes" <<EOF
# French participants get CII (inbox and webhook; SIREN ones on the webhook only); everyone else what was sent.
0009:* * cii
0002:* invoice cii webhook
* * keep
EOF
# B's backend also has a webhook (busybox httpd with a CGI hook) when busybox is here.
HOOK=
if command -v busybox >/dev/null 2>&1; then
	mkdir -p "$TMP/www/cgi-bin" "$TMP/hooks"
	cat > "$TMP/www/cgi-bin/hook" <<EOF
#!/bin/sh
head -c "\$CONTENT_LENGTH" > "$TMP/hooks/\$HTTP_RELAIS_MESSAGE_ID"
printf '%s %s %s\n' "\$HTTP_RELAIS_MESSAGE_ID" "\${HTTP_RELAIS_CONVERTED_FROM:--}" "\$CONTENT_TYPE" >> "$TMP/hooks.log"
printf 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok\n'
EOF
	chmod +x "$TMP/www/cgi-bin/hook"
	NEXT_PORT=$((NEXT_PORT + 1)); HOOK_PORT=$NEXT_PORT
	busybox httpd -f -p "127.0.0.1:$HOOK_PORT" -h "$TMP/www" &
	PID_hook=$!	# killed with the access points on exit
	HOOK="delivery.webhook=http://127.0.0.1:$HOOK_PORT/cgi-bin/hook"
else
	echo "# no busybox: the webhook parts are skipped"
fi
ap_config B POP000002 "$DB_B" "relay.routes=$TMP/b-routes" $HOOK
ap_config A POP000001 "$DB_A" "relay.sender=0088:5798000000001"
route_to A B POP000002
ap_start B || { not_ok "B starts"; finish; }
ap_start A || { not_ok "A starts"; finish; }
ok "A and B serve, B with relay routes"

# (1) A Peppol UBL invoice for a French participant: the original SBD and a CII beside it.
sed "s|<cbc:EndpointID schemeID=\"0002\">FR23342</cbc:EndpointID>|<cbc:EndpointID schemeID=\"0009\">${SIRET#0009:}</cbc:EndpointID>|" \
	"$C/examples/ubl/peppol-bis3/examples/base-example.xml" > "$TMP/fr.xml"
expect_exit 0 "the invoice is wrapped for $SIRET" -- "$RELAIS" sbdh wrap "$TMP/fr.xml" -o "$TMP/fr-sbd.xml"
grep -q ">$SIRET</Identifier>" "$TMP/fr-sbd.xml" && ok "  ... its receiver is $SIRET" || not_ok "  ... receiver"
expect_exit 0 "A sends it to B" -- "$RELAIS" send -c "$TMP/A/relais.conf" --timeout 30 \
	--payload "$TMP/fr-sbd.xml" --to-url "https://127.0.0.1:$PORT_B/as4" --to-cert "$PKI/POP000002.cert.pem"
MID=$(sed -n 's/^queued //p' "$TMP/stdout")
wait_until 20 "B's inbox holds the original and the CII" -- \
	sh -c "[ -n \"\$(find '$TMP/B/inbox' -name '*.cii.xml')\" ] && [ \$(find '$TMP/B/inbox' -maxdepth 1 -type f | wc -l) = 2 ]"
CII=$(find "$TMP/B/inbox" -name '*.cii.xml' | head -1)
ORIG=${CII%.cii.xml}.xml
case "$ORIG" in *"$(printf '%s' "$MID" | tr -c 'A-Za-z0-9._@+=\n-' '_')"*) ok "both are named by the MessageId $MID" ;;
	*) not_ok "names $ORIG $CII for $MID" ;; esac
expect_same_file "$ORIG" "$TMP/fr-sbd.xml" "the original is byte for byte the SBD A sent"
grep -q 'CrossIndustryInvoice' "$CII" && ! grep -q 'StandardBusinessDocument' "$CII" &&
	ok "the converted form is a bare CII invoice" || not_ok "converted form: $(head -c 300 "$CII")"
expect_exit 0 "the CII passes relais validate --level xsd" -- "$RELAIS" validate --level xsd "$CII"
expect_exit 0 "the CII converts back to UBL" -- "$RELAIS" convert --to ubl -o "$TMP/back.xml" "$CII"
# Business terms: BT-1, BT-2, BT-112, BT-115, BT-49 as in the invoice sent.
for tag in 'cbc:ID' 'cbc:IssueDate' 'cbc:TaxInclusiveAmount' 'cbc:PayableAmount' 'cbc:EndpointID'; do
	want=$(grep -o "<$tag[ >][^<]*<" "$TMP/fr.xml" | sed 's/.*>//; s/<$//' | tr '\n' ' ')
	got=$(grep -o "<$tag[ >][^<]*<" "$TMP/back.xml" | sed 's/.*>//; s/<$//' | tr '\n' ' ')
	[ -n "$want" ] && [ "$want" = "$got" ] && ok "  ... $tag is kept: $want" || not_ok "  ... $tag: sent '$want', back '$got'"
done
grep -q "relay: converted ubl to cii" "$TMP/B/log" && ok "B logged the conversion" || not_ok "no conversion line in B's log"
if [ -n "$HOOK" ]; then
	wait_until 20 "the webhook gets the CII" -- test -f "$TMP/hooks/$MID"
	expect_same_file "$TMP/hooks/$MID" "$CII" "  ... the same CII as the inbox's"
	grep -q "^$MID ubl application/xml" "$TMP/hooks.log" && ok "  ... with Relais-Converted-From: ubl" ||
		not_ok "  ... headers: $(cat "$TMP/hooks.log")"
fi
wait_until 10 "the message is delivered at B" -- sh -c \
	"curl -s $CURL_TLS -H 'Authorization: Bearer $API_TOKEN' https://127.0.0.1:$PORT_B/api/v1/messages/$MID | grep -q '\"state\": \"delivered\"'"
ap_api B GET "/api/v1/messages/$MID" >/dev/null
grep -q '"payload_size": '"$(wc -c < "$TMP/fr-sbd.xml")" "$TMP/api_body" && ok "  ... the store keeps the original ($(wc -c < "$TMP/fr-sbd.xml") bytes)" ||
	not_ok "  ... stored: $(cat "$TMP/api_body")"

# (1b) A route for the webhook only: the inbox gets just the original.
if [ -n "$HOOK" ]; then
	expect_exit 0 "an invoice for 0002:FR23342 (SIREN scheme) is wrapped" -- \
		"$RELAIS" sbdh wrap "$C/examples/ubl/peppol-bis3/examples/base-example.xml" -o "$TMP/siren-sbd.xml"
	expect_exit 0 "A sends it to B" -- "$RELAIS" send -c "$TMP/A/relais.conf" --timeout 30 \
		--payload "$TMP/siren-sbd.xml" --to-url "https://127.0.0.1:$PORT_B/as4" --to-cert "$PKI/POP000002.cert.pem"
	SIREN=$(sed -n 's/^queued //p' "$TMP/stdout")
	wait_until 20 "the webhook gets it as CII" -- grep -q "^$SIREN ubl application/xml" "$TMP/hooks.log"
	grep -q CrossIndustryInvoice "$TMP/hooks/$SIREN" && ok "  ... a CII document" || not_ok "  ... webhook body: $(head -c 200 "$TMP/hooks/$SIREN")"
	wait_until 10 "  ... both deliveries are done" -- sh -c \
		"curl -s $CURL_TLS -H 'Authorization: Bearer $API_TOKEN' https://127.0.0.1:$PORT_B/api/v1/messages/$SIREN | grep -q '\"state\": \"delivered\"'"
	[ "$(find "$TMP/B/inbox" -name "$SIREN*" | wc -l)" = 1 ] && expect_same_file "$(find "$TMP/B/inbox" -name "$SIREN*")" \
		"$TMP/siren-sbd.xml" "  ... the inbox holds the original only" || not_ok "  ... inbox: $(ls "$TMP/B/inbox")"
fi

# (2) A Factur-X PDF in A's outbox goes out as a UBL SBD embedding the PDF.
FX=EXTENDED_Fremdwaehrung_wdis_fx-pdfa4.pdf
if [ -f "$C/facturx/pdf/valid/$FX" ]; then
	before=$(count_files "$TMP/B/inbox")
	cp "$C/facturx/pdf/valid/$FX" "$TMP/$FX"
	mv "$TMP/$FX" "$TMP/A/outbox/$FX"
	wait_until 20 "the PDF is queued as a UBL SBD" -- test -f "$TMP/A/outbox/.queued/$FX.ubl.xml"
	# The SBD is written before the submission; the original is moved after it.
	wait_until 20 "the original PDF is moved to .queued/" -- test -f "$TMP/A/outbox/.queued/$FX"
	expect_same_file "$TMP/A/outbox/.queued/$FX" "$C/facturx/pdf/valid/$FX" "the original PDF stays unchanged in .queued/"
	wait_until 30 "B receives it" -- sh -c "[ \$(find '$TMP/B/inbox' -maxdepth 1 -type f ! -name '.*' | wc -l) = $((before + 1)) ]"
	GOT=$(grep -l "$FX" "$TMP"/B/inbox/*.xml | head -1)
	[ -n "$GOT" ] && expect_same_file "$GOT" "$TMP/A/outbox/.queued/$FX.ubl.xml" "B's inbox holds the SBD A queued" ||
		not_ok "no document naming $FX in B's inbox"
	grep -q '<Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard>' "$GOT" &&
		grep -q '>0204:04011000-1234512345-35</Identifier>' "$GOT" && grep -q '>0088:5798000000001</Identifier>' "$GOT" &&
		ok "  ... an SBD of a UBL Invoice from relay.sender to the buyer's endpoint" || not_ok "  ... SBDH: $(head -c 600 "$GOT")"
	expect_exit 0 "  ... it passes relais validate --level xsd" -- "$RELAIS" validate --level xsd "$GOT"
	grep -q "mimeCode=\"application/pdf\" filename=\"$FX\"" "$GOT" && ok "  ... it embeds the PDF (BG-24, application/pdf)" ||
		not_ok "  ... no embedded PDF"
	sed -n "s/.*filename=\"$FX\">\([^<]*\)<.*/\1/p" "$GOT" | base64 -d > "$TMP/embedded.pdf" 2>/dev/null
	expect_same_file "$TMP/embedded.pdf" "$C/facturx/pdf/valid/$FX" "  ... the embedded PDF is the original"
	grep -q "$FX.*cii" "$TMP/B/log" && not_ok "B converted a document no route asked for" || ok "B kept it as it came (route *)"
	if [ -n "$HOOK" ]; then
		FXID=$(basename "$GOT" .xml)
		wait_until 10 "  ... the webhook gets it unconverted" -- grep -q "^$FXID - application/xml" "$TMP/hooks.log"
	fi
else
	echo "# no Factur-X corpus ($C/facturx/pdf/valid): the outbox PDF part is skipped"
fi

# (3) A PDF without invoice XML goes to .failed/ with the reason.
PLAIN="$C/facturx/pdf/plain/MustangGnuaccountingBeispielRE-20170509_505blanko.pdf"
if [ -f "$PLAIN" ]; then
	cp "$PLAIN" "$TMP/plain.pdf"
	mv "$TMP/plain.pdf" "$TMP/A/outbox/plain.pdf"
	wait_until 20 "a PDF without invoice XML lands in .failed/" -- test -f "$TMP/A/outbox/.failed/plain.pdf.error"
	expect_same_file "$TMP/A/outbox/.failed/plain.pdf" "$PLAIN" "  ... unchanged"
	grep -q "EBMS:0001.*without an embedded invoice" "$TMP/A/outbox/.failed/plain.pdf.error" &&
		ok "  ... the .error says why: $(cat "$TMP/A/outbox/.failed/plain.pdf.error")" ||
		not_ok "  ... .error: $(cat "$TMP/A/outbox/.failed/plain.pdf.error")"
	[ ! -e "$TMP/A/outbox/.queued/plain.pdf.ubl.xml" ] && ok "  ... nothing was queued for it" || not_ok "  ... a UBL was left in .queued"
else
	echo "# no plain PDF in the corpus: the refused PDF part is skipped"
fi

# (4) An invoice the converter refuses (an issue date that is no date): the original is still delivered,
# the failure logged and recorded.
sed 's|<cbc:IssueDate>2017-11-13</cbc:IssueDate>|<cbc:IssueDate>2017-13-45</cbc:IssueDate>|' "$TMP/fr-sbd.xml" > "$TMP/bad-sbd.xml"
grep -q '2017-13-45' "$TMP/bad-sbd.xml" && ok "an invoice with a broken issue date" || not_ok "the broken invoice was not made"
before=$(count_files "$TMP/B/inbox")
expect_exit 0 "A sends it to B" -- "$RELAIS" send -c "$TMP/A/relais.conf" --timeout 30 \
	--payload "$TMP/bad-sbd.xml" --to-url "https://127.0.0.1:$PORT_B/as4" --to-cert "$PKI/POP000002.cert.pem"
BAD=$(sed -n 's/^queued //p' "$TMP/stdout")
wait_until 20 "B delivers the original" -- sh -c "[ \$(find '$TMP/B/inbox' -maxdepth 1 -type f ! -name '.*' | wc -l) = $((before + 1)) ]"
BADFILE=$(grep -l '2017-13-45' "$TMP"/B/inbox/*.xml | head -1)
[ -n "$BADFILE" ] && expect_same_file "$BADFILE" "$TMP/bad-sbd.xml" "  ... byte for byte" || not_ok "  ... not in the inbox"
[ -z "$(find "$TMP/B/inbox" -name '*.cii.xml' -newer "$TMP/bad-sbd.xml")" ] && ok "  ... and no CII beside it" || not_ok "  ... a CII was written"
wait_until 10 "B logged the failed conversion" -- grep -q "relay conversion to cii failed.*BT-2" "$TMP/B/log"
if [ -n "$HOOK" ]; then
	wait_until 10 "the webhook gets the original" -- test -f "$TMP/hooks/$BAD"
	expect_same_file "$TMP/hooks/$BAD" "$TMP/bad-sbd.xml" "  ... byte for byte"
	grep -q "^$BAD - application/xml" "$TMP/hooks.log" && ok "  ... without Relais-Converted-From" || not_ok "  ... headers: $(cat "$TMP/hooks.log")"
fi
wait_until 10 "the message is delivered at B" -- sh -c \
	"curl -s $CURL_TLS -H 'Authorization: Bearer $API_TOKEN' https://127.0.0.1:$PORT_B/api/v1/messages/$BAD | grep -q '\"state\": \"delivered\"'"
ap_api B GET "/api/v1/messages/$BAD" >/dev/null
grep -q '"state": "delivered"' "$TMP/api_body" && grep -q '"last_error": "[a-z]* delivery: .*relay conversion to cii failed' "$TMP/api_body" &&
	ok "  ... the message is delivered and its last_error says why" || not_ok "  ... message: $(cat "$TMP/api_body")"
expect_exit 0 "relais status of B" -- "$RELAIS" status -c "$TMP/B/relais.conf"
grep -q "last error.*relay conversion to cii failed" "$TMP/stdout" && ok "  ... shows the failed conversion" ||
	not_ok "  ... status: $(cat "$TMP/stdout")"

# (5) SIGHUP reloads the relay routes: without the French route, the next invoice arrives as sent only.
printf '* * keep\n' > "$TMP/b-routes"
CIIS=$(find "$TMP/B/inbox" -name '*.cii.xml' | wc -l)
kill -HUP "$PID_B"
wait_until 10 "B reloaded its relay routes" -- grep -q "SIGHUP: .*relay routes reloaded" "$TMP/B/log"
expect_exit 0 "A sends the French invoice again" -- "$RELAIS" send -c "$TMP/A/relais.conf" --timeout 30 \
	--payload "$TMP/fr-sbd.xml" --to-url "https://127.0.0.1:$PORT_B/as4" --to-cert "$PKI/POP000002.cert.pem"
MID5=$(sed -n 's/^queued //p' "$TMP/stdout")
wait_until 20 "B's inbox holds it" -- sh -c "[ -n \"\$(find '$TMP/B/inbox' -name \"*$(printf '%s' "$MID5" | tr -c 'A-Za-z0-9._@+=\n-' '_')*\" ! -name '.*')\" ]"
[ "$(find "$TMP/B/inbox" -name '*.cii.xml' | wc -l)" = "$CIIS" ] && ok "  ... as sent, with no CII beside it" ||
	not_ok "  ... converted after the reload: $(find "$TMP/B/inbox" -name '*.cii.xml')"

ap_stop A && ok "A stops" || not_ok "A's exit status"
ap_stop B && ok "B stops" || not_ok "B's exit status"
finish

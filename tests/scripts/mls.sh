#!/bin/sh
# mls.sh - the Peppol Message Level Status between two access points over HTTPS on loopback, with a
# private PostgreSQL: B (C3) answers an invoice whose SBDH asks for it (MLS_TYPE ALWAYS_SEND) with an AB
# MLS that A (C2) receives in its inbox (also for a payload read back from the store), routed by B's static route for 0242:000001; an invoice without
# MLS_TYPE and an MLS received get none; with mls.send=off none is sent; a delivery that fails for good
# at B gives an RE MLS with status reason FD whatever MLS_TYPE says. The MLS's COUNTRY_C1 is B's
# identity.country. A (C2) notes each MLS that comes back against the invoice it sent (relais message show).
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
. "$top_srcdir/tests/scripts/mls_lib.sh"
command -v xmllint >/dev/null 2>&1 || { echo "SKIP: no xmllint"; exit 77; }
ap_pair_config
printf '0242:000001 https://127.0.0.1:%s/as4 %s\n' "$PORT_A" "$PKI/POP000001.cert.pem" > "$TMP/B/routes"
printf 'routing.table=%s\n' "$TMP/B/routes" >> "$TMP/B/sets"
printf 'identity.country=DK\n' >> "$TMP/B/sets"

in_b() { sql "$DB_B" "SELECT $1 FROM messages WHERE direction=0 AND message_id='$2'"; }
in_b_state_is() { [ "$(in_b state "$2")" = "$1" ]; }
mls_sent_by_b() { sql "$DB_B" "SELECT count(*) FROM messages WHERE direction=1"; }
mls_event_b() { sql "$DB_B" "SELECT substr(e.detail, 1, 6) FROM message_events e JOIN messages m ON m.id = e.message
	WHERE m.direction=0 AND m.message_id='$1' AND e.detail LIKE 'MLS %'"; }
mls_queued_about() { [ -n "$(mls_event_b "$1")" ]; }
# invoice N [MLS_TYPE]: an SBD in $TMP/inv-N.xml, InstanceIdentifier inv-N, sent by A; sets MID.
invoice() {
	make_invoice "$1" "$TMP/inv-$1.xml"
	if [ -n "${2:-}" ]; then
		sed -i "s|</BusinessScope>|<Scope><Type>MLS_TYPE</Type><InstanceIdentifier>$2</InstanceIdentifier></Scope></BusinessScope>|" \
			"$TMP/inv-$1.xml"
	fi
	send_a "$TMP/inv-$1.xml" "invoice inv-$1${2:+ (${2:-})}"
}
send_a() {
	expect_exit 0 "A queues $2" -- "$RELAIS" send -c "$TMP/A/relais.conf" --no-wait --payload "$1"
	MID=$(sed -n 's/^queued //p' "$TMP/stdout")
}

ap_start A || { not_ok "A starts"; finish; }
ap_start B || { not_ok "B starts"; finish; }
grep -q "identity.country is not set" "$TMP/A/log" && ! grep -q "identity.country is not set" "$TMP/B/log" &&
	ok "A, without identity.country, warns that its MLS would say ZZ; B does not" ||
	not_ok "the identity.country warning (A: $(grep -c 'identity.country' "$TMP/A/log"), B: $(grep -c 'identity.country' "$TMP/B/log"))"

# 1. ALWAYS_SEND: B delivers and sends AB; A receives it in its inbox.
invoice 1 ALWAYS_SEND
MID1=$MID
wait_until 30 "B delivers inv-1" -- in_b_state_is delivered "$MID1"
wait_until 30 "A's inbox receives the MLS about inv-1" -- mls_at_a inv-1
F=$(mls_at_a inv-1)
if [ -n "$F" ]; then
	[ "$(xp "$F" "//*[local-name()='DocumentResponse']/*[local-name()='Response']/*[local-name()='ResponseCode']")" = AB ] &&
		ok "its response code is AB" || not_ok "response code: $(xp "$F" "//*[local-name()='ResponseCode']")"
	[ "$(xp "$F" "//*[local-name()='SenderParty']/*[local-name()='EndpointID']")" = 000002 ] &&
	[ "$(xp "$F" "//*[local-name()='SenderParty']/*[local-name()='EndpointID']/@schemeID")" = 0242 ] &&
	[ "$(xp "$F" "//*[local-name()='ReceiverParty']/*[local-name()='EndpointID']")" = 000001 ] &&
		ok "sent by 0242:000002 to 0242:000001" || not_ok "parties: $(xp "$F" "//*[local-name()='SenderParty']") -> $(xp "$F" "//*[local-name()='ReceiverParty']")"
	[ "$(xp "$F" "//*[local-name()='CustomizationID']")" = urn:peppol:edec:mls:1.0 ] &&
	[ "$(xp "$F" "//*[local-name()='Scope'][*[local-name()='Type']='DOCUMENTID']/*[local-name()='InstanceIdentifier']")" = \
	  "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##urn:peppol:edec:mls:1.0::2.1" ] &&
	[ "$(xp "$F" "//*[local-name()='Receiver']/*[local-name()='Identifier']")" = 0242:000001 ] &&
	[ "$(xp "$F" "//*[local-name()='DocumentIdentification']/*[local-name()='InstanceIdentifier']")" != inv-1 ] &&
		ok "an MLS in an SBDH with the MLS doctype, to 0242:000001, with an InstanceIdentifier of its own" ||
		{ not_ok "the MLS's SBDH"; head -c 1500 "$F" | sed 's/^/    /'; }
	c1=$(xp "$F" "//*[local-name()='Scope'][*[local-name()='Type']='COUNTRY_C1']/*[local-name()='InstanceIdentifier']")
	[ "$c1" = DK ] && ok "its COUNTRY_C1 is B's identity.country" || not_ok "COUNTRY_C1 '$c1', wanted DK"
	if [ -n "$RELAIS_SHARED_DIR" ] && [ -f "$RELAIS_SHARED_DIR/invoice-corpus/xsd/ubl-2.1/maindoc/UBL-ApplicationResponse-2.1.xsd" ]; then
		xmllint --xpath "//*[local-name()='ApplicationResponse']" "$F" > "$TMP/ar.xml" 2>/dev/null
		xmllint --noout --nonet --schema "$RELAIS_SHARED_DIR/invoice-corpus/xsd/ubl-2.1/maindoc/UBL-ApplicationResponse-2.1.xsd" \
			"$TMP/ar.xml" > "$TMP/xsd" 2>&1 && ok "the ApplicationResponse is valid UBL 2.1" ||
			{ not_ok "XSD"; sed 's/^/    /' "$TMP/xsd"; }
	fi
fi
[ "$(mls_event_b "$MID1")" = "MLS AB" ] && ok "B's history of inv-1 records the MLS queued" ||
	not_ok "B's history of inv-1: '$(mls_event_b "$MID1")'"
wait_until 30 "A notes the AB against inv-1 as sent" -- mls_noted_at_a AB "$MID1"
expect_exit 0 "relais message show of inv-1 at A" -- "$RELAIS" message -c "$TMP/A/relais.conf" show "$MID1"
grep -q '^mls  *AB ' "$TMP/stdout" && grep -q 'MLS AB received: in ' "$TMP/stdout" &&
	ok "it shows the MLS and its history has it" || { not_ok "show"; sed 's/^/    /' "$TMP/stdout"; }
expect_exit 0 "relais message show --json" -- "$RELAIS" message -c "$TMP/A/relais.conf" show --json "$MID1"
grep -q '"mls": "AB"' "$TMP/stdout" && ok "the JSON has \"mls\": \"AB\"" || not_ok "JSON: $(head -c 300 "$TMP/stdout")"

# 1b. The same for a payload too large to be handed over in memory: its SBDH is read from the store.
make_invoice 6 "$TMP/inv-6.xml"
head -c 150000 /dev/urandom | base64 -w 76 > "$TMP/big"
awk -v f="$TMP/big" '/^<\/cbc:Note>/ { while ((getline l < f) > 0) print l } { print }' "$TMP/inv-6.xml" |
	sed "s|</BusinessScope>|<Scope><Type>MLS_TYPE</Type><InstanceIdentifier>ALWAYS_SEND</InstanceIdentifier></Scope></BusinessScope>|" \
	> "$TMP/inv-6-big.xml"
[ "$(wc -c < "$TMP/inv-6-big.xml")" -gt 200000 ] && ok "inv-6 is over 200 KB" || not_ok "inv-6 size"
send_a "$TMP/inv-6-big.xml" "invoice inv-6 (ALWAYS_SEND, large)"
MID6=$MID
wait_until 30 "B delivers inv-6" -- in_b_state_is delivered "$MID6"
wait_until 30 "A's inbox receives the MLS about inv-6" -- mls_at_a inv-6

# 2. No MLS_TYPE: delivered, no MLS. 3. An MLS received (even one whose SBDH says ALWAYS_SEND): no MLS.
invoice 2
MID2=$MID
wait_until 30 "B delivers inv-2" -- in_b_state_is delivered "$MID2"
sed "s|</BusinessScope>|<Scope><Type>MLS_TYPE</Type><InstanceIdentifier>ALWAYS_SEND</InstanceIdentifier></Scope></BusinessScope>|" \
	"$F" > "$TMP/an-mls.xml"
send_a "$TMP/an-mls.xml" "an MLS whose SBDH says ALWAYS_SEND"
MID_MLS=$MID
wait_until 30 "B delivers the MLS" -- in_b_state_is delivered "$MID_MLS"
# inv-3 asks for one: once its MLS is queued, any for inv-2 or the MLS would have been queued before.
invoice 3 ALWAYS_SEND
MID3=$MID
wait_until 30 "B queues the MLS about inv-3" -- mls_queued_about "$MID3"
[ "$(mls_sent_by_b)" = 3 ] && ok "B sent no MLS about inv-2 (no MLS_TYPE) nor about the MLS" ||
	not_ok "B queued $(mls_sent_by_b) outbound messages"
[ -z "$(mls_event_b "$MID2")" ] && [ -z "$(mls_event_b "$MID_MLS")" ] && ok "their histories name no MLS" ||
	not_ok "history: '$(mls_event_b "$MID2")' '$(mls_event_b "$MID_MLS")'"
wait_until 30 "A's inbox receives the MLS about inv-3" -- mls_at_a inv-3

# 4. mls.send=off: none.
ap_stop B
echo "mls.send=off" >> "$TMP/B/sets"
ap_start B || { not_ok "B restarts with mls.send=off"; finish; }
invoice 4 ALWAYS_SEND
MID4=$MID
wait_until 30 "B delivers inv-4" -- in_b_state_is delivered "$MID4"

# 5. The backend delivery fails for good (a webhook nobody answers, 2 attempts): RE with FD, although the
# invoice has no MLS_TYPE.
ap_stop B
sed -i '/^mls.send=off$/d' "$TMP/B/sets"
printf 'delivery.webhook=http://127.0.0.1:%s/hook\nretry.max_attempts=2\n' "$(free_port)" >> "$TMP/B/sets"
ap_start B || { not_ok "B restarts with a webhook that fails"; finish; }
invoice 5
MID5=$MID
wait_until 30 "B's delivery of inv-5 fails for good" -- in_b_state_is failed "$MID5"
wait_until 30 "A's inbox receives the MLS about inv-5" -- mls_at_a inv-5
F=$(mls_at_a inv-5)
if [ -n "$F" ]; then
	[ "$(xp "$F" "//*[local-name()='DocumentResponse']/*[local-name()='Response']/*[local-name()='ResponseCode']")" = RE ] &&
	[ "$(xp "$F" "//*[local-name()='LineResponse']//*[local-name()='StatusReasonCode']")" = FD ] &&
	[ "$(xp "$F" "//*[local-name()='LineResponse']//*[local-name()='LineID']")" = NA ] &&
	[ -n "$(xp "$F" "//*[local-name()='DocumentResponse']/*[local-name()='Response']/*[local-name()='Description']")" ] &&
		ok "it is RE, with a description and status reason FD on line NA" ||
		{ not_ok "the RE MLS"; sed 's/^/    /' "$F"; }
fi
[ "$(mls_event_b "$MID5")" = "MLS RE" ] && ok "B's history of inv-5 records the RE MLS" ||
	not_ok "B's history of inv-5: '$(mls_event_b "$MID5")'"
wait_until 30 "A notes the RE against inv-5 as sent" -- mls_noted_at_a RE "$MID5"
[ -z "$(mls_code_at_a "$MID4")" ] && ok "nothing is noted against inv-4" || not_ok "inv-4 at A: $(mls_code_at_a "$MID4")"
[ "$(mls_sent_by_b)" = 4 ] && [ -z "$(mls_event_b "$MID4")" ] && ok "none was sent about inv-4 (mls.send=off)" ||
	not_ok "B queued $(mls_sent_by_b) outbound messages"
ap_stop B
ap_stop A
finish

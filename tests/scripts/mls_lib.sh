# mls_lib.sh - what the Message Level Status tests (mls.sh, mls_stored.sh) share, on access points A and B
# started with daemon_lib.sh: XPath on a file, the MLS noted on A's sent message, and the MLS in A's inbox.
xp() { xmllint --xpath "string($2)" "$1" 2>/dev/null; }
# As C2, A notes an MLS that came back against the message it sent: its mls_code, and its history.
mls_code_at_a() { sql "$DB_A" "SELECT mls_code FROM messages WHERE direction=1 AND message_id='$1'"; }
mls_noted_at_a() { [ "$(mls_code_at_a "$2")" = "$1" ]; }
# The MLS file in A's inbox about InstanceIdentifier $1, printed.
mls_at_a() {
	for f in "$TMP/A/inbox"/*.xml; do
		[ -f "$f" ] || continue
		[ "$(xp "$f" "//*[local-name()='DocumentReference']/*[local-name()='ID']")" = "$1" ] && { echo "$f"; return 0; }
	done
	return 1
}

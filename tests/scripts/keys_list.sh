#!/bin/sh
# keys_list.sh - `relais keys list`: every configured certificate with subject, issuer, serial, validity,
# days to expiry, key usage and chain; a warning 30 days before expiry; exit 1 when the certificate that
# signs now is expired, revoked or untrusted; the same in --json.
. "$top_srcdir/tests/scripts/lib.sh"

# A certificate for POP000010 from the AP CA that expires in 10 days (9 once a second has passed).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/short.key.pem" 2>/dev/null
openssl req -new -key "$TMP/short.key.pem" -subj "/C=BE/O=relais test/OU=PEPPOL TEST AP/CN=POP000010" \
	-out "$TMP/short.csr" 2>/dev/null
openssl x509 -req -sha256 -days 10 -in "$TMP/short.csr" -CA "$PKI/ap-ca.cert.pem" -CAkey "$PKI/ap-ca.key.pem" \
	-set_serial 0x5eed -extfile "$PKI/ext.cnf" -extensions ap_cert -out "$TMP/short.cert.pem" 2>/dev/null ||
	{ not_ok "make a 10-day certificate"; finish; }

cat >"$TMP/relais.conf" <<EOF
[identity]
key = $PKI/POP000002.key.pem
cert = $PKI/POP000002.cert.pem
next_key = $TMP/short.key.pem
next_cert = $TMP/short.cert.pem

[trust]
anchors = $PKI/ca-chain.pem
crls = $PKI/ap-ca.crl.pem
EOF
CONF="-c $TMP/relais.conf"
serial_dec() { printf '%d' "0x$(openssl x509 -in "$1" -noout -serial | sed 's/serial=//')"; }

expect_exit 0 "keys list with a certificate that expires in 10 days" -- "$RELAIS" keys list $CONF
cp "$TMP/stdout" "$TMP/list.txt"
have() {
	if grep -q -- "$1" "$TMP/list.txt"; then ok "$2"; else not_ok "$2 (no '$1' in:)"; sed 's/^/    /' "$TMP/list.txt"; fi
}
have "^identity: (signs now)$" "the current identity signs"
have "^identity.next:$" "the next identity is listed"
have "^  subject:    CN=POP000002,OU=PEPPOL TEST AP,O=relais test,C=BE$" "subject"
have "^  issuer:     CN=relais Test AP CA,O=relais test,C=BE$" "issuer"
have "^  serial:     $(serial_dec "$PKI/POP000002.cert.pem")$" "serial in decimal"
have "^  serial:     24301$" "serial of the short-lived certificate"
have "^  valid:      20[0-9-]*T[0-9:]*Z \.\. 20[0-9-]*T[0-9:]*Z$" "validity"
have "^  expires in: \(9\|10\) days$" "days to expiry of the short-lived certificate"
have "^  key usage:  digitalSignature,keyEncipherment,dataEncipherment; extended: clientAuth$" "key usage"
have "^    0. CN=POP000010,OU=PEPPOL TEST AP,O=relais test,C=BE (until " "chain element 0"
have "^    1. CN=relais Test AP CA,O=relais test,C=BE (until " "chain element 1"
have "^    2. CN=relais Test Root CA,O=relais test,C=BE (until .*) \[anchor\]$" "chain element 2 is the anchor"
have "^  revocation: not checked (--check-revocation)$" "revocation not checked by default"
grep -q "^warning: certificate CN=POP000010 (identity.next) expires in \(9\|10\) days, on 20" "$TMP/stderr" &&
	ok "a warning 30 days before expiry" || not_ok "expiry warning in: $(cat "$TMP/stderr")"
[ "$(grep -c '^warning:' "$TMP/stderr")" = 1 ] && ok "only that warning" || not_ok "warnings: $(cat "$TMP/stderr")"

# The same in JSON.
expect_exit 0 "keys list --json" -- "$RELAIS" keys list $CONF --json --check-revocation
if python3 - "$TMP/stdout" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
cur, nxt = d["identities"]
assert cur["role"] == "identity" and cur["signing"] is True
assert nxt["role"] == "identity.next" and nxt["signing"] is False
assert nxt["days_left"] in (9, 10) and nxt["serial"] == "24301"
assert [c["subject"].split(",")[0] for c in cur["chain"]] == ["CN=POP000002", "CN=relais Test AP CA", "CN=relais Test Root CA"]
assert cur["key_usage"] == ["digitalSignature", "keyEncipherment", "dataEncipherment"]
assert cur["extended_key_usage"] == ["clientAuth"]
assert cur["trusted"] is True and cur["revocation"]["status"] == "good"
assert cur["revocation"]["source"].startswith("CRL ")
assert len(d["warnings"]) == 1 and "(identity.next) expires in " in d["warnings"][0]
PY
then ok "JSON fields"; else not_ok "JSON fields"; sed 's/^/    /' "$TMP/stdout"; fi

# After the switch the short-lived certificate signs; it is still usable, so exit 0 with the warning.
expect_exit 0 "the short-lived certificate signs after the switch" -- "$RELAIS" keys list $CONF \
	--set identity.switch_at=2020-01-01T00:00:00Z
grep -q "^identity.next: (signs now)$" "$TMP/stdout" && ok "identity.next signs now" || not_ok "identity.next signs now"
grep -q "^switch: identity.next signs from 2020-01-01T00:00:00Z$" "$TMP/stdout" && ok "the switch time is shown" ||
	not_ok "switch time: $(cat "$TMP/stdout")"

# The signing certificate expired, from another CA, or revoked: exit 1.
expect_refused EBMS:0101 "expired signing certificate" -- "$RELAIS" keys list $CONF \
	--set identity.key="$PKI/POP000099.key.pem" --set identity.cert="$PKI/POP000099.cert.pem"
grep -q "^warning: certificate CN=POP000099 (identity) expired on 2021-01-01" "$TMP/stderr" &&
	ok "the expiry is a warning line" || not_ok "expired warning: $(cat "$TMP/stderr")"
expect_refused EBMS:0101 "signing certificate from another CA" -- "$RELAIS" keys list $CONF \
	--set identity.key="$PKI/POP000666.key.pem" --set identity.cert="$PKI/POP000666.cert.pem"
grep -q "^  chain:      refused: certificate CN=POP000666 does not chain to a trusted CA$" "$TMP/stdout" &&
	ok "the chain line says why" || not_ok "untrusted chain line: $(cat "$TMP/stdout")"
expect_exit 0 "a revoked signing certificate passes without --check-revocation" -- "$RELAIS" keys list $CONF \
	--set identity.key="$PKI/POP000003.key.pem" --set identity.cert="$PKI/POP000003.cert.pem"
expect_refused EBMS:0101 "a revoked signing certificate with --check-revocation" -- "$RELAIS" keys list $CONF \
	--check-revocation --set identity.key="$PKI/POP000003.key.pem" --set identity.cert="$PKI/POP000003.cert.pem"
grep -q "^  revocation: revoked on 20.* (keyCompromise; CRL " "$TMP/stdout" && ok "the revocation line" ||
	not_ok "revocation line: $(cat "$TMP/stdout")"
# An expired certificate that no longer signs only warns.
expect_exit 0 "an expired current identity after the switch only warns" -- "$RELAIS" keys list $CONF \
	--set identity.key="$PKI/POP000099.key.pem" --set identity.cert="$PKI/POP000099.cert.pem" \
	--set identity.switch_at=2020-01-01T00:00:00Z

expect_exit 0 "--check-revocation with trust.revocation = off" -- "$RELAIS" keys list $CONF --check-revocation \
	--set trust.revocation=off
grep -q "^  revocation: not checked (trust.revocation = off)$" "$TMP/stdout" && ok "says revocation is off" ||
	not_ok "revocation off: $(cat "$TMP/stdout")"

# No anchors: the chain is not checked, and said so.
expect_exit 0 "without trust.anchors" -- "$RELAIS" keys list $CONF --set trust.anchors=
grep -q "^  chain:      not checked (trust.anchors is not set)$" "$TMP/stdout" && ok "chain not checked" ||
	not_ok "chain not checked: $(cat "$TMP/stdout")"
expect_exit 2 "keys list without -c" -- "$RELAIS" keys list
expect_exit 2 "keys list with a bad --set" -- "$RELAIS" keys list $CONF --set identity.next_key=/nonexistent
finish

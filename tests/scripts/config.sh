#!/bin/sh
# config.sh - relais check-config on the real binary: the sample, mistakes with line numbers, --set.
. "$top_srcdir/tests/scripts/lib.sh"

SAMPLE="$top_srcdir/conf/relais.conf.sample"

# The sample is what the key table says, and every key of the table is in the man page.
"$RELAIS" check-config --sample >"$TMP/generated.conf"
expect_same_file "$SAMPLE" "$TMP/generated.conf" "conf/relais.conf.sample matches the key table"
missing=""
for key in $(awk '/^\[/{gsub(/[][]/, ""); s=$0} /^;[a-z_]+ =/{sub(/^;/, ""); print s "." $1}' "$SAMPLE"); do
	grep -q "^\\.B $key\$" "$top_srcdir/doc/relais.conf.5" || missing="$missing $key"
done
[ -z "$missing" ] && ok "every key is in relais.conf(5)" || not_ok "keys missing from relais.conf(5):$missing"

# The sample as it is (all commented) and with every default written out both pass.
expect_exit 0 "sample passes check-config" -- "$RELAIS" check-config -c "$SAMPLE"
grep -q "^configuration OK$" "$TMP/stdout" && ok "prints configuration OK" || not_ok "prints configuration OK"
sed 's/^;//' "$SAMPLE" >"$TMP/uncommented.conf"
mkdir -p "$TMP/state"
expect_exit 0 "sample with every default uncommented passes" -- "$RELAIS" check-config -c "$TMP/uncommented.conf" \
	--set state.dir="$TMP/state"
expect_exit 2 "an explicit state.dir that does not exist is reported" -- \
	"$RELAIS" check-config -c "$TMP/uncommented.conf" --set state.dir="$TMP/no-such-dir"

# For serve, with file paths pointing at files and directories that exist.
for f in ap.key ap.cert anchors.pem smp.pem tls.key tls.cert; do echo "test" >"$TMP/$f"; done
mkdir -p "$TMP/state" "$TMP/inbox" "$TMP/outbox"
expect_exit 0 "sample with --set file paths passes check-config --serve" -- \
	"$RELAIS" check-config -c "$TMP/uncommented.conf" --serve \
	--set identity.key="$TMP/ap.key" --set identity.cert="$TMP/ap.cert" \
	--set identity.party_id=POP000001 --set trust.anchors="$TMP/anchors.pem" \
	--set trust.smp_anchors="$TMP/smp.pem" --set server.tls_key="$TMP/tls.key" \
	--set server.tls_cert="$TMP/tls.cert" --set state.dir="$TMP/state" \
	--set delivery.inbox="$TMP/inbox" --set submission.outbox="$TMP/outbox" \
	--set delivery.webhook=https://erp.example/hook --set database.url=postgresql://relais@localhost/relais
expect_exit 2 "--serve without identity fails" -- "$RELAIS" check-config -c "$SAMPLE" --serve
grep -q "identity.keystore: serve needs" "$TMP/stderr" && ok "missing identity reported" || not_ok "missing identity reported"

# Three mistakes: all three reported with their line numbers, exit 2.
cat >"$TMP/bad.conf" <<'CONF'
[server]
listen = 127.0.0.1:99999
tls = maybe

[limits]
max_body = 10 megabytes
CONF
expect_exit 2 "three mistakes exit 2" -- "$RELAIS" check-config -c "$TMP/bad.conf"
sed 's/^/    /' "$TMP/stderr"
grep -q "^$TMP/bad.conf:2: server.listen: " "$TMP/stderr" && ok "line 2 reported" || not_ok "line 2 reported"
grep -q "^$TMP/bad.conf:3: server.tls: " "$TMP/stderr" && ok "line 3 reported" || not_ok "line 3 reported"
grep -q "^$TMP/bad.conf:6: limits.max_body: " "$TMP/stderr" && ok "line 6 reported" || not_ok "line 6 reported"
[ "$(wc -l <"$TMP/stderr")" -eq 3 ] && ok "exactly three problems" || not_ok "exactly three problems"

# Unknown section and key carry their line numbers too.
printf '[server]\ncolour = blue\n[nope]\nx = 1\n' >"$TMP/unknown.conf"
expect_exit 2 "unknown key and section exit 2" -- "$RELAIS" check-config -c "$TMP/unknown.conf"
grep -q ":2: server.colour: unknown key" "$TMP/stderr" && ok "unknown key with line" || not_ok "unknown key with line"
grep -q ":3: nope: unknown section" "$TMP/stderr" && ok "unknown section with line" || not_ok "unknown section with line"

# --set without -c works on the defaults; --set applies after the file.
expect_exit 0 "--set without -c" -- "$RELAIS" check-config --set limits.max_body=10M --set retry.max_delay=1h
expect_exit 2 "bad --set without -c" -- "$RELAIS" check-config --set server.tls=sometimes
grep -q "^--set: server.tls: " "$TMP/stderr" && ok "--set problem reported" || not_ok "--set problem reported"
expect_exit 0 "--set fixes the file" -- "$RELAIS" check-config -c "$TMP/bad.conf" \
	--set server.listen=[::1]:8443 --set server.tls=off --set limits.max_body=10M
expect_exit 2 "--set of an unknown key" -- "$RELAIS" check-config --set server.nope=1
expect_exit 2 "--set without =" -- "$RELAIS" check-config --set server.tls
expect_exit 2 "missing config file" -- "$RELAIS" check-config -c "$TMP/does-not-exist.conf"
grep -q "does-not-exist.conf" "$TMP/stderr" && ok "missing file named" || not_ok "missing file named"
expect_exit 2 "unexpected argument" -- "$RELAIS" check-config --frobnicate
finish

#!/bin/sh
# daemon_auto.sh - the set-up of the README's demo, in the test suite: two access points with
# database.url = auto (each runs its own private PostgreSQL under its state directory, started and
# stopped with it), `relais send` handing a document to the running A through A's embedded database,
# and `relais status` and `relais message` reading it; after SIGTERM both embedded clusters are stopped.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
[ -x "${PG_BINDIR:-}/initdb" ] || { echo "SKIP: no PostgreSQL server programs"; exit 77; }
trap 'kill_aps' EXIT

ap_config B POP000002 auto
ap_config A POP000001 auto
ap_start B || { not_ok "B starts with its embedded database"; finish; }
ap_start A || { not_ok "A starts with its embedded database"; finish; }
[ -f "$TMP/A/state/pgdata/PG_VERSION" ] && [ -f "$TMP/B/state/pgdata/PG_VERSION" ] &&
	ok "each access point made its own cluster under state.dir" || not_ok "no embedded cluster under state.dir"

make_invoice auto-1 "$TMP/auto-1.xml"
expect_exit 0 "relais send reaches the running A through its embedded database" -- "$RELAIS" send \
	-c "$TMP/A/relais.conf" --timeout 60 --payload "$TMP/auto-1.xml" \
	--to-url "https://127.0.0.1:$PORT_B/as4" --to-cert "$PKI/POP000002.cert.pem"
MID=$(sed -n 's/^queued //p' "$TMP/stdout")
wait_until 20 "B delivers it to its inbox" -- sh -c "[ -n '$MID' ] && ls '$TMP/B/inbox' | grep -q '$MID'"
f=$(find "$TMP/B/inbox" -maxdepth 1 -type f -name "$MID*" | head -1)
[ -n "$f" ] && cmp -s "$f" "$TMP/auto-1.xml" && ok "byte for byte" || not_ok "the delivered document differs"
expect_exit 0 "relais status reads A's embedded database" -- "$RELAIS" status -c "$TMP/A/relais.conf"
grep -q "1 delivered" "$TMP/stdout" && ok "status: $(grep outbound "$TMP/stdout")" || not_ok "status: $(cat "$TMP/stdout")"
expect_exit 0 "relais message show reads A's embedded database" -- "$RELAIS" message -c "$TMP/A/relais.conf" show "$MID"
grep -q "^state *delivered" "$TMP/stdout" && ok "message show: delivered" || not_ok "message show: $(cat "$TMP/stdout")"
expect_refused RELAIS:STATE "relais message retry of the delivered message through the embedded database" -- \
	"$RELAIS" message -c "$TMP/A/relais.conf" retry "$MID"

ap_stop A && ok "A stops cleanly" || not_ok "A's exit status"
ap_stop B && ok "B stops cleanly" || not_ok "B's exit status"
expect_exit 2 "with A stopped, relais send says its database is not running" -- "$RELAIS" send \
	-c "$TMP/A/relais.conf" --no-wait --payload "$TMP/auto-1.xml"
grep -q "not running" "$TMP/stderr" && ok "$(head -1 "$TMP/stderr")" || not_ok "stderr: $(cat "$TMP/stderr")"
[ ! -f "$TMP/A/state/pgdata/postmaster.pid" ] && [ ! -f "$TMP/B/state/pgdata/postmaster.pid" ] &&
	ok "both embedded clusters were stopped with their access points" || not_ok "an embedded cluster is still running"
finish

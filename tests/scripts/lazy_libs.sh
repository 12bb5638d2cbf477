#!/bin/sh
# lazy_libs.sh - libcurl is loaded at the first HTTP request, not before: relais is not linked with it,
# an idle access point (HTTPS server, database, sender threads waiting) does not map it, and once A has
# sent one document to B (which reaches B's inbox) A maps it.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"

maps_curl() { grep -c 'libcurl' "/proc/$1/maps"; }

if readelf -d "$RELAIS" 2>/dev/null | grep -q 'NEEDED.*libcurl'; then
	not_ok "relais is not linked with libcurl"
else
	readelf -d "$RELAIS" | grep -q NEEDED && ok "relais is not linked with libcurl" ||
		not_ok "readelf shows relais's libraries"
fi

start_test_db
DB_A=$(pg_createdb lazy_a)
DB_B=$(pg_createdb lazy_b)
ap_config B POP000002 "$DB_B"
ap_config A POP000001 "$DB_A"
route_to A B POP000002
ap_start B || { not_ok "B starts"; finish; }
ap_start A || { not_ok "A starts"; finish; }
sleep 1	# the sender threads are up and waiting for work
[ "$(maps_curl "$PID_A")" = 0 ] && ok "idle A does not map libcurl" || not_ok "idle A maps libcurl: $(grep libcurl "/proc/$PID_A/maps" | head -1)"
[ "$(maps_curl "$PID_B")" = 0 ] && ok "idle B does not map libcurl" || not_ok "idle B maps libcurl"

make_invoice 1 "$TMP/inv-1.xml"
mv "$TMP/inv-1.xml" "$TMP/A/outbox/"
wait_until 30 "A's document reaches B's inbox" -- sh -c "[ \$(find '$TMP/B/inbox' -maxdepth 1 -type f | wc -l) = 1 ]"
[ "$(maps_curl "$PID_A")" -gt 0 ] && ok "A maps libcurl once it has sent" || not_ok "A does not map libcurl after sending"
[ "$(maps_curl "$PID_B")" = 0 ] && ok "B, which only received, still does not map libcurl" || not_ok "B maps libcurl"
ap_stop A && ok "A stops cleanly (libcurl cleaned up)" || not_ok "A stops with status $?"
ap_stop B && ok "B stops cleanly" || not_ok "B stops with status $?"
finish

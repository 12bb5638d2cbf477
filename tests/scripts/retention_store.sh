#!/bin/sh
# retention_store.sh - rl_store_purge (tests/unit/test_retention) against a private cluster started here.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
start_private_pg

url=$(pg_createdb retention_test) || { not_ok "create the test database"; finish; }
if RELAIS_TEST_PGURL="$url" "$top_builddir/tests/unit/test_retention" >"$TMP/test_retention.out" 2>&1; then
	ok "test_retention: $(grep -c '^\[       OK \]' "$TMP/test_retention.out") retention tests"
else
	not_ok "test_retention"
fi
sed 's/^/    /' "$TMP/test_retention.out"
finish

#!/bin/sh
# store.sh - the PostgreSQL store (tests/unit/test_store) against a private cluster started here.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
start_private_pg

url=$(pg_createdb store_test) || { not_ok "create the test database"; finish; }
fresh=$(pg_createdb store_fresh) || { not_ok "create the second test database"; finish; }
if RELAIS_TEST_PGURL="$url" RELAIS_TEST_PGURL_FRESH="$fresh" "$top_builddir/tests/unit/test_store" >"$TMP/test_store.out" 2>&1; then
	ok "test_store: $(grep -c '^\[       OK \]' "$TMP/test_store.out") store tests"
else
	not_ok "test_store"
fi
sed 's/^/    /' "$TMP/test_store.out"
finish

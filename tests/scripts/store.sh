#!/bin/sh
# store.sh - the PostgreSQL store (tests/unit/test_store) against a private cluster started here.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
start_private_pg

fresh=$(pg_createdb store_fresh) || { not_ok "create the second test database"; finish; }
old=$(pg_createdb store_old) || { not_ok "create the third test database"; finish; }
v12=$(pg_createdb store_v12) || { not_ok "create the fourth test database"; finish; }
pg_unit_test test_store "store tests" RELAIS_TEST_PGURL_FRESH="$fresh" RELAIS_TEST_PGURL_OLD="$old" RELAIS_TEST_PGURL_V12="$v12"
finish

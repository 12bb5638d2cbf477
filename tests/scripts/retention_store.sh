#!/bin/sh
# retention_store.sh - rl_store_purge (tests/unit/test_retention) against a private cluster started here.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
start_private_pg

pg_unit_test test_retention "retention tests"
finish

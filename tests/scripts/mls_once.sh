#!/bin/sh
# mls_once.sh - a Message Level Status is queued at most once per received message: tests/unit/test_mls_once
# on a private PostgreSQL (twice in a row, a failure inside the statement, a statement killed inside its
# transaction, two connections at once).
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
start_private_pg

pg_unit_test test_mls_once "MLS-once tests"
finish

#!/bin/sh
# bench_store.sh - runs bench/bench_store on a private PostgreSQL cluster with durable commits (fsync
# on, synchronous_commit on), as the daemon would use it. Usage (from the build directory):
#   sh SRCDIR/bench/bench_store.sh [count] [threads]
set -u
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
: "${PG_BINDIR:=$(pg_config --bindir)}"
. "$top_srcdir/tests/scripts/pg.sh"
start_private_pg
"$PG_BINDIR/psql" -q "$PGURL" -c "ALTER SYSTEM SET fsync = on" -c "SELECT pg_reload_conf()" >/dev/null
./bench/bench_store "$PGURL" "${1:-2000}" "${2:-4}"

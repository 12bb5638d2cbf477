#!/bin/sh
# pgcluster.sh - the embedded PostgreSQL cluster (tests/unit/test_pgcluster) and `relais db` with
# database.url = auto and with a database URL. Run as root, PostgreSQL runs as the postgres user.
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
if [ -z "${PG_BINDIR:-}" ] || [ ! -x "$PG_BINDIR/initdb" ]; then
	echo "SKIP: no PostgreSQL server programs in '${PG_BINDIR:-}'"; exit 77
fi

# State directories live under a short /tmp path (socket addresses are short) that postgres can enter.
BASE=$(mktemp -d /tmp/rlst.XXXXXX)
chmod 755 "$BASE"
cleanup() {
	for d in "$BASE"/*/pgdata "$BASE"/*/*/pgdata; do
		[ -f "$d/postmaster.pid" ] && pg_as_owner "$PG_BINDIR/pg_ctl" -D "$d" -m immediate -w -s stop >/dev/null 2>&1
	done
	for f in "$BASE"/*/pgsock.path; do
		[ -f "$f" ] && case $(cat "$f") in /tmp/relais-pg.*) rm -rf "$(cat "$f")";; esac
	done
	rm -rf "$BASE"
	stop_private_pg
}
trap cleanup EXIT

if RELAIS_TEST_STATE_DIR="$BASE" "$top_builddir/tests/unit/test_pgcluster" >"$TMP/test_pgcluster.out" 2>&1; then
	ok "test_pgcluster: $(grep -c '^\[       OK \]' "$TMP/test_pgcluster.out") cluster tests"
else
	not_ok "test_pgcluster"
fi
sed 's/^/    /' "$TMP/test_pgcluster.out"

# relais db with database.url = auto: the cluster is made, started for the command, stopped after.
STATE="$BASE/db"
mkdir -m 755 "$STATE"
printf '[database]\nurl = auto\n[state]\ndir = %s\n' "$STATE" >"$TMP/relais.conf"
expect_exit 0 "db status on a new state directory" -- "$RELAIS" db status -c "$TMP/relais.conf"
# N = the schema version this program needs (the number of migrations in src/store_schema.c).
N=$(sed -n 's/^schema version 0 (this program needs \([0-9][0-9]*\)): run relais db migrate$/\1/p' "$TMP/stdout")
if [ -n "$N" ]; then
	ok "status says the schema is missing"; else not_ok "status output: $(cat "$TMP/stdout")"; N=1; fi
[ "$N" = 1 ] && APPLIED="1 migration applied" || APPLIED="$N migrations applied"
if [ -f "$STATE/pgdata/PG_VERSION" ] && [ ! -f "$STATE/pgdata/postmaster.pid" ]; then
	ok "the embedded cluster was created, and stopped after the command"
else not_ok "cluster created and stopped"; fi
expect_exit 0 "db migrate" -- "$RELAIS" db migrate -c "$TMP/relais.conf"
if grep -q "^schema version $N ($APPLIED)$" "$TMP/stdout"; then ok "migrate applied $N"
else not_ok "migrate output: $(cat "$TMP/stdout")"; fi
expect_exit 0 "db migrate again" -- "$RELAIS" db migrate -c "$TMP/relais.conf"
if grep -q "^schema version $N (0 migrations applied)$" "$TMP/stdout"; then ok "second migrate applied 0"
else not_ok "second migrate output: $(cat "$TMP/stdout")"; fi
[ ! -f "$STATE/pgdata/postmaster.pid" ] && ok "stopped again" || not_ok "left running"
if [ "$(id -u)" = 0 ] && [ "$(stat -c %U "$STATE/pgdata")" = postgres ]; then ok "as root, pgdata belongs to postgres"
elif [ "$(id -u)" != 0 ]; then ok "not root: pgdata is ours"; else not_ok "pgdata owner $(stat -c %U "$STATE/pgdata")"; fi

# A cluster that is already running is used and left running.
PG_DIR="$STATE" pg_as_owner "$PG_BINDIR/pg_ctl" -D "$STATE/pgdata" -l "$STATE/pg.log" -w -s start
expect_exit 0 "db status with the cluster already running" -- "$RELAIS" db status -c "$TMP/relais.conf"
grep -q "^schema version $N (this program needs $N)$" "$TMP/stdout" && ok "status: version $N" || not_ok "status: $(cat "$TMP/stdout")"
[ -f "$STATE/pgdata/postmaster.pid" ] && ok "a running cluster is left running" || not_ok "running cluster was stopped"
PG_DIR="$STATE" pg_as_owner "$PG_BINDIR/pg_ctl" -D "$STATE/pgdata" -m fast -w -s stop

# Configuration and database errors.
expect_exit 2 "a missing state directory is a configuration error" -- \
	"$RELAIS" db migrate -c "$TMP/relais.conf" --set state.dir="$BASE/none"
expect_exit 2 "no subcommand" -- "$RELAIS" db
expect_exit 2 "unknown subcommand" -- "$RELAIS" db frobnicate
expect_refused RELAIS:DB "an unreachable database" -- \
	"$RELAIS" db status --set "database.url=postgresql:///x?host=$BASE/nothing-here"

# With a database URL (a private cluster).
start_private_pg
trap cleanup EXIT
expect_exit 0 "db migrate on a database URL" -- "$RELAIS" db migrate --set "database.url=$PGURL"
grep -q "^schema version $N ($APPLIED)$" "$TMP/stdout" && ok "URL: $N applied" || not_ok "URL migrate: $(cat "$TMP/stdout")"
expect_exit 0 "db status on a database URL" -- "$RELAIS" db status --set "database.url=$PGURL"
finish

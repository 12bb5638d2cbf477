# pg.sh - a private PostgreSQL cluster for shell tests. Sourced after lib.sh.
#
#   start_private_pg      initdb + pg_ctl start on a unix socket in a fresh /tmp/rlpg.XXXXXX (no TCP),
#                         as the postgres user when root; creates database "relais"; sets and exports
#                         PGURL (a libpq URL), PG_DIR, and RELAIS_TEST_PG_RESTART (a command line that
#                         restarts the cluster, for programs that test reconnecting). An EXIT trap stops
#                         the cluster and removes the directory; a test that sets its own EXIT trap calls
#                         stop_private_pg in it.
#   stop_private_pg       stops the cluster now and removes its directory
#   restart_private_pg    pg_ctl restart (fast): every client connection is cut
#   pg_createdb NAME      creates database NAME and prints its conninfo
#   pg_unit_test PROGRAM WHAT [VAR=value ...]
#                         runs the cmocka program tests/unit/PROGRAM on a new database (passed in
#                         RELAIS_TEST_PGURL, with the variables given) as one line "ok - PROGRAM: N WHAT"
#
# Skips the test (exit 77) only when the PostgreSQL server programs are absent.
: "${PG_BINDIR:=$(pg_config --bindir 2>/dev/null)}"
PG_DIR=""
PGURL=""

# Runs a server program as the postgres user when we are root (PostgreSQL refuses to run as root).
pg_as_owner() {
	if [ "$(id -u)" = 0 ]; then
		(cd "$PG_DIR" && runuser -u postgres -- "$@")
	else
		(cd "$PG_DIR" && "$@")
	fi
}

# Prints the log and stops the test as a hard error (99): the harness itself failed.
pg_bail() {
	echo "Bail out! $1"
	[ -f "$PG_DIR/server.log" ] && sed 's/^/    /' "$PG_DIR/server.log" | tail -20
	[ -f "$PG_DIR/initdb.log" ] && sed 's/^/    /' "$PG_DIR/initdb.log" | tail -20
	stop_private_pg
	exit 99
}

start_private_pg() {
	if [ -z "${PG_BINDIR:-}" ] || [ ! -x "$PG_BINDIR/initdb" ] || [ ! -x "$PG_BINDIR/pg_ctl" ]; then
		echo "SKIP: no PostgreSQL server programs (initdb, pg_ctl) in '${PG_BINDIR:-}'"
		exit 77
	fi
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "Bail out! running as root, but there is no postgres user to run PostgreSQL as"
		exit 99
	fi
	PG_DIR=$(mktemp -d /tmp/rlpg.XXXXXX) || { echo "Bail out! mktemp"; exit 99; }
	trap 'stop_private_pg' EXIT
	[ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
	pg_as_owner "$PG_BINDIR/initdb" -D "$PG_DIR/data" --auth=trust -U relais --encoding=UTF8 \
		--no-instructions >"$PG_DIR/initdb.log" 2>&1 || pg_bail "initdb failed"
	# Only the socket; fsync off because a test cluster is thrown away (the code keeps commits synchronous).
	cat >>"$PG_DIR/data/postgresql.conf" <<-EOF
	listen_addresses = ''
	unix_socket_directories = '$PG_DIR'
	fsync = off
	EOF
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -s start \
		|| pg_bail "pg_ctl start failed"
	PGURL=$(pg_createdb relais) || pg_bail "createdb failed"
	RELAIS_TEST_PG_RESTART="$(restart_command)"
	export PGURL PG_DIR RELAIS_TEST_PG_RESTART
}

restart_command() {
	if [ "$(id -u)" = 0 ]; then
		printf 'cd %s && runuser -u postgres -- ' "$PG_DIR"
	else
		printf 'cd %s && ' "$PG_DIR"
	fi
	printf '%s/pg_ctl -D %s/data -l %s/server.log -m fast -w -s restart' "$PG_BINDIR" "$PG_DIR" "$PG_DIR"
}

restart_private_pg() {
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -m fast -w -s restart \
		|| pg_bail "pg_ctl restart failed"
}

stop_private_pg() {
	[ -n "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w -s stop >/dev/null 2>&1
	fi
	rm -rf "$PG_DIR"
	PG_DIR=""
}

pg_createdb() {
	"$PG_BINDIR/createdb" -h "$PG_DIR" -U relais "$1" || return 1
	echo "postgresql:///$1?host=$PG_DIR&user=relais"
}

pg_unit_test() {
	unit=$1 unit_what=$2
	shift 2
	unit_url=$(pg_createdb "${unit#test_}_test") || { not_ok "create the database of $unit"; return; }
	if env RELAIS_TEST_PGURL="$unit_url" "$@" "$top_builddir/tests/unit/$unit" >"$TMP/$unit.out" 2>&1; then
		ok "$unit: $(grep -c '^\[       OK \]' "$TMP/$unit.out") $unit_what"
	else
		not_ok "$unit"
	fi
	sed 's/^/    /' "$TMP/$unit.out"
}

#!/bin/sh
# run-daemon.sh - the end-to-end benchmark (run by `make bench-daemon`): a private PostgreSQL cluster,
# access points A and B on loopback over HTTPS, each with its own database, then bench/bench_daemon at
# 1, 4, 16 and 64 submissions in flight; next to the RSA-2048 sign rate of `openssl speed` on this machine.
# Environment as for the tests (RELAIS, top_srcdir, top_builddir, PG_BINDIR); BENCH_MESSAGES per run.
T_NAME=bench_daemon
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
. "$top_srcdir/bench/bench_lib.sh"
messages=${BENCH_MESSAGES:-2000}
[ -n "$messages" ] || messages=2000
start_test_db
# The test cluster runs with fsync off; durable figures need it on (BENCH_FSYNC=off to compare).
if [ "${BENCH_FSYNC:-on}" = on ]; then
	sed -i 's/^fsync = off/fsync = on/' "$PG_DIR/data/postgresql.conf"
fi
# As relais's embedded cluster runs (pgcluster.c): autovacuum looks every 5 s.
echo "autovacuum_naptime = 5s" >> "$PG_DIR/data/postgresql.conf"
[ -n "${BENCH_PG_SETTINGS:-}" ] && printf '%s\n' $BENCH_PG_SETTINGS >> "$PG_DIR/data/postgresql.conf"
restart_private_pg
echo "PostgreSQL fsync: ${BENCH_FSYNC:-on}, autovacuum_naptime = 5s ${BENCH_PG_SETTINGS:-}"
bench_start_pair || exit 1
echo "machine: $(nproc) cores, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
echo "idle RSS: A $(sed -n 's/^VmRSS:\s*//p' /proc/$PID_A/status), B $(sed -n 's/^VmRSS:\s*//p' /proc/$PID_B/status)"
openssl speed -seconds 3 rsa2048 2>/dev/null | sed -n 's/^rsa 2048 bits.*/openssl speed rsa2048 (one core; sign\/s verify\/s): &/p'
xacts() { sql "$PGURL" "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database WHERE datname IN ('bench_a', 'bench_b')"; }
wal() { sql "$PGURL" "SELECT wal_bytes::bigint || ' ' || wal_sync FROM pg_stat_wal"; }
for c in 1 4 16 64; do
	n=$messages
	[ $c = 1 ] && n=$((messages / 4))
	case " ${BENCH_CONCURRENCY:-1 4 16 64} " in *" $c "*) ;; *) continue ;; esac
	before=$(xacts)
	wal_before=$(wal)
	"$top_builddir/bench/bench_daemon" "$DB_A" "https://127.0.0.1:$PORT_B/as4" "$PKI/POP000002.cert.pem" \
		"$n" "$c" "$PID_A" "$PID_B" "$(head -1 "$PG_DIR/data/postmaster.pid")" || { tail -5 "$TMP/A/log" "$TMP/B/log"; break; }
	sleep 1	# statistics reach pg_stat_database within a second
	wal_after=$(wal)
	echo "                 database transactions per message (A and B, bench polling included): $(( ($(xacts) - before) / n ));" \
		"WAL bytes and flushes per message: $(( (${wal_after% *} - ${wal_before% *}) / n ))," \
		"$(echo "${wal_after#* } ${wal_before#* } $n" | awk '{ printf "%.2f", ($1 - $2) / $3 }')"
done
if [ -n "${BENCH_STATEMENTS:-}" ]; then
	# With BENCH_PG_SETTINGS="shared_preload_libraries=pg_stat_statements": where the server's time went.
	echo "statements by total execution time (ms total, calls, ms per call), both databases:"
	sql "$PGURL" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
	sql "$PGURL" "SELECT round(total_exec_time::numeric, 0) || ' ' || calls || ' ' ||
		round((total_exec_time / calls)::numeric, 3) || ' ' || left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT ${BENCH_STATEMENTS}"
	for ap in A B; do
		[ $ap = A ] && db=$DB_A || db=$DB_B
		echo "average stored/raw bytes at $ap: $(sql "$db" "SELECT 'envelope ' ||
			round(avg(pg_column_size(envelope))) || '/' || round(avg(length(envelope))) || ', receipt ' ||
			round(avg(pg_column_size(receipt))) || '/' || round(avg(length(receipt))) || ', payload ' ||
			round(avg(pg_column_size(payload))) || '/' || round(avg(length(payload))) || ', row ' ||
			round(avg(pg_column_size(m.*))) FROM messages m")"
	done
fi
echo "idle RSS after the runs: A $(sed -n 's/^VmRSS:\s*//p' /proc/$PID_A/status), B $(sed -n 's/^VmRSS:\s*//p' /proc/$PID_B/status)"
ap_stop A
ap_stop B

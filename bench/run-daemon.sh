#!/bin/sh
# run-daemon.sh - the end-to-end benchmark (run by `make bench-daemon`): a private PostgreSQL cluster,
# access points A and B on loopback over HTTPS, each with its own database, then bench/bench_daemon at
# 1, 4, 16 and 64 submissions in flight, BENCH_RUNS times each (3 by default), next to the RSA-2048 sign
# rate of `openssl speed` measured before each level. The summary gives the median and range of each level
# and the median scaled to the sign rate of the reference machine that the targets were set on
# (REFERENCE_SIGN_RATE: 4234 signs/s, CPU time, one core; the 2-vCPU VM of the performance notes): this
# machine's speed moves from minute to minute and between machines, and three RSA-2048 private operations
# are the largest fixed share of a message's CPU.
# Environment as for the tests (RELAIS, top_srcdir, top_builddir, PG_BINDIR); BENCH_MESSAGES per run.
T_NAME=bench_daemon
T_DEFER_CLEANUP=1
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
. "$top_srcdir/bench/bench_lib.sh"
messages=${BENCH_MESSAGES:-2000}
[ -n "$messages" ] || messages=2000
bench_settle
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
REFERENCE_SIGN_RATE=4234
runs=${BENCH_RUNS:-3}
# sign_rate: RSA-2048 signs/s on one core, CPU time, as `openssl speed` prints it
sign_rate() { openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { printf "%.0f", $(NF - 1) }'; }
summary=""
xacts() { sql "$PGURL" "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database WHERE datname IN ('bench_a', 'bench_b')"; }
wal() { sql "$PGURL" "SELECT wal_bytes::bigint || ' ' || wal_sync FROM pg_stat_wal"; }
for c in 1 4 16 64; do
	n=$messages
	[ $c = 1 ] && n=$((messages / 4))
	case " ${BENCH_CONCURRENCY:-1 4 16 64} " in *" $c "*) ;; *) continue ;; esac
	rate=$(sign_rate)
	echo "openssl speed rsa2048 before $c in flight: $rate signs/s (one core)"
	rates=""
	for r in $(seq "$runs"); do
		before=$(xacts)
		wal_before=$(wal)
		"$top_builddir/bench/bench_daemon" "$DB_A" "https://127.0.0.1:$PORT_B/as4" "$PKI/POP000002.cert.pem" \
			"$n" "$c" "$PID_A" "$PID_B" "$(head -1 "$PG_DIR/data/postmaster.pid")" > "$TMP/run.out" ||
			{ cat "$TMP/run.out"; tail -5 "$TMP/A/log" "$TMP/B/log"; break 2; }
		cat "$TMP/run.out"
		rates="$rates $(sed -n 's/.* = *\([0-9.]*\) msg\/s;.*/\1/p' "$TMP/run.out")"
		sleep 1	# statistics reach pg_stat_database within a second
		wal_after=$(wal)
		echo "                 database transactions per message (A and B, bench polling included): $(( ($(xacts) - before) / n ));" \
			"WAL bytes and flushes per message: $(( (${wal_after% *} - ${wal_before% *}) / n ))," \
			"$(echo "${wal_after#* } ${wal_before#* } $n" | awk '{ printf "%.2f", ($1 - $2) / $3 }')"
	done
	summary="$summary$(echo $rates | tr ' ' '\n' | sort -n | awk -v c="$c" -v rate="$rate" -v ref=$REFERENCE_SIGN_RATE '
		{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%4d in flight: median %6.1f msg/s (%d runs, %.1f-%.1f) at %d signs/s; scaled to %d signs/s: %6.1f msg/s\n",
			c, m, NR, v[1], v[NR], rate, ref, m * ref / rate }')
"
done
printf 'summary (median of each level; scaled = median x %s / the sign rate measured before the level):\n%s' \
	"$REFERENCE_SIGN_RATE" "$summary"
if [ -n "${BENCH_STATEMENTS:-}" ]; then
	# With BENCH_PG_SETTINGS="shared_preload_libraries=pg_stat_statements": where the server's time went.
	echo "statements by total execution time (ms total, calls, rows, buffers hit per call, ms per call), both databases:"
	sql "$PGURL" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
	sql "$PGURL" "SELECT round(total_exec_time::numeric, 0) || ' ' || calls || ' ' || rows || ' ' || round(shared_blks_hit::numeric / calls, 1) || ' ' ||
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
bench_cleanup

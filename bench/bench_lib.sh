# bench_lib.sh - what the daemon benchmarks share. Sourced after tests/scripts/lib.sh, pg.sh and
# daemon_lib.sh, once the test cluster runs.
#
#   bench_start_pair   databases bench_a and bench_b, then access points B and A as the benchmarks run
#                      them (A without an outbox, BENCH_WORKERS queue workers, 8 by default; B with the
#                      settings in BENCH_B_SETTINGS, "section.key=value ..."); sets DB_A,
#                      DB_B, and PID_A, PID_B through ap_start
bench_start_pair() {
	DB_A=$(pg_createdb bench_a)
	DB_B=$(pg_createdb bench_b)
	ap_config B POP000002 "$DB_B" ${BENCH_B_SETTINGS:-}
	ap_config A POP000001 "$DB_A" "submission.outbox=" "queue.workers=${BENCH_WORKERS:-8}"
	ap_start B || return 1
	ap_start A
}

# bench_lib.sh - what the daemon benchmarks share. Sourced after tests/scripts/lib.sh, pg.sh and
# daemon_lib.sh, once the test cluster runs.
#
#   bench_start_pair   databases bench_a and bench_b, then access points B and A as the benchmarks run
#                      them (A without an outbox, BENCH_WORKERS queue workers, 8 by default; B with the
#                      settings in BENCH_B_SETTINGS, "section.key=value ..."); sets DB_A,
#                      DB_B, and PID_A, PID_B through ap_start
#   bench_settle       before the measurements: waits until a minute has passed since the last benchmark
#                      removed its files (the stamp bench_cleanup leaves)
#   bench_cleanup      after them (the access points stopped): stops the cluster, removes the files of the
#                      previous run ($TMP_OLD, with T_DEFER_CLEANUP=1) and stamps the time
#
# Why: on ext4 without a journal (this machine's disk), a file created within a minute of a deletion
# steps over every recently deleted inode of its block group before it gets one. Thousands of deleted
# files (a previous run's inbox, its database cluster) made each inbox file of B cost more than its
# fsync; that is the benchmark's own cleanup, not what it measures.
BENCH_STAMP="$top_builddir/tests/tmp/.bench-cleanup"
bench_settle() {
	[ -f "$BENCH_STAMP" ] || return 0
	settle=$(( $(stat -c %Y "$BENCH_STAMP") + 65 - $(date +%s) ))
	if [ "$settle" -gt 0 ]; then
		echo "waiting ${settle}s: the files the last benchmark removed are still recent for the filesystem"
		sleep "$settle"
	fi
}
bench_cleanup() {
	stop_private_pg
	[ -n "${TMP_OLD:-}" ] && rm -rf "$TMP_OLD"
	touch "$BENCH_STAMP"
}
bench_start_pair() {
	DB_A=$(pg_createdb bench_a)
	DB_B=$(pg_createdb bench_b)
	ap_config B POP000002 "$DB_B" ${BENCH_B_SETTINGS:-}
	ap_config A POP000001 "$DB_A" "submission.outbox=" "queue.workers=${BENCH_WORKERS:-8}"
	ap_start B || return 1
	ap_start A
}

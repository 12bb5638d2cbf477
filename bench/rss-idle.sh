#!/bin/sh
# rss-idle.sh - resident memory of idle access points (run by `make bench-rss`): a private PostgreSQL
# cluster and access points A and B started as bench/run-daemon.sh starts them (HTTPS, a database URL,
# A with queue.workers=8, inbox delivery), then for each: VmRSS, VmHWM and the mappings of
# /proc/PID/smaps grouped by what they map (a library, the program, heap, thread stacks, other
# anonymous memory), with resident, private and shared kB, largest first.
# Environment as for the tests (RELAIS, top_srcdir, top_builddir, PG_BINDIR); RSS_TOP = rows shown
# (default 25), RSS_SETTLE = seconds to wait after start-up before measuring (default 2).
. "$top_srcdir/tests/scripts/lib.sh"
. "$top_srcdir/tests/scripts/pg.sh"
. "$top_srcdir/tests/scripts/daemon_lib.sh"
. "$top_srcdir/bench/bench_lib.sh"
top=${RSS_TOP:-25}
start_test_db
bench_start_pair || exit 1
sleep "${RSS_SETTLE:-2}"

# smaps_table PID: one row per group, "name rss private shared" in kB, largest rss first, then a total.
# Anonymous mappings are named by what they are: a thread stack is the rw mapping right above a one-page
# guard (---p); a malloc arena is a rw mapping starting on a 64 MiB boundary (glibc's HEAP_MAX_SIZE);
# everything else anonymous is "[anon]".
smaps_table() {
	awk -v top="$top" '
	function hex(s,   i, v) {
		v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	function flush() {
		if (name == "") return
		rss[name] += r; priv[name] += p; shr[name] += s; n[name]++
	}
	/^[0-9a-f]+-[0-9a-f]+ / {
		flush()
		split($1, range, "-"); start = hex(range[1]); end = hex(range[2])
		perms = $2; path = (NF >= 6) ? $6 : ""
		if (path == "") {
			if (perms ~ /^rw/ && start % 67108864 == 0) name = "[malloc-arenas]"
			else if (perms ~ /^rw/ && guard_end == start) name = "[thread-stacks]"
			else name = "[anon]"
		} else {
			name = path; sub(/.*\//, "", name)
		}
		guard_end = (perms == "---p" && path == "" && end - start == 4096) ? end : -1
		r = p = s = 0
		next
	}
	/^Rss:/ { r = $2 }
	/^Private_(Clean|Dirty):/ { p += $2 }
	/^Shared_(Clean|Dirty):/ { s += $2 }
	END {
		flush()
		for (k in rss) if (rss[k] > 0) printf "%d %d %d %d %s\n", rss[k], priv[k], shr[k], n[k], k
	}' "/proc/$1/smaps" | sort -rn | awk -v top="$top" '
	{ tr += $1; tp += $2; ts += $3
	  if (NR <= top) printf "  %-28s %7d %7d %7d  (%d mappings)\n", $5, $1, $2, $3, $4
	  else { or += $1; op += $2; os += $3; on++ } }
	END {
		if (on) printf "  %-28s %7d %7d %7d\n", "(" on " more)", or, op, os
		printf "  %-28s %7d %7d %7d\n", "total", tr, tp, ts
	}'
}

report() {
	name=$1; pid=$2
	echo "$name (pid $pid): VmRSS $(sed -n 's/^VmRSS:\s*//p' "/proc/$pid/status")," \
		"VmHWM $(sed -n 's/^VmHWM:\s*//p' "/proc/$pid/status")," \
		"anonymous $(sed -n 's/^RssAnon:\s*//p' "/proc/$pid/status")," \
		"file-backed $(sed -n 's/^RssFile:\s*//p' "/proc/$pid/status")," \
		"threads $(sed -n 's/^Threads:\s*//p' "/proc/$pid/status")"
	printf '  %-28s %7s %7s %7s\n' "mapping (kB)" rss private shared
	smaps_table "$pid"
}
report A "$PID_A"
report B "$PID_B"
echo "idle RSS: A $(sed -n 's/^VmRSS:\s*//p' /proc/$PID_A/status), B $(sed -n 's/^VmRSS:\s*//p' /proc/$PID_B/status)"
ap_stop A
ap_stop B

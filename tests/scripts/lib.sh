# lib.sh - helpers for the shell tests. Sourced by tests/scripts/*.sh.
# Environment (from Makefile.am): RELAIS, top_srcdir, top_builddir, RELAIS_SHARED_DIR, PG_BINDIR.
set -u
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
: "${RELAIS:=$top_builddir/relais}"
PKI="$top_builddir/tests/pki"
T_NAME=$(basename "$0" .sh)
TMP="$top_builddir/tests/tmp/$T_NAME"
# A benchmark (T_DEFER_CLEANUP=1) moves the files of its previous run aside, to $TMP_OLD, and removes
# them after its measurements (bench_cleanup in bench/bench_lib.sh): on ext4 without a journal, every
# file created within a minute of a mass deletion first steps over the deleted inodes.
TMP_OLD=""
if [ "${T_DEFER_CLEANUP:-0}" = 1 ] && [ -d "$TMP" ]; then
	TMP_OLD="$top_builddir/tests/tmp/.old-$T_NAME-$$"
	mv "$TMP" "$TMP_OLD"
fi
rm -rf "$TMP" && mkdir -p "$TMP"
T_PASS=0
T_FAIL=0

# Skips the whole test (exit 77) when the shared corpora are not next to the checkout.
need_shared() {
	[ -d "${RELAIS_SHARED_DIR:-}/interop-corpus" ] || { echo "SKIP: no shared corpora"; exit 77; }
	SHARED="$RELAIS_SHARED_DIR"
}

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }

# expect_exit STATUS DESCRIPTION -- command...   (stderr is kept in $TMP/stderr)
expect_exit() {
	want=$1; desc=$2; shift 3
	"$@" >"$TMP/stdout" 2>"$TMP/stderr"
	got=$?
	if [ "$got" = "$want" ]; then ok "$desc"; else
		not_ok "$desc (exit $got, wanted $want)"; sed 's/^/    /' "$TMP/stderr" | head -20; fi
}

# expect_refused CODE DESCRIPTION -- command...  exit 1 and "error: CODE" on stderr
expect_refused() {
	code=$1; desc=$2; shift 3
	"$@" >"$TMP/stdout" 2>"$TMP/stderr"
	got=$?
	if [ "$got" = 1 ] && grep -q "^error: $code " "$TMP/stderr"; then ok "$desc: $(head -1 "$TMP/stderr")"
	else not_ok "$desc (exit $got, wanted 1 with $code)"; sed 's/^/    /' "$TMP/stderr" | head -20; fi
}

expect_same_file() {
	if cmp -s "$1" "$2"; then ok "$3"; else not_ok "$3 ($1 and $2 differ)"; fi
}

# Ends the test: prints the count, exits 1 when anything failed.
finish() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" = 0 ]
	exit $?
}

# Makes the independent Java peer usable: shared/ is read-only, so it is copied and built in $TMP.
# Sets AS4PEER to its wrapper. Skips the test when Java or the Santuario jars are missing.
need_as4peer() {
	need_shared
	command -v java >/dev/null 2>&1 && [ -f /usr/share/java/xmlsec.jar ] || { echo "SKIP: no Java/Santuario"; exit 77; }
	cp -r "$SHARED/as4peer" "$TMP/as4peer" && chmod -R u+w "$TMP/as4peer" && rm -rf "$TMP/as4peer/build"
	"$TMP/as4peer/build.sh" >/dev/null 2>&1 || { not_ok "as4peer builds"; finish; }
	AS4PEER="$TMP/as4peer/as4peer"
}

#!/bin/sh
# cli.sh - the command line contract: help, version, exit status 2 for usage errors.
. "$top_srcdir/tests/scripts/lib.sh"

expect_exit 0 "--version" -- "$RELAIS" --version
grep -q "^relais [0-9]" "$TMP/stdout" && ok "version printed" || not_ok "version printed"
expect_exit 0 "--help" -- "$RELAIS" --help
expect_exit 2 "no command" -- "$RELAIS"
expect_exit 2 "unknown command" -- "$RELAIS" no-such-command
expect_exit 2 "help for an unknown command" -- "$RELAIS" help no-such-command
for cmd in $("$RELAIS" --help | awk '/^commands:/{f=1;next} f && /^  [a-z]/{print $1}'); do
	expect_exit 0 "help $cmd" -- "$RELAIS" help "$cmd"
	grep -qi "usage" "$TMP/stdout" && ok "help $cmd shows usage" || not_ok "help $cmd shows usage"
done
finish

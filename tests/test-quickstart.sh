#!/bin/sh
# test-quickstart.sh: contrib/quickstart's arguments. A mistyped one (stpo)
# is named, with the valid ones, exit 2, before anything is installed, built
# or started; --help prints the usage, exit 0.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

QS=$top_srcdir/contrib/quickstart

# Its demo folder, were it to make one: it must not.
export P11AGENT_DEMO_DIR=$T/demo P11AGENT_BUILD_DIR=$T/build
for arg in stpo --bogus "stop now"; do
	# shellcheck disable=SC2086 # "stop now" is two words
	run timeout -k 2 30 bash "$QS" $arg
	if [ "$RC" -eq 2 ]; then
		pass "quickstart '$arg': exit 2"
	else
		fail "quickstart '$arg': exit 2" "exit $RC; stderr: $(show "$ERR")"
	fi
	bad=${arg##* }
	[ "$arg" = "stop now" ] && bad=now
	check_err "quickstart '$arg': names it" "'$bad'"
	check_err "quickstart '$arg': lists the valid ones" "run.*stop.*clean.*--help"
	if [ -e "$T/demo" ] || [ -e "$T/build" ] || [ -s "$OUT" ]; then
		fail "quickstart '$arg': does nothing" "stdout: $(show "$OUT")"
	else
		pass "quickstart '$arg': does nothing"
	fi
done
run timeout -k 2 30 bash "$QS" --help
if [ "$RC" -eq 0 ] && grep -q 'contrib/quickstart clean' "$OUT"; then
	pass "quickstart --help: usage, exit 0"
else
	fail "quickstart --help: usage, exit 0" "exit $RC; stdout: $(show "$OUT")"
fi

finish

#!/bin/sh
# test-provider-threads.sh: the provider in a threaded, forking program that
# outlives its agent (tests/test-provider-threads.c, driven command by command
# through a coprocess): 8 threads signing at once and a forked child signing,
# every signature verified by the default provider; the agent killed (a clean
# OpenSSL error naming the socket within 10 s); the agent restarted on the
# same socket (the next signature works, nothing reloaded); the agent frozen
# with SIGSTOP under P11AGENT_TIMEOUT=2 (an error within 4 s: the timeout
# and slack);
# restarted again, the program signs on.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/provider-lib.sh"

PROG=$top_builddir/tests/test-provider-threads
require_provider
[ -x "$PROG" ] || die "$PROG is not built" "test program"
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_ED25519"
start_agent || finish
for k in ec256 rsa2048 ed25519; do
	check "$k: pubkey" p11a pubkey "$k" && cp "$OUT" "$T/$k.pub"
done

# The program is built like the module (with ASan in a sanitizer build):
# no preload. P11AGENT_SOCK names the agent; every wait on it is bounded by
# 2 s.
coproc PROGRAM {
	P11AGENT_SOCK=$SOCK P11AGENT_TIMEOUT=2 exec timeout -k 2 300 "$PROG" "$PROVIDER_MODULE" "ec256=$T/ec256.pub" \
		"rsa2048=$T/rsa2048.pub" "ed25519=$T/ed25519.pub" 2>"$T/program.err"
}
PROG_PID=$PROGRAM_PID
BG_PIDS="$BG_PIDS $PROG_PID"
exec 7<&"${PROGRAM[0]}" 8>&"${PROGRAM[1]}"

# answer [SECONDS]: reads the program's lines up to DONE (or READY) into the
# counts; fails when it says nothing more for SECONDS (60).
answer() {
	local line
	while IFS= read -r -t "${1:-60}" line <&7; do
		case $line in
		DONE | READY) return 0 ;;
		"PASS "*) pass "${line#PASS }" ;;
		"FAIL "*) FAILED=$((FAILED + 1)); echo "$line" ;;
		*) echo "$line" ;;
		esac
	done
	fail "the program answers" "nothing more within ${1:-60} s; stderr: $(show "$T/program.err")"
	return 1
}

# ask COMMAND [SECONDS]: sends COMMAND, reads the answer.
ask() {
	echo "--- $1"
	echo "$1" >&8 && answer "${2:-60}"
}

if ! answer 60; then
	finish
fi
ask threads 120
ask fork
ask sign

# The agent killed: the socket stays, nobody listens.
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
ask "fail 10"

# Restarted on the same socket: the program signs on, nothing reloaded.
start_agent || finish
ask sign

# Frozen: connections and requests wait; P11AGENT_TIMEOUT=2 bounds them.
kill -STOP "$AGENT_PID"
# SIGSTOP takes effect asynchronously: wait (5 s at most) until it has.
for _ in $(seq 50); do
	[ "$(awk '{ print $3 }' "/proc/$AGENT_PID/stat" 2>/dev/null)" = T ] && break
	sleep 0.1
done
ask "fail 4"
kill -KILL "$AGENT_PID"
kill -CONT "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=

start_agent || finish
ask sign
ask threads 120

echo quit >&8
exec 8>&-
if wait_bg "$PROG_PID" 300 && [ "$BG_RC" -eq 0 ]; then
	pass "the program exits 0"
else
	fail "the program exits 0" "exit ${BG_RC:-(killed)}; stderr: $(show "$T/program.err")"
fi
if [ -s "$T/program.err" ]; then
	echo "--- the program's stderr"
	sed 's/^/  /' "$T/program.err"
fi
agent_alive "the agent serves on"
stop_agent
finish

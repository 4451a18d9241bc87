#!/bin/sh
# test-idle-conns.sh: 10,000 idle connections. An agent with max-connections
# 10050 accepts 10,000 connections that said HELLO and sit idle (held by
# bench/conns.py, which raises its own limit on open files), and its status
# counts them; its VmRSS grows by at most 8 KiB a connection; while they are
# held, 200 ECDSA P-256 signatures each verify with OpenSSL; once they close,
# the count falls back and the agent still signs.
#
# Needs a hard limit on open files (ulimit -Hn) of at least 10,114: below
# that it is skipped, saying so. In a sanitizer build or under valgrind
# (P11AGENT_VALGRIND=1) the memory figure is the tool's, not the agent's: it
# is shown, not checked.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 timeout awk

N=10000         # idle connections
MAX_CONNS=10050 # the agent's max-connections
SIGNATURES=200
CONN_KIB=8      # VmRSS growth allowed per connection
CONNS=$top_srcdir/bench/conns.py
HOLD_PID=

# The agent raises its soft limit to max-connections + 64, the holder to N + 64.
NEED=$((MAX_CONNS + 64))
HARD=$(ulimit -Hn)
if [ "$HARD" != unlimited ] && [ "$HARD" -lt "$NEED" ]; then
	echo "SKIP: $N connections need $NEED open files in the agent; the hard limit" \
		"(ulimit -Hn) is $HARD"
	exit 77
fi

# stop_holder: SIGTERM to the holder (it closes its connections), then waits
# for it (10 s at most).
stop_holder() {
	local _
	[ -n "$HOLD_PID" ] || return 0
	kill -TERM "$HOLD_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$HOLD_PID" 2>/dev/null
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
}
trap 'stop_holder; _cleanup' EXIT

# conns_now: the connections the agent's status counts (empty when it does
# not answer).
conns_now() {
	p11a status --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["connections"])' 2>/dev/null
}

# rss: the agent's VmRSS in KiB.
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$AGENT_PID/status" 2>/dev/null
}

# sign_verified I: signs message I with ec256 and checks it with OpenSSL.
sign_verified() {
	printf 'idle connections test, message %s\n' "$1" >"$T/msg"
	p11a sign ec256 -i "$T/msg" -o "$T/sig" 2>"$T/sign.err" &&
		ossl dgst -sha256 -verify "$T/ec256.pem" -signature "$T/sig" "$T/msg" >/dev/null 2>&1
}

make_token "$KEY_EC256"
echo "max-connections = $MAX_CONNS" >"$T/agent.conf"
chmod 0600 "$T/agent.conf"
# (Log level info: a debug line per connection would be 10,000 lines each way.)
start_agent --config "$T/agent.conf" --log-level info || finish
check "pubkey ec256" p11a pubkey ec256 && cp "$OUT" "$T/ec256.pem"
sign_verified 0 || fail "a first signature" "$(show "$T/sign.err")"
sleep 0.5
RSS0=$(rss)

# --- 10,000 idle connections --------------------------------------------------
t0=$(date +%s%N)
python3 "$CONNS" hold "$SOCK" "$N" "$T/hold.ready" 90 2>"$T/hold.err" &
HOLD_PID=$!
for _ in $(seq 600); do
	[ -f "$T/hold.ready" ] && break
	kill -0 "$HOLD_PID" 2>/dev/null || break
	sleep 0.1
done
if [ ! -f "$T/hold.ready" ]; then
	msg=$(show "$T/hold.err")
	[ -s "$T/hold.err" ] || msg="not all open after 60 s"
	fail "$N idle connections open, each answered HELLO" "$msg; the agent counts $(conns_now)"
	finish
fi
t1=$(date +%s%N)
pass "$N idle connections open, each answered HELLO ($(((t1 - t0) / 1000000)) ms)"
sleep 0.5

n=$(conns_now)
if [ -n "$n" ] && [ "$n" -ge "$N" ]; then
	pass "the agent's status counts $n connections (>= $N)"
else
	fail "the agent's status counts the connections" "${n:-no answer}, expected >= $N"
fi

RSS1=$(rss)
per=$(awk -v a="$RSS0" -v b="$RSS1" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / n }')
echo "  agent VmRSS: $RSS0 KiB idle, $RSS1 KiB with $N connections: $per KiB each"
MEM_TOOL=
[ -z "$AGENT_WRAP" ] || MEM_TOOL=valgrind
case " $(sed -n 's/^CFLAGS = //p' "$top_builddir/Makefile" 2>/dev/null) " in
*" -fsanitize="*address*) MEM_TOOL="a sanitizer build" ;;
esac
if [ -n "$MEM_TOOL" ]; then
	skip "VmRSS growth a connection" "$per KiB under $MEM_TOOL, whose memory it mostly is"
elif awk -v p="$per" -v max="$CONN_KIB" 'BEGIN { exit !(p <= max) }'; then
	pass "VmRSS growth $per KiB a connection (<= $CONN_KIB KiB)"
else
	fail "VmRSS growth a connection" "$per KiB ($RSS0 -> $RSS1 KiB), more than $CONN_KIB KiB"
fi

# --- Signatures while they are held ---------------------------------------------------
good=0
for i in $(seq "$SIGNATURES"); do
	if sign_verified "$i"; then
		good=$((good + 1))
	elif [ "$good" -eq $((i - 1)) ]; then
		echo "  first failure, signature $i: $(show "$T/sign.err")"
	fi
done
if [ "$good" -eq "$SIGNATURES" ]; then
	pass "$SIGNATURES ECDSA P-256 signatures beside them, each verified by OpenSSL"
else
	fail "$SIGNATURES ECDSA P-256 signatures beside them" "only $good verified"
fi
n=$(conns_now)
if kill -0 "$HOLD_PID" 2>/dev/null && [ -n "$n" ] && [ "$n" -ge "$N" ]; then
	pass "the $N connections still open after the signatures ($n counted)"
else
	fail "the $N connections still open after the signatures" \
		"the agent counts ${n:-no answer}; holder: $(show "$T/hold.err")"
fi

# --- They close ---------------------------------------------------------------------
stop_holder
for _ in $(seq 60); do
	n=$(conns_now)
	[ -n "$n" ] && [ "$n" -lt 10 ] && break
	sleep 0.5
done
if [ -n "$n" ] && [ "$n" -lt 10 ]; then
	pass "once closed, the agent's count falls back ($n)"
else
	fail "once closed, the agent's count falls back" "${n:-no answer} after 30 s"
fi
if sign_verified after; then
	pass "the agent still signs (verified by OpenSSL)"
else
	fail "the agent still signs" "$(show "$T/sign.err")"
fi
agent_alive "the agent still answers ping"
stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "p11agentd exits 0 on SIGTERM"
else
	fail "p11agentd exits 0 on SIGTERM" "exit $AGENT_RC"
fi
finish

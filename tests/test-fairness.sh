#!/bin/sh
# test-fairness.sh: one uid floods the agent while another signs
# (tests/fairness.py). The flooder, uid 54411, may connect (socket group
# 54410) but use no key; the signer, uid 54412, may use good-hmac, and
# checks every MAC it gets. Each flood:
#   (a) the flooder holds every connection it can get and pings each every
#       5 s (idle-timeout 10): it gets max-connections-per-uid (64), then
#       BUSY naming that limit;
#   (b) 1000 connections (max-connections-per-uid raised out of the way)
#       each send a 1 MiB request and never read the reply: the agent's
#       VmHWM stays under 200 MiB (max-request-memory is 64 MiB, 16 MiB a
#       uid), and what does not fit the flooder's share is refused BUSY
#       after frame-timeout (5 s);
#   (c) denied requests as fast as it can: the trail holds at most
#       max-denied-per-uid (20) of its records a second, and summaries
#       (op audit-suppressed) count the rest, written within a second of
#       the flood's end and at shutdown; every signature of the signer is
#       in the trail.
# Meanwhile all the signer's signatures succeed, each within 2 s and with
# a median under 250 ms (fairness.py). Skipped (exit 77) unless run as root
# with setpriv (util-linux).
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: test-fairness.sh needs root, to connect as other uids (setpriv)"
	exit 77
fi
require_tools setpriv python3 timeout
make_token "$KEY_HMAC"

SGID=54410 # the socket's group
UF=54411   # the flooder: may connect, may use no key
UG=54412   # the signer: may use good-hmac

# The helpers, readable by the other uids; $W is where they write.
chmod 0711 "$T"
D=$T/data
W=$T/w
mkdir -m 0755 "$D"
mkdir -m 1777 "$W"
cp "$top_srcdir/tests/fairness.py" "$top_srcdir/tests/limits.py" "$D/"
chmod 0644 "$D"/*.py

# as UID CMD...: CMD as uid UID in the socket's group, bounded in time.
as() {
	local uid=$1
	shift
	timeout -k 2 60 setpriv --reuid="$uid" --regid="$SGID" --clear-groups "$@"
}
# A python3 the other uids can run.
PY=$(python_for "$UF" "$SGID")
if [ -z "$PY" ]; then
	echo "SKIP: no python3 that uid $UF can run"
	exit 77
fi
# fair UID ARGS...: fairness.py as that uid.
fair() {
	local uid=$1
	shift
	as "$uid" "$PY" "$D/fairness.py" "$@"
}
FAIR_ROOT="timeout -k 2 60 python3 $D/fairness.py"

SOCK=$T/run/agent.sock
# config NAME LINES: the test config plus LINES, in $T/NAME.conf.
config() {
	cat >"$T/$1.conf" <<EOF
socket-group = $SGID
$2

[key good-hmac]
uri = pkcs11:object=hmac
allow-users = $UG
EOF
}

# wait_ready FILE: waits (30 s at most) until a flooder printed READY.
wait_ready() {
	local i
	for i in $(seq 300); do
		grep -q '^READY' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "flooder ready" "no READY in $1 after 30 s: $(show "$1")"
	return 1
}

# results FILE...: counts the PASS/FAIL lines of fairness.py runs.
results() {
	local f
	for f in "$@"; do
		count_lines <"$f"
		grep -q '^\(PASS\|FAIL\|SKIP\) ' "$f" || fail "$f" "fairness.py printed no result"
	done
}

# --- (a) connection hoarding ------------------------------------------------------
config hoard "idle-timeout = 10"
start_agent --config "$T/hoard.conf" || finish
# Under AddressSanitizer or valgrind: fewer connections (valgrind runs at most
# 500 threads), more time, and their memory is not the agent's.
CONNS=1000
export FAIRNESS_SLOW=0
if [ -n "$AGENT_WRAP" ] || grep -q libasan "/proc/$AGENT_PID/maps" 2>/dev/null; then
	CONNS=300
	FAIRNESS_SLOW=1
fi
fair "$UF" hoard "$SOCK" 8 64 >"$T/hoard.out" 2>&1 &
FLOODER=$!
wait_ready "$T/hoard.out"
fair "$UG" signer "$SOCK" 6 good-hmac "$HMAC_HEX" "$W/hoard.hashes" >"$T/hoard-signer.out" 2>&1
wait "$FLOODER"
echo "(a) connection hoarding"
results "$T/hoard.out" "$T/hoard-signer.out"
if grep -q "uid $UF pid [0-9]*: max-connections-per-uid" "$T/agent.log"; then
	pass "the agent logs the refused connections with the limit"
else
	fail "the agent logs the refused connections with the limit" "not in its log"
fi
agent_alive "agent alive after the hoarding"
stop_agent

# --- (b) 1 MiB requests whose replies are never read ------------------------------
config big "max-connections = 1200
max-connections-per-uid = 1100
frame-timeout = 5"
start_agent --config "$T/big.conf" || finish
$FAIR_ROOT memwatch "$AGENT_PID" 11 200 >"$T/mem.out" 2>&1 &
WATCHER=$!
fair "$UF" bigsend "$SOCK" 12 "$CONNS" >"$T/big.out" 2>&1 &
FLOODER=$!
wait_ready "$T/big.out"
fair "$UG" signer "$SOCK" 4 good-hmac "$HMAC_HEX" "$W/big.hashes" 262144 \
	>"$T/big-signer.out" 2>&1
wait "$FLOODER" "$WATCHER"
echo "(b) $CONNS requests of 1 MiB, never read"
results "$T/big.out" "$T/mem.out" "$T/big-signer.out"
if grep -q "uid $UF pid [0-9]*: request of [0-9]* bytes refused, connection closed: .*max-request-memory-per-uid" \
	"$T/agent.log"; then
	pass "requests beyond the flooder's share are refused after frame-timeout, and logged"
else
	fail "requests beyond the flooder's share are refused after frame-timeout" "not in the log"
fi
agent_alive "agent alive after the 1 MiB flood"
stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "exit 0 on SIGTERM, no request left waiting for memory"
else
	fail "exit 0 on SIGTERM, no request left waiting for memory" "exit $AGENT_RC"
fi

# --- (c) a flood of denied requests -----------------------------------------------
config deny "audit-file = $T/audit.jsonl"
start_agent --config "$T/deny.conf" || finish
fair "$UF" deny "$SOCK" 3 good-hmac "$W/deny1.count" >"$T/deny.out" 2>&1 &
FLOODER=$!
wait_ready "$T/deny.out"
fair "$UG" signer "$SOCK" 3 good-hmac "$HMAC_HEX" "$W/deny.hashes" >"$T/deny-signer.out" 2>&1
wait "$FLOODER"
sleep 1.5 # the last second's summary is due by now
echo "(c) denied requests as fast as they go"
results "$T/deny.out" "$T/deny-signer.out"
$FAIR_ROOT trail "$T/audit.jsonl" "$UF" 20 "$W/deny1.count" -- "$W/deny.hashes" "$UG" \
	>"$T/trail.out" 2>&1
results "$T/trail.out"
if grep -Eq "uid $UF: [0-9]+ more denied or keyless requests suppressed" "$T/agent.log"; then
	pass "the log says how many denied requests were suppressed"
else
	fail "the log says how many denied requests were suppressed" "not in its log"
fi
# A short flood, and the agent stopped at once: its count is written at shutdown.
fair "$UF" deny "$SOCK" 0.5 good-hmac "$W/deny2.count" >"$T/deny2.out" 2>&1
stop_agent
echo "(c) a short flood, then SIGTERM"
results "$T/deny2.out"
if [ "$AGENT_RC" = 0 ]; then
	pass "exit 0 on SIGTERM with a summary pending"
else
	fail "exit 0 on SIGTERM with a summary pending" "exit $AGENT_RC"
fi
$FAIR_ROOT trail "$T/audit.jsonl" "$UF" 20 "$W/deny1.count" "$W/deny2.count" -- \
	"$W/deny.hashes" "$UG" >"$T/trail2.out" 2>&1
results "$T/trail2.out"
finish

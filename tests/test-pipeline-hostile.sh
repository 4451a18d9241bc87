#!/bin/sh
# test-pipeline-hostile.sh: clients that abuse pipelining (PROTOCOL.md,
# Pipelining), each in tests/pipeline-hostile.py, against one agent with a
# frame-timeout of 3 s and a max-frame of 64 KiB:
#   - requests pipelined before HELLO get VERSION, in request order;
#   - 16 requests of every kind with distinct ids: each reply has its
#     request's id, opcode, status and fields;
#   - a frame over max-frame after 5 (and after 20) good ones: one refusal
#     (op 0, id 0, TOO_LARGE), last, then the connection is closed;
#   - connections that pipeline 16 requests and close at once: the agent
#     serves others and its count of connections falls back;
#   - half a frame after 3 whole ones: 3 replies, then closed after
#     frame-timeout, and logged;
#   - 2000 pipelined SIGNs never read: the agent's VmRSS stays bounded, a
#     signer meanwhile gets each signature within 2 s, the hoarder is closed
#     after frame-timeout, and logged;
#   - the SSH socket: requests pipelined in one write answered in order;
#   - as root: another uid floods denied requests on 4 pipelined connections
#     while a third uid signs; the flood is slowed (agent/ratelimit.h).
# Then on a slow token (tests/faultmod.c, every C_Sign sleeps):
#   - one connection with 16 slow SIGNs in flight (2 workers): another
#     client's pings each take under 2 s;
#   - 17 whole SIGNs in one write, each slower than frame-timeout (1 s): all
#     are answered, none is taken for a frame left unfinished.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 timeout
make_token "$KEY_EC256" "$KEY_ED25519" "$KEY_RSA2048" "$KEY_HMAC"

FRAME_TIMEOUT=3
MAX_FRAME=65536
SGID=54420 # the socket's group, when run as root
UF=54421   # the flooder: may connect, may use no key
UG=54422   # the signer: may use shared-hmac
ROOT=no
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	ROOT=yes
fi

# The helpers, readable by the other uids.
chmod 0711 "$T"
D=$T/data
mkdir -m 0755 "$D"
cp "$top_srcdir/tests/pipeline-hostile.py" "$top_srcdir/tests/limits.py" \
	"$top_srcdir/tests/ssh-client.py" "$D/"
chmod 0644 "$D"/*.py

SSH_SOCK=$T/ssh.sock
{
	echo "frame-timeout = $FRAME_TIMEOUT"
	echo "max-frame = $MAX_FRAME"
	echo "audit-file = $T/audit.jsonl"
	echo "max-denied-per-uid = 20"
	echo "ssh-socket = $SSH_SOCK"
	[ "$ROOT" = yes ] && echo "socket-group = $SGID"
	cat <<EOF

[key shared-hmac]
uri = pkcs11:object=hmac
allow-users = $UG
EOF
} >"$T/p11agent.conf"
start_agent --config "$T/p11agent.conf" || finish

# ph ARGS...: pipeline-hostile.py as this uid, bounded in time, its lines counted.
ph() {
	timeout -k 2 60 python3 "$D/pipeline-hostile.py" "$@" >"$T/ph.out" 2>&1
	local rc=$?
	count_lines <"$T/ph.out"
	grep -q '^\(PASS\|FAIL\) ' "$T/ph.out" || fail "pipeline-hostile.py $1" "printed no result (exit $rc)"
}

# connections: the agent's count of open connections (p11agent status --json).
connections() {
	p11a status --json 2>/dev/null | sed -n 's/.*"connections":\([0-9]*\).*/\1/p'
}

echo "before HELLO"
ph before-hello "$SOCK"
echo "replies and their ids"
ph ids "$SOCK" "$HMAC_HEX"
echo "a frame over max-frame among pipelined requests"
ph bad-frame "$SOCK" "$MAX_FRAME"

echo "16 requests, then gone"
BEFORE=$(connections)
ph burst-close "$SOCK"
AFTER=
for _ in $(seq 50); do
	AFTER=$(connections)
	[ -n "$AFTER" ] && [ -n "$BEFORE" ] && [ "$AFTER" -le "$BEFORE" ] && break
	sleep 0.1
done
if [ -n "$BEFORE" ] && [ -n "$AFTER" ] && [ "$AFTER" -le "$BEFORE" ]; then
	pass "burst-close: the agent's connection count falls back ($AFTER, $BEFORE before)"
else
	fail "burst-close: the agent's connection count falls back" \
		"${AFTER:-?} connections 5 s after, ${BEFORE:-?} before"
fi
agent_alive "burst-close: agent alive"

echo "half a frame after 3 whole ones"
ph half-frame "$SOCK" "$T/agent.log" "$FRAME_TIMEOUT"

echo "2000 pipelined SIGNs, never read"
ph hoard "$SOCK" "$AGENT_PID" "$T/agent.log" "$FRAME_TIMEOUT" "$HMAC_HEX"
agent_alive "hoard: agent alive"

echo "the SSH socket"
ph ssh "$SSH_SOCK"

echo "a flood of denied requests on pipelined connections"
# RATELIMIT_DELAY_MS is how long each refused reply beyond the uid's share
# of the trail (max-denied-per-uid, 20 a second) holds its connection's
# replies back: a connection gets at most 1000 / DELAY of them a second,
# plus at most the uid's 20 recorded ones. 30 more for the clocks.
DELAY=$(sed -n 's/^#define RATELIMIT_DELAY_MS \([0-9]*\).*/\1/p' "$top_srcdir/agent/ratelimit.h")
if [ "$ROOT" != yes ]; then
	skip "deny flood" "needs root and setpriv to connect as other uids"
elif [ -z "$DELAY" ] || [ "$DELAY" -eq 0 ]; then
	fail "deny flood" "no RATELIMIT_DELAY_MS in agent/ratelimit.h"
else
	BOUND=$((1000 / DELAY + 20 + 30))
	as() {
		local uid=$1
		shift
		timeout -k 2 60 setpriv --reuid="$uid" --regid="$SGID" --clear-groups "$@"
	}
	PY=$(python_for "$UF" "$SGID")
	if [ -z "$PY" ]; then
		skip "deny flood" "no python3 that uid $UF can run"
	else
		# Unthrottled: root (the agent's own uid) is never slowed.
		timeout -k 2 60 python3 "$D/pipeline-hostile.py" deny "$SOCK" 1 no-such-key 0 \
			>"$T/base.out" 2>&1
		count_lines <"$T/base.out"
		BASE=$(sed -n 's/^RATE //p' "$T/base.out")
		as "$UF" "$PY" "$D/pipeline-hostile.py" deny "$SOCK" 3 shared-hmac "$BOUND" \
			>"$T/deny.out" 2>&1 &
		FLOOD=$!
		as "$UG" "$PY" "$D/pipeline-hostile.py" signer "$SOCK" 3 shared-hmac "$HMAC_HEX" \
			>"$T/signer.out" 2>&1
		wait "$FLOOD"
		count_lines <"$T/deny.out"
		sed 's/^PASS /PASS deny: the other uid'"'"'s /' "$T/signer.out" >"$T/signer.lines"
		count_lines <"$T/signer.lines"
		RATE=$(sed -n 's/^RATE //p' "$T/deny.out")
		if [ -n "$BASE" ] && [ "$BASE" -ge $((2 * BOUND)) ]; then
			pass "deny: unthrottled (root), the same flood goes faster: $BASE a second per connection, over 2 x $BOUND"
		else
			fail "deny: unthrottled (root), the same flood goes faster" \
				"${BASE:-?} a second per connection, under 2 x $BOUND: the bound does not tell"
		fi
		if grep -Eq "uid $UF: [0-9]+ more denied or keyless requests suppressed" "$T/agent.log"; then
			pass "deny: the log says how many of the flood's records were suppressed"
		else
			fail "deny: the log says how many of the flood's records were suppressed" "not in its log"
		fi
		echo "  (flood: ${RATE:-?} a second per connection at most, bound $BOUND)"
	fi
fi

agent_alive "agent alive at the end"
stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "agent exits 0 on SIGTERM"
else
	fail "agent exits 0 on SIGTERM" "exit $AGENT_RC"
fi

# --- a slow token: tests/faultmod.c makes every C_Sign sleep ----------------------
FAULTMOD=$top_builddir/tests/.libs/libfaultmod.so
[ -f "$FAULTMOD" ] || die "$FAULTMOD is not built" "fault module"
FAULTMOD_MODULE=$SOFTHSM_MODULE
FAULTMOD_CONTROL=$T/faults
export FAULTMOD_MODULE FAULTMOD_CONTROL
# slow_agent WORKERS FRAME_TIMEOUT MS: an agent on the fault module with
# WORKERS workers, and a C_Sign that takes MS ms more.
slow_agent() {
	printf 'workers = %s\npool-size = 16\nframe-timeout = %s\n' "$1" "$2" >"$T/slow.conf"
	rm -f "$FAULTMOD_CONTROL"
	# shellcheck disable=SC2086 # AGENT_WRAP is a command line
	$AGENT_WRAP "$P11AGENTD" --foreground --module "$FAULTMOD" --token "pkcs11:token=$TOKEN" \
		--pin-source "file:$PIN_FILE" --socket "$SOCK" --config "$T/slow.conf" \
		--log-level debug </dev/null >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
	if ! wait_socket "$SOCK" "$AGENT_PID" "$AGENT_WAIT"; then
		fail "start agent on the fault module" "no agent answers at $SOCK"
		return 1
	fi
	printf 'slow C_Sign %s\n' "$3" >"$FAULTMOD_CONTROL"
}

echo "a slow token: 16 slow SIGNs on one connection, 2 workers"
# Each C_Sign takes 0.5 s: with the 16 run in turn on 2 workers, they take 4 s;
# another client should wait for a worker (0.5 s), not for all of them.
if slow_agent 2 30 500; then
	ph starve "$SOCK" 0.5
	stop_agent
fi

echo "a slow token: 17 whole SIGNs in one write, frame-timeout 1 s"
# The 17th is read with the 16th but waits for room: it is whole, so its
# frame-timeout must not run out while the 16 (1.5 s each) run.
if slow_agent 32 1 1500; then
	ph read-ahead "$SOCK" "$T/agent.log" 1
	agent_alive "read-ahead: agent alive"
	stop_agent
fi
finish

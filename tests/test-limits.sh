#!/bin/sh
# test-limits.sh: each limit of p11agentd, set small in a config file, is
# enforced (tests/limits.py): max-frame, max-connections, idle-timeout,
# frame-timeout (while another client keeps signing), shutdown-timeout and
# SIGTERM with a request in flight; and socket-group gives the socket and
# its directory to a group.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 timeout stat
make_token "$KEY_EC256"
LIMITS="timeout -k 2 60 python3 $top_srcdir/tests/limits.py"
MSG=$T/msg
printf 'signed while a client stalls\n' >"$MSG"

# limits TEST ARG: runs one test of limits.py against $SOCK and counts its lines.
limits() {
	$LIMITS "$1" "$SOCK" "$2" >"$T/limits.out" 2>&1
	count_lines <"$T/limits.out"
	[ -s "$T/limits.out" ] || fail "$1" "limits.py printed nothing"
}

# --- frame size, connections, idle and frame timeouts ----------------------
cat >"$T/small.conf" <<EOF
max-frame = 4096
max-connections = 4
idle-timeout = 2
frame-timeout = 2
EOF
start_agent --config "$T/small.conf" || finish
p11a pubkey ec256 >"$T/ec256.pem" 2>"$ERR" || die "pubkey: $(show "$ERR")"

limits max-frame 4096
limits max-connections 4
limits idle-timeout 2

# A client stalls in a half frame while another keeps signing.
$LIMITS frame-timeout "$SOCK" 2 >"$T/stall.out" 2>&1 &
STALLER=$!
ok=0 bad=0
END=$(($(date +%s) + 4))
while [ "$(date +%s)" -lt "$END" ]; do
	if p11a sign ec256 -i "$MSG" -o "$T/sig" 2>"$T/sign.err" &&
		ossl dgst -sha256 -verify "$T/ec256.pem" -signature "$T/sig" "$MSG" >/dev/null 2>&1
	then
		ok=$((ok + 1))
	else
		bad=$((bad + 1))
		echo "  sign failed: $(show "$T/sign.err")"
	fi
done
wait "$STALLER"
count_lines <"$T/stall.out"
if [ "$bad" -eq 0 ] && [ "$ok" -gt 0 ]; then
	pass "signing goes on while a client stalls in a frame ($ok signatures verified)"
else
	fail "signing goes on while a client stalls in a frame" "$ok good, $bad bad"
fi
if grep -q "idle for 2000 ms" "$T/agent.log" && grep -q "frame not complete within 2000 ms" "$T/agent.log"
then
	pass "the agent logs why it dropped the idle and the stalled client"
else
	fail "the agent logs why it dropped the idle and the stalled client" "not in its log"
fi
agent_alive "agent alive after the limits"
stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "exit 0 on SIGTERM"
else
	fail "exit 0 on SIGTERM" "exit $AGENT_RC"
fi

# --- SIGTERM with requests in flight ---------------------------------------
printf 'shutdown-timeout = 5\n' >"$T/drain.conf"
start_agent --config "$T/drain.conf" || finish
$LIMITS shutdown "$SOCK" "$AGENT_PID" >"$T/limits.out" 2>&1
count_lines <"$T/limits.out"
stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "exit 0 after finishing the requests in flight"
else
	fail "exit 0 after finishing the requests in flight" "exit $AGENT_RC"
fi
if [ ! -e "$SOCK" ]; then
	pass "the socket is gone"
else
	fail "the socket is gone" "$SOCK is still there"
fi

# shutdown-timeout bounds the wait for a client that never reads its reply.
printf 'shutdown-timeout = 1\n' >"$T/drain.conf"
start_agent --config "$T/drain.conf" || finish
python3 - "$SOCK" <<'EOF' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(struct.pack(">IBII", 9, 1, 1, 1))
body = struct.pack(">BII", 2, 2, (1 << 20) - 13) + b"x" * ((1 << 20) - 13)
s.sendall(struct.pack(">I", len(body)) + body)
time.sleep(20)  # never reads the 1 MiB echo
EOF
READER=$!
sleep 1
START=$(date +%s)
stop_agent
ELAPSED=$(($(date +%s) - START))
kill "$READER" 2>/dev/null
wait "$READER" 2>/dev/null
if [ "$AGENT_RC" = 0 ] && [ "$ELAPSED" -le 4 ]; then
	pass "shutdown-timeout bounds the drain (exit 0 after ${ELAPSED} s)"
else
	fail "shutdown-timeout bounds the drain" "exit $AGENT_RC after $ELAPSED s"
fi

# --- SIGHUP reopens the audit file (logrotate) ------------------------------
printf 'audit-file = %s\n' "$T/audit.log" >"$T/audit.conf"
start_agent --config "$T/audit.conf" || finish
check "a request before SIGHUP" p11a list
mv "$T/audit.log" "$T/audit.log.1"
kill -HUP "$AGENT_PID"
for i in $(seq 50); do
	[ -e "$T/audit.log" ] && break
	sleep 0.1
done
check "a request after SIGHUP" p11a list
if [ -s "$T/audit.log.1" ] && [ -s "$T/audit.log" ] && grep -q "SIGHUP" "$T/agent.log"; then
	pass "SIGHUP: the audit file is reopened, records go to the new one"
else
	fail "SIGHUP: the audit file is reopened" \
		"old: $(wc -c <"$T/audit.log.1") bytes, new: $(wc -c <"$T/audit.log" 2>/dev/null || echo none)"
fi
agent_alive "agent alive after SIGHUP"
stop_agent

# --- busy-poll: quick clients are polled for, idle ones cost nothing ---------
printf 'busy-poll = 1000\n' >"$T/poll.conf"
start_agent --config "$T/poll.conf" || finish
limits busy-poll "$AGENT_PID"
# The client's own polling (P11AGENT_BUSY_POLL); a value it cannot read is 0.
P11AGENT_BUSY_POLL=1000 check "P11AGENT_BUSY_POLL=1000: a signature" \
	p11a sign ec256 -i "$MSG" -o "$T/poll.sig"
check "P11AGENT_BUSY_POLL=1000: it verifies" \
	ossl dgst -sha256 -verify "$T/ec256.pem" -signature "$T/poll.sig" "$MSG"
P11AGENT_BUSY_POLL=junk check "P11AGENT_BUSY_POLL=junk is ignored" p11a ping
stop_agent

# --- socket-group -----------------------------------------------------------
GROUP=$(id -gn)
SOCK=$T/run/agent.sock
printf 'socket-group = %s\n' "$GROUP" >"$T/group.conf"
start_agent --config "$T/group.conf" || finish
MODE=$(stat -c '%a %G' "$SOCK")
if [ "$MODE" = "660 $GROUP" ]; then
	pass "socket-group: socket mode 0660, group $GROUP"
else
	fail "socket-group: socket mode 0660, group $GROUP" "got $MODE"
fi
MODE=$(stat -c '%a %G' "$T/run")
if [ "$MODE" = "710 $GROUP" ]; then
	pass "socket-group: new directory mode 0710, group $GROUP"
else
	fail "socket-group: new directory mode 0710, group $GROUP" "got $MODE"
fi
check "socket-group: the agent serves" p11a ping
stop_agent
printf 'socket-group = no-such-group-p11agent\n' >"$T/group.conf"
SOCK=$T/run2/agent.sock
run timeout 20 "$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" \
	--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$SOCK" \
	--config "$T/group.conf"
if [ "$RC" -ne 0 ] && grep -q "no-such-group-p11agent" "$ERR"; then
	pass "socket-group: an unknown group stops the agent (exit $RC)"
else
	fail "socket-group: an unknown group stops the agent" "exit $RC: $(show "$ERR")"
fi
finish

#!/bin/sh
# test-notify.sh: p11agentd under a service manager that waits for it
# (Type=notify, sd_notify(3)): READY=1 comes only once the token is logged in
# and indexed (a slow C_Login holds it back), with a STATUS= line saying what
# is served; a SIGHUP gives RELOADING=1 then READY=1; a token that goes away
# and comes back gives STATUS= lines for both; SIGTERM gives STOPPING=1 before
# the agent exits; p11agent status shows the token away and back as well.
# The service manager's end is tests/notify-listener.py.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools timeout python3 date
FAULTMOD=$top_builddir/tests/.libs/libfaultmod.so
[ -f "$FAULTMOD" ] || {
	echo "ERROR: $FAULTMOD is not built"
	exit 99
}
make_token "$KEY_EC256"
CONTROL=$T/faults
FAULTMOD_MODULE=$SOFTHSM_MODULE
FAULTMOD_CONTROL=$CONTROL
export FAULTMOD_MODULE FAULTMOD_CONTROL
NLOG=$T/notify.log
MSG=$T/msg
printf 'signed once the service manager was told\n' >"$MSG"
: >"$NLOG"

# inject RULE...: replaces the fault module's control file.
inject() {
	printf '%s\n' "$@" >"$CONTROL.new" && mv -f "$CONTROL.new" "$CONTROL"
}

# wait_notify ERE [TENTHS]: waits until a message matching ERE is in the log
# (20 s at most); prints its line.
wait_notify() {
	local i
	for i in $(seq "${2:-200}"); do
		if grep -Eq -- "$1" "$NLOG"; then
			grep -E -- "$1" "$NLOG" | head -n 1
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# notify_count ERE: how many messages match.
notify_count() {
	grep -Ec -- "$1" "$NLOG" || true
}

timeout -k 2 120 python3 "$top_srcdir/tests/notify-listener.py" "$T/notify.sock" "$NLOG" 100 &
LISTENER=$!
for _ in $(seq 50); do
	[ -S "$T/notify.sock" ] && break
	sleep 0.1
done
[ -S "$T/notify.sock" ] || die "the notify listener did not bind $T/notify.sock"

# --- READY=1 only once the token is ready ---------------------------------------------------
inject "slow C_Login 1500"
START=$(date +%s%3N)
# No --foreground: a service manager that waits for READY=1 watches this very process.
NOTIFY_SOCKET=$T/notify.sock "$P11AGENTD" --module "$FAULTMOD" \
	--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$SOCK" \
	--log-level debug </dev/null >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
if line=$(wait_notify '(^| |\|)READY=1(\||$)'); then
	at=${line%% *}
	if [ $((at - START)) -ge 1500 ]; then
		pass "READY=1 after the slow login ($((at - START)) ms after start)"
	else
		fail "READY=1 after the slow login" "it came $((at - START)) ms after start"
	fi
	if kill -0 "$AGENT_PID" 2>/dev/null && [ -z "$(pgrep -P "$AGENT_PID" 2>/dev/null)" ]; then
		pass "NOTIFY_SOCKET set: the agent stays in the foreground without --foreground"
	else
		fail "NOTIFY_SOCKET set: the agent stays in the foreground" "pid $AGENT_PID exited or forked"
	fi
	# Ready means ready: the first request is served at once, with the token logged in.
	check "at READY=1 the agent signs" p11a sign ec256 -i "$MSG" -o "$T/sig"
	check "pubkey" p11a pubkey ec256
	cp "$OUT" "$T/ec256.pem"
	check "openssl verifies the signature" ossl dgst -sha256 -verify "$T/ec256.pem" \
		-signature "$T/sig" "$MSG"
	case $line in
	*"STATUS=serving 1 keys on $SOCK"*) pass "READY=1 comes with STATUS=serving 1 keys on the socket" ;;
	*) fail "READY=1 comes with a STATUS= line" "got: $line" ;;
	esac
	n=$(notify_count 'READY=1')
	if [ "$n" -eq 1 ]; then pass "one READY=1 at start"; else fail "one READY=1 at start" "$n"; fi
else
	fail "READY=1 arrives" "none in 20 s; log: $(show "$T/agent.log")"
fi
inject ""

# --- SIGHUP: RELOADING=1, then READY=1 again ------------------------------------------------
kill -HUP "$AGENT_PID"
if wait_notify 'RELOADING=1' >/dev/null && wait_notify 'READY=1.*reloaded|reloaded.*READY=1|STATUS=serving 1 keys \(reloaded\)' >/dev/null; then
	r=$(grep -n 'RELOADING=1' "$NLOG" | head -n 1 | cut -d: -f1)
	s=$(grep -n 'READY=1' "$NLOG" | sed -n 2p | cut -d: -f1)
	if [ -n "$s" ] && [ "$s" -gt "$r" ]; then
		pass "SIGHUP: RELOADING=1, then READY=1"
	else
		fail "SIGHUP: RELOADING=1, then READY=1" "$(tr '\n' ' ' <"$NLOG")"
	fi
else
	fail "SIGHUP: RELOADING=1 and READY=1" "got: $(tr '\n' ' ' <"$NLOG")"
fi
check "after the reload the agent signs" p11a sign ec256 -i "$MSG" -o "$T/sig"

# --- the token goes away and comes back: STATUS= lines --------------------------------------
inject "removed"
run p11a sign ec256 -i "$MSG" -o "$T/sig"
if [ "$RC" -ne 0 ]; then pass "token removed: the sign fails (exit $RC)"; else
	fail "token removed: the sign fails" "exit 0"; fi
if wait_notify 'STATUS=token away' >/dev/null; then
	pass "STATUS= says the token is away"
else
	fail "STATUS= says the token is away" "got: $(tr '\n' ' ' <"$NLOG")"
fi
# p11agent status says the same: the token away, and the recovery counted.
check "token away: p11agent status --json" p11a status --json
if python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["token"]; sys.exit(not (t["state"] in ("away", "recovering") and t["recoveries"] >= 1))' "$OUT"; then
	pass "status --json: the token away, a recovery counted"
else
	fail "status --json: the token away, a recovery counted" "$(show "$OUT")"
fi
inject ""
if wait_notify 'STATUS=token ready' >/dev/null; then
	pass "STATUS= says the token is back"
else
	fail "STATUS= says the token is back" "got: $(tr '\n' ' ' <"$NLOG")"
fi
check "the token back: the agent signs" p11a sign ec256 -i "$MSG" -o "$T/sig"
check "token back: p11agent status --json" p11a status --json
if python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["token"]; sys.exit(not (t["state"] == "ready" and t["recoveries"] >= 1))' "$OUT"; then
	pass "status --json: the token ready again, the recovery still counted"
else
	fail "status --json: the token ready again" "$(show "$OUT")"
fi

# --- SIGTERM: STOPPING=1 before the agent exits ---------------------------------------------
kill -TERM "$AGENT_PID"
for _ in $(seq 100); do
	kill -0 "$AGENT_PID" 2>/dev/null || break
	sleep 0.1
done
wait "$AGENT_PID" 2>/dev/null
rc=$?
AGENT_PID=
if [ "$rc" -eq 0 ]; then pass "SIGTERM: the agent exits 0"; else fail "SIGTERM: the agent exits 0" "exit $rc"; fi
if wait_notify 'STOPPING=1' 30 >/dev/null; then
	pass "SIGTERM: STOPPING=1 was sent"
else
	fail "SIGTERM: STOPPING=1 was sent" "got: $(tr '\n' ' ' <"$NLOG")"
fi
wait "$LISTENER" 2>/dev/null

# --- no service manager: nothing is sent, nothing fails ---------------------------------------
if start_agent; then
	check "without NOTIFY_SOCKET the agent serves" p11a sign ec256 -i "$MSG" -o "$T/sig"
	stop_agent
	if [ "$AGENT_RC" = 0 ]; then pass "without NOTIFY_SOCKET: exits 0"; else
		fail "without NOTIFY_SOCKET: exits 0" "exit $AGENT_RC"; fi
fi
if grep -q 'cannot tell the service manager' "$T/agent.log"; then
	fail "no warning about the service manager" "$(grep 'service manager' "$T/agent.log")"
else
	pass "no warning about the service manager"
fi
finish

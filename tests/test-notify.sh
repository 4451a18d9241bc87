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

# listen NAME: a new service manager's end at $T/NAME.sock, its log in NLOG
# (the listener exits after STOPPING=1); NSOCK is its socket.
listen() {
	NSOCK=$T/$1.sock
	NLOG=$T/$1.log
	: >"$NLOG"
	timeout -k 2 120 python3 "$top_srcdir/tests/notify-listener.py" "$NSOCK" "$NLOG" 100 &
	LISTENER=$!
	for _ in $(seq 50); do
		[ -S "$NSOCK" ] && return 0
		sleep 0.1
	done
	die "the notify listener did not bind $NSOCK"
}

# C_Login calls the fault module saw.
CALLS=$T/calls
FAULTMOD_LOG=$CALLS
export FAULTMOD_LOG
logins() {
	grep -c '^C_Login$' "$CALLS" 2>/dev/null || true
}

listen notify

# managed_agent: the agent on the fault module, told NOTIFY_SOCKET=$NSOCK.
managed_agent() {
	NOTIFY_SOCKET=$NSOCK "$P11AGENTD" --module "$FAULTMOD" --token "pkcs11:token=$TOKEN" \
		--pin-source "file:$PIN_FILE" --socket "$SOCK" --log-level debug \
		</dev/null >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
}

# stop_managed NAME CODE: SIGTERM; the agent exits CODE within 10 s; then the
# listener, which ends after STOPPING=1, has the whole story.
stop_managed() {
	kill -TERM "$AGENT_PID"
	for _ in $(seq 100); do
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$AGENT_PID" 2>/dev/null
	rc=$?
	AGENT_PID=
	if [ "$rc" -eq "$2" ]; then pass "$1: SIGTERM, exit $2"; else fail "$1: SIGTERM, exit $2" "exit $rc"; fi
	wait "$LISTENER" 2>/dev/null
}

# notified NAME ERE: passes when a message matching ERE comes (wait_notify).
notified() {
	if wait_notify "$2" >/dev/null; then
		pass "$1"
	else
		fail "$1" "got: $(tr '\n' ' ' <"$NLOG")"
	fi
}

# --- READY=1 only once the token is ready ---------------------------------------------------
inject "slow C_Login 1500"
START=$(date +%s%3N)
# No --foreground: a service manager that waits for READY=1 watches this very process.
managed_agent
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
for _ in $(seq 100); do
	[ "$(notify_count '(^| |\|)READY=1(\||$)')" -ge 2 ] && break
	sleep 0.1
done
if wait_notify 'RELOADING=1' >/dev/null && [ "$(notify_count '(^| |\|)READY=1(\||$)')" -ge 2 ]; then
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
notified "STATUS= says the token is away" 'STATUS=token away'
# p11agent status says the same: the token away, and the recovery counted.
check "token away: p11agent status --json" p11a status --json
if python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["token"]; sys.exit(not (t["state"] in ("away", "recovering") and t["recoveries"] >= 1))' "$OUT"; then
	pass "status --json: the token away, a recovery counted"
else
	fail "status --json: the token away, a recovery counted" "$(show "$OUT")"
fi
inject ""
notified "STATUS= says the token is back" 'STATUS=token ready'
check "the token back: the agent signs" p11a sign ec256 -i "$MSG" -o "$T/sig"
check "token back: p11agent status --json" p11a status --json
if python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["token"]; sys.exit(not (t["state"] == "ready" and t["recoveries"] >= 1))' "$OUT"; then
	pass "status --json: the token ready again, the recovery still counted"
else
	fail "status --json: the token ready again" "$(show "$OUT")"
fi

# --- SIGTERM: STOPPING=1 before the agent exits ---------------------------------------------
stop_managed "the agent" 0
notified "SIGTERM: STOPPING=1 was sent" 'STOPPING=1'

# --- a PIN refused at the start: held, never tried again ------------------------------------
# A service manager would start the agent again at the next client (socket
# activation) and the PIN be tried until the token locks: the agent stays,
# refuses every client, and tries nothing again.
listen refused-start
inject "C_Login CKR_PIN_INCORRECT *"
: >"$CALLS"
managed_agent
if line=$(wait_notify 'READY=1'); then
	case $line in
	*"STATUS=PIN refused"*) pass "PIN refused at the start: READY=1 with STATUS=PIN refused" ;;
	*) fail "PIN refused at the start: STATUS= says so" "$line" ;;
	esac
	for i in 1 2 3; do
		run p11a ping
		if [ "$RC" -eq 6 ] && grep -q "refused the PIN when the agent started.*does not try it again" "$ERR"; then
			pass "PIN refused at the start: client $i refused, exit 6, '$(head -n 1 "$ERR" | cut -c1-90)...'"
		else
			fail "PIN refused at the start: client $i refused with TOKEN_UNAVAILABLE" "exit $RC: $(show "$ERR")"
		fi
	done
	if [ "$(logins)" -eq 1 ]; then pass "PIN refused at the start: one C_Login, none after"; else
		fail "PIN refused at the start: one C_Login" "$(logins) calls"; fi
	if kill -0 "$AGENT_PID" 2>/dev/null; then pass "PIN refused at the start: the agent holds its socket"; else
		fail "PIN refused at the start: the agent holds its socket" "it exited"; fi
	stop_managed "PIN refused at the start" 1
else
	fail "PIN refused at the start: READY=1" "none; log: $(tail -n 5 "$T/agent.log")"
fi
inject ""

# --- a PIN refused at a new login: the token held, never tried again ------------------------
listen refused-later
managed_agent
if wait_notify 'READY=1' >/dev/null; then
	: >"$CALLS"
	inject "loggedout" "C_Login CKR_PIN_INCORRECT *"
	for i in 1 2 3; do
		run p11a sign ec256 -i "$MSG" -o "$T/sig"
		if [ "$RC" -eq 6 ] && grep -q "refused the PIN: the agent does not try it again" "$ERR"; then
			pass "PIN refused at a new login: sign $i fails, exit 6, saying why"
		else
			fail "PIN refused at a new login: sign $i fails with TOKEN_UNAVAILABLE" "exit $RC: $(show "$ERR")"
		fi
	done
	if [ "$(logins)" -eq 1 ]; then pass "PIN refused at a new login: one C_Login, none after"; else
		fail "PIN refused at a new login: one C_Login" "$(logins) calls"; fi
	notified "PIN refused at a new login: STATUS= says so" 'STATUS=token PIN refused'
	check "PIN refused at a new login: p11agent status --json still answers" p11a status --json
	if python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["token"]["state"] != "away")' "$OUT"; then
		pass "PIN refused at a new login: status says the token is away"
	else
		fail "PIN refused at a new login: status says the token is away" "$(show "$OUT")"
	fi
	if kill -0 "$AGENT_PID" 2>/dev/null; then pass "PIN refused at a new login: the agent stays"; else
		fail "PIN refused at a new login: the agent stays" "it exited"; fi
	stop_managed "PIN refused at a new login" 0
else
	fail "PIN refused at a new login: READY=1" "none; log: $(tail -n 5 "$T/agent.log")"
fi
inject ""

# --- NOTIFY_SOCKET inherited from another service: not ours ---------------------------------
# SYSTEMD_EXEC_PID names the process systemd started; a NOTIFY_SOCKET beside
# another pid's is that service's, and the agent neither tells it anything nor
# stays in the foreground for it.
listen inherited
run env NOTIFY_SOCKET="$NSOCK" SYSTEMD_EXEC_PID=1 timeout -k 2 30 "$P11AGENTD" -s \
	--module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" \
	--socket "$SOCK"
DPID=$(sed -n 's/^P11AGENT_PID=\([0-9]*\); export P11AGENT_PID;$/\1/p' "$OUT")
if [ "$RC" -eq 0 ] && [ -n "$DPID" ]; then
	AGENT_PIDS="$AGENT_PIDS $DPID"
	pass "an inherited NOTIFY_SOCKET: the agent goes to the background as usual"
	check "it serves" p11a sign ec256 -i "$MSG" -o "$T/sig"
	sleep 0.3
	if [ ! -s "$NLOG" ]; then pass "an inherited NOTIFY_SOCKET: nothing sent to it"; else
		fail "an inherited NOTIFY_SOCKET: nothing sent to it" "$(cat "$NLOG")"; fi
	kill -TERM "$DPID"
	for _ in $(seq 100); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
else
	fail "an inherited NOTIFY_SOCKET: the agent goes to the background" "exit $RC: $(show "$ERR")"
fi
kill "$LISTENER" 2>/dev/null
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

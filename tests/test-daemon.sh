#!/bin/sh
# test-daemon.sh: p11agentd's start-up and shutdown: socket and directory
# modes, PIN sources, token selection, config file, SIGTERM, daemon mode.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools timeout stat
# A PIN that is easy to look for in messages and logs.
mkdir -p "$T/token"
PIN=pin-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PIN" >"$T/token/pin"
make_token "$KEY_EC256"

# no_pin NAME FILE...: passes when none of the files holds the PIN.
no_pin() {
	local name=$1
	shift
	if grep -qF -- "$PIN" "$@" 2>/dev/null; then
		fail "$name" "the PIN appears in $*"
	else
		pass "$name"
	fi
}

# agent_fails NAME ARGS...: p11agentd with ARGS must exit non-zero within 10 s
# without creating a socket; its stderr is in $ERR.
agent_fails() {
	local name=$1
	shift
	timeout -k 2 10 "$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" \
		--socket "$T/fail.sock" --log-level debug "$@" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		fail "$name" "p11agentd still running after 10 s"
	elif [ "$RC" -eq 0 ]; then
		fail "$name" "p11agentd exited 0"
	elif [ -S "$T/fail.sock" ]; then
		fail "$name" "a socket was left at $T/fail.sock"
	else
		pass "$name (exit $RC)"
	fi
	rm -f "$T/fail.sock"
}

# --- socket and directory modes ----------------------------------------------
SOCK=$T/run/agent.sock
if start_agent; then
	pass "starts with a missing socket directory"
	check_rc "ping" 0 p11a ping
	mode=$(stat -c %a "$SOCK")
	if [ "$mode" = 600 ]; then pass "socket mode 0600"; else fail "socket mode 0600" "mode $mode"; fi
	mode=$(stat -c %a "$T/run")
	if [ "$mode" = 700 ]; then pass "socket directory mode 0700"; else
		fail "socket directory mode 0700" "mode $mode"; fi
	# A second agent on the same live socket is refused and leaves it alone.
	agent_fails "second agent on a live socket refused" --token "pkcs11:token=$TOKEN" \
		--pin-source "file:$PIN_FILE" --socket "$SOCK"
	check_rc "first agent still serves" 0 p11a ping
	stop_agent
	if [ "$AGENT_RC" = 0 ]; then pass "SIGTERM: exit 0"; else fail "SIGTERM: exit 0" "exit $AGENT_RC"; fi
	if [ -e "$SOCK" ]; then fail "SIGTERM: socket removed" "$SOCK is still there"; else
		pass "SIGTERM: socket removed"; fi
fi
# SIGINT, too.
SOCK=$T/agent.sock
if start_agent; then
	kill -INT "$AGENT_PID"
	for i in $(seq 100); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$AGENT_PID"
	RC=$?
	AGENT_PID=
	if [ "$RC" -eq 0 ] && [ ! -e "$SOCK" ]; then pass "SIGINT: exit 0, socket removed"; else
		fail "SIGINT: exit 0, socket removed" "exit $RC"; fi
fi

# --- a stale socket (agent killed) is replaced ------------------------------------
if start_agent; then
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	if [ -S "$SOCK" ] && start_agent; then
		pass "stale socket replaced"
		check_rc "ping after stale socket" 0 p11a ping
		stop_agent
	else
		fail "stale socket replaced" "could not start over a stale socket"
	fi
fi

# --- PIN sources ---------------------------------------------------------------------
chmod 0644 "$PIN_FILE"
agent_fails "PIN file mode 0644 refused" --token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE"
check_err "PIN file mode 0644: message names the file" "$PIN_FILE"
check_err "PIN file mode 0644: message says why" 'mode|permission|readable|group|others'
no_pin "PIN file mode 0644: message hides the PIN" "$ERR" "$OUT"
chmod 0640 "$PIN_FILE"
agent_fails "PIN file mode 0640 refused" --token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE"
chmod 0600 "$PIN_FILE"
agent_fails "missing PIN file" --token "pkcs11:token=$TOKEN" --pin-source "file:$T/no-such-pin"
check_err "missing PIN file: message names the file" "$T/no-such-pin"

printf 'wrong-pin-0\n' >"$T/wrong-pin"
chmod 0600 "$T/wrong-pin"
agent_fails "wrong PIN" --token "pkcs11:token=$TOKEN" --pin-source "file:$T/wrong-pin"
check_err "wrong PIN: message" 'CKR_PIN_INCORRECT|PIN'
no_pin "wrong PIN: message hides the PIN" "$ERR" "$OUT"
if grep -qF 'wrong-pin-0' "$ERR" "$OUT"; then
	fail "wrong PIN: message hides the wrong PIN" "it is in the message"
else
	pass "wrong PIN: message hides the wrong PIN"
fi

# env:VAR
export P11A_TEST_PIN="$PIN"
"$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN" \
	--pin-source env:P11A_TEST_PIN --socket "$SOCK" --log-level debug \
	</dev/null >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
unset P11A_TEST_PIN
if wait_socket "$SOCK" "$AGENT_PID"; then
	pass "env: PIN source"
	check_rc "env: PIN source: ping" 0 p11a ping
	check_rc "env: PIN source: sign" 0 p11a sign ec256 -i "$PIN_FILE" -o "$T/sig"
	stop_agent
else
	fail "env: PIN source" "no socket; log: $(tail -n 3 "$T/agent.log" | tr '\n' ' ')"
fi
agent_fails "env: PIN source, variable unset" --token "pkcs11:token=$TOKEN" \
	--pin-source env:P11A_NO_SUCH_VARIABLE
check_err "env: PIN source, variable unset: message" 'variable is not set'
# The PIN typed where its source belongs is refused and never echoed: not on
# stderr, not in argv (it is in a config file here).
for kind in env file; do
	printf 'pin-source = %s:%s\n' "$kind" "$(cat "$PIN_FILE")" >"$T/pin-typo.conf"
	chmod 600 "$T/pin-typo.conf"
	agent_fails "pin-source = $kind:<the PIN> refused" --token "pkcs11:token=$TOKEN" \
		--config "$T/pin-typo.conf"
	if grep -qF -- "$(cat "$PIN_FILE")" "$ERR" "$OUT"; then
		fail "pin-source = $kind:<the PIN>: not echoed" "the PIN is in the agent's output"
	else
		pass "pin-source = $kind:<the PIN>: not echoed"
	fi
done
rm -f "$T/pin-typo.conf"

# pin-source in the token URI
"$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" \
	--token "pkcs11:token=$TOKEN?pin-source=$PIN_FILE" --socket "$SOCK" --log-level debug \
	</dev/null >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
if wait_socket "$SOCK" "$AGENT_PID"; then
	pass "pin-source in the token URI"
	check_rc "pin-source in the token URI: sign" 0 p11a sign ec256 -i "$PIN_FILE" -o "$T/sig"
	stop_agent
else
	fail "pin-source in the token URI" "no socket; log: $(tail -n 3 "$T/agent.log" | tr '\n' ' ')"
fi

# --- token selection ---------------------------------------------------------------
agent_fails "unknown token" --token "pkcs11:token=no-such-token" --pin-source "file:$PIN_FILE"
check_err "unknown token: message lists the tokens seen" "$TOKEN"
agent_fails "unknown module" --token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" \
	--module "$T/no-such-module.so"
check_err "unknown module: message names it" "no-such-module"
agent_fails "bad token URI" --token "not-a-uri" --pin-source "file:$PIN_FILE"

# --- the config file -------------------------------------------------------------------
cat >"$T/p11agent.conf" <<EOF
# p11agentd test configuration
module = $SOFTHSM_MODULE
token = pkcs11:token=$TOKEN

pin-source = file:$PIN_FILE
socket = $SOCK
log-level = debug
EOF
timeout -k 2 60 "$P11AGENTD" --config "$T/p11agent.conf" --foreground \
	</dev/null >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
if wait_socket "$SOCK" "$AGENT_PID"; then
	pass "config file"
	check_rc "config file: ping" 0 p11a ping
	stop_agent
else
	fail "config file" "no socket; log: $(tail -n 3 "$T/agent.log" | tr '\n' ' ')"
fi
printf 'module = %s\n# comment\nno-such-key = 1\n' "$SOFTHSM_MODULE" >"$T/bad.conf"
agent_fails "config file with an unknown key" --config "$T/bad.conf"
check_err "config error names the file and line" "bad.conf:3"
agent_fails "missing config file" --config "$T/no-such.conf"
agent_fails "unknown option" --no-such-option

# --- daemon mode (no --foreground) ----------------------------------------------------
SOCK=$T/daemon.sock
if SHELL=/bin/sh timeout -k 2 20 "$P11AGENTD" --module "$SOFTHSM_MODULE" \
	--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$SOCK" \
	</dev/null >"$OUT" 2>"$ERR"; then
	pass "daemon mode: the command returns 0"
	# The pid the agent printed for the shell (P11AGENT_PID=N; export P11AGENT_PID;).
	DPID=$(sed -n 's/^P11AGENT_PID=\([0-9]*\); export P11AGENT_PID;$/\1/p' "$OUT")
	cp "$OUT" "$T/daemon.out"
	check_rc "daemon mode: ping" 0 p11a ping
	if [ -n "$DPID" ] && [ "$(cat "/proc/$DPID/comm" 2>/dev/null)" = p11agentd ]; then
		AGENT_PIDS="$AGENT_PIDS $DPID"
		kill -TERM "$DPID"
		for i in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$DPID" 2>/dev/null; then
			fail "daemon mode: SIGTERM" "still running"
		elif [ -e "$SOCK" ]; then
			fail "daemon mode: SIGTERM" "socket left behind"
		else
			pass "daemon mode: SIGTERM"
		fi
	else
		fail "daemon mode: P11AGENT_PID printed" "stdout: $(show "$T/daemon.out")"
		# Stop it all the same: found by its socket path, unique to this test.
		for p in /proc/[0-9]*; do
			case $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) in
			*p11agentd*"$SOCK"*) kill -TERM "${p#/proc/}" ;;
			esac
		done
	fi
else
	fail "daemon mode: the command returns 0" "exit $?; stderr: $(show "$ERR")"
fi

no_pin "the PIN is in no log" "$T/agent.log"
finish

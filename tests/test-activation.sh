#!/bin/sh
# test-activation.sh: p11agentd on sockets a service manager made and passed
# (socket activation, sd_listen_fds(3)), started by systemd-socket-activate as
# systemd starts it from p11agentd.socket and p11agentd-ssh.socket: both
# sockets, named 'agent' and 'ssh', are served (a signature checked by
# OpenSSL, the SSH agent's key list by ssh-add), in the foreground, and left
# in place at exit for their owner. A single unnamed socket is the native one.
# LISTEN_* meant for another process (LISTEN_PID) are ignored: the agent makes
# its own socket and never serves the passed one. Descriptors that are not
# listening Unix stream sockets, an unknown name and a name given twice stop
# the agent with exit 1 and a message that says what to fix.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools timeout python3 systemd-socket-activate ssh-add
make_token "$KEY_EC256"
MSG=$T/msg
printf 'signed on a socket systemd made\n' >"$MSG"
LISTEN_FDS_PY=$top_srcdir/tests/listen-fds.py
RUN=$T/run
mkdir -m 0700 "$RUN"
AGENT_ARGS=(--module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN"
	--pin-source "file:$PIN_FILE" --log-level debug)

# activate NAME ARGS...: systemd-socket-activate ARGS... p11agentd
# AGENT_ARGS in the background; AGENT_PID is its pid, which p11agentd keeps
# (it is exec'ed at the first connection).
activate() {
	systemd-socket-activate -E SOFTHSM2_CONF -E ASAN_OPTIONS -E LSAN_OPTIONS -E UBSAN_OPTIONS \
		"$@" "$P11AGENTD" "${AGENT_ARGS[@]}" </dev/null >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
	for _ in $(seq 50); do
		[ -S "$RUN/agent.sock" ] && return 0
		sleep 0.1
	done
	return 1
}

# agent_exe: the program AGENT_PID runs now.
agent_exe() {
	basename "$(readlink "/proc/$AGENT_PID/exe" 2>/dev/null)"
}

# --- both sockets, named ----------------------------------------------------------------------
if activate -l "$RUN/agent.sock" -l "$RUN/ssh.sock" --fdname=agent:ssh; then
	pass "systemd-socket-activate listens on both sockets"
	SOCK=$RUN/agent.sock
	# The first connection starts the agent; it answers on the same socket.
	check "the first connection is served" p11a ping
	case $(agent_exe) in
	p11agentd | lt-p11agentd) pass "p11agentd runs in systemd-socket-activate's place (pid $AGENT_PID)" ;;
	*) fail "p11agentd runs in systemd-socket-activate's place" "pid $AGENT_PID runs $(agent_exe)" ;;
	esac
	check "pubkey on the passed socket" p11a pubkey ec256
	cp "$OUT" "$T/ec256.pem"
	check "sign on the passed socket" p11a sign ec256 -i "$MSG" -o "$T/sig"
	check "openssl verifies the signature" ossl dgst -sha256 -verify "$T/ec256.pem" \
		-signature "$T/sig" "$MSG"
	run env SSH_AUTH_SOCK="$RUN/ssh.sock" timeout 10 ssh-add -L
	if [ "$RC" -eq 0 ] && grep -q '^ecdsa-sha2-nistp256 ' "$OUT"; then
		pass "ssh-add -L on the passed SSH socket lists the key"
	else
		fail "ssh-add -L on the passed SSH socket lists the key" "exit $RC: $(show "$OUT") $(show "$ERR")"
	fi
	if grep -q "serving 1 keys on $RUN/agent.sock" "$T/agent.log"; then
		pass "the log names the passed socket"
	else
		fail "the log names the passed socket" "$(tail -n 5 "$T/agent.log")"
	fi
	# Activated means the foreground: no fork, no shell lines.
	if [ -z "$(pgrep -P "$AGENT_PID" 2>/dev/null)" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
		pass "runs in the foreground without --foreground"
	else
		fail "runs in the foreground without --foreground" "pid $AGENT_PID gone or forked"
	fi
	stop_agent
	if [ "$AGENT_RC" = 0 ]; then pass "SIGTERM: exits 0"; else fail "SIGTERM: exits 0" "exit $AGENT_RC"; fi
	if [ -S "$RUN/agent.sock" ] && [ -S "$RUN/ssh.sock" ]; then
		pass "the passed sockets are left to their owner"
	else
		fail "the passed sockets are left to their owner" "$(ls -l "$RUN")"
	fi
	rm -f "$RUN/agent.sock" "$RUN/ssh.sock"
else
	fail "systemd-socket-activate listens on both sockets" "$(show "$T/agent.log")"
fi

# --- one socket, no name: the native protocol ---------------------------------------------------
if activate -l "$RUN/agent.sock"; then
	SOCK=$RUN/agent.sock
	check "one unnamed socket is the native one: sign" p11a sign ec256 -i "$MSG" -o "$T/sig"
	check "one unnamed socket: openssl verifies" ossl dgst -sha256 -verify "$T/ec256.pem" \
		-signature "$T/sig" "$MSG"
	stop_agent
	rm -f "$RUN/agent.sock"
else
	fail "one unnamed socket: systemd-socket-activate listens" "$(tail -n 5 "$T/agent.log")"
fi

# --- the config's ssh-socket and a passed native socket: the agent makes the SSH one ----------
BASE_ARGS=("${AGENT_ARGS[@]}")
AGENT_ARGS+=(--ssh-socket "$RUN/own-ssh.sock")
if activate -l "$RUN/agent.sock" --fdname=agent; then
	SOCK=$RUN/agent.sock
	check "only the native socket passed: served" p11a ping
	run env SSH_AUTH_SOCK="$RUN/own-ssh.sock" timeout 10 ssh-add -L
	if [ "$RC" -eq 0 ] && grep -q '^ecdsa-sha2-nistp256 ' "$OUT"; then
		pass "the SSH socket the config names is made by the agent"
	else
		fail "the SSH socket the config names is made by the agent" "exit $RC: $(show "$ERR")"
	fi
	stop_agent
	if [ ! -e "$RUN/own-ssh.sock" ] && [ -S "$RUN/agent.sock" ]; then
		pass "at exit its own socket is removed, the passed one left"
	else
		fail "at exit its own socket is removed, the passed one left" "$(ls "$RUN")"
	fi
	rm -f "$RUN/agent.sock"
else
	fail "only the native socket passed: systemd-socket-activate listens" "$(tail -n 5 "$T/agent.log")"
fi
AGENT_ARGS=("${BASE_ARGS[@]}")

# --- LISTEN_PID of another process: ignored ---------------------------------------------------
python3 "$LISTEN_FDS_PY" --pid other --names agent "$RUN/other.sock" -- \
	"$P11AGENTD" --foreground "${AGENT_ARGS[@]}" --socket "$RUN/own.sock" \
	</dev/null >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
if wait_socket "$RUN/own.sock" "$AGENT_PID"; then
	pass "LISTEN_PID of another process: the agent makes its own socket and serves it"
	SOCK=$RUN/other.sock
	run timeout 3 "$P11AGENT" -S "$RUN/other.sock" ping
	if [ "$RC" -ne 0 ]; then
		pass "LISTEN_PID of another process: the passed socket is not served (exit $RC)"
	else
		fail "LISTEN_PID of another process: the passed socket is not served" "ping answered"
	fi
	SOCK=$RUN/own.sock
	stop_agent
else
	fail "LISTEN_PID of another process: the agent makes its own socket" "$(tail -n 5 "$T/agent.log")"
fi
rm -f "$RUN/other.sock"

# --- what a service manager must not pass: exit 1 and a message ---------------------------------
# refused NAME ERE LISTEN-FDS-ARGS...: the agent, given those sockets, exits 1
# within 10 s, saying ERE on stderr.
refused() {
	local name=$1 ere=$2
	shift 2
	timeout -k 2 10 python3 "$LISTEN_FDS_PY" "$@" -- "$P11AGENTD" "${AGENT_ARGS[@]}" \
		--socket "$RUN/fallback.sock" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
	if [ "$RC" -eq 1 ] && grep -Eq -- "$ere" "$ERR"; then
		pass "$name: exit 1, '$(head -n 1 "$ERR" | cut -c1-110)'"
	else
		fail "$name" "exit $RC, stderr: $(show "$ERR")"
	fi
	if [ -e "$RUN/fallback.sock" ]; then
		fail "$name: no socket of its own made" "$RUN/fallback.sock is there"
	fi
	rm -f "$RUN"/*.sock
}
refused "an unknown name" "descriptor 3 is named 'bogus'.*FileDescriptorName=" \
	--names bogus:ssh "$RUN/a.sock" "$RUN/b.sock"
refused "a name given twice" "two descriptors are named 'agent'" \
	--names agent:agent "$RUN/a.sock" "$RUN/b.sock"
refused "fewer names than descriptors" "LISTEN_FDNAMES|malformed" \
	--names agent "$RUN/a.sock" "$RUN/b.sock"
refused "five sockets" "5 sockets passed, at most 4" \
	--names a:b:c:d:e "$RUN/a.sock" "$RUN/b.sock" "$RUN/c.sock" "$RUN/d.sock" "$RUN/e.sock"
refused "a malformed LISTEN_PID" "LISTEN_PID|malformed" --pid 12x "$RUN/a.sock"

# A descriptor that is a file, not a socket: LISTEN_PID set by the shell that execs.
timeout -k 2 10 sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=agent; export LISTEN_PID LISTEN_FDS LISTEN_FDNAMES; exec "$@" 3<"'"$MSG"'"' \
	sh "$P11AGENTD" "${AGENT_ARGS[@]}" --socket "$RUN/fallback.sock" </dev/null >"$OUT" 2>"$ERR"
RC=$?
if [ "$RC" -eq 1 ] && grep -q "descriptor 3 (agent) is not a Unix stream socket" "$ERR"; then
	pass "a file passed as a socket: exit 1, '$(head -n 1 "$ERR" | cut -c1-100)'"
else
	fail "a file passed as a socket" "exit $RC, stderr: $(show "$ERR")"
fi
finish

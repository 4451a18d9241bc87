#!/bin/sh
# test-startup.sh: p11agentd started and stopped as ssh-agent is: the shell
# lines it prints in the background (sh and csh syntax, eval'ed by a real
# shell), -k and the checks it makes before it kills, --pidfile, the private
# socket directory used when XDG_RUNTIME_DIR is unset, and the usage line.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools timeout setpriv
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: test-startup.sh needs root, to check -k against another uid's agent"
	exit 77
fi
make_token "$KEY_EC256"
OTHER_UID=54400

# A config with the socket in a directory whose name has a space and a quote.
SDIR="$T/a b'c"
CONF=$T/p11agent.conf
cat >"$CONF" <<EOF
module = $SOFTHSM_MODULE
token = pkcs11:token=$TOKEN
pin-source = file:$PIN_FILE
log-level = debug
EOF
chmod 600 "$CONF"

# comm_of PID: the process's name, or "" when there is none.
comm_of() {
	cat "/proc/$1/comm" 2>/dev/null
}

# gone PID: waits (10 s at most) until PID has exited; returns 1 if it has not.
gone() {
	local i
	for i in $(seq 100); do
		[ -d "/proc/$1" ] || return 0
		[ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = Z ] && return 0
		sleep 0.1
	done
	return 1
}

# track: remembers the agent named in $OUT, so that it is stopped at exit.
track() {
	local pid
	pid=$(sed -n 's/^P11AGENT_PID=\([0-9]*\);.*/\1/p; s/^setenv P11AGENT_PID \([0-9]*\);.*/\1/p' \
		"$OUT" | head -n 1)
	[ -n "$pid" ] && AGENT_PIDS="$AGENT_PIDS $pid"
}

# --- sh syntax, eval'ed by sh --------------------------------------------------------
cat >"$T/sh-start" <<'EOF'
eval "$("$P11AGENTD" -s --config "$CONF" --socket "$SDIR/agent.sock" --pidfile "$T/agent.pid")" || exit 10
"$P11AGENT" ping >/dev/null || exit 11
printf '%s\n%s\n' "$P11AGENT_PID" "$P11AGENT_SOCK" >"$T/sh-env"
EOF
export P11AGENTD P11AGENT CONF SDIR T
unset P11AGENT_SOCK P11AGENT_PID
run timeout -k 2 30 sh "$T/sh-start"
if [ "$RC" = 0 ]; then
	pass "sh: eval \"\$(p11agentd -s --config F)\", then p11agent ping"
else
	fail "sh: eval, then ping" "exit $RC; stderr: $(show "$ERR")"
fi
PID=$(sed -n 1p "$T/sh-env" 2>/dev/null)
ESOCK=$(sed -n 2p "$T/sh-env" 2>/dev/null)
[ -n "$PID" ] && AGENT_PIDS="$AGENT_PIDS $PID"
if [ -n "$PID" ] && [ "$(comm_of "$PID")" = p11agentd ]; then
	pass "sh: P11AGENT_PID is the agent's pid"
else
	fail "sh: P11AGENT_PID is the agent's pid" "P11AGENT_PID='$PID' ($(comm_of "${PID:-0}"))"
fi
if [ "$ESOCK" = "$SDIR/agent.sock" ]; then
	pass "sh: P11AGENT_SOCK is the absolute socket path, space and quote included"
else
	fail "sh: P11AGENT_SOCK" "'$ESOCK', expected '$SDIR/agent.sock'"
fi
if [ "$(cat "$T/agent.pid" 2>/dev/null)" = "$PID" ] && [ -n "$PID" ]; then
	pass "--pidfile holds the agent's pid"
else
	fail "--pidfile holds the agent's pid" "'$(cat "$T/agent.pid" 2>/dev/null)' vs '$PID'"
fi
mode=$(stat -c %a "$T/agent.pid" 2>/dev/null)
if [ "$mode" = 644 ]; then pass "--pidfile mode 0644"; else fail "--pidfile mode 0644" "mode $mode"; fi
# The lines, as ssh-agent prints them.
run timeout -k 2 30 "$P11AGENTD" -s --config "$CONF" --socket "$T/plain.sock"
track
if grep -qxE "P11AGENT_SOCK=$T/plain.sock; export P11AGENT_SOCK;" "$OUT" &&
	grep -qxE 'P11AGENT_PID=[0-9]+; export P11AGENT_PID;' "$OUT" &&
	grep -qxE 'echo Agent pid [0-9]+;' "$OUT" && [ "$(wc -l <"$OUT")" = 3 ]; then
	pass "sh: the three lines of ssh-agent"
else
	fail "sh: the three lines of ssh-agent" "$(show "$OUT")"
fi
PPID2=$(sed -n 's/^P11AGENT_PID=\([0-9]*\);.*/\1/p' "$OUT")

# In the foreground, the lines only with -s or -c, once the socket answers.
timeout -k 2 60 "$P11AGENTD" -f -s --config "$CONF" --socket "$T/fg.sock" \
	</dev/null >"$T/fg.out" 2>>"$T/agent.log" &
FGPID=$!
AGENT_PIDS="$AGENT_PIDS $FGPID"
if wait_socket "$T/fg.sock" "$FGPID" && sleep 0.2 &&
	grep -qx "P11AGENT_SOCK=$T/fg.sock; export P11AGENT_SOCK;" "$T/fg.out" &&
	grep -qxE "P11AGENT_PID=[0-9]+; export P11AGENT_PID;" "$T/fg.out"; then
	pass "--foreground -s: the lines on stdout"
else
	fail "--foreground -s: the lines on stdout" "$(show "$T/fg.out")"
fi
kill -TERM "$FGPID" 2>/dev/null
wait "$FGPID" 2>/dev/null
timeout -k 2 60 "$P11AGENTD" -f --config "$CONF" --socket "$T/fg.sock" \
	</dev/null >"$T/fg.out" 2>>"$T/agent.log" &
FGPID=$!
AGENT_PIDS="$AGENT_PIDS $FGPID"
if wait_socket "$T/fg.sock" "$FGPID" && [ ! -s "$T/fg.out" ]; then
	pass "--foreground without -s or -c: nothing on stdout"
else
	fail "--foreground without -s or -c: nothing on stdout" "$(show "$T/fg.out")"
fi
kill -TERM "$FGPID" 2>/dev/null
wait "$FGPID" 2>/dev/null

# --- -k ------------------------------------------------------------------------------
# kill_agent NAME CODE [VAR=VALUE...]: p11agentd -k with that environment.
kill_agent() {
	local name=$1 code=$2
	shift 2
	check_rc "$name (exit $code)" "$code" env -u P11AGENT_PID "$@" timeout -k 2 30 "$P11AGENTD" -k
}
kill_agent "-k: P11AGENT_PID unset" 3
check_err "-k: P11AGENT_PID unset: message" 'P11AGENT_PID is not set'
kill_agent "-k: P11AGENT_PID not a number" 3 P11AGENT_PID='12; rm -rf /'
check_err "-k: P11AGENT_PID not a number: message" 'not a process id'
kill_agent "-k: P11AGENT_PID 0" 3 P11AGENT_PID=0
sleep 60 &
SLEEP=$!
kill_agent "-k: P11AGENT_PID names sleep" 5 P11AGENT_PID=$SLEEP
check_err "-k: not a p11agentd: message" 'not a p11agentd'
if kill -0 "$SLEEP" 2>/dev/null; then pass "-k: sleep still runs"; else fail "-k: sleep still runs" "it was killed"; fi
kill "$SLEEP"
wait "$SLEEP" 2>/dev/null
kill_agent "-k: no such process" 4 P11AGENT_PID=$SLEEP
check_err "-k: no such process: message" 'no process'
# Another uid may not stop root's agent (the check comes before kill(2) could refuse).
run env P11AGENT_PID="$PPID2" timeout -k 2 30 setpriv --reuid=$OTHER_UID --regid=$OTHER_UID \
	--clear-groups "$P11AGENTD" -k
if [ "$RC" = 5 ] && grep -q 'not yours\|uid' "$ERR"; then
	pass "-k: another uid's agent refused (exit 5)"
else
	fail "-k: another uid's agent refused" "exit $RC; stderr: $(show "$ERR")"
fi
if [ "$(comm_of "$PPID2")" = p11agentd ]; then pass "-k: the other uid killed nothing"; else
	fail "-k: the other uid killed nothing" "the agent is gone"; fi

# -k in sh syntax, eval'ed.
cat >"$T/sh-stop" <<'EOF'
P11AGENT_PID=$(sed -n 1p "$T/sh-env"); export P11AGENT_PID
P11AGENT_SOCK=$(sed -n 2p "$T/sh-env"); export P11AGENT_SOCK
out=$("$P11AGENTD" -k -s) || exit 10
printf '%s\n' "$out" >"$T/sh-stop.out"
eval "$out"
[ -z "${P11AGENT_PID+set}" ] && [ -z "${P11AGENT_SOCK+set}" ] || exit 11
EOF
run timeout -k 2 30 sh "$T/sh-stop"
if [ "$RC" = 0 ] && grep -qx "unset P11AGENT_SOCK;" "$T/sh-stop.out" &&
	grep -qx "unset P11AGENT_PID;" "$T/sh-stop.out" &&
	grep -qx "echo Agent pid $PID killed;" "$T/sh-stop.out"; then
	pass "sh: eval \"\$(p11agentd -k)\" unsets both variables"
else
	fail "sh: p11agentd -k" "exit $RC; stderr: $(show "$ERR"); out: $(show "$T/sh-stop.out")"
fi
if [ -n "$PID" ] && gone "$PID"; then pass "-k: the agent is gone"; else fail "-k: the agent is gone" "pid $PID"; fi
if [ ! -e "$SDIR/agent.sock" ]; then pass "-k: socket removed"; else fail "-k: socket removed" "still there"; fi
if [ ! -e "$T/agent.pid" ]; then pass "-k: pidfile removed"; else fail "-k: pidfile removed" "still there"; fi
check_rc "-k: the second agent too" 0 env P11AGENT_PID="$PPID2" timeout -k 2 30 "$P11AGENTD" -k

# --- csh syntax, eval'ed by tcsh -------------------------------------------------------
run env SHELL=/bin/tcsh timeout -k 2 30 "$P11AGENTD" --config "$CONF" --socket "$T/plain.sock"
track
if grep -qx "setenv P11AGENT_SOCK $T/plain.sock;" "$OUT" &&
	grep -qxE 'setenv P11AGENT_PID [0-9]+;' "$OUT" && grep -qxE 'echo Agent pid [0-9]+;' "$OUT"; then
	pass "csh syntax when SHELL ends in csh"
else
	fail "csh syntax when SHELL ends in csh" "$(show "$OUT")"
fi
CSHPID=$(sed -n 's/^setenv P11AGENT_PID \([0-9]*\);$/\1/p' "$OUT")
check_rc "-k: csh syntax" 0 env SHELL=/bin/tcsh P11AGENT_PID="$CSHPID" \
	timeout -k 2 30 "$P11AGENTD" -k
if grep -qx "unsetenv P11AGENT_SOCK;" "$OUT" && grep -qx "unsetenv P11AGENT_PID;" "$OUT" &&
	grep -qx "echo Agent pid $CSHPID killed;" "$OUT"; then
	pass "-k: unsetenv lines in csh syntax"
else
	fail "-k: unsetenv lines in csh syntax" "$(show "$OUT")"
fi
if command -v tcsh >/dev/null 2>&1; then
	# (csh quoting is not sh's: the agent's arguments come from a sh script.)
	printf '#!/bin/sh\nexec "$P11AGENTD" -c --config "$CONF" --socket "$SDIR/agent.sock"\n' \
		>"$T/start-c"
	chmod 755 "$T/start-c"
	cat >"$T/csh-run" <<'EOF'
eval "`$T/start-c`"
$P11AGENT ping >/dev/null || exit 11
printf '%s\n%s\n' "$P11AGENT_PID" "$P11AGENT_SOCK" >"$T/csh-env"
eval "`$P11AGENTD -k -c`"
if ($?P11AGENT_PID || $?P11AGENT_SOCK) exit 12
EOF
	run env -u P11AGENT_PID -u P11AGENT_SOCK timeout -k 2 30 tcsh -f "$T/csh-run"
	CPID=$(sed -n 1p "$T/csh-env" 2>/dev/null)
	[ -n "$CPID" ] && AGENT_PIDS="$AGENT_PIDS $CPID"
	if [ "$RC" = 0 ] && [ "$(sed -n 2p "$T/csh-env")" = "$SDIR/agent.sock" ]; then
		pass "csh: eval \`p11agentd -c\`, ping, eval \`p11agentd -k -c\`"
	else
		fail "csh: eval, ping, -k" "exit $RC; stderr: $(show "$ERR"); env: $(show "$T/csh-env")"
	fi
	if [ -n "$CPID" ] && gone "$CPID"; then pass "csh: the agent is gone"; else
		fail "csh: the agent is gone" "pid '$CPID'"; fi
else
	fail "csh: eval by tcsh" "tcsh is not installed (contrib/deps.sh installs it)"
fi

# --- --pidfile: a symbolic link planted there is not followed ---------------------
echo precious >"$T/victim"
ln -s "$T/victim" "$T/link.pid"
run timeout -k 2 30 "$P11AGENTD" -s --config "$CONF" --socket "$T/plain.sock" --pidfile "$T/link.pid"
track
LPID=$(sed -n 's/^P11AGENT_PID=\([0-9]*\);.*/\1/p' "$OUT")
if [ "$(cat "$T/victim")" = precious ] && [ ! -L "$T/link.pid" ] &&
	[ "$(cat "$T/link.pid")" = "$LPID" ]; then
	pass "--pidfile: a symbolic link is replaced, its target untouched"
else
	fail "--pidfile: symbolic link" "victim: $(cat "$T/victim"); link.pid: $(ls -l "$T/link.pid")"
fi
check_rc "--pidfile: -k" 0 env P11AGENT_PID="$LPID" timeout -k 2 30 "$P11AGENTD" -k
gone "$LPID"
if [ ! -e "$T/link.pid" ] && [ "$(cat "$T/victim")" = precious ]; then
	pass "--pidfile: removed at stop, the target left alone"
else
	fail "--pidfile: removed at stop" "$(ls -l "$T/link.pid" "$T/victim" 2>&1 | tr '\n' ' ')"
fi
run timeout -k 2 30 "$P11AGENTD" -s --config "$CONF" --socket "$T/plain.sock" --pidfile "$T/no-dir/x.pid"
track
if [ "$RC" = 1 ] && grep -q "no-dir/x.pid" "$ERR" && [ ! -S "$T/plain.sock" ]; then
	pass "--pidfile in a missing directory: exit 1, named"
else
	fail "--pidfile in a missing directory" "exit $RC; stderr: $(show "$ERR")"
fi

# --- no XDG_RUNTIME_DIR: a private directory under TMPDIR -------------------------
mkdir -m 1777 "$T/tmp"
run env -u XDG_RUNTIME_DIR TMPDIR="$T/tmp" timeout -k 2 30 "$P11AGENTD" -s --config "$CONF"
track
XSOCK=$(sed -n "s/^P11AGENT_SOCK=\(.*\); export P11AGENT_SOCK;\$/\1/p" "$OUT")
XPID=$(sed -n 's/^P11AGENT_PID=\([0-9]*\);.*/\1/p' "$OUT")
XDIR=${XSOCK%/agent.sock}
if [ "$RC" = 0 ] && [[ "$XDIR" == "$T/tmp/p11agent-"?????? ]] && [ -S "$XSOCK" ]; then
	pass "no XDG_RUNTIME_DIR: starts, socket in \$TMPDIR/p11agent-XXXXXX"
else
	fail "no XDG_RUNTIME_DIR: starts" "exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
fi
if [ -n "$XSOCK" ] && grep -qF "$XSOCK" "$ERR"; then pass "no XDG_RUNTIME_DIR: the log names the socket"; else
	fail "no XDG_RUNTIME_DIR: the log names the socket" "$(show "$ERR")"; fi
mode=$(stat -c %a "$XDIR" 2>/dev/null)
if [ "$mode" = 700 ]; then pass "no XDG_RUNTIME_DIR: directory mode 0700"; else
	fail "no XDG_RUNTIME_DIR: directory mode 0700" "mode $mode"; fi
check_rc "no XDG_RUNTIME_DIR: ping through P11AGENT_SOCK" 0 \
	env -u XDG_RUNTIME_DIR P11AGENT_SOCK="$XSOCK" timeout -k 2 30 "$P11AGENT" ping
check_rc "no XDG_RUNTIME_DIR, no P11AGENT_SOCK: the client fails" 3 \
	env -u XDG_RUNTIME_DIR -u P11AGENT_SOCK timeout -k 2 30 "$P11AGENT" ping
check_err "no XDG_RUNTIME_DIR, no P11AGENT_SOCK: the client says to set P11AGENT_SOCK" \
	'XDG_RUNTIME_DIR.*P11AGENT_SOCK'
check_err "no XDG_RUNTIME_DIR, no P11AGENT_SOCK: no empty socket path in the message" \
	'^p11agent: cannot reach the agent: '
check_rc "no XDG_RUNTIME_DIR: -k" 0 env P11AGENT_PID="$XPID" timeout -k 2 30 "$P11AGENTD" -k
gone "$XPID"
if [ -n "$XDIR" ] && [ ! -e "$XDIR" ]; then pass "no XDG_RUNTIME_DIR: directory removed at stop"; else
	fail "no XDG_RUNTIME_DIR: directory removed at stop" "'$XDIR' is still there"; fi

# --- messages -----------------------------------------------------------------------
run "$P11AGENTD" --help
if head -n 1 "$OUT" | grep -q '^Usage: p11agentd '; then pass "--help: 'Usage: p11agentd'"; else
	fail "--help: 'Usage: p11agentd'" "$(head -n 1 "$OUT")"; fi
run "$P11AGENTD" --pin-source bogus --module "$SOFTHSM_MODULE" --socket "$T/x.sock"
if [ "$RC" = 2 ] && [ "$(grep -o 'pin-source' "$ERR" | wc -l)" = 1 ]; then
	pass "--pin-source error names the option once"
else
	fail "--pin-source error names the option once" "exit $RC; $(show "$ERR")"
fi

# Every agent of this test is gone; one still here (its pid never printed) is stopped.
for p in /proc/[0-9]*; do
	case $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) in
	*p11agentd*"$T"*)
		fail "no agent left running" "pid ${p#/proc/}"
		kill -TERM "${p#/proc/}"
		;;
	esac
done
finish

#!/bin/sh
# test-connect-errors.sh: when the CLI cannot reach the agent, it says why and
# what to do, with exit 3 in every case, as root and as another user (uids
# played with setpriv):
#   - nothing at the path: no agent there, and whether P11AGENT_SOCK is set
#     (and to what), or that the path is the default one;
#   - a socket nobody listens on (left by an agent that stopped): the agent is
#     not running, and starting it again replaces the socket;
#   - a regular file or a directory at the path: it is not a socket;
#   - a socket this user may not use, or a socket directory this user may not
#     enter: the agent's socket is there but this uid may not use it, and the
#     agent's socket-group setting (p11agent.conf(5)) is how to allow it;
#   - an agent that is frozen (SIGSTOP): the CLI gives up after
#     P11AGENT_TIMEOUT seconds and says the agent did not answer, instead of
#     hanging; the agent answers again once it is continued.
# Skipped (exit 77) unless run as root with setpriv (util-linux).
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: test-connect-errors.sh needs root, to connect as other uids (setpriv)"
	exit 77
fi
require_tools setpriv python3 timeout
make_token "$KEY_EC256"

UO=54500   # another user, in no group of the agent's
UG=54501   # a user of the socket group
SGID=54510 # the socket group
# Others must pass through $T to reach the sockets.
chmod 0711 "$T"

# The CLI as another user must reach the build tree. When it cannot (a build
# under a private home), a copy of the real binary and its library is used.
CLI=$P11AGENT
CLI_ENV=
# as UID GID CMD...: CMD as uid UID and gid GID, with no supplementary groups.
as() {
	local uid=$1 gid=$2
	shift 2
	# shellcheck disable=SC2086 # CLI_ENV is a list of VAR=VALUE words
	timeout -k 2 30 setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		env -u P11AGENT_SOCK $CLI_ENV "$@"
}
cli_for_other_users "$UO" as "$UO" "$UO"

# who_ping WHO ARGS...: ping with ARGS as WHO (root, or a uid whose gid is the
# same number), without P11AGENT_SOCK unless ARGS set it with env.
who_ping() {
	local who=$1
	shift
	if [ "$who" = root ]; then
		run env -u P11AGENT_SOCK timeout -k 2 30 "$@"
	else
		run as "$who" "$who" "$@"
	fi
}

# refused NAME ERE...: the last command exited 3 and its stderr matches each ERE.
refused() {
	local name=$1 ere
	shift
	if [ "$RC" -eq 3 ]; then
		pass "$name: exit 3"
	else
		fail "$name: exit 3" "exit $RC; stderr: $(show "$ERR")"
	fi
	for ere in "$@"; do
		check_err "$name: says /$ere/" "$ere"
	done
}

# not_said NAME ERE: the last command's stderr does not match ERE.
not_said() {
	if grep -Eqi -- "$2" "$ERR"; then
		fail "$1" "stderr matches /$2/: $(show "$ERR")"
	else
		pass "$1"
	fi
}

# A socket that nobody listens on: bound, then its process gone.
python3 - "$T/stale.sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.close()
EOF
chmod 0666 "$T/stale.sock"
printf 'not a socket\n' >"$T/file.sock"
chmod 0644 "$T/file.sock"
mkdir -m 0755 "$T/dir.sock"

for who in root "$UO"; do
	cli=$P11AGENT
	[ "$who" = root ] || cli=$CLI

	# --- nothing at the path -------------------------------------------------
	who_ping "$who" "$cli" -S "$T/none.sock" ping
	refused "$who: -S to nothing" "at $T/none.sock: no such file, so no agent listens there" "P11AGENT_SOCK is not set"
	who_ping "$who" env P11AGENT_SOCK="$T/none.sock" "$cli" ping
	refused "$who: P11AGENT_SOCK to nothing" "at $T/none.sock: no such file, so no agent listens there" \
		"P11AGENT_SOCK is set to $T/none.sock"
	who_ping "$who" env P11AGENT_SOCK="$T/none.sock" "$cli" -S "$T/other.sock" ping
	refused "$who: -S to nothing, P11AGENT_SOCK set" "at $T/other.sock: no such file, so no agent listens there" \
		"P11AGENT_SOCK is set to $T/none.sock"
	who_ping "$who" "$cli" -S "$T/nodir/agent.sock" ping
	refused "$who: -S into a missing directory" "at $T/nodir/agent.sock: no such file"
	mkdir -p -m 0700 "$T/xdg-$who"
	[ "$who" = root ] || chown "$who:$who" "$T/xdg-$who"
	who_ping "$who" env XDG_RUNTIME_DIR="$T/xdg-$who" "$cli" ping
	refused "$who: the default socket" "at $T/xdg-$who/p11agent/agent.sock: no such file" \
		"P11AGENT_SOCK is not set.*default"

	# --- a socket nobody listens on -----------------------------------------
	who_ping "$who" "$cli" -S "$T/stale.sock" ping
	refused "$who: a stale socket" "no agent is running" "start p11agentd"
	not_said "$who: a stale socket: no question about P11AGENT_SOCK" "is P11AGENT_SOCK set"

	# --- not a socket -------------------------------------------------------
	who_ping "$who" "$cli" -S "$T/file.sock" ping
	refused "$who: a regular file" "$T/file.sock is a regular file, not a socket"
	not_said "$who: a regular file: not called an agent" "refusing to talk"
	who_ping "$who" "$cli" -S "$T/dir.sock" ping
	refused "$who: a directory" "$T/dir.sock is a directory, not a socket"
done

# --- a socket this user may not use ---------------------------------------------
# An agent without socket-group makes its directory 0700 and its socket 0600.
SOCK=$T/private/agent.sock
start_agent || finish
check "root: ping the agent in its private directory" p11a ping
who_ping "$UO" "$CLI" -S "$SOCK" ping
refused "uid $UO: a socket directory it may not enter" \
	"uid $UO may not (enter|use)" "$T/private" "socket-group" "p11agent.conf\(5\)"
not_said "uid $UO: a directory it may not enter: no question whether p11agentd runs" \
	"is p11agentd running"
stop_agent

# The same socket, 0600, in a directory everybody may enter.
mkdir -m 0755 "$T/open"
SOCK=$T/open/agent.sock
start_agent || finish
who_ping "$UO" "$CLI" -S "$SOCK" ping
refused "uid $UO: a socket it may not use" \
	"the agent's socket is there, but uid $UO may not use it" "socket-group" \
	"p11agent.conf\(5\)"
not_said "uid $UO: a socket it may not use: no question whether p11agentd runs" \
	"is p11agentd running"
stop_agent

# With socket-group, its members get in; others get the same advice.
printf 'socket-group = %s\n' "$SGID" >"$T/group.conf"
SOCK=$T/group/agent.sock
start_agent --config "$T/group.conf" || finish
run as "$UG" "$SGID" "$CLI" -S "$SOCK" ping
if [ "$RC" -eq 0 ]; then
	pass "uid $UG of the socket group: ping"
else
	fail "uid $UG of the socket group: ping" "exit $RC; stderr: $(show "$ERR")"
fi
who_ping "$UO" "$CLI" -S "$SOCK" ping
refused "uid $UO, not of the socket group" "uid $UO may not (enter|use)" "socket-group"
stop_agent

# --- a frozen agent ---------------------------------------------------------------
# Its socket accepts into the backlog, but nobody answers: the wait is bounded.
SOCK=$T/frozen/agent.sock
start_agent || finish
kill -STOP "$AGENT_PID"
START=$(date +%s)
run env P11AGENT_TIMEOUT=2 timeout -k 2 30 "$CLI" -S "$SOCK" ping
ELAPSED=$(($(date +%s) - START))
refused "a frozen agent, P11AGENT_TIMEOUT=2" "did not answer within 2 s" "P11AGENT_TIMEOUT"
if [ "$ELAPSED" -le 8 ]; then
	pass "a frozen agent: the CLI gave up after ${ELAPSED} s (limit 2 s)"
else
	fail "a frozen agent: the CLI gave up in time" "it took ${ELAPSED} s with P11AGENT_TIMEOUT=2"
fi
kill -CONT "$AGENT_PID"
check_rc "the agent continued: ping answers again" 0 \
	env P11AGENT_TIMEOUT=2 timeout -k 2 30 "$CLI" -S "$SOCK" ping
stop_agent

finish

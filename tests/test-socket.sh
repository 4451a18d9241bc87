#!/bin/sh
# test-socket.sh: nobody else can put the agent's socket where it or its
# clients look, nor redirect its mode and group. As root, with other users
# played by numeric uids (setpriv):
#   - p11agentd refuses a socket directory owned by another uid, writable by
#     others or by its group, sticky and world-writable, or a symbolic link;
#     a directory it creates is 0700;
#   - the CLI refuses to talk to a fake agent (socket-fake.py) whose socket
#     directory another uid owns or may write, or whose socket another uid
#     owns: the fake receives nothing;
#   - the socket-group race: a racer (socket-racer.py) as another uid, in a
#     directory it made, renames a symbolic link to a root-owned 0600 file
#     over the fresh socket, 20 times; the file's mode and group never change
#     (the agent refuses such a directory, and sets the socket's mode and
#     group without chmod or chown by path).
# Skipped (exit 77) unless run as root with setpriv (util-linux).
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: test-socket.sh needs root, to act as other uids (setpriv)"
	exit 77
fi
require_tools setpriv python3 stat timeout
make_token "$KEY_EC256"

UO=54401 # owns a directory the agent or a client is pointed at
UR=54403 # the racer
SGID=54405 # the socket group of the race
# Others must pass through $T to reach their directories.
chmod 0711 "$T"
mkdir -m 0755 "$T/bin"
cp "$top_srcdir/tests/socket-fake.py" "$top_srcdir/tests/socket-racer.py" "$T/bin/"
chmod 0644 "$T/bin/"*.py
MSG=$T/msg
printf 'p11agent socket test\n' >"$MSG"
# A python3 that other uids may run (not one under root's home).
PY=
for p in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3)"; do
	if [ -x "$p" ] && setpriv --reuid=$UO --regid=$UO --clear-groups "$p" -c '' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	echo "SKIP: no python3 that uid $UO may run"
	exit 77
fi

# agent_refuses NAME SOCKET ERE [ARGS...]: p11agentd on SOCKET exits 1 with
# a message matching ERE, and leaves no socket behind.
agent_refuses() {
	local name=$1 sock=$2 ere=$3
	shift 3
	run timeout 10 "$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" \
		--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$sock" "$@"
	if [ "$RC" -eq 1 ]; then
		pass "$name: the agent refuses (exit 1)"
	else
		fail "$name: the agent refuses (exit 1)" "exit $RC; stderr: $(show "$ERR")"
	fi
	check_err "$name: message" "$ere"
	if [ -e "$sock" ] && [ ! -L "$sock" ]; then
		fail "$name: no socket" "$sock was made"
	fi
}

# --- the agent's socket directory -------------------------------------------
mkdir -m 0700 "$T/owned"
chown "$UO:$UO" "$T/owned"
agent_refuses "directory of uid $UO" "$T/owned/agent.sock" \
	"socket directory $T/owned: .*owned by uid $UO, not by root or uid 0: chown 0 .*remove it .* put the socket in a directory of your own"
mkdir -m 0777 "$T/world"
chmod 0777 "$T/world"
agent_refuses "directory mode 0777" "$T/world/agent.sock" \
	"socket directory $T/world: .*mode 0777, writable by others: chmod go-w"
mkdir "$T/group"
chmod 0770 "$T/group"
agent_refuses "directory mode 0770" "$T/group/agent.sock" \
	"socket directory $T/group: .*mode 0770, writable by its group: chmod go-w"
mkdir "$T/sticky"
chmod 1777 "$T/sticky"
agent_refuses "directory mode 1777" "$T/sticky/agent.sock" \
	"socket directory $T/sticky: .*mode 1777, writable by others"
mkdir -m 0700 "$T/real"
ln -s "$T/real" "$T/link"
agent_refuses "directory that is a symbolic link" "$T/link/agent.sock" \
	"socket directory $T/link: is a symbolic link.*give the real directory"
printf 'socket-group = %s\n' "$SGID" >"$T/group.conf"
agent_refuses "directory of uid $UO, with socket-group" "$T/owned/agent.sock" \
	"socket directory $T/owned: .*owned by uid $UO" --config "$T/group.conf"

SOCK=$T/fresh/agent.sock
start_agent || finish
MODE=$(stat -c '%a %u' "$T/fresh")
if [ "$MODE" = "700 0" ]; then
	pass "a new socket directory is 0700, root's"
else
	fail "a new socket directory is 0700, root's" "got $MODE"
fi
MODE=$(stat -c '%a %u' "$SOCK")
if [ "$MODE" = "600 0" ]; then
	pass "the socket is 0600, root's"
else
	fail "the socket is 0600, root's" "got $MODE"
fi
check "the agent serves from its new directory" p11a sign ec256 -i "$MSG" -o "$T/good.sig"
stop_agent

# --- the client: a fake agent ------------------------------------------------
# fake NAME DIR UID [SOCKUID]: a fake agent as UID in DIR (its socket given to
# SOCKUID afterwards); root's CLI signs there and must refuse, with exit 3 and
# a message matching ERE, and the fake must receive nothing.
FAKE_PID=
fake_start() {
	local dir=$1 uid=$2 i
	rm -f "$dir/agent.sock" "$dir/agent.sock.ready" "$T/got"
	touch "$T/got"
	chown "$uid" "$T/got"
	if [ "$uid" = 0 ]; then
		timeout 60 "$PY" "$T/bin/socket-fake.py" "$dir/agent.sock" "$T/got" &
	else
		timeout 60 setpriv --reuid="$uid" --regid="$uid" --clear-groups \
			"$PY" "$T/bin/socket-fake.py" "$dir/agent.sock" "$T/got" &
	fi
	FAKE_PID=$!
	for i in $(seq 100); do
		[ -e "$dir/agent.sock.ready" ] && return 0
		sleep 0.1
	done
	die "the fake agent did not start in $dir"
}
fake_stop() {
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}
# client_refuses NAME SOCKET ERE: root's CLI signs at SOCKET; exit 3, ERE, and
# the fake got nothing.
client_refuses() {
	local name=$1 sock=$2 ere=$3
	run timeout -k 2 30 "$P11AGENT" -S "$sock" sign ec256 -i "$MSG" -o "$T/fake.sig"
	if [ "$RC" -eq 3 ]; then
		pass "$name: the CLI refuses (exit 3)"
	else
		fail "$name: the CLI refuses (exit 3)" "exit $RC; stderr: $(show "$ERR")"
	fi
	check_err "$name: message" "$ere"
	sleep 0.2
	if [ -s "$T/got" ]; then
		fail "$name: the fake agent received nothing" "it received $(wc -c <"$T/got") bytes"
	else
		pass "$name: the fake agent received nothing"
	fi
}

mkdir -m 0755 "$T/fake"
chown "$UO:$UO" "$T/fake"
fake_start "$T/fake" "$UO"
client_refuses "socket directory of uid $UO" "$T/fake/agent.sock" \
	"refusing to talk to the agent at $T/fake/agent.sock: the agent's socket directory $T/fake: .*owned by uid $UO, not by root or uid 0: chown 0 $T/fake; or use an agent socket of root's or your own"
check_rc "P11AGENT_SOCK in a directory of uid $UO: ping refused" 3 \
	env P11AGENT_SOCK="$T/fake/agent.sock" timeout 30 "$P11AGENT" ping
check_err "P11AGENT_SOCK in a directory of uid $UO: message" "owned by uid $UO"
check_err "P11AGENT_SOCK in a directory of uid $UO: names P11AGENT_AGENT_USER" P11AGENT_AGENT_USER
# Naming another user as the one whose agent is trusted changes nothing.
run env P11AGENT_AGENT_USER=54499 timeout -k 2 30 "$P11AGENT" -S "$T/fake/agent.sock" ping
if [ "$RC" -eq 3 ] && [ ! -s "$T/got" ]; then
	pass "P11AGENT_AGENT_USER of another uid: still refused"
else
	fail "P11AGENT_AGENT_USER of another uid: still refused" "exit $RC, $(wc -c <"$T/got") bytes sent"
fi
# A service user's agent (socket-group) in a directory root made for it: the
# client trusts it only when told to, by P11AGENT_AGENT_USER.
run env P11AGENT_AGENT_USER=$UO timeout -k 2 30 "$P11AGENT" -S "$T/fake/agent.sock" ping
sleep 0.2
if [ -s "$T/got" ]; then
	pass "P11AGENT_AGENT_USER=$UO: the client talks to that user's agent (exit $RC)"
else
	fail "P11AGENT_AGENT_USER=$UO: the client talks to that user's agent" "exit $RC: $(show "$ERR")"
fi
fake_stop
# ... but not in a directory anyone could have made, such as one in /tmp.
mkdir -m 1777 "$T/sticky"
chmod 1777 "$T/sticky"
mkdir -m 0755 "$T/sticky/fake"
chown "$UO:$UO" "$T/sticky/fake"
fake_start "$T/sticky/fake" "$UO"
run env P11AGENT_AGENT_USER=$UO timeout -k 2 30 "$P11AGENT" -S "$T/sticky/fake/agent.sock" \
	sign ec256 -i "$MSG" -o "$T/fake.sig"
sleep 0.2
if [ "$RC" -eq 3 ] && [ ! -s "$T/got" ]; then
	pass "P11AGENT_AGENT_USER=$UO, its directory in a sticky one: refused"
else
	fail "P11AGENT_AGENT_USER=$UO, its directory in a sticky one: refused" \
		"exit $RC, $(wc -c <"$T/got") bytes sent: $(show "$ERR")"
fi
fake_stop

mkdir -m 0777 "$T/fakeworld"
chmod 0777 "$T/fakeworld"
fake_start "$T/fakeworld" "$UO"
client_refuses "socket directory mode 0777" "$T/fakeworld/agent.sock" \
	"socket directory $T/fakeworld: .*mode 0777, writable by others"
fake_stop

mkdir -m 0755 "$T/fakesock"
fake_start "$T/fakesock" 0
chown "$UO" "$T/fakesock/agent.sock"
client_refuses "socket of uid $UO" "$T/fakesock/agent.sock" \
	"the socket $T/fakesock/agent.sock is owned by uid $UO, not by root or uid 0"
fake_stop

# A symbolic link on the way is resolved, and the real directory checked.
ln -s "$T/fake" "$T/fakelink"
fake_start "$T/fake" "$UO"
client_refuses "symbolic link to a directory of uid $UO" "$T/fakelink/agent.sock" \
	"socket directory $T/fakelink: $T/fake \\(in its real path\\) is owned by uid $UO"
fake_stop

# --- the socket-group race ---------------------------------------------------
# Each try: the racer (uid $UR) waits in its own directory for the socket and
# renames a symbolic link to $T/victim over it; the agent starts there with
# socket-group. The victim is root's, 0600: its mode and group must not move.
printf 'root only\n' >"$T/victim"
chmod 0600 "$T/victim"
TRIES=20
WINS=0
REFUSED=0
for try in $(seq "$TRIES"); do
	rm -rf "$T/race"
	mkdir -m 0755 "$T/race"
	chown "$UR:$UR" "$T/race"
	chown 0:0 "$T/victim"
	chmod 0600 "$T/victim"
	setpriv --reuid="$UR" --regid="$UR" --clear-groups timeout 20 \
		"$PY" "$T/bin/socket-racer.py" "$T/race" "$T/victim" 15 >"$T/racer.out" 2>&1 &
	RACER=$!
	sleep 0.05
	timeout 30 "$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" \
		--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" \
		--socket "$T/race/agent.sock" --config "$T/group.conf" \
		>"$T/race.log" 2>&1 &
	APID=$!
	AGENT_PIDS="$AGENT_PIDS $APID"
	# Until the racer has swapped, the agent has given up, or 15 s passed.
	for i in $(seq 150); do
		kill -0 "$RACER" 2>/dev/null || break
		kill -0 "$APID" 2>/dev/null || break
		sleep 0.1
	done
	sleep 0.5 # time for the agent's setup after the swap
	kill "$RACER" "$APID" 2>/dev/null
	wait "$RACER" 2>/dev/null
	wait "$APID" 2>/dev/null
	grep -q "socket directory $T/race: .*owned by uid $UR" "$T/race.log" && REFUSED=$((REFUSED + 1))
	if [ "$(stat -c '%a %g' "$T/victim")" != "600 0" ]; then
		WINS=$((WINS + 1))
		echo "  try $try: the victim became $(stat -c '%a %g' "$T/victim") ($(cat "$T/racer.out"))"
	fi
done
if [ "$WINS" -eq 0 ]; then
	pass "socket-group race: the victim's mode and group never changed in $TRIES tries"
else
	fail "socket-group race" "the racer changed the victim in $WINS of $TRIES tries"
fi
if [ "$REFUSED" -eq "$TRIES" ]; then
	pass "socket-group race: the agent refused the racer's directory each time"
else
	fail "socket-group race: the agent refused the racer's directory each time" \
		"only $REFUSED of $TRIES times; last log: $(show "$T/race.log")"
fi

# In a directory of its own, the socket is born with its group and mode.
SOCK=$T/run/agent.sock
start_agent --config "$T/group.conf" || finish
MODE=$(stat -c '%a %g' "$SOCK")
if [ "$MODE" = "660 $SGID" ]; then
	pass "socket-group: the socket is 0660, group $SGID"
else
	fail "socket-group: the socket is 0660, group $SGID" "got $MODE"
fi
MODE=$(stat -c '%a %g' "$T/run")
if [ "$MODE" = "710 $SGID" ]; then
	pass "socket-group: its new directory is 0710, group $SGID"
else
	fail "socket-group: its new directory is 0710, group $SGID" "got $MODE"
fi
check "socket-group: the agent serves" p11a ping
stop_agent
finish

#!/bin/sh
# test-ssh-hostile.sh: while two clients keep signing, one on each socket
# (native: p11agent sign, checked by OpenSSL; SSH: ssh-keygen -Y sign,
# checked by ssh-keygen -Y check-novalidate), hostile clients on the SSH
# socket (tests/ssh-client.py hostile): a frame length of 2^32-1, a 300 KiB
# frame (over the 256 KiB cap: closed), a half-written frame left open, a
# client that sends and never reads, 200 connections at once, random bytes,
# clients gone mid-request; a good client on the SSH socket is served all
# along. Every signature must verify and the agent must answer afterwards.
# Then another uid (nobody) is refused by the 0600 socket itself. The SSH
# socket is given by --ssh-socket.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/ssh-lib.sh"

ssh_require python3 ssh-add ssh-keygen setpriv setsid timeout stat "$OPENSSL"
make_token "$KEY_EC256" "$KEY_ED25519" "$KEY_RSA2048"
# The socket's own mode must be what stops another uid: $T is passable.
chmod 0711 "$T"
cat >"$T/p11agent.conf" <<EOF
# p11agentd test configuration: hostile clients on the SSH socket (given
# by --ssh-socket here, where the other tests use ssh-socket)
# 200 connections at once, and the signers, all from this uid.
max-connections-per-uid = 512
EOF
start_ssh_agent "$T/p11agent.conf" --ssh-socket "$SSH_SOCK" || finish

mode=$(stat -c '%a %u' "$SSH_SOCK")
if [ "$mode" = "600 $(id -u)" ]; then
	pass "SSH socket is 0600, the agent's"
else
	fail "SSH socket is 0600, the agent's" "mode and owner: $mode"
fi

MSG=$T/msg
printf 'signed on two sockets while others misbehave\n' >"$MSG"
for k in ec256 ed25519 rsa2048; do
	p11a pubkey "$k" >"$T/$k.pem" 2>"$ERR" || die "pubkey $k: $(show "$ERR")"
	ssh_pubfile "$k" "$T/$k.pub" || finish
done

# The signers: at least MIN signatures each, and on until the attacks are done.
MIN=30
# native_signer: p11agent sign on the native socket, checked by OpenSSL.
native_signer() {
	sign_during_attacks "$MIN" native
}
# ssh_signer: ssh-keygen -Y sign through the SSH socket, checked by ssh-keygen.
ssh_signer() {
	local i=0 ok=0 bad=0 key
	while [ "$i" -lt "$MIN" ] || { [ ! -e "$T/attacks.done" ] && [ "$i" -lt 1000 ]; }; do
		i=$((i + 1))
		case $((i % 3)) in
		0) key=ec256 ;;
		1) key=ed25519 ;;
		2) key=rsa2048 ;;
		esac
		if ! SSH_AUTH_SOCK=$SSH_SOCK timeout -k 2 30 ssh-keygen -Y sign -f "$T/$key.pub" \
			-n file <"$MSG" >"$T/ssig" 2>"$T/ssh.err"; then
			bad=$((bad + 1))
			echo "SSH signature $i with $key failed: $(show "$T/ssh.err")"
			continue
		fi
		if timeout -k 2 30 ssh-keygen -Y check-novalidate -n file -s "$T/ssig" <"$MSG" \
			>/dev/null 2>&1; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "SSH signature $i with $key does not verify"
		fi
	done
	echo "$ok $bad" >"$T/ssh.result"
}

# The bound on the whole run catches an attack that stalls the agent (the
# stalled frames are held 6 s; the attacks take about 15 s). Loose, for a
# shared machine running a parallel make check; twice as long for an agent
# under AddressSanitizer or valgrind.
BOUND=60
SSH_CLIENT_SLOW=1
if [ -n "$AGENT_WRAP" ] || grep -q libasan "/proc/$AGENT_PID/maps" 2>/dev/null; then
	# (ssh-client.py's own waits, a good client's round included, too.)
	BOUND=120
	SSH_CLIENT_SLOW=4
fi
export SSH_CLIENT_SLOW
native_signer >"$T/native.log" 2>&1 &
NATIVE=$!
ssh_signer >"$T/ssh.log" 2>&1 &
SSHS=$!
START=$(date +%s)
timeout -k 2 $((BOUND + 15)) python3 "$SSH_CLIENT" hostile "$SSH_SOCK" "$T/rsa2048.pub" 6 \
	>"$T/hostile.out" 2>&1
HOSTILE_RC=$?
touch "$T/attacks.done"
# The signers stop at the next round: each round is bounded (timeouts of 30 s).
wait "$NATIVE" "$SSHS"
ELAPSED=$(($(date +%s) - START))

count_lines <"$T/hostile.out"
case $HOSTILE_RC in
124 | 137) fail "hostile clients finish" "ssh-client.py hostile timed out" ;;
2) fail "hostile clients run" "ssh-client.py could not run: $(show "$T/hostile.out")" ;;
esac
for s in native ssh; do
	if [ -s "$T/$s.result" ]; then
		read -r OK BAD <"$T/$s.result"
		if [ "$BAD" -eq 0 ] && [ "$OK" -ge "$MIN" ]; then
			pass "$s socket: every signature made during the attacks verifies ($OK)"
		else
			fail "$s socket: every signature made during the attacks verifies" \
				"$OK good, $BAD bad: $(head -n 3 "$T/$s.log" | tr '\n' ' ')"
		fi
	else
		fail "$s signer finished" "no result"
	fi
done
if [ "$ELAPSED" -lt "$BOUND" ]; then
	pass "bounded in time (${ELAPSED} s, under $BOUND)"
else
	fail "bounded in time" "took $ELAPSED s, $BOUND at most"
fi

agent_alive "agent alive after the attacks"
check "ssh-add -L after the attacks" ssh_add -L
check "ssh-keygen -Y sign after the attacks" \
	sh -c 'SSH_AUTH_SOCK=$1 timeout 30 ssh-keygen -Y sign -f "$2" -n file <"$3"' - \
	"$SSH_SOCK" "$T/ec256.pub" "$MSG"

# Another uid: the socket's mode refuses it before the agent sees it.
if [ "$(id -u)" -eq 0 ]; then
	run as_uid "$(id -u nobody)" "$(id -g nobody)" env SSH_AUTH_SOCK="$SSH_SOCK" ssh-add -L
	if [ "$RC" -eq 2 ] && grep -qi 'permission denied' "$ERR"; then
		pass "nobody: ssh-add -L gets permission denied (exit 2)"
	else
		fail "nobody: ssh-add -L gets permission denied" "exit $RC: $(show "$ERR")"
	fi
else
	skip "nobody cannot connect" "not root: setpriv cannot run ssh-add as nobody"
fi

stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "agent exits 0 on SIGTERM"
else
	fail "agent exits 0 on SIGTERM" "exit $AGENT_RC"
fi
finish

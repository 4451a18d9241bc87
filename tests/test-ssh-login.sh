#!/bin/sh
# test-ssh-login.sh: ssh logs in to a real sshd with keys held by p11agentd,
# through its SSH socket. The test starts sshd (openssh-server) on 127.0.0.1
# on a free port with a config, host key and authorized_keys of its own, and
# stops it at exit. Checks:
# - a login with each key type (RSA, ECDSA P-256/384/521, Ed25519) succeeds,
#   and the trail has its sign record with the login name;
# - ssh-logins naming the user lets it in; ssh-logins not naming it, and
#   ssh-namespaces alone, refuse the login (ssh exits non-zero), DENIED in
#   the trail with "login" the user;
# - ssh binds the agent to the session (session-bind@openssh.com): the
#   trail's record has host_key, ssh-keygen -lf's fingerprint of sshd's key.
# As root it logs in as root (PermitRootLogin prohibit-password); as another
# user sshd runs without privilege separation and it logs in as that user.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/ssh-lib.sh"

SSHD=/usr/sbin/sshd
ssh_require python3 ssh ssh-keygen ssh-add setsid timeout
[ -x "$SSHD" ] || die "$SSHD is not installed (openssh-server)" "required tools"
LOGIN=$(id -un)
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_EC384" "$KEY_EC521" "$KEY_ED25519" \
	ec:P-256:loginok:50 ec:P-256:loginbad:51 ed25519:-:nsonly:52
AUDIT=$T/audit.jsonl
cat >"$T/p11agent.conf" <<EOF
# p11agentd test configuration: ssh logins
audit-file = $AUDIT
ssh-socket = $SSH_SOCK

$SSH_KEY_SECTIONS

[key loginok]
uri = pkcs11:object=loginok;type=private
ssh-logins = nosuchuser, $LOGIN

[key loginbad]
uri = pkcs11:object=loginbad;type=private
ssh-logins = alice, bob

[key nsonly]
uri = pkcs11:object=nsonly;type=private
ssh-namespaces = git
EOF
start_ssh_agent "$T/p11agent.conf" || finish

KEYS="rsa p256 p384 p521 ed loginok loginbad nsonly"
: >"$T/authorized_keys"
for k in $KEYS; do
	ssh_pubfile "$k" "$T/$k.pub" || finish
	cat "$T/$k.pub" >>"$T/authorized_keys"
done

# --- sshd ----------------------------------------------------------------------------
timeout 30 ssh-keygen -q -t ed25519 -N '' -C p11agent-test-host -f "$T/host_ed25519" ||
	die "ssh-keygen cannot make the host key" "sshd"
HOSTFP=$(timeout 30 ssh-keygen -lf "$T/host_ed25519.pub" | awk '{ print $2 }')
if [ "$(id -u)" -eq 0 ]; then
	# sshd's privilege separation needs its empty directory.
	mkdir -p /run/sshd && chmod 0755 /run/sshd
fi
# free_port: a TCP port on 127.0.0.1 that nothing listens on just now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' - "$1" 2>/dev/null
}
# start_sshd: sshd in the foreground (in this shell's background) on a free
# port; another port if that one was taken meanwhile. Sets PORT, SSHD_PID.
start_sshd() {
	local try i
	for try in 1 2 3; do
		PORT=$(free_port) || return 1
		cat >"$T/sshd_config" <<EOF
ListenAddress 127.0.0.1:$PORT
HostKey $T/host_ed25519
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
MaxAuthTries 20
LogLevel VERBOSE
EOF
		"$SSHD" -D -e -f "$T/sshd_config" >>"$T/sshd.log" 2>&1 &
		SSHD_PID=$!
		# Stopped at exit with the agents (lib.sh's clean-up).
		AGENT_PIDS="$AGENT_PIDS $SSHD_PID"
		for i in $(seq 100); do
			port_open "$PORT" && return 0
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	done
	return 1
}
if start_sshd; then
	pass "sshd listens on 127.0.0.1:$PORT"
else
	die "sshd does not start: $(tail -n 5 "$T/sshd.log" | tr '\n' ' ')" "sshd"
fi

# login KEY: ssh to sshd as $LOGIN with KEY's public key file naming the
# agent's key (IdentitiesOnly: no other key is tried).
login() {
	SSH_AUTH_SOCK=$SSH_SOCK timeout -k 2 60 setsid -w ssh -F /dev/null \
		-o UserKnownHostsFile="$T/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=accept-new -o IdentitiesOnly=yes \
		-o IdentityFile="$T/$1.pub" -o BatchMode=yes -o ConnectTimeout=20 \
		-o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
		-p "$PORT" "$LOGIN@127.0.0.1" "echo logged-in-as-\$(id -un)" </dev/null
}

# --- logins that work -------------------------------------------------------------
for k in rsa p256 p384 p521 ed loginok; do
	run login "$k"
	if [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = "logged-in-as-$LOGIN" ]; then
		pass "$k: ssh logs in as $LOGIN through the agent"
	else
		fail "$k: ssh logs in as $LOGIN through the agent" "exit $RC: $(show "$OUT") $(show "$ERR")"
		continue
	fi
	audit_has "$k: the trail has the login's signature" \
		detail.front=ssh op=sign key="$k" status=OK detail.login="$LOGIN"
done
# ssh's known_hosts now holds sshd's host key: the one the test made.
if grep -qF "$(cut -d' ' -f2 "$T/host_ed25519.pub")" "$T/known_hosts" 2>/dev/null; then
	pass "known_hosts has the test's host key"
else
	fail "known_hosts has the test's host key" "$(show "$T/known_hosts")"
fi

# --- logins that are refused ------------------------------------------------------
# refused_login NAME KEY: ssh fails; the agent refused to sign (DENIED, with
# the login name); sshd let nobody in with that key.
refused_login() {
	local name=$1 key=$2
	run login "$key"
	if [ "$RC" -ne 0 ] && ! grep -q logged-in "$OUT"; then
		pass "$name: ssh is refused (exit $RC)"
	else
		fail "$name: ssh is refused" "exit $RC: $(show "$OUT")"
	fi
	audit_has "$name: DENIED in the trail with login $LOGIN" \
		detail.front=ssh op=sign key="$key" status=DENIED detail.login="$LOGIN"
	if grep -q "Accepted publickey for $LOGIN.*$(ssh-keygen -lf "$T/$key.pub" | awk '{print $2}')" \
		"$T/sshd.log"; then
		fail "$name: sshd accepted no login with it" "sshd.log says it did"
	else
		pass "$name: sshd accepted no login with it"
	fi
}
refused_login "loginbad (ssh-logins = alice, bob)" loginbad
refused_login "nsonly (ssh-namespaces alone)" nsonly

# --- the session binding ------------------------------------------------------------
audit_has "session-bind: the trail has sshd's host key ($HOSTFP)" \
	detail.front=ssh op=ssh-session-bind status=OK detail.host_key="$HOSTFP"
n=$(audit_count detail.front=ssh op=sign detail.host_key="$HOSTFP")
echo "  (sign records that carry sshd's host key: ${n:-0})"

agent_alive "agent still serving"
if kill -0 "$SSHD_PID" 2>/dev/null; then
	kill -TERM "$SSHD_PID"
	wait "$SSHD_PID" 2>/dev/null
	pass "sshd stopped"
else
	fail "sshd still running at the end" "it died; log: $(tail -n 5 "$T/sshd.log" | tr '\n' ' ')"
fi
if [ "$FAILED" -gt 0 ]; then
	echo "--- last lines of sshd's log ---"
	tail -n 30 "$T/sshd.log"
fi
finish

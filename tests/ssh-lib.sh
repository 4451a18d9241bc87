# tests/ssh-lib.sh: what the tests of p11agentd's SSH socket share, sourced
# after tests/lib.sh by tests/test-ssh-*.sh: the tools they need, the agent
# started with an SSH socket, public key files, queries on the audit trail,
# and commands run as another uid.
#
# A missing tool fails the test (CI installs them all: contrib/deps.sh);
# only the checks that need root to act as another uid are skipped, each
# named, when the tests do not run as root.
#
# SPDX-License-Identifier: Apache-2.0

SSH_CLIENT="$top_srcdir/tests/ssh-client.py"
SSH_SOCK=$T/ssh.sock

# The config sections naming the five keys of the tests' tokens (make_token
# "$KEY_RSA2048" "$KEY_EC256" "$KEY_EC384" "$KEY_EC521" "$KEY_ED25519"):
# rsa, p256, p384, p521 and ed.
SSH_KEY_SECTIONS='[key rsa]
uri = pkcs11:object=rsa2048;type=private
[key p256]
uri = pkcs11:object=ec256;type=private
[key p384]
uri = pkcs11:object=ec384;type=private
[key p521]
uri = pkcs11:object=ec521;type=private
[key ed]
uri = pkcs11:object=ed25519;type=private'

# ssh_require TOOL...: fails the test (not a skip) when a tool, SoftHSM2 or
# the build's programs are missing.
ssh_require() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			die "$t is not installed (contrib/deps.sh: TEST_PACKAGES)" "required tools"
	done
	[ -n "${SOFTHSM_MODULE:-}" ] && [ -f "$SOFTHSM_MODULE" ] ||
		die "no SoftHSM2 module (SOFTHSM_MODULE='${SOFTHSM_MODULE:-}'): install softhsm2" "SoftHSM2"
	for t in "$P11AGENTD" "$P11AGENT" "$MKTOKEN"; do
		[ -x "$t" ] || die "$t is not built" "build"
	done
}

# sshc ARGS...: the raw SSH agent client, bounded in time.
sshc() {
	timeout -k 2 120 python3 "$SSH_CLIENT" "$@"
}

# ssh_add ARGS...: ssh-add on $SSH_SOCK, bounded in time, never asking a terminal.
ssh_add() {
	SSH_AUTH_SOCK=$SSH_SOCK timeout -k 2 30 setsid -w ssh-add "$@" </dev/null
}

# wait_ssh_socket PATH: waits (10 s at most, while the agent lives) until
# ssh-add reaches the SSH socket at PATH (exit 0: keys, 1: no keys; 2 is
# "cannot connect").
wait_ssh_socket() {
	local _ rc
	for _ in $(seq "$AGENT_WAIT"); do
		if [ -S "$1" ]; then
			SSH_AUTH_SOCK=$1 timeout 10 ssh-add -L >/dev/null 2>&1 </dev/null
			rc=$?
			[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] && return 0
		fi
		kill -0 "$AGENT_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# start_ssh_agent CONF [ARGS...]: p11agentd with config CONF (which names
# ssh-socket = $SSH_SOCK, or ARGS give --ssh-socket); fails the test unless
# both sockets answer.
start_ssh_agent() {
	local conf=$1
	shift
	start_agent --config "$conf" "$@" || return 1
	if ! wait_ssh_socket "$SSH_SOCK"; then
		fail "start agent" "ssh-add cannot reach the SSH socket $SSH_SOCK; log: $(tail -n 5 "$T/agent.log" | tr '\n' ' ')"
		return 1
	fi
	pass "the agent serves its SSH socket"
}

# ssh_pubfile NAME FILE: FILE is the OpenSSH public key line of key NAME,
# from 'p11agent pubkey NAME --format ssh' on the native socket.
ssh_pubfile() {
	if ! p11a pubkey "$1" --format ssh >"$2" 2>"$ERR"; then
		fail "pubkey $1 --format ssh" "$(show "$ERR")"
		return 1
	fi
}

# audit_has NAME FIELD=VALUE...: passes when a record of $AUDIT has all of
# them (tests/ssh-client.py audit: detail.front=ssh, op^=ssh-, key=null).
audit_has() {
	local name=$1
	shift
	if sshc audit "$AUDIT" "$@" >"$T/audit.count" 2>&1; then
		pass "$name"
	else
		fail "$name" "no record of the audit trail has $*"
	fi
}

# audit_count FIELD=VALUE...: how many records of $AUDIT have all of them.
audit_count() {
	sshc audit "$AUDIT" "$@" 2>/dev/null || true
}

# as_uid UID GID CMD...: CMD as uid UID, gid GID and no other group, with
# HOME=/ (ssh-add and ssh-keygen look there for nothing they need).
as_uid() {
	local uid=$1 gid=$2
	shift 2
	timeout -k 2 30 setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		env HOME=/ "$@"
}

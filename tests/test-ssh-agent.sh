#!/bin/sh
# test-ssh-agent.sh: p11agentd's SSH socket (ssh-socket) seen by OpenSSH's
# ssh-add and by a raw client (tests/ssh-client.py):
# - ssh-add -L lists exactly the lines of 'p11agent pubkey --all --format ssh'
#   for the agent's uid, less the key with ssh = no; another uid sees only
#   the keys its allow-users gives it, a third none; ssh-add -l prints
#   ssh-keygen -lf's fingerprints; the socket is 0660 for socket-group;
# - every ssh-add that would change the agent's keys (-D, -d, -x, -X, -s, -e,
#   adding a key file) fails, and ssh-add -L is the same after each;
# - a sign request with flags 0 (SHA-1 ssh-rsa) gets SSH_AGENT_FAILURE and
#   rsa-sha2-256/512 on the same connection are served; signatures of each
#   key type verify with OpenSSL; unknown messages get FAILURE and the
#   connection goes on; the extension "query" answers with the names, an
#   unknown one FAILURE, a session-bind with a bad signature FAILURE;
# - the audit trail has these requests with "detail":{"front":"ssh",...}.
# The parts run as other uids need root (setpriv); without root they are
# skipped, each named.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/ssh-lib.sh"

ssh_require python3 ssh-add ssh-keygen setpriv setsid timeout stat sort "$OPENSSL"
ROOT=0
[ "$(id -u)" -eq 0 ] && ROOT=1
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_EC384" "$KEY_EC521" "$KEY_ED25519" \
	"$KEY_NOLABEL" "$KEY_HMAC"

SGID=54320 # the sockets' group
# User A may use p256, ed and p384 (whose ssh = no). ssh-keygen wants a user
# database entry for its uid: nobody has one.
UA=$(id -u nobody 2>/dev/null || echo 65534)
UC=54323 # in the socket group, no key

# The other uids' files: readable by all; the rest of $T private but passable.
chmod 0711 "$T"
D=$T/data
mkdir -m 0755 "$D"
MSG=$D/msg
printf 'p11agent SSH agent test\n' >"$MSG"
head -c 1000 /dev/urandom >>"$MSG"
chmod 0644 "$MSG"
AUDIT=$T/audit.jsonl
SOCK=$T/run/agent.sock
SSH_SOCK=$T/run/ssh.sock
cat >"$T/p11agent.conf" <<EOF
# p11agentd test configuration: the SSH socket
socket-group = $SGID
audit-file = $AUDIT
ssh-socket = $SSH_SOCK
# Every refusal of the other uids in the trail.
max-denied-per-uid = 0

[key rsa]
uri = pkcs11:object=rsa2048;type=private

[key p256]
uri = pkcs11:object=ec256;type=private
allow-users = $UA

[key ed]
uri = pkcs11:object=ed25519;type=private
allow-users = $UA

[key p384]
uri = pkcs11:object=ec384;type=private
allow-users = $UA
ssh = no
EOF
start_ssh_agent "$T/p11agent.conf" || finish

mode=$(stat -c '%a %g' "$SSH_SOCK")
if [ "$mode" = "660 $SGID" ]; then
	pass "SSH socket is 0660 for socket-group"
else
	fail "SSH socket is 0660 for socket-group" "mode and group: $mode"
fi

# --- what the agent's uid sees ----------------------------------------------------
for k in rsa p256 ed p384; do
	ssh_pubfile "$k" "$D/$k.pub"
	p11a pubkey "$k" >"$D/$k.pem" 2>"$ERR" || fail "pubkey $k (PEM)" "$(show "$ERR")"
done
p11a pubkey ec521 >"$D/ec521.pem" 2>"$ERR" || fail "pubkey ec521 (PEM)" "$(show "$ERR")"
ssh_pubfile ec521 "$D/ec521.pub"
chmod 0644 "$D"/*
check "pubkey --all --format ssh" p11a pubkey --all --format ssh
sort "$OUT" >"$T/all.sorted"
if grep -qxF -f "$D/p384.pub" "$T/all.sorted"; then
	pass "pubkey --all --format ssh has the ssh = no key (the native front ignores ssh)"
else
	fail "pubkey --all --format ssh has the ssh = no key" "$(show "$T/all.sorted")"
fi
grep -vxF -f "$D/p384.pub" "$T/all.sorted" >"$T/expect.root"
# rsa, p256, ed, ec521 and the key without a label (comment: its URI); not
# p384 (ssh = no) nor the HMAC key.
n=$(wc -l <"$T/expect.root")
if [ "$n" -eq 5 ]; then
	pass "5 keys have an OpenSSH form and ssh = yes"
else
	fail "5 keys have an OpenSSH form and ssh = yes" "$n: $(show "$T/expect.root")"
fi

# same_lines NAME GOT EXPECTED: the two files hold the same lines, in any order.
same_lines() {
	if [ "$(sort "$2")" = "$(sort "$3")" ]; then
		pass "$1"
	else
		diff <(sort "$3") <(sort "$2") >"$T/lines.diff"
		fail "$1" "lines missing (<) and extra (>): $(show "$T/lines.diff")"
	fi
}
# same_keys NAME GOT EXPECTED: two files of OpenSSH key lines hold the same
# keys (type and blob), and then the same lines (the comments too).
same_keys() {
	cut -d' ' -f1-2 "$2" >"$T/keys.got"
	cut -d' ' -f1-2 "$3" >"$T/keys.expected"
	same_lines "$1: the same keys" "$T/keys.got" "$T/keys.expected"
	same_lines "$1: the same comments" "$2" "$3"
}

if check_rc "root: ssh-add -L" 0 ssh_add -L; then
	cp "$OUT" "$T/listed.root"
	same_keys "root: ssh-add -L is pubkey --all --format ssh less the ssh = no key" \
		"$T/listed.root" "$T/expect.root"
fi
if check_rc "root: raw identities request" 0 sshc identities "$SSH_SOCK"; then
	same_keys "root: the raw identities answer is the same" "$OUT" "$T/expect.root"
fi
if check_rc "root: ssh-add -l" 0 ssh_add -l; then
	cp "$OUT" "$T/fps"
	timeout 30 ssh-keygen -lf "$T/expect.root" >"$T/fps.expect" 2>"$ERR" ||
		fail "ssh-keygen -lf of the expected keys" "$(show "$ERR")"
	awk '{ print $1, $2 }' "$T/fps" >"$T/fps.got"
	awk '{ print $1, $2 }' "$T/fps.expect" >"$T/fps.want"
	same_lines "root: ssh-add -l prints ssh-keygen -lf's fingerprints" "$T/fps.got" "$T/fps.want"
fi
check "p384 (ssh = no) still signs on the native socket" p11a sign p384 -i "$MSG"

# --- other uids ---------------------------------------------------------------------
# ssh_add_as UID ARGS...: ssh-add as UID (gid: the socket group) on the SSH socket.
ssh_add_as() {
	local uid=$1
	shift
	as_uid "$uid" "$SGID" env SSH_AUTH_SOCK="$SSH_SOCK" ssh-add "$@" </dev/null
}
if [ "$ROOT" -eq 1 ]; then
	cat "$D/p256.pub" "$D/ed.pub" >"$T/expect.a"
	if check_rc "user A: ssh-add -L" 0 ssh_add_as "$UA" -L; then
		same_keys "user A: ssh-add -L lists p256 and ed only (not p384: ssh = no)" \
			"$OUT" "$T/expect.a"
	fi
	check_rc "user C: ssh-add -L finds no identities (exit 1)" 1 ssh_add_as "$UC" -L
	if grep -Eq '^(ssh-|ecdsa-)' "$OUT"; then
		fail "user C: no key lines" "$(show "$OUT")"
	else
		pass "user C: no key lines"
	fi
	# Signing as user A: with a key of its own, not with one it may not use.
	run as_uid "$UA" "$SGID" env SSH_AUTH_SOCK="$SSH_SOCK" \
		ssh-keygen -Y sign -f "$D/p256.pub" -n file <"$MSG"
	if [ "$RC" -eq 0 ]; then
		cp "$OUT" "$T/a.sig"
		pass "user A: ssh-keygen -Y sign with p256"
		check "user A: its signature checks" \
			sh -c 'ssh-keygen -Y check-novalidate -n file -s "$1" <"$2"' - "$T/a.sig" "$MSG"
	else
		fail "user A: ssh-keygen -Y sign with p256" "exit $RC: $(show "$ERR")"
	fi
	# (ssh-keygen does not ask the agent for a key it does not list.)
	run as_uid "$UA" "$SGID" env SSH_AUTH_SOCK="$SSH_SOCK" \
		ssh-keygen -Y sign -f "$D/rsa.pub" -n file <"$MSG"
	if [ "$RC" -ne 0 ] && [ ! -s "$OUT" ]; then
		pass "user A: ssh-keygen -Y sign with rsa (not its key) fails"
	else
		fail "user A: ssh-keygen -Y sign with rsa (not its key) fails" "exit $RC"
	fi
	# The raw client as user A, with a python3 that uid can run, asks anyway.
	cp "$SSH_CLIENT" "$D/ssh-client.py" && chmod 0644 "$D/ssh-client.py"
	PY_A=
	for py in "$(python3 -c 'import sys; print(sys.executable)')" /usr/bin/python3; do
		if as_uid "$UA" "$SGID" "$py" -c pass 2>/dev/null; then
			PY_A=$py
			break
		fi
	done
	if [ -n "$PY_A" ]; then
		check_rc "user A: raw sign with rsa (not its key) gets SSH_AGENT_FAILURE" 1 \
			as_uid "$UA" "$SGID" "$PY_A" "$D/ssh-client.py" sign "$SSH_SOCK" "$D/rsa.pub" \
			"$MSG" 2 /dev/null
	else
		fail "user A: raw sign with rsa" "no python3 that uid $UA can run"
	fi
else
	skip "other uids" "not root: setpriv cannot run ssh-add as uids $UA and $UC"
fi

# --- requests that would change the keys fail and change nothing -------------------
printf '#!/bin/sh\necho "a lock password"\n' >"$T/askpass"
chmod 0755 "$T/askpass"
timeout 30 ssh-keygen -q -t ed25519 -N '' -C added -f "$T/added" >/dev/null 2>&1 ||
	fail "ssh-keygen makes a key to add" "exit $?"
# ssh_add_askpass ARGS...: ssh-add, which reads passwords and PINs from $T/askpass.
ssh_add_askpass() {
	SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh_add "$@"
}
# refused NAME ARGS...: ssh-add ARGS fails (exit 1: the agent said no; 2
# would be "cannot connect"), and ssh-add -L prints what it did before.
refused() {
	local name=$1
	shift
	run ssh_add_askpass "$@"
	if [ "$RC" -eq 1 ]; then
		pass "ssh-add $name fails (exit 1: $(head -n 1 "$ERR"))"
	else
		fail "ssh-add $name fails with exit 1" "exit $RC; stderr: $(show "$ERR")"
	fi
	if ssh_add -L >"$T/after" 2>&1 && cmp -s "$T/after" "$T/listed.root"; then
		pass "ssh-add -L unchanged after ssh-add $name"
	else
		fail "ssh-add -L unchanged after ssh-add $name" "$(show "$T/after")"
	fi
}
refused "-D (remove all)" -D
refused "-d KEYFILE (remove one)" -d "$D/p256.pub"
refused "-x (lock)" -x
refused "-X (unlock)" -X
refused "-s MODULE (add a PKCS#11 provider)" -s "$SOFTHSM_MODULE"
refused "-e MODULE (remove a PKCS#11 provider)" -e "$SOFTHSM_MODULE"
refused "KEYFILE (add a private key)" "$T/added"
refused "-t 60 KEYFILE (add with a lifetime)" -t 60 "$T/added"

# --- the raw client -------------------------------------------------------------------
sshc checks "$SSH_SOCK" "$D/rsa.pub" "$MSG" "$T" >"$T/checks.out" 2>&1
rc=$?
count_lines <"$T/checks.out"
[ "$rc" -ne 2 ] || fail "raw client checks" "ssh-client.py could not run them (exit 2)"
for h in sha256 sha512; do
	if [ -s "$T/rsa-$h.sig" ] &&
		ossl dgst "-$h" -verify "$D/rsa.pem" -signature "$T/rsa-$h.sig" "$MSG" >"$T/v" 2>&1; then
		pass "rsa-$h signature verifies with OpenSSL"
	else
		fail "rsa-$h signature verifies with OpenSSL" "$(show "$T/v")"
	fi
done
# raw_sign NAME KEY FLAGS TYPE VERIFY...: a raw sign request with KEY's line
# gets a TYPE signature that VERIFY (openssl ..., $T/raw.sig) accepts.
raw_sign() {
	local name=$1 key=$2 flags=$3 type=$4
	shift 4
	rm -f "$T/raw.sig"
	if ! check_rc "raw sign: $name" 0 sshc sign "$SSH_SOCK" "$D/$key.pub" "$MSG" "$flags" "$T/raw.sig"; then
		return
	fi
	[ "$(cat "$OUT")" = "$type" ] && pass "raw sign: $name is $type" ||
		fail "raw sign: $name is $type" "got $(show "$OUT")"
	if ossl "$@" >"$T/v" 2>&1; then
		pass "raw sign: $name verifies with OpenSSL"
	else
		fail "raw sign: $name verifies with OpenSSL" "$(show "$T/v")"
	fi
}
raw_sign "ECDSA P-256" p256 0 ecdsa-sha2-nistp256 \
	dgst -sha256 -verify "$D/p256.pem" -signature "$T/raw.sig" "$MSG"
raw_sign "ECDSA P-521" ec521 0 ecdsa-sha2-nistp521 \
	dgst -sha512 -verify "$D/ec521.pem" -signature "$T/raw.sig" "$MSG"
raw_sign "Ed25519" ed 0 ssh-ed25519 \
	pkeyutl -verify -rawin -pubin -inkey "$D/ed.pem" -in "$MSG" -sigfile "$T/raw.sig"
raw_sign "RSA, flags 6 (both SHA-2 flags)" rsa 6 rsa-sha2-512 \
	dgst -sha512 -verify "$D/rsa.pem" -signature "$T/raw.sig" "$MSG"
check_rc "raw sign: p384 (ssh = no) gets SSH_AGENT_FAILURE" 1 \
	sshc sign "$SSH_SOCK" "$D/p384.pub" "$MSG" 0 "$T/raw.sig"

# --- the audit trail --------------------------------------------------------------------
audit_has "audit: ssh-add -L as root (op list)" detail.front=ssh op=list uid=0 status=OK
if [ "$ROOT" -eq 1 ]; then
	audit_has "audit: ssh-add -L as user A" detail.front=ssh op=list uid="$UA"
	audit_has "audit: user A's signature with p256" detail.front=ssh op=sign uid="$UA" key=p256 status=OK
	audit_has "audit: user A refused rsa" detail.front=ssh op=sign uid="$UA" status!=OK
fi
audit_has "audit: the SHA-2 RSA signatures" detail.front=ssh op=sign key=rsa status=OK
audit_has "audit: the SHA-1 request refused" detail.front=ssh op=sign key=rsa status!=OK
audit_has "audit: p384 refused on the SSH front" detail.front=ssh op=sign key=p384 status!=OK
audit_has "audit: remove refused (NOT_SUPPORTED)" detail.front=ssh op^=ssh-remove status=NOT_SUPPORTED
audit_has "audit: lock refused (NOT_SUPPORTED)" detail.front=ssh op=ssh-lock status=NOT_SUPPORTED
audit_has "audit: add refused (NOT_SUPPORTED)" detail.front=ssh op^=ssh-add status=NOT_SUPPORTED
audit_has "audit: the query extension" detail.front=ssh op=ssh-extension status=OK
# 8 refused ssh-add commands and 9 refused raw messages, each a record.
n=$(audit_count detail.front=ssh status=NOT_SUPPORTED op^=ssh-)
if [ "${n:-0}" -ge 17 ]; then
	pass "audit: each refused key management request is NOT_SUPPORTED ($n)"
else
	fail "audit: each refused key management request is NOT_SUPPORTED" "${n:-0} records, 17 expected"
fi
# Every record of the SSH front has the four detail fields.
if python3 - "$AUDIT" >"$T/detail.out" 2>&1 <<'EOF'; then
import json, sys
n = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    d = r.get("detail")
    if not isinstance(d, dict) or d.get("front") != "ssh":
        continue
    n += 1
    if set(d) != {"front", "login", "namespace", "host_key"}:
        bad += 1
        if bad <= 3:
            print("seq %s op %s: detail %s" % (r.get("seq"), r.get("op"), json.dumps(d)))
print("%d records of the SSH front, %d with other detail fields" % (n, bad))
sys.exit(0 if n > 0 and bad == 0 else 1)
EOF
	pass "audit: SSH records' detail is front, login, namespace, host_key ($(tail -n 1 "$T/detail.out"))"
else
	fail "audit: SSH records' detail is front, login, namespace, host_key" "$(show "$T/detail.out")"
fi

agent_alive "agent still serving"
stop_agent
if [ -e "$SSH_SOCK" ]; then
	fail "the SSH socket is removed at exit" "$SSH_SOCK is still there"
else
	pass "the SSH socket is removed at exit"
fi

# Mistakes at start: the option's value forgotten, the main socket's path given.
check_rc "--ssh-socket without a value: usage error" 2 timeout -k 2 30 "$P11AGENTD" --ssh-socket
check_err "... that names the option" "option --ssh-socket: missing its value"
check_rc "--ssh-socket the same as --socket: the agent does not start" 1 \
	timeout -k 2 60 "$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" \
	--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$T/same.sock" \
	--ssh-socket "$T/same.sock"
check_err "... and says why" "ssh-socket .*same.sock: the same path as the main socket"
if [ -e "$T/same.sock" ]; then
	fail "... and leaves no socket behind" "$T/same.sock is there"
else
	pass "... and leaves no socket behind"
fi
finish

#!/bin/sh
# test-ssh-sign.sh: SSH signatures (PROTOCOL.sshsig) made through p11agentd's
# SSH socket by OpenSSH's own ssh-keygen -Y sign, which uses the agent when
# -f names a public key the agent holds:
# - RSA, ECDSA P-256/384/521 and Ed25519: the signature verifies with
#   ssh-keygen -Y verify against an allowed signers file, names its signer
#   (find-principals), and fails on a tampered file;
# - git signs commits with gpg.format = ssh (user.signingkey as a key:: line
#   and as a file) and git verify-commit accepts them;
# - ssh-namespaces = git: -n git signs, -n file and raw data are refused,
#   DENIED in the audit trail with the namespace; ssh-logins alone: no
#   SSHSIG at all; ssh-namespaces = git,file: both, and no other; keys with
#   either do not sign on the native socket, which cannot tell what a digest
#   is for.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/ssh-lib.sh"

ssh_require python3 ssh-keygen ssh-add git setsid timeout cmp
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_EC384" "$KEY_EC521" "$KEY_ED25519" \
	ec:P-256:gitsign:50 ec:P-256:loginsign:51 ec:P-384:twons:52
AUDIT=$T/audit.jsonl
cat >"$T/p11agent.conf" <<EOF
# p11agentd test configuration: SSH signatures
audit-file = $AUDIT
ssh-socket = $SSH_SOCK

$SSH_KEY_SECTIONS

[key gitonly]
uri = pkcs11:object=gitsign;type=private
ssh-namespaces = git

[key loginonly]
uri = pkcs11:object=loginsign;type=private
ssh-logins = root

[key twons]
uri = pkcs11:object=twons;type=private
ssh-namespaces = git, file
EOF
start_ssh_agent "$T/p11agent.conf" || finish

DATA=$T/data
printf 'a release artifact\n' >"$DATA"
head -c 5000 /dev/urandom >>"$DATA"
KEYS="rsa p256 p384 p521 ed gitonly loginonly twons"
: >"$T/allowed_signers"
for k in $KEYS; do
	ssh_pubfile "$k" "$T/$k.pub" || finish
	echo "signer-$k@example.org namespaces=\"file,git\" $(cat "$T/$k.pub")" >>"$T/allowed_signers"
done

# ysign KEY NAMESPACE FILE: ssh-keygen -Y sign with KEY through the agent;
# writes FILE.sig.
ysign() {
	rm -f "$3.sig"
	SSH_AUTH_SOCK=$SSH_SOCK timeout -k 2 30 ssh-keygen -Y sign -f "$T/$1.pub" -n "$2" "$3"
}
# yverify KEY NAMESPACE FILE SIG: ssh-keygen -Y verify against allowed_signers.
yverify() {
	timeout -k 2 30 ssh-keygen -Y verify -f "$T/allowed_signers" -I "signer-$1@example.org" \
		-n "$2" -s "$4" <"$3"
}

# --- each key type ------------------------------------------------------------------
for k in rsa p256 p384 p521 ed; do
	cp "$DATA" "$T/data.$k"
	check_rc "$k: ssh-keygen -Y sign -n file" 0 ysign "$k" file "$T/data.$k" || continue
	check "$k: ssh-keygen -Y verify" yverify "$k" file "$T/data.$k" "$T/data.$k.sig"
	run timeout 30 ssh-keygen -Y find-principals -f "$T/allowed_signers" -s "$T/data.$k.sig"
	if [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = "signer-$k@example.org" ]; then
		pass "$k: the signature is $k's (find-principals)"
	else
		fail "$k: the signature is $k's (find-principals)" "exit $RC: $(show "$OUT") $(show "$ERR")"
	fi
	printf 'tampered' | dd of="$T/data.$k" bs=1 seek=2 conv=notrunc 2>/dev/null
	check_rc "$k: a tampered file fails to verify" 255 yverify "$k" file "$T/data.$k" "$T/data.$k.sig"
	check_rc "$k: another namespace fails to verify" 255 yverify "$k" git "$DATA" "$T/data.$k.sig"
done
# RSA signs SSHSIG with rsa-sha2-512 (ssh-keygen's choice): never SHA-1.
if [ -s "$T/data.rsa.sig" ] && python3 - "$T/data.rsa.sig" >"$T/rsa.sigtype" 2>&1 <<'EOF'; then
import base64, struct, sys
b = base64.b64decode("".join(l for l in open(sys.argv[1]) if not l.startswith("-----")))
def s(b, i):
    n = struct.unpack(">I", b[i:i + 4])[0]
    return b[i + 4:i + 4 + n], i + 4 + n
i = 10  # "SSHSIG" and the version
for _ in range(4):  # public key, namespace, reserved, hash algorithm
    _, i = s(b, i)
sig, _ = s(b, i)
kind, _ = s(sig, 0)
print(kind.decode())
sys.exit(0 if kind == b"rsa-sha2-512" else 1)
EOF
	pass "rsa: the SSHSIG holds an rsa-sha2-512 signature"
else
	fail "rsa: the SSHSIG holds an rsa-sha2-512 signature" "$(show "$T/rsa.sigtype")"
fi

# --- ssh-namespaces and ssh-logins ----------------------------------------------------
# refused_sign NAME KEY NAMESPACE: ssh-keygen -Y sign fails, writes no signature,
# and the trail has a DENIED sign of the SSH front with that namespace.
refused_sign() {
	local name=$1 key=$2 ns=$3
	cp "$DATA" "$T/data.r"
	run ysign "$key" "$ns" "$T/data.r"
	if [ "$RC" -ne 0 ] && [ ! -e "$T/data.r.sig" ]; then
		pass "$name: ssh-keygen -Y sign -n $ns is refused (exit $RC)"
	else
		fail "$name: ssh-keygen -Y sign -n $ns is refused" "exit $RC"
	fi
	audit_has "$name: DENIED in the audit trail with namespace $ns" \
		detail.front=ssh op=sign key="$key" status=DENIED detail.namespace="$ns"
}
refused_sign "gitonly" gitonly file
cp "$DATA" "$T/data.g"
check_rc "gitonly: ssh-keygen -Y sign -n git" 0 ysign gitonly git "$T/data.g" &&
	check "gitonly: -n git verifies" yverify gitonly git "$T/data.g" "$T/data.g.sig"
audit_has "gitonly: the git signature in the trail" \
	detail.front=ssh op=sign key=gitonly status=OK detail.namespace=git
check_rc "gitonly: raw data (not SSHSIG) is refused" 1 \
	sshc sign "$SSH_SOCK" "$T/gitonly.pub" "$DATA" 0 "$T/raw.sig"
audit_has "gitonly: raw data DENIED, no namespace" \
	detail.front=ssh op=sign key=gitonly status=DENIED detail.namespace=null
refused_sign "loginonly (ssh-logins alone)" loginonly file
refused_sign "loginonly (ssh-logins alone)" loginonly git
for ns in git file; do
	cp "$DATA" "$T/data.t"
	check_rc "twons: ssh-keygen -Y sign -n $ns" 0 ysign twons "$ns" "$T/data.t" &&
		check "twons: -n $ns verifies" yverify twons "$ns" "$T/data.t" "$T/data.t.sig"
done
refused_sign "twons" twons "example@example.org"
# The native socket signs digests, which the agent cannot classify: a key held
# to some namespaces or logins does not sign there at all (exit 4, DENIED).
for key in gitonly loginonly; do
	check_rc "$key: p11agent sign on the native socket is refused" 4 \
		p11a sign "$key" -i "$DATA" -o "$T/native.$key.sig"
	check_err "$key: ... and says it signs over the SSH socket only" \
		"\\[key $key\\] signs only SSH .* over the SSH socket"
	audit_has "$key: the native refusal in the trail" op=sign key="$key" status=DENIED \
		detail=null
done
check "gitonly: p11agent pubkey on the native socket still works" \
	p11a pubkey gitonly

# --- git -------------------------------------------------------------------------------
# git in a repository of its own, with no user or system configuration.
G=$T/repo
mkdir -p "$T/home" "$G"
gitc() {
	(cd "$G" && HOME=$T/home GIT_CONFIG_NOSYSTEM=1 SSH_AUTH_SOCK=$SSH_SOCK \
		timeout -k 2 60 git "$@")
}
echo "tester@example.org namespaces=\"git\" $(cat "$T/ed.pub")" >"$T/allowed_git"
echo "tester@example.org namespaces=\"git\" $(cat "$T/p256.pub")" >>"$T/allowed_git"
echo "tester@example.org namespaces=\"git\" $(cat "$T/gitonly.pub")" >>"$T/allowed_git"
gitc init -q . &&
	gitc config user.name "P11agent Tester" &&
	gitc config user.email tester@example.org &&
	gitc config gpg.format ssh &&
	gitc config gpg.ssh.allowedSignersFile "$T/allowed_git" ||
	fail "git repository" "cannot set it up"
# git_signed NAME SIGNINGKEY: a signed commit with SIGNINGKEY, which verify-commit accepts.
git_signed() {
	local name=$1
	gitc config user.signingkey "$2"
	echo "$name" >>"$G/file"
	gitc add file
	if check_rc "git: commit -S with $name" 0 gitc commit -q -S -m "signed with $name"; then
		check_rc "git: verify-commit HEAD ($name)" 0 gitc verify-commit HEAD
		check_err "git: verify-commit says Good (\"git\") signature ($name)" \
			'Good "git" signature for tester@example.org'
	fi
}
git_signed "a key:: line (ed)" "key::$(cut -d' ' -f1-2 "$T/ed.pub")"
git_signed "a public key file (p256)" "$T/p256.pub"
git_signed "the git-only key" "$T/gitonly.pub"
run gitc log --show-signature -1
if grep -q 'Good "git" signature' "$OUT"; then
	pass "git: log --show-signature shows the good signature"
else
	fail "git: log --show-signature shows the good signature" "$(show "$OUT") $(show "$ERR")"
fi
# A key that may not sign git commits: the commit fails and nothing is committed.
head_before=$(gitc rev-parse HEAD)
gitc config user.signingkey "$T/loginonly.pub"
echo refused >>"$G/file"
gitc add file
run gitc commit -q -S -m "not signed"
if [ "$RC" -ne 0 ]; then
	pass "git: commit -S with the login-only key fails (exit $RC)"
else
	fail "git: commit -S with the login-only key fails" "exit 0"
fi
[ "$(gitc rev-parse HEAD)" = "$head_before" ] && pass "git: no commit was made" ||
	fail "git: no commit was made" "HEAD moved"

agent_alive "agent still serving"
finish

#!/bin/sh
# test-access.sh: who may use which key, with clients that really run as
# other uids (setpriv). The agent runs as root (the test's uid); its config
# gives the socket to a group and names keys for numeric uids and gids that
# need no entry in the user database:
#   54321  user A: may use a-signer, a-restricted (sign, rsa-pss-sha256 only)
#          and a-hmac (verify only)
#   54322  user B: in supplementary group 54330, which may use group-signer
#   54323  user C: in the socket group, but no key is for it
#   54324  user D: not in the socket group: cannot even connect
# Each checks: what works signs and verifies with OpenSSL; what does not gets
# DENIED (exit 4), and is in the audit trail; list shows a user only its keys;
# the agent's own uid sees every key and is still bound by allow-ops and
# allow-algs. Skipped (exit 77) unless run as root with setpriv (util-linux).
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: test-access.sh needs root, to connect as other uids (setpriv)"
	exit 77
fi
require_tools setpriv python3 stat cmp timeout
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_EC384" "$KEY_EC521" "$KEY_ED25519" "$KEY_HMAC"
NKEYS=6

SGID=54320 # the socket's group; every user but D has it as primary group
UA=54321
UB=54322
UC=54323
UD=54324
GB=54330 # B's supplementary group

# The clients' files: readable by all; the rest of $T stays private but passable.
chmod 0711 "$T"
D=$T/data
mkdir -m 0755 "$D"
MSG=$D/msg
printf 'p11agent access test\n' >"$MSG"
head -c 2000 /dev/urandom >>"$MSG"
chmod 0644 "$MSG"
cp "$top_srcdir/tests/lsan.supp" "$D/lsan.supp" 2>/dev/null && chmod 0644 "$D/lsan.supp"
USER_LSAN_OPTIONS="suppressions=$D/lsan.supp:print_suppressions=0"

# The socket in a folder of its own, which the agent makes for its group.
SOCK=$T/run/agent.sock
cat >"$T/p11agent.conf" <<EOF
# p11agentd test configuration: access control
socket-group = $SGID
audit-file = $T/audit.jsonl

[key a-signer]
uri = pkcs11:object=ec256;type=private
allow-users = $UA

[key group-signer]
uri = pkcs11:object=ed25519;type=private
allow-groups = $GB

[key a-restricted]
uri = pkcs11:object=rsa2048;type=private
allow-users = $UA, $UB
allow-ops = sign
allow-algs = rsa-pss-sha256

[key a-hmac]
uri = pkcs11:object=hmac
allow-users = $UA
allow-ops = verify

[key private]
uri = pkcs11:object=ec384;type=private
EOF
start_agent --config "$T/p11agent.conf" || finish

# The socket belongs to the group, mode 0660 (server.c, socket-group).
mode=$(stat -c '%a %g' "$SOCK")
if [ "$mode" = "660 $SGID" ]; then
	pass "socket is 0660 for socket-group"
else
	fail "socket is 0660 for socket-group" "mode and group: $mode"
fi

# The CLI as another user must reach the build tree. When it cannot (a build
# under a private home), a copy of the real binary and its library is used.
CLI=$P11AGENT
CLI_ENV=
# as UID GID GROUPS CMD...: CMD as uid UID, gid GID, supplementary GROUPS ("-": none).
as() {
	local uid=$1 gid=$2 groups=$3
	shift 3
	if [ "$groups" = - ]; then
		groups=--clear-groups
	else
		groups=--groups=$groups
	fi
	# shellcheck disable=SC2086 # CLI_ENV is a list of VAR=VALUE words
	timeout -k 2 30 setpriv --reuid="$uid" --regid="$gid" "$groups" \
		env LSAN_OPTIONS="$USER_LSAN_OPTIONS" $CLI_ENV "$@"
}
# p11u UID GID GROUPS ARGS...: the CLI as that user on the test socket.
p11u() {
	local uid=$1 gid=$2 groups=$3
	shift 3
	as "$uid" "$gid" "$groups" "$CLI" -S "$SOCK" "$@"
}
cli_for_other_users "$UA" as "$UA" "$SGID" -

# The public keys, as the agent's own uid exports them.
p11a pubkey a-signer >"$D/ec256.pem" 2>"$ERR" || fail "pubkey a-signer (agent uid)" "$(show "$ERR")"
p11a pubkey group-signer >"$D/ed25519.pem" 2>"$ERR" ||
	fail "pubkey group-signer (agent uid)" "$(show "$ERR")"
p11a pubkey a-restricted >"$D/rsa2048.pem" 2>"$ERR" ||
	fail "pubkey a-restricted (agent uid)" "$(show "$ERR")"

# check_ossl NAME CMD...: passes when OpenSSL's CMD says Verified.
check_ossl() {
	local name=$1
	shift
	if ossl "$@" >"$T/ossl.out" 2>&1 && grep -q 'Verified' "$T/ossl.out"; then
		pass "$name"
	else
		fail "$name" "openssl: $(show "$T/ossl.out")"
	fi
}

# listed NAME UID GID GROUPS KEY...: list as that user shows exactly the KEYs (a
# key's first column is its config name when it has one).
listed() {
	local name=$1 uid=$2 gid=$3 groups=$4 want got
	shift 4
	check_rc "$name: list" 0 p11u "$uid" "$gid" "$groups" list || return
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
	got=$(awk 'NF > 0 { print $1 }' "$OUT" | sort | tr '\n' ' ')
	if [ "$got" = "$want" ]; then
		pass "$name: list shows only its keys"
	else
		fail "$name: list shows only its keys" "got '$got', expected '$want'"
	fi
}

# denied NAME CMD...: CMD is refused by policy (lib.sh, check_denied).
denied() { check_denied "$1" 'denied|allow-|may not|not for uid' "${@:2}"; }

# --- user A ------------------------------------------------------------------------
listed "user A" "$UA" "$SGID" - a-signer a-restricted a-hmac
if check_rc "user A: sign a-signer" 0 p11u "$UA" "$SGID" - sign a-signer <"$MSG"; then
	cp "$OUT" "$D/a.sig"
	check_ossl "user A: a-signer's signature verifies" \
		dgst -sha256 -verify "$D/ec256.pem" -signature "$D/a.sig" "$MSG"
fi
check_rc "user A: pubkey a-signer" 0 p11u "$UA" "$SGID" - pubkey a-signer
if cmp -s "$OUT" "$D/ec256.pem"; then
	pass "user A: pubkey a-signer is the agent's"
else
	fail "user A: pubkey a-signer is the agent's" "$(show "$OUT")"
fi
check_hidden "user A: sign private (no allow-users)" p11u "$UA" "$SGID" - sign private -i "$MSG"
check_hidden "user A: sign a key without a section" p11u "$UA" "$SGID" - sign ec521 -i "$MSG"
check_hidden "user A: pubkey private" p11u "$UA" "$SGID" - pubkey private
check_hidden "user A: sign group-signer" p11u "$UA" "$SGID" - sign group-signer -i "$MSG"
# A key that is there for others and one that is nowhere: the same answer.
p11u "$UA" "$SGID" - pubkey private >/dev/null 2>"$T/hidden.err"
p11u "$UA" "$SGID" - pubkey no-such-key >/dev/null 2>"$T/none.err"
if [ "$(sed 's/private/KEY/g' "$T/hidden.err")" = "$(sed 's/no-such-key/KEY/g' "$T/none.err")" ]; then
	pass "user A: a hidden key and a missing one get the same message"
else
	fail "user A: a hidden key and a missing one get the same message" \
		"$(show "$T/hidden.err") vs $(show "$T/none.err")"
fi
# An ambiguous reference lists only the keys A may see.
run p11u "$UA" "$SGID" - pubkey "pkcs11:"
if grep -q 'matches 3 keys' "$ERR" && grep -q 'object=ec256' "$ERR" &&
	! grep -Eq 'object=(ec384|ec521|ed25519)' "$ERR"; then
	pass "user A: 'pkcs11:' lists only A's keys"
else
	fail "user A: 'pkcs11:' lists only A's keys" "exit $RC: $(show "$ERR")"
fi
check_hidden "user A: key by id of a hidden key" p11u "$UA" "$SGID" - pubkey id:04
# allow-ops = sign, allow-algs = rsa-pss-sha256
if check_rc "user A: sign a-restricted rsa-pss-sha256" 0 \
	p11u "$UA" "$SGID" - sign a-restricted --alg rsa-pss-sha256 -i "$MSG"; then
	cp "$OUT" "$D/pss.sig"
	check_ossl "user A: a-restricted's PSS signature verifies" \
		dgst -sha256 -verify "$D/rsa2048.pem" -sigopt rsa_padding_mode:pss \
		-sigopt rsa_pss_saltlen:digest -signature "$D/pss.sig" "$MSG"
fi
denied "user A: a-restricted rsa-pkcs1-sha256 (allow-algs)" \
	p11u "$UA" "$SGID" - sign a-restricted --alg rsa-pkcs1-sha256 -i "$MSG"
check_err "user A: a-restricted names the rule" 'allow-algs'
denied "user A: a-restricted default algorithm (allow-algs)" \
	p11u "$UA" "$SGID" - sign a-restricted -i "$MSG"
printf 'a secret\n' | ossl pkeyutl -encrypt -pubin -inkey "$D/rsa2048.pem" \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
	-out "$D/ct" 2>/dev/null
chmod 0644 "$D/ct"
denied "user A: decrypt with a-restricted (allow-ops)" \
	p11u "$UA" "$SGID" - decrypt a-restricted -i "$D/ct"
check_err "user A: decrypt names the rule" 'allow-ops'
# allow-ops = verify: the MAC can be checked, not made.
ossl dgst -sha256 -mac HMAC -macopt "hexkey:$HMAC_HEX" -binary "$MSG" >"$D/mac"
chmod 0644 "$D/mac"
check_rc "user A: verify with a-hmac" 0 p11u "$UA" "$SGID" - verify a-hmac --sig "$D/mac" -i "$MSG"
denied "user A: hmac with a-hmac (allow-ops = verify)" p11u "$UA" "$SGID" - hmac a-hmac -i "$MSG"

# --- user B: by a supplementary group ------------------------------------------------
listed "user B" "$UB" "$SGID" "$GB" group-signer a-restricted
if check_rc "user B: sign group-signer" 0 p11u "$UB" "$SGID" "$GB" sign group-signer <"$MSG"; then
	cp "$OUT" "$D/b.sig"
	check_ossl "user B: group-signer's signature verifies" \
		pkeyutl -verify -rawin -pubin -inkey "$D/ed25519.pem" -in "$MSG" -sigfile "$D/b.sig"
fi
check_hidden "user B without its group: sign group-signer" \
	p11u "$UB" "$SGID" - sign group-signer -i "$MSG"
check_hidden "user B: sign a-signer" p11u "$UB" "$SGID" "$GB" sign a-signer -i "$MSG"

# --- user C: may connect, may use nothing ---------------------------------------------
listed "user C" "$UC" "$SGID" -
check_hidden "user C: sign a-signer" p11u "$UC" "$SGID" - sign a-signer -i "$MSG"
run p11u "$UC" "$SGID" - pubkey "pkcs11:"
if [ "$RC" -eq 5 ] && ! grep -q 'pkcs11:.*object=' "$ERR"; then
	pass "user C: 'pkcs11:' names no key"
else
	fail "user C: 'pkcs11:' names no key" "exit $RC: $(show "$ERR")"
fi
check_rc "user C: ping" 0 p11u "$UC" "$SGID" - ping

# --- a PIN in a key reference never reaches the trail or the log -----------------------
for ref in "pkcs11:object=ec256;pin-value=97531864" "pkcs11:object=ec256?pin-value=97531864"; do
	run p11u "$UA" "$SGID" - sign "$ref" -i "$MSG"
	if grep -q 97531864 "$ERR" "$OUT"; then
		fail "pin-value in '${ref%%=9*}': not echoed" "$(show "$ERR")"
	else
		pass "pin-value in '${ref%%=9*}': not echoed (exit $RC)"
	fi
done

# --- user D: not in the socket group --------------------------------------------------
check_rc "user D: cannot reach the socket (exit 3)" 3 p11u "$UD" "$UD" - ping

# --- the agent's own uid --------------------------------------------------------------
if check_rc "agent uid: list" 0 p11a list; then
	n=$(grep -c 'pkcs11:' "$OUT")
	if [ "$n" -eq "$NKEYS" ]; then
		pass "agent uid: list shows every key"
	else
		fail "agent uid: list shows every key" "$n of $NKEYS: $(show "$OUT")"
	fi
fi
check_rc "agent uid: sign private" 0 p11a sign private -i "$MSG"
check_rc "agent uid: sign a key without a section" 0 p11a sign ec521 -i "$MSG"
denied "agent uid: a-restricted rsa-pkcs1-sha256 (allow-algs binds it too)" \
	p11a sign a-restricted --alg rsa-pkcs1-sha256 -i "$MSG"

# --- the audit trail has the refusals, with the peer's uid ----------------------------
if python3 - "$T/audit.jsonl" "$UA" "$UC" >"$T/audit.out" 2>&1 <<'EOF'; then
import json, sys
# Keys the peer may not see: the peer was told NO_SUCH_KEY; the trail names the key.
want = {(int(sys.argv[2]), "private"), (int(sys.argv[2]), "group-signer"),
        (int(sys.argv[3]), "a-signer")}
seen = set()
ok = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("status") == "NO_SUCH_KEY":
        seen.add((r.get("uid"), r.get("key")))
    if r.get("status") == "OK" and r.get("uid") == int(sys.argv[2]) and r.get("key") == "a-signer":
        ok += 1
missing = want - seen
if missing or ok == 0:
    print("missing NO_SUCH_KEY records:", sorted(missing), "OK records of A on a-signer:", ok)
    sys.exit(1)
EOF
	pass "audit trail records the refusals and the uses"
else
	fail "audit trail records the refusals and the uses" "$(show "$T/audit.out")"
fi
if grep -q 97531864 "$T/audit.jsonl" "$T/agent.log"; then
	fail "no pin-value in the trail or the log" "$(grep -c 97531864 "$T/audit.jsonl") in the trail"
else
	pass "no pin-value in the trail or the log"
fi

agent_alive "agent still serving"
finish

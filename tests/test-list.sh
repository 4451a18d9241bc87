#!/bin/sh
# test-list.sh: list shows each key's fingerprint as 'ssh-add -l' prints it,
# equal to what ssh-keygen -lf says of the key 'pubkey --format ssh' exports;
# 'pubkey --all' prints every public key, as 'ssh-add -L' does.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 timeout ssh-keygen
make_token "$KEY_RSA2048" "$KEY_RSA3072" "$KEY_EC256" "$KEY_EC384" "$KEY_EC521" \
	"$KEY_ED25519" "$KEY_HMAC" "$KEY_AES"
start_agent || finish

# --json: one "uri TAB type TAB fingerprint" line a key, in list's order.
check "list --json" p11a --json list
python3 -c '
import json, sys
for k in json.load(open(sys.argv[1])):
    print("%s\t%s\t%s" % (k["uri"], k["type"], k["fingerprint"]))
' "$OUT" >"$T/keys" || die "list --json: not JSON, or a key without \"fingerprint\": $(show "$OUT")"
check "list" p11a list
cp "$OUT" "$T/table"

n_asym=0
: >"$T/expect-all"
while IFS="$(printf '\t')" read -r uri type fp; do
	case $type in
	rsa | ec | ed25519)
		n_asym=$((n_asym + 1))
		if ! check "pubkey --format ssh $uri" p11a pubkey "$uri" --format ssh; then
			continue
		fi
		cat "$OUT" >>"$T/expect-all"
		cp "$OUT" "$T/key.pub"
		want=$(timeout 30 ssh-keygen -lf "$T/key.pub" | awk '{print $2}')
		if [ -n "$want" ] && [ "$fp" = "$want" ]; then
			pass "$type key: list --json fingerprint is ssh-keygen's ($want)"
		else
			fail "$type key: list --json fingerprint" "got '$fp', ssh-keygen says '$want'"
		fi
		if grep -F -- "$uri" "$T/table" | grep -Fq -- "  $want  "; then
			pass "$type key: the table shows ssh-keygen's fingerprint"
		else
			fail "$type key: the table's fingerprint" "$(grep -F -- "$uri" "$T/table")"
		fi
		;;
	*)
		if [ -z "$fp" ]; then
			pass "$type key: no fingerprint in --json"
		else
			fail "$type key: no fingerprint in --json" "got '$fp'"
		fi
		if grep -F -- "$uri" "$T/table" | grep -Eq -- "  -  +pkcs11:"; then
			pass "$type key: '-' in the table"
		else
			fail "$type key: '-' in the table" "$(grep -F -- "$uri" "$T/table")"
		fi
		;;
	esac
done <"$T/keys"
[ "$n_asym" -eq 6 ] || fail "asymmetric keys listed" "$n_asym, expected 6"

# --- pubkey --all ---------------------------------------------------------------
if check "pubkey --all --format ssh" p11a pubkey --all --format ssh &&
	cmp -s "$OUT" "$T/expect-all"; then
	pass "pubkey --all --format ssh: every key's line, in list's order"
else
	fail "pubkey --all --format ssh" "$(show "$OUT") vs $(show "$T/expect-all")"
fi
cp "$OUT" "$T/all.pub"
if [ "$(timeout 30 ssh-keygen -lf "$T/all.pub" | awk '{print $2}' | sort)" = \
	"$(awk -F '\t' '$3 != "" {print $3}' "$T/keys" | sort)" ]; then
	pass "ssh-keygen -lf of pubkey --all: list's fingerprints"
else
	fail "ssh-keygen -lf of pubkey --all" "$(timeout 30 ssh-keygen -lf "$T/all.pub" 2>&1)"
fi
check "pubkey --all (pem)" p11a pubkey --all
n=$(grep -c -- '-----BEGIN PUBLIC KEY-----' "$OUT")
[ "$n" -eq 6 ] && pass "pubkey --all: one PEM block a key" ||
	fail "pubkey --all: one PEM block a key" "$n blocks"
check_rc "pubkey --all with KEY" 2 p11a pubkey --all ec256 --format ssh
check_err "pubkey --all with KEY: message" "either KEY or --all"
check_rc "pubkey --all --format der" 2 p11a pubkey --all --format der
check_err "pubkey --all --format der: message" "--format pem or ssh"
check_rc "pubkey without KEY or --all" 2 p11a pubkey
check_err "pubkey without KEY: message" "missing KEY"

finish

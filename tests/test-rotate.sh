#!/bin/sh
# test-rotate.sh: key versions in the token. rotate makes NAME@2 and NAME@3
# beside NAME; each version signs for itself (checked by OpenSSL with that
# version's pubkey, and not with another's) and NAME is the newest. An RSA
# decryption key: a ciphertext for version 1 decrypts by NAME while
# min-version allows it; raising min-version and reloading retires version 1
# (NAME: exit 1 with a hint, never tried; NAME@1: DENIED); versions and
# min-version survive a restart; trim destroys versions only with
# allow-destroy and below min-version. rewrap takes a session key wrapped
# for an older version (RSA-OAEP, AES key wrap) to the newest, and the
# newest unwraps the same key. HMAC verify by NAME falls back to version 1.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/lifecycle-lib.sh"

require_tools od cmp timeout date
make_token
write_conf
start_lc_agent || finish

umask 077
MSG=$T/msg
printf 'p11agent rotate test\n' >"$MSG"
head -c 2000 /dev/urandom >>"$MSG"
TODAY=$(today)

# oaep PUB HASH IN OUT: OpenSSL's RSA-OAEP encryption, MGF1 with the same hash.
oaep() {
	ossl pkeyutl -encrypt -pubin -inkey "$1" -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt "rsa_oaep_md:$2" -pkeyopt "rsa_mgf1_md:$2" -in "$3" -out "$4"
}

# version_row FILE N: the row of version N in a versions table (VERSION CREATED STATE URI).
version_row() {
	awk -v n="$2" 'NR > 1 && $1 == n' "$1"
}

# --- a signing key, rotated twice --------------------------------------------------------
check_rc "keygen sig (ec:P-256)" 0 p11a keygen sig --type ec:P-256 || finish
if check_rc "rotate sig" 0 p11a rotate sig; then
	if grep -Eq '^pkcs11:.*object=sig%402(;|$)' "$OUT"; then
		pass "rotate sig: prints version 2's URI"
	else
		fail "rotate sig: prints version 2's URI" "$(show "$OUT")"
	fi
fi
if check_rc "rotate sig --json" 0 p11a --json rotate sig; then
	cp "$OUT" "$T/rotate.json"
	expect "rotate --json: version 3" "$(json_get "$T/rotate.json" version)" 3
	expect "rotate --json: newest" "$(json_get "$T/rotate.json" newest)" true
	expect "rotate --json: family" "$(json_get "$T/rotate.json" family)" '"sig"'
	case $(json_get "$T/rotate.json" uri) in
	'"pkcs11:'*object=sig%403[\;\"]*) pass "rotate --json: uri of sig@3" ;;
	*) fail "rotate --json: uri of sig@3" "$(json_get "$T/rotate.json" uri)" ;;
	esac
fi

# The token: labels sig, sig@2, sig@3, each a key pair of its own.
dump_token
for l in sig sig@2 sig@3; do
	expect "token: a private key labelled $l" "$(nobj "$l" private)" 1
	expect "token: a public key labelled $l" "$(nobj "$l" public)" 1
	expect "token: $l's public and private keys share a CKA_ID" \
		"$(obj "$l" public id)" "$(obj "$l" private id)"
done
ids=$(for l in sig sig@2 sig@3; do obj "$l" private id; done | sort -u | wc -l)
expect "token: three CKA_IDs" "$ids" 3
expect_attr "sig@3" sig@3 private CKA_SIGN true
expect_attr "sig@3" sig@3 private CKA_DERIVE false
expect_attr "sig@3" sig@3 private CKA_EXTRACTABLE false

# versions
if check_rc "versions sig" 0 p11a versions sig; then
	cp "$OUT" "$T/versions"
	if head -n 1 "$T/versions" | grep -Eq '^VERSION +CREATED +STATE +URI *$'; then
		pass "versions: header VERSION CREATED STATE URI"
	else
		fail "versions: header VERSION CREATED STATE URI" "$(head -n 1 "$T/versions")"
	fi
	for v in 1 2 3; do
		state=older
		[ "$v" = 3 ] && state=newest
		label=sig # (the URI's label: '@' is %40)
		[ "$v" = 1 ] || label=sig%40$v
		read -ra row <<<"$(version_row "$T/versions" "$v")"
		expect "versions: version $v created today" "${row[1]:-}" "$TODAY"
		expect "versions: version $v $state" "${row[2]:-}" "$state"
		case ${row[3]:-} in
		pkcs11:*"object=$label;"* | pkcs11:*"object=$label") pass "versions: version $v's URI" ;;
		*) fail "versions: version $v's URI" "${4:-none}" ;;
		esac
	done
	expect "versions: three rows" "$(awk 'NR > 1 && NF > 0' "$T/versions" | wc -l)" 3
fi
if check_rc "versions --json sig" 0 p11a --json versions sig; then
	cp "$OUT" "$T/versions.json"
	expect "versions --json: version 1 older" "$(json_get "$T/versions.json" 0.state)" '"older"'
	expect "versions --json: version 3 newest" "$(json_get "$T/versions.json" 2.state)" '"newest"'
	expect "versions --json: oldest first" "$(json_get "$T/versions.json" 0.version)" 1
fi

# Each version signs for itself.
for v in 1 2 3; do
	pubkey_to "sig@$v" "$T/sig$v.pem"
	check_rc "sign with sig@$v" 0 p11a sign "sig@$v" -i "$MSG" -o "$T/sig$v.sig"
done
pubkey_to sig "$T/sig.pem"
if cmp -s "$T/sig.pem" "$T/sig3.pem"; then
	pass "pubkey sig is version 3's"
else
	fail "pubkey sig is version 3's" "it differs from sig@3's"
fi
check_rc "sign with sig" 0 p11a sign sig -i "$MSG" -o "$T/sig.sig"
for s in 1 2 3; do
	for k in 1 2 3; do
		if verify_sig ec256 "$T/sig$k.pem" "$T/sig$s.sig" "$MSG"; then got=yes; else got=no; fi
		want=no
		[ "$s" = "$k" ] && want=yes
		expect "sig@$s's signature verifies with sig@$k's pubkey: $want" "$got" "$want"
	done
done
for k in 1 2 3; do
	if verify_sig ec256 "$T/sig$k.pem" "$T/sig.sig" "$MSG"; then got=yes; else got=no; fi
	want=no
	[ "$k" = 3 ] && want=yes
	expect "sig's signature verifies with sig@$k's pubkey: $want" "$got" "$want"
done
# --json results carry the version.
if check_rc "sign --json sig@1" 0 p11a --json sign sig@1 -i "$MSG" -o "$T/sj1.sig"; then
	cp "$OUT" "$T/s1.json"
	expect "sign --json sig@1: version 1" "$(json_get "$T/s1.json" version)" 1
fi
if check_rc "sign --json sig" 0 p11a --json sign sig -i "$MSG" -o "$T/sj.sig"; then
	cp "$OUT" "$T/s.json"
	expect "sign --json sig: version 3" "$(json_get "$T/s.json" version)" 3
fi
check_rc "sign with sig@4 (no such version): exit 5" 5 p11a sign sig@4 -i "$MSG"

# list: a VERSION column now that a key has versions (NAME TYPE OPS
# FINGERPRINT VERSION URI; list prints no header).
if check_rc "list" 0 p11a list; then
	for v in 1 2 3; do
		label=sig
		[ "$v" = 1 ] || label=sig@$v
		expect "list: $label's row has VERSION $v" \
			"$(awk -v l="$label" '$1 == l && NF == 6 { print $5 }' "$OUT")" "$v"
	done
fi

# --- HMAC: verify by NAME tries the older version ----------------------------------------
check_rc "keygen mac (hmac:256)" 0 p11a keygen mac --type hmac:256
check_rc "hmac with mac (version 1)" 0 p11a hmac mac -i "$MSG" -o "$T/mac1"
check_rc "rotate mac" 0 p11a rotate mac
check_rc "hmac with mac (version 2)" 0 p11a hmac mac -i "$MSG" -o "$T/mac2"
if cmp -s "$T/mac1" "$T/mac2"; then
	fail "mac@2 is another secret" "versions 1 and 2 give the same MAC"
else
	pass "mac@2 is another secret"
fi
check_rc "verify by mac: version 1's MAC" 0 p11a verify mac --sig "$T/mac1" -i "$MSG"
check_rc "verify by mac: version 2's MAC" 0 p11a verify mac --sig "$T/mac2" -i "$MSG"
check_rc "verify by mac@2: version 1's MAC fails" 1 p11a verify mac@2 --sig "$T/mac1" -i "$MSG"

# --- an RSA decryption key: older versions, min-version, trim, rewrap ---------------------
check_rc "keygen dec (rsa:2048 decrypt,unwrap,wrap)" 0 \
	p11a keygen dec --type rsa:2048 --ops decrypt,unwrap,wrap || finish
pubkey_to dec@1 "$T/dec1.pem"
printf 'for version 1 only %s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' ')" >"$T/plain1"
oaep "$T/dec1.pem" sha256 "$T/plain1" "$T/ct1" || fail "encrypt to dec@1" "openssl failed"
head -c 32 /dev/urandom >"$T/session"
# (rewrap stays inside the token: SoftHSM does OAEP with SHA-1 only there.)
oaep "$T/dec1.pem" sha1 "$T/session" "$T/w1" || fail "wrap for dec@1" "openssl failed"
oaep "$T/dec1.pem" sha256 "$T/session" "$T/w1sha256" || fail "wrap for dec@1 (sha256)" "openssl failed"
check_rc "rotate dec" 0 p11a rotate dec
pubkey_to dec "$T/dec2.pem"
if check_rc "decrypt by dec: version 1's ciphertext (older version tried)" 0 \
	p11a decrypt dec -i "$T/ct1" -o "$T/plain1.out"; then
	same_bytes "decrypt by dec: the plaintext" "$T/plain1.out" "$T/plain1"
fi
if check_rc "decrypt --json by dec" 0 p11a --json decrypt dec -i "$T/ct1" -o "$T/plain1.json.out"; then
	cp "$OUT" "$T/dec.json"
	expect "decrypt --json by dec: served by version 1" "$(json_get "$T/dec.json" version)" 1
fi

# rewrap: wrapped for version 1, now for version 2 with the same algorithm.
if check_rc "rewrap dec (rsa-oaep-sha1)" 0 \
	p11a rewrap dec --alg rsa-oaep-sha1 -i "$T/w1" -o "$T/w2"; then
	if check_rc "unwrap the rewrapped key with dec@2" 0 \
		p11a unwrap dec@2 --alg rsa-oaep-sha1 -i "$T/w2" -o "$T/session.out"; then
		same_bytes "rewrap dec: the same session key" "$T/session.out" "$T/session"
	fi
	check_rc "dec@1 cannot unwrap the rewrapped key" 1 \
		p11a unwrap dec@1 --alg rsa-oaep-sha1 -i "$T/w2" -o "$T/session.bad"
fi
if check_rc "rewrap dec@1 (named version)" 0 \
	p11a rewrap dec@1 --alg rsa-oaep-sha1 -i "$T/w1" -o "$T/w2b"; then
	if check_rc "unwrap it with dec" 0 p11a unwrap dec --alg rsa-oaep-sha1 -i "$T/w2b" -o "$T/session.b"; then
		same_bytes "rewrap dec@1: the same session key" "$T/session.b" "$T/session"
	fi
fi
# OAEP with SHA-256: SoftHSM cannot do it inside the token, and the session
# key is never brought out to do it in software.
run p11a rewrap dec --alg rsa-oaep-sha256 -i "$T/w1sha256" -o "$T/w2sha256"
if [ "$RC" -eq 1 ] && grep -Eqi 'cannot do|not supported|rsa-oaep-sha1' "$ERR"; then
	pass "rewrap with rsa-oaep-sha256 on SoftHSM: not supported (exit 1)"
else
	fail "rewrap with rsa-oaep-sha256 on SoftHSM: not supported (exit 1)" "exit $RC: $(show "$ERR")"
fi

# min-version 2: version 1 is retired.
write_conf "[key dec]
min-version = 2"
reload_ok "min-version 2"
check_rc "decrypt by dec of version 1's ciphertext: exit 1" 1 p11a decrypt dec -i "$T/ct1" -o "$T/plain1.retired"
check_err "decrypt by dec: says older versions are retired" 'retired|min-version'
if [ -s "$T/plain1.retired" ]; then
	fail "decrypt by dec: no plaintext" "$(wc -c <"$T/plain1.retired") bytes written"
else
	pass "decrypt by dec: no plaintext"
fi
check_rc "decrypt by dec@1: exit 4 (retired)" 4 p11a decrypt dec@1 -i "$T/ct1" -o "$T/plain1.retired"
check_rc "rewrap dec@1 once retired: exit 4" 4 p11a rewrap dec@1 --alg rsa-oaep-sha1 -i "$T/w1" -o "$T/w2c"
check_rc "rewrap dec of version 1's key once retired: exit 1" 1 \
	p11a rewrap dec --alg rsa-oaep-sha1 -i "$T/w1" -o "$T/w2c"
if check_rc "versions dec" 0 p11a versions dec; then
	read -ra row <<<"$(version_row "$OUT" 1)"
	expect "versions dec: version 1 retired" "${row[2]:-}" retired
	read -ra row <<<"$(version_row "$OUT" 2)"
	expect "versions dec: version 2 newest" "${row[2]:-}" newest
fi
if check_rc "list --json" 0 p11a --json list; then
	cp "$OUT" "$T/list.json"
	got=$("$LC_PY" - "$T/list.json" <<'EOF'
import json, sys
for k in json.load(open(sys.argv[1])):
    if k.get("family") == "dec":
        print(k.get("version"), k.get("min_version"), k.get("newest"))
EOF
)
	expect "list --json: dec's versions and min_version" "$(echo "$got" | sort | tr '\n' ' ')" \
		"1 2 False 2 2 True "
fi

# A restart: the versions are the token's, min-version the config's.
stop_agent
start_lc_agent || finish
if check_rc "after a restart: versions dec" 0 p11a versions dec; then
	read -ra row <<<"$(version_row "$OUT" 1)"
	expect "after a restart: version 1 retired" "${row[2]:-}" retired
	read -ra row <<<"$(version_row "$OUT" 2)"
	expect "after a restart: version 2 newest" "${row[2]:-}" newest
fi
if check_rc "after a restart: versions sig" 0 p11a versions sig; then
	expect "after a restart: sig has 3 versions" "$(awk 'NR > 1 && NF > 0' "$OUT" | wc -l)" 3
fi
check_rc "after a restart: decrypt by dec@1 still exit 4" 4 p11a decrypt dec@1 -i "$T/ct1" -o "$T/plain1.retired"

# trim: refused without allow-destroy, nothing destroyed.
dump_token
N_OBJS=$(nobj)
check_rc "trim dec --below 2 without allow-destroy: exit 4" 4 p11a trim dec --below 2
check_err "trim without allow-destroy: names the rule" 'allow-destroy'
check_rc "trim sig --below 2 (no [key] section): exit 4" 4 p11a trim sig --below 2
dump_token
expect "refused trims destroyed nothing" "$(nobj)" "$N_OBJS"
expect "refused trims: dec (version 1) still there" "$(nobj dec private)" 1

write_conf "[key dec]
min-version = 2
allow-destroy = yes"
reload_ok "allow-destroy"
check_rc "trim dec --below 3 (above min-version 2): exit 4" 4 p11a trim dec --below 3
check_err "trim above min-version: names it" 'min-version'
dump_token
expect "trim above min-version destroyed nothing" "$(nobj)" "$N_OBJS"
if check_rc "trim dec --below 2" 0 p11a trim dec --below 2; then
	dump_token
	expect "trim: no object labelled dec left" "$(nobj dec)" 0
	expect "trim: dec@2's key pair stays" "$(nobj dec@2)" 2
	expect "trim: two objects fewer" "$(nobj)" "$((N_OBJS - 2))"
	expect "trim: sig's versions untouched" "$(($(nobj sig) + $(nobj sig@2) + $(nobj sig@3)))" 6
fi
if check_rc "versions dec after trim" 0 p11a versions dec; then
	expect "versions dec after trim: one row" "$(awk 'NR > 1 && NF > 0' "$OUT" | wc -l)" 1
	read -ra row <<<"$(version_row "$OUT" 2)"
	expect "versions dec after trim: version 2 newest" "${row[2]:-}" newest
fi
check_rc "after trim: pubkey dec@1: exit 5" 5 p11a pubkey dec@1
check_rc "after trim: unwrap by dec still works" 0 \
	p11a unwrap dec --alg rsa-oaep-sha1 -i "$T/w2" -o "$T/session.after"
same_bytes "after trim: the session key" "$T/session.after" "$T/session"

# --- AES key wrap: rewrap from version 1 to 2 ---------------------------------------------
# The test cannot wrap under a key it cannot read: a second tool (PyKCS11)
# wraps with the token's key, as a service holding the token would.
check_rc "keygen kek (aes:256)" 0 p11a keygen kek --type aes:256 || finish
head -c 32 /dev/urandom >"$T/dk"
if p11attrs wrap kek "$T/dk" "$T/dk.w1" 2>"$T/wrap.err"; then
	pass "PyKCS11 wraps a data key with kek (version 1)"
else
	fail "PyKCS11 wraps a data key with kek (version 1)" "$(show "$T/wrap.err")"
fi
check_rc "rotate kek" 0 p11a rotate kek
if check_rc "rewrap kek (aes-kw)" 0 p11a rewrap kek --alg aes-kw -i "$T/dk.w1" -o "$T/dk.w2"; then
	if cmp -s "$T/dk.w1" "$T/dk.w2"; then
		fail "rewrap kek: wrapped anew" "the output is the input"
	else
		pass "rewrap kek: wrapped anew"
	fi
	if check_rc "unwrap the rewrapped key with kek@2" 0 \
		p11a unwrap kek@2 --alg aes-kw -i "$T/dk.w2" -o "$T/dk.out"; then
		same_bytes "rewrap kek: the same data key" "$T/dk.out" "$T/dk"
	fi
	check_rc "kek@1 cannot unwrap the rewrapped key" 1 \
		p11a unwrap kek@1 --alg aes-kw -i "$T/dk.w2" -o "$T/dk.bad"
fi
if check_rc "rewrap --json kek" 0 p11a --json rewrap kek --alg aes-kw -i "$T/dk.w1" -o "$T/dk.w3"; then
	cp "$OUT" "$T/rewrap.json"
	expect "rewrap --json: from_version" "$(json_get "$T/rewrap.json" from_version)" 1
	expect "rewrap --json: version (the newest)" "$(json_get "$T/rewrap.json" version)" 2
fi

# --- a public key object planted beside the newest version -----------------------------
# Anyone who may open the token can make a public object with a key's
# CKA_ID. rewrap must wrap only for the newest version's own public key (the
# one its private key makes), never for one planted in the token.
check_rc "rotate dec (version 3)" 0 p11a rotate dec || finish
check_rc "pubkey dec@2" 0 p11a pubkey dec@2
cp "$OUT" "$T/dec2.pem"
oaep "$T/dec2.pem" sha1 "$T/session" "$T/w2for3" || fail "wrap for dec@2 (sha1)" "openssl failed"
if p11attrs plant-public dec@3 >"$T/planted.hex" 2>"$T/plant.err"; then
	pass "PyKCS11 replaces dec@3's public key object with an attacker's"
else
	fail "PyKCS11 replaces dec@3's public key object with an attacker's" "$(show "$T/plant.err")"
fi
run p11a rewrap dec --alg rsa-oaep-sha1 -i "$T/w2for3" -o "$T/w3planted"
if [ "$RC" -ne 0 ] && [ ! -s "$T/w3planted" ]; then
	pass "rewrap refuses to wrap for a planted public key (exit $RC)"
	check_err "rewrap with a planted public key: says it cannot wrap" 'wrap'
else
	fail "rewrap refuses to wrap for a planted public key" "exit $RC, wrote $(wc -c <"$T/w3planted" 2>/dev/null) bytes"
fi

no_pin_in "no PIN in the agent's log, the trail or the outputs" "$T/agent.log" "$LC_AUDIT" "$OUT" "$ERR"
agent_alive "agent still serving"
finish

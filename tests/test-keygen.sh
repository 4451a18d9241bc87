#!/bin/sh
# test-keygen.sh: p11agent keygen makes every key type in the token, each
# put to use and checked with OpenSSL (signatures against pubkey, RSA-OAEP
# decryption, ECDH) or, for secret keys the test cannot read, through the
# agent against a second tool (HMAC verify; AES key wrap made with PyKCS11,
# unwrapped by the agent). tests/p11attrs.py reads each key's attributes in
# the token: a private token object, sensitive, never extractable, exactly
# the usage flags asked for, labelled NAME, a fresh CKA_ID shared with its
# public key object, dated today. A name in use, a bad type and bad ops are
# refused; --json gives the key's entry; versions dates the keys.
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
printf 'p11agent keygen test\n' >"$MSG"
head -c 3000 /dev/urandom >>"$MSG"
TODAY=$(today)

# p11a_slow ARGS...: the CLI bounded by 3 minutes (RSA-4096 takes SoftHSM seconds).
p11a_slow() {
	timeout -k 2 180 "$P11AGENT" -S "$SOCK" "$@"
}

# NAME TYPE OPS (as given to --ops; "-" for the defaults) USES (what the key
# does: the usage flags expected, in the private/secret object's terms).
KEYS="
k-rsa2048 rsa:2048 sign,decrypt sign,decrypt
k-rsa3072 rsa:3072 - sign
k-rsa4096 rsa:4096 unwrap,wrap unwrap
k-ec256 ec:P-256 sign,derive sign,derive
k-ec384 ec:P-384 - sign
k-ec521 ec:P-521 - sign
k-ed25519 ed25519 - sign
k-hmac256 hmac:256 - sign,verify
k-hmac384 hmac:384 verify verify
k-hmac512 hmac:512 sign,verify sign,verify
k-aes128 aes:128 - unwrap,wrap
k-aes256 aes:256 unwrap,wrap unwrap,wrap
"

# --- keygen of every type ----------------------------------------------------------
echo "$KEYS" | while read -r name type ops uses; do
	[ -n "$name" ] || continue
	echo "$name $type $ops $uses"
done >"$T/keys"
while read -r name type ops uses; do
	args=(keygen "$name" --type "$type")
	[ "$ops" = - ] || args+=(--ops "$ops")
	if check_rc "keygen $name --type $type (ops: $ops)" 0 p11a_slow "${args[@]}"; then
		if grep -Eq "^pkcs11:.*object=$name(;|$)" "$OUT"; then
			pass "keygen $name: prints the key's URI"
		else
			fail "keygen $name: prints the key's URI" "$(show "$OUT")"
		fi
		if [ ! -s "$ERR" ]; then
			pass "keygen $name: nothing on stderr"
		else
			fail "keygen $name: nothing on stderr" "$(show "$ERR")"
		fi
	fi
done <"$T/keys"

# --- the token's objects ---------------------------------------------------------------
dump_token
# has NAME FLAG: is FLAG among the comma-separated USES of key NAME?
uses_of() {
	awk -v n="$1" '$1 == n { print $4 }' "$T/keys"
}
has() {
	case ",$(uses_of "$1")," in
	*",$2,"*) echo true ;;
	*) echo false ;;
	esac
}
ids=
while read -r name type ops uses; do
	case $type in
	hmac:* | aes:*) klass=secret ;;
	*) klass=private ;;
	esac
	n=$(nobj "$name" "$klass")
	if [ "$n" -ne 1 ]; then
		fail "token: one $klass object labelled $name" "$n of them"
		continue
	fi
	pass "token: one $klass object labelled $name"
	for a in CKA_TOKEN CKA_PRIVATE CKA_SENSITIVE CKA_NEVER_EXTRACTABLE CKA_ALWAYS_SENSITIVE; do
		expect_attr "$name" "$name" "$klass" "$a" true
	done
	expect_attr "$name" "$name" "$klass" CKA_EXTRACTABLE false
	for f in sign decrypt unwrap derive; do
		a=CKA_${f^^}
		expect_attr "$name" "$name" "$klass" "$a" "$(has "$name" "$f")"
	done
	id=$(obj "$name" "$klass" id)
	if [[ "$id" =~ ^[0-9a-f]{32}$ ]]; then
		pass "$name: CKA_ID is 16 bytes"
	else
		fail "$name: CKA_ID is 16 bytes" "got '$id'"
	fi
	ids="$ids $id"
	if [ "$klass" = secret ]; then
		expect_attr "$name" "$name" secret CKA_VERIFY "$(has "$name" verify)"
		expect_attr "$name" "$name" secret CKA_WRAP "$(has "$name" wrap)"
		expect_attr "$name" "$name" secret CKA_ENCRYPT false
		expect_attr "$name" "$name" secret CKA_VALUE_LEN "$((${type#*:} / 8))"
		expect "$name: no public object" "$(nobj "$name" public)" 0
		continue
	fi
	# The public key object beside it: same label and CKA_ID, not private.
	n=$(nobj "$name" public)
	if [ "$n" -ne 1 ]; then
		fail "token: one public object labelled $name" "$n of them"
		continue
	fi
	pass "token: one public object labelled $name"
	expect "$name: the public object has the private one's CKA_ID" \
		"$(obj "$name" public id)" "$id"
	expect_attr "$name" "$name" public CKA_TOKEN true
	expect_attr "$name" "$name" public CKA_PRIVATE false
	expect_attr "$name" "$name" public CKA_VERIFY "$(has "$name" sign)"
	expect_attr "$name" "$name" public CKA_ENCRYPT "$(has "$name" decrypt)"
	case $type in
	rsa:*) wrap=$(has "$name" unwrap) ;;
	*) wrap=false ;;
	esac
	expect_attr "$name" "$name" public CKA_WRAP "$wrap"
	expect_attr "$name" "$name" public CKA_START_DATE "$TODAY"
done <"$T/keys"
n_ids=$(echo "$ids" | tr ' ' '\n' | sed '/^$/d' | wc -l)
n_uniq=$(echo "$ids" | tr ' ' '\n' | sed '/^$/d' | sort -u | wc -l)
if [ "$n_ids" -eq 12 ] && [ "$n_uniq" -eq 12 ]; then
	pass "every key has a CKA_ID of its own"
else
	fail "every key has a CKA_ID of its own" "$n_uniq distinct of $n_ids"
fi
N_OBJS=$(nobj)
expect "token: 12 keys, 7 of them pairs: 19 objects" "$N_OBJS" 19

# --- each key put to use ----------------------------------------------------------------
# Signatures, verified by OpenSSL with the key's public key from pubkey.
for name in k-rsa2048 k-rsa3072 k-ec256 k-ec384 k-ec521 k-ed25519; do
	type=$(awk -v n="$name" '$1 == n { print $2 }' "$T/keys")
	pubkey_to "$name" "$T/$name.pem" || continue
	check_rc "sign with $name" 0 p11a sign "$name" -i "$MSG" -o "$T/$name.sig" || continue
	if verify_sig "$type" "$T/$name.pem" "$T/$name.sig" "$MSG"; then
		pass "$name: OpenSSL verifies its signature"
	else
		fail "$name: OpenSSL verifies its signature" "$type signature does not verify"
	fi
done
# A key made without sign may not sign.
check_rc "k-rsa4096 (unwrap only): sign refused" 1 p11a sign k-rsa4096 -i "$MSG"
check_err "k-rsa4096 (unwrap only): says it cannot sign" 'sign'

# RSA-OAEP: OpenSSL encrypts to the public key, the agent decrypts.
printf 'a secret for k-rsa2048 %s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' ')" >"$T/plain"
if ossl pkeyutl -encrypt -pubin -inkey "$T/k-rsa2048.pem" -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$T/plain" -out "$T/ct"; then
	if check_rc "decrypt with k-rsa2048 (OAEP-SHA256)" 0 p11a decrypt k-rsa2048 -i "$T/ct" -o "$T/plain.out"; then
		same_bytes "k-rsa2048: the plaintext" "$T/plain.out" "$T/plain"
	fi
else
	fail "OpenSSL encrypts to k-rsa2048" "pkeyutl -encrypt failed"
fi
# k-rsa3072 was made to sign only: no decrypt.
p11a pubkey k-rsa3072 >"$T/k-rsa3072.pem" 2>/dev/null
ossl pkeyutl -encrypt -pubin -inkey "$T/k-rsa3072.pem" -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$T/plain" -out "$T/ct3"
run p11a decrypt k-rsa3072 -i "$T/ct3" -o "$T/plain3"
if [ "$RC" -ne 0 ] && ! [ -s "$T/plain3" ]; then
	pass "k-rsa3072 (sign only): decrypt refused (exit $RC)"
else
	fail "k-rsa3072 (sign only): decrypt refused" "exit $RC"
fi

# RSA unwrap (k-rsa4096, made to unwrap and not decrypt). SoftHSM does OAEP
# with SHA-1 only: SHA-256 OAEP the agent completes over raw RSA, which
# needs CKA_DECRYPT, so this key unwraps OAEP-SHA1 and refuses SHA-256.
head -c 32 /dev/urandom >"$T/session32"
if pubkey_to k-rsa4096 "$T/k-rsa4096.pem"; then
	for md in sha1 sha256; do
		ossl pkeyutl -encrypt -pubin -inkey "$T/k-rsa4096.pem" -pkeyopt rsa_padding_mode:oaep \
			-pkeyopt "rsa_oaep_md:$md" -pkeyopt "rsa_mgf1_md:$md" -in "$T/session32" \
			-out "$T/wrapped4096.$md" || fail "OpenSSL wraps for k-rsa4096 ($md)" "pkeyutl failed"
	done
	if check_rc "unwrap with k-rsa4096 (rsa-oaep-sha1)" 0 \
		p11a unwrap k-rsa4096 --alg rsa-oaep-sha1 -i "$T/wrapped4096.sha1" -o "$T/unwrapped4096"; then
		same_bytes "k-rsa4096: the session key" "$T/unwrapped4096" "$T/session32"
	fi
	check_rc "unwrap with k-rsa4096 (rsa-oaep-sha256, no CKA_DECRYPT): exit 1" 1 \
		p11a unwrap k-rsa4096 --alg rsa-oaep-sha256 -i "$T/wrapped4096.sha256" -o "$T/unwrapped4096.256"
	check_err "unwrap with k-rsa4096 (rsa-oaep-sha256): says why" 'CKA_DECRYPT'
fi

# ECDH with k-ec256 (made with derive): the agent's Z is OpenSSL's.
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/peer.key" 2>/dev/null
ossl pkey -in "$T/peer.key" -pubout -out "$T/peer.pem" 2>/dev/null
ossl pkeyutl -derive -inkey "$T/peer.key" -peerkey "$T/k-ec256.pem" -out "$T/z.expected" 2>/dev/null
if check_rc "derive with k-ec256" 0 p11a derive k-ec256 --peer "$T/peer.pem" -o "$T/z"; then
	same_bytes "k-ec256: OpenSSL's shared secret" "$T/z" "$T/z.expected"
fi
# k-ec384 was made to sign only.
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/peer384.key" 2>/dev/null
ossl pkey -in "$T/peer384.key" -pubout -out "$T/peer384.pem" 2>/dev/null
run p11a derive k-ec384 --peer "$T/peer384.pem" -o "$T/z384"
if [ "$RC" -ne 0 ] && ! [ -s "$T/z384" ]; then
	pass "k-ec384 (sign only): derive refused (exit $RC)"
else
	fail "k-ec384 (sign only): derive refused" "exit $RC"
fi

# HMAC: the secret stays in the token; the agent's MAC verifies, a wrong message does not.
printf 'another message\n' >"$T/msg2"
for spec in k-hmac256:hmac-sha256:32 k-hmac512:hmac-sha512:64; do
	IFS=: read -r name alg len <<<"$spec"
	check_rc "hmac with $name ($alg)" 0 p11a hmac "$name" --alg "$alg" -i "$MSG" -o "$T/$name.mac" ||
		continue
	expect "$name: the MAC is $len bytes" "$(wc -c <"$T/$name.mac")" "$len"
	check_rc "$name: verify its MAC" 0 p11a verify "$name" --alg "$alg" --sig "$T/$name.mac" -i "$MSG"
	check_rc "$name: the MAC of another message fails" 1 \
		p11a verify "$name" --alg "$alg" --sig "$T/$name.mac" -i "$T/msg2"
done
# k-hmac384 verifies only: it may not make a MAC (so nothing to verify with it here).
run p11a hmac k-hmac384 --alg hmac-sha384 -i "$MSG" -o "$T/k-hmac384.mac"
if [ "$RC" -ne 0 ]; then
	pass "k-hmac384 (verify only): hmac refused (exit $RC)"
else
	fail "k-hmac384 (verify only): hmac refused" "exit 0"
fi
head -c 48 /dev/urandom >"$T/junk.mac"
check_rc "k-hmac384: a made-up MAC does not verify" 1 \
	p11a verify k-hmac384 --alg hmac-sha384 --sig "$T/junk.mac" -i "$MSG"

# AES: a second tool wraps a session key under the token's key (C_WrapKey,
# CKM_AES_KEY_WRAP), the agent unwraps it.
head -c 16 /dev/urandom >"$T/session16"
for spec in k-aes128:session16 k-aes256:session32; do
	IFS=: read -r name skey <<<"$spec"
	if ! p11attrs wrap "$name" "$T/$skey" "$T/$name.wrapped" 2>"$T/wrap.err"; then
		fail "$name: PyKCS11 wraps a session key with it" "$(show "$T/wrap.err")"
		continue
	fi
	if check_rc "unwrap with $name (aes-kw)" 0 p11a unwrap "$name" --alg aes-kw -i "$T/$name.wrapped" -o "$T/$name.unwrapped"; then
		same_bytes "$name: the session key" "$T/$name.unwrapped" "$T/$skey"
	fi
done

# --- refusals ------------------------------------------------------------------------
check_rc "keygen of a name in use: exit 1" 1 p11a keygen k-ec256 --type ec:P-256
check_err "keygen of a name in use: names the key" 'k-ec256'
check_err "keygen of a name in use: says so" 'in use|exists|taken'
check_rc "keygen of a name in use (another type): exit 1" 1 p11a keygen k-aes128 --type rsa:2048
check_err "keygen of a name in use (another type): names the key" 'k-aes128'
check_rc "keygen --type rsa:1024: exit 2" 2 p11a keygen k-bad --type rsa:1024
check_rc "keygen --type ec:P-192: exit 2" 2 p11a keygen k-bad --type ec:P-192
check_rc "keygen --type dsa: exit 2" 2 p11a keygen k-bad --type dsa
check_rc "keygen without --type: exit 2" 2 p11a keygen k-bad
check_rc "keygen --ops fly: exit 2" 2 p11a keygen k-bad --type ec:P-256 --ops fly
run p11a keygen k-bad --type ec:P-256 --ops decrypt
if [ "$RC" -eq 1 ] || [ "$RC" -eq 2 ]; then
	pass "keygen of an EC key that decrypts: refused (exit $RC)"
	check_err "keygen of an EC key that decrypts: says why" 'decrypt'
else
	fail "keygen of an EC key that decrypts: refused" "exit $RC"
fi
run p11a keygen 'bad/name' --type ec:P-256
if [ "$RC" -eq 1 ] || [ "$RC" -eq 2 ]; then
	pass "keygen of a bad name: refused (exit $RC)"
else
	fail "keygen of a bad name: refused" "exit $RC"
fi
dump_token
expect "the refusals made no object" "$(nobj)" "$N_OBJS"

# --- keygen --json --------------------------------------------------------------------
if check_rc "keygen --json" 0 p11a --json keygen k-json --type ec:P-256; then
	cp "$OUT" "$T/keygen.json"
	case $(json_get "$T/keygen.json" "") in
	invalid) fail "keygen --json: valid JSON" "$(show "$T/keygen.json")" ;;
	*)
		pass "keygen --json: valid JSON"
		for f in uri type family version min_version newest created cert_expiry; do
			if [ "$(json_get "$T/keygen.json" "$f")" != missing ]; then
				pass "keygen --json: has $f"
			else
				fail "keygen --json: has $f" "$(show "$T/keygen.json")"
			fi
		done
		name=$(json_get "$T/keygen.json" name)
		label=$(json_get "$T/keygen.json" label)
		if [ "$name" = '"k-json"' ] || [ "$label" = '"k-json"' ]; then
			pass "keygen --json: names the key"
		else
			fail "keygen --json: names the key" "name $name, label $label"
		fi
		expect "keygen --json: family" "$(json_get "$T/keygen.json" family)" '"k-json"'
		expect "keygen --json: version" "$(json_get "$T/keygen.json" version)" 1
		expect "keygen --json: min_version" "$(json_get "$T/keygen.json" min_version)" 1
		expect "keygen --json: newest" "$(json_get "$T/keygen.json" newest)" true
		expect "keygen --json: created today" "$(json_get "$T/keygen.json" created)" "\"$TODAY\""
		case $(json_get "$T/keygen.json" uri) in
		'"pkcs11:'*object=k-json[\;\"]*) pass "keygen --json: uri" ;;
		*) fail "keygen --json: uri" "$(json_get "$T/keygen.json" uri)" ;;
		esac
		;;
	esac
fi

# --- versions: created today for key pairs, "-" for secret keys --------------------------
for name in k-rsa2048 k-ec384 k-ed25519; do
	if check_rc "versions $name" 0 p11a versions "$name"; then
		read -ra row <<<"$(awk 'NR > 1 && $1 == "1"' "$OUT")"
		expect "versions $name: version 1 created today" "${row[1]:-}" "$TODAY"
		expect "versions $name: version 1 is the newest" "${row[2]:-}" newest
		case ${row[3]:-} in
		pkcs11:*"object=$name;"* | pkcs11:*"object=$name") pass "versions $name: its URI" ;;
		*) fail "versions $name: its URI" "$(show "$OUT")" ;;
		esac
	fi
done
for name in k-hmac256 k-aes128; do
	if check_rc "versions $name" 0 p11a versions "$name"; then
		read -ra row <<<"$(awk 'NR > 1 && $1 == "1"' "$OUT")"
		expect "versions $name: a secret key's date is unknown (-)" "${row[1]:-}" -
	fi
done
if check_rc "versions --json k-ec256" 0 p11a --json versions k-ec256; then
	cp "$OUT" "$T/versions.json"
	expect "versions --json: one version" "$(json_get "$T/versions.json" 1)" missing
	expect "versions --json: its state" "$(json_get "$T/versions.json" 0.state)" '"newest"'
	expect "versions --json: its version" "$(json_get "$T/versions.json" 0.version)" 1
fi

# --- list shows them; restart keeps them ---------------------------------------------------
if check_rc "list" 0 p11a list; then
	missing=
	while read -r name type ops uses; do
		grep -q "object=${name}[;[:space:]]" "$OUT" || grep -q "^${name}[[:space:]]" "$OUT" ||
			missing="$missing $name"
	done <"$T/keys"
	if [ -z "$missing" ]; then
		pass "list shows every new key"
	else
		fail "list shows every new key" "missing:$missing"
	fi
	# NAME TYPE OPS FINGERPRINT URI: no VERSION (nor CERT) column.
	if awk 'NF != 5 { bad = 1 } END { exit !bad }' "$OUT"; then
		fail "list: no VERSION column while every key has one version" "$(show "$OUT")"
	else
		pass "list: no VERSION column while every key has one version"
	fi
fi
stop_agent
start_lc_agent || finish
check_rc "after a restart: sign with k-ed25519" 0 p11a sign k-ed25519 -i "$MSG" -o "$T/again.sig"
if verify_sig ed25519 "$T/k-ed25519.pem" "$T/again.sig" "$MSG"; then
	pass "after a restart: the same key signs"
else
	fail "after a restart: the same key signs" "the signature does not verify with the old pubkey"
fi

no_pin_in "no PIN in the agent's log, the trail or the outputs" "$T/agent.log" "$LC_AUDIT" "$OUT" "$ERR"
agent_alive "agent still serving"
finish

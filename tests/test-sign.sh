#!/bin/sh
# test-sign.sh: every algorithm on every key type, signed through the agent
# and checked by OpenSSL on the exported public key; public key formats;
# list and its URIs as KEY.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 od cmp timeout
make_token "$KEY_RSA2048" "$KEY_RSA3072" "$KEY_EC256" "$KEY_EC384" "$KEY_EC521" \
	"$KEY_ED25519" "$KEY_HMAC" "$KEY_HMAC384" "$KEY_AES" "$KEY_DUP1" "$KEY_DUP2" \
	"$KEY_NOLABEL" "$KEY_NOSIGN"
NKEYS=13
start_agent || finish

MSG=$T/msg
printf 'p11agent integration test message\n' >"$MSG"
head -c 3000 /dev/urandom >>"$MSG"
: >"$T/empty"

# hash_of ALG: the OpenSSL digest option of an algorithm ("sha256").
hash_of() {
	case $1 in
	*sha256) echo sha256 ;;
	*sha384) echo sha384 ;;
	*sha512) echo sha512 ;;
	*) echo none ;;
	esac
}

# ossl_verify ALG PUB MSG SIG: OpenSSL's own verdict on a signature.
ossl_verify() {
	local alg=$1 pub=$2 msg=$3 sig=$4 h
	h=$(hash_of "$alg")
	case $alg in
	rsa-pkcs1-* | ecdsa-*)
		ossl dgst "-$h" -verify "$pub" -signature "$sig" "$msg"
		;;
	rsa-pss-*)
		ossl dgst "-$h" -verify "$pub" -sigopt rsa_padding_mode:pss \
			-sigopt rsa_pss_saltlen:digest -signature "$sig" "$msg"
		;;
	ed25519)
		ossl pkeyutl -verify -rawin -pubin -inkey "$pub" -in "$msg" -sigfile "$sig"
		;;
	*)
		echo "no OpenSSL check for $alg" >&2
		return 1
		;;
	esac
}

# check_ossl NAME ALG PUB MSG SIG: passes when OpenSSL accepts the signature.
check_ossl() {
	local name=$1
	shift
	if ossl_verify "$@" >"$T/ossl.out" 2>&1 && grep -q 'Verified' "$T/ossl.out"; then
		pass "$name"
	else
		fail "$name" "openssl: $(show "$T/ossl.out")"
	fi
}

# flip FILE OUT: FILE with one byte in its middle changed.
flip() {
	python3 - "$1" "$2" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[len(b) // 2] ^= 0x01
open(sys.argv[2], 'wb').write(b)
EOF
}

# raw2der RAW DER: ECDSA r||s to an X9.62 ECDSA-Sig-Value.
raw2der() {
	python3 - "$1" "$2" <<'EOF'
import sys
raw = open(sys.argv[1], 'rb').read()
n = len(raw) // 2
def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80:
        b = b'\0' + b
    return b'\x02' + der_len(len(b)) + b
def der_len(n):
    return bytes([n]) if n < 128 else b'\x81' + bytes([n])
body = der_int(raw[:n]) + der_int(raw[n:])
open(sys.argv[2], 'wb').write(b'\x30' + der_len(len(body)) + body)
EOF
}

# export_pub KEY NAME: the key's public key, PEM, in $T/NAME.pem.
export_pub() {
	if p11a pubkey "$1" >"$T/$2.pem" 2>"$ERR" && grep -q 'BEGIN PUBLIC KEY' "$T/$2.pem"; then
		pass "pubkey $2"
		return 0
	fi
	fail "pubkey $2" "no PEM public key; stderr: $(show "$ERR")"
	return 1
}

# sign_and_check NAME KEY ALG: sign with ALG, OpenSSL verifies, p11agent verify
# accepts it and rejects it flipped, and --prehashed agrees.
sign_and_check() {
	local name=$1 key=$2 alg=$3 pub=$T/$1.pem sig=$T/sig h
	if ! check_rc "sign $name $alg" 0 p11a sign "$key" --alg "$alg" -i "$MSG" -o "$sig"; then
		return
	fi
	check_ossl "openssl verifies $name $alg" "$alg" "$pub" "$MSG" "$sig"
	check_rc "verify $name $alg" 0 p11a verify "$key" --sig "$sig" --alg "$alg" -i "$MSG"
	flip "$sig" "$T/sig.bad"
	check_rc "verify rejects flipped $name $alg" 1 \
		p11a verify "$key" --sig "$T/sig.bad" --alg "$alg" -i "$MSG"
	[ "$alg" = ed25519 ] && return
	h=$(hash_of "$alg")
	ossl dgst "-$h" -binary "$MSG" >"$T/digest"
	if check_rc "sign --prehashed $name $alg" 0 \
		p11a sign "$key" --alg "$alg" --prehashed -i "$T/digest" -o "$T/sig.pre"; then
		check_ossl "openssl verifies --prehashed $name $alg" "$alg" "$pub" "$MSG" "$T/sig.pre"
	fi
}

# check_formats NAME KEY: DER equals the PEM converted; SSH accepted by ssh-keygen.
check_formats() {
	local name=$1 key=$2 pub=$T/$1.pem
	if check_rc "pubkey --format der $name" 0 p11a pubkey "$key" --format der; then
		ossl pkey -pubin -in "$pub" -outform DER -out "$T/expected.der" 2>"$T/ossl.out"
		if cmp -s "$OUT" "$T/expected.der"; then
			pass "der equals pem $name"
		else
			fail "der equals pem $name" "DER output differs from the PEM converted"
		fi
	fi
	if check_rc "pubkey --format pem $name" 0 p11a pubkey "$key" --format pem; then
		if cmp -s "$OUT" "$pub"; then
			pass "pem is the default $name"
		else
			fail "pem is the default $name" "--format pem differs from the default"
		fi
	fi
	check_rc "pubkey --format ssh $name" 0 p11a pubkey "$key" --format ssh || return
	cp "$OUT" "$T/$name.ssh"
	if ! command -v ssh-keygen >/dev/null 2>&1; then
		skip "ssh-keygen accepts $name" "openssh-client is not installed"
		return
	fi
	if ssh-keygen -l -f "$T/$name.ssh" >"$T/ssh.out" 2>&1; then
		pass "ssh-keygen accepts $name"
	else
		fail "ssh-keygen accepts $name" "$(show "$T/ssh.out"); line: $(show "$T/$name.ssh")"
	fi
	# The same key as OpenSSH converts it from the PEM (Ed25519: built here).
	if ! ssh-keygen -i -m PKCS8 -f "$pub" >"$T/ssh.expected" 2>/dev/null; then
		ossl pkey -pubin -in "$pub" -outform DER -out "$T/expected.der" 2>/dev/null
		python3 - "$T/expected.der" >"$T/ssh.expected" <<'EOF'
import base64, struct, sys
der = open(sys.argv[1], 'rb').read()
def s(b): return struct.pack('>I', len(b)) + b
print('ssh-ed25519', base64.b64encode(s(b'ssh-ed25519') + s(der[-32:])).decode())
EOF
	fi
	if [ "$(cut -d' ' -f1-2 "$T/$name.ssh")" = "$(cut -d' ' -f1-2 "$T/ssh.expected")" ]; then
		pass "ssh key matches $name"
	else
		fail "ssh key matches $name" "got $(show "$T/$name.ssh"), expected $(show "$T/ssh.expected")"
	fi
}

RSA_ALGS="rsa-pkcs1-sha256 rsa-pkcs1-sha384 rsa-pkcs1-sha512 rsa-pss-sha256 rsa-pss-sha384 rsa-pss-sha512"
EC_ALGS="ecdsa-sha256 ecdsa-sha384 ecdsa-sha512"

# --- RSA, ECDSA and Ed25519, every algorithm ---------------------------------
for pair in "rsa2048|rsa2048|$RSA_ALGS" "rsa3072|$ODD_LABEL|$RSA_ALGS" \
	"ec256|ec256|$EC_ALGS" "ec384|ec384|$EC_ALGS" "ec521|ec521|$EC_ALGS" \
	"ed25519|ed25519|ed25519"; do
	name=${pair%%|*}
	rest=${pair#*|}
	key=${rest%%|*}
	algs=${rest#*|}
	export_pub "$key" "$name" || continue
	for alg in $algs; do
		sign_and_check "$name" "$key" "$alg"
	done
	check_formats "$name" "$key"
done

# --- defaults (no --alg) ------------------------------------------------------
for pair in rsa2048:rsa-pkcs1-sha256 ec256:ecdsa-sha256 ec384:ecdsa-sha384 \
	ec521:ecdsa-sha512 ed25519:ed25519; do
	name=${pair%%:*}
	alg=${pair#*:}
	[ -f "$T/$name.pem" ] || continue
	if check_rc "sign default $name" 0 p11a sign "$name" -i "$MSG" -o "$T/sig.def"; then
		check_ossl "default of $name is $alg" "$alg" "$T/$name.pem" "$MSG" "$T/sig.def"
	fi
	check_rc "verify default $name" 0 p11a verify "$name" --sig "$T/sig.def" -i "$MSG"
done
if [ -f "$T/rsa3072.pem" ] &&
	check_rc "sign default rsa3072" 0 p11a sign "$ODD_LABEL" -i "$MSG" -o "$T/sig.def"; then
	check_ossl "default of rsa3072 is rsa-pkcs1-sha256" rsa-pkcs1-sha256 "$T/rsa3072.pem" \
		"$MSG" "$T/sig.def"
fi

# --- stdin and stdout ----------------------------------------------------------
for name in rsa2048 ec384 ed25519; do
	[ -f "$T/$name.pem" ] || continue
	if timeout 30 "$P11AGENT" -S "$SOCK" sign "$name" <"$MSG" >"$T/sig.io" 2>"$ERR"; then
		check_ossl "sign stdin to stdout $name" "$(case $name in rsa*) echo rsa-pkcs1-sha256 ;;
			ec384) echo ecdsa-sha384 ;; *) echo ed25519 ;; esac)" \
			"$T/$name.pem" "$MSG" "$T/sig.io"
	else
		fail "sign stdin to stdout $name" "stderr: $(show "$ERR")"
	fi
done

# --- empty and large messages ----------------------------------------------------
# (openssl pkeyutl -rawin of OpenSSL 3.0 cannot read an empty message: for
# Ed25519, p11agent verify, which calls OpenSSL's library, checks it.)
for pair in ec256:ecdsa-sha256 ed25519:ed25519 rsa2048:rsa-pss-sha256; do
	name=${pair%%:*}
	alg=${pair#*:}
	[ -f "$T/$name.pem" ] || continue
	check_rc "sign empty message $name" 0 \
		p11a sign "$name" --alg "$alg" -i "$T/empty" -o "$T/sig.empty" || continue
	if [ "$alg" != ed25519 ]; then
		check_ossl "openssl verifies empty message $name" "$alg" "$T/$name.pem" \
			"$T/empty" "$T/sig.empty"
	fi
	check_rc "verify empty message $name" 0 \
		p11a verify "$name" --alg "$alg" --sig "$T/sig.empty" -i "$T/empty"
	check_rc "verify rejects empty message's signature on another $name" 1 \
		p11a verify "$name" --alg "$alg" --sig "$T/sig.empty" -i "$MSG"
done
head -c 3145728 /dev/urandom >"$T/big"
for pair in rsa2048:rsa-pkcs1-sha512 ec521:ecdsa-sha512; do
	name=${pair%%:*}
	alg=${pair#*:}
	[ -f "$T/$name.pem" ] || continue
	if check_rc "sign 3 MiB (hashed by the client) $name" 0 \
		p11a sign "$name" --alg "$alg" -i "$T/big" -o "$T/sig.big"; then
		check_ossl "openssl verifies 3 MiB $name" "$alg" "$T/$name.pem" "$T/big" "$T/sig.big"
	fi
done
head -c 65536 /dev/urandom >"$T/64k"
if [ -f "$T/ed25519.pem" ] &&
	check_rc "sign 64 KiB ed25519" 0 p11a sign ed25519 -i "$T/64k" -o "$T/sig.64k"; then
	check_ossl "openssl verifies 64 KiB ed25519" ed25519 "$T/ed25519.pem" "$T/64k" "$T/sig.64k"
fi

# --- ECDSA raw r||s ------------------------------------------------------------------
for pair in ec256:64 ec384:96 ec521:132; do
	name=${pair%%:*}
	len=${pair#*:}
	[ -f "$T/$name.pem" ] || continue
	for alg in $EC_ALGS; do
		check_rc "sign --raw $name $alg" 0 \
			p11a sign "$name" --alg "$alg" --raw -i "$MSG" -o "$T/sig.raw" || continue
		got=$(wc -c <"$T/sig.raw")
		if [ "$got" -eq "$len" ]; then
			pass "--raw is $len bytes $name $alg"
		else
			fail "--raw is $len bytes $name $alg" "got $got bytes"
			continue
		fi
		raw2der "$T/sig.raw" "$T/sig.der"
		check_ossl "openssl verifies --raw $name $alg" "$alg" "$T/$name.pem" "$MSG" "$T/sig.der"
	done
done

# --- HMAC ---------------------------------------------------------------------------
# hmac_expected HEXKEY HASH FILE OUT: OpenSSL's MAC.
hmac_expected() {
	ossl dgst "-$2" -mac HMAC -macopt "hexkey:$1" -binary "$3" >"$4"
}
for alg in hmac-sha256 hmac-sha384 hmac-sha512; do
	h=$(hash_of "$alg")
	hmac_expected "$HMAC_HEX" "$h" "$MSG" "$T/mac.expected"
	for cmd in sign hmac; do
		check_rc "$cmd hmac $alg" 0 p11a "$cmd" hmac --alg "$alg" -i "$MSG" -o "$T/mac" ||
			continue
		if cmp -s "$T/mac" "$T/mac.expected"; then
			pass "$cmd hmac $alg equals OpenSSL's"
		else
			fail "$cmd hmac $alg equals OpenSSL's" \
				"got $(hex "$T/mac"), expected $(hex "$T/mac.expected")"
		fi
	done
	check_rc "verify hmac $alg" 0 p11a verify hmac --sig "$T/mac.expected" --alg "$alg" -i "$MSG"
	flip "$T/mac.expected" "$T/mac.bad"
	check_rc "verify rejects wrong hmac $alg" 1 \
		p11a verify hmac --sig "$T/mac.bad" --alg "$alg" -i "$MSG"
done
hmac_expected "$HMAC_HEX" sha256 "$MSG" "$T/mac.expected"
if check_rc "hmac default" 0 p11a hmac hmac -i "$MSG" -o "$T/mac"; then
	if cmp -s "$T/mac" "$T/mac.expected"; then
		pass "hmac default is hmac-sha256"
	else
		fail "hmac default is hmac-sha256" "got $(hex "$T/mac")"
	fi
fi
check_rc "verify hmac default" 0 p11a verify hmac --sig "$T/mac.expected" -i "$MSG"
hmac_expected "$HMAC_HEX" sha256 "$T/empty" "$T/mac.expected"
if check_rc "hmac empty message" 0 p11a hmac hmac -i "$T/empty" -o "$T/mac"; then
	if cmp -s "$T/mac" "$T/mac.expected"; then
		pass "hmac empty message equals OpenSSL's"
	else
		fail "hmac empty message equals OpenSSL's" "got $(hex "$T/mac")"
	fi
fi
# A CKK_SHA384_HMAC key: its own hash, by name and by default.
hmac_expected "$HMAC384_HEX" sha384 "$MSG" "$T/mac.expected"
for args in "--alg hmac-sha384" ""; do
	# shellcheck disable=SC2086
	if check_rc "hmac sha384-typed key ${args:-default}" 0 \
		p11a hmac hmac384 $args -i "$MSG" -o "$T/mac"; then
		if cmp -s "$T/mac" "$T/mac.expected"; then
			pass "hmac sha384-typed key ${args:-default} equals OpenSSL's"
		else
			fail "hmac sha384-typed key ${args:-default} equals OpenSSL's" "got $(hex "$T/mac")"
		fi
	fi
done

# --- list, URIs as KEY, id:HEX ----------------------------------------------------------
if check_rc "list" 0 p11a list; then
	cp "$OUT" "$T/list"
	n=$(grep -c 'pkcs11:' "$T/list")
	lines=$(grep -c . "$T/list")
	if [ "$n" -eq "$NKEYS" ] && [ "$lines" -eq "$NKEYS" ]; then
		pass "list prints one line per key"
	else
		fail "list prints one line per key" "$lines lines, $n with a URI, $NKEYS keys: $(show "$T/list")"
	fi
	for label in rsa2048 ec256 ec384 ec521 ed25519 hmac hmac384 aes256 dup nosign; do
		if grep -q "^${label}[[:space:]]" "$T/list"; then
			pass "list names $label"
		else
			fail "list names $label" "$(show "$T/list")"
		fi
	done
	if grep -qF "$ODD_LABEL" "$T/list"; then
		pass "list names the odd label"
	else
		fail "list names the odd label" "$(show "$T/list")"
	fi
	# Every URI works as KEY: sign with it (by default algorithm) where the key
	# may sign; the others are found but refused (exit 1, not 5).
	i=0
	while read -r line <&3; do
		i=$((i + 1))
		uri=$(echo "$line" | awk '{ print $NF }')
		# NAME  TYPE  OPS  FINGERPRINT  URI
		ops=$(echo "$line" | awk '{ print $(NF - 2) }')
		type=$(echo "$line" | awk '{ print $(NF - 3) }')
		case $type,$ops, in
		aes*) want=1 ;;
		*,sign,*) want=0 ;;
		*) want=1 ;;
		esac
		check_rc "URI as KEY, key $i ($type $ops)" "$want" p11a sign "$uri" -i "$MSG" -o "$T/sig.uri"
		case $type in
		hmac* | aes*) ;;
		*) check_rc "pubkey by URI, key $i ($type)" 0 p11a pubkey "$uri" ;;
		esac
	done 3<<EOF
$(grep 'pkcs11:' "$T/list")
EOF
	uri=$(grep '^rsa2048[[:space:]]' "$T/list" | awk '{ print $NF }')
	if [ -n "$uri" ] && p11a pubkey "$uri" >"$T/uri.pem" 2>/dev/null &&
		cmp -s "$T/uri.pem" "$T/rsa2048.pem"; then
		pass "URI and label name the same key"
	else
		fail "URI and label name the same key" "pubkey '$uri' differs from pubkey rsa2048"
	fi
	uri=$(grep -F "$ODD_LABEL" "$T/list" | awk '{ print $NF }')
	if [ -n "$uri" ] && p11a pubkey "$uri" >"$T/uri.pem" 2>/dev/null &&
		cmp -s "$T/uri.pem" "$T/rsa3072.pem"; then
		pass "escaped URI names the odd-label key"
	else
		fail "escaped URI names the odd-label key" "pubkey '$uri' differs"
	fi
fi

if check_rc "list --json" 0 p11a --json list; then
	if python3 -m json.tool "$OUT" >/dev/null 2>"$T/json.err"; then
		pass "list --json parses"
	else
		fail "list --json parses" "$(show "$T/json.err"): $(show "$OUT")"
	fi
	n=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if isinstance(d, dict):
    d = d.get("keys", [])
print(len(d))' "$OUT" 2>/dev/null)
	if [ "${n:-0}" -eq "$NKEYS" ]; then
		pass "list --json has every key"
	else
		fail "list --json has every key" "${n:-no} entries, $NKEYS keys"
	fi
fi

# The key with no label, by id.
if check_rc "pubkey id:40 (no label)" 0 p11a pubkey id:40; then
	cp "$OUT" "$T/nolabel.pem"
	if check_rc "sign id:40" 0 p11a sign id:40 -i "$MSG" -o "$T/sig.id"; then
		check_ossl "openssl verifies id:40" ecdsa-sha256 "$T/nolabel.pem" "$MSG" "$T/sig.id"
	fi
fi
# Duplicate labels, by id.
check_rc "sign id:30 (label shared)" 0 p11a sign id:30 -i "$MSG" -o "$T/sig.id"
check_rc "sign id:31 (label shared)" 0 p11a sign id:31 -i "$MSG" -o "$T/sig.id"

agent_alive "agent alive at the end"
stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "agent exits 0 on SIGTERM"
else
	fail "agent exits 0 on SIGTERM" "exit $AGENT_RC"
fi
if grep -qF "$(cat "$PIN_FILE")" "$T/agent.log"; then
	fail "PIN not in the log" "the agent's log holds the PIN"
else
	pass "PIN not in the log"
fi
finish

#!/bin/sh
# test-decrypt.sh: key transport through the agent, checked against OpenSSL:
# RSA-OAEP decryption with every hash (with and without a label), PKCS#1 v1.5
# decryption where a key's config allows it, session keys unwrapped with
# RSA-OAEP and with AES key wrap (RFC 3394 and 5649), ECDH on each curve; what
# list --json says of them; and every failure, each with its exit code and
# message, the agent serving after each one.
#
# Session keys and shared secrets are compared with cmp, never printed.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 od cmp timeout
make_token "$KEY_RSA2048" "$KEY_RSA_LEGACY" "$KEY_RSA_NODECRYPT" "$KEY_RSA_NOUNWRAP" \
	"$KEY_EC256" "$KEY_EC384" "$KEY_EC521" "$KEY_EC_NODERIVE" "$KEY_ED25519" "$KEY_AES"

# Two keys named in the agent's config: only 'legacy' may decrypt PKCS#1 v1.5.
cat >"$T/p11agent.conf" <<EOF
# p11agentd test configuration: named keys
[key legacy]
uri = pkcs11:object=rsa-legacy
allow-rsa-pkcs1-decrypt = yes

[key server-rsa]
uri = pkcs11:id=%01
EOF
start_agent --config "$T/p11agent.conf" || finish

umask 077
RSA_OAEP_HASHES="sha1 sha256 sha384 sha512"
LABEL_TEXT='p11agent test label'
LABEL_HEX=$(printf '%s' "$LABEL_TEXT" | od -An -v -tx1 | tr -d ' \n')
BIN_LABEL_HEX=00ff7f80010203

# hash_len HASH: the digest length of HASH in bytes.
hash_len() {
	case $1 in
	sha1) echo 20 ;;
	sha256) echo 32 ;;
	sha384) echo 48 ;;
	sha512) echo 64 ;;
	esac
}

# oaep_encrypt PUB HASH IN OUT [LABELHEX]: OpenSSL's RSA-OAEP encryption, MGF1
# with the same hash.
oaep_encrypt() {
	ossl pkeyutl -encrypt -pubin -inkey "$1" -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt "rsa_oaep_md:$2" -pkeyopt "rsa_mgf1_md:$2" \
		${5:+-pkeyopt "rsa_oaep_label:$5"} -in "$3" -out "$4"
}

# aes_wrap kw|kwp IN OUT: OpenSSL's AES-256 key wrap under the token's AES key
# (a test value, known to the test). OpenSSL 3.0's enc wants the IVs given: the
# default ones of RFC 3394 and RFC 5649.
aes_wrap() {
	case $1 in
	kw) ossl enc -id-aes256-wrap -K "$AES_HEX" -iv A6A6A6A6A6A6A6A6 -in "$2" -out "$3" ;;
	kwp) ossl enc -id-aes256-wrap-pad -K "$AES_HEX" -iv A65959A6 -in "$2" -out "$3" ;;
	esac
}

# cut_file FILE N OUT: FILE without its last N bytes.
cut_file() {
	head -c "$(($(wc -c <"$1") - $2))" "$1" >"$3"
}

# flip FILE OUT: FILE with one bit of its middle byte changed.
flip() {
	python3 - "$1" "$2" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[len(b) // 2] ^= 0x01
open(sys.argv[2], 'wb').write(b)
EOF
}

# export_pub KEY FILE: the key's public key, PEM.
export_pub() {
	if p11a pubkey "$1" >"$2" 2>"$ERR" && grep -q 'BEGIN PUBLIC KEY' "$2"; then
		pass "pubkey $1"
		return 0
	fi
	fail "pubkey $1" "no PEM public key; stderr: $(show "$ERR")"
	return 1
}

export_pub rsa2048 "$T/rsa.pem" || finish
export_pub legacy "$T/legacy.pem" || finish
export_pub rsa-nodecrypt "$T/nodecrypt.pem" || finish
export_pub rsa-nounwrap "$T/nounwrap.pem" || finish

# --- decrypt: RSA-OAEP, every hash, sizes from 0 bytes to the most it holds ------
for h in $RSA_OAEP_HASHES; do
	max=$((256 - 2 * $(hash_len "$h") - 2))
	for size in 0 1 32 "$max"; do
		head -c "$size" /dev/urandom >"$T/pt"
		oaep_encrypt "$T/rsa.pem" "$h" "$T/pt" "$T/ct" || {
			fail "openssl encrypts oaep-$h $size bytes" "openssl pkeyutl failed"
			continue
		}
		rm -f "$T/pt.out"
		if check_rc "decrypt rsa-oaep-$h $size bytes" 0 \
			p11a decrypt rsa2048 --alg "rsa-oaep-$h" -i "$T/ct" -o "$T/pt.out"; then
			same_bytes "decrypt rsa-oaep-$h $size bytes: OpenSSL's plaintext" \
				"$T/pt.out" "$T/pt"
		fi
	done
	# With a label: as text and as hex; a binary label by hex.
	head -c 48 /dev/urandom >"$T/pt"
	oaep_encrypt "$T/rsa.pem" "$h" "$T/pt" "$T/ct.label" "$LABEL_HEX"
	for opt in "--label" "--label-hex"; do
		val=$LABEL_TEXT
		[ "$opt" = --label-hex ] && val=$LABEL_HEX
		rm -f "$T/pt.out"
		if check_rc "decrypt rsa-oaep-$h $opt" 0 p11a decrypt rsa2048 --alg "rsa-oaep-$h" \
			"$opt" "$val" -i "$T/ct.label" -o "$T/pt.out"; then
			same_bytes "decrypt rsa-oaep-$h $opt: OpenSSL's plaintext" "$T/pt.out" "$T/pt"
		fi
	done
	oaep_encrypt "$T/rsa.pem" "$h" "$T/pt" "$T/ct.binlabel" "$BIN_LABEL_HEX"
	rm -f "$T/pt.out"
	if check_rc "decrypt rsa-oaep-$h binary label" 0 p11a decrypt rsa2048 \
		--alg "rsa-oaep-$h" --label-hex "$BIN_LABEL_HEX" -i "$T/ct.binlabel" -o "$T/pt.out"; then
		same_bytes "decrypt rsa-oaep-$h binary label: OpenSSL's plaintext" "$T/pt.out" "$T/pt"
	fi
	# A wrong label, or none, is a failed decryption like any other.
	check_refused "decrypt rsa-oaep-$h without the label" 1 'decryption failed' \
		p11a decrypt rsa2048 --alg "rsa-oaep-$h" -i "$T/ct.label"
	check_refused "decrypt rsa-oaep-$h with another label" 1 'decryption failed' \
		p11a decrypt rsa2048 --alg "rsa-oaep-$h" --label other -i "$T/ct.label"
done

# The default is rsa-oaep-sha256; by config name; stdin to stdout.
head -c 32 /dev/urandom >"$T/pt"
oaep_encrypt "$T/rsa.pem" sha256 "$T/pt" "$T/ct.sha256"
oaep_encrypt "$T/rsa.pem" sha1 "$T/pt" "$T/ct.sha1"
if check_rc "decrypt default alg" 0 p11a decrypt rsa2048 -i "$T/ct.sha256" -o "$T/pt.out"; then
	same_bytes "decrypt default alg is rsa-oaep-sha256" "$T/pt.out" "$T/pt"
fi
check_refused "decrypt default alg is not rsa-oaep-sha1" 1 'decryption failed' \
	p11a decrypt rsa2048 -i "$T/ct.sha1"
# The failure names the algorithm tried and the option that picks another,
# and says the same for every cause: a wrong hash, a wrong label, a damaged
# ciphertext (no oracle).
check_err "decrypt OAEP-SHA1 by default: names rsa-oaep-sha256" \
	'decryption failed with rsa-oaep-sha256: wrong key, wrong --alg, wrong label or damaged input'
check_err "decrypt OAEP-SHA1 by default: try --alg rsa-oaep-sha1" 'try --alg rsa-oaep-sha1'
cp "$ERR" "$T/err.hash"
oaep_encrypt "$T/rsa.pem" sha256 "$T/pt" "$T/ct.labelled" "$LABEL_HEX"
flip "$T/ct.sha256" "$T/ct.flipped"
for what in labelled flipped; do
	check_refused "decrypt rsa-oaep-sha256, $what" 1 'decryption failed with rsa-oaep-sha256' \
		p11a decrypt rsa2048 -i "$T/ct.$what"
	if cmp -s "$ERR" "$T/err.hash"; then
		pass "decrypt rsa-oaep-sha256, $what: the same error as a wrong hash"
	else
		fail "decrypt rsa-oaep-sha256, $what: the same error as a wrong hash" \
			"'$(show "$ERR")' vs '$(show "$T/err.hash")'"
	fi
done
check_refused "decrypt --alg rsa-oaep-sha1 of OAEP-SHA256" 1 \
	'decryption failed with rsa-oaep-sha1: .*try --alg rsa-oaep-sha256' \
	p11a decrypt rsa2048 --alg rsa-oaep-sha1 -i "$T/ct.sha256"
if check_rc "decrypt by config name" 0 p11a decrypt server-rsa -i "$T/ct.sha256" -o "$T/pt.out"
then
	same_bytes "decrypt by config name: OpenSSL's plaintext" "$T/pt.out" "$T/pt"
fi
if timeout 30 "$P11AGENT" -S "$SOCK" decrypt rsa2048 <"$T/ct.sha256" >"$T/pt.out" 2>"$ERR"; then
	same_bytes "decrypt stdin to stdout" "$T/pt.out" "$T/pt"
else
	fail "decrypt stdin to stdout" "stderr: $(show "$ERR")"
fi

# --- decrypt: RSA PKCS#1 v1.5, only where the key's config allows it -------------
head -c 48 /dev/urandom >"$T/pt"
ossl pkeyutl -encrypt -pubin -inkey "$T/legacy.pem" -in "$T/pt" -out "$T/ct.legacy"
ossl pkeyutl -encrypt -pubin -inkey "$T/rsa.pem" -in "$T/pt" -out "$T/ct.pkcs1"
for key in legacy rsa-legacy; do
	rm -f "$T/pt.out"
	if check_rc "decrypt rsa-pkcs1 allowed ($key)" 0 \
		p11a decrypt "$key" --alg rsa-pkcs1 -i "$T/ct.legacy" -o "$T/pt.out"; then
		same_bytes "decrypt rsa-pkcs1 allowed ($key): OpenSSL's plaintext" "$T/pt.out" "$T/pt"
	fi
done
for key in rsa2048 server-rsa; do
	check_refused "decrypt rsa-pkcs1 not allowed ($key)" 1 \
		'allow-rsa-pkcs1-decrypt|not allow' \
		p11a decrypt "$key" --alg rsa-pkcs1 -i "$T/ct.pkcs1"
done
# rsa-pkcs1 only decrypts; the AES algorithms only unwrap.
check_refused "unwrap rsa-pkcs1" '1|2' 'rsa-pkcs1|unwrap' \
	p11a unwrap legacy --alg rsa-pkcs1 -i "$T/ct.legacy"
check_refused "decrypt aes-kw" '1|2' 'aes-kw|decrypt' \
	p11a decrypt aes256 --alg aes-kw -i "$T/ct.legacy"
# Every failure of it is one and the same error (no padding oracle). The
# ciphertexts are made with raw RSA from blocks whose padding is wrong in a
# known way (a corrupted ciphertext decrypts to valid padding once in some
# hundreds of runs): block type 1, no zero after the padding, padding shorter
# than 8 bytes, a first byte that is not zero.
python3 - "$T" <<'EOF'
import sys
d = sys.argv[1]
blocks = {
    "type1": b"\x00\x01" + b"\xff" * 221 + b"\x00" + b"A" * 32,
    "nozero": b"\x00\x02" + b"\x5a" * 254,
    "shortpad": b"\x00\x02" + b"\x5a" * 5 + b"\x00" + b"A" * 248,
    "lead": b"\x01\x02" + b"\x5a" * 221 + b"\x00" + b"A" * 32,
}
for name, b in blocks.items():
    assert len(b) == 256
    open("%s/block.%s" % (d, name), "wb").write(b)
EOF
first=
for what in type1 nozero shortpad lead; do
	ossl pkeyutl -encrypt -pubin -inkey "$T/legacy.pem" -pkeyopt rsa_padding_mode:none \
		-in "$T/block.$what" -out "$T/ct.$what"
	check_refused "rsa-pkcs1 bad padding ($what)" 1 'decryption failed' \
		p11a decrypt legacy --alg rsa-pkcs1 -i "$T/ct.$what"
	if [ -z "$first" ]; then
		first=$what
		cp "$ERR" "$T/err.pkcs1"
	elif cmp -s "$ERR" "$T/err.pkcs1"; then
		pass "rsa-pkcs1 bad padding ($what): the same error as ($first)"
	else
		fail "rsa-pkcs1 bad padding ($what): the same error as ($first)" \
			"'$(show "$ERR")' vs '$(show "$T/err.pkcs1")'"
	fi
done

# --- decrypt failures ----------------------------------------------------------------
# Corrupted OAEP: the native path (SHA-1 on SoftHSM) and the software path
# (SHA-256) fail alike, with one generic message.
for h in sha1 sha256; do
	flip "$T/ct.$h" "$T/ct.bad"
	check_refused "decrypt rsa-oaep-$h corrupted ciphertext" 1 'decryption failed' \
		p11a decrypt rsa2048 --alg "rsa-oaep-$h" -i "$T/ct.bad"
	sed "s/rsa-oaep-sha[0-9]*/ALG/g" "$ERR" >"$T/err.$h"
done
if cmp -s "$T/err.sha1" "$T/err.sha256"; then
	pass "corrupted OAEP: one error, native or software"
else
	fail "corrupted OAEP: one error, native or software" \
		"'$(show "$T/err.sha1")' vs '$(show "$T/err.sha256")'"
fi
cut_file "$T/ct.sha256" 1 "$T/ct.short"
check_refused "decrypt ciphertext 1 byte short" 1 'length|size|short|bytes|decryption failed' \
	p11a decrypt rsa2048 -i "$T/ct.short"
cp "$T/ct.sha256" "$T/ct.long"
printf '\000' >>"$T/ct.long"
check_refused "decrypt ciphertext 1 byte long" 1 'length|size|long|bytes|decryption failed' \
	p11a decrypt rsa2048 -i "$T/ct.long"
: >"$T/empty"
check_refused "decrypt empty ciphertext" 1 'length|size|short|bytes|empty|decryption failed' \
	p11a decrypt rsa2048 -i "$T/empty"
# Wrong key types.
check_refused "decrypt with an EC key" 1 'EC|RSA|key' p11a decrypt ec256 -i "$T/ct.sha256"
check_refused "decrypt with an Ed25519 key" 1 'ed25519|RSA|key' \
	p11a decrypt ed25519 -i "$T/ct.sha256"
check_refused "decrypt with an AES key" 1 'AES|RSA|key|decrypt' \
	p11a decrypt aes256 -i "$T/ct.sha256"
check_refused "decrypt rsa-oaep-sha256 with an EC key" 1 'EC|RSA|fit' \
	p11a decrypt ec256 --alg rsa-oaep-sha256 -i "$T/ct.sha256"
# The token's CKA_DECRYPT applies, on the native and the software path.
for h in sha1 sha256; do
	oaep_encrypt "$T/nodecrypt.pem" "$h" "$T/pt" "$T/ct.nodecrypt"
	check_refused "decrypt rsa-oaep-$h with a CKA_DECRYPT=false key" 1 \
		'not allowed|not permitted|decrypt' \
		p11a decrypt rsa-nodecrypt --alg "rsa-oaep-$h" -i "$T/ct.nodecrypt"
done
# Usage errors.
check_refused "decrypt with an unknown alg" 2 'alg|rsa-oaep-md5' \
	p11a decrypt rsa2048 --alg rsa-oaep-md5 -i "$T/ct.sha256"
check_refused "decrypt with --label and --label-hex" 2 'label' \
	p11a decrypt rsa2048 --label a --label-hex 61 -i "$T/ct.sha256"
check_refused "decrypt with a bad --label-hex" 2 'label|hex' \
	p11a decrypt rsa2048 --label-hex 6g -i "$T/ct.sha256"
check_refused "decrypt without KEY" 2 'KEY|usage|key' p11a decrypt
check_refused "decrypt with an unknown key" 5 'no-such-key|no key' \
	p11a decrypt no-such-key -i "$T/ct.sha256"

# --- unwrap: RSA-OAEP key transport of a random AES-256 key ------------------------------
head -c 32 /dev/urandom >"$T/sk"
for h in $RSA_OAEP_HASHES; do
	oaep_encrypt "$T/rsa.pem" "$h" "$T/sk" "$T/wk.$h"
	rm -f "$T/sk.out"
	if check_rc "unwrap rsa-oaep-$h" 0 \
		p11a unwrap rsa2048 --alg "rsa-oaep-$h" -i "$T/wk.$h" -o "$T/sk.out"; then
		same_bytes "unwrap rsa-oaep-$h: the session key" "$T/sk.out" "$T/sk"
	fi
	rm -f "$T/sk.out"
	if check_rc "unwrap rsa-oaep-$h --key-len 32" 0 p11a unwrap rsa2048 \
		--alg "rsa-oaep-$h" --key-len 32 -i "$T/wk.$h" -o "$T/sk.out"; then
		same_bytes "unwrap rsa-oaep-$h --key-len 32: the session key" "$T/sk.out" "$T/sk"
	fi
	check_refused "unwrap rsa-oaep-$h --key-len 16 of a 32-byte key" 1 'length|16|32' \
		p11a unwrap rsa2048 --alg "rsa-oaep-$h" --key-len 16 -i "$T/wk.$h"
	oaep_encrypt "$T/rsa.pem" "$h" "$T/sk" "$T/wk.label" "$LABEL_HEX"
	rm -f "$T/sk.out"
	if check_rc "unwrap rsa-oaep-$h --label" 0 p11a unwrap rsa2048 \
		--alg "rsa-oaep-$h" --label "$LABEL_TEXT" -i "$T/wk.label" -o "$T/sk.out"; then
		same_bytes "unwrap rsa-oaep-$h --label: the session key" "$T/sk.out" "$T/sk"
	fi
done
rm -f "$T/sk.out"
if check_rc "unwrap default alg" 0 p11a unwrap server-rsa -i "$T/wk.sha256" -o "$T/sk.out"; then
	same_bytes "unwrap default alg is rsa-oaep-sha256" "$T/sk.out" "$T/sk"
fi
if timeout 30 "$P11AGENT" -S "$SOCK" unwrap rsa2048 --alg rsa-oaep-sha384 \
	<"$T/wk.sha384" >"$T/sk.out" 2>"$ERR"; then
	same_bytes "unwrap stdin to stdout" "$T/sk.out" "$T/sk"
else
	fail "unwrap stdin to stdout" "stderr: $(show "$ERR")"
fi
# The token's CKA_UNWRAP applies on the native path (C_UnwrapKey) and the agent
# enforces it on the software one; a CKA_DECRYPT=false key unwraps natively,
# while the software path needs CKA_DECRYPT (it decrypts raw RSA).
for h in sha1 sha256; do
	oaep_encrypt "$T/nounwrap.pem" "$h" "$T/sk" "$T/wk.nounwrap"
	check_refused "unwrap rsa-oaep-$h with a CKA_UNWRAP=false key" 1 \
		'not allowed|not permitted|unwrap' \
		p11a unwrap rsa-nounwrap --alg "rsa-oaep-$h" -i "$T/wk.nounwrap"
	rm -f "$T/sk.out"
	if check_rc "decrypt rsa-oaep-$h with the CKA_UNWRAP=false key" 0 p11a decrypt \
		rsa-nounwrap --alg "rsa-oaep-$h" -i "$T/wk.nounwrap" -o "$T/sk.out"; then
		same_bytes "decrypt rsa-oaep-$h with the CKA_UNWRAP=false key: plaintext" \
			"$T/sk.out" "$T/sk"
	fi
done
oaep_encrypt "$T/nodecrypt.pem" sha1 "$T/sk" "$T/wk.nodecrypt"
rm -f "$T/sk.out"
if check_rc "unwrap rsa-oaep-sha1 (native) with a CKA_DECRYPT=false key" 0 \
	p11a unwrap rsa-nodecrypt --alg rsa-oaep-sha1 -i "$T/wk.nodecrypt" -o "$T/sk.out"; then
	same_bytes "unwrap rsa-oaep-sha1 (native) with a CKA_DECRYPT=false key: the session key" \
		"$T/sk.out" "$T/sk"
fi
oaep_encrypt "$T/nodecrypt.pem" sha256 "$T/sk" "$T/wk.nodecrypt"
check_refused "unwrap rsa-oaep-sha256 (software) with a CKA_DECRYPT=false key" 1 \
	'not allowed|not permitted|decrypt|unwrap' \
	p11a unwrap rsa-nodecrypt --alg rsa-oaep-sha256 -i "$T/wk.nodecrypt"

# --- unwrap: AES key wrap under the token's known AES-256 key ------------------------------
for mode in kw kwp; do
	sizes="16 24 32"
	[ "$mode" = kwp ] && sizes="16 20 24 32"
	for size in $sizes; do
		head -c "$size" /dev/urandom >"$T/sk.$size"
		if ! aes_wrap "$mode" "$T/sk.$size" "$T/wk.$mode.$size" 2>"$T/ossl.err"; then
			fail "openssl aes-$mode $size bytes" "$(show "$T/ossl.err")"
			continue
		fi
		rm -f "$T/sk.out"
		if check_rc "unwrap aes-$mode $size bytes" 0 p11a unwrap aes256 --alg "aes-$mode" \
			-i "$T/wk.$mode.$size" -o "$T/sk.out"; then
			same_bytes "unwrap aes-$mode $size bytes: the session key" \
				"$T/sk.out" "$T/sk.$size"
		fi
		rm -f "$T/sk.out"
		if check_rc "unwrap aes-$mode $size bytes --key-len $size" 0 p11a unwrap aes256 \
			--alg "aes-$mode" --key-len "$size" -i "$T/wk.$mode.$size" -o "$T/sk.out"; then
			same_bytes "unwrap aes-$mode $size bytes --key-len $size: the session key" \
				"$T/sk.out" "$T/sk.$size"
		fi
	done
	check_refused "unwrap aes-$mode --key-len 16 of a 32-byte key" 1 'length|16|32' \
		p11a unwrap aes256 --alg "aes-$mode" --key-len 16 -i "$T/wk.$mode.32"
	# Truncated by a whole block (the integrity check fails) and by a byte (the
	# length is wrong), corrupted.
	cut_file "$T/wk.$mode.32" 8 "$T/wk.cut"
	check_refused "unwrap aes-$mode wrapped key 8 bytes short" 1 \
		'unwrap|failed|length|invalid|bad' p11a unwrap aes256 --alg "aes-$mode" -i "$T/wk.cut"
	cut_file "$T/wk.$mode.32" 1 "$T/wk.cut"
	check_refused "unwrap aes-$mode wrapped key 1 byte short" 1 \
		'unwrap|failed|length|invalid|bad' p11a unwrap aes256 --alg "aes-$mode" -i "$T/wk.cut"
	flip "$T/wk.$mode.32" "$T/wk.bad"
	check_refused "unwrap aes-$mode corrupted wrapped key" 1 \
		'unwrap|failed|invalid|bad' p11a unwrap aes256 --alg "aes-$mode" -i "$T/wk.bad"
	# Wrapped by kw, unwrapped by kwp and the other way round.
	other=kwp
	[ "$mode" = kwp ] && other=kw
	check_refused "unwrap aes-$mode key as aes-$other" 1 'unwrap|failed|invalid|bad' \
		p11a unwrap aes256 --alg "aes-$other" -i "$T/wk.$mode.32"
done
rm -f "$T/sk.out"
if check_rc "unwrap AES default alg" 0 p11a unwrap aes256 -i "$T/wk.kwp.20" -o "$T/sk.out"; then
	same_bytes "unwrap AES default alg is aes-kwp" "$T/sk.out" "$T/sk.20"
fi

# --- unwrap failures -------------------------------------------------------------------------
cut_file "$T/wk.sha256" 1 "$T/wk.short"
check_refused "unwrap RSA wrapped key 1 byte short" 1 'length|size|short|bytes|failed' \
	p11a unwrap rsa2048 -i "$T/wk.short"
flip "$T/wk.sha256" "$T/wk.bad"
check_refused "unwrap RSA corrupted wrapped key" 1 'decryption failed|unwrap|failed' \
	p11a unwrap rsa2048 -i "$T/wk.bad"
check_refused "unwrap OAEP-SHA1 by default" 1 \
	'decryption failed with rsa-oaep-sha256: .*try --alg rsa-oaep-sha1' \
	p11a unwrap rsa2048 -i "$T/wk.sha1"
check_refused "unwrap aes-kw by default (aes-kwp)" 1 \
	'unwrap failed with aes-kwp: .*try --alg aes-kw' p11a unwrap aes256 -i "$T/wk.kw.32"
check_refused "unwrap with an EC key" 1 'EC|RSA|AES|key' p11a unwrap ec256 -i "$T/wk.sha256"
check_refused "unwrap aes-kw with an RSA key" 1 'AES|RSA|fit|key' \
	p11a unwrap rsa2048 --alg aes-kw -i "$T/wk.kw.32"
check_refused "unwrap rsa-oaep-sha256 with an AES key" 1 'AES|RSA|fit|key' \
	p11a unwrap aes256 --alg rsa-oaep-sha256 -i "$T/wk.sha256"
run p11a unwrap rsa2048 --key-len 0x20 -i "$T/wk.sha256"
case $RC in
1 | 2) pass "unwrap --key-len not a number (exit $RC)" ;;
*) fail "unwrap --key-len not a number" "exit $RC; stderr: $(show "$ERR")" ;;
esac

# --- derive: ECDH on each curve, equal to OpenSSL's ----------------------------------------------
for pair in ec256:P-256:32 ec384:P-384:48 ec521:P-521:66; do
	key=${pair%%:*}
	rest=${pair#*:}
	curve=${rest%%:*}
	len=${rest#*:}
	export_pub "$key" "$T/$key.pem" || continue
	ossl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "$T/peer.$key.key"
	ossl pkey -in "$T/peer.$key.key" -pubout -out "$T/peer.$key.pem"
	ossl pkeyutl -derive -inkey "$T/peer.$key.key" -peerkey "$T/$key.pem" -out "$T/z.expected"
	rm -f "$T/z"
	if check_rc "derive $curve" 0 p11a derive "$key" --peer "$T/peer.$key.pem" -o "$T/z"; then
		same_bytes "derive $curve: OpenSSL's shared secret" "$T/z" "$T/z.expected"
		if [ "$(wc -c <"$T/z")" -eq "$len" ]; then
			pass "derive $curve: $len bytes"
		else
			fail "derive $curve: $len bytes" "got $(wc -c <"$T/z") bytes"
		fi
	fi
	if check_rc "derive $curve to stdout" 0 p11a derive "$key" --peer "$T/peer.$key.pem"; then
		same_bytes "derive $curve to stdout: OpenSSL's shared secret" "$OUT" "$T/z.expected"
	fi
	# The peer's point compressed: the same secret.
	ossl pkey -pubin -in "$T/peer.$key.pem" -pubout -ec_conv_form compressed \
		-out "$T/peer.c.pem"
	rm -f "$T/z"
	if check_rc "derive $curve, compressed peer point" 0 \
		p11a derive "$key" --peer "$T/peer.c.pem" -o "$T/z"; then
		same_bytes "derive $curve, compressed peer point: OpenSSL's shared secret" \
			"$T/z" "$T/z.expected"
	fi
	# A fresh peer gives another secret.
	ossl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "$T/peer2.key"
	ossl pkey -in "$T/peer2.key" -pubout -out "$T/peer2.pem"
	if p11a derive "$key" --peer "$T/peer2.pem" -o "$T/z2" 2>"$ERR" &&
		! cmp -s "$T/z2" "$T/z.expected"; then
		pass "derive $curve: another peer, another secret"
	else
		fail "derive $curve: another peer, another secret" "stderr: $(show "$ERR")"
	fi
done
[ -f "$T/ec256.pem" ] || finish
ossl pkeyutl -derive -inkey "$T/peer.ec256.key" -peerkey "$T/ec256.pem" -out "$T/z.expected"
rm -f "$T/z"
if check_rc "derive --alg ecdh" 0 p11a derive ec256 --alg ecdh --peer "$T/peer.ec256.pem" \
	-o "$T/z"; then
	same_bytes "derive --alg ecdh: OpenSSL's shared secret" "$T/z" "$T/z.expected"
fi

# --- derive failures ------------------------------------------------------------------------------
# pem_of DER PEM: a DER SubjectPublicKeyInfo as PEM.
pem_of() {
	{
		echo '-----BEGIN PUBLIC KEY-----'
		python3 -c 'import base64, sys; print(base64.encodebytes(open(sys.argv[1], "rb").read()).decode(), end="")' "$1"
		echo '-----END PUBLIC KEY-----'
	} >"$2"
}
# A P-256 point off the curve: the last byte of Y changed.
ossl pkey -pubin -in "$T/peer.ec256.pem" -outform DER -out "$T/peer.der"
python3 - "$T/peer.der" "$T/peer.off.der" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[-1] ^= 0x01
open(sys.argv[2], 'wb').write(b)
EOF
pem_of "$T/peer.off.der" "$T/peer.off.pem"
check_refused "derive with a peer point off the curve" 1 'curve|point|peer|invalid' \
	p11a derive ec256 --peer "$T/peer.off.pem"
check_refused "derive with a P-384 peer on a P-256 key" 1 'P-384' \
	p11a derive ec256 --peer "$T/peer.ec384.pem"
check_err "derive with a P-384 peer on a P-256 key: names the key's curve" 'P-256'
check_refused "derive with a P-256 peer on a P-521 key" 1 'P-256' \
	p11a derive ec521 --peer "$T/peer.ec256.pem"
check_refused "derive with an RSA peer" 1 'RSA|EC|peer' p11a derive ec256 --peer "$T/rsa.pem"
ossl genpkey -algorithm ED25519 -out "$T/peer.ed.key"
ossl pkey -in "$T/peer.ed.key" -pubout -out "$T/peer.ed.pem"
check_refused "derive with an Ed25519 peer" 1 'ed25519|EC|peer' \
	p11a derive ec256 --peer "$T/peer.ed.pem"
printf 'not a public key\n' >"$T/peer.junk"
run p11a derive ec256 --peer "$T/peer.junk"
case $RC in
1 | 2) pass "derive with a peer file that is not a key (exit $RC)" ;;
*) fail "derive with a peer file that is not a key" "exit $RC; stderr: $(show "$ERR")" ;;
esac
check_refused "derive with a missing peer file" 1 'peer|no such|does-not-exist' \
	p11a derive ec256 --peer "$T/does-not-exist.pem"
check_refused "derive without --peer" 2 'peer' p11a derive ec256
check_refused "derive with an RSA key" 1 'RSA|EC|derive|key' \
	p11a derive rsa2048 --peer "$T/peer.ec256.pem"
check_refused "derive with an Ed25519 key" 1 'ed25519|EC|derive|key' \
	p11a derive ed25519 --peer "$T/peer.ec256.pem"
check_refused "derive with an AES key" 1 'AES|EC|derive|key' \
	p11a derive aes256 --peer "$T/peer.ec256.pem"
check_refused "derive with a CKA_DERIVE=false key" 1 'not allowed|not permitted|derive' \
	p11a derive ec-noderive --peer "$T/peer.ec256.pem"

# --- list --json: algorithms served, and which the agent completes in software -----------------
if check_rc "list --json" 0 p11a --json list; then
	python3 - "$OUT" >"$T/json-checks" 2>&1 <<'EOF' ||
import json, sys

keys = json.load(open(sys.argv[1]))
if isinstance(keys, dict):
    keys = keys.get("keys", [])
by = {k.get("label"): k for k in keys}

def names(v):
    if isinstance(v, list):
        return v
    return [x for x in (v or "").split(",") if x]

def check(name, ok, why=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + why))

oaep = ["rsa-oaep-sha1", "rsa-oaep-sha256", "rsa-oaep-sha384", "rsa-oaep-sha512"]
for label in ("rsa2048", "rsa-legacy", "ec256", "ed25519", "aes256"):
    k = by.get(label)
    check("list --json: %s listed" % label, k is not None, "not in %s" % sorted(by))
    if k is not None:
        check("list --json: %s has sw_algs" % label, "sw_algs" in k, "keys: %s" % sorted(k))
k = by.get("rsa2048")
if k is not None:
    algs, sw = names(k.get("algs")), names(k.get("sw_algs"))
    for a in oaep:
        check("list --json: rsa2048 serves " + a, a in algs, "algs %s" % algs)
    check("list --json: rsa-oaep-sha256 in software on SoftHSM", "rsa-oaep-sha256" in sw,
          "sw_algs %s" % sw)
    check("list --json: rsa-oaep-sha1 native on SoftHSM", "rsa-oaep-sha1" not in sw,
          "sw_algs %s" % sw)
    check("list --json: sw_algs within algs", set(sw) <= set(algs), "%s vs %s" % (sw, algs))
    check("list --json: rsa-pkcs1 not served by rsa2048", "rsa-pkcs1" not in algs,
          "algs %s" % algs)
    check("list --json: rsa2048 signs natively",
          "rsa-pss-sha256" in algs and "rsa-pss-sha256" not in sw, "%s / %s" % (algs, sw))
k = by.get("rsa-legacy")
if k is not None:
    check("list --json: rsa-pkcs1 served by the allowed key", "rsa-pkcs1" in names(k.get("algs")),
          "algs %s" % names(k.get("algs")))
for label, want, not_want in (("aes256", ["aes-kw", "aes-kwp"], oaep + ["ecdh"]),
                              ("ec256", ["ecdh"], oaep + ["aes-kw"]),
                              ("ec521", ["ecdh"], oaep),
                              ("ed25519", [], oaep + ["ecdh", "aes-kw"])):
    k = by.get(label)
    if k is None:
        continue
    algs = names(k.get("algs"))
    for a in want:
        check("list --json: %s serves %s" % (label, a), a in algs, "algs %s" % algs)
    for a in not_want:
        check("list --json: %s does not serve %s" % (label, a), a not in algs, "algs %s" % algs)
    check("list --json: %s completes nothing in software" % label, names(k.get("sw_algs")) == [],
          "sw_algs %s" % names(k.get("sw_algs")))
# The config names of the keys named in [key NAME] sections.
if not any("name" in k for k in keys):
    print("SKIP list --json: config names: no \"name\" member")
else:
    for label, name in (("rsa2048", "server-rsa"), ("rsa-legacy", "legacy"), ("ec256", "")):
        k = by.get(label)
        if k is not None:
            check("list --json: name of %s is '%s'" % (label, name), k.get("name", "") == name,
                  "name %r" % k.get("name"))
EOF
		echo "FAIL list --json checks: the checker failed" >>"$T/json-checks"
	count_lines <"$T/json-checks"
fi

# --- secrets stay out of the log -----------------------------------------------------------------
leaked=
for f in "$T/sk" "$T/sk.20" "$T/z.expected"; do
	[ -s "$f" ] && grep -qi "$(hex "$f")" "$T/agent.log" && leaked="$leaked $f"
done
if [ -z "$leaked" ]; then
	pass "session keys and shared secrets not in the log"
else
	fail "session keys and shared secrets not in the log" "found (in hex):$leaked"
fi

agent_alive "agent alive at the end"
stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "agent exits 0 on SIGTERM"
else
	fail "agent exits 0 on SIGTERM" "exit $AGENT_RC"
fi
finish

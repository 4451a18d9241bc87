#!/bin/sh
# test-httpsig-vectors.sh: the RFC 9421 test data in tests/httpsig/ hold, as
# OpenSSL sees them, before any p11agent code reads them: every signed
# example verifies with the RFC's key over its signature base (so the RFC
# 8792 unwrapping of messages and bases is exact), each base ends with the
# message's Signature-Input member, every Content-Digest matches its body,
# and each private key belongs to its public key. Needs no agent or token.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/httpsig-lib.sh"

# (Not require_tools: this test needs neither SoftHSM2 nor the programs.)
for t in python3 od timeout base64 "$OPENSSL"; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed"; exit 77; }
done

# Each signed example: OpenSSL accepts the RFC's signature over the base, and
# not over the base with one byte changed; the base's last line is the label's
# Signature-Input member; the base has no final newline.
while read -r label msg base alg key req; do
	name="$label in $msg"
	if ! hstool sig "$HS/$msg" "$label" "$T/sig" 2>"$ERR"; then
		fail "$name: signature" "$(show "$ERR")"
		continue
	fi
	if hs_ossl_verify "$alg" "$(hs_key_file "$key")" "$HS/$base" "$T/sig" >"$OUT" 2>&1; then
		pass "$name: OpenSSL verifies $alg over $base"
	else
		fail "$name: OpenSSL verifies $alg over $base" "$(show "$OUT")"
	fi
	sed '1s/^"/"x/' "$HS/$base" >"$T/base.bad"
	if hs_ossl_verify "$alg" "$(hs_key_file "$key")" "$T/base.bad" "$T/sig" >/dev/null 2>&1; then
		fail "$name: OpenSSL rejects a changed base" "it verifies"
	else
		pass "$name: OpenSSL rejects a changed base"
	fi
	params=$(hstool input "$HS/$msg" "$label")
	if [ "$(sed -n '$p' "$HS/$base")" = "\"@signature-params\": $params" ]; then
		pass "$name: @signature-params is the Signature-Input member"
	else
		fail "$name: @signature-params is the Signature-Input member" "$params"
	fi
	if [ "$(tail -c 1 "$HS/$base" | od -An -tx1 | tr -d ' ')" != 0a ]; then
		pass "$name: $base has no final newline"
	else
		fail "$name: $base has no final newline" "it ends in LF"
	fi
	if [ -n "$req" ] && [ ! -f "$HS/$req" ]; then
		fail "$name: request" "$req is missing"
	fi
done < <(hs_vectors)

# Every Content-Digest in the messages is the digest of the body.
for f in "$HS"/*.http; do
	hstool field "$f" content-digest >"$T/cd"
	[ -s "$T/cd" ] || continue
	hstool body "$f" "$T/body"
	got="sha-512=:$(ossl dgst -sha512 -binary "$T/body" | base64 -w0):"
	if [ "$(cat "$T/cd")" = "$got" ]; then
		pass "$(basename "$f"): Content-Digest matches the body"
	else
		fail "$(basename "$f"): Content-Digest matches the body" "body gives $got"
	fi
	len=$(hstool field "$f" content-length)
	if [ "$len" = "$(wc -c <"$T/body" | tr -d ' ')" ]; then
		pass "$(basename "$f"): Content-Length is the body's"
	else
		fail "$(basename "$f"): Content-Length is the body's" "$len"
	fi
done

# The private keys go with the public keys (the RSA-PSS key's public half is
# RSASSA-PSS in OpenSSL's output and rsaEncryption in the RFC: compare moduli);
# the shared secret is 64 bytes.
for k in test-key-rsa test-key-rsa-pss; do
	if [ "$(ossl rsa -noout -modulus -in "$HS/$k.pem")" = \
		"$(ossl rsa -noout -modulus -pubin -in "$HS/$k.pub.pem")" ]; then
		pass "$k: private and public key go together"
	else
		fail "$k: private and public key go together" "moduli differ"
	fi
done
for k in test-key-ecc-p256 test-key-ed25519; do
	if ossl pkey -in "$HS/$k.pem" -pubout | cmp -s - "$HS/$k.pub.pem"; then
		pass "$k: private and public key go together"
	else
		fail "$k: private and public key go together" "public keys differ"
	fi
done
if [ "$(tr -d '\n' <"$HS/test-shared-secret.hex" | wc -c)" -eq 128 ]; then
	pass "test-shared-secret: 64 bytes"
else
	fail "test-shared-secret: 64 bytes" "$(cat "$HS/test-shared-secret.hex")"
fi

finish

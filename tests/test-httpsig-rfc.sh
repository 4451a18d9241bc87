#!/bin/sh
# test-httpsig-rfc.sh: RFC 9421's own test vectors through the agent. The
# RFC's five keys are imported into the token (mktoken pem:, hmac:); then
# http-sign --print-base gives the RFC's signature bases byte for byte, HMAC
# and Ed25519 signatures (deterministic) are the RFC's byte for byte,
# http-verify accepts every signed example of the RFC and refuses the changed
# ones, and the agent's own signatures verify with OpenSSL and the RFC's
# public keys. The data are in tests/httpsig/ (checked by
# test-httpsig-vectors.sh).
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/httpsig-lib.sh"

require_tools python3 od cmp diff timeout base64
make_token "pem:$HS/test-key-rsa.pem:test-key-rsa:a1" \
	"pem:$HS/test-key-rsa-pss.pem:test-key-rsa-pss:a2" \
	"pem:$HS/test-key-ecc-p256.pem:test-key-ecc-p256:a3" \
	"pem:$HS/test-key-ed25519.pem:test-key-ed25519:a4" \
	"hmac:$(cat "$HS/test-shared-secret.hex"):test-shared-secret:a5"
start_agent || finish

REQ=$HS/test-request.http
RESP=$HS/test-response.http

# --- The imported keys: listed, and their public keys are the RFC's ---------
check_rc "list" 0 p11a list
for k in test-key-rsa test-key-rsa-pss test-key-ecc-p256 test-key-ed25519 test-shared-secret; do
	if grep -q "^$k " "$OUT"; then
		pass "list shows $k"
	else
		fail "list shows $k" "$(show "$OUT")"
	fi
done
for k in test-key-rsa test-key-rsa-pss test-key-ecc-p256 test-key-ed25519; do
	if check_rc "pubkey $k" 0 p11a pubkey "$k"; then
		same_text "pubkey $k is the RFC's public key" "$OUT" "$HS/$k.pub.pem"
	fi
done

# --- Signature bases, byte for byte ------------------------------------------
# B.2.1: http-sign writes its parameters in one order (created, expires, nonce,
# alg, keyid, tag), the RFC here keyid before nonce: the covered components
# and values are the RFC's, the parameters in http-sign's order.
printf '"@signature-params": ();created=1618884473;nonce="b3k2pp5k7z-50gnwp.yemd";keyid="test-key-rsa-pss"' \
	>"$T/b21.base"
base_is "B.2.1" test-key-rsa-pss "$REQ" "$T/b21.base" --label sig-b21 --components "" \
	--created "$HS_CREATED" --keyid test-key-rsa-pss --nonce b3k2pp5k7z-50gnwp.yemd
base_is "B.2.2" test-key-rsa-pss "$REQ" "$HS/sig-b22.base" --label sig-b22 \
	--components '@authority,content-digest,@query-param;name="Pet"' \
	--created "$HS_CREATED" --keyid test-key-rsa-pss --tag header-example
base_is "B.2.3" test-key-rsa-pss "$REQ" "$HS/sig-b23.base" --label sig-b23 \
	--components date,@method,@path,@query,@authority,content-type,content-digest,content-length \
	--created "$HS_CREATED" --keyid test-key-rsa-pss
base_is "B.2.4" test-key-ecc-p256 "$RESP" "$HS/sig-b24.base" --label sig-b24 \
	--components @status,content-type,content-digest,content-length \
	--created "$HS_CREATED" --keyid test-key-ecc-p256
base_is "B.2.5" test-shared-secret "$REQ" "$HS/sig-b25.base" --label sig-b25 \
	--components date,@authority,content-type --created "$HS_CREATED" --keyid test-shared-secret
base_is "B.2.6" test-key-ed25519 "$REQ" "$HS/sig-b26.base" --label sig-b26 \
	--components date,@method,@path,@authority,content-type,content-length \
	--created "$HS_CREATED" --keyid test-key-ed25519
base_is "B.3 ttrp" test-key-ecc-p256 "$HS/ttrp-request.http" "$HS/ttrp.base" --label ttrp \
	--components @path,@query,@method,@authority,client-cert \
	--created "$HS_CREATED" --keyid test-key-ecc-p256
base_is "3.1" test-key-rsa-pss "$REQ" "$HS/verify-sig1.base" \
	--components @method,@authority,@path,content-digest,content-length,content-type \
	--created "$HS_CREATED" --keyid test-key-rsa-pss
base_is "4.3 client sig1" test-key-ecc-p256 "$HS/proxy-client.http" "$HS/proxy-client.base" \
	--label client --components @method,@authority,@path,content-digest,content-type,content-length \
	--created 1618884475 --keyid test-key-ecc-p256
base_is "2.5 signed request sig1" test-key-rsa-pss "$HS/reqres2-request.http" \
	"$HS/reqres2-request.base" --label client \
	--components @method,@authority,@path,@query,content-digest,content-type,content-length \
	--created 1618884475 --keyid test-key-rsa-pss
# B.4: the signed message and the changes that keep the signature valid give
# the same base (repeated Accept fields combined, other fields and the query
# not covered); the Accept fields in the other order do not.
for m in transform transform-ok-query transform-ok-collapsed transform-ok-reordered; do
	base_is "B.4 $m" test-key-ed25519 "$HS/$m.http" "$HS/transform.base" --label other \
		--components @method,@path,@authority,accept --created "$HS_CREATED" \
		--keyid test-key-ed25519
done
if check_rc "B.4 transform-bad-accept-order: http-sign --print-base" 0 \
	p11a http-sign test-key-ed25519 --print-base -i "$HS/transform-bad-accept-order.http" \
	--label other --components @method,@path,@authority,accept --created "$HS_CREATED" \
	--keyid test-key-ed25519; then
	if grep -qx '"accept": \*/\*, application/json' "$OUT"; then
		pass "B.4 transform-bad-accept-order: accept values in message order"
	else
		fail "B.4 transform-bad-accept-order: accept values in message order" "$(show "$OUT")"
	fi
fi
# 2.5: responses with ;req components, from the request given by --request.
base_is "2.5 reqres" test-key-ecc-p256 "$HS/reqres-response.http" "$HS/reqres.base" \
	--request "$HS/reqres-request.http" --label reqres \
	--components '@status,content-digest,content-type,@authority;req,@method;req,@path;req,content-digest;req' \
	--created 1618884479 --keyid test-key-ecc-p256
base_is "2.5 reqres to a signed request" test-key-ecc-p256 "$HS/reqres-response.http" \
	"$HS/reqres2.base" --request "$HS/reqres2-request.http" --label reqres \
	--components '@status,content-digest,content-type,@authority;req,@method;req,@path;req,@query;req,content-digest;req,content-type;req,content-length;req' \
	--created 1618884479 --keyid test-key-ecc-p256

# --- Deterministic signatures: the RFC's bytes ------------------------------
# signed_is NAME KEY MSG EXPECTED LABEL ARGS...: http-sign writes MSG with the
# RFC's two fields: the same Signature-Input and Signature lines, and the
# same message byte for byte.
signed_is() {
	local name=$1 key=$2 msg=$3 exp=$4 label=$5 f
	shift 5
	check_rc "$name: http-sign" 0 p11a http-sign "$key" --label "$label" -i "$msg" \
		-o "$T/signed" "$@" || return
	for f in Signature-Input Signature; do
		grep "^$f: " "$exp" >"$T/want"
		grep "^$f: " "$T/signed" >"$T/got"
		same_text "$name: the $f line is the RFC's" "$T/got" "$T/want"
	done
	same_text "$name: the signed message is the RFC's" "$T/signed" "$exp"
	no_output_on_stdout "$name"
}
# (http-sign -o writes nothing on stdout.)
no_output_on_stdout() {
	if [ -s "$OUT" ]; then
		fail "$1: nothing on stdout with -o" "$(show "$OUT")"
	else
		pass "$1: nothing on stdout with -o"
	fi
}
signed_is "B.2.5 hmac-sha256" test-shared-secret "$REQ" "$HS/sig-b25.http" sig-b25 \
	--components date,@authority,content-type --created "$HS_CREATED" --keyid test-shared-secret
signed_is "B.2.6 ed25519" test-key-ed25519 "$REQ" "$HS/sig-b26.http" sig-b26 \
	--components date,@method,@path,@authority,content-type,content-length \
	--created "$HS_CREATED" --keyid test-key-ed25519
# The same, with the message on stdin and the result on stdout.
run p11a http-sign test-key-ed25519 --label sig-b26 \
	--components date,@method,@path,@authority,content-type,content-length \
	--created "$HS_CREATED" --keyid test-key-ed25519 <"$REQ"
if [ "$RC" -eq 0 ]; then
	same_text "B.2.6 from stdin to stdout" "$OUT" "$HS/sig-b26.http"
else
	fail "B.2.6 from stdin to stdout" "exit $RC; stderr: $(show "$ERR")"
fi

# --- http-verify accepts every signed example of the RFC --------------------
# (--at: a time after every example's created and before proxy_sig expires.)
while read -r label msg _ alg key req; do
	reqarg=()
	[ -n "$req" ] && reqarg=(--request "$HS/$req")
	verify_ok "http-verify $label in $msg ($alg)" "$key" "$HS/$msg" "$label" --at "$HS_AT" \
		"${reqarg[@]}" </dev/null
done < <(hs_vectors)
verify_ok "http-verify proxy_sig, alg from --alg too" test-key-rsa "$HS/proxy_sig.http" proxy_sig \
	--at "$HS_AT" --alg rsa-v1_5-sha256
verify_ok "http-verify B.2.2 with --require" test-key-rsa-pss "$HS/sig-b22.http" sig-b22 \
	--at "$HS_AT" --require '@authority,content-digest,@query-param;name="Pet"'
verify_ok "http-verify 3.2 with --require and --max-age" test-key-rsa-pss \
	"$HS/verify-sig1.http" sig1 --at 1618884500 --max-age 60 \
	--require @method,@authority,@path,content-digest,content-length,content-type
verify_bad "http-verify proxy_sig now: expired" 'expired' test-key-rsa "$HS/proxy_sig.http" \
	--label proxy_sig
verify_bad "http-verify proxy_sig with another alg" '.*' test-key-rsa "$HS/proxy_sig.http" \
	--label proxy_sig --at "$HS_AT" --alg rsa-pss-sha512
verify_bad "http-verify sig1 after the proxy changed the authority" 'signature mismatch' \
	test-key-ecc-p256 "$HS/proxy_sig.http" --label sig1 --at "$HS_AT"
# A missing --request file is an error, not a verdict: exit 1 and stderr.
run p11a http-verify test-key-ecc-p256 --label reqres --at "$HS_AT" -i "$HS/reqres.http" \
	--request "$T/no-such-request.http"
if [ "$RC" -eq 1 ] && grep -q '^p11agent: ' "$ERR" && ! grep -q 'Verified OK' "$OUT"; then
	pass "http-verify with a missing --request file: an error on stderr"
else
	fail "http-verify with a missing --request file: an error on stderr" "exit $RC; stderr: $(show "$ERR")"
fi
# reqres covers the request's method, authority, path and digest: another path is another request.
hstool replace "$HS/reqres-request.http" "POST /foo" "POST /bar" "$T/reqres-other.http"
verify_bad "http-verify reqres with another request" 'signature mismatch' test-key-ecc-p256 \
	"$HS/reqres.http" --label reqres --at "$HS_AT" --request "$T/reqres-other.http"
verify_bad "http-verify sig-b26 with the ecc key" '.*' test-key-ecc-p256 "$HS/sig-b26.http" \
	--label sig-b26 --at "$HS_AT"
hstool replace "$HS/sig-b26.http" "Date: Tue, 20 Apr 2021 02:07:55" \
	"Date: Tue, 20 Apr 2021 02:07:56" "$T/b26-date.http"
verify_bad "http-verify sig-b26 with the Date changed" 'signature mismatch' test-key-ed25519 \
	"$T/b26-date.http" --label sig-b26 --at "$HS_AT"
hstool replace "$HS/sig-b25.http" "Host: example.com" "Host: example.org" "$T/b25-host.http"
verify_bad "http-verify sig-b25 (HMAC in the token) with Host changed" 'signature mismatch' \
	test-shared-secret "$T/b25-host.http" --label sig-b25 --at "$HS_AT"
# B.4: the changes the RFC calls harmless keep the signature valid, the others not.
for m in transform-ok-query transform-ok-collapsed transform-ok-reordered; do
	verify_ok "http-verify B.4 $m" test-key-ed25519 "$HS/$m.http" transform --at "$HS_AT"
done
for m in transform-bad-method transform-bad-accept-order; do
	verify_bad "http-verify B.4 $m" 'signature mismatch' test-key-ed25519 "$HS/$m.http" \
		--label transform --at "$HS_AT"
done
# The same messages with CRLF line ends.
for m in sig-b24 sig-b26 proxy_sig; do
	hstool crlf "$HS/$m.http" "$T/$m-crlf.http"
done
verify_ok "http-verify sig-b24, CRLF" test-key-ecc-p256 "$T/sig-b24-crlf.http" sig-b24 --at "$HS_AT"
verify_ok "http-verify sig-b26, CRLF" test-key-ed25519 "$T/sig-b26-crlf.http" sig-b26 --at "$HS_AT"
verify_ok "http-verify proxy_sig, CRLF" test-key-rsa "$T/proxy_sig-crlf.http" proxy_sig --at "$HS_AT"

# --- The agent's signatures, checked by OpenSSL with the RFC's keys ---------
# ossl_checks NAME KEY ALG MSG ARGS...: http-sign signs MSG with ARGS; OpenSSL
# verifies the signature over the --print-base output with the RFC's public
# key, and http-verify accepts the signed message. (Both http-sign runs get
# the same --created.)
ossl_checks() {
	local name=$1 key=$2 alg=$3 msg=$4 now
	shift 4
	now=$(date +%s)
	check_rc "$name: http-sign --print-base" 0 p11a http-sign "$key" --print-base -i "$msg" \
		-o "$T/own.base" --created "$now" "$@" || return
	check_rc "$name: http-sign" 0 p11a http-sign "$key" -i "$msg" -o "$T/own.http" \
		--created "$now" "$@" || return
	if ! hstool sig "$T/own.http" own "$T/own.sig" 2>"$ERR"; then
		fail "$name: Signature own" "$(show "$ERR")"
		return
	fi
	case $alg in
	ecdsa-p256-sha256)
		if [ "$(wc -c <"$T/own.sig")" -eq 64 ]; then
			pass "$name: ECDSA signature is r||s, 64 bytes"
		else
			fail "$name: ECDSA signature is r||s, 64 bytes" "$(wc -c <"$T/own.sig") bytes"
		fi
		;;
	esac
	if hs_ossl_verify "$alg" "$(hs_key_file "$key")" "$T/own.base" "$T/own.sig" >"$T/ossl.out" 2>&1
	then
		pass "$name: OpenSSL verifies it with the RFC's key"
	else
		fail "$name: OpenSSL verifies it with the RFC's key" "$(show "$T/ossl.out")"
	fi
	# A response that covers its request's components is checked with the request.
	local req=
	while [ $# -gt 0 ]; do
		[ "$1" = --request ] && req=$2
		shift
	done
	verify_ok "$name: http-verify" "$key" "$T/own.http" own ${req:+--request "$req"}
}
ossl_checks "rsa-pss-sha512" test-key-rsa-pss rsa-pss-sha512 "$REQ" --label own \
	--components date,@method,@path,@query,@authority,content-type,content-digest,content-length \
	--keyid test-key-rsa-pss
ossl_checks "rsa-v1_5-sha256" test-key-rsa rsa-v1_5-sha256 "$HS/proxy-forwarded.http" \
	--label own --alg rsa-v1_5-sha256 --alg-param \
	--components @method,@authority,@path,content-digest,content-type,content-length,forwarded \
	--keyid test-key-rsa --expires +60
if grep -q '^Signature-Input: .*own=(.*;alg="rsa-v1_5-sha256"' "$T/own.http"; then
	pass "rsa-v1_5-sha256: --alg-param writes alg"
else
	fail "rsa-v1_5-sha256: --alg-param writes alg" "$(grep '^Signature-Input' "$T/own.http")"
fi
ossl_checks "ecdsa-p256-sha256" test-key-ecc-p256 ecdsa-p256-sha256 "$RESP" --label own \
	--components @status,content-type,content-digest,content-length --keyid test-key-ecc-p256
ossl_checks "ed25519" test-key-ed25519 ed25519 "$REQ" --label own \
	--components date,@method,@path,@authority,content-type,content-length --keyid test-key-ed25519
ossl_checks "hmac-sha256" test-shared-secret hmac-sha256 "$REQ" --label own \
	--components date,@authority,content-type --keyid test-shared-secret
ossl_checks "reqres ecdsa-p256-sha256" test-key-ecc-p256 ecdsa-p256-sha256 \
	"$HS/reqres-response.http" --label own --request "$HS/reqres-request.http" \
	--components '@status,content-digest,content-type,@authority;req,@method;req,@path;req,content-digest;req'

no_pin "the PIN is in no stderr" "$T/stderr.all"
agent_alive "agent still serving"
finish

#!/bin/sh
# test-httpsig.sh: http-sign and http-verify (RFC 9421) on keys the token
# makes: round trips for every algorithm and key type, checked by OpenSSL too;
# the default algorithm and components; Content-Digest; every covered
# component tampered with; created, expires, --max-age, --require and labels;
# malformed messages and bad arguments refused with a clear message and the
# documented exit code; responses with ;req components; CRLF messages. The
# RFC's own vectors are in test-httpsig-rfc.sh.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/httpsig-lib.sh"

require_tools python3 od cmp diff timeout base64
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_EC384" "$KEY_ED25519" "$KEY_HMAC"
start_agent || finish
printf '%s\n' "$HMAC_HEX" >"$T/hmac.hex"
for k in rsa2048 ec256 ec384 ed25519; do
	check_rc "pubkey $k" 0 p11a pubkey "$k" && cp "$OUT" "$T/$k.pem"
done

NOW=$(date +%s)
REQ=$T/req.http
printf '%s\n' "POST /api/v1/items?id=42&sort=asc HTTP/1.1" "Host: api.example.net" \
	"Date: Mon, 07 Dec 2026 10:00:00 GMT" "Content-Type: application/json" \
	"X-Request-Id: 6f1c2a" "Content-Length: 12" "" >"$REQ"
printf '{"item": 42}' >>"$REQ"
RESP=$T/resp.http
printf '%s\n' "HTTP/1.1 201 Created" "Content-Type: application/json" "Content-Length: 12" "" \
	>"$RESP"
printf '{"ok": true}' >>"$RESP"

# sign NAME KEY MSG OUT ARGS...: http-sign succeeds, MSG signed into OUT.
sign() {
	local name=$1 key=$2 msg=$3 out=$4
	shift 4
	check_rc "$name: http-sign" 0 p11a http-sign "$key" -i "$msg" -o "$out" "$@"
}

# line_is NAME FILE LINE: FILE has exactly the line LINE.
line_is() {
	if [ ! -f "$2" ]; then
		fail "$1" "no file $(basename "$2") (the command before failed)"
	elif grep -qxF -- "$3" "$2"; then
		pass "$1"
	else
		fail "$1" "no line '$3'; the file's: $(grep -E '^(Signature|Content-Digest)' "$2" | tr '\n' '|')"
	fi
}

# refused NAME CODES ERE CMD...: CMD exits with one of CODES ("1", or "1|2"
# where the spec leaves either open) with "p11agent: " and ERE (any case) on
# stderr, and writes no signed message or verdict on stdout.
refused() {
	local name=$1 code=$2 ere=$3
	shift 3
	run "$@"
	if [[ "|$code|" == *"|$RC|"* ]] && grep -q '^p11agent: ' "$ERR" && grep -Eqi -- "$ere" "$ERR" &&
		! grep -Eq '^(Signature|Verified OK)' "$OUT"; then
		pass "$name (exit $RC)"
	else
		fail "$name" "exit $RC (expected $code); stderr: $(show "$ERR") (expected /$ere/)"
	fi
}

# --- Round trips: every algorithm on its key type ----------------------------
# alg KEY ALG SIGLEN: http-sign with the default algorithm (--alg-param writes
# it), the exact Signature-Input, the signature length, OpenSSL's verdict over
# --print-base, http-verify's; then the same with --alg ALG given.
round_trip() {
	local key=$1 alg=$2 len=$3 keyfile=$T/$1.pem name
	[ "$key" = hmac ] && keyfile=$T/hmac.hex
	for how in default explicit; do
		name="$key $alg ($how)"
		set -- --created "$NOW" --alg-param
		[ "$how" = explicit ] && set -- "$@" --alg "$alg"
		sign "$name" "$key" "$REQ" "$T/rt.http" "$@" || continue
		line_is "$name: Signature-Input" "$T/rt.http" \
			"Signature-Input: sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-type\");created=$NOW;alg=\"$alg\""
		hstool sig "$T/rt.http" sig1 "$T/rt.sig"
		if [ "$(wc -c <"$T/rt.sig")" -eq "$len" ]; then
			pass "$name: $len-byte signature"
		else
			fail "$name: $len-byte signature" "$(wc -c <"$T/rt.sig") bytes"
		fi
		if check_rc "$name: --print-base" 0 \
			p11a http-sign "$key" --print-base -i "$REQ" "$@"; then
			if hs_ossl_verify "$alg" "$keyfile" "$OUT" "$T/rt.sig" >"$T/ossl.out" 2>&1; then
				pass "$name: OpenSSL verifies it"
			else
				fail "$name: OpenSSL verifies it" "$(show "$T/ossl.out")"
			fi
		fi
		verify_ok "$name: http-verify" "$key" "$T/rt.http" sig1
		verify_ok "$name: http-verify --alg" "$key" "$T/rt.http" sig1 --alg "$alg"
	done
	# Without --alg-param: no alg parameter, and the verifier takes the key's default.
	sign "$key $alg, no alg parameter" "$key" "$REQ" "$T/rt.http" --created "$NOW" &&
		line_is "$key $alg, no alg parameter: Signature-Input" "$T/rt.http" \
			"Signature-Input: sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-type\");created=$NOW"
	verify_ok "$key $alg, no alg parameter: http-verify" "$key" "$T/rt.http" sig1
}
round_trip rsa2048 rsa-pss-sha512 256
round_trip ec256 ecdsa-p256-sha256 64
round_trip ec384 ecdsa-p384-sha384 96
round_trip ed25519 ed25519 64
round_trip hmac hmac-sha256 32

# rsa-v1_5-sha256 on the RSA key (not its default).
sign "rsa2048 rsa-v1_5-sha256" rsa2048 "$REQ" "$T/v15.http" --alg rsa-v1_5-sha256 --alg-param \
	--created "$NOW"
line_is "rsa2048 rsa-v1_5-sha256: Signature-Input" "$T/v15.http" \
	"Signature-Input: sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-type\");created=$NOW;alg=\"rsa-v1_5-sha256\""
hstool sig "$T/v15.http" sig1 "$T/v15.sig"
p11a http-sign rsa2048 --print-base -i "$REQ" --alg rsa-v1_5-sha256 --alg-param --created "$NOW" \
	>"$T/v15.base" 2>>"$T/stderr.all"
if hs_ossl_verify rsa-v1_5-sha256 "$T/rsa2048.pem" "$T/v15.base" "$T/v15.sig" >"$T/ossl.out" 2>&1; then
	pass "rsa2048 rsa-v1_5-sha256: OpenSSL verifies it"
else
	fail "rsa2048 rsa-v1_5-sha256: OpenSSL verifies it" "$(show "$T/ossl.out")"
fi
verify_ok "rsa2048 rsa-v1_5-sha256: http-verify (alg parameter)" rsa2048 "$T/v15.http" sig1
verify_bad "rsa2048 rsa-v1_5-sha256: --alg disagreeing with the alg parameter" '.+' rsa2048 \
	"$T/v15.http" --alg rsa-pss-sha512
# Without the alg parameter the verifier takes the key's default, rsa-pss-sha512.
sign "rsa2048 rsa-v1_5-sha256 without alg parameter" rsa2048 "$REQ" "$T/v15n.http" \
	--alg rsa-v1_5-sha256
verify_bad "rsa2048 rsa-v1_5-sha256 checked as the default rsa-pss-sha512" 'signature mismatch' \
	rsa2048 "$T/v15n.http"
verify_ok "rsa2048 rsa-v1_5-sha256 checked with --alg" rsa2048 "$T/v15n.http" sig1 \
	--alg rsa-v1_5-sha256

# Every parameter, in the documented order, and every component kind.
sign "all parameters" ec256 "$REQ" "$T/all.http" --label p-1.x_y --created 1700000000 \
	--expires +300 --nonce n0nce --alg-param --keyid "key #1" --tag app \
	--components '@method,@target-uri,@authority,@scheme,@request-target,@path,@query,@query-param;name="sort",Content-Type,x-request-id'
line_is "all parameters: Signature-Input" "$T/all.http" \
	"Signature-Input: p-1.x_y=(\"@method\" \"@target-uri\" \"@authority\" \"@scheme\" \"@request-target\" \"@path\" \"@query\" \"@query-param\";name=\"sort\" \"content-type\" \"x-request-id\");created=1700000000;expires=1700000300;nonce=\"n0nce\";alg=\"ecdsa-p256-sha256\";keyid=\"key #1\";tag=\"app\""
verify_ok "all parameters: http-verify" ec256 "$T/all.http" p-1.x_y --at 1700000100
# Default components of a response.
sign "response" ed25519 "$RESP" "$T/resp-signed.http" --created "$NOW"
line_is "response: default components" "$T/resp-signed.http" \
	"Signature-Input: sig1=(\"@status\" \"content-type\");created=$NOW"
verify_ok "response: http-verify" ed25519 "$T/resp-signed.http" sig1
# The signed message is the input with the two fields at the end of the header section.
{
	sed -n '1,/^$/p' "$REQ" | sed '$d'
	grep -E '^Signature(-Input)?: ' "$T/rt.http"
	echo
	printf '{"item": 42}'
} >"$T/expected.http"
same_text "the fields are added at the end of the header section" "$T/rt.http" "$T/expected.http"
# stdin and stdout, '-' too.
run p11a http-sign ed25519 --created "$NOW" <"$REQ"
[ "$RC" -eq 0 ] && cp "$OUT" "$T/stdout.http"
verify_ok "stdin to stdout" ed25519 "$T/stdout.http" sig1
run p11a http-sign ed25519 --created "$NOW" -i - -o - <"$REQ"
if [ "$RC" -eq 0 ] && cmp -s "$OUT" "$T/stdout.http"; then
	pass "-i - -o -: the same message (Ed25519 is deterministic)"
else
	fail "-i - -o -: the same message (Ed25519 is deterministic)" "exit $RC; $(show "$ERR")"
fi
run p11a http-verify ed25519 -i - <"$T/stdout.http"
if [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = "Verified OK: signature 'sig1' (ed25519) is valid" ]; then
	pass "http-verify from stdin"
else
	fail "http-verify from stdin" "exit $RC; $(show "$OUT") $(show "$ERR")"
fi
run p11a --json http-verify ed25519 -i "$T/stdout.http"
if [ "$RC" -eq 0 ] && python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["valid"] is True and j["label"] == "sig1" else 1)' "$OUT"; then
	pass "http-verify --json: valid"
else
	fail "http-verify --json: valid" "exit $RC; $(show "$OUT")"
fi
hstool flipsig "$T/stdout.http" sig1 "$T/stdout-bad.http"
run p11a --json http-verify ed25519 -i "$T/stdout-bad.http"
if [ "$RC" -eq 1 ] && python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["valid"] is False and j["label"] == "sig1" and j["reason"] else 1)' "$OUT"; then
	pass "http-verify --json: invalid, with a reason"
else
	fail "http-verify --json: invalid, with a reason" "exit $RC; $(show "$OUT")"
fi

# --- Content-Digest -----------------------------------------------------------
for d in sha-256 sha-512; do
	sign "--digest $d" ec256 "$REQ" "$T/dg.http" --digest "$d" --created "$NOW" || continue
	line_is "--digest $d: Content-Digest is the body's" "$T/dg.http" \
		"Content-Digest: $d=:$(printf '{"item": 42}' | ossl dgst "-${d/-/}" -binary | base64 -w0):"
	line_is "--digest $d: covered" "$T/dg.http" \
		"Signature-Input: sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-type\" \"content-digest\");created=$NOW"
	verify_ok "--digest $d: http-verify" ec256 "$T/dg.http" sig1
	hstool replace "$T/dg.http" '{"item": 42}' '{"item": 43}' "$T/dg-body.http"
	verify_bad "--digest $d: body changed" 'content digest mismatch' ec256 "$T/dg-body.http"
done
sign "--digest with --components lacking content-digest" ec256 "$REQ" "$T/dg2.http" \
	--digest sha-256 --components @method,@path --created "$NOW"
line_is "--digest appends content-digest to --components" "$T/dg2.http" \
	"Signature-Input: sig1=(\"@method\" \"@path\" \"content-digest\");created=$NOW"
refused "--digest on a message that has Content-Digest" 1 'content-digest' \
	p11a http-sign ec256 --digest sha-256 -i "$T/dg.http" --label other
# A covered Content-Digest with no known algorithm in it does not verify.
hstool replace "$T/dg2.http" "Content-Digest: sha-256=" "Content-Digest: md5=" "$T/dg-md5.http"
verify_bad "Content-Digest with no known algorithm" '.+' ec256 "$T/dg-md5.http"

# --- Tampering with each covered component --------------------------------------
sign "tamper: sign" ec256 "$REQ" "$T/tp.http" --digest sha-256 --created "$NOW" \
	--components @method,@authority,@path,@query,x-request-id
verify_ok "tamper: untouched" ec256 "$T/tp.http" sig1
# tampered NAME OLD NEW [KEY MSG LABEL]: OLD replaced by NEW fails "signature mismatch".
tampered() {
	hstool replace "${5:-$T/tp.http}" "$2" "$3" "$T/tampered.http"
	verify_bad "tamper: $1" 'signature mismatch' "${4:-ec256}" "$T/tampered.http" --label "${6:-sig1}"
}
tampered "method" "POST /api" "PUT /api"
tampered "path" "/api/v1/items?" "/api/v1/itemz?"
tampered "query" "id=42&sort=asc" "id=43&sort=asc"
tampered "authority (Host)" "Host: api.example.net" "Host: api.example.com"
tampered "covered header" "X-Request-Id: 6f1c2a" "X-Request-Id: 6f1c2b"
tampered "Signature-Input created" "created=$NOW" "created=$((NOW + 1))"
hstool replace "$T/tp.http" '{"item": 42}' '{"item": 43}' "$T/tampered.http"
verify_bad "tamper: body (content-digest covered)" 'content digest mismatch' ec256 "$T/tampered.http"
hstool flipsig "$T/tp.http" sig1 "$T/tampered.http"
verify_bad "tamper: Signature value" 'signature mismatch' ec256 "$T/tampered.http"
# An uncovered field may change.
hstool replace "$T/tp.http" "Date: Mon, 07" "Date: Tue, 08" "$T/untouched.http"
verify_ok "tamper: an uncovered field changed" ec256 "$T/untouched.http" sig1
# A response's status; HMAC (checked in the token) and Ed25519 and RSA too.
sign "tamper: response" ec384 "$RESP" "$T/tpr.http" --created "$NOW"
tampered "status" "HTTP/1.1 201 Created" "HTTP/1.1 200 Created" ec384 "$T/tpr.http"
for k in hmac ed25519 rsa2048; do
	sign "tamper $k: sign" "$k" "$REQ" "$T/tp-$k.http" --created "$NOW" --label s
	tampered "$k method" "POST /api" "PUT /api" "$k" "$T/tp-$k.http" s
	hstool flipsig "$T/tp-$k.http" s "$T/tampered.http"
	verify_bad "tamper: $k Signature value" 'signature mismatch' "$k" "$T/tampered.http" --label s
done
# A covered field removed from the message.
grep -v '^X-Request-Id:' "$T/tp.http" >"$T/tampered.http"
verify_bad "tamper: covered field removed" 'component "x-request-id" is absent from the message' \
	ec256 "$T/tampered.http"

# --- Times, requirements, labels -------------------------------------------------
sign "old created" ec256 "$REQ" "$T/old.http" --created "$((NOW - 3600))"
verify_bad "created older than --max-age" "created $((NOW - 3600)) is older than the maximum age of 60 s" \
	ec256 "$T/old.http" --max-age 60
verify_ok "created within --max-age" ec256 "$T/old.http" sig1 --max-age 7200
sign "future created" ec256 "$REQ" "$T/future.http" --created "$((NOW + 3600))"
verify_bad "created an hour in the future" '.+' ec256 "$T/future.http"
verify_ok "created an hour ahead of --at" ec256 "$T/future.http" sig1 --at "$((NOW + 3600))"
sign "expires" ec256 "$REQ" "$T/exp.http" --created 1700000000 --expires +60
line_is "expires: +60 after created" "$T/exp.http" \
	"Signature-Input: sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-type\");created=1700000000;expires=1700000060"
verify_ok "expires: valid before" ec256 "$T/exp.http" sig1 --at 1700000059
verify_bad "expires: expired at expires" 'expired at 1700000060' ec256 "$T/exp.http" --at 1700000060
verify_bad "expires: expired now" 'expired at 1700000060' ec256 "$T/exp.http"
sign "absolute expires" ec256 "$REQ" "$T/exp2.http" --created 1700000000 --expires 1700000100
verify_ok "absolute expires: valid before" ec256 "$T/exp2.http" sig1 --at 1700000099
verify_bad "absolute expires: expired" 'expired at 1700000100' ec256 "$T/exp2.http" --at 1700000100
sign "few components" ec256 "$REQ" "$T/few.http" --components @method,@path --created "$NOW"
verify_ok "--require what is covered" ec256 "$T/few.http" sig1 --require @path,@method
verify_bad "--require content-type, not covered" 'component "content-type" is not covered' \
	ec256 "$T/few.http" --require @method,content-type
sign "empty components" ec256 "$REQ" "$T/none.http" --components "" --created "$NOW"
line_is "empty components: ()" "$T/none.http" "Signature-Input: sig1=();created=$NOW"
verify_ok "empty components: http-verify" ec256 "$T/none.http" sig1
# Labels: an unknown one; several signatures need --label; a label is not reused.
run p11a http-verify ec256 --label nope -i "$T/few.http"
if [ "$RC" -eq 1 ] && grep -q nope "$OUT" "$ERR" && ! grep -q 'Verified OK' "$OUT"; then
	pass "unknown label: exit 1, named"
else
	fail "unknown label: exit 1, named" "exit $RC; $(show "$OUT") $(show "$ERR")"
fi
sign "second signature" ed25519 "$T/few.http" "$T/two.http" --label second --created "$NOW"
run p11a http-verify ec256 -i "$T/two.http"
if [ "$RC" -eq 1 ] && grep -q sig1 "$OUT" "$ERR" && grep -q second "$OUT" "$ERR" &&
	! grep -q 'Verified OK' "$OUT"; then
	pass "two signatures without --label: exit 1, both labels listed"
else
	fail "two signatures without --label: exit 1, both labels listed" "exit $RC; $(show "$OUT") $(show "$ERR")"
fi
verify_ok "two signatures: --label sig1" ec256 "$T/two.http" sig1
verify_ok "two signatures: --label second" ed25519 "$T/two.http" second
verify_bad "two signatures: second with the wrong key" '.+' ec256 "$T/two.http" --label second
refused "a label already in the message" 1 'sig1' p11a http-sign ec256 -i "$T/few.http" \
	--label sig1
refused "an invalid label" '1|2' 'label' p11a http-sign ec256 -i "$REQ" --label Sig1

# --- Responses with ;req components -----------------------------------------------
sign "reqres" ec256 "$RESP" "$T/rr.http" --request "$REQ" --created "$NOW" \
	--components '@status,content-type,@method;req,@authority;req,@path;req,x-request-id;req'
line_is "reqres: Signature-Input" "$T/rr.http" \
	"Signature-Input: sig1=(\"@status\" \"content-type\" \"@method\";req \"@authority\";req \"@path\";req \"x-request-id\";req);created=$NOW"
verify_ok "reqres: http-verify --request" ec256 "$T/rr.http" sig1 --request "$REQ"
hstool replace "$REQ" "/api/v1/items?" "/api/v1/other?" "$T/req2.http"
verify_bad "reqres: another request" 'signature mismatch' ec256 "$T/rr.http" --request "$T/req2.http"
run p11a http-verify ec256 -i "$T/rr.http"
if [ "$RC" -eq 1 ] && ! grep -q 'Verified OK' "$OUT" && grep -qi 'request' "$OUT" "$ERR"; then
	pass "reqres: without --request, exit 1 naming the request"
else
	fail "reqres: without --request, exit 1 naming the request" "exit $RC; $(show "$OUT") $(show "$ERR")"
fi
refused "reqres: ;req without --request" 1 'request' p11a http-sign ec256 -i "$RESP" \
	--components '@status,@method;req'
refused "reqres: ;req on a request" 1 'req' p11a http-sign ec256 -i "$REQ" \
	--request "$REQ" --components '@method;req'
refused "@status of a request" 1 '@status' p11a http-sign ec256 -i "$REQ" --components @status

# --- CRLF messages -----------------------------------------------------------------
hstool crlf "$REQ" "$T/crlf.http"
if sign "CRLF" ed25519 "$T/crlf.http" "$T/crlf-signed.http" --created "$NOW"; then
	if grep -q $'^Signature-Input: .*\r$' "$T/crlf-signed.http" &&
		grep -q $'^Signature: .*\r$' "$T/crlf-signed.http"; then
		pass "CRLF: the added fields end in CRLF"
	else
		fail "CRLF: the added fields end in CRLF" "$(grep '^Signature' "$T/crlf-signed.http" | od -c | tail -n 3)"
	fi
	hstool sig "$T/crlf-signed.http" sig1 "$T/crlf.sig"
	hstool sig "$T/stdout.http" sig1 "$T/lf.sig"
	if cmp -s "$T/crlf.sig" "$T/lf.sig"; then
		pass "CRLF: the same base as LF (same Ed25519 signature)"
	else
		fail "CRLF: the same base as LF (same Ed25519 signature)" "signatures differ"
	fi
	verify_ok "CRLF: http-verify" ed25519 "$T/crlf-signed.http" sig1
fi

# --- Malformed input and errors: exit 1, "p11agent: " on stderr ----------------
: >"$T/empty.http"
printf 'Host: example.com\n\n' >"$T/nostart.http"
printf 'POST / HTTP/1.1\nHost example.com\n\n' >"$T/nocolon.http"
printf 'POST / HTTP/1.1\nHost: example.com\n' >"$T/truncated.http"
printf 'POST / HTTP/1.1\nHost: example.com\nX-Name: caf\xc3\xa9\n\n' >"$T/nonascii.http"
refused "empty message" 1 '.' p11a http-sign ec256 -i "$T/empty.http"
refused "no start line" 1 '.' p11a http-sign ec256 -i "$T/nostart.http"
refused "field line without colon" 1 '.' p11a http-sign ec256 -i "$T/nocolon.http"
refused "truncated header section" 1 '.' p11a http-sign ec256 -i "$T/truncated.http"
refused "http-verify: no start line" 1 '.' p11a http-verify ec256 -i "$T/nostart.http"
refused "http-verify: truncated header section" 1 '.' p11a http-verify ec256 -i "$T/truncated.http"
run p11a http-verify ec256 -i "$REQ"
if [ "$RC" -eq 1 ] && ! grep -q 'Verified OK' "$OUT" && grep -qi 'signature' "$OUT" "$ERR"; then
	pass "http-verify: a message without signature, exit 1"
else
	fail "http-verify: a message without signature, exit 1" "exit $RC; $(show "$OUT") $(show "$ERR")"
fi
refused "covered component absent" 1 'x-missing' p11a http-sign ec256 -i "$REQ" \
	--components @method,x-missing
refused "@query-param absent" 1 'nope' p11a http-sign ec256 -i "$REQ" \
	--components '@query-param;name="nope"'
refused "duplicate component" 1 '@method' p11a http-sign ec256 -i "$REQ" \
	--components @method,@path,@method
refused "non-ASCII in a covered field" 1 'x-name|ascii' p11a http-sign ec256 -i "$T/nonascii.http" \
	--components @method,x-name
check_rc "non-ASCII in a field not covered" 0 p11a http-sign ec256 -i "$T/nonascii.http" \
	--components @method
refused "ed25519 on an RSA key" 1 'ed25519.*rsa|rsa.*ed25519' p11a http-sign rsa2048 -i "$REQ" \
	--alg ed25519
refused "hmac-sha256 on an EC key" 1 'hmac-sha256' p11a http-sign ec256 -i "$REQ" \
	--alg hmac-sha256
refused "ecdsa-p384-sha384 on a P-256 key" 1 'ecdsa-p384-sha384' p11a http-sign ec256 -i "$REQ" \
	--alg ecdsa-p384-sha384
refused "http-verify: ed25519 on an RSA key" 1 'ed25519' p11a http-verify rsa2048 \
	-i "$T/stdout.http" --alg ed25519
refused "no such key" 5 'nokey' p11a http-sign nokey -i "$REQ"
refused "no such input file" 1 'no-such' p11a http-sign ec256 -i "$T/no-such.http"

# --- Usage errors: exit 2 ------------------------------------------------------------
refused "http-sign without KEY" 2 'KEY' p11a http-sign
refused "http-verify without KEY" 2 'KEY' p11a http-verify
refused "http-sign: unknown option" 2 'bogus' p11a http-sign ec256 --bogus -i "$REQ"
refused "http-sign: unknown algorithm" 2 'foo' p11a http-sign ec256 --alg foo -i "$REQ"
refused "http-sign: --digest md5" 2 'md5' p11a http-sign ec256 --digest md5 -i "$REQ"
refused "http-sign: --created not a time" 2 'created' p11a http-sign ec256 --created soon -i "$REQ"
refused "http-verify: --at not a time" 2 'at' p11a http-verify ec256 --at xyz -i "$T/few.http"
refused "http-verify: --max-age not a number" 2 'max-age' p11a http-verify ec256 --max-age x \
	-i "$T/few.http"

no_pin "the PIN is in no stderr" "$T/stderr.all" "$T/agent.log"
agent_alive "agent still serving"
finish

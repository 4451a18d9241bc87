# tests/httpsig-lib.sh: helpers of the HTTP Message Signatures tests
# (tests/test-httpsig*.sh), sourced after tests/lib.sh. The RFC 9421 test
# data are in tests/httpsig/ ($HS; tests/httpsig/README says what each file is).
#
# SPDX-License-Identifier: Apache-2.0

# shellcheck disable=SC2034 # HS_* are for the test scripts
HS=$top_srcdir/tests/httpsig
# The RFC's created time of most examples, and a time when proxy_sig (created
# 1618884480, expires 1618884540) is still valid.
HS_CREATED=1618884473
HS_AT=1618884500

# run CMD...: lib.sh's run, which also keeps every stderr in $T/stderr.all
# (for no_pin at the end of a test).
run() {
	"$@" >"$OUT" 2>"$ERR"
	RC=$?
	cat "$ERR" >>"$T/stderr.all"
}

# hstool ARGS...: tests/httpsig-tool.py.
hstool() {
	timeout -k 2 30 python3 "$top_srcdir/tests/httpsig-tool.py" "$@"
}

# hs_hash ALG: the OpenSSL digest of an HTTP signature algorithm.
hs_hash() {
	case $1 in
	rsa-pss-sha512) echo sha512 ;;
	ecdsa-p384-sha384) echo sha384 ;;
	*) echo sha256 ;;
	esac
}

# hs_ossl_verify ALG KEY BASE SIG: OpenSSL's verdict (exit 0: valid) on the
# raw signature SIG over the signature base BASE, with the public key KEY
# (PEM), or for hmac-sha256 the secret in KEY (a file of hex).
hs_ossl_verify() {
	local alg=$1 key=$2 base=$3 sig=$4 mac
	case $alg in
	rsa-pss-sha512)
		ossl dgst -sha512 -verify "$key" -sigopt rsa_padding_mode:pss \
			-sigopt rsa_mgf1_md:sha512 -sigopt rsa_pss_saltlen:64 -signature "$sig" "$base"
		;;
	rsa-v1_5-sha256)
		ossl dgst -sha256 -verify "$key" -signature "$sig" "$base"
		;;
	ecdsa-p256-sha256 | ecdsa-p384-sha384)
		hstool raw2der "$sig" "$sig.der" &&
			ossl dgst "-$(hs_hash "$alg")" -verify "$key" -signature "$sig.der" "$base"
		;;
	ed25519)
		ossl pkeyutl -verify -rawin -pubin -inkey "$key" -in "$base" -sigfile "$sig"
		;;
	hmac-sha256)
		mac=$(ossl mac -digest SHA256 -macopt "hexkey:$(cat "$key")" -in "$base" HMAC) &&
			[ "$(echo "$mac" | tr 'A-F' 'a-f')" = "$(hex "$sig")" ]
		;;
	*)
		echo "no OpenSSL check for $alg" >&2
		return 1
		;;
	esac
}

# hs_key_file KEY: the RFC key's public half (or hex secret) in $HS.
hs_key_file() {
	if [ "$1" = test-shared-secret ]; then
		echo "$HS/$1.hex"
	else
		echo "$HS/$1.pub.pem"
	fi
}

# hs_vectors: the lines of $HS/vectors without comments.
hs_vectors() {
	grep -v '^#' "$HS/vectors"
}

# same_text NAME GOT EXPECTED: passes when the files hold the same bytes; shows
# the difference (public test data only: bases and messages).
same_text() {
	if [ -f "$2" ] && cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "differs from $(basename "$3"): $(diff "$3" "$2" 2>&1 | head -n 12 | tr '\n' '|')"
	fi
}

# base_is NAME KEY MSG EXPECTED ARGS...: http-sign --print-base on MSG with
# ARGS writes exactly the bytes of EXPECTED.
base_is() {
	local name=$1 key=$2 msg=$3 exp=$4
	shift 4
	if check_rc "$name: http-sign --print-base" 0 \
		p11a http-sign "$key" --print-base -i "$msg" -o "$T/base" "$@"; then
		same_text "$name: the signature base" "$T/base" "$exp"
	fi
}

# verify_ok NAME KEY MSG LABEL ARGS...: http-verify accepts signature LABEL of
# MSG: exit 0 and one line "Verified OK: signature 'LABEL' (ALG[, keyid ID]) is
# valid" on stdout.
verify_ok() {
	local name=$1 key=$2 msg=$3 label=$4
	shift 4
	run p11a http-verify "$key" --label "$label" -i "$msg" "$@"
	if [ "$RC" -eq 0 ] && [ "$(wc -l <"$OUT")" -eq 1 ] &&
		grep -Eq "^Verified OK: signature '$label' \([a-z0-9_-]+(, keyid [^)]*)?\) is valid\$" "$OUT"; then
		pass "$name"
	else
		fail "$name" "exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
}

# verify_bad NAME ERE KEY MSG ARGS...: http-verify finds the signature invalid:
# exit 1 and one line "Verification failure: REASON" on stdout, REASON matching ERE.
verify_bad() {
	local name=$1 ere=$2 key=$3 msg=$4
	shift 4
	run p11a http-verify "$key" -i "$msg" "$@"
	if [ "$RC" -eq 1 ] && [ "$(wc -l <"$OUT")" -eq 1 ] &&
		grep -Eq -- "^Verification failure: ($ere)" "$OUT"; then
		pass "$name"
	else
		fail "$name" "exit $RC (expected 1); stdout: $(show "$OUT") (expected /Verification failure: $ere/); stderr: $(show "$ERR")"
	fi
}

# no_pin NAME FILE...: none of the files holds the PIN.
no_pin() {
	local name=$1 pin
	shift
	pin=$(head -n 1 "$PIN_FILE")
	if grep -qF -- "$pin" "$@" 2>/dev/null; then
		fail "$name" "the PIN is in $(grep -lF -- "$pin" "$@" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

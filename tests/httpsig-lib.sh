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

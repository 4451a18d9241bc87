#!/bin/sh
# test-cert-pss.sh: the CERT request and RSA-PSS salt lengths. A certificate
# put into the token beside a key comes back for that key (and only one whose
# public key is the key's); a key without one gets none; PSS signatures with
# the salt lengths OpenSSL asks for verify with exactly that salt length, and
# salts the key cannot hold, or a salt for another algorithm, are refused.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

CLIENT=$top_builddir/tests/cert-client
require_tools timeout
[ -x "$CLIENT" ] || { echo "ERROR: $CLIENT is not built"; exit 99; }
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_ED25519"
start_agent || finish

# client ARGS...: the test client on the test socket, bounded in time.
client() {
	timeout -k 2 30 "$CLIENT" "$1" "$SOCK" "${@:2}"
}

# check_out NAME ERE: passes when the last command's stdout matches ERE.
check_out() {
	if grep -Eq -- "$2" "$OUT"; then
		pass "$1"
	else
		fail "$1" "stdout does not match /$2/: $(show "$OUT") stderr: $(show "$ERR")"
	fi
}

# Certificates for rsa2048 and ec256 issued by a CA of the test's own (the
# certificates carry the token keys' public keys); one for a stranger's key
# with ed25519's id, which must not be taken as ed25519's.
check "rsa2048: pubkey" p11a pubkey rsa2048 && cp "$OUT" "$T/rsa.pub"
check "ec256: pubkey" p11a pubkey ec256 && cp "$OUT" "$T/ec.pub"
check "a CA" ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/ca.key" -subj /CN=test-ca -days 2 -out "$T/ca.pem"
check "a stranger's key" ossl genpkey -algorithm ed25519 -out "$T/stranger.key"
check "stranger pub" ossl pkey -in "$T/stranger.key" -pubout -out "$T/stranger.pub"
for c in rsa:rsa.pub ec:ec.pub stranger:stranger.pub; do
	name=${c%%:*}
	check "$name: csr" ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/throwaway.key" -subj "/CN=$name" -out "$T/$name.csr"
	check "$name: certificate with the token key's public key" ossl x509 -req \
		-in "$T/$name.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
		-force_pubkey "$T/${c#*:}" -outform DER -out "$T/$name.der"
done
stop_agent
check "certificates into the token" timeout 60 "$MKTOKEN" --module "$SOFTHSM_MODULE" \
	--token "$TOKEN" --pin-file "$PIN_FILE" \
	"cert:$T/rsa.der:rsa2048:01" "cert:$T/ec.der:ec256:03" "cert:$T/stranger.der:ed25519:06"
start_agent || finish

check "cert rsa2048" client cert rsa2048 "$T/got-rsa.der"
same_bytes "rsa2048: the certificate put in the token" "$T/got-rsa.der" "$T/rsa.der"
check "cert ec256 (by URI)" client cert "pkcs11:token=$TOKEN;id=%03;type=private" "$T/got-ec.der"
same_bytes "ec256: the certificate put in the token" "$T/got-ec.der" "$T/ec.der"
check "cert ed25519" client cert ed25519 "$T/got-ed.der"
check_out "ed25519: a certificate with its id but another key is not its" "^no certificate$"
[ ! -e "$T/got-ed.der" ] && pass "ed25519: nothing written" || fail "ed25519: nothing written"
check_rc "cert of no such key" 1 client cert nosuchkey "$T/x.der"
check_out "no such key: NO_SUCH_KEY" "^NO_SUCH_KEY: "

# PSS salt lengths: 2048-bit key, SHA-256: at most 256 - 32 - 2 = 222 bytes.
printf 'a message to sign\n' >"$T/msg"
for s in 0 20 32 64 222; do
	check "pss salt $s: signed" client pss rsa2048 rsa-pss-sha256 "$s" "$T/msg" "$T/sig$s"
	check "pss salt $s: openssl verifies with saltlen $s" ossl dgst -sha256 \
		-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:"$s" \
		-sigopt rsa_mgf1_md:sha256 -verify "$T/rsa.pub" -signature "$T/sig$s" "$T/msg"
done
check_rc "pss salt 20 is not verified as salt 32" 1 ossl dgst -sha256 \
	-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
	-verify "$T/rsa.pub" -signature "$T/sig20" "$T/msg"
check "pss-sha512 salt 190 (the most): signed" client pss rsa2048 rsa-pss-sha512 190 "$T/msg" \
	"$T/sig512"
check "pss-sha512 salt 190: verifies" ossl dgst -sha512 -sigopt rsa_padding_mode:pss \
	-sigopt rsa_pss_saltlen:190 -verify "$T/rsa.pub" -signature "$T/sig512" "$T/msg"
check_rc "pss salt 223: refused" 1 client pss rsa2048 rsa-pss-sha256 223 "$T/msg" "$T/x"
check_out "salt 223: BAD_INPUT naming the most" \
	"^BAD_INPUT: flags: a 223-byte salt does not fit a 2048-bit key with SHA256: at most 222 bytes$"
check_rc "salt with ecdsa: refused" 1 client pss ec256 ecdsa-sha256 32 "$T/msg" "$T/x"
check_out "salt with ecdsa: BAD_INPUT" \
	"^BAD_INPUT: flags: a salt length is for rsa-pss algorithms, not ecdsa-sha256$"
check_rc "salt with pkcs1: refused" 1 client pss rsa2048 rsa-pkcs1-sha256 32 "$T/msg" "$T/x"
check_out "salt with pkcs1: BAD_INPUT" "^BAD_INPUT: flags: a salt length is for rsa-pss"
agent_alive "the agent serves on"
finish

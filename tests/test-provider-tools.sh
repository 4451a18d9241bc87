#!/bin/sh
# test-provider-tools.sh: the openssl tools sign with agent keys through the
# provider: `req -new` CSRs and `req -x509` self-signed certificates for RSA
# PKCS#1 v1.5 and PSS, ECDSA P-256 and P-384 and Ed25519 keys, `x509 -req`
# issuing from CSRs with an agent CA key (ECDSA, and RSA-PSS for an
# intermediate), `verify` of the chains, and a certificate the token holds
# read back through `-in p11agent:KEY`. Every signature is checked by the
# default provider alone (no OPENSSL_CONF) against the public key that
# `p11agent pubkey` exports.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/provider-lib.sh"

require_provider "$OPENSSL"
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_EC384" "$KEY_ED25519" ec:P-256:ca:50
start_agent || finish
provider_conf "$PCONF"

# dossl ARGS...: openssl with the default provider only.
dossl() {
	env -u OPENSSL_CONF timeout -k 2 30 "$OPENSSL" "$@"
}

# same_pub NAME GOT_PEM EXPECTED_PEM: the two PEM files hold the same public key.
same_pub() {
	if dossl pkey -pubin -in "$2" -outform DER -out "$2.der" 2>/dev/null &&
		dossl pkey -pubin -in "$3" -outform DER -out "$3.der" 2>/dev/null &&
		cmp -s "$2.der" "$3.der"; then
		pass "$1"
	else
		fail "$1" "$2 does not hold the public key of $3"
	fi
}

# check_text NAME FILE ERE: a line of FILE matches ERE.
check_text() {
	if grep -Eq -- "$3" "$2"; then
		pass "$1"
	else
		fail "$1" "$2 does not match /$3/: $(show "$2")"
	fi
}

printf 'signed by the agent\n' >"$T/msg"
for k in rsa2048 ec256 ec384 ed25519 ca; do
	check "$k: pubkey" p11a pubkey "$k" && cp "$OUT" "$T/$k.pub"
done

# The CA: an agent key's self-signed certificate.
check "ca: req -x509 self-signed" posl req -x509 -key p11agent:ca -subj /CN=agent-ca -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out "$T/ca.pem"
CA_OK=0
[ "$RC" -ne 0 ] || CA_OK=1
check "ca: x509 reads it" dossl x509 -in "$T/ca.pem" -noout -pubkey
cp "$OUT" "$T/ca.cert.pub"
same_pub "ca: the certificate holds the agent key" "$T/ca.cert.pub" "$T/ca.pub"
check "ca: its self-signature verifies (default provider)" dossl verify -check_ss_sig \
	-CAfile "$T/ca.pem" "$T/ca.pem"

# NAME KEY SIGNATURE-ALGORITHM-ERE SIGOPTS...: what each case signs with.
CASES=(
	"rsa-pkcs1|rsa2048|sha256WithRSAEncryption|"
	"rsa-pss|rsa2048|rsassaPss|-sigopt rsa_padding_mode:pss"
	"rsa-pss-sha384|rsa2048|rsassaPss|-sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest"
	"ecdsa-p256|ec256|ecdsa-with-SHA256|"
	"ecdsa-p384|ec384|ecdsa-with-SHA384|-sha384"
	"ed25519|ed25519|ED25519|"
)
# case_csr NAME KEY ALG SIGOPTS...: a CSR signed by the agent key, checked.
case_csr() {
	local name=$1 key=$2 alg=$3
	shift 3
	check "$name: req -new" posl req -new -key "p11agent:$key" -subj "/CN=$name" "$@" \
		-out "$T/$name.csr"
	[ "$RC" -eq 0 ] || return 1
	check "$name: req -verify (default provider)" dossl req -verify -noout -in "$T/$name.csr"
	check "$name: req -verify (with the provider)" posl req -verify -noout -in "$T/$name.csr"
	dossl req -in "$T/$name.csr" -noout -pubkey >"$T/$name.csr.pub" 2>/dev/null
	same_pub "$name: the CSR holds the agent key" "$T/$name.csr.pub" "$T/$key.pub"
	dossl req -in "$T/$name.csr" -noout -text >"$T/$name.csr.txt" 2>&1
	check_text "$name: the CSR is signed with $alg" "$T/$name.csr.txt" \
		"Signature Algorithm: $alg"
}

# case_self NAME KEY ALG SIGOPTS...: a self-signed certificate, checked.
case_self() {
	local name=$1 key=$2 alg=$3
	shift 3
	check "$name: req -x509" posl req -x509 -key "p11agent:$key" -subj "/CN=$name-self" \
		-days 2 "$@" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,digitalSignature -out "$T/$name-self.pem"
	[ "$RC" -eq 0 ] || return 1
	dossl x509 -in "$T/$name-self.pem" -noout -pubkey >"$T/$name-self.pub" 2>/dev/null
	same_pub "$name: the self-signed certificate holds the agent key" "$T/$name-self.pub" \
		"$T/$key.pub"
	dossl x509 -in "$T/$name-self.pem" -noout -text >"$T/$name-self.txt" 2>&1
	check_text "$name: self-signed with $alg" "$T/$name-self.txt" "Signature Algorithm: $alg"
	check "$name: its self-signature verifies (default provider)" dossl verify -check_ss_sig \
		-CAfile "$T/$name-self.pem" "$T/$name-self.pem"
}

# case_issue NAME KEY: the agent CA issues a certificate from NAME's CSR.
case_issue() {
	local name=$1 key=$2
	check "$name: x509 -req -CAkey p11agent:ca issues from the CSR" posl x509 -req \
		-in "$T/$name.csr" -CA "$T/ca.pem" -CAkey p11agent:ca -CAcreateserial \
		-CAserial "$T/ca.srl" -days 2 -out "$T/$name.pem"
	[ "$RC" -eq 0 ] || return 1
	dossl x509 -in "$T/$name.pem" -noout -pubkey >"$T/$name.cert.pub" 2>/dev/null
	same_pub "$name: the issued certificate holds the agent key" "$T/$name.cert.pub" \
		"$T/$key.pub"
	check "$name: verify -CAfile ca.pem (default provider)" dossl verify -CAfile "$T/ca.pem" \
		"$T/$name.pem"
}

for c in "${CASES[@]}"; do
	IFS='|' read -r name key alg opts <<<"$c"
	# shellcheck disable=SC2086 # the options are words
	case_csr "$name" "$key" "$alg" $opts && [ "$CA_OK" = 1 ] && case_issue "$name" "$key"
	# shellcheck disable=SC2086
	case_self "$name" "$key" "$alg" $opts
done

# A chain of three: the agent CA issues an intermediate for rsa2048, which
# issues (RSA-PSS, by the agent) a leaf for ed25519.
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$T/ca.ext"
if [ "$CA_OK" = 1 ] && [ -s "$T/rsa-pkcs1.csr" ] && [ -s "$T/ed25519.csr" ]; then
	check "intermediate: x509 -req -CAkey p11agent:ca" posl x509 -req -in "$T/rsa-pkcs1.csr" \
		-CA "$T/ca.pem" -CAkey p11agent:ca -CAserial "$T/ca.srl" -days 2 -extfile "$T/ca.ext" \
		-out "$T/inter.pem"
	check "leaf: x509 -req -CAkey p11agent:rsa2048 (PSS)" posl x509 -req -in "$T/ed25519.csr" \
		-CA "$T/inter.pem" -CAkey p11agent:rsa2048 -sigopt rsa_padding_mode:pss \
		-CAcreateserial -CAserial "$T/inter.srl" -days 2 -out "$T/leaf.pem"
	dossl x509 -in "$T/leaf.pem" -noout -text >"$T/leaf.txt" 2>&1
	check_text "leaf: signed with RSA-PSS" "$T/leaf.txt" "Signature Algorithm: rsassaPss"
	check "chain: verify -CAfile ca.pem -untrusted inter.pem (default provider)" dossl verify \
		-CAfile "$T/ca.pem" -untrusted "$T/inter.pem" "$T/leaf.pem"
	check_rc "chain: the leaf alone does not verify" 2 dossl verify -CAfile "$T/ca.pem" \
		"$T/leaf.pem"
else
	fail "chain" "not tried: the agent CA or the CSRs of rsa-pkcs1 and ed25519 are missing"
fi

# The checks above catch a signature over other bytes: a CSR whose subject
# is changed after signing does not verify.
if dossl req -in "$T/ecdsa-p256.csr" -outform DER -out "$T/t.der" 2>/dev/null; then
	LC_ALL=C sed 's/ecdsa-p256/ecdsa-p257/' "$T/t.der" >"$T/t2.der"
	if cmp -s "$T/t.der" "$T/t2.der"; then
		fail "tampered CSR" "the subject was not found in the DER"
	else
		check_rc "tampered CSR: req -verify refuses it" 1 dossl req -verify -noout \
			-inform DER -in "$T/t2.der"
	fi
else
	fail "tampered CSR" "not tried: no ecdsa-p256 CSR"
fi

# A certificate the token holds beside ec256 (made by the default provider
# alone) comes back through the store: -in p11agent:KEY.
make_ca
issue_cert "$T/ec256.pub" ec256-token "$T/ec256-token.pem" server
dossl x509 -in "$T/ec256-token.pem" -outform DER -out "$T/ec256.der" 2>/dev/null
stop_agent
check "certificate into the token" timeout 60 "$MKTOKEN" --module "$SOFTHSM_MODULE" \
	--token "$TOKEN" --pin-file "$PIN_FILE" "cert:$T/ec256.der:ec256:03"
start_agent || finish
check "x509 -in p11agent:ec256 reads the token's certificate" posl x509 -in p11agent:ec256 \
	-outform DER -out "$T/got-ec256.der"
same_bytes "the certificate is the one put in the token" "$T/got-ec256.der" "$T/ec256.der"
run posl x509 -in p11agent:ca -noout
if [ "$RC" -ne 0 ]; then
	pass "x509 -in p11agent:ca: no certificate, an error (exit $RC)"
else
	fail "x509 -in p11agent:ca" "exited 0 for a key that has no certificate"
fi

# Without the provider, a p11agent: URI is no key.
run dossl req -new -key p11agent:ec256 -subj /CN=x -out "$T/x.csr"
if [ "$RC" -ne 0 ]; then
	pass "without the provider, p11agent:ec256 is refused (exit $RC)"
else
	fail "without the provider" "req -key p11agent:ec256 succeeded"
fi
check_rc "a key the agent does not hold: refused" 1 posl req -new -key p11agent:nosuchkey \
	-subj /CN=x -out "$T/x.csr"
# (The tool's own line and the file store's name the URI; the provider's
# error must name the key too.)
if grep -v -e 'from p11agent:nosuchkey' -e 'stat(p11agent:nosuchkey)' "$ERR" | grep -qi 'nosuchkey'
then
	pass "no such key: the provider's error names it"
else
	fail "no such key: the provider's error names it" "$(show "$ERR")"
fi
agent_alive "the agent serves on"
stop_agent
finish

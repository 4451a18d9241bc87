#!/bin/sh
# test-provider-ops.sh: the provider's private-key operations, driven by the
# openssl tools with an openssl.cnf that loads the default provider and then
# p11agent.so: pkeyutl -sign (RSA PKCS#1 v1.5 and PSS with every salt length
# OpenSSL names, ECDSA P-256 and P-384 over a digest and over the message,
# Ed25519), dgst -sign, pkeyutl -decrypt (RSA-OAEP with every digest, with a
# label, PKCS#1 v1.5 only for the key whose policy allows it), pkeyutl
# -derive (ECDH), self-signed certificates from req -x509, CMS signed data
# (ECDSA, RSA PKCS#1 v1.5 and PSS), and CMS envelopes to an RSA and an EC
# recipient opened with cms -decrypt. Every result is checked by the default
# provider alone, on the public key the provider exports. Last, a uid that a
# key's policy refuses gets an OpenSSL error saying so, and the agent's audit
# trail a DENIED record.
#
# Shared secrets and plaintexts are compared with cmp, never printed. The
# helpers that run openssl with the provider are tests/provider-lib.sh's.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/provider-lib.sh"

require_tools python3 setpriv cmp
require_provider "$OPENSSL"
if [ "$(id -u)" -ne 0 ]; then
	fail "root" "test-provider-ops.sh runs openssl as another uid (setpriv): it needs root"
	finish
fi

KEY_EC_LIMITED=ec:P-256:ec-limited:43
make_token "$KEY_RSA2048" "$KEY_RSA_LEGACY" "$KEY_EC256" "$KEY_EC384" "$KEY_ED25519" \
	"$KEY_EC_LIMITED"

SGID=54320 # the socket's group
UA=54321   # a user whom the key 'limited' lets derive, never sign

# The files another uid reads: in a folder of their own, readable by all.
chmod 0711 "$T"
D=$T/data
mkdir -m 0755 "$D"

SOCK=$T/run/agent.sock
AUDIT=$T/audit.jsonl
cat >"$T/p11agent.conf" <<EOF
# p11agentd test configuration: the provider's operations
socket-group = $SGID
audit-file = $AUDIT

[key legacy]
uri = pkcs11:object=rsa-legacy;type=private
allow-rsa-pkcs1-decrypt = yes

[key limited]
uri = pkcs11:object=ec-limited;type=private
allow-users = $UA
allow-ops = derive
EOF
start_agent --config "$T/p11agent.conf" || finish

# --- running openssl with the provider: posl (tests/provider-lib.sh) ------------------
PROVIDER_SOCK=$SOCK
provider_conf "$PCONF"
chmod 0644 "$PCONF"
[ "$SANITIZED" = 1 ] && echo "  (sanitized build: openssl runs with $SAN_PRELOAD preloaded)"

# check_verified NAME CMD...: the default provider's CMD succeeds and says so.
check_verified() {
	local name=$1
	shift
	run ossl "$@"
	if [ "$RC" -eq 0 ] && grep -Eq 'Verified( OK| Successfully)|: OK$' "$OUT" "$ERR"; then
		pass "$name"
	else
		fail "$name" "exit $RC: $(show "$OUT") $(show "$ERR")"
	fi
}

# check_fails NAME ERE CMD...: CMD fails, writes nothing to stdout, and its
# stderr matches ERE (any case).
check_fails() {
	local name=$1 ere=$2
	shift 2
	run "$@"
	if [ "$RC" -ne 0 ] && [ ! -s "$OUT" ]; then
		pass "$name (exit $RC)"
		check_err "$name: message" "$ere"
		echo "  ($(grep -m1 -E -i -- "$ere" "$ERR" | head -c 300))"
	else
		fail "$name" "exit $RC, expected a failure; stdout: $(show "$OUT") stderr: $(show "$ERR")"
	fi
}

if check_rc "openssl list -providers" 0 posl list -providers; then
	if grep -q p11agent "$OUT"; then
		pass "the provider is loaded"
	else
		fail "the provider is loaded" "$(show "$OUT")"
	fi
fi

# --- public keys: the provider's export is the agent's ---------------------------------
for k in rsa2048 legacy ec256 ec384 ed25519; do
	if check_rc "pubkey $k through the provider" 0 posl pkey -in "p11agent:$k" -pubout \
		-out "$T/$k.pub" && p11a pubkey "$k" >"$T/$k.agent.pub" 2>"$ERR"; then
		same_bytes "pubkey $k: the agent's public key" "$T/$k.pub" "$T/$k.agent.pub"
	fi
done

printf 'p11agent provider operations test\n' >"$T/msg"
head -c 3000 /dev/urandom >>"$T/msg"
for h in sha256 sha384 sha512; do
	ossl dgst "-$h" -binary -out "$T/msg.$h" "$T/msg" || die "openssl dgst -$h" "digests"
done

# --- RSA PKCS#1 v1.5 --------------------------------------------------------------------
for h in sha256 sha384 sha512; do
	rm -f "$T/sig"
	check "rsa pkcs1 $h: pkeyutl -sign" posl pkeyutl -sign -inkey p11agent:rsa2048 \
		-pkeyopt "digest:$h" -in "$T/msg.$h" -out "$T/sig"
	check_verified "rsa pkcs1 $h: verifies" pkeyutl -verify -pubin -inkey "$T/rsa2048.pub" \
		-pkeyopt "digest:$h" -in "$T/msg.$h" -sigfile "$T/sig"
done
check_fails "rsa pkcs1 without a digest: refused" 'digest' \
	posl pkeyutl -sign -inkey p11agent:rsa2048 -in "$T/msg.sha256"

# --- RSA-PSS: salt lengths "digest", "max", "auto" and a number --------------------------
# (2048-bit key: with SHA-256 the longest salt is 256 - 32 - 2 = 222 bytes, with
# SHA-512 190; a verifier given the number checks exactly that length.)
pss_case() {
	local h=$1 salt=$2 want=$3
	rm -f "$T/sig"
	check "rsa pss $h saltlen $salt: pkeyutl -sign" posl pkeyutl -sign \
		-inkey p11agent:rsa2048 -pkeyopt "digest:$h" -pkeyopt rsa_padding_mode:pss \
		-pkeyopt "rsa_pss_saltlen:$salt" -in "$T/msg.$h" -out "$T/sig"
	check_verified "rsa pss $h saltlen $salt: verifies with saltlen $want" pkeyutl -verify \
		-pubin -inkey "$T/rsa2048.pub" -pkeyopt "digest:$h" -pkeyopt rsa_padding_mode:pss \
		-pkeyopt "rsa_pss_saltlen:$want" -in "$T/msg.$h" -sigfile "$T/sig"
}
pss_case sha256 digest 32
pss_case sha256 max 222
pss_case sha256 auto 222
pss_case sha256 20 20
pss_case sha256 0 0
pss_case sha384 digest 48
pss_case sha512 max 190
check_fails "rsa pss: MGF1 with another digest refused" 'MGF1 with the signature.s digest' \
	posl pkeyutl -sign -inkey p11agent:rsa2048 -pkeyopt digest:sha256 \
	-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_mgf1_md:sha384 -in "$T/msg.sha256"
check_fails "rsa pss: MGF1 with SHA-1 refused" "MGF1 .*not sha1" \
	posl pkeyutl -sign -inkey p11agent:rsa2048 -pkeyopt digest:sha256 \
	-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_mgf1_md:sha1 -in "$T/msg.sha256"
check_fails "rsa pss: a 223-byte salt refused by the agent" \
	'223-byte salt does not fit a 2048-bit key' \
	posl pkeyutl -sign -inkey p11agent:rsa2048 -pkeyopt digest:sha256 \
	-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:223 -in "$T/msg.sha256"

# --- ECDSA: over a digest and over the message (-rawin) ----------------------------------
for c in ec256:sha256 ec384:sha384 ec384:sha256; do
	k=${c%%:*} h=${c#*:}
	rm -f "$T/sig"
	check "$k ecdsa $h digest: pkeyutl -sign" posl pkeyutl -sign -inkey "p11agent:$k" \
		-in "$T/msg.$h" -out "$T/sig"
	check_verified "$k ecdsa $h digest: verifies" pkeyutl -verify -pubin \
		-inkey "$T/$k.pub" -in "$T/msg.$h" -sigfile "$T/sig"
	rm -f "$T/sig"
	check "$k ecdsa $h -rawin: pkeyutl -sign" posl pkeyutl -sign -rawin -digest "$h" \
		-inkey "p11agent:$k" -in "$T/msg" -out "$T/sig"
	check_verified "$k ecdsa $h -rawin: verifies" dgst "-$h" -verify "$T/$k.pub" \
		-signature "$T/sig" "$T/msg"
done

# --- Ed25519: one call over the message ---------------------------------------------------
rm -f "$T/sig"
check "ed25519 -rawin: pkeyutl -sign" posl pkeyutl -sign -rawin -inkey p11agent:ed25519 \
	-in "$T/msg" -out "$T/sig"
check_verified "ed25519 -rawin: verifies" pkeyutl -verify -rawin -pubin \
	-inkey "$T/ed25519.pub" -in "$T/msg" -sigfile "$T/sig"

# --- openssl dgst -sign (DigestSign, hashed in the provider) --------------------------------
for c in ec256:sha256 rsa2048:sha384; do
	k=${c%%:*} h=${c#*:}
	rm -f "$T/sig"
	check "dgst -$h -sign $k" posl dgst "-$h" -sign "p11agent:$k" -out "$T/sig" "$T/msg"
	check_verified "dgst -$h -sign $k: verifies" dgst "-$h" -verify "$T/$k.pub" \
		-signature "$T/sig" "$T/msg"
done
rm -f "$T/sig"
check "dgst -sign rsa2048 pss" posl dgst -sha512 -sign p11agent:rsa2048 \
	-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -out "$T/sig" "$T/msg"
check_verified "dgst -sign rsa2048 pss: verifies with saltlen 64" dgst -sha512 \
	-verify "$T/rsa2048.pub" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:64 \
	-signature "$T/sig" "$T/msg"

# --- RSA decryption --------------------------------------------------------------------------
head -c 48 /dev/urandom >"$T/pt"
for h in sha1 sha256 sha384 sha512; do
	ossl pkeyutl -encrypt -pubin -inkey "$T/rsa2048.pub" -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt "rsa_oaep_md:$h" -pkeyopt "rsa_mgf1_md:$h" -in "$T/pt" -out "$T/ct" ||
		die "openssl encrypts oaep-$h" "ciphertexts"
	rm -f "$T/pt.out"
	if check_rc "decrypt oaep $h" 0 posl pkeyutl -decrypt -inkey p11agent:rsa2048 \
		-pkeyopt rsa_padding_mode:oaep -pkeyopt "rsa_oaep_md:$h" -pkeyopt "rsa_mgf1_md:$h" \
		-in "$T/ct" -out "$T/pt.out"; then
		same_bytes "decrypt oaep $h: OpenSSL's plaintext" "$T/pt.out" "$T/pt"
	fi
done
LABEL_HEX=$(printf 'p11agent provider label' | od -An -v -tx1 | tr -d ' \n')
ossl pkeyutl -encrypt -pubin -inkey "$T/rsa2048.pub" -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
	-pkeyopt "rsa_oaep_label:$LABEL_HEX" -in "$T/pt" -out "$T/ct.label" ||
	die "openssl encrypts oaep with a label" "ciphertexts"
rm -f "$T/pt.out"
if check_rc "decrypt oaep sha256 with a label" 0 posl pkeyutl -decrypt -inkey p11agent:rsa2048 \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
	-pkeyopt "rsa_oaep_label:$LABEL_HEX" -in "$T/ct.label" -out "$T/pt.out"; then
	same_bytes "decrypt oaep sha256 with a label: OpenSSL's plaintext" "$T/pt.out" "$T/pt"
fi
check_fails "decrypt oaep sha256 without the label: fails" 'decryption failed' \
	posl pkeyutl -decrypt -inkey p11agent:rsa2048 -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -in "$T/ct.label"
check_fails "decrypt oaep: MGF1 with another digest refused" 'MGF1 with the OAEP digest' \
	posl pkeyutl -decrypt -inkey p11agent:rsa2048 -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha1 -in "$T/ct.label"
for k in rsa2048 legacy; do
	ossl pkeyutl -encrypt -pubin -inkey "$T/$k.pub" -in "$T/pt" -out "$T/ct.$k" ||
		die "openssl encrypts pkcs1 to $k" "ciphertexts"
done
check_fails "decrypt pkcs1 with rsa2048: refused by default" 'allow-rsa-pkcs1-decrypt' \
	posl pkeyutl -decrypt -inkey p11agent:rsa2048 -in "$T/ct.rsa2048"
rm -f "$T/pt.out"
if check_rc "decrypt pkcs1 with legacy (its policy allows it)" 0 posl pkeyutl -decrypt \
	-inkey p11agent:legacy -in "$T/ct.legacy" -out "$T/pt.out"; then
	same_bytes "decrypt pkcs1 with legacy: OpenSSL's plaintext" "$T/pt.out" "$T/pt"
fi

# --- ECDH: the default provider's own derive with the peer agrees ---------------------------
for c in ec256:P-256 ec384:P-384; do
	k=${c%%:*} curve=${c#*:}
	if ! ossl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "$T/peer.key" ||
		! ossl pkey -in "$T/peer.key" -pubout -out "$T/peer.pub"; then
		die "a $curve peer" "peers"
	fi
	ossl pkeyutl -derive -inkey "$T/peer.key" -peerkey "$T/$k.pub" -out "$T/z.peer" ||
		die "the peer derives" "peers"
	rm -f "$T/z"
	if check_rc "$k derive" 0 posl pkeyutl -derive -inkey "p11agent:$k" -peerkey "$T/peer.pub" \
		-out "$T/z"; then
		same_bytes "$k derive: the peer's shared secret" "$T/z" "$T/z.peer"
	fi
done

# --- certificates: req -x509 signs with the agent key; verify checks it --------------------
for k in rsa2048 ec256 ed25519; do
	if check_rc "req -x509 $k" 0 posl req -x509 -new -key "p11agent:$k" -subj "/CN=$k" -days 2 \
		-out "$T/$k.crt"; then
		check_verified "$k certificate: its signature verifies" verify -CAfile "$T/$k.crt" \
			"$T/$k.crt"
		ossl x509 -in "$T/$k.crt" -noout -pubkey >"$T/$k.crt.pub" 2>/dev/null
		same_bytes "$k certificate: the agent's public key" "$T/$k.crt.pub" "$T/$k.pub"
	fi
done
if check_rc "req -x509 rsa2048 pss" 0 posl req -x509 -new -key p11agent:rsa2048 -subj /CN=pss \
	-days 2 -sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
	-out "$T/pss.crt"; then
	check_verified "pss certificate: its signature verifies" verify -CAfile "$T/pss.crt" \
		"$T/pss.crt"
	ossl x509 -in "$T/pss.crt" -noout -text >"$T/pss.txt" 2>&1
	if grep -q 'rsassaPss' "$T/pss.txt" && grep -q 'Salt Length: 0x30' "$T/pss.txt"; then
		pass "pss certificate: RSASSA-PSS with SHA-384 and a 48-byte salt"
	else
		fail "pss certificate: RSASSA-PSS with SHA-384 and a 48-byte salt" "$(show "$T/pss.txt")"
	fi
fi

# --- CMS signing: SignerInfo's algorithm from the provider's algorithm-id ----------------------
printf 'a message to sign in CMS\n' >"$T/cms.msg"
for c in ec256: rsa2048: rsa2048:pss; do
	k=${c%%:*} pss=${c#*:}
	name="cms -sign $k${pss:+ $pss}"
	[ -f "$T/$k.crt" ] || {
		fail "$name" "no certificate for $k"
		continue
	}
	opts=()
	[ -n "$pss" ] && opts=(-keyopt rsa_padding_mode:pss)
	rm -f "$T/msg.out"
	if check_rc "$name" 0 posl cms -sign -nodetach -binary -signer "$T/$k.crt" \
		-inkey "p11agent:$k" "${opts[@]}" -in "$T/cms.msg" -outform PEM -out "$T/signed.pem"
	then
		check_rc "$name: the default provider verifies it" 0 ossl cms -verify \
			-binary -inform PEM -in "$T/signed.pem" -CAfile "$T/$k.crt" -out "$T/msg.out"
		same_bytes "$name: the signed content" "$T/msg.out" "$T/cms.msg"
	fi
done

# --- CMS: envelopes to an RSA (OAEP SHA-256) and an EC recipient, opened by the agent --------
for c in rsa2048:oaep ec256:ecdh; do
	k=${c%%:*}
	[ -f "$T/$k.crt" ] || {
		fail "cms to $k" "no certificate for $k"
		continue
	}
	opts=()
	[ "${c#*:}" = oaep ] && opts=(-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256)
	ossl cms -encrypt -binary -aes-256-cbc -in "$T/msg" -recip "$T/$k.crt" "${opts[@]}" \
		-outform PEM -out "$T/$k.cms" || die "openssl cms -encrypt to $k" "envelopes"
	rm -f "$T/msg.out"
	if check_rc "cms -decrypt to $k (${c#*:})" 0 posl cms -decrypt -binary -inform PEM \
		-in "$T/$k.cms" -inkey "p11agent:$k" -recip "$T/$k.crt" -out "$T/msg.out"; then
		same_bytes "cms -decrypt to $k: the plaintext" "$T/msg.out" "$T/msg"
	fi
done

# --- a uid the key's policy refuses ----------------------------------------------------------
# User A may see 'limited' (it may derive with it) but not sign: DENIED.
# as_a CMD...: CMD as user A, in the socket's group.
as_a() {
	provider_env
	timeout -k 2 30 setpriv --reuid="$UA" --regid="$SGID" --clear-groups "${PENV[@]}" "$@"
}
cp "$T/msg.sha256" "$D/msg.sha256" && chmod 0644 "$D/msg.sha256"
if ! as_a "$OPENSSL" version >/dev/null 2>&1; then
	fail "user A runs openssl" "setpriv to uid $UA failed"
elif ! as_a test -r "$PROVIDER_MODULE"; then
	fail "user A reads the provider" "uid $UA cannot read $PROVIDER_MODULE"
else
	check "user A: pkey -in p11agent:limited (it may see it)" as_a "$OPENSSL" pkey \
		-in p11agent:limited -pubout
	check_fails "user A: sign with limited: refused" 'denied|refus|polic' \
		as_a "$OPENSSL" pkeyutl -sign -inkey p11agent:limited -in "$D/msg.sha256"
	check_err "user A: the error names the rule" 'allow-ops'
	if python3 - "$AUDIT" "$UA" >"$T/audit.out" 2>&1 <<'EOF'; then
import json, sys
uid = int(sys.argv[2])
found = [r for r in map(json.loads, open(sys.argv[1]))
         if r.get("status") == "DENIED" and r.get("uid") == uid and r.get("key") == "limited"]
if not found:
    print("no DENIED record of uid", uid, "on limited")
    sys.exit(1)
EOF
		pass "audit trail: a DENIED record for user A on limited"
	else
		fail "audit trail: a DENIED record for user A on limited" "$(show "$T/audit.out")"
	fi
fi

agent_alive "agent still serving"
stop_agent
finish

#!/bin/sh
# test-certs.sh: CSRs and certificates with keys that stay in the token,
# checked by OpenSSL. csr of RSA, EC and Ed25519 keys (self-signature,
# subject, SANs, the key's public key); a self-signed CA (cert issue --self
# --ca), imported into the token beside its key and printed back by cert;
# list's CERT column with the expiry; a certificate for another key refused
# with nothing stored; leaf certificates issued by the CA key for the CSRs,
# verified by openssl verify, with basicConstraints CA:TRUE on the CA and
# CA:FALSE on the leaves; a stranger's CSR with names --san or --subject
# would refuse (bad DNS name, otherName, directoryName, an escape in the CN)
# refused, and --san replacing the names; --eku serverAuth and clientAuth
# checked by openssl verify -purpose; a certificate capped at its CA's
# notAfter; the certificate objects carry their key's CKA_ID and label.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/lifecycle-lib.sh"

require_tools od cmp timeout date
make_token
write_conf
start_lc_agent || finish
umask 077

# x509_text FILE: the certificate's text.
x509_text() {
	ossl x509 -in "$1" -noout -text 2>&1
}

# der_of PEM OUT: the certificate's DER.
der_of() {
	ossl x509 -in "$1" -outform DER -out "$2" 2>/dev/null
}

# subject_of req|x509 FILE: the subject of the CSR or certificate FILE, RFC 2253.
subject_of() {
	ossl "$1" -in "$2" -noout -subject -nameopt RFC2253 2>/dev/null | sed 's/^subject=//'
}

# stranger_csr NAME OUT SUBJ [SAN]: a request made by OpenSSL with a key of
# its own (none of the agent's), for subject SUBJ and subjectAltName SAN
# (dirName:dir_sect names "CN = someone else"); fails NAME when it cannot.
stranger_csr() {
	local ext=()
	[ -z "${4:-}" ] || ext=(-addext "subjectAltName=$4")
	printf '[dir_sect]\nCN = someone else\n' >"$T/req.cnf"
	if ! ossl req -new -config "$T/req.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/stranger.key" -subj "$3" "${ext[@]}" -out "$2" >"$T/req.out" 2>&1; then
		fail "$1: OpenSSL makes it" "$(show "$T/req.out")"
		return 1
	fi
}

# refused NAME FILE CMD...: runs CMD, which writes FILE; passes "NAME: exit 1,
# no certificate" when it exits 1 and FILE is not there.
refused() {
	local name=$1 file=$2
	shift 2
	rm -f "$file"
	run "$@"
	if [ "$RC" -eq 1 ] && [ ! -e "$file" ]; then
		pass "$name: exit 1, no certificate"
	else
		fail "$name: exit 1, no certificate" "exit $RC: $(show "$ERR")"
	fi
}

for k in ca:ec:P-256 leaf-rsa:rsa:2048 leaf-ec:ec:P-384 leaf-ed:ed25519; do
	name=${k%%:*}
	check_rc "keygen $name (${k#*:})" 0 p11a keygen "$name" --type "${k#*:}" || finish
	pubkey_to "$name" "$T/$name.pub"
done
if check_rc "list before any certificate" 0 p11a list; then
	# NAME TYPE OPS FINGERPRINT URI (list prints no header).
	if awk 'NF != 5 { bad = 1 } END { exit !bad }' "$OUT"; then
		fail "list: no CERT column while no key has a certificate" "$(show "$OUT")"
	else
		pass "list: no CERT column while no key has a certificate"
	fi
fi
run p11a cert ca
if [ "$RC" -ne 0 ] && ! grep -q 'BEGIN CERTIFICATE' "$OUT"; then
	pass "cert ca before any import: none (exit $RC)"
else
	fail "cert ca before any import: none" "exit $RC: $(show "$OUT")"
fi

# --- CSRs -------------------------------------------------------------------------------
for name in leaf-rsa leaf-ec leaf-ed; do
	cn=$name.example.test
	if ! check_rc "csr $name" 0 p11a csr "$name" --subject "CN=$cn,O=P11agent Test" \
		--san "DNS:$cn,DNS:www.$cn,IP:192.0.2.7" -o "$T/$name.csr"; then
		continue
	fi
	if ossl req -in "$T/$name.csr" -verify -noout >"$T/req.out" 2>&1 &&
		grep -qi 'verify OK' "$T/req.out"; then
		pass "csr $name: openssl req -verify OK"
	else
		fail "csr $name: openssl req -verify OK" "$(show "$T/req.out")"
	fi
	subj=$(subject_of req "$T/$name.csr")
	case ",$subj," in
	*",CN=$cn,"*) pass "csr $name: CN" ;;
	*) fail "csr $name: CN" "subject '$subj'" ;;
	esac
	case ",$subj," in
	*",O=P11agent Test,"*) pass "csr $name: O" ;;
	*) fail "csr $name: O" "subject '$subj'" ;;
	esac
	ossl req -in "$T/$name.csr" -noout -text >"$T/req.txt" 2>&1
	if grep -q "DNS:$cn, DNS:www.$cn, IP Address:192.0.2.7" "$T/req.txt"; then
		pass "csr $name: subjectAltName as asked"
	else
		fail "csr $name: subjectAltName as asked" "$(grep -A1 'Alternative Name' "$T/req.txt" | tr '\n' ' ')"
	fi
	ossl req -in "$T/$name.csr" -noout -pubkey >"$T/req.pub" 2>/dev/null
	if cmp -s "$T/req.pub" "$T/$name.pub"; then
		pass "csr $name: the key's public key"
	else
		fail "csr $name: the key's public key" "the CSR's public key differs from pubkey's"
	fi
done
check_rc "csr to stdout" 0 p11a csr leaf-ec --subject "CN=stdout.example.test"
if grep -q 'BEGIN CERTIFICATE REQUEST' "$OUT"; then
	pass "csr to stdout: PEM"
else
	fail "csr to stdout: PEM" "$(show "$OUT")"
fi
run p11a csr leaf-ec
if [ "$RC" -eq 2 ] || [ "$RC" -eq 1 ]; then
	pass "csr without --subject: refused (exit $RC)"
else
	fail "csr without --subject: refused" "exit $RC"
fi

# --- a self-signed CA ---------------------------------------------------------------------
# The CA key cannot issue before its certificate is in the token.
run p11a cert issue ca -i "$T/leaf-rsa.csr" --days 10 -o "$T/early.pem"
if [ "$RC" -eq 1 ] && [ ! -s "$T/early.pem" ]; then
	pass "cert issue by a key without a certificate: exit 1"
	check_err "cert issue without a CA certificate: says so" 'certificate'
	run p11a --json cert issue ca -i "$T/leaf-rsa.csr" --days 10 -o "$T/early.pem"
	expect "cert issue --json without a CA certificate: NO_CERTIFICATE, as cert's" \
		"$RC $(json_get "$ERR" error)" '1 "NO_CERTIFICATE"'
else
	fail "cert issue by a key without a certificate: exit 1" "exit $RC: $(show "$ERR")"
fi
if check_rc "cert issue ca --self --ca" 0 \
	p11a cert issue ca --self --subject "CN=P11agent Test CA,O=P11agent Test" --ca --days 30 \
	-o "$T/ca.pem"; then
	x509_text "$T/ca.pem" >"$T/ca.txt"
	if grep -A1 'X509v3 Basic Constraints' "$T/ca.txt" | grep -q 'CA:TRUE'; then
		pass "CA certificate: basicConstraints CA:TRUE"
	else
		fail "CA certificate: basicConstraints CA:TRUE" "$(grep -A1 'Basic Constraints' "$T/ca.txt" | tr '\n' ' ')"
	fi
	if grep -A1 'X509v3 Key Usage' "$T/ca.txt" | grep -q 'Certificate Sign'; then
		pass "CA certificate: keyUsage keyCertSign"
	else
		fail "CA certificate: keyUsage keyCertSign" "$(grep -A1 'Key Usage' "$T/ca.txt" | tr '\n' ' ')"
	fi
	expect "CA certificate: self-issued" "$(subject_of x509 "$T/ca.pem")" \
		"$(ossl x509 -in "$T/ca.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')"
	if ossl verify -CAfile "$T/ca.pem" "$T/ca.pem" >"$T/v.out" 2>&1; then
		pass "CA certificate: openssl verify (self-signed)"
	else
		fail "CA certificate: openssl verify (self-signed)" "$(show "$T/v.out")"
	fi
	ossl x509 -in "$T/ca.pem" -noout -pubkey >"$T/ca.certpub" 2>/dev/null
	if cmp -s "$T/ca.certpub" "$T/ca.pub"; then
		pass "CA certificate: the key's public key"
	else
		fail "CA certificate: the key's public key" "it differs from pubkey's"
	fi
	if ossl x509 -in "$T/ca.pem" -noout -checkend $((29 * 86400)) >/dev/null &&
		! ossl x509 -in "$T/ca.pem" -noout -checkend $((31 * 86400)) >/dev/null; then
		pass "CA certificate: valid for 30 days"
	else
		fail "CA certificate: valid for 30 days" "$(ossl x509 -in "$T/ca.pem" -noout -dates | tr '\n' ' ')"
	fi
fi

# --- import ---------------------------------------------------------------------------------
dump_token
N_OBJS=$(nobj)
check_rc "cert import of the CA's certificate for leaf-rsa: exit 1" 1 \
	p11a cert import leaf-rsa -i "$T/ca.pem"
check_err "cert import of another key's certificate: says why" 'public key|does not match|not the key'
dump_token
expect "the refused import stored nothing" "$(nobj)" "$N_OBJS"
expect "no certificate object at all" "$(nobj '*' certificate)" 0

check "cert import ca" p11a cert import ca -i "$T/ca.pem"
if check_rc "cert ca" 0 p11a cert ca; then
	cp "$OUT" "$T/ca.back.pem"
	der_of "$T/ca.pem" "$T/ca.der"
	der_of "$T/ca.back.pem" "$T/ca.back.der"
	if [ -s "$T/ca.der" ] && cmp -s "$T/ca.der" "$T/ca.back.der"; then
		pass "cert ca: the imported certificate"
	else
		fail "cert ca: the imported certificate" "$(show "$T/ca.back.pem")"
	fi
fi
dump_token
expect "token: one certificate object labelled ca" "$(nobj ca certificate)" 1
expect "token: the CA certificate has the key's CKA_ID" "$(obj ca certificate id)" "$(obj ca private id)"
expect_attr "CA certificate object" ca certificate CKA_TOKEN true
expect_attr "CA certificate object" ca certificate CKA_PRIVATE false

# list: a CERT column with the expiry, and cert_expiry in --json.
end=$(ossl x509 -in "$T/ca.pem" -noout -enddate | sed 's/^notAfter=//')
expiry_day=$(date -u -d "$end" +%F)
expiry_iso=$(date -u -d "$end" +%FT%TZ)
if check_rc "list with a certificate" 0 p11a list; then
	# NAME TYPE OPS FINGERPRINT CERT URI: the CERT column for every row.
	if awk 'NF != 6 { bad = 1 } END { exit !bad }' "$OUT"; then
		fail "list: a CERT column" "$(show "$OUT")"
	else
		pass "list: a CERT column"
	fi
	expect "list: ca's row shows the certificate's expiry" \
		"$(awk '$1 == "ca" { print substr($5, 1, 10) }' "$OUT")" "$expiry_day"
	expect "list: leaf-rsa has no certificate (-)" "$(awk '$1 == "leaf-rsa" { print $5 }' "$OUT")" -
fi
if check_rc "list --json" 0 p11a --json list; then
	got=$("$LC_PY" -c '
import json, sys
for k in json.load(open(sys.argv[1])):
    if k.get("label") == sys.argv[2]:
        print(k.get("cert_expiry"))' "$OUT" ca)
	expect "list --json: ca's cert_expiry" "$got" "$expiry_iso"
fi

# --- leaves issued by the CA ----------------------------------------------------------------
for name in leaf-rsa leaf-ec leaf-ed; do
	cn=$name.example.test
	[ -s "$T/$name.csr" ] || continue
	check_rc "cert issue ca for $name" 0 \
		p11a cert issue ca -i "$T/$name.csr" --days 10 -o "$T/$name.pem" || continue
	if ossl verify -CAfile "$T/ca.pem" "$T/$name.pem" >"$T/v.out" 2>&1; then
		pass "$name: openssl verify -CAfile ca.pem"
	else
		fail "$name: openssl verify -CAfile ca.pem" "$(show "$T/v.out")"
	fi
	x509_text "$T/$name.pem" >"$T/$name.txt"
	if grep -A1 'X509v3 Basic Constraints' "$T/$name.txt" | grep -q 'CA:FALSE'; then
		pass "$name: basicConstraints CA:FALSE"
	else
		fail "$name: basicConstraints CA:FALSE" "$(grep -A1 'Basic Constraints' "$T/$name.txt" | tr '\n' ' ')"
	fi
	subj=$(subject_of x509 "$T/$name.pem")
	case ",$subj," in
	*",CN=$cn,"*) pass "$name: the CSR's subject" ;;
	*) fail "$name: the CSR's subject" "subject '$subj'" ;;
	esac
	expect "$name: issued by the CA" \
		"$(ossl x509 -in "$T/$name.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" \
		"$(subject_of x509 "$T/ca.pem")"
	if grep -q "DNS:$cn, DNS:www.$cn, IP Address:192.0.2.7" "$T/$name.txt"; then
		pass "$name: the CSR's subjectAltName"
	else
		fail "$name: the CSR's subjectAltName" "$(grep -A1 'Alternative Name' "$T/$name.txt" | tr '\n' ' ')"
	fi
	ossl x509 -in "$T/$name.pem" -noout -pubkey >"$T/$name.certpub" 2>/dev/null
	if cmp -s "$T/$name.certpub" "$T/$name.pub"; then
		pass "$name: the key's public key"
	else
		fail "$name: the key's public key" "it differs from pubkey's"
	fi
	if ossl x509 -in "$T/$name.pem" -noout -checkend $((9 * 86400)) >/dev/null &&
		! ossl x509 -in "$T/$name.pem" -noout -checkend $((11 * 86400)) >/dev/null; then
		pass "$name: valid for 10 days"
	else
		fail "$name: valid for 10 days" "$(ossl x509 -in "$T/$name.pem" -noout -dates | tr '\n' ' ')"
	fi
	check "cert import $name" p11a cert import "$name" -i "$T/$name.pem"
done
# Two certificates from the same CA have distinct serial numbers.
s1=$(ossl x509 -in "$T/leaf-rsa.pem" -noout -serial 2>/dev/null)
s2=$(ossl x509 -in "$T/leaf-ec.pem" -noout -serial 2>/dev/null)
if [ -n "$s1" ] && [ "$s1" != "$s2" ]; then
	pass "leaf certificates: distinct serial numbers"
else
	fail "leaf certificates: distinct serial numbers" "'$s1' and '$s2'"
fi
# A self-signed certificate without --ca is no CA.
if check_rc "cert issue leaf-ed --self (no --ca)" 0 \
	p11a cert issue leaf-ed --self --subject "CN=self.example.test" --days 5 -o "$T/self.pem"; then
	if grep -A1 'X509v3 Basic Constraints' <(x509_text "$T/self.pem") | grep -q 'CA:TRUE'; then
		fail "self-signed without --ca: not a CA" "CA:TRUE"
	else
		pass "self-signed without --ca: not a CA"
	fi
fi
# A CSR whose signature is broken is refused.
if [ -s "$T/leaf-ec.csr" ]; then
	ossl req -in "$T/leaf-ec.csr" -outform DER -out "$T/bad.der" 2>/dev/null
	"$LC_PY" -c '
import sys
b = open(sys.argv[1], "rb").read()
# The same length: the request still parses, its signature no longer fits.
open(sys.argv[1], "wb").write(b.replace(b"P11agent Test", b"P11agent Tesx", 1))' "$T/bad.der"
	ossl req -inform DER -in "$T/bad.der" -out "$T/bad.csr" 2>/dev/null
	# (openssl req -verify exits 0 either way: its message tells.)
	if [ -s "$T/bad.csr" ] &&
		ossl req -in "$T/bad.csr" -verify -noout 2>&1 | grep -qi 'verify failure'; then
		pass "a CSR with a broken signature: OpenSSL reads it and says it does not verify"
	else
		fail "a CSR with a broken signature: OpenSSL reads it and says it does not verify" \
			"cannot make one"
	fi
	run p11a cert issue ca -i "$T/bad.csr" --days 1 -o "$T/bad.pem"
	if [ "$RC" -eq 1 ] && [ ! -s "$T/bad.pem" ]; then
		pass "cert issue for a CSR with a broken signature: exit 1"
	else
		fail "cert issue for a CSR with a broken signature: exit 1" "exit $RC"
	fi
fi

# A stranger's request asks for names --san would refuse: refused, naming the
# name, and --san replaces them.
if [ -s "$T/ca.pem" ]; then
	for want in 'DNS:bad_name.example|not a DNS name' \
		'otherName:1.3.6.1.4.1.311.20.2.3;UTF8:admin@corp.example|name 1 is of type otherName' \
		'DNS:ok.example,dirName:dir_sect|name 2 is of type directoryName'; do
		san=${want%%|*}
		stranger_csr "a CSR asking for $san" "$T/stranger.csr" /CN=stranger "$san" || continue
		refused "cert issue for a CSR asking for $san" "$T/stranger.pem" \
			p11a cert issue ca -i "$T/stranger.csr" --days 5 -o "$T/stranger.pem"
		check_err "cert issue for a CSR asking for $san: says which name" \
			"the certificate request's subjectAltName: .*${want#*|}"
		if check_rc "cert issue --san replaces the names of a CSR asking for $san" 0 \
			p11a cert issue ca -i "$T/stranger.csr" --days 5 --san DNS:stranger.example \
			-o "$T/stranger.pem"; then
			expect "cert issue --san: only the --san name" \
				"$(x509_text "$T/stranger.pem" | grep -A1 'Alternative Name' | tail -n 1 | tr -d ' ')" \
				"DNS:stranger.example"
		fi
	done
fi

# A stranger's request whose subject holds a terminal escape: refused, and the
# escape does not reach the terminal.
if [ -s "$T/ca.pem" ]; then
	esc=$(printf '\033')
	if stranger_csr "a CSR whose CN holds an escape" "$T/esc.csr" "/CN=a${esc}[31mb"; then
		refused "cert issue for a CSR whose CN holds an escape" "$T/esc.pem" \
			p11a cert issue ca -i "$T/esc.csr" --days 5 -o "$T/esc.pem"
		check_err "cert issue for a CSR whose CN holds an escape: says which attribute" \
			"the certificate request's subject: 'CN=a\?\[31mb': a control character"
		if grep -q "$esc" "$ERR" "$OUT"; then
			fail "cert issue for a CSR whose CN holds an escape: no escape in the output" \
				"$(show "$ERR")"
		else
			pass "cert issue for a CSR whose CN holds an escape: no escape in the output"
		fi
	fi
fi

# --eku: a TLS server's certificate that OpenSSL takes for a server and not
# for a client, and the other way round; a bad purpose is refused.
if [ -s "$T/ca.pem" ] && [ -s "$T/leaf-rsa.csr" ]; then
	for eku in serverAuth:sslserver:sslclient clientAuth:sslclient:sslserver; do
		IFS=: read -r name yes no <<<"$eku"
		if check_rc "cert issue --eku $name" 0 \
			p11a cert issue ca -i "$T/leaf-rsa.csr" --days 5 --eku "$name" -o "$T/eku.pem"; then
			if ossl verify -purpose "$yes" -CAfile "$T/ca.pem" "$T/eku.pem" >"$T/v.out" 2>&1; then
				pass "--eku $name: openssl verify -purpose $yes"
			else
				fail "--eku $name: openssl verify -purpose $yes" "$(show "$T/v.out")"
			fi
			if ossl verify -purpose "$no" -CAfile "$T/ca.pem" "$T/eku.pem" >"$T/v.out" 2>&1; then
				fail "--eku $name: openssl verify -purpose $no refuses it" "$(show "$T/v.out")"
			else
				pass "--eku $name: openssl verify -purpose $no refuses it"
			fi
		fi
	done
	refused "cert issue --eku with an unknown purpose" "$T/eku.pem" \
		p11a cert issue ca -i "$T/leaf-rsa.csr" --days 5 --eku serverAuth,webServer \
		-o "$T/eku.pem"
	check_err "cert issue --eku with an unknown purpose: names it" \
		"--eku: 'webServer': unknown purpose \(known: serverAuth, clientAuth"
fi

# A certificate does not outlive its CA's (30 days): --days 400 ends with it,
# and says so; --days 5 is left as asked, without a note.
if [ -s "$T/ca.pem" ] && [ -s "$T/leaf-ec.csr" ]; then
	ca_end=$(ossl x509 -in "$T/ca.pem" -noout -enddate)
	if check_rc "cert issue --days 400 under a CA of 30 days" 0 \
		p11a cert issue ca -i "$T/leaf-ec.csr" --days 400 -o "$T/capped.pem"; then
		expect "--days 400 under a CA of 30 days: notAfter is the CA's" \
			"$(ossl x509 -in "$T/capped.pem" -noout -enddate)" "$ca_end"
		check_err "--days 400 under a CA of 30 days: a note says so" \
			"note: the certificate ends when the CA's certificate does .*sooner than --days 400"
		if ossl verify -CAfile "$T/ca.pem" "$T/capped.pem" >"$T/v.out" 2>&1; then
			pass "--days 400 under a CA of 30 days: openssl verify"
		else
			fail "--days 400 under a CA of 30 days: openssl verify" "$(show "$T/v.out")"
		fi
	fi
	if check_rc "cert issue --days 5 under a CA of 30 days" 0 \
		p11a cert issue ca -i "$T/leaf-ec.csr" --days 5 -o "$T/short.pem"; then
		if [ -s "$ERR" ]; then
			fail "--days 5 under a CA of 30 days: nothing on stderr" "$(show "$ERR")"
		else
			pass "--days 5 under a CA of 30 days: nothing on stderr"
		fi
		end=$(ossl x509 -in "$T/short.pem" -noout -enddate | sed 's/^notAfter=//')
		start=$(ossl x509 -in "$T/short.pem" -noout -startdate | sed 's/^notBefore=//')
		expect "--days 5 under a CA of 30 days: valid for 5 days" \
			$(($(date -d "$end" +%s) - $(date -d "$start" +%s))) $((5 * 86400))
	fi
fi

# The token's certificate objects: each with its key's CKA_ID and label.
dump_token
for name in ca leaf-rsa leaf-ec leaf-ed; do
	expect "token: one certificate labelled $name" "$(nobj "$name" certificate)" 1
	expect "token: $name's certificate has its key's CKA_ID" \
		"$(obj "$name" certificate id)" "$(obj "$name" private id)"
done
# cert prints each back.
for name in leaf-rsa leaf-ec; do
	if check_rc "cert $name" 0 p11a cert "$name"; then
		der_of "$OUT" "$T/back.der" 2>/dev/null || ossl x509 -in "$OUT" -outform DER -out "$T/back.der"
		der_of "$T/$name.pem" "$T/want.der"
		if cmp -s "$T/back.der" "$T/want.der"; then
			pass "cert $name: the imported certificate"
		else
			fail "cert $name: the imported certificate" "$(show "$OUT")"
		fi
	fi
done
# The chain works with the certificates the token gives back.
p11a cert leaf-ec >"$T/leaf-ec.back.pem" 2>/dev/null
p11a cert ca >"$T/ca.back2.pem" 2>/dev/null
if ossl verify -CAfile "$T/ca.back2.pem" "$T/leaf-ec.back.pem" >"$T/v.out" 2>&1; then
	pass "the token's certificates: openssl verify"
else
	fail "the token's certificates: openssl verify" "$(show "$T/v.out")"
fi

# Two keys under one CKA_ID (made by another tool): a certificate stored
# under it would belong to both, and replacing it could remove the other's.
if p11attrs keygen-ec twin-a 7e7e7e10 2>"$T/pyk.err" && p11attrs keygen-ec twin-b 7e7e7e10 2>>"$T/pyk.err"; then
	pass "PyKCS11 makes twin-a and twin-b with one CKA_ID"
else
	fail "PyKCS11 makes twin-a and twin-b with one CKA_ID" "$(show "$T/pyk.err")"
fi
check_rc "reload sees the twins" 0 p11a reload
check_rc "cert issue twin-a --self" 0 p11a cert issue twin-a --self --subject CN=twin-a --days 5 \
	-o "$T/twin-a.pem"
check_rc "cert import twin-a (CKA_ID shared with twin-b): exit 1" 1 p11a cert import twin-a -i "$T/twin-a.pem"
check_err "cert import twin-a: says the CKA_ID is shared and nothing stored" \
	"shares its CKA_ID with another key.*nothing stored"
dump_token
expect "cert import twin-a: no certificate stored" "$(nobj twin-a certificate)" 0

no_pin_in "no PIN in the agent's log, the trail or the outputs" "$T/agent.log" "$LC_AUDIT" "$OUT" "$ERR"
agent_alive "agent still serving"
finish

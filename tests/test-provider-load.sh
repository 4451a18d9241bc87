#!/bin/sh
# test-provider-load.sh: the provider p11agent.so loads and finds agent keys.
# `openssl list -providers` shows it; `openssl pkey -in p11agent:KEY -pubout`
# gives what `p11agent pubkey KEY` gives for RSA, EC and Ed25519 keys named by
# label, config name, id:HEX and pkcs11: URI; storeutl gives the certificate
# the token holds for a key; an ambiguous KEY names the keys it matches; no
# such key, a private key export, and no agent are clear errors (the last one
# promptly, naming the socket and where it comes from); the `socket` setting
# of openssl.cnf is used and P11AGENT_SOCK wins over it; key files decode to
# the agent key (openssl pkey, and Python's ssl through
# PEM_read_bio_PrivateKey), and without the provider OpenSSL refuses them;
# default-provider keys never reach the agent while the provider is loaded;
# `make install DESTDIR=...` puts p11agent.so in the configured modulesdir.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/provider-lib.sh"

require_provider "$OPENSSL" python3 make
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_ED25519" "$KEY_DUP1" "$KEY_DUP2"
AUDIT=$T/audit.log
cat >"$T/agent.conf" <<EOF
audit-file = $AUDIT

[key web-rsa]
uri = pkcs11:object=rsa2048;type=private

[key web-ec]
uri = pkcs11:object=ec256;type=private

[key web-ed]
uri = pkcs11:object=ed25519;type=private
EOF
start_agent --config "$T/agent.conf" || finish
provider_conf "$PCONF"

# dossl ARGS...: openssl with the default provider only.
dossl() {
	env -u OPENSSL_CONF timeout -k 2 30 "$OPENSSL" "$@"
}

# check_out NAME ERE: the last command's stdout matches ERE.
check_out() {
	if grep -Eq -- "$2" "$OUT"; then
		pass "$1"
	else
		fail "$1" "stdout does not match /$2/: $(show "$OUT") stderr: $(show "$ERR")"
	fi
}

# check_no_key NAME: the last command printed no private key.
check_no_key() {
	if grep -q 'PRIVATE KEY' "$OUT"; then
		fail "$1" "a private key on stdout"
	else
		pass "$1"
	fi
}

# The public keys, as the CLI exports them.
for k in rsa2048 ec256 ed25519; do
	check "$k: p11agent pubkey" p11a pubkey "$k" && cp "$OUT" "$T/$k.pub"
done

# A certificate for ec256 in the token (made by the default provider alone,
# for the agent key's public key), so that the store gives it.
make_ca
issue_cert "$T/ec256.pub" ec256 "$T/ec256.crt"
check "ec256: certificate to DER" dossl x509 -in "$T/ec256.crt" -outform DER -out "$T/ec256.der"
stop_agent
check "certificate into the token" timeout 60 "$MKTOKEN" --module "$SOFTHSM_MODULE" \
	--token "$TOKEN" --pin-file "$PIN_FILE" "cert:$T/ec256.der:ec256:03"
start_agent --config "$T/agent.conf" || finish

# --- the provider is there ----------------------------------------------------
check "openssl list -providers" posl list -providers
check_out "list: p11agent is active" "status: active"
if grep -q "^  p11agent$" "$OUT"; then pass "list: p11agent"; else fail "list: p11agent" "$(show "$OUT")"; fi

# --- p11agent:KEY gives the agent's public key --------------------------------
# same_pubkey NAME REF KEY: openssl pkey -in p11agent:REF -pubout equals the CLI's.
same_pubkey() {
	run posl pkey -in "p11agent:$2" -pubout
	if [ "$RC" -eq 0 ] && cmp -s "$OUT" "$T/$3.pub"; then
		pass "$1"
	else
		fail "$1" "exit $RC; stdout: $(show "$OUT") stderr: $(show "$ERR")"
	fi
}
for spec in rsa2048:web-rsa:01 ec256:web-ec:03 ed25519:web-ed:06; do
	k=${spec%%:*} name=${spec#*:} id=${spec##*:}
	name=${name%:*}
	same_pubkey "$k: by label" "$k" "$k"
	same_pubkey "$k: by config name" "$name" "$k"
	same_pubkey "$k: by id:$id" "id:$id" "$k"
	same_pubkey "$k: by pkcs11: URI" "pkcs11:token=$TOKEN;id=%$id;type=private" "$k"
done
same_pubkey "ec256: by a URI naming the object" "pkcs11:object=ec256;type=private" ec256
run posl pkey -pubin -in p11agent:ec256
if [ "$RC" -eq 0 ] && cmp -s "$OUT" "$T/ec256.pub"; then
	pass "ec256: as a public key (-pubin)"
else
	fail "ec256: as a public key (-pubin)" "exit $RC; stderr: $(show "$ERR")"
fi

# --- the store gives the token's certificate ---------------------------------
check "storeutl ec256" posl storeutl p11agent:ec256
check_out "storeutl ec256: a key and a certificate" "Total found: 2"
check "storeutl -certs ec256" posl storeutl -certs p11agent:ec256
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$OUT" >"$T/got.crt"
if dossl x509 -in "$T/got.crt" -outform DER -out "$T/got.der" 2>/dev/null &&
	cmp -s "$T/got.der" "$T/ec256.der"; then
	pass "storeutl -certs: the certificate put in the token"
else
	fail "storeutl -certs: the certificate put in the token" "$(show "$OUT")"
fi
check "x509 -in p11agent:ec256" posl x509 -in p11agent:ec256 -noout -subject
check_out "x509: the certificate's subject" "CN ?= ?ec256"
check "storeutl rsa2048 (no certificate)" posl storeutl p11agent:rsa2048
check_out "storeutl rsa2048: the key alone" "Total found: 1"

# --- errors -------------------------------------------------------------------
check_refused "ambiguous label" 1 "matches 2 keys" posl pkey -in p11agent:dup -pubout
check_err "ambiguous: names the first key" "id=%30;object=dup"
check_err "ambiguous: names the second key" "id=%31;object=dup"
check_refused "no such key" 1 "load the key 'nosuchkey'.*no key matches 'nosuchkey'" \
	posl pkey -in p11agent:nosuchkey -pubout
check_refused "empty KEY" 1 "p11agent: names no key" posl pkey -in p11agent: -pubout
check_refused "private key export" 1 "private key .* stays in the token" \
	posl pkey -in p11agent:ec256
check_no_key "private key export: no key printed"
check_refused "private key export (rsa, PEM_write PKCS#8 traditional)" 1 "stays in the token" \
	posl pkey -in p11agent:rsa2048 -traditional
check_no_key "private key export (rsa): no key printed"

# --- which agent ----------------------------------------------------------------
# No agent at the socket: a clear error, promptly.
NONE=$T/no-agent.sock
start=$(date +%s%N)
PROVIDER_SOCK=$NONE run posl pkey -in p11agent:ec256 -pubout
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$RC" -ne 0 ] && [ ! -s "$OUT" ]; then pass "no agent: refused (exit $RC)"; else fail "no agent: refused" "exit $RC"; fi
check_err "no agent: names the socket and P11AGENT_SOCK" \
	"cannot reach the agent at $NONE \\(from P11AGENT_SOCK\\): no such file"
if grep -q -- '-S' "$ERR"; then fail "no agent: no CLI option in the advice" "$(show "$ERR")"; else pass "no agent: no CLI option in the advice"; fi
if [ "$ms" -lt 5000 ]; then pass "no agent: within 5 s ($ms ms)"; else fail "no agent: promptly" "$ms ms"; fi

# A socket left by an agent that stopped.
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/dead.sock"
PROVIDER_SOCK=$T/dead.sock run posl pkey -in p11agent:ec256 -pubout
if [ "$RC" -ne 0 ]; then pass "stopped agent: refused"; else fail "stopped agent: refused" "exit 0"; fi
check_err "stopped agent: says so" "$T/dead.sock .*connection refused"

# The socket setting of openssl.cnf, without P11AGENT_SOCK.
provider_conf "$PCONF" "$SOCK"
PROVIDER_SOCK='' same_pubkey "openssl.cnf socket: used" ec256 ec256
# P11AGENT_SOCK wins over it: the agent is reached through P11AGENT_SOCK...
provider_conf "$PCONF" "$NONE"
same_pubkey "P11AGENT_SOCK wins over a wrong socket setting" ec256 ec256
# ...and a wrong P11AGENT_SOCK is used, not the setting.
provider_conf "$PCONF" "$SOCK"
PROVIDER_SOCK=$NONE run posl pkey -in p11agent:ec256 -pubout
if [ "$RC" -ne 0 ]; then pass "P11AGENT_SOCK wins over a right socket setting"; else fail "P11AGENT_SOCK wins over a right socket setting" "exit 0"; fi
check_err "P11AGENT_SOCK wins: names it" "agent at $NONE \\(from P11AGENT_SOCK\\)"
provider_conf "$PCONF" "$NONE"
PROVIDER_SOCK='' run posl pkey -in p11agent:ec256 -pubout
if [ "$RC" -ne 0 ]; then pass "a wrong socket setting: refused"; else fail "a wrong socket setting: refused" "exit 0"; fi
check_err "a wrong socket setting: names it" \
	"agent at $NONE \\(from the 'socket' setting of the provider's section in openssl.cnf\\)"
provider_conf "$PCONF"

# --- key files ----------------------------------------------------------------
for k in rsa2048 ec256 ed25519; do
	check "$k: p11agent keyfile" p11a keyfile "$k" -o "$T/$k.keyfile"
	run posl pkey -in "$T/$k.keyfile" -pubout
	if [ "$RC" -eq 0 ] && cmp -s "$OUT" "$T/$k.pub"; then
		pass "$k: the key file decodes to the agent key"
	else
		fail "$k: the key file decodes to the agent key" "exit $RC; stderr: $(show "$ERR")"
	fi
	run dossl pkey -in "$T/$k.keyfile" -pubout
	if [ "$RC" -ne 0 ] && [ ! -s "$OUT" ]; then
		pass "$k: without the provider the key file is refused"
	else
		fail "$k: without the provider the key file is refused" "exit $RC"
	fi
done
# PEM_read_bio_PrivateKey (SSL_CTX_use_PrivateKey_file): Python's ssl, with the
# token's certificate for ec256 (the key must match it).
cat >"$T/chain.py" <<'EOF'
import ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
try:
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
except ssl.SSLError as e:
    print("refused:", e)
    sys.exit(1)
print("loaded")
EOF
check "python ssl: key file with its certificate" ppython "$T/chain.py" "$T/ec256.crt" "$T/ec256.keyfile"
check_out "python ssl: loaded" "^loaded$"
check "another EC key: p11agent keyfile" p11a keyfile id:30 -o "$T/other.keyfile"
check_rc "python ssl: another key's file does not match the certificate" 1 \
	ppython "$T/chain.py" "$T/ec256.crt" "$T/other.keyfile"
check_out "python ssl: key values mismatch" "refused:.*(KEY_VALUES_MISMATCH|key values mismatch)"

# --- default-provider keys never reach the agent ------------------------------
connections() {
	grep -c 'connection from' "$T/agent.log"
}
records() {
	wc -l <"$AUDIT"
}
before_conn=$(connections)
before_rec=$(records)
printf 'signed by a key in a file\n' >"$T/msg"
check "default key: genpkey" posl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$T/file.key"
check "default key: public key" posl pkey -in "$T/file.key" -pubout -out "$T/file.pub"
check "default key: dgst -sign" posl dgst -sha256 -sign "$T/file.key" -out "$T/file.sig" "$T/msg"
check "default key: verified" dossl dgst -sha256 -verify "$T/file.pub" -signature "$T/file.sig" \
	"$T/msg"
check "default key: pkeyutl -sign" posl pkeyutl -sign -inkey "$T/file.key" -rawin \
	-digest sha256 -in "$T/msg" -out "$T/file.sig2"
check "default rsa key: genpkey" posl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out "$T/file-rsa.key"
check "default rsa key: req -x509" posl req -x509 -key "$T/file-rsa.key" -subj /CN=file \
	-days 1 -out "$T/file-rsa.crt"
if [ "$(connections)" = "$before_conn" ] && [ "$(records)" = "$before_rec" ]; then
	pass "default-provider keys: no request reached the agent"
else
	fail "default-provider keys: no request reached the agent" \
		"connections $before_conn -> $(connections), audit records $before_rec -> $(records)"
fi
agent_alive "the agent serves on"

# --- make install puts the module in the modulesdir ---------------------------
# As make expands it: distcheck configures it as '${libdir}/ossl-modules'.
MODULESDIR=$(printf 'include Makefile\nprint-modulesdir:\n\t@echo $(openssl_modulesdir)\n' |
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$top_builddir" \
		-f - print-modulesdir 2>/dev/null)
DEST=$T/dest
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL timeout 300 make -C "$top_builddir" \
	install-libLTLIBRARIES install-openssl_modulesLTLIBRARIES DESTDIR="$DEST" \
	>"$T/install.log" 2>&1; then
	pass "make install DESTDIR"
else
	fail "make install DESTDIR" "$(tail -n 5 "$T/install.log" | tr '\n' ' ')"
fi
if [ -n "$MODULESDIR" ] && [ -f "$DEST$MODULESDIR/p11agent.so" ]; then
	pass "installed in the modulesdir ($MODULESDIR)"
else
	fail "installed in the modulesdir" "no $DEST$MODULESDIR/p11agent.so"
fi
LIBDIR=$(dirname "$(find "$DEST" -name 'libp11agent.so.*' | head -n 1)")
run with_provider env -u OPENSSL_CONF LD_LIBRARY_PATH="$LIBDIR" timeout 30 "$OPENSSL" list \
	-providers -provider-path "$DEST$MODULESDIR" -provider p11agent
if [ "$RC" -eq 0 ] && grep -q "status: active" "$OUT"; then
	pass "the installed module loads"
else
	fail "the installed module loads" "exit $RC; $(show "$ERR")"
fi
finish

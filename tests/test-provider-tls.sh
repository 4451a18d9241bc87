#!/bin/sh
# test-provider-tls.sh: TLS with agent keys through the provider. A loopback
# `openssl s_server -www` (127.0.0.1, a port the kernel picks, one connection)
# holds an agent server key; `openssl s_client` verifies it and, for mutual
# authentication, presents a certificate whose key is an agent key too. TLS
# 1.3 and 1.2, RSA (PSS; PKCS#1 v1.5 in 1.2 when asked), ECDSA and Ed25519.
# Each case checks both exit codes, the client's "Verify return code: 0 (ok)",
# the protocol and the peer's signature type, and for mutual authentication
# the server's verification of the client certificate (its verify callback
# and the client certificate the server's page shows). Last, s_server takes
# its certificate from the token too (-cert p11agent:KEY). Then a chain the
# agent made alone (a CA key in the token issuing for ec256's request, --eku
# serverAuth) verifies, and the same certificate with --eku clientAuth is
# refused as a server's.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/provider-lib.sh"

require_provider "$OPENSSL"
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_ED25519" rsa:2048:cli-rsa:61 ec:P-256:cli-ec:63 \
	ed25519:-:cli-ed:66 ec:P-256:agent-ca:67
start_agent || finish
provider_conf "$PCONF"

# Certificates from a CA of the test's own for the agent keys: servers
# (SAN 127.0.0.1) rsa2048, ec256 and ed25519; clients cli-*.
make_ca
for k in rsa2048 ec256 ed25519; do
	check "$k: pubkey" p11a pubkey "$k" && cp "$OUT" "$T/$k.pub"
	issue_cert "$T/$k.pub" "server-$k" "$T/$k.pem" server
done
for k in cli-rsa cli-ec cli-ed; do
	check "$k: pubkey" p11a pubkey "$k" && cp "$OUT" "$T/$k.pub"
	issue_cert "$T/$k.pub" "client-$k" "$T/$k.pem" client
done

# A CA whose key is in the token too: its self-signed certificate, made by
# the agent (cert issue --self --ca).
check "agent-ca: a self-signed CA certificate" p11a cert issue agent-ca --self --ca \
	--subject "CN=Agent CA" --days 30 -o "$T/agent-ca.pem"
env -u OPENSSL_CONF "$OPENSSL" x509 -in "$T/agent-ca.pem" -outform DER -out "$T/agent-ca.der"

# The token keeps ec256's certificate too (for -cert p11agent:ec256), and
# agent-ca's (for cert issue agent-ca).
env -u OPENSSL_CONF "$OPENSSL" x509 -in "$T/ec256.pem" -outform DER -out "$T/ec256.der"
stop_agent
check "certificates into the token" timeout 60 "$MKTOKEN" --module "$SOFTHSM_MODULE" \
	--token "$TOKEN" --pin-file "$PIN_FILE" "cert:$T/ec256.der:ec256:03" \
	"cert:$T/agent-ca.der:agent-ca:67"
start_agent || finish

# has NAME FILE ERE: a line of FILE matches ERE.
has() {
	if grep -Eq -- "$3" "$2"; then
		pass "$1"
	else
		fail "$1" "$(basename "$2") does not match /$3/: $(show "$2")"
	fi
}

# hasnt NAME FILE ERE: no line of FILE matches ERE.
hasnt() {
	if grep -Eq -- "$3" "$2"; then
		fail "$1" "$(basename "$2") matches /$3/: $(grep -E -m1 -- "$3" "$2")"
	else
		pass "$1"
	fi
}

# server NAME CERT KEY ARGS...: starts s_server -www for one connection; sets
# SPID and PORT (fails NAME and returns 1 when it does not listen in 10 s).
server() {
	local name=$1 cert=$2 key=$3 line f=$T/${1// /_}
	shift 3
	provider_env
	start_bg "$f.server" timeout -k 2 60 "${PENV[@]}" "$OPENSSL" s_server \
		-accept 127.0.0.1:0 -naccept 1 -www -cert "$cert" -key "$key" -CAfile "$CA_PEM" "$@"
	SPID=$BG_PID
	line=$(wait_line "$f.server" '^ACCEPT 127\.0\.0\.1:[0-9]+$' "$SPID" 100)
	PORT=${line##*:}
	if [ -z "$line" ]; then
		fail "$name: s_server listens" "$(show "$f.server")"
		stop_bg "$SPID"
		return 1
	fi
	return 0
}

# client NAME ARGS...: s_client to the server on PORT, verifying it
# (127.0.0.1 in its certificate, the test CA), sends a GET, reads the page;
# its output in $T/NAME.client (spaces in NAME as _), exit code in CRC.
client() {
	local name=$1 f=$T/${1// /_}
	shift
	printf 'GET / HTTP/1.0\r\n\r\n' | posl s_client -connect "127.0.0.1:$PORT" \
		-CAfile "$CA_PEM" -verify_return_error -verify_ip 127.0.0.1 -ign_eof "$@" \
		>"$f.client" 2>&1
	CRC=$?
}

# tls NAME PROTO SERVER_KEY SIGTYPE [CLIENT_KEY] [-- CLIENT_ARGS...]: a
# handshake in PROTO (tls1_3 or tls1_2) with the agent server key (its
# certificate $T/KEY.pem); the server signs with SIGTYPE (s_client's "Peer
# signature type"). With CLIENT_KEY, mutual authentication: the server
# requires a client certificate and checks it.
tls() {
	local name=$1 proto=$2 skey=$3 sigtype=$4 ckey='' version f=$T/${1// /_}
	shift 4
	if [ $# -gt 0 ] && [ "$1" != -- ]; then
		ckey=$1
		shift
	fi
	[ "${1:-}" != -- ] || shift
	version=TLSv1.3
	[ "$proto" = tls1_3 ] || version=TLSv1.2
	if [ -n "$ckey" ]; then
		server "$name" "$T/$skey.pem" "p11agent:$skey" "-$proto" -Verify 1 \
			-verify_return_error || return 1
		client "$name" "-$proto" -cert "$T/$ckey.pem" -key "p11agent:$ckey" "$@"
	else
		server "$name" "$T/$skey.pem" "p11agent:$skey" "-$proto" || return 1
		client "$name" "-$proto" "$@"
	fi
	if [ "$CRC" -eq 0 ]; then
		pass "$name: s_client exits 0"
	else
		fail "$name: s_client exits 0" "exit $CRC: $(grep -Ei -m3 'error|fail|alert' \
			"$f.client" | tr '\n' ' ')"
	fi
	if wait_bg "$SPID" 100 && [ "$BG_RC" -eq 0 ]; then
		pass "$name: s_server exits 0 after its one connection"
	else
		fail "$name: s_server exits 0 after its one connection" \
			"exit ${BG_RC:-(killed after 10 s)}: $(grep -Ei -m3 'error|fail|alert' \
				"$f.server" | tr '\n' ' ')"
	fi
	has "$name: the client verified the server" "$f.client" '^ *Verify return code: 0 \(ok\)$'
	has "$name: $version" "$f.client" "^New, $version, Cipher is "
	has "$name: the server signed with $sigtype" "$f.client" \
		"^Peer signature type: $sigtype\$"
	has "$name: the page came back" "$f.client" 'HTTP/1\.0 200 ok'
	if [ -n "$ckey" ]; then
		# The server's verify callback accepted the client's certificate,
		# and its page shows the certificate it got.
		if grep -A1 -E "^depth=0 CN = client-$ckey\$" "$f.server" |
			grep -q '^verify return:1$'; then
			pass "$name: the server verified client-$ckey"
		else
			fail "$name: the server verified client-$ckey" "$(show "$f.server")"
		fi
		has "$name: the server got the client certificate" "$f.client" \
			"Subject: CN *= *client-$ckey\$"
	else
		hasnt "$name: no client certificate" "$f.client" '^Client certificate$'
	fi
}

for proto in tls1_3 tls1_2; do
	tls "$proto rsa" "$proto" rsa2048 RSA-PSS
	tls "$proto rsa mutual" "$proto" rsa2048 RSA-PSS cli-rsa
	tls "$proto ecdsa" "$proto" ec256 ECDSA
	tls "$proto ecdsa mutual" "$proto" ec256 ECDSA cli-ec
	tls "$proto ed25519" "$proto" ed25519 ed25519
	tls "$proto ed25519 mutual" "$proto" ed25519 ed25519 cli-ed
done
# PKCS#1 v1.5 signatures, which TLS 1.2 still allows, when both sides ask.
tls "tls1_2 rsa pkcs1 mutual" tls1_2 rsa2048 RSA cli-rsa -- -sigalgs RSA+SHA256 \
	-client_sigalgs RSA+SHA256
# Keys of two kinds: an ECDSA server, an RSA client.
tls "tls1_3 ecdsa server, rsa client" tls1_3 ec256 ECDSA cli-rsa

# A server requiring a client certificate refuses a client without one.
if server "no client cert" "$T/ec256.pem" p11agent:ec256 -tls1_3 -Verify 1 -verify_return_error
then
	client "no client cert" -tls1_3
	wait_bg "$SPID" 100
	hasnt "no client cert: no page" "$T/no_client_cert.client" 'HTTP/1\.0 200 ok'
	has "no client cert: the server says why" "$T/no_client_cert.server" \
		'peer did not return a certificate|certificate required'
fi

# The server's certificate from the token, beside its key: -cert p11agent:ec256.
if server "token cert" p11agent:ec256 p11agent:ec256 -tls1_3; then
	client "token cert" -tls1_3
	if [ "$CRC" -eq 0 ]; then
		pass "token cert: s_client exits 0"
	else
		fail "token cert: s_client exits 0" "exit $CRC: $(show "$T/token_cert.client")"
	fi
	wait_bg "$SPID" 100
	has "token cert: verified" "$T/token_cert.client" '^ *Verify return code: 0 \(ok\)$'
	has "token cert: the server's certificate is the token's" "$T/token_cert.client" \
		'^subject=CN *= *server-ec256$'
fi
# A chain the agent made alone: ec256's request (csr), issued by agent-ca in
# the token with --eku serverAuth, serves TLS that s_client verifies against
# agent-ca's certificate; with --eku clientAuth, s_client refuses it as a
# server's.
check "ec256: csr for 127.0.0.1" p11a csr ec256 --subject CN=agent-issued --san IP:127.0.0.1 \
	-o "$T/agent-srv.csr"
check "agent-ca issues it --eku serverAuth" p11a cert issue agent-ca -i "$T/agent-srv.csr" \
	--days 5 --eku serverAuth -o "$T/agent-srv.pem"
check "agent-ca issues it --eku clientAuth" p11a cert issue agent-ca -i "$T/agent-srv.csr" \
	--days 5 --eku clientAuth -o "$T/agent-cli.pem"
if server "agent chain" "$T/agent-srv.pem" p11agent:ec256 -tls1_3; then
	CA_PEM=$T/agent-ca.pem client "agent chain" -tls1_3
	if [ "$CRC" -eq 0 ]; then
		pass "agent chain: s_client exits 0"
	else
		fail "agent chain: s_client exits 0" "exit $CRC: $(show "$T/agent_chain.client")"
	fi
	wait_bg "$SPID" 100
	has "agent chain: verified against the agent's CA" "$T/agent_chain.client" \
		'^ *Verify return code: 0 \(ok\)$'
	has "agent chain: the page came back" "$T/agent_chain.client" 'HTTP/1\.0 200 ok'
fi
if server "clientAuth server" "$T/agent-cli.pem" p11agent:ec256 -tls1_3; then
	CA_PEM=$T/agent-ca.pem client "clientAuth server" -tls1_3
	wait_bg "$SPID" 100
	if [ "$CRC" -ne 0 ]; then
		pass "clientAuth server: s_client refuses it (exit $CRC)"
	else
		fail "clientAuth server: s_client refuses it" "exit 0"
	fi
	has "clientAuth server: because of its purpose" "$T/clientAuth_server.client" \
		'verify error:num=26:unsuitable certificate purpose'
	hasnt "clientAuth server: no page" "$T/clientAuth_server.client" 'HTTP/1\.0 200 ok'
fi
agent_alive "the agent serves on"
stop_agent
finish

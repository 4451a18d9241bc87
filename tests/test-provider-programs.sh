#!/bin/sh
# test-provider-programs.sh: unmodified programs use agent keys through key
# files (`p11agent keyfile`) and an openssl.cnf that loads the provider:
# Python's ssl module serves HTTPS with a key file and requires a client
# certificate; curl does mutual TLS against it with `--key` a key file (in a
# --enable-sanitizers build, where curl cannot run with the ASan preload, a
# small Python client does instead); nginx, started here on 127.0.0.1 with a
# config written here, serves HTTPS with `ssl_certificate_key` a key file and
# is fetched by curl verifying it. Without the provider, a key file is
# refused, never taken for a key.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/provider-lib.sh"

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
HTTPS_PY=$top_srcdir/tests/provider-https.py
require_provider "$OPENSSL" "$PYTHON" curl "$NGINX"
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_ED25519" rsa:2048:cli-rsa:61 ec:P-256:cli-ec:63
start_agent || finish
provider_conf "$PCONF"

# Certificates for the agent keys from the test's CA, and their key files.
make_ca
for k in ec256:server rsa2048:server ed25519:server cli-rsa:client cli-ec:client; do
	name=${k%%:*}
	check "$name: pubkey" p11a pubkey "$name" && cp "$OUT" "$T/$name.pub"
	issue_cert "$T/$name.pub" "${k#*:}-$name" "$T/$name.pem" "${k#*:}"
	check "$name: p11agent keyfile" p11a keyfile "$name" -o "$T/$name.keyfile"
done
grep -q -- '-----BEGIN P11AGENT KEY-----' "$T/ec256.keyfile" &&
	pass "a key file is PEM 'P11AGENT KEY'" ||
	fail "a key file is PEM 'P11AGENT KEY'" "$(show "$T/ec256.keyfile")"

# fetch NAME URL [CERT KEYFILE]: GET URL verifying the server against the
# CA, with a client certificate when given: curl, or in a sanitizer build
# the Python client. The body in $OUT, exit code in RC.
fetch() {
	local name=$1 url=$2
	shift 2
	if [ "$SANITIZED" = 1 ]; then
		run ppython "$HTTPS_PY" get "$url" "$CA_PEM" "$@"
	elif [ $# -eq 2 ]; then
		run pcurl -sS --fail --max-time 20 --cacert "$CA_PEM" --cert "$1" --key "$2" "$url"
	else
		run pcurl -sS --fail --max-time 20 --cacert "$CA_PEM" "$url"
	fi
}

# expect_body NAME TEXT: the last fetch succeeded and its body is TEXT.
expect_body() {
	if [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = "$2" ]; then
		pass "$1"
	else
		fail "$1" "exit $RC, body: $(show "$OUT"), stderr: $(show "$ERR")"
	fi
}

# --- Python's ssl: the server's key is a key file; mutual TLS. ---
pyserver() {
	rm -f "$T/py.port"
	provider_env
	start_bg "$T/py.log" timeout -k 2 90 "${PENV[@]}" "$PYTHON" "$HTTPS_PY" server \
		"$T/ec256.pem" "$T/ec256.keyfile" "$CA_PEM" "$T/py.port" "$1"
	PYPID=$BG_PID
	for _ in $(seq 200); do
		[ -s "$T/py.port" ] && break
		kill -0 "$PYPID" 2>/dev/null || break
		sleep 0.1
	done
	PYPORT=$(cat "$T/py.port" 2>/dev/null)
	if [ -n "$PYPORT" ]; then
		pass "python: ssl server with a key file listens"
		return 0
	fi
	fail "python: ssl server with a key file listens" "$(show "$T/py.log")"
	return 1
}

if pyserver 3; then
	URL=https://127.0.0.1:$PYPORT/
	fetch "mtls rsa" "$URL" "$T/cli-rsa.pem" "$T/cli-rsa.keyfile"
	expect_body "python server, client key file cli-rsa: mutual TLS" "hello client-cli-rsa"
	fetch "mtls ec" "$URL" "$T/cli-ec.pem" "$T/cli-ec.keyfile"
	expect_body "python server, client key file cli-ec: mutual TLS" "hello client-cli-ec"
	# The server requires a client certificate: none, no page.
	fetch "no cert" "$URL"
	if [ "$RC" -ne 0 ]; then
		pass "python server: a client without a certificate is refused (exit $RC)"
	else
		fail "python server: a client without a certificate is refused" "body: $(show "$OUT")"
	fi
	if wait_bg "$PYPID" 300 && [ "$BG_RC" -eq 0 ]; then
		pass "python server: exits 0 after its 3 connections"
	else
		fail "python server: exits 0 after its 3 connections" \
			"exit ${BG_RC:-(killed)}: $(show "$T/py.log")"
	fi
fi

# --- nginx: ssl_certificate_key is a key file. ---
NGX=$T/nginx
mkdir -p "$NGX/tmp"
# nginx_conf PORT: nginx.conf for 127.0.0.1:PORT, serving the rsa2048 key
# file and asking (optionally) for a client certificate.
nginx_conf() {
	cat >"$NGX/nginx.conf" <<EOF
# written by tests/test-provider-programs.sh
user root;
daemon off;
master_process on;
worker_processes 2;
pid $NGX/nginx.pid;
error_log $NGX/error.log info;
env OPENSSL_CONF;
env P11AGENT_SOCK;
events {
	worker_connections 32;
}
http {
	access_log $NGX/access.log;
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	server {
		listen 127.0.0.1:$1 ssl;
		ssl_certificate $T/rsa2048.pem;
		ssl_certificate_key $T/rsa2048.keyfile;
		ssl_client_certificate $CA_PEM;
		ssl_verify_client optional;
		location / {
			default_type text/plain;
			return 200 "nginx: \$ssl_client_verify \$ssl_client_s_dn\n";
		}
	}
}
EOF
}

# free_port: a port on 127.0.0.1 nobody listens on now.
free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

NGINX_PID=
for attempt in 1 2 3; do
	NGINX_PORT=$(free_port)
	nginx_conf "$NGINX_PORT"
	provider_env
	start_bg "$NGX/stderr.log" timeout -k 2 120 "${PENV[@]}" "$NGINX" -p "$NGX" \
		-c "$NGX/nginx.conf" -e "$NGX/error.log"
	NGINX_PID=$BG_PID
	for _ in $(seq 200); do
		port_open "$NGINX_PORT" && break
		kill -0 "$NGINX_PID" 2>/dev/null || break
		sleep 0.1
	done
	port_open "$NGINX_PORT" && break
	stop_bg "$NGINX_PID"
	NGINX_PID=
	grep -q 'Address already in use' "$NGX/error.log" "$NGX/stderr.log" 2>/dev/null || break
done
if [ -n "$NGINX_PID" ]; then
	pass "nginx: started with a key file as ssl_certificate_key"
	URL=https://127.0.0.1:$NGINX_PORT/
	fetch "nginx" "$URL"
	expect_body "nginx: curl fetches a page, the server verified" "nginx: NONE "
	fetch "nginx mtls" "$URL" "$T/cli-ec.pem" "$T/cli-ec.keyfile"
	expect_body "nginx: mutual TLS with a client key file" "nginx: SUCCESS CN=client-cli-ec"
	# Six requests at once: both workers (forked after the key was loaded)
	# sign.
	pids=
	for i in 1 2 3 4 5 6; do
		(
			OUT=$T/nginx-$i.out ERR=$T/nginx-$i.err
			fetch "nginx $i" "$URL"
			echo "$RC" >"$T/nginx-$i.rc"
		) &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086 # pids is a list
	wait $pids
	ok=0
	for i in 1 2 3 4 5 6; do
		[ "$(cat "$T/nginx-$i.rc")" = 0 ] && [ "$(cat "$T/nginx-$i.out")" = "nginx: NONE " ] &&
			ok=$((ok + 1))
	done
	[ "$ok" = 6 ] && pass "nginx: 6 fetches at once" ||
		fail "nginx: 6 fetches at once" "$ok of 6 worked: $(show "$T/nginx-1.err")"
	stop_bg "$NGINX_PID"
	if grep -E '\[(emerg|alert|crit)\]' "$NGX/error.log" >"$T/nginx-errors"; then
		fail "nginx: no emerg, alert or crit in its log" "$(show "$T/nginx-errors")"
	else
		pass "nginx: no emerg, alert or crit in its log"
	fi
else
	fail "nginx: started with a key file as ssl_certificate_key" \
		"$(show "$NGX/error.log") $(show "$NGX/stderr.log")"
fi

# --- Without the provider, a key file is no key. ---
run env -u OPENSSL_CONF timeout -k 2 30 "$OPENSSL" pkey -in "$T/ec256.keyfile" -noout
if [ "$RC" -ne 0 ]; then
	pass "openssl pkey without the provider refuses a key file (exit $RC)"
else
	fail "openssl pkey without the provider" "took the key file as a key"
fi
run env -u OPENSSL_CONF timeout -k 2 30 "$PYTHON" -c \
	'import ssl, sys; ssl.create_default_context().load_cert_chain(sys.argv[1], sys.argv[2])' \
	"$T/ec256.pem" "$T/ec256.keyfile"
if [ "$RC" -ne 0 ]; then
	pass "python without the provider refuses a key file (exit $RC)"
else
	fail "python without the provider" "load_cert_chain took the key file"
fi
agent_alive "the agent serves on"
stop_agent
finish

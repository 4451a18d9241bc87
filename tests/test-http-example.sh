#!/bin/sh
# test-http-example.sh: contrib/http-example end to end. Two agents on one
# test token with an HMAC key, the client's on $SOCK and the server's on a
# socket of its own: the example's signed request gets 200 and the server
# says which signature it verified, the request with its body changed 401
# "content digest mismatch"; with one agent for both, too. Then
# p11agent-http-server alone, on a Unix socket in the test's folder, with
# raw requests: a signed POST and a signed GET are accepted; no signature, a
# signature older than 300 s, one that does not cover the body, a message
# that is not HTTP and one too large are refused with their reason; it stops
# by itself after --count N, on SIGTERM, and refuses to start without its
# agent. Every process it starts is stopped, each wait bounded.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 curl timeout
SERVER=$top_builddir/contrib/http-example/p11agent-http-server
[ -x "$SERVER" ] || die "$SERVER is not built"
EXAMPLE=$top_srcdir/contrib/http-example/run
make_token "$KEY_HMAC"
start_agent || finish

# The server's agent: the same token, its own socket (and folder).
SRV_SOCK=$T/srv/agent.sock
mkdir -m 0700 "$T/srv"
"$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN" \
	--pin-source "file:$PIN_FILE" --socket "$SRV_SOCK" </dev/null >>"$T/srv/agent.log" 2>&1 &
SRV_AGENT=$!
AGENT_PIDS="$AGENT_PIDS $SRV_AGENT"
wait_socket "$SRV_SOCK" "$SRV_AGENT" || die "the server's agent did not start: $(show "$T/srv/agent.log")"

# --- the example ---------------------------------------------------------------------
EXAMPLE_TMP=$T/tmp
mkdir -p "$EXAMPLE_TMP"
# run_example ARGS...: runs the example (bounded in time), its folder in $EXAMPLE_TMP.
run_example() {
	run env P11AGENT="$P11AGENT" HTTP_SERVER="$SERVER" TMPDIR="$EXAMPLE_TMP" \
		timeout -k 2 120 bash "$EXAMPLE" "$@"
}
# says NAME TEXT: the last command's stdout has the line TEXT (a fixed string).
says() {
	if grep -qxF -- "$2" "$OUT"; then
		pass "$1"
	else
		fail "$1" "no line '$2' in: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
}
for mode in "two agents" "one agent"; do
	if [ "$mode" = "two agents" ]; then
		run_example -S "$SOCK" --server-sock "$SRV_SOCK" hmac
	else
		P11AGENT_SOCK=$SOCK P11AGENT_KEY=hmac run_example
	fi
	if [ "$RC" -eq 0 ] && grep -q '^OK: the signed request was accepted' "$OUT"; then
		pass "example, $mode: exit 0"
	else
		fail "example, $mode: exit 0" "exit $RC; stderr: $(show "$ERR")"
	fi
	says "example, $mode: the signed request gets 200, the signature named" \
		"Server: 200 Verified OK: signature 'sig1' (hmac-sha256, keyid hmac) is valid"
	says "example, $mode: the changed body gets 401, content digest mismatch" \
		"Server: 401 Verification failure: content digest mismatch: the body's sha-256 is not the one Content-Digest gives (the body changed)"
	says "example, $mode: the server stopped after the two" \
		"p11agent-http-server: stopping after 2 request(s)"
done
cp "$OUT" "$T/example.out"
for what in 'p11agent http-sign hmac --digest sha-256 --keyid hmac' \
	"--components '@method,@authority,@path,@query,content-type,content-digest'" \
	'Signature-Input: sig1=("@method" "@authority" "@path" "@query" "content-type" "content-digest");created=' \
	'Signature: sig1=:' 'Content-Digest: sha-256=:'; do
	if grep -qF -- "$what" "$T/example.out"; then
		pass "example shows '$what'"
	else
		fail "example shows '$what'" "$(show "$T/example.out")"
	fi
done
run_example --help
if [ "$RC" -eq 0 ] && grep -q '^Usage: contrib/http-example/run' "$OUT"; then
	pass "example --help: usage, exit 0"
else
	fail "example --help: usage, exit 0" "exit $RC; stdout: $(show "$OUT")"
fi
for args in "--bogus" "hmac extra" "--server-sock"; do
	# shellcheck disable=SC2086 # each case is a list of words
	run_example $args
	if [ "$RC" -eq 2 ] && grep -q '^Usage: contrib/http-example/run' "$ERR" && [ ! -s "$OUT" ]; then
		pass "example '$args': usage error, exit 2"
	else
		fail "example '$args': usage error, exit 2" "exit $RC; stderr: $(show "$ERR")"
	fi
done
# No agent for the server: the example fails, saying so; nothing is left behind.
run_example -S "$SOCK" --server-sock "$T/none.sock" hmac
if [ "$RC" -ne 0 ] && grep -q 'cannot reach the agent' "$ERR"; then
	pass "example without the server's agent fails, saying why (exit $RC)"
else
	fail "example without the server's agent fails, saying why" "exit $RC; stderr: $(show "$ERR")"
fi
if [ -z "$(find "$EXAMPLE_TMP" -mindepth 1 -print -quit)" ]; then
	pass "example leaves no files behind"
else
	fail "example leaves no files behind" "$(find "$EXAMPLE_TMP" -mindepth 1 | head -n 5 | tr '\n' ' ')"
fi

# --- the server alone, raw requests on a Unix socket --------------------------------
HTTP_SOCK=$T/http.sock
SERVER_PID=
# start_server ARGS...: starts the server on its agent; waits (10 s at most)
# until it says it listens. Sets SERVER_PID.
start_server() {
	: >"$T/server.out"
	"$SERVER" -S "$SRV_SOCK" "$@" hmac >"$T/server.out" 2>"$T/server.log" &
	SERVER_PID=$!
	for _ in $(seq 100); do
		grep -q '^listening on ' "$T/server.out" && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "start the server" "$(show "$T/server.log")"
	return 1
}
# stop_server NAME [SIGNAL]: sends SIGNAL (none: waits for the server to end
# by itself); passes NAME when it exits 0 within 10 s, else kills it.
stop_server() {
	local rc
	[ -z "${2:-}" ] || kill "-$2" "$SERVER_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		fail "$1" "still running after 10 s; log: $(show "$T/server.log")"
	else
		wait "$SERVER_PID" 2>/dev/null
		rc=$?
		if [ "$rc" -eq 0 ]; then pass "$1"; else fail "$1" "exit $rc"; fi
	fi
	SERVER_PID=
}
trap '[ -z "$SERVER_PID" ] || kill -KILL "$SERVER_PID" 2>/dev/null; _cleanup' EXIT

# send NAME FILE STATUS ERE: sends FILE's bytes to the server as they are
# (with TRICKLE=trickle, a byte at a time); passes when the answer's status
# is STATUS and its text matches ERE.
send() {
	run timeout -k 2 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(sys.argv[1])
data = open(sys.argv[2], "rb").read()
if sys.argv[3] == "trickle":
    import time
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        time.sleep(0.001)
else:
    s.sendall(data)
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())' "$HTTP_SOCK" "$2" "${TRICKLE:-}"
	if head -n 1 "$OUT" | grep -q "^HTTP/1.1 $3 " && grep -Eq -- "$4" "$OUT"; then
		pass "$1: $3"
	else
		fail "$1: $3, /$4/" "exit $RC; answer: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
}
# request FILE METHOD [BODY]: an HTTP/1.1 request to api.example, in FILE.
request() {
	if [ $# -ge 3 ]; then
		printf '%s /orders?id=7 HTTP/1.1\r\nHost: api.example\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' \
			"$2" "${#3}" "$3" >"$1"
	else
		printf '%s /orders?id=7 HTTP/1.1\r\nHost: api.example\r\n\r\n' "$2" >"$1"
	fi
}
NOW=$(date +%s)
BODY='{"item": "HSM", "quantity": 1}'

start_server --unix "$HTTP_SOCK" --count 11 || finish
request "$T/post" POST "$BODY"
p11a http-sign hmac --digest sha-256 --keyid client-1 -i "$T/post" -o "$T/post.signed"
send "a signed POST" "$T/post.signed" 200 "^Verified OK: signature 'sig1' \\(hmac-sha256, keyid client-1\\) is valid$"
TRICKLE=trickle send "a signed POST sent a byte at a time" "$T/post.signed" 200 "^Verified OK: signature 'sig1'"
request "$T/get" GET
p11a http-sign hmac --components '@method,@authority,@path' -i "$T/get" -o "$T/get.signed"
send "a signed GET, no body" "$T/get.signed" 200 "^Verified OK: signature 'sig1'"
send "no signature" "$T/post" 401 "no Signature-Input field"
sed 's/"quantity": 1/"quantity": 9/' "$T/post.signed" >"$T/post.tampered"
send "the body changed" "$T/post.tampered" 401 "content digest mismatch"
p11a http-sign hmac --digest sha-256 --created $((NOW - 600)) -i "$T/post" -o "$T/post.old"
send "a replay 600 s later" "$T/post.old" 401 "created [0-9]+ is older than the maximum age of 300 s"
p11a http-sign hmac --components '@method,@authority,@path' -i "$T/post" -o "$T/post.nodigest"
send "a POST whose body is not signed" "$T/post.nodigest" 401 \
	'component "content-digest" is not covered, and it is required'
printf 'hello\r\n\r\n' >"$T/junk"
send "not an HTTP message" "$T/junk" 400 "^Bad request: .*start line"
printf 'POST / HTTP/1.1\r\nHost: api.example\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\nhi' >"$T/twice"
send "Content-Length twice" "$T/twice" 400 "^Bad request: the message has Content-Length 2 times"
{ printf 'GET / HTTP/1.1\r\n'; for _ in $(seq 1025); do printf 'X: y\r\n'; done; printf '\r\n'; } >"$T/lines"
send "1025 field lines" "$T/lines" 413 "more than 1024 field lines"
printf 'POST / HTTP/1.1\r\nHost: api.example\r\nContent-Length: 2000000\r\n\r\n' >"$T/big"
send "a body over 1 MiB" "$T/big" 413 "larger than 1 MiB"
stop_server "the server stops by itself after --count 11"
if grep -q 'stopping after 11 request(s)' "$T/server.log" && [ ! -e "$HTTP_SOCK" ]; then
	pass "the server said so and removed its socket"
else
	fail "the server said so and removed its socket" "$(show "$T/server.log")"
fi
if [ "$(grep -c -- ' -> ' "$T/server.log")" -eq 11 ]; then
	pass "the server logged one line a request"
else
	fail "the server logged one line a request" "$(show "$T/server.log")"
fi

# On 127.0.0.1, a port the kernel picks; SIGTERM and SIGINT stop it.
for sig in TERM INT; do
	start_server --port 0 || continue
	if grep -Eq '^listening on 127\.0\.0\.1:[0-9]+$' "$T/server.out"; then
		pass "the server says its port"
	else
		fail "the server says its port" "$(show "$T/server.out")"
	fi
	stop_server "the server stops on SIG$sig, exit 0" "$sig"
done
# Without its agent it does not start.
run timeout -k 2 30 "$SERVER" -S "$T/none.sock" --unix "$HTTP_SOCK" hmac
if [ "$RC" -eq 1 ] && grep -q "cannot reach the agent at $T/none.sock" "$ERR" && [ ! -e "$HTTP_SOCK" ]; then
	pass "the server without its agent: exit 1, says why"
else
	fail "the server without its agent: exit 1, says why" "exit $RC; stderr: $(show "$ERR")"
fi
check_rc "the server, an unknown option: exit 2" 2 timeout -k 2 30 "$SERVER" --bogus

# The HMAC secret appears nowhere in what the example and the server said.
if grep -rqiF "$HMAC_HEX" "$T/example.out" "$T/server.log" "$T/srv/agent.log" "$T/agent.log"; then
	fail "no secret in the output" "the HMAC key's hex is there"
else
	pass "no secret in the output"
fi

kill -TERM "$SRV_AGENT" 2>/dev/null
for _ in $(seq 100); do
	kill -0 "$SRV_AGENT" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$SRV_AGENT" 2>/dev/null; then
	fail "the server's agent stops" "still running 10 s after SIGTERM"
else
	pass "the server's agent stops"
fi
stop_agent
finish

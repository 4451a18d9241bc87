#!/bin/sh
# test-quickstart.sh: contrib/quickstart's arguments. A mistyped one (stpo)
# is named, with the valid ones, exit 2, before anything is installed, built
# or started; --help prints the usage, exit 0. Then the quickstart itself,
# with this build and its demo in the test's folder, and README's tour after
# it: it says the packages were already there, prints the socket's absolute
# path, makes a certificate with openssl and an agent key, README's TLS
# example (s_server with an agent key, s_client) works as written and leaves
# its signature in the audit trail, the HTTP example's signed request is
# accepted by its server through a second agent that is then stopped, it
# keeps an audit trail that audit-verify finds intact (online, then offline
# after 'stop'), and 'clean' removes the demo. (Skipped when a
# package the quickstart needs is missing: it would install it.)
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# shellcheck source=tests/provider-lib.sh
. "$top_srcdir/tests/provider-lib.sh"

QS=$top_srcdir/contrib/quickstart
# In a --enable-sanitizers build, programs not built with ASan (openssl, in
# the quickstart and README's example) load the ASan-built provider only with
# the sanitizer runtimes preloaded (tests/provider-lib.sh); empty otherwise.
SAN_ENV=()
if [ -n "$SAN_PRELOAD" ]; then
	SAN_ENV=(env LD_PRELOAD="$SAN_PRELOAD" ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0")
fi

# Its demo folder, were it to make one: it must not.
P11AGENT_DEMO_DIR="$T/demo"
P11AGENT_BUILD_DIR="$T/build"
export P11AGENT_DEMO_DIR P11AGENT_BUILD_DIR
for arg in stpo --bogus "stop now"; do
	# shellcheck disable=SC2086 # "stop now" is two words
	run timeout -k 2 30 bash "$QS" $arg
	if [ "$RC" -eq 2 ]; then
		pass "quickstart '$arg': exit 2"
	else
		fail "quickstart '$arg': exit 2" "exit $RC; stderr: $(show "$ERR")"
	fi
	bad=${arg##* }
	[ "$arg" = "stop now" ] && bad=now
	check_err "quickstart '$arg': names it" "'$bad'"
	check_err "quickstart '$arg': lists the valid ones" "run.*stop.*clean.*--help"
	if [ -e "$T/demo" ] || [ -e "$T/build" ] || [ -s "$OUT" ]; then
		fail "quickstart '$arg': does nothing" "stdout: $(show "$OUT")"
	else
		pass "quickstart '$arg': does nothing"
	fi
done
run timeout -k 2 30 bash "$QS" --help
if [ "$RC" -eq 0 ] && grep -q 'contrib/quickstart clean' "$OUT"; then
	pass "quickstart --help: usage, exit 0"
else
	fail "quickstart --help: usage, exit 0" "exit $RC; stdout: $(show "$OUT")"
fi

# --- the quickstart and README's tour -------------------------------------------
# shellcheck source=contrib/deps.sh
. "$top_srcdir/contrib/deps.sh"
# shellcheck disable=SC2086
if [ -n "$(missing_packages $BUILD_PACKAGES)" ]; then
	skip "the quickstart" "missing Debian packages: $(missing_packages $BUILD_PACKAGES | tr '\n' ' ')"
	finish
fi
DEMO=$T/demo
P11AGENT_DEMO_DIR="$DEMO"
P11AGENT_BUILD_DIR="$top_builddir"
# The demo agent is stopped on every exit, whatever happens here.
trap 'timeout 30 bash "$QS" stop >/dev/null 2>&1; _cleanup' EXIT
run "${SAN_ENV[@]}" env -u P11AGENT_SOCK timeout -k 2 600 bash "$QS"
cp "$OUT" "$T/qs.out"
if [ "$RC" -eq 0 ]; then
	pass "quickstart: exit 0"
else
	fail "quickstart: exit 0" "exit $RC; stderr: $(show "$ERR"); stdout: $(tail -n 5 "$T/qs.out" | tr '\n' ' ')"
	finish
fi
# qs_says NAME ERE: the quickstart's output matches ERE.
qs_says() {
	if grep -Eq -- "$2" "$T/qs.out"; then
		pass "quickstart: $1"
	else
		fail "quickstart: $1" "no line matches /$2/"
	fi
}
qs_says "packages already installed" '^Already installed: build-essential'
if grep -q '^Installed' "$T/qs.out"; then
	fail "quickstart: installed nothing" "$(grep '^Installed' "$T/qs.out")"
else
	pass "quickstart: installed nothing"
fi
qs_says "the socket's absolute path" "listening on $DEMO/agent.sock\$"
qs_says "P11AGENT_SOCK, absolute" "^\\\$ export P11AGENT_SOCK=$DEMO/agent.sock\$"
qs_says "lists the audit keys" '^audit-mac +hmac:256'
qs_says "signatures verify" '^Verified OK'
qs_says "the hybrid example" 'round-tripped'
qs_says "the HTTP example: the signed request accepted, the tampered one refused" \
	'^OK: the signed request was accepted \(200\), the tampered one refused \(401\)\.$'
qs_says "the HTTP example: the server verified through its own agent" \
	"^p11agent-http-server: POST /orders\\?dry-run=1 HTTP/1.1 -> 200 Verified OK: signature 'sig1' \\(hmac-sha256, keyid api-hmac\\) is valid\$"
qs_says "the HTTP example: the server's agent stopped" "^Stopping the server's agent \(pid [0-9]+\)\$"
if [ -e "$DEMO/server-agent.pid" ]; then
	fail "quickstart: the server's agent is not left running" "$DEMO/server-agent.pid is there"
else
	pass "quickstart: the server's agent is not left running"
fi
qs_says "a certificate by openssl req with an agent key" "^$DEMO/web-ecdsa.crt: OK\$"
qs_says "ssh-keygen signs through the SSH socket" '^Good "file" signature for demo with ED25519 key'
qs_says "the audit trail is intact" '^audit trail intact: [0-9]+ records, .*keyed: every MAC confirmed'

# README's tour, as written there, from the checkout: demo/ and build/ are
# this test's.
export P11AGENT_SOCK=$DEMO/agent.sock
cd "$T" || die "cd $T"
check_rc "README: sign with an algorithm that does not fit" 1 \
	"$P11AGENT" sign web-ecdsa --alg rsa-pss-sha256 -i demo/release.txt -o release.sig
check_err "README: ... its message" "algorithm rsa-pss-sha256 does not fit an EC key"
check_rc "README: sign with no such key" 5 "$P11AGENT" sign release -i demo/release.txt
check_err "README: ... its message" "no key matches 'release'; run 'p11agent list'"
check_rc "README: ping at no agent" 3 "$P11AGENT" -S demo/none.sock ping
check_err "README: ... its message" \
	"cannot reach the agent at demo/none.sock: no such file, so no agent listens there"
check "README: openssl encrypts with PKCS#1 v1.5" ossl pkeyutl -encrypt -pubin \
	-inkey demo/release-rsa.pem -in demo/release.txt -out demo/release.v15
check_rc "README: rsa-pkcs1 decryption refused" 1 \
	"$P11AGENT" decrypt release-rsa --alg rsa-pkcs1 -i demo/release.v15
check_err "README: ... its message" "rsa-pkcs1 decryption is a padding oracle"
check "README: list --json" "$P11AGENT" --json list
if python3 -c 'import json, sys
keys = [k for k in json.load(open(sys.argv[1])) if k["label"] == "release-rsa"]
assert keys[0]["ops"] == ["sign", "decrypt", "unwrap"], keys
assert keys[0]["sw_algs"] == ["rsa-oaep-sha256", "rsa-oaep-sha384", "rsa-oaep-sha512"], keys' "$OUT"
then
	pass "README: list --json shows release-rsa's ops and sw_algs"
else
	fail "README: list --json shows release-rsa's ops and sw_algs" "$(show "$OUT")"
fi
# README's TLS example, as written there, on a free port of 127.0.0.1. Not
# in a --enable-sanitizers build: there openssl runs with the ASan runtime
# preloaded and lib.sh's fast_unwind_on_malloc=0, and its s_server takes
# longer than the example's second to start listening;
# test-provider-tls.sh runs s_server and s_client with agent keys under the
# sanitizers, and the normal build runs this example. The example's s_server
# ends after one connection; one left waiting (s_client failed) is stopped.
if [ -z "$SAN_PRELOAD" ]; then
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	awk '/^<!-- tests\/test-quickstart.sh runs the next block/ { want = 1; next }
		want && /^```/ { if (inblock) exit; inblock = 1; next }
		inblock { print }' "$top_srcdir/README.md" | sed "s/8443/$PORT/g" >"$T/tls-example.sh"
	if grep -q 's_client' "$T/tls-example.sh"; then
		pass "README: the TLS example found"
	else
		fail "README: the TLS example found" "no block after the marker: $(show "$T/tls-example.sh")"
	fi
	AUDIT_BEFORE=$(grep -c '"op":"sign"' demo/audit.jsonl)
	run env -u OPENSSL_CONF timeout -k 2 60 bash -e "$T/tls-example.sh"
	pkill -f "s_server -accept 127.0.0.1:$PORT " 2>/dev/null
	if [ "$RC" -eq 0 ]; then
		pass "README: the TLS example: exit 0"
	else
		fail "README: the TLS example: exit 0" "exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
	if grep -q '^Verification: OK' "$OUT" "$ERR" && grep -q '^Protocol version: TLSv1.3' "$OUT" "$ERR"; then
		pass "README: the TLS example: TLS 1.3, the server's certificate verified"
	else
		fail "README: the TLS example: TLS 1.3, the server's certificate verified" \
			"stdout: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
	if [ "$(grep -c '"op":"sign"' demo/audit.jsonl)" -gt "$AUDIT_BEFORE" ]; then
		pass "README: the TLS example: the handshake's signature is in the audit trail"
	else
		fail "README: the TLS example: the handshake's signature is in the audit trail" \
			"$AUDIT_BEFORE sign records before, as many after"
	fi
fi
# README's signed request, its $ lines as written there (build/p11agent:
# this build's), with the demo's api-hmac.
awk '/^<!-- tests\/test-quickstart.sh runs the \$ lines of the next block/ { want = 1; next }
	want && /^```/ { if (inblock) exit; inblock = 1; next }
	inblock && /^\$ / { print substr($0, 3) }' "$top_srcdir/README.md" |
	sed "s|build/p11agent|$P11AGENT|g" >"$T/http-example.sh"
if grep -q 'http-verify' "$T/http-example.sh"; then
	pass "README: the signed request example found"
else
	fail "README: the signed request example found" "no block after the marker: $(show "$T/http-example.sh")"
fi
run timeout -k 2 60 bash "$T/http-example.sh"
tr -d '\r' <"$OUT" >"$T/http-example.out"
# (Each case: what it shows|the line it must print.)
for case in "Signature-Input|^Signature-Input: sig1=\\(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-type\" \"content-digest\"\\);created=[0-9]+;keyid=\"api-hmac\"\$" \
	"the signature verified|^Verified OK: signature 'sig1' \\(hmac-sha256, keyid api-hmac\\) is valid\$" \
	"the changed body refused|^Verification failure: content digest mismatch: "; do
	if grep -Eq -- "${case#*|}" "$T/http-example.out"; then
		pass "README: the signed request example: ${case%%|*}"
	else
		fail "README: the signed request example: ${case%%|*}" \
			"no line matches /${case#*|}/: $(show "$T/http-example.out"); stderr: $(show "$ERR")"
	fi
done
# README's SSH example, as written there: ssh-add and ssh-keygen on the demo
# agent's SSH socket.
awk '/^<!-- tests\/test-quickstart.sh runs the SSH block below/ { want = 1; next }
	want && /^```/ { if (inblock) exit; inblock = 1; next }
	inblock { print }' "$top_srcdir/README.md" >"$T/ssh-example.sh"
if grep -q 'ssh-keygen -Y verify' "$T/ssh-example.sh"; then
	pass "README: the SSH example found"
else
	fail "README: the SSH example found" "no block after the marker: $(show "$T/ssh-example.sh")"
fi
run timeout -k 2 60 bash -e "$T/ssh-example.sh"
if [ "$RC" -eq 0 ] && grep -q '^Good "file" signature for me with ED25519 key SHA256:' "$OUT"; then
	pass "README: the SSH example: ssh-keygen signs through the agent, the signature verifies"
else
	fail "README: the SSH example: ssh-keygen signs through the agent, the signature verifies" \
		"exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
fi
# (audit-sig serves the audit trail only: nobody may sign with it, so ssh-add does not list it.)
"$P11AGENT" pubkey --all --format ssh 2>&1 | grep -v ' audit-sig$' >"$T/cli-keys.txt"
if grep -v -e '^Good' -e '^Signing' -e '^Write' "$OUT" | cmp -s - "$T/cli-keys.txt"; then
	pass "README: the SSH example: ssh-add -L lists what p11agent pubkey --all --format ssh prints, less the audit key"
else
	fail "README: the SSH example: ssh-add -L lists what p11agent pubkey --all --format ssh prints, less the audit key" \
		"ssh-add: $(show "$OUT"); p11agent: $(show "$T/cli-keys.txt")"
fi
check "README: keyfile" "$P11AGENT" keyfile web-ecdsa -o demo/web.keyfile
check "README: openssl reads the key file as the agent key" \
	"${SAN_ENV[@]}" env OPENSSL_CONF="$DEMO/openssl.cnf" openssl pkey -in demo/web.keyfile \
	-pubout -out web.pub
check "README: ... whose public key is web-ecdsa's" cmp web.pub demo/web-ecdsa.pem
# README's key lifecycle tour, as written there.
# out_has NAME ERE: passes when the last command's stdout matches ERE.
out_has() {
	if grep -Eq -- "$2" "$OUT"; then
		pass "$1"
	else
		fail "$1" "stdout does not match /$2/: $(show "$OUT")"
	fi
}
check "README: keygen deploy" "$P11AGENT" keygen deploy --type ec:P-256
out_has "README: ... prints its URI" '^pkcs11:.*;object=deploy;type=private$'
check "README: sign with deploy" "$P11AGENT" sign deploy -i "$top_srcdir/README.md" -o deploy.sig
run "$P11AGENT" pubkey deploy
cp "$OUT" deploy-v1.pem
check "README: openssl verifies deploy's signature" ossl dgst -sha256 -verify deploy-v1.pem \
	-signature deploy.sig "$top_srcdir/README.md"
check "README: rotate deploy" "$P11AGENT" rotate deploy
out_has "README: ... prints version 2's URI" '^pkcs11:.*;object=deploy%402;type=private$'
check "README: versions deploy" "$P11AGENT" versions deploy
out_has "README: ... version 1 is older" '^1 +[0-9]{4}-[0-9]{2}-[0-9]{2} +older +pkcs11:'
out_has "README: ... version 2 is the newest" '^2 +[0-9]{4}-[0-9]{2}-[0-9]{2} +newest +pkcs11:'
printf '[key deploy]\nmin-version = 2\nallow-destroy = yes\n' >>demo/p11agent.conf
check "README: reload" "$P11AGENT" reload
out_has "README: ... says how many keys" '^reloaded: [0-9]+ keys$'
check_rc "README: sign with the retired deploy@1 refused" 4 \
	"$P11AGENT" sign deploy@1 -i "$top_srcdir/README.md" -o old.sig
check_err "README: ... its message" "version 1 of key 'deploy' is retired: min-version of \\[key deploy\\] is 2"
check "README: trim deploy --below 2" "$P11AGENT" trim deploy --below 2
out_has "README: ... destroys version 1" '^destroyed 1 version\(s\) of deploy below 2$'
check "README: quickstart stop" timeout -k 2 60 bash "$QS" stop
check "README: audit-verify offline after stop" "$P11AGENT" audit-verify \
	--pubkey demo/audit-sig.pem demo/audit.jsonl
if grep -Eq '^audit trail intact: ([0-9]+) records, .*: \1 confirmed by [0-9]+ checkpoint' "$OUT"; then
	pass "README: every record confirmed offline"
else
	fail "README: every record confirmed offline" "$(show "$OUT")"
fi
check "quickstart clean" timeout -k 2 60 bash "$QS" clean
if [ -e "$DEMO" ]; then
	fail "quickstart clean: the demo is gone" "$DEMO is still there"
else
	pass "quickstart clean: the demo is gone"
fi

finish

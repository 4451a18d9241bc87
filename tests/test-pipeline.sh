#!/bin/sh
# test-pipeline.sh: requests pipelined on one connection through libp11agent
# (p11a_submit_sign, p11a_submit_ping, p11a_collect; tests/pipeline-client.c).
# Against p11agentd: 40 signatures with up to 16 in flight for ECDSA, RSA-PSS,
# Ed25519 and HMAC, each verified (OpenSSL, or a blocking sign for HMAC) and
# each id collected once; the bound of 64 in flight; blocking calls refused
# while requests are in flight. Against tests/pipeline-fake.py: replies in
# reverse order matched to their requests, and a reply for an id not in
# flight, a reply twice, a dropped connection and a silent agent each ending
# the connection with a clear error.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

CLIENT=$top_builddir/tests/pipeline-client
require_tools python3 timeout
[ -x "$CLIENT" ] || { echo "ERROR: $CLIENT is not built"; exit 99; }
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_ED25519" "$KEY_HMAC"
start_agent || finish

# client NAME ARGS...: the test client, bounded in time; its PASS and FAIL
# lines are counted, each prefixed with NAME.
client() {
	local name=$1
	shift
	timeout -k 2 60 "$CLIENT" "$@" >"$T/client.out" 2>&1
	local rc=$?
	sed "s/^\(PASS\|FAIL\) /\1 $name: /" "$T/client.out" >"$T/client.lines"
	count_lines <"$T/client.lines"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$T/client.lines"; then
		fail "$name" "pipeline-client exited $rc: $(show "$T/client.out")"
	fi
}

for spec in ec256:ecdsa-sha256 rsa2048:rsa-pss-sha256 ed25519:ed25519 hmac:hmac-sha256; do
	client "${spec#*:} 40 x 16" sign "$SOCK" "${spec%%:*}" "${spec#*:}" 40 16
done
client "ecdsa-sha256 40 x 1" sign "$SOCK" ec256 ecdsa-sha256 40 1
client "ecdsa-sha256 200 x 64" sign "$SOCK" ec256 ecdsa-sha256 200 64
client "ecdsa-sha256" bound "$SOCK" ec256 ecdsa-sha256
client "ecdsa-sha256" mix "$SOCK" ec256 ecdsa-sha256
agent_alive "the agent serves on after the pipelined clients"

# fake MODE [ARG]: pipeline-fake.py on a socket of its own in a directory
# only we may write (the library checks), waited for until it listens.
FAKE_DIR=$T/fake
mkdir -m 0700 "$FAKE_DIR"
fake() {
	rm -f "$FAKE_DIR/agent.sock" "$FAKE_DIR/agent.sock.ready" "$FAKE_DIR/agent.sock.closed"
	timeout -k 2 40 python3 "$top_srcdir/tests/pipeline-fake.py" "$FAKE_DIR/agent.sock" "$@" \
		>"$T/fake.log" 2>&1 &
	FAKE_PID=$!
	for _ in $(seq 100); do
		[ -e "$FAKE_DIR/agent.sock.ready" ] && return 0
		sleep 0.05
	done
	fail "fake agent $1" "did not start: $(show "$T/fake.log")"
	return 1
}
stop_fake() {
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
}

if fake reverse 12; then
	client "fake" reverse "$FAKE_DIR/agent.sock" 12
	stop_fake
fi
for mode in unknown twice refuse; do
	if fake "$mode"; then
		client "fake" "$mode" "$FAKE_DIR/agent.sock"
		stop_fake
	fi
done
if fake silent; then
	P11AGENT_TIMEOUT=1 client "fake" silent "$FAKE_DIR/agent.sock"
	stop_fake
fi
if fake closed; then
	client "fake" closed "$FAKE_DIR/agent.sock"
	stop_fake
fi

stop_agent
if [ "$AGENT_RC" = 0 ]; then pass "agent stops cleanly"; else fail "agent stops" "exit $AGENT_RC"; fi
finish

#!/bin/sh
# test-bench.sh: the smoke run of p11agent-bench: the direct and agent paths
# on a small SoftHSM token for a fraction of a second each: signing, HMAC, a
# batch of signatures, requests in flight (--inflight), RSA-OAEP decryption
# and unwrap, AES-KWP unwrap, and ping. Checks the output's shape (every JSON line parses, every path is
# there, ops/s > 0, p50 <= p99) and the usage and error exits, never a
# performance ratio.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

BENCH=$top_builddir/p11agent-bench
require_tools python3 timeout
[ -x "$BENCH" ] || { echo "ERROR: $BENCH is not built"; exit 99; }
make_token "$KEY_EC256" "$KEY_HMAC" "$KEY_RSA2048" "$KEY_AES"
start_agent || finish

# bench ARGS...: the benchmark on the test token and socket, bounded in time.
bench() {
	timeout -k 2 30 "$BENCH" --module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN" \
		--pin-source "file:$PIN_FILE" --socket "$SOCK" "$@"
}

# check_json NAME ALG PATHS [OP [BATCH [INFLIGHT]]]: $OUT holds one JSON
# object a line, one per path of the comma-separated PATHS, with the fields of
# the man page, for operation OP (default sign) with BATCH items a request
# (default 1) and INFLIGHT requests in flight on the agent path (default 1;
# the other paths report 1).
check_json() {
	if python3 - "$2" "$3" "$OUT" "${4:-sign}" "${5:-1}" "${6:-1}" >"$T/py.out" 2>&1 <<'PY'
import json, sys
alg, paths, out, op, batch, inflight = sys.argv[1], sys.argv[2].split(","), sys.argv[3], \
    sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
seen = []
for line in open(out):
    o = json.loads(line)
    for k in ("path", "alg", "op", "key", "clients", "ops_per_s", "batch", "inflight", "p50_us",
              "p99_us", "ratio_to_direct"):
        assert k in o, "no %s in %s" % (k, line)
    assert o["alg"] == alg, line
    assert o["op"] == op, line
    assert o["clients"] == 2, line
    assert o["batch"] == batch, line
    assert o["inflight"] == (inflight if o["path"] == "agent" else 1), line
    assert o["ops_per_s"] > 0, line
    assert 0 < o["p50_us"] <= o["p99_us"], line
    if "direct" in paths:
        assert o["ratio_to_direct"] > 0, line
    else:
        assert o["ratio_to_direct"] is None, line
    seen.append(o["path"])
assert seen == paths, "paths %s, expected %s" % (seen, paths)
PY
	then
		pass "$1"
	else
		fail "$1" "$(show "$T/py.out") output: $(show "$OUT")"
	fi
}

check "ecdsa-sha256, direct and agent" \
	bench --key ec256 --alg ecdsa-sha256 --paths direct,agent --clients 2 --seconds 0.3 --json
check_json "ecdsa-sha256: JSON lines" ecdsa-sha256 direct,agent

check "hmac-sha256 by id" \
	bench --key id:10 --alg hmac-sha256 --clients 2 --seconds 0.1 --json
check_json "hmac-sha256: JSON lines" hmac-sha256 direct,agent

check "ping" timeout -k 2 30 "$BENCH" --socket "$SOCK" --alg ping --clients 2 --seconds 0.3 --json
check_json "ping: JSON lines" ping agent ping

# A batch of 64 digests a request: ops_per_s counts signatures.
check "ecdsa-sha256, batch of 64" \
	bench --key ec256 --alg ecdsa-sha256 --batch 64 --clients 2 --seconds 0.15 --json
check_json "batch: JSON lines" ecdsa-sha256 direct,agent sign 64

# Requests in flight on each agent connection: the direct path keeps one.
check "ecdsa-sha256, 8 in flight" \
	bench --key ec256 --alg ecdsa-sha256 --inflight 8 --clients 2 --seconds 0.15 --json
check_json "inflight: JSON lines" ecdsa-sha256 direct,agent sign 1 8
check "ping, 16 in flight" timeout -k 2 30 "$BENCH" --socket "$SOCK" --alg ping --inflight 16 \
	--clients 2 --seconds 0.1 --json
check_json "ping in flight: JSON lines" ping agent ping 1 16

# Key transport: each path's first result is checked against the plaintext.
check "rsa-oaep-sha256 decrypt" \
	bench --key rsa2048 --alg rsa-oaep-sha256 --clients 2 --seconds 0.15 --json
check_json "decrypt: JSON lines" rsa-oaep-sha256 direct,agent decrypt
check "aes-kwp unwrap" bench --key aes256 --alg aes-kwp --clients 2 --seconds 0.15 --json
check_json "aes-kwp unwrap: JSON lines" aes-kwp direct,agent unwrap
check "rsa-oaep-sha1 unwrap (C_UnwrapKey)" \
	bench --key rsa2048 --alg rsa-oaep-sha1 --op unwrap --clients 2 --seconds 0.05 --json
check_json "rsa-oaep unwrap: JSON lines" rsa-oaep-sha1 direct,agent unwrap
check "rsa-oaep-sha256 decrypt, agent path alone (its public key)" \
	timeout -k 2 30 "$BENCH" --socket "$SOCK" --key rsa2048 --alg rsa-oaep-sha256 \
	--paths agent --clients 2 --seconds 0.05 --json
check_json "agent alone: JSON lines" rsa-oaep-sha256 agent decrypt

check "table" bench --key ec256 --alg ecdsa-sha256 --seconds 0.05
if grep -q '^direct ' "$OUT" && grep -q '^agent ' "$OUT" && grep -q 'ratio' "$OUT" &&
	grep -q ' inflight ' "$OUT"; then
	pass "table: header and both paths"
else
	fail "table: header and both paths" "$(show "$OUT")"
fi

check_rc "usage: no --alg" 2 bench --key ec256
check_rc "usage: unknown path" 2 bench --key ec256 --alg ecdsa-sha256 --paths nowhere
check_rc "usage: ping on direct" 2 bench --alg ping --paths direct
check_rc "usage: batch of decryptions" 2 bench --key rsa2048 --alg rsa-oaep-sha256 --batch 2
check_rc "usage: batch of pings" 2 bench --alg ping --batch 2
check_rc "usage: batch too large" 2 bench --key ec256 --alg ecdsa-sha256 --batch 1025
check_rc "usage: inflight too large" 2 bench --key ec256 --alg ecdsa-sha256 --inflight 65
check_err "usage: inflight too large: message" "--inflight: expected 1 to"
check_rc "usage: inflight with batch" 2 bench --key ec256 --alg ecdsa-sha256 --inflight 2 \
	--batch 2
check_err "usage: inflight with batch: message" "--inflight: not with --batch"
check_rc "usage: inflight of decryptions" 2 bench --key rsa2048 --alg rsa-oaep-sha256 \
	--inflight 2
check_rc "usage: aes-kwp does not sign" 2 bench --key aes256 --alg aes-kwp --op sign
check_rc "usage: unknown op" 2 bench --key rsa2048 --alg rsa-oaep-sha256 --op encrypt
check_rc "usage: aes-kwp without the token" 2 timeout -k 2 30 "$BENCH" --socket "$SOCK" \
	--key aes256 --alg aes-kwp --paths agent
check_rc "wrong key type" 1 bench --key ec256 --alg rsa-oaep-sha256 --seconds 0.05
check_err "wrong key type: message" "needs a key of type rsa"
check_rc "no such key" 1 bench --key nosuchkey --alg ecdsa-sha256 --seconds 0.05
check_err "no such key: message" "no such key"
check_rc "no agent" 1 bench --key ec256 --alg ecdsa-sha256 --seconds 0.05 --paths agent \
	--socket "$T/nothing.sock"
check_err "no agent: message" "agent at"

stop_agent
finish

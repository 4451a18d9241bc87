#!/bin/sh
# test-make-bench.sh: the standard set of `make bench` (bench/standard.sh) in
# miniature, so that it cannot rot: 0.05 s a path, 2,000 operations for the
# memory figure, 20 idle connections, the status reader beside two signers,
# the rounds of 2, 64 and 256 clients and of 1 client with 16 requests in
# flight (a note when this p11agent-bench has no --inflight yet),
# no p11-kit, one round of 0.2 s a TLS
# row (s_server with the key in a PEM file, through libp11's engine and
# through the provider p11agent.so), the SSH part's rows (ssh-agent holding
# the token through ssh-add -s; p11agentd's SSH socket when this p11agentd
# has one). Checks that every row ran,
# that the raw lines parse and that the report holds every table and target
# line; never a figure (those need the full run on a quiet machine).
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 timeout
[ -x "$top_builddir/p11agent-bench" ] || { echo "ERROR: p11agent-bench is not built"; exit 99; }
# The TLS part's server (b) needs libp11's engine: its absence fails the test.
if ossl engine -t pkcs11 >"$T/engine.out" 2>&1; then
	pass "libp11's pkcs11 engine is installed"
else
	fail "libp11's pkcs11 engine" "install libengine-pkcs11-openssl: $(show "$T/engine.out")"
fi
# The SSH part's peer is OpenSSH's ssh-agent: its absence fails the test too.
if command -v ssh-agent >/dev/null 2>&1 && command -v ssh-add >/dev/null 2>&1; then
	pass "ssh-agent and ssh-add are installed"
else
	fail "ssh-agent and ssh-add" "install openssh-client"
fi
# Does this p11agentd have the SSH front whose rows the SSH part measures?
SSH_FRONT=0
"$top_builddir/p11agentd" --help 2>&1 | grep -q -- '--ssh-socket' && SSH_FRONT=1

run env BENCH_SECONDS=0.05 BENCH_MEM_OPS=2000 BENCH_IDLE_CONNS=20 BENCH_NO_P11KIT=1 \
	BENCH_TLS_ROUNDS=1 BENCH_TLS_SECONDS=0.2 BENCH_OUT="$T/res" \
	timeout -k 5 600 bash "$top_srcdir/bench/standard.sh"
if [ "$RC" -eq 0 ]; then
	pass "bench/standard.sh ran every row (exit 0)"
else
	fail "bench/standard.sh" "exit $RC; stderr: $(show "$ERR")"
fi

if python3 - "$T/res.jsonl" "$SSH_FRONT" >"$T/py.out" 2>&1 <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tags = {o.get("run") for o in runs}
for t in ("std", "lat", "prov", "ssh", "tls", "measure", "idle-with", "idle-without",
          "status-with", "status-without"):
    assert t in tags, "no %s lines" % t
rows = {(o["alg"], o["clients"], o["batch"], o["path"]) for o in runs if o.get("run") == "std"}
for alg in ("rsa-pkcs1-sha256", "rsa-pss-sha256", "ecdsa-sha256", "ecdsa-sha384", "ed25519",
            "hmac-sha256", "rsa-oaep-sha256", "aes-kwp"):
    for c in (1, 2):
        for p in ("direct", "agent"):
            assert (alg, c, 1, p) in rows, "no %s %d clients %s" % (alg, c, p)
assert ("ecdsa-sha256", 2, 64, "agent") in rows, "no batch row"
assert ("ecdsa-sha256", 64, 1, "agent") in rows, "no 64-client row"
scale = [(o["path"], o["clients"]) for o in runs if o.get("run") == "scale"]
for p, c in (("direct", 2), ("agent", 2), ("agent", 64), ("agent", 256)):
    assert scale.count((p, c)) == 3, "%d rounds of %s at %d clients, not 3" % (
        scale.count((p, c)), p, c)
# The 1-client row with 16 requests in flight: 3 rounds, or a note that this
# p11agent-bench has no --inflight yet.
inflight = [o for o in runs if o.get("run") == "inflight" and o["path"] == "agent"]
skipped = [o for o in runs if o.get("run") == "note" and o["kind"] == "skip"
           and "16 in flight" in o["what"]]
assert len(inflight) == 3 or (not inflight and len(skipped) == 1), \
    "%d in-flight rounds, %d notes" % (len(inflight), len(skipped))
prov = {(o["alg"], o["clients"], o["path"]) for o in runs if o.get("run") == "prov"}
for alg in ("rsa-pkcs1-sha256", "rsa-pss-sha256", "ecdsa-sha256", "ed25519"):
    for c in (1, 2):
        for p in ("agent", "provider"):
            assert (alg, c, p) in prov, "no provider row %s %d clients %s" % (alg, c, p)
tls = {(o["server"], o["key"], o["threads"]) for o in runs
       if o.get("run") == "tls" and o["handshakes"] > 0}
for server in ("pem", "engine", "provider"):
    for key in ("rsa2048", "ec256"):
        for t in (1, 2):
            assert (server, key, t) in tls, "no TLS row %s %s %d threads" % (server, key, t)
ssh = {(o["alg"], o["clients"], o["path"]) for o in runs
       if o.get("run") == "ssh" and o["ops_per_s"] > 0}
for alg in ("ecdsa-sha256", "rsa-pkcs1-sha256"):
    for c in (1, 4):
        for p in ("direct", "agent", "ssh-agent") + (("ssh",) if sys.argv[2] == "1" else ()):
            assert (alg, c, p) in ssh, "no SSH row %s %d clients %s" % (alg, c, p)
names = {o["name"] for o in runs if o.get("run") == "measure"}
for n in ("rss_idle_kib", "rss_after_kib", "rss_conns_after_kib", "idle_conns_agent",
          "max_connections", "startup_ms", "status_reads",
          "load_before", "load_after", "tls_negotiated_provider-rsa2048",
          "tls_negotiated_engine-ec256"):
    assert n in names, "no measure %s" % n
m = {o["name"]: o["value"] for o in runs if o.get("run") == "measure"}
assert int(m["idle_conns_agent"]) >= 20, "the agent's status counts %s idle connections, " \
    "not 20" % m["idle_conns_agent"]
PY
then
	pass "bench-results.jsonl: every row and measure"
else
	fail "bench-results.jsonl" "$(show "$T/py.out")"
fi
for line in "| ECDSA P-256 | 2 | 64 |" "| ping (round trip) | 1 | 1 |" \
	"Overhead at 1 client: agent p50" "Overhead at 1 client, client polling" \
	"Memory: agent VmRSS growth" "10,000 idle connections: agent VmRSS growth ≤ 8 KiB each" \
	"10,000 idle connections: 2-client ECDSA P-256 slowdown ≤ 5%" \
	"Start-up with 100 keys" "ECDSA P-256, 2 clients: agent ≥ 0.85x direct" \
	"### Many clients, and requests in flight" "| agent | 256 |" \
	"ECDSA P-256, 64 clients: no errors, agent throughput ≥ 0.95x its 2-client throughput" \
	"ECDSA P-256, 64 clients: agent p99 ≤ 2x p50" \
	"ECDSA P-256, 256 clients: no errors, agent throughput ≥ 0.9x its 2-client throughput" \
	"ECDSA P-256, 1 client, 16 in flight: agent ≥ 0.9x direct at 2 clients" \
	"Status read 100 times a second beside 2-client ECDSA P-256" \
	"### Signatures through the OpenSSL provider" \
	"### SSH agent protocol" "| ECDSA P-256 | 4 |" "| RSA-2048 | 4 |" \
	"SSH, ECDSA P-256, 1 client: p11agentd's SSH socket ≥ 5x OpenSSH's ssh-agent" \
	"SSH, RSA-2048, 1 client: the SSH socket within 10% of the native agent path" \
	"ECDSA P-256, 1 client: provider ≥ 0.9x the agent path" \
	"### TLS handshakes per second" "| RSA-2048 | 1 |" \
	"TLS handshakes, RSA-2048, 1 client thread: provider ≥ 0.9x libp11's engine" \
	"TLS handshakes, ECDSA P-256, 2 client threads: provider ≥ 0.75x libp11's engine" \
	"Load average (1, 5, 15 min) before the run"; do
	if grep -qF -- "$line" "$T/res.md"; then
		pass "report: $line"
	else
		fail "report: $line" "not in the report: $(show "$T/res.md")"
	fi
done
if grep -qF "$T" "$T/res.md"; then
	fail "report: no paths of this run" "the report names its temporary folder"
elif grep -qF "$top_builddir/" "$T/res.md"; then
	fail "report: no paths of this run" \
		"the report names the build directory: $(grep -F "$top_builddir/" "$T/res.md" | head -n 1)"
else
	pass "report: no paths of this run"
fi
finish

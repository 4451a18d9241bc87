#!/usr/bin/env python3
# bench/table.py: turns the results of bench/standard.sh into one markdown
# report, ready to paste into doc/PERFORMANCE.md.
#
#   table.py RESULTS.jsonl
#
# RESULTS.jsonl holds one JSON object a line, each with a "run" field:
#   "std", "lat", "prov", "idle-without", "idle-with", "status-without",
#   "status-with", "memory", "scale", "inflight":
#       p11agent-bench --json lines (path, alg, key, clients, ops_per_s,
#       batch, p50_us, p99_us, ratio_to_direct), tagged with the run they
#       belong to ("prov": the agent and provider paths; "scale": ECDSA
#       P-256 at 2, 64 and 256 clients, "inflight": 1 client with requests
#       in flight (an "inflight" field), several rounds of each);
#   "ssh": p11agent-bench --json lines of bench/ssh.sh: paths direct, agent,
#       ssh (p11agentd's SSH socket) and ssh-agent (OpenSSH's, ssh-add -s);
#   "tls": bench/tls-handshakes --json lines (threads, handshakes_per_s,
#       p50_us, p99_us, protocol, cipher, sigalg) with server ("pem",
#       "engine", "provider"), key ("rsa2048", "ec256") and round;
#   "measure": {"name": ..., "value": ...}, a figure measured by the script
#       (memory, start-up, the machine);
#   "note": {"kind": "fail"|"skip"|"peer", "what": ..., "message": ...}.
# Prints the report on stdout. Every target of issue 5 (and of the provider
# and SSH parts) gets a line with the
# measured figure and "met" or "missed" ("not measured" when its run failed or
# was skipped).
#
# SPDX-License-Identifier: Apache-2.0

import json
import statistics
import sys

OPS = [
    # (alg, what the table calls it)
    ("rsa-pkcs1-sha256", "RSA-2048 PKCS#1 v1.5"),
    ("rsa-pss-sha256", "RSA-2048 PSS"),
    ("ecdsa-sha256", "ECDSA P-256"),
    ("ecdsa-sha384", "ECDSA P-384"),
    ("ed25519", "Ed25519"),
    ("hmac-sha256", "HMAC-SHA-256"),
    ("rsa-oaep-sha256", "RSA-2048 OAEP decrypt"),
    ("aes-kwp", "AES-256 KWP unwrap"),
]
OP_NAME = dict(OPS)
OP_NAME["ping"] = "ping (round trip)"

# Issue 5's throughput targets at 2 clients: agent ops/s over direct ops/s.
RATIO_TARGETS = [
    ("rsa-pkcs1-sha256", 0.9),
    ("rsa-pss-sha256", 0.9),
    ("rsa-oaep-sha256", 0.9),
    ("ed25519", 0.85),
    ("ecdsa-sha256", 0.85),
]
# Agent over p11-kit's remoting: (alg, clients, factor).
PEER_TARGETS = [
    ("ecdsa-sha256", 1, 2.0),
    ("hmac-sha256", 1, 2.0),
    ("rsa-pkcs1-sha256", 2, 1.5),
    ("rsa-pss-sha256", 2, 1.5),
]
OVERHEAD_SLACK_US = 15.0
COLUMNS = 13  # of the main table
BATCH_TARGET = 0.95
# Many clients (issue 15), ECDSA P-256 through the agent: (clients, agent
# ops/s over the agent's at 2 clients), medians of the rounds; at 64 clients
# also p99 over p50 at most P99_OVER_P50.
MANY_CLIENTS = [(64, 0.95), (256, 0.9)]
P99_OVER_P50 = 2.0
# 1 client with requests in flight over the direct path at 2 clients.
INFLIGHT_TARGET = 0.9
MEM_GROWTH_KIB = 512  # "no growth beyond a few hundred KiB"
# Idle connections (issue 15): VmRSS growth each, and the slowdown of 2
# signing clients beside them, at this many.
IDLE_CONNS = 10000
CONN_KIB = 8
IDLE_SLOWDOWN_PCT = 5.0
# Signing beside a client reading the status: at least this share of the speed without.
STATUS_RATIO = 0.95
STARTUP_MS = 1000.0
# The provider's signatures over the agent path's (issue 11).
PROV_OPS = ["rsa-pkcs1-sha256", "rsa-pss-sha256", "ecdsa-sha256", "ed25519"]
PROV_TARGET = 0.9
# TLS handshakes: (key, what the table calls it, provider over engine target).
TLS_KEYS = [("rsa2048", "RSA-2048", 0.9), ("ec256", "ECDSA P-256", 0.75)]
TLS_SERVERS = [("pem", "PEM file"), ("engine", "token, libp11 engine"),
               ("provider", "token, p11agent provider")]
# The SSH part: (alg, what the table calls it, p11agentd's SSH socket over
# ssh-agent's target at 1 client); and the SSH socket over the native agent
# path, at 1 client.
SSH_OPS = [("ecdsa-sha256", "ECDSA P-256", 5.0), ("rsa-pkcs1-sha256", "RSA-2048", 1.8)]
SSH_CLIENTS = (1, 4)
SSH_NATIVE_TARGET = 0.9


def load(path):
    runs, measures, notes = [], {}, []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                o = json.loads(line)
            except ValueError as e:
                sys.exit("table.py: %s:%d: %s" % (path, n, e))
            run = o.get("run")
            if run == "measure":
                measures[o["name"]] = o["value"]
            elif run == "note":
                notes.append(o)
            else:
                runs.append(o)
    return runs, measures, notes


def path_kind(p):
    return "p11kit" if p.startswith("module:") else p


def index(runs, run):
    """{(alg, clients, batch): {path kind: object}} of one run tag."""
    out = {}
    for o in runs:
        if o.get("run") != run:
            continue
        k = (o["alg"], int(o["clients"]), int(o.get("batch") or 1))
        out.setdefault(k, {})[path_kind(o["path"])] = o
    return out


def num(v, fmt="%.0f"):
    return "—" if v is None else fmt % v


def opt(v, fmt):
    """v formatted, or None (not measured) when v is None."""
    return None if v is None else fmt % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def get(row, path, field):
    o = row.get(path) if row else None
    return None if o is None else o.get(field)


def verdict(ok):
    return "met" if ok else "**missed**"


class Report:
    def __init__(self, runs, measures, notes):
        self.std = index(runs, "std")
        self.lat = index(runs, "lat")
        self.prov = index(runs, "prov")
        self.ssh = index(runs, "ssh")
        self.tls = {}  # {(key, threads): {server: [line of each round]}}
        for o in runs:
            if o.get("run") == "tls":
                k = (o["key"], int(o["threads"]))
                self.tls.setdefault(k, {}).setdefault(o["server"], []).append(o)
        self.m = measures
        self.notes = notes
        self.lines = []
        self.targets = []  # (target, measured, result)

    def out(self, s=""):
        self.lines.append(s)

    def target(self, what, measured, ok):
        """One line of the targets table; measured None: not measured."""
        if measured is None:
            self.targets.append((what, "—", "not measured"))
        elif ok is None:
            self.targets.append((what, measured, "not fully measured"))
        else:
            self.targets.append((what, measured, verdict(ok)))

    def ping_p50(self, rows=None):
        rows = self.std if rows is None else rows
        return get(rows.get(("ping", 1, 1)), "agent", "p50_us")

    def overhead(self, alg, rows=None):
        """(agent p50 - direct p50, limit) at 1 client, or None."""
        rows = self.std if rows is None else rows
        row = rows.get((alg, 1, 1))
        a, d, p = get(row, "agent", "p50_us"), get(row, "direct", "p50_us"), self.ping_p50(rows)
        if a is None or d is None or p is None:
            return None
        return a - d, p + OVERHEAD_SLACK_US

    def header(self):
        m = self.m
        self.out("## p11agent-bench, standard set (`make bench`)")
        self.out()
        if self.m.get("parts", "all") != "all":
            self.out("Parts run (BENCH_PARTS): %s." % self.m["parts"])
        self.out("Machine: %s cores, %s, Linux %s; SoftHSM %s; p11-kit %s." % (
            m.get("nproc", "?"), m.get("cpu", "?"), m.get("kernel", "?"),
            m.get("softhsm", "?"), m.get("p11kit", "?")))
        self.out("Run: %s s per path (BENCH_SECONDS), paths interleaved in 0.2 s slices; "
                 "%s; p11agent %s." % (m.get("seconds", "?"), m.get("date", "?"),
                                       m.get("version", "?")))
        if m.get("load_before") or m.get("load_after"):
            self.out("Load average (1, 5, 15 min) before the run: %s; after: %s "
                     "(the machine is shared: other builds may have run meanwhile)."
                     % (m.get("load_before", "?"), m.get("load_after", "?")))
        if m.get("p11kit_path"):
            self.out("Peer: `p11-kit server` serving the same token, through %s."
                     % m["p11kit_path"])
        else:
            self.out("Peer: p11-kit's remoting not measured (%s)."
                     % m.get("p11kit_missing", "not available"))
        self.out()

    def main_table(self):
        ping = self.ping_p50()
        self.out("| operation | clients | batch | direct ops/s | agent ops/s | agent/direct "
                 "| p11-kit ops/s | p11-kit/direct | agent/p11-kit | direct p50 µs "
                 "| agent p50 µs | agent p99 µs | agent − direct p50, µs "
                 "(≤ ping p50 + %g) |" % OVERHEAD_SLACK_US)
        self.out("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        keys = [("ping", c, 1) for c in (1, 2)]
        for alg, _ in OPS:
            keys += [(alg, c, 1) for c in (1, 2)]
        keys += [("ecdsa-sha256", c, 64) for c in (1, 2)]
        keys += [("ecdsa-sha256", 64, 1)]
        for k in keys:
            alg, clients, batch = k
            row = self.std.get(k)
            if row is None:
                self.out("| %s | %d | %d | no result: see the notes |%s" % (
                    OP_NAME.get(alg, alg), clients, batch, " |" * (COLUMNS - 4)))
                continue
            d_ops = get(row, "direct", "ops_per_s")
            a_ops = get(row, "agent", "ops_per_s")
            p_ops = get(row, "p11kit", "ops_per_s")
            ov = "—"
            if clients == 1 and batch == 1 and alg != "ping":
                o = self.overhead(alg)
                if o is not None:
                    ov = "%.1f vs %.1f: %s" % (o[0], o[1], verdict(o[0] <= o[1]))
            self.out("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                OP_NAME.get(alg, alg), clients, batch, num(d_ops), num(a_ops),
                num(ratio(a_ops, d_ops), "%.2fx"), num(p_ops),
                num(ratio(p_ops, d_ops), "%.2fx"), num(ratio(a_ops, p_ops), "%.2fx"),
                num(get(row, "direct", "p50_us"), "%.1f"),
                num(get(row, "agent", "p50_us"), "%.1f"),
                num(get(row, "agent", "p99_us"), "%.1f"), ov))
        self.out()
        self.out("ops/s count operations (a batch of 64 counts 64); in the batch rows, p50 and "
                 "p99 are those of one request of 64 operations.")
        if ping is None:
            self.out("No ping result: the overhead column cannot be computed.")
        self.out()

    def latency_table(self):
        if not self.lat:
            return
        poll = self.m.get("lat_poll_us", "?")
        self.out("1 client, the client library polling for its replies "
                 "(`P11AGENT_BUSY_POLL=%s`; the agent polls in both tables, "
                 "`busy-poll = 50`, its default):" % poll)
        self.out()
        self.out("| operation | direct ops/s | agent ops/s | agent/direct | p11-kit ops/s "
                 "| agent/p11-kit | direct p50 µs | agent p50 µs | agent p99 µs "
                 "| agent − direct p50, µs (≤ ping p50 + %g) |" % OVERHEAD_SLACK_US)
        self.out("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for alg in ["ping"] + [a for a, _ in OPS]:
            row = self.lat.get((alg, 1, 1))
            if row is None:
                self.out("| %s | no result: see the notes |%s" % (OP_NAME.get(alg, alg),
                                                                 " |" * 8))
                continue
            d_ops = get(row, "direct", "ops_per_s")
            a_ops = get(row, "agent", "ops_per_s")
            p_ops = get(row, "p11kit", "ops_per_s")
            ov = "—"
            if alg != "ping":
                o = self.overhead(alg, self.lat)
                if o is not None:
                    ov = "%.1f vs %.1f: %s" % (o[0], o[1], verdict(o[0] <= o[1]))
            self.out("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                OP_NAME.get(alg, alg), num(d_ops), num(a_ops),
                num(ratio(a_ops, d_ops), "%.2fx"), num(p_ops),
                num(ratio(a_ops, p_ops), "%.2fx"),
                num(get(row, "direct", "p50_us"), "%.1f"),
                num(get(row, "agent", "p50_us"), "%.1f"),
                num(get(row, "agent", "p99_us"), "%.1f"), ov))
        self.out()

    def scale_lines(self, path, clients):
        """The "scale" lines of path at clients, one a round, in order."""
        return [o for o in self.runs_of("scale")
                if o["path"] == path and int(o["clients"]) == clients]

    def inflight_lines(self):
        return [o for o in self.runs_of("inflight") if o["path"] == "agent"]

    def inflight_count(self):
        lines = self.inflight_lines()
        return (lines[0].get("inflight") if lines else None) or self.m.get("inflight", "?")

    @staticmethod
    def median_of(lines, field):
        vals = [o[field] for o in lines if o.get(field) is not None]
        return statistics.median(vals) if vals else None

    def scale_table(self):
        rows = [("direct", "direct", 2, self.scale_lines("direct", 2)),
                ("agent", "agent", 2, self.scale_lines("agent", 2)),
                ("agent", "agent, 1 client, %s in flight" % self.inflight_count(), 1,
                 self.inflight_lines())]
        rows += [("agent", "agent", c, self.scale_lines("agent", c)) for c, _ in MANY_CLIENTS]
        if not any(lines for _, _, _, lines in rows):
            return
        self.out("### Many clients, and requests in flight")
        self.out()
        self.out("ECDSA P-256, %s rounds of these runs in turn, %s s a path (so that the "
                 "machine's drift spreads over all of them): direct and agent at 2 clients "
                 "(interleaved in one run), the agent at 1 client keeping %s requests in "
                 "flight (`--inflight %s`), at 64 and at 256 clients. Figures are the "
                 "medians of the rounds."
                 % (self.m.get("scale_rounds", "?"), self.m.get("seconds", "?"),
                    self.inflight_count(), self.inflight_count()))
        self.out()
        self.out("| path | clients | ops/s | over agent, 2 clients | over direct, 2 clients "
                 "| p50 µs | p99 µs | p99/p50 | each round's ops/s |")
        self.out("|---|--:|--:|--:|--:|--:|--:|--:|---|")
        a2 = self.median_of(self.scale_lines("agent", 2), "ops_per_s")
        d2 = self.median_of(self.scale_lines("direct", 2), "ops_per_s")
        for path, name, clients, lines in rows:
            if not lines:
                self.out("| %s | %d | no result: see the notes |%s" % (name, clients, " |" * 6))
                continue
            ops = self.median_of(lines, "ops_per_s")
            p50, p99 = self.median_of(lines, "p50_us"), self.median_of(lines, "p99_us")
            self.out("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                name, clients, num(ops),
                "—" if path == "direct" else num(ratio(ops, a2), "%.2fx"),
                num(ratio(ops, d2), "%.2fx"), num(p50, "%.1f"), num(p99, "%.1f"),
                num(ratio(p99, p50), "%.1fx"),
                ", ".join("%.0f" % o["ops_per_s"] for o in lines)))
        self.out()

    def scale_targets(self):
        rounds = int(self.m.get("scale_rounds", 0) or 0)
        if not rounds:
            return
        a2 = self.median_of(self.scale_lines("agent", 2), "ops_per_s")
        for clients, want in MANY_CLIENTS:
            lines = self.scale_lines("agent", clients)
            ops = self.median_of(lines, "ops_per_s")
            r = ratio(ops, a2)
            s = None
            if r is not None:
                s = "%.0f vs %.0f ops/s (%.2fx); %d of %d rounds without errors" % (
                    ops, a2, r, len(lines), rounds)
            self.target("ECDSA P-256, %d clients: no errors, agent throughput ≥ %gx its "
                        "2-client throughput (medians of %d rounds)" % (clients, want, rounds),
                        s, r is not None and r >= want and len(lines) == rounds)
            if clients != 64:
                continue
            p50, p99 = self.median_of(lines, "p50_us"), self.median_of(lines, "p99_us")
            q = ratio(p99, p50)
            s = None
            if q is not None:
                each = [ratio(o.get("p99_us"), o.get("p50_us")) for o in lines]
                s = "p99 %.0f µs, p50 %.0f µs: %.1fx (rounds: %s)" % (
                    p99, p50, q, ", ".join(num(e, "%.1fx") for e in each))
            self.target("ECDSA P-256, 64 clients: agent p99 ≤ %gx p50 (medians of %d rounds)"
                        % (P99_OVER_P50, rounds), s, q is not None and q <= P99_OVER_P50)
        lines = self.inflight_lines()
        ops = self.median_of(lines, "ops_per_s")
        d2 = self.median_of(self.scale_lines("direct", 2), "ops_per_s")
        r = ratio(ops, d2)
        self.target("ECDSA P-256, 1 client, %s in flight: agent ≥ %gx direct at 2 clients "
                    "(medians of %d rounds, the two in turn)"
                    % (self.inflight_count(), INFLIGHT_TARGET, rounds),
                    None if r is None else "%.0f vs %.0f ops/s (%.2fx); rounds: %s vs %s" % (
                        ops, d2, r, ", ".join("%.0f" % o["ops_per_s"] for o in lines),
                        ", ".join("%.0f" % o["ops_per_s"]
                                  for o in self.scale_lines("direct", 2))),
                    r is not None and r >= INFLIGHT_TARGET)

    def provider_table(self):
        if self.m.get("provider_missing") is not None:
            return
        self.out("### Signatures through the OpenSSL provider")
        self.out()
        self.out("The same signatures through p11agent.so (EVP_PKEY_sign over the digest; "
                 "Ed25519: EVP_DigestSign over the message), with the key loaded by "
                 "OSSL_STORE as `p11agent:KEY`, beside the agent path (libp11agent), "
                 "interleaved in the same run:")
        self.out()
        self.out("| operation | clients | agent ops/s | provider ops/s | provider/agent "
                 "| agent p50 µs | provider p50 µs | provider − agent p50, µs "
                 "| provider p99 µs |")
        self.out("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
        for alg in PROV_OPS:
            for clients in (1, 2):
                row = self.prov.get((alg, clients, 1))
                if row is None:
                    self.out("| %s | %d | no result: see the notes |%s" % (
                        OP_NAME[alg], clients, " |" * 6))
                    continue
                a_ops = get(row, "agent", "ops_per_s")
                p_ops = get(row, "provider", "ops_per_s")
                a50 = get(row, "agent", "p50_us")
                p50 = get(row, "provider", "p50_us")
                self.out("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                    OP_NAME[alg], clients, num(a_ops), num(p_ops),
                    num(ratio(p_ops, a_ops), "%.2fx"), num(a50, "%.1f"), num(p50, "%.1f"),
                    num(None if a50 is None or p50 is None else p50 - a50, "%+.1f"),
                    num(get(row, "provider", "p99_us"), "%.1f")))
        self.out()

    def tls_median(self, key, threads, server, field):
        lines = self.tls.get((key, threads), {}).get(server)
        return statistics.median([o[field] for o in lines]) if lines else None

    def tls_table(self):
        if self.m.get("tls_missing") is not None:
            return
        m = self.m
        self.out("### TLS handshakes per second")
        self.out()
        self.out("`openssl s_server -www` (%s, one process: one connection at a time) on "
                 "127.0.0.1 with the server key in a PEM file, in the token through "
                 "libp11's pkcs11 engine (libengine-pkcs11-openssl %s, SoftHSM in the "
                 "server), or in the same token through p11agent.so and p11agentd; "
                 "client bench/tls-handshakes: full handshakes (a new connection and "
                 "session each, no resumption, the server's chain verified). %s rounds of "
                 "%s s a row, the three servers in turn; medians of the rounds."
                 % (m.get("tls_openssl", "OpenSSL"), m.get("tls_libp11", "?"),
                    m.get("tls_rounds", "?"), m.get("tls_seconds", "?")))
        neg = sorted({m[k] for k in m if k.startswith("tls_negotiated_")})
        if neg:
            self.out("Negotiated: %s." % "; ".join(neg))
        self.out()
        self.out("| key | client threads | PEM file hs/s | engine hs/s | provider hs/s "
                 "| provider/engine | provider/PEM | engine/PEM | p50 ms (PEM, engine, "
                 "provider) | each round's hs/s (PEM; engine; provider) |")
        self.out("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for key, name, _ in TLS_KEYS:
            for threads in (1, 2):
                hs = {s: self.tls_median(key, threads, s, "handshakes_per_s")
                      for s, _ in TLS_SERVERS}
                p50 = [self.tls_median(key, threads, s, "p50_us") for s, _ in TLS_SERVERS]
                rounds = "; ".join(
                    ", ".join("%.0f" % o["handshakes_per_s"] for o in
                              self.tls.get((key, threads), {}).get(s, [])) or "—"
                    for s, _ in TLS_SERVERS)
                self.out("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    name, threads, num(hs["pem"]), num(hs["engine"]), num(hs["provider"]),
                    num(ratio(hs["provider"], hs["engine"]), "%.2fx"),
                    num(ratio(hs["provider"], hs["pem"]), "%.2fx"),
                    num(ratio(hs["engine"], hs["pem"]), "%.2fx"),
                    ", ".join(num(None if v is None else v / 1000, "%.2f") for v in p50),
                    rounds))
        self.out()

    def ssh_table(self):
        if self.m.get("ssh_missing") is not None:
            return
        m = self.m
        self.out("### SSH agent protocol")
        self.out()
        self.out("Sign requests over the SSH agent protocol (one SSH_AGENTC_SIGN_REQUEST of 64 "
                 "random bytes a round trip, one connection a client; RSA rsa-sha2-256, "
                 "ECDSA ecdsa-sha2-nistp256) to p11agentd's SSH socket (`ssh`) and to "
                 "OpenSSH's ssh-agent (%s) holding the same token through its PKCS#11 "
                 "helper (`ssh-add -s`; `ssh-agent`), beside the direct and native agent "
                 "paths, interleaved in the same run. agent/ssh-agent: the native path "
                 "over ssh-agent, what the SSH socket would reach with no cost of its own."
                 % m.get("ssh_openssh", "?"))
        if m.get("ssh_front_missing"):
            self.out("The ssh path on p11agentd is not measured: %s." % m["ssh_front_missing"])
        self.out()
        self.out("| operation | clients | direct ops/s | agent ops/s | ssh ops/s "
                 "| ssh-agent ops/s | ssh/ssh-agent | ssh/agent | agent/ssh-agent "
                 "| ssh-agent/direct | p50 µs (direct, agent, ssh, ssh-agent) | ssh p99 µs "
                 "| ssh-agent p99 µs |")
        self.out("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for alg, name, _ in SSH_OPS:
            for clients in SSH_CLIENTS:
                row = self.ssh.get((alg, clients, 1))
                if row is None:
                    self.out("| %s | %d | no result: see the notes |%s" % (
                        name, clients, " |" * 10))
                    continue
                ops = {p: get(row, p, "ops_per_s") for p in ("direct", "agent", "ssh",
                                                            "ssh-agent")}
                self.out("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    name, clients, num(ops["direct"]), num(ops["agent"]), num(ops["ssh"]),
                    num(ops["ssh-agent"]), num(ratio(ops["ssh"], ops["ssh-agent"]), "%.2fx"),
                    num(ratio(ops["ssh"], ops["agent"]), "%.2fx"),
                    num(ratio(ops["agent"], ops["ssh-agent"]), "%.2fx"),
                    num(ratio(ops["ssh-agent"], ops["direct"]), "%.2fx"),
                    ", ".join(num(get(row, p, "p50_us"), "%.1f")
                              for p in ("direct", "agent", "ssh", "ssh-agent")),
                    num(get(row, "ssh", "p99_us"), "%.1f"),
                    num(get(row, "ssh-agent", "p99_us"), "%.1f")))
        self.out()

    def ssh_targets(self):
        if self.m.get("ssh_missing") is not None:
            return
        for alg, name, want in SSH_OPS:
            row = self.ssh.get((alg, 1, 1))
            r = ratio(get(row, "ssh", "ops_per_s"), get(row, "ssh-agent", "ops_per_s"))
            self.target("SSH, %s, 1 client: p11agentd's SSH socket ≥ %gx OpenSSH's ssh-agent"
                        % (name, want), opt(r, "%.2fx"), r is not None and r >= want)
        for alg, name, _ in SSH_OPS:
            row = self.ssh.get((alg, 1, 1))
            r = ratio(get(row, "ssh", "ops_per_s"), get(row, "agent", "ops_per_s"))
            self.target("SSH, %s, 1 client: the SSH socket within 10%% of the native agent "
                        "path (≥ %gx)" % (name, SSH_NATIVE_TARGET), opt(r, "%.2fx"),
                        r is not None and r >= SSH_NATIVE_TARGET)

    def provider_targets(self):
        if self.m.get("provider_missing") is not None:
            return
        for alg in PROV_OPS:
            for clients in (1, 2):
                row = self.prov.get((alg, clients, 1))
                r = ratio(get(row, "provider", "ops_per_s"), get(row, "agent", "ops_per_s"))
                self.target("%s, %d client%s: provider ≥ %gx the agent path"
                            % (OP_NAME[alg], clients, "s" if clients > 1 else "",
                               PROV_TARGET), opt(r, "%.2fx"),
                            r is not None and r >= PROV_TARGET)

    def tls_targets(self):
        if self.m.get("tls_missing") is not None:
            return
        for key, name, want in TLS_KEYS:
            for threads in (1, 2):
                p = self.tls_median(key, threads, "provider", "handshakes_per_s")
                e = self.tls_median(key, threads, "engine", "handshakes_per_s")
                r = ratio(p, e)
                self.target("TLS handshakes, %s, %d client thread%s: provider ≥ %gx "
                            "libp11's engine" % (name, threads, "s" if threads > 1 else "",
                                                 want),
                            None if r is None else "%.2fx (%.0f vs %.0f hs/s)" % (r, p, e),
                            r is not None and r >= want)

    def overhead_target(self, rows, how):
        met, missed, n = [], [], 0
        for alg, name in OPS:
            o = self.overhead(alg, rows)
            if o is None:
                continue
            n += 1
            (met if o[0] <= o[1] else missed).append("%s %+.1f µs" % (name, o[0] - o[1]))
        what = ("Overhead at 1 client%s: agent p50 − direct p50 ≤ ping p50 + 15 µs, "
                "every operation" % how)
        if not n:
            self.target(what, None, False)
            return
        s = "%d of %d operations within it" % (len(met), n)
        if missed:
            s += "; over by: " + ", ".join(missed)
        if n < len(OPS):
            s += " (%d not measured)" % (len(OPS) - n)
        self.target(what, s, False if missed else (True if n == len(OPS) else None))

    def speed_targets(self):
        # Overhead, every operation at 1 client.
        self.overhead_target(self.std, "")
        if self.lat:
            self.overhead_target(self.lat, ", client polling (P11AGENT_BUSY_POLL=%s)"
                                 % self.m.get("lat_poll_us", "?"))
        for alg, want in RATIO_TARGETS:
            r = get(self.std.get((alg, 2, 1)), "agent", "ratio_to_direct")
            self.target("%s, 2 clients: agent ≥ %gx direct" % (OP_NAME[alg], want),
                        opt(r, "%.2fx"), r is not None and r >= want)
        for clients in (1, 2):
            r = get(self.std.get(("ecdsa-sha256", clients, 64)), "agent", "ratio_to_direct")
            self.target("ECDSA P-256, batches of 64, %d client%s: agent ≥ %gx direct"
                        % (clients, "s" if clients > 1 else "", BATCH_TARGET),
                        opt(r, "%.2fx"), r is not None and r >= BATCH_TARGET)
        for alg, clients, want in PEER_TARGETS:
            for rows, how in ((self.std, ""), (self.lat, ", client polling")):
                if clients != 1 and rows is self.lat:
                    continue
                row = rows.get((alg, clients, 1))
                if rows is self.lat and row is None:
                    continue
                r = ratio(get(row, "agent", "ops_per_s"), get(row, "p11kit", "ops_per_s"))
                self.target("%s, %d client%s%s: agent ≥ %gx p11-kit's remoting"
                            % (OP_NAME[alg], clients, "s" if clients > 1 else "", how, want),
                            opt(r, "%.2fx"), r is not None and r >= want)
        self.scale_targets()

    def resource_targets(self):
        m = self.m
        idle, after = m.get("rss_idle_kib"), m.get("rss_after_kib")
        if idle is not None and after is not None:
            growth = int(after) - int(idle)
            s = "idle %s KiB, after %s operations %s KiB: %+d KiB" % (
                idle, "{:,}".format(int(m.get("mem_ops", 0))), after, growth)
            if m.get("rss_warm_kib") is not None:
                s += " (after the first %s s: %s KiB)" % (m.get("mem_chunk_s", "?"),
                                                        m["rss_warm_kib"])
            if m.get("mem_how"):
                s += "; operations: " + m["mem_how"]
            ok = growth <= MEM_GROWTH_KIB
            if ok and int(m.get("mem_ops", 0)) < 1000000:
                ok = None
            self.target("Memory: agent VmRSS growth from idle to after 1,000,000 operations "
                        "≤ %d KiB" % MEM_GROWTH_KIB, s, ok)
        else:
            self.target("Memory: agent VmRSS growth from idle to after 1,000,000 operations "
                        "≤ %d KiB" % MEM_GROWTH_KIB, None, False)

        n = m.get("idle_conns")
        b, a = m.get("rss_conns_before_kib"), m.get("rss_conns_after_kib")
        what = "{:,} idle connections: agent VmRSS growth ≤ {:d} KiB each".format(
            IDLE_CONNS, CONN_KIB)
        if n and b is not None and a is not None:
            per = (int(a) - int(b)) / int(n)
            s = "%s connections (the agent's status counts %s): %s → %s KiB, %.1f KiB each" % (
                n, m.get("idle_conns_agent", "?"), b, a, per)
            ok = per <= CONN_KIB
            if ok and int(n) < IDLE_CONNS:
                ok = None
            self.target(what, s, ok)
        else:
            self.target(what, None, False)
        self.idle_slowdown()
        self.status_ratio()

        ms = m.get("startup_ms")
        if ms:
            vals = [float(x) for x in str(ms).split()]
            med = statistics.median(vals)
            s = "median %.0f ms of %s (%s keys)" % (
                med, ", ".join("%.0f" % v for v in vals), m.get("startup_keys", "?"))
            self.target("Start-up with 100 keys: ready < %.0f ms" % STARTUP_MS, s,
                        med < STARTUP_MS)
        else:
            self.target("Start-up with 100 keys: ready < %.0f ms" % STARTUP_MS, None, False)

    def idle_slowdown(self):
        """Agent ops/s of the runs with the idle connections over those without."""
        what = ("{:,} idle connections: 2-client ECDSA P-256 slowdown ≤ {:g}%".format(
            IDLE_CONNS, IDLE_SLOWDOWN_PCT))
        without = [o["ops_per_s"] for o in self.runs_of("idle-without") if o["path"] == "agent"]
        with_ = [o["ops_per_s"] for o in self.runs_of("idle-with") if o["path"] == "agent"]
        if not without or not with_:
            self.target(what, None, False)
            return
        o0, o1 = statistics.mean(without), statistics.mean(with_)
        pct = (1 - o1 / o0) * 100
        s = "%.1f%% (agent %.0f ops/s without, %.0f with; runs: %s without, %s with)" % (
            pct, o0, o1, ", ".join("%.0f" % v for v in without),
            ", ".join("%.0f" % v for v in with_))
        ok = pct <= IDLE_SLOWDOWN_PCT
        if ok and int(self.m.get("idle_conns", 0)) < IDLE_CONNS:
            ok = None
        self.target(what, s, ok)

    def status_ratio(self):
        """Agent ops/s of the runs beside a status reader over those without."""
        hz = self.m.get("status_hz", "?")
        what = ("Status read %s times a second beside 2-client ECDSA P-256: agent ops/s "
                "with / without ≥ %gx" % ("back to back" if str(hz) == "0" else hz,
                                         STATUS_RATIO))
        without = [o["ops_per_s"] for o in self.runs_of("status-without") if o["path"] == "agent"]
        with_ = [o["ops_per_s"] for o in self.runs_of("status-with") if o["path"] == "agent"]
        if not without or not with_:
            self.target(what, None, False)
            return
        o0, o1 = statistics.mean(without), statistics.mean(with_)
        reads, ms = int(self.m.get("status_reads", 0)), int(self.m.get("status_ms", 0))
        s = "%.3fx (agent %.0f ops/s without, %.0f with; runs: %s without, %s with; %d reads, " \
            "%.0f a second)" % (o1 / o0, o0, o1, ", ".join("%.0f" % v for v in without),
                               ", ".join("%.0f" % v for v in with_), reads,
                               reads * 1000.0 / ms if ms else 0)
        self.target(what, s, o1 / o0 >= STATUS_RATIO and reads > 0)

    def runs_of(self, run):
        return [o for o in self.all_runs if o.get("run") == run]

    def targets_table(self):
        self.out("| target | measured | result |")
        self.out("|---|---|---|")
        for t in self.targets:
            self.out("| %s | %s | %s |" % t)
        self.out()

    def notes_section(self):
        if not self.notes:
            return
        self.out("Notes:")
        self.out()
        seen = set()
        for n in self.notes:
            kind = {"fail": "FAILED", "skip": "skipped", "peer": "p11-kit"}.get(
                n.get("kind"), n.get("kind"))
            line = "- %s: %s: %s" % (kind, n.get("what"), n.get("message"))
            if line not in seen:  # the client-polling rows repeat the 1-client ones
                seen.add(line)
                self.out(line)
        self.out()

    def render(self, all_runs):
        self.all_runs = all_runs
        parts = str(self.m.get("parts", "all")).split(",")
        std = "all" in parts or "std" in parts
        self.header()
        if std:
            self.main_table()
            self.latency_table()
            self.scale_table()
        self.provider_table()
        self.ssh_table()
        self.tls_table()
        if std:
            self.speed_targets()
        self.provider_targets()
        self.ssh_targets()
        self.tls_targets()
        if std:
            self.resource_targets()
        self.targets_table()
        self.notes_section()
        return "\n".join(self.lines)


def main(argv):
    if len(argv) != 2:
        print("usage: table.py RESULTS.jsonl", file=sys.stderr)
        return 2
    runs, measures, notes = load(argv[1])
    print(Report(runs, measures, notes).render(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
# pipeline-hostile.py: clients that abuse pipelining on p11agentd's sockets,
# for tests/test-pipeline-hostile.sh. The wire helpers are tests/limits.py's
# (native protocol) and tests/ssh-client.py's (SSH agent protocol); what the
# agent promises is in proto/PROTOCOL.md, Frames and Pipelining. Prints
# "PASS name" / "FAIL name: why" lines; the agent's own uid may use every key.
#
#   pipeline-hostile.py hoard SOCKET AGENT_PID LOG FRAME_TIMEOUT HMAC_HEX
#       HELLO, then 2000 pipelined SIGNs with ec256, never read; meanwhile
#       another client signs (HMAC, each checked) and the agent's VmRSS is
#       sampled. The hoarder is closed after FRAME_TIMEOUT, and logged.
#   pipeline-hostile.py burst-close SOCKET
#       connections that pipeline 16 requests and close without reading.
#   pipeline-hostile.py before-hello SOCKET
#       requests pipelined before HELLO: VERSION errors, in request order.
#   pipeline-hostile.py bad-frame SOCKET MAX_FRAME
#       good requests, then a frame length over max-frame: refused, closed.
#   pipeline-hostile.py ids SOCKET HMAC_HEX
#       16 requests of every kind with distinct ids: each reply matches.
#   pipeline-hostile.py half-frame SOCKET LOG FRAME_TIMEOUT
#       3 requests and half a fourth, then silence: 3 replies, then closed.
#   pipeline-hostile.py deny SOCKET SECONDS KEY BOUND
#       4 connections of 64 pipelined SIGNs with KEY, which this uid may not
#       use, for SECONDS: every reply a refusal, each connection's rate of
#       replies below BOUND a second. Prints "RATE r" (the fastest connection's).
#   pipeline-hostile.py signer SOCKET SECONDS KEY HMAC_HEX
#       HMAC signatures with KEY, a connection each, each checked and within
#       LATENCY_MAX, for SECONDS (at least 10).
#   pipeline-hostile.py ssh SSH_SOCKET
#       SSH agent requests pipelined in one write: answers in request order.
#   pipeline-hostile.py starve SOCKET SLOW_SECONDS
#       (a token whose C_Sign takes SLOW_SECONDS) one connection pipelines 16
#       SIGNs; meanwhile another client's pings each take under LATENCY_MAX.
#   pipeline-hostile.py read-ahead SOCKET LOG FRAME_TIMEOUT
#       (a token whose C_Sign takes longer than FRAME_TIMEOUT) 17 SIGNs in
#       one write: all answered, no "frame not complete" for this pid.
#
# SPDX-License-Identifier: Apache-2.0
import hashlib
import hmac
import importlib.util
import os
import random
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from limits import (MAX_FRAME, OP_HELLO, OP_LIST, OP_PING, OP_PUBKEY, OP_SIGN,  # noqa: E402
                    ST_BAD_REQUEST, ST_OK, ST_TOO_LARGE, connect, frame, get_string, greet,
                    hello, ping, ping_req, read_reply, report, request, results, sign_req,
                    string)

ST_UNKNOWN_OP, ST_VERSION, ST_NO_SUCH_KEY, ST_DENIED = 2, 3, 4, 11
ALG_ECDSA_SHA256, ALG_HMAC_SHA256 = 7, 11
# The agent reads at most this many requests of a connection ahead (PROTOCOL.md).
PIPELINE = 16
# A signature of the good client may take this long, connect and HELLO included.
LATENCY_MAX = 2.0


def frames_of(data):
    """The complete reply frames at the start of data, as (op, id, status,
    rest), and the bytes of an incomplete one after them. ValueError when a
    length is out of range: the stream is not frames."""
    out, off = [], 0
    while len(data) - off >= 4:
        (n,) = struct.unpack(">I", data[off:off + 4])
        if n < 9 or n > MAX_FRAME:
            raise ValueError("reply frame length %d at byte %d" % (n, off))
        if len(data) - off - 4 < n:
            break
        body = data[off + 4:off + 4 + n]
        out.append(struct.unpack(">BII", body[:9]) + (body[9:],))
        off += 4 + n
    return out, len(data) - off


def read_to_end(s, within):
    """Everything the agent sends on s until it closes it: (bytes, how it
    ended: "eof", "reset" or "open" when it was still open after `within`)."""
    data = bytearray()
    s.settimeout(within)
    deadline = time.monotonic() + within
    try:
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                return bytes(data), "eof"
            data += chunk
    except ConnectionResetError:
        return bytes(data), "reset"
    except socket.timeout:
        return bytes(data), "open"


def hup_within(s, within):
    """Seconds until the agent closes s (POLLHUP or POLLRDHUP, without reading
    what it sent), or None after `within`."""
    p = select.poll()
    p.register(s.fileno(), select.POLLHUP | getattr(select, "POLLRDHUP", 0x2000))
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        if p.poll(100):
            return time.monotonic() - t0
    return None


def log_has(path, text, within):
    """Whether the agent's log has text within `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        with open(path, errors="replace") as f:
            if text in f.read():
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def vmrss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise ValueError("no VmRSS in /proc/%d/status" % pid)


def digest(i):
    return hashlib.sha256(b"pipelined %d" % i).digest()


def hmac_sign(path, key, secret, msg):
    """One HMAC-SHA256 signature on a connection of its own: (ok, seconds, why)."""
    t0 = time.monotonic()
    try:
        s = connect(path, 10)
        greet(s)
        s.sendall(sign_req(2, key, ALG_HMAC_SHA256, msg))
        r = read_reply(s)
        s.close()
    except (OSError, ValueError) as e:
        return False, time.monotonic() - t0, "%s: %s" % (type(e).__name__, e)
    took = time.monotonic() - t0
    want = hmac.new(secret, msg, hashlib.sha256).digest()
    if r is None or r[:3] != (OP_SIGN, 2, ST_OK):
        return False, took, "reply %r" % (r[:3] if r else None,)
    if get_string(r[3]) != want:
        return False, took, "wrong MAC"
    return True, took, ""


class Signer(threading.Thread):
    """The good client: signs until stopped (at least `least` times)."""

    def __init__(self, path, key, hmac_hex, least=10):
        super().__init__(name="signer")
        self.path, self.key, self.secret = path, key.encode(), bytes.fromhex(hmac_hex)
        self.least, self.stop = least, threading.Event()
        self.n, self.worst, self.bad = 0, 0.0, []

    def run(self):
        i = 0
        while not self.stop.is_set() or i < self.least:
            i += 1
            ok, took, why = hmac_sign(self.path, self.key, self.secret,
                                      b"signed beside the pipeliners %d %f" % (i, time.time()))
            self.n += 1
            self.worst = max(self.worst, took)
            if not ok and len(self.bad) < 5:
                self.bad.append("signature %d: %s" % (i, why))
            elif ok and took >= LATENCY_MAX and len(self.bad) < 5:
                self.bad.append("signature %d took %.2f s" % (i, took))
            time.sleep(0.02)

    def verdict(self, name):
        self.stop.set()
        self.join(60)
        report(not self.is_alive() and not self.bad and self.n >= self.least,
               "%s: %d signatures, each checked, slowest %.3f s (under %.0f s)" %
               (name, self.n, self.worst, LATENCY_MAX),
               "; ".join(self.bad) or ("still running" if self.is_alive() else "only %d" % self.n))


# --- 1. 2000 pipelined SIGNs, never read -------------------------------------------


def t_hoard(path, agent_pid, log, frame_timeout, hmac_hex):
    agent_pid, frame_timeout = int(agent_pid), float(frame_timeout)
    n_req = 2000
    rss0 = vmrss_kib(agent_pid)
    peak = [rss0]
    stop_watch = threading.Event()

    def watch():
        while not stop_watch.is_set():
            try:
                peak[0] = max(peak[0], vmrss_kib(agent_pid))
            except (OSError, ValueError):
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    signer = Signer(path, "hmac", hmac_hex)
    signer.start()

    s = connect(path, 10)
    greet(s)
    reqs = b"".join(sign_req(2 + i, b"ec256", ALG_ECDSA_SHA256, digest(i)) for i in range(n_req))
    sent = [0]

    def send():
        # Blocks once the agent stops reading; ends when it closes the connection.
        try:
            s.sendall(reqs)
            sent[0] = len(reqs)
        except OSError:
            pass

    t0 = time.monotonic()
    sender = threading.Thread(target=send)
    sender.start()
    closed = hup_within(s, frame_timeout + 10)
    sender.join(10)
    signer.verdict("hoard: the good client meanwhile")
    stop_watch.set()
    watcher.join(5)

    report(closed is not None and closed >= frame_timeout - 0.5,
           "hoard: the hoarder is closed after frame-timeout (%s s, frame-timeout %.0f s)" %
           ("%.1f" % closed if closed is not None else "never", frame_timeout),
           "closed after %s s" % ("%.1f" % closed if closed is not None else "more than %.0f" %
                                  (frame_timeout + 10)))
    report(log_has(log, "pid %d: reply not read within %d ms, connection closed" %
                   (os.getpid(), frame_timeout * 1000), 3),
           "hoard: the log says the reply was not read within frame-timeout",
           "no 'pid %d: reply not read within' in %s" % (os.getpid(), log))
    growth = (peak[0] - rss0) / 1024
    report(growth < 64, "hoard: the agent's VmRSS grew %.1f MiB (under 64)" % growth,
           "VmRSS %d kB before, %d kB at most" % (rss0, peak[0]))
    # What the agent sent before it gave up: whole SIGN replies for requests
    # that were sent, each once, then the end of the stream.
    data, end = read_to_end(s, 5)
    s.close()
    try:
        got, partial = frames_of(data)
        ids = [r[1] for r in got]
        ok = (all(r[0] == OP_SIGN and r[2] == ST_OK for r in got) and
              len(set(ids)) == len(ids) and all(2 <= i < 2 + n_req for i in ids))
        why = "replies %r" % [r[:3] for r in got if r[0] != OP_SIGN or r[2] != ST_OK][:3]
    except ValueError as e:
        ok, why, got, partial = False, str(e), [], 0
    report(ok and end in ("eof", "reset"),
           "hoard: what came before the close is %d whole SIGN replies, each once, then the "
           "end of the stream (%s)" % (len(got), end), "%s; stream end: %s" % (why, end))
    report(len(got) < n_req, "hoard: the agent did not answer all %d (it stopped reading)" % n_req,
           "all %d answered: the socket never filled" % n_req)


# --- 2. 16 requests, then gone -------------------------------------------------------


def t_burst_close(path):
    reqs = b"".join(sign_req(2 + i, b"rsa2048" if i % 2 else b"ec256",
                             0, digest(i)) for i in range(PIPELINE))
    errors = []
    for round_ in range(40):
        try:
            s = connect(path, 10)
            greet(s)
            s.sendall(reqs)
            if round_ % 2:
                time.sleep(0.01)  # some replies come, unread: the agent's writes fail
            s.close()
        except OSError as e:
            errors.append("%s: %s" % (type(e).__name__, e))
    report(not errors, "burst-close: 40 connections pipelined 16 requests and closed",
           "; ".join(errors[:3]))
    s = connect(path, 10)
    greet(s)
    report(ping(s, 2), "burst-close: a new client is served after them")
    s.close()


# --- 3. before HELLO ---------------------------------------------------------------


def expect_seq(s, want, name):
    """Reads len(want) replies; want holds (op, id, status) in order."""
    got = []
    for _ in want:
        r = read_reply(s)
        if r is None:
            break
        got.append(r)
    ok = [r[:3] for r in got] == list(want)
    report(ok, name, "got %r, expected %r" % ([r[:3] for r in got], list(want)))
    return got


def t_before_hello(path):
    s = connect(path, 10)
    s.sendall(ping_req(7, b"early") + sign_req(8, b"ec256", 0, digest(1)))
    got = expect_seq(s, [(OP_PING, 7, ST_VERSION), (OP_SIGN, 8, ST_VERSION)],
                     "before-hello: PING then SIGN in one write get VERSION, in order")
    msg = get_string(got[0][3]) if got else b""
    report(b"the first request must be hello" in msg,
           "before-hello: the message says the first request must be hello", "message %r" % msg)
    s.close()

    s = connect(path, 10)
    s.sendall(sign_req(5, b"ec256", 0, digest(2)) + hello(6))
    expect_seq(s, [(OP_SIGN, 5, ST_VERSION), (OP_HELLO, 6, ST_OK)],
               "before-hello: SIGN then HELLO in one write: VERSION, then HELLO ok, in order")
    report(ping(s, 9), "before-hello: the connection serves requests after that HELLO")
    s.close()

    # Many at once: one at a time before HELLO, so the replies keep the order.
    s = connect(path, 10)
    ids = [1000 - 7 * i for i in range(20)]
    s.sendall(b"".join(ping_req(i, b"p%d" % i) if i % 2 else request(OP_LIST, i) for i in ids))
    expect_seq(s, [(OP_PING if i % 2 else OP_LIST, i, ST_VERSION) for i in ids],
               "before-hello: 20 requests in one write get 20 VERSION errors, in request order")
    s.close()


# --- 4. a frame over max-frame among pipelined requests ------------------------------


def t_bad_frame(path, max_frame):
    max_frame = int(max_frame)
    for good in (5, PIPELINE + 4):
        name = "bad-frame after %d good requests" % good
        s = connect(path, 10)
        greet(s)
        reqs = [sign_req(10 + i, b"rsa2048", 0, digest(i)) if i % 2 else ping_req(10 + i, b"g%d" % i)
                for i in range(good)]
        s.sendall(b"".join(reqs) + struct.pack(">I", max_frame + 1) + b"\x02\x00\x00\x00\x63")
        data, end = read_to_end(s, 10)
        s.close()
        try:
            got, partial = frames_of(data)
        except ValueError as e:
            report(False, "%s: the replies are whole frames" % name, str(e))
            continue
        # PROTOCOL.md: replies of the good ones may come, each right; then one
        # refusal (op 0, id 0, TOO_LARGE), then the end; nothing after it.
        refusal = [r for r in got if r[:2] == (0, 0)]
        others = [r for r in got if r[:2] != (0, 0)]
        report(len(refusal) == 1 and got[-1][:3] == (0, 0, ST_TOO_LARGE) and partial == 0,
               "%s: one refusal (op 0, id 0, TOO_LARGE), last" % name,
               "frames %r, %d bytes of a frame after them" % ([r[:3] for r in got], partial))
        if refusal:
            report(b"frame length out of range" in get_string(refusal[0][3]),
                   "%s: the refusal says the frame length is out of range" % name,
                   "message %r" % get_string(refusal[0][3]))
        ids = [r[1] for r in others]
        report(all((r[0], r[2]) == (OP_SIGN if (r[1] - 10) % 2 else OP_PING, ST_OK) for r in others) and
               len(set(ids)) == len(ids) and all(10 <= i < 10 + good for i in ids),
               "%s: the %d replies that came before it are each right" % (name, len(others)),
               "replies %r" % [r[:3] for r in others])
        report(end in ("eof", "reset"), "%s: then the connection is closed (%s)" % (name, end),
               "still open after 10 s")
    s = connect(path, 10)
    greet(s)
    report(ping(s, 2), "bad-frame: the agent serves a new client after them")
    s.close()


# --- 5. replies carry their request's id and opcode ----------------------------------


def t_ids(path, hmac_hex):
    secret = bytes.fromhex(hmac_hex)
    rng = random.Random(15)
    s = connect(path, 10)
    greet(s)
    rounds, reordered, bad = 20, 0, []
    for rnd in range(rounds):
        ids = rng.sample(range(1, 1 << 32), PIPELINE)
        want = {}  # id -> (op, status, check of the reply's fields)
        out = []
        for k, rid in enumerate(ids):
            kind = k % 8
            if kind == 0:
                msg = b"mac %d %d" % (rnd, rid)
                mac = hmac.new(secret, msg, hashlib.sha256).digest()
                out.append(sign_req(rid, b"hmac", ALG_HMAC_SHA256, msg))
                want[rid] = (OP_SIGN, ST_OK, lambda r, mac=mac: get_string(r) == mac)
            elif kind == 1:
                out.append(sign_req(rid, b"rsa2048", 0, digest(rid)))
                want[rid] = (OP_SIGN, ST_OK, lambda r: len(get_string(r)) == 256)
            elif kind == 2:
                data = b"ping %d" % rid
                out.append(ping_req(rid, data))
                want[rid] = (OP_PING, ST_OK, lambda r, data=data: get_string(r) == data)
            elif kind == 3:
                out.append(request(OP_LIST, rid))
                want[rid] = (OP_LIST, ST_OK, lambda r: struct.unpack(">I", r[:4])[0] >= 4)
            elif kind == 4:
                out.append(sign_req(rid, b"no-such-key-%d" % rid, 0, digest(rid)))
                want[rid] = (OP_SIGN, ST_NO_SUCH_KEY, None)
            elif kind == 5:
                out.append(request(OP_PUBKEY, rid, string(b"ed25519")))
                want[rid] = (OP_PUBKEY, ST_OK, lambda r: len(get_string(r)) == 44)
            elif kind == 6:
                out.append(request(200, rid))
                want[rid] = (200, ST_UNKNOWN_OP, None)
            else:
                out.append(request(OP_PING, rid, struct.pack(">I", 99) + b"short"))
                want[rid] = (OP_PING, ST_BAD_REQUEST, None)
        s.sendall(b"".join(out))
        got = []
        for _ in range(PIPELINE):
            r = read_reply(s)
            if r is None:
                break
            got.append(r)
        got_ids = [r[1] for r in got]
        if sorted(got_ids) != sorted(ids):
            bad.append("round %d: ids %r, sent %r" % (rnd, sorted(got_ids), sorted(ids)))
            break
        for r in got:
            op, st, check = want[r[1]]
            if r[0] != op or r[2] != st or (check is not None and not check(r[3])):
                bad.append("round %d: id %d: op %d status %d, expected op %d status %d%s" %
                           (rnd, r[1], r[0], r[2], op, st, "" if r[:3] != (op, r[1], st)
                            else " (wrong reply fields)"))
        if got_ids != ids:
            reordered += 1
    report(not bad, "ids: %d rounds of 16 pipelined requests (SIGN, PING, LIST, PUBKEY, an unknown "
           "key, an unknown opcode, a bad field): every id answered once, with its opcode, status "
           "and fields (%d rounds came out of order)" % (rounds, reordered), "; ".join(bad[:3]))
    s.settimeout(0.5)
    try:
        extra = s.recv(4096)
    except socket.timeout:
        extra = b""
    report(extra == b"", "ids: no reply beyond one per request", "%d more bytes" % len(extra))
    report(ping(s, 1), "ids: the connection goes on")
    s.close()


# --- 6. half a frame after 3 whole ones ----------------------------------------------


def t_half_frame(path, log, frame_timeout):
    frame_timeout = float(frame_timeout)
    s = connect(path, 10)
    greet(s)
    fourth = ping_req(13, b"never finished" * 10)
    t0 = time.monotonic()
    s.sendall(ping_req(10, b"a") + sign_req(11, b"ec256", 0, digest(11)) + request(OP_LIST, 12) +
              fourth[:len(fourth) // 2])
    got = {}
    s.settimeout(LATENCY_MAX)
    try:
        for _ in range(3):
            r = read_reply(s)
            if r is None:
                break
            got[r[1]] = r[:3]
    except socket.timeout:
        pass
    report(got == {10: (OP_PING, 10, ST_OK), 11: (OP_SIGN, 11, ST_OK), 12: (OP_LIST, 12, ST_OK)},
           "half-frame: the 3 whole requests are answered", "got %r" % got)
    data, end = read_to_end(s, frame_timeout + 5)
    took = time.monotonic() - t0
    s.close()
    report(end in ("eof", "reset") and data == b"" and took >= frame_timeout - 0.5,
           "half-frame: then closed after frame-timeout (%.1f s; frame-timeout %.0f s)" %
           (took, frame_timeout),
           "%s after %.1f s, %d more bytes" % (end, took, len(data)))
    report(log_has(log, "pid %d: frame not complete within %d ms, connection closed" %
                   (os.getpid(), frame_timeout * 1000), 3),
           "half-frame: the log says the frame was not complete within frame-timeout",
           "no 'pid %d: frame not complete within' in %s" % (os.getpid(), log))


# --- 7. a flood of denied requests on pipelined connections --------------------------


def t_deny(path, seconds, key, bound):
    seconds, bound = float(seconds), float(bound)
    rates, other, lock = [], [], threading.Lock()

    def flood(k):
        s = connect(path, 10)
        greet(s)
        batch = b"".join(sign_req(2 + i, key.encode(), ALG_HMAC_SHA256, b"denied %d %d" % (k, i))
                         for i in range(64))
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            s.sendall(batch)
            ids = set()
            for _ in range(64):
                r = read_reply(s)
                if r is None or r[0] != OP_SIGN or r[2] not in (ST_DENIED, ST_NO_SUCH_KEY):
                    with lock:
                        other.append(r[:3] if r else None)
                    s.close()
                    return
                ids.add(r[1])
                n += 1
            if ids != set(range(2, 66)):
                with lock:
                    other.append("ids of a batch: %d distinct" % len(ids))
        took = time.monotonic() - t0
        s.close()
        with lock:
            rates.append(n / took)

    threads = [threading.Thread(target=flood, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    report(not other and len(rates) == 4,
           "deny: 4 pipelined connections: every reply a refusal (DENIED or NO_SUCH_KEY)",
           "other replies: %r" % other[:5])
    fastest = max(rates) if rates else 0.0
    print("RATE %.0f" % fastest, flush=True)
    print("replies a second, per connection: %s" % ", ".join("%.0f" % r for r in rates), flush=True)
    if bound > 0:
        report(rates and fastest < bound,
               "deny: the flood is slowed: at most %.0f replies a second per connection "
               "(under %.0f)" % (fastest, bound), "a connection got %.0f a second" % fastest)


def t_signer(path, seconds, key, hmac_hex):
    signer = Signer(path, key, hmac_hex)
    signer.start()
    time.sleep(float(seconds))
    signer.verdict("signer")


# --- on a slow token (tests/faultmod.c: every C_Sign sleeps) ----------------------


def t_starve(path, slow):
    """One connection pipelines 16 slow SIGNs: another client's PING must
    not wait for all of them, only for a worker (a slow signature at most)."""
    slow = float(slow)
    s = connect(path, 60)
    greet(s)
    lat, errors = [], []
    stop = threading.Event()

    def pinger():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                p = connect(path, 60)
                greet(p)
                ok = ping(p, 2)
                p.close()
            except (OSError, ValueError) as e:
                ok = False
                errors.append("%s: %s" % (type(e).__name__, e))
            lat.append(time.monotonic() - t0)
            if not ok:
                errors.append("ping %d failed" % len(lat))
            time.sleep(0.05)

    s.sendall(b"".join(sign_req(2 + i, b"ec256", 0, digest(i)) for i in range(PIPELINE)))
    time.sleep(0.2)  # the 16 are read and running
    t = threading.Thread(target=pinger)
    t.start()
    s.settimeout(60)
    got = []
    for _ in range(PIPELINE):
        r = read_reply(s)
        if r is None:
            break
        got.append(r[:3])
    stop.set()
    t.join(70)
    s.close()
    report(sorted(got) == [(OP_SIGN, 2 + i, ST_OK) for i in range(PIPELINE)],
           "starve: the 16 slow SIGNs are each answered", "got %r" % got)
    worst = max(lat) if lat else 0.0
    report(lat and not errors and worst < LATENCY_MAX,
           "starve: while one connection has 16 slow SIGNs (%.1f s each) in flight, another "
           "client's pings each take under %.0f s (%d, slowest %.2f s)" %
           (slow, LATENCY_MAX, len(lat), worst),
           "slowest ping %.2f s; %s" % (worst, "; ".join(errors[:3])))


def t_read_ahead(path, log, frame_timeout):
    """17 whole SIGNs in one write, each slower than frame-timeout: the
    17th, read ahead of its turn, is not a frame left unfinished."""
    frame_timeout = float(frame_timeout)
    s = connect(path, 60)
    greet(s)
    s.sendall(b"".join(sign_req(2 + i, b"ec256", 0, digest(i)) for i in range(PIPELINE + 1)))
    s.settimeout(60)
    got, end = [], "open"
    try:
        for _ in range(PIPELINE + 1):
            r = read_reply(s)
            if r is None:
                end = "eof"
                break
            got.append(r[:3])
    except ConnectionResetError:
        end = "reset"
    s.close()
    report(sorted(got) == [(OP_SIGN, 2 + i, ST_OK) for i in range(PIPELINE + 1)],
           "read-ahead: 17 whole SIGNs in one write, slower than frame-timeout (%.0f s), are "
           "each answered" % frame_timeout,
           "%d replies, then %s" % (len(got), end))
    report(not log_has(log, "pid %d: frame not complete within" % os.getpid(), 0),
           "read-ahead: the agent does not log a whole frame as 'not complete'",
           "the log says 'pid %d: frame not complete within'" % os.getpid())


# --- 8. the SSH socket: one at a time, in order --------------------------------------


def t_ssh(path):
    spec = importlib.util.spec_from_file_location(
        "ssh_client", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ssh-client.py"))
    ssh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ssh)

    def answers(s, n):
        out = []
        for _ in range(n):
            b = ssh.read_reply(s)
            if b is None:
                break
            out.append(b)
        return out

    s = ssh.connect(path)
    s.sendall(ssh.frame(bytes([ssh.REQUEST_IDENTITIES])) * 2)
    got = answers(s, 2)
    ok = len(got) == 2 and all(b[0] == ssh.IDENTITIES_ANSWER for b in got) and got[0] == got[1]
    report(ok, "ssh: two REQUEST_IDENTITIES in one write get two identical answers",
           "reply types %r" % [b[0] for b in got])
    keys = ssh.parse_identities(got[0]) if ok else []
    report(len(keys) >= 2, "ssh: the answer lists the keys (%d)" % len(keys), "%d keys" % len(keys))
    # A slow request first (an RSA signature), then quick ones: with one
    # request at a time the answers keep the order of the requests.
    rsa = [blob for blob, _ in keys if blob[4:11] == b"ssh-rsa"]
    order = []
    msgs = []
    if rsa:
        msgs.append(ssh.sign_request(rsa[0], b"pipelined ssh data", ssh.RSA_SHA2_256))
        order.append((ssh.SIGN_RESPONSE, ssh.FAILURE))
    for i in range(6):
        if i % 2:
            msgs.append(bytes([200]))  # unknown: SSH_AGENT_FAILURE
            order.append((ssh.FAILURE,))
        else:
            msgs.append(bytes([ssh.REQUEST_IDENTITIES]))
            order.append((ssh.IDENTITIES_ANSWER,))
    s.sendall(b"".join(ssh.frame(m) for m in msgs))
    got = answers(s, len(msgs))
    types = [b[0] for b in got]
    report(len(got) == len(msgs) and all(t in o for t, o in zip(types, order)),
           "ssh: %d requests in one write (%san unknown type between identities) answered in "
           "request order" % (len(msgs), "an RSA signature, then " if rsa else ""),
           "reply types %r, expected %r" % (types, order))
    s.close()


def main(argv):
    cmds = {"hoard": (t_hoard, 5), "burst-close": (t_burst_close, 1),
            "before-hello": (t_before_hello, 1), "bad-frame": (t_bad_frame, 2),
            "ids": (t_ids, 2), "half-frame": (t_half_frame, 3), "deny": (t_deny, 4),
            "signer": (t_signer, 4), "ssh": (t_ssh, 1), "starve": (t_starve, 2),
            "read-ahead": (t_read_ahead, 3)}
    if not argv or argv[0] not in cmds or len(argv) - 1 != cmds[argv[0]][1]:
        print("usage: see the head of pipeline-hostile.py", file=sys.stderr)
        return 2
    try:
        cmds[argv[0]][0](*argv[1:])
    except (OSError, ValueError) as e:
        report(False, argv[0], "%s: %s" % (type(e).__name__, e))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

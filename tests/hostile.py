#!/usr/bin/env python3
# hostile.py: clients that misbehave on p11agentd's socket, for
# tests/test-hostile.sh. Each attack runs in its own thread while a
# well-behaved client pings; prints "PASS name" / "FAIL name: why" lines.
#
#   hostile.py SOCKET [STALL_SECONDS]
#
# The frame format is in proto/PROTOCOL.md.
#
# SPDX-License-Identifier: Apache-2.0
import os
import socket
import struct
import sys
import threading
import time

SOCK = sys.argv[1]
STALL = float(sys.argv[2]) if len(sys.argv) > 2 else 6.0
MAX_FRAME = 1024 * 1024

OP_HELLO, OP_PING, OP_LIST = 1, 2, 3
OP_KEYGEN, OP_ROTATE, OP_VERSIONS, OP_TRIM, OP_REWRAP, OP_CERT_IMPORT = 15, 16, 17, 18, 19, 20
OP_STATUS = 22
ST_OK, ST_BAD_REQUEST, ST_UNKNOWN_OP, ST_VERSION = 0, 1, 2, 3
ST_NO_SUCH_KEY, ST_BAD_INPUT, ST_TOO_LARGE, ST_DENIED = 4, 8, 10, 11

lock = threading.Lock()
results = []


def report(ok, name, why=""):
    with lock:
        results.append(ok)
        print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)), flush=True)


def connect(timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(SOCK)
    return s


def frame(body):
    return struct.pack(">I", len(body)) + body


def request(op, rid, fields=b""):
    return frame(struct.pack(">BI", op, rid) + fields)


def string(b):
    return struct.pack(">I", len(b)) + b


def hello(rid=1, version=2):
    return request(OP_HELLO, rid, struct.pack(">I", version))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_reply(s):
    """Returns (op, id, status, rest) or None when the agent closed."""
    head = recv_exact(s, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n < 9 or n > MAX_FRAME:
        raise ValueError("reply frame length %d" % n)
    body = recv_exact(s, n)
    if body is None:
        return None
    op, rid, status = struct.unpack(">BII", body[:9])
    return op, rid, status, body[9:]


def refused_and_closed(s, within, status):
    """True when the agent answers s with one error frame of opcode 0, id 0
    and the given status (PROTOCOL.md: a refused connection is told why),
    then closes it, all within the given seconds."""
    s.settimeout(within)
    try:
        r = read_reply(s)
        if r is None:
            return False, "closed without saying why"
        op, rid, st, rest = r
        if (op, rid, st) != (0, 0, status):
            return False, "got op %d id %d status %d" % (op, rid, st)
        data = s.recv(4096)
        return data == b"", "got %d more bytes after the error frame" % len(data)
    except ConnectionResetError:
        return False, "connection reset"
    except socket.timeout:
        return False, "still open after %.0f s" % within


def greet(s):
    s.sendall(hello())
    r = read_reply(s)
    if r is None or r[0] != OP_HELLO or r[1] != 1 or r[2] != ST_OK:
        raise ValueError("HELLO failed: %r" % (r,))


def ping(s, rid, data=b"abcd"):
    s.sendall(request(OP_PING, rid, string(data)))
    r = read_reply(s)
    return r is not None and r[:3] == (OP_PING, rid, ST_OK) and r[3] == string(data)


def attack(name, fn):
    def run():
        try:
            fn(name)
        except Exception as e:  # noqa: BLE001 - any exception is a failure to report
            report(False, name, "%s: %s" % (type(e).__name__, e))

    t = threading.Thread(target=run, name=name)
    t.start()
    return t


# --- the attacks -----------------------------------------------------------


def garbage(name):
    rnd = os.urandom(8192)
    # Random bytes, a frame length below the minimum, and bytes that make a
    # plausible header followed by nonsense.
    for i, payload in enumerate([rnd, b"\x00\x00\x00\x02xx", b"GET / HTTP/1.0\r\n\r\n" + rnd]):
        s = connect()
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.settimeout(5)
        try:
            while s.recv(65536):
                pass
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
    report(True, name)


def oversized(name):
    for length in (0xFFFFFFFF, MAX_FRAME + 1, 0, 4):
        s = connect()
        greet(s)
        s.sendall(struct.pack(">I", length) + b"\x02")
        status = ST_TOO_LARGE if length > MAX_FRAME else ST_BAD_REQUEST
        ok, why = refused_and_closed(s, 5, status)
        s.close()
        report(ok, "%s: length %#x closes the connection" % (name, length), why)
    # Before HELLO, too.
    s = connect()
    s.sendall(b"\xff\xff\xff\xff")
    ok, why = refused_and_closed(s, 5, ST_TOO_LARGE)
    s.close()
    report(ok, "%s: before HELLO" % name, why)


def half_frames(name, n=24):
    conns = []
    for i in range(n):
        s = connect()
        if i % 2 == 0:
            s.sendall(hello()[:6])  # half of the HELLO frame
        else:
            greet(s)
            s.sendall(request(OP_PING, 2, string(b"x" * 1000))[:500])  # half a PING
        conns.append(s)
    time.sleep(STALL)
    # They were stalled, not dropped: the halves can still be finished.
    s = conns[1]
    s.sendall(request(OP_PING, 2, string(b"x" * 1000))[500:])
    r = read_reply(s)
    report(r is not None and r[:3] == (OP_PING, 2, ST_OK), "%s: a stalled frame completes" % name,
           "reply %r" % (r[:3] if r else None,))
    for s in conns:
        s.close()
    report(True, "%s: %d stalled connections held %.0f s" % (name, n, STALL))


def slow_hello(name):
    s = connect()
    for b in hello():
        s.send(bytes([b]))
        time.sleep(0.2)
    r = read_reply(s)
    ok = r is not None and r[:3] == (OP_HELLO, 1, ST_OK)
    report(ok, "%s: HELLO one byte at a time" % name, "reply %r" % (r,))
    report(ok and ping(s, 2), "%s: then PING" % name)
    s.close()


def disconnect_mid_request(name):
    for _ in range(5):
        # A promised body that never comes.
        s = connect()
        greet(s)
        s.sendall(struct.pack(">I", 1000) + b"\x05" + b"\x00" * 9)
        s.close()
        # Many requests, then gone before reading a reply: the agent's writes fail.
        s = connect()
        greet(s)
        s.sendall(b"".join(request(OP_LIST, i) for i in range(2, 300)))
        s.close()
        # Gone right after a complete request.
        s = connect()
        s.sendall(hello())
        s.close()
    report(True, name)


def protocol_errors(name):
    s = connect()
    s.sendall(request(OP_PING, 1, string(b"abcd")))
    r = read_reply(s)
    report(r is not None and r[:3] == (OP_PING, 1, ST_VERSION), "%s: PING before HELLO gets VERSION" % name,
           "reply %r" % (r[:3] if r else None,))
    greet(s)
    s.sendall(request(200, 7))
    r = read_reply(s)
    report(r is not None and r[:3] == (200, 7, ST_UNKNOWN_OP), "%s: unknown opcode gets UNKNOWN_OP" % name,
           "reply %r" % (r[:3] if r else None,))
    s.sendall(request(OP_PING, 8, struct.pack(">I", 100) + b"abcd"))
    r = read_reply(s)
    report(r is not None and r[:3] == (OP_PING, 8, ST_BAD_REQUEST),
           "%s: truncated field gets BAD_REQUEST" % name, "reply %r" % (r[:3] if r else None,))
    s.sendall(request(OP_PING, 9, string(b"abcd") + b"extra"))
    r = read_reply(s)
    report(r is not None and r[:3] == (OP_PING, 9, ST_BAD_REQUEST),
           "%s: trailing bytes get BAD_REQUEST" % name, "reply %r" % (r[:3] if r else None,))
    s.sendall(request(5, 10, string(b"")))  # SIGN with an empty key and nothing else
    r = read_reply(s)
    report(r is not None and r[:3] == (5, 10, ST_BAD_REQUEST), "%s: bad SIGN gets BAD_REQUEST" % name,
           "reply %r" % (r[:3] if r else None,))
    report(ping(s, 11), "%s: connection usable after errors" % name)
    # The largest legal frame: a PING whose echo would not fit in a frame
    # gets a TOO_LARGE error reply, and the connection goes on.
    big = b"x" * (MAX_FRAME - 9)
    s.sendall(request(OP_PING, 12, string(big)))
    r = read_reply(s)
    report(r is not None and r[:3] == (OP_PING, 12, ST_TOO_LARGE),
           "%s: 1 MiB PING gets TOO_LARGE" % name, "reply %r" % (r[:3] if r else None,))
    report(ping(s, 13), "%s: connection usable after a 1 MiB frame" % name)
    s.close()
    # HELLO with a higher version gets ours; versions 0 and 1 get VERSION.
    s = connect()
    s.sendall(hello(1, 7))
    r = read_reply(s)
    report(r is not None and r[:3] == (OP_HELLO, 1, ST_OK) and r[3][:4] == struct.pack(">I", 2),
           "%s: HELLO version 7 gets version 2" % name, "reply %r" % (r,))
    s.close()
    s = connect()
    s.sendall(hello(1, 0))
    r = read_reply(s)
    report(r is None or r[:3] == (OP_HELLO, 1, ST_VERSION), "%s: HELLO version 0 refused" % name,
           "reply %r" % (r,))
    s.close()
    s = connect()
    s.sendall(hello(1, 1))
    r = read_reply(s)
    report(r is None or r[:3] == (OP_HELLO, 1, ST_VERSION), "%s: HELLO version 1 refused" % name,
           "reply %r" % (r,))
    s.close()


def u32(v):
    return struct.pack(">I", v)


def key_count(s, rid):
    s.sendall(request(OP_LIST, rid))
    r = read_reply(s)
    if r is None or r[:3] != (OP_LIST, rid, ST_OK) or len(r[3]) < 4:
        return None
    return struct.unpack(">I", r[3][:4])[0]


def bad_lifecycle(name):
    """The lifecycle requests with every field wrong: each gets its error
    reply, the connection goes on, and no key appears or goes away. The
    client is the agent's own uid, an admin, so the fields are checked."""
    s = connect()
    greet(s)
    before = key_count(s, 2)
    bad = [
        ("keygen: name with a slash", OP_KEYGEN, string(b"../x") + string(b"ec:P-256") + u32(0), ST_BAD_INPUT),
        ("keygen: empty name", OP_KEYGEN, string(b"") + string(b"ec:P-256") + u32(0), ST_BAD_REQUEST),
        ("keygen: 65-byte name", OP_KEYGEN, string(b"n" * 65) + string(b"ec:P-256") + u32(0), ST_BAD_INPUT),
        ("keygen: name with '@'", OP_KEYGEN, string(b"k@2") + string(b"ec:P-256") + u32(0), ST_BAD_INPUT),
        ("keygen: name with a NUL", OP_KEYGEN, string(b"a\0b") + string(b"ec:P-256") + u32(0), None),
        ("keygen: rsa:1024", OP_KEYGEN, string(b"weak") + string(b"rsa:1024") + u32(0), ST_BAD_INPUT),
        ("keygen: 100 kB type", OP_KEYGEN, string(b"big") + string(b"r" * 100000) + u32(0), ST_BAD_INPUT),
        ("keygen: every ops bit", OP_KEYGEN, string(b"allops") + string(b"ec:P-256") + u32(0xFFFFFFFF),
         ST_BAD_INPUT),
        ("keygen: missing ops", OP_KEYGEN, string(b"short") + string(b"ec:P-256"), ST_BAD_REQUEST),
        ("rotate: no such key", OP_ROTATE, string(b"no-such-key"), ST_NO_SUCH_KEY),
        ("versions: no such key", OP_VERSIONS, string(b"no-such-key"), ST_NO_SUCH_KEY),
        ("trim: below 0", OP_TRIM, string(b"no-such-key") + u32(0), None),
        ("rewrap: no such key", OP_REWRAP, string(b"no-such-key") + u32(19) + string(b"") + string(b"x" * 40),
         ST_NO_SUCH_KEY),
        ("cert-import: no such key", OP_CERT_IMPORT, string(b"no-such-key") + string(b"\x30\x03\x02\x01\x01"),
         ST_NO_SUCH_KEY),
    ]
    rid = 10
    for what, op, fields, want in bad:
        s.sendall(request(op, rid, fields))
        r = read_reply(s)
        if want is None:
            ok = r is not None and r[:2] == (op, rid) and r[2] != ST_OK
        else:
            ok = r is not None and r[:3] == (op, rid, want)
        report(ok, "%s: %s refused" % (name, what), "reply %r" % (r[:3] if r else None,))
        rid += 1
    report(ping(s, rid), "%s: connection usable after them" % name)
    after = key_count(s, rid + 1)
    report(before is not None and before == after, "%s: no key made or lost (%s keys)" % (name, after),
           "%r keys before, %r after" % (before, after))
    s.close()


def status_entries(body):
    """The entry count of a STATUS reply's body (PROTOCOL.md, STATUS), or None
    when the fields before it do not parse."""
    try:
        off = 0
        for kind in ("s", "q", "s", "s", "u", "q", "u", "u", "u"):
            if kind == "s":
                (n,) = struct.unpack(">I", body[off:off + 4])
                off += 4 + n
            else:
                off += 8 if kind == "q" else 4
        return struct.unpack(">I", body[off:off + 4])[0]
    except struct.error:
        return None


def bad_status(name):
    """STATUS frames with every part wrong: each gets its error reply and the
    connection goes on; a good one after them parses."""
    s = connect()
    s.sendall(request(OP_STATUS, 2))
    r = read_reply(s)
    report(r is not None and r[:3] == (OP_STATUS, 2, ST_VERSION), "%s: STATUS before HELLO gets VERSION" % name,
           "reply %r" % (r[:3] if r else None,))
    greet(s)
    bad = [
        ("a field it does not take", string(b"all")),
        ("one trailing byte", b"\x00"),
        ("a u32 of garbage", struct.pack(">I", 0xFFFFFFFF)),
        ("a 64 kB tail", os.urandom(65536)),
    ]
    rid = 10
    for what, fields in bad:
        s.sendall(request(OP_STATUS, rid, fields))
        r = read_reply(s)
        report(r is not None and r[:3] == (OP_STATUS, rid, ST_BAD_REQUEST),
               "%s: STATUS with %s gets BAD_REQUEST" % (name, what), "reply %r" % (r[:3] if r else None,))
        rid += 1
    # A STATUS frame cut short: its header only, in a frame that says one byte more.
    s.sendall(struct.pack(">I", 6) + struct.pack(">BI", OP_STATUS, rid))
    time.sleep(0.2)
    s.sendall(b"\x00")  # the missing byte: now it is a STATUS with a trailing byte
    r = read_reply(s)
    report(r is not None and r[:3] == (OP_STATUS, rid, ST_BAD_REQUEST),
           "%s: STATUS completed late, with a stray byte, gets BAD_REQUEST" % name,
           "reply %r" % (r[:3] if r else None,))
    report(ping(s, rid + 2), "%s: connection usable after them" % name)
    s.sendall(request(OP_STATUS, rid + 3))
    r = read_reply(s)
    ok = r is not None and r[:3] == (OP_STATUS, rid + 3, ST_OK) and status_entries(r[3]) is not None
    report(ok, "%s: a good STATUS after them parses (%s entries)" % (name, status_entries(r[3]) if r else None),
           "reply %r" % (r[:3] if r else None,))
    s.close()


def good_pinger(name, stop):
    """A well-behaved client on one connection; no ping may take long."""
    s = connect()
    greet(s)
    worst, n, rid = 0.0, 0, 2
    while not stop.is_set():
        t0 = time.monotonic()
        if not ping(s, rid):
            report(False, name, "ping %d failed" % rid)
            return
        worst = max(worst, time.monotonic() - t0)
        n += 1
        rid += 1
        time.sleep(0.02)
    s.close()
    report(n > 0 and worst < 2.0, "%s: %d pings, slowest %.3f s" % (name, n, worst),
           "slowest ping took %.3f s" % worst)


def main():
    stop = threading.Event()
    pinger = attack("good client", lambda name: good_pinger(name, stop))
    threads = [
        attack("garbage", garbage),
        attack("oversized length", oversized),
        attack("half frames", half_frames),
        attack("slow client", slow_hello),
        attack("disconnect mid-request", disconnect_mid_request),
        attack("protocol errors", protocol_errors),
        attack("bad lifecycle requests", bad_lifecycle),
        attack("bad status requests", bad_status),
    ]
    for t in threads:
        t.join(STALL + 20)
    stop.set()
    pinger.join(10)
    for t in threads + [pinger]:
        if t.is_alive():
            report(False, t.name, "did not finish in time")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

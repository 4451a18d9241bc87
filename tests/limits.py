#!/usr/bin/env python3
# limits.py: clients that run into p11agentd's limits, for tests/test-limits.sh
# (and the protocol helpers tests/soak.py uses). Prints "PASS name" /
# "FAIL name: why" lines; the frame format is in proto/PROTOCOL.md.
#
#   limits.py max-frame SOCKET MAX_FRAME
#   limits.py max-connections SOCKET N
#   limits.py idle-timeout SOCKET SECONDS
#   limits.py frame-timeout SOCKET SECONDS
#   limits.py shutdown SOCKET AGENT_PID
#
# SPDX-License-Identifier: Apache-2.0
import os
import signal
import socket
import struct
import sys
import threading
import time

MAX_FRAME = 1024 * 1024
OP_HELLO, OP_PING, OP_LIST, OP_PUBKEY, OP_SIGN = 1, 2, 3, 4, 5
ST_OK, ST_BAD_REQUEST, ST_TOO_LARGE, ST_BUSY = 0, 1, 10, 14

results = []
_lock = threading.Lock()


def report(ok, name, why=""):
    with _lock:
        results.append(ok)
        print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)), flush=True)


def connect(path, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def frame(body):
    return struct.pack(">I", len(body)) + body


def request(op, rid, fields=b""):
    return frame(struct.pack(">BI", op, rid) + fields)


def string(b):
    return struct.pack(">I", len(b)) + b


def hello(rid=1):
    return request(OP_HELLO, rid, struct.pack(">I", 2))


def ping_req(rid, data):
    return request(OP_PING, rid, string(data))


def sign_req(rid, key, alg, data, flags=0):
    return request(OP_SIGN, rid, string(key) + struct.pack(">II", alg, flags) + string(data))


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_reply(s):
    """Returns (op, id, status, rest), or None when the agent closed."""
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


def get_string(rest):
    (n,) = struct.unpack(">I", rest[:4])
    return rest[4:4 + n]


def greet(s):
    s.sendall(hello())
    r = read_reply(s)
    if r is None or r[:3] != (OP_HELLO, 1, ST_OK):
        raise ValueError("HELLO failed: %r" % (r,))


def ping(s, rid, data=b"abcd"):
    s.sendall(ping_req(rid, data))
    r = read_reply(s)
    return r is not None and r[:3] == (OP_PING, rid, ST_OK) and get_string(r[3]) == data


def refused_and_closed(s, within, status):
    """(True, "") when the agent sends one error frame of opcode 0, id 0 and
    this status, then closes the connection, within the given seconds."""
    s.settimeout(within)
    try:
        r = read_reply(s)
        if r is None:
            return False, "closed without saying why"
        if r[:3] != (0, 0, status):
            return False, "got op %d id %d status %d" % r[:3]
        data = s.recv(4096)
        return data == b"", "got %d more bytes after the error frame" % len(data)
    except ConnectionResetError:
        return False, "connection reset"
    except socket.timeout:
        return False, "still open after %.0f s" % within


def closed_within(s, within):
    """Seconds until the agent closes s (EOF, or a reset), or None after `within`."""
    t0 = time.monotonic()
    s.settimeout(within)
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        return None
    return time.monotonic() - t0


# --- the limits ------------------------------------------------------------


def t_max_frame(path, limit):
    s = connect(path)
    greet(s)
    data = b"m" * (limit - 9)  # op, id, string length: 9 bytes
    report(ping(s, 2, data), "a frame of max-frame (%d) bytes is served" % limit)
    body = struct.pack(">BI", OP_PING, 3) + string(b"m" * (limit + 1 - 9))
    try:
        s.sendall(frame(body))
    except (BrokenPipeError, ConnectionResetError):
        pass
    ok, why = refused_and_closed(s, 5, ST_TOO_LARGE)
    report(ok, "a frame of max-frame + 1 bytes gets TOO_LARGE and the connection closes", why)
    s.close()
    s = connect(path)
    greet(s)
    report(ping(s, 2), "the agent serves a new connection after it")
    s.close()


def t_max_connections(path, n):
    conns = []
    for i in range(n):
        s = connect(path)
        greet(s)
        conns.append(s)
    extra = connect(path)
    ok, why = refused_and_closed(extra, 5, ST_BUSY)
    extra.close()
    report(ok, "connection %d of max-connections %d gets BUSY and is closed" % (n + 1, n), why)
    good = all(ping(s, 2 + i) for i, s in enumerate(conns))
    report(good, "the %d open connections are unaffected" % n, "a ping failed")
    conns.pop().close()
    # The agent notices the close asynchronously: retry briefly.
    deadline, served = time.monotonic() + 5, False
    while not served and time.monotonic() < deadline:
        s = connect(path)
        try:
            greet(s)
            served = ping(s, 2)
        except (ValueError, ConnectionResetError, BrokenPipeError):
            time.sleep(0.1)
        s.close()
    report(served, "after one closes, a new connection is served", "still refused after 5 s")
    for s in conns:
        s.close()


def t_idle_timeout(path, secs):
    idle = connect(path)
    greet(idle)
    busy = connect(path)
    greet(busy)
    result = {}

    def keep_pinging():
        ok, rid, t_end = True, 2, time.monotonic() + secs * 2 + 1
        while ok and time.monotonic() < t_end:
            ok = ping(busy, rid)
            rid += 1
            time.sleep(secs / 4.0)
        result["busy"] = ok

    th = threading.Thread(target=keep_pinging)
    th.start()
    took = closed_within(idle, secs + 10)
    th.join(secs * 3 + 10)
    report(took is not None and secs - 0.5 <= took <= secs + 3,
           "an idle connection is closed after idle-timeout (%d s)" % secs,
           "closed after %s s" % ("%.1f" % took if took is not None else "never"))
    report(result.get("busy", False), "a connection in use stays open past idle-timeout",
           "a ping failed")
    busy.close()
    idle.close()


def t_frame_timeout(path, secs):
    s = connect(path)
    greet(s)
    s.sendall(ping_req(2, b"x" * 1000)[:500])  # half a frame, then nothing
    took = closed_within(s, secs + 10)
    report(took is not None and secs - 0.5 <= took <= secs + 3,
           "a half frame is dropped after frame-timeout (%d s)" % secs,
           "closed after %s s" % ("%.1f" % took if took is not None else "never"))
    s.close()
    # A frame sent slowly but within the timeout is served.
    s = connect(path)
    greet(s)
    req = ping_req(3, b"slow")
    step = (secs * 0.5) / len(req)
    for b in req:
        s.send(bytes([b]))
        time.sleep(step)
    r = read_reply(s)
    report(r is not None and r[:3] == (OP_PING, 3, ST_OK),
           "a frame finished within frame-timeout is served", "reply %r" % (r,))
    s.close()


def t_shutdown(path, pid):
    # Client A: a PING of nearly 1 MiB whose echo it does not read yet: its
    # reply is in flight (the agent is blocked writing it) when SIGTERM comes.
    a = connect(path, 30)
    greet(a)
    big = os.urandom(MAX_FRAME - 13)  # the largest echo that fits in a reply
    a.sendall(ping_req(2, big))
    # Client B: a whole request sent just before SIGTERM, read after it.
    b = connect(path, 30)
    greet(b)
    b.sendall(ping_req(2, b"in flight"))
    time.sleep(0.5)
    os.kill(pid, signal.SIGTERM)
    time.sleep(1.0)
    report(not os.path.exists(path), "on SIGTERM the socket is removed at once",
           "%s still exists" % path)
    try:
        c = connect(path, 2)
        c.close()
        report(False, "no new connection after SIGTERM", "connected")
    except OSError:
        report(True, "no new connection after SIGTERM")
    alive = True
    try:
        os.kill(pid, 0)
    except OSError:
        alive = False
    report(alive, "the agent waits for the reply in flight", "it is gone already")
    r = read_reply(a)
    report(r is not None and r[:3] == (OP_PING, 2, ST_OK) and get_string(r[3]) == big,
           "the 1 MiB reply in flight completes after SIGTERM",
           "reply %r" % (r[:3] if r else None,))
    r = read_reply(b)
    report(r is not None and r[:3] == (OP_PING, 2, ST_OK) and get_string(r[3]) == b"in flight",
           "a request sent before SIGTERM is answered", "reply %r" % (r,))
    report(closed_within(a, 5) is not None, "then the agent closes the connection")
    a.close()
    b.close()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def t_busy_poll(path, pid):
    # Quick clients: every connection pings back to back, so the agent polls
    # for each one's next request after a reply; then they all fall silent.
    conns = []
    for i in range(50):
        s = connect(path)
        greet(s)
        conns.append(s)
    good = all(ping(s, 2 + j) for s in conns for j in range(20))
    report(good, "50 quick clients pinging back to back are answered", "a ping failed")
    time.sleep(0.3)
    before = cpu_seconds(pid)
    time.sleep(2)
    used = cpu_seconds(pid) - before
    report(used <= 0.1, "50 idle connections after quick requests: the agent sleeps",
           "it used %.2f s of CPU in 2 s" % used)
    # A pause longer than the poll: the request is still read, asleep.
    good = True
    for j, s in enumerate(conns[:5]):
        time.sleep(0.05)
        good = good and ping(s, 100 + j)
    report(good, "a request after a pause longer than busy-poll is answered", "a ping failed")
    for s in conns:
        s.close()


def main(argv):
    if len(argv) != 4:
        print(__doc__ if __doc__ else "usage: limits.py TEST SOCKET ARG", file=sys.stderr)
        return 2
    test, path, arg = argv[1], argv[2], int(argv[3])
    fn = {
        "max-frame": t_max_frame,
        "max-connections": t_max_connections,
        "idle-timeout": t_idle_timeout,
        "frame-timeout": t_frame_timeout,
        "shutdown": t_shutdown,
        "busy-poll": t_busy_poll,
    }.get(test)
    if fn is None:
        print("limits.py: unknown test %s" % test, file=sys.stderr)
        return 2
    try:
        fn(path, arg)
    except Exception as e:  # noqa: BLE001 - any exception is a failure to report
        report(False, test, "%s: %s" % (type(e).__name__, e))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
# bench/conns.py: talks to p11agentd's socket for bench/standard.sh.
#
#   conns.py pid SOCKET
#       Prints the pid of the agent that listens on SOCKET (SO_PEERCRED of a
#       connection to it: the process that made the listening socket, i.e.
#       the detached agent, not the parent that returned).
#   conns.py hold SOCKET N READY_FILE [SECONDS]
#       Opens N connections, does the HELLO handshake (version 2, as
#       proto/PROTOCOL.md gives it) on each, writes "N" to READY_FILE once all
#       are answered, then keeps them open and idle until SIGTERM, SIGINT or
#       SECONDS (default 600) have passed. Raises its own limit on open files
#       (RLIMIT_NOFILE) to N + 64 first, within the hard limit. Exits 1 with
#       a message when that limit is too low, or when a connection or a
#       handshake fails (a BUSY reply names max-connections).
#   conns.py status SOCKET HZ READY_FILE [SECONDS]
#       One connection that reads the agent's status (STATUS, opcode 22) HZ
#       times a second (0: back to back) until SIGTERM, SIGINT or SECONDS
#       (default 600); writes "1" to READY_FILE once the first is answered,
#       and at the end prints "statuses N" (how many were answered). Exits 1
#       when one is refused (the caller must be one of the agent's admins).
#
# SPDX-License-Identifier: Apache-2.0

import os
import resource
import signal
import socket
import struct
import sys
import time

OP_HELLO = 1
OP_STATUS = 22


def die(msg):
    print("conns.py: " + msg, file=sys.stderr)
    sys.exit(1)


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("the agent closed the connection")
        out += chunk
    return out


def hello(s, req_id):
    # Frame: u32 body length, then u8 opcode, u32 request id, u32 version.
    body = struct.pack(">BII", OP_HELLO, req_id, 2)
    s.sendall(struct.pack(">I", len(body)) + body)
    (length,) = struct.unpack(">I", recv_exact(s, 4))
    if length < 9 or length > 65536:
        raise ConnectionError("reply frame of %d bytes" % length)
    reply = recv_exact(s, length)
    op, rid, status = struct.unpack(">BII", reply[:9])
    if status != 0:
        msg = ""
        if len(reply) >= 13:
            (mlen,) = struct.unpack(">I", reply[9:13])
            msg = reply[13:13 + mlen].decode("utf-8", "replace")
        raise ConnectionError("HELLO refused: status %d: %s" % (status, msg))
    if op != OP_HELLO or rid != req_id:
        raise ConnectionError("reply to opcode %d id %d, expected %d id %d"
                              % (op, rid, OP_HELLO, req_id))


def status(s, req_id):
    """One STATUS round trip; raises ConnectionError when it is refused."""
    body = struct.pack(">BI", OP_STATUS, req_id)
    s.sendall(struct.pack(">I", len(body)) + body)
    (length,) = struct.unpack(">I", recv_exact(s, 4))
    if length < 9 or length > 1024 * 1024:
        raise ConnectionError("reply frame of %d bytes" % length)
    reply = recv_exact(s, length)
    op, rid, st = struct.unpack(">BII", reply[:9])
    if st != 0 or op != OP_STATUS or rid != req_id:
        raise ConnectionError("STATUS: opcode %d id %d status %d" % (op, rid, st))


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s


def cmd_pid(path):
    try:
        s = connect(path)
        cred = s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        s.close()
    except OSError as e:
        die("%s: %s" % (path, e.strerror or e))
    pid, _, _ = struct.unpack("3i", cred)
    if pid <= 0:
        die("%s: no peer pid" % path)
    print(pid)


def raise_nofile(n):
    """Raises the soft limit on open files to what n connections need, within
    the hard limit; dies naming both when the hard limit is lower."""
    want = n + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    if hard != resource.RLIM_INFINITY and hard < want:
        die("%d connections need %d open files; the hard limit is %d (ulimit -Hn): "
            "raise it, or hold fewer" % (n, want, hard))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (OSError, ValueError) as e:
        die("cannot raise the open files limit from %d to %d: %s" % (soft, want, e))


def cmd_hold(path, n, ready_file, seconds):
    raise_nofile(n)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    conns = []
    try:
        for i in range(n):
            s = connect(path)
            hello(s, i + 1)
            conns.append(s)
    except (OSError, ConnectionError) as e:
        die("connection %d of %d: %s" % (len(conns) + 1, n, e))

    tmp = ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % len(conns))
    os.rename(tmp, ready_file)

    end = time.monotonic() + seconds
    while not stop and time.monotonic() < end:
        time.sleep(0.1)
    for s in conns:
        s.close()


def cmd_status(path, hz, ready_file, seconds):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    n = 0
    try:
        s = connect(path)
        hello(s, 1)
        status(s, 2)
        n = 1
        tmp = ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("1\n")
        os.rename(tmp, ready_file)
        period = 1.0 / hz if hz > 0 else 0.0
        end = time.monotonic() + seconds
        nxt = time.monotonic()
        while not stop and time.monotonic() < end:
            if period:
                nxt += period
                delay = nxt - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            status(s, n + 2)
            n += 1
    except (OSError, ConnectionError) as e:
        if not stop:
            die("status %d: %s" % (n + 1, e))
    print("statuses %d" % n, flush=True)


def main(argv):
    if len(argv) == 3 and argv[1] == "pid":
        cmd_pid(argv[2])
    elif len(argv) in (5, 6) and argv[1] == "hold":
        cmd_hold(argv[2], int(argv[3]), argv[4], float(argv[5]) if len(argv) == 6 else 600)
    elif len(argv) in (5, 6) and argv[1] == "status":
        cmd_status(argv[2], float(argv[3]), argv[4], float(argv[5]) if len(argv) == 6 else 600)
    else:
        print("usage: conns.py pid SOCKET | hold SOCKET N READY_FILE [SECONDS]"
              " | status SOCKET HZ READY_FILE [SECONDS]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

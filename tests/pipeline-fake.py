#!/usr/bin/env python3
# pipeline-fake.py: a fake agent for tests/test-pipeline.sh that answers
# pipelined requests as the real one may, out of order, and as no agent
# should. The wire helpers are tests/limits.py's. Serves one connection on
# SOCKET, then exits (after 30 s at most); creates SOCKET.ready once it
# listens.
#
#   pipeline-fake.py SOCKET MODE
#
# After the HELLO, which it answers at once, MODE:
#   reverse N   reads N requests, then answers them last first: a SIGN with
#               "SIG:" and its data as the signature (version 7), or with
#               NO_SUCH_KEY when its key is "missing"; a PING with its data
#   unknown     answers the first request with an id it was never sent
#   twice       answers the first request twice
#   refuse      reads two requests, answers with an opcode-0 BUSY error, closes
#   silent      reads requests and never answers
#   closed      closes the connection, then creates SOCKET.closed
#
# SPDX-License-Identifier: Apache-2.0
import os
import socket
import struct
import sys
import time

from limits import (OP_HELLO, OP_PING, OP_SIGN, ST_BUSY, ST_OK, frame,  # noqa: E402
                    recv_exact, string)

ST_NO_SUCH_KEY = 4


def read_request(s):
    """(op, id, fields) of the next request, or None when the client closed."""
    head = recv_exact(s, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    body = recv_exact(s, n)
    if body is None or n < 5:
        return None
    op, rid = struct.unpack(">BI", body[:5])
    return op, rid, body[5:]


def get_string(b, off):
    (n,) = struct.unpack(">I", b[off:off + 4])
    return b[off + 4:off + 4 + n], off + 4 + n


def reply(op, rid, status, fields):
    return frame(struct.pack(">BII", op, rid, status) + fields)


def answer(op, rid, fields):
    """The reply to one request: see MODE reverse."""
    if op == OP_PING:
        data, _ = get_string(fields, 0)
        return reply(OP_PING, rid, ST_OK, string(data))
    if op == OP_SIGN:
        key, off = get_string(fields, 0)
        data, _ = get_string(fields, off + 8)
        if key == b"missing":
            return reply(OP_SIGN, rid, ST_NO_SUCH_KEY, string(b"no key matches 'missing'"))
        return reply(OP_SIGN, rid, ST_OK, string(b"SIG:" + data) + struct.pack(">I", 7))
    return reply(op, rid, 2, string(b"unknown opcode"))


def serve(c, mode, arg):
    req = read_request(c)
    if req is None or req[0] != OP_HELLO:
        return
    c.sendall(reply(OP_HELLO, req[1], ST_OK, struct.pack(">I", 2) + string(b"pipeline-fake")))
    if mode == "closed":
        return
    if mode == "reverse":
        reqs = [read_request(c) for _ in range(arg)]
        if None in reqs:
            return
        for op, rid, fields in reversed(reqs):
            c.sendall(answer(op, rid, fields))
        # Hold the connection until the client is done with it.
        read_request(c)
        return
    req = read_request(c)
    if req is None:
        return
    op, rid, fields = req
    if mode == "unknown":
        c.sendall(answer(op, rid + 1000, fields))
    elif mode == "twice":
        c.sendall(answer(op, rid, fields) + answer(op, rid, fields))
    elif mode == "refuse":
        # After the client's second request too: were it still sending when
        # the connection closes, its submit would fail instead of the collect.
        read_request(c)
        c.sendall(reply(0, 0, ST_BUSY, string(b"too many requests for this uid; try again later")))
        return
    # unknown, twice, silent: read on, answer nothing more.
    while read_request(c) is not None:
        pass


def main():
    path, mode = sys.argv[1], sys.argv[2]
    arg = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)
    open(path + ".ready", "w").close()
    deadline = time.monotonic() + 30
    try:
        c, _ = srv.accept()
    except socket.timeout:
        return
    c.settimeout(max(1.0, deadline - time.monotonic()))
    try:
        serve(c, mode, arg)
    except (OSError, socket.timeout):
        pass
    c.close()
    if mode == "closed":
        open(path + ".closed", "w").close()
    srv.close()
    os.unlink(path)


main()

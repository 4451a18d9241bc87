#!/usr/bin/env python3
# audittrail.py: audit trails and a fake agent, for tests/test-audit-offline.sh.
#
#   audittrail.py make KEY.pem OUT        a keyed trail with checkpoints signed
#                                         by KEY (EC, with openssl dgst -sign)
#   audittrail.py forge IN OUT            IN with record 3 edited (DENIED ->
#                                         OK), every MAC and prev recomputed
#                                         as SHA-256: what a forger without
#                                         the audit key can write
#   audittrail.py unkeyed IN OUT          IN rewritten as an unkeyed chain
#                                         (chain sha256), records unchanged
#   audittrail.py fake-agent SOCK LOG SECONDS TRAIL
#                                         a fake p11agentd on SOCK that
#                                         answers every request "OK, valid",
#                                         AUDIT_HEAD with TRAIL's last record;
#                                         appends one line per connection to
#                                         LOG; stops after SECONDS
#
# The record format is proto/auditlog.h's, the frames proto/PROTOCOL.md's.
#
# SPDX-License-Identifier: Apache-2.0
import hashlib
import hmac
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from limits import MAX_FRAME, OP_HELLO, frame, recv_exact, string  # noqa: E402

OP_AUDIT_VERIFY = 11
OP_AUDIT_HEAD = 13
CHECKPOINT_MSG = "p11agent audit checkpoint v1 seq=%d from=%d to=%d sha256=%s\n"
# The agent's field order.
FIELDS = ["seq", "time", "uid", "gid", "pid", "exe", "op", "key", "key_uri", "key_version",
          "key_ref", "alg", "input_len", "input_sha256", "status", "latency_us", "detail", "chain", "prev"]


def body_of(rec):
    """The line up to ,"mac": as the agent writes it (compact JSON, fixed order)."""
    return "{" + ",".join("%s:%s" % (json.dumps(k), json.dumps(rec[k], separators=(",", ":")))
                          for k in FIELDS)


def request(seq, status="OK"):
    return {"seq": seq, "time": "2026-12-05T07:00:%02d.000000Z" % (seq % 60), "uid": 1000,
            "gid": 1000, "pid": 4242, "exe": "/usr/bin/p11agent", "op": "sign",
            "key": "release", "key_uri": "pkcs11:object=release;type=private",
            "key_version": 1, "key_ref": "release", "alg": "ecdsa-sha256", "input_len": 32,
            "input_sha256": hashlib.sha256(b"artifact %d" % seq).hexdigest(),
            "status": status, "latency_us": 1500, "detail": None}


class Trail:
    """A keyed chain: HMAC-SHA256 under a key only this object knows."""

    def __init__(self, sign_key):
        self.mac_key = os.urandom(32)
        self.sign_key = sign_key
        self.lines = []
        self.prev = bytes(32)
        self.last_cp = 0

    def add(self, rec):
        rec["seq"] = len(self.lines) + 1
        rec["chain"] = "hmac-sha256"
        rec["prev"] = self.prev.hex()
        body = body_of(rec)
        mac = hmac.new(self.mac_key, self.prev + body.encode(), hashlib.sha256).digest()
        self.lines.append('%s,"mac":"%s"}\n' % (body, mac.hex()))
        self.prev = mac

    def checkpoint(self):
        seq = len(self.lines) + 1
        first = self.last_cp + 1 if self.last_cp else 1
        covered = "".join(self.lines[first - 1:]).encode()
        digest = hashlib.sha256(covered).hexdigest()
        msg = CHECKPOINT_MSG % (seq, first, seq - 1, digest)
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.sign_key],
                             input=msg.encode(), stdout=subprocess.PIPE, check=True,
                             timeout=30).stdout
        rec = request(seq)
        rec.update({"op": "audit-checkpoint", "key": "audit-sign", "key_uri": None,
                    "key_version": None,
                    "key_ref": None, "input_len": len(covered), "input_sha256": digest,
                    "alg": "ecdsa-sha256", "latency_us": 0, "uid": 0, "gid": 0,
                    "exe": "/usr/sbin/p11agentd",
                    "detail": {"from_seq": first, "to_seq": seq - 1, "sig": sig.hex()}})
        self.add(rec)
        self.last_cp = seq


def make(key, out):
    t = Trail(key)
    for i in range(5):
        t.add(request(0, "DENIED" if i == 2 else "OK"))
    t.checkpoint()  # 6 covers 1..5
    for i in range(3):
        t.add(request(0))
    t.checkpoint()  # 10 covers 7..9
    for i in range(2):
        t.add(request(0))  # 11, 12: after the last checkpoint
    with open(out, "w") as f:
        f.write("".join(t.lines))


def rechain(src, out, edit, unkeyed):
    prev = bytes(32)
    lines = []
    for line in open(src).read().splitlines():
        body = line[:line.rindex(',"mac":"')]
        if edit and body.startswith('{"seq":3,'):
            body = body.replace('"status":"DENIED"', '"status":"OK"')
        if unkeyed:
            body = body.replace('"chain":"hmac-sha256"', '"chain":"sha256"')
        body = body[:body.rindex(',"prev":"')] + ',"prev":"%s"' % prev.hex()
        prev = hashlib.sha256(prev + body.encode()).digest()
        lines.append('%s,"mac":"%s"}\n' % (body, prev.hex()))
    with open(out, "w") as f:
        f.write("".join(lines))


def last_head(trail):
    """The seq and MAC of the last record of the file trail, as AUDIT_HEAD gives them."""
    with open(trail) as f:
        last = json.loads(f.read().splitlines()[-1])
    return last["seq"], bytes.fromhex(last["mac"])


def serve(conn, log, chain_head):
    """Answers every request on conn: HELLO with version 2, AUDIT_HEAD with
    chain_head (the forged trail's own end), anything else OK with a u32 1
    ("valid"), until the client goes."""
    with conn:
        conn.settimeout(10)
        while True:
            head = recv_exact(conn, 4)
            if head is None:
                return
            (n,) = struct.unpack(">I", head)
            if n < 5 or n > MAX_FRAME:
                return
            body = recv_exact(conn, n)
            if body is None:
                return
            op, rid = struct.unpack(">BI", body[:5])
            if op == OP_HELLO:
                fields = struct.pack(">I", 2) + string(b"p11agentd 9.9 (fake)")
            elif op == OP_AUDIT_HEAD:
                seq, mac = chain_head
                fields = struct.pack(">II", seq >> 32, seq & 0xffffffff) + string(mac)
            else:
                fields = struct.pack(">I", 1)
            with open(log, "a") as f:
                f.write("request op %d\n" % op)
            conn.sendall(frame(struct.pack(">BII", op, rid, 0) + fields))


def fake_agent(path, log, seconds, trail):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    srv.settimeout(0.2)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        with open(log, "a") as f:
            f.write("connection\n")
        threading.Thread(target=serve, args=(conn, log, last_head(trail)), daemon=True).start()
    srv.close()


def main(argv):
    if len(argv) == 4 and argv[1] == "make":
        make(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "forge":
        rechain(argv[2], argv[3], edit=True, unkeyed=False)
    elif len(argv) == 4 and argv[1] == "unkeyed":
        rechain(argv[2], argv[3], edit=False, unkeyed=True)
    elif len(argv) == 6 and argv[1] == "fake-agent":
        fake_agent(argv[2], argv[3], float(argv[4]), argv[5])
    else:
        sys.stderr.write(__doc__ if __doc__ else "usage: see the head of audittrail.py\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

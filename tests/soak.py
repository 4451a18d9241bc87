#!/usr/bin/env python3
# soak.py: one round of tests/test-soak.sh. For SECONDS, 64 clients sign
# concurrently over the protocol (HMAC-SHA256 with the test token's known
# key, checked here for every request; ECDSA P-256 over SHA-256 digests,
# one sample per client saved to OUTDIR as N.dgst / N.sig for OpenSSL), and
# reconnect now and then; meanwhile 16 others send garbage, half frames that
# stall, oversized lengths, and disconnect mid-request.
#
#   soak.py SOCKET SECONDS OUTDIR HMAC_HEX
#
# Prints "PASS name" / "FAIL name: why" lines.
#
# SPDX-License-Identifier: Apache-2.0
import hashlib
import hmac
import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from limits import (MAX_FRAME, OP_SIGN, ST_OK, ST_TOO_LARGE, connect,  # noqa: E402
                    get_string, greet, read_reply, report, sign_req)

GOOD, HOSTILE = 64, 16
ALG_ECDSA_SHA256, ALG_HMAC_SHA256 = 7, 11

SOCK, SECONDS, OUTDIR = sys.argv[1], float(sys.argv[2]), sys.argv[3]
HMAC_KEY = bytes.fromhex(sys.argv[4])
END = time.monotonic() + SECONDS

lock = threading.Lock()
stats = {"ok": 0, "bad": 0, "attacks": 0, "attack_bad": 0}
failures = []


def count(key, why=None):
    with lock:
        stats[key] += 1
        if why is not None and len(failures) < 10:
            failures.append(why)


def good_client(n):
    rnd = random.Random(n)
    rid, saved = 1, False
    while time.monotonic() < END:
        try:
            s = connect(SOCK, 30)
            greet(s)
        except (OSError, ValueError) as e:
            count("bad", "client %d: cannot connect: %s" % (n, e))
            time.sleep(0.1)
            continue
        for _ in range(rnd.randint(5, 40)):
            if time.monotonic() >= END:
                break
            rid += 1
            msg = os.urandom(rnd.randint(1, 512))
            use_hmac = rnd.random() < 0.5
            try:
                if use_hmac:
                    s.sendall(sign_req(rid, b"hmac", ALG_HMAC_SHA256, msg))
                else:
                    digest = hashlib.sha256(msg).digest()
                    s.sendall(sign_req(rid, b"ec256", ALG_ECDSA_SHA256, digest))
                r = read_reply(s)
            except (OSError, ValueError) as e:
                count("bad", "client %d: request %d: %s" % (n, rid, e))
                break
            if r is None or r[:3] != (OP_SIGN, rid, ST_OK):
                count("bad", "client %d: request %d: reply %r" % (n, rid, r and r[:3]))
                break
            sig = get_string(r[3])
            if use_hmac:
                if not hmac.compare_digest(sig, hmac.new(HMAC_KEY, msg, hashlib.sha256).digest()):
                    count("bad", "client %d: request %d: wrong HMAC" % (n, rid))
                    continue
            elif not saved:
                with open(os.path.join(OUTDIR, "%d.dgst" % n), "wb") as f:
                    f.write(digest)
                with open(os.path.join(OUTDIR, "%d.sig" % n), "wb") as f:
                    f.write(sig)
                saved = True
            elif sig[:1] != b"\x30":
                count("bad", "client %d: request %d: not a DER signature" % (n, rid))
                continue
            count("ok")
        s.close()


def attack_once(rnd):
    kind = rnd.choice(["garbage", "half", "oversized", "gone", "gone-mid-body"])
    s = connect(SOCK, 10)
    try:
        if kind == "garbage":
            s.sendall(os.urandom(rnd.randint(1, 4096)))
        elif kind == "half":
            if rnd.random() < 0.5:
                greet(s)
            req = sign_req(2, b"ec256", ALG_ECDSA_SHA256, b"\x00" * 32)
            s.sendall(req[:rnd.randint(1, len(req) - 1)])
            time.sleep(rnd.uniform(0.1, 3.0))  # past frame-timeout, sometimes
        elif kind == "oversized":
            greet(s)
            n = rnd.choice([0xFFFFFFFF, MAX_FRAME + 1, 0x7FFFFFFF])
            s.sendall(struct.pack(">I", n) + b"\x05" * 16)
            r = read_reply(s)
            if r is None or r[:3] != (0, 0, ST_TOO_LARGE):
                count("attack_bad", "oversized %#x: reply %r" % (n, r and r[:3]))
        elif kind == "gone":
            greet(s)
            s.sendall(sign_req(2, b"ec256", ALG_ECDSA_SHA256, os.urandom(32)))
        else:
            greet(s)
            s.sendall(struct.pack(">I", 1000) + bytes([OP_SIGN]) + b"\x00" * 20)  # 30 of 1000
    except (OSError, ValueError):
        pass  # the agent may drop a hostile client at any point
    finally:
        s.close()
    count("attacks")


def hostile_client(n):
    rnd = random.Random(1000 + n)
    while time.monotonic() < END:
        try:
            attack_once(rnd)
        except OSError as e:
            count("attack_bad", "cannot connect: %s" % e)
            time.sleep(0.1)


def main():
    threads = [threading.Thread(target=good_client, args=(i,)) for i in range(GOOD)]
    threads += [threading.Thread(target=hostile_client, args=(i,)) for i in range(HOSTILE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 60)
    hung = sum(t.is_alive() for t in threads)
    report(hung == 0, "every client finished", "%d still running" % hung)
    report(stats["bad"] == 0 and stats["ok"] > 0,
           "%d concurrent clients: %d good requests, all succeeded and verified" % (GOOD, stats["ok"]),
           "%d good, %d failed: %s" % (stats["ok"], stats["bad"], "; ".join(failures)))
    report(stats["attack_bad"] == 0,
           "%d hostile connections, each handled as the protocol says" % stats["attacks"],
           "%d unexpected: %s" % (stats["attack_bad"], "; ".join(failures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

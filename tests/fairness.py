#!/usr/bin/env python3
# fairness.py: one uid floods p11agentd while another signs, for
# tests/test-fairness.sh. The wire helpers are tests/limits.py's. Prints
# "PASS name" / "FAIL name: why" lines, and "READY" once a flood is in place.
#
#   fairness.py hoard SOCKET SECONDS WANT_LIMIT
#       opens connections until the agent says BUSY (at most 2000) and pings
#       each every 5 s for SECONDS; WANT_LIMIT: how many it should get.
#   fairness.py bigsend SOCKET SECONDS CONNS
#       CONNS connections each send one request of 1 MiB (a PING echo, or a
#       SIGN it is denied) and never read; held for SECONDS.
#   fairness.py deny SOCKET SECONDS KEY COUNT_FILE
#       SIGN requests with KEY, which this uid may not use, as fast as it
#       can on 4 pipelined connections; the number answered goes to
#       COUNT_FILE ("DENIED_SENT SECONDS").
#   fairness.py signer SOCKET SECONDS KEY HMAC_HEX OUT_FILE [BIG]
#       HMAC-SHA256 signatures with KEY, one connection each, every one
#       checked against HMAC_HEX, for SECONDS; with BIG, every fourth
#       message is BIG bytes. Latency bounds: LATENCY_MAX, LATENCY_MEDIAN.
#       OUT_FILE gets the SHA-256 of each message signed, one a line.
#   fairness.py memwatch PID SECONDS LIMIT_MIB
#       samples the agent's VmRSS for SECONDS; VmHWM must stay under LIMIT_MIB
#       (not checked, SKIP, with FAIRNESS_SLOW=1: the sanitizers' and
#       valgrind's own memory would count).
#   fairness.py trail AUDIT_FILE FLOOD_UID LIMIT COUNT_FILE... -- HASH_FILE GOOD_UID
#       checks the audit trail after deny floods and a signer.
#
# SPDX-License-Identifier: Apache-2.0
import datetime
import hashlib
import hmac
import json
import os
import resource
import select
import socket
import statistics
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from limits import (MAX_FRAME, OP_HELLO, OP_LIST, OP_SIGN, ST_BUSY, ST_OK, connect,  # noqa: E402
                    get_string, greet, hello, ping, ping_req, read_reply, report,
                    request, sign_req)

ST_DENIED = 11
# A key the flooder may not see does not exist for it: NO_SUCH_KEY, not DENIED.
ST_NO_SUCH_KEY = 4
ALG_HMAC_SHA256 = 11
# The signer's latency bounds, per signature (connect, hello, sign, close);
# FAIRNESS_SLOW=1 (an agent under AddressSanitizer or valgrind) gives it more.
SLOW = os.environ.get("FAIRNESS_SLOW") == "1"
LATENCY_MAX = 10.0 if SLOW else 2.0
LATENCY_MEDIAN = 2.0 if SLOW else 0.25


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def hello_refused(s):
    """Greets the agent on s: None when it answers, else why not (the
    message of its BUSY error frame, or what else came)."""
    try:
        s.sendall(hello())
    except OSError:
        pass  # refused before the hello went: its error frame may be there all the same
    try:
        r = read_reply(s)
    except (OSError, ValueError) as e:
        return "%s: %s" % (type(e).__name__, e)
    if r is not None and r[:3] == (OP_HELLO, 1, ST_OK):
        return None
    if r is not None and r[:3] == (0, 0, ST_BUSY):
        return get_string(r[3]).decode(errors="replace")
    return "reply %r" % (r,)


# --- hoard: hold as many connections as the agent gives ----------------------


def t_hoard(path, seconds, want):
    raise_nofile(4096)
    conns, reason, t_end = [], None, time.monotonic() + seconds
    while len(conns) < 2000 and reason is None:
        s = connect(path, 10)
        reason = hello_refused(s)
        if reason is None:
            conns.append(s)
        else:
            s.close()
    print("the flooder holds %d connections; then: %s" % (len(conns), reason), flush=True)
    print("READY", flush=True)
    report(len(conns) == want, "the flooder gets %d connections" % want, "it got %d" % len(conns))
    report(reason is not None and "max-connections-per-uid" in reason,
           "the next one gets BUSY naming max-connections-per-uid", "got %r" % (reason,))
    rid, alive = 2, True
    while time.monotonic() < t_end and alive:
        time.sleep(min(5.0, max(0.0, t_end - time.monotonic())))
        if time.monotonic() >= t_end:
            break
        rid += 1
        alive = all(ping(s, rid) for s in conns)
        print("pinged %d connections: %s" % (len(conns), "all answered" if alive else "failed"),
              flush=True)
    report(alive, "the flooder's connections stay open while it pings them", "a ping failed")
    for s in conns:
        s.close()


# --- bigsend: 1 MiB requests whose replies are never read --------------------


def t_bigsend(path, seconds, n):
    raise_nofile(n + 256)
    data = os.urandom(MAX_FRAME - 13)  # the largest PING whose echo fits a reply
    reqs = [ping_req(2, data), sign_req(2, b"good-hmac", ALG_HMAC_SHA256, data[:MAX_FRAME - 64])]
    conns, pending = [], {}
    for i in range(n):
        try:
            s = connect(path, 10)
            greet(s)
        except (OSError, ValueError) as e:
            print("connection %d: %s" % (i, e), flush=True)
            break
        s.setblocking(False)
        conns.append(s)
        pending[s.fileno()] = [s, memoryview(reqs[i % 2]), 0]
    opened, sent, dropped = len(conns), 0, 0
    # The time runs from here: on a loaded machine opening the connections
    # alone may take most of it, and the requests must then still wait out
    # the agent's frame-timeout.
    t_end = time.monotonic() + seconds
    # Push every request as far as the agent takes it, without reading.
    while pending and time.monotonic() < t_end - seconds / 2:
        _, ready, _ = select.select([], list(pending), [], 0.2)
        for fd in ready:
            s, buf, off = pending[fd]
            try:
                k = s.send(buf[off:off + 262144])
            except BlockingIOError:
                continue
            except OSError:
                dropped += 1
                del pending[fd]
                continue
            pending[fd][2] = off + k
            if off + k == len(buf):
                sent += 1
                del pending[fd]
    print("%d connections, %d requests of 1 MiB sent whole, %d in part, %d dropped" %
          (opened, sent, len(pending), dropped), flush=True)
    print("READY", flush=True)
    report(opened == n, "the flooder opens %d connections" % n, "only %d" % opened)
    time.sleep(max(0.0, t_end - time.monotonic()))
    for s in conns:
        s.close()


# --- deny: requests the policy refuses, as fast as possible ------------------


def t_deny(path, seconds, key, count_file):
    counts, other, lock = [0], [], threading.Lock()
    t0 = time.monotonic()
    t_end = t0 + seconds

    def flood():
        s = connect(path, 10)
        greet(s)
        # Refused signatures, and one key list in four: a request that uses
        # no key is counted like a refusal, though it succeeds.
        batch = b"".join(request(OP_LIST, 2 + i) if i % 4 == 3 else
                         sign_req(2 + i, key, ALG_HMAC_SHA256, b"denied %d" % i)
                         for i in range(64))
        while time.monotonic() < t_end:
            s.sendall(batch)
            for _ in range(64):
                r = read_reply(s)
                with lock:
                    if r is not None and (r[0] == OP_SIGN and r[2] in (ST_DENIED, ST_NO_SUCH_KEY) or
                                          r[0] == OP_LIST and r[2] == ST_OK):
                        counts[0] += 1
                    elif len(other) < 5:
                        other.append(r[:3] if r else None)
        s.close()

    threads = [threading.Thread(target=flood) for _ in range(4)]
    for t in threads:
        t.start()
    print("READY", flush=True)
    for t in threads:
        t.join(seconds + 30)
    took = time.monotonic() - t0
    with open(count_file, "w") as f:
        f.write("%d %.3f\n" % (counts[0], took))
    print("%d denied requests answered in %.1f s (%.0f a second)" %
          (counts[0], took, counts[0] / took), flush=True)
    report(not other and counts[0] > 0, "every flood request is refused (DENIED or NO_SUCH_KEY) or listed",
           "other replies: %r" % other)


# --- signer: the other uid's signatures, with their latency -------------------


def t_signer(path, seconds, key, hmac_hex, out_file, big=0):
    secret = bytes.fromhex(hmac_hex)
    lat, bad, hashes = [], [], []
    t_end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < t_end or len(lat) + len(bad) < 10:
        i += 1
        msg = b"signed by the other uid, %d, %f\n" % (i, time.time())
        if big and i % 4 == 0:
            msg += os.urandom(big)
        t0 = time.monotonic()
        try:
            s = connect(path, 10)
            greet(s)
            s.sendall(sign_req(2, key, ALG_HMAC_SHA256, msg))
            r = read_reply(s)
            s.close()
        except (OSError, ValueError) as e:
            r = ("error", str(e))
        took = time.monotonic() - t0
        want = hmac.new(secret, msg, hashlib.sha256).digest()
        if r is not None and r[:3] == (OP_SIGN, 2, ST_OK) and get_string(r[3]) == want:
            lat.append(took)
            hashes.append(hashlib.sha256(msg).hexdigest())
        else:
            if r is not None and len(r) == 4 and r[0] != "error":
                r = r[:3] + (get_string(r[3])[:200],)
            bad.append((i, r))
        time.sleep(0.02)
    with open(out_file, "w") as f:
        f.write("".join(h + "\n" for h in hashes))
    n = len(lat) + len(bad)
    print("%d signatures, %d failed; latency median %.1f ms, max %.1f ms" %
          (n, len(bad), 1000 * statistics.median(lat) if lat else 0,
           1000 * max(lat) if lat else 0), flush=True)
    report(not bad, "all %d signatures of the other uid succeed and verify" % n,
           "%d failed, first: %r" % (len(bad), bad[:3]))
    report(bool(lat) and max(lat) < LATENCY_MAX,
           "every signature of the other uid takes under %.0f s" % LATENCY_MAX,
           "slowest %.2f s" % (max(lat) if lat else -1))
    report(bool(lat) and statistics.median(lat) < LATENCY_MEDIAN,
           "the other uid's median latency is under %.0f ms" % (1000 * LATENCY_MEDIAN),
           "median %.0f ms" % (1000 * statistics.median(lat) if lat else -1))


# --- memwatch: the agent's memory ---------------------------------------------


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def t_memwatch(pid, seconds, limit_mib):
    start = status_kib(pid, "VmRSS")
    peak = start
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        try:
            peak = max(peak, status_kib(pid, "VmRSS"))
            threads = status_kib(pid, "Threads")
        except OSError:
            break
        time.sleep(0.2)
    hwm = status_kib(pid, "VmHWM")
    print("agent VmRSS: %d MiB at start, %d MiB at most while sampled; VmHWM %d MiB; "
          "%d threads at the end" % (start // 1024, peak // 1024, hwm // 1024, threads),
          flush=True)
    if SLOW:
        print("SKIP the agent's memory: it runs under AddressSanitizer or valgrind", flush=True)
        return
    report(0 < hwm < limit_mib * 1024,
           "the agent's memory stays under %d MiB (VmHWM %d MiB)" % (limit_mib, hwm // 1024),
           "VmHWM %d MiB" % (hwm // 1024))


# --- trail: what the audit trail holds after the floods -----------------------


def t_trail(audit_file, flood_uid, limit, count_files, hash_file, good_uid):
    sent, seconds = 0, 0.0
    for cf in count_files:
        with open(cf) as f:
            n, secs = f.read().split()
        sent += int(n)
        seconds += float(secs)
    records = [json.loads(line) for line in open(audit_file)]
    flood = [r for r in records if r["uid"] == flood_uid]
    summaries = [r for r in records if r["op"] == "audit-suppressed"]
    mine = [r for r in summaries if r["detail"].get("uid") == flood_uid]
    suppressed = sum(r["detail"]["suppressed"] for r in mine)
    # A window opens at a uid's first refusal after the last one closed: each
    # flood can start one window more than its whole seconds.
    most = limit * (int(seconds) + 2 * len(count_files))
    print("trail: %d records of uid %d for %d denied requests in %.1f s; %d summaries "
          "saying %d suppressed" % (len(flood), flood_uid, sent, seconds, len(mine), suppressed),
          flush=True)
    report(len(flood) <= most,
           "the flooder's records stay within %d a second (%d records, at most %d)" %
           (limit, len(flood), most), "%d records" % len(flood))
    report(len(mine) > 0 and len(flood) + suppressed == sent,
           "the summaries count every request left out (%d written + %d suppressed = %d sent)" %
           (len(flood), suppressed, sent),
           "%d written + %d suppressed != %d sent" % (len(flood), suppressed, sent))
    stamps = [datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ") for r in mine]
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]
    report(all(g >= 0.95 for g in gaps) and
           all(r["uid"] == os.getuid() and r["status"] == "OK" and
               set(r["detail"]) == {"uid", "suppressed"} for r in mine),
           "at most one summary a second, by the agent, each {\"uid\":U,\"suppressed\":N}",
           "summaries: %r" % [(r["uid"], r["time"], r["detail"]) for r in mine][:5])
    want = [h.strip() for h in open(hash_file) if h.strip()]
    have = set(r["input_sha256"] for r in records
               if r["uid"] == good_uid and r["op"] == "sign" and r["status"] == "OK")
    missing = [h for h in want if h not in have]
    report(want and not missing,
           "every one of the other uid's %d signatures is in the trail" % len(want),
           "%d of %d missing" % (len(missing), len(want)))


def main(argv):
    if len(argv) < 3:
        print("usage: see the comment at the top of fairness.py", file=sys.stderr)
        return 2
    test = argv[1]
    try:
        if test == "hoard":
            t_hoard(argv[2], float(argv[3]), int(argv[4]))
        elif test == "bigsend":
            t_bigsend(argv[2], float(argv[3]), int(argv[4]))
        elif test == "deny":
            t_deny(argv[2], float(argv[3]), argv[4].encode(), argv[5])
        elif test == "signer":
            t_signer(argv[2], float(argv[3]), argv[4].encode(), argv[5], argv[6],
                     int(argv[7]) if len(argv) > 7 else 0)
        elif test == "memwatch":
            t_memwatch(int(argv[2]), float(argv[3]), int(argv[4]))
        elif test == "trail":
            sep = argv.index("--")
            t_trail(argv[2], int(argv[3]), int(argv[4]), argv[5:sep], argv[sep + 1],
                    int(argv[sep + 2]))
        else:
            print("fairness.py: unknown test %s" % test, file=sys.stderr)
            return 2
    except Exception as e:  # noqa: BLE001 - any exception is a failure to report
        report(False, test, "%s: %s" % (type(e).__name__, e))
    from limits import results
    return 0 if all(results) and (results or test == "memwatch") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

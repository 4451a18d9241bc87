#!/usr/bin/env python3
# ssh-client.py: a raw SSH agent protocol client (OpenSSH's PROTOCOL.agent,
# draft-miller-ssh-agent) for the tests of p11agentd's SSH socket; python3's
# standard library only. Check commands print "PASS name" / "FAIL name: why"
# lines for tests/lib.sh's count_lines.
#
#   ssh-client.py identities SOCK
#       prints the identities answer, one "TYPE BASE64 COMMENT" line a key
#   ssh-client.py sign SOCK PUBFILE DATAFILE FLAGS OUT
#       one sign request; writes the signature to OUT as OpenSSL takes it
#       (RSA and Ed25519 raw, ECDSA DER) and prints its OpenSSH type;
#       exits 0, 1 when the agent answers SSH_AGENT_FAILURE, 2 otherwise
#   ssh-client.py checks SOCK RSA_PUBFILE DATAFILE OUTDIR
#       the refusals and the replies that need a raw client (test-ssh-agent.sh);
#       writes OUTDIR/rsa-sha256.sig and OUTDIR/rsa-sha512.sig
#   ssh-client.py hostile SOCK PUBFILE STALL_SECONDS
#       misbehaving clients while a good client asks for identities and
#       signatures (test-ssh-hostile.sh)
#   ssh-client.py audit FILE FIELD=VALUE...
#       prints how many records of the audit trail FILE have every FIELD
#       (dotted for detail: detail.front) equal to VALUE ("null": JSON null;
#       FIELD^=VALUE: starts with VALUE; FIELD!=VALUE: there, and not VALUE);
#       exits 1 when none
#
# SPDX-License-Identifier: Apache-2.0
import base64
import json
import os
import socket
import struct
import sys
import threading
import time

# Every wait of the hostile and raw clients is multiplied by this
# ($SSH_CLIENT_SLOW, default 1): an agent under AddressSanitizer or valgrind
# serves the same floods several times slower.
SLOW = float(os.environ.get("SSH_CLIENT_SLOW", "1"))

FAILURE, SUCCESS = 5, 6
REQUEST_IDENTITIES, IDENTITIES_ANSWER = 11, 12
SIGN_REQUEST, SIGN_RESPONSE = 13, 14
ADD_IDENTITY, REMOVE_IDENTITY, REMOVE_ALL = 17, 18, 19
ADD_SMARTCARD, REMOVE_SMARTCARD, LOCK, UNLOCK = 20, 21, 22, 23
ADD_ID_CONSTRAINED, ADD_SMARTCARD_CONSTRAINED = 25, 26
EXTENSION, EXTENSION_FAILURE, EXTENSION_RESPONSE = 27, 28, 29
RSA_SHA2_256, RSA_SHA2_512 = 2, 4
# The SSH front's frame cap: a body of this many bytes is read, one more is not.
MAX_FRAME = 256 * 1024

_lock = threading.Lock()
results = []


def report(ok, name, why=""):
    with _lock:
        results.append(ok)
        print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)), flush=True)


# --- the wire ---------------------------------------------------------------


def string(b):
    return struct.pack(">I", len(b)) + b


def frame(body):
    return struct.pack(">I", len(body)) + body


def connect(path, timeout=10.0):
    """A connection to path; tries again for timeout seconds (times SLOW)
    while the agent's listen queue is full (a Unix socket's connect says
    EAGAIN)."""
    timeout *= SLOW
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_reply(s):
    """The next reply's body, or None when the agent closed the connection."""
    head = recv_exact(s, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n == 0 or n > MAX_FRAME:
        raise ValueError("reply frame length %d" % n)
    return recv_exact(s, n)


def call(s, body):
    s.sendall(frame(body))
    return read_reply(s)


class Reader:
    """Reads SSH wire fields from bytes; raises ValueError when short."""

    def __init__(self, b):
        self.b, self.i = b, 0

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def string(self):
        return self.take(self.u32())

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError("truncated at byte %d (wanted %d more)" % (self.i, n))
        out = self.b[self.i:self.i + n]
        self.i += n
        return out

    def done(self):
        return self.i == len(self.b)


def parse_identities(body):
    """[(blob, comment)] from an identities answer body."""
    r = Reader(body)
    if r.u8() != IDENTITIES_ANSWER:
        raise ValueError("reply type %d, not IDENTITIES_ANSWER" % body[0])
    keys = [(r.string(), r.string()) for _ in range(r.u32())]
    if not r.done():
        raise ValueError("%d bytes after the identities" % (len(body) - r.i))
    return keys


def key_line(blob, comment):
    kind = Reader(blob).string().decode()
    return "%s %s %s" % (kind, base64.b64encode(blob).decode(), comment.decode())


def read_pubfile(path):
    """The key blob of an OpenSSH public key line."""
    with open(path) as f:
        return base64.b64decode(f.read().split()[1])


def sign_request(blob, data, flags):
    return bytes([SIGN_REQUEST]) + string(blob) + string(data) + struct.pack(">I", flags)


def der_int(v):
    b = v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + der_len(len(b)) + b


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def openssl_sig(sig_blob):
    """(type, signature as OpenSSL verifies it) from an OpenSSH signature blob."""
    r = Reader(sig_blob)
    kind = r.string().decode()
    sig = r.string()
    if not r.done():
        raise ValueError("bytes after the signature")
    if kind.startswith("ecdsa-sha2-"):
        e = Reader(sig)
        rr = int.from_bytes(e.string(), "big")
        ss = int.from_bytes(e.string(), "big")
        body = der_int(rr) + der_int(ss)
        sig = b"\x30" + der_len(len(body)) + body
    return kind, sig


def sign(sock, blob, data, flags):
    """(reply type, signature blob or None) on a new connection."""
    s = connect(sock)
    try:
        rep = call(s, sign_request(blob, data, flags))
    finally:
        s.close()
    if rep is None:
        return None, None
    if rep[0] != SIGN_RESPONSE:
        return rep[0], None
    r = Reader(rep[1:])
    sig = r.string()
    if not r.done():
        raise ValueError("bytes after the sign response")
    return SIGN_RESPONSE, sig


# --- commands -----------------------------------------------------------------


def cmd_identities(sock):
    s = connect(sock)
    for blob, comment in parse_identities(call(s, bytes([REQUEST_IDENTITIES]))):
        print(key_line(blob, comment))
    s.close()
    return 0


def cmd_sign(sock, pubfile, datafile, flags, out):
    with open(datafile, "rb") as f:
        data = f.read()
    kind, sig = sign(sock, read_pubfile(pubfile), data, int(flags, 0))
    if kind != SIGN_RESPONSE:
        print("agent answered %s" % ("nothing (closed)" if kind is None else kind),
              file=sys.stderr)
        return 1 if kind == FAILURE else 2
    t, raw = openssl_sig(sig)
    with open(out, "wb") as f:
        f.write(raw)
    print(t)
    return 0


def expect(s, body, want, name):
    """Sends body on s; passes when the reply's type is want. The reply body."""
    try:
        rep = call(s, body)
    except (OSError, ValueError) as e:
        report(False, name, "%s: %s" % (type(e).__name__, e))
        return None
    if rep is None:
        report(False, name, "the agent closed the connection")
    else:
        report(rep[0] == want, name, "reply type %d, expected %d" % (rep[0], want))
    return rep


def cmd_checks(sock, rsa_pub, datafile, outdir):
    with open(datafile, "rb") as f:
        data = f.read()
    rsa = read_pubfile(rsa_pub)
    s = connect(sock)
    # SHA-1 "ssh-rsa" is refused; SHA-2 on the same connection is served.
    expect(s, sign_request(rsa, data, 0), FAILURE, "sign ssh-rsa (flags 0, SHA-1) is refused")
    for flags, kind in ((RSA_SHA2_256, "rsa-sha2-256"), (RSA_SHA2_512, "rsa-sha2-512")):
        rep = expect(s, sign_request(rsa, data, flags), SIGN_RESPONSE,
                     "sign %s (flags %d) on the same connection" % (kind, flags))
        if rep is not None and rep[0] == SIGN_RESPONSE:
            try:
                t, raw = openssl_sig(Reader(rep[1:]).string())
                report(t == kind, "signature type is %s" % kind, "got %s" % t)
                with open(os.path.join(outdir, "rsa-sha%s.sig" % kind[-3:]), "wb") as f:
                    f.write(raw)
            except ValueError as e:
                report(False, "signature blob of %s parses" % kind, str(e))
    # Unknown messages, and every message that would change the agent's keys.
    for t, name in ((200, "unknown message 200"), (0, "message 0"),
                    (ADD_IDENTITY, "add identity"), (REMOVE_IDENTITY, "remove identity"),
                    (REMOVE_ALL, "remove all identities"), (ADD_SMARTCARD, "add smartcard key"),
                    (REMOVE_SMARTCARD, "remove smartcard key"), (LOCK, "lock"),
                    (UNLOCK, "unlock"), (ADD_ID_CONSTRAINED, "add constrained identity"),
                    (ADD_SMARTCARD_CONSTRAINED, "add constrained smartcard key")):
        body = bytes([t])
        if t in (REMOVE_IDENTITY,):
            body += string(rsa)
        elif t in (LOCK, UNLOCK):
            body += string(b"a password")
        elif t not in (REMOVE_ALL,):
            body += string(b"whatever this would be") + b"\x00\x01"
        expect(s, body, FAILURE, "%s gets SSH_AGENT_FAILURE" % name)
    rep = expect(s, bytes([REQUEST_IDENTITIES]), IDENTITIES_ANSWER,
                 "the connection goes on after the refusals")
    if rep is not None and rep[0] == IDENTITIES_ANSWER:
        keys = [b for b, _ in parse_identities(rep)]
        report(rsa in keys, "the RSA key is still listed")
    # Extensions: "query" answers with the names (RFC 9987 and OpenSSH 10.3:
    # EXTENSION_RESPONSE, string "query", the names; before them: SUCCESS, the
    # names); unknown ones FAILURE (the protocol: an agent that does not know
    # an extension answers SSH_AGENT_FAILURE; EXTENSION_FAILURE is a known
    # extension's own failure); a session-bind whose signature is wrong FAILURE.
    try:
        rep = call(s, bytes([EXTENSION]) + string(b"query"))
        ok = rep is not None and rep[0] in (SUCCESS, EXTENSION_RESPONSE)
        report(ok, "extension query: answered (%s)" % ("SUCCESS" if rep and rep[0] == SUCCESS
                                                        else "EXTENSION_RESPONSE"),
               "reply %r" % (rep[:8] if rep else rep,))
        if ok:
            r = Reader(rep[1:])
            names = []
            while not r.done():
                names.append(r.string().decode())
            if rep[0] == EXTENSION_RESPONSE:
                report(names[:1] == ["query"], "extension query: the response names query",
                       "names %r" % names)
                names = names[1:]
            print("query names: %s" % ", ".join(names))
            report("session-bind@openssh.com" in names,
                   "extension query names session-bind@openssh.com", "names %r" % names)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        report(False, "extension query", "%s: %s" % (type(e).__name__, e))
    expect(s, bytes([EXTENSION]) + string(b"no-such-extension@example.org") + b"abc",
           FAILURE, "unknown extension gets SSH_AGENT_FAILURE")
    host = b"".join(string(x) for x in (b"ssh-ed25519", b"\x11" * 32))
    bad_sig = string(b"ssh-ed25519") + string(b"\x22" * 64)
    bind = string(host) + string(os.urandom(32)) + string(bad_sig) + b"\x00"
    expect(s, bytes([EXTENSION]) + string(b"session-bind@openssh.com") + bind, FAILURE,
           "session-bind with a wrong signature gets SSH_AGENT_FAILURE")
    # A key the agent does not hold.
    other = b"".join(string(x) for x in (b"ssh-ed25519", os.urandom(32)))
    expect(s, sign_request(other, data, 0), FAILURE, "sign with a key the agent lacks is refused")
    expect(s, sign_request(rsa, data, RSA_SHA2_256), SIGN_RESPONSE,
           "the connection still signs after all that")
    s.close()
    # A malformed request (a string longer than the frame): FAILURE or the
    # connection closed, and another connection is served.
    s = connect(sock)
    s.settimeout(5 * SLOW)
    try:
        s.sendall(frame(bytes([SIGN_REQUEST]) + struct.pack(">I", 1000) + b"short"))
        rep = read_reply(s)
        report(rep is None or rep == bytes([FAILURE]),
               "a malformed sign request gets FAILURE or a close (%s)"
               % ("closed" if rep is None else "FAILURE"), "reply %r" % rep[:8])
    except ConnectionResetError:
        report(True, "a malformed sign request closes the connection (reset)")
    except socket.timeout:
        report(False, "a malformed sign request is answered", "no reply nor close in 5 s")
    s.close()
    s = connect(sock)
    expect(s, bytes([REQUEST_IDENTITIES]), IDENTITIES_ANSWER, "a new connection is served")
    s.close()
    return 0 if all(results) else 1


# --- hostile clients ----------------------------------------------------------


def closed_within(s, seconds):
    """Reads until the agent closes s (True), or seconds pass (False)."""
    s.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not s.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False


def send_quietly(s, b):
    try:
        s.sendall(b)
    except (BrokenPipeError, ConnectionResetError):
        pass


def attack(name, fn, *args):
    def run():
        try:
            fn(name, *args)
        except Exception as e:  # noqa: BLE001 - any exception is a failure to report
            report(False, name, "%s: %s" % (type(e).__name__, e))

    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    return t


def served(sock):
    s = connect(sock)
    try:
        rep = call(s, bytes([REQUEST_IDENTITIES]))
        return rep is not None and rep[0] == IDENTITIES_ANSWER
    finally:
        s.close()


def huge_length(name, sock):
    s = connect(sock)
    send_quietly(s, b"\xff\xff\xff\xff" + bytes([REQUEST_IDENTITIES]))
    report(closed_within(s, 5), "%s: length 2^32-1 closes the connection" % name,
           "still open after 5 s")
    s.close()
    report(served(sock), "%s: the agent serves the next connection" % name)


def over_cap(name, sock):
    # 300 KiB, over the 256 KiB cap: the agent closes without reading it all.
    s = connect(sock)
    send_quietly(s, frame(bytes([SIGN_REQUEST]) + b"\x00" * (300 * 1024 - 1)))
    report(closed_within(s, 5), "%s: a 300 KiB frame closes the connection" % name,
           "still open after 5 s")
    s.close()
    # One byte over the cap, then exactly the cap (read, and answered).
    s = connect(sock)
    send_quietly(s, frame(bytes([200]) + b"\x00" * MAX_FRAME))
    report(closed_within(s, 5), "%s: a frame of 256 KiB + 1 closes the connection" % name,
           "still open after 5 s")
    s.close()
    s = connect(sock)
    rep = call(s, bytes([200]) + b"\x00" * (MAX_FRAME - 1))
    report(rep == bytes([FAILURE]), "%s: a frame of exactly 256 KiB is read and refused" % name,
           "reply %r" % (rep[:8] if rep else rep,))
    report(call(s, bytes([REQUEST_IDENTITIES]))[0] == IDENTITIES_ANSWER,
           "%s: that connection goes on" % name)
    s.close()


def half_frames(name, sock, stall, n=20):
    conns = []
    for i in range(n):
        s = connect(sock)
        if i % 2 == 0:
            s.sendall(b"\x00\x00")  # half a length
        else:
            s.sendall(frame(sign_request(b"x" * 100, b"y" * 1000, 2))[:500])  # half a request
        conns.append(s)
    time.sleep(stall)
    # They were held, not dropped: one can be finished and is answered.
    s = conns[1]
    s.sendall(frame(sign_request(b"x" * 100, b"y" * 1000, 2))[500:])
    s.settimeout(10 * SLOW)
    rep = read_reply(s)
    report(rep == bytes([FAILURE]), "%s: a stalled frame completes (FAILURE for no such key)" % name,
           "reply %r" % (rep[:8] if rep else rep,))
    for s in conns:
        s.close()
    report(True, "%s: %d half-written frames held %.0f s" % (name, n, stall))


def never_reads(name, sock, stall):
    # Requests and requests, never a reply read, for a few seconds: the
    # agent's writes back up (or it stops reading, and so do these sends).
    batch = frame(bytes([REQUEST_IDENTITIES])) * 4096
    conns = []
    for _ in range(3):
        s = connect(sock)
        s.settimeout(1 * SLOW)
        sent, deadline = 0, time.monotonic() + 3
        try:
            while time.monotonic() < deadline:
                s.sendall(batch)
                sent += 4096
        except (socket.timeout, BrokenPipeError, ConnectionResetError):
            pass
        conns.append((s, sent))
    time.sleep(stall)
    for s, _ in conns:
        s.close()
    report(True, "%s: %s requests sent, no reply read, held %.0f s"
           % (name, "+".join(str(n) for _, n in conns), stall))


def many_at_once(name, sock, n=200):
    conns = []
    for _ in range(n):
        conns.append(connect(sock))
    for s in conns:
        send_quietly(s, frame(bytes([REQUEST_IDENTITIES])))
    answered = closed = 0
    for s in conns:
        s.settimeout(20 * SLOW)
        try:
            rep = read_reply(s)
        except (ConnectionResetError, socket.timeout, ValueError):
            rep = None
        if rep is not None and rep[0] == IDENTITIES_ANSWER:
            answered += 1
        else:
            closed += 1
    for s in conns:
        s.close()
    report(answered == n, "%s: %d connections at once, each answered" % (name, n),
           "%d answered, %d not" % (answered, closed))


def garbage(name, sock):
    for payload in (os.urandom(8192), b"\x00\x00\x00\x00", b"\x00\x00\x00\x01",
                    b"SSH-2.0-OpenSSH_9.2\r\n" + os.urandom(512)):
        s = connect(sock)
        send_quietly(s, payload)
        # Whatever the agent says, it must not hang on to the connection
        # forever nor stop serving others; here it is dropped after 3 s.
        closed_within(s, 3)
        s.close()
    report(served(sock), "%s: random bytes, empty and odd frames; the agent serves on" % name)


def disconnect_mid_request(name, sock, blob):
    for _ in range(10):
        s = connect(sock)
        s.sendall(frame(sign_request(blob, b"z" * 2000, RSA_SHA2_256)))
        s.close()  # gone before the signature is made
        s = connect(sock)
        s.sendall(frame(sign_request(blob, b"z" * 2000, RSA_SHA2_256))[:30])
        s.close()  # gone mid-frame
    report(served(sock), "%s: clients gone mid-request; the agent serves on" % name)


def good_client(name, sock, blob, stop):
    """A well-behaved client on one connection: identities and signatures."""
    s = connect(sock)
    worst, n = 0.0, 0
    while not stop.is_set():
        t0 = time.monotonic()
        rep = call(s, bytes([REQUEST_IDENTITIES]))
        if rep is None or rep[0] != IDENTITIES_ANSWER:
            report(False, name, "identities request %d: %r" % (n, rep[:8] if rep else rep))
            return
        rep = call(s, sign_request(blob, b"good client %d" % n, RSA_SHA2_256))
        if rep is None or rep[0] != SIGN_RESPONSE:
            report(False, name, "sign request %d: %r" % (n, rep[:8] if rep else rep))
            return
        worst = max(worst, time.monotonic() - t0)
        n += 1
        time.sleep(0.02)
    s.close()
    report(n > 0 and worst < 5.0 * SLOW, "%s: %d rounds, slowest %.3f s" % (name, n, worst),
           "slowest round took %.3f s" % worst)


def cmd_hostile(sock, pubfile, stall):
    blob = read_pubfile(pubfile)
    stall = float(stall)
    stop = threading.Event()
    good = attack("good client", good_client, sock, blob, stop)
    threads = [
        attack("huge length", huge_length, sock),
        attack("over the cap", over_cap, sock),
        attack("half frames", half_frames, sock, stall),
        attack("never reads", never_reads, sock, stall),
        attack("200 at once", many_at_once, sock),
        attack("garbage", garbage, sock),
        attack("disconnect mid-request", disconnect_mid_request, sock, blob),
    ]
    for t in threads:
        t.join(stall + 40)
    stop.set()
    good.join(15)
    for t in threads + [good]:
        if t.is_alive():
            report(False, t.name, "did not finish in time")
    return 0 if all(results) else 1


# --- the audit trail -----------------------------------------------------------


def field(rec, path):
    for part in path.split("."):
        if not isinstance(rec, dict) or part not in rec:
            return KeyError
        rec = rec[part]
    return rec


def matches(rec, cond):
    if "!=" in cond:
        k, v = cond.split("!=", 1)
        got = field(rec, k)
        return got is not KeyError and str(got) != v and not (v == "null" and got is None)
    if "^=" in cond:
        k, v = cond.split("^=", 1)
        got = field(rec, k)
        return isinstance(got, str) and got.startswith(v)
    k, v = cond.split("=", 1)
    got = field(rec, k)
    if v == "null":
        return got is None
    return got is not KeyError and got is not None and str(got) == v


def cmd_audit(path, conds):
    n = 0
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and all(matches(json.loads(line), c) for c in conds):
                n += 1
    print(n)
    return 0 if n > 0 else 1


def main(argv):
    cmds = {"identities": (cmd_identities, 1), "sign": (cmd_sign, 5),
            "checks": (cmd_checks, 4), "hostile": (cmd_hostile, 3)}
    if len(argv) >= 2 and argv[0] == "audit":
        return cmd_audit(argv[1], argv[2:])
    if len(argv) < 1 or argv[0] not in cmds or len(argv) - 1 != cmds[argv[0]][1]:
        print(__doc__ if __doc__ else "usage: see the head of ssh-client.py", file=sys.stderr)
        return 2
    try:
        return cmds[argv[0]][0](*argv[1:])
    except (OSError, ValueError) as e:
        print("ssh-client.py %s: %s: %s" % (argv[0], type(e).__name__, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

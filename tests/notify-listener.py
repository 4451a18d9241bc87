#!/usr/bin/env python3
"""notify-listener: the service manager's end of sd_notify(3), for the tests.

Binds a datagram socket at PATH and writes each message it receives to LOG as
one line: the milliseconds since the epoch, a space, then the message with its
newlines shown as '|'. Exits after STOPPING=1 has come (and the datagrams
queued behind it are read), or after SECONDS (default 120).

Usage: notify-listener.py PATH LOG [SECONDS]

SPDX-License-Identifier: Apache-2.0
"""
import os
import socket
import sys
import time


def main():
    path, log = sys.argv[1], sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o600)
    end = time.monotonic() + limit
    stopping = False
    with open(log, "a", buffering=1) as out:
        while time.monotonic() < end:
            sock.settimeout(0.5 if stopping else max(0.1, end - time.monotonic()))
            try:
                data = sock.recv(4096)
            except socket.timeout:
                if stopping:
                    break
                continue
            text = data.decode("utf-8", "replace").replace("\n", "|")
            out.write("%d %s\n" % (int(time.time() * 1000), text))
            if "STOPPING=1" in text.split("|"):
                stopping = True
    sock.close()
    os.unlink(path)


if __name__ == "__main__":
    main()

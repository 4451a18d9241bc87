# tests/socket-fake.py: a fake agent for tests/test-socket.sh. Listens on a
# Unix socket and appends every byte it receives to a file, until killed or
# for 60 s at most.
#
#   python3 socket-fake.py SOCKET RECORD
#
# SPDX-License-Identifier: Apache-2.0
import os
import socket
import sys
import time

path, record = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)
srv.settimeout(0.5)
open(path + ".ready", "w").close()
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        continue
    conn.settimeout(2)
    try:
        data = conn.recv(65536)
    except OSError:
        data = b""
    with open(record, "ab") as f:
        f.write(data)
    conn.close()

# tests/socket-racer.py: the socket-group race of tests/test-socket.sh. As a
# user other than the agent's, waits for the agent's socket to appear in DIR
# and renames a symbolic link to VICTIM over it, hoping that the agent then
# changes the mode and group of VICTIM instead of its socket's. Prints
# "swapped" when the rename was done; gives up after SECONDS.
#
#   python3 socket-racer.py DIR VICTIM SECONDS
#
# SPDX-License-Identifier: Apache-2.0
import os
import stat
import sys
import time

d, victim, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sock, link = os.path.join(d, "agent.sock"), os.path.join(d, "link")
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        if not os.path.islink(link):
            os.symlink(victim, link)
        if stat.S_ISSOCK(os.lstat(sock).st_mode):
            os.rename(link, sock)
            print("swapped")
            sys.exit(0)
    except OSError:
        pass
print("no socket to swap")

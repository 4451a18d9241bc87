#!/usr/bin/env python3
"""listen-fds: runs a command with listening Unix sockets passed to it the way
systemd passes them (sd_listen_fds(3)), for the socket activation tests, in
the cases systemd-socket-activate cannot make.

Usage: listen-fds.py [--pid self|other|VALUE] [--names N1:N2|-] PATH... -- CMD ARGS...

Binds and listens on each PATH, places the sockets at descriptors 3, 4, ...,
sets LISTEN_FDS, LISTEN_PID (this process's pid, which the command keeps
across exec: 'self'; the pid of another process, 1: 'other'; or VALUE as
given) and LISTEN_FDNAMES (unless '-'), then execs CMD.

SPDX-License-Identifier: Apache-2.0
"""
import os
import socket
import sys


def main():
    args = sys.argv[1:]
    pid, names = "self", None
    while args and args[0].startswith("--") and args[0] != "--":
        opt, val = args[0], args[1]
        args = args[2:]
        if opt == "--pid":
            pid = val
        elif opt == "--names":
            names = None if val == "-" else val
        else:
            sys.exit("listen-fds: unknown option " + opt)
    sep = args.index("--")
    paths, cmd = args[:sep], args[sep + 1:]
    socks = []
    for p in paths:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(p)
        s.listen(16)
        socks.append(s)
    for i, s in enumerate(socks):
        fd = 3 + i
        if s.fileno() != fd:
            os.dup2(s.fileno(), fd)
        os.set_inheritable(fd, True)
    os.environ["LISTEN_FDS"] = str(len(socks))
    os.environ["LISTEN_PID"] = {"self": str(os.getpid()), "other": "1"}.get(pid, pid)
    if names is not None:
        os.environ["LISTEN_FDNAMES"] = names
    else:
        os.environ.pop("LISTEN_FDNAMES", None)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()

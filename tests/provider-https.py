#!/usr/bin/env python3
# provider-https.py: Python's ssl module with agent keys, for
# tests/test-provider-programs.sh. OpenSSL reads the key file through the
# p11agent provider (OPENSSL_CONF names an openssl.cnf loading it); Python
# itself knows nothing of the agent.
#
#   provider-https.py server CERT KEYFILE CAFILE PORT_FILE COUNT
#       an HTTPS server on 127.0.0.1 (a port the kernel picks, written to
#       PORT_FILE once it listens) whose key is KEYFILE; it requires a client
#       certificate issued by CAFILE and answers GET with "hello SUBJECT"
#       (the client certificate's commonName). Exits after COUNT connections
#       (a handshake that fails counts), or 60 s without one.
#   provider-https.py get URL CAFILE [CERT KEYFILE]
#       GET URL, verifying the server against CAFILE, with a client
#       certificate when given; prints the body. Exit 0 on 200, 1 otherwise
#       (stands in for curl where curl cannot run: a sanitizer build).
#
# SPDX-License-Identifier: Apache-2.0
import http.server
import os
import socket
import ssl
import sys
import urllib.request


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        cert = self.connection.getpeercert()
        cn = ""
        for rdn in cert.get("subject", ()):
            for name, value in rdn:
                if name == "commonName":
                    cn = value
        body = ("hello %s\n" % cn).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("server: " + (fmt % args) + "\n")


def server(cert, keyfile, cafile, port_file, count):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, keyfile)
    ctx.load_verify_locations(cafile)
    ctx.verify_mode = ssl.CERT_REQUIRED
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.timeout = 60
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % httpd.server_address[1])
    os.rename(tmp, port_file)
    sys.stderr.write("server: listening on 127.0.0.1:%d\n" % httpd.server_address[1])
    for _ in range(count):
        # handle_request() returns after one connection, or the timeout.
        httpd.handle_request()
    httpd.server_close()
    return 0


def get(url, cafile, cert=None, keyfile=None):
    ctx = ssl.create_default_context(cafile=cafile)
    if cert is not None:
        ctx.load_cert_chain(cert, keyfile)
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=20) as r:
            sys.stdout.write(r.read().decode())
            return 0 if r.status == 200 else 1
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("get: %s\n" % e)
        return 1


def main(argv):
    if len(argv) == 6 and argv[0] == "server":
        return server(argv[1], argv[2], argv[3], argv[4], int(argv[5]))
    if len(argv) in (3, 5) and argv[0] == "get":
        return get(*argv[1:])
    sys.stderr.write(
        "usage: provider-https.py server CERT KEYFILE CAFILE PORT_FILE COUNT\n"
        "       provider-https.py get URL CAFILE [CERT KEYFILE]\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

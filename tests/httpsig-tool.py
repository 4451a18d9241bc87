#!/usr/bin/env python3
# tests/httpsig-tool.py: small helpers of the HTTP Message Signatures tests
# (tests/test-httpsig*.sh), for what the shell does badly: pull one signature
# out of a message, turn an ECDSA r||s into DER, cut a message's body out,
# change one byte of a message in a given place.
#
#   httpsig-tool.py sig MSG LABEL OUT      the Signature member LABEL, decoded, to OUT
#   httpsig-tool.py input MSG LABEL        the Signature-Input member LABEL (its value)
#   httpsig-tool.py field MSG NAME         the values of field NAME (any case), one a line
#   httpsig-tool.py body MSG OUT           the message's content (after the empty line) to OUT
#   httpsig-tool.py raw2der RAW DER        ECDSA r||s to an X9.62 ECDSA-Sig-Value
#   httpsig-tool.py crlf MSG OUT           MSG with its header section's LF line ends as CRLF
#   httpsig-tool.py flipsig MSG LABEL OUT  MSG with one bit of signature LABEL changed
#   httpsig-tool.py replace MSG OLD NEW OUT  MSG with the first OLD (in the header
#                                          section when found there) replaced by NEW
#
# Messages are read as bytes; lines end in LF or CRLF. Exits 1 on any error.
#
# SPDX-License-Identifier: Apache-2.0
import base64
import re
import sys


def split(data):
    """Header section (without the empty line) and content of a message."""
    m = re.search(b'\r?\n\r?\n', data)
    if m is None:
        sys.exit('httpsig-tool: no empty line after the header section')
    return data[:m.start()], data[m.end():]


def fields(head, name):
    out = []
    for line in re.split(b'\r?\n', head)[1:]:
        n, sep, v = line.partition(b':')
        if sep and n.strip().lower() == name.lower().encode():
            out.append(v.strip(b' \t'))
    return out


def find_sig(head, label):
    """The base64 text of the Signature member label."""
    for value in fields(head, 'signature'):
        for member in value.split(b','):
            key, sep, item = member.strip().partition(b'=')
            if sep and key.decode() == label:
                m = re.fullmatch(rb':([A-Za-z0-9+/=]*):', item)
                if m is None:
                    sys.exit('httpsig-tool: signature %s is not a byte sequence' % label)
                return m.group(1)
    sys.exit('httpsig-tool: no signature labelled %s' % label)


def cmd_sig(msg, label, out):
    head, _ = split(open(msg, 'rb').read())
    open(out, 'wb').write(base64.b64decode(find_sig(head, label), validate=True))


def cmd_flipsig(msg, label, out):
    data = open(msg, 'rb').read()
    head, _ = split(data)
    b64 = find_sig(head, label)
    sig = bytearray(base64.b64decode(b64, validate=True))
    sig[len(sig) // 2] ^= 0x01
    new = base64.b64encode(bytes(sig))
    old_field = label.encode() + b'=:' + b64 + b':'
    open(out, 'wb').write(data.replace(old_field, label.encode() + b'=:' + new + b':', 1))


def members(value):
    """The top-level members of a dictionary field value (commas outside
    strings and inner lists)."""
    out, cur, depth, quoted, escaped = [], bytearray(), 0, False, False
    for c in value:
        ch = bytes([c])
        if quoted:
            quoted = not (ch == b'"' and not escaped)
            escaped = ch == b'\\' and not escaped
        elif ch == b'"':
            quoted = True
        elif ch == b'(':
            depth += 1
        elif ch == b')':
            depth -= 1
        elif ch == b',' and depth == 0:
            out.append(bytes(cur).strip())
            cur = bytearray()
            continue
        cur += ch
    out.append(bytes(cur).strip())
    return out


def cmd_input(msg, label):
    head, _ = split(open(msg, 'rb').read())
    for value in fields(head, 'signature-input'):
        for member in members(value):
            key, sep, item = member.partition(b'=')
            if sep and key.decode() == label:
                sys.stdout.buffer.write(item + b'\n')
                return
    sys.exit('httpsig-tool: no signature input labelled %s in %s' % (label, msg))


def cmd_field(msg, name):
    head, _ = split(open(msg, 'rb').read())
    for v in fields(head, name):
        sys.stdout.buffer.write(v + b'\n')


def cmd_body(msg, out):
    _, body = split(open(msg, 'rb').read())
    open(out, 'wb').write(body)


def der_len(n):
    return bytes([n]) if n < 128 else b'\x81' + bytes([n])


def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80:
        b = b'\0' + b
    return b'\x02' + der_len(len(b)) + b


def cmd_raw2der(raw_path, der_path):
    raw = open(raw_path, 'rb').read()
    if len(raw) not in (64, 96, 132):
        sys.exit('httpsig-tool: %d bytes is no ECDSA r||s' % len(raw))
    n = len(raw) // 2
    body = der_int(raw[:n]) + der_int(raw[n:])
    open(der_path, 'wb').write(b'\x30' + der_len(len(body)) + body)


def cmd_crlf(msg, out):
    head, body = split(open(msg, 'rb').read())
    head = b'\r\n'.join(re.split(b'\r?\n', head))
    open(out, 'wb').write(head + b'\r\n\r\n' + body)


def cmd_replace(msg, old, new, out):
    data = open(msg, 'rb').read()
    head, body = split(data)
    old, new = old.encode('utf-8', 'surrogateescape'), new.encode('utf-8', 'surrogateescape')
    if old in head:
        data = data.replace(old, new, 1)
    elif old in body:
        data = data[:len(data) - len(body)] + body.replace(old, new, 1)
    else:
        sys.exit('httpsig-tool: %r is not in %s' % (old, msg))
    open(out, 'wb').write(data)


COMMANDS = {
    'sig': (cmd_sig, 3),
    'input': (cmd_input, 2),
    'field': (cmd_field, 2),
    'body': (cmd_body, 2),
    'raw2der': (cmd_raw2der, 2),
    'crlf': (cmd_crlf, 2),
    'flipsig': (cmd_flipsig, 3),
    'replace': (cmd_replace, 4),
}

if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS or \
            len(sys.argv) != COMMANDS[sys.argv[1]][1] + 2:
        sys.exit('usage: httpsig-tool.py sig|input|field|body|raw2der|crlf|flipsig|replace ARGS...')
    try:
        COMMANDS[sys.argv[1]][0](*sys.argv[2:])
    except OSError as e:
        sys.exit('httpsig-tool: %s' % e)

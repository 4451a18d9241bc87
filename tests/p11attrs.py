#!/usr/bin/env python3
# p11attrs.py: the key lifecycle tests' second PKCS#11 tool (PyKCS11): it
# reads what p11agent made in the token, and makes and removes keys behind
# the agent's back.
#
#   p11attrs.py dump                  every object of the token, as a JSON array
#   p11attrs.py q DUMP LABEL CLASS ATTR
#                                     one attribute of the one object of DUMP (a
#                                     dump's file) labelled LABEL of CLASS
#                                     (private, public, secret, certificate):
#                                     true/false, a number, text or hex; "absent"
#                                     when unreadable; "none" or "many:N" when
#                                     not exactly one object matches
#   p11attrs.py count DUMP [LABEL [CLASS]]
#                                     how many objects of DUMP match (LABEL *:
#                                     any label)
#   p11attrs.py keygen-ec LABEL IDHEX an EC P-256 key pair (token objects)
#   p11attrs.py destroy LABEL         destroys every object labelled LABEL,
#                                     prints how many
#   p11attrs.py plant-public LABEL    an attacker's move: replaces the RSA public
#                                     key object labelled LABEL by another RSA
#                                     key's, with the same CKA_ID and label and
#                                     CKA_WRAP (its private half a session object,
#                                     gone at exit); prints its modulus in hex
#   p11attrs.py wrap LABEL KEYFILE OUT
#                                     wraps KEYFILE's bytes (an AES key, 16, 24
#                                     or 32 bytes, made a session object) with
#                                     the AES key labelled LABEL (CKM_AES_KEY_WRAP,
#                                     RFC 3394) into OUT
#
# Environment: SOFTHSM_MODULE (the PKCS#11 module), P11_TOKEN (the token's
# label), P11_PIN_FILE (a file holding the user PIN: the PIN never reaches
# argv), and SOFTHSM2_CONF for SoftHSM. Exits 0, or 1 with a message.
#
# SPDX-License-Identifier: Apache-2.0
import json
import os
import sys

BOOLS = ["CKA_TOKEN", "CKA_PRIVATE", "CKA_SENSITIVE", "CKA_EXTRACTABLE", "CKA_NEVER_EXTRACTABLE",
         "CKA_ALWAYS_SENSITIVE", "CKA_SIGN", "CKA_VERIFY", "CKA_DECRYPT", "CKA_ENCRYPT",
         "CKA_UNWRAP", "CKA_WRAP", "CKA_DERIVE", "CKA_MODIFIABLE"]
CLASSES = {0: "data", 1: "certificate", 2: "public", 3: "private", 4: "secret"}


def die(msg):
    print("p11attrs.py: %s" % msg, file=sys.stderr)
    sys.exit(1)


def session():
    import PyKCS11
    module = os.environ.get("SOFTHSM_MODULE")
    label = os.environ.get("P11_TOKEN")
    pin_file = os.environ.get("P11_PIN_FILE")
    if not module or not label or not pin_file:
        die("SOFTHSM_MODULE, P11_TOKEN and P11_PIN_FILE must be set")
    with open(pin_file) as f:
        pin = f.read().strip()
    lib = PyKCS11.PyKCS11Lib()
    lib.load(module)
    for slot in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(slot).label.strip() == label:
            s = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
            s.login(pin)
            return PyKCS11, s
    die("no token labelled %s" % label)


def attr(P, s, obj, name):
    """The raw bytes of one attribute, or None when the token will not give it."""
    try:
        v = s.getAttributeValue(obj, [getattr(P, name)], allAsBinary=True)[0]
    except P.PyKCS11Error:
        return None
    return None if v is None else bytes(v)


def num(b):
    return int.from_bytes(b, sys.byteorder) if b is not None else None


def dump():
    P, s = session()
    out = []
    for obj in s.findObjects([]):
        klass = num(attr(P, s, obj, "CKA_CLASS"))
        label = attr(P, s, obj, "CKA_LABEL")
        rec = {"class": CLASSES.get(klass, str(klass)),
               "label": label.decode("utf-8", "replace") if label is not None else None,
               "id": attr(P, s, obj, "CKA_ID").hex() if attr(P, s, obj, "CKA_ID") is not None
               else None}
        kt = attr(P, s, obj, "CKA_KEY_TYPE")
        rec["CKA_KEY_TYPE"] = num(kt)
        for name in BOOLS:
            b = attr(P, s, obj, name)
            rec[name] = (b != b"\x00") if b is not None and len(b) == 1 else None
        d = attr(P, s, obj, "CKA_START_DATE")
        rec["CKA_START_DATE"] = ("%s-%s-%s" % (d[0:4].decode(), d[4:6].decode(), d[6:8].decode())
                                 if d is not None and len(d) == 8 else None)
        vl = attr(P, s, obj, "CKA_VALUE_LEN")
        rec["CKA_VALUE_LEN"] = num(vl) if vl is not None and len(vl) > 0 else None
        out.append(rec)
    s.logout()
    s.closeSession()
    json.dump(out, sys.stdout, indent=1)
    print()


def matching(dump_file, label=None, klass=None):
    with open(dump_file) as f:
        objs = json.load(f)
    return [o for o in objs
            if (label in (None, "*") or o["label"] == label) and (klass is None or o["class"] == klass)]


def query(dump_file, label, klass, name):
    objs = matching(dump_file, label, klass)
    if len(objs) != 1:
        print("none" if not objs else "many:%d" % len(objs))
        return
    v = objs[0].get(name)
    if v is None:
        print("absent")
    elif isinstance(v, bool):
        print("true" if v else "false")
    else:
        print(v)


def keygen_ec(label, idhex):
    P, s = session()
    oid_p256 = bytes.fromhex("06082a8648ce3d030107")
    ident = bytes.fromhex(idhex)
    pub = [(P.CKA_CLASS, P.CKO_PUBLIC_KEY), (P.CKA_KEY_TYPE, P.CKK_EC), (P.CKA_TOKEN, True),
           (P.CKA_PRIVATE, False), (P.CKA_VERIFY, True), (P.CKA_LABEL, label),
           (P.CKA_ID, ident), (P.CKA_EC_PARAMS, oid_p256)]
    priv = [(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_KEY_TYPE, P.CKK_EC), (P.CKA_TOKEN, True),
            (P.CKA_PRIVATE, True), (P.CKA_SENSITIVE, True), (P.CKA_EXTRACTABLE, False),
            (P.CKA_SIGN, True), (P.CKA_LABEL, label), (P.CKA_ID, ident)]
    s.generateKeyPair(pub, priv, P.Mechanism(P.CKM_EC_KEY_PAIR_GEN, None))
    s.logout()
    s.closeSession()


def plant_public(label):
    P, s = session()
    found = s.findObjects([(P.CKA_CLASS, P.CKO_PUBLIC_KEY), (P.CKA_LABEL, label)])
    if len(found) != 1:
        die("%d public keys labelled %s" % (len(found), label))
    ident = bytes(s.getAttributeValue(found[0], [P.CKA_ID])[0])
    s.destroyObject(found[0])
    pub = [(P.CKA_CLASS, P.CKO_PUBLIC_KEY), (P.CKA_KEY_TYPE, P.CKK_RSA), (P.CKA_TOKEN, True),
           (P.CKA_PRIVATE, False), (P.CKA_WRAP, True), (P.CKA_ENCRYPT, True),
           (P.CKA_VERIFY, True), (P.CKA_LABEL, label), (P.CKA_ID, ident),
           (P.CKA_MODULUS_BITS, 2048), (P.CKA_PUBLIC_EXPONENT, (0x01, 0x00, 0x01))]
    priv = [(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_KEY_TYPE, P.CKK_RSA), (P.CKA_TOKEN, False),
            (P.CKA_PRIVATE, True), (P.CKA_DECRYPT, True), (P.CKA_UNWRAP, True)]
    planted, _ = s.generateKeyPair(pub, priv, P.Mechanism(P.CKM_RSA_PKCS_KEY_PAIR_GEN, None))
    print(bytes(s.getAttributeValue(planted, [P.CKA_MODULUS])[0]).hex())
    s.logout()
    s.closeSession()


def destroy(label):
    P, s = session()
    objs = s.findObjects([(P.CKA_LABEL, label)])
    for obj in objs:
        s.destroyObject(obj)
    print(len(objs))
    s.logout()
    s.closeSession()


def wrap(label, key_file, out_file):
    P, s = session()
    with open(key_file, "rb") as f:
        value = f.read()
    if len(value) not in (16, 24, 32):
        die("%s: an AES key is 16, 24 or 32 bytes, not %d" % (key_file, len(value)))
    found = s.findObjects([(P.CKA_CLASS, P.CKO_SECRET_KEY), (P.CKA_LABEL, label)])
    if len(found) != 1:
        die("%d secret keys labelled %s" % (len(found), label))
    sk = s.createObject([(P.CKA_CLASS, P.CKO_SECRET_KEY), (P.CKA_KEY_TYPE, P.CKK_AES),
                         (P.CKA_TOKEN, False), (P.CKA_SENSITIVE, False),
                         (P.CKA_EXTRACTABLE, True), (P.CKA_VALUE, value)])
    wrapped = bytes(s.wrapKey(found[0], sk, P.Mechanism(P.CKM_AES_KEY_WRAP, None)))
    s.destroyObject(sk)
    with open(out_file, "wb") as f:
        f.write(wrapped)
    s.logout()
    s.closeSession()


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    try:
        if cmd == "dump" and len(argv) == 2:
            dump()
        elif cmd == "q" and len(argv) == 6:
            query(argv[2], argv[3], argv[4], argv[5])
        elif cmd == "count" and 3 <= len(argv) <= 5:
            print(len(matching(argv[2], *argv[3:5])))
        elif cmd == "keygen-ec" and len(argv) == 4:
            keygen_ec(argv[2], argv[3])
        elif cmd == "destroy" and len(argv) == 3:
            destroy(argv[2])
        elif cmd == "plant-public" and len(argv) == 3:
            plant_public(argv[2])
        elif cmd == "wrap" and len(argv) == 5:
            wrap(argv[2], argv[3], argv[4])
        else:
            print("usage: p11attrs.py dump | q DUMP LABEL CLASS ATTR | count DUMP [LABEL [CLASS]]"
                  " | keygen-ec LABEL IDHEX | plant-public LABEL | destroy LABEL"
                  " | wrap LABEL KEYFILE OUT",
                  file=sys.stderr)
            return 2
    except ImportError as e:
        die("cannot import PyKCS11: %s" % e)
    except Exception as e:  # a PyKCS11Error names the CKR
        die("%s: %s" % (cmd, e))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

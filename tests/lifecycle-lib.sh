# tests/lifecycle-lib.sh: helpers of the key lifecycle tests (keygen,
# rotate, trim, rewrap, certificates, reload), sourced after tests/lib.sh.
# The token is read and changed behind the agent's back with PyKCS11
# (tests/p11attrs.py); the PIN goes to it in a file, never in argv.
#
# SPDX-License-Identifier: Apache-2.0

# shellcheck disable=SC2034 # LC_* are for the test scripts

# A python3 that imports PyKCS11: the one on PATH first, then the system's.
# None is a failure, not a skip: the lifecycle tests need a second tool.
LC_PY=
for _py in python3 /usr/bin/python3 /usr/local/bin/python3; do
	if command -v "$_py" >/dev/null 2>&1 && "$_py" -c 'import PyKCS11' >/dev/null 2>&1; then
		LC_PY=$(command -v "$_py")
		break
	fi
done
if [ -z "$LC_PY" ]; then
	echo "FAIL setup: no python3 imports PyKCS11 (install python3-pykcs11)"
	exit 1
fi

LC_AUDIT=$T/audit.jsonl
LC_CONF=$T/agent.conf
LC_OBJS=$T/objs.json

# p11attrs ARGS...: tests/p11attrs.py on the test token.
p11attrs() {
	P11_TOKEN=$TOKEN P11_PIN_FILE=$PIN_FILE timeout -k 2 120 \
		"$LC_PY" "$top_srcdir/tests/p11attrs.py" "$@"
}

# dump_token: every object of the token into $LC_OBJS.
dump_token() {
	if ! p11attrs dump >"$LC_OBJS" 2>"$T/dump.err"; then
		fail "read the token (p11attrs.py dump)" "$(show "$T/dump.err")"
		echo '[]' >"$LC_OBJS"
		return 1
	fi
}

# obj LABEL CLASS ATTR: one attribute of the last dump (true/false, text, hex,
# "absent", "none", "many:N").
obj() {
	"$LC_PY" "$top_srcdir/tests/p11attrs.py" q "$LC_OBJS" "$@"
}

# nobj [LABEL [CLASS]]: how many objects of the last dump match (LABEL '*': any).
nobj() {
	"$LC_PY" "$top_srcdir/tests/p11attrs.py" count "$LC_OBJS" "$@"
}

# expect NAME GOT WANTED: passes when GOT is WANTED.
expect() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "got '$2', expected '$3'"
	fi
}

# expect_attr NAME LABEL CLASS ATTR WANTED: one attribute of the last dump.
expect_attr() {
	expect "$1: $3 $4" "$(obj "$2" "$3" "$4")" "$5"
}

# write_conf [TEXT]: the agent's config: the audit trail, then TEXT (sections).
write_conf() {
	{
		echo "# p11agentd test configuration: key lifecycle"
		echo "audit-file = $LC_AUDIT"
		[ $# -eq 0 ] || printf '%s\n' "$1"
	} >"$LC_CONF.tmp" && chmod 0600 "$LC_CONF.tmp" && mv "$LC_CONF.tmp" "$LC_CONF"
}

# start_lc_agent: the agent on the test token with $LC_CONF.
start_lc_agent() {
	start_agent --config "$LC_CONF"
}

# reload_ok NAME: p11agent reload succeeds.
reload_ok() {
	check "$1: p11agent reload" p11a reload
}

# json_get FILE PATH: a field of the JSON in FILE, as JSON (PATH: dotted keys
# and list indexes, e.g. "0.state"); "missing" when it is not there, "invalid"
# when FILE is no JSON.
json_get() {
	"$LC_PY" - "$1" "$2" <<'EOF'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
except Exception:
    print("invalid")
    sys.exit(0)
for k in sys.argv[2].split("."):
    if k == "":
        continue
    try:
        v = v[int(k)] if isinstance(v, list) else v[k]
    except (KeyError, IndexError, ValueError, TypeError):
        print("missing")
        sys.exit(0)
print(json.dumps(v))
EOF
}

# pubkey_to KEY FILE: the key's public key (PEM) into FILE; a check.
pubkey_to() {
	if check_rc "pubkey $1" 0 p11a pubkey "$1"; then
		cp "$OUT" "$2"
		return 0
	fi
	rm -f "$2"
	return 1
}

# today: the date in UTC, YYYY-MM-DD (the agent dates keys in UTC).
today() {
	date -u +%F
}

# verify_sig TYPE PUB SIG MSG: OpenSSL checks SIG over MSG with the public
# key PUB, for the key type's default algorithm (rsa: PKCS#1 v1.5 SHA-256;
# ec: ECDSA with SHA-256/384/512 by the curve; ed25519). Quiet; 0 when valid.
verify_sig() {
	local md
	case $1 in
	rsa*) md=sha256 ;;
	ec:P-256 | ec256) md=sha256 ;;
	ec:P-384 | ec384) md=sha384 ;;
	ec:P-521 | ec521) md=sha512 ;;
	ed25519)
		ossl pkeyutl -verify -rawin -pubin -inkey "$2" -sigfile "$3" -in "$4" >/dev/null 2>&1
		return
		;;
	*) return 2 ;;
	esac
	ossl dgst -"$md" -verify "$2" -signature "$3" "$4" 2>/dev/null | grep -q 'Verified OK'
}

# audit_count OP STATUS UID [KEYREF]: how many records of the trail are of OP
# with STATUS for UID (and, when given, key_ref or key KEYREF).
audit_count() {
	"$LC_PY" - "$LC_AUDIT" "$@" <<'EOF'
import json, sys
path, op, status, uid = sys.argv[1:5]
ref = sys.argv[5] if len(sys.argv) > 5 else None
n = 0
try:
    lines = open(path).read().splitlines()
except OSError:
    lines = []
for line in lines:
    r = json.loads(line)
    if r.get("op") == op and r.get("status") == status and str(r.get("uid")) == uid and \
            (ref is None or ref in (r.get("key_ref"), r.get("key"))):
        n += 1
print(n)
EOF
}

# no_pin_in NAME FILE...: the PIN is in none of the FILEs.
no_pin_in() {
	local name=$1 pin
	shift
	pin=$(tr -d '\n' <"$PIN_FILE")
	if [ -n "$pin" ] && grep -qF -- "$pin" "$@" 2>/dev/null; then
		fail "$name" "the PIN is in $*"
	else
		pass "$name"
	fi
}

#!/bin/sh
# test-httpsig-hostile.sh: http-sign and http-verify (RFC 9421) against a
# hostile local user and hostile input.
#  1. Policy, with clients that really run as other uids (setpriv, as in
#     test-access.sh; this part alone is skipped unless run as root with setpriv):
#       54341  user A: may only verify with the HMAC key a-hmac (allow-ops =
#              verify), sign with the P-256 key a-ec (allow-algs =
#              ecdsa-sha256, which http-sign's ecdsa-p256-sha256 asks for)
#              and with the RSA key a-rsa (allow-algs = rsa-pss-sha512, the
#              http-sign default for RSA)
#       54342  user B: in the socket group, but no key is for it
#     What A may do works and verifies; what it may not is DENIED (exit 4);
#     B is told that no key matches (exit 5), as test-access.sh expects of a
#     user without keys; every refusal is in the audit trail; the keys are
#     the same afterwards, and the agent still serves.
#  2. Hostile messages: over 64 MiB (a sparse file), endless input from a
#     FIFO and from a pipe, a header section over 1 MiB, over 1024 field
#     lines, a 900 KiB field covered 1000 times with different keys, a
#     Signature-Input of 1024 components, control and binary bytes, a bare
#     CR, Signature-Input and Signature fields that are not what RFC 9421
#     says, a --components list of 10000 entries, --request on a response,
#     garbage, a symlink and a directory. Each ends in exit 1 with a reason
#     ("p11agent: ..." on stderr, or "Verification failure: ..." on stdout),
#     never a crash, a hang or exit 0; every run is bounded by timeout.
#     What http-sign writes at the limits, http-verify must read.
#  3. Secrets: the HMAC secret (hex and base64) and the PIN are in no output
#     of any run, nor in the agent's log or audit trail.
#  4. No oracle: http-verify with the HMAC key never tells the expected MAC
#     of a wrong signature; a truncated or extended MAC is not valid.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/httpsig-lib.sh"

require_tools python3 timeout truncate mkfifo base64 od yes head dd
# Root's HMAC key (no section: only the agent's uid may use it) and a-hmac,
# another object with the same secret, for user A.
KEY_HMAC_A=hmac:$HMAC_HEX:hmac-a:12
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_HMAC" "$KEY_HMAC_A"

AS_OTHERS=1
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	AS_OTHERS=0
fi
SGID=54340 # the socket's group
UA=54341
UB=54342

# Everything every run writes on stdout and stderr, for the secrets at the end.
ALL=$T/all-output
: >"$ALL"
# run CMD...: httpsig-lib.sh's run, which also keeps stdout and stderr in $ALL.
run() {
	"$@" >"$OUT" 2>"$ERR"
	RC=$?
	cat "$OUT" "$ERR" >>"$ALL"
	cat "$ERR" >>"$T/stderr.all"
}

# The clients' files: readable by all; the rest of $T stays private but passable.
chmod 0711 "$T"
D=$T/data
mkdir -m 0755 "$D"
cp "$top_srcdir/tests/lsan.supp" "$D/lsan.supp" 2>/dev/null && chmod 0644 "$D/lsan.supp"
USER_LSAN_OPTIONS="suppressions=$D/lsan.supp:print_suppressions=0"

SOCK=$T/run/agent.sock
{
	echo "# p11agentd test configuration: HTTP signatures and access control"
	[ "$AS_OTHERS" -eq 1 ] && echo "socket-group = $SGID"
	cat <<EOF
audit-file = $T/audit.jsonl

[key a-ec]
uri = pkcs11:object=ec256;type=private
allow-users = $UA
allow-algs = ecdsa-sha256

[key a-rsa]
uri = pkcs11:object=rsa2048;type=private
allow-users = $UA
allow-algs = rsa-pss-sha512

[key a-hmac]
uri = pkcs11:object=hmac-a
allow-users = $UA
allow-ops = verify
EOF
} >"$T/p11agent.conf"
start_agent --config "$T/p11agent.conf" || finish

PIN=$(head -n 1 "$PIN_FILE")
REQ=$D/req.http
printf '%s\n' "POST /api/v1/items?id=42&sort=asc HTTP/1.1" "Host: api.example.net" \
	"Content-Type: application/json" "Content-Length: 12" "" >"$REQ"
printf '{"item": 42}' >>"$REQ"
chmod 0644 "$REQ"
# The agent's keys as they are before anyone else uses it.
p11a list >"$T/list.before" 2>>"$ALL" || fail "list (agent uid)" "exit $?"
for k in a-ec a-rsa; do
	p11a pubkey "$k" >"$D/$k.pem" 2>>"$ALL" || fail "pubkey $k (agent uid)" "exit $?"
done
check_rc "root: http-sign with hmac" 0 \
	p11a http-sign hmac -i "$REQ" -o "$D/hmac-signed.http" --created 1700000000
chmod 0644 "$D/hmac-signed.http" 2>/dev/null
hstool sig "$D/hmac-signed.http" sig1 "$T/mac.before" 2>>"$ALL"

# ---------------------------------------------------------------------------
# 1. Policy, as other uids
# ---------------------------------------------------------------------------
CLI=$P11AGENT
CLI_ENV=
# as UID GID CMD...: CMD as uid UID, gid GID, no supplementary groups.
# shellcheck disable=SC2317 # as and p11u are called through others' arguments
as() {
	local uid=$1 gid=$2
	shift 2
	# shellcheck disable=SC2086 # CLI_ENV is a list of VAR=VALUE words
	timeout -k 2 30 setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		env LSAN_OPTIONS="$USER_LSAN_OPTIONS" $CLI_ENV "$@"
}
# p11u UID ARGS...: the CLI as that user (in the socket group) on the test socket.
# shellcheck disable=SC2317
p11u() {
	local uid=$1
	shift
	as "$uid" "$SGID" "$CLI" -S "$SOCK" "$@"
}

# verified NAME: the last command said "Verified OK" and exited 0.
verified() {
	if [ "$RC" -eq 0 ] && grep -q "^Verified OK: signature 'sig1'" "$OUT"; then
		pass "$1"
	else
		fail "$1" "exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
}

# denied NAME CMD...: CMD is refused by policy (lib.sh, check_denied).
denied() { check_denied "$1" 'denied' "${@:2}"; }

if [ "$AS_OTHERS" -eq 1 ]; then
	cli_for_other_users "$UA" as "$UA" "$SGID"

	# --- user A --------------------------------------------------------------
	run p11u "$UA" http-verify a-hmac -i "$D/hmac-signed.http" --at 1700000001
	verified "user A: http-verify with a-hmac (allow-ops = verify) of root's HMAC"
	hstool flipsig "$D/hmac-signed.http" sig1 "$D/hmac-bad.http" && chmod 0644 "$D/hmac-bad.http"
	run p11u "$UA" http-verify a-hmac -i "$D/hmac-bad.http" --at 1700000001
	if [ "$RC" -eq 1 ] && [ "$(cat "$OUT")" = "Verification failure: signature mismatch" ]; then
		pass "user A: a wrong HMAC is a signature mismatch"
	else
		fail "user A: a wrong HMAC is a signature mismatch" "exit $RC; $(show "$OUT") $(show "$ERR")"
	fi
	denied "user A: http-sign with a-hmac (allow-ops = verify)" \
		p11u "$UA" http-sign a-hmac -i "$REQ"
	check_err "user A: http-sign with a-hmac names the rule" 'allow-ops'
	denied "user A: http-sign with a-hmac --alg hmac-sha256" \
		p11u "$UA" http-sign a-hmac -i "$REQ" --alg hmac-sha256
	if check_rc "user A: http-sign with a-ec (ecdsa-p256-sha256 is ecdsa-sha256)" 0 \
		p11u "$UA" http-sign a-ec -i "$REQ" --alg-param; then
		cp "$OUT" "$D/a-ec.http"
		chmod 0644 "$D/a-ec.http"
		run p11a http-verify a-ec -i "$D/a-ec.http"
		verified "user A: a-ec's signature verifies (agent uid)"
		run p11u "$UA" http-verify a-ec -i "$D/a-ec.http"
		verified "user A: a-ec's signature verifies (user A)"
		if p11a http-sign a-ec -i "$REQ" --alg-param --print-base \
			--created "$(sed -n 's/.*;created=\([0-9]*\).*/\1/p' "$D/a-ec.http")" \
			-o "$T/a-ec.base" 2>>"$ALL" &&
			hstool sig "$D/a-ec.http" sig1 "$T/a-ec.sig" &&
			hs_ossl_verify ecdsa-p256-sha256 "$D/a-ec.pem" "$T/a-ec.base" "$T/a-ec.sig" \
				>"$T/ossl.out" 2>&1; then
			pass "user A: OpenSSL verifies a-ec's signature"
		else
			fail "user A: OpenSSL verifies a-ec's signature" "$(show "$T/ossl.out")"
		fi
	fi
	if check_rc "user A: http-sign with a-rsa (rsa-pss-sha512)" 0 \
		p11u "$UA" http-sign a-rsa -i "$REQ"; then
		cp "$OUT" "$D/a-rsa.http"
		chmod 0644 "$D/a-rsa.http"
		run p11u "$UA" http-verify a-rsa -i "$D/a-rsa.http"
		verified "user A: a-rsa's signature verifies"
	fi
	denied "user A: http-sign a-rsa --alg rsa-v1_5-sha256 (allow-algs)" \
		p11u "$UA" http-sign a-rsa -i "$REQ" --alg rsa-v1_5-sha256
	check_err "user A: a-rsa names the rule" 'allow-algs'
	# ecdsa-p384-sha384 does not fit a P-256 key: refused before the agent.
	run p11u "$UA" http-sign a-ec -i "$REQ" --alg ecdsa-p384-sha384
	if [ "$RC" -eq 1 ] && grep -q 'ecdsa-p384-sha384' "$ERR" && [ ! -s "$OUT" ]; then
		pass "user A: a-ec --alg ecdsa-p384-sha384 does not fit the key (exit 1)"
	else
		fail "user A: a-ec --alg ecdsa-p384-sha384 does not fit the key" \
			"exit $RC; $(show "$ERR")"
	fi
	check_hidden "user A: http-sign with root's hmac" p11u "$UA" http-sign hmac -i "$REQ"
	check_hidden "user A: http-verify with root's hmac" \
		p11u "$UA" http-verify hmac -i "$D/hmac-signed.http" --at 1700000001

	# --- user B: no key --------------------------------------------------------
	for k in a-ec a-rsa a-hmac hmac; do
		check_hidden "user B: http-sign with $k" p11u "$UB" http-sign "$k" -i "$REQ"
		check_hidden "user B: http-sign --print-base --alg-param with $k" \
			p11u "$UB" http-sign "$k" -i "$REQ" --print-base --alg-param
	done
	check_hidden "user B: http-verify with a-ec" p11u "$UB" http-verify a-ec -i "$D/a-ec.http"
	check_hidden "user B: http-verify with a-rsa" p11u "$UB" http-verify a-rsa -i "$D/a-rsa.http"
	for k in a-hmac hmac; do
		check_hidden "user B: http-verify with $k" \
			p11u "$UB" http-verify "$k" -i "$D/hmac-signed.http" --at 1700000001
	done
	check_rc "user B: ping" 0 p11u "$UB" ping

	# --- the audit trail has the refusals -----------------------------------------
	if python3 - "$T/audit.jsonl" "$UA" "$UB" >"$T/audit.out" 2>&1 <<'EOF'; then
import collections, json, sys
ua, ub = int(sys.argv[2]), int(sys.argv[3])
seen = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    seen[(r.get("uid"), r.get("op"), r.get("key"), r.get("alg"), r.get("status"))] += 1
# Each refusal, as many times as it was asked for; the uses that were allowed.
want = {(ua, "sign", "a-hmac", "hmac-sha256", "DENIED"): 2,
        (ua, "sign", "a-rsa", "rsa-pkcs1-sha256", "DENIED"): 1,
        (ua, "key-info", "hmac", None, "NO_SUCH_KEY"): 2}
for k in ("a-ec", "a-rsa", "a-hmac", "hmac"):
    want[(ub, "key-info", k, None, "NO_SUCH_KEY")] = 3
bad = ["%s: %d, expected %d" % (k, seen[k], n) for k, n in want.items() if seen[k] != n]
for k in [(ua, "sign", "a-ec", "ecdsa-sha256", "OK"), (ua, "sign", "a-rsa", "rsa-pss-sha512", "OK"),
          (ua, "verify-hmac", "a-hmac", "hmac-sha256", "OK")]:
    if seen[k] == 0:
        bad.append("%s: none" % (k,))
# Nothing user B asked for was done, and A was refused nothing else.
bad += ["%s: unexpected" % (k,) for k in seen
        if (k[0] == ub and k[4] != "NO_SUCH_KEY") or (k[0] == ua and k[4] != "OK" and k not in want)]
if bad:
    print("; ".join(bad))
    sys.exit(1)
EOF
		pass "audit trail: each refusal of A DENIED, each of B NO_SUCH_KEY, nothing done for B"
	else
		fail "audit trail: each refusal of A DENIED, each of B NO_SUCH_KEY, nothing done for B" \
			"$(show "$T/audit.out")"
	fi
else
	skip "policy as other uids" "needs root and setpriv"
fi

# ---------------------------------------------------------------------------
# 2. Hostile messages
# ---------------------------------------------------------------------------
# hostile NAME ERE CMD...: CMD ends in exit 1 with a reason matching ERE (any
# case): "p11agent: REASON" on stderr, or "Verification failure: REASON" on
# stdout; never a signed message nor "Verified OK"; the reason is one line of
# printable ASCII (no byte of the hostile input echoed raw to a terminal).
hostile() {
	local name=$1 ere=$2 why
	shift 2
	run "$@"
	why=$(cat "$ERR")
	if grep -q '^Verification failure: ' "$OUT"; then
		why=$(sed -n 's/^Verification failure: //p' "$OUT")
	fi
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		fail "$name" "timed out (exit $RC)"
		return 1
	elif [ "$RC" -ne 1 ]; then
		fail "$name" "exit $RC, expected 1; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
		return 1
	elif grep -Eq '^(Signature|Verified OK)' "$OUT"; then
		fail "$name" "exit 1 but a signature or a verdict on stdout: $(show "$OUT")"
		return 1
	elif [ -z "$why" ] || ! printf '%s' "$why" | grep -Eqi -- "$ere"; then
		fail "$name" "exit 1 but the reason does not match /$ere/: $(show "$ERR") $(show "$OUT")"
		return 1
	fi
	pass "$name (exit 1)"
	if LC_ALL=C grep -q '[^[:print:]]' "$ERR"; then
		fail "$name: the reason is printable ASCII" \
			"stderr holds other bytes (cat -v): $(LC_ALL=C cat -v "$ERR" | head -c 300)"
	fi
	if [ "$(wc -l <"$ERR")" -gt 1 ]; then
		fail "$name: one line of reason" "$(wc -l <"$ERR") lines: $(show "$ERR")"
	fi
	return 0
}

# elapsed_ms START: milliseconds since START (date +%s%N).
elapsed_ms() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# within NAME MS LIMIT_S: passes when MS milliseconds are under LIMIT_S seconds.
within() {
	if [ "$2" -lt $(($3 * 1000)) ]; then
		pass "$1: ${2} ms, under $3 s"
	else
		fail "$1" "took ${2} ms, $3 s at most"
	fi
}

# The messages, made by Python (bytes the shell cannot hold).
python3 - "$T" <<'EOF' || die "cannot write the hostile messages"
import base64, sys
T = sys.argv[1]
start = b"POST /x?a=1 HTTP/1.1\nHost: h.example\n"
def w(name, data):
    open(T + "/" + name, "wb").write(data)
# Header section over 1 MiB: one field; and many fields.
w("bighead.http", start + b"X-Big: " + b"a" * (1024 * 1024 + 10) + b"\n\n")
w("bighead-many.http", start + b"".join(b"X-F%d: %s\n" % (i, b"b" * 1000) for i in range(1100)) + b"\n")
# More than 1024 field lines; 1023 (one more than signing may add to).
w("fields1025.http", start + b"".join(b"X-F%d: v\n" % i for i in range(1024)) + b"\n")
w("fields1023.http", start + b"".join(b"X-F%d: v\n" % i for i in range(1022)) + b"\n")
# A header section a few bytes under 1 MiB: signing it passes the limit.
pad = b"POST /x?a=1 HTTP/1.1\nHost: h.example\nX-Pad: "
w("nearhead.http", pad + b"p" * (1024 * 1024 - 60 - len(pad) - 1) + b"\n\n")
# A 900 KiB dictionary field of 1000 members; a query of 24 parameters.
wide = b"X: " + b",".join(b"a%d=%s" % (i, b"z" * 880) for i in range(1000)) + b"\n"
q = b"&".join(b"p%d=%d" % (i, i) for i in range(24))
w("wide.http", b"POST /x?" + q + b" HTTP/1.1\nHost: h.example\n" + wide + b"\n")
# Signature-Input of 1024 components (the most a list holds), and of 1025.
comps = [b'"x";key="a%d"' % i for i in range(1000)] + [b'"@query-param";name="p%d"' % i for i in range(24)]
sig = b"Signature: sig1=:" + base64.b64encode(b"\x01" * 32) + b":\n"
w("si1024.http", b"POST /x?" + q + b" HTTP/1.1\nHost: h.example\n" + wide
  + b"Signature-Input: sig1=(" + b" ".join(comps) + b");created=1700000000\n" + sig + b"\n")
w("si1025.http", b"POST /x?" + q + b" HTTP/1.1\nHost: h.example\n" + wide
  + b"Signature-Input: sig1=(" + b" ".join(comps + [b'"host"']) + b");created=1700000000\n"
  + sig + b"\n")
# Binary garbage, NUL bytes, control bytes, a bare CR.
w("nul-start.http", b"POST /\x00x HTTP/1.1\nHost: h\n\n")
w("bin-start.http", b"P\xc3\xa9ST / HTTP/1.1\nHost: h\n\n")
w("nul-name.http", start + b"X-\x00a: v\n\n")
w("nul-value.http", start + b"X-a: v\x00w\n\n")
w("ctl-value.http", start + b"X-a: \x01\x02\x7f\n\n")
w("esc-name.http", start + b"X-\x1b[31m: v\n\n")
w("bin-name.http", start + b"X-\xff\xfe\x9b31m: v\n\n")
w("bin-nocolon.http", start + b"\xc3\xa9\x9b[31m no colon\n\n")
w("garbage.http", bytes(range(256)) * 16)
w("garbage-head.http", start + bytes(range(128, 256)) * 4 + b"\n\n")
w("bare-cr.http", start + b"X-a: v\rw\n\n")
w("bare-cr-start.http", b"POST /\r HTTP/1.1\nHost: h\n\n")
EOF
chmod 0644 "$T"/*.http

# --- size limits ---------------------------------------------------------------
# A message over 64 MiB, as a sparse file.
printf 'POST / HTTP/1.1\nHost: h\n\n' >"$T/huge.http"
truncate -s $((64 * 1024 * 1024 + 1)) "$T/huge.http"
hostile "64 MiB + 1 from a file: http-sign" '64 MiB|too large|larger' \
	p11a http-sign hmac -i "$T/huge.http" -o "$T/huge-out.http"
hostile "64 MiB + 1 from a file: http-verify" '64 MiB|too large|larger' \
	p11a http-verify hmac -i "$T/huge.http"
# Exactly 64 MiB is taken; what http-sign writes of it, http-verify must read
# (or http-sign must refuse it).
truncate -s $((64 * 1024 * 1024)) "$T/huge.http"
run p11a http-sign hmac -i "$T/huge.http" -o "$T/huge-out.http" --created 1700000000
if [ "$RC" -eq 0 ]; then
	run p11a http-verify hmac -i "$T/huge-out.http" --at 1700000001
	verified "a 64 MiB message: http-verify reads what http-sign wrote ($(wc -c <"$T/huge-out.http") bytes)"
elif [ "$RC" -eq 1 ] && [ -s "$ERR" ]; then
	pass "a 64 MiB message: http-sign refuses what would pass the limit"
else
	fail "a 64 MiB message: http-sign" "exit $RC; $(show "$ERR")"
fi
rm -f "$T/huge.http" "$T/huge-out.http"

# feed_fifo NAME CMD...: a FIFO $T/NAME fed by CMD in the background (its pid
# in FEEDER), bounded in time: its open waits for a reader; timeout ends it.
feed_fifo() {
	local fifo=$T/$1
	shift
	rm -f "$fifo"
	mkfifo "$fifo"
	# shellcheck disable=SC2016 # the inner sh expands them
	timeout -k 2 60 sh -c 'f=$1; shift; exec "$@" >"$f"' sh "$fifo" "$@" 2>/dev/null &
	FEEDER=$!
}
# Endless input: a FIFO fed by yes, and NULs through a pipe on stdin.
feed_fifo endless.fifo yes
hostile "endless input from a FIFO: http-sign" '64 MiB|too large|larger' \
	p11a http-sign hmac -i "$T/endless.fifo" -o "$T/endless-out.http"
wait "$FEEDER" 2>/dev/null
feed_fifo endless.fifo yes 'GET / HTTP/1.1'
hostile "endless input from a FIFO: http-verify" '64 MiB|too large|larger' \
	p11a http-verify hmac -i "$T/endless.fifo"
wait "$FEEDER" 2>/dev/null
feed_fifo req.fifo head -c $((70 * 1024 * 1024)) /dev/zero
hostile "endless --request from a FIFO" '64 MiB|too large|larger' \
	p11a http-sign hmac -i "$REQ" --request "$T/req.fifo" --components '@method'
wait "$FEEDER" 2>/dev/null
START=$(date +%s%N)
# run_stdin ARGS...: the CLI with 70 MiB of NULs on stdin, through a pipe.
# shellcheck disable=SC2317 # called through hostile's arguments
run_stdin() {
	head -c $((70 * 1024 * 1024)) /dev/zero | p11a "$@"
}
hostile "70 MiB of NULs on stdin: http-verify" '64 MiB|too large|larger' \
	run_stdin http-verify hmac -i -
within "70 MiB of NULs on stdin" "$(elapsed_ms "$START")" 10

hostile "header section over 1 MiB (one field)" 'header section|1048576|1 MiB' \
	p11a http-sign hmac -i "$T/bighead.http"
hostile "header section over 1 MiB (1100 fields of 1000 bytes)" \
	'header section|1048576|1 MiB|field lines' p11a http-verify hmac -i "$T/bighead-many.http"
hostile "1025 field lines: http-sign" 'more than 1024 field lines' \
	p11a http-sign hmac -i "$T/fields1025.http"
hostile "1025 field lines: http-verify" 'more than 1024 field lines' \
	p11a http-verify hmac -i "$T/fields1025.http"
# 1023 field lines parse; the two that signing adds would pass 1024. The
# reason must not say the message has more than 1024 (it has 1023): it must
# say that the signature's fields do not fit.
hostile "1023 field lines, signing adds two: refused" '1024' \
	p11a http-sign hmac -i "$T/fields1023.http"
if grep -qi 'the message has more than 1024 field lines' "$ERR"; then
	fail "1023 field lines: the reason is true" \
		"says the message has more than 1024 field lines: $(show "$ERR")"
else
	pass "1023 field lines: the reason is true"
fi
# A header section just under 1 MiB: http-sign must not write one over it.
run p11a http-sign hmac -i "$T/nearhead.http" -o "$T/nearhead-out.http" --components @method \
	--created 1700000000
if [ "$RC" -eq 0 ]; then
	run p11a http-verify hmac -i "$T/nearhead-out.http" --at 1700000001
	verified "a header section near 1 MiB: http-verify reads what http-sign wrote"
elif [ "$RC" -eq 1 ] && grep -qi 'header section' "$ERR"; then
	pass "a header section near 1 MiB: http-sign refuses to pass the limit"
else
	fail "a header section near 1 MiB: http-sign" "exit $RC; $(show "$ERR")"
fi

# --- work bounded in time ----------------------------------------------------------
# A 900 KiB field covered 1000 times, each with another key: refused, or done
# within seconds.
COMPS=$(for i in $(seq 0 999); do printf 'x;key="a%d",' "$i"; done)
COMPS=${COMPS%,}
START=$(date +%s%N)
run p11a http-sign hmac -i "$T/wide.http" -o "$T/wide-signed.http" --components "$COMPS" \
	--created 1700000000
MS=$(elapsed_ms "$START")
if [ "$RC" -eq 0 ] || { [ "$RC" -eq 1 ] && [ -s "$ERR" ]; }; then
	pass "900 KiB field, 1000 components: http-sign ends (exit $RC)"
else
	fail "900 KiB field, 1000 components: http-sign ends" "exit $RC; $(show "$ERR")"
fi
within "900 KiB field, 1000 components: http-sign" "$MS" 10
if [ "$RC" -eq 0 ]; then
	START=$(date +%s%N)
	run p11a http-verify hmac -i "$T/wide-signed.http" --at 1700000001
	MS=$(elapsed_ms "$START")
	verified "900 KiB field, 1000 components: http-verify"
	within "900 KiB field, 1000 components: http-verify" "$MS" 10
fi
START=$(date +%s%N)
hostile "Signature-Input of 1024 components over a 900 KiB field" 'covers 1024 components; at most 128' \
	p11a http-verify hmac -i "$T/si1024.http" --at 1700000001
within "Signature-Input of 1024 components" "$(elapsed_ms "$START")" 10
# One more than a list holds: the reason should say so, not "not a Dictionary".
hostile "Signature-Input of 1025 components" '.' \
	p11a http-verify hmac -i "$T/si1025.http" --at 1700000001
check_err "Signature-Input of 1025 components: the reason names the limit" \
	'1024|too many|more than|at most'
# --components of 10000 entries: a usage error or exit 1, quickly.
COMPS=$(for i in $(seq 0 9999); do printf 'x-f%d,' "$i"; done)
COMPS=${COMPS%,}
START=$(date +%s%N)
run p11a http-sign hmac -i "$REQ" --components "$COMPS"
within "--components of 10000 entries" "$(elapsed_ms "$START")" 10
if { [ "$RC" -eq 1 ] || [ "$RC" -eq 2 ]; } && [ -s "$ERR" ] && ! grep -q '^Signature' "$OUT"; then
	pass "--components of 10000 entries: refused (exit $RC)"
else
	fail "--components of 10000 entries: refused" "exit $RC; $(show "$ERR")"
fi
check_err "--components of 10000 entries: the reason names the limit" \
	'1024|too many|more than|at most'
run p11a http-verify hmac -i "$D/hmac-signed.http" --require "$COMPS" --at 1700000001
if { [ "$RC" -eq 1 ] || [ "$RC" -eq 2 ]; } && ! grep -q '^Verified OK' "$OUT"; then
	pass "--require of 10000 entries: not valid (exit $RC)"
else
	fail "--require of 10000 entries: not valid" "exit $RC; $(show "$OUT") $(show "$ERR")"
fi

# --- bytes that are not HTTP ----------------------------------------------------------
for f in nul-start bin-start nul-name nul-value ctl-value esc-name bin-name bin-nocolon \
	garbage garbage-head bare-cr bare-cr-start; do
	hostile "$f: http-sign" 'malformed|not a token|control|printable' \
		p11a http-sign hmac -i "$T/$f.http"
	hostile "$f: http-verify" 'malformed|not a token|control|printable' \
		p11a http-verify hmac -i "$T/$f.http"
done

# --- Signature-Input and Signature that are not what RFC 9421 says ---------------------
SI=$(grep '^Signature-Input:' "$D/hmac-signed.http")
SG=$(grep '^Signature:' "$D/hmac-signed.http")
# with_fields FIELD...: $T/m.http, the request with the FIELD lines added.
with_fields() {
	{
		sed -n '1,4p' "$REQ"
		printf '%s\n' "$@"
		echo
		printf '{"item": 42}'
	} >"$T/m.http"
}
# bad_fields NAME ERE FIELD...: http-verify of the request with FIELDs ends in exit 1.
bad_fields() {
	local name=$1 ere=$2
	shift 2
	with_fields "$@"
	hostile "$name" "$ere" p11a http-verify hmac -i "$T/m.http" --at 1700000001
}
bad_fields "Signature-Input a bare label" 'Signature-Input|list of components' \
	"Signature-Input: sig1" "$SG"
bad_fields "Signature-Input a list, not a Dictionary" 'Signature-Input.*Dictionary' \
	'Signature-Input: ("@method");created=1700000000' "$SG"
bad_fields "Signature-Input member a string" 'Signature-Input|list of components' \
	'Signature-Input: sig1="@method"' "$SG"
bad_fields "Signature-Input cut short" 'Signature-Input' \
	'Signature-Input: sig1=("@method" "@path"' "$SG"
bad_fields "Signature-Input with an unquoted component" 'Signature-Input' \
	'Signature-Input: sig1=(@method);created=1700000000' "$SG"
bad_fields "Signature-Input with a created of 20 digits" 'Signature-Input|created' \
	'Signature-Input: sig1=("@method");created=99999999999999999999' "$SG"
bad_fields "Signature-Input with a negative created" 'created' \
	'Signature-Input: sig1=("@method");created=-5' "$SG"
bad_fields "duplicate labels on one Signature-Input line" 'signature mismatch|sig1|duplicate' \
	"${SI}, sig1=(\"@path\");created=1700000000" "$SG"
bad_fields "duplicate labels across two Signature-Input lines" 'signature mismatch|sig1|duplicate' \
	"$SI" 'Signature-Input: sig1=("@path");created=1700000000' "$SG"
bad_fields "duplicate labels across two Signature-Input lines, forged first" \
	'signature mismatch|sig1|duplicate' \
	'Signature-Input: sig1=("@path");created=1700000000' "$SI" \
	'Signature-Input: sig1=("@method");created=1700000000' "$SG"
bad_fields "Signature a token, not a byte sequence" 'byte sequence' "$SI" "Signature: sig1=abc"
bad_fields "Signature a string, not a byte sequence" 'byte sequence' "$SI" 'Signature: sig1="abc"'
bad_fields "Signature an inner list" 'byte sequence|Signature' "$SI" 'Signature: sig1=(:AAAA:)'
bad_fields "Signature not a Dictionary" 'Signature.*Dictionary' "$SI" 'Signature: :AAAA:'
bad_fields "Signature of bad base64" 'Signature' "$SI" 'Signature: sig1=:A*A=:'
bad_fields "Signature empty byte sequence" 'signature mismatch|empty|length' "$SI" 'Signature: sig1=::'
bad_fields "Signature empty member value" 'Signature' "$SI" 'Signature: sig1='
bad_fields "Signature empty field" 'Signature|sig1' "$SI" 'Signature:'
bad_fields "Signature missing" 'Signature|sig1' "$SI"
bad_fields "Signature-Input missing" 'Signature-Input' "$SG"
bad_fields "Signature of commas" 'Signature' "$SI" 'Signature: ,,,'
B64_1M=$(head -c 786432 /dev/zero | base64 -w0)
bad_fields "Signature of 1 MiB of base64" 'header section|1048576|1 MiB' "$SI" \
	"Signature: sig1=:$B64_1M:"
B64_700K=$(head -c 700000 /dev/zero | base64 -w0)
bad_fields "Signature of 700 KB (HMAC)" 'signature mismatch' "$SI" "Signature: sig1=:$B64_700K:"
with_fields "$SI" "Signature: sig1=:$B64_700K:"
hostile "Signature of 700 KB (ECDSA)" 'signature mismatch' \
	p11a http-verify a-ec -i "$T/m.http" --at 1700000001
hostile "Signature of 700 KB (RSA)" 'signature mismatch' \
	p11a http-verify a-rsa -i "$T/m.http" --at 1700000001
unset B64_1M B64_700K

# --- --request and -i: a response, garbage, a symlink, a directory -----------------------
RESP=$T/resp.http
printf '%s\n' "HTTP/1.1 200 OK" "Content-Type: text/plain" "" >"$RESP"
hostile "--request is a response" 'request.*response|response' \
	p11a http-sign hmac -i "$RESP" --request "$RESP" --components '@status,@method;req'
head -c 3000 /dev/urandom >"$T/random.bin"
hostile "--request is random bytes" 'malformed' \
	p11a http-sign hmac -i "$RESP" --request "$T/random.bin" --components '@status,@method;req'
hostile "--request is garbage (http-verify)" 'malformed' \
	p11a http-verify hmac -i "$RESP" --request "$T/garbage.http"
hostile "--request is a directory" 'directory' \
	p11a http-sign hmac -i "$RESP" --request "$T" --components '@status,@method;req'
hostile "-i is a directory" 'directory' p11a http-sign hmac -i "$T"
hostile "http-verify -i is a directory" 'directory' p11a http-verify hmac -i "$D"
ln -s "$REQ" "$T/req-link.http"
if check_rc "--request through a symlink to a file of ours" 0 \
	p11a http-sign hmac -i "$RESP" --request "$T/req-link.http" --created 1700000000 \
	--components '@status,@method;req,@path;req' -o "$T/resp-signed.http"; then
	run p11a http-verify hmac -i "$T/resp-signed.http" --request "$REQ" --at 1700000001
	verified "--request through a symlink: the response verifies with the request itself"
fi
run p11a http-sign hmac -i "$T/req-link.http" --created 1700000000
if [ "$RC" -eq 0 ] && cmp -s "$OUT" "$D/hmac-signed.http"; then
	pass "-i through a symlink: the same signed message as the file itself"
else
	fail "-i through a symlink: the same signed message as the file itself" "exit $RC; $(show "$ERR")"
fi
agent_alive "agent still serving after the hostile messages"

# ---------------------------------------------------------------------------
# 4. No oracle: a wrong HMAC never brings the right one
# ---------------------------------------------------------------------------
GOOD_B64=$(base64 -w0 <"$T/mac.before")
GOOD_HEX=$(hex "$T/mac.before")
# no_mac NAME: neither stdout nor stderr of the last run holds the right MAC.
no_mac() {
	if grep -qiF -e "$GOOD_B64" -e "$GOOD_HEX" -e "${GOOD_B64:0:16}" -e "${GOOD_HEX:0:16}" \
		"$OUT" "$ERR"; then
		fail "$1: does not tell the MAC" "the expected MAC is in the output"
	else
		pass "$1: does not tell the MAC"
	fi
}
# wrong_mac NAME B64: http-verify of the signed request with Signature sig1=:B64:
# is exactly "signature mismatch" (also in --json), and tells nothing of the MAC.
wrong_mac() {
	local name=$1
	with_fields "$SI" "Signature: sig1=:$2:"
	run p11a http-verify hmac -i "$T/m.http" --at 1700000001
	if [ "$RC" -eq 1 ] && [ "$(cat "$OUT")" = "Verification failure: signature mismatch" ] &&
		[ ! -s "$ERR" ]; then
		pass "$name: signature mismatch, nothing more"
	else
		fail "$name: signature mismatch, nothing more" "exit $RC; $(show "$OUT") $(show "$ERR")"
	fi
	no_mac "$name"
	run p11a --json http-verify hmac -i "$T/m.http" --at 1700000001
	if [ "$RC" -eq 1 ] && python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["valid"] is False and j["reason"] == "signature mismatch" else 1)' "$OUT"; then
		pass "$name (--json): reason signature mismatch"
	else
		fail "$name (--json): reason signature mismatch" "exit $RC; $(show "$OUT") $(show "$ERR")"
	fi
	no_mac "$name (--json)"
}
python3 - "$T/mac.before" "$T/macs" <<'EOF'
import base64, sys
good = open(sys.argv[1], "rb").read()
flip = bytearray(good)
flip[0] ^= 0x80
with open(sys.argv[2], "w") as f:
    for name, mac in (("one bit flipped", bytes(flip)), ("truncated to 16 bytes", good[:16]),
                      ("truncated to 31 bytes", good[:31]), ("one byte", good[:1]),
                      ("the right MAC and a byte more", good + b"\x00"),
                      ("the right MAC twice", good + good), ("all zeros", bytes(32))):
        f.write("%s\t%s\n" % (name, base64.b64encode(mac).decode()))
EOF
while IFS=$'\t' read -r name b64; do
	wrong_mac "HMAC $name" "$b64"
done <"$T/macs"
if grep -qiF -e "$GOOD_B64" -e "$GOOD_HEX" "$T/agent.log"; then
	fail "the agent's log does not hold the MAC of a checked message" "it does"
else
	pass "the agent's log does not hold the MAC of a checked message"
fi

# ---------------------------------------------------------------------------
# The agent and its keys are as they were
# ---------------------------------------------------------------------------
agent_alive "agent still serving at the end"
if p11a list >"$T/list.after" 2>>"$ALL" && cmp -s "$T/list.before" "$T/list.after"; then
	pass "the agent's keys are as before"
else
	fail "the agent's keys are as before" "$(diff "$T/list.before" "$T/list.after" | tr '\n' '|')"
fi
for k in a-ec a-rsa; do
	run p11a pubkey "$k"
	if [ "$RC" -eq 0 ] && cmp -s "$OUT" "$D/$k.pem"; then
		pass "pubkey $k is as before"
	else
		fail "pubkey $k is as before" "exit $RC; $(show "$ERR")"
	fi
done
if check_rc "root still signs with hmac" 0 \
	p11a http-sign hmac -i "$REQ" -o "$T/hmac-again.http" --created 1700000000; then
	same_bytes "root's HMAC is the same as before" "$T/hmac-again.http" "$D/hmac-signed.http"
fi

# ---------------------------------------------------------------------------
# 3. Secrets: neither the HMAC secret nor the PIN anywhere
# ---------------------------------------------------------------------------
SECRET_B64=$(printf '%s' "$HMAC_HEX" | python3 -c 'import base64, sys
print(base64.b64encode(bytes.fromhex(sys.stdin.read())).decode())')
SECRET_HEX_UPPER=$(printf '%s' "$HMAC_HEX" | tr 'a-f' 'A-F')
leaks=
for f in "$ALL" "$T/stderr.all" "$T/agent.log" "$T/audit.jsonl"; do
	[ -f "$f" ] || continue
	if grep -qF -e "$HMAC_HEX" -e "$SECRET_HEX_UPPER" -e "${HMAC_HEX:0:32}" -e "${HMAC_HEX:64:32}" \
		"$f"; then
		leaks="$leaks $(basename "$f"):hex"
	fi
	if grep -qF -e "$SECRET_B64" -e "${SECRET_B64:0:24}" -e "${SECRET_B64:40:24}" "$f"; then
		leaks="$leaks $(basename "$f"):base64"
	fi
	if grep -qF -- "$PIN" "$f"; then
		leaks="$leaks $(basename "$f"):PIN"
	fi
done
if [ -z "$leaks" ]; then
	pass "no HMAC secret (hex or base64) nor PIN in any output, the log or the trail"
else
	fail "no HMAC secret (hex or base64) nor PIN in any output, the log or the trail" "found:$leaks"
fi
unset PIN SECRET_B64 SECRET_HEX_UPPER

stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "agent exits 0 on SIGTERM"
else
	fail "agent exits 0 on SIGTERM" "exit $AGENT_RC"
fi
finish

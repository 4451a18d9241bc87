#!/bin/sh
# test-status.sh: p11agent status. After N signatures, M decryptions and K
# requests that fail with known codes, `status --json` counts exactly those,
# per key and operation, with the codes, and latencies whose p50 is at most
# their p99; the text form says the same; `--prometheus` output passes a
# strict parser of the text exposition format and carries the same counts.
# A reload keeps a key's counts. Status while another client signs leaves
# every signature good. A client that is not an admin gets exit 4 and a
# DENIED record (that part needs root, for setpriv).
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 od timeout
# A label no terminal or collector should get raw: a tab and a byte that is not UTF-8.
make_token "$KEY_EC256" "$KEY_RSA2048" "$KEY_HMAC" "ec:P-256:$(printf 'odd\tlabel\377'):44"

N_SIGN=7
N_DECRYPT=4
AUDIT=$T/audit.jsonl
CONF=$T/agent.conf
SGID=54340 # the socket's group, for the client that is not an admin
UN=54341   # not an admin

AS_ROOT=0
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	AS_ROOT=1
	chmod 0711 "$T"
	SOCK=$T/run/agent.sock
fi
{
	echo "audit-file = $AUDIT"
	[ "$AS_ROOT" = 0 ] || echo "socket-group = $SGID"
} >"$CONF"
chmod 0600 "$CONF"
start_agent --config "$CONF" || finish

MSG=$T/msg
printf 'p11agent status test\n' >"$MSG"
check "pubkey ec256" p11a pubkey ec256 && cp "$OUT" "$T/ec256.pem"
check "pubkey rsa2048" p11a pubkey rsa2048 && cp "$OUT" "$T/rsa2048.pem"

# status_json FILE: status --json into FILE; a check.
status_json() {
	if check_rc "status --json ($1)" 0 p11a status --json; then
		cp "$OUT" "$T/$1.json"
	else
		echo '{}' >"$T/$1.json"
	fi
}

# expect_py NAME FILE PYTHON: passes when the Python expression (st: the
# parsed JSON of FILE; entry(key, op): its entry, None when absent; err(e):
# its errors as {name: count}) is true; shows the entries otherwise.
expect_py() {
	local out
	if out=$(python3 - "$2" "$3" <<'EOF' 2>&1
import json, sys
st = json.load(open(sys.argv[1]))
def entry(key, op):
    found = [e for e in st.get("requests", []) if e["key"] == key and e["op"] == op]
    return found[0] if found else None
def err(e):
    return {x["name"]: x["count"] for x in e["errors"]} if e else None
ok = eval(sys.argv[2])
if not ok:
    print(json.dumps(st.get("requests", st))[:1500])
sys.exit(0 if ok else 1)
EOF
	); then
		pass "$1"
	else
		fail "$1" "$out"
	fi
}

# --- the requests the counts must match ---------------------------------------------------------
status_json before
expect_py "before: no sign or decrypt counted yet" "$T/before.json" \
	'entry("ec256", "sign") is None and entry("rsa2048", "decrypt") is None'
expect_py "before: the token, ready, with its pool" "$T/before.json" \
	'st["token"]["label"] == "p11agent-test" and st["token"]["state"] == "ready" and st["token"]["recoveries"] == 0 and st["sessions"]["size"] >= 1 and st["sessions"]["in_use"] == 0 and st["connections"] >= 1 and st["agent"].startswith("p11agentd ") and st["uptime_ms"] >= 0'

good=0
for i in $(seq "$N_SIGN"); do
	if p11a sign ec256 -i "$MSG" -o "$T/sig" 2>"$ERR" &&
		ossl dgst -sha256 -verify "$T/ec256.pem" -signature "$T/sig" "$MSG" >/dev/null 2>&1; then
		good=$((good + 1))
	fi
done
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi
}
expect_eq "$N_SIGN signatures with ec256, each verified by OpenSSL" "$good" "$N_SIGN"

head -c 32 /dev/urandom >"$T/session"
ossl pkeyutl -encrypt -pubin -inkey "$T/rsa2048.pem" -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$T/session" -out "$T/ct"
good=0
for i in $(seq "$N_DECRYPT"); do
	if p11a decrypt rsa2048 -i "$T/ct" -o "$T/pt" 2>"$ERR" && cmp -s "$T/pt" "$T/session"; then
		good=$((good + 1))
	fi
done
expect_eq "$N_DECRYPT decryptions with rsa2048, each the session key" "$good" "$N_DECRYPT"

# The failures: 2 signatures by a key that does not exist (NO_SUCH_KEY, no
# key, on the key-info the CLI asks before it signs), 3 decryptions of bytes that are no ciphertext (BAD_INPUT), 1
# decryption by an HMAC key (NOT_SUPPORTED).
check_rc "sign with no-such-key: exit 5" 5 p11a sign no-such-key -i "$MSG"
check_rc "sign with no-such-key again: exit 5" 5 p11a sign no-such-key -i "$MSG"
head -c 256 /dev/urandom >"$T/junk"
for i in 1 2 3; do
	check_rc "decrypt junk with rsa2048 ($i): exit 1" 1 p11a decrypt rsa2048 -i "$T/junk"
done
check_rc "decrypt with the HMAC key: exit 1" 1 p11a decrypt hmac -i "$T/junk"

status_json after
expect_py "after: ec256 sign counted $N_SIGN times, no error" "$T/after.json" \
	"entry('ec256', 'sign')['requests'] == $N_SIGN and entry('ec256', 'sign')['errors'] == [] and entry('ec256', 'sign')['version'] == 1 and entry('ec256', 'sign')['gone'] is False"
expect_py "after: rsa2048 decrypt counted $N_DECRYPT + 3 times, 3 BAD_INPUT" "$T/after.json" \
	"entry('rsa2048', 'decrypt')['requests'] == $N_DECRYPT + 3 and err(entry('rsa2048', 'decrypt')) == {'BAD_INPUT': 3}"
expect_py "after: 2 key-infos by no key, 2 NO_SUCH_KEY (code 4)" "$T/after.json" \
	"entry(None, 'key-info')['requests'] == 2 and entry(None, 'key-info')['errors'] == [{'code': 4, 'name': 'NO_SUCH_KEY', 'count': 2}] and entry(None, 'sign') is None"
expect_py "after: hmac decrypt counted once, NOT_SUPPORTED" "$T/after.json" \
	"entry('hmac', 'decrypt')['requests'] == 1 and err(entry('hmac', 'decrypt')) == {'NOT_SUPPORTED': 1}"
expect_py "after: the status before counted once, this one not yet" "$T/after.json" \
	"entry(None, 'status')['requests'] == 1 and entry(None, 'status')['errors'] == []"
expect_py "after: latencies there, 0 < p50 <= p99, sum >= p50" "$T/after.json" \
	"all(0 < e['latency_us']['p50'] <= e['latency_us']['p99'] and e['latency_us']['sum'] >= e['latency_us']['p50'] for e in (entry('ec256', 'sign'), entry('rsa2048', 'decrypt')))"
expect_py "after: entries sorted by key, version, op; no key first" "$T/after.json" \
	"[(e['key'] or '', e['version'] or 0, e['op']) for e in st['requests']] == sorted((e['key'] or '', e['version'] or 0, e['op']) for e in st['requests'])"
expect_py "after: pings and hellos counted too" "$T/after.json" \
	"entry(None, 'ping')['requests'] >= 1 and entry(None, 'hello')['requests'] >= 10"

# --- the text form ------------------------------------------------------------------------------
if check "status (text)" p11a status; then
	if grep -Eq "^token: +p11agent-test .*: ready$" "$OUT" &&
		grep -Eq "^ec256 +1 +sign +$N_SIGN +[0-9]+ +[0-9]+ +-$" "$OUT" &&
		grep -Eq "^rsa2048 +1 +decrypt +$((N_DECRYPT + 3)) .* BAD_INPUT:3$" "$OUT" &&
		grep -Eq "^- +- +key-info +2 .* NO_SUCH_KEY:2$" "$OUT"; then
		pass "status (text): the token and the counts"
	else
		fail "status (text): the token and the counts" "$(cat "$OUT")"
	fi
fi

# A key whose label holds a tab and a byte that is not UTF-8, used once: the
# text form shows no control byte; the Prometheus form (parsed below, as
# UTF-8) shows it as U+FFFD.
check "sign with the key of the odd label" p11a sign id:44 -i "$MSG" -o "$T/odd.sig"
if check "status (text) with the odd label" p11a status; then
	if python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); sys.exit(any(c < 0x20 and c != 0x0a or c == 0x7f for c in b))' "$OUT" &&
		grep -q "^odd?label" "$OUT"; then
		pass "status (text): the odd label's tab shown as '?', no control byte"
	else
		fail "status (text): no control byte" "$(od -c "$OUT" | grep -m 3 'odd' || cat "$OUT")"
	fi
fi

# --- Prometheus ----------------------------------------------------------------------------------
# A strict parser of the text exposition format (version 0.0.4): every line a
# HELP, a TYPE or a sample; a family's HELP and TYPE before its samples, once;
# its samples together; names and labels as the format allows, label values
# with only \\, \" and \n escapes; no series twice; counters end in _total;
# summaries have quantile samples, _sum and _count. Prints
# "name{k=v,...} value" lines, sorted, for the checks below.
cat >"$T/promparse.py" <<'EOF'
import re, sys
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)"
types, helps, seen, done, out = {}, {}, set(), set(), []
current = None

def die(n, why, line):
    sys.exit("line %d: %s: %r" % (n, why, line))

def family(name):
    for suffix in ("_sum", "_count", "_bucket"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("summary", "histogram"):
            return base
    return name

text = sys.stdin.buffer.read().decode("utf-8")
if not text.endswith("\n"):
    sys.exit("the text does not end with a newline")
for n, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        m = re.fullmatch(r"# HELP (%s) ((?:[^\\\n]|\\\\|\\n)*)" % NAME, line)
        if not m or m.group(1) in helps:
            die(n, "bad or second HELP", line)
        helps[m.group(1)] = m.group(2)
        continue
    if line.startswith("# TYPE "):
        m = re.fullmatch(r"# TYPE (%s) (counter|gauge|histogram|summary|untyped)" % NAME, line)
        if not m or m.group(1) in types or m.group(1) in done:
            die(n, "bad or late TYPE", line)
        types[m.group(1)] = m.group(2)
        continue
    if line.startswith("#") or line == "":
        die(n, "not a HELP, TYPE or sample line", line)
    m = re.fullmatch(r"(%s)(?:\{(.*)\})? (%s)(?: -?[0-9]+)?" % (NAME, VALUE), line)
    if not m:
        die(n, "bad sample", line)
    name, labels_text, value = m.groups()
    fam = family(name)
    if fam not in types or fam not in helps:
        die(n, "sample before its HELP and TYPE", line)
    if fam != current:
        if fam in done:
            die(n, "family's samples not together", line)
        if current is not None:
            done.add(current)
        current = fam
    labels = {}
    rest = labels_text or ""
    while rest:
        lm = re.match(r'(%s)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)' % LABEL, rest)
        if not lm:
            die(n, "bad labels", line)
        if lm.group(1) in labels:
            die(n, "label twice", line)
        labels[lm.group(1)] = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), lm.group(2))
        rest = rest[lm.end():]
        if lm.group(3) == "," and not rest:
            die(n, "trailing comma", line)
    t = types[fam]
    if t == "counter" and not name.endswith("_total"):
        die(n, "a counter not named *_total", line)
    if t == "summary" and name == fam and "quantile" not in labels:
        die(n, "a summary sample without quantile", line)
    key = (name, tuple(sorted(labels.items())))
    if key in seen:
        die(n, "series twice", line)
    seen.add(key)
    out.append("%s{%s} %s" % (name, ",".join("%s=%s" % kv for kv in sorted(labels.items())), value))
for fam, t in types.items():
    if t == "summary":
        for suffix in ("_sum", "_count"):
            if not any(s[0] == fam + suffix for s in seen):
                sys.exit("summary %s without %s" % (fam, suffix))
print("\n".join(sorted(out)))
EOF
if check "status --prometheus" p11a status --prometheus; then
	cp "$OUT" "$T/metrics.prom"
	if python3 "$T/promparse.py" <"$T/metrics.prom" >"$T/samples" 2>"$T/parse.err"; then
		pass "--prometheus: the strict parser takes it ($(wc -l <"$T/samples") samples)"
		if grep -qF "$(printf 'odd\\tlabel\357\277\275')" "$T/metrics.prom" ||
			grep -qF "$(printf 'odd\tlabel\357\277\275')" "$T/metrics.prom"; then
			pass "--prometheus: the odd label's stray byte is U+FFFD"
		else
			fail "--prometheus: the odd label's stray byte is U+FFFD" "$(grep -a odd "$T/metrics.prom" | head -n 2 | od -c | head -n 4)"
		fi
	else
		fail "--prometheus: the strict parser takes it" "$(show "$T/parse.err")"
	fi
	sample() { grep -F -x -- "$1" "$T/samples" >/dev/null; }
	for want in \
		"p11agent_requests_total{key=ec256,op=sign,version=1} $N_SIGN" \
		"p11agent_requests_total{key=rsa2048,op=decrypt,version=1} $((N_DECRYPT + 3))" \
		"p11agent_errors_total{code=BAD_INPUT,key=rsa2048,op=decrypt,version=1} 3" \
		"p11agent_errors_total{code=NO_SUCH_KEY,key=,op=key-info,version=} 2" \
		"p11agent_errors_total{code=NOT_SUPPORTED,key=hmac,op=decrypt,version=1} 1" \
		"p11agent_request_duration_seconds_count{key=ec256,op=sign,version=1} $N_SIGN" \
		"p11agent_token_state{state=ready} 1" \
		"p11agent_token_state{state=away} 0" \
		"p11agent_token_recoveries_total{} 0" \
		"p11agent_token_info{label=p11agent-test,serial=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"]["serial"])' "$T/after.json")} 1"; do
		if sample "$want"; then
			pass "--prometheus: $want"
		else
			fail "--prometheus: $want" "not among the samples: $(grep -F "${want%%\{*}" "$T/samples" | head -n 5 | tr '\n' ' ')"
		fi
	done
	if grep -q '^p11agent_request_duration_seconds{key=ec256,op=sign,quantile=0.5,version=1} 0\.[0-9]\{6\}$' "$T/samples" &&
		grep -q '^p11agent_request_duration_seconds{key=ec256,op=sign,quantile=0.99,version=1} 0\.[0-9]\{6\}$' "$T/samples"; then
		pass "--prometheus: ec256 sign's p50 and p99 in seconds"
	else
		fail "--prometheus: ec256 sign's p50 and p99 in seconds" "$(grep duration "$T/samples" | head -n 4 | tr '\n' ' ')"
	fi
fi
# The parser is strict: it refuses what the format does not allow.
printf '# HELP x_total a\n# TYPE x_total counter\nx_total{a="b\\q"} 1\n' >"$T/bad.prom"
if python3 "$T/promparse.py" <"$T/bad.prom" >/dev/null 2>&1; then
	fail "the parser refuses a bad escape" "it took it"
else
	pass "the parser refuses a bad escape"
fi
printf '# HELP x a\n# TYPE x counter\nx 1\n' >"$T/bad.prom"
if python3 "$T/promparse.py" <"$T/bad.prom" >/dev/null 2>&1; then
	fail "the parser refuses a counter not named *_total" "it took it"
else
	pass "the parser refuses a counter not named *_total"
fi

check_rc "status --json --prometheus: usage error, exit 2" 2 p11a status --json --prometheus
check_err "status --json --prometheus: says why" 'exclude each other'

# --- a reload keeps a key's counts -----------------------------------------------------------------
check "reload" p11a reload
check "sign with ec256 after the reload" p11a sign ec256 -i "$MSG" -o "$T/sig"
status_json reloaded
expect_py "after a reload: ec256 sign counted on ($N_SIGN + 1)" "$T/reloaded.json" \
	"entry('ec256', 'sign')['requests'] == $N_SIGN + 1 and entry(None, 'reload')['requests'] == 1"

# --- status while another client signs --------------------------------------------------------------
(
	ok=0
	for i in $(seq 30); do
		if p11a sign ec256 -i "$MSG" -o "$T/bg.sig" 2>>"$T/bg.err" &&
			ossl dgst -sha256 -verify "$T/ec256.pem" -signature "$T/bg.sig" "$MSG" >/dev/null 2>&1; then
			ok=$((ok + 1))
		fi
	done
	echo "$ok" >"$T/bg.result"
) &
BG=$!
status_ok=0
for i in $(seq 15); do
	p11a status --json >"$T/st.$i" 2>>"$T/st.err" && status_ok=$((status_ok + 1))
done
wait "$BG"
expect_eq "15 status requests beside a signing client" "$status_ok" 15
expect_eq "the other client's 30 signatures all good" "$(cat "$T/bg.result")" 30
status_json busy
expect_py "after it: ec256 sign counted $N_SIGN + 1 + 30" "$T/busy.json" \
	"entry('ec256', 'sign')['requests'] == $N_SIGN + 31 and entry('ec256', 'sign')['errors'] == []"

# --- a client that is not an admin ---------------------------------------------------------------------
if [ "$AS_ROOT" = 1 ]; then
	CLI=$P11AGENT
	CLI_ENV=
	cp "$top_srcdir/tests/lsan.supp" "$T/lsan.supp" 2>/dev/null && chmod 0644 "$T/lsan.supp"
	as_user() {
		# shellcheck disable=SC2086 # CLI_ENV is a list of VAR=VALUE words
		timeout -k 2 60 setpriv --reuid="$UN" --regid="$SGID" --clear-groups \
			env LSAN_OPTIONS="suppressions=$T/lsan.supp:print_suppressions=0" $CLI_ENV "$@"
	}
	cli_for_other_users "$UN" as_user
	denied() {
		python3 - "$AUDIT" "$UN" <<'EOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    n += r.get("op") == "status" and r.get("status") == "DENIED" and str(r.get("uid")) == sys.argv[2]
print(n)
EOF
	}
	before=$(denied)
	check_rc "not an admin: status exits 4" 4 as_user "$CLI" -S "$SOCK" status
	check_err "not an admin: says why" 'status is for admins'
	[ -s "$OUT" ] && fail "not an admin: nothing on stdout" "$(show "$OUT")"
	check_rc "not an admin: status --prometheus exits 4" 4 as_user "$CLI" -S "$SOCK" status --prometheus
	expect_eq "not an admin: two DENIED records of status in the trail" "$(denied)" "$((before + 2))"
	status_json denied
	expect_py "the refusals are counted: status, DENIED" "$T/denied.json" \
		"err(entry(None, 'status')) == {'DENIED': 2}"
else
	skip "not an admin" "needs root and setpriv to connect as another uid"
fi

agent_alive "agent still serving"
stop_agent
expect_eq "agent stopped cleanly" "$AGENT_RC" 0
pin=$(tr -d '\n' <"$PIN_FILE")
if grep -qF -- "$pin" "$T/agent.log" "$AUDIT" "$T"/*.json "$T/metrics.prom" 2>/dev/null; then
	fail "no PIN in the log, the trail or the status" "found"
else
	pass "no PIN in the log, the trail or the status"
fi
finish

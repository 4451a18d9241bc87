#!/bin/sh
# test-audit.sh: the audit trail of a real agent, keyed with an HMAC key in
# the SoftHSM token: one record per request with the right fields, the
# input's SHA-256 as OpenSSL computes it, no secret in the file, a chain that
# audit-verify (asking the agent) finds intact, and an edited, a removed and
# a swapped record each named; the chain goes on across a logrotate (move +
# SIGHUP) and a restart of the agent.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 od cmp timeout sed
AUDIT_HEX=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf
make_token "$KEY_EC256" "$KEY_ED25519" "$KEY_RSA2048" "$KEY_HMAC" "$KEY_EC384" \
	"hmac:$AUDIT_HEX:audit-mac:50"

LOG=$T/audit.log
cat >"$T/agent.conf" <<EOF
audit-file = $LOG
audit-key = audit-mac

[key limited]
uri = pkcs11:object=ec384;type=private
allow-ops = derive
EOF
start_agent --config "$T/agent.conf" || finish

MSG=$T/msg
printf 'audit me\n' >"$MSG"
head -c 2000 /dev/urandom >>"$MSG"

lines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# one_record NAME CMD...: CMD adds exactly one line to the trail.
one_record() {
	local name=$1 before after
	shift
	before=$(lines "$LOG")
	"$@" >/dev/null 2>&1
	after=$(lines "$LOG")
	if [ "$after" -eq $((before + 1)) ]; then
		pass "$name: one record"
	else
		fail "$name: one record" "$before lines before, $after after"
	fi
}

# last_field FIELD: the last record's FIELD, as JSON.
last_field() {
	python3 -c '
import json, sys
print(json.dumps(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]]))' "$LOG" "$1"
}

# check_field NAME FIELD EXPECTED_JSON
check_field() {
	local got
	got=$(last_field "$2")
	if [ "$got" = "$3" ]; then
		pass "$1: $2"
	else
		fail "$1: $2" "got $got, expected $3"
	fi
}

sha256_hex() {
	ossl dgst -sha256 -r "$1" | cut -d' ' -f1
}

# --- records -----------------------------------------------------------------
one_record "sign ed25519" p11a sign ed25519 --alg ed25519 -i "$MSG" -o "$T/sig1"
check_field "sign ed25519" op '"sign"'
check_field "sign ed25519" key '"ed25519"'
check_field "sign ed25519" key_ref '"ed25519"'
check_field "sign ed25519" alg '"ed25519"'
check_field "sign ed25519" status '"OK"'
check_field "sign ed25519" uid "$(id -u)"
check_field "sign ed25519" gid "$(id -g)"
check_field "sign ed25519" input_len "$(wc -c <"$MSG")"
check_field "sign ed25519" input_sha256 "\"$(sha256_hex "$MSG")\""
# (libtool runs the real program from .libs/.)
case $(last_field exe) in
*/p11agent\") pass "sign ed25519: exe" ;;
*) fail "sign ed25519: exe" "got $(last_field exe)" ;;
esac

# ECDSA: the agent signs the digest, so the record holds the digest's hash.
one_record "sign ecdsa" p11a sign ec256 --alg ecdsa-sha256 -i "$MSG" -o "$T/sig2"
ossl dgst -sha256 -binary "$MSG" >"$T/digest"
check_field "sign ecdsa" input_sha256 "\"$(sha256_hex "$T/digest")\""
check_field "sign ecdsa" input_len 32

one_record "hmac" p11a hmac hmac --alg hmac-sha256 -i "$MSG" -o "$T/mac"
check_field "hmac" input_sha256 "\"$(sha256_hex "$MSG")\""

# Refused requests are recorded too.
run p11a sign limited --alg ecdsa-sha384 -i "$MSG"
if [ "$RC" -eq 4 ]; then pass "denied sign: exit 4"; else fail "denied sign: exit 4" "exit $RC: $(show "$ERR")"; fi
check_field "denied sign" status '"DENIED"'
check_field "denied sign" key '"limited"'
one_record "no such key" p11a sign nosuchkey --alg ecdsa-sha256 -i "$MSG"
check_field "no such key" status '"NO_SUCH_KEY"'
check_field "no such key" key null
check_field "no such key" key_ref '"nosuchkey"'

# --- no secret in the trail ----------------------------------------------------
p11a pubkey rsa2048 >"$T/rsa.pem" || fail "rsa pubkey" "cannot export"
head -c 32 /dev/urandom >"$T/session"
ossl pkeyutl -encrypt -pubin -inkey "$T/rsa.pem" -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$T/session" \
	-out "$T/wrapped" || fail "wrap" "openssl cannot wrap"
one_record "unwrap" p11a unwrap rsa2048 -i "$T/wrapped" -o "$T/unwrapped"
same_bytes "unwrap: the session key" "$T/unwrapped" "$T/session"
check_field "unwrap" input_sha256 "\"$(sha256_hex "$T/wrapped")\""
printf 'the plaintext secret %s\n' "$(hex "$T/session" | cut -c1-16)" >"$T/plain"
ossl pkeyutl -encrypt -pubin -inkey "$T/rsa.pem" -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$T/plain" -out "$T/ct"
one_record "decrypt" p11a decrypt rsa2048 -i "$T/ct" -o "$T/plain.out"
same_bytes "decrypt: the plaintext" "$T/plain.out" "$T/plain"
secret=$(hex "$T/session")
pin=$(cat "$PIN_FILE")
if grep -qi "$secret" "$LOG" || grep -q "plaintext secret" "$LOG" || grep -qF "$pin" "$LOG" ||
	grep -qi "$AUDIT_HEX" "$LOG" || grep -qi "$HMAC_HEX" "$LOG"; then
	fail "no secret in the trail" "a session key, plaintext, PIN or key value is in $LOG"
else
	pass "no secret in the trail"
fi

# --- the file ------------------------------------------------------------------
if [ "$(stat -c %a "$LOG")" = 600 ]; then pass "trail mode 0600"; else fail "trail mode 0600" "$(stat -c %a "$LOG")"; fi
python3 - "$LOG" >"$T/shape" 2>&1 <<'EOF'
import json, sys
order = ["seq", "time", "uid", "gid", "pid", "exe", "op", "key", "key_uri", "key_version", "key_ref",
         "alg",
         "input_len", "input_sha256", "status", "latency_us", "detail", "chain", "prev", "mac"]
prev = None
for n, line in enumerate(open(sys.argv[1]).read().splitlines(), 1):
    r = json.loads(line)
    assert list(r) == order, "line %d: fields %s" % (n, list(r))
    assert r["seq"] == n, "line %d: seq %s" % (n, r["seq"])
    assert r["chain"] == "hmac-sha256", "line %d: chain %s" % (n, r["chain"])
    assert r["prev"] == (prev or "0" * 64), "line %d: prev" % n
    assert r["time"].endswith("Z") and len(r["time"]) == 27, r["time"]
    assert line.isascii()
    prev = r["mac"]
print("ok")
EOF
if [ "$(cat "$T/shape")" = ok ]; then pass "records: fields, order, seq, chain"; else fail "records: fields, order, seq, chain" "$(show "$T/shape")"; fi

# --- audit-verify ---------------------------------------------------------------
check "audit-verify: intact" p11a audit-verify "$LOG"
if grep -q "keyed" "$OUT"; then pass "audit-verify: keyed"; else fail "audit-verify: keyed" "$(show "$OUT")"; fi
check "audit-verify --keyed: intact" p11a audit-verify --keyed "$LOG"

# Tampered copies (audit-verify's own requests keep adding to $LOG).
head -n 8 "$LOG" >"$T/base.log"
sed '3s/"input_len":[0-9]*/"input_len":1/' "$T/base.log" >"$T/edited.log"
check_rc "edited record: exit 1" 1 p11a audit-verify "$T/edited.log"
check_err "edited record: named" '^p11agent: record 3 \(line 3\): changed'
sed '4d' "$T/base.log" >"$T/removed.log"
check_rc "removed record: exit 1" 1 p11a audit-verify "$T/removed.log"
check_err "removed record: named" '^p11agent: record 4 \(line 4\): removed'
{ sed -n '1,4p' "$T/base.log"; sed -n '6p' "$T/base.log"; sed -n '5p' "$T/base.log"
	sed -n '7,$p' "$T/base.log"; } >"$T/swapped.log"
check_rc "swapped records: exit 1" 1 p11a audit-verify "$T/swapped.log"
check_err "swapped records: named" '^p11agent: record 5 \(line 5\): reordered'

sed '1,2d' "$T/base.log" >"$T/headless.log"
check_rc "first records removed: exit 1" 1 p11a audit-verify "$T/headless.log"
check_err "first records removed: named" '^p11agent: record 1 \(line 1\): removed'

# A PIN in a key reference's query never reaches the trail.
p11a sign 'pkcs11:object=no-such-key?pin-value=98765432' -i "$MSG" -o "$T/nosig" >/dev/null 2>&1
if grep -q 98765432 "$LOG"; then
	fail "pin-value in a key reference: not in the trail" "found in $LOG"
else
	pass "pin-value in a key reference: not in the trail"
fi

# Rewritten as an unkeyed SHA-256 chain by someone without the key.
python3 - "$T/base.log" "$T/rewritten.log" <<'EOF'
import hashlib, sys
prev = bytes(32)
out = []
for line in open(sys.argv[1]).read().splitlines():
    body = line[:line.rindex(',"mac":"')].replace('"chain":"hmac-sha256"', '"chain":"sha256"')
    body = body[:body.rindex(',"prev":"')] + ',"prev":"%s"' % prev.hex()
    prev = hashlib.sha256(prev + body.encode()).digest()
    out.append('%s,"mac":"%s"}\n' % (body, prev.hex()))
open(sys.argv[2], "w").write("".join(out))
EOF
check_rc "rewritten unkeyed, --keyed: exit 1" 1 p11a audit-verify --keyed "$T/rewritten.log"
check_err "rewritten unkeyed, --keyed: named" '^p11agent: record 1 \(line 1\): changed'
check "rewritten unkeyed: reported as unkeyed" p11a audit-verify "$T/rewritten.log"
if grep -q "unkeyed" "$OUT"; then pass "rewritten unkeyed: says unkeyed"; else fail "rewritten unkeyed: says unkeyed" "$(show "$OUT")"; fi
# Keyed records with the chain's MACs recomputed as SHA-256 (the agent says no).
sed 's/"chain":"sha256"/"chain":"hmac-sha256"/' "$T/rewritten.log" >"$T/forged.log"
check_rc "forged keyed MACs: exit 1" 1 p11a audit-verify "$T/forged.log"
check_err "forged keyed MACs: named" '^p11agent: record 1 \(line 1\): changed'

# --- logrotate: move the file, SIGHUP, the chain goes on in a new file ----------
mv "$LOG" "$LOG.1"
kill -HUP "$AGENT_PID"
for i in $(seq 50); do
	grep -q "reopen" "$T/agent.log" && break
	sleep 0.1
done
p11a sign ed25519 --alg ed25519 -i "$MSG" -o "$T/sig3" >/dev/null 2>&1
if [ -f "$LOG" ] && [ "$(lines "$LOG")" -ge 1 ]; then
	pass "SIGHUP: a new file"
	if [ "$(stat -c %a "$LOG")" = 600 ]; then pass "new trail mode 0600"; else fail "new trail mode 0600" "$(stat -c %a "$LOG")"; fi
else
	fail "SIGHUP: a new file" "no $LOG after SIGHUP and a request"
fi
check "rotated files verify as one chain" p11a audit-verify "$LOG.1" "$LOG"
run p11a audit-verify "$LOG" "$LOG.1"
if [ "$RC" -eq 1 ]; then pass "rotated files in the wrong order: exit 1"; else fail "rotated files in the wrong order: exit 1" "exit $RC"; fi

check_rc "the newest file alone: exit 1" 1 p11a audit-verify "$LOG"
check_err "the newest file alone: records before it removed" 'removed: the trail starts at record'
check "the newest file alone, --partial: intact" p11a audit-verify --partial "$LOG"

# --- restart: the chain goes on from the file's last record ---------------------
stop_agent
start_agent --config "$T/agent.conf" || finish
one_record "after restart" p11a sign ed25519 --alg ed25519 -i "$MSG" -o "$T/sig4"
check "restart: chain intact" p11a audit-verify "$LOG.1" "$LOG"

# An audit-key that is no HMAC key stops the agent at start.
sed 's/^audit-key = .*/audit-key = ec256/' "$T/agent.conf" >"$T/bad.conf"
stop_agent
timeout 20 "$P11AGENTD" --foreground --config "$T/bad.conf" --module "$SOFTHSM_MODULE" \
	--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$T/bad.sock" \
	>"$T/bad.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q "audit-key" "$T/bad.out"; then
	pass "audit-key not an HMAC key: refused at start"
else
	fail "audit-key not an HMAC key: refused at start" "exit $rc: $(show "$T/bad.out")"
fi

# Keyed records are never appended to an unkeyed history (it could be anyone's).
cp "$T/rewritten.log" "$T/unkeyed.log"
sed "s|^audit-file = .*|audit-file = $T/unkeyed.log|" "$T/agent.conf" >"$T/unkeyed.conf"
timeout 20 "$P11AGENTD" --foreground --config "$T/unkeyed.conf" --module "$SOFTHSM_MODULE" \
	--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$T/unkeyed.sock" \
	>"$T/unkeyed.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q "not keyed" "$T/unkeyed.out"; then
	pass "audit-key on an unkeyed trail: refused at start"
else
	fail "audit-key on an unkeyed trail: refused at start" "exit $rc: $(show "$T/unkeyed.out")"
fi

finish

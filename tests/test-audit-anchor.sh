#!/bin/sh
# test-audit-anchor.sh: the audit trail held outside its file. The chain's
# head kept in the token catches a trail cut short (at start, and in
# audit-verify) or deleted; --new-audit-chain starts a new one that names the
# old head; verifying a trail adds at most one record; a trail that cannot be
# reopened at its path (folder gone, a symbolic link put there) makes the
# agent refuse audited requests; checkpoints signed with audit-sign-key are
# checked with openssl.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 timeout sed head
AUDIT_HEX=c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf
make_token "$KEY_EC256" "$KEY_ED25519" "hmac:$AUDIT_HEX:audit-mac:50" "ec:P-256:audit-sig:51"

DIR=$T/audit
LOG=$DIR/audit.log
mkdir -p "$DIR"
cat >"$T/agent.conf" <<EOF
audit-file = $LOG
audit-key = audit-mac
EOF
start_agent --config "$T/agent.conf" || finish

MSG=$T/msg
printf 'anchor me\n' >"$MSG"

lines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# field N FIELD [FILE]: record N's FIELD (1-based; -1 the last), as JSON.
field() {
	python3 -c '
import json, sys
print(json.dumps(json.loads(open(sys.argv[3]).read().splitlines()[int(sys.argv[1]) - (int(sys.argv[1]) > 0)])[sys.argv[2]]))' \
		"$1" "$2" "${3:-$LOG}"
}

# start_refused NAME ERE [ARGS...]: p11agentd exits 1 (could not start) saying ERE.
start_refused() {
	local name=$1 ere=$2 rc
	shift 2
	timeout 30 "$P11AGENTD" --foreground --config "$T/agent.conf" --module "$SOFTHSM_MODULE" \
		--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$T/other.sock" \
		"$@" >"$T/start.out" 2>&1
	rc=$?
	if [ "$rc" -eq 1 ] && grep -Eq -- "$ere" "$T/start.out"; then
		pass "$name: refused at start (exit 1)"
	else
		fail "$name: refused at start (exit 1)" "exit $rc: $(show "$T/start.out")"
	fi
}

# wait_log ERE: waits (5 s at most) until the agent's log matches ERE.
wait_log() {
	local i
	for i in $(seq 50); do
		grep -Eq -- "$1" "$T/agent.log" && return 0
		sleep 0.1
	done
	return 1
}

for i in $(seq 50); do
	p11a sign ed25519 -i "$MSG" -o "$T/sig" >/dev/null 2>&1 || fail "sign $i" "exit $?"
done
check_field() {
	local got
	got=$(field "$2" "$3")
	if [ "$got" = "$4" ]; then pass "$1"; else fail "$1" "got $got, expected $4"; fi
}
check_field "the first record names no previous head" 1 detail \
	"{\"prev_seq\": 0, \"prev_mac\": \"$(printf '0%.0s' $(seq 64))\"}"
check_field "the first record is audit-start" 1 op '"audit-start"'

# --- verifying a trail adds at most one record ----------------------------------
before=$(lines "$LOG")
check "audit-verify: intact" p11a audit-verify "$LOG"
after=$(lines "$LOG")
if [ "$after" -le $((before + 1)) ]; then
	pass "audit-verify of $before records adds at most one ($((after - before)))"
else
	fail "audit-verify of $before records adds at most one" "$before lines before, $after after"
fi
before=$after
run p11a audit-verify "$LOG"
after=$(lines "$LOG")
if [ "$after" -le $((before + 1)) ]; then pass "a second audit-verify: at most one more"; else fail "a second audit-verify: at most one more" "$before lines before, $after after"; fi

# --- cut short: audit-verify (online) says truncated ---------------------------
sleep 1.5 # the head in the token is up to a second behind the file
head -n -3 "$LOG" >"$T/short.log"
check_rc "last 3 records removed: audit-verify exit 1" 1 p11a audit-verify "$T/short.log"
check_err "last 3 records removed: truncated" 'truncated: the token.s head is record [0-9]+, the trail ends at record [0-9]+'

# --- cut short: the agent refuses to start --------------------------------------
stop_agent
cp "$LOG" "$T/full.log"
last=$(field -1 seq)
head -n -3 "$T/full.log" >"$LOG"
start_refused "last 3 records removed" \
	"ends at record $((last - 3)) but the token's head is record $last: records $((last - 2))..$last are missing.*--new-audit-chain"
cp "$T/full.log" "$LOG"

# A record replaced by one of another chain at the same seq.
python3 - "$T/full.log" "$LOG" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines(True)
last = lines[-1]
i = last.rindex('"mac":"') + 7
lines[-1] = last[:i] + ("0" if last[i] != "0" else "1") + last[i + 1:]
open(sys.argv[2], "w").write("".join(lines))
EOF
start_refused "last record replaced" "record $last is not the token's head"
cp "$T/full.log" "$LOG"

# --- deleted: refused; --new-audit-chain starts a new chain naming the old head ---
head_mac=$(field -1 mac "$T/full.log")
rm -f "$LOG"
start_refused "trail deleted" "holds no record, but the token's head is record $last"
start_agent --config "$T/agent.conf" --new-audit-chain || finish
check_field "--new-audit-chain: first record" 1 op '"audit-new-chain"'
check_field "--new-audit-chain: seq 1" 1 seq 1
check_field "--new-audit-chain: names the old head" 1 detail \
	"{\"prev_seq\": $last, \"prev_mac\": $head_mac}"
# The new trail alone still shows what was lost, unless the earlier file is
# declared gone (--partial); then the new chain verifies.
check_rc "--new-audit-chain: the lost records still show" 1 p11a audit-verify "$LOG"
check_err "--new-audit-chain: names the abandoned head" "new chain after record $last"
check "--new-audit-chain: the new chain verifies with --partial" p11a audit-verify --partial "$LOG"

# --- the audit folder deleted, then SIGHUP: audited requests are refused --------
rm -rf "$DIR"
kill -HUP "$AGENT_PID"
wait_log "cannot reopen" || fail "SIGHUP, folder gone: logged" "$(tail -n 3 "$T/agent.log")"
check_rc "SIGHUP, folder gone: sign refused (exit 1)" 1 p11a sign ed25519 -i "$MSG" -o "$T/sig"
check_err "SIGHUP, folder gone: says why" 'audit trail cannot be written'
if grep -q "refused until a SIGHUP reopens it" "$T/agent.log"; then pass "SIGHUP, folder gone: the log says requests are refused"; else fail "SIGHUP, folder gone: the log says requests are refused" "$(tail -n 3 "$T/agent.log")"; fi
mkdir -p "$DIR"
kill -HUP "$AGENT_PID"
wait_log "reopened $LOG" || fail "SIGHUP, folder back: reopened" "$(tail -n 3 "$T/agent.log")"
check "SIGHUP, folder back: sign works again" p11a sign ed25519 -i "$MSG" -o "$T/sig"

# --- a symbolic link at the trail's path, then SIGHUP: never followed ----------
printf 'not a trail\n' >"$T/victim"
cp "$T/victim" "$T/victim.orig"
mv "$LOG" "$LOG.1"
ln -s "$T/victim" "$LOG"
kill -HUP "$AGENT_PID"
wait_log "symbolic link" || fail "SIGHUP, symlink: logged" "$(tail -n 3 "$T/agent.log")"
check_rc "SIGHUP, symlink: sign refused (exit 1)" 1 p11a sign ed25519 -i "$MSG" -o "$T/sig"
same_bytes "SIGHUP, symlink: its target untouched" "$T/victim" "$T/victim.orig"
rm -f "$LOG"
mv "$LOG.1" "$LOG"
kill -HUP "$AGENT_PID"
sleep 0.3
check "SIGHUP, file back: sign works again" p11a sign ed25519 -i "$MSG" -o "$T/sig"
stop_agent

# --- checkpoints signed in the token, checked with openssl ----------------------
cat >>"$T/agent.conf" <<EOF
audit-sign-key = audit-sig
audit-checkpoint-interval = 1
EOF
start_agent --config "$T/agent.conf" || finish
check_rc "audit-sign-key: nobody signs with it directly (exit 4)" 4 \
	p11a sign audit-sig -i "$MSG" -o "$T/sig"
p11a pubkey audit-sig >"$T/audit-sig.pem" || fail "audit-sig pubkey" "cannot export"
for i in 1 2 3; do p11a sign ed25519 -i "$MSG" -o "$T/sig" >/dev/null 2>&1; done
sleep 2.5
for i in 1 2 3; do p11a sign ed25519 -i "$MSG" -o "$T/sig" >/dev/null 2>&1; done
stop_agent
check_field "clean stop: the last record is a checkpoint" -1 op '"audit-checkpoint"'
# Each checkpoint of this run: its fields, its hash over the lines it covers,
# and the message openssl checks.
python3 - "$LOG" "$T/cp" <<'EOF' >"$T/cp.out" 2>&1
import hashlib, json, sys
lines = open(sys.argv[1]).read().splitlines(True)
recs = [json.loads(l) for l in lines]
start = max(i for i, r in enumerate(recs) if r["op"] in ("audit-start", "audit-new-chain", "audit-restart"))
cps = [i for i in range(start, len(recs)) if recs[i]["op"] == "audit-checkpoint"]
assert len(cps) >= 2, "only %d checkpoints" % len(cps)
by_seq = {recs[i]["seq"]: i for i in range(start, len(recs))}
frm = recs[start]["seq"]
for n, i in enumerate(cps):
    r = recs[i]
    d = r["detail"]
    assert r["key"] == "audit-sig" and r["alg"] == "ecdsa-sha256" and r["status"] == "OK", r
    assert r["key_ref"] is None and r["latency_us"] == 0 and r["key_uri"].startswith("pkcs11:"), r
    assert d["from_seq"] == frm and d["to_seq"] == r["seq"] - 1, (d, frm, r["seq"])
    covered = "".join(lines[by_seq[s]] for s in range(d["from_seq"], d["to_seq"] + 1))
    h = hashlib.sha256(covered.encode()).hexdigest()
    assert r["input_sha256"] == h and r["input_len"] == len(covered), "checkpoint %d: hash" % r["seq"]
    text = "p11agent audit checkpoint v1 seq=%d from=%d to=%d sha256=%s\n" % (r["seq"], d["from_seq"], d["to_seq"], h)
    open("%s.%d.msg" % (sys.argv[2], n), "w").write(text)
    open("%s.%d.sig" % (sys.argv[2], n), "wb").write(bytes.fromhex(d["sig"]))
    frm = r["seq"]
print(len(cps))
EOF
n_cp=$(tail -n 1 "$T/cp.out")
case $n_cp in
'' | *[!0-9]*) fail "checkpoints: fields and hashes" "$(show "$T/cp.out")" ;;
*)
	pass "checkpoints: $n_cp, fields and hashes"
	ok=0
	for i in $(seq 0 $((n_cp - 1))); do
		ossl dgst -sha256 -verify "$T/audit-sig.pem" -signature "$T/cp.$i.sig" "$T/cp.$i.msg" \
			>/dev/null 2>&1 && ok=$((ok + 1))
	done
	if [ "$ok" -eq "$n_cp" ]; then pass "checkpoints: openssl checks every signature"; else fail "checkpoints: openssl checks every signature" "$ok of $n_cp"; fi
	# One byte more in the message: the signature no longer holds.
	printf 'x' >>"$T/cp.0.msg"
	if ossl dgst -sha256 -verify "$T/audit-sig.pem" -signature "$T/cp.0.sig" "$T/cp.0.msg" >/dev/null 2>&1; then
		fail "checkpoints: a changed message fails" "openssl accepted it"
	else
		pass "checkpoints: a changed message fails"
	fi
	;;
esac

# audit-sign-key without an audit-file is refused.
printf 'audit-syslog = yes\naudit-sign-key = audit-sig\n' >"$T/nofile.conf"
timeout 30 "$P11AGENTD" --foreground --config "$T/nofile.conf" --module "$SOFTHSM_MODULE" \
	--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$T/other.sock" \
	>"$T/start.out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "audit-sign-key needs an audit-file" "$T/start.out"; then
	pass "audit-sign-key without audit-file: refused"
else
	fail "audit-sign-key without audit-file: refused" "exit $rc: $(show "$T/start.out")"
fi

finish

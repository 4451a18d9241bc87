#!/bin/sh
# test-audit-offline.sh: audit-verify --pubkey checks a keyed trail offline,
# trusting no agent. A fake agent that answers "valid" to everything makes
# the online check pass a forged trail (whoever answers on the socket is
# trusted); --pubkey reports the forgery and never connects. The trail and
# its checkpoints, signed with an EC key by openssl, are made by
# tests/audittrail.py in the record format of proto/auditlog.h.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 timeout
TRAIL="timeout -k 2 60 python3 $top_srcdir/tests/audittrail.py"

ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/sign.key" 2>"$ERR" ||
	die "cannot make an EC key: $(show "$ERR")"
ossl pkey -in "$T/sign.key" -pubout -out "$T/pub.pem" 2>"$ERR" || die "pubout: $(show "$ERR")"
$TRAIL make "$T/sign.key" "$T/trail.log" 2>"$ERR" || die "make trail: $(show "$ERR")"
$TRAIL forge "$T/trail.log" "$T/forged.log" 2>"$ERR" || die "forge trail: $(show "$ERR")"

# The fake agent, in the background for at most 60 s.
FAKE=$T/fake.sock
$TRAIL fake-agent "$FAKE" "$T/fake.log" 60 "$T/forged.log" 2>"$T/fake.err" &
AGENT_PIDS="$AGENT_PIDS $!"
for _ in $(seq 100); do
	[ -S "$FAKE" ] && break
	sleep 0.1
done
[ -S "$FAKE" ] || die "the fake agent did not start: $(show "$T/fake.err")"

# --- online: the trail is as good as whoever answers on the socket ---------------
run timeout -k 2 30 "$P11AGENT" -S "$FAKE" audit-verify "$T/forged.log"
echo "  online check of the forged trail against the fake agent: exit $RC"
sed 's/^/  stdout: /' "$OUT"
sed 's/^/  stderr: /' "$ERR"
if grep -q "connection" "$T/fake.log" 2>/dev/null; then
	pass "online: the fake agent was asked"
else
	fail "online: the fake agent was asked" "no connection logged"
fi
if grep -q "agent at $FAKE" "$OUT" "$ERR"; then
	pass "online: names the socket whose agent it trusted"
else
	fail "online: names the socket whose agent it trusted" "$(show "$OUT") $(show "$ERR")"
fi
if grep -q -- "--pubkey" "$OUT" "$ERR"; then
	pass "online: suggests --pubkey"
else
	fail "online: suggests --pubkey" "$(show "$OUT")"
fi

# --- offline: only the public key is trusted -------------------------------------
: >"$T/fake.log"
check_rc "offline: forged trail: exit 1" 1 timeout -k 2 30 "$P11AGENT" -S "$FAKE" \
	audit-verify --pubkey "$T/pub.pem" "$T/forged.log"
sed 's/^/  /' "$ERR"
check_err "offline: forged trail: the edited record's span is named" \
	'record 6 \(line 6\): checkpoint: records 1 to 5 .*do not match'
if [ -s "$T/fake.log" ]; then
	fail "offline: no connection to any agent" "the fake agent logged: $(show "$T/fake.log")"
else
	pass "offline: no connection to any agent"
fi

check "offline: genuine trail: intact" timeout -k 2 30 "$P11AGENT" -S "$FAKE" \
	audit-verify --pubkey "$T/pub.pem" "$T/trail.log"
if grep -q "records 11 to 12 after the last checkpoint are unconfirmed" "$OUT" "$ERR"; then
	pass "offline: genuine trail: the records after the last checkpoint are unconfirmed"
else
	fail "offline: genuine trail: the records after the last checkpoint are unconfirmed" \
		"$(show "$OUT") $(show "$ERR")"
fi
if [ -s "$T/fake.log" ]; then
	fail "offline: genuine trail: no connection" "$(show "$T/fake.log")"
else
	pass "offline: genuine trail: no connection"
fi

# A record removed from a checkpoint's span.
sed '4d' "$T/trail.log" >"$T/removed.log"
check_rc "offline: removed record: exit 1" 1 timeout -k 2 30 "$P11AGENT" \
	audit-verify --pubkey "$T/pub.pem" "$T/removed.log"
check_err "offline: removed record: named" 'record 4 \(line 4\): removed'

# Two problems far apart: a damaged line does not stop the check.
sed -e '3s/.*/{"seq":3,"time":"20/' -e '8s/"input_len":32/"input_len":1/' "$T/trail.log" \
	>"$T/two.log"
check_rc "offline: damaged line and a later edit: exit 1" 1 timeout -k 2 30 "$P11AGENT" \
	audit-verify --pubkey "$T/pub.pem" "$T/two.log"
check_err "offline: the damaged line is reported" '^p11agent: record 3 \(line 3\): damaged'
check_err "offline: the edit after it is reported too" \
	'^p11agent: record 10 \(line 10\): checkpoint: records 7 to 9 .*do not match'

# --json: the verdict and every problem, on stdout.
run timeout -k 2 30 "$P11AGENT" --json audit-verify --pubkey "$T/pub.pem" "$T/two.log"
if python3 - "$OUT" >"$T/json.out" 2>&1 <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert v["intact"] is False and v["mode"] == "offline" and v["agent"] is None, v
kinds = [(p["seq"], p["kind"], p["warning"]) for p in v["problems"]]
assert (3, "damaged", False) in kinds and (10, "checkpoint", False) in kinds, kinds
assert v["failures"] == sum(1 for k in kinds if not k[2]), v
PY
then
	pass "offline --json: problems listed"
else
	fail "offline --json: problems listed" "$(show "$T/json.out") $(show "$OUT")"
fi

# Online, an unkeyed chain (checked here, no agent asked): both problems too.
$TRAIL unkeyed "$T/trail.log" "$T/unkeyed.log" 2>"$ERR" || die "unkeyed trail: $(show "$ERR")"
sed -e '3s/.*/{"seq":3,"time":"20/' -e '8s/"input_len":32/"input_len":1/' \
	"$T/unkeyed.log" >"$T/unkeyed-two.log"
: >"$T/fake.log"
check_rc "online: damaged line and a later edit: exit 1" 1 timeout -k 2 30 "$P11AGENT" \
	-S "$FAKE" audit-verify "$T/unkeyed-two.log"
sed 's/^/  /' "$ERR"
check_err "online: the damaged line is reported" '^p11agent: record 3 \(line 3\): damaged'
check_err "online: the edit after it is reported too" \
	'^p11agent: record 8 \(line 8\): changed: its MAC does not match its content'
check "online: the unkeyed trail itself is intact" timeout -k 2 30 "$P11AGENT" -S "$FAKE" \
	audit-verify "$T/unkeyed.log"

# Another key's public half confirms nothing.
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" 2>/dev/null
ossl pkey -in "$T/other.key" -pubout -out "$T/other.pem" 2>/dev/null
check_rc "offline: wrong public key: exit 1" 1 timeout -k 2 30 "$P11AGENT" \
	audit-verify --pubkey "$T/other.pem" "$T/trail.log"
check_err "offline: wrong public key: the signature is named" 'signature'

finish

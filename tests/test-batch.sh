#!/bin/sh
# test-batch.sh: SIGN_BATCH, many signatures in one request. Every algorithm
# signs a batch whose every signature OpenSSL verifies (or, for HMAC, equals a
# single sign); malformed batches get a clear error and the connection goes
# on; the library refuses what it cannot send; a batch is audited once.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

BATCH=$top_builddir/tests/batch-client
require_tools timeout
[ -x "$BATCH" ] || { echo "ERROR: $BATCH is not built"; exit 99; }
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_EC384" "$KEY_ED25519" "$KEY_HMAC" "$KEY_NOSIGN"
cat >"$T/agent.conf" <<CONF
audit-file = $T/audit.log
CONF
start_agent --config "$T/agent.conf" || finish

# batch MODE KEY ALG ARG: the test client on the test socket, bounded in time.
batch() {
	timeout -k 2 60 "$BATCH" "$1" "$SOCK" "$2" "$3" "$4"
}

# check_out NAME ERE: passes when the last command's stdout matches ERE.
check_out() {
	if grep -Eq -- "$2" "$OUT"; then
		pass "$1"
	else
		fail "$1" "stdout does not match /$2/: $(show "$OUT") stderr: $(show "$ERR")"
	fi
}

for spec in rsa2048:rsa-pkcs1-sha256 rsa2048:rsa-pss-sha384 ec256:ecdsa-sha256 \
	ec384:ecdsa-sha384 ed25519:ed25519 hmac:hmac-sha256 hmac:hmac-sha512; do
	key=${spec%%:*}
	alg=${spec#*:}
	check "$alg: a batch of 64 on $key" batch sign "$key" "$alg" 64
	check_out "$alg: all 64 verified" "^64 signatures verified$"
done
check "ecdsa-sha256: a batch of 1" batch sign ec256 ecdsa-sha256 1
check_out "ecdsa-sha256: 1 verified" "^1 signatures verified$"
check "ecdsa-sha256: a batch of 1024 (the most)" batch sign ec256 ecdsa-sha256 1024
check_out "ecdsa-sha256: 1024 verified" "^1024 signatures verified$"

# Malformed batches: one error reply each, and the connection serves on.
check "raw: 4 good digests" batch raw ec256 ecdsa-sha256 ok
check_out "raw: 4 good digests answered" "^OK: $"
for c in "zero:BAD_REQUEST: items: expected a count of 1 to 1024" \
	"over:BAD_REQUEST: items: expected a count of 1 to 1024" \
	"short:BAD_REQUEST: items: item 3 of 3 is truncated" \
	"trailing:BAD_REQUEST: items: trailing bytes after item 4" \
	"badlen:BAD_INPUT: item 3 of 4: data: expected a 32-byte SHA-256 digest, got 31 bytes"; do
	kase=${c%%:*}
	want=${c#*:}
	check "raw: $kase answered" batch raw ec256 ecdsa-sha256 "$kase"
	check_out "raw: $kase: $want" "^$want$"
	check_out "raw: $kase: the connection goes on" "^still serving$"
done
check "raw: a key without CKA_SIGN" batch raw nosign ecdsa-sha256 ok
check_out "raw: a key without CKA_SIGN: NOT_ALLOWED" "^NOT_ALLOWED: "
check "raw: no such key" batch raw nokey ecdsa-sha256 ok
check_out "raw: no such key: NO_SUCH_KEY" "^NO_SUCH_KEY: "
check "raw: wrong algorithm for the key" batch raw rsa2048 ecdsa-sha256 ok
check_out "raw: wrong algorithm: NOT_SUPPORTED" "^NOT_SUPPORTED: "

# The library's own refusals: nothing sent, no signature set.
check "local: 0 items refused" batch local ec256 ecdsa-sha256 zero
check_out "local: 0 items: INVALID_ARG" "^INVALID_ARG"
check "local: 1025 items refused" batch local ec256 ecdsa-sha256 over
check_out "local: 1025 items: INVALID_ARG" "^INVALID_ARG"
check "local: prehashed Ed25519 refused" batch local ed25519 ed25519 prehashed
check_out "local: prehashed Ed25519: INVALID_ARG" "^INVALID_ARG: ed25519 signs the message itself"
check "local: a batch larger than a frame refused" batch local hmac hmac-sha256 big
check_out "local: too large: TOO_LARGE with a message" "^TOO_LARGE: message of [0-9]+ bytes is larger"

# One audit record per batch, with the hash of the whole items field.
n=$(grep -c '"op":"sign-batch"' "$T/audit.log")
if [ "$n" -ge 10 ] && grep '"op":"sign-batch"' "$T/audit.log" | grep -q '"input_sha256"'; then
	pass "audit: one record per batch ($n), with the input hash"
else
	fail "audit: one record per batch" "$n sign-batch records: $(show "$T/audit.log")"
fi
check "audit-verify: the chain with batches is intact" p11a audit-verify "$T/audit.log"

stop_agent
if [ "$AGENT_RC" = 0 ]; then pass "agent stops cleanly"; else fail "agent stops" "exit $AGENT_RC"; fi
finish

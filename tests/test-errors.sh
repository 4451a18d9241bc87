#!/bin/sh
# test-errors.sh: each failure gets its exit code and its message, and the
# agent goes on serving after every one of them.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 timeout
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_ED25519" "$KEY_HMAC" "$KEY_AES" \
	"$KEY_DUP1" "$KEY_DUP2" "$KEY_NOSIGN"
start_agent || finish

MSG=$T/msg
printf 'a message\n' >"$MSG"

# alive NAME: the agent still answers after NAME.
alive() {
	if kill -0 "$AGENT_PID" 2>/dev/null && p11a ping >/dev/null 2>&1; then
		pass "agent alive after $1"
	else
		fail "agent alive after $1" "ping failed or p11agentd is gone"
	fi
}

# --- wrong algorithm for the key: exit 1 with a message --------------------
for pair in ec256:rsa-pkcs1-sha256 ec256:rsa-pss-sha256 ec256:ed25519 ec256:hmac-sha256 \
	rsa2048:ecdsa-sha256 rsa2048:ed25519 rsa2048:hmac-sha256 ed25519:ecdsa-sha256 \
	ed25519:rsa-pss-sha512 hmac:ecdsa-sha256 hmac:rsa-pkcs1-sha256 hmac:ed25519 \
	aes256:hmac-sha256; do
	key=${pair%%:*}
	alg=${pair#*:}
	if check_rc "wrong alg $alg on $key" 1 p11a sign "$key" --alg "$alg" -i "$MSG" -o "$T/sig"; then
		if [ -s "$ERR" ]; then
			pass "wrong alg $alg on $key: message"
		else
			fail "wrong alg $alg on $key: message" "stderr is empty"
		fi
	fi
done
alive "wrong algorithms"

# A key that may not sign, and a key that cannot (AES): found, but refused.
check_rc "sign with a CKA_SIGN=false key" 1 p11a sign nosign -i "$MSG" -o "$T/sig"
check_err "sign with a CKA_SIGN=false key: message" 'not allowed|not permitted|sign'
check_rc "sign with an AES key" 1 p11a sign aes256 -i "$MSG" -o "$T/sig"
check_rc "pubkey of an HMAC key" 1 p11a pubkey hmac
check_rc "pubkey of an AES key" 1 p11a pubkey aes256
check_rc "hmac with an EC key" 1 p11a hmac ec256 -i "$MSG" -o "$T/sig"
alive "refused operations"

# --- unknown KEY: exit 5 ------------------------------------------------------
check_rc "unknown label" 5 p11a sign no-such-key -i "$MSG" -o "$T/sig"
check_err "unknown label: message" 'no-such-key|no such key|not found|no key'
check_rc "unknown id" 5 p11a sign id:ffee -i "$MSG" -o "$T/sig"
check_rc "unknown URI" 5 p11a pubkey 'pkcs11:object=no-such-key'
check_rc "unknown key for pubkey" 5 p11a pubkey no-such-key
check_rc "unknown key for hmac" 5 p11a hmac no-such-key -i "$MSG"
check_rc "unknown key for verify" 5 p11a verify no-such-key --sig "$MSG" -i "$MSG"
alive "unknown keys"

# --- ambiguous KEY: exit 5, each candidate's URI on a line ---------------------
if check_rc "ambiguous label" 5 p11a sign dup -i "$MSG" -o "$T/sig"; then
	n=$(grep -c '^[[:space:]]*pkcs11:' "$ERR")
	if [ "$n" -eq 2 ]; then
		pass "ambiguous label: a line per candidate URI"
	else
		fail "ambiguous label: a line per candidate URI" "$n URI lines: $(show "$ERR")"
	fi
	check_err "ambiguous label: names id 30" 'id=%30'
	check_err "ambiguous label: names id 31" 'id=%31'
	# The URIs it lists work as KEY.
	for uri in $(grep -o 'pkcs11:[^[:space:]]*' "$ERR"); do
		check_rc "candidate URI works: $uri" 0 p11a sign "$uri" -i "$MSG" -o "$T/sig"
	done
fi
check_rc "ambiguous label for pubkey" 5 p11a pubkey dup
alive "ambiguous keys"

# --- usage errors: exit 2 -------------------------------------------------------
check_rc "unknown alg name" 2 p11a sign ec256 --alg ecdsa-sha1 -i "$MSG"
check_err "unknown alg name: message" 'ecdsa-sha1|alg'
check_rc "unknown alg name for hmac" 2 p11a hmac hmac --alg hmac-md5 -i "$MSG"
check_rc "no command" 2 p11a
check_rc "unknown command" 2 p11a frobnicate
check_rc "sign without KEY" 2 p11a sign
check_rc "unknown option" 2 p11a sign ec256 --bogus
check_rc "pubkey unknown format" 2 p11a pubkey ec256 --format xml
check_rc "verify without --sig" 2 p11a verify ec256 -i "$MSG"
check_rc "extra argument" 2 p11a ping extra
for cmd in ping list pubkey sign verify hmac; do
	check_rc "$cmd --help" 0 p11a "$cmd" --help
done
check_rc "--help" 0 p11a --help
check_rc "missing input file" 1 p11a sign ec256 -i "$T/does-not-exist" -o "$T/sig"
alive "usage errors"

# --- bad --prehashed input: refused, not crashed -------------------------------------
head -c 20 /dev/urandom >"$T/short-digest"
run p11a sign ec256 --alg ecdsa-sha256 --prehashed -i "$T/short-digest" -o "$T/sig"
case $RC in
1 | 2) pass "--prehashed digest of the wrong length (exit $RC)" ;;
*) fail "--prehashed digest of the wrong length" "exit $RC; stderr: $(show "$ERR")" ;;
esac
run p11a sign ed25519 --prehashed -i "$MSG" -o "$T/sig"
case $RC in
1 | 2) pass "--prehashed with Ed25519 (exit $RC)" ;;
*) fail "--prehashed with Ed25519" "exit $RC; stderr: $(show "$ERR")" ;;
esac
alive "bad --prehashed"

# --- oversized messages: exit 1, "too large" --------------------------------------
head -c 1048577 /dev/zero >"$T/big"
check_rc "oversized Ed25519 message" 1 p11a sign ed25519 -i "$T/big" -o "$T/sig"
check_err "oversized Ed25519 message: message" 'too large'
check_rc "oversized HMAC message" 1 p11a hmac hmac -i "$T/big" -o "$T/sig"
check_err "oversized HMAC message: message" 'too large'
check_rc "oversized HMAC verify" 1 p11a verify hmac --sig "$MSG" -i "$T/big"
check_err "oversized HMAC verify: message" 'too large'
# From stdin, too.
if timeout 30 "$P11AGENT" -S "$SOCK" sign ed25519 <"$T/big" >"$T/sig" 2>"$ERR"; then
	fail "oversized Ed25519 message on stdin" "exit 0"
else
	RC=$?
	if [ "$RC" -eq 1 ]; then pass "oversized Ed25519 message on stdin"; else
		fail "oversized Ed25519 message on stdin" "exit $RC; stderr: $(show "$ERR")"; fi
fi
alive "oversized messages"

# --- HMAC verify with a wrong MAC: exit 1 ----------------------------------------------
"$OPENSSL" dgst -sha256 -mac HMAC -macopt "hexkey:$HMAC_HEX" -binary "$MSG" >"$T/mac"
check_rc "hmac verify right MAC" 0 p11a verify hmac --sig "$T/mac" -i "$MSG"
head -c 32 /dev/zero >"$T/mac.bad"
check_rc "hmac verify wrong MAC" 1 p11a verify hmac --sig "$T/mac.bad" -i "$MSG"
head -c 16 "$T/mac" >"$T/mac.short"
check_rc "hmac verify truncated MAC" 1 p11a verify hmac --sig "$T/mac.short" -i "$MSG"
: >"$T/mac.empty"
run p11a verify hmac --sig "$T/mac.empty" -i "$MSG"
case $RC in
1 | 2) pass "hmac verify empty MAC (exit $RC)" ;;
*) fail "hmac verify empty MAC" "exit $RC; stderr: $(show "$ERR")" ;;
esac
check_rc "hmac verify MAC of another message" 1 \
	p11a verify hmac --sig "$T/mac" -i "$T/mac.bad"
alive "wrong MACs"

# --- signature verification failures: exit 1 -------------------------------------
p11a sign ec256 -i "$MSG" -o "$T/sig.ec" 2>/dev/null
check_rc "verify signature of another message" 1 p11a verify ec256 --sig "$T/sig.ec" -i "$T/mac"
check_rc "verify garbage signature" 1 p11a verify ec256 --sig "$T/mac.bad" -i "$MSG"
check_rc "verify with the wrong key" 1 p11a verify id:30 --sig "$T/sig.ec" -i "$MSG"

# --- --json errors -------------------------------------------------------------
run p11a --json sign no-such-key -i "$MSG"
if [ "$RC" -eq 5 ]; then
	if python3 -m json.tool "$ERR" >/dev/null 2>&1 || python3 -m json.tool "$OUT" >/dev/null 2>&1; then
		pass "--json error is JSON"
	else
		fail "--json error is JSON" "stdout: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
else
	fail "--json error exit code" "exit $RC, expected 5"
fi

# --- agent not running: exit 3 ------------------------------------------------------
check_rc "agent not running" 3 timeout 30 "$P11AGENT" -S "$T/nowhere.sock" ping
check_err "agent not running: message" 'no agent listens there; start p11agentd'
check_err "agent not running: names the socket" "$T/nowhere.sock"
check_rc "agent not running (sign)" 3 timeout 30 "$P11AGENT" -S "$T/nowhere.sock" sign ec256 -i "$MSG"
check_rc "P11AGENT_SOCK to nowhere" 3 \
	env P11AGENT_SOCK="$T/nowhere.sock" timeout 30 "$P11AGENT" ping
check_err "P11AGENT_SOCK to nowhere: message" 'P11AGENT_SOCK'
check_rc "P11AGENT_SOCK to the agent" 0 env P11AGENT_SOCK="$SOCK" timeout 30 "$P11AGENT" ping
check_rc "-S wins over P11AGENT_SOCK" 0 \
	env P11AGENT_SOCK="$T/nowhere.sock" timeout 30 "$P11AGENT" -S "$SOCK" ping
# A regular file, not a socket.
: >"$T/not-a-socket"
check_rc "socket path is a regular file" 3 timeout 30 "$P11AGENT" -S "$T/not-a-socket" ping

alive "the whole run"
stop_agent
check_rc "after the agent stopped" 3 p11a ping
finish

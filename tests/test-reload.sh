#!/bin/sh
# test-reload.sh: the agent reads its config and indexes its token again
# without a restart, on p11agent reload and on SIGHUP. A policy change in a
# [key] section (allow-ops, a new name) takes effect; a config with an error
# is refused whole, naming file:line, and the policy in force stays; a key
# another PKCS#11 tool (PyKCS11, tests/p11attrs.py) makes in the token is
# served after a reload, and one it destroys is gone after a reload.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/lifecycle-lib.sh"

require_tools od cmp timeout
make_token "$KEY_EC256" "$KEY_ED25519"
umask 077
MSG=$T/msg
printf 'p11agent reload test\n' >"$MSG"

# conf_ops OPS [NAME]: the config with one [key NAME] (signer) for ec256, allow-ops = OPS.
conf_ops() {
	write_conf "[key ${2:-signer}]
uri = pkcs11:object=ec256;type=private
allow-ops = $1"
}

# signs KEY: 0 when the agent signs with KEY now; RC holds the exit code.
signs() {
	run p11a sign "$1" -i "$MSG" -o "$T/s.sig"
	[ "$RC" -eq 0 ]
}

# until_rc NAME CODE CMD...: CMD exits CODE within 5 s (after a SIGHUP).
until_rc() {
	local name=$1 code=$2 _
	shift 2
	for _ in $(seq 50); do
		run "$@"
		if [ "$RC" -eq "$code" ]; then
			pass "$name"
			return 0
		fi
		sleep 0.1
	done
	fail "$name" "exit $RC, expected $code within 5 s; stderr: $(show "$ERR")"
	return 1
}

conf_ops sign
start_lc_agent || finish
p11a pubkey signer >"$T/ec256.pem" 2>/dev/null
if signs signer && verify_sig ec256 "$T/ec256.pem" "$T/s.sig" "$MSG"; then
	pass "allow-ops = sign: signer signs"
else
	fail "allow-ops = sign: signer signs" "exit $RC: $(show "$ERR")"
fi

# --- p11agent reload --------------------------------------------------------------------
conf_ops derive
check_rc "config changed, no reload yet: signer still signs" 0 p11a sign signer -i "$MSG"
if check_rc "p11agent reload" 0 p11a reload; then
	if [ -s "$OUT" ]; then
		pass "reload: says what it did"
	else
		fail "reload: says what it did" "nothing on stdout"
	fi
fi
check_rc "after reload, allow-ops = derive: sign DENIED" 4 p11a sign signer -i "$MSG"
check_err "after reload: names the rule" 'allow-ops'
conf_ops sign
reload_ok "allow-ops = sign again"
check_rc "after reload, allow-ops = sign: signer signs" 0 p11a sign signer -i "$MSG"
if check_rc "reload --json" 0 p11a --json reload; then
	if [ "$(json_get "$OUT" "")" != invalid ]; then
		pass "reload --json: valid JSON"
	else
		fail "reload --json: valid JSON" "$(show "$OUT")"
	fi
fi

# A new name for the key.
conf_ops sign renamed
reload_ok "[key renamed]"
check_rc "after reload: sign renamed" 0 p11a sign renamed -i "$MSG"
check_rc "after reload: the old name signer is gone (exit 5)" 5 p11a sign signer -i "$MSG"

# --- SIGHUP -------------------------------------------------------------------------------
conf_ops derive renamed
kill -HUP "$AGENT_PID"
until_rc "SIGHUP, allow-ops = derive: sign DENIED" 4 p11a sign renamed -i "$MSG"
conf_ops sign renamed
kill -HUP "$AGENT_PID"
until_rc "SIGHUP, allow-ops = sign: signs again" 0 p11a sign renamed -i "$MSG"
agent_alive "SIGHUP: the agent still runs"

# --- a config with an error: refused whole, the old policy stays ---------------------------
write_conf "[key renamed]
uri = pkcs11:object=ec256;type=private
allow-ops = derive
this line is no setting
[key other]
uri = pkcs11:object=ed25519;type=private"
bad_line=$(grep -n '^this line is no setting$' "$LC_CONF" | cut -d: -f1)
check_rc "reload of a broken config: exit 1" 1 p11a reload
check_err "reload of a broken config: names file:line" "agent\\.conf:$bad_line([^0-9]|$)"
if [ -s "$OUT" ]; then
	fail "reload of a broken config: nothing on stdout" "$(show "$OUT")"
else
	pass "reload of a broken config: nothing on stdout"
fi
check_rc "broken config refused: the old policy (allow-ops = sign) stays" 0 \
	p11a sign renamed -i "$MSG"
check_rc "broken config refused: its new name 'other' is not there (exit 5)" 5 \
	p11a sign other -i "$MSG"
# A bad value names its line too.
write_conf "[key renamed]
uri = pkcs11:object=ec256;type=private
allow-ops = sign, fly"
bad_line=$(grep -n 'fly' "$LC_CONF" | cut -d: -f1)
check_rc "reload of a bad allow-ops: exit 1" 1 p11a reload
check_err "reload of a bad allow-ops: names file:line" "agent\\.conf:$bad_line([^0-9]|$)"
# A section that names no key in the token.
write_conf "[key renamed]
uri = pkcs11:object=ec256;type=private
allow-ops = derive

[key ghost]
uri = pkcs11:object=no-such-key"
ghost_line=$(grep -n '^\[key ghost\]' "$LC_CONF" | cut -d: -f1)
check_rc "reload of a config naming no key: refused as a config error (exit 1)" 1 p11a reload
check_err "reload of a config naming no key: names file:line and the section" \
	"agent\\.conf:$ghost_line: key ghost: no key matches"
check_rc "still the old policy: renamed signs" 0 p11a sign renamed -i "$MSG"
# SIGHUP with a broken config: the agent stays, with its policy.
write_conf "[key renamed]
allow-ops = derive
uri = pkcs11:object=ec256;type=private
allow-ops = derive"
kill -HUP "$AGENT_PID"
sleep 1
agent_alive "SIGHUP with a broken config: the agent still runs"
check_rc "SIGHUP with a broken config: the old policy stays" 0 p11a sign renamed -i "$MSG"
if grep -Eqi 'reload.*(rejected|refused)|config in force stays' "$T/agent.log"; then
	pass "SIGHUP with a broken config: the log says it was refused"
else
	fail "SIGHUP with a broken config: the log says it was refused" "$(tail -n 5 "$T/agent.log" | tr '\n' ' ')"
fi
conf_ops sign renamed
reload_ok "a good config again"

# --- keys another tool makes and destroys -------------------------------------------------------
if p11attrs keygen-ec extkey 7e7e7e01 2>"$T/pyk.err"; then
	pass "PyKCS11 makes the key extkey in the token"
else
	fail "PyKCS11 makes the key extkey in the token" "$(show "$T/pyk.err")"
fi
run p11a list
if grep -q 'extkey' "$OUT"; then
	echo "  (list shows extkey before a reload: the agent indexed it on its own)"
fi
reload_ok "after another tool made a key"
if check_rc "list after reload" 0 p11a list; then
	if grep -q 'object=extkey' "$OUT"; then
		pass "list after reload: shows extkey"
	else
		fail "list after reload: shows extkey" "$(show "$OUT")"
	fi
fi
if pubkey_to extkey "$T/extkey.pem" &&
	check_rc "sign with extkey" 0 p11a sign extkey -i "$MSG" -o "$T/ext.sig"; then
	if verify_sig ec256 "$T/extkey.pem" "$T/ext.sig" "$MSG"; then
		pass "extkey's signature verifies"
	else
		fail "extkey's signature verifies" "OpenSSL says no"
	fi
fi
# The same by SIGHUP.
p11attrs keygen-ec extkey2 7e7e7e02 2>"$T/pyk.err" || fail "PyKCS11 makes extkey2" "$(show "$T/pyk.err")"
kill -HUP "$AGENT_PID"
until_rc "SIGHUP after another tool made a key: it signs" 0 p11a sign extkey2 -i "$MSG"

n=$(p11attrs destroy extkey 2>"$T/pyk.err")
expect "PyKCS11 destroys extkey (its two objects)" "$n" 2
reload_ok "after another tool destroyed a key"
if check_rc "list after reload" 0 p11a list; then
	if grep -q 'object=extkey[;[:space:]]' "$OUT" || grep -q 'object=extkey$' "$OUT"; then
		fail "list after reload: extkey is gone" "$(show "$OUT")"
	else
		pass "list after reload: extkey is gone"
	fi
fi
check_rc "sign with extkey after it is gone: exit 5" 5 p11a sign extkey -i "$MSG"
check_rc "extkey2 still signs" 0 p11a sign extkey2 -i "$MSG"

# The trail has the reloads.
n=$(audit_count reload OK "$(id -u)")
if [ "$n" -ge 5 ]; then
	pass "audit trail: the reloads ($n)"
else
	fail "audit trail: the reloads" "$n records of op reload, status OK"
fi
n=$(audit_count reload BAD_INPUT "$(id -u)")
if [ "$n" -ge 2 ]; then
	pass "audit trail: the refused reloads ($n)"
else
	fail "audit trail: the refused reloads" "$n records of op reload, status BAD_INPUT"
fi

no_pin_in "no PIN in the agent's log, the trail or the outputs" "$T/agent.log" "$LC_AUDIT" "$OUT" "$ERR"
# A config file others may change is refused as a config error (exit 1),
# not reported as an unsafe socket (exit 3).
chmod 0666 "$LC_CONF"
check_rc "reload of a config file others may write: exit 1" 1 p11a reload
check_err "reload of a config file others may write: names the config file" 'config file'
chmod 0600 "$LC_CONF"
check_rc "reload once the config file is safe again" 0 p11a reload

agent_alive "agent still serving"
finish

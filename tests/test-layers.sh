#!/bin/sh
# test-layers.sh: the agent's fronts (agent/front-*.c) decode and encode
# their wire formats only: the work every request does (finding the key, the
# policy, the token, the audit trail) is the operations layer's
# (agent/ops.c). A front that calls policy_*, audit_*, ratelimit_* or a
# token_* function (but token_key_name, a key's name for messages) fails.
# Nothing in agent/ includes a CLI header.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

FRONTS=$(ls "$top_srcdir"/agent/front-*.c 2>/dev/null)
if [ -z "$FRONTS" ]; then
	fail "fronts found" "no agent/front-*.c under $top_srcdir"
	finish
fi
for f in $FRONTS; do
	name=${f##*/}
	# Calls: an identifier of those layers followed by '(' (comments skipped).
	grep -nE '\b(policy|audit|ratelimit|token)_[a-z_]+\(' "$f" |
		grep -vE '^[0-9]+:\s*(/?\*|//)' | grep -v 'token_key_name(' >"$T/calls" || true
	if [ -s "$T/calls" ]; then
		fail "$name calls no policy, audit or token function" "$(show "$T/calls")"
	else
		pass "$name calls no policy, audit or token function"
	fi
done
# The operations layer is where the policy and the token's operations are called.
for fn in policy_check token_sign token_decrypt token_unwrap token_derive token_verify_hmac; do
	users=$(grep -lE "\\b$fn\\(" "$top_srcdir"/agent/*.c | grep -vE '/(ops|policy|token[a-z-]*|audit[a-z-]*)\.c$' |
		tr '\n' ' ')
	if [ -z "$users" ]; then
		pass "$fn is called from the operations layer only"
	else
		fail "$fn is called from the operations layer only" "also from: $users"
	fi
done
if grep -lE '#include "(\.\./)?cli/' "$top_srcdir"/agent/*.[ch] >"$T/cli" 2>/dev/null; then
	fail "agent/ includes no CLI header" "$(show "$T/cli")"
else
	pass "agent/ includes no CLI header"
fi
finish

#!/bin/sh
# test-pin-sources.sh: the PIN sources a service manager hands over:
# credential:NAME (the file NAME of $CREDENTIALS_DIRECTORY, as systemd's
# LoadCredential= fills it) and fd:N (an inherited descriptor, read once and
# closed). The agent logs in with each and signs; the PIN is in neither its
# environment, its argv, its open descriptors nor its log; a missing
# credentials directory or descriptor stops it with a message that says so.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools timeout
make_token "$KEY_EC256"
MSG=$T/msg
printf 'signed with a PIN from a service manager\n' >"$MSG"
PIN=$(tr -d '\n' <"$PIN_FILE")

# pin_nowhere NAME: the running agent's environment, argv, descriptors and
# log hold no PIN.
pin_nowhere() {
	local name=$1 fd
	if tr '\0' '\n' <"/proc/$AGENT_PID/environ" | grep -qF -- "$PIN"; then
		fail "$name: not in the agent's environment" "it is"
	else
		pass "$name: not in the agent's environment"
	fi
	if tr '\0' ' ' <"/proc/$AGENT_PID/cmdline" | grep -qF -- "$PIN"; then
		fail "$name: not in the agent's argv" "it is"
	else
		pass "$name: not in the agent's argv"
	fi
	for fd in "/proc/$AGENT_PID/fd/"*; do
		if [ "$(readlink "$fd")" = "$(readlink -f "$PIN_FILE")" ] ||
			[ "$(readlink "$fd")" = "$(readlink -f "$T/creds/token-pin")" ]; then
			fail "$name: no descriptor of the agent on the PIN's file" "$fd"
			return
		fi
	done
	pass "$name: no descriptor of the agent on the PIN's file"
	if grep -qF -- "$PIN" "$T/agent.log"; then
		fail "$name: not in the agent's log" "it is"
	else
		pass "$name: not in the agent's log"
	fi
}

# signs NAME: the agent logged in: a signature verifies.
signs() {
	check "$1: pubkey" p11a pubkey ec256
	cp "$OUT" "$T/ec256.pem"
	check "$1: sign" p11a sign ec256 -i "$MSG" -o "$T/sig"
	check "$1: openssl verifies the signature" ossl dgst -sha256 -verify "$T/ec256.pem" \
		-signature "$T/sig" "$MSG"
}

# --- credential:NAME ------------------------------------------------------------------------
mkdir -m 0700 "$T/creds"
cp "$PIN_FILE" "$T/creds/token-pin"
chmod 0400 "$T/creds/token-pin"
export CREDENTIALS_DIRECTORY=$T/creds
if start_agent --pin-source credential:token-pin; then
	pass "credential:token-pin: the agent starts"
	signs "credential:token-pin"
	pin_nowhere "credential:token-pin"
	stop_agent
fi
unset CREDENTIALS_DIRECTORY

# --- fd:N -----------------------------------------------------------------------------------
if start_agent --pin-source fd:3 3<"$PIN_FILE"; then
	pass "fd:3: the agent starts"
	signs "fd:3"
	# Closed once read: the number may since hold a socket, never the PIN's file.
	if [ "$(readlink "/proc/$AGENT_PID/fd/3" 2>/dev/null)" = "$(readlink -f "$PIN_FILE")" ]; then
		fail "fd:3: closed once read" "descriptor 3 is still the PIN's file"
	else
		pass "fd:3: closed once read"
	fi
	pin_nowhere "fd:3"
	stop_agent
fi
# Through a pipe, as a parent process hands it over.
if start_agent --pin-source fd:3 3< <(cat "$PIN_FILE"); then
	pass "fd:3 on a pipe: the agent starts"
	signs "fd:3 on a pipe"
	stop_agent
fi

# --- refused, with a message, the PIN never shown -------------------------------------------
# start_refused NAME ERE ARGS...: p11agentd exits non-zero, its message matches ERE.
start_refused() {
	local name=$1 want=$2
	shift 2
	timeout -k 2 30 "$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" \
		--token "pkcs11:token=$TOKEN" --socket "$T/refused.sock" "$@" </dev/null \
		>"$OUT" 2>"$ERR"
	RC=$?
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && grep -Eq -- "$want" "$ERR"; then
		pass "$name: refused (exit $RC)"
	else
		fail "$name: refused" "exit $RC; stderr: $(show "$ERR")"
	fi
	if grep -qF -- "$PIN" "$OUT" "$ERR"; then
		fail "$name: the PIN is not shown" "it is"
	fi
}
start_refused "credential: without CREDENTIALS_DIRECTORY" 'CREDENTIALS_DIRECTORY is not set.*LoadCredential=' \
	--pin-source credential:token-pin
CREDENTIALS_DIRECTORY=$T/creds start_refused "credential: a name with a slash" 'must be a file name' \
	--pin-source credential:../creds/token-pin
start_refused "fd:9 not open" 'PIN source fd:9: no such open descriptor' --pin-source fd:9
start_refused "fd:N with the PIN in N's place" 'N must be a descriptor number' --pin-source "fd:$PIN"

finish

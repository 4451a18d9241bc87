#!/bin/sh
# test-faults.sh: the agent on tests/faultmod.c, which wraps SoftHSM2 and
# fails PKCS#11 calls on command. Each fault class is injected and survived:
# a transient device error, a lost session, a lost login, a token removed
# and back, a key changed while the token was away; a SIGHUP during a slow
# keygen neither blocks new clients nor gets lost; a wrong PIN stops the
# agent after one C_Login, at the start and at a new login.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools od timeout date
FAULTMOD=$top_builddir/tests/.libs/libfaultmod.so
[ -f "$FAULTMOD" ] || {
	echo "ERROR: $FAULTMOD is not built"
	exit 99
}
make_token "$KEY_EC256" "$KEY_RSA2048" "$KEY_EC384"

CONTROL=$T/faults
CALLS=$T/calls
FAULTMOD_MODULE=$SOFTHSM_MODULE
FAULTMOD_CONTROL=$CONTROL
FAULTMOD_LOG=$CALLS
export FAULTMOD_MODULE FAULTMOD_CONTROL FAULTMOD_LOG
LOG=$T/agent.log
MSG=$T/msg
printf 'p11agent fault test message\n' >"$MSG"

# inject RULE...: replaces the control file (a new file: the module sees the change).
inject() {
	printf '%s\n' "$@" >"$CONTROL.new" && mv -f "$CONTROL.new" "$CONTROL"
}

# start_fault_agent: start_agent with the fault module in SoftHSM's place.
start_fault_agent() {
	"$P11AGENTD" --foreground --module "$FAULTMOD" --token "pkcs11:token=$TOKEN" \
		--pin-source "file:$PIN_FILE" --socket "$SOCK" --log-level debug \
		</dev/null >>"$LOG" 2>&1 &
	AGENT_PID=$!
	AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
	wait_socket "$SOCK" "$AGENT_PID"
}

# logins: how many times C_Login reached the module so far.
logins() {
	grep -c '^C_Login$' "$CALLS" 2>/dev/null || true
}

# log_mark / log_since_mark ERE: the agent's log lines since the mark, matched.
log_mark() {
	LOG_MARK=$(wc -l <"$LOG")
}
log_says() {
	if tail -n +"$((LOG_MARK + 1))" "$LOG" | grep -Eq -- "$2"; then
		pass "$1"
	else
		fail "$1" "the agent's log does not say /$2/: $(tail -n +"$((LOG_MARK + 1))" "$LOG" |
			tail -n 8 | tr '\n' ' ')"
	fi
}

# sign_ok NAME [KEY]: signs through the agent; OpenSSL verifies the signature.
sign_ok() {
	local key=${2:-ec256}
	if check_rc "$1: sign" 0 p11a sign "$key" -i "$MSG" -o "$T/sig"; then
		if ossl dgst -sha256 -verify "$T/$key.pem" -signature "$T/sig" "$MSG" \
			>"$T/ossl.out" 2>&1 && grep -q Verified "$T/ossl.out"; then
			pass "$1: OpenSSL verifies"
		else
			fail "$1: OpenSSL verifies" "$(show "$T/ossl.out")"
		fi
	fi
}

# ms: milliseconds since the epoch.
ms() {
	echo $(($(date +%s%N) / 1000000))
}

inject "# no faults"
start_fault_agent || die "no agent answers on the fault module: $(show "$LOG")" "start agent"
pass "the agent runs on the fault module"
for k in ec256 ec384; do
	p11a pubkey "$k" >"$T/$k.pem" 2>"$ERR" || die "pubkey $k: $(show "$ERR")" "pubkey"
done
sign_ok "no fault"

# --- retry once -------------------------------------------------------------------------------
log_mark
inject "C_Sign CKR_DEVICE_ERROR 1"
sign_ok "transient CKR_DEVICE_ERROR"
log_says "transient CKR_DEVICE_ERROR: logged and retried" \
	"C_Sign failed: CKR_DEVICE_ERROR: trying the request again once"

log_mark
inject "C_SignInit CKR_DEVICE_MEMORY 1"
sign_ok "transient CKR_DEVICE_MEMORY"
log_says "transient CKR_DEVICE_MEMORY: logged and retried" "CKR_DEVICE_MEMORY: trying the request again"

# --- a new session ----------------------------------------------------------------------------
log_mark
inject "C_Sign CKR_SESSION_HANDLE_INVALID 1"
sign_ok "CKR_SESSION_HANDLE_INVALID"
log_says "CKR_SESSION_HANDLE_INVALID: a new session" "the session is gone: trying again on a new session"

log_mark
inject "C_SignInit CKR_SESSION_CLOSED 1"
sign_ok "CKR_SESSION_CLOSED"
log_says "CKR_SESSION_CLOSED: a new session" "CKR_SESSION_CLOSED: the session is gone"

# --- log in again -----------------------------------------------------------------------------
log_mark
before=$(logins)
inject "loggedout"
sign_ok "CKR_USER_NOT_LOGGED_IN"
log_says "CKR_USER_NOT_LOGGED_IN: logs in again" "the login is lost: logging in again"
log_says "CKR_USER_NOT_LOGGED_IN: logged in" "token: logged in again"
log_says "CKR_USER_NOT_LOGGED_IN: key handles again" "indexed the keys again: 3 keys unchanged"
after=$(logins)
if [ "$((after - before))" -eq 1 ]; then
	pass "CKR_USER_NOT_LOGGED_IN: one C_Login"
else
	fail "CKR_USER_NOT_LOGGED_IN: one C_Login" "$((after - before)) calls of C_Login"
fi

# --- re-initialise ----------------------------------------------------------------------------
log_mark
inject "C_Sign CKR_DEVICE_ERROR 2"
sign_ok "repeated CKR_DEVICE_ERROR"
log_says "repeated CKR_DEVICE_ERROR: re-initialised" "re-initialised: found the token again"

log_mark
inject "C_Sign CKR_SESSION_HANDLE_INVALID 2"
sign_ok "CKR_SESSION_HANDLE_INVALID on every session"
log_says "CKR_SESSION_HANDLE_INVALID on every session: re-initialised" \
	"re-initialising the module.*|re-initialised: found the token again"

log_mark
inject "C_SignInit CKR_DEVICE_REMOVED 1"
sign_ok "CKR_DEVICE_REMOVED, token back at once"
log_says "CKR_DEVICE_REMOVED: re-initialised" "re-initialised: found the token again and logged in"
log_says "CKR_DEVICE_REMOVED: keys unchanged" "indexed the keys again: 3 keys unchanged"

log_mark
inject "C_Sign CKR_CRYPTOKI_NOT_INITIALIZED 1"
sign_ok "CKR_CRYPTOKI_NOT_INITIALIZED"
log_says "CKR_CRYPTOKI_NOT_INITIALIZED: re-initialised" "re-initialised: found the token again"

# Key transport goes through the same recovery.
log_mark
inject "C_DeriveKey CKR_SESSION_HANDLE_INVALID 1"
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/peer.key" 2>/dev/null
ossl pkey -in "$T/peer.key" -pubout -out "$T/peer.pem" 2>/dev/null
ossl pkeyutl -derive -inkey "$T/peer.key" -peerkey "$T/ec256.pem" -out "$T/z.expected" 2>/dev/null
if check_rc "derive after CKR_SESSION_HANDLE_INVALID" 0 \
	p11a derive ec256 --peer "$T/peer.pem" -o "$T/z"; then
	same_bytes "derive after CKR_SESSION_HANDLE_INVALID: OpenSSL's secret" "$T/z" "$T/z.expected"
fi
log_says "derive: a new session" "C_DeriveKey failed: CKR_SESSION_HANDLE_INVALID: the session is gone"

log_mark
p11a pubkey rsa2048 >"$T/rsa.pem" 2>/dev/null
printf 'session key 0123456789abcdef' >"$T/pt"
ossl pkeyutl -encrypt -pubin -inkey "$T/rsa.pem" -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$T/pt" -out "$T/ct"
inject "C_Decrypt CKR_DEVICE_ERROR 1"
if check_rc "decrypt after CKR_DEVICE_ERROR" 0 p11a decrypt rsa2048 -i "$T/ct" -o "$T/pt.out"; then
	same_bytes "decrypt after CKR_DEVICE_ERROR: the plaintext" "$T/pt.out" "$T/pt"
fi
log_says "decrypt: retried" "CKR_DEVICE_ERROR.*trying the request again once"

# --- not recoverable: an error that does not go away ------------------------------------------
inject "C_Sign CKR_DEVICE_ERROR *"
check_refused "CKR_DEVICE_ERROR on every call" 1 "CKR_DEVICE_ERROR" \
	p11a sign ec256 -i "$MSG" -o "$T/sig"
inject "# no faults"
sign_ok "after the persistent error"

# --- the token removed, and back --------------------------------------------------------------
log_mark
inject "removed"
t0=$(ms)
check_rc "removed: sign fails with TOKEN_UNAVAILABLE" 6 p11a sign ec256 -i "$MSG" -o "$T/sig"
check_err "removed: the message says so" "unavailable"
t1=$(ms)
check_rc "removed: again, fast" 6 p11a sign ec256 -i "$MSG" -o "$T/sig"
t2=$(ms)
if [ "$((t1 - t0))" -lt 1000 ] && [ "$((t2 - t1))" -lt 1000 ]; then
	pass "removed: requests fail fast ($((t1 - t0)) ms, $((t2 - t1)) ms)"
else
	fail "removed: requests fail fast" "$((t1 - t0)) ms, then $((t2 - t1)) ms"
fi
agent_alive "removed: the agent answers ping"
check "removed: list still answers" p11a list
log_says "removed: logged" "token: unavailable: .*keeps looking for it"
sleep 1.2
log_says "removed: the agent keeps trying" "still unavailable \(try [0-9]+"

log_mark
inject "# no faults"
t0=$(ms)
back=
for _ in $(seq 100); do
	if p11a sign ec256 -i "$MSG" -o "$T/sig" >/dev/null 2>&1; then
		back=1
		break
	fi
	sleep 0.1
done
if [ -n "$back" ]; then
	pass "the token back: the agent serves again after $(($(ms) - t0)) ms"
else
	fail "the token back" "no successful sign within 10 s"
fi
sign_ok "the token back"
log_says "the token back: logged" "the token is back"

# --- a key changed while the token was away ---------------------------------------------------
if command -v pkcs11-tool >/dev/null 2>&1; then
	log_mark
	inject "removed"
	check_rc "key change: token away" 6 p11a sign ec384 -i "$MSG" -o "$T/sig"
	# Another ec384 (same label and id, a new key pair) and a new key, made behind the agent.
	for type in privkey pubkey; do
		timeout 30 pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$TOKEN" --login \
			--pin "$(cat "$PIN_FILE")" --delete-object --type "$type" --label ec384 \
			>>"$T/p11tool.log" 2>&1
	done
	if timeout 60 "$MKTOKEN" --module "$SOFTHSM_MODULE" --token "$TOKEN" \
		--pin-file "$PIN_FILE" "$KEY_EC384" ec:P-256:newkey:77 >>"$T/p11tool.log" 2>&1; then
		inject "# no faults"
		for _ in $(seq 100); do
			p11a sign ec256 -i "$MSG" -o "$T/sig" >/dev/null 2>&1 && break
			sleep 0.1
		done
		sign_ok "key change: an unchanged key still signs"
		check_refused "key change: the changed key is refused" 1 "changed or went away" \
			p11a sign ec384 -i "$MSG" -o "$T/sig"
		log_says "key change: logged loudly" "key 'ec384' has another public key"
		log_says "key change: the new key is logged" "has not indexed.*newkey"
	else
		fail "key change" "cannot remake the key: $(show "$T/p11tool.log")"
		inject "# no faults"
	fi
else
	skip "key change" "pkcs11-tool is not installed"
fi

# --- SIGHUP while a slow keygen holds the change lock ------------------------------------------
# The reload waits for the key change, but the thread that accepts
# connections does not: a new client is served at once, and the reload runs
# when the keygen is done.
inject "slow C_GenerateKeyPair 3000"
p11a keygen slowkey --type ec:P-256 >"$T/slowkey.out" 2>&1 &
KEYGEN=$!
sleep 0.5
log_mark
kill -HUP "$AGENT_PID"
t0=$(ms)
check "a new client during a slow keygen and a SIGHUP: ping" p11a ping
t=$(($(ms) - t0))
if [ "$t" -lt 1500 ]; then
	pass "a new client during a slow keygen and a SIGHUP: served at once (${t} ms)"
else
	fail "a new client during a slow keygen and a SIGHUP: served at once" "${t} ms"
fi
if kill -0 "$KEYGEN" 2>/dev/null; then
	pass "the keygen was still running then"
else
	fail "the keygen was still running then" "it ended: $(show "$T/slowkey.out")"
fi
wait "$KEYGEN"
rc=$?
if [ "$rc" -eq 0 ]; then
	pass "the slow keygen: exit 0"
else
	fail "the slow keygen: exit 0" "exit $rc: $(show "$T/slowkey.out")"
fi
inject "# no faults"
log_says "SIGHUP during a key change: the reload waits for it" "the reload follows it"
log_says "SIGHUP during a key change: the reload ran after it" "reload: the token indexed again"
check "the key the slow keygen made is served" p11a pubkey slowkey

# --- a wrong PIN at a new login: the agent stops after one C_Login ----------------------------
log_mark
before=$(logins)
inject "loggedout" "C_Login CKR_PIN_INCORRECT 1"
run p11a sign ec256 -i "$MSG" -o "$T/sig"
for _ in $(seq 100); do
	kill -0 "$AGENT_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$AGENT_PID" 2>/dev/null; then
	fail "wrong PIN at a new login: the agent stops" "it still runs"
	stop_agent
else
	wait "$AGENT_PID"
	rc=$?
	AGENT_PID=
	if [ "$rc" -eq 1 ]; then
		pass "wrong PIN at a new login: the agent stops with exit 1"
	else
		fail "wrong PIN at a new login: the agent stops with exit 1" "exit $rc"
	fi
fi
if [ "$(($(logins) - before))" -eq 1 ]; then
	pass "wrong PIN at a new login: one C_Login"
else
	fail "wrong PIN at a new login: one C_Login" "$(($(logins) - before)) calls"
fi
log_says "wrong PIN at a new login: the log names the pin source" \
	"CKR_PIN_INCORRECT: the PIN from file:$PIN_FILE is wrong.*stopping the agent"

# --- a wrong PIN at the start -----------------------------------------------------------------
log_mark
inject "C_Login CKR_PIN_INCORRECT 1"
: >"$CALLS"
"$P11AGENTD" --foreground --module "$FAULTMOD" --token "pkcs11:token=$TOKEN" \
	--pin-source "file:$PIN_FILE" --socket "$SOCK" --log-level debug \
	</dev/null >>"$LOG" 2>&1 &
pid=$!
AGENT_PIDS="$AGENT_PIDS $pid"
for _ in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	fail "wrong PIN at the start: the agent stops" "it still runs"
	kill -TERM "$pid"
else
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 1 ]; then
		pass "wrong PIN at the start: exit 1"
	else
		fail "wrong PIN at the start: exit 1" "exit $rc"
	fi
fi
if [ "$(logins)" -eq 1 ]; then
	pass "wrong PIN at the start: one C_Login"
else
	fail "wrong PIN at the start: one C_Login" "$(logins) calls"
fi
log_says "wrong PIN at the start: the log names the pin source" \
	"CKR_PIN_INCORRECT: the PIN from file:$PIN_FILE is wrong"

finish

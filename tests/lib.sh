# tests/lib.sh: shared helpers of the integration tests, sourced by
# tests/test-*.sh (under bash). Each test script gets its own temporary folder
# ($T) with its own SoftHSM2 token and SOFTHSM2_CONF, and its own agent socket;
# everything is removed at exit (set KEEP_TMP=1 to keep it).
#
# Environment (exported by make check; guessed when a script is run by hand
# from the build directory): top_srcdir, top_builddir, SOFTHSM_MODULE, OPENSSL.
# P11AGENT_VALGRIND=1 runs every p11agentd that start_agent starts under
# valgrind's memcheck; stop_agent then fails the test on any invalid read or
# write, use of uninitialised memory or definite leak (tests/valgrind.supp
# holds SoftHSM's own leaks).
#
# SPDX-License-Identifier: Apache-2.0

# shellcheck disable=SC2034 # the KEY_* specs and AGENT_RC are for the test scripts
set -u

: "${top_builddir:=$PWD}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
if [ -z "${SOFTHSM_MODULE:-}" ] && [ -f "$top_builddir/Makefile" ]; then
	SOFTHSM_MODULE=$(sed -n 's/^SOFTHSM_MODULE = //p' "$top_builddir/Makefile")
fi
if [ -z "${OPENSSL:-}" ] && [ -f "$top_builddir/Makefile" ]; then
	OPENSSL=$(sed -n 's/^OPENSSL = //p' "$top_builddir/Makefile")
fi
: "${OPENSSL:=openssl}"
export SOFTHSM_MODULE OPENSSL top_builddir top_srcdir

# Under --enable-sanitizers: leaks inside SoftHSM are not ours (tests/lsan.supp);
# whole allocation stacks (libcrypto has no frame pointers) let them match.
LSAN_OPTIONS="suppressions=$top_srcdir/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS ASAN_OPTIONS

P11AGENTD=$top_builddir/p11agentd
P11AGENT=$top_builddir/p11agent
MKTOKEN=$top_builddir/tests/mktoken
export MKTOKEN

# The label of the test token, and the known secret values of its secret keys
# (so that OpenSSL can compute the expected MACs).
TOKEN=p11agent-test
# (SoftHSM2 wants an HMAC key at least as long as the hash: 64 bytes serve all three.)
HMAC_HEX=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
HMAC384_HEX=5b1c0a8e3f9d2746e1b07c45a9d3f812c6e04b7d29a58f31e7c40d96b2fa53187e0c46d9a2b5f13c8e7d406a9b2c5f1e
AES_HEX=603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4
# A label that needs escaping in a URI.
ODD_LABEL='release key/2;rsa%3072'

# Key specs for tests/mktoken (KIND:PARAM:LABEL:IDHEX[:OPT]).
KEY_RSA2048=rsa:2048:rsa2048:01
KEY_RSA3072="rsa:3072:$ODD_LABEL:02"
KEY_EC256=ec:P-256:ec256:03
KEY_EC384=ec:P-384:ec384:04
KEY_EC521=ec:P-521:ec521:05
KEY_ED25519=ed25519:-:ed25519:06
KEY_HMAC=hmac:$HMAC_HEX:hmac:10
KEY_HMAC384=hmac:$HMAC384_HEX:hmac384:11:sha384
KEY_AES=aes:$AES_HEX:aes256:20
KEY_DUP1=ec:P-256:dup:30
KEY_DUP2=ec:P-256:dup:31
KEY_NOLABEL=ec:P-256::40
KEY_NOSIGN=ec:P-256:nosign:41:nosign
# Key transport (tests/test-decrypt.sh): an RSA key that the agent's config
# lets decrypt PKCS#1 v1.5, RSA keys without CKA_DECRYPT or without CKA_UNWRAP,
# and an EC key without CKA_DERIVE.
KEY_RSA_LEGACY=rsa:2048:rsa-legacy:07
KEY_RSA_NODECRYPT=rsa:2048:rsa-nodecrypt:08:nodecrypt
KEY_RSA_NOUNWRAP=rsa:2048:rsa-nounwrap:09:nounwrap
KEY_EC_NODERIVE=ec:P-256:ec-noderive:42:noderive

PASSED=0
FAILED=0
SKIPPED=0
AGENT_PID=
AGENT_PIDS=
RC=0

T=$(mktemp -d "${TMPDIR:-/tmp}/p11agent-test.XXXXXX") || exit 99
SOCK=$T/agent.sock
OUT=$T/out
ERR=$T/err

_cleanup() {
	local pid
	for pid in $AGENT_PIDS; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			sleep 0.2
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	if [ "$FAILED" -gt 0 ] && [ -f "$T/agent.log" ]; then
		echo "--- last lines of the agent's log ---"
		tail -n 40 "$T/agent.log"
	fi
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap _cleanup EXIT
trap 'exit 99' INT TERM HUP

pass() {
	PASSED=$((PASSED + 1))
	echo "PASS $1"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL $1: $2"
}

skip() {
	SKIPPED=$((SKIPPED + 1))
	echo "SKIP $1: $2"
}

# Prints the summary line and exits non-zero when a check failed.
finish() {
	if [ "$SKIPPED" -gt 0 ]; then
		echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	else
		echo "$PASSED passed, $FAILED failed"
	fi
	[ "$FAILED" -eq 0 ] || exit 1
	exit 0
}

# Bails out of the whole script (a fixture could not be made).
die() {
	fail "${2:-setup}" "$1"
	finish
}

# Reads PASS/FAIL/SKIP lines on stdin (from a helper program) into the counts.
# Feed it from a file, not a pipe: in a pipeline the counts stay in a subshell.
count_lines() {
	local line
	while IFS= read -r line; do
		case $line in
		"PASS "*) pass "${line#PASS }" ;;
		"FAIL "*) FAILED=$((FAILED + 1)); echo "$line" ;;
		"SKIP "*) SKIPPED=$((SKIPPED + 1)); echo "$line" ;;
		*) echo "  $line" ;;
		esac
	done
}

# Shows a file's start on one line, for failure messages.
show() {
	if [ -s "$1" ]; then
		head -c 400 "$1" | tr '\n' ' '
	else
		echo "(empty)"
	fi
}

# run CMD...: runs CMD with stdout in $OUT, stderr in $ERR, exit code in RC.
run() {
	"$@" >"$OUT" 2>"$ERR"
	RC=$?
}

# check NAME CMD...: passes when CMD succeeds.
check() {
	local name=$1
	shift
	run "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "'$*' exited $RC; stderr: $(show "$ERR")"
	fi
}

# check_rc NAME CODE CMD...: passes when CMD exits with CODE.
check_rc() {
	local name=$1 code=$2
	shift 2
	run "$@"
	if [ "$RC" -eq "$code" ]; then
		pass "$name"
		return 0
	fi
	fail "$name" "exit $RC, expected $code; stderr: $(show "$ERR")"
	return 1
}

# check_err NAME ERE: passes when the last command's stderr matches ERE (any case).
check_err() {
	if grep -Eqi -- "$2" "$ERR"; then
		pass "$1"
	else
		fail "$1" "stderr does not match /$2/: $(show "$ERR")"
	fi
}

# p11a ARGS...: the CLI on the test socket, bounded in time.
p11a() {
	timeout -k 2 30 "$P11AGENT" -S "$SOCK" "$@"
}

# check_denied NAME ERE CMD...: CMD exits 4 (denied by policy), says why on
# stderr (matching ERE), and writes nothing on stdout.
check_denied() {
	local name=$1 ere=$2
	shift 2
	check_rc "$name: exit 4" 4 "$@" || return
	check_err "$name: message" "$ere"
	if [ -s "$OUT" ]; then
		fail "$name: no output" "$(wc -c <"$OUT") bytes on stdout"
	fi
}

# check_hidden NAME CMD...: CMD is told the key does not exist (exit 5),
# exactly as for a reference that names nothing: a key the caller may not use
# is not there for it, so that errors do not tell which keys exist.
check_hidden() {
	local name=$1
	shift
	check_rc "$name: exit 5, as for no key" 5 "$@" || return
	check_err "$name: message" 'no key matches'
	if grep -Eqi 'denied|allow-|not for uid' "$ERR"; then
		fail "$name: nothing tells the key exists" "$(show "$ERR")"
	fi
	if [ -s "$OUT" ]; then
		fail "$name: no output" "$(wc -c <"$OUT") bytes on stdout"
	fi
}

# sign_during_attacks MIN NAME: signs $MSG on $SOCK with ec256, ed25519 and
# rsa2048 in turn (their public keys in $T/KEY.pem), each signature checked
# by OpenSSL, at least MIN times and on until $T/attacks.done exists (1000
# at most); writes "GOOD BAD" to $T/NAME.result and says each failure on
# standard output. For the tests that attack the agent while a client signs.
sign_during_attacks() {
	local min=$1 name=$2 i=0 ok=0 bad=0 key sig=$T/$2.sig
	while [ "$i" -lt "$min" ] || { [ ! -e "$T/attacks.done" ] && [ "$i" -lt 1000 ]; }; do
		i=$((i + 1))
		case $((i % 3)) in
		0) key=ec256 ;;
		1) key=ed25519 ;;
		2) key=rsa2048 ;;
		esac
		if ! p11a sign "$key" -i "$MSG" -o "$sig" 2>"$T/$name.err"; then
			bad=$((bad + 1))
			echo "$name signature $i with $key failed: $(show "$T/$name.err")"
			continue
		fi
		if [ "$key" = ed25519 ]; then
			ossl pkeyutl -verify -rawin -pubin -inkey "$T/$key.pem" -in "$MSG" \
				-sigfile "$sig" >/dev/null 2>&1
		else
			ossl dgst -sha256 -verify "$T/$key.pem" -signature "$sig" "$MSG" >/dev/null 2>&1
		fi
		if [ $? -eq 0 ]; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "$name signature $i with $key does not verify"
		fi
	done
	echo "$ok $bad" >"$T/$name.result"
}

# python_for UID GID: prints a python3 that uid UID (group GID) can run, or
# nothing: the one on PATH may be in root's home, out of its reach.
python_for() {
	local p
	for p in "$(command -v python3)" /usr/bin/python3; do
		if [ -n "$p" ] && timeout -k 2 30 setpriv --reuid="$1" --regid="$2" --clear-groups \
			"$p" -c 'import hmac, resource' >/dev/null 2>&1; then
			echo "$p"
			return 0
		fi
	done
}

# ossl ARGS...: openssl, bounded in time.
ossl() {
	timeout -k 2 30 "$OPENSSL" "$@"
}

# Checks that what the tests need is here; exits 77 (skip) when a tool is missing.
require_tools() {
	local t
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "SKIP: $t is not installed"
			exit 77
		fi
	done
	if [ -z "${SOFTHSM_MODULE:-}" ] || [ ! -f "$SOFTHSM_MODULE" ]; then
		echo "SKIP: SoftHSM2 module not found (SOFTHSM_MODULE='${SOFTHSM_MODULE:-}')"
		exit 77
	fi
	for t in "$P11AGENTD" "$P11AGENT" "$MKTOKEN"; do
		if [ ! -x "$t" ]; then
			echo "ERROR: $t is not built"
			exit 99
		fi
	done
}

# make_token SPEC...: makes the test token in $T/token; sets SOFTHSM2_CONF and PIN_FILE.
make_token() {
	# (Under --enable-sanitizers, mktoken is built with ASan: SoftHSM's own
	# leaks are not ours to report.)
	if ! ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		timeout 120 sh "$top_srcdir/tests/mktoken.sh" "$T/token" "$TOKEN" "$@" \
		>"$T/mktoken.log" 2>&1; then
		die "cannot make the token: $(show "$T/mktoken.log")" "make token"
	fi
	SOFTHSM2_CONF=$T/token/softhsm2.conf
	PIN_FILE=$T/token/pin
	export SOFTHSM2_CONF
}

# wait_socket PATH PID [TENTHS]: waits (10 s, or TENTHS tenths of a second,
# at most, while PID lives) until an agent answers ping at PATH. (The socket
# file alone is not enough: a stale one may be there before the new agent
# replaces it.)
wait_socket() {
	local i
	for i in $(seq "${3:-100}"); do
		if [ -S "$1" ] && timeout 10 "$P11AGENT" -S "$1" ping >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Under P11AGENT_VALGRIND=1: the command that runs p11agentd, and how many
# tenths of a second to wait for it to start or stop.
AGENT_WRAP=
AGENT_WAIT=100
if [ "${P11AGENT_VALGRIND:-0}" = 1 ]; then
	AGENT_WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
		--show-leak-kinds=definite --track-origins=yes --num-callers=30
		--suppressions=$top_srcdir/tests/valgrind.supp --log-file=$T/valgrind.%p.log"
	AGENT_WAIT=600
fi

# start_agent [ARGS...]: starts p11agentd in the foreground (in the background
# of this shell) on $SOCK with the test token; extra ARGS are appended.
# Sets AGENT_PID. Its log goes to $T/agent.log.
start_agent() {
	# shellcheck disable=SC2086 # AGENT_WRAP is a command line
	$AGENT_WRAP "$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" \
		--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE" --socket "$SOCK" \
		--log-level debug "$@" </dev/null >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
	if ! wait_socket "$SOCK" "$AGENT_PID" "$AGENT_WAIT"; then
		fail "start agent" "no agent answers at $SOCK after $((AGENT_WAIT / 10)) s; log: $(show "$T/agent.log")"
		return 1
	fi
	return 0
}

# stop_agent: SIGTERM, then waits (10 s at most, 60 s under valgrind); sets
# AGENT_RC to its exit code. Under valgrind, a report of errors fails the test.
stop_agent() {
	local i pid=$AGENT_PID
	AGENT_RC=
	[ -n "$AGENT_PID" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	for i in $(seq "$AGENT_WAIT"); do
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -KILL "$AGENT_PID" 2>/dev/null
		fail "stop agent" "p11agentd did not exit within $((AGENT_WAIT / 10)) s of SIGTERM"
	fi
	wait "$AGENT_PID" 2>/dev/null
	AGENT_RC=$?
	AGENT_PID=
	if [ -n "$AGENT_WRAP" ]; then
		# Valgrind 3.19 does not know mlock2 (syscall 325), which OpenSSL's
		# secure heap tries before mlock: its 5-line notice is not an error.
		if [ -f "$T/valgrind.$pid.log" ]; then
			awk '/unhandled amd64-linux syscall: 325$/ { skip = 5 } skip > 0 { skip--; next } { print }' \
				"$T/valgrind.$pid.log" >"$T/valgrind.$pid.tmp" &&
				mv "$T/valgrind.$pid.tmp" "$T/valgrind.$pid.log"
		fi
		if [ "$AGENT_RC" = 99 ] || [ -s "$T/valgrind.$pid.log" ]; then
			fail "valgrind" "p11agentd exited $AGENT_RC; report:"
			sed 's/^/  /' "$T/valgrind.$pid.log"
		else
			pass "valgrind: no errors, no definite leaks"
		fi
	fi
}

# agent_alive NAME: passes when the agent still runs and answers ping.
agent_alive() {
	if [ -z "$AGENT_PID" ] || ! kill -0 "$AGENT_PID" 2>/dev/null; then
		fail "$1" "p11agentd is gone; log: $(tail -n 5 "$T/agent.log" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
	check "$1" p11a ping
}

# hex FILE: the file's bytes as lowercase hex on one line.
hex() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# same_bytes NAME GOT EXPECTED: passes when the two files hold the same bytes.
# Shows only their sizes: they may hold session keys or shared secrets.
same_bytes() {
	local got=no
	[ -f "$2" ] && got=$(wc -c <"$2")
	if [ -f "$2" ] && cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "the bytes differ (got $got bytes, expected $(wc -c <"$3") bytes)"
	fi
}

# check_refused NAME CODES ERE CMD...: CMD exits with one of CODES ("1", or
# "1|2" where either is right), says something matching ERE on stderr and
# nothing on stdout, and the agent answers ping after it.
check_refused() {
	local name=$1 codes=$2 ere=$3
	shift 3
	run "$@"
	if [[ "|$codes|" == *"|$RC|"* ]]; then
		pass "$name (exit $RC)"
		check_err "$name: message" "$ere"
		if [ -s "$OUT" ]; then
			fail "$name: no output" "$(wc -c <"$OUT") bytes on stdout"
		fi
	else
		fail "$name" "exit $RC, expected $codes; stderr: $(show "$ERR")"
	fi
	if kill -0 "$AGENT_PID" 2>/dev/null && timeout 10 "$P11AGENT" -S "$SOCK" ping >/dev/null 2>&1
	then
		pass "$name: agent still serving"
	else
		fail "$name: agent still serving" "ping failed or p11agentd is gone"
	fi
}

# cli_for_other_users UID RUNNER...: makes $CLI runnable by another uid. When
# "RUNNER... $CLI --version" fails (the build tree is not readable by that uid),
# copies the CLI and libp11agent to $T/bin, readable by all, and points CLI and
# CLI_ENV (LD_LIBRARY_PATH for RUNNER to pass on) at the copy; when the copy does
# not run either, the test is skipped (exit 77), naming UID.
cli_for_other_users() {
	_uid=$1
	shift
	"$@" "$CLI" --version >/dev/null 2>&1 && return 0
	mkdir -m 0755 "$T/bin"
	for f in "$top_builddir/.libs/p11agent" "$top_builddir/.libs/lt-p11agent"; do
		[ -x "$f" ] && cp "$f" "$T/bin/p11agent"
	done
	cp -P "$top_builddir"/.libs/libp11agent.so* "$T/bin/" 2>/dev/null
	chmod -R a+rX "$T/bin"
	CLI=$T/bin/p11agent
	CLI_ENV="LD_LIBRARY_PATH=$T/bin"
	if ! "$@" "$CLI" --version >/dev/null 2>&1; then
		echo "SKIP: uid $_uid cannot run the CLI from $top_builddir, nor a copy of it"
		exit 77
	fi
	echo "  (the other users run a copy of the CLI in $T/bin)"
}

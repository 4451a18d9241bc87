# tests/provider-lib.sh: shared helpers of the provider tests
# (tests/test-provider-*.sh), sourced after tests/lib.sh:
#
#   . "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
#   . "$top_srcdir/tests/provider-lib.sh"
#
# PROVIDER_MODULE is the build's p11agent.so. provider_conf writes an
# openssl.cnf that loads the default provider first, then p11agent (the order
# matters: with p11agent first, genpkey and TLS break). with_provider runs a
# program with OPENSSL_CONF pointing at it and P11AGENT_SOCK at the test's
# agent, and, in a build made with --enable-sanitizers, with libasan and
# libubsan preloaded (the program is not built with ASan but loads the
# ASan-built module) and ASan's leak check off for it. start_bg/stop_bg start
# and stop the servers a test runs (s_server, nginx, Python); every one still
# running at exit is stopped.
#
# SPDX-License-Identifier: Apache-2.0

# shellcheck disable=SC2034 # SANITIZED and the CA paths are for the test scripts
PROVIDER_MODULE=$top_builddir/.libs/p11agent.so
# The openssl.cnf of with_provider (written by provider_conf).
PCONF=$T/openssl.cnf
# The socket with_provider names in P11AGENT_SOCK; empty: P11AGENT_SOCK unset.
PROVIDER_SOCK=$SOCK
PYTHON=${PYTHON:-python3}

# provider_conf FILE [SOCKET]: an openssl.cnf loading the default provider,
# then p11agent from the build; with SOCKET, the provider's socket parameter.
provider_conf() {
	{
		echo "# written by tests/provider-lib.sh"
		echo "openssl_conf = openssl_init"
		echo
		echo "[openssl_init]"
		echo "providers = provider_sect"
		echo
		echo "[provider_sect]"
		echo "default = default_sect"
		echo "p11agent = p11agent_sect"
		echo
		echo "[default_sect]"
		echo "activate = 1"
		echo
		echo "[p11agent_sect]"
		echo "module = $PROVIDER_MODULE"
		[ -z "${2:-}" ] || echo "socket = $2"
		echo "activate = 1"
	} >"$1"
}

# Under --enable-sanitizers (seen in the build's Makefile: CFLAGS with
# -fsanitize=address): SANITIZED=1 and SAN_PRELOAD, the compiler's libasan and
# libubsan, which a program not built with ASan needs preloaded to load the
# module. Fails the test when they cannot be found.
SANITIZED=0
SAN_PRELOAD=
_provider_sanitizers() {
	local mk=$top_builddir/Makefile cc cflags asan ubsan
	[ -f "$mk" ] || return 0
	cc=$(sed -n 's/^CC = //p' "$mk")
	cflags=$(sed -n 's/^CFLAGS = //p' "$mk")
	case " $cflags " in
	*" -fsanitize="*address*) ;;
	*) return 0 ;;
	esac
	SANITIZED=1
	# shellcheck disable=SC2086 # CC may hold options
	asan=$($cc -print-file-name=libasan.so)
	# shellcheck disable=SC2086
	ubsan=$($cc -print-file-name=libubsan.so)
	if [ ! -f "$asan" ] || [ ! -f "$ubsan" ]; then
		die "a sanitizer build, but '$cc' names no libasan.so/libubsan.so to preload ($asan, $ubsan)" \
			"sanitizer preload"
	fi
	SAN_PRELOAD="$asan:$ubsan"
}
_provider_sanitizers

# provider_env: sets PENV, the "env ..." command that gives a program not
# built with ASan the provider's environment: OPENSSL_CONF, P11AGENT_SOCK
# (unset when PROVIDER_SOCK is empty), and under the sanitizers the preload,
# with ASan's leak check off.
PENV=()
provider_env() {
	PENV=(env)
	if [ -z "$PROVIDER_SOCK" ]; then
		PENV+=(-u P11AGENT_SOCK OPENSSL_CONF="$PCONF")
	else
		PENV+=(OPENSSL_CONF="$PCONF" P11AGENT_SOCK="$PROVIDER_SOCK")
	fi
	if [ "$SANITIZED" = 1 ]; then
		PENV+=(LD_PRELOAD="$SAN_PRELOAD" ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0")
	fi
}

# with_provider CMD...: runs CMD with the provider's environment (PENV).
with_provider() {
	provider_env
	"${PENV[@]}" "$@"
}

# posl ARGS...: openssl with the provider, bounded in time (30 s).
posl() {
	provider_env
	timeout -k 2 30 "${PENV[@]}" "$OPENSSL" "$@"
}

# pcurl ARGS...: curl with the provider, bounded in time (30 s).
pcurl() {
	provider_env
	timeout -k 2 30 "${PENV[@]}" curl "$@"
}

# ppython ARGS...: Python with the provider, bounded in time (30 s).
ppython() {
	provider_env
	timeout -k 2 30 "${PENV[@]}" "$PYTHON" "$@"
}

# require_provider TOOL...: the provider is built and every TOOL is here;
# otherwise the test FAILS (make check must run them all).
require_provider() {
	local t
	require_tools timeout
	[ -f "$PROVIDER_MODULE" ] || die "$PROVIDER_MODULE is not built" "provider module"
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || die "$t is not installed (contrib/deps.sh installs it)" \
			"required tool $t"
	done
}

# Background processes started by start_bg, stopped at exit.
BG_PIDS=
BG_PID=

# start_bg LOG CMD...: starts CMD in the background, its stdout and stderr in
# LOG; sets BG_PID.
start_bg() {
	local log=$1
	shift
	"$@" </dev/null >"$log" 2>&1 &
	BG_PID=$!
	BG_PIDS="$BG_PIDS $BG_PID"
}

# stop_bg PID: SIGTERM to PID and its children, SIGKILL after 5 s; waits for
# it. Returns its exit code.
stop_bg() {
	local pid=$1 i child rc
	if kill -0 "$pid" 2>/dev/null; then
		for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
			kill -TERM "$child" 2>/dev/null
		done
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
			kill -KILL "$child" 2>/dev/null
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	return "$rc"
}

# wait_bg PID [TENTHS]: waits (30 s, or TENTHS tenths of a second, at most)
# for PID to exit by itself; then sets BG_RC to its exit code and returns 0,
# else kills it and returns 1 (BG_RC empty).
BG_RC=
wait_bg() {
	local pid=$1 i
	BG_RC=
	for i in $(seq "${2:-300}"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		stop_bg "$pid"
		return 1
	fi
	wait "$pid" 2>/dev/null
	BG_RC=$?
	return 0
}

# wait_line FILE ERE PID [TENTHS]: waits (30 s, or TENTHS tenths of a second,
# at most, while PID lives) until a line of FILE matches ERE; prints the
# first such line.
wait_line() {
	local i
	for i in $(seq "${4:-300}"); do
		if grep -Eq -- "$2" "$1" 2>/dev/null; then
			grep -E -m1 -- "$2" "$1"
			return 0
		fi
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	grep -E -m1 -- "$2" "$1" 2>/dev/null
}

_provider_cleanup() {
	local pid
	for pid in $BG_PIDS; do
		stop_bg "$pid"
	done
}
trap '_provider_cleanup; _cleanup' EXIT

# A CA of the test's own, made by the default provider alone: its key in a
# file, $CA_KEY, its certificate $CA_PEM.
CA_KEY=$T/ca.key
CA_PEM=$T/ca.pem

# make_ca: makes the CA (ECDSA P-256).
make_ca() {
	env -u OPENSSL_CONF timeout -k 2 30 "$OPENSSL" req -x509 -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CA_KEY" -subj /CN=p11agent-test-ca \
		-days 2 -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign -out "$CA_PEM" >"$T/ca.log" 2>&1 ||
		die "cannot make the CA: $(show "$T/ca.log")" "make CA"
}

# issue_cert PUB CN OUT [server|client]: a certificate from the CA for the
# public key in PEM file PUB (an agent key's: p11agent pubkey), subject CN=CN,
# for a TLS server (SAN 127.0.0.1 and localhost) or client, in PEM file OUT.
# Made by the default provider alone (a throwaway CSR, -force_pubkey).
issue_cert() {
	local pub=$1 cn=$2 out=$3 kind=${4:-server} ext=$T/ext.$$
	{
		echo "basicConstraints = critical,CA:FALSE"
		echo "keyUsage = critical,digitalSignature,keyEncipherment,keyAgreement"
		if [ "$kind" = server ]; then
			echo "extendedKeyUsage = serverAuth"
			echo "subjectAltName = IP:127.0.0.1,DNS:localhost"
		else
			echo "extendedKeyUsage = clientAuth"
		fi
	} >"$ext"
	env -u OPENSSL_CONF timeout -k 2 30 "$OPENSSL" req -new -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/throwaway.key" -subj "/CN=$cn" \
		-out "$T/throwaway.csr" >"$T/issue.log" 2>&1 &&
		env -u OPENSSL_CONF timeout -k 2 30 "$OPENSSL" x509 -req -in "$T/throwaway.csr" \
			-CA "$CA_PEM" -CAkey "$CA_KEY" -CAcreateserial -CAserial "$T/ca.srl" -days 2 \
			-force_pubkey "$pub" -extfile "$ext" -out "$out" >>"$T/issue.log" 2>&1 ||
		die "cannot issue a certificate for $cn: $(show "$T/issue.log")" "issue certificate $cn"
	rm -f "$ext"
}

#!/bin/sh
# bench/standard.sh: the standard benchmark set of issue 5, run by `make bench`
# (never by make check). On SoftHSM tokens it makes itself, in a temporary
# folder, it measures:
#   - ping, RSA-2048 PKCS#1 and PSS, ECDSA P-256 and P-384, Ed25519,
#     HMAC-SHA-256, RSA-OAEP decrypt and AES-KWP unwrap, at 1 and 2 clients,
#     through the direct, agent and p11-kit paths (p11-kit's `p11-kit server`
#     and p11-kit-client.so on the same token, when they are installed);
#     ECDSA P-256 in batches of 64 at 1 and 2 clients; ECDSA P-256 at 64
#     clients; the 1-client rows again with the client library polling for
#     its replies (P11AGENT_BUSY_POLL=250);
#   - ECDSA P-256 through the agent at 2, 64 and 256 clients and at 1 client
#     with 16 requests in flight (--inflight 16), beside the direct path at 2
#     clients: 3 rounds of these in turn, for their medians;
#   - the agent's resident memory at idle and after 1,000,000 operations;
#   - what 10,000 idle connections cost in memory and in speed (the agent
#     counting them in its status);
#   - the agent's start-up time on a token with 100 keys (median of 3);
#   - 2-client ECDSA P-256 signatures with and without a client reading
#     `p11agent status` (the STATUS request) BENCH_STATUS_HZ times a second
#     on its own connection, twice each in turn: what reading the status
#     costs the signing path;
#   - RSA-2048 PKCS#1 and PSS, ECDSA P-256 and Ed25519 signatures at 1 and
#     2 clients through the p11agent OpenSSL provider (p11agent.so) beside
#     the agent path;
#   - ECDSA P-256 and RSA-2048 signatures at 1 and 4 clients over the SSH
#     agent protocol: p11agentd's SSH socket beside OpenSSH's ssh-agent
#     holding the same token through ssh-add -s, the direct and agent paths
#     (bench/ssh.sh);
#   - TLS handshakes per second against openssl s_server with the key in a
#     PEM file, in the token through libp11's engine, and through the
#     provider (bench/tls.sh);
#   - the load average before and after (the machine may be shared).
# It prints one markdown report (bench/table.py) and writes it, with the raw
# JSON lines, beside the build: bench-results.md and bench-results.jsonl.
#
# Environment:
#   BENCH_SECONDS     seconds of measurement per path and row (default 3)
#   BENCH_PARTS       comma-separated parts to run: std (every figure of
#                     issue 5), provider, ssh, tls; default all
#   BENCH_OUT         prefix of the output files (default
#                     $top_builddir/bench-results)
#   BENCH_MEM_OPS     operations of the memory run (default 1000000)
#   BENCH_IDLE_CONNS  idle connections held open (default 10000)
#   BENCH_STATUS_HZ   status reads a second beside the signers (default 100;
#                     0: back to back)
#   BENCH_NO_P11KIT=1 leaves p11-kit's remoting out
#   BENCH_NO_PROVIDER=1 leaves the provider rows out
#   BENCH_NO_SSH: see bench/ssh.sh
#   BENCH_TLS_ROUNDS, BENCH_TLS_SECONDS, BENCH_NO_TLS: see bench/tls.sh
#   KEEP_TMP=1        keeps the temporary folder
# and, as for make check: top_builddir, top_srcdir, SOFTHSM_MODULE.
#
# Exit status: 0 when every row ran (rows that this p11agent-bench does not
# support yet are skipped with a note), 1 when a row or a measurement failed,
# 77 when a tool it needs is missing. PINs stay in files of mode 0600 and
# reach the programs as --pin-source file:...; never in argv or output.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

: "${top_builddir:=$PWD}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
if [ -z "${SOFTHSM_MODULE:-}" ] && [ -f "$top_builddir/Makefile" ]; then
	SOFTHSM_MODULE=$(sed -n 's/^SOFTHSM_MODULE = //p' "$top_builddir/Makefile")
fi
export SOFTHSM_MODULE top_builddir top_srcdir

SECS=${BENCH_SECONDS:-3}
PARTS=${BENCH_PARTS:-all}
OUT_PREFIX=${BENCH_OUT:-$top_builddir/bench-results}
MEM_OPS=${BENCH_MEM_OPS:-1000000}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
STATUS_HZ=${BENCH_STATUS_HZ:-100}
MEM_CHUNK=5    # seconds per run of the memory loop
MEM_MAX=300    # and at most this many seconds in all
STARTUP_RUNS=3
LAT_POLL=250   # P11AGENT_BUSY_POLL of the client-polling rows
SCALE_ROUNDS=3    # rounds of the many-clients and in-flight runs
SCALE_INFLIGHT=16 # requests in flight of the 1-client run
P11KIT_CLIENT= # p11-kit-client.so, once found

P11AGENTD=$top_builddir/p11agentd
P11AGENT=$top_builddir/p11agent
BENCH=$top_builddir/p11agent-bench
MKTOKEN=$top_builddir/tests/mktoken
PROVIDER_MODULE=$top_builddir/.libs/p11agent.so
CONNS=$top_srcdir/bench/conns.py
TABLE=$top_srcdir/bench/table.py
export MKTOKEN

TOKEN=p11agent-bench
TOKEN100=p11agent-bench-100

say() {
	echo "bench: $*"
}

# Stops here with a message (the trap cleans up).
die() {
	echo "bench: ERROR: $*" >&2
	exit 1
}

# --- Checks -----------------------------------------------------------------
if ! [[ $PARTS =~ ^(all|std|provider|ssh|tls)(,(all|std|provider|ssh|tls))*$ ]]; then
	echo "bench: BENCH_PARTS: expected parts among all, std, provider, ssh, tls; not '$PARTS'" >&2
	exit 2
fi
if ! [[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] || [ "$(awk -v s="$SECS" 'BEGIN { print (s > 0) }')" != 1 ]
then
	echo "bench: BENCH_SECONDS must be a positive number of seconds, not '$SECS'" >&2
	exit 2
fi
for v in MEM_OPS IDLE_CONNS STATUS_HZ; do
	if ! [[ ${!v} =~ ^[0-9]+$ ]]; then
		echo "bench: BENCH_$v must be a whole number" >&2
		exit 2
	fi
done
for t in python3 timeout awk; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "bench: SKIP: $t is not installed" >&2
		exit 77
	fi
done
if [ -z "${SOFTHSM_MODULE:-}" ] || [ ! -f "$SOFTHSM_MODULE" ]; then
	echo "bench: SKIP: SoftHSM2 module not found (SOFTHSM_MODULE='${SOFTHSM_MODULE:-}')" >&2
	exit 77
fi
for t in "$P11AGENTD" "$P11AGENT" "$BENCH" "$MKTOKEN"; do
	[ -x "$t" ] || { echo "bench: ERROR: $t is not built (run make bench)" >&2; exit 1; }
done

if [ "$IDLE_CONNS" -lt 1 ] || [ "$IDLE_CONNS" -gt 60000 ]; then
	echo "bench: BENCH_IDLE_CONNS must be 1 to 60000, not '$IDLE_CONNS'" >&2
	exit 2
fi

# The agent's max-connections: the idle connections and room beside them for
# the benchmark's clients (256 at most) and the status reader. Set here, not
# left to the agent's default. (The bench runs as one uid, root or the
# agent's own, neither of which has a per-uid share of connections.)
MAX_CONNS=$((IDLE_CONNS + 1024))
[ "$MAX_CONNS" -ge 12000 ] || MAX_CONNS=12000
# The idle connections need a file descriptor each in the holder
# (bench/conns.py) and in the agent, which raise their own soft limits
# within the hard limit: when that is too low, the idle part is not run and
# says why (IDLE_NOFILE).
IDLE_NOFILE=
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((IDLE_CONNS + 256)) ]; then
	IDLE_NOFILE="$IDLE_CONNS connections need $((IDLE_CONNS + 256)) open files in the"
	IDLE_NOFILE="$IDLE_NOFILE agent and in the holder; the hard limit (ulimit -Hn) is"
	IDLE_NOFILE="$IDLE_NOFILE $(ulimit -Hn): raise it, or set BENCH_IDLE_CONNS lower"
fi

# --- Temporary folder and clean-up -----------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/p11agent-bench.XXXXXX") || exit 1
chmod 0700 "$T"
SOCK=$T/agent.sock
RESULTS=$T/results.jsonl
: >"$RESULTS"
AGENT_PID=
STARTUP_PID=
P11KIT_PID=
HOLD_PID=
STATUS_PID=
FAILED=0
SKIPPED=0

# stop_pid PID: SIGTERM, 10 s, then SIGKILL; only a process this script started.
stop_pid() {
	local _
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	return 0
}

# The traps may run while a command's output goes to a file: they write to
# the script's own stdout and stderr, saved here as 3 and 4.
exec 3>&1 4>&2

# shellcheck disable=SC2317 # run by the trap
cleanup() {
	tls_stop
	ssh_stop
	stop_pid "$HOLD_PID"
	stop_pid "$STATUS_PID"
	stop_pid "$AGENT_PID"
	stop_pid "$STARTUP_PID"
	if [ -n "$P11KIT_PID" ]; then
		# p11-kit server forks one process per connection; the bench's
		# connections are closed by now, so they are gone or going.
		stop_pid "$P11KIT_PID"
	fi
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "bench: kept $T" >&3
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&4; exit 1' INT TERM HUP

# --- Helpers ------------------------------------------------------------------

# jline NAME VALUE...: one JSON object of strings, a line (python escapes them).
jline() {
	python3 -c 'import json, sys; a = sys.argv[1:]; print(json.dumps(dict(zip(a[::2], a[1::2]))))' "$@"
}

# measure NAME VALUE: records a figure for the report.
measure() {
	jline run measure name "$1" value "$2" >>"$RESULTS"
}

# note KIND WHAT MESSAGE: records a failure (fail), a skipped row (skip) or
# something p11-kit could not do (peer), and says it now.
note() {
	# The report names p11-kit's client module and the programs, not where
	# this machine keeps them (libtool's wrapper runs .libs/PROGRAM or
	# .libs/lt-PROGRAM, which print their own path in usage errors).
	local msg=${3//module:$P11KIT_CLIENT/module:${P11KIT_CLIENT##*/}}
	msg=${msg//"$top_builddir"\/.libs\/lt-/}
	msg=${msg//"$top_builddir"\/.libs\//}
	set -- "$1" "$2" "${msg//"$top_builddir"\//}"
	jline run note kind "$1" what "$2" message "$3" >>"$RESULTS"
	case $1 in
	fail) FAILED=$((FAILED + 1)); echo "bench: FAILED: $2: $3" >&2 ;;
	skip) SKIPPED=$((SKIPPED + 1)); echo "bench: skipped: $2: $3" >&2 ;;
	*) echo "bench: note: $2: $3" >&2 ;;
	esac
}

# first_line FILE: the first line of FILE (a message), or "(no message)".
first_line() {
	local l
	l=$(grep -m1 -v '^$' "$1" 2>/dev/null)
	echo "${l:-(no message)}"
}

# rss PID: the process's resident memory in KiB (VmRSS of /proc/PID/status).
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# bench SECONDS_BOUND ARGS...: p11agent-bench on the token and socket,
# killed after SECONDS_BOUND.
bench() {
	local bound=$1
	shift
	timeout -k 5 "$bound" "$BENCH" --module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN" \
		--pin-source "file:$PIN_FILE" --socket "$SOCK" --provider-module "$PROVIDER_MODULE" "$@"
}

# bound PATHS: seconds a run over PATHS (comma-separated) may take.
bound() {
	local n
	n=$(echo "$1" | tr ',' '\n' | grep -c .)
	awk -v s="$SECS" -v n="$n" 'BEGIN { printf "%d\n", s * n * 1.5 + 60 }'
}

# row TAG ALG KEY CLIENTS BATCH PATHS [--inflight N]: one run of the
# benchmark, its JSON lines tagged with TAG into the results. KEY - for none.
# A usage error (exit 2, or "unrecognized option": an option or algorithm
# this p11agent-bench does not know yet) skips the row and returns 2; when
# only the p11-kit path fails (an operation p11-kit's remoting does not
# carry), the row is run again without it. Returns 1 when it fails.
row() {
	local tag=$1 alg=$2 key=$3 clients=$4 batch=$5 paths=$6 rc what msg
	local -a args
	shift 6
	what="$alg, $clients client$([ "$clients" = 1 ] || echo s)"
	[ "$batch" = 1 ] || what="$what, batch $batch"
	[ "${1:-}" != --inflight ] || what="$what, $2 in flight"
	args=(--alg "$alg" --clients "$clients" --seconds "$SECS" --json --paths "$paths")
	[ "$key" = - ] || args+=(--key "$key")
	[ "$batch" = 1 ] || args+=(--batch "$batch")
	args+=("$@")
	say "$what [${paths//module:$P11KIT_CLIENT/p11-kit}]"
	bench "$(bound "$paths")" "${args[@]}" >"$T/row.out" 2>"$T/row.err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		sed "s/^{/{\"run\": \"$tag\", /" "$T/row.out" >>"$RESULTS"
		return 0
	fi
	if [ "$rc" -eq 2 ] || grep -qi 'unrecognized option' "$T/row.err"; then
		note skip "$what" "p11agent-bench does not take this yet: $(first_line "$T/row.err")"
		return 2
	fi
	if [ "$rc" -eq 1 ] && [[ $paths == *,module:* ]] && grep -q 'module:' "$T/row.err"; then
		note peer "$what" "$(first_line "$T/row.err"); measured without p11-kit"
		row "$tag" "$alg" "$key" "$clients" "$batch" "${paths%%,module:*}" "$@"
		return
	fi
	if [ "$rc" -ge 124 ]; then
		msg="p11agent-bench did not finish in $(bound "$paths") s (exit $rc)"
	else
		msg="p11agent-bench exited $rc: $(first_line "$T/row.err")"
	fi
	if ! kill -0 "$AGENT_PID" 2>/dev/null; then
		msg="$msg; p11agentd is gone, its log ends: $(tail -n 3 "$T/agent.log" | tr '\n' ' ')"
	fi
	note fail "$what" "$msg"
	return 1
}

# wait_ready SOCKET PID: waits (10 s at most, while PID lives) until an agent
# answers ping at SOCKET.
wait_ready() {
	local _
	for _ in $(seq 100); do
		if [ -S "$1" ] && timeout 10 "$P11AGENT" -S "$1" ping >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# make_token DIR LABEL SPEC...: a SoftHSM token of its own in DIR (pin in DIR/pin).
make_token() {
	local dir=$1 label=$2
	shift 2
	if ! SOFTHSM2_CONF=$dir/softhsm2.conf timeout 600 sh "$top_srcdir/tests/mktoken.sh" \
		"$dir" "$label" "$@" >"$dir.log" 2>&1; then
		die "cannot make the token $label: $(head -c 400 "$dir.log" | tr '\n' ' ')"
	fi
}

# add_keys COUNT KIND PARAM: COUNT more key specs for mktoken in specs (n
# counts them: labels keyN, ids N). PARAM RANDOM32: a random 32-byte value.
add_keys() {
	local p _
	for _ in $(seq "$1"); do
		n=$((n + 1))
		p=$3
		[ "$p" = RANDOM32 ] && p=$(hexrand 32)
		specs+=("$2:$p:key$n:$(printf '%04x' "$n")")
	done
}

# hexrand BYTES: random bytes as hex.
hexrand() {
	od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# want PART: is PART (std, provider, ssh, tls) in BENCH_PARTS?
want() {
	[[ ,$PARTS, == *,all,* || ,$PARTS, == *,$1,* ]]
}

# load: the load average over 1, 5 and 15 minutes.
load() {
	cut -d' ' -f1-3 /proc/loadavg
}

# The SSH part: ssh_bench and ssh_stop.
# shellcheck source=bench/ssh.sh
. "$top_srcdir/bench/ssh.sh"

# The TLS part: tls_bench and tls_stop.
# shellcheck source=bench/tls.sh
. "$top_srcdir/bench/tls.sh"

# --- The machine --------------------------------------------------------------
measure load_before "$(load)"
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
measure nproc "$(nproc 2>/dev/null || echo '?')"
measure cpu "${cpu:-unknown CPU}"
measure kernel "$(uname -r)"
measure softhsm "$(softhsm2-util --version 2>/dev/null || echo unknown)"
measure p11kit "$(pkg-config --modversion p11-kit-1 2>/dev/null ||
	dpkg-query -W -f='${Version}' p11-kit 2>/dev/null || echo unknown)"
measure version "$("$P11AGENTD" --version 2>/dev/null | head -n1 | awk '{ print $NF }')"
measure seconds "$SECS"
measure parts "$PARTS"
measure date "$(date -u '+%Y-%m-%d %H:%M UTC')"

# --- The token and the agent ---------------------------------------------------
say "making the token (RSA-2048, EC P-256 and P-384, Ed25519, HMAC, AES-256)"
make_token "$T/token" "$TOKEN" \
	rsa:2048:rsa2048:01 ec:P-256:ec256:03 ec:P-384:ec384:04 ed25519:-:ed25519:06 \
	hmac:random:hmac:10 "aes:$(hexrand 32):aes256:20"
SOFTHSM2_CONF=$T/token/softhsm2.conf
PIN_FILE=$T/token/pin
export SOFTHSM2_CONF

echo "max-connections = $MAX_CONNS" >"$T/agent.conf"
chmod 0600 "$T/agent.conf"
measure max_connections "$MAX_CONNS"
"$P11AGENTD" --foreground --module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN" \
	--pin-source "file:$PIN_FILE" --socket "$SOCK" --config "$T/agent.conf" --log-level info \
	</dev/null >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_ready "$SOCK" "$AGENT_PID" ||
	die "p11agentd does not answer at $SOCK; its log: $(tail -n 5 "$T/agent.log" | tr '\n' ' ')"
sleep 0.5
RSS_IDLE=$(rss "$AGENT_PID")
measure rss_idle_kib "$RSS_IDLE"
say "p11agentd (pid $AGENT_PID) serving; VmRSS at idle $RSS_IDLE KiB"

# --- p11-kit's remoting of the same token --------------------------------------
P11KIT_CLIENT=
if [ -n "${BENCH_NO_P11KIT:-}" ]; then
	measure p11kit_missing "BENCH_NO_P11KIT is set"
elif ! want std; then
	measure p11kit_missing "only the standard set uses it, not in BENCH_PARTS"
elif ! command -v p11-kit >/dev/null 2>&1; then
	measure p11kit_missing "p11-kit is not installed: apt-get install p11-kit p11-kit-modules"
else
	for d in "$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)" \
		"/usr/lib/$(gcc -print-multiarch 2>/dev/null)/pkcs11" /usr/lib64/pkcs11 \
		/usr/lib/pkcs11; do
		if [ -n "$d" ] && [ -f "$d/p11-kit-client.so" ]; then
			P11KIT_CLIENT=$d/p11-kit-client.so
			break
		fi
	done
	if [ -z "$P11KIT_CLIENT" ]; then
		measure p11kit_missing "p11-kit-client.so not found: apt-get install p11-kit-modules"
	fi
fi
if [ -n "$P11KIT_CLIENT" ]; then
	mkdir -m 0700 "$T/run"
	XDG_RUNTIME_DIR=$T/run p11-kit server --foreground --sh --provider "$SOFTHSM_MODULE" \
		"pkcs11:token=$TOKEN" </dev/null >"$T/p11kit.out" 2>"$T/p11kit.err" &
	P11KIT_PID=$!
	addr=
	for _ in $(seq 100); do
		addr=$(sed -n 's/^P11_KIT_SERVER_ADDRESS=\([^;]*\);.*/\1/p' "$T/p11kit.out")
		[ -n "$addr" ] && break
		kill -0 "$P11KIT_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$addr" ] ||
		die "p11-kit server did not start: $(head -c 400 "$T/p11kit.err" | tr '\n' ' ')"
	P11_KIT_SERVER_ADDRESS=$addr
	export P11_KIT_SERVER_ADDRESS
	measure p11kit_path "${P11KIT_CLIENT##*/}"
	say "p11-kit server (pid $P11KIT_PID) at $addr"
fi
ALL_PATHS=direct,agent${P11KIT_CLIENT:+,module:$P11KIT_CLIENT}

# --- The standard set of issue 5 (BENCH_PARTS std) ---------------------------
if want std; then

	# --- Memory: idle, then after MEM_OPS operations -----------------------------------
	# ECDSA P-256 signatures through the agent alone, 4 clients, in batches of 64
	# (or one by one when this p11agent-bench has no --batch yet), in runs of
	# MEM_CHUNK seconds until MEM_OPS operations are done.
	mem_ops=0
	mem_s=0
	mem_how="ECDSA P-256 signatures, 4 clients, batches of 64"
	mem_args=(--batch 64)
	say "memory: $MEM_OPS operations through the agent"
	while [ "$mem_ops" -lt "$MEM_OPS" ] && [ "$mem_s" -lt "$MEM_MAX" ]; do
		bench $((MEM_CHUNK + 60)) --paths agent --key ec256 --alg ecdsa-sha256 --clients 4 \
			"${mem_args[@]}" --seconds "$MEM_CHUNK" --json >"$T/mem.out" 2>"$T/mem.err"
		rc=$?
		if [ "$rc" -eq 2 ] && [ "${#mem_args[@]}" -gt 0 ]; then
			note skip "memory run in batches" \
				"$(first_line "$T/mem.err"); signing one digest a request instead"
			mem_args=()
			mem_how="ECDSA P-256 signatures, 4 clients, one a request"
			continue
		fi
		if [ "$rc" -ne 0 ]; then
			note fail "memory run" "p11agent-bench exited $rc: $(first_line "$T/mem.err")"
			break
		fi
		sed 's/^{/{"run": "memory", /' "$T/mem.out" >>"$RESULTS"
		mem_ops=$(python3 -c 'import json, sys
n = sum(json.loads(l)["ops_per_s"] * float(sys.argv[2]) for l in open(sys.argv[1]) if l.strip())
print(int(n) + int(sys.argv[3]))' "$T/mem.out" "$MEM_CHUNK" "$mem_ops")
		mem_s=$((mem_s + MEM_CHUNK))
		if [ "$mem_s" -eq "$MEM_CHUNK" ]; then
			measure rss_warm_kib "$(rss "$AGENT_PID")"
			measure mem_chunk_s "$MEM_CHUNK"
		fi
	done
	if [ "$mem_ops" -gt 0 ]; then
		sleep 1
		measure mem_ops "$mem_ops"
		measure mem_how "$mem_how"
		measure rss_after_kib "$(rss "$AGENT_PID")"
		[ "$mem_ops" -ge "$MEM_OPS" ] ||
			note fail "memory run" "only $mem_ops operations in $MEM_MAX s"
	fi

	# --- The standard set ----------------------------------------------------------
	row std ping - 1 1 agent
	row std ping - 2 1 agent
	for spec in rsa-pkcs1-sha256:rsa2048 rsa-pss-sha256:rsa2048 ecdsa-sha256:ec256 \
		ecdsa-sha384:ec384 ed25519:ed25519 hmac-sha256:hmac rsa-oaep-sha256:rsa2048 \
		aes-kwp:aes256; do
		for c in 1 2; do
			row std "${spec%%:*}" "${spec#*:}" "$c" 1 "$ALL_PATHS"
		done
	done
	for c in 1 2; do
		row std ecdsa-sha256 ec256 "$c" 64 direct,agent
	done
	row std ecdsa-sha256 ec256 64 1 direct,agent

	# --- Many clients, and requests in flight ------------------------------------------
	# ECDSA P-256: direct and agent at 2 clients (interleaved in one run), the
	# agent at 1 client keeping SCALE_INFLIGHT requests in flight, at 64 and at
	# 256 clients; SCALE_ROUNDS rounds of these runs in turn, so that the
	# machine's drift spreads over all of them (the report takes the medians).
	# When this p11agent-bench has no --inflight, that row is skipped with a
	# note after the first round.
	say "many clients and requests in flight: $SCALE_ROUNDS rounds"
	measure scale_rounds "$SCALE_ROUNDS"
	measure inflight "$SCALE_INFLIGHT"
	inflight_rc=0
	for r in $(seq "$SCALE_ROUNDS"); do
		row scale ecdsa-sha256 ec256 2 1 direct,agent
		if [ "$inflight_rc" != 2 ]; then
			row inflight ecdsa-sha256 ec256 1 1 agent --inflight "$SCALE_INFLIGHT"
			inflight_rc=$?
		fi
		row scale ecdsa-sha256 ec256 64 1 agent
		row scale ecdsa-sha256 ec256 256 1 agent
	done

	# --- 1 client, the client library polling for its replies ------------------------
	# The same 1-client rows with P11AGENT_BUSY_POLL (libp11agent polls up to that
	# many microseconds for a reply before sleeping; off by default).
	say "1 client with P11AGENT_BUSY_POLL=$LAT_POLL"
	P11AGENT_BUSY_POLL=$LAT_POLL row lat ping - 1 1 agent
	for spec in rsa-pkcs1-sha256:rsa2048 rsa-pss-sha256:rsa2048 ecdsa-sha256:ec256 \
		ecdsa-sha384:ec384 ed25519:ed25519 hmac-sha256:hmac rsa-oaep-sha256:rsa2048 \
		aes-kwp:aes256; do
		P11AGENT_BUSY_POLL=$LAT_POLL row lat "${spec%%:*}" "${spec#*:}" 1 1 "$ALL_PATHS"
	done
	measure lat_poll_us "$LAT_POLL"

	# --- 10,000 idle connections -----------------------------------------------------
	# VmRSS before and after IDLE_CONNS connections that said HELLO and sit idle
	# (the agent's status must count them); then the agent path alone, 2
	# clients, without and with them, twice in turn (machine noise drifts:
	# alternating spreads it over both).

	# conns_ready FILE PID TENTHS: waits until bench/conns.py (PID) writes
	# FILE, at most TENTHS tenths of a second; fails when it ends first.
	conns_ready() {
		local _
		for _ in $(seq "$3"); do
			[ -f "$1" ] && return 0
			kill -0 "$2" 2>/dev/null || return 1
			sleep 0.1
		done
		return 1
	}

	# agent_conns: the connections open in the agent, from its status (empty
	# when it does not answer).
	agent_conns() {
		timeout 30 "$P11AGENT" -S "$SOCK" status --json 2>/dev/null |
			python3 -c 'import json, sys; print(json.load(sys.stdin)["connections"])' 2>/dev/null
	}

	# hold_start: opens the idle connections (bench/conns.py); fails with a
	# note that says how far it got and what the agent said last.
	hold_start() {
		local msg
		rm -f "$T/hold.ready"
		python3 "$CONNS" hold "$SOCK" "$IDLE_CONNS" "$T/hold.ready" 900 2>"$T/hold.err" &
		HOLD_PID=$!
		conns_ready "$T/hold.ready" "$HOLD_PID" 1200 && return 0
		msg=$(first_line "$T/hold.err")
		[ -s "$T/hold.err" ] || msg="bench/conns.py did not open them in 120 s"
		if ! kill -0 "$AGENT_PID" 2>/dev/null; then
			msg="$msg; p11agentd is gone, its log ends: $(tail -n 3 "$T/agent.log" | tr '\n' ' ')"
		else
			msg="$msg; p11agentd (max-connections $MAX_CONNS) counts $(agent_conns)"
			msg="$msg connections, its log ends: $(tail -n 1 "$T/agent.log")"
		fi
		note fail "$IDLE_CONNS idle connections" "$msg"
		hold_stop
		return 1
	}

	# hold_stop: closes them and waits (30 s at most) until the agent's count
	# falls back below 16.
	hold_stop() {
		local _ n
		stop_pid "$HOLD_PID"
		wait "$HOLD_PID" 2>/dev/null
		HOLD_PID=
		for _ in $(seq 60); do
			n=$(agent_conns)
			[ -n "$n" ] && [ "$n" -lt 16 ] && break
			sleep 0.5
		done
		sleep 0.5
	}

	say "$IDLE_CONNS idle connections"
	measure idle_conns_wanted "$IDLE_CONNS"
	if [ -n "$IDLE_NOFILE" ]; then
		note fail "$IDLE_CONNS idle connections" "$IDLE_NOFILE"
	else
		for r in 1 2; do
			row idle-without ecdsa-sha256 ec256 2 1 agent || break
			rss0=$(rss "$AGENT_PID")
			hold_start || break
			sleep 0.5
			if [ "$r" = 1 ]; then
				rss1=$(rss "$AGENT_PID")
				seen=$(agent_conns)
				measure idle_conns "$(cat "$T/hold.ready")"
				measure idle_conns_agent "${seen:-?}"
				measure rss_conns_before_kib "$rss0"
				measure rss_conns_after_kib "$rss1"
				say "VmRSS $rss0 KiB -> $rss1 KiB with $(cat "$T/hold.ready") connections" \
					"(the agent counts ${seen:-?})"
				if [ -z "$seen" ] || [ "$seen" -lt "$IDLE_CONNS" ]; then
					note fail "$IDLE_CONNS idle connections" \
						"the agent's status counts ${seen:-no} connections"
				fi
			fi
			row idle-with ecdsa-sha256 ec256 2 1 agent
			hold_stop
		done
	fi

	# --- Reading the status beside the signers -----------------------------------------
	# The agent path alone, 2 clients, without and with a client reading the
	# status STATUS_HZ times a second on its own connection, twice in turn.

	# reader_start: starts the status reader (bench/conns.py); fails with a note.
	reader_start() {
		rm -f "$T/status.ready"
		python3 "$CONNS" status "$SOCK" "$STATUS_HZ" "$T/status.ready" 900 \
			>"$T/status.out" 2>"$T/status.err" &
		STATUS_PID=$!
		conns_ready "$T/status.ready" "$STATUS_PID" 100 && return 0
		note fail "status reader" "$(first_line "$T/status.err")"
		reader_stop
		return 1
	}

	reader_stop() {
		local n
		stop_pid "$STATUS_PID"
		wait "$STATUS_PID" 2>/dev/null
		STATUS_PID=
		n=$(sed -n 's/^statuses \([0-9]*\)$/\1/p' "$T/status.out" 2>/dev/null)
		status_reads=$((status_reads + ${n:-0}))
	}

	say "status read $STATUS_HZ times a second beside 2 signing clients"
	status_reads=0
	status_s=0
	for r in 1 2; do
		row status-without ecdsa-sha256 ec256 2 1 agent || break
		reader_start || break
		t0=$(date +%s%N)
		row status-with ecdsa-sha256 ec256 2 1 agent
		t1=$(date +%s%N)
		reader_stop
		status_s=$((status_s + (t1 - t0) / 1000000))
	done
	measure status_hz "$STATUS_HZ"
	measure status_reads "$status_reads"
	measure status_ms "$status_s"

	# --- Start-up on a token with 100 keys -------------------------------------------
	say "start-up: making a token with 100 keys"
	specs=()
	n=0
	add_keys 10 rsa 2048
	add_keys 30 ec P-256
	add_keys 20 ec P-384
	add_keys 10 ec P-521
	add_keys 15 ed25519 -
	add_keys 10 hmac random
	add_keys 5 aes RANDOM32
	make_token "$T/token100" "$TOKEN100" "${specs[@]}"
	startup_ms=
	for r in $(seq "$STARTUP_RUNS"); do
		sock100=$T/s100.sock
		t0=$(date +%s%N)
		SOFTHSM2_CONF=$T/token100/softhsm2.conf timeout -k 5 60 "$P11AGENTD" \
			--module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN100" \
			--pin-source "file:$T/token100/pin" --socket "$sock100" --log-level info \
			</dev/null >"$T/startup.log" 2>&1
		rc=$?
		t1=$(date +%s%N)
		if [ "$rc" -ne 0 ]; then
			note fail "start-up" "p11agentd exited $rc: $(first_line "$T/startup.log")"
			break
		fi
		pid=$(python3 "$CONNS" pid "$sock100" 2>"$T/pid.err") || {
			note fail "start-up" "no agent at $sock100: $(first_line "$T/pid.err")"
			break
		}
		STARTUP_PID=$pid
		keys=$(sed -n 's/.*serving \([0-9]*\) keys.*/\1/p' "$T/startup.log")
		ms=$(((t1 - t0) / 1000000))
		say "start-up $r: ready in $ms ms, serving ${keys:-?} keys"
		startup_ms="$startup_ms $ms"
		stop_pid "$pid"
		if kill -0 "$pid" 2>/dev/null; then
			note fail "start-up" "p11agentd $pid does not stop"
			break
		fi
		STARTUP_PID=
	done
	if [ -n "$startup_ms" ]; then
		measure startup_ms "${startup_ms# }"
		measure startup_keys "${keys:-?}"
	fi
fi

# --- Through the OpenSSL provider ------------------------------------------------
# The same signatures as the standard set, through p11agent.so beside the
# agent path (the provider forwards them to the same agent).
if ! want provider; then
	measure provider_missing "not in BENCH_PARTS"
elif [ -n "${BENCH_NO_PROVIDER:-}" ]; then
	measure provider_missing "BENCH_NO_PROVIDER is set"
elif [ ! -f "$PROVIDER_MODULE" ]; then
	note fail "provider rows" "$PROVIDER_MODULE is not built"
else
	say "signatures through the provider p11agent.so"
	for spec in rsa-pkcs1-sha256:rsa2048 rsa-pss-sha256:rsa2048 ecdsa-sha256:ec256 \
		ed25519:ed25519; do
		for c in 1 2; do
			row prov "${spec%%:*}" "${spec#*:}" "$c" 1 agent,provider
		done
	done
fi
stop_pid "$AGENT_PID"
AGENT_PID=

# --- The SSH agent protocol -----------------------------------------------------------
if want ssh; then
	ssh_bench
else
	measure ssh_missing "not in BENCH_PARTS"
fi

# --- TLS handshakes -----------------------------------------------------------------
if want tls; then
	tls_bench
else
	measure tls_missing "not in BENCH_PARTS"
fi

# --- The report -----------------------------------------------------------------
measure load_after "$(load)"
if ! python3 "$TABLE" "$RESULTS" >"$T/report.md" 2>"$T/table.err"; then
	die "bench/table.py failed: $(head -c 400 "$T/table.err")"
fi
cp "$RESULTS" "$OUT_PREFIX.jsonl"
cp "$T/report.md" "$OUT_PREFIX.md"
echo
cat "$T/report.md"
echo
say "wrote $OUT_PREFIX.md and $OUT_PREFIX.jsonl"
if [ "$FAILED" -gt 0 ]; then
	echo "bench: ERROR: $FAILED row(s) or measurement(s) failed: see the notes above" >&2
	exit 1
fi
[ "$SKIPPED" -eq 0 ] || say "$SKIPPED row(s) skipped: see the notes"
exit 0

#!/bin/sh
# test-soak.sh: three rounds of load (tests/soak.py): 64 clients signing
# concurrently, every HMAC checked and a sample of ECDSA signatures verified
# by OpenSSL, while others send garbage, half frames, oversized lengths and
# disconnect mid-request, and the CLI signs alongside. After each round the
# agent's open file descriptors must be back to their baseline, and its
# resident memory must not grow from round 2 to round 3.
#
# Env: SOAK_SECONDS (length of a round, default 7).
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 timeout
ROUND=${SOAK_SECONDS:-7}
# Resident memory may grow this much (KiB) from round 2 to round 3.
RSS_SLACK=512
make_token "$KEY_EC256" "$KEY_HMAC"
# Stalled half frames are also dropped by the agent, not only by their client.
printf 'frame-timeout = 2\n' >"$T/soak.conf"
start_agent --config "$T/soak.conf" --log-level info || finish
p11a pubkey ec256 >"$T/ec256.pem" 2>"$ERR" || die "pubkey: $(show "$ERR")"
MSG=$T/msg
printf 'signed by the CLI during the soak\n' >"$MSG"

# fds: the agent's open file descriptors, or nothing when /proc does not say.
fds() {
	local n
	n=$(find "/proc/$AGENT_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] && echo "$n"
}

# rss: the agent's resident memory in KiB.
rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$AGENT_PID/status"
}

# wait_fds N: waits (10 s at most) until the agent has N fds open; prints the last count.
wait_fds() {
	local i n
	for i in $(seq 50); do
		n=$(fds)
		[ "$n" = "$1" ] && break
		sleep 0.2
	done
	echo "$n"
}

# The CLI signs alongside until the round's end; each signature verified by OpenSSL.
cli_signer() {
	local ok=0 bad=0 i=0 end=$(($(date +%s) + ROUND))
	while [ "$(date +%s)" -lt "$end" ]; do
		i=$((i + 1))
		if p11a sign ec256 -i "$MSG" -o "$T/cli.sig" 2>"$T/cli.err" &&
			ossl dgst -sha256 -verify "$T/ec256.pem" -signature "$T/cli.sig" "$MSG" \
				>/dev/null 2>&1; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "CLI signature $i: $(show "$T/cli.err")"
		fi
	done
	echo "$ok $bad" >"$T/cli.result"
}

# Warm up (the session pool, OpenSSL's tables), then take the baseline.
WARM=
for i in $(seq 8); do
	p11a sign ec256 -i "$MSG" -o "$T/warm.$i" &
	WARM="$WARM $!"
done
# shellcheck disable=SC2086 # a list of pids
wait $WARM
BASE_FDS=$(fds)
if [ -z "$BASE_FDS" ]; then
	skip "fd counts" "/proc/$AGENT_PID/fd is not readable (the agent is not dumpable)"
fi
ASAN=no
if grep -q libasan "/proc/$AGENT_PID/maps" 2>/dev/null; then
	ASAN=yes
fi

RSS1='' RSS2='' RSS3=''
for round in 1 2 3; do
	OUTDIR=$T/round$round
	mkdir -p "$OUTDIR"
	cli_signer >"$T/cli.log" 2>&1 &
	CLI=$!
	timeout -k 5 $((ROUND + 60)) python3 "$top_srcdir/tests/soak.py" "$SOCK" "$ROUND" \
		"$OUTDIR" "$HMAC_HEX" >"$T/soak.out" 2>&1
	SOAK_RC=$?
	wait "$CLI"
	sed "s/^\(PASS\|FAIL\) /\1 round $round: /" "$T/soak.out" >"$T/soak.lines"
	count_lines <"$T/soak.lines"
	if [ "$SOAK_RC" -eq 124 ] || [ "$SOAK_RC" -eq 137 ]; then
		fail "round $round" "soak.py timed out"
	fi

	read -r OK BAD <"$T/cli.result"
	if [ "$BAD" -eq 0 ] && [ "$OK" -gt 0 ]; then
		pass "round $round: $OK CLI signatures, each verified by OpenSSL"
	else
		fail "round $round: CLI signatures" "$OK good, $BAD bad: $(head -n 3 "$T/cli.log" | tr '\n' ' ')"
	fi
	n=0 bad=0
	for d in "$OUTDIR"/*.dgst; do
		[ -e "$d" ] || continue
		n=$((n + 1))
		ossl pkeyutl -verify -pubin -inkey "$T/ec256.pem" -in "$d" -sigfile "${d%.dgst}.sig" \
			>/dev/null 2>&1 || bad=$((bad + 1))
	done
	if [ "$n" -ge 32 ] && [ "$bad" -eq 0 ]; then
		pass "round $round: $n sampled ECDSA signatures verified by OpenSSL"
	else
		fail "round $round: sampled ECDSA signatures" "$bad of $n do not verify"
	fi

	if [ -n "$BASE_FDS" ]; then
		NOW=$(wait_fds "$BASE_FDS")
		if [ "$NOW" = "$BASE_FDS" ]; then
			pass "round $round: open fds back to the baseline ($BASE_FDS)"
		else
			fail "round $round: open fds back to the baseline" "$NOW open, baseline $BASE_FDS"
		fi
	fi
	eval "RSS$round=$(rss)"
	echo "  round $round: VmRSS $(rss) KiB"
done

if [ "$ASAN" = yes ]; then
	skip "resident memory stable" "AddressSanitizer's quarantine grows it by design"
elif [ -n "$RSS2" ] && [ -n "$RSS3" ] && [ $((RSS3 - RSS2)) -lt "$RSS_SLACK" ]; then
	pass "resident memory stable: $RSS1, $RSS2, $RSS3 KiB after rounds 1-3"
else
	fail "resident memory stable" "$RSS1, $RSS2, $RSS3 KiB after rounds 1-3 (slack $RSS_SLACK)"
fi
agent_alive "agent alive after the soak"
stop_agent
if [ "$AGENT_RC" = 0 ]; then
	pass "exit 0 on SIGTERM"
else
	fail "exit 0 on SIGTERM" "exit $AGENT_RC"
fi
finish

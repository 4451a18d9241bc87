#!/bin/sh
# run-fuzzers.sh BUDGET_SECONDS: builds the libFuzzer targets with clang,
# ASan and UBSan in a fresh temporary build of this source tree, and runs each
# one for BUDGET_SECONDS, starting from its seed corpus. Used by .ci/run.
# Exit status: 0 when no fuzzer found anything; 1 when one did (its crash
# input and log are kept, and their folder printed); 2 on usage or build errors.
# Env: CC (default clang), MAKEFLAGS as usual, KEEP_FUZZ_BUILD=1 to keep the build.
# SPDX-License-Identifier: Apache-2.0
set -u

usage() {
	echo "usage: $0 BUDGET_SECONDS" >&2
	exit 2
}
[ $# -eq 1 ] || usage
budget=$1
case $budget in '' | *[!0-9]*) usage ;; esac
[ "$budget" -gt 0 ] || usage

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CC:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "run-fuzzers: $cc not found: install the Debian package clang" >&2
	exit 2
fi
if [ ! -x "$srcdir/configure" ]; then
	echo "run-fuzzers: $srcdir/configure is missing: run autoreconf -fi there first" >&2
	exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/p11agent-fuzz.XXXXXX") || exit 2
keep=${KEEP_FUZZ_BUILD:-0}
cleanup() {
	if [ "$keep" = 1 ]; then
		echo "run-fuzzers: build and results kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

san="-fsanitize=address,undefined -fno-sanitize-recover=all"
echo "run-fuzzers: building with $cc in $work/build"
mkdir -p "$work/build" && cd "$work/build" || exit 2
if ! "$srcdir/configure" -q CC="$cc" --enable-fuzzing \
	CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $san" \
	LDFLAGS="$san" >"$work/build.log" 2>&1 ||
	! make -j"$(nproc 2>/dev/null || echo 2)" tests/fuzz/fuzz-frame tests/fuzz/fuzz-handler \
		tests/fuzz/fuzz-conf tests/fuzz/fuzz-audit tests/fuzz/fuzz-keyfile tests/fuzz/fuzz-ssh \
		tests/fuzz/fuzz-sfv tests/fuzz/fuzz-http \
		>>"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	echo "run-fuzzers: build failed (log: $work/build.log)" >&2
	keep=1
	exit 2
fi

status=0
for target in frame handler conf audit keyfile ssh sfv http; do
	corpus=$work/corpus-$target
	out=$work/out-$target
	mkdir -p "$corpus" "$out"
	echo "run-fuzzers: fuzz-$target for ${budget}s"
	# New inputs go to $corpus; the committed seeds are only read.
	if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$work/build/tests/fuzz/fuzz-$target" -max_total_time="$budget" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/" \
		"$corpus" "$srcdir/tests/fuzz/corpus/$target" >"$out/fuzz.log" 2>&1; then
		echo "run-fuzzers: fuzz-$target: ok ($(grep -m1 'stat::number_of_executed_units' "$out/fuzz.log" | sed 's/.*: *//') runs)"
	else
		echo "run-fuzzers: fuzz-$target FOUND A PROBLEM; last lines of its log:"
		tail -n 30 "$out/fuzz.log"
		echo "run-fuzzers: inputs and log in $out (replay: tests/fuzz/fuzz-$target-driver FILE)"
		status=1
		keep=1
	fi
done
exit $status

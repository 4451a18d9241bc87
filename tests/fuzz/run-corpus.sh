#!/bin/sh
# run-corpus.sh: replays each fuzz target's seed corpus through its stdin
# driver (make check). Also replays seeds freshly written by gen-seeds, so
# that the codec's own current messages are checked too.
# Env: top_srcdir, top_builddir (set by tests/Makefile.am; guessed otherwise).
# SPDX-License-Identifier: Apache-2.0
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$top_srcdir}"
fuzz=$top_builddir/tests/fuzz

tmp=$(mktemp -d "${TMPDIR:-/tmp}/p11agent-corpus.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! "$fuzz/gen-seeds" "$tmp" >"$tmp/gen.log" 2>&1; then
	echo "FAIL: gen-seeds could not write fresh seeds:"
	cat "$tmp/gen.log"
	exit 1
fi

status=0
for target in frame handler conf audit keyfile ssh sfv http; do
	driver=$fuzz/fuzz-$target-driver
	corpus=$top_srcdir/tests/fuzz/corpus/$target
	if "$driver" "$corpus" "$tmp/$target"; then
		echo "PASS: fuzz-$target: $(ls "$corpus" | wc -l) committed seeds, $(ls "$tmp/$target" | wc -l) fresh"
	else
		echo "FAIL: fuzz-$target (reproduce: $driver FILE, on each file of $corpus)"
		status=1
	fi
done
exit $status

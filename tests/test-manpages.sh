#!/bin/sh
# test-manpages.sh: every man page's footer (its .TH line) names the version
# configure was given (AC_INIT) and the same date as the others, in the form
#   .TH NAME SECTION YYYY-MM-DD "p11agent VERSION" "MANUAL"
# p11agent.1 names every command and option of the command table, and
# p11a_http.3 every p11a_http_ function of p11agent.h.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

VERSION=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
[ -n "$VERSION" ] || die "no PACKAGE_VERSION in $top_builddir/config.h"

first_date=
first_page=
n=0
for page in "$top_srcdir"/doc/*.[1-8]; do
	name=${page##*/}
	n=$((n + 1))
	th=$(grep -m 1 '^\.TH ' "$page")
	# shellcheck disable=SC2086 # the .TH line's words, as groff reads them
	eval "set -- $th"
	if [ "$#" -eq 6 ] && [ "$5" = "p11agent $VERSION" ]; then
		pass "$name: .TH names p11agent $VERSION"
	else
		fail "$name: .TH names p11agent $VERSION" "$th"
	fi
	if [[ ${4:-} =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
		pass "$name: .TH has a date (YYYY-MM-DD)"
	else
		fail "$name: .TH has a date (YYYY-MM-DD)" "$th"
	fi
	if [ -z "$first_page" ]; then
		first_date=${4:-}
		first_page=$name
	elif [ "${4:-}" = "$first_date" ]; then
		pass "$name: the same date as $first_page"
	else
		fail "$name: the same date as $first_page" "${4:-} vs $first_date"
	fi
done
[ "$n" -ge 4 ] || fail "man pages found" "only $n in $top_srcdir/doc"

# p11agent.1 has every command of the table in its SYNOPSIS, and every
# option each takes (as groff writes them: "\-\-max\-age").
MK=$top_builddir/cli/mkcompletion
PAGE=$top_srcdir/doc/p11agent.1
[ -x "$MK" ] || die "no $MK: build first"
missing=
for cmd in $("$MK" --commands); do
	grep -q "^\.B p11agent ${cmd//-/\\\\-}\( \|\$\)" "$PAGE" || missing="$missing $cmd"
	for opt in $("$MK" --options "$cmd" | grep '^--'); do
		grep -qF -- "${opt//-/\\-}" "$PAGE" || missing="$missing $cmd:$opt"
	done
done
if [ -z "$missing" ]; then
	pass "p11agent.1 documents every command and option"
else
	fail "p11agent.1 documents every command and option" "missing:$missing"
fi

# p11a_http.3 has every p11a_http_ function of p11agent.h in its NAME and SYNOPSIS.
HDR=$top_srcdir/proto/p11agent.h
missing=
for fn in $(grep -o 'p11a_http_[a-z_]*(' "$HDR" | tr -d '(' | sort -u); do
	[ "$(grep -cF "$fn" "$top_srcdir/doc/p11a_http.3")" -ge 2 ] || missing="$missing $fn"
done
if [ -z "$missing" ]; then
	pass "p11a_http.3 documents every p11a_http_ function"
else
	fail "p11a_http.3 documents every p11a_http_ function" "missing:$missing"
fi

finish

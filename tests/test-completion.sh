#!/bin/sh
# test-completion.sh: the bash completion, generated from the command table,
# offers every command, every option of each command, the algorithms --alg
# takes, the formats, and file names. The lists it checks come from the table
# (mkcompletion --commands / --options) and from p11agent's own help, not
# from a copy here, so a command or option the completion misses fails.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

MK=$top_builddir/cli/mkcompletion
SCRIPT=$top_builddir/contrib/bash-completion/p11agent
[ -x "$MK" ] || die "no $MK: build first"
[ -f "$SCRIPT" ] || die "no $SCRIPT: build first"
# shellcheck disable=SC1090
. "$SCRIPT" || die "the completion script does not load"

# offered WORDS...: what completing the last word offers, a line each.
offered() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_p11agent
	printf '%s\n' "${COMPREPLY[@]}"
}

# has LIST WORD: WORD is a line of LIST.
has() {
	printf '%s\n' "$1" | grep -Fxq -- "$2"
}

mapfile -t cmds < <("$MK" --commands)
[ "${#cmds[@]}" -ge 13 ] || fail "mkcompletion --commands" "only ${#cmds[@]} commands"
"$P11AGENT" --help >"$T/help" || fail "p11agent --help" "exit $?"
top=$(offered p11agent "")
for cmd in "${cmds[@]}"; do
	if has "$top" "$cmd"; then
		pass "p11agent <TAB> offers $cmd"
	else
		fail "p11agent <TAB> offers $cmd" "offered: $(echo $top)"
	fi
	grep -Eq "^  $cmd( |\$)" "$T/help" || fail "p11agent --help lists $cmd" "not in the help"
	timeout 10 "$P11AGENT" "$cmd" --help >/dev/null ||
		fail "p11agent $cmd --help" "exit $?: the parser does not know it"
	has "$(offered p11agent help "")" "$cmd" || fail "p11agent help <TAB> offers $cmd" "missing"

	mapfile -t opts < <("$MK" --options "$cmd")
	dash=$(offered p11agent "$cmd" -)
	ddash=$(offered p11agent -S /s "$cmd" k --)
	for opt in "${opts[@]}"; do
		if has "$dash" "$opt"; then
			pass "p11agent $cmd -<TAB> offers $opt"
		else
			fail "p11agent $cmd -<TAB> offers $opt" "offered: $(echo $dash)"
		fi
		case $opt in
		--*) has "$ddash" "$opt" || fail "p11agent -S /s $cmd k --<TAB> offers $opt" \
			"offered: $(echo $ddash)" ;;
		esac
	done
	# Nothing the command does not take.
	for word in $dash; do
		has "$(printf '%s\n' "${opts[@]}")" "$word" ||
			fail "p11agent $cmd -<TAB>" "offers $word, which $cmd does not take"
	done
done
# The global options, before a command.
for opt in --socket -S --json --help -h --version; do
	has "$(offered p11agent -)" "$opt" || fail "p11agent -<TAB> offers $opt" "missing"
done
pass "p11agent -<TAB> offers the global options"

# --alg: the algorithms the command's help names after "ALG is one of:".
for cmd in "${cmds[@]}"; do
	"$MK" --options "$cmd" | grep -qx -- --alg || continue
	"$P11AGENT" "$cmd" --help | sed -n '/^ALG is one of:/,/^$/p' | tail -n +2 |
		tr ',' '\n' | tr -d ' ' | grep -v '^$' | sort >"$T/want"
	offered p11agent "$cmd" k --alg "" | sort >"$T/got"
	if [ -s "$T/want" ] && cmp -s "$T/want" "$T/got"; then
		pass "p11agent $cmd --alg <TAB>: the algorithms of its help ($(wc -l <"$T/got"))"
	else
		fail "p11agent $cmd --alg <TAB>" "offers $(echo $(cat "$T/got")); help: $(echo $(cat "$T/want"))"
	fi
done
has "$(offered p11agent sign k --alg ed)" ed25519 && pass "--alg ed<TAB> gives ed25519" ||
	fail "--alg ed<TAB>" "$(offered p11agent sign k --alg ed)"

# --format, and file names.
[ "$(offered p11agent pubkey k --format "" | sort | tr '\n' ' ')" = "der pem ssh " ] &&
	pass "pubkey --format <TAB>: pem der ssh" ||
	fail "pubkey --format <TAB>" "$(offered p11agent pubkey k --format "")"
# keygen --type: the key types of keygen's help; cert: its action words.
"$P11AGENT" keygen --help | sed -n '/^  --type TYPE/,/^  --ops/p' | grep -o '[a-z]*:[A-Z0-9-]\+\|ed25519' |
	sort >"$T/want"
offered p11agent keygen k --type "" | sort >"$T/got"
if [ "$(wc -l <"$T/want")" -eq 12 ] && cmp -s "$T/want" "$T/got"; then
	pass "keygen --type <TAB>: the 12 key types of its help"
else
	fail "keygen --type <TAB>" "offers $(echo $(cat "$T/got")); help: $(echo $(cat "$T/want"))"
fi
# http-sign --digest: its two names; --alg of the http commands: RFC 9421's, not proto's.
[ "$(offered p11agent http-sign k --digest "" | sort | tr '\n' ' ')" = "sha-256 sha-512 " ] &&
	pass "http-sign --digest <TAB>: sha-256 sha-512" ||
	fail "http-sign --digest <TAB>" "$(offered p11agent http-sign k --digest "")"
has "$(offered p11agent http-verify k --alg ecdsa-p)" ecdsa-p384-sha384 &&
	! has "$(offered p11agent http-verify k --alg "")" ecdsa-sha256 &&
	pass "http-verify --alg <TAB>: the RFC 9421 names" ||
	fail "http-verify --alg <TAB>" "$(offered p11agent http-verify k --alg "")"
[ "$(offered p11agent cert "" | sort | tr '\n' ' ')" = "import issue " ] &&
	pass "cert <TAB>: import issue" || fail "cert <TAB>" "$(offered p11agent cert "")"
: >"$T/msg-one.txt"
for words in "sign k -i" "sign k --out" "keyfile k -o" "verify k --sig" "seal --key-file" "-S" \
	"audit-verify --pubkey" "audit-verify" "cert import k -i" "rewrap k -o" \
	"http-sign k --request" "http-verify k -i"; do
	# shellcheck disable=SC2086
	if has "$(offered p11agent $words "$T/msg-o")" "$T/msg-one.txt"; then
		pass "p11agent $words <TAB> completes a file name"
	else
		fail "p11agent $words <TAB> completes a file name" "$(offered p11agent $words "$T/msg-o")"
	fi
done

finish

#!/bin/sh
# test-hybrid.sh: the seed's flow end to end: contrib/hybrid-example against
# the test token (a fresh AES-256 key wrapped with RSA-OAEP-SHA256, the file
# under AES-256-GCM, the key unwrapped through the agent); and the two local
# commands it uses, p11agent seal and open, against openssl cms both ways.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools python3 od cmp timeout realpath
make_token "$KEY_RSA2048" "$KEY_RSA3072" "$KEY_EC256"
cat >"$T/p11agent.conf" <<EOF
# p11agentd test configuration: the example's default key name
[key server-rsa]
uri = pkcs11:id=%01
EOF
start_agent --config "$T/p11agent.conf" || finish

EXAMPLE=$top_srcdir/contrib/hybrid-example
EXAMPLE_TMP=$T/tmp
mkdir -p "$EXAMPLE_TMP"
umask 077

# run_example ARGS...: runs the example (bounded in time) with the test's
# p11agent and openssl, its temporary folder in $EXAMPLE_TMP.
run_example() {
	run env P11AGENT="$P11AGENT" OPENSSL="$OPENSSL" TMPDIR="$EXAMPLE_TMP" \
		timeout -k 2 120 bash "$EXAMPLE" "$@"
}

# example NAME ARGS...: passes when the example exits 0 and says the file
# round-tripped.
example() {
	local name=$1
	shift
	run_example "$@"
	if [ "$RC" -eq 0 ] && grep -q 'round-tripped' "$OUT"; then
		pass "$name"
	else
		fail "$name" "exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
}

# --- the example ---------------------------------------------------------------------
# As a user runs it: the socket from P11AGENT_SOCK, the default key name.
P11AGENT_SOCK=$SOCK example "hybrid example, default key (server-rsa)"
cp "$OUT" "$T/example.out"
for what in 'p11agent pubkey server-rsa' 'openssl rand' 'rsa_oaep_md:sha256' \
	'p11agent seal' 'p11agent unwrap server-rsa' 'p11agent open --key-file -'; do
	if grep -qF -- "$what" "$T/example.out"; then
		pass "hybrid example shows '$what'"
	else
		fail "hybrid example shows '$what'" "$(show "$T/example.out")"
	fi
done
# -S, a key of 3072 bits whose label needs quoting, a binary file of 200 KiB.
head -c 204800 /dev/urandom >"$T/big.bin"
example "hybrid example, -S, odd label, binary file" -S "$SOCK" "$ODD_LABEL" "$T/big.bin"
P11AGENT_SOCK=$SOCK P11AGENT_KEY=rsa2048 example "hybrid example, P11AGENT_KEY"
# With neither P11AGENT nor OPENSSL set: both from PATH.
mkdir -p "$T/bin"
ln -s "$P11AGENT" "$T/bin/p11agent"
ln -s "$(command -v "$OPENSSL")" "$T/bin/openssl"
run env -u P11AGENT -u OPENSSL PATH="$T/bin:$PATH" TMPDIR="$EXAMPLE_TMP" \
	timeout -k 2 120 bash "$EXAMPLE" -S "$SOCK" rsa2048
if [ "$RC" -eq 0 ] && grep -q 'round-tripped' "$OUT"; then
	pass "hybrid example, p11agent and openssl from PATH"
else
	fail "hybrid example, p11agent and openssl from PATH" \
		"exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
fi
# Relative paths (socket, p11agent, file, TMPDIR): the example works in a
# folder of its own, they must still work there.
cp "$T/big.bin" "$T/rel.bin"
run env -C "$T" P11AGENT=bin/p11agent OPENSSL="$OPENSSL" P11AGENT_SOCK=agent.sock TMPDIR=tmp \
	timeout -k 2 120 bash "$EXAMPLE" rsa2048 rel.bin
if [ "$RC" -eq 0 ] && grep -q 'round-tripped' "$OUT"; then
	pass "hybrid example, relative paths"
else
	fail "hybrid example, relative paths" "exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
fi
# An EC key cannot take an RSA-OAEP-wrapped key; an unknown key: the example fails.
for key in ec256 no-such-key; do
	run_example -S "$SOCK" "$key"
	if [ "$RC" -ne 0 ] && ! grep -q 'round-tripped' "$OUT"; then
		pass "hybrid example fails with $key (exit $RC)"
	else
		fail "hybrid example fails with $key" "exit $RC; stdout: $(show "$OUT")"
	fi
done
# --help prints the usage and exits 0; an unknown option, or too many
# arguments, is a usage error (exit 2), never taken for a key name.
for arg in --help -h; do
	run_example "$arg"
	if [ "$RC" -eq 0 ] && grep -q 'Usage: contrib/hybrid-example \[-S SOCKET\] \[KEY \[FILE\]\]' "$OUT" &&
		! grep -q 'pubkey' "$OUT"; then
		pass "hybrid example $arg: usage, exit 0"
	else
		fail "hybrid example $arg: usage, exit 0" "exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
done
# (Each case: the arguments, then the word the message must name.)
for case in "--bogus|'--bogus'" "-x rsa2048|'-x'" "-S|'-S'" "rsa2048 file extra|'extra'"; do
	args=${case%|*}
	# shellcheck disable=SC2086 # each case is a list of words
	run_example $args
	if [ "$RC" -eq 2 ] && grep -q 'Usage: contrib/hybrid-example' "$ERR" &&
		grep -qF -- "${case#*|}" "$ERR" && [ ! -s "$OUT" ]; then
		pass "hybrid example '$args': usage error, exit 2"
	else
		fail "hybrid example '$args': usage error, exit 2" \
			"exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
	fi
done
if [ -z "$(find "$EXAMPLE_TMP" -mindepth 1 -print -quit)" ]; then
	pass "hybrid example leaves no files behind"
else
	fail "hybrid example leaves no files behind" "$(find "$EXAMPLE_TMP" -mindepth 1 | head -n 5 | tr "\n" " ")"
fi

# --- seal and open against openssl cms -----------------------------------------------
printf 'a document for the hybrid test\n' >"$T/doc"
head -c 5000 /dev/urandom >>"$T/doc"

# cms_form FILE: DER or PEM, as openssl cms -inform wants it.
cms_form() {
	if head -c 11 "$1" | grep -q -- '-----BEGIN'; then echo PEM; else echo DER; fi
}

for len in 16 24 32; do
	head -c "$len" /dev/urandom >"$T/k$len"
	rm -f "$T/doc.cms" "$T/doc.out"
	check_rc "seal with a $len-byte key" 0 \
		p11a seal --key-file "$T/k$len" -i "$T/doc" -o "$T/doc.cms" || continue
	# (The test's own random key in openssl's argv: openssl offers no other way.)
	if ossl cms -decrypt -secretkey "$(hex "$T/k$len")" -inform "$(cms_form "$T/doc.cms")" \
		-in "$T/doc.cms" -out "$T/doc.out" 2>"$T/ossl.err"; then
		same_bytes "openssl cms opens what seal made ($len-byte key)" "$T/doc.out" "$T/doc"
	else
		fail "openssl cms opens what seal made ($len-byte key)" "$(show "$T/ossl.err")"
	fi
	if ossl cms -cmsout -print -inform "$(cms_form "$T/doc.cms")" -in "$T/doc.cms" \
		>"$T/cms.txt" 2>&1 && grep -q 'aes-256-gcm' "$T/cms.txt" &&
		grep -q 'authEnvelopedData' "$T/cms.txt"; then
		pass "seal makes AuthEnvelopedData with aes-256-gcm ($len-byte key)"
	else
		fail "seal makes AuthEnvelopedData with aes-256-gcm ($len-byte key)" \
			"$(show "$T/cms.txt")"
	fi
	rm -f "$T/doc.out"
	if check_rc "open what seal made ($len-byte key)" 0 \
		p11a open --key-file "$T/k$len" -i "$T/doc.cms" -o "$T/doc.out"; then
		same_bytes "open what seal made ($len-byte key)" "$T/doc.out" "$T/doc"
	fi
	ossl cms -encrypt -aes-256-gcm -secretkey "$(hex "$T/k$len")" -secretkeyid 0102 -binary \
		-outform DER -in "$T/doc" -out "$T/ossl.cms"
	rm -f "$T/doc.out"
	if check_rc "open what openssl cms made ($len-byte key)" 0 \
		p11a open --key-file "$T/k$len" -i "$T/ossl.cms" -o "$T/doc.out"; then
		same_bytes "open what openssl cms made ($len-byte key)" "$T/doc.out" "$T/doc"
	fi
done
# The key on stdin (--key-file -), the document and the result through files.
if timeout 30 "$P11AGENT" open --key-file - -i "$T/ossl.cms" -o "$T/doc.out" \
	<"$T/k32" 2>"$ERR"; then
	same_bytes "open --key-file -" "$T/doc.out" "$T/doc"
else
	fail "open --key-file -" "stderr: $(show "$ERR")"
fi
# Stdin to stdout.
if timeout 30 "$P11AGENT" seal --key-file "$T/k32" <"$T/doc" >"$T/stdin.cms" 2>"$ERR" &&
	timeout 30 "$P11AGENT" open --key-file "$T/k32" <"$T/stdin.cms" >"$T/doc.out" 2>"$ERR"; then
	same_bytes "seal and open stdin to stdout" "$T/doc.out" "$T/doc"
else
	fail "seal and open stdin to stdout" "stderr: $(show "$ERR")"
fi
# An empty document.
: >"$T/empty"
rm -f "$T/doc.out"
if check_rc "seal an empty file" 0 p11a seal --key-file "$T/k32" -i "$T/empty" -o "$T/empty.cms" &&
	check_rc "open an empty file" 0 \
		p11a open --key-file "$T/k32" -i "$T/empty.cms" -o "$T/doc.out"; then
	same_bytes "an empty file round-trips" "$T/doc.out" "$T/empty"
fi
# Two seals of the same file under the same key differ (a fresh content key and IV).
p11a seal --key-file "$T/k32" -i "$T/doc" -o "$T/doc.cms2" 2>/dev/null
p11a seal --key-file "$T/k32" -i "$T/doc" -o "$T/doc.cms" 2>/dev/null
if [ -s "$T/doc.cms2" ] && ! cmp -s "$T/doc.cms" "$T/doc.cms2"; then
	pass "two seals differ"
else
	fail "two seals differ" "the same bytes twice"
fi

# --- seal and open failures: exit code, message, no plaintext ---------------------------
head -c 32 /dev/urandom >"$T/k.other"
check_refused "open with the wrong key" 1 'fail|key|decrypt|authent' \
	p11a open --key-file "$T/k.other" -i "$T/doc.cms"
check_refused "open with a 16-byte key a 32-byte key sealed" 1 'fail|key|decrypt|authent' \
	p11a open --key-file "$T/k16" -i "$T/doc.cms"
# The tag (at the end) and a byte of the ciphertext changed.
python3 - "$T/doc.cms" "$T/tag.cms" "$T/mid.cms" <<'EOF'
import sys
b = open(sys.argv[1], 'rb').read()
t = bytearray(b); t[-1] ^= 0x01
open(sys.argv[2], 'wb').write(t)
m = bytearray(b); m[len(m) - 2000] ^= 0x01
open(sys.argv[3], 'wb').write(m)
EOF
if [ "$(cms_form "$T/doc.cms")" = DER ]; then
	check_refused "open with the tag changed" 1 'fail|authent|tag|decrypt|integrity' \
		p11a open --key-file "$T/k32" -i "$T/tag.cms"
	check_refused "open with the ciphertext changed" 1 'fail|authent|tag|decrypt|integrity' \
		p11a open --key-file "$T/k32" -i "$T/mid.cms"
else
	skip "open with the tag changed" "seal writes PEM"
fi
cut_len=$(($(wc -c <"$T/doc.cms") - 100))
head -c "$cut_len" "$T/doc.cms" >"$T/cut.cms"
check_refused "open a truncated file" 1 'fail|invalid|parse|CMS|read|truncat|decrypt' \
	p11a open --key-file "$T/k32" -i "$T/cut.cms"
check_refused "open a file that is not CMS" 1 'CMS|parse|invalid|read|not|decrypt' \
	p11a open --key-file "$T/k32" -i "$T/doc"
head -c 20 /dev/urandom >"$T/k20"
check_refused "seal with a 20-byte key" '1|2' '16|24|32|key|length|bytes' \
	p11a seal --key-file "$T/k20" -i "$T/doc"
check_refused "seal with an empty key file" '1|2' '16|24|32|key|length|bytes|empty' \
	p11a seal --key-file "$T/empty" -i "$T/doc"
check_refused "seal with a missing key file" 1 'no such|does-not-exist|key' \
	p11a seal --key-file "$T/does-not-exist" -i "$T/doc"
check_refused "seal without --key-file" 2 'key-file' p11a seal -i "$T/doc"
check_refused "open without --key-file" 2 'key-file' p11a open -i "$T/doc.cms"
: >"$T/empty.in"
check_refused "open --key-file - with nothing on stdin" '1|2' '16|24|32|key|length|empty' \
	timeout 30 "$P11AGENT" open --key-file - -i "$T/doc.cms" <"$T/empty.in"

agent_alive "agent alive at the end"
stop_agent
finish

#!/bin/sh
# test-keyfile-cli.sh: 'p11agent keyfile KEY [-o OUT]' against a SoftHSM
# token and a real agent. For RSA, EC P-256 and Ed25519 keys: the file is one
# "P11AGENT KEY" PEM block whose public key is 'p11agent pubkey KEY' byte for
# byte and whose URI is the key's own (list's URI; signing with it works and
# OpenSSL verifies the signature with the file's public key); OpenSSL without
# the provider refuses the file with its ordinary error. -o writes a file,
# /dev/stdout, /dev/null, a symlink's target, and replaces an existing file
# whole. Refused: an HMAC and an AES key, a missing key, no agent running.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# What the test needs; a missing tool fails it (CI installs them all).
for tool in "$OPENSSL" od cmp stat timeout; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed" "required tools"
done
[ -n "${SOFTHSM_MODULE:-}" ] && [ -f "$SOFTHSM_MODULE" ] ||
	die "no SoftHSM2 module (SOFTHSM_MODULE='${SOFTHSM_MODULE:-}'): install softhsm2" "SoftHSM2"
DECODE=$top_builddir/tests/keyfile-decode
for prog in "$P11AGENTD" "$P11AGENT" "$MKTOKEN" "$DECODE"; do
	[ -x "$prog" ] || die "$prog is not built" "build"
done

umask 022
make_token "$KEY_RSA2048" "$KEY_EC256" "$KEY_ED25519" "$KEY_HMAC" "$KEY_AES"
start_agent || finish

MSG=$T/msg
printf 'key file test message\n' >"$MSG"
head -c 2000 /dev/urandom >>"$MSG"

# OpenSSL with the default provider alone: what every program has without
# the p11agent provider.
cat >"$T/default-only.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
[default_sect]
activate = 1
EOF

run p11a list
cp "$OUT" "$T/list"

# list_uri LABEL: the URI list prints for the key labelled LABEL.
list_uri() {
	awk -v l="$1" '$1 == l { print $NF }' "$T/list"
}

# ossl_verify NAME PUB SIG: OpenSSL verifies the default signature of $MSG.
ossl_verify() {
	case $1 in
	ed25519) ossl pkeyutl -verify -rawin -pubin -inkey "$2" -in "$MSG" -sigfile "$3" ;;
	*) ossl dgst -sha256 -verify "$2" -signature "$3" "$MSG" ;;
	esac
}

# --- RSA, EC P-256, Ed25519 ----------------------------------------------------
for name in rsa2048 ec256 ed25519; do
	kf=$T/$name.keyfile
	check_rc "keyfile $name" 0 p11a keyfile "$name" || continue
	cp "$OUT" "$kf"
	if [ "$(head -n 1 "$kf")" = "-----BEGIN P11AGENT KEY-----" ] &&
		[ "$(tail -n 1 "$kf")" = "-----END P11AGENT KEY-----" ] &&
		[ "$(grep -c -- '-----BEGIN' "$kf")" = 1 ]; then
		pass "keyfile $name: one P11AGENT KEY PEM block"
	else
		fail "keyfile $name: one P11AGENT KEY PEM block" "$(show "$kf")"
	fi
	[ -s "$ERR" ] && fail "keyfile $name: nothing on stderr" "$(show "$ERR")"

	if ! "$DECODE" "$kf" "$T/$name.spki" >"$T/$name.uri" 2>"$ERR"; then
		fail "keyfile $name decodes" "$(show "$ERR")"
		continue
	fi
	pass "keyfile $name decodes"
	if check_rc "pubkey $name --format der" 0 p11a pubkey "$name" --format der; then
		same_bytes "keyfile $name: its public key is pubkey's, byte for byte" \
			"$T/$name.spki" "$OUT"
	fi
	uri=$(cat "$T/$name.uri")
	want=$(list_uri "$name")
	if [ -n "$want" ] && [ "$uri" = "$want" ]; then
		pass "keyfile $name: its URI is list's ($uri)"
	else
		fail "keyfile $name: its URI is list's" "file: '$uri'; list: '$want'"
	fi
	# The URI names this key: a signature made with it verifies under the
	# file's public key.
	if ossl pkey -pubin -inform DER -in "$T/$name.spki" -out "$T/$name.pub.pem" \
		>"$T/ossl.out" 2>&1 &&
		check_rc "sign with the file's URI ($name)" 0 p11a sign "$uri" -i "$MSG" -o "$T/sig"; then
		if ossl_verify "$name" "$T/$name.pub.pem" "$T/sig" >"$T/ossl.out" 2>&1; then
			pass "openssl verifies with the file's public key ($name)"
		else
			fail "openssl verifies with the file's public key ($name)" "$(show "$T/ossl.out")"
		fi
	else
		fail "sign with the file's URI ($name)" "$(show "$T/ossl.out")"
	fi
	# OpenSSL without the provider (the default provider alone, and the
	# system's openssl.cnf): its ordinary error, exit 1, no key.
	for conf in default-only system; do
		for opts in "" "-pubout" "-text -noout"; do
			# shellcheck disable=SC2086 # opts are words
			if [ "$conf" = system ]; then
				env -u OPENSSL_CONF timeout -k 2 30 "$OPENSSL" pkey -in "$kf" $opts
			else
				OPENSSL_CONF=$T/default-only.cnf timeout -k 2 30 "$OPENSSL" pkey \
					-in "$kf" $opts
			fi </dev/null >"$OUT" 2>"$ERR"
			RC=$?
			what="openssl pkey -in $name.keyfile${opts:+ $opts} ($conf openssl.cnf)"
			if [ "$RC" = 1 ] && grep -q 'Could not read key' "$ERR" &&
				grep -q 'unsupported' "$ERR" && ! [ -s "$OUT" ]; then
				pass "$what: exit 1, OpenSSL's ordinary error, no key"
			else
				fail "$what" "exit $RC; stdout: $(show "$OUT"); stderr: $(show "$ERR")"
			fi
		done
	done
done

# The same key named another way gives the same file.
if check_rc "keyfile id:03" 0 p11a keyfile id:03 && cmp -s "$OUT" "$T/ec256.keyfile"; then
	pass "keyfile id:03 is keyfile ec256"
else
	fail "keyfile id:03 is keyfile ec256" "$(show "$OUT")"
fi
if check_rc "keyfile by URI" 0 p11a keyfile "$(list_uri ed25519)" &&
	cmp -s "$OUT" "$T/ed25519.keyfile"; then
	pass "keyfile URI is keyfile ed25519"
else
	fail "keyfile URI is keyfile ed25519" "$(show "$OUT")"
fi
# A public key is not a key file.
p11a pubkey ec256 >"$T/ec256.pub" 2>/dev/null
if ! "$DECODE" "$T/ec256.pub" "$T/x.spki" >"$OUT" 2>"$ERR" && grep -q BAD_INPUT "$ERR"; then
	pass "a PUBLIC KEY PEM is not a key file"
else
	fail "a PUBLIC KEY PEM is not a key file" "$(show "$OUT") $(show "$ERR")"
fi

# --- -o -----------------------------------------------------------------------
mkdir "$T/o"
if check_rc "keyfile -o FILE" 0 p11a keyfile ec256 -o "$T/o/ec.key" && ! [ -s "$OUT" ] &&
	cmp -s "$T/o/ec.key" "$T/ec256.keyfile"; then
	pass "keyfile -o FILE: the file, nothing on stdout"
else
	fail "keyfile -o FILE" "$(show "$T/o/ec.key")"
fi
mode=$(stat -c %a "$T/o/ec.key" 2>/dev/null)
[ "$mode" = 644 ] && pass "a new key file: mode 0644 under umask 022" ||
	fail "a new key file: mode 0644 under umask 022" "mode $mode"

check_rc "keyfile -o /dev/stdout" 0 p11a keyfile rsa2048 -o /dev/stdout &&
	same_bytes "keyfile -o /dev/stdout: the file on stdout" "$OUT" "$T/rsa2048.keyfile"
check_rc "keyfile -o -" 0 p11a keyfile rsa2048 -o - &&
	same_bytes "keyfile -o -: the file on stdout" "$OUT" "$T/rsa2048.keyfile"
if check_rc "keyfile -o /dev/null" 0 p11a keyfile rsa2048 -o /dev/null && [ -c /dev/null ]; then
	pass "keyfile -o /dev/null leaves /dev/null a device"
fi

# An existing file: replaced whole (a new inode renamed over it), its mode
# kept, another hard link keeping the old content, nothing left beside it.
printf 'old content\n' >"$T/o/web.key"
chmod 0640 "$T/o/web.key"
ln "$T/o/web.key" "$T/o/web.key.link"
inode=$(stat -c %i "$T/o/web.key")
if check_rc "keyfile -o an existing file" 0 p11a keyfile ed25519 -o "$T/o/web.key"; then
	same_bytes "the existing file now holds the key file" "$T/o/web.key" "$T/ed25519.keyfile"
	[ "$(stat -c %i "$T/o/web.key")" != "$inode" ] &&
		pass "replaced by rename (a new inode)" ||
		fail "replaced by rename (a new inode)" "the same inode $inode: written in place"
	[ "$(stat -c %a "$T/o/web.key")" = 640 ] && pass "the replaced file keeps mode 0640" ||
		fail "the replaced file keeps mode 0640" "mode $(stat -c %a "$T/o/web.key")"
	[ "$(cat "$T/o/web.key.link")" = "old content" ] &&
		pass "another hard link keeps the old content" ||
		fail "another hard link keeps the old content" "$(show "$T/o/web.key.link")"
fi
# A refused key leaves the existing file as it was.
cp "$T/o/web.key" "$T/web.key.before"
check_rc "keyfile hmac -o an existing file: refused" 1 p11a keyfile hmac -o "$T/o/web.key"
same_bytes "a refused keyfile leaves the existing file as it was" "$T/o/web.key" "$T/web.key.before"
# A symlink stays a link; its target gets the file.
ln -s web.key "$T/o/link.key"
if check_rc "keyfile -o a symlink" 0 p11a keyfile ec256 -o "$T/o/link.key" &&
	[ -L "$T/o/link.key" ]; then
	same_bytes "keyfile -o a symlink writes its target, the link stays" "$T/o/web.key" \
		"$T/ec256.keyfile"
else
	fail "keyfile -o a symlink" "$(ls -l "$T/o/link.key")"
fi
left=$(cd "$T/o" && ls -A | sort | tr '\n' ' ')
[ "$left" = "ec.key link.key web.key web.key.link " ] && pass "no temporary file left beside OUT" ||
	fail "no temporary file left beside OUT" "the folder holds: $left"

# --- refused --------------------------------------------------------------------
for name in hmac aes256; do
	check_refused "keyfile $name (a secret key)" 1 "'$name' is a secret key.*RSA, EC and Ed25519" \
		p11a keyfile "$name"
done
check_rc "keyfile hmac --json" 1 p11a --json keyfile hmac &&
	check_err "keyfile hmac --json: NOT_SUPPORTED" '^\{"error":"NOT_SUPPORTED","code":1,'
check_refused "keyfile of a missing key" 5 "no key matches 'no-such-key'.*p11agent list" \
	p11a keyfile no-such-key
check_refused "keyfile of a missing key -o FILE" 5 "no key matches 'no-such-key'" \
	p11a keyfile no-such-key -o "$T/o/missing.key"
[ -e "$T/o/missing.key" ] && fail "no file for a missing key" "$T/o/missing.key was made" ||
	pass "no file for a missing key"
check_rc "keyfile without KEY: usage" 2 p11a keyfile
check_err "keyfile without KEY: says so" "keyfile: missing KEY"

# No agent running.
stop_agent
[ "$AGENT_RC" = 0 ] && pass "the agent stopped cleanly" || fail "the agent stopped cleanly" "exit $AGENT_RC"
run p11a keyfile ec256 -o "$T/o/noagent.key"
if [ "$RC" = 3 ]; then
	pass "keyfile with no agent running: exit 3"
else
	fail "keyfile with no agent running: exit 3" "exit $RC; stderr: $(show "$ERR")"
fi
check_err "keyfile with no agent running: says so, naming the socket" \
	"cannot reach the agent at $SOCK.*(start p11agentd|no agent|nobody)"
[ -s "$OUT" ] && fail "keyfile with no agent running: nothing on stdout" "$(show "$OUT")"
[ -e "$T/o/noagent.key" ] && fail "no file with no agent running" "$T/o/noagent.key was made" ||
	pass "no file with no agent running"

finish

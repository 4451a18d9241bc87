#!/bin/sh
# test-output.sh: how -o PATH writes, checked with signatures that OpenSSL
# verifies. A character device, a FIFO and /dev/stdout are written into and
# stay what they were; a symlink is written through and stays a link; a
# regular file is replaced whole, keeping its mode (and, as root, its owner),
# and a failure leaves the old file as it was, with no temporary file beside
# it. A dangling symlink, a directory, a socket and another user's link in a
# sticky folder are refused. As an ordinary user (setpriv, uid 54400),
# /dev/null and /dev/stdout work and a folder the user may not write gets a
# clear error. The parts that need root (a device node of the test's own,
# /dev/null, other uids) are skipped otherwise.
#
# The system's /dev/null, /dev/stdout and /dev/stderr are used only after a
# private device node and a private symlink were written through and stayed
# what they were: a CLI that replaced those would replace the system's too.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools stat cmp timeout mkfifo
make_token "$KEY_EC256"

ROOT=no
[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 && ROOT=yes
UU=54400 # an ordinary user, in the socket's group
SGID=54401

# The clients' files: readable by all; the rest of $T stays private but passable.
chmod 0711 "$T"
D=$T/data
mkdir -m 0755 "$D"
MSG=$D/msg
printf 'p11agent output test\n' >"$MSG"
head -c 2000 /dev/urandom >>"$MSG"
chmod 0644 "$MSG"
cp "$top_srcdir/tests/lsan.supp" "$D/lsan.supp" 2>/dev/null && chmod 0644 "$D/lsan.supp"

# As root, the socket and the key are for the ordinary user too.
SOCK=$T/run/agent.sock
{
	echo "# p11agentd test configuration: a key the ordinary user may sign with"
	[ "$ROOT" = yes ] && echo "socket-group = $SGID"
	echo "[key signer]"
	echo "uri = pkcs11:object=ec256;type=private"
	[ "$ROOT" = yes ] && echo "allow-users = $UU"
} >"$T/p11agent.conf"
start_agent --config "$T/p11agent.conf" || finish
p11a pubkey signer >"$D/pub.pem" 2>"$ERR" || die "pubkey signer: $(show "$ERR")"

# sig_ok NAME FILE: passes when FILE holds a signature of $MSG that OpenSSL accepts.
sig_ok() {
	if ossl dgst -sha256 -verify "$D/pub.pem" -signature "$2" "$MSG" >"$T/ossl.out" 2>&1 &&
		grep -q 'Verified OK' "$T/ossl.out"; then
		pass "$1"
	else
		fail "$1" "openssl: $(show "$T/ossl.out")"
	fi
}

# is_kind NAME PATH KIND: passes when stat -c %F of PATH (not followed) is KIND.
is_kind() {
	local got
	got=$(stat -c %F "$2" 2>&1)
	if [ "$got" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "$2 is a '$got', expected a '$3'"
	fi
}

# only_files NAME DIR FILE...: passes when DIR holds exactly FILE... (no temporary file).
only_files() {
	local name=$1 dir=$2 got want
	shift 2
	got=$(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	if [ "$got" = "$want" ]; then
		pass "$name"
	else
		fail "$name" "$dir holds: $got; expected: $want"
	fi
}

# A regular file that does not exist yet, then one replaced whole.
check "new file" p11a sign signer -i "$MSG" -o "$D/new.sig"
sig_ok "new file: signature" "$D/new.sig"
printf 'old\n' >"$D/kept.sig"
chmod 0640 "$D/kept.sig"
ln "$D/kept.sig" "$D/kept.link"
check "existing file" p11a sign signer -i "$MSG" -o "$D/kept.sig"
sig_ok "existing file: signature" "$D/kept.sig"
mode=$(stat -c %a "$D/kept.sig")
if [ "$mode" = 640 ]; then
	pass "existing file: mode 0640 kept"
else
	fail "existing file: mode 0640 kept" "mode is now $mode"
fi
# A new file is put in place: the other hard link keeps the old content.
if [ "$(cat "$D/kept.link")" = old ]; then
	pass "existing file: another hard link keeps the old file"
else
	fail "existing file: another hard link keeps the old file" "$(show "$D/kept.link")"
fi
rm -f "$D/kept.link"

# A secret (open's plaintext) into an existing file of mode 0644: mode 0600.
head -c 32 /dev/urandom >"$T/k.bin"
chmod 0600 "$T/k.bin"
check "seal" p11a seal --key-file "$T/k.bin" -i "$MSG" -o "$T/msg.cms"
printf 'old\n' >"$D/secret.out"
chmod 0644 "$D/secret.out"
check "secret into an existing file" p11a open --key-file "$T/k.bin" -i "$T/msg.cms" -o "$D/secret.out"
same_bytes "secret into an existing file: plaintext" "$D/secret.out" "$MSG"
mode=$(stat -c %a "$D/secret.out")
if [ "$mode" = 600 ]; then
	pass "secret into an existing file: mode 0600"
else
	fail "secret into an existing file: mode 0600" "mode is now $mode"
fi

# A failing write (the file size limit is 0: write() fails with EFBIG) or a
# failing sign leaves the old file in place and no temporary file.
mkdir -m 0755 "$D/fail"
printf 'good old content\n' >"$D/fail/out.sig"
cp "$D/fail/out.sig" "$T/fail.orig"
# (Its stderr goes through a pipe: the limit holds for a file there too.)
bash -c 'trap "" XFSZ; ulimit -f 0; exec "$@"' - timeout -k 2 30 "$P11AGENT" -S "$SOCK" \
	sign signer -i "$MSG" -o "$D/fail/out.sig" 2>&1 >/dev/null | cat >"$ERR"
RC=${PIPESTATUS[0]}
if [ "$RC" -eq 1 ]; then
	pass "failing write: exit 1"
	check_err "failing write: message names the file" "$D/fail/out.sig.*too large"
else
	fail "failing write: exit 1" "exit $RC; stderr: $(show "$ERR")"
fi
same_bytes "failing write: old file unchanged" "$D/fail/out.sig" "$T/fail.orig"
only_files "failing write: nothing left behind" "$D/fail" out.sig
check_rc "failing sign: exit 5" 5 p11a sign no-such-key -i "$MSG" -o "$D/fail/out.sig"
same_bytes "failing sign: old file unchanged" "$D/fail/out.sig" "$T/fail.orig"
only_files "failing sign: nothing left behind" "$D/fail" out.sig

# A symlink to a regular file: the target gets the signature, the link stays.
mkdir -m 0755 "$D/target" "$D/links"
printf 'old\n' >"$D/target/t.sig"
ln -s ../target/t.sig "$D/links/rel.sig"
ln -s rel.sig "$D/links/chain.sig"
check "symlink" p11a sign signer -i "$MSG" -o "$D/links/chain.sig"
sig_ok "symlink: target holds the signature" "$D/target/t.sig"
is_kind "symlink: still a symlink" "$D/links/chain.sig" "symbolic link"
is_kind "symlink: the link it points at too" "$D/links/rel.sig" "symbolic link"
if [ "$(readlink "$D/links/rel.sig")" = ../target/t.sig ]; then
	pass "symlink: same target"
else
	fail "symlink: same target" "now -> $(readlink "$D/links/rel.sig")"
fi
only_files "symlink: nothing left beside the target" "$D/target" t.sig
only_files "symlink: nothing left beside the link" "$D/links" chain.sig rel.sig

# A dangling symlink is refused, as cp refuses it, and stays as it was.
ln -s nowhere.sig "$D/links/dangling.sig"
check_rc "dangling symlink: exit 1" 1 p11a sign signer -i "$MSG" -o "$D/links/dangling.sig"
check_err "dangling symlink: message" "$D/links/dangling.sig.*nowhere.sig.*does not exist"
is_kind "dangling symlink: still a symlink" "$D/links/dangling.sig" "symbolic link"
only_files "dangling symlink: nothing made" "$D/links" chain.sig dangling.sig rel.sig

# A directory is refused.
check_rc "directory: exit 1" 1 p11a sign signer -i "$MSG" -o "$D/target"
check_err "directory: message" "$D/target.*is a directory"

# A FIFO: a reader gets the signature and the FIFO stays a FIFO.
mkfifo "$D/fifo"
timeout -k 2 15 cat "$D/fifo" >"$T/fifo.out" &
reader=$!
check "FIFO" p11a sign signer -i "$MSG" -o "$D/fifo"
wait "$reader"
sig_ok "FIFO: the reader got the signature" "$T/fifo.out"
is_kind "FIFO: still a FIFO" "$D/fifo" "fifo"

# A character device of the test's own, as /dev/null (1,3) and /dev/full (1,7).
DEVICES_OK=no
SYMLINK_OK=no
[ "$(stat -c %F "$D/links/chain.sig")" = "symbolic link" ] &&
	[ "$(stat -c %F "$D/target/t.sig")" = "regular file" ] && SYMLINK_OK=yes
if [ "$ROOT" = yes ] && mknod "$T/null" c 1 3 2>/dev/null && mknod "$T/full" c 1 7 &&
	: >"$T/null" 2>/dev/null; then
	check "device 1,3" p11a sign signer -i "$MSG" -o "$T/null"
	dev=$(stat -c '%F %t,%T' "$T/null")
	if [ "$dev" = "character special file 1,3" ]; then
		pass "device 1,3: still the device"
		DEVICES_OK=yes
	else
		fail "device 1,3: still the device" "now a $dev"
	fi
	check_rc "device 1,7 (full): exit 1" 1 p11a sign signer -i "$MSG" -o "$T/full"
	check_err "device 1,7 (full): message" "$T/full.*no space left"
	is_kind "device 1,7 (full): still the device" "$T/full" "character special file"
else
	skip "character device" "needs root and a file system that allows device nodes"
fi

# The system's /dev/null, /dev/stdout and /dev/stderr, as root.
if [ "$ROOT" = yes ] && [ "$DEVICES_OK" = yes ] && [ "$SYMLINK_OK" = yes ]; then
	before=$(stat -c '%F %t,%T %i' /dev/null)
	check "/dev/null" p11a sign signer -i "$MSG" -o /dev/null
	after=$(stat -c '%F %t,%T %i' /dev/null)
	if [ "$after" = "$before" ] && [ "${after% *}" = "character special file 1,3" ]; then
		pass "/dev/null: still the device"
	else
		fail "/dev/null: still the device" "before: $before; after: $after"
	fi
	before=$(stat -c '%F %N' /dev/stdout /dev/stderr)
	p11a sign signer -i "$MSG" -o /dev/stdout 2>"$ERR" | cat >"$T/piped.sig"
	RC=${PIPESTATUS[0]}
	if [ "$RC" -eq 0 ]; then
		pass "/dev/stdout to a pipe"
	else
		fail "/dev/stdout to a pipe" "exit $RC; stderr: $(show "$ERR")"
	fi
	sig_ok "/dev/stdout to a pipe: signature" "$T/piped.sig"
	printf 'head\n' >"$T/appended"
	{ p11a sign signer -i "$MSG" -o /dev/stdout 2>"$ERR"; } >>"$T/appended"
	tail -c +6 "$T/appended" >"$T/appended.sig"
	if [ "$(head -n 1 "$T/appended")" = head ]; then
		pass "/dev/stdout appended to a file: earlier content kept"
	else
		fail "/dev/stdout appended to a file: earlier content kept" "$(show "$T/appended")"
	fi
	sig_ok "/dev/stdout appended to a file: signature" "$T/appended.sig"
	{ p11a sign signer -i "$MSG" -o /dev/stderr 2>&3; } 3>"$T/stderr.sig" 2>"$ERR"
	sig_ok "/dev/stderr: signature" "$T/stderr.sig"
	after=$(stat -c '%F %N' /dev/stdout /dev/stderr)
	if [ "$after" = "$before" ]; then
		pass "/dev/stdout, /dev/stderr: still what they were"
	else
		fail "/dev/stdout, /dev/stderr: still what they were" "before: $before; after: $after"
	fi
elif [ "$ROOT" = yes ]; then
	fail "/dev/null, /dev/stdout as root" "not tried: a private device or symlink was replaced"
else
	skip "/dev/null, /dev/stdout as root" "needs root"
fi

if [ "$ROOT" != yes ]; then
	skip "ordinary user" "needs root and setpriv, to run as uid $UU"
	finish
fi

# as CMD...: CMD as the ordinary user, in the socket's group.
as() {
	timeout -k 2 30 setpriv --reuid="$UU" --regid="$SGID" --clear-groups \
		env LSAN_OPTIONS="suppressions=$D/lsan.supp:print_suppressions=0" "$@"
}
# p11u ARGS...: the CLI as the ordinary user.
p11u() {
	as "$P11AGENT" -S "$SOCK" "$@"
}
if ! as "$P11AGENT" --version >/dev/null 2>&1; then
	skip "ordinary user" "uid $UU cannot run $P11AGENT"
	finish
fi

# Another user's symlink in a sticky world-writable folder (as /tmp) is not
# followed, as the kernel's fs.protected_symlinks does not follow it.
mkdir -m 1777 "$D/sticky"
printf 'victim\n' >"$T/victim"
cp "$T/victim" "$T/victim.orig"
as ln -s "$T/victim" "$D/sticky/planted.sig"
check_rc "planted symlink: exit 1" 1 p11a sign signer -i "$MSG" -o "$D/sticky/planted.sig"
check_err "planted symlink: message" "$D/sticky/planted.sig.*(another user|not followed)"
same_bytes "planted symlink: target unchanged" "$T/victim" "$T/victim.orig"

# As root, the owner of a file replaced whole is kept.
printf 'old\n' >"$D/users.sig"
chown "$UU:$SGID" "$D/users.sig"
check "another user's file" p11a sign signer -i "$MSG" -o "$D/users.sig"
sig_ok "another user's file: signature" "$D/users.sig"
owner=$(stat -c %u:%g "$D/users.sig")
if [ "$owner" = "$UU:$SGID" ]; then
	pass "another user's file: owner kept"
else
	fail "another user's file: owner kept" "owner is now $owner"
fi

# /dev/null and /dev/stdout as the ordinary user.
run p11u sign signer -i "$MSG" -o /dev/null
if [ "$RC" -eq 0 ] && [ ! -s "$OUT" ]; then
	pass "user: /dev/null"
else
	fail "user: /dev/null" "exit $RC; stderr: $(show "$ERR")"
fi
is_kind "user: /dev/null still a device" /dev/null "character special file"
p11u sign signer -i "$MSG" -o /dev/stdout 2>"$ERR" | cat >"$T/user-piped.sig"
RC=${PIPESTATUS[0]}
if [ "$RC" -eq 0 ]; then
	pass "user: /dev/stdout to a pipe"
else
	fail "user: /dev/stdout to a pipe" "exit $RC; stderr: $(show "$ERR")"
fi
sig_ok "user: /dev/stdout to a pipe: signature" "$T/user-piped.sig"
run p11u sign signer -i "$MSG" -o /dev/stdout
if [ "$RC" -eq 0 ]; then
	pass "user: /dev/stdout to root's file"
else
	fail "user: /dev/stdout to root's file" "exit $RC; stderr: $(show "$ERR")"
fi
sig_ok "user: /dev/stdout to root's file: signature" "$OUT"

# A folder the user may not write: a clear error, exit 1, nothing left behind.
mkdir -m 0755 "$D/ro"
chown "$UU:$SGID" "$D/ro"
printf 'old\n' >"$D/ro/mine.sig"
chown "$UU:$SGID" "$D/ro/mine.sig"
chmod 0555 "$D/ro"
check_rc "user: read-only folder, new file: exit 1" 1 \
	p11u sign signer -i "$MSG" -o "$D/ro/new.sig"
check_err "user: read-only folder, new file: message" \
	"cannot write $D/ro/new.sig: .*folder $D/ro.*permission denied"
check_rc "user: read-only folder, existing file: exit 1" 1 \
	p11u sign signer -i "$MSG" -o "$D/ro/mine.sig"
check_err "user: read-only folder, existing file: message" \
	"cannot write $D/ro/mine.sig: .*folder $D/ro.*permission denied"
if [ "$(cat "$D/ro/mine.sig")" = old ]; then
	pass "user: read-only folder: old file unchanged"
else
	fail "user: read-only folder: old file unchanged" "$(show "$D/ro/mine.sig")"
fi
only_files "user: read-only folder: nothing left behind" "$D/ro" mine.sig

stop_agent
finish

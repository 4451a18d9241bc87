#!/bin/sh
# test-trust.sh: p11agentd loads nothing another user could change, as sshd's
# StrictModes. As root, with another user played by uid 54402 (setpriv is not
# needed: the files are only chown'd to it). Each refusal exits 1, names the
# file, the offending path component and the fix, and starts no agent:
#   - a config file writable by others, or owned by uid 54402, naming a
#     module in that user's directory;
#   - a PKCS#11 module in a directory of uid 54402, or in a group-writable
#     one: the module's constructor (which would write a marker file) never
#     runs;
#   - a PIN file owned by uid 54402, even mode 0600;
#   - an audit-file in a directory of uid 54402;
#   - a config file directly in a sticky, world-writable directory.
# And what must pass does: SoftHSM's module through its symbolic link, a
# config file in the test's private directory below /tmp.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: test-trust.sh needs root, to give files to other uids"
	exit 77
fi
require_tools stat timeout
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "SKIP: no C compiler ($CC) to build the marker module"
	exit 77
fi
make_token "$KEY_EC256"

UO=54402 # the other user
MARK=$T/marker
# A shared object whose constructor writes $MARK: proof that it was loaded.
cat >"$T/mod.c" <<EOC
#include <stdio.h>
__attribute__((constructor)) static void mark(void)
{
	FILE *f = fopen("$MARK", "w");
	if (f != NULL) {
		fputs("loaded\n", f);
		fclose(f);
	}
}
EOC
"$CC" -shared -fPIC -o "$T/mod.so" "$T/mod.c" || die "cannot build the marker module"

# The other user's directory, with the marker module in it.
mkdir -m 0755 "$T/other"
cp "$T/mod.so" "$T/other/mod.so"
chown -R "$UO:$UO" "$T/other"
# A root-owned directory its group may write.
mkdir "$T/gw"
chmod 0770 "$T/gw"
cp "$T/mod.so" "$T/gw/mod.so"

# refused NAME ERE ARGS...: p11agentd with ARGS exits 1 with a message
# matching ERE, writes no marker and makes no socket.
refused() {
	local name=$1 ere=$2
	shift 2
	rm -f "$MARK"
	run timeout 10 "$P11AGENTD" --foreground --socket "$SOCK" "$@"
	if [ "$RC" -eq 1 ]; then
		pass "$name: refused (exit 1)"
	else
		fail "$name: refused (exit 1)" "exit $RC; stderr: $(show "$ERR")"
	fi
	check_err "$name: message" "$ere"
	if [ -e "$MARK" ]; then
		fail "$name: the module never ran" "its constructor wrote $MARK"
	fi
	if [ -e "$SOCK" ]; then
		fail "$name: no socket" "$SOCK was made"
		rm -f "$SOCK"
	fi
}
TOK=(--token "pkcs11:token=$TOKEN" --pin-source "file:$PIN_FILE")

# --- config files -------------------------------------------------------------
printf 'module = %s\n' "$T/other/mod.so" >"$T/evil.conf"
chmod 0646 "$T/evil.conf"
refused "config file writable by others" \
	"config file $T/evil.conf: $T/evil.conf is mode 0646, writable by others: chmod go-w $T/evil.conf" \
	--config "$T/evil.conf" "${TOK[@]}"
chmod 0644 "$T/evil.conf"
chown "$UO" "$T/evil.conf"
refused "config file of uid $UO" \
	"config file $T/evil.conf: $T/evil.conf is owned by uid $UO, not by root or uid 0: chown 0 $T/evil.conf" \
	--config "$T/evil.conf" "${TOK[@]}"
cp "$T/evil.conf" "$T/other/p11agent.conf"
chown "$UO" "$T/other/p11agent.conf"
chmod 0644 "$T/other/p11agent.conf"
refused "config file in a directory of uid $UO" \
	"config file $T/other/p11agent.conf: $T/other/p11agent.conf is owned by uid $UO" \
	--config "$T/other/p11agent.conf" "${TOK[@]}"
# A symbolic link to it: the real file is checked.
ln -s "$T/other/p11agent.conf" "$T/link.conf"
refused "symbolic link to a config file of uid $UO" \
	"config file $T/link.conf: $T/other/p11agent.conf \\(in its real path\\) is owned by uid $UO" \
	--config "$T/link.conf" "${TOK[@]}"
# Directly in a sticky world-writable directory (like /tmp): refused.
mkdir "$T/sticky"
chmod 1777 "$T/sticky"
printf 'module = %s\n' "$SOFTHSM_MODULE" >"$T/sticky/p11agent.conf"
refused "config file in a sticky directory" \
	"config file $T/sticky/p11agent.conf: $T/sticky is mode 1777, writable by others" \
	--config "$T/sticky/p11agent.conf" "${TOK[@]}"

# --- modules -------------------------------------------------------------------
printf 'module = %s\n' "$T/other/mod.so" >"$T/root.conf"
refused "module in a directory of uid $UO (from a root config file)" \
	"PKCS#11 module $T/other/mod.so: $T/other/mod.so is owned by uid $UO, not by root or uid 0: chown 0" \
	--config "$T/root.conf" "${TOK[@]}"
chown 0:0 "$T/other/mod.so"
refused "root's module in a directory of uid $UO" \
	"PKCS#11 module $T/other/mod.so: $T/other is owned by uid $UO" \
	--module "$T/other/mod.so" "${TOK[@]}"
refused "module in a group-writable directory" \
	"PKCS#11 module $T/gw/mod.so: $T/gw is mode 0770, writable by its group: chmod go-w $T/gw" \
	--module "$T/gw/mod.so" "${TOK[@]}"
chmod 0666 "$T/mod.so"
refused "module writable by others" \
	"PKCS#11 module $T/mod.so: $T/mod.so is mode 0666, writable by others" \
	--module "$T/mod.so" "${TOK[@]}"

# --- PIN files -----------------------------------------------------------------
cp "$PIN_FILE" "$T/other.pin"
chmod 0600 "$T/other.pin"
chown "$UO" "$T/other.pin"
refused "PIN file of uid $UO (mode 0600)" \
	"PIN file $T/other.pin: $T/other.pin is owned by uid $UO, not by root or uid 0" \
	--module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN" --pin-source "file:$T/other.pin"
refused "PIN file of uid $UO, from the token URI" \
	"PIN file $T/other.pin: $T/other.pin is owned by uid $UO" \
	--module "$SOFTHSM_MODULE" --token "pkcs11:token=$TOKEN?pin-source=file://$T/other.pin"
if grep -Fq "$(cat "$PIN_FILE")" "$ERR"; then
	fail "PIN file of uid $UO: the PIN is not shown" "it is in the message"
fi

# --- audit-file ----------------------------------------------------------------
printf 'audit-file = %s\n' "$T/other/audit.jsonl" >"$T/audit.conf"
refused "audit-file in a directory of uid $UO" \
	"audit-file directory $T/other: $T/other is owned by uid $UO, not by root or uid 0: chown 0 $T/other" \
	--config "$T/audit.conf" --module "$SOFTHSM_MODULE" "${TOK[@]}"
if [ -e "$T/other/audit.jsonl" ]; then
	fail "audit-file in a directory of uid $UO: not created" "it was"
fi

# --- what is safe passes ---------------------------------------------------------
# SoftHSM's module (through its symbolic link into root's directories), a
# config file and an audit trail in the test's private directory below /tmp.
printf 'module = %s\naudit-file = %s\n' "$SOFTHSM_MODULE" "$T/audit.jsonl" >"$T/good.conf"
chmod 0600 "$T/good.conf"
start_agent --config "$T/good.conf" || finish
check "safe files: the agent serves" p11a sign ec256 -i "$T/good.conf" -o "$T/good.sig"
stop_agent
finish

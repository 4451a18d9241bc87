#!/bin/sh
# test-default-config.sh: the config file p11agentd reads when --config is
# not given. A user's agent (uid 65534 here, by setpriv) reads
# $XDG_CONFIG_HOME/p11agent/p11agent.conf, or ~/.config/p11agent/p11agent.conf
# when XDG_CONFIG_HOME is unset, says so in its log, serves on the default
# socket under XDG_RUNTIME_DIR, and reads the same file again at SIGHUP; a
# default file others may write, one of another user, or a symbolic link to
# one, is refused as a --config would be. Root's
# agent looks at SYSCONFDIR/p11agent/p11agent.conf, and without it says
# where it looked.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: test-default-config.sh needs root, to run an agent as another uid (setpriv)"
	exit 77
fi
require_tools setpriv timeout
make_token "$KEY_EC256"
USER_UID=65534
MSG=$T/msg
printf 'signed by a user agent with its default config\n' >"$MSG"

# --- root: the system's file, named when it is not there ---------------------------------------
timeout -k 2 10 "$P11AGENTD" --foreground --socket "$T/root.sock" </dev/null >"$OUT" 2>"$ERR"
RC=$?
if grep -q "p11agent/p11agent.conf, which is not there" "$ERR"; then
	where=$(sed -n 's/.*without it \(.*\), which is not there.*/\1/p' "$ERR")
	# The build's SYSCONFDIR, as configure set it (with ${prefix} expanded).
	sysconfdir=$(sed -n 's/^S\["sysconfdir"\]="\(.*\)"$/\1/p' "$top_builddir/config.status")
	prefix=$(sed -n 's/^S\["prefix"\]="\(.*\)"$/\1/p' "$top_builddir/config.status")
	sysconfdir=${sysconfdir//\$\{prefix\}/$prefix}
	if [ "$RC" -eq 2 ] && [ "$where" = "$sysconfdir/p11agent/p11agent.conf" ]; then
		pass "root without --config nor module: exit 2, names $where"
	else
		fail "root without --config nor module: exit 2, names the default file" "exit $RC: $(show "$ERR")"
	fi
else
	# This machine has a system config (an installed package's): it was read.
	skip "root's default config file is absent" "one is installed here: $(show "$ERR")"
fi

# --- a user's agent --------------------------------------------------------------------------
# Its own copy of p11agentd, token, PIN file, config and runtime directory.
chmod 0711 "$T"
mkdir -m 0755 "$T/bin"
cp "$P11AGENTD" "$T/bin/p11agentd"
chown -R "$USER_UID:$USER_UID" "$T/token"
UHOME=$T/home
mkdir -p "$UHOME/xdg/p11agent" "$UHOME/.config/p11agent" "$T/rt"
cat >"$UHOME/xdg/p11agent/p11agent.conf" <<END
module = $SOFTHSM_MODULE
token = pkcs11:token=$TOKEN
pin-source = file:$PIN_FILE
log-level = debug
END
sed 's/^log-level = debug$/log-level = info/' "$UHOME/xdg/p11agent/p11agent.conf" \
	>"$UHOME/.config/p11agent/p11agent.conf"
chmod 0600 "$UHOME/xdg/p11agent/p11agent.conf" "$UHOME/.config/p11agent/p11agent.conf"
chmod 0700 "$UHOME" "$T/rt"
chown -R "$USER_UID:$USER_UID" "$UHOME" "$T/rt"
USOCK=$T/rt/p11agent/agent.sock

CLI=$P11AGENT
CLI_ENV=
# as CMD...: CMD as the user.
as() {
	# shellcheck disable=SC2086 # CLI_ENV is a list of VAR=VALUE words
	timeout -k 2 30 setpriv --reuid="$USER_UID" --regid="$USER_UID" --clear-groups \
		env LSAN_OPTIONS="${LSAN_OPTIONS:-}" $CLI_ENV "$@"
}
cli_for_other_users "$USER_UID" as
# p11u ARGS...: the user's CLI on the user's default socket (a client trusts only
# an agent of its own uid or root's).
p11u() {
	as env XDG_RUNTIME_DIR="$T/rt" "$CLI" "$@"
}

# user_agent ENV...: the agent as the user, with ENV and no --config; waits
# until it answers the user's ping.
user_agent() {
	setpriv --reuid="$USER_UID" --regid="$USER_UID" --clear-groups \
		env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$T/rt" SOFTHSM2_CONF="$SOFTHSM2_CONF" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" LSAN_OPTIONS="${LSAN_OPTIONS:-}" "$@" \
		"$T/bin/p11agentd" --foreground </dev/null >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
	for _ in $(seq 100); do
		p11u ping >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

if user_agent HOME="$UHOME" XDG_CONFIG_HOME="$UHOME/xdg"; then
	pass "a user's agent starts from \$XDG_CONFIG_HOME/p11agent/p11agent.conf"
	check "it serves on \$XDG_RUNTIME_DIR/p11agent/agent.sock: pubkey" p11u pubkey ec256
	cp "$OUT" "$T/ec256.pem"
	chmod 0644 "$MSG"
	check "sign" p11u sign ec256 -i "$MSG"
	cp "$OUT" "$T/sig"
	check "openssl verifies the signature" ossl dgst -sha256 -verify "$T/ec256.pem" \
		-signature "$T/sig" "$MSG"
	if grep -qF "read the default config file $UHOME/xdg/p11agent/p11agent.conf" "$T/agent.log"; then
		pass "the log names the default config file"
	else
		fail "the log names the default config file" "$(tail -n 3 "$T/agent.log")"
	fi
	# A reload reads the same file again.
	kill -HUP "$AGENT_PID"
	for _ in $(seq 50); do
		grep -q "reload: " "$T/agent.log" && break
		sleep 0.1
	done
	if grep -qF "reload: $UHOME/xdg/p11agent/p11agent.conf read again" "$T/agent.log"; then
		pass "SIGHUP reads the default config file again"
	else
		fail "SIGHUP reads the default config file again" "$(tail -n 3 "$T/agent.log")"
	fi
	stop_agent
	if [ "$AGENT_RC" = 0 ]; then pass "stops with exit 0"; else fail "stops with exit 0" "exit $AGENT_RC"; fi
else
	fail "a user's agent starts from \$XDG_CONFIG_HOME/p11agent/p11agent.conf" "$(tail -n 5 "$T/agent.log")"
fi

: >"$T/agent.log"
if user_agent HOME="$UHOME"; then
	pass "without XDG_CONFIG_HOME: ~/.config/p11agent/p11agent.conf"
	if grep -qF "read the default config file $UHOME/.config/p11agent/p11agent.conf" "$T/agent.log"; then
		pass "the log names ~/.config/p11agent/p11agent.conf"
	else
		fail "the log names ~/.config/p11agent/p11agent.conf" "$(tail -n 3 "$T/agent.log")"
	fi
	stop_agent
else
	fail "without XDG_CONFIG_HOME: ~/.config/p11agent/p11agent.conf" "$(tail -n 5 "$T/agent.log")"
fi

# refused_default NAME ENV...: the user's agent with ENV exits 1 without a
# socket, its message naming the config file.
refused_default() {
	local name=$1
	shift
	setpriv --reuid="$USER_UID" --regid="$USER_UID" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="$UHOME" XDG_RUNTIME_DIR="$T/rt" \
		SOFTHSM2_CONF="$SOFTHSM2_CONF" "$@" timeout -k 2 10 "$T/bin/p11agentd" --foreground \
		</dev/null >"$OUT" 2>"$ERR"
	RC=$?
	if [ "$RC" -eq 1 ] && grep -q "p11agent.conf" "$ERR" && [ ! -S "$USOCK" ]; then
		pass "$name: exit 1, '$(head -n 1 "$ERR" | cut -c1-100)'"
	else
		fail "$name is refused" "exit $RC: $(show "$ERR")"
	fi
}

# A default file others may write, or of another user, or a symbolic link to
# one, is refused, as --config FILE would be.
chmod 0666 "$UHOME/xdg/p11agent/p11agent.conf"
refused_default "a default config file others may write" XDG_CONFIG_HOME="$UHOME/xdg"
chmod 0600 "$UHOME/xdg/p11agent/p11agent.conf"
mkdir -p "$T/other/p11agent"
cp "$UHOME/xdg/p11agent/p11agent.conf" "$T/other/p11agent/p11agent.conf"
chown -R 12345:12345 "$T/other"
chmod 0644 "$T/other/p11agent/p11agent.conf"
refused_default "a default config file of another user (XDG_CONFIG_HOME pointed at it)" \
	XDG_CONFIG_HOME="$T/other"
mv "$UHOME/xdg/p11agent/p11agent.conf" "$UHOME/xdg/p11agent/mine.conf"
ln -s "$T/other/p11agent/p11agent.conf" "$UHOME/xdg/p11agent/p11agent.conf"
chown -h "$USER_UID:$USER_UID" "$UHOME/xdg/p11agent/p11agent.conf"
refused_default "a default config file that is a symbolic link to another user's" \
	XDG_CONFIG_HOME="$UHOME/xdg"
finish

#!/bin/sh
# test-units.sh: the systemd units of contrib/systemd/, as `make install`
# puts them: systemd-analyze verify finds nothing to say about the system
# units nor the user units (the Documentation= pages are looked up in this
# tree's doc/), and says something about a misspelled key (so that the check
# can fail); the service has the hardening p11agentd(8) promises and a
# systemd-analyze security exposure of at most 2.0; the sockets carry the
# names the agent expects (FileDescriptorName=agent and ssh) and the paths
# the CLI looks at.
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_tools systemd-analyze man
SYS=$T/system
USR=$T/user
mkdir -p "$SYS" "$USR" "$T/man/man1" "$T/man/man5" "$T/man/man8" "$T/xdg"
chmod 0700 "$T/xdg"
cp "$top_srcdir/doc/p11agent.1" "$T/man/man1/"
cp "$top_srcdir/doc/p11agent.conf.5" "$T/man/man5/"
cp "$top_srcdir/doc/p11agentd.8" "$T/man/man8/"
export MANPATH=$T/man XDG_RUNTIME_DIR=$T/xdg

# The services as made for installation, with the built p11agentd in the
# installed one's place (verify wants ExecStart= to exist).
for pair in "contrib/systemd:$SYS" "contrib/systemd/user:$USR"; do
	src=${pair%%:*} dst=${pair#*:}
	svc=$top_builddir/$src/p11agentd.service
	[ -f "$svc" ] || die "$svc is not built"
	exec_start=$(sed -n 's/^ExecStart=//p' "$svc")
	case $exec_start in
	/*/p11agentd) pass "$src: ExecStart= names the installed p11agentd ($exec_start)" ;;
	*) fail "$src: ExecStart= names the installed p11agentd" "ExecStart=$exec_start" ;;
	esac
	sed "s|^ExecStart=.*|ExecStart=$top_builddir/p11agentd|" "$svc" >"$dst/p11agentd.service"
	cp "$top_srcdir/$src/p11agentd.socket" "$top_srcdir/$src/p11agentd-ssh.socket" "$dst/"
done

# verify_clean NAME ARGS...: systemd-analyze ARGS verify exits 0 and prints nothing.
verify_clean() {
	local name=$1
	shift
	run timeout 60 systemd-analyze "$@"
	if [ "$RC" -eq 0 ] && [ ! -s "$OUT" ] && [ ! -s "$ERR" ]; then
		pass "$name"
	else
		fail "$name" "exit $RC: $(show "$OUT") $(show "$ERR")"
	fi
}
verify_clean "systemd-analyze verify: the system units" verify "$SYS"/*
verify_clean "systemd-analyze --user verify: the user units" --user verify "$USR"/*

# The check can fail: a misspelled key is reported.
mkdir "$T/bad"
cp "$SYS"/* "$T/bad/"
sed -i 's/^ProtectSystem=/ProtectSystm=/' "$T/bad/p11agentd.service"
run timeout 60 systemd-analyze verify "$T/bad"/*
if grep -q "Unknown key 'ProtectSystm'" "$OUT" "$ERR"; then
	pass "systemd-analyze verify reports a misspelled key"
else
	fail "systemd-analyze verify reports a misspelled key" "$(show "$ERR")"
fi

# has UNIT LINE...: each LINE is a line of UNIT.
has() {
	local unit=$1 line
	shift
	for line in "$@"; do
		if grep -qxF -- "$line" "$unit"; then
			pass "$(basename "$(dirname "$unit")")/$(basename "$unit"): $line"
		else
			fail "$(basename "$(dirname "$unit")")/$(basename "$unit"): $line" "not there"
		fi
	done
}
has "$SYS/p11agentd.service" "Type=notify" "NoNewPrivileges=yes" "ProtectSystem=strict" \
	"ReadWritePaths=-/var/lib/softhsm" "LogsDirectory=p11agent" "PrivateTmp=yes" \
	"RestrictAddressFamilies=AF_UNIX" "LimitCORE=0" "UMask=0077" \
	"SystemCallFilter=@system-service" "CapabilityBoundingSet=" "AmbientCapabilities=" \
	"Restart=on-abnormal" "#LoadCredential=pin:/etc/p11agent/pin" \
	"#LoadCredentialEncrypted=pin:/etc/p11agent/pin.cred"
has "$USR/p11agentd.service" "Type=notify" "NoNewPrivileges=yes" "LimitCORE=0" "UMask=0077" \
	"RestrictAddressFamilies=AF_UNIX" "SystemCallFilter=@system-service"
has "$SYS/p11agentd.socket" "ListenStream=/run/p11agent/agent.sock" "FileDescriptorName=agent" \
	"SocketMode=0600"
has "$SYS/p11agentd-ssh.socket" "ListenStream=/run/p11agent/ssh.sock" "FileDescriptorName=ssh" \
	"SocketMode=0600" "Service=p11agentd.service"
has "$USR/p11agentd.socket" "ListenStream=%t/p11agent/agent.sock" "FileDescriptorName=agent"
has "$USR/p11agentd-ssh.socket" "ListenStream=%t/p11agent/ssh.sock" "FileDescriptorName=ssh"

# The exposure systemd-analyze gives the service (0 best, 10 worst).
run timeout 60 systemd-analyze security --offline=true "$SYS/p11agentd.service"
score=$(sed -n 's/.*Overall exposure level for p11agentd.service: \([0-9.]*\).*/\1/p' "$OUT")
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
	pass "systemd-analyze security: exposure $score (at most 2.0)"
else
	fail "systemd-analyze security: exposure at most 2.0" "exposure '${score}': $(tail -n 3 "$OUT")"
fi
finish

# bench/ssh.sh: the SSH part of `make bench`, sourced by bench/standard.sh
# (it uses that script's helpers, folder $T and results file). ssh_bench
# signs with the same token keys (RSA-2048, ECDSA P-256) through
#   direct:    the module loaded in p11agent-bench, the ceiling;
#   agent:     p11agentd through libp11agent, the native path;
#   ssh:       p11agentd's SSH agent protocol socket (--ssh-socket), one
#              SSH_AGENTC_SIGN_REQUEST a round trip as ssh asks for one;
#   ssh-agent: OpenSSH's ssh-agent holding the same token through its
#              PKCS#11 helper (ssh-add -s), the same requests;
# interleaved in one p11agent-bench run a row, at 1 and 4 clients. RSA signs
# rsa-sha2-256 (flag SSH_AGENT_RSA_SHA2_256), ECDSA ecdsa-sha2-nistp256;
# the SSH paths sign 64 random bytes a request, which the agent hashes. When
# this p11agentd has no SSH front (no --ssh-socket in its --help), the ssh
# rows are skipped with a note and the others still run. The token's PIN
# reaches ssh-add through an SSH_ASKPASS script that reads the PIN file
# (SSH_ASKPASS_REQUIRE=force): never in argv, the environment or a log.
#
# Environment (read by ssh_bench):
#   BENCH_NO_SSH=1    leaves the SSH part out
#
# SPDX-License-Identifier: Apache-2.0

SSH_TOKEN=p11agent-bench-ssh
SSH_AGENT_PID=
SSH_OPENSSH_PID=

# ssh_stop: stops the agents of the SSH part (cleanup calls it too).
# ssh-agent's PKCS#11 helper leaves when ssh-agent closes its pipe.
ssh_stop() {
	stop_pid "$SSH_OPENSSH_PID"
	SSH_OPENSSH_PID=
	stop_pid "$SSH_AGENT_PID"
	SSH_AGENT_PID=
}

# ssh_wait_socket SOCKET PID: waits (10 s at most, while PID lives) for SOCKET.
ssh_wait_socket() {
	local _
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ssh_openssh DIR: starts ssh-agent on DIR/ssh-agent.sock and adds the
# token's keys with ssh-add -s. Fails with a note.
ssh_openssh() {
	local dir=$1 module
	# ssh-agent loads only modules on its allowlist (-P), which it matches
	# against the module's canonical path.
	module=$(readlink -f "$SOFTHSM_MODULE")
	SOFTHSM2_CONF=$dir/token/softhsm2.conf ssh-agent -D -a "$dir/ssh-agent.sock" -P "$module" \
		</dev/null >"$dir/ssh-agent.log" 2>&1 &
	SSH_OPENSSH_PID=$!
	if ! ssh_wait_socket "$dir/ssh-agent.sock" "$SSH_OPENSSH_PID"; then
		note fail "SSH part" "ssh-agent did not start: $(first_line "$dir/ssh-agent.log")"
		return 1
	fi
	# shellcheck disable=SC2016 # expanded by the askpass script, not here
	printf '#!/bin/sh\n# Prints the PIN for ssh-add -s.\nexec cat "$BENCH_SSH_PIN_FILE"\n' \
		>"$dir/askpass"
	chmod 0700 "$dir/askpass"
	if ! env -u DISPLAY SSH_AUTH_SOCK="$dir/ssh-agent.sock" SSH_ASKPASS="$dir/askpass" \
		SSH_ASKPASS_REQUIRE=force BENCH_SSH_PIN_FILE="$dir/token/pin" \
		timeout -k 5 60 ssh-add -s "$module" </dev/null >"$dir/ssh-add.log" 2>&1; then
		note fail "SSH part" "ssh-add -s could not add the token to ssh-agent: $(
			grep -v '^Card added' "$dir/ssh-add.log" | head -n 2 | tr '\n' ' ')"
		return 1
	fi
	SSH_AUTH_SOCK="$dir/ssh-agent.sock" ssh-add -l >"$dir/ssh-add-l.log" 2>&1
	measure ssh_openssh_keys "$(grep -c . "$dir/ssh-add-l.log")"
}

# ssh_row DIR ALG KEY CLIENTS PATHS: one p11agent-bench run, its JSON lines
# tagged "ssh" into the results, the path of ssh-agent's socket named
# "ssh-agent".
ssh_row() {
	local dir=$1 alg=$2 key=$3 clients=$4 paths=$5 what rc
	what="SSH $alg, $clients client$([ "$clients" = 1 ] || echo s)"
	say "$what [${paths//ssh:$dir\/ssh-agent.sock/ssh-agent}]"
	SOFTHSM2_CONF=$dir/token/softhsm2.conf timeout -k 5 "$(bound "$paths")" env -u SSH_AUTH_SOCK \
		"$BENCH" --module "$SOFTHSM_MODULE" --token "pkcs11:token=$SSH_TOKEN" \
		--pin-source "file:$dir/token/pin" --socket "$dir/agent.sock" \
		--ssh-socket "$dir/p11agentd-ssh.sock" --alg "$alg" --key "$key" \
		--clients "$clients" --seconds "$SECS" --json --paths "$paths" \
		>"$dir/row.out" 2>"$dir/row.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		note fail "$what" "p11agent-bench exited $rc: $(first_line "$dir/row.err")"
		return 1
	fi
	sed -e 's/^{/{"run": "ssh", /' \
		-e "s|\"path\": \"ssh:$dir/ssh-agent.sock\"|\"path\": \"ssh-agent\"|" \
		"$dir/row.out" >>"$RESULTS"
}

ssh_bench() {
	local dir=$T/ssh spec clients paths front=
	if [ -n "${BENCH_NO_SSH:-}" ]; then
		measure ssh_missing "BENCH_NO_SSH is set"
		return 0
	fi
	if ! command -v ssh-agent >/dev/null 2>&1 || ! command -v ssh-add >/dev/null 2>&1; then
		measure ssh_missing "ssh-agent and ssh-add are not installed: apt-get install openssh-client"
		note skip "SSH part" "ssh-agent and ssh-add are not installed (openssh-client)"
		return 0
	fi
	measure ssh_openssh "$(ssh -V 2>&1 | cut -d, -f1)"
	say "SSH: making a token with RSA-2048 and EC P-256 keys"
	mkdir -m 0700 "$dir"
	make_token "$dir/token" "$SSH_TOKEN" rsa:2048:rsa2048:01 ec:P-256:ec256:03

	# p11agentd, with its SSH socket when it has one.
	local -a args=(--foreground --module "$SOFTHSM_MODULE" --token "pkcs11:token=$SSH_TOKEN"
		--pin-source "file:$dir/token/pin" --socket "$dir/agent.sock" --log-level info)
	if "$P11AGENTD" --help 2>&1 | grep -q -- '--ssh-socket'; then
		front=1
		args+=(--ssh-socket "$dir/p11agentd-ssh.sock")
	else
		measure ssh_front_missing "this p11agentd has no --ssh-socket"
		note skip "SSH part, ssh path on p11agentd" \
			"this p11agentd has no SSH front (--ssh-socket): only direct, agent and ssh-agent measured"
	fi
	SOFTHSM2_CONF=$dir/token/softhsm2.conf "$P11AGENTD" "${args[@]}" </dev/null \
		>>"$dir/agent.log" 2>&1 &
	SSH_AGENT_PID=$!
	if ! wait_ready "$dir/agent.sock" "$SSH_AGENT_PID" ||
		{ [ -n "$front" ] && ! ssh_wait_socket "$dir/p11agentd-ssh.sock" "$SSH_AGENT_PID"; }
	then
		note fail "SSH part" "p11agentd does not answer: $(tail -n 3 "$dir/agent.log" |
			tr '\n' ' ')"
		ssh_stop
		return 1
	fi
	if ! ssh_openssh "$dir"; then
		ssh_stop
		return 1
	fi
	paths=direct,agent${front:+,ssh},ssh:$dir/ssh-agent.sock
	for spec in ecdsa-sha256:ec256 rsa-pkcs1-sha256:rsa2048; do
		for clients in 1 4; do
			ssh_row "$dir" "${spec%%:*}" "${spec#*:}" "$clients" "$paths"
		done
	done
	ssh_stop
}

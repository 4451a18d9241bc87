# bench/tls.sh: the TLS part of `make bench`, sourced by bench/standard.sh
# (it uses that script's helpers, folder $T and results file). tls_bench
# measures full TLS handshakes per second (bench/tls-handshakes: a new
# connection and session each time, the server's chain verified) against
# `openssl s_server` on 127.0.0.1 holding the server key
#   pem:      in a PEM file (OpenSSL in-process, the ceiling);
#   engine:   in a SoftHSM token through libp11's pkcs11 engine (Debian
#             libengine-pkcs11-openssl), SoftHSM loaded into the server;
#   provider: in the same token through p11agentd and p11agent.so (an
#             openssl.cnf that loads the default provider, then p11agent);
# for RSA-2048 and ECDSA P-256, at 1 and 2 client threads. The token holds
# only those two keys: libp11 0.4.12 crashes on a token with an Ed25519 key.
# Its certificates are issued by a CA made for the run over the token keys'
# public keys, so a handshake that passes verification was signed by the
# token key. The servers and client rows run interleaved, in BENCH_TLS_ROUNDS
# rounds of TLS_SECS seconds a row; table.py reports the medians.
#
# Environment (read by tls_bench):
#   BENCH_TLS_ROUNDS  rounds (default 5)
#   BENCH_TLS_SECONDS seconds a row and round (default: BENCH_SECONDS)
#   BENCH_NO_TLS=1    leaves the TLS part out
#
# SPDX-License-Identifier: Apache-2.0

TLS_TOKEN=p11agent-bench-tls
TLS_KINDS="pem engine provider"
TLS_KEYS="rsa2048 ec256"
TLS_AGENT_PID=
TLS_PIDS=
declare -A TLS_PORT=()

# tls_sanitizer_env: in a build with --enable-sanitizers, the openssl program
# (not built with them) that loads p11agent.so needs ASan's and UBSan's
# runtimes preloaded, and no leak report of its own: sets TLS_SAN_ENV.
tls_sanitizer_env() {
	local cc
	TLS_SAN_ENV=()
	grep -q '^CFLAGS = .*-fsanitize=address' "$top_builddir/Makefile" 2>/dev/null || return 0
	cc=$(sed -n 's/^CC = //p' "$top_builddir/Makefile")
	TLS_SAN_ENV=("LD_PRELOAD=$($cc -print-file-name=libasan.so) $($cc \
		-print-file-name=libubsan.so)" "ASAN_OPTIONS=detect_leaks=0")
}

# tls_stop: stops the servers and the agent of the TLS part (cleanup calls it too).
tls_stop() {
	local pid
	for pid in $TLS_PIDS; do
		stop_pid "$pid"
	done
	TLS_PIDS=
	stop_pid "$TLS_AGENT_PID"
	TLS_AGENT_PID=
}

# tls_certs DIR: a CA, then for each key a PEM key with its certificate
# (DIR/pem-KEY.{key,crt}) and a certificate of the token key (DIR/tok-KEY.crt).
tls_certs() {
	local dir=$1 key gen serial=1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" &&
		openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=p11agent bench CA" \
			-days 2 -out "$dir/ca.pem" || return 1
	for key in $TLS_KEYS; do
		case $key in
		rsa2048) gen=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
		*) gen=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) ;;
		esac
		timeout 30 "$P11AGENT" -S "$dir/agent.sock" pubkey "$key" >"$dir/tok-$key.pub" &&
			openssl genpkey "${gen[@]}" -out "$dir/pem-$key.key" &&
			openssl req -new -key "$dir/pem-$key.key" -subj /CN=localhost \
				-out "$dir/$key.csr" &&
			openssl x509 -req -in "$dir/$key.csr" -CA "$dir/ca.pem" \
				-CAkey "$dir/ca.key" -days 2 -set_serial $((serial++)) \
				-out "$dir/pem-$key.crt" &&
			openssl x509 -req -in "$dir/$key.csr" -CA "$dir/ca.pem" \
				-CAkey "$dir/ca.key" -days 2 -set_serial $((serial++)) \
				-force_pubkey "$dir/tok-$key.pub" -out "$dir/tok-$key.crt" || return 1
	done
}

# tls_server DIR KIND KEY: starts s_server on a free port of 127.0.0.1; sets
# TLS_PORT[KIND-KEY]. Fails with a note.
tls_server() {
	local dir=$1 kind=$2 key=$3 log=$1/server-$2-$3.log pid port _
	local -a args=(s_server -accept 127.0.0.1:0 -www -num_tickets 0 -no_cache)
	local -a envs=(env -u P11AGENT_SOCK "SOFTHSM2_CONF=$dir/token/softhsm2.conf")
	case $kind in
	pem)
		args+=(-cert "$dir/pem-$key.crt" -key "$dir/pem-$key.key")
		;;
	engine)
		# libp11 reads the PIN file with its newline: a copy without it.
		envs+=("PKCS11_MODULE_PATH=$SOFTHSM_MODULE")
		args+=(-cert "$dir/tok-$key.crt" -engine pkcs11 -keyform engine -key
			"pkcs11:token=$TLS_TOKEN;object=$key;type=private;pin-source=file:$dir/pin.engine")
		;;
	provider)
		envs+=("OPENSSL_CONF=$dir/provider.cnf" "${TLS_SAN_ENV[@]}")
		args+=(-cert "$dir/tok-$key.crt" -key "p11agent:$key")
		;;
	esac
	"${envs[@]}" openssl "${args[@]}" </dev/null >"$log" 2>&1 &
	pid=$!
	TLS_PIDS="$TLS_PIDS $pid"
	for _ in $(seq 100); do
		port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$port" ]; then
		note fail "TLS $kind $key" "s_server did not start: $(grep -v '^Engine\|^Using' "$log" |
			head -n 3 | tr '\n' ' ')"
		return 1
	fi
	TLS_PORT[$kind-$key]=$port
}

# tls_row DIR KIND KEY THREADS ROUND: one run of tls-handshakes into the results.
tls_row() {
	local dir=$1 kind=$2 key=$3 threads=$4 round=$5 port=${TLS_PORT[$2-$3]:-}
	[ -n "$port" ] || return 1
	if ! timeout -k 5 "$(awk -v s="$TLS_SECS" 'BEGIN { printf "%d", s + 60 }')" \
		"$TLS_CLIENT" --connect "127.0.0.1:$port" --cafile "$dir/ca.pem" --threads "$threads" \
		--seconds "$TLS_SECS" --json >"$dir/row.out" 2>"$dir/row.err"; then
		note fail "TLS $kind $key, $threads thread(s)" "$(first_line "$dir/row.err")"
		unset "TLS_PORT[$kind-$key]"
		return 1
	fi
	sed "s/^{/{\"run\": \"tls\", \"server\": \"$kind\", \"key\": \"$key\", \"round\": $round, /" \
		"$dir/row.out" >>"$RESULTS"
}

tls_bench() {
	local dir=$T/tls kind key threads r rounds=${BENCH_TLS_ROUNDS:-5}
	TLS_SECS=${BENCH_TLS_SECONDS:-$SECS}
	TLS_CLIENT=$top_builddir/bench/tls-handshakes
	if [ -n "${BENCH_NO_TLS:-}" ]; then
		measure tls_missing "BENCH_NO_TLS is set"
		return 0
	fi
	if ! [[ $rounds =~ ^[1-9][0-9]*$ ]] || ! [[ $TLS_SECS =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		note fail "TLS handshakes" "BENCH_TLS_ROUNDS and BENCH_TLS_SECONDS must be numbers"
		return 1
	fi
	if [ ! -x "$TLS_CLIENT" ]; then
		note fail "TLS handshakes" "$TLS_CLIENT is not built (run make bench)"
		return 1
	fi
	tls_sanitizer_env
	say "TLS: making a token with RSA-2048 and EC P-256 keys"
	mkdir -m 0700 "$dir"
	make_token "$dir/token" "$TLS_TOKEN" rsa:2048:rsa2048:01 ec:P-256:ec256:03
	(umask 077 && tr -d '\n' <"$dir/token/pin" >"$dir/pin.engine")
	SOFTHSM2_CONF=$dir/token/softhsm2.conf "$P11AGENTD" --foreground \
		--module "$SOFTHSM_MODULE" --token "pkcs11:token=$TLS_TOKEN" \
		--pin-source "file:$dir/token/pin" --socket "$dir/agent.sock" --log-level info \
		</dev/null >>"$dir/agent.log" 2>&1 &
	TLS_AGENT_PID=$!
	if ! wait_ready "$dir/agent.sock" "$TLS_AGENT_PID"; then
		note fail "TLS handshakes" "p11agentd does not answer: $(tail -n 3 "$dir/agent.log" |
			tr '\n' ' ')"
		tls_stop
		return 1
	fi
	if ! tls_certs "$dir" >"$dir/certs.log" 2>&1; then
		note fail "TLS handshakes" "cannot make the certificates: $(head -c 300 \
			"$dir/certs.log" | tr '\n' ' ')"
		tls_stop
		return 1
	fi
	cat >"$dir/provider.cnf" <<EOF
# The default provider first, then p11agent (doc/p11agent-provider.7).
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
p11agent = p11agent_sect
[default_sect]
activate = 1
[p11agent_sect]
module = $top_builddir/.libs/p11agent.so
socket = $dir/agent.sock
activate = 1
EOF
	for key in $TLS_KEYS; do
		for kind in $TLS_KINDS; do
			tls_server "$dir" "$kind" "$key" || continue
			# One checked handshake first (untimed): what it negotiates.
			if timeout -k 5 30 "$TLS_CLIENT" --connect "127.0.0.1:${TLS_PORT[$kind-$key]}" \
				--cafile "$dir/ca.pem" --count 1 --json >"$dir/first.out" \
				2>"$dir/first.err"; then
				measure "tls_negotiated_$kind-$key" "$(python3 -c 'import json, sys
o = json.load(open(sys.argv[1])); print(o["protocol"], o["cipher"], o["sigalg"])' \
					"$dir/first.out")"
			else
				note fail "TLS $kind $key" "the first handshake: $(first_line \
					"$dir/first.err")"
				unset "TLS_PORT[$kind-$key]"
			fi
		done
	done
	measure tls_rounds "$rounds"
	measure tls_seconds "$TLS_SECS"
	measure tls_openssl "$(openssl version | awk '{ print $1, $2 }')"
	measure tls_libp11 "$(dpkg-query -W -f='${Version}' libengine-pkcs11-openssl 2>/dev/null ||
		echo unknown)"
	for r in $(seq "$rounds"); do
		say "TLS handshakes, round $r of $rounds"
		for key in $TLS_KEYS; do
			for threads in 1 2; do
				for kind in $TLS_KINDS; do
					tls_row "$dir" "$kind" "$key" "$threads" "$r"
				done
			done
		done
	done
	tls_stop
	for kind in $TLS_KINDS; do
		for key in $TLS_KEYS; do
			[ -n "${TLS_PORT[$kind-$key]:-}" ] || return 1
		done
	done
	return 0
}

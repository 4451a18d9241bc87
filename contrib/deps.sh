# contrib/deps.sh: the Debian packages p11agent needs, and a function that
# installs the missing ones. Sourced by contrib/quickstart, contrib/run-tests
# and .ci/run (bash).
#
# SPDX-License-Identifier: Apache-2.0

# To build p11agent and run the quickstart's demo (openssh-client: ssh-add and
# ssh-keygen on the agent's SSH socket; curl: the HTTP example's client).
# libsystemd-dev: socket activation and sd_notify through libsystemd (optional:
# without it p11agentd speaks both protocols itself).
BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config libp11-kit-dev libssl-dev
libsystemd-dev libcmocka-dev softhsm2 openssl openssh-client curl"
# Also to run the whole test suite: python3 (hostile clients, JSON checks),
# OpenSSH's client programs (ssh-keygen: public keys; ssh-add, ssh-keygen -Y
# and ssh: the agent's SSH socket) and its server (sshd, which the login test
# starts), git (commits signed through the SSH socket), clang and its runtime
# (libFuzzer, sanitizers), valgrind (the integration tests under memcheck),
# tcsh (p11agentd's csh lines eval'ed by a real csh), nginx and curl
# (unmodified programs using agent keys through the OpenSSL provider), libp11's
# engine (make bench's smoke test: TLS with the key loaded into the server
# through PKCS#11, the provider's peer), OpenSC's pkcs11-tool and PyKCS11
# (the key lifecycle tests read token attributes, and make keys, with a tool
# other than p11agent), systemd (systemd-socket-activate starts the agent on
# sockets it passes; systemd-analyze verify checks the units, and man-db's man
# the pages their Documentation= names).
TEST_PACKAGES="$BUILD_PACKAGES python3 openssh-client openssh-server git tcsh clang
libclang-rt-14-dev valgrind nginx curl libengine-pkcs11-openssl opensc python3-pykcs11 systemd
man-db"
# Also for `make bench` (bench/standard.sh): python3 (idle connections, the
# report), and p11-kit's `p11-kit server` with p11-kit-client.so, the peer it
# compares the agent with (without them it measures direct and agent only),
# and libp11's engine, the peer of the OpenSSL provider in the TLS handshakes.
BENCH_PACKAGES="$BUILD_PACKAGES python3 p11-kit p11-kit-modules libengine-pkcs11-openssl"

# Also to build the Debian packages (contrib/build-debs; debian/control's
# Build-Depends less the test tools) and to check them (lintian), and for
# their smoke test (contrib/deb-smoke: systemd-socket-activate in systemd,
# softhsm2 and openssl from BUILD_PACKAGES).
DEB_PACKAGES="$BUILD_PACKAGES debhelper dpkg-dev lintian libsystemd-dev systemd"

# missing_packages PKG...: prints the packages that are not installed.
missing_packages() {
	local p
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			echo "$p"
		fi
	done
}

# install_packages PKG...: installs the missing ones with apt-get (as root, or
# through sudo); on a system without dpkg, only says what is needed.
install_packages() {
	local missing sudo=
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "Not a Debian system: make sure the equivalents of these are installed:" >&2
		echo "  $*" >&2
		return 0
	fi
	missing=$(missing_packages "$@" | tr '\n' ' ')
	if [ -z "${missing// /}" ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo=sudo
		else
			echo "Missing Debian packages: $missing" >&2
			echo "Install them as root: apt-get install $missing" >&2
			return 1
		fi
	fi
	echo "Installing the missing Debian packages: $missing"
	$sudo apt-get update -q
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

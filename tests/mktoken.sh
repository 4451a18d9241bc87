#!/bin/sh
# mktoken.sh: makes a SoftHSM2 token in a folder of its own. Used by the
# integration tests (tests/lib.sh) and by contrib/quickstart.
#
#   mktoken.sh DIR TOKEN_LABEL SPEC...
#
# Makes DIR/softhsm2.conf (point SOFTHSM2_CONF at it), DIR/tokens/, and the
# PINs DIR/pin and DIR/so-pin (mode 0600; a random PIN unless DIR/pin exists
# already), then initializes the token and makes one key per SPEC (see
# tests/mktoken.c for the SPEC syntax). The PINs never reach argv.
#
# Environment: SOFTHSM_MODULE (the SoftHSM2 module, required) and MKTOKEN (the
# mktoken program; default: tests/mktoken beside the build's top directory).
#
# SPDX-License-Identifier: Apache-2.0
set -eu

if [ $# -lt 2 ]; then
	echo "usage: mktoken.sh DIR TOKEN_LABEL SPEC..." >&2
	exit 2
fi
dir=$1
label=$2
shift 2
: "${SOFTHSM_MODULE:?SOFTHSM_MODULE must name the SoftHSM2 module}"
: "${MKTOKEN:=${top_builddir:-.}/tests/mktoken}"

if [ ! -x "$MKTOKEN" ]; then
	echo "mktoken.sh: $MKTOKEN is missing: build it with 'make tests/mktoken'" >&2
	exit 1
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -rf "$dir/tokens"
mkdir -m 0700 "$dir/tokens"
cat >"$dir/softhsm2.conf" <<EOF
# SoftHSM2 configuration of the token '$label' (made by mktoken.sh)
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF

random_pin() {
	od -An -N8 -tx1 /dev/urandom | tr -d ' \n'
}

umask 077
if [ ! -s "$dir/pin" ]; then
	random_pin >"$dir/pin"
	echo >>"$dir/pin"
fi
chmod 0600 "$dir/pin"
random_pin >"$dir/so-pin"
echo >>"$dir/so-pin"

SOFTHSM2_CONF=$dir/softhsm2.conf
export SOFTHSM2_CONF
exec "$MKTOKEN" --module "$SOFTHSM_MODULE" --token "$label" --pin-file "$dir/pin" \
	--init --so-pin-file "$dir/so-pin" "$@"

#!/bin/sh
# test-lifecycle-admin.sh: only the agent's admins manage keys. A client
# that really runs as another uid (setpriv), in the socket's group but no
# admin, gets DENIED (exit 4) for keygen, rotate, versions, trim, rewrap,
# cert import and reload, each with an audit record, and the token is left
# as it was; csr and cert issue sign with the key, so they need the key's
# sign permission, not admin. admin-users naming the uid, or admin-groups
# naming one of its groups, lets it manage keys after a reload; taking it
# out takes that away again. Skipped (exit 77) unless run as root with
# setpriv (util-linux).
#
# SPDX-License-Identifier: Apache-2.0
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: test-lifecycle-admin.sh needs root, to connect as other uids (setpriv)"
	exit 77
fi
. "$top_srcdir/tests/lifecycle-lib.sh"
require_tools setpriv od cmp timeout stat
make_token

SGID=54340 # the socket's group: every user's primary group
UN=54341   # not an admin
UA=54342   # an admin by admin-users, later
UG=54343   # an admin by admin-groups (supplementary group GADM), later
GADM=54350

# The clients' files: readable by all; the rest of $T stays private but passable.
chmod 0711 "$T"
D=$T/data
mkdir -m 0755 "$D"
for u in "$UN" "$UA" "$UG"; do
	mkdir -m 0700 "$D/out.$u"
	chown "$u:$SGID" "$D/out.$u"
done
MSG=$D/msg
printf 'p11agent lifecycle admin test\n' >"$MSG"
chmod 0644 "$MSG"
cp "$top_srcdir/tests/lsan.supp" "$D/lsan.supp" 2>/dev/null && chmod 0644 "$D/lsan.supp"
USER_LSAN_OPTIONS="suppressions=$D/lsan.supp:print_suppressions=0"

SOCK=$T/run/agent.sock
# conf SECTIONS...: the config with the socket's group, the trail and TEXT.
conf() {
	write_conf "socket-group = $SGID
$1"
}
conf ""
start_lc_agent || finish

CLI=$P11AGENT
CLI_ENV=
# as UID GROUPS CMD...: CMD as uid UID, gid SGID, supplementary GROUPS ("-": none).
as() {
	local uid=$1 groups=$2
	shift 2
	if [ "$groups" = - ]; then
		groups=--clear-groups
	else
		groups=--groups=$groups
	fi
	# shellcheck disable=SC2086 # CLI_ENV is a list of VAR=VALUE words
	timeout -k 2 60 setpriv --reuid="$uid" --regid="$SGID" "$groups" \
		env LSAN_OPTIONS="$USER_LSAN_OPTIONS" $CLI_ENV "$@"
}
# p11u UID GROUPS ARGS...: the CLI as that user on the test socket.
p11u() {
	local uid=$1 groups=$2
	shift 2
	as "$uid" "$groups" "$CLI" -S "$SOCK" "$@"
}
cli_for_other_users "$UN" as "$UN" -

# --- what the admin (the agent's own uid) makes first ------------------------------------------
check_rc "admin: keygen base (rsa:2048 decrypt,unwrap,wrap)" 0 \
	p11a keygen base --type rsa:2048 --ops decrypt,unwrap,wrap || finish
check_rc "admin: keygen ca (ec:P-256)" 0 p11a keygen ca --type ec:P-256 || finish
check_rc "admin: cert issue ca --self --ca" 0 \
	p11a cert issue ca --self --subject "CN=Admin Test CA" --ca --days 5 -o "$D/ca.pem"
chmod 0644 "$D/ca.pem"
check_rc "admin: cert import ca" 0 p11a cert import ca -i "$D/ca.pem"
check_rc "admin: csr with ca's key" 0 p11a csr ca --subject "CN=leaf" -o "$D/leaf.csr"
chmod 0644 "$D/leaf.csr"
p11a pubkey base >"$D/base.pem" 2>/dev/null
head -c 32 /dev/urandom >"$T/session"
ossl pkeyutl -encrypt -pubin -inkey "$D/base.pem" -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1 -in "$T/session" -out "$D/w1"
chmod 0644 "$D/w1"
# A certificate for the refused imports (denied before it is even looked at).
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" \
	-subj "/CN=other" -days 1 -out "$D/other.pem" 2>/dev/null
chmod 0644 "$D/other.pem"
check_rc "admin: rotate base" 0 p11a rotate base
# allow-destroy, so that a refused trim is refused for being no admin only.
conf "[key base]
allow-destroy = yes
min-version = 2"
reload_ok "admin"
dump_token
N_OBJS=$(nobj)

# --- a user who is no admin ----------------------------------------------------------------------
# refused NAME OP CMD...: CMD as user UN exits 4, names the rule, writes nothing,
# and the trail gets a DENIED record of OP for UN.
refused() {
	local name=$1 op=$2 before after
	shift 2
	before=$(audit_count "$op" DENIED "$UN")
	check_rc "non-admin: $name: exit 4" 4 p11u "$UN" - "$@"
	check_err "non-admin: $name: says why" 'may not manage keys|admin'
	if [ -s "$OUT" ]; then
		fail "non-admin: $name: nothing on stdout" "$(show "$OUT")"
	fi
	after=$(audit_count "$op" DENIED "$UN")
	if [ "$after" -eq $((before + 1)) ]; then
		pass "non-admin: $name: a DENIED record in the trail"
	else
		fail "non-admin: $name: a DENIED record in the trail" "$before before, $after after"
	fi
}
O=$D/out.$UN
refused "keygen" keygen keygen mine --type ec:P-256
refused "keygen of a name in use" keygen keygen base --type ec:P-256
refused "rotate" rotate rotate base
refused "versions" versions versions base
refused "trim" trim trim base --below 2
refused "rewrap" rewrap rewrap base@1 --alg rsa-oaep-sha1 -i "$D/w1" -o "$O/w2"
refused "cert import" cert-import cert import ca -i "$D/other.pem"
refused "reload" reload reload
if [ -e "$O/w2" ]; then
	fail "non-admin: rewrap wrote no file" "$O/w2 exists"
else
	pass "non-admin: rewrap wrote no file"
fi
# csr and cert issue sign with the key: a key the user may not use is not there for it.
run p11u "$UN" - csr ca --subject "CN=mine" -o "$O/mine.csr"
if [ "$RC" -eq 4 ] || [ "$RC" -eq 5 ]; then
	pass "non-admin, not allowed the key: csr refused (exit $RC)"
else
	fail "non-admin, not allowed the key: csr refused" "exit $RC: $(show "$ERR")"
fi
run p11u "$UN" - cert issue ca -i "$D/leaf.csr" --days 1 -o "$O/leaf.pem"
if [ "$RC" -eq 4 ] || [ "$RC" -eq 5 ]; then
	pass "non-admin, not allowed the key: cert issue refused (exit $RC)"
else
	fail "non-admin, not allowed the key: cert issue refused" "exit $RC: $(show "$ERR")"
fi
if [ -s "$O/mine.csr" ] || [ -s "$O/leaf.pem" ]; then
	fail "non-admin: no CSR, no certificate written" "$(ls "$O")"
else
	pass "non-admin: no CSR, no certificate written"
fi
dump_token
expect "non-admin: the token is as it was" "$(nobj)" "$N_OBJS"
expect "non-admin: base (version 1) not trimmed" "$(nobj base private)" 1
expect "non-admin: no key 'mine'" "$(nobj mine)" 0

# A user allowed to sign with the CA key may make CSRs and certificates with it
# (they are signatures); it still may not manage keys.
conf "[key base]
allow-destroy = yes
min-version = 2

[key ca]
allow-users = $UN
allow-ops = sign"
reload_ok "allow-users for ca"
if check_rc "allowed to sign with ca: csr" 0 p11u "$UN" - csr ca --subject "CN=mine" -o "$O/mine.csr"; then
	if ossl req -in "$O/mine.csr" -verify -noout 2>&1 | grep -qi 'verify OK'; then
		pass "allowed to sign with ca: the CSR verifies"
	else
		fail "allowed to sign with ca: the CSR verifies" "openssl req -verify failed"
	fi
fi
if check_rc "allowed to sign with ca: cert issue" 0 \
	p11u "$UN" - cert issue ca -i "$D/leaf.csr" --days 1 -o "$O/leaf.pem"; then
	if ossl verify -CAfile "$D/ca.pem" "$O/leaf.pem" >/dev/null 2>&1; then
		pass "allowed to sign with ca: the certificate verifies"
	else
		fail "allowed to sign with ca: the certificate verifies" "openssl verify failed"
	fi
fi
refused "cert import, allowed to sign" cert-import cert import ca -i "$D/other.pem"
refused "rotate, allowed to sign" rotate rotate ca

# --- admin-users and admin-groups -------------------------------------------------------------
conf "admin-users = $UA
admin-groups = $GADM

[key base]
allow-destroy = yes"
reload_ok "admin-users, admin-groups"
before=$(audit_count keygen OK "$UA")
if check_rc "admin-users: keygen" 0 p11u "$UA" - keygen ukey --type ec:P-256; then
	if grep -q 'object=ukey' "$OUT"; then
		pass "admin-users: keygen prints the URI"
	else
		fail "admin-users: keygen prints the URI" "$(show "$OUT")"
	fi
fi
expect "admin-users: an OK record of keygen" "$(audit_count keygen OK "$UA")" "$((before + 1))"
check_rc "admin-users: rotate" 0 p11u "$UA" - rotate ukey
check_rc "admin-users: versions" 0 p11u "$UA" - versions ukey
check_rc "admin-users: rewrap" 0 \
	p11u "$UA" - rewrap base@1 --alg rsa-oaep-sha1 -i "$D/w1" -o "$D/out.$UA/w2"
check_rc "admin-users: reload" 0 p11u "$UA" - reload
check_rc "admin-groups: keygen" 0 p11u "$UG" "$GADM" keygen gkey --type ed25519
check_rc "admin-groups, without the group: keygen DENIED" 4 p11u "$UG" - keygen gkey2 --type ed25519
refused "keygen, another user's admin-users" keygen keygen mine --type ec:P-256
dump_token
expect "token: ukey, ukey@2 and gkey made by the admins" \
	"$(($(nobj ukey private) + $(nobj ukey@2 private) + $(nobj gkey private)))" 3

# Taken out again: refused again.
conf "[key base]
allow-destroy = yes
min-version = 2"
reload_ok "no admin-users"
check_rc "admin-users removed: keygen DENIED" 4 p11u "$UA" - keygen ukey2 --type ec:P-256

# --- the trail: every refusal with the uid -------------------------------------------------------
for op in keygen rotate versions trim rewrap cert-import reload; do
	n=$(audit_count "$op" DENIED "$UN")
	if [ "$n" -ge 1 ]; then
		pass "audit trail: $op DENIED for uid $UN ($n)"
	else
		fail "audit trail: $op DENIED for uid $UN" "no record"
	fi
done
no_pin_in "no PIN in the agent's log, the trail or the outputs" "$T/agent.log" "$LC_AUDIT" "$OUT" "$ERR"
agent_alive "agent still serving"
finish

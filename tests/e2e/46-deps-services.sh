#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/deps.sh (make deps, test-deps, bench-deps, and make demo through
# it) leaves no service running or enabled that a package it installed
# brought: a scratch package whose postinst enables its unit and asks to
# start it, as Debian's mosquitto, haproxy and prometheus do, is installed
# through deps.sh; the start is refused by policy-rc.d, the unit is
# disabled afterwards, and the machine's own policy-rc.d (if it has one) is
# untouched.
set -u
cd "$(dirname "$0")/../.."
log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
skip() { log "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (installs a scratch package)"
for t in dpkg-deb apt-get systemctl deb-systemd-helper; do
	command -v "$t" >/dev/null || skip "$t is missing"
done
PKG=mqlbt-svc-$$
UNIT=$PKG.service
T=$(mktemp -d "/tmp/$PKG-XXXX")
chmod 755 "$T"
cleanup() {
	dpkg --purge "$PKG" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
POLICY=/usr/sbin/policy-rc.d
policy_before=$(md5sum "$POLICY" 2>/dev/null || echo absent)

# The scratch package: a unit, enabled and started by its postinst.
mkdir -p "$T/root/DEBIAN" "$T/root/lib/systemd/system"
cat >"$T/root/DEBIAN/control" <<CTL
Package: $PKG
Version: 1.0
Architecture: all
Maintainer: mqlb tests <tests@users.noreply.r-seed-5e9734fd.example>
Description: scratch package of tests/e2e/46-deps-services.sh
 A unit that its postinst enables and starts, like a daemon package.
CTL
cat >"$T/root/DEBIAN/postinst" <<PI
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
	deb-systemd-helper enable $UNIT
	deb-systemd-invoke start $UNIT
fi
PI
cat >"$T/root/DEBIAN/postrm" <<PR
#!/bin/sh
set -e
if [ "\$1" = purge ]; then deb-systemd-helper purge $UNIT; fi
PR
chmod 755 "$T/root/DEBIAN/postinst" "$T/root/DEBIAN/postrm"
cat >"$T/root/lib/systemd/system/$UNIT" <<U
[Unit]
Description=scratch service of tests/e2e/46-deps-services.sh
[Service]
ExecStart=/bin/true
[Install]
WantedBy=multi-user.target
U
dpkg-deb --build --root-owner-group "$T/root" "$T/$PKG.deb" >/dev/null || fail "dpkg-deb --build"
mkdir "$T/lists"
printf '# scratch\n%s\n' "$T/$PKG.deb" >"$T/lists/scratch.txt"

out=$(MQLB_DEPS_DIR=$T/lists scripts/deps.sh scratch 2>&1) || fail "deps.sh: $out"
grep -q "policy-rc.d returned 101, not running 'start $UNIT'" <<<"$out" ||
	fail "the package's start was not refused: $out"
grep -q "not started, and disabled: $UNIT" <<<"$out" || fail "deps.sh did not disable $UNIT: $out"
st=$(systemctl is-enabled "$UNIT" 2>/dev/null)
[ "$st" = disabled ] || fail "$UNIT is '$st' after deps.sh"
[ "$(md5sum "$POLICY" 2>/dev/null || echo absent)" = "$policy_before" ] ||
	fail "deps.sh changed or left $POLICY"
log "start refused by policy-rc.d, unit disabled, $POLICY as before ($(cut -c1-12 <<<"$policy_before"))"
out=$(MQLB_DEPS_DIR=$T/lists scripts/deps.sh scratch 2>&1) || fail "deps.sh again: $out"
grep -q "deps: all 1 packages of 'scratch' present" <<<"$out" || fail "second run: $out"
log "a second run installs nothing"
log "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian packages, end to end: dpkg-buildpackage -b -us -uc on a copy of
# the tree (scripts/build-debs.sh, as `make deb`: the .debs land in a scratch
# directory, not beside the checkout),
# lintian without an error, `apt-get install ./*.deb`, then the installed
# files: units that systemd-analyze verifies in place, manual pages clean
# under man --warnings, the broker's user and password file, no service
# enabled or started. Then a namespace test of the installed binaries with
# the installed example configurations, adapted: three /usr/sbin/mqbroker
# brokers (logins required, b1 and b2 bridged to b3 with the example's
# bridge block) behind /usr/sbin/mqlbd, whose MQTT checks log in;
# subscribers through the VIP get a message published through the VIP.
#
# Afterwards the packages are purged again (and the broker's user removed
# if the install created it), unless MQLB_KEEP_PACKAGES=1: CI sets it, its
# machine is thrown away. If they were installed before the test, it skips
# rather than replace an installation it did not make.
. "$(dirname "$0")/lib.sh"
bed_require
for t in dpkg-buildpackage lintian apt-get systemd-analyze man mosquitto_passwd; do
	command -v "$t" >/dev/null || skip "$t is not installed (make test-deps)"
done
PKGS="mqlb mqbroker mqbench"
for p in $PKGS; do
	case $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) in
	"" | un*) ;;
	*) skip "package $p is known to dpkg already; this test installs and removes its own" ;;
	esac
done
had_user=0
getent passwd mqbroker >/dev/null && had_user=1
T=$WORK/pkg
mkdir -p "$T"
chmod 755 "$WORK" "$T" # apt's _apt user reads the .debs

pkg_cleanup() {
	[ "${MQLB_KEEP_PACKAGES:-0}" = 1 ] && return
	local p installed=
	# Anything dpkg knows beyond "not installed": installed, half-configured, config files.
	for p in $PKGS; do
		case $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) in
		"" | un*) ;;
		*) installed="$installed $p" ;;
		esac
	done
	# shellcheck disable=SC2086
	[ -n "$installed" ] && dpkg --purge $installed >"$T/purge.log" 2>&1
	if [ $had_user = 0 ] && getent passwd mqbroker >/dev/null; then
		userdel mqbroker 2>/dev/null
		getent group mqbroker >/dev/null && groupdel mqbroker 2>/dev/null
	fi
}
trap 'pkg_cleanup; bed_cleanup' EXIT

log "== dpkg-buildpackage -b -us -uc"
v=$(sed -n '1s/^mqlb (\([^)]*\)).*/\1/p' debian/changelog)
scripts/build-debs.sh "$T" >"$T/build.log" 2>&1 || fail "dpkg-buildpackage: $(tail -30 "$T/build.log")"
for p in $PKGS; do
	deb=$T/${p}_${v}_$(dpkg --print-architecture).deb
	[ -s "$deb" ] || fail "no $deb"
	log "$(basename "$deb"): $(stat -c %s "$deb") bytes, installed size $(dpkg-deb -f "$deb" Installed-Size) KiB"
done
# Built without .git: the version is the Makefile's alone, as the changelog says.
dpkg-deb --fsys-tarfile "$T/mqlb_${v}_"*.deb | tar -xOf - ./usr/sbin/mqlbd >"$T/mqlbd.bin"
chmod +x "$T/mqlbd.bin"
[ "$("$T/mqlbd.bin" --version)" = "mqlbd $v" ] || fail "packaged mqlbd --version: $("$T/mqlbd.bin" --version)"

log "== lintian"
lintian -I "$T"/mqlb_"$v"_*.changes >"$T/lintian.log" 2>&1
grep -q '^E: ' "$T/lintian.log" && fail "lintian errors: $(grep '^E: ' "$T/lintian.log")"
grep -q '^W: ' "$T/lintian.log" && fail "lintian warnings: $(grep '^W: ' "$T/lintian.log")"
log "lintian: no error, no warning ($(grep -c '^I: ' "$T/lintian.log") notes)"

log "== apt-get install ./*.deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"$T/mqlb_${v}"_*.deb "$T/mqbroker_${v}"_*.deb "$T/mqbench_${v}"_*.deb >"$T/apt.log" 2>&1 ||
	fail "apt-get install: $(tail -20 "$T/apt.log")"
for f in /usr/sbin/mqlbd /usr/sbin/mqlb /usr/sbin/mqbroker /usr/bin/mqbench /etc/mqlb/mqlbd.conf \
	/etc/mqbroker/mqbroker.conf /lib/systemd/system/mqlbd.service /lib/systemd/system/mqbroker.service \
	/usr/lib/sysusers.d/mqbroker.conf /usr/share/bash-completion/completions/mqlb; do
	[ -e "$f" ] || fail "$f is not installed"
done
[ "$(stat -c '%a %U:%G' /etc/mqbroker/passwd)" = "640 root:mqbroker" ] ||
	fail "/etc/mqbroker/passwd: $(stat -c '%a %U:%G' /etc/mqbroker/passwd 2>&1)"
[ "$(stat -c '%a' /etc/mqlb/mqlbd.conf)" = 640 ] || fail "/etc/mqlb/mqlbd.conf is not 0640"
out=$(systemd-analyze verify --man=yes /lib/systemd/system/mqlbd.service /lib/systemd/system/mqbroker.service 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify complains: $out"
for u in mqlbd mqbroker; do
	st=$(systemctl is-enabled "$u.service" 2>/dev/null)
	[ "$st" = enabled ] && fail "$u.service was enabled by the installation"
	systemctl is-active -q "$u.service" 2>/dev/null && fail "$u.service was started by the installation"
done
for m in mqlbd.8 mqlbd.conf.5 mqlb.8 mqbroker.8 mqbroker.conf.5 mqbench.1; do
	page=$(man -w "${m%.*}" 2>/dev/null | head -1)
	[ -n "$page" ] || fail "man page $m is not installed"
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings "${m##*.}" "${m%.*}" 2>&1 >/dev/null)
	[ -z "$out" ] || fail "man --warnings $m: $out"
done
for b in /usr/sbin/mqlbd /usr/sbin/mqbroker /usr/bin/mqbench; do
	"$b" --version | grep -qE "^$(basename "$b") $v$" || fail "$b --version: $("$b" --version)"
	"$b" --help >/dev/null || fail "$b --help"
done
/usr/sbin/mqlb --version | grep -q "^mqlb v$v$" || fail "mqlb --version"
log "installed: files, modes, units verified in place, manual pages, no service enabled or started"

log "== the installed binaries and example configurations in namespaces"
bed_up
mosquitto_passwd -b -c "$WORK/passwd" mqlb-health health-pw 2>/dev/null
mosquitto_passwd -b "$WORK/passwd" bridge bridge-pw 2>/dev/null
mosquitto_passwd -b "$WORK/passwd" client client-pw 2>/dev/null
printf 'health-pw\n' >"$WORK/health.pw"
chmod 600 "$WORK/health.pw"
for i in 1 2 3; do
	sed -e "s|^password_file .*|password_file $WORK/passwd|" /etc/mqbroker/mqbroker.conf >"$WORK/mqbroker-b$i.conf"
	if [ "$i" != 3 ]; then
		# The example's bridge block, uncommented, toward b3, with a login.
		sed -n 's/^#\(connection\|address\|topic\|restart_timeout\|notifications\)/\1/p' \
			/etc/mqbroker/mqbroker.conf |
			sed -e "s/^connection .*/connection bridge-b$i-to-b3/" \
			    -e "s/^address .*/address $(broker_addr 3):1883/" \
			    -e 's/^restart_timeout .*/restart_timeout 1/' >>"$WORK/mqbroker-b$i.conf"
		printf 'remote_username bridge\nremote_password bridge-pw\n' >>"$WORK/mqbroker-b$i.conf"
	fi
	/usr/sbin/mqbroker -t -c "$WORK/mqbroker-b$i.conf" >"$T/t.log" 2>&1 || fail "mqbroker -t b$i: $(cat "$T/t.log")"
	ip netns exec "${P}b$i" /usr/sbin/mqbroker -c "$WORK/mqbroker-b$i.conf" >"$WORK/mqbroker-b$i.log" 2>&1 &
	CLEANUP_PIDS+=($!)
done
for i in 1 2 3; do wait_port "b$i" 1883 || fail "mqbroker b$i: $(cat "$WORK/mqbroker-b$i.log")"; done
wait_bridges_up 1 2

sed -e "s|^vip .*|vip $VIP:$VIP_PORT|" -e 's|^interface .*|interface lbc|' \
	-e 's|^backend-interface .*|backend-interface lbb|' -e "s|^snat .*|snat $SNAT|" \
	-e "s|^backend broker\([0-9]\) .*|backend broker\1 $NET_BRK.1\1:1883|" \
	-e "s|^health .*|health mqtt interval 500ms timeout 400ms rise 1 fall 1 user mqlb-health password-file $WORK/health.pw|" \
	-e "s|^pin-path .*|pin-path $PIN|" -e "s|^control .*|control $CTL|" \
	/etc/mqlb/mqlbd.conf >"$WORK/mqlbd.conf"
out=$(ip netns exec "${P}lb" /usr/sbin/mqlbd -t -c "$WORK/mqlbd.conf" 2>&1) || fail "installed mqlbd -t: $out"
ip netns exec "${P}lb" /usr/sbin/mqlbd -c "$WORK/mqlbd.conf" >"$WORK/mqlbd.log" 2>&1 &
MQLBD_PID=$!
CLEANUP_PIDS+=($MQLBD_PID)
for _ in $(seq 100); do [ "$(grep -c "down -> up" "$WORK/mqlbd.log")" = 3 ] && break; sleep 0.1; done
[ "$(grep -c "down -> up (health check passed 1 time: CONNACK 0)" "$WORK/mqlbd.log")" = 3 ] ||
	fail "the installed mqlbd's checks did not log in: $(cat "$WORK/mqlbd.log")"
show=$(nsx lb /usr/sbin/mqlb --pin-path "$PIN" backend show -j)
[ "$(grep -o '"state":"up"' <<<"$show" | wc -l)" = 3 ] || fail "mqlb backend show: $show"

for i in 1 2 3; do
	nsx cli timeout 15 mosquitto_sub -h "$VIP" -u client -P client-pw -t kuliah -C 1 -i "sub$i" \
		>"$WORK/sub$i.out" 2>&1 &
	CLEANUP_PIDS+=($!)
	SUBS+=($!)
done
for _ in $(seq 50); do
	[ "$(($(broker_conns 1) + $(broker_conns 2) + $(broker_conns 3)))" -ge 3 ] && break
	sleep 0.1
done
sleep 0.5 # the subscriptions reach the brokers right after their CONNACKs
nsx cli timeout 5 mosquitto_pub -h "$VIP" -u client -P client-pw -t kuliah -m "hello from the package test" ||
	fail "mosquitto_pub through the VIP"
for pid in "${SUBS[@]}"; do wait "$pid" || fail "a subscriber got nothing: $(cat "$WORK"/sub*.out)"; done
[ "$(grep -c "hello from the package test" "$WORK"/sub*.out | awk -F: '{s += $2} END {print s}')" = 3 ] ||
	fail "want the message at 3 subscribers: $(cat "$WORK"/sub*.out)"
log "3 subscribers spread over b1/b2/b3 through the VIP got a message published through it"
stop_mqlbd
log "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install into a DESTDIR, checked file by file with its mode; the
# example configurations pass `mqlbd -t`-style parsing and `mqbroker -t`;
# systemd-analyze verify of both units (paths pointed into the tree) says
# nothing; every manual page is clean under man --warnings; bash completion
# of mqlb completes objects, verbs, options and backend names; make
# uninstall leaves nothing but an edited config; the version in the
# Makefile is debian/changelog's; every binary answers --help and
# --version, and the ones with configs, -t.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-$PWD/build}
log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
skip() { log "SKIP: $*"; exit 77; }
for t in scdoc systemd-analyze man; do
	command -v "$t" >/dev/null || skip "$t is not installed (make test-deps)"
done
T=$(mktemp -d /tmp/mqlbt-install-XXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

log "== make install DESTDIR"
make -s install DESTDIR="$T/root" PREFIX=/usr O="$BUILD" >"$T/install.log" 2>&1 ||
	fail "make install: $(tail -20 "$T/install.log")"
want="$T/want" got="$T/got"
cat >"$want" <<'LIST'
-rw-r--r-- /etc/mqbroker/mqbroker.conf
-rw-r----- /etc/mqbroker/passwd
-rw-r----- /etc/mqlb/mqlbd.conf
-rwxr-xr-x /usr/bin/mqbench
-rw-r--r-- /usr/lib/systemd/system/mqbroker.service
-rw-r--r-- /usr/lib/systemd/system/mqlbd.service
-rw-r--r-- /usr/lib/sysusers.d/mqbroker.conf
-rwxr-xr-x /usr/sbin/mqbroker
-rwxr-xr-x /usr/sbin/mqlb
-rwxr-xr-x /usr/sbin/mqlbd
-rw-r--r-- /usr/share/bash-completion/completions/mqlb
-rw-r--r-- /usr/share/doc/mqlb/LICENSE
-rw-r--r-- /usr/share/doc/mqlb/README.md
-rw-r--r-- /usr/share/doc/mqlb/design.md
-rw-r--r-- /usr/share/doc/mqlb/install.md
-rw-r--r-- /usr/share/doc/mqlb/kernel.md
-rw-r--r-- /usr/share/doc/mqlb/study.md
-rw-r--r-- /usr/share/man/man1/mqbench.1
-rw-r--r-- /usr/share/man/man5/mqbroker.conf.5
-rw-r--r-- /usr/share/man/man5/mqlbd.conf.5
-rw-r--r-- /usr/share/man/man8/mqbroker.8
-rw-r--r-- /usr/share/man/man8/mqlb.8
-rw-r--r-- /usr/share/man/man8/mqlbd.8
LIST
(cd "$T/root" && find . -type f -printf '%M /%P\n' | LC_ALL=C sort -k2) >"$got"
diff -u "$want" "$got" >"$T/diff" || fail "installed tree differs: $(cat "$T/diff")"
[ -s "$T/root/etc/mqbroker/passwd" ] && fail "the password file should be installed empty"
grep -q "ExecStart=/usr/sbin/mqlbd -c /etc/mqlb/mqlbd.conf" "$T/root/usr/lib/systemd/system/mqlbd.service" ||
	fail "mqlbd.service does not name the installed paths"
log "$(wc -l <"$got") files, modes as expected"

log "== the example configurations load"
# mqlbd -t also checks the machine: with an interface name no machine has, the file
# must get past parsing to the first machine check, and no further.
sed -e 's/^interface .*/interface mqlbt-noif0/' "$T/root/etc/mqlb/mqlbd.conf" >"$T/mqlbd.conf"
out=$("$BUILD/mqlbd" -t -c "$T/mqlbd.conf" 2>&1)
grep -qE "^$T/mqlbd.conf:[0-9]+: interface 'mqlbt-noif0' does not exist$" <<<"$out" ||
	fail "the example mqlbd.conf does not parse: $out"
sed -e "s|^password_file .*|password_file $T/root/etc/mqbroker/passwd|" \
	"$T/root/etc/mqbroker/mqbroker.conf" >"$T/mqbroker.conf"
out=$("$BUILD/mqbroker" -t -c "$T/mqbroker.conf" 2>&1) || fail "mqbroker -t on the example: $out"
log "mqlbd.conf parses (stops at the first machine check), mqbroker.conf passes -t"

log "== systemd-analyze verify"
mkdir "$T/units"
for u in mqlbd mqbroker; do
	sed -e "s|/usr/sbin/|$T/root/usr/sbin/|g" -e "s| /etc/| $T/root/etc/|g" \
		"$T/root/usr/lib/systemd/system/$u.service" >"$T/units/$u.service"
done
out=$(systemd-analyze verify --man=no "$T/units/mqlbd.service" "$T/units/mqbroker.service" 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify complains: $out"
grep -q '^Type=notify' "$T/units/mqlbd.service" || fail "mqlbd.service is not Type=notify"
grep -q '^ExecReload=.*mqlbd -t' "$T/units/mqlbd.service" || fail "ExecReload does not test first"
log "both units verify without a message"

log "== man --warnings"
for m in "$T"/root/usr/share/man/man*/*; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	[ -z "$out" ] || fail "man --warnings $(basename "$m"): $out"
	LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$m" 2>/dev/null | grep -q "^NAME" || fail "$(basename "$m") has no NAME"
done
log "$(ls "$T"/root/usr/share/man/man*/* | wc -l) pages, no warnings"

log "== bash completion of mqlb"
if [ -r /usr/share/bash-completion/bash_completion ]; then
	# A stand-in mqlb that answers -j backend show as the real one does.
	mkdir "$T/bin"
	cat >"$T/bin/mqlb" <<'FAKE'
#!/bin/sh
echo '[{"id":0,"name":"broker1","address":"10.0.0.1:1883"},{"id":1,"name":"b-2","address":"10.0.0.2:1883"}]'
FAKE
	chmod +x "$T/bin/mqlb"
	out=$(PATH="$T/bin:$PATH" bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$1"
		c() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		      COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
		      COMPREPLY=(); _mqlb mqlb; echo "${COMPREPLY[*]}"; }
		c mqlb ""
		c mqlb ba
		c mqlb backend ""
		c mqlb -j backend dr
		c mqlb backend drain ""
		c mqlb backend show -j --p
		c mqlb stats watch -
		c mqlb --pin-path /run/x flow show backend ""
	' _ "$T/root/usr/share/bash-completion/completions/mqlb" 2>&1)
	printf '%s\n' "$out" >"$T/compl"
	expect() { [ "$(sed -n "$1p" "$T/compl")" = "$2" ] || fail "completion line $1: '$(sed -n "$1p" "$T/compl")', want '$2'"; }
	expect 1 "backend flow stats prog maglev version help"
	expect 2 "backend"
	expect 3 "show list add del drain enable disable help"
	expect 4 "drain"
	expect 5 "broker1 b-2"
	expect 6 "--pretty --pin-path"
	expect 7 "-j --json -p --pretty -V --version -h --help --pin-path --control -i -c"
	expect 8 "broker1 b-2"
	log "objects, verbs, options anywhere, backend names"
else
	log "bash-completion is not installed: completion not exercised"
fi

log "== make uninstall"
echo "# edited" >>"$T/root/etc/mqlb/mqlbd.conf"
make -s uninstall DESTDIR="$T/root" PREFIX=/usr O="$BUILD" >"$T/uninstall.log" 2>&1 || fail "make uninstall"
left=$(cd "$T/root" && find . -type f -printf '/%P\n')
[ "$left" = "/etc/mqlb/mqlbd.conf" ] || fail "uninstall left: $left"
grep -q "KEEP .*mqlbd.conf (changed since installed)" "$T/uninstall.log" || fail "uninstall did not say it kept the edited file"
log "everything removed but the edited mqlbd.conf"

log "== versions"
v=$(sed -n 's/^VERSION *:= *//p' Makefile)
dv=$(sed -n '1s/^mqlb (\([^)]*\)).*/\1/p' debian/changelog)
[ "$v" = "$dv" ] || fail "Makefile VERSION $v, debian/changelog $dv"
for b in mqlbd mqbroker mqbench; do
	out=$("$BUILD/$b" --version) || fail "$b --version"
	grep -qE "^$b $v( \(git [^)]+\))?$" <<<"$out" || fail "$b --version: $out"
	"$BUILD/$b" --help >/dev/null || fail "$b --help"
done
"$BUILD/mqlb" --version | grep -qE "^mqlb v$v( \(git [^)]+\))?$" || fail "mqlb --version: $("$BUILD/mqlb" --version)"
"$BUILD/mqlb" --help | grep -q "OBJECT := { backend | flow | stats | prog | maglev }" || fail "mqlb --help"
log "version $v everywhere; --help and --version answer"
log "PASS"

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh [--update] LIST...: install the Debian packages of
# scripts/packages/LIST.txt that are missing (LIST: build, demo, test,
# bench); nothing when all are present. An entry may also be the path of a
# .deb file. MQLB_DEPS_DIR names another directory of lists (the tests).
#
# Installing a package must not leave a service running that was not
# running before: Debian's mosquitto, haproxy and prometheus start theirs
# on installation. So, unless the machine already has a policy-rc.d (which
# is then obeyed as it is), one that refuses every start is in place for
# the length of the installation; and the units of every package this run
# installed (dependencies included) are disabled afterwards, so that they
# do not start at the next boot either. They were installed as tools for
# the demo, the tests or the benchmarks; `systemctl enable --now NAME`
# makes a service of one.
set -eu
dir=${MQLB_DEPS_DIR:-$(dirname "$0")/packages}
update=0
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
[ $# -gt 0 ] || set -- build demo

# The package an entry names: itself, or the Package field of a .deb file.
name_of() {
	case $1 in
	*.deb) dpkg-deb -f "$1" Package ;;
	*) echo "$1" ;;
	esac
}

installed_set() {
	dpkg-query -W -f='${Package} ${Status}\n' 2>/dev/null | awk '$NF == "installed" {print $1}' | sort
}

entries=
for list in "$@"; do
	[ -r "$dir/$list.txt" ] || { echo "deps: no list '$list' in $dir" >&2; exit 2; }
	entries="$entries $(grep -v '^#' "$dir/$list.txt" | grep -v '^$' | tr '\n' ' ')"
done
entries=$(echo $entries | tr ' ' '\n' | sort -u | tr '\n' ' ')
missing=
for e in $entries; do
	st=$(dpkg-query -W -f='${Status}' "$(name_of "$e")" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $e" ;;
	esac
done
if [ -z "$missing" ]; then
	echo "deps: all $(echo $entries | wc -w) packages of '$*' present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing (run as root to install them)" >&2
	exit 1
fi
if [ $update = 1 ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
	apt-get update
fi

POLICY=/usr/sbin/policy-rc.d
own_policy=0
before=$(mktemp)
cleanup() {
	[ $own_policy = 1 ] && rm -f "$POLICY"
	rm -f "$before"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs packages\nexit 101\n' >"$POLICY"
	chmod 755 "$POLICY"
	own_policy=1
fi

installed_set >"$before"
echo "deps: installing$missing"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing

# Every unit of what this run installed: not started (above), and not at boot.
disabled=
for p in $(installed_set | comm -13 "$before" -); do
	for unit in $(dpkg -L "$p" 2>/dev/null |
		grep -E '^(/usr)?/lib/systemd/system/[^/@]+\.(service|socket|timer)$' | xargs -r -n1 basename); do
		if [ "$(systemctl is-enabled "$unit" 2>/dev/null)" = enabled ]; then
			systemctl disable --quiet "$unit" 2>/dev/null && disabled="$disabled $unit"
		fi
	done
done
if [ -n "$disabled" ]; then
	echo "deps: installed as tools, not as services: not started, and disabled:$disabled"
	echo "deps: (systemctl enable --now NAME to run one as a service)"
fi

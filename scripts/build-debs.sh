#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# build-debs.sh OUTDIR: build the Debian packages (mqlb, mqbroker, mqbench)
# of this tree with dpkg-buildpackage -b -us -uc, in a scratch copy:
# dpkg-buildpackage writes its results into the parent directory, which
# must not be the checkout's. The copy holds the files git knows and the
# new ones it does not ignore (or, outside git, everything but build/), so
# the packages are what is on disk now. The .debs, .changes and .buildinfo
# land in OUTDIR.
set -eu
[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
cd "$(dirname "$0")/.."
out=$1
v=$(sed -n '1s/^mqlb (\([^)]*\)).*/\1/p' debian/changelog)
tmp=$(mktemp -d /tmp/mqlb-debs-XXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/mqlb-$v" "$out"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -co --exclude-standard -z | tar --null -T - -cf -
else
	tar --exclude=./build --exclude=./.git -cf - .
fi | tar -C "$tmp/mqlb-$v" -xf -
(cd "$tmp/mqlb-$v" && dpkg-buildpackage -b -us -uc)
mv "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$out"/
echo "build-debs: $(cd "$out" && ls ./*.deb | grep -v dbgsym | tr '\n' ' ')in $out"

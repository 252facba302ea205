#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build mqbroker as it was at a git revision, for a before/after comparison
# (make bench with BENCH_BROKER_BASE, tests/bench/broker_instructions.sh):
#
#   tests/bench/build_at.sh REV      prints the binary's path: build/at-SHORTREV/mqbroker
#
# The revision is checked out in a temporary worktree, removed again on every
# exit path; the binary and a REV file naming the revision stay in build/.
set -eu
cd "$(dirname "$0")/../.."
[ $# -eq 1 ] || { sed -n '4,10p' "$0" >&2; exit 2; }
rev=$(git rev-parse --short "$1^{commit}") || { echo "build_at: no such revision: $1" >&2; exit 2; }
dest=$PWD/build/at-$rev
if [ -x "$dest/mqbroker" ]; then
	echo "$dest/mqbroker"
	exit 0
fi
wt=$(mktemp -d /tmp/mqlb-build-at-XXXXXX)
cleanup() {
	git worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
	git worktree prune
}
trap cleanup EXIT
git worktree add --detach "$wt" "$rev" >/dev/null 2>&1
make -C "$wt" -j"$(nproc)" build/mqbroker >"$wt.log" 2>&1 ||
	{ tail -20 "$wt.log" >&2; rm -f "$wt.log"; echo "build_at: the build of $rev failed" >&2; exit 1; }
rm -f "$wt.log"
mkdir -p "$dest"
cp "$wt/build/mqbroker" "$dest/mqbroker"
git log -1 --format='%h %cs %s' "$rev" >"$dest/REV"
echo "$dest/mqbroker"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end runner: runs every tests/e2e/NN-*.sh and NN-*.py (or the ones
# named on the command line) from the repository root. A script exits 0 for
# pass, 77 for skip, anything else for fail. Each script cleans up after
# itself (trap); the runner only counts.
#
#   MQLB_E2E_FILTER=regex   run only matching scripts
#   MQLB_E2E_TIMEOUT=secs   per-script time bound (default 600)
set -u
cd "$(dirname "$0")/../.."
export BUILD=${BUILD:-$PWD/build}
timeout_s=${MQLB_E2E_TIMEOUT:-600}
if [ $# -gt 0 ]; then
	scripts=("$@")
else
	mapfile -t scripts < <(ls tests/e2e/[0-9][0-9]-*.sh tests/e2e/[0-9][0-9]-*.py 2>/dev/null | sort)
fi
pass=0 fail=0 skip=0 failed=
for s in "${scripts[@]}"; do
	[ -n "${MQLB_E2E_FILTER:-}" ] && ! [[ $s =~ $MQLB_E2E_FILTER ]] && continue
	name=$(basename "$s")
	start=$(date +%s)
	case "$s" in
	*.py) timeout -k 10 "$timeout_s" /usr/bin/python3 "$s" ;;
	*) timeout -k 10 "$timeout_s" bash "$s" ;;
	esac
	rc=$?
	dur=$(($(date +%s) - start))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${dur}s)" ;;
	77) skip=$((skip + 1)); echo "SKIP $name" ;;
	*) fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (rc=$rc, ${dur}s)" ;;
	esac
done
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || { echo "e2e: failed:$failed"; exit 1; }

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run each cmocka unit test binary; report pass/fail per binary and fail on any failure.
set -u
pass=0 fail=0 failed=
for t in "$@"; do
	if "$t"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed="$failed $(basename "$t")"
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "unit: failed:$failed"; exit 1; }

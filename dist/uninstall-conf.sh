#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# uninstall-conf.sh EXAMPLE FILE: remove FILE if it is still the shipped
# EXAMPLE (an operator's edits are never thrown away), then its directory
# if that is empty.
set -u
[ -e "$2" ] || exit 0
if cmp -s "$1" "$2"; then
	rm -f "$2"
else
	echo "  KEEP     $2 (changed since installed)"
fi
rmdir "$(dirname "$2")" 2>/dev/null
exit 0

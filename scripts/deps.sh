#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages in scripts/packages.txt that are missing;
# do nothing when all of them are present. --update runs apt-get update first.
set -eu
here=$(dirname "$0")
pkgs=$(grep -v '^#' "$here/packages.txt" | grep -v '^$')
missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -z "$missing" ]; then
	echo "deps: all $(echo $pkgs | wc -w) packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing (run as root to install them)" >&2
	exit 1
fi
if [ "${1:-}" = "--update" ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
	apt-get update
fi
echo "deps: installing$missing"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing

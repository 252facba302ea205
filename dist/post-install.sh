#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# After `make install` into the running system (no DESTDIR): create the
# broker's user, give it the password file, and tell systemd about the
# new units. Starting or enabling them is the operator's choice.
set -u
sysusersdir=$1
sysconfdir=$2
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers "$sysusersdir/mqbroker.conf" || echo "  WARN     systemd-sysusers failed: create the user mqbroker yourself"
fi
if getent group mqbroker >/dev/null 2>&1; then
	chgrp mqbroker "$sysconfdir/mqbroker/passwd"
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
echo "  NOTE     edit $sysconfdir/mqlb/mqlbd.conf, then: mqlbd -t -c $sysconfdir/mqlb/mqlbd.conf && systemctl enable --now mqlbd"

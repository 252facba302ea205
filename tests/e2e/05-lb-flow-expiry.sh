#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flow lifecycle in the daemon's collector: a half-open flow (its backend
# never answers) goes after syn-timeout, an idle established flow after
# idle-timeout; neither leaves a SNAT reservation behind. Generic XDP is
# enough here: the collector does not depend on the attach mode.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
start_brokers_star

wait_empty() {
	local what=$1 secs=$2
	for _ in $(seq $((secs * 10))); do
		[ "$(map_count flows)" = 0 ] && [ "$(map_count snat)" = 0 ] && return 0
		sleep 0.1
	done
	fail "$what: flows=$(map_count flows) snat=$(map_count snat) after ${secs}s"
}

# Half-open: the only backend is an address nobody has.
NBROKERS=0 write_mqlbd_conf generic "backend ghost $NET_BRK.99:1883" "syn-timeout 2s"
start_mqlbd
start=$(date +%s)
mqttc hold --target $VIP:$VIP_PORT --count 1 --timeout 1 >/dev/null 2>&1 && fail "connected to a ghost"
[ "$(map_count flows)" = 1 ] || fail "half-open flow was not recorded"
wait_empty "half-open" 6
log "half-open flow removed after $(($(date +%s) - start))s (syn-timeout 2s)"
stop_mqlbd

# Idle: an established connection that says nothing for longer than idle-timeout.
# Keep-alive 0: a keep-alive would stretch the idle limit to 1.5 x keep-alive
# (08-lb-mqtt-aware.sh tests that).
write_mqlbd_conf generic "idle-timeout 2s"
start_mqlbd
ready=$WORK/ready
mqttc_bg hold --target $VIP:$VIP_PORT --count 1 --hold 30 --keepalive 0 --ready-file "$ready"
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
grep -q "connected 1/1" "$ready" || fail "idle: client did not connect"
[ "$(map_count flows)" = 1 ] || fail "idle: flow not recorded"
start=$(date +%s)
wait_empty "idle" 6
log "idle flow removed after $(($(date +%s) - start))s (idle-timeout 2s)"
kill "$BG_PID"
stop_mqlbd
log "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 30 sequential MQTT connections through the VIP land 10/10/10 on three
# Debian mosquitto brokers, counted at the brokers with ss; when the clients
# leave, their flows and SNAT reservations are removed. Native and generic XDP.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
start_brokers_star

for mode in $XDP_MODES; do
	log "== xdp-mode $mode"
	write_mqlbd_conf "$mode"
	start_mqlbd
	grep -q "lbc (ifindex [0-9]*): XDP attached in $mode mode" "$WORK/mqlbd.log" ||
		fail "lbc not attached in $mode mode: $(cat "$WORK/mqlbd.log")"
	ready=$WORK/ready-$mode
	mqttc_bg hold --target $VIP:$VIP_PORT --count 30 --hold 60 --ready-file "$ready"
	holder=$BG_PID
	for _ in $(seq 200); do [ -s "$ready" ] && break; sleep 0.1; done
	grep -q "connected 30/30" "$ready" 2>/dev/null || fail "$mode: not all connected: $(cat "$ready" 2>/dev/null)"
	counts="$(broker_conns 1)/$(broker_conns 2)/$(broker_conns 3)"
	log "$mode: connections per broker (b1/b2/b3): $counts"
	[ "$counts" = "10/10/10" ] || fail "$mode: expected 10/10/10, got $counts"
	[ "$(map_count flows)" = 30 ] || fail "$mode: flow table should hold 30 flows"

	kill "$holder"; wait "$holder" 2>/dev/null
	for _ in $(seq 100); do
		[ "$(map_count flows)" = 0 ] && [ "$(map_count snat)" = 0 ] && break
		sleep 0.1
	done
	[ "$(map_count flows)" = 0 ] || fail "$mode: flows left after the clients closed"
	[ "$(map_count snat)" = 0 ] || fail "$mode: SNAT ports still reserved after the clients closed"
	log "$mode: all flows and SNAT reservations freed after close"

	stop_mqlbd
	nsx lb ip -d link show lbc | grep -q xdp && fail "$mode: XDP still attached after SIGTERM"
	[ -z "$(ls -A "$PIN" 2>/dev/null)" ] || fail "$mode: pins left after SIGTERM: $(ls "$PIN")"
done
log "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 200 concurrent MQTT connections from two client addresses that reuse the
# same 100 source ports: every one connects, each gets its own translated
# tuple at the brokers, and the SNAT reservations match the flows one to one.
# Native and generic XDP.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
start_brokers_star

for mode in $XDP_MODES; do
	log "== xdp-mode $mode"
	write_mqlbd_conf "$mode"
	start_mqlbd
	ready=$WORK/ready-$mode
	mqttc_bg hold --target $VIP:$VIP_PORT --count 200 --src "$CLI_ADDRS" --sport-base 40000 \
		--concurrent --hold 60 --ready-file "$ready"
	holder=$BG_PID
	for _ in $(seq 300); do [ -s "$ready" ] && break; sleep 0.1; done
	grep -q "connected 200/200" "$ready" 2>/dev/null || fail "$mode: $(cat "$ready" 2>/dev/null)"
	total=0
	for i in 1 2 3; do total=$((total + $(broker_conns $i))); done
	tuples=$(for i in 1 2 3; do
		nsx "b$i" ss -Htn state established "( sport = :1883 )" | awk -v s="$SNAT:" -v b="$i" 'index($4, s) == 1 { print b, $4 }'
	done | sort -u | wc -l)
	log "$mode: brokers see $total connections from the SNAT address, $tuples distinct tuples"
	[ "$total" = 200 ] || fail "$mode: expected 200 connections at the brokers, got $total"
	[ "$tuples" = 200 ] || fail "$mode: translated tuples are not distinct ($tuples)"
	[ "$(map_count flows)" = 200 ] || fail "$mode: flow table should hold 200 flows"
	[ "$(map_count snat)" = 200 ] || fail "$mode: SNAT table should hold 200 reservations"
	kill "$holder"; wait "$holder" 2>/dev/null
	stop_mqlbd
done
log "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mosquitto_sub through the VIP receives what mosquitto_pub sends through the
# VIP, across the study's bridged star (the two clients land on different
# brokers). Native and generic XDP.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
start_brokers_star

for mode in $XDP_MODES; do
	log "== xdp-mode $mode"
	write_mqlbd_conf "$mode"
	start_mqlbd
	out=$WORK/sub-$mode.out
	ip netns exec "${P}cli" mosquitto_sub -h $VIP -p $VIP_PORT -t "kuliah/$mode" -C 1 -W 20 >"$out" 2>&1 &
	sub=$!
	CLEANUP_PIDS+=($sub)
	# The subscription has to cross the bridge before a message can: publish
	# (QoS 1) until the subscriber has it, a bounded number of times.
	got=
	for n in $(seq 30); do
		nsx cli mosquitto_pub -h $VIP -p $VIP_PORT -q 1 -t "kuliah/$mode" -m "hello-$mode-$n" ||
			fail "$mode: mosquitto_pub through the VIP failed"
		sleep 0.3
		if grep -q "hello-$mode-" "$out"; then got=$n; break; fi
	done
	wait "$sub" 2>/dev/null
	[ -n "$got" ] || fail "$mode: the subscriber received nothing: $(cat "$out")"
	log "$mode: subscriber received '$(cat "$out")' (after $got publish(es))"
	stop_mqlbd
done
log "PASS"

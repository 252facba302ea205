#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An off-path attacker cannot end, hijack or starve a flow (RFC 5961, conntrack's window
# tracking): 60 idle MQTT clients held through the VIP are sprayed with forged RST,
# RST+ACK and SYN from their own ADDR:PORT with random numbers, and with RSTs from every
# broker's address to every SNAT port, from the brokers' side and, forged, from the
# clients' side; after 8 s of silence (beyond close-timeout, so a flow the spray closed
# would be collected) every client still answers PINGREQ, and the counters show why.
# Once more under balance client-id, whose flows are translated.
. "$(dirname "$0")/lib.sh"
bed_require
[ -x "$SPRAY" ] || fail "$SPRAY is not built"
bed_up
start_brokers_star

for mode in $XDP_MODES; do
	log "== xdp-mode $mode"
	write_mqlbd_conf "$mode"
	start_mqlbd
	got=$(spray_survivors 60 8) || fail "spray: $got"
	log "after the spray and 8 s of silence: $got"
	[ "$got" = "pingresp 60/60" ] || fail "clients lost to forged segments: $got"
	for c in drop_rst_out_of_window drop_wrong_iface flow_syn_challenge; do
		n=$(/usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" "$c")
		log "  $c $n"
		[ "${n:-0}" -gt 0 ] || fail "counter $c did not move"
	done
	stop_mqlbd
done

# balance client-id: each flow's numbers are translated (the client's are the cookie's,
# the broker's its own), and the window is tracked in the broker's numbers; forged
# segments in either numbering must not get through.
mode=${XDP_MODES%% *}
log "== balance client-id, xdp-mode $mode"
BALANCE=client-id write_mqlbd_conf "$mode"
start_mqlbd
got=$(spray_survivors 60 8) || fail "client-id spray: $got"
log "after the spray and 8 s of silence: $got"
[ "$got" = "pingresp 60/60" ] || fail "client-id: clients lost to forged segments: $got"
for c in drop_rst_out_of_window drop_wrong_iface; do
	n=$(/usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" "$c")
	log "  $c $n"
	[ "${n:-0}" -gt 0 ] || fail "client-id: counter $c did not move"
done
stop_mqlbd
log PASS

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A spoofed SYN flood must not lock real clients out: random-source SYNs at 50,000 a
# second for 10 s (seven times the SNAT tuples toward three brokers, twice the flow
# table) while 100 real clients connect, each within 4 s, and 50 held ones wait. Half-
# open flows give way to new SYNs, oldest first (flow_evicted); established ones never.
# Without eviction the SNAT ports run out within two seconds and every real SYN after
# that is dropped until the flood ends. make attack measures the same at the highest
# rate the machine sends, beside HAProxy and nftables.
. "$(dirname "$0")/lib.sh"
bed_require
[ -x "$SPRAY" ] || fail "$SPRAY is not built"
bed_up
start_brokers_star

for mode in $XDP_MODES; do
	log "== xdp-mode $mode"
	write_mqlbd_conf "$mode"
	start_mqlbd
	got=$(flood_survivors 50 100 50000 10) || fail "flood: $got"
	log "$got"
	read -r _ sent _ _ burst _ _ held <<<"$got"
	ok=${burst%%/*}
	[ "${sent:-0}" -ge 250000 ] || fail "the flood sent only ${sent:-0} SYNs"
	[ "${ok:-0}" -ge 99 ] || fail "real clients locked out: $burst"
	[ "$held" = "50/50" ] || fail "held clients lost: $held"
	n=$(/usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" flow_evicted)
	log "  flow_evicted $n"
	[ "${n:-0}" -gt 0 ] || fail "nothing was evicted: the flood did not fill the tables"
	stop_mqlbd
done
log PASS

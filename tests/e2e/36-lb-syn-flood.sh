#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A spoofed SYN flood must not lock real clients out: random-source SYNs at 50,000 a
# second for 10 s (seven times the SNAT tuples toward three brokers, twice the flow
# table) while 100 real clients connect, each within 4 s, and 50 held ones wait. Half-
# open flows give way to new SYNs, oldest first (flow_evicted); established ones never.
# Without eviction the SNAT ports run out within two seconds and every real SYN after
# that is dropped until the flood ends. make attack measures the same at the highest
# rate the machine sends, beside HAProxy and nftables. Then once more under balance
# client-id, whose SYN cookies keep no state for a SYN at all.
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

# balance client-id answers every SYN with a cookie and keeps nothing until the
# handshake's ACK comes back: the flood costs no flow, no port, no eviction.
mode=${XDP_MODES%% *}
log "== balance client-id, xdp-mode $mode"
BALANCE=client-id write_mqlbd_conf "$mode"
start_mqlbd
got=$(flood_survivors 50 100 50000 10) || fail "client-id flood: $got"
log "$got"
read -r _ sent _ _ burst _ _ held <<<"$got"
ok=${burst%%/*}
[ "${sent:-0}" -ge 250000 ] || fail "the flood sent only ${sent:-0} SYNs"
[ "${ok:-0}" -ge 99 ] || fail "client-id: real clients locked out: $burst"
[ "$held" = "50/50" ] || fail "client-id: held clients lost: $held"
stat() { /usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" "$1"; }
cookies=$(stat cookie_synack) evicted=$(stat flow_evicted) new=$(stat flow_new)
log "  cookie_synack $cookies, flow_new $new, flow_evicted $evicted"
[ "${cookies:-0}" -ge 250000 ] || fail "client-id: only ${cookies:-0} SYNs answered with a cookie"
[ "${evicted:-1}" = 0 ] || fail "client-id: $evicted flows evicted: the flood made flows"
[ "${new:-0}" -le 150 ] || fail "client-id: $new flows for 150 real clients"
stop_mqlbd
log PASS

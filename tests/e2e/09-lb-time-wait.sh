#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# SNAT ports are reused while the brokers still hold TIME_WAIT for them.
# An MQTT broker closes first after DISCONNECT, so its side of each flow
# ends in TIME_WAIT for 60 s; a SYN that reuses the SNAT port carries
# another client's TCP timestamps (or, without timestamps, another
# client's sequence numbers), and the broker drops it as an old duplicate
# until the client retransmits it a second later. Two remedies, one per
# phase:
#   without timestamps  mqlbd ends those TIME_WAITs with an exact RST when
#                       it collects the flow;
#   with timestamps     the data plane shifts each flow's TSvals to start at
#                       its own clock, so the next SYN on a port is newer
#                       and the TIME_WAIT lets it in: no RST at all.
#
# 32 SNAT ports x 3 brokers, 240 connections at 40/s from two client
# addresses per phase: every port is reused several times within the
# minute. Each connection must complete at the first SYN.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
for i in $(seq "$NBROKERS"); do start_mosquitto "$i"; done
for i in $(seq "$NBROKERS"); do
	wait_port "b$i" 1883 || fail "mosquitto in b$i did not start"
done

# TIME_WAIT sockets of broker I toward the balancer's SNAT address.
broker_tw() {
	nsx "b$1" ss -Htn state time-wait "( sport = :1883 )" | awk -v s="$SNAT:" 'index($4, s) == 1' | wc -l
}

stat() { /usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" "$1"; }

mode=${XDP_MODES%% *}
write_mqlbd_conf "$mode" "snat-ports 20000-20031"
start_mqlbd

# 240 connections at 40/s; fails unless every one was clean.
conn_burst() {
	local out count errors p99
	out=$(nsx cli "$BUILD/mqbench" conn-rate --sub-target "$VIP:$VIP_PORT" \
		--src "$NET_CLI.10,$NET_CLI.20" -r 40 -n 240 -d 20 -W 0 -t 40 -j) ||
		fail "mqbench failed: $out"
	read -r count errors p99 <<<"$(echo "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["count"], d["errors"], d["p99_us"])')"
	log "$count connections, $errors errors, p99 ${p99} us"
	[ "$count" = 240 ] && [ "$errors" = 0 ] || fail "expected 240 clean connections: $out"
}

# Wait until the collector has had every flow (close-timeout 1 s, 1 s ticks).
flows_collected() {
	for _ in $(seq 50); do
		[ "$(map_count flows)" = 0 ] && break
		sleep 0.1
	done
	sleep 0.2
}

log "phase 1: clients without TCP timestamps: RSTs end the TIME_WAITs"
nsx cli sysctl -qw net.ipv4.tcp_timestamps=0
conn_burst
retrans=$(stat flow_syn_retrans)
released=$(stat flow_backend_rst_time_wait)
log "SYN retransmissions seen: $retrans; broker TIME_WAITs ended: $released"
[ "$retrans" = 0 ] || fail "$retrans SYN retransmissions: reused SNAT ports met TIME_WAIT"
[ "$(stat flow_ts_shifted)" = 0 ] || fail "flows without timestamps counted as shifted"
# The last second's flows are not collected yet: most, not all.
[ "$released" -ge 150 ] || fail "only $released TIME_WAITs ended by RST (want >= 150 of 240)"
flows_collected
tw="$(broker_tw 1)/$(broker_tw 2)/$(broker_tw 3)"
log "brokers' TIME_WAIT toward $SNAT (b1/b2/b3): $tw"
[ "$tw" = 0/0/0 ] || fail "TIME_WAIT left on the brokers: $tw"
released=$(stat flow_backend_rst_time_wait)
[ "$released" -ge 200 ] || fail "only $released TIME_WAITs ended by RST after collection"

log "phase 2: clients with TCP timestamps: shifted TSvals get through the TIME_WAITs"
nsx cli sysctl -qw net.ipv4.tcp_timestamps=1
conn_burst
flows_collected
retrans=$(stat flow_syn_retrans)
shifted=$(stat flow_ts_shifted)
covered=$(stat flow_backend_time_wait_ts)
# A flow shorter than two ticks of the balancer's clock (131 us) may end
# with its TSval not yet behind: judged stale, it still gets its RST.
stale=$(($(stat flow_backend_rst_time_wait) - released))
tw="$(broker_tw 1)/$(broker_tw 2)/$(broker_tw 3)"
total=$(($(broker_tw 1) + $(broker_tw 2) + $(broker_tw 3)))
log "shifted flows: $shifted; TIME_WAITs left to timestamps: $covered, ended by RST: $stale; SYN retransmissions: $retrans; brokers' TIME_WAIT (b1/b2/b3): $tw"
[ "$retrans" = 0 ] || fail "$retrans SYN retransmissions: a shifted SYN met TIME_WAIT"
[ "$shifted" = 240 ] || fail "$shifted flows shifted, want 240"
[ "$covered" -ge 150 ] || fail "only $covered TIME_WAITs covered by timestamps (want >= 150 of 240)"
[ "$stale" -le 24 ] || fail "$stale of 240 flows judged stale (want <= 10%)"
# 240 connections on 96 SNAT tuples: the brokers hold one TIME_WAIT per
# tuple used, most of them met again by a later SYN that got through.
[ "$total" -ge 60 ] || fail "brokers hold only $total TIME_WAITs: the reuse was not exercised"
stop_mqlbd
log "PASS"

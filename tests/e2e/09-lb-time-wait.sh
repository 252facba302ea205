#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# SNAT ports are reused while the brokers still hold TIME_WAIT for them.
# An MQTT broker closes first after DISCONNECT, so its side of each flow
# ends in TIME_WAIT for 60 s; a SYN that reuses the SNAT port carries
# another client's TCP timestamps (or, without timestamps, another
# client's sequence numbers), and the broker drops it as an old duplicate
# until the client retransmits it a second later. Three phases:
#   1 without timestamps  mqlbd ends those TIME_WAITs with an exact RST when
#                         it collects the flow;
#   2 with timestamps     the data plane shifts each flow's TSvals to start at
#                         its own clock, so the next SYN on a port is newer
#                         and the TIME_WAIT lets it in: no RST at all;
#   3 without, at once    phase 2's TIME_WAITs only let in SYNs with
#                         timestamps: SYNs without them must keep off those
#                         tuples while others are free (a restart with
#                         persist yes and a range six times as wide).
#
# 64 SNAT ports x 3 brokers, 240 connections at 40/s from two client
# addresses per phase: most tuples are used twice or more within the
# minute (a flow holds its port for 2-3 s after it closes, until the
# collector has sent its RST: 32 ports left SYNs none, drop_snat_exhausted). Each connection must complete at the first SYN, as the client's
# kernel counts them (TcpExtTCPSynRetrans).
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

# SYN retransmissions by the clients' kernel, as it counts them.
syn_retrans() {
	nsx cli awk '$1 == "TcpExt:" { if (!n) { split($0, h); n = 1 } else for (i = 2; i <= NF; i++) if (h[i] == "TCPSynRetrans") print $i }' /proc/net/netstat
}

mode=${XDP_MODES%% *}
write_mqlbd_conf "$mode" "snat-ports 20000-20063" "persist yes"
start_mqlbd

# 240 connections at 40/s; fails unless every one was clean.
conn_burst() {
	local out count errors p99
	out=$(nsx cli "$BUILD/mqbench" conn-rate --i-own-this-target --sub-target "$VIP:$VIP_PORT" \
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

# The balancer's first SYN toward each broker waits for its neighbour entry
# (drop_no_neigh, a SYN retransmission): warm them up, off the counts, and
# without timestamps, so that they leave no TIME_WAIT behind.
nsx cli sysctl -qw net.ipv4.tcp_timestamps=0
nsx cli "$BUILD/mqbench" conn-rate --i-own-this-target --sub-target "$VIP:$VIP_PORT" \
	-n 30 -d 3 -W 0 -t 10 >/dev/null || fail "warm-up connections failed"
flows_collected

# Counter C since mark_counts.
declare -A base
mark_counts() {
	local c
	for c in flow_syn_retrans flow_backend_rst_time_wait flow_ts_shifted \
		flow_backend_time_wait_ts snat_tw_avoided snat_tw_fallback; do
		base[$c]=$(stat "$c")
	done
	base[kernel]=$(syn_retrans)
}
since() { echo $(($(stat "$1") - base[$1])); }
# SYN retransmissions, as the balancer and the clients' kernel count them;
# the data plane's drops (a full SNAT range drops a SYN too) go to the log.
retransmits() {
	/usr/bin/python3 "$(dirname "$0")/mapsum.py" stats "$PIN" | awk '/^drop_/ {printf "%s ", $0}' |
		sed 's/^./drops so far: &/' >&2
	echo $(($(since flow_syn_retrans) + $(syn_retrans) - base[kernel]))
}

log "phase 1: clients without TCP timestamps: RSTs end the TIME_WAITs"
mark_counts
conn_burst
retrans=$(retransmits)
released=$(since flow_backend_rst_time_wait)
log "SYN retransmissions seen: $retrans; broker TIME_WAITs ended: $released"
[ "$retrans" = 0 ] || fail "$retrans SYN retransmissions: reused SNAT ports met TIME_WAIT"
[ "$(since flow_ts_shifted)" = 0 ] || fail "flows without timestamps counted as shifted"
# The last second's flows are not collected yet: most, not all.
[ "$released" -ge 150 ] || fail "only $released TIME_WAITs ended by RST (want >= 150 of 240)"
flows_collected
tw="$(broker_tw 1)/$(broker_tw 2)/$(broker_tw 3)"
log "brokers' TIME_WAIT toward $SNAT (b1/b2/b3): $tw"
[ "$tw" = 0/0/0 ] || fail "TIME_WAIT left on the brokers: $tw"
released=$(since flow_backend_rst_time_wait)
[ "$released" -ge 200 ] || fail "only $released TIME_WAITs ended by RST after collection"

log "phase 2: clients with TCP timestamps: shifted TSvals get through the TIME_WAITs"
nsx cli sysctl -qw net.ipv4.tcp_timestamps=1
mark_counts
conn_burst
flows_collected
retrans=$(retransmits)
shifted=$(since flow_ts_shifted)
covered=$(since flow_backend_time_wait_ts)
# A flow shorter than two ticks of the balancer's clock (131 us) may end
# with its TSval not yet behind: judged stale, it still gets its RST.
stale=$(since flow_backend_rst_time_wait)
tw="$(broker_tw 1)/$(broker_tw 2)/$(broker_tw 3)"
total=$(($(broker_tw 1) + $(broker_tw 2) + $(broker_tw 3)))
log "shifted flows: $shifted; TIME_WAITs left to timestamps: $covered, ended by RST: $stale; SYN retransmissions: $retrans; brokers' TIME_WAIT (b1/b2/b3): $tw"
[ "$retrans" = 0 ] || fail "$retrans SYN retransmissions: a shifted SYN met TIME_WAIT"
[ "$shifted" = 240 ] || fail "$shifted flows shifted, want 240"
[ "$covered" -ge 150 ] || fail "only $covered TIME_WAITs covered by timestamps (want >= 150 of 240)"
[ "$stale" -le 24 ] || fail "$stale of 240 flows judged stale (want <= 10%)"
# 240 connections on 192 SNAT tuples: the brokers hold one TIME_WAIT per
# tuple used, many of them met again by a later SYN that got through.
[ "$total" -ge 60 ] || fail "brokers hold only $total TIME_WAITs: the reuse was not exercised"

log "phase 3: clients without timestamps again, within the minute: they keep off those tuples"
stop_mqlbd
write_mqlbd_conf "$mode" "snat-ports 20000-20383" "persist yes"
start_mqlbd
nsx cli sysctl -qw net.ipv4.tcp_timestamps=0
mark_counts
conn_burst
retrans=$(retransmits)
avoided=$(since snat_tw_avoided)
log "tuples passed over: $avoided; taken anyway: $(since snat_tw_fallback); SYN retransmissions: $retrans"
[ "$retrans" = 0 ] || fail "$retrans SYN retransmissions: a SYN without timestamps met a TIME_WAIT"
[ "$avoided" -ge 20 ] || fail "only $avoided marked tuples passed over: the marks were not exercised"
[ "$(since snat_tw_fallback)" = 0 ] || { /usr/bin/python3 "$(dirname "$0")/mapsum.py" stats "$PIN"; fail "marked tuples taken with free ones left"; }
stop_mqlbd
log "PASS"

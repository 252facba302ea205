#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every degradation is a warning (priority 4 in the journal's format), and
# its end is news (priority 6):
#   - xdp-mode auto falling back to generic XDP (the client-side veth's peer
#     has an MTU native XDP on veth cannot take);
#   - the flow table above 80% (flow-table-size 64, 54 connections held);
#   - a backend's SNAT ports above 80% (snat-ports 20000-20063, the same 54);
#   - both back under 70% once the connections are gone;
#   - a backend going down.
NBROKERS=1
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
start_mosquitto 1
wait_port b1 1883 || fail "mosquitto b1: $(cat "$WORK/mosquitto-b1.log")"
# veth refuses native XDP when the peer's MTU leaves no room for XDP's headroom in a page.
nsx cli ip link set eth0 mtu 9000
nsx lb ip link set lbc mtu 9000

HEALTH_LINE="health mqtt interval 500ms timeout 400ms rise 1 fall 1" write_mqlbd_conf auto \
	"flow-table-size 64" "snat-ports 20000-20063"
ip netns exec "${P}lb" "$BUILD/mqlbd" -L journal -c "$WORK/mqlbd.conf" >"$WORK/mqlbd.log" 2>&1 &
MQLBD_PID=$!
CLEANUP_PIDS+=($MQLBD_PID)
for _ in $(seq 100); do grep -q "down -> up" "$WORK/mqlbd.log" && break; sleep 0.1; done
grep -q "down -> up" "$WORK/mqlbd.log" || fail "b1 did not come up: $(cat "$WORK/mqlbd.log")"

# expect_line PATTERN WHAT: PATTERN appears in the log within 10 s
expect_line() {
	for _ in $(seq 100); do grep -qE -- "$1" "$WORK/mqlbd.log" && break; sleep 0.1; done
	grep -qE -- "$1" "$WORK/mqlbd.log" || fail "$2: no line matching '$1' in: $(cat "$WORK/mqlbd.log")"
	log "$2: $(grep -E -- "$1" "$WORK/mqlbd.log" | head -1 | cut -c1-150)"
}

expect_line '^<4>interface lbc: native XDP not available \(.*\), falling back to generic XDP' "generic fallback"
nsx lb ip -d link show lbc | grep -q xdpgeneric || fail "lbc is not in generic mode"
nsx lb ip -d link show lbb | grep -q "xdp " || fail "lbb should have native XDP"

mqttc_bg hold --target "$VIP:$VIP_PORT" --count 54 --hold 60 --ready-file "$WORK/ready"
HOLDER=$BG_PID
for _ in $(seq 150); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
grep -q "connected 54/54" "$WORK/ready" 2>/dev/null || fail "holder: $(cat "$WORK/ready" 2>/dev/null)"
expect_line '^<4>flow table 8[0-9]% full \(5[0-9] of 64 flows\): once full, new connections are dropped' "flow table"
expect_line '^<4>backend b1: 8[0-9]% of its SNAT ports in use \(5[0-9] of 64 in snat-ports 20000-20063\)' "SNAT ports"
[ "$(grep -c "flow table .* full" "$WORK/mqlbd.log")" = 1 ] || fail "the flow-table warning repeated"

kill "$HOLDER"  # disconnects cleanly; the collector frees the flows after close-timeout
expect_line '^<6>flow table back to [0-9]% \([0-9] of 64 flows\)' "flow table recovered"
expect_line '^<6>backend b1: SNAT ports back to [0-9]% in use' "SNAT ports recovered"

kill "${CLEANUP_PIDS[0]}" # mosquitto in b1
expect_line '^<4>backend b1: up -> down \(health check failed 1 time: ' "backend down"
log "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# on-down keep: a backend whose health checks fail while it still serves its
# clients (here a firewall in front of b1 drops only the checks, which leave
# mqlbd from ephemeral ports outside the SNAT range) leaves the rotation,
# but its flows go on: no RST, no provoking probe, the connections stay on
# b1 and carry messages. New connections go to b2 and b3 only.
. "$(dirname "$0")/lib.sh"
bed_require
command -v mosquitto_sub >/dev/null || skip "mosquitto-clients is missing"
command -v nft >/dev/null || skip "nftables is missing"
bed_up
start_brokers_star

stat() { /usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" "$1"; }

mode=${XDP_MODES%% *}
HEALTH_LINE="health mqtt interval 1s timeout 500ms rise 1 fall 2" write_mqlbd_conf "$mode" \
	"on-down keep" "snat-ports 20000-29999"
start_mqlbd
for _ in $(seq 50); do
	[ "$(grep -c "down -> up (health check passed" "$WORK/mqlbd.log")" = 3 ] && break
	sleep 0.1
done
[ "$(grep -c "down -> up (health check passed" "$WORK/mqlbd.log")" = 3 ] || fail "backends not up"

ready=$WORK/ready
mqttc_bg hold --target $VIP:$VIP_PORT --count 30 --hold 60 --ready-file "$ready"
for _ in $(seq 200); do [ -s "$ready" ] && break; sleep 0.1; done
grep -q "connected 30/30" "$ready" || fail "holders: $(cat "$ready" 2>/dev/null)"
# The 31st connection takes the next ticket: b1.
nsx cli mosquitto_sub -h $VIP -p $VIP_PORT -t keep/test -C 1 -W 20 -i keep-sub >"$WORK/sub.out" 2>&1 &
SUB=$!
CLEANUP_PIDS+=($SUB)
for _ in $(seq 50); do [ "$(broker_conns 1)" = 11 ] && break; sleep 0.1; done
[ "$(broker_conns 1)" = 11 ] || fail "the subscriber did not land on b1: $(broker_conns 1)/$(broker_conns 2)/$(broker_conns 3)"
log "before: b1/b2/b3 = $(broker_conns 1)/$(broker_conns 2)/$(broker_conns 3)"

# b1 fails its checks but keeps serving: drop what comes from the daemon's ephemeral ports.
nsx b1 nft -f - <<NFT || fail "nft"
table inet mqlbtest {
	chain input {
		type filter hook input priority 0;
		ip saddr $SNAT tcp dport 1883 tcp sport 32768-60999 drop
	}
}
NFT
for _ in $(seq 60); do grep -q "backend b1: up -> down" "$WORK/mqlbd.log" && break; sleep 0.1; done
grep -q "backend b1: up -> down (health check failed 2 times" "$WORK/mqlbd.log" ||
	fail "b1 did not go down: $(tail -5 "$WORK/mqlbd.log")"
log "b1 is down for the balancer while it still runs"
grep -q "on-down reset: provoked" "$WORK/mqlbd.log" && fail "on-down keep provoked b1's clients"
sleep 1.5

# Its clients are still there and still carry messages (published on b2, bridged to b1).
[ "$(broker_conns 1)" = 11 ] || fail "b1's connections were ended: $(broker_conns 1) left of 11"
nsx cli mosquitto_pub -h "$(broker_addr 2)" -p 1883 -t keep/test -m still-here -q 1 ||
	fail "mosquitto_pub to b2"
for _ in $(seq 100); do kill -0 "$SUB" 2>/dev/null || break; sleep 0.1; done
wait "$SUB" || fail "the subscriber on b1 got nothing: $(cat "$WORK/sub.out")"
grep -qx still-here "$WORK/sub.out" || fail "subscriber got: $(cat "$WORK/sub.out")"
[ "$(stat reset_backend_down)" = 0 ] || fail "$(stat reset_backend_down) flows were reset"
log "b1's 11 flows went on (no reset); its subscriber got the message published on b2"

# New connections avoid b1 (the subscriber has left it: 10 holders remain).
ready2=$WORK/ready2
mqttc_bg hold --target $VIP:$VIP_PORT --count 6 --hold 30 --ready-file "$ready2"
for _ in $(seq 200); do [ -s "$ready2" ] && break; sleep 0.1; done
grep -q "connected 6/6" "$ready2" || fail "new connections: $(cat "$ready2" 2>/dev/null)"
spread="$(broker_conns 1)/$(broker_conns 2)/$(broker_conns 3)"
log "6 new connections while b1 is down: b1/b2/b3 = $spread"
[ "$spread" = 10/13/13 ] || fail "new connections went to b1: $spread, want 10/13/13"
[ "$(stat flow_new)" = 37 ] || fail "flow_new $(stat flow_new), want 37"
stop_mqlbd
log "PASS"

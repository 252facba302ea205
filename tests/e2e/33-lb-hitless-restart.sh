#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The data plane outlives the daemon. An MQTT subscriber attached through
# the VIP; kill -9 mqlbd; a message published through the VIP still reaches
# it and new connections are still balanced round-robin; a new mqlbd adopts
# the pinned state (flows, SNAT reservations, counters, backends stay up)
# and the subscriber still receives. Then `persist yes` keeps XDP attached
# across SIGTERM, and `mqlbd --stop -c FILE` detaches and unpins.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
start_brokers_star

HEALTH_LINE="health mqtt interval 1s timeout 500ms rise 2 fall 2" write_mqlbd_conf native
start_mqlbd
for _ in $(seq 50); do [ "$(grep -c "down -> up" "$WORK/mqlbd.log")" = 3 ] && break; sleep 0.1; done
mqlb() { nsx lb "$BUILD/mqlb" --pin-path "$PIN" --control "$CTL" "$@"; }
stat_of() { /usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" "$1"; }

sub_out=$WORK/sub.out
ip netns exec "${P}cli" mosquitto_sub -h $VIP -p $VIP_PORT -t "kuliah/#" -v -i mqlbt-sub >"$sub_out" 2>&1 &
CLEANUP_PIDS+=($!)
# publish_until TAG: publish through the VIP until the subscriber has it (bounded).
publish_until() {
	for n in $(seq 30); do
		nsx cli mosquitto_pub -h $VIP -p $VIP_PORT -q 1 -t "kuliah/$1" -m "$1-$n" || fail "publish $1"
		sleep 0.3
		grep -q "kuliah/$1 $1-" "$sub_out" && return 0
	done
	fail "the subscriber never received kuliah/$1: $(cat "$sub_out")"
}
publish_until before
log "subscriber receives through the VIP"

flows_before=$(map_count flows)
kill -9 "$MQLBD_PID"
wait "$MQLBD_PID" 2>/dev/null
MQLBD_PID=
nsx lb ip -d link show lbc | grep -q "prog/xdp" || fail "XDP detached when mqlbd was killed"
publish_until during-outage
log "mqlbd killed (-9): XDP still attached, the subscriber still receives"

c1=$(broker_conns 1) c2=$(broker_conns 2) c3=$(broker_conns 3)
ready=$WORK/ready
mqttc_bg hold --target $VIP:$VIP_PORT --count 30 --hold 120 --ready-file "$ready"
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
grep -q "connected 30/30" "$ready" || fail "new connections during the outage: $(cat "$ready")"
delta="$(($(broker_conns 1) - c1))/$(($(broker_conns 2) - c2))/$(($(broker_conns 3) - c3))"
[ "$delta" = 10/10/10 ] || fail "during the outage 30 new connections landed $delta"
log "during the outage 30 new connections landed $delta"

rx_before=$(stat_of rx_packets)
flows_mid=$(map_count flows)
start_mqlbd
grep -q "adopting the pinned state" "$WORK/mqlbd.log" || fail "no adoption: $(cat "$WORK/mqlbd.log")"
grep -q "took over the pinned XDP link" "$WORK/mqlbd.log" || fail "link not taken over"
for i in 1 2 3; do
	grep -q "backend b$i: adopted in slot [0-9]* (up)" "$WORK/mqlbd.log" || fail "b$i not adopted as up"
done
sleep 2.5 # a few health checks and collector ticks
grep -q "up -> down" "$WORK/mqlbd.log" && fail "a healthy backend went down across the restart"
# The publishers' finished connections may be collected now; the 31 live ones must stay.
[ "$(map_count flows)" -ge 31 ] || fail "flows lost across the restart: $flows_mid -> $(map_count flows)"
rx_after=$(stat_of rx_packets)
[ "$rx_after" -ge "$rx_before" ] || fail "counters restarted: rx_packets $rx_before -> $rx_after"
log "new mqlbd adopted: $(map_count flows) flows (had $flows_before before the kill), rx_packets $rx_before -> $rx_after"
publish_until after-restart
[ "$(mqlb -j backend show | /usr/bin/python3 -c 'import json,sys; print(sum(b["active"] for b in json.load(sys.stdin)))')" -ge 31 ] ||
	fail "backend show after adoption: $(mqlb backend show)"
log "the subscriber still receives after the restart"
kill "$BG_PID"

# persist yes: SIGTERM leaves the data plane; --stop removes it.
echo "persist yes" >>"$WORK/mqlbd.conf"
kill -HUP "$MQLBD_PID"
sleep 0.5
stop_mqlbd
nsx lb ip -d link show lbc | grep -q "prog/xdp" || fail "persist yes: XDP detached on SIGTERM"
[ -e "$PIN/flows" ] || fail "persist yes: maps unpinned on SIGTERM"
publish_until persisted
log "persist yes: SIGTERM left XDP attached and the maps pinned; traffic still flows"
out=$(nsx lb "$BUILD/mqlbd" --stop -c "$WORK/mqlbd.conf") || fail "mqlbd --stop: $out"
log "mqlbd --stop: $(tr '\n' ' ' <<<"$out")"
nsx lb ip -d link show lbc | grep -q "prog/xdp" && fail "--stop left XDP attached"
nsx lb ip -d link show lbb | grep -q "prog/xdp" && fail "--stop left XDP attached on lbb"
[ -z "$(ls -A "$PIN" 2>/dev/null)" ] || fail "--stop left pins: $(ls "$PIN")"

# --stop with a daemon running (persist yes): it is asked over the control socket.
start_mqlbd
out=$(nsx lb "$BUILD/mqlbd" --stop -c "$WORK/mqlbd.conf") || fail "mqlbd --stop (running): $out"
for _ in $(seq 50); do kill -0 "$MQLBD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$MQLBD_PID" 2>/dev/null && fail "the running mqlbd did not stop on --stop"
nsx lb ip -d link show lbc | grep -q "prog/xdp" && fail "--stop (running) left XDP attached"
[ -z "$(ls -A "$PIN" 2>/dev/null)" ] || fail "--stop (running) left pins: $(ls "$PIN")"
log "mqlbd --stop with the daemon running: $(tr '\n' ' ' <<<"$out")"
log "PASS"

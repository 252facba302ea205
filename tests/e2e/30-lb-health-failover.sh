#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Health checks and fast failover. 100 MQTT clients with automatic
# reconnection (paho, retry every second like mosquitto_sub) are attached
# through the VIP to three mosquitto brokers, health mqtt interval 1s
# timeout 500ms rise 2 fall 2. Then broker b1 dies, twice:
#   1. its process is killed (kill -9, by PID): connections are closed;
#   2. it goes silent (its link goes down): nothing is closed, and only the
#      data plane's on-down reset can tell its idle clients (keep-alive 60s).
# Each time every client is connected again, to b2 and b3, within
# fall x interval + timeout + 1 s = 3.5 s; the test prints the measured time.
# Then b1 comes back and, after rise checks, gets new connections again.
. "$(dirname "$0")/lib.sh"
bed_require
/usr/bin/python3 -c 'import paho.mqtt.client' 2>/dev/null || skip "python3-paho-mqtt is missing"
bed_up
start_brokers_star
B1_PID=${CLEANUP_PIDS[1]}  # start_brokers_star starts b3 first, then b1, b2
grep -q "b1.conf" "/proc/$B1_PID/cmdline" || fail "could not find b1's mosquitto PID"

BOUND_MS=3500
N=100
now_ms() { date +%s%3N; }

# wait_failover LABEL: every client on b2+b3, none on b1; prints the time since T0.
wait_failover() {
	local label=$1 t
	while :; do
		t=$(($(now_ms) - T0))
		if [ "$(($(broker_conns 2) + $(broker_conns 3)))" = $N ]; then break; fi
		[ $t -gt 15000 ] && fail "$label: after ${t}ms only $(($(broker_conns 2) + $(broker_conns 3)))/$N reconnected"
		sleep 0.05
	done
	log "$label: all $N clients connected again to b2/b3 after ${t} ms (bound ${BOUND_MS} ms): b2/b3 = $(broker_conns 2)/$(broker_conns 3)"
	[ $t -le $BOUND_MS ] || fail "$label: failover took ${t} ms, more than ${BOUND_MS} ms"
	tail -n +"$LOG_FROM" "$WORK/mqlbd.log" | grep -q "backend b1: up -> down (health check failed 2 times" ||
		fail "$label: no state-change log line for b1"
}

round() {
	local mode=$1
	log "== xdp-mode $mode"
	HEALTH_LINE="health mqtt interval 1s timeout 500ms rise 2 fall 2" write_mqlbd_conf "$mode"
	start_mqlbd
	for _ in $(seq 50); do
		[ "$(grep -c "down -> up (health check passed 1 time: CONNACK 0)" "$WORK/mqlbd.log")" = 3 ] && break
		sleep 0.1
	done
	for i in 1 2 3; do
		grep -q "backend b$i: down -> up (health check passed 1 time: CONNACK 0)" "$WORK/mqlbd.log" ||
			fail "b$i not up after its first check: $(cat "$WORK/mqlbd.log")"
	done
	log "all three backends up after their first MQTT check"
	# The daemon's own checks (from the SNAT address, ephemeral ports) are not flows.
	sleep 1.2
	[ "$(map_count flows)" = 0 ] || fail "health checks show up as flows: $(map_count flows)"
	[ "$(/usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" flow_new)" = 0 ] ||
		fail "health checks counted as new flows"

	ready=$WORK/ready-$mode
	rm -f "$ready"
	ip netns exec "${P}cli" /usr/bin/python3 "$(dirname "$0")/mqtt_reconnect.py" \
		--target $VIP:$VIP_PORT --count $N --hold 120 --ready-file "$ready" >"$WORK/clients.log" 2>&1 &
	CLIENTS=$!
	CLEANUP_PIDS+=($CLIENTS)
	for _ in $(seq 300); do [ -s "$ready" ] && break; sleep 0.1; done
	grep -q "connected $N/$N" "$ready" || fail "clients: $(cat "$ready" "$WORK/clients.log")"
	log "spread before: b1/b2/b3 = $(broker_conns 1)/$(broker_conns 2)/$(broker_conns 3)"

	# 1. b1's process dies.
	LOG_FROM=$(($(wc -l <"$WORK/mqlbd.log") + 1))
	T0=$(now_ms)
	kill -9 "$B1_PID"
	wait_failover "kill -9"

	# b1 back: up again after rise (2) good checks, and in rotation.
	start_mosquitto 1 "connection bridge-b1-to-b3" "address $(broker_addr 3):1883" \
		"topic # out 0" "topic # in 0" "restart_timeout 1" "cleansession true"
	B1_PID=${CLEANUP_PIDS[-1]}
	wait_port b1 1883 || fail "b1 did not restart"
	for _ in $(seq 60); do grep -q "backend b1: down -> up (health check passed 2 times" "$WORK/mqlbd.log" && break; sleep 0.1; done
	grep -q "backend b1: down -> up (health check passed 2 times" "$WORK/mqlbd.log" || fail "b1 not up again after rise"
	mqttc hold --target $VIP:$VIP_PORT --count 3 >/dev/null || fail "new connections after b1 came back"
	log "b1 is up again after 2 good checks and takes new connections"

	# Move the clients back over all three brokers: restart them.
	kill "$CLIENTS"; wait "$CLIENTS" 2>/dev/null
	rm -f "$ready"
	ip netns exec "${P}cli" /usr/bin/python3 "$(dirname "$0")/mqtt_reconnect.py" \
		--target $VIP:$VIP_PORT --count $N --hold 120 --ready-file "$ready" >"$WORK/clients.log" 2>&1 &
	CLIENTS=$!
	CLEANUP_PIDS+=($CLIENTS)
	for _ in $(seq 300); do [ -s "$ready" ] && break; sleep 0.1; done
	grep -q "connected $N/$N" "$ready" || fail "clients (2nd round): $(cat "$ready")"
	on_b1=$(broker_conns 1)
	[ "$on_b1" -gt 0 ] || fail "no client on b1 after it came back"
	log "spread before the silent failure: b1/b2/b3 = $on_b1/$(broker_conns 2)/$(broker_conns 3)"

	# 2. b1 goes silent: no FIN, no RST; its clients would wait 60 s+ for keep-alive.
	LOG_FROM=$(($(wc -l <"$WORK/mqlbd.log") + 1))
	T0=$(now_ms)
	nsx b1 ip link set eth0 down
	wait_failover "silent b1"
	tail -n +"$LOG_FROM" "$WORK/mqlbd.log" | grep -q "on-down reset: provoked" || fail "no on-down reset was logged"
	resets=$(/usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" reset_backend_down)
	log "data plane reset $resets flow(s) of the silent backend (b1 had $on_b1 clients)"
	[ "$resets" -ge "$on_b1" ] || fail "expected at least $on_b1 resets, got $resets"

	kill "$CLIENTS"; wait "$CLIENTS" 2>/dev/null
	stop_mqlbd
	nsx b1 ip link set eth0 up
}

for mode in $XDP_MODES; do
	round "$mode"
done
log "PASS"

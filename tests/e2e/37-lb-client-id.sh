#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# balance client-id keeps MQTT sessions where they are. Three Debian mosquitto
# brokers, not bridged, so that a client's session and its queued messages
# exist only on the broker it last used. 100 paho clients with persistent
# sessions (QoS 1 subscriptions) connect through the VIP three times; between
# rounds every broker is sent a QoS 1 message for each of them. Each round
# every client must land on the broker of the round before (the one mqlb
# maglev show names), find its session there and get the message queued for
# it, once more while mqlbd is killed (-9: the pinned data plane binds on its
# own). Then one broker is killed: only its clients move (to where the Maglev
# table without it sends them); when it comes back no connection moves, and
# on their next connection its clients return to it. The limits: a CONNECT
# of several segments, a client without TCP timestamps, a broker whose host
# refuses the connection. The same two rounds under balance roundrobin show
# what the affinity is worth.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
SESS=$(dirname "$(readlink -f "$0")")/mqtt_sessions.py
declare -A BROKER_PID
for i in 1 2 3; do
	start_mosquitto "$i"
	BROKER_PID[$i]=${CLEANUP_PIDS[-1]}
done
for i in 1 2 3; do wait_port "b$i" 1883 || fail "mosquitto in b$i did not start"; done

N=100
MQLB=("$BUILD/mqlb" --pin-path "$PIN" --control "$CTL")
mode=${XDP_MODES%% *}
HEALTH_LINE="health mqtt interval 300ms timeout 200ms rise 1 fall 1"
BALANCE=client-id write_mqlbd_conf "$mode" "hash-seed 0x6d716c62"
start_mqlbd

# clients_bg PREFIX ROUND [ARGS...]: the N session clients in the background (CLIENTS_PID).
clients_bg() {
	local prefix=$1 round=$2
	shift 2
	rm -f "$WORK/ready-$round" "$WORK/result-$round"
	ip netns exec "${P}cli" /usr/bin/python3 "$SESS" clients --target "$VIP:$VIP_PORT" \
		--prefix "$prefix" --count $N --ready-file "$WORK/ready-$round" \
		--result "$WORK/result-$round" "$@" >/dev/null &
	CLIENTS_PID=$!
	CLEANUP_PIDS+=($CLIENTS_PID)
}

wait_ready() {
	for _ in $(seq 400); do [ -s "$WORK/ready-$1" ] && break; sleep 0.1; done
	cat "$WORK/ready-$1" 2>/dev/null || echo "ready ?/$N"
}

stop_clients() {
	kill "$CLIENTS_PID" 2>/dev/null
	wait "$CLIENTS_PID" 2>/dev/null
}

# placement FILE: "ID BACKEND" of every established flow, sorted by id.
placement() {
	"${MQLB[@]}" -j flow show | /usr/bin/python3 -c '
import json, sys
for f in json.load(sys.stdin):
    if f["tcp_state"] == "established" and f["client_id"]:
        print(f["client_id"], f["backend"])' | sort >"$1"
}

# per_broker FILE: "b1/b2/b3" counts of a placement.
per_broker() {
	echo "$(grep -c ' b1$' "$1")/$(grep -c ' b2$' "$1")/$(grep -c ' b3$' "$1")"
}

# maglev FILE PREFIX: what mqlb maglev show says of the N ids, as "ID BACKEND CHOSEN_BY".
maglev() {
	local ids=()
	for i in $(seq 0 $((N - 1))); do ids+=("$(printf '%s%04d' "$2" "$i")"); done
	"${MQLB[@]}" -j maglev show "${ids[@]}" | /usr/bin/python3 -c '
import json, sys
for a in json.load(sys.stdin):
    print(a["client_id"], a["backend"], a["chosen_by"])' | sort >"$1"
}

# result_check ROUND: every client connected once, found its session, got the message.
result_check() {
	/usr/bin/python3 - "$WORK/result-$1" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
bad = [r["id"] for r in rows
       if r["connects"] != 1 or r["session_present"] != [1] or sys.argv[2] not in r["messages"]]
print("%d/%d found their session and message %s" % (len(rows) - len(bad), len(rows), sys.argv[2]))
sys.exit(1 if bad or len(rows) != 100 else 0)
PY
}

publish_all() {
	local i out
	for i in 1 2 3; do
		out=$(nsx "b$i" /usr/bin/python3 "$SESS" publish --target 127.0.0.1:1883 --prefix "$1" \
			--count $N --msg "$2") || fail "publish $2 on b$i: $out"
	done
}

log "== balance client-id, xdp-mode $mode: round 1"
clients_bg cid- 1 --persistent --hold 120
got=$(wait_ready 1)
[ "$got" = "ready $N/$N" ] || fail "round 1: $got"
placement "$WORK/p1"
[ "$(wc -l <"$WORK/p1")" = $N ] || fail "round 1: $(wc -l <"$WORK/p1") flows placed, want $N"
log "round 1: per broker (b1/b2/b3) $(per_broker "$WORK/p1")"
IFS=/ read -r n1 n2 n3 <<<"$(per_broker "$WORK/p1")"
for n in $n1 $n2 $n3; do [ "$n" -ge 15 ] || fail "round 1: uneven spread $(per_broker "$WORK/p1")"; done
maglev "$WORK/m1" cid-
cut -d' ' -f1,2 "$WORK/m1" | cmp -s - "$WORK/p1" || fail "mqlb maglev show disagrees with the flows"
grep -qv ' client_id$' "$WORK/m1" && fail "maglev show: some id not chosen by its client id"
stop_clients

for round in 2 3; do
	publish_all cid- "queued-$((round - 1))"
	clients_bg cid- $round --persistent --hold 120 --expect "queued-$((round - 1))"
	got=$(wait_ready $round)
	placement "$WORK/p$round"
	stop_clients
	[ "$got" = "ready $N/$N" ] || fail "round $round: $got"
	cmp -s "$WORK/p1" "$WORK/p$round" ||
		fail "round $round: clients moved: $(diff "$WORK/p1" "$WORK/p$round" | grep -c '^>')"
	msg=$(result_check $round "queued-$((round - 1))") || fail "round $round: $msg"
	log "round $round: all on the same broker; $msg"
done
by_id=$("${MQLB[@]}" -j backend show | /usr/bin/python3 -c '
import json, sys
print(sum(b["by_client_id"] for b in json.load(sys.stdin)))')
[ "$by_id" -ge $((3 * N)) ] || fail "backend show counts $by_id flows placed by client id, want >= $((3 * N))"

log "== kill -9 mqlbd: the pinned data plane goes on binding without it"
kill -9 "$MQLBD_PID"
wait "$MQLBD_PID" 2>/dev/null
MQLBD_PID=
publish_all cid- queued-3
clients_bg cid- 3k --persistent --hold 120 --expect queued-3
got=$(wait_ready 3k)
placement "$WORK/p3k"
stop_clients
[ "$got" = "ready $N/$N" ] || fail "without mqlbd: $got"
cmp -s "$WORK/p1" "$WORK/p3k" || fail "without mqlbd: clients moved"
msg=$(result_check 3k queued-3) || fail "without mqlbd: $msg"
start_mqlbd
grep -q "adopting the pinned state" "$WORK/mqlbd.log" || fail "the new mqlbd did not adopt the pinned data plane"
log "without mqlbd: all on the same broker; $msg; a new mqlbd adopted it"

log "== broker b2 killed, then restored"
clients_bg cid- 4 --persistent --hold 300
got=$(wait_ready 4)
[ "$got" = "ready $N/$N" ] || fail "round 4: $got"
kill "${BROKER_PID[2]}"
wait "${BROKER_PID[2]}" 2>/dev/null
for _ in $(seq 200); do
	placement "$WORK/p4"
	[ "$(wc -l <"$WORK/p4")" = $N ] && ! grep -q ' b2$' "$WORK/p4" && break
	sleep 0.1
done
[ "$(wc -l <"$WORK/p4")" = $N ] || fail "b2 down: only $(wc -l <"$WORK/p4") clients back"
grep -q ' b2$' "$WORK/p4" && fail "b2 down: flows still on it"
moved=0
while read -r id was; do
	now=$(awk -v i="$id" '$1 == i {print $2}' "$WORK/p4")
	if [ "$was" = b2 ]; then
		moved=$((moved + 1))
	elif [ "$now" != "$was" ]; then
		fail "b2 down: $id moved from $was to $now"
	fi
done <"$WORK/p1"
# b2's clients went where the table without b2 sends them.
maglev "$WORK/m4" cid-
cut -d' ' -f1,2 "$WORK/m4" | cmp -s - "$WORK/p4" || fail "b2 down: placement is not the Maglev table's"
log "b2 down: its $moved clients moved ($(per_broker "$WORK/p4")), no other client did"

start_mosquitto 2
BROKER_PID[2]=${CLEANUP_PIDS[-1]}
wait_port b2 1883 || fail "mosquitto in b2 did not restart"
for _ in $(seq 100); do
	"${MQLB[@]}" -j backend show b2 | grep -q '"state":"up"' && break
	sleep 0.1
done
"${MQLB[@]}" -j backend show b2 | grep -q '"state":"up"' || fail "b2 not up again"
sleep 1
placement "$WORK/p4b"
cmp -s "$WORK/p4" "$WORK/p4b" || fail "b2 back: live connections moved"
stop_clients
/usr/bin/python3 - "$WORK/result-4" "$WORK/p1" <<'PY' || fail "b2 down: reconnections"
import json, sys
was = dict(l.split() for l in open(sys.argv[2]))
for r in map(json.loads, open(sys.argv[1])):
    want = 2 if was[r["id"]] == "b2" else 1
    if r["connects"] != want:
        sys.exit("%s (was on %s) connected %d times" % (r["id"], was[r["id"]], r["connects"]))
PY
clients_bg cid- 5 --persistent --hold 120
got=$(wait_ready 5)
placement "$WORK/p5"
stop_clients
[ "$got" = "ready $N/$N" ] || fail "round 5: $got"
cmp -s "$WORK/p1" "$WORK/p5" || fail "b2 back: $(diff "$WORK/p1" "$WORK/p5" | grep -c '^>') clients not on their broker"
log "b2 back: no live connection moved; on reconnecting all $N are on their first broker again"

log "== the limits: a CONNECT of several segments, clients without TCP timestamps"
stat() { /usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" "$1"; }
# A 6,000-byte will message: the id is in the first segment, which binds the flow; the
# CONNECT's other segments, sent before the broker answered, are dropped and come again
# when the client resends them. On veth the broker's SYN-ACK frame has no room for a
# full-sized first segment either: the handshake completes without it (bind_data_deferred)
# and the client resends it too.
pend0=$(stat drop_bind_pending) hashed0=$(stat cid_hashed) def0=$(stat bind_data_deferred)
will=$(head -c 6000 /dev/zero | tr '\0' w)
t0=$(date +%s%N)
nsx cli timeout 10 mosquitto_pub -h $VIP -i big-connect -t t/big -m x --will-topic w/big \
	--will-payload "$will" || fail "a CONNECT of 6,000 bytes did not get through"
took=$((($(date +%s%N) - t0) / 1000000))
pend=$(($(stat drop_bind_pending) - pend0)) hashed=$(($(stat cid_hashed) - hashed0))
deferred=$(($(stat bind_data_deferred) - def0))
[ "$hashed" = 1 ] || fail "the 6,000-byte CONNECT was not placed by its client id"
log "6,000-byte CONNECT: placed by its id, connected and published in $took ms" \
	"($pend segments dropped while binding, retransmitted; first segment deferred: $deferred)"
# The id is read from MQTT 3.1, 3.1.1 and 5.0 CONNECTs alike (5.0's properties skipped).
hashed0=$(stat cid_hashed)
for v in mqttv31 mqttv311 mqttv5; do
	nsx cli timeout 10 mosquitto_pub -V $v -h $VIP -i "level-$v" -t t/v -m x ||
		fail "a $v client could not publish"
done
[ $(($(stat cid_hashed) - hashed0)) = 3 ] || fail "not every protocol level was placed by its id"
log "MQTT 3.1, 3.1.1 and 5.0 clients placed by their ids"
nsx cli sysctl -qw net.ipv4.tcp_timestamps=0
nsx cli timeout 10 mosquitto_pub -h $VIP -i no-timestamps -t t/nots -m x -q 1
rc=$?
nsx cli sysctl -qw net.ipv4.tcp_timestamps=1
[ $rc = 0 ] || fail "a client without TCP timestamps could not publish"
log "a client without TCP timestamps (the cookie keeps no options: MSS 536 at most) publishes"

log "== the same under balance roundrobin"
stop_mqlbd
write_mqlbd_conf "$mode"
start_mqlbd
clients_bg rr- 6 --persistent --hold 120
got=$(wait_ready 6)
stop_clients
[ "$got" = "ready $N/$N" ] || fail "roundrobin round 1: $got"
publish_all rr- queued-rr
clients_bg rr- 7 --persistent --hold 120 --expect queued-rr --timeout 5
wait_ready 7 >/dev/null
stop_clients
rr=$(/usr/bin/python3 - "$WORK/result-7" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(sum(1 for r in rows if r["session_present"][:1] == [1] and "queued-rr" in r["messages"]))
PY
)
log "roundrobin: $rr/$N clients found their session and message (client-id: $N/$N)"
[ "$rr" -lt $N ] || fail "roundrobin kept every session: the comparison shows nothing"

log "== a backend that refuses (health none, b2's broker stopped)"
stop_mqlbd
HEALTH_LINE="health none" BALANCE=client-id write_mqlbd_conf "$mode" "hash-seed 0x6d716c62"
start_mqlbd
kill "${BROKER_PID[2]}"
wait "${BROKER_PID[2]}" 2>/dev/null
on2=$(awk '$2 == "b2" {print $1; exit}' "$WORK/p1")
on1=$(awk '$2 == "b1" {print $1; exit}' "$WORK/p1")
t0=$(date +%s%N)
nsx cli timeout 10 mosquitto_pub -h $VIP -i "$on2" -t t/x -m x 2>/dev/null &&
	fail "$on2 connected to a stopped broker"
took=$((($(date +%s%N) - t0) / 1000000))
[ "$took" -lt 3000 ] || fail "the client of a refusing broker waited $took ms"
[ "$(stat reset_bind_failed)" -ge 1 ] || fail "reset_bind_failed did not count the refusal"
nsx cli timeout 10 mosquitto_pub -h $VIP -i "$on1" -t t/x -m x || fail "$on1 (b1) could not connect"
log "refused by b2's host: $on2 reset after $took ms (reset_bind_failed); $on1 on b1 unaffected"
log PASS

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# MQTT awareness of the data plane, through the VIP:
#  1. mosquitto clients speaking MQTT 3.1, 3.1.1 and 5.0 appear in
#     `mqlb flow show` with their protocol level, keep-alive and client id
#     (a 40-byte id kept as its first 32 bytes), and the mqtt_* counters
#     count exactly them; a raw client's garbage counts as mqtt_not_mqtt.
#  2. strict: a raw TCP client sending garbage is reset (mqtt_strict_reset),
#     and so is the broker's side of it (no socket left waiting for a
#     CONNECT); a valid CONNECT and one split over two segments get through.
#  3. keep-alive-aware idle expiry: idle-timeout 2s, a client with
#     keep-alive 4s held idle is still a flow after 3.5s and gone by 7.5s (its
#     limit is 1.5 x 4 = 6s), while a keep-alive 0 client goes after ~2s.
#     The backend there is a CONNACK-and-hold server, not mosquitto, which
#     would itself close the idle client at 1.5 x keep-alive.
# 1 and 2 run in native and generic XDP (MQLB_XDP_MODES narrows it); 3 in
# generic only, as the collector does not depend on the attach mode.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
for i in $(seq "$NBROKERS"); do
	start_mosquitto "$i"
done
for i in $(seq "$NBROKERS"); do
	wait_port "b$i" 1883 || fail "mosquitto in b$i did not start"
done

mqlb() { "$BUILD/mqlb" --pin-path "$PIN" "$@"; }
# counter NAME: one global counter
counter() { mqlb -j stats show | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
SUB_PIDS=()
sub_bg() {
	ip netns exec "${P}cli" mosquitto_sub -h $VIP -p $VIP_PORT -t 'mqlb/#' "$@" >/dev/null 2>&1 &
	CLEANUP_PIDS+=($!)
	SUB_PIDS+=($!)
}
# client connections (from the SNAT address) over all brokers
all_broker_conns() {
	local i n=0
	for i in $(seq "$NBROKERS"); do n=$((n + $(broker_conns "$i"))); done
	echo $n
}
wait_flows() {
	local n=$1
	for _ in $(seq 50); do
		[ "$(map_count flows)" = "$n" ] && return 0
		sleep 0.1
	done
	fail "want $n flows, have $(map_count flows)"
}
# rawc MODE: a raw TCP client in the cli namespace (python, see below)
rawc() {
	nsx cli /usr/bin/python3 - "$@" <<'EOF'
import socket, sys, time
mode = sys.argv[1]
s = socket.create_connection(("10.201.1.1", 1883), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
cid = b"raw-split"
body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid
connect = bytes([0x10, len(body)]) + body
try:
    if mode == "garbage":
        s.sendall(b"GET / HTTP/1.1\r\nHost: mqlb\r\n\r\n")
        data = s.recv(100)   # mosquitto closes: b""; strict: ECONNRESET
        print("closed" if not data else "data")
    else:                    # split: the CONNECT in two segments
        s.sendall(connect[:12])
        time.sleep(0.3)
        s.sendall(connect[12:])
        print("connack" if s.recv(4)[:1] == b"\x20" else "no-connack")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
EOF
}

for mode in $XDP_MODES; do
log "== xdp-mode $mode"
# ---- 1. levels, keep-alives and client ids ----
write_mqlbd_conf "$mode"
start_mqlbd
SUB_PIDS=()
long_id=0123456789abcdefghijklmnopqrstuvwxyzABCD
sub_bg -V mqttv31 -i sub-v31 -k 30
sub_bg -V mqttv311 -i sub-v311 -k 40
sub_bg -V mqttv5 -i sub-v5 -k 50 -x 120       # -x: a session-expiry property
sub_bg -V mqttv311 -i "$long_id" -k 60
wait_flows 4
sleep 0.5                                      # the CONNECTs follow the handshakes
mqlb -j flow show >"$WORK/flows.json" || fail "mqlb flow show"
/usr/bin/python3 - "$WORK/flows.json" "${long_id:0:32}" <<'EOF' || fail "flow show: $(cat "$WORK/flows.json")"
import json, sys
flows = {f["client_id"]: f for f in json.load(open(sys.argv[1]))}
want = {"sub-v31": (3, 30), "sub-v311": (4, 40), "sub-v5": (5, 50), sys.argv[2]: (4, 60)}
for cid, (lvl, ka) in want.items():
    f = flows.get(cid)
    if not f or f["mqtt"] != "parsed" or f["mqtt_level"] != lvl or f["keepalive_s"] != ka:
        sys.exit("client %s: want level %d keep-alive %d, got %s" % (cid, lvl, ka, f))
    if f["client_id_truncated"] != (cid == sys.argv[2]):
        sys.exit("client %s: client_id_truncated %s" % (cid, f["client_id_truncated"]))
if len(flows) != 4:
    sys.exit("want 4 flows, got %s" % list(flows))
EOF
log "flow show: levels 3/4/5, keep-alives and client ids as sent, long id cut to 32 bytes (flagged)"
mqlb flow show | sed 's/^/    /'

ip netns exec "${P}cli" mosquitto_pub -h $VIP -p $VIP_PORT -V mqttv5 -i pub-v5 -t mqlb/x -m hi ||
	fail "mosquitto_pub -V mqttv5"
ip netns exec "${P}cli" mosquitto_pub -h $VIP -p $VIP_PORT -V mqttv311 -i pub-v311 -t mqlb/x -m hi ||
	fail "mosquitto_pub -V mqttv311"
# mosquitto itself closes on garbage (with a RST when it leaves bytes unread)
r=$(rawc garbage)
log "raw garbage without strict: $r (by mosquitto)"
got="$(counter mqtt_connect_v3) $(counter mqtt_connect_v4) $(counter mqtt_connect_v5) $(counter mqtt_not_mqtt)"
got="$got $(counter mqtt_connect_split) $(counter mqtt_connect_malformed) $(counter mqtt_strict_reset)"
[ "$got" = "1 3 2 1 0 0 0" ] ||
	fail "counters v3 v4 v5 not_mqtt split malformed strict_reset: want 1 3 2 1 0 0 0, got $got"
log "counters: v3 1, v4 3, v5 2, not MQTT 1"
kill "${SUB_PIDS[@]}"
# their FINs must pass before XDP goes, or the brokers keep their sockets
for _ in $(seq 30); do [ "$(all_broker_conns)" = 0 ] && break; sleep 0.1; done
[ "$(all_broker_conns)" = 0 ] || fail "brokers still hold $(all_broker_conns) connection(s)"
stop_mqlbd

# ---- 2. strict ----
write_mqlbd_conf "$mode" strict
start_mqlbd
r=$(rawc garbage)
[ "$r" = reset ] || fail "strict: garbage was not reset ($r)"
[ "$(counter mqtt_strict_reset)" = 1 ] || fail "strict: mqtt_strict_reset $(counter mqtt_strict_reset)"
[ "$(counter reset_refused)" -ge 1 ] || fail "strict: the client's RST was not counted"
for _ in $(seq 20); do [ "$(all_broker_conns)" = 0 ] && break; sleep 0.1; done
[ "$(all_broker_conns)" = 0 ] || fail "strict: a broker still holds $(all_broker_conns) connection(s)"
ip netns exec "${P}cli" mosquitto_pub -h $VIP -p $VIP_PORT -V mqttv311 -i strict-ok -t mqlb/x -m hi ||
	fail "strict: a valid client was refused"
r=$(rawc split)
[ "$r" = connack ] || fail "strict: split CONNECT got $r"
[ "$(counter mqtt_connect_split)" = 1 ] || fail "strict: mqtt_connect_split $(counter mqtt_connect_split)"
[ "$(counter mqtt_strict_reset)" = 1 ] || fail "strict: more resets: $(counter mqtt_strict_reset)"
log "strict: garbage reset on both sides, valid and split CONNECTs served"
stop_mqlbd
done

# ---- 3. keep-alive-aware idle expiry ----
# A backend that answers every CONNECT with CONNACK and then only holds.
ip netns exec "${P}b1" /usr/bin/python3 -c '
import socket
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 1884))
l.listen(16)
held = []
while True:
    c, _ = l.accept()
    c.recv(512)
    c.sendall(b"\x20\x02\x00\x00")
    held.append(c)
' &
CLEANUP_PIDS+=($!)
wait_port b1 1884 || fail "holder backend did not start"
NBROKERS=0 write_mqlbd_conf generic "backend holder $(broker_addr 1):1884" "idle-timeout 2s"
start_mqlbd
mqttc_bg hold --target $VIP:$VIP_PORT --count 1 --hold 30 --keepalive 4 --ready-file "$WORK/r4"
mqttc_bg hold --target $VIP:$VIP_PORT --count 1 --hold 30 --keepalive 0 --ready-file "$WORK/r0"
for _ in $(seq 100); do [ -s "$WORK/r4" ] && [ -s "$WORK/r0" ] && break; sleep 0.1; done
grep -q "connected 1/1" "$WORK/r4" && grep -q "connected 1/1" "$WORK/r0" || fail "clients did not connect"
keepalives() {
	mqlb -j flow show | /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(str(f["keepalive_s"]) for f in json.load(sys.stdin))))'
}
[ "$(keepalives)" = "0 4" ] || fail "want flows with keep-alive 0 and 4, got '$(keepalives)'"
sleep 3.5
[ "$(keepalives)" = "4" ] || fail "after 3.5s: want only the keep-alive 4 flow, got '$(keepalives)'"
log "after 3.5s idle (idle-timeout 2s): the keep-alive 4 flow stays, the keep-alive 0 flow went"
sleep 4
[ "$(map_count flows)" = 0 ] && [ "$(map_count snat)" = 0 ] ||
	fail "after 7.5s: flows=$(map_count flows) snat=$(map_count snat)"
log "after 7.5s idle: the keep-alive 4 flow went (limit 1.5 x 4s = 6s)"
stop_mqlbd
grep -q "removed: 0 closed, 0 half-open, 2 idle" "$WORK/mqlbd.log" ||
	fail "not idle expiry: $(grep 'flows removed' "$WORK/mqlbd.log")"
log "PASS"

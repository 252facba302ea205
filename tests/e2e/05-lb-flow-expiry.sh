#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flow lifecycle in the daemon's collector: a half-open flow (its backend
# never answers) goes after syn-timeout, an idle established flow after
# idle-timeout, and both its ends are reset (neither is left holding a
# connection nobody forwards); a half-closed flow goes after close-wait-timeout,
# whatever the client's keep-alive. None leaves a SNAT reservation behind.
# Generic XDP is enough here: the collector does not depend on the attach mode.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
start_brokers_star

# The tcp_flags of the one flow in the table (empty when there is none).
mqlb_flow_flags() {
	"$BUILD/mqlb" -j --pin-path "$PIN" flow show 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j[0]["tcp_flags"] if j else "")'
}

wait_empty() {
	local what=$1 secs=$2
	for _ in $(seq $((secs * 10))); do
		[ "$(map_count flows)" = 0 ] && [ "$(map_count snat)" = 0 ] && return 0
		sleep 0.1
	done
	fail "$what: flows=$(map_count flows) snat=$(map_count snat) after ${secs}s"
}

# Half-open: the only backend is an address nobody has.
NBROKERS=0 write_mqlbd_conf generic "backend ghost $NET_BRK.99:1883" "syn-timeout 2s"
start_mqlbd
start=$(date +%s)
mqttc hold --target $VIP:$VIP_PORT --count 1 --timeout 1 >/dev/null 2>&1 && fail "connected to a ghost"
[ "$(map_count flows)" = 1 ] || fail "half-open flow was not recorded"
wait_empty "half-open" 6
log "half-open flow removed after $(($(date +%s) - start))s (syn-timeout 2s)"
stop_mqlbd

# Idle: an established connection that says nothing for longer than idle-timeout.
# Keep-alive 0: a keep-alive would stretch the idle limit to 1.5 x keep-alive
# (08-lb-mqtt-aware.sh tests that).
write_mqlbd_conf generic "idle-timeout 2s"
start_mqlbd
ready=$WORK/ready
mqttc_bg hold --target $VIP:$VIP_PORT --count 1 --hold 30 --keepalive 0 --ready-file "$ready"
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
grep -q "connected 1/1" "$ready" || fail "idle: client did not connect"
[ "$(map_count flows)" = 1 ] || fail "idle: flow not recorded"
start=$(date +%s)
wait_empty "idle" 6
log "idle flow removed after $(($(date +%s) - start))s (idle-timeout 2s)"
# Both ends were told: the client's socket and the broker's are gone, not left hanging.
for _ in $(seq 30); do
	[ -z "$(nsx cli ss -Htn state established "( dport = :$VIP_PORT )")" ] &&
		[ "$(broker_conns 1)$(broker_conns 2)$(broker_conns 3)" = 000 ] && break
	sleep 0.1
done
[ -z "$(nsx cli ss -Htn state established "( dport = :$VIP_PORT )")" ] ||
	fail "idle: the client still holds its connection"
[ "$(broker_conns 1)$(broker_conns 2)$(broker_conns 3)" = 000 ] ||
	fail "idle: a broker still holds the connection"
n=$(/usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" flow_idle_reset)
[ "$n" = 1 ] || fail "idle: flow_idle_reset is $n, want 1"
log "idle flow: both ends reset"
kill "$BG_PID"
stop_mqlbd

# Half-closed: the client sends its FIN (shutdown for writing) and the server never closes
# its side (a plain TCP server on b1: mosquitto would close on EOF); a keep-alive of
# 65,535 s does not keep the flow past close-wait-timeout.
nsx b1 /usr/bin/python3 - "$(broker_addr 1)" <<'PY' &
import socket, sys, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 2883))
l.listen(4)
c, _ = l.accept()
c.sendall(b"\x20\x02\x00\x00")  # a CONNACK's bytes: the server has answered
while c.recv(4096):
    pass
time.sleep(30)  # the client's FIN came; this side never closes
PY
CLEANUP_PIDS+=($!)
wait_port b1 2883 || fail "half-closed: the TCP server did not start"
NBROKERS=0 write_mqlbd_conf generic "backend half $(broker_addr 1):2883" \
	"close-wait-timeout 2s" "fin-wait-timeout 2s"
start_mqlbd
nsx cli /usr/bin/python3 - "$VIP" "$VIP_PORT" <<'PY' &
import socket, struct, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
var = struct.pack("!H4sBBH", 4, b"MQTT", 4, 0x02, 65535)
body = var + struct.pack("!H", 5) + b"half1"
s.sendall(bytes([0x10, len(body)]) + body)
s.recv(4)
s.shutdown(socket.SHUT_WR)
time.sleep(30)
PY
CLEANUP_PIDS+=($!)
for _ in $(seq 50); do
	[ "$(mqlb_flow_flags)" != "" ] && [ $(($(mqlb_flow_flags) & 0x8)) != 0 ] && break
	sleep 0.1
done
flags=$(mqlb_flow_flags)
[ -n "$flags" ] && [ $((flags & 0x8)) != 0 ] && [ $((flags & 0x10)) = 0 ] ||
	fail "half-closed: want the client's FIN only, flags ${flags:-none}"
start=$(date +%s)
wait_empty "half-closed" 8
log "half-closed flow removed after $(($(date +%s) - start))s (close-wait-timeout 2s, keep-alive 65535 s)"
stop_mqlbd
log "PASS"

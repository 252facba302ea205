#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# backend ... proxy-v2: the broker learns each client's real address. b1 and
# b3 are strict PROXY v2 listeners (proxy_v2_broker.py: a connection without
# a valid header is refused and logged), b2 a Debian mosquitto without it, then
# an mqbroker without it.
# Under balance roundrobin and balance client-id, 30 clients connect through
# the VIP: b1 and b3 must each log a header naming exactly the client's
# ADDR:PORT (as the client's own socket sees it) and the VIP, before that
# client's CONNECT; b2 must get plain MQTT; the health checks of b1
# and b3 must pass with PROXY v2's LOCAL command. Last, b2 is an mqbroker
# with enable_proxy_protocol 2 (Mosquitto's directive) and logs each of its
# clients by the client's own address.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up
start_proxy_listeners 1 3

mode=${XDP_MODES%% *}
HEALTH_LINE="health mqtt interval 500ms timeout 300ms"
N=30
for plain in mosquitto mqbroker; do
BROKER_BIN=$([ $plain = mqbroker ] && echo "$BUILD/mqbroker" || echo mosquitto) start_mosquitto 2
B2=${CLEANUP_PIDS[-1]}
wait_port b2 1883 || fail "$plain in b2 did not start"
for balance in roundrobin client-id; do
	log "== balance $balance, $plain without PROXY v2 on b2, xdp-mode $mode"
	: >"$WORK/px-b1.log"
	: >"$WORK/px-b3.log"
	BALANCE=$balance write_mqlbd_conf "$mode"
	sed -i -e "s/^backend b1 .*/& proxy-v2/" -e "s/^backend b3 .*/& proxy-v2/" "$WORK/mqlbd.conf"
	start_mqlbd
	wait_backends_up 3
	ready=$WORK/ready-$plain-$balance tuples=$WORK/tuples-$plain-$balance
	mqttc_bg hold --target $VIP:$VIP_PORT --count $N --hold 60 --ready-file "$ready" \
		--tuples-file "$tuples" --src "$CLI_ADDRS"
	holder=$BG_PID
	for _ in $(seq 200); do [ -s "$ready" ] && break; sleep 0.1; done
	grep -q "connected $N/$N" "$ready" 2>/dev/null || fail "$balance: $(cat "$ready" 2>/dev/null)"
	for _ in $(seq 20); do [ -s "$tuples" ] && break; sleep 0.1; done
	# Every connection a PROXY listener saw: a header naming one of our clients and the VIP.
	/usr/bin/python3 - "$tuples" "$VIP:$VIP_PORT" "$WORK/px-b1.log" "$WORK/px-b3.log" <<'PY' ||
import sys
clients = set(open(sys.argv[1]).read().split())
vip, seen, local = sys.argv[2], set(), 0
for path in sys.argv[3:]:
    for line in open(path):
        w = line.split()
        if w[0] == "local":
            local += 1
        elif w[0] == "proxy" and w[1] in clients and w[2] == vip:
            if w[1] in seen:
                sys.exit("%s: a second header for %s" % (path, w[1]))
            seen.add(w[1])
        else:
            sys.exit("%s: %s" % (path, line.strip()))
if not local:
    sys.exit("no health check reached the PROXY listeners")
pass
PY
		fail "$balance: PROXY headers wrong"
	proxied=$(cat "$WORK/px-b1.log" "$WORK/px-b3.log" | grep -c '^proxy ')
	direct=$(broker_conns 2)
	log "$balance: $proxied clients behind PROXY v2 headers on b1+b3, $direct plain on $plain b2"
	[ $((proxied + direct)) = $N ] || fail "$balance: $proxied + $direct connections, want $N"
	[ "$proxied" -gt 0 ] && [ "$direct" -gt 0 ] || fail "$balance: one kind of backend got nothing"
	sent=$(/usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" proxy_v2_sent)
	[ "$sent" = "$proxied" ] || fail "$balance: proxy_v2_sent $sent, want $proxied"
	kill "$holder"
	wait "$holder" 2>/dev/null
	stop_mqlbd
done
kill "$B2"
wait "$B2" 2>/dev/null
done

# mqbroker with Mosquitto's directive on its listener: the balancer's header
# gives it each client's own address, which it logs (and $SYS carries).
log "== mqbroker in b2 with enable_proxy_protocol 2, every backend proxy-v2, balance client-id"
BROKER_BIN=$BUILD/mqbroker start_mosquitto 2 "enable_proxy_protocol 2" "log_type information"
B2=${CLEANUP_PIDS[-1]}
wait_port b2 1883 || fail "mqbroker in b2 did not start: $(cat "$WORK/mosquitto-b2.log")"
: >"$WORK/px-b1.log"
: >"$WORK/px-b3.log"
BALANCE=client-id write_mqlbd_conf "$mode"
sed -i -e "s/^backend b[123] .*/& proxy-v2/" "$WORK/mqlbd.conf"
start_mqlbd
wait_backends_up 3
ready=$WORK/ready-mqbroker-px tuples=$WORK/tuples-mqbroker-px
mqttc_bg hold --target $VIP:$VIP_PORT --count $N --hold 60 --ready-file "$ready" \
	--tuples-file "$tuples" --src "$CLI_ADDRS"
holder=$BG_PID
for _ in $(seq 200); do [ -s "$ready" ] && break; sleep 0.1; done
grep -q "connected $N/$N" "$ready" 2>/dev/null || fail "mqbroker behind PROXY v2: $(cat "$ready" 2>/dev/null)"
for _ in $(seq 20); do [ -s "$tuples" ] && break; sleep 0.1; done
# mqbroker's "new client connected from ADDR:PORT as ID" names our clients' own tuples.
at_b2=$(/usr/bin/python3 - "$tuples" "$WORK/mosquitto-b2.log" <<'PY'
import re, sys
clients = set(open(sys.argv[1]).read().split())
seen = set()
for line in open(sys.argv[2]):
    m = re.search(r"new client connected from (\S+) as mqlbt-", line)
    if m:
        if m.group(1) not in clients:
            sys.exit("mqbroker saw %s, not one of our clients" % m.group(1))
        seen.add(m.group(1))
print(len(seen))
PY
) || fail "mqbroker's log: $at_b2"
proxied=$(cat "$WORK/px-b1.log" "$WORK/px-b3.log" | grep -c '^proxy ')
log "mqbroker logged $at_b2 clients by their own address, the PROXY listeners $proxied"
[ "$at_b2" -gt 0 ] || fail "no client reached mqbroker: $(tail -5 "$WORK/mosquitto-b2.log")"
[ $((at_b2 + proxied)) = $N ] || fail "$at_b2 + $proxied clients seen by address, want $N"
kill "$holder"
wait "$holder" 2>/dev/null
stop_mqlbd
log PASS

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# balance client-id when the backend's side of the handshake goes wrong. The
# balancer sends the backend's SYN and the ACK that completes its handshake
# itself, so it must do what the client's TCP would have done when they are
# lost: b1 and b3 are strict PROXY v2 listeners (proxy_v2_broker.py), b2 a
# Debian mosquitto.
#  1. Each broker drops the first SYN of every connection and the first
#     segment with data (nftables sets in the brokers' namespaces): the SYN
#     must go again when the client resends its CONNECT (bind_syn_resent),
#     and the backend must get the handshake's ACK and the PROXY header again
#     when it resends its SYN-ACK or acknowledges only its SYN
#     (bind_ack_resent). Every client gets CONNACK, none is reset, and each
#     PROXY listener sees one header a client.
#  2. Every SNAT port of every broker holds a TIME_WAIT of another program's
#     connection (its timestamps are not the balancer's, so the broker
#     rejects about half of the balancer's SYNs with an ACK of the old
#     connection): the balancer resets each at its ACK number, as a client in
#     SYN-SENT does, and the SYN goes again (reset_stale_backend).
# Before these were handled, each such client hung until syn-timeout and
# was then reset.
. "$(dirname "$0")/lib.sh"
command -v nft >/dev/null || skip "nftables is missing"
bed_require
bed_up
start_proxy_listeners 1 3
start_mosquitto 2
wait_port b2 1883 || fail "mosquitto in b2 did not start"
mode=${XDP_MODES%% *}
stat() { /usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" "$1"; }

# hold N: N clients through the VIP at once; fails unless all get CONNACK 0.
hold() {
	local n=$1 ready=$WORK/ready-$2 tuples=$WORK/tuples-$2
	mqttc_bg hold --target $VIP:$VIP_PORT --count "$n" --concurrent --hold 30 --timeout 20 \
		--ready-file "$ready" --tuples-file "$tuples" --src "$CLI_ADDRS"
	HOLDER=$BG_PID
	for _ in $(seq 250); do [ -s "$ready" ] && break; sleep 0.1; done
	grep -q "connected $n/$n" "$ready" 2>/dev/null ||
		fail "$2: $(cat "$ready" 2>/dev/null || echo 'no answer in 25 s'); $("$BUILD/mqlb" --pin-path "$PIN" stats show | grep -E 'bind|reset|pending')"
}
unhold() {
	kill "$HOLDER" 2>/dev/null
	wait "$HOLDER" 2>/dev/null
}

log "== 1. first SYN and first data segment of every connection lost at the broker"
for i in 1 2 3; do
	nsx "b$i" nft -f - <<NFT || fail "nft in b$i"
table ip mqlbtloss {
	set syn_seen { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 5m; }
	set data_seen { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 5m; }
	chain input {
		type filter hook input priority 0;
		ip saddr != $SNAT accept
		tcp flags & (syn | ack) == syn ip saddr . tcp sport @syn_seen accept
		tcp flags & (syn | ack) == syn add @syn_seen { ip saddr . tcp sport } counter drop
		# data after a header with timestamps (doff 8): what the balancer
		# writes for the handshake's ACK, and the client's segments
		@th,96,4 8 ip length > 52 ip saddr . tcp sport @data_seen accept
		@th,96,4 8 ip length > 52 add @data_seen { ip saddr . tcp sport } counter drop
	}
}
NFT
done
N=30
BALANCE=client-id write_mqlbd_conf "$mode"
sed -i -e "s/^backend b1 .*/& proxy-v2/" -e "s/^backend b3 .*/& proxy-v2/" "$WORK/mqlbd.conf"
start_mqlbd
t0=$(date +%s%N)
hold $N losses
ms=$((($(date +%s%N) - t0) / 1000000))
syn_resent=$(stat bind_syn_resent) ack_resent=$(stat bind_ack_resent) failed=$(stat reset_bind_failed)
proxied=$(grep -c '^proxy ' "$WORK/px-b1.log" "$WORK/px-b3.log" | awk -F: '{s += $2} END {print s}')
log "$N/$N connected in $ms ms; bind_syn_resent $syn_resent, bind_ack_resent $ack_resent, reset_bind_failed $failed, $proxied behind PROXY headers"
[ "$failed" = 0 ] || fail "reset_bind_failed $failed"
[ "$syn_resent" -ge $N ] || fail "bind_syn_resent $syn_resent, want at least $N (every first SYN was dropped)"
[ "$proxied" -gt 0 ] || fail "no client went to a PROXY v2 backend"
[ "$ack_resent" -ge "$proxied" ] ||
	fail "bind_ack_resent $ack_resent, want at least $proxied (the PROXY backends lost every first ACK)"
# One header a client, each naming a client of ours: no header twice in a stream.
/usr/bin/python3 - "$WORK/tuples-losses" "$WORK/px-b1.log" "$WORK/px-b3.log" <<'PY' || fail "PROXY headers wrong"
import sys
clients, seen = set(open(sys.argv[1]).read().split()), set()
for path in sys.argv[2:]:
    for line in open(path):
        w = line.split()
        if w[0] != "proxy" or w[1] not in clients or w[1] in seen:
            sys.exit("%s: %s" % (path, line.strip()))
        seen.add(w[1])
PY
for i in 1 2 3; do
	dropped=$(nsx "b$i" nft list table ip mqlbtloss | grep -o 'packets [0-9]*' | awk '{s += $2} END {print s}')
	[ "$dropped" -gt 0 ] || fail "b$i: the loss rules dropped nothing"
	nsx "b$i" nft delete table ip mqlbtloss
done
unhold
stop_mqlbd

log "== 2. every SNAT port of every broker in another program's TIME_WAIT"
PORTS=20000-20019
# From the balancer's address and those ports, outside mqlb: each broker
# closes first (mosquitto on DISCONNECT, the PROXY listeners on a connection
# without a header), so the TIME_WAITs are the brokers'.
# make_time_waits ADDR:PORT...: a connection from $SNAT:PORT to ADDR:1883 each.
make_time_waits() {
	nsx lb /usr/bin/python3 - "$SNAT" "$@" <<'PY'
import socket, sys, time
snat, pairs = sys.argv[1], sys.argv[2:]
connect = bytes([0x10, 14]) + b"\x00\x04MQTT\x04\x02\x00\x3c\x00\x02tw"
for pair in pairs:
    b, port = pair.rsplit(":", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((snat, int(port)))
    s.settimeout(5)
    s.connect((b, 1883))
    # 16 bytes: all a PROXY listener reads before it closes; mosquitto
    # answers CONNACK and closes on DISCONNECT.
    s.sendall(connect)
    if s.recv(4) == b"\x20\x02\x00\x00":
        s.sendall(b"\xe0\x00")
        while s.recv(100):
            pass
    s.close()
time.sleep(0.5)
PY
}

# missing_time_waits: the ADDR:PORT of make_time_waits with no TIME_WAIT on the broker's side.
missing_time_waits() {
	local i p
	for i in 1 2 3; do
		local have
		have=$(nsx "b$i" ss -Htan state time-wait "( sport = :1883 and dst $SNAT )" |
			awk '{print $NF}' | sed 's/.*://')
		for p in $(seq "${PORTS%-*}" "${PORTS#*-}"); do
			grep -qx "$p" <<<"$have" || echo "$(broker_addr "$i"):$p"
		done
	done
}

want=()
for i in 1 2 3; do
	for p in $(seq "${PORTS%-*}" "${PORTS#*-}"); do want+=("$(broker_addr "$i"):$p"); done
done
make_time_waits "${want[@]}" || fail "could not make the TIME_WAITs"
# One CI run found one of the 60 missing after this (cause unseen: the check
# then counted every TIME_WAIT on the port); the missing ones get one more
# try, logged, and then they must all be there.
mapfile -t missing < <(missing_time_waits)
if [ "${#missing[@]}" -gt 0 ]; then
	log "no TIME_WAIT after the first try: ${missing[*]}; again"
	make_time_waits "${missing[@]}" || fail "could not make the TIME_WAITs"
	mapfile -t missing < <(missing_time_waits)
fi
[ "${#missing[@]}" = 0 ] || fail "no TIME_WAIT for ${missing[*]}: $(for i in 1 2 3; do nsx "b$i" ss -Htan "( sport = :1883 )"; done)"
log "${#want[@]} TIME_WAITs on the brokers' side, one per broker and SNAT port"
N=20
BALANCE=client-id write_mqlbd_conf "$mode" "snat-ports $PORTS"
sed -i -e "s/^backend b1 .*/& proxy-v2/" -e "s/^backend b3 .*/& proxy-v2/" "$WORK/mqlbd.conf"
start_mqlbd
t0=$(date +%s%N)
hold $N time-wait
ms=$((($(date +%s%N) - t0) / 1000000))
stale=$(stat reset_stale_backend) syn_resent=$(stat bind_syn_resent) failed=$(stat reset_bind_failed)
log "$N/$N connected in $ms ms; reset_stale_backend $stale, bind_syn_resent $syn_resent, reset_bind_failed $failed"
[ "$failed" = 0 ] || fail "reset_bind_failed $failed"
# Each SYN meets a TIME_WAIT whose timestamps are another clock's: about half
# are rejected; all 20 accepted would happen once in a million runs.
[ "$stale" -gt 0 ] || fail "no stale connection was reset"
[ "$syn_resent" -ge "$stale" ] || fail "bind_syn_resent $syn_resent below reset_stale_backend $stale"
unhold
log PASS

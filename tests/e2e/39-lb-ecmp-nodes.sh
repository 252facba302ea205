#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Three balancer nodes behind one router, as in production: the router spreads
# the VIP over the nodes by ECMP on the 4-tuple (fib_multipath_hash_policy 1,
# a resilient nexthop group, so that losing one node moves only its own flows),
# each node runs mqlbd with its own SNAT address and the same configuration
# (balance client-id, one hash-seed). 300 clients with distinct ids land each
# on the broker its id hashes to, whichever node carried it, and every node's
# mqlb maglev show agrees. Then node 2 dies (link down, mqlbd killed, the
# router drops it as a routing daemon would): only its clients reconnect, and
# each lands on the same broker as before.
#
#   ${P}cli 10.201.1.10 --- ${P}rt --- n1/n2/n3 --- ${P}lb1..3 lbc 10.201.1K.2, VIP 10.201.9.1/32
#                                                   ${P}lb1..3 lbb 10.201.2.K (SNAT) --- ${P}sw --- b1..b3
. "$(dirname "$0")/lib.sh"
bed_require
SESS=$(dirname "$(readlink -f "$0")")/mqtt_sessions.py
VIP=10.201.9.1
N=300
NODES="1 2 3"
ecmp_cleanup() {
	rm -rf "$BPFFS"/node* 2>/dev/null
	bed_cleanup
}
trap ecmp_cleanup EXIT

add_ns cli
add_ns rt
add_ns sw
veth cli eth0 rt c0
nsx cli ip addr add $NET_CLI.10/24 dev eth0
nsx cli ip route add default via $NET_CLI.2
nsx cli ethtool -K eth0 tx off >/dev/null
nsx rt ip addr add $NET_CLI.2/24 dev c0
nsx rt sysctl -qw net.ipv4.ip_forward=1
nsx rt sysctl -qw net.ipv4.fib_multipath_hash_policy=1
nsx rt sysctl -qw net.ipv4.conf.all.rp_filter=0
nsx sw ip link add br0 type bridge
nsx sw ip link set br0 up
for t in iptables ip6tables arptables; do
	nsx sw sysctl -qw "net.bridge.bridge-nf-call-$t=0" 2>/dev/null
done
for k in $NODES; do
	add_ns "lb$k"
	veth rt "n$k" "lb$k" lbc
	veth "lb$k" lbb sw "p-lb$k"
	nsx sw ip link set "p-lb$k" master br0
	nsx rt ip addr add "10.201.1$k.1/24" dev "n$k"
	nsx "lb$k" ip addr add "10.201.1$k.2/24" dev lbc
	nsx "lb$k" ip addr add $VIP/32 dev lbc
	nsx "lb$k" ip addr add "$NET_BRK.$k/24" dev lbb
	nsx "lb$k" ip route add default via "10.201.1$k.1"
	nsx "lb$k" sysctl -qw net.ipv4.ip_forward=1
	# Receivers of redirected frames under native XDP need GRO (docs/kernel.md).
	nsx rt ethtool -K "n$k" gro on >/dev/null
	nsx sw ethtool -K "p-lb$k" gro on >/dev/null
	nsx rt ip nexthop add id "$k" via "10.201.1$k.2" dev "n$k"
done
nsx rt ip nexthop add id 100 group 1/2/3 type resilient buckets 128 ||
	skip "this kernel has no resilient nexthop groups"
nsx rt ip route add $VIP/32 nhid 100
for i in 1 2 3; do
	add_ns "b$i"
	veth "b$i" eth0 sw "p-b$i"
	nsx sw ip link set "p-b$i" master br0
	nsx "b$i" ip addr add "$(broker_addr "$i")/24" dev eth0
	nsx "b$i" ethtool -K eth0 tx off >/dev/null
done
mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS" || fail "mount bpffs on $BPFFS"
BPFFS_MOUNTED=1
for i in 1 2 3; do start_mosquitto "$i"; done
for i in 1 2 3; do wait_port "b$i" 1883 || fail "mosquitto in b$i did not start"; done

mode=${XDP_MODES%% *}
declare -A NODE_PID
for k in $NODES; do
	{
		echo "vip $VIP:1883"
		echo "interface lbc"
		echo "backend-interface lbb"
		echo "snat $NET_BRK.$k"
		echo "balance client-id"
		echo "hash-seed 0x6d716c62"
		for i in 1 2 3; do echo "backend b$i $(broker_addr "$i"):1883"; done
		echo "health mqtt interval 500ms timeout 300ms"
		echo "xdp-mode $mode"
		echo "pin-path $BPFFS/node$k"
		echo "control $WORK/ctl-$k.sock"
		echo "close-timeout 1s"
	} >"$WORK/mqlbd-$k.conf"
	ip netns exec "${P}lb$k" "$BUILD/mqlbd" -c "$WORK/mqlbd-$k.conf" >"$WORK/mqlbd-$k.log" 2>&1 &
	NODE_PID[$k]=$!
	CLEANUP_PIDS+=($!)
done
for k in $NODES; do
	for _ in $(seq 100); do grep -q balancing "$WORK/mqlbd-$k.log" && break; sleep 0.1; done
	grep -q balancing "$WORK/mqlbd-$k.log" || fail "node $k: mqlbd did not start: $(tail -5 "$WORK/mqlbd-$k.log")"
	for _ in $(seq 50); do
		[ "$("$BUILD/mqlb" --pin-path "$BPFFS/node$k" -j backend show | grep -o '"state":"up"' |
			wc -l)" = 3 ] && break
		sleep 0.1
	done
done
log "three nodes up, xdp-mode $mode"

# placement K: "ID BACKEND" of node K's established flows, sorted.
placement() {
	"$BUILD/mqlb" --pin-path "$BPFFS/node$1" -j flow show | /usr/bin/python3 -c '
import json, sys
for f in json.load(sys.stdin):
    if f["tcp_state"] == "established" and f["client_id"]:
        print(f["client_id"], f["backend"])' | sort
}

ip netns exec "${P}cli" /usr/bin/python3 "$SESS" clients --target "$VIP:1883" --prefix ecmp- \
	--count $N --keepalive 4 --hold 300 --timeout 60 --ready-file "$WORK/ready" \
	--result "$WORK/result" >/dev/null &
CLIENTS=$!
CLEANUP_PIDS+=($CLIENTS)
for _ in $(seq 600); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
[ "$(cat "$WORK/ready" 2>/dev/null)" = "ready $N/$N" ] || fail "clients: $(cat "$WORK/ready" 2>/dev/null)"

counts=
for k in $NODES; do
	placement "$k" >"$WORK/p$k"
	counts="$counts${counts:+/}$(wc -l <"$WORK/p$k")"
done
sort "$WORK"/p[123] >"$WORK/before"
[ "$(wc -l <"$WORK/before")" = $N ] || fail "$(wc -l <"$WORK/before") flows on the nodes, want $N"
[ "$(cut -d' ' -f1 "$WORK/before" | sort -u | wc -l)" = $N ] || fail "a client id on two nodes"
for n in ${counts//\// }; do [ "$n" -ge 30 ] || fail "ECMP spread nodes 1/2/3: $counts"; done
log "clients per node (1/2/3): $counts; per broker (b1/b2/b3):" \
	"$(grep -c ' b1$' "$WORK/before")/$(grep -c ' b2$' "$WORK/before")/$(grep -c ' b3$' "$WORK/before")"

# Every node's table says the same of every id, and that is where the id is.
mapfile -t ids < <(cut -d' ' -f1 "$WORK/before")
for k in $NODES; do
	"$BUILD/mqlb" --pin-path "$BPFFS/node$k" -j maglev show "${ids[@]}" | /usr/bin/python3 -c '
import json, sys
for a in json.load(sys.stdin):
    print(a["client_id"], a["backend"])' | sort >"$WORK/m$k"
	cmp -s "$WORK/m$k" "$WORK/before" || fail "node $k: maglev show disagrees with where clients are"
done
log "each id on the broker its hash names, whichever node carried it; the three nodes agree"

log "== node 2 dies"
t0=$(date +%s%N)
disown "${NODE_PID[2]}" # no "Killed" line from the shell
kill -9 "${NODE_PID[2]}"
nsx lb2 ip link set lbc down
# The router's side lost carrier, which removes the nexthop already; a routing
# daemon (BFD, BGP) would withdraw it on a machine that died without a link change.
nsx rt ip nexthop del id 2 2>/dev/null
lost=$(wc -l <"$WORK/p2")
for _ in $(seq 400); do
	sort <(placement 1) <(placement 3) >"$WORK/after"
	[ "$(wc -l <"$WORK/after")" = $N ] && break
	sleep 0.1
done
[ "$(wc -l <"$WORK/after")" = $N ] || fail "only $(wc -l <"$WORK/after") of $N clients back on nodes 1 and 3"
took=$((($(date +%s%N) - t0) / 1000000))
cmp -s "$WORK/before" "$WORK/after" ||
	fail "$(diff "$WORK/before" "$WORK/after" | grep -c '^>') clients on another broker than before"
kill "$CLIENTS"
wait "$CLIENTS" 2>/dev/null
/usr/bin/python3 - "$WORK/result" "$WORK/p2" <<'PY' || fail "reconnections"
import json, sys
on2 = {l.split()[0] for l in open(sys.argv[2])}
for r in map(json.loads, open(sys.argv[1])):
    want = 2 if r["id"] in on2 else 1
    if r["connects"] != want:
        sys.exit("%s (node %s) connected %d times" % (r["id"], 2 if r["id"] in on2 else "1/3", r["connects"]))
PY
log "node 2's $lost clients reconnected through nodes 1 and 3 within ${took} ms (keep-alive 4 s)," \
	"each to its broker; the other $((N - lost)) never noticed"
log PASS

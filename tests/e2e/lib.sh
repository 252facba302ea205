# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# End-to-end test bed (the topology is drawn below), built out of network
# namespaces that carry a per-run prefix:
#
#   ${P}cli  eth0 10.201.1.10 + .20 --- lbc  ${P}lb  lbb --- p-lb  ${P}sw (bridge br0)
#            (two client addresses)     10.201.1.2         10.201.2.1   |  p-b1 p-b2 p-b3
#                                       VIP 10.201.1.1/32                |
#                                                     ${P}b1..b3: eth0 10.201.2.11..13
#
# Every resource is registered for removal the moment it is created, and
# bed_cleanup runs on every exit path (trap), so a failed run leaves nothing.

BUILD=${BUILD:-$PWD/build}
P=${MQLB_PREFIX:-mqlbt-$$-}
NET_CLI=10.201.1
NET_BRK=10.201.2
VIP=$NET_CLI.1
VIP_PORT=1883
SNAT=$NET_BRK.1
CLI_ADDRS="$NET_CLI.10,$NET_CLI.20"
NBROKERS=${NBROKERS:-3}
if [ -n "${MQLB_WORK:-}" ]; then
	WORK=$MQLB_WORK
	mkdir -p "$WORK"
else
	WORK=$(mktemp -d "/tmp/${P}XXXX")
fi
BPFFS=/run/${P}bpf
PIN=$BPFFS/mqlb
CTL=$WORK/mqlbd.sock
CLEANUP_PIDS=()
CLEANUP_NS=()
BPFFS_MOUNTED=0

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() {
	log "FAIL: $*"
	if [ -s "$WORK/mqlbd.log" ]; then
		echo "--- last lines of mqlbd's log:"
		tail -n 15 "$WORK/mqlbd.log"
	fi
	exit 1
}
skip() { log "SKIP: $*"; exit 77; }
nsx() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }

bed_cleanup() {
	local pid ns
	for pid in "${CLEANUP_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${CLEANUP_PIDS[@]}"; do
		# give mqlbd the chance to detach and unpin, then insist
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	done
	for ns in "${CLEANUP_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	# A test that switched the kernel's BPF run statistics puts them back.
	[ -n "${BPF_STATS_OLD:-}" ] && sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD"
	if [ "$BPFFS_MOUNTED" = 1 ]; then
		rm -rf "${PIN:?}"/* 2>/dev/null
		umount "$BPFFS" 2>/dev/null
		rmdir "$BPFFS" 2>/dev/null
	fi
	rm -rf "$WORK"
}

# bed_save: record what bed_cleanup would remove, for a later bed_restore + bed_cleanup
# (make demo KEEP=1, then make demo-down).
bed_save() {
	{
		echo "CLEANUP_PIDS=(${CLEANUP_PIDS[*]})"
		echo "CLEANUP_NS=(${CLEANUP_NS[*]})"
		echo "BPFFS_MOUNTED=$BPFFS_MOUNTED"
	} >"$WORK/bed.state"
}

bed_require() {
	# First: a skip or a failure below still removes $WORK.
	trap bed_cleanup EXIT
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, XDP)"
	# BED_PEERS: the peer programs a script uses (make demo with mqbroker needs none).
	for t in ip ethtool ${BED_PEERS-mosquitto mosquitto_sub mosquitto_pub} /usr/bin/python3; do
		command -v "$t" >/dev/null || skip "$t is not installed (make deps)"
	done
	[ -x "$BUILD/mqlbd" ] || fail "$BUILD/mqlbd is not built"
	trap 'exit 130' INT TERM
	# A reader that went away (... | head) or a closed terminal: still clean up.
	trap 'exit 141' PIPE
	trap 'exit 129' HUP
}

add_ns() {
	ip netns add "$P$1" || fail "ip netns add $P$1"
	CLEANUP_NS+=("$P$1")
	nsx "$1" ip link set lo up
}

# veth NS_A IF_A NS_B IF_B
veth() {
	ip link add "mqt$$a" type veth peer name "mqt$$b" || fail "veth $2/$4"
	ip link set "mqt$$a" netns "$P$1" name "$2" || fail "move $2"
	ip link set "mqt$$b" netns "$P$3" name "$4" || fail "move $4"
	nsx "$1" ip link set "$2" up
	nsx "$3" ip link set "$4" up
}

# bed_up: namespaces, links, addresses, routes, bridge, offload settings.
bed_up() {
	local i
	add_ns cli
	add_ns lb
	add_ns sw
	veth cli eth0 lb lbc
	veth lb lbb sw p-lb
	nsx sw ip link add br0 type bridge
	nsx sw ip link set br0 up
	# A switch, not a firewall: where br_netfilter is loaded (as on this machine), bridged
	# frames would otherwise run the iptables hooks, a cost no real switch adds.
	for t in iptables ip6tables arptables; do
		nsx sw sysctl -qw "net.bridge.bridge-nf-call-$t=0" 2>/dev/null
	done
	nsx sw ip link set p-lb master br0
	nsx cli ip addr add $NET_CLI.10/24 dev eth0
	nsx cli ip addr add $NET_CLI.20/24 dev eth0
	nsx cli ip route add default via $NET_CLI.2
	nsx lb ip addr add $NET_CLI.2/24 dev lbc
	nsx lb ip addr add $VIP/32 dev lbc
	nsx lb ip addr add $SNAT/24 dev lbb
	nsx lb sysctl -qw net.ipv4.ip_forward=1
	for i in $(seq "$NBROKERS"); do
		add_ns "b$i"
		veth "b$i" eth0 sw "p-b$i"
		nsx sw ip link set "p-b$i" master br0
		nsx "b$i" ip addr add "$NET_BRK.1$i/24" dev eth0
		nsx "b$i" ip route add default via $SNAT
		# Senders toward the balancer: full checksums, since XDP rewrites and
		# forwards without the stack finishing a partial one (docs/kernel.md).
		nsx "b$i" ethtool -K eth0 tx off >/dev/null
	done
	nsx cli ethtool -K eth0 tx off >/dev/null
	# Receivers of redirected frames under native XDP need GRO (docs/kernel.md).
	nsx cli ethtool -K eth0 gro on >/dev/null
	nsx sw ethtool -K p-lb gro on >/dev/null
	# bpffs outside /sys: ip netns exec remounts /sys privately.
	mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS" || fail "mount bpffs on $BPFFS"
	BPFFS_MOUNTED=1
}

broker_addr() { echo "$NET_BRK.1$1"; }

# start_mosquitto I [extra config lines...]: Debian mosquitto, or whatever BROKER_BIN
# names that reads the same configuration (build/mqbroker does).
start_mosquitto() {
	local i=$1 conf="$WORK/mosquitto-b$1.conf"
	shift
	{
		echo "listener 1883 0.0.0.0"
		echo "allow_anonymous true"
		echo "user root"
		echo "persistence false"
		echo "log_dest stderr"
		echo "log_type error"
		echo "log_type warning"
		printf '%s\n' "$@"
	} >"$conf"
	# ip netns exec execs the command, so $! is mosquitto itself (a shell
	# function in the background would leave $! pointing at a subshell).
	ip netns exec "${P}b$i" "${BROKER_BIN:-mosquitto}" -c "$conf" >"$WORK/mosquitto-b$i.log" 2>&1 &
	CLEANUP_PIDS+=($!)
}

# start_proxy_listeners I...: a strict PROXY v2 listener (proxy_v2_broker.py)
# on port 1883 of each broker namespace I, logging to $WORK/px-bI.log.
start_proxy_listeners() {
	local i
	for i in "$@"; do
		ip netns exec "${P}b$i" /usr/bin/python3 "${MQTTC%/*}/proxy_v2_broker.py" \
			--listen 0.0.0.0:1883 --log "$WORK/px-b$i.log" --seconds 300 &
		CLEANUP_PIDS+=($!)
	done
	for i in "$@"; do wait_port "b$i" 1883 || fail "PROXY listener in b$i did not start"; done
}

# wait_backends_up N: until mqlb shows N backends up, 5 s at most; fails otherwise.
wait_backends_up() {
	local up
	for _ in $(seq 50); do
		up=$("$BUILD/mqlb" --pin-path "$PIN" -j backend show | grep -o '"state":"up"' | wc -l)
		[ "$up" = "$1" ] && return 0
		sleep 0.1
	done
	fail "$up backends up, want $1: $("$BUILD/mqlb" --pin-path "$PIN" backend show)"
}

# The study's star: b1 and b2 bridge every topic both ways to b3.
start_brokers_star() {
	local i
	start_mosquitto 3
	# The hub first: a bridge that finds it not yet listening waits out its restart_timeout.
	wait_port b3 1883 || fail "mosquitto in b3 did not start: $(cat "$WORK/mosquitto-b3.log")"
	for i in $(seq "$NBROKERS"); do
		[ "$i" = 3 ] && continue
		start_mosquitto "$i" "connection bridge-b$i-to-b3" "address $(broker_addr 3):1883" \
			"topic # out 0" "topic # in 0" "restart_timeout 1" "cleansession true"
	done
	for i in $(seq "$NBROKERS"); do
		wait_port "b$i" 1883 || fail "mosquitto in b$i did not start: $(cat "$WORK/mosquitto-b$i.log")"
	done
	wait_bridges_up 1 2
}

# wait_bridges_up I...: broker b3 holds a connection from each broker I (its bridge), 10 s at most.
wait_bridges_up() {
	local i n
	for _ in $(seq 100); do
		n=0
		for i in "$@"; do
			nsx b3 ss -Htn state established "( sport = :1883 )" | awk -v a="$(broker_addr "$i"):" \
				'index($4, a) == 1 {f = 1} END {exit !f}' && n=$((n + 1))
		done
		[ "$n" = $# ] && return 0
		sleep 0.1
	done
	fail "the bridges of broker(s) $* to b3 did not connect: $(tail -3 "$WORK"/mosquitto-b*.log)"
}

wait_port() {
	local ns=$1 port=$2
	for _ in $(seq 100); do
		nsx "$ns" ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# write_mqlbd_conf MODE [extra lines...]; BALANCE=client-id for that algorithm
write_mqlbd_conf() {
	local mode=$1 i
	shift
	{
		echo "vip $VIP:$VIP_PORT"
		echo "interface lbc"
		echo "backend-interface lbb"
		echo "mode fullnat"
		echo "snat $SNAT"
		echo "balance ${BALANCE:-roundrobin}"
		for i in $(seq "$NBROKERS"); do echo "backend b$i $(broker_addr "$i"):1883"; done
		echo "${HEALTH_LINE:-health none}"
		echo "xdp-mode $mode"
		echo "pin-path $PIN"
		echo "control $CTL"
		echo "close-timeout 1s"
		printf '%s\n' "$@"
	} >"$WORK/mqlbd.conf"
}

MQLBD_PID=
start_mqlbd() {
	ip netns exec "${P}lb" "$BUILD/mqlbd" -c "$WORK/mqlbd.conf" >"$WORK/mqlbd.log" 2>&1 &
	MQLBD_PID=$!
	CLEANUP_PIDS+=($MQLBD_PID)
	for _ in $(seq 100); do
		grep -q "balancing" "$WORK/mqlbd.log" && return 0
		kill -0 $MQLBD_PID 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/mqlbd.log"
	fail "mqlbd did not start"
}

stop_mqlbd() {
	[ -n "$MQLBD_PID" ] || return 0
	kill "$MQLBD_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$MQLBD_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$MQLBD_PID" 2>/dev/null
	MQLBD_PID=
}

# Established client connections that broker I sees from the balancer's SNAT
# address (bridge links come from the brokers' own addresses, so they are not counted).
broker_conns() {
	nsx "b$1" ss -Htn state established "( sport = :1883 )" | awk -v s="$SNAT:" 'index($4, s) == 1' | wc -l
}

MQTTC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mqttc.py
mqttc() { nsx cli /usr/bin/python3 "$MQTTC" "$@"; }
# mqttc_bg ARGS...: in the background; BG_PID is the python process itself.
mqttc_bg() {
	ip netns exec "${P}cli" /usr/bin/python3 "$MQTTC" "$@" &
	BG_PID=$!
	CLEANUP_PIDS+=($BG_PID)
}

# Entries of a pinned hash map (bpftool prints one JSON object per entry).
map_count() {
	bpftool -j map dump pinned "$PIN/$1" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# xdp modes to exercise: MQLB_XDP_MODES="native generic" by default.
XDP_MODES=${MQLB_XDP_MODES:-native generic}

SPRAY=$BUILD/tcpspray
# spray_attack TUPLES_FILE: the off-path attacker, who knows the clients' addresses and
# ports but not their sequence numbers: RST, RST+ACK and SYN with random numbers from
# each client's own ADDR:PORT (one a line in TUPLES_FILE) to the VIP, and RST from each
# broker's ADDR:1883 to the balancer's backend-side address on every port 1024-65000,
# from the brokers' side and, forged, from the clients' side. Bounded: 3 of each kind
# a client, one RST a port.
spray_attack() {
	local tuples=$1 i
	nsx cli "$SPRAY" spray --dst "$VIP:$VIP_PORT" --tuples "$tuples" --kinds rst,rstack,syn \
		-n 3 || return 1
	for i in $(seq "$NBROKERS"); do
		nsx "b$i" "$SPRAY" sweep --src "$(broker_addr "$i"):1883" --dst "$SNAT" \
			--ports 1024-65000 --kinds rst || return 1
		nsx cli "$SPRAY" sweep --src "$(broker_addr "$i"):1883" --dst "$SNAT" \
			--ports 1024-65000 --kinds rst || return 1
	done
}

# spray_survivors COUNT QUIET_SECONDS: hold COUNT idle clients through the VIP, spray them
# (spray_attack), stay silent QUIET_SECONDS (the balancer's timeouts run), then PINGREQ
# every one; prints "pingresp K/COUNT" (K answered).
spray_survivors() {
	local n=$1 quiet=$2 holder ready=$WORK/spray.ready pings=$WORK/spray.ping
	rm -f "$ready" "$pings"
	mqttc_bg hold --target "$VIP:$VIP_PORT" --count "$n" --hold 120 --keepalive 600 >/dev/null \
		--ready-file "$ready" --tuples-file "$WORK/spray.tuples" --ping-file "$pings" \
		--timeout 3
	holder=$BG_PID
	for _ in $(seq 300); do [ -s "$ready" ] && break; sleep 0.1; done
	grep -q "connected $n/$n" "$ready" 2>/dev/null || { echo "not connected: $(cat "$ready")"; return 1; }
	spray_attack "$WORK/spray.tuples" >"$WORK/spray.log" 2>&1 || { cat "$WORK/spray.log"; return 1; }
	sleep "$quiet"
	kill -USR1 "$holder"
	for _ in $(seq 100); do [ -s "$pings" ] && break; sleep 0.1; done
	cat "$pings" 2>/dev/null || echo "pingresp ?/$n"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
}

# flood_survivors HELD REAL RATE SECONDS: hold HELD idle clients through the VIP, then
# flood the VIP with random-source SYNs (10.203.0.0/16, RATE a second, SECONDS long) and,
# from its second second on, open REAL new connections (REAL / (SECONDS - 4) a second, each
# given 4 s); when the flood is over, PINGREQ the held ones. Prints one line:
# "flood SENT RATE_ACHIEVED burst K/REAL ok pingresp H/HELD".
flood_survivors() {
	local held=$1 real=$2 rate=$3 secs=$4 holder ready=$WORK/flood.ready pings=$WORK/flood.ping
	local flood_pid flood_out=$WORK/flood.json burst
	rm -f "$ready" "$pings" "$flood_out"
	mqttc_bg hold --target "$VIP:$VIP_PORT" --count "$held" --hold 300 --keepalive 600 \
		--ready-file "$ready" --ping-file "$pings" --timeout 5 >/dev/null
	holder=$BG_PID
	for _ in $(seq 300); do [ -s "$ready" ] && break; sleep 0.1; done
	grep -q "connected $held/$held" "$ready" 2>/dev/null || { echo "not connected: $(cat "$ready")"; return 1; }
	nsx cli "$SPRAY" flood --dst "$VIP:$VIP_PORT" --src-net 10.203.0.0/16 --rate "$rate" \
		--seconds "$secs" >"$flood_out" 2>&1 &
	flood_pid=$!
	CLEANUP_PIDS+=($flood_pid)
	sleep 1
	burst=$(mqttc burst --target "$VIP:$VIP_PORT" --count "$real" \
		--rate "$(awk -v r="$real" -v s="$secs" 'BEGIN {print r / (s - 4)}')" --timeout 4)
	wait "$flood_pid"
	kill -USR1 "$holder"
	for _ in $(seq 200); do [ -s "$pings" ] && break; sleep 0.1; done
	/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("flood %d %d" % (j["sent"], j["rate"]), end=" ")' "$flood_out" 2>/dev/null ||
		echo -n "flood ? ? "
	echo "$burst $(cat "$pings" 2>/dev/null || echo "pingresp ?/$held")"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make attack: the balancers under an off-path attacker, side by side on the e2e test bed
# (tests/e2e/lib.sh, prefix mqlb-atk-), each in front of the same three Debian mosquitto
# brokers: HAProxy (the study's config), nftables round-robin DNAT + SNAT (conntrack),
# mqlb in native and generic XDP, and mqlb balance client-id (SYN cookies, native).
#
#   spray  60 idle MQTT clients held; forged RST, RST+ACK, SYN with random numbers from
#          each client's ADDR:PORT to the VIP, RSTs from every broker's address to every
#          port 1024-65000 of the balancer's backend-side address (from both sides); 8 s
#          of silence; how many clients still answer PINGREQ (spray_survivors)
#   flood  50 idle clients held; random-source SYNs at ATTACK_FLOOD_RATE a second
#          (default 300000: more than this machine sends) for ATTACK_FLOOD_SECS (20);
#          200 real new connections during it, 4 s each; how many made it, and how many
#          held clients answer PINGREQ afterwards (flood_survivors)
#
# ATTACK_VARIANTS narrows the list. Bounded: every run ends by itself. Writes
# results/attack-YYYYmmdd-HHMM/report.md. Numbers are reported, never asserted.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
export MQLB_PREFIX=mqlb-atk-
export MQLB_WORK=/run/mqlb-atk-work
. tests/e2e/lib.sh
. tests/bench/peers.sh

RATE=${ATTACK_FLOOD_RATE:-300000}
SECS=${ATTACK_FLOOD_SECS:-20}
read -r -a VARIANTS <<<"${ATTACK_VARIANTS:-haproxy nftables mqlb-native mqlb-generic mqlb-cid}"
OUT=$ROOT/results/attack-$(date -u +%Y%m%d-%H%M)

[ "$(id -u)" = 0 ] || { echo "attack: needs root (namespaces, XDP)" >&2; exit 1; }
for t in haproxy nft mosquitto; do
	command -v "$t" >/dev/null || { echo "attack: $t is not installed (make deps)" >&2; exit 1; }
done
[ -x "$SPRAY" ] && [ -x "$BUILD/mqlbd" ] || { echo "attack: run make first" >&2; exit 1; }
bed_require
mkdir -p "$OUT"

LB_PID=
variant_up() {
	case $1 in
	haproxy)
		haproxy_conf >"$WORK/haproxy.cfg"
		ip netns exec "${P}lb" haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
		LB_PID=$!
		CLEANUP_PIDS+=($LB_PID)
		wait_port lb "$VIP_PORT"
		;;
	nftables)
		nft_conf >"$WORK/nft.conf"
		nsx lb nft -f "$WORK/nft.conf"
		;;
	mqlb-native | mqlb-generic | mqlb-cid)
		case $1 in
		mqlb-cid) BALANCE=client-id write_mqlbd_conf native ;; # SYN cookies
		*) write_mqlbd_conf "${1#mqlb-}" ;;
		esac
		start_mqlbd
		;;
	esac
}

variant_down() {
	case $1 in
	haproxy) kill "$LB_PID"; wait "$LB_PID" 2>/dev/null ;;
	nftables) nsx lb nft delete table ip mqlbbench ;;
	mqlb-*)
		/usr/bin/python3 tests/e2e/mapsum.py stats "$PIN" >"$OUT/$1-counters.txt" 2>/dev/null
		stop_mqlbd
		;;
	esac
	# Let the brokers drop what the attack left before the next variant.
	sleep 3
}

# Frames dropped before the balancer saw them: the sender veth's TX drops (a full peer
# ring: native XDP), the balancer's RX drops, and the CPUs' backlog drops (generic XDP and
# the kernel's own path; machine-wide, /proc/net/softnet_stat's second column).
edge_drops() {
	{
		nsx cli ip -s -j link show eth0
		nsx lb ip -s -j link show lbc
	} | /usr/bin/python3 -c '
import json, sys
n = 0
for line in sys.stdin.read().split("\n"):
    for l in json.loads(line) if line.strip() else []:
        n += l["stats64"]["tx"]["dropped"] + l["stats64"]["rx"]["dropped"]
for line in open("/proc/net/softnet_stat"):
    n += int(line.split()[1], 16)
print(n)'
}

bed_up
start_brokers_star
{
	echo "# Balancers under attack ($(date -u '+%Y-%m-%d %H:%M UTC'), git $(git rev-parse --short HEAD 2>/dev/null))"
	echo
	echo "Flood: random-source SYNs asked at $RATE/s for $SECS s (achieved rate below)."
	echo
	echo "| variant | spray: clients alive after 8 s | flood: SYNs sent, rate/s | dropped before the balancer | real connections during the flood | held clients alive after it |"
	echo "|---|---:|---:|---:|---:|---:|"
} >"$OUT/report.md"
for v in "${VARIANTS[@]}"; do
	log "== $v"
	variant_up "$v" || { log "$v did not start"; continue; }
	spray=$(spray_survivors 60 8)
	log "$v spray: $spray"
	variant_down "$v"
	variant_up "$v" || { log "$v did not start"; continue; }
	d0=$(edge_drops)
	flood=$(flood_survivors 50 200 "$RATE" "$SECS")
	d1=$(edge_drops)
	log "$v flood: $flood; dropped at the edge: $((d1 - d0))"
	variant_down "$v"
	read -r _ sent got _ burst _ _ held <<<"$flood"
	echo "| $v | ${spray#pingresp } | $sent, $got | $((d1 - d0)) | ${burst} | ${held} |" >>"$OUT/report.md"
done
cat "$OUT/report.md"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mqbroker against Debian's mosquitto on loopback, same load generator
# (mqload), fresh broker per measurement, brokers interleaved in every
# round, medians over ROUNDS rounds.
#
#   tests/bench/broker/bench.sh [-r ROUNDS] [-d SECONDS] [-c IDLE_CONNS] [-o RESULTS.jsonl]
#                               [-f REGEX]   (only scenarios whose label matches; -c 0: no idle run)
#
# Not a test: it prints numbers and never fails on speed.
set -u
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
ROUNDS=3 SECS=5 IDLE=10000 OUT= FILTER=
while getopts "r:d:c:o:f:" o; do
	case $o in
	r) ROUNDS=$OPTARG ;;
	d) SECS=$OPTARG ;;
	c) IDLE=$OPTARG ;;
	o) OUT=$OPTARG ;;
	f) FILTER=$OPTARG ;;
	*) echo "usage: $0 [-r ROUNDS] [-d SECONDS] [-c IDLE_CONNS] [-o FILE]"; exit 2 ;;
	esac
done
make -s "$BUILD/mqbroker" "$BUILD/bench/mqload" || exit 1
command -v mosquitto >/dev/null || { echo "mosquitto not installed"; exit 1; }
tmp=$(mktemp -d /tmp/mqbroker-bench.XXXXXX)
RES=${OUT:-$tmp/results.jsonl}
: >"$RES"
bpid=
cleanup() {
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_broker() { # NAME PORT
	case $1 in
	mqbroker) "$BUILD/mqbroker" -p "$2" 2>"$tmp/broker.log" & ;;
	mosquitto) mosquitto -p "$2" 2>"$tmp/broker.log" & ;;
	esac
	bpid=$!
	for _ in $(seq 50); do
		(exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$1 did not start"; cat "$tmp/broker.log"; exit 1
}

stop_broker() {
	kill "$bpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
	bpid=
}

# measure BROKER ROUND LABEL MQLOAD-ARGS...
measure() {
	local broker=$1 round=$2 label=$3 port line
	shift 3
	port=$(free_port)
	start_broker "$broker" "$port"
	line=$(timeout 120 "$BUILD/bench/mqload" -p "$port" -j "$@" -P "$bpid") || line='{}'
	stop_broker
	echo "{\"broker\":\"$broker\",\"round\":$round,\"label\":\"$label\",\"r\":$line}" >>"$RES"
	echo "round $round $broker $label: $line"
}

SCEN=(
	"p2p-q0|-s p2p -n 100 -q 0"
	"p2p-q1|-s p2p -n 100 -q 1"
	"fanout100-q0|-s fanout -m 100 -q 0"
	"fanout100-q1|-s fanout -m 100 -q 1"
	"fanout1000-q0|-s fanout -m 1000 -q 0"
	"fanout1000-q1|-s fanout -m 1000 -q 1"
	"fanin100-q0|-s fanin -n 100 -q 0 -w 5"
	"fanin100-q1|-s fanin -n 100 -q 1 -w 5"
	# latency at the same delivery rate (20,000/s) for both brokers
	"lat-p2p-q0@20k|-s p2p -n 100 -q 0 -r 20000"
	"lat-p2p-q1@20k|-s p2p -n 100 -q 1 -r 20000"
	"lat-fanout100-q1@20k|-s fanout -m 100 -q 1 -r 200"
	"lat-fanout1000-q1@20k|-s fanout -m 1000 -q 1 -r 20"
	"lat-fanin100-q1@20k|-s fanin -n 100 -q 1 -r 20000"
)
for round in $(seq "$ROUNDS"); do
	# alternate which broker goes first, so drift hurts both alike
	if [ $((round % 2)) -eq 1 ]; then order="mqbroker mosquitto"; else order="mosquitto mqbroker"; fi
	for s in "${SCEN[@]}"; do
		label=${s%%|*}
		[ -n "$FILTER" ] && ! [[ $label =~ $FILTER ]] && continue
		read -r -a args <<<"${s#*|}"
		for b in $order; do
			measure "$b" "$round" "$label" "${args[@]}" -d "$SECS"
		done
	done
	[ "$IDLE" -gt 0 ] || continue
	for b in $order; do
		measure "$b" "$round" "idle$IDLE" -s idle -c "$IDLE"
	done
done

/usr/bin/python3 - "$RES" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(b, label, key):
    v = [r["r"].get(key) for r in rows if r["broker"] == b and r["label"] == label and key in r["r"]]
    return statistics.median(v) if v else None
labels = list(dict.fromkeys(r["label"] for r in rows))
print("\n| scenario | mqbroker msg/s | mosquitto msg/s | ratio | mqbroker p50/p99 µs | mosquitto p50/p99 µs |")
print("|---|---:|---:|---:|---:|---:|")
for l in labels:
    if l.startswith("idle"):
        continue
    a, m = med("mqbroker", l, "deliveries_per_s"), med("mosquitto", l, "deliveries_per_s")
    pa, pm = med("mqbroker", l, "p99_us"), med("mosquitto", l, "p99_us")
    qa, qm = med("mqbroker", l, "p50_us"), med("mosquitto", l, "p50_us")
    ratio = f"{a / m:.2f}x" if a and m else "-"
    print(f"| {l} | {a:,.0f} | {m:,.0f} | {ratio} | {qa:,.0f} / {pa:,.0f} | {qm:,.0f} / {pm:,.0f} |")
for l in labels:
    if l.startswith("idle"):
        a, m = med("mqbroker", l, "bytes_per_conn"), med("mosquitto", l, "bytes_per_conn")
        print(f"\n{l[4:]} idle connections (one subscription each), RSS per connection: "
              f"mqbroker {a:,.0f} B, mosquitto {m:,.0f} B ({a / m:.2f}x)")
PY

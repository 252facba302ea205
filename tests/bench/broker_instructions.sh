#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Instructions per delivered message of two mqbroker binaries under the
# same mqbench load, counted by valgrind's callgrind: the measure that a
# shared machine's noise does not move, where msg/s moves by ±20% between
# runs. User space only (the kernel's share of the broker's CPU is not in
# it). Loopback only; each run ends by itself.
#
#   tests/bench/broker_instructions.sh BEFORE AFTER [REGEX]
#
# BEFORE and AFTER are mqbroker binaries (tests/bench/build_at.sh REV builds
# one as it was at a revision); REGEX selects scenarios (bench.sh's
# closed-loop rows p2p, fanout100 and fanin100 at QoS 0 and 1). Prints one
# line a scenario: instructions per message before, after, and their ratio.
# The start-up's instructions (a run without load) are taken off each.
# REPEAT=N (default 1) runs each pair N times, alternating which goes first,
# and prints the medians and each run's ratio: how much of a delivery goes
# through the queue rather than straight into the window moves a QoS 1
# fan-out's count by up to 10% from run to run.
set -u
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { sed -n '4,20p' "$0" >&2; exit 2; }
REPEAT=${REPEAT:-1}
case $REPEAT in '' | *[!0-9]* | 0) echo "broker_instructions: REPEAT must be 1..20" >&2; exit 2 ;; esac
[ "$REPEAT" -le 20 ] || { echo "broker_instructions: REPEAT must be 1..20" >&2; exit 2; }
A=$(readlink -f "$1") B=$(readlink -f "$2") FILTER=${3:-.}
MQBENCH=$PWD/build/mqbench
command -v valgrind >/dev/null || { echo "broker_instructions: valgrind is not installed" >&2; exit 1; }
[ -x "$MQBENCH" ] && [ -x "$A" ] && [ -x "$B" ] || { echo "broker_instructions: run make; binaries must exist" >&2; exit 1; }
SCEN=(
	"p2p-q0|p2p -n 100 -q 0 -w 20"
	"p2p-q1|p2p -n 100 -q 1 -w 20"
	"fanout100-q0|fanout -m 100 -q 0 -w 20"
	"fanout100-q1|fanout -m 100 -q 1 -w 20"
	"fanin100-q0|fanin -n 100 -q 0 -w 5"
	"fanin100-q1|fanin -n 100 -q 1 -w 5"
)
TMP=$(mktemp -d /tmp/mqb-instr-XXXX)
BP=
cleanup() {
	[ -n "$BP" ] && kill -9 "$BP" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# measure BIN [MQBENCH ARGS...]: "INSTRUCTIONS MESSAGES" (MESSAGES 0 without load)
measure() {
	local bin=$1 port out count=0 ir
	shift
	port=$(free_port)
	out=$TMP/cg.out
	valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" -p "$port" >/dev/null 2>&1 &
	BP=$!
	for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
	if [ $# -gt 0 ]; then
		count=$(timeout 120 "$MQBENCH" "$@" -d 4 -W 0 -t 60 -T "127.0.0.1:$port" -j 2>/dev/null |
			/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
	fi
	kill -TERM "$BP"
	for _ in $(seq 100); do kill -0 "$BP" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$BP" 2>/dev/null
	wait "$BP" 2>/dev/null
	BP=
	ir=$(awk '/^summary:/ {print $2; exit}' "$out")
	rm -f "$out"
	echo "${ir:-0} ${count:-0}"
}

read -r base_a _ < <(measure "$A")
read -r base_b _ < <(measure "$B")
# per_msg IR BASE COUNT: instructions per message, or "failed"
per_msg() {
	awk -v a="$1" -v x="$2" -v n="$3" 'BEGIN { if (n > 0) printf "%.0f", (a - x) / n; else print "failed" }'
}

printf '%-14s %10s %10s %7s%s\n' scenario before after ratio "$([ "$REPEAT" -gt 1 ] && echo '   (each run)')"
for s in "${SCEN[@]}"; do
	label=${s%%|*}
	[[ $label =~ $FILTER ]] || continue
	read -r -a args <<<"${s#*|}"
	runs=()
	for r in $(seq "$REPEAT"); do
		if [ $((r % 2)) = 1 ]; then
			read -r ir_a n_a < <(measure "$A" "${args[@]}")
			read -r ir_b n_b < <(measure "$B" "${args[@]}")
		else
			read -r ir_b n_b < <(measure "$B" "${args[@]}")
			read -r ir_a n_a < <(measure "$A" "${args[@]}")
		fi
		runs+=("$(per_msg "$ir_a" "$base_a" "$n_a") $(per_msg "$ir_b" "$base_b" "$n_b")")
	done
	printf '%s\n' "${runs[@]}" | /usr/bin/python3 -c '
import statistics, sys
label, repeat = sys.argv[1], int(sys.argv[2])
runs = [l.split() for l in sys.stdin if l.strip()]
if not runs or any("failed" in r for r in runs):
    print("%-14s %10s %10s %7s" % (label, "failed", "failed", "-"))
    sys.exit(0)
a = [int(r[0]) for r in runs]
b = [int(r[1]) for r in runs]
ratios = [y / x for x, y in zip(a, b)]
each = "   (" + " ".join(f"{r:.3f}" for r in ratios) + ")" if repeat > 1 else ""
print(f"{label:<14} {statistics.median(a):>10.0f} {statistics.median(b):>10.0f} "
      f"{statistics.median(ratios):>7.3f}{each}")' "$label" "$REPEAT"
done

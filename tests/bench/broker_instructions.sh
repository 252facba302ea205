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
# BEFORE and AFTER are mqbroker binaries (build one from an older commit in
# a worktree); REGEX selects scenarios (bench.sh's closed-loop rows p2p,
# fanout100 and fanin100 at QoS 0 and 1). Prints one line a scenario:
# instructions per message before, after, and their ratio. The start-up's
# instructions (a run without load) are taken off each.
set -u
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { sed -n '4,16p' "$0" >&2; exit 2; }
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
printf '%-14s %10s %10s %7s\n' scenario before after ratio
for s in "${SCEN[@]}"; do
	label=${s%%|*}
	[[ $label =~ $FILTER ]] || continue
	read -r -a args <<<"${s#*|}"
	read -r ir_a n_a < <(measure "$A" "${args[@]}")
	read -r ir_b n_b < <(measure "$B" "${args[@]}")
	if [ "$n_a" -gt 0 ] && [ "$n_b" -gt 0 ]; then
		awk -v l="$label" -v a="$ir_a" -v b="$ir_b" -v x="$base_a" -v y="$base_b" \
			-v na="$n_a" -v nb="$n_b" 'BEGIN {
				pa = (a - x) / na; pb = (b - y) / nb
				printf "%-14s %10.0f %10.0f %7.3f\n", l, pa, pb, pb / pa }'
	else
		printf '%-14s %10s %10s %7s\n' "$label" failed failed -
	fi
done

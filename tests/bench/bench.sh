#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: mqlb side by side with what people run today, on this machine.
#
#   balancers  in the e2e test bed (tests/e2e/lib.sh, prefix mqlb-bench-), each in
#              front of the same three Debian mosquitto brokers (the study's star):
#              direct1 (straight to broker1), spread (clients spread themselves over
#              the brokers: the no-balancer limit), haproxy (the study's config),
#              nftables (numgen inc mod 3 DNAT + SNAT), mqlb native and generic XDP;
#              and choosing the broker by client id: haproxy-cid (balance hash on
#              mqtt_field_value(connect,client_identifier)), mqlb-cid (balance client-id,
#              native); workloads conn-rate, fanout, seed.
#   brokers    mosquitto -p PORT against build/mqbroker -p PORT on loopback (issue 5):
#              p2p (100 pairs), fanout to 100 and to 1,000, fanin from 100 at QoS 0
#              and 1, closed loop (the most each sustains) and paced to the same
#              delivery rate for both (latency at equal load), RSS per idle
#              connection (10,000, one subscription each), and p2p at QoS 0 and 1
#              over TLS (tls-: one TLS listener each, the same certificate).
#
# Rounds are interleaved (each round runs every variant, in a rotated order), so
# drift on a shared 2-core machine hurts every variant alike; the report gives
# medians and per-round ratios. Numbers are reported, never asserted.
#
#   BENCH_ROUNDS=N   rounds (default 3; 1 with BENCH_QUICK=1)
#   BENCH_QUICK=1    a ~2-minute smoke run (shorter runs, smaller counts)
#   BENCH_ONLY=balancers|brokers   one half only
#   BENCH_VARIANTS=a,b,...          these balancer variants only (spread, the reference,
#                                   is always measured)
#   BENCH_BROKER_BASE=PATH          also an older mqbroker (tests/bench/build_at.sh REV
#                                   builds one) in every broker round, interleaved with
#                                   the others, TLS rows aside: the report compares
#                                   build/mqbroker with it row by row (msg/s, p99, CPU)
#
# Writes results/bench-YYYYmmdd-HHMM/{report.md,raw.jsonl,*.png} and results/latest.md.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
QUICK=${BENCH_QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
ROUNDS=${BENCH_ROUNDS:-}
ONLY=${BENCH_ONLY:-}
case $ONLY in '' | balancers | brokers) ;; *) echo "bench: BENCH_ONLY is balancers or brokers" >&2; exit 2 ;; esac
if [ -n "$QUICK" ]; then
	: "${ROUNDS:=1}"
	CR_SECS=1 FAN_SECS=1 SEED_SUBS=200 SEED_PUBS=20 BRK_SECS=1 BRK_WARM=0.2 IDLE=2000
else
	: "${ROUNDS:=3}"
	CR_SECS=4 FAN_SECS=3 SEED_SUBS=800 SEED_PUBS=100 BRK_SECS=3 BRK_WARM=0.5 IDLE=10000
fi
LAT_RATE=20000	# the brokers' paced rows: deliveries/s, the same for both
case $ROUNDS in '' | *[!0-9]* | 0) echo "bench: BENCH_ROUNDS must be 1..9" >&2; exit 2 ;; esac
[ "$ROUNDS" -le 9 ] || { echo "bench: BENCH_ROUNDS must be 1..9" >&2; exit 2; }
VARIANTS=(direct1 spread haproxy nftables mqlb-native mqlb-generic haproxy-cid mqlb-cid)
if [ -n "${BENCH_VARIANTS:-}" ]; then
	IFS=, read -r -a want <<<"spread,$BENCH_VARIANTS"
	for v in "${want[@]}"; do
		[[ " ${VARIANTS[*]} " == *" $v "* ]] || { echo "bench: unknown variant '$v'" >&2; exit 2; }
	done
	VARIANTS=()
	for v in "${want[@]}"; do [[ " ${VARIANTS[*]} " == *" $v "* ]] || VARIANTS+=("$v"); done
fi

BASE_BIN=
if [ -n "${BENCH_BROKER_BASE:-}" ]; then
	BASE_BIN=$(readlink -f "$BENCH_BROKER_BASE")
	[ -x "$BASE_BIN" ] || { echo "bench: BENCH_BROKER_BASE: $BENCH_BROKER_BASE is not an executable" >&2; exit 2; }
fi

STAMP=$(date -u +%Y%m%d-%H%M)
OUT=$ROOT/results/bench-$STAMP
RES=$OUT/raw.jsonl
MQBENCH=$ROOT/build/mqbench

export MQLB_PREFIX=mqlb-bench-
export MQLB_WORK=/run/mqlb-bench-work
. tests/e2e/lib.sh
. tests/bench/peers.sh

[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces, XDP, bpf stats)" >&2; exit 1; }
for t in ip ethtool mosquitto haproxy nft bpftool gnuplot /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "bench: $t is not installed (make deps)" >&2; exit 1; }
done
[ -x "$MQBENCH" ] && [ -x "$BUILD/mqlbd" ] || { echo "bench: run make first" >&2; exit 1; }
if ip netns list | grep -q "^${P}"; then
	# Only a previous run of this script names namespaces so; it was killed hard.
	echo "bench: removing namespaces left by an earlier run" >&2
	for ns in $(ip netns list | awk -v p="$P" 'index($1, p) == 1 {print $1}'); do
		ip netns del "$ns"
	done
	umount "$BPFFS" 2>/dev/null
fi
mkdir -p "$OUT" || exit 1
: >"$RES"

# ---- cleanup on every exit path ----
LB_PID= BRK_PID= STATS_OLD=
bench_cleanup() {
	local pid
	for pid in $LB_PID $BRK_PID; do
		kill "$pid" 2>/dev/null
	done
	for pid in $LB_PID $BRK_PID; do
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	done
	[ -n "$STATS_OLD" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	bed_cleanup
	# A run that did not reach its report leaves no half results behind.
	if [ -d "$OUT" ] && [ ! -s "$OUT/report.md" ]; then
		echo "bench: interrupted; removing $OUT" >&2
		rm -rf "$OUT"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM HUP

log "results go to $OUT (rounds $ROUNDS${QUICK:+, quick})"
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "kernel=$(uname -r)"
	echo "cpus=$(nproc)"
	echo "cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "mosquitto=$(mosquitto -h 2>/dev/null | awk 'NR==1 {print $3}')"
	echo "haproxy=$(haproxy -v | awk 'NR==1 {print $3}')"
	echo "nft=$(nft -v | awk '{print $2}')"
	echo "git=$(git rev-parse --short HEAD 2>/dev/null)"
	echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "rounds=$ROUNDS"
	# build_at.sh leaves the revision it built beside the binary
	[ -n "$BASE_BIN" ] && echo "broker_base=$BASE_BIN ($(cat "$(dirname "$BASE_BIN")/REV" 2>/dev/null ||
		"$BASE_BIN" -V 2>/dev/null | head -1))"
	echo "quick=${QUICK:-0}"
	echo "params=conn-rate ${CR_SECS}s -k 64; fanout 1 pub -> 100 subs QoS 0 ${FAN_SECS}s -w 20; seed ${SEED_SUBS} subs x ${SEED_PUBS} pubs; brokers ${BRK_SECS}s after ${BRK_WARM}s warm-up, paced rows ${LAT_RATE} deliveries/s; idle ${IDLE}"
} >"$OUT/meta.txt"

# busy_pct SECONDS: the machine's busy share over SECONDS, in percent of all CPUs
busy_pct() {
	local a b
	a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9; exit}' /proc/stat)
	sleep "$1"
	b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9; exit}' /proc/stat)
	echo "$a $b" | awk '{d = $4 - $2; print (d > 0 ? int(100 * ($3 - $1) / d) : 0)}'
}

# The machine is shared: before a measurement, wait (at most 10 s) for others'
# load to fall under 15%, and record what it was, so the report can say. The
# waits share one budget, so a machine that is busy all along cannot stretch
# the run past its bound.
PRE_BUSY=0
QUIET_BUDGET=$([ -n "$QUICK" ] && echo 40 || echo 240)	# half-second checks
wait_quiet() {
	local i
	for i in $(seq 20); do
		PRE_BUSY=$(busy_pct 0.5)
		[ "$PRE_BUSY" -lt 15 ] && return 0
		[ "$QUIET_BUDGET" -gt 0 ] || break
		QUIET_BUDGET=$((QUIET_BUDGET - 1))
	done
	log "  the machine stays busy (${PRE_BUSY}% of its CPUs before we start): measuring anyway"
}

# record KIND ROUND VARIANT WORKLOAD JSON
record() {
	printf '{"kind":"%s","round":%d,"variant":"%s","workload":"%s","pre_busy":%d,"r":%s}\n' \
		"$1" "$2" "$3" "$4" "$PRE_BUSY" "${5:-null}" >>"$RES"
}

# ---- balancer variants ----
SRC=$NET_CLI.10,$NET_CLI.20
B1=$(broker_addr 1):1883
ALL3=$(broker_addr 1):1883,$(broker_addr 2):1883,$(broker_addr 3):1883
SUBT= CPU_ARGS=() BED_PIDS=
# Softirq work that the kernel defers to ksoftirqd is that thread's time, not interrupt time.
KSOFTIRQD=$(ps -eo pid=,comm= | awk '$2 ~ /^ksoftirqd\// {printf "%s%s", s, $1; s = ","}')

lb_up() {
	SUBT=$VIP:$VIP_PORT CPU_ARGS=(--cpu-pids "$BED_PIDS,$KSOFTIRQD")
	case $1 in
	direct1) SUBT=$B1 ;;
	spread) SUBT=$ALL3 ;;
	haproxy | haproxy-cid)
		if [ "$1" = haproxy ]; then haproxy_conf; else haproxy_cid_conf; fi >"$WORK/haproxy.cfg"
		ip netns exec "${P}lb" haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
		LB_PID=$!
		wait_port lb "$VIP_PORT" || { cat "$WORK/haproxy.log"; return 1; }
		CPU_ARGS+=(--cpu-pid "$LB_PID")
		;;
	nftables)
		nft_conf >"$WORK/nft.conf"
		nsx lb nft -f "$WORK/nft.conf" || return 1
		;;
	mqlb-native | mqlb-generic | mqlb-cid)
		case $1 in
		mqlb-cid) BALANCE=client-id write_mqlbd_conf native ;;
		*) write_mqlbd_conf "${1#mqlb-}" ;;
		esac
		# lib.sh's start_mqlbd ends the script on failure; here a variant may fail alone.
		ip netns exec "${P}lb" "$BUILD/mqlbd" -c "$WORK/mqlbd.conf" >"$WORK/mqlbd.log" 2>&1 &
		MQLBD_PID=$! LB_PID=$!
		for _ in $(seq 100); do
			grep -q balancing "$WORK/mqlbd.log" && break
			kill -0 "$MQLBD_PID" 2>/dev/null || { cat "$WORK/mqlbd.log"; return 1; }
			sleep 0.1
		done
		grep -q balancing "$WORK/mqlbd.log" || { cat "$WORK/mqlbd.log"; return 1; }
		local ids
		ids=$(nsx lb bpftool -j net show | /usr/bin/python3 -c '
import json, sys
print(",".join(sorted({str(x["id"]) for x in json.load(sys.stdin)[0].get("xdp", [])})))')
		[ -n "$ids" ] || { echo "no XDP program attached in ${P}lb"; return 1; }
		# the balancer's own: its XDP program and its daemon (flow collector, RSTs)
		CPU_ARGS=(--cpu-pids "$BED_PIDS,$KSOFTIRQD" --cpu-pid "$MQLBD_PID" --bpf-prog "$ids")
		;;
	esac
	# Neighbours and routes warm, and a first connection proves the path.
	nsx cli "$MQBENCH" conn-rate --i-own-this-target --sub-target "$SUBT" -n 30 -d 1 -W 0 -t 10 >/dev/null
}

lb_down() {
	case $1 in
	haproxy | haproxy-cid)
		kill "$LB_PID" 2>/dev/null
		wait "$LB_PID" 2>/dev/null
		;;
	nftables) nsx lb nft delete table ip mqlbbench ;;
	mqlb-*)
		# The data plane's counters of each run, so that a failed or slow
		# measurement can be traced to a drop or RST reason afterwards.
		"$BUILD/mqlb" --pin-path "$PIN" stats show >"$OUT/counters-$1-round$2.txt" 2>&1
		stop_mqlbd
		;;
	esac
	LB_PID=
	# Let closing flows, TIME_WAIT and the brokers settle before the next variant.
	sleep 1
}

# mqb WORKLOAD ARGS...: run mqbench in the client namespace, print its JSON or null.
mqb() {
	local out
	out=$(nsx cli "$MQBENCH" "$@" --i-own-this-target --src "$SRC" "${CPU_ARGS[@]}" -j 2>>"$OUT/mqbench-stderr.txt")
	[ -n "$out" ] && echo "$out" || echo null
}

run_balancers() {
	local round v i n=${#VARIANTS[@]} r
	bed_up
	# The brokers keep their TIME_WAITs, as in production: each balancer must cope
	# with SNAT ports reused within the minute (mqlb ends them with exact RSTs).
	start_brokers_star
	# The run's CPU: mqbench, these, the balancer, interrupts (mqbench adds itself).
	BED_PIDS=$(IFS=,; echo "${CLEANUP_PIDS[*]}")
	STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	for round in $(seq "$ROUNDS"); do
		for i in $(seq 0 $((n - 1))); do
			v=${VARIANTS[$(((i + round - 1) % n))]}
			log "round $round/$ROUNDS: $v"
			if ! lb_up "$v" >>"$OUT/lb.log" 2>&1; then
				log "  $v did not come up (see below); recorded as failed"
				tail -5 "$OUT/lb.log"
				lb_down "$v" "$round" >/dev/null 2>&1
				for w in conn-rate fanout seed; do record lb "$round" "$v" "$w"; done
				continue
			fi
			wait_quiet
			r=$(mqb conn-rate --sub-target "$SUBT" -d "$CR_SECS" -W 0.5 -k 64 -t 30)
			record lb "$round" "$v" conn-rate "$r"
			wait_quiet
			r=$(mqb fanout --sub-target "$SUBT" --pub-target "$B1" -m 100 -q 0 -w 20 \
				-d "$FAN_SECS" -W 0.5 -t 40)
			record lb "$round" "$v" fanout "$r"
			wait_quiet
			r=$(mqb seed --sub-target "$SUBT" --pub-target "$B1" -m "$SEED_SUBS" \
				-n "$SEED_PUBS" -t 60)
			record lb "$round" "$v" seed "$r"
			lb_down "$v" "$round"
		done
	done
	sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	STATS_OLD=
	bed_cleanup
	CLEANUP_PIDS=() CLEANUP_NS=() BPFFS_MOUNTED=0
}

# ---- broker variants (loopback) ----
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The tls- rows: one certificate for both brokers (ECDSA P-256, made here with
# the openssl CLI, in $WORK, removed with it), each broker given one TLS listener
# on the port and nothing else; mqbench checks the certificate against the CA.
TLS_DIR=
make_bench_certs() {
	TLS_DIR=$WORK/tls
	mkdir -p "$TLS_DIR" && (
		cd "$TLS_DIR" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout ca.key -out ca.crt -days 2 -subj "/CN=mqlb bench CA" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout server.key -out server.csr -subj "/CN=localhost" &&
		echo "subjectAltName=IP:127.0.0.1" >san.ext &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-out server.crt -days 2 -extfile san.ext &&
		# mosquitto, started as root, reads them as the mosquitto user
		chmod 755 . && chmod 644 ./*
	) >/dev/null 2>&1 || { log "  cannot make the TLS certificates: no tls- rows"; TLS_DIR=; }
}

# tls_conf PORT [anonymous]: one TLS listener (Mosquitto's directives, both brokers read them)
tls_conf() {
	echo "listener $1 127.0.0.1"
	[ -n "${2:-}" ] && echo "allow_anonymous true"
	echo "certfile $TLS_DIR/server.crt"
	echo "keyfile $TLS_DIR/server.key"
}

# broker_start NAME PORT [tls]: 0 when it listens
broker_start() {
	case $1${3:+-tls} in
	mosquitto) mosquitto -p "$2" >"$WORK/broker.log" 2>&1 & ;;
	mosquitto-tls)
		# A listener block turns mosquitto's anonymous default off; -p keeps it on.
		tls_conf "$2" anonymous >"$WORK/broker.conf"
		mosquitto -c "$WORK/broker.conf" >"$WORK/broker.log" 2>&1 &
		;;
	mqbroker-base) "$BASE_BIN" -p "$2" >"$WORK/broker.log" 2>&1 & ;;
	mqbroker*)
		[ -x "$BUILD/mqbroker" ] || return 1
		if [ -n "${3:-}" ]; then
			tls_conf "$2" >"$WORK/broker.conf"
			"$BUILD/mqbroker" -c "$WORK/broker.conf" >"$WORK/broker.log" 2>&1 &
		else
			"$BUILD/mqbroker" -p "$2" >"$WORK/broker.log" 2>&1 &
		fi
		;;
	esac
	BRK_PID=$!
	for _ in $(seq 50); do
		ss -Hltn "sport = :$2" | grep -q . && return 0
		kill -0 "$BRK_PID" 2>/dev/null || break
		sleep 0.1
	done
	broker_stop
	return 1
}

broker_stop() {
	[ -n "$BRK_PID" ] || return 0
	kill "$BRK_PID" 2>/dev/null
	wait "$BRK_PID" 2>/dev/null
	BRK_PID=
}

# Closed loop: each publisher keeps at most -w messages unsettled, so these
# measure the most each broker sustains at a fixed concurrency. Fan-in's 5 keep
# the 500 in flight under mosquitto's queue of 1,000 per client; at QoS 1 it
# drops messages all the same (it reads the subscriber's PUBACKs one per loop
# pass, while 100 publishers add one message each), which the report counts.
# Paced ("lat-"): the publishers together offer LAT_RATE deliveries/s to both
# brokers (-r is messages/s: LAT_RATE / the fan), a rate mosquitto sustains in
# every scenario, with a window that does not bind; the fair latency comparison.
BRK_SCEN=(
	"p2p-q0|p2p -n 100 -q 0 -w 20"
	"p2p-q1|p2p -n 100 -q 1 -w 20"
	"fanout100-q0|fanout -m 100 -q 0 -w 20"
	"fanout100-q1|fanout -m 100 -q 1 -w 20"
	"fanout1000-q0|fanout -m 1000 -q 0 -w 20"
	"fanout1000-q1|fanout -m 1000 -q 1 -w 20"
	"fanin100-q0|fanin -n 100 -q 0 -w 5"
	"fanin100-q1|fanin -n 100 -q 1 -w 5"
	"lat-p2p-q0|p2p -n 100 -q 0 -w 1000 -r $LAT_RATE"
	"lat-p2p-q1|p2p -n 100 -q 1 -w 1000 -r $LAT_RATE"
	"lat-fanout100-q0|fanout -m 100 -q 0 -w 1000 -r $((LAT_RATE / 100))"
	"lat-fanout100-q1|fanout -m 100 -q 1 -w 1000 -r $((LAT_RATE / 100))"
	"lat-fanout1000-q0|fanout -m 1000 -q 0 -w 1000 -r $((LAT_RATE / 1000))"
	"lat-fanout1000-q1|fanout -m 1000 -q 1 -w 1000 -r $((LAT_RATE / 1000))"
	"lat-fanin100-q0|fanin -n 100 -q 0 -w 1000 -r $LAT_RATE"
	"lat-fanin100-q1|fanin -n 100 -q 1 -w 1000 -r $LAT_RATE"
	# The same closed loop over TLS 1.3 (the same certificate for both).
	"tls-p2p-q0|p2p -n 100 -q 0 -w 20"
	"tls-p2p-q1|p2p -n 100 -q 1 -w 20"
)

run_brokers() {
	local round order s b
	mkdir -p "$WORK"
	make_bench_certs
	for round in $(seq "$ROUNDS"); do
		# Rotate who goes first, so drift hurts all alike.
		if [ -n "$BASE_BIN" ]; then
			case $((round % 3)) in
			1) order="mqbroker mosquitto mqbroker-base" ;;
			2) order="mosquitto mqbroker-base mqbroker" ;;
			0) order="mqbroker-base mqbroker mosquitto" ;;
			esac
		elif [ $((round % 2)) = 1 ]; then
			order="mqbroker mosquitto"
		else
			order="mosquitto mqbroker"
		fi
		for s in "${BRK_SCEN[@]}"; do
			[ -z "$TLS_DIR" ] && [ "${s#tls-}" != "$s" ] && continue
			log "round $round/$ROUNDS: brokers ${s%%|*}"
			read -r -a args <<<"${s#*|}"
			for b in $order; do
				# the base may predate TLS: its rows compare the plain listener
				[ "$b" = mqbroker-base ] && [ "${s#tls-}" != "$s" ] && continue
				broker_measure "$round" "$b" "${s%%|*}" "${args[@]}" -d "$BRK_SECS" \
					-W "$BRK_WARM" -t 30
			done
		done
		log "round $round/$ROUNDS: brokers idle $IDLE"
		for b in $order; do
			broker_measure "$round" "$b" idle idle -c "$IDLE" -k 200 -t 60 -q 0
		done
	done
}

# broker_measure ROUND BROKER LABEL MQBENCH-ARGS...: a fresh broker per measurement.
broker_measure() {
	local round=$1 broker=$2 label=$3 port r=null a=() tls=
	shift 3
	a=("$@")
	port=$(free_port)
	if [ "${label#tls-}" != "$label" ]; then
		tls=1
		a+=(--tls-cafile "$TLS_DIR/ca.crt")
	fi
	wait_quiet
	if broker_start "$broker" "$port" $tls; then
		# idle reports the broker's RSS growth, so it needs the pid started just now
		[ "$label" = idle ] && a+=(-P "$BRK_PID")
		r=$("$MQBENCH" "${a[@]}" -T "127.0.0.1:$port" --cpu-pid "$BRK_PID" \
			--cpu-pids "$KSOFTIRQD" -j 2>>"$OUT/mqbench-stderr.txt")
		[ -n "$r" ] || r=null
		broker_stop
	else
		log "  $broker did not start: $(tail -2 "$WORK/broker.log" 2>/dev/null | tr '\n' ' ')"
	fi
	record broker "$round" "$broker" "$label" "$r"
}

T0=$(date +%s)
# The XDP program alone (BPF_PROG_TEST_RUN in a scratch namespace): steady where the
# end-to-end figures are noisy.
run_xdp_cost() {
	local r
	log "XDP program cost (make bench-xdp)"
	r=$(MQLB_BENCH_JSON=1 tests/bpf/run.sh "$ROOT/build/bench/bench_xdp" 2>>"$OUT/mqbench-stderr.txt" |
		grep '^{')
	record xdp 1 mqlb xdp-cost "${r:-null}"
}

[ "$ONLY" = brokers ] || run_xdp_cost
[ "$ONLY" = brokers ] || run_balancers
[ "$ONLY" = balancers ] || run_brokers
log "measured in $(($(date +%s) - T0)) s; writing the report"
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
# Empty logs say nothing; keep only the ones with something in them.
for f in "$OUT/lb.log" "$OUT/mqbench-stderr.txt"; do [ -s "$f" ] || rm -f "$f"; done
/usr/bin/python3 tests/bench/report.py "$OUT" || exit 1
# results/latest.md stands for whole runs only (BENCH_ONLY runs keep their own folder).
if [ -z "$ONLY" ]; then
	cp "$OUT/report.md" "$ROOT/results/latest.md"
	sed -i "s|](\\(.*\\.png\\))|](bench-$STAMP/\\1)|" "$ROOT/results/latest.md"
fi
echo
sed -n '/^## /,$p' "$OUT/report.md"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: the study's deployment on this machine, in network namespaces.
# A client host, a balancer host with two interfaces (clients / brokers), and
# three brokers bridged as in the study (b1 and b2 bridge '#' both ways to
# b3 with the study's bridge config; mqbroker, or DEMO_BROKER=mosquitto). mqlbd balances the VIP
# in native XDP with MQTT health checks; mqbench runs the study's scenario:
# 800 subscribers on topic 'kuliah' through the balancer, 100 publishers
# straight to broker1, one message each.
#
#   scripts/demo.sh          run, report, remove everything
#   KEEP=1 scripts/demo.sh   leave it running (undo with: scripts/demo.sh down)
set -u
cd "$(dirname "$0")/.."
export MQLB_PREFIX=mqlb-demo-
export MQLB_WORK=/run/mqlb-demo
SUBS=${DEMO_SUBS:-800}
PUBS=${DEMO_PUBS:-100}

step() { printf '\n==> %s\n' "$*"; STEP=$*; }

if [ "${1:-}" = down ]; then
	[ -f "$MQLB_WORK/bed.state" ] || { echo "demo: nothing is running"; exit 0; }
	. tests/e2e/lib.sh
	. "$MQLB_WORK/bed.state"
	bed_cleanup
	echo "demo: removed"
	exit 0
fi

if [ -f "$MQLB_WORK/bed.state" ]; then
	echo "demo: a kept demo is still up; remove it first with: make demo-down" >&2
	exit 1
fi

STEP=start
trap 'rc=$?; [ $rc = 0 ] || echo "demo: FAILED at step: $STEP (everything it created is being removed)" >&2' EXIT

# Only what the demo needs; packages that run services of their own (mosquitto)
# are installed without starting them (scripts/deps.sh says how).
step "installing missing packages (make deps)"
if [ "${DEMO_BROKER:-}" = mosquitto ]; then
	scripts/deps.sh build demo demo-mosquitto || exit 1
else
	scripts/deps.sh build demo || exit 1
	export BED_PEERS=
fi
step "building (make)"
make -s all || exit 1

# mqbroker by default; DEMO_BROKER=mosquitto runs the same deployment on Debian's.
export BROKER_BIN=${DEMO_BROKER:-$PWD/build/mqbroker}
. tests/e2e/lib.sh
bed_require
if [ "${KEEP:-0}" = 1 ]; then
	# Keep the bed on success; still remove it on failure.
	trap 'rc=$?; if [ $rc != 0 ]; then echo "demo: FAILED at step: $STEP (removing)" >&2; bed_cleanup; fi' EXIT
fi

step "creating namespaces ${P}cli, ${P}lb, ${P}sw, ${P}b1..b3"
bed_up
step "starting three $(basename "$BROKER_BIN") brokers, b1 and b2 bridged to b3 with the study's bridge config"
# The study's broker config (the thesis' figure 5.8, docs/study.md) with the address changed, and the
# connection named per broker: in the study each broker had its own host name, which
# Mosquitto puts in the bridge's client id; here the namespaces share one.
study_bridge() {
	echo "connection_messages true"
	echo "log_timestamp true"
	echo "connection bridge-b$1-to-broker3"
	echo "notifications true"
	echo "address $(broker_addr 3):1883"
	echo "topic # out 0"
	echo "topic # in 0"
	echo "restart_timeout 5"
}
start_mosquitto 3 "connection_messages true" "log_timestamp true"
# broker3 first: a bridge that finds it not yet listening waits out restart_timeout (5 s).
wait_port b3 1883 || { cat "$WORK/mosquitto-b3.log" >&2; exit 1; }
for i in 1 2; do
	mapfile -t lines < <(study_bridge "$i")
	start_mosquitto "$i" "${lines[@]}"
done
for i in 1 2 3; do
	wait_port "b$i" 1883 || { cat "$WORK/mosquitto-b$i.log" >&2; exit 1; }
done
wait_bridges_up 1 2
sleep 0.2 # and subscribe, right after their CONNACK
step "starting mqlbd (native XDP, MQTT health checks) on VIP $VIP:$VIP_PORT"
HEALTH_LINE="health mqtt interval 1s timeout 500ms rise 2 fall 2" \
	write_mqlbd_conf native "stats 127.0.0.1:9000 admin:mqlb"
start_mqlbd
for _ in $(seq 50); do [ "$(grep -c "down -> up" "$WORK/mqlbd.log")" = 3 ] && break; sleep 0.1; done
grep -E "XDP attached|balancing|down -> up" "$WORK/mqlbd.log" | cut -c25- | sed 's/^/    /'
mqlb() { nsx lb "$BUILD/mqlb" --pin-path "$PIN" --control "$CTL" "$@"; }

step "the study's scenario with mqbench: $SUBS subscribers on 'kuliah' through the VIP, $PUBS publishers straight to broker1"
nsx cli "$BUILD/mqbench" seed --i-own-this-target --sub-target "$VIP:$VIP_PORT" --pub-target "$(broker_addr 1):1883" \
	-m "$SUBS" -n "$PUBS" -t 120 -j >"$WORK/seed.json" 2>"$WORK/seed.err"
seed_rc=$?
[ -s "$WORK/seed.json" ] || { cat "$WORK/seed.err" >&2; exit 1; }

step "mqlb backend show (the subscribers' spread, counted by the data plane)"
mqlb backend show | sed 's/^/    /'
step "mqlb stats show (data plane counters that moved)"
mqlb stats show | awk '$2 != "0"' | sed 's/^/    /'
step "result"
/usr/bin/python3 - "$WORK/seed.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("    %d subscribers through the balancer, %d publishers straight to broker1" %
      (r["subscribers"], r["publishers"]))
print("    latency p50 %.1f ms, p99 %.1f ms; %d errors" %
      (r["p50_us"] / 1000, r["p99_us"] / 1000, r["errors"]))
PY
if [ "${KEEP:-0}" = 1 ]; then
	bed_save
	echo
	echo "The deployment stays up. Try (mosquitto_sub and _pub: apt-get install mosquitto-clients):"
	echo "    ip netns exec ${P}cli mosquitto_sub -h $VIP -t kuliah -v"
	echo "    ip netns exec ${P}cli mosquitto_pub -h $VIP -t kuliah -m hello"
	echo "    ip netns exec ${P}lb $BUILD/mqlb --pin-path $PIN backend show"
	echo "    ip netns exec ${P}lb curl -u admin:mqlb http://127.0.0.1:9000/   (stats page; /metrics)"
	echo "Remove it with: make demo-down"
else
	echo
	echo "Next: 'make demo KEEP=1' leaves this deployment up to explore; README.md explains each part."
fi
/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("delivered: %d/%d duplicates: %d" % (r["delivered"], r["expected"], r["duplicates"]))
sys.exit(0 if r["delivered"] == r["expected"] and r["duplicates"] == 0 else 1)' "$WORK/seed.json" || seed_rc=1
exit $seed_rc

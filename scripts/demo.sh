#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: the study's deployment on this machine, in network namespaces.
# A client host, a balancer host with two interfaces (clients / brokers), and
# three brokers bridged as in the study (b1 and b2 bridge '#' both ways to
# b3). mqlbd balances the VIP in native XDP; the study's scenario runs: 800
# subscribers on topic 'kuliah' through the balancer, 100 publishers straight
# to broker1, one message each.
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

step "installing missing packages (make deps)"
scripts/deps.sh || exit 1
step "building (make)"
make -s all || exit 1

. tests/e2e/lib.sh
bed_require
if [ "${KEEP:-0}" = 1 ]; then
	# Keep the bed on success; still remove it on failure.
	trap 'rc=$?; if [ $rc != 0 ]; then echo "demo: FAILED at step: $STEP (removing)" >&2; bed_cleanup; fi' EXIT
fi

step "creating namespaces ${P}cli, ${P}lb, ${P}sw, ${P}b1..b3"
bed_up
step "starting three mosquitto brokers, b1 and b2 bridged to b3 (the study's star)"
start_brokers_star
step "starting mqlbd (native XDP) on VIP $VIP:$VIP_PORT"
write_mqlbd_conf native
start_mqlbd
grep -E "XDP attached|balancing" "$WORK/mqlbd.log" | sed 's/^/    /'

step "the study's scenario: $SUBS subscribers through the VIP, $PUBS publishers straight to broker1"
nsx cli /usr/bin/python3 tests/e2e/mqttload.py seed --sub-target "$VIP:$VIP_PORT" \
	--pub-target "$(broker_addr 1):1883" --subs "$SUBS" --pubs "$PUBS" --timeout 120 \
	>"$WORK/seed.out" 2>&1
seed_rc=$?

step "flows per backend (data plane counters; the brokers' own view follows)"
/usr/bin/python3 tests/e2e/mapsum.py backends "$PIN" | while read -r id rest; do
	printf '    b%d %s:1883  %s\n' $((id + 1)) "$(broker_addr $((id + 1)))" "$rest"
done
step "data plane counters"
/usr/bin/python3 tests/e2e/mapsum.py stats "$PIN" | sed 's/^/    /'
step "result"
sed 's/^/    /' "$WORK/seed.out"
if [ "${KEEP:-0}" = 1 ]; then
	bed_save
	echo
	echo "The deployment stays up. Try:"
	echo "    ip netns exec ${P}cli mosquitto_sub -h $VIP -t kuliah -v"
	echo "    ip netns exec ${P}cli mosquitto_pub -h $VIP -t kuliah -m hello"
	echo "    bpftool map dump pinned $PIN/flows"
	echo "Remove it with: make demo-down"
else
	echo
	echo "Next: 'make demo KEEP=1' leaves this deployment up to explore; README.md explains each part."
fi
tail -1 "$WORK/seed.out"
exit $seed_rc

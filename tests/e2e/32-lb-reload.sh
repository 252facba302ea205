#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# SIGHUP reloads the config and applies the difference as the same pool
# operations: added, removed and re-weighted backends, with flows of the
# untouched backends kept. A bad file, or a change that needs a restart, is
# refused with FILE:LINE: reason and the running state stays as it was.
. "$(dirname "$0")/lib.sh"
bed_require
NBROKERS=4
bed_up
start_brokers_star

write_mqlbd_conf generic
sed -i '/^backend b4 /d' "$WORK/mqlbd.conf"
start_mqlbd
mqlb() { nsx lb "$BUILD/mqlb" --pin-path "$PIN" --control "$CTL" "$@"; }
states() {
	mqlb -j backend show | /usr/bin/python3 -c '
import json, sys
print(" ".join("%s:%s" % (b["name"], b["state"]) for b in sorted(json.load(sys.stdin), key=lambda b: b["name"])))'
}
hup() {
	local lines
	lines=$(wc -l <"$WORK/mqlbd.log")
	kill -HUP "$MQLBD_PID"
	for _ in $(seq 50); do
		tail -n +"$((lines + 1))" "$WORK/mqlbd.log" | grep -qE "reloaded|reload refused" && break
		sleep 0.1
	done
	tail -n +"$((lines + 1))" "$WORK/mqlbd.log"
}

ready=$WORK/ready
mqttc_bg hold --target $VIP:$VIP_PORT --count 30 --hold 120 --ready-file "$ready"
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
grep -q "connected 30/30" "$ready" || fail "clients: $(cat "$ready")"
[ "$(states)" = "b1:up b2:up b3:up" ] || fail "start: $(states)"

# A good change: b3 removed, b4 added, b2 weight 2.
cp "$WORK/mqlbd.conf" "$WORK/mqlbd.conf.good"
sed -i '/^backend b3 /d; s/^backend b2 .*/backend b2 '"$(broker_addr 2)"':1883 weight 2/' "$WORK/mqlbd.conf"
echo "backend b4 $(broker_addr 4):1883" >>"$WORK/mqlbd.conf"
out=$(hup)
grep -q "reloaded" <<<"$out" || fail "reload not applied: $out"
[ "$(states)" = "b1:up b2:up b4:up" ] || fail "after reload: $(states)"
[ "$(broker_conns 1)/$(broker_conns 2)" = 10/10 ] || fail "b1/b2 flows dropped by the reload"
log "reload applied: $(states); b1 and b2 kept their 10 flows each"
mqttc hold --target $VIP:$VIP_PORT --count 40 --hold 0 >/dev/null || fail "connections after reload"
totals=$(mqlb -j backend show | /usr/bin/python3 -c '
import json, sys
print(" ".join("%s:%d" % (b["name"], b["total"]) for b in sorted(json.load(sys.stdin), key=lambda b: b["name"])))')
log "flows in total after 40 more with weights b1 1, b2 2, b4 1: $totals"
[ "$totals" = "b1:20 b2:30 b4:10" ] || fail "weights not applied: want b1:20 b2:30 b4:10"

# A bad line: refused with file:line, state unchanged.
cp "$WORK/mqlbd.conf" "$WORK/mqlbd.conf.applied"
echo "backend b5 10.201.2.300:1883" >>"$WORK/mqlbd.conf"
out=$(hup)
grep -qE "reload refused, nothing changed: .*mqlbd.conf:[0-9]+: backend 'b5': bad address" <<<"$out" ||
	fail "bad file not refused clearly: $out"
[ "$(states)" = "b1:up b2:up b4:up" ] || fail "state changed by a refused reload: $(states)"
log "bad file refused: $(grep -o 'mqlbd.conf:[0-9]*: .*' <<<"$out")"

# A restart-only change: refused, state unchanged.
cp "$WORK/mqlbd.conf.applied" "$WORK/mqlbd.conf"
sed -i 's/^snat-ports.*//; $a snat-ports 20000-29999' "$WORK/mqlbd.conf"
out=$(hup)
grep -q "changing 'snat-ports' needs a restart" <<<"$out" || fail "restart-only change not refused: $out"
[ "$(states)" = "b1:up b2:up b4:up" ] || fail "state changed: $(states)"
log "restart-only change refused: $(grep -o "changing .*" <<<"$out")"
kill "$BG_PID"
stop_mqlbd
log "PASS"

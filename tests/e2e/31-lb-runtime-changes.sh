#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runtime pool changes through the control socket (with the mqlb CLI):
# disable, drain, enable, add, del. Round-robin stays exact over the
# backends that are up, counted at the brokers; established flows of other
# backends never drop; a deleted backend's clients are reset; errors are clear.
. "$(dirname "$0")/lib.sh"
bed_require
NBROKERS=4
bed_up
start_brokers_star

write_mqlbd_conf generic
sed -i '/^backend b4 /d' "$WORK/mqlbd.conf"   # b4 is added at run time
start_mqlbd
[ "$(stat -c %a "$CTL")" = 600 ] || fail "control socket mode is $(stat -c %a "$CTL"), want 600"
mqlb() { nsx lb "$BUILD/mqlb" --pin-path "$PIN" --control "$CTL" "$@"; }

HOLDERS=()
# hold N: N more connections, held; echoes nothing, fails unless all connect.
hold() {
	local ready=$WORK/ready-$RANDOM
	mqttc_bg hold --target $VIP:$VIP_PORT --count "$1" --hold 120 --ready-file "$ready"
	HOLDERS+=($BG_PID)
	for _ in $(seq 200); do [ -s "$ready" ] && break; sleep 0.1; done
	grep -q "connected $1/$1" "$ready" 2>/dev/null || fail "hold $1: $(cat "$ready" 2>/dev/null)"
}
spread() { echo "$(broker_conns 1)/$(broker_conns 2)/$(broker_conns 3)/$(broker_conns 4)"; }
expect() {
	local want=$1 what=$2 got
	got=$(spread)
	log "$what: b1/b2/b3/b4 = $got"
	[ "$got" = "$want" ] || fail "$what: want $want"
}
cli_conns() { nsx cli ss -Htn state established "( dport = :$VIP_PORT )" | wc -l; }

hold 30
expect 10/10/10/0 "30 connections, 3 backends"

out=$(mqlb backend disable b2) || fail "disable b2: $out"
hold 30
expect 25/10/25/0 "b2 disabled, 30 more (b2 keeps its 10)"

out=$(mqlb backend drain b3) || fail "drain b3: $out"
[ "$(mqlb -j backend show b3 | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print((d[0] if isinstance(d, list) else d)["state"])')" = drain ] ||
	fail "b3 is not shown as drain"
hold 10
expect 35/10/25/0 "b3 drained, 10 more: all to b1"

out=$(mqlb backend enable b2) && out=$(mqlb backend enable b3) || fail "enable: $out"
out=$(mqlb backend add b4 "$(broker_addr 4):1883") || fail "add b4: $out"
log "add: $out"
hold 40
expect 45/20/35/10 "b2, b3 enabled and b4 added, 40 more"

before=$(cli_conns)
out=$(mqlb backend del b1) || fail "del b1: $out"
log "del: $out"
for _ in $(seq 50); do [ "$(cli_conns)" = $((before - 45)) ] && break; sleep 0.1; done
[ "$(cli_conns)" = $((before - 45)) ] ||
	fail "after del b1: $(cli_conns) client connections, want $((before - 45)) (b1's 45 reset)"
log "del b1: its 45 clients were reset; the other $((before - 45)) connections are untouched"
# ... and, once the collector removes those flows, the broker's side too.
for _ in $(seq 60); do [ "$(broker_conns 1)" = 0 ] && break; sleep 0.1; done
[ "$(broker_conns 1)" = 0 ] || fail "b1 still holds $(broker_conns 1) connections of reset clients"
log "b1's side of the 45 reset connections was reset too"
hold 30
[ "$(broker_conns 2)/$(broker_conns 3)/$(broker_conns 4)" = "30/45/20" ] ||
	fail "after del b1, 30 more should land 10/10/10 on b2/b3/b4: $(spread)"
log "30 more after del b1: b2/b3/b4 = $(broker_conns 2)/$(broker_conns 3)/$(broker_conns 4)"

# Errors: clear, and nothing changes.
for bad in "backend del nosuch" "backend add b2 $(broker_addr 4):1883" \
	"backend add b9 10.201.2.300:1883" "backend drain"; do
	if out=$(mqlb $bad 2>&1); then fail "'$bad' succeeded: $out"; fi
	log "refused '$bad': $out"
done
grep -q "backend b2: up -> disabled (operator: disable)" "$WORK/mqlbd.log" || fail "no log line for disable"
grep -q "backend b1: up -> empty (operator: del)" "$WORK/mqlbd.log" || fail "no log line for del"

# Every backend out of rotation: a SYN is answered with a RST at once (counted).
for b in b2 b3 b4; do mqlb backend disable $b >/dev/null || fail "disable $b"; done
t0=$(date +%s%3N)
out=$(mqttc hold --target $VIP:$VIP_PORT --count 1 --timeout 3 2>&1) && fail "connected with no backend up"
t=$(($(date +%s%3N) - t0))
grep -q "Connection refused" <<<"$out" || fail "no backend up: want a refused connection, got: $out"
[ "$(/usr/bin/python3 "$(dirname "$0")/mapsum.py" stat "$PIN" reset_no_backend)" -ge 1 ] ||
	fail "reset_no_backend not counted"
log "no backend up: the client was refused (RST) after ${t} ms"

for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null; done
stop_mqlbd
out=$(mqlb backend drain b2 2>&1) && fail "drain with mqlbd stopped succeeded"
grep -q "mqlbd is not running" <<<"$out" || fail "unclear error with mqlbd stopped: $out"
log "PASS"

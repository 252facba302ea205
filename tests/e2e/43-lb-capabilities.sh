#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mqlbd with exactly the capabilities its unit grants (CapabilityBoundingSet
# of dist/mqlbd.service.in, applied with setpriv as systemd applies it to a
# root service): it starts in native XDP, checks its brokers, forwards, the
# collector removes ended flows, and the on-down reset (raw socket) sends a
# lost backend's clients elsewhere. Then one capability less each time:
# without CAP_PERFMON or CAP_BPF or CAP_NET_ADMIN it refuses to start, and
# without CAP_NET_RAW it starts with a warning. This is how the set was
# found; the test keeps the unit honest.
. "$(dirname "$0")/lib.sh"
bed_require
command -v setpriv >/dev/null || skip "setpriv is missing (util-linux)"
bed_up
start_brokers_star

UNIT=dist/mqlbd.service.in
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$caps" ] || fail "no CapabilityBoundingSet in $UNIT"
# "CAP_BPF CAP_NET_ADMIN" -> "+bpf,+net_admin"
to_setpriv() { local c out=; for c in "$@"; do c=${c#CAP_}; out="$out,+${c,,}"; done; echo "${out#,}"; }
# shellcheck disable=SC2086
UNIT_CAPS=$(to_setpriv $caps)
log "the unit's set: $caps"

# run_capped CAPS: mqlbd under that bounding set (and no inheritable capabilities).
run_capped() {
	ip netns exec "${P}lb" setpriv --bounding-set "-all,$1" --inh-caps -all -- \
		"$BUILD/mqlbd" -c "$WORK/mqlbd.conf" >"$WORK/mqlbd.log" 2>&1 &
	MQLBD_PID=$!
	CLEANUP_PIDS+=($MQLBD_PID)
}

HEALTH_LINE="health mqtt interval 500ms timeout 400ms rise 1 fall 1" write_mqlbd_conf native
run_capped "$UNIT_CAPS"
for _ in $(seq 100); do [ "$(grep -c "down -> up" "$WORK/mqlbd.log")" = 3 ] && break; sleep 0.1; done
[ "$(grep -c "down -> up" "$WORK/mqlbd.log")" = 3 ] || fail "not every backend came up: $(cat "$WORK/mqlbd.log")"
grep -q "^CapBnd:" "/proc/$MQLBD_PID/status" || fail "mqlbd is gone"
bnd=$(awk '/^CapBnd:/ {print $2}' "/proc/$MQLBD_PID/status")
log "mqlbd runs with CapBnd $bnd, XDP $(nsx lb ip -d link show lbc | grep -o 'xdp[a-z]*' | head -1)"
grep -qiE "warn|can't|not permitted" "$WORK/mqlbd.log" && fail "warnings under the unit's set: $(cat "$WORK/mqlbd.log")"

# Traffic, then the collector (a syscall program) frees the closed flows.
nsx cli timeout 5 mosquitto_pub -h "$VIP" -t t -m x || fail "no connection through the VIP"
for _ in $(seq 50); do [ "$(map_count flows)" = 0 ] && break; sleep 0.1; done
[ "$(map_count flows)" = 0 ] || fail "the collector did not remove the closed flow"
log "forwarding and flow collection work"

# On-down reset needs the raw socket: kill b1's broker, its idle client must move.
mqttc_bg hold --target "$VIP:$VIP_PORT" --count 3 --hold 30 --ready-file "$WORK/ready"
for _ in $(seq 50); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
[ "$(broker_conns 1)" = 1 ] || fail "want one held client on b1, got $(broker_conns 1)"
{ kill -9 "${CLEANUP_PIDS[1]}"; wait "${CLEANUP_PIDS[1]}"; } 2>/dev/null # b1 (started b3, b1, b2)
for _ in $(seq 50); do grep -q "on-down reset: provoked 1 client" "$WORK/mqlbd.log" && break; sleep 0.1; done
grep -q "on-down reset: provoked 1 client" "$WORK/mqlbd.log" ||
	fail "no on-down reset under the unit's set: $(tail -5 "$WORK/mqlbd.log")"
log "on-down reset works (raw socket)"
stop_mqlbd
kill "$BG_PID" 2>/dev/null

# expect_refused CAPS WHAT PATTERN
expect_refused() {
	run_capped "$1"
	for _ in $(seq 100); do kill -0 "$MQLBD_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$MQLBD_PID" 2>/dev/null && fail "without $2 mqlbd started: $(cat "$WORK/mqlbd.log")"
	grep -qE "$3" "$WORK/mqlbd.log" || fail "without $2: $(cat "$WORK/mqlbd.log")"
	nsx lb ip -d link show lbc | grep -q xdp && fail "without $2: XDP left attached"
	log "without $2: refused ($(grep -E "$3" "$WORK/mqlbd.log" | head -1 | cut -c25-120))"
}
# shellcheck disable=SC2086
without() { local c; for c in $caps; do [ "$c" = "$1" ] || echo "$c"; done; }
expect_refused "$(to_setpriv $(without CAP_PERFMON))" CAP_PERFMON "can't load the XDP object: Permission denied"
expect_refused "$(to_setpriv $(without CAP_BPF))" CAP_BPF "can't load the XDP object: Operation not permitted"
expect_refused "$(to_setpriv $(without CAP_NET_ADMIN))" CAP_NET_ADMIN "can't load the XDP object|attach"

run_capped "$(to_setpriv $(without CAP_NET_RAW))"
for _ in $(seq 100); do grep -q "balancing" "$WORK/mqlbd.log" && break; sleep 0.1; done
grep -q "balancing" "$WORK/mqlbd.log" || fail "without CAP_NET_RAW mqlbd did not start: $(cat "$WORK/mqlbd.log")"
grep -q "raw socket for on-down reset: Operation not permitted" "$WORK/mqlbd.log" ||
	fail "without CAP_NET_RAW: no warning"
stop_mqlbd
log "without CAP_NET_RAW: starts, warns that lost backends' clients wait for their next packet"
log "PASS"

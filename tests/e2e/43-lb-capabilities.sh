#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mqlbd with exactly the capabilities its unit grants (CapabilityBoundingSet
# of dist/mqlbd.service.in, applied with setpriv as systemd applies it to a
# root service): it starts in native XDP, checks its brokers, forwards, the
# collector removes ended flows, the on-down reset (raw socket) sends a
# lost backend's clients elsewhere, and with `persist yes` a new daemon
# adopts the pinned data plane, after SIGTERM and after kill -9. Then with
# less: without CAP_SYS_ADMIN a fresh start works but adoption is refused
# (the kernel gives a pinned map's BTF by id to CAP_SYS_ADMIN only), and
# since the kernel's BPF checks take CAP_SYS_ADMIN for CAP_BPF, CAP_PERFMON
# and CAP_NET_ADMIN, those are tested without it: without CAP_PERFMON the
# verifier refuses the program, without CAP_BPF nothing loads, without
# CAP_NET_ADMIN nothing loads or attaches; without CAP_NET_RAW mqlbd starts
# and warns. This is how the set was found; the test keeps the unit honest.
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
kill "$BG_PID" 2>/dev/null

# adopted LABEL: a daemon under the unit's set took over the pinned data plane.
adopted() {
	for _ in $(seq 100); do grep -q "balancing" "$WORK/mqlbd.log" && break; sleep 0.1; done
	grep -q "adopting the pinned state under $PIN" "$WORK/mqlbd.log" ||
		fail "$1: no adoption: $(cat "$WORK/mqlbd.log")"
	grep -q "balancing" "$WORK/mqlbd.log" || fail "$1: did not start: $(cat "$WORK/mqlbd.log")"
	log "$1: the new daemon adopted the pinned data plane"
}
stop_mqlbd
HEALTH_LINE="health mqtt interval 500ms timeout 400ms rise 1 fall 1" write_mqlbd_conf native "persist yes"
run_capped "$UNIT_CAPS"
for _ in $(seq 100); do grep -q "balancing" "$WORK/mqlbd.log" && break; sleep 0.1; done
stop_mqlbd  # persist yes: XDP stays attached, the maps stay pinned
nsx lb ip -d link show lbc | grep -q xdp || fail "persist yes: XDP was detached"
run_capped "$UNIT_CAPS"
adopted "after SIGTERM"
{ kill -9 "$MQLBD_PID"; wait "$MQLBD_PID"; } 2>/dev/null
run_capped "$UNIT_CAPS"
adopted "after kill -9"
stop_mqlbd

# shellcheck disable=SC2086
without() { local c x; for c in $caps; do for x in "$@"; do [ "$c" = "$x" ] && continue 2; done; echo "$c"; done; }
# shellcheck disable=SC2046
run_capped "$(to_setpriv $(without CAP_SYS_ADMIN))"
for _ in $(seq 100); do kill -0 "$MQLBD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$MQLBD_PID" 2>/dev/null && fail "without CAP_SYS_ADMIN the adoption went through"
grep -q "can't read its type: Operation not permitted" "$WORK/mqlbd.log" ||
	fail "without CAP_SYS_ADMIN: $(cat "$WORK/mqlbd.log")"
log "without CAP_SYS_ADMIN: adoption refused ($(grep "can't read its type" "$WORK/mqlbd.log" | cut -c25-110))"
ip netns exec "${P}lb" "$BUILD/mqlbd" --stop -c "$WORK/mqlbd.conf" >/dev/null || fail "mqlbd --stop"
HEALTH_LINE="health mqtt interval 500ms timeout 400ms rise 1 fall 1" write_mqlbd_conf native
# shellcheck disable=SC2046
run_capped "$(to_setpriv $(without CAP_SYS_ADMIN))"
for _ in $(seq 100); do [ "$(grep -c "down -> up" "$WORK/mqlbd.log")" = 2 ] && break; sleep 0.1; done
[ "$(grep -c "down -> up" "$WORK/mqlbd.log")" = 2 ] || fail "without CAP_SYS_ADMIN, fresh: $(cat "$WORK/mqlbd.log")"
stop_mqlbd
log "without CAP_SYS_ADMIN: a fresh start works"

# expect_refused CAPS WHAT PATTERN
expect_refused() {
	run_capped "$1"
	for _ in $(seq 100); do kill -0 "$MQLBD_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$MQLBD_PID" 2>/dev/null && fail "without $2 mqlbd started: $(cat "$WORK/mqlbd.log")"
	grep -qE "$3" "$WORK/mqlbd.log" || fail "without $2: $(cat "$WORK/mqlbd.log")"
	nsx lb ip -d link show lbc | grep -q xdp && fail "without $2: XDP left attached"
	log "without $2: refused ($(grep -E "$3" "$WORK/mqlbd.log" | head -1 | cut -c25-90))"
}
# shellcheck disable=SC2046
expect_refused "$(to_setpriv $(without CAP_SYS_ADMIN CAP_PERFMON))" "CAP_SYS_ADMIN and CAP_PERFMON" \
	"can't load the XDP object: Permission denied"
# shellcheck disable=SC2046
expect_refused "$(to_setpriv $(without CAP_SYS_ADMIN CAP_BPF))" "CAP_SYS_ADMIN and CAP_BPF" \
	"can't load the XDP object: Operation not permitted"
# shellcheck disable=SC2046
expect_refused "$(to_setpriv $(without CAP_SYS_ADMIN CAP_NET_ADMIN))" "CAP_SYS_ADMIN and CAP_NET_ADMIN" \
	"can't load the XDP object|attach"

# shellcheck disable=SC2046
run_capped "$(to_setpriv $(without CAP_NET_RAW))"
for _ in $(seq 100); do grep -q "balancing" "$WORK/mqlbd.log" && break; sleep 0.1; done
grep -q "balancing" "$WORK/mqlbd.log" || fail "without CAP_NET_RAW mqlbd did not start: $(cat "$WORK/mqlbd.log")"
grep -q "raw socket for on-down reset: Operation not permitted" "$WORK/mqlbd.log" ||
	fail "without CAP_NET_RAW: no warning"
stop_mqlbd
log "without CAP_NET_RAW: starts, warns that lost backends' clients wait for their next packet"
log "PASS"

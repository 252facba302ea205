#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mqlbd refuses to start, with a clear message and nothing attached or
# pinned, on a bad config line, a VIP that is not local, IPv4 forwarding
# off, a SNAT range inside the ephemeral ports, and a missing interface.
. "$(dirname "$0")/lib.sh"
bed_require
bed_up

# expect_refusal NAME PATTERN: run mqlbd on $WORK/mqlbd.conf, expect exit 1 and PATTERN.
expect_refusal() {
	local name=$1 pattern=$2 out rc
	out=$(timeout 20 ip netns exec "${P}lb" "$BUILD/mqlbd" -c "$WORK/mqlbd.conf" 2>&1)
	rc=$?
	[ $rc = 1 ] || fail "$name: exit status $rc, want 1: $out"
	grep -qE -- "$pattern" <<<"$out" || fail "$name: message '$out' does not match '$pattern'"
	nsx lb ip -d link show lbc | grep -q xdp && fail "$name: XDP attached anyway"
	nsx lb ip -d link show lbb | grep -q xdp && fail "$name: XDP attached to lbb anyway"
	[ -z "$(ls -A "$PIN" 2>/dev/null)" ] || fail "$name: left pins: $(ls "$PIN")"
	log "$name: refused: $(head -1 <<<"$out" | cut -c1-150)"
}

write_mqlbd_conf generic "frobnicate yes"
expect_refusal "unknown directive" "mqlbd.conf:[0-9]+: unknown directive 'frobnicate'"

write_mqlbd_conf generic "backend b1 10.201.2.14:1883"
expect_refusal "duplicate backend" "mqlbd.conf:[0-9]+: duplicate backend 'b1' \(first defined on line [0-9]+\)"

write_mqlbd_conf generic
sed -i 's/^vip .*/vip 10.201.1.99:1883/' "$WORK/mqlbd.conf"
expect_refusal "vip not local" "ip addr add 10.201.1.99/32 dev lbc"

write_mqlbd_conf generic
sed -i '/^vip /d' "$WORK/mqlbd.conf"
expect_refusal "missing vip" "mqlbd.conf: missing 'vip'"

write_mqlbd_conf generic "snat-ports 30000-40000"
expect_refusal "snat range in ephemeral ports" "overlaps this machine's ephemeral ports"

write_mqlbd_conf generic "interface nosuchif"
expect_refusal "missing interface" "interface 'nosuchif' does not exist"

write_mqlbd_conf generic
nsx lb sysctl -qw net.ipv4.ip_forward=0
expect_refusal "forwarding off" "sysctl -w net.ipv4.ip_forward=1"
nsx lb sysctl -qw net.ipv4.ip_forward=1

out=$("$BUILD/mqlbd" -h) || fail "mqlbd -h failed"
grep -q "Usage: .*mqlbd -c FILE" <<<"$out" || fail "mqlbd -h: $out"
"$BUILD/mqlbd" >/dev/null 2>&1 && fail "mqlbd without -c should fail"
log "PASS"

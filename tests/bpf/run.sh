#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the BPF_PROG_TEST_RUN tests. As root, inside a scratch network
# namespace that models the balancer of docs/design.md (addresses: see
# tests/bpf/fixtures.h, keep both in sync):
#
#   lbc  10.99.1.1/24 (VIP)   <- veth ->  cli0   client side
#   lbb  10.99.2.1/24 (SNAT)  <- veth ->  brk0   backend side,
#        backends 10.99.2.11-13 as permanent neighbours (bpf_fib_lookup
#        never resolves a neighbour itself)
#
# The tests find the interfaces in MQLB_TEST_IF_{CLI,BK} and
# MQLB_TEST_MAC_{CLI,BK}. Without root the binaries still run, so that
# cmocka reports every test as skipped rather than passed.
#
#   run.sh BINARY...
set -u

# Effective capabilities: CAP_SYS_ADMIN (21) makes namespaces, CAP_NET_ADMIN (12)
# configures them, CAP_BPF (39) or CAP_SYS_ADMIN loads the program.
caps=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
has_cap() {
	[ $(((0x${caps:-0} >> $1) & 1)) -eq 1 ]
}
if ! has_cap 21 || ! has_cap 12; then
	echo "bpf: not privileged (root with CAP_SYS_ADMIN, CAP_NET_ADMIN needed): tests report skip"
	rc=0
	for t in "$@"; do
		"$t" || rc=1
	done
	exit $rc
fi

NS="mqlbt-$$-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')"

cleanup() {
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A reader that went away (run.sh ... | head) or a closed terminal: still clean up.
trap 'exit 141' PIPE
trap 'exit 129' HUP

nsx() {
	ip netns exec "$NS" "$@"
}

setup() {
	ip netns add "$NS" &&
	ip -n "$NS" link add lbc address 02:00:00:00:01:01 type veth \
		peer name cli0 address 02:00:00:00:01:64 &&
	ip -n "$NS" link add lbb address 02:00:00:00:02:01 type veth \
		peer name brk0 address 02:00:00:00:02:fe &&
	ip -n "$NS" addr add 10.99.1.1/24 dev lbc &&
	ip -n "$NS" addr add 10.99.2.1/24 dev lbb &&
	for dev in lo lbc cli0 lbb brk0; do
		ip -n "$NS" link set "$dev" up || return 1
	done &&
	for i in 11 12 13; do
		ip -n "$NS" neigh add "10.99.2.$i" lladdr "02:00:00:00:02:$(printf %02x "$i")" \
			dev lbb nud permanent || return 1
	done &&
	# bpf_fib_lookup answers 5 (forwarding disabled) otherwise.
	nsx sysctl -qw net.ipv4.ip_forward=1
}

if ! setup; then
	echo "bpf: cannot set up namespace $NS" >&2
	exit 1
fi

MQLB_TEST_IF_CLI=$(nsx cat /sys/class/net/lbc/ifindex)
MQLB_TEST_IF_BK=$(nsx cat /sys/class/net/lbb/ifindex)
MQLB_TEST_MAC_CLI=$(nsx cat /sys/class/net/lbc/address)
MQLB_TEST_MAC_BK=$(nsx cat /sys/class/net/lbb/address)
export MQLB_TEST_IF_CLI MQLB_TEST_IF_BK MQLB_TEST_MAC_CLI MQLB_TEST_MAC_BK

pass=0 fail=0 failed=
for t in "$@"; do
	if nsx "$t"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed="$failed $(basename "$t")"
	fi
done
echo "bpf: $pass passed, $fail failed (namespace $NS)"
[ "$fail" -eq 0 ] || { echo "bpf: failed:$failed"; exit 1; }

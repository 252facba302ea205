// SPDX-License-Identifier: GPL-2.0
/*
 * SNAT port reservation, a global BPF function of its own: the verifier
 * checks it once, on its own, so that its loop does not multiply with the
 * paths of the XDP program that inline new_flow() around its call.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "maps.h"
#include "flow.h"

/* gcd(a, b) for 16-bit values: Euclid needs at most 24 steps there. */
static __always_inline __u32 gcd16(__u32 a, __u32 b)
{
	__u32 i, t;

	for (i = 0; i < 24 && b; i++) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/*
 * Whether the broker may still hold a TIME_WAIT on tuple sk that only a
 * SYN with timestamps gets through (see "tw_ts").
 */
static __always_inline bool tw_ts_marked(const struct mqlb_snat_key *sk, __u64 now)
{
	__u64 *until = bpf_map_lookup_elem(&tw_ts, sk);

	return until && *until > now;
}

/*
 * Reserve a SNAT source port toward the backend by inserting the reverse
 * entry with BPF_NOEXIST: the insert itself is the reservation, so two live
 * flows can never share a translated tuple, even when racing on two CPUs.
 * Returns 0, -EEXIST when every candidate was taken, or the map error
 * (-E2BIG: table full).
 *
 * Candidates: a random start, then steps of a random stride coprime with
 * the range, so they are MQLB_SNAT_TRIES distinct ports (all of a range
 * that small). Linear probing met the runs that taken ports form (a
 * 50,000-port range refused a SYN at one third full); one stride for all
 * SYNs is linear probing in another order, and met them too (a half-full
 * 4,000-port range refused 2 SYNs in 8,000). A stride within a sixteenth
 * of the range from 0 keeps its candidates in one stretch, which a stretch
 * of marked tuples (below) caught whole (tests/e2e/09: 1-2 SYNs in 240):
 * strides are drawn from the rest.
 *
 * avoid_tw (a SYN without usable timestamps): a tuple marked in "tw_ts"
 * is taken only when none of the candidates is free of a mark.
 */
__noinline int mqlb_reserve_snat_port(const struct mqlb_config *cfg, struct mqlb_snat_key *sk,
				      const struct mqlb_flow_key *key, int avoid_tw, __u64 now)
{
	__u32 start, stride = 1;
	__be16 fallback = 0;
	int err = -EEXIST;
	__u32 i, range;

	if (!cfg || !sk || !key || cfg->snat_port_min == 0 || cfg->snat_port_min > cfg->snat_port_max)
		return -EINVAL;
	range = (__u32)cfg->snat_port_max - cfg->snat_port_min + 1;
	start = bpf_get_prandom_u32() % range;
	if (range > MQLB_SNAT_TRIES) {
		/*
		 * The first coprime stride from a random one in [range/16,
		 * range - range/16) on: among 8 neighbours there is one for any
		 * range up to 65,535 but the rarest. Else 1.
		 */
		__u32 k, lo = range / 16, c = lo + bpf_get_prandom_u32() % (range - 2 * lo);

		for (k = 0; k < 8; k++, c = c + 1 < range - lo ? c + 1 : lo) {
			if (gcd16(range, c) == 1) {
				stride = c;
				break;
			}
		}
	}

	/* A range no larger than the tries is tried once through. */
	for (i = 0; i < MQLB_SNAT_TRIES && i < range; i++) {
		__u16 port = cfg->snat_port_min + (start + i * stride) % range;

		sk->snat_port_be = bpf_htons(port);
		err = bpf_map_update_elem(&snat, sk, key, BPF_NOEXIST);
		if (err == -EEXIST)
			continue;
		if (err)
			break;
		if (!avoid_tw || !tw_ts_marked(sk, now))
			goto got_one;
		/* A SYN without timestamps: keep the first marked one in case no other is free. */
		stat_inc(MQLB_STAT_SNAT_TW_AVOIDED);
		if (!fallback) {
			fallback = sk->snat_port_be;
			continue;
		}
		bpf_map_delete_elem(&snat, sk);
	}
	if (!fallback)
		return err;
	sk->snat_port_be = fallback;
	stat_inc(MQLB_STAT_SNAT_TW_FALLBACK);
	return 0;

got_one:
	if (fallback) {
		__be16 mine = sk->snat_port_be;

		sk->snat_port_be = fallback;
		bpf_map_delete_elem(&snat, sk);
		sk->snat_port_be = mine;
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Incremental Internet checksum updates (RFC 1624, eqn. 3:
 * HC' = ~(~HC + ~m + m')). Ones' complement sums do not care about byte
 * order as long as every word is taken the same way, so the raw network
 * order values are used as they sit in the packet.
 */
#ifndef MQLB_BPF_CSUM_H
#define MQLB_BPF_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u16 csum16_add(__u16 a, __u16 b)
{
	__u32 r = (__u32)a + b;

	return (__u16)(r + (r >> 16));
}

static __always_inline void csum_replace2(__u16 *sum, __u16 from, __u16 to)
{
	*sum = ~csum16_add(csum16_add(~*sum, ~from), to);
}

static __always_inline void csum_replace4(__u16 *sum, __u32 from, __u32 to)
{
	csum_replace2(sum, (__u16)(from >> 16), (__u16)(to >> 16));
	csum_replace2(sum, (__u16)from, (__u16)to);
}

/* The TCP pseudo-header (RFC 793 3.1), summed before the segment. */
struct pseudo_hdr {
	__be32 saddr;
	__be32 daddr;
	__u8 zero;
	__u8 proto;
	__be16 len;
};

/* Fold a bpf_csum_diff() sum and complement it: the checksum field's value. */
static __always_inline __u16 csum_fold64(__s64 csum)
{
	__u64 s = (__u64)csum;

	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

#endif

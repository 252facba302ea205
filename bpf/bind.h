/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Delayed binding: the segments the balancer writes itself (bind.bpf.c)
 * and the translation of every later one (xlate.bpf.c), for `balance
 * client-id` and backends that get a PROXY v2 header.
 *
 *   client SYN        answered with a SYN cookie (the kernel's, by
 *                     bpf_tcp_raw_gen_syncookie_ipv4); no state at all
 *   client ACK        a valid cookie makes the flow (BIND_CONNECT)
 *   first data        the CONNECT: its client id picks the backend; the
 *                     bytes wait in "stash"; the segment itself becomes
 *                     the backend's SYN, with the client's ISN (BIND_SYNACK)
 *   backend SYN-ACK   becomes the ACK that carries the PROXY header and the
 *                     stashed bytes back to the backend (XLATE)
 *   later segments    translated: the backend's sequence numbers and
 *                     timestamps are offset from what the client was told,
 *                     the client's from what the backend sees by the PROXY
 *                     header's length; SACK blocks likewise; the backend's
 *                     window rescaled to the scale the client was told
 *
 * Options the cookie cannot carry ride in the low 8 bits of the SYN-ACK's
 * TSval (MQLB_SYNOPT_*), which the client echoes; a client without
 * timestamps gets a SYN-ACK with the MSS only, and its backend connection
 * MSS 536, no window scale and no SACK.
 */
#ifndef MQLB_BPF_BIND_H
#define MQLB_BPF_BIND_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include "mqlb_abi.h"

#define BIND_FRAME_MAX (ETH_HLEN + 20 + 60 + MQLB_PROXY_V2_LEN + MQLB_STASH_MAX)

/* A segment the balancer writes from scratch: addresses, ports, numbers, flags. */
struct bind_seg {
	__u8 smac[ETH_ALEN];
	__u8 dmac[ETH_ALEN];
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 seq;
	__u32 ack;
	__u16 window;             /* as written, host order */
	__u8 flags;               /* TCP flag byte 13 */
	__u8 syn_opts;            /* MQLB_SYNOPT_*: the options to write (SYN, SYN-ACK) */
	__u16 mss;                /* SYN, SYN-ACK */
	__u8 wscale;              /* the window scale to announce (SYN, SYN-ACK) */
	__u8 has_ts;
	__u32 tsval;
	__u32 tsecr;
	__u32 proxy_len;          /* PROXY v2 header (ACK with data): MQLB_PROXY_V2_LEN or 0 */
	__be32 proxy_src;         /* the client's address and port, the VIP's */
	__be32 proxy_dst;
	__be16 proxy_sport;
	__be16 proxy_dport;
};

/* Where a segment the balancer writes goes: from smac, saddr:sport to dmac, daddr:dport. */
static __always_inline void bind_seg_ends(struct bind_seg *s, const __u8 *smac, const __u8 *dmac,
					  __be32 saddr, __be16 sport, __be32 daddr, __be16 dport)
{
	__builtin_memcpy(s->smac, smac, ETH_ALEN);
	__builtin_memcpy(s->dmac, dmac, ETH_ALEN);
	s->saddr = saddr;
	s->daddr = daddr;
	s->sport = sport;
	s->dport = dport;
}

/*
 * The client's SYN, in place, turned into the balancer's SYN-ACK with a
 * cookie (bind.bpf.c). 0, or -1: the frame is to be dropped.
 */
int mqlb_cookie_synack(struct xdp_md *ctx, __u32 mss_wscale);
/* The frame, in place, made into segment s (options for a SYN when s->flags has SYN). */
int mqlb_bind_write(struct xdp_md *ctx, const struct bind_seg *s);
/*
 * The frame, in place, made into the ACK of s carrying the PROXY header and
 * the first len (st->len or 0) of st's bytes. -1 when the frame cannot grow
 * that far (a driver's buffer has only so much room past the frame), with
 * the frame as it was.
 */
int mqlb_bind_write_data(struct xdp_md *ctx, const struct bind_seg *s,
			 const struct mqlb_stash *st, __u32 len);
/*
 * Translate a segment's numbers (xlate.bpf.c): SEQ += seq_add, ACK +=
 * ack_add, SACK edges += ack_add; the window field shifted by win_shift
 * (>0: left, <0: right, clamped to 65535). 0 or -1.
 */
int mqlb_xlate(struct xdp_md *ctx, __u32 seq_add, __u32 ack_add, int win_shift);
/* The Maglev slot of the client id at frame offset off, len bytes (cid.bpf.c); -1 on error. */
int mqlb_cid_slot(struct xdp_md *ctx, __u32 off, __u32 len, __u32 seed_lo, __u32 seed_hi);

/* MSS values a cookie (and MQLB_SYNOPT's two bits) can carry, as Linux's msstab. */
static __always_inline __u16 synopt_mss(__u8 opts)
{
	switch ((opts >> MQLB_SYNOPT_MSS_SHIFT) & 3) {
	case 1:
		return 1300;
	case 2:
		return 1440;
	case 3:
		return 1460;
	default:
		return 536;
	}
}

static __always_inline __u8 synopt_mss_index(__u16 mss)
{
	return mss >= 1460 ? 3 : mss >= 1440 ? 2 : mss >= 1300 ? 1 : 0;
}

#endif

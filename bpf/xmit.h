/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sending: the verdict with its counter, out of which interface, a RST
 * built in place, and a flow's segment forwarded either way with its
 * counters and state (emit(), forward_to_backend()).
 */
#ifndef MQLB_BPF_XMIT_H
#define MQLB_BPF_XMIT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "maps.h"
#include "flow.h"
#include "reset.h"
#include "tcp_ts.h"
#include "bind.h"

#ifndef AF_INET
#define AF_INET 2
#endif

static __always_inline int verdict(int action, __u32 stat)
{
	stat_inc(stat);
	return action;
}

/* Send the frame out of ifindex: XDP_TX when it is where it came in. */
static __always_inline int xmit(struct xdp_md *ctx, __u32 ifindex)
{
	long ret;

	if (ifindex == ctx->ingress_ifindex)
		return verdict(XDP_TX, MQLB_STAT_XDP_TX);
	/* Flags 0: a missing devmap entry makes the helper return XDP_ABORTED. */
	ret = bpf_redirect_map(&tx_ports, ifindex, 0);
	if (ret != XDP_REDIRECT)
		return verdict(XDP_DROP, MQLB_STAT_DROP_NO_TX_PORT);
	return verdict(XDP_REDIRECT, MQLB_STAT_REDIRECT);
}

/*
 * Send a RST built in place back where it came from. Through the devmap
 * rather than XDP_TX: measured on veth (kernel 6.18, native mode), a frame
 * shrunk with bpf_xdp_adjust_tail and returned with XDP_TX never reached
 * the peer, while the same frame redirected to the ingress device did.
 */
static __always_inline int rst_back(struct xdp_md *ctx, struct pkt *p, __u32 stat)
{
	int action = reply_rst(ctx, p);

	if (action != XDP_TX)
		return verdict(action, MQLB_STAT_DROP_BAD_IP);
	stat_inc(stat);
	/* Flags XDP_TX: should the ingress device be missing from the devmap, fall back to it. */
	return (int)bpf_redirect_map(&tx_ports, ctx->ingress_ifindex, XDP_TX);
}

/*
 * Send a rewritten segment of flow f, either way. Counters and flow state
 * change only once the packet is sure to leave: a segment dropped for want
 * of a next hop or a devmap entry must not count as forwarded, nor its FIN
 * close the flow. A segment that may not change the flow (track false: a
 * SYN on a live flow, a RST that is not exact) leaves its state alone.
 */
static __always_inline int emit(struct xdp_md *ctx, struct pkt *p, struct mqlb_flow *f,
				bool to_backend, __u32 bits, bool track, const __u8 *smac,
				const __u8 *dmac, __u32 ifindex, __u64 now)
{
	int action;

	__builtin_memcpy(p->eth->h_source, smac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_dest, dmac, ETH_ALEN);
	action = xmit(ctx, ifindex);
	if (action == XDP_DROP)
		return action;
	if (track)
		flow_note_tcp(f, p, to_backend, bits, now);
	backend_count(f->backend_id, to_backend, p->ip_len);
	stat_inc(to_backend ? MQLB_STAT_FWD_TO_BACKEND : MQLB_STAT_FWD_TO_CLIENT);
	return action;
}

/*
 * The next hop toward the flow's backend: from the flow's cache while it is
 * fresh, else from bpf_fib_lookup (then cached). The cache is written by
 * whichever CPU refreshes it; a flow's packets in one direction normally
 * stay on one CPU (RSS), and a racing writer stores the same values.
 */
static __always_inline long backend_nexthop(struct xdp_md *ctx, struct pkt *p,
					    struct mqlb_flow *f, __u64 now)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	if (f->nh_ns && (__s64)(now - f->nh_ns) < (__s64)MQLB_NEXTHOP_TTL_NS)
		return BPF_FIB_LKUP_RET_SUCCESS;
	fib.family = AF_INET;
	fib.tos = p->ip->tos;
	fib.l4_protocol = IPPROTO_TCP;
	fib.tot_len = p->ip_len;
	fib.sport = f->snat_port_be;
	fib.dport = f->backend_port_be;
	fib.ipv4_src = f->snat_addr_be;
	fib.ipv4_dst = f->backend_addr_be;
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		f->nh_ns = 0;
		return rc;
	}
	f->nh_ifindex = fib.ifindex;
	__builtin_memcpy(f->nh_smac, fib.smac, ETH_ALEN);
	__builtin_memcpy(f->nh_dmac, fib.dmac, ETH_ALEN);
	f->nh_ns = now;
	return rc;
}

/*
 * The clock of an established flow's packets: last seen (250 ms apart) and
 * the next hop's age (1 s) need no better than the coarse clock's tick
 * (a jiffy), which costs a load where bpf_ktime_get_ns() reads the clock
 * source: measured here (a VM), most of the window checks' cost won back.
 * New flows and the timestamps' checks keep the fine clock.
 */
static __always_inline __u64 packet_clock(void)
{
	return bpf_ktime_get_coarse_ns();
}

static __always_inline int forward_to_backend(struct xdp_md *ctx, struct pkt *p,
					      struct mqlb_flow *f, __u32 bits, bool track)
{
	__u64 now = packet_clock();
	long rc;

	rc = backend_nexthop(ctx, p, f, now);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return verdict(XDP_DROP, MQLB_STAT_DROP_NO_NEIGH);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return verdict(XDP_DROP, MQLB_STAT_DROP_FIB);

	rewrite_tuple(p, f->snat_addr_be, f->backend_addr_be, f->snat_port_be, f->backend_port_be);
	/* A bound flow: into the backend connection's numbers (bind.h). */
	if ((f->tcp_flags & MQLB_FLOW_XLATE) && mqlb_xlate(ctx, f->proxy_len, f->seq_delta, 0))
		return verdict(XDP_DROP, MQLB_STAT_DROP_BAD_DOFF);
	if (f->tcp_flags & MQLB_FLOW_TS_SHIFT)
		bits |= ts_to_backend(ctx, p, f);
	return emit(ctx, p, f, true, bits, track, f->nh_smac, f->nh_dmac, f->nh_ifindex, now);
}

#endif

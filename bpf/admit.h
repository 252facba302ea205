/* SPDX-License-Identifier: GPL-2.0 */
/*
 * New flows: a SYN's backend, SNAT port and record (new_flow()), room made
 * for it under a flood (make_room()), and a closed flow's tuple given to a
 * new connection (flow_recycle()).
 */
#ifndef MQLB_BPF_ADMIT_H
#define MQLB_BPF_ADMIT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "maps.h"
#include "flow.h"
#include "tcp_ts.h"
#include "tcp_window.h"
#include "xmit.h"

/*
 * No SNAT port (-EEXIST) or no table slot (-E2BIG) for a new flow: evict
 * the oldest half-open one (evict.bpf.c). Out of ports, the new flow takes
 * the victim's tuple, and so its backend: under a flood round-robin gives
 * way to the flood's order, not the clients'. Out of slots, it looks for
 * a port again.
 */
static __always_inline long make_room(const struct mqlb_config *cfg, struct mqlb_snat_key *sk,
				      const struct mqlb_flow_key *key, __u32 *id, long err,
				      bool avoid_tw, __u64 now)
{
	struct mqlb_snat_key freed = {};
	struct mqlb_backend *be;
	__u32 vid = 0;

	if (mqlb_evict_half_open(cfg, &freed, &vid))
		return err;
	if (err != -EEXIST)
		return mqlb_reserve_snat_port(cfg, sk, key, avoid_tw, now);
	be = bpf_map_lookup_elem(&backends, &vid);
	if (!be || be->state != MQLB_BE_UP || be->addr_be != freed.backend_addr_be ||
	    be->port_be != freed.backend_port_be || freed.snat_addr_be != cfg->snat_addr_be ||
	    bpf_map_update_elem(&snat, &freed, key, BPF_NOEXIST))
		return err;
	*sk = freed;
	*id = vid;
	return 0;
}

/*
 * A SYN with no live flow: choose the backend, admit the source, reserve
 * the SNAT port, then publish the flow. The reverse entry goes in first
 * so that a reply can never arrive for a flow whose port is not reserved.
 */
static __always_inline int new_flow(struct xdp_md *ctx, struct pkt *p,
				    const struct mqlb_config *cfg, const struct mqlb_flow_key *key)
{
	struct mqlb_snat_key sk = {}, spare = {};
	__u32 id = 0, drop, spare_id = 0, zero = 0;
	struct mqlb_backend *be;
	struct mqlb_flow *f, *nf;
	bool shift, counted;
	__be32 *ts;
	__u64 now;
	long err;

	/* No backend up: a RST lets the client fail fast rather than retry SYNs. */
	if (pick_backend(cfg, &id))
		return rst_back(ctx, p, MQLB_STAT_RESET_NO_BACKEND);
	be = bpf_map_lookup_elem(&backends, &id);
	if (!be)
		return rst_back(ctx, p, MQLB_STAT_RESET_NO_BACKEND);
	now = bpf_ktime_get_ns();
	drop = src_admit(cfg, key->client_addr_be, now, &counted);
	if (drop)
		return verdict(XDP_DROP, drop);

	/* Timestamps to shift: one option, TSval not 0 (bpf/tcp_ts.h). */
	ts = NULL;
	shift = tcp_ts_find(ctx, p, &ts) == TS_FOUND && ts && *ts;

	sk.backend_addr_be = be->addr_be;
	sk.backend_port_be = be->port_be;
	sk.snat_addr_be = cfg->snat_addr_be;
	err = mqlb_reserve_snat_port(cfg, &sk, key, !shift, now);
	if (err == -EEXIST || err == -E2BIG)
		err = make_room(cfg, &sk, key, &id, err, !shift, now);
	if (err) {
		if (counted)
			src_release(key->client_addr_be);
		return verdict(XDP_DROP, err == -EEXIST ? MQLB_STAT_DROP_SNAT_EXHAUSTED :
							  MQLB_STAT_DROP_TABLE_FULL);
	}

	nf = bpf_map_lookup_elem(&flow_scratch, &zero);
	if (!nf) {
		bpf_map_delete_elem(&snat, &sk);
		if (counted)
			src_release(key->client_addr_be);
		return verdict(XDP_DROP, MQLB_STAT_DROP_TABLE_FULL);
	}
	__builtin_memset(nf, 0, sizeof(*nf));
	nf->created_ns = now;
	nf->last_ns = now;
	nf->backend_addr_be = sk.backend_addr_be;
	nf->backend_port_be = sk.backend_port_be;
	nf->snat_addr_be = cfg->snat_addr_be;
	nf->snat_port_be = sk.snat_port_be;
	nf->backend_id = (__u16)id;
	nf->cli_ifindex = ctx->ingress_ifindex;
	nf->tcp_flags = MQLB_FLOW_SYN | (counted ? MQLB_FLOW_SRC_COUNTED : 0);
	nf->client_isn = bpf_ntohl(p->tcp->seq);
	window_init_client(ctx, p, nf);
	if (shift && ts) {
		/* This flow's TSvals start at the balancer's clock. */
		nf->ts_off = ts_clock(now) - bpf_ntohl(*ts);
		nf->tcp_flags |= MQLB_FLOW_TS_SHIFT;
	}
	__builtin_memcpy(nf->cli_mac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(nf->lb_mac, p->eth->h_dest, ETH_ALEN);

	err = bpf_map_update_elem(&flows, key, nf, BPF_NOEXIST);
	/* "flows" can fill before "snat" (retired flows hold a slot each). */
	if (err == -E2BIG && !mqlb_evict_half_open(cfg, &spare, &spare_id))
		err = bpf_map_update_elem(&flows, key, nf, BPF_NOEXIST);
	if (err) {
		bpf_map_delete_elem(&snat, &sk);
		if (counted)
			src_release(key->client_addr_be);
		if (err != -EEXIST)
			return verdict(XDP_DROP, MQLB_STAT_DROP_TABLE_FULL);
		/* Another CPU created the flow for a retransmitted SYN first: follow it. */
		stat_inc(MQLB_STAT_FLOW_RACE);
		f = bpf_map_lookup_elem(&flows, key);
		if (!f)
			return verdict(XDP_DROP, MQLB_STAT_DROP_NO_FLOW);
		return forward_to_backend(ctx, p, f, 0, false);
	}
	f = bpf_map_lookup_elem(&flows, key);
	if (!f) /* removed under us; the client's SYN retransmission will retry */
		return verdict(XDP_DROP, MQLB_STAT_DROP_NO_FLOW);
	embryo_push(cfg, key, now);
	stat_inc(MQLB_STAT_FLOW_NEW);
	if (nf->tcp_flags & MQLB_FLOW_TS_SHIFT)
		stat_inc(MQLB_STAT_FLOW_TS_SHIFTED);
	backend_flow_new((__u32)nf->backend_id);
	return forward_to_backend(ctx, p, f, 0, true);
}

/*
 * Forget a closed flow so that a new SYN on the same client tuple starts
 * afresh. One whose backend still waits for the collector's RST is moved
 * to its SNAT tuple's key instead (MQLB_FLOW_RETIRED), keeping its port
 * reserved: a client reusing its source port at once (a Linux client that
 * closed second holds no TIME_WAIT) must not take the RST away from a
 * broker in TIME_WAIT.
 */
static __always_inline void flow_recycle(const struct mqlb_flow_key *key, struct mqlb_flow *f)
{
	struct mqlb_snat_key sk = flow_snat_key(f);
	struct mqlb_flow_key rk = {
		.client_addr_be = f->backend_addr_be,
		.vip_addr_be = f->snat_addr_be,
		.client_port_be = f->backend_port_be,
		.vip_port_be = f->snat_port_be,
	};
	struct mqlb_flow *r;

	stat_inc(MQLB_STAT_FLOW_RECYCLED);
	/* The client's flow ends here, whether or not its record lives on retired. */
	if (f->tcp_flags & MQLB_FLOW_SRC_COUNTED)
		src_release(key->client_addr_be);
	if (MQLB_FLOW_BACKEND_RST_DUE(f->tcp_flags) &&
	    !bpf_map_update_elem(&flows, &rk, f, BPF_NOEXIST)) {
		r = bpf_map_lookup_elem(&flows, &rk);
		if (r) {
			__sync_fetch_and_or(&r->tcp_flags, MQLB_FLOW_RETIRED);
			__sync_fetch_and_and(&r->tcp_flags, ~MQLB_FLOW_SRC_COUNTED);
		}
		bpf_map_update_elem(&snat, &sk, &rk, BPF_EXIST);
		bpf_map_delete_elem(&flows, key);
		return;
	}
	tw_ts_mark(f, bpf_ktime_get_ns());
	bpf_map_delete_elem(&snat, &sk);
	bpf_map_delete_elem(&flows, key);
}

#endif

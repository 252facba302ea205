// SPDX-License-Identifier: GPL-2.0
/*
 * mqlb XDP data plane, fullnat mode.
 *
 *   client -> VIP:port     SYN: pick a backend round-robin, reserve a SNAT
 *                          port, record the flow; then every packet is
 *                          rewritten to SNAT:port -> backend and forwarded.
 *   backend -> SNAT:port   looked up in "snat", rewritten to VIP -> client
 *                          and sent back out the interface the SYN came in.
 *   anything else          XDP_PASS, untouched (ARP, ICMP, other ports, the
 *                          balancer's own connections).
 *
 * The first client payload of a flow is read as an MQTT CONNECT (mqtt.h);
 * with the strict option a flow whose first payload is not one is reset,
 * both ways (refuse_flow()).
 *
 * Every decision other than forwarding is counted by reason in "stats".
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "mqlb_abi.h"
#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "flow.h"
#include "reset.h"
#include "mqtt.h"
#include "tcp_ts.h"

#define AF_INET 2

char LICENSE[] SEC("license") = "GPL";

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
	if (f->tcp_flags & MQLB_FLOW_TS_SHIFT)
		bits |= ts_to_backend(ctx, p, f);
	return emit(ctx, p, f, true, bits, track, f->nh_smac, f->nh_dmac, f->nh_ifindex, now);
}

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
	__u32 id = 0, drop, spare_id = 0;
	struct mqlb_flow nf = {};
	struct mqlb_backend *be;
	struct mqlb_flow *f;
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

	nf.created_ns = now;
	nf.last_ns = now;
	nf.backend_addr_be = sk.backend_addr_be;
	nf.backend_port_be = sk.backend_port_be;
	nf.snat_addr_be = cfg->snat_addr_be;
	nf.snat_port_be = sk.snat_port_be;
	nf.backend_id = (__u16)id;
	nf.cli_ifindex = ctx->ingress_ifindex;
	nf.tcp_flags = MQLB_FLOW_SYN | (counted ? MQLB_FLOW_SRC_COUNTED : 0);
	nf.client_isn = bpf_ntohl(p->tcp->seq);
	window_init_client(ctx, p, &nf);
	if (shift && ts) {
		/* This flow's TSvals start at the balancer's clock. */
		nf.ts_off = ts_clock(now) - bpf_ntohl(*ts);
		nf.tcp_flags |= MQLB_FLOW_TS_SHIFT;
	}
	__builtin_memcpy(nf.cli_mac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(nf.lb_mac, p->eth->h_dest, ETH_ALEN);

	err = bpf_map_update_elem(&flows, key, &nf, BPF_NOEXIST);
	/* "flows" can fill before "snat" (retired flows hold a slot each). */
	if (err == -E2BIG && !mqlb_evict_half_open(cfg, &spare, &spare_id))
		err = bpf_map_update_elem(&flows, key, &nf, BPF_NOEXIST);
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
	if (nf.tcp_flags & MQLB_FLOW_TS_SHIFT)
		stat_inc(MQLB_STAT_FLOW_TS_SHIFTED);
	backend_flow_new((__u32)nf.backend_id);
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

/*
 * on-down reset (the default): a flow whose backend is down, or was
 * removed (its slot empty or given to another address), is ended so that
 * its MQTT client reconnects to a backend that is up.
 */
static __always_inline bool backend_gone(const struct mqlb_config *cfg, const struct mqlb_flow *f)
{
	__u32 id = f->backend_id;
	struct mqlb_backend *be;

	if (cfg->flags & MQLB_CFG_KEEP_ON_DOWN)
		return false;
	be = bpf_map_lookup_elem(&backends, &id);
	if (!be)
		return false;
	return be->state == MQLB_BE_DOWN || be->state == MQLB_BE_EMPTY ||
	       be->addr_be != f->backend_addr_be || be->port_be != f->backend_port_be;
}

/*
 * Judge the first client payload of a flow as an MQTT CONNECT and record
 * what it says. The first payload is the segment at the client's ISN + 1,
 * not merely the first one with data to arrive: a segment reordered ahead
 * of it, or data of a flow adopted from an older program that kept no ISN,
 * is never taken for the CONNECT. (TCP Fast Open data in the SYN is not
 * parsed: the flow then stays unjudged.) Returns true when strict mode
 * must refuse the flow: malformed or not MQTT. A SPLIT CONNECT is never
 * refused: its rest may well be valid, and the broker validates it anyway.
 */
static __always_inline bool mqtt_first_payload(struct xdp_md *ctx, struct pkt *p,
					       const struct mqlb_config *cfg, struct mqlb_flow *f)
{
	struct tcphdr *tcp = p->tcp;
	__u32 hlen = sizeof(struct iphdr) + (__u32)tcp->doff * 4;
	struct mqtt_connect_info ci = {};

	if ((f->tcp_flags & MQLB_FLOW_PAYLOAD) || tcp->syn || tcp->rst || p->ip_len <= hlen ||
	    bpf_ntohl(tcp->seq) != f->client_isn + 1)
		return false;
	/* Both copies of a retransmitted first segment may race on two CPUs: one parses. */
	if (__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_PAYLOAD) & MQLB_FLOW_PAYLOAD)
		return false;
	/* check_ours() allows no IP options: the TCP header follows a 20-byte IP header. */
	mqtt_parse_connect(ctx, sizeof(struct ethhdr) + hlen, p->ip_len - hlen, &ci);
	switch (ci.outcome) {
	case MQLB_MQTT_PARSED:
		/* The id first and the level last: a reader that sees the level sees the rest. */
		__builtin_memcpy(f->client_id, ci.id, sizeof(f->client_id));
		f->client_id_len = ci.id_len;
		f->keepalive_s = ci.keepalive;
		f->mqtt_flags = MQLB_MQTT_PARSED | ci.flags;
		f->mqtt_level = ci.level;
		stat_inc(ci.level == 3 ? MQLB_STAT_MQTT_CONNECT_V3 :
			 ci.level == 4 ? MQLB_STAT_MQTT_CONNECT_V4 : MQLB_STAT_MQTT_CONNECT_V5);
		return false;
	case MQLB_MQTT_SPLIT:
		f->mqtt_flags = MQLB_MQTT_SPLIT;
		stat_inc(MQLB_STAT_MQTT_CONNECT_SPLIT);
		return false;
	case MQLB_MQTT_MALFORMED:
		f->mqtt_flags = MQLB_MQTT_MALFORMED;
		stat_inc(MQLB_STAT_MQTT_CONNECT_MALFORMED);
		break;
	default:
		f->mqtt_flags = MQLB_MQTT_NOT_MQTT;
		stat_inc(MQLB_STAT_MQTT_NOT_MQTT);
		break;
	}
	return cfg->flags & MQLB_CFG_STRICT;
}

/*
 * strict: end a flow whose first payload is not a CONNECT, on both sides.
 * XDP sends one frame per packet, and the broker's side matters most: a
 * RST to the client alone left the broker holding an established socket
 * that waits for a CONNECT (mosquitto 2.0.11 here: still open 22 s later,
 * with no end in sight, while it closes on garbage at once). So this
 * segment goes on to the backend turned into a RST: its SEQ is the
 * client's ISN + 1, exactly the broker's RCV.NXT since nothing was
 * forwarded before it, so RFC 5961's check accepts it, and the payload it
 * still carries is discarded with it (RFC 1122 section 4.2.2.12 allows
 * data in a RST). The client, whose segment is never acknowledged, sends
 * again within one retransmission timeout and gets its RST then.
 */
static __always_inline int refuse_flow(struct xdp_md *ctx, struct pkt *p, struct mqlb_flow *f)
{
	struct tcphdr *tcp = p->tcp;
	/* The 16-bit word of data offset and flags, as the checksum sees it. */
	__u16 *word = (__u16 *)((__u8 *)tcp + 12);
	__u16 old = *word;

	__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_REFUSED);
	stat_inc(MQLB_STAT_MQTT_STRICT_RESET);
	tcp->rst = 1;
	tcp->psh = 0;
	tcp->fin = 0;
	csum_replace2(&tcp->check, old, *word);
	return forward_to_backend(ctx, p, f, MQLB_FLOW_RST, true);
}

/*
 * A client SYN on a tuple that has a flow. A closed flow (or one whose
 * backend is gone) makes way for the new connection. A live one is never
 * balanced anew nor changed: its retransmitted SYN goes on as the first
 * did, and any other SYN goes to its backend untouched, which answers
 * with a challenge ACK (RFC 5961 4.2): a client that lost its connection
 * then resets it at the exact sequence number, and an attacker's SYN only
 * reaches the real client as an ACK it ignores.
 */
static __always_inline int client_syn(struct xdp_md *ctx, struct pkt *p,
				      const struct mqlb_config *cfg,
				      const struct mqlb_flow_key *key, struct mqlb_flow *f)
{
	if (MQLB_FLOW_CLOSED(f->tcp_flags) || backend_gone(cfg, f)) {
		flow_recycle(key, f);
		return new_flow(ctx, p, cfg, key);
	}
	stat_inc(bpf_ntohl(p->tcp->seq) == f->client_isn ? MQLB_STAT_FLOW_SYN_RETRANS :
							   MQLB_STAT_FLOW_SYN_CHALLENGE);
	return forward_to_backend(ctx, p, f, 0, false);
}

/* The verdict for a segment the window check refused. */
static __always_inline int out_of_window(const struct pkt *p)
{
	return verdict(XDP_DROP, p->tcp->rst ? MQLB_STAT_DROP_RST_OUT_OF_WINDOW :
					       MQLB_STAT_DROP_OUT_OF_WINDOW);
}

static __always_inline int from_client(struct xdp_md *ctx, struct pkt *p,
				       const struct mqlb_config *cfg)
{
	struct tcphdr *tcp = p->tcp;
	struct mqlb_flow_key key = {
		.client_addr_be = p->ip->saddr,
		.vip_addr_be = p->ip->daddr,
		.client_port_be = tcp->source,
		.vip_port_be = tcp->dest,
	};
	struct mqlb_flow *f;
	int v;

	f = bpf_map_lookup_elem(&flows, &key);
	if (!f) {
		/* Without a flow the local stack would answer with a RST. */
		if (!tcp->syn || tcp->ack)
			return verdict(XDP_DROP, MQLB_STAT_DROP_NO_FLOW);
		return new_flow(ctx, p, cfg, &key);
	}
	if (tcp->syn && !tcp->ack)
		return client_syn(ctx, p, cfg, &key, f);
	/* From here on, only a segment in the window may change anything. */
	v = window_check(p, f, MQLB_SIDE_CLIENT);
	if (v == SEG_DROP)
		return out_of_window(p);
	if (v == SEG_RST_CHALLENGE) {
		stat_inc(MQLB_STAT_PASS_RST_IN_WINDOW);
		return forward_to_backend(ctx, p, f, 0, false);
	}
	if (backend_gone(cfg, f)) {
		/*
		 * Never a RST for a RST (RFC 793): the client's own RST (say, to
		 * the daemon's second probe, after ours closed it) ends here, and
		 * must not overwrite the broker's RCV.NXT taken from the segment
		 * that was answered first.
		 */
		if (tcp->rst)
			return verdict(XDP_DROP, MQLB_STAT_DROP_NO_FLOW);
		if (!(f->tcp_flags & MQLB_FLOW_BACKEND_LOST))
			f->reset_seq = bpf_ntohl(tcp->seq);
		__sync_fetch_and_or(&f->tcp_flags,
				    MQLB_FLOW_RST | MQLB_FLOW_RESET_SENT | MQLB_FLOW_BACKEND_LOST);
		return rst_back(ctx, p, MQLB_STAT_RESET_BACKEND_DOWN);
	}
	/* Never a RST for a RST (RFC 793): that one just follows the flow. */
	if ((f->tcp_flags & MQLB_FLOW_REFUSED) && !tcp->rst) {
		__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_RESET_SENT);
		return rst_back(ctx, p, MQLB_STAT_RESET_REFUSED);
	}
	if (mqtt_first_payload(ctx, p, cfg, f))
		return refuse_flow(ctx, p, f);
	return forward_to_backend(ctx, p, f, v == SEG_RST_CLOSE ? MQLB_FLOW_RST : 0, true);
}

static __always_inline bool backend_addr_known(__be32 addr)
{
	return bpf_map_lookup_elem(&backend_addrs, &addr) != NULL;
}

static __always_inline int from_backend(struct xdp_md *ctx, struct pkt *p,
					const struct mqlb_config *cfg)
{
	struct tcphdr *tcp = p->tcp;
	struct mqlb_snat_key sk = {
		.backend_addr_be = p->ip->saddr,
		.snat_addr_be = p->ip->daddr,
		.backend_port_be = tcp->source,
		.snat_port_be = tcp->dest,
	};
	struct mqlb_flow_key *ck;
	struct mqlb_flow *f;
	int v;

	ck = bpf_map_lookup_elem(&snat, &sk);
	if (!ck) {
		/* A backend's late segment goes to the kernel, which resets it; nobody else's. */
		if (!backend_addr_known(p->ip->saddr))
			return verdict(XDP_DROP, MQLB_STAT_DROP_NOT_BACKEND);
		return verdict(XDP_PASS, MQLB_STAT_PASS_NO_FLOW_REPLY);
	}
	f = bpf_map_lookup_elem(&flows, ck);
	/* A retired flow (its key is not the client's) has no client to go to. */
	if (!f || f->snat_port_be != sk.snat_port_be || (f->tcp_flags & MQLB_FLOW_RETIRED))
		return verdict(XDP_PASS, MQLB_STAT_PASS_NO_FLOW_REPLY);

	/*
	 * Before the backend's SYN-ACK, its SYN-ACK opens its side. A bare ACK
	 * means the backend still holds another connection on this tuple (a
	 * half-open flow evicted under a flood, whose SYN it answered): the
	 * client would reset it at the ACK's number (RFC 793, SYN-SENT), so
	 * the data plane does, and the client's SYN retransmission then gets
	 * through. Anything else goes to the window check's half-open rules.
	 */
	if (f->tcp_flags & MQLB_FLOW_SYNACK)
		v = window_check(p, f, MQLB_SIDE_BACKEND);
	else if (tcp->syn && tcp->ack)
		v = window_synack(ctx, p, f);
	else if (tcp->ack && !tcp->syn && !tcp->rst && !tcp->fin)
		return rst_back(ctx, p, MQLB_STAT_RESET_STALE_BACKEND);
	else
		v = window_check(p, f, MQLB_SIDE_BACKEND);
	if (v == SEG_DROP)
		return out_of_window(p);
	if (v == SEG_RST_CHALLENGE)
		stat_inc(MQLB_STAT_PASS_RST_IN_WINDOW);

	rewrite_tuple(p, ck->vip_addr_be, ck->client_addr_be, ck->vip_port_be, ck->client_port_be);
	if (f->tcp_flags & MQLB_FLOW_TS_SHIFT)
		ts_to_client(ctx, p, f);
	return emit(ctx, p, f, false, v == SEG_RST_CLOSE ? MQLB_FLOW_RST : 0,
		    v != SEG_RST_CHALLENGE, f->lb_mac, f->cli_mac, f->cli_ifindex, packet_clock());
}

/*
 * Each side only from its own interface: VIP:port on `interface`, the
 * SNAT range on `backend-interface`, so that a segment forged with a
 * backend's address cannot come in from the clients' side, nor a client's
 * from the backends'.
 */
static __always_inline bool wrong_iface(const struct xdp_md *ctx, const struct mqlb_config *cfg,
					bool to_vip)
{
	__u32 want = to_vip ? cfg->cli_ifindex : cfg->be_ifindex;

	return want && ctx->ingress_ifindex != want;
}

SEC("xdp")
int mqlb_xdp(struct xdp_md *ctx)
{
	struct mqlb_config *cfg;
	struct pkt p = {};
	__u32 zero = 0, stat = 0;
	__u16 dport;
	bool to_vip, ours;

	stat_inc(MQLB_STAT_RX_PACKETS);
	switch (parse_eth_ip(ctx, &p, &stat)) {
	case PARSE_OK:
		break;
	case PARSE_PASS:
		return verdict(XDP_PASS, stat);
	default:
		return verdict(XDP_DROP, stat);
	}
	if (p.ip->protocol != IPPROTO_TCP)
		return verdict(XDP_PASS, MQLB_STAT_PASS_NON_TCP);

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !cfg->vip_addr_be || cfg->snat_port_min == 0 ||
	    cfg->snat_port_min > cfg->snat_port_max)
		return verdict(XDP_PASS, MQLB_STAT_PASS_NOT_CONFIGURED);
	to_vip = p.ip->daddr == cfg->vip_addr_be;
	if (!to_vip && p.ip->daddr != cfg->snat_addr_be)
		return verdict(XDP_PASS, MQLB_STAT_PASS_NOT_OURS);

	switch (parse_tcp(&p, &stat)) {
	case PARSE_OK:
		break;
	case PARSE_PASS:
		return verdict(XDP_PASS, stat);
	default:
		return verdict(XDP_DROP, stat);
	}
	if (to_vip) {
		ours = p.tcp->dest == cfg->vip_port_be;
	} else {
		/* Only the SNAT range can hold our flows; the balancer's own
		 * connections (ephemeral ports) go to the kernel untouched. */
		dport = bpf_ntohs(p.tcp->dest);
		ours = dport >= cfg->snat_port_min && dport <= cfg->snat_port_max;
	}
	if (!ours)
		return verdict(XDP_PASS, MQLB_STAT_PASS_NOT_OURS);
	if (wrong_iface(ctx, cfg, to_vip))
		return verdict(XDP_DROP, MQLB_STAT_DROP_WRONG_IFACE);
	/* Ours: from here on, a malformed header is dropped. */
	if (check_ours(&p, &stat) != PARSE_OK)
		return verdict(XDP_DROP, stat);
	if (to_vip)
		return from_client(ctx, &p, cfg);
	return from_backend(ctx, &p, cfg);
}

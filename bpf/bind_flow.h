/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Delayed binding's states in the XDP program (bind.h has the whole
 * picture): the client's SYN answered with a cookie, its ACK making the
 * flow, its first segment binding it to a backend, the backend's SYN-ACK
 * completing it. Only a client that returned a valid cookie costs memory:
 * a flow record, and for the backend's round trip the stashed segment.
 */
#ifndef MQLB_BPF_BIND_FLOW_H
#define MQLB_BPF_BIND_FLOW_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "admit.h"
#include "bind.h"
#include "flow.h"
#include "mqtt_record.h"
#include "xmit.h"

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_RST 0x04

/* The stash of the handshake being bound is made here: too large for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mqlb_stash);
} stash_scratch SEC(".maps");

/*
 * The segment being written and the CONNECT being read, per CPU: on the
 * stack they would leave too little of its 512 bytes for the functions
 * the program calls (the verifier adds the frames of a call chain).
 */
struct bind_scratch {
	struct bind_seg seg;
	struct mqtt_connect_info ci;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bind_scratch);
} bind_scratch SEC(".maps");

static __always_inline struct bind_scratch *bind_scratch_get(void)
{
	__u32 zero = 0;
	struct bind_scratch *sc = bpf_map_lookup_elem(&bind_scratch, &zero);

	if (sc)
		__builtin_memset(sc, 0, sizeof(*sc));
	return sc;
}

/* A SYN, delayed binding: answered with the balancer's SYN cookie, nothing kept. */
static __always_inline int cookie_syn(struct xdp_md *ctx, const struct mqlb_config *cfg)
{
	__u32 mss_ws = (__u32)cfg->synack_mss | (__u32)cfg->synack_wscale << 16;

	if (mqlb_cookie_synack(ctx, mss_ws))
		return verdict(XDP_DROP, MQLB_STAT_DROP_BAD_IP);
	stat_inc(MQLB_STAT_COOKIE_SYNACK);
	return (int)bpf_redirect_map(&tx_ports, ctx->ingress_ifindex, XDP_TX);
}

/*
 * Give up binding flow f at key: the client reset at its RCV.NXT (the
 * cookie's ISN + 1, nothing sent since), the flow closed, its stash gone.
 * The segment in hand carries the client's ACK, which that number is.
 */
static __always_inline int bind_fail(struct xdp_md *ctx, struct pkt *p,
				     const struct mqlb_flow_key *key, struct mqlb_flow *f,
				     __u32 stat)
{
	bpf_map_delete_elem(&stash, key);
	__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_RST | MQLB_FLOW_RESET_SENT);
	return rst_back(ctx, p, stat);
}

/* The backend of a bound flow: the client id's Maglev slot, else round-robin. */
static __always_inline int bind_choose(struct xdp_md *ctx, const struct mqlb_config *cfg,
				       const struct mqtt_connect_info *ci, __u32 *id,
				       __u64 *slot1)
{
	struct mqlb_backend *be;
	struct mqlb_maglev *m;
	__u32 which;
	int slot;

	*slot1 = 0;
	if ((cfg->flags & MQLB_CFG_CLIENT_ID) && ci->outcome == MQLB_MQTT_PARSED && ci->id_full) {
		slot = mqlb_cid_slot(ctx, ci->id_off, ci->id_full, (__u32)cfg->hash_seed,
				     (__u32)(cfg->hash_seed >> 32));
		which = cfg->maglev_active & 1;
		m = bpf_map_lookup_elem(&maglev, &which);
		if (m && slot >= 0 && slot < MQLB_MAGLEV_SIZE) {
			*id = m->slot[slot];
			be = *id < MQLB_MAX_BACKENDS ? bpf_map_lookup_elem(&backends, id) : NULL;
			if (be && be->state == MQLB_BE_UP) {
				*slot1 = (__u64)slot + 1;
				stat_inc(MQLB_STAT_CID_HASHED);
				return 0;
			}
		}
	}
	if (cfg->flags & MQLB_CFG_CLIENT_ID)
		stat_inc(MQLB_STAT_CID_FALLBACK);
	return pick_backend(cfg, id);
}

/* The client's first segment into the stash: 0, or -1 (too long, no room). */
static __always_inline int bind_stash(struct xdp_md *ctx, struct pkt *p,
				      const struct mqlb_flow_key *key, __u32 tsval)
{
	__u32 zero = 0, len = seg_payload(p), off;
	struct mqlb_stash *st = bpf_map_lookup_elem(&stash_scratch, &zero);

	if (!st || !len || len > MQLB_STASH_MAX)
		return -1;
	off = ETH_HLEN + sizeof(struct iphdr) + (__u32)p->tcp->doff * 4;
	st->len = (__u16)len;
	st->window = bpf_ntohs(p->tcp->window);
	st->tsval = tsval;
	__builtin_memset(st->data + MQLB_STASH_MAX, 0, 4);
	if (bpf_xdp_load_bytes(ctx, off, st->data, len))
		return -1;
	/* Zero up to the next word for the checksum (the scratch holds the last one's). */
	*(__u32 *)(st->data + (len & ~3U)) &= bpf_htonl(~(0xffffffffU >> (8 * (len & 3))));
	return bpf_map_update_elem(&stash, key, st, BPF_ANY) ? -1 : 0;
}

/*
 * The frame in hand made into the backend's SYN of bound flow f: the
 * client's ISN, what the client's SYN offered as its cookie kept it, and
 * its first segment's TSval (tsval, 0: none) in the balancer's clock.
 */
static __always_inline int bind_write_syn(struct xdp_md *ctx, const struct mqlb_flow *f,
					  struct bind_seg *s, __u32 tsval)
{
	bind_seg_ends(s, f->nh_smac, f->nh_dmac, f->snat_addr_be, f->snat_port_be,
		      f->backend_addr_be, f->backend_port_be);
	s->seq = f->client_isn;
	s->flags = TCP_FLAG_SYN;
	s->window = 65535;
	s->syn_opts = f->syn_opts;
	s->mss = synopt_mss(f->syn_opts);
	s->wscale = f->syn_opts & MQLB_SYNOPT_WSCALE;
	s->has_ts = tsval != 0;
	s->tsval = tsval + f->ts_off;
	return mqlb_bind_write(ctx, s);
}

/*
 * The client's first segment of a flow in BIND_CONNECT: read its CONNECT,
 * choose the backend, reserve the SNAT port, keep the bytes, and turn the
 * segment into the backend's SYN, with the client's ISN.
 */
static __always_inline int bind_connect(struct xdp_md *ctx, struct pkt *p,
					const struct mqlb_config *cfg,
					const struct mqlb_flow_key *key, struct mqlb_flow *f)
{
	struct bind_scratch *sc = bind_scratch_get();
	struct mqlb_snat_key sk = {};
	struct mqlb_backend *be;
	__u32 id = 0, chosen, tsval = 0;
	__be32 *ts = NULL;
	__u64 slot1 = 0, now = bpf_ktime_get_ns();
	struct bind_seg *s;
	long err, rc;
	bool refuse;

	if (!sc)
		return verdict(XDP_DROP, MQLB_STAT_DROP_BIND_PENDING);
	s = &sc->seg;
	/* Claimed once, as mqtt_first_payload() does: a retransmission is not bound twice. */
	if (__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_PAYLOAD) & MQLB_FLOW_PAYLOAD)
		return verdict(XDP_DROP, MQLB_STAT_DROP_BIND_PENDING);
	refuse = mqtt_judge(ctx, p, f, &sc->ci) && (cfg->flags & MQLB_CFG_STRICT);
	if (refuse)
		return bind_fail(ctx, p, key, f, MQLB_STAT_MQTT_STRICT_RESET);
	if (bind_choose(ctx, cfg, &sc->ci, &id, &slot1))
		return bind_fail(ctx, p, key, f, MQLB_STAT_RESET_NO_BACKEND);
	be = bpf_map_lookup_elem(&backends, &id);
	if (!be)
		return bind_fail(ctx, p, key, f, MQLB_STAT_RESET_NO_BACKEND);
	if ((f->syn_opts & MQLB_SYNOPT_TS) && tcp_ts_find(ctx, p, &ts) == TS_FOUND && ts)
		tsval = bpf_ntohl(*ts);
	if (bind_stash(ctx, p, key, tsval))
		return bind_fail(ctx, p, key, f, MQLB_STAT_RESET_BIND_FAILED);

	sk.backend_addr_be = be->addr_be;
	sk.backend_port_be = be->port_be;
	sk.snat_addr_be = cfg->snat_addr_be;
	err = mqlb_reserve_snat_port(cfg, &sk, key, !tsval, now);
	if (err == -EEXIST || err == -E2BIG) {
		chosen = id;
		err = make_room(cfg, &sk, key, &id, err, !tsval, now);
		/* A victim's port toward another broker: not for a client its id placed. */
		if (!err && slot1 && id != chosen) {
			bpf_map_delete_elem(&snat, &sk);
			err = -EEXIST;
		}
	}
	if (err) {
		bpf_map_delete_elem(&stash, key);
		return bind_fail(ctx, p, key, f, err == -EEXIST ? MQLB_STAT_DROP_SNAT_EXHAUSTED :
								   MQLB_STAT_DROP_TABLE_FULL);
	}
	be = bpf_map_lookup_elem(&backends, &id);
	if (!be) {
		bpf_map_delete_elem(&snat, &sk);
		return bind_fail(ctx, p, key, f, MQLB_STAT_RESET_NO_BACKEND);
	}
	f->backend_addr_be = sk.backend_addr_be;
	f->backend_port_be = sk.backend_port_be;
	f->snat_addr_be = sk.snat_addr_be;
	f->snat_port_be = sk.snat_port_be;
	f->backend_id = (__u16)id;
	f->cid_slot = slot1;
	f->proxy_len = be->flags & MQLB_BACKEND_PROXY_V2 ? MQLB_PROXY_V2_LEN : 0;
	if (tsval) {
		/* This flow's TSvals start at the balancer's clock (tcp_ts.h). */
		f->ts_off = ts_clock(now) - tsval;
		__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_TS_SHIFT);
		stat_inc(MQLB_STAT_FLOW_TS_SHIFTED);
	}
	rc = backend_nexthop(ctx, p, f, packet_clock());
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		bpf_map_delete_elem(&snat, &sk);
		return bind_fail(ctx, p, key, f, rc == BPF_FIB_LKUP_RET_NO_NEIGH ?
							 MQLB_STAT_DROP_NO_NEIGH : MQLB_STAT_DROP_FIB);
	}

	__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_SYN | MQLB_FLOW_BIND_SYNACK);
	__sync_fetch_and_and(&f->tcp_flags, ~MQLB_FLOW_BIND_CONNECT);
	if (bind_write_syn(ctx, f, s, tsval))
		return verdict(XDP_DROP, MQLB_STAT_DROP_BAD_IP);
	stat_inc(MQLB_STAT_FLOW_NEW);
	stat_inc(MQLB_STAT_BIND_SYN);
	backend_flow_bound(id, cfg->flags & MQLB_CFG_CLIENT_ID, slot1 != 0);
	return xmit(ctx, f->nh_ifindex);
}

/*
 * A client ACK without a flow, delayed binding: a valid cookie makes the
 * flow (BIND_CONNECT), with what the cookie's TSval kept of the SYN.
 */
static __always_inline int cookie_ack(struct xdp_md *ctx, struct pkt *p,
				      const struct mqlb_config *cfg,
				      const struct mqlb_flow_key *key)
{
	__u32 zero = 0, spare_id = 0, opts = MQLB_SYNOPT_WSCALE;
	struct mqlb_snat_key spare = {};
	struct mqlb_flow *nf, *f;
	__be32 *ts = NULL;
	__u64 now;
	long err;

	if (p->tcp->rst || p->tcp->fin || bpf_tcp_raw_check_syncookie_ipv4(p->ip, p->tcp))
		return verdict(XDP_DROP, MQLB_STAT_DROP_BAD_COOKIE);
	if (tcp_ts_find(ctx, p, &ts) == TS_FOUND && ts &&
	    (bpf_ntohl(ts[1]) & MQLB_SYNOPT_TS))
		opts = bpf_ntohl(ts[1]) & MQLB_SYNOPT_MASK;
	nf = bpf_map_lookup_elem(&flow_scratch, &zero);
	if (!nf)
		return verdict(XDP_DROP, MQLB_STAT_DROP_TABLE_FULL);
	now = bpf_ktime_get_ns();
	__builtin_memset(nf, 0, sizeof(*nf));
	nf->created_ns = now;
	nf->last_ns = now;
	nf->backend_id = MQLB_MAX_BACKENDS; /* none yet */
	nf->cli_ifindex = ctx->ingress_ifindex;
	nf->tcp_flags = MQLB_FLOW_BIND_CONNECT;
	nf->client_isn = bpf_ntohl(p->tcp->seq) - 1;
	nf->s_isn = bpf_ntohl(p->tcp->ack_seq) - 1;
	nf->syn_opts = (__u8)opts;
	nf->s_tsval = opts & MQLB_SYNOPT_TS ? bpf_ntohl(ts[1]) : 0;
	nf->s_wscale = (opts & MQLB_SYNOPT_WSCALE) != MQLB_SYNOPT_WSCALE ? cfg->synack_wscale : 0;
	nf->wscale[MQLB_SIDE_CLIENT] = (opts & MQLB_SYNOPT_WSCALE) != MQLB_SYNOPT_WSCALE ?
					       (opts & MQLB_SYNOPT_WSCALE) : MQLB_WSCALE_NONE;
	nf->wscale[MQLB_SIDE_BACKEND] = MQLB_WSCALE_NONE;
	__builtin_memcpy(nf->cli_mac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(nf->lb_mac, p->eth->h_dest, ETH_ALEN);
	err = bpf_map_update_elem(&flows, key, nf, BPF_NOEXIST);
	if (err == -E2BIG && !mqlb_evict_half_open(cfg, &spare, &spare_id))
		err = bpf_map_update_elem(&flows, key, nf, BPF_NOEXIST);
	if (err)
		return verdict(XDP_DROP, err == -EEXIST ? MQLB_STAT_FLOW_RACE :
							  MQLB_STAT_DROP_TABLE_FULL);
	f = bpf_map_lookup_elem(&flows, key);
	if (!f)
		return verdict(XDP_DROP, MQLB_STAT_DROP_NO_FLOW);
	embryo_push(cfg, key, now);
	stat_inc(MQLB_STAT_COOKIE_ACK);
	/* Data on the handshake's ACK already: it is the first segment. */
	if (seg_payload(p))
		return bind_connect(ctx, p, cfg, key, f);
	return XDP_DROP;
}

/*
 * The client resent its first segment: the backend has not answered the
 * SYN within the client's retransmission timeout (200 ms at least). A SYN
 * lost, dropped by a backend whose accept queue was full, or a stale
 * connection on the tuple that bind_synack() just reset: the SYN goes
 * again, as the client's own retransmission would in round-robin mode,
 * at the client's pace and never more often.
 */
static __always_inline int bind_syn_again(struct xdp_md *ctx, const struct mqlb_flow_key *key,
					  struct mqlb_flow *f)
{
	struct bind_scratch *sc = bind_scratch_get();
	struct mqlb_stash *st = bpf_map_lookup_elem(&stash, key);

	if (!sc || !st)
		return verdict(XDP_DROP, MQLB_STAT_DROP_BIND_PENDING);
	/* The first SYN's TSval: the backend's TIME_WAIT and PAWS judged that one. */
	if (bind_write_syn(ctx, f, &sc->seg, st->tsval))
		return verdict(XDP_DROP, MQLB_STAT_DROP_BAD_IP);
	stat_inc(MQLB_STAT_BIND_SYN_RESENT);
	return xmit(ctx, f->nh_ifindex);
}

/*
 * A client segment of a flow not bound yet. In BIND_CONNECT its first
 * segment binds it; in BIND_SYNACK a resend of that segment sends the
 * backend's SYN again; a RST at its SND.NXT ends it. Anything else (a second segment while the
 * backend answers, say) is dropped: TCP sends it again, and once bound it
 * goes through.
 */
static __always_inline int bind_client(struct xdp_md *ctx, struct pkt *p,
				       const struct mqlb_config *cfg,
				       const struct mqlb_flow_key *key, struct mqlb_flow *f)
{
	struct tcphdr *tcp = p->tcp;
	__u32 seq = bpf_ntohl(tcp->seq);

	if (tcp->rst) {
		if (seq != f->client_isn + 1 || (f->tcp_flags & MQLB_FLOW_RST))
			return verdict(XDP_DROP, MQLB_STAT_DROP_RST_OUT_OF_WINDOW);
		__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_RST);
		bpf_map_delete_elem(&stash, key);
		return verdict(XDP_DROP, MQLB_STAT_DROP_BIND_PENDING);
	}
	if (tcp->syn || seq != f->client_isn + 1 || bpf_ntohl(tcp->ack_seq) != f->s_isn + 1 ||
	    !seg_payload(p))
		return verdict(XDP_DROP, MQLB_STAT_DROP_BIND_PENDING);
	if (f->tcp_flags & MQLB_FLOW_BIND_CONNECT)
		return bind_connect(ctx, p, cfg, key, f);
	return bind_syn_again(ctx, key, f);
}

/*
 * The backend's side before its SYN-ACK, delayed binding. Its SYN-ACK
 * must acknowledge the SYN exactly; it is turned into the ACK that carries
 * the PROXY header and the stashed bytes back to it, and the flow is bound:
 * the backend's numbers and TSvals offset from what the client was told
 * by the cookie's SYN-ACK, the window tracked in the backend's numbers.
 * A RST+ACK of the SYN (the backend refuses) resets the client instead.
 */
static __always_inline int bind_synack(struct xdp_md *ctx, struct pkt *p,
				       const struct mqlb_flow_key *ck, struct mqlb_flow *f)
{
	struct tcphdr *tcp = p->tcp;
	__u32 ack = bpf_ntohl(tcp->ack_seq), b_isn = bpf_ntohl(tcp->seq), cend, win;
	struct mqlb_tcp_side *c = &f->side[MQLB_SIDE_CLIENT], *b = &f->side[MQLB_SIDE_BACKEND];
	struct bind_scratch *sc = bind_scratch_get();
	struct mqlb_stash *st;
	struct bind_seg *s;
	__be32 *ts = NULL;
	__u32 b_tsval = 0;
	__u8 ws;

	if (!sc)
		return verdict(XDP_DROP, MQLB_STAT_DROP_BIND_PENDING);
	s = &sc->seg;
	if (!(tcp->ack && ack == f->client_isn + 1)) {
		/*
		 * An ACK of something else: the backend holds another connection
		 * on this tuple (another balancer's or proxy's TIME_WAIT, whose
		 * timestamps are not ours). As SYN-SENT does (RFC 793), a RST at
		 * its ACK number ends that one; the client's next resend of its
		 * first segment sends the SYN again (bind_syn_again).
		 */
		if (tcp->ack && !tcp->rst)
			return rst_back(ctx, p, MQLB_STAT_RESET_STALE_BACKEND);
		return verdict(XDP_DROP, tcp->rst ? MQLB_STAT_DROP_RST_OUT_OF_WINDOW :
						    MQLB_STAT_DROP_OUT_OF_WINDOW);
	}
	/* Neither SYN nor RST, in SYN-SENT: dropped (RFC 793), the SYN-ACK may still come. */
	if (!tcp->syn && !tcp->rst)
		return verdict(XDP_DROP, MQLB_STAT_DROP_OUT_OF_WINDOW);
	st = bpf_map_lookup_elem(&stash, ck);
	if (tcp->rst || !st) {
		/* Refused, or its stash lost: the client is reset at its RCV.NXT. */
		__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_RST | MQLB_FLOW_RESET_SENT);
		bpf_map_delete_elem(&stash, ck);
		bind_seg_ends(s, f->lb_mac, f->cli_mac, ck->vip_addr_be, ck->vip_port_be,
			      ck->client_addr_be, ck->client_port_be);
		s->seq = f->s_isn + 1;
		s->flags = TCP_FLAG_RST;
		if (mqlb_bind_write(ctx, s))
			return verdict(XDP_DROP, MQLB_STAT_DROP_BAD_IP);
		stat_inc(MQLB_STAT_RESET_BIND_FAILED);
		return xmit(ctx, f->cli_ifindex);
	}
	if (tcp_ts_find(ctx, p, &ts) == TS_FOUND && ts)
		b_tsval = bpf_ntohl(*ts);
	ws = syn_wscale(ctx, p);
	win = bpf_ntohs(tcp->window);

	/* The bound connection's numbers. */
	f->seq_delta = b_isn - f->s_isn;
	f->tsval_delta = b_tsval && f->s_tsval ? b_tsval - f->s_tsval : 0;
	if (f->wscale[MQLB_SIDE_CLIENT] == MQLB_WSCALE_NONE || ws == MQLB_WSCALE_NONE) {
		f->wscale[MQLB_SIDE_CLIENT] = 0;
		ws = 0;
	}
	f->wscale[MQLB_SIDE_BACKEND] = ws;
	/* Both sides' state in the backend's numbers, as window_synack() would set it. */
	cend = f->client_isn + 1 + f->proxy_len + st->len;
	b->end = b_isn + 1;
	b->maxend = b->end + ((__u32)st->window << f->wscale[MQLB_SIDE_CLIENT]);
	b->maxwin = win ? win : 1;
	b->maxack = ack;
	c->end = cend;
	/* The client may send as far as the backend's SYN-ACK lets it (its window is not scaled). */
	c->maxend = ack + (win ? win : 1);
	c->maxwin = (__u32)st->window << f->wscale[MQLB_SIDE_CLIENT];
	if (!c->maxwin)
		c->maxwin = 1;
	c->maxack = b_isn + 1;

	/* The SYN-ACK becomes the ACK with the PROXY header and the client's bytes. */
	bind_seg_ends(s, p->eth->h_dest, p->eth->h_source, p->ip->daddr, tcp->dest, p->ip->saddr,
		      tcp->source);
	s->seq = f->client_isn + 1;
	s->ack = b_isn + 1;
	s->flags = TCP_FLAG_ACK | TCP_FLAG_PSH;
	s->window = st->window;
	s->has_ts = st->tsval && b_tsval;
	s->tsval = st->tsval + f->ts_off;
	s->tsecr = b_tsval;
	s->proxy_len = f->proxy_len;
	s->proxy_src = ck->client_addr_be;
	s->proxy_dst = ck->vip_addr_be;
	s->proxy_sport = ck->client_port_be;
	s->proxy_dport = ck->vip_port_be;
	if (mqlb_bind_write_data(ctx, s, st, st->len)) {
		/*
		 * The frame could not grow by the client's bytes (a veth gives an
		 * skb's frame little room past its end; a NIC driver's page more).
		 * The handshake completes with the PROXY header alone, the client
		 * resends its bytes when no ACK has come for them (its RTO, 200 ms
		 * at least), and they go through as those of any bound flow.
		 */
		s->flags = TCP_FLAG_ACK;
		if (mqlb_bind_write_data(ctx, s, st, 0))
			return verdict(XDP_DROP, MQLB_STAT_DROP_BAD_IP);
		c->end = f->client_isn + 1 + f->proxy_len;
		stat_inc(MQLB_STAT_BIND_DATA_DEFERRED);
	}
	bpf_map_delete_elem(&stash, ck);
	__sync_fetch_and_or(&f->tcp_flags,
			    MQLB_FLOW_SYNACK | MQLB_FLOW_ESTABLISHED | MQLB_FLOW_XLATE);
	__sync_fetch_and_and(&f->tcp_flags, ~MQLB_FLOW_BIND_SYNACK);
	stat_inc(MQLB_STAT_BIND_ACK);
	if (f->proxy_len)
		stat_inc(MQLB_STAT_PROXY_V2_SENT);
	return (int)bpf_redirect_map(&tx_ports, ctx->ingress_ifindex, XDP_TX);
}

/*
 * A bound flow whose backend acknowledges nothing past its SYN: it resent
 * its SYN-ACK (the ACK with the client's bytes was lost, or dropped while
 * its accept queue was full), or, behind a PROXY header, it holds the
 * client's resent bytes but not the header before them (its duplicate
 * ACKs say so). Nothing else acknowledges exactly the SYN once bound.
 */
static __always_inline bool bind_ack_lost(const struct pkt *p, const struct mqlb_flow *f)
{
	const struct tcphdr *tcp = p->tcp;
	__u32 b_isn = f->s_isn + f->seq_delta;

	if (!(f->tcp_flags & MQLB_FLOW_XLATE) || !tcp->ack || tcp->rst || tcp->fin ||
	    bpf_ntohl(tcp->ack_seq) != f->client_isn + 1)
		return false;
	if (tcp->syn)
		return bpf_ntohl(tcp->seq) == b_isn;
	return f->proxy_len && bpf_ntohl(tcp->seq) == b_isn + 1;
}

/*
 * The handshake's ACK again, with the PROXY header made anew from the
 * flow's key; the client's bytes were never acknowledged to it, so its own
 * retransmission brings them (as with bind_data_deferred). No timestamps:
 * the client's next TSval in the backend's clock is not known here, and an
 * ACK without them passes PAWS where a guessed one could fail it.
 */
static __always_inline int bind_ack_again(struct xdp_md *ctx, struct pkt *p,
					  const struct mqlb_flow_key *ck, struct mqlb_flow *f)
{
	struct bind_scratch *sc = bind_scratch_get();
	struct tcphdr *tcp = p->tcp;
	struct mqlb_stash *none;
	struct bind_seg *s;
	__u32 zero = 0, win;

	none = bpf_map_lookup_elem(&stash_scratch, &zero);
	if (!sc || !none)
		return verdict(XDP_DROP, MQLB_STAT_DROP_OUT_OF_WINDOW);
	s = &sc->seg;
	bind_seg_ends(s, p->eth->h_dest, p->eth->h_source, p->ip->daddr, tcp->dest, p->ip->saddr,
		      tcp->source);
	s->seq = f->client_isn + 1;
	s->ack = bpf_ntohl(tcp->seq) + (tcp->syn ? 1 : 0);
	s->flags = TCP_FLAG_ACK;
	win = f->side[MQLB_SIDE_CLIENT].maxwin >> (f->wscale[MQLB_SIDE_CLIENT] & 15);
	s->window = win > 0xffff ? 0xffff : win ? (__u16)win : 1;
	s->proxy_len = f->proxy_len;
	s->proxy_src = ck->client_addr_be;
	s->proxy_dst = ck->vip_addr_be;
	s->proxy_sport = ck->client_port_be;
	s->proxy_dport = ck->vip_port_be;
	if (mqlb_bind_write_data(ctx, s, none, 0))
		return verdict(XDP_DROP, MQLB_STAT_DROP_BAD_IP);
	stat_inc(MQLB_STAT_BIND_ACK_RESENT);
	return (int)bpf_redirect_map(&tx_ports, ctx->ingress_ifindex, XDP_TX);
}

#endif

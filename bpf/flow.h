/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flow stages of the XDP program: backend choice, flow creation with SNAT
 * port reservation, TCP state bits, and the header rewrite.
 */
#ifndef MQLB_BPF_FLOW_H
#define MQLB_BPF_FLOW_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "tcp_window.h"

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef EINVAL
#define EINVAL 22
#endif
#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef E2BIG
#define E2BIG 7
#endif

/* The flow-table "last seen" stamp is written at most this often, to keep
 * the cache line of a busy flow from bouncing between CPUs. */
#define LAST_SEEN_GRANULARITY_NS (250ULL * 1000 * 1000)

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

/*
 * Next backend in the weighted ring. Every SYN takes one ticket from a
 * shared counter, so N sequential connections over K equal backends land
 * exactly N/K on each. A slot whose backend stopped being up after the
 * ring was built is skipped (a few tries), until the daemon republishes.
 */
static __always_inline int pick_backend(const struct mqlb_config *cfg, __u32 *id_out)
{
	__u32 zero = 0, which = cfg->ring_active & 1;
	struct mqlb_rr_state *rr;
	struct mqlb_ring *r;
	__u64 ticket;
	__u32 len, i;

	rr = bpf_map_lookup_elem(&rr_state, &zero);
	r = bpf_map_lookup_elem(&ring, &which);
	if (!rr || !r)
		return -1;
	len = r->len;
	if (len == 0 || len > MQLB_RING_SIZE)
		return -1;
	ticket = __sync_fetch_and_add(&rr->next, 1);
	for (i = 0; i < 4; i++) {
		__u64 pos = (ticket + i) % len;
		struct mqlb_backend *be;
		__u32 id;

		/* The verifier cannot bound x % n by itself (kernel 6.18). */
		if (pos >= MQLB_RING_SIZE)
			return -1;
		id = r->slot[pos];
		if (id >= MQLB_MAX_BACKENDS)
			continue;
		be = bpf_map_lookup_elem(&backends, &id);
		if (be && be->state == MQLB_BE_UP) {
			*id_out = id;
			return 0;
		}
	}
	return -1;
}

/*
 * limit-per-source and rate-per-source for a new flow from addr: 0 when it
 * may go (then counted, if limited: *counted), else the counter to drop it
 * by. The rate is a GCRA: each flow moves the source's theoretical arrival
 * time on by 1/rate, and a flow that would move it more than a second
 * ahead of now is refused (so a burst of `rate` flows is allowed). Both are kept
 * without locks: two CPUs racing may each let one flow more in.
 */
static __always_inline __u32 src_admit(const struct mqlb_config *cfg, __be32 addr, __u64 now,
				       bool *counted)
{
	struct mqlb_src fresh = {}, *s;
	__u64 step, tat;

	*counted = false;
	if (!cfg->src_max_flows && !cfg->src_rate)
		return 0;
	s = bpf_map_lookup_elem(&src_limits, &addr);
	if (!s) {
		bpf_map_update_elem(&src_limits, &addr, &fresh, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&src_limits, &addr);
		if (!s)
			return 0; /* the LRU is thrashing: let it go rather than refuse everyone */
	}
	if (cfg->src_max_flows && s->flows >= cfg->src_max_flows)
		return MQLB_STAT_DROP_SOURCE_LIMIT;
	if (cfg->src_rate) {
		step = 1000000000ULL / cfg->src_rate;
		tat = (s->tat_ns > now ? s->tat_ns : now) + step;
		if (tat - now > 1000000000ULL)
			return MQLB_STAT_DROP_SOURCE_RATE;
		s->tat_ns = tat;
	}
	if (cfg->src_max_flows) {
		__sync_fetch_and_add(&s->flows, 1);
		*counted = true;
	}
	return 0;
}

/* A flow counted by src_admit() goes (or never came): its source may have one more. */
static __always_inline void src_release(__be32 addr)
{
	struct mqlb_src *s = bpf_map_lookup_elem(&src_limits, &addr);

	if (s && s->flows)
		__sync_fetch_and_sub(&s->flows, 1);
}

/* A new flow joins the eviction order of "embryos" (when the config sized it). */
static __always_inline void embryo_push(const struct mqlb_config *cfg,
					const struct mqlb_flow_key *key, __u64 created)
{
	struct mqlb_embryo_pos *pos;
	struct mqlb_embryo *e;
	__u32 zero = 0, idx;

	if (!cfg->flow_slots)
		return;
	pos = bpf_map_lookup_elem(&embryo_pos, &zero);
	if (!pos)
		return;
	idx = (__u32)(__sync_fetch_and_add(&pos->head, 1) % cfg->flow_slots);
	e = bpf_map_lookup_elem(&embryos, &idx);
	if (!e)
		return;
	e->key = *key;
	e->created_ns = created;
}

/*
 * Evict the oldest half-open flow of "embryos" for a new one (evict.bpf.c):
 * 0 with the tuple it held in *freed and its backend in *backend_id, or
 * -ENOENT when none of the oldest few is half-open.
 */
int mqlb_evict_half_open(const struct mqlb_config *cfg, struct mqlb_snat_key *freed,
			 __u32 *backend_id);

/* The translated tuple of flow f: the key of its "snat" reservation. */
static __always_inline struct mqlb_snat_key flow_snat_key(const struct mqlb_flow *f)
{
	return (struct mqlb_snat_key){
		.backend_addr_be = f->backend_addr_be,
		.snat_addr_be = f->snat_addr_be,
		.backend_port_be = f->backend_port_be,
		.snat_port_be = f->snat_port_be,
	};
}

static __always_inline bool flow_key_eq(const struct mqlb_flow_key *a,
					const struct mqlb_flow_key *b)
{
	return a->client_addr_be == b->client_addr_be && a->vip_addr_be == b->vip_addr_be &&
	       a->client_port_be == b->client_port_be && a->vip_port_be == b->vip_port_be;
}

/*
 * A flow leaves the tables: if the broker holds TIME_WAIT on its tuple
 * and the shifted timestamps were left to get the next SYN through it
 * (no RST is owed), mark the tuple for SYNs without timestamps. Counted
 * atomically: the reaper runs in process context, where the data plane's
 * softirq may interrupt it on the same CPU.
 */
static __always_inline void tw_ts_mark(const struct mqlb_flow *f, __u64 now)
{
	struct mqlb_snat_key sk = flow_snat_key(f);
	__u64 until = now + MQLB_TIME_WAIT_NS;
	__u32 idx = MQLB_STAT_FLOW_BACKEND_TIME_WAIT_TS;
	__u64 *v;

	if (!MQLB_FLOW_BACKEND_IN_TIME_WAIT(f->tcp_flags) || !MQLB_FLOW_TS_COVERS(f->tcp_flags))
		return;
	bpf_map_update_elem(&tw_ts, &sk, &until, BPF_ANY);
	v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

/*
 * Reserve a SNAT port for a new flow (snat_port.bpf.c): sk holds the backend
 * and SNAT addresses and port, and gets the port. 0, -EEXIST when every
 * candidate was taken, or the map error (-E2BIG: table full).
 */
int mqlb_reserve_snat_port(const struct mqlb_config *cfg, struct mqlb_snat_key *sk,
			   const struct mqlb_flow_key *key, int avoid_tw, __u64 now);

/*
 * The TCP flag bits an accepted segment adds to its flow (with the
 * caller's: MQLB_FLOW_RST for an exact RST, which only the window check
 * can tell), and the atomic update.
 */
static __always_inline void flow_note_tcp(struct mqlb_flow *f, const struct pkt *p,
					  bool from_client, __u32 bits, __u64 now)
{
	const struct tcphdr *tcp = p->tcp;

	if (from_client) {
		if (tcp->fin)
			bits |= MQLB_FLOW_FIN_CLIENT;
		if (!tcp->syn && !tcp->rst && tcp->ack && (f->tcp_flags & MQLB_FLOW_SYNACK))
			bits |= MQLB_FLOW_ESTABLISHED;
	} else {
		/*
		 * A backend FIN that does not acknowledge the client's FIN (whose
		 * end is the client side's end from then on) was sent before the
		 * backend had it: the backend will hold TIME_WAIT.
		 */
		/* Bound flows: the ACK was already taken back to the client's numbers. */
		__u32 ack = bpf_ntohl(tcp->ack_seq) +
			    (f->tcp_flags & MQLB_FLOW_XLATE ? f->proxy_len : 0);

		if (tcp->fin && (!(f->tcp_flags & MQLB_FLOW_FIN_CLIENT) ||
				 ack != f->side[MQLB_SIDE_CLIENT].end))
			bits |= MQLB_FLOW_FIN_BACKEND | MQLB_FLOW_BACKEND_TIME_WAIT;
		else if (tcp->fin)
			bits |= MQLB_FLOW_FIN_BACKEND;
		if (tcp->syn && tcp->ack)
			bits |= MQLB_FLOW_SYNACK;
		if (!(f->tcp_flags & MQLB_FLOW_BACKEND_DATA) && seg_payload(p))
			bits |= MQLB_FLOW_BACKEND_DATA;
	}
	/* Both directions run on different CPUs: a plain store could lose a FIN. */
	if (bits & ~f->tcp_flags)
		__sync_fetch_and_or(&f->tcp_flags, bits);
	/* Signed: a coarse stamp may be a tick behind the fine one of the SYN. */
	if ((__s64)(now - f->last_ns) > (__s64)LAST_SEEN_GRANULARITY_NS)
		f->last_ns = now;
}

/* Rewrite addresses and ports, updating the IPv4 and TCP checksums incrementally. */
static __always_inline void rewrite_tuple(struct pkt *p, __be32 saddr, __be32 daddr, __be16 sport,
					  __be16 dport)
{
	struct iphdr *ip = p->ip;
	struct tcphdr *tcp = p->tcp;

	csum_replace4(&ip->check, ip->saddr, saddr);
	csum_replace4(&ip->check, ip->daddr, daddr);
	/* The TCP checksum covers the pseudo-header addresses too. */
	csum_replace4(&tcp->check, ip->saddr, saddr);
	csum_replace4(&tcp->check, ip->daddr, daddr);
	csum_replace2(&tcp->check, tcp->source, sport);
	csum_replace2(&tcp->check, tcp->dest, dport);
	ip->saddr = saddr;
	ip->daddr = daddr;
	tcp->source = sport;
	tcp->dest = dport;
}

static __always_inline void backend_count(__u32 id, bool to_backend, __u32 bytes)
{
	struct mqlb_backend_stats *bs = bpf_map_lookup_elem(&backend_stats, &id);

	if (!bs)
		return;
	if (to_backend) {
		bs->packets_in++;
		bs->bytes_in += bytes;
	} else {
		bs->packets_out++;
		bs->bytes_out += bytes;
	}
}

static __always_inline void backend_flow_new(__u32 id)
{
	struct mqlb_backend_stats *bs = bpf_map_lookup_elem(&backend_stats, &id);

	if (bs)
		bs->flows_total++;
}

/* A delayed-binding flow: counted too by how its backend was chosen (client id or not). */
static __always_inline void backend_flow_bound(__u32 id, bool client_id_mode, bool hashed)
{
	struct mqlb_backend_stats *bs = bpf_map_lookup_elem(&backend_stats, &id);

	if (!bs)
		return;
	bs->flows_total++;
	if (hashed)
		bs->flows_client_id++;
	else if (client_id_mode)
		bs->flows_fallback++;
}

#endif

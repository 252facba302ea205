// SPDX-License-Identifier: GPL-2.0
/*
 * The segments delayed binding writes itself (bind.h): the SYN-ACK with a
 * SYN cookie toward the client, the SYN and the ACK with the client's
 * first bytes toward the backend. Global functions: each is verified once,
 * on its own, whatever the paths of the XDP program that call them.
 *
 * Each rewrites the whole frame in place: resized with bpf_xdp_adjust_tail,
 * every header written afresh, checksums computed over what was written.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bind.h"
#include "csum.h"
#include "parse.h"
#include "tcp_opt.h"
#include "tcp_ts.h"

#define TCP_SYN_ACK 0x12
#define IP_DF       0x4000
#define SEG_MAX     (ETH_HLEN + 20 + 20 + 20) /* a SYN or SYN-ACK: MSS, SACK/TS, WS */

/* The cookie SYN-ACK's working space, per CPU: beside the XDP program's frame the stack is small. */
struct cookie_scratch {
	struct bind_seg seg;
	struct iphdr iph;
	__u8 th[60];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cookie_scratch);
} cookie_scratch SEC(".maps");

static const __u8 proxy_sig[12] = MQLB_PROXY_V2_SIG;

/* Resize the frame to len bytes; 0 or -1. */
static __always_inline int frame_resize(struct xdp_md *ctx, __u32 len)
{
	int delta = (int)len - (int)(ctx->data_end - ctx->data);

	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return -1;
	return 0;
}

static __always_inline void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* The TCP options of segment s into o (20 bytes); their length, a multiple of 4. */
static __always_inline __u32 seg_options(__u8 *o, const struct bind_seg *s)
{
	__u32 n;

	if (!(s->flags & 0x02)) {
		/* Any other segment: NOP, NOP, timestamps, as Linux writes them. */
		if (!s->has_ts)
			return 0;
		o[0] = 1;
		o[1] = 1;
		o[2] = 8;
		o[3] = 10;
		put32(o + 4, s->tsval);
		put32(o + 8, s->tsecr);
		return 12;
	}
	o[0] = 2;
	o[1] = 4;
	o[2] = s->mss >> 8;
	o[3] = s->mss & 0xff;
	if (!s->has_ts)
		return 4;
	o[4] = s->syn_opts & MQLB_SYNOPT_SACK ? 4 : 1;
	o[5] = s->syn_opts & MQLB_SYNOPT_SACK ? 2 : 1;
	o[6] = 8;
	o[7] = 10;
	put32(o + 8, s->tsval);
	put32(o + 12, s->tsecr);
	n = 16;
	if ((s->syn_opts & MQLB_SYNOPT_WSCALE) != MQLB_SYNOPT_WSCALE) {
		o[16] = 1;
		o[17] = 3;
		o[18] = 3;
		o[19] = s->wscale;
		n = 20;
	}
	return n;
}

/*
 * Ethernet, IPv4 and TCP headers of s with optlen option bytes from o and
 * tot IP bytes in all, at the start of the frame (which holds at least the
 * headers); the TCP checksum left to the caller. The TCP header, or NULL.
 */
static __always_inline struct tcphdr *write_headers(struct xdp_md *ctx, const struct bind_seg *s,
						    const __u8 *o, __u32 optlen, __u32 tot)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	__u8 *opt = (void *)(tcp + 1);
	__u32 i;

	if ((void *)(tcp + 1) > end)
		return NULL;
	__builtin_memcpy(eth->h_source, s->smac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, s->dmac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	*(__u8 *)ip = 0x45;
	ip->tos = 0;
	ip->tot_len = bpf_htons((__u16)tot);
	ip->id = 0;
	ip->frag_off = bpf_htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = s->saddr;
	ip->daddr = s->daddr;
	ip->check = 0;
	ip->check = csum_fold64(bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));
	__builtin_memset(tcp, 0, sizeof(*tcp));
	tcp->source = s->sport;
	tcp->dest = s->dport;
	tcp->seq = bpf_htonl(s->seq);
	tcp->ack_seq = bpf_htonl(s->ack);
	tcp->doff = (__u16)((sizeof(*tcp) + optlen) / 4);
	((__u8 *)tcp)[13] = s->flags;
	tcp->window = bpf_htons(s->window);
	for (i = 0; i < 20; i += 4) {
		if (i >= optlen)
			break;
		if ((void *)(opt + i + 4) > end)
			return NULL;
		__builtin_memcpy(opt + i, o + i, 4);
	}
	return tcp;
}

/* The TCP checksum over hl header bytes at tcp (4 <= hl <= 88, a multiple of 4) and sum. */
static __always_inline int tcp_csum_header(struct xdp_md *ctx, struct tcphdr *tcp, __u32 hl,
					   __s64 sum, const struct bind_seg *s, __u32 seg_len)
{
	void *end = (void *)(long)ctx->data_end;
	struct pseudo_hdr ph = {
		.saddr = s->saddr, .daddr = s->daddr, .proto = IPPROTO_TCP,
		.len = bpf_htons((__u16)seg_len),
	};
	__s64 h;

	sum = bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), (__u32)sum);
	if (sum < 0)
		return -1;
	/* Constant lengths, each checked: the verifier follows them. */
	switch (hl) {
	case 20:
		if ((void *)tcp + 20 > end)
			return -1;
		h = bpf_csum_diff(0, 0, (__be32 *)tcp, 20, (__u32)sum);
		break;
	case 24:
		if ((void *)tcp + 24 > end)
			return -1;
		h = bpf_csum_diff(0, 0, (__be32 *)tcp, 24, (__u32)sum);
		break;
	case 32:
		if ((void *)tcp + 32 > end)
			return -1;
		h = bpf_csum_diff(0, 0, (__be32 *)tcp, 32, (__u32)sum);
		break;
	case 36:
		if ((void *)tcp + 36 > end)
			return -1;
		h = bpf_csum_diff(0, 0, (__be32 *)tcp, 36, (__u32)sum);
		break;
	case 40:
		if ((void *)tcp + 40 > end)
			return -1;
		h = bpf_csum_diff(0, 0, (__be32 *)tcp, 40, (__u32)sum);
		break;
	case 48:
		if ((void *)tcp + 48 > end)
			return -1;
		h = bpf_csum_diff(0, 0, (__be32 *)tcp, 48, (__u32)sum);
		break;
	case 60:
		if ((void *)tcp + 60 > end)
			return -1;
		h = bpf_csum_diff(0, 0, (__be32 *)tcp, 60, (__u32)sum);
		break;
	default:
		return -1;
	}
	if (h < 0)
		return -1;
	tcp->check = csum_fold64(h);
	return 0;
}

__noinline int mqlb_bind_write(struct xdp_md *ctx, const struct bind_seg *s)
{
	__u8 o[20] = {};
	struct tcphdr *tcp;
	__u32 optlen, hl;

	if (!ctx || !s)
		return -1;
	optlen = seg_options(o, s);
	if (optlen > 20)
		return -1;
	hl = sizeof(*tcp) + optlen;
	if (frame_resize(ctx, ETH_HLEN + sizeof(struct iphdr) + hl))
		return -1;
	tcp = write_headers(ctx, s, o, optlen, sizeof(struct iphdr) + hl);
	if (!tcp)
		return -1;
	return tcp_csum_header(ctx, tcp, hl, 0, s, hl);
}

/* The PROXY v2 header of s at p (28 bytes, checked by the caller). */
static __always_inline void write_proxy(__u8 *p, const struct bind_seg *s)
{
	__builtin_memcpy(p, proxy_sig, sizeof(proxy_sig));
	p[12] = 0x21; /* version 2, PROXY */
	p[13] = 0x11; /* TCP over IPv4 */
	p[14] = 0;
	p[15] = 12;
	__builtin_memcpy(p + 16, &s->proxy_src, 4);
	__builtin_memcpy(p + 20, &s->proxy_dst, 4);
	__builtin_memcpy(p + 24, &s->proxy_sport, 2);
	__builtin_memcpy(p + 26, &s->proxy_dport, 2);
}

__noinline int mqlb_bind_write_data(struct xdp_md *ctx, const struct bind_seg *s,
				    const struct mqlb_stash *st, __u32 len)
{
	__u8 o[20] = {};
	struct tcphdr *tcp;
	__u32 optlen, hl, words, i;
	__s64 sum = 0;
	void *end;

	if (!ctx || !s || !st)
		return -1;
	/* All the bytes or none: past len, the stash's words must be zero for the sum. */
	if ((len && len != st->len) || len > MQLB_STASH_MAX ||
	    (s->proxy_len && s->proxy_len != MQLB_PROXY_V2_LEN))
		return -1;
	optlen = seg_options(o, s);
	if (optlen > 12)
		return -1;
	hl = sizeof(*tcp) + optlen + s->proxy_len;
	if (frame_resize(ctx, ETH_HLEN + sizeof(struct iphdr) + hl + len))
		return -1;
	tcp = write_headers(ctx, s, o, optlen, sizeof(struct iphdr) + hl + len);
	if (!tcp)
		return -1;
	end = (void *)(long)ctx->data_end;
	if (s->proxy_len) {
		__u8 *px = (__u8 *)tcp + sizeof(*tcp) + optlen;

		if (optlen == 12) {
			px = (__u8 *)tcp + 32;
			if ((void *)(px + MQLB_PROXY_V2_LEN) > end)
				return -1;
			write_proxy(px, s);
		} else {
			px = (__u8 *)tcp + 20;
			if ((void *)(px + MQLB_PROXY_V2_LEN) > end)
				return -1;
			write_proxy(px, s);
		}
	}
	if (len && bpf_xdp_store_bytes(ctx, ETH_HLEN + sizeof(struct iphdr) + hl, (void *)st->data,
				       len))
		return -1;
	/* The payload's sum from the stash, in words: the bytes past len are zero there. */
	words = (len + 3) & ~3U;
	for (i = 0; i < 3; i++) {
		__u32 off = i * 512, n;

		if (off >= words)
			break;
		n = words - off > 512 ? 512 : words - off;
		if (off + n > sizeof(st->data))
			return -1;
		sum = bpf_csum_diff(0, 0, (__be32 *)(st->data + off), n, (__u32)sum);
		if (sum < 0)
			return -1;
	}
	return tcp_csum_header(ctx, tcp, hl, sum, s, hl + len);
}

/* Frame offset and length of a segment's options, and the frame's TCP header. */
static __always_inline struct tcphdr *syn_view(struct xdp_md *ctx, struct iphdr **ipp)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);

	/* check_ours() vouched for a 20-byte IP header and the data offset. */
	if ((void *)(tcp + 1) > end)
		return NULL;
	*ipp = ip;
	return tcp;
}

__noinline int mqlb_cookie_synack(struct xdp_md *ctx, __u32 mss_wscale)
{
	struct cookie_scratch *sc;
	struct bind_seg *s;
	__u32 zero = 0;
	struct ethhdr *eth;
	struct iphdr *ip = NULL;
	struct tcphdr *tcp;
	__u32 th_len, off, olen, cmss;
	__u8 ws = MQLB_SYNOPT_WSCALE, *v;
	int at;
	__s64 gen;

	if (!ctx)
		return -1;
	sc = bpf_map_lookup_elem(&cookie_scratch, &zero);
	if (!sc)
		return -1;
	__builtin_memset(sc, 0, sizeof(*sc));
	s = &sc->seg;
	tcp = syn_view(ctx, &ip);
	if (!tcp || !ip)
		return -1;
	th_len = (__u32)tcp->doff * 4;
	if (th_len < sizeof(*tcp) || th_len > 60)
		return -1;
	/*
	 * The kernel's cookie (its secret, its MSS table; the MSS in bits
	 * 32-47), computed over copies of the headers: the helper wants its
	 * memory's whole size provably there, and the options' length varies.
	 */
	if (bpf_xdp_load_bytes(ctx, ETH_HLEN, &sc->iph, sizeof(sc->iph)) ||
	    bpf_xdp_load_bytes(ctx, ETH_HLEN + sizeof(sc->iph), sc->th, th_len))
		return -1;
	gen = bpf_tcp_raw_gen_syncookie_ipv4(&sc->iph, (struct tcphdr *)sc->th, th_len);
	if (gen < 0)
		return -1;
	cmss = (__u32)(gen >> 32) & 0xffff;
	if (cmss > (mss_wscale & 0xffff))
		cmss = mss_wscale & 0xffff;

	tcp = syn_view(ctx, &ip);
	if (!tcp || !ip)
		return -1;
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return -1;
	bind_seg_ends(s, eth->h_dest, eth->h_source, ip->daddr, tcp->dest, ip->saddr, tcp->source);
	s->seq = (__u32)gen;
	s->ack = bpf_ntohl(tcp->seq) + 1;
	s->window = 65535;
	s->flags = TCP_SYN_ACK;
	s->mss = (__u16)cmss;
	s->wscale = (__u8)(mss_wscale >> 16);

	/* What the cookie cannot keep goes in the TSval's low bits, if the client has one. */
	off = ETH_HLEN + sizeof(*ip) + sizeof(*tcp);
	olen = th_len - sizeof(*tcp);
	at = olen ? mqlb_tcp_opt_find(ctx, off, olen, 0, TCPOPT_TS << 8 | TCPOLEN_TS) : -1;
	if (at >= 0 && at < TCP_OPT_MAX) {
		__be32 *tsv;

		tcp = syn_view(ctx, &ip);
		if (!tcp)
			return -1;
		tsv = (void *)((__u8 *)(tcp + 1) + ((__u32)at & 63));
		if ((void *)(tsv + 1) > (void *)(long)ctx->data_end)
			return -1;
		s->tsecr = bpf_ntohl(*tsv);
		s->has_ts = 1;
		at = mqlb_tcp_opt_find(ctx, off, olen, 0, TCPOPT_WSCALE << 8 | TCPOLEN_WSCALE);
		if (at >= 0 && at < TCP_OPT_MAX) {
			tcp = syn_view(ctx, &ip);
			if (!tcp)
				return -1;
			v = (__u8 *)(tcp + 1) + ((__u32)at & 63);
			if ((void *)(v + 1) > (void *)(long)ctx->data_end)
				return -1;
			ws = *v > TCP_WSCALE_MAX ? TCP_WSCALE_MAX : *v;
		}
		s->syn_opts = ws | MQLB_SYNOPT_TS | synopt_mss_index(s->mss) << MQLB_SYNOPT_MSS_SHIFT;
		if (mqlb_tcp_opt_find(ctx, off, olen, 0, 4 << 8 | 2) >= 0)
			s->syn_opts |= MQLB_SYNOPT_SACK;
		s->tsval = (ts_clock(bpf_ktime_get_ns()) & ~(__u32)MQLB_SYNOPT_MASK) | s->syn_opts;
	} else {
		/* No timestamps: nothing to keep options in; the MSS alone. */
		s->syn_opts = MQLB_SYNOPT_WSCALE;
	}
	return mqlb_bind_write(ctx, s);
}

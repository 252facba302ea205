/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Answering a client segment with a TCP RST from the data plane, turned
 * around in place and sent back with XDP_TX. Used when no backend is up
 * (the client fails fast instead of retransmitting SYNs) and when a
 * flow's backend went down (the MQTT client reconnects at once instead of
 * waiting for its keep-alive). RFC 793 "Reset Generation": a RST for a
 * segment with ACK carries SEQ = SEG.ACK, which is exactly the client's
 * RCV.NXT, so RFC 5961's exact-match check accepts it; otherwise
 * SEQ = 0, ACK = SEG.SEQ + SEG.LEN and the ACK flag.
 */
#ifndef MQLB_BPF_RESET_H
#define MQLB_BPF_RESET_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.h"

#define RST_FRAME_LEN (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr))
#define IP_DF 0x4000

/* Returns XDP_TX with the frame rewritten into the RST, or XDP_DROP if it cannot be. */
static __always_inline int reply_rst(struct xdp_md *ctx, struct pkt *p)
{
	struct iphdr *ip = p->ip;
	struct tcphdr *tcp = p->tcp;
	__u8 mac[ETH_ALEN], cmac[ETH_ALEN];
	__be32 client = ip->saddr, us = ip->daddr;
	__be16 cport = tcp->source, uport = tcp->dest;
	__u32 seg_len = p->ip_len - sizeof(*ip) - (__u32)tcp->doff * 4;
	bool has_ack = tcp->ack;
	__be32 seq, ack_seq;
	struct pseudo_hdr ph;
	struct ethhdr *eth;
	void *data, *data_end;
	int delta;

	if (has_ack) {
		seq = tcp->ack_seq;
		ack_seq = 0;
	} else {
		seq = 0;
		ack_seq = bpf_htonl(bpf_ntohl(tcp->seq) + seg_len + tcp->syn + tcp->fin);
	}
	__builtin_memcpy(mac, p->eth->h_dest, ETH_ALEN);
	__builtin_memcpy(cmac, p->eth->h_source, ETH_ALEN);

	delta = (int)RST_FRAME_LEN - (int)(ctx->data_end - ctx->data);
	if (delta < 0 && bpf_xdp_adjust_tail(ctx, delta))
		return XDP_DROP;
	/* adjust_tail invalidates every packet pointer: parse the fixed layout again. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + RST_FRAME_LEN > data_end)
		return XDP_DROP;
	eth = data;
	ip = (void *)(eth + 1);
	tcp = (void *)(ip + 1);

	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, cmac, ETH_ALEN);
	ip->ihl = 5;
	ip->version = 4;
	ip->tos = 0;
	ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*tcp));
	ip->id = 0;
	ip->frag_off = bpf_htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = us;
	ip->daddr = client;
	ip->check = 0;
	ip->check = csum_fold64(bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));

	__builtin_memset(tcp, 0, sizeof(*tcp));
	tcp->source = uport;
	tcp->dest = cport;
	tcp->seq = seq;
	tcp->ack_seq = ack_seq;
	tcp->doff = 5;
	tcp->rst = 1;
	tcp->ack = !has_ack;
	ph.saddr = us;
	ph.daddr = client;
	ph.zero = 0;
	ph.proto = IPPROTO_TCP;
	ph.len = bpf_htons(sizeof(*tcp));
	tcp->check = csum_fold64(bpf_csum_diff(0, 0, (__be32 *)tcp, sizeof(*tcp),
					       bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0)));
	return XDP_TX;
}

#endif

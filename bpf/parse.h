/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing for the XDP program. Each parser checks its own bounds
 * against data_end and returns a verdict-free status, so that the caller
 * decides pass or drop and counts the reason.
 */
#ifndef MQLB_BPF_PARSE_H
#define MQLB_BPF_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include "mqlb_abi.h"

#define IP_MF     0x2000
#define IP_OFFSET 0x1fff

/* Parsed view of one frame; pointers are already bounds-checked. */
struct pkt {
	void *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct tcphdr *tcp;
	__u32 ip_len;            /* IP total length (bytes counted per backend) */
};

enum parse_res {
	PARSE_OK = 0,
	PARSE_PASS,              /* not ours: give it to the kernel; reason in *stat */
	PARSE_DROP,              /* malformed; reason in *stat */
};

/* Ethernet + IPv4 up to (not including) the transport header. */
static __always_inline enum parse_res parse_eth_ip(struct xdp_md *ctx, struct pkt *p, __u32 *stat)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 tot_len;

	p->data_end = data_end;
	if ((void *)(eth + 1) > data_end) {
		*stat = MQLB_STAT_DROP_TRUNC_ETH;
		return PARSE_DROP;
	}
	p->eth = eth;
	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		break;
	case bpf_htons(ETH_P_IPV6):
		*stat = MQLB_STAT_PASS_IPV6;
		return PARSE_PASS;
	case bpf_htons(ETH_P_8021Q):
	case bpf_htons(ETH_P_8021AD):
		/* The VIP is not served over tagged frames; the kernel owns them. */
		*stat = MQLB_STAT_PASS_VLAN;
		return PARSE_PASS;
	default:
		*stat = MQLB_STAT_PASS_NON_IP;
		return PARSE_PASS;
	}

	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5) {
		*stat = MQLB_STAT_DROP_BAD_IP;
		return PARSE_DROP;
	}
	tot_len = bpf_ntohs(ip->tot_len);
	/* Ethernet padding may follow the datagram; a short frame may not. */
	if (tot_len < (__u32)ip->ihl * 4 || (void *)ip + tot_len > data_end) {
		*stat = MQLB_STAT_DROP_BAD_IP;
		return PARSE_DROP;
	}
	p->ip = ip;
	p->ip_len = tot_len;
	return PARSE_OK;
}

/*
 * TCP header of a datagram addressed to one of our addresses. Only the
 * ports decide whether it belongs to the balancer (VIP:port, or a SNAT port
 * toward a backend), so they are read first, wherever IP options put them;
 * what is not ours goes to the kernel untouched, however odd. What is ours
 * must be plain: IP options and fragments are refused rather than handled
 * (no MQTT client sends them, and forwarding them would need variable
 * offsets and reassembly). A non-first fragment carries no ports, so it
 * cannot be judged and is left to the kernel.
 */
static __always_inline enum parse_res parse_tcp(struct pkt *p, __u32 *stat)
{
	struct iphdr *ip = p->ip;
	struct tcphdr *tcp;
	__u32 hlen = (__u32)ip->ihl * 4;

	if (ip->frag_off & bpf_htons(IP_OFFSET)) {
		*stat = MQLB_STAT_PASS_FRAGMENT;
		return PARSE_PASS;
	}
	tcp = (void *)ip + hlen;
	if ((void *)(tcp + 1) > p->data_end || p->ip_len < hlen + sizeof(*tcp)) {
		/* The ports cannot be read: nobody, the kernel included, can use it. */
		*stat = MQLB_STAT_DROP_TRUNC_TCP;
		return PARSE_DROP;
	}
	p->tcp = tcp;
	return PARSE_OK;
}

/* Checks for a segment that is ours (after parse_tcp and the port test). */
static __always_inline enum parse_res check_ours(struct pkt *p, __u32 *stat)
{
	struct iphdr *ip = p->ip;
	struct tcphdr *tcp = p->tcp;

	if (ip->frag_off & bpf_htons(IP_MF)) {
		*stat = MQLB_STAT_DROP_FRAGMENT;
		return PARSE_DROP;
	}
	if (ip->ihl != 5) {
		*stat = MQLB_STAT_DROP_IP_OPTIONS;
		return PARSE_DROP;
	}
	if (tcp->doff < 5 || (__u32)tcp->doff * 4 > p->ip_len - sizeof(*ip)) {
		*stat = MQLB_STAT_DROP_BAD_DOFF;
		return PARSE_DROP;
	}
	return PARSE_OK;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP options: the kinds the data plane reads, and the walk that finds one
 * (tcp_opt_walk.bpf.c), by Linux's rules.
 */
#ifndef MQLB_BPF_TCP_OPT_H
#define MQLB_BPF_TCP_OPT_H

#include <linux/bpf.h>
#include <linux/tcp.h>
#include "parse.h"

#define TCPOPT_EOL    0
#define TCPOPT_NOP    1
#define TCPOPT_WSCALE 3
#define TCPOLEN_WSCALE 3
#define TCPOPT_TS     8
#define TCPOLEN_TS    10
#define TCP_OPT_MAX   40
#define TCP_WSCALE_MAX 14 /* RFC 7323 2.3: larger shifts are taken as 14 */

/*
 * The first option of kind and length kind_len (kind << 8 | length) at or
 * after option boundary start, in the options at frame offset opt_off,
 * optlen bytes long: the offset of its data from opt_off, or -1.
 */
int mqlb_tcp_opt_find(struct xdp_md *ctx, __u32 opt_off, __u32 optlen, __u32 start,
		      __u32 kind_len);

/* Frame offset and length of a segment's options (check_ours() vouched for doff). */
static __always_inline void tcp_opt_span(struct xdp_md *ctx, const struct pkt *p, __u32 *off,
					 __u32 *len)
{
	*off = (__u32)((void *)(p->tcp + 1) - (void *)(long)ctx->data);
	*len = (__u32)p->tcp->doff * 4 - sizeof(struct tcphdr);
}

#endif

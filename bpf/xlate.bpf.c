// SPDX-License-Identifier: GPL-2.0
/*
 * The translation of a bound flow's segments (bind.h): sequence and
 * acknowledgment numbers, SACK blocks and the window, with the checksum
 * kept right word by word. A global function: its options walk is
 * verified once, on its own.
 */
#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bind.h"
#include "csum.h"
#include "tcp_opt.h"
#include "tcp_ts.h"

#define TCPOPT_SACK 5

/* The frame's TCP header (check_ours() vouched for a 20-byte IP header). */
static __always_inline struct tcphdr *tcp_at(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct tcphdr *tcp = data + ETH_HLEN + sizeof(struct iphdr);

	return (void *)(tcp + 1) > end ? NULL : tcp;
}

/*
 * Each SACK block's edges += add (RFC 2018: one option of 1 to 4 blocks).
 * The option is found by the shared walk, one length at a time: a walk
 * with a loop over blocks inside a loop over options grew past the
 * verifier's budget.
 */
static __always_inline void sack_shift(struct xdp_md *ctx, struct tcphdr *tcp, __u32 add)
{
	__u32 off = ETH_HLEN + sizeof(struct iphdr) + sizeof(*tcp);
	__u32 optlen = (__u32)tcp->doff * 4 - sizeof(*tcp), n, k;
	void *end = (void *)(long)ctx->data_end;
	__be32 *w;
	int at = -1;

	for (n = 1; n <= 4 && at < 0; n++)
		at = mqlb_tcp_opt_find(ctx, off, optlen, 0, TCPOPT_SACK << 8 | (2 + 8 * n));
	if (at < 0 || at > TCP_OPT_MAX - 8)
		return;
	n--;
	/* Masked so that the verifier sees the bound it was just told. */
	w = (__be32 *)((__u8 *)(tcp + 1) + ((__u32)at & 63));
	for (k = 0; k < 8; k++) {
		if (k >= 2 * n || (void *)(w + k + 1) > end)
			break;
		tcp_word_set(tcp, w + k, bpf_ntohl(w[k]) + add);
	}
}

__noinline int mqlb_xlate(struct xdp_md *ctx, __u32 seq_add, __u32 ack_add, int win_shift)
{
	struct tcphdr *tcp;
	__u32 win;

	if (!ctx)
		return -1;
	tcp = tcp_at(ctx);
	if (!tcp)
		return -1;
	if (seq_add)
		tcp_word_set(tcp, &tcp->seq, bpf_ntohl(tcp->seq) + seq_add);
	if (ack_add && tcp->ack) {
		tcp_word_set(tcp, &tcp->ack_seq, bpf_ntohl(tcp->ack_seq) + ack_add);
		if (tcp->doff > 8)
			sack_shift(ctx, tcp, ack_add);
	}
	if (win_shift && !tcp->syn) {
		__u16 old = tcp->window;

		win = bpf_ntohs(old);
		if (win_shift > 0)
			win = win << (win_shift & 15) > 65535 ? 65535 : win << (win_shift & 15);
		else
			win >>= (-win_shift) & 15;
		tcp->window = bpf_htons((__u16)win);
		csum_replace2(&tcp->check, old, tcp->window);
	}
	return 0;
}

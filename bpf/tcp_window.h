/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which segments may change a flow: conntrack's TCP window tracking (after
 * G. van Rooij, "Real Stateful TCP Packet Filtering in IP Filter") and RFC
 * 5961's rules for RST and SYN, so that an off-path attacker, who does not
 * know a connection's sequence numbers, can neither end nor move a flow.
 *
 * Each side keeps what it has shown (struct mqlb_tcp_side): the end of what
 * it sent, the right edge the other side granted it, its largest window
 * and its latest ACK. A segment from sender S to receiver R is in the
 * window when
 *   I   SEQ <= S.maxend               it starts within what R granted
 *   II  END >= S.end - R.maxwin       it is not older than R's largest window
 *   III ACK <= R.end                  it acknowledges nothing R did not send
 *   IV  ACK >= R.end - S.maxwin       nor data more than a window back
 * (RFC 1982 serial arithmetic, so sequence numbers wrap at 2^32). Those
 * bounds are conntrack's and as liberal: retransmissions, window updates
 * and zero-window probes pass; SACK blocks are not examined.
 *
 *   RST   closes the flow only at the receiver's RCV.NXT (its latest ACK) or
 *         at the sender's SND.NXT; elsewhere in the window (I, II) it goes
 *         on untouched, for the endpoint to answer with a challenge ACK
 *         (RFC 5961 3.2), and changes nothing here; outside it is dropped.
 *   SYN   on a live flow's tuple is never balanced anew (from_client()).
 *   other segments outside the window are dropped; inside, they move the
 *         state on, each field by its own direction only.
 *
 * The state is written without atomics: each field has one writer, the
 * direction whose packets it describes, and a NIC queue keeps a flow's
 * direction on one CPU. A racing writer can at worst leave a field a
 * little behind, which makes the next check stricter, never looser; the
 * sender's retransmission then passes.
 */
#ifndef MQLB_BPF_TCP_WINDOW_H
#define MQLB_BPF_TCP_WINDOW_H

#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include "mqlb_abi.h"
#include "parse.h"
#include "tcp_opt.h"

/* conntrack's MAXACKWINDOW when the sender has shown no window yet. */
#define TCP_MAXACKWIN_DEFAULT 66000

enum seg_verdict {
	SEG_OK = 0,        /* in the window: forward it, and let it change the flow */
	SEG_RST_CLOSE,     /* a RST at exactly the right place: forward it, the flow is closed */
	SEG_RST_CHALLENGE, /* a RST in the window, not exact: forward it, change nothing */
	SEG_DROP,          /* outside the window: drop it, change nothing */
};

static __always_inline bool seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static __always_inline bool seq_after(__u32 a, __u32 b)
{
	return (__s32)(b - a) < 0;
}

/* Payload bytes of a segment (check_ours() vouched for the lengths). */
static __always_inline __u32 seg_payload(const struct pkt *p)
{
	return p->ip_len - (__u32)sizeof(struct iphdr) - (__u32)p->tcp->doff * 4;
}

/* The window scale a SYN announces: 0-14, or MQLB_WSCALE_NONE. */
static __always_inline __u8 syn_wscale(struct xdp_md *ctx, const struct pkt *p)
{
	__u32 off, len;
	__u8 *v;
	int at;

	if (p->tcp->doff <= 5)
		return MQLB_WSCALE_NONE;
	tcp_opt_span(ctx, p, &off, &len);
	at = mqlb_tcp_opt_find(ctx, off, len, 0, TCPOPT_WSCALE << 8 | TCPOLEN_WSCALE);
	if (at < 0 || at >= TCP_OPT_MAX)
		return MQLB_WSCALE_NONE;
	/* Masked so that the verifier sees the bound it was just told. */
	v = (__u8 *)(p->tcp + 1) + ((__u32)at & 63);
	if ((void *)(v + 1) > p->data_end)
		return MQLB_WSCALE_NONE;
	return *v > TCP_WSCALE_MAX ? TCP_WSCALE_MAX : *v;
}

/* A new flow's client side, from its SYN. */
static __always_inline void window_init_client(struct xdp_md *ctx, const struct pkt *p,
					       struct mqlb_flow *f)
{
	struct mqlb_tcp_side *c = &f->side[MQLB_SIDE_CLIENT];
	__u32 win = bpf_ntohs(p->tcp->window);

	c->end = bpf_ntohl(p->tcp->seq) + 1 + seg_payload(p);
	c->maxend = c->end;
	c->maxwin = win ? win : 1;
	f->wscale[MQLB_SIDE_CLIENT] = syn_wscale(ctx, p);
	f->wscale[MQLB_SIDE_BACKEND] = MQLB_WSCALE_NONE;
}

/*
 * The backend's first SYN-ACK: it must acknowledge the client's SYN
 * exactly; then it opens the backend side and settles both window scales
 * (in use only when both SYNs announced one, RFC 7323 2.3).
 */
static __always_inline int window_synack(struct xdp_md *ctx, const struct pkt *p,
					 struct mqlb_flow *f)
{
	struct mqlb_tcp_side *c = &f->side[MQLB_SIDE_CLIENT], *b = &f->side[MQLB_SIDE_BACKEND];
	__u32 ack = bpf_ntohl(p->tcp->ack_seq), win = bpf_ntohs(p->tcp->window);
	__u8 ws = syn_wscale(ctx, p);

	if (ack != c->end)
		return SEG_DROP;
	b->end = bpf_ntohl(p->tcp->seq) + 1 + seg_payload(p);
	b->maxend = b->end;
	b->maxwin = win ? win : 1;
	b->maxack = ack;
	/* The window of a SYN is never scaled. */
	c->maxend = ack + (win ? win : 1);
	/* Once it has this SYN-ACK, the client's RCV.NXT. */
	c->maxack = b->end;
	if (f->wscale[MQLB_SIDE_CLIENT] == MQLB_WSCALE_NONE || ws == MQLB_WSCALE_NONE) {
		f->wscale[MQLB_SIDE_CLIENT] = 0;
		ws = 0;
	}
	f->wscale[MQLB_SIDE_BACKEND] = ws;
	return SEG_OK;
}

/*
 * Before the backend's SYN-ACK only a few segments make sense: the client
 * aborting at its SND.NXT, and the backend refusing (RST+ACK of the SYN).
 * A SYN-ACK and the client's retransmitted SYN are dealt with before.
 */
static __always_inline int window_half_open(const struct pkt *p, const struct mqlb_flow *f,
					    int from, __u32 seq, __u32 ack)
{
	const struct tcphdr *tcp = p->tcp;
	__u32 cend = f->side[MQLB_SIDE_CLIENT].end;

	if (!tcp->rst)
		return SEG_DROP;
	if (from == MQLB_SIDE_CLIENT)
		return seq == cend ? SEG_RST_CLOSE : SEG_DROP;
	return tcp->ack && ack == cend ? SEG_RST_CLOSE : SEG_DROP;
}

/*
 * Judge a segment of flow f from side `from` (not a SYN of the client's),
 * and track it. A bound flow (delayed binding) keeps its state in the
 * backend's numbers: seq_add and ack_add take a client segment there.
 */
static __always_inline int window_check(const struct pkt *p, struct mqlb_flow *f, int from,
					__u32 seq_add, __u32 ack_add)
{
	const struct tcphdr *tcp = p->tcp;
	int s = from & 1;
	struct mqlb_tcp_side *snd = &f->side[s], *rcv = &f->side[s ^ 1];
	__u32 seq = bpf_ntohl(tcp->seq) + seq_add, ack = bpf_ntohl(tcp->ack_seq) + ack_add;
	__u32 win = bpf_ntohs(tcp->window), end, maxackwin, right;

	if (!rcv->maxwin || !snd->maxwin)
		return window_half_open(p, f, s, seq, ack);
	end = seq + seg_payload(p) + tcp->syn + tcp->fin;
	if (tcp->rst) {
		if (seq == snd->end || seq == rcv->maxack)
			return SEG_RST_CLOSE;
		if (!seq_after(seq, snd->maxend) && !seq_before(seq, snd->end - rcv->maxwin))
			return SEG_RST_CHALLENGE;
		return SEG_DROP;
	}
	if (!tcp->syn)
		win <<= f->wscale[s] & 15;
	if (!tcp->ack)
		ack = rcv->end;
	maxackwin = snd->maxwin ? snd->maxwin : TCP_MAXACKWIN_DEFAULT;
	if (seq_after(seq, snd->maxend) || seq_before(end, snd->end - rcv->maxwin) ||
	    seq_after(ack, rcv->end) || seq_before(ack, rcv->end - maxackwin))
		return SEG_DROP;
	/* Stores only when something moves: a busy flow's cache lines stay clean. */
	if (snd->maxwin < win)
		snd->maxwin = win;
	if (seq_after(end, snd->end))
		snd->end = end;
	if (tcp->ack) {
		if (seq_after(ack, snd->maxack))
			snd->maxack = ack;
		/* A zero window still admits a one-byte probe. */
		right = ack + (win ? win : 1);
		if (seq_after(right, rcv->maxend))
			rcv->maxend = right;
	}
	return SEG_OK;
}

#endif

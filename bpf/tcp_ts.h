/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP timestamps (RFC 7323) shifted per flow, so that a broker's
 * TIME_WAIT accepts the next SYN on a reused SNAT port.
 *
 * A broker closes first after DISCONNECT and holds TIME_WAIT on its side
 * of the SNAT tuple for 60 s. Linux lets a SYN reopen a TIME_WAIT tuple
 * when its TSval is newer than the last one the old connection sent
 * (tcp_timewait_state_process()); another client's TSval is newer only by
 * chance, and a refused SYN costs that client a 1 s retransmission.
 *
 * So the data plane gives each flow a TSval clock of its own: the SYN's
 * TSval becomes the balancer's clock (ts_clock(), 65.5 µs ticks) and
 * every later client TSval keeps the same offset; the backend's TSecr is
 * shifted back on the way to the client, which so sees its own values.
 * A client's clock ticks at most every millisecond (Linux, the BSDs), 15
 * times slower than ts_clock(), so the last TSval of a closed flow stays
 * behind ts_clock() and any later SYN on that port is newer. Whether it
 * did is checked on the client's FIN and what follows it: a flow whose
 * last TSval was not behind, or too far behind to compare a TIME_WAIT
 * later (a microsecond TSval clock, a flow of a day whose offset grew
 * past 2^30 ticks), or that sent two timestamps options, is marked
 * MQLB_FLOW_TS_STALE and still gets the daemon's RST, as does a flow
 * without timestamps. A SYN without usable timestamps (none, or TSval 0,
 * which Linux's PAWS exempts and a shift would not) is not shifted, and
 * avoids the tuples such TIME_WAITs hold (maps.h, tw_ts).
 */
#ifndef MQLB_BPF_TCP_TS_H
#define MQLB_BPF_TCP_TS_H

#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include "parse.h"
#include "csum.h"
#include "tcp_opt.h"

/* NOP, NOP, kind 8, length 10: how Linux and most stacks lead every non-SYN segment. */
#define TCP_TS_LEAD 0x0101080aU
#define TS_KIND_LEN (TCPOPT_TS << 8 | TCPOLEN_TS)

/* The balancer's TSval clock: bpf_ktime_get_ns() in 65.536 µs ticks. */
static __always_inline __u32 ts_clock(__u64 now_ns)
{
	return (__u32)(now_ns >> 16);
}

enum tcp_ts_find {
	TS_NONE = 0,     /* no timestamps option (or the list is cut short before one) */
	TS_FOUND,
	TS_AMBIGUOUS,    /* two of them: which one the backend reads is not ours to guess */
};

/*
 * The timestamps option of a segment whose header check_ours() accepted:
 * *ts points at its TSval (TSecr follows) when TS_FOUND. Nearly every
 * segment but a SYN is NOP, NOP, timestamps and nothing else, read at its
 * fixed place; anything else is walked.
 */
static __always_inline enum tcp_ts_find tcp_ts_find(struct xdp_md *ctx, const struct pkt *p,
						   __be32 **ts)
{
	__u8 *opt = (__u8 *)(p->tcp + 1);
	__u32 opt_off, optlen;
	__be32 *t;
	int off;

	if (p->tcp->doff == 8 && (void *)(opt + 12) <= p->data_end &&
	    *(__be32 *)opt == bpf_htonl(TCP_TS_LEAD)) {
		*ts = (__be32 *)(opt + 4);
		return TS_FOUND;
	}
	if (p->tcp->doff <= 5)
		return TS_NONE;
	tcp_opt_span(ctx, p, &opt_off, &optlen);
	off = mqlb_tcp_opt_find(ctx, opt_off, optlen, 0, TS_KIND_LEN);
	if (off < 0 || off > TCP_OPT_MAX - 8)
		return TS_NONE;
	t = (__be32 *)(opt + off);
	if ((void *)(t + 2) > p->data_end)
		return TS_NONE;
	*ts = t;
	/* Linux reads the last one: with two, which one the backend keeps is not ours to guess. */
	if (mqlb_tcp_opt_find(ctx, opt_off, optlen, (__u32)off + 8, TS_KIND_LEN) >= 0)
		return TS_AMBIGUOUS;
	return TS_FOUND;
}

/*
 * Replace a 32-bit word of the TCP header or options, keeping the checksum
 * right. Options keep no word on an even offset: an option after an
 * unpadded 3-byte window scale, say, starts its TSval at an odd one. Its bytes then
 * straddle the checksum's 16-bit words, and a ones' complement sum of bytes
 * shifted by one is the byte-swapped sum (RFC 1071 2(B)): the difference is
 * computed as if aligned and swapped before it is added.
 */
static __always_inline void tcp_word_set(struct tcphdr *tcp, __be32 *w, __u32 val)
{
	__be32 nv = bpf_htonl(val);
	__u16 d;

	if (!(((long)w - (long)tcp) & 1)) {
		csum_replace4(&tcp->check, *w, nv);
	} else {
		d = csum16_add(csum16_add((__u16)~(*w >> 16), (__u16)~*w),
			       csum16_add((__u16)(nv >> 16), (__u16)nv));
		d = (__u16)(d << 8 | d >> 8);
		tcp->check = ~csum16_add((__u16)~tcp->check, d);
	}
	*w = nv;
}

/*
 * A shifted TSval that a SYN a TIME_WAIT later (60 s, 915,527 ticks) is
 * sure to follow: behind ts_clock() now, by less than 2^30 ticks, so the
 * broker's 32-bit comparison cannot wrap.
 */
static __always_inline bool ts_behind_clock(__u32 val, __u64 now)
{
	__u32 gap = ts_clock(now) - val;

	return (__s32)gap > 0 && gap < (1U << 30);
}

/*
 * Client -> backend: shift the TSval. Returns MQLB_FLOW_TS_STALE for a
 * segment with two timestamps options, or one at or after the client's
 * FIN whose shifted TSval is not safely behind the clock, or that has
 * none; else 0.
 */
static __always_inline __u32 ts_to_backend(struct xdp_md *ctx, struct pkt *p,
					    const struct mqlb_flow *f)
{
	bool closing = p->tcp->fin || (f->tcp_flags & MQLB_FLOW_FIN_CLIENT);
	__be32 *ts = NULL;
	__u32 val;

	switch (tcp_ts_find(ctx, p, &ts)) {
	case TS_FOUND:
		break;
	case TS_AMBIGUOUS:
		return MQLB_FLOW_TS_STALE;
	default:
		return closing ? MQLB_FLOW_TS_STALE : 0;
	}
	val = bpf_ntohl(*ts) + f->ts_off;
	tcp_word_set(p->tcp, ts, val);
	/* A bound flow: the client echoes the backend's TSvals as it was shown them. */
	if (f->tsval_delta && p->tcp->ack)
		tcp_word_set(p->tcp, ts + 1, bpf_ntohl(ts[1]) + f->tsval_delta);
	/* The fine clock, as at the SYN: the coarse one lags it by up to a tick. */
	return closing && !ts_behind_clock(val, bpf_ktime_get_ns()) ? MQLB_FLOW_TS_STALE : 0;
}

/*
 * Backend -> client: shift the TSecr back (it only means something with ACK
 * set), and for a bound flow the TSval too.
 */
static __always_inline void ts_to_client(struct xdp_md *ctx, struct pkt *p,
					 const struct mqlb_flow *f)
{
	__be32 *ts = NULL;

	if (tcp_ts_find(ctx, p, &ts) != TS_FOUND)
		return;
	if (p->tcp->ack)
		tcp_word_set(p->tcp, ts + 1, bpf_ntohl(ts[1]) - f->ts_off);
	/* A bound flow: the backend's TSvals as a continuation of the balancer's SYN-ACK. */
	if (f->tsval_delta)
		tcp_word_set(p->tcp, ts, bpf_ntohl(ts[0]) - f->tsval_delta);
}

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_TEST_RUN tests of the per-flow TCP timestamp shift
 * (bpf/tcp_ts.h): a client SYN with timestamps starts the flow's TSvals
 * at the balancer's clock, every later client TSval keeps the offset, the
 * backend's TSecr comes back unshifted, options in any order are found,
 * malformed ones are left alone, and a closing flow is judged covered
 * (no RST owed to a broker in TIME_WAIT) or stale; and 3,000 random option
 * blocks go both ways against a reference walk of the options.
 *
 * The harness is test_xdp.c's (fixtures.h); see there for the namespace.
 * Every output frame is compared whole with one built from scratch, so the
 * incremental checksum updates are checked too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mqlb_abi.h"
#include "mqlb.skel.h"
#include "pktbuild.h"
/* fixtures.h is test_xdp.c's too: what only that file uses is unused here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#include "fixtures.h"
#pragma GCC diagnostic pop

/* TCP options as bytes; a builder appends, the frame takes them verbatim. */
struct opts {
	uint8_t b[40];
	uint8_t n;
};

static void o_put(struct opts *o, const uint8_t *b, size_t n)
{
	assert_true(o->n + n <= sizeof(o->b));
	memcpy(o->b + o->n, b, n);
	o->n = (uint8_t)(o->n + n);
}

static void o_ts(struct opts *o, uint32_t tsval, uint32_t tsecr)
{
	uint8_t b[10] = { 8, 10 };
	uint32_t v = htonl(tsval), e = htonl(tsecr);

	memcpy(b + 2, &v, 4);
	memcpy(b + 6, &e, 4);
	o_put(o, b, sizeof(b));
}

static void o_nops(struct opts *o, size_t n)
{
	static const uint8_t nop[40] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };

	o_put(o, nop, n);
}

/* What Linux puts in a SYN: MSS, SACK permitted, timestamps, NOP, window scale. */
static struct opts syn_opts(uint32_t tsval, uint32_t tsecr)
{
	static const uint8_t mss_sack[6] = { 2, 4, 0x05, 0xb4, 4, 2 };
	static const uint8_t nop_ws[4] = { 1, 3, 3, 7 };
	struct opts o = { .n = 0 };

	o_put(&o, mss_sack, sizeof(mss_sack));
	o_ts(&o, tsval, tsecr);
	o_put(&o, nop_ws, sizeof(nop_ws));
	return o;
}

/* What Linux puts in every other segment: NOP, NOP, timestamps. */
static struct opts ts_opts(uint32_t tsval, uint32_t tsecr)
{
	struct opts o = { .n = 0 };

	o_nops(&o, 2);
	o_ts(&o, tsval, tsecr);
	return o;
}

/* A SACK block ahead of the timestamps: found by walking the options. */
static struct opts sack_then_ts(uint32_t tsval, uint32_t tsecr)
{
	static const uint8_t sack[10] = { 5, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0 };
	struct opts o = { .n = 0 };

	o_nops(&o, 2);
	o_put(&o, sack, sizeof(sack));
	o_ts(&o, tsval, tsecr);
	o_nops(&o, 2);
	return o;
}

/* A window scale right before the timestamps: the TSval at an odd offset. */
static struct opts ws_then_ts(uint32_t tsval, uint32_t tsecr)
{
	static const uint8_t ws[3] = { 3, 3, 7 };
	struct opts o = { .n = 0 };

	o_put(&o, ws, sizeof(ws));
	o_ts(&o, tsval, tsecr);
	o_nops(&o, 3);
	return o;
}

static uint32_t ts_clock_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint32_t)(((uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec) >> 16);
}

static void use_opts(struct pkt_spec *s, const struct opts *o)
{
	s->tcp_opts = o->b;
	s->tcp_opt_len = o->n;
}

/* A client segment with options o: to the flow's backend, options now w. */
static void client_ts(struct lb *lb, struct conn *c, uint8_t flags, const struct opts *o,
		      const struct opts *w)
{
	struct pkt_spec s, want;
	struct frame in, out;

	spec_conn(&s, c, flags);
	use_opts(&s, o);
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, c->cif, &out), XDP_REDIRECT);
	want = s;
	use_opts(&want, w);
	expect_to_backend(&out, &want, c->be, c->snat_port);
	c->cnxt += !!(flags & TF_FIN);
}

/* A backend segment with options o: to the client, options now w. */
static void backend_ts(struct lb *lb, struct conn *c, uint8_t flags, const struct opts *o,
		       const struct opts *w)
{
	struct pkt_spec s, want;
	struct frame in, out;

	spec_backend(&s, c->be, c->snat_port, flags);
	s.seq = flags & TF_SYN ? BACKEND_ISN : c->bnxt;
	s.ack_seq = c->cnxt;
	use_opts(&s, o);
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	want = s;
	use_opts(&want, w);
	expect_to_client(&out, &want, c);
	if (flags & TF_SYN)
		c->bnxt = BACKEND_ISN + 1;
	c->bnxt += !!(flags & TF_FIN);
}

/*
 * Open a connection whose SYN carries TSval tsval: the SYN must reach the
 * backend with its TSval moved to the balancer's clock, all else equal.
 * Returns the flow's offset.
 */
static uint32_t ts_syn(struct lb *lb, struct conn *c, __be32 caddr, __u16 cport, uint32_t tsval)
{
	struct opts o = syn_opts(tsval, 0), w;
	uint32_t lo, hi, shifted;
	struct pkt_spec s, want;
	struct frame in, out;
	struct mqlb_flow f;
	struct pkt_view v;

	conn_init(c, caddr, cport);
	spec_conn(&s, c, TF_SYN);
	use_opts(&s, &o);
	pkt_build(&in, &s);
	lo = ts_clock_now();
	assert_int_equal(xdp_run(lb, &in, E.if_cli, &out), XDP_REDIRECT);
	hi = ts_clock_now();
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	c->be = be_index(v.ip->daddr);
	c->snat_port = ntohs(v.tcp->source);
	assert_in_range(c->be, 0, NBACKENDS - 1);

	flow_get(lb, caddr, cport, &f);
	assert_true(f.tcp_flags & MQLB_FLOW_TS_SHIFT);
	shifted = tsval + f.ts_off;
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: the SYN's TSval is its clock at the run. */
	assert_in_range(shifted, lo, hi);
	w = syn_opts(shifted, 0);
	want = s;
	use_opts(&want, &w);
	expect_to_backend(&out, &want, c->be, c->snat_port);
	return f.ts_off;
}

/* ts_syn(), then the rest of the handshake (no options: they are not under test there). */
static uint32_t ts_open(struct lb *lb, struct conn *c, __be32 caddr, __u16 cport, uint32_t tsval)
{
	uint32_t off = ts_syn(lb, c, caddr, cport, tsval);

	establish(lb, c);
	return off;
}

/* Through the handshake and a data exchange, both ways, in both option layouts. */
static void test_ts_shift_both_ways(void **state)
{
	static struct opts (*const layouts[])(uint32_t, uint32_t) = { ts_opts, sack_then_ts,
								      ws_then_ts };
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct opts o, w;
	struct conn c;
	uint32_t off;
	size_t i;

	NEED_LB();
	stats_read(lb, before);
	off = ts_syn(lb, &c, CLIENT1, 48000, 1000);
	stats_read(lb, after);
	assert_int_equal(after[MQLB_STAT_FLOW_TS_SHIFTED] - before[MQLB_STAT_FLOW_TS_SHIFTED], 1);

	/* The SYN-ACK echoes the shifted TSval; the client gets its own back. */
	o = syn_opts(777, 1000 + off);
	w = syn_opts(777, 1000);
	backend_ts(lb, &c, TF_SYN | TF_ACK, &o, &w);
	/*
	 * The broker's TSval is never touched; the client's keeps the offset. In
	 * the fixed layout; after a SACK block (the options are walked); at an
	 * odd offset (the checksum's words straddle the option).
	 */
	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		uint32_t cv = 1001 + i, bv = 778 + i;

		o = layouts[i](cv, bv - 1);
		w = layouts[i](cv + off, bv - 1);
		client_ts(lb, &c, TF_ACK, &o, &w);
		o = layouts[i](bv, cv + off);
		w = layouts[i](bv, cv);
		backend_ts(lb, &c, TF_ACK, &o, &w);
	}
	/* Offsets wrap modulo 2^32 like the TSvals themselves. */
	o = ts_opts(0xfffffff0u, 779);
	w = ts_opts(0xfffffff0u + off, 779);
	client_ts(lb, &c, TF_ACK, &o, &w);
	assert_int_equal(flow_flags(lb, &c) & (MQLB_FLOW_TS_SHIFT | MQLB_FLOW_TS_STALE),
			 MQLB_FLOW_TS_SHIFT);
	maps_consistent(lb, 1);
}

/* Options the data plane cannot read with certainty are forwarded exactly as they came. */
static void test_ts_malformed_untouched(void **state)
{
	static const uint8_t zero_len[2] = { 5, 0 };
	static const uint8_t past_end[2] = { 5, 30 };
	static const uint8_t eol[1] = { 0 };
	static const uint8_t ts_len8[10] = { 8, 8, 0, 0, 0, 1, 0, 0, 0, 2 };
	struct lb *lb = &E.lb;
	struct opts o;
	struct conn c;

	NEED_LB();
	ts_open(lb, &c, CLIENT1, 48100, 1000);

	o = (struct opts){ .n = 0 };
	o_put(&o, zero_len, sizeof(zero_len));
	o_ts(&o, 1001, 7);
	client_ts(lb, &c, TF_ACK, &o, &o);

	o = (struct opts){ .n = 0 };
	o_nops(&o, 2);
	o_put(&o, past_end, sizeof(past_end));
	o_nops(&o, 8);
	client_ts(lb, &c, TF_ACK, &o, &o);

	o = (struct opts){ .n = 0 };
	o_put(&o, eol, sizeof(eol));
	o_nops(&o, 1);
	o_ts(&o, 1001, 7);
	client_ts(lb, &c, TF_ACK, &o, &o);

	o = (struct opts){ .n = 0 };
	o_nops(&o, 2);
	o_put(&o, ts_len8, sizeof(ts_len8));
	client_ts(lb, &c, TF_ACK, &o, &o);

	/* Timestamps cut by the end of the options (doff), though their bytes follow,
	 * in the layout the fixed-place read would take, and walked. */
	for (int lead = 2; lead <= 3; lead++) {
		struct pkt_spec s;
		struct frame in, out;

		o = (struct opts){ .n = 0 };
		o_nops(&o, (size_t)lead);
		o_ts(&o, 1001, 7);
		o_nops(&o, 16 - 10 - (size_t)lead);
		spec_conn(&s, &c, TF_ACK);
		use_opts(&s, &o);
		s.doff = 5 + 8 / 4;  /* the option block ends inside the timestamps */
		pkt_build(&in, &s);
		assert_int_equal(xdp_run(lb, &in, c.cif, &out), XDP_REDIRECT);
		expect_to_backend(&out, &s, c.be, c.snat_port);
	}

	/* Two timestamps options: left alone, and the flow is stale at once. */
	o = ts_opts(1001, 7);
	o_ts(&o, 1002, 7);
	o_nops(&o, 2);
	client_ts(lb, &c, TF_ACK, &o, &o);
	assert_true(flow_flags(lb, &c) & MQLB_FLOW_TS_STALE);
	maps_consistent(lb, 1);
}

/* Linux skips a kind-8 option of the wrong length and reads the next one: so does the walk. */
static void test_ts_skips_bad_length(void **state)
{
	static const uint8_t ts_len8[8] = { 8, 8, 0, 0, 0, 1, 0, 0 };
	struct lb *lb = &E.lb;
	struct opts o, w;
	struct conn c;
	uint32_t off;

	NEED_LB();
	off = ts_open(lb, &c, CLIENT1, 48150, 1000);
	o = (struct opts){ .n = 0 };
	o_put(&o, ts_len8, sizeof(ts_len8));
	w = o;
	o_ts(&o, 1001, 7);
	o_nops(&o, 2);
	o_ts(&w, 1001 + off, 7);
	o_nops(&w, 2);
	client_ts(lb, &c, TF_ACK, &o, &w);
	assert_false(flow_flags(lb, &c) & MQLB_FLOW_TS_STALE);
}

/*
 * A SYN whose TSval is 0 is not shifted: Linux's PAWS exempts a
 * ts_recent of 0 (stacks that send 0 in the SYN and real values after),
 * and a shifted one would be checked.
 */
static void test_ts_syn_tsval_zero(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct opts o = syn_opts(0, 0);
	struct lb *lb = &E.lb;
	struct pkt_spec s;
	struct frame in, out;
	struct conn c;

	NEED_LB();
	conn_init(&c, CLIENT1, 48160);
	spec_conn(&s, &c, TF_SYN);
	use_opts(&s, &o);
	pkt_build(&in, &s);
	stats_read(lb, before);
	forward_new(lb, &c, &s, E.if_cli, XDP_REDIRECT);  /* the frame goes on unchanged */
	stats_read(lb, after);
	assert_false(flow_flags(lb, &c) & MQLB_FLOW_TS_SHIFT);
	assert_int_equal(after[MQLB_STAT_FLOW_TS_SHIFTED], before[MQLB_STAT_FLOW_TS_SHIFTED]);
	(void)in;
	(void)out;
}

/* Without timestamps in the SYN, later timestamps are the client's business. */
static void test_ts_not_negotiated(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct opts o = ts_opts(1001, 7);
	struct conn c;

	NEED_LB();
	stats_read(lb, before);
	open_conn(lb, &c, CLIENT1, 48200, NULL);  /* MSS only */
	stats_read(lb, after);
	assert_int_equal(after[MQLB_STAT_FLOW_TS_SHIFTED], before[MQLB_STAT_FLOW_TS_SHIFTED]);
	assert_false(flow_flags(lb, &c) & MQLB_FLOW_TS_SHIFT);
	establish(lb, &c);
	client_ts(lb, &c, TF_ACK, &o, &o);
	backend_ts(lb, &c, TF_ACK, &o, &o);
}

/* A TSecr only means something with ACK set: a bare RST's is left alone. */
static void test_ts_no_ack_untouched(void **state)
{
	struct lb *lb = &E.lb;
	struct opts o = ts_opts(900, 4242);
	struct conn c;

	NEED_LB();
	ts_open(lb, &c, CLIENT1, 48250, 1000);
	backend_ts(lb, &c, TF_RST, &o, &o);
}

/* The broker closes first, then the client's FIN with options o. */
static __u32 close_backend_first(struct lb *lb, struct conn *c, const struct opts *o,
				 const struct opts *w)
{
	struct opts b = ts_opts(800, 0);
	struct pkt_spec s;
	struct frame in, out;

	/* Only the flags it leaves matter here, not its TSecr. */
	spec_backend(&s, c->be, c->snat_port, TF_FIN | TF_ACK);
	s.seq = c->bnxt;
	s.ack_seq = c->cnxt;
	use_opts(&s, &b);
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	c->bnxt++;
	client_ts(lb, c, TF_FIN | TF_ACK, o, w);
	return flow_flags(lb, c);
}

/*
 * A flow with timestamps that the broker closes first, its client's FIN 2
 * ms on (two ticks of a millisecond clock, 30 of the balancer's): covered.
 * Returns its flags.
 */
static __u32 covered_flow(struct lb *lb, struct conn *c, __u16 cport)
{
	uint32_t off = ts_open(lb, c, CLIENT1, cport, 5000);
	struct opts o = ts_opts(5002, 800), w = ts_opts(5002 + off, 800);

	usleep(2000);
	return close_backend_first(lb, c, &o, &w);
}

/*
 * A flow is covered when its last TSval stays behind the balancer's clock:
 * no RST is owed, and a client reusing its port at once just recycles the
 * flow. A client whose TSval clock runs ahead (microseconds), or a FIN
 * without timestamps, leaves the flow stale: the RST is owed as before.
 */
static void test_ts_covers_time_wait(void **state)
{
	struct lb *lb = &E.lb;
	struct mqlb_flow old, r;
	struct mqlb_flow_key rk;
	struct opts o, w;
	struct conn c;
	uint32_t off, off2;
	__u32 fl;

	NEED_LB();
	fl = covered_flow(lb, &c, 48300);
	assert_true(MQLB_FLOW_BACKEND_IN_TIME_WAIT(fl));
	assert_true(MQLB_FLOW_TS_COVERS(fl));
	assert_false(MQLB_FLOW_BACKEND_RST_DUE(fl));
	flow_get(lb, CLIENT1, 48300, &old);
	rk = (struct mqlb_flow_key){ .client_addr_be = old.backend_addr_be,
		.vip_addr_be = old.snat_addr_be, .client_port_be = old.backend_port_be,
		.vip_port_be = old.snat_port_be };

	/* The same client port at once: recycled, not retired, and its SYN is newer. */
	off2 = ts_open(lb, &c, CLIENT1, 48300, 3);
	assert_int_not_equal(bpf_map_lookup_elem(lb->flows, &rk, &r), 0);
	assert_true((int32_t)((3 + off2) - (5002 + old.ts_off)) > 0);

	/* A microsecond TSval clock runs ahead of the balancer's: stale. */
	off = ts_open(lb, &c, CLIENT1, 48301, 1000000);
	o = ts_opts(1000000 + 5000000, 800);
	w = ts_opts(1000000 + 5000000 + off, 800);
	fl = close_backend_first(lb, &c, &o, &w);
	assert_true(fl & MQLB_FLOW_TS_STALE);
	assert_true(MQLB_FLOW_BACKEND_RST_DUE(fl));

	/* Just ahead is as stale: a FIN 1,000 TSval ticks on, at once (65 ms of our clock). */
	off = ts_open(lb, &c, CLIENT1, 48304, 7000);
	o = ts_opts(8000, 800);
	w = ts_opts(8000 + off, 800);
	fl = close_backend_first(lb, &c, &o, &w);
	assert_true(fl & MQLB_FLOW_TS_STALE);

	/* A FIN without timestamps on a flow that had them: stale. */
	ts_open(lb, &c, CLIENT1, 48302, 1000);
	o = (struct opts){ .n = 0 };
	fl = close_backend_first(lb, &c, &o, &o);
	assert_true(fl & MQLB_FLOW_TS_STALE);
	assert_true(MQLB_FLOW_BACKEND_RST_DUE(fl));

	/* After a covered FIN, a segment ahead of the clock (an ACK of the broker's FIN) spoils it. */
	assert_true(MQLB_FLOW_TS_COVERS(covered_flow(lb, &c, 48305)));
	flow_get(lb, CLIENT1, 48305, &old);
	off = old.ts_off;
	o = ts_opts(5002 + 1000, 800);
	w = ts_opts(5002 + 1000 + off, 800);
	client_ts(lb, &c, TF_ACK, &o, &w);
	assert_true(flow_flags(lb, &c) & MQLB_FLOW_TS_STALE);

	/* A FIN too far behind the clock (2^30 ticks: a flow of a day) compares wrongly a
	 * TIME_WAIT later: stale. The flow's offset is set so. */
	off = ts_open(lb, &c, CLIENT1, 48306, 1000);
	{
		struct mqlb_flow f;
		struct mqlb_flow_key k = {
			.client_addr_be = CLIENT1, .vip_addr_be = VIP_ADDR,
			.client_port_be = htons(48306), .vip_port_be = htons(VIP_PORT),
		};

		flow_get(lb, CLIENT1, 48306, &f);
		f.ts_off -= (1U << 30) + 16;
		off = f.ts_off;
		assert_int_equal(bpf_map_update_elem(lb->flows, &k, &f, BPF_EXIST), 0);
	}
	o = ts_opts(1001, 800);
	w = ts_opts(1001 + off, 800);
	fl = close_backend_first(lb, &c, &o, &w);
	assert_true(fl & MQLB_FLOW_TS_STALE);

	/* Stale is for closing: the same TSval ahead of the clock mid-flow is fine. */
	off = ts_open(lb, &c, CLIENT1, 48303, 1000);
	o = ts_opts(1000 + 5000000, 800);
	w = ts_opts(1000 + 5000000 + off, 800);
	client_ts(lb, &c, TF_ACK, &o, &w);
	assert_false(flow_flags(lb, &c) & MQLB_FLOW_TS_STALE);
}

/* ---- random option blocks against a reference walk ---- */

static uint32_t rnd_state = 0x9e3779b9u;

static uint32_t rnd(void)
{
	/* xorshift32: the same sequence on every run, so a failure can be replayed */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/*
 * Where Linux (tcp_parse_options()) reads the TSval in b[0..n): EOL ends
 * the list, NOP is one byte, an option whose length byte is below 2 or
 * runs past the list ends it, a kind-8 option only counts at length 10,
 * and the last one counts. Returns its offset, -1 for none, -2 when there
 * were two or more (the data plane then leaves the segment alone).
 */
static int ref_ts_offset(const uint8_t *b, size_t n)
{
	size_t off = 0;
	int found = -1, count = 0;

	while (off < n && b[off] != 0) {
		if (b[off] == 1) {
			off++;
			continue;
		}
		if (off + 1 >= n || b[off + 1] < 2 || off + b[off + 1] > n)
			break;
		if (b[off] == 8 && b[off + 1] == 10) {
			found = (int)off + 2;
			count++;
		}
		off += b[off + 1];
	}
	return count > 1 ? -2 : found;
}

/* An option block of n bytes (a multiple of 4), mostly well formed, sometimes not. */
static void random_opts(struct opts *o, size_t n)
{
	static const uint8_t sack[18] = { 5, 18 };
	static const uint8_t mss[4] = { 2, 4, 5, 0xb4 };
	uint8_t junk[8];

	o->n = 0;
	while (o->n < n) {
		size_t left = n - o->n, k;

		switch (rnd() % 8) {
		case 0:
		case 1:
			o_nops(o, 1);
			break;
		case 2:
			if (left >= 10)
				o_ts(o, rnd(), rnd());
			break;
		case 3:
			if (left >= 18)
				o_put(o, sack, sizeof(sack));
			break;
		case 4:
			if (left >= 4)
				o_put(o, mss, sizeof(mss));
			break;
		case 5:
			if (rnd() % 4 == 0)
				o_put(o, (const uint8_t[]){ 0 }, 1);
			break;
		default:
			/* any kind, any length byte (0, 1, too long included) */
			k = left < sizeof(junk) ? left : sizeof(junk);
			for (size_t i = 0; i < k; i++)
				junk[i] = (uint8_t)rnd();
			junk[0] = (uint8_t)(rnd() % 4 == 0 ? 8 : junk[0]);
			o_put(o, junk, k);
			break;
		}
	}
}

static void shift_word(struct opts *o, int at, uint32_t delta)
{
	uint32_t v;

	memcpy(&v, o->b + at, 4);
	v = htonl(ntohl(v) + delta);
	memcpy(o->b + at, &v, 4);
}

/*
 * 3,000 random option blocks of every legal length through an established
 * flow with timestamps, both ways: the output must be the input with the
 * tuple translated and, exactly where the reference walk finds the one
 * option, TSval + offset (to the backend) or TSecr - offset (to the
 * client); nothing else may change, and the checksums must hold.
 */
static void test_ts_random_options(void **state)
{
	struct lb *lb = &E.lb;
	struct opts o, w;
	struct conn c;
	uint32_t off;
	int i, at, found = 0, two = 0;

	NEED_LB();
	off = ts_open(lb, &c, CLIENT1, 48400, 1000);
	for (i = 0; i < 3000; i++) {
		random_opts(&o, 4 * (rnd() % 11));
		w = o;
		at = ref_ts_offset(o.b, o.n);
		if (at >= 0) {
			found++;
			shift_word(&w, at, off);
		} else if (at == -2) {
			two++;
		}
		client_ts(lb, &c, TF_ACK, &o, &w);
		/* Two timestamps options make the flow stale for good, at once. */
		assert_int_equal(!!(flow_flags(lb, &c) & MQLB_FLOW_TS_STALE), two > 0);
		w = o;
		if (at >= 0)
			shift_word(&w, at + 4, -off);
		backend_ts(lb, &c, TF_ACK, &o, &w);
	}
	/* Every kind was exercised. */
	assert_in_range(found, 300, 2700);
	assert_in_range(two, 10, 1000);
}

/* A SYN with the Linux options but no timestamps: MSS, SACK permitted, NOPs, window scale. */
static struct opts syn_opts_no_ts(void)
{
	static const uint8_t b[12] = { 2, 4, 0x05, 0xb4, 4, 2, 1, 1, 1, 3, 3, 7 };
	struct opts o = { .n = 0 };

	o_put(&o, b, sizeof(b));
	return o;
}

/* Open a connection on backend 0 with SYN options o; returns its SNAT port. */
static __u16 open_on(struct lb *lb, struct conn *c, __u16 cport, const struct opts *o)
{
	struct pkt_spec s;

	conn_init(c, CLIENT1, cport);
	spec_conn(&s, c, TF_SYN);
	use_opts(&s, o);
	forward_new(lb, c, &s, E.if_cli, XDP_REDIRECT);
	assert_int_equal(c->be, 0);
	return c->snat_port;
}

/* A fresh data plane whose new flows all go to backend 0, over SNAT ports min-max. */
static void only_backend0(struct lb *lb, __u16 min, __u16 max)
{
	static const uint16_t only0[1] = { 0 };

	lb_reset(lb);
	set_ring(lb, only0, 1);
	set_snat_range(lb, min, max);
}

/* Backend 0's translated tuple on SNAT port port. */
static struct mqlb_snat_key be0_tuple(__u16 port)
{
	return (struct mqlb_snat_key){ .backend_addr_be = BE_ADDR(0), .snat_addr_be = SNAT_ADDR,
				       .backend_port_be = htons(VIP_PORT),
				       .snat_port_be = htons(port) };
}

static void tw_mark_port(struct lb *lb, __u16 port)
{
	struct mqlb_snat_key k = be0_tuple(port);
	__u64 until = (__u64)-1;

	assert_int_equal(bpf_map_update_elem(lb->tw_ts, &k, &until, BPF_ANY), 0);
}

static bool tw_marked(struct lb *lb, __u16 port)
{
	struct mqlb_snat_key k = be0_tuple(port);
	__u64 until;

	return !bpf_map_lookup_elem(lb->tw_ts, &k, &until);
}

/*
 * A TIME_WAIT left to the timestamps marks its tuple (on recycling, and
 * when the reaper removes the flow); a SYN without timestamps passes over
 * marked tuples while another is free, and takes one only when none is;
 * a SYN with timestamps does not care.
 */
static void test_ts_marks_steer_syns_without(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct opts no_ts = syn_opts_no_ts();
	struct lb *lb = &E.lb;
	struct mqlb_flow f;
	struct conn c;
	__u16 port;
	struct mqlb_flow_key k;
	int i;

	NEED_LB();
	only_backend0(lb, 20000, 20003);

	/* Recycled: a covered flow whose client reuses its port marks the tuple. */
	assert_true(MQLB_FLOW_TS_COVERS(covered_flow(lb, &c, 48500)));
	port = c.snat_port;
	stats_read(lb, before);
	ts_open(lb, &c, CLIENT1, 48500, 9000);
	stats_read(lb, after);
	assert_true(tw_marked(lb, port));
	assert_int_equal(after[MQLB_STAT_FLOW_BACKEND_TIME_WAIT_TS] -
			 before[MQLB_STAT_FLOW_BACKEND_TIME_WAIT_TS], 1);

	/* Reaped: the same when the collector removes it. */
	only_backend0(lb, 20000, 20003);
	covered_flow(lb, &c, 48501);
	port = c.snat_port;
	flow_get(lb, CLIENT1, 48501, &f);
	k = (struct mqlb_flow_key){ .client_addr_be = CLIENT1, .vip_addr_be = VIP_ADDR,
		.client_port_be = htons(48501), .vip_port_be = htons(VIP_PORT) };
	assert_int_equal(reap_flow(lb, &k, &f), MQLB_REAP_DONE);
	assert_true(tw_marked(lb, port));

	/* Three of four ports marked: a SYN without timestamps always gets the fourth. */
	for (i = 0; i < 8; i++) {
		only_backend0(lb, 20000, 20003);
		tw_mark_port(lb, 20000);
		tw_mark_port(lb, 20001);
		tw_mark_port(lb, 20003);
		assert_int_equal(open_on(lb, &c, (__u16)(48510 + i), &no_ts), 20002);
		maps_consistent(lb, 1);
	}
	/* All four marked: it takes one anyway, counted, and only one is reserved. */
	tw_mark_port(lb, 20002);
	stats_read(lb, before);
	open_on(lb, &c, 48520, &no_ts);
	stats_read(lb, after);
	assert_int_equal(after[MQLB_STAT_SNAT_TW_FALLBACK] - before[MQLB_STAT_SNAT_TW_FALLBACK], 1);
	assert_int_equal(after[MQLB_STAT_SNAT_TW_AVOIDED] - before[MQLB_STAT_SNAT_TW_AVOIDED], 3);
	maps_consistent(lb, 2);

	/* With timestamps, a marked tuple is as good as any. */
	only_backend0(lb, 20000, 20000);
	tw_mark_port(lb, 20000);
	ts_open(lb, &c, CLIENT1, 48530, 1000);
	assert_int_equal(c.snat_port, 20000);
	lb_reset(lb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ts_shift_both_ways),
		T(test_ts_malformed_untouched),
		T(test_ts_not_negotiated),
		T(test_ts_covers_time_wait),
		T(test_ts_random_options),
		T(test_ts_skips_bad_length),
		T(test_ts_syn_tsval_zero),
		T(test_ts_no_ack_untouched),
		T(test_ts_marks_steer_syns_without),
	};

	return cmocka_run_group_tests_name("tcp_ts", tests, group_setup, group_teardown);
}

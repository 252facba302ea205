// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_TEST_RUN tests of the data plane against an off-path attacker
 * (bpf/tcp_window.h, evict.bpf.c): which segments may change a flow, each
 * side only from its own interface and addresses, half-open flows evicted
 * for new ones, per-source limits. The harness is test_xdp.c's
 * (fixtures.h), whose connections carry TCP numbers a real peer would.
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
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mqlb_abi.h"
#include "mqlb.skel.h"
#include "pktbuild.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#include "fixtures.h"
#pragma GCC diagnostic pop

/* Run one frame; it must get verdict and move exactly the counters in want. */
static void run_expect(struct lb *lb, const struct pkt_spec *s, int ifindex, __u32 verdict,
		       const struct sd *want, struct frame *out)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct frame in, o;
	__u32 got;

	pkt_build(&in, s);
	stats_read(lb, before);
	got = xdp_run(lb, &in, ifindex, out ? out : &o);
	stats_read(lb, after);
	if (got != verdict || !stats_exact(before, after, want)) {
		stats_print_delta(before, after);
		fail_msg("verdict %u, want %u", got, verdict);
	}
}

#define DROPPED(st) ((const struct sd[]){ { MQLB_STAT_RX_PACKETS, 1 }, { MQLB_STAT_##st, 1 }, SD_END })
#define FORWARDED(...)                                                                     \
	((const struct sd[]){ { MQLB_STAT_RX_PACKETS, 1 }, { MQLB_STAT_FWD_TO_BACKEND, 1 },    \
			      { MQLB_STAT_REDIRECT, 1 }, __VA_ARGS__ SD_END })
#define RETURNED(...)                                                                      \
	((const struct sd[]){ { MQLB_STAT_RX_PACKETS, 1 }, { MQLB_STAT_FWD_TO_CLIENT, 1 },     \
			      { MQLB_STAT_REDIRECT, 1 }, __VA_ARGS__ SD_END })

static void conn_est(struct lb *lb, struct conn *c, __be32 caddr, __u16 cport)
{
	open_conn(lb, c, caddr, cport, NULL);
	establish(lb, c);
}

/* The whole record but its last-seen stamp: what a refused segment must not change. */
static void flow_same(struct lb *lb, const struct conn *c, const struct mqlb_flow *was)
{
	struct mqlb_flow now;

	flow_get(lb, c->caddr, c->cport, &now);
	now.last_ns = was->last_ns;
	assert_memory_equal(&now, was, sizeof(now));
}

/* A client segment of c from its own tuple, with explicit numbers (the attacker's). */
static void forged_client(struct pkt_spec *s, const struct conn *c, uint8_t flags, __u32 seq,
			  __u32 ack)
{
	spec_conn(s, c, flags);
	s->seq = seq;
	s->ack_seq = ack;
	s->tcp_opt_len = 0;
}

static void forged_backend(struct pkt_spec *s, const struct conn *c, uint8_t flags, __u32 seq,
			   __u32 ack)
{
	spec_backend(s, c->be, c->snat_port, flags);
	s->seq = seq;
	s->ack_seq = ack;
}

/* ---- RST: exact closes, in the window passes, outside is dropped ---- */

static void test_rst_exact_closes(void **state)
{
	struct lb *lb = &E.lb;
	struct pkt_spec s;
	struct conn c;

	NEED_LB();
	/* At the sender's SND.NXT. */
	conn_est(lb, &c, CLIENT1, 41000);
	forged_client(&s, &c, TF_RST, c.cnxt, 0);
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED(), NULL);
	assert_true(flow_flags(lb, &c) & MQLB_FLOW_RST);

	/* At the receiver's RCV.NXT, its latest ACK, while the sender's data is unacknowledged. */
	conn_est(lb, &c, CLIENT1, 41001);
	client_send(lb, &c, TF_PSH | TF_ACK, "0123456789", 10);
	forged_client(&s, &c, TF_RST, c.cnxt - 10, 0);
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED(), NULL);
	assert_true(MQLB_FLOW_CLOSED(flow_flags(lb, &c)));

	/* From the backend, RST+ACK at its SND.NXT. */
	conn_est(lb, &c, CLIENT1, 41002);
	forged_backend(&s, &c, TF_RST | TF_ACK, c.bnxt, c.cnxt);
	run_expect(lb, &s, E.if_bk, XDP_REDIRECT, RETURNED(), NULL);
	assert_true(flow_flags(lb, &c) & MQLB_FLOW_RST);
}

static void test_rst_in_window_passes_untouched(void **state)
{
	struct lb *lb = &E.lb;
	struct mqlb_flow was;
	struct frame out;
	struct pkt_spec s;
	struct conn c;

	NEED_LB();
	conn_est(lb, &c, CLIENT1, 41100);
	flow_get(lb, c.caddr, c.cport, &was);
	forged_client(&s, &c, TF_RST, c.cnxt + 1000, 0);
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT,
		   FORWARDED({ MQLB_STAT_PASS_RST_IN_WINDOW, 1 },), &out);
	/* On to the backend as it came (translated), for its challenge ACK; the flow as it was. */
	expect_to_backend(&out, &s, c.be, c.snat_port);
	flow_same(lb, &c, &was);

	/* From the backend side just as well, toward the client. */
	forged_backend(&s, &c, TF_RST, c.bnxt + 1000, 0);
	run_expect(lb, &s, E.if_bk, XDP_REDIRECT,
		   RETURNED({ MQLB_STAT_PASS_RST_IN_WINDOW, 1 },), &out);
	expect_to_client(&out, &s, &c);
	flow_same(lb, &c, &was);
	/* The connection goes on. */
	client_send(lb, &c, TF_PSH | TF_ACK, "x", 1);
	reply(lb, &c, TF_ACK, NULL, 0, XDP_REDIRECT);
}

static void test_out_of_window_dropped(void **state)
{
	static const uint8_t kinds[] = { TF_RST, TF_RST | TF_ACK, TF_FIN | TF_ACK,
					 TF_PSH | TF_ACK, TF_ACK };
	struct lb *lb = &E.lb;
	struct mqlb_flow was;
	struct pkt_spec s;
	struct conn c;
	unsigned int i;

	NEED_LB();
	conn_est(lb, &c, CLIENT1, 41200);
	flow_get(lb, c.caddr, c.cport, &was);
	for (i = 0; i < sizeof(kinds); i++) {
		uint8_t k = kinds[i];
		bool rst = k & TF_RST;

		print_message("flags 0x%02x, half the sequence space away\n", k);
		forged_client(&s, &c, k, c.cnxt + 0x80000000u, c.bnxt);
		s.payload = "data";
		s.payload_len = k & TF_PSH ? 4 : 0;
		run_expect(lb, &s, E.if_cli, XDP_DROP,
			   rst ? DROPPED(DROP_RST_OUT_OF_WINDOW) : DROPPED(DROP_OUT_OF_WINDOW), NULL);
		flow_same(lb, &c, &was);
		forged_backend(&s, &c, k, c.bnxt - 0x70000000u, c.cnxt);
		run_expect(lb, &s, E.if_bk, XDP_DROP,
			   rst ? DROPPED(DROP_RST_OUT_OF_WINDOW) : DROPPED(DROP_OUT_OF_WINDOW), NULL);
		flow_same(lb, &c, &was);
	}
	/* In the window, but acknowledging what the backend never sent. */
	forged_client(&s, &c, TF_ACK, c.cnxt, c.bnxt + 100000);
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_OUT_OF_WINDOW), NULL);
	/* ... or a whole window back. */
	forged_client(&s, &c, TF_ACK, c.cnxt, c.bnxt - 200000);
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_OUT_OF_WINDOW), NULL);
	flow_same(lb, &c, &was);
}

/* Retransmissions, window updates and a zero-window probe are acceptable. */
static void test_liberal_where_conntrack_is(void **state)
{
	struct lb *lb = &E.lb;
	struct pkt_spec s;
	struct conn c;

	NEED_LB();
	conn_est(lb, &c, CLIENT1, 41300);
	client_send(lb, &c, TF_PSH | TF_ACK, "hello", 5);
	/* The same segment again (a retransmission), then a pure window update. */
	forged_client(&s, &c, TF_PSH | TF_ACK, c.cnxt - 5, c.bnxt);
	s.payload = "hello";
	s.payload_len = 5;
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED(), NULL);
	forged_client(&s, &c, TF_ACK, c.cnxt, c.bnxt);
	s.tcp_opt_len = 0;
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED(), NULL);
	/* The backend closes its window; the client may still probe one byte. */
	forged_backend(&s, &c, TF_ACK, c.bnxt, c.cnxt);
	s.flags = TF_ACK;
	{
		struct frame in, out;

		pkt_build(&in, &s);
		((struct tcphdr *)(in.b + ETH_HLEN + 20))->window = 0;
		((struct tcphdr *)(in.b + ETH_HLEN + 20))->check = 0;
		((struct tcphdr *)(in.b + ETH_HLEN + 20))->check =
			pkt_tcp4_csum((struct iphdr *)(in.b + ETH_HLEN), in.b + ETH_HLEN + 20,
				      in.len - ETH_HLEN - 20);
		assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	}
	forged_client(&s, &c, TF_PSH | TF_ACK, c.cnxt, c.bnxt);
	s.payload = "p";
	s.payload_len = 1;
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED(), NULL);
}

/* ---- SYN on a live flow ---- */

static void test_syn_on_established_keeps_flow(void **state)
{
	struct lb *lb = &E.lb;
	struct mqlb_flow was;
	struct frame out;
	struct pkt_spec s;
	struct conn c, next;

	NEED_LB();
	conn_est(lb, &c, CLIENT1, 41400);
	flow_get(lb, c.caddr, c.cport, &was);
	spec_conn(&s, &c, TF_SYN);
	s.seq = 0x12345678; /* another ISN: an attacker's, or a client that lost its socket */
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT,
		   FORWARDED({ MQLB_STAT_FLOW_SYN_CHALLENGE, 1 },), &out);
	/* To the same backend and SNAT port, unchanged: the backend answers a challenge ACK. */
	expect_to_backend(&out, &s, c.be, c.snat_port);
	flow_same(lb, &c, &was);
	/* Nor did it take a round-robin ticket: the next new flow goes to the next backend. */
	open_conn(lb, &next, CLIENT2, 41400, NULL);
	assert_int_equal(next.be, (c.be + 1) % NBACKENDS);
	/* ... and a client SYN on a half-closed flow is not a new connection either. */
	client_send(lb, &c, TF_FIN | TF_ACK, NULL, 0);
	spec_conn(&s, &c, TF_SYN);
	s.seq = 0x22345678;
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT,
		   FORWARDED({ MQLB_STAT_FLOW_SYN_CHALLENGE, 1 },), NULL);
}

/* ---- each side from its own interface and addresses ---- */

static void test_wrong_interface(void **state)
{
	struct lb *lb = &E.lb;
	struct mqlb_flow was;
	struct pkt_spec s;
	struct conn c;

	NEED_LB();
	conn_est(lb, &c, CLIENT1, 41500);
	flow_get(lb, c.caddr, c.cport, &was);
	/* A client's exact RST, from the backends' side. */
	forged_client(&s, &c, TF_RST, c.cnxt, 0);
	run_expect(lb, &s, E.if_bk, XDP_DROP, DROPPED(DROP_WRONG_IFACE), NULL);
	/* A backend's exact RST, from the clients' side. */
	forged_backend(&s, &c, TF_RST, c.bnxt, 0);
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_WRONG_IFACE), NULL);
	/* A SYN to the VIP from the backends' side. */
	spec_client(&s, CLIENT2, 41501, TF_SYN);
	run_expect(lb, &s, E.if_bk, XDP_DROP, DROPPED(DROP_WRONG_IFACE), NULL);
	flow_same(lb, &c, &was);
	assert_int_equal(map_count(lb->flows), 1);
}

static void test_not_a_backend(void **state)
{
	struct lb *lb = &E.lb;
	struct pkt_spec s;
	struct conn c;

	NEED_LB();
	conn_est(lb, &c, CLIENT1, 41600);
	/* To a SNAT port with no flow: from a backend, the kernel may answer; from anyone else, no. */
	forged_backend(&s, &c, TF_ACK, c.bnxt, c.cnxt);
	s.dport = (__u16)(c.snat_port == SNAT_MIN ? SNAT_MIN + 1 : SNAT_MIN);
	run_expect(lb, &s, E.if_bk, XDP_PASS, DROPPED(PASS_NO_FLOW_REPLY), NULL);
	s.saddr = IP4(10, 99, 2, 99);
	run_expect(lb, &s, E.if_bk, XDP_DROP, DROPPED(DROP_NOT_BACKEND), NULL);
	/* To the flow's own SNAT port from another address: no flow has that tuple either. */
	s.dport = c.snat_port;
	run_expect(lb, &s, E.if_bk, XDP_DROP, DROPPED(DROP_NOT_BACKEND), NULL);
}

/* ---- window scale and wrap ---- */

/* SYN options: MSS 1460, then the window scale ws (none when ws < 0). */
static void syn_ws(struct pkt_spec *s, uint8_t *opts, int ws)
{
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };

	memcpy(opts, mss, 4);
	opts[4] = 1;
	opts[5] = 3;
	opts[6] = 3;
	opts[7] = (uint8_t)(ws < 0 ? 0 : ws);
	s->tcp_opts = opts;
	s->tcp_opt_len = ws < 0 ? 4 : 8;
}

/*
 * A connection whose SYN and SYN-ACK announce window scales cws and bws
 * (none when < 0); the backend's SYN-ACK window is 1000, its next ACK too.
 */
static void open_scaled(struct lb *lb, struct conn *c, __u16 cport, int cws, int bws)
{
	uint8_t copts[8], bopts[8];
	struct frame in, out;
	struct pkt_spec s;

	conn_init(c, CLIENT1, cport);
	spec_conn(&s, c, TF_SYN);
	syn_ws(&s, copts, cws);
	forward_new(lb, c, &s, E.if_cli, XDP_REDIRECT);
	spec_backend(&s, c->be, c->snat_port, TF_SYN | TF_ACK);
	s.seq = BACKEND_ISN;
	s.ack_seq = c->cnxt;
	syn_ws(&s, bopts, bws);
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	c->bnxt = BACKEND_ISN + 1;
	client_send(lb, c, TF_ACK, NULL, 0);
	/* The backend's window from now on: 1000, scaled by its own shift if in use. */
	spec_backend(&s, c->be, c->snat_port, TF_ACK);
	s.seq = c->bnxt;
	s.ack_seq = c->cnxt;
	pkt_build(&in, &s);
	{
		struct tcphdr *t = (struct tcphdr *)(in.b + ETH_HLEN + 20);

		t->window = htons(1000);
		t->check = 0;
		t->check = pkt_tcp4_csum((struct iphdr *)(in.b + ETH_HLEN), t, in.len - ETH_HLEN - 20);
	}
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
}

static void test_window_scale(void **state)
{
	struct lb *lb = &E.lb;
	struct mqlb_flow f;
	struct pkt_spec s;
	struct conn c;

	NEED_LB();
	/* Both announce: the backend's 1000 means 128,000 bytes; 100,000 ahead is fine. */
	open_scaled(lb, &c, 41700, 7, 7);
	flow_get(lb, c.caddr, c.cport, &f);
	assert_int_equal(f.wscale[MQLB_SIDE_CLIENT], 7);
	assert_int_equal(f.wscale[MQLB_SIDE_BACKEND], 7);
	forged_client(&s, &c, TF_PSH | TF_ACK, c.cnxt + 100000, c.bnxt);
	s.payload = "z";
	s.payload_len = 1;
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED(), NULL);
	/* ... and past 128,000, not. */
	forged_client(&s, &c, TF_PSH | TF_ACK, c.cnxt + 130000, c.bnxt);
	s.payload = "z";
	s.payload_len = 1;
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_OUT_OF_WINDOW), NULL);

	/* Only the client announced: no scaling either way (RFC 7323 2.3). */
	open_scaled(lb, &c, 41701, 7, -1);
	flow_get(lb, c.caddr, c.cport, &f);
	assert_int_equal(f.wscale[MQLB_SIDE_CLIENT], 0);
	assert_int_equal(f.wscale[MQLB_SIDE_BACKEND], 0);
	forged_client(&s, &c, TF_PSH | TF_ACK, c.cnxt + 100000, c.bnxt);
	s.payload = "z";
	s.payload_len = 1;
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_OUT_OF_WINDOW), NULL);
	forged_client(&s, &c, TF_PSH | TF_ACK, c.cnxt + 900, c.bnxt);
	s.payload = "z";
	s.payload_len = 1;
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED(), NULL);
}

/* Sequence numbers wrap at 2^32: a flow whose numbers cross it carries on, and closes exactly. */
static void test_sequence_wrap(void **state)
{
	static char data[1000];
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct conn c;
	int i;

	NEED_LB();
	conn_init(&c, CLIENT1, 41800);
	spec_conn(&s, &c, TF_SYN);
	s.seq = 0xfffffc00u;
	forward_new(lb, &c, &s, E.if_cli, XDP_REDIRECT);
	c.cnxt = 0xfffffc01u;
	spec_backend(&s, c.be, c.snat_port, TF_SYN | TF_ACK);
	s.seq = 0xfffffff0u;
	s.ack_seq = c.cnxt;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	c.bnxt = 0xfffffff1u;
	client_send(lb, &c, TF_ACK, NULL, 0);
	for (i = 0; i < 3; i++) {
		client_send(lb, &c, TF_PSH | TF_ACK, data, sizeof(data));
		reply(lb, &c, TF_PSH | TF_ACK, data, 100, XDP_REDIRECT);
	}
	assert_true(c.cnxt < 0x1000 && c.bnxt < 0x1000); /* both wrapped */
	/* Just behind, before the wrap: in the window (not exact); half the space away: not. */
	forged_client(&s, &c, TF_RST, 0xfffff000u, 0);
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED({ MQLB_STAT_PASS_RST_IN_WINDOW, 1 },),
		   NULL);
	forged_client(&s, &c, TF_RST, c.cnxt + 0x80000000u, 0);
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_RST_OUT_OF_WINDOW), NULL);
	forged_client(&s, &c, TF_RST, c.cnxt, 0);
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED(), NULL);
	assert_true(flow_flags(lb, &c) & MQLB_FLOW_RST);
}

/* ---- before the backend's SYN-ACK ---- */

static void test_half_open_rules(void **state)
{
	struct lb *lb = &E.lb;
	struct frame out;
	struct pkt_spec s;
	struct conn c;

	NEED_LB();
	open_conn(lb, &c, CLIENT1, 41900, NULL);
	/* No data before the handshake, nor a SYN-ACK that does not acknowledge the SYN. */
	forged_client(&s, &c, TF_PSH | TF_ACK, c.cnxt, 1);
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_OUT_OF_WINDOW), NULL);
	forged_backend(&s, &c, TF_SYN | TF_ACK, BACKEND_ISN, c.cnxt + 7);
	run_expect(lb, &s, E.if_bk, XDP_DROP, DROPPED(DROP_OUT_OF_WINDOW), NULL);
	forged_backend(&s, &c, TF_RST | TF_ACK, 0, c.cnxt + 7);
	run_expect(lb, &s, E.if_bk, XDP_DROP, DROPPED(DROP_RST_OUT_OF_WINDOW), NULL);
	assert_int_equal(flow_flags(lb, &c), MQLB_FLOW_SYN);
	/* A backend refusing the SYN: its RST+ACK goes to the client and closes the flow. */
	forged_backend(&s, &c, TF_RST | TF_ACK, 0, c.cnxt);
	run_expect(lb, &s, E.if_bk, XDP_REDIRECT, RETURNED(), &out);
	expect_to_client(&out, &s, &c);
	assert_true(flow_flags(lb, &c) & MQLB_FLOW_RST);
	/* The client giving up at its SND.NXT closes a half-open flow too. */
	open_conn(lb, &c, CLIENT1, 41901, NULL);
	forged_client(&s, &c, TF_RST, c.cnxt, 0);
	run_expect(lb, &s, E.if_cli, XDP_REDIRECT, FORWARDED(), NULL);
	assert_true(flow_flags(lb, &c) & MQLB_FLOW_RST);
}

/* ---- SYN floods: half-open flows give way ---- */

static void test_evict_for_snat_port(void **state)
{
	static const uint16_t only0[] = { 0 };
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct conn c[4], n;
	struct frame in, out;
	struct pkt_spec s;
	int i;

	NEED_LB();
	set_ring(lb, only0, 1);
	set_snat_range(lb, 20000, 20003);
	for (i = 0; i < 4; i++)
		open_conn(lb, &c[i], CLIENT1, (__u16)(42000 + i), NULL);
	establish(lb, &c[1]); /* the oldest half-open is then c[0], and c[1] is never a victim */
	stats_read(lb, before);
	open_conn(lb, &n, CLIENT2, 42000, NULL);
	stats_read(lb, after);
	assert_int_equal(after[MQLB_STAT_FLOW_EVICTED] - before[MQLB_STAT_FLOW_EVICTED], 1);
	/* The oldest half-open flow's tuple, to the same backend. */
	assert_int_equal(n.snat_port, c[0].snat_port);
	assert_int_equal(n.be, c[0].be);
	{
		struct mqlb_flow gone;
		struct mqlb_flow_key k = { .client_addr_be = CLIENT1, .vip_addr_be = VIP_ADDR,
			.client_port_be = htons(42000), .vip_port_be = htons(VIP_PORT) };

		assert_int_not_equal(bpf_map_lookup_elem(lb->flows, &k, &gone), 0);
	}
	maps_consistent(lb, 4);

	/*
	 * The backend still holds the evicted flow's embryonic connection: it
	 * answers the new SYN with a bare ACK of the old one. The data plane
	 * resets that at the ACK's number, back to the backend, as the client
	 * would; the client never sees it, and its SYN retransmission gets in.
	 */
	forged_backend(&s, &n, TF_ACK, BACKEND_ISN + 1, c[0].cnxt);
	pkt_build(&in, &s);
	stats_read(lb, before);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	stats_read(lb, after);
	assert_int_equal(after[MQLB_STAT_RESET_STALE_BACKEND] - before[MQLB_STAT_RESET_STALE_BACKEND],
			 1);
	{
		struct pkt_view v;

		assert_int_equal(pkt_view_tcp4(&out, &v), 0);
		assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
		assert_int_equal(v.ip->saddr, SNAT_ADDR);
		assert_int_equal(v.ip->daddr, BE_ADDR(n.be));
		assert_int_equal(ntohs(v.tcp->source), n.snat_port);
		assert_true(v.tcp->rst && !v.tcp->ack);
		assert_int_equal(ntohl(v.tcp->seq), c[0].cnxt);
	}
	/* The new flow's own SYN-ACK then opens it as usual. */
	establish(lb, &n);

	/* All established: nothing to evict, the SYN is refused. */
	for (i = 2; i < 4; i++)
		establish(lb, &c[i]);
	spec_client(&s, CLIENT2, 42001, TF_SYN);
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_SNAT_EXHAUSTED), NULL);
	maps_consistent(lb, 4);
}

/* ---- limit-per-source, rate-per-source ---- */

static void set_limits(struct lb *lb, __u32 max_flows, __u32 rate)
{
	struct mqlb_config cfg;

	config_get(lb, &cfg);
	cfg.src_max_flows = max_flows;
	cfg.src_rate = rate;
	config_put(lb, &cfg);
}

static void test_source_limits(void **state)
{
	struct lb *lb = &E.lb;
	struct mqlb_flow_key k;
	struct mqlb_flow f;
	struct pkt_spec s;
	struct conn c[3];
	int i;

	NEED_LB();
	set_limits(lb, 2, 0);
	open_conn(lb, &c[0], CLIENT1, 43000, NULL);
	open_conn(lb, &c[1], CLIENT1, 43001, NULL);
	spec_client(&s, CLIENT1, 43002, TF_SYN);
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_SOURCE_LIMIT), NULL);
	/* Another address is not limited by this one's flows. */
	open_conn(lb, &c[2], CLIENT2, 43002, NULL);
	/* A flow that goes gives its source one more. */
	flow_get(lb, CLIENT1, 43000, &f);
	assert_true(f.tcp_flags & MQLB_FLOW_SRC_COUNTED);
	k = (struct mqlb_flow_key){ .client_addr_be = CLIENT1, .vip_addr_be = VIP_ADDR,
				    .client_port_be = htons(43000), .vip_port_be = htons(VIP_PORT) };
	assert_int_equal(reap_flow(lb, &k, &f), MQLB_REAP_DONE);
	open_conn(lb, &c[0], CLIENT1, 43002, NULL);
	/* ... and so does one recycled by a new SYN on its tuple after a RST. */
	client_send(lb, &c[1], TF_RST, NULL, 0);
	open_conn(lb, &c[1], CLIENT1, 43001, NULL);

	/* rate-per-source 3/s: a burst of 3, then refused within the second. */
	lb_reset(lb);
	set_limits(lb, 0, 3);
	for (i = 0; i < 3; i++)
		open_conn(lb, &c[0], CLIENT1, (__u16)(43100 + i), NULL);
	spec_client(&s, CLIENT1, 43103, TF_SYN);
	run_expect(lb, &s, E.if_cli, XDP_DROP, DROPPED(DROP_SOURCE_RATE), NULL);
	open_conn(lb, &c[2], CLIENT2, 43100, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rst_exact_closes),
		T(test_rst_in_window_passes_untouched),
		T(test_out_of_window_dropped),
		T(test_liberal_where_conntrack_is),
		T(test_syn_on_established_keeps_flow),
		T(test_wrong_interface),
		T(test_not_a_backend),
		T(test_window_scale),
		T(test_sequence_wrap),
		T(test_half_open_rules),
		T(test_evict_for_snat_port),
		T(test_source_limits),
	};

	return cmocka_run_group_tests_name("window", tests, group_setup, group_teardown);
}

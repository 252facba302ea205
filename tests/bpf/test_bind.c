// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_TEST_RUN tests of delayed binding (bpf/bind.h): the SYN cookie
 * handshake, the CONNECT read and stashed, the backend's SYN, its SYN-ACK
 * turned into the ACK with the data (and a PROXY v2 header), the
 * translation of every later segment both ways (sequence numbers across
 * 2^32, SACK blocks, the window scale, timestamps), and each failure path.
 * The harness is test_xdp.c's (fixtures.h).
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
#include "mqlb_hash.h"
#include "mqlb.skel.h"
#include "pktbuild.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#include "fixtures.h"
#pragma GCC diagnostic pop

#define SEED    0x0123456789abcdefULL
#define C_TSVAL 777000u  /* the client's TSval clock at the SYN */

static struct mqlb_maglev maglev_buf;

/* balance client-id: every new connection bound late, the Maglev table given. */
static void set_bind(struct lb *lb, __u32 flags, __u16 (*slot_of)(__u32 slot))
{
	struct mqlb_config cfg;
	__u32 which = 0, i;

	config_get(lb, &cfg);
	cfg.flags |= MQLB_CFG_BIND | flags;
	cfg.hash_seed = SEED;
	cfg.synack_mss = 1460;
	cfg.synack_wscale = 7;
	cfg.maglev_active = 0;
	config_put(lb, &cfg);
	memset(&maglev_buf, 0, sizeof(maglev_buf));
	for (i = 0; i < MQLB_MAGLEV_SIZE; i++)
		maglev_buf.slot[i] = slot_of ? slot_of(i) : 1;
	assert_int_equal(bpf_map_update_elem(lb->skel ? bpf_map__fd(lb->skel->maps.maglev) : -1,
					     &which, &maglev_buf, 0), 0);
}

static __u16 slot_mod3(__u32 slot)
{
	return (__u16)(slot % 3);
}

/* The options of the client's SYN: MSS 1460, SACK permitted, timestamps, window scale 7. */
static const uint8_t *syn_options(uint32_t tsval)
{
	static uint8_t o[20];

	memcpy(o, (uint8_t[]){ 2, 4, 0x05, 0xb4, 4, 2, 8, 10 }, 8);
	o[8] = tsval >> 24;
	o[9] = tsval >> 16;
	o[10] = tsval >> 8;
	o[11] = tsval;
	memset(o + 12, 0, 4);
	memcpy(o + 16, (uint8_t[]){ 1, 3, 3, 7 }, 4);
	return o;
}

/* NOP, NOP, timestamps. */
static const uint8_t *ts_options(uint32_t tsval, uint32_t tsecr)
{
	static uint8_t o[12];

	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	for (int i = 0; i < 4; i++) {
		o[4 + i] = tsval >> (24 - 8 * i);
		o[8 + i] = tsecr >> (24 - 8 * i);
	}
	return o;
}

/* The option of kind k in a parsed frame, or NULL. */
static const uint8_t *opt_find(const struct pkt_view *v, uint8_t kind)
{
	const uint8_t *o = (const uint8_t *)(v->tcp + 1);
	size_t n = (size_t)v->tcp->doff * 4 - 20, i = 0;

	while (i < n) {
		if (o[i] == 0)
			return NULL;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2)
			return NULL;
		if (o[i] == kind)
			return o + i;
		i += o[i + 1];
	}
	return NULL;
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct bound {
	struct conn c;
	uint32_t cookie;     /* the balancer's ISN toward the client */
	uint32_t s_tsval;    /* its SYN-ACK's TSval */
	uint32_t b_isn;      /* the backend's ISN */
	uint32_t b_tsval;    /* the backend's TSval at its SYN-ACK */
	uint32_t len;        /* the CONNECT's bytes */
	uint32_t proxy;      /* PROXY header bytes before them */
};

/* Client SYN: answered with a SYN-ACK carrying the cookie, out where it came in; no flow. */
static void cookie_handshake(struct lb *lb, struct bound *b, __u16 cport, uint32_t isn)
{
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	const uint8_t *o;

	memset(b, 0, sizeof(*b));
	conn_init(&b->c, CLIENT1, cport);
	spec_conn(&s, &b->c, TF_SYN);
	s.seq = isn;
	s.tcp_opts = syn_options(C_TSVAL);
	s.tcp_opt_len = 20;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_cli, &out), XDP_REDIRECT);
	assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(v.ip->saddr, VIP_ADDR);
	assert_int_equal(v.ip->daddr, CLIENT1);
	assert_int_equal(ntohs(v.tcp->source), VIP_PORT);
	assert_int_equal(ntohs(v.tcp->dest), cport);
	assert_memory_equal(v.eth->h_dest, client_mac, ETH_ALEN);
	assert_true(v.tcp->syn && v.tcp->ack && !v.tcp->rst);
	assert_int_equal(ntohl(v.tcp->ack_seq), isn + 1);
	o = opt_find(&v, 2);
	assert_non_null(o);
	assert_int_equal(o[2] << 8 | o[3], 1460);
	assert_non_null(opt_find(&v, 4)); /* SACK permitted, as the client offered */
	o = opt_find(&v, 3);
	assert_non_null(o);
	assert_int_equal(o[2], 7);
	o = opt_find(&v, 8);
	assert_non_null(o);
	assert_int_equal(be32_at(o + 6), C_TSVAL); /* TSecr: the client's TSval */
	b->s_tsval = be32_at(o + 2);
	/* What the cookie cannot keep: window scale 7, SACK, MSS 1460 (index 3), timestamps. */
	assert_int_equal(b->s_tsval & 0xff, 7 | MQLB_SYNOPT_SACK | 3 << MQLB_SYNOPT_MSS_SHIFT |
						MQLB_SYNOPT_TS);
	b->cookie = ntohl(v.tcp->seq);
	b->c.cnxt = isn + 1;
	assert_int_equal(map_count(lb->flows), 0);
}

/* Client ACK of the cookie: the flow, waiting for the first segment. */
static void cookie_ack(struct lb *lb, struct bound *b)
{
	struct frame in, out;
	struct pkt_spec s;
	struct mqlb_flow f;

	spec_conn(&s, &b->c, TF_ACK);
	s.ack_seq = b->cookie + 1;
	s.tcp_opts = ts_options(C_TSVAL + 1, b->s_tsval);
	s.tcp_opt_len = 12;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_cli, &out), XDP_DROP);
	flow_get(lb, b->c.caddr, b->c.cport, &f);
	assert_int_equal(f.tcp_flags, MQLB_FLOW_BIND_CONNECT);
	assert_int_equal(f.client_isn, b->c.cnxt - 1);
	assert_int_equal(f.s_isn, b->cookie);
	assert_int_equal(f.syn_opts, b->s_tsval & 0xff);
}

/* A CONNECT of MQTT 3.1.1 with client id id, keep-alive 60. */
static size_t mk_connect(uint8_t *buf, const char *id)
{
	size_t idl = strlen(id), n = 0;

	buf[n++] = 0x10;
	buf[n++] = (uint8_t)(10 + 2 + idl);
	memcpy(buf + n, "\x00\x04MQTT\x04\x02\x00\x3c", 10);
	n += 10;
	buf[n++] = (uint8_t)(idl >> 8);
	buf[n++] = (uint8_t)idl;
	memcpy(buf + n, id, idl);
	return n + idl;
}

/* The CONNECT: the backend's SYN comes out toward the backend the id chose. */
static void bind_connect(struct lb *lb, struct bound *b, const char *id, int want_be)
{
	uint8_t msg[200];
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct mqlb_flow f;
	const uint8_t *o;

	b->len = (uint32_t)mk_connect(msg, id);
	spec_conn(&s, &b->c, TF_ACK | TF_PSH);
	s.ack_seq = b->cookie + 1;
	s.tcp_opts = ts_options(C_TSVAL + 2, b->s_tsval);
	s.tcp_opt_len = 12;
	s.payload = msg;
	s.payload_len = b->len;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_cli, &out), XDP_REDIRECT);
	assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	b->c.be = be_index(v.ip->daddr);
	assert_int_equal(b->c.be, want_be);
	assert_int_equal(v.ip->saddr, SNAT_ADDR);
	assert_memory_equal(v.eth->h_dest, be_mac[want_be], ETH_ALEN);
	b->c.snat_port = ntohs(v.tcp->source);
	assert_in_range(b->c.snat_port, SNAT_MIN, SNAT_MAX);
	/* The backend's SYN: the client's ISN, no data, the client's options. */
	assert_true(v.tcp->syn && !v.tcp->ack);
	assert_int_equal(ntohl(v.tcp->seq), b->c.cnxt - 1);
	assert_int_equal(v.l4_len, (size_t)v.tcp->doff * 4);
	o = opt_find(&v, 3);
	assert_non_null(o);
	assert_int_equal(o[2], 7);
	assert_non_null(opt_find(&v, 4));
	o = opt_find(&v, 2);
	assert_int_equal(o[2] << 8 | o[3], 1460);
	flow_get(lb, b->c.caddr, b->c.cport, &f);
	assert_true(f.tcp_flags & MQLB_FLOW_BIND_SYNACK);
	assert_int_equal(f.mqtt_level, 4);
	assert_memory_equal(f.client_id, id, strlen(id) < 32 ? strlen(id) : 32);
	b->proxy = f.proxy_len;
}

/* The backend's SYN-ACK: the balancer's ACK with the stashed CONNECT goes back to it. */
static void backend_synack(struct lb *lb, struct bound *b, uint32_t b_isn, int ws)
{
	uint8_t opt[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10 };
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct mqlb_flow f;

	b->b_isn = b_isn;
	b->b_tsval = 5000000;
	opt[8] = b->b_tsval >> 24;
	opt[9] = b->b_tsval >> 16;
	opt[10] = b->b_tsval >> 8;
	opt[11] = b->b_tsval & 0xff;
	memcpy(opt + 16, (uint8_t[]){ 1, 3, 3, (uint8_t)ws }, 4);
	spec_backend(&s, b->c.be, b->c.snat_port, TF_SYN | TF_ACK);
	s.seq = b_isn;
	s.ack_seq = b->c.cnxt;
	s.tcp_opts = opt;
	s.tcp_opt_len = 20;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(v.ip->saddr, SNAT_ADDR);
	assert_int_equal(v.ip->daddr, BE_ADDR(b->c.be));
	assert_true(v.tcp->ack && !v.tcp->syn && !v.tcp->rst);
	assert_int_equal(ntohl(v.tcp->seq), b->c.cnxt);
	assert_int_equal(ntohl(v.tcp->ack_seq), b_isn + 1);
	assert_int_equal(v.l4_len - (size_t)v.tcp->doff * 4, b->proxy + b->len);
	flow_get(lb, b->c.caddr, b->c.cport, &f);
	assert_true(f.tcp_flags & MQLB_FLOW_XLATE);
	assert_true(f.tcp_flags & MQLB_FLOW_ESTABLISHED);
	assert_false(f.tcp_flags & MQLB_FLOW_BIND_SYNACK);
	assert_int_equal(f.seq_delta, b_isn - b->cookie);
	{
		struct mqlb_stash st;
		struct mqlb_flow_key k = { .client_addr_be = b->c.caddr, .vip_addr_be = VIP_ADDR,
			.client_port_be = htons(b->c.cport), .vip_port_be = htons(VIP_PORT) };

		assert_int_not_equal(bpf_map_lookup_elem(bpf_map__fd(lb->skel->maps.stash), &k, &st),
				     0);
	}
	b->c.cnxt += b->len;
}

/* From the client's SYN (ISN 1000) to the backend's SYN, toward backend want_be. */
static void bind_to_syn(struct lb *lb, struct bound *b, __u16 cport, const char *id, int want_be)
{
	cookie_handshake(lb, b, cport, 1000);
	cookie_ack(lb, b);
	bind_connect(lb, b, id, want_be);
}

static void bind_all(struct lb *lb, struct bound *b, __u16 cport, uint32_t isn, const char *id,
		     int want_be, uint32_t b_isn)
{
	cookie_handshake(lb, b, cport, isn);
	cookie_ack(lb, b);
	bind_connect(lb, b, id, want_be);
	backend_synack(lb, b, b_isn, 8);
}

/* Every backend marked proxy-v2, under round-robin (a proxy-v2 pool binds late). */
static void set_proxy_backends(struct lb *lb)
{
	struct mqlb_backend be;
	__u32 id = 1;

	set_bind(lb, 0, NULL);
	assert_int_equal(bpf_map_lookup_elem(lb->backends, &id, &be), 0);
	be.flags = MQLB_BACKEND_PROXY_V2;
	for (id = 0; id < NBACKENDS; id++) {
		be.addr_be = BE_ADDR(id);
		assert_int_equal(bpf_map_update_elem(lb->backends, &id, &be, 0), 0);
	}
}

static void test_cookie_handshake_no_state(void **state)
{
	struct lb *lb = &E.lb;
	struct bound b;
	struct frame in, out;
	struct pkt_spec s;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, NULL);
	cookie_handshake(lb, &b, 44000, 1000);
	/* An ACK with a forged cookie makes nothing. */
	spec_conn(&s, &b.c, TF_ACK);
	s.ack_seq = b.cookie + 2;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_cli, &out), XDP_DROP);
	assert_int_equal(map_count(lb->flows), 0);
	cookie_ack(lb, &b);
	assert_int_equal(map_count(lb->flows), 1);
	assert_int_equal(map_count(lb->snat), 0); /* no backend, no SNAT port yet */
}

/* The whole handshake to the backend the id's Maglev slot names; then data both ways. */
static void test_bind_and_translate(void **state)
{
	static const char *id = "sensor-0042";
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct mqlb_flow f;
	struct bound b;
	int want;
	const uint8_t *o;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, slot_mod3);
	want = (int)(mqlb_hash_slot(mqlb_hash_bytes(SEED, (const __u8 *)id, (__u32)strlen(id))) % 3);
	bind_all(lb, &b, 44100, 1000, id, want, 90000);

	/* The backend's CONNACK: to the client in the numbers it was told, window rescaled. */
	flow_get(lb, b.c.caddr, b.c.cport, &f);
	spec_backend(&s, b.c.be, b.c.snat_port, TF_ACK | TF_PSH);
	s.seq = b.b_isn + 1;
	s.ack_seq = b.c.cnxt + b.proxy;
	/* It echoes the CONNECT's TSval as the backend saw it: shifted by the flow's offset. */
	s.tcp_opts = ts_options(b.b_tsval + 10, C_TSVAL + 2 + f.ts_off);
	s.tcp_opt_len = 12;
	s.payload = "\x20\x02\x00\x00";
	s.payload_len = 4;
	pkt_build(&in, &s);
	((struct tcphdr *)(in.b + ETH_HLEN + 20))->window = htons(100);
	((struct tcphdr *)(in.b + ETH_HLEN + 20))->check = 0;
	((struct tcphdr *)(in.b + ETH_HLEN + 20))->check =
		pkt_tcp4_csum((struct iphdr *)(in.b + ETH_HLEN), in.b + ETH_HLEN + 20,
			      in.len - ETH_HLEN - 20);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(v.ip->saddr, VIP_ADDR);
	assert_int_equal(v.ip->daddr, CLIENT1);
	assert_int_equal(ntohl(v.tcp->seq), b.cookie + 1);
	assert_int_equal(ntohl(v.tcp->ack_seq), b.c.cnxt);
	/* The backend's scale 8 shown at the client's 7: its window doubles. */
	assert_int_equal(ntohs(v.tcp->window), 200);
	o = opt_find(&v, 8);
	assert_non_null(o);
	/* Its TSval continues the balancer's SYN-ACK's; the TSecr is the client's own again. */
	assert_int_equal(be32_at(o + 2), b.s_tsval + 10);
	assert_int_equal(be32_at(o + 6), C_TSVAL + 2);

	/* The client's next segment, with a SACK block: into the backend's numbers. */
	{
		uint8_t opt[24] = { 1, 1, 8, 10 };
		uint32_t le = b.cookie + 1 + 10, re = b.cookie + 1 + 20;

		memcpy(opt + 4, ts_options(C_TSVAL + 3, b.s_tsval + 10) + 4, 8);
		memcpy(opt + 12, (uint8_t[]){ 1, 1, 5, 10 }, 4);
		for (int i = 0; i < 4; i++) {
			opt[16 + i] = le >> (24 - 8 * i);
			opt[20 + i] = re >> (24 - 8 * i);
		}
		spec_conn(&s, &b.c, TF_ACK | TF_PSH);
		s.ack_seq = b.cookie + 1 + 4;
		s.tcp_opts = opt;
		s.tcp_opt_len = 24;
		s.payload = "\xc0\x00";
		s.payload_len = 2;
		pkt_build(&in, &s);
		assert_int_equal(xdp_run(lb, &in, E.if_cli, &out), XDP_REDIRECT);
		assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
		assert_int_equal(pkt_view_tcp4(&out, &v), 0);
		assert_int_equal(ntohl(v.tcp->seq), b.c.cnxt + b.proxy);
		assert_int_equal(ntohl(v.tcp->ack_seq), b.b_isn + 1 + 4);
		o = opt_find(&v, 5);
		assert_non_null(o);
		assert_int_equal(be32_at(o + 2), b.b_isn + 1 + 10);
		assert_int_equal(be32_at(o + 6), b.b_isn + 1 + 20);
		o = opt_find(&v, 8);
		/* The TSecr it echoes: the backend's own TSval again. */
		assert_int_equal(be32_at(o + 6), b.b_tsval + 10);
	}
}

/* Sequence numbers of both connections wrapping at 2^32. */
static void test_bind_wrap(void **state)
{
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct bound b;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, NULL);
	bind_all(lb, &b, 44200, 0xfffffff0u, "wrap", 1, 0xfffffffau);
	spec_backend(&s, b.c.be, b.c.snat_port, TF_ACK | TF_PSH);
	s.seq = b.b_isn + 1;
	s.ack_seq = b.c.cnxt + b.proxy;
	s.payload = "\x20\x02\x00\x00";
	s.payload_len = 4;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(ntohl(v.tcp->seq), b.cookie + 1);
	assert_int_equal(ntohl(v.tcp->ack_seq), b.c.cnxt);
	assert_true(b.c.cnxt < 0x100); /* wrapped */
}

/*
 * The client's next segment before any from the backend (a PUBLISH right
 * behind the CONNECT, or the CONNECT resent when it did not fit in the
 * SYN-ACK's frame): the client's side must already allow what the
 * backend's SYN-ACK window allows, in the client's numbers as the backend
 * sees them, wherever the backend's own numbers lie (here 2^30 behind).
 */
static void test_client_first_after_bind(void **state)
{
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct bound b;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, NULL);
	bind_all(lb, &b, 44250, 1000, "early", 1, 1000u - 0x40000000u);
	spec_conn(&s, &b.c, TF_ACK | TF_PSH);
	s.ack_seq = b.cookie + 1;
	s.payload = "\xc0\x00";
	s.payload_len = 2;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_cli, &out), XDP_REDIRECT);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(ntohl(v.tcp->seq), b.c.cnxt + b.proxy);
	assert_int_equal(ntohl(v.tcp->ack_seq), b.b_isn + 1);
}

/* A backend marked proxy-v2 gets the client's address first: signature, family, tuple. */
static void test_proxy_v2(void **state)
{
	static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
					 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	uint8_t opt[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct bound b;
	const uint8_t *px;

	NEED_LB();
	set_proxy_backends(lb);
	bind_to_syn(lb, &b, 44300, "px", 0);
	assert_int_equal(b.proxy, MQLB_PROXY_V2_LEN);
	spec_backend(&s, b.c.be, b.c.snat_port, TF_SYN | TF_ACK);
	s.seq = 70000;
	s.ack_seq = b.c.cnxt;
	s.tcp_opts = opt;
	s.tcp_opt_len = 20;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	px = (const uint8_t *)v.tcp + v.tcp->doff * 4;
	assert_memory_equal(px, sig, 12);
	assert_int_equal(px[12], 0x21);
	assert_int_equal(px[13], 0x11);
	assert_int_equal(px[14] << 8 | px[15], 12);
	assert_memory_equal(px + 16, &b.c.caddr, 4);
	assert_int_equal(be32_at(px + 20), ntohl(VIP_ADDR));
	assert_int_equal(px[24] << 8 | px[25], 44300);
	assert_int_equal(px[26] << 8 | px[27], VIP_PORT);
	assert_int_equal(px[28], 0x10); /* then the CONNECT */
}

/* The backend refuses the SYN: the client is reset at its RCV.NXT, the flow closed. */
static void test_backend_refuses(void **state)
{
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct bound b;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, NULL);
	bind_to_syn(lb, &b, 44400, "refused", 1);
	spec_backend(&s, b.c.be, b.c.snat_port, TF_RST | TF_ACK);
	s.seq = 0;
	s.ack_seq = b.c.cnxt;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(v.ip->daddr, CLIENT1);
	assert_true(v.tcp->rst);
	assert_int_equal(ntohl(v.tcp->seq), b.cookie + 1);
	assert_true(MQLB_FLOW_CLOSED(flow_flags(lb, &b.c)));
}

/* No backend up when the CONNECT comes: the client is reset, counted. */
static void test_no_backend(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	uint8_t msg[64];
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct bound b;
	int i;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, NULL);
	cookie_handshake(lb, &b, 44500, 1000);
	cookie_ack(lb, &b);
	for (i = 0; i < NBACKENDS; i++)
		set_backend(lb, (__u32)i, BE_ADDR(i), MQLB_BE_DOWN, 1);
	spec_conn(&s, &b.c, TF_ACK | TF_PSH);
	s.ack_seq = b.cookie + 1;
	s.payload = msg;
	s.payload_len = mk_connect(msg, "lonely");
	pkt_build(&in, &s);
	stats_read(lb, before);
	assert_int_equal(xdp_run(lb, &in, E.if_cli, &out), XDP_REDIRECT);
	stats_read(lb, after);
	assert_int_equal(after[MQLB_STAT_RESET_NO_BACKEND] - before[MQLB_STAT_RESET_NO_BACKEND], 1);
	expect_rst(&out, &s, b.cookie + 1, 0, TF_RST);
}

/* An empty client id (the broker assigns one): round-robin, counted as a fallback. */
static void test_empty_id_round_robin(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct bound b;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, NULL);
	stats_read(lb, before);
	bind_to_syn(lb, &b, 44600, "", 0); /* ticket 0: backend 0, where the table says 1 */
	stats_read(lb, after);
	assert_int_equal(after[MQLB_STAT_CID_FALLBACK] - before[MQLB_STAT_CID_FALLBACK], 1);
	assert_int_equal(after[MQLB_STAT_CID_HASHED] - before[MQLB_STAT_CID_HASHED], 0);
}

/* The client's first segment again, as its retransmission timer sends it. */
static void resend_connect(struct lb *lb, struct bound *b, const char *id, int verdict,
			   struct frame *out)
{
	uint8_t msg[200];
	struct frame in;
	struct pkt_spec s;

	spec_conn(&s, &b->c, TF_ACK | TF_PSH);
	s.seq = b->c.cnxt;
	s.ack_seq = b->cookie + 1;
	s.tcp_opts = ts_options(C_TSVAL + 200, b->s_tsval);
	s.tcp_opt_len = 12;
	s.payload = msg;
	s.payload_len = mk_connect(msg, id);
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_cli, out), verdict);
}

/*
 * The backend never answered the SYN (lost, or dropped by a full accept
 * queue): the client's resend of its CONNECT sends the same SYN again,
 * and the flow binds when the SYN-ACK comes.
 */
static void test_syn_resent(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct frame out;
	struct pkt_view v;
	struct bound b;
	const uint8_t *o;
	uint32_t syn_tsval;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, NULL);
	bind_to_syn(lb, &b, 44700, "again", 1);
	stats_read(lb, before);
	resend_connect(lb, &b, "again", XDP_REDIRECT, &out);
	stats_read(lb, after);
	assert_int_equal(after[MQLB_STAT_BIND_SYN_RESENT] - before[MQLB_STAT_BIND_SYN_RESENT], 1);
	assert_int_equal(after[MQLB_STAT_FLOW_NEW] - before[MQLB_STAT_FLOW_NEW], 0);
	assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(v.ip->saddr, SNAT_ADDR);
	assert_int_equal(v.ip->daddr, BE_ADDR(b.c.be));
	assert_int_equal(ntohs(v.tcp->source), b.c.snat_port);
	assert_true(v.tcp->syn && !v.tcp->ack);
	assert_int_equal(ntohl(v.tcp->seq), b.c.cnxt - 1);
	assert_int_equal(v.l4_len, (size_t)v.tcp->doff * 4);
	/* The first SYN's TSval (the CONNECT's), not the resend's. */
	o = opt_find(&v, 8);
	assert_non_null(o);
	syn_tsval = be32_at(o + 2);
	{
		struct mqlb_flow f;

		flow_get(lb, b.c.caddr, b.c.cport, &f);
		assert_int_equal(syn_tsval, C_TSVAL + 2 + f.ts_off);
		assert_true(f.tcp_flags & MQLB_FLOW_BIND_SYNACK);
	}
	assert_int_equal(map_count(lb->snat), 1);
	backend_synack(lb, &b, 123456, 7);
	/* Once bound, a resend is the bound flow's, translated: no SYN. */
	resend_connect(lb, &b, "again", XDP_REDIRECT, &out);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_false(v.tcp->syn);
}

/*
 * The backend answers the SYN with an ACK of something else: another
 * connection it holds on the tuple (a TIME_WAIT left by another proxy).
 * It gets a RST at that ACK's number, as SYN-SENT would send; the client's
 * resend then sends the SYN again.
 */
static void test_stale_ack_reset(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct bound b;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, NULL);
	bind_to_syn(lb, &b, 44800, "stale", 1);
	spec_backend(&s, b.c.be, b.c.snat_port, TF_ACK);
	s.seq = 5555;
	s.ack_seq = 0x70000000u;
	pkt_build(&in, &s);
	stats_read(lb, before);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	stats_read(lb, after);
	assert_int_equal(after[MQLB_STAT_RESET_STALE_BACKEND] -
				 before[MQLB_STAT_RESET_STALE_BACKEND], 1);
	assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(v.ip->saddr, SNAT_ADDR);
	assert_int_equal(v.ip->daddr, BE_ADDR(b.c.be));
	assert_true(v.tcp->rst && !v.tcp->ack);
	assert_int_equal(ntohl(v.tcp->seq), 0x70000000u);
	assert_true(flow_flags(lb, &b.c) & MQLB_FLOW_BIND_SYNACK);
	/* An ACK of exactly our SYN without SYN or RST: dropped in SYN-SENT (RFC 793). */
	spec_backend(&s, b.c.be, b.c.snat_port, TF_ACK);
	s.seq = 5555;
	s.ack_seq = b.c.cnxt;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_DROP);
	assert_true(flow_flags(lb, &b.c) & MQLB_FLOW_BIND_SYNACK);
	/* A RST that is not at our SYN is no answer either: dropped, nothing changes. */
	spec_backend(&s, b.c.be, b.c.snat_port, TF_RST);
	s.seq = 5555;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_DROP);
	assert_true(flow_flags(lb, &b.c) & MQLB_FLOW_BIND_SYNACK);
	resend_connect(lb, &b, "stale", XDP_REDIRECT, &out);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_true(v.tcp->syn && !v.tcp->ack);
	backend_synack(lb, &b, 4242, 7);
}

/*
 * The backend resends its SYN-ACK once bound (the ACK with the CONNECT was
 * dropped): it gets the ACK again with the PROXY header, made from the
 * flow's key; its duplicate ACKs of the SYN alone (the client's resent
 * bytes arrived, the header did not) get the same. Without a PROXY header
 * a duplicate ACK is the bound flow's, forwarded.
 */
static void test_ack_resent(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct bound b;
	const uint8_t *px;

	NEED_LB();
	set_proxy_backends(lb);
	bind_to_syn(lb, &b, 44900, "px2", 0);
	backend_synack(lb, &b, 8000, 7);
	for (int i = 0; i < 2; i++) {
		spec_backend(&s, b.c.be, b.c.snat_port, i ? TF_ACK : TF_SYN | TF_ACK);
		s.seq = i ? 8001 : 8000;
		s.ack_seq = b.c.cnxt - b.len;
		pkt_build(&in, &s);
		stats_read(lb, before);
		assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
		stats_read(lb, after);
		assert_int_equal(after[MQLB_STAT_BIND_ACK_RESENT] - before[MQLB_STAT_BIND_ACK_RESENT],
				 1);
		assert_int_equal(pkt_check_csums(&out), PKT_CSUM_OK);
		assert_int_equal(pkt_view_tcp4(&out, &v), 0);
		assert_int_equal(v.ip->saddr, SNAT_ADDR);
		assert_int_equal(v.ip->daddr, BE_ADDR(b.c.be));
		assert_true(v.tcp->ack && !v.tcp->syn && !v.tcp->rst);
		assert_int_equal(ntohl(v.tcp->seq), b.c.cnxt - b.len);
		assert_int_equal(ntohl(v.tcp->ack_seq), 8001);
		assert_int_equal(v.l4_len - (size_t)v.tcp->doff * 4, MQLB_PROXY_V2_LEN);
		px = (const uint8_t *)v.tcp + v.tcp->doff * 4;
		assert_int_equal(px[12], 0x21);
		assert_memory_equal(px + 16, &b.c.caddr, 4);
		assert_int_equal(px[24] << 8 | px[25], 44900);
	}
	/* Once it acknowledges the header, its segments are the flow's again. */
	spec_backend(&s, b.c.be, b.c.snat_port, TF_ACK);
	s.seq = 8001;
	s.ack_seq = b.c.cnxt - b.len + MQLB_PROXY_V2_LEN;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(v.ip->daddr, CLIENT1);
}

/* No PROXY header: a duplicate ACK of the SYN is the flow's, forwarded; a SYN-ACK answered. */
static void test_ack_resent_plain(void **state)
{
	struct lb *lb = &E.lb;
	struct frame in, out;
	struct pkt_spec s;
	struct pkt_view v;
	struct bound b;

	NEED_LB();
	set_bind(lb, MQLB_CFG_CLIENT_ID, NULL);
	bind_all(lb, &b, 44950, 1000, "plain", 1, 9000);
	spec_backend(&s, b.c.be, b.c.snat_port, TF_ACK);
	s.seq = 9001;
	s.ack_seq = b.c.cnxt - b.len;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(v.ip->daddr, CLIENT1);
	spec_backend(&s, b.c.be, b.c.snat_port, TF_SYN | TF_ACK);
	s.seq = 9000;
	s.ack_seq = b.c.cnxt - b.len;
	pkt_build(&in, &s);
	assert_int_equal(xdp_run(lb, &in, E.if_bk, &out), XDP_REDIRECT);
	assert_int_equal(pkt_view_tcp4(&out, &v), 0);
	assert_int_equal(v.ip->daddr, BE_ADDR(b.c.be));
	assert_int_equal(v.l4_len, (size_t)v.tcp->doff * 4);
	assert_int_equal(ntohl(v.tcp->ack_seq), 9001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cookie_handshake_no_state), T(test_bind_and_translate),
		T(test_bind_wrap),		   T(test_proxy_v2),
		T(test_backend_refuses),	   T(test_no_backend),
		T(test_empty_id_round_robin),	   T(test_client_first_after_bind),
		T(test_syn_resent),		   T(test_stale_ack_reset),
		T(test_ack_resent),		   T(test_ack_resent_plain),
	};

	return cmocka_run_group_tests_name("bind", tests, group_setup, group_teardown);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixtures of the XDP tests (included by test_xdp.c only): the addresses of
 * the scratch namespace that tests/bpf/run.sh builds (keep both in sync),
 * the table of frames that are not forwarded, katran-style: { description,
 * how the frame differs from a client SYN to VIP:1883, expected verdict,
 * expected counter }, and the harness around the loaded skeleton (katran's
 * BpfTester): reset, run, counters, and the expected-frame checks.
 *
 *   client side  lbc 10.99.1.1/24 (VIP)   clients 10.99.1.100, .101
 *   backend side lbb 10.99.2.1/24 (SNAT)  backends 10.99.2.11-13 (permanent neighbours),
 *                                         10.99.2.14 without a neighbour, 10.99.3.0/24 no route
 */
#ifndef MQLB_TEST_FIXTURES_H
#define MQLB_TEST_FIXTURES_H

#include <arpa/inet.h>
#include <linux/bpf.h>
#include "mqlb_abi.h"
#include "pktbuild.h"

#define IP4(a, b, c, d) htonl((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

#define VIP_ADDR    IP4(10, 99, 1, 1)
#define VIP_PORT    1883
#define SNAT_ADDR   IP4(10, 99, 2, 1)
#define SNAT_MIN    20000
#define SNAT_MAX    20099
#define CLIENT1     IP4(10, 99, 1, 100)
#define CLIENT2     IP4(10, 99, 1, 101)
#define CLIENT_BK   IP4(10, 99, 2, 50)  /* a client on the backend side: XDP_TX both ways */
#define OTHER_ADDR  IP4(10, 99, 1, 50)
#define BE_NO_NEIGH IP4(10, 99, 2, 14)
#define BE_NO_ROUTE IP4(10, 99, 3, 11)
#define NBACKENDS   3
#define BE_ADDR(i)  IP4(10, 99, 2, 11 + (i))

static const uint8_t client_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0x01, 0x64 };
static const uint8_t client_bk_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0x02, 0x32 };
/* The lladdr of the permanent neighbour entries in run.sh. */
static const uint8_t be_mac[NBACKENDS][ETH_ALEN] = {
	{ 0x02, 0, 0, 0, 0x02, 0x0b },
	{ 0x02, 0, 0, 0, 0x02, 0x0c },
	{ 0x02, 0, 0, 0, 0x02, 0x0d },
};

/* ---- frames that are passed or dropped, never forwarded ---- */

struct parse_case {
	const char *desc;
	void (*mod)(struct pkt_spec *s); /* applied to a client SYN to VIP:1883 */
	bool on_backend_side;            /* ingress is lbb rather than lbc */
	__u32 verdict;
	enum mqlb_stat stat;
};

static void eth_only(struct pkt_spec *s) { s->trunc = ETH_HLEN; }
static void trunc_ip(struct pkt_spec *s) { s->trunc = ETH_HLEN + 12; }
static void ip_version6(struct pkt_spec *s) { s->ip_version = 6; }
static void ihl4(struct pkt_spec *s) { s->ihl = 4; }
static void tot_len_long(struct pkt_spec *s) { s->tot_len_adj = 20; }
static void tot_len_below_ihl(struct pkt_spec *s) { s->tot_len_adj = -(20 + 24) + 16; }

static void trunc_tcp(struct pkt_spec *s)
{
	/* IP header consistent with the frame, which ends 10 bytes into TCP. */
	s->tcp_opt_len = 0;
	s->tot_len_adj = -10;
	s->trunc = ETH_HLEN + 20 + 10;
}

static void tot_len_no_tcp(struct pkt_spec *s)
{
	/* The frame holds a whole TCP header, but the datagram ends inside it. */
	s->tcp_opt_len = 0;
	s->tot_len_adj = -10;
}

static void doff4(struct pkt_spec *s) { s->doff = 4; }
static void doff15(struct pkt_spec *s) { s->doff = 15; }
static void doff6_no_opts(struct pkt_spec *s) { s->tcp_opt_len = 0; s->doff = 6; }
static void ip_opts(struct pkt_spec *s) { s->ip_opt_len = 4; }
static void frag_mf(struct pkt_spec *s) { s->frag = 0x2000; }
static void frag_off(struct pkt_spec *s) { s->frag = 185; }
static void frag_mf_off(struct pkt_spec *s) { s->frag = 0x2000 | 1; }
static void to_other(struct pkt_spec *s) { s->daddr = OTHER_ADDR; }
static void ip_opts_other(struct pkt_spec *s) { ip_opts(s); to_other(s); }
static void frag_other(struct pkt_spec *s) { frag_mf(s); to_other(s); }
static void ipv6(struct pkt_spec *s) { s->kind = PKT_TCP6; }
static void vlan(struct pkt_spec *s) { s->vlan_proto = ETH_P_8021Q; s->vlan_id = 10; }
static void qinq(struct pkt_spec *s) { s->vlan_proto = ETH_P_8021AD; s->vlan_id = 10; }
static void arp(struct pkt_spec *s) { s->kind = PKT_ARP; }
static void icmp(struct pkt_spec *s) { s->kind = PKT_ICMP4; }
static void udp(struct pkt_spec *s) { s->kind = PKT_UDP4; }
static void port22(struct pkt_spec *s) { s->dport = 22; }
static void port22_doff4(struct pkt_spec *s) { port22(s); doff4(s); }
static void ip_opts_port22(struct pkt_spec *s) { port22(s); ip_opts(s); }
static void frag_mf_port22(struct pkt_spec *s) { port22(s); frag_mf(s); }
static void ack_no_flow(struct pkt_spec *s) { s->flags = TF_ACK; s->tcp_opt_len = 0; }
static void synack_no_flow(struct pkt_spec *s) { s->flags = TF_SYN | TF_ACK; }
static void fin_no_flow(struct pkt_spec *s) { s->flags = TF_FIN | TF_ACK; s->tcp_opt_len = 0; }
static void rst_no_flow(struct pkt_spec *s) { s->flags = TF_RST; s->tcp_opt_len = 0; }

static void padded_other(struct pkt_spec *s)
{
	/* A minimum-size Ethernet frame: padding after the datagram is legal. */
	ack_no_flow(s);
	to_other(s);
	s->pad_to = 60;
}

static void from_backend(struct pkt_spec *s, uint16_t dport)
{
	memcpy(s->smac, be_mac[0], ETH_ALEN);
	s->saddr = BE_ADDR(0);
	s->daddr = SNAT_ADDR;
	s->sport = VIP_PORT;
	s->dport = dport;
	s->flags = TF_SYN | TF_ACK;
}

static void bk_below_range(struct pkt_spec *s) { from_backend(s, SNAT_MIN - 1); }
static void bk_above_range(struct pkt_spec *s) { from_backend(s, SNAT_MAX + 1); }
static void bk_no_flow(struct pkt_spec *s) { from_backend(s, SNAT_MIN + 50); }
static void bk_frag(struct pkt_spec *s) { from_backend(s, SNAT_MIN + 50); frag_off(s); }
static void bk_frag_mf(struct pkt_spec *s) { from_backend(s, SNAT_MIN + 50); frag_mf(s); }
static void bk_doff15(struct pkt_spec *s) { from_backend(s, SNAT_MIN + 50); doff15(s); }

#define DROP(d, m, st)  { d, m, false, XDP_DROP, MQLB_STAT_##st }
#define PASS(d, m, st)  { d, m, false, XDP_PASS, MQLB_STAT_##st }
#define BDROP(d, m, st) { d, m, true, XDP_DROP, MQLB_STAT_##st }
#define BPASS(d, m, st) { d, m, true, XDP_PASS, MQLB_STAT_##st }

static const struct parse_case parse_cases[] = {
	DROP("Ethernet header only, IPv4 type", eth_only, DROP_BAD_IP),
	DROP("truncated IPv4 header (12 of 20 bytes)", trunc_ip, DROP_BAD_IP),
	DROP("IPv4 ethertype, IP version 6", ip_version6, DROP_BAD_IP),
	DROP("ihl 4 (< 5)", ihl4, DROP_BAD_IP),
	DROP("tot_len 20 bytes beyond the frame", tot_len_long, DROP_BAD_IP),
	DROP("tot_len below the header length", tot_len_below_ihl, DROP_BAD_IP),
	DROP("frame ends inside the TCP header", trunc_tcp, DROP_TRUNC_TCP),
	DROP("tot_len ends inside the TCP header", tot_len_no_tcp, DROP_TRUNC_TCP),
	DROP("TCP doff 4 (< 5)", doff4, DROP_BAD_DOFF),
	DROP("TCP doff 15 beyond the segment", doff15, DROP_BAD_DOFF),
	DROP("TCP doff 6 with a 20-byte segment", doff6_no_opts, DROP_BAD_DOFF),
	DROP("IP options (ihl 6) to the VIP", ip_opts, DROP_IP_OPTIONS),
	DROP("fragment, MF set, to the VIP", frag_mf, DROP_FRAGMENT),
	PASS("non-first fragment (offset 185) to the VIP: no ports, the kernel reassembles", frag_off, PASS_FRAGMENT),
	PASS("fragment, MF and offset 1, to the VIP", frag_mf_off, PASS_FRAGMENT),
	PASS("TCP doff 4 to the VIP on port 22 (not ours: untouched)", port22_doff4, PASS_NOT_OURS),
	PASS("IP options to the VIP on port 22 (not ours: untouched)", ip_opts_port22, PASS_NOT_OURS),
	PASS("first fragment to the VIP on port 22 (not ours: untouched)", frag_mf_port22, PASS_NOT_OURS),
	DROP("ACK to VIP:1883 without a flow", ack_no_flow, DROP_NO_FLOW),
	DROP("SYN-ACK to VIP:1883 without a flow", synack_no_flow, DROP_NO_FLOW),
	DROP("FIN to VIP:1883 without a flow", fin_no_flow, DROP_NO_FLOW),
	DROP("RST to VIP:1883 without a flow", rst_no_flow, DROP_NO_FLOW),
	PASS("IP options to another address", ip_opts_other, PASS_NOT_OURS),
	PASS("fragment to another address", frag_other, PASS_NOT_OURS),
	PASS("IPv6 TCP SYN to port 1883", ipv6, PASS_IPV6),
	PASS("802.1Q tagged SYN to the VIP", vlan, PASS_VLAN),
	PASS("802.1ad tagged SYN to the VIP", qinq, PASS_VLAN),
	PASS("ARP request for the VIP", arp, PASS_NON_IP),
	PASS("ICMP echo to the VIP", icmp, PASS_NON_TCP),
	PASS("UDP to VIP:1883", udp, PASS_NON_TCP),
	PASS("TCP SYN to another address:1883", to_other, PASS_NOT_OURS),
	PASS("TCP SYN to VIP:22", port22, PASS_NOT_OURS),
	PASS("padded 60-byte frame to another address", padded_other, PASS_NOT_OURS),
	BPASS("backend -> SNAT port below the range", bk_below_range, PASS_NOT_OURS),
	BPASS("backend -> SNAT port above the range", bk_above_range, PASS_NOT_OURS),
	BPASS("backend -> SNAT port in range, no flow", bk_no_flow, PASS_NO_FLOW_REPLY),
	BPASS("backend -> SNAT non-first fragment", bk_frag, PASS_FRAGMENT),
	BDROP("backend -> SNAT first fragment, port in range", bk_frag_mf, DROP_FRAGMENT),
	BDROP("backend -> SNAT TCP doff 15", bk_doff15, DROP_BAD_DOFF),
};

/* ---- harness: one loaded skeleton and the namespace it runs in ---- */

struct lb {
	struct mqlb_bpf *skel;
	int prog, config, backends, ring, rr, flows, snat, tw_ts, stats, bstats, tx;
	int baddrs, src, embryos, embryo_pos;
	__u32 flows_max;
};

static struct {
	bool ready;              /* skeleton loaded and namespace known */
	char why[200];           /* why not, for skip() */
	bool unprivileged;
	int if_cli, if_bk;       /* lbc, lbb inside the scratch namespace */
	uint8_t mac_cli[ETH_ALEN], mac_bk[ETH_ALEN];
	int ncpus;
	struct lb lb;            /* default sizes; table-full tests open their own */
} E;

/* The ring is 32 KiB: keep it off the stack. */
static struct mqlb_ring ring_buf;

#define NEED_LB()                                                      \
	do {                                                           \
		(void)state;                                           \
		if (!E.ready) {                                        \
			print_message("skip: %s\n", E.why);            \
			skip();                                        \
		}                                                      \
	} while (0)

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Unprivileged runs fail to load by design: keep their output to the skip line. */
	if (level == LIBBPF_DEBUG || E.unprivileged)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int lb_open(struct lb *lb, __u32 flows_max, __u32 snat_max)
{
	struct bpf_map *m;
	int err;

	memset(lb, 0, sizeof(*lb));
	lb->skel = mqlb_bpf__open();
	if (!lb->skel)
		return -errno;
	/* Nothing may be pinned: the tests must not touch a running mqlbd's maps. */
	bpf_object__for_each_map(m, lb->skel->obj)
		bpf_map__set_pin_path(m, NULL);
	if (flows_max) {
		bpf_map__set_max_entries(lb->skel->maps.flows, flows_max);
		bpf_map__set_max_entries(lb->skel->maps.embryos, flows_max);
	}
	lb->flows_max = flows_max ? flows_max : MQLB_DEFAULT_FLOWS;
	if (snat_max)
		bpf_map__set_max_entries(lb->skel->maps.snat, snat_max);
	err = mqlb_bpf__load(lb->skel);
	if (err) {
		mqlb_bpf__destroy(lb->skel);
		lb->skel = NULL;
		return err;
	}
	lb->prog = bpf_program__fd(lb->skel->progs.mqlb_xdp);
	lb->config = bpf_map__fd(lb->skel->maps.config);
	lb->backends = bpf_map__fd(lb->skel->maps.backends);
	lb->ring = bpf_map__fd(lb->skel->maps.ring);
	lb->rr = bpf_map__fd(lb->skel->maps.rr_state);
	lb->flows = bpf_map__fd(lb->skel->maps.flows);
	lb->snat = bpf_map__fd(lb->skel->maps.snat);
	lb->tw_ts = bpf_map__fd(lb->skel->maps.tw_ts);
	lb->stats = bpf_map__fd(lb->skel->maps.stats);
	lb->bstats = bpf_map__fd(lb->skel->maps.backend_stats);
	lb->tx = bpf_map__fd(lb->skel->maps.tx_ports);
	lb->baddrs = bpf_map__fd(lb->skel->maps.backend_addrs);
	lb->src = bpf_map__fd(lb->skel->maps.src_limits);
	lb->embryos = bpf_map__fd(lb->skel->maps.embryos);
	lb->embryo_pos = bpf_map__fd(lb->skel->maps.embryo_pos);
	return 0;
}

static void lb_close(struct lb *lb)
{
	mqlb_bpf__destroy(lb->skel);
	lb->skel = NULL;
}

static void map_clear(int fd)
{
	uint8_t key[64];

	while (!bpf_map_get_next_key(fd, NULL, key))
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
}

static unsigned int map_count(int fd)
{
	uint8_t key[64], next[64];
	unsigned int n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

static void config_get(struct lb *lb, struct mqlb_config *cfg)
{
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(lb->config, &zero, cfg), 0);
}

static void config_put(struct lb *lb, const struct mqlb_config *cfg)
{
	__u32 zero = 0;

	assert_int_equal(bpf_map_update_elem(lb->config, &zero, cfg, 0), 0);
}

/* The config as mqlbd writes it: each side on its own interface, eviction sized. */
static void set_snat_range(struct lb *lb, __u16 min, __u16 max)
{
	struct mqlb_config cfg = {
		.vip_addr_be = VIP_ADDR,
		.snat_addr_be = SNAT_ADDR,
		.vip_port_be = htons(VIP_PORT),
		.snat_port_min = min,
		.snat_port_max = max,
		.cli_ifindex = (__u32)E.if_cli,
		.be_ifindex = (__u32)E.if_bk,
		.flow_slots = lb->flows_max,
	};

	config_put(lb, &cfg);
}

/* Backend slot id, and the backend address set as mqlbd keeps it (a count per address). */
static void set_backend(struct lb *lb, __u32 id, __be32 addr, __u8 st, __u32 weight)
{
	struct mqlb_backend be = {
		.addr_be = addr, .port_be = htons(VIP_PORT), .state = st, .weight = weight,
	}, old;
	__u32 n;

	if (!bpf_map_lookup_elem(lb->backends, &id, &old) && old.addr_be &&
	    !bpf_map_lookup_elem(lb->baddrs, &old.addr_be, &n)) {
		if (n > 1) {
			n--;
			assert_int_equal(bpf_map_update_elem(lb->baddrs, &old.addr_be, &n, 0), 0);
		} else {
			assert_int_equal(bpf_map_delete_elem(lb->baddrs, &old.addr_be), 0);
		}
	}
	assert_int_equal(bpf_map_update_elem(lb->backends, &id, &be, 0), 0);
	if (!addr)
		return;
	n = bpf_map_lookup_elem(lb->baddrs, &addr, &n) ? 1 : n + 1;
	assert_int_equal(bpf_map_update_elem(lb->baddrs, &addr, &n, 0), 0);
}

/* Publish slots in ring 0 (the active one); NULL/0 empties it. */
static void set_ring(struct lb *lb, const uint16_t *slots, __u32 n)
{
	__u32 which = 0;

	memset(&ring_buf, 0, sizeof(ring_buf));
	ring_buf.len = n;
	if (n)
		memcpy(ring_buf.slot, slots, n * sizeof(*slots));
	assert_int_equal(bpf_map_update_elem(lb->ring, &which, &ring_buf, 0), 0);
}

static void lb_reset(struct lb *lb)
{
	static const uint16_t slots[NBACKENDS] = { 0, 1, 2 };
	struct mqlb_backend_stats *zero_bs = calloc(E.ncpus, sizeof(*zero_bs));
	struct mqlb_embryo_pos pos = {};
	struct mqlb_rr_state rr = {};
	__u32 i, one = 1;

	assert_non_null(zero_bs);
	set_snat_range(lb, SNAT_MIN, SNAT_MAX);
	map_clear(lb->baddrs);
	for (i = 0; i < 8; i++) {
		struct mqlb_backend empty = {};

		assert_int_equal(bpf_map_update_elem(lb->backends, &i, &empty, 0), 0);
	}
	for (i = 0; i < 8; i++) {
		if (i < NBACKENDS)
			set_backend(lb, i, BE_ADDR(i), MQLB_BE_UP, 1);
		else
			set_backend(lb, i, 0, MQLB_BE_EMPTY, 0);
		assert_int_equal(bpf_map_update_elem(lb->bstats, &i, zero_bs, 0), 0);
	}
	free(zero_bs);
	set_ring(lb, slots, NBACKENDS);
	memset(&ring_buf, 0, sizeof(ring_buf));
	assert_int_equal(bpf_map_update_elem(lb->ring, &one, &ring_buf, 0), 0);
	i = 0;
	assert_int_equal(bpf_map_update_elem(lb->rr, &i, &rr, 0), 0);
	map_clear(lb->flows);
	map_clear(lb->snat);
	map_clear(lb->tw_ts);
	map_clear(lb->src);
	i = 0;
	assert_int_equal(bpf_map_update_elem(lb->embryo_pos, &i, &pos, 0), 0);
	map_clear(lb->tx);
	/* The devmap resolves the ifindex in our namespace: run.sh's interfaces. */
	assert_int_equal(bpf_map_update_elem(lb->tx, &E.if_cli, &E.if_cli, 0), 0);
	assert_int_equal(bpf_map_update_elem(lb->tx, &E.if_bk, &E.if_bk, 0), 0);
}

/*
 * One BPF_PROG_TEST_RUN; returns 0 or -errno, the verdict in *verdict and,
 * when ns is not NULL, the kernel's time for the run in *ns.
 */
static int xdp_try_timed(struct lb *lb, const struct frame *in, int ifindex, struct frame *out,
			 __u32 *verdict, uint64_t *ns)
{
	struct xdp_md ctx = {
		.data = (__u32)in->meta,
		.data_end = (__u32)in->len,
		.ingress_ifindex = (__u32)ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (__u32)in->len,
		    .data_out = out->b, .data_size_out = sizeof(out->b), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err;

	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(lb->prog, &o);
	if (err)
		return err;
	out->len = o.data_size_out;
	out->meta = in->meta;
	*verdict = o.retval;
	if (ns)
		*ns = o.duration;
	return 0;
}

static int xdp_try(struct lb *lb, const struct frame *in, int ifindex, struct frame *out,
		   __u32 *verdict)
{
	return xdp_try_timed(lb, in, ifindex, out, verdict, NULL);
}

static __u32 xdp_run(struct lb *lb, const struct frame *in, int ifindex, struct frame *out)
{
	__u32 verdict = 0;
	int err = xdp_try(lb, in, ifindex, out, &verdict);

	if (err)
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(-err));
	return verdict;
}

/* ---- counters ---- */

struct sd {
	int stat;
	uint64_t n;
};
#define SD_END { -1, 0 }

static void stats_read(struct lb *lb, uint64_t s[MQLB_STAT_MAX])
{
	uint64_t *v = calloc(E.ncpus, sizeof(*v));
	__u32 i;
	int c;

	assert_non_null(v);
	for (i = 0; i < MQLB_STAT_MAX; i++) {
		assert_int_equal(bpf_map_lookup_elem(lb->stats, &i, v), 0);
		s[i] = 0;
		for (c = 0; c < E.ncpus; c++)
			s[i] += v[c];
	}
	free(v);
}

static void stats_print_delta(const uint64_t *before, const uint64_t *after)
{
	int i;

	for (i = 0; i < MQLB_STAT_MAX; i++)
		if (after[i] != before[i])
			print_message("    %s +%llu\n", mqlb_stat_names[i],
				      (unsigned long long)(after[i] - before[i]));
}

/* Every counter moved by exactly what want says, and no other (rx_packets: unless listed, any). */
static bool stats_exact(const uint64_t *before, const uint64_t *after, const struct sd *want)
{
	bool ok = true;
	int i, j;

	for (i = 0; i < MQLB_STAT_MAX; i++) {
		uint64_t exp = 0;
		bool listed = false;

		for (j = 0; want[j].stat >= 0; j++) {
			if (want[j].stat == i) {
				exp = want[j].n;
				listed = true;
			}
		}
		if (i == MQLB_STAT_RX_PACKETS && !listed)
			continue;
		if (after[i] - before[i] != exp) {
			print_message("counter %s: +%llu, want +%llu\n", mqlb_stat_names[i],
				      (unsigned long long)(after[i] - before[i]),
				      (unsigned long long)exp);
			ok = false;
		}
	}
	return ok;
}

/* One packet, decided for reason stat and for nothing else. */
static bool stats_only(const uint64_t *before, const uint64_t *after, enum mqlb_stat stat)
{
	return stats_exact(before, after, (const struct sd[]){ { MQLB_STAT_RX_PACKETS, 1 },
		{ (int)stat, 1 }, SD_END });
}

static void bstats_read(struct lb *lb, __u32 id, struct mqlb_backend_stats *sum)
{
	struct mqlb_backend_stats *v = calloc(E.ncpus, sizeof(*v));
	int c;

	assert_non_null(v);
	assert_int_equal(bpf_map_lookup_elem(lb->bstats, &id, v), 0);
	memset(sum, 0, sizeof(*sum));
	for (c = 0; c < E.ncpus; c++) {
		sum->packets_in += v[c].packets_in;
		sum->bytes_in += v[c].bytes_in;
		sum->packets_out += v[c].packets_out;
		sum->bytes_out += v[c].bytes_out;
		sum->flows_total += v[c].flows_total;
		sum->flows_client_id += v[c].flows_client_id;
		sum->flows_fallback += v[c].flows_fallback;
	}
	free(v);
}

/* ---- connections and expected frames ---- */

/*
 * A connection as the tests drive it, with a small model of TCP's numbers:
 * each segment a helper sends carries its side's next sequence number and
 * acknowledges all the other side sent, so that every one is in the
 * window the data plane tracks. The client's ISN is 999 (SYN seq), the
 * backend's 4999 (SYN-ACK seq); tests that need other numbers set them.
 */
struct conn {
	__be32 caddr;
	__u16 cport;
	int cif;                 /* where the client's frames come in */
	const uint8_t *cmac;     /* client's MAC */
	const uint8_t *lbmac;    /* our MAC on the client's side */
	int be;                  /* backend index, learned from the SYN's output */
	__u16 snat_port;
	__u32 cnxt;              /* the client's next sequence number (its SND.NXT) */
	__u32 bnxt;              /* the backend's, once its SYN-ACK was sent (else 0) */
};

#define CLIENT_ISN  999
#define BACKEND_ISN 4999

static void spec_client(struct pkt_spec *s, __be32 caddr, __u16 cport, uint8_t flags)
{
	pkt_spec_init(s);
	memcpy(s->smac, client_mac, ETH_ALEN);
	memcpy(s->dmac, E.mac_cli, ETH_ALEN);
	s->saddr = caddr;
	s->daddr = VIP_ADDR;
	s->sport = cport;
	s->dport = VIP_PORT;
	s->flags = flags;
	s->ack_seq = flags & TF_ACK ? 5001 : 0;
	if (flags & TF_SYN)
		s->tcp_opt_len = 4; /* MSS */
}

static void spec_conn(struct pkt_spec *s, const struct conn *c, uint8_t flags)
{
	spec_client(s, c->caddr, c->cport, flags);
	memcpy(s->smac, c->cmac, ETH_ALEN);
	memcpy(s->dmac, c->lbmac, ETH_ALEN);
	s->seq = flags & TF_SYN ? CLIENT_ISN : c->cnxt;
	s->ack_seq = flags & TF_ACK ? c->bnxt : 0;
}

static int be_index(__be32 addr)
{
	int i;

	for (i = 0; i < NBACKENDS; i++)
		if (BE_ADDR(i) == addr)
			return i;
	return -1;
}

/* out must be in, built from scratch with the translated tuple and MACs. */
static void expect_frame(const struct frame *out, const struct pkt_spec *want_spec)
{
	struct frame want, got = *out;
	enum pkt_csum_res cs = pkt_check_csums(&got);

	pkt_build(&want, want_spec);
	if (cs != PKT_CSUM_OK || out->len != want.len || memcmp(out->b, want.b, want.len)) {
		pkt_hexdump("got", out);
		pkt_hexdump("want", &want);
		fail_msg("output frame differs (checksums: %s)",
			 cs == PKT_CSUM_OK ? "ok" : cs == PKT_CSUM_BAD_IP ? "bad IP" :
			 cs == PKT_CSUM_BAD_TCP ? "bad TCP" : "not TCP/IPv4");
	}
}

static void expect_to_backend(const struct frame *out, const struct pkt_spec *in, int be,
			      __u16 snat_port)
{
	struct pkt_spec w = *in;

	memcpy(w.smac, E.mac_bk, ETH_ALEN); /* from bpf_fib_lookup */
	memcpy(w.dmac, be_mac[be], ETH_ALEN);
	w.saddr = SNAT_ADDR;
	w.daddr = BE_ADDR(be);
	w.sport = snat_port;
	w.dport = VIP_PORT;
	expect_frame(out, &w);
}

static void flow_get(struct lb *lb, __be32 caddr, __u16 cport, struct mqlb_flow *f)
{
	struct mqlb_flow_key k = {
		.client_addr_be = caddr, .vip_addr_be = VIP_ADDR,
		.client_port_be = htons(cport), .vip_port_be = htons(VIP_PORT),
	};

	if (bpf_map_lookup_elem(lb->flows, &k, f))
		fail_msg("no flow for client port %u", cport);
}

static __u32 flow_flags(struct lb *lb, const struct conn *c)
{
	struct mqlb_flow f;

	flow_get(lb, c->caddr, c->cport, &f);
	return f.tcp_flags;
}

/*
 * Run a client frame of a connection that may be new: learn the backend and
 * SNAT port from the output, then hold the output and the flow record to them.
 */
static __u32 forward_new(struct lb *lb, struct conn *c, const struct pkt_spec *s, int ifindex,
			 __u32 verdict)
{
	struct frame in, out;
	struct pkt_view v;
	struct mqlb_flow f;
	__u32 got;

	pkt_build(&in, s);
	got = xdp_run(lb, &in, ifindex, &out);
	if (got != verdict)
		fail_msg("client port %u: verdict %u, want %u", s->sport, got, verdict);
	if (pkt_view_tcp4(&out, &v))
		fail_msg("output is not TCP/IPv4");
	c->be = be_index(v.ip->daddr);
	c->snat_port = ntohs(v.tcp->source);
	assert_in_range(c->be, 0, NBACKENDS - 1);
	assert_in_range(c->snat_port, SNAT_MIN, SNAT_MAX);
	expect_to_backend(&out, s, c->be, c->snat_port);
	flow_get(lb, s->saddr, s->sport, &f);
	assert_int_equal(f.backend_id, c->be);
	assert_int_equal(ntohs(f.snat_port_be), c->snat_port);
	return ntohs(((struct iphdr *)(in.b + in.meta + ETH_HLEN))->tot_len);
}

/* A client frame of a known connection: same backend, same SNAT port. */
static __u32 forward(struct lb *lb, struct conn *c, const struct pkt_spec *s, int ifindex,
		     __u32 verdict)
{
	struct conn seen = *c;
	__u32 len = forward_new(lb, &seen, s, ifindex, verdict);

	assert_int_equal(seen.be, c->be);
	assert_int_equal(seen.snat_port, c->snat_port);
	return len;
}

/* A connection from the client side, before its SYN. */
static void conn_init(struct conn *c, __be32 caddr, __u16 cport)
{
	memset(c, 0, sizeof(*c));
	c->caddr = caddr;
	c->cport = cport;
	c->cnxt = CLIENT_ISN + 1;
	c->cif = E.if_cli;
	c->cmac = client_mac;
	c->lbmac = E.mac_cli;
}

/* SYN from the client side; in (optional) gets the frame sent. */
static void open_conn(struct lb *lb, struct conn *c, __be32 caddr, __u16 cport, struct frame *in)
{
	struct pkt_spec s;

	conn_init(c, caddr, cport);
	spec_conn(&s, c, TF_SYN);
	forward_new(lb, c, &s, E.if_cli, XDP_REDIRECT);
	if (in)
		pkt_build(in, &s);
}

static __u32 client_send(struct lb *lb, struct conn *c, uint8_t flags, const void *pl,
			 size_t len);
static __u32 reply(struct lb *lb, struct conn *c, uint8_t flags, const void *pl, size_t len,
		   __u32 verdict);

/* The rest of the handshake after open_conn(): the backend's SYN-ACK, the client's ACK. */
static void establish(struct lb *lb, struct conn *c)
{
	reply(lb, c, TF_SYN | TF_ACK, NULL, 0, XDP_REDIRECT);
	client_send(lb, c, TF_ACK, NULL, 0);
}

static __u32 client_send(struct lb *lb, struct conn *c, uint8_t flags, const void *pl, size_t len)
{
	struct pkt_spec s;
	__u32 n;

	spec_conn(&s, c, flags);
	s.payload = pl;
	s.payload_len = len;
	n = forward(lb, c, &s, c->cif, c->cif == E.if_bk ? XDP_TX : XDP_REDIRECT);
	if (!(flags & TF_RST))
		c->cnxt += (__u32)len + !!(flags & TF_FIN);
	return n;
}

/* A segment from backend be to SNAT:snat_port, as it reaches the balancer. */
static void spec_backend(struct pkt_spec *s, int be, __u16 snat_port, uint8_t flags)
{
	pkt_spec_init(s);
	memcpy(s->smac, be_mac[be], ETH_ALEN);
	memcpy(s->dmac, E.mac_bk, ETH_ALEN);
	s->saddr = BE_ADDR(be);
	s->daddr = SNAT_ADDR;
	s->sport = VIP_PORT;
	s->dport = snat_port;
	s->flags = flags;
}

/* out must be backend frame in, sent on as VIP:1883 -> the client of c. */
static void expect_to_client(const struct frame *out, const struct pkt_spec *in,
			     const struct conn *c)
{
	struct pkt_spec w = *in;

	memcpy(w.smac, c->lbmac, ETH_ALEN);
	memcpy(w.dmac, c->cmac, ETH_ALEN);
	w.saddr = VIP_ADDR;
	w.daddr = c->caddr;
	w.sport = VIP_PORT;
	w.dport = c->cport;
	expect_frame(out, &w);
}

/* A backend frame to SNAT:port must come out as VIP:1883 -> client. */
static __u32 reply(struct lb *lb, struct conn *c, uint8_t flags, const void *pl, size_t len,
		   __u32 verdict)
{
	struct pkt_spec s;
	struct frame in, out;
	__u32 got;

	spec_backend(&s, c->be, c->snat_port, flags);
	s.seq = flags & TF_SYN ? BACKEND_ISN : c->bnxt;
	s.ack_seq = c->cnxt;
	s.payload = pl;
	s.payload_len = len;
	if (flags & TF_SYN)
		s.tcp_opt_len = 4;
	pkt_build(&in, &s);
	got = xdp_run(lb, &in, E.if_bk, &out);
	if (got != verdict)
		fail_msg("reply to SNAT port %u: verdict %u, want %u", c->snat_port, got, verdict);
	expect_to_client(&out, &s, c);
	if (flags & TF_SYN)
		c->bnxt = BACKEND_ISN + 1;
	if (!(flags & TF_RST))
		c->bnxt += (__u32)len + !!(flags & TF_FIN);
	return ntohs(((struct iphdr *)(in.b + ETH_HLEN))->tot_len);
}

/* out must be a bare RST from VIP:1883 to the client, MACs turned around, checksums right. */
static void expect_rst(struct frame *out, const struct pkt_spec *in, __u32 seq, __u32 ack_seq,
		       uint8_t flags)
{
	struct pkt_view v;

	assert_int_equal(pkt_check_csums(out), PKT_CSUM_OK);
	assert_int_equal(pkt_view_tcp4(out, &v), 0);
	assert_int_equal(out->len - out->meta, ETH_HLEN + 40);
	assert_memory_equal(v.eth->h_source, in->dmac, ETH_ALEN);
	assert_memory_equal(v.eth->h_dest, in->smac, ETH_ALEN);
	assert_int_equal(v.ip->saddr, VIP_ADDR);
	assert_int_equal(v.ip->daddr, in->saddr);
	assert_int_equal(ntohs(v.ip->tot_len), 40);
	assert_int_equal(ntohs(v.tcp->source), VIP_PORT);
	assert_int_equal(ntohs(v.tcp->dest), in->sport);
	assert_int_equal(ntohl(v.tcp->seq), seq);
	assert_int_equal(ntohl(v.tcp->ack_seq), ack_seq);
	assert_int_equal(((uint8_t *)v.tcp)[13], flags);
	assert_int_equal(v.tcp->doff, 5);
}

/* Run the reaper on one flow, as the collector read it; returns the entry's result. */
static __u32 reap_flow(struct lb *lb, const struct mqlb_flow_key *key, const struct mqlb_flow *f)
{
	struct mqlb_reap_entry *e = &lb->skel->bss->reap_batch[0];
	LIBBPF_OPTS(bpf_test_run_opts, o);

	*e = mqlb_reap_entry_of(key, f);
	lb->skel->bss->reap_count = 1;
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(lb->skel->progs.mqlb_reap), &o), 0);
	return e->result;
}

/* Both tables hold the same flows: snat[translated tuple] == the flow's key. */
static void maps_consistent(struct lb *lb, unsigned int want)
{
	struct mqlb_flow_key k, next, back;
	struct mqlb_flow f;
	void *prev = NULL;
	unsigned int n = 0;

	while (!bpf_map_get_next_key(lb->flows, prev, &next)) {
		struct mqlb_snat_key sk;

		k = next;
		prev = &k;
		assert_int_equal(bpf_map_lookup_elem(lb->flows, &k, &f), 0);
		memset(&sk, 0, sizeof(sk));
		sk.backend_addr_be = f.backend_addr_be;
		sk.snat_addr_be = f.snat_addr_be;
		sk.backend_port_be = f.backend_port_be;
		sk.snat_port_be = f.snat_port_be;
		if (bpf_map_lookup_elem(lb->snat, &sk, &back))
			fail_msg("flow from port %u has no snat entry", ntohs(k.client_port_be));
		assert_memory_equal(&back, &k, sizeof(k));
		n++;
	}
	assert_int_equal(n, want);
	assert_int_equal(map_count(lb->snat), want);
}

static int test_setup(void **state)
{
	(void)state;
	if (E.ready)
		lb_reset(&E.lb);
	return 0;
}

#define T(f) cmocka_unit_test_setup(f, test_setup)

static int env_ifindex(const char *name)
{
	const char *v = getenv(name);

	return v ? atoi(v) : 0;
}

static int group_setup(void **state)
{
	int err;

	(void)state;
	E.unprivileged = geteuid() != 0;
	libbpf_set_print(libbpf_print);
	E.ncpus = libbpf_num_possible_cpus();
	err = lb_open(&E.lb, 0, 0);
	if (err) {
		snprintf(E.why, sizeof(E.why), "cannot load the XDP program: %s%s", strerror(-err),
			 E.unprivileged ? " (needs root or CAP_BPF)" : "");
		/* As root that is the verifier refusing the program: a failure, never a skip. */
		if (!E.unprivileged) {
			fprintf(stderr, "%s\n", E.why);
			return -1;
		}
		return 0;
	}
	E.if_cli = env_ifindex("MQLB_TEST_IF_CLI");
	E.if_bk = env_ifindex("MQLB_TEST_IF_BK");
	if (E.if_cli <= 0 || E.if_bk <= 0 ||
	    pkt_parse_mac(getenv("MQLB_TEST_MAC_CLI"), E.mac_cli) ||
	    pkt_parse_mac(getenv("MQLB_TEST_MAC_BK"), E.mac_bk)) {
		snprintf(E.why, sizeof(E.why),
			 "no test namespace in the environment (run through tests/bpf/run.sh)");
		lb_close(&E.lb);
		return 0;
	}
	E.ready = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (E.ready)
		lb_close(&E.lb);
	return 0;
}

#endif

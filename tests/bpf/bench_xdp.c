// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP program's own cost per packet, measured with BPF_PROG_TEST_RUN
 * in the scratch namespace of tests/bpf/run.sh: not a test (it asserts
 * only that the packets take the path being timed), a benchmark that
 * 'make bench-xdp' runs and 'make bench' reports.
 *
 * Single runs cost a clock read each and the kernel's set-up around it
 * (about 100 ns here, more than the program): every figure but the new
 * flow's comes from one run with BPF_PROG_TEST_RUN's repeat, whose time
 * the kernel divides by the repetitions. A repetition sees the frame as
 * the one before it left it (the data is rewritten in place), so the
 * forwarding paths are timed on flows built to follow each other: flow
 * F(p), client SNAT:p -> VIP:1883, has the VIP for its backend and SNAT:
 * next(p) for its translated tuple, so the segment it sends on is flow
 * F(next(p))'s next segment. The data plane cannot tell: lookups, the
 * tuple and timestamp rewrites, the checksums, the counters are those of
 * any established flow. next() chains the flows into one cycle:
 *
 *   one busy flow       two flows, each the other's next: caches warm
 *   50000 flows         one random cycle through a full-size table, so
 *                       every segment is another flow's, wherever the hash
 *                       put it: the cache misses of random flows
 *   backend -> client   the same cycles walked backwards (VIP:1883 ->
 *                       SNAT:next(p) comes out as VIP:1883 -> SNAT:p)
 *   translated          the same cycles with every flow bound late
 *                       (balance client-id, MQLB_FLOW_XLATE): acknowledgment
 *                       or sequence number moved by the flow's offset,
 *                       the TSecr or TSval by its timestamp offset. The
 *                       offsets alternate in sign along the cycle (+D,
 *                       -D), so the numbers stay in every flow's window
 *                       however many repetitions run
 *   not ours            a segment to another port, passed: the frame is
 *                       not changed, so it repeats as it is
 *   new flow (SYN)      a SYN cannot lead to the next SYN; these are single
 *                       runs timed by the kernel's own run-time statistics
 *                       (kernel.bpf_stats_enabled, the program alone, as
 *                       'mqlb prog show' reports it in production), less
 *                       the same statistics' figure for "not ours" minus
 *                       its repeat figure (their own clock reads)
 *   cookie SYN-ACK      delayed binding's answer to a SYN (XDP_TX), single
 *                       runs timed the same way
 *
 * Each figure is the median of ROUNDS runs. Output: one line per path; with
 * -j (or MQLB_BENCH_JSON=1 in the environment), one JSON object.
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

#include "clock.h"
#include "mqlb_abi.h"
#include "mqlb.skel.h"
#include "pktbuild.h"
/* The fixtures are the tests' whole toolbox; the benchmark uses a few. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "fixtures.h"

#define ROUNDS      9
#define REPEAT      200000  /* per run: about 20 ms, well inside the next hops' 1 s cache */
#define TABLE_FLOWS 50000
#define PORT_BASE   10000   /* flows use ports PORT_BASE + i, all in the SNAT range */
#define NEW_FLOWS   4000
#define PAYLOAD     64      /* a small PUBLISH */

static bool json;
static __u16 next_port[TABLE_FLOWS];
/* Translated cycles: a flow's offset sign, by port index (its place in the cycle, odd or even). */
static bool xlate;
static bool xlate_minus[TABLE_FLOWS];
#define XLATE_D 1000u /* the offset between the client's numbers and the backend's */

/*
 * What the data plane's TCP checks look at: the flows' windows and the
 * segments' numbers, set so that every repetition is an acceptable
 * segment of an established flow (the same one again: a retransmission,
 * as far as the window is concerned, so state is read, not rewritten).
 */
#define SEG_C 1000u /* client sequence number */
#define SEG_B 5000u /* backend's */
#define WIN   (64240u << 7)

static void bench_flow_window(struct mqlb_flow *f)
{
	f->side[MQLB_SIDE_CLIENT] = (struct mqlb_tcp_side){
		.end = SEG_C + PAYLOAD, .maxend = SEG_C + WIN, .maxwin = WIN, .maxack = SEG_B + PAYLOAD,
	};
	f->side[MQLB_SIDE_BACKEND] = (struct mqlb_tcp_side){
		.end = SEG_B + PAYLOAD, .maxend = SEG_B + WIN, .maxwin = WIN, .maxack = SEG_C + PAYLOAD,
	};
	f->wscale[MQLB_SIDE_CLIENT] = 7;
	f->wscale[MQLB_SIDE_BACKEND] = 7;
	/* Translated: the backend's numbers reach XLATE_D past what the segments carry. */
	if (xlate)
		f->side[MQLB_SIDE_BACKEND].end += XLATE_D;
}

static void bench_seg_client(struct pkt_spec *s)
{
	s->seq = SEG_C;
	s->ack_seq = SEG_B + PAYLOAD;
}

static void bench_seg_backend(struct pkt_spec *s)
{
	s->seq = SEG_B;
	s->ack_seq = SEG_C + PAYLOAD;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), cmp_u64);
	return v[n / 2];
}

static void die_counters(struct lb *lb, const char *what, int err, __u32 got, __u32 want)
{
	uint64_t st[MQLB_STAT_MAX];
	int i;

	fprintf(stderr, "bench_xdp: %s: %s, verdict %u (want %u); counters:", what,
		strerror(-err), got, want);
	stats_read(lb, st);
	for (i = 0; i < MQLB_STAT_MAX; i++)
		if (st[i])
			fprintf(stderr, " %s %llu", mqlb_stat_names[i], (unsigned long long)st[i]);
	fprintf(stderr, "\n");
	exit(1);
}

/* One BPF_PROG_TEST_RUN of frame in, repeated n times; the kernel's ns per repetition. */
static uint64_t run_repeat(struct lb *lb, const char *what, const struct frame *in, int ifindex,
			   __u32 verdict, __u32 n)
{
	struct xdp_md ctx = {
		.data = (__u32)in->meta,
		.data_end = (__u32)in->len,
		.ingress_ifindex = (__u32)ifindex,
	};
	static struct frame out;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (__u32)in->len,
		    .data_out = out.b, .data_size_out = sizeof(out.b), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = n);
	int err = bpf_prog_test_run_opts(lb->prog, &o);

	if (err || o.retval != verdict)
		die_counters(lb, what, err, o.retval, verdict);
	return o.duration;
}

static __be16 port_be(int i)
{
	return htons((__u16)(PORT_BASE + i));
}

/*
 * Flow F(p): client SNAT:p -> VIP:1883, backend VIP:1883, translated tuple
 * SNAT:next -> VIP:1883, established, TCP timestamps shifted, the first
 * payload long past, next hop cached as of now.
 */
static void put_flow(struct lb *lb, __u16 p, __u16 next, __u64 now)
{
	struct mqlb_flow_key k = {
		.client_addr_be = SNAT_ADDR, .vip_addr_be = VIP_ADDR,
		.client_port_be = htons(p), .vip_port_be = htons(VIP_PORT),
	};
	struct mqlb_snat_key sk = {
		.backend_addr_be = VIP_ADDR, .snat_addr_be = SNAT_ADDR,
		.backend_port_be = htons(VIP_PORT), .snat_port_be = htons(next),
	};
	struct mqlb_flow f = {
		.last_ns = now, .created_ns = now, .nh_ns = now,
		.backend_addr_be = VIP_ADDR, .backend_port_be = htons(VIP_PORT),
		.snat_addr_be = SNAT_ADDR, .snat_port_be = htons(next),
		.backend_id = 0,
		.tcp_flags = MQLB_FLOW_SYN | MQLB_FLOW_SYNACK | MQLB_FLOW_ESTABLISHED |
			     MQLB_FLOW_PAYLOAD | MQLB_FLOW_TS_SHIFT,
		.ts_off = 12345,
		.cli_ifindex = (__u32)E.if_cli,
		.nh_ifindex = (__u32)E.if_bk,
		.client_isn = 1,
	};

	if (xlate) {
		f.tcp_flags |= MQLB_FLOW_XLATE;
		f.seq_delta = xlate_minus[p - PORT_BASE] ? -XLATE_D : XLATE_D;
		f.tsval_delta = 777;
		f.s_wscale = 7;
	}
	memcpy(f.cli_mac, client_mac, ETH_ALEN);
	memcpy(f.lb_mac, E.mac_cli, ETH_ALEN);
	memcpy(f.nh_smac, E.mac_bk, ETH_ALEN);
	memcpy(f.nh_dmac, be_mac[0], ETH_ALEN);
	bench_flow_window(&f);
	assert_int_equal(bpf_map_update_elem(lb->flows, &k, &f, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(lb->snat, &sk, &k, BPF_ANY), 0);
}

/* The flows of the cycle, built (again) with a fresh next-hop cache. */
static void put_cycle(struct lb *lb, int n)
{
	__u64 now = mono_ns();
	int i;

	for (i = 0; i < n; i++)
		put_flow(lb, (__u16)(PORT_BASE + i), next_port[i], now);
}

/* next(): one cycle through n flows, in random order (Sattolo's shuffle). */
static void make_cycle(int n)
{
	static int order[TABLE_FLOWS];
	int i, j, t;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = (int)(random() % i);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++) {
		next_port[order[i]] = (__u16)(PORT_BASE + order[(i + 1) % n]);
		xlate_minus[order[i]] = i & 1; /* n is even: signs alternate all the way round */
	}
}

/* The segment: timestamps (Linux's NOP, NOP, TS layout), ACK, PAYLOAD bytes. */
static const uint8_t ts_opts[12] = { 1, 1, 8, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0 };
static const uint8_t payload[PAYLOAD];

static void seg_client(struct frame *in, int i)
{
	struct pkt_spec s;

	spec_client(&s, SNAT_ADDR, (__u16)(PORT_BASE + i), TF_ACK | TF_PSH);
	bench_seg_client(&s);
	s.tcp_opt_len = sizeof(ts_opts);
	s.tcp_opts = ts_opts;
	s.payload = payload;
	s.payload_len = PAYLOAD;
	pkt_build(in, &s);
}

static void seg_backend(struct frame *in, int i)
{
	struct pkt_spec s;

	pkt_spec_init(&s);
	memcpy(s.smac, be_mac[0], ETH_ALEN);
	memcpy(s.dmac, E.mac_bk, ETH_ALEN);
	s.saddr = VIP_ADDR;
	s.daddr = SNAT_ADDR;
	s.sport = VIP_PORT;
	s.dport = next_port[i];
	s.flags = TF_ACK | TF_PSH;
	bench_seg_backend(&s);
	s.tcp_opt_len = sizeof(ts_opts);
	s.tcp_opts = ts_opts;
	s.payload = payload;
	s.payload_len = PAYLOAD;
	pkt_build(in, &s);
}

/* The median over ROUNDS repeat runs, the cycle's next hops refreshed before each. */
static uint64_t time_cycle(struct lb *lb, int n, bool to_backend)
{
	uint64_t ns[ROUNDS];
	struct frame in;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		put_cycle(lb, n);
		if (to_backend) {
			seg_client(&in, 0);
			ns[r] = run_repeat(lb, "client -> backend", &in, E.if_cli, XDP_REDIRECT,
					   REPEAT);
		} else {
			seg_backend(&in, 0);
			ns[r] = run_repeat(lb, "backend -> client", &in, E.if_bk, XDP_REDIRECT,
					   REPEAT);
		}
	}
	return median(ns, ROUNDS);
}

static uint64_t time_not_ours(struct lb *lb)
{
	uint64_t ns[ROUNDS];
	struct pkt_spec s;
	struct frame in;
	int r;

	spec_client(&s, CLIENT1, 40001, TF_ACK);
	s.dport = 22;
	pkt_build(&in, &s);
	for (r = 0; r < ROUNDS; r++)
		ns[r] = run_repeat(lb, "not ours", &in, E.if_cli, XDP_PASS, REPEAT);
	return median(ns, ROUNDS);
}

/* The program's run time and count from the kernel's statistics. */
static void prog_stats(struct lb *lb, uint64_t *ns, uint64_t *cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(lb->prog, &info, &len), 0);
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
}

/* ns per run by the kernel's statistics, over n single runs of frames made by build(i). */
static uint64_t time_stats(struct lb *lb, int n, void (*build)(struct frame *in, int i),
			   __u32 verdict)
{
	uint64_t ns0, c0, ns1, c1;
	struct frame in, out;
	__u32 got;
	int i, err;

	prog_stats(lb, &ns0, &c0);
	for (i = 0; i < n; i++) {
		build(&in, i);
		err = xdp_try(lb, &in, E.if_cli, &out, &got);
		if (err || got != verdict)
			die_counters(lb, "single run", err, got, verdict);
	}
	prog_stats(lb, &ns1, &c1);
	return c1 > c0 ? (ns1 - ns0) / (c1 - c0) : 0;
}

static void syn_frame(struct frame *in, int i)
{
	struct pkt_spec s;

	spec_client(&s, CLIENT1, (__u16)(PORT_BASE + i), TF_SYN);
	pkt_build(in, &s);
}

static void not_ours_frame(struct frame *in, int i)
{
	struct pkt_spec s;

	spec_client(&s, CLIENT1, (__u16)(40000 + i % 1000), TF_ACK);
	s.dport = 22;
	pkt_build(in, &s);
}

/* New flows: single runs into an emptied table, timed by the kernel's statistics. */
static uint64_t time_new_flows(struct lb *lb, uint64_t *stats_floor)
{
	uint64_t ns[ROUNDS], floor[ROUNDS];
	int r;

	for (r = 0; r < ROUNDS; r++) {
		lb_reset(lb);
		set_snat_range(lb, PORT_BASE, PORT_BASE + TABLE_FLOWS);
		ns[r] = time_stats(lb, NEW_FLOWS, syn_frame, XDP_REDIRECT);
		floor[r] = time_stats(lb, NEW_FLOWS, not_ours_frame, XDP_PASS);
	}
	*stats_floor = median(floor, ROUNDS);
	return median(ns, ROUNDS);
}

/* Delayed binding's SYN: answered with a cookie SYN-ACK out of the same port, nothing stored. */
static uint64_t time_cookie_synack(struct lb *lb)
{
	struct mqlb_config cfg;
	uint64_t ns[ROUNDS];
	int r;

	lb_reset(lb);
	set_snat_range(lb, PORT_BASE, PORT_BASE + TABLE_FLOWS);
	config_get(lb, &cfg);
	cfg.flags |= MQLB_CFG_BIND | MQLB_CFG_CLIENT_ID;
	cfg.synack_mss = 1460;
	cfg.synack_wscale = 7;
	config_put(lb, &cfg);
	for (r = 0; r < ROUNDS; r++)
		ns[r] = time_stats(lb, NEW_FLOWS, syn_frame, XDP_REDIRECT);
	cfg.flags &= ~(MQLB_CFG_BIND | MQLB_CFG_CLIENT_ID);
	config_put(lb, &cfg);
	return median(ns, ROUNDS);
}

static int sysctl_bpf_stats(int on)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r+");
	int old = 0;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &old) != 1)
		old = 0;
	rewind(f);
	fprintf(f, "%d\n", on);
	fclose(f);
	return old;
}

static void bench(void)
{
	uint64_t busy_c2b, busy_b2c, tc2b, tb2c, other, syn, stats_other, cookie;
	uint64_t x_busy_c2b, x_busy_b2c, x_tc2b, x_tb2c;
	struct lb *lb = &E.lb;
	int old_stats;

	/*
	 * The repeat runs without the per-run statistics, whose two clock reads
	 * would be half of a busy flow's time (another program may have left
	 * them on); on again only for the single runs that need them.
	 */
	old_stats = sysctl_bpf_stats(0);
	srandom(1);
	lb_reset(lb);
	set_snat_range(lb, PORT_BASE, PORT_BASE + TABLE_FLOWS);
	/* Backend 0 is the VIP itself: what one flow sends on is another flow's segment. */
	set_backend(lb, 0, VIP_ADDR, MQLB_BE_UP, 1);

	make_cycle(2);
	busy_c2b = time_cycle(lb, 2, true);
	busy_b2c = time_cycle(lb, 2, false);
	map_clear(lb->flows);
	map_clear(lb->snat);
	make_cycle(TABLE_FLOWS);
	tc2b = time_cycle(lb, TABLE_FLOWS, true);
	tb2c = time_cycle(lb, TABLE_FLOWS, false);
	other = time_not_ours(lb);

	/* The same cycles, every flow translated (delayed binding). */
	xlate = true;
	map_clear(lb->flows);
	map_clear(lb->snat);
	make_cycle(2);
	x_busy_c2b = time_cycle(lb, 2, true);
	x_busy_b2c = time_cycle(lb, 2, false);
	map_clear(lb->flows);
	map_clear(lb->snat);
	make_cycle(TABLE_FLOWS);
	x_tc2b = time_cycle(lb, TABLE_FLOWS, true);
	x_tb2c = time_cycle(lb, TABLE_FLOWS, false);
	xlate = false;
	map_clear(lb->flows);
	map_clear(lb->snat);

	sysctl_bpf_stats(1);
	syn = time_new_flows(lb, &stats_other);
	cookie = time_cookie_synack(lb);
	if (old_stats >= 0)
		sysctl_bpf_stats(old_stats);
	/* The statistics' own clock reads: what they add to a path the repeat timed. */
	syn = syn > stats_other - other ? syn - (stats_other - other) : syn;
	cookie = cookie > stats_other - other ? cookie - (stats_other - other) : cookie;
	lb_reset(lb);

	if (json)
		printf("{\"method\":\"repeat\",\"client_to_backend_ns\":%llu,"
		       "\"backend_to_client_ns\":%llu,\"table_client_to_backend_ns\":%llu,"
		       "\"table_backend_to_client_ns\":%llu,\"new_flow_ns\":%llu,"
		       "\"not_ours_ns\":%llu,\"table_flows\":%d,"
		       "\"xlate_client_to_backend_ns\":%llu,\"xlate_backend_to_client_ns\":%llu,"
		       "\"xlate_table_client_to_backend_ns\":%llu,"
		       "\"xlate_table_backend_to_client_ns\":%llu,\"cookie_synack_ns\":%llu}\n",
		       (unsigned long long)busy_c2b, (unsigned long long)busy_b2c,
		       (unsigned long long)tc2b, (unsigned long long)tb2c,
		       (unsigned long long)syn, (unsigned long long)other, TABLE_FLOWS,
		       (unsigned long long)x_busy_c2b, (unsigned long long)x_busy_b2c,
		       (unsigned long long)x_tc2b, (unsigned long long)x_tb2c,
		       (unsigned long long)cookie);
	else
		printf("XDP program, ns per packet (BPF_PROG_TEST_RUN repeat %d, median of %d):\n"
		       "  one busy flow, client -> backend          %5llu\n"
		       "  one busy flow, backend -> client          %5llu\n"
		       "  %d flows, random one, client -> backend %5llu\n"
		       "  %d flows, random one, backend -> client %5llu\n"
		       "  new flow (SYN; bpf_stats, single runs)    %5llu\n"
		       "  not ours (passed to the kernel)           %5llu\n"
		       "translated flows (balance client-id, proxy-v2):\n"
		       "  one busy flow, client -> backend          %5llu\n"
		       "  one busy flow, backend -> client          %5llu\n"
		       "  %d flows, random one, client -> backend %5llu\n"
		       "  %d flows, random one, backend -> client %5llu\n"
		       "  SYN answered with a cookie (bpf_stats)    %5llu\n",
		       REPEAT, ROUNDS, (unsigned long long)busy_c2b,
		       (unsigned long long)busy_b2c, TABLE_FLOWS, (unsigned long long)tc2b,
		       TABLE_FLOWS, (unsigned long long)tb2c, (unsigned long long)syn,
		       (unsigned long long)other, (unsigned long long)x_busy_c2b,
		       (unsigned long long)x_busy_b2c, TABLE_FLOWS, (unsigned long long)x_tc2b,
		       TABLE_FLOWS, (unsigned long long)x_tb2c, (unsigned long long)cookie);
}

int main(int argc, char **argv)
{
	/* tests/bpf/run.sh passes no arguments: MQLB_BENCH_JSON=1 asks for JSON too. */
	json = (argc > 1 && !strcmp(argv[1], "-j")) || getenv("MQLB_BENCH_JSON");
	group_setup(NULL);
	if (!E.ready) {
		fprintf(stderr, "bench_xdp: %s\n", E.why);
		return 1;
	}
	bench();
	group_teardown(NULL);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP program's own cost per packet, measured with BPF_PROG_TEST_RUN
 * in the scratch namespace of tests/bpf/run.sh: not a test (it asserts
 * only that the packets take the path being timed), a benchmark that
 * 'make bench-xdp' runs and 'make bench' reports.
 *
 * The kernel times the program alone, between its own clock reads, and
 * leaves preemption out. Two cache regimes:
 *
 *   one busy flow       the same flow's segments again and again: the
 *                       instructions and helpers, caches warm
 *   50000 flows         segments of flows picked at random in a full-size
 *                       table (flow-table-size default): the hash lookups'
 *                       cache misses count, as in the end-to-end runs
 *   new flow (SYN)      backend pick, SNAT port reservation, two inserts,
 *                       the first fib lookup; median of the table's first SYNs
 *   not ours            a segment to another port, passed: the floor, which
 *                       includes one clock read of the measurement itself
 *
 * Output: one line per path, the median ns of single runs; with -j (or
 * MQLB_BENCH_JSON=1 in the environment), one JSON object.
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
/* The fixtures are the tests' whole toolbox; the benchmark uses a few. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "fixtures.h"

#define RUNS 20000
#define NEW_FLOWS 2000
#define TABLE_FLOWS 50000

static bool json;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One run of frame in; its time in ns. The output frame lands in *out. */
static uint64_t run_once(struct lb *lb, const struct frame *in, int ifindex, __u32 verdict,
			 struct frame *out)
{
	uint64_t ns = 0, st[MQLB_STAT_MAX];
	__u32 got = 0;
	int err = xdp_try_timed(lb, in, ifindex, out, &got, &ns), i;

	if (err || got != verdict) {
		fprintf(stderr, "bench_xdp: %s, verdict %u (want %u) on ifindex %d; counters:",
			strerror(-err), got, verdict, ifindex);
		stats_read(lb, st);
		for (i = 0; i < MQLB_STAT_MAX; i++)
			if (st[i])
				fprintf(stderr, " %s %llu", mqlb_stat_names[i], (unsigned long long)st[i]);
		fprintf(stderr, "\n");
		exit(1);
	}
	return ns;
}

static uint64_t median(uint64_t *ns, size_t n)
{
	qsort(ns, n, sizeof(ns[0]), cmp_u64);
	return ns[n / 2];
}

/*
 * Frame in, RUNS times, one run per call: a repeated run would see the
 * frame as the previous run rewrote it. Each duration includes one clock
 * read, which the "not ours" line shows as the floor.
 */
static uint64_t time_frame(struct lb *lb, const struct frame *in, int ifindex, __u32 verdict)
{
	static uint64_t ns[RUNS];
	struct frame out;
	int r;

	for (r = 0; r < RUNS; r++)
		ns[r] = run_once(lb, in, ifindex, verdict, &out);
	return median(ns, RUNS);
}

/* TABLE_FLOWS flows of CLIENT1, ports 10000 on: their SNAT ports and backends. */
static struct table {
	uint16_t snat_port[TABLE_FLOWS];
	uint8_t be[TABLE_FLOWS];
} T_;

static void client_frame(struct frame *in, int i, uint8_t flags)
{
	struct pkt_spec s;

	spec_client(&s, CLIENT1, (__u16)(10000 + i), flags);
	pkt_build(in, &s);
}

static void backend_frame(struct frame *in, int i)
{
	struct pkt_spec s;

	spec_backend(&s, T_.be[i], T_.snat_port[i], TF_ACK);
	pkt_build(in, &s);
}

/* Fill the table with SYNs; the median time of the first NEW_FLOWS (a table filling up). */
static uint64_t fill_table(struct lb *lb)
{
	static uint64_t ns[NEW_FLOWS];
	struct frame in, out;
	struct pkt_view v;
	int i;

	set_snat_range(lb, 10000, 60000);
	for (i = 0; i < TABLE_FLOWS; i++) {
		uint64_t t;

		client_frame(&in, i, TF_SYN);
		t = run_once(lb, &in, E.if_cli, XDP_REDIRECT, &out);
		if (i < NEW_FLOWS)
			ns[i] = t;
		if (pkt_view_tcp4(&out, &v)) {
			fprintf(stderr, "bench_xdp: SYN %d: no TCP/IPv4 out\n", i);
			exit(1);
		}
		T_.snat_port[i] = ntohs(v.tcp->source);
		T_.be[i] = (uint8_t)(ntohl(v.ip->daddr) - ntohl(BE_ADDR(0)));
	}
	return median(ns, NEW_FLOWS);
}

/* Segments of flows picked at random across the whole table: its cache misses count. */
static uint64_t time_table(struct lb *lb, bool to_backend)
{
	static uint64_t ns[RUNS];
	struct frame in, out;
	int r, i;

	srandom(1);
	for (r = 0; r < RUNS; r++) {
		i = (int)(random() % TABLE_FLOWS);
		if (to_backend) {
			client_frame(&in, i, TF_ACK);
			ns[r] = run_once(lb, &in, E.if_cli, XDP_REDIRECT, &out);
		} else {
			backend_frame(&in, i);
			ns[r] = run_once(lb, &in, E.if_bk, XDP_REDIRECT, &out);
		}
	}
	return median(ns, RUNS);
}

static void bench(void)
{
	uint64_t c2b, b2c, other, syn, tc2b, tb2c;
	struct lb *lb = &E.lb;
	struct pkt_spec s;
	struct frame in;
	struct conn c;

	lb_reset(lb);
	open_conn(lb, &c, CLIENT2, 40000, NULL);
	reply(lb, &c, TF_SYN | TF_ACK, NULL, 0, XDP_REDIRECT);
	client_send(lb, &c, TF_ACK, NULL, 0);

	/* Past the first payload: an ACK with data not at ISN + 1 is plain forwarding. */
	spec_conn(&s, &c, TF_ACK);
	pkt_build(&in, &s);
	c2b = time_frame(lb, &in, E.if_cli, XDP_REDIRECT);

	spec_backend(&s, c.be, c.snat_port, TF_ACK);
	pkt_build(&in, &s);
	b2c = time_frame(lb, &in, E.if_bk, XDP_REDIRECT);

	spec_client(&s, CLIENT1, 40001, TF_ACK);
	s.dport = 22;
	pkt_build(&in, &s);
	other = time_frame(lb, &in, E.if_cli, XDP_PASS);

	syn = fill_table(lb);
	tc2b = time_table(lb, true);
	tb2c = time_table(lb, false);
	lb_reset(lb);

	if (json)
		printf("{\"client_to_backend_ns\":%llu,\"backend_to_client_ns\":%llu,"
		       "\"table_client_to_backend_ns\":%llu,\"table_backend_to_client_ns\":%llu,"
		       "\"new_flow_ns\":%llu,\"not_ours_ns\":%llu,\"table_flows\":%d}\n",
		       (unsigned long long)c2b, (unsigned long long)b2c, (unsigned long long)tc2b,
		       (unsigned long long)tb2c, (unsigned long long)syn,
		       (unsigned long long)other, TABLE_FLOWS);
	else
		printf("XDP program, ns per packet (BPF_PROG_TEST_RUN, medians of single runs):\n"
		       "  one busy flow, client -> backend          %5llu\n"
		       "  one busy flow, backend -> client          %5llu\n"
		       "  %d flows, random one, client -> backend %5llu\n"
		       "  %d flows, random one, backend -> client %5llu\n"
		       "  new flow (SYN)                            %5llu\n"
		       "  not ours (passed to the kernel)           %5llu\n",
		       (unsigned long long)c2b, (unsigned long long)b2c, TABLE_FLOWS,
		       (unsigned long long)tc2b, TABLE_FLOWS, (unsigned long long)tb2c,
		       (unsigned long long)syn, (unsigned long long)other);
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

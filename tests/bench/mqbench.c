// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: an epoll MQTT 3.1.1 load generator built on the project's codec
 * (issue 7). One thread, one epoll set; every wait is bounded by -t, so a
 * run always ends by itself, with what it measured so far.
 *
 *   conn-rate  open connections (CONNECT/CONNACK, DISCONNECT) with -k in flight
 *   p2p        N publishers -> N subscribers, one topic per pair
 *   fanout     1 publisher (--pub-target) -> M subscribers on one topic
 *   fanin      N publishers on fanin/i -> 1 subscriber on fanin/#
 *   seed       the study: M subscribers on TOPIC through --sub-target, then N
 *              publishers straight to --pub-target, each publishes once
 *   idle       C connections with one subscription each, held; broker RSS growth
 *
 * Flooding scenarios are a closed loop: a publisher keeps at most -w of its
 * messages unsettled, neither delivered nor known to be dropped (its
 * subscribers are in this process), so the rate is the system's at a fixed
 * concurrency rather than a measure of socket buffers. With -r the publishers
 * are paced, phase-shifted, to RATE messages/s in all.
 * Every payload carries send time, publisher and sequence number, which gives
 * latency, delivered/expected, duplicates (a sequence number seen again) and
 * lost messages (a sequence number skipped: see mqbench_track.c).
 *
 * Connections close the way MQTT clients do: DISCONNECT, then wait for the
 * broker to close first, so TIME_WAIT lands on the server side and the
 * client's source ports stay reusable over long conn-rate runs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "mqbench.h"

__attribute__((format(printf, 1, 2), noreturn)) void fatal(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mqbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- scenarios ---- */

/* Open conns[0..n) toward targets with at most -k setups in flight; true when all are ready. */
static bool open_all(struct bench *b, struct conn *cs, int n, const struct mqb_addrs *to)
{
	int i = 0, ready;

	for (;;) {
		while (i < n && b->inflight < b->o.concurrency) {
			int err = conn_open(b, &cs[i], &to->a[i % to->n], b->opened);

			if (err)
				conn_failed(b, &cs[i], "socket", err);
			i++;
		}
		for (ready = 0; ready < i && cs[ready].state == S_READY; ready++)
			;
		if (ready == n)
			return true;
		if (!poll_once(b, 10000))
			return false;
	}
}

static void run_conn_rate(struct bench *b)
{
	uint64_t t0 = mono_ns(), started = 0;
	int i;

	b->ncr = b->o.concurrency;
	b->cr = calloc((size_t)b->ncr, sizeof(*b->cr));
	if (!b->cr)
		fatal("out of memory");
	for (i = 0; i < b->ncr; i++) {
		b->cr[i].fd = -1;
		b->cr[i].role = R_CR;
	}
	b->t_start = t0 + (uint64_t)(b->o.warmup * 1e9);
	b->t_end = b->t_start + (uint64_t)(b->o.duration * 1e9);
	while (mono_ns() < b->t_end && started < (uint64_t)b->o.n) {
		uint64_t allowed = UINT64_MAX;

		if (b->o.rate > 0)
			allowed = (uint64_t)(b->o.rate * (double)(mono_ns() - t0) / 1e9) + 1;
		/* A slot is free once its connection has ended, not at CONNACK. */
		for (i = 0; i < b->ncr && started < allowed && started < (uint64_t)b->o.n; i++) {
			struct conn *c = &b->cr[i];

			if (c->state != S_FREE)
				continue;
			c->idx = (uint32_t)started;
			if (conn_open(b, c, &b->o.sub.a[started % (uint64_t)b->o.sub.n], started)) {
				b->errors++;
				continue;
			}
			started++;
		}
		if (mono_ns() >= b->t_start && !b->s0.t_ns)
			take_sample(b, &b->s0);
		if (!poll_once(b, 1000))
			break;
	}
	take_sample(b, &b->s1);
	if (!b->s0.t_ns)	/* -n ended it during the warm-up */
		b->s0 = b->s1;
	/* Let the last ones finish (bounded), so no half-open connection stays behind. */
	for (i = 0; i < 200; i++) {
		int j, busy = 0;

		for (j = 0; j < b->ncr; j++)
			busy += b->cr[j].state != S_FREE;
		if (!busy || !poll_once(b, 10000))
			break;
	}
	if (b->s1.t_ns < b->t_end)
		b->t_end = b->s1.t_ns;
}

static void flood_publish(struct bench *b)
{
	uint64_t now = mono_ns(), window = (uint64_t)b->o.window;
	int i, k;

	for (i = 0; i < b->npub; i++) {
		struct conn *c = &b->pubs[i];
		uint64_t out = mqb_outstanding(c->sent, c->settled, b->fan), allowed = UINT64_MAX;

		if (c->state != S_READY || c->outlen - c->outoff > 65536)
			continue;
		if (b->o.rate > 0) {
			/*
			 * This publisher's share of the rate since the start. Publishers are
			 * phase-shifted, so that together they send one message every 1/rate
			 * instead of all firing at once: a burst of 100 would be measured as
			 * the time the broker takes to get through it.
			 */
			double per = b->o.rate / b->npub;

			allowed = (uint64_t)(per * (double)(now - b->t_pace) / 1e9 +
					     (double)i / b->npub) + 1;
		}
		if (!out)	/* an empty window has nothing to wait for: the clock starts now */
			c->t_progress = now;
		for (k = 0; k < 64 && out < window && c->sent < allowed; k++, out++)
			send_publish(b, c);
		/*
		 * Full, and nothing settled for a while: the broker may have dropped
		 * all it holds of ours, and then no later number would ever show the
		 * gap. One message past the window tells: it arrives after the others
		 * (they were slow) or with a gap (they were dropped, and settle).
		 */
		if (!k && out >= window && mqb_probe_due(now, c->t_progress, c->t_probe)) {
			send_publish(b, c);
			c->t_probe = now;
			b->probes++;
			k = 1;
		}
		if (k)
			flush_or_fail(b, c);
	}
}


static void run_flood(struct bench *b)
{
	uint64_t t_stop;
	long tick_us;

	if (!open_all(b, b->subs, b->nsub, &b->o.sub) || !open_all(b, b->pubs, b->npub, &b->o.pub))
		return;
	b->t_pace = mono_ns();
	b->t_start = mono_ns() + (uint64_t)(b->o.warmup * 1e9);
	b->t_end = b->t_start + (uint64_t)(b->o.duration * 1e9);
	/*
	 * Paced, the loop wakes at least every 1/rate (100 µs to 1 ms), so that
	 * messages go out close to their turn rather than in a burst per tick.
	 */
	tick_us = 5000;
	if (b->o.rate > 0)
		tick_us = b->o.rate >= 10000 ? 100 : b->o.rate <= 1000 ? 1000 : (long)(1e6 / b->o.rate);
	while (mono_ns() < b->t_end) {
		flood_publish(b);
		if (!poll_once(b, tick_us))
			break;
		if (mono_ns() >= b->t_start && !b->s0.t_ns)
			take_sample(b, &b->s0);
	}
	take_sample(b, &b->s1);
	/* Drain: what is still in flight counts toward delivered, for at most 2 s. */
	t_stop = mono_ns() + 2000000000ull;
	while (b->delivered + b->lost < expected(b) && mono_ns() < t_stop && poll_once(b, 10000))
		;
}

static void run_seed(struct bench *b)
{
	uint64_t t0, quiet_since = 0;
	int started = 0;

	if (!open_all(b, b->subs, b->nsub, &b->o.sub))
		return;
	take_sample(b, &b->s0);
	t0 = b->t_start = b->s0.t_ns;
	b->t_end = UINT64_MAX;
	for (;;) {
		uint64_t now = mono_ns(), allowed = (uint64_t)b->npub;

		if (b->o.rate > 0)
			allowed = (uint64_t)(b->o.rate * (double)(now - t0) / 1e9) + 1;
		while (started < b->npub && (uint64_t)started < allowed &&
		       b->inflight < b->o.concurrency) {
			struct conn *c = &b->pubs[started];
			int err = conn_open(b, c, &b->o.pub.a[started % b->o.pub.n], b->opened);

			if (err)
				conn_failed(b, c, "socket", err);
			started++;
		}
		if (started == b->npub && b->delivered >= expected(b) &&
		    b->done + b->errors >= (uint64_t)b->npub)
			break;
		/* Lost messages never come: give up 3 s after the last publisher and delivery. */
		if (started == b->npub && b->done + b->errors >= (uint64_t)b->npub) {
			uint64_t last;

			/* Set before use: with last == 0 a small run gave up before any delivery. */
			if (!quiet_since)
				quiet_since = now;
			last = b->t_last_rx > quiet_since ? b->t_last_rx : quiet_since;
			if (now - last > 3000000000ull)
				break;
		}
		if (!poll_once(b, 5000))
			break;
	}
	take_sample(b, &b->s1);
	b->t_end = b->t_last_rx > b->t_start ? b->t_last_rx : b->s1.t_ns;
}

static void run_idle(struct bench *b, long *before, long *after)
{
	uint64_t until;

	*before = rss_kb(b->o.broker_pid);
	if (*before < 0)
		fatal("no process %d (-P)", b->o.broker_pid);
	take_sample(b, &b->s0);
	b->t_start = b->s0.t_ns;
	if (!open_all(b, b->subs, b->nsub, &b->o.sub))
		return;
	/* Held a moment, so a broker that gives idle buffers back on a timer has done so. */
	until = mono_ns() + 1500000000ull;
	while (mono_ns() < until && poll_once(b, 50000))
		;
	*after = rss_kb(b->o.broker_pid);
	take_sample(b, &b->s1);
	b->t_end = b->s1.t_ns;
}
static struct conn *conns(int n, enum role role)
{
	struct conn *cs = calloc((size_t)n ? (size_t)n : 1, sizeof(*cs));
	int i;

	if (!cs)
		fatal("out of memory");
	for (i = 0; i < n; i++) {
		cs[i].fd = -1;
		cs[i].role = (uint8_t)role;
		cs[i].idx = (uint32_t)i;
	}
	return cs;
}

int main(int argc, char **argv)
{
	struct bench b = { .epfd = -1 };
	char err[256];
	struct rlimit rl;
	long rss0 = 0, rss1 = 0;
	int ret, i;

	ret = mqb_parse_args(argc, argv, &b.o, err, sizeof(err));
	if (ret == 1 || ret == 2) {
		if (ret == 1)
			mqb_usage(stdout);
		else
			mqb_version(stdout);
		return 0;
	}
	if (ret) {
		fprintf(stderr, "mqbench: %s\n", err);
		if (ret == -EINVAL)
			mqb_usage(stderr);
		return 2;
	}
	/* Thousands of sockets: take the whole hard limit (20,000 here). */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	tls_init(&b);
	b.deadline = mono_ns() + (uint64_t)(b.o.time_bound * 1e9);
	b.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b.epfd < 0)
		fatal("epoll_create1: %s", strerror(errno));
	/* A source address that is not local would fail every connection: say so once. */
	for (i = 0; i < b.o.src.n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		char a[INET_ADDRSTRLEN];

		if (fd < 0 || bind(fd, (const struct sockaddr *)&b.o.src.a[i], sizeof(b.o.src.a[i])))
			fatal("--src %s: %s", inet_ntop(AF_INET, &b.o.src.a[i].sin_addr, a, sizeof(a)),
			      strerror(errno));
		close(fd);
	}
	for (i = 0; i < b.o.nbpf; i++) {
		b.bpf_fd[i] = bpf_prog_get_fd_by_id(b.o.bpf_ids[i]);
		if (b.bpf_fd[i] < 0)
			fprintf(stderr, "mqbench: BPF program %u: %s\n", b.o.bpf_ids[i],
				strerror(errno));
	}
	switch (b.o.scenario) {
	case MQB_P2P: b.npub = b.nsub = b.o.n; b.fan = 1; break;
	case MQB_FANOUT: b.npub = 1; b.nsub = b.o.m; b.fan = b.nsub; break;
	case MQB_FANIN: b.npub = b.o.n; b.nsub = 1; b.fan = 1; break;
	case MQB_SEED: b.npub = b.o.n; b.nsub = b.o.m; b.fan = b.nsub; break;
	case MQB_IDLE: b.nsub = b.o.c; break;
	default: break;
	}
	b.subs = conns(b.nsub, b.o.scenario == MQB_IDLE ? R_IDLE : R_SUB);
	b.pubs = conns(b.npub, R_PUB);
	b.track_w = b.o.scenario == MQB_P2P ? 1 : (b.npub ? b.npub : 1);
	b.lastseq = calloc((size_t)b.nsub * (size_t)b.track_w + 1, sizeof(*b.lastseq));
	b.lat.cap = 1u << 22;
	b.lat.v = malloc(b.lat.cap * sizeof(*b.lat.v));
	b.payload = calloc(1, (size_t)b.o.payload);
	if (!b.lastseq || !b.lat.v || !b.payload)
		fatal("out of memory");
	b.t_start = b.t_end = UINT64_MAX;

	switch (b.o.scenario) {
	case MQB_CONN_RATE: run_conn_rate(&b); break;
	case MQB_SEED: run_seed(&b); break;
	case MQB_IDLE: run_idle(&b, &rss0, &rss1); break;
	default: run_flood(&b); break;
	}
	if (!b.s1.t_ns) {	/* the bound hit during setup */
		take_sample(&b, &b.s1);
		if (!b.s0.t_ns)
			b.s0 = b.s1;
	}
	if (b.t_start > b.s1.t_ns)
		b.t_start = b.s1.t_ns;
	if (b.t_end > b.s1.t_ns)
		b.t_end = b.s1.t_ns;
	report(&b, rss0, rss1);
	if (b.timed_out)
		return 1;
	if (b.o.scenario == MQB_SEED && (b.delivered != expected(&b) || b.dups || b.errors))
		return 1;
	/* Failed connections are in the report; the status says the numbers are not clean. */
	if (b.o.scenario == MQB_CONN_RATE && (b.errors || !b.count))
		return 1;
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqbench: an epoll MQTT load generator (issue 7). This header is what the
 * engine (mqbench.c) shares with the option and address checks and the
 * percentile code (mqbench_args.c) and the closed loop's accounting
 * (mqbench_track.c), which the unit tests link on their own.
 */
#ifndef MQBENCH_H
#define MQBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>

#include "clock.h"

#define MQB_MAX_ADDRS	16	/* per address list (--sub-target, --pub-target, --src) */
#define MQB_MAX_BPF	4	/* --bpf-prog ids summed */
#define MQB_MAX_PIDS	16	/* --cpu-pids summed */
#define MQB_MIN_PAYLOAD	16	/* send time (8), publisher (4), sequence (4) */

enum mqb_scenario {
	MQB_CONN_RATE,
	MQB_P2P,
	MQB_FANOUT,
	MQB_FANIN,
	MQB_SEED,
	MQB_IDLE,
	MQB_NR_SCENARIOS
};

struct mqb_addrs {
	struct sockaddr_in a[MQB_MAX_ADDRS];
	int n;
};

struct mqb_opts {
	enum mqb_scenario scenario;
	struct mqb_addrs sub;		/* subscribers, conn-rate and idle connections */
	struct mqb_addrs pub;		/* publishers */
	struct mqb_addrs src;		/* optional source addresses (port 0) */
	int n;				/* conn-rate: max connections; p2p pairs; fanin/seed publishers */
	int m;				/* fanout/seed subscribers */
	int c;				/* idle connections */
	int qos;
	int payload;
	double rate;			/* conn/s, msg/s or publishers/s (seed); 0 = as fast as possible */
	double duration;		/* measured seconds (conn-rate, p2p, fanout, fanin) */
	double warmup;
	double time_bound;		/* hard bound on the whole run, seconds */
	int window;			/* undelivered messages allowed per publisher */
	int concurrency;		/* connection attempts in flight */
	int broker_pid;			/* idle: RSS growth of this process */
	int cpu_pid;			/* CPU time of this process over the window */
	int pids[MQB_MAX_PIDS];		/* and of these, summed (brokers, daemons) */
	int npids;
	uint32_t bpf_ids[MQB_MAX_BPF];	/* run time of these BPF programs over the window */
	int nbpf;
	const char *topic;
	const char *tls_cafile;		/* --tls-cafile: TLS, the broker verified against it */
	bool json;
	bool own_target;		/* --i-own-this-target: any target address */
};

extern const char *const mqb_scenario_names[MQB_NR_SCENARIOS];

/* Load goes to loopback, or anywhere the operator named with --i-own-this-target. */
bool mqb_addr_allowed(struct in_addr a, bool own_target);
void mqb_version(FILE *f);

/*
 * "A.B.C.D[:PORT],..." into l. Without a port, default_port applies (0 for
 * source addresses, which must not carry one). -EINVAL for a malformed list,
 * -EPERM for an address outside mqb_addr_allowed(own_target); err says which.
 */
int mqb_parse_addrs(const char *s, int default_port, bool port_allowed, bool own_target,
		    struct mqb_addrs *l, char *err, size_t errlen);

/*
 * argv into o (defaults first). 0, 1 for -h, 2 for -V, -EINVAL for bad options and
 * -EPERM for a refused address, with err saying why.
 */
int mqb_parse_args(int argc, char **argv, struct mqb_opts *o, char *err, size_t errlen);
void mqb_usage(FILE *f);

/* Sorts v in place; nearest-rank percentile p (0 < p <= 100) of v[0..n), 0 if n == 0. */
void mqb_sort_u32(uint32_t *v, size_t n);
uint32_t mqb_percentile(const uint32_t *sorted, size_t n, double p);

/* ---- the closed loop's accounting (mqbench_track.c) ---- */

/*
 * A publisher whose window has been full this long with nothing settled
 * sends one message past its window to find out whether the broker dropped
 * what it holds (mqb_probe_due). Long enough that a merely slow broker is
 * rarely probed; a probe it did not need costs one message, never a count.
 */
#define MQB_PROBE_NS	250000000ull

/*
 * seq arrived from a publisher whose highest sequence seen (here) is *last.
 * True for a copy (seq <= *last). Otherwise *last becomes seq and *gap the
 * numbers skipped: MQTT keeps one publisher's order on a topic (MQTT 3.1.1
 * section 4.6), so what was skipped was dropped and will not come.
 */
bool mqb_seq_copy(uint32_t *last, uint32_t seq, uint32_t *gap);

/* Messages of a publisher still owed to its fan subscribers' windows. */
uint64_t mqb_outstanding(uint64_t sent, uint64_t settled, int fan);

/* True when a probe is due: nothing settled, and no probe, for MQB_PROBE_NS. */
bool mqb_probe_due(uint64_t now, uint64_t t_progress, uint64_t t_probe);

/*
 * Latency samples in µs: all of them up to cap, then a uniform sample of
 * all (reservoir sampling), so a long fast run's percentiles cover its whole
 * window and not only its first seconds. max and seen are over every sample.
 */
struct mqb_lat {
	uint32_t *v;
	size_t n, cap;
	uint64_t seen, rng;
	uint32_t max;
};

void mqb_lat_add(struct mqb_lat *l, uint32_t us);

/* ---- the engine (mqbench.c, mqbench_conn.c, mqbench_stats.c) ---- */

enum role { R_SUB, R_PUB, R_CR, R_IDLE };
enum cstate { S_FREE, S_CONNECTING, S_CONNACK, S_SUBACK, S_READY, S_CLOSING };

struct conn {
	int fd;
	uint8_t role, state;
	uint32_t idx;			/* index within its role */
	uint64_t t0;			/* connect() time, ns */
	uint8_t *in, *out;
	uint32_t inlen, incap, outlen, outoff, outcap;
	uint64_t sent;			/* publisher: messages sent */
	uint64_t settled;		/* deliveries its subscribers saw, or know were dropped */
	uint64_t t_progress, t_probe;	/* last settled (or window opened), last probe, ns */
	uint16_t next_pid;
	struct ssl_st *ssl;		/* --tls-cafile, else NULL */
	bool tls_wants_read;		/* SSL_write waits for input (the handshake) */
};

/* Machine, process and BPF program time at one instant. */
struct sample {
	uint64_t t_ns, busy_ticks, irq_ticks, self_ticks, proc_ticks, pids_ticks, bpf_ns, bpf_cnt;
};

struct bench {
	struct mqb_opts o;
	int epfd, bpf_fd[MQB_MAX_BPF];
	uint64_t deadline, t_start, t_end, t_last_rx, t_pace;
	struct conn *subs, *pubs, *cr;
	int nsub, npub, ncr, fan, track_w, inflight;
	uint32_t *lastseq;		/* [sub * track_w + pub]: highest sequence seen */
	uint64_t opened, done, errors, delivered, dups, count;
	uint64_t lost, probes;		/* sequence numbers skipped; probes sent */
	struct mqb_lat lat;
	uint8_t *payload;
	struct sample s0, s1;
	struct ssl_ctx_st *tls;		/* --tls-cafile (mqbench_conn.c) */
	bool timed_out;
};

__attribute__((format(printf, 1, 2), noreturn)) void fatal(const char *fmt, ...);
void *xrealloc(void *p, size_t n);

/* Connections (mqbench_conn.c). */
void tls_init(struct bench *b);
int conn_open(struct bench *b, struct conn *c, const struct sockaddr_in *to, uint64_t nth);
void conn_close(struct bench *b, struct conn *c);
void conn_failed(struct bench *b, struct conn *c, const char *why, long err);
int flush(struct bench *b, struct conn *c);
bool flush_or_fail(struct bench *b, struct conn *c);
void send_publish(struct bench *b, struct conn *c);
/* One round of the loop: wait at most us µs, dispatch. False once the hard bound has passed. */
bool poll_once(struct bench *b, long us);

/* Measurements and the report (mqbench_stats.c). */
void take_sample(struct bench *b, struct sample *s);
long rss_kb(int pid);
uint64_t expected(const struct bench *b);
void report(struct bench *b, long rss0, long rss1);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * mqload: a small epoll MQTT load generator for the broker benchmark
 * (tests/bench/broker/bench.sh), built on the shared codec. It stands in
 * until mqbench exists.
 *
 * Closed loop: each publisher keeps at most WINDOW of its messages
 * undelivered (it knows, since its subscribers are in the same process),
 * so a flood measures the broker's throughput at a fixed concurrency
 * rather than how deep socket buffers are, and latency stays meaningful.
 * Each payload carries the send time and the publisher's index.
 *
 * Scenarios:
 *   p2p     N publishers, N subscribers, publisher i -> topic p2p/i -> subscriber i
 *   fanout  1 publisher, M subscribers on one topic
 *   fanin   N publishers on fanin/i, 1 subscriber on fanin/#
 *   idle    C connections, each subscribed to its own topic, then held; prints the
 *           broker's RSS growth per connection (needs -P PID)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "mqtt_codec.h"

enum role { PUB, SUB, IDLE };
enum { S_CONNECTING, S_CONNECTED, S_READY };

struct conn {
	int fd;
	uint8_t role, state;
	uint32_t idx;
	uint8_t *in;
	uint32_t inlen, incap;
	uint8_t *out;
	uint32_t outlen, outoff, outcap;
	uint64_t sent, delivered;	/* PUB: messages sent, deliveries seen by subscribers */
	uint16_t next_pid;
	char topic[32];
};

struct opts {
	const char *scenario;
	int port, qos, npub, nsub, window, payload, conns, json;
	double rate;			/* published msgs/s over all publishers; 0: closed-loop flood */
	double seconds, warmup;
	int broker_pid;
};

struct run {
	struct opts o;
	int epfd;
	struct conn *c;
	int nc;
	int fan;			/* deliveries per message */
	uint64_t t_start, t_end;	/* measurement window, ns */
	uint64_t deliveries;
	uint32_t *lat;			/* µs */
	size_t nlat, lat_cap;
	uint64_t pubs_sent_window;
	uint64_t t_pace;		/* pacing origin, ns */
	int npub;
	double delivery_ratio;
	int stalled;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void out_append(struct conn *c, const struct mqtt_packet *p)
{
	long n = mqtt_encoded_len(p);

	if (c->outcap - c->outlen < (uint32_t)n) {
		uint32_t cap = c->outcap ? c->outcap : 4096;

		if (c->outoff) {
			memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
			c->outlen -= c->outoff;
			c->outoff = 0;
		}
		while (cap - c->outlen < (uint32_t)n)
			cap *= 2;
		if (cap != c->outcap) {
			c->out = realloc(c->out, cap);
			if (!c->out)
				die("realloc");
			c->outcap = cap;
		}
	}
	if (mqtt_encode(p, c->out + c->outlen, c->outcap - c->outlen) != n) {
		fprintf(stderr, "encode failed\n");
		exit(1);
	}
	c->outlen += (uint32_t)n;
}

static void flush(struct run *r, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	while (c->outoff < c->outlen) {
		ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			die("write");
		}
		c->outoff += (uint32_t)n;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
	} else {
		ev.events |= EPOLLOUT;
	}
	epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void send_connect(struct conn *c, const char *id)
{
	struct mqtt_packet p = { .type = MQTT_CONNECT };

	p.connect.proto_name = MQTT_STR("MQTT");
	p.connect.level = 4;
	p.connect.clean = true;
	p.connect.keepalive = 600;
	p.connect.client_id = mqtt_str_c(id, strlen(id));
	out_append(c, &p);
}

static void send_subscribe(struct conn *c, const char *filter, uint8_t qos)
{
	struct mqtt_topic_req req = { mqtt_str_c(filter, strlen(filter)), qos };
	struct mqtt_packet p = { .type = MQTT_SUBSCRIBE };

	p.sub.pid = 1;
	p.sub.count = 1;
	p.sub.reqs = &req;
	out_append(c, &p);
}

static int open_conn(struct run *r, struct conn *c, uint8_t role, uint32_t idx)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->o.port) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	char id[48];
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(c->fd);
		return err;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	c->role = role;
	c->idx = idx;
	c->next_pid = 1;
	snprintf(id, sizeof(id), "mqload-%d-%c%u", (int)getpid(), "psi"[role], idx);
	send_connect(c, id);
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
	flush(r, c);
	return 0;
}

static void on_publish(struct run *r, struct conn *c, const struct mqtt_publish *p)
{
	uint64_t now = now_ns(), ts;
	uint32_t from;

	if (p->qos == 1) {
		struct mqtt_packet ack = { .type = MQTT_PUBACK };

		ack.ack.pid = p->pid;
		out_append(c, &ack);
	}
	if (p->payload_len < 12)
		return;
	memcpy(&ts, p->payload, 8);
	memcpy(&from, p->payload + 8, 4);
	if (from < (uint32_t)r->nc && r->c[from].role == PUB)
		r->c[from].delivered++;
	if (now >= r->t_start && now < r->t_end && ts >= r->t_start) {
		r->deliveries++;
		if (r->nlat < r->lat_cap)
			r->lat[r->nlat++] = (uint32_t)((now - ts) / 1000);
	}
}

static void handle(struct run *r, struct conn *c, uint8_t hdr, const uint8_t *body, uint32_t len)
{
	struct mqtt_packet p;

	if (mqtt_decode(hdr, body, len, &p)) {
		fprintf(stderr, "bad packet from broker\n");
		exit(1);
	}
	switch (p.type) {
	case MQTT_CONNACK:
		if (p.connack.rc) {
			fprintf(stderr, "CONNACK %u\n", p.connack.rc);
			exit(1);
		}
		c->state = S_CONNECTED;
		if (c->role == PUB) {
			c->state = S_READY;
		} else {
			send_subscribe(c, c->topic, (uint8_t)r->o.qos);
			flush(r, c);
		}
		break;
	case MQTT_SUBACK:
		c->state = S_READY;
		break;
	case MQTT_PUBLISH:
		on_publish(r, c, &p.publish);
		break;
	default:
		break; /* PUBACK for our QoS 1 publishes: the window is delivery based */
	}
}

static void on_readable(struct run *r, struct conn *c)
{
	uint32_t off = 0;
	ssize_t n;

	if (c->incap - c->inlen < 65536) {
		c->incap = c->incap ? c->incap * 2 : 131072;
		c->in = realloc(c->in, c->incap);
		if (!c->in)
			die("realloc");
	}
	n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		fprintf(stderr, "broker closed connection %c%u\n", "psi"[c->role], c->idx);
		exit(1);
	}
	c->inlen += (uint32_t)n;
	for (;;) {
		uint32_t rem;
		uint8_t hdr;
		int hl = mqtt_fixed_header(c->in + off, c->inlen - off, &hdr, &rem);

		if (hl < 0 || c->inlen - off - (uint32_t)hl < rem)
			break;
		handle(r, c, hdr, c->in + off + hl, rem);
		off += (uint32_t)hl + rem;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	if (c->outlen)
		flush(r, c);
}

static void publish_some(struct run *r, struct conn *c, uint8_t *payload)
{
	struct mqtt_packet p = { .type = MQTT_PUBLISH };
	uint64_t outstanding = c->sent - c->delivered / (uint64_t)r->fan;
	int i, budget = 64;

	if (c->state != S_READY || c->outlen - c->outoff > 65536)
		return;
	if (r->o.rate > 0) {
		/* Paced: this publisher's share of the rate since the start, as a budget. */
		double per = r->o.rate / r->npub;
		/* Publishers are phase-shifted so that they do not all fire together. */
		uint64_t allowed = (uint64_t)(per * (double)(now_ns() - r->t_pace) / 1e9 +
					      (double)c->idx / r->npub) + 1;

		budget = allowed > c->sent ? (int)(allowed - c->sent < 64 ? allowed - c->sent : 64) : 0;
	}
	p.publish.qos = (uint8_t)r->o.qos;
	p.publish.topic = mqtt_str_c(c->topic, strlen(c->topic));
	p.publish.payload = payload;
	p.publish.payload_len = (uint32_t)r->o.payload;
	memcpy(payload + 8, &c->idx, 4);
	for (i = 0; i < budget && outstanding < (uint64_t)r->o.window; i++, outstanding++) {
		uint64_t ts = now_ns();

		memcpy(payload, &ts, 8);
		if (p.publish.qos) {
			p.publish.pid = c->next_pid++;
			if (!c->next_pid)
				c->next_pid = 1;
		}
		out_append(c, &p);
		c->sent++;
		if (ts >= r->t_start && ts < r->t_end)
			r->pubs_sent_window++;
	}
	if (i)
		flush(r, c);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static long rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static void wait_ready(struct run *r, int from, int to, double limit_s)
{
	struct epoll_event evs[256];
	uint64_t deadline = now_ns() + (uint64_t)(limit_s * 1e9);
	int i, ready;

	for (;;) {
		for (ready = 0, i = from; i < to; i++)
			ready += r->c[i].state == S_READY;
		if (ready == to - from)
			return;
		if (now_ns() > deadline) {
			fprintf(stderr, "only %d of %d connections ready\n", ready, to - from);
			exit(1);
		}
		int n = epoll_wait(r->epfd, evs, 256, 100);

		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (evs[i].events & EPOLLOUT)
				flush(r, c);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(r, c);
		}
	}
}

static void run_idle(struct run *r)
{
	long before, after;
	int i;

	if (!r->o.broker_pid) {
		fprintf(stderr, "idle needs -P BROKER_PID\n");
		exit(2);
	}
	before = rss_kb(r->o.broker_pid);
	for (i = 0; i < r->nc; i++) {
		struct conn *c = &r->c[i];

		snprintf(c->topic, sizeof(c->topic), "idle/%d", i);
		if (open_conn(r, c, IDLE, (uint32_t)i)) {
			fprintf(stderr, "connect %d failed\n", i);
			exit(1);
		}
		if (i % 500 == 499)
			wait_ready(r, 0, i + 1, 30);
	}
	wait_ready(r, 0, r->nc, 60);
	usleep(1500 * 1000); /* let the broker's 1 s sweep give idle buffers back */
	after = rss_kb(r->o.broker_pid);
	if (r->o.json)
		printf("{\"scenario\":\"idle\",\"connections\":%d,\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,\"bytes_per_conn\":%.0f}\n",
		       r->nc, before, after, (after - before) * 1024.0 / r->nc);
	else
		printf("idle connections=%d rss_before_kb=%ld rss_after_kb=%ld bytes_per_conn=%.0f\n",
		       r->nc, before, after, (after - before) * 1024.0 / r->nc);
}

static void usage(void)
{
	fprintf(stderr,
		"Usage: mqload -p PORT -s { p2p | fanout | fanin | idle } [OPTIONS]\n"
		"  -q QOS      0 or 1 (default 0)\n"
		"  -n N        publishers (p2p pairs, fanin publishers; default 100)\n"
		"  -m M        subscribers (fanout; default 100)\n"
		"  -c C        connections (idle; default 10000)\n"
		"  -w W        undelivered messages allowed per publisher (default 100)\n"
		"  -z BYTES    payload size, at least 12 (default 64)\n"
		"  -d SECONDS  measured time (default 5), after -W SECONDS warm-up (default 1)\n"
		"  -r RATE     pace publishing to RATE msgs/s in all (latency runs); default: flood\n"
		"  -P PID      broker pid (idle: RSS growth)\n"
		"  -j          JSON output\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct run r = { .o = { .scenario = NULL, .npub = 100, .nsub = 100, .window = 100,
				.payload = 64, .conns = 10000, .seconds = 5, .warmup = 1 } };
	struct epoll_event evs[512];
	struct rlimit rl;
	uint8_t *payload;
	int opt, i, npub, nsub;
	uint64_t t_end_run;

	while ((opt = getopt(argc, argv, "p:s:q:n:m:c:w:z:d:W:P:jr:")) != -1) {
		switch (opt) {
		case 'p': r.o.port = atoi(optarg); break;
		case 's': r.o.scenario = optarg; break;
		case 'q': r.o.qos = atoi(optarg); break;
		case 'n': r.o.npub = atoi(optarg); break;
		case 'm': r.o.nsub = atoi(optarg); break;
		case 'c': r.o.conns = atoi(optarg); break;
		case 'w': r.o.window = atoi(optarg); break;
		case 'z': r.o.payload = atoi(optarg); break;
		case 'd': r.o.seconds = atof(optarg); break;
		case 'W': r.o.warmup = atof(optarg); break;
		case 'P': r.o.broker_pid = atoi(optarg); break;
		case 'j': r.o.json = 1; break;
		case 'r': r.o.rate = atof(optarg); break;
		default: usage();
		}
	}
	if (!r.o.port || !r.o.scenario || r.o.qos < 0 || r.o.qos > 1 || r.o.payload < 12 ||
	    r.o.seconds <= 0 || r.o.seconds > 120)
		usage();
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	r.epfd = epoll_create1(0);
	if (!strcmp(r.o.scenario, "p2p")) {
		npub = nsub = r.o.npub;
		r.fan = 1;
	} else if (!strcmp(r.o.scenario, "fanout")) {
		npub = 1;
		nsub = r.o.nsub;
		r.fan = nsub;
	} else if (!strcmp(r.o.scenario, "fanin")) {
		npub = r.o.npub;
		nsub = 1;
		r.fan = 1;
	} else if (!strcmp(r.o.scenario, "idle")) {
		r.nc = r.o.conns;
		r.c = calloc((size_t)r.nc, sizeof(*r.c));
		run_idle(&r);
		return 0;
	} else {
		usage();
		return 2;
	}
	r.nc = npub + nsub;
	r.c = calloc((size_t)r.nc, sizeof(*r.c));
	r.lat_cap = 1u << 22;
	r.lat = malloc(r.lat_cap * sizeof(*r.lat));
	payload = calloc(1, (size_t)r.o.payload);
	if (!r.c || !r.lat || !payload)
		die("calloc");
	r.t_start = r.t_end = UINT64_MAX;
	/* Publishers first, so r.c[idx].role == PUB identifies payload senders. */
	for (i = 0; i < r.nc; i++) {
		struct conn *c = &r.c[i];
		bool pub = i < npub;
		int k = pub ? i : i - npub;

		if (!strcmp(r.o.scenario, "p2p"))
			snprintf(c->topic, sizeof(c->topic), "p2p/%d", k);
		else if (!strcmp(r.o.scenario, "fanout"))
			snprintf(c->topic, sizeof(c->topic), "fanout/t");
		else
			snprintf(c->topic, sizeof(c->topic), pub ? "fanin/%d" : "fanin/#", k);
		if (open_conn(&r, c, pub ? PUB : SUB, (uint32_t)i)) {
			fprintf(stderr, "connect %d: %s\n", i, strerror(errno));
			return 1;
		}
		if (i % 200 == 199)
			wait_ready(&r, 0, i + 1, 30);
	}
	wait_ready(&r, 0, r.nc, 30);
	r.npub = npub;
	r.t_pace = now_ns();
	r.t_start = now_ns() + (uint64_t)(r.o.warmup * 1e9);
	r.t_end = r.t_start + (uint64_t)(r.o.seconds * 1e9);
	t_end_run = r.t_end + 200000000ull;
	while (now_ns() < t_end_run) {
		int n;

		for (i = 0; i < npub; i++)
			publish_some(&r, &r.c[i], payload);
		if (r.o.rate > 0) {
			/* 100 µs ticks: pacing granularity must not dominate the latency */
			struct timespec tick = { 0, 100000 };

			n = epoll_pwait2(r.epfd, evs, 512, &tick, NULL);
		} else {
			n = epoll_wait(r.epfd, evs, 512, 10);
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (evs[i].events & EPOLLOUT)
				flush(&r, c);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(&r, c);
		}
	}
	qsort(r.lat, r.nlat, sizeof(*r.lat), cmp_u32);
	{
		uint64_t sent = 0, got = 0;
		int stalled = 0;

		for (i = 0; i < npub; i++) {
			sent += r.c[i].sent;
			got += r.c[i].delivered;
			stalled += r.c[i].sent - r.c[i].delivered / (uint64_t)r.fan >=
				   (uint64_t)r.o.window;
		}
		/* Lost messages show up here: a closed loop stalls on them. */
		r.delivery_ratio = sent ? (double)got / (double)(sent * (uint64_t)r.fan) : 0;
		r.stalled = stalled;
	}
	{
		double rate = (double)r.deliveries / r.o.seconds;
		uint32_t p50 = r.nlat ? r.lat[r.nlat / 2] : 0;
		uint32_t p99 = r.nlat ? r.lat[(size_t)((double)r.nlat * 0.99)] : 0;

		if (r.o.json)
			printf("{\"scenario\":\"%s\",\"rate\":%.0f,\"qos\":%d,\"publishers\":%d,\"subscribers\":%d,"
			       "\"deliveries_per_s\":%.0f,\"p50_us\":%u,\"p99_us\":%u,"
			       "\"delivery_ratio\":%.4f,\"publishers_at_window\":%d}\n",
			       r.o.scenario, r.o.rate, r.o.qos, npub, nsub, rate, p50, p99,
			       r.delivery_ratio, r.stalled);
		else
			printf("%s qos=%d pubs=%d subs=%d deliveries/s=%.0f p50_us=%u p99_us=%u "
			       "delivered=%.4f at_window=%d\n",
			       r.o.scenario, r.o.qos, npub, nsub, rate, p50, p99, r.delivery_ratio,
			       r.stalled);
	}
	return 0;
}

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
 * messages undelivered (its subscribers are in this process), so the rate is
 * the system's at a fixed concurrency rather than a measure of socket buffers.
 * Every payload carries send time, publisher and sequence number, which gives
 * latency, delivered/expected and duplicates (a sequence number seen again).
 *
 * Connections close the way MQTT clients do: DISCONNECT, then wait for the
 * broker to close first, so TIME_WAIT lands on the server side and the
 * client's source ports stay reusable over long conn-rate runs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "mqtt_codec.h"
#include "mqbench.h"

enum role { R_SUB, R_PUB, R_CR, R_IDLE };
enum cstate { S_FREE, S_CONNECTING, S_CONNACK, S_SUBACK, S_READY, S_CLOSING };

struct conn {
	int fd;
	uint8_t role, state;
	uint32_t idx;			/* index within its role */
	uint64_t t0;			/* connect() time, ns */
	uint8_t *in, *out;
	uint32_t inlen, incap, outlen, outoff, outcap;
	uint64_t sent, delivered;	/* publisher: sent; deliveries its subscribers saw */
	uint16_t next_pid;
};

/* Machine, process and BPF program time at one instant. */
struct sample {
	uint64_t t_ns, busy_ticks, proc_ticks, bpf_ns, bpf_cnt;
};

struct bench {
	struct mqb_opts o;
	int epfd, bpf_fd[MQB_MAX_BPF];
	uint64_t deadline, t_start, t_end, t_last_rx, t_pace;
	struct conn *subs, *pubs, *cr;
	int nsub, npub, ncr, fan, track_w, inflight;
	uint32_t *lastseq;		/* [sub * track_w + pub]: highest sequence seen */
	uint64_t opened, done, errors, delivered, dups, count;
	uint32_t *lat;
	size_t nlat, lat_cap;
	uint8_t *payload;
	struct sample s0, s1;
	bool timed_out;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void fatal(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mqbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static const char *const role_name[] = { "subscriber", "publisher", "connection", "idle" };

static uint64_t read_busy_ticks(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	/* user nice system idle iowait irq softirq steal: busy is all but idle, iowait */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) != 8)
		v[0] = v[1] = v[2] = v[5] = v[6] = v[7] = 0;
	fclose(f);
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

static uint64_t read_proc_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return 0;
	return ut + st;
}

static void take_sample(struct bench *b, struct sample *s)
{
	int i;

	s->t_ns = now_ns();
	s->busy_ticks = read_busy_ticks();
	s->proc_ticks = b->o.cpu_pid ? read_proc_ticks(b->o.cpu_pid) : 0;
	s->bpf_ns = s->bpf_cnt = 0;
	for (i = 0; i < b->o.nbpf; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (b->bpf_fd[i] >= 0 && !bpf_obj_get_info_by_fd(b->bpf_fd[i], &info, &len)) {
			s->bpf_ns += info.run_time_ns;
			s->bpf_cnt += info.run_cnt;
		}
	}
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

/* ---- connections ---- */

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		fatal("out of memory");
	return p;
}

static void out_packet(struct conn *c, const struct mqtt_packet *p)
{
	long n = mqtt_encoded_len(p);

	if (n < 0)
		fatal("cannot encode a %s packet", mqtt_type_name(p->type));
	if (c->outcap - c->outlen < (uint32_t)n) {
		if (c->outoff) {
			memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
			c->outlen -= c->outoff;
			c->outoff = 0;
		}
		while (c->outcap - c->outlen < (uint32_t)n)
			c->outcap = c->outcap ? 2 * c->outcap : 256;
		c->out = xrealloc(c->out, c->outcap);
	}
	if (mqtt_encode(p, c->out + c->outlen, c->outcap - c->outlen) != n)
		fatal("encode %s failed", mqtt_type_name(p->type));
	c->outlen += (uint32_t)n;
}

static void watch(struct bench *b, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is queued; ask for EPOLLOUT only while something is left. 0 or -errno. */
static int flush(struct bench *b, struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		c->outoff += (uint32_t)n;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		watch(b, c, EPOLLIN);
	} else {
		watch(b, c, EPOLLIN | EPOLLOUT);
	}
	return 0;
}

static void conn_close(struct bench *b, struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);	/* also leaves the epoll set */
	c->fd = -1;
	if (c->state != S_READY && c->state != S_CLOSING && c->state != S_FREE)
		b->inflight--;	/* setup never finished */
	c->state = S_FREE;
	c->inlen = c->outlen = c->outoff = 0;
}

/* Start a non-blocking connect; the CONNECT goes out once it is writable. */
static int conn_open(struct bench *b, struct conn *c, const struct sockaddr_in *to, uint64_t nth)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1, err;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (b->o.src.n) {
		/* The port is chosen at connect(), per destination, so sources can share ports. */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(c->fd, (const struct sockaddr *)&b->o.src.a[nth % (uint64_t)b->o.src.n],
			 sizeof(struct sockaddr_in)) < 0)
			goto out_err;
	}
	c->t0 = now_ns();
	if (connect(c->fd, (const struct sockaddr *)to, sizeof(*to)) < 0 && errno != EINPROGRESS)
		goto out_err;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		goto out_err;
	c->state = S_CONNECTING;
	c->inlen = c->outlen = c->outoff = 0;
	c->next_pid = 1;
	b->inflight++;
	b->opened++;
	return 0;
out_err:
	err = -errno;
	close(c->fd);
	c->fd = -1;
	return err;
}

static void send_connect(struct bench *b, struct conn *c)
{
	struct mqtt_packet p = { .type = MQTT_CONNECT };
	char id[48];

	snprintf(id, sizeof(id), "mqbench-%d-%c%u", (int)getpid(), "spci"[c->role], c->idx);
	p.connect.proto_name = MQTT_STR("MQTT");
	p.connect.level = MQTT_PROTO_V311;
	p.connect.clean = true;
	p.connect.keepalive = 600;	/* idle connections must outlive the measurement */
	p.connect.client_id = mqtt_str_c(id, strlen(id));
	out_packet(c, &p);
}

static void topic_of(const struct bench *b, const struct conn *c, char *t, size_t len)
{
	switch (b->o.scenario) {
	case MQB_P2P: snprintf(t, len, "p2p/%u", c->idx); break;
	case MQB_FANOUT: snprintf(t, len, "fanout/t"); break;
	case MQB_FANIN: snprintf(t, len, c->role == R_SUB ? "fanin/#" : "fanin/%u", c->idx); break;
	case MQB_IDLE: snprintf(t, len, "idle/%u", c->idx); break;
	default: snprintf(t, len, "%s", b->o.topic); break;
	}
}

static void send_publish(struct bench *b, struct conn *c)
{
	struct mqtt_packet p = { .type = MQTT_PUBLISH };
	uint64_t ts = now_ns();
	uint32_t seq = (uint32_t)c->sent + 1;
	char topic[64];

	topic_of(b, c, topic, sizeof(topic));
	memcpy(b->payload, &ts, 8);
	memcpy(b->payload + 8, &c->idx, 4);
	memcpy(b->payload + 12, &seq, 4);
	p.publish.qos = (uint8_t)b->o.qos;
	p.publish.topic = mqtt_str_c(topic, strlen(topic));
	p.publish.payload = b->payload;
	p.publish.payload_len = (uint32_t)b->o.payload;
	if (p.publish.qos) {
		p.publish.pid = c->next_pid++;
		if (!c->next_pid)
			c->next_pid = 1;
	}
	out_packet(c, &p);
	c->sent++;
}

static void send_disconnect(struct conn *c)
{
	struct mqtt_packet p = { .type = MQTT_DISCONNECT };

	out_packet(c, &p);
	c->state = S_CLOSING;
}

static void on_publish(struct bench *b, struct conn *c, const struct mqtt_publish *p)
{
	uint64_t now = now_ns(), ts;
	uint32_t from, seq, *last;

	if (p->qos) {
		struct mqtt_packet ack = { .type = MQTT_PUBACK, .ack.pid = p->pid };

		out_packet(c, &ack);
	}
	if (p->payload_len < MQB_MIN_PAYLOAD || c->role != R_SUB)
		return;
	memcpy(&ts, p->payload, 8);
	memcpy(&from, p->payload + 8, 4);
	memcpy(&seq, p->payload + 12, 4);
	if (from >= (uint32_t)b->npub)
		return;		/* not ours (another run's leftovers on a shared broker) */
	last = &b->lastseq[(size_t)c->idx * b->track_w + (b->track_w > 1 ? from : 0)];
	if (seq <= *last) {
		b->dups++;	/* MQTT keeps per-publisher order, so an old number is a copy */
		return;
	}
	*last = seq;
	b->delivered++;
	b->pubs[from].delivered++;
	b->t_last_rx = now;
	if (now >= b->t_start && now < b->t_end) {
		b->count++;
		if (b->nlat < b->lat_cap && now >= ts)
			b->lat[b->nlat++] = (uint32_t)((now - ts) / 1000);
	}
}

/* A failed connection: conn-rate and seed publishers count it, setup of the others ends the run. */
static void conn_failed(struct bench *b, struct conn *c, const char *why, long err)
{
	if (c->role == R_CR || (c->role == R_PUB && b->o.scenario == MQB_SEED)) {
		b->errors++;
		conn_close(b, c);
		return;
	}
	fprintf(stderr, "mqbench: %s %u: %s%s%s\n", role_name[c->role], c->idx, why,
		err ? ": " : "", err ? strerror((int)-err) : "");
	exit(1);
}

static void handle(struct bench *b, struct conn *c, uint8_t hdr, const uint8_t *body, uint32_t len)
{
	struct mqtt_packet p;
	char topic[64];

	if (mqtt_decode(hdr, body, len, &p)) {
		conn_failed(b, c, "malformed packet from the broker", 0);
		return;
	}
	switch (p.type) {
	case MQTT_CONNACK:
		if (p.connack.rc) {
			conn_failed(b, c, "CONNACK refused", 0);
			return;
		}
		if (c->role == R_CR) {
			uint64_t now = now_ns();

			b->inflight--;
			b->done++;
			if (now >= b->t_start && now < b->t_end) {
				b->count++;
				if (b->nlat < b->lat_cap)
					b->lat[b->nlat++] = (uint32_t)((now - c->t0) / 1000);
			}
			send_disconnect(c);
		} else if (c->role == R_PUB) {
			c->state = S_READY;
			b->inflight--;
			if (b->o.scenario == MQB_SEED) {
				send_publish(b, c);
				if (!b->o.qos)
					send_disconnect(c);
			}
		} else {
			struct mqtt_topic_req req;
			struct mqtt_packet s = { .type = MQTT_SUBSCRIBE };

			topic_of(b, c, topic, sizeof(topic));
			req.filter = mqtt_str_c(topic, strlen(topic));
			req.qos = (uint8_t)b->o.qos;
			s.sub.pid = 1;
			s.sub.count = 1;
			s.sub.reqs = &req;
			out_packet(c, &s);
			c->state = S_SUBACK;
		}
		break;
	case MQTT_SUBACK:
		if (p.suback.count != 1 || p.suback.rcs[0] == MQTT_SUBACK_FAILURE) {
			conn_failed(b, c, "subscription refused", 0);
			return;
		}
		c->state = S_READY;
		b->inflight--;
		break;
	case MQTT_PUBLISH:
		on_publish(b, c, &p.publish);
		break;
	case MQTT_PUBACK:
		if (b->o.scenario == MQB_SEED && c->role == R_PUB && c->state == S_READY)
			send_disconnect(c);
		break;
	default:
		break;
	}
}

static void on_readable(struct bench *b, struct conn *c)
{
	uint32_t off = 0;
	ssize_t n;

	if (c->incap - c->inlen < 2048) {
		c->incap = c->incap ? 2 * c->incap : 8192;
		c->in = xrealloc(c->in, c->incap);
	}
	n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* After our DISCONNECT, the broker closing is the expected end. */
		if (c->state == S_CLOSING) {
			if (c->role == R_PUB)
				b->done++;
			conn_close(b, c);
			return;
		}
		conn_failed(b, c, n ? "read" : "closed by the peer", n ? -errno : 0);
		return;
	}
	c->inlen += (uint32_t)n;
	while (c->fd >= 0) {
		uint32_t rem;
		uint8_t hdr;
		int hl = mqtt_fixed_header(c->in + off, c->inlen - off, &hdr, &rem);

		if (hl == -EBADMSG) {
			conn_failed(b, c, "malformed packet from the broker", 0);
			return;
		}
		if (hl < 0 || c->inlen - off - (uint32_t)hl < rem)
			break;
		handle(b, c, hdr, c->in + off + hl, rem);
		off += (uint32_t)hl + rem;
	}
	if (c->fd < 0)
		return;
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	if (c->outlen && flush(b, c))
		conn_failed(b, c, "write", -errno);
}

static void on_event(struct bench *b, struct conn *c, uint32_t ev)
{
	if (c->state == S_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_failed(b, c, "connect", -err);
			return;
		}
		c->state = S_CONNACK;
		send_connect(b, c);
		if (flush(b, c)) {
			conn_failed(b, c, "write", -errno);
			return;
		}
		return;
	}
	if (ev & EPOLLOUT && flush(b, c)) {
		conn_failed(b, c, "write", -errno);
		return;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		on_readable(b, c);
}

/* One round of the loop: wait at most ms, dispatch. False once the hard bound has passed. */
static bool poll_once(struct bench *b, int ms)
{
	struct epoll_event evs[512];
	int i, n;

	if (now_ns() >= b->deadline) {
		b->timed_out = true;
		return false;
	}
	n = epoll_wait(b->epfd, evs, 512, ms);
	for (i = 0; i < n; i++)
		on_event(b, evs[i].data.ptr, evs[i].events);
	return true;
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
		if (!poll_once(b, 10))
			return false;
	}
}

static void run_conn_rate(struct bench *b)
{
	uint64_t t0 = now_ns(), started = 0;
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
	while (now_ns() < b->t_end && started < (uint64_t)b->o.n) {
		uint64_t allowed = UINT64_MAX;

		if (b->o.rate > 0)
			allowed = (uint64_t)(b->o.rate * (double)(now_ns() - t0) / 1e9) + 1;
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
		if (now_ns() >= b->t_start && !b->s0.t_ns)
			take_sample(b, &b->s0);
		if (!poll_once(b, 1))
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
		if (!busy || !poll_once(b, 10))
			break;
	}
	if (b->s1.t_ns < b->t_end)
		b->t_end = b->s1.t_ns;
}

static void flood_publish(struct bench *b)
{
	uint64_t now = now_ns();
	int i, k;

	for (i = 0; i < b->npub; i++) {
		struct conn *c = &b->pubs[i];
		uint64_t out = c->sent - c->delivered / (uint64_t)b->fan, allowed = UINT64_MAX;

		if (c->state != S_READY || c->outlen - c->outoff > 65536)
			continue;
		if (b->o.rate > 0) {
			double per = b->o.rate / b->npub;

			allowed = (uint64_t)(per * (double)(now - b->t_pace) / 1e9) + 1;
		}
		for (k = 0; k < 64 && out < (uint64_t)b->o.window && c->sent < allowed; k++, out++)
			send_publish(b, c);
		if (k && flush(b, c))
			conn_failed(b, c, "write", -errno);
	}
}

static uint64_t expected(const struct bench *b)
{
	uint64_t sent = 0;
	int i;

	if (b->o.scenario == MQB_SEED)	/* each publisher owes exactly one message */
		return (uint64_t)b->npub * (uint64_t)b->fan;
	for (i = 0; i < b->npub; i++)
		sent += b->pubs[i].sent;
	return sent * (uint64_t)b->fan;
}

static void run_flood(struct bench *b)
{
	uint64_t t_stop;

	if (!open_all(b, b->subs, b->nsub, &b->o.sub) || !open_all(b, b->pubs, b->npub, &b->o.pub))
		return;
	b->t_pace = now_ns();
	b->t_start = now_ns() + (uint64_t)(b->o.warmup * 1e9);
	b->t_end = b->t_start + (uint64_t)(b->o.duration * 1e9);
	while (now_ns() < b->t_end) {
		flood_publish(b);
		if (!poll_once(b, b->o.rate > 0 ? 1 : 5))
			break;
		if (now_ns() >= b->t_start && !b->s0.t_ns)
			take_sample(b, &b->s0);
	}
	take_sample(b, &b->s1);
	/* Drain: what is still in flight counts toward delivered, for at most 2 s. */
	t_stop = now_ns() + 2000000000ull;
	while (b->delivered < expected(b) && now_ns() < t_stop && poll_once(b, 10))
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
		uint64_t now = now_ns(), allowed = (uint64_t)b->npub;

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
		if (!poll_once(b, 5))
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
	until = now_ns() + 1500000000ull;
	while (now_ns() < until && poll_once(b, 50))
		;
	*after = rss_kb(b->o.broker_pid);
	take_sample(b, &b->s1);
	b->t_end = b->s1.t_ns;
}

/* ---- report ---- */

static void report(struct bench *b, long rss0, long rss1)
{
	double win = (double)(b->t_end - b->t_start) / 1e9, tck = (double)sysconf(_SC_CLK_TCK);
	double machine_ms = (double)(b->s1.busy_ticks - b->s0.busy_ticks) * 1000.0 / tck;
	double proc_ms = (double)(b->s1.proc_ticks - b->s0.proc_ticks) * 1000.0 / tck;
	uint64_t bpf_ns = b->s1.bpf_ns - b->s0.bpf_ns, bpf_cnt = b->s1.bpf_cnt - b->s0.bpf_cnt;
	const char *name = mqb_scenario_names[b->o.scenario];
	bool cr = b->o.scenario == MQB_CONN_RATE, idle = b->o.scenario == MQB_IDLE;
	uint64_t exp = cr || idle ? 0 : expected(b);
	double rate;
	uint32_t p50, p99;

	if (b->o.scenario == MQB_SEED)
		b->count = b->delivered;
	rate = win > 0 ? (double)b->count / win : 0;
	mqb_sort_u32(b->lat, b->nlat);
	p50 = mqb_percentile(b->lat, b->nlat, 50);
	p99 = mqb_percentile(b->lat, b->nlat, 99);
	if (b->o.json) {
		printf("{\"scenario\":\"%s\",\"qos\":%d,\"payload\":%d,\"publishers\":%d,"
		       "\"subscribers\":%d,\"connections\":%llu,\"window_s\":%.3f,\"count\":%llu,"
		       "\"rate\":%.1f,\"unit\":\"%s\",\"p50_us\":%u,\"p99_us\":%u,"
		       "\"delivered\":%llu,\"expected\":%llu,\"duplicates\":%llu,\"errors\":%llu,"
		       "\"timed_out\":%s,\"machine_cpu_ms\":%.1f",
		       name, b->o.qos, b->o.payload, b->npub, b->nsub,
		       (unsigned long long)b->opened, win, (unsigned long long)b->count, rate,
		       cr ? "conn/s" : "msg/s", p50, p99, (unsigned long long)b->delivered,
		       (unsigned long long)exp, (unsigned long long)b->dups,
		       (unsigned long long)b->errors, b->timed_out ? "true" : "false", machine_ms);
		if (b->o.cpu_pid)
			printf(",\"proc_cpu_ms\":%.1f", proc_ms);
		if (b->o.nbpf)
			printf(",\"bpf_run_ns\":%llu,\"bpf_run_cnt\":%llu",
			       (unsigned long long)bpf_ns, (unsigned long long)bpf_cnt);
		if (idle)
			printf(",\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,\"bytes_per_conn\":%.0f",
			       rss0, rss1, (double)(rss1 - rss0) * 1024.0 / b->nsub);
		printf("}\n");
		return;
	}
	printf("%s: qos %d, payload %d B, %d publishers, %d subscribers, %llu connections\n",
	       name, b->o.qos, b->o.payload, b->npub, b->nsub, (unsigned long long)b->opened);
	if (idle) {
		printf("  broker RSS %ld kB -> %ld kB: %.0f B per connection\n", rss0, rss1,
		       (double)(rss1 - rss0) * 1024.0 / b->nsub);
	} else {
		printf("  rate %.0f %s over %.2f s; latency p50 %u us, p99 %u us\n", rate,
		       cr ? "conn/s" : "msg/s", win, p50, p99);
		if (!cr)
			printf("  delivered %llu/%llu, duplicates %llu\n",
			       (unsigned long long)b->delivered, (unsigned long long)exp,
			       (unsigned long long)b->dups);
	}
	printf("  machine CPU %.0f ms", machine_ms);
	if (b->o.cpu_pid)
		printf(", pid %d %.0f ms", b->o.cpu_pid, proc_ms);
	if (bpf_cnt)
		printf(", BPF %.1f ms over %llu runs (%.0f ns/run)", bpf_ns / 1e6,
		       (unsigned long long)bpf_cnt, (double)bpf_ns / (double)bpf_cnt);
	printf("\n  errors %llu%s\n", (unsigned long long)b->errors,
	       b->timed_out ? ", stopped by -t" : "");
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
	if (ret == 1) {
		mqb_usage(stdout);
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
	b.deadline = now_ns() + (uint64_t)(b.o.time_bound * 1e9);
	b.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b.epfd < 0)
		fatal("epoll_create1: %s", strerror(errno));
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
	b.lat_cap = 1u << 22;
	b.lat = malloc(b.lat_cap * sizeof(*b.lat));
	b.payload = calloc(1, (size_t)b.o.payload);
	if (!b.lastseq || !b.lat || !b.payload)
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
	return 0;
}

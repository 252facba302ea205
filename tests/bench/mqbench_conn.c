// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench's connections: non-blocking connect, the MQTT exchange of each role
 * over the shared codec, output buffering and the epoll dispatch. Everything
 * a connection learns (CONNACK time, deliveries, duplicates) is counted here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mqtt_codec.h"
#include "mqbench.h"

static const char *const role_name[] = { "subscriber", "publisher", "connection", "idle" };

void *xrealloc(void *p, size_t n)
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

/*
 * --tls-cafile: every connection over TLS, the broker's certificate checked
 * against the CA and its IP address against the certificate. The handshake
 * runs inside the first SSL_write (the CONNECT) and the reads after it, so
 * a CONNACK's latency in conn-rate includes it, as a client would see it.
 */
void tls_init(struct bench *b)
{
	if (!b->o.tls_cafile)
		return;
	b->tls = SSL_CTX_new(TLS_client_method());
	if (!b->tls || SSL_CTX_load_verify_locations(b->tls, b->o.tls_cafile, NULL) != 1)
		fatal("--tls-cafile %s: cannot load it", b->o.tls_cafile);
	SSL_CTX_set_verify(b->tls, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(b->tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static void tls_start(struct bench *b, struct conn *c, const struct sockaddr_in *to)
{
	char ip[INET_ADDRSTRLEN];

	c->ssl = SSL_new(b->tls);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		fatal("cannot create a TLS connection");
	inet_ntop(AF_INET, &to->sin_addr, ip, sizeof(ip));
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), ip);
	SSL_set_connect_state(c->ssl);
}

/* read(2)/send(2) over TLS or not: -1 with EAGAIN while waiting, EPROTO on a TLS error. */
static ssize_t io(struct conn *c, void *buf, size_t len, bool wr)
{
	int n, e;

	if (!c->ssl)
		return wr ? send(c->fd, buf, len, MSG_NOSIGNAL) : read(c->fd, buf, len);
	n = wr ? SSL_write(c->ssl, buf, (int)len) : SSL_read(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(c->ssl, n);
	if (wr)
		c->tls_wants_read = e == SSL_ERROR_WANT_READ;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !errno))
		return 0;
	if (e != SSL_ERROR_SYSCALL) {
		char why[120];

		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		fprintf(stderr, "mqbench: TLS: %s\n", why);
		errno = EPROTO;
	}
	ERR_clear_error();
	return -1;
}

static void watch(struct bench *b, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is queued; ask for EPOLLOUT only while something is left. 0 or -errno. */
int flush(struct bench *b, struct conn *c)
{
	while (c->outoff < c->outlen) {
		/* MSG_NOSIGNAL: a broker that reset must cost a count, not SIGPIPE. */
		ssize_t n = io(c, c->out + c->outoff, c->outlen - c->outoff, true);

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
		c->tls_wants_read = false;
		watch(b, c, EPOLLIN);
	} else if (c->tls_wants_read) {
		watch(b, c, EPOLLIN);	/* the handshake's next message: on_readable flushes */
	} else {
		watch(b, c, EPOLLIN | EPOLLOUT);
	}
	return 0;
}

void conn_close(struct bench *b, struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);	/* also leaves the epoll set */
	c->fd = -1;
	if (c->state != S_READY && c->state != S_CLOSING && c->state != S_FREE)
		b->inflight--;	/* setup never finished */
	c->state = S_FREE;
	c->inlen = c->outlen = c->outoff = 0;
}

/* Start a non-blocking connect; the CONNECT goes out once it is writable. */
int conn_open(struct bench *b, struct conn *c, const struct sockaddr_in *to, uint64_t nth)
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
	c->t0 = mono_ns();
	if (connect(c->fd, (const struct sockaddr *)to, sizeof(*to)) < 0 && errno != EINPROGRESS)
		goto out_err;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		goto out_err;
	if (b->tls)
		tls_start(b, c, to);
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

void send_publish(struct bench *b, struct conn *c)
{
	struct mqtt_packet p = { .type = MQTT_PUBLISH };
	uint64_t ts = mono_ns();
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
	uint64_t now = mono_ns(), ts;
	uint32_t from, seq, gap, *last;

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
	if (mqb_seq_copy(last, seq, &gap)) {
		b->dups++;	/* MQTT keeps per-publisher order, so an old number is a copy */
		return;
	}
	/* What was skipped was dropped: it settles, or its window slot is gone for good. */
	b->lost += gap;
	b->pubs[from].settled += gap + 1;
	b->pubs[from].t_progress = now;
	b->delivered++;
	b->t_last_rx = now;
	if (now >= b->t_start && now < b->t_end) {
		b->count++;
		if (now >= ts)
			mqb_lat_add(&b->lat, (uint32_t)((now - ts) / 1000));
	}
}

/* A failed connection: conn-rate and seed publishers count it, setup of the others ends the run. */
void conn_failed(struct bench *b, struct conn *c, const char *why, long err)
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

/* flush(), and a failed write ends the connection as conn_failed() says. */
bool flush_or_fail(struct bench *b, struct conn *c)
{
	int err = flush(b, c);

	if (err)
		conn_failed(b, c, "write", err);
	return !err;
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
			uint64_t now = mono_ns();

			b->inflight--;
			b->done++;
			if (now >= b->t_start && now < b->t_end) {
				b->count++;
				mqb_lat_add(&b->lat, (uint32_t)((now - c->t0) / 1000));
			}
			send_disconnect(c);
		} else if (c->role == R_PUB) {
			c->state = S_READY;
			c->t_progress = mono_ns();
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

static void read_once(struct bench *b, struct conn *c)
{
	uint32_t off = 0;
	ssize_t n;

	if (c->incap - c->inlen < 2048) {
		c->incap = c->incap ? 2 * c->incap : 8192;
		c->in = xrealloc(c->in, c->incap);
	}
	n = io(c, c->in + c->inlen, c->incap - c->inlen, false);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		if (c->tls_wants_read && c->outlen)
			flush_or_fail(b, c);	/* the handshake moved on: the CONNECT may go */
		return;
	}
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
	if (c->outlen)
		flush_or_fail(b, c);
}

/* OpenSSL may hold decrypted input that epoll cannot announce: read it all now. */
static void on_readable(struct bench *b, struct conn *c)
{
	int i;

	read_once(b, c);
	for (i = 0; i < 64 && c->fd >= 0 && c->ssl && SSL_pending(c->ssl) > 0; i++)
		read_once(b, c);
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
		flush_or_fail(b, c);
		return;
	}
	if (ev & EPOLLOUT && !flush_or_fail(b, c))
		return;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		on_readable(b, c);
}

/* One round of the loop: wait at most us µs, dispatch. False once the hard bound has passed. */
bool poll_once(struct bench *b, long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000 };
	struct epoll_event evs[512];
	int i, n;

	if (mono_ns() >= b->deadline) {
		b->timed_out = true;
		return false;
	}
	n = epoll_pwait2(b->epfd, evs, 512, &ts, NULL);
	for (i = 0; i < n; i++)
		on_event(b, evs[i].data.ptr, evs[i].events);
	return true;
}

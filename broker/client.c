// SPDX-License-Identifier: GPL-2.0
/*
 * Connections: accept, the non-blocking read state machine, the output
 * buffer and its batched flush, close, and the once-a-second sweep.
 *
 * Read state machine. A connection normally owns no input buffer: each
 * read lands in the broker's 64 KiB scratch buffer and every complete
 * packet in it is handled in place. Only the tail of a packet cut by the
 * read is copied into the connection's rbuf, and prepended to the next
 * read. A packet too big for that (over half the scratch) is read straight
 * into an rbuf of exactly its size, then handled, then freed. So an idle
 * connection holds no input memory at all.
 *
 * Output. Packets are encoded straight into the connection's wbuf, and
 * the connection is put on the dirty list; before_sleep writes every dirty
 * connection once per loop iteration, so many messages to one subscriber
 * leave in one write(). Past BROKER_OUT_LIMIT pending bytes, QoS 0 to it
 * is dropped and QoS 1/2 waits in its session queue (session.c).
 *
 * Holding output until before_sleep costs latency when one iteration
 * brings many events: after the broker was off the CPU for a millisecond,
 * epoll hands it the input of a hundred publishers at once, and the first
 * message read would wait for every other read before its own write. So
 * the dirty list is written between two events (client_on_event) as soon
 * as a second connection has output pending, since writes to different
 * sockets cannot be merged anyway, or once the oldest pending output has
 * waited b->out_hold_ns: output to one busy subscriber (fan-in) still
 * leaves in few writes, and no message waits behind other connections'
 * input for more than one event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "broker.h"
#include "clock.h"
#include "log.h"
#include "netutil.h"

static void client_flush(struct client *c);

const char *client_name(const struct client *c, char *buf, size_t len)
{
	char addr[NET_ADDRSTR_LEN];

	net_fmt_ipv4_port(c->peer_addr, c->peer_port, addr, sizeof(addr));
	if (c->sess)
		snprintf(buf, len, "%s (%s)", c->sess->id, addr);
	else
		snprintf(buf, len, "%s", addr);
	return buf;
}

static void client_read(struct client *c)
{
	struct broker *b = c->b;
	uint8_t *buf = b->scratch;
	size_t len = c->rlen;
	ssize_t n;
	long used;

	if (c->rneed > BROKER_READ_SCRATCH / 2) {
		/* A big packet: straight into its own buffer, never past its end. */
		n = read(c->fd, c->rbuf + c->rlen, c->rneed - c->rlen);
		if (n <= 0)
			goto out_err;
		b->st.bytes_received += (uint64_t)n;
		c->last_rx_ms = ev_now_ms(b->loop);
		c->rlen += (uint32_t)n;
		if (c->rlen < c->rneed)
			return;
		if (read_handle(c, c->rbuf, c->rlen) < 0)
			return;
		free(c->rbuf);
		c->rbuf = NULL;
		c->rlen = c->rcap = c->rneed = 0;
		return;
	}
	if (len)
		memcpy(buf, c->rbuf, len);
	n = read(c->fd, buf + len, BROKER_READ_SCRATCH - len);
	if (n <= 0)
		goto out_err;
	b->st.bytes_received += (uint64_t)n;
	c->last_rx_ms = ev_now_ms(b->loop);
	len += (size_t)n;
	used = read_handle(c, buf, len);
	if (used < 0)
		return;
	len -= (size_t)used;
	if (!len) {
		if (c->rcap > 256) {
			free(c->rbuf);
			c->rbuf = NULL;
			c->rcap = 0;
		}
		c->rlen = c->rneed = 0;
		return;
	} else {
		uint32_t rem = 0, need = 0, cap;
		uint8_t hdr;
		int hl = mqtt_fixed_header(buf + used, len, &hdr, &rem);

		if (hl > 0)
			need = (uint32_t)hl + rem;
		cap = need > BROKER_READ_SCRATCH / 2 ? need : (uint32_t)len;
		if (c->rcap < cap) {
			uint8_t *p = realloc(c->rbuf, cap);

			if (!p) {
				client_close(c, true, "out of memory");
				return;
			}
			c->rbuf = p;
			c->rcap = cap;
		}
		memmove(c->rbuf, buf + used, len);
		c->rlen = (uint32_t)len;
		c->rneed = need;
	}
	return;

out_err:
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	client_close(c, true, n == 0 ? "closed its connection" : strerror(errno));
}

static void client_on_event(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;
	struct broker *b = c->b;

	if (events & EPOLLOUT)
		client_flush(c);
	if (c->state != CS_CLOSED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		client_read(c);
	/*
	 * Bounded batching (see the top comment). Safe here: no session or
	 * match array is being iterated between two events.
	 */
	if (b->dirty && (b->dirty != b->dirty_tail ||
			 mono_ns() - b->dirty_since_ns >= b->out_hold_ns))
		client_flush_all(b);
}

struct client *client_attach(struct broker *b, int fd, const struct sockaddr_in *peer)
{
	struct client *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	c->b = b;
	c->fd = fd;
	c->peer_addr = peer->sin_addr.s_addr;
	c->peer_port = peer->sin_port;
	c->state = CS_NEW;
	c->last_rx_ms = ev_now_ms(b->loop);
	if (b->conf.set_tcp_nodelay)
		net_set_nodelay(fd, true);
	err = ev_add(b->loop, fd, EV_READ, client_on_event, c);
	if (err) {
		free(c);
		errno = -err;
		return NULL;
	}
	c->next = b->clients;
	if (b->clients)
		b->clients->prev = c;
	b->clients = c;
	b->nclients++;
	b->st.connections_total++;
	return c;
}

void client_accept(struct broker *b, struct listener *lst)
{
	char addr[NET_ADDRSTR_LEN];
	struct sockaddr_in peer;
	int i, fd;

	/* Bounded per event so a connection storm cannot starve connected clients. */
	for (i = 0; i < 64; i++) {
		struct client *c;
		int err;

		fd = net_accept(lst->fd, &peer);
		if (fd == -EAGAIN || fd == -EINTR)
			return;
		if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
			listener_pause(b, fd);
			return;
		}
		if (fd < 0) {
			/* ECONNABORTED and such: that connection is gone, not the listener. */
			pr_debug("accept on port %u: %s\n", ntohs(lst->addr.sin_port),
				 strerror(-fd));
			return;
		}
		net_fmt_ipv4_port(peer.sin_addr.s_addr, peer.sin_port, addr, sizeof(addr));
		if (b->conf.max_connections >= 0 && b->nclients >= b->conf.max_connections) {
			pr_warn("refusing connection from %s: max_connections (%lld) reached\n",
				addr, (long long)b->conf.max_connections);
			close(fd);
			continue;
		}
		if (fd >= BROKER_FD_SETSIZE) {
			pr_warn("refusing connection from %s: fd %d too large\n", addr, fd);
			close(fd);
			continue;
		}
		c = client_attach(b, fd, &peer);
		if (!c) {
			err = -errno;
			pr_warn("refusing connection from %s: %s\n", addr, strerror(-err));
			close(fd);
			continue;
		}
		pr_debug("new connection from %s on port %u\n", addr, ntohs(lst->addr.sin_port));
	}
}

uint8_t *client_out_reserve(struct client *c, uint32_t n)
{
	if (c->woff && c->woff == c->wlen)
		c->woff = c->wlen = 0;
	if (c->wcap - c->wlen < n) {
		uint32_t pending = c->wlen - c->woff, cap;
		uint8_t *p;

		if (c->woff) {
			/* Reclaim the written head before growing. */
			memmove(c->wbuf, c->wbuf + c->woff, pending);
			c->woff = 0;
			c->wlen = pending;
		}
		if (c->wcap - c->wlen < n) {
			/* Small first: most idle connections only ever get CONNACK and SUBACK. */
			cap = c->wcap ? c->wcap : 64;
			while (cap - c->wlen < n)
				cap *= 2;
			p = realloc(c->wbuf, cap);
			if (!p)
				return NULL;
			c->wbuf = p;
			c->wcap = cap;
		}
	}
	return c->wbuf + c->wlen;
}

/* Pending bytes past which a write is tried at once rather than at before_sleep. */
#define OUT_EAGER (64 * 1024)

void client_out_commit(struct client *c, uint32_t n)
{
	c->wlen += n;
	if (c->wlen - c->woff >= OUT_EAGER && c->state != CS_CLOSED) {
		/*
		 * One event batch can carry megabytes of input; writing only at
		 * before_sleep would hold the first messages back for all of it.
		 * Errors are left for the flush: closing a client here could free
		 * a session the publish path is iterating over.
		 */
		ssize_t w = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);

		if (w > 0) {
			c->woff += (uint32_t)w;
			c->b->st.bytes_sent += (uint64_t)w;
		}
	}
	if (!c->dirty && c->state != CS_CLOSED) {
		/* FIFO, so the connection that got output first is written first. */
		c->dirty = true;
		c->dirty_next = NULL;
		if (c->b->dirty) {
			c->b->dirty_tail->dirty_next = c;
		} else {
			c->b->dirty = c;
			c->b->dirty_since_ns = mono_ns();
		}
		c->b->dirty_tail = c;
	}
}

static void client_flush(struct client *c)
{
	struct broker *b = c->b;
	uint32_t mask;

	while (c->woff < c->wlen) {
		ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			client_close(c, true, strerror(errno));
			return;
		}
		c->woff += (uint32_t)n;
		b->st.bytes_sent += (uint64_t)n;
	}
	mask = EV_READ;
	if (c->woff == c->wlen)
		c->woff = c->wlen = 0;
	else
		mask |= EV_WRITE; /* the kernel buffer is full: wait for room */
	ev_mod(b->loop, c->fd, mask);
	/* Output room may let queued QoS 1/2 messages into the window. */
	if (c->sess && c->sess->q_count)
		session_pump(b, c->sess);
}

void client_flush_all(struct broker *b)
{
	while (b->dirty) {
		struct client *c = b->dirty;

		b->dirty = c->dirty_next;
		if (!b->dirty)
			b->dirty_tail = NULL;
		c->dirty = false;
		if (c->state != CS_CLOSED)
			client_flush(c);
	}
}

void client_close(struct client *c, bool abnormal, const char *why)
{
	struct broker *b = c->b;
	struct session *s = c->sess;
	struct will *w = c->will;
	bool was_peer = s && s->link && s->peer_id;
	char name[96];

	if (c->state == CS_CLOSED)
		return;
	/* Last words (an error CONNACK, say): one best-effort non-blocking write. */
	if (c->woff < c->wlen) {
		ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);

		if (n > 0)
			b->st.bytes_sent += (uint64_t)n;
	}
	client_name(c, name, sizeof(name));
	if (c->state == CS_CONNECTED) {
		b->st.clients_connected--;
		if (b->conf.connection_messages)
			pr_info("client %s disconnected: %s\n", name, why);
	} else {
		pr_debug("connection %s closed: %s\n", name, why);
	}
	ev_del(b->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		b->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	b->nclients--;
	c->will = NULL;
	c->sess = NULL;
	c->state = CS_CLOSED;
	/* Freed after this iteration: events of this batch may still name c. */
	c->next = b->closed;
	b->closed = c;
	if (s) {
		s->client = NULL;
		if (s->clean) {
			session_free(b, s); /* [MQTT-3.1.2-6] */
		} else {
			s->offline_since_ms = ev_now_ms(b->loop);
		}
	}
	/*
	 * The will goes out after the session is detached, so a will that
	 * matches the client's own persistent subscription is queued for it.
	 */
	if (w && abnormal)
		will_publish(b, w);
	will_free(w);
	if (c->bridge)
		bridge_on_close(c);
	/* One link fewer: what we are bridged to changed. */
	if (was_peer)
		bridge_hello_all(b);
}

void client_free_closed(struct broker *b)
{
	while (b->closed) {
		struct client *c = b->closed;

		b->closed = c->next;
		free(c->rbuf);
		free(c->wbuf);
		free(c);
	}
}

void client_housekeeping(struct broker *b)
{
	uint64_t now = ev_now_ms(b->loop);
	struct client *c, *next;

	for (c = b->clients; c; c = next) {
		uint64_t idle = now - c->last_rx_ms;

		next = c->next;
		if (c->state == CS_NEW && idle > BROKER_CONNECT_TIMEOUT_MS) {
			char name[96];

			pr_info("closing %s: no CONNECT within %u ms\n",
				client_name(c, name, sizeof(name)), BROKER_CONNECT_TIMEOUT_MS);
			client_close(c, false, "no CONNECT");
			continue;
		}
		/* [MQTT-3.1.2-24]: silent for one and a half keep-alive periods. */
		if (c->state == CS_CONNECTED && c->keepalive &&
		    idle > (uint64_t)c->keepalive * 1500) {
			client_close(c, true, "keep-alive expired");
			continue;
		}
		/* Give idle connections' output buffers back. */
		if (c->wbuf && c->wlen == 0 && !c->dirty) {
			free(c->wbuf);
			c->wbuf = NULL;
			c->wcap = 0;
		}
	}
}

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
 * connection holds no input memory at all. A SUBSCRIBE or UNSUBSCRIBE
 * handled in slices (sub_job.c) stops the handling of what follows it:
 * reading stops too, the rest waits in rbuf, and client_resume() goes on
 * with it once the job is done, so packets keep their order.
 *
 * Output. Packets are encoded straight into the connection's wbuf, and
 * the connection is put on the dirty list; before_sleep writes every dirty
 * connection once per loop iteration, so many messages to one subscriber
 * leave in one write(). At b->out_limit pending bytes the broker stops
 * reading from it (it asks for nothing more), QoS 0 to it is dropped and
 * QoS 1/2 waits in its session queue (session.c); reading resumes once
 * the output drains. What still comes is bounded: a packet added with
 * b->out_hard already pending dooms the connection, and so does output
 * over the limit that has not moved for b->out_stall_ms.
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
	char addr[PEER_ADDRSTR_LEN], id[72];

	peer_addr_fmt(&c->peer, addr, sizeof(addr));
	if (c->sess)
		snprintf(buf, len, "%s (%s)", log_esc(c->sess->id, c->sess->id_len, id, sizeof(id)),
			 addr);
	else
		snprintf(buf, len, "%s", addr);
	return buf;
}

/* The epoll mask from c's state; epoll is only told when it changes. */
static void set_events(struct client *c, bool want_write)
{
	uint8_t ev = want_write ? CEV_WRITE : 0;
	bool in;

	if (c->state == CS_CLOSED)
		return;
	if (!c->job && !c->doom && !client_out_full(c))
		ev |= CEV_READ;
	/* TLS: the record layer may wait for the other direction (tls.c). */
	if (c->tls_wants & TLS_READ_WANTS_WRITE && ev & CEV_READ)
		ev |= CEV_WRITE;
	in = ev & CEV_READ || c->tls_wants & TLS_WRITE_WANTS_READ;
	if (ev & CEV_READ && !(c->ev & CEV_READ))
		tls_check_pending(c); /* reading again: what OpenSSL holds first */
	if (ev == c->ev && in == c->ev_in)
		return;
	c->ev = ev;
	c->ev_in = in;
	ev_mod(c->b->loop, c->fd, (in ? EV_READ : 0) | (ev & CEV_WRITE ? EV_WRITE : 0));
}

void client_update_events(struct client *c)
{
	set_events(c, c->ev & CEV_WRITE);
}

/*
 * Keep what read_handle() left at buf (len bytes) for the next round. Its
 * first packet is incomplete, unless a job stopped the handling early:
 * then it is kept as it is, for client_resume().
 */
static void keep_tail(struct client *c, const uint8_t *buf, size_t len)
{
	uint32_t rem = 0, need = 0, cap;
	uint8_t hdr;
	int hl = mqtt_fixed_header(buf, len, &hdr, &rem);

	if (hl > 0 && !c->job)
		need = (uint32_t)hl + rem;
	cap = need > BROKER_READ_SCRATCH / 2 ? need : (uint32_t)len;
	if (c->rcap < cap) {
		uint8_t *p = mem_realloc(&c->b->mem, c->rbuf, cap);

		if (!p) {
			client_close(c, true, "out of memory for its input (memory_limit)");
			return;
		}
		c->rbuf = p;
		c->rcap = cap;
	}
	memmove(c->rbuf, buf, len);
	c->rlen = (uint32_t)len;
	c->rneed = need;
}

/* Handle the len bytes at the scratch buffer: what was carried over, then what was read. */
static void client_consume(struct client *c, size_t len)
{
	uint8_t *buf = c->b->scratch;
	long used = read_handle(c, buf, len);

	if (used < 0)
		return; /* closed */
	len -= (size_t)used;
	if (len) {
		keep_tail(c, buf + used, len);
		return;
	}
	if (c->rcap > 256) {
		mem_free(&c->b->mem, c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
	c->rlen = c->rneed = 0;
}

/*
 * enable_proxy_protocol 2: the connection's first bytes are a PROXY v2
 * header (proxy_v2.c), read like any other input: what came so far waits
 * in rbuf, the CONNECT deadline runs from accept, and what followed the
 * header in the same read is MQTT. A connection that does not start with
 * a valid header is closed, with the reason in the log.
 */
static void proxy_read(struct client *c)
{
	struct broker *b = c->b;
	uint8_t *buf = b->scratch;
	char from[PEER_ADDRSTR_LEN], to[PEER_ADDRSTR_LEN];
	struct proxy_v2_info info;
	const char *why = NULL;
	size_t len = c->rlen;
	ssize_t n;
	long hl;

	if (len)
		memcpy(buf, c->rbuf, len);
	n = read(c->fd, buf + len, BROKER_READ_SCRATCH - len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(c, false, n == 0 ? "closed before its PROXY v2 header" : strerror(errno));
		return;
	}
	b->st.bytes_received += (uint64_t)n;
	len += (size_t)n;
	hl = proxy_v2_parse(buf, len, &info, &why);
	peer_addr_fmt(&c->peer, from, sizeof(from));
	if (hl < 0) {
		pr_info("refusing connection from %s: %s (enable_proxy_protocol 2)\n", from, why);
		client_close(c, false, why);
		return;
	}
	if (!hl) {
		if (c->rcap < len) {
			uint8_t *p = mem_realloc(&b->mem, c->rbuf, len);

			if (!p) {
				client_close(c, false, "out of memory for its input (memory_limit)");
				return;
			}
			c->rbuf = p;
			c->rcap = (uint32_t)len;
		}
		memcpy(c->rbuf, buf, len);
		c->rlen = (uint32_t)len;
		return;
	}
	if (info.local) {
		pr_debug("connection from %s: PROXY v2 LOCAL (the balancer's own)\n", from);
	} else {
		pr_debug("connection from %s: PROXY v2 for client %s\n", from,
			 peer_addr_fmt(&info.src, to, sizeof(to)));
		c->peer = info.src;
	}
	c->state = CS_NEW;
	c->rlen = 0;
	len -= (size_t)hl;
	if (len) {
		memmove(buf, buf + hl, len);
		client_consume(c, len);
	}
}

static void client_read(struct client *c)
{
	struct broker *b = c->b;
	uint8_t *buf = b->scratch;
	size_t len = c->rlen;
	ssize_t n;

	if (c->state == CS_PROXY) {
		proxy_read(c);
		return;
	}
	if (c->rneed > BROKER_READ_SCRATCH / 2) {
		/* A big packet: straight into its own buffer, never past its end. */
		n = conn_read(c, c->rbuf + c->rlen, c->rneed - c->rlen);
		if (n <= 0)
			goto out_err;
		b->st.bytes_received += (uint64_t)n;
		if (c->state == CS_CONNECTED)
			c->last_rx_ms = ev_now_ms(b->loop);
		c->rlen += (uint32_t)n;
		if (c->rlen < c->rneed)
			return;
		if (read_handle(c, c->rbuf, c->rlen) < 0)
			return;
		/* A job may have taken the buffer over (sub_job.c): then rbuf is NULL here. */
		mem_free(&b->mem, c->rbuf);
		c->rbuf = NULL;
		c->rlen = c->rcap = c->rneed = 0;
		return;
	}
	if (len)
		memcpy(buf, c->rbuf, len);
	n = conn_read(c, buf + len, BROKER_READ_SCRATCH - len);
	if (n <= 0)
		goto out_err;
	b->st.bytes_received += (uint64_t)n;
	/* Before CONNECT it stays the accept time: the deadline does not restart per byte. */
	if (c->state == CS_CONNECTED)
		c->last_rx_ms = ev_now_ms(b->loop);
	client_consume(c, len + (size_t)n);
	return;

out_err:
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		/*
		 * A handshake message that did not fit in the socket: nothing
		 * marks the client for output, so ask for room here (set_events).
		 */
		if (c->tls_wants & TLS_READ_WANTS_WRITE)
			client_update_events(c);
		return;
	}
	client_close(c, true, n == 0 ? "closed its connection" : conn_error(c, errno));
}

/*
 * Connections whose decrypted input OpenSSL holds (tls.c): read before the
 * loop sleeps. Each read takes what is held, so one round or two empties
 * the list; the bound only keeps a pathological case from holding the loop.
 */
void tls_run_pending(struct broker *b)
{
	int i;

	for (i = 0; b->tls_pending && i < 4096; i++) {
		struct client *c = b->tls_pending;

		tls_unqueue(c);
		if (c->state == CS_CLOSED || !(c->ev & CEV_READ))
			continue;
		client_read(c);
		if (c->state != CS_CLOSED && c->ev & CEV_READ)
			tls_check_pending(c);
	}
}

void client_resume(struct client *c)
{
	size_t len = c->rlen;

	if (c->state == CS_CLOSED)
		return;
	client_update_events(c);
	/* Nothing carried over, or the start of a big packet still being read. */
	if (!len || c->rneed > BROKER_READ_SCRATCH / 2)
		return;
	memcpy(c->b->scratch, c->rbuf, len);
	client_consume(c, len);
}

static void client_on_event(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;
	struct broker *b = c->b;

	if (events & EPOLLOUT) {
		client_flush(c);
		/* SSL_read waited for room to write (a handshake message). */
		if (c->state != CS_CLOSED && c->tls_wants & TLS_READ_WANTS_WRITE &&
		    c->ev & CEV_READ)
			client_read(c);
	}
	if (c->state != CS_CLOSED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		/*
		 * Not reading (a job, full output): input waits in the kernel. A
		 * hang-up or error is still reported; the connection is over then.
		 */
		if (c->ev & CEV_READ)
			client_read(c);
		else if (events & (EPOLLHUP | EPOLLERR))
			client_close(c, true, "connection lost");
		/* SSL_write waited for input (a bridge's CONNECT, its handshake): go on. */
		if (c->state != CS_CLOSED && c->tls_wants & TLS_WRITE_WANTS_READ) {
			client_flush(c); /* SSL_write reads what the handshake needs itself */
		}
		if (c->state != CS_CLOSED && c->ev & CEV_READ)
			tls_check_pending(c);
	}
	/*
	 * Bounded batching (see the top comment). Safe here: no session or
	 * match array is being iterated between two events.
	 */
	if (b->dirty && (b->dirty != b->dirty_tail ||
			 mono_ns() - b->dirty_since_ns >= b->out_hold_ns))
		client_flush_all(b);
}

struct client *client_attach(struct broker *b, int fd, const struct sockaddr *peer,
			     struct listener *lst)
{
	struct client *c = mem_zalloc(&b->mem, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	c->b = b;
	c->fd = fd;
	c->lst = lst;
	peer_addr_set(&c->peer, peer);
	c->state = lst && lst->conf->proxy_v2 ? CS_PROXY : CS_NEW;
	c->last_rx_ms = ev_now_ms(b->loop);
	c->last_tx_s = (uint32_t)(c->last_rx_ms / 1000);
	if (b->conf.set_tcp_nodelay)
		net_set_nodelay(fd, true);
	err = ev_add(b->loop, fd, EV_READ, client_on_event, c);
	if (err) {
		mem_free(&b->mem, c);
		errno = -err;
		return NULL;
	}
	c->ev = CEV_READ;
	c->ev_in = true;
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
	char addr[PEER_ADDRSTR_LEN], port[PEER_ADDRSTR_LEN];
	struct sockaddr_storage peer;
	struct peer_addr pa;
	int i, fd;

	/* Bounded per event so a connection storm cannot starve connected clients. */
	for (i = 0; i < 64; i++) {
		struct client *c;
		int err;

		socklen_t plen = sizeof(peer);

		fd = accept4(lst->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			fd = errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if (fd == -EAGAIN || fd == -EINTR)
			return;
		if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
			listener_pause(b, fd);
			return;
		}
		if (fd < 0) {
			/* ECONNABORTED and such: that connection is gone, not the listener. */
			pr_debug("accept on %s: %s\n", peer_addr_fmt(&lst->addr, port, sizeof(port)),
				 strerror(-fd));
			return;
		}
		peer_addr_set(&pa, (struct sockaddr *)&peer);
		peer_addr_fmt(&pa, addr, sizeof(addr));
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
		c = client_attach(b, fd, (struct sockaddr *)&peer, lst);
		if (!c) {
			err = -errno;
			pr_warn("refusing connection from %s: %s\n", addr, strerror(-err));
			close(fd);
			continue;
		}
		/* The handshake runs in the reads and writes to come (tls.c). */
		if (lst->tls && tls_attach(c, lst->tls, NULL, false)) {
			pr_warn("refusing connection from %s: out of memory for TLS\n", addr);
			client_close(c, false, "out of memory for TLS");
			continue;
		}
		pr_debug("new connection from %s on %s\n", addr,
			 peer_addr_fmt(&lst->addr, port, sizeof(port)));
	}
}

/* Put c on the dirty list (FIFO), so the flush that comes looks at it. */
static void mark_dirty(struct client *c)
{
	struct broker *b = c->b;

	if (c->dirty || c->state == CS_CLOSED)
		return;
	c->dirty = true;
	c->dirty_next = NULL;
	if (b->dirty) {
		b->dirty_tail->dirty_next = c;
	} else {
		b->dirty = c;
		b->dirty_since_ns = mono_ns();
	}
	b->dirty_tail = c;
}

static const char *doom_why(uint8_t doom)
{
	switch (doom) {
	case DOOM_OUT_HARD:
		return "output over its limit (not reading)";
	case DOOM_OUT_MEM:
		return "out of memory for its output (memory_limit)";
	default:
		return "out of memory for its messages (memory_limit)";
	}
}

void client_doom(struct client *c, enum client_doom why)
{
	if (c->state == CS_CLOSED || c->doom)
		return;
	c->doom = (uint8_t)why;
	mark_dirty(c);
}

/* The buffer never grows past this: packets are at most 256 MiB, pending output 4 MiB. */
#define WBUF_MAX ((size_t)1 << 30)

uint8_t *client_out_reserve_slow(struct client *c, size_t n)
{
	size_t pending = client_out_pending(c), cap;
	uint8_t *p;

	if (c->doom)
		return NULL;
	if (pending >= c->b->out_hard) {
		client_doom(c, DOOM_OUT_HARD);
		return NULL;
	}
	if (c->woff && !pending)
		c->woff = c->wlen = 0;
	if ((size_t)c->wcap - c->wlen >= n)
		return c->wbuf + c->wlen;
	if (c->woff) {
		/* Reclaim the written head before growing. */
		memmove(c->wbuf, c->wbuf + c->woff, pending);
		c->woff = 0;
		c->wlen = (uint32_t)pending;
	}
	if ((size_t)c->wcap - c->wlen >= n)
		return c->wbuf + c->wlen;
	if (n > WBUF_MAX - pending) {
		client_doom(c, DOOM_OUT_HARD);
		return NULL;
	}
	/* Small first: most idle connections only ever get CONNACK and SUBACK. */
	for (cap = c->wcap ? c->wcap : 64; cap - pending < n; cap *= 2)
		;
	p = mem_realloc(&c->b->mem, c->wbuf, cap);
	if (!p) {
		/* memory_limit: the message is dropped and its receiver closed. */
		client_doom(c, DOOM_OUT_MEM);
		return NULL;
	}
	c->wbuf = p;
	c->wcap = (uint32_t)cap;
	return c->wbuf + c->wlen;
}

void client_out_commit_slow(struct client *c)
{
	if (client_out_pending(c) >= CLIENT_OUT_EAGER && c->state != CS_CLOSED) {
		/*
		 * One event batch can carry megabytes of input; writing only at
		 * before_sleep would hold the first messages back for all of it.
		 * Errors are left for the flush: closing a client here could free
		 * a session the publish path is iterating over.
		 */
		ssize_t w = conn_write(c, c->wbuf + c->woff, client_out_pending(c));

		if (w > 0) {
			c->woff += (uint32_t)w;
			c->b->st.bytes_sent += (uint64_t)w;
			c->last_tx_s = (uint32_t)(ev_now_ms(c->b->loop) / 1000);
		}
	}
	/* Full: stop reading now, not at the flush, so this batch asks for no more. */
	if (c->ev & CEV_READ && client_out_full(c))
		client_update_events(c);
	mark_dirty(c);
}

static void client_flush(struct client *c)
{
	struct broker *b = c->b;
	bool want_write = false;

	if (c->doom) {
		client_close(c, true, doom_why(c->doom));
		return;
	}
	while (c->woff < c->wlen) {
		ssize_t n = conn_write(c, c->wbuf + c->woff, c->wlen - c->woff);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/*
				 * The kernel buffer is full: wait for room. Unless TLS
				 * waits for input (a bridge's handshake): the socket is
				 * writable then, and asking for it would spin.
				 */
				want_write = !(c->tls_wants & TLS_WRITE_WANTS_READ);
				break;
			}
			client_close(c, true, conn_error(c, errno));
			return;
		}
		/* TLS: the peer's close_notify or EOF met while SSL_write read (a handshake). */
		if (!n) {
			client_close(c, true, "closed its connection");
			return;
		}
		c->woff += (uint32_t)n;
		b->st.bytes_sent += (uint64_t)n;
		c->last_tx_s = (uint32_t)(ev_now_ms(b->loop) / 1000);
	}
	if (c->woff == c->wlen) {
		c->woff = c->wlen = 0;
		c->tls_wants &= (uint8_t)~TLS_WRITE_WANTS_READ;
	}
	/* Output room may let re-sends and queued QoS 1/2 messages out. */
	if (c->sess && (c->sess->q_count || c->sess->resend_pos < c->sess->ninf))
		session_pump(b, c->sess);
	set_events(c, want_write);
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
		ssize_t n = conn_write(c, c->wbuf + c->woff, c->wlen - c->woff);

		if (n > 0)
			b->st.bytes_sent += (uint64_t)n;
	}
	tls_detach(c);
	client_name(c, name, sizeof(name));
	if (c->state == CS_CONNECTED) {
		b->st.clients_connected--;
		if (b->conf.connection_messages)
			pr_info("client %s disconnected: %s\n", name, why);
	} else {
		pr_debug("connection %s closed: %s\n", name, why);
	}
	sub_job_free(c);
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
	/*
	 * The will goes out after the session is detached, so a will that
	 * matches the client's own persistent subscription is queued for it;
	 * before a clean session is freed, since its publisher is that
	 * session (acl_file, check_retain_source).
	 */
	if (s)
		s->client = NULL;
	if (w && abnormal)
		will_publish(b, w, s);
	will_free(w);
	if (s) {
		if (s->clean)
			session_free(b, s); /* [MQTT-3.1.2-6] */
		else
			s->offline_since_ms = ev_now_ms(b->loop);
	}
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
		mem_free(&b->mem, c->rbuf);
		mem_free(&b->mem, c->wbuf);
		mem_free(&b->mem, c);
	}
}

/* Why c must go now, or NULL. */
static const char *expired(const struct client *c, uint64_t now)
{
	if (c->state == CS_PROXY && now - c->last_rx_ms > BROKER_CONNECT_TIMEOUT_MS)
		return "no PROXY v2 header within 5 s of connecting";
	if (c->state == CS_NEW && now - c->last_rx_ms > BROKER_CONNECT_TIMEOUT_MS)
		return "no CONNECT within 5 s of connecting";
	/* [MQTT-3.1.2-24]: silent for one and a half keep-alive periods. */
	if (c->state == CS_CONNECTED && c->keepalive &&
	    now - c->last_rx_ms > (uint64_t)c->keepalive * 1500)
		return "keep-alive expired";
	/* Not reading, so it cannot be told by its silence if its keep-alive is 0. */
	if (client_out_full(c) && now / 1000 - c->last_tx_s > c->b->out_stall_s)
		return "output over its limit and not read";
	return NULL;
}

void client_housekeeping(struct broker *b)
{
	uint64_t now = ev_now_ms(b->loop);
	struct client *c, *next;

	for (c = b->clients; c; c = next) {
		const char *why = expired(c, now);
		char name[96];

		next = c->next;
		/* Not full: not stuck either, so the clock of "no progress" starts from now. */
		if (!client_out_full(c))
			c->last_tx_s = (uint32_t)(now / 1000);
		if (why) {
			pr_info("closing %s: %s\n", client_name(c, name, sizeof(name)), why);
			client_close(c, c->state == CS_CONNECTED, why);
			continue;
		}
		/* Give idle connections' output buffers back. */
		if (c->wbuf && c->wlen == 0 && !c->dirty) {
			mem_free(&b->mem, c->wbuf);
			c->wbuf = NULL;
			c->wcap = 0;
		}
	}
}

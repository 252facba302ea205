// SPDX-License-Identifier: GPL-2.0
/*
 * Bridges: one outgoing MQTT client connection per 'connection' block, on
 * the broker's own event loop.
 *
 * The local end of a bridge is an ordinary persistent session (link
 * LINK_OUT) subscribed to the 'out' topics, so the broker's existing
 * machinery does the work: matching, QoS 1/2 in-flight windows, the
 * bounded queue while the link is down (max_queued_messages, drops
 * counted), and the re-send with DUP of unacknowledged messages after a
 * reconnection. The connection itself is an ordinary struct client whose
 * ->bridge is set, so reads, output batching and keep-alive expiry are
 * shared too; only the packets a client receives from a server (CONNACK,
 * SUBACK, PINGRESP) and topic remapping are handled here.
 *
 * Host names in 'address' are resolved off the loop (bridge_resolve.c):
 * a lookup that hangs must not stall every client of the broker.
 *
 * Loop rule. Every bridge link has a link id: our own connections
 * (LINK_OUT) and remote bridges connected to us with the try_private bit
 * (LINK_IN). A message that arrived over a link carries its id (msg
 * origin), and:
 *   1. it never goes back over the link it came from (no echo);
 *   2. it never goes out over one of our own connections (LINK_OUT).
 * Remote bridges connected to us (LINK_IN) do get it, so a hub relays
 * between the brokers bridged to it: that is what makes the study's star
 * deliver everywhere exactly once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "broker.h"
#include "clock.h"
#include "log.h"

#define BRIDGE_TICK_MS		100
#define BRIDGE_CONNECT_MS	5000	/* TCP connect and CONNACK */
#define BRIDGE_RESOLVE_MS	5000	/* a host name's lookup */

struct bridge {
	struct broker *b;
	const struct bridge_conf *conf;
	struct client *c;		/* NULL while down */
	struct session *sess;		/* the LINK_OUT session, lives as long as b */
	struct bridge_lookup *lookup;	/* host name being resolved, NULL */
	const char *host;		/* of the current attempt */
	char *clientid;
	char *state_topic;
	char *topic_buf;		/* remapped topics, MQTT_MAX_STR + 1 */
	int fd;				/* connecting socket, -1 */
	int addr_idx;
	unsigned int seed;		/* jitter, rand_r */
	uint32_t attempt;		/* failed attempts since the last CONNACK */
	uint64_t connect_started_ms;
	uint64_t next_try_ms;		/* 0: not scheduled */
	uint64_t last_ping_ms;
	uint64_t msgs_in, msgs_out;
	uint64_t subscribed_ms;		/* when SUBSCRIBE last went out */
	struct ssl_ctx_st *tls;		/* bridge_cafile/capath: over TLS (tls.c), else NULL */
	bool up;
};

static void schedule(struct bridge *br)
{
	uint64_t d = bridge_backoff_ms(br->conf, br->attempt, &br->seed);

	br->attempt++;
	br->next_try_ms = ev_now_ms(br->b->loop) + d;
	pr_info("bridge %s: next connection attempt in %llu ms\n", br->conf->name,
		(unsigned long long)d);
}

static void notify_local(struct bridge *br, const char *state)
{
	if (br->conf->notifications)
		broker_publish_str(br->b, br->state_topic, state, 1, 0, true);
}

static void abort_connect(struct bridge *br, const char *why)
{
	pr_info("bridge %s: connection failed: %s\n", br->conf->name, why);
	ev_del(br->b->loop, br->fd);
	close(br->fd);
	br->fd = -1;
	schedule(br);
}

static int send_connect(struct bridge *br)
{
	const struct bridge_conf *bc = br->conf;
	struct mqtt_packet pkt = { .type = MQTT_CONNECT };
	struct mqtt_connect *p = &pkt.connect;
	const char *name = bc->protocol_level == MQTT_PROTO_V31 ? MQTT_PROTO_NAME_V31 :
								 MQTT_PROTO_NAME_V311;

	p->proto_name = mqtt_str_c(name, strlen(name));
	p->level = bc->protocol_level | (bc->try_private ? MQTT_PROTO_BRIDGE_BIT : 0);
	p->keepalive = bc->keepalive_s;
	p->clean = bc->cleansession;
	p->client_id = mqtt_str_c(br->clientid, strlen(br->clientid));
	if (bc->notifications) {
		/* As Mosquitto: the remote says 0 for us when the link dies. */
		p->will = true;
		p->will_qos = 1;
		p->will_retain = true;
		p->will_topic = mqtt_str_c(br->state_topic, strlen(br->state_topic));
		p->will_msg = mqtt_str_c("0", 1);
	}
	if (bc->remote_username) {
		p->has_username = true;
		p->username = mqtt_str_c(bc->remote_username, strlen(bc->remote_username));
	}
	if (bc->remote_password) {
		p->has_password = true;
		p->password = mqtt_str_c(bc->remote_password, strlen(bc->remote_password));
	}
	return send_packet(br->c, &pkt);
}

static struct mqtt_str topic_in(struct bridge *br, struct mqtt_str t)
{
	long n = bridge_remap(br->conf, BRIDGE_IN, (const char *)t.p, t.len, br->topic_buf,
			      MQTT_MAX_STR);

	return n < 0 ? t : mqtt_str_c(br->topic_buf, (size_t)n);
}

/* b->bridge_topic_out: local names to remote ones. */
static struct mqtt_str topic_out(struct client *c, const struct msg *m)
{
	struct bridge *br = c->bridge;
	long n = bridge_remap(br->conf, BRIDGE_OUT, m->topic, m->topic_len, br->topic_buf,
			      MQTT_MAX_STR);

	br->msgs_out++; /* one call per PUBLISH sent, DUP re-sends included */
	return n < 0 ? mqtt_str_c(m->topic, m->topic_len) : mqtt_str_c(br->topic_buf, (size_t)n);
}

static void on_connected(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct bridge *br = arg;
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	int soerr = 0;
	socklen_t slen = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
		soerr = errno;
	if (soerr) {
		abort_connect(br, strerror(soerr));
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) {
		abort_connect(br, strerror(errno));
		return;
	}
	ev_del(l, fd);
	br->c = client_attach(br->b, fd, (struct sockaddr *)&peer, NULL);
	if (!br->c) {
		pr_warn("bridge %s: %s\n", br->conf->name, strerror(errno));
		close(fd);
		br->fd = -1;
		schedule(br);
		return;
	}
	br->fd = -1;
	/*
	 * Over TLS the handshake runs in the client's reads and writes: the
	 * CONNECT waits in its output until it is done, and the CONNACK
	 * deadline covers both.
	 */
	br->c->bridge = br;
	br->c->no_retain_out = !br->conf->outgoing_retain;
	if (br->tls && tls_attach(br->c, br->tls, br->host, !br->conf->tls_insecure)) {
		client_close(br->c, true, "out of memory for TLS");
		return;
	}
	br->c->level = br->conf->protocol_level;
	br->c->keepalive = br->conf->keepalive_s;
	pr_info("bridge %s: sending CONNECT as %s\n", br->conf->name, br->clientid);
	if (send_connect(br))
		client_close(br->c, true, "cannot send CONNECT");
}

static void connect_to(struct bridge *br, const struct sockaddr_in *sa)
{
	char addr[INET_ADDRSTRLEN] = "";
	int fd, err;

	inet_ntop(AF_INET, &sa->sin_addr, addr, sizeof(addr));
	if (strcmp(br->host, addr)) /* a name: say what it resolved to */
		pr_info("bridge %s: connecting to %s:%u (%s)\n", br->conf->name, br->host,
			ntohs(sa->sin_port), addr);
	else
		pr_info("bridge %s: connecting to %s:%u\n", br->conf->name, br->host,
			ntohs(sa->sin_port));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_warn("bridge %s: socket: %s\n", br->conf->name, strerror(errno));
		schedule(br);
		return;
	}
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		pr_info("bridge %s: connect: %s\n", br->conf->name, strerror(-err));
		schedule(br);
		return;
	}
	err = ev_add(br->b->loop, fd, EV_WRITE, on_connected, br);
	if (err) {
		close(fd);
		schedule(br);
		return;
	}
	br->fd = fd;
	br->connect_started_ms = ev_now_ms(br->b->loop);
}

static void on_resolved(void *arg, const struct sockaddr_in *sa, const char *why)
{
	struct bridge *br = arg;

	br->lookup = NULL;
	if (!sa) {
		pr_warn("bridge %s: cannot resolve %s: %s\n", br->conf->name, br->host, why);
		schedule(br);
		return;
	}
	connect_to(br, sa);
}

static void try_connect(struct bridge *br)
{
	const struct bridge_addr *a = &br->conf->addrs[br->addr_idx];
	struct broker *b = br->b;
	struct sockaddr_in sa;

	/* Each attempt takes the next address, as Mosquitto's round robin does. */
	br->addr_idx = (br->addr_idx + 1) % br->conf->naddrs;
	br->next_try_ms = 0;
	br->host = a->host;
	if (!bridge_resolve_numeric(a->host, a->port, &sa)) {
		connect_to(br, &sa);
		return;
	}
	/*
	 * A name: a lookup can take seconds (a slow or dead name server), and
	 * every client of this broker shares the loop, so a thread resolves
	 * it and on_resolved() carries on; on_tick() bounds the wait.
	 */
	if (!b->resolver)
		b->resolver = bridge_resolver_new(b->loop);
	if (b->resolver)
		br->lookup = bridge_resolve_start(b->resolver, a->host, a->port, on_resolved, br);
	if (!br->lookup) {
		pr_warn("bridge %s: cannot resolve %s: %s\n", br->conf->name, a->host,
			strerror(errno));
		schedule(br);
		return;
	}
	pr_info("bridge %s: resolving %s\n", br->conf->name, a->host);
	br->connect_started_ms = ev_now_ms(b->loop);
}

static int on_tick(struct ev_loop *l, long long id, void *arg)
{
	struct bridge *br = arg;
	uint64_t now = ev_now_ms(l);

	if (br->lookup && now - br->connect_started_ms > BRIDGE_RESOLVE_MS) {
		pr_warn("bridge %s: cannot resolve %s: no answer within %d s\n", br->conf->name,
			br->host, BRIDGE_RESOLVE_MS / 1000);
		bridge_resolve_cancel(br->lookup);
		br->lookup = NULL;
		schedule(br);
	} else if (br->fd >= 0 && now - br->connect_started_ms > BRIDGE_CONNECT_MS) {
		abort_connect(br, "timed out");
	} else if (br->c && !br->up && now - br->connect_started_ms > BRIDGE_CONNECT_MS) {
		client_close(br->c, true, "no CONNACK");
	} else if (!br->c && br->fd < 0 && !br->lookup && br->next_try_ms &&
		   now >= br->next_try_ms) {
		try_connect(br);
	}
	if (br->up && now - br->last_ping_ms >= (uint64_t)br->conf->keepalive_s * 1000) {
		struct mqtt_packet ping = { .type = MQTT_PINGREQ };

		br->last_ping_ms = now;
		send_packet(br->c, &ping);
	}
	return BRIDGE_TICK_MS;
}

/* A packet id from the session's space, so it never equals an in-flight PUBLISH's. */
static uint16_t next_pid(struct bridge *br)
{
	uint16_t pid = br->sess->next_pid++;

	if (!br->sess->next_pid)
		br->sess->next_pid = 1;
	return pid;
}

static bool subscribed_in(const struct bridge_conf *bc, const char *remote)
{
	int i;

	for (i = 0; i < bc->ntopics; i++)
		if (bc->topics[i].dir & BRIDGE_IN && !strcmp(bc->topics[i].remote, remote))
			return true;
	return false;
}

/* One filter in one SUBSCRIBE or UNSUBSCRIBE: Mosquitto's bridge sends them so. */
static int send_one(struct bridge *br, uint8_t type, const struct bridge_topic *t)
{
	struct mqtt_topic_req req = { .filter = mqtt_str_c(t->remote, strlen(t->remote)),
				      .qos = t->qos };
	struct mqtt_packet pkt = { .type = type };

	pkt.sub.pid = next_pid(br);
	pkt.sub.count = 1;
	pkt.sub.reqs = &req;
	return send_packet(br->c, &pkt);
}

/*
 * On every connection, session present or not, as Mosquitto's bridges do,
 * one packet per topic line in the configuration's order: an 'in' (or
 * 'both') line's remote filter is subscribed at its QoS, so a QoS changed
 * in the configuration applies at once and a remote that lost our session
 * gets the subscriptions back; with bridge_attempt_unsubscribe, an 'out'
 * line's is unsubscribed, in case an earlier configuration had it 'in' and
 * a persistent session there still holds it. Unlike Mosquitto, not a
 * filter that an 'in' line of this configuration subscribes to (they would
 * undo each other). A remote that checks packets in order (Mosquitto's
 * test suite fakes one) sees Mosquitto's.
 */
static int send_subscriptions(struct bridge *br)
{
	const struct bridge_conf *bc = br->conf;
	int i, err = 0;

	br->subscribed_ms = ev_now_ms(br->b->loop);
	for (i = 0; i < bc->ntopics && !err; i++) {
		const struct bridge_topic *t = &bc->topics[i];

		if (t->dir & BRIDGE_IN)
			err = send_one(br, MQTT_SUBSCRIBE, t);
		else if (bc->attempt_unsubscribe && !subscribed_in(bc, t->remote))
			err = send_one(br, MQTT_UNSUBSCRIBE, t);
	}
	return err;
}

static int on_connack(struct bridge *br, const struct mqtt_connack *ca)
{
	struct broker *b = br->b;
	struct client *c = br->c;
	int err;

	if (ca->rc) {
		pr_warn("bridge %s: refused by the remote (CONNACK %u)\n", br->conf->name, ca->rc);
		return -ECONNREFUSED;
	}
	pr_info("bridge %s: connected (session present %u)\n", br->conf->name,
		ca->session_present);
	c->state = CS_CONNECTED;
	c->last_rx_ms = ev_now_ms(b->loop);
	c->sess = br->sess;
	br->sess->client = c;
	br->up = true;
	br->attempt = 0;
	br->last_ping_ms = ev_now_ms(b->loop);
	b->st.clients_connected++;
	/*
	 * Subscribing again makes the remote re-send its retained messages:
	 * retained_again() keeps those we already have from local subscribers.
	 */
	err = send_subscriptions(br);
	if (err)
		return err;
	bridge_hello_all(b);
	/* Unacknowledged ones again with DUP, then what queued while down. */
	session_resend(b, br->sess);
	/* After the re-sends: a DUP re-send must not include the new notification. */
	if (br->conf->notifications) {
		struct msg one = {
			.topic = br->state_topic,
			.topic_len = (uint16_t)strlen(br->state_topic),
			.payload = (const uint8_t *)"1",
			.payload_len = 1,
		};
		/*
		 * The remote's copy, QoS 1 retained as Mosquitto sends it, through
		 * the link's session so it is acknowledged like any other; no
		 * 'out' pattern matches a $ topic, so it goes out unmapped.
		 */
		one.qos = 1;
		session_deliver(b, br->sess, &one, 1, true);
		notify_local(br, "1");
	}
	return 0;
}

/* Window after a SUBSCRIBE in which the remote sends us its retained set. */
#define BRIDGE_RETAINED_MS 5000

/*
 * A SUBSCRIBE makes the remote send every retained message again; the
 * ones we already store, byte for byte, crossed before and must not reach
 * local subscribers a second time on every reconnection.
 */
static bool retained_again(struct bridge *br, const struct mqtt_publish *p)
{
	struct tnode *n;

	if (!p->retain || !p->payload_len ||
	    ev_now_ms(br->b->loop) - br->subscribed_ms > BRIDGE_RETAINED_MS)
		return false;
	n = tree_get(&br->b->tree, (const char *)p->topic.p, p->topic.len, false);
	return n && n->retained && n->retained->payload_len == p->payload_len &&
	       !memcmp(n->retained->payload, p->payload, p->payload_len);
}

int bridge_handle(struct client *c, const struct mqtt_packet *pkt)
{
	struct bridge *br = c->bridge;
	struct mqtt_publish p;

	if (c->state == CS_NEW)
		return pkt->type == MQTT_CONNACK ? on_connack(br, &pkt->connack) : -EPROTO;
	switch (pkt->type) {
	case MQTT_PUBLISH:
		/* As if published locally, under its local name and marked with our link. */
		p = pkt->publish;
		p.topic = topic_in(br, p.topic);
		br->msgs_in++;
		if (p.qos < 2 && retained_again(br, &p))
			return p.qos ? send_ack(c, MQTT_PUBACK, p.pid) : 0;
		return handle_publish(c, &p);
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		return handle_ack(c, pkt->type, pkt->ack.pid);
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
	case MQTT_PINGRESP:
		return 0;
	case MQTT_PINGREQ:
		/* Servers do not ping [MQTT-3.12], but Mosquitto's bridge answers one: so do we. */
		return send_ack(c, MQTT_PINGRESP, 0);
	default:
		return -EPROTO;
	}
}

void bridge_on_close(struct client *c)
{
	struct bridge *br = c->bridge;

	br->c = NULL;
	if (br->up) {
		/* client_close() already counted the connection out. */
		br->up = false;
		notify_local(br, "0");
	}
	schedule(br);
}

static int bridge_init(struct broker *b, struct bridge *br, const struct bridge_conf *bc)
{
	char host[256] = "mqbroker";
	size_t n;

	br->b = b;
	br->conf = bc;
	br->fd = -1;
	br->seed = (unsigned int)(mono_ms() ^ (uint64_t)getpid() ^ (uintptr_t)br);
	if (bc->remote_clientid) {
		br->clientid = strdup(bc->remote_clientid);
	} else {
		/* Mosquitto's default: <hostname>.<connection name>. */
		gethostname(host, sizeof(host) - 1);
		n = strlen(host) + strlen(bc->name) + 2;
		br->clientid = malloc(n);
		if (br->clientid)
			snprintf(br->clientid, n, "%s.%s", host, bc->name);
	}
	if (!br->clientid)
		return -ENOMEM;
	if (bc->notification_topic) {
		br->state_topic = strdup(bc->notification_topic);
	} else {
		n = strlen(br->clientid) + 32;
		br->state_topic = malloc(n);
		if (br->state_topic)
			snprintf(br->state_topic, n, "$SYS/broker/connection/%s/state", br->clientid);
	}
	br->topic_buf = malloc(MQTT_MAX_STR + 1);
	if (!br->state_topic || !br->topic_buf)
		return -ENOMEM;
	return 0;
}

/* The local session: subscribed to every 'out' topic under its local name. */
static int bridge_session(struct broker *b, struct bridge *br)
{
	char id[300];
	int i, n, err;

	n = snprintf(id, sizeof(id), "$bridge/%s", br->conf->name);
	/*
	 * Persistence may have brought it back with its queue: keep that, but
	 * subscribe afresh, as the 'topic' lines may have changed since.
	 */
	br->sess = session_find(b, id, (size_t)n);
	if (br->sess) {
		b->nsubscriptions -= br->sess->nsubs;
		sub_remove_all(&b->tree, br->sess);
	} else {
		br->sess = session_new(b, id, (size_t)n, false);
	}
	if (!br->sess)
		return -ENOMEM;
	br->sess->sec = NULL; /* our own bridge: no ACL, as Mosquitto */
	br->sess->link = LINK_OUT;
	br->sess->trusted = true; /* we chose the remote in our own configuration */
	br->sess->link_id = ++b->next_link_id;
	br->sess->offline_since_ms = ev_now_ms(b->loop);
	for (i = 0; i < br->conf->ntopics; i++) {
		const struct bridge_topic *t = &br->conf->topics[i];

		if (!(t->dir & BRIDGE_OUT))
			continue;
		err = sub_add(&b->tree, br->sess, t->local, strlen(t->local), t->qos);
		if (err < 0)
			return err;
		if (err > 0)
			b->nsubscriptions++;
	}
	return 0;
}

static void sys_u64(struct broker *b, const struct bridge *br, const char *what, uint64_t v)
{
	char topic[300], val[24];
	int n;

	snprintf(topic, sizeof(topic), "$SYS/broker/bridge/%s/%s", br->conf->name, what);
	n = snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
	broker_publish_str(b, topic, val, (uint32_t)n, 0, true);
}

void bridge_sys_publish(struct broker *b)
{
	int i;

	for (i = 0; i < b->nbridges; i++) {
		const struct bridge *br = &b->bridges[i];

		sys_u64(b, br, "connected", br->up);
		sys_u64(b, br, "messages/received", br->msgs_in);
		sys_u64(b, br, "messages/sent", br->msgs_out);
		sys_u64(b, br, "queued", br->sess ? br->sess->q_count + br->sess->ninf : 0);
		sys_u64(b, br, "dropped", br->sess ? br->sess->dropped : 0);
	}
}

/* Certificates read once, at start: a bad file stops the start, not each attempt. */
static int bridge_tls(struct bridge *br)
{
	char why[200];
	int err = tls_bridge_ctx(br->conf, &br->tls, why, sizeof(why));

	if (err)
		pr_warn("bridge %s: %s\n", br->conf->name, why);
	return err;
}

int bridge_start_all(struct broker *b)
{
	int i, err;

	if (!b->conf.nbridges)
		return 0;
	b->bridges = calloc((size_t)b->conf.nbridges, sizeof(*b->bridges));
	if (!b->bridges)
		return -ENOMEM;
	b->nbridges = b->conf.nbridges;
	b->bridge_topic_out = topic_out;
	for (i = 0; i < b->nbridges; i++) {
		struct bridge *br = &b->bridges[i];
		long long t;

		err = bridge_init(b, br, &b->conf.bridges[i]);
		if (!err)
			err = bridge_tls(br);
		if (!err)
			err = bridge_session(b, br);
		if (err)
			return err;
		t = ev_timer_add(b->loop, BRIDGE_TICK_MS, on_tick, br);
		if (t < 0)
			return (int)t;
		/* The first attempt now; a failure only schedules the next one. */
		try_connect(br);
	}
	return 0;
}

void bridge_fini(struct broker *b)
{
	int i;

	for (i = 0; i < b->nbridges; i++) {
		struct bridge *br = &b->bridges[i];

		if (br->fd >= 0) {
			ev_del(b->loop, br->fd);
			close(br->fd);
		}
		bridge_resolve_cancel(br->lookup);
		tls_ctx_free(br->tls);
		free(br->clientid);
		free(br->state_topic);
		free(br->topic_buf);
	}
	bridge_resolver_free(b->resolver);
	b->resolver = NULL;
	free(b->bridges);
	b->bridges = NULL;
	b->nbridges = 0;
}

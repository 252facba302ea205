// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions (MQTT 3.1.1 section 4.1): subscriptions, the outbound in-flight
 * window of QoS 1/2 messages and the queue behind it. Offline persistent
 * sessions keep all of it. Inbound QoS 2 is in qos2_in.c.
 *
 * Ordering [MQTT-4.6.0-2..4]: messages enter the window in arrival order
 * and, once anything is queued, everything of QoS > 0 goes through the
 * queue, so a subscriber sees each publisher's messages in order. After a
 * reconnection the window is re-sent first, as output room allows, and
 * nothing new enters it before that is done.
 *
 * Limits, with Mosquitto's meanings: a message enters the window while
 * fewer than max_inflight_messages are in flight and their payloads sum
 * to less than max_inflight_bytes (so one larger message still goes, on
 * its own); otherwise it is queued while the queue holds fewer than
 * max_queued_messages and less than max_queued_bytes of payload;
 * otherwise it is dropped and counted. 0 means no limit for each.
 */
#include <errno.h>
#include <string.h>

#include "acl.h"
#include "broker.h"
#include "log.h"

static uint32_t id_hash(const struct broker *b, const char *id, size_t len)
{
	uint64_t h = siphash13(&b->id_key, id, len);

	return (uint32_t)(h ^ (h >> 32));
}

struct session *session_find(struct broker *b, const char *id, size_t len)
{
	uint32_t h = id_hash(b, id, len);
	struct session *s;

	for (s = b->sess_buckets[h & (b->sess_nbuckets - 1)]; s; s = s->hnext)
		if (s->hash == h && s->id_len == len && !memcmp(s->id, id, len))
			return s;
	return NULL;
}

static void sess_grow(struct broker *b)
{
	uint32_t nb = b->sess_nbuckets * 2, i;
	struct session **v = mem_zalloc(&b->mem, nb * sizeof(*v));

	if (!v)
		return; /* longer chains, still correct */
	for (i = 0; i < b->sess_nbuckets; i++) {
		struct session *s = b->sess_buckets[i], *next;

		for (; s; s = next) {
			next = s->hnext;
			s->hnext = v[s->hash & (nb - 1)];
			v[s->hash & (nb - 1)] = s;
		}
	}
	mem_free(&b->mem, b->sess_buckets);
	b->sess_buckets = v;
	b->sess_nbuckets = nb;
}

struct session *session_new(struct broker *b, const char *id, size_t len, bool clean)
{
	struct session *s = mem_zalloc(&b->mem, FLEX_SIZE(struct session, id, len + 1));
	uint32_t slot;

	if (!s)
		return NULL;
	memcpy(s->id, id, len);
	s->id[len] = '\0';
	s->id_len = (uint16_t)len;
	s->clean = clean;
	s->next_pid = 1;
	s->hash = id_hash(b, id, len);
	slot = s->hash & (b->sess_nbuckets - 1);
	s->hnext = b->sess_buckets[slot];
	b->sess_buckets[slot] = s;
	if (!clean)
		store_changed(b);
	if (++b->nsessions > b->sess_nbuckets)
		sess_grow(b);
	return s;
}

void session_free(struct broker *b, struct session *s)
{
	struct session **pp = &b->sess_buckets[s->hash & (b->sess_nbuckets - 1)];
	uint32_t i;

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	b->nsessions--;
	if (!s->clean)
		store_changed(b);
	b->nsubscriptions -= s->nsubs;
	sub_remove_all(&b->tree, s);
	for (i = 0; i < s->ninf; i++)
		msg_put(&b->mem, inf_at(s, i)->m);
	for (i = 0; i < s->q_count; i++)
		msg_put(&b->mem, q_at(s, i)->m);
	qos2_in_free(b, s);
	if (s->client)
		s->client->sess = NULL;
	mem_free(&b->mem, s->inf);
	mem_free(&b->mem, s->q);
	mem_free(&b->mem, s->peer_nbrs);
	mem_free(&b->mem, s->username);
	mem_free(&b->mem, s);
}

uint32_t session_inflight_max(const struct broker *b)
{
	uint32_t m = b->conf.max_inflight_messages;

	return m && m < 65535 ? m : 65535; /* the packet id space bounds it anyway */
}

/* A message for s could not be kept: count it, and if it was to go out now, say so. */
static void dropped(struct broker *b, struct session *s, bool oom)
{
	b->st.pub_dropped++;
	s->dropped++;
	/* memory_limit: the receiving client of a message that could not be kept is closed. */
	if (oom && s->client)
		client_doom(s->client, DOOM_MSG_MEM);
}

/* Twice the room, in order from 0; false when out of memory. */
static bool queue_grow(struct broker *b, struct session *s)
{
	uint32_t cap = s->q_cap ? s->q_cap * 2 : 8, i;
	struct queued *v = mem_alloc(&b->mem, cap * sizeof(*v));

	if (!v)
		return false;
	for (i = 0; i < s->q_count; i++)
		v[i] = *q_at(s, i);
	mem_free(&b->mem, s->q);
	s->q = v;
	s->q_cap = cap;
	s->q_head = 0;
	return true;
}

/*
 * Append to the queue whatever its limits; false when out of memory.
 * Inline, as the other steps of a delivery below: one call less per
 * message is a few percent of a delivery's cost.
 */
static inline bool queue_add(struct broker *b, struct session *s, struct msg *m, uint8_t qos,
			     bool retain, uint16_t pid)
{
	if (s->q_count == s->q_cap && !queue_grow(b, s))
		return false;
	m = msg_hold(&b->mem, m);
	if (!m)
		return false;
	*q_at(s, s->q_count) = (struct queued){ m, pid, qos, retain };
	s->q_count++;
	s->q_bytes += m->payload_len;
	store_changed(b);
	return true;
}

static inline void queue_push(struct broker *b, struct session *s, struct msg *m, uint8_t qos,
		       bool retain, uint16_t pid)
{
	uint32_t max = b->conf.max_queued_messages;
	uint64_t max_bytes = b->conf.max_queued_bytes;

	if ((max && s->q_count >= max) || (max_bytes && s->q_bytes >= max_bytes)) {
		dropped(b, s, false);
		return;
	}
	if (!queue_add(b, s, m, qos, retain, pid))
		dropped(b, s, true);
}

static bool pid_in_use(const struct session *s, uint16_t pid)
{
	uint32_t i;

	if (!s->ninf || !inf_pid_count(s)[pid % SESS_PID_BUCKETS])
		return false;
	for (i = 0; i < s->ninf; i++)
		if (inf_at(s, i)->pid == pid)
			return true;
	return false;
}

static inline void pid_count_add(struct session *s, uint16_t pid)
{
	uint8_t *n = &inf_pid_count(s)[pid % SESS_PID_BUCKETS];

	if (*n < UINT8_MAX)
		(*n)++;
}

static inline void pid_count_del(struct session *s, uint16_t pid)
{
	uint8_t *n = &inf_pid_count(s)[pid % SESS_PID_BUCKETS];

	if (*n < UINT8_MAX)
		(*n)--;
	if (!s->ninf) /* an empty window: no bucket left stuck at 255 */
		memset(inf_pid_count(s), 0, SESS_PID_BUCKETS);
}

/* The next id in the session's sequence [MQTT-2.3.1-1]: 0 is not an id. */
static uint16_t pid_next(struct session *s)
{
	uint16_t pid = s->next_pid++;

	if (!s->next_pid)
		s->next_pid = 1;
	return pid;
}

static uint16_t pid_alloc(struct session *s)
{
	for (;;) {
		uint16_t pid = pid_next(s);

		if (!pid_in_use(s, pid))
			return pid;
	}
}

/* Room for one more message in flight: 0, or -ENOMEM. */
static int inflight_grow_slow(struct broker *b, struct session *s)
{
	uint32_t cap = s->inf_cap ? s->inf_cap * 2 : 4, i;
	struct inflight *v;

	/* The ids' bucket counts follow the array (inf_pid_count()). */
	v = mem_alloc(&b->mem, cap * sizeof(*v) + SESS_PID_BUCKETS);
	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->ninf; i++)
		v[i] = *inf_at(s, i);
	if (s->inf)
		memcpy(v + cap, inf_pid_count(s), SESS_PID_BUCKETS);
	else
		memset(v + cap, 0, SESS_PID_BUCKETS);
	mem_free(&b->mem, s->inf);
	s->inf = v;
	s->inf_cap = cap;
	s->inf_head = 0;
	return 0;
}

static inline int inflight_grow(struct broker *b, struct session *s)
{
	return s->ninf < s->inf_cap ? 0 : inflight_grow_slow(b, s);
}

/* Append to the window; inflight_grow() made room. */
static inline struct inflight *inflight_append(struct session *s, struct msg *m, uint16_t pid,
					uint8_t qos, uint8_t state, bool retain)
{
	struct inflight *f = inf_at(s, s->ninf++);

	*f = (struct inflight){ .m = m, .pid = pid, .qos = qos, .state = state, .retain = retain };
	pid_count_add(s, pid);
	if (m)
		s->inf_bytes += m->payload_len;
	return f;
}

/*
 * Takes over the reference m holds. pid was drawn when the message was
 * delivered to s; it is drawn again only if, after the id space wrapped,
 * a message still in flight holds it.
 */
static int inflight_send(struct broker *b, struct session *s, struct msg *m, uint8_t qos,
			 bool retain, uint16_t pid)
{
	struct inflight *f;

	if (inflight_grow(b, s))
		return -ENOMEM;
	if (!pid || pid_in_use(s, pid))
		pid = pid_alloc(s);
	f = inflight_append(s, m, pid, qos, INF_WAIT_ACK, retain);
	store_changed(b);
	s->resend_pos = s->ninf; /* nothing enters while re-sends are pending */
	/* A failed send (ENOMEM) leaves it in the window, for the resend on reconnection. */
	send_publish(s->client, m, qos, f->pid, retain, false);
	return 0;
}

/* Room in the window (count and bytes) for one more message. */
static inline bool window_open(const struct broker *b, const struct session *s)
{
	uint64_t max_bytes = b->conf.max_inflight_bytes;

	return s->ninf < session_inflight_max(b) && (!max_bytes || s->inf_bytes < max_bytes);
}

static inline bool can_send(const struct broker *b, const struct session *s)
{
	const struct client *c = s->client;

	return c && c->state == CS_CONNECTED && s->resend_pos == s->ninf && window_open(b, s) &&
	       !client_out_full(c);
}

void session_deliver(struct broker *b, struct session *s, struct msg *m, uint8_t qos, bool retain)
{
	struct client *c = s->client;
	struct msg *held;
	uint16_t pid;

	if (!qos) {
		/*
		 * QoS 0 is not queued for offline sessions (3.1.2.4 makes it
		 * optional, Mosquitto's default agrees) unless
		 * queue_qos0_messages says so, and is dropped, counted, for a
		 * connection whose output is past its bound.
		 */
		if ((!c || c->state != CS_CONNECTED) && b->conf.queue_qos0_messages) {
			queue_push(b, s, m, 0, retain, 0);
			return;
		}
		if (!c || c->state != CS_CONNECTED) {
			/* A bridge link that is down loses QoS 0: say so in its counters. */
			if (s->link == LINK_OUT)
				s->dropped++;
			return;
		}
		if (client_out_full(c)) {
			dropped(b, s, false);
			return;
		}
		send_publish(c, m, 0, 0, retain, false);
		return;
	}
	/*
	 * The id is drawn now, whatever becomes of the message (sent, queued
	 * or dropped), as Mosquitto draws it: clients see the same sequence.
	 */
	pid = pid_next(s);
	if (s->q_count || !can_send(b, s)) {
		queue_push(b, s, m, qos, retain, pid);
		return;
	}
	held = msg_hold(&b->mem, m);
	if (!held) {
		dropped(b, s, true);
	} else if (inflight_send(b, s, held, qos, retain, pid)) {
		msg_put(&b->mem, held);
		dropped(b, s, true);
	}
}

/* Re-send what the window held when the client went away, while output has room. */
static void resend_some(struct session *s)
{
	struct client *c = s->client;

	while (s->resend_pos < s->ninf && !client_out_full(c)) {
		struct inflight *f = inf_at(s, s->resend_pos++);

		if (f->state == INF_WAIT_COMP)
			send_ack(c, MQTT_PUBREL, f->pid);
		else
			send_publish(c, f->m, f->qos, f->pid, f->retain, true);
	}
}

void session_pump(struct broker *b, struct session *s)
{
	struct client *c = s->client;

	if (!c || c->state != CS_CONNECTED)
		return;
	if (s->resend_pos < s->ninf)
		resend_some(s);
	while (s->q_count && can_send(b, s)) {
		struct queued q = *q_at(s, 0);

		s->q_head = (s->q_head + 1) & (s->q_cap - 1);
		s->q_count--;
		store_changed(b);
		s->q_bytes -= q.m->payload_len;
		if (!q.qos) {
			/* queue_qos0_messages: QoS 0 kept while offline, sent as it is. */
			send_publish(c, q.m, 0, 0, q.retain, false);
			msg_put(&b->mem, q.m);
			continue;
		}
		if (inflight_send(b, s, q.m, q.qos, q.retain, q.pid)) {
			msg_put(&b->mem, q.m);
			dropped(b, s, true);
		}
	}
}

void session_resend(struct broker *b, struct session *s)
{
	s->resend_pos = 0;
	session_pump(b, s);
}

/* Take the i-th message out of the window; acks come mostly in order, so mostly the oldest. */
static void inflight_remove(struct broker *b, struct session *s, uint32_t i)
{
	struct inflight *f = inf_at(s, i);
	uint16_t pid = f->pid;
	uint32_t j;

	if (f->m) {
		s->inf_bytes -= f->m->payload_len;
		msg_put(&b->mem, f->m);
	}
	if (i < s->ninf / 2) {
		/* The older ones move up one place, the head with them. */
		for (j = i; j > 0; j--)
			*inf_at(s, j) = *inf_at(s, j - 1);
		s->inf_head = (s->inf_head + 1) & (s->inf_cap - 1);
	} else {
		for (j = i; j + 1 < s->ninf; j++)
			*inf_at(s, j) = *inf_at(s, j + 1);
	}
	s->ninf--;
	pid_count_del(s, pid);
	store_changed(b);
	if (i < s->resend_pos)
		s->resend_pos--;
}

int session_ack(struct broker *b, struct session *s, uint8_t type, uint16_t pid)
{
	struct inflight *f = NULL;
	uint32_t i;

	for (i = 0; i < s->ninf; i++) {
		f = inf_at(s, i);
		if (f->pid == pid)
			break;
	}
	if (i == s->ninf)
		return -ENOENT; /* unknown ids are ignored: a late duplicate ack */
	switch (type) {
	case MQTT_PUBACK:
		if (f->qos != 1)
			return -EPROTO;
		inflight_remove(b, s, i);
		break;
	case MQTT_PUBREC:
		if (f->qos != 2)
			return -EPROTO;
		/* [MQTT-4.3.3-1]: the message is delivered; only the id lives on. */
		if (f->state == INF_WAIT_ACK) {
			s->inf_bytes -= f->m->payload_len;
			msg_put(&b->mem, f->m);
			f->m = NULL;
			f->state = INF_WAIT_COMP;
			store_changed(b);
		}
		send_ack(s->client, MQTT_PUBREL, pid);
		session_pump(b, s);
		return 0;
	case MQTT_PUBCOMP:
		if (f->state != INF_WAIT_COMP)
			return -EPROTO;
		inflight_remove(b, s, i);
		break;
	default:
		return -EINVAL;
	}
	session_pump(b, s);
	return 0;
}

void session_acl_recheck(struct broker *b, struct session *s)
{
	uint32_t i, j;

	for (i = 0; i < s->ninf;) {
		const struct msg *m = inf_at(s, i)->m;

		/* After PUBREC only the id is left: the message was read already. */
		if (m && !session_may(s, m->topic, m->topic_len, ACL_READ))
			inflight_remove(b, s, i);
		else
			i++;
	}
	for (i = j = 0; i < s->q_count; i++) {
		struct queued q = *q_at(s, i);

		if (session_may(s, q.m->topic, q.m->topic_len, ACL_READ)) {
			*q_at(s, j++) = q;
			continue;
		}
		s->q_bytes -= q.m->payload_len;
		msg_put(&b->mem, q.m);
	}
	s->q_count = j;
}

int session_restore_inflight(struct broker *b, struct session *s, uint16_t pid, uint8_t qos,
			     uint8_t state, bool retain, struct msg *m)
{
	if (inflight_grow(b, s))
		return -ENOMEM;
	if (m && !(m = msg_hold(&b->mem, m)))
		return -ENOMEM;
	inflight_append(s, m, pid, qos, state, retain);
	/* Offline: all of it is re-sent, with DUP, at the next connection. */
	s->resend_pos = s->ninf;
	return 0;
}

int session_restore_queued(struct broker *b, struct session *s, uint16_t pid, uint8_t qos,
			   bool retain, struct msg *m)
{
	/* What was saved is kept even if the limits were lowered since. */
	return queue_add(b, s, m, qos, retain, pid) ? 0 : -ENOMEM;
}

void session_expire(struct broker *b)
{
	uint64_t exp_ms = b->conf.persistent_client_expiration_s * 1000;
	uint64_t now = ev_now_ms(b->loop);
	uint32_t i;

	if (!exp_ms)
		return;
	for (i = 0; i < b->sess_nbuckets; i++) {
		struct session *s = b->sess_buckets[i], *next;

		for (; s; s = next) {
			char id[96];

			next = s->hnext;
			/* Our own bridges' sessions hold the link's queue: never expired. */
			if (s->client || s->link == LINK_OUT || now - s->offline_since_ms < exp_ms)
				continue;
			pr_info("expiring persistent session of client %s\n",
				log_esc(s->id, s->id_len, id, sizeof(id)));
			session_free(b, s);
		}
	}
}

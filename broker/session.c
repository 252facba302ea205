// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions (MQTT 3.1.1 section 4.1): subscriptions, the outbound in-flight
 * window of QoS 1/2 messages, the queue behind it, and inbound QoS 2 ids
 * awaiting PUBREL. Offline persistent sessions keep all of it.
 *
 * Ordering [MQTT-4.6.0-2..4]: messages enter the window in arrival order
 * and, once anything is queued, everything of QoS > 0 goes through the
 * queue, so a subscriber sees each publisher's messages in order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"

static uint32_t id_hash(const char *id, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)id[i];
		h *= 16777619u;
	}
	return h;
}

struct session *session_find(struct broker *b, const char *id, size_t len)
{
	uint32_t h = id_hash(id, len);
	struct session *s;

	for (s = b->sess_buckets[h & (b->sess_nbuckets - 1)]; s; s = s->hnext)
		if (s->hash == h && s->id_len == len && !memcmp(s->id, id, len))
			return s;
	return NULL;
}

static void sess_grow(struct broker *b)
{
	uint32_t nb = b->sess_nbuckets * 2, i;
	struct session **v = calloc(nb, sizeof(*v));

	if (!v)
		return;
	for (i = 0; i < b->sess_nbuckets; i++) {
		struct session *s = b->sess_buckets[i], *next;

		for (; s; s = next) {
			next = s->hnext;
			s->hnext = v[s->hash & (nb - 1)];
			v[s->hash & (nb - 1)] = s;
		}
	}
	free(b->sess_buckets);
	b->sess_buckets = v;
	b->sess_nbuckets = nb;
}

struct session *session_new(struct broker *b, const char *id, size_t len, bool clean)
{
	struct session *s = calloc(1, sizeof(*s) + len + 1);
	uint32_t slot;

	if (!s)
		return NULL;
	memcpy(s->id, id, len);
	s->id[len] = '\0';
	s->id_len = (uint16_t)len;
	s->clean = clean;
	s->next_pid = 1;
	s->hash = id_hash(id, len);
	slot = s->hash & (b->sess_nbuckets - 1);
	s->hnext = b->sess_buckets[slot];
	b->sess_buckets[slot] = s;
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
	b->nsubscriptions -= s->nsubs;
	sub_remove_all(&b->tree, s);
	for (i = 0; i < s->ninf; i++)
		msg_put(s->inf[i].m);
	for (i = 0; i < s->q_count; i++)
		msg_put(s->q[(s->q_head + i) % s->q_cap].m);
	if (s->client)
		s->client->sess = NULL;
	free(s->inf);
	free(s->q);
	free(s->qos2_in);
	free(s->peer_nbrs);
	free(s);
}

static uint32_t inflight_max(const struct broker *b)
{
	uint32_t m = b->conf.max_inflight_messages;

	return m && m < 65535 ? m : 65535; /* the packet id space bounds it anyway */
}

static void queue_push(struct broker *b, struct session *s, struct msg *m, uint8_t qos,
		       bool retain)
{
	uint32_t max = b->conf.max_queued_messages;

	if (max && s->q_count >= max) {
		b->st.pub_dropped++;
		s->dropped++;
		return;
	}
	if (s->q_count == s->q_cap) {
		uint32_t cap = s->q_cap ? s->q_cap * 2 : 8, i;
		struct queued *v = malloc(cap * sizeof(*v));

		if (!v) {
			b->st.pub_dropped++;
			s->dropped++;
			return;
		}
		for (i = 0; i < s->q_count; i++)
			v[i] = s->q[(s->q_head + i) % s->q_cap];
		free(s->q);
		s->q = v;
		s->q_cap = cap;
		s->q_head = 0;
	}
	m = msg_hold(m);
	if (!m) {
		b->st.pub_dropped++;
		s->dropped++;
		return;
	}
	s->q[(s->q_head + s->q_count) % s->q_cap] = (struct queued){ m, qos, retain };
	s->q_count++;
}

static bool pid_in_use(const struct session *s, uint16_t pid)
{
	uint32_t i;

	for (i = 0; i < s->ninf; i++)
		if (s->inf[i].pid == pid)
			return true;
	return false;
}

static uint16_t pid_alloc(struct session *s)
{
	for (;;) {
		uint16_t pid = s->next_pid++;

		if (!s->next_pid)
			s->next_pid = 1; /* [MQTT-2.3.1-1]: 0 is not an id */
		if (!pid_in_use(s, pid))
			return pid;
	}
}

/* Takes over the reference m holds. */
static int inflight_send(struct broker *b, struct session *s, struct msg *m, uint8_t qos,
			 bool retain)
{
	struct inflight *f;

	if (s->ninf == s->inf_cap) {
		uint32_t cap = s->inf_cap ? s->inf_cap * 2 : 4;
		struct inflight *v = realloc(s->inf, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->inf = v;
		s->inf_cap = cap;
	}
	f = &s->inf[s->ninf++];
	f->m = m;
	f->pid = pid_alloc(s);
	f->qos = qos;
	f->state = INF_WAIT_ACK;
	f->retain = retain;
	/* A failed send (ENOMEM) leaves it in the window, for the resend on reconnection. */
	send_publish(s->client, m, qos, f->pid, retain, false);
	return 0;
}

static bool can_send(const struct broker *b, const struct session *s)
{
	const struct client *c = s->client;

	return c && c->state == CS_CONNECTED && s->ninf < inflight_max(b) &&
	       client_out_pending(c) < BROKER_OUT_LIMIT;
}

void session_deliver(struct broker *b, struct session *s, struct msg *m, uint8_t qos, bool retain)
{
	struct client *c = s->client;
	struct msg *held;

	if (!qos) {
		/*
		 * QoS 0 is not queued for offline sessions (3.1.2.4 makes it
		 * optional, Mosquitto's default agrees), and is dropped, counted,
		 * for a connection whose output is past its bound.
		 */
		if (!c || c->state != CS_CONNECTED) {
			/* A bridge link that is down loses QoS 0: say so in its counters. */
			if (s->link == LINK_OUT)
				s->dropped++;
			return;
		}
		if (client_out_pending(c) >= BROKER_OUT_LIMIT) {
			b->st.pub_dropped++;
			s->dropped++;
			return;
		}
		send_publish(c, m, 0, 0, retain, false);
		return;
	}
	if (s->q_count || !can_send(b, s)) {
		queue_push(b, s, m, qos, retain);
		return;
	}
	held = msg_hold(m);
	if (!held) {
		b->st.pub_dropped++;
		s->dropped++;
	} else if (inflight_send(b, s, held, qos, retain)) {
		msg_put(held);
		b->st.pub_dropped++;
		s->dropped++;
	}
}

void session_pump(struct broker *b, struct session *s)
{
	while (s->q_count && can_send(b, s)) {
		struct queued q = s->q[s->q_head];

		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_count--;
		if (inflight_send(b, s, q.m, q.qos, q.retain)) {
			msg_put(q.m);
			b->st.pub_dropped++;
			s->dropped++;
		}
	}
}

void session_resend(struct broker *b, struct session *s)
{
	uint32_t i;

	for (i = 0; i < s->ninf; i++) {
		struct inflight *f = &s->inf[i];

		if (f->state == INF_WAIT_COMP)
			send_ack(s->client, MQTT_PUBREL, f->pid);
		else
			send_publish(s->client, f->m, f->qos, f->pid, f->retain, true);
	}
}

static void inflight_remove(struct session *s, uint32_t i)
{
	msg_put(s->inf[i].m);
	memmove(&s->inf[i], &s->inf[i + 1], (s->ninf - i - 1) * sizeof(s->inf[0]));
	s->ninf--;
}

int session_ack(struct broker *b, struct session *s, uint8_t type, uint16_t pid)
{
	uint32_t i;

	for (i = 0; i < s->ninf; i++)
		if (s->inf[i].pid == pid)
			break;
	if (i == s->ninf)
		return -ENOENT; /* unknown ids are ignored: a late duplicate ack */
	switch (type) {
	case MQTT_PUBACK:
		if (s->inf[i].qos != 1)
			return -EPROTO;
		inflight_remove(s, i);
		break;
	case MQTT_PUBREC:
		if (s->inf[i].qos != 2)
			return -EPROTO;
		/* [MQTT-4.3.3-1]: the message is delivered; only the id lives on. */
		if (s->inf[i].state == INF_WAIT_ACK) {
			msg_put(s->inf[i].m);
			s->inf[i].m = NULL;
			s->inf[i].state = INF_WAIT_COMP;
		}
		send_ack(s->client, MQTT_PUBREL, pid);
		return 0;
	case MQTT_PUBCOMP:
		if (s->inf[i].state != INF_WAIT_COMP)
			return -EPROTO;
		inflight_remove(s, i);
		break;
	default:
		return -EINVAL;
	}
	session_pump(b, s);
	return 0;
}

bool session_qos2_in_has(struct session *s, uint16_t pid)
{
	uint32_t i;

	for (i = 0; i < s->nqos2_in; i++)
		if (s->qos2_in[i] == pid)
			return true;
	return false;
}

int session_qos2_in_add(struct session *s, uint16_t pid)
{
	if (s->nqos2_in == s->qos2_in_cap) {
		uint32_t cap = s->qos2_in_cap ? s->qos2_in_cap * 2 : 4;
		uint16_t *v;

		if (cap > 65536)
			return -ENOSPC;
		v = realloc(s->qos2_in, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->qos2_in = v;
		s->qos2_in_cap = cap;
	}
	s->qos2_in[s->nqos2_in++] = pid;
	return 0;
}

void session_qos2_in_del(struct session *s, uint16_t pid)
{
	uint32_t i;

	for (i = 0; i < s->nqos2_in; i++) {
		if (s->qos2_in[i] == pid) {
			s->qos2_in[i] = s->qos2_in[--s->nqos2_in];
			return;
		}
	}
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
			next = s->hnext;
			/* Our own bridges' sessions hold the link's queue: never expired. */
			if (s->client || s->link == LINK_OUT || now - s->offline_since_ms < exp_ms)
				continue;
			pr_info("expiring persistent session of client %s\n", s->id);
			session_free(b, s);
		}
	}
}

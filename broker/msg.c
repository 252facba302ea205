// SPDX-License-Identifier: GPL-2.0
/*
 * Shared messages. A PUBLISH is copied once into a refcounted msg; every
 * in-flight window, offline queue and the retained store hold references
 * to that one copy. QoS 0 messages that nobody keeps are never copied at
 * all: the read path hands out a borrowed view (refcnt 0) into its buffer,
 * and only msg_hold() makes an owned copy when something must outlive it.
 */
#include <string.h>

#include "broker.h"

struct msg *msg_new(struct mem_budget *mem, const char *topic, uint16_t tlen, const void *payload,
		    uint32_t plen, uint8_t qos)
{
	struct msg *m = mem_alloc(mem, sizeof(*m) + tlen + 1 + plen);

	if (!m)
		return NULL;
	m->refcnt = 1;
	m->payload_len = plen;
	m->topic_len = tlen;
	m->qos = qos;
	m->origin = 0;
	m->origin_peer = 0;
	memcpy(m->data, topic, tlen);
	m->data[tlen] = '\0';
	if (plen)
		memcpy(m->data + tlen + 1, payload, plen);
	m->topic = m->data;
	m->payload = (const uint8_t *)m->data + tlen + 1;
	return m;
}

struct msg *msg_hold(struct mem_budget *mem, struct msg *m)
{
	if (!m->refcnt) {
		struct msg *c = msg_new(mem, m->topic, m->topic_len, m->payload, m->payload_len,
					m->qos);

		if (c) {
			c->origin = m->origin;
			c->origin_peer = m->origin_peer;
		}
		return c;
	}
	m->refcnt++;
	return m;
}

void msg_put(struct mem_budget *mem, struct msg *m)
{
	if (m && m->refcnt && --m->refcnt == 0)
		mem_free(mem, m);
}

bool msg_same(const struct msg *a, const struct msg *b)
{
	return a->topic_len == b->topic_len && a->payload_len == b->payload_len &&
	       !memcmp(a->topic, b->topic, a->topic_len) &&
	       !memcmp(a->payload, b->payload, a->payload_len);
}

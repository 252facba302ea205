// SPDX-License-Identifier: GPL-2.0
/*
 * Inbound QoS 2 (MQTT 3.1.1 section 4.3.3), the way Mosquitto does it
 * (method A of figure 4.3): the message is stored when PUBLISH arrives,
 * PUBREC answers at once, and the message goes to subscribers when PUBREL
 * comes. A PUBLISH re-sent with the same id is answered again and not
 * stored twice; the same id with other content replaces the message
 * (Mosquitto's "reused message ID").
 *
 * At most max_inflight_messages such messages per session (0: 65535),
 * found by packet id in O(1): an open-addressing table on the id, grown
 * by doubling, deletions shifting later entries back (no tombstones).
 * The ids are the client's to choose, so their slots come from SipHash
 * with the broker's random key: no set of ids piles up in one run.
 */
#include <errno.h>
#include <string.h>

#include "broker.h"

static uint32_t home(const struct broker *b, uint16_t pid, uint32_t cap)
{
	uint8_t k[2] = { (uint8_t)(pid >> 8), (uint8_t)pid };

	return (uint32_t)siphash13(&b->id_key, k, sizeof(k)) & (cap - 1);
}

struct qos2_slot *qos2_in_find(const struct broker *b, const struct session *s, uint16_t pid)
{
	uint32_t i, mask = s->q2_cap - 1;

	if (!s->q2)
		return NULL;
	for (i = home(b, pid, s->q2_cap); s->q2[i].used; i = (i + 1) & mask)
		if (s->q2[i].pid == pid)
			return &s->q2[i];
	return NULL;
}

static void put(const struct broker *b, struct qos2_slot *v, uint32_t cap,
		const struct qos2_slot *e)
{
	uint32_t i;

	for (i = home(b, e->pid, cap); v[i].used; i = (i + 1) & (cap - 1))
		;
	v[i] = *e;
}

static int grow(struct broker *b, struct session *s)
{
	uint32_t cap = s->q2_cap ? s->q2_cap * 2 : 8, i;
	struct qos2_slot *v = mem_zalloc(&b->mem, cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->q2_cap; i++)
		if (s->q2[i].used)
			put(b, v, cap, &s->q2[i]);
	mem_free(&b->mem, s->q2);
	s->q2 = v;
	s->q2_cap = cap;
	return 0;
}

int qos2_in_store(struct broker *b, struct session *s, uint16_t pid, struct msg *m, bool retain)
{
	struct qos2_slot e = { .pid = pid, .used = true, .retain = retain };

	if (s->nq2 >= session_inflight_max(b))
		return -ENOSPC;
	if ((s->nq2 + 1) * 2 > s->q2_cap && grow(b, s))
		return -ENOMEM;
	e.m = msg_hold(&b->mem, m);
	if (!e.m)
		return -ENOMEM;
	put(b, s->q2, s->q2_cap, &e);
	s->nq2++;
	store_changed(b);
	return 0;
}

void qos2_in_replace(struct broker *b, struct qos2_slot *slot, struct msg *m, bool retain)
{
	struct msg *held = msg_hold(&b->mem, m);

	/* Out of memory: keep the old one rather than lose the id. */
	if (!held)
		return;
	msg_put(&b->mem, slot->m);
	slot->m = held;
	slot->retain = retain;
}

struct msg *qos2_in_release(struct broker *b, struct session *s, uint16_t pid, bool *retain)
{
	struct qos2_slot *slot = qos2_in_find(b, s, pid);
	uint32_t mask = s->q2_cap - 1, i, j;
	struct msg *m;

	if (!slot)
		return NULL;
	m = slot->m;
	*retain = slot->retain;
	i = (uint32_t)(slot - s->q2);
	memset(&s->q2[i], 0, sizeof(s->q2[i]));
	s->nq2--;
	store_changed(b);
	for (j = (i + 1) & mask; s->q2[j].used; j = (j + 1) & mask) {
		/* An entry may move into the hole when its probe run from home passed it. */
		if (((j - home(b, s->q2[j].pid, s->q2_cap)) & mask) >= ((j - i) & mask)) {
			s->q2[i] = s->q2[j];
			memset(&s->q2[j], 0, sizeof(s->q2[j]));
			i = j;
		}
	}
	return m;
}

void qos2_in_free(struct broker *b, struct session *s)
{
	uint32_t i;

	for (i = 0; i < s->q2_cap; i++)
		if (s->q2[i].used)
			msg_put(&b->mem, s->q2[i].m);
	mem_free(&b->mem, s->q2);
	s->q2 = NULL;
	s->q2_cap = s->nq2 = 0;
}

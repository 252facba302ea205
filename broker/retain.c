// SPDX-License-Identifier: GPL-2.0
/* Retained messages, kept in the topic tree node of their topic. */
#include "broker.h"

void retain_store(struct broker *b, struct msg *m)
{
	struct tnode *n;

	/*
	 * [MQTT-3.3.1-10], [MQTT-3.3.1-11]: an empty retained payload clears
	 * the topic's retained message and is not stored itself.
	 */
	if (!m->payload_len) {
		n = tree_get(&b->tree, m->topic, m->topic_len, false);
		if (n && n->retained) {
			msg_put(&b->mem, n->retained);
			n->retained = NULL;
			b->nretained--;
			tree_prune(&b->tree, n);
		}
		return;
	}
	n = tree_get(&b->tree, m->topic, m->topic_len, true);
	if (!n)
		return;
	m = msg_hold(&b->mem, m);
	if (!m) {
		tree_prune(&b->tree, n);
		return;
	}
	/* [MQTT-3.3.1-7]: a new retained message replaces the previous one. */
	if (n->retained)
		msg_put(&b->mem, n->retained);
	else
		b->nretained++;
	n->retained = m;
}

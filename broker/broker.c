// SPDX-License-Identifier: GPL-2.0
/* The broker context: set-up, tear-down and the publish path shared by every source. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "broker.h"
#include "clock.h"
#include "log.h"

int broker_init(struct broker *b)
{
	int err;

	b->mem.limit = b->conf.memory_limit;
	b->out_hold_ns = BROKER_OUT_HOLD_NS;
	b->out_limit = BROKER_OUT_LIMIT;
	b->out_hard = BROKER_OUT_HARD;
	b->out_stall_s = BROKER_OUT_STALL_S;
	b->slice_ns = BROKER_SLICE_NS;
	b->match.mem = &b->mem;
	b->sec.conf = &b->conf.sec;
	err = siphash_key_random(&b->id_key);
	if (err)
		return err;
	b->sess_nbuckets = 1024;
	b->sess_buckets = mem_zalloc(&b->mem, b->sess_nbuckets * sizeof(*b->sess_buckets));
	b->scratch = malloc(BROKER_READ_SCRATCH);
	if (!b->sess_buckets || !b->scratch)
		return -ENOMEM;
	err = tree_init(&b->tree, &b->mem);
	if (err)
		return err;
	b->loop = ev_loop_new(BROKER_FD_SETSIZE);
	if (!b->loop)
		return -errno;
	b->start_ms = mono_ms();
	/* Only needs to differ between the brokers of one bridged set. */
	b->id = ((uint64_t)getpid() << 40) ^ (b->start_ms << 8) ^ (uint64_t)(uintptr_t)b;
	if (!b->id)
		b->id = 1;
	return 0;
}

void broker_fini(struct broker *b)
{
	uint32_t i;

	while (b->clients)
		client_close(b->clients, false, "broker shutting down");
	client_free_closed(b);
	for (i = 0; i < b->sess_nbuckets && b->sess_buckets; i++)
		while (b->sess_buckets[i])
			session_free(b, b->sess_buckets[i]);
	for (i = 0; i < (uint32_t)b->nlisteners; i++) {
		close(b->listeners[i].fd);
		tls_ctx_free(b->listeners[i].tls);
	}
	bridge_fini(b);
	security_free(b);
	tree_free(&b->tree);
	mem_free(&b->mem, b->match.v);
	mem_free(&b->mem, b->sess_buckets);
	free(b->scratch);
	ev_loop_free(b->loop);
	b->loop = NULL;
}

int broker_publish(struct broker *b, struct msg *m, bool retain)
{
	return broker_publish_from(b, m, retain, NULL);
}

int broker_publish_from(struct broker *b, struct msg *m, bool retain, const struct session *src)
{
	struct match_ctx *mc = &b->match;
	struct msg *own = NULL;
	uint32_t i, n;

	/* retain_available false: nothing is retained, the broker's own $SYS included. */
	retain = retain && b->conf.retain_available;
	/*
	 * A borrowed view that something may keep (QoS 1/2 windows and
	 * queues, the retained store) is copied once here, not once per
	 * subscriber.
	 */
	if (!m->refcnt && (m->qos || retain || b->conf.upgrade_outgoing_qos)) {
		own = msg_hold(&b->mem, m);
		if (!own) {
			b->st.pub_dropped++;
			return -ENOMEM;
		}
		m = own;
	}
	if (retain)
		retain_store(b, m, src);
	n = (uint32_t)sub_match(&b->tree, mc, m->topic, m->topic_len);
	/*
	 * Deliveries never touch the tree or the match array, so iterating
	 * mc->v while delivering is safe. Forwarded copies carry retain 0
	 * [MQTT-3.3.1-9].
	 */
	for (i = 0; i < n; i++) {
		struct session *s = mc->v[i].s;
		uint8_t qos = deliver_qos(b->conf.upgrade_outgoing_qos, m->qos, mc->v[i].qos);

		if (!bridge_may_deliver(m, s))
			continue;
		/* acl_file: delivery is a read, checked per subscriber as Mosquitto does. */
		if (b->acl_on && !session_may(s, m->topic, m->topic_len, ACL_READ))
			continue;
		/*
		 * A bridge link, either direction, keeps the retain flag so the broker
		 * at the far end stores it too (Mosquitto's retain-as-published for
		 * bridges); a hub that dropped it left stale retained messages behind.
		 */
		session_deliver(b, s, m, qos, s->link != LINK_NONE && retain);
	}
	msg_put(&b->mem, own);
	return 0;
}

void broker_publish_str(struct broker *b, const char *topic, const void *payload, uint32_t plen,
			uint8_t qos, bool retain)
{
	struct msg view = {
		.topic = topic,
		.topic_len = (uint16_t)strlen(topic),
		.payload = payload,
		.payload_len = plen,
		.qos = qos,
	};

	broker_publish(b, &view, retain);
}

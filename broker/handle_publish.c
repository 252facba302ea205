// SPDX-License-Identifier: GPL-2.0
/*
 * PUBLISH from a client (MQTT 3.1.1 section 3.3), QoS 0, 1 and 2.
 *
 * What Mosquitto 2.0 does where clients can see it: a payload over
 * message_size_limit and a PUBLISH to $SYS are dropped, but the QoS flow
 * is completed (PUBACK, or PUBREC then PUBCOMP) and the connection kept;
 * QoS 2 is delivered on PUBREL (qos2_in.c).
 */
#include <errno.h>

#include "acl.h"
#include "broker.h"
#include "log.h"

/* The message goes nowhere, but the client sees its QoS flow complete. */
static int drop(struct client *c, const struct mqtt_publish *p, const char *why)
{
	char name[96], topic[72];

	pr_debug("dropped PUBLISH from %s to '%s' (q%u, %u bytes): %s\n",
		 client_name(c, name, sizeof(name)), log_esc(p->topic.p, p->topic.len, topic,
							      sizeof(topic)),
		 p->qos, p->payload_len, why);
	if (p->qos == 1)
		return send_ack(c, MQTT_PUBACK, p->pid);
	if (p->qos == 2)
		return send_ack(c, MQTT_PUBREC, p->pid);
	return 0;
}

/*
 * [MQTT-4.3.3-2], method A as Mosquitto: keep the message, answer PUBREC,
 * deliver on PUBREL. The same id again is a re-send: answered, not kept
 * twice, unless its content changed (then it replaces the first).
 */
static int publish_qos2(struct client *c, const struct mqtt_publish *p, struct msg *view)
{
	struct broker *b = c->b;
	struct session *s = c->sess;
	struct qos2_slot *slot = qos2_in_find(b, s, p->pid);
	char name[96];
	int err;

	if (slot) {
		if (!msg_same(slot->m, view)) {
			pr_info("client %s re-used packet id %u for another message: replaced\n",
				client_name(c, name, sizeof(name)), p->pid);
			qos2_in_replace(b, slot, view, p->retain);
		}
		return send_ack(c, MQTT_PUBREC, p->pid);
	}
	err = qos2_in_store(b, s, p->pid, view, p->retain);
	if (err == -ENOSPC) {
		b->st.pub_dropped++;
		return drop(c, p, "more unreleased QoS 2 messages than max_inflight_messages");
	}
	if (err)
		return err; /* memory_limit: the publisher is closed */
	b->st.pub_received++;
	return send_ack(c, MQTT_PUBREC, p->pid);
}

int handle_publish(struct client *c, const struct mqtt_publish *p)
{
	struct broker *b = c->b;
	struct session *s = c->sess;
	uint32_t lim = b->conf.message_size_limit;
	struct msg view = {
		.topic = (const char *)p->topic.p,
		.topic_len = p->topic.len,
		.payload = p->payload,
		.payload_len = p->payload_len,
		.qos = p->qos,
		.origin = s->link_id,
		.origin_peer = s->peer_id,
	};
	int err;

	if (!topic_name_valid(view.topic, view.topic_len))
		return -EPROTO; /* [MQTT-3.3.2-2], [MQTT-4.7.3-1], and the depth limit */
	/* Bridge hellos, from links whose word counts (bridge_peer.c). */
	if (s->trusted && bridge_hello_recv(b, s, p))
		return drop(c, p, "bridge hello");
	if (lim && p->payload_len > lim) {
		b->st.pub_oversize++;
		return drop(c, p, "payload over message_size_limit");
	}
	/* Clients may not write $SYS; our own bridges may (Mosquitto's rule). */
	if (!c->bridge && topic_sys_denied(view.topic, view.topic_len)) {
		b->st.pub_denied++;
		return drop(c, p, "$SYS is read-only for clients");
	}
	/* acl_file: a write; refused, it is dropped with its QoS flow completed, as in Mosquitto. */
	if (b->acl_on && !session_may(s, view.topic, view.topic_len, ACL_WRITE)) {
		b->st.pub_denied++;
		return drop(c, p, "denied by acl_file");
	}
	/* retain_available false: a retained PUBLISH is a protocol error (Mosquitto closes too). */
	if (p->retain && !b->conf.retain_available && !c->bridge)
		return -EOPNOTSUPP;
	if (p->qos == 2)
		return publish_qos2(c, p, &view);
	b->st.pub_received++;
	/* [MQTT-4.3.2-2]: own the message, then PUBACK. */
	err = broker_publish_from(b, &view, p->retain, s);
	if (err)
		return err;
	return p->qos ? send_ack(c, MQTT_PUBACK, p->pid) : 0;
}

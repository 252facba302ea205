// SPDX-License-Identifier: GPL-2.0
/* PUBLISH from a client (MQTT 3.1.1 section 3.3), QoS 0, 1 and 2. */
#include <errno.h>

#include "broker.h"
#include "log.h"

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

	if (!topic_name_valid(view.topic, view.topic_len))
		return -EPROTO; /* [MQTT-3.3.2-2], [MQTT-4.7.3-1] */
	if (lim && p->payload_len > lim)
		return -EMSGSIZE;
	if (s->link && bridge_hello_recv(b, s, p))
		return p->qos == 1 ? send_ack(c, MQTT_PUBACK, p->pid) : 0;
	b->st.pub_received++;
	switch (p->qos) {
	case 0:
		broker_publish(b, &view, p->retain);
		return 0;
	case 1:
		/* [MQTT-4.3.2-2]: own the message, then PUBACK. */
		broker_publish(b, &view, p->retain);
		return send_ack(c, MQTT_PUBACK, p->pid);
	default:
		/*
		 * [MQTT-4.3.3-2], method B: deliver on PUBLISH and remember the
		 * id until PUBREL, so a re-sent PUBLISH (DUP) is not delivered
		 * twice.
		 */
		if (!session_qos2_in_has(s, p->pid)) {
			int err = session_qos2_in_add(s, p->pid);

			if (err)
				return err == -ENOSPC ? -EPROTO : err;
			broker_publish(b, &view, p->retain);
		}
		return send_ack(c, MQTT_PUBREC, p->pid);
	}
}

// SPDX-License-Identifier: GPL-2.0
/* SUBSCRIBE and its SUBACK (MQTT 3.1.1 sections 3.8 and 3.9). */
#include <errno.h>
#include <stdlib.h>

#include "broker.h"
#include "log.h"

struct retained_ctx {
	struct broker *b;
	struct session *s;
	uint8_t qos;
};

static void send_retained(void *arg, struct msg *m)
{
	struct retained_ctx *r = arg;
	uint8_t qos = r->qos < m->qos ? r->qos : m->qos;

	/* [MQTT-3.3.1-8]: retained messages go out with the retain flag set. */
	/* Never a retained message back over the bridge link it came from. */
	if (bridge_may_deliver(m, r->s))
		session_deliver(r->b, r->s, m, qos, true);
}

int handle_subscribe(struct client *c, const struct mqtt_subscribe *p)
{
	struct broker *b = c->b;
	struct session *s = c->sess;
	struct mqtt_packet ack = { .type = MQTT_SUBACK };
	struct mqtt_topic_req req;
	struct pkt_reader it;
	uint8_t *rcs, stack_rcs[16];
	uint32_t i = 0;
	int err = 0, ret;

	rcs = p->count <= sizeof(stack_rcs) ? stack_rcs : malloc(p->count);
	if (!rcs)
		return -ENOMEM;
	/* Validate every filter before changing anything, so a bad packet changes nothing. */
	it = mqtt_topic_iter(p);
	while ((ret = mqtt_topic_next(&it, true, &req)) > 0) {
		if (!topic_filter_valid((const char *)req.filter.p, req.filter.len)) {
			err = -EPROTO; /* [MQTT-4.7.1-1]..[MQTT-4.7.1-3], [MQTT-4.7.3-1] */
			goto out_free;
		}
	}
	it = mqtt_topic_iter(p);
	while (mqtt_topic_next(&it, true, &req) > 0) {
		ret = sub_add(&b->tree, s, (const char *)req.filter.p, req.filter.len, req.qos);
		if (ret < 0) {
			rcs[i++] = MQTT_SUBACK_FAILURE;
			continue;
		}
		if (ret > 0)
			b->nsubscriptions++;
		/* [MQTT-3.9.3-1]: one return code per filter, in order; we grant what was asked. */
		rcs[i++] = req.qos;
		if (log_subscribe_enabled(b))
			pr_info("%s subscribed to %.*s (QoS %u)\n", s->id, req.filter.len,
				(const char *)req.filter.p, req.qos);
	}
	ack.suback.pid = p->pid;
	ack.suback.count = i;
	ack.suback.rcs = rcs;
	err = send_packet(c, &ack); /* [MQTT-3.8.4-1] */
	if (err)
		goto out_free;
	/* [MQTT-3.8.4-3]: retained messages follow, for new and replaced subscriptions. */
	it = mqtt_topic_iter(p);
	for (i = 0; mqtt_topic_next(&it, true, &req) > 0; i++) {
		struct retained_ctx r = { b, s, req.qos };

		if (rcs[i] != MQTT_SUBACK_FAILURE)
			retain_walk(&b->tree, (const char *)req.filter.p, req.filter.len,
				    send_retained, &r);
	}
out_free:
	if (rcs != stack_rcs)
		free(rcs);
	return err;
}

// SPDX-License-Identifier: GPL-2.0
/* UNSUBSCRIBE and its UNSUBACK (MQTT 3.1.1 sections 3.10 and 3.11). */
#include <errno.h>

#include "broker.h"
#include "log.h"

int handle_unsubscribe(struct client *c, const struct mqtt_subscribe *p)
{
	struct broker *b = c->b;
	struct session *s = c->sess;
	struct mqtt_topic_req req;
	struct pkt_reader it = mqtt_topic_iter(p);

	while (mqtt_topic_next(&it, false, &req) > 0)
		if (!topic_filter_valid((const char *)req.filter.p, req.filter.len))
			return -EPROTO;
	it = mqtt_topic_iter(p);
	while (mqtt_topic_next(&it, false, &req) > 0) {
		/* [MQTT-3.10.4-1]: only an identical filter is removed. */
		if (!sub_remove(&b->tree, s, (const char *)req.filter.p, req.filter.len))
			b->nsubscriptions--;
		if (log_subscribe_enabled(b))
			pr_info("%s unsubscribed from %.*s\n", s->id, req.filter.len,
				(const char *)req.filter.p);
	}
	/* [MQTT-3.10.4-4], [MQTT-3.10.4-5]: UNSUBACK even when nothing matched. */
	return send_ack(c, MQTT_UNSUBACK, p->pid);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * UNSUBSCRIBE (MQTT 3.1.1 sections 3.10 and 3.11), one filter at a time:
 * sub_job.c walks the packet, checks it, and sends the UNSUBACK.
 */
#include "broker.h"
#include "log.h"

void unsubscribe_one(struct client *c, const struct mqtt_topic_req *req)
{
	struct broker *b = c->b;
	struct session *s = c->sess;

	/* [MQTT-3.10.4-1]: only an identical filter is removed. */
	if (!sub_remove(&b->tree, s, (const char *)req->filter.p, req->filter.len)) {
		b->nsubscriptions--;
		store_changed(b);
	}
	if (log_subscribe_enabled(b)) {
		char id[72], f[200];

		pr_info("%s unsubscribed from %s\n", log_esc(s->id, s->id_len, id, sizeof(id)),
			log_esc(req->filter.p, req->filter.len, f, sizeof(f)));
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * SUBSCRIBE (MQTT 3.1.1 sections 3.8 and 3.9), one filter at a time:
 * sub_job.c walks the packet, checks it, and sends the SUBACK.
 */
#include "broker.h"
#include "log.h"

struct retained_ctx {
	struct broker *b;
	struct session *s;
	uint8_t qos;
};

static void send_retained(void *arg, const struct tnode *n)
{
	struct retained_ctx *r = arg;
	struct msg *m = n->retained;
	uint8_t qos = deliver_qos(r->b->conf.upgrade_outgoing_qos, m->qos, r->qos);

	/* [MQTT-3.3.1-8]: retained messages go out with the retain flag set. */
	/* Never a retained message back over the bridge link it came from. */
	if (!bridge_may_deliver(m, r->s))
		return;
	/* acl_file (a read), and check_retain_source (its publisher may still write it). */
	if ((r->b->acl_on || n->rsrc) && !retain_readable(r->b, n, r->s))
		return;
	session_deliver(r->b, r->s, m, qos, true);
}

int subscribe_one(struct client *c, const struct mqtt_topic_req *req, uint8_t *rc)
{
	struct broker *b = c->b;
	struct session *s = c->sess;
	int ret = sub_add(&b->tree, s, (const char *)req->filter.p, req->filter.len, req->qos);

	if (ret < 0) {
		*rc = MQTT_SUBACK_FAILURE;
		return ret;
	}
	if (ret > 0)
		b->nsubscriptions++;
	store_changed(b);
	/* We grant what was asked. */
	*rc = req->qos;
	if (log_subscribe_enabled(b)) {
		char id[72], f[200];

		pr_info("%s subscribed to %s (QoS %u)\n", log_esc(s->id, s->id_len, id, sizeof(id)),
			log_esc(req->filter.p, req->filter.len, f, sizeof(f)), req->qos);
	}
	return 0;
}

/* [MQTT-3.8.4-3]: retained messages follow, for new and replaced subscriptions. */
void subscribe_retained(struct client *c, const struct mqtt_topic_req *req)
{
	struct retained_ctx r = { c->b, c->sess, req->qos };

	retain_walk(&c->b->tree, (const char *)req->filter.p, req->filter.len, send_retained, &r);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Will messages (MQTT 3.1.1 section 3.1.2.5): stored at CONNECT, published
 * when the connection ends for any reason but DISCONNECT [MQTT-3.1.2-8],
 * discarded by DISCONNECT [MQTT-3.14.4-3].
 */
#include <errno.h>

#include "acl.h"
#include "broker.h"
#include "log.h"

int will_set(struct client *c, const struct mqtt_connect *p)
{
	struct mem_budget *mem = &c->b->mem;
	struct will *w;

	if (!p->will)
		return 0;
	w = mem_zalloc(mem, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->mem = mem;
	w->m = msg_new(mem, (const char *)p->will_topic.p, p->will_topic.len, p->will_msg.p,
		       p->will_msg.len, p->will_qos);
	if (!w->m) {
		mem_free(mem, w);
		return -ENOMEM;
	}
	/* [MQTT-3.1.2-14], [MQTT-3.1.2-17]: QoS and retain as the client asked. */
	w->qos = p->will_qos;
	w->retain = p->will_retain;
	c->will = w;
	return 0;
}

void will_free(struct will *w)
{
	if (!w)
		return;
	msg_put(w->mem, w->m);
	mem_free(w->mem, w);
}

void will_publish(struct broker *b, struct will *w, const struct session *s)
{
	/* A will is the client's PUBLISH: $SYS is as closed to it (Mosquitto checks it too). */
	if (topic_sys_denied(w->m->topic, w->m->topic_len)) {
		b->st.pub_denied++;
		pr_debug("will on a $SYS topic dropped\n");
		return;
	}
	/* And so is what acl_file does not let it write, checked when it goes out. */
	if (s && b->acl_on && !session_may(s, w->m->topic, w->m->topic_len, ACL_WRITE)) {
		b->st.pub_denied++;
		pr_debug("will denied by acl_file\n");
		return;
	}
	broker_publish_from(b, w->m, w->retain, s);
}

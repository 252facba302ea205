// SPDX-License-Identifier: GPL-2.0
/* Outgoing packets, encoded by the codec straight into the connection's output buffer. */
#include <errno.h>

#include "broker.h"

int send_packet(struct client *c, const struct mqtt_packet *pkt)
{
	long n = mqtt_encoded_len(pkt);
	uint8_t *p;

	if (n < 0)
		return (int)n;
	if (!c || c->state == CS_CLOSED)
		return -ENOTCONN;
	p = client_out_reserve(c, (uint32_t)n);
	if (!p)
		return -ENOMEM;
	n = mqtt_encode(pkt, p, (size_t)n);
	if (n < 0)
		return (int)n;
	client_out_commit(c, (uint32_t)n);
	c->b->st.msgs_sent++;
	return 0;
}

int send_connack(struct client *c, bool session_present, uint8_t rc)
{
	struct mqtt_packet pkt = { .type = MQTT_CONNACK };

	/* 3.1 has no session-present flag: the byte is reserved there. */
	pkt.connack.session_present = session_present && c->level >= MQTT_PROTO_V311;
	pkt.connack.rc = rc;
	return send_packet(c, &pkt);
}

int send_ack(struct client *c, uint8_t type, uint16_t pid)
{
	struct mqtt_packet pkt = { .type = type };

	pkt.ack.pid = pid;
	return send_packet(c, &pkt);
}

int send_publish(struct client *c, const struct msg *m, uint8_t qos, uint16_t pid, bool retain,
		 bool dup)
{
	struct mqtt_packet pkt = { .type = MQTT_PUBLISH };
	int err;

	pkt.publish.qos = qos;
	pkt.publish.pid = pid;
	pkt.publish.retain = retain && !c->no_retain_out;
	pkt.publish.dup = dup;
	pkt.publish.topic = c->bridge ? c->b->bridge_topic_out(c, m)
				      : mqtt_str_c(m->topic, m->topic_len);
	pkt.publish.payload = m->payload;
	pkt.publish.payload_len = m->payload_len;
	err = send_packet(c, &pkt);
	if (!err)
		c->b->st.pub_sent++;
	return err;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Which mqbroker is at the far end of each bridge link, and what that
 * broker is bridged to. This is what lets one loop rule serve both the
 * star and the full mesh: from the hub's side the two look the same (two
 * remote bridges connected to it), and it must relay between them in the
 * star but not in the mesh, where they are also bridged to each other.
 *
 * Each mqbroker has a random id. Whenever one of its links comes up or
 * goes down it sends, over every link, one QoS 0 PUBLISH on
 * BRIDGE_HELLO_TOPIC whose payload is its own id then the ids of the
 * brokers it is linked to, in hex. A '$' topic is never matched by '#'
 * [MQTT-4.7.2-1], so a Mosquitto peer that receives it shows it to no one.
 * A hub then does not relay a message from broker X to a remote bridge
 * whose broker is itself linked to X (bridge_may_deliver()).
 *
 * Only an mqbroker gets hellos: a remote that is not one expects the
 * packets Mosquitto's bridge sends and no others (Mosquitto's own test
 * suite fakes the remote so, and checks them in order). So the accepting
 * side speaks first, and only to a bridge_user (mqbroker's own directive:
 * the admin says that user is an mqbroker bridge); our own connection
 * speaks only once the remote has sent a hello on it, which no other
 * broker does. Over a link to a Mosquitto, in either direction, nothing
 * beyond Mosquitto's packets goes out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

#define HELLO_MAX_IDS 64

bool bridge_peer_linked(const struct session *s, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < s->npeer_nbrs; i++)
		if (s->peer_nbrs[i] == id)
			return true;
	return false;
}

static bool hello_wanted(const struct session *s)
{
	if (!s || !s->link || !s->client || s->client->state != CS_CONNECTED)
		return false;
	return s->link == LINK_OUT ? s->client->hello_heard : s->trusted;
}

/*
 * The brokers we are linked to: every bridge session that exists, up or
 * not. A persistent link that is down still queues its messages and
 * delivers them on reconnection, so advertising only live links made a
 * third broker relay the same messages meanwhile: duplicates after a flap.
 * A clean link's session is gone while it is down, and then the relay is
 * wanted.
 */
static int hello_payload(struct broker *b, char *buf, size_t len)
{
	struct session *s;
	uint32_t i;
	int n, k = 0;

	n = snprintf(buf, len, "%llx", (unsigned long long)b->id);
	for (i = 0; i < b->sess_nbuckets && k < HELLO_MAX_IDS; i++) {
		for (s = b->sess_buckets[i]; s && k < HELLO_MAX_IDS; s = s->hnext) {
			if (!s->link || !s->peer_id)
				continue;
			n += snprintf(buf + n, len - (size_t)n, " %llx",
				      (unsigned long long)s->peer_id);
			k++;
		}
	}
	return n;
}

void bridge_hello_send(struct broker *b, struct client *c)
{
	char buf[HELLO_MAX_IDS * 17 + 20];
	struct mqtt_packet pkt = { .type = MQTT_PUBLISH };
	int n = hello_payload(b, buf, sizeof(buf));

	pkt.publish.topic = mqtt_str_c(BRIDGE_HELLO_TOPIC, strlen(BRIDGE_HELLO_TOPIC));
	pkt.publish.payload = (const uint8_t *)buf;
	pkt.publish.payload_len = (uint32_t)n;
	send_packet(c, &pkt);
}

void bridge_hello_all(struct broker *b)
{
	struct client *c;

	for (c = b->clients; c; c = c->next)
		if (hello_wanted(c->sess))
			bridge_hello_send(b, c);
}

bool bridge_hello_recv(struct broker *b, struct session *s, const struct mqtt_publish *p)
{
	uint64_t ids[HELLO_MAX_IDS + 1], *v;
	char buf[HELLO_MAX_IDS * 17 + 20], *tok, *save = NULL, *end;
	uint32_t n = 0;
	bool changed, first;

	if (p->topic.len != strlen(BRIDGE_HELLO_TOPIC) ||
	    memcmp(p->topic.p, BRIDGE_HELLO_TOPIC, p->topic.len))
		return false;
	/* The remote is an mqbroker: our own connection may answer from now on. */
	first = s->link == LINK_OUT && s->client && !s->client->hello_heard;
	if (first)
		s->client->hello_heard = true;
	if (p->payload_len >= sizeof(buf))
		return true; /* not ours to understand; never routed either */
	memcpy(buf, p->payload, p->payload_len);
	buf[p->payload_len] = '\0';
	for (tok = strtok_r(buf, " ", &save); tok && n <= HELLO_MAX_IDS;
	     tok = strtok_r(NULL, " ", &save)) {
		ids[n] = strtoull(tok, &end, 16);
		if (*end || !ids[n])
			return true;
		n++;
	}
	if (!n)
		return true;
	v = n > 1 ? mem_alloc(&b->mem, (n - 1) * sizeof(*v)) : NULL;
	if (n > 1 && !v)
		return true;
	if (n > 1)
		memcpy(v, ids + 1, (n - 1) * sizeof(*v));
	changed = s->peer_id != ids[0];
	s->peer_id = ids[0];
	mem_free(&b->mem, s->peer_nbrs);
	s->peer_nbrs = v;
	s->npeer_nbrs = n - 1;
	/* Learning who is at the end of this link changes what we are linked to. */
	if (changed)
		bridge_hello_all(b);
	else if (first)
		bridge_hello_send(b, s->client);
	return true;
}

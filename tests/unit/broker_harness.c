// SPDX-License-Identifier: GPL-2.0
/* See broker_harness.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "auth.h"
#include "broker_harness.h"
#include "log.h"

struct broker *th_broker(const char *conf)
{
	struct broker *b = calloc(1, sizeof(*b));
	char err[CONF_ERR_LEN];

	assert_non_null(b);
	broker_conf_init(&b->conf);
	if (conf && broker_conf_parse_string(&b->conf, "test.conf", conf, err))
		fail_msg("%s", err);
	b->conf.connection_messages = false;
	log_set_level(LOG_LVL_WARN);
	assert_int_equal(broker_init(b), 0);
	return b;
}

void th_broker_free(struct broker *b)
{
	broker_fini(b);
	broker_conf_free(&b->conf);
	free(b);
	log_set_level(LOG_LVL_INFO);
}

void th_run(struct broker *b)
{
	assert_true(ev_run_once(b->loop, 0) >= 0);
	client_flush_all(b);
	client_free_closed(b);
}

struct peer *th_peer_on(struct broker *b, struct listener *lst, const struct sockaddr *sa)
{
	struct sockaddr_in none = { .sin_family = AF_INET };
	struct peer *p = calloc(1, sizeof(*p));
	int sv[2];

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_non_null(client_attach(b, sv[0], sa ? sa : (struct sockaddr *)&none, lst));
	p->fd = sv[1];
	return p;
}

struct peer *th_peer(struct broker *b)
{
	return th_peer_on(b, NULL, NULL);
}

void th_peer_free(struct peer *p)
{
	close(p->fd);
	free(p);
}

void th_send_raw(struct peer *p, const void *data, size_t len)
{
	const uint8_t *d = data;

	while (len) {
		ssize_t n = write(p->fd, d, len);

		assert_true(n > 0);
		d += n;
		len -= (size_t)n;
	}
}

void th_send(struct peer *p, const struct mqtt_packet *pkt)
{
	long n = mqtt_encoded_len(pkt);
	uint8_t *buf;

	assert_true(n > 0);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(mqtt_encode(pkt, buf, (size_t)n), n);
	th_send_raw(p, buf, (size_t)n);
	free(buf);
}

/* Read what is there; false when the broker closed its end. */
static bool fill(struct peer *p)
{
	ssize_t n;

	while (p->len < sizeof(p->buf)) {
		n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n > 0) {
			p->len += (size_t)n;
			continue;
		}
		return n < 0 && errno == EAGAIN;
	}
	return true;
}

int th_recv(struct broker *b, struct peer *p, struct mqtt_packet *pkt)
{
	static uint8_t body[1 << 16];
	bool open = true;
	int round;

	for (round = 0; round < 8; round++) {
		uint32_t rem;
		uint8_t hdr;
		int hl;

		open = fill(p);
		hl = mqtt_fixed_header(p->buf, p->len, &hdr, &rem);
		if (hl > 0 && p->len >= (size_t)hl + rem) {
			memcpy(body, p->buf + hl, rem);
			memmove(p->buf, p->buf + hl + rem, p->len - hl - rem);
			p->len -= (size_t)hl + rem;
			assert_int_equal(mqtt_decode(hdr, body, rem, pkt), 0);
			return hdr;
		}
		if (!open)
			return -1;
		th_run(b);
	}
	return 0;
}

bool th_closed(struct broker *b, struct peer *p)
{
	int round;

	for (round = 0; round < 8; round++) {
		th_run(b);
		if (!fill(p))
			return true;
	}
	return false;
}

int th_connect_user(struct broker *b, struct peer *p, const char *id, const char *user, bool clean,
		    uint16_t keepalive)
{
	struct mqtt_packet pkt = { .type = MQTT_CONNECT };
	int first;

	pkt.connect.proto_name = mqtt_str_c("MQTT", 4);
	pkt.connect.level = MQTT_PROTO_V311;
	pkt.connect.clean = clean;
	pkt.connect.keepalive = keepalive;
	pkt.connect.client_id = mqtt_str_c(id, strlen(id));
	if (user) {
		pkt.connect.has_username = true;
		pkt.connect.username = mqtt_str_c(user, strlen(user));
	}
	th_send(p, &pkt);
	first = th_recv(b, p, &pkt);
	if (first <= 0)
		return -1;
	assert_int_equal(first >> 4, MQTT_CONNACK);
	return pkt.connack.rc;
}

int th_connect(struct broker *b, struct peer *p, const char *id, bool clean, uint16_t keepalive)
{
	return th_connect_user(b, p, id, NULL, clean, keepalive);
}

struct peer *th_user_client(struct broker *b, const char *id, const char *user, bool clean)
{
	struct peer *p = th_peer(b);

	assert_int_equal(th_connect_user(b, p, id, user, clean, 60), 0);
	return p;
}

struct peer *th_client(struct broker *b, const char *id, bool clean)
{
	struct peer *p = th_peer(b);

	assert_int_equal(th_connect(b, p, id, clean, 60), 0);
	return p;
}

void th_subscribe(struct broker *b, struct peer *p, const char *filter, uint8_t qos)
{
	struct mqtt_packet pkt = { .type = MQTT_SUBSCRIBE };
	struct mqtt_topic_req req = { mqtt_str_c(filter, strlen(filter)), qos };

	pkt.sub.pid = 1;
	pkt.sub.count = 1;
	pkt.sub.reqs = &req;
	th_send(p, &pkt);
	assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_SUBACK);
	assert_int_equal(pkt.suback.rcs[0], qos);
}

void th_publish(struct peer *p, const char *topic, const char *payload, uint8_t qos,
		uint16_t pid, bool retain)
{
	struct mqtt_packet pkt = { .type = MQTT_PUBLISH };

	pkt.publish.topic = mqtt_str_c(topic, strlen(topic));
	pkt.publish.payload = (const uint8_t *)payload;
	pkt.publish.payload_len = (uint32_t)strlen(payload);
	pkt.publish.qos = qos;
	pkt.publish.pid = pid;
	pkt.publish.retain = retain;
	th_send(p, &pkt);
}

void th_ack(struct peer *p, uint8_t type, uint16_t pid)
{
	struct mqtt_packet pkt = { .type = type };

	pkt.ack.pid = pid;
	th_send(p, &pkt);
}

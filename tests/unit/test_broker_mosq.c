// SPDX-License-Identifier: GPL-2.0
/*
 * Where MQTT allows more than one behaviour, or Mosquitto 2.0 departs from
 * it, mqbroker does what Mosquitto 2.0 does (the behaviours its
 * test/broker scripts check, written again here): message_size_limit
 * drops and completes the QoS flow, a will over it and every failed
 * authentication get CONNACK 5, QoS 2 is delivered on PUBREL, a 3.1
 * client may set flags on PUBREL, a takeover publishes the will only when
 * the session ends, $SYS is read-only, 200 separators at most.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "broker_harness.h"

/* The next packet must be a PUBLISH of payload on topic; returns its packet id. */
static uint16_t expect_publish(struct broker *b, struct peer *p, const char *topic,
			       const char *payload)
{
	struct mqtt_packet pkt;

	assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBLISH);
	assert_int_equal(pkt.publish.topic.len, strlen(topic));
	assert_memory_equal(pkt.publish.topic.p, topic, strlen(topic));
	assert_int_equal(pkt.publish.payload_len, strlen(payload));
	assert_memory_equal(pkt.publish.payload, payload, strlen(payload));
	return pkt.publish.pid;
}

static void expect_ack(struct broker *b, struct peer *p, uint8_t type, uint16_t pid)
{
	struct mqtt_packet pkt;

	assert_int_equal(th_recv(b, p, &pkt) >> 4, type);
	assert_int_equal(pkt.ack.pid, pid);
}

static void expect_nothing(struct broker *b, struct peer *p)
{
	struct mqtt_packet pkt;

	assert_int_equal(th_recv(b, p, &pkt), 0);
}

/* PINGREQ answered: the connection is open and everything before it was handled. */
static void expect_alive(struct broker *b, struct peer *p)
{
	struct mqtt_packet pkt = { .type = MQTT_PINGREQ };

	th_send(p, &pkt);
	assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PINGRESP);
}

static void test_oversize_payload_dropped(void **state)
{
	struct broker *b = th_broker("message_size_limit 1");
	struct peer *sub = th_client(b, "sub", true), *pub = th_client(b, "pub", true);

	th_subscribe(b, sub, "t", 2);
	th_publish(pub, "t", "AB", 0, 0, false);
	expect_alive(b, pub);
	th_publish(pub, "t", "AB", 1, 2, false);
	expect_ack(b, pub, MQTT_PUBACK, 2);
	th_publish(pub, "t", "AB", 2, 3, false);
	expect_ack(b, pub, MQTT_PUBREC, 3);
	th_ack(pub, MQTT_PUBREL, 3);
	expect_ack(b, pub, MQTT_PUBCOMP, 3);
	expect_nothing(b, sub);
	assert_int_equal(b->st.pub_oversize, 3);
	/* Within the limit: delivered, so the subscriber saw nothing before only by the limit. */
	th_publish(pub, "t", "A", 0, 0, false);
	expect_publish(b, sub, "t", "A");
	expect_alive(b, pub);
	th_peer_free(sub);
	th_peer_free(pub);
	th_broker_free(b);
}

static int connect_will_on(struct broker *b, struct peer *p, const char *id, bool clean,
			   const char *topic, const char *payload)
{
	struct mqtt_packet pkt = { .type = MQTT_CONNECT };
	int first;

	pkt.connect.proto_name = mqtt_str_c("MQTT", 4);
	pkt.connect.level = MQTT_PROTO_V311;
	pkt.connect.clean = clean;
	pkt.connect.keepalive = 60;
	pkt.connect.client_id = mqtt_str_c(id, strlen(id));
	pkt.connect.will = true;
	pkt.connect.will_topic = mqtt_str_c(topic, strlen(topic));
	pkt.connect.will_msg = mqtt_str_c(payload, strlen(payload));
	th_send(p, &pkt);
	first = th_recv(b, p, &pkt);
	return first > 0 ? pkt.connack.rc : -1;
}

static int connect_will(struct broker *b, struct peer *p, const char *id, bool clean,
			const char *payload)
{
	return connect_will_on(b, p, id, clean, "will/t", payload);
}

static int connect_will_topic(struct broker *b, struct peer *p, const char *topic,
			      const char *payload)
{
	return connect_will_on(b, p, "w", true, topic, payload);
}

static void test_will_oversize_refused(void **state)
{
	struct broker *b = th_broker("message_size_limit 1");
	struct peer *sub = th_client(b, "sub", true), *p = th_peer(b), *q = th_peer(b);

	th_subscribe(b, sub, "will/t", 0);
	assert_int_equal(connect_will(b, p, "w", true, "AB"), MQTT_CONNACK_NOT_AUTHORIZED);
	assert_true(th_closed(b, p));
	assert_int_equal(connect_will(b, q, "w", true, "A"), MQTT_CONNACK_ACCEPTED);
	th_peer_free(q); /* closed without DISCONNECT: the will goes out */
	expect_publish(b, sub, "will/t", "A");
	expect_nothing(b, sub);
	th_peer_free(p);
	th_peer_free(sub);
	th_broker_free(b);
}

static void test_qos2_delivered_on_pubrel(void **state)
{
	struct broker *b = th_broker(NULL);
	struct peer *sub = th_client(b, "sub", true), *pub = th_client(b, "pub", true);
	uint16_t pid;

	th_subscribe(b, sub, "q2", 2);
	th_publish(pub, "q2", "one", 2, 7, false);
	expect_ack(b, pub, MQTT_PUBREC, 7);
	expect_nothing(b, sub); /* kept, not delivered: PUBREC went out first */
	/* A re-send (DUP) is answered again and not kept twice. */
	th_publish(pub, "q2", "one", 2, 7, false);
	expect_ack(b, pub, MQTT_PUBREC, 7);
	th_ack(pub, MQTT_PUBREL, 7);
	expect_ack(b, pub, MQTT_PUBCOMP, 7);
	pid = expect_publish(b, sub, "q2", "one");
	th_ack(sub, MQTT_PUBREC, pid);
	expect_ack(b, sub, MQTT_PUBREL, pid);
	th_ack(sub, MQTT_PUBCOMP, pid);
	expect_nothing(b, sub);
	/* The same id with another message: Mosquitto's "reused message ID", the new one wins. */
	th_publish(pub, "q2", "old", 2, 8, false);
	expect_ack(b, pub, MQTT_PUBREC, 8);
	th_publish(pub, "q2", "new", 2, 8, false);
	expect_ack(b, pub, MQTT_PUBREC, 8);
	th_ack(pub, MQTT_PUBREL, 8);
	expect_ack(b, pub, MQTT_PUBCOMP, 8);
	expect_publish(b, sub, "q2", "new");
	expect_nothing(b, sub);
	/* PUBREL for an id it does not know: PUBCOMP all the same. */
	th_ack(pub, MQTT_PUBREL, 99);
	expect_ack(b, pub, MQTT_PUBCOMP, 99);
	th_peer_free(sub);
	th_peer_free(pub);
	th_broker_free(b);
}

/* Past max_inflight_messages unreleased: PUBREC, but the message is dropped. */
static void test_qos2_inbound_bounded(void **state)
{
	struct broker *b = th_broker("max_inflight_messages 2");
	struct peer *sub = th_client(b, "sub", true), *pub = th_client(b, "pub", true);
	uint16_t i;

	th_subscribe(b, sub, "q2", 0);
	th_publish(pub, "q2", "1", 2, 1, false);
	th_publish(pub, "q2", "2", 2, 2, false);
	th_publish(pub, "q2", "3", 2, 3, false);
	for (i = 1; i <= 3; i++)
		expect_ack(b, pub, MQTT_PUBREC, i);
	for (i = 1; i <= 3; i++) {
		th_ack(pub, MQTT_PUBREL, i);
		expect_ack(b, pub, MQTT_PUBCOMP, i);
	}
	expect_publish(b, sub, "q2", "1");
	expect_publish(b, sub, "q2", "2");
	expect_nothing(b, sub);
	assert_int_equal(b->st.pub_dropped, 1);
	th_peer_free(sub);
	th_peer_free(pub);
	th_broker_free(b);
}

static int connect_v31(struct broker *b, struct peer *p, const char *id)
{
	struct mqtt_packet pkt = { .type = MQTT_CONNECT };

	pkt.connect.proto_name = mqtt_str_c("MQIsdp", 6);
	pkt.connect.level = MQTT_PROTO_V31;
	pkt.connect.clean = true;
	pkt.connect.keepalive = 60;
	pkt.connect.client_id = mqtt_str_c(id, strlen(id));
	th_send(p, &pkt);
	return th_recv(b, p, &pkt) > 0 ? pkt.connack.rc : -1;
}

/* 3.1 put DUP/QoS bits on PUBREL (and SUBSCRIBE): Mosquitto takes them from 3.1 clients. */
static void test_v31_flags(void **state)
{
	static const uint8_t pubrel_dup[] = { 0x6a, 0x02, 0x00, 0x05 };
	static const uint8_t sub_dup[] = { 0x8a, 0x06, 0x00, 0x02, 0x00, 0x01, 'x', 0x00 };
	struct broker *b = th_broker(NULL);
	struct peer *old = th_peer(b), *now = th_client(b, "v311", true);
	struct mqtt_packet pkt;

	assert_int_equal(connect_v31(b, old, "v31"), 0);
	th_publish(old, "t", "m", 2, 5, false);
	expect_ack(b, old, MQTT_PUBREC, 5);
	th_send_raw(old, pubrel_dup, sizeof(pubrel_dup));
	expect_ack(b, old, MQTT_PUBCOMP, 5);
	th_send_raw(old, sub_dup, sizeof(sub_dup));
	assert_int_equal(th_recv(b, old, &pkt) >> 4, MQTT_SUBACK);
	expect_alive(b, old);
	/* 3.1.1 requires 0010 there [MQTT-2.2.2-2]: malformed, closed. */
	th_send_raw(now, pubrel_dup, sizeof(pubrel_dup));
	assert_true(th_closed(b, now));
	th_peer_free(old);
	th_peer_free(now);
	th_broker_free(b);
}

/* Mosquitto 2.0: a takeover publishes the old will only when the session ends with it. */
static void test_takeover_will(void **state)
{
	int k;

	for (k = 0; k < 4; k++) {
		bool clean1 = k & 1, clean2 = k & 2;
		struct broker *b = th_broker(NULL);
		struct peer *sub = th_client(b, "sub", true), *p1 = th_peer(b), *p2 = th_peer(b);

		th_subscribe(b, sub, "will/t", 0);
		assert_int_equal(connect_will(b, p1, "w", clean1, "LWT"), 0);
		assert_int_equal(th_connect(b, p2, "w", clean2, 60), 0);
		assert_true(th_closed(b, p1));
		if (clean1 || clean2)
			expect_publish(b, sub, "will/t", "LWT");
		expect_nothing(b, sub);
		th_peer_free(sub);
		th_peer_free(p1);
		th_peer_free(p2);
		th_broker_free(b);
	}
}

/* User 'bridge', password 'secret-pw': SHA-512 of password then salt (the $6$ format). */
#define PW_FILE                                                                            \
	"bridge:$6$bXFicm9rZXItdGVzdA==$NHUEeHNvEAjXskfKT6PCssR5NesKgcIH7VCKfWUBWgvOb4JOCPNDU5U3m" \
	"6DizPnJ6CILOUwqmGM3V9cq8dfb9g==\n"

static struct broker *auth_broker(const char *conf)
{
	struct broker *b = th_broker(conf);
	char err[CONF_ERR_LEN];

	assert_int_equal(auth_load_string("pw", PW_FILE, strlen(PW_FILE), &b->sec.auth, err), 0);
	return b;
}

static int connect_user(struct broker *b, struct peer *p, uint8_t level, const char *user,
			const char *pw)
{
	struct mqtt_packet pkt = { .type = MQTT_CONNECT };

	pkt.connect.proto_name = mqtt_str_c("MQTT", 4);
	pkt.connect.level = level;
	pkt.connect.clean = false;
	pkt.connect.keepalive = 60;
	pkt.connect.client_id = mqtt_str_c("u", 1);
	if (user) {
		pkt.connect.has_username = true;
		pkt.connect.username = mqtt_str_c(user, strlen(user));
	}
	if (pw) {
		pkt.connect.has_password = true;
		pkt.connect.password = mqtt_str_c(pw, strlen(pw));
	}
	th_send(p, &pkt);
	return th_recv(b, p, &pkt) > 0 ? pkt.connack.rc : -1;
}

/* Mosquitto 2.0 answers every failed authentication of a 3.1.1 client with 5. */
static void test_auth_refusals_are_5(void **state)
{
	static const struct {
		const char *user, *pw;
		int rc;
	} cases[] = {
		{ "bridge", "wrong", MQTT_CONNACK_NOT_AUTHORIZED },
		{ "bridge", NULL, MQTT_CONNACK_NOT_AUTHORIZED },
		{ "nobody", "secret-pw", MQTT_CONNACK_NOT_AUTHORIZED },
		{ NULL, NULL, MQTT_CONNACK_NOT_AUTHORIZED },
		{ "bridge", "secret-pw", MQTT_CONNACK_ACCEPTED },
	};
	struct broker *b = auth_broker("allow_anonymous false\npassword_file pw");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct peer *p = th_peer(b);

		assert_int_equal(connect_user(b, p, MQTT_PROTO_V311, cases[i].user, cases[i].pw),
				 cases[i].rc);
		th_peer_free(p);
		th_run(b);
	}
	th_broker_free(b);
}

static void test_sys_read_only(void **state)
{
	struct broker *b = th_broker("sys_interval 0");
	struct peer *sub = th_client(b, "sub", true), *pub = th_client(b, "pub", true);
	struct peer *w = th_peer(b);

	th_subscribe(b, sub, "$SYS/#", 0);
	broker_publish_str(b, "$SYS/broker/version", "mqbroker", 8, 0, true);
	expect_publish(b, sub, "$SYS/broker/version", "mqbroker");
	th_publish(pub, "$SYS/broker/version", "forged", 1, 4, true);
	expect_ack(b, pub, MQTT_PUBACK, 4);
	th_publish(pub, "$SYSTEM", "forged", 0, 0, true); /* a prefix, as Mosquitto compares */
	expect_nothing(b, sub);
	assert_int_equal(b->st.pub_denied, 2);
	assert_int_equal(b->nretained, 1);
	/* Bridges' connection state is the one thing clients may publish there. */
	th_publish(pub, "$SYS/broker/connection/x/state", "1", 1, 5, true);
	expect_ack(b, pub, MQTT_PUBACK, 5);
	expect_publish(b, sub, "$SYS/broker/connection/x/state", "1");
	/* A will there is not published either. */
	assert_int_equal(connect_will_topic(b, w, "$SYS/broker/uptime", "x"), 0);
	th_peer_free(w);
	th_run(b);
	expect_nothing(b, sub);
	expect_alive(b, pub);
	th_peer_free(sub);
	th_peer_free(pub);
	th_broker_free(b);
}

static char *levels(size_t seps, const char *part)
{
	size_t n = strlen(part), i;
	char *t = malloc((seps + 1) * (n + 1));

	assert_non_null(t);
	t[0] = '\0';
	for (i = 0; i <= seps; i++) {
		strcat(t, part);
		if (i < seps)
			strcat(t, "/");
	}
	return t;
}

static void send_subscribe(struct peer *p, const char *filter)
{
	struct mqtt_packet pkt = { .type = MQTT_SUBSCRIBE };
	struct mqtt_topic_req req = { mqtt_str_c(filter, strlen(filter)), 0 };

	pkt.sub.pid = 1;
	pkt.sub.count = 1;
	pkt.sub.reqs = &req;
	th_send(p, &pkt);
}

/* Mosquitto's TOPIC_HIERARCHY_LIMIT: 200 separators pass, 201 close the connection. */
static void test_topic_depth(void **state)
{
	struct broker *b = th_broker(NULL);
	struct peer *p = th_client(b, "p", true), *q = th_client(b, "q", true);
	struct peer *r = th_client(b, "r", true);
	char *ok = levels(200, "abc"), *deep = levels(201, ""), *flat = levels(65535, "");

	th_subscribe(b, p, ok, 0);
	th_publish(p, ok, "m", 0, 0, false);
	expect_publish(b, p, ok, "m");
	th_publish(q, deep, "m", 0, 0, false);
	assert_true(th_closed(b, q));
	/* 65,535 levels: refused at once, never walked. */
	send_subscribe(r, flat);
	assert_true(th_closed(b, r));
	expect_alive(b, p);
	free(ok);
	free(deep);
	free(flat);
	th_peer_free(p);
	th_peer_free(q);
	th_peer_free(r);
	th_broker_free(b);
}

/* Mosquitto's arithmetic: remaining length + 1 may not exceed max_packet_size. */
static void test_max_packet_size(void **state)
{
	struct broker *b = th_broker("max_packet_size 20");
	struct peer *p = th_client(b, "p", true), *q = th_client(b, "q", true);
	struct mqtt_packet pkt = { .type = MQTT_SUBSCRIBE };
	struct mqtt_topic_req req = { mqtt_str_c("abcdefghijklmn", 14), 0 };

	/* 2 + 1 + 16 = 19 bytes of remaining length: + 1 = 20, allowed. */
	th_publish(p, "t", "0123456789abcdef", 0, 0, false);
	expect_alive(b, p);
	th_publish(p, "t", "0123456789abcdefg", 0, 0, false);
	assert_true(th_closed(b, p));
	/* Every type, not only PUBLISH: a SUBSCRIBE of 2 + 16 + 1 = 19 + 1 is over too. */
	req.filter = mqtt_str_c("abcdefghijklmnop", 16);
	pkt.sub.pid = 1;
	pkt.sub.count = 1;
	pkt.sub.reqs = &req;
	th_send(q, &pkt);
	assert_true(th_closed(b, q));
	th_peer_free(p);
	th_peer_free(q);
	th_broker_free(b);
}

static void test_max_keepalive(void **state)
{
	struct broker *b = th_broker(NULL);
	struct peer *p = th_peer(b);

	/* Unset: keep-alive 0 (never checked) is accepted, as by Mosquitto 2.0.11. */
	assert_int_equal(th_connect(b, p, "k0", true, 0), 0);
	th_peer_free(p);
	th_broker_free(b);
	b = th_broker("max_keepalive 60");
	p = th_peer(b);
	assert_int_equal(th_connect(b, p, "k61", true, 61), MQTT_CONNACK_ID_REJECTED);
	th_peer_free(p);
	p = th_peer(b);
	assert_int_equal(th_connect(b, p, "k0", true, 0), MQTT_CONNACK_ID_REJECTED);
	th_peer_free(p);
	p = th_peer(b);
	assert_int_equal(th_connect(b, p, "k60", true, 60), 0);
	th_peer_free(p);
	th_broker_free(b);
	b = th_broker("max_keepalive 0");
	p = th_peer(b);
	assert_int_equal(th_connect(b, p, "k0", true, 0), 0);
	th_peer_free(p);
	th_broker_free(b);
}

/* Mosquitto's non-standard option: deliver at the subscription's QoS, retained ones too. */
static void test_upgrade_outgoing_qos(void **state)
{
	int upgrade;

	for (upgrade = 0; upgrade < 2; upgrade++) {
		struct broker *b = th_broker(upgrade ? "upgrade_outgoing_qos true" : NULL);
		struct peer *p = th_client(b, "p", true);
		struct mqtt_packet pkt;

		th_publish(p, "up", "retained", 0, 0, true);
		th_subscribe(b, p, "up", 1);
		assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBLISH);
		assert_int_equal(pkt.publish.qos, upgrade ? 1 : 0);
		assert_true(pkt.publish.retain);
		if (pkt.publish.qos)
			th_ack(p, MQTT_PUBACK, pkt.publish.pid);
		th_publish(p, "up", "live", 0, 0, false);
		assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBLISH);
		assert_int_equal(pkt.publish.qos, upgrade ? 1 : 0);
		/* Never above what the subscription granted, retained (sent again) or live. */
		th_subscribe(b, p, "up", 0);
		assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBLISH);
		assert_int_equal(pkt.publish.qos, 0);
		th_publish(p, "up", "two", 2, 3, false);
		assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBREC);
		th_ack(p, MQTT_PUBREL, 3);
		assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBLISH);
		assert_int_equal(pkt.publish.qos, 0);
		th_peer_free(p);
		th_broker_free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oversize_payload_dropped),
		cmocka_unit_test(test_will_oversize_refused),
		cmocka_unit_test(test_qos2_delivered_on_pubrel),
		cmocka_unit_test(test_qos2_inbound_bounded),
		cmocka_unit_test(test_v31_flags),
		cmocka_unit_test(test_takeover_will),
		cmocka_unit_test(test_auth_refusals_are_5),
		cmocka_unit_test(test_sys_read_only),
		cmocka_unit_test(test_topic_depth),
		cmocka_unit_test(test_max_packet_size),
		cmocka_unit_test(test_max_keepalive),
		cmocka_unit_test(test_upgrade_outgoing_qos),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

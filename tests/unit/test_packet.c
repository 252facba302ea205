// SPDX-License-Identifier: GPL-2.0
/* Encode/decode of every MQTT 3.1.1 packet type, and the malformed cases the decoder refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mqtt_codec.h"

static uint8_t wire[4096];

/* Encode pkt, check the size prediction, and decode it back into out. */
static void roundtrip(const struct mqtt_packet *pkt, struct mqtt_packet *out)
{
	long n = mqtt_encoded_len(pkt);
	uint32_t rem;
	uint8_t hdr;
	int hl;

	assert_true(n > 0 && n <= (long)sizeof(wire));
	assert_int_equal(mqtt_encode(pkt, wire, sizeof(wire)), n);
	/* One byte short must fail cleanly. */
	assert_int_equal(mqtt_encode(pkt, wire, (size_t)n - 1), -ENOSPC);
	assert_int_equal(mqtt_encode(pkt, wire, sizeof(wire)), n);
	hl = mqtt_fixed_header(wire, (size_t)n, &hdr, &rem);
	assert_true(hl > 0);
	assert_int_equal((long)hl + rem, n);
	assert_int_equal(mqtt_decode(hdr, wire + hl, rem, out), 0);
	assert_int_equal(out->type, pkt->type);
}

static bool str_eq(struct mqtt_str a, const char *b)
{
	return a.len == strlen(b) && !memcmp(a.p, b, a.len);
}

static void test_connect(void **state)
{
	struct mqtt_packet p = { .type = MQTT_CONNECT }, o;
	struct mqtt_connect *c = &p.connect;

	c->proto_name = MQTT_STR("MQTT");
	c->level = 4;
	c->keepalive = 60;
	c->clean = true;
	c->client_id = MQTT_STR("client-1");
	c->will = true;
	c->will_qos = 2;
	c->will_retain = true;
	c->will_topic = MQTT_STR("wills/1");
	c->will_msg = MQTT_STR("gone");
	c->has_username = true;
	c->username = MQTT_STR("user");
	c->has_password = true;
	c->password = MQTT_STR("p\xffss");
	roundtrip(&p, &o);
	assert_true(str_eq(o.connect.proto_name, "MQTT"));
	assert_int_equal(o.connect.level, 4);
	assert_int_equal(o.connect.keepalive, 60);
	assert_true(o.connect.clean && o.connect.will && o.connect.will_retain);
	assert_int_equal(o.connect.will_qos, 2);
	assert_true(str_eq(o.connect.client_id, "client-1"));
	assert_true(str_eq(o.connect.will_topic, "wills/1"));
	assert_true(str_eq(o.connect.will_msg, "gone"));
	assert_true(str_eq(o.connect.username, "user"));
	assert_true(str_eq(o.connect.password, "p\xffss")); /* binary, not UTF-8 checked */

	/* Minimal 3.1 CONNECT, byte for byte. */
	memset(&p, 0, sizeof(p));
	p.type = MQTT_CONNECT;
	c->proto_name = MQTT_STR("MQIsdp");
	c->level = 3;
	c->client_id = MQTT_STR("a");
	{
		const uint8_t expect[] = { 0x10, 15, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0,
					   0, 0, 0, 1, 'a' };

		assert_int_equal(mqtt_encode(&p, wire, sizeof(wire)), sizeof(expect));
		assert_memory_equal(wire, expect, sizeof(expect));
	}
	roundtrip(&p, &o);
	assert_false(o.connect.clean || o.connect.will || o.connect.has_username);
}

static void test_connect_other_level(void **state)
{
	/* MQTT 5 CONNECT: decoding stops after the level so the broker can answer CONNACK 1. */
	const uint8_t body[] = { 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 60, 0, 0, 0 };
	struct mqtt_packet o;

	assert_int_equal(mqtt_decode(0x10, body, sizeof(body), &o), 0);
	assert_int_equal(o.connect.level, 5);
}

static void test_connack(void **state)
{
	struct mqtt_packet p = { .type = MQTT_CONNACK }, o;
	const uint8_t expect[] = { 0x20, 2, 1, 0 };

	p.connack.session_present = true;
	roundtrip(&p, &o);
	assert_memory_equal(wire, expect, sizeof(expect));
	assert_true(o.connack.session_present);
	p.connack.session_present = false;
	p.connack.rc = MQTT_CONNACK_NOT_AUTHORIZED;
	roundtrip(&p, &o);
	assert_int_equal(o.connack.rc, 5);
}

static void test_publish(void **state)
{
	struct mqtt_packet p = { .type = MQTT_PUBLISH }, o;
	static const uint8_t payload[300] = { 1, 2, 3 };
	uint8_t q;

	for (q = 0; q <= 2; q++) {
		p.publish.qos = q;
		p.publish.pid = q ? 0x1234 : 0;
		p.publish.dup = q == 2;
		p.publish.retain = q == 1;
		p.publish.topic = MQTT_STR("a/b/\xc3\xa9");
		p.publish.payload = payload;
		p.publish.payload_len = sizeof(payload);
		roundtrip(&p, &o);
		assert_int_equal(o.publish.qos, q);
		assert_int_equal(o.publish.pid, p.publish.pid);
		assert_int_equal(o.publish.dup, p.publish.dup);
		assert_int_equal(o.publish.retain, p.publish.retain);
		assert_true(str_eq(o.publish.topic, "a/b/\xc3\xa9"));
		assert_int_equal(o.publish.payload_len, sizeof(payload));
		assert_memory_equal(o.publish.payload, payload, sizeof(payload));
	}
	/* Empty payload. */
	p.publish.qos = 0;
	p.publish.dup = p.publish.retain = false;
	p.publish.payload_len = 0;
	roundtrip(&p, &o);
	assert_int_equal(o.publish.payload_len, 0);
	{
		const uint8_t expect[] = { 0x30, 8, 0, 6, 'a', '/', 'b', '/', 0xc3, 0xa9 };

		assert_memory_equal(wire, expect, sizeof(expect));
	}
}

static void test_acks(void **state)
{
	static const uint8_t types[] = { MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP,
					 MQTT_UNSUBACK };
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		struct mqtt_packet p = { .type = types[i] }, o;

		p.ack.pid = 0xbeef;
		roundtrip(&p, &o);
		assert_int_equal(o.ack.pid, 0xbeef);
		assert_int_equal(wire[0], types[i] << 4 | (types[i] == MQTT_PUBREL ? 2 : 0));
	}
}

static void test_subscribe(void **state)
{
	const struct mqtt_topic_req reqs[] = {
		{ MQTT_STR("a/+/c"), 0 }, { MQTT_STR("#"), 1 }, { MQTT_STR("$SYS/#"), 2 }
	};
	struct mqtt_packet p = { .type = MQTT_SUBSCRIBE }, o;
	struct mqtt_topic_req r;
	struct pkt_reader it;
	int i;

	p.sub.pid = 7;
	p.sub.count = 3;
	p.sub.reqs = reqs;
	roundtrip(&p, &o);
	assert_int_equal(wire[0], 0x82);
	assert_int_equal(o.sub.pid, 7);
	assert_int_equal(o.sub.count, 3);
	it = mqtt_topic_iter(&o.sub);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mqtt_topic_next(&it, true, &r), 1);
		assert_int_equal(r.filter.len, reqs[i].filter.len);
		assert_memory_equal(r.filter.p, reqs[i].filter.p, r.filter.len);
		assert_int_equal(r.qos, reqs[i].qos);
	}
	assert_int_equal(mqtt_topic_next(&it, true, &r), 0);

	p.type = MQTT_UNSUBSCRIBE;
	roundtrip(&p, &o);
	assert_int_equal(wire[0], 0xa2);
	assert_int_equal(o.sub.count, 3);
	it = mqtt_topic_iter(&o.sub);
	assert_int_equal(mqtt_topic_next(&it, false, &r), 1);
	assert_true(str_eq(r.filter, "a/+/c"));

	p.sub.count = 0;
	assert_int_equal(mqtt_encoded_len(&p), -EINVAL);
}

static void test_suback(void **state)
{
	const uint8_t rcs[] = { 0, 1, 2, 0x80 };
	struct mqtt_packet p = { .type = MQTT_SUBACK }, o;

	p.suback.pid = 9;
	p.suback.count = 4;
	p.suback.rcs = rcs;
	roundtrip(&p, &o);
	assert_int_equal(o.suback.count, 4);
	assert_memory_equal(o.suback.rcs, rcs, 4);
}

static void test_empty_packets(void **state)
{
	static const uint8_t types[] = { MQTT_PINGREQ, MQTT_PINGRESP, MQTT_DISCONNECT };
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		struct mqtt_packet p = { .type = types[i] }, o;

		roundtrip(&p, &o);
		assert_int_equal(wire[0], types[i] << 4);
		assert_int_equal(wire[1], 0);
	}
}

/* Malformed bodies: { first byte, body, body length }. */
static const struct {
	const char *what;
	uint8_t hdr;
	uint8_t body[24];
	uint32_t len;
} bad[] = {
	{ "connect reserved flag", 0x10, { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x03, 0, 0, 0, 1, 'a' }, 13 },
	{ "connect will qos 3", 0x10, { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x1e, 0, 0, 0, 1, 'a' }, 13 },
	{ "connect will retain no will", 0x10, { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x22, 0, 0, 0, 1, 'a' }, 13 },
	{ "connect will qos no will", 0x10, { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x0a, 0, 0, 0, 1, 'a' }, 13 },
	{ "connect password no user", 0x10, { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x42, 0, 0, 0, 1, 'a', 0, 0 }, 15 },
	{ "connect truncated id", 0x10, { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, 5, 'a' }, 13 },
	{ "connect trailing byte", 0x10, { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, 1, 'a', 'x' }, 14 },
	{ "connect missing user", 0x10, { 0, 4, 'M', 'Q', 'T', 'T', 4, 0x82, 0, 0, 0, 1, 'a' }, 13 },
	{ "publish topic NUL", 0x30, { 0, 3, 'a', 0, 'b' }, 5 },
	{ "publish topic bad utf8", 0x30, { 0, 2, 0xc3, 0x28 }, 4 },
	{ "publish topic surrogate", 0x30, { 0, 3, 0xed, 0xa0, 0x80 }, 5 },
	{ "publish topic overlong", 0x30, { 0, 2, 0xc0, 0xaf }, 4 },
	{ "publish topic too long", 0x30, { 0, 9, 'a' }, 3 },
	{ "publish qos1 pid 0", 0x32, { 0, 1, 'a', 0, 0 }, 5 },
	{ "publish qos1 no pid", 0x32, { 0, 1, 'a', 0 }, 4 },
	{ "publish qos 3", 0x36, { 0, 1, 'a', 0, 1 }, 5 },
	{ "puback short", 0x40, { 0 }, 1 },
	{ "puback long", 0x40, { 0, 1, 2 }, 3 },
	{ "pubrel flags", 0x60, { 0, 1 }, 2 },
	{ "subscribe no topics", 0x82, { 0, 1 }, 2 },
	{ "subscribe pid 0", 0x82, { 0, 0, 0, 1, 'a', 0 }, 6 },
	{ "subscribe qos 3", 0x82, { 0, 1, 0, 1, 'a', 3 }, 6 },
	{ "subscribe reserved bits", 0x82, { 0, 1, 0, 1, 'a', 0x41 }, 6 },
	{ "subscribe missing qos", 0x82, { 0, 1, 0, 1, 'a' }, 5 },
	{ "subscribe flags", 0x80, { 0, 1, 0, 1, 'a', 0 }, 6 },
	{ "unsubscribe no topics", 0xa2, { 0, 1 }, 2 },
	{ "unsubscribe flags", 0xa0, { 0, 1, 0, 1, 'a' }, 5 },
	{ "pingreq with body", 0xc0, { 0 }, 1 },
	{ "disconnect flags", 0xe1, { 0 }, 0 },
	{ "disconnect with body", 0xe0, { 0 }, 1 },
	{ "connack bad rc", 0x20, { 0, 6 }, 2 },
	{ "connack sp with error", 0x20, { 1, 5 }, 2 },
	{ "suback bad rc", 0x90, { 0, 1, 3 }, 3 },
	{ "reserved type 0", 0x00, { 0 }, 0 },
	{ "reserved type 15", 0xf0, { 0 }, 0 },
};

static void test_malformed(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mqtt_packet o;
		int ret = mqtt_decode(bad[i].hdr, bad[i].body, bad[i].len, &o);

		if (ret != -EBADMSG)
			fail_msg("%s: got %d", bad[i].what, ret);
	}
}

static void test_utf8(void **state)
{
	assert_true(mqtt_utf8_valid((const uint8_t *)"", 0));
	assert_true(mqtt_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	assert_false(mqtt_utf8_valid((const uint8_t *)"\x80", 1));
	assert_false(mqtt_utf8_valid((const uint8_t *)"\xe2\x82", 2));
	assert_false(mqtt_utf8_valid((const uint8_t *)"\xf5\x80\x80\x80", 4));
	assert_false(mqtt_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(mqtt_utf8_valid((const uint8_t *)"\xe0\x80\x80", 3));	/* overlong */
}

static void test_reader_bounds(void **state)
{
	const uint8_t b[] = { 0, 5, 'a', 'b' };
	struct pkt_reader r = { b, sizeof(b), 0 };
	struct mqtt_str s;
	uint16_t v;
	uint8_t u;

	assert_int_equal(pkt_read_str(&r, &s), -EBADMSG);
	r.pos = 3;
	assert_int_equal(pkt_read_u16(&r, &v), -EBADMSG);
	assert_int_equal(pkt_read_u8(&r, &u), 0);
	assert_int_equal(pkt_read_u8(&r, &u), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_connect_other_level),
		cmocka_unit_test(test_connack),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_acks),
		cmocka_unit_test(test_subscribe),
		cmocka_unit_test(test_suback),
		cmocka_unit_test(test_empty_packets),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_reader_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_TEST_RUN tests of the data plane's MQTT CONNECT parser
 * (bpf/mqtt.h) and of strict mode: the first client payload of an
 * established flow, at the client's ISN + 1, is judged exactly once as
 * PARSED (counted by level, fields recorded), SPLIT, MALFORMED or NOT_MQTT,
 * and is forwarded unchanged in every case but strict's reset.
 *
 * The harness is test_xdp.c's (fixtures.h); see there for the namespace.
 * The client's SYN is at CLIENT_ISN, so the first payload is at CLIENT_ISN + 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mqlb_abi.h"
#include "mqlb.skel.h"
#include "pktbuild.h"
/* fixtures.h is test_xdp.c's too: what only that file uses is unused here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#include "fixtures.h"
#pragma GCC diagnostic pop

#define FIRST_SEQ (CLIENT_ISN + 1)

/* ---- CONNECT packets, built field by field ---- */

struct msg {
	uint8_t b[600];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	if (!n)
		return;
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put8(struct msg *m, uint8_t v) { put(m, &v, 1); }

static void put16(struct msg *m, uint16_t v)
{
	put8(m, (uint8_t)(v >> 8));
	put8(m, (uint8_t)v);
}

static void put_varint(struct msg *m, uint32_t v)
{
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		put8(m, (uint8_t)(v ? c | 0x80 : c));
	} while (v);
}

struct connect {
	const char *name;        /* protocol name */
	uint8_t level;
	uint8_t flags;           /* connect flags */
	uint16_t keepalive;
	const void *props;       /* MQTT 5 properties (level 5 only) */
	size_t props_len;
	const char *id;
	size_t id_len;           /* 0 with id NULL: empty id */
	const void *tail;        /* will, user name, password: after the id */
	size_t tail_len;
};

/* A whole CONNECT: fixed header, variable header, payload. */
static void mk_connect(struct msg *out, const struct connect *c)
{
	struct msg body = {};

	put16(&body, (uint16_t)strlen(c->name));
	put(&body, c->name, strlen(c->name));
	put8(&body, c->level);
	put8(&body, c->flags);
	put16(&body, c->keepalive);
	if ((c->level & 0x7f) == 5) {
		put_varint(&body, (uint32_t)c->props_len);
		put(&body, c->props, c->props_len);
	}
	put16(&body, (uint16_t)c->id_len);
	put(&body, c->id, c->id_len);
	put(&body, c->tail, c->tail_len);
	memset(out, 0, sizeof(*out));
	put8(out, 0x10);
	put_varint(out, (uint32_t)body.n);
	put(out, body.b, body.n);
}

#define ID(s) .id = s, .id_len = sizeof(s) - 1

static const char id40[] = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
/* Session expiry 3600 (0x11), receive maximum 20 (0x21), user property "k"="v" (0x26). */
static const uint8_t props5[] = { 0x11, 0, 0, 0x0e, 0x10, 0x21, 0, 20,
				  0x26, 0, 1, 'k', 0, 1, 'v' };
/* user name "u", password "pw" */
static const uint8_t user_pw[] = { 0, 1, 'u', 0, 2, 'p', 'w' };

static const struct connect v3 = { "MQIsdp", 3, 0x02, 60, ID("sensor-31") };
static const struct connect v4 = { "MQTT", 4, 0x02, 30, ID("client-311") };
static const struct connect v5 = { "MQTT", 5, 0x02, 45, props5, sizeof(props5), ID("c5") };

/* ---- the cases: one first payload each, on a fresh established flow ---- */

struct mcase {
	const char *desc;
	void (*mk)(struct msg *m);
	size_t cut;              /* 0: the whole message; else only this many bytes */
	uint8_t outcome;         /* MQLB_MQTT_* */
	enum mqlb_stat stat;
	uint8_t level;           /* PARSED: what the flow must hold */
	uint16_t keepalive;
	const char *id;
	size_t id_len;
	uint8_t flags;           /* MQLB_MQTT_ID_TRUNCATED, MQLB_MQTT_BRIDGE */
};

static void m_v3(struct msg *m) { mk_connect(m, &v3); }
static void m_v4(struct msg *m) { mk_connect(m, &v4); }
static void m_v5(struct msg *m) { mk_connect(m, &v5); }

static void m_v5_no_props(struct msg *m)
{
	struct connect c = { "MQTT", 5, 0x02, 0, NULL, 0, ID("nop") };

	mk_connect(m, &c);
}

static void m_empty_id(struct msg *m)
{
	struct connect c = { "MQTT", 4, 0x02, 10, .id = "", .id_len = 0 };

	mk_connect(m, &c);
}

static void m_long_id(struct msg *m)
{
	struct connect c = { "MQTT", 4, 0x02, 20, ID(id40) };

	mk_connect(m, &c);
}

static void m_id32(struct msg *m)
{
	struct connect c = { "MQTT", 4, 0x02, 20, .id = id40, .id_len = 32 };

	mk_connect(m, &c);
}

static void m_user_pw(struct msg *m)
{
	struct connect c = v4;

	c.flags = 0xc2;
	c.tail = user_pw;
	c.tail_len = sizeof(user_pw);
	mk_connect(m, &c);
}

static void m_bridge(struct msg *m)
{
	struct connect c = { "MQTT", 0x84, 0x02, 60, ID("b1.bridge") };

	mk_connect(m, &c);
}

static void m_v5_pw_only(struct msg *m)
{
	struct connect c = v5;

	c.flags = 0x42; /* password without user name: allowed in MQTT 5 */
	c.tail = user_pw + 3;
	c.tail_len = 4;
	mk_connect(m, &c);
}

/* A CONNECT then a SUBSCRIBE in the same segment: clients need not wait for CONNACK. */
static void m_pipelined(struct msg *m)
{
	static const uint8_t sub[] = { 0x82, 0x06, 0, 1, 0, 1, 't', 0 };

	mk_connect(m, &v4);
	put(m, sub, sizeof(sub));
}

/* The will continues past the segment: the id before it is whole. */
static void m_long_tail(struct msg *m)
{
	static uint8_t tail[300];
	struct connect c = v4;

	tail[0] = 0;
	tail[1] = 8;
	memcpy(tail + 2, "will/top", 8);
	tail[10] = 1; /* will message of 288 bytes */
	tail[11] = 32;
	c.flags = 0x06; /* will QoS 0, will, clean session */
	c.tail = tail;
	c.tail_len = sizeof(tail);
	mk_connect(m, &c);
}

static void m_v5_long_props(struct msg *m)
{
	static uint8_t props[200];
	struct connect c = v5;

	/* One user property "p" of 193 bytes. */
	props[0] = 0x26;
	props[1] = 0;
	props[2] = 1;
	props[3] = 'p';
	props[4] = 0;
	props[5] = 193;
	memset(props + 6, 'x', 193);
	c.props = props;
	c.props_len = 199;
	mk_connect(m, &c);
}

static void m_one_byte(struct msg *m) { memset(m, 0, sizeof(*m)); put8(m, 0x10); }

static void m_rl_cont(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	put8(m, 0x10);
	put8(m, 0x80); /* the remaining length goes on in the next segment */
}

static void m_text(struct msg *m, const char *s)
{
	memset(m, 0, sizeof(*m));
	put(m, s, strlen(s));
}

static void m_http(struct msg *m) { m_text(m, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); }
static void m_tls(struct msg *m) { m_text(m, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"); }
static void m_pingreq(struct msg *m) { m_text(m, "\xc0"); put8(m, 0); }
static void m_zeros(struct msg *m) { memset(m, 0, sizeof(*m)); m->n = 64; }

static void m_publish(struct msg *m)
{
	static const uint8_t pub[] = { 0x30, 0x05, 0, 1, 't', 'h', 'i' };

	memset(m, 0, sizeof(*m));
	put(m, pub, sizeof(pub));
}

static void m_bad_name(struct msg *m) { struct connect c = v4; c.name = "MQTX"; mk_connect(m, &c); }
static void m_name5(struct msg *m) { struct connect c = v4; c.name = "MQTTT"; mk_connect(m, &c); }
static void m_mqisdp4(struct msg *m) { struct connect c = v3; c.level = 4; mk_connect(m, &c); }
static void m_mqtt3(struct msg *m) { struct connect c = v4; c.level = 3; mk_connect(m, &c); }
static void m_level6(struct msg *m) { struct connect c = v4; c.level = 6; mk_connect(m, &c); }
static void m_bridge5(struct msg *m) { struct connect c = v4; c.level = 0x85; mk_connect(m, &c); }
static void m_reserved(struct msg *m) { struct connect c = v4; c.flags = 0x03; mk_connect(m, &c); }
static void m_will_qos3(struct msg *m) { struct connect c = v4; c.flags = 0x1e; mk_connect(m, &c); }
static void m_qos_no_will(struct msg *m)
{
	struct connect c = v4;

	c.flags = 0x0a;
	mk_connect(m, &c);
}

static void m_ret_no_will(struct msg *m)
{
	struct connect c = v4;

	c.flags = 0x22;
	mk_connect(m, &c);
}

static void m_pw_no_user(struct msg *m)
{
	struct connect c = v4;

	c.flags = 0x42;
	c.tail = user_pw + 3;
	c.tail_len = 4;
	mk_connect(m, &c);
}

static void m_hdr_flags(struct msg *m) { mk_connect(m, &v4); m->b[0] = 0x12; }

/* Remaining length in 5 bytes (the fifth has no continuation bit): at most 4 are allowed. */
static void m_rl5(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	put8(m, 0x10);
	put(m, "\x80\x80\x80\x80\x01", 5);
	put16(m, 4);
	put(m, "MQTT\x04\x02\x00\x3c\x00\x01x", 11);
}

/* The id length field says more than the remaining length holds. */
static void m_rl_short(struct msg *m) { mk_connect(m, &v4); m->b[1] -= 2; }

/* The remaining length ends inside the variable header. */
static void m_rl_tiny(struct msg *m) { mk_connect(m, &v4); m->b[1] = 6; }

/* MQTT 5 properties longer than the whole packet. */
static void m_props_overrun(struct msg *m)
{
	mk_connect(m, &v5);
	m->b[12] = 0x7f; /* property length (after 0x10 rl 00 04 MQTT 05 02 00 2d) */
}

#define OK(d, f, lvl, st, ka, id, fl)                                                         \
	{ d, f, 0, MQLB_MQTT_PARSED, MQLB_STAT_MQTT_CONNECT_##st, lvl, ka, id,             \
	  sizeof(id) - 1, fl }
#define NO(d, f, cut, out, st) { d, f, cut, MQLB_MQTT_##out, MQLB_STAT_MQTT_##st, 0, 0, "", 0, 0 }

static const struct mcase cases[] = {
	OK("MQTT 3.1 (MQIsdp, level 3)", m_v3, 3, V3, 60, "sensor-31", 0),
	OK("MQTT 3.1.1", m_v4, 4, V4, 30, "client-311", 0),
	OK("MQTT 5.0 with properties", m_v5, 5, V5, 45, "c5", 0),
	OK("MQTT 5.0, property length 0", m_v5_no_props, 5, V5, 0, "nop", 0),
	OK("MQTT 5.0, 199 bytes of properties", m_v5_long_props, 5, V5, 45, "c5", 0),
	OK("empty client id", m_empty_id, 4, V4, 10, "", 0),
	OK("client id of 32 bytes: kept whole", m_id32, 4, V4, 20,
	   "0123456789abcdefghijklmnopqrstuv", 0),
	OK("client id of 40 bytes: 32 kept, truncated", m_long_id, 4, V4, 20,
	   "0123456789abcdefghijklmnopqrstuv", MQLB_MQTT_ID_TRUNCATED),
	OK("user name and password", m_user_pw, 4, V4, 30, "client-311", 0),
	OK("MQTT 5.0 password without user name", m_v5_pw_only, 5, V5, 45, "c5", 0),
	OK("mosquitto bridge, level 0x84", m_bridge, 4, V4, 60, "b1.bridge", MQLB_MQTT_BRIDGE),
	OK("CONNECT and SUBSCRIBE in one segment", m_pipelined, 4, V4, 30, "client-311", 0),
	/* Only the will is beyond the segment: nothing needed is missing. */
	{ "will continues in the next segment", m_long_tail, 60, MQLB_MQTT_PARSED,
	  MQLB_STAT_MQTT_CONNECT_V4, 4, 30, "client-311", 10, 0 },

	NO("split inside the client id", m_v4, 20, SPLIT, CONNECT_SPLIT),
	NO("split before the client id length", m_v4, 12, SPLIT, CONNECT_SPLIT),
	NO("split inside the protocol name", m_v4, 5, SPLIT, CONNECT_SPLIT),
	NO("split inside the remaining length", m_rl_cont, 0, SPLIT, CONNECT_SPLIT),
	NO("only the CONNECT type byte", m_one_byte, 0, SPLIT, CONNECT_SPLIT),
	NO("split inside MQTT 5 properties", m_v5_long_props, 100, SPLIT, CONNECT_SPLIT),
	NO("split in the 40-byte client id after 32 bytes", m_long_id, 2 + 10 + 2 + 33, SPLIT,
	   CONNECT_SPLIT),

	NO("HTTP GET", m_http, 0, NOT_MQTT, NOT_MQTT),
	NO("TLS ClientHello (0x16: type nibble 1)", m_tls, 0, NOT_MQTT, NOT_MQTT),
	NO("PINGREQ first", m_pingreq, 0, NOT_MQTT, NOT_MQTT),
	NO("PUBLISH first", m_publish, 0, NOT_MQTT, NOT_MQTT),
	NO("64 zero bytes", m_zeros, 0, NOT_MQTT, NOT_MQTT),

	NO("protocol name MQTX", m_bad_name, 0, MALFORMED, CONNECT_MALFORMED),
	NO("protocol name length 5", m_name5, 0, MALFORMED, CONNECT_MALFORMED),
	NO("MQIsdp with level 4", m_mqisdp4, 0, MALFORMED, CONNECT_MALFORMED),
	NO("MQTT with level 3", m_mqtt3, 0, MALFORMED, CONNECT_MALFORMED),
	NO("level 6", m_level6, 0, MALFORMED, CONNECT_MALFORMED),
	NO("bridge bit on level 5", m_bridge5, 0, MALFORMED, CONNECT_MALFORMED),
	NO("reserved connect flag set [MQTT-3.1.2-3]", m_reserved, 0, MALFORMED, CONNECT_MALFORMED),
	NO("will QoS 3 [MQTT-3.1.2-14]", m_will_qos3, 0, MALFORMED, CONNECT_MALFORMED),
	NO("will QoS without will [MQTT-3.1.2-13]", m_qos_no_will, 0, MALFORMED, CONNECT_MALFORMED),
	NO("will retain without will [MQTT-3.1.2-15]", m_ret_no_will, 0, MALFORMED,
	   CONNECT_MALFORMED),
	NO("3.1.1 password without user name [MQTT-3.1.2-22]", m_pw_no_user, 0, MALFORMED,
	   CONNECT_MALFORMED),
	NO("CONNECT type, fixed header flags 2 [MQTT-2.2.2-2]", m_hdr_flags, 0, NOT_MQTT, NOT_MQTT),
	NO("remaining length in 5 bytes", m_rl5, 0, MALFORMED, CONNECT_MALFORMED),
	NO("client id beyond the remaining length", m_rl_short, 0, MALFORMED, CONNECT_MALFORMED),
	NO("remaining length ends in the variable header", m_rl_tiny, 0, MALFORMED,
	   CONNECT_MALFORMED),
	NO("MQTT 5 properties beyond the packet", m_props_overrun, 0, MALFORMED, CONNECT_MALFORMED),
};

/* ---- helpers ---- */

static void set_flags(struct lb *lb, __u32 flags)
{
	struct mqlb_config cfg;
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(lb->config, &zero, &cfg), 0);
	cfg.flags = flags;
	assert_int_equal(bpf_map_update_elem(lb->config, &zero, &cfg, 0), 0);
}

/* SYN, SYN-ACK, ACK: an established flow whose next client byte is FIRST_SEQ. */
static void est_conn(struct lb *lb, struct conn *c, __u16 cport)
{
	open_conn(lb, c, CLIENT1, cport, NULL);
	establish(lb, c);
}

static void spec_data(struct pkt_spec *s, const struct conn *c, __u32 seq, const void *p,
		      size_t len)
{
	spec_conn(s, c, TF_PSH | TF_ACK);
	s->seq = seq;
	s->payload = p;
	s->payload_len = len;
}

/* A client data segment that must be forwarded unchanged; returns the counter deltas. */
static void send_fwd(struct lb *lb, struct conn *c, __u32 seq, const void *p, size_t len,
		     size_t pad_to, uint64_t *before, uint64_t *after)
{
	struct pkt_spec s;

	spec_data(&s, c, seq, p, len);
	s.pad_to = pad_to;
	stats_read(lb, before);
	forward(lb, c, &s, c->cif, XDP_REDIRECT);
	stats_read(lb, after);
}

static bool fwd_and(const uint64_t *before, const uint64_t *after, enum mqlb_stat stat)
{
	return stats_exact(before, after, (const struct sd[]){ { MQLB_STAT_FWD_TO_BACKEND, 1 },
		{ MQLB_STAT_REDIRECT, 1 }, { (int)stat, 1 }, SD_END });
}

static bool fwd_only(const uint64_t *before, const uint64_t *after)
{
	return stats_exact(before, after, (const struct sd[]){ { MQLB_STAT_FWD_TO_BACKEND, 1 },
		{ MQLB_STAT_REDIRECT, 1 }, SD_END });
}

static bool flow_holds(const struct mqlb_flow *f, const struct mcase *k)
{
	if (f->mqtt_flags != (k->outcome | k->flags) || f->mqtt_level != k->level ||
	    !(f->tcp_flags & MQLB_FLOW_PAYLOAD))
		return false;
	if (k->outcome != MQLB_MQTT_PARSED)
		return f->client_id_len == 0 && f->keepalive_s == 0;
	return f->keepalive_s == k->keepalive && f->client_id_len == k->id_len &&
	       !memcmp(f->client_id, k->id, k->id_len);
}

/* ---- tests ---- */

static void run_cases(struct lb *lb, __u32 cfg_flags)
{
	unsigned int i, failed = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mcase *k = &cases[i];
		uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
		struct mqlb_flow f;
		struct msg m;
		struct conn c;
		bool ok;

		k->mk(&m);
		if (k->cut)
			m.n = k->cut;
		est_conn(lb, &c, (__u16)(41000 + i));
		send_fwd(lb, &c, FIRST_SEQ, m.b, m.n, 0, before, after);
		flow_get(lb, c.caddr, c.cport, &f);
		ok = fwd_and(before, after, k->stat) && flow_holds(&f, k);
		print_message("%s %-50s %s\n", ok ? "ok  " : "FAIL", k->desc,
			      mqlb_stat_names[k->stat]);
		if (!ok) {
			stats_print_delta(before, after);
			print_message("    flow: flags %#x level %u keepalive %u id %u '%.*s'\n",
				      f.mqtt_flags, f.mqtt_level, f.keepalive_s, f.client_id_len,
				      (int)f.client_id_len, f.client_id);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
	(void)cfg_flags;
}

static void test_connect_cases(void **state)
{
	NEED_LB();
	run_cases(&E.lb, 0);
}

/* Ethernet padding after a 1-byte payload is not payload: SPLIT, not a bogus length 0. */
static void test_padding_not_payload(void **state)
{
	static const struct mcase k = { "", NULL, 0, MQLB_MQTT_SPLIT, 0, 0, 0, "", 0, 0 };
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct mqlb_flow f;
	struct conn c;

	NEED_LB();
	est_conn(lb, &c, 42000);
	send_fwd(lb, &c, FIRST_SEQ, "\x10", 1, 60, before, after);
	assert_true(fwd_and(before, after, MQLB_STAT_MQTT_CONNECT_SPLIT));
	flow_get(lb, c.caddr, c.cport, &f);
	assert_true(flow_holds(&f, &k));
}

/*
 * Parsed once per flow: neither the next segment, nor a retransmission of
 * the first, nor a later CONNECT on the same flow changes the record or a
 * counter. Segments without payload are not the first payload.
 */
static void test_parsed_once(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct mqlb_flow f;
	struct msg m, other;
	struct conn c;
	struct connect oc = v5;

	NEED_LB();
	mk_connect(&m, &v4);
	oc.id = "other";
	oc.id_len = 5;
	mk_connect(&other, &oc);
	est_conn(lb, &c, 42100);
	/* a pure ACK at the first sequence number: no payload, nothing judged */
	send_fwd(lb, &c, FIRST_SEQ, NULL, 0, 0, before, after);
	assert_true(fwd_only(before, after));
	flow_get(lb, c.caddr, c.cport, &f);
	assert_int_equal(f.mqtt_flags, 0);
	assert_false(f.tcp_flags & MQLB_FLOW_PAYLOAD);

	send_fwd(lb, &c, FIRST_SEQ, m.b, m.n, 0, before, after);
	assert_true(fwd_and(before, after, MQLB_STAT_MQTT_CONNECT_V4));
	/* retransmitted first segment, then a second CONNECT (a protocol error the broker sees) */
	send_fwd(lb, &c, FIRST_SEQ, other.b, other.n, 0, before, after);
	assert_true(fwd_only(before, after));
	send_fwd(lb, &c, FIRST_SEQ + (__u32)m.n, other.b, other.n, 0, before, after);
	assert_true(fwd_only(before, after));
	send_fwd(lb, &c, FIRST_SEQ + (__u32)(m.n + other.n), "GET /", 5, 0, before, after);
	assert_true(fwd_only(before, after));
	flow_get(lb, c.caddr, c.cport, &f);
	assert_int_equal(f.mqtt_level, 4);
	assert_int_equal(f.keepalive_s, 30);
	assert_int_equal(f.client_id_len, 10);
	assert_memory_equal(f.client_id, "client-311", 10);
	assert_int_equal(f.mqtt_flags, MQLB_MQTT_PARSED);
}

/*
 * A segment reordered ahead of the first (its seq is past ISN + 1) is not
 * the first payload: not judged, not reset even in strict mode; the real
 * first segment is then parsed.
 */
static void test_reordered_first_segment(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct mqlb_flow f;
	struct msg m;
	struct conn c;

	NEED_LB();
	set_flags(lb, MQLB_CFG_STRICT);
	mk_connect(&m, &v3);
	est_conn(lb, &c, 42200);
	send_fwd(lb, &c, FIRST_SEQ + (__u32)m.n, "\x82\x06\x00\x01\x00\x01t\x00", 8, 0, before,
		 after);
	assert_true(fwd_only(before, after));
	flow_get(lb, c.caddr, c.cport, &f);
	assert_int_equal(f.mqtt_flags, 0);
	send_fwd(lb, &c, FIRST_SEQ, m.b, m.n, 0, before, after);
	assert_true(fwd_and(before, after, MQLB_STAT_MQTT_CONNECT_V3));
	flow_get(lb, c.caddr, c.cport, &f);
	assert_int_equal(f.mqtt_level, 3);
	assert_int_equal(f.keepalive_s, 60);
}

/*
 * strict: a garbage or malformed first payload goes on to the backend as a
 * RST (same sequence number, PSH dropped), so the broker lets go of its
 * socket; the client's next segment (its retransmission) is answered with
 * a RST, and so is every later one, but never a RST.
 */
static void strict_refuse(struct lb *lb, __u16 cport, const void *p, size_t len,
			  enum mqlb_stat why)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct frame in, out;
	struct pkt_spec s, w;
	struct mqlb_flow f;
	struct conn c;
	int i;

	est_conn(lb, &c, cport);
	spec_data(&s, &c, FIRST_SEQ, p, len);
	pkt_build(&in, &s);
	stats_read(lb, before);
	assert_int_equal(xdp_run(lb, &in, c.cif, &out), XDP_REDIRECT);
	stats_read(lb, after);
	assert_true(stats_exact(before, after, (const struct sd[]){ { MQLB_STAT_RX_PACKETS, 1 },
		{ (int)why, 1 }, { MQLB_STAT_MQTT_STRICT_RESET, 1 },
		{ MQLB_STAT_FWD_TO_BACKEND, 1 }, { MQLB_STAT_REDIRECT, 1 }, SD_END }));
	w = s;
	w.flags = TF_RST | TF_ACK;
	expect_to_backend(&out, &w, c.be, c.snat_port);
	flow_get(lb, c.caddr, c.cport, &f);
	assert_true(f.tcp_flags & MQLB_FLOW_REFUSED);
	assert_true(MQLB_FLOW_CLOSED(f.tcp_flags));

	/* The retransmission, then a FIN: each gets a RST back through the devmap. */
	for (i = 0; i < 2; i++) {
		if (i)
			s.flags = TF_FIN | TF_ACK;
		pkt_build(&in, &s);
		stats_read(lb, before);
		assert_int_equal(xdp_run(lb, &in, c.cif, &out), XDP_REDIRECT);
		stats_read(lb, after);
		assert_true(stats_exact(before, after, (const struct sd[]){
			{ MQLB_STAT_RX_PACKETS, 1 }, { MQLB_STAT_RESET_REFUSED, 1 }, SD_END }));
		/* RFC 793: the segment has ACK, so the RST's SEQ is its ACK, and no ACK flag. */
		expect_rst(&out, &s, s.ack_seq, 0, TF_RST);
	}
	flow_get(lb, c.caddr, c.cport, &f);
	assert_true(f.tcp_flags & MQLB_FLOW_RESET_SENT);

	/* The client's own RST is not answered: it follows the flow to the backend. */
	spec_conn(&s, &c, TF_RST);
	s.seq = FIRST_SEQ;
	stats_read(lb, before);
	forward(lb, &c, &s, c.cif, XDP_REDIRECT);
	stats_read(lb, after);
	assert_true(fwd_only(before, after));
}

static void test_strict(void **state)
{
	uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
	struct lb *lb = &E.lb;
	struct mqlb_flow f;
	struct msg m;
	struct conn c;

	NEED_LB();
	set_flags(lb, MQLB_CFG_STRICT);
	strict_refuse(lb, 43000, "GET / HTTP/1.1\r\n\r\n", 18, MQLB_STAT_MQTT_NOT_MQTT);
	strict_refuse(lb, 43001, "\xc0\x00", 2, MQLB_STAT_MQTT_NOT_MQTT);
	m_reserved(&m);
	strict_refuse(lb, 43002, m.b, m.n, MQLB_STAT_MQTT_CONNECT_MALFORMED);
	m_rl5(&m);
	strict_refuse(lb, 43003, m.b, m.n, MQLB_STAT_MQTT_CONNECT_MALFORMED);

	/* A valid CONNECT goes through, with its record. */
	mk_connect(&m, &v5);
	est_conn(lb, &c, 43004);
	send_fwd(lb, &c, FIRST_SEQ, m.b, m.n, 0, before, after);
	assert_true(fwd_and(before, after, MQLB_STAT_MQTT_CONNECT_V5));
	flow_get(lb, c.caddr, c.cport, &f);
	assert_int_equal(f.mqtt_level, 5);
	assert_false(f.tcp_flags & MQLB_FLOW_RESET_SENT);

	/*
	 * A split CONNECT goes through too: its rest may be valid, and only
	 * the broker sees it. The rest then passes unjudged.
	 */
	mk_connect(&m, &v4);
	est_conn(lb, &c, 43005);
	send_fwd(lb, &c, FIRST_SEQ, m.b, 14, 0, before, after);
	assert_true(fwd_and(before, after, MQLB_STAT_MQTT_CONNECT_SPLIT));
	send_fwd(lb, &c, FIRST_SEQ + 14, m.b + 14, m.n - 14, 0, before, after);
	assert_true(fwd_only(before, after));
	flow_get(lb, c.caddr, c.cport, &f);
	assert_int_equal(f.mqtt_flags, MQLB_MQTT_SPLIT);
	assert_int_equal(f.mqtt_level, 0);

	/* The same garbage without strict: judged, counted, forwarded. */
	set_flags(lb, 0);
	est_conn(lb, &c, 43006);
	send_fwd(lb, &c, FIRST_SEQ, "GET / HTTP/1.1\r\n\r\n", 18, 0, before, after);
	assert_true(fwd_and(before, after, MQLB_STAT_MQTT_NOT_MQTT));
	maps_consistent(lb, 7);
}

/* The whole table again under strict: every valid and split case is still forwarded. */
static void test_strict_forwards_valid(void **state)
{
	unsigned int i;

	NEED_LB();
	set_flags(&E.lb, MQLB_CFG_STRICT);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mcase *k = &cases[i];
		uint64_t before[MQLB_STAT_MAX], after[MQLB_STAT_MAX];
		struct msg m;
		struct conn c;

		if (k->outcome != MQLB_MQTT_PARSED && k->outcome != MQLB_MQTT_SPLIT)
			continue;
		k->mk(&m);
		if (k->cut)
			m.n = k->cut;
		est_conn(&E.lb, &c, (__u16)(44000 + i));
		send_fwd(&E.lb, &c, FIRST_SEQ, m.b, m.n, 0, before, after);
		if (!fwd_and(before, after, k->stat))
			fail_msg("strict: %s not forwarded as %s", k->desc,
				 mqlb_stat_names[k->stat]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_connect_cases),
		T(test_padding_not_payload),
		T(test_parsed_once),
		T(test_reordered_first_segment),
		T(test_strict),
		T(test_strict_forwards_valid),
	};

	return cmocka_run_group_tests_name("mqtt", tests, group_setup, group_teardown);
}

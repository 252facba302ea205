// SPDX-License-Identifier: GPL-2.0
/*
 * Subscription tree, retained lookups, and session delivery (window,
 * queue bound, acks, resend with DUP), on a real struct broker with no
 * sockets: a client's output is read back from its buffer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "broker.h"

static int setup(void **state)
{
	struct broker *b = calloc(1, sizeof(*b));

	broker_conf_init(&b->conf);
	assert_int_equal(broker_init(b), 0);
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct broker *b = *state;

	broker_fini(b);
	broker_conf_free(&b->conf);
	free(b);
	return 0;
}

static void sub(struct broker *b, struct session *s, const char *f, uint8_t qos)
{
	assert_true(sub_add(&b->tree, s, f, strlen(f), qos) >= 0);
}

static void test_overlap_highest_qos(void **state)
{
	struct broker *b = *state;
	struct session *s1 = session_new(b, "s1", 2, false);
	struct session *s2 = session_new(b, "s2", 2, false);
	uint32_t i;
	int n;

	sub(b, s1, "a/+", 0);
	sub(b, s1, "a/#", 2);
	sub(b, s1, "a/b", 1);
	sub(b, s2, "#", 1);
	sub(b, s2, "a/b", 0);
	n = sub_match(&b->tree, &b->match, "a/b", 3);
	assert_int_equal(n, 2);
	for (i = 0; i < 2; i++) {
		if (b->match.v[i].s == s1)
			assert_int_equal(b->match.v[i].qos, 2);
		else
			assert_int_equal(b->match.v[i].qos, 1);
	}
	/* Re-subscribing replaces the QoS, not adds a subscription. */
	assert_int_equal(sub_add(&b->tree, s1, "a/#", 3, 0), 0);
	assert_int_equal(s1->nsubs, 3);
	assert_int_equal(sub_remove(&b->tree, s1, "a/b", 3), 0);
	assert_int_equal(sub_remove(&b->tree, s1, "a/b", 3), -ENOENT);
	assert_int_equal(sub_remove(&b->tree, s1, "x/y", 3), -ENOENT);
	n = sub_match(&b->tree, &b->match, "$SYS/x", 6);
	assert_int_equal(n, 0);
	session_free(b, s1);
	session_free(b, s2);
	assert_int_equal(b->tree.nnodes, 0);
}

static void count_cb(void *arg, const struct tnode *n)
{
	(*(int *)arg)++;
}

static int retained_count(struct broker *b, const char *filter)
{
	int n = 0;

	retain_walk(&b->tree, filter, strlen(filter), count_cb, &n);
	return n;
}

static void test_retained(void **state)
{
	struct broker *b = *state;

	broker_publish_str(b, "a", "1", 1, 0, true);
	broker_publish_str(b, "a/b", "2", 1, 1, true);
	broker_publish_str(b, "a/b/c", "3", 1, 2, true);
	broker_publish_str(b, "x/b", "4", 1, 0, true);
	broker_publish_str(b, "$SYS/v", "5", 1, 0, true);
	assert_int_equal(b->nretained, 5);
	assert_int_equal(retained_count(b, "#"), 4);
	assert_int_equal(retained_count(b, "a/#"), 3);
	assert_int_equal(retained_count(b, "+/b"), 2);
	assert_int_equal(retained_count(b, "+"), 1);
	assert_int_equal(retained_count(b, "a/b"), 1);
	assert_int_equal(retained_count(b, "a/+/c"), 1);
	assert_int_equal(retained_count(b, "$SYS/#"), 1);
	assert_int_equal(retained_count(b, "nope"), 0);
	/* Replaced, then cleared by an empty payload. */
	broker_publish_str(b, "a/b", "22", 2, 0, true);
	assert_int_equal(b->nretained, 5);
	broker_publish_str(b, "a/b", "", 0, 0, true);
	assert_int_equal(b->nretained, 4);
	assert_int_equal(retained_count(b, "a/b"), 0);
	broker_publish_str(b, "a", "", 0, 0, true);
	broker_publish_str(b, "a/b/c", "", 0, 0, true);
	broker_publish_str(b, "x/b", "", 0, 0, true);
	broker_publish_str(b, "$SYS/v", "", 0, 0, true);
	assert_int_equal(b->nretained, 0);
	assert_int_equal(b->tree.nnodes, 0);
}

static void test_offline_queue_bound(void **state)
{
	struct broker *b = *state;
	struct session *s = session_new(b, "off", 3, false);
	int i;

	b->conf.max_queued_messages = 3;
	sub(b, s, "q", 2);
	for (i = 0; i < 5; i++)
		broker_publish_str(b, "q", "m", 1, 1, false);
	broker_publish_str(b, "q", "zero", 4, 0, false); /* QoS 0 is not queued offline */
	assert_int_equal(s->q_count, 3);
	assert_int_equal(b->st.pub_dropped, 2);
	session_free(b, s);
}

/* Decode the packets in c's output buffer into types[] and their first-byte flags. */
static int out_packets(struct client *c, uint8_t *first, uint16_t *pids, int max)
{
	uint32_t off = c->woff;
	int n = 0;

	while (off < c->wlen && n < max) {
		struct mqtt_packet p;
		uint32_t rem;
		uint8_t hdr;
		int hl = mqtt_fixed_header(c->wbuf + off, c->wlen - off, &hdr, &rem);

		assert_true(hl > 0);
		assert_int_equal(mqtt_decode(hdr, c->wbuf + off + hl, rem, &p), 0);
		first[n] = hdr;
		pids[n] = p.type == MQTT_PUBLISH ? p.publish.pid : p.ack.pid;
		n++;
		off += (uint32_t)hl + rem;
	}
	c->woff = c->wlen = 0;
	return n;
}

static void test_window_acks_resend(void **state)
{
	struct broker *b = *state;
	struct session *s = session_new(b, "on", 2, false);
	struct client c = { .b = b, .fd = -1, .state = CS_CONNECTED, .level = 4, .sess = s };
	uint8_t first[16];
	uint16_t pids[16];
	int n;

	s->client = &c;
	b->conf.max_inflight_messages = 2;
	sub(b, s, "w", 2);
	broker_publish_str(b, "w", "1", 1, 1, false);
	broker_publish_str(b, "w", "2", 1, 2, false);
	broker_publish_str(b, "w", "3", 1, 1, false);
	assert_int_equal(s->ninf, 2);
	assert_int_equal(s->q_count, 1);
	n = out_packets(&c, first, pids, 16);
	assert_int_equal(n, 2);
	assert_int_equal(first[0], 0x32);
	assert_int_equal(first[1], 0x34);
	/* PUBACK frees a slot: the queued message goes out. */
	assert_int_equal(session_ack(b, s, MQTT_PUBACK, pids[0]), 0);
	assert_int_equal(s->q_count, 0);
	assert_int_equal(s->ninf, 2);
	n = out_packets(&c, first, pids + 2, 16);
	assert_int_equal(n, 1);
	/* PUBREC for the QoS 2 message: PUBREL out, message released. */
	assert_int_equal(session_ack(b, s, MQTT_PUBREC, pids[1]), 0);
	n = out_packets(&c, first, pids + 3, 16);
	assert_int_equal(n, 1);
	assert_int_equal(first[0], 0x62);
	assert_int_equal(session_ack(b, s, MQTT_PUBACK, pids[1]), -EPROTO);
	/* Reconnection: unacked PUBLISH with DUP, then PUBREL, in order. */
	session_resend(b, s);
	n = out_packets(&c, first, pids + 4, 16);
	assert_int_equal(n, 2);
	assert_int_equal(first[0], 0x62);       /* the QoS 2 one came first */
	assert_int_equal(first[1], 0x3a);	/* QoS 1 + DUP */
	assert_int_equal(session_ack(b, s, MQTT_PUBCOMP, pids[1]), 0);
	assert_int_equal(session_ack(b, s, MQTT_PUBACK, pids[2]), 0);
	assert_int_equal(s->ninf, 0);
	assert_int_equal(session_ack(b, s, MQTT_PUBACK, 999), -ENOENT);
	/* Slow consumer: QoS 0 past the output bound is dropped and counted. */
	c.wlen = BROKER_OUT_LIMIT;
	c.wcap = 0;
	broker_publish_str(b, "w", "x", 1, 0, false);
	assert_int_equal(b->st.pub_dropped, 1);
	broker_publish_str(b, "w", "y", 1, 1, false);
	assert_int_equal(s->q_count, 1);
	c.wlen = 0;
	s->client = NULL;
	mem_free(&b->mem, c.wbuf);
	b->dirty = b->dirty_tail = NULL;
	session_free(b, s);
}

/*
 * Small nodes are searched by their sibling list, big ones by the edge
 * hash: a node that grows past the limit and shrinks back under it finds
 * every child, plain and wildcard, at every size.
 */
static void test_small_and_big_nodes(void **state)
{
	static const char *const names[] = { "a", "b", "", "ab", "ba", "bb", "c" };
	struct broker *b = *state;
	struct session *s = session_new(b, "n", 1, false);
	char f[16];
	size_t i, k;

	sub(b, s, "r/+/x", 0);
	sub(b, s, "r/#", 1);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(f, sizeof(f), "r/%s", names[i]);
		sub(b, s, f, 2);
		/* "r" now has i + 3 children: its own list or the hash finds each. */
		for (k = 0; k <= i; k++) {
			snprintf(f, sizeof(f), "r/%s", names[k]);
			assert_int_equal(sub_match(&b->tree, &b->match, f, strlen(f)), 1);
			assert_int_equal(b->match.v[0].qos, 2);
		}
		assert_int_equal(sub_match(&b->tree, &b->match, "r/zz", 4), 1);
		assert_int_equal(b->match.v[0].qos, 1);		/* "r/#" only */
		assert_int_equal(sub_match(&b->tree, &b->match, "r/zz/x", 6), 1);
		assert_int_equal(b->match.v[0].qos, 1);		/* "r/+/x" and "r/#" */
		assert_int_equal(sub_match(&b->tree, &b->match, "r/a/x", 5), 1);
	}
	assert_int_equal(b->tree.root->child->nchild, 9);
	/* Pruned back under the limit, from the newest and from the oldest. */
	for (i = 0; i < 5; i++) {
		snprintf(f, sizeof(f), "r/%s", names[i % 2 ? i : 6 - i]);
		assert_int_equal(sub_remove(&b->tree, s, f, strlen(f)), 0);
		assert_int_equal(sub_match(&b->tree, &b->match, f, strlen(f)), 1);
		assert_int_equal(b->match.v[0].qos, 1);
	}
	assert_int_equal(b->tree.root->child->nchild, 4);	/* "a", "bb", "+", "#" */
	assert_int_equal(sub_match(&b->tree, &b->match, "r/a", 3), 1);
	assert_int_equal(b->match.v[0].qos, 2);
	assert_int_equal(sub_match(&b->tree, &b->match, "r/bb", 4), 1);
	assert_int_equal(b->match.v[0].qos, 2);
	assert_int_equal(sub_match(&b->tree, &b->match, "r", 1), 1);	/* "r/#" matches "r" */
	assert_int_equal(sub_match(&b->tree, &b->match, "q/a", 3), 0);
	session_free(b, s);
	assert_int_equal(b->tree.nnodes, 0);
}

/* Acknowledge the QoS 1 message of id pid; it must be in the window. */
static void ack(struct broker *b, struct session *s, uint16_t pid)
{
	assert_int_equal(session_ack(b, s, MQTT_PUBACK, pid), 0);
}

/* The window's ids, oldest first, as a resend after a reconnection sends them. */
static int resent_pids(struct broker *b, struct session *s, struct client *c, uint16_t *pids)
{
	uint8_t first[64];
	int i, n;

	c->woff = c->wlen = 0;
	session_resend(b, s);
	n = out_packets(c, first, pids, 64);
	for (i = 0; i < n; i++)
		assert_int_equal(first[i], 0x3a); /* PUBLISH, QoS 1, DUP */
	return n;
}

/*
 * The window is a ring: acks out of order (near its head and near its
 * tail), a head that wrapped, and growth from a wrapped ring all keep the
 * send order, which the resend after a reconnection shows.
 */
static void test_window_ring_order(void **state)
{
	static const uint16_t want[] = { 3, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct broker *b = *state;
	struct session *s = session_new(b, "ring", 4, false);
	struct client c = { .b = b, .fd = -1, .state = CS_CONNECTED, .level = 4, .sess = s };
	uint16_t pids[64];
	int i, n;

	s->client = &c;
	b->conf.max_inflight_messages = 8;
	sub(b, s, "w", 1);
	for (i = 0; i < 8; i++)
		broker_publish_str(b, "w", "m", 1, 1, false);
	assert_int_equal(s->inf_cap, 8);
	ack(b, s, 1);
	ack(b, s, 2);		/* the head moved on twice */
	ack(b, s, 4);		/* near the head: the older ones move up */
	ack(b, s, 7);		/* near the tail: the newer ones move down */
	ack(b, s, 6);
	assert_int_equal(s->ninf, 3);
	for (i = 0; i < 5; i++)	/* 9..13: the ring wraps */
		broker_publish_str(b, "w", "m", 1, 1, false);
	assert_int_equal(s->ninf, 8);
	assert_int_equal(s->inf_cap, 8);
	assert_int_not_equal(s->inf_head, 0);
	b->conf.max_inflight_messages = 16;
	for (i = 0; i < 3; i++)	/* 14..16: grown from the wrapped ring */
		broker_publish_str(b, "w", "m", 1, 1, false);
	assert_int_equal(s->inf_cap, 16);
	n = resent_pids(b, s, &c, pids);
	assert_int_equal(n, 11);
	for (i = 0; i < n; i++)
		assert_int_equal(pids[i], want[i]);
	for (i = 0; i < n; i++)
		ack(b, s, want[n - 1 - i]);
	assert_int_equal(s->ninf, 0);
	s->client = NULL;
	mem_free(&b->mem, c.wbuf);
	b->dirty = b->dirty_tail = NULL;
	session_free(b, s);
}

/*
 * A new message never takes an id still in the window after the id space
 * wrapped, whether its bucket of the quick test holds one id or is stuck
 * at its ceiling (a window of thousands), and the buckets are all empty
 * again once the window is.
 */
static void test_window_pid_reuse(void **state)
{
	static const uint8_t zero[SESS_PID_BUCKETS];
	struct broker *b = *state;
	struct session *s = session_new(b, "ids", 3, false);
	struct client c = { .b = b, .fd = -1, .state = CS_CONNECTED, .level = 4, .sess = s };
	const uint16_t many = 300 * SESS_PID_BUCKETS;
	uint16_t i, pids[64];

	s->client = &c;
	b->conf.max_inflight_messages = 10000;
	sub(b, s, "w", 1);
	broker_publish_str(b, "w", "m", 1, 1, false);	/* id 1 */
	s->next_pid = 1;				/* as after 65,535 more */
	broker_publish_str(b, "w", "m", 1, 1, false);
	assert_int_equal(resent_pids(b, s, &c, pids), 2);
	assert_int_equal(pids[0], 1);
	assert_int_equal(pids[1], 2);			/* 1 is in flight */
	ack(b, s, 1);
	ack(b, s, 2);
	assert_memory_equal(inf_pid_count(s), zero, sizeof(zero));
	/* Every bucket past its ceiling. */
	s->next_pid = 1;
	for (i = 0; i < many; i++) {
		broker_publish_str(b, "w", "m", 1, 1, false);
		c.woff = c.wlen = 0;
	}
	assert_int_equal(inf_pid_count(s)[1], UINT8_MAX);
	for (i = 1; i <= many; i++)
		if (i != 33)
			ack(b, s, i);
	assert_int_equal(s->ninf, 1);
	s->next_pid = 33;
	broker_publish_str(b, "w", "m", 1, 1, false);
	assert_int_equal(resent_pids(b, s, &c, pids), 2);
	assert_int_equal(pids[0], 33);
	assert_int_equal(pids[1], 34);
	ack(b, s, 33);
	ack(b, s, 34);
	assert_memory_equal(inf_pid_count(s), zero, sizeof(zero));
	s->client = NULL;
	mem_free(&b->mem, c.wbuf);
	b->dirty = b->dirty_tail = NULL;
	session_free(b, s);
}

static void test_session_expiry(void **state)
{
	struct broker *b = *state;
	struct session *old = session_new(b, "old", 3, false);
	struct session *recent = session_new(b, "recent", 6, false);
	uint64_t now = ev_now_ms(b->loop);

	sub(b, old, "e/#", 1);
	b->conf.persistent_client_expiration_s = 3600;
	old->offline_since_ms = now - 3601 * 1000ull;
	recent->offline_since_ms = now - 10 * 1000ull;
	session_expire(b);
	assert_null(session_find(b, "old", 3));
	assert_ptr_equal(session_find(b, "recent", 6), recent);
	assert_int_equal(b->tree.nnodes, 0); /* its subscription went with it */
	b->conf.persistent_client_expiration_s = 0;
	recent->offline_since_ms = 0;
	session_expire(b); /* 0: never */
	assert_ptr_equal(session_find(b, "recent", 6), recent);
	session_free(b, recent);
}

/* Inbound QoS 2 kept by id until PUBREL (qos2_in.c): found, replaced, released, bounded. */
static void test_qos2_inbound_ids(void **state)
{
	struct broker *b = *state;
	struct session *s = session_new(b, "q2", 2, false);
	struct msg view = { .topic = "t", .topic_len = 1, .payload = (const uint8_t *)"p",
			    .payload_len = 1, .qos = 2 };
	bool retain = false;
	struct msg *m;
	uint16_t i;

	b->conf.max_inflight_messages = 100;
	for (i = 1; i <= 100; i++)
		assert_int_equal(qos2_in_store(b, s, (uint16_t)(i * 977), &view, i == 5), 0);
	/* One more than max_inflight_messages. */
	assert_int_equal(qos2_in_store(b, s, 1, &view, false), -ENOSPC);
	assert_non_null(qos2_in_find(b, s, 5 * 977));
	assert_null(qos2_in_find(b, s, 1));
	m = qos2_in_release(b, s, 5 * 977, &retain);
	assert_non_null(m);
	assert_true(retain);
	assert_int_equal(m->payload_len, 1);
	msg_put(&b->mem, m);
	assert_null(qos2_in_find(b, s, 5 * 977));
	assert_null(qos2_in_release(b, s, 5 * 977, &retain));
	/* Every other one is still found after the deletion shifted the table. */
	for (i = 1; i <= 100; i++)
		if (i != 5)
			assert_non_null(qos2_in_find(b, s, (uint16_t)(i * 977)));
	assert_int_equal(qos2_in_store(b, s, 1, &view, false), 0);
	b->conf.max_inflight_messages = 20;
	session_free(b, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_overlap_highest_qos, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_queue_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_acks_resend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_and_big_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_ring_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_pid_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos2_inbound_ids, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * acl_file (broker/acl.c): the file format and its errors with FILE:LINE,
 * the matching rules as Mosquitto 2.0 applies them (a table of cases),
 * then on a live broker: PUBLISH refused and dropped with its QoS flow
 * completed, deliveries and retained messages filtered per subscriber,
 * SUBACK granted as Mosquitto grants it, queued messages dropped when a
 * new connection may no longer read them, wills, check_retain_source,
 * retain_available and queue_qos0_messages.
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

#include "acl.h"
#include "broker_harness.h"
#include "conf.h"

static struct acl_table *load(const char *text)
{
	struct acl_table *t = NULL;
	char err[CONF_ERR_LEN] = "";

	if (acl_load_string("acl", text, strlen(text), &t, err))
		fail_msg("%s", err);
	return t;
}

static const char FILE1[] =
	"# anonymous clients\n"
	"topic readwrite public/#\n"
	"topic deny public/secret\n"
	"topic read ro/#\n"
	"\n"
	"user alice\n"
	"topic write   alice/out\n"
	"topic alice/all\n"		/* no access word: readwrite */
	"topic deny alice/all/no\n"
	"user bob with space\n"
	"topic read b/#\n"
	"user alice\n"			/* the same user again: added to */
	"topic read shared\n"
	"pattern readwrite dev/%c/#\n"
	"pattern read users/%u/#\n"
	"pattern deny dev/%c/locked\n"
	"topic read $SYS/broker/#\n";	/* after 'user alice': alice's */

static const struct {
	const char *id, *user, *topic;
	unsigned int access;
	bool allowed;
} cases[] = {
	/* anonymous: the list before any 'user' line */
	{ "c1", NULL, "public/a", ACL_READ, true },
	{ "c1", NULL, "public/a/b", ACL_WRITE, true },
	{ "c1", NULL, "public", ACL_READ, true },		/* '#' covers its parent */
	{ "c1", NULL, "public/secret", ACL_READ, false },	/* deny wins over readwrite */
	{ "c1", NULL, "public/secret/x", ACL_READ, true },	/* deny is exact here */
	{ "c1", NULL, "ro/x", ACL_READ, true },
	{ "c1", NULL, "ro/x", ACL_WRITE, false },
	{ "c1", NULL, "other", ACL_READ, false },		/* nothing matches: refused */
	/* a user's own list; the anonymous list is not his */
	{ "c2", "alice", "public/a", ACL_READ, false },
	{ "c2", "alice", "alice/out", ACL_WRITE, true },
	{ "c2", "alice", "alice/out", ACL_READ, false },
	{ "c2", "alice", "alice/all", ACL_READ, true },
	{ "c2", "alice", "alice/all", ACL_WRITE, true },
	{ "c2", "alice", "alice/all/no", ACL_WRITE, false },
	{ "c2", "alice", "shared", ACL_READ, true },		/* from the second 'user alice' */
	{ "c2", "alice", "$SYS/broker/uptime", ACL_READ, true },
	{ "c2", "bob with space", "b/1", ACL_READ, true },
	{ "c2", "bob with space", "shared", ACL_READ, false },
	{ "c2", "carol", "public/a", ACL_READ, false },	/* a user with no list */
	/* patterns: everyone's, %c and %u */
	{ "dev1", NULL, "dev/dev1/temp", ACL_WRITE, true },
	{ "dev1", NULL, "dev/dev2/temp", ACL_WRITE, false },
	{ "dev1", NULL, "dev/dev1/locked", ACL_WRITE, false },
	{ "dev1", "alice", "dev/dev1/x", ACL_READ, true },	/* user list first, then patterns */
	{ "c3", "carol", "users/carol/inbox", ACL_READ, true },
	{ "c3", "carol", "users/carol/inbox", ACL_WRITE, false },
	{ "c3", NULL, "users/%u/inbox", ACL_READ, false },	/* %u patterns need a user */
	/* a '+' or '#' in an id or user name would widen a pattern: refused */
	{ "+", NULL, "dev/x/y", ACL_READ, false },
	{ "dev#", NULL, "dev/dev#/y", ACL_READ, false },
	{ "c4", "+", "users/x/y", ACL_READ, false },
	/* ... unless the user's own list allows first, as in Mosquitto */
	{ "#", "alice", "alice/all", ACL_READ, true },
	/* '$' topics are not matched by a first-level wildcard [MQTT-4.7.2-1] */
	{ "c1", NULL, "$SYS/broker/uptime", ACL_READ, false },
};

static void test_matching(void **state)
{
	struct acl_table *t = load(FILE1);
	size_t i;

	assert_int_equal(acl_count(t), 12);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = acl_allowed(t, cases[i].id, cases[i].user, cases[i].topic,
				       strlen(cases[i].topic), cases[i].access);

		if (got != cases[i].allowed)
			fail_msg("id '%s' user '%s' %s '%s': got %s", cases[i].id,
				 cases[i].user ? cases[i].user : "(none)",
				 cases[i].access == ACL_READ ? "read" : "write", cases[i].topic,
				 got ? "allowed" : "refused");
	}
	acl_free(t);
}

/* An empty file, or one with users only: everything is refused (Mosquitto's 09-acl-empty-file). */
static void test_empty(void **state)
{
	struct acl_table *t = load("");

	assert_false(acl_allowed(t, "c", NULL, "a", 1, ACL_READ));
	assert_false(acl_allowed(t, "c", "u", "a", 1, ACL_WRITE));
	acl_free(t);
	t = load("# nothing\n\nuser u\n");
	assert_false(acl_allowed(t, "c", "u", "a", 1, ACL_READ));
	acl_free(t);
	/* 'topic read' is the filter "read" with readwrite, as Mosquitto reads it. */
	t = load("topic read\n");
	assert_true(acl_allowed(t, "c", NULL, "read", 4, ACL_WRITE));
	acl_free(t);
}

/* Long ids and user names in patterns: substituted past the stack buffer. */
static void test_long_pattern(void **state)
{
	struct acl_table *t = load("pattern readwrite %c/%u/%c/%u\n");
	char id[400], user[400], topic[1700];

	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	snprintf(topic, sizeof(topic), "%s/%s/%s/%s", id, user, id, user);
	assert_true(acl_allowed(t, id, user, topic, strlen(topic), ACL_READ));
	topic[5] = 'x';
	assert_false(acl_allowed(t, id, user, topic, strlen(topic), ACL_READ));
	acl_free(t);
}

static const struct {
	const char *text, *err;
} errors[] = {
	{ "topic\n", "acl:1: empty topic" },
	{ "\n# c\npattern  \n", "acl:3: empty topic" },
	{ "topic readonly a/b\n", "acl:1: invalid topic access type 'readonly' (read, write, readwrite, deny)" },
	{ "topic read a/#/b\n", "acl:1: invalid ACL topic 'a/#/b'" },
	{ "topic read a+\n", "acl:1: invalid ACL topic 'a+'" },
	{ "user\n", "acl:1: missing user name" },
	{ "user   \t\n", "acl:1: missing user name" },
	{ "topic read a\nallow a\n", "acl:2: invalid line (topic, pattern or user expected)" },
};

static void test_errors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct acl_table *t = NULL;
		char err[CONF_ERR_LEN] = "";

		if (!acl_load_string("acl", errors[i].text, strlen(errors[i].text), &t, err))
			fail_msg("accepted: %s", errors[i].text);
		if (strcmp(err, errors[i].err))
			fail_msg("'%s': got '%s', want '%s'", errors[i].text, err, errors[i].err);
		assert_null(t);
	}
	assert_int_equal(acl_load("/nonexistent/acl", &(struct acl_table *){ NULL }, (char[CONF_ERR_LEN]){ 0 }),
			 -ENOENT);
}

/* ---- on a live broker ---- */

static struct broker *acl_broker(const char *conf, const char *acl)
{
	struct broker *b = th_broker(conf);
	char err[CONF_ERR_LEN];

	assert_int_equal(acl_load_string("acl", acl, strlen(acl), &b->sec.acl, err), 0);
	b->acl_on = true;
	return b;
}

/* The next packet is a PUBLISH on topic with payload, or (topic NULL) nothing comes. */
static void expect_pub(struct broker *b, struct peer *p, const char *topic, const char *payload)
{
	struct mqtt_packet pkt;
	int first = th_recv(b, p, &pkt);

	if (!topic) {
		assert_int_equal(first, 0);
		return;
	}
	assert_int_equal(first >> 4, MQTT_PUBLISH);
	assert_int_equal(pkt.publish.topic.len, strlen(topic));
	assert_memory_equal(pkt.publish.topic.p, topic, strlen(topic));
	assert_int_equal(pkt.publish.payload_len, strlen(payload));
	assert_memory_equal(pkt.publish.payload, payload, strlen(payload));
	if (pkt.publish.qos)
		th_ack(p, pkt.publish.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC, pkt.publish.pid);
}

static void test_broker_publish_read(void **state)
{
	struct broker *b = acl_broker(NULL, "user w\ntopic write t/#\ntopic read r/#\n"
					  "user r\ntopic read t/#\n");
	struct peer *w = th_user_client(b, "w", "w", true), *r = th_user_client(b, "r", "r", true);
	struct peer *anon = th_user_client(b, "a", NULL, true);
	struct mqtt_packet pkt;

	/* Every SUBSCRIBE is granted, as Mosquitto's acl_file grants them. */
	th_subscribe(b, r, "#", 1);
	th_subscribe(b, anon, "#", 1);
	th_subscribe(b, w, "#", 1);
	/* Allowed: r reads it, w (write only) and anonymous do not. */
	th_publish(w, "t/1", "m1", 1, 7, false);
	assert_int_equal(th_recv(b, w, &pkt) >> 4, MQTT_PUBACK);
	expect_pub(b, r, "t/1", "m1");
	expect_pub(b, anon, NULL, NULL);
	expect_pub(b, w, NULL, NULL);
	/* Refused write: PUBACK all the same, nothing delivered, counted. */
	th_publish(r, "t/2", "m2", 1, 8, false);
	assert_int_equal(th_recv(b, r, &pkt) >> 4, MQTT_PUBACK);
	assert_int_equal(pkt.ack.pid, 8);
	expect_pub(b, r, NULL, NULL);
	/* QoS 2 refused: PUBREC, then PUBCOMP for its PUBREL, nothing delivered. */
	th_publish(anon, "t/3", "m3", 2, 9, false);
	assert_int_equal(th_recv(b, anon, &pkt) >> 4, MQTT_PUBREC);
	th_ack(anon, MQTT_PUBREL, 9);
	assert_int_equal(th_recv(b, anon, &pkt) >> 4, MQTT_PUBCOMP);
	expect_pub(b, r, NULL, NULL);
	assert_int_equal(b->st.pub_denied, 2);
	th_peer_free(w);
	th_peer_free(r);
	th_peer_free(anon);
	th_broker_free(b);
}

static const char ACL2[] = "user w\ntopic read k/#\nuser r\ntopic read k/#\n";

/* Retained messages are reads too, and with check_retain_source their writer is checked. */
static void test_broker_retained(void **state)
{
	struct broker *b = acl_broker("check_retain_source true\n",
				      "user w\ntopic readwrite k/#\nuser r\ntopic read k/#\n");
	struct peer *w = th_user_client(b, "w", "w", true), *p;
	char err[CONF_ERR_LEN];

	th_publish(w, "k/1", "kept", 0, 0, true);
	th_run(b);
	p = th_user_client(b, "r1", "r", true);
	th_subscribe(b, p, "k/#", 0);
	expect_pub(b, p, "k/1", "kept");
	th_peer_free(p);
	/* Anonymous may not read it: the retained message is not sent. */
	p = th_user_client(b, "a1", NULL, true);
	th_subscribe(b, p, "k/#", 0);
	expect_pub(b, p, NULL, NULL);
	th_peer_free(p);
	/* w loses write access (a reload): its retained message stops going out. */
	acl_free(b->sec.acl);
	assert_int_equal(acl_load_string("acl", ACL2, strlen(ACL2), &b->sec.acl, err), 0);
	p = th_user_client(b, "r2", "r", true);
	th_subscribe(b, p, "k/#", 0);
	expect_pub(b, p, NULL, NULL);
	th_peer_free(p);
	th_peer_free(w);
	th_broker_free(b);
}

/* A new connection as someone else: what it may no longer read is dropped from its queue. */
static void test_broker_reconnect_recheck(void **state)
{
	struct broker *b = acl_broker(NULL, "user u1\ntopic read q/#\ntopic readwrite p/#\n"
					  "user u2\ntopic read q/a\ntopic readwrite p/#\n");
	struct peer *s = th_user_client(b, "sub", "u1", false);

	th_subscribe(b, s, "q/#", 1);
	th_peer_free(s);
	th_run(b);
	/* Queued for "sub" while offline: u1 may read all three. */
	broker_publish_str(b, "q/a", "1", 1, 1, false);
	broker_publish_str(b, "q/b", "2", 1, 1, false);
	broker_publish_str(b, "q/a", "3", 1, 1, false);
	assert_int_equal(session_find(b, "sub", 3)->q_count, 3);
	/* Back as u2, who may read q/a only: q/b is dropped, the rest in order. */
	s = th_user_client(b, "sub", "u2", false);
	expect_pub(b, s, "q/a", "1");
	expect_pub(b, s, "q/a", "3");
	expect_pub(b, s, NULL, NULL);
	th_peer_free(s);
	th_broker_free(b);
}

/* A will is the client's PUBLISH: refused like one. */
static void test_broker_will(void **state)
{
	struct broker *b = acl_broker(NULL, "user u\ntopic readwrite ok/#\n"
					  "user s\ntopic read #\n");
	struct peer *sub = th_user_client(b, "s", "s", true), *p;
	struct mqtt_packet pkt = { .type = MQTT_CONNECT };
	int i;

	th_subscribe(b, sub, "#", 0);
	for (i = 0; i < 2; i++) {
		const char *wt = i ? "ok/will" : "no/will";

		p = th_peer(b);
		pkt.type = MQTT_CONNECT;
		pkt.connect = (struct mqtt_connect){ 0 };
		pkt.connect.proto_name = mqtt_str_c("MQTT", 4);
		pkt.connect.level = MQTT_PROTO_V311;
		pkt.connect.clean = true;
		pkt.connect.keepalive = 60;
		pkt.connect.client_id = mqtt_str_c("u", 1);
		pkt.connect.has_username = true;
		pkt.connect.username = mqtt_str_c("u", 1);
		pkt.connect.will = true;
		pkt.connect.will_topic = mqtt_str_c(wt, strlen(wt));
		pkt.connect.will_msg = mqtt_str_c("bye", 3);
		th_send(p, &pkt);
		assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_CONNACK);
		th_peer_free(p); /* no DISCONNECT: the will goes out, if allowed */
		if (i)
			expect_pub(b, sub, "ok/will", "bye");
		else
			expect_pub(b, sub, NULL, NULL);
	}
	th_peer_free(sub);
	th_broker_free(b);
}

/* retain_available false: a retained PUBLISH closes its sender; nothing is retained. */
static void test_retain_available(void **state)
{
	struct broker *b = th_broker("retain_available false\n");
	struct peer *p = th_client(b, "r", true), *q;

	broker_publish_str(b, "sys/like", "x", 1, 0, true);
	assert_int_equal(b->nretained, 0);
	th_publish(p, "a", "x", 0, 0, false);
	th_publish(p, "a", "x", 0, 0, true);
	assert_true(th_closed(b, p));
	th_peer_free(p);
	q = th_client(b, "q", true);
	th_subscribe(b, q, "#", 0);
	expect_pub(b, q, NULL, NULL);
	th_peer_free(q);
	th_broker_free(b);
}

/* queue_qos0_messages: QoS 0 kept for an offline persistent session, in order with QoS 1. */
static void test_queue_qos0(void **state)
{
	int on;

	for (on = 0; on < 2; on++) {
		struct broker *b = th_broker(on ? "queue_qos0_messages true\n" : NULL);
		struct peer *p = th_client(b, "off", false);

		th_subscribe(b, p, "z", 1);
		th_peer_free(p);
		th_run(b);
		broker_publish_str(b, "z", "a", 1, 0, false);
		broker_publish_str(b, "z", "b", 1, 1, false);
		broker_publish_str(b, "z", "c", 1, 0, false);
		p = th_client(b, "off", false);
		if (on)
			expect_pub(b, p, "z", "a");
		expect_pub(b, p, "z", "b");
		if (on)
			expect_pub(b, p, "z", "c");
		expect_pub(b, p, NULL, NULL);
		th_peer_free(p);
		th_broker_free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_long_pattern),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_broker_publish_read),
		cmocka_unit_test(test_broker_retained),
		cmocka_unit_test(test_broker_reconnect_recheck),
		cmocka_unit_test(test_broker_will),
		cmocka_unit_test(test_retain_available),
		cmocka_unit_test(test_queue_qos0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

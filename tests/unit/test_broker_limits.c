// SPDX-License-Identifier: GPL-2.0
/*
 * Limits and hostile clients: bounded output that stops reading and
 * closes a client that never reads, the CONNECT deadline from accept,
 * memory_limit, max_inflight_bytes and max_queued_bytes, SUBSCRIBE and
 * UNSUBSCRIBE in slices, duplicate filters found by index, the trust the
 * bridge loop rule gives, bridges subscribing again at every connection,
 * and client text escaped for logs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "auth.h"
#include "broker_harness.h"

static struct client *client_of(struct broker *b, const char *id)
{
	struct session *s = session_find(b, id, strlen(id));

	assert_non_null(s);
	assert_non_null(s->client);
	return s->client;
}

static void test_mem_budget(void **state)
{
	struct mem_budget m = { .limit = 1000 };
	void *a, *b2, *c;

	a = mem_alloc(&m, 600);
	assert_non_null(a);
	assert_true(m.used >= 600);
	assert_null(mem_alloc(&m, 600)); /* would pass the limit */
	assert_int_equal(m.refused, 1);
	b2 = mem_realloc(&m, a, 100); /* shrinking is always allowed */
	assert_non_null(b2);
	c = mem_zalloc(&m, 600);
	assert_non_null(c);
	mem_free(&m, b2);
	mem_free(&m, c);
	assert_int_equal(m.used, 0);
	/* No limit: nothing counted, nothing refused. */
	m.limit = 0;
	a = mem_alloc(&m, 1 << 20);
	assert_non_null(a);
	assert_int_equal(m.used, 0);
	mem_free(&m, a);
}

/* memory_limit: a message that cannot be kept closes its publisher. */
static void test_memory_limit_publisher(void **state)
{
	/* Counted from the start (a limit far away), then brought close. */
	struct broker *b = th_broker("memory_limit 1000000000");
	struct peer *sub = th_client(b, "sub", true), *pub = th_client(b, "pub", true);
	char big[4096];

	th_subscribe(b, sub, "t", 1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	b->mem.limit = b->mem.used + 1024;
	th_publish(pub, "t", big, 1, 1, false);
	assert_true(th_closed(b, pub));
	assert_true(b->mem.refused > 0);
	b->mem.limit = 1000000000;
	th_peer_free(sub);
	th_peer_free(pub);
	th_broker_free(b);
}

/* Output over b->out_limit: reading stops; past out_hard, or stuck, the client goes. */
static void test_output_bounds(void **state)
{
	struct broker *b = th_broker(NULL);
	struct peer *slow = th_client(b, "slow", true), *pub = th_client(b, "pub", true);
	int small = 4096, i;
	struct client *c = client_of(b, "slow");
	char payload[1024];

	b->out_limit = 8192;
	b->out_hard = 32768;
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	th_subscribe(b, slow, "flood", 0);
	memset(payload, 'z', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	for (i = 0; i < 200; i++) {
		th_publish(pub, "flood", payload, 0, 0, false);
		th_run(b);
	}
	assert_true(client_out_full(c));
	assert_false(c->ev & CEV_READ);
	assert_true(b->st.pub_dropped > 0); /* QoS 0 past the limit */
	assert_true(client_out_pending(c) < b->out_limit + sizeof(payload) + 16);
	/* Nothing else comes in while it does not read: its PINGREQ waits in the kernel. */
	th_ack(slow, MQTT_PINGREQ, 0);
	th_run(b);
	assert_true(client_out_full(c));
	/* Past the hard bound a packet is refused and the client closed at the next flush. */
	c->wlen = c->woff + b->out_hard;
	assert_null(client_out_reserve(c, 1));
	assert_int_equal(c->doom, DOOM_OUT_HARD);
	client_flush_all(b);
	assert_int_equal(c->state, CS_CLOSED);
	assert_true(th_closed(b, slow));
	th_peer_free(slow);
	th_peer_free(pub);
	th_broker_free(b);
}

static void test_output_stall(void **state)
{
	struct broker *b = th_broker(NULL);
	struct peer *slow = th_client(b, "slow", true);
	struct client *c = client_of(b, "slow");

	b->out_limit = 16;
	b->out_stall_s = 1;
	/* 64 bytes pending, none written for 2 s (the clock starts when output was empty). */
	assert_non_null(client_out_reserve(c, 64));
	c->wlen += 64;
	c->last_tx_s -= 2;
	client_housekeeping(b);
	assert_int_equal(c->state, CS_CLOSED);
	th_run(b);
	th_peer_free(slow);
	th_broker_free(b);
}

/* size_t all the way: a request near SIZE_MAX is refused, not wrapped into a small buffer. */
static void test_output_no_wrap(void **state)
{
	struct broker *b = th_broker(NULL);
	struct peer *p = th_client(b, "p", true);
	struct client *c = client_of(b, "p");

	assert_null(client_out_reserve(c, SIZE_MAX - 8));
	assert_int_equal(c->doom, DOOM_OUT_HARD);
	th_run(b);
	th_peer_free(p);
	th_broker_free(b);
}

/* The CONNECT deadline runs from accept: bytes dribbled in do not restart it. */
static void test_connect_deadline(void **state)
{
	static const uint8_t part[] = { 0x10, 0x10, 0x00 };
	struct broker *b = th_broker(NULL);
	struct peer *p = th_peer(b);
	struct client *c = b->clients;
	uint64_t accepted = c->last_rx_ms;
	size_t i;

	for (i = 0; i < sizeof(part); i++) {
		th_send_raw(p, &part[i], 1);
		th_run(b);
	}
	assert_int_equal(c->last_rx_ms, accepted);
	c->last_rx_ms -= BROKER_CONNECT_TIMEOUT_MS + 1; /* as if accepted 5 s ago */
	client_housekeeping(b);
	assert_true(th_closed(b, p));
	th_peer_free(p);
	th_broker_free(b);
}

/* max_inflight_bytes then max_queued_bytes, each admitting while under its limit. */
static void test_inflight_and_queued_bytes(void **state)
{
	struct broker *b = th_broker("max_inflight_bytes 10\nmax_queued_bytes 25\n"
				     "max_queued_messages 0");
	struct peer *sub = th_client(b, "sub", false), *pub = th_client(b, "pub", true);
	struct session *s = session_find(b, "sub", 3);
	struct mqtt_packet pkt;
	int i;

	th_subscribe(b, sub, "b", 1);
	for (i = 0; i < 8; i++) {
		th_publish(pub, "b", "12345678", 1, (uint16_t)(i + 1), false);
		th_run(b);
	}
	assert_int_equal(s->ninf, 2);	/* 8 < 10 admits the second: 16 in flight */
	assert_int_equal(s->q_count, 4); /* 8, 16, 24 < 25 admit; 32 does not */
	assert_int_equal(s->q_bytes, 32);
	assert_int_equal(s->dropped, 2);
	/* An ack lets one in: in flight 8 < 10, then 16 stops the next. */
	assert_int_equal(th_recv(b, sub, &pkt) >> 4, MQTT_PUBLISH);
	th_ack(sub, MQTT_PUBACK, pkt.publish.pid);
	th_run(b);
	assert_int_equal(s->ninf, 2);
	assert_int_equal(s->q_count, 3);
	th_peer_free(sub);
	th_peer_free(pub);
	th_broker_free(b);
}

/* One SUBSCRIBE of n filters "f/0".."f/n-1" (or UNSUBSCRIBE), written raw. */
static void send_many(struct peer *p, uint8_t type, uint16_t pid, int n, const char *bad_last)
{
	size_t cap = 16 + (size_t)n * 16, len = 0;
	uint8_t *body = malloc(cap), *pkt = malloc(cap + 5);
	int i, hl;

	assert_non_null(body);
	assert_non_null(pkt);
	body[len++] = (uint8_t)(pid >> 8);
	body[len++] = (uint8_t)pid;
	for (i = 0; i < n; i++) {
		char f[16];
		int fl = i == n - 1 && bad_last ? snprintf(f, sizeof(f), "%s", bad_last)
						: snprintf(f, sizeof(f), "f/%d", i);

		body[len++] = 0;
		body[len++] = (uint8_t)fl;
		memcpy(body + len, f, (size_t)fl);
		len += (size_t)fl;
		if (type == MQTT_SUBSCRIBE)
			body[len++] = 1;
	}
	pkt[0] = (uint8_t)(type << 4 | 0x2);
	hl = mqtt_varint_encode(pkt + 1, (uint32_t)len);
	memcpy(pkt + 1 + hl, body, len);
	th_send_raw(p, pkt, 1 + (size_t)hl + len);
	free(body);
	free(pkt);
}

/*
 * A SUBSCRIBE of many filters is handled in slices: with slices of zero
 * time each does one bite, and another client is served in between. What
 * the client sent after it waits, then follows in order.
 */
static void test_subscribe_in_slices(void **state)
{
	struct broker *b = th_broker(NULL);
	struct peer *big = th_client(b, "big", true), *other = th_client(b, "other", true);
	struct session *s = session_find(b, "big", 3);
	struct mqtt_packet pkt = { .type = MQTT_PINGREQ };
	int n = 5000, rounds = 0, first;

	b->slice_ns = 0;
	send_many(big, MQTT_SUBSCRIBE, 9, n, NULL);
	th_send(big, &pkt); /* after the SUBSCRIBE: answered after its SUBACK */
	th_run(b);
	assert_non_null(client_of(b, "big")->job);
	/* Meanwhile another client gets its answers. */
	th_send(other, &pkt);
	assert_int_equal(th_recv(b, other, &pkt) >> 4, MQTT_PINGRESP);
	assert_non_null(client_of(b, "big")->job);
	while (client_of(b, "big")->job && rounds++ < 10000)
		th_run(b);
	assert_null(client_of(b, "big")->job);
	assert_true(rounds > 10);
	assert_int_equal(s->nsubs, n);
	first = th_recv(b, big, &pkt);
	assert_int_equal(first >> 4, MQTT_SUBACK);
	assert_int_equal(pkt.suback.pid, 9);
	assert_int_equal(pkt.suback.count, n);
	assert_int_equal(th_recv(b, big, &pkt) >> 4, MQTT_PINGRESP);
	/* The same filters again replace, found by the session's index: no new ones. */
	send_many(big, MQTT_SUBSCRIBE, 10, n, NULL);
	for (rounds = 0; rounds < 10000 && th_recv(b, big, &pkt) == 0; rounds++)
		;
	assert_int_equal(s->nsubs, n);
	assert_int_equal(b->nsubscriptions, n);
	/* UNSUBSCRIBE in slices too, every filter found and removed. */
	send_many(big, MQTT_UNSUBSCRIBE, 11, n, NULL);
	for (rounds = 0; rounds < 10000 && th_recv(b, big, &pkt) == 0; rounds++)
		;
	assert_int_equal(pkt.type, MQTT_UNSUBACK);
	assert_int_equal(s->nsubs, 0);
	assert_int_equal(b->tree.nnodes, 0);
	th_peer_free(big);
	th_peer_free(other);
	th_broker_free(b);
}

/* A bad filter at the very end closes the client and subscribes to nothing. */
static void test_subscribe_slices_bad_last(void **state)
{
	struct broker *b = th_broker(NULL);
	struct peer *big = th_client(b, "big", true), *late = th_client(b, "late", true);
	int rounds;

	b->slice_ns = 0;
	send_many(big, MQTT_SUBSCRIBE, 9, 3000, "a/#/b");
	for (rounds = 0; rounds < 10000 && !th_closed(b, big); rounds++)
		;
	assert_int_equal(b->tree.nnodes, 0);
	/* And a client closed in the middle of its job leaves nothing behind (ASan). */
	send_many(late, MQTT_SUBSCRIBE, 9, 3000, NULL);
	th_run(b);
	assert_non_null(client_of(b, "late")->job);
	client_close(client_of(b, "late"), true, "test");
	th_run(b);
	assert_null(b->jobs);
	th_peer_free(big);
	th_peer_free(late);
	th_broker_free(b);
}

/* Subscriptions removed in an order unlike their adding: both sides' indexes stay right. */
static void test_sub_index_order(void **state)
{
	struct broker *b = th_broker(NULL);
	struct session *s1 = session_new(b, "s1", 2, false), *s2 = session_new(b, "s2", 2, false);
	char f[32];
	int i;

	for (i = 0; i < 2100; i++) {
		snprintf(f, sizeof(f), "x/%d", i % 700);
		/* A third time for s1: a replacement, found through its index. */
		assert_int_equal(sub_add(&b->tree, i % 1400 < 700 ? s1 : s2, f, strlen(f), 0),
				 i < 1400);
	}
	for (i = 0; i < 700; i++) {
		snprintf(f, sizeof(f), "x/%d", (i * 37) % 700);
		assert_int_equal(sub_remove(&b->tree, s1, f, strlen(f)), 0);
		assert_int_equal(sub_remove(&b->tree, s1, f, strlen(f)), -ENOENT);
		assert_int_equal(sub_match(&b->tree, &b->match, f, strlen(f)), 1);
		assert_ptr_equal(b->match.v[0].s, s2);
	}
	assert_int_equal(s1->nsubs, 0);
	assert_int_equal(s2->nsubs, 700);
	session_free(b, s1);
	session_free(b, s2);
	assert_int_equal(b->tree.nnodes, 0);
	th_broker_free(b);
}

#define PW_FILE                                                                            \
	"bridge:$6$bXFicm9rZXItdGVzdA==$NHUEeHNvEAjXskfKT6PCssR5NesKgcIH7VCKfWUBWgvOb4JOCPNDU5U3m" \
	"6DizPnJ6CILOUwqmGM3V9cq8dfb9g==\n"

static int connect_bridge(struct broker *b, struct peer *p, const char *user)
{
	struct mqtt_packet pkt = { .type = MQTT_CONNECT };

	pkt.connect.proto_name = mqtt_str_c("MQTT", 4);
	pkt.connect.level = MQTT_PROTO_V311 | MQTT_PROTO_BRIDGE_BIT;
	pkt.connect.clean = false;
	pkt.connect.keepalive = 60;
	pkt.connect.client_id = mqtt_str_c("far.b1", 6);
	if (user) {
		pkt.connect.has_username = pkt.connect.has_password = true;
		pkt.connect.username = mqtt_str_c(user, strlen(user));
		pkt.connect.password = mqtt_str_c("secret-pw", 9);
	}
	th_send(p, &pkt);
	return th_recv(b, p, &pkt) > 0 ? pkt.connack.rc : -1;
}

/*
 * Bridge hellos change what the loop rule lets through, so they count only
 * from a bridge_user's live connection; a client that merely sets the
 * bridge bit gets Mosquitto's treatment (no echo) and nothing more.
 */
static void test_bridge_trust(void **state)
{
	struct broker *b = th_broker("password_file pw\nbridge_user bridge");
	char err[CONF_ERR_LEN];
	struct peer *p = th_peer(b);
	struct session *s;

	assert_int_equal(auth_load_string("pw", PW_FILE, strlen(PW_FILE), &b->sec.auth, err), 0);
	assert_int_equal(connect_bridge(b, p, "bridge"), 0);
	s = session_find(b, "far.b1", 6);
	assert_int_equal(s->link, LINK_IN);
	assert_true(s->trusted);
	th_publish(p, BRIDGE_HELLO_TOPIC, "abc 1 2", 0, 0, false);
	th_run(b);
	assert_int_equal(s->peer_id, 0xabc);
	assert_int_equal(s->npeer_nbrs, 2);
	th_peer_free(p);
	th_run(b);
	/* The same session, now from a client that did not authenticate as a bridge. */
	p = th_peer(b);
	assert_int_equal(connect_bridge(b, p, NULL), 0);
	assert_ptr_equal(session_find(b, "far.b1", 6), s);
	assert_int_equal(s->link, LINK_IN);
	assert_false(s->trusted);
	assert_int_equal(s->peer_id, 0); /* nothing carried over from the offline session */
	assert_int_equal(s->npeer_nbrs, 0);
	th_publish(p, BRIDGE_HELLO_TOPIC, "def 3", 1, 1, false);
	th_run(b);
	assert_int_equal(s->peer_id, 0);
	assert_int_equal(b->st.pub_denied, 1); /* a $SYS write like any other */
	th_peer_free(p);
	th_broker_free(b);
}

/* A listening socket on loopback: the remote end of a bridge, played by the test. */
static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Our fake remote's end of the bridge connection, with what it read and not taken. */
struct remote {
	int fd;
	uint8_t buf[8192];
	size_t have;
};

/* The next packet the bridge sends to our fake remote, running the broker meanwhile. */
static int remote_recv(struct broker *b, struct remote *r, uint8_t *body, uint32_t *len)
{
	int round;

	for (round = 0; round < 200; round++) {
		ssize_t n = recv(r->fd, r->buf + r->have, sizeof(r->buf) - r->have, MSG_DONTWAIT);
		uint32_t rem;
		uint8_t hdr;
		int hl;

		if (n > 0)
			r->have += (size_t)n;
		hl = mqtt_fixed_header(r->buf, r->have, &hdr, &rem);
		if (hl > 0 && r->have >= (size_t)hl + rem) {
			memcpy(body, r->buf + hl, rem);
			*len = rem;
			r->have -= (size_t)hl + rem;
			memmove(r->buf, r->buf + hl + rem, r->have);
			return hdr >> 4;
		}
		th_run(b);
		usleep(1000);
	}
	return -1;
}

/* The next packet from the bridge: one filter (and its QoS for a SUBSCRIBE). */
static void expect_one(struct broker *b, struct remote *r, int type, const char *filter,
		       int qos)
{
	struct mqtt_packet pkt;
	struct mqtt_topic_req req;
	struct pkt_reader it;
	uint8_t body[4096];
	uint32_t len;

	assert_int_equal(remote_recv(b, r, body, &len), type);
	assert_int_equal(mqtt_decode(type == MQTT_SUBSCRIBE ? 0x82 : 0xa2, body, len, &pkt), 0);
	assert_int_equal(pkt.sub.count, 1);
	it = mqtt_topic_iter(&pkt.sub);
	assert_int_equal(mqtt_topic_next(&it, type == MQTT_SUBSCRIBE, &req), 1);
	assert_int_equal(req.filter.len, strlen(filter));
	assert_memory_equal(req.filter.p, filter, strlen(filter));
	if (type == MQTT_SUBSCRIBE)
		assert_int_equal(req.qos, qos);
}

/*
 * At every connection, session present or not, the bridge subscribes to
 * its 'in' topics at their configured QoS, and with
 * bridge_attempt_unsubscribe unsubscribes its 'out'-only ones: one packet
 * per topic line, in the configuration's order, as Mosquitto's bridge
 * does. Then nothing else (no hello: the remote never said one, so it may
 * not be an mqbroker); a PINGREQ from the remote is answered.
 */
static void test_bridge_resubscribes(void **state)
{
	struct broker *b;
	char conf[512];
	uint8_t body[4096];
	uint32_t len;
	uint16_t port;
	int lfd = listen_loopback(&port), attempt;
	struct remote r;

	snprintf(conf, sizeof(conf),
		 "connection r\naddress 127.0.0.1:%u\ntopic in/# in 1\ntopic out/# out 0\n"
		 "topic both/# both 2\nnotifications false\nrestart_timeout 1\n", port);
	b = th_broker(conf);
	assert_int_equal(bridge_start_all(b), 0);
	for (attempt = 0; attempt < 2; attempt++) {
		uint8_t connack[] = { 0x20, 0x02, 0x01, 0x00 }; /* session present */
		uint8_t ping[] = { 0xc0, 0x00 };

		memset(&r, 0, sizeof(r));
		for (r.fd = -1; r.fd < 0;) {
			th_run(b);
			r.fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
			if (r.fd < 0)
				usleep(10000);
		}
		assert_int_equal(remote_recv(b, &r, body, &len), MQTT_CONNECT);
		assert_int_equal(send(r.fd, connack, sizeof(connack), 0), sizeof(connack));
		expect_one(b, &r, MQTT_SUBSCRIBE, "in/#", 1);
		expect_one(b, &r, MQTT_UNSUBSCRIBE, "out/#", 0);
		expect_one(b, &r, MQTT_SUBSCRIBE, "both/#", 2);
		assert_int_equal(send(r.fd, ping, sizeof(ping), 0), sizeof(ping));
		assert_int_equal(remote_recv(b, &r, body, &len), MQTT_PINGRESP);
		close(r.fd); /* the link drops: the bridge comes back in a second */
	}
	close(lfd);
	th_broker_free(b);
}

static void test_log_escape(void **state)
{
	char buf[32];

	assert_string_equal(log_esc("plain/id", 8, buf, sizeof(buf)), "plain/id");
	assert_string_equal(log_esc("a\nb\x1b[31m", 8, buf, sizeof(buf)), "a\\x0ab\\x1b[31m");
	assert_string_equal(log_esc("back\\slash", 10, buf, sizeof(buf)), "back\\\\slash");
	/* UTF-8 kept; C1 controls (U+0085 here) escaped. */
	assert_string_equal(log_esc("\xc3\xa9t\xc3\xa9\xc2\x85", 7, buf, sizeof(buf)),
			    "\xc3\xa9t\xc3\xa9\\x85");
	/* Cut with a mark, never inside a character or an escape. */
	assert_string_equal(log_esc("0123456789abcdefghij", 20, buf, 12), "01234567...");
	assert_string_equal(log_esc("\n\n\n\n\n", 5, buf, 12), "\\x0a\\x0a...");
	assert_string_equal(log_esc("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10, buf, 10),
			    "\xc3\xa9\xc3\xa9\xc3\xa9...");
	assert_string_equal(log_esc("", 0, buf, sizeof(buf)), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_budget),
		cmocka_unit_test(test_memory_limit_publisher),
		cmocka_unit_test(test_output_bounds),
		cmocka_unit_test(test_output_stall),
		cmocka_unit_test(test_output_no_wrap),
		cmocka_unit_test(test_connect_deadline),
		cmocka_unit_test(test_inflight_and_queued_bytes),
		cmocka_unit_test(test_subscribe_in_slices),
		cmocka_unit_test(test_subscribe_slices_bad_last),
		cmocka_unit_test(test_sub_index_order),
		cmocka_unit_test(test_bridge_trust),
		cmocka_unit_test(test_bridge_resubscribes),
		cmocka_unit_test(test_log_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

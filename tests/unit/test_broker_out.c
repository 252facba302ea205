// SPDX-License-Identifier: GPL-2.0
/*
 * When a connection's output leaves (client.c): held for before_sleep, but
 * written between two events as soon as a second connection has output
 * pending, or once the oldest of it has waited b->out_hold_ns. A real struct broker and its loop; clients are
 * socketpairs driven with raw MQTT packets from the codec, no threads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "broker.h"

/* The test's end of each connection. */
struct peer {
	int fd;
};

static int setup(void **state)
{
	struct broker *b = calloc(1, sizeof(*b));

	broker_conf_init(&b->conf);
	b->conf.connection_messages = false;
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

static void send_pkt(int fd, const struct mqtt_packet *pkt)
{
	uint8_t buf[256];
	long n = mqtt_encode(pkt, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(write(fd, buf, (size_t)n), n);
}

/* Bytes waiting on the test's end, consumed; 0 when none. */
static long drain(int fd)
{
	uint8_t buf[4096];
	long total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	return total;
}

/* One loop pass over what the peers wrote; the test sets no before_sleep. */
static void run_once(struct broker *b)
{
	assert_true(ev_run_once(b->loop, 0) >= 0);
}

static struct peer connect_client(struct broker *b, const char *id, const char *filter)
{
	struct mqtt_packet pkt = { .type = MQTT_CONNECT };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct mqtt_topic_req req;
	struct peer p;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_non_null(client_attach(b, sv[0], (struct sockaddr *)&sa, NULL));
	p.fd = sv[1];
	pkt.connect.proto_name = mqtt_str_c("MQTT", 4);
	pkt.connect.level = 4;
	pkt.connect.clean = true;
	pkt.connect.keepalive = 60;
	pkt.connect.client_id = mqtt_str_c(id, strlen(id));
	send_pkt(p.fd, &pkt);
	if (filter) {
		memset(&pkt, 0, sizeof(pkt));
		pkt.type = MQTT_SUBSCRIBE;
		req.filter = mqtt_str_c(filter, strlen(filter));
		req.qos = 0;
		pkt.sub.pid = 1;
		pkt.sub.count = 1;
		pkt.sub.reqs = &req;
		send_pkt(p.fd, &pkt);
	}
	run_once(b);
	client_flush_all(b);
	assert_true(drain(p.fd) > 0); /* CONNACK (and SUBACK) */
	return p;
}

static void publish(const struct peer *p, const char *topic)
{
	struct mqtt_packet pkt = { .type = MQTT_PUBLISH };

	pkt.publish.topic = mqtt_str_c(topic, strlen(topic));
	pkt.publish.payload = (const uint8_t *)"0123456789abcdef";
	pkt.publish.payload_len = 16;
	send_pkt(p->fd, &pkt);
}

/* Two publishers, two subscribers, one topic each: the p2p benchmark in small. */
struct pairs {
	struct peer pub1, pub2, sub1, sub2;
};

static void open_pairs(struct broker *b, struct pairs *t)
{
	t->sub1 = connect_client(b, "sub1", "t/1");
	t->sub2 = connect_client(b, "sub2", "t/2");
	t->pub1 = connect_client(b, "pub1", NULL);
	t->pub2 = connect_client(b, "pub2", NULL);
}

static void close_pairs(struct pairs *t)
{
	close(t->pub1.fd);
	close(t->pub2.fd);
	close(t->sub1.fd);
	close(t->sub2.fd);
}

/* One event, one subscriber: its output waits for before_sleep. */
static void test_held_until_before_sleep(void **state)
{
	struct broker *b = *state;
	struct pairs t;

	open_pairs(b, &t);
	b->out_hold_ns = UINT64_MAX;
	publish(&t.pub1, "t/1");
	run_once(b);
	assert_int_equal(drain(t.sub1.fd), 0);
	assert_non_null(b->dirty);
	client_flush_all(b);
	assert_true(drain(t.sub1.fd) > 0);
	assert_null(b->dirty);
	close_pairs(&t);
}

/*
 * Two publishers, two subscribers, one batch: the first subscriber's
 * output does not wait for the rest of the batch, however long the hold.
 */
static void test_second_connection_flushes(void **state)
{
	struct broker *b = *state;
	struct pairs t;

	open_pairs(b, &t);
	b->out_hold_ns = UINT64_MAX;
	publish(&t.pub1, "t/1");
	publish(&t.pub2, "t/2");
	run_once(b);
	assert_true(drain(t.sub1.fd) > 0);
	assert_true(drain(t.sub2.fd) > 0);
	assert_null(b->dirty);
	close_pairs(&t);
}

/* With no hold, an event's output is written before the loop goes on. */
static void test_no_hold(void **state)
{
	struct broker *b = *state;
	struct pairs t;

	open_pairs(b, &t);
	b->out_hold_ns = 0;
	publish(&t.pub1, "t/1");
	run_once(b);
	assert_true(drain(t.sub1.fd) > 0);
	assert_null(b->dirty);
	close_pairs(&t);
}

/*
 * One subscriber (fan-in): output younger than the hold waits; once the
 * oldest of it has waited longer, the next event writes it all.
 */
static void test_hold_bounds_the_wait(void **state)
{
	struct broker *b = *state;
	struct timespec nap = { .tv_nsec = 250 * 1000 * 1000 };
	struct pairs t;

	open_pairs(b, &t);
	/* Far longer than one pass, even under sanitizers on a busy machine; shorter than the nap. */
	b->out_hold_ns = 200 * 1000 * 1000;
	publish(&t.pub1, "t/1");
	run_once(b);
	assert_int_equal(drain(t.sub1.fd), 0);
	assert_non_null(b->dirty);
	nanosleep(&nap, NULL);
	publish(&t.pub2, "t/1");
	run_once(b);
	assert_int_equal(drain(t.sub1.fd), 2 * (2 + 2 + 3 + 16));
	assert_null(b->dirty);
	close_pairs(&t);
}

/* Fan-in within the hold: many messages to one subscriber stay one batch. */
static void test_fan_in_within_hold_is_one_batch(void **state)
{
	struct broker *b = *state;
	struct pairs t;
	struct client *c;

	open_pairs(b, &t);
	b->out_hold_ns = UINT64_MAX;
	publish(&t.pub1, "t/1");
	publish(&t.pub2, "t/1");
	run_once(b);
	assert_int_equal(drain(t.sub1.fd), 0);
	c = b->dirty;
	assert_non_null(c);
	assert_null(c->dirty_next); /* one connection, two messages */
	assert_int_equal(client_out_pending(c), 2 * (2 + 2 + 3 + 16));
	client_flush_all(b);
	assert_int_equal(drain(t.sub1.fd), 2 * (2 + 2 + 3 + 16));
	close_pairs(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_held_until_before_sleep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_connection_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_bounds_the_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fan_in_within_hold_is_one_batch, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

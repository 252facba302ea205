// SPDX-License-Identifier: GPL-2.0
/*
 * The persistence file (broker/store*.c): a round trip of every kind of
 * state through serialise and load into a fresh broker; every truncation
 * refused as torn and every flipped byte as corrupt, with nothing loaded;
 * another version, a Mosquitto database and a foreign file refused by
 * name; records that checksum but make no sense; and the file itself:
 * written by store_close, read by store_open, refused or set aside with
 * --discard-store.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "conf.h"
#include "log.h"
#include "store.h"

/*
 * A broker holding one of everything: retained messages (one with a known
 * publisher), an offline session with subscriptions and a queue, a
 * connected one with QoS 1 and 2 in flight (one past PUBREC) and an
 * inbound QoS 2 message awaiting PUBREL, and a clean session, which is not
 * saved.
 */
static struct broker *populated(struct peer **keep)
{
	struct broker *b = th_broker("check_retain_source true\nmax_inflight_messages 2\n");
	struct peer *off = th_user_client(b, "offline", "olly", false);
	struct peer *on = th_user_client(b, "online", NULL, false);
	struct peer *clean = th_client(b, "clean", true);
	struct mqtt_packet pkt;

	th_subscribe(b, off, "q/#", 2);
	th_subscribe(b, off, "/lead/+/trail/", 1);
	th_peer_free(off);
	th_subscribe(b, on, "f/#", 2);
	th_subscribe(b, clean, "q/#", 1);
	th_run(b);
	th_publish(clean, "r/1", "retained one", 1, 1, true);
	assert_int_equal(th_recv(b, clean, &pkt) >> 4, MQTT_PUBACK);
	broker_publish_str(b, "r/2", "retained two", 12, 0, true);
	broker_publish_str(b, "$SYS/broker/x", "not saved", 9, 0, true);
	broker_publish_str(b, "q/a", "q1", 2, 1, false);
	broker_publish_str(b, "q/b", "q2", 2, 2, false);
	broker_publish_str(b, "/lead/x/trail/", "q3", 2, 1, false);
	/* online: window of 2, so the third waits in the queue */
	broker_publish_str(b, "f/1", "f1", 2, 1, false);
	broker_publish_str(b, "f/2", "f2", 2, 2, false);
	broker_publish_str(b, "f/3", "f3", 2, 1, false);
	assert_int_equal(th_recv(b, on, &pkt) >> 4, MQTT_PUBLISH);
	assert_int_equal(th_recv(b, on, &pkt) >> 4, MQTT_PUBLISH);
	th_ack(on, MQTT_PUBREC, pkt.publish.pid); /* f2 past PUBREC: only its id is left */
	assert_int_equal(th_recv(b, on, &pkt) >> 4, MQTT_PUBREL);
	/* inbound QoS 2 from "online", not released */
	th_publish(on, "f/in", "pending", 2, 77, false);
	assert_int_equal(th_recv(b, on, &pkt) >> 4, MQTT_PUBREC);
	th_peer_free(clean);
	th_run(b);
	*keep = on;
	return b;
}

static uint8_t *serialize(struct broker *b, size_t *len)
{
	struct store_stats st;
	uint8_t *buf = NULL;

	*len = 0;
	assert_int_equal(store_serialize(b, &buf, len, 1700000000000ull, &st), 0);
	assert_int_equal(st.sessions, 2);
	assert_int_equal(st.retained, 2); /* $SYS is not saved */
	return buf;
}

static void test_round_trip(void **state)
{
	struct peer *on;
	struct broker *a = populated(&on), *b = th_broker("check_retain_source true\n");
	struct store_stats st;
	struct session *s;
	struct tnode *n;
	char err[256] = "";
	uint8_t *buf;
	size_t len;

	buf = serialize(a, &len);
	assert_int_equal(store_load(b, buf, len, 1700000005000ull, &st, err, sizeof(err)), 0);
	assert_int_equal(st.sessions, 2);
	assert_int_equal(st.subs, 3);
	assert_int_equal(st.retained, 2);
	assert_int_equal(st.inflight, 2);
	assert_int_equal(st.queued, 4);
	assert_int_equal(st.qos2_in, 1);
	assert_int_equal(b->nsessions, 2);
	assert_int_equal(b->nsubscriptions, 3);
	assert_int_equal(b->nretained, 2);
	assert_null(session_find(b, "clean", 5));

	s = session_find(b, "offline", 7);
	assert_non_null(s);
	assert_false(s->clean);
	assert_string_equal(s->username, "olly");
	assert_ptr_equal(s->sec, &b->sec);
	assert_int_equal(s->nsubs, 2);
	assert_int_equal(s->q_count, 3);
	assert_string_equal(q_at(s, 0)->m->topic, "q/a");
	assert_int_equal(q_at(s, 0)->qos, 1);
	assert_int_equal(q_at(s, 1)->qos, 2);
	assert_string_equal(q_at(s, 2)->m->topic, "/lead/x/trail/");
	/* the same packet ids as drawn before the save */
	assert_int_equal(q_at(s, 0)->pid, q_at(session_find(a, "offline", 7), 0)->pid);
	assert_int_equal(s->next_pid, session_find(a, "offline", 7)->next_pid);
	/* offline since the save, 5 s ago by the wall clock */
	assert_true(ev_now_ms(b->loop) - s->offline_since_ms >= 5000);

	s = session_find(b, "online", 6);
	assert_non_null(s);
	assert_null(s->username);
	assert_int_equal(s->ninf, 2);
	assert_int_equal(inf_at(s, 0)->qos, 1);
	assert_string_equal(inf_at(s, 0)->m->topic, "f/1");
	assert_int_equal(inf_at(s, 1)->state, INF_WAIT_COMP);
	assert_null(inf_at(s, 1)->m);
	assert_int_equal(s->q_count, 1);
	assert_string_equal(q_at(s, 0)->m->topic, "f/3");
	assert_non_null(qos2_in_find(b, s, 77));
	assert_string_equal(qos2_in_find(b, s, 77)->m->topic, "f/in");

	n = tree_get(&b->tree, "r/1", 3, false);
	assert_non_null(n);
	assert_non_null(n->retained);
	assert_int_equal(n->retained->payload_len, 12);
	assert_non_null(n->rsrc);
	assert_string_equal(n->rsrc->id, "clean");
	n = tree_get(&b->tree, "r/2", 3, false);
	assert_null(n->rsrc); /* the broker's own: no publisher to check */
	assert_null(tree_get(&b->tree, "$SYS/broker/x", 13, false));
	free(buf);
	th_peer_free(on);
	th_broker_free(a);
	th_broker_free(b);
}

/* What a client sees after the load: the session, then the re-sends with DUP, then the queue. */
static void test_reconnect_after_load(void **state)
{
	struct peer *on, *p;
	struct broker *a = populated(&on), *b = th_broker(NULL);
	struct mqtt_packet pkt;
	struct store_stats st;
	char err[256];
	uint8_t *buf;
	size_t len;

	buf = serialize(a, &len);
	assert_int_equal(store_load(b, buf, len, 1700000000000ull, &st, err, sizeof(err)), 0);
	p = th_peer(b);
	assert_int_equal(th_connect(b, p, "online", false, 60), 0);
	assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBLISH);
	assert_true(pkt.publish.dup);
	assert_int_equal(pkt.publish.qos, 1);
	th_ack(p, MQTT_PUBACK, pkt.publish.pid);
	assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBREL);
	th_ack(p, MQTT_PUBCOMP, pkt.ack.pid);
	assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBLISH);
	assert_int_equal(pkt.publish.payload_len, 2);
	assert_memory_equal(pkt.publish.payload, "f3", 2);
	/* The inbound QoS 2: a re-sent PUBLISH is not a new one, PUBREL delivers it once. */
	th_publish(p, "f/in", "pending", 2, 77, false);
	assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBREC);
	th_ack(p, MQTT_PUBREL, 77);
	/* It subscribed to f/#: the released message comes to it, once, then the PUBCOMP. */
	assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBLISH);
	assert_int_equal(pkt.publish.payload_len, 7);
	assert_memory_equal(pkt.publish.payload, "pending", 7);
	assert_int_equal(th_recv(b, p, &pkt) >> 4, MQTT_PUBCOMP);
	assert_int_equal(th_recv(b, p, &pkt), 0);
	free(buf);
	th_peer_free(p);
	th_peer_free(on);
	th_broker_free(a);
	th_broker_free(b);
}

static int load_into_fresh(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct broker *b = th_broker(NULL);
	struct store_stats st;
	int e = store_load(b, buf, len, 1700000000000ull, &st, err, errlen);

	/* Refused means nothing loaded, not half. */
	if (e) {
		assert_int_equal(b->nsessions, 0);
		assert_int_equal(b->nretained, 0);
	}
	th_broker_free(b);
	return e;
}

/* Every prefix of a good file is a torn file: refused, nothing loaded. */
static void test_torn(void **state)
{
	struct peer *on;
	struct broker *a = populated(&on);
	char err[256];
	size_t len, cut;
	uint8_t *buf = serialize(a, &len);

	for (cut = 0; cut < len; cut++) {
		int e = load_into_fresh(buf, cut, err, sizeof(err));

		assert_int_equal(e, -EBADMSG);
		if (cut >= 8 && !strstr(err, "torn"))
			fail_msg("cut at %zu: '%s'", cut, err);
	}
	assert_int_equal(load_into_fresh(buf, len, err, sizeof(err)), 0);
	/* Bytes after the end record: not ours to ignore. */
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	assert_int_equal(load_into_fresh(buf, len + 1, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "bytes after the end record"));
	free(buf);
	th_peer_free(on);
	th_broker_free(a);
}

/* Any byte changed after the signature, header included: refused (a checksum, a length...). */
static void test_corrupt(void **state)
{
	struct peer *on;
	struct broker *a = populated(&on);
	char err[256];
	size_t len, i;
	uint8_t *buf = serialize(a, &len);

	for (i = 8; i < len; i++) {
		buf[i] ^= 0x01;
		if (!load_into_fresh(buf, len, err, sizeof(err)))
			fail_msg("byte %zu flipped: accepted", i);
		buf[i] ^= 0x01;
	}
	buf[STORE_HDR_LEN + 9] ^= 0x40;
	assert_int_equal(load_into_fresh(buf, len, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "corrupt: record 1 (byte 32) fails its checksum");
	free(buf);
	th_peer_free(on);
	th_broker_free(a);
}

static void test_foreign(void **state)
{
	static const uint8_t mosq[] = "\x00\xb5\x00mosquitto db\x00\x00\x00\x06";
	uint8_t hdr[STORE_HDR_LEN] = "MQBSTORE\x00\x00\x00\x02\x00\x00\x00\x20";
	char err[256];

	assert_int_equal(load_into_fresh(mosq, sizeof(mosq) - 1, err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "a Mosquitto database, which mqbroker does not read (its own format differs)");
	assert_int_equal(load_into_fresh((const uint8_t *)"# a config file\nlistener 1\n", 27, err,
					 sizeof(err)), -EPROTO);
	assert_string_equal(err, "not an mqbroker store (no MQBSTORE signature)");
	assert_int_equal(load_into_fresh(hdr, sizeof(hdr), err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "format version 2, this mqbroker reads version 1");
	assert_int_equal(load_into_fresh(hdr, 0, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "torn: 0 bytes, shorter than the header");
}

/* Hand-made files whose records checksum but do not make sense. */
static size_t rec(uint8_t *out, uint8_t type, const void *body, uint32_t n)
{
	uint32_t crc;

	out[0] = type;
	out[1] = (uint8_t)(n >> 24), out[2] = (uint8_t)(n >> 16);
	out[3] = (uint8_t)(n >> 8), out[4] = (uint8_t)n;
	memcpy(out + 5, body, n);
	crc = crc32c(0, out, 5 + n);
	out[5 + n] = (uint8_t)(crc >> 24), out[6 + n] = (uint8_t)(crc >> 16);
	out[7 + n] = (uint8_t)(crc >> 8), out[8 + n] = (uint8_t)crc;
	return 9 + n;
}

static size_t finish(uint8_t *f, size_t len, uint64_t nrec)
{
	uint8_t end[12];
	uint32_t crc = crc32c(0, f, len);
	int i;

	for (i = 0; i < 8; i++)
		end[i] = (uint8_t)(nrec >> (56 - 8 * i));
	end[8] = (uint8_t)(crc >> 24), end[9] = (uint8_t)(crc >> 16);
	end[10] = (uint8_t)(crc >> 8), end[11] = (uint8_t)crc;
	return len + rec(f + len, STORE_REC_END, end, 12);
}

static void test_nonsense(void **state)
{
	uint8_t f[512] = "MQBSTORE\x00\x00\x00\x01\x00\x00\x00\x20";
	char err[256];
	size_t n;

	/* A RETAIN of message 0 before any MSG. */
	n = rec(f + 32, STORE_REC_RETAIN, "\x00\x00\x00\x00\x00", 5) + 32;
	n = finish(f, n, 1);
	assert_int_equal(load_into_fresh(f, n, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "corrupt: record 1 (byte 32): refers to a message not written before it");
	/* A SUB before any SESSION. */
	n = rec(f + 32, STORE_REC_SUB, "\x00\x01" "a\x01", 4) + 32;
	n = finish(f, n, 1);
	assert_int_equal(load_into_fresh(f, n, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "corrupt: record 1 (byte 32): session data outside a session");
	/* A record whose fields do not fill its length. */
	n = rec(f + 32, STORE_REC_SUB, "\x00\x05" "a\x01", 4) + 32;
	n = finish(f, n, 1);
	assert_int_equal(load_into_fresh(f, n, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "corrupt: record 1 (byte 32): its fields do not fill its length");
	/* An unknown record type. */
	n = rec(f + 32, 42, "", 0) + 32;
	n = finish(f, n, 1);
	assert_int_equal(load_into_fresh(f, n, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "corrupt: record 1 (byte 32): unknown record type");
	/* The end record counting wrong. */
	n = rec(f + 32, STORE_REC_MSG, "\x00\x00\x00\x00\x01\x00\x01t\x00\x00\x00\x00", 12) + 32;
	n = finish(f, n, 2);
	assert_int_equal(load_into_fresh(f, n, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "corrupt: record 2 (byte 53): the end record counts another number of records");
	/* And right: one message, nothing else, loads. */
	n = rec(f + 32, STORE_REC_MSG, "\x00\x00\x00\x00\x01\x00\x01t\x00\x00\x00\x00", 12) + 32;
	n = finish(f, n, 1);
	assert_int_equal(load_into_fresh(f, n, err, sizeof(err)), 0);
}

/* ---- the file: store_close writes it, store_open reads it, refuses it, or sets it aside ---- */

static char dir[64];

static struct broker *file_broker(void)
{
	char conf[256];

	snprintf(conf, sizeof(conf), "persistence true\npersistence_location %s\n"
		 "persistence_file s.db\n", dir);
	return th_broker(conf);
}

static void test_file(void **state)
{
	char path[128], bad[160], err[CONF_ERR_LEN];
	struct broker *b;
	struct peer *p;
	struct stat sb;
	FILE *f;

	strcpy(dir, "/tmp/test_broker_store.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.db", dir);
	(void)err;

	/* No file yet: an empty start; a leftover s.db.new is removed. */
	snprintf(bad, sizeof(bad), "%s.new", path);
	f = fopen(bad, "w");
	assert_non_null(f);
	fclose(f);
	b = file_broker();
	assert_int_equal(store_open(b, false), 0);
	assert_int_equal(stat(bad, &sb), -1);
	assert_int_equal(store_check_writable(b), 0);
	p = th_client(b, "keep", false);
	th_subscribe(b, p, "k", 1);
	th_peer_free(p);
	th_run(b);
	broker_publish_str(b, "k", "kept", 4, 1, true);
	store_close(b);
	th_broker_free(b);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* Back: the session, its queue, the retained message. */
	b = file_broker();
	assert_int_equal(store_open(b, false), 0);
	assert_int_equal(session_find(b, "keep", 4)->q_count, 1);
	assert_int_equal(b->nretained, 1);
	store_close(b);
	th_broker_free(b);

	/* Torn: refused, the file left as it was, nothing saved over it at exit. */
	assert_int_equal(truncate(path, 60), 0);
	b = file_broker();
	assert_int_equal(store_open(b, false), -EBADMSG);
	assert_null(b->store);
	store_close(b);
	th_broker_free(b);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 60);

	/* --discard-store: set aside as s.db.bad-SECONDS, empty start. */
	b = file_broker();
	assert_int_equal(store_open(b, true), 0);
	assert_int_equal(b->nsessions, 0);
	assert_int_equal(stat(path, &sb), -1);
	store_close(b);
	th_broker_free(b);
	assert_int_equal(stat(path, &sb), 0); /* the empty broker's own save */
	snprintf(bad, sizeof(bad), "rm -rf %s", dir);
	assert_int_equal(system(bad), 0);
}

/*
 * CRC-32C's check value ("123456789" gives 0xE3069283), then the fast path
 * against the table on every length to 300 at every alignment to 15 (the
 * 8-byte loop's head, body and tail), and continued in two pieces.
 */
static void test_crc32c(void **state)
{
	static uint8_t big[4096 + 16];
	size_t i, off, n;

	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c_portable(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
	assert_int_equal(crc32c(0, "", 0), 0);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 131 + (i >> 8) * 7 + 3);
	for (off = 0; off < 16; off++)
		for (n = 0; n <= 300; n++)
			assert_int_equal(crc32c(0, big + off, n), crc32c_portable(0, big + off, n));
	for (n = 301; n <= 4096; n = n * 3 / 2)
		assert_int_equal(crc32c(0, big + 5, n), crc32c_portable(0, big + 5, n));
	for (i = 0; i <= 64; i++)
		assert_int_equal(crc32c(crc32c(0, big + 3, i), big + 3 + i, 1000 - i),
				 crc32c_portable(0, big + 3, 1000));
}

/* A size hint (the last file's size) changes nothing but the allocation; a small one grows. */
static void test_size_hint(void **state)
{
	struct peer *on;
	struct broker *a = populated(&on);
	struct store_stats st;
	uint8_t *ref, *buf;
	size_t len, hint;

	ref = serialize(a, &len);
	for (hint = 1; hint <= len * 2; hint = hint * 4 + 1) {
		size_t l = hint;

		buf = NULL;
		assert_int_equal(store_serialize(a, &buf, &l, 1700000000000ull, &st), 0);
		assert_int_equal(l, len);
		assert_memory_equal(buf, ref, len);
		free(buf);
	}
	free(ref);
	th_peer_free(on);
	th_broker_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_size_hint),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reconnect_after_load),
		cmocka_unit_test(test_torn),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_nonsense),
		cmocka_unit_test(test_file),
	};

	log_set_level(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

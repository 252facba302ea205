// SPDX-License-Identifier: GPL-2.0
/*
 * enable_proxy_protocol 2: the PROXY v2 header parser on its own (valid
 * IPv4, IPv6 and LOCAL headers, TLVs, every way of being wrong, every
 * split), then on a live broker: the address the log and the session see,
 * the header cut across reads with the CONNECT behind it, refusals, the
 * deadline, and a listener without the directive.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "log.h"

static const uint8_t SIG[12] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n' };

/* A header: version/command, family, then body (addresses and TLVs) of blen bytes. */
static size_t hdr(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *body, uint16_t blen)
{
	memcpy(out, SIG, 12);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen)
		memcpy(out + 16, body, blen);
	return 16u + blen;
}

/* 203.0.113.7:5555 -> 198.51.100.1:1883 */
static const uint8_t V4[12] = { 203, 0, 113, 7, 198, 51, 100, 1, 0x15, 0xb3, 0x07, 0x5b };

static size_t hdr_v4(uint8_t *out)
{
	return hdr(out, 0x21, 0x11, V4, sizeof(V4));
}

static void test_v4(void **state)
{
	uint8_t buf[64];
	size_t n = hdr_v4(buf);
	struct proxy_v2_info info;
	const char *why = NULL;
	char s[PEER_ADDRSTR_LEN];

	assert_int_equal(proxy_v2_parse(buf, n, &info, &why), 28);
	assert_false(info.local);
	assert_string_equal(peer_addr_fmt(&info.src, s, sizeof(s)), "203.0.113.7:5555");
	assert_string_equal(peer_addr_fmt(&info.dst, s, sizeof(s)), "198.51.100.1:1883");
	/* Bytes after the header are not its business: the length is the header's own. */
	memcpy(buf + n, "\x10\x0c", 2);
	assert_int_equal(proxy_v2_parse(buf, n + 2, &info, &why), 28);
}

static void test_v6(void **state)
{
	uint8_t body[36] = { 0x20, 0x01, 0x0d, 0xb8 }, buf[64];
	struct proxy_v2_info info;
	const char *why = NULL;
	char s[PEER_ADDRSTR_LEN];
	size_t n;

	body[15] = 0x07;		/* 2001:db8::7 */
	body[31] = 0x01;		/* :: 1 */
	body[32] = 0xc3, body[33] = 0x50; /* 50000 */
	body[34] = 0x22, body[35] = 0xb3; /* 8883 */
	n = hdr(buf, 0x21, 0x21, body, sizeof(body));
	assert_int_equal(proxy_v2_parse(buf, n, &info, &why), 52);
	assert_int_equal(info.src.family, AF_INET6);
	assert_string_equal(peer_addr_fmt(&info.src, s, sizeof(s)), "[2001:db8::7]:50000");
	assert_string_equal(peer_addr_fmt(&info.dst, s, sizeof(s)), "[::1]:8883");
}

/* LOCAL (a health check): accepted whatever its family, the body skipped, no address. */
static void test_local(void **state)
{
	uint8_t buf[64];
	struct proxy_v2_info info;
	const char *why = NULL;

	assert_int_equal(proxy_v2_parse(buf, hdr(buf, 0x20, 0x00, NULL, 0), &info, &why), 16);
	assert_true(info.local);
	assert_int_equal(info.src.family, 0);
	assert_int_equal(proxy_v2_parse(buf, hdr(buf, 0x20, 0x11, V4, 12), &info, &why), 28);
	assert_true(info.local);
}

/* TLVs after the addresses (type, length, value) are skipped whole. */
static void test_tlvs(void **state)
{
	uint8_t body[12 + 3 + 5 + 3 + 20], buf[128];
	struct proxy_v2_info info;
	const char *why = NULL;
	char s[PEER_ADDRSTR_LEN];
	size_t n;

	memcpy(body, V4, 12);
	memcpy(body + 12, "\x02\x00\x05" "mqtt1", 8);	/* PP2_TYPE_AUTHORITY */
	memcpy(body + 20, "\x04\x00\x14", 3);		/* PP2_TYPE_NOOP, 20 bytes */
	memset(body + 23, 0xee, 20);
	n = hdr(buf, 0x21, 0x11, body, sizeof(body));
	assert_int_equal(proxy_v2_parse(buf, n, &info, &why), (long)n);
	assert_string_equal(peer_addr_fmt(&info.src, s, sizeof(s)), "203.0.113.7:5555");
}

/* Every prefix of a valid header is "more to come"; the whole is the header. */
static void test_split(void **state)
{
	uint8_t buf[64];
	size_t n = hdr_v4(buf), i;
	struct proxy_v2_info info;
	const char *why = NULL;

	for (i = 0; i < n; i++)
		assert_int_equal(proxy_v2_parse(buf, i, &info, &why), 0);
	assert_int_equal(proxy_v2_parse(buf, n, &info, &why), (long)n);
}

static void expect_bad(const uint8_t *buf, size_t n, const char *want)
{
	struct proxy_v2_info info;
	const char *why = NULL;

	assert_int_equal(proxy_v2_parse(buf, n, &info, &why), -EBADMSG);
	assert_string_equal(why, want);
}

static void test_bad(void **state)
{
	uint8_t buf[4096], body[64] = { 0 };

	/* An MQTT CONNECT is refused at its first byte, not after 16. */
	expect_bad((const uint8_t *)"\x10", 1, "no PROXY v2 signature");
	memcpy(buf, SIG, 12);
	buf[6] = 'X';
	expect_bad(buf, 7, "no PROXY v2 signature");
	/* PROXY v1, the text form. */
	expect_bad((const uint8_t *)"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 32, "no PROXY v2 signature");
	expect_bad(buf, hdr(buf, 0x11, 0x11, V4, 12), "PROXY protocol version is not 2");
	expect_bad(buf, hdr(buf, 0x31, 0x11, V4, 12), "PROXY protocol version is not 2");
	expect_bad(buf, hdr(buf, 0x22, 0x11, V4, 12), "unknown PROXY v2 command");
	expect_bad(buf, hdr(buf, 0x21, 0x12, V4, 12), "PROXY v2 family is not TCP over IPv4 or IPv6");
	expect_bad(buf, hdr(buf, 0x21, 0x22, body, 36),
		   "PROXY v2 family is not TCP over IPv4 or IPv6");
	expect_bad(buf, hdr(buf, 0x21, 0x31, body, 64),
		   "PROXY v2 family is not TCP over IPv4 or IPv6");
	expect_bad(buf, hdr(buf, 0x21, 0x00, NULL, 0), "PROXY v2 family is not TCP over IPv4 or IPv6");
	expect_bad(buf, hdr(buf, 0x21, 0x11, V4, 11), "PROXY v2 address block too short");
	expect_bad(buf, hdr(buf, 0x21, 0x21, body, 35), "PROXY v2 address block too short");
	/* Refused on the 16 bytes alone, before any of the body is waited for. */
	hdr(buf, 0x21, 0x11, NULL, 0);
	buf[14] = (PROXY_V2_MAX_BODY + 1) >> 8;
	buf[15] = (PROXY_V2_MAX_BODY + 1) & 0xff;
	expect_bad(buf, 16, "PROXY v2 header too long");
	buf[14] = 0xff, buf[15] = 0xff;
	expect_bad(buf, 16, "PROXY v2 header too long");
}

/* ---- on a live broker ---- */

struct proxied {
	struct broker *b;
	struct listener_conf lc;
	struct listener lst;
};

static struct proxied *proxied_broker(bool proxy)
{
	struct proxied *px = calloc(1, sizeof(*px));

	assert_non_null(px);
	px->b = th_broker(NULL);
	px->lc.proxy_v2 = proxy;
	px->lst.b = px->b;
	px->lst.conf = &px->lc;
	px->lst.sec = &px->b->sec;
	px->lst.fd = -1;
	return px;
}

static void proxied_free(struct proxied *px)
{
	th_broker_free(px->b);
	free(px);
}

static const uint8_t CONNECT[] = { 0x10, 0x0e, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 2, 'p', 'x' };

/* The socket's peer: what the balancer's own address would be. */
static const struct sockaddr_in BALANCER = { .sin_family = AF_INET, .sin_port = 0x3412,
					     .sin_addr.s_addr = 0x0100007f };

static void test_broker_header(void **state)
{
	struct proxied *px = proxied_broker(true);
	struct peer *p = th_peer_on(px->b, &px->lst, (const struct sockaddr *)&BALANCER);
	struct client *c = px->b->clients;
	struct mqtt_packet pkt;
	uint8_t buf[128];
	size_t n = hdr_v4(buf);
	char s[PEER_ADDRSTR_LEN];

	assert_int_equal(c->state, CS_PROXY);
	/* The header in three pieces, the last carrying the CONNECT too. */
	th_send_raw(p, buf, 5);
	th_run(px->b);
	th_send_raw(p, buf + 5, 14);
	th_run(px->b);
	assert_int_equal(c->state, CS_PROXY);
	memcpy(buf + n, CONNECT, sizeof(CONNECT));
	th_send_raw(p, buf + 19, n - 19 + sizeof(CONNECT));
	assert_int_equal(th_recv(px->b, p, &pkt) >> 4, MQTT_CONNACK);
	assert_int_equal(pkt.connack.rc, 0);
	assert_int_equal(c->state, CS_CONNECTED);
	assert_string_equal(peer_addr_fmt(&c->peer, s, sizeof(s)), "203.0.113.7:5555");
	th_peer_free(p);
	proxied_free(px);
}

static void test_broker_local(void **state)
{
	struct proxied *px = proxied_broker(true);
	struct peer *p = th_peer_on(px->b, &px->lst, (const struct sockaddr *)&BALANCER);
	struct client *c = px->b->clients;
	struct mqtt_packet pkt;
	uint8_t buf[64];
	size_t n = hdr(buf, 0x20, 0, NULL, 0);
	char s[PEER_ADDRSTR_LEN];

	memcpy(buf + n, CONNECT, sizeof(CONNECT));
	th_send_raw(p, buf, n + sizeof(CONNECT));
	assert_int_equal(th_recv(px->b, p, &pkt) >> 4, MQTT_CONNACK);
	/* LOCAL: the socket's own peer stays. */
	assert_string_equal(peer_addr_fmt(&c->peer, s, sizeof(s)), "127.0.0.1:4660");
	th_peer_free(p);
	proxied_free(px);
}

/* No header, a bad one, or none in time: closed without a CONNACK. */
static void test_broker_refused(void **state)
{
	struct proxied *px = proxied_broker(true);
	struct peer *p = th_peer_on(px->b, &px->lst, NULL);
	uint8_t buf[64];

	th_send_raw(p, CONNECT, sizeof(CONNECT));
	assert_true(th_closed(px->b, p));
	assert_int_equal(p->len, 0);
	th_peer_free(p);

	p = th_peer_on(px->b, &px->lst, NULL);
	th_send_raw(p, buf, hdr(buf, 0x21, 0x12, V4, 12));
	assert_true(th_closed(px->b, p));
	th_peer_free(p);

	/* Dribbling part of a header does not move the deadline. */
	p = th_peer_on(px->b, &px->lst, NULL);
	th_send_raw(p, SIG, 6);
	th_run(px->b);
	px->b->clients->last_rx_ms -= BROKER_CONNECT_TIMEOUT_MS + 1;
	client_housekeeping(px->b);
	assert_true(th_closed(px->b, p));
	th_peer_free(p);
	assert_null(px->b->clients);
	proxied_free(px);
}

/* Without the directive the bytes are MQTT, as ever: a header is no CONNECT. */
static void test_broker_plain(void **state)
{
	struct proxied *px = proxied_broker(false);
	struct peer *p = th_peer_on(px->b, &px->lst, NULL);
	uint8_t buf[64];

	assert_int_equal(px->b->clients->state, CS_NEW);
	th_send_raw(p, buf, hdr_v4(buf));
	assert_true(th_closed(px->b, p));
	th_peer_free(p);
	p = th_peer_on(px->b, &px->lst, NULL);
	assert_int_equal(th_connect(px->b, p, "plain", true, 60), 0);
	th_peer_free(p);
	proxied_free(px);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_tlvs),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_broker_header),
		cmocka_unit_test(test_broker_local),
		cmocka_unit_test(test_broker_refused),
		cmocka_unit_test(test_broker_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

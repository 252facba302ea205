// SPDX-License-Identifier: GPL-2.0
/* The on-down reset probe: headers and a TCP checksum checked byte by byte. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "kick.h"

/* Reference: RFC 1071 over big-endian words, pseudo-header first. */
static uint16_t ref_tcp_csum(const uint8_t *pkt)
{
	uint32_t sum = 0;
	int i;

	for (i = 12; i < 20; i += 2) /* source and destination addresses */
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	sum += 6 + 20;
	for (i = 20; i < 40; i += 2)
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void test_probe(void **state)
{
	const struct mqlb_flow_key key = {
		.client_addr_be = inet_addr("10.201.1.10"),
		.vip_addr_be = inet_addr("10.201.1.1"),
		.client_port_be = htons(43958),
		.vip_port_be = htons(1883),
	};
	uint8_t p[KICK_PROBE_LEN];
	uint32_t seqs[] = { 0, 1, 3405356067u, 0x80000000u, 0xffffffffu };
	size_t i;

	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		kick_build(&key, seqs[i], p);
		assert_int_equal(p[0], 0x45);
		assert_int_equal(p[2] << 8 | p[3], 40);
		assert_int_equal(p[9], 6);
		assert_memory_equal(p + 12, &key.vip_addr_be, 4);
		assert_memory_equal(p + 16, &key.client_addr_be, 4);
		assert_int_equal(p[20] << 8 | p[21], 1883);
		assert_int_equal(p[22] << 8 | p[23], 43958);
		assert_int_equal((uint32_t)p[24] << 24 | p[25] << 16 | p[26] << 8 | p[27], seqs[i]);
		assert_int_equal(p[32], 0x50); /* doff 5 */
		assert_int_equal(p[33], 0x10); /* ACK only */
		/* a correct checksum makes the whole sum 0xffff */
		assert_int_equal(ref_tcp_csum(p), 0xffff);
	}
}

static void test_backend_rst(void **state)
{
	struct mqlb_flow f = {
		.backend_addr_be = inet_addr("10.201.2.11"),
		.snat_addr_be = inet_addr("10.201.2.1"),
		.backend_port_be = htons(1883),
		.snat_port_be = htons(23456),
		.reset_seq = 0xdeadbeefu,
	};
	uint8_t p[KICK_PROBE_LEN];

	kick_build_backend_rst(&f, f.reset_seq, p);
	assert_memory_equal(p + 12, &f.snat_addr_be, 4);
	assert_memory_equal(p + 16, &f.backend_addr_be, 4);
	assert_int_equal(p[20] << 8 | p[21], 23456);
	assert_int_equal(p[22] << 8 | p[23], 1883);
	assert_int_equal((uint32_t)p[24] << 24 | p[25] << 16 | p[26] << 8 | p[27], 0xdeadbeefu);
	assert_int_equal(p[33], 0x04); /* RST only, no ACK */
	assert_int_equal(p[34] << 8 | p[35], 0); /* window */
	assert_int_equal(ref_tcp_csum(p), 0xffff);
}

/* Which collected flows get a RST to their broker, and with which SEQ. */
static void test_backend_rst_wanted(void **state)
{
	const uint32_t est = MQLB_FLOW_SYN | MQLB_FLOW_SYNACK | MQLB_FLOW_ESTABLISHED;
	const uint32_t fins = est | MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_FIN_BACKEND;
	static const struct {
		uint32_t flags;
		int kind;
		uint32_t seq;
	} cases[] = {
		{ est, -1, 0 },
		/* the client closed first: TIME_WAIT is on the client's host */
		{ fins, -1, 0 },
		{ fins | MQLB_FLOW_BACKEND_TIME_WAIT, MQLB_STAT_FLOW_BACKEND_RST_TIME_WAIT, 2000 },
		/* the broker closed first but the client never sent its FIN: no TIME_WAIT yet */
		{ est | MQLB_FLOW_FIN_BACKEND | MQLB_FLOW_BACKEND_TIME_WAIT, -1, 0 },
		/* a RST ended it: nothing is left on the broker */
		{ fins | MQLB_FLOW_BACKEND_TIME_WAIT | MQLB_FLOW_RST, -1, 0 },
		{ est | MQLB_FLOW_RST | MQLB_FLOW_RESET_SENT | MQLB_FLOW_BACKEND_LOST,
		  MQLB_STAT_FLOW_BACKEND_RST_LOST, 1000 },
		/* lost takes precedence: its SEQ is the one the broker is waiting for */
		{ fins | MQLB_FLOW_BACKEND_TIME_WAIT | MQLB_FLOW_BACKEND_LOST,
		  MQLB_STAT_FLOW_BACKEND_RST_LOST, 1000 },
		/* shifted timestamps let the next SYN through the TIME_WAIT: no RST */
		{ fins | MQLB_FLOW_BACKEND_TIME_WAIT | MQLB_FLOW_TS_SHIFT, -1, 0 },
		/* ... unless the flow's last TSval was not behind the balancer's clock */
		{ fins | MQLB_FLOW_BACKEND_TIME_WAIT | MQLB_FLOW_TS_SHIFT | MQLB_FLOW_TS_STALE,
		  MQLB_STAT_FLOW_BACKEND_RST_TIME_WAIT, 2000 },
		/* timestamps do nothing for a broker that lost its client */
		{ est | MQLB_FLOW_RST | MQLB_FLOW_BACKEND_LOST | MQLB_FLOW_TS_SHIFT,
		  MQLB_STAT_FLOW_BACKEND_RST_LOST, 1000 },
	};
	struct mqlb_flow f = { .reset_seq = 1000, .side[MQLB_SIDE_CLIENT].end = 2000 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t seq = 0;

		f.tcp_flags = cases[i].flags;
		assert_int_equal(kick_backend_rst_wanted(&f, &seq), cases[i].kind);
		assert_int_equal(seq, cases[i].seq);
	}
}

/*
 * A batch without a socket queues nothing; a full batch is sent before it
 * grows. Real RSTs on loopback, to a port nobody listens on (the kernel
 * drops them), through the raw socket mqlbd uses: root only.
 */
static void test_batch(void **state)
{
	struct mqlb_flow f = {
		.tcp_flags = MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_FIN_BACKEND | MQLB_FLOW_BACKEND_TIME_WAIT,
		.side[MQLB_SIDE_CLIENT].end = 77,
		.snat_addr_be = htonl(INADDR_LOOPBACK),
		.backend_addr_be = htonl(INADDR_LOOPBACK),
		.snat_port_be = htons(9),
		.backend_port_be = htons(9),
	};
	static struct kick_batch b;
	int i;

	(void)state;
	b.fd = -1;
	kick_batch_add(&b, &f);
	assert_int_equal(b.n, 0);
	/* A TIME_WAIT the timestamps cover gets no RST. */
	f.tcp_flags |= MQLB_FLOW_TS_SHIFT;
	b.fd = 0;  /* any descriptor: nothing may be queued to it */
	kick_batch_add(&b, &f);
	assert_int_equal(b.n, 0);
	b.fd = -1;
	f.tcp_flags &= ~MQLB_FLOW_TS_SHIFT;
	b.fd = kick_open();
	if (b.fd < 0)
		skip();
	for (i = 0; i < KICK_BATCH + 3; i++)
		kick_batch_add(&b, &f);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.sent[MQLB_STAT_FLOW_BACKEND_RST_TIME_WAIT], KICK_BATCH);
	kick_batch_flush(&b);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.sent[MQLB_STAT_FLOW_BACKEND_RST_TIME_WAIT], KICK_BATCH + 3);
	assert_int_equal(b.failed, 0);
	close(b.fd);
}

/* The queued RST's sequence number (TCP header after a 20-byte IP header). */
static uint32_t queued_seq(const struct kick_batch *b, unsigned int i)
{
	uint32_t seq;

	memcpy(&seq, b->pkt[i] + 20 + 4, sizeof(seq));
	return ntohl(seq);
}

/*
 * The collector's RSTs for a removed flow, each end in its own numbers:
 * a plain flow at each side's maxack; a bound (translated) flow's client
 * seq_delta behind the backend's numbers it is tracked in; a flow still
 * binding at the cookie's ISN + 1, and its backend (only once a SYN went
 * there) at the client's ISN + 1, the SYN's sequence number + 1.
 */
static void test_reset_numbers(void **state)
{
	struct mqlb_flow_key key = { .vip_addr_be = htonl(0x0a000101), .client_addr_be = htonl(0x0a000102) };
	struct mqlb_flow f = {
		.side[MQLB_SIDE_CLIENT].maxack = 5000,
		.side[MQLB_SIDE_BACKEND].maxack = 9000,
		.backend_addr_be = htonl(0x0a000202),
		.s_isn = 100,
		.client_isn = 700,
		.seq_delta = 3000,
	};
	static struct kick_batch b;

	(void)state;
	b.fd = 0; /* queued and looked at, never sent */
	kick_batch_add_reset(&b, &key, &f);
	assert_int_equal(b.n, 2);
	assert_int_equal(queued_seq(&b, 0), 5000);
	assert_int_equal(queued_seq(&b, 1), 9000);
	assert_int_equal(b.to[0].sin_addr.s_addr, key.client_addr_be);
	assert_int_equal(b.to[1].sin_addr.s_addr, f.backend_addr_be);
	b.n = 0;
	f.tcp_flags = MQLB_FLOW_XLATE;
	kick_batch_add_reset(&b, &key, &f);
	assert_int_equal(queued_seq(&b, 0), 2000);
	assert_int_equal(queued_seq(&b, 1), 9000);
	b.n = 0;
	f.tcp_flags = MQLB_FLOW_BIND_CONNECT;
	kick_batch_add_reset(&b, &key, &f);
	assert_int_equal(b.n, 1);
	assert_int_equal(queued_seq(&b, 0), 101);
	b.n = 0;
	f.tcp_flags = MQLB_FLOW_BIND_SYNACK;
	kick_batch_add_reset(&b, &key, &f);
	assert_int_equal(b.n, 2);
	assert_int_equal(queued_seq(&b, 0), 101);
	assert_int_equal(queued_seq(&b, 1), 701);
	b.n = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_backend_rst),
		cmocka_unit_test(test_backend_rst_wanted),
		cmocka_unit_test(test_reset_numbers),
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

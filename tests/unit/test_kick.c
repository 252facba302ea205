// SPDX-License-Identifier: GPL-2.0
/* The on-down reset probe: headers and a TCP checksum checked byte by byte. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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

	kick_build_backend_rst(&f, p);
	assert_memory_equal(p + 12, &f.snat_addr_be, 4);
	assert_memory_equal(p + 16, &f.backend_addr_be, 4);
	assert_int_equal(p[20] << 8 | p[21], 23456);
	assert_int_equal(p[22] << 8 | p[23], 1883);
	assert_int_equal((uint32_t)p[24] << 24 | p[25] << 16 | p[26] << 8 | p[27], 0xdeadbeefu);
	assert_int_equal(p[33], 0x04); /* RST only, no ACK */
	assert_int_equal(p[34] << 8 | p[35], 0); /* window */
	assert_int_equal(ref_tcp_csum(p), 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_backend_rst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/* When the daemon may remove a flow record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flowgc.h"

#define SEC 1000000000ULL

static const struct flow_timeouts t = {
	.idle_ns = 600 * SEC,
	.syn_ns = 5 * SEC,
	.close_ns = 2 * SEC,
};

static struct mqlb_flow flow(uint32_t flags, uint64_t created, uint64_t last)
{
	struct mqlb_flow f = { .tcp_flags = flags, .created_ns = created, .last_ns = last };

	return f;
}

#define EST (MQLB_FLOW_SYN | MQLB_FLOW_SYNACK | MQLB_FLOW_ESTABLISHED)

static void test_established(void **state)
{
	struct mqlb_flow f = flow(EST, 100 * SEC, 100 * SEC);

	assert_int_equal(flow_judge(&f, 699 * SEC, &t), FLOW_KEEP);
	assert_int_equal(flow_judge(&f, 700 * SEC, &t), FLOW_EXPIRE_IDLE);
	/* a stamp newer than our clock reading is not idle */
	assert_int_equal(flow_judge(&f, 50 * SEC, &t), FLOW_KEEP);
}

static void test_half_open(void **state)
{
	struct mqlb_flow syn = flow(MQLB_FLOW_SYN, 10 * SEC, 10 * SEC);
	struct mqlb_flow synack = flow(MQLB_FLOW_SYN | MQLB_FLOW_SYNACK, 10 * SEC, 14 * SEC);

	assert_int_equal(flow_judge(&syn, 14 * SEC, &t), FLOW_KEEP);
	assert_int_equal(flow_judge(&syn, 15 * SEC, &t), FLOW_EXPIRE_HALF_OPEN);
	/* retransmissions refresh last_ns, yet the handshake deadline counts from the SYN */
	assert_int_equal(flow_judge(&synack, 15 * SEC, &t), FLOW_EXPIRE_HALF_OPEN);
}

static void test_closed(void **state)
{
	struct mqlb_flow one_fin = flow(EST | MQLB_FLOW_FIN_CLIENT, 0, 100 * SEC);
	struct mqlb_flow both = flow(EST | MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_FIN_BACKEND, 0, 100 * SEC);
	struct mqlb_flow rst = flow(MQLB_FLOW_SYN | MQLB_FLOW_RST, 0, 100 * SEC);

	/* one FIN: the other side may still talk for a long time (half-close) */
	assert_int_equal(flow_judge(&one_fin, 103 * SEC, &t), FLOW_KEEP);
	assert_int_equal(flow_judge(&both, 101 * SEC, &t), FLOW_KEEP);
	assert_int_equal(flow_judge(&both, 102 * SEC, &t), FLOW_EXPIRE_CLOSED);
	assert_int_equal(flow_judge(&rst, 102 * SEC, &t), FLOW_EXPIRE_CLOSED);
	assert_string_equal(flow_verdict_name(FLOW_EXPIRE_CLOSED), "closed");
	assert_string_equal(flow_verdict_name(FLOW_KEEP), "keep");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_established),
		cmocka_unit_test(test_half_open),
		cmocka_unit_test(test_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

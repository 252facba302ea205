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
	.fin_wait_ns = 120 * SEC,
	.close_wait_ns = 60 * SEC,
};

static struct mqlb_flow flow(uint32_t flags, uint64_t created, uint64_t last)
{
	struct mqlb_flow f = { .tcp_flags = flags, .created_ns = created, .last_ns = last };

	return f;
}

#define EST (MQLB_FLOW_SYN | MQLB_FLOW_SYNACK | MQLB_FLOW_ESTABLISHED)
/* Established, and the broker has answered (its CONNACK): the keep-alive counts. */
#define ANSWERED (EST | MQLB_FLOW_BACKEND_DATA)

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
	struct mqlb_flow both = flow(EST | MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_FIN_BACKEND, 0, 100 * SEC);
	struct mqlb_flow rst = flow(MQLB_FLOW_SYN | MQLB_FLOW_RST, 0, 100 * SEC);

	assert_int_equal(flow_judge(&both, 101 * SEC, &t), FLOW_KEEP);
	assert_int_equal(flow_judge(&both, 102 * SEC, &t), FLOW_EXPIRE_CLOSED);
	assert_int_equal(flow_judge(&rst, 102 * SEC, &t), FLOW_EXPIRE_CLOSED);
	assert_string_equal(flow_verdict_name(FLOW_EXPIRE_CLOSED), "closed");
	assert_string_equal(flow_verdict_name(FLOW_KEEP), "keep");
}

/* 1.5 x keep-alive when longer than the idle timeout, never shorter than it. */
static void test_keepalive(void **state)
{
	static const struct flow_timeouts short_idle = { .idle_ns = 2 * SEC, .syn_ns = 5 * SEC,
							  .close_ns = 2 * SEC };
	struct mqlb_flow f = flow(ANSWERED, 100 * SEC, 100 * SEC);

	/* keep-alive 4 s over an idle timeout of 2 s: the limit is 6 s */
	f.keepalive_s = 4;
	assert_int_equal(flow_idle_limit_ns(&f, &short_idle), 6 * SEC);
	assert_int_equal(flow_judge(&f, 103 * SEC, &short_idle), FLOW_KEEP);
	assert_int_equal(flow_judge(&f, 106 * SEC - 1, &short_idle), FLOW_KEEP);
	assert_int_equal(flow_judge(&f, 106 * SEC, &short_idle), FLOW_EXPIRE_IDLE);
	/* odd keep-alives: 1.5 x 3 s = 4.5 s, exactly */
	f.keepalive_s = 3;
	assert_int_equal(flow_judge(&f, 104 * SEC + SEC / 2 - 1, &short_idle), FLOW_KEEP);
	assert_int_equal(flow_judge(&f, 104 * SEC + SEC / 2, &short_idle), FLOW_EXPIRE_IDLE);
	/* 1.5 x 60 s = 90 s is below the 600 s idle timeout: the idle timeout rules */
	f.keepalive_s = 60;
	assert_int_equal(flow_idle_limit_ns(&f, &t), 600 * SEC);
	assert_int_equal(flow_judge(&f, 699 * SEC, &t), FLOW_KEEP);
	assert_int_equal(flow_judge(&f, 700 * SEC, &t), FLOW_EXPIRE_IDLE);
	/* the largest keep-alive (18 h 12 min 15 s) does not overflow: 1.5 x 65535 s */
	f.keepalive_s = 65535;
	assert_int_equal(flow_idle_limit_ns(&f, &t), 98302500ULL * 1000000ULL);
	assert_int_equal(flow_judge(&f, 100 * SEC + 98302 * SEC, &t), FLOW_KEEP);
	assert_int_equal(flow_judge(&f, 100 * SEC + 98303 * SEC, &t), FLOW_EXPIRE_IDLE);
	/* keep-alive 0: only the idle timeout */
	f.keepalive_s = 0;
	assert_int_equal(flow_judge(&f, 102 * SEC, &short_idle), FLOW_EXPIRE_IDLE);
	(void)state;
}

/*
 * A keep-alive the broker never agreed to (no answer from it yet: no
 * CONNACK went back) does not stretch the flow: a client declaring 18 h
 * and falling silent is idle after idle-timeout like any other.
 */
static void test_keepalive_needs_answer(void **state)
{
	static const struct flow_timeouts short_idle = { .idle_ns = 2 * SEC, .syn_ns = 5 * SEC,
							  .close_ns = 2 * SEC };
	struct mqlb_flow f = flow(EST, 100 * SEC, 100 * SEC);

	f.keepalive_s = 65535;
	assert_int_equal(flow_idle_limit_ns(&f, &short_idle), 2 * SEC);
	assert_int_equal(flow_judge(&f, 102 * SEC, &short_idle), FLOW_EXPIRE_IDLE);
	f.tcp_flags |= MQLB_FLOW_BACKEND_DATA;
	assert_int_equal(flow_judge(&f, 102 * SEC, &short_idle), FLOW_KEEP);
	(void)state;
}

/*
 * Half-closed: one side's FIN, and the other may never send its own. The
 * flow is idle-expired after fin-wait while the FIN is not acknowledged,
 * after close-wait once it is, whatever the keep-alive; and such flows,
 * like idle ones, are reset both ways when removed.
 */
static void test_half_closed(void **state)
{
	struct mqlb_flow f = flow(ANSWERED | MQLB_FLOW_FIN_CLIENT, 0, 100 * SEC);

	f.keepalive_s = 65535;
	f.side[MQLB_SIDE_CLIENT].end = 5001;      /* the FIN's end */
	f.side[MQLB_SIDE_BACKEND].maxack = 5000;  /* not acknowledged yet */
	assert_int_equal(flow_judge(&f, 219 * SEC, &t), FLOW_KEEP);
	assert_int_equal(flow_judge(&f, 220 * SEC, &t), FLOW_EXPIRE_HALF_CLOSED);
	f.side[MQLB_SIDE_BACKEND].maxack = 5001;  /* acknowledged: the broker is in CLOSE_WAIT */
	assert_int_equal(flow_judge(&f, 159 * SEC, &t), FLOW_KEEP);
	assert_int_equal(flow_judge(&f, 160 * SEC, &t), FLOW_EXPIRE_HALF_CLOSED);
	/* the backend's FIN, the client's acknowledgment */
	f = flow(ANSWERED | MQLB_FLOW_FIN_BACKEND, 0, 100 * SEC);
	f.side[MQLB_SIDE_BACKEND].end = 9;
	f.side[MQLB_SIDE_CLIENT].maxack = 9;
	assert_int_equal(flow_judge(&f, 160 * SEC, &t), FLOW_EXPIRE_HALF_CLOSED);
	assert_string_equal(flow_verdict_name(FLOW_EXPIRE_HALF_CLOSED), "half-closed");
	assert_true(flow_verdict_resets(FLOW_EXPIRE_HALF_CLOSED, &f));
	assert_true(flow_verdict_resets(FLOW_EXPIRE_IDLE, &f));
	assert_false(flow_verdict_resets(FLOW_EXPIRE_CLOSED, &f));
	/* a forwarded SYN nobody completed: nothing to reset ... */
	f.tcp_flags = MQLB_FLOW_SYN;
	assert_false(flow_verdict_resets(FLOW_EXPIRE_HALF_OPEN, &f));
	/* ... but a client past the cookie handshake holds an established connection */
	f.tcp_flags = MQLB_FLOW_BIND_CONNECT;
	assert_true(flow_verdict_resets(FLOW_EXPIRE_HALF_OPEN, &f));
	f.tcp_flags = MQLB_FLOW_BIND_SYNACK;
	assert_true(flow_verdict_resets(FLOW_EXPIRE_HALF_OPEN, &f));
	(void)state;
}

/* The keep-alive stretches idle time only: TCP's end and the handshake deadline stay. */
static void test_keepalive_not_for_closed(void **state)
{
	const uint32_t fins = MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_FIN_BACKEND;
	struct mqlb_flow both = flow(EST | fins, 0, 100 * SEC);
	struct mqlb_flow rst = flow(EST | MQLB_FLOW_RST | MQLB_FLOW_RESET_SENT, 0, 100 * SEC);
	struct mqlb_flow syn = flow(MQLB_FLOW_SYN | MQLB_FLOW_SYNACK, 10 * SEC, 10 * SEC);

	both.keepalive_s = rst.keepalive_s = syn.keepalive_s = 600;
	assert_int_equal(flow_judge(&both, 102 * SEC, &t), FLOW_EXPIRE_CLOSED);
	assert_int_equal(flow_judge(&rst, 102 * SEC, &t), FLOW_EXPIRE_CLOSED);
	assert_int_equal(flow_judge(&syn, 15 * SEC, &t), FLOW_EXPIRE_HALF_OPEN);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_established),
		cmocka_unit_test(test_half_open),
		cmocka_unit_test(test_closed),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_keepalive_needs_answer),
		cmocka_unit_test(test_half_closed),
		cmocka_unit_test(test_keepalive_not_for_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench's closed-loop accounting: copies and skipped sequence numbers,
 * the window a dropped message must not keep, the stalled publisher's probe,
 * and the latency reservoir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mqbench.h"

#define MS 1000000ull

static void test_seq(void **state)
{
	uint32_t last = 0, gap = 7;

	assert_false(mqb_seq_copy(&last, 1, &gap));	/* the first message */
	assert_int_equal(gap, 0);
	assert_int_equal(last, 1);
	assert_false(mqb_seq_copy(&last, 2, &gap));
	assert_int_equal(gap, 0);
	assert_true(mqb_seq_copy(&last, 2, &gap));	/* again: a copy */
	assert_true(mqb_seq_copy(&last, 1, &gap));	/* older: a copy too */
	assert_int_equal(gap, 0);
	assert_int_equal(last, 2);
	assert_false(mqb_seq_copy(&last, 6, &gap));	/* 3, 4, 5 were dropped */
	assert_int_equal(gap, 3);
	assert_int_equal(last, 6);
	assert_true(mqb_seq_copy(&last, 4, &gap));	/* a late one after the gap */
	assert_int_equal(last, 6);
}

static void test_outstanding(void **state)
{
	assert_int_equal(mqb_outstanding(10, 0, 1), 10);
	assert_int_equal(mqb_outstanding(10, 7, 1), 3);
	/* fanout: a message settles once all of its fan has settled */
	assert_int_equal(mqb_outstanding(10, 799, 100), 3);
	assert_int_equal(mqb_outstanding(10, 800, 100), 2);
	/* a probe's deliveries can settle past what was counted sent before it */
	assert_int_equal(mqb_outstanding(5, 6, 1), 0);
	assert_int_equal(mqb_outstanding(5, 6, 0), 0);
}

static void test_probe_due(void **state)
{
	uint64_t t = 1000 * MS;

	assert_false(mqb_probe_due(t, t, 0));
	assert_false(mqb_probe_due(t + MQB_PROBE_NS - 1, t, 0));
	assert_true(mqb_probe_due(t + MQB_PROBE_NS, t, 0));
	/* one probe per MQB_PROBE_NS, counted from the later of progress and probe */
	assert_false(mqb_probe_due(t + MQB_PROBE_NS + 1, t, t + MQB_PROBE_NS));
	assert_true(mqb_probe_due(t + 2 * MQB_PROBE_NS, t, t + MQB_PROBE_NS));
	assert_false(mqb_probe_due(t + 2 * MQB_PROBE_NS, t + 2 * MQB_PROBE_NS - 1, 0));
}

/*
 * The fan-in that showed 0.1 ms at 37,000 msg/s: a publisher with a window
 * of 5 whose broker drops its messages 3..5. Without the accounting its
 * window stays full for the rest of the run; with it, the probe (message 6)
 * arrives with a gap, which settles 3..5, and the publisher goes on.
 */
static void test_dropped_window_comes_back(void **state)
{
	uint64_t sent = 0, settled = 0, lost = 0, now = 0, t_progress = 0, t_probe = 0;
	uint32_t last = 0, gap, seq;
	const int window = 5;

	while (mqb_outstanding(sent, settled, 1) < (uint64_t)window)
		sent++;		/* messages 1..5 */
	for (seq = 1; seq <= 2; seq++) {	/* only 1 and 2 arrive */
		assert_false(mqb_seq_copy(&last, seq, &gap));
		lost += gap;
		settled += gap + 1;
		t_progress = now;
	}
	assert_int_equal(mqb_outstanding(sent, settled, 1), 3);
	/* 3, 4 and 5 never come; the window is not full, so no probe yet */
	sent += 2;	/* 6 and 7 fill it again */
	assert_int_equal(mqb_outstanding(sent, settled, 1), window);
	now += MQB_PROBE_NS / 2;
	assert_false(mqb_probe_due(now, t_progress, t_probe));
	now += MQB_PROBE_NS;
	assert_true(mqb_probe_due(now, t_progress, t_probe));
	sent++;		/* the probe, 8 */
	t_probe = now;
	/* 6, 7 were dropped as well; the probe arrives */
	assert_false(mqb_seq_copy(&last, 8, &gap));
	lost += gap;
	settled += gap + 1;
	assert_int_equal(lost, 5);
	assert_int_equal(mqb_outstanding(sent, settled, 1), 0);
}

static void test_lat_reservoir(void **state)
{
	uint32_t buf[1000];
	struct mqb_lat l = { .v = buf, .cap = 1000 };
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < 500; i++)
		mqb_lat_add(&l, (uint32_t)i);
	assert_int_equal(l.n, 500);
	for (i = 0; i < 500; i++)
		assert_int_equal(buf[i], i);	/* under the cap: every sample, in order */
	for (i = 500; i < 1000000; i++)
		mqb_lat_add(&l, (uint32_t)i);
	assert_int_equal(l.n, 1000);
	assert_int_equal(l.seen, 1000000);
	assert_int_equal(l.max, 999999);
	/* a uniform sample of 0..999,999: its mean is near 500,000, not near 500 */
	for (i = 0; i < l.n; i++)
		sum += buf[i];
	assert_in_range(sum / l.n, 450000, 550000);
	mqb_sort_u32(buf, l.n);
	assert_in_range(mqb_percentile(buf, l.n, 99), 960000, 999999);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq),
		cmocka_unit_test(test_outstanding),
		cmocka_unit_test(test_probe_due),
		cmocka_unit_test(test_dropped_window_comes_back),
		cmocka_unit_test(test_lat_reservoir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

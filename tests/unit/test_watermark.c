// SPDX-License-Identifier: GPL-2.0
/* watermark.c: one warning on the way up past 80%, one on the way back to 70%, none between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "watermark.h"

static void test_hysteresis(void **state)
{
	struct watermark w = { 0 };

	assert_int_equal(watermark_update(&w, 0, 1000, 80, 70), WM_SAME);
	/* at the mark is not above it */
	assert_int_equal(watermark_update(&w, 800, 1000, 80, 70), WM_SAME);
	assert_int_equal(watermark_update(&w, 801, 1000, 80, 70), WM_ROSE);
	assert_int_equal(watermark_update(&w, 950, 1000, 80, 70), WM_SAME);
	assert_int_equal(watermark_update(&w, 790, 1000, 80, 70), WM_SAME); /* hovering */
	assert_int_equal(watermark_update(&w, 810, 1000, 80, 70), WM_SAME);
	assert_int_equal(watermark_update(&w, 701, 1000, 80, 70), WM_SAME);
	assert_int_equal(watermark_update(&w, 700, 1000, 80, 70), WM_FELL);
	assert_int_equal(watermark_update(&w, 100, 1000, 80, 70), WM_SAME);
	assert_int_equal(watermark_update(&w, 1000, 1000, 80, 70), WM_ROSE);
}

static void test_edges(void **state)
{
	struct watermark w = { 0 };

	assert_int_equal(watermark_update(&w, 5, 0, 80, 70), WM_SAME);    /* nothing to fill */
	assert_int_equal(watermark_update(&w, 2000, 1000, 80, 70), WM_ROSE); /* over-full */
	/* 2^24 flows x 100 stays far from overflowing 64 bits */
	w.high = false;
	assert_int_equal(watermark_update(&w, 16777216, 16777216, 80, 70), WM_ROSE);
	assert_int_equal(watermark_pct(1, 3), 33);
	assert_int_equal(watermark_pct(3, 0), 0);
	assert_int_equal(watermark_pct(22768, 22768), 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hysteresis),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

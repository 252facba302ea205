// SPDX-License-Identifier: GPL-2.0
/* The Maglev table of balance client-id: even, weighted, consistent, deterministic. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "maglev.h"
#include "mqlb_hash.h"

static uint16_t t1[MQLB_MAGLEV_SIZE], t2[MQLB_MAGLEV_SIZE];

static void count(const uint16_t *t, unsigned int *n)
{
	unsigned int i;

	for (i = 0; i < MQLB_MAGLEV_SIZE; i++)
		if (t[i] != MQLB_MAGLEV_NONE)
			n[t[i]]++;
}

static void test_even_and_full(void **state)
{
	struct maglev_backend be[3] = { { 0, "b1", 1 }, { 1, "b2", 1 }, { 2, "b3", 1 } };
	unsigned int n[MQLB_MAX_BACKENDS] = { 0 }, i;

	assert_int_equal(maglev_build(be, 3, 42, t1), 0);
	count(t1, n);
	assert_int_equal(n[0] + n[1] + n[2], MQLB_MAGLEV_SIZE);
	for (i = 0; i < 3; i++)
		assert_in_range(n[i], MQLB_MAGLEV_SIZE / 3 - 1, MQLB_MAGLEV_SIZE / 3 + 1);
	(void)state;
}

static void test_weights(void **state)
{
	struct maglev_backend be[3] = { { 0, "b1", 2 }, { 1, "b2", 1 }, { 2, "b3", 1 } };
	unsigned int n[MQLB_MAX_BACKENDS] = { 0 };

	assert_int_equal(maglev_build(be, 3, 42, t1), 0);
	count(t1, n);
	assert_in_range(n[0], MQLB_MAGLEV_SIZE / 2 - 2, MQLB_MAGLEV_SIZE / 2 + 2);
	assert_in_range(n[1], MQLB_MAGLEV_SIZE / 4 - 2, MQLB_MAGLEV_SIZE / 4 + 2);
	be[0].weight = 0;
	assert_int_equal(maglev_build(be, 3, 42, t1), -EINVAL);
	(void)state;
}

/* The table depends on names, weights and seed only: not on ids' order nor on slot ids. */
static void test_deterministic(void **state)
{
	struct maglev_backend a[3] = { { 0, "b1", 1 }, { 1, "b2", 1 }, { 2, "b3", 1 } };
	struct maglev_backend b[3] = { { 2, "b3", 1 }, { 0, "b1", 1 }, { 1, "b2", 1 } };
	unsigned int i, diff = 0;

	assert_int_equal(maglev_build(a, 3, 7, t1), 0);
	assert_int_equal(maglev_build(b, 3, 7, t2), 0);
	assert_memory_equal(t1, t2, sizeof(t1));
	/* Another seed: another table. */
	assert_int_equal(maglev_build(a, 3, 8, t2), 0);
	for (i = 0; i < MQLB_MAGLEV_SIZE; i++)
		diff += t1[i] != t2[i];
	assert_true(diff > MQLB_MAGLEV_SIZE / 2);
	(void)state;
}

/*
 * One of ten backends down: its slots move, and few others (Maglev's
 * paper: disruption a little above 1/n); back up: the table is as before.
 */
static void test_minimal_disruption(void **state)
{
	struct maglev_backend be[10];
	char names[10][8];
	unsigned int i, moved_own = 0, moved_other = 0;

	for (i = 0; i < 10; i++) {
		snprintf(names[i], sizeof(names[i]), "be%u", i);
		be[i] = (struct maglev_backend){ (uint16_t)i, names[i], 1 };
	}
	assert_int_equal(maglev_build(be, 10, 1, t1), 0);
	/* be3 down: build over the other nine. */
	be[3] = be[9];
	assert_int_equal(maglev_build(be, 9, 1, t2), 0);
	for (i = 0; i < MQLB_MAGLEV_SIZE; i++) {
		if (t1[i] == 3)
			moved_own++;
		else if (t1[i] != t2[i])
			moved_other++;
		assert_int_not_equal(t2[i], 3);
	}
	print_message("be3 down: its %u slots moved, and %u of the others' (%.1f%%)\n", moved_own,
		      moved_other, 100.0 * moved_other / MQLB_MAGLEV_SIZE);
	assert_true(moved_other < MQLB_MAGLEV_SIZE / 20); /* under 5% of the table */
	be[3] = (struct maglev_backend){ 3, names[3], 1 };
	assert_int_equal(maglev_build(be, 10, 1, t2), 0);
	assert_memory_equal(t1, t2, sizeof(t1));
	(void)state;
}

static void test_empty(void **state)
{
	unsigned int i;

	assert_int_equal(maglev_build(NULL, 0, 1, t1), 0);
	for (i = 0; i < MQLB_MAGLEV_SIZE; i++)
		assert_int_equal(t1[i], MQLB_MAGLEV_NONE);
	(void)state;
}

/* The hash is pinned: nodes of different builds and architectures must agree. */
static void test_hash_pinned(void **state)
{
	static const __u8 id[] = "sensor-0042";

	assert_true(mqlb_hash_bytes(0, id, 11) != mqlb_hash_bytes(1, id, 11));
	assert_true(mqlb_hash_bytes(0, id, 11) != mqlb_hash_bytes(0, id, 10));
	assert_int_equal(mqlb_hash_bytes(0, NULL, 0), mqlb_hash_mix(0));
	/* Changing this value changes every deployed node's choices: it must be on purpose. */
	assert_true(mqlb_hash_bytes(0, id, 11) == 0x62a269e9d2ce9dc3ULL);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_even_and_full),	   cmocka_unit_test(test_weights),
		cmocka_unit_test(test_deterministic),	   cmocka_unit_test(test_minimal_disruption),
		cmocka_unit_test(test_empty),		   cmocka_unit_test(test_hash_pinned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

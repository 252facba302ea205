// SPDX-License-Identifier: GPL-2.0
/* The pool and its weighted round-robin ring. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pool.h"

static struct sockaddr_in addr(int i)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(1883) };

	sa.sin_addr.s_addr = htonl(0x0a000200u + (uint32_t)i);
	return sa;
}

static int setup(void **state)
{
	struct pool *p = calloc(1, sizeof(*p));
	struct mqlb_ring *r = calloc(1, sizeof(*r));

	if (!p || !r)
		return -1;
	pool_init(p);
	state[0] = p;
	state[1] = r;
	return 0;
}

static int teardown(void **state)
{
	free(state[0]);
	free(state[1]);
	return 0;
}

static void add(struct pool *p, const char *name, int i, uint32_t w, enum mqlb_backend_state s)
{
	struct sockaddr_in sa = addr(i);

	assert_true(pool_add(p, name, &sa, w, s) >= 0);
}

static void test_equal_weights(void **state)
{
	struct pool *p = state[0];
	struct mqlb_ring *r = state[1];

	add(p, "b1", 11, 1, MQLB_BE_UP);
	add(p, "b2", 12, 1, MQLB_BE_UP);
	add(p, "b3", 13, 1, MQLB_BE_UP);
	assert_int_equal(pool_build_ring(p, r), 3);
	assert_int_equal(r->slot[0], 0);
	assert_int_equal(r->slot[1], 1);
	assert_int_equal(r->slot[2], 2);
}

static void test_weights_smooth(void **state)
{
	struct pool *p = state[0];
	struct mqlb_ring *r = state[1];
	int count[3] = { 0 }, i;

	add(p, "a", 1, 4, MQLB_BE_UP);
	add(p, "b", 2, 2, MQLB_BE_UP);
	add(p, "c", 3, 2, MQLB_BE_UP);
	/* gcd 2 -> 2:1:1, spread within the cycle as a b c a, never a a b c */
	assert_int_equal(pool_build_ring(p, r), 4);
	for (i = 0; i < 4; i++)
		count[r->slot[i]]++;
	assert_int_equal(count[0], 2);
	assert_int_equal(count[1], 1);
	assert_int_equal(count[2], 1);
	for (i = 0; i + 1 < 4; i++)
		assert_false(r->slot[i] == 0 && r->slot[i + 1] == 0);
}

static void test_states_excluded(void **state)
{
	struct pool *p = state[0];
	struct mqlb_ring *r = state[1];
	int i;

	add(p, "up", 1, 1, MQLB_BE_UP);
	add(p, "down", 2, 1, MQLB_BE_DOWN);
	add(p, "drain", 3, 1, MQLB_BE_DRAIN);
	add(p, "off", 4, 1, MQLB_BE_DISABLED);
	add(p, "up2", 5, 1, MQLB_BE_UP);
	assert_int_equal(pool_build_ring(p, r), 2);
	for (i = 0; i < 2; i++)
		assert_true(r->slot[i] == 0 || r->slot[i] == 4);
	assert_int_equal(pool_count(p, MQLB_BE_UP), 2);
}

static void test_none_up(void **state)
{
	struct pool *p = state[0];
	struct mqlb_ring *r = state[1];

	assert_int_equal(pool_build_ring(p, r), 0);
	add(p, "down", 2, 1, MQLB_BE_DOWN);
	assert_int_equal(pool_build_ring(p, r), 0);
	assert_int_equal(r->len, 0);
}

static void test_full_and_duplicates(void **state)
{
	struct pool *p = state[0];
	struct mqlb_ring *r = state[1];
	struct sockaddr_in sa = addr(1);
	char name[16];
	uint32_t n, i;
	int count[MQLB_MAX_BACKENDS] = { 0 };

	for (i = 0; i < MQLB_MAX_BACKENDS; i++) {
		snprintf(name, sizeof(name), "b%u", i);
		sa = addr((int)i);
		/* weights 1..256: the sum exceeds the ring and must be scaled */
		assert_int_equal(pool_add(p, name, &sa, i + 1, MQLB_BE_UP), (int)i);
	}
	assert_int_equal(pool_add(p, "extra", &sa, 1, MQLB_BE_UP), -ENOSPC);
	assert_int_equal(pool_add(p, "b0", &sa, 1, MQLB_BE_UP), -EEXIST);
	assert_int_equal(pool_find(p, "b17"), 17);
	assert_int_equal(pool_find(p, "nope"), -ENOENT);
	n = pool_build_ring(p, r);
	assert_true(n > 0 && n <= MQLB_RING_SIZE);
	for (i = 0; i < n; i++)
		count[r->slot[i]]++;
	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		assert_true(count[i] >= 1); /* nobody scaled away */
	assert_true(count[255] > count[0] * 100);
}

static void test_to_abi(void **state)
{
	struct pool *p = state[0];
	struct mqlb_backend be;

	add(p, "b1", 11, 7, MQLB_BE_DRAIN);
	pool_backend_to_abi(&p->be[0], &be);
	assert_int_equal(be.addr_be, htonl(0x0a00020bu));
	assert_int_equal(be.port_be, htons(1883));
	assert_int_equal(be.state, MQLB_BE_DRAIN);
	assert_int_equal(be.weight, 7);
	pool_backend_to_abi(&p->be[1], &be);
	assert_int_equal(be.state, MQLB_BE_EMPTY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_equal_weights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weights_smooth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_states_excluded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_none_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_and_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_to_abi, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The pool state machine and its weighted ring, against a fake data plane
 * that records what the pool publishes (the dp_ops seam).
 */
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

#include "log.h"
#include "pool.h"

struct fake_dp {
	struct mqlb_backend be[MQLB_MAX_BACKENDS];
	struct mqlb_backend_info info[MQLB_MAX_BACKENDS];
	struct mqlb_ring ring;
	int rings_published;
	int lost[MQLB_MAX_BACKENDS];
	int fail_next; /* -errno to return from the next set_backend */
	int fail_info; /* -errno to return from the next set_info */
};

static int fake_set_backend(void *ctx, uint32_t id, const struct mqlb_backend *be)
{
	struct fake_dp *f = ctx;
	int err = f->fail_next;

	f->fail_next = 0;
	if (err)
		return err;
	f->be[id] = *be;
	return 0;
}

static int fake_set_info(void *ctx, uint32_t id, const struct mqlb_backend_info *info)
{
	struct fake_dp *f = ctx;
	int err = f->fail_info;

	f->fail_info = 0;
	if (err)
		return err;
	f->info[id] = *info;
	return 0;
}

static int fake_publish_ring(void *ctx, struct mqlb_ring *ring)
{
	struct fake_dp *f = ctx;

	f->ring = *ring;
	f->rings_published++;
	return 0;
}

static void fake_backend_lost(void *ctx, uint32_t id)
{
	((struct fake_dp *)ctx)->lost[id]++;
}

static const struct dp_ops fake_ops = {
	.set_backend = fake_set_backend,
	.set_info = fake_set_info,
	.publish_ring = fake_publish_ring,
	.backend_lost = fake_backend_lost,
};

struct fixture {
	struct pool pool;
	struct fake_dp dp;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || pool_init(&fx->pool, &fake_ops, &fx->dp))
		return -1;
	log_set_level(LOG_LVL_WARN); /* state-change lines are for the daemon's log */
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	pool_free(&fx->pool);
	free(fx);
	return 0;
}

static struct sockaddr_in addr(int i)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(1883) };

	sa.sin_addr.s_addr = htonl(0x0a000200u + (uint32_t)i);
	return sa;
}

static int add(struct pool *p, const char *name, int i, uint32_t w)
{
	struct sockaddr_in sa = addr(i);
	int id = pool_add(p, name, &sa, w, ADMIN_ENABLED);

	assert_true(id >= 0);
	return id;
}

static void check(struct pool *p, int id, bool ok)
{
	pool_check_result(p, (uint32_t)id, ok, 1000, ok ? "CONNACK 0" : "connection refused", 0);
	assert_int_equal(pool_sync(p, 0), 0);
}

static int ring_count(const struct fake_dp *f, int id)
{
	uint32_t i;
	int n = 0;

	for (i = 0; i < f->ring.len; i++)
		n += f->ring.slot[i] == id;
	return n;
}

static void test_starts_down_up_after_first_check(void **state)
{
	struct fixture *fx = *state;
	int a = add(&fx->pool, "a", 1, 1);

	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.be[a].state, MQLB_BE_DOWN);
	assert_int_equal(fx->dp.ring.len, 0);
	assert_string_equal(fx->dp.info[a].name, "a");
	check(&fx->pool, a, true);
	assert_int_equal(fx->dp.be[a].state, MQLB_BE_UP);
	assert_int_equal(ring_count(&fx->dp, a), 1);
	assert_int_equal(fx->dp.info[a].check_result, MQLB_CHECK_OK);
	assert_string_equal(fx->dp.info[a].check_msg, "CONNACK 0");
	/* never up before: nothing to reset */
	assert_int_equal(fx->dp.lost[a], 0);
}

static void test_fall_and_rise(void **state)
{
	struct fixture *fx = *state;
	int a = add(&fx->pool, "a", 1, 1), b = add(&fx->pool, "b", 2, 1);

	fx->pool.rise = 3;
	fx->pool.fall = 2;
	check(&fx->pool, a, true);
	check(&fx->pool, b, true);
	assert_int_equal(fx->dp.ring.len, 2);
	check(&fx->pool, a, false); /* one failure: still up */
	assert_int_equal(fx->dp.be[a].state, MQLB_BE_UP);
	check(&fx->pool, a, true); /* a success resets the failure count */
	check(&fx->pool, a, false);
	assert_int_equal(fx->dp.be[a].state, MQLB_BE_UP);
	check(&fx->pool, a, false);
	assert_int_equal(fx->dp.be[a].state, MQLB_BE_DOWN);
	assert_int_equal(fx->dp.lost[a], 1);
	assert_int_equal(ring_count(&fx->dp, a), 0);
	assert_int_equal(ring_count(&fx->dp, b), 1);
	check(&fx->pool, a, true);
	check(&fx->pool, a, true);
	assert_int_equal(fx->dp.be[a].state, MQLB_BE_DOWN);
	check(&fx->pool, a, true);
	assert_int_equal(fx->dp.be[a].state, MQLB_BE_UP);
	assert_int_equal(ring_count(&fx->dp, a), 1);
	assert_int_equal(fx->dp.lost[a], 1);
}

static void test_admin_states(void **state)
{
	struct fixture *fx = *state;
	int a, b, c;

	fx->pool.health_none = true;
	a = add(&fx->pool, "a", 1, 1);
	b = add(&fx->pool, "b", 2, 1);
	c = add(&fx->pool, "c", 3, 1);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.ring.len, 3);

	assert_int_equal(pool_set_admin(&fx->pool, "b", ADMIN_DRAIN, "operator"), 0);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.be[b].state, MQLB_BE_DRAIN);
	assert_int_equal(ring_count(&fx->dp, b), 0);
	assert_int_equal(fx->dp.lost[b], 0); /* drained flows go on */

	assert_int_equal(pool_set_admin(&fx->pool, "c", ADMIN_DISABLED, "operator"), 0);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.be[c].state, MQLB_BE_DISABLED);
	assert_int_equal(fx->dp.lost[c], 0);
	assert_int_equal(fx->dp.ring.len, 1);
	assert_int_equal(fx->dp.ring.slot[0], a);

	assert_int_equal(pool_set_admin(&fx->pool, "b", ADMIN_ENABLED, "operator"), 0);
	assert_int_equal(pool_set_admin(&fx->pool, "nope", ADMIN_ENABLED, "operator"), -ENOENT);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.ring.len, 2);
	assert_int_equal(pool_count(&fx->pool, MQLB_BE_UP), 2);
}

static void test_del_resets_and_slot_not_reused(void **state)
{
	struct fixture *fx = *state;
	int a, b, c;

	fx->pool.health_none = true;
	a = add(&fx->pool, "a", 1, 1);
	b = add(&fx->pool, "b", 2, 1);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(pool_del(&fx->pool, "a", "operator"), 0);
	assert_int_equal(pool_del(&fx->pool, "a", "operator"), -ENOENT);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.be[a].state, MQLB_BE_EMPTY);
	assert_int_equal(fx->dp.lost[a], 1);
	assert_int_equal(fx->dp.info[a].name[0], '\0');
	assert_int_equal(fx->dp.ring.len, 1);
	assert_int_equal(fx->dp.ring.slot[0], b);
	/* The freed slot is not handed out again at once: its flows still name it. */
	c = add(&fx->pool, "c", 1, 1);
	assert_int_not_equal(c, a);
}

static void test_weights_and_all_down(void **state)
{
	struct fixture *fx = *state;
	int a = add(&fx->pool, "a", 1, 4), b = add(&fx->pool, "b", 2, 2),
	    c = add(&fx->pool, "c", 3, 2);
	uint32_t i;

	check(&fx->pool, a, true);
	check(&fx->pool, b, true);
	check(&fx->pool, c, true);
	/* gcd 2 -> 2:1:1, spread within the cycle as a b c a, never a a b c */
	assert_int_equal(fx->dp.ring.len, 4);
	assert_int_equal(ring_count(&fx->dp, a), 2);
	for (i = 0; i + 1 < 4; i++)
		assert_false(fx->dp.ring.slot[i] == a && fx->dp.ring.slot[i + 1] == a);
	assert_int_equal(pool_set_weight(&fx->pool, "b", 4), 0);
	assert_int_equal(pool_set_weight(&fx->pool, "b", 0), -ERANGE);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.ring.len, 5); /* 4:4:2 -> 2:2:1 */

	fx->pool.fall = 1;
	check(&fx->pool, a, false);
	check(&fx->pool, b, false);
	check(&fx->pool, c, false);
	assert_int_equal(fx->dp.ring.len, 0); /* the data plane answers SYNs with RST */
	assert_int_equal(pool_count(&fx->pool, MQLB_BE_DOWN), 3);
}

static void test_duplicates_full_and_scaling(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in sa = addr(1);
	char name[16];
	uint32_t i;
	int count[MQLB_MAX_BACKENDS] = { 0 };

	fx->pool.health_none = true;
	for (i = 0; i < MQLB_MAX_BACKENDS; i++) {
		snprintf(name, sizeof(name), "b%u", i);
		sa = addr((int)i);
		/* weights 1..256: the sum exceeds the ring and must be scaled */
		assert_true(pool_add(&fx->pool, name, &sa, i + 1, ADMIN_ENABLED) >= 0);
	}
	sa = addr(1000);
	assert_int_equal(pool_add(&fx->pool, "extra", &sa, 1, ADMIN_ENABLED), -ENOSPC);
	assert_int_equal(pool_add(&fx->pool, "b0", &sa, 1, ADMIN_ENABLED), -EEXIST);
	sa = addr(5);
	assert_int_equal(pool_add(&fx->pool, "other", &sa, 1, ADMIN_ENABLED), -EEXIST);
	assert_int_equal(pool_find(&fx->pool, "nope"), -ENOENT);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_true(fx->dp.ring.len > 0 && fx->dp.ring.len <= MQLB_RING_SIZE);
	for (i = 0; i < fx->dp.ring.len; i++)
		count[fx->dp.ring.slot[i]]++;
	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		assert_true(count[i] >= 1); /* nobody scaled away */
	assert_true(count[pool_find(&fx->pool, "b255")] > count[pool_find(&fx->pool, "b0")] * 100);
}

static void test_adoption_keeps_up(void **state)
{
	struct fixture *fx = *state;
	struct mqlb_backend prev = { .state = MQLB_BE_UP, .weight = 1 };
	struct sockaddr_in sa = addr(7);
	int rings;

	/* A previous daemon published backend "a" in slot 9, up. */
	prev.addr_be = sa.sin_addr.s_addr;
	prev.port_be = sa.sin_port;
	pool_adopt_published(&fx->pool, 9, &prev, "a");
	assert_int_equal(pool_add_at(&fx->pool, 9, "a", &sa, 1, ADMIN_ENABLED, HEALTH_UP), 9);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.lost[9], 0);
	assert_int_equal(fx->dp.ring.len, 1);
	rings = fx->dp.rings_published;
	/* A new slot is never one the previous daemon still has published. */
	assert_int_not_equal(add(&fx->pool, "b", 8, 1), 9);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.rings_published, rings); /* b is not up yet: ring unchanged */
}

/*
 * A backend the previous daemon had disabled (its flows running) and that
 * the new configuration enables must not be reset: it was healthy.
 */
static void test_adoption_disabled_not_reset(void **state)
{
	struct fixture *fx = *state;
	struct mqlb_backend prev = { .state = MQLB_BE_DISABLED, .weight = 1 };
	struct mqlb_backend gone = { .state = MQLB_BE_UP, .weight = 1 };
	struct sockaddr_in sa = addr(3), sb = addr(4);

	prev.addr_be = sa.sin_addr.s_addr;
	prev.port_be = sa.sin_port;
	gone.addr_be = sb.sin_addr.s_addr;
	gone.port_be = sb.sin_port;
	pool_adopt_published(&fx->pool, 2, &prev, "b2");
	pool_adopt_published(&fx->pool, 5, &gone, "old");
	/* as mqlbd adopts: anything but down keeps its health */
	assert_int_equal(pool_add_at(&fx->pool, 2, "b2", &sa, 1, ADMIN_ENABLED, HEALTH_UP), 2);
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.be[2].state, MQLB_BE_UP);
	assert_int_equal(fx->dp.lost[2], 0);
	/* slot 5 is not in the new configuration: removed, and its clients reset */
	assert_int_equal(fx->dp.be[5].state, MQLB_BE_EMPTY);
	assert_int_equal(fx->dp.lost[5], 1);
	assert_int_equal(fx->dp.ring.len, 1);
}

/* A sync that failed half way must still publish the ring on the next one. */
static void test_ring_after_failed_sync(void **state)
{
	struct fixture *fx = *state;
	int a = add(&fx->pool, "a", 1, 1), b = add(&fx->pool, "b", 2, 1);

	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.ring.len, 0);
	/* a comes up; b's check fails (info only); writing b's info fails */
	pool_check_result(&fx->pool, (uint32_t)a, true, 1, "CONNACK 0", 0);
	pool_check_result(&fx->pool, (uint32_t)b, false, 1, "timeout", 0);
	fx->dp.fail_info = -EIO;
	assert_true(a < b); /* a is written before b fails */
	assert_int_equal(pool_sync(&fx->pool, 0), -EIO);
	assert_int_equal(fx->dp.be[a].state, MQLB_BE_UP);
	/* the retry has nothing new for a, yet must publish the ring with a in it */
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.ring.len, 1);
	assert_int_equal(fx->dp.ring.slot[0], a);
}

static void test_sync_error(void **state)
{
	struct fixture *fx = *state;

	fx->pool.health_none = true;
	add(&fx->pool, "a", 1, 1);
	fx->dp.fail_next = -EPERM;
	assert_int_equal(pool_sync(&fx->pool, 0), -EPERM);
	/* Nothing is marked published on failure: the next sync retries. */
	assert_int_equal(pool_sync(&fx->pool, 0), 0);
	assert_int_equal(fx->dp.be[0].state, MQLB_BE_UP);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_starts_down_up_after_first_check),
		T(test_fall_and_rise),
		T(test_admin_states),
		T(test_del_resets_and_slot_not_reused),
		T(test_weights_and_all_down),
		T(test_duplicates_full_and_scaling),
		T(test_adoption_keeps_up),
		T(test_sync_error),
		T(test_adoption_disabled_not_reset),
		T(test_ring_after_failed_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/* The shared event loop, driven with socketpairs and no threads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "clock.h"
#include "evloop.h"

struct io_rec {
	int calls;
	uint32_t events;
	int del_fd;		/* fd to ev_del from inside the callback, or -1 */
	struct ev_loop *l;
};

static void on_io(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct io_rec *r = arg;
	char buf[16];

	r->calls++;
	r->events = events;
	if (events & EV_READ)
		(void)!read(fd, buf, sizeof(buf));
	if (r->del_fd >= 0) {
		ev_del(l, r->del_fd);
		r->del_fd = -1;
	}
}

static void test_io(void **state)
{
	struct ev_loop *l = ev_loop_new(1024);
	struct io_rec r = { .del_fd = -1 };
	int sv[2];

	assert_non_null(l);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(ev_add(l, sv[0], EV_READ, on_io, &r), 0);
	assert_int_equal(ev_add(l, sv[0], EV_READ, on_io, &r), -EEXIST);
	assert_int_equal(ev_run_once(l, 0), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(ev_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_true(r.events & EV_READ);
	/* Writable at once once asked for. */
	assert_int_equal(ev_mod(l, sv[0], EV_READ | EV_WRITE), 0);
	assert_int_equal(ev_mask(l, sv[0]), EV_READ | EV_WRITE);
	assert_int_equal(ev_run_once(l, 1000), 1);
	assert_true(r.events & EV_WRITE);
	assert_int_equal(ev_del(l, sv[0]), 0);
	assert_int_equal(ev_del(l, sv[0]), -ENOENT);
	assert_int_equal(ev_mod(l, sv[0], EV_READ), -ENOENT);
	assert_int_equal(ev_add(l, 5000, EV_READ, on_io, &r), -ERANGE);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(l);
}

static void test_del_in_batch(void **state)
{
	struct ev_loop *l = ev_loop_new(1024);
	struct io_rec a = { .del_fd = -1 }, b = { .del_fd = -1 };
	int p[2], q[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, q), 0);
	assert_int_equal(ev_add(l, p[0], EV_READ, on_io, &a), 0);
	assert_int_equal(ev_add(l, q[0], EV_READ, on_io, &b), 0);
	/* Both ready; whichever runs first deletes the other, which must then not run. */
	a.del_fd = q[0];
	b.del_fd = p[0];
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(write(q[1], "x", 1), 1);
	assert_int_equal(ev_run_once(l, 1000), 2);
	assert_int_equal(a.calls + b.calls, 1);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	ev_loop_free(l);
}

struct tm_rec {
	int calls;
	int stop_after;
	int again_ms;
	long long del_id;
};

static int on_timer(struct ev_loop *l, long long id, void *arg)
{
	struct tm_rec *t = arg;

	t->calls++;
	if (t->del_id) {
		ev_timer_del(l, t->del_id);
		t->del_id = 0;
	}
	if (t->stop_after && t->calls >= t->stop_after) {
		ev_stop(l);
		return EV_TIMER_STOP;
	}
	return t->again_ms;
}

static void test_timers(void **state)
{
	struct ev_loop *l = ev_loop_new(64);
	struct tm_rec once = { .again_ms = EV_TIMER_STOP }, rep = { .stop_after = 3, .again_ms = 5 };
	struct tm_rec victim = { .again_ms = EV_TIMER_STOP };
	long long id1, id2, id3;
	uint64_t t0 = mono_ms();

	id1 = ev_timer_add(l, 1, on_timer, &once);
	id2 = ev_timer_add(l, 2, on_timer, &rep);
	id3 = ev_timer_add(l, 50, on_timer, &victim);
	assert_true(id1 > 0 && id2 > id1 && id3 > id2);
	rep.del_id = id3; /* deleted by another timer before it fires */
	assert_int_equal(ev_run(l), 0);
	assert_int_equal(once.calls, 1);
	assert_int_equal(rep.calls, 3);
	assert_int_equal(victim.calls, 0);
	assert_true(mono_ms() - t0 >= 10);
	assert_true(ev_now_ms(l) >= t0);
	assert_int_equal(ev_timer_del(l, id1), -ENOENT);
	assert_int_equal(ev_timer_del(l, id3), -ENOENT);
	ev_loop_free(l);
}

static void count_hook(struct ev_loop *l, void *arg)
{
	(*(int *)arg)++;
}

static void test_before_sleep(void **state)
{
	struct ev_loop *l = ev_loop_new(64);
	int n = 0;

	ev_set_before_sleep(l, count_hook, &n);
	ev_run_once(l, 0);
	ev_run_once(l, 0);
	assert_int_equal(n, 2);
	ev_loop_free(l);
	assert_null(ev_loop_new(0));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_del_in_batch),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_before_sleep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * epoll event loop in the spirit of redis' ae.c. Ordering hazards handled
 * here rather than by every user:
 *  - a callback may ev_del() (and close) any fd, including ones whose events
 *    are still pending in the current batch: handlers are looked up through
 *    the per-fd table and skipped when their mask no longer matches;
 *  - timer callbacks may add or delete timers while timers are being run:
 *    deletion only marks the slot, which is reclaimed afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "evloop.h"

#define EV_BATCH 256

struct ev_timer {
	long long id; /* 0: free slot */
	uint64_t when;
	ev_timer_fn cb;
	void *arg;
};

struct ev_loop {
	int epfd;
	int setsize;
	int stop;
	uint64_t now;
	struct ev_handler *handlers; /* indexed by fd */
	struct ev_timer *timers;
	int ntimers, timers_cap;
	long long next_timer_id;
	ev_hook_fn before_sleep;
	void *before_sleep_arg;
	struct epoll_event fired[EV_BATCH];
};

struct ev_loop *ev_loop_new(int setsize)
{
	struct ev_loop *l;

	if (setsize <= 0) {
		errno = EINVAL;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->handlers = calloc((size_t)setsize, sizeof(*l->handlers));
	if (!l->handlers)
		goto out_free;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		goto out_free_handlers;
	l->setsize = setsize;
	l->next_timer_id = 1;
	l->now = mono_ms();
	return l;

out_free_handlers:
	free(l->handlers);
out_free:
	free(l);
	return NULL;
}

void ev_loop_free(struct ev_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->handlers);
	free(l->timers);
	free(l);
}

int ev_add(struct ev_loop *l, int fd, uint32_t mask, ev_io_fn cb, void *arg)
{
	struct epoll_event ee = { .events = mask };
	struct ev_handler *h;

	if (fd < 0 || fd >= l->setsize || !cb)
		return -ERANGE;
	h = &l->handlers[fd];
	if (h->cb)
		return -EEXIST;
	ee.data.ptr = h;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
		return -errno;
	h->cb = cb;
	h->arg = arg;
	h->mask = mask;
	h->fd = fd;
	return 0;
}

int ev_mod(struct ev_loop *l, int fd, uint32_t mask)
{
	struct epoll_event ee = { .events = mask };
	struct ev_handler *h;

	if (fd < 0 || fd >= l->setsize || !l->handlers[fd].cb)
		return -ENOENT;
	h = &l->handlers[fd];
	if (h->mask == mask)
		return 0;
	ee.data.ptr = h;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ee) < 0)
		return -errno;
	h->mask = mask;
	return 0;
}

int ev_del(struct ev_loop *l, int fd)
{
	int err = 0;

	if (fd < 0 || fd >= l->setsize || !l->handlers[fd].cb)
		return -ENOENT;
	/* ENOENT/EBADF: the fd may already be closed; the slot is still ours to clear. */
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF && errno != ENOENT)
		err = -errno;
	memset(&l->handlers[fd], 0, sizeof(l->handlers[fd]));
	return err;
}

uint32_t ev_mask(const struct ev_loop *l, int fd)
{
	if (fd < 0 || fd >= l->setsize)
		return 0;
	return l->handlers[fd].mask;
}

long long ev_timer_add(struct ev_loop *l, uint64_t ms, ev_timer_fn cb, void *arg)
{
	struct ev_timer *t;

	if (!cb)
		return -EINVAL;
	if (l->ntimers == l->timers_cap) {
		int cap = l->timers_cap ? l->timers_cap * 2 : 8;
		struct ev_timer *n = realloc(l->timers, (size_t)cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->timers = n;
		l->timers_cap = cap;
	}
	t = &l->timers[l->ntimers++];
	t->id = l->next_timer_id++;
	t->when = mono_ms() + ms;
	t->cb = cb;
	t->arg = arg;
	return t->id;
}

int ev_timer_del(struct ev_loop *l, long long id)
{
	int i;

	for (i = 0; i < l->ntimers; i++) {
		if (l->timers[i].id == id && id > 0) {
			l->timers[i].id = 0; /* reclaimed by timers_compact() */
			return 0;
		}
	}
	return -ENOENT;
}

void ev_set_before_sleep(struct ev_loop *l, ev_hook_fn fn, void *arg)
{
	l->before_sleep = fn;
	l->before_sleep_arg = arg;
}

void ev_stop(struct ev_loop *l)
{
	l->stop = 1;
}

uint64_t ev_now_ms(const struct ev_loop *l)
{
	return l->now;
}

static void timers_compact(struct ev_loop *l)
{
	int i, j = 0;

	for (i = 0; i < l->ntimers; i++)
		if (l->timers[i].id)
			l->timers[j++] = l->timers[i];
	l->ntimers = j;
}

static int timers_wait_ms(const struct ev_loop *l, int timeout_ms)
{
	uint64_t now = mono_ms();
	int i;

	for (i = 0; i < l->ntimers; i++) {
		const struct ev_timer *t = &l->timers[i];
		int64_t d;

		if (!t->id)
			continue;
		d = t->when > now ? (int64_t)(t->when - now) : 0;
		if (timeout_ms < 0 || d < timeout_ms)
			timeout_ms = (int)d;
	}
	return timeout_ms;
}

static void timers_run(struct ev_loop *l)
{
	int i, n = l->ntimers; /* timers added by callbacks wait for the next round */

	for (i = 0; i < n; i++) {
		struct ev_timer *t = &l->timers[i];
		long long id = t->id;
		int next;

		if (!id || t->when > l->now)
			continue;
		next = t->cb(l, id, t->arg);
		t = &l->timers[i]; /* the callback may have grown (moved) the array */
		if (t->id != id)
			continue;
		if (next < 0)
			t->id = 0;
		else
			t->when = l->now + (uint64_t)next;
	}
	timers_compact(l);
}

int ev_run_once(struct ev_loop *l, int timeout_ms)
{
	int i, n;

	if (l->before_sleep)
		l->before_sleep(l, l->before_sleep_arg);
	n = epoll_wait(l->epfd, l->fired, EV_BATCH, timers_wait_ms(l, timeout_ms));
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0; /* a signal is not an error */
	}
	l->now = mono_ms();
	for (i = 0; i < n; i++) {
		struct ev_handler *h = l->fired[i].data.ptr;
		uint32_t ev = l->fired[i].events;

		/* Deleted earlier in this batch: skip (see the top comment). */
		if (!h->cb || !(ev & (h->mask | EPOLLERR | EPOLLHUP)))
			continue;
		h->cb(l, h->fd, ev, h->arg);
	}
	timers_run(l);
	return n;
}

int ev_run(struct ev_loop *l)
{
	int ret;

	l->stop = 0;
	while (!l->stop) {
		ret = ev_run_once(l, -1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

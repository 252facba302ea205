/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small ae-style event loop in the manner of Redis's ae: epoll only, a per-fd
 * handler table, millisecond timers and a before_sleep hook where output
 * is flushed in batches. Single-threaded; not reentrant.
 */
#ifndef MQLB_EVLOOP_H
#define MQLB_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

#define EV_READ  EPOLLIN
#define EV_WRITE EPOLLOUT

/* A timer callback returns the delay to its next run in ms, or EV_TIMER_STOP. */
#define EV_TIMER_STOP (-1)

struct ev_loop;

typedef void (*ev_io_fn)(struct ev_loop *l, int fd, uint32_t events, void *arg);
typedef int (*ev_timer_fn)(struct ev_loop *l, long long id, void *arg);
typedef void (*ev_hook_fn)(struct ev_loop *l, void *arg);

/*
 * What epoll_event.data.ptr points at: the callback comes first, so the
 * dispatcher needs no type switch (mosquitto's "ident" idea). The loop owns
 * one per fd; ev_del() clears it, so events already fetched in the same
 * batch for a deleted fd are skipped rather than delivered to freed state.
 */
struct ev_handler {
	ev_io_fn cb;
	void *arg;
	uint32_t mask;
	int fd;
};

/* setsize bounds the fds (fd < setsize). NULL with errno set on failure. */
struct ev_loop *ev_loop_new(int setsize);
void ev_loop_free(struct ev_loop *l);

int ev_add(struct ev_loop *l, int fd, uint32_t mask, ev_io_fn cb, void *arg);
int ev_mod(struct ev_loop *l, int fd, uint32_t mask);
int ev_del(struct ev_loop *l, int fd);
uint32_t ev_mask(const struct ev_loop *l, int fd);

/* Returns a timer id (> 0) or -errno. */
long long ev_timer_add(struct ev_loop *l, uint64_t ms, ev_timer_fn cb, void *arg);
int ev_timer_del(struct ev_loop *l, long long id);

void ev_set_before_sleep(struct ev_loop *l, ev_hook_fn fn, void *arg);

/* One iteration: before_sleep, wait (at most timeout_ms, -1 = until the next timer), dispatch. */
int ev_run_once(struct ev_loop *l, int timeout_ms);
/* Iterate until ev_stop(). 0, or -errno from epoll_wait. */
int ev_run(struct ev_loop *l);
void ev_stop(struct ev_loop *l);

/* Monotonic milliseconds, refreshed once per iteration. */
uint64_t ev_now_ms(const struct ev_loop *l);

#endif

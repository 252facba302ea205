/* SPDX-License-Identifier: GPL-2.0 */
/* struct mqlbd: the daemon's one context (no mutable globals), and what its modules share. */
#ifndef MQLBD_H
#define MQLBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health.h"
#include "config.h"
#include "dataplane.h"
#include "flowgc.h"
#include "loader.h"
#include "neigh.h"
#include "pool.h"
#include "snapshot.h"
#include "watermark.h"

struct stats_http;

struct mqlbd {
	struct mqlbd_config conf;
	struct pool pool;
	struct loader loader;
	struct dataplane dp;
	struct health health;
	struct ev_loop *loop;
	struct flow_timeouts timeouts;
	struct neigh_entry neigh[MQLB_MAX_BACKENDS];
	struct in_addr snat;
	int kick_fd;
	int ctl_fd;
	int sig_fd;
	long long tick_timer;
	uint64_t ticks;
	uint64_t expired_total[FLOW_VERDICT_MAX];
	uint32_t kick_seed;
	bool adopted;     /* took over a previous daemon's pinned state */
	bool stop_clean;  /* `mqlbd --stop`: detach and unpin even with persist yes */
	uint64_t started_ns;
	struct snap_src snap_src;   /* map fds for the stats page's snapshots */
	struct stats_http *http;
	/* the service manager (notify.c) */
	bool ready;                 /* READY=1 sent */
	long long ready_timer;
	uint32_t ready_wait_ms;
	int status_up;              /* what the last STATUS= said */
	int status_total;
	/* capacity warnings (capacity.c) */
	struct watermark wm_flows;
	struct watermark wm_snat[MQLB_MAX_BACKENDS];
};

/*
 * What the balancer's SYN cookies announce to clients (delayed binding): an
 * Ethernet MSS, and Linux's usual window scale for its default buffers; a
 * backend's own scale is translated to it on the way to the client.
 */
#define MQLBD_SYNACK_MSS    1460
#define MQLBD_SYNACK_WSCALE 7

/* ---- mqlbd.c ---- */
/* The data plane's settings for config c (interfaces resolved now). */
void mqlbd_dp_config(const struct mqlbd *d, const struct mqlbd_config *c,
		     struct mqlb_config *cfg);
void mqlbd_timeouts(struct flow_timeouts *t, const struct mqlbd_config *c);
/* Publish pool changes to the data plane (pool_sync), logging failures. */
void mqlbd_publish(struct mqlbd *d);

/* ---- backend operations, shared by the control socket and reload (ops.c) ---- */
int mqlbd_backend_add(struct mqlbd *d, const char *name, const char *addr, uint32_t weight,
		      bool disabled, const char *reason, char *msg, size_t len);
int mqlbd_backend_del(struct mqlbd *d, const char *name, const char *reason, char *msg,
		      size_t len);
int mqlbd_backend_admin(struct mqlbd *d, const char *name, enum admin_state admin,
			const char *reason, char *msg, size_t len);
/* SIGHUP: re-read the file and apply the difference; a bad file changes nothing. */
int mqlbd_reload(struct mqlbd *d);

/* ---- the service manager: readiness and status (notify.c) ---- */
/* XDP is attached and the checks started: READY now, or after the first round of checks. */
void notify_started(struct mqlbd *d);
/* A check finished: READY if that completed the first round, else STATUS if the up set changed. */
void notify_checked(struct mqlbd *d);
void notify_reloading(void);
void notify_reloaded(struct mqlbd *d);
void notify_stopping(void);

/* ---- capacity warnings after each collector pass (capacity.c) ---- */
void capacity_check(struct mqlbd *d, const struct gc_result *res);

/* ---- control socket (ctl.c) ---- */
int ctl_open(struct mqlbd *d);
void ctl_close(struct mqlbd *d);
/* Answer a request line into buf (NUL-terminated); used by ctl.c, tested directly. */
void ctl_handle_line(struct mqlbd *d, char *line, char *buf, size_t len);

#endif

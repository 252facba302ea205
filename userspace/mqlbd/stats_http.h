/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqlbd's stats listener (config: `stats ADDR:PORT [user:password]`): an
 * HTML page in the spirit of HAProxy's stats page at "/", and the
 * Prometheus text exposition format at "/metrics". HTTP is libmicrohttpd's.
 *
 * Threading: the server runs in libmicrohttpd's own thread
 * (MHD_USE_INTERNAL_POLLING_THREAD, one thread for all connections), so
 * requests are served one after the other and the fill callback never runs
 * concurrently with itself, but it DOES run concurrently with the caller's
 * event loop. The callback must therefore only read what is safe to read
 * from another thread: map lookups by fd (the kernel serialises those) are
 * fine, e.g. snapshot_from_fds() on a snap_src filled once at start and
 * never changed afterwards; daemon memory needs the daemon's own lock.
 * stats_http_stop() joins the thread: after it returns, the callback is
 * not running and will not run again.
 */
#ifndef MQLB_STATS_HTTP_H
#define MQLB_STATS_HTTP_H

#include <stdint.h>
#include <stdio.h>

#include "snapshot.h"

/*
 * Fills s for one request (flows are not needed: SNAP_F_FLOWS may be left
 * out); set s->started_ns for the uptime. 0 or -errno (the client gets 503).
 */
typedef int (*stats_fill_fn)(void *arg, struct snapshot *s);

struct stats_http;

/*
 * Listens on addr_port ("A.B.C.D:PORT"; port 0 picks a free port). With a
 * non-NULL user, every path requires basic auth with user and password.
 * 0 and *out, or -errno (-EINVAL for a bad address, -EADDRINUSE, ...).
 */
int stats_http_start(const char *addr_port, const char *user, const char *password,
		     stats_fill_fn fill, void *arg, struct stats_http **out);
/* The port actually bound (useful with port 0). */
uint16_t stats_http_port(const struct stats_http *h);
/* Stops the thread and closes the listener; NULL is fine. */
void stats_http_stop(struct stats_http *h);

/* The renderers, pure over a snapshot (tested without sockets). 0 or -errno. */
int stats_render_html(FILE *out, const struct snapshot *s);
int stats_render_metrics(FILE *out, const struct snapshot *s);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * What mqlbd tells its service manager (Type=notify): READY once XDP is
 * attached and every backend has had its first health check, so that
 * units ordered after mqlbd start against a balancer that knows which
 * brokers are up; a STATUS line whenever the number of up backends
 * changes (`systemctl status` shows it); RELOADING around SIGHUP and
 * STOPPING on the way out. Without $NOTIFY_SOCKET all of it costs a
 * getenv().
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mqlbd.h"
#include "netutil.h"
#include "sd_notify.h"

/* READY waits for the first round of checks, but never longer than this. */
#define READY_MAX_WAIT_MS 30000

static int count_used(const struct pool *p)
{
	int i, n = 0;

	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		n += p->be[i].used;
	return n;
}

static void send_state(struct mqlbd *d, const char *prefix)
{
	char vip[NET_ADDRSTR_LEN];
	int err;

	d->status_up = pool_count(&d->pool, MQLB_BE_UP);
	d->status_total = count_used(&d->pool);
	net_fmt_ipv4_port(d->conf.vip.sin_addr.s_addr, d->conf.vip.sin_port, vip, sizeof(vip));
	err = sd_notify_sendf("%sSTATUS=balancing %s: %d of %d backend(s) up", prefix, vip,
			      d->status_up, d->status_total);
	if (err < 0)
		pr_warn("can't notify the service manager: %s\n", strerror(-err));
}

static void ready_now(struct mqlbd *d)
{
	if (d->ready)
		return;
	if (d->ready_timer > 0)
		ev_timer_del(d->loop, d->ready_timer);
	d->ready_timer = 0;
	d->ready = true;
	send_state(d, "READY=1\n");
}

static int ready_deadline(struct ev_loop *l, long long id, void *arg)
{
	struct mqlbd *d = arg;

	d->ready_timer = 0;
	pr_warn("not every backend has had its first health check after %u ms; reporting ready "
		"anyway\n", d->ready_wait_ms);
	ready_now(d);
	return EV_TIMER_STOP;
}

void notify_started(struct mqlbd *d)
{
	const struct health_conf *h = &d->conf.health;
	uint64_t wait = (uint64_t)h->timeout_ms + h->interval_ms / 10 + 100;
	long long t;

	if (health_first_round_done(&d->health)) {
		ready_now(d);
		return;
	}
	/* A first check starts within interval/10 and ends within its timeout. */
	d->ready_wait_ms = (uint32_t)(wait < READY_MAX_WAIT_MS ? wait : READY_MAX_WAIT_MS);
	t = ev_timer_add(d->loop, d->ready_wait_ms, ready_deadline, d);
	if (t > 0)
		d->ready_timer = t;
	else
		ready_now(d);
}

void notify_checked(struct mqlbd *d)
{
	if (!d->ready) {
		if (health_first_round_done(&d->health))
			ready_now(d);
		return;
	}
	if (pool_count(&d->pool, MQLB_BE_UP) != d->status_up ||
	    count_used(&d->pool) != d->status_total)
		send_state(d, "");
}

void notify_reloading(void)
{
	sd_notify_send("RELOADING=1");
}

void notify_reloaded(struct mqlbd *d)
{
	send_state(d, d->ready ? "READY=1\n" : "");
}

void notify_stopping(void)
{
	sd_notify_send("STOPPING=1");
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Health checks on the daemon's event loop: no thread per backend. Each
 * backend has one probe: a timer, then a non-blocking connect, and for
 * `health mqtt` a CONNECT (MQTT 3.1.1, clean session, client id
 * PREFIX + backend name, the configured user and password if any) that
 * must be answered by a CONNACK within the timeout, then DISCONNECT.
 *
 * CONNACK 0 passes. CONNACK 4 (bad user name or password) and 5 (not
 * authorized) pass too, as "broker up, credentials refused": the broker
 * read and answered an MQTT CONNECT, which is all the check is there to
 * prove, and clients bring their own credentials. Marking it down instead
 * would turn a wrong check password into a RST for every client. The
 * result carries its own message and a warning goes to the log, so the
 * operator sees the cause at once. Results go to the pool (rise/fall),
 * then the owner's callback publishes the changes.
 */
#ifndef MQLBD_HEALTH_H
#define MQLBD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "config.h"
#include "pool.h"

enum probe_stage {
	PROBE_IDLE = 0,
	PROBE_CONNECTING,
	PROBE_WAIT_CONNACK,
};

struct health;

struct probe {
	struct health *h;
	uint32_t id;
	int fd;
	enum probe_stage stage;
	long long timer;      /* next check, or the timeout of the running one */
	uint64_t started_ms;
	uint64_t started_us;
	uint8_t buf[4];
	uint32_t got;
	bool auth_refused;   /* the last CONNACK was 4 or 5 */
	bool auth_reported;  /* and that was logged since the checks (re)started */
	bool reported_down;  /* a backend that never came up: its failure was logged once */
};

struct health {
	struct ev_loop *loop;
	struct pool *pool;
	struct health_conf conf;
	void (*on_result)(void *arg);
	void *arg;
	uint32_t seed;
	struct probe probes[MQLB_MAX_BACKENDS];
};

void health_init(struct health *h, struct ev_loop *loop, struct pool *pool,
		 const struct health_conf *conf, void (*on_result)(void *), void *arg);
/* Start (or restart, after a change of settings) the checks of every backend in the pool. */
void health_start_all(struct health *h);
void health_start(struct health *h, uint32_t id);
void health_stop(struct health *h, uint32_t id);
void health_stop_all(struct health *h);
/* True once every backend in the pool has had a result (or there are no checks). */
bool health_first_round_done(const struct health *h);
/* The message of a CONNACK refused for its credentials, as the pool records it. */
#define HEALTH_MSG_AUTH_REFUSED "credentials refused: CONNACK %u"

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Health checks on the daemon's event loop: no thread per backend. Each
 * backend has one probe: a timer, then a non-blocking connect, and for
 * `health mqtt` a CONNECT (MQTT 3.1.1, clean session, client id naming
 * mqlb and the backend) that must be answered by CONNACK 0 within the
 * timeout, then DISCONNECT. Results go to the pool (rise/fall), then the
 * owner's callback publishes the changes.
 */
#ifndef MQLBD_HEALTH_H
#define MQLBD_HEALTH_H

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

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* When a flow record may go: pure policy, unit-tested without maps. */
#ifndef MQLBD_FLOWGC_H
#define MQLBD_FLOWGC_H

#include <stdint.h>

#include "mqlb_abi.h"

enum flow_verdict {
	FLOW_KEEP = 0,
	FLOW_EXPIRE_CLOSED,    /* FIN both ways or RST, and the grace period is over */
	FLOW_EXPIRE_HALF_OPEN, /* handshake never completed */
	FLOW_EXPIRE_IDLE,
	FLOW_VERDICT_MAX,
};

struct flow_timeouts {
	uint64_t idle_ns;       /* config idle-timeout: the floor of every idle limit */
	uint64_t syn_ns;
	uint64_t close_ns;
};

/*
 * Verdict on one flow at now_ns. An established flow is idle-expired after
 * max(idle_ns, 1.5 x its MQTT keep-alive): MQTT 3.1.1 section 3.1.2.10 lets
 * a client stay silent for up to 1.5 x keep-alive, and the broker only
 * then gives up on it, so the data plane must not forget it earlier. A
 * keep-alive of 0 (MQTT: keep-alive off; or no CONNECT parsed) leaves only
 * TCP's end (FIN both ways, RST) and idle_ns.
 */
enum flow_verdict flow_judge(const struct mqlb_flow *f, uint64_t now_ns,
			     const struct flow_timeouts *t);
/* The idle limit of that flow: idle_ns, or 1.5 x keep-alive when that is longer. */
uint64_t flow_idle_limit_ns(const struct mqlb_flow *f, const struct flow_timeouts *t);
const char *flow_verdict_name(enum flow_verdict v);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* When a flow record may go: pure policy, unit-tested without maps. */
#ifndef MQLBD_FLOWGC_H
#define MQLBD_FLOWGC_H

#include <stdbool.h>
#include <stdint.h>

#include "mqlb_abi.h"

enum flow_verdict {
	FLOW_KEEP = 0,
	FLOW_EXPIRE_CLOSED,    /* FIN both ways or RST, and the grace period is over */
	FLOW_EXPIRE_HALF_OPEN, /* handshake never completed */
	FLOW_EXPIRE_IDLE,
	FLOW_EXPIRE_HALF_CLOSED, /* one side's FIN, and the other never sent its own */
	FLOW_VERDICT_MAX,
};

struct flow_timeouts {
	uint64_t idle_ns;       /* config idle-timeout: the floor of every idle limit */
	uint64_t syn_ns;
	uint64_t close_ns;
	uint64_t fin_wait_ns;   /* one FIN, not yet acknowledged: idle this long */
	uint64_t close_wait_ns; /* one FIN acknowledged, the other side's not sent */
};

/*
 * Verdict on one flow at now_ns. An established flow is idle-expired after
 * max(idle_ns, 1.5 x its MQTT keep-alive): MQTT 3.1.1 section 3.1.2.10 lets
 * a client stay silent for up to 1.5 x keep-alive, and the broker only
 * then gives up on it, so the data plane must not forget it earlier. The
 * keep-alive counts only once the backend answered (its CONNACK): a client
 * cannot stretch a flow that no broker accepted by declaring 18 hours. A
 * keep-alive of 0 (MQTT: keep-alive off; or no CONNECT parsed) leaves only
 * TCP's end (FIN both ways, RST) and idle_ns. A half-closed flow (one FIN)
 * gets conntrack's shorter timeouts instead: fin_wait_ns while that FIN
 * is unacknowledged, close_wait_ns after, idle time either way.
 */
enum flow_verdict flow_judge(const struct mqlb_flow *f, uint64_t now_ns,
			     const struct flow_timeouts *t);
/* The idle limit of an established flow: idle_ns, or 1.5 x keep-alive when that is longer. */
uint64_t flow_idle_limit_ns(const struct mqlb_flow *f, const struct flow_timeouts *t);
const char *flow_verdict_name(enum flow_verdict v);
/*
 * Flows removed while their ends may still be up: the collector resets
 * them. Idle and half-closed flows; and, with delayed binding, a half-open
 * flow the client already holds as established (its handshake ended at the
 * SYN cookie) that never got its CONNECT through to a broker.
 */
bool flow_verdict_resets(enum flow_verdict v, const struct mqlb_flow *f);

#endif

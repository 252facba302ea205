/* SPDX-License-Identifier: GPL-2.0 */
/* When a flow record may go: pure policy, unit-tested without maps. */
#ifndef MQLBD_FLOWGC_H
#define MQLBD_FLOWGC_H

#include <stdint.h>

#include "mqlb_abi.h"

#pragma GCC poison u8 u16 u32 u64

enum flow_verdict {
	FLOW_KEEP = 0,
	FLOW_EXPIRE_CLOSED,    /* FIN both ways or RST, and the grace period is over */
	FLOW_EXPIRE_HALF_OPEN, /* handshake never completed */
	FLOW_EXPIRE_IDLE,
	FLOW_VERDICT_MAX,
};

struct flow_timeouts {
	uint64_t idle_ns;
	uint64_t syn_ns;
	uint64_t close_ns;
};

enum flow_verdict flow_judge(const struct mqlb_flow *f, uint64_t now_ns,
			     const struct flow_timeouts *t);
const char *flow_verdict_name(enum flow_verdict v);

#endif

// SPDX-License-Identifier: GPL-2.0
#include "flowgc.h"

/* Time since ts, or 0 when the data plane stamped it after we read the clock. */
static uint64_t since(uint64_t now, uint64_t ts)
{
	return now > ts ? now - ts : 0;
}

uint64_t flow_idle_limit_ns(const struct mqlb_flow *f, const struct flow_timeouts *t)
{
	/* keepalive_s is at most 65535: 1.5 x 65535 s fits easily in 64 bits of ns. */
	uint64_t ka_ns = (uint64_t)f->keepalive_s * 1500000000ULL;

	if (!(f->tcp_flags & MQLB_FLOW_BACKEND_DATA))
		return t->idle_ns;
	return ka_ns > t->idle_ns ? ka_ns : t->idle_ns;
}

/* One side's FIN: has the other side acknowledged it (its latest ACK past the FIN)? */
static bool fin_acked(const struct mqlb_flow *f)
{
	int fin = f->tcp_flags & MQLB_FLOW_FIN_CLIENT ? MQLB_SIDE_CLIENT : MQLB_SIDE_BACKEND;

	return f->side[!fin].maxack == f->side[fin].end;
}

enum flow_verdict flow_judge(const struct mqlb_flow *f, uint64_t now_ns,
			     const struct flow_timeouts *t)
{
	uint64_t idle = since(now_ns, f->last_ns);

	/*
	 * A closed flow stays for a short grace period so that the last ACK
	 * and any retransmitted FIN still find their way.
	 */
	if (MQLB_FLOW_CLOSED(f->tcp_flags))
		return idle >= t->close_ns ? FLOW_EXPIRE_CLOSED : FLOW_KEEP;
	/* Half-open: the client never acknowledged the SYN-ACK (or no SYN-ACK came). */
	if (!(f->tcp_flags & MQLB_FLOW_ESTABLISHED))
		return since(now_ns, f->created_ns) >= t->syn_ns ? FLOW_EXPIRE_HALF_OPEN : FLOW_KEEP;
	if (f->tcp_flags & (MQLB_FLOW_FIN_CLIENT | MQLB_FLOW_FIN_BACKEND))
		return idle >= (fin_acked(f) ? t->close_wait_ns : t->fin_wait_ns) ?
			       FLOW_EXPIRE_HALF_CLOSED : FLOW_KEEP;
	return idle >= flow_idle_limit_ns(f, t) ? FLOW_EXPIRE_IDLE : FLOW_KEEP;
}

const char *flow_verdict_name(enum flow_verdict v)
{
	switch (v) {
	case FLOW_EXPIRE_CLOSED:
		return "closed";
	case FLOW_EXPIRE_HALF_OPEN:
		return "half-open";
	case FLOW_EXPIRE_IDLE:
		return "idle";
	case FLOW_EXPIRE_HALF_CLOSED:
		return "half-closed";
	default:
		return "keep";
	}
}

bool flow_verdict_resets(enum flow_verdict v, const struct mqlb_flow *f)
{
	if (v == FLOW_EXPIRE_HALF_OPEN)
		return f->tcp_flags & (MQLB_FLOW_BIND_CONNECT | MQLB_FLOW_BIND_SYNACK);
	return v == FLOW_EXPIRE_IDLE || v == FLOW_EXPIRE_HALF_CLOSED;
}

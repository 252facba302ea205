// SPDX-License-Identifier: GPL-2.0
/*
 * Eviction of half-open flows, so that a SYN flood cannot lock real clients
 * out: when a SYN finds no free SNAT port or table slot, the oldest flow
 * the data plane made that is still half-open (the client never
 * acknowledged the SYN-ACK) goes for it, as Linux's conntrack drops an
 * unassured entry when its table is full. Established flows are never
 * evicted: an MQTT connection idle for hours is worth more than a SYN.
 *
 * "embryos" is a ring of every new flow in creation order; its tail is the
 * next candidate. Entries whose flow went on (established, closed, gone,
 * or another connection on the same tuple) are passed over for good. A
 * global function, so the verifier checks its loop once.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "flow.h"

#define EVICT_TRIES 16 /* ring entries looked at per SYN, at most */

__noinline int mqlb_evict_half_open(const struct mqlb_config *cfg, struct mqlb_snat_key *freed,
				    __u32 *backend_id)
{
	struct mqlb_flow_key *owner;
	struct mqlb_embryo_pos *pos;
	struct mqlb_snat_key sk;
	__u32 zero = 0, i, idx;
	__u64 head, t;

	if (!cfg || !freed || !backend_id || !cfg->flow_slots)
		return -ENOENT;
	pos = bpf_map_lookup_elem(&embryo_pos, &zero);
	if (!pos)
		return -ENOENT;
	for (i = 0; i < EVICT_TRIES; i++) {
		struct mqlb_embryo *e;
		struct mqlb_flow *f;

		head = pos->head;
		t = __sync_fetch_and_add(&pos->tail, 1);
		if (t >= head) {
			/* Ran past the newest: nothing older is left to look at. */
			pos->tail = head;
			return -ENOENT;
		}
		if (head - t > cfg->flow_slots) {
			/* Overwritten since: skip to the oldest entry still in the ring. */
			pos->tail = head - cfg->flow_slots;
			continue;
		}
		idx = (__u32)(t % cfg->flow_slots);
		e = bpf_map_lookup_elem(&embryos, &idx);
		if (!e)
			continue;
		f = bpf_map_lookup_elem(&flows, &e->key);
		if (!f || f->created_ns != e->created_ns ||
		    (f->tcp_flags & (MQLB_FLOW_ESTABLISHED | MQLB_FLOW_RETIRED)))
			continue;
		sk = flow_snat_key(f);
		*freed = sk;
		*backend_id = f->backend_id;
		if (f->tcp_flags & MQLB_FLOW_SRC_COUNTED)
			src_release(e->key.client_addr_be);
		owner = bpf_map_lookup_elem(&snat, &sk);
		if (owner && flow_key_eq(owner, &e->key))
			bpf_map_delete_elem(&snat, &sk);
		if (f->tcp_flags & MQLB_FLOW_BIND_SYNACK)
			bpf_map_delete_elem(&stash, &e->key);
		bpf_map_delete_elem(&flows, &e->key);
		stat_inc(MQLB_STAT_FLOW_EVICTED);
		return 0;
	}
	return -ENOENT;
}

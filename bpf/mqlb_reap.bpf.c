// SPDX-License-Identifier: GPL-2.0
/*
 * The flow reaper: a SEC("syscall") program that mqlbd's collector runs
 * with BPF_PROG_TEST_RUN on a batch of flows it judged expired (see
 * struct mqlb_reap_entry). Each flow is removed only if it is still the
 * one judged, checked and removed in the kernel, with no window between
 * check and delete wider than the program itself. Linked into one object
 * with the XDP program (bpf.mk), so both use the same maps.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "flow.h"

/* Written by mqlbd through the skeleton's mmapped .bss, then the program runs. */
struct mqlb_reap_entry reap_batch[MQLB_REAP_MAX];
__u32 reap_count;

static long reap_one(__u32 i, void *unused)
{
	struct mqlb_reap_entry *e;
	struct mqlb_snat_key sk;
	struct mqlb_flow_key *owner;
	struct mqlb_flow *f;

	if (i >= MQLB_REAP_MAX)
		return 1;
	e = &reap_batch[i];
	f = bpf_map_lookup_elem(&flows, &e->key);
	if (!f) {
		e->result = MQLB_REAP_GONE;
		return 0;
	}
	/*
	 * Another connection on the same client tuple (the data plane recycles
	 * a closed flow on a new SYN), or a packet since the judgement (a late
	 * handshake ACK, a FIN): keep it, the next pass judges it afresh.
	 */
	if (f->created_ns != e->created_ns || f->snat_port_be != e->snat_port_be ||
	    f->tcp_flags != e->tcp_flags || f->last_ns != e->last_ns) {
		e->result = MQLB_REAP_CHANGED;
		return 0;
	}
	sk = flow_snat_key(f);
	tw_ts_mark(f, bpf_ktime_get_ns());
	if (f->tcp_flags & MQLB_FLOW_SRC_COUNTED)
		src_release(e->key.client_addr_be);
	/* A flow caught binding holds its client's first segment too. */
	if (f->tcp_flags & MQLB_FLOW_BIND_SYNACK)
		bpf_map_delete_elem(&stash, &e->key);
	bpf_map_delete_elem(&flows, &e->key);
	/* The reservation goes too, unless a newer flow already holds that tuple. */
	owner = bpf_map_lookup_elem(&snat, &sk);
	if (owner && flow_key_eq(owner, &e->key))
		bpf_map_delete_elem(&snat, &sk);
	e->result = MQLB_REAP_DONE;
	return 0;
}

SEC("syscall")
int mqlb_reap(void *ctx)
{
	__u32 n = reap_count;

	if (n > MQLB_REAP_MAX)
		n = MQLB_REAP_MAX;
	return (int)bpf_loop(n, reap_one, NULL, 0);
}

// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane.h"
#include "kick.h"
#include "log.h"
#include "mqlb.skel.h"

#define GC_BATCH 1024

int dp_init(struct dataplane *dp, struct mqlb_bpf *skel)
{
	memset(dp, 0, sizeof(*dp));
	dp->config_fd = bpf_map__fd(skel->maps.config);
	dp->backends_fd = bpf_map__fd(skel->maps.backends);
	dp->ring_fd = bpf_map__fd(skel->maps.ring);
	dp->flows_fd = bpf_map__fd(skel->maps.flows);
	dp->snat_fd = bpf_map__fd(skel->maps.snat);
	dp->stats_fd = bpf_map__fd(skel->maps.stats);
	dp->info_fd = bpf_map__fd(skel->maps.backend_info);
	dp->tx_ports_fd = bpf_map__fd(skel->maps.tx_ports);
	dp->baddrs_fd = bpf_map__fd(skel->maps.backend_addrs);
	dp->maglev_fd = bpf_map__fd(skel->maps.maglev);
	dp->reap_fd = bpf_program__fd(skel->progs.mqlb_reap);
	dp->reap_batch = skel->bss->reap_batch;
	dp->reap_count = &skel->bss->reap_count;
	dp->ncpus = libbpf_num_possible_cpus();
	dp->kick_fd = -1;
	if (dp->ncpus < 1)
		return dp->ncpus ? dp->ncpus : -EINVAL;
	dp->keys = calloc(GC_BATCH, sizeof(*dp->keys));
	dp->vals = calloc(GC_BATCH, sizeof(*dp->vals));
	dp->rst = calloc(1, sizeof(*dp->rst));
	dp->reap_vals = calloc(MQLB_REAP_MAX, sizeof(*dp->reap_vals));
	dp->maglev = calloc(1, sizeof(*dp->maglev));
	if (!dp->keys || !dp->vals || !dp->rst || !dp->reap_vals || !dp->maglev) {
		dp_free(dp);
		return -ENOMEM;
	}
	return 0;
}

void dp_free(struct dataplane *dp)
{
	free(dp->keys);
	free(dp->vals);
	free(dp->rst);
	free(dp->reap_vals);
	free(dp->maglev);
	dp->maglev = NULL;
	dp->keys = NULL;
	dp->vals = NULL;
	dp->rst = NULL;
	dp->reap_vals = NULL;
}

int dp_read_config(struct dataplane *dp, struct mqlb_config *out)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(dp->config_fd, &zero, out) ? -errno : 0;
}

int dp_set_config(struct dataplane *dp, const struct mqlb_config *cfg)
{
	struct mqlb_config cur = { 0 }, next = *cfg;
	__u32 zero = 0;

	/* Which ring and Maglev table are live is the publishers' to say, not the config's. */
	if (!dp_read_config(dp, &cur)) {
		next.ring_active = cur.ring_active;
		next.maglev_active = cur.maglev_active;
	}
	if (bpf_map_update_elem(dp->config_fd, &zero, &next, BPF_ANY))
		return -errno;
	dp->cfg = next;
	return 0;
}

/*
 * "backend_addrs" from the slots as they are now: each address used by a
 * slot, with how many. New entries go in before stale ones go out, so an
 * address still in use is never missing for a moment.
 */
static int sync_backend_addrs(struct dataplane *dp)
{
	struct {
		__be32 addr;
		__u32 n;
	} set[MQLB_MAX_BACKENDS];
	__be32 key, next, *prev = NULL;
	struct mqlb_backend be;
	unsigned int nset = 0, i;
	__u32 id;

	for (id = 0; id < MQLB_MAX_BACKENDS; id++) {
		if (bpf_map_lookup_elem(dp->backends_fd, &id, &be) || be.state == MQLB_BE_EMPTY)
			continue;
		for (i = 0; i < nset && set[i].addr != be.addr_be; i++)
			;
		if (i == nset)
			set[nset++] = (typeof(set[0])){ be.addr_be, 0 };
		set[i].n++;
	}
	for (i = 0; i < nset; i++)
		if (bpf_map_update_elem(dp->baddrs_fd, &set[i].addr, &set[i].n, BPF_ANY))
			return -errno;
	while (!bpf_map_get_next_key(dp->baddrs_fd, prev, &next)) {
		key = next;
		for (i = 0; i < nset && set[i].addr != key; i++)
			;
		if (i == nset && !bpf_map_delete_elem(dp->baddrs_fd, &key))
			continue; /* deleted: the walk goes on from the start */
		prev = &key;
	}
	return 0;
}

int dp_set_backend(struct dataplane *dp, uint32_t id, const struct mqlb_backend *be)
{
	if (id >= MQLB_MAX_BACKENDS)
		return -ERANGE;
	if (bpf_map_update_elem(dp->backends_fd, &id, be, BPF_ANY))
		return -errno;
	return sync_backend_addrs(dp);
}

/*
 * Double-buffered publication (the ring, the Maglev table): write the copy
 * the data plane is not reading (the config's selector at active_off names
 * the other), then flip the selector. Two publishes in quick succession (a
 * reload makes several) rewrite the copy that was active a moment ago,
 * which an XDP program still running on another CPU may be reading. The
 * worst it can do is pick a slot from the newer copy; the program
 * re-checks that the backend is up, so a flow can never go to one that is
 * not.
 */
static int publish_flip(struct dataplane *dp, int map_fd, const void *val, size_t active_off)
{
	struct mqlb_config cfg;
	__u32 inactive, zero = 0;
	__u16 *active = (__u16 *)((char *)&cfg + active_off);
	int err;

	err = dp_read_config(dp, &cfg);
	if (err)
		return err;
	inactive = !(*active & 1);
	if (bpf_map_update_elem(map_fd, &inactive, val, BPF_ANY))
		return -errno;
	*active = (__u16)inactive;
	if (bpf_map_update_elem(dp->config_fd, &zero, &cfg, BPF_ANY))
		return -errno;
	dp->cfg = cfg;
	return 0;
}

int dp_publish_ring(struct dataplane *dp, struct mqlb_ring *r)
{
	r->gen = ++dp->ring_gen;
	return publish_flip(dp, dp->ring_fd, r, offsetof(struct mqlb_config, ring_active));
}

int dp_publish_maglev(struct dataplane *dp)
{
	dp->maglev->gen++;
	return publish_flip(dp, dp->maglev_fd, dp->maglev,
			    offsetof(struct mqlb_config, maglev_active));
}

int dp_set_info(struct dataplane *dp, uint32_t id, const struct mqlb_backend_info *info)
{
	if (id >= MQLB_MAX_BACKENDS)
		return -ERANGE;
	return bpf_map_update_elem(dp->info_fd, &id, info, BPF_ANY) ? -errno : 0;
}

int dp_read_backend(struct dataplane *dp, uint32_t id, struct mqlb_backend *be,
		    struct mqlb_backend_info *info)
{
	if (bpf_map_lookup_elem(dp->backends_fd, &id, be) ||
	    bpf_map_lookup_elem(dp->info_fd, &id, info))
		return -errno;
	info->name[sizeof(info->name) - 1] = '\0';
	return 0;
}

int dp_add_tx_port(struct dataplane *dp, int ifindex)
{
	__u32 key = (__u32)ifindex, val = (__u32)ifindex;

	return bpf_map_update_elem(dp->tx_ports_fd, &key, &val, BPF_ANY) ? -errno : 0;
}

int dp_stats_sum(struct dataplane *dp, uint64_t out[MQLB_STAT_MAX])
{
	uint64_t *percpu = calloc((size_t)dp->ncpus, sizeof(*percpu));
	__u32 i;
	int c;

	if (!percpu)
		return -ENOMEM;
	for (i = 0; i < MQLB_STAT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(dp->stats_fd, &i, percpu))
			continue;
		for (c = 0; c < dp->ncpus; c++)
			out[i] += percpu[c];
	}
	free(percpu);
	return 0;
}

/*
 * Send the brokers' RSTs the queued flows owe (data plane reset the
 * client; broker holds a TIME_WAIT no timestamps cover), then run the
 * reaper on them (one syscall) and count what it removed. The RSTs go
 * first: the reaper frees the SNAT ports, and a SYN that took one before
 * its TIME_WAIT was ended would be refused by it, half the time without
 * timestamps (tests/e2e/09 saw 1-2 in 240 when the RSTs followed). A flow
 * the reaper then keeps (a late segment changed it) has had its RST a
 * little early: it was closed, and the broker's side goes as it would.
 */
static void reap_flush(struct dataplane *dp, struct gc_result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	unsigned int i;

	if (!dp->reap_n)
		return;
	for (i = 0; i < dp->reap_n; i++)
		kick_batch_add(dp->rst, &dp->reap_vals[i]);
	kick_batch_flush(dp->rst);
	*dp->reap_count = dp->reap_n;
	if (bpf_prog_test_run_opts(dp->reap_fd, &o) || o.retval != (__u32)dp->reap_n) {
		res->reap_errors++;
		dp->reap_n = 0;
		return;
	}
	for (i = 0; i < dp->reap_n; i++) {
		if (dp->reap_batch[i].result != MQLB_REAP_DONE)
			continue;
		res->expired[dp->reap_verdict[i]]++;
		/*
		 * After the reaper, not before: a flow a late packet kept must keep
		 * its ends too. A new connection on the freed SNAT tuple cannot
		 * take the broker's RST: its numbers are not that connection's
		 * (RFC 5961 answers it with a challenge ACK).
		 */
		if (flow_verdict_resets(dp->reap_verdict[i], &dp->reap_vals[i]))
			kick_batch_add_reset(dp->rst, &dp->reap_batch[i].key, &dp->reap_vals[i]);
	}
	dp->reap_n = 0;
}

/* Queue a flow judged expired for the reaper, exactly as it was read. */
static void reap_queue(struct dataplane *dp, const struct mqlb_flow_key *key,
		       const struct mqlb_flow *f, enum flow_verdict v, struct gc_result *res)
{
	if (dp->reap_n == MQLB_REAP_MAX)
		reap_flush(dp, res);
	dp->reap_batch[dp->reap_n] = mqlb_reap_entry_of(key, f);
	dp->reap_vals[dp->reap_n] = *f;
	dp->reap_verdict[dp->reap_n] = (uint8_t)v;
	dp->reap_n++;
}

/*
 * Visit every flow in batches (BPF_MAP_LOOKUP_BATCH: one syscall per
 * GC_BATCH flows rather than two per flow, which matters at 262,144 flows
 * once a second). The callback may delete the flow it is given.
 */
static int for_each_flow(struct dataplane *dp,
			 void (*fn)(struct dataplane *dp, const struct mqlb_flow_key *key,
				    const struct mqlb_flow *f, void *arg),
			 void *arg)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 in_batch = 0, out_batch = 0, count, i;
	bool first = true;
	int err;

	for (;;) {
		count = GC_BATCH;
		err = bpf_map_lookup_batch(dp->flows_fd, first ? NULL : &in_batch, &out_batch,
					   dp->keys, dp->vals, &count, &opts);
		if (err && errno != ENOENT)
			return -errno;
		for (i = 0; i < count; i++)
			fn(dp, &dp->keys[i], &dp->vals[i], arg);
		if (err) /* ENOENT: that was the last batch */
			return 0;
		in_batch = out_batch;
		first = false;
	}
}

struct gc_pass {
	uint64_t now_ns;
	const struct flow_timeouts *t;
	struct gc_result *res;
};

static void gc_one(struct dataplane *dp, const struct mqlb_flow_key *key,
		   const struct mqlb_flow *f, void *arg)
{
	struct gc_pass *g = arg;
	enum flow_verdict v = flow_judge(f, g->now_ns, g->t);

	g->res->scanned++;
	if (f->backend_id < MQLB_MAX_BACKENDS)
		g->res->held[f->backend_id]++;
	if (v != FLOW_KEEP)
		reap_queue(dp, key, f, v, g->res);
	else if (!MQLB_FLOW_CLOSED(f->tcp_flags) && f->backend_id < MQLB_MAX_BACKENDS)
		g->res->active[f->backend_id]++;
}

/* Add n to a counter only mqlbd writes, in CPU 0's slot of the per-CPU stats. */
static void stat_add(struct dataplane *dp, __u32 idx, uint64_t n)
{
	uint64_t *percpu;

	if (!n)
		return;
	percpu = calloc((size_t)dp->ncpus, sizeof(*percpu));
	if (!percpu)
		return;
	if (!bpf_map_lookup_elem(dp->stats_fd, &idx, percpu)) {
		percpu[0] += n;
		bpf_map_update_elem(dp->stats_fd, &idx, percpu, BPF_ANY);
	}
	free(percpu);
}

int dp_gc(struct dataplane *dp, uint64_t now_ns, const struct flow_timeouts *t,
	  struct gc_result *res)
{
	struct gc_pass g = { .now_ns = now_ns, .t = t, .res = res };
	int err;

	memset(res, 0, sizeof(*res));
	memset(dp->rst->sent, 0, sizeof(dp->rst->sent));
	dp->rst->failed = 0;
	dp->rst->fd = dp->kick_fd;
	dp->reap_n = 0;
	err = for_each_flow(dp, gc_one, &g);
	reap_flush(dp, res);
	kick_batch_flush(dp->rst);
	res->rst_time_wait = dp->rst->sent[MQLB_STAT_FLOW_BACKEND_RST_TIME_WAIT];
	res->rst_lost = dp->rst->sent[MQLB_STAT_FLOW_BACKEND_RST_LOST];
	res->idle_reset = dp->rst->sent[MQLB_STAT_FLOW_IDLE_RESET];
	res->rst_failed = dp->rst->failed;
	stat_add(dp, MQLB_STAT_FLOW_BACKEND_RST_TIME_WAIT, res->rst_time_wait);
	stat_add(dp, MQLB_STAT_FLOW_BACKEND_RST_LOST, res->rst_lost);
	stat_add(dp, MQLB_STAT_FLOW_IDLE_RESET, res->idle_reset);
	return err;
}

struct kick_pass {
	uint32_t id;
	int fd;
	uint32_t seed;
	int kicked;
};

static void kick_one(struct dataplane *dp, const struct mqlb_flow_key *key,
		     const struct mqlb_flow *f, void *arg)
{
	struct kick_pass *k = arg;

	if (f->backend_id != k->id || MQLB_FLOW_CLOSED(f->tcp_flags))
		return;
	if (!kick_client(k->fd, key, k->seed + (uint32_t)k->kicked * 7919u))
		k->kicked++;
}

int dp_kick_backend(struct dataplane *dp, uint32_t id, int kick_fd, uint32_t seed)
{
	struct kick_pass k = { .id = id, .fd = kick_fd, .seed = seed };
	int err = for_each_flow(dp, kick_one, &k);

	return err ? err : k.kicked;
}

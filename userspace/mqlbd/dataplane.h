/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's writes to the data plane maps, and the flow collector.
 * The only file of mqlbd that calls bpf_map_*.
 */
#ifndef MQLBD_DATAPLANE_H
#define MQLBD_DATAPLANE_H

#include <stdint.h>

#include "mqlb_abi.h"
#include "flowgc.h"

struct mqlb_bpf;
struct kick_batch;

struct dataplane {
	int config_fd;
	int backends_fd;
	int ring_fd;
	int flows_fd;
	int snat_fd;
	int stats_fd;
	int info_fd;
	int tx_ports_fd;
	int baddrs_fd;
	int maglev_fd;
	struct mqlb_maglev *maglev; /* scratch for the next table, allocated once */
	int ncpus;
	int kick_fd;            /* raw socket for RSTs to brokers, -1 if none */
	struct mqlb_config cfg; /* last written */
	uint32_t ring_gen;
	/* GC scratch, allocated once */
	struct mqlb_flow_key *keys;
	struct mqlb_flow *vals;
	struct kick_batch *rst;  /* brokers' RSTs of the flows being collected */
	/* The reaper's batch: in the object's mmapped .bss, and what was judged of each. */
	int reap_fd;
	struct mqlb_reap_entry *reap_batch;
	__u32 *reap_count;
	unsigned int reap_n;
	struct mqlb_flow *reap_vals;
	uint8_t reap_verdict[MQLB_REAP_MAX];
};

struct gc_result {
	uint64_t scanned;
	uint64_t expired[FLOW_VERDICT_MAX];
	uint32_t active[MQLB_MAX_BACKENDS]; /* live (not closed) flows per backend */
	uint32_t held[MQLB_MAX_BACKENDS];   /* records naming it, each holding a SNAT port */
	uint64_t rst_time_wait;  /* RSTs sent to end a broker's TIME_WAIT */
	uint64_t rst_lost;       /* RSTs sent to a live broker of a BACKEND_LOST flow */
	uint64_t idle_reset;     /* flows removed while up (idle, half-closed): both ends reset */
	uint64_t rst_failed;     /* RSTs that could not be sent */
	uint64_t reap_errors;    /* reaper runs that failed (their flows wait for the next pass) */
};

int dp_init(struct dataplane *dp, struct mqlb_bpf *skel);
void dp_free(struct dataplane *dp);
/* Read what a previous daemon left in the pinned config (ring_active, ...). */
int dp_read_config(struct dataplane *dp, struct mqlb_config *out);
/* Write the settings; keeps whichever ring is active. */
int dp_set_config(struct dataplane *dp, const struct mqlb_config *cfg);
int dp_set_backend(struct dataplane *dp, uint32_t id, const struct mqlb_backend *be);
/* Fill the inactive ring, then flip: readers never see a half-written ring. */
int dp_publish_ring(struct dataplane *dp, struct mqlb_ring *r);
/* The same for the Maglev table in dp->maglev (balance client-id). */
int dp_publish_maglev(struct dataplane *dp);
int dp_set_info(struct dataplane *dp, uint32_t id, const struct mqlb_backend_info *info);
/* What a previous daemon left in slot id (adopting pinned state). */
int dp_read_backend(struct dataplane *dp, uint32_t id, struct mqlb_backend *be,
		    struct mqlb_backend_info *info);
int dp_add_tx_port(struct dataplane *dp, int ifindex);
/*
 * Provoke every live client of backend id into its next segment, which the
 * data plane answers with a RST (see kick.h). Returns the number kicked.
 */
int dp_kick_backend(struct dataplane *dp, uint32_t id, int kick_fd, uint32_t seed);
int dp_stats_sum(struct dataplane *dp, uint64_t out[MQLB_STAT_MAX]);
/* One pass over the flow table, removing what flow_judge() says may go. */
int dp_gc(struct dataplane *dp, uint64_t now_ns, const struct flow_timeouts *t,
	  struct gc_result *res);

#endif

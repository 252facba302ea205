/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One consistent-enough picture of the data plane's pinned maps: backends
 * with their daemon-side info and per-CPU-summed counters, the global
 * counters, flow table use and (optionally) the flows themselves. Shared
 * by the CLI (maps opened by pin path) and mqlbd's stats page (its own
 * map fds), so both always show the same numbers.
 *
 * Maps are read entry by entry without a lock: counters from different
 * maps may be a few packets apart, which is fine for display.
 */
#ifndef MQLB_SNAPSHOT_H
#define MQLB_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqlb_abi.h"

/* Map fds to read from; -1 when not open. */
struct snap_src {
	int config_fd;
	int backends_fd;
	int info_fd;
	int bstats_fd;
	int stats_fd;
	int flows_fd;
	int ncpus;
	bool owned;	    /* opened by snapshot_open(): snapshot_close() closes them */
	const char *failed; /* snapshot_open(): the map that could not be opened */
};

struct snap_backend {
	uint32_t id;
	struct mqlb_backend be;
	struct mqlb_backend_info info; /* name/check_msg NUL-terminated and printable */
	struct mqlb_backend_stats st;  /* summed over CPUs */
};

struct snap_flow {
	struct mqlb_flow_key key;
	struct mqlb_flow f;
	char client_id[MQLB_CLIENT_ID_LEN + 1]; /* printable copy of f.client_id */
};

#define SNAP_F_FLOWS (1U << 0) /* also read every flow (otherwise only count them) */

struct snapshot {
	uint64_t now_ns;     /* CLOCK_MONOTONIC when taken */
	uint64_t started_ns; /* daemon start (CLOCK_MONOTONIC), 0 = unknown */
	bool have_config;
	struct mqlb_config cfg;
	unsigned int nbackends; /* used slots only, by id */
	struct snap_backend backends[MQLB_MAX_BACKENDS];
	uint64_t stats[MQLB_STAT_MAX];
	uint64_t flow_entries;
	uint32_t flow_max_entries;
	size_t nflows; /* with SNAP_F_FLOWS, sorted by client address and port */
	struct snap_flow *flows;
};

void snap_src_init(struct snap_src *src);
/* Opens every map under pin_path; on error src->failed names the map. */
int snapshot_open(struct snap_src *src, const char *pin_path);
void snapshot_close(struct snap_src *src);

/* Allocates a zeroed snapshot; NULL with errno on failure. */
struct snapshot *snapshot_new(void);
/* Fills s (previous flows are freed); 0 or -errno. */
int snapshot_from_fds(const struct snap_src *src, struct snapshot *s, unsigned int flags);
void snapshot_free(struct snapshot *s);

const struct snap_backend *snapshot_backend_by_name(const struct snapshot *s, const char *name);
const struct snap_backend *snapshot_backend_by_id(const struct snapshot *s, uint32_t id);
/* "up", "down", ...; "unknown" for values the ABI does not define. */
const char *snap_state_name(uint8_t state);
/* Display name: info.name, or "#ID" when the daemon left it empty. */
const char *snap_backend_name(const struct snap_backend *b, char *buf, size_t len);
/* Copies at most len bytes of possibly unterminated src, '?' for unprintables. */
void snap_printable(char *dst, const char *src, size_t len);
/* Compact duration, two most significant units: 3d4h, 5m12s, 850ms. */
const char *snap_fmt_duration(uint64_t ns, char *buf, size_t len);

#endif

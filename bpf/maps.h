/* SPDX-License-Identifier: GPL-2.0 */
/* Every map of the XDP data plane, one purpose line each (katran style). */
#ifndef MQLB_BPF_MAPS_H
#define MQLB_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mqlb_abi.h"

/*
 * Each program's unit (mqlb_xdp.bpf.c, mqlb_reap.bpf.c, ...) includes this
 * file; the maps are weak so that bpftool's static linker merges the
 * identical definitions into one map per name instead of refusing them.
 * Their names are the ABI's (MQLB_MAP_*), which userspace opens by pin.
 */
#define MQLB_MAP_SEC __weak SEC(".maps")

/* Global settings written by mqlbd (VIP, SNAT address and port range, active ring). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mqlb_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_CONFIG MQLB_MAP_SEC;

/* Backend slots by id: address, port, state, weight. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MQLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct mqlb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_BACKENDS MQLB_MAP_SEC;

/* Two weighted round-robin rings (double-buffered, see mqlb_config.ring_active). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct mqlb_ring);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_RING MQLB_MAP_SEC;

/* The round-robin ticket counter, shared by all CPUs so that the order is exact. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mqlb_rr_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_RR MQLB_MAP_SEC;

/*
 * Live flows by client tuple. A plain preallocated hash, never LRU: an
 * LRU would silently evict idle MQTT connections. The loader sets
 * max_entries from flow-table-size.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MQLB_DEFAULT_FLOWS);
	__type(key, struct mqlb_flow_key);
	__type(value, struct mqlb_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_FLOWS MQLB_MAP_SEC;

/*
 * Translated tuple -> client tuple, for the reply direction. Inserting with
 * BPF_NOEXIST is also how a SNAT port is reserved: two live flows can
 * never share a translated tuple. Same size as "flows".
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MQLB_DEFAULT_FLOWS);
	__type(key, struct mqlb_snat_key);
	__type(value, struct mqlb_flow_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_SNAT MQLB_MAP_SEC;

/*
 * Translated tuples whose broker may hold a TIME_WAIT that only a SYN with
 * timestamps gets through (MQLB_FLOW_TS_COVERS: no RST was sent), until
 * the bpf_ktime_get_ns() value stored. A SYN without timestamps falls back
 * on its SEQ there, which passes half the time, so it looks for another
 * port first. An LRU: under pressure the oldest marks go, and a SYN
 * without timestamps is merely back to that chance. Same size as "flows".
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MQLB_DEFAULT_FLOWS);
	__type(key, struct mqlb_snat_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_TW_TS MQLB_MAP_SEC;

/*
 * Configured backend addresses (value: how many backends have it), written
 * by mqlbd: a frame to the SNAT range from any other address is dropped.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MQLB_MAX_BACKENDS);
	__type(key, __be32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_BACKEND_ADDRS MQLB_MAP_SEC;

/*
 * Per client address: live flows and the rate's clock (limit-per-source,
 * rate-per-source; read only when configured). LRU: a flood of sources
 * pushes out the least recent, which start again from nothing. Same size
 * as "flows".
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MQLB_DEFAULT_FLOWS);
	__type(key, __be32);
	__type(value, struct mqlb_src);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_SRC MQLB_MAP_SEC;

/* New flows in the order they were made: the eviction order of half-open ones. Same size as "flows". */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MQLB_DEFAULT_FLOWS);
	__type(key, __u32);
	__type(value, struct mqlb_embryo);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_EMBRYOS MQLB_MAP_SEC;

/* Head and tail of "embryos", shared by all CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mqlb_embryo_pos);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_EMBRYO_POS MQLB_MAP_SEC;

/* Global per-CPU counters, indexed by enum mqlb_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MQLB_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_STATS MQLB_MAP_SEC;

/* Per-CPU packet/byte/flow counters per backend id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MQLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct mqlb_backend_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_BACKEND_STATS MQLB_MAP_SEC;

/* Names, health results and flow counts by backend id; the daemon's, for the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MQLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct mqlb_backend_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MQLB_MAP_BACKEND_INFO MQLB_MAP_SEC;

/*
 * Egress interfaces for bpf_redirect_map, keyed by ifindex. Not pinned:
 * libbpf 1.1 cannot reuse a pinned devmap on a later load.
 */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, MQLB_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} MQLB_MAP_TX_PORTS MQLB_MAP_SEC;

#endif

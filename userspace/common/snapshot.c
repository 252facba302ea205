// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "snapshot.h"

#define FLOW_BATCH 1024

/* Compact, two most significant units: 3d4h, 5m12s, 850ms. */
const char *snap_fmt_duration(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ULL;

	if (s >= 86400)
		snprintf(buf, len, "%llud%lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lluh%llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%llum%llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s >= 1)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else
		snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000ULL));
	return buf;
}

void snap_src_init(struct snap_src *src)
{
	memset(src, 0, sizeof(*src));
	src->config_fd = src->backends_fd = src->info_fd = -1;
	src->bstats_fd = src->stats_fd = src->flows_fd = -1;
}

int snapshot_open(struct snap_src *src, const char *pin_path)
{
	const struct {
		const char *name;
		int *fd;
	} maps[] = {
	    {MQLB_NAME(MQLB_MAP_CONFIG), &src->config_fd},
	    {MQLB_NAME(MQLB_MAP_BACKENDS), &src->backends_fd},
	    {MQLB_NAME(MQLB_MAP_BACKEND_INFO), &src->info_fd},
	    {MQLB_NAME(MQLB_MAP_BACKEND_STATS), &src->bstats_fd},
	    {MQLB_NAME(MQLB_MAP_STATS), &src->stats_fd},
	    {MQLB_NAME(MQLB_MAP_FLOWS), &src->flows_fd},
	};
	char path[PATH_MAX];
	size_t i;
	int err;

	snap_src_init(src);
	src->owned = true;
	src->ncpus = libbpf_num_possible_cpus();
	if (src->ncpus < 1)
		return src->ncpus < 0 ? src->ncpus : -EINVAL;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", pin_path, maps[i].name) >=
		    (int)sizeof(path)) {
			src->failed = maps[i].name;
			err = -ENAMETOOLONG;
			goto out_close;
		}
		*maps[i].fd = bpf_obj_get(path);
		if (*maps[i].fd < 0) {
			err = -errno;
			src->failed = maps[i].name;
			goto out_close;
		}
	}
	return 0;

out_close:
	snapshot_close(src);
	return err;
}

void snapshot_close(struct snap_src *src)
{
	int *fds[] = {&src->config_fd, &src->backends_fd, &src->info_fd,
		      &src->bstats_fd, &src->stats_fd,	  &src->flows_fd};
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (src->owned && *fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

struct snapshot *snapshot_new(void)
{
	return calloc(1, sizeof(struct snapshot));
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	free(s->flows);
	free(s);
}

void snap_printable(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

const char *snap_state_name(uint8_t state)
{
	if (state < sizeof(mqlb_backend_state_names) / sizeof(mqlb_backend_state_names[0]) &&
	    mqlb_backend_state_names[state])
		return mqlb_backend_state_names[state];
	return "unknown";
}

const char *snap_backend_name(const struct snap_backend *b, char *buf, size_t len)
{
	if (b->info.name[0])
		return b->info.name;
	snprintf(buf, len, "#%u", b->id);
	return buf;
}

const struct snap_backend *snapshot_backend_by_name(const struct snapshot *s, const char *name)
{
	char buf[16];
	unsigned int i;

	for (i = 0; i < s->nbackends; i++)
		if (!strcmp(snap_backend_name(&s->backends[i], buf, sizeof(buf)), name))
			return &s->backends[i];
	return NULL;
}

const struct snap_backend *snapshot_backend_by_id(const struct snapshot *s, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < s->nbackends; i++)
		if (s->backends[i].id == id)
			return &s->backends[i];
	return NULL;
}

static int sum_u64(int fd, uint32_t key, void *percpu, int ncpus, size_t nfields, uint64_t *out)
{
	const uint64_t *v = percpu;
	size_t f;
	int c;

	memset(out, 0, nfields * sizeof(*out));
	if (bpf_map_lookup_elem(fd, &key, percpu))
		return -errno;
	for (c = 0; c < ncpus; c++)
		for (f = 0; f < nfields; f++)
			out[f] += v[(size_t)c * nfields + f];
	return 0;
}

static int read_backends(const struct snap_src *src, struct snapshot *s, void *percpu)
{
	struct snap_backend *b;
	struct mqlb_backend be;
	uint32_t id;
	int err;

	s->nbackends = 0;
	for (id = 0; id < MQLB_MAX_BACKENDS; id++) {
		if (bpf_map_lookup_elem(src->backends_fd, &id, &be))
			return -errno;
		if (be.state == MQLB_BE_EMPTY)
			continue;
		b = &s->backends[s->nbackends++];
		memset(b, 0, sizeof(*b));
		b->id = id;
		b->be = be;
		if (src->info_fd >= 0 && !bpf_map_lookup_elem(src->info_fd, &id, &b->info)) {
			/* The daemon writes these, but never trust a map to hold C strings. */
			char tmp[MQLB_CHECK_MSG_LEN];

			memcpy(tmp, b->info.name, MQLB_BACKEND_NAME_LEN);
			snap_printable(b->info.name, tmp, MQLB_BACKEND_NAME_LEN - 1);
			memcpy(tmp, b->info.check_msg, MQLB_CHECK_MSG_LEN);
			snap_printable(b->info.check_msg, tmp, MQLB_CHECK_MSG_LEN - 1);
		}
		if (src->bstats_fd >= 0) {
			err = sum_u64(src->bstats_fd, id, percpu, src->ncpus,
				      sizeof(b->st) / sizeof(uint64_t), (uint64_t *)&b->st);
			if (err)
				return err;
		}
	}
	return 0;
}

static int cmp_flow(const void *a, const void *b)
{
	const struct mqlb_flow_key *x = &((const struct snap_flow *)a)->key;
	const struct mqlb_flow_key *y = &((const struct snap_flow *)b)->key;
	uint32_t xa = ntohl(x->client_addr_be), ya = ntohl(y->client_addr_be);
	uint16_t xp = ntohs(x->client_port_be), yp = ntohs(y->client_port_be);

	if (xa != ya)
		return xa < ya ? -1 : 1;
	if (xp != yp)
		return xp < yp ? -1 : 1;
	return 0;
}

/* Walks the keys only: cheap enough for a count without copying values. */
static int count_flows(int fd, uint64_t *out)
{
	struct mqlb_flow_key key, next;
	void *prev = NULL;

	*out = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		(*out)++;
		key = next;
		prev = &key;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int read_flows(int fd, struct snapshot *s)
{
	struct mqlb_flow_key key, next;
	struct snap_flow *arr = NULL, *tmp;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	/*
	 * get_next_key + lookup rather than batch ops: entries that vanish
	 * between the two calls are skipped, and the loop needs no scratch
	 * sized to the table.
	 */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap) {
			cap = cap ? cap * 2 : FLOW_BATCH;
			tmp = realloc(arr, cap * sizeof(*arr));
			if (!tmp) {
				free(arr);
				return -ENOMEM;
			}
			arr = tmp;
		}
		if (bpf_map_lookup_elem(fd, &key, &arr[n].f))
			continue;
		arr[n].key = key;
		snap_printable(arr[n].client_id, arr[n].f.client_id,
			       arr[n].f.client_id_len < MQLB_CLIENT_ID_LEN ? arr[n].f.client_id_len
									   : MQLB_CLIENT_ID_LEN);
		n++;
	}
	if (errno != ENOENT) {
		int err = -errno;

		free(arr);
		return err;
	}
	if (n)
		qsort(arr, n, sizeof(*arr), cmp_flow);
	s->flows = arr;
	s->nflows = n;
	s->flow_entries = n;
	return 0;
}

static void read_flow_max(int fd, struct snapshot *s)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	s->flow_max_entries = bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

int snapshot_from_fds(const struct snap_src *src, struct snapshot *s, unsigned int flags)
{
	size_t slot = sizeof(struct mqlb_backend_stats);
	uint64_t started = s->started_ns;
	uint32_t zero = 0, i;
	void *percpu;
	int err;

	if (src->ncpus < 1 || src->backends_fd < 0 || src->stats_fd < 0 || src->flows_fd < 0)
		return -EINVAL;
	free(s->flows);
	memset(s, 0, sizeof(*s));
	s->started_ns = started;
	percpu = calloc((size_t)src->ncpus, slot);
	if (!percpu)
		return -ENOMEM;
	s->now_ns = mono_ns();
	if (src->config_fd >= 0)
		s->have_config = !bpf_map_lookup_elem(src->config_fd, &zero, &s->cfg);
	err = read_backends(src, s, percpu);
	if (err)
		goto out_free;
	for (i = 0; i < MQLB_STAT_MAX; i++) {
		/* A counter the running program does not have yet reads as 0. */
		if (sum_u64(src->stats_fd, i, percpu, src->ncpus, 1, &s->stats[i]))
			s->stats[i] = 0;
	}
	read_flow_max(src->flows_fd, s);
	if (flags & SNAP_F_FLOWS)
		err = read_flows(src->flows_fd, s);
	else
		err = count_flows(src->flows_fd, &s->flow_entries);
out_free:
	free(percpu);
	return err;
}

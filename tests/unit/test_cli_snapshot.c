// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot.c over real maps created for the test (needs CAP_BPF, skipped
 * otherwise): per-CPU sums, empty slots skipped, strings from maps bounded
 * and printable, garbage lengths clamped, flows sorted, table capacity.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "snapshot.h"

#define FLOWS_MAX 64

struct maps {
	struct snap_src src;
	int ncpus;
};

static int make_map(enum bpf_map_type type, uint32_t ksz, uint32_t vsz, uint32_t max)
{
	return bpf_map_create(type, NULL, ksz, vsz, max, NULL);
}

static int setup(void **state)
{
	struct maps *m = calloc(1, sizeof(*m));

	if (!m)
		return -1;
	snap_src_init(&m->src);
	m->src.owned = true;
	m->ncpus = m->src.ncpus = libbpf_num_possible_cpus();
	m->src.config_fd = make_map(BPF_MAP_TYPE_ARRAY, 4, sizeof(struct mqlb_config), 1);
	m->src.backends_fd =
	    make_map(BPF_MAP_TYPE_ARRAY, 4, sizeof(struct mqlb_backend), MQLB_MAX_BACKENDS);
	m->src.info_fd =
	    make_map(BPF_MAP_TYPE_ARRAY, 4, sizeof(struct mqlb_backend_info), MQLB_MAX_BACKENDS);
	m->src.bstats_fd = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct mqlb_backend_stats),
				    MQLB_MAX_BACKENDS);
	m->src.stats_fd = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, MQLB_STAT_MAX);
	m->src.flows_fd = make_map(BPF_MAP_TYPE_HASH, sizeof(struct mqlb_flow_key),
				   sizeof(struct mqlb_flow), FLOWS_MAX);
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	struct maps *m = *state;

	snapshot_close(&m->src);
	free(m);
	return 0;
}

static void need_maps(struct maps *m)
{
	if (m->src.config_fd < 0 || m->src.flows_fd < 0 || m->src.stats_fd < 0 ||
	    m->src.bstats_fd < 0 || m->src.info_fd < 0 || m->src.backends_fd < 0)
		skip(); /* no CAP_BPF: reported as skipped, not passed */
}

static void put_backend(struct maps *m, uint32_t id, uint8_t state, const char *name, size_t len)
{
	struct mqlb_backend be = {.port_be = htons(1883), .state = state, .weight = 1};
	struct mqlb_backend_info info;
	struct mqlb_backend_stats *st = calloc((size_t)m->ncpus, sizeof(*st));
	int c;

	assert_non_null(st);
	be.addr_be = htonl(0x0ac9020b + id);
	memset(&info, 0, sizeof(info));
	memcpy(info.name, name, len);
	memset(info.check_msg, 'x', sizeof(info.check_msg)); /* no NUL at all */
	info.check_result = MQLB_CHECK_OK;
	for (c = 0; c < m->ncpus; c++) {
		st[c].packets_in = 1;
		st[c].bytes_in = 100 + (uint64_t)c;
		st[c].flows_total = 2;
	}
	assert_int_equal(bpf_map_update_elem(m->src.backends_fd, &id, &be, 0), 0);
	assert_int_equal(bpf_map_update_elem(m->src.info_fd, &id, &info, 0), 0);
	assert_int_equal(bpf_map_update_elem(m->src.bstats_fd, &id, st, 0), 0);
	free(st);
}

static void put_flow(struct maps *m, uint32_t client, uint16_t port, uint8_t idlen)
{
	struct mqlb_flow_key k = {.client_addr_be = htonl(client), .client_port_be = htons(port)};
	struct mqlb_flow f;

	memset(&f, 0, sizeof(f));
	f.backend_id = 3;
	f.mqtt_level = 4;
	f.client_id_len = idlen;
	memset(f.client_id, 'c', sizeof(f.client_id));
	f.client_id[1] = '\n';
	assert_int_equal(bpf_map_update_elem(m->src.flows_fd, &k, &f, 0), 0);
}

static void test_sums_and_strings(void **state)
{
	struct maps *m = *state;
	struct snapshot *s;
	uint64_t *percpu;
	uint32_t key = 1;
	char longname[MQLB_BACKEND_NAME_LEN];
	int c;

	need_maps(m); /* before allocating: skip() does not return */
	s = snapshot_new();
	assert_non_null(s);
	memset(longname, 'n', sizeof(longname)); /* fills the field: no terminator */
	longname[2] = '\t';
	put_backend(m, 3, MQLB_BE_UP, "b1", 2);
	put_backend(m, 9, 200, longname, sizeof(longname)); /* garbage state */
	percpu = calloc((size_t)m->ncpus, 8);
	for (c = 0; c < m->ncpus; c++)
		percpu[c] = 5;
	assert_int_equal(bpf_map_update_elem(m->src.stats_fd, &key, percpu, 0), 0);
	free(percpu);

	assert_int_equal(snapshot_from_fds(&m->src, s, 0), 0);
	assert_int_equal(s->nbackends, 2); /* every other slot is EMPTY */
	assert_int_equal(s->backends[0].id, 3);
	assert_string_equal(s->backends[0].info.name, "b1");
	assert_int_equal(s->backends[0].st.packets_in, (uint64_t)m->ncpus);
	assert_int_equal(s->backends[0].st.flows_total, 2 * (uint64_t)m->ncpus);
	assert_int_equal(s->backends[0].st.bytes_in,
			 100 * (uint64_t)m->ncpus + (uint64_t)m->ncpus * (m->ncpus - 1) / 2);
	assert_int_equal(strlen(s->backends[0].info.check_msg), MQLB_CHECK_MSG_LEN - 1);
	assert_int_equal(strlen(s->backends[1].info.name), MQLB_BACKEND_NAME_LEN - 1);
	assert_int_equal(s->backends[1].info.name[2], '?');
	assert_string_equal(snap_state_name(s->backends[1].be.state), "unknown");
	assert_int_equal(s->stats[1], 5 * (uint64_t)m->ncpus);
	assert_int_equal(s->stats[0], 0);
	assert_true(s->have_config);
	assert_int_equal(s->flow_max_entries, FLOWS_MAX);
	assert_int_equal(s->flow_entries, 0);
	snapshot_free(s);
}

static void test_flows(void **state)
{
	struct maps *m = *state;
	struct snapshot *s;

	need_maps(m); /* before allocating: skip() does not return */
	s = snapshot_new();
	assert_non_null(s);
	put_flow(m, 0x0ac9010a, 5000, 3);
	put_flow(m, 0x0ac90109, 6000, 255); /* longer than the field: clamped */
	put_flow(m, 0x0ac9010a, 4000, 0);
	s->started_ns = 42; /* the daemon's value survives a refill */

	assert_int_equal(snapshot_from_fds(&m->src, s, 0), 0);
	assert_int_equal(s->flow_entries, 3);
	assert_int_equal(s->nflows, 0);
	assert_int_equal(snapshot_from_fds(&m->src, s, SNAP_F_FLOWS), 0);
	assert_int_equal(s->started_ns, 42);
	assert_int_equal(s->nflows, 3);
	assert_int_equal(s->flow_entries, 3);
	/* sorted by client address, then port */
	assert_int_equal(ntohl(s->flows[0].key.client_addr_be), 0x0ac90109);
	assert_int_equal(ntohs(s->flows[1].key.client_port_be), 4000);
	assert_int_equal(ntohs(s->flows[2].key.client_port_be), 5000);
	assert_int_equal(strlen(s->flows[0].client_id), MQLB_CLIENT_ID_LEN);
	assert_string_equal(s->flows[1].client_id, "");
	assert_string_equal(s->flows[2].client_id, "c?c");
	snapshot_free(s);
}

/* No root needed: a missing pin names the map that could not be opened. */
static void test_open_missing(void **state)
{
	struct snap_src src;

	assert_int_equal(snapshot_open(&src, "/nonexistent/mqlb"), -ENOENT);
	assert_string_equal(src.failed, MQLB_NAME(MQLB_MAP_CONFIG));
	assert_int_equal(src.flows_fd, -1);
	snapshot_close(&src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sums_and_strings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flows, setup, teardown),
	    cmocka_unit_test(test_open_missing),
	};

	libbpf_set_print(NULL);
	return cmocka_run_group_tests_name("cli_snapshot", tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fixed snapshot for the golden tests of the CLI and the stats page:
 * backends up with a passing check, down with a failing one, a nameless
 * draining slot without checks, a slot whose state is garbage; three flows,
 * one of them to a backend slot that no longer exists.
 */
#ifndef TEST_CLI_FIXTURE_H
#define TEST_CLI_FIXTURE_H

#include <arpa/inet.h>
#include <string.h>

#include "snapshot.h"

#define FIX_SEC 1000000000ULL
#define FIX_NOW (100000 * FIX_SEC)

static inline void fix_backend(struct snap_backend *b, uint32_t id, const char *name,
			       const char *addr, uint16_t port, uint8_t state)
{
	memset(b, 0, sizeof(*b));
	b->id = id;
	snprintf(b->info.name, sizeof(b->info.name), "%s", name);
	inet_pton(AF_INET, addr, &b->be.addr_be);
	b->be.port_be = htons(port);
	b->be.state = state;
	b->be.weight = 1;
}

static inline void fix_flow(struct snap_flow *fl, const char *cli, uint16_t cport, uint16_t sport,
			    const char *be, uint16_t backend_id, uint32_t flags, uint64_t age_s,
			    uint64_t idle_s, uint8_t level, const char *client_id)
{
	memset(fl, 0, sizeof(*fl));
	inet_pton(AF_INET, cli, &fl->key.client_addr_be);
	inet_pton(AF_INET, "10.201.1.1", &fl->key.vip_addr_be);
	fl->key.client_port_be = htons(cport);
	fl->key.vip_port_be = htons(1883);
	inet_pton(AF_INET, "10.201.2.1", &fl->f.snat_addr_be);
	fl->f.snat_port_be = htons(sport);
	inet_pton(AF_INET, be, &fl->f.backend_addr_be);
	fl->f.backend_port_be = htons(1883);
	fl->f.backend_id = backend_id;
	fl->f.tcp_flags = flags;
	fl->f.created_ns = FIX_NOW - age_s * FIX_SEC;
	fl->f.last_ns = FIX_NOW - idle_s * FIX_SEC;
	fl->f.mqtt_level = level;
	fl->f.mqtt_flags = level ? MQLB_MQTT_PARSED : 0;
	fl->f.keepalive_s = level ? 60 : 0;
	snprintf(fl->client_id, sizeof(fl->client_id), "%s", client_id);
}

#define FIX_EST (MQLB_FLOW_SYN | MQLB_FLOW_SYNACK | MQLB_FLOW_ESTABLISHED)

/* s must come from snapshot_new(); flows are heap-allocated so snapshot_free() works. */
static inline void fixture_fill(struct snapshot *s)
{
	struct snap_backend *b;
	unsigned int i;

	s->now_ns = FIX_NOW;
	s->started_ns = FIX_NOW - 3723 * FIX_SEC;
	s->have_config = true;
	inet_pton(AF_INET, "10.201.1.1", &s->cfg.vip_addr_be);
	s->cfg.vip_port_be = htons(1883);

	b = &s->backends[0];
	fix_backend(b, 0, "b1", "10.201.2.11", 1883, MQLB_BE_UP);
	b->info.state_since_ns = FIX_NOW - 65 * FIX_SEC;
	b->info.check_result = MQLB_CHECK_OK;
	b->info.check_latency_us = 1234;
	snprintf(b->info.check_msg, sizeof(b->info.check_msg), "CONNACK 0");
	b->info.flows_active = 10;
	b->info.flows_max = 12;
	b->st = (struct mqlb_backend_stats){.packets_in = 100,
					    .bytes_in = 6400,
					    .packets_out = 90,
					    .bytes_out = 5000,
					    .flows_total = 30,
					    .flows_client_id = 28,
					    .flows_fallback = 2};

	b = &s->backends[1];
	fix_backend(b, 1, "b<2>", "10.201.2.12", 1883, MQLB_BE_DOWN);
	b->be.weight = 2;
	b->info.state_since_ns = FIX_NOW - 7200 * FIX_SEC;
	b->info.check_result = MQLB_CHECK_FAILED;
	b->info.check_latency_us = 500;
	snprintf(b->info.check_msg, sizeof(b->info.check_msg), "connection \"refused\"");

	/* The daemon wrote no name: shown by slot id. */
	b = &s->backends[2];
	fix_backend(b, 5, "", "10.201.2.13", 8883, MQLB_BE_DRAIN);
	b->info.flows_active = 1;
	b->info.flows_max = 1;
	b->st.flows_total = 1;

	/* Garbage state value in the map. */
	b = &s->backends[3];
	fix_backend(b, 7, "weird", "10.201.2.14", 1883, 77);
	s->nbackends = 4;

	for (i = 0; i < MQLB_STAT_MAX; i++)
		s->stats[i] = i * 10;
	s->flow_entries = 3;
	s->flow_max_entries = 262144;

	s->flows = calloc(3, sizeof(*s->flows));
	s->nflows = 3;
	fix_flow(&s->flows[0], "10.201.1.10", 40000, 10001, "10.201.2.11", 0,
		 FIX_EST | MQLB_FLOW_TS_SHIFT, 125, 3, 4, "sensor-1");
	fix_flow(&s->flows[1], "10.201.1.10", 40001, 10002, "10.201.2.13", 5,
		 FIX_EST | MQLB_FLOW_FIN_CLIENT, 2, 0, 0, "");
	s->flows[1].f.mqtt_flags = MQLB_MQTT_NOT_MQTT;
	/* placed by its client id (Maglev slot 15915), the backend told its address */
	s->flows[0].f.cid_slot = 15915 + 1;
	s->flows[0].f.proxy_len = 28;
	fix_flow(&s->flows[2], "10.201.1.20", 5000, 10003, "10.201.2.11", 9, MQLB_FLOW_SYN, 0, 0, 5,
		 "x\"y");
	s->flows[2].f.mqtt_flags |= MQLB_MQTT_BRIDGE | MQLB_MQTT_ID_TRUNCATED;
}

#endif

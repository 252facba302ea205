// SPDX-License-Identifier: GPL-2.0
/*
 * Warnings before the data plane runs out of room: the flow table (when
 * full, new SYNs are dropped as drop_table_full) and each backend's SNAT
 * ports (when every candidate is taken, drop_snat_exhausted). Each
 * resource warns once above 80% and says so once it is back at 70%.
 */
#include "log.h"
#include "mqlbd.h"

static void check_flow_table(struct mqlbd *d, const struct gc_result *res)
{
	uint64_t size = d->conf.flow_table_size;

	switch (watermark_update(&d->wm_flows, res->scanned, size, WATERMARK_HIGH_PCT,
				 WATERMARK_LOW_PCT)) {
	case WM_ROSE:
		pr_warn("flow table %u%% full (%llu of %llu flows): once full, new connections "
			"are dropped (drop_table_full); raise flow-table-size\n",
			watermark_pct(res->scanned, size), (unsigned long long)res->scanned,
			(unsigned long long)size);
		break;
	case WM_FELL:
		pr_info("flow table back to %u%% (%llu of %llu flows)\n",
			watermark_pct(res->scanned, size), (unsigned long long)res->scanned,
			(unsigned long long)size);
		break;
	case WM_SAME:
		break;
	}
}

/*
 * Each backend has the whole snat-ports range to itself (the SNAT tuple
 * includes the backend's address and port); every flow record naming the
 * backend, live or waiting for the collector, holds one of its ports.
 */
static void check_snat(struct mqlbd *d, const struct gc_result *res, uint32_t id)
{
	const struct pool_backend *b = &d->pool.be[id];
	uint64_t ports = (uint64_t)d->conf.snat_port_max - d->conf.snat_port_min + 1;
	unsigned int pct = watermark_pct(res->held[id], ports);

	if (!b->used) {
		d->wm_snat[id].high = false;
		return;
	}
	switch (watermark_update(&d->wm_snat[id], res->held[id], ports, WATERMARK_HIGH_PCT,
				 WATERMARK_LOW_PCT)) {
	case WM_ROSE:
		pr_warn("backend %s: %u%% of its SNAT ports in use (%u of %llu in snat-ports "
			"%u-%u): once none is free, its new connections are dropped "
			"(drop_snat_exhausted); widen snat-ports\n", b->name, pct, res->held[id],
			(unsigned long long)ports, d->conf.snat_port_min, d->conf.snat_port_max);
		break;
	case WM_FELL:
		pr_info("backend %s: SNAT ports back to %u%% in use (%u of %llu)\n", b->name, pct,
			res->held[id], (unsigned long long)ports);
		break;
	case WM_SAME:
		break;
	}
}

void capacity_check(struct mqlbd *d, const struct gc_result *res)
{
	uint32_t id;

	check_flow_table(d, res);
	for (id = 0; id < MQLB_MAX_BACKENDS; id++)
		check_snat(d, res, id);
}

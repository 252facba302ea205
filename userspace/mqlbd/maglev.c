// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "mqlb_hash.h"

/* A second seed for the skip, so that offset and skip are independent draws. */
#define SKIP_SEED_XOR 0x9e3779b97f4a7c15ULL

struct perm {
	const struct maglev_backend *be;
	uint32_t offset, skip, next;  /* next: how far down its preference list it is */
	uint32_t credit;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct perm *)a)->be->name, ((const struct perm *)b)->be->name);
}

static uint64_t name_hash(uint64_t seed, const char *name)
{
	return mqlb_hash_bytes(seed, (const __u8 *)name, (__u32)strnlen(name, MQLB_HASH_MAX_LEN));
}

/* The next free slot in backend i's preference order, claimed for it. */
static void claim(struct perm *p, uint16_t id, uint16_t *table)
{
	uint32_t c;

	do {
		c = (uint32_t)(((uint64_t)p->offset + (uint64_t)p->next * p->skip) %
			       MQLB_MAGLEV_SIZE);
		p->next++;
	} while (table[c] != MQLB_MAGLEV_NONE);
	table[c] = id;
}

int maglev_build(const struct maglev_backend *be, unsigned int n, uint64_t seed,
		 uint16_t table[MQLB_MAGLEV_SIZE])
{
	uint32_t wmax = 0, filled = 0;
	struct perm *p;
	unsigned int i;

	for (i = 0; i < MQLB_MAGLEV_SIZE; i++)
		table[i] = MQLB_MAGLEV_NONE;
	if (n > MQLB_MAX_BACKENDS)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!be[i].weight || be[i].weight > MQLB_MAX_WEIGHT)
			return -EINVAL;
		if (be[i].weight > wmax)
			wmax = be[i].weight;
	}
	if (!n)
		return 0;
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		p[i].be = &be[i];
		p[i].offset = (uint32_t)(name_hash(seed, be[i].name) % MQLB_MAGLEV_SIZE);
		p[i].skip = (uint32_t)(name_hash(seed ^ SKIP_SEED_XOR, be[i].name) %
				       (MQLB_MAGLEV_SIZE - 1)) + 1;
	}
	qsort(p, n, sizeof(*p), by_name);
	/*
	 * Turns in a fixed order; weights as credit: each turn a backend earns
	 * its weight and claims a slot per wmax earned, so the heaviest claims
	 * one a turn and the others in proportion. The order is the backends'
	 * by name, not by slot id, so that nodes agree whatever ids they gave.
	 */
	while (filled < MQLB_MAGLEV_SIZE) {
		for (i = 0; i < n && filled < MQLB_MAGLEV_SIZE; i++) {
			p[i].credit += p[i].be->weight;
			while (p[i].credit >= wmax && filled < MQLB_MAGLEV_SIZE) {
				p[i].credit -= wmax;
				claim(&p[i], p[i].be->id, table);
				filled++;
			}
		}
	}
	free(p);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"

void pool_init(struct pool *p)
{
	memset(p, 0, sizeof(*p));
}

int pool_find(const struct pool *p, const char *name)
{
	int i;

	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		if (p->be[i].used && !strcmp(p->be[i].name, name))
			return i;
	return -ENOENT;
}

int pool_add(struct pool *p, const char *name, const struct sockaddr_in *addr, uint32_t weight,
	     enum mqlb_backend_state state)
{
	int i;

	if (pool_find(p, name) >= 0)
		return -EEXIST;
	for (i = 0; i < MQLB_MAX_BACKENDS; i++) {
		struct pool_backend *b = &p->be[i];

		if (b->used)
			continue;
		b->used = true;
		snprintf(b->name, sizeof(b->name), "%s", name);
		b->addr = *addr;
		b->weight = weight ? weight : 1;
		b->state = state;
		return i;
	}
	return -ENOSPC;
}

int pool_count(const struct pool *p, enum mqlb_backend_state state)
{
	int i, n = 0;

	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		n += p->be[i].used && p->be[i].state == state;
	return n;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

uint32_t pool_build_ring(const struct pool *p, struct mqlb_ring *r)
{
	uint32_t w[MQLB_MAX_BACKENDS] = { 0 };
	int64_t cur[MQLB_MAX_BACKENDS] = { 0 };
	uint32_t g = 0, total = 0, n, i;

	for (i = 0; i < MQLB_MAX_BACKENDS; i++) {
		if (p->be[i].used && p->be[i].state == MQLB_BE_UP) {
			w[i] = p->be[i].weight ? p->be[i].weight : 1;
			g = gcd(w[i], g);
		}
	}
	r->len = 0;
	if (!g)
		return 0;
	for (i = 0; i < MQLB_MAX_BACKENDS; i++) {
		w[i] /= g;
		total += w[i];
	}
	/* 256 backends x weight 256 can exceed the ring: scale, keeping each >= 1. */
	if (total > MQLB_RING_SIZE) {
		uint32_t scaled = 0;

		for (i = 0; i < MQLB_MAX_BACKENDS; i++) {
			if (!w[i])
				continue;
			w[i] = (uint32_t)((uint64_t)w[i] * (MQLB_RING_SIZE - MQLB_MAX_BACKENDS) / total);
			if (!w[i])
				w[i] = 1;
			scaled += w[i];
		}
		total = scaled;
	}
	/*
	 * Smooth weighted round-robin: each step every candidate gains its
	 * weight, the largest wins and pays the total. Weights 2:1:1 give
	 * a b c a rather than a a b c, so bursts spread evenly.
	 */
	for (n = 0; n < total; n++) {
		int best = -1;

		for (i = 0; i < MQLB_MAX_BACKENDS; i++) {
			if (!w[i])
				continue;
			cur[i] += w[i];
			if (best < 0 || cur[i] > cur[best])
				best = (int)i;
		}
		cur[best] -= total;
		r->slot[n] = (uint16_t)best;
	}
	r->len = total;
	return total;
}

void pool_backend_to_abi(const struct pool_backend *b, struct mqlb_backend *out)
{
	memset(out, 0, sizeof(*out));
	if (!b->used)
		return;
	out->addr_be = b->addr.sin_addr.s_addr;
	out->port_be = b->addr.sin_port;
	out->state = (uint8_t)b->state;
	out->weight = b->weight;
}

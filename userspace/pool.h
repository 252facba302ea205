/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The backend pool: which backend owns which data-plane slot, its state,
 * and the weighted round-robin ring built from the backends that are up.
 * Pure: no maps, no sockets, so it is unit-tested directly.
 */
#ifndef MQLBD_POOL_H
#define MQLBD_POOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqlb_abi.h"
#include "config.h"

#pragma GCC poison u8 u16 u32 u64

struct pool_backend {
	bool used;
	char name[BACKEND_NAME_LEN];
	struct sockaddr_in addr;
	uint32_t weight;
	enum mqlb_backend_state state;
};

struct pool {
	/* Indexed by backend id == data-plane slot; ids are never reused while in use. */
	struct pool_backend be[MQLB_MAX_BACKENDS];
};

void pool_init(struct pool *p);
/* Add from config; returns the id or -EEXIST/-ENOSPC. */
int pool_add(struct pool *p, const char *name, const struct sockaddr_in *addr, uint32_t weight,
	     enum mqlb_backend_state state);
int pool_find(const struct pool *p, const char *name);
int pool_count(const struct pool *p, enum mqlb_backend_state state);
/*
 * Fill r with the smooth weighted round-robin order of the backends that
 * are up (weights reduced by their gcd, scaled down to fit the ring).
 * r->gen is left to the caller. Returns the ring length (0: none up).
 */
uint32_t pool_build_ring(const struct pool *p, struct mqlb_ring *r);
/* The data-plane view of one slot. */
void pool_backend_to_abi(const struct pool_backend *b, struct mqlb_backend *out);

#endif

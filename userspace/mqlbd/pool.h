/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The backend pool: which backend owns which data-plane slot, its
 * operator (admin) state, its health, and the weighted round-robin ring
 * built from the backends that are up. Pure: it never touches a map; the
 * data plane is reached through struct dp_ops (katran's BaseBpfAdapter
 * seam, in C), which the unit tests replace with a fake.
 *
 * Effective state, what the data plane sees:
 *   admin disabled          -> disabled  (no new flows, flows continue)
 *   health not up           -> down      (no new flows, flows reset unless on-down keep)
 *   admin drain             -> drain     (no new flows, flows continue)
 *   otherwise               -> up
 * A backend starts with unknown health, which counts as down, and is up
 * after its first successful check; afterwards rise and fall apply.
 */
#ifndef MQLBD_POOL_H
#define MQLBD_POOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqlb_abi.h"
#include "config.h"

enum admin_state {
	ADMIN_ENABLED = 0,
	ADMIN_DRAIN,
	ADMIN_DISABLED,
};

enum health_state {
	HEALTH_UNKNOWN = 0,
	HEALTH_UP,
	HEALTH_DOWN,
};

struct dp_ops {
	int (*set_backend)(void *ctx, uint32_t id, const struct mqlb_backend *be);
	int (*set_info)(void *ctx, uint32_t id, const struct mqlb_backend_info *info);
	int (*publish_ring)(void *ctx, struct mqlb_ring *ring);
	/* The backend went down or was removed: end its flows (on-down reset). */
	void (*backend_lost)(void *ctx, uint32_t id);
};

struct pool_backend {
	bool used;
	char name[BACKEND_NAME_LEN];
	struct sockaddr_in addr;
	uint32_t weight;
	bool proxy_v2;           /* the data plane sends it a PROXY v2 header first */
	enum admin_state admin;
	enum health_state health;
	uint32_t ok_streak;
	uint32_t fail_streak;
	/* last published to the data plane */
	enum mqlb_backend_state state;
	bool published;
	uint64_t state_since_ns;
	/* last health check */
	uint8_t check_result; /* enum mqlb_check_result */
	uint32_t check_latency_us;
	uint64_t check_at_ns;
	char check_msg[MQLB_CHECK_MSG_LEN];
	uint32_t flows_active;
	uint32_t flows_max;
	char reason[96]; /* why the next state change happens, for the log */
};

struct pool {
	struct pool_backend be[MQLB_MAX_BACKENDS];
	uint32_t rise;
	uint32_t fall;
	bool health_none;   /* no checks: health is up at once */
	uint32_t next_id;   /* slots are handed out in rotation, so a freed id is not reused at once */
	const struct dp_ops *ops;
	void *ops_ctx;
	struct mqlb_ring *ring; /* scratch, allocated once */
	bool ring_published;
	bool ring_dirty;    /* the up set changed and the new ring is not published yet */
};

int pool_init(struct pool *p, const struct dp_ops *ops, void *ops_ctx);
void pool_free(struct pool *p);

/* Returns the id, or -EEXIST (name or address taken) / -ENOSPC. */
int pool_add(struct pool *p, const char *name, const struct sockaddr_in *addr, uint32_t weight,
	     enum admin_state admin);
/* Same, into a given slot (adopting a previous daemon's pinned state). */
int pool_add_at(struct pool *p, uint32_t id, const char *name, const struct sockaddr_in *addr,
		uint32_t weight, enum admin_state admin, enum health_state health);
int pool_del(struct pool *p, const char *name, const char *reason);
int pool_set_admin(struct pool *p, const char *name, enum admin_state admin, const char *reason);
int pool_set_weight(struct pool *p, const char *name, uint32_t weight);
int pool_set_proxy_v2(struct pool *p, const char *name, bool on);
int pool_find(const struct pool *p, const char *name);
int pool_count(const struct pool *p, enum mqlb_backend_state state);

/* A previous daemon published be in slot id (adoption): sync from there. */
void pool_adopt_published(struct pool *p, uint32_t id, const struct mqlb_backend *be,
			  const char *name);
/* Live flows counted by the collector. */
void pool_set_flows(struct pool *p, uint32_t id, uint32_t active);

/* One health check finished. */
void pool_check_result(struct pool *p, uint32_t id, bool ok, uint32_t latency_us,
		       const char *msg, uint64_t now_ns);

/*
 * Publish every change since the last sync: backend slots, info, the ring
 * (when the set of up backends or their weights changed), state-change log
 * lines, and backend_lost() for backends that went down or away.
 * Returns 0 or the first -errno of the data plane.
 */
int pool_sync(struct pool *p, uint64_t now_ns);

enum mqlb_backend_state pool_effective_state(const struct pool *p, const struct pool_backend *b);
const char *pool_state_name(enum mqlb_backend_state s);
const char *pool_admin_name(enum admin_state a);

/* Smooth weighted round-robin over the up backends; returns the ring length. */
uint32_t pool_build_ring(const struct pool *p, struct mqlb_ring *r);
void pool_backend_to_abi(const struct pool_backend *b, enum mqlb_backend_state state,
			 struct mqlb_backend *out);

#endif

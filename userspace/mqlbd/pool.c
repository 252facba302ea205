// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool.h"

/* What was last written to each data-plane slot, to publish only changes. */
struct pool_published {
	struct mqlb_backend be[MQLB_MAX_BACKENDS];
	bool dirty_info[MQLB_MAX_BACKENDS];
};

static struct pool_published *pub_of(struct pool *p)
{
	return (struct pool_published *)(p->ring + 1);
}

int pool_init(struct pool *p, const struct dp_ops *ops, void *ops_ctx)
{
	memset(p, 0, sizeof(*p));
	p->rise = 2;
	p->fall = 2;
	p->ops = ops;
	p->ops_ctx = ops_ctx;
	/* One allocation: the ring scratch, then the published copy. */
	p->ring = calloc(1, sizeof(struct mqlb_ring) + sizeof(struct pool_published));
	return p->ring ? 0 : -ENOMEM;
}

void pool_free(struct pool *p)
{
	free(p->ring);
	p->ring = NULL;
}

int pool_find(const struct pool *p, const char *name)
{
	int i;

	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		if (p->be[i].used && !strcmp(p->be[i].name, name))
			return i;
	return -ENOENT;
}

static bool addr_taken(const struct pool *p, const struct sockaddr_in *addr)
{
	int i;

	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		if (p->be[i].used && p->be[i].addr.sin_addr.s_addr == addr->sin_addr.s_addr &&
		    p->be[i].addr.sin_port == addr->sin_port)
			return true;
	return false;
}

int pool_add_at(struct pool *p, uint32_t id, const char *name, const struct sockaddr_in *addr,
		uint32_t weight, enum admin_state admin, enum health_state health)
{
	struct pool_backend *b;

	if (id >= MQLB_MAX_BACKENDS)
		return -ERANGE;
	if (pool_find(p, name) >= 0 || addr_taken(p, addr))
		return -EEXIST;
	b = &p->be[id];
	if (b->used)
		return -EBUSY;
	memset(b, 0, sizeof(*b));
	b->used = true;
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->addr = *addr;
	b->weight = weight ? weight : 1;
	b->admin = admin;
	b->health = p->health_none ? HEALTH_UP : health;
	snprintf(b->reason, sizeof(b->reason), "added");
	pub_of(p)->dirty_info[id] = true;
	return (int)id;
}

int pool_add(struct pool *p, const char *name, const struct sockaddr_in *addr, uint32_t weight,
	     enum admin_state admin)
{
	struct pool_published *pub = pub_of(p);
	uint32_t n, id;

	if (pool_find(p, name) >= 0 || addr_taken(p, addr))
		return -EEXIST;
	/*
	 * Rotate through the slots: a slot just freed still has flows in the
	 * data plane that name its id, until they are reset and collected.
	 */
	for (n = 0; n < MQLB_MAX_BACKENDS; n++) {
		id = (p->next_id + n) % MQLB_MAX_BACKENDS;
		if (p->be[id].used || pub->be[id].state != MQLB_BE_EMPTY)
			continue;
		p->next_id = (id + 1) % MQLB_MAX_BACKENDS;
		return pool_add_at(p, id, name, addr, weight, admin, HEALTH_UNKNOWN);
	}
	return -ENOSPC;
}

int pool_del(struct pool *p, const char *name, const char *reason)
{
	int id = pool_find(p, name);

	if (id < 0)
		return id;
	p->be[id].used = false;
	snprintf(p->be[id].reason, sizeof(p->be[id].reason), "%s", reason);
	pub_of(p)->dirty_info[id] = true;
	return 0;
}

int pool_set_admin(struct pool *p, const char *name, enum admin_state admin, const char *reason)
{
	int id = pool_find(p, name);

	if (id < 0)
		return id;
	p->be[id].admin = admin;
	snprintf(p->be[id].reason, sizeof(p->be[id].reason), "%s", reason);
	return 0;
}

int pool_set_weight(struct pool *p, const char *name, uint32_t weight)
{
	int id = pool_find(p, name);

	if (id < 0)
		return id;
	if (weight < 1 || weight > MQLB_MAX_WEIGHT)
		return -ERANGE;
	p->be[id].weight = weight;
	return 0;
}

int pool_set_proxy_v2(struct pool *p, const char *name, bool on)
{
	int id = pool_find(p, name);

	if (id < 0)
		return id;
	p->be[id].proxy_v2 = on;
	return 0;
}

void pool_adopt_published(struct pool *p, uint32_t id, const struct mqlb_backend *be,
			  const char *name)
{
	struct pool_backend *b;

	if (id >= MQLB_MAX_BACKENDS)
		return;
	pub_of(p)->be[id] = *be;
	/* Named for the log line should the new configuration not have it. */
	b = &p->be[id];
	if (!b->used) {
		snprintf(b->name, sizeof(b->name), "%s", name[0] ? name : "?");
		snprintf(b->reason, sizeof(b->reason), "not in the configuration at restart");
	}
}

void pool_set_flows(struct pool *p, uint32_t id, uint32_t active)
{
	struct pool_backend *b;

	if (id >= MQLB_MAX_BACKENDS || !p->be[id].used)
		return;
	b = &p->be[id];
	if (b->flows_active == active)
		return;
	b->flows_active = active;
	if (active > b->flows_max)
		b->flows_max = active;
	pub_of(p)->dirty_info[id] = true;
}

enum mqlb_backend_state pool_effective_state(const struct pool *p, const struct pool_backend *b)
{
	if (!b->used)
		return MQLB_BE_EMPTY;
	if (b->admin == ADMIN_DISABLED)
		return MQLB_BE_DISABLED;
	if (!p->health_none && b->health != HEALTH_UP)
		return MQLB_BE_DOWN;
	if (b->admin == ADMIN_DRAIN)
		return MQLB_BE_DRAIN;
	return MQLB_BE_UP;
}

int pool_count(const struct pool *p, enum mqlb_backend_state state)
{
	int i, n = 0;

	for (i = 0; i < MQLB_MAX_BACKENDS; i++)
		n += p->be[i].used && pool_effective_state(p, &p->be[i]) == state;
	return n;
}

void pool_check_result(struct pool *p, uint32_t id, bool ok, uint32_t latency_us,
		       const char *msg, uint64_t now_ns)
{
	struct pool_backend *b;

	if (id >= MQLB_MAX_BACKENDS || !p->be[id].used)
		return;
	b = &p->be[id];
	b->check_result = ok ? MQLB_CHECK_OK : MQLB_CHECK_FAILED;
	b->check_latency_us = latency_us;
	b->check_at_ns = now_ns;
	snprintf(b->check_msg, sizeof(b->check_msg), "%s", msg);
	pub_of(p)->dirty_info[id] = true;
	if (ok) {
		b->fail_streak = 0;
		b->ok_streak++;
		if (b->health == HEALTH_UNKNOWN ||
		    (b->health == HEALTH_DOWN && b->ok_streak >= p->rise)) {
			snprintf(b->reason, sizeof(b->reason), "health check passed %u time%s: %s",
				 b->ok_streak, b->ok_streak == 1 ? "" : "s", msg);
			b->health = HEALTH_UP;
		}
	} else {
		b->ok_streak = 0;
		b->fail_streak++;
		if (b->health != HEALTH_DOWN && b->fail_streak >= p->fall) {
			snprintf(b->reason, sizeof(b->reason), "health check failed %u time%s: %s",
				 b->fail_streak, b->fail_streak == 1 ? "" : "s", msg);
			b->health = HEALTH_DOWN;
		}
	}
}

const char *pool_state_name(enum mqlb_backend_state s)
{
	return s <= MQLB_BE_DISABLED ? mqlb_backend_state_names[s] : "?";
}

const char *pool_admin_name(enum admin_state a)
{
	return a == ADMIN_DRAIN ? "drain" : a == ADMIN_DISABLED ? "disabled" : "enabled";
}

static bool lost(enum mqlb_backend_state from, enum mqlb_backend_state to)
{
	bool had_flows = from != MQLB_BE_DOWN && from != MQLB_BE_EMPTY;

	return had_flows && (to == MQLB_BE_DOWN || to == MQLB_BE_EMPTY);
}

static void fill_info(const struct pool_backend *b, struct mqlb_backend_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!b->used)
		return;
	snprintf(info->name, sizeof(info->name), "%s", b->name);
	info->state_since_ns = b->state_since_ns;
	info->check_at_ns = b->check_at_ns;
	info->check_latency_us = b->check_latency_us;
	info->check_result = b->check_result;
	snprintf(info->check_msg, sizeof(info->check_msg), "%s", b->check_msg);
	info->flows_active = b->flows_active;
	info->flows_max = b->flows_max;
}

int pool_sync(struct pool *p, uint64_t now_ns)
{
	struct pool_published *pub = pub_of(p);
	uint32_t id;
	int err;

	for (id = 0; id < MQLB_MAX_BACKENDS; id++) {
		struct pool_backend *b = &p->be[id];
		struct mqlb_backend *old = &pub->be[id], now;
		enum mqlb_backend_state st = pool_effective_state(p, b);

		pool_backend_to_abi(b, st, &now);
		if (!memcmp(old, &now, sizeof(now)) && !pub->dirty_info[id])
			continue;
		if (old->state != now.state || old->addr_be != now.addr_be ||
		    old->port_be != now.port_be) {
			/* Losing a backend is a degradation: a warning, not news. */
			bool went_down = now.state == MQLB_BE_DOWN && old->state != MQLB_BE_EMPTY;

			if (b->used || old->state != MQLB_BE_EMPTY)
				log_print(went_down ? LOG_LVL_WARN : LOG_LVL_INFO,
					  "backend %s: %s -> %s (%s)\n", b->name[0] ? b->name : "?",
					  pool_state_name(old->state), pool_state_name(now.state),
					  b->reason[0] ? b->reason : "-");
			b->state_since_ns = now_ns;
			pub->dirty_info[id] = true;
		}
		/* Remembered across calls: a failed sync must not lose a ring change. */
		if ((old->state == MQLB_BE_UP) != (now.state == MQLB_BE_UP) ||
		    (now.state == MQLB_BE_UP && old->weight != now.weight))
			p->ring_dirty = true;
		if (memcmp(old, &now, sizeof(now))) {
			err = p->ops->set_backend(p->ops_ctx, id, &now);
			if (err)
				return err;
		}
		if (pub->dirty_info[id]) {
			struct mqlb_backend_info info;

			fill_info(b, &info);
			err = p->ops->set_info(p->ops_ctx, id, &info);
			if (err)
				return err;
			pub->dirty_info[id] = false;
		}
		if (lost(old->state, now.state) ||
		    (old->state != MQLB_BE_EMPTY && old->addr_be != now.addr_be))
			p->ops->backend_lost(p->ops_ctx, id);
		*old = now;
		b->reason[0] = '\0';
	}
	if (!p->ring_dirty && p->ring_published)
		return 0;
	pool_build_ring(p, p->ring);
	err = p->ops->publish_ring(p->ops_ctx, p->ring);
	if (!err) {
		p->ring_published = true;
		p->ring_dirty = false;
	}
	return err;
}

/* The data plane view of a slot. */
void pool_backend_to_abi(const struct pool_backend *b, enum mqlb_backend_state state,
			 struct mqlb_backend *out)
{
	memset(out, 0, sizeof(*out));
	if (!b->used)
		return;
	out->addr_be = b->addr.sin_addr.s_addr;
	out->port_be = b->addr.sin_port;
	out->state = (uint8_t)state;
	out->flags = b->proxy_v2 ? MQLB_BACKEND_PROXY_V2 : 0;
	out->weight = b->weight;
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
		if (p->be[i].used && pool_effective_state(p, &p->be[i]) == MQLB_BE_UP) {
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

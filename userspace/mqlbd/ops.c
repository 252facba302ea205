// SPDX-License-Identifier: GPL-2.0
/*
 * Changes to the pool at run time, the same whether they come from the
 * control socket or from a reload: each one updates the pool, starts or
 * stops the backend's health checks, and publishes. None of them touches
 * another backend's flows, and the ring is rebuilt over the backends that
 * are up, so round-robin stays exact.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mqlbd.h"
#include "neigh.h"
#include "netutil.h"

int mqlbd_backend_add(struct mqlbd *d, const char *name, const char *addr, uint32_t weight,
		      bool disabled, const char *reason, char *msg, size_t len)
{
	struct sockaddr_in sa;
	int id;

	if (!config_valid_backend_name(name)) {
		snprintf(msg, len, "backend name '%s' must be 1-%d characters of [A-Za-z0-9_.-]",
			 name, BACKEND_NAME_LEN - 1);
		return -EINVAL;
	}
	if (net_parse_ipv4_port(addr, 1883, &sa)) {
		snprintf(msg, len, "backend '%s': bad address '%s' (want IPV4[:PORT])", name, addr);
		return -EINVAL;
	}
	if (weight < 1 || weight > MQLB_MAX_WEIGHT) {
		snprintf(msg, len, "backend '%s': weight must be 1-%d", name, MQLB_MAX_WEIGHT);
		return -EINVAL;
	}
	id = pool_add(&d->pool, name, &sa, weight, disabled ? ADMIN_DISABLED : ADMIN_ENABLED);
	if (id == -EEXIST) {
		snprintf(msg, len, "backend '%s': the name or the address %s is already in the pool",
			 name, addr);
		return id;
	}
	if (id < 0) {
		snprintf(msg, len, "backend '%s': the pool is full (%d backends)", name,
			 MQLB_MAX_BACKENDS);
		return id;
	}
	snprintf(d->pool.be[id].reason, sizeof(d->pool.be[id].reason), "%s", reason);
	if (neigh_ensure(sa.sin_addr, &d->neigh[id]))
		pr_warn("backend %s: no next hop yet; its flows will wait for one\n", name);
	health_start(&d->health, (uint32_t)id);
	mqlbd_publish(d);
	snprintf(msg, len, "backend %s added as %s (%s)", name, addr,
		 disabled ? "disabled" :
		 d->conf.health.kind == HEALTH_NONE ? "up" : "up after its first health check");
	return 0;
}

int mqlbd_backend_del(struct mqlbd *d, const char *name, const char *reason, char *msg,
		      size_t len)
{
	int id = pool_find(&d->pool, name);

	if (id < 0) {
		snprintf(msg, len, "no backend named '%s'", name);
		return id;
	}
	health_stop(&d->health, (uint32_t)id);
	pool_del(&d->pool, name, reason);
	/*
	 * The managed neighbour entry stays until mqlbd stops: another backend
	 * may share the next hop (same host or gateway), and with on-down keep
	 * the removed backend's flows still need it.
	 */
	mqlbd_publish(d);
	snprintf(msg, len, "backend %s removed%s", name,
		 d->conf.on_down_keep ? "" : "; its clients are being reset");
	return 0;
}

int mqlbd_backend_admin(struct mqlbd *d, const char *name, enum admin_state admin,
			const char *reason, char *msg, size_t len)
{
	int err = pool_set_admin(&d->pool, name, admin, reason);

	if (err) {
		snprintf(msg, len, "no backend named '%s'", name);
		return err;
	}
	mqlbd_publish(d);
	snprintf(msg, len, "backend %s: %s", name, pool_admin_name(admin));
	return 0;
}

/* Settings a running data plane cannot change: refuse the reload and say so. */
static const char *restart_only(const struct mqlbd_config *o, const struct mqlbd_config *n)
{
	if (o->vip.sin_addr.s_addr != n->vip.sin_addr.s_addr || o->vip.sin_port != n->vip.sin_port)
		return "vip";
	if (strcmp(o->ifname, n->ifname))
		return "interface";
	if (strcmp(config_backend_ifname(o), config_backend_ifname(n)))
		return "backend-interface";
	if (o->have_snat != n->have_snat || o->snat.s_addr != n->snat.s_addr)
		return "snat";
	if (o->snat_port_min != n->snat_port_min || o->snat_port_max != n->snat_port_max)
		return "snat-ports";
	if (strcmp(o->pin_path, n->pin_path))
		return "pin-path";
	if (strcmp(o->control, n->control))
		return "control";
	if (o->flow_table_size != n->flow_table_size)
		return "flow-table-size";
	if (o->xdp_mode != n->xdp_mode)
		return "xdp-mode";
	if (!!o->stats_addr != !!n->stats_addr ||
	    (o->stats_addr && strcmp(o->stats_addr, n->stats_addr)) ||
	    !!o->stats_user != !!n->stats_user ||
	    (o->stats_user && (strcmp(o->stats_user, n->stats_user) ||
			       strcmp(o->stats_password, n->stats_password))))
		return "stats";
	return NULL;
}

static void reload_backends(struct mqlbd *d, const struct mqlbd_config *n)
{
	char msg[256];
	int i, id;

	/* Gone from the file, or moved to another address: remove. */
	for (id = 0; id < MQLB_MAX_BACKENDS; id++) {
		const struct pool_backend *b = &d->pool.be[id];
		bool keep = false;

		if (!b->used)
			continue;
		for (i = 0; i < n->nbackends; i++)
			if (!strcmp(n->backends[i].name, b->name) &&
			    n->backends[i].addr.sin_addr.s_addr == b->addr.sin_addr.s_addr &&
			    n->backends[i].addr.sin_port == b->addr.sin_port)
				keep = true;
		if (!keep) {
			char name[BACKEND_NAME_LEN];

			snprintf(name, sizeof(name), "%s", b->name);
			mqlbd_backend_del(d, name, "reload", msg, sizeof(msg));
		}
	}
	for (i = 0; i < n->nbackends; i++) {
		const struct backend_conf *bc = &n->backends[i];
		char addr[NET_ADDRSTR_LEN];

		id = pool_find(&d->pool, bc->name);
		if (id < 0) {
			net_fmt_ipv4_port(bc->addr.sin_addr.s_addr, bc->addr.sin_port, addr,
					  sizeof(addr));
			if (mqlbd_backend_add(d, bc->name, addr, bc->weight, bc->disabled, "reload",
					      msg, sizeof(msg)))
				pr_warn("reload: %s\n", msg);
			pool_set_proxy_v2(&d->pool, bc->name, bc->proxy_v2);
			continue;
		}
		pool_set_weight(&d->pool, bc->name, bc->weight);
		pool_set_proxy_v2(&d->pool, bc->name, bc->proxy_v2);
		/* The file is the truth after a reload: drain set at run time is lifted. */
		pool_set_admin(&d->pool, bc->name, bc->disabled ? ADMIN_DISABLED : ADMIN_ENABLED,
			       "reload");
	}
}

int mqlbd_reload(struct mqlbd *d)
{
	struct mqlbd_config *n = calloc(1, sizeof(*n));
	char err[CONF_ERR_LEN];
	const char *what;
	struct mqlb_config cfg;
	int ret;

	if (!n)
		return -ENOMEM;
	config_init(n);
	ret = config_load(n, d->conf.path, err);
	if (ret) {
		pr_warn("reload refused, nothing changed: %s\n", err);
		goto out;
	}
	what = restart_only(&d->conf, n);
	if (what) {
		pr_warn("reload refused, nothing changed: %s: changing '%s' needs a restart of "
			"mqlbd\n", d->conf.path, what);
		ret = -EINVAL;
		goto out;
	}
	mqlbd_timeouts(&d->timeouts, n);
	/* What may change at a reload did; the rest is refused above (restart_only). */
	mqlbd_dp_config(d, n, &cfg);
	dp_set_config(&d->dp, &cfg);
	if (memcmp(&n->health, &d->conf.health, sizeof(n->health))) {
		health_stop_all(&d->health);
		d->health.conf = n->health;
		d->pool.rise = n->health.rise;
		d->pool.fall = n->health.fall;
		d->pool.health_none = n->health.kind == HEALTH_NONE;
	}
	d->conf.health = n->health;
	d->conf.on_down_keep = n->on_down_keep;
	d->conf.strict = n->strict;
	d->conf.persist = n->persist;
	d->conf.idle_timeout_ms = n->idle_timeout_ms;
	d->conf.syn_timeout_ms = n->syn_timeout_ms;
	d->conf.close_timeout_ms = n->close_timeout_ms;
	d->conf.fin_wait_timeout_ms = n->fin_wait_timeout_ms;
	d->conf.close_wait_timeout_ms = n->close_wait_timeout_ms;
	/* Another seed or another balance: every client-id choice is made again. */
	if (n->balance != d->conf.balance || n->hash_seed != d->conf.hash_seed)
		d->pool.ring_dirty = true;
	d->conf.balance = n->balance;
	d->conf.hash_seed = n->hash_seed;
	d->conf.limit_per_source = n->limit_per_source;
	d->conf.rate_per_source = n->rate_per_source;
	reload_backends(d, n);
	health_start_all(&d->health);
	mqlbd_publish(d);
	pr_info("reloaded %s: %d backend(s), %d up\n", d->conf.path, n->nbackends,
		pool_count(&d->pool, MQLB_BE_UP));
out:
	config_free(n);
	free(n);
	return ret;
}

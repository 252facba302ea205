// SPDX-License-Identifier: GPL-2.0
/*
 * mqlbd: the mqlb control daemon. Reads the config, checks the namespace,
 * loads the XDP data plane with its maps pinned, fills the pool, attaches
 * to the client and backend interfaces, then collects ended and idle
 * flows until SIGTERM/SIGINT, when it detaches and unpins everything.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dataplane.h"
#include "loader.h"
#include "log.h"
#include "neigh.h"
#include "netutil.h"
#include "pool.h"
#include "sysprobe.h"

#define TICK_MS               1000
#define NEIGH_REFRESH_TICKS   5

struct mqlbd {
	struct mqlbd_config conf;
	struct pool pool;
	struct loader loader;
	struct dataplane dp;
	struct flow_timeouts timeouts;
	struct neigh_entry neigh[MQLB_MAX_BACKENDS];
	struct in_addr snat;
	uint64_t ticks;
	uint64_t expired_total[FLOW_VERDICT_MAX];
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s -c FILE [-v]\n"
		"       %s -h\n"
		"\n"
		"  -c FILE   configuration (see README: vip, interface, backend, ...)\n"
		"  -v        more logging (-vv: debug, including libbpf)\n"
		"  -h        this help\n"
		"\n"
		"Runs in the foreground and logs to stderr. SIGTERM or SIGINT detaches XDP\n"
		"and removes the pinned maps.\n",
		prog, prog);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Everything that can be refused before anything is loaded or attached. */
static int preflight(struct mqlbd *d)
{
	const struct mqlbd_config *c = &d->conf;
	const char *bif = config_backend_ifname(c);
	char vip[INET_ADDRSTRLEN], snat[INET_ADDRSTRLEN];
	uint32_t eph_lo, eph_hi;
	int fwd;

	if (!if_nametoindex(c->ifname)) {
		pr_warn("interface '%s' does not exist\n", c->ifname);
		return -ENODEV;
	}
	if (!if_nametoindex(bif)) {
		pr_warn("backend-interface '%s' does not exist\n", bif);
		return -ENODEV;
	}
	inet_ntop(AF_INET, &c->vip.sin_addr, vip, sizeof(vip));
	if (!sys_iface_has_addr(c->ifname, c->vip.sin_addr)) {
		pr_warn("vip %s is not an address of %s, so nobody answers ARP for it; add it with:\n"
			"    ip addr add %s/32 dev %s\n",
			vip, c->ifname, vip, c->ifname);
		return -EADDRNOTAVAIL;
	}
	if (c->have_snat) {
		d->snat = c->snat;
		inet_ntop(AF_INET, &d->snat, snat, sizeof(snat));
		if (!sys_iface_has_addr(bif, d->snat)) {
			pr_warn("snat %s is not an address of %s, so the brokers' replies cannot "
				"reach it; add it with:\n    ip addr add %s/32 dev %s\n",
				snat, bif, snat, bif);
			return -EADDRNOTAVAIL;
		}
	} else if (sys_iface_first_addr(bif, &d->snat)) {
		pr_warn("backend-interface %s has no IPv4 address to use as snat; set 'snat ADDR'\n",
			bif);
		return -EADDRNOTAVAIL;
	}
	fwd = sys_ipv4_forwarding();
	if (fwd != 1) {
		pr_warn("IPv4 forwarding is off in this network namespace, and bpf_fib_lookup() "
			"needs it; turn it on with:\n    sysctl -w net.ipv4.ip_forward=1\n");
		return -EPERM;
	}
	if (!sys_local_port_range(&eph_lo, &eph_hi) && c->snat_port_min <= eph_hi &&
	    c->snat_port_max >= eph_lo) {
		pr_warn("snat-ports %u-%u overlaps this machine's ephemeral ports %u-%u "
			"(net.ipv4.ip_local_port_range): the balancer's own connections could be "
			"taken for flows; choose another range\n",
			c->snat_port_min, c->snat_port_max, eph_lo, eph_hi);
		return -EINVAL;
	}
	if (c->nbackends == 0)
		pr_warn("no backend configured: every SYN to %s:%u will be dropped\n", vip,
			ntohs(c->vip.sin_port));
	return 0;
}

static int fill_dataplane(struct mqlbd *d)
{
	const struct mqlbd_config *c = &d->conf;
	struct mqlb_config cfg = {
		.vip_addr_be = c->vip.sin_addr.s_addr,
		.vip_port_be = c->vip.sin_port,
		.snat_addr_be = d->snat.s_addr,
		.snat_port_min = (uint16_t)c->snat_port_min,
		.snat_port_max = (uint16_t)c->snat_port_max,
	};
	struct mqlb_ring *ring;
	uint32_t id;
	int i, err;

	pool_init(&d->pool);
	for (i = 0; i < c->nbackends; i++) {
		const struct backend_conf *b = &c->backends[i];

		/* No health checks yet: a configured backend is up at once. */
		err = pool_add(&d->pool, b->name, &b->addr, b->weight,
			       b->disabled ? MQLB_BE_DISABLED : MQLB_BE_UP);
		if (err < 0)
			return err;
	}
	for (id = 0; id < MQLB_MAX_BACKENDS; id++) {
		struct mqlb_backend be;

		pool_backend_to_abi(&d->pool.be[id], &be);
		err = dp_set_backend(&d->dp, id, &be);
		if (err)
			return err;
	}
	err = dp_set_config(&d->dp, &cfg);
	if (err)
		return err;
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	pool_build_ring(&d->pool, ring);
	err = dp_publish_ring(&d->dp, ring);
	free(ring);
	return err;
}

static void refresh_neighbours(struct mqlbd *d)
{
	int id;

	for (id = 0; id < MQLB_MAX_BACKENDS; id++) {
		struct neigh_entry e;

		if (!d->pool.be[id].used)
			continue;
		if (neigh_ensure(d->pool.be[id].addr.sin_addr, &e))
			continue;
		/* Keep the first "created" record so that stop removes what we added. */
		if (e.created || !d->neigh[id].created)
			d->neigh[id] = e;
	}
}

static void remove_neighbours(struct mqlbd *d)
{
	int id;

	for (id = 0; id < MQLB_MAX_BACKENDS; id++)
		neigh_remove(&d->neigh[id]);
}

static int start(struct mqlbd *d)
{
	const struct mqlbd_config *c = &d->conf;
	int err;

	err = loader_prepare_pin_path(&d->loader, c->pin_path);
	if (err)
		return err;
	err = loader_open_load(&d->loader, c);
	if (err)
		return err;
	err = dp_init(&d->dp, d->loader.skel);
	if (err)
		return err;
	err = fill_dataplane(d);
	if (err) {
		pr_warn("can't fill the data plane maps: %s\n", strerror(-err));
		return err;
	}
	refresh_neighbours(d);
	err = dp_add_tx_port(&d->dp, (int)if_nametoindex(c->ifname));
	if (!err)
		err = dp_add_tx_port(&d->dp, (int)if_nametoindex(config_backend_ifname(c)));
	if (err) {
		pr_warn("can't fill the devmap: %s\n", strerror(-err));
		return err;
	}
	err = loader_attach(&d->loader, c->ifname, c->xdp_mode);
	if (!err && strcmp(c->ifname, config_backend_ifname(c)))
		err = loader_attach(&d->loader, config_backend_ifname(c), c->xdp_mode);
	return err;
}

static void tick(struct mqlbd *d)
{
	struct gc_result res;
	int err, v;

	d->ticks++;
	err = dp_gc(&d->dp, mono_ns(), &d->timeouts, &res);
	if (err) {
		pr_warn("flow collection failed: %s\n", strerror(-err));
	} else {
		for (v = 1; v < FLOW_VERDICT_MAX; v++)
			d->expired_total[v] += res.expired[v];
		if (res.expired[FLOW_EXPIRE_CLOSED] || res.expired[FLOW_EXPIRE_HALF_OPEN] ||
		    res.expired[FLOW_EXPIRE_IDLE])
			pr_debug("flows: %llu scanned, removed %llu closed, %llu half-open, %llu idle\n",
				 (unsigned long long)res.scanned,
				 (unsigned long long)res.expired[FLOW_EXPIRE_CLOSED],
				 (unsigned long long)res.expired[FLOW_EXPIRE_HALF_OPEN],
				 (unsigned long long)res.expired[FLOW_EXPIRE_IDLE]);
	}
	if (d->ticks % NEIGH_REFRESH_TICKS == 0)
		refresh_neighbours(d);
}

static void log_summary(struct mqlbd *d)
{
	uint64_t s[MQLB_STAT_MAX];

	if (!d->loader.skel || dp_stats_sum(&d->dp, s))
		return;
	pr_info("stopping: %llu packets, %llu new flows, %llu to backends, %llu to clients; "
		"flows removed: %llu closed, %llu half-open, %llu idle\n",
		(unsigned long long)s[MQLB_STAT_RX_PACKETS],
		(unsigned long long)s[MQLB_STAT_FLOW_NEW],
		(unsigned long long)s[MQLB_STAT_FWD_TO_BACKEND],
		(unsigned long long)s[MQLB_STAT_FWD_TO_CLIENT],
		(unsigned long long)d->expired_total[FLOW_EXPIRE_CLOSED],
		(unsigned long long)d->expired_total[FLOW_EXPIRE_HALF_OPEN],
		(unsigned long long)d->expired_total[FLOW_EXPIRE_IDLE]);
}

/* Signals arrive through a signalfd, so the loop has no async-signal hazards. */
static int run(struct mqlbd *d, int sfd)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = TICK_MS / 1000 },
		.it_value = { .tv_sec = TICK_MS / 1000 },
	};
	struct pollfd pfd[2];
	int tfd, err = 0;

	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
		err = -errno;
		pr_warn("timerfd: %s\n", strerror(-err));
		if (tfd >= 0)
			close(tfd);
		return err;
	}
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t expirations;

			if (read(tfd, &expirations, sizeof(expirations)) > 0)
				tick(d);
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				pr_warn("SIGHUP: configuration reload is not implemented yet; "
					"restart mqlbd to apply a new file\n");
				continue;
			}
			pr_info("signal %s received\n", strsignal((int)si.ssi_signo));
			break;
		}
	}
	close(tfd);
	return err;
}

static int block_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int main(int argc, char **argv)
{
	char err_buf[CONF_ERR_LEN];
	const char *conf_path = NULL;
	struct mqlbd *d;
	int opt, verbose = 0, sfd, err;

	while ((opt = getopt(argc, argv, "c:vh")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (!conf_path || optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	log_set_level(verbose >= 2 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log_set_timestamps(true);
	loader_setup_libbpf_logging();

	d = calloc(1, sizeof(*d));
	if (!d) {
		pr_warn("out of memory\n");
		return 1;
	}
	config_init(&d->conf);
	err = config_load(&d->conf, conf_path, err_buf);
	if (err) {
		fprintf(stderr, "mqlbd: %s\n", err_buf);
		config_free(&d->conf);
		free(d);
		return 1;
	}
	d->timeouts.idle_ns = (uint64_t)d->conf.idle_timeout_ms * 1000000ULL;
	d->timeouts.syn_ns = (uint64_t)d->conf.syn_timeout_ms * 1000000ULL;
	d->timeouts.close_ns = (uint64_t)d->conf.close_timeout_ms * 1000000ULL;

	sfd = block_signals();
	err = sfd < 0 ? sfd : preflight(d);
	if (!err)
		err = start(d);
	if (!err) {
		char vip[NET_ADDRSTR_LEN];

		pr_info("balancing %s over %d backend(s), fullnat via %s, snat ports %u-%u, "
			"flow table %u\n",
			net_fmt_ipv4_port(d->conf.vip.sin_addr.s_addr, d->conf.vip.sin_port, vip,
					  sizeof(vip)),
			pool_count(&d->pool, MQLB_BE_UP), inet_ntoa(d->snat),
			d->conf.snat_port_min, d->conf.snat_port_max, d->conf.flow_table_size);
		err = run(d, sfd);
		log_summary(d);
	}
	remove_neighbours(d);
	loader_teardown(&d->loader);
	dp_free(&d->dp);
	if (sfd >= 0)
		close(sfd);
	config_free(&d->conf);
	free(d);
	return err ? 1 : 0;
}

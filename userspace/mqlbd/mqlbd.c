// SPDX-License-Identifier: GPL-2.0
/*
 * mqlbd: the mqlb control daemon. Reads the config, checks the namespace,
 * loads the XDP data plane with its maps pinned (adopting what a previous
 * daemon left), fills the pool, attaches to the client and backend
 * interfaces through pinned links, then runs health checks, the control
 * socket and the flow collector on one event loop.
 *
 * Stopping: SIGTERM/SIGINT detach XDP and unpin, unless `persist yes`,
 * when they leave the data plane running for the next daemon to adopt.
 * `mqlbd --stop -c FILE` always detaches and unpins.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqlbd.h"
#include "clock.h"
#include "maglev.h"
#include "ctl_client.h"
#include "kick.h"
#include "log.h"
#include "mqlb_ctl.h"
#include "netutil.h"
#include "preflight.h"
#include "stats_http.h"
#include "version.h"

#define TICK_MS             1000
#define NEIGH_REFRESH_TICKS 5
#define STOP_TIMEOUT_S      5

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %1$s -c FILE [-v] [-L TARGET]\n"
		"       %1$s -t -c FILE [-q]\n"
		"       %1$s --stop -c FILE\n"
		"       %1$s { -V | --version | -h | --help }\n"
		"\n"
		"  -c, --config FILE  configuration (mqlbd.conf(5))\n"
		"  -t, --test         check FILE and the machine as a start would, attach nothing;\n"
		"                     exit 0 when a start would get past them, 1 with FILE:LINE:\n"
		"                     reason otherwise\n"
		"  -q, --quiet        with -t: print nothing when the test passes\n"
		"      --stop         stop the running daemon of FILE (or, with none running, remove\n"
		"                     what it left): detach XDP and remove the pinned maps and links\n"
		"  -L, --log TARGET   auto | stderr | journal | syslog (default: the config's 'log',\n"
		"                     else auto: the journal's format when systemd started mqlbd)\n"
		"  -v, --verbose      debug logging (-vv: libbpf's too)\n"
		"  -V, --version      print the version\n"
		"  -h, --help         this help\n"
		"\n"
		"Runs in the foreground. SIGHUP reloads FILE. SIGTERM or SIGINT detaches XDP and\n"
		"removes the pinned maps, unless FILE says 'persist yes': then the data plane keeps\n"
		"running for the next mqlbd to adopt. Under systemd (Type=notify) it reports READY\n"
		"once XDP is attached and every backend has had its first health check.\n",
		prog);
}

/* ---- the data plane behind the pool's ops table ---- */

static int op_set_backend(void *ctx, uint32_t id, const struct mqlb_backend *be)
{
	return dp_set_backend(&((struct mqlbd *)ctx)->dp, id, be);
}

static int op_set_info(void *ctx, uint32_t id, const struct mqlb_backend_info *info)
{
	return dp_set_info(&((struct mqlbd *)ctx)->dp, id, info);
}

/*
 * The ring, and with balance client-id the Maglev table over the same
 * backends, the ones up (each time the ring changes, the table does).
 */
static int op_publish_ring(void *ctx, struct mqlb_ring *ring)
{
	struct mqlbd *d = ctx;
	struct maglev_backend mb[MQLB_MAX_BACKENDS];
	unsigned int n = 0;
	int err, id;

	err = dp_publish_ring(&d->dp, ring);
	if (err || d->conf.balance != BALANCE_CLIENT_ID)
		return err;
	for (id = 0; id < MQLB_MAX_BACKENDS; id++) {
		const struct pool_backend *b = &d->pool.be[id];

		if (b->used && pool_effective_state(&d->pool, b) == MQLB_BE_UP)
			mb[n++] = (struct maglev_backend){ (uint16_t)id, b->name, b->weight };
	}
	err = maglev_build(mb, n, d->conf.hash_seed, d->dp.maglev->slot);
	return err ? err : dp_publish_maglev(&d->dp);
}

static void op_backend_lost(void *ctx, uint32_t id)
{
	struct mqlbd *d = ctx;
	int n;

	if (d->conf.on_down_keep || d->kick_fd < 0)
		return;
	n = dp_kick_backend(&d->dp, id, d->kick_fd, d->kick_seed);
	d->kick_seed += 0x9e3779b9u;
	if (n < 0)
		pr_warn("on-down reset of backend slot %u: %s (its clients are reset on their "
			"next packet)\n", id, strerror(-n));
	else if (n > 0)
		pr_info("on-down reset: provoked %d client(s) of backend slot %u into a reset\n", n,
			id);
}

static const struct dp_ops dataplane_ops = {
	.set_backend = op_set_backend,
	.set_info = op_set_info,
	.publish_ring = op_publish_ring,
	.backend_lost = op_backend_lost,
};

void mqlbd_publish(struct mqlbd *d)
{
	int err = pool_sync(&d->pool, mono_ns());

	if (err)
		pr_warn("can't update the data plane: %s\n", strerror(-err));
}

/* ---- start-up ---- */

/*
 * Adopt what a previous daemon left in the pinned maps: a configured
 * backend keeps its slot (its flows name that id), and one that was up
 * stays up until its own checks say otherwise, so a restart never resets
 * a healthy backend's clients.
 */
static int adopt_pool(struct mqlbd *d)
{
	const struct mqlbd_config *c = &d->conf;
	bool taken[MQLB_MAX_BACKENDS] = { false };
	int i, err;
	uint32_t id;

	for (id = 0; d->adopted && id < MQLB_MAX_BACKENDS; id++) {
		struct mqlb_backend be;
		struct mqlb_backend_info info;

		if (dp_read_backend(&d->dp, id, &be, &info) || be.state == MQLB_BE_EMPTY)
			continue;
		pool_adopt_published(&d->pool, id, &be, info.name);
		for (i = 0; i < c->nbackends; i++) {
			const struct backend_conf *b = &c->backends[i];

			if (strcmp(b->name, info.name) || b->addr.sin_addr.s_addr != be.addr_be ||
			    b->addr.sin_port != be.port_be)
				continue;
			err = pool_add_at(&d->pool, id, b->name, &b->addr, b->weight,
					  b->disabled ? ADMIN_DISABLED : ADMIN_ENABLED,
					  /* only a backend the old daemon saw down must prove
					   * itself again; disabled or drained ones were healthy */
					  be.state == MQLB_BE_DOWN ? HEALTH_UNKNOWN : HEALTH_UP);
			if (err >= 0) {
				pool_set_proxy_v2(&d->pool, b->name, b->proxy_v2);
				taken[i] = true;
				pr_info("backend %s: adopted in slot %u (%s)\n", b->name, id,
					pool_state_name(be.state));
			}
		}
	}
	for (i = 0; i < c->nbackends; i++) {
		const struct backend_conf *b = &c->backends[i];

		if (taken[i])
			continue;
		err = pool_add(&d->pool, b->name, &b->addr, b->weight,
			       b->disabled ? ADMIN_DISABLED : ADMIN_ENABLED);
		if (err < 0)
			return err;
		d->pool.be[err].proxy_v2 = b->proxy_v2;
		snprintf(d->pool.be[err].reason, sizeof(d->pool.be[err].reason), "configured");
	}
	return 0;
}

void mqlbd_dp_config(const struct mqlbd *d, const struct mqlbd_config *c,
		     struct mqlb_config *cfg)
{
	*cfg = (struct mqlb_config){
		.vip_addr_be = c->vip.sin_addr.s_addr,
		.vip_port_be = c->vip.sin_port,
		.snat_addr_be = d->snat.s_addr,
		.snat_port_min = (uint16_t)c->snat_port_min,
		.snat_port_max = (uint16_t)c->snat_port_max,
		.flags = (c->on_down_keep ? MQLB_CFG_KEEP_ON_DOWN : 0) |
			 (c->strict ? MQLB_CFG_STRICT : 0),
		.cli_ifindex = if_nametoindex(c->ifname),
		.be_ifindex = if_nametoindex(config_backend_ifname(c)),
		.src_max_flows = c->limit_per_source,
		.src_rate = c->rate_per_source,
		.flow_slots = c->flow_table_size,
		.hash_seed = c->hash_seed,
		.synack_mss = MQLBD_SYNACK_MSS,
		.synack_wscale = MQLBD_SYNACK_WSCALE,
	};
	if (c->balance == BALANCE_CLIENT_ID)
		cfg->flags |= MQLB_CFG_CLIENT_ID;
	if (config_delayed_binding(c))
		cfg->flags |= MQLB_CFG_BIND;
}

void mqlbd_timeouts(struct flow_timeouts *t, const struct mqlbd_config *c)
{
	t->idle_ns = (uint64_t)c->idle_timeout_ms * 1000000ULL;
	t->syn_ns = (uint64_t)c->syn_timeout_ms * 1000000ULL;
	t->close_ns = (uint64_t)c->close_timeout_ms * 1000000ULL;
	t->fin_wait_ns = (uint64_t)c->fin_wait_timeout_ms * 1000000ULL;
	t->close_wait_ns = (uint64_t)c->close_wait_timeout_ms * 1000000ULL;
}

static int fill_dataplane(struct mqlbd *d)
{
	const struct mqlbd_config *c = &d->conf;
	struct mqlb_config cfg;
	int err;

	mqlbd_dp_config(d, c, &cfg);
	err = pool_init(&d->pool, &dataplane_ops, d);
	if (err)
		return err;
	d->pool.rise = c->health.rise;
	d->pool.fall = c->health.fall;
	d->pool.health_none = c->health.kind == HEALTH_NONE;
	err = adopt_pool(d);
	if (err)
		return err;
	err = dp_set_config(&d->dp, &cfg);
	if (err)
		return err;
	return pool_sync(&d->pool, mono_ns());
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
	char probe[PATH_MAX];
	int err;

	err = loader_prepare_pin_path(&d->loader, c->pin_path);
	if (err)
		return err;
	snprintf(probe, sizeof(probe), "%s/%s", c->pin_path, MQLB_NAME(MQLB_MAP_FLOWS));
	d->adopted = access(probe, F_OK) == 0;
	err = loader_open_load(&d->loader, c);
	if (err)
		return err;
	if (d->adopted)
		pr_info("adopting the pinned state under %s (flows, SNAT ports, counters)\n",
			c->pin_path);
	err = dp_init(&d->dp, d->loader.skel);
	if (err) {
		pr_warn("can't set up the data plane maps: %s\n", strerror(-err));
		return err;
	}
	d->dp.kick_fd = d->kick_fd;
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
	if (!err && d->adopted)
		loader_drop_stale_links(&d->loader);
	return err;
}

/* ---- the stats page ---- */

/*
 * Runs on libmicrohttpd's thread: it only reads maps through fds that are
 * fixed before the server starts and closed after it stops, and
 * started_ns, which never changes; no daemon memory is shared.
 */
static int stats_fill(void *arg, struct snapshot *s)
{
	struct mqlbd *d = arg;

	s->started_ns = d->started_ns;
	return snapshot_from_fds(&d->snap_src, s, 0);
}

static int stats_start(struct mqlbd *d)
{
	int err;

	if (!d->conf.stats_addr)
		return 0;
	snap_src_init(&d->snap_src);
	d->snap_src.config_fd = d->dp.config_fd;
	d->snap_src.backends_fd = d->dp.backends_fd;
	d->snap_src.info_fd = d->dp.info_fd;
	d->snap_src.bstats_fd = loader_map_fd(&d->loader, MQLB_NAME(MQLB_MAP_BACKEND_STATS));
	d->snap_src.stats_fd = d->dp.stats_fd;
	d->snap_src.flows_fd = d->dp.flows_fd;
	d->snap_src.ncpus = d->dp.ncpus;
	d->snap_src.owned = false;
	err = stats_http_start(d->conf.stats_addr, d->conf.stats_user, d->conf.stats_password,
			       stats_fill, d, &d->http);
	if (err) {
		pr_warn("stats listener on %s: %s\n", d->conf.stats_addr, strerror(-err));
		return err;
	}
	pr_info("stats page on http://%s/ and /metrics%s\n", d->conf.stats_addr,
		d->conf.stats_user ? " (basic auth)" : "");
	return 0;
}

/* ---- the loop ---- */

static void health_published(void *arg)
{
	mqlbd_publish(arg);
	notify_checked(arg);
}

static int tick(struct ev_loop *l, long long id, void *arg)
{
	struct mqlbd *d = arg;
	struct gc_result res;
	int err, v;
	uint32_t b;

	d->ticks++;
	err = dp_gc(&d->dp, mono_ns(), &d->timeouts, &res);
	if (err) {
		pr_warn("flow collection failed: %s\n", strerror(-err));
	} else {
		for (v = 1; v < FLOW_VERDICT_MAX; v++)
			d->expired_total[v] += res.expired[v];
		if (res.expired[FLOW_EXPIRE_CLOSED] || res.expired[FLOW_EXPIRE_HALF_OPEN] ||
		    res.expired[FLOW_EXPIRE_IDLE] || res.expired[FLOW_EXPIRE_HALF_CLOSED])
			pr_debug("flows: %llu scanned, removed %llu closed, %llu half-open, %llu idle, "
				 "%llu half-closed (%llu reset both ways)\n",
				 (unsigned long long)res.scanned,
				 (unsigned long long)res.expired[FLOW_EXPIRE_CLOSED],
				 (unsigned long long)res.expired[FLOW_EXPIRE_HALF_OPEN],
				 (unsigned long long)res.expired[FLOW_EXPIRE_IDLE],
				 (unsigned long long)res.expired[FLOW_EXPIRE_HALF_CLOSED],
				 (unsigned long long)res.idle_reset);
		if (res.reap_errors)
			pr_warn("flow collection: the reaper failed %llu time(s); those flows wait for the "
				"next pass\n", (unsigned long long)res.reap_errors);
		if (res.rst_time_wait || res.rst_lost || res.rst_failed)
			pr_debug("flows: RSTs to brokers: %llu ending TIME_WAIT, %llu of lost flows, "
				 "%llu not sent\n", (unsigned long long)res.rst_time_wait,
				 (unsigned long long)res.rst_lost, (unsigned long long)res.rst_failed);
		for (b = 0; b < MQLB_MAX_BACKENDS; b++)
			pool_set_flows(&d->pool, b, res.active[b]);
		mqlbd_publish(d);
		capacity_check(d, &res);
	}
	if (d->ticks % NEIGH_REFRESH_TICKS == 0)
		refresh_neighbours(d);
	return TICK_MS;
}

static void on_signal(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct mqlbd *d = arg;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		pr_info("SIGHUP: reloading %s\n", d->conf.path);
		notify_reloading();
		mqlbd_reload(d);
		notify_reloaded(d);
		return;
	}
	pr_info("signal %s received\n", strsignal((int)si.ssi_signo));
	notify_stopping();
	ev_stop(l);
}

static void log_summary(struct mqlbd *d)
{
	uint64_t s[MQLB_STAT_MAX];

	if (!d->loader.skel || dp_stats_sum(&d->dp, s))
		return;
	pr_info("stopping: %llu packets, %llu new flows, %llu to backends, %llu to clients; "
		"flows removed: %llu closed, %llu half-open, %llu idle, %llu half-closed\n",
		(unsigned long long)s[MQLB_STAT_RX_PACKETS],
		(unsigned long long)s[MQLB_STAT_FLOW_NEW],
		(unsigned long long)s[MQLB_STAT_FWD_TO_BACKEND],
		(unsigned long long)s[MQLB_STAT_FWD_TO_CLIENT],
		(unsigned long long)d->expired_total[FLOW_EXPIRE_CLOSED],
		(unsigned long long)d->expired_total[FLOW_EXPIRE_HALF_OPEN],
		(unsigned long long)d->expired_total[FLOW_EXPIRE_IDLE],
		(unsigned long long)d->expired_total[FLOW_EXPIRE_HALF_CLOSED]);
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
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static int run_daemon(struct mqlbd *d)
{
	char vip[NET_ADDRSTR_LEN], msg[CONF_ERR_LEN];
	int err;

	/* A control client that hangs up before its reply must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = block_signals();
	if (d->sig_fd < 0)
		return d->sig_fd;
	err = preflight_check(&d->conf, &d->snat, msg, sizeof(msg));
	if (err) {
		pr_err("%s\n", msg);
		return err;
	}
	d->loop = ev_loop_new(1024);
	if (!d->loop) {
		err = -errno;
		pr_warn("can't create the event loop: %s\n", strerror(-err));
		return err;
	}
	d->kick_fd = kick_open();
	if (d->kick_fd < 0)
		pr_warn("raw socket for on-down reset: %s (clients of a lost backend will be "
			"reset on their next packet only)\n", strerror(-d->kick_fd));
	d->kick_seed = (uint32_t)mono_ns();
	health_init(&d->health, d->loop, &d->pool, &d->conf.health, health_published, d);
	err = ctl_open(d);
	if (err)
		return err;
	err = start(d);
	if (!err)
		err = stats_start(d);
	if (err)
		return err;
	if (ev_add(d->loop, d->sig_fd, EV_READ, on_signal, d) < 0) {
		pr_warn("can't watch signals on the event loop\n");
		return -EIO;
	}
	d->tick_timer = ev_timer_add(d->loop, TICK_MS, tick, d);
	if (d->tick_timer < 0) {
		pr_warn("can't start the flow collector: %s\n", strerror((int)-d->tick_timer));
		return (int)d->tick_timer;
	}
	health_start_all(&d->health);
	notify_started(d);
	pr_info("balancing %s over %d backend(s) (%s health checks), fullnat via %s, snat ports "
		"%u-%u, flow table %u, control %s\n",
		net_fmt_ipv4_port(d->conf.vip.sin_addr.s_addr, d->conf.vip.sin_port, vip,
				  sizeof(vip)),
		d->conf.nbackends, health_kind_name(d->conf.health.kind), inet_ntoa(d->snat),
		d->conf.snat_port_min, d->conf.snat_port_max, d->conf.flow_table_size,
		d->conf.control);
	err = ev_run(d->loop);
	log_summary(d);
	return err;
}

static void shutdown_daemon(struct mqlbd *d, bool failed)
{
	/* The page's thread reads the maps: stop it before they are closed. */
	if (d->http)
		stats_http_stop(d->http);
	d->http = NULL;
	if (d->loop)
		health_stop_all(&d->health);
	/*
	 * A start that failed after adopting a previous daemon's data plane
	 * must not tear down what keeps its clients connected.
	 */
	if ((d->conf.persist && !d->stop_clean && !failed) || (failed && d->adopted)) {
		/* Leave the data plane running: the links and maps stay pinned. */
		pr_info("persist yes: XDP stays attached and the maps pinned under %s; "
			"'mqlbd --stop -c %s' removes them\n", d->conf.pin_path, d->conf.path);
		loader_release(&d->loader);
	} else {
		remove_neighbours(d);
		loader_teardown(&d->loader);
	}
	/* Last: `mqlbd --stop` waits for the socket to go, so it must outlive the teardown. */
	if (d->loop)
		ctl_close(d);
	pool_free(&d->pool);
	dp_free(&d->dp);
	if (d->kick_fd >= 0)
		close(d->kick_fd);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	if (d->loop)
		ev_loop_free(d->loop);
}

/* mqlbd --stop: ask the running daemon, or clean up after one that is gone. */
static int stop_other(struct mqlbd *d)
{
	enum ctl_stage stage;
	char *reply = NULL;
	int i, err;

	err = ctl_call(d->conf.control, "stop", STOP_TIMEOUT_S, &reply, &stage);
	if (err && stage == CTL_STAGE_CONNECT)
		return loader_remove_pinned(d->conf.pin_path);
	printf("mqlbd: %s\n", reply && reply[0] ? reply : "no answer from the daemon");
	free(reply);
	/* Wait (bounded) until it has closed its socket on the way out. */
	for (i = 0; i < 100 && !access(d->conf.control, F_OK); i++)
		usleep(50000);
	return 0;
}

/* mqlbd -t: the config, then what the machine must offer; nothing is loaded or attached. */
static int test_config(struct mqlbd *d, bool quiet)
{
	char msg[CONF_ERR_LEN];
	struct in_addr snat;
	int err;

	err = preflight_check(&d->conf, &snat, msg, sizeof(msg));
	if (err) {
		pr_err("%s\n", msg);
		return err;
	}
	if (!quiet)
		printf("%s: configuration is valid (%d backend(s), snat %s, health %s)\n",
		       d->conf.path, d->conf.nbackends, inet_ntoa(snat),
		       health_kind_name(d->conf.health.kind));
	return 0;
}

static void print_version(void)
{
	printf("mqlbd %s\n", MQLB_VERSION_FULL);
}

struct options {
	const char *conf_path;
	bool stop;
	bool test;
	bool quiet;
	bool log_given;
	enum log_target log_target;
	int verbose;
};

/* 0 to go on, 1 when done (help, version), 2 on a usage error. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "stop", no_argument, NULL, 'S' },
		{ "log", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:tqL:vVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->conf_path = optarg;
			break;
		case 't':
			o->test = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'S':
			o->stop = true;
			break;
		case 'L':
			if (log_parse_target(optarg, &o->log_target)) {
				fprintf(stderr, "mqlbd: --log needs auto, stderr, journal or syslog, "
					"got '%s'\n", optarg);
				return 2;
			}
			o->log_given = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'V':
			print_version();
			return 1;
		case 'h':
			usage(stdout, argv[0]);
			return 1;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mqlbd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o->conf_path) {
		fprintf(stderr, "mqlbd: no configuration given: -c FILE (try --help)\n");
		return 2;
	}
	if (o->test && o->stop) {
		fprintf(stderr, "mqlbd: -t and --stop exclude each other\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .log_target = LOG_TARGET_AUTO };
	char err_buf[CONF_ERR_LEN];
	bool daemon_mode;
	struct mqlbd *d;
	int err;

	err = parse_options(argc, argv, &o);
	if (err)
		return err == 1 ? 0 : 2;
	/*
	 * -t and --stop are commands a person or the unit's ExecReload runs:
	 * no timestamps, and a priority only when stderr is the journal, so
	 * that a reload refused for FILE:LINE shows under journalctl -p err.
	 */
	daemon_mode = !o.stop && !o.test;
	log_set_level(o.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log_set_target(daemon_mode || o.log_given ? o.log_target : LOG_TARGET_AUTO, "mqlbd");
	log_set_timestamps(daemon_mode);
	loader_set_libbpf_debug(o.verbose >= 2);
	loader_setup_libbpf_logging();

	d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, "mqlbd: out of memory\n");
		return 1;
	}
	d->kick_fd = d->ctl_fd = d->sig_fd = -1;
	config_init(&d->conf);
	err = config_load(&d->conf, o.conf_path, err_buf);
	if (err) {
		pr_err("%s\n", err_buf);
		config_free(&d->conf);
		free(d);
		return 1;
	}
	if (daemon_mode && !o.log_given && d->conf.log_target != LOG_TARGET_AUTO)
		log_set_target(d->conf.log_target, "mqlbd");
	mqlbd_timeouts(&d->timeouts, &d->conf);
	d->started_ns = mono_ns();

	if (o.test) {
		err = test_config(d, o.quiet);
	} else if (o.stop) {
		err = stop_other(d);
	} else {
		pr_info("mqlbd %s starting, logging to %s\n", MQLB_VERSION_FULL,
			log_target_name(log_get_target()));
		err = run_daemon(d);
		shutdown_daemon(d, err != 0);
	}
	config_free(&d->conf);
	free(d);
	return err ? 1 : 0;
}

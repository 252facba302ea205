// SPDX-License-Identifier: GPL-2.0
/*
 * mqbroker: an epoll MQTT 3.1/3.1.1 broker. main() owns the one struct
 * broker, turns -errno into an exit status, and wires the loop: listeners,
 * a signalfd, a 1 s housekeeping timer, and before_sleep for output.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include "auth.h"
#include "broker.h"
#include "conf.h"
#include "log.h"
#include "netutil.h"
#include "version.h"

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %1$s [-c FILE] [-p PORT] [-v] [--discard-store]\n"
		"       %1$s -t -c FILE\n"
		"  -c FILE        Mosquitto-style configuration file (mqbroker.conf(5))\n"
		"  -p PORT        listen on 127.0.0.1:PORT (like mosquitto 2.0 without listeners)\n"
		"  -t, --test     check FILE and its password file, then exit: 0 if they load,\n"
		"                 1 with FILE:LINE: reason otherwise\n"
		"  -v             more logging (-vv: debug)\n"
		"  --discard-store  when the persistence file cannot be read whole (torn,\n"
		"                 corrupt, another version), rename it FILE.bad-SECONDS and\n"
		"                 start empty; without it mqbroker does not start\n"
		"  -V, --version  print the version\n"
		"  -h, --help     this help\n",
		prog);
}

static void on_signal(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct broker *b = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			/* Mosquitto's: save the persistence file now. */
			store_save(b, "SIGUSR1");
			continue;
		}
		if (si.ssi_signo == SIGHUP) {
			/*
			 * logrotate's signal, and Mosquitto's reload: log files
			 * reopened, password and ACL files read again; no
			 * connection is dropped.
			 */
			pr_info("SIGHUP: reopening log files, reloading password and ACL files\n");
			log_dest_reopen(b);
			security_reload(b);
			continue;
		}
		pr_info("signal %u: shutting down\n", si.ssi_signo);
		ev_stop(b->loop);
	}
}

static void before_sleep(struct ev_loop *l, void *arg)
{
	struct broker *b = arg;

	log_dest_flush(b);
	tls_run_pending(b);
	client_flush_all(b);
	client_free_closed(b);
}

static int on_tick(struct ev_loop *l, long long id, void *arg)
{
	struct broker *b = arg;
	uint64_t now = ev_now_ms(l);

	client_housekeeping(b);
	listener_tick(b);
	session_expire(b);
	store_tick(b);
	if (b->conf.sys_interval && now - b->last_sys_ms >= b->conf.sys_interval * 1000ull) {
		b->last_sys_ms = now;
		sys_publish(b);
	}
	return 1000;
}

static int open_listeners(struct broker *b, int cli_port)
{
	struct broker_conf *c = &b->conf;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int i, err;

	/* Mosquitto's default listener ('port', 'bind_address' and what came before any 'listener'). */
	if (c->has_def) {
		err = listener_open(b, &c->def, security_of_listener(b, BROKER_MAX_LISTENERS));
		if (err)
			return err;
	}
	for (i = 0; i < c->nlisteners; i++) {
		err = listener_open(b, &c->listeners[i], security_of_listener(b, i));
		if (err)
			return err;
	}
	if (cli_port || !b->nlisteners) {
		/* Like mosquitto 2.0: without a configured listener, loopback only. */
		sa.sin_port = htons(cli_port ? (uint16_t)cli_port : 1883);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		err = listener_open_sa(b, (struct sockaddr *)&sa, sizeof(sa), &c->def, &b->sec);
		if (err)
			return err;
	}
	return 0;
}

static int drop_privileges(const char *user)
{
	struct passwd *pw;

	if (!user || geteuid() != 0)
		return 0;
	pw = getpwnam(user);
	if (!pw) {
		pr_warn("user '%s' does not exist\n", user);
		return -ENOENT;
	}
	if (initgroups(user, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		int err = -errno;

		pr_warn("cannot become user '%s': %s\n", user, strerror(-err));
		return err;
	}
	pr_info("running as user %s\n", user);
	return 0;
}

static int write_pid_file(const char *path)
{
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "w");
	if (!f) {
		int err = -errno;

		pr_warn("pid_file %s: %s\n", path, strerror(-err));
		return err;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	/* Each client is an fd: use all the hard limit allows. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int setup_signals(struct broker *b)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return ev_add(b->loop, fd, EV_READ, on_signal, b);
}

/* Options into *conf_path, *cli_port, *verbose, *test; -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, const char **conf_path, int *cli_port, int *verbose,
		      bool *test, bool *discard)
{
	static const struct option longopts[] = {
		{ "test", no_argument, NULL, 't' },
		{ "discard-store", no_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t port;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:p:tvVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			*conf_path = optarg;
			break;
		case 'p':
			if (conf_parse_u32(optarg, 1, 65535, &port)) {
				fprintf(stderr, "invalid port '%s'\n", optarg);
				return 2;
			}
			*cli_port = (int)port;
			break;
		case 't':
			*test = true;
			break;
		case 'D':
			*discard = true;
			break;
		case 'v':
			(*verbose)++;
			break;
		case 'V':
			printf("mqbroker %s\n", MQLB_VERSION_FULL);
			return 0;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind < argc || (*test && !*conf_path)) {
		usage(stderr, argv[0]);
		return 2;
	}
	return -1;
}

static int run(struct broker *b)
{
	long long t = ev_timer_add(b->loop, 1000, on_tick, b);
	int err;

	err = t < 0 ? (int)t : bridge_start_all(b);
	if (err) {
		pr_warn("mqbroker: cannot start: %s\n", strerror(-err));
		return err;
	}
	pr_info("mqbroker %s running\n", MQBROKER_VERSION);
	b->last_sys_ms = ev_now_ms(b->loop);
	if (b->conf.sys_interval)
		sys_publish(b);
	ev_set_before_sleep(b->loop, before_sleep, b);
	err = ev_run(b->loop);
	if (err)
		pr_warn("event loop: %s\n", strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL;
	char err_buf[CONF_ERR_LEN];
	int cli_port = 0, verbose = 0, err, ret;
	bool test = false, discard = false;
	struct broker *b;

	ret = parse_args(argc, argv, &conf_path, &cli_port, &verbose, &test, &discard);
	if (ret >= 0)
		return ret;
	ret = 1;
	b = calloc(1, sizeof(*b));
	if (!b)
		return ret;
	broker_conf_init(&b->conf);
	if (conf_path && broker_conf_parse_file(&b->conf, conf_path, err_buf)) {
		fprintf(stderr, "%s\n", err_buf);
		goto out_free_conf;
	}
	if (verbose)
		log_set_level(verbose > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (verbose > 1)
		b->conf.log_type_set = false; /* -vv wins over log_type */
	/* Read before dropping privileges, so the files may be readable by root only. */
	if (security_load(b, err_buf)) {
		fprintf(stderr, "%s\n", err_buf);
		goto out_free_auth;
	}
	if (test) {
		printf("%s: configuration is valid\n", conf_path);
		ret = 0;
		goto out_free_auth;
	}
	/* First, so that everything after it, shutting down included, logs where configured. */
	err = log_dest_open(b);
	if (err)
		goto out_free_auth;
	raise_fd_limit();
	err = broker_init(b);
	if (!err)
		err = setup_signals(b);
	/* Before the listeners: no client may see the broker before its sessions are back. */
	if (!err)
		err = store_open(b, discard);
	if (!err)
		err = open_listeners(b, cli_port);
	/* The pid file first: it usually lives where only root may write (/run). */
	if (!err)
		err = write_pid_file(b->conf.pid_file);
	if (err) {
		pr_warn("mqbroker: cannot start: %s\n", strerror(-err));
		goto out_fini;
	}
	err = drop_privileges(b->conf.user);
	/* As the user it will save as: found now, not at the first autosave. */
	if (!err)
		err = store_check_writable(b);
	if (!err)
		err = run(b);
	if (!err)
		ret = 0;
	if (b->conf.pid_file)
		unlink(b->conf.pid_file);
out_fini:
	/* The last save, with every session as it is now (not after a refused load). */
	store_close(b);
	broker_fini(b);
	log_dest_close(b);
out_free_auth:
	security_free(b);
out_free_conf:
	broker_conf_free(&b->conf);
	free(b);
	return ret;
}

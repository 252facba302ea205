// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket (protocol in include/mqlb_ctl.h). Requests are rare
 * and tiny, so each accepted connection is served at once with short
 * socket timeouts instead of a state machine: a client that stalls costs
 * the loop at most CTL_IO_TIMEOUT_MS.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_client.h"
#include "json_writer.h"
#include "log.h"
#include "mqlb_ctl.h"
#include "mqlbd.h"
#include "netutil.h"

#define CTL_IO_TIMEOUT_MS 1000

static int ctl_reply(char *buf, size_t len, int err, const char *msg)
{
	if (err)
		snprintf(buf, len, "error: %s\n", msg);
	else
		snprintf(buf, len, "ok%s%s\n", msg[0] ? " " : "", msg);
	return err;
}

/* "ok\n" and the daemon's view of the pool as JSON (the `state` request). */
static void state_json(struct mqlbd *d, char *buf, size_t len)
{
	char addr[NET_ADDRSTR_LEN];
	json_writer_t *w;
	FILE *f;
	int id;

	f = fmemopen(buf, len, "w");
	w = f ? jsonw_new(f) : NULL;
	if (!w) {
		if (f)
			fclose(f);
		ctl_reply(buf, len, -ENOMEM, "out of memory");
		return;
	}
	fputs("ok\n", f);
	jsonw_start_object(w);
	jsonw_int_field(w, "pid", getpid());
	jsonw_string_field(w, "vip", net_fmt_ipv4_port(d->conf.vip.sin_addr.s_addr,
						       d->conf.vip.sin_port, addr, sizeof(addr)));
	jsonw_name(w, "backends");
	jsonw_start_array(w);
	for (id = 0; id < MQLB_MAX_BACKENDS; id++) {
		const struct pool_backend *b = &d->pool.be[id];

		if (!b->used)
			continue;
		jsonw_start_object(w);
		jsonw_string_field(w, "name", b->name);
		jsonw_string_field(w, "address", net_fmt_ipv4_port(b->addr.sin_addr.s_addr,
								   b->addr.sin_port, addr,
								   sizeof(addr)));
		jsonw_string_field(w, "state", pool_state_name(pool_effective_state(&d->pool, b)));
		jsonw_string_field(w, "admin", pool_admin_name(b->admin));
		jsonw_uint_field(w, "weight", b->weight);
		jsonw_int_field(w, "id", id);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	fclose(f);
}

void ctl_handle_line(struct mqlbd *d, char *line, char *buf, size_t len)
{
	struct conf_line ln;
	char msg[256] = "";
	int argc = conf_split(line, &ln, 0);
	uint32_t weight = 1;

	if (argc <= 0) {
		ctl_reply(buf, len, -EINVAL, argc < 0 ? "request too long" : "empty request");
		return;
	}
	if (!strcmp(ln.argv[0], "state") && argc == 1) {
		state_json(d, buf, len);
		return;
	}
	if (!strcmp(ln.argv[0], "stop") && argc == 1) {
		d->stop_clean = true;
		ev_stop(d->loop);
		ctl_reply(buf, len, 0, "stopping: XDP detached and maps unpinned on exit");
		return;
	}
	if (strcmp(ln.argv[0], "backend") || argc < 3) {
		ctl_reply(buf, len, -EINVAL,
			  "unknown request (backend add|del|drain|enable|disable NAME ..., state, stop)");
		return;
	}
	if (!strcmp(ln.argv[1], "add")) {
		if (argc != 4 && !(argc == 6 && !strcmp(ln.argv[4], "weight"))) {
			ctl_reply(buf, len, -EINVAL, "usage: backend add NAME ADDR:PORT [weight N]");
			return;
		}
		if (argc == 6 && conf_parse_u32(ln.argv[5], 1, MQLB_MAX_WEIGHT, &weight)) {
			snprintf(msg, sizeof(msg), "weight must be 1-%d, got '%s'", MQLB_MAX_WEIGHT,
				 ln.argv[5]);
			ctl_reply(buf, len, -EINVAL, msg);
			return;
		}
		ctl_reply(buf, len,
			  mqlbd_backend_add(d, ln.argv[2], ln.argv[3], weight, false, "operator: add",
					    msg, sizeof(msg)),
			  msg);
		return;
	}
	if (argc != 3) {
		ctl_reply(buf, len, -EINVAL, "usage: backend del|drain|enable|disable NAME");
		return;
	}
	if (!strcmp(ln.argv[1], "del"))
		ctl_reply(buf, len,
			  mqlbd_backend_del(d, ln.argv[2], "operator: del", msg, sizeof(msg)), msg);
	else if (!strcmp(ln.argv[1], "drain"))
		ctl_reply(buf, len,
			  mqlbd_backend_admin(d, ln.argv[2], ADMIN_DRAIN, "operator: drain", msg,
					      sizeof(msg)),
			  msg);
	else if (!strcmp(ln.argv[1], "enable"))
		ctl_reply(buf, len,
			  mqlbd_backend_admin(d, ln.argv[2], ADMIN_ENABLED, "operator: enable", msg,
					      sizeof(msg)),
			  msg);
	else if (!strcmp(ln.argv[1], "disable"))
		ctl_reply(buf, len,
			  mqlbd_backend_admin(d, ln.argv[2], ADMIN_DISABLED, "operator: disable",
					      msg, sizeof(msg)),
			  msg);
	else
		ctl_reply(buf, len, -EINVAL,
			  "unknown backend verb (add, del, drain, enable, disable)");
}

static void ctl_serve(struct mqlbd *d, int fd)
{
	struct timeval tv = { .tv_sec = CTL_IO_TIMEOUT_MS / 1000 };
	char line[MQLB_CTL_MAX_LINE + 1], *nl;
	char *out = malloc(64 * 1024);
	uint64_t deadline;
	size_t got = 0;
	ssize_t n;

	if (!out)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* One deadline for the whole request: a client dribbling bytes cannot hold the loop. */
	deadline = mono_ms() + CTL_IO_TIMEOUT_MS;
	while (got < MQLB_CTL_MAX_LINE && mono_ms() < deadline) {
		n = read(fd, line + got, MQLB_CTL_MAX_LINE - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = '\0';
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		pr_debug("control: %s\n", line);
		ctl_handle_line(d, line, out, 64 * 1024);
	} else {
		ctl_reply(out, 64 * 1024, -EINVAL,
			  got >= MQLB_CTL_MAX_LINE ? "request too long" : "incomplete request");
	}
	if (send(fd, out, strlen(out), MSG_NOSIGNAL) < 0)
		pr_debug("control: reply: %s\n", strerror(errno));
	free(out);
}

static void ctl_accept(struct ev_loop *l, int lfd, uint32_t events, void *arg)
{
	struct mqlbd *d = arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	ctl_serve(d, fd);
	close(fd);
}

/* A socket file that nobody answers on is left over from a daemon that died. */
static bool ctl_in_use(const char *path)
{
	int fd = ctl_connect(path, 1);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int ctl_open(struct mqlbd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	int fd, err;

	if (strlen(d->conf.control) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, d->conf.control);
	snprintf(dir, sizeof(dir), "%s", d->conf.control);
	if (mkdir(dirname(dir), 0700) && errno != EEXIST) {
		err = -errno;
		pr_warn("control socket directory for %s: %s\n", d->conf.control, strerror(-err));
		return err;
	}
	if (ctl_in_use(d->conf.control)) {
		pr_warn("another mqlbd answers on %s: stop it first (mqlbd --stop -c FILE)\n",
			d->conf.control);
		return -EADDRINUSE;
	}
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(sa.sun_path, 0600) ||
	    listen(fd, 16)) {
		err = -errno;
		pr_warn("control socket %s: %s\n", d->conf.control, strerror(-err));
		close(fd);
		return err;
	}
	err = ev_add(d->loop, fd, EV_READ, ctl_accept, d);
	if (err) {
		close(fd);
		return err;
	}
	d->ctl_fd = fd;
	return 0;
}

void ctl_close(struct mqlbd *d)
{
	if (d->ctl_fd < 0)
		return;
	ev_del(d->loop, d->ctl_fd);
	close(d->ctl_fd);
	d->ctl_fd = -1;
	unlink(d->conf.control);
}

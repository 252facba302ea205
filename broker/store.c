// SPDX-License-Identifier: GPL-2.0
/*
 * persistence true: when the state is saved, how it reaches the disk, and
 * how it comes back at start.
 *
 * Saving. The state is serialised on the loop in one go (store_write.c),
 * so the file is one consistent snapshot; then a short-lived thread does
 * what may block: it writes the buffer to FILE.new, fsync()s it, renames
 * it over FILE and fsync()s the directory, and tells the loop through a
 * pipe. The loop never waits on the disk. rename() is atomic, so after a
 * crash at any moment FILE is the last complete save or the one before
 * it, never a mix; FILE.new, if a crash left one, is removed at start.
 * Saves happen every autosave_interval seconds when something changed
 * (or after autosave_interval changes with autosave_on_changes), on
 * SIGUSR1, and at shutdown, where the loop itself writes and waits. A
 * kill -9 loses what changed since the last save, as with Mosquitto.
 *
 * Loading. A missing FILE is an empty start (nothing saved yet). A file
 * that cannot be taken whole, torn, corrupt, of another version, or not
 * mqbroker's (store_read.c says which and where), stops the start: the
 * broker does not silently start empty over a file that holds sessions.
 * With --discard-store it is renamed FILE.bad-SECONDS instead, and the
 * broker starts empty, saying so.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "store.h"

#define STORE_DEFAULT_FILE "mqbroker.db"

struct save_job {
	uint8_t *buf;
	size_t len;
	struct store_stats st;
	uint64_t serialize_ns;
	uint64_t changes;		/* b->store_changes this save covers */
	/* set by the thread */
	int err;
	const char *step;		/* what failed */
	uint64_t write_ns, fsync_ns, rename_ns, dirsync_ns;
};

struct store {
	struct broker *b;
	char *path, *tmp, *dir;
	int pipe[2];			/* the thread's "done", read on the loop */
	pthread_t thread;
	struct save_job job;
	bool busy;			/* a job in the thread */
	bool again;			/* a save asked for while busy */
	uint64_t last_save_ms;
	size_t last_len;		/* the last file's size: the next buffer's */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The thread's work, and the loop's at shutdown: everything that touches the disk. */
static void write_file(struct store *st, struct save_job *j)
{
	uint64_t t0 = mono_ns(), t1, t2, t3;
	size_t off = 0;
	int fd, dfd;

	j->err = 0;
	fd = open(st->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		j->step = "open";
		goto out_err;
	}
	while (off < j->len) {
		ssize_t n = write(fd, j->buf + off, j->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			j->step = "write";
			if (!n)
				errno = EIO;
			goto out_close;
		}
		off += (size_t)n;
	}
	t1 = mono_ns();
	if (fsync(fd)) {
		j->step = "fsync";
		goto out_close;
	}
	t2 = mono_ns();
	if (close(fd)) {
		fd = -1;
		j->step = "close";
		goto out_unlink;
	}
	if (rename(st->tmp, st->path)) {
		j->step = "rename";
		goto out_unlink;
	}
	t3 = mono_ns();
	/* The rename itself is only durable once the directory is. */
	dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd)) {
		j->step = "fsync of the directory";
		j->err = -errno;
		if (dfd >= 0)
			close(dfd);
		return;
	}
	close(dfd);
	j->write_ns = t1 - t0;
	j->fsync_ns = t2 - t1;
	j->rename_ns = t3 - t2;
	j->dirsync_ns = mono_ns() - t3;
	return;

out_close:
	j->err = -errno;
	close(fd);
out_unlink:
	if (!j->err)
		j->err = -errno;
	unlink(st->tmp);
	return;
out_err:
	j->err = -errno;
}

static void *writer(void *arg)
{
	struct store *st = arg;
	char done = 1;

	write_file(st, &st->job);
	while (write(st->pipe[1], &done, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* The job is over (thread joined, or done by the loop): log it, free it. */
static void job_done(struct store *st)
{
	struct save_job *j = &st->job;
	struct broker *b = st->b;

	if (j->err) {
		/* What it covered is still unsaved: the next tick tries again. */
		b->store_changes += j->changes;
		pr_warn("persistence: cannot save %s: %s failed: %s\n", st->path, j->step,
			strerror(-j->err));
	} else {
		pr_info("persistence: saved %s: %llu sessions, %llu subscriptions, %llu retained, "
			"%llu messages (%llu in flight, %llu queued, %llu inbound QoS 2), %llu bytes; "
			"serialise %.2f ms (loop), write %.2f ms, fsync %.2f ms, rename %.2f ms, "
			"directory fsync %.2f ms\n",
			st->path, (unsigned long long)j->st.sessions,
			(unsigned long long)j->st.subs, (unsigned long long)j->st.retained,
			(unsigned long long)j->st.msgs, (unsigned long long)j->st.inflight,
			(unsigned long long)j->st.queued, (unsigned long long)j->st.qos2_in,
			(unsigned long long)j->st.bytes, ms(j->serialize_ns), ms(j->write_ns),
			ms(j->fsync_ns), ms(j->rename_ns), ms(j->dirsync_ns));
	}
	free(j->buf);
	j->buf = NULL;
	st->busy = false;
}

static void on_written(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct store *st = arg;
	char c;

	if (read(fd, &c, 1) != 1 || !st->busy)
		return;
	pthread_join(st->thread, NULL);
	job_done(st);
	if (st->again) {
		st->again = false;
		store_save(st->b, "asked for during the last one");
	}
}

/* Serialise now; the job's buffer is then the state as it is at this instant. */
static int job_prepare(struct store *st, const char *why)
{
	struct broker *b = st->b;
	struct save_job *j = &st->job;
	uint64_t t0 = mono_ns();
	int err;

	memset(j, 0, sizeof(*j));
	j->len = st->last_len;
	err = store_serialize(b, &j->buf, &j->len, wall_ms(), &j->st);
	if (err) {
		pr_warn("persistence: cannot save (%s): %s\n", why, strerror(-err));
		return err;
	}
	j->serialize_ns = mono_ns() - t0;
	st->last_len = j->len;
	j->changes = b->store_changes;
	b->store_changes = 0;
	st->last_save_ms = ev_now_ms(b->loop);
	pr_debug("persistence: saving (%s)\n", why);
	return 0;
}

void store_save(struct broker *b, const char *why)
{
	struct store *st = b->store;
	int err;

	if (!st)
		return;
	if (st->busy) {
		st->again = true;
		return;
	}
	if (job_prepare(st, why))
		return;
	st->busy = true;
	err = pthread_create(&st->thread, NULL, writer, st);
	if (err) {
		/* No thread to be had: the loop writes it itself, and waits. */
		pr_warn("persistence: no writer thread (%s): writing from the loop\n", strerror(err));
		write_file(st, &st->job);
		job_done(st);
	}
}

void store_tick(struct broker *b)
{
	struct store *st = b->store;
	uint32_t every = b->conf.autosave_interval;

	if (!st || st->busy || !every || !b->store_changes)
		return;
	if (b->conf.autosave_on_changes ? b->store_changes >= every
					: ev_now_ms(b->loop) - st->last_save_ms >= every * 1000ull)
		store_save(b, "autosave");
}

/* The store's pipe and names, and the store. */
static void store_free(struct store *st)
{
	if (st->pipe[0] >= 0) {
		close(st->pipe[0]);
		close(st->pipe[1]);
	}
	free(st->path);
	free(st->tmp);
	free(st->dir);
	free(st);
}

void store_close(struct broker *b)
{
	struct store *st = b->store;

	if (!st)
		return;
	if (st->busy) {
		pthread_join(st->thread, NULL);
		job_done(st);
	}
	/* The last word: everything up to now, written and fsync()ed before exit. */
	if (!job_prepare(st, "shutdown")) {
		write_file(st, &st->job);
		job_done(st);
	}
	ev_del(b->loop, st->pipe[0]);
	store_free(st);
	b->store = NULL;
}

static char *path_join(const char *dir, const char *file)
{
	char *p;

	if (!dir || !*dir)
		return strdup(file);
	if (asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", file) < 0)
		return NULL;
	return p;
}

static struct store *store_new(struct broker *b)
{
	const struct broker_conf *c = &b->conf;
	struct store *st = calloc(1, sizeof(*st));
	char *d;

	if (!st)
		return NULL;
	st->b = b;
	st->pipe[0] = st->pipe[1] = -1;
	st->path = path_join(c->persistence_location,
			     c->persistence_file ? c->persistence_file : STORE_DEFAULT_FILE);
	if (st->path && asprintf(&st->tmp, "%s.new", st->path) < 0)
		st->tmp = NULL;
	d = st->path ? strdup(st->path) : NULL;
	if (d)
		st->dir = strdup(dirname(d));
	free(d);
	if (!st->path || !st->tmp || !st->dir || pipe2(st->pipe, O_CLOEXEC)) {
		store_free(st);
		return NULL;
	}
	return st;
}

/* A refused file: stop, or with --discard-store set it aside and start empty. */
static int refuse(struct store *st, const char *why, bool discard)
{
	char aside[4096];

	if (!discard) {
		pr_err("persistence: %s: %s\n", st->path, why);
		pr_err("persistence: mqbroker does not start over a file it cannot read whole: "
		       "move it away, or start once with --discard-store to set it aside and "
		       "start empty\n");
		return -EBADMSG;
	}
	snprintf(aside, sizeof(aside), "%s.bad-%llu", st->path,
		 (unsigned long long)(wall_ms() / 1000));
	if (rename(st->path, aside)) {
		pr_err("persistence: %s: %s; and it cannot be moved to %s: %s\n", st->path, why,
		       aside, strerror(errno));
		return -errno;
	}
	pr_warn("persistence: %s: %s; moved to %s, starting empty (--discard-store)\n", st->path,
		why, aside);
	return 0;
}

int store_open(struct broker *b, bool discard)
{
	struct store *st;
	struct store_stats ss;
	char why[512];
	uint8_t *text = NULL;
	size_t len = 0;
	uint64_t t0;
	int err;

	if (!b->conf.persistence)
		return 0;
	st = store_new(b);
	if (!st)
		return -ENOMEM;
	err = ev_add(b->loop, st->pipe[0], EV_READ, on_written, st);
	if (err)
		goto out_free;
	b->store = st;
	st->last_save_ms = ev_now_ms(b->loop);
	if (!unlink(st->tmp))
		pr_info("persistence: removed %s, a save cut short\n", st->tmp);
	err = conf_read_file(st->path, (char **)&text, &len);
	if (err == -ENOENT) {
		pr_info("persistence: no %s yet, starting empty\n", st->path);
		return 0;
	}
	if (err) {
		snprintf(why, sizeof(why), "cannot read it: %s", strerror(-err));
		err = refuse(st, why, discard) ? err : 0;
		goto out_stop;
	}
	t0 = mono_ns();
	err = store_load(b, text, len, wall_ms(), &ss, why, sizeof(why));
	free(text);
	if (err == -ENOMEM) {
		pr_err("persistence: %s: %s\n", st->path, why);
		goto out_stop;
	}
	if (err) {
		/* Set aside (and nothing was loaded), or the start stops. */
		err = refuse(st, why, discard);
		goto out_stop;
	}
	pr_info("persistence: loaded %s in %.2f ms: %llu sessions, %llu subscriptions, "
		"%llu retained, %llu messages (%llu in flight, %llu queued, %llu inbound QoS 2)%s\n",
		st->path, ms(mono_ns() - t0), (unsigned long long)ss.sessions,
		(unsigned long long)ss.subs, (unsigned long long)ss.retained,
		(unsigned long long)ss.msgs, (unsigned long long)ss.inflight,
		(unsigned long long)ss.queued, (unsigned long long)ss.qos2_in,
		ss.dropped ? " (some inbound QoS 2 over max_inflight_messages dropped)" : "");
	/* Loading is no change: the file already says all of it. */
	b->store_changes = 0;
	st->last_len = len;
	return 0;

out_stop:
	/* The start stops: nothing may be saved over the file on the way out. */
	if (err) {
		ev_del(b->loop, st->pipe[0]);
		b->store = NULL;
	} else {
		return 0;
	}
out_free:
	store_free(st);
	return err;
}

int store_check_writable(struct broker *b)
{
	struct store *st = b->store;
	int fd;

	if (!st)
		return 0;
	fd = open(st->tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int err = -errno;

		pr_err("persistence: cannot write %s: %s (persistence_location must be writable by the broker)\n",
		       st->tmp, strerror(-err));
		return err;
	}
	close(fd);
	unlink(st->tmp);
	return 0;
}

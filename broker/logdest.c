// SPDX-License-Identifier: GPL-2.0
/*
 * log_dest and log_type. The shared log.c formats each line and hands it
 * to the sink installed here (log_set_sink()), which fans it out to the
 * configured destinations: stderr, stdout, a file, syslog (with a priority
 * from the line's level) and the $SYS/broker/log topic. Lines for the
 * topic are only buffered here and published from before_sleep, so a log
 * line printed in the middle of a tree update never re-enters the publish
 * path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#define LOG_TOPIC_LINES 64

struct log_dest {
	unsigned int dests;	/* LOGD_*, LOGD_NONE cleared */
	int file_fd;
	char *lines[LOG_TOPIC_LINES];
	int nlines;
};

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void dest_line(void *arg, enum log_level level, const char *line, size_t len)
{
	struct log_dest *d = arg;
	size_t text = len && line[len - 1] == '\n' ? len - 1 : len;

	if (d->dests & LOGD_STDERR)
		write_all(STDERR_FILENO, line, len);
	if (d->dests & LOGD_STDOUT)
		write_all(STDOUT_FILENO, line, len);
	if (d->dests & LOGD_FILE)
		write_all(d->file_fd, line, len);
	if (d->dests & LOGD_SYSLOG)
		syslog(log_syslog_priority(level), "%.*s", (int)text, line);
	if (d->dests & LOGD_TOPIC && d->nlines < LOG_TOPIC_LINES) {
		char *copy = strndup(line, text);

		if (copy)
			d->lines[d->nlines++] = copy;
	}
}

static enum log_level level_of(unsigned int types)
{
	if (types & LOGT_DEBUG)
		return LOG_LVL_DEBUG;
	if (types & (LOGT_NOTICE | LOGT_INFO | LOGT_SUBSCRIBE | LOGT_UNSUBSCRIBE))
		return LOG_LVL_INFO;
	return LOG_LVL_WARN;
}

bool log_subscribe_enabled(const struct broker *b)
{
	return b->conf.log_type & (LOGT_SUBSCRIBE | LOGT_UNSUBSCRIBE);
}

int log_dest_open(struct broker *b)
{
	const struct broker_conf *c = &b->conf;
	unsigned int dests = c->log_dest ? c->log_dest : LOGD_STDERR;
	struct log_dest *d;
	int err;

	log_set_timestamps(c->log_timestamp);
	if (c->log_type_set && log_get_level() < LOG_LVL_DEBUG)
		log_set_level(level_of(c->log_type));
	if (c->log_type_set && !c->log_type)
		dests = LOGD_NONE;
	if (dests == LOGD_STDERR)
		return 0; /* log.c already does exactly that */
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->dests = dests & LOGD_NONE ? 0 : dests;
	d->file_fd = -1;
	if (d->dests & LOGD_FILE) {
		d->file_fd = open(c->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (d->file_fd < 0) {
			err = -errno;
			pr_warn("log_dest file %s: %s\n", c->log_file, strerror(-err));
			free(d);
			return err;
		}
	}
	if (d->dests & LOGD_SYSLOG)
		openlog("mqbroker", LOG_PID, LOG_DAEMON);
	b->log = d;
	log_set_sink(dest_line, d);
	return 0;
}

int log_dest_reopen(struct broker *b)
{
	struct log_dest *d = b->log;
	int fd, err;

	if (!d || !(d->dests & LOGD_FILE))
		return 0;
	fd = open(b->conf.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		pr_warn("reload: log_dest file %s: %s; writing on to the file open before\n",
			b->conf.log_file, strerror(-err));
		return err;
	}
	close(d->file_fd);
	d->file_fd = fd;
	pr_info("reload: log_dest file %s reopened\n", b->conf.log_file);
	return 0;
}

void log_dest_flush(struct broker *b)
{
	struct log_dest *d = b->log;
	int i, n;

	if (!d || !d->nlines)
		return;
	/* Lines logged while publishing these wait for the next round. */
	n = d->nlines;
	d->nlines = 0;
	for (i = 0; i < n; i++) {
		char *line = d->lines[i];

		broker_publish_str(b, "$SYS/broker/log", line, (uint32_t)strlen(line), 0, false);
		free(line);
	}
}

void log_dest_close(struct broker *b)
{
	struct log_dest *d = b->log;
	int i;

	if (!d)
		return;
	log_set_sink(NULL, NULL);
	for (i = 0; i < d->nlines; i++)
		free(d->lines[i]);
	if (d->file_fd >= 0)
		close(d->file_fd);
	if (d->dests & LOGD_SYSLOG)
		closelog();
	free(d);
	b->log = NULL;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * log_dest and log_type. The shared log.c writes to stderr; when the
 * configuration asks for anything but plain stderr, stderr is replaced by
 * a cookie stream that fans each line out to the configured destinations
 * (stdout, a file, syslog, the $SYS/broker/log topic). Lines for the topic
 * are only buffered here and published from before_sleep, so a log line
 * printed in the middle of a tree update never re-enters the publish path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#define LOG_TOPIC_LINES 64

struct log_sink {
	struct broker *b;
	unsigned int dests;
	int err_fd;		/* the original stderr */
	int file_fd;
	FILE *orig_stderr;
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

static ssize_t sink_write(void *cookie, const char *buf, size_t len)
{
	struct log_sink *s = cookie;

	if (s->dests & LOGD_STDERR)
		write_all(s->err_fd, buf, len);
	if (s->dests & LOGD_STDOUT)
		write_all(STDOUT_FILENO, buf, len);
	if (s->dests & LOGD_FILE && s->file_fd >= 0)
		write_all(s->file_fd, buf, len);
	if (s->dests & LOGD_SYSLOG)
		syslog(LOG_INFO, "%.*s", (int)(len && buf[len - 1] == '\n' ? len - 1 : len), buf);
	if (s->dests & LOGD_TOPIC && s->nlines < LOG_TOPIC_LINES) {
		char *line = strndup(buf, len && buf[len - 1] == '\n' ? len - 1 : len);

		if (line)
			s->lines[s->nlines++] = line;
	}
	return (ssize_t)len;
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

int log_sink_open(struct broker *b)
{
	const struct broker_conf *c = &b->conf;
	cookie_io_functions_t io = { .write = sink_write };
	unsigned int dests = c->log_dest ? c->log_dest : LOGD_STDERR;
	struct log_sink *s;
	FILE *f;
	int err;

	log_set_timestamps(c->log_timestamp);
	if (c->log_type_set && log_get_level() < LOG_LVL_DEBUG)
		log_set_level(level_of(c->log_type));
	if (c->log_type_set && !c->log_type)
		dests = LOGD_NONE;
	if (dests == LOGD_STDERR)
		return 0; /* log.c already does exactly that */
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->b = b;
	s->dests = dests & LOGD_NONE ? 0 : dests;
	s->file_fd = -1;
	s->err_fd = STDERR_FILENO;
	if (s->dests & LOGD_FILE) {
		s->file_fd = open(c->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (s->file_fd < 0) {
			err = -errno;
			pr_warn("log_dest file %s: %s\n", c->log_file, strerror(-err));
			free(s);
			return err;
		}
	}
	if (s->dests & LOGD_SYSLOG)
		openlog("mqbroker", LOG_PID, LOG_DAEMON);
	f = fopencookie(s, "w", io);
	if (!f) {
		err = -errno;
		if (s->file_fd >= 0)
			close(s->file_fd);
		free(s);
		return err;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	s->orig_stderr = stderr;
	stderr = f;
	b->log = s;
	return 0;
}

void log_sink_flush(struct broker *b)
{
	struct log_sink *s = b->log;
	int i, n;

	if (!s || !s->nlines)
		return;
	/* Lines logged while publishing these wait for the next round. */
	n = s->nlines;
	s->nlines = 0;
	for (i = 0; i < n; i++) {
		char *line = s->lines[i];

		broker_publish_str(b, "$SYS/broker/log", line, (uint32_t)strlen(line), 0, false);
		free(line);
	}
}

void log_sink_close(struct broker *b)
{
	struct log_sink *s = b->log;
	int i;

	if (!s)
		return;
	fflush(stderr);
	fclose(stderr);
	stderr = s->orig_stderr;
	for (i = 0; i < s->nlines; i++)
		free(s->lines[i]);
	if (s->file_fd >= 0)
		close(s->file_fd);
	if (s->dests & LOGD_SYSLOG)
		closelog();
	free(s);
	b->log = NULL;
}

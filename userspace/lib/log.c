// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "log.h"

/* File-scope by design, the one exception to no mutable globals: the log level, target and sink are process-wide. */
static enum log_level log_level = LOG_LVL_INFO;
static enum log_target log_target = LOG_TARGET_STDERR;
static bool log_timestamps;
static log_sink_fn log_sink;
static void *log_sink_arg;

#define LOG_LINE_MAX 2048

static const char *const target_names[] = {
	[LOG_TARGET_AUTO] = "auto",
	[LOG_TARGET_STDERR] = "stderr",
	[LOG_TARGET_JOURNAL] = "journal",
	[LOG_TARGET_SYSLOG] = "syslog",
};

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_timestamps(bool on)
{
	log_timestamps = on;
}

void log_set_sink(log_sink_fn fn, void *arg)
{
	log_sink = fn;
	log_sink_arg = arg;
}

bool log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char tail;

	if (!env || sscanf(env, "%ju:%ju%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

enum log_target log_set_target(enum log_target target, const char *ident)
{
	if (target == LOG_TARGET_AUTO)
		target = log_stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	if (log_target == LOG_TARGET_SYSLOG && target != LOG_TARGET_SYSLOG)
		closelog();
	if (target == LOG_TARGET_SYSLOG && log_target != LOG_TARGET_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_target = target;
	return target;
}

enum log_target log_get_target(void)
{
	return log_target;
}

int log_parse_target(const char *s, enum log_target *out)
{
	size_t i;

	for (i = 0; i < sizeof(target_names) / sizeof(target_names[0]); i++) {
		if (!strcmp(s, target_names[i])) {
			*out = (enum log_target)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_target_name(enum log_target t)
{
	return (size_t)t < sizeof(target_names) / sizeof(target_names[0]) ? target_names[t] : "?";
}

int log_syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERR:
		return LOG_ERR;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	case LOG_LVL_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/* "2026-12-06T07:39:29.123 " into buf; returns its length. */
static int format_timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	char day[32];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	return snprintf(buf, len, "%s.%03ld ", day, (long)(tv.tv_usec / 1000));
}

/*
 * One message may hold several lines (a refusal and the command that
 * fixes it). journald and syslog take a record per line, so each line
 * carries the priority: a continuation without one would be filed at the
 * stream's default level, and a warning's second half would look like
 * information.
 */
static void emit_records(int prio, const char *text, size_t len)
{
	char out[LOG_LINE_MAX + 64];
	size_t start = 0, end, n;

	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);

		end = nl ? (size_t)(nl - text) : len;
		if (log_target == LOG_TARGET_SYSLOG) {
			syslog(prio, "%.*s", (int)(end - start), text + start);
		} else {
			n = (size_t)snprintf(out, sizeof(out), "<%d>%.*s\n", prio,
					     (int)(end - start), text + start);
			fwrite(out, 1, n < sizeof(out) ? n : sizeof(out) - 1, stderr);
		}
		start = end + 1;
	}
}

void log_vprint(enum log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	bool stamp;
	size_t n = 0;
	int w;

	if (level > log_level)
		return;
	/* journald and syslog stamp each record themselves: a second stamp is noise. */
	stamp = log_timestamps && (log_sink || log_target == LOG_TARGET_STDERR);
	if (stamp)
		n = (size_t)format_timestamp(line, sizeof(line));
	w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (w < 0)
		return;
	n += (size_t)w;
	if (n >= sizeof(line)) {
		/* Cut, but keep the line a line. */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (log_sink)
		log_sink(log_sink_arg, level, line, n);
	else if (log_target == LOG_TARGET_STDERR)
		fwrite(line, 1, n, stderr);
	else
		emit_records(log_syslog_priority(level), line, n);
}

void log_print(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}

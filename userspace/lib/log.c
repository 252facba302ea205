// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <time.h>
#include <sys/time.h>

#include "log.h"

/* File-scope by design (STYLE.md item 11): the log level and sink are process-wide. */
static enum log_level log_level = LOG_LVL_INFO;
static bool log_timestamps;
static log_sink_fn log_sink;
static void *log_sink_arg;

#define LOG_LINE_MAX 2048

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

void log_vprint(enum log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n = 0;
	int w;

	if (level > log_level)
		return;
	if (log_timestamps)
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
	else
		fwrite(line, 1, n, stderr);
}

void log_print(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}

// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <time.h>
#include <sys/time.h>

#include "log.h"

/* File-scope by design (STYLE.md item 11): the log level is process-wide. */
static enum log_level log_level = LOG_LVL_INFO;
static bool log_timestamps;

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

void log_vprint(enum log_level level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	if (log_timestamps) {
		struct timeval tv;
		struct tm tm;
		char buf[32];

		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld ", buf, (long)(tv.tv_usec / 1000));
	}
	vfprintf(stderr, fmt, ap);
}

void log_print(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}

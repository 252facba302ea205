/* SPDX-License-Identifier: GPL-2.0 */
/* Levelled logging shared by every userspace program (xdp-tools style). */
#ifndef MQLB_LOG_H
#define MQLB_LOG_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_WARN = 0,
	LOG_LVL_INFO = 1,
	LOG_LVL_DEBUG = 2,
};

/*
 * Where finished lines go instead of stderr: one call per line, the text
 * already formatted (with its timestamp when enabled, with its newline),
 * len bytes. A program that logs to several places (the broker's log_dest)
 * installs one; NULL restores stderr.
 */
typedef void (*log_sink_fn)(void *arg, enum log_level level, const char *line, size_t len);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Daemons prefix each line with a wall-clock timestamp; CLIs do not. */
void log_set_timestamps(bool on);
void log_set_sink(log_sink_fn fn, void *arg);
void log_print(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vprint(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define pr_warn(...)  log_print(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log_print(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_print(LOG_LVL_DEBUG, __VA_ARGS__)

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Levelled logging shared by every userspace program (xdp-tools style).
 *
 * Three targets: plain stderr (an optional wall-clock timestamp per line,
 * for a terminal or a file), stderr for the journal (each line starts with
 * its syslog priority as "<N>", no timestamp: journald stamps and files
 * it by severity), and syslog(3). LOG_TARGET_AUTO picks the journal form
 * when systemd connected stderr to the journal ($JOURNAL_STREAM names our
 * stderr), plain stderr otherwise.
 */
#ifndef MQLB_LOG_H
#define MQLB_LOG_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERR = 0,   /* the program cannot go on, or refuses what it was asked */
	LOG_LVL_WARN = 1,  /* it goes on, degraded or on a fallback */
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

enum log_target {
	LOG_TARGET_AUTO = 0,
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
	LOG_TARGET_SYSLOG,
};

/*
 * Where finished lines go instead of the target: one call per line, the
 * text already formatted (with its timestamp when enabled, with its
 * newline, without a priority prefix), len bytes. A program that logs to
 * several places (the broker's log_dest) installs one; NULL restores the
 * target.
 */
typedef void (*log_sink_fn)(void *arg, enum log_level level, const char *line, size_t len);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Daemons prefix each line with a wall-clock timestamp; CLIs do not. Never in the journal. */
void log_set_timestamps(bool on);
void log_set_sink(log_sink_fn fn, void *arg);
/*
 * Choose the target; ident names the program for syslog. AUTO is resolved
 * here, once. Returns the target in effect (never AUTO).
 */
enum log_target log_set_target(enum log_target target, const char *ident);
enum log_target log_get_target(void);
/* "auto", "stderr", "journal", "syslog" -> 0 and *out, or -EINVAL. */
int log_parse_target(const char *s, enum log_target *out);
const char *log_target_name(enum log_target t);
/*
 * True when stderr is the journal stream systemd gave us: $JOURNAL_STREAM
 * ("DEV:INODE") equals stderr's device and inode (systemd.exec(5)). A
 * child that inherited the variable but writes elsewhere gets false.
 */
bool log_stderr_is_journal(void);
/* The syslog priority of a level (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
int log_syslog_priority(enum log_level level);

void log_print(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vprint(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define pr_err(...)   log_print(LOG_LVL_ERR, __VA_ARGS__)
#define pr_warn(...)  log_print(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log_print(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_print(LOG_LVL_DEBUG, __VA_ARGS__)

#endif

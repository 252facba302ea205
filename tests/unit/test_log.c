// SPDX-License-Identifier: GPL-2.0
/*
 * log.c: the three targets' formats (plain with a timestamp, the journal's
 * "<N>" priority on every line and no timestamp), the journal detection
 * through $JOURNAL_STREAM, levels, and the target names.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "log.h"

/* Run fn with stderr sent to a temporary file; return what it wrote (static buffer). */
static const char *capture(void (*fn)(void))
{
	static char buf[4096];
	char path[] = "/tmp/test_log.XXXXXX";
	int fd = mkstemp(path), saved;
	ssize_t n;

	assert_true(fd >= 0);
	unlink(path);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	fn();
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void emit_levels(void)
{
	pr_err("refused: %s\n", "bad");
	pr_warn("backend b1: up -> down\n");
	pr_info("started\n");
	pr_debug("hidden at info\n");
}

static void emit_two_lines(void)
{
	pr_warn("vip is not local; add it with:\n    ip addr add 10.0.0.1/32 dev eth0\n");
}

static void test_journal_prefixes_every_line(void **state)
{
	const char *out;

	log_set_level(LOG_LVL_INFO);
	log_set_timestamps(true); /* ignored in the journal: journald stamps records */
	assert_int_equal(log_set_target(LOG_TARGET_JOURNAL, "test"), LOG_TARGET_JOURNAL);
	out = capture(emit_levels);
	assert_string_equal(out, "<3>refused: bad\n<4>backend b1: up -> down\n<6>started\n");
	out = capture(emit_two_lines);
	assert_string_equal(out, "<4>vip is not local; add it with:\n"
				 "<4>    ip addr add 10.0.0.1/32 dev eth0\n");
	log_set_level(LOG_LVL_DEBUG);
	out = capture(emit_levels);
	assert_non_null(strstr(out, "<7>hidden at info\n"));
	log_set_target(LOG_TARGET_STDERR, "test");
	log_set_level(LOG_LVL_INFO);
}

static void test_plain_stderr_timestamps(void **state)
{
	const char *out;

	log_set_target(LOG_TARGET_STDERR, "test");
	log_set_timestamps(true);
	out = capture(emit_levels);
	/* "YYYY-MM-DDTHH:MM:SS.mmm refused: bad" and no priority prefix */
	assert_int_equal(out[4], '-');
	assert_int_equal(out[10], 'T');
	assert_int_equal(out[19], '.');
	assert_memory_equal(out + 24, "refused: bad\n", 13);
	assert_null(strchr(out, '<'));
	log_set_timestamps(false);
	out = capture(emit_levels);
	assert_string_equal(out, "refused: bad\nbackend b1: up -> down\nstarted\n");
	log_set_level(LOG_LVL_WARN);
	out = capture(emit_levels);
	assert_string_equal(out, "refused: bad\nbackend b1: up -> down\n");
	log_set_level(LOG_LVL_ERR);
	out = capture(emit_levels);
	assert_string_equal(out, "refused: bad\n");
	log_set_level(LOG_LVL_INFO);
}

static void sink(void *arg, enum log_level level, const char *line, size_t len)
{
	char *got = arg;

	snprintf(got, 64, "%d:%.*s", (int)level, (int)len, line);
}

static void test_sink_gets_plain_line(void **state)
{
	char got[64] = "";

	log_set_target(LOG_TARGET_JOURNAL, "test");
	log_set_timestamps(false);
	log_set_sink(sink, got);
	pr_warn("to the sink\n");
	log_set_sink(NULL, NULL);
	assert_string_equal(got, "1:to the sink\n");
	log_set_target(LOG_TARGET_STDERR, "test");
}

static void test_journal_stream_detection(void **state)
{
	char path[] = "/tmp/test_log_js.XXXXXX", env[64];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;

	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);

	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_true(log_stderr_is_journal());
	assert_int_equal(log_set_target(LOG_TARGET_AUTO, "test"), LOG_TARGET_JOURNAL);

	/* Inherited by a child whose stderr is something else: not the journal. */
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	assert_false(log_stderr_is_journal());
	assert_int_equal(log_set_target(LOG_TARGET_AUTO, "test"), LOG_TARGET_STDERR);

	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_false(log_stderr_is_journal());
	snprintf(env, sizeof(env), "%ju:%juX", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_false(log_stderr_is_journal());
	unsetenv("JOURNAL_STREAM");
	assert_false(log_stderr_is_journal());

	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	log_set_target(LOG_TARGET_STDERR, "test");
}

static void test_target_names(void **state)
{
	enum log_target t;

	assert_int_equal(log_parse_target("syslog", &t), 0);
	assert_int_equal(t, LOG_TARGET_SYSLOG);
	assert_int_equal(log_parse_target("journal", &t), 0);
	assert_int_equal(t, LOG_TARGET_JOURNAL);
	assert_int_equal(log_parse_target("auto", &t), 0);
	assert_int_equal(t, LOG_TARGET_AUTO);
	assert_int_equal(log_parse_target("Syslog", &t), -EINVAL);
	assert_int_equal(log_parse_target("", &t), -EINVAL);
	assert_string_equal(log_target_name(LOG_TARGET_STDERR), "stderr");
	assert_int_equal(log_syslog_priority(LOG_LVL_WARN), 4);
	assert_int_equal(log_syslog_priority(LOG_LVL_ERR), 3);
	assert_int_equal(log_syslog_priority(LOG_LVL_DEBUG), 7);
}

static char big_text[5000];

static void emit_big(void)
{
	pr_info("%s\n", big_text);
}

/* A message longer than a line's buffer is cut, and still ends as exactly one record. */
static void test_long_line_is_cut_but_stays_a_line(void **state)
{
	const char *out;

	memset(big_text, 'x', sizeof(big_text) - 1);
	log_set_target(LOG_TARGET_JOURNAL, "test");
	out = capture(emit_big);
	log_set_target(LOG_TARGET_STDERR, "test");
	assert_int_equal(strncmp(out, "<6>xxx", 6), 0);
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_true(strlen(out) < 2100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_prefixes_every_line),
		cmocka_unit_test(test_plain_stderr_timestamps),
		cmocka_unit_test(test_sink_gets_plain_line),
		cmocka_unit_test(test_journal_stream_detection),
		cmocka_unit_test(test_target_names),
		cmocka_unit_test(test_long_line_is_cut_but_stays_a_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

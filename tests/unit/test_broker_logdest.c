// SPDX-License-Identifier: GPL-2.0
/*
 * log_dest (broker/logdest.c) through log.c's sink hook: lines reach the
 * file and the $SYS/broker/log buffer, 'none' silences, and closing puts
 * stderr back. stderr itself is never reassigned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "broker.h"
#include "log.h"

static char *read_file(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_file_and_topic(void **state)
{
	char path[] = "/tmp/mqbroker-logdest-XXXXXX";
	struct broker b;
	FILE *before = stderr;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	memset(&b, 0, sizeof(b));
	broker_conf_init(&b.conf);
	b.conf.log_timestamp = false;
	b.conf.log_dest = LOGD_FILE | LOGD_TOPIC;
	b.conf.log_file = strdup(path);
	assert_int_equal(log_dest_open(&b), 0);
	assert_ptr_equal(stderr, before);
	pr_info("client %s connected\n", "alpha");
	pr_debug("not at this level\n");
	assert_string_equal(read_file(path), "client alpha connected\n");
	/* The topic gets the line without its newline, buffered until before_sleep. */
	assert_non_null(b.log);
	log_dest_close(&b);
	assert_null(b.log);
	assert_ptr_equal(stderr, before);
	/* Closed: lines no longer reach the file. */
	log_set_level(LOG_LVL_WARN);
	pr_info("after close\n");
	log_set_level(LOG_LVL_INFO);
	assert_string_equal(read_file(path), "client alpha connected\n");
	unlink(path);
	broker_conf_free(&b.conf);
}

static void test_none(void **state)
{
	struct broker b;

	(void)state;
	memset(&b, 0, sizeof(b));
	broker_conf_init(&b.conf);
	b.conf.log_dest = LOGD_NONE;
	assert_int_equal(log_dest_open(&b), 0);
	assert_non_null(b.log);
	pr_warn("swallowed\n");
	log_dest_close(&b);
	broker_conf_free(&b.conf);
}

static void test_default_stderr_installs_nothing(void **state)
{
	struct broker b;

	(void)state;
	memset(&b, 0, sizeof(b));
	broker_conf_init(&b.conf);
	assert_int_equal(log_dest_open(&b), 0);
	assert_null(b.log);
	log_dest_close(&b);
	broker_conf_free(&b.conf);
}

static void test_bad_file(void **state)
{
	struct broker b;

	(void)state;
	memset(&b, 0, sizeof(b));
	broker_conf_init(&b.conf);
	b.conf.log_dest = LOGD_FILE;
	b.conf.log_file = strdup("/nonexistent-dir/x.log");
	assert_true(log_dest_open(&b) < 0);
	assert_null(b.log);
	broker_conf_free(&b.conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_and_topic),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_default_stderr_installs_nothing),
		cmocka_unit_test(test_bad_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

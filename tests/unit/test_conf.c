// SPDX-License-Identifier: GPL-2.0
/* The shared config tokenizer, dispatcher and value parsers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"

struct sample {
	uint32_t count;
	bool flag;
	char *name;
	uint32_t wait_ms;
	int topics;
};

static int kw_topic(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct sample *s = obj;

	if (strcmp(ln->argv[1], "#")) {
		conf_reason(err, "want '#'");
		return -EINVAL;
	}
	s->topics++;
	return 0;
}

static const struct conf_kw kws[] = {
	{ "count", conf_kw_u32, offsetof(struct sample, count), 1, 1, 1, 100 },
	{ "flag", conf_kw_bool, offsetof(struct sample, flag), 1, 1, 0, 0 },
	{ "name", conf_kw_str, offsetof(struct sample, name), 1, 1, 0, 0 },
	{ "wait", conf_kw_duration_ms, offsetof(struct sample, wait_ms), 1, 1, 0, 60000 },
	{ "topic", kw_topic, 0, 1, 3, 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0 },
};

static void test_split_comments(void **state)
{
	struct conf_line ln;
	char a[] = "  vip 10.0.0.1:1883   # the address";
	char b[] = "topic # out 0";
	char c[] = "# whole line";
	char d[] = "   ";

	assert_int_equal(conf_split(a, &ln, CONF_INLINE_COMMENTS), 2);
	assert_string_equal(ln.argv[0], "vip");
	assert_string_equal(ln.argv[1], "10.0.0.1:1883");
	/* Mosquitto rules: '#' is a comment only at the start of a line. */
	assert_int_equal(conf_split(b, &ln, 0), 4);
	assert_string_equal(ln.argv[1], "#");
	assert_int_equal(conf_split(c, &ln, 0), 0);
	assert_int_equal(conf_split(d, &ln, 0), 0);
}

static void test_split_too_many(void **state)
{
	char line[CONF_MAX_ARGS * 3 + 8] = "";
	struct conf_line ln;
	int i;

	for (i = 0; i <= CONF_MAX_ARGS; i++)
		strcat(line, "x ");
	assert_int_equal(conf_split(line, &ln, 0), -E2BIG);
}

static void test_parse_ok(void **state)
{
	struct sample s = { 0 };
	char err[CONF_ERR_LEN] = "";

	assert_int_equal(conf_parse_string("t.conf",
					   "count 42\nflag yes\nname one\nname two\n"
					   "wait 250ms\n\ntopic # out 0\n",
					   kws, &s, 0, err),
			 0);
	assert_int_equal(s.count, 42);
	assert_true(s.flag);
	assert_string_equal(s.name, "two");
	assert_int_equal(s.wait_ms, 250);
	assert_int_equal(s.topics, 1);
	free(s.name);
}

struct err_case {
	const char *text;
	const char *want;
};

static void test_parse_errors(void **state)
{
	static const struct err_case cases[] = {
		{ "count 1\nbogus 3\n", "t.conf:2: unknown directive 'bogus'" },
		{ "count\n", "t.conf:1: 'count' takes 1 argument, got 0" },
		{ "count 1 2\n", "t.conf:1: 'count' takes 1 argument, got 2" },
		{ "count 101\n", "t.conf:1: 'count' needs an integer from 1 to 100, got '101'" },
		{ "count -1\n", "t.conf:1: 'count' needs an integer from 1 to 100, got '-1'" },
		{ "count 5x\n", "t.conf:1: 'count' needs an integer from 1 to 100, got '5x'" },
		{ "\n\nflag maybe\n", "t.conf:3: 'flag' needs true or false, got 'maybe'" },
		{ "wait 2 s\n", "t.conf:1: 'wait' takes 1 argument, got 2" },
		{ "wait 2d\n", "t.conf:1: 'wait' needs a duration" },
		{ "wait 61s\n", "t.conf:1: 'wait' needs a duration" },
		{ "topic +\n", "t.conf:1: want '#'" },
		{ "topic\n", "t.conf:1: 'topic' takes 1 to 3 arguments, got 0" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sample s = { 0 };
		char err[CONF_ERR_LEN] = "";

		assert_int_not_equal(conf_parse_string("t.conf", cases[i].text, kws, &s, 0, err), 0);
		if (strncmp(err, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: got '%s', want prefix '%s'", i, err, cases[i].want);
		free(s.name);
	}
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/mqlb-test-conf-XXXXXX";
	char err[CONF_ERR_LEN] = "";
	struct sample s = { 0 };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "count 7\n\0count 8\n", 17), 17);
	close(fd);
	assert_int_equal(conf_parse_file(path, kws, &s, 0, err), -EINVAL);
	assert_non_null(strstr(err, "NUL byte"));
	unlink(path);
	assert_int_equal(conf_parse_file("/nonexistent/x.conf", kws, &s, 0, err), -ENOENT);
	assert_string_equal(err, "/nonexistent/x.conf: No such file or directory");
}

static void test_values(void **state)
{
	uint64_t ms;
	uint32_t v;
	bool b;

	assert_int_equal(conf_parse_duration_ms("1s", &ms), 0);
	assert_int_equal(ms, 1000);
	assert_int_equal(conf_parse_duration_ms("10m", &ms), 0);
	assert_int_equal(ms, 600000);
	assert_int_equal(conf_parse_duration_ms("2h", &ms), 0);
	assert_int_equal(ms, 7200000);
	assert_int_equal(conf_parse_duration_ms("3", &ms), 0);
	assert_int_equal(ms, 3000);
	assert_int_equal(conf_parse_duration_ms("", &ms), -EINVAL);
	assert_int_equal(conf_parse_duration_ms("ms", &ms), -EINVAL);
	assert_int_equal(conf_parse_duration_ms("99999999999s", &ms), -ERANGE);
	assert_int_equal(conf_parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(conf_parse_u32("4294967296", 0, UINT32_MAX, &v), -ERANGE);
	assert_int_equal(conf_parse_u32(" 1", 0, 9, &v), -EINVAL);
	assert_int_equal(conf_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(conf_parse_bool("On", &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_comments), cmocka_unit_test(test_split_too_many),
		cmocka_unit_test(test_parse_ok),       cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_file),     cmocka_unit_test(test_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

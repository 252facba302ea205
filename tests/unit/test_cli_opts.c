// SPDX-License-Identifier: GPL-2.0
/* mqlb's global options anywhere on the line, and verb options left to their verb. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli_opts.h"

#define MAXARGS 16

struct run {
	int argc;
	char *argv[MAXARGS + 1];
	struct cli_global_opts g;
	char err[128];
	int ret;
};

/* Parse a NULL-terminated list; r->argv is what is left. */
static void parse(struct run *r, ...)
{
	va_list ap;
	char *a;

	memset(r, 0, sizeof(*r));
	r->argv[r->argc++] = (char *)"mqlb";
	va_start(ap, r);
	while ((a = va_arg(ap, char *)) && r->argc < MAXARGS)
		r->argv[r->argc++] = a;
	va_end(ap);
	r->ret = cli_take_global_opts(&r->argc, r->argv, &r->g, r->err, sizeof(r->err));
}

/* The rest, joined with spaces, for compact comparisons. */
static const char *rest(const struct run *r)
{
	static char buf[256];
	int i;

	buf[0] = '\0';
	for (i = 1; i < r->argc; i++) {
		if (i > 1)
			strcat(buf, " ");
		strcat(buf, r->argv[i]);
	}
	return buf;
}

static void test_anywhere(void **state)
{
	struct run r;

	parse(&r, "backend", "show", "-j", NULL);
	assert_int_equal(r.ret, 0);
	assert_true(r.g.json);
	assert_string_equal(rest(&r), "backend show");

	parse(&r, "-p", "backend", "show", "b1", NULL);
	assert_true(r.g.json && r.g.pretty);
	assert_string_equal(rest(&r), "backend show b1");

	parse(&r, "backend", "--pin-path", "/run/x/bpf", "show", "--control=/run/x.sock", NULL);
	assert_int_equal(r.ret, 0);
	assert_string_equal(r.g.pin_path, "/run/x/bpf");
	assert_string_equal(r.g.control, "/run/x.sock");
	assert_string_equal(rest(&r), "backend show");

	parse(&r, "flow", "show", "-jp", NULL);
	assert_true(r.g.json && r.g.pretty);
	assert_string_equal(rest(&r), "flow show");

	/* long names by unique prefix, as getopt_long takes them */
	parse(&r, "stats", "show", "--js", "--pin=/p", NULL);
	assert_int_equal(r.ret, 0);
	assert_true(r.g.json);
	assert_string_equal(r.g.pin_path, "/p");

	parse(&r, "backend", "show", "--version", NULL);
	assert_true(r.g.version);
	parse(&r, "-h", NULL);
	assert_true(r.g.help);
	assert_int_equal(r.argc, 1);
	assert_null(r.argv[1]);
}

static void test_verb_options_stay(void **state)
{
	struct run r;

	parse(&r, "stats", "watch", "-i", "2", "-c", "5", NULL);
	assert_int_equal(r.ret, 0);
	assert_string_equal(rest(&r), "stats watch -i 2 -c 5");

	parse(&r, "stats", "watch", "-j", "-i", "0.5", "--pin-path", "/p", "-c", "3", NULL);
	assert_int_equal(r.ret, 0);
	assert_true(r.g.json);
	assert_string_equal(r.g.pin_path, "/p");
	assert_string_equal(rest(&r), "stats watch -i 0.5 -c 3");

	/* "--" ends the options: a backend may be called "-j" */
	parse(&r, "backend", "del", "--", "-j", NULL);
	assert_int_equal(r.ret, 0);
	assert_false(r.g.json);
	assert_string_equal(rest(&r), "backend del -j");
}

static void test_refusals(void **state)
{
	struct run r;

	parse(&r, "-x", "backend", "show", NULL);
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.err, "option '-x' is unknown, try 'mqlb help'");

	parse(&r, "--frobnicate", "backend", NULL);
	assert_int_equal(r.ret, -EINVAL);

	parse(&r, "backend", "show", "--pin-path", NULL);
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.err, "option '--pin-path' needs a value");

	parse(&r, "backend", "show", "--control=", NULL);
	assert_int_equal(r.ret, -EINVAL);

	parse(&r, "--p", "backend", NULL); /* pretty or pin-path */
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.err, "option '--p' is ambiguous");

	parse(&r, "--json=yes", "backend", NULL);
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.err, "option '--json' takes no value");

	/* after the object, an unknown option is the verb's to judge */
	parse(&r, "stats", "watch", "-z", NULL);
	assert_int_equal(r.ret, 0);
	assert_string_equal(rest(&r), "stats watch -z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anywhere),
		cmocka_unit_test(test_verb_options_stay),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

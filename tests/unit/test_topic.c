// SPDX-License-Identifier: GPL-2.0
/* Topic name/filter validation and matching tables (MQTT 3.1.1 section 4.7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "broker.h"

static void test_names(void **state)
{
	static const struct {
		const char *t;
		bool ok;
	} cases[] = {
		{ "a", true },	     { "a/b/c", true }, { "/", true },	   { "/a", true },
		{ "a/", true },	     { "a//b", true },	{ "$SYS/x", true }, { " ", true },
		{ "", false },	     { "a/+", false },	{ "#", false },	   { "a/#", false },
		{ "a+b", false },    { "+", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (topic_name_valid(cases[i].t, strlen(cases[i].t)) != cases[i].ok)
			fail_msg("name '%s': expected %d", cases[i].t, cases[i].ok);
}

static void test_filters(void **state)
{
	static const struct {
		const char *f;
		bool ok;
	} cases[] = {
		{ "#", true },	      { "+", true },	    { "a/#", true },	{ "a/+/b", true },
		{ "+/+", true },      { "/+", true },	    { "+/", true },	{ "a//#", true },
		{ "$SYS/#", true },   { "a", true },	    { "", false },	{ "a#", false },
		{ "a/#/b", false },   { "a/b#", false },    { "a+", false },	{ "a/+b", false },
		{ "#/a", false },     { "##", false },	    { "++", false },	{ "a/b+/c", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (topic_filter_valid(cases[i].f, strlen(cases[i].f)) != cases[i].ok)
			fail_msg("filter '%s': expected %d", cases[i].f, cases[i].ok);
}

static const struct {
	const char *f, *t;
	bool match;
} match_cases[] = {
	{ "a/b", "a/b", true },
	{ "a/b", "a/c", false },
	{ "a/b", "a/b/c", false },
	{ "a/b/c", "a/b", false },
	{ "a/+", "a/b", true },
	{ "a/+", "a/", true },
	{ "a/+", "a", false },
	{ "a/+", "a/b/c", false },
	{ "+/+", "/", true },
	{ "+", "/", false },
	{ "/+", "/a", true },
	{ "+/b", "a/b", true },
	{ "#", "a", true },
	{ "#", "a/b/c", true },
	{ "#", "/", true },
	{ "a/#", "a", true },	/* [MQTT-4.7.1-2]: also the parent level */
	{ "a/#", "a/b", true },
	{ "a/#", "a/b/c", true },
	{ "a/#", "ab", false },
	{ "a/b/#", "a", false },
	{ "a/+/#", "a/b", true },
	{ "a/+/#", "a", false },
	{ "+/#", "a", true },
	{ "#", "$SYS/x", false },	/* [MQTT-4.7.2-1] */
	{ "+/x", "$SYS/x", false },
	{ "+", "$SYS", false },
	{ "$SYS/#", "$SYS/x", true },
	{ "$SYS/+", "$SYS/x", true },
	{ "a/$x", "a/$x", true },
	{ "a/+", "a/$x", true },	/* only the first level is special */
	{ "a//b", "a//b", true },
	{ "a/+/b", "a//b", true },
	{ "A", "a", false },		/* case sensitive */
};

static void test_matches(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const char *f = match_cases[i].f, *t = match_cases[i].t;

		if (topic_matches(f, strlen(f), t, strlen(t)) != match_cases[i].match)
			fail_msg("'%s' vs '%s': expected %d", f, t, match_cases[i].match);
	}
}

/* The tree matcher (subs.c) must agree with the reference matcher on the same table. */
static void test_tree_agrees(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const char *f = match_cases[i].f, *t = match_cases[i].t;
		struct session s = { 0 };
		struct match_ctx mc = { 0 };
		struct topic_tree tree;
		int n;

		assert_int_equal(tree_init(&tree, NULL), 0);
		assert_int_equal(sub_add(&tree, &s, f, strlen(f), 1), 1);
		n = sub_match(&tree, &mc, t, strlen(t));
		if ((n == 1) != match_cases[i].match)
			fail_msg("tree: '%s' vs '%s': expected %d, got %d", f, t,
				 match_cases[i].match, n);
		sub_remove_all(&tree, &s);
		assert_int_equal(tree.nnodes, 0);
		tree_free(&tree);
		free(mc.v);
	}
}

static char *seps(size_t n)
{
	char *t = malloc(n + 1);

	assert_non_null(t);
	memset(t, '/', n);
	t[n] = '\0';
	return t;
}

/* Mosquitto's limit: 200 separators; the tree refuses deeper paths whatever the caller. */
static void test_depth_limit(void **state)
{
	char *ok = seps(BROKER_TOPIC_MAX_SEPARATORS), *deep = seps(BROKER_TOPIC_MAX_SEPARATORS + 1);
	struct topic_tree tree;

	assert_true(topic_name_valid(ok, strlen(ok)));
	assert_true(topic_filter_valid(ok, strlen(ok)));
	assert_false(topic_name_valid(deep, strlen(deep)));
	assert_false(topic_filter_valid(deep, strlen(deep)));
	assert_int_equal(tree_init(&tree, NULL), 0);
	assert_non_null(tree_get(&tree, ok, strlen(ok), true));
	assert_null(tree_get(&tree, deep, strlen(deep), true));
	tree_free(&tree);
	free(ok);
	free(deep);
}

static void test_sys_denied(void **state)
{
	assert_true(topic_sys_denied("$SYS", 4));
	assert_true(topic_sys_denied("$SYS/broker/version", 19));
	assert_true(topic_sys_denied("$SYSTEM/x", 9));
	assert_true(topic_sys_denied("$SYS/broker/connection/a/b/state", 32));
	assert_false(topic_sys_denied("$SYS/broker/connection/br.b1/state", 34));
	assert_false(topic_sys_denied("$share/x", 8));
	assert_false(topic_sys_denied("SYS/x", 5));
	assert_false(topic_sys_denied("$SY", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_tree_agrees),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_sys_denied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

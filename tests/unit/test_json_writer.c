// SPDX-License-Identifier: GPL-2.0
/* The streaming JSON writer: nesting, commas, escaping, pretty printing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json_writer.h"

struct buf {
	char *data;
	size_t len;
	FILE *f;
};

static json_writer_t *open_buf(struct buf *b)
{
	json_writer_t *w;

	b->data = NULL;
	b->f = open_memstream(&b->data, &b->len);
	assert_non_null(b->f);
	w = jsonw_new(b->f);
	assert_non_null(w);
	return w;
}

/* Destroys the writer and returns the text (caller frees). */
static char *close_buf(struct buf *b, json_writer_t **w)
{
	jsonw_destroy(w);
	assert_null(*w);
	fclose(b->f);
	return b->data;
}

static void test_nesting_and_commas(void **state)
{
	struct buf b;
	json_writer_t *w = open_buf(&b);
	char *out;

	jsonw_start_object(w);
	jsonw_string_field(w, "name", "b1");
	jsonw_uint_field(w, "big", UINT64_MAX);
	jsonw_int_field(w, "neg", -5);
	jsonw_bool_field(w, "t", true);
	jsonw_null_field(w, "n");
	jsonw_name(w, "list");
	jsonw_start_array(w);
	jsonw_uint(w, 1);
	jsonw_start_object(w);
	jsonw_end_object(w);
	jsonw_start_array(w);
	jsonw_end_array(w);
	jsonw_string(w, NULL);
	jsonw_end_array(w);
	jsonw_float_field(w, "f", 0.5);
	jsonw_end_object(w);
	out = close_buf(&b, &w);
	assert_string_equal(out, "{\"name\":\"b1\",\"big\":18446744073709551615,\"neg\":-5,"
				 "\"t\":true,\"n\":null,\"list\":[1,{},[],null],\"f\":0.5}\n");
	free(out);
}

static void test_escaping(void **state)
{
	struct buf b;
	json_writer_t *w = open_buf(&b);
	char *out;

	jsonw_start_object(w);
	jsonw_string_field(w, "q\"k", "a\"b\\c\n\t\r\b\f\x01\x1f\x7f/é");
	jsonw_end_object(w);
	out = close_buf(&b, &w);
	assert_string_equal(out,
			    "{\"q\\\"k\":\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f/é\"}\n");
	free(out);
}

static void test_pretty(void **state)
{
	struct buf b;
	json_writer_t *w = open_buf(&b);
	char *out;

	jsonw_pretty(w, true);
	jsonw_start_array(w);
	jsonw_start_object(w);
	jsonw_uint_field(w, "a", 1);
	jsonw_name(w, "e");
	jsonw_start_array(w);
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_end_array(w);
	out = close_buf(&b, &w);
	assert_string_equal(out, "[\n    {\n        \"a\": 1,\n        \"e\": []\n    }\n]\n");
	free(out);
}

/* An error path that returns early still leaves valid JSON behind. */
static void test_destroy_closes_open_containers(void **state)
{
	struct buf b;
	json_writer_t *w = open_buf(&b);
	char *out;

	jsonw_start_array(w);
	jsonw_start_object(w);
	jsonw_string_field(w, "k", "v");
	out = close_buf(&b, &w);
	assert_string_equal(out, "[{\"k\":\"v\"}]\n");
	free(out);
}

static void test_non_finite_float(void **state)
{
	struct buf b;
	json_writer_t *w = open_buf(&b);
	char *out;

	jsonw_start_array(w);
	jsonw_float(w, 1.0 / 0.0);
	jsonw_printf(w, "%d", 7);
	jsonw_end_array(w);
	out = close_buf(&b, &w);
	assert_string_equal(out, "[null,7]\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nesting_and_commas),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_pretty),
	    cmocka_unit_test(test_destroy_closes_open_containers),
	    cmocka_unit_test(test_non_finite_float),
	};

	return cmocka_run_group_tests_name("json_writer", tests, NULL, NULL);
}

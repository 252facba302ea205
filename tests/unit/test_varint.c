// SPDX-License-Identifier: GPL-2.0
/* Remaining-length varint (MQTT 3.1.1 section 2.2.3) and fixed-header edges. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mqtt_codec.h"

static const struct {
	uint32_t value;
	int len;
	uint8_t bytes[4];
} edges[] = {
	{ 0, 1, { 0x00 } },
	{ 127, 1, { 0x7f } },
	{ 128, 2, { 0x80, 0x01 } },
	{ 16383, 2, { 0xff, 0x7f } },
	{ 16384, 3, { 0x80, 0x80, 0x01 } },
	{ 2097151, 3, { 0xff, 0xff, 0x7f } },
	{ 2097152, 4, { 0x80, 0x80, 0x80, 0x01 } },
	{ 268435455, 4, { 0xff, 0xff, 0xff, 0x7f } },
};

static void test_encode_edges(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		uint8_t buf[4] = { 0 };

		assert_int_equal(mqtt_varint_size(edges[i].value), edges[i].len);
		assert_int_equal(mqtt_varint_encode(buf, edges[i].value), edges[i].len);
		assert_memory_equal(buf, edges[i].bytes, (size_t)edges[i].len);
	}
}

static void test_decode_edges(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		uint32_t v = 0xdeadbeef;
		int k;

		assert_int_equal(mqtt_varint_decode(edges[i].bytes, (size_t)edges[i].len, &v),
				 edges[i].len);
		assert_int_equal(v, edges[i].value);
		/* Every strict prefix is incomplete, not wrong. */
		for (k = 0; k < edges[i].len; k++)
			assert_int_equal(mqtt_varint_decode(edges[i].bytes, (size_t)k, &v), -EAGAIN);
	}
}

static void test_too_large(void **state)
{
	uint8_t buf[4];

	assert_int_equal(mqtt_varint_size(268435456), -EINVAL);
	assert_int_equal(mqtt_varint_encode(buf, 268435456), -EINVAL);
	assert_int_equal(mqtt_varint_encode(buf, UINT32_MAX), -EINVAL);
}

static void test_fifth_byte(void **state)
{
	const uint8_t five[] = { 0xff, 0xff, 0xff, 0xff, 0x7f };
	const uint8_t four_cont[] = { 0x80, 0x80, 0x80, 0x80 };
	uint32_t v;

	assert_int_equal(mqtt_varint_decode(five, sizeof(five), &v), -EBADMSG);
	/* A 4th byte with its continuation bit is already invalid, whatever follows. */
	assert_int_equal(mqtt_varint_decode(four_cont, sizeof(four_cont), &v), -EBADMSG);
}

static void test_fixed_header(void **state)
{
	const uint8_t pub[] = { 0x30, 0x80, 0x01 };
	const uint8_t bad5[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
	uint8_t hdr;
	uint32_t rem;

	assert_int_equal(mqtt_fixed_header(pub, sizeof(pub), &hdr, &rem), 3);
	assert_int_equal(hdr, 0x30);
	assert_int_equal(rem, 128);
	assert_int_equal(mqtt_fixed_header(pub, 2, &hdr, &rem), -EAGAIN);
	assert_int_equal(mqtt_fixed_header(pub, 0, &hdr, &rem), -EAGAIN);
	assert_int_equal(mqtt_fixed_header(bad5, sizeof(bad5), &hdr, &rem), -EBADMSG);
}

static void test_fixed_header_flags(void **state)
{
	/* [MQTT-2.2.2-1]: reserved flags per type; type 0 and 15 are reserved. */
	static const struct {
		uint8_t b0;
		int ok;
	} cases[] = {
		{ 0x00, 0 }, { 0xf0, 0 }, { 0x10, 1 }, { 0x11, 0 }, { 0x20, 1 }, { 0x28, 0 },
		{ 0x30, 1 }, { 0x3b, 1 }, { 0x36, 0 }, { 0x3e, 0 }, { 0x40, 1 }, { 0x42, 0 },
		{ 0x62, 1 }, { 0x60, 0 }, { 0x82, 1 }, { 0x80, 0 }, { 0xa2, 1 }, { 0xa3, 0 },
		{ 0xc0, 1 }, { 0xc1, 0 }, { 0xe0, 1 }, { 0xe2, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[2] = { cases[i].b0, 0 };
		uint8_t hdr;
		uint32_t rem;
		int ret = mqtt_fixed_header(buf, 2, &hdr, &rem);

		if (cases[i].ok)
			assert_int_equal(ret, 2);
		else
			assert_int_equal(ret, -EBADMSG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_edges),
		cmocka_unit_test(test_decode_edges),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_fifth_byte),
		cmocka_unit_test(test_fixed_header),
		cmocka_unit_test(test_fixed_header_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

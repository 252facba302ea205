// SPDX-License-Identifier: GPL-2.0
/*
 * SipHash-2-4 against the reference vectors of the SipHash paper
 * (key 00..0f, message 00..len-1), SipHash-1-3 against Python's, and the
 * random key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "siphash.h"

static void test_vectors(void **state)
{
	static const struct {
		size_t len;
		uint64_t h;
	} v[] = {
		{ 0, 0x726fdb47dd0e0e31ULL }, { 1, 0x74f839c593dc67fdULL },
		{ 7, 0xab0200f58b01d137ULL }, { 8, 0x93f5f5799a932462ULL },
		{ 15, 0xa129ca6149be45e5ULL }, { 16, 0x3f2acc7f57c29bdbULL },
	};
	struct siphash_key k = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	uint8_t msg[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(siphash24(&k, msg, v[i].len), v[i].h);
}

/*
 * SipHash-1-3 against Python's bytes hash (siphash13 since 3.11): with
 * PYTHONHASHSEED=0 its key is all zeros, e.g.
 * PYTHONHASHSEED=0 python3 -c "print(hash(b'abcdefgh'))".
 */
static void test_vectors_13(void **state)
{
	struct siphash_key zero = { 0, 0 };
	uint8_t msg[15];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	assert_int_equal((int64_t)siphash13(&zero, "abcdefgh", 8), 4574395652268504554LL);
	assert_int_equal((int64_t)siphash13(&zero, "a", 1), 4644417185603328019LL);
	assert_int_equal((int64_t)siphash13(&zero, msg, 15), -932606700130547222LL);
}

static void test_key_changes_hash(void **state)
{
	struct siphash_key a, b;

	(void)state;
	assert_int_equal(siphash_key_random(&a), 0);
	assert_int_equal(siphash_key_random(&b), 0);
	assert_false(a.k0 == b.k0 && a.k1 == b.k1);
	assert_int_not_equal(siphash24(&a, "client-1", 8), siphash24(&b, "client-1", 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vectors_13),
		cmocka_unit_test(test_key_changes_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

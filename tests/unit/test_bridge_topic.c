// SPDX-License-Identifier: GPL-2.0
/* Bridge topic remapping as Mosquitto applies prefixes, and the reconnection backoff. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker.h"
#include "conf.h"

static void load(struct broker_conf *c, const char *text)
{
	char err[CONF_ERR_LEN] = "";

	broker_conf_init(c);
	if (broker_conf_parse_string(c, "t.conf", text, err))
		fail_msg("%s", err);
}

static const char *remap(const struct bridge_conf *bc, uint8_t dir, const char *topic)
{
	static char out[256];
	long n = bridge_remap(bc, dir, topic, strlen(topic), out, sizeof(out) - 1);

	if (n < 0)
		return n == -ENOENT ? "(none)" : "(error)";
	out[n] = '\0';
	return out;
}

static void test_remap(void **state)
{
	struct broker_conf c;
	const struct bridge_conf *bc;

	load(&c, "connection b\naddress h\n"
		 "topic sensors/# both 1 local/ remote/\n"
		 "topic \"\" in 0 a/b c/d\n"
		 "topic up/+ out 0 \"\" far/\n"
		 "topic # in 0 l/ \"\"\n");
	bc = &c.bridges[0];
	assert_string_equal(remap(bc, BRIDGE_OUT, "local/sensors/t"), "remote/sensors/t");
	assert_string_equal(remap(bc, BRIDGE_IN, "remote/sensors/t"), "local/sensors/t");
	assert_string_equal(remap(bc, BRIDGE_IN, "c/d"), "a/b");
	assert_string_equal(remap(bc, BRIDGE_OUT, "a/b"), "(none)"); /* 'in' only */
	assert_string_equal(remap(bc, BRIDGE_OUT, "up/x"), "far/up/x");
	assert_string_equal(remap(bc, BRIDGE_IN, "far/up/x"), "l/far/up/x"); /* 'out' only: '#' */
	assert_string_equal(remap(bc, BRIDGE_IN, "anything"), "l/anything");
	assert_string_equal(remap(bc, BRIDGE_OUT, "sensors/t"), "(none)");
	/* "local/sensors/#" matches "local/sensors" too: the prefix still comes off. */
	assert_string_equal(remap(bc, BRIDGE_OUT, "local/sensors"), "remote/sensors");
	broker_conf_free(&c);
}

static void test_remap_short_match(void **state)
{
	struct broker_conf c;

	/* "p/#" matches "p", which does not start with the prefix "p/": not remapped. */
	load(&c, "connection b\naddress h\ntopic # out 0 p/ q/\n");
	assert_string_equal(remap(&c.bridges[0], BRIDGE_OUT, "p"), "(none)");
	assert_string_equal(remap(&c.bridges[0], BRIDGE_OUT, "p/x"), "q/x");
	broker_conf_free(&c);
}

static void test_remap_too_long(void **state)
{
	struct broker_conf c;
	char out[8];

	load(&c, "connection b\naddress h\ntopic # out 0 a/ longer/prefix/\n");
	assert_int_equal(bridge_remap(&c.bridges[0], BRIDGE_OUT, "a/x", 3, out, sizeof(out)),
			 -ENAMETOOLONG);
	broker_conf_free(&c);
}

static void test_backoff(void **state)
{
	struct broker_conf c;
	unsigned int seed = 1;
	uint32_t a;
	int k;

	load(&c, "connection b\naddress h\ntopic #\nrestart_timeout 2 30\n"
		 "connection k\naddress h\ntopic #\nrestart_timeout 5\n");
	/* Attempt 0: the base exactly; then within [base, min(cap, base * 2^n)]. */
	assert_int_equal(bridge_backoff_ms(&c.bridges[0], 0, &seed), 2000);
	for (a = 1; a < 10; a++) {
		uint64_t hi = 2000ull << a;

		if (hi > 30000)
			hi = 30000;
		for (k = 0; k < 50; k++) {
			uint64_t d = bridge_backoff_ms(&c.bridges[0], a, &seed);

			assert_true(d >= 2000 && d <= hi);
		}
	}
	/* Jittered: not every delay is the same. */
	assert_true(bridge_backoff_ms(&c.bridges[0], 8, &seed) !=
			    bridge_backoff_ms(&c.bridges[0], 8, &seed) ||
		    bridge_backoff_ms(&c.bridges[0], 8, &seed) !=
			    bridge_backoff_ms(&c.bridges[0], 8, &seed));
	/* One value: constant. */
	for (a = 0; a < 10; a++)
		assert_int_equal(bridge_backoff_ms(&c.bridges[1], a, &seed), 5000);
	broker_conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remap),
		cmocka_unit_test(test_remap_short_match),
		cmocka_unit_test(test_remap_too_long),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

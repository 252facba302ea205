// SPDX-License-Identifier: GPL-2.0
/* Address parsing and formatting. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "netutil.h"

static void test_parse_ok(void **state)
{
	struct sockaddr_in sa;
	char buf[NET_ADDRSTR_LEN];

	assert_int_equal(net_parse_ipv4_port("10.0.2.11:1883", 0, &sa), 0);
	assert_int_equal(ntohs(sa.sin_port), 1883);
	assert_string_equal(net_fmt_ipv4_port(sa.sin_addr.s_addr, sa.sin_port, buf, sizeof(buf)),
			    "10.0.2.11:1883");
	assert_int_equal(net_parse_ipv4_port("127.0.0.1", 1883, &sa), 0);
	assert_int_equal(ntohs(sa.sin_port), 1883);
	assert_int_equal(net_parse_ipv4_port("255.255.255.255:65535", 0, &sa), 0);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"10.0.2.11",	   /* no port and no default */
		"10.0.2.11:",	   "10.0.2.11:0",     "10.0.2.11:65536", "10.0.2.11:-1",
		"10.0.2.11:18x",   "10.0.2:1883",     "host:1883",	 ":1883",
		"10.0.2.300:1883", "1.2.3.4.5:1",     "",		 "::1:1883",
		"01234567890123456789.1.1.1:1",
	};
	struct sockaddr_in sa;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (net_parse_ipv4_port(bad[i], 0, &sa) == 0)
			fail_msg("accepted '%s'", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

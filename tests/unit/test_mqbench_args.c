// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench's option parsing, its address fence (only loopback and the test
 * bed's 10.201.0.0/16 may receive load) and the nearest-rank percentiles
 * that every latency it reports goes through.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "mqbench.h"

#define ARGV(...) ((char *[]){ "mqbench", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "mqbench", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, ...) mqb_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), err, sizeof(err))

static char err[256];

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void test_fence(void **state)
{
	/* without --i-own-this-target: loopback only */
	assert_true(mqb_addr_allowed(ip("127.0.0.1"), false));
	assert_true(mqb_addr_allowed(ip("127.255.255.254"), false));
	assert_false(mqb_addr_allowed(ip("10.201.1.1"), false));
	assert_false(mqb_addr_allowed(ip("128.0.0.1"), false));
	assert_false(mqb_addr_allowed(ip("8.8.8.8"), false));
	assert_false(mqb_addr_allowed(ip("0.0.0.0"), false));
	assert_false(mqb_addr_allowed(ip("192.168.1.1"), false));
	/* with it: whatever the operator named */
	assert_true(mqb_addr_allowed(ip("10.201.1.1"), true));
	assert_true(mqb_addr_allowed(ip("192.168.1.1"), true));
	assert_true(mqb_addr_allowed(ip("127.0.0.1"), true));
}

static void test_addr_lists(void **state)
{
	struct mqb_addrs l;

	assert_int_equal(mqb_parse_addrs("10.201.2.11,10.201.2.12:1884", 1883, true, true, &l, err,
					 sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(ntohs(l.a[0].sin_port), 1883);
	assert_int_equal(ntohs(l.a[1].sin_port), 1884);
	assert_int_equal(l.a[1].sin_addr.s_addr, ip("10.201.2.12").s_addr);

	assert_int_equal(mqb_parse_addrs("127.0.0.1,1.2.3.4", 1883, true, false, &l, err,
					 sizeof(err)), -EPERM);
	assert_string_equal(err, "refusing 1.2.3.4: without --i-own-this-target, load goes only "
				 "to 127.0.0.0/8");
	assert_int_equal(mqb_parse_addrs("127.0.0.1:0", 1883, true, true, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(mqb_parse_addrs("127.0.0.1:65536", 1883, true, true, &l, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(mqb_parse_addrs("127.0.0.1:x", 1883, true, true, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(mqb_parse_addrs("localhost", 1883, true, true, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(mqb_parse_addrs(",", 1883, true, true, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(mqb_parse_addrs("", 1883, true, true, &l, err, sizeof(err)), -EINVAL);
	/* source addresses take no port */
	assert_int_equal(mqb_parse_addrs("10.201.1.10:5", 0, false, true, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(mqb_parse_addrs("10.201.1.10,10.201.1.20", 0, false, true, &l, err, sizeof(err)),
			 0);
	assert_int_equal(l.a[1].sin_port, 0);
	/* more than MQB_MAX_ADDRS */
	assert_int_equal(mqb_parse_addrs("127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,"
					 "127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9,127.0.0.10,"
					 "127.0.0.11,127.0.0.12,127.0.0.13,127.0.0.14,127.0.0.15,"
					 "127.0.0.16,127.0.0.17", 1883, true, true, &l, err, sizeof(err)),
			 -EINVAL);
}

static void test_args_ok(void **state)
{
	struct mqb_opts o;

	assert_int_equal(PARSE(&o, "seed"), 0);
	assert_int_equal(o.scenario, MQB_SEED);
	assert_int_equal(o.n, 100);
	assert_int_equal(o.m, 800);
	assert_string_equal(o.topic, "kuliah");
	assert_int_equal(o.sub.n, 1);
	assert_int_equal(o.sub.a[0].sin_addr.s_addr, ip("127.0.0.1").s_addr);

	assert_int_equal(PARSE(&o, "seed", "--i-own-this-target", "--sub-target", "10.201.1.1:1883",
			       "--pub-target", "10.201.2.11", "-n", "10", "-m", "20", "-q", "1", "-j",
			       "--src", "10.201.1.10,10.201.1.20"), 0);
	assert_int_equal(o.n, 10);
	assert_int_equal(o.m, 20);
	assert_int_equal(o.qos, 1);
	assert_true(o.json);
	assert_int_equal(o.pub.a[0].sin_addr.s_addr, ip("10.201.2.11").s_addr);
	assert_int_equal(ntohs(o.pub.a[0].sin_port), 1883);
	assert_int_equal(o.src.n, 2);

	/* options may come before the scenario */
	assert_int_equal(PARSE(&o, "-d", "2", "-W", "0.5", "-r", "1000", "conn-rate"), 0);
	assert_int_equal(o.scenario, MQB_CONN_RATE);
	assert_true(o.duration == 2.0 && o.warmup == 0.5 && o.rate == 1000.0);
	assert_int_equal(o.n, 1000000);

	assert_int_equal(PARSE(&o, "idle", "-P", "1", "-c", "500", "--bpf-prog", "3,4"), 0);
	assert_int_equal(o.c, 500);
	assert_int_equal(o.nbpf, 2);
	assert_int_equal(o.bpf_ids[1], 4);
	assert_int_equal(PARSE(&o, "fanout", "--cpu-pid", "7", "--cpu-pids", "1,2,3"), 0);
	assert_int_equal(o.cpu_pid, 7);
	assert_int_equal(o.npids, 3);
	assert_int_equal(o.pids[2], 3);
	assert_int_equal(PARSE(&o, "fanout", "-h"), 1);
}

static void test_args_bad(void **state)
{
	struct mqb_opts o;

	assert_int_equal(mqb_parse_args(1, ARGV(NULL), &o, err, sizeof(err)), -EINVAL);
	assert_int_equal(PARSE(&o, "bogus"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "fanout"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "-q", "2"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "-q", "1x"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "-s", "15"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "-n", "0"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "-n", "1.5"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "-n", "9501"), -EINVAL);	/* 19,002 sockets */
	assert_int_equal(PARSE(&o, "p2p", "-d", "nan"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "-d", "10", "-t", "10"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "--nope"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "-t"), -EINVAL);
	assert_int_equal(PARSE(&o, "idle"), -EINVAL);		/* needs -P */
	assert_int_equal(PARSE(&o, "seed", "--topic", "a/#"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "--bpf-prog", "1,x"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "--cpu-pids", "1,,0"), -EINVAL);
	assert_int_equal(PARSE(&o, "p2p", "--cpu-pids",
			       "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"), -EINVAL);
	/* refused addresses are -EPERM, whichever option carries them */
	assert_int_equal(PARSE(&o, "p2p", "-T", "192.168.0.1"), -EPERM);
	assert_int_equal(PARSE(&o, "seed", "--pub-target", "8.8.8.8:1883"), -EPERM);
	assert_int_equal(PARSE(&o, "seed", "--sub-target", "127.0.0.1,172.16.0.1"), -EPERM);
	assert_non_null(strstr(err, "refusing 172.16.0.1"));
	assert_int_equal(PARSE(&o, "conn-rate", "-T", "10.201.1.1"), -EPERM);
}

/* --i-own-this-target: the operator names any target; source addresses are never fenced. */
static void test_own_target(void **state)
{
	struct mqb_opts o;

	assert_int_equal(PARSE(&o, "conn-rate", "--i-own-this-target", "-T", "192.0.2.10:1883"), 0);
	assert_true(o.own_target);
	assert_int_equal(o.sub.a[0].sin_addr.s_addr, ip("192.0.2.10").s_addr);
	assert_int_equal(PARSE(&o, "seed", "--sub-target", "198.51.100.1", "--pub-target",
			       "198.51.100.2:1884", "--i-own-this-target"), 0);
	assert_int_equal(ntohs(o.pub.a[0].sin_port), 1884);
	assert_int_equal(PARSE(&o, "conn-rate", "--src", "192.0.2.99"), 0);
	assert_false(o.own_target);
	assert_int_equal(PARSE(&o, "conn-rate", "-V"), 2);
	assert_int_equal(PARSE(&o, "conn-rate", "--version"), 2);
}

static void test_percentile(void **state)
{
	uint32_t v[100], one = 7, ten[10] = { 9, 1, 8, 2, 7, 3, 6, 4, 5, 10 };
	uint32_t i;

	assert_int_equal(mqb_percentile(NULL, 0, 50), 0);
	assert_int_equal(mqb_percentile(&one, 1, 50), 7);
	assert_int_equal(mqb_percentile(&one, 1, 99), 7);
	for (i = 0; i < 100; i++)
		v[i] = 100 - i;
	mqb_sort_u32(v, 100);
	assert_int_equal(v[0], 1);
	assert_int_equal(mqb_percentile(v, 100, 50), 50);
	assert_int_equal(mqb_percentile(v, 100, 99), 99);
	assert_int_equal(mqb_percentile(v, 100, 100), 100);
	assert_int_equal(mqb_percentile(v, 100, 0.5), 1);
	mqb_sort_u32(ten, 10);
	assert_int_equal(mqb_percentile(ten, 10, 50), 5);
	assert_int_equal(mqb_percentile(ten, 10, 99), 10);	/* rank 9.9 rounds up */
	assert_int_equal(mqb_percentile(ten, 10, 90), 9);
	assert_int_equal(mqb_percentile(ten, 10, 91), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fence),
		cmocka_unit_test(test_addr_lists),
		cmocka_unit_test(test_args_ok),
		cmocka_unit_test(test_args_bad),
		cmocka_unit_test(test_own_target),
		cmocka_unit_test(test_percentile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/* mqlbd.conf: the documented example loads; every bad line is refused with FILE:LINE: reason. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static const char good[] = "vip 10.0.1.1:1883           # address:port the clients connect to\n"
			   "interface veth-cli\n"
			   "backend-interface veth-brk  # where the brokers are\n"
			   "mode fullnat\n"
			   "snat 10.0.2.1\n"
			   "snat-ports 20000-29999\n"
			   "balance roundrobin\n"
			   "backend b1 10.0.2.11:1883\n"
			   "backend b2 10.0.2.12:1883 weight 3\n"
			   "backend b3 10.0.2.13 disabled\n"
			   "health mqtt interval 2s timeout 300ms rise 3 fall 4\n"
			   "on-down keep\n"
			   "control /run/mqlb-test/ctl.sock\n"
			   "persist yes\n"
			   "stats 127.0.0.1:9000 admin:s3cret:x\n"
			   "xdp-mode generic\n"
			   "pin-path /run/mqlb-test/bpf\n"
			   "flow-table-size 1024\n"
			   "idle-timeout 30m\n"
			   "syn-timeout 3s\n"
			   "close-timeout 500ms\n"
			   "fin-wait-timeout 30s\n"
			   "close-wait-timeout 20s\n"
			   "limit-per-source 100\n"
			   "rate-per-source 50/s\n";

static void test_good(void **state)
{
	struct mqlbd_config c;
	char err[CONF_ERR_LEN] = "";

	config_init(&c);
	assert_int_equal(config_load_string(&c, "good.conf", good, err), 0);
	assert_int_equal(c.vip.sin_addr.s_addr, inet_addr("10.0.1.1"));
	assert_int_equal(ntohs(c.vip.sin_port), 1883);
	assert_string_equal(c.ifname, "veth-cli");
	assert_string_equal(config_backend_ifname(&c), "veth-brk");
	assert_int_equal(c.snat.s_addr, inet_addr("10.0.2.1"));
	assert_int_equal(c.snat_port_min, 20000);
	assert_int_equal(c.snat_port_max, 29999);
	assert_int_equal(c.nbackends, 3);
	assert_int_equal(c.backends[1].weight, 3);
	assert_true(c.backends[2].disabled);
	assert_int_equal(ntohs(c.backends[2].addr.sin_port), 1883);
	assert_int_equal(c.xdp_mode, XDP_ATTACH_GENERIC);
	assert_string_equal(c.pin_path, "/run/mqlb-test/bpf");
	assert_int_equal(c.flow_table_size, 1024);
	assert_int_equal(c.idle_timeout_ms, 30 * 60 * 1000);
	assert_int_equal(c.syn_timeout_ms, 3000);
	assert_int_equal(c.close_timeout_ms, 500);
	assert_int_equal(c.fin_wait_timeout_ms, 30000);
	assert_int_equal(c.close_wait_timeout_ms, 20000);
	assert_int_equal(c.limit_per_source, 100);
	assert_int_equal(c.rate_per_source, 50);
	assert_int_equal(c.health.kind, HEALTH_MQTT);
	assert_int_equal(c.health.interval_ms, 2000);
	assert_int_equal(c.health.timeout_ms, 300);
	assert_int_equal(c.health.rise, 3);
	assert_int_equal(c.health.fall, 4);
	assert_true(c.on_down_keep);
	assert_true(c.persist);
	assert_string_equal(c.control, "/run/mqlb-test/ctl.sock");
	assert_string_equal(c.stats_addr, "127.0.0.1:9000");
	assert_string_equal(c.stats_user, "admin");
	assert_string_equal(c.stats_password, "s3cret:x"); /* the first ':' splits */
	assert_int_equal(c.balance, BALANCE_ROUNDROBIN);
	assert_false(config_delayed_binding(&c));
	config_free(&c);
}

static void test_defaults(void **state)
{
	struct mqlbd_config c;
	char err[CONF_ERR_LEN] = "";

	config_init(&c);
	assert_int_equal(config_load_string(&c, "d.conf", "vip 10.0.1.1\ninterface eth0\n", err), 0);
	assert_string_equal(config_backend_ifname(&c), "eth0");
	assert_string_equal(c.pin_path, MQLB_PIN_DEFAULT);
	assert_int_equal(c.flow_table_size, MQLB_DEFAULT_FLOWS);
	assert_true(c.flow_table_size >= 262144);
	assert_int_equal(c.idle_timeout_ms, 600000);
	assert_int_equal(c.xdp_mode, XDP_ATTACH_AUTO);
	assert_int_equal(c.snat_port_max, CONF_DEFAULT_SNAT_PORT_MAX);
	assert_true(c.snat_port_max < 32768); /* below Linux's default ephemeral range */
	/* the documented defaults (mqlbd.conf(5)): mqtt, 1s, 500ms, 2, 2; reset on down; control socket */
	assert_int_equal(c.health.kind, HEALTH_MQTT);
	assert_int_equal(c.health.interval_ms, 1000);
	assert_int_equal(c.health.timeout_ms, 500);
	assert_int_equal(c.health.rise, 2);
	assert_int_equal(c.health.fall, 2);
	assert_false(c.on_down_keep);
	assert_false(c.persist);
	assert_string_equal(c.control, "/run/mqlb/mqlbd.sock");
	/* conntrack's half-closed timeouts; no per-source limits unless asked */
	assert_int_equal(c.fin_wait_timeout_ms, 120000);
	assert_int_equal(c.close_wait_timeout_ms, 60000);
	assert_int_equal(c.limit_per_source, 0);
	assert_int_equal(c.rate_per_source, 0);
	config_free(&c);
}

/* balance client-id and a PROXY v2 backend both ask for delayed binding; the seed takes hex. */
static void test_client_id(void **state)
{
	static const char text[] = "vip 10.0.1.1\ninterface eth0\n"
				   "balance client-id\nhash-seed 0xfeedface12345678\n"
				   "backend b1 10.0.2.11\nbackend b2 10.0.2.12 weight 2 proxy-v2\n";
	struct mqlbd_config c;
	char err[CONF_ERR_LEN] = "";

	config_init(&c);
	assert_int_equal(config_load_string(&c, "c.conf", text, err), 0);
	assert_int_equal(c.balance, BALANCE_CLIENT_ID);
	assert_true(c.hash_seed == 0xfeedface12345678ULL);
	assert_false(c.backends[0].proxy_v2);
	assert_true(c.backends[1].proxy_v2);
	assert_int_equal(c.backends[1].weight, 2);
	assert_true(config_delayed_binding(&c));
	config_free(&c);

	/* round robin with one PROXY v2 backend still binds late: the header goes first */
	config_init(&c);
	assert_int_equal(config_load_string(&c, "p.conf",
					    "vip 10.0.1.1\ninterface eth0\n"
					    "backend b1 10.0.2.11 proxy-v2\n", err), 0);
	assert_int_equal(c.balance, BALANCE_ROUNDROBIN);
	assert_int_equal(c.hash_seed, 0);
	assert_true(config_delayed_binding(&c));
	config_free(&c);
}

struct bad_case {
	const char *text;
	const char *want;
};

#define BASE "vip 10.0.1.1:1883\ninterface eth0\n"

static void test_bad(void **state)
{
	static const struct bad_case cases[] = {
		{ "interface eth0\n", "bad.conf: missing 'vip'" },
		{ "vip 10.0.1.1\n", "bad.conf: missing 'interface'" },
		{ BASE "frobnicate 1\n", "bad.conf:3: unknown directive 'frobnicate'" },
		{ "vip 10.0.1:1883\n", "bad.conf:1: 'vip' needs IPV4[:PORT], got '10.0.1:1883'" },
		{ "vip 10.0.1.1:99999\n", "bad.conf:1: 'vip' needs IPV4[:PORT]" },
		{ BASE "backend b1 10.0.2.300:1883\n", "bad.conf:3: backend 'b1': bad address" },
		{ BASE "backend b1 10.0.2.11:1883\nbackend b1 10.0.2.12:1883\n",
		  "bad.conf:4: duplicate backend 'b1' (first defined on line 3)" },
		{ BASE "backend b1 10.0.2.11:1883\nbackend b2 10.0.2.11:1883\n",
		  "bad.conf:4: backend 'b2' has the same address as 'b1' (line 3)" },
		{ BASE "backend b1 10.0.2.11:1883 weight 0\n", "bad.conf:3: backend 'b1': weight must be" },
		{ BASE "backend b1 10.0.2.11:1883 weight 257\n", "bad.conf:3: backend 'b1': weight must be" },
		{ BASE "backend b1 10.0.2.11:1883 weight\n", "bad.conf:3: backend 'b1': unknown option 'weight'" },
		{ BASE "backend b1 10.0.2.11:1883 heavy\n", "bad.conf:3: backend 'b1': unknown option 'heavy'" },
		{ BASE "backend b/1 10.0.2.11:1883\n", "bad.conf:3: backend name 'b/1'" },
		{ BASE "backend\n", "bad.conf:3: 'backend' takes 2 to 6 arguments, got 0" },
		{ BASE "mode dsr\n", "bad.conf:3: 'mode' needs fullnat or dnat, got 'dsr'" },
		{ BASE "mode dnat\n", "bad.conf:3: mode 'dnat' is not implemented yet" },
		{ BASE "balance leastconn\n", "bad.conf:3: 'balance' needs roundrobin or client-id, got 'leastconn'" },
		{ BASE "hash-seed -1\n", "bad.conf:3: 'hash-seed' needs a 64-bit number" },
		{ BASE "hash-seed 0x1g\n", "bad.conf:3: 'hash-seed' needs a 64-bit number" },
		{ BASE "hash-seed 18446744073709551616\n", "bad.conf:3: 'hash-seed' needs a 64-bit number" },
		{ BASE "hash-seed\n", "bad.conf:3: 'hash-seed' takes 1 argument" },
		{ BASE "backend b1 10.0.2.11:1883 proxy-v1\n", "bad.conf:3: backend 'b1': unknown option 'proxy-v1' (weight N | disabled | proxy-v2)" },
		{ BASE "snat 10.0.2\n", "bad.conf:3: 'snat' needs an IPv4 address" },
		{ BASE "snat 10.0.1.1\n", "bad.conf: 'snat' must differ from the VIP's address" },
		{ BASE "snat-ports 30000-20000\n", "bad.conf:3: 'snat-ports' needs LOW-HIGH" },
		{ BASE "snat-ports 80-2000\n", "bad.conf:3: 'snat-ports' needs LOW-HIGH" },
		{ BASE "snat-ports 20000\n", "bad.conf:3: 'snat-ports' needs LOW-HIGH" },
		{ BASE "xdp-mode offload\n", "bad.conf:3: 'xdp-mode' needs auto, native or generic" },
		{ BASE "pin-path relative/dir\n", "bad.conf:3: 'pin-path' needs an absolute path" },
		{ BASE "interface waytoolonginterfacename\n", "bad.conf:3: 'interface' needs an interface name" },
		{ BASE "flow-table-size 10\n", "bad.conf:3: 'flow-table-size' needs an integer from 64" },
		{ BASE "idle-timeout forever\n", "bad.conf:3: 'idle-timeout' needs a duration" },
		{ BASE "health ping\n", "bad.conf:3: 'health' needs mqtt, tcp or none" },
		{ BASE "health mqtt interval\n", "bad.conf:3: health: 'interval' needs a value" },
		{ BASE "health mqtt interval 5ms\n", "bad.conf:3: health: interval needs a duration" },
		{ BASE "health tcp rise 0\n", "bad.conf:3: health: rise needs an integer from 1 to 100" },
		{ BASE "health tcp fall x\n", "bad.conf:3: health: fall needs an integer" },
		{ BASE "health tcp jitter 1\n", "bad.conf:3: health: unknown option 'jitter'" },
		{ BASE "health mqtt interval 1s timeout 2s\n",
		  "bad.conf:3: health: timeout 2000ms is longer than interval 1000ms" },
		{ BASE "on-down drop\n", "bad.conf:3: 'on-down' needs reset or keep" },
		{ BASE "control relative.sock\n", "bad.conf:3: 'control' needs an absolute path" },
		{ BASE "persist maybe\n", "bad.conf:3: 'persist' needs true or false" },
		{ BASE "stats 127.0.0.1\n", "bad.conf:3: 'stats' needs IPV4:PORT" },
		{ BASE "stats 127.0.0.1:9000 admin\n", "bad.conf:3: 'stats' credentials must be user:password" },
		{ BASE "stats 127.0.0.1:9000 :pw\n", "bad.conf:3: 'stats' credentials must be user:password" },
		{ BASE "strict maybe\n", "bad.conf:3: " },
		{ BASE "rate-per-source fast\n", "bad.conf:3: 'rate-per-source' needs new flows a second" },
		{ BASE "rate-per-source 10/m\n", "bad.conf:3: 'rate-per-source' needs new flows a second" },
		{ BASE "rate-per-source -5\n", "bad.conf:3: 'rate-per-source' needs new flows a second" },
		{ BASE "limit-per-source many\n", "bad.conf:3: 'limit-per-source' needs an integer" },
		{ BASE "fin-wait-timeout 0\n", "bad.conf:3: 'fin-wait-timeout' needs a duration" },
		{ BASE "close-wait-timeout 2d\n", "bad.conf:3: 'close-wait-timeout' needs a duration" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mqlbd_config c;
		char err[CONF_ERR_LEN] = "";

		config_init(&c);
		assert_int_not_equal(config_load_string(&c, "bad.conf", cases[i].text, err), 0);
		if (strncmp(err, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: got '%s', want prefix '%s'", i, err, cases[i].want);
		config_free(&c);
	}
}

static void test_too_many_backends(void **state)
{
	size_t cap = (MQLB_MAX_BACKENDS + 4) * 48 + 64;
	char *text = malloc(cap), err[CONF_ERR_LEN] = "";
	struct mqlbd_config *c = malloc(sizeof(*c));
	size_t off;
	int i;

	assert_non_null(text);
	assert_non_null(c);
	off = (size_t)snprintf(text, cap, BASE);
	for (i = 0; i <= MQLB_MAX_BACKENDS; i++)
		off += (size_t)snprintf(text + off, cap - off, "backend b%d 10.0.%d.%d:1883\n", i,
					i / 200, i % 200 + 1);
	config_init(c);
	assert_int_not_equal(config_load_string(c, "big.conf", text, err), 0);
	assert_non_null(strstr(err, "too many backends"));
	assert_non_null(strstr(err, ":259:"));
	config_free(c);
	free(c);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_client_id),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_too_many_backends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/* The bridge block of mqbroker.conf: every directive, defaults, and every error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker.h"
#include "conf.h"

static void test_full(void **state)
{
	const char *text =
		"listener 1883\n"
		"connection b1\n"
		"address 10.0.0.1:1884 host.example broker3:2000\n"
		"topic # both 1\n"
		"topic sensors/# out 2 local/ remote/\n"
		"topic \"\" in 0 a/b c/d\n"
		"topic x/+ in 1 \"\" up/\n"
		"restart_timeout 2 60\n"
		"notifications false\n"
		"notification_topic bridges/b1\n"
		"cleansession true\n"
		"try_private false\n"
		"bridge_protocol_version mqttv31\n"
		"remote_clientid rid\n"
		"bridge_attempt_unsubscribe false\n"
		"remote_username ru\n"
		"remote_password rp\n"
		"keepalive_interval 10\n"
		"start_type automatic\n"
		"max_queued_messages 7\n"
		"connection b2\n"
		"address 127.0.0.1\n"
		"restart_timeout 9\n"
		"topic in/# in\n";
	struct broker_conf c;
	struct bridge_conf *b;
	char err[CONF_ERR_LEN] = "";

	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "t.conf", text, err))
		fail_msg("%s", err);
	assert_int_equal(c.nbridges, 2);
	assert_int_equal(c.max_queued_messages, 7); /* global even inside a block */
	b = &c.bridges[0];
	assert_string_equal(b->name, "b1");
	assert_int_equal(b->naddrs, 3);
	assert_string_equal(b->addrs[0].host, "10.0.0.1");
	assert_int_equal(b->addrs[0].port, 1884);
	assert_string_equal(b->addrs[1].host, "host.example");
	assert_int_equal(b->addrs[1].port, 1883);
	assert_int_equal(b->addrs[2].port, 2000);
	assert_int_equal(b->ntopics, 4);
	assert_string_equal(b->topics[0].local, "#");
	assert_string_equal(b->topics[0].remote, "#");
	assert_int_equal(b->topics[0].dir, BRIDGE_BOTH);
	assert_int_equal(b->topics[0].qos, 1);
	assert_string_equal(b->topics[1].local, "local/sensors/#");
	assert_string_equal(b->topics[1].remote, "remote/sensors/#");
	assert_string_equal(b->topics[1].local_prefix, "local/");
	assert_int_equal(b->topics[1].dir, BRIDGE_OUT);
	assert_int_equal(b->topics[1].qos, 2);
	assert_string_equal(b->topics[2].local, "a/b");
	assert_string_equal(b->topics[2].remote, "c/d");
	assert_int_equal(b->topics[2].dir, BRIDGE_IN);
	assert_string_equal(b->topics[3].local, "x/+");
	assert_string_equal(b->topics[3].remote, "up/x/+");
	assert_int_equal(b->restart_base_s, 2);
	assert_int_equal(b->restart_cap_s, 60);
	assert_false(b->notifications);
	assert_string_equal(b->notification_topic, "bridges/b1");
	assert_true(b->cleansession);
	assert_false(b->try_private);
	assert_int_equal(b->protocol_level, MQTT_PROTO_V31);
	assert_string_equal(b->remote_clientid, "rid");
	assert_string_equal(b->remote_username, "ru");
	assert_string_equal(b->remote_password, "rp");
	assert_int_equal(b->keepalive_s, 10);
	assert_false(b->attempt_unsubscribe);
	b = &c.bridges[1];
	assert_int_equal(b->restart_base_s, 9);
	assert_int_equal(b->restart_cap_s, 9);
	broker_conf_free(&c);
}

static void test_defaults(void **state)
{
	struct broker_conf c;
	struct bridge_conf *b;
	char err[CONF_ERR_LEN] = "";

	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "d.conf", "connection x\naddress h\ntopic a\n", err))
		fail_msg("%s", err);
	b = &c.bridges[0];
	assert_int_equal(b->restart_base_s, 5);
	assert_int_equal(b->restart_cap_s, 30);
	assert_true(b->notifications);
	assert_null(b->notification_topic);
	assert_false(b->cleansession);
	assert_true(b->try_private);
	assert_int_equal(b->protocol_level, MQTT_PROTO_V311);
	assert_null(b->remote_clientid);
	assert_int_equal(b->keepalive_s, 60);
	assert_true(b->attempt_unsubscribe);
	assert_int_equal(b->topics[0].dir, BRIDGE_OUT);
	assert_int_equal(b->topics[0].qos, 0);
	broker_conf_free(&c);
}

/* Figure 5.8 of the study, address changed to loopback. */
static void test_study_file(void **state)
{
	struct broker_conf c;
	char err[CONF_ERR_LEN] = "";

	broker_conf_init(&c);
	if (broker_conf_parse_file(&c, "broker/study-bridge.conf.example", err))
		fail_msg("%s", err);
	assert_int_equal(c.nbridges, 1);
	assert_string_equal(c.bridges[0].name, "bridge-to-broker3");
	assert_int_equal(c.bridges[0].ntopics, 2);
	assert_int_equal(c.bridges[0].topics[0].dir, BRIDGE_OUT);
	assert_int_equal(c.bridges[0].topics[1].dir, BRIDGE_IN);
	assert_int_equal(c.bridges[0].restart_base_s, 5);
	assert_int_equal(c.bridges[0].restart_cap_s, 5);
	broker_conf_free(&c);
}

#define C "connection b\naddress h\n"

static const struct {
	const char *text;
	const char *err;
} errors[] = {
	{ "address h\n", "b.conf:1: 'address' outside a connection block" },
	{ "topic #\n", "b.conf:1: 'topic' outside a connection block" },
	{ "try_private true\n", "b.conf:1: 'try_private' outside a connection block" },
	{ "connection\n", "b.conf:1: 'connection' takes 1 argument, got 0" },
	{ "connection a b\n", "b.conf:1: 'connection' takes 1 argument, got 2" },
	{ C "connection b\n", "b.conf:3: duplicate connection 'b'" },
	{ "\nconnection b\ntopic #\n", "b.conf:2: connection 'b' has no address" },
	{ "\nconnection b\naddress h\n", "b.conf:2: connection 'b' has no topic" },
	{ "connection a\naddress h\ntopic #\nconnection b\naddress h\nmax_queued_messages 5\n",
	  "b.conf:4: connection 'b' has no topic" },
	{ C "address\n", "b.conf:3: 'address' takes 1 to 8 arguments, got 0" },
	{ C "address :1883\n", "b.conf:3: invalid bridge address ':1883' (HOST[:PORT])" },
	{ C "address h:0\n", "b.conf:3: invalid bridge address 'h:0' (HOST[:PORT])" },
	{ C "address h:x\n", "b.conf:3: invalid bridge address 'h:x' (HOST[:PORT])" },
	{ C "address b c d e f g h i\n", "b.conf:3: too many bridge addresses (at most 8)" },
	{ C "topic\n", "b.conf:3: 'topic' takes 1 to 5 arguments, got 0" },
	{ C "topic # sideways\n",
	  "b.conf:3: bridge topic direction must be in, out or both, got 'sideways'" },
	{ C "topic # in 3\n", "b.conf:3: bridge topic QoS must be 0, 1 or 2, got '3'" },
	{ C "topic # in 1 a/\n", "b.conf:3: bridge topic needs both a local and a remote prefix" },
	{ C "topic # in 1 a/+ b/\n", "b.conf:3: bridge topic prefix must not contain wildcards" },
	{ C "topic # in 1 a/ b/#\n", "b.conf:3: bridge topic prefix must not contain wildcards" },
	{ C "topic \"\" in 1\n", "b.conf:3: empty bridge topic needs a local and a remote prefix" },
	{ C "topic \"\" in 1 a \"\"\n",
	  "b.conf:3: empty bridge topic needs a local and a remote prefix" },
	{ C "topic a/#/b\n", "b.conf:3: invalid bridge topic 'a/#/b'" },
	{ C "topic # in 0 a b c\n", "b.conf:3: 'topic' takes 1 to 5 arguments, got 6" },
	{ C "restart_timeout\n", "b.conf:3: 'restart_timeout' takes 1 to 2 arguments, got 0" },
	{ C "restart_timeout 0\n", "b.conf:3: 'restart_timeout' needs seconds from 1 to 86400" },
	{ C "restart_timeout 5 x\n", "b.conf:3: 'restart_timeout' needs seconds from 1 to 86400" },
	{ C "restart_timeout 10 5\n", "b.conf:3: 'restart_timeout' cap 5 is below its base 10" },
	{ C "notifications maybe\n", "b.conf:3: 'notifications' needs true or false, got 'maybe'" },
	{ C "notification_topic\n", "b.conf:3: 'notification_topic' takes 1 argument, got 0" },
	{ C "cleansession 2\n", "b.conf:3: 'cleansession' needs true or false, got '2'" },
	{ C "try_private\n", "b.conf:3: 'try_private' takes 1 argument, got 0" },
	{ C "bridge_protocol_version mqttv5\n",
	  "b.conf:3: 'bridge_protocol_version' must be mqttv31 or mqttv311, got 'mqttv5'" },
	{ C "remote_clientid\n", "b.conf:3: 'remote_clientid' takes 1 argument, got 0" },
	{ C "remote_username a b\n", "b.conf:3: 'remote_username' takes 1 argument, got 2" },
	{ C "remote_password\n", "b.conf:3: 'remote_password' takes 1 argument, got 0" },
	{ C "keepalive_interval 4\n",
	  "b.conf:3: 'keepalive_interval' needs seconds from 5 to 65535, got '4'" },
	{ C "start_type lazy\n", "b.conf:3: 'start_type lazy' is not supported (only automatic)" },
	{ C "start_type once\n", "b.conf:3: 'start_type once' is not supported (only automatic)" },
	{ C "local_clientid x\n", "b.conf:3: 'local_clientid' is not supported yet" },
	{ C "bridge_attempt_unsubscribe sure\n",
	  "b.conf:3: 'bridge_attempt_unsubscribe' needs true or false, got 'sure'" },
};

static void test_errors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct broker_conf c;
		char err[CONF_ERR_LEN] = "";

		broker_conf_init(&c);
		if (!broker_conf_parse_string(&c, "b.conf", errors[i].text, err))
			fail_msg("accepted: %s", errors[i].text);
		if (strcmp(err, errors[i].err))
			fail_msg("'%s': got '%s', want '%s'", errors[i].text, err, errors[i].err);
		broker_conf_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_study_file),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

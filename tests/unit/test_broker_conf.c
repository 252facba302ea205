// SPDX-License-Identifier: GPL-2.0
/* mqbroker.conf parsing: every directive, and every error with its file:line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "broker.h"
#include "conf.h"

static void test_full(void **state)
{
	const char *text =
		"# comment\n"
		"listener 1883\n"
		"listener 1884 127.0.0.1\n"
		"\n"
		"allow_anonymous false\n"
		"password_file /etc/mosquitto/passwd\n"
		"max_connections 100\n"
		"max_inflight_messages 5\n"
		"max_queued_messages 50\n"
		"message_size_limit 1024\n"
		"persistent_client_expiration 2h\n"
		"sys_interval 3\n"
		"log_dest stdout\n"
		"log_dest file /tmp/x.log\n"
		"log_type error\n"
		"log_type subscribe\n"
		"connection_messages false\n"
		"log_timestamp false\n"
		"set_tcp_nodelay true\n"
		"user nobody\n"
		"pid_file /tmp/mqbroker.pid\n"
		"persistence false\n"
		"max_inflight_bytes 100000\n"
		"max_queued_bytes 2000000\n"
		"max_packet_size 20\n"
		"max_keepalive 120\n"
		"memory_limit 1073741824\n"
		"bridge_user b1\n"
		"bridge_user b2\n"
		"upgrade_outgoing_qos true\n"
		"acl_file /etc/mosquitto/acl\n"
		"check_retain_source true\n"
		"retain_available false\n"
		"queue_qos0_messages true\n"
		"persistence true\n"
		"persistence_location /var/lib/mosquitto/\n"
		"persistence_file m.db\n"
		"autosave_interval 60\n"
		"autosave_on_changes true\n";
	struct broker_conf c;
	char err[CONF_ERR_LEN] = "";

	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "t.conf", text, err))
		fail_msg("%s", err);
	assert_int_equal(c.nlisteners, 2);
	assert_int_equal(c.listeners[0].port, 1883);
	assert_null(c.listeners[0].host);
	assert_string_equal(c.listeners[1].host, "127.0.0.1");
	assert_false(c.has_def);
	assert_false(c.sec.allow_anonymous);
	assert_string_equal(c.sec.password_file, "/etc/mosquitto/passwd");
	assert_int_equal(c.max_connections, 100);
	assert_int_equal(c.max_inflight_messages, 5);
	assert_int_equal(c.max_queued_messages, 50);
	assert_int_equal(c.message_size_limit, 1024);
	assert_int_equal(c.persistent_client_expiration_s, 7200);
	assert_int_equal(c.sys_interval, 3);
	assert_int_equal(c.log_dest, LOGD_STDOUT | LOGD_FILE);
	assert_string_equal(c.log_file, "/tmp/x.log");
	assert_int_equal(c.log_type, LOGT_ERROR | LOGT_SUBSCRIBE);
	assert_false(c.connection_messages);
	assert_false(c.log_timestamp);
	assert_true(c.set_tcp_nodelay);
	assert_string_equal(c.user, "nobody");
	assert_string_equal(c.pid_file, "/tmp/mqbroker.pid");
	assert_int_equal(c.max_inflight_bytes, 100000);
	assert_int_equal(c.max_queued_bytes, 2000000);
	assert_int_equal(c.max_packet_size, 20);
	assert_true(c.max_keepalive_set);
	assert_int_equal(c.max_keepalive, 120);
	assert_int_equal(c.memory_limit, 1073741824ull);
	assert_int_equal(c.nbridge_users, 2);
	assert_string_equal(c.bridge_users[1], "b2");
	assert_true(c.upgrade_outgoing_qos);
	assert_string_equal(c.sec.acl_file, "/etc/mosquitto/acl");
	assert_true(c.check_retain_source);
	assert_false(c.retain_available);
	assert_true(c.queue_qos0_messages);
	assert_true(c.persistence);
	assert_string_equal(c.persistence_location, "/var/lib/mosquitto/");
	assert_string_equal(c.persistence_file, "m.db");
	assert_int_equal(c.autosave_interval, 60);
	assert_true(c.autosave_on_changes);
	broker_conf_free(&c);
}

static void test_defaults(void **state)
{
	struct broker_conf c;
	char err[CONF_ERR_LEN];

	broker_conf_init(&c);
	assert_int_equal(broker_conf_parse_string(&c, "e.conf", "", err), 0);
	assert_int_equal(c.nlisteners, 0);
	assert_false(c.has_def);
	assert_true(c.sec.allow_anonymous);
	assert_true(c.sec.allow_zero_length_clientid);
	assert_null(c.sec.password_file);
	assert_null(c.sec.auto_id_prefix);
	assert_false(c.per_listener_settings);
	assert_int_equal(c.max_connections, -1);
	assert_int_equal(c.max_inflight_messages, 20);
	assert_int_equal(c.max_queued_messages, 1000);
	assert_int_equal(c.sys_interval, 10);
	/* Mosquitto 2.0's defaults: no byte limits, no packet size, no memory limit. */
	assert_int_equal(c.max_inflight_bytes, 0);
	assert_int_equal(c.max_queued_bytes, 0);
	assert_int_equal(c.max_packet_size, 0);
	assert_false(c.max_keepalive_set);
	assert_int_equal(c.memory_limit, 0);
	assert_int_equal(c.nbridge_users, 0);
	assert_false(c.upgrade_outgoing_qos);
	assert_null(c.sec.acl_file);
	assert_false(c.check_retain_source);
	assert_true(c.retain_available);
	assert_false(c.queue_qos0_messages);
	assert_false(c.persistence);
	assert_int_equal(c.autosave_interval, 1800);
	assert_false(c.autosave_on_changes);
	assert_int_equal(broker_conf_parse_string(&c, "e.conf", "max_connections -1\nport 1999\n"
					"bind_address 127.0.0.1\npersistent_client_expiration 1y\n", err), 0);
	assert_int_equal(c.max_connections, -1);
	assert_true(c.has_def && c.def.port == 1999);
	assert_string_equal(c.def.host, "127.0.0.1");
	assert_int_equal(c.persistent_client_expiration_s, 365ull * 86400);
	broker_conf_free(&c);
}

static const struct {
	const char *text;
	const char *err; /* expected message, file:line included */
} errors[] = {
	{ "foo 1\n", "b.conf:1: unknown directive 'foo'" },
	{ "\n\nlistener\n", "b.conf:3: 'listener' takes 1 to 2 arguments, got 0" },
	{ "listener 0\n", "b.conf:1: invalid port '0' (1 to 65535)" },
	{ "listener 65536\n", "b.conf:1: invalid port '65536' (1 to 65535)" },
	{ "listener 1883 1.2.3\n", "b.conf:1: invalid address '1.2.3'" },
	{ "listener 1883 a_b\n",
	  "b.conf:1: invalid address 'a_b' (an IPv4 or IPv6 address, or a host name)" },
	{ "listener 1883\nlistener 1883\n", "b.conf:2: duplicate listener 1883" },
	{ "listener 1883 ::1\nlistener 1883 ::1\n", "b.conf:2: duplicate listener 1883 ::1" },
	{ "socket_domain ipv5\n", "b.conf:1: 'socket_domain' needs ipv4 or ipv6, got 'ipv5'" },
	{ "listener 1883\nenable_proxy_protocol 1\n",
	  "b.conf:2: 'enable_proxy_protocol 1' is not supported (only 2, the binary header)" },
	{ "listener 1883\nenable_proxy_protocol yes\n",
	  "b.conf:2: 'enable_proxy_protocol' needs 2, got 'yes'" },
	{ "listener 1883\nlistener_allow_anonymous perhaps\n",
	  "b.conf:2: 'listener_allow_anonymous' needs true or false, got 'perhaps'" },
	{ "protocol websockets\n", "b.conf:1: 'protocol websockets' is not supported (only mqtt)" },
	{ "allow_anonymous true\nper_listener_settings true\n",
	  "b.conf:2: per_listener_settings must be set before any other security settings" },
	{ "per_listener_settings true\nallow_anonymous false\nlistener 1883\n",
	  "b.conf:2: with per_listener_settings true, security options before any 'listener' belong to the default listener, which no 'port' or 'bind_address' opens" },
	{ "per_listener_settings true\nlistener 1\nlistener 2\nbridge_user b\n",
	  "b.conf: bridge_user 'b' needs a password_file to authenticate against" },
	{ "allow_zero_length_clientid 3\n",
	  "b.conf:1: 'allow_zero_length_clientid' needs true or false, got '3'" },
	{ "auto_id_prefix a\nauto_id_prefix b\n", "b.conf:2: duplicate 'auto_id_prefix' (already 'a')" },
	/* Mosquitto's directives mqbroker does not implement: refused by name. */
	{ "listener 1883\nmount_point x/\n", "b.conf:2: 'mount_point' is not supported" },
	{ "auth_plugin /usr/lib/x.so\n", "b.conf:1: 'auth_plugin' is not supported" },
	{ "plugin_opt_db x\n", "b.conf:1: 'plugin_opt_db' is not supported (no plugins)" },
	{ "auth_opt_db x\n", "b.conf:1: 'auth_opt_db' is not supported (no plugins)" },
	{ "connection b\naddress h\ntopic #\nidle_timeout 5\n",
	  "b.conf:4: 'idle_timeout' is not supported" },
	{ "psk_hint x\n", "b.conf:1: 'psk_hint' is not supported" },
	{ "retry_interval 20\n", "b.conf:1: 'retry_interval' is not supported" },
	{ "include_dir /nonexistent/conf.d\n",
	  "b.conf:1: include_dir '/nonexistent/conf.d': No such file or directory" },
	{ "listener 1 2 3\n", "b.conf:1: 'listener' takes 1 to 2 arguments, got 3" },
	{ "allow_anonymous maybe\n", "b.conf:1: 'allow_anonymous' needs true or false, got 'maybe'" },
	{ "password_file\n", "b.conf:1: 'password_file' takes 1 argument, got 0" },
	{ "password_file /a /b\n", "b.conf:1: 'password_file' takes 1 argument, got 2" },
	{ "password_file /a\nallow_anonymous true\npassword_file /b\n",
	  "b.conf:3: duplicate 'password_file' (already '/a')" },
	{ "max_connections -2\n", "b.conf:1: 'max_connections' needs -1 or a count, got '-2'" },
	{ "max_inflight_messages 70000\n",
	  "b.conf:1: 'max_inflight_messages' needs an integer from 0 to 65535, got '70000'" },
	{ "max_queued_messages x\n",
	  "b.conf:1: 'max_queued_messages' needs an integer from 0 to 4294967295, got 'x'" },
	{ "message_size_limit 268435456\n",
	  "b.conf:1: 'message_size_limit' needs an integer from 0 to 268435455, got '268435456'" },
	{ "persistent_client_expiration 5s\n",
	  "b.conf:1: 'persistent_client_expiration' needs a period such as 2h, 14d, 1w, 6m or 1y, got '5s'" },
	{ "sys_interval 1d\n", "b.conf:1: 'sys_interval' needs an integer from 0 to 86400, got '1d'" },
	{ "log_dest paper\n",
	  "b.conf:1: unknown log_dest 'paper' (stderr, stdout, syslog, topic, file PATH, none)" },
	{ "log_dest file\n", "b.conf:1: 'log_dest file' needs a path" },
	{ "log_dest stdout x\n", "b.conf:1: 'log_dest stdout' takes no argument" },
	{ "log_type loud\n", "b.conf:1: unknown log_type 'loud'" },
	{ "connection_messages 2\n", "b.conf:1: 'connection_messages' needs true or false, got '2'" },
	{ "log_timestamp\n", "b.conf:1: 'log_timestamp' takes 1 argument, got 0" },
	{ "set_tcp_nodelay yes please\n", "b.conf:1: 'set_tcp_nodelay' takes 1 argument, got 2" },
	{ "user\n", "b.conf:1: 'user' takes 1 argument, got 0" },
	{ "autosave_interval -1\n",
	  "b.conf:1: 'autosave_interval' needs an integer from 0 to 2147483647, got '-1'" },
	{ "autosave_on_changes maybe\n",
	  "b.conf:1: 'autosave_on_changes' needs true or false, got 'maybe'" },
	{ "persistence sometimes\n", "b.conf:1: 'persistence' needs true or false, got 'sometimes'" },
	{ "address 10.0.0.1:1883\n", "b.conf:1: 'address' outside a connection block" },
	{ "topic # out 0\n", "b.conf:1: 'topic' outside a connection block" },
	{ "port 1883 1884\n", "b.conf:1: 'port' takes 1 argument, got 2" },
	{ "bind_address 1.2.3.4.5\n", "b.conf:1: invalid address '1.2.3.4.5'" },
	{ "max_packet_size 19\n",
	  "b.conf:1: 'max_packet_size' needs an integer from 20 to 268435456, got '19'" },
	{ "max_keepalive 65536\n",
	  "b.conf:1: 'max_keepalive' needs an integer from 0 to 65535, got '65536'" },
	{ "max_queued_bytes -1\n",
	  "b.conf:1: 'max_queued_bytes' needs an integer from 0 to 1125899906842624, got '-1'" },
	{ "max_inflight_bytes lots\n",
	  "b.conf:1: 'max_inflight_bytes' needs an integer from 0 to 1125899906842624, got 'lots'" },
	{ "memory_limit 1G\n",
	  "b.conf:1: 'memory_limit' needs an integer from 0 to 1125899906842624, got '1G'" },
	{ "bridge_user b1\n",
	  "b.conf: bridge_user 'b1' needs a password_file to authenticate against" },
	{ "password_file p\nbridge_user b1\nbridge_user b1\n",
	  "b.conf:3: duplicate bridge_user 'b1'" },
	/* TLS: what cannot work together is refused with the listener's line. */
	{ "listener 1\n\nlistener 8883\nkeyfile k\n",
	  "b.conf:3: listener 8883: certfile and keyfile go together" },
	{ "listener 8883\ncafile ca\n",
	  "b.conf:1: listener 8883: TLS options without certfile and keyfile" },
	{ "listener 8883\ncertfile c\nkeyfile k\ntls_version tlsv1\n",
	  "b.conf:1: listener 8883: tls_version must be tlsv1.3, tlsv1.2 or tlsv1.1" },
	{ "listener 8883\ncertfile c\nkeyfile k\nrequire_certificate true\n",
	  "b.conf:1: listener 8883: client certificates (require_certificate, use_*_as_username) need cafile or capath" },
	{ "listener 8883\ncertfile c\nkeyfile k\ncrlfile r\n",
	  "b.conf:1: listener 8883: crlfile needs cafile or capath" },
	{ "listener 8883\ncertfile c\nkeyfile k\ncafile a\nuse_identity_as_username true\n"
	  "use_subject_as_username true\n",
	  "b.conf:1: listener 8883: use_identity_as_username and use_subject_as_username exclude each other" },
	{ "listener 8883\ncertfile c\nkeyfile k\nenable_proxy_protocol 2\n",
	  "b.conf:1: listener 8883: TLS with enable_proxy_protocol 2 is not supported" },
	{ "certfile c\n", "b.conf:0: listener 1883: certfile and keyfile go together" },
	{ "listener 8883\ncertfile a\ncertfile b\n", "b.conf:3: duplicate 'certfile' (already 'a')" },
	{ "listener 8883\nrequire_certificate maybe\n",
	  "b.conf:2: 'require_certificate' needs true or false, got 'maybe'" },
	{ "connection b\naddress h\ntopic #\nbridge_certfile c\nbridge_cafile a\n",
	  "b.conf:1: connection 'b': bridge_certfile and bridge_keyfile go together" },
	{ "connection b\naddress h\ntopic #\nbridge_insecure true\n",
	  "b.conf:1: connection 'b': TLS options without bridge_cafile or bridge_capath" },
	{ "connection b\naddress h\ntopic #\nbridge_cafile a\nbridge_tls_version tls1\n",
	  "b.conf:1: connection 'b': bridge_tls_version must be tlsv1.3, tlsv1.2 or tlsv1.1" },
	{ "bridge_cafile a\n", "b.conf:1: 'bridge_cafile' outside a connection block" },
	{ "tls_engine x\n", "b.conf:1: 'tls_engine' is not supported" },
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

/* Listener blocks: the directives after 'listener' are its own; IPv6; the default listener. */
static void test_listeners(void **state)
{
	const char *text =
		"socket_domain ipv4\n"
		"listener 1883 ::\n"
		"listener 1884 localhost\n"
		"socket_domain ipv6\n"
		"listener 1885 2001:db8::1\n";
	struct broker_conf c;
	char err[CONF_ERR_LEN] = "";

	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "l.conf", text, err))
		fail_msg("%s", err);
	assert_int_equal(c.nlisteners, 3);
	/* Before any 'listener': the default listener's, which is then opened on 1883. */
	assert_true(c.has_def);
	assert_int_equal(c.def.family, AF_INET);
	assert_int_equal(c.def.port, 1883);
	assert_string_equal(c.listeners[0].host, "::");
	assert_int_equal(c.listeners[0].family, AF_UNSPEC);
	assert_int_equal(c.listeners[1].family, AF_INET6);
	assert_string_equal(c.listeners[2].host, "2001:db8::1");
	assert_false(c.listeners[0].proxy_v2);
	broker_conf_free(&c);

	/* enable_proxy_protocol belongs to its block only. */
	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "l.conf", "listener 1\nlistener 2\nenable_proxy_protocol 2\n"
				     "listener 3\n", err))
		fail_msg("%s", err);
	assert_false(c.listeners[0].proxy_v2);
	assert_true(c.listeners[1].proxy_v2);
	assert_false(c.listeners[2].proxy_v2);
	assert_false(c.has_def);
	broker_conf_free(&c);

	/* listener_allow_anonymous too, whatever per_listener_settings says. */
	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "l.conf", "allow_anonymous false\nlistener 1\n"
				     "listener_allow_anonymous true\nlistener 2\nlistener 3\n"
				     "listener_allow_anonymous false\n", err))
		fail_msg("%s", err);
	assert_true(c.listeners[0].anon_set && c.listeners[0].anon);
	assert_false(c.listeners[1].anon_set);
	assert_true(c.listeners[2].anon_set && !c.listeners[2].anon);
	assert_false(c.sec.allow_anonymous);
	broker_conf_free(&c);
}

/* TLS directives: each listener block its own; bridges theirs. */
static void test_tls(void **state)
{
	const char *text =
		"listener 1883\n"
		"listener 8883 ::\n"
		"cafile /etc/ca.crt\n"
		"capath /etc/ssl/certs\n"
		"certfile /etc/s.crt\n"
		"keyfile /etc/s.key\n"
		"crlfile /etc/crl.pem\n"
		"require_certificate true\n"
		"use_identity_as_username true\n"
		"tls_version tlsv1.2\n"
		"ciphers ECDHE-ECDSA-AES128-GCM-SHA256\n"
		"ciphers_tls1.3 TLS_AES_128_GCM_SHA256\n"
		"listener 8884\n"
		"certfile /etc/s.crt\n"
		"keyfile /etc/s.key\n"
		"cafile /etc/ca.crt\n"
		"use_subject_as_username true\n"
		"connection up\n"
		"address up.example:8883\n"
		"topic # out 1\n"
		"bridge_cafile /etc/ca.crt\n"
		"bridge_capath /etc/ssl/certs\n"
		"bridge_certfile /etc/b.crt\n"
		"bridge_keyfile /etc/b.key\n"
		"bridge_insecure true\n"
		"bridge_tls_version tlsv1.3\n"
		"bridge_outgoing_retain false\n";
	struct broker_conf c;
	char err[CONF_ERR_LEN] = "";
	const struct tls_conf *t;

	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "t.conf", text, err))
		fail_msg("%s", err);
	assert_int_equal(c.nlisteners, 3);
	assert_null(c.listeners[0].tls.certfile);
	assert_false(c.listeners[0].tls.require_certificate);
	t = &c.listeners[1].tls;
	assert_string_equal(t->cafile, "/etc/ca.crt");
	assert_string_equal(t->capath, "/etc/ssl/certs");
	assert_string_equal(t->certfile, "/etc/s.crt");
	assert_string_equal(t->keyfile, "/etc/s.key");
	assert_string_equal(t->crlfile, "/etc/crl.pem");
	assert_string_equal(t->tls_version, "tlsv1.2");
	assert_string_equal(t->ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256");
	assert_string_equal(t->ciphers_tls13, "TLS_AES_128_GCM_SHA256");
	assert_true(t->require_certificate);
	assert_true(t->use_identity_as_username);
	assert_false(t->use_subject_as_username);
	t = &c.listeners[2].tls;
	assert_true(t->use_subject_as_username);
	assert_false(t->require_certificate);
	assert_null(t->crlfile);
	assert_int_equal(c.nbridges, 1);
	assert_string_equal(c.bridges[0].tls_cafile, "/etc/ca.crt");
	assert_string_equal(c.bridges[0].tls_capath, "/etc/ssl/certs");
	assert_string_equal(c.bridges[0].tls_certfile, "/etc/b.crt");
	assert_string_equal(c.bridges[0].tls_keyfile, "/etc/b.key");
	assert_string_equal(c.bridges[0].tls_version, "tlsv1.3");
	assert_true(c.bridges[0].tls_insecure);
	assert_false(c.bridges[0].outgoing_retain);
	broker_conf_free(&c);

	/* Before any 'listener': the default listener's, as in Mosquitto. */
	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "t.conf", "certfile /c\nkeyfile /k\n", err))
		fail_msg("%s", err);
	assert_true(c.has_def);
	assert_int_equal(c.def.port, 1883);
	assert_string_equal(c.def.tls.certfile, "/c");
	broker_conf_free(&c);
}

/* per_listener_settings: each block its own options; otherwise one global set. */
static void test_per_listener(void **state)
{
	const char *text =
		"per_listener_settings true\n"
		"port 1999\n"
		"allow_anonymous false\n"
		"listener 1883\n"
		"allow_zero_length_clientid false\n"
		"password_file /p1\n"
		"listener 1884\n"
		"auto_id_prefix x-\n";
	struct broker_conf c;
	char err[CONF_ERR_LEN] = "";

	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "p.conf", text, err))
		fail_msg("%s", err);
	assert_true(c.per_listener_settings);
	assert_false(c.def.sec.allow_anonymous);
	assert_true(c.sec.allow_anonymous);
	assert_false(c.listeners[0].sec.allow_zero_length_clientid);
	assert_string_equal(c.listeners[0].sec.password_file, "/p1");
	assert_true(c.listeners[1].sec.allow_anonymous);
	assert_null(c.listeners[1].sec.password_file);
	assert_string_equal(c.listeners[1].sec.auto_id_prefix, "x-");
	assert_ptr_equal(sec_conf_of(&c, &c.listeners[0]), &c.listeners[0].sec);
	assert_ptr_equal(sec_conf_of(&c, NULL), &c.sec);
	broker_conf_free(&c);

	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "g.conf",
				     "listener 1883\nallow_anonymous false\nlistener 1884\n", err))
		fail_msg("%s", err);
	/* Without per_listener_settings, a security option is global wherever it is. */
	assert_false(c.sec.allow_anonymous);
	assert_ptr_equal(sec_conf_of(&c, &c.listeners[1]), &c.sec);
	broker_conf_free(&c);
}

/* include_dir: NAME.conf files only, in Mosquitto's order, errors with their own file:line. */
static void test_include_dir(void **state)
{
	char dir[] = "/tmp/mqbroker-inc-XXXXXX", path[256], main_conf[300], err[CONF_ERR_LEN];
	static const struct {
		const char *name, *text;
	} files[] = {
		{ "b.conf", "listener 1002\n" },
		{ "A.conf", "listener 1001\n" },
		{ "a.conf", "listener 1000\n" },
		{ "README", "not a configuration\n" },
		{ ".conf", "not one either\n" },
	};
	struct broker_conf c;
	size_t i;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(files[i].text, f);
		fclose(f);
	}
	snprintf(main_conf, sizeof(main_conf), "sys_interval 5\ninclude_dir %s\n", dir);
	broker_conf_init(&c);
	if (broker_conf_parse_string(&c, "m.conf", main_conf, err))
		fail_msg("%s", err);
	/* "A.conf", "a.conf", "b.conf" */
	assert_int_equal(c.nlisteners, 3);
	assert_int_equal(c.listeners[0].port, 1001);
	assert_int_equal(c.listeners[1].port, 1000);
	assert_int_equal(c.listeners[2].port, 1002);
	broker_conf_free(&c);

	/* An error names the included file and its line, after the include_dir line. */
	snprintf(path, sizeof(path), "%s/b.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("\nmount_point x/\n", f);
	fclose(f);
	broker_conf_init(&c);
	assert_int_equal(broker_conf_parse_string(&c, "m.conf", main_conf, err), -EOPNOTSUPP);
	snprintf(main_conf, sizeof(main_conf), "m.conf:2: %s:2: 'mount_point' is not supported",
		 path);
	assert_string_equal(err, main_conf);
	broker_conf_free(&c);

	/* Only the main file may include, as in Mosquitto. */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "include_dir %s\n", dir);
	fclose(f);
	snprintf(main_conf, sizeof(main_conf), "include_dir %s\n", dir);
	broker_conf_init(&c);
	assert_int_equal(broker_conf_parse_string(&c, "m.conf", main_conf, err), -EINVAL);
	assert_non_null(strstr(err, "b.conf:1: 'include_dir' is only allowed in the main configuration file"));
	broker_conf_free(&c);

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		unlink(path);
	}
	rmdir(dir);
}

static void test_missing_file(void **state)
{
	struct broker_conf c;
	char err[CONF_ERR_LEN] = "";

	broker_conf_init(&c);
	assert_int_equal(broker_conf_parse_file(&c, "/nonexistent/mqbroker.conf", err), -ENOENT);
	assert_string_equal(err, "/nonexistent/mqbroker.conf: No such file or directory");
	broker_conf_free(&c);
}

/* The shipped example must stay valid (tests run from the repository root). */
static void test_example_file(void **state)
{
	struct broker_conf c;
	char err[CONF_ERR_LEN] = "";

	broker_conf_init(&c);
	if (broker_conf_parse_file(&c, "broker/mqbroker.conf.example", err))
		fail_msg("%s", err);
	assert_int_equal(c.nlisteners, 1);
	assert_int_equal(c.persistent_client_expiration_s, 14 * 86400);
	broker_conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_listeners),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_per_listener),
		cmocka_unit_test(test_include_dir),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_example_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

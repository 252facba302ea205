// SPDX-License-Identifier: GPL-2.0
/*
 * mqbroker.conf: Mosquitto's grammar for the directives mqbroker
 * implements, parsed from one keyword table (docs/design.md, code conventions). Anything
 * else, including a directive mqbroker does not implement yet, stops the
 * start with FILE:LINE: reason rather than being silently ignored.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "broker.h"
#include "conf.h"
#include "netutil.h"

#define OFF(f) offsetof(struct broker_conf, f)
/* Byte-count directives: far above any memory, far below overflow. */
#define CONF_MAX_BYTES (1ULL << 50)

void broker_conf_init(struct broker_conf *c)
{
	memset(c, 0, sizeof(*c));
	sec_conf_init(&c->sec);
	sec_conf_init(&c->def.sec);
	c->def.family = AF_UNSPEC;
	c->cur_listener = -1;
	c->max_connections = -1;
	c->max_inflight_messages = 20;
	c->max_queued_messages = 1000;
	c->sys_interval = 10;
	c->connection_messages = true;
	c->log_timestamp = true;
	/* Output is already coalesced per loop iteration: Nagle would only add delay. */
	c->set_tcp_nodelay = true;
	c->retain_available = true;
	c->autosave_interval = 1800; /* Mosquitto's */
}

void broker_conf_free(struct broker_conf *c)
{
	int i;

	for (i = 0; i < c->nbridge_users; i++)
		free(c->bridge_users[i]);
	free(c->bridge_users);
	c->bridge_users = NULL;
	c->nbridge_users = 0;
	for (i = 0; i < c->nlisteners; i++)
		listener_conf_free(&c->listeners[i]);
	free(c->listeners);
	c->listeners = NULL;
	c->nlisteners = 0;
	listener_conf_free(&c->def);
	sec_conf_free(&c->sec);
	free(c->log_file);
	free(c->user);
	free(c->pid_file);
	free(c->def_sec_file);
	free(c->persistence_location);
	free(c->persistence_file);
	bridge_conf_free(c);
	c->log_file = c->user = c->pid_file = c->def_sec_file = NULL;
	c->persistence_location = c->persistence_file = NULL;
}

static int kw_max_connections(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			      char *err)
{
	struct broker_conf *c = obj;
	uint32_t v;

	if (!strcmp(ln->argv[1], "-1")) {
		c->max_connections = -1;
		return 0;
	}
	if (conf_parse_u32(ln->argv[1], 0, INT32_MAX, &v)) {
		conf_reason(err, "'max_connections' needs -1 or a count, got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	c->max_connections = v;
	return 0;
}

/* Mosquitto's expiration periods: a number followed by h, d, w, m (month) or y. */
static int kw_expiration(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			 char *err)
{
	static const struct {
		char unit;
		uint64_t secs;
	} units[] = { { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
		      { 'm', 30 * 86400 }, { 'y', 365 * 86400 } };
	struct broker_conf *c = obj;
	const char *s = ln->argv[1];
	size_t n = strlen(s), i;
	uint64_t v;
	char num[24];

	if (n >= 2 && n < sizeof(num)) {
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (s[n - 1] == units[i].unit && !conf_parse_u64(num, 1, 1000000, &v)) {
				c->persistent_client_expiration_s = v * units[i].secs;
				return 0;
			}
		}
	}
	conf_reason(err, "'persistent_client_expiration' needs a period such as 2h, 14d, 1w, 6m or 1y, got '%s'",
		    s);
	return -EINVAL;
}

static int kw_log_dest(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} dests[] = { { "stderr", LOGD_STDERR }, { "stdout", LOGD_STDOUT },
		      { "syslog", LOGD_SYSLOG }, { "topic", LOGD_TOPIC },
		      { "none", LOGD_NONE }, { "file", LOGD_FILE } };
	struct broker_conf *c = obj;
	size_t i;

	for (i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
		if (strcmp(ln->argv[1], dests[i].name))
			continue;
		if (dests[i].bit == LOGD_FILE) {
			if (ln->argc != 3) {
				conf_reason(err, "'log_dest file' needs a path");
				return -EINVAL;
			}
			free(c->log_file);
			c->log_file = strdup(ln->argv[2]);
			if (!c->log_file)
				return -ENOMEM;
		} else if (ln->argc != 2) {
			conf_reason(err, "'log_dest %s' takes no argument", ln->argv[1]);
			return -EINVAL;
		}
		c->log_dest |= dests[i].bit;
		return 0;
	}
	conf_reason(err, "unknown log_dest '%s' (stderr, stdout, syslog, topic, file PATH, none)",
		    ln->argv[1]);
	return -EINVAL;
}

static int kw_log_type(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	static const struct {
		const char *name;
		unsigned int bits;
	} types[] = { { "error", LOGT_ERROR },	   { "warning", LOGT_WARNING },
		      { "notice", LOGT_NOTICE },   { "information", LOGT_INFO },
		      { "debug", LOGT_DEBUG },	   { "subscribe", LOGT_SUBSCRIBE },
		      { "unsubscribe", LOGT_UNSUBSCRIBE }, { "websockets", LOGT_WEBSOCKETS },
		      { "all", LOGT_ALL },	   { "none", 0 } };
	struct broker_conf *c = obj;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!strcmp(ln->argv[1], types[i].name)) {
			c->log_type |= types[i].bits;
			c->log_type_set = true;
			return 0;
		}
	}
	conf_reason(err, "unknown log_type '%s'", ln->argv[1]);
	return -EINVAL;
}


/* A byte count or such: kw->min..kw->max into a uint64_t field. */
static int kw_u64(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	uint64_t *field = (uint64_t *)((char *)obj + kw->off);

	if (conf_parse_u64(ln->argv[1], kw->min, kw->max, field)) {
		conf_reason(err, "'%s' needs an integer from %llu to %llu, got '%s'", kw->name,
			    (unsigned long long)kw->min, (unsigned long long)kw->max, ln->argv[1]);
		return -EINVAL;
	}
	return 0;
}

/* Set or not matters: unset lets keep-alive 0 in, as Mosquitto 2.0.11 did (handle_connect.c). */
static int kw_max_keepalive(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			    char *err)
{
	struct broker_conf *c = obj;
	int e = conf_kw_u32(obj, kw, ln, err);

	if (!e)
		c->max_keepalive_set = true;
	return e;
}

/* A password_file user whose connections with the bridge bit are trusted as bridges. */
static int kw_bridge_user(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			  char *err)
{
	struct broker_conf *c = obj;
	char **v;
	int i;

	for (i = 0; i < c->nbridge_users; i++) {
		if (!strcmp(c->bridge_users[i], ln->argv[1])) {
			conf_reason(err, "duplicate bridge_user '%s'", ln->argv[1]);
			return -EEXIST;
		}
	}
	v = realloc(c->bridge_users, (size_t)(c->nbridge_users + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->bridge_users = v;
	v[c->nbridge_users] = strdup(ln->argv[1]);
	if (!v[c->nbridge_users])
		return -ENOMEM;
	c->nbridge_users++;
	return 0;
}

/* Bridge directives go to the current 'connection' block (bridge_conf.c). */
#define BRIDGE_KW(name) { name, bridge_kw, 0, 0, CONF_MAX_ARGS - 1, 0, 0 }

#define SOFF(f) offsetof(struct sec_conf, f)
#define LOFF(f) offsetof(struct listener_conf, f)

static int kw_include_dir(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			  char *err);

/*
 * Mosquitto's 'protocol' picks what a listener speaks; mqbroker speaks
 * MQTT only, which is also the default.
 */
static int kw_protocol(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	if (strcmp(ln->argv[1], "mqtt")) {
		conf_reason(err, "'protocol %s' is not supported (only mqtt)", ln->argv[1]);
		return -EOPNOTSUPP;
	}
	return 0;
}

static const struct conf_kw broker_kws[] = {
	{ "listener", conf_kw_listener, 0, 1, 2, 0, 0 },
	{ "port", conf_kw_port, 0, 1, 1, 0, 0 },
	{ "bind_address", conf_kw_bind_address, 0, 1, 1, 0, 0 },
	{ "socket_domain", conf_kw_socket_domain, 0, 1, 1, 0, 0 },
	{ "protocol", kw_protocol, 0, 1, 1, 0, 0 },
	{ "enable_proxy_protocol", conf_kw_enable_proxy_protocol, 0, 1, 1, 0, 0 },
	{ "per_listener_settings", conf_kw_per_listener_settings, 0, 1, 1, 0, 0 },
	{ "listener_allow_anonymous", conf_kw_listener_allow_anonymous, 0, 1, 1, 0, 0 },
	/* TLS, per listener block (kw->min 1: a boolean). */
	{ "cafile", conf_kw_listener_field, LOFF(tls.cafile), 1, 1, 0, 0 },
	{ "capath", conf_kw_listener_field, LOFF(tls.capath), 1, 1, 0, 0 },
	{ "certfile", conf_kw_listener_field, LOFF(tls.certfile), 1, 1, 0, 0 },
	{ "keyfile", conf_kw_listener_field, LOFF(tls.keyfile), 1, 1, 0, 0 },
	{ "crlfile", conf_kw_listener_field, LOFF(tls.crlfile), 1, 1, 0, 0 },
	{ "ciphers", conf_kw_listener_field, LOFF(tls.ciphers), 1, 1, 0, 0 },
	{ "ciphers_tls1.3", conf_kw_listener_field, LOFF(tls.ciphers_tls13), 1, 1, 0, 0 },
	{ "tls_version", conf_kw_listener_field, LOFF(tls.tls_version), 1, 1, 0, 0 },
	{ "require_certificate", conf_kw_listener_field, LOFF(tls.require_certificate), 1, 1, 1, 0 },
	{ "use_identity_as_username", conf_kw_listener_field, LOFF(tls.use_identity_as_username),
	  1, 1, 1, 0 },
	{ "use_subject_as_username", conf_kw_listener_field, LOFF(tls.use_subject_as_username),
	  1, 1, 1, 0 },
	/* The security options: kw->min 1 for a boolean, 0 for a string. */
	{ "allow_anonymous", conf_kw_sec, SOFF(allow_anonymous), 1, 1, 1, 0 },
	{ "allow_zero_length_clientid", conf_kw_sec, SOFF(allow_zero_length_clientid), 1, 1, 1, 0 },
	{ "password_file", conf_kw_sec, SOFF(password_file), 1, 1, 0, 0 },
	{ "acl_file", conf_kw_sec, SOFF(acl_file), 1, 1, 0, 0 },
	{ "auto_id_prefix", conf_kw_sec, SOFF(auto_id_prefix), 1, 1, 0, 0 },
	{ "include_dir", kw_include_dir, 0, 1, 1, 0, 0 },
	{ "max_connections", kw_max_connections, 0, 1, 1, 0, 0 },
	{ "bridge_user", kw_bridge_user, 0, 1, 1, 0, 0 },
	{ "max_inflight_messages", conf_kw_u32, OFF(max_inflight_messages), 1, 1, 0, 65535 },
	{ "max_inflight_bytes", kw_u64, OFF(max_inflight_bytes), 1, 1, 0, CONF_MAX_BYTES },
	{ "max_queued_messages", conf_kw_u32, OFF(max_queued_messages), 1, 1, 0, 0 },
	{ "max_queued_bytes", kw_u64, OFF(max_queued_bytes), 1, 1, 0, CONF_MAX_BYTES },
	{ "message_size_limit", conf_kw_u32, OFF(message_size_limit), 1, 1, 0, MQTT_MAX_REMAINING },
	/* Mosquitto refuses below 20; the largest packet has a remaining length + 1 of 2^28. */
	{ "max_packet_size", conf_kw_u32, OFF(max_packet_size), 1, 1, 20, MQTT_MAX_REMAINING + 1 },
	{ "max_keepalive", kw_max_keepalive, OFF(max_keepalive), 1, 1, 0, 65535 },
	{ "memory_limit", kw_u64, OFF(memory_limit), 1, 1, 0, CONF_MAX_BYTES },
	{ "persistent_client_expiration", kw_expiration, 0, 1, 1, 0, 0 },
	{ "sys_interval", conf_kw_u32, OFF(sys_interval), 1, 1, 0, 86400 },
	{ "log_dest", kw_log_dest, 0, 1, 2, 0, 0 },
	{ "log_type", kw_log_type, 0, 1, 1, 0, 0 },
	{ "connection_messages", conf_kw_bool, OFF(connection_messages), 1, 1, 0, 0 },
	{ "log_timestamp", conf_kw_bool, OFF(log_timestamp), 1, 1, 0, 0 },
	{ "set_tcp_nodelay", conf_kw_bool, OFF(set_tcp_nodelay), 1, 1, 0, 0 },
	{ "upgrade_outgoing_qos", conf_kw_bool, OFF(upgrade_outgoing_qos), 1, 1, 0, 0 },
	{ "check_retain_source", conf_kw_bool, OFF(check_retain_source), 1, 1, 0, 0 },
	{ "retain_available", conf_kw_bool, OFF(retain_available), 1, 1, 0, 0 },
	{ "queue_qos0_messages", conf_kw_bool, OFF(queue_qos0_messages), 1, 1, 0, 0 },
	{ "user", conf_kw_str, OFF(user), 1, 1, 0, 0 },
	{ "pid_file", conf_kw_str, OFF(pid_file), 1, 1, 0, 0 },
	{ "persistence", conf_kw_bool, OFF(persistence), 1, 1, 0, 0 },
	{ "retained_persistence", conf_kw_bool, OFF(persistence), 1, 1, 0, 0 },
	{ "persistence_location", conf_kw_str, OFF(persistence_location), 1, 1, 0, 0 },
	{ "persistence_file", conf_kw_str, OFF(persistence_file), 1, 1, 0, 0 },
	{ "autosave_interval", conf_kw_u32, OFF(autosave_interval), 1, 1, 0, 0x7fffffff },
	{ "autosave_on_changes", conf_kw_bool, OFF(autosave_on_changes), 1, 1, 0, 0 },
	{ "connection", bridge_kw_connection, 0, 1, 1, 0, 0 },
	BRIDGE_KW("address"),
	BRIDGE_KW("addresses"),
	BRIDGE_KW("topic"),
	BRIDGE_KW("restart_timeout"),
	BRIDGE_KW("notifications"),
	BRIDGE_KW("cleansession"),
	BRIDGE_KW("try_private"),
	BRIDGE_KW("bridge_protocol_version"),
	BRIDGE_KW("remote_clientid"),
	BRIDGE_KW("local_clientid"),
	BRIDGE_KW("remote_username"),
	BRIDGE_KW("remote_password"),
	BRIDGE_KW("keepalive_interval"),
	BRIDGE_KW("start_type"),
	BRIDGE_KW("notification_topic"),
	BRIDGE_KW("bridge_attempt_unsubscribe"),
	BRIDGE_KW("bridge_outgoing_retain"),
	BRIDGE_KW("bridge_cafile"),
	BRIDGE_KW("bridge_capath"),
	BRIDGE_KW("bridge_certfile"),
	BRIDGE_KW("bridge_keyfile"),
	BRIDGE_KW("bridge_insecure"),
	BRIDGE_KW("bridge_tls_version"),
	/* Last: every other word, refused by name or as unknown (conf_unsupported.c). */
	{ "*", conf_kw_unknown, 0, 0, CONF_MAX_ARGS - 1, 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0 },
};

/* What only the whole file can tell. */
static int conf_check(struct broker_conf *c, const char *name, char *err)
{
	int i, e = listener_conf_check(c, name, err);
	bool pw = c->sec.password_file;

	if (e)
		return e;
	for (i = 0; i < c->nlisteners; i++)
		pw |= c->per_listener_settings && c->listeners[i].sec.password_file;
	/* Without a password_file a user name is whatever the client says. */
	if (c->nbridge_users && !pw) {
		snprintf(err, CONF_ERR_LEN,
			 "%s: bridge_user '%s' needs a password_file to authenticate against", name,
			 c->bridge_users[0]);
		return -EINVAL;
	}
	return bridge_conf_check(c, name, err);
}

int broker_conf_parse_file(struct broker_conf *c, const char *path, char *err)
{
	int e = conf_parse_file(path, broker_kws, c, 0, err);

	return e ? e : conf_check(c, path, err);
}

/*
 * include_dir DIR: every DIR/NAME.conf, in Mosquitto's order (letters
 * compared without case first, then with it), parsed as if it stood
 * here. As in Mosquitto, only the main file may include (in an included
 * file it is refused here, where Mosquitto ignores it).
 */
static int kw_include_dir(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			  char *err)
{
	struct broker_conf *c = obj;
	char **files = NULL;
	int n, i, e = 0;

	if (c->include_depth) {
		conf_reason(err, "'include_dir' is only allowed in the main configuration file");
		return -EINVAL;
	}
	n = conf_dir_files(ln->argv[1], &files);
	if (n < 0) {
		conf_reason(err, "include_dir '%s': %s", ln->argv[1], strerror(-n));
		return n;
	}
	c->include_depth++;
	for (i = 0; i < n && !e; i++)
		e = conf_parse_file(files[i], broker_kws, c, 0, err);
	c->include_depth--;
	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
	/* err holds "FILE:LINE: reason"; the driver puts this line's place before it. */
	return e;
}

int broker_conf_parse_string(struct broker_conf *c, const char *name, const char *text, char *err)
{
	int e = conf_parse_string(name, text, broker_kws, c, 0, err);

	return e ? e : conf_check(c, name, err);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The bridge block of mqbroker.conf, in Mosquitto's grammar: 'connection
 * NAME' opens a block and every bridge directive after it applies to that
 * block, up to the next 'connection'. Other directives stay global
 * wherever they appear, as in Mosquitto. The block's directives are a
 * sub-table dispatched on the current bridge.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"

#define BRIDGE_DEFAULT_PORT 1883

static struct bridge_conf *current(struct broker_conf *c)
{
	return c->nbridges ? &c->bridges[c->nbridges - 1] : NULL;
}

int bridge_kw_connection(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			 char *err)
{
	struct broker_conf *c = obj;
	struct bridge_conf *v, *br;
	int i;

	for (i = 0; i < c->nbridges; i++) {
		if (!strcmp(c->bridges[i].name, ln->argv[1])) {
			conf_reason(err, "duplicate connection '%s'", ln->argv[1]);
			return -EEXIST;
		}
	}
	v = realloc(c->bridges, (c->nbridges + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->bridges = v;
	br = &v[c->nbridges];
	memset(br, 0, sizeof(*br));
	br->name = strdup(ln->argv[1]);
	if (!br->name)
		return -ENOMEM;
	c->nbridges++;
	/* Mosquitto 2.0's defaults. */
	br->restart_base_s = 5;
	br->restart_cap_s = 30;
	br->notifications = true;
	br->try_private = true;
	br->protocol_level = MQTT_PROTO_V311;
	br->keepalive_s = 60;
	br->attempt_unsubscribe = true;
	br->outgoing_retain = true;
	br->lineno = ln->lineno;
	return 0;
}

static int parse_hostport(const char *s, struct bridge_addr *a, char *err)
{
	const char *colon = strrchr(s, ':');
	size_t hlen = colon ? (size_t)(colon - s) : strlen(s);
	uint32_t port = BRIDGE_DEFAULT_PORT;

	if (!hlen || (colon && conf_parse_u32(colon + 1, 1, 65535, &port))) {
		conf_reason(err, "invalid bridge address '%s' (HOST[:PORT])", s);
		return -EINVAL;
	}
	a->host = strndup(s, hlen);
	if (!a->host)
		return -ENOMEM;
	a->port = (uint16_t)port;
	return 0;
}

static int kw_address(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct bridge_conf *br = obj;
	int i, e;

	for (i = 1; i < ln->argc; i++) {
		if (br->naddrs == BRIDGE_MAX_ADDRS) {
			conf_reason(err, "too many bridge addresses (at most %d)", BRIDGE_MAX_ADDRS);
			return -E2BIG;
		}
		e = parse_hostport(ln->argv[i], &br->addrs[br->naddrs], err);
		if (e)
			return e;
		br->naddrs++;
	}
	return 0;
}

/* Mosquitto writes an empty prefix as "" (its parser has no quoting). */
static const char *unquote(const char *s)
{
	return strcmp(s, "\"\"") ? s : "";
}

static bool has_wildcard(const char *s)
{
	return strpbrk(s, "+#") != NULL;
}

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

static int kw_topic(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct bridge_conf *br = obj;
	const char *pat = unquote(ln->argv[1]), *lp = "", *rp = "";
	struct bridge_topic *t;
	uint32_t qos = 0;
	uint8_t dir = BRIDGE_OUT; /* Mosquitto's default direction */

	if (br->ntopics == BRIDGE_MAX_TOPICS) {
		conf_reason(err, "too many bridge topics (at most %d)", BRIDGE_MAX_TOPICS);
		return -E2BIG;
	}
	if (ln->argc > 2) {
		if (!strcmp(ln->argv[2], "in")) {
			dir = BRIDGE_IN;
		} else if (!strcmp(ln->argv[2], "out")) {
			dir = BRIDGE_OUT;
		} else if (!strcmp(ln->argv[2], "both")) {
			dir = BRIDGE_BOTH;
		} else {
			conf_reason(err, "bridge topic direction must be in, out or both, got '%s'",
				    ln->argv[2]);
			return -EINVAL;
		}
	}
	if (ln->argc > 3 && conf_parse_u32(ln->argv[3], 0, 2, &qos)) {
		conf_reason(err, "bridge topic QoS must be 0, 1 or 2, got '%s'", ln->argv[3]);
		return -EINVAL;
	}
	if (ln->argc == 5) {
		conf_reason(err, "bridge topic needs both a local and a remote prefix");
		return -EINVAL;
	}
	if (ln->argc > 5) {
		lp = unquote(ln->argv[4]);
		rp = unquote(ln->argv[5]);
	}
	/* A prefix is part of a topic name: a wildcard in it could never be remapped. */
	if (has_wildcard(lp) || has_wildcard(rp)) {
		conf_reason(err, "bridge topic prefix must not contain wildcards");
		return -EINVAL;
	}
	if (!*pat && (!*lp || !*rp)) {
		conf_reason(err, "empty bridge topic needs a local and a remote prefix");
		return -EINVAL;
	}
	t = &br->topics[br->ntopics];
	t->local = concat(lp, pat);
	t->remote = concat(rp, pat);
	t->local_prefix = strdup(lp);
	t->remote_prefix = strdup(rp);
	br->ntopics++;
	if (!t->local || !t->remote || !t->local_prefix || !t->remote_prefix)
		return -ENOMEM;
	if (!topic_filter_valid(t->local, strlen(t->local)) ||
	    !topic_filter_valid(t->remote, strlen(t->remote))) {
		conf_reason(err, "invalid bridge topic '%s'", ln->argv[1]);
		return -EINVAL;
	}
	t->dir = dir;
	t->qos = (uint8_t)qos;
	return 0;
}

static int kw_restart_timeout(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			      char *err)
{
	struct bridge_conf *br = obj;
	uint32_t base, cap;

	if (conf_parse_u32(ln->argv[1], 1, 86400, &base) ||
	    (ln->argc > 2 && conf_parse_u32(ln->argv[2], 1, 86400, &cap))) {
		conf_reason(err, "'restart_timeout' needs seconds from 1 to 86400");
		return -EINVAL;
	}
	/* One value: a constant delay, as Mosquitto's one-value form. */
	if (ln->argc == 2)
		cap = base;
	if (cap < base) {
		conf_reason(err, "'restart_timeout' cap %u is below its base %u", cap, base);
		return -EINVAL;
	}
	br->restart_base_s = base;
	br->restart_cap_s = cap;
	return 0;
}

static int kw_protocol(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct bridge_conf *br = obj;

	if (!strcmp(ln->argv[1], "mqttv31")) {
		br->protocol_level = MQTT_PROTO_V31;
	} else if (!strcmp(ln->argv[1], "mqttv311")) {
		br->protocol_level = MQTT_PROTO_V311;
	} else {
		conf_reason(err, "'bridge_protocol_version' must be mqttv31 or mqttv311, got '%s'",
			    ln->argv[1]);
		return -EINVAL;
	}
	return 0;
}

static int kw_keepalive(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			char *err)
{
	struct bridge_conf *br = obj;
	uint32_t v;

	/* Mosquitto refuses keep-alives under 5 s for bridges. */
	if (conf_parse_u32(ln->argv[1], 5, 65535, &v)) {
		conf_reason(err, "'keepalive_interval' needs seconds from 5 to 65535, got '%s'",
			    ln->argv[1]);
		return -EINVAL;
	}
	br->keepalive_s = (uint16_t)v;
	return 0;
}

static int kw_start_type(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			 char *err)
{
	if (strcmp(ln->argv[1], "automatic")) {
		conf_reason(err, "'start_type %s' is not supported (only automatic)", ln->argv[1]);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int kw_unsupported(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			  char *err)
{
	conf_reason(err, "'%s' is not supported yet", kw->name);
	return -EOPNOTSUPP;
}

#define BOFF(f) offsetof(struct bridge_conf, f)

static const struct conf_kw bridge_kws[] = {
	{ "address", kw_address, 0, 1, BRIDGE_MAX_ADDRS, 0, 0 },
	{ "addresses", kw_address, 0, 1, BRIDGE_MAX_ADDRS, 0, 0 },
	{ "topic", kw_topic, 0, 1, 5, 0, 0 },
	{ "restart_timeout", kw_restart_timeout, 0, 1, 2, 0, 0 },
	{ "notifications", conf_kw_bool, BOFF(notifications), 1, 1, 0, 0 },
	{ "notification_topic", conf_kw_str, BOFF(notification_topic), 1, 1, 0, 0 },
	{ "cleansession", conf_kw_bool, BOFF(cleansession), 1, 1, 0, 0 },
	{ "try_private", conf_kw_bool, BOFF(try_private), 1, 1, 0, 0 },
	{ "bridge_protocol_version", kw_protocol, 0, 1, 1, 0, 0 },
	{ "remote_clientid", conf_kw_str, BOFF(remote_clientid), 1, 1, 0, 0 },
	{ "remote_username", conf_kw_str, BOFF(remote_username), 1, 1, 0, 0 },
	{ "remote_password", conf_kw_str, BOFF(remote_password), 1, 1, 0, 0 },
	{ "keepalive_interval", kw_keepalive, 0, 1, 1, 0, 0 },
	{ "start_type", kw_start_type, 0, 1, 1, 0, 0 },
	{ "bridge_attempt_unsubscribe", conf_kw_bool, BOFF(attempt_unsubscribe), 1, 1, 0, 0 },
	{ "bridge_outgoing_retain", conf_kw_bool, BOFF(outgoing_retain), 1, 1, 0, 0 },
	{ "bridge_cafile", conf_kw_str, BOFF(tls_cafile), 1, 1, 0, 0 },
	{ "bridge_capath", conf_kw_str, BOFF(tls_capath), 1, 1, 0, 0 },
	{ "bridge_certfile", conf_kw_str, BOFF(tls_certfile), 1, 1, 0, 0 },
	{ "bridge_keyfile", conf_kw_str, BOFF(tls_keyfile), 1, 1, 0, 0 },
	{ "bridge_insecure", conf_kw_bool, BOFF(tls_insecure), 1, 1, 0, 0 },
	{ "bridge_tls_version", conf_kw_str, BOFF(tls_version), 1, 1, 0, 0 },
	{ "local_clientid", kw_unsupported, 0, 0, CONF_MAX_ARGS - 1, 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0 },
};

int bridge_kw(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct bridge_conf *br = current(obj);

	if (!br) {
		conf_reason(err, "'%s' outside a connection block", ln->argv[0]);
		return -EINVAL;
	}
	return conf_dispatch(bridge_kws, br, ln, err);
}

int bridge_conf_check(struct broker_conf *c, const char *name, char *err)
{
	int i;

	for (i = 0; i < c->nbridges; i++) {
		const struct bridge_conf *br = &c->bridges[i];
		const char *missing = !br->naddrs ? "address" : !br->ntopics ? "topic" : NULL;
		const char *why;

		/*
		 * Mosquitto refuses both at start-up ("no remote addresses
		 * defined", "no topics defined"): a bridge without a topic would
		 * carry nothing.
		 */
		if (missing) {
			snprintf(err, CONF_ERR_LEN, "%s:%d: connection '%s' has no %s", name,
				 br->lineno, br->name, missing);
			return -EINVAL;
		}
		/* As Mosquitto: a certificate with its key; TLS needs a CA to verify the remote. */
		why = !br->tls_certfile != !br->tls_keyfile ?
			      "bridge_certfile and bridge_keyfile go together" :
		      (br->tls_certfile || br->tls_insecure || br->tls_version) &&
				      !br->tls_cafile && !br->tls_capath ?
			      "TLS options without bridge_cafile or bridge_capath" :
		      br->tls_version && strcmp(br->tls_version, "tlsv1.3") &&
				      strcmp(br->tls_version, "tlsv1.2") &&
				      strcmp(br->tls_version, "tlsv1.1") ?
			      "bridge_tls_version must be tlsv1.3, tlsv1.2 or tlsv1.1" :
			      NULL;
		if (why) {
			snprintf(err, CONF_ERR_LEN, "%s:%d: connection '%s': %s", name, br->lineno,
				 br->name, why);
			return -EINVAL;
		}
	}
	return 0;
}

void bridge_conf_free(struct broker_conf *c)
{
	int i, j;

	for (i = 0; i < c->nbridges; i++) {
		struct bridge_conf *br = &c->bridges[i];

		for (j = 0; j < br->naddrs; j++)
			free(br->addrs[j].host);
		for (j = 0; j < br->ntopics; j++) {
			free(br->topics[j].local);
			free(br->topics[j].remote);
			free(br->topics[j].local_prefix);
			free(br->topics[j].remote_prefix);
		}
		free(br->name);
		free(br->notification_topic);
		free(br->remote_clientid);
		free(br->remote_username);
		free(br->remote_password);
		free(br->tls_cafile);
		free(br->tls_capath);
		free(br->tls_certfile);
		free(br->tls_keyfile);
		free(br->tls_version);
	}
	free(c->bridges);
	c->bridges = NULL;
	c->nbridges = 0;
}

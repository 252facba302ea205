// SPDX-License-Identifier: GPL-2.0
/*
 * mqlbd.conf keywords. Each directive is one table row; the parsers below
 * stay small and write a reason that the shared driver prefixes with
 * FILE:LINE. Cross-line checks (missing vip, ...) run after the last line.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mqlb_ctl.h"
#include "netutil.h"

#define MQTT_DEFAULT_PORT 1883

static int kw_vip(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct mqlbd_config *c = obj;

	if (net_parse_ipv4_port(ln->argv[1], MQTT_DEFAULT_PORT, &c->vip)) {
		conf_reason(err, "'vip' needs IPV4[:PORT], got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	c->have_vip = true;
	return 0;
}

static int copy_ifname(char *dst, const struct conf_line *ln, char *err)
{
	const char *s = ln->argv[1];

	if (strlen(s) >= IF_NAMESIZE || strchr(s, '/')) {
		conf_reason(err, "'%s' needs an interface name (at most %d characters), got '%s'",
			    ln->argv[0], IF_NAMESIZE - 1, s);
		return -EINVAL;
	}
	strcpy(dst, s);
	return 0;
}

static int kw_iface(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	return copy_ifname((char *)obj + kw->off, ln, err);
}

/* fullnat is the only mode built; the keyword is checked so that a config asking for another fails. */
static int kw_mode(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	if (!strcmp(ln->argv[1], "fullnat"))
		return 0;
	if (!strcmp(ln->argv[1], "dnat")) {
		conf_reason(err, "mode 'dnat' is not implemented yet; use 'fullnat'");
		return -EOPNOTSUPP;
	}
	conf_reason(err, "'mode' needs fullnat or dnat, got '%s'", ln->argv[1]);
	return -EINVAL;
}

static int kw_snat(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct mqlbd_config *c = obj;

	if (net_parse_ipv4(ln->argv[1], &c->snat)) {
		conf_reason(err, "'snat' needs an IPv4 address, got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	c->have_snat = true;
	return 0;
}

/* snat-ports LO-HI: the source ports used toward the brokers. */
static int kw_snat_ports(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			 char *err)
{
	struct mqlbd_config *c = obj;
	char buf[32], *dash;
	uint32_t lo, hi;

	snprintf(buf, sizeof(buf), "%s", ln->argv[1]);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (!dash || conf_parse_u32(buf, 1024, 65535, &lo) ||
	    conf_parse_u32(dash + 1, 1024, 65535, &hi) || lo > hi) {
		conf_reason(err, "'snat-ports' needs LOW-HIGH within 1024-65535, got '%s'",
			    ln->argv[1]);
		return -EINVAL;
	}
	c->snat_port_min = lo;
	c->snat_port_max = hi;
	return 0;
}

static int kw_balance(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct mqlbd_config *c = obj;

	if (!strcmp(ln->argv[1], "roundrobin")) {
		c->balance = BALANCE_ROUNDROBIN;
		return 0;
	}
	if (!strcmp(ln->argv[1], "client-id")) {
		c->balance = BALANCE_CLIENT_ID;
		return 0;
	}
	conf_reason(err, "'balance' needs roundrobin or client-id, got '%s'", ln->argv[1]);
	return -EINVAL;
}

/* hash-seed N: 64 bits, decimal or 0x hexadecimal; the same on every node of a fleet. */
static int kw_hash_seed(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			char *err)
{
	struct mqlbd_config *c = obj;
	const char *v = ln->argv[1];
	char *end;

	errno = 0;
	c->hash_seed = strtoull(v, &end, 0);
	if (end == v || *end || *v == '-' || errno) {
		conf_reason(err, "'hash-seed' needs a 64-bit number (decimal or 0x...), got '%s'", v);
		return -EINVAL;
	}
	return 0;
}

bool config_delayed_binding(const struct mqlbd_config *c)
{
	int i;

	if (c->balance == BALANCE_CLIENT_ID)
		return true;
	for (i = 0; i < c->nbackends; i++)
		if (c->backends[i].proxy_v2)
			return true;
	return false;
}

bool config_valid_backend_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= BACKEND_NAME_LEN)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

/* backend NAME ADDR:PORT [weight N] [disabled] */
static int kw_backend(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct mqlbd_config *c = obj;
	struct backend_conf b = { .weight = 1, .line = ln->lineno };
	int i;

	if (!config_valid_backend_name(ln->argv[1])) {
		conf_reason(err, "backend name '%s' must be 1-%d characters of [A-Za-z0-9_.-]",
			    ln->argv[1], BACKEND_NAME_LEN - 1);
		return -EINVAL;
	}
	strcpy(b.name, ln->argv[1]);
	if (net_parse_ipv4_port(ln->argv[2], MQTT_DEFAULT_PORT, &b.addr)) {
		conf_reason(err, "backend '%s': bad address '%s' (want IPV4[:PORT])", b.name,
			    ln->argv[2]);
		return -EINVAL;
	}
	for (i = 3; i < ln->argc; i++) {
		if (!strcmp(ln->argv[i], "disabled")) {
			b.disabled = true;
		} else if (!strcmp(ln->argv[i], "proxy-v2")) {
			b.proxy_v2 = true;
		} else if (!strcmp(ln->argv[i], "weight") && i + 1 < ln->argc) {
			if (conf_parse_u32(ln->argv[++i], 1, MQLB_MAX_WEIGHT, &b.weight)) {
				conf_reason(err, "backend '%s': weight must be 1-%d, got '%s'",
					    b.name, MQLB_MAX_WEIGHT, ln->argv[i]);
				return -EINVAL;
			}
		} else {
			conf_reason(err, "backend '%s': unknown option '%s' (weight N | disabled | proxy-v2)",
				    b.name, ln->argv[i]);
			return -EINVAL;
		}
	}
	for (i = 0; i < c->nbackends; i++) {
		const struct backend_conf *o = &c->backends[i];

		if (!strcmp(o->name, b.name)) {
			conf_reason(err, "duplicate backend '%s' (first defined on line %d)",
				    b.name, o->line);
			return -EEXIST;
		}
		if (o->addr.sin_addr.s_addr == b.addr.sin_addr.s_addr &&
		    o->addr.sin_port == b.addr.sin_port) {
			conf_reason(err, "backend '%s' has the same address as '%s' (line %d)",
				    b.name, o->name, o->line);
			return -EEXIST;
		}
	}
	if (c->nbackends == MQLB_MAX_BACKENDS) {
		conf_reason(err, "too many backends (at most %d)", MQLB_MAX_BACKENDS);
		return -ENOSPC;
	}
	c->backends[c->nbackends++] = b;
	return 0;
}

static int kw_xdp_mode(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
		       char *err)
{
	static const char *const names[] = { "auto", "native", "generic" };
	struct mqlbd_config *c = obj;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(ln->argv[1], names[i])) {
			c->xdp_mode = (enum xdp_attach_mode)i;
			return 0;
		}
	}
	conf_reason(err, "'xdp-mode' needs auto, native or generic, got '%s'", ln->argv[1]);
	return -EINVAL;
}

/*
 * The check's login, options of the health line: user NAME, password-file
 * PATH, client-id-prefix PREFIX. The password is read from its file here,
 * so that `mqlbd -t` proves the daemon can read it; it never appears in
 * the config itself nor in any message.
 */
static int read_password_file(struct health_conf *h, const char *path, char *err)
{
	char buf[HEALTH_PASSWORD_LEN + 2];
	size_t n;
	FILE *f;

	if (path[0] != '/' || strlen(path) >= sizeof(h->password_file)) {
		conf_reason(err, "health: password-file needs an absolute path of at most %d "
			    "characters, got '%s'", HEALTH_PATH_LEN - 1, path);
		return -EINVAL;
	}
	f = fopen(path, "re");
	if (!f) {
		int e = errno;

		conf_reason(err, "health: can't read password-file %s: %s", path, strerror(e));
		return -e;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	n = strlen(buf);
	if (n == 0 || n >= sizeof(h->password)) {
		conf_reason(err, "health: password-file %s must hold the password on its first line "
			    "(1-%d bytes)", path, HEALTH_PASSWORD_LEN - 1);
		explicit_bzero(buf, sizeof(buf));
		return -EINVAL;
	}
	memcpy(h->password, buf, n + 1);
	explicit_bzero(buf, sizeof(buf));
	snprintf(h->password_file, sizeof(h->password_file), "%s", path);
	return 0;
}

/* Client ids that every MQTT 3.1.1 broker must accept are made of [0-9A-Za-z] (3.1.3.1). */
static bool valid_client_id_prefix(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= HEALTH_CID_PFX_LEN)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-:", *s))
			return false;
	return true;
}

static int health_login_option(struct health_conf *h, const char *opt, const char *val,
			       char *err)
{
	if (!strcmp(opt, "user")) {
		if (!*val || strlen(val) >= sizeof(h->user)) {
			conf_reason(err, "health: user needs 1-%d characters", HEALTH_USER_LEN - 1);
			return -EINVAL;
		}
		snprintf(h->user, sizeof(h->user), "%s", val);
		return 0;
	}
	if (!strcmp(opt, "password-file"))
		return read_password_file(h, val, err);
	if (!strcmp(opt, "client-id-prefix")) {
		if (!valid_client_id_prefix(val)) {
			conf_reason(err, "health: client-id-prefix must be 1-%d characters of "
				    "[A-Za-z0-9_.:-], got '%s'", HEALTH_CID_PFX_LEN - 1, val);
			return -EINVAL;
		}
		snprintf(h->client_id_prefix, sizeof(h->client_id_prefix), "%s", val);
		return 0;
	}
	conf_reason(err, "health: unknown option '%s' (interval, timeout, rise, fall, user, "
		    "password-file, client-id-prefix)", opt);
	return -EINVAL;
}

/* health mqtt|tcp|none [interval T] [timeout T] [rise N] [fall N]
 *        [user NAME] [password-file PATH] [client-id-prefix PREFIX] */
static int kw_health(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	static const char *const kinds[] = { "mqtt", "tcp", "none" };
	struct mqlbd_config *c = obj;
	struct health_conf h = c->health;
	uint64_t ms;
	size_t k;
	int i;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(ln->argv[1], kinds[k]))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0])) {
		conf_reason(err, "'health' needs mqtt, tcp or none, got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	h.kind = (enum health_kind)k;
	for (i = 2; i < ln->argc; i += 2) {
		const char *opt = ln->argv[i], *val = i + 1 < ln->argc ? ln->argv[i + 1] : NULL;

		if (!val) {
			conf_reason(err, "health: '%s' needs a value", opt);
			return -EINVAL;
		}
		if (!strcmp(opt, "interval") || !strcmp(opt, "timeout")) {
			if (conf_parse_duration_ms(val, &ms) || ms < 10 || ms > 3600000) {
				conf_reason(err, "health: %s needs a duration from 10ms to 1h, got '%s'",
					    opt, val);
				return -EINVAL;
			}
			*(opt[0] == 'i' ? &h.interval_ms : &h.timeout_ms) = (uint32_t)ms;
		} else if (!strcmp(opt, "rise") || !strcmp(opt, "fall")) {
			if (conf_parse_u32(val, 1, 100, opt[0] == 'r' ? &h.rise : &h.fall)) {
				conf_reason(err, "health: %s needs an integer from 1 to 100, got '%s'",
					    opt, val);
				return -EINVAL;
			}
		} else {
			int ret = health_login_option(&h, opt, val, err);

			if (ret) {
				explicit_bzero(&h, sizeof(h));
				return ret;
			}
		}
	}
	if (h.password_file[0] && !h.user[0]) {
		/* MQTT 3.1.1 section 3.1.2.9: no password without a user name. */
		conf_reason(err, "health: password-file needs a user (MQTT sends no password alone)");
		explicit_bzero(&h, sizeof(h));
		return -EINVAL;
	}
	if (h.user[0] && h.kind != HEALTH_MQTT) {
		conf_reason(err, "health: user and password-file apply to mqtt checks only");
		explicit_bzero(&h, sizeof(h));
		return -EINVAL;
	}
	if (h.timeout_ms > h.interval_ms) {
		conf_reason(err, "health: timeout %ums is longer than interval %ums", h.timeout_ms,
			    h.interval_ms);
		explicit_bzero(&h, sizeof(h));
		return -EINVAL;
	}
	c->health = h;
	explicit_bzero(&h, sizeof(h));
	return 0;
}

static int kw_on_down(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct mqlbd_config *c = obj;

	if (strcmp(ln->argv[1], "reset") && strcmp(ln->argv[1], "keep")) {
		conf_reason(err, "'on-down' needs reset or keep, got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	c->on_down_keep = !strcmp(ln->argv[1], "keep");
	return 0;
}

static int kw_abs_path(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	if (ln->argv[1][0] != '/' || strlen(ln->argv[1]) > 100) {
		conf_reason(err, "'%s' needs an absolute path of at most 100 characters, got '%s'",
			    kw->name, ln->argv[1]);
		return -EINVAL;
	}
	return conf_kw_str(obj, kw, ln, err);
}

/* stats ADDR:PORT [user:password]: the HTTP page and /metrics, behind basic auth if given. */
static int kw_stats(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct mqlbd_config *c = obj;
	struct sockaddr_in sa;
	const char *colon;

	if (net_parse_ipv4_port(ln->argv[1], 0, &sa)) {
		conf_reason(err, "'stats' needs IPV4:PORT, got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	free(c->stats_addr);
	free(c->stats_user);
	free(c->stats_password);
	c->stats_addr = strdup(ln->argv[1]);
	c->stats_user = c->stats_password = NULL;
	if (ln->argc == 3) {
		colon = strchr(ln->argv[2], ':');
		if (!colon || colon == ln->argv[2] || !colon[1]) {
			conf_reason(err, "'stats' credentials must be user:password");
			return -EINVAL;
		}
		c->stats_user = strndup(ln->argv[2], (size_t)(colon - ln->argv[2]));
		c->stats_password = strdup(colon + 1);
		if (!c->stats_user || !c->stats_password) {
			conf_reason(err, "out of memory");
			return -ENOMEM;
		}
	}
	if (!c->stats_addr) {
		conf_reason(err, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* strict [yes|no]: reset flows whose first payload is not an MQTT CONNECT. */
/* rate-per-source N[/s]: new flows a second one client address may open (0: no limit). */
static int kw_rate(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct mqlbd_config *c = obj;
	const char *v = ln->argv[1];
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (end == v || *v == '-' || errno || (*end && strcmp(end, "/s")) || n > 10000000) {
		conf_reason(err, "'rate-per-source' needs new flows a second, N or N/s "
			    "(0-10000000), got '%s'", v);
		return -EINVAL;
	}
	c->rate_per_source = (uint32_t)n;
	return 0;
}

static int kw_strict(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct mqlbd_config *c = obj;

	if (ln->argc == 1) {
		c->strict = true;
		return 0;
	}
	if (conf_parse_bool(ln->argv[1], &c->strict)) {
		conf_reason(err, "'strict' takes no value, or yes or no, got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	return 0;
}

/* log auto|stderr|journal|syslog: where mqlbd logs (auto: the journal under systemd). */
static int kw_log(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct mqlbd_config *c = obj;

	if (log_parse_target(ln->argv[1], &c->log_target)) {
		conf_reason(err, "'log' needs auto, stderr, journal or syslog, got '%s'",
			    ln->argv[1]);
		return -EINVAL;
	}
	return 0;
}

#define OFF(f) offsetof(struct mqlbd_config, f)
#define SEC_MS(s) ((uint64_t)(s) * 1000)

static const struct conf_kw mqlbd_kws[] = {
	{ "vip", kw_vip, 0, 1, 1, 0, 0 },
	{ "interface", kw_iface, OFF(ifname), 1, 1, 0, 0 },
	{ "backend-interface", kw_iface, OFF(backend_ifname), 1, 1, 0, 0 },
	{ "mode", kw_mode, 0, 1, 1, 0, 0 },
	{ "snat", kw_snat, 0, 1, 1, 0, 0 },
	{ "snat-ports", kw_snat_ports, 0, 1, 1, 0, 0 },
	{ "balance", kw_balance, 0, 1, 1, 0, 0 },
	{ "hash-seed", kw_hash_seed, 0, 1, 1, 0, 0 },
	{ "backend", kw_backend, 0, 2, 6, 0, 0 },
	{ "xdp-mode", kw_xdp_mode, 0, 1, 1, 0, 0 },
	{ "pin-path", kw_abs_path, OFF(pin_path), 1, 1, 0, 0 },
	{ "flow-table-size", conf_kw_u32, OFF(flow_table_size), 1, 1, 64, 1U << 24 },
	{ "idle-timeout", conf_kw_duration_ms, OFF(idle_timeout_ms), 1, 1, SEC_MS(1),
	  SEC_MS(7 * 24 * 3600) },
	{ "syn-timeout", conf_kw_duration_ms, OFF(syn_timeout_ms), 1, 1, SEC_MS(1), SEC_MS(120) },
	{ "close-timeout", conf_kw_duration_ms, OFF(close_timeout_ms), 1, 1, 0, SEC_MS(600) },
	{ "fin-wait-timeout", conf_kw_duration_ms, OFF(fin_wait_timeout_ms), 1, 1, SEC_MS(1),
	  SEC_MS(86400) },
	{ "close-wait-timeout", conf_kw_duration_ms, OFF(close_wait_timeout_ms), 1, 1, SEC_MS(1),
	  SEC_MS(86400) },
	{ "limit-per-source", conf_kw_u32, OFF(limit_per_source), 1, 1, 0, 1U << 24 },
	{ "rate-per-source", kw_rate, 0, 1, 1, 0, 0 },
	{ "health", kw_health, 0, 1, 15, 0, 0 },
	{ "on-down", kw_on_down, 0, 1, 1, 0, 0 },
	{ "control", kw_abs_path, OFF(control), 1, 1, 0, 0 },
	{ "persist", conf_kw_bool, OFF(persist), 1, 1, 0, 0 },
	{ "stats", kw_stats, 0, 1, 2, 0, 0 },
	{ "strict", kw_strict, 0, 0, 1, 0, 0 },
	{ "log", kw_log, 0, 1, 1, 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0 },
};

void config_init(struct mqlbd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->snat_port_min = CONF_DEFAULT_SNAT_PORT_MIN;
	c->snat_port_max = CONF_DEFAULT_SNAT_PORT_MAX;
	c->xdp_mode = XDP_ATTACH_AUTO;
	c->flow_table_size = MQLB_DEFAULT_FLOWS;
	c->idle_timeout_ms = 10 * 60 * 1000;
	c->syn_timeout_ms = 5 * 1000;
	c->close_timeout_ms = 5 * 1000;
	/* Linux conntrack's nf_conntrack_tcp_timeout_fin_wait and _close_wait. */
	c->fin_wait_timeout_ms = 120 * 1000;
	c->close_wait_timeout_ms = 60 * 1000;
	c->health = (struct health_conf){ .kind = HEALTH_MQTT, .interval_ms = 1000,
					  .timeout_ms = 500, .rise = 2, .fall = 2 };
	snprintf(c->health.client_id_prefix, sizeof(c->health.client_id_prefix), "%s",
		 HEALTH_CID_PFX_DEFAULT);
}

void config_free(struct mqlbd_config *c)
{
	explicit_bzero(c->health.password, sizeof(c->health.password));
	free(c->pin_path);
	free(c->control);
	free(c->stats_addr);
	free(c->stats_user);
	free(c->stats_password);
	c->stats_addr = c->stats_user = c->stats_password = NULL;
	c->pin_path = NULL;
	c->control = NULL;
}

/* What no single line can tell: required directives and their combinations. */
static int config_validate(struct mqlbd_config *c, const char *name, char *err)
{
	if (!c->have_vip) {
		snprintf(err, CONF_ERR_LEN, "%s: missing 'vip' (for example: vip 10.0.1.1:1883)",
			 name);
		return -EINVAL;
	}
	if (!c->ifname[0]) {
		snprintf(err, CONF_ERR_LEN,
			 "%s: missing 'interface' (where client packets arrive)", name);
		return -EINVAL;
	}
	/* The data plane tells a broker's reply from a client's packet by this address. */
	if (c->have_snat && c->snat.s_addr == c->vip.sin_addr.s_addr) {
		snprintf(err, CONF_ERR_LEN,
			 "%s: 'snat' must differ from the VIP's address (the brokers' replies "
			 "come back to it)", name);
		return -EINVAL;
	}
	if (!c->control)
		c->control = strdup(MQLB_CTL_DEFAULT);
	if (!c->pin_path)
		c->pin_path = strdup(MQLB_PIN_DEFAULT);
	{
		if (!c->pin_path || !c->control) {
			snprintf(err, CONF_ERR_LEN, "%s: out of memory", name);
			return -ENOMEM;
		}
	}
	return 0;
}

int config_load(struct mqlbd_config *c, const char *path, char *err)
{
	int ret;

	c->path = path;
	ret = conf_parse_file(path, mqlbd_kws, c, CONF_INLINE_COMMENTS, err);
	return ret ? ret : config_validate(c, path, err);
}

int config_load_string(struct mqlbd_config *c, const char *name, const char *text, char *err)
{
	int ret;

	c->path = name;
	ret = conf_parse_string(name, text, mqlbd_kws, c, CONF_INLINE_COMMENTS, err);
	return ret ? ret : config_validate(c, name, err);
}

const char *config_backend_ifname(const struct mqlbd_config *c)
{
	return c->backend_ifname[0] ? c->backend_ifname : c->ifname;
}

const char *health_kind_name(enum health_kind k)
{
	return k == HEALTH_TCP ? "tcp" : k == HEALTH_NONE ? "none" : "mqtt";
}

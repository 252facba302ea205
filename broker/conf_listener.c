// SPDX-License-Identifier: GPL-2.0
/*
 * Listener blocks and security options, in Mosquitto's grammar.
 *
 * 'listener PORT [ADDRESS]' opens a block: the listener directives after
 * it (socket_domain, TLS, enable_proxy_protocol, ...) are its own, up to
 * the next 'listener'. Those that come before any 'listener' belong to
 * the default listener, which 'port' and 'bind_address' also describe and
 * which is opened only when one of them appeared.
 *
 * The security options (password_file, acl_file, allow_anonymous, ...)
 * are global, unless 'per_listener_settings true' came first: then each
 * applies to the block it appears in, and a client is under the options
 * of the listener it connected to.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "broker.h"
#include "conf.h"

void sec_conf_init(struct sec_conf *s)
{
	memset(s, 0, sizeof(*s));
	s->allow_anonymous = true;
	s->allow_zero_length_clientid = true;
}

void sec_conf_free(struct sec_conf *s)
{
	free(s->password_file);
	free(s->acl_file);
	free(s->auto_id_prefix);
	s->password_file = s->acl_file = s->auto_id_prefix = NULL;
}

static void listener_conf_init(struct listener_conf *l)
{
	memset(l, 0, sizeof(*l));
	l->family = AF_UNSPEC;
	sec_conf_init(&l->sec);
}

void listener_conf_free(struct listener_conf *l)
{
	struct tls_conf *t = &l->tls;

	free(l->host);
	l->host = NULL;
	sec_conf_free(&l->sec);
	free(t->cafile);
	free(t->capath);
	free(t->certfile);
	free(t->keyfile);
	free(t->crlfile);
	free(t->ciphers);
	free(t->ciphers_tls13);
	free(t->tls_version);
	memset(t, 0, sizeof(*t));
}

/*
 * A listener's TLS directives make sense together or not at all: caught
 * here, with the listener's line, rather than half applied. The files
 * themselves are read when the listener opens (tls.c).
 */
static const char *tls_conf_problem(const struct listener_conf *l)
{
	const struct tls_conf *t = &l->tls;
	bool any = t->cafile || t->capath || t->crlfile || t->ciphers || t->ciphers_tls13 ||
		   t->tls_version || t->require_certificate || t->use_identity_as_username ||
		   t->use_subject_as_username;

	if (!t->certfile != !t->keyfile)
		return "certfile and keyfile go together";
	if (any && !t->certfile)
		return "TLS options without certfile and keyfile";
	if (t->tls_version && strcmp(t->tls_version, "tlsv1.3") &&
	    strcmp(t->tls_version, "tlsv1.2") && strcmp(t->tls_version, "tlsv1.1"))
		return "tls_version must be tlsv1.3, tlsv1.2 or tlsv1.1";
	if ((t->require_certificate || t->use_identity_as_username ||
	     t->use_subject_as_username) && !t->cafile && !t->capath)
		return "client certificates (require_certificate, use_*_as_username) need cafile or capath";
	if (t->crlfile && !t->cafile && !t->capath)
		return "crlfile needs cafile or capath";
	if (t->use_identity_as_username && t->use_subject_as_username)
		return "use_identity_as_username and use_subject_as_username exclude each other";
	if (t->certfile && l->proxy_v2)
		return "TLS with enable_proxy_protocol 2 is not supported";
	return NULL;
}

const struct sec_conf *sec_conf_of(const struct broker_conf *c, const struct listener_conf *l)
{
	return c->per_listener_settings && l ? &l->sec : &c->sec;
}

/* The block the directive on this line belongs to; the default listener becomes used. */
static struct listener_conf *cur_listener(struct broker_conf *c)
{
	if (c->cur_listener >= 0)
		return &c->listeners[c->cur_listener];
	c->has_def = true;
	return &c->def;
}

static int parse_port(const char *s, uint16_t *port, char *err)
{
	uint32_t v;

	if (conf_parse_u32(s, 1, 65535, &v)) {
		conf_reason(err, "invalid port '%s' (1 to 65535)", s);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

/*
 * An IPv4 or IPv6 address, or a host name resolved when the listener
 * opens (every address it has, as Mosquitto binds them). Something made
 * only of digits and dots that is no IPv4 address is a typo, not a name.
 */
static int check_host(const char *s, char *err)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *p;

	if (inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1)
		return 0;
	if (strspn(s, "0123456789.") == strlen(s)) {
		conf_reason(err, "invalid address '%s'", s);
		return -EINVAL;
	}
	for (p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.') {
			conf_reason(err, "invalid address '%s' (an IPv4 or IPv6 address, or a host name)",
				    s);
			return -EINVAL;
		}
	}
	return 0;
}

int conf_kw_listener(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct broker_conf *c = obj;
	const char *host = ln->argc > 2 ? ln->argv[2] : NULL;
	struct listener_conf *v, *l;
	uint16_t port;
	int i;

	if (parse_port(ln->argv[1], &port, err) || (host && check_host(host, err)))
		return -EINVAL;
	for (i = 0; i < c->nlisteners; i++) {
		const char *h = c->listeners[i].host;

		if (c->listeners[i].port == port && (h && host ? !strcmp(h, host) : h == host)) {
			conf_reason(err, "duplicate listener %s%s%s", ln->argv[1], host ? " " : "",
				    host ? host : "");
			return -EEXIST;
		}
	}
	if (c->nlisteners == BROKER_MAX_LISTENERS) {
		conf_reason(err, "too many listeners (at most %d)", BROKER_MAX_LISTENERS);
		return -E2BIG;
	}
	v = realloc(c->listeners, (size_t)(c->nlisteners + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->listeners = v;
	l = &v[c->nlisteners];
	listener_conf_init(l);
	l->port = port;
	l->lineno = ln->lineno;
	if (host) {
		l->host = strdup(host);
		if (!l->host)
			return -ENOMEM;
	}
	c->cur_listener = c->nlisteners++;
	return 0;
}

int conf_kw_port(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct broker_conf *c = obj;

	c->has_def = true;
	return parse_port(ln->argv[1], &c->def.port, err);
}

int conf_kw_bind_address(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			 char *err)
{
	struct broker_conf *c = obj;

	if (check_host(ln->argv[1], err))
		return -EINVAL;
	c->has_def = true;
	free(c->def.host);
	c->def.host = strdup(ln->argv[1]);
	return c->def.host ? 0 : -ENOMEM;
}

int conf_kw_socket_domain(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			  char *err)
{
	struct listener_conf *l = cur_listener(obj);

	if (!strcmp(ln->argv[1], "ipv4")) {
		l->family = AF_INET;
	} else if (!strcmp(ln->argv[1], "ipv6")) {
		l->family = AF_INET6;
	} else {
		conf_reason(err, "'socket_domain' needs ipv4 or ipv6, got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	return 0;
}

/* A string value, once per block (Mosquitto refuses a duplicate too). */
static int set_str(char **field, const char *name, const char *val, char *err)
{
	if (*field) {
		conf_reason(err, "duplicate '%s' (already '%s')", name, *field);
		return -EEXIST;
	}
	*field = strdup(val);
	return *field ? 0 : -ENOMEM;
}

/*
 * enable_proxy_protocol 2 (Mosquitto's directive, from its development
 * branch): every connection to this listener starts with a PROXY v2
 * header (proxy_v2.c). Version 1, the text form, is not spoken.
 */
int conf_kw_enable_proxy_protocol(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
				  char *err)
{
	struct listener_conf *l = cur_listener(obj);

	if (!strcmp(ln->argv[1], "1")) {
		conf_reason(err, "'enable_proxy_protocol 1' is not supported (only 2, the binary header)");
		return -EOPNOTSUPP;
	}
	if (strcmp(ln->argv[1], "2")) {
		conf_reason(err, "'enable_proxy_protocol' needs 2, got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	l->proxy_v2 = true;
	return 0;
}

/* A string or boolean field of the current listener block (kw->min: 1 for a boolean). */
int conf_kw_listener_field(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
			   char *err)
{
	struct listener_conf *l = cur_listener(obj);
	const struct conf_kw inner = { kw->name, NULL, kw->off, 1, 1, 0, 0 };

	if (kw->min)
		return conf_kw_bool(l, &inner, ln, err);
	return set_str((char **)((char *)l + kw->off), kw->name, ln->argv[1], err);
}

/*
 * listener_allow_anonymous BOOL: whether this listener takes clients
 * without a user name, over allow_anonymous and without needing
 * per_listener_settings (a local plain port open, the public TLS one
 * closed, with one password file for both). Not in Mosquitto 2.0: the
 * name of a change proposed for it, kept with that meaning.
 */
int conf_kw_listener_allow_anonymous(void *obj, const struct conf_kw *kw,
				     const struct conf_line *ln, char *err)
{
	struct listener_conf *l = cur_listener(obj);

	(void)kw;
	if (conf_parse_bool(ln->argv[1], &l->anon)) {
		conf_reason(err, "'listener_allow_anonymous' needs true or false, got '%s'",
			    ln->argv[1]);
		return -EINVAL;
	}
	l->anon_set = true;
	return 0;
}

int conf_kw_per_listener_settings(void *obj, const struct conf_kw *kw, const struct conf_line *ln,
				  char *err)
{
	struct broker_conf *c = obj;
	bool on;

	if (conf_parse_bool(ln->argv[1], &on)) {
		conf_reason(err, "'per_listener_settings' needs true or false, got '%s'", ln->argv[1]);
		return -EINVAL;
	}
	/* As Mosquitto: the options already set would be in the wrong place. */
	if (on && c->sec_set) {
		conf_reason(err, "per_listener_settings must be set before any other security settings");
		return -EINVAL;
	}
	c->per_listener_settings = on;
	return 0;
}

/*
 * A security option, into the set in force here: the global one, or with
 * per_listener_settings the current block's (the default listener's
 * before any 'listener'). kw->min says the type: 1 boolean, 0 string
 * (given twice in one set, an error, as in Mosquitto).
 */
int conf_kw_sec(void *obj, const struct conf_kw *kw, const struct conf_line *ln, char *err)
{
	struct broker_conf *c = obj;
	struct sec_conf *s = &c->sec;
	const struct conf_kw inner = { kw->name, NULL, kw->off, 1, 1, 0, 0 };
	char **str;

	if (c->per_listener_settings && c->cur_listener >= 0) {
		s = &c->listeners[c->cur_listener].sec;
	} else if (c->per_listener_settings) {
		/* Only 'port' or 'bind_address' opens it: checked at the end. */
		s = &c->def.sec;
		if (!c->def_sec_lineno) {
			c->def_sec_lineno = ln->lineno;
			c->def_sec_file = strdup(ln->file);
		}
	}
	str = (char **)((char *)s + kw->off);
	c->sec_set = true;
	if (kw->min)
		return conf_kw_bool(s, &inner, ln, err);
	return set_str(str, kw->name, ln->argv[1], err);
}

int listener_conf_check(struct broker_conf *c, const char *name, char *err)
{
	int i;

	/*
	 * Mosquitto drops such options without a word; here they would leave
	 * every listener under mqbroker's defaults (anonymous clients in).
	 */
	if (c->def_sec_lineno && !c->has_def) {
		snprintf(err, CONF_ERR_LEN,
			 "%s:%d: with per_listener_settings true, security options before any 'listener' belong to the default listener, which no 'port' or 'bind_address' opens",
			 c->def_sec_file ? c->def_sec_file : name, c->def_sec_lineno);
		return -EINVAL;
	}
	if (c->has_def && !c->def.port)
		c->def.port = 1883;
	for (i = -1; i < c->nlisteners; i++) {
		const struct listener_conf *l = i < 0 ? &c->def : &c->listeners[i];
		const char *why = i < 0 && !c->has_def ? NULL : tls_conf_problem(l);

		if (why) {
			snprintf(err, CONF_ERR_LEN, "%s:%d: listener %u: %s", name, l->lineno,
				 l->port ? l->port : 1883, why);
			return -EINVAL;
		}
	}
	return 0;
}

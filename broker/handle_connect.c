// SPDX-License-Identifier: GPL-2.0
/* CONNECT (MQTT 3.1.1 section 3.1) and its CONNACK. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "broker.h"
#include "log.h"
#include "netutil.h"

static bool str_is(struct mqtt_str s, const char *lit)
{
	return s.len == strlen(lit) && !memcmp(s.p, lit, s.len);
}

/* Refuse with a CONNACK return code, then close [MQTT-3.2.2-5]. */
static int refuse(struct client *c, uint8_t rc, const char *why)
{
	char name[96];

	pr_info("refusing client %s: %s (CONNACK %u)\n", client_name(c, name, sizeof(name)), why,
		rc);
	send_connack(c, false, rc);
	return -ECONNREFUSED;
}

static int check_connect(struct client *c, const struct mqtt_connect *p)
{
	bool v31 = str_is(p->proto_name, MQTT_PROTO_NAME_V31);
	bool v311 = str_is(p->proto_name, MQTT_PROTO_NAME_V311);
	uint32_t lim = c->b->conf.message_size_limit;

	/* [MQTT-3.1.2-1]: not MQTT at all: close without a CONNACK. */
	if (!v31 && !v311)
		return -EPROTO;
	c->level = p->level;
	/* [MQTT-3.1.2-2]: a level we do not speak gets return code 1. */
	if ((v31 && p->level != MQTT_PROTO_V31) || (v311 && p->level != MQTT_PROTO_V311))
		return refuse(c, MQTT_CONNACK_BAD_PROTOCOL, "unsupported protocol level");
	/*
	 * [MQTT-3.1.3-8]: an empty id needs clean session 1 (and
	 * allow_zero_length_clientid); 3.1 needs 1..23 characters.
	 */
	if (!p->client_id.len && (!p->clean || p->level == MQTT_PROTO_V31 ||
				  !client_security(c)->conf->allow_zero_length_clientid))
		return refuse(c, MQTT_CONNACK_ID_REJECTED, "empty client id");
	if (p->level == MQTT_PROTO_V31 && p->client_id.len > MQTT_MAX_CLIENT_ID_V31)
		return refuse(c, MQTT_CONNACK_ID_REJECTED, "client id longer than 23 (MQTT 3.1)");
	/* The will topic is a topic name [MQTT-3.1.3-10]: no wildcards, not empty. */
	if (p->will && !topic_name_valid((const char *)p->will_topic.p, p->will_topic.len))
		return -EPROTO;
	/* retain_available false: a retained will is refused, as Mosquitto closes. */
	if (p->will && p->will_retain && !c->b->conf.retain_available)
		return -EOPNOTSUPP;
	/* As Mosquitto: a will it would not accept as a PUBLISH is not authorised. */
	if (p->will && lim && p->will_msg.len > lim)
		return refuse(c, MQTT_CONNACK_NOT_AUTHORIZED, "will over message_size_limit");
	return 0;
}

static bool is_bridge_user(const struct broker *b, struct mqtt_str u)
{
	int i;

	for (i = 0; i < b->conf.nbridge_users; i++)
		if (str_is(u, b->conf.bridge_users[i]))
			return true;
	return false;
}

/*
 * Who may connect. No user name: allowed only with allow_anonymous (or the
 * listener's listener_allow_anonymous, which comes first). A user
 * name with a password_file: it must be there and the password must match
 * (even with allow_anonymous true, as Mosquitto does); without one, any
 * user name is taken as it is. Every refusal is CONNACK 5 (not
 * authorised), as Mosquitto 2.0 answers 3.1.1 clients. The password flag
 * needs the user name flag [MQTT-3.1.2-22]: the codec already closes such
 * a CONNECT without CONNACK.
 */
static int check_auth(struct client *c, const struct mqtt_connect *p)
{
	struct broker *b = c->b;
	const struct security *sec = client_security(c);
	bool has_pw = p->has_password && p->password.len;
	char user[72], why[160];
	int err;

	if (!p->has_username) {
		if (c->lst && c->lst->conf->anon_set ? !c->lst->conf->anon :
						       !sec->conf->allow_anonymous)
			return refuse(c, MQTT_CONNACK_NOT_AUTHORIZED, "anonymous clients not allowed");
		return 0;
	}
	if (!sec->auth)
		return 0;
	/* An empty password is no password, as Mosquitto reads it (a NULL string). */
	err = auth_check(sec->auth, (const char *)p->username.p, p->username.len,
			 has_pw ? p->password.p : NULL, p->password.len);
	if (!err) {
		c->bridge_user = is_bridge_user(b, p->username);
		return 0;
	}
	/* The reason, the user name; never the password. */
	log_esc(p->username.p, p->username.len, user, sizeof(user));
	if (err == -ENOENT) {
		snprintf(why, sizeof(why), "unknown user '%s'", user);
	} else if (err == -EACCES) {
		snprintf(why, sizeof(why), "%s for user '%s'",
			 has_pw ? "wrong password" : "no password", user);
	} else {
		snprintf(why, sizeof(why), "cannot check the password of user '%s': %s", user,
			 strerror(-err));
		return refuse(c, MQTT_CONNACK_UNAVAILABLE, why);
	}
	return refuse(c, MQTT_CONNACK_NOT_AUTHORIZED, why);
}

/*
 * use_identity_as_username / use_subject_as_username: the client's
 * certificate names it, the CONNECT's user name and password are dropped
 * and no password_file is asked, as Mosquitto does. No certificate (or no
 * usable name in it) is CONNACK 4, bad user name or password, Mosquitto's
 * answer too. q: p with the certificate's name as user name.
 */
static int cert_user(struct client *c, const struct mqtt_connect *p, struct mqtt_connect *q,
		     char *buf, size_t len)
{
	const struct tls_conf *t = &c->lst->conf->tls;
	const char *why;

	if (tls_peer_name(c, t->use_subject_as_username, buf, len, &why))
		return refuse(c, MQTT_CONNACK_BAD_AUTH, why);
	*q = *p;
	q->has_username = true;
	q->username = mqtt_str_c(buf, strlen(buf));
	q->has_password = false;
	q->password = mqtt_str_c("", 0);
	c->bridge_user = is_bridge_user(c->b, q->username);
	return 0;
}

static bool named_by_cert(const struct client *c)
{
	return c->lst && c->lst->tls &&
	       (c->lst->conf->tls.use_identity_as_username || c->lst->conf->tls.use_subject_as_username);
}

/*
 * max_keepalive, as Mosquitto 2.0.12 and later apply it to 3.1/3.1.1
 * clients (CVE-2020-13849): a keep-alive over it, or 0 (never checked),
 * is refused with CONNACK 2; max_keepalive 0 lets every value in.
 */
static int check_keepalive(struct client *c, const struct mqtt_connect *p)
{
	const struct broker_conf *conf = &c->b->conf;
	char why[80];

	if (!conf->max_keepalive_set || !conf->max_keepalive)
		return 0;
	if (p->keepalive && p->keepalive <= conf->max_keepalive)
		return 0;
	snprintf(why, sizeof(why), "keep-alive %u not within max_keepalive %u", p->keepalive,
		 conf->max_keepalive);
	return refuse(c, MQTT_CONNACK_ID_REJECTED, why);
}

/*
 * The bridge bit makes a session a link (LINK_IN): nothing is echoed back
 * to it and retained flags reach it as published, as Mosquitto does for
 * try_private. Only a bridge_user is trusted beyond that (its hellos feed
 * the loop rule), and only for this connection: what an offline session
 * learnt is dropped unless the new connection is trusted too.
 */
static void set_link(struct client *c, struct session *s)
{
	struct broker *b = c->b;

	s->link = c->bridge_peer ? LINK_IN : LINK_NONE;
	s->trusted = c->bridge_peer && c->bridge_user;
	if (c->bridge_peer && !s->link_id)
		s->link_id = ++b->next_link_id;
	if (!c->bridge_peer)
		s->link_id = 0;
	if (c->bridge_peer && !s->trusted && b->conf.nbridge_users) {
		char name[96];

		pr_info("client %s set the bridge bit but is not a bridge_user: %s\n",
			client_name(c, name, sizeof(name)), "not trusted as a bridge");
	}
	if (!s->trusted) {
		mem_free(&b->mem, s->peer_nbrs);
		s->peer_nbrs = NULL;
		s->npeer_nbrs = 0;
		s->peer_id = 0;
	}
}

/*
 * What acl_file checks are made against: this connection's user name and
 * security options, kept in the session so that messages for it while
 * offline are checked too. Messages waiting for it that the new identity
 * may not read are dropped, as Mosquitto does on each connection.
 */
static int set_identity(struct client *c, struct session *s, const struct mqtt_connect *p)
{
	struct broker *b = c->b;
	char *u = NULL;

	if (p->has_username) {
		u = mem_alloc(&b->mem, p->username.len + 1u);
		if (!u)
			return -ENOMEM;
		memcpy(u, p->username.p, p->username.len);
		u[p->username.len] = '\0';
	}
	mem_free(&b->mem, s->username);
	s->username = u;
	s->sec = client_security(c);
	if (s->sec->acl)
		session_acl_recheck(b, s);
	return 0;
}

static void log_connected(struct client *c, const struct mqtt_connect *p)
{
	char addr[PEER_ADDRSTR_LEN], id[72], user[72], u[80] = "";

	/* As Mosquitto's line: the user name, if any, as u'NAME'. */
	if (p->has_username)
		snprintf(u, sizeof(u), ", u'%s'",
			 log_esc(p->username.p, p->username.len, user, sizeof(user)));
	pr_info("new client connected from %s as %s (p%u, c%u, k%u%s)\n",
		peer_addr_fmt(&c->peer, addr, sizeof(addr)),
		log_esc(c->sess->id, c->sess->id_len, id, sizeof(id)), p->level, p->clean,
		p->keepalive, u);
}

int handle_connect(struct client *c, const struct mqtt_connect *p)
{
	struct broker *b = c->b;
	const char *id = (const char *)p->client_id.p;
	size_t id_len = p->client_id.len;
	char auto_id[300], name[72], cert_name[1024];
	struct mqtt_connect by_cert;
	struct session *s;
	bool present = false;
	int err;

	err = check_connect(c, p);
	if (!err && named_by_cert(c)) {
		err = cert_user(c, p, &by_cert, cert_name, sizeof(cert_name));
		p = &by_cert;
	} else if (!err) {
		err = check_auth(c, p);
	}
	if (!err)
		err = check_keepalive(c, p);
	if (err)
		return err;
	if (!id_len) {
		/* [MQTT-3.1.3-6]: assign a unique id, after auto_id_prefix. */
		const char *prefix = client_security(c)->conf->auto_id_prefix;
		int n = snprintf(auto_id, sizeof(auto_id), "%s%llx-%llx", prefix ? prefix : "auto-",
				 (unsigned long long)b->start_ms,
				 (unsigned long long)++b->next_auto_id);

		id_len = n < 0 || (size_t)n >= sizeof(auto_id) ? sizeof(auto_id) - 1 : (size_t)n;
		id = auto_id;
	}
	s = session_find(b, id, id_len);
	/* The local end of one of our bridges: a client taking it over would cut the link. */
	if (s && s->link == LINK_OUT)
		return refuse(c, MQTT_CONNACK_ID_REJECTED, "client id of a local bridge session");
	if (s && s->client) {
		/*
		 * [MQTT-3.1.4-2]: the new connection takes over. The old one's
		 * will goes out only when the session ends with it (either side
		 * asked for a clean session), as Mosquitto 2.0 decides.
		 */
		pr_info("client %s already connected, closing the old connection\n",
			log_esc(s->id, s->id_len, name, sizeof(name)));
		client_close(s->client, s->clean || p->clean, "taken over by a new connection");
		s = session_find(b, id, id_len); /* a clean session was freed by the close */
	}
	if (s && p->clean) {
		session_free(b, s); /* [MQTT-3.1.2-6] */
		s = NULL;
	}
	if (s) {
		present = true; /* [MQTT-3.2.2-2] */
	} else {
		s = session_new(b, id, id_len, p->clean);
		if (!s)
			return refuse(c, MQTT_CONNACK_UNAVAILABLE, "out of memory for the session");
	}
	err = will_set(c, p);
	if (err) {
		if (!present)
			session_free(b, s);
		return refuse(c, MQTT_CONNACK_UNAVAILABLE, "out of memory for the will");
	}
	err = set_identity(c, s, p);
	if (err) {
		will_free(c->will);
		c->will = NULL;
		if (!present)
			session_free(b, s);
		return refuse(c, MQTT_CONNACK_UNAVAILABLE, "out of memory for the user name");
	}
	s->client = c;
	c->sess = s;
	set_link(c, s);
	c->keepalive = p->keepalive;
	c->state = CS_CONNECTED;
	c->last_rx_ms = ev_now_ms(b->loop); /* it was the accept time until now */
	b->st.clients_connected++;
	if (b->st.clients_connected > b->st.clients_max)
		b->st.clients_max = b->st.clients_connected;
	if (b->conf.connection_messages)
		log_connected(c, p);
	send_connack(c, present, MQTT_CONNACK_ACCEPTED);
	if (s->trusted)
		bridge_hello_all(b);
	if (present)
		session_resend(b, s);
	return 0;
}

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

	/* [MQTT-3.1.2-1]: not MQTT at all: close without a CONNACK. */
	if (!v31 && !v311)
		return -EPROTO;
	c->level = p->level;
	/* [MQTT-3.1.2-2]: a level we do not speak gets return code 1. */
	if ((v31 && p->level != MQTT_PROTO_V31) || (v311 && p->level != MQTT_PROTO_V311))
		return refuse(c, MQTT_CONNACK_BAD_PROTOCOL, "unsupported protocol level");
	/* [MQTT-3.1.3-8]: an empty id needs clean session 1; 3.1 needs 1..23 characters. */
	if (!p->client_id.len && (!p->clean || p->level == MQTT_PROTO_V31))
		return refuse(c, MQTT_CONNACK_ID_REJECTED, "empty client id");
	if (p->level == MQTT_PROTO_V31 && p->client_id.len > MQTT_MAX_CLIENT_ID_V31)
		return refuse(c, MQTT_CONNACK_ID_REJECTED, "client id longer than 23 (MQTT 3.1)");
	/* The will topic is a topic name [MQTT-3.1.3-10]: no wildcards, not empty. */
	if (p->will && !topic_name_valid((const char *)p->will_topic.p, p->will_topic.len))
		return -EPROTO;
	return 0;
}

/* A user name fit for a log line: at most 64 bytes, whole UTF-8 characters, no controls. */
static const char *log_user(struct mqtt_str u, char *buf, size_t len)
{
	size_t n = u.len < len - 1 ? u.len : len - 1, i;

	if (n < u.len)
		while (n && (u.p[n] & 0xc0) == 0x80)
			n--;
	for (i = 0; i < n; i++)
		buf[i] = u.p[i] < 0x20 || u.p[i] == 0x7f ? '?' : (char)u.p[i];
	buf[n] = '\0';
	return buf;
}

/*
 * Who may connect. No user name: allowed only with allow_anonymous. A user
 * name with a password_file: it must be there and the password must match
 * (even with allow_anonymous true, as Mosquitto does); without one, any
 * user name is taken as it is. The password flag needs the user name flag
 * [MQTT-3.1.2-22]: the codec already closes such a CONNECT without CONNACK.
 */
static int check_auth(struct client *c, const struct mqtt_connect *p)
{
	struct broker *b = c->b;
	char user[65], why[160];
	int err;

	if (!p->has_username) {
		if (!b->conf.allow_anonymous)
			return refuse(c, MQTT_CONNACK_NOT_AUTHORIZED, "anonymous clients not allowed");
		return 0;
	}
	if (!b->auth)
		return 0;
	err = auth_check(b->auth, (const char *)p->username.p, p->username.len,
			 p->has_password ? p->password.p : NULL, p->password.len);
	if (!err)
		return 0;
	/* The reason, the user name; never the password. */
	log_user(p->username, user, sizeof(user));
	if (err == -ENOENT) {
		snprintf(why, sizeof(why), "unknown user '%s'", user);
	} else if (err == -EACCES) {
		snprintf(why, sizeof(why), "%s for user '%s'",
			 p->has_password ? "wrong password" : "no password", user);
	} else {
		snprintf(why, sizeof(why), "cannot check the password of user '%s': %s", user,
			 strerror(-err));
		return refuse(c, MQTT_CONNACK_UNAVAILABLE, why);
	}
	return refuse(c, MQTT_CONNACK_BAD_AUTH, why);
}

int handle_connect(struct client *c, const struct mqtt_connect *p)
{
	struct broker *b = c->b;
	const char *id = (const char *)p->client_id.p;
	size_t id_len = p->client_id.len;
	char auto_id[40], addr[NET_ADDRSTR_LEN];
	struct session *s;
	bool present = false;
	int err;

	err = check_connect(c, p);
	if (!err)
		err = check_auth(c, p);
	if (err)
		return err;
	if (!id_len) {
		/* [MQTT-3.1.3-6]: assign a unique id. */
		id_len = (size_t)snprintf(auto_id, sizeof(auto_id), "auto-%llx-%llx",
					  (unsigned long long)b->start_ms,
					  (unsigned long long)++b->next_auto_id);
		id = auto_id;
	}
	s = session_find(b, id, id_len);
	/* The local end of one of our bridges: a client taking it over would cut the link. */
	if (s && s->link == LINK_OUT)
		return refuse(c, MQTT_CONNACK_ID_REJECTED, "client id of a local bridge session");
	if (s && s->client) {
		/* [MQTT-3.1.4-2]: the new connection takes over; the old one's will goes out. */
		pr_info("client %s already connected, closing the old connection\n", s->id);
		client_close(s->client, true, "taken over by a new connection");
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
	s->client = c;
	c->sess = s;
	/* The peer said it is a bridge: the loop rule (bridge.c) needs its link id. */
	s->link = c->bridge_peer ? LINK_IN : LINK_NONE;
	if (c->bridge_peer && !s->link_id)
		s->link_id = ++b->next_link_id;
	if (!c->bridge_peer)
		s->link_id = 0;
	c->keepalive = p->keepalive;
	c->state = CS_CONNECTED;
	b->st.clients_connected++;
	if (b->st.clients_connected > b->st.clients_max)
		b->st.clients_max = b->st.clients_connected;
	if (b->conf.connection_messages) {
		char name[65], user[72] = "";

		/* As Mosquitto's line: the user name, if any, as u'NAME'. */
		if (p->has_username)
			snprintf(user, sizeof(user), ", u'%s'",
				 log_user(p->username, name, sizeof(name)));
		pr_info("new client connected from %s as %s (p%u, c%u, k%u%s)\n",
			net_fmt_ipv4_port(c->peer_addr, c->peer_port, addr, sizeof(addr)), s->id,
			p->level, p->clean, p->keepalive, user);
	}
	send_connack(c, present, MQTT_CONNACK_ACCEPTED);
	if (c->bridge_peer)
		bridge_hello_all(b);
	if (present) {
		session_resend(b, s);
		session_pump(b, s);
	}
	return 0;
}

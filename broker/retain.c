// SPDX-License-Identifier: GPL-2.0
/*
 * Retained messages, kept in the topic tree node of their topic. With
 * check_retain_source (Mosquitto's answer to CVE-2018-12546) each keeps
 * who published it, and goes to a new subscriber only while that
 * publisher would still be allowed to write it: an ACL taken away later
 * takes the retained message with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "broker.h"

/* Remember src as n's publisher (NULL: the broker or a bridge, never checked). */
static void retain_src_set(struct tnode *n, const struct session *src)
{
	struct retain_src *r;

	retain_src_free(n);
	if (!src || !src->sec)
		return;
	r = malloc(sizeof(*r) + src->id_len + 1);
	if (!r)
		return;
	memcpy(r->id, src->id, src->id_len + 1u);
	r->sec = src->sec;
	r->user = src->username ? strdup(src->username) : NULL;
	if (src->username && !r->user) {
		free(r);
		return;
	}
	n->rsrc = r;
}

void retain_store(struct broker *b, struct msg *m, const struct session *src)
{
	struct tnode *n;

	/*
	 * [MQTT-3.3.1-10], [MQTT-3.3.1-11]: an empty retained payload clears
	 * the topic's retained message and is not stored itself.
	 */
	if (!m->payload_len) {
		n = tree_get(&b->tree, m->topic, m->topic_len, false);
		if (n && n->retained) {
			msg_put(&b->mem, n->retained);
			n->retained = NULL;
			retain_src_free(n);
			b->nretained--;
			store_changed(b);
			tree_prune(&b->tree, n);
		}
		return;
	}
	n = tree_get(&b->tree, m->topic, m->topic_len, true);
	if (!n)
		return;
	m = msg_hold(&b->mem, m);
	if (!m) {
		tree_prune(&b->tree, n);
		return;
	}
	/* [MQTT-3.3.1-7]: a new retained message replaces the previous one. */
	if (n->retained)
		msg_put(&b->mem, n->retained);
	else
		b->nretained++;
	n->retained = m;
	store_changed(b);
	if (b->conf.check_retain_source)
		retain_src_set(n, src);
	else
		retain_src_free(n);
}

bool retain_readable(struct broker *b, const struct tnode *n, const struct session *s)
{
	const struct msg *m = n->retained;
	const struct retain_src *r = n->rsrc;

	if (!session_may(s, m->topic, m->topic_len, ACL_READ))
		return false;
	if (!b->conf.check_retain_source || !r)
		return true;
	return security_allows(r->sec, r->id, r->user, m->topic, m->topic_len, ACL_WRITE);
}

int retain_src_restore(struct broker *b, const struct msg *m, const struct security *sec,
		       const char *id, const char *user, uint16_t user_len)
{
	struct tnode *n = tree_get(&b->tree, m->topic, m->topic_len, false);
	size_t idl = strlen(id);
	struct retain_src *r;

	if (!n || !n->retained)
		return 0;
	retain_src_free(n);
	r = malloc(sizeof(*r) + idl + 1);
	if (!r)
		return -ENOMEM;
	memcpy(r->id, id, idl + 1);
	r->sec = sec;
	r->user = user ? strndup(user, user_len) : NULL;
	if (user && !r->user) {
		free(r);
		return -ENOMEM;
	}
	n->rsrc = r;
	return 0;
}

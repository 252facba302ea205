// SPDX-License-Identifier: GPL-2.0
/*
 * The topic tree: one node per topic level, holding the subscriptions of
 * the filter that ends there and the retained message of the topic that
 * ends there.
 *
 * Wildcards (MQTT 3.1.1 section 4.7.1):
 *  - '/' separates levels; empty levels are levels ("a//b" has three);
 *  - '+' matches exactly one level, any content, including an empty one;
 *  - '#' matches any number of levels, including zero, so "a/#" matches
 *    "a" as well as "a/b/c" [MQTT-4.7.1-2]; it must be the last level;
 *  - a filter whose first level is a wildcard does not match topics that
 *    start with '$' [MQTT-4.7.2-1], so "#" never sees "$SYS/...".
 *
 * Children are found through one hash table of edges keyed by (parent,
 * level name), so a node with 100,000 children ("bench/N") costs the same
 * to walk as one with two; each node also keeps a sibling list, which only
 * retained-message lookups with wildcards and pruning use.
 *
 * Overlapping subscriptions: when several filters of one client match a
 * topic, the client gets one copy at the highest QoS of those filters (the
 * choice 3.1.1 section 3.3.5 allows). sub_match() deduplicates with a
 * per-session generation stamp, O(1) per match.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

static uint32_t edge_hash(const struct tnode *parent, const char *name, size_t len)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ull;
	size_t i;

	/* FNV-1a over the name, seeded by the parent pointer */
	h ^= 0xcbf29ce484222325ull;
	for (i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

int tree_init(struct topic_tree *t)
{
	memset(t, 0, sizeof(*t));
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->root = calloc(1, sizeof(*t->root));
	if (!t->buckets || !t->root) {
		free(t->buckets);
		free(t->root);
		return -ENOMEM;
	}
	return 0;
}

static void node_free_rec(struct tnode *n)
{
	struct tnode *c = n->child, *next;

	for (; c; c = next) {
		next = c->sib_next;
		node_free_rec(c);
	}
	msg_put(n->retained);
	free(n->subs);
	free(n);
}

void tree_free(struct topic_tree *t)
{
	if (t->root)
		node_free_rec(t->root);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static struct tnode *child_find(const struct topic_tree *t, const struct tnode *parent,
				const char *name, size_t len)
{
	uint32_t h = edge_hash(parent, name, len);
	struct tnode *n;

	for (n = t->buckets[h & (t->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->parent == parent && n->len == len &&
		    !memcmp(n->name, name, len))
			return n;
	return NULL;
}

static void tree_grow(struct topic_tree *t)
{
	uint32_t nb = t->nbuckets * 2, i;
	struct tnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* keep the longer chains; still correct */
	for (i = 0; i < t->nbuckets; i++) {
		struct tnode *n = t->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

static struct tnode *child_add(struct topic_tree *t, struct tnode *parent, const char *name,
			       size_t len)
{
	struct tnode *n = calloc(1, sizeof(*n) + len + 1);
	uint32_t slot;

	if (!n)
		return NULL;
	n->parent = parent;
	n->len = (uint16_t)len;
	memcpy(n->name, name, len);
	n->hash = edge_hash(parent, name, len);
	slot = n->hash & (t->nbuckets - 1);
	n->hnext = t->buckets[slot];
	t->buckets[slot] = n;
	n->sib_next = parent->child;
	if (parent->child)
		parent->child->sib_prev = n;
	parent->child = n;
	if (++t->nnodes > t->nbuckets)
		tree_grow(t);
	return n;
}

struct tnode *tree_get(struct topic_tree *t, const char *path, size_t len, bool create)
{
	struct tnode *n = t->root;
	size_t i = 0;

	for (;;) {
		size_t e = i;
		struct tnode *c;

		while (e < len && path[e] != '/')
			e++;
		c = child_find(t, n, path + i, e - i);
		if (!c) {
			if (!create)
				return NULL;
			c = child_add(t, n, path + i, e - i);
			if (!c)
				return NULL;
		}
		n = c;
		if (e >= len)
			return n;
		i = e + 1;
	}
}

void tree_prune(struct topic_tree *t, struct tnode *n)
{
	while (n && n != t->root && !n->child && !n->nsubs && !n->retained) {
		struct tnode *parent = n->parent, **pp;

		pp = &t->buckets[n->hash & (t->nbuckets - 1)];
		while (*pp != n)
			pp = &(*pp)->hnext;
		*pp = n->hnext;
		if (n->sib_prev)
			n->sib_prev->sib_next = n->sib_next;
		else
			parent->child = n->sib_next;
		if (n->sib_next)
			n->sib_next->sib_prev = n->sib_prev;
		free(n->subs);
		free(n);
		t->nnodes--;
		n = parent;
	}
}

static void match_collect(struct match_ctx *mc, const struct tnode *n)
{
	uint32_t i;

	for (i = 0; i < n->nsubs; i++) {
		struct session *s = n->subs[i].s;
		uint8_t qos = n->subs[i].qos;

		if (s->match_gen == mc->gen) {
			if (mc->v[s->match_idx].qos < qos)
				mc->v[s->match_idx].qos = qos;
			continue;
		}
		if (mc->n == mc->cap) {
			uint32_t cap = mc->cap ? mc->cap * 2 : 64;
			struct sub_ent *v = realloc(mc->v, cap * sizeof(*v));

			if (!v)
				return; /* the matches found so far still get delivered */
			mc->v = v;
			mc->cap = cap;
		}
		s->match_gen = mc->gen;
		s->match_idx = mc->n;
		mc->v[mc->n].s = s;
		mc->v[mc->n++].qos = qos;
	}
}

/* The topic ended at n: n's own filter, and "n/#" which also matches its parent level. */
static void match_end(const struct topic_tree *t, struct match_ctx *mc, const struct tnode *n)
{
	const struct tnode *c = child_find(t, n, "#", 1);

	match_collect(mc, n);
	if (c)
		match_collect(mc, c);
}

static void match_level(const struct topic_tree *t, struct match_ctx *mc, const struct tnode *n,
			const char *topic, size_t len, size_t i, bool first)
{
	bool dollar = first && len && topic[0] == '$';
	const struct tnode *c;
	size_t e = i;

	while (e < len && topic[e] != '/')
		e++;
	if (!dollar) {
		c = child_find(t, n, "#", 1);
		if (c)
			match_collect(mc, c);
		c = child_find(t, n, "+", 1);
		if (c) {
			if (e >= len)
				match_end(t, mc, c);
			else
				match_level(t, mc, c, topic, len, e + 1, false);
		}
	}
	c = child_find(t, n, topic + i, e - i);
	if (c) {
		if (e >= len)
			match_end(t, mc, c);
		else
			match_level(t, mc, c, topic, len, e + 1, false);
	}
}

int sub_match(struct topic_tree *t, struct match_ctx *mc, const char *topic, size_t len)
{
	mc->n = 0;
	if (++mc->gen == 0)
		mc->gen = 1; /* sessions start at 0: never reuse it as a live stamp */
	match_level(t, mc, t->root, topic, len, 0, true);
	return (int)mc->n;
}

int sub_add(struct topic_tree *t, struct session *s, const char *filter, size_t len, uint8_t qos)
{
	struct tnode *n = tree_get(t, filter, len, true);
	uint32_t i;

	if (!n)
		return -ENOMEM;
	/* [MQTT-3.8.4-3]: an identical filter replaces the existing subscription. */
	for (i = 0; i < s->nsubs; i++) {
		if (s->subs[i].node == n) {
			uint32_t k;

			s->subs[i].qos = qos;
			for (k = 0; k < n->nsubs; k++)
				if (n->subs[k].s == s)
					n->subs[k].qos = qos;
			return 0;
		}
	}
	if (s->nsubs == s->subs_cap) {
		uint32_t cap = s->subs_cap ? s->subs_cap * 2 : 1;
		struct sess_sub *v = realloc(s->subs, cap * sizeof(*v));

		if (!v)
			goto out_prune;
		s->subs = v;
		s->subs_cap = cap;
	}
	if (n->nsubs == n->subs_cap) {
		uint32_t cap = n->subs_cap ? n->subs_cap * 2 : 1;
		struct sub_ent *v = realloc(n->subs, cap * sizeof(*v));

		if (!v)
			goto out_prune;
		n->subs = v;
		n->subs_cap = cap;
	}
	n->subs[n->nsubs].s = s;
	n->subs[n->nsubs++].qos = qos;
	s->subs[s->nsubs].node = n;
	s->subs[s->nsubs++].qos = qos;
	return 1;

out_prune:
	tree_prune(t, n);
	return -ENOMEM;
}

static void node_unsub(struct topic_tree *t, struct tnode *n, struct session *s)
{
	uint32_t k;

	for (k = 0; k < n->nsubs; k++) {
		if (n->subs[k].s == s) {
			n->subs[k] = n->subs[--n->nsubs];
			break;
		}
	}
	if (!n->nsubs) {
		free(n->subs);
		n->subs = NULL;
		n->subs_cap = 0;
	}
	tree_prune(t, n);
}

int sub_remove(struct topic_tree *t, struct session *s, const char *filter, size_t len)
{
	struct tnode *n = tree_get(t, filter, len, false);
	uint32_t i;

	if (!n)
		return -ENOENT;
	for (i = 0; i < s->nsubs; i++) {
		if (s->subs[i].node == n) {
			s->subs[i] = s->subs[--s->nsubs];
			node_unsub(t, n, s);
			return 0;
		}
	}
	return -ENOENT;
}

void sub_remove_all(struct topic_tree *t, struct session *s)
{
	while (s->nsubs)
		node_unsub(t, s->subs[--s->nsubs].node, s);
	free(s->subs);
	s->subs = NULL;
	s->subs_cap = 0;
}

struct rwalk {
	void (*fn)(void *arg, struct msg *m);
	void *arg;
};

static void retain_all(const struct tnode *n, const struct rwalk *w, bool skip_dollar)
{
	const struct tnode *c;

	if (n->retained)
		w->fn(w->arg, n->retained);
	for (c = n->child; c; c = c->sib_next)
		if (!(skip_dollar && c->len && c->name[0] == '$'))
			retain_all(c, w, false);
}

static void retain_level(const struct topic_tree *t, const struct tnode *n, const char *f,
			 size_t len, size_t i, const struct rwalk *w)
{
	bool first = n == t->root;
	const struct tnode *c;
	size_t e = i;

	while (e < len && f[e] != '/')
		e++;
	if (e - i == 1 && f[i] == '#') {
		/* "a/#" also matches "a" itself, but the root is no topic */
		if (!first && n->retained)
			w->fn(w->arg, n->retained);
		for (c = n->child; c; c = c->sib_next)
			if (!(first && c->len && c->name[0] == '$'))
				retain_all(c, w, false);
		return;
	}
	if (e - i == 1 && f[i] == '+') {
		for (c = n->child; c; c = c->sib_next) {
			if (first && c->len && c->name[0] == '$')
				continue; /* [MQTT-4.7.2-1] */
			if (e >= len) {
				if (c->retained)
					w->fn(w->arg, c->retained);
			} else {
				retain_level(t, c, f, len, e + 1, w);
			}
		}
		return;
	}
	c = child_find(t, n, f + i, e - i);
	if (!c)
		return;
	if (e >= len) {
		if (c->retained)
			w->fn(w->arg, c->retained);
		/* "a" then "#" child handled by the caller's next level only */
		return;
	}
	retain_level(t, c, f, len, e + 1, w);
}

void retain_walk(struct topic_tree *t, const char *filter, size_t len,
		 void (*fn)(void *arg, struct msg *m), void *arg)
{
	struct rwalk w = { fn, arg };

	retain_level(t, t->root, filter, len, 0, &w);
}

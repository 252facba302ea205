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
 * to walk as one with two. Level names come from clients, so the hash is
 * SipHash with a random key: nobody can pick names that share a bucket.
 * The "+" and "#" children, wanted at every level of every match, are
 * only looked up where a flag says they exist. Each node keeps a sibling
 * list: a node of at most SMALL_NODE children (most of them: the top
 * levels, a subscriber's own branch) is searched through that list, which
 * costs less than hashing the level; a client cannot make that scan
 * longer than SMALL_NODE. Retained-message lookups with wildcards and
 * pruning use the list too.
 *
 * Depth: tree_get() refuses paths of more than BROKER_TOPIC_MAX_SEPARATORS
 * separators, so no walk here goes deeper than that; the walks over whole
 * subtrees (free, retained "#") follow parent links instead of recursing.
 *
 * Overlapping subscriptions: when several filters of one client match a
 * topic, the client gets one copy at the highest QoS of those filters (the
 * choice 3.1.1 section 3.3.5 allows). sub_match() deduplicates with a
 * per-session generation stamp, O(1) per match.
 */
#include <errno.h>
#include <string.h>

#include "broker.h"

/* A session with more subscriptions than this finds them through sub_index. */
#define SUB_SCAN_MAX 8
/*
 * Children of a node found by comparing names along its list: four short
 * compares cost about what one SipHash of a level does.
 */
#define SMALL_NODE 4

/* An edge's hash: the level name's keyed hash, mixed with its parent. */
static uint32_t edge_mix(const struct tnode *parent, uint64_t name_h)
{
	uint64_t h = name_h ^ (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t edge_hash(const struct topic_tree *t, const struct tnode *parent,
			  const char *name, size_t len)
{
	return edge_mix(parent, siphash13(&t->key, name, len));
}

int tree_init(struct topic_tree *t, struct mem_budget *mem)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->mem = mem;
	err = siphash_key_random(&t->key);
	if (err)
		return err;
	/* Looked up at most levels of every match: hashed once here. */
	t->plus_h = siphash13(&t->key, "+", 1);
	t->hash_h = siphash13(&t->key, "#", 1);
	t->nbuckets = 1024;
	t->buckets = mem_zalloc(mem, t->nbuckets * sizeof(*t->buckets));
	t->root = mem_zalloc(mem, sizeof(*t->root));
	if (!t->buckets || !t->root) {
		mem_free(mem, t->buckets);
		mem_free(mem, t->root);
		t->buckets = NULL;
		t->root = NULL;
		return -ENOMEM;
	}
	return 0;
}

void retain_src_free(struct tnode *n)
{
	if (!n->rsrc)
		return;
	free(n->rsrc->user);
	free(n->rsrc);
	n->rsrc = NULL;
}

static void node_free(struct topic_tree *t, struct tnode *n)
{
	msg_put(t->mem, n->retained);
	retain_src_free(n);
	mem_free(t->mem, n->subs);
	mem_free(t->mem, n);
}

void tree_free(struct topic_tree *t)
{
	struct tnode *n = t->root;

	/* Leaves first, by the parent links: no recursion as deep as the tree. */
	while (n) {
		struct tnode *parent;

		if (n->child) {
			n = n->child;
			continue;
		}
		parent = n->parent;
		if (parent)
			parent->child = n->sib_next;
		node_free(t, n);
		n = parent;
	}
	mem_free(t->mem, t->buckets);
	memset(t, 0, sizeof(*t));
}

static struct tnode *child_find_h(const struct topic_tree *t, const struct tnode *parent,
				  const char *name, size_t len, uint32_t h)
{
	struct tnode *n;

	for (n = t->buckets[h & (t->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->parent == parent && n->len == len &&
		    !memcmp(n->name, name, len))
			return n;
	return NULL;
}

static struct tnode *child_scan(const struct tnode *parent, const char *name, size_t len)
{
	struct tnode *n;

	for (n = parent->child; n; n = n->sib_next)
		if (n->len == len && (!len || (n->name[0] == name[0] && !memcmp(n->name, name, len))))
			return n;
	return NULL;
}

static struct tnode *child_find(const struct topic_tree *t, const struct tnode *parent,
				const char *name, size_t len)
{
	if (parent->nchild <= SMALL_NODE)
		return child_scan(parent, name, len);
	return child_find_h(t, parent, name, len, edge_hash(t, parent, name, len));
}

static void tree_grow(struct topic_tree *t)
{
	uint32_t nb = t->nbuckets * 2, i;
	struct tnode **b = mem_zalloc(t->mem, nb * sizeof(*b));

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
	mem_free(t->mem, t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

static bool is_level(const char *name, size_t len, char c)
{
	return len == 1 && name[0] == c;
}

static struct tnode *child_add(struct topic_tree *t, struct tnode *parent, const char *name,
			       size_t len)
{
	struct tnode *n = mem_zalloc(t->mem, FLEX_SIZE(struct tnode, name, len + 1));
	uint32_t slot;

	if (!n)
		return NULL;
	n->parent = parent;
	n->len = (uint16_t)len;
	memcpy(n->name, name, len);
	n->hash = edge_hash(t, parent, name, len);
	slot = n->hash & (t->nbuckets - 1);
	n->hnext = t->buckets[slot];
	t->buckets[slot] = n;
	n->sib_next = parent->child;
	if (parent->child)
		parent->child->sib_prev = n;
	parent->child = n;
	parent->nchild++;
	if (is_level(name, len, '+'))
		parent->wild |= TNODE_HAS_PLUS;
	else if (is_level(name, len, '#'))
		parent->wild |= TNODE_HAS_HASH;
	if (++t->nnodes > t->nbuckets)
		tree_grow(t);
	return n;
}

struct tnode *tree_get(struct topic_tree *t, const char *path, size_t len, bool create)
{
	struct tnode *n = t->root;
	unsigned int seps = 0;
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
		/* topic.c checked it; this bounds the tree's depth whatever the caller. */
		if (++seps > BROKER_TOPIC_MAX_SEPARATORS)
			return NULL;
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
		parent->nchild--;
		if (is_level(n->name, n->len, '+'))
			parent->wild &= (uint8_t)~TNODE_HAS_PLUS;
		else if (is_level(n->name, n->len, '#'))
			parent->wild &= (uint8_t)~TNODE_HAS_HASH;
		node_free(t, n);
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
			struct sub_ent *v = mem_realloc(mc->mem, mc->v, cap * sizeof(*v));

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

static const struct tnode *wild_child(const struct topic_tree *t, const struct tnode *n,
				     uint8_t bit)
{
	if (!(n->wild & bit))
		return NULL;
	if (n->nchild <= SMALL_NODE)
		return child_scan(n, bit == TNODE_HAS_PLUS ? "+" : "#", 1);
	if (bit == TNODE_HAS_PLUS)
		return child_find_h(t, n, "+", 1, edge_mix(n, t->plus_h));
	return child_find_h(t, n, "#", 1, edge_mix(n, t->hash_h));
}

/* The topic ended at n: n's own filter, and "n/#" which also matches its parent level. */
static void match_end(const struct topic_tree *t, struct match_ctx *mc, const struct tnode *n)
{
	const struct tnode *c = wild_child(t, n, TNODE_HAS_HASH);

	match_collect(mc, n);
	if (c)
		match_collect(mc, c);
}

/*
 * One level of the topic. Recursion goes one level deeper per call, so
 * its depth is at most the topic's levels, which topic.c bounds at
 * BROKER_TOPIC_MAX_SEPARATORS + 1.
 */
static void match_level(const struct topic_tree *t, struct match_ctx *mc, const struct tnode *n,
			const char *topic, size_t len, size_t i, bool first)
{
	bool dollar = first && len && topic[0] == '$';
	const struct tnode *c;
	size_t e = i;

	while (e < len && topic[e] != '/')
		e++;
	if (!dollar) {
		c = wild_child(t, n, TNODE_HAS_HASH);
		if (c)
			match_collect(mc, c);
		c = wild_child(t, n, TNODE_HAS_PLUS);
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

/*
 * Which of a session's subscriptions is on node n. Few: a scan. Many: an
 * open-addressing index of node pointer -> position + 1, so that one
 * SUBSCRIBE of tens of thousands of filters is not quadratic.
 */
static uint32_t index_home(const struct tnode *n, uint32_t cap)
{
	return (uint32_t)(((uint64_t)(uintptr_t)n * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static long sub_find(const struct session *s, const struct tnode *n)
{
	uint32_t i, mask = s->sub_index_cap - 1, v;

	if (!s->sub_index) {
		for (i = 0; i < s->nsubs; i++)
			if (s->subs[i].node == n)
				return i;
		return -1;
	}
	for (i = index_home(n, s->sub_index_cap);; i = (i + 1) & mask) {
		v = s->sub_index[i];
		if (!v)
			return -1;
		if (s->subs[v - 1].node == n)
			return v - 1;
	}
}

static uint32_t *index_slot(struct session *s, const struct tnode *n)
{
	uint32_t i, mask = s->sub_index_cap - 1;

	for (i = index_home(n, s->sub_index_cap);; i = (i + 1) & mask)
		if (!s->sub_index[i] || s->subs[s->sub_index[i] - 1].node == n)
			return &s->sub_index[i];
}

/* Remove n's entry, shifting back the entries that probed past it (no tombstones). */
static void index_delete(struct session *s, const struct tnode *n)
{
	uint32_t mask = s->sub_index_cap - 1, *hole = index_slot(s, n);
	uint32_t i = (uint32_t)(hole - s->sub_index), j = i, v;

	s->sub_index[i] = 0;
	for (;;) {
		j = (j + 1) & mask;
		v = s->sub_index[j];
		if (!v)
			return;
		/* It may fill the hole when its probe run from home passed through i. */
		if (((j - index_home(s->subs[v - 1].node, s->sub_index_cap)) & mask) >=
		    ((j - i) & mask)) {
			s->sub_index[i] = v;
			s->sub_index[j] = 0;
			i = j;
		}
	}
}

static int index_rebuild(struct mem_budget *mem, struct session *s, uint32_t cap)
{
	uint32_t *v = mem_zalloc(mem, cap * sizeof(*v)), i;

	if (!v)
		return -ENOMEM;
	mem_free(mem, s->sub_index);
	s->sub_index = v;
	s->sub_index_cap = cap;
	for (i = 0; i < s->nsubs; i++)
		*index_slot(s, s->subs[i].node) = i + 1;
	return 0;
}

/* Room for one more subscription on both sides and in the index. */
static int sub_reserve(struct topic_tree *t, struct session *s, struct tnode *n)
{
	uint32_t want = s->nsubs + 1;

	if (s->nsubs == s->subs_cap) {
		uint32_t cap = s->subs_cap ? s->subs_cap * 2 : 1;
		struct sess_sub *v = mem_realloc(t->mem, s->subs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->subs = v;
		s->subs_cap = cap;
	}
	if (n->nsubs == n->subs_cap) {
		uint32_t cap = n->subs_cap ? n->subs_cap * 2 : 1;
		struct sub_ent *v = mem_realloc(t->mem, n->subs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		n->subs = v;
		n->subs_cap = cap;
	}
	if (want > SUB_SCAN_MAX && want * 2 > s->sub_index_cap)
		return index_rebuild(t->mem, s, s->sub_index_cap ? s->sub_index_cap * 2 : 32);
	return 0;
}

int sub_add(struct topic_tree *t, struct session *s, const char *filter, size_t len, uint8_t qos)
{
	struct tnode *n = tree_get(t, filter, len, true);
	long i;

	if (!n)
		return -ENOMEM;
	/* [MQTT-3.8.4-3]: an identical filter replaces the existing subscription. */
	i = sub_find(s, n);
	if (i >= 0) {
		s->subs[i].qos = qos;
		n->subs[s->subs[i].nidx].qos = qos;
		return 0;
	}
	if (sub_reserve(t, s, n)) {
		tree_prune(t, n);
		return -ENOMEM;
	}
	n->subs[n->nsubs] = (struct sub_ent){ s, s->nsubs, qos };
	s->subs[s->nsubs] = (struct sess_sub){ n, n->nsubs, qos };
	n->nsubs++;
	s->nsubs++;
	if (s->sub_index)
		*index_slot(s, n) = s->nsubs;
	return 1;
}

/* Drop subscription i of s: O(1) on both sides, each fixing the index the other holds. */
static void sub_remove_at(struct topic_tree *t, struct session *s, uint32_t i)
{
	struct tnode *n = s->subs[i].node;
	uint32_t k = s->subs[i].nidx, last;

	last = --n->nsubs;
	if (k != last) {
		n->subs[k] = n->subs[last];
		n->subs[k].s->subs[n->subs[k].sidx].nidx = k;
	}
	if (s->sub_index)
		index_delete(s, n);
	last = --s->nsubs;
	if (i != last) {
		s->subs[i] = s->subs[last];
		s->subs[i].node->subs[s->subs[i].nidx].sidx = i;
		if (s->sub_index)
			*index_slot(s, s->subs[i].node) = i + 1;
	}
	if (!n->nsubs) {
		mem_free(t->mem, n->subs);
		n->subs = NULL;
		n->subs_cap = 0;
	}
	tree_prune(t, n);
}

int sub_remove(struct topic_tree *t, struct session *s, const char *filter, size_t len)
{
	struct tnode *n = tree_get(t, filter, len, false);
	long i = n ? sub_find(s, n) : -1;

	if (i < 0)
		return -ENOENT;
	sub_remove_at(t, s, (uint32_t)i);
	return 0;
}

void sub_remove_all(struct topic_tree *t, struct session *s)
{
	/* From the end: nothing moves on the session's side, so no index to keep. */
	mem_free(t->mem, s->sub_index);
	s->sub_index = NULL;
	s->sub_index_cap = 0;
	while (s->nsubs)
		sub_remove_at(t, s, s->nsubs - 1);
	mem_free(t->mem, s->subs);
	s->subs = NULL;
	s->subs_cap = 0;
}

struct rwalk {
	void (*fn)(void *arg, const struct tnode *n);
	void *arg;
};

/* Every retained message at or below top, in pre-order, by the parent links. */
static void retain_all(const struct tnode *top, const struct rwalk *w)
{
	const struct tnode *n = top;

	for (;;) {
		if (n->retained)
			w->fn(w->arg, n);
		if (n->child) {
			n = n->child;
			continue;
		}
		while (n != top && !n->sib_next)
			n = n->parent;
		if (n == top)
			return;
		n = n->sib_next;
	}
}

/* One level of the filter; recursion as deep as its levels, which topic.c bounds. */
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
			w->fn(w->arg, n);
		for (c = n->child; c; c = c->sib_next)
			if (!(first && c->len && c->name[0] == '$'))
				retain_all(c, w);
		return;
	}
	if (e - i == 1 && f[i] == '+') {
		for (c = n->child; c; c = c->sib_next) {
			if (first && c->len && c->name[0] == '$')
				continue; /* [MQTT-4.7.2-1] */
			if (e >= len) {
				if (c->retained)
					w->fn(w->arg, c);
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
			w->fn(w->arg, c);
		/* "a" then "#" child handled by the caller's next level only */
		return;
	}
	retain_level(t, c, f, len, e + 1, w);
}

void retain_each(struct topic_tree *t, void (*fn)(void *arg, const struct tnode *n), void *arg)
{
	struct rwalk w = { fn, arg };

	retain_all(t->root, &w);
}

size_t tree_path(const struct tnode *n, char *buf, size_t cap)
{
	const struct tnode *p;
	size_t len = 0, at;

	for (p = n; p->parent; p = p->parent)
		len += p->len + (p != n);
	if (len >= cap)
		return 0;
	at = len;
	for (p = n; p->parent; p = p->parent) {
		at -= p->len;
		memcpy(buf + at, p->name, p->len);
		if (p->parent->parent)
			buf[--at] = '/';
	}
	buf[len] = '\0';
	return len;
}

void retain_walk(struct topic_tree *t, const char *filter, size_t len,
		 void (*fn)(void *arg, const struct tnode *n), void *arg)
{
	struct rwalk w = { fn, arg };

	retain_level(t, t->root, filter, len, 0, &w);
}

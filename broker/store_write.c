// SPDX-License-Identifier: GPL-2.0
/*
 * The broker's persistent state serialised into one buffer, on the event
 * loop, in one go (so it is one consistent snapshot); store.c writes the
 * buffer out from a thread. What is saved, as Mosquitto saves it:
 * retained messages, and every persistent (clean session 0) session with
 * its subscriptions, its in-flight window, its queue and its inbound QoS
 * 2 messages awaiting PUBREL. Clean sessions end with their connection and
 * are not saved. Messages under $SYS are the broker's own and are made
 * again after a restart: not saved either, as in Mosquitto.
 *
 * A message shared by many sessions is written once (STORE_REC_MSG, an id
 * per message in file order), and referred to by id: a pointer-to-id table
 * lives for the duration of one save.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "store.h"

struct sbuf {
	uint8_t *p;
	size_t len, cap;
	size_t rec;		/* where the record being written starts */
	uint64_t nrec;
	int err;
};

struct msg_ids {
	const struct msg **keys;
	uint32_t *ids;
	uint32_t cap, n;	/* cap a power of two; n ids given */
};

struct saver {
	struct broker *b;
	struct sbuf out;
	struct msg_ids ids;
	struct store_stats *st;
	char *path;		/* a filter, MQTT_MAX_STR + 1 */
};

static void reserve(struct sbuf *o, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (o->err || o->cap - o->len >= n)
		return;
	for (cap = o->cap ? o->cap : 65536; cap - o->len < n; cap *= 2)
		;
	p = realloc(o->p, cap);
	if (!p) {
		o->err = -ENOMEM;
		return;
	}
	o->p = p;
	o->cap = cap;
}

static void put(struct sbuf *o, const void *d, size_t n)
{
	reserve(o, n);
	if (o->err)
		return;
	memcpy(o->p + o->len, d, n);
	o->len += n;
}

static void put_u8(struct sbuf *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put_u16(struct sbuf *o, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(o, b, 2);
}

static void put_u32(struct sbuf *o, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(o, b, 4);
}

static void put_u64(struct sbuf *o, uint64_t v)
{
	put_u32(o, (uint32_t)(v >> 32));
	put_u32(o, (uint32_t)v);
}

static void put_str(struct sbuf *o, const char *s, size_t n)
{
	put_u16(o, (uint16_t)n);
	put(o, s, n);
}

static void rec_begin(struct sbuf *o, enum store_rec type)
{
	o->rec = o->len;
	put_u8(o, (uint8_t)type);
	put_u32(o, 0); /* length, filled in by rec_end() */
}

static void rec_end(struct sbuf *o)
{
	uint32_t body;

	if (o->err)
		return;
	body = (uint32_t)(o->len - o->rec - 5);
	o->p[o->rec + 1] = (uint8_t)(body >> 24);
	o->p[o->rec + 2] = (uint8_t)(body >> 16);
	o->p[o->rec + 3] = (uint8_t)(body >> 8);
	o->p[o->rec + 4] = (uint8_t)body;
	put_u32(o, crc32c(0, o->p + o->rec, o->len - o->rec));
	o->nrec++;
}

static uint32_t ptr_home(const struct msg *m, uint32_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)m * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) & (cap - 1);
}

static int ids_grow(struct msg_ids *t)
{
	uint32_t cap = t->cap ? t->cap * 2 : 1024, i, j;
	const struct msg **keys = calloc(cap, sizeof(*keys));
	uint32_t *ids = calloc(cap, sizeof(*ids));

	if (!keys || !ids) {
		free(keys);
		free(ids);
		return -ENOMEM;
	}
	for (i = 0; i < t->cap; i++) {
		if (!t->keys[i])
			continue;
		for (j = ptr_home(t->keys[i], cap); keys[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = t->keys[i];
		ids[j] = t->ids[i];
	}
	free(t->keys);
	free(t->ids);
	t->keys = keys;
	t->ids = ids;
	t->cap = cap;
	return 0;
}

/* The id of m, writing its MSG record first if it has none yet. */
static uint32_t msg_id(struct saver *sv, const struct msg *m)
{
	struct msg_ids *t = &sv->ids;
	uint32_t i;

	if (t->n * 2 >= t->cap && ids_grow(t)) {
		sv->out.err = -ENOMEM;
		return 0;
	}
	for (i = ptr_home(m, t->cap); t->keys[i]; i = (i + 1) & (t->cap - 1))
		if (t->keys[i] == m)
			return t->ids[i];
	t->keys[i] = m;
	t->ids[i] = t->n;
	rec_begin(&sv->out, STORE_REC_MSG);
	put_u32(&sv->out, t->n);
	put_u8(&sv->out, m->qos);
	put_str(&sv->out, m->topic, m->topic_len);
	put_u32(&sv->out, m->payload_len);
	put(&sv->out, m->payload, m->payload_len);
	rec_end(&sv->out);
	sv->st->msgs++;
	return t->n++;
}

static bool is_sys(const struct msg *m)
{
	return m->topic_len >= 4 && !memcmp(m->topic, "$SYS", 4);
}

/* The number that names a security set in the file (see store.h). */
static int8_t sec_index(const struct broker *b, const struct security *sec)
{
	if (!sec || sec == &b->sec)
		return STORE_SEC_GLOBAL;
	return (int8_t)(sec - b->lsec);
}

static void save_retained(void *arg, const struct tnode *n)
{
	struct saver *sv = arg;
	const struct retain_src *r = n->rsrc;
	uint32_t id;

	if (is_sys(n->retained))
		return;
	id = msg_id(sv, n->retained);
	rec_begin(&sv->out, STORE_REC_RETAIN);
	put_u32(&sv->out, id);
	put_u8(&sv->out, r ? 1 : 0);
	if (r) {
		put_str(&sv->out, r->id, strlen(r->id));
		put_u8(&sv->out, r->user ? 1 : 0);
		if (r->user)
			put_str(&sv->out, r->user, strlen(r->user));
		put_u8(&sv->out, (uint8_t)sec_index(sv->b, r->sec));
	}
	rec_end(&sv->out);
	sv->st->retained++;
}

static void save_session(struct saver *sv, const struct session *s, uint64_t now_wall_ms)
{
	struct sbuf *o = &sv->out;
	uint64_t offline = now_wall_ms;
	uint32_t i;

	if (!s->client)
		offline -= ev_now_ms(sv->b->loop) - s->offline_since_ms;
	rec_begin(o, STORE_REC_SESSION);
	put_str(o, s->id, s->id_len);
	put_u8(o, s->username ? 1 : 0);
	if (s->username)
		put_str(o, s->username, strlen(s->username));
	put_u8(o, (uint8_t)sec_index(sv->b, s->sec));
	put_u16(o, s->next_pid);
	put_u64(o, offline);
	rec_end(o);
	for (i = 0; i < s->nsubs; i++) {
		size_t n = tree_path(s->subs[i].node, sv->path, MQTT_MAX_STR + 1);

		rec_begin(o, STORE_REC_SUB);
		put_str(o, sv->path, n);
		put_u8(o, s->subs[i].qos);
		rec_end(o);
		sv->st->subs++;
	}
	for (i = 0; i < s->ninf; i++) {
		const struct inflight *f = inf_at(s, i);
		uint32_t id = STORE_NO_MSG;

		if (f->m && is_sys(f->m))
			continue;
		if (f->m)
			id = msg_id(sv, f->m);
		rec_begin(o, STORE_REC_INFLIGHT);
		put_u16(o, f->pid);
		put_u8(o, f->qos);
		put_u8(o, f->state);
		put_u8(o, f->retain);
		put_u32(o, id);
		rec_end(o);
		sv->st->inflight++;
	}
	for (i = 0; i < s->q_count; i++) {
		const struct queued *q = q_at(s, i);
		uint32_t id;

		if (is_sys(q->m))
			continue;
		id = msg_id(sv, q->m);
		rec_begin(o, STORE_REC_QUEUED);
		put_u16(o, q->pid);
		put_u8(o, q->qos);
		put_u8(o, q->retain);
		put_u32(o, id);
		rec_end(o);
		sv->st->queued++;
	}
	for (i = 0; i < s->q2_cap; i++) {
		const struct qos2_slot *q2 = &s->q2[i];
		uint32_t id;

		if (!q2->used)
			continue;
		id = msg_id(sv, q2->m);
		rec_begin(o, STORE_REC_QOS2IN);
		put_u16(o, q2->pid);
		put_u8(o, q2->retain);
		put_u32(o, id);
		rec_end(o);
		sv->st->qos2_in++;
	}
	sv->st->sessions++;
}

int store_serialize(struct broker *b, uint8_t **buf, size_t *len, uint64_t now_wall_ms,
		    struct store_stats *st)
{
	struct saver sv = { .b = b, .st = st };
	uint32_t i, crc;
	uint64_t nrec;

	/* The last save's size and an eighth more: one allocation, no copy as it grows. */
	reserve(&sv.out, *len ? *len + *len / 8 : 0);
	memset(st, 0, sizeof(*st));
	sv.path = malloc(MQTT_MAX_STR + 1);
	if (!sv.path)
		return -ENOMEM;
	put(&sv.out, STORE_MAGIC, 8);
	put_u32(&sv.out, STORE_VERSION);
	put_u32(&sv.out, STORE_HDR_LEN);
	put_u64(&sv.out, now_wall_ms);
	put_u64(&sv.out, b->id);
	retain_each(&b->tree, save_retained, &sv);
	for (i = 0; i < b->sess_nbuckets; i++) {
		const struct session *s;

		for (s = b->sess_buckets[i]; s; s = s->hnext)
			if (!s->clean)
				save_session(&sv, s, now_wall_ms);
	}
	nrec = sv.out.nrec;
	crc = sv.out.err ? 0 : crc32c(0, sv.out.p, sv.out.len);
	rec_begin(&sv.out, STORE_REC_END);
	put_u64(&sv.out, nrec);
	put_u32(&sv.out, crc);
	rec_end(&sv.out);
	free(sv.ids.keys);
	free(sv.ids.ids);
	free(sv.path);
	if (sv.out.err) {
		free(sv.out.p);
		return sv.out.err;
	}
	*buf = sv.out.p;
	*len = sv.out.len;
	st->bytes = sv.out.len;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the persistence file back (format in store.h). It goes in two
 * passes over the bytes: the first checks everything (the header, every
 * record's checksum and length, the END record and the file's checksum,
 * that every reference resolves) and changes nothing; only a file that
 * passes it is applied by the second, which can then only fail for want
 * of memory. So a torn or corrupt file is refused whole, with the reason,
 * and never half loaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "store.h"

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static bool need(struct rd *r, size_t n)
{
	if (r->bad || r->len - r->off < n)
		r->bad = true;
	return !r->bad;
}

static uint8_t get_u8(struct rd *r)
{
	return need(r, 1) ? r->p[r->off++] : 0;
}

static uint16_t get_u16(struct rd *r)
{
	uint16_t v;

	if (!need(r, 2))
		return 0;
	v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return v;
}

static uint32_t get_u32(struct rd *r)
{
	uint32_t v;

	if (!need(r, 4))
		return 0;
	v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
	    (uint32_t)r->p[r->off + 2] << 8 | r->p[r->off + 3];
	r->off += 4;
	return v;
}

static uint64_t get_u64(struct rd *r)
{
	uint64_t hi = get_u32(r);

	return hi << 32 | get_u32(r);
}

/* A string: its bytes in place (not NUL-terminated), *n its length. */
static const char *get_str(struct rd *r, uint16_t *n)
{
	const char *s;

	*n = get_u16(r);
	if (!need(r, *n))
		return NULL;
	s = (const char *)r->p + r->off;
	r->off += *n;
	return s;
}

static const uint8_t *get_blob(struct rd *r, uint32_t *n)
{
	const uint8_t *s;

	*n = get_u32(r);
	if (!need(r, *n))
		return NULL;
	s = r->p + r->off;
	r->off += *n;
	return s;
}

/* What one record says, decoded (views into the file). */
struct rec {
	uint8_t type;
	uint32_t msg;			/* a message id, or the MSG record's own */
	uint8_t qos, state, retain, flags;
	int8_t sec;
	uint16_t pid, next_pid;
	const char *str, *user;	/* topic, client id, filter */
	uint16_t str_len, user_len;
	const uint8_t *payload;
	uint32_t payload_len;
	uint64_t u64;
	uint32_t crc;
};

/* Decode the body of one record; false when it does not fit its length. */
static bool decode(struct rd *r, struct rec *x)
{
	switch (x->type) {
	case STORE_REC_END:
		x->u64 = get_u64(r);
		x->crc = get_u32(r);
		break;
	case STORE_REC_MSG:
		x->msg = get_u32(r);
		x->qos = get_u8(r);
		x->str = get_str(r, &x->str_len);
		x->payload = get_blob(r, &x->payload_len);
		break;
	case STORE_REC_RETAIN:
		x->msg = get_u32(r);
		x->flags = get_u8(r);
		if (x->flags & 1) {
			x->str = get_str(r, &x->str_len);
			if (get_u8(r))
				x->user = get_str(r, &x->user_len);
			x->sec = (int8_t)get_u8(r);
		}
		break;
	case STORE_REC_SESSION:
		x->str = get_str(r, &x->str_len);
		x->flags = get_u8(r);
		if (x->flags & 1)
			x->user = get_str(r, &x->user_len);
		x->sec = (int8_t)get_u8(r);
		x->next_pid = get_u16(r);
		x->u64 = get_u64(r);
		break;
	case STORE_REC_SUB:
		x->str = get_str(r, &x->str_len);
		x->qos = get_u8(r);
		break;
	case STORE_REC_INFLIGHT:
		x->pid = get_u16(r);
		x->qos = get_u8(r);
		x->state = get_u8(r);
		x->retain = get_u8(r);
		x->msg = get_u32(r);
		break;
	case STORE_REC_QUEUED:
		x->pid = get_u16(r);
		x->qos = get_u8(r);
		x->retain = get_u8(r);
		x->msg = get_u32(r);
		break;
	case STORE_REC_QOS2IN:
		x->pid = get_u16(r);
		x->retain = get_u8(r);
		x->msg = get_u32(r);
		break;
	}
	return !r->bad && r->off == r->len;
}

/* What a record may refer to, and what it says: the reason it cannot be, or NULL. */
static const char *check(const struct rec *x, uint32_t nmsgs, bool in_session)
{
	bool has_msg = x->type == STORE_REC_RETAIN || x->type == STORE_REC_QUEUED ||
		       x->type == STORE_REC_QOS2IN ||
		       (x->type == STORE_REC_INFLIGHT && x->msg != STORE_NO_MSG);

	if (x->type > STORE_REC_MAX)
		return "unknown record type";
	if (x->type == STORE_REC_MSG && x->msg != nmsgs)
		return "message ids out of sequence";
	if ((x->type == STORE_REC_MSG && (x->qos > 2 || !x->str_len)) ||
	    (x->type == STORE_REC_SUB && (x->qos > 2 || !x->str_len)))
		return "bad QoS or empty topic";
	if (has_msg && x->msg >= nmsgs)
		return "refers to a message not written before it";
	if (x->type >= STORE_REC_SUB && !in_session)
		return "session data outside a session";
	if (x->type == STORE_REC_INFLIGHT && (x->qos < 1 || x->qos > 2))
		return "bad QoS in flight";
	if (x->type == STORE_REC_QUEUED && (x->qos > 2 || (x->qos && !x->pid)))
		return "bad QoS or packet id in the queue";
	if ((x->type == STORE_REC_INFLIGHT || x->type == STORE_REC_QOS2IN) && !x->pid)
		return "packet id 0";
	if (x->type == STORE_REC_INFLIGHT &&
	    (x->state > INF_WAIT_COMP || (x->state == INF_WAIT_ACK) != (x->msg != STORE_NO_MSG)))
		return "bad in-flight state";
	if (x->type == STORE_REC_SESSION && !x->str_len)
		return "session without a client id";
	if ((x->type == STORE_REC_SESSION || (x->type == STORE_REC_RETAIN && x->flags & 1)) &&
	    (x->sec < STORE_SEC_GLOBAL || x->sec > BROKER_MAX_LISTENERS))
		return "bad security set";
	return NULL;
}

/*
 * Pass 1: is this a whole, sound file? 0, or -errno with err "reason"
 * (store.c puts the file name before it).
 */
static int validate(const uint8_t *p, size_t len, char *err, size_t errlen, uint32_t *nmsgs)
{
	struct rd h = { p, len, 0, false };
	uint64_t nrec = 0;
	bool in_session = false;
	size_t off;

	*nmsgs = 0;
	if (len >= STORE_MOSQ_MAGIC_LEN && !memcmp(p, STORE_MOSQ_MAGIC, STORE_MOSQ_MAGIC_LEN)) {
		snprintf(err, errlen, "a Mosquitto database, which mqbroker does not read (its own format differs)");
		return -EPROTO;
	}
	if (len < 8 || memcmp(p, STORE_MAGIC, 8)) {
		snprintf(err, errlen, len < 8 ? "torn: %zu bytes, shorter than the header"
					       : "not an mqbroker store (no MQBSTORE signature)", len);
		return len < 8 ? -EBADMSG : -EPROTO;
	}
	h.off = 8;
	if (len < STORE_HDR_LEN) {
		snprintf(err, errlen, "torn: %zu bytes, shorter than the header", len);
		return -EBADMSG;
	}
	if (get_u32(&h) != STORE_VERSION) {
		h.off = 8;
		snprintf(err, errlen, "format version %u, this mqbroker reads version %u",
			 get_u32(&h), STORE_VERSION);
		return -EPROTO;
	}
	if (get_u32(&h) != STORE_HDR_LEN) {
		snprintf(err, errlen, "corrupt: header length is not %u", STORE_HDR_LEN);
		return -EBADMSG;
	}
	for (off = STORE_HDR_LEN;;) {
		struct rec x = { 0 };
		struct rd r;
		uint32_t body;
		const char *why;

		if (len - off < 9) {
			snprintf(err, errlen,
				 off == len ? "torn: ends after record %llu (byte %zu) without its end record"
					    : "torn: ends inside record %llu (byte %zu)",
				 (unsigned long long)nrec + (off != len), off);
			return -EBADMSG;
		}
		x.type = p[off];
		body = (uint32_t)p[off + 1] << 24 | (uint32_t)p[off + 2] << 16 |
		       (uint32_t)p[off + 3] << 8 | p[off + 4];
		if (len - off - 9 < body) {
			snprintf(err, errlen, "torn: ends inside record %llu (byte %zu)",
				 (unsigned long long)nrec + 1, off);
			return -EBADMSG;
		}
		h.off = off + 5 + body;
		if (get_u32(&h) != crc32c(0, p + off, 5 + body)) {
			snprintf(err, errlen, "corrupt: record %llu (byte %zu) fails its checksum",
				 (unsigned long long)nrec + 1, off);
			return -EBADMSG;
		}
		r = (struct rd){ p + off + 5, body, 0, false };
		why = x.type <= STORE_REC_MAX && !decode(&r, &x) ? "its fields do not fill its length"
								  : check(&x, *nmsgs, in_session);
		if (!why && x.type == STORE_REC_END && x.u64 != nrec)
			why = "the end record counts another number of records";
		if (!why && x.type == STORE_REC_END && x.crc != crc32c(0, p, off))
			why = "the file's checksum does not match";
		if (!why && x.type == STORE_REC_END && off + 9 + body != len)
			why = "bytes after the end record";
		if (why) {
			snprintf(err, errlen, "corrupt: record %llu (byte %zu): %s",
				 (unsigned long long)nrec + 1, off, why);
			return -EBADMSG;
		}
		if (x.type == STORE_REC_END)
			return 0;
		if (x.type == STORE_REC_MSG)
			(*nmsgs)++;
		if (x.type == STORE_REC_SESSION)
			in_session = true;
		nrec++;
		off += 9 + body;
	}
}

/*
 * The security set a saved session or retained message was under. A
 * listener that is no longer in the configuration (the file was saved
 * with more listener blocks) falls back to the global set, as a client of
 * a listener without per_listener_settings would be.
 */
static struct security *sec_of(struct broker *b, int8_t idx)
{
	bool known = idx == BROKER_MAX_LISTENERS ? b->conf.has_def
						 : idx >= 0 && idx < b->conf.nlisteners;

	return idx == STORE_SEC_GLOBAL || !known ? &b->sec : security_of_listener(b, idx);
}

static char *dup_str(struct broker *b, const char *s, uint16_t n)
{
	char *d = mem_alloc(&b->mem, n + 1u);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Pass 2, one record; 0 or -ENOMEM. */
static int apply(struct broker *b, const struct rec *x, struct msg **msgs, struct session **cur,
		 uint64_t now_wall_ms, struct store_stats *st)
{
	struct session *s = *cur;
	int e = 0;

	switch (x->type) {
	case STORE_REC_MSG:
		msgs[x->msg] = msg_new(&b->mem, x->str, x->str_len, x->payload, x->payload_len,
				       x->qos);
		if (!msgs[x->msg])
			return -ENOMEM;
		st->msgs++;
		return 0;
	case STORE_REC_RETAIN:
		retain_store(b, msgs[x->msg], NULL);
		if (x->flags & 1) {
			char *id = dup_str(b, x->str, x->str_len);

			if (!id)
				return -ENOMEM;
			e = retain_src_restore(b, msgs[x->msg], sec_of(b, x->sec), id,
					       x->user ? x->user : NULL, x->user_len);
			mem_free(&b->mem, id);
		}
		st->retained++;
		return e;
	case STORE_REC_SESSION: {
		uint64_t away = now_wall_ms > x->u64 ? now_wall_ms - x->u64 : 0;
		uint64_t now = ev_now_ms(b->loop);

		s = session_find(b, x->str, x->str_len);
		if (s)
			session_free(b, s); /* a file cannot name one twice, but be safe */
		s = session_new(b, x->str, x->str_len, false);
		if (!s)
			return -ENOMEM;
		*cur = s;
		if (x->user) {
			s->username = dup_str(b, x->user, x->user_len);
			if (!s->username)
				return -ENOMEM;
		}
		s->sec = sec_of(b, x->sec);
		s->next_pid = x->next_pid ? x->next_pid : 1;
		/* Offline as long as it was before the save, and since: expiry counts on. */
		s->offline_since_ms = away < now ? now - away : 0;
		st->sessions++;
		return 0;
	}
	case STORE_REC_SUB: {
		char *f = dup_str(b, x->str, x->str_len);

		if (!f)
			return -ENOMEM;
		e = sub_add(&b->tree, s, f, x->str_len, x->qos);
		mem_free(&b->mem, f);
		if (e > 0)
			b->nsubscriptions++;
		st->subs++;
		return e < 0 ? e : 0;
	}
	case STORE_REC_INFLIGHT:
		st->inflight++;
		return session_restore_inflight(b, s, x->pid, x->qos, x->state, x->retain,
						x->msg == STORE_NO_MSG ? NULL : msgs[x->msg]);
	case STORE_REC_QUEUED:
		st->queued++;
		return session_restore_queued(b, s, x->pid, x->qos, x->retain, msgs[x->msg]);
	case STORE_REC_QOS2IN:
		st->qos2_in++;
		e = qos2_in_store(b, s, x->pid, msgs[x->msg], x->retain);
		/* max_inflight_messages lowered since the save: the rest cannot be kept. */
		if (e == -ENOSPC) {
			st->qos2_in--;
			st->dropped++;
			return 0;
		}
		return e;
	}
	return 0;
}

int store_load(struct broker *b, const uint8_t *p, size_t len, uint64_t now_wall_ms,
	       struct store_stats *st, char *err, size_t errlen)
{
	struct session *cur = NULL;
	struct msg **msgs = NULL;
	uint32_t nmsgs, i;
	size_t off;
	int e = validate(p, len, err, errlen, &nmsgs);

	memset(st, 0, sizeof(*st));
	if (e)
		return e;
	if (nmsgs) {
		msgs = calloc(nmsgs, sizeof(*msgs));
		if (!msgs) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	for (off = STORE_HDR_LEN; !e;) {
		uint32_t body = (uint32_t)p[off + 1] << 24 | (uint32_t)p[off + 2] << 16 |
				(uint32_t)p[off + 3] << 8 | p[off + 4];
		struct rd r = { p + off + 5, body, 0, false };
		struct rec x = { .type = p[off] };

		if (x.type == STORE_REC_END)
			break;
		decode(&r, &x);
		e = apply(b, &x, msgs, &cur, now_wall_ms, st);
		off += 9 + body;
	}
	/* The queues, windows and the retained store hold their own references. */
	for (i = 0; i < nmsgs; i++)
		msg_put(&b->mem, msgs[i]);
	free(msgs);
	if (e)
		snprintf(err, errlen, "%s while loading it", strerror(-e));
	st->bytes = len;
	return e;
}

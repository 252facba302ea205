// SPDX-License-Identifier: GPL-2.0
/*
 * Pure MQTT 3.1/3.1.1 codec. Decoders never read outside [body, body+len)
 * and reject trailing bytes, so a packet is either fully understood or
 * refused with -EBADMSG.
 */
#include <errno.h>
#include <string.h>

#include "mqtt_codec.h"

int pkt_read_u8(struct pkt_reader *r, uint8_t *v)
{
	if (pkt_left(r) < 1)
		return -EBADMSG;
	*v = r->p[r->pos++];
	return 0;
}

int pkt_read_u16(struct pkt_reader *r, uint16_t *v)
{
	if (pkt_left(r) < 2)
		return -EBADMSG;
	*v = (uint16_t)(r->p[r->pos] << 8 | r->p[r->pos + 1]);
	r->pos += 2;
	return 0;
}

int pkt_read_bin(struct pkt_reader *r, struct mqtt_str *s)
{
	uint16_t len;

	if (pkt_read_u16(r, &len) || pkt_left(r) < len)
		return -EBADMSG;
	s->p = r->p + r->pos;
	s->len = len;
	r->pos += len;
	return 0;
}

int pkt_read_str(struct pkt_reader *r, struct mqtt_str *s)
{
	if (pkt_read_bin(r, s) || !mqtt_utf8_valid(s->p, s->len))
		return -EBADMSG;
	return 0;
}

void pkt_write_bytes(struct pkt_writer *w, const void *b, size_t len)
{
	if (w->err)
		return;
	if (w->cap - w->pos < len) {
		w->err = -ENOSPC;
		return;
	}
	if (len)
		memcpy(w->p + w->pos, b, len);
	w->pos += len;
}

void pkt_write_u8(struct pkt_writer *w, uint8_t v)
{
	pkt_write_bytes(w, &v, 1);
}

void pkt_write_u16(struct pkt_writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	pkt_write_bytes(w, b, 2);
}

void pkt_write_str(struct pkt_writer *w, struct mqtt_str s)
{
	pkt_write_u16(w, s.len);
	pkt_write_bytes(w, s.p, s.len);
}

void pkt_write_varint(struct pkt_writer *w, uint32_t v)
{
	uint8_t b[4];
	int n = mqtt_varint_encode(b, v);

	if (n < 0) {
		if (!w->err)
			w->err = n;
		return;
	}
	pkt_write_bytes(w, b, (size_t)n);
}

int mqtt_varint_size(uint32_t v)
{
	if (v < 128)
		return 1;
	if (v < 16384)
		return 2;
	if (v < 2097152)
		return 3;
	if (v <= MQTT_MAX_REMAINING)
		return 4;
	return -EINVAL;
}

int mqtt_varint_encode(uint8_t *buf, uint32_t v)
{
	int n = 0;

	if (v > MQTT_MAX_REMAINING)
		return -EINVAL;
	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		if (v)
			b |= 0x80;
		buf[n++] = b;
	} while (v);
	return n;
}

int mqtt_varint_decode(const uint8_t *buf, size_t len, uint32_t *v)
{
	uint32_t val = 0;
	int i;

	/* 2.2.3: four bytes at most; a continuation bit on the 4th is malformed. */
	for (i = 0; i < 4; i++) {
		if ((size_t)i >= len)
			return -EAGAIN;
		val |= (uint32_t)(buf[i] & 0x7f) << (7 * i);
		if (!(buf[i] & 0x80)) {
			*v = val;
			return i + 1;
		}
	}
	return -EBADMSG;
}

/* Flags every type must carry in the low nibble [MQTT-2.2.2-1]; -1: PUBLISH. */
static int fixed_flags(uint8_t type)
{
	switch (type) {
	case MQTT_PUBLISH:
		return -1;
	case MQTT_PUBREL:
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		return 0x2;
	default:
		return 0;
	}
}

int mqtt_fixed_header(const uint8_t *buf, size_t len, uint8_t *hdr, uint32_t *rem_len)
{
	uint8_t type;
	int n, want;

	if (len < 1)
		return -EAGAIN;
	type = buf[0] >> 4;
	if (type < MQTT_CONNECT || type > MQTT_DISCONNECT)
		return -EBADMSG;
	want = fixed_flags(type);
	if (want >= 0 && (buf[0] & 0x0f) != want)
		return -EBADMSG;
	/* [MQTT-3.3.1-4]: QoS 3 is malformed. */
	if (want < 0 && (buf[0] & MQTT_PUB_QOS_MASK) == MQTT_PUB_QOS_MASK)
		return -EBADMSG;
	n = mqtt_varint_decode(buf + 1, len - 1, rem_len);
	if (n < 0)
		return n;
	*hdr = buf[0];
	return n + 1;
}

bool mqtt_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		int n, k;

		if (c == 0)
			return false; /* [MQTT-1.5.3-2] */
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false; /* continuation byte, overlong lead, or > U+10FFFF */
		}
		if (len - i <= (size_t)n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates [MQTT-1.5.3-1], and the range limit. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += (size_t)n + 1;
	}
	return true;
}

static int decode_connect(struct pkt_reader *r, struct mqtt_connect *c)
{
	memset(c, 0, sizeof(*c));
	if (pkt_read_str(r, &c->proto_name) || pkt_read_u8(r, &c->level))
		return -EBADMSG;
	/*
	 * The rest of the layout depends on the level (MQTT 5 adds properties):
	 * stop here and let the broker answer CONNACK 1 [MQTT-3.1.2-2].
	 */
	if (c->level != MQTT_PROTO_V31 && c->level != MQTT_PROTO_V311)
		return 0;
	if (pkt_read_u8(r, &c->flags) || pkt_read_u16(r, &c->keepalive))
		return -EBADMSG;
	if (c->flags & MQTT_CONN_RESERVED)
		return -EBADMSG; /* [MQTT-3.1.2-3] */
	c->clean = c->flags & MQTT_CONN_CLEAN;
	c->will = c->flags & MQTT_CONN_WILL;
	c->will_qos = (c->flags & MQTT_CONN_WILL_QOS_MASK) >> MQTT_CONN_WILL_QOS_SHIFT;
	c->will_retain = c->flags & MQTT_CONN_WILL_RETAIN;
	c->has_username = c->flags & MQTT_CONN_USERNAME;
	c->has_password = c->flags & MQTT_CONN_PASSWORD;
	if (c->will_qos == 3)
		return -EBADMSG; /* [MQTT-3.1.2-14] */
	if (!c->will && (c->will_qos || c->will_retain))
		return -EBADMSG; /* [MQTT-3.1.2-11], [MQTT-3.1.2-13], [MQTT-3.1.2-15] */
	if (c->has_password && !c->has_username)
		return -EBADMSG; /* [MQTT-3.1.2-22] */
	if (pkt_read_str(r, &c->client_id))
		return -EBADMSG;
	if (c->will && (pkt_read_str(r, &c->will_topic) || pkt_read_bin(r, &c->will_msg)))
		return -EBADMSG;
	if (c->has_username && pkt_read_str(r, &c->username))
		return -EBADMSG;
	if (c->has_password && pkt_read_bin(r, &c->password))
		return -EBADMSG;
	return 0;
}

static int decode_publish(uint8_t flags, struct pkt_reader *r, struct mqtt_publish *p)
{
	memset(p, 0, sizeof(*p));
	p->qos = (flags & MQTT_PUB_QOS_MASK) >> MQTT_PUB_QOS_SHIFT;
	p->dup = flags & MQTT_PUB_DUP;
	p->retain = flags & MQTT_PUB_RETAIN;
	if (p->qos == 3)
		return -EBADMSG;
	if (pkt_read_str(r, &p->topic))
		return -EBADMSG;
	if (p->qos && (pkt_read_u16(r, &p->pid) || !p->pid))
		return -EBADMSG; /* [MQTT-2.3.1-1] */
	p->payload = r->p + r->pos;
	p->payload_len = pkt_left(r);
	r->pos = r->len;
	return 0;
}

int mqtt_topic_next(struct pkt_reader *it, bool with_qos, struct mqtt_topic_req *out)
{
	if (!pkt_left(it))
		return 0;
	if (pkt_read_str(it, &out->filter))
		return -EBADMSG;
	out->qos = 0;
	/* [MQTT-3-8.3-4]: reserved bits zero, QoS at most 2. */
	if (with_qos && (pkt_read_u8(it, &out->qos) || out->qos > 2))
		return -EBADMSG;
	return 1;
}

static int decode_subscribe(struct pkt_reader *r, bool with_qos, struct mqtt_subscribe *s)
{
	struct mqtt_topic_req req;
	struct pkt_reader it;
	int ret;

	memset(s, 0, sizeof(*s));
	if (pkt_read_u16(r, &s->pid) || !s->pid)
		return -EBADMSG; /* [MQTT-2.3.1-1] */
	s->raw = r->p + r->pos;
	s->raw_len = pkt_left(r);
	it = mqtt_topic_iter(s);
	while ((ret = mqtt_topic_next(&it, with_qos, &req)) > 0)
		s->count++;
	if (ret < 0 || !s->count)
		return -EBADMSG; /* [MQTT-3.8.3-3], [MQTT-3.10.3-2] */
	r->pos = r->len;
	return 0;
}

static int decode_suback(struct pkt_reader *r, struct mqtt_suback *s)
{
	uint32_t i;

	if (pkt_read_u16(r, &s->pid) || !pkt_left(r))
		return -EBADMSG;
	s->rcs = r->p + r->pos;
	s->count = pkt_left(r);
	for (i = 0; i < s->count; i++)
		if (s->rcs[i] > 2 && s->rcs[i] != MQTT_SUBACK_FAILURE)
			return -EBADMSG; /* [MQTT-3.9.3-2] */
	r->pos = r->len;
	return 0;
}

static int decode_connack(struct pkt_reader *r, struct mqtt_connack *c)
{
	uint8_t f;

	if (pkt_read_u8(r, &f) || pkt_read_u8(r, &c->rc))
		return -EBADMSG;
	if (f & 0xfe || c->rc > MQTT_CONNACK_NOT_AUTHORIZED)
		return -EBADMSG;
	c->session_present = f & 1;
	if (c->session_present && c->rc)
		return -EBADMSG; /* [MQTT-3.2.2-4] */
	return 0;
}

int mqtt_decode(uint8_t hdr, const uint8_t *body, uint32_t len, struct mqtt_packet *pkt)
{
	struct pkt_reader r = { body, len, 0 };
	uint8_t type = hdr >> 4, flags = hdr & 0x0f;
	int want = fixed_flags(type), ret;

	if (type < MQTT_CONNECT || type > MQTT_DISCONNECT)
		return -EBADMSG;
	if (want >= 0 && flags != want)
		return -EBADMSG; /* [MQTT-2.2.2-1], [MQTT-2.2.2-2] */
	if (len > MQTT_MAX_REMAINING)
		return -EBADMSG;
	pkt->type = type;
	pkt->flags = flags;
	switch (type) {
	case MQTT_CONNECT:
		ret = decode_connect(&r, &pkt->connect);
		if (!ret && pkt->connect.level != MQTT_PROTO_V31 &&
		    pkt->connect.level != MQTT_PROTO_V311)
			return 0; /* rest left unparsed on purpose, see decode_connect() */
		break;
	case MQTT_CONNACK:
		ret = decode_connack(&r, &pkt->connack);
		break;
	case MQTT_PUBLISH:
		ret = decode_publish(flags, &r, &pkt->publish);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
	case MQTT_UNSUBACK:
		ret = pkt_read_u16(&r, &pkt->ack.pid);
		break;
	case MQTT_SUBSCRIBE:
		ret = decode_subscribe(&r, true, &pkt->sub);
		break;
	case MQTT_UNSUBSCRIBE:
		ret = decode_subscribe(&r, false, &pkt->sub);
		break;
	case MQTT_SUBACK:
		ret = decode_suback(&r, &pkt->suback);
		break;
	default: /* PINGREQ, PINGRESP, DISCONNECT: no variable header */
		ret = 0;
		break;
	}
	if (ret)
		return -EBADMSG;
	/* Trailing bytes mean the remaining length lied. */
	return pkt_left(&r) ? -EBADMSG : 0;
}

static long connect_len(const struct mqtt_connect *c)
{
	long n = 2 + c->proto_name.len + 1 + 1 + 2 + 2 + c->client_id.len;

	if (c->will)
		n += 2 + c->will_topic.len + 2 + c->will_msg.len;
	if (c->has_username)
		n += 2 + c->username.len;
	if (c->has_password)
		n += 2 + c->password.len;
	return n;
}

static long topics_len(const struct mqtt_subscribe *s, bool with_qos)
{
	long n = 2;
	uint32_t i;

	if (!s->count || !s->reqs)
		return -EINVAL;
	for (i = 0; i < s->count; i++)
		n += 2 + s->reqs[i].filter.len + (with_qos ? 1 : 0);
	return n;
}

long mqtt_remaining_len(const struct mqtt_packet *pkt)
{
	long n;

	switch (pkt->type) {
	case MQTT_CONNECT:
		n = connect_len(&pkt->connect);
		break;
	case MQTT_CONNACK:
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
	case MQTT_UNSUBACK:
		n = 2;
		break;
	case MQTT_PUBLISH:
		if (pkt->publish.qos > 2)
			return -EINVAL;
		n = 2 + (long)pkt->publish.topic.len + (pkt->publish.qos ? 2 : 0) +
		    (long)pkt->publish.payload_len;
		break;
	case MQTT_SUBSCRIBE:
		n = topics_len(&pkt->sub, true);
		break;
	case MQTT_UNSUBSCRIBE:
		n = topics_len(&pkt->sub, false);
		break;
	case MQTT_SUBACK:
		if (!pkt->suback.count)
			return -EINVAL;
		n = 2 + (long)pkt->suback.count;
		break;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
	case MQTT_DISCONNECT:
		n = 0;
		break;
	default:
		return -EINVAL;
	}
	if (n < 0 || n > (long)MQTT_MAX_REMAINING)
		return -EINVAL;
	return n;
}

long mqtt_encoded_len(const struct mqtt_packet *pkt)
{
	long n = mqtt_remaining_len(pkt);

	if (n < 0)
		return n;
	return 1 + mqtt_varint_size((uint32_t)n) + n;
}

static uint8_t first_byte(const struct mqtt_packet *pkt)
{
	const struct mqtt_publish *p = &pkt->publish;
	uint8_t flags;

	if (pkt->type != MQTT_PUBLISH) {
		flags = (uint8_t)fixed_flags(pkt->type);
	} else {
		flags = (uint8_t)(p->qos << MQTT_PUB_QOS_SHIFT);
		if (p->dup)
			flags |= MQTT_PUB_DUP;
		if (p->retain)
			flags |= MQTT_PUB_RETAIN;
	}
	return (uint8_t)(pkt->type << 4 | flags);
}

static void encode_connect(struct pkt_writer *w, const struct mqtt_connect *c)
{
	uint8_t flags = 0;

	if (c->clean)
		flags |= MQTT_CONN_CLEAN;
	if (c->will) {
		flags |= MQTT_CONN_WILL | (uint8_t)(c->will_qos << MQTT_CONN_WILL_QOS_SHIFT);
		if (c->will_retain)
			flags |= MQTT_CONN_WILL_RETAIN;
	}
	if (c->has_username)
		flags |= MQTT_CONN_USERNAME;
	if (c->has_password)
		flags |= MQTT_CONN_PASSWORD;
	pkt_write_str(w, c->proto_name);
	pkt_write_u8(w, c->level);
	pkt_write_u8(w, flags);
	pkt_write_u16(w, c->keepalive);
	pkt_write_str(w, c->client_id);
	if (c->will) {
		pkt_write_str(w, c->will_topic);
		pkt_write_str(w, c->will_msg);
	}
	if (c->has_username)
		pkt_write_str(w, c->username);
	if (c->has_password)
		pkt_write_str(w, c->password);
}

long mqtt_encode(const struct mqtt_packet *pkt, uint8_t *buf, size_t cap)
{
	struct pkt_writer w = { buf, cap, 0, 0 };
	long rem = mqtt_remaining_len(pkt);
	uint32_t i;

	if (rem < 0)
		return rem;
	pkt_write_u8(&w, first_byte(pkt));
	pkt_write_varint(&w, (uint32_t)rem);
	switch (pkt->type) {
	case MQTT_CONNECT:
		encode_connect(&w, &pkt->connect);
		break;
	case MQTT_CONNACK:
		pkt_write_u8(&w, pkt->connack.session_present ? 1 : 0);
		pkt_write_u8(&w, pkt->connack.rc);
		break;
	case MQTT_PUBLISH:
		pkt_write_str(&w, pkt->publish.topic);
		if (pkt->publish.qos)
			pkt_write_u16(&w, pkt->publish.pid);
		pkt_write_bytes(&w, pkt->publish.payload, pkt->publish.payload_len);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
	case MQTT_UNSUBACK:
		pkt_write_u16(&w, pkt->ack.pid);
		break;
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		pkt_write_u16(&w, pkt->sub.pid);
		for (i = 0; i < pkt->sub.count; i++) {
			pkt_write_str(&w, pkt->sub.reqs[i].filter);
			if (pkt->type == MQTT_SUBSCRIBE)
				pkt_write_u8(&w, pkt->sub.reqs[i].qos);
		}
		break;
	case MQTT_SUBACK:
		pkt_write_u16(&w, pkt->suback.pid);
		pkt_write_bytes(&w, pkt->suback.rcs, pkt->suback.count);
		break;
	default:
		break;
	}
	return w.err ? w.err : (long)w.pos;
}

const char *mqtt_type_name(uint8_t type)
{
	static const char *const names[] = {
		"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC",
		"PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK",
		"PINGREQ", "PINGRESP", "DISCONNECT", "RESERVED",
	};

	return names[type & 0x0f];
}

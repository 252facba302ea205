// SPDX-License-Identifier: GPL-2.0
/*
 * Packet framing and dispatch: one switch over the packet type, and the
 * only place where a handler's -errno becomes a reason, as at every edge (docs/design.md).
 * 3.1.1 cannot tell the client why; the reason goes into the log line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"

/* MQTT 5's reason code, which 3.1.1 cannot send: for the log line. */
#define RC_RETAIN_NOT_SUPPORTED 0x9a

/* Largest possible CONNECT: five length-prefixed fields plus the fixed part. */
#define CONNECT_MAX_LEN (10 + 5 * (2 + MQTT_MAX_STR))

static const char *reason_of(int err, uint8_t *code)
{
	switch (err) {
	case -EBADMSG:
		*code = MQTT_RC_MALFORMED;
		return "malformed packet";
	case -EPROTO:
		*code = MQTT_RC_PROTOCOL_ERROR;
		return "protocol error";
	case -EMSGSIZE:
		*code = MQTT_RC_PACKET_TOO_LARGE;
		return "packet too large";
	case -ENOMEM:
		*code = MQTT_RC_UNSPECIFIED;
		return "out of memory (memory_limit)";
	case -ECONNREFUSED:
		*code = 0;
		return "connection refused";
	case -EOPNOTSUPP:
		*code = RC_RETAIN_NOT_SUPPORTED;
		return "retained message while retain_available is false";
	default:
		*code = MQTT_RC_UNSPECIFIED;
		return "unspecified error";
	}
}

void read_handle_fail(struct client *c, int err, uint8_t type)
{
	const char *why;
	char name[96];
	uint8_t code;

	why = reason_of(err, &code);
	client_name(c, name, sizeof(name));
	if (code)
		pr_info("closing client %s: %s (reason 0x%02x) in %s\n", name, why, code,
			mqtt_type_name(type));
	else
		pr_info("closing client %s: %s\n", name, why);
	client_close(c, true, why);
}

/*
 * try_private: a bridge sends protocol level 3 or 4 with MQTT_PROTO_BRIDGE_BIT so
 * the other side knows not to echo what it sends. The codec only knows the
 * plain levels, so decode a copy with the bit cleared and remember it.
 */
static int decode_private_connect(struct client *c, uint8_t hdr, const uint8_t *body,
				  uint32_t len, struct mqtt_packet *pkt, uint8_t **copy)
{
	uint8_t lvl, plain;
	uint32_t off;

	if (len < 2)
		return -EBADMSG;
	off = 2u + ((uint32_t)body[0] << 8 | body[1]);
	if (off >= len)
		return -EBADMSG;
	lvl = body[off];
	plain = lvl & (uint8_t)~MQTT_PROTO_BRIDGE_BIT;
	if (!(lvl & MQTT_PROTO_BRIDGE_BIT) || (plain != MQTT_PROTO_V31 && plain != MQTT_PROTO_V311))
		return mqtt_decode(hdr, body, len, pkt) ? -EBADMSG : 0;
	*copy = malloc(len);
	if (!*copy)
		return -ENOMEM;
	memcpy(*copy, body, len);
	(*copy)[off] = plain;
	c->bridge_peer = true;
	return mqtt_decode(hdr, *copy, len, pkt) ? -EBADMSG : 0;
}

static int dispatch(struct client *c, uint8_t hdr, const uint8_t *body, uint32_t len)
{
	struct mqtt_packet pkt;
	uint8_t type = hdr >> 4;
	uint8_t *copy = NULL;
	int err;

	if (type == MQTT_CONNECT && !c->bridge) {
		/* The decoded strings point into copy: it lives until the handler returns. */
		err = decode_private_connect(c, hdr, body, len, &pkt, &copy);
		if (!err)
			err = c->state == CS_NEW ? handle_connect(c, &pkt.connect) : -EPROTO;
		free(copy);
		return err;
	}
	/* [MQTT-3.1.0-1]: CONNECT first; [MQTT-3.1.0-2]: and only once. */
	if (!c->bridge && (c->state == CS_NEW) != (type == MQTT_CONNECT))
		return -EPROTO;
	/* Any size, in slices: decoded by sub_job.c, not all at once here. */
	if ((type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE) && !c->bridge)
		return handle_sub_packet(c, type, body, len);
	if (mqtt_decode(hdr, body, len, &pkt))
		return -EBADMSG;
	if (c->bridge)
		return bridge_handle(c, &pkt);
	switch (type) {
	case MQTT_PUBLISH:
		return handle_publish(c, &pkt.publish);
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		return handle_ack(c, type, pkt.ack.pid);
	case MQTT_PINGREQ:
		return handle_pingreq(c);
	case MQTT_DISCONNECT:
		return handle_disconnect(c);
	default:
		/* CONNACK, SUBACK, UNSUBACK, PINGRESP only flow to clients. */
		return -EPROTO;
	}
}

/*
 * Largest remaining length this connection may send: CONNECT's own bound
 * before it, then max_packet_size with Mosquitto's arithmetic (remaining
 * length + 1). message_size_limit does not close: handle_publish() drops.
 */
static uint32_t len_limit(const struct client *c)
{
	uint32_t lim = c->b->conf.max_packet_size;

	if (c->state == CS_NEW)
		return CONNECT_MAX_LEN;
	return lim ? lim - 1 : MQTT_MAX_REMAINING;
}

/*
 * MQTT 3.1 put DUP and QoS bits in PUBREL, SUBSCRIBE and UNSUBSCRIBE
 * (QoS 1, DUP when re-sent) and left DISCONNECT's alone; 3.1.1 fixed
 * them [MQTT-2.2.2-1]. Like Mosquitto, take whatever a 3.1 client sends
 * there: the header is framed with the flags 3.1.1 requires.
 */
static int frame(const struct client *c, const uint8_t *buf, size_t len, uint8_t *hdr,
		 uint32_t *rem)
{
	uint8_t type = buf[0] >> 4, copy[MQTT_MAX_FIXED_HDR];
	size_t n = len < sizeof(copy) ? len : sizeof(copy);

	if (c->level != MQTT_PROTO_V31 || c->state != CS_CONNECTED ||
	    (type != MQTT_PUBREL && type != MQTT_SUBSCRIBE && type != MQTT_UNSUBSCRIBE &&
	     type != MQTT_DISCONNECT))
		return mqtt_fixed_header(buf, len, hdr, rem);
	memcpy(copy, buf, n);
	copy[0] = (uint8_t)(type << 4 | (type == MQTT_DISCONNECT ? 0 : 0x2));
	return mqtt_fixed_header(copy, n, hdr, rem);
}

long read_handle(struct client *c, const uint8_t *buf, size_t len)
{
	struct broker *b = c->b;
	size_t off = 0;
	uint8_t hdr = 0;
	int err;

	while (off < len) {
		uint32_t rem;
		int hl = frame(c, buf + off, len - off, &hdr, &rem);

		if (hl == -EAGAIN)
			break;
		if (hl < 0) {
			err = hl;
			hdr = buf[off];
			goto out_close;
		}
		/* Checked on the header alone, before buffering the body. */
		if (rem > len_limit(c)) {
			err = -EMSGSIZE;
			goto out_close;
		}
		if (len - off - (size_t)hl < rem)
			break;
		b->st.msgs_received++;
		err = dispatch(c, hdr, buf + off + hl, rem);
		if (c->state == CS_CLOSED)
			return -1; /* DISCONNECT, or refused CONNECT already closed */
		off += (size_t)hl + rem;
		/* A job goes on with this packet: what follows waits for it (client.c). */
		if (err == -EINPROGRESS)
			break;
		if (err)
			goto out_close;
	}
	return (long)off;

out_close:
	read_handle_fail(c, err, hdr >> 4);
	return -1;
}

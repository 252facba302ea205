// SPDX-License-Identifier: GPL-2.0
/*
 * Packet framing and dispatch: one switch over the packet type, and the
 * only place where a handler's -errno becomes a reason (STYLE.md item 9).
 * 3.1.1 cannot tell the client why; the reason goes into the log line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"

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
	case -ECONNREFUSED:
		*code = 0;
		return "connection refused";
	default:
		*code = MQTT_RC_UNSPECIFIED;
		return "unspecified error";
	}
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
	if (mqtt_decode(hdr, body, len, &pkt))
		return -EBADMSG;
	if (c->bridge)
		return bridge_handle(c, &pkt);
	/* [MQTT-3.1.0-1]: CONNECT first; [MQTT-3.1.0-2]: and only once. */
	if ((c->state == CS_NEW) != (type == MQTT_CONNECT))
		return -EPROTO;
	switch (type) {
	case MQTT_CONNECT:
		return handle_connect(c, &pkt.connect);
	case MQTT_PUBLISH:
		return handle_publish(c, &pkt.publish);
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		return handle_ack(c, type, pkt.ack.pid);
	case MQTT_SUBSCRIBE:
		return handle_subscribe(c, &pkt.sub);
	case MQTT_UNSUBSCRIBE:
		return handle_unsubscribe(c, &pkt.sub);
	case MQTT_PINGREQ:
		return handle_pingreq(c);
	case MQTT_DISCONNECT:
		return handle_disconnect(c);
	default:
		/* CONNACK, SUBACK, UNSUBACK, PINGRESP only flow to clients. */
		return -EPROTO;
	}
}

/* Largest remaining length this connection may send right now. */
static uint32_t len_limit(const struct client *c, uint8_t type)
{
	uint32_t lim = c->b->conf.message_size_limit;

	if (c->state == CS_NEW)
		return CONNECT_MAX_LEN;
	if (type == MQTT_PUBLISH && lim && lim < MQTT_MAX_REMAINING - 4 - MQTT_MAX_STR)
		return lim + 4 + MQTT_MAX_STR; /* payload limit + the largest variable header */
	return MQTT_MAX_REMAINING;
}

long read_handle(struct client *c, const uint8_t *buf, size_t len)
{
	struct broker *b = c->b;
	const char *why;
	size_t off = 0;
	uint8_t hdr = 0, code;
	char name[96];
	int err;

	while (off < len) {
		uint32_t rem;
		int hl = mqtt_fixed_header(buf + off, len - off, &hdr, &rem);

		if (hl == -EAGAIN)
			break;
		if (hl < 0) {
			err = hl;
			hdr = buf[off];
			goto out_close;
		}
		/* Checked on the header alone, before buffering the body. */
		if (rem > len_limit(c, hdr >> 4)) {
			err = -EMSGSIZE;
			goto out_close;
		}
		if (len - off - (size_t)hl < rem)
			break;
		b->st.msgs_received++;
		err = dispatch(c, hdr, buf + off + hl, rem);
		if (c->state == CS_CLOSED)
			return -1; /* DISCONNECT, or refused CONNECT already closed */
		if (err)
			goto out_close;
		off += (size_t)hl + rem;
	}
	return (long)off;

out_close:
	why = reason_of(err, &code);
	client_name(c, name, sizeof(name));
	if (code)
		pr_info("closing client %s: %s (reason 0x%02x) in %s\n", name, why, code,
			mqtt_type_name(hdr >> 4));
	else
		pr_info("closing client %s: %s\n", name, why);
	client_close(c, true, why);
	return -1;
}

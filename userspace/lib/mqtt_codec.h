/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure MQTT 3.1/3.1.1 codec: no sockets, no allocation. Decoding returns
 * views into the caller's buffer; encoding writes into a caller buffer whose
 * size mqtt_encoded_len() gives beforehand. Every bounds or format violation
 * returns -EBADMSG; a buffer that is merely short returns -EAGAIN (fixed
 * header) or -ENOSPC (encode).
 */
#ifndef MQTT_CODEC_H
#define MQTT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_proto.h"

/* A length-prefixed string or binary field; p points into the packet. */
struct mqtt_str {
	const uint8_t *p;
	uint16_t len;
};

#define MQTT_STR(s) ((struct mqtt_str){ (const uint8_t *)(s), (uint16_t)(sizeof(s) - 1) })
static inline struct mqtt_str mqtt_str_c(const char *s, size_t len)
{
	return (struct mqtt_str){ (const uint8_t *)s, (uint16_t)len };
}

struct mqtt_connect {
	struct mqtt_str proto_name;	/* "MQTT" or "MQIsdp" (checked by the caller) */
	uint8_t level;			/* 3 or 4 (checked by the caller) */
	uint8_t flags;			/* raw connect flags */
	uint16_t keepalive;
	bool clean;
	bool will;
	uint8_t will_qos;
	bool will_retain;
	bool has_username;
	bool has_password;
	struct mqtt_str client_id;
	struct mqtt_str will_topic;
	struct mqtt_str will_msg;	/* binary */
	struct mqtt_str username;
	struct mqtt_str password;	/* binary */
};

struct mqtt_connack {
	bool session_present;
	uint8_t rc;
};

struct mqtt_publish {
	uint8_t qos;
	bool dup;
	bool retain;
	uint16_t pid;			/* only for qos > 0 */
	struct mqtt_str topic;
	const uint8_t *payload;
	uint32_t payload_len;
};

/* PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: just a packet id. */
struct mqtt_ack {
	uint16_t pid;
};

/* One entry of a SUBSCRIBE (qos is the requested QoS) or UNSUBSCRIBE (qos unused). */
struct mqtt_topic_req {
	struct mqtt_str filter;
	uint8_t qos;
};

/*
 * SUBSCRIBE and UNSUBSCRIBE. Decoding validates every entry and leaves the
 * raw list for mqtt_topic_next(); encoding reads reqs[0..count).
 */
struct mqtt_subscribe {
	uint16_t pid;
	uint32_t count;
	const uint8_t *raw;
	uint32_t raw_len;
	const struct mqtt_topic_req *reqs;
};

struct mqtt_suback {
	uint16_t pid;
	uint32_t count;
	const uint8_t *rcs;		/* granted QoS 0..2 or 0x80 */
};

struct mqtt_packet {
	uint8_t type;			/* enum mqtt_type */
	uint8_t flags;			/* low nibble of the first byte */
	union {
		struct mqtt_connect connect;
		struct mqtt_connack connack;
		struct mqtt_publish publish;
		struct mqtt_ack ack;
		struct mqtt_subscribe sub;	/* SUBSCRIBE and UNSUBSCRIBE */
		struct mqtt_suback suback;
	};
};

/* Reader cursor with bounds checks: a read past the end fails, never overruns. */
struct pkt_reader {
	const uint8_t *p;
	uint32_t len;
	uint32_t pos;
};

int pkt_read_u8(struct pkt_reader *r, uint8_t *v);
int pkt_read_u16(struct pkt_reader *r, uint16_t *v);
/* Length-prefixed field, not validated as UTF-8 (binary data, passwords). */
int pkt_read_bin(struct pkt_reader *r, struct mqtt_str *s);
/* Length-prefixed UTF-8 string, validated as [MQTT-1.5.3-1], [MQTT-1.5.3-2] require. */
int pkt_read_str(struct pkt_reader *r, struct mqtt_str *s);
static inline uint32_t pkt_left(const struct pkt_reader *r)
{
	return r->len - r->pos;
}

/* Writer cursor: writes past cap set ->err = -ENOSPC and are dropped. */
struct pkt_writer {
	uint8_t *p;
	size_t cap;
	size_t pos;
	int err;
};

void pkt_write_u8(struct pkt_writer *w, uint8_t v);
void pkt_write_u16(struct pkt_writer *w, uint16_t v);
void pkt_write_bytes(struct pkt_writer *w, const void *b, size_t len);
void pkt_write_str(struct pkt_writer *w, struct mqtt_str s);
void pkt_write_varint(struct pkt_writer *w, uint32_t v);

/* Remaining-length varint (2.2.3): at most 4 bytes. */
int mqtt_varint_size(uint32_t v);			/* 1..4, or -EINVAL above the max */
int mqtt_varint_encode(uint8_t *buf, uint32_t v);	/* bytes written or -EINVAL */
/* Bytes consumed, -EAGAIN when more input is needed, -EBADMSG for a 5th byte. */
int mqtt_varint_decode(const uint8_t *buf, size_t len, uint32_t *v);

/*
 * Fixed header: returns its length (2..5) and fills *hdr (first byte) and
 * *rem_len; -EAGAIN when incomplete; -EBADMSG when invalid.
 */
int mqtt_fixed_header(const uint8_t *buf, size_t len, uint8_t *hdr, uint32_t *rem_len);

/*
 * Decode the variable header and payload of one packet whose first byte is
 * hdr. Checks the reserved flag bits of every type [MQTT-2.2.2-1] and every
 * structural rule that needs no session state. 0 or -EBADMSG.
 */
int mqtt_decode(uint8_t hdr, const uint8_t *body, uint32_t len, struct mqtt_packet *pkt);

/* Iterate a decoded SUBSCRIBE (with_qos) or UNSUBSCRIBE list. 1, 0 at the end, -EBADMSG. */
int mqtt_topic_next(struct pkt_reader *it, bool with_qos, struct mqtt_topic_req *out);
static inline struct pkt_reader mqtt_topic_iter(const struct mqtt_subscribe *s)
{
	return (struct pkt_reader){ s->raw, s->raw_len, 0 };
}

/* Remaining length of pkt's encoding, or -EINVAL if it cannot be encoded. */
long mqtt_remaining_len(const struct mqtt_packet *pkt);
/* Whole encoded size (fixed header included), or -EINVAL. */
long mqtt_encoded_len(const struct mqtt_packet *pkt);
/* Encode into buf[cap]: bytes written, -ENOSPC, or -EINVAL. */
long mqtt_encode(const struct mqtt_packet *pkt, uint8_t *buf, size_t cap);

/* UTF-8 as MQTT accepts it: well-formed, no surrogates, no U+0000 (1.5.3). */
bool mqtt_utf8_valid(const uint8_t *s, size_t len);

const char *mqtt_type_name(uint8_t type);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the MQTT codec. The input is a byte stream as a
 * broker would read it: packets are framed and decoded one after another.
 * Besides "no crash, no sanitizer report", every packet that decodes must
 * re-encode to exactly the same body bytes (the encoder and decoder agree).
 */
#include <stdlib.h>
#include <string.h>

#include "mqtt_codec.h"

#define MAX_TOPICS 1024

static void check_roundtrip(uint8_t hdr, const uint8_t *body, uint32_t len,
			    struct mqtt_packet *pkt)
{
	static struct mqtt_topic_req reqs[MAX_TOPICS];
	static uint8_t out[1 << 17];
	struct mqtt_packet o;
	long n;
	int hl;

	if (pkt->type == MQTT_CONNECT && pkt->connect.level != MQTT_PROTO_V31 &&
	    pkt->connect.level != MQTT_PROTO_V311)
		return; /* only partly decoded on purpose */
	if (pkt->type == MQTT_SUBSCRIBE || pkt->type == MQTT_UNSUBSCRIBE) {
		struct pkt_reader it = mqtt_topic_iter(&pkt->sub);
		uint32_t i = 0;

		if (pkt->sub.count > MAX_TOPICS)
			return;
		while (mqtt_topic_next(&it, pkt->type == MQTT_SUBSCRIBE, &reqs[i]) > 0)
			i++;
		if (i != pkt->sub.count)
			abort();
		pkt->sub.reqs = reqs;
	}
	n = mqtt_encoded_len(pkt);
	if (n < 0 || n > (long)sizeof(out))
		return;
	if (mqtt_encode(pkt, out, sizeof(out)) != n)
		abort();
	hl = 1 + mqtt_varint_size(len);
	if (n != hl + (long)len || memcmp(out + hl, body, len) || (out[0] != hdr))
		abort();
	if (mqtt_decode(out[0], out + hl, len, &o) || o.type != pkt->type)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct mqtt_packet pkt;
		uint32_t rem;
		uint8_t hdr;
		int hl = mqtt_fixed_header(data + off, size - off, &hdr, &rem);

		if (hl < 0 || size - off - (size_t)hl < rem)
			break;
		/* Decode from an exact-size copy so ASan sees any overread. */
		{
			uint8_t *body = malloc(rem ? rem : 1);

			memcpy(body, data + off + hl, rem);
			if (!mqtt_decode(hdr, body, rem, &pkt))
				check_roundtrip(hdr, body, rem, &pkt);
			free(body);
		}
		off += (size_t)hl + rem;
	}
	return 0;
}

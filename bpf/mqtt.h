/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MQTT CONNECT parser of the XDP program: the first client payload of
 * each flow is read as a CONNECT (MQTT 3.1.1 section 3.1, MQTT 5.0 section
 * 3.1, and IBM's MQTT 3.1 with protocol name "MQIsdp") to learn the
 * protocol level, the keep-alive and the client identifier.
 *
 * What may never happen is a wrong answer. So the parser reads only what
 * the one segment holds, and sorts every first payload into exactly one of:
 *   PARSED     every field up to the end of the client id is in the segment
 *              and obeys the spec; what follows (will, user name, password)
 *              may continue in later segments and is the broker's to check
 *   SPLIT      consistent with a CONNECT so far, but the segment ends before
 *              the client id does: nothing is recorded (never guessed)
 *   NOT_MQTT   the first byte is not a CONNECT fixed header (0x10)
 *   MALFORMED  a CONNECT fixed header, then a field that breaks the spec
 *
 * Reads go through bpf_xdp_load_bytes into zeroed stack buffers: the helper
 * checks the frame bounds itself and its error is handled (as SPLIT, the
 * answer that records nothing), and the parse then works on buffers with
 * constant indexes, which the verifier bounds without help. Loops over
 * varint bytes are unrolled (at most 4 bytes, MQTT 3.1.1 section 2.2.3).
 */
#ifndef MQLB_BPF_MQTT_H
#define MQLB_BPF_MQTT_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "mqlb_abi.h"
#include "mqtt_proto.h"
#include "parse.h"

#define MQTT_CONNECT_BYTE (MQTT_CONNECT << 4) /* type 1, flags 0 ([MQTT-2.2.2-2]) */
#define MQTT_FIXED_MAX    5    /* type byte + remaining length of at most 4 bytes */
/*
 * Variable header bytes read at once: protocol name (2 + 6 for "MQIsdp",
 * 2 + 4 for "MQTT"), level, flags, keep-alive (2), and for MQTT 5 the
 * property length (at most 4): 2 + 4 + 1 + 1 + 2 + 4 = 14 for "MQTT".
 */
#define MQTT_VHDR_MAX     16

struct mqtt_connect_info {
	__u8 outcome;            /* one of MQLB_MQTT_PARSED/SPLIT/NOT_MQTT/MALFORMED */
	__u8 level;
	__u8 flags;              /* MQLB_MQTT_ID_TRUNCATED, MQLB_MQTT_BRIDGE */
	__u8 id_len;             /* bytes in id */
	__u16 keepalive;
	__u16 id_full;           /* the client id's whole length (PARSED) */
	__u32 id_off;            /* its frame offset (PARSED) */
	char id[MQLB_CLIENT_ID_LEN];
};

/*
 * Copy min(avail, size) bytes at frame offset off into buf (size is a
 * constant once inlined, so the verifier sees the length within [1, size]).
 * Returns the number copied, 0 when avail is 0, or -1 when the helper fails.
 */
static __always_inline int mqtt_load(struct xdp_md *ctx, __u32 off, __u32 avail, void *buf,
				     __u32 size)
{
	__u32 n = avail < size ? avail : size;

	if (n == 0)
		return 0;
	/* Keep the bound visible to the verifier after clang's min (kernel 6.18, clang 14). */
	if (n > size)
		return -1;
	if (bpf_xdp_load_bytes(ctx, off, buf, n))
		return -1;
	return (int)n;
}

/*
 * Variable byte integer at b[start..] of a buffer holding have bytes
 * (MQTT 3.1.1 section 2.2.3, MQTT 5.0 section 1.5.5): at most 4 bytes,
 * a fifth continuation bit is malformed. Returns its length in bytes, 0
 * when the buffer ends first (SPLIT), -1 when malformed.
 */
static __always_inline int mqtt_varint(const __u8 *b, int start, int have, __u32 *val)
{
	__u32 v = 0;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		__u8 c;

		if (start + i >= have)
			return 0;
		c = b[start + i];
		v |= (__u32)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*val = v;
			return i + 1;
		}
	}
	return -1;
}

/* Connect flags that no valid CONNECT of this level carries. */
static __always_inline bool mqtt_flags_bad(__u8 cf, __u8 level)
{
	if (cf & MQTT_CONN_RESERVED) /* [MQTT-3.1.2-3] */
		return true;
	if ((cf & MQTT_CONN_WILL_QOS_MASK) == MQTT_CONN_WILL_QOS_MASK) /* QoS 3: [MQTT-3.1.2-14] */
		return true;
	/* Without a will, will QoS and will retain are 0: [MQTT-3.1.2-13], [MQTT-3.1.2-15]. */
	if (!(cf & MQTT_CONN_WILL) && (cf & (MQTT_CONN_WILL_QOS_MASK | MQTT_CONN_WILL_RETAIN)))
		return true;
	/* Before MQTT 5, no password without a user name: [MQTT-3.1.2-22]. */
	return level < 5 && (cf & MQTT_CONN_PASSWORD) && !(cf & MQTT_CONN_USERNAME);
}

/*
 * Judge the first payload, which starts at frame offset off and is len
 * (> 0) bytes long. Fills *ci; ci->outcome says how it went.
 */
static __always_inline void mqtt_parse_connect(struct xdp_md *ctx, __u32 off, __u32 len,
					       struct mqtt_connect_info *ci)
{
	__u8 fh[MQTT_FIXED_MAX] = {}, vh[MQTT_VHDR_MAX] = {}, idl[2] = {};
	__u32 rem = 0, props = 0, vo, cid, id_len, keep;
	int have, vl, pl, name_len;
	__u8 level, cf;

	ci->outcome = MQLB_MQTT_SPLIT;
	have = mqtt_load(ctx, off, len, fh, sizeof(fh));
	if (have <= 0)
		return;
	/*
	 * A client's first packet is a CONNECT ([MQTT-3.1.0-1]), whose flags
	 * are 0 ([MQTT-2.2.2-2]): anything else is not MQTT. That includes
	 * 0x16, a TLS handshake record, which shares CONNECT's type nibble.
	 */
	if (fh[0] != MQTT_CONNECT_BYTE) {
		ci->outcome = MQLB_MQTT_NOT_MQTT;
		return;
	}
	ci->outcome = MQLB_MQTT_MALFORMED;
	vl = mqtt_varint(fh, 1, have, &rem);
	if (vl < 0)
		return;
	if (vl == 0) {
		ci->outcome = MQLB_MQTT_SPLIT;
		return;
	}

	/* Variable header, from just after the remaining length. */
	vo = 1 + (__u32)vl;
	ci->outcome = MQLB_MQTT_SPLIT;
	have = mqtt_load(ctx, off + vo, len > vo ? len - vo : 0, vh, sizeof(vh));
	if (have < 2)
		return;
	/* Protocol name: "MQTT" (3.1.1 section 3.1.2.1, 5.0 section 3.1.2.1) or "MQIsdp" (3.1). */
	name_len = vh[0] << 8 | vh[1];
	ci->outcome = MQLB_MQTT_MALFORMED;
	if (name_len != 4 && name_len != 6)
		return;
	ci->outcome = MQLB_MQTT_SPLIT;
	/* name, level, flags, keep-alive */
	if (have < 2 + name_len + 4)
		return;
	ci->outcome = MQLB_MQTT_MALFORMED;
	if (name_len == 4) {
		if (vh[2] != 'M' || vh[3] != 'Q' || vh[4] != 'T' || vh[5] != 'T')
			return;
		level = vh[6];
		cf = vh[7];
		keep = vh[8] << 8 | vh[9];
	} else {
		if (vh[2] != 'M' || vh[3] != 'Q' || vh[4] != 'I' || vh[5] != 's' || vh[6] != 'd' ||
		    vh[7] != 'p')
			return;
		level = vh[8];
		cf = vh[9];
		keep = vh[10] << 8 | vh[11];
	}
	ci->flags = 0;
	if (level == (MQTT_PROTO_BRIDGE_BIT | 3) || level == (MQTT_PROTO_BRIDGE_BIT | 4)) {
		level &= ~MQTT_PROTO_BRIDGE_BIT;
		ci->flags |= MQLB_MQTT_BRIDGE;
	}
	/* The level goes with the name: MQIsdp is 3, MQTT is 4 or 5 (3.1.1 section 3.1.2.2). */
	if (name_len == 6 ? level != 3 : level != 4 && level != 5)
		return;
	if (mqtt_flags_bad(cf, level))
		return;

	/* Offset of the client id length from the start of the variable header. */
	cid = name_len == 4 ? 10 : 12;
	if (level == 5) {
		/*
		 * Properties (5.0 section 3.1.2.11): skipped, only their length
		 * is read. Level 5 means "MQTT", so they start at the constant
		 * offset 10: a variable stack offset would need the verifier's
		 * var-offset stack reads, which are privileged-only.
		 */
		pl = mqtt_varint(vh, 10, have, &props);
		if (pl < 0)
			return;
		if (pl == 0) {
			ci->outcome = MQLB_MQTT_SPLIT;
			return;
		}
		cid = 10 + (__u32)pl + props;
	}
	/*
	 * The client id is the first payload field ([MQTT-3.1.3-3]); the
	 * packet must hold its length field: what lies beyond the remaining
	 * length belongs to the next packet.
	 */
	if (cid + 2 > rem)
		return;
	ci->outcome = MQLB_MQTT_SPLIT;
	if (vo + cid + 2 > len)
		return;
	if (mqtt_load(ctx, off + vo + cid, 2, idl, sizeof(idl)) != 2)
		return;
	id_len = idl[0] << 8 | idl[1];
	ci->outcome = MQLB_MQTT_MALFORMED;
	if (cid + 2 + id_len > rem)
		return;
	ci->outcome = MQLB_MQTT_SPLIT;
	if (vo + cid + 2 + id_len > len)
		return;
	if (id_len > MQLB_CLIENT_ID_LEN)
		ci->flags |= MQLB_MQTT_ID_TRUNCATED;
	/* The id bytes are kept as sent; the broker checks their UTF-8 ([MQTT-1.5.3-1]). */
	have = mqtt_load(ctx, off + vo + cid + 2, id_len, ci->id, sizeof(ci->id));
	if (have < 0 || (__u32)have != (id_len < MQLB_CLIENT_ID_LEN ? id_len : MQLB_CLIENT_ID_LEN))
		return;
	ci->id_len = (__u8)have;
	ci->id_full = (__u16)id_len;
	ci->id_off = off + vo + cid + 2;
	ci->level = level;
	ci->keepalive = (__u16)keep;
	ci->outcome = MQLB_MQTT_PARSED;
}

#endif

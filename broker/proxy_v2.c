// SPDX-License-Identifier: GPL-2.0
/*
 * The PROXY protocol version 2 header (HAProxy's proxy-protocol.txt,
 * section 2.2), which a balancer such as mqlb (backend ... proxy-v2) puts
 * before the client's bytes so that the broker learns the client's
 * address. A pure parser: it sees the bytes read so far and says whether
 * they are a header, the start of one, or not one at all.
 *
 *   12 bytes  signature \r\n\r\n\0\r\nQUIT\n
 *    1 byte   version (high nibble, 2) and command (low: 0 LOCAL, 1 PROXY)
 *    1 byte   family (high: 1 INET, 2 INET6) and transport (low: 1 STREAM)
 *    2 bytes  length of what follows, network order
 *   then      the addresses (INET: 4+4+2+2, INET6: 16+16+2+2: source,
 *             destination, source port, destination port), then TLVs,
 *             which mqbroker skips.
 *
 * LOCAL is a connection the balancer makes for itself (a health check):
 * its addresses, if any, mean nothing and the socket's own peer stands.
 * Only PROXY over TCP (0x11 and 0x21) and LOCAL are accepted: a broker
 * that took UDP or UNIX addresses, or an unknown family, would log
 * something that is no client address.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "broker.h"

static const uint8_t sig[12] = { '\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n' };

#define CMD_LOCAL	0x0
#define CMD_PROXY	0x1
#define FAM_TCP4	0x11
#define FAM_TCP6	0x21
#define ADDR_LEN_TCP4	12
#define ADDR_LEN_TCP6	36

static long bad(const char **why, const char *reason)
{
	*why = reason;
	return -EBADMSG;
}

long proxy_v2_parse(const uint8_t *buf, size_t len, struct proxy_v2_info *out, const char **why)
{
	size_t n = len < sizeof(sig) ? len : sizeof(sig);
	uint16_t body;
	uint8_t fam;

	/* Said as soon as one byte differs: an MQTT CONNECT fails at its first. */
	if (memcmp(buf, sig, n))
		return bad(why, "no PROXY v2 signature");
	if (len < PROXY_V2_HDR_LEN)
		return 0;
	if (buf[12] >> 4 != 2)
		return bad(why, "PROXY protocol version is not 2");
	if ((buf[12] & 0xf) != CMD_LOCAL && (buf[12] & 0xf) != CMD_PROXY)
		return bad(why, "unknown PROXY v2 command");
	body = (uint16_t)(buf[14] << 8 | buf[15]);
	if (body > PROXY_V2_MAX_BODY)
		return bad(why, "PROXY v2 header too long");
	fam = buf[13];
	if ((buf[12] & 0xf) == CMD_PROXY) {
		if (fam != FAM_TCP4 && fam != FAM_TCP6)
			return bad(why, "PROXY v2 family is not TCP over IPv4 or IPv6");
		if (body < (fam == FAM_TCP4 ? ADDR_LEN_TCP4 : ADDR_LEN_TCP6))
			return bad(why, "PROXY v2 address block too short");
	}
	if (len < PROXY_V2_HDR_LEN + (size_t)body)
		return 0;
	memset(out, 0, sizeof(*out));
	if ((buf[12] & 0xf) == CMD_LOCAL) {
		out->local = true;
	} else if (fam == FAM_TCP4) {
		const uint8_t *a = buf + PROXY_V2_HDR_LEN;

		out->src.family = out->dst.family = AF_INET;
		memcpy(out->src.ip, a, 4);
		memcpy(out->dst.ip, a + 4, 4);
		memcpy(&out->src.port, a + 8, 2);
		memcpy(&out->dst.port, a + 10, 2);
	} else {
		const uint8_t *a = buf + PROXY_V2_HDR_LEN;

		out->src.family = out->dst.family = AF_INET6;
		memcpy(out->src.ip, a, 16);
		memcpy(out->dst.ip, a + 16, 16);
		memcpy(&out->src.port, a + 32, 2);
		memcpy(&out->dst.port, a + 34, 2);
	}
	/* TLVs after the addresses (or a LOCAL's whole body) are skipped. */
	return (long)(PROXY_V2_HDR_LEN + body);
}

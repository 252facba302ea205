// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kick.h"

int kick_open(void)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);

	return fd < 0 ? -errno : fd;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ones' complement sum of 16-bit words as they sit in memory (byte order does not matter). */
static uint32_t csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t w;

	for (; len > 1; len -= 2, p += 2) {
		memcpy(&w, p, sizeof(w));
		sum += w;
	}
	return sum;
}

/* IPv4 + bare TCP header (no options), TCP checksum filled; IP checksum and id by the kernel. */
static void build_segment(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
			  uint32_t seq, uint32_t ack_seq, bool rst, uint8_t out[KICK_PROBE_LEN])
{
	struct iphdr ip;
	struct tcphdr tcp;
	struct {
		uint32_t saddr, daddr;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed)) ph;

	memset(&ip, 0, sizeof(ip));
	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = htons(KICK_PROBE_LEN);
	ip.frag_off = htons(IP_DF);
	ip.ttl = 64;
	ip.protocol = IPPROTO_TCP;
	ip.saddr = saddr;
	ip.daddr = daddr;
	memset(&tcp, 0, sizeof(tcp));
	tcp.source = sport;
	tcp.dest = dport;
	tcp.seq = htonl(seq);
	tcp.doff = 5;
	if (rst) {
		tcp.rst = 1;
	} else {
		tcp.ack_seq = htonl(ack_seq);
		tcp.ack = 1;
		tcp.window = htons(1024);
	}
	ph.saddr = saddr;
	ph.daddr = daddr;
	ph.zero = 0;
	ph.proto = IPPROTO_TCP;
	ph.len = htons(sizeof(tcp));
	tcp.check = csum_fold(csum_add(csum_add(0, &ph, sizeof(ph)), &tcp, sizeof(tcp)));
	memcpy(out, &ip, sizeof(ip));
	memcpy(out + sizeof(ip), &tcp, sizeof(tcp));
}

void kick_build(const struct mqlb_flow_key *key, uint32_t seq, uint8_t out[KICK_PROBE_LEN])
{
	build_segment(key->vip_addr_be, key->client_addr_be, key->vip_port_be, key->client_port_be,
		      seq, seq ^ 0x40000000u, false, out);
}

void kick_build_backend_rst(const struct mqlb_flow *f, uint8_t out[KICK_PROBE_LEN])
{
	build_segment(f->snat_addr_be, f->backend_addr_be, f->snat_port_be, f->backend_port_be,
		      f->reset_seq, 0, true, out);
}

int kick_backend(int fd, const struct mqlb_flow *f)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = f->backend_addr_be };
	uint8_t pkt[KICK_PROBE_LEN];

	kick_build_backend_rst(f, pkt);
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

static int send_probe(int fd, const struct mqlb_flow_key *key, uint32_t seq)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = key->client_addr_be };
	uint8_t pkt[KICK_PROBE_LEN];

	kick_build(key, seq, pkt);
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

int kick_client(int fd, const struct mqlb_flow_key *key, uint32_t seed)
{
	int err = send_probe(fd, key, seed);

	/*
	 * Linux rate-limits its answers to out-of-window segments per socket
	 * (tcp_invalid_ratelimit), so the second probe usually goes unanswered;
	 * it matters only when the first fell inside the window by chance.
	 */
	if (!err)
		err = send_probe(fd, key, seed + 0x80000000u);
	return err;
}

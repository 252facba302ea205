// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
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

static uint32_t csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint16_t *w = buf;

	for (; len > 1; len -= 2)
		sum += *w++;
	return sum;
}

static int send_probe(int fd, const struct mqlb_flow_key *key, uint32_t seq)
{
	struct {
		struct iphdr ip;
		struct tcphdr tcp;
	} pkt;
	struct {
		uint32_t saddr, daddr;
		uint8_t zero, proto;
		uint16_t len;
	} ph;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = key->client_addr_be };

	memset(&pkt, 0, sizeof(pkt));
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.tot_len = htons(sizeof(pkt));
	pkt.ip.frag_off = htons(IP_DF);
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_TCP;
	pkt.ip.saddr = key->vip_addr_be;
	pkt.ip.daddr = key->client_addr_be;
	pkt.tcp.source = key->vip_port_be;
	pkt.tcp.dest = key->client_port_be;
	pkt.tcp.seq = htonl(seq);
	pkt.tcp.ack_seq = htonl(seq ^ 0x40000000u);
	pkt.tcp.doff = 5;
	pkt.tcp.ack = 1;
	pkt.tcp.window = htons(1024);
	ph.saddr = pkt.ip.saddr;
	ph.daddr = pkt.ip.daddr;
	ph.zero = 0;
	ph.proto = IPPROTO_TCP;
	ph.len = htons(sizeof(pkt.tcp));
	pkt.tcp.check = csum_fold(csum_add(csum_add(0, &ph, sizeof(ph)), &pkt.tcp, sizeof(pkt.tcp)));
	/* The kernel fills the IP checksum (and id) of IP_HDRINCL packets. */
	if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
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

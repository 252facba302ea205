// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "inet_csum.h"
#include "kick.h"

/*
 * Room for a collection pass's RSTs: at 9,000 connections/s a pass sends
 * thousands, each charged to the socket until the receiving side has
 * processed it, and the default buffer (about 200 frames) made most of
 * them fail with EAGAIN. Root may go past net.core.wmem_max.
 */
#define KICK_SNDBUF (8 << 20)

int kick_open(void)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
	int size = KICK_SNDBUF;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

/* IPv4 + bare TCP header (no options), TCP checksum filled; IP checksum and id by the kernel. */
static void build_segment(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
			  uint32_t seq, uint32_t ack_seq, bool rst, uint8_t out[KICK_PROBE_LEN])
{
	struct iphdr ip;
	struct tcphdr tcp;

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
	tcp.check = inet_csum_fold(inet_csum_add(inet_pseudo4_sum(saddr, daddr, IPPROTO_TCP, sizeof(tcp)),
						 &tcp, sizeof(tcp)));
	memcpy(out, &ip, sizeof(ip));
	memcpy(out + sizeof(ip), &tcp, sizeof(tcp));
}

void kick_build(const struct mqlb_flow_key *key, uint32_t seq, uint8_t out[KICK_PROBE_LEN])
{
	build_segment(key->vip_addr_be, key->client_addr_be, key->vip_port_be, key->client_port_be,
		      seq, seq ^ 0x40000000u, false, out);
}

int kick_backend_rst_wanted(const struct mqlb_flow *f, uint32_t *seq)
{
	if (!MQLB_FLOW_BACKEND_RST_DUE(f->tcp_flags))
		return -1;
	if (f->tcp_flags & MQLB_FLOW_BACKEND_LOST) {
		*seq = f->reset_seq;
		return MQLB_STAT_FLOW_BACKEND_RST_LOST;
	}
	/* Due only without a RST (from either side): after one no TIME_WAIT is left to end. */
	*seq = f->side[MQLB_SIDE_CLIENT].end;
	return MQLB_STAT_FLOW_BACKEND_RST_TIME_WAIT;
}

void kick_build_backend_rst(const struct mqlb_flow *f, uint32_t seq, uint8_t out[KICK_PROBE_LEN])
{
	build_segment(f->snat_addr_be, f->backend_addr_be, f->snat_port_be, f->backend_port_be,
		      seq, 0, true, out);
}

/* The next slot of the batch, toward addr, counted as kind (KICK_UNCOUNTED: not). */
static uint8_t *batch_slot(struct kick_batch *b, __be32 addr, int kind)
{
	uint8_t *pkt;

	if (b->n == KICK_BATCH)
		kick_batch_flush(b);
	pkt = b->pkt[b->n];
	memset(&b->to[b->n], 0, sizeof(b->to[b->n]));
	b->to[b->n].sin_family = AF_INET;
	b->to[b->n].sin_addr.s_addr = addr;
	b->kind[b->n] = (uint8_t)kind;
	b->n++;
	return pkt;
}

void kick_batch_add(struct kick_batch *b, const struct mqlb_flow *f)
{
	uint32_t seq;
	int kind = kick_backend_rst_wanted(f, &seq);

	if (kind < 0 || b->fd < 0)
		return;
	kick_build_backend_rst(f, seq, batch_slot(b, f->backend_addr_be, kind));
}

void kick_build_client_rst(const struct mqlb_flow_key *key, uint32_t seq,
			   uint8_t out[KICK_PROBE_LEN])
{
	build_segment(key->vip_addr_be, key->client_addr_be, key->vip_port_be, key->client_port_be,
		      seq, 0, true, out);
}

void kick_batch_add_reset(struct kick_batch *b, const struct mqlb_flow_key *key,
			  const struct mqlb_flow *f)
{
	uint32_t cli_seq = f->side[MQLB_SIDE_CLIENT].maxack;
	uint32_t be_seq = f->side[MQLB_SIDE_BACKEND].maxack;
	bool to_backend = true;

	if (b->fd < 0)
		return;
	if (f->tcp_flags & (MQLB_FLOW_BIND_CONNECT | MQLB_FLOW_BIND_SYNACK)) {
		cli_seq = f->s_isn + 1;
		be_seq = f->client_isn + 1;
		to_backend = f->tcp_flags & MQLB_FLOW_BIND_SYNACK;
	} else if (f->tcp_flags & MQLB_FLOW_XLATE) {
		cli_seq -= f->seq_delta;
	}
	kick_build_client_rst(key, cli_seq,
			      batch_slot(b, key->client_addr_be, MQLB_STAT_FLOW_IDLE_RESET));
	if (to_backend)
		kick_build_backend_rst(f, be_seq, batch_slot(b, f->backend_addr_be, KICK_UNCOUNTED));
}

void kick_batch_flush(struct kick_batch *b)
{
	struct mmsghdr msg[KICK_BATCH];
	struct iovec iov[KICK_BATCH];
	unsigned int i, done = 0;
	int r;

	memset(msg, 0, sizeof(msg[0]) * b->n);
	for (i = 0; i < b->n; i++) {
		iov[i].iov_base = b->pkt[i];
		iov[i].iov_len = KICK_PROBE_LEN;
		msg[i].msg_hdr.msg_name = &b->to[i];
		msg[i].msg_hdr.msg_namelen = sizeof(b->to[i]);
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < b->n) {
		r = sendmmsg(b->fd, msg + done, b->n - done, 0);
		if (r <= 0) {
			/* One that cannot go (a broker's route gone): skip it, send the rest. */
			b->failed++;
			done++;
			continue;
		}
		for (i = done; i < done + (unsigned int)r; i++)
			if (b->kind[i] != KICK_UNCOUNTED)
				b->sent[b->kind[i]]++;
		done += (unsigned int)r;
	}
	b->n = 0;
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

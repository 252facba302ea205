// SPDX-License-Identifier: GPL-2.0
/*
 * pktbuild: frames for the XDP tests, built byte by byte with the checksums
 * computed from scratch (see pktbuild.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <linux/icmp.h>
#include <linux/udp.h>

#include "inet_csum.h"
#include "pktbuild.h"

#define IPV6_HLEN 40
#define ARP_LEN   28
#define VLAN_HLEN 4

void pkt_spec_init(struct pkt_spec *s)
{
	memset(s, 0, sizeof(*s));
	/* Linux sets DF on TCP; a DF bit must never be mistaken for a fragment. */
	s->frag = 0x4000;
	s->seq = 1000;
}

uint16_t pkt_csum(const void *buf, size_t len, uint32_t sum)
{
	return inet_csum_fold(inet_csum_add(sum, buf, len));
}

uint16_t pkt_ip4_csum(const struct iphdr *ip)
{
	uint32_t h[15]; /* room for a header with options, ihl <= 15 */
	size_t len = (size_t)ip->ihl * 4;

	memcpy(h, ip, len);
	((struct iphdr *)h)->check = 0;
	return pkt_csum(h, len, 0);
}

uint16_t pkt_tcp4_csum(const struct iphdr *ip, const void *l4, size_t l4_len)
{
	uint32_t seg[PKT_MAX / 4]; /* aligned for the tcphdr store below */

	memcpy(seg, l4, l4_len);
	((struct tcphdr *)seg)->check = 0;
	return pkt_csum(seg, l4_len, inet_pseudo4_sum(ip->saddr, ip->daddr, IPPROTO_TCP, l4_len));
}

static size_t put_eth(uint8_t *p, const struct pkt_spec *s, uint16_t proto)
{
	struct ethhdr *eth = (struct ethhdr *)p;
	size_t off = sizeof(*eth);

	memcpy(eth->h_dest, s->dmac, ETH_ALEN);
	memcpy(eth->h_source, s->smac, ETH_ALEN);
	if (s->vlan_proto) {
		uint16_t tci = htons(s->vlan_id), inner = htons(proto);

		eth->h_proto = htons(s->vlan_proto);
		memcpy(p + off, &tci, 2);
		memcpy(p + off + 2, &inner, 2);
		return off + VLAN_HLEN;
	}
	eth->h_proto = htons(proto);
	return off;
}

static size_t put_tcp(uint8_t *p, const struct pkt_spec *s)
{
	struct tcphdr *tcp = (struct tcphdr *)p;
	size_t len = sizeof(*tcp) + s->tcp_opt_len;

	tcp->source = htons(s->sport);
	tcp->dest = htons(s->dport);
	tcp->seq = htonl(s->seq);
	tcp->ack_seq = htonl(s->ack_seq);
	tcp->doff = s->doff ? s->doff : 5 + s->tcp_opt_len / 4;
	p[13] = s->flags;
	tcp->window = htons(64240);
	memset(p + sizeof(*tcp), 1 /* NOP */, s->tcp_opt_len);
	if (s->tcp_opts) {
		memcpy(p + sizeof(*tcp), s->tcp_opts, s->tcp_opt_len);
	} else if (s->tcp_opt_len >= 4) {
		/* MSS 1460, as a SYN would carry. */
		p[20] = 2;
		p[21] = 4;
		p[22] = 1460 >> 8;
		p[23] = 1460 & 0xff;
	}
	if (s->payload_len)
		memcpy(p + len, s->payload, s->payload_len);
	return len + s->payload_len;
}

static size_t put_udp(uint8_t *p, const struct pkt_spec *s)
{
	struct udphdr *udp = (struct udphdr *)p;
	size_t len = sizeof(*udp) + s->payload_len;

	udp->source = htons(s->sport);
	udp->dest = htons(s->dport);
	udp->len = htons((uint16_t)len);
	if (s->payload_len)
		memcpy(p + sizeof(*udp), s->payload, s->payload_len);
	return len;
}

static size_t put_icmp(uint8_t *p, const struct pkt_spec *s)
{
	struct icmphdr *icmp = (struct icmphdr *)p;
	size_t len = sizeof(*icmp) + s->payload_len;

	icmp->type = ICMP_ECHO;
	icmp->un.echo.id = htons(s->sport);
	icmp->un.echo.sequence = htons(1);
	if (s->payload_len)
		memcpy(p + sizeof(*icmp), s->payload, s->payload_len);
	icmp->checksum = pkt_csum(p, len, 0);
	return len;
}

static size_t put_arp(uint8_t *p, const struct pkt_spec *s)
{
	static const uint8_t fixed[8] = { 0, 1, 8, 0, 6, 4, 0, 1 }; /* Ethernet, IPv4, request */

	memcpy(p, fixed, sizeof(fixed));
	memcpy(p + 8, s->smac, ETH_ALEN);
	memcpy(p + 14, &s->saddr, 4);
	memset(p + 18, 0, ETH_ALEN);
	memcpy(p + 24, &s->daddr, 4);
	return ARP_LEN;
}

/* fd00::<last byte of the IPv4 address>: enough to make a distinct IPv6 frame. */
static size_t put_ip6_tcp(uint8_t *p, const struct pkt_spec *s)
{
	size_t l4 = put_tcp(p + IPV6_HLEN, s);
	uint16_t plen = htons((uint16_t)l4);

	memset(p, 0, IPV6_HLEN);
	p[0] = 0x60;
	memcpy(p + 4, &plen, 2);
	p[6] = IPPROTO_TCP;
	p[7] = 64;
	p[8] = 0xfd;
	p[23] = ((const uint8_t *)&s->saddr)[3];
	p[24] = 0xfd;
	p[39] = ((const uint8_t *)&s->daddr)[3];
	return IPV6_HLEN + l4;
}

static size_t put_ip4(uint8_t *p, const struct pkt_spec *s)
{
	struct iphdr *ip = (struct iphdr *)p;
	size_t hlen = sizeof(*ip) + s->ip_opt_len, l4;
	uint8_t proto;

	switch (s->kind) {
	case PKT_UDP4:
		proto = IPPROTO_UDP;
		l4 = put_udp(p + hlen, s);
		break;
	case PKT_ICMP4:
		proto = IPPROTO_ICMP;
		l4 = put_icmp(p + hlen, s);
		break;
	default:
		proto = IPPROTO_TCP;
		l4 = put_tcp(p + hlen, s);
		break;
	}
	ip->version = s->ip_version ? s->ip_version : 4;
	ip->ihl = s->ihl ? s->ihl : 5 + s->ip_opt_len / 4;
	ip->tot_len = htons((uint16_t)(hlen + l4 + s->tot_len_adj));
	ip->id = htons(0x1234);
	ip->frag_off = htons(s->frag);
	ip->ttl = s->ttl ? s->ttl : 64;
	ip->protocol = proto;
	ip->saddr = s->saddr;
	ip->daddr = s->daddr;
	memset(p + sizeof(*ip), 1 /* NOP */, s->ip_opt_len);
	/* Both checksums over the true lengths, so only the field under test is wrong. */
	if (proto == IPPROTO_TCP)
		((struct tcphdr *)(p + hlen))->check = pkt_tcp4_csum(ip, p + hlen, l4);
	if (proto == IPPROTO_UDP)
		((struct udphdr *)(p + hlen))->check = pkt_csum(p + hlen, l4,
								 inet_pseudo4_sum(ip->saddr, ip->daddr, IPPROTO_UDP, l4));
	if (ip->ihl >= 5 && ip->ihl * 4 <= hlen)
		ip->check = pkt_ip4_csum(ip);
	return hlen + l4;
}

void pkt_build(struct frame *f, const struct pkt_spec *s)
{
	uint8_t *p = f->b + s->meta;
	size_t len;

	memset(f, 0, sizeof(*f));
	f->meta = s->meta;
	switch (s->kind) {
	case PKT_ARP:
		len = put_eth(p, s, ETH_P_ARP);
		len += put_arp(p + len, s);
		break;
	case PKT_TCP6:
		len = put_eth(p, s, ETH_P_IPV6);
		len += put_ip6_tcp(p + len, s);
		break;
	default:
		len = put_eth(p, s, ETH_P_IP);
		len += put_ip4(p + len, s);
		break;
	}
	if (s->pad_to > len)
		len = s->pad_to; /* f was zeroed: the padding is zeros */
	if (s->trunc && s->trunc < len)
		len = s->trunc;
	f->len = s->meta + len;
}

int pkt_view_tcp4(struct frame *f, struct pkt_view *v)
{
	uint8_t *p = f->b + f->meta;
	size_t len = f->len - f->meta, tot;

	memset(v, 0, sizeof(*v));
	if (len < sizeof(struct ethhdr) + sizeof(struct iphdr))
		return -1;
	v->eth = (struct ethhdr *)p;
	v->ip = (struct iphdr *)(p + sizeof(struct ethhdr));
	if (v->eth->h_proto != htons(ETH_P_IP) || v->ip->version != 4 || v->ip->ihl < 5 ||
	    v->ip->protocol != IPPROTO_TCP)
		return -1;
	tot = ntohs(v->ip->tot_len);
	if (tot > len - sizeof(struct ethhdr) || tot < v->ip->ihl * 4u + sizeof(struct tcphdr))
		return -1;
	v->tcp = (struct tcphdr *)((uint8_t *)v->ip + v->ip->ihl * 4);
	v->l4_len = tot - v->ip->ihl * 4u;
	return 0;
}

enum pkt_csum_res pkt_check_csums(struct frame *f)
{
	struct pkt_view v;

	if (pkt_view_tcp4(f, &v))
		return PKT_CSUM_NOT_TCP4;
	if (v.ip->check != pkt_ip4_csum(v.ip))
		return PKT_CSUM_BAD_IP;
	if (v.tcp->check != pkt_tcp4_csum(v.ip, v.tcp, v.l4_len))
		return PKT_CSUM_BAD_TCP;
	return PKT_CSUM_OK;
}

int pkt_parse_mac(const char *str, uint8_t mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	int i;

	if (!str || sscanf(str, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

const char *pkt_ntoa(uint32_t addr_be, char *buf, size_t len)
{
	return inet_ntop(AF_INET, &addr_be, buf, (socklen_t)len);
}

void pkt_hexdump(const char *title, const struct frame *f)
{
	size_t i;

	fprintf(stderr, "%s (%zu bytes, %zu meta):", title, f->len, f->meta);
	for (i = 0; i < f->len; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", f->b[i]);
	fprintf(stderr, "\n");
}

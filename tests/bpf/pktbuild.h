/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pktbuild: a tiny frame builder for the BPF_PROG_TEST_RUN tests, in the
 * spirit of katran's test fixtures. Every checksum is computed from scratch
 * over the finished bytes, never incrementally, so that the data plane's
 * incremental updates are checked against an independent computation.
 */
#ifndef MQLB_TEST_PKTBUILD_H
#define MQLB_TEST_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#define PKT_MAX      1600
#define PKT_META_MAX 32    /* the kernel allows at most 32 bytes of XDP metadata */

enum pkt_kind {
	PKT_TCP4 = 0,
	PKT_UDP4,
	PKT_ICMP4,         /* echo request */
	PKT_ARP,           /* request for daddr */
	PKT_TCP6,
};

/* TCP flag bits as they sit in header byte 13. */
#define TF_FIN 0x01
#define TF_SYN 0x02
#define TF_RST 0x04
#define TF_PSH 0x08
#define TF_ACK 0x10

/* What to build. Zero means "the sensible default" for every field but the addresses. */
struct pkt_spec {
	enum pkt_kind kind;
	uint8_t dmac[ETH_ALEN];
	uint8_t smac[ETH_ALEN];
	uint16_t vlan_proto;      /* 0: untagged; else ETH_P_8021Q/ETH_P_8021AD tag before IPv4 */
	uint16_t vlan_id;
	uint32_t saddr, daddr;    /* network order */
	uint16_t sport, dport;    /* host order */
	uint8_t ip_version;       /* 0: 4 */
	uint8_t ihl;              /* 0: 5 + ip_opt_len / 4; else written as is */
	uint8_t ip_opt_len;       /* option bytes present (NOPs), multiple of 4 */
	uint16_t frag;            /* host order flags|offset written as is (pkt_spec_init: DF) */
	int tot_len_adj;          /* added to the true total length */
	uint8_t ttl;              /* 0: 64 */
	uint8_t flags;            /* TF_* */
	uint32_t seq, ack_seq;
	uint8_t doff;             /* 0: 5 + tcp_opt_len / 4; else written as is */
	uint8_t tcp_opt_len;      /* option bytes present (MSS, then NOPs), multiple of 4 */
	const uint8_t *tcp_opts;  /* if set: the tcp_opt_len option bytes, written as they are */
	const void *payload;
	size_t payload_len;
	size_t pad_to;            /* append zero Ethernet padding up to this frame length */
	size_t trunc;             /* 0: whole frame; else cut the frame to this many bytes */
	size_t meta;              /* XDP metadata bytes in front of the frame (multiple of 4) */
};

/*
 * A frame as handed to BPF_PROG_TEST_RUN: meta bytes, then the packet. The
 * two bytes in front put the IP header on a 4-byte boundary (NET_IP_ALIGN),
 * so that UBSan's alignment check accepts struct iphdr/tcphdr pointers.
 */
struct frame {
	uint8_t align[2];
	uint8_t b[PKT_MAX];
	size_t len;               /* including meta */
	size_t meta;
};

/* Parsed pointers into an untagged IPv4/TCP frame (after meta). */
struct pkt_view {
	struct ethhdr *eth;
	struct iphdr *ip;
	struct tcphdr *tcp;
	size_t l4_len;            /* TCP header + payload, from the IP total length */
};

enum pkt_csum_res {
	PKT_CSUM_OK = 0,
	PKT_CSUM_BAD_IP,
	PKT_CSUM_BAD_TCP,
	PKT_CSUM_NOT_TCP4,
};

void pkt_spec_init(struct pkt_spec *s);
void pkt_build(struct frame *f, const struct pkt_spec *s);

/* Internet checksum of buf (RFC 1071), started from sum; returns the folded, complemented value in
 * network order, ready to be stored. */
uint16_t pkt_csum(const void *buf, size_t len, uint32_t sum);
uint16_t pkt_ip4_csum(const struct iphdr *ip);
uint16_t pkt_tcp4_csum(const struct iphdr *ip, const void *l4, size_t l4_len);

int pkt_view_tcp4(struct frame *f, struct pkt_view *v);
/* Recompute both checksums of an IPv4/TCP frame from scratch and compare with the fields. */
enum pkt_csum_res pkt_check_csums(struct frame *f);

int pkt_parse_mac(const char *str, uint8_t mac[ETH_ALEN]);
const char *pkt_ntoa(uint32_t addr_be, char *buf, size_t len);
void pkt_hexdump(const char *title, const struct frame *f);

#endif

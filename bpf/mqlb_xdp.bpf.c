// SPDX-License-Identifier: GPL-2.0
/*
 * mqlb XDP data plane, fullnat mode.
 *
 *   client -> VIP:port     SYN: pick a backend round-robin, reserve a SNAT
 *                          port, record the flow; then every packet is
 *                          rewritten to SNAT:port -> backend and forwarded.
 *   backend -> SNAT:port   looked up in "snat", rewritten to VIP -> client
 *                          and sent back out the interface the SYN came in.
 *   anything else          XDP_PASS, untouched (ARP, ICMP, other ports, the
 *                          balancer's own connections).
 *
 * The first client payload of a flow is read as an MQTT CONNECT (mqtt.h);
 * with the strict option a flow whose first payload is not one is reset,
 * both ways (refuse_flow()).
 *
 * Every decision other than forwarding is counted by reason in "stats".
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "mqlb_abi.h"
#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "flow.h"
#include "reset.h"
#include "mqtt.h"
#include "mqtt_record.h"
#include "tcp_ts.h"
#include "xmit.h"
#include "admit.h"
#include "bind_flow.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * on-down reset (the default): a flow whose backend is down, or was
 * removed (its slot empty or given to another address), is ended so that
 * its MQTT client reconnects to a backend that is up.
 */
static __always_inline bool backend_gone(const struct mqlb_config *cfg, const struct mqlb_flow *f)
{
	__u32 id = f->backend_id;
	struct mqlb_backend *be;

	if (cfg->flags & MQLB_CFG_KEEP_ON_DOWN)
		return false;
	be = bpf_map_lookup_elem(&backends, &id);
	if (!be)
		return false;
	return be->state == MQLB_BE_DOWN || be->state == MQLB_BE_EMPTY ||
	       be->addr_be != f->backend_addr_be || be->port_be != f->backend_port_be;
}

/*
 * Judge the first client payload of a flow as an MQTT CONNECT and record
 * what it says (mqtt_judge()). The first payload is the segment at the
 * client's ISN + 1, not merely the first one with data to arrive: a
 * segment reordered ahead of it, or data of a flow adopted from an older
 * program that kept no ISN, is never taken for the CONNECT. (TCP Fast Open
 * data in the SYN is not parsed: the flow then stays unjudged.) Returns
 * true when strict mode must refuse the flow: malformed or not MQTT. A
 * SPLIT CONNECT is never refused: its rest may well be valid, and the
 * broker validates it anyway.
 */
static __always_inline bool mqtt_first_payload(struct xdp_md *ctx, struct pkt *p,
					       const struct mqlb_config *cfg, struct mqlb_flow *f)
{
	struct tcphdr *tcp = p->tcp;
	struct mqtt_connect_info ci = {};

	if ((f->tcp_flags & MQLB_FLOW_PAYLOAD) || tcp->syn || tcp->rst || !seg_payload(p) ||
	    bpf_ntohl(tcp->seq) != f->client_isn + 1)
		return false;
	/* Both copies of a retransmitted first segment may race on two CPUs: one parses. */
	if (__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_PAYLOAD) & MQLB_FLOW_PAYLOAD)
		return false;
	return mqtt_judge(ctx, p, f, &ci) && (cfg->flags & MQLB_CFG_STRICT);
}

/*
 * strict: end a flow whose first payload is not a CONNECT, on both sides.
 * XDP sends one frame per packet, and the broker's side matters most: a
 * RST to the client alone left the broker holding an established socket
 * that waits for a CONNECT (mosquitto 2.0.11 here: still open 22 s later,
 * with no end in sight, while it closes on garbage at once). So this
 * segment goes on to the backend turned into a RST: its SEQ is the
 * client's ISN + 1, exactly the broker's RCV.NXT since nothing was
 * forwarded before it, so RFC 5961's check accepts it, and the payload it
 * still carries is discarded with it (RFC 1122 section 4.2.2.12 allows
 * data in a RST). The client, whose segment is never acknowledged, sends
 * again within one retransmission timeout and gets its RST then.
 */
static __always_inline int refuse_flow(struct xdp_md *ctx, struct pkt *p, struct mqlb_flow *f)
{
	struct tcphdr *tcp = p->tcp;
	/* The 16-bit word of data offset and flags, as the checksum sees it. */
	__u16 *word = (__u16 *)((__u8 *)tcp + 12);
	__u16 old = *word;

	__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_REFUSED);
	stat_inc(MQLB_STAT_MQTT_STRICT_RESET);
	tcp->rst = 1;
	tcp->psh = 0;
	tcp->fin = 0;
	csum_replace2(&tcp->check, old, *word);
	return forward_to_backend(ctx, p, f, MQLB_FLOW_RST, true);
}

/*
 * A client SYN on a tuple that has a flow. A closed flow (or one whose
 * backend is gone) makes way for the new connection. A live one is never
 * balanced anew nor changed: its retransmitted SYN goes on as the first
 * did, and any other SYN goes to its backend untouched, which answers
 * with a challenge ACK (RFC 5961 4.2): a client that lost its connection
 * then resets it at the exact sequence number, and an attacker's SYN only
 * reaches the real client as an ACK it ignores.
 */
static __always_inline int client_syn(struct xdp_md *ctx, struct pkt *p,
				      const struct mqlb_config *cfg,
				      const struct mqlb_flow_key *key, struct mqlb_flow *f)
{
	if (MQLB_FLOW_CLOSED(f->tcp_flags) || backend_gone(cfg, f)) {
		flow_recycle(key, f);
		if (cfg->flags & MQLB_CFG_BIND)
			return cookie_syn(ctx, cfg);
		return new_flow(ctx, p, cfg, key);
	}
	stat_inc(bpf_ntohl(p->tcp->seq) == f->client_isn ? MQLB_STAT_FLOW_SYN_RETRANS :
							   MQLB_STAT_FLOW_SYN_CHALLENGE);
	return forward_to_backend(ctx, p, f, 0, false);
}

/* The verdict for a segment the window check refused. */
static __always_inline int out_of_window(const struct pkt *p)
{
	return verdict(XDP_DROP, p->tcp->rst ? MQLB_STAT_DROP_RST_OUT_OF_WINDOW :
					       MQLB_STAT_DROP_OUT_OF_WINDOW);
}

static __always_inline int from_client(struct xdp_md *ctx, struct pkt *p,
				       const struct mqlb_config *cfg)
{
	struct tcphdr *tcp = p->tcp;
	struct mqlb_flow_key key = {
		.client_addr_be = p->ip->saddr,
		.vip_addr_be = p->ip->daddr,
		.client_port_be = tcp->source,
		.vip_port_be = tcp->dest,
	};
	struct mqlb_flow *f;
	bool xl;
	int v;

	f = bpf_map_lookup_elem(&flows, &key);
	if (!f) {
		if (tcp->syn && !tcp->ack)
			return cfg->flags & MQLB_CFG_BIND ? cookie_syn(ctx, cfg) :
							    new_flow(ctx, p, cfg, &key);
		/* Delayed binding: the handshake's ACK, its cookie to check. */
		if ((cfg->flags & MQLB_CFG_BIND) && tcp->ack && !tcp->syn)
			return cookie_ack(ctx, p, cfg, &key);
		/* Without a flow the local stack would answer with a RST. */
		return verdict(XDP_DROP, MQLB_STAT_DROP_NO_FLOW);
	}
	if (f->tcp_flags & (MQLB_FLOW_BIND_CONNECT | MQLB_FLOW_BIND_SYNACK))
		return bind_client(ctx, p, cfg, &key, f);
	if (tcp->syn && !tcp->ack)
		return client_syn(ctx, p, cfg, &key, f);
	xl = f->tcp_flags & MQLB_FLOW_XLATE;
	/* From here on, only a segment in the window may change anything. */
	v = window_check(p, f, MQLB_SIDE_CLIENT, xl ? f->proxy_len : 0, xl ? f->seq_delta : 0);
	if (v == SEG_DROP)
		return out_of_window(p);
	if (v == SEG_RST_CHALLENGE) {
		stat_inc(MQLB_STAT_PASS_RST_IN_WINDOW);
		return forward_to_backend(ctx, p, f, 0, false);
	}
	if (backend_gone(cfg, f)) {
		/*
		 * Never a RST for a RST (RFC 793): the client's own RST (say, to
		 * the daemon's second probe, after ours closed it) ends here, and
		 * must not overwrite the broker's RCV.NXT taken from the segment
		 * that was answered first.
		 */
		if (tcp->rst)
			return verdict(XDP_DROP, MQLB_STAT_DROP_NO_FLOW);
		/* In the backend's numbers: a bound flow's are the client's + the PROXY header. */
		if (!(f->tcp_flags & MQLB_FLOW_BACKEND_LOST))
			f->reset_seq = bpf_ntohl(tcp->seq) + (xl ? f->proxy_len : 0);
		__sync_fetch_and_or(&f->tcp_flags,
				    MQLB_FLOW_RST | MQLB_FLOW_RESET_SENT | MQLB_FLOW_BACKEND_LOST);
		return rst_back(ctx, p, MQLB_STAT_RESET_BACKEND_DOWN);
	}
	/* Never a RST for a RST (RFC 793): that one just follows the flow. */
	if ((f->tcp_flags & MQLB_FLOW_REFUSED) && !tcp->rst) {
		__sync_fetch_and_or(&f->tcp_flags, MQLB_FLOW_RESET_SENT);
		return rst_back(ctx, p, MQLB_STAT_RESET_REFUSED);
	}
	if (mqtt_first_payload(ctx, p, cfg, f))
		return refuse_flow(ctx, p, f);
	return forward_to_backend(ctx, p, f, v == SEG_RST_CLOSE ? MQLB_FLOW_RST : 0, true);
}

static __always_inline bool backend_addr_known(__be32 addr)
{
	return bpf_map_lookup_elem(&backend_addrs, &addr) != NULL;
}

static __always_inline int from_backend(struct xdp_md *ctx, struct pkt *p,
					const struct mqlb_config *cfg)
{
	struct tcphdr *tcp = p->tcp;
	struct mqlb_snat_key sk = {
		.backend_addr_be = p->ip->saddr,
		.snat_addr_be = p->ip->daddr,
		.backend_port_be = tcp->source,
		.snat_port_be = tcp->dest,
	};
	struct mqlb_flow_key *ck;
	struct mqlb_flow *f;
	int v;

	ck = bpf_map_lookup_elem(&snat, &sk);
	if (!ck) {
		/* A backend's late segment goes to the kernel, which resets it; nobody else's. */
		if (!backend_addr_known(p->ip->saddr))
			return verdict(XDP_DROP, MQLB_STAT_DROP_NOT_BACKEND);
		return verdict(XDP_PASS, MQLB_STAT_PASS_NO_FLOW_REPLY);
	}
	f = bpf_map_lookup_elem(&flows, ck);
	/* A retired flow (its key is not the client's) has no client to go to. */
	if (!f || f->snat_port_be != sk.snat_port_be || (f->tcp_flags & MQLB_FLOW_RETIRED))
		return verdict(XDP_PASS, MQLB_STAT_PASS_NO_FLOW_REPLY);

	/*
	 * Before the backend's SYN-ACK, its SYN-ACK opens its side. A bare ACK
	 * means the backend still holds another connection on this tuple (a
	 * half-open flow evicted under a flood, whose SYN it answered): the
	 * client would reset it at the ACK's number (RFC 793, SYN-SENT), so
	 * the data plane does, and the client's SYN retransmission then gets
	 * through (delayed binding: bind_synack). A bound flow whose backend
	 * never got the handshake's ACK gets it again (bind_ack_again).
	 * Anything else goes to the window check's half-open rules.
	 */
	if (f->tcp_flags & MQLB_FLOW_BIND_SYNACK)
		return bind_synack(ctx, p, ck, f);
	if (bind_ack_lost(p, f))
		return bind_ack_again(ctx, p, ck, f);
	if (f->tcp_flags & MQLB_FLOW_SYNACK)
		v = window_check(p, f, MQLB_SIDE_BACKEND, 0, 0);
	else if (tcp->syn && tcp->ack)
		v = window_synack(ctx, p, f);
	else if (tcp->ack && !tcp->syn && !tcp->rst && !tcp->fin)
		return rst_back(ctx, p, MQLB_STAT_RESET_STALE_BACKEND);
	else
		v = window_check(p, f, MQLB_SIDE_BACKEND, 0, 0);
	if (v == SEG_DROP)
		return out_of_window(p);
	if (v == SEG_RST_CHALLENGE)
		stat_inc(MQLB_STAT_PASS_RST_IN_WINDOW);

	rewrite_tuple(p, ck->vip_addr_be, ck->client_addr_be, ck->vip_port_be, ck->client_port_be);
	/* A bound flow: back to the numbers and window scale the client was told (bind.h). */
	if ((f->tcp_flags & MQLB_FLOW_XLATE) &&
	    mqlb_xlate(ctx, -f->seq_delta, -(__u32)f->proxy_len,
		       (int)f->wscale[MQLB_SIDE_BACKEND] - (int)f->s_wscale))
		return verdict(XDP_DROP, MQLB_STAT_DROP_BAD_DOFF);
	if (f->tcp_flags & MQLB_FLOW_TS_SHIFT)
		ts_to_client(ctx, p, f);
	return emit(ctx, p, f, false, v == SEG_RST_CLOSE ? MQLB_FLOW_RST : 0,
		    v != SEG_RST_CHALLENGE, f->lb_mac, f->cli_mac, f->cli_ifindex, packet_clock());
}

/*
 * Each side only from its own interface: VIP:port on `interface`, the
 * SNAT range on `backend-interface`, so that a segment forged with a
 * backend's address cannot come in from the clients' side, nor a client's
 * from the backends'.
 */
static __always_inline bool wrong_iface(const struct xdp_md *ctx, const struct mqlb_config *cfg,
					bool to_vip)
{
	__u32 want = to_vip ? cfg->cli_ifindex : cfg->be_ifindex;

	return want && ctx->ingress_ifindex != want;
}

SEC("xdp")
int mqlb_xdp(struct xdp_md *ctx)
{
	struct mqlb_config *cfg;
	struct pkt p = {};
	__u32 zero = 0, stat = 0;
	__u16 dport;
	bool to_vip, ours;

	stat_inc(MQLB_STAT_RX_PACKETS);
	switch (parse_eth_ip(ctx, &p, &stat)) {
	case PARSE_OK:
		break;
	case PARSE_PASS:
		return verdict(XDP_PASS, stat);
	default:
		return verdict(XDP_DROP, stat);
	}
	if (p.ip->protocol != IPPROTO_TCP)
		return verdict(XDP_PASS, MQLB_STAT_PASS_NON_TCP);

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !cfg->vip_addr_be || cfg->snat_port_min == 0 ||
	    cfg->snat_port_min > cfg->snat_port_max)
		return verdict(XDP_PASS, MQLB_STAT_PASS_NOT_CONFIGURED);
	to_vip = p.ip->daddr == cfg->vip_addr_be;
	if (!to_vip && p.ip->daddr != cfg->snat_addr_be)
		return verdict(XDP_PASS, MQLB_STAT_PASS_NOT_OURS);

	switch (parse_tcp(&p, &stat)) {
	case PARSE_OK:
		break;
	case PARSE_PASS:
		return verdict(XDP_PASS, stat);
	default:
		return verdict(XDP_DROP, stat);
	}
	if (to_vip) {
		ours = p.tcp->dest == cfg->vip_port_be;
	} else {
		/* Only the SNAT range can hold our flows; the balancer's own
		 * connections (ephemeral ports) go to the kernel untouched. */
		dport = bpf_ntohs(p.tcp->dest);
		ours = dport >= cfg->snat_port_min && dport <= cfg->snat_port_max;
	}
	if (!ours)
		return verdict(XDP_PASS, MQLB_STAT_PASS_NOT_OURS);
	if (wrong_iface(ctx, cfg, to_vip))
		return verdict(XDP_DROP, MQLB_STAT_DROP_WRONG_IFACE);
	/* Ours: from here on, a malformed header is dropped. */
	if (check_ours(&p, &stat) != PARSE_OK)
		return verdict(XDP_DROP, stat);
	if (to_vip)
		return from_client(ctx, &p, cfg);
	return from_backend(ctx, &p, cfg);
}

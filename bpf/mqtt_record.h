/* SPDX-License-Identifier: GPL-2.0 */
/* A flow's first payload parsed as an MQTT CONNECT (mqtt.h), and what it says recorded. */
#ifndef MQLB_BPF_MQTT_RECORD_H
#define MQLB_BPF_MQTT_RECORD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "flow.h"
#include "mqtt.h"
#include "tcp_window.h"

/*
 * Parse the segment's payload as a CONNECT into *ci and record the outcome
 * in f, counted. Returns true for a payload strict mode refuses: malformed
 * or not MQTT.
 */
static __always_inline bool mqtt_judge(struct xdp_md *ctx, struct pkt *p, struct mqlb_flow *f,
				       struct mqtt_connect_info *ci)
{
	__u32 hlen = sizeof(struct iphdr) + (__u32)p->tcp->doff * 4;

	/* check_ours() allows no IP options: the TCP header follows a 20-byte IP header. */
	mqtt_parse_connect(ctx, sizeof(struct ethhdr) + hlen, p->ip_len - hlen, ci);
	switch (ci->outcome) {
	case MQLB_MQTT_PARSED:
		/* The id first and the level last: a reader that sees the level sees the rest. */
		__builtin_memcpy(f->client_id, ci->id, sizeof(f->client_id));
		f->client_id_len = ci->id_len;
		f->keepalive_s = ci->keepalive;
		f->mqtt_flags = MQLB_MQTT_PARSED | ci->flags;
		f->mqtt_level = ci->level;
		stat_inc(ci->level == 3 ? MQLB_STAT_MQTT_CONNECT_V3 :
			 ci->level == 4 ? MQLB_STAT_MQTT_CONNECT_V4 : MQLB_STAT_MQTT_CONNECT_V5);
		return false;
	case MQLB_MQTT_SPLIT:
		f->mqtt_flags = MQLB_MQTT_SPLIT;
		stat_inc(MQLB_STAT_MQTT_CONNECT_SPLIT);
		return false;
	case MQLB_MQTT_MALFORMED:
		f->mqtt_flags = MQLB_MQTT_MALFORMED;
		stat_inc(MQLB_STAT_MQTT_CONNECT_MALFORMED);
		return true;
	default:
		f->mqtt_flags = MQLB_MQTT_NOT_MQTT;
		stat_inc(MQLB_STAT_MQTT_NOT_MQTT);
		return true;
	}
}

#endif

// SPDX-License-Identifier: GPL-2.0
/* $SYS/broker/... topics, named as Mosquitto names them, retained, every sys_interval. */
#include <stdio.h>

#include "broker.h"

static void pub_u64(struct broker *b, const char *topic, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);

	broker_publish_str(b, topic, buf, (uint32_t)n, 0, true);
}

void sys_publish(struct broker *b)
{
	const struct broker_stats *st = &b->st;
	uint64_t uptime = (ev_now_ms(b->loop) - b->start_ms) / 1000;
	uint32_t offline = b->nsessions - st->clients_connected;
	char buf[64];
	int n;

	n = snprintf(buf, sizeof(buf), "mqbroker version %s", MQBROKER_VERSION);
	broker_publish_str(b, "$SYS/broker/version", buf, (uint32_t)n, 0, true);
	n = snprintf(buf, sizeof(buf), "%llu seconds", (unsigned long long)uptime);
	broker_publish_str(b, "$SYS/broker/uptime", buf, (uint32_t)n, 0, true);
	pub_u64(b, "$SYS/broker/clients/connected", st->clients_connected);
	pub_u64(b, "$SYS/broker/clients/active", st->clients_connected);
	pub_u64(b, "$SYS/broker/clients/disconnected", offline);
	pub_u64(b, "$SYS/broker/clients/inactive", offline);
	pub_u64(b, "$SYS/broker/clients/total", b->nsessions);
	pub_u64(b, "$SYS/broker/clients/maximum", st->clients_max);
	pub_u64(b, "$SYS/broker/connections/total", st->connections_total);
	pub_u64(b, "$SYS/broker/messages/received", st->msgs_received);
	pub_u64(b, "$SYS/broker/messages/sent", st->msgs_sent);
	pub_u64(b, "$SYS/broker/publish/messages/received", st->pub_received);
	pub_u64(b, "$SYS/broker/publish/messages/sent", st->pub_sent);
	pub_u64(b, "$SYS/broker/publish/messages/dropped", st->pub_dropped);
	pub_u64(b, "$SYS/broker/bytes/received", st->bytes_received);
	pub_u64(b, "$SYS/broker/bytes/sent", st->bytes_sent);
	pub_u64(b, "$SYS/broker/subscriptions/count", b->nsubscriptions);
	pub_u64(b, "$SYS/broker/retained messages/count", b->nretained);
	bridge_sys_publish(b);
}

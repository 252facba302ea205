/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A real struct broker and its loop for unit tests: clients are
 * socketpairs, driven with packets the codec encodes; the test reads back
 * whole packets. No threads, no sleeps: each step runs the loop once.
 */
#ifndef TEST_BROKER_HARNESS_H
#define TEST_BROKER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"

/* The test's end of one connection, with what it has read but not taken. */
struct peer {
	int fd;
	uint8_t buf[1 << 16];
	size_t len;
};

/* A broker with conf as given (or defaults when NULL), quiet; freed by th_broker_free. */
struct broker *th_broker(const char *conf);
void th_broker_free(struct broker *b);
/* One loop iteration, then what before_sleep does (flush, free closed). */
void th_run(struct broker *b);
/* A new connection; nothing sent yet. */
struct peer *th_peer(struct broker *b);
/* The same, as if accepted on lst from sa (either may be NULL). */
struct peer *th_peer_on(struct broker *b, struct listener *lst, const struct sockaddr *sa);
void th_peer_free(struct peer *p);
void th_send(struct peer *p, const struct mqtt_packet *pkt);
void th_send_raw(struct peer *p, const void *data, size_t len);
/*
 * Runs the loop until a whole packet is there (a few rounds at most), then
 * decodes it into pkt (views into p->buf, valid until the next call).
 * Returns the first byte, 0 when nothing came, -1 when the broker closed.
 */
int th_recv(struct broker *b, struct peer *p, struct mqtt_packet *pkt);
/* True when the broker has closed this connection. */
bool th_closed(struct broker *b, struct peer *p);
/* CONNECT with these, returns the CONNACK return code (or -1: closed without one). */
int th_connect(struct broker *b, struct peer *p, const char *id, bool clean, uint16_t keepalive);
/* th_connect with a user name (NULL: none, as th_connect). */
int th_connect_user(struct broker *b, struct peer *p, const char *id, const char *user, bool clean,
		    uint16_t keepalive);
/* th_peer + th_connect(..., clean, 60) that must be accepted. */
struct peer *th_client(struct broker *b, const char *id, bool clean);
/* The same with a user name (NULL: anonymous). */
struct peer *th_user_client(struct broker *b, const char *id, const char *user, bool clean);
void th_subscribe(struct broker *b, struct peer *p, const char *filter, uint8_t qos);
void th_publish(struct peer *p, const char *topic, const char *payload, uint8_t qos,
		uint16_t pid, bool retain);
void th_ack(struct peer *p, uint8_t type, uint16_t pid);

#endif

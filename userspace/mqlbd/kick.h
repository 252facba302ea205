/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Provoking the clients of a lost backend (on-down reset). MQTT clients
 * are mostly idle, so their next segment may be a keep-alive away. mqlbd
 * sends each one a bare ACK from VIP:port with a sequence number outside
 * its window; TCP must answer an unacceptable segment with an ACK
 * (RFC 793 p. 69), and that ACK, reaching the data plane on a flow whose
 * backend is down, is turned into the RST that ends the connection.
 */
#ifndef MQLBD_KICK_H
#define MQLBD_KICK_H

#include <stdint.h>
#include <netinet/in.h>

#include "mqlb_abi.h"

#define KICK_PROBE_LEN 40 /* IPv4 + TCP headers, no options */

/* The probe as sent: VIP:port -> client, ACK, the given sequence number. */
void kick_build(const struct mqlb_flow_key *key, uint32_t seq, uint8_t out[KICK_PROBE_LEN]);
/*
 * The broker's side of a flow being collected, when it needs ending: a RST
 * from SNAT:port with SEQ exactly the broker's RCV.NXT, the one RST that
 * RFC 5961 (and TIME_WAIT) accept.
 *   BACKEND_LOST       the data plane reset the client; seq = reset_seq.
 *                      Without it a live broker (deleted, or failing its
 *                      checks while running) keeps the connection until its
 *                      own keep-alive check gives up.
 *   BACKEND_TIME_WAIT  the broker closed first and holds TIME_WAIT, which
 *                      would drop a SYN reusing the SNAT port, unless the
 *                      flow's shifted timestamps make that SYN newer
 *                      (MQLB_FLOW_TS_COVERS); seq = the client's end after its FIN.
 * Returns the kind (MQLB_STAT_FLOW_BACKEND_RST_*) with *seq, or -1: none.
 */
int kick_backend_rst_wanted(const struct mqlb_flow *f, uint32_t *seq);
void kick_build_backend_rst(const struct mqlb_flow *f, uint32_t seq, uint8_t out[KICK_PROBE_LEN]);

/*
 * An established flow the collector removes (idle, or half-closed too
 * long) may still have both ends up: each gets a RST at exactly its
 * RCV.NXT as its latest ACK told it (the side's maxack), so that neither
 * waits on a connection nobody forwards any more. Nothing is in flight on
 * an idle flow, so that is exact; were it not, the end answers with a
 * challenge ACK and keeps its connection, as without the RST.
 */
void kick_build_client_rst(const struct mqlb_flow_key *key, uint32_t seq,
			   uint8_t out[KICK_PROBE_LEN]);

/* RSTs gathered during a collection pass, sent with one sendmmsg per KICK_BATCH. */
#define KICK_BATCH 64
#define KICK_UNCOUNTED 0xff /* kind of a RST counted with another (a flow's second) */
struct kick_batch {
	int fd;
	unsigned int n;
	uint64_t sent[MQLB_STAT_MAX]; /* by kind, since the caller last cleared it */
	uint64_t failed;
	uint8_t kind[KICK_BATCH];
	uint8_t pkt[KICK_BATCH][KICK_PROBE_LEN];
	struct sockaddr_in to[KICK_BATCH];
};
/* Queue f's broker RST if it wants one (flushing a full batch first). */
void kick_batch_add(struct kick_batch *b, const struct mqlb_flow *f);
/*
 * Queue the RSTs of both ends of flow f at key (counted once, as
 * flow_idle_reset), each in its own numbers: a bound flow (MQLB_FLOW_XLATE)
 * keeps its state in the backend's, the client's are seq_delta behind.
 * A flow still binding has only the cookie's handshake with the client
 * (RCV.NXT s_isn + 1) and at most a SYN toward the backend (client_isn + 1).
 */
void kick_batch_add_reset(struct kick_batch *b, const struct mqlb_flow_key *key,
			  const struct mqlb_flow *f);
void kick_batch_flush(struct kick_batch *b);
/* A raw IPv4 socket (IP_HDRINCL): fd, or -errno. */
int kick_open(void);
/* Two probes whose sequence numbers are 2^31 apart: at least one is outside any window. */
int kick_client(int fd, const struct mqlb_flow_key *key, uint32_t seed);

#endif

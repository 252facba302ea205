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

#include "mqlb_abi.h"

#pragma GCC poison u8 u16 u32 u64

#define KICK_PROBE_LEN 40 /* IPv4 + TCP headers, no options */

/* The probe as sent: VIP:port -> client, ACK, the given sequence number. */
void kick_build(const struct mqlb_flow_key *key, uint32_t seq, uint8_t out[KICK_PROBE_LEN]);
/*
 * The broker's side of a flow the data plane reset (MQLB_FLOW_BACKEND_LOST):
 * a RST from SNAT:port with SEQ = reset_seq, exactly the broker's RCV.NXT.
 * Without it a live broker (deleted, or failing its checks while running)
 * keeps the connection until its own keep-alive check gives up.
 */
void kick_build_backend_rst(const struct mqlb_flow *f, uint8_t out[KICK_PROBE_LEN]);
int kick_backend(int fd, const struct mqlb_flow *f);
/* A raw IPv4 socket (IP_HDRINCL): fd, or -errno. */
int kick_open(void);
/* Two probes whose sequence numbers are 2^31 apart: at least one is outside any window. */
int kick_client(int fd, const struct mqlb_flow_key *key, uint32_t seed);

#endif

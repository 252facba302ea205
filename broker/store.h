/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The persistence file (persistence true): mqbroker's own format, version
 * 1, written by store_write.c and read by store_read.c. broker/README.md
 * documents it byte by byte; what follows is the contract between the two.
 *
 * File:    header, then records, the last of them STORE_REC_END.
 * Header:  "MQBSTORE" (8 bytes), version (u32), header length (u32, 32),
 *          time written (u64, ms since the epoch), writer's broker id (u64).
 * Record:  type (u8), body length (u32), body, CRC-32C (u32) of the type,
 *          length and body. Integers are big-endian; a string is a u16
 *          length and its bytes; a blob a u32 length and its bytes.
 *
 * A file is accepted only whole: every record's CRC right, the END record
 * last with the number of records before it and the CRC-32C of every byte
 * before it, nothing after it, every reference to a message or a session
 * resolvable when it is met.
 */
#ifndef MQBROKER_STORE_H
#define MQBROKER_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_MAGIC		"MQBSTORE"
#define STORE_VERSION		1
#define STORE_HDR_LEN		32
/* A Mosquitto database starts with these 15 bytes. */
#define STORE_MOSQ_MAGIC	"\x00\xb5\x00mosquitto db"
#define STORE_MOSQ_MAGIC_LEN	15

enum store_rec {
	/* u64 records before it, u32 CRC-32C of the file before it */
	STORE_REC_END = 0,
	/* u32 id (0, 1, 2... in file order), u8 qos, string topic, blob payload */
	STORE_REC_MSG = 1,
	/*
	 * u32 message id, u8 flags (bit 0: publisher known); if known: string
	 * client id, u8 has user, [string user], i8 security set
	 */
	STORE_REC_RETAIN = 2,
	/*
	 * string client id, u8 flags (bit 0: has user), [string user], i8
	 * security set (-1 global, else the listener block: its index in the
	 * configuration, 16 the default listener), u16 next packet id, u64
	 * offline since (ms since the epoch)
	 */
	STORE_REC_SESSION = 3,
	/* of the last SESSION: string filter, u8 qos */
	STORE_REC_SUB = 4,
	/*
	 * of the last SESSION, in send order: u16 packet id, u8 qos, u8 state
	 * (0 waiting for PUBACK/PUBREC, 1 PUBREL sent), u8 retain, u32 message
	 * id (0xffffffff after PUBREC: no message)
	 */
	STORE_REC_INFLIGHT = 5,
	/* of the last SESSION, in order: u16 packet id, u8 qos, u8 retain, u32 message id */
	STORE_REC_QUEUED = 6,
	/* of the last SESSION, inbound QoS 2 before PUBREL: u16 packet id, u8 retain, u32 message id */
	STORE_REC_QOS2IN = 7,
	STORE_REC_MAX = STORE_REC_QOS2IN,
};

#define STORE_NO_MSG		0xffffffffu
#define STORE_SEC_GLOBAL	(-1)

/* crc32c(0, buf, len); continue a running checksum with the result as crc. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);
/* The table path whatever the CPU, for the tests: both must agree. */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif

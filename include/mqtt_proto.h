/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MQTT 3.1 / 3.1.1 wire constants shared by the broker, the codec, the
 * daemon's MQTT health probe, the load generator and the XDP program's
 * CONNECT parser (so it includes nothing and defines only constants).
 * Section numbers refer to the OASIS MQTT 3.1.1 specification.
 */
#ifndef MQTT_PROTO_H
#define MQTT_PROTO_H

/* Control packet types, the high nibble of the first byte (2.2.1). */
enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK = 2,
	MQTT_PUBLISH = 3,
	MQTT_PUBACK = 4,
	MQTT_PUBREC = 5,
	MQTT_PUBREL = 6,
	MQTT_PUBCOMP = 7,
	MQTT_SUBSCRIBE = 8,
	MQTT_SUBACK = 9,
	MQTT_UNSUBSCRIBE = 10,
	MQTT_UNSUBACK = 11,
	MQTT_PINGREQ = 12,
	MQTT_PINGRESP = 13,
	MQTT_DISCONNECT = 14,
};

/* Protocol levels (3.1.2.2): 3 is MQTT 3.1 ("MQIsdp"), 4 is 3.1.1 ("MQTT"). */
#define MQTT_PROTO_V31		3
#define MQTT_PROTO_V311		4
#define MQTT_PROTO_V5		5
#define MQTT_PROTO_NAME_V31	"MQIsdp"
#define MQTT_PROTO_NAME_V311	"MQTT"
/*
 * Not in the specification: Mosquitto's bridges (try_private) set this bit
 * on the CONNECT's protocol level to say "I am a bridge, do not echo what
 * I send you"; mqbroker's bridges and its loop rule use it the same way.
 */
#define MQTT_PROTO_BRIDGE_BIT	0x80

/* CONNECT flags (3.1.2.3). */
#define MQTT_CONN_RESERVED	0x01
#define MQTT_CONN_CLEAN		0x02
#define MQTT_CONN_WILL		0x04
#define MQTT_CONN_WILL_QOS_SHIFT 3
#define MQTT_CONN_WILL_QOS_MASK	0x18
#define MQTT_CONN_WILL_RETAIN	0x20
#define MQTT_CONN_PASSWORD	0x40
#define MQTT_CONN_USERNAME	0x80

/* CONNACK return codes (3.2.2.3). */
enum mqtt_connack_rc {
	MQTT_CONNACK_ACCEPTED = 0,
	MQTT_CONNACK_BAD_PROTOCOL = 1,
	MQTT_CONNACK_ID_REJECTED = 2,
	MQTT_CONNACK_UNAVAILABLE = 3,
	MQTT_CONNACK_BAD_AUTH = 4,
	MQTT_CONNACK_NOT_AUTHORIZED = 5,
};

/* PUBLISH fixed-header flags (3.3.1). */
#define MQTT_PUB_RETAIN		0x01
#define MQTT_PUB_QOS_SHIFT	1
#define MQTT_PUB_QOS_MASK	0x06
#define MQTT_PUB_DUP		0x08

/* SUBACK failure return code (3.9.3). */
#define MQTT_SUBACK_FAILURE	0x80

/*
 * MQTT 5 reason codes: 3.1.1 has no way to send them, but the broker uses
 * them to name why it closed a connection (read_handle.c is the only place
 * that maps -errno to one).
 */
#define MQTT_RC_UNSPECIFIED	0x80
#define MQTT_RC_MALFORMED	0x81
#define MQTT_RC_PROTOCOL_ERROR	0x82
#define MQTT_RC_IMPL_SPECIFIC	0x83
#define MQTT_RC_UNSUPPORTED_VERSION 0x84
#define MQTT_RC_NOT_AUTHORIZED	0x87
#define MQTT_RC_SERVER_UNAVAILABLE 0x88
#define MQTT_RC_SESSION_TAKEN_OVER 0x8e
#define MQTT_RC_KEEPALIVE_TIMEOUT 0x8d
#define MQTT_RC_PACKET_TOO_LARGE 0x95
#define MQTT_RC_QUOTA_EXCEEDED	0x97

/* Limits. */
#define MQTT_MAX_REMAINING	268435455u /* 4-byte varint (2.2.3) */
#define MQTT_MAX_FIXED_HDR	5
#define MQTT_MAX_STR		65535
#define MQTT_MAX_CLIENT_ID_V31	23 /* MQTT 3.1 limit; 3.1.1 servers MAY allow more */

#endif

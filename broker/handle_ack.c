// SPDX-License-Identifier: GPL-2.0
/* PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT 3.1.1 sections 3.4 to 3.7). */
#include <errno.h>

#include "broker.h"

int handle_ack(struct client *c, uint8_t type, uint16_t pid)
{
	struct session *s = c->sess;
	int err;

	if (type == MQTT_PUBREL) {
		bool retain = false;
		struct msg *m = qos2_in_release(c->b, s, pid, &retain);

		/*
		 * [MQTT-4.3.3-2]: the message kept since its PUBLISH goes out now.
		 * PUBCOMP answers even an id we no longer know (a PUBREL re-sent
		 * after reconnection, or a message that was dropped).
		 */
		if (m) {
			broker_publish_from(c->b, m, retain, s);
			msg_put(&c->b->mem, m);
		}
		return send_ack(c, MQTT_PUBCOMP, pid);
	}
	err = session_ack(c->b, s, type, pid);
	/*
	 * An ack for an unknown id is a harmless late duplicate. A PUBREC is
	 * still answered with PUBREL, as Mosquitto does: the peer holds that id
	 * until it is released (it may keep what we lost in a restart), and its
	 * PUBCOMP then ends the exchange on both sides.
	 */
	if (err == -ENOENT && type == MQTT_PUBREC)
		return send_ack(c, MQTT_PUBREL, pid);
	return err == -ENOENT ? 0 : err;
}

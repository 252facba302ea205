// SPDX-License-Identifier: GPL-2.0
/* PINGREQ (MQTT 3.1.1 section 3.12). Any packet already reset the keep-alive clock. */
#include "broker.h"

int handle_pingreq(struct client *c)
{
	return send_ack(c, MQTT_PINGRESP, 0);
}

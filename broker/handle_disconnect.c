// SPDX-License-Identifier: GPL-2.0
/* DISCONNECT (MQTT 3.1.1 section 3.14). */
#include "broker.h"

int handle_disconnect(struct client *c)
{
	/* [MQTT-3.14.4-3]: a clean DISCONNECT discards the will. */
	will_free(c->will);
	c->will = NULL;
	client_close(c, false, "disconnected");
	return 0;
}

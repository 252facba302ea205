// SPDX-License-Identifier: GPL-2.0
/*
 * Bridge topic remapping and reconnection delays: pure functions of the
 * configuration, so the unit tests (tests/unit/test_bridge_topic.c) can
 * check them against Mosquitto's rules without a socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

long bridge_remap(const struct bridge_conf *bc, uint8_t dir, const char *topic, size_t len,
		  char *out, size_t cap)
{
	int i;

	for (i = 0; i < bc->ntopics; i++) {
		const struct bridge_topic *t = &bc->topics[i];
		const char *pat = dir == BRIDGE_OUT ? t->local : t->remote;
		const char *from = dir == BRIDGE_OUT ? t->local_prefix : t->remote_prefix;
		const char *to = dir == BRIDGE_OUT ? t->remote_prefix : t->local_prefix;
		size_t fl = strlen(from), tl = strlen(to);

		if (!(t->dir & dir) || !topic_matches(pat, strlen(pat), topic, len))
			continue;
		/* "p/#" also matches "p" [MQTT-4.7.1-2], which is shorter than "p/". */
		if (len < fl || memcmp(topic, from, fl))
			continue;
		if (tl + len - fl > cap)
			return -ENAMETOOLONG;
		memcpy(out, to, tl);
		memcpy(out + tl, topic + fl, len - fl);
		return (long)(tl + len - fl);
	}
	return -ENOENT;
}

uint64_t bridge_backoff_ms(const struct bridge_conf *bc, uint32_t attempt, unsigned int *seed)
{
	uint64_t base = (uint64_t)bc->restart_base_s * 1000;
	uint64_t cap = (uint64_t)bc->restart_cap_s * 1000;
	uint64_t d = base;
	uint32_t i;

	/*
	 * Exponential from base to cap, then a random point between base and
	 * that: brokers that lost the same remote do not all come back in the
	 * same millisecond. One restart_timeout value gives cap == base, a
	 * constant delay.
	 */
	for (i = 0; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	if (d > base)
		d = base + (uint64_t)rand_r(seed) % (d - base + 1);
	return d;
}

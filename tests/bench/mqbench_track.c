// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench's closed-loop accounting: which deliveries are copies, which
 * messages a broker dropped, when a stalled publisher probes, and the
 * latency sample. Pure, so the unit test links it without sockets.
 *
 * Why drops need accounting: a publisher keeps at most -w messages
 * unsettled, and a message the broker dropped would stay unsettled for
 * the rest of the run. Mosquitto 2.0.11 drops QoS 1 messages in fan-in
 * (its 1,000-message queue toward the one subscriber overflows: it reads
 * one PUBACK per loop pass while 100 publishers add one message each), so
 * within a second 96 of 100 publishers held full windows of dropped
 * messages and the run went on measuring the 4 left: 0.1 ms latency at
 * 37,000 msg/s. Now a skipped sequence number settles what was skipped,
 * and a publisher that stays full probes past its window to find out.
 */
#include "mqbench.h"

bool mqb_seq_copy(uint32_t *last, uint32_t seq, uint32_t *gap)
{
	*gap = 0;
	if (seq <= *last)
		return true;
	*gap = seq - *last - 1;
	*last = seq;
	return false;
}

uint64_t mqb_outstanding(uint64_t sent, uint64_t settled, int fan)
{
	uint64_t done = settled / (uint64_t)(fan > 0 ? fan : 1);

	return sent > done ? sent - done : 0;
}

bool mqb_probe_due(uint64_t now, uint64_t t_progress, uint64_t t_probe)
{
	uint64_t since = t_progress > t_probe ? t_progress : t_probe;

	return now >= since + MQB_PROBE_NS;
}

/* xorshift64*: fast, and good enough to pick reservoir slots */
static uint64_t next_rand(uint64_t *s)
{
	if (!*s)
		*s = 0x9e3779b97f4a7c15ull;
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

void mqb_lat_add(struct mqb_lat *l, uint32_t us)
{
	uint64_t j;

	l->seen++;
	if (us > l->max)
		l->max = us;
	if (l->n < l->cap) {
		l->v[l->n++] = us;
		return;
	}
	/* Algorithm R: the seen-th sample replaces a random slot with chance cap/seen. */
	j = next_rand(&l->rng) % l->seen;
	if (j < l->cap)
		l->v[j] = us;
}

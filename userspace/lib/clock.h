/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one monotonic clock of every userspace program. CLOCK_MONOTONIC is
 * also what bpf_ktime_get_ns() reads, so these values compare directly
 * with the data plane's timestamps (mqlb_flow.last_ns, created_ns).
 */
#ifndef MQLB_CLOCK_H
#define MQLB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_us(void)
{
	return mono_ns() / 1000;
}

static inline uint64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

#endif /* MQLB_CLOCK_H */

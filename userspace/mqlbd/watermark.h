/* SPDX-License-Identifier: GPL-2.0 */
/*
 * High-water warnings with hysteresis: a resource (the flow table, a
 * backend's SNAT ports) is reported once when its use rises above the
 * high mark and once when it falls back to the low mark, not on every
 * pass of the collector while it hovers around one of them.
 */
#ifndef MQLBD_WATERMARK_H
#define MQLBD_WATERMARK_H

#include <stdbool.h>
#include <stdint.h>

#define WATERMARK_HIGH_PCT 80
#define WATERMARK_LOW_PCT  70

struct watermark {
	bool high;
};

enum wm_change {
	WM_SAME = 0,
	WM_ROSE,  /* used rose above high_pct of total */
	WM_FELL,  /* and has come back to low_pct or below */
};

enum wm_change watermark_update(struct watermark *w, uint64_t used, uint64_t total,
				unsigned int high_pct, unsigned int low_pct);
/* used as a whole percentage of total (0 when total is 0). */
unsigned int watermark_pct(uint64_t used, uint64_t total);

#endif

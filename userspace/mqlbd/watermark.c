// SPDX-License-Identifier: GPL-2.0
#include "watermark.h"

/* Compare used/total with pct/100 in integers: no rounding at the mark itself. */
static bool above(uint64_t used, uint64_t total, unsigned int pct)
{
	return used * 100 > total * pct;
}

enum wm_change watermark_update(struct watermark *w, uint64_t used, uint64_t total,
				unsigned int high_pct, unsigned int low_pct)
{
	if (!total)
		return WM_SAME;
	if (!w->high && above(used, total, high_pct)) {
		w->high = true;
		return WM_ROSE;
	}
	if (w->high && !above(used, total, low_pct)) {
		w->high = false;
		return WM_FELL;
	}
	return WM_SAME;
}

unsigned int watermark_pct(uint64_t used, uint64_t total)
{
	return total ? (unsigned int)(used * 100 / total) : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The client id's Maglev slot (balance client-id): the id's bytes (at most
 * MQLB_HASH_MAX_LEN) hashed with the configured seed, as userspace hashes
 * them (include/mqlb_hash.h). A global function: the hash's loop is
 * verified once, on its own.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bind.h"
#include "mqlb_hash.h"

/* A word at a time from the frame: the stack has no room for 256 bytes beside the caller's. */
__noinline int mqlb_cid_slot(struct xdp_md *ctx, __u32 off, __u32 len, __u32 seed_lo,
			     __u32 seed_hi)
{
	__u64 h;
	__u32 i, n;

	if (!ctx || !len)
		return -1;
	if (len > MQLB_HASH_MAX_LEN)
		len = MQLB_HASH_MAX_LEN;
	h = mqlb_hash_init((__u64)seed_hi << 32 | seed_lo, len);
	for (i = 0; i < MQLB_HASH_MAX_LEN / 8; i++) {
		__u8 w[8] = {};

		if (i * 8 >= len)
			break;
		n = len - i * 8 < 8 ? len - i * 8 : 8;
		if (n < 1 || n > 8 || bpf_xdp_load_bytes(ctx, off + i * 8, w, n))
			return -1;
		h = mqlb_hash_step(h, mqlb_hash_le64(w));
	}
	return (int)mqlb_hash_slot(mqlb_hash_mix(h));
}

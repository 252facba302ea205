/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client-id hash of `balance client-id`, shared by the XDP program
 * (which hashes the id of each CONNECT) and userspace (`mqlb maglev show`,
 * tests): the same bytes and the same seed give the same 64-bit value on
 * every balancer node, whatever its architecture. Includes nothing; the
 * includer provides __u8/__u32/__u64.
 *
 * A seeded multiply-xorshift hash over 8-byte little-endian words (after
 * MurmurHash2's 64-bit finaliser, our own arrangement): fast in BPF, with
 * a loop bounded by MQLB_HASH_MAX_LEN. Not a defence against an attacker
 * who wants collisions: a client choosing its id only chooses its own
 * broker, which it could do by connecting to it.
 */
#ifndef MQLB_HASH_H
#define MQLB_HASH_H

#define MQLB_HASH_MAX_LEN 256 /* bytes of a client id hashed; the rest is ignored */
#define MQLB_HASH_M       0xc6a4a7935bd1e995ULL

static inline __u64 mqlb_hash_mix(__u64 h)
{
	h ^= h >> 47;
	h *= MQLB_HASH_M;
	h ^= h >> 47;
	return h;
}

/* Word i of buf (len bytes), little-endian, zero past the end. */
static inline __u64 mqlb_hash_word(const __u8 *buf, __u32 len, __u32 i)
{
	__u64 w = 0;
	__u32 b;

	for (b = 0; b < 8; b++)
		if (i * 8 + b < len)
			w |= (__u64)buf[i * 8 + b] << (8 * b);
	return w;
}

/* The hash of buf[0..len) (len at most MQLB_HASH_MAX_LEN) with seed. */
static inline __u64 mqlb_hash_bytes(__u64 seed, const __u8 *buf, __u32 len)
{
	__u64 h = seed ^ ((__u64)len * MQLB_HASH_M);
	__u32 i;

	if (len > MQLB_HASH_MAX_LEN)
		len = MQLB_HASH_MAX_LEN;
	for (i = 0; i < MQLB_HASH_MAX_LEN / 8 && i * 8 < len; i++) {
		h ^= mqlb_hash_mix(mqlb_hash_word(buf, len, i) * MQLB_HASH_M) * MQLB_HASH_M;
		h *= MQLB_HASH_M;
	}
	return mqlb_hash_mix(h);
}

#endif /* MQLB_HASH_H */

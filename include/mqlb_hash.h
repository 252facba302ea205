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

/* The little-endian word of the 8 bytes at b (the caller zeroes those past the end). */
static inline __u64 mqlb_hash_le64(const __u8 *b)
{
	return (__u64)b[0] | (__u64)b[1] << 8 | (__u64)b[2] << 16 | (__u64)b[3] << 24 |
	       (__u64)b[4] << 32 | (__u64)b[5] << 40 | (__u64)b[6] << 48 | (__u64)b[7] << 56;
}

/* The steps, for a caller that reads the bytes a word at a time (the XDP program). */
static inline __u64 mqlb_hash_init(__u64 seed, __u32 len)
{
	return seed ^ ((__u64)len * MQLB_HASH_M);
}

static inline __u64 mqlb_hash_step(__u64 h, __u64 word)
{
	h ^= mqlb_hash_mix(word * MQLB_HASH_M) * MQLB_HASH_M;
	return h * MQLB_HASH_M;
}

/* The hash of buf[0..len) (only the first MQLB_HASH_MAX_LEN bytes count) with seed. */
static inline __u64 mqlb_hash_bytes(__u64 seed, const __u8 *buf, __u32 len)
{
	__u64 h;
	__u32 i, b;

	if (len > MQLB_HASH_MAX_LEN)
		len = MQLB_HASH_MAX_LEN;
	h = mqlb_hash_init(seed, len);
	for (i = 0; i * 8 < len; i++) {
		__u8 w[8] = { 0 };

		for (b = 0; b < 8 && i * 8 + b < len; b++)
			w[b] = buf[i * 8 + b];
		h = mqlb_hash_step(h, mqlb_hash_le64(w));
	}
	return mqlb_hash_mix(h);
}

/* The Maglev slot of a hash. */
static inline __u32 mqlb_hash_slot(__u64 h)
{
	return (__u32)(h % MQLB_MAGLEV_SIZE);
}

#endif /* MQLB_HASH_H */

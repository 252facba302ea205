// SPDX-License-Identifier: GPL-2.0
/*
 * SipHash-2-4, written from the algorithm's description: the state is four
 * 64-bit words initialised from the key; each 8-byte little-endian block
 * is mixed in with two SipRounds; the last block carries the leftover
 * bytes and the length's low byte in its top byte; four more SipRounds
 * finish.
 */
#include <errno.h>
#include <sys/random.h>

#include "siphash.h"

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static inline void sip_block(struct sip_state *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

static inline uint64_t load_le64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len)
{
	struct sip_state s = {
		.v0 = key->k0 ^ 0x736f6d6570736575ULL,	/* "somepseudorandomlygeneratedbytes" */
		.v1 = key->k1 ^ 0x646f72616e646f6dULL,
		.v2 = key->k0 ^ 0x6c7967656e657261ULL,
		.v3 = key->k1 ^ 0x7465646279746573ULL,
	};
	const uint8_t *p = data;
	size_t left = len;

	for (; left >= 8; p += 8, left -= 8)
		sip_block(&s, load_le64(p, 8));
	sip_block(&s, load_le64(p, left) | (uint64_t)(len & 0xff) << 56);
	s.v2 ^= 0xff;
	sip_round(&s);
	sip_round(&s);
	sip_round(&s);
	sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

int siphash_key_random(struct siphash_key *key)
{
	ssize_t n = getrandom(key, sizeof(*key), 0);

	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*key) ? 0 : -EIO;
}

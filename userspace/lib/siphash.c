// SPDX-License-Identifier: GPL-2.0
/*
 * SipHash, written from the algorithm's description: the state is four
 * 64-bit words initialised from the key; each 8-byte little-endian block
 * is mixed in with c SipRounds; the last block carries the leftover bytes
 * and the length's low byte in its top byte; d more SipRounds finish.
 * SipHash-2-4 is the paper's; SipHash-1-3 is what hash tables use where
 * speed matters (Python's str and bytes, Rust's HashMap): the same
 * construction with fewer rounds, still keyed, still unpredictable
 * without the key.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
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

/* The leftover bytes (fewer than 8) as the low bytes of a little-endian word. */
static inline uint64_t load_tail(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	switch (n) {
	case 7:
		v |= (uint64_t)p[6] << 48;
		/* fall through */
	case 6:
		v |= (uint64_t)p[5] << 40;
		/* fall through */
	case 5:
		v |= (uint64_t)p[4] << 32;
		/* fall through */
	case 4:
		v |= (uint64_t)p[3] << 24;
		/* fall through */
	case 3:
		v |= (uint64_t)p[2] << 16;
		/* fall through */
	case 2:
		v |= (uint64_t)p[1] << 8;
		/* fall through */
	case 1:
		v |= p[0];
	}
	return v;
}

static inline uint64_t sip(const struct siphash_key *key, const void *data, size_t len,
			   int c_rounds, int d_rounds)
{
	struct sip_state s = {
		/* "somepseudorandomlygeneratedbytes" */
		.v0 = key->k0 ^ 0x736f6d6570736575ULL,
		.v1 = key->k1 ^ 0x646f72616e646f6dULL,
		.v2 = key->k0 ^ 0x6c7967656e657261ULL,
		.v3 = key->k1 ^ 0x7465646279746573ULL,
	};
	const uint8_t *p = data;
	size_t left = len;
	uint64_t m;
	int i;

	for (; left >= 8; p += 8, left -= 8) {
		memcpy(&m, p, 8);
		m = le64toh(m);
		s.v3 ^= m;
		for (i = 0; i < c_rounds; i++)
			sip_round(&s);
		s.v0 ^= m;
	}
	m = load_tail(p, left) | (uint64_t)(len & 0xff) << 56;
	s.v3 ^= m;
	for (i = 0; i < c_rounds; i++)
		sip_round(&s);
	s.v0 ^= m;
	s.v2 ^= 0xff;
	for (i = 0; i < d_rounds; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len)
{
	return sip(key, data, len, 2, 4);
}

uint64_t siphash13(const struct siphash_key *key, const void *data, size_t len)
{
	return sip(key, data, len, 1, 3);
}

int siphash_key_random(struct siphash_key *key)
{
	ssize_t n = getrandom(key, sizeof(*key), 0);

	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*key) ? 0 : -EIO;
}

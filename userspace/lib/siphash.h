/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SipHash (Aumasson and Bernstein, 2012): a keyed 64-bit hash for hash
 * tables whose keys come from the network. With a random key per process,
 * a client cannot choose client ids or topic levels that all land in one
 * bucket, which an unkeyed hash such as FNV allows. SipHash-2-4 is the
 * paper's variant; SipHash-1-3 the faster one hash tables use (Python,
 * Rust).
 */
#ifndef MQLB_SIPHASH_H
#define MQLB_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
	uint64_t k0, k1;
};

uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len);
uint64_t siphash13(const struct siphash_key *key, const void *data, size_t len);
/* A key from getrandom(); 0, or -errno when the kernel gave none. */
int siphash_key_random(struct siphash_key *key);

#endif /* MQLB_SIPHASH_H */

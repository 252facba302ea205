/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI 2016, section 3.4), weighted: the
 * lookup table of `balance client-id`, built by mqlbd over the backends
 * that are up and looked up by the data plane with the client id's hash.
 *
 * Each backend's preference list is a permutation of the table's slots
 * drawn from its name and the configured hash-seed, so every balancer node
 * with the same config builds the same table; backends then take turns
 * claiming their next preferred free slot until the table is full. Taking
 * a backend out moves only the slots it had (and about as many again
 * among the rest: Maglev's trade of evenness for disruption); putting it
 * back restores the table exactly.
 */
#ifndef MQLBD_MAGLEV_H
#define MQLBD_MAGLEV_H

#include <stdint.h>

#include "mqlb_abi.h"

struct maglev_backend {
	uint16_t id;           /* backend slot id, what the table holds */
	const char *name;      /* what its permutation is drawn from */
	uint32_t weight;       /* 1-256: its share of the table, relative to the others */
};

/*
 * Fill table[MQLB_MAGLEV_SIZE] for the n backends given (in any order: the
 * result depends on their names, weights and seed only). No backend: every
 * slot MQLB_MAGLEV_NONE. 0, or -EINVAL (a weight of 0, n too large).
 */
int maglev_build(const struct maglev_backend *be, unsigned int n, uint64_t seed,
		 uint16_t table[MQLB_MAGLEV_SIZE]);

#endif

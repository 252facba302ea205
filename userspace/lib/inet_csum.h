/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Internet checksum (RFC 1071) for frames built in userspace: mqlbd's
 * RSTs and probes, and the test packet builder. Sums are of 16-bit words
 * read big-endian, so the folded result is returned in network order,
 * ready for the header field.
 */
#ifndef MQLB_INET_CSUM_H
#define MQLB_INET_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds buf's words to sum (an odd last byte padded with zero); not folded. */
uint32_t inet_csum_add(uint32_t sum, const void *buf, size_t len);
/* Folds sum and complements it: the value of a checksum field (network order). */
uint16_t inet_csum_fold(uint32_t sum);
/* The IPv4 pseudo-header's sum (RFC 793 3.1): addresses in network order. */
uint32_t inet_pseudo4_sum(uint32_t saddr_be, uint32_t daddr_be, uint8_t proto, size_t l4_len);

#endif

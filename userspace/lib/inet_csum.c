// SPDX-License-Identifier: GPL-2.0
#include "inet_csum.h"

#include <arpa/inet.h>

uint32_t inet_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t inet_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

uint32_t inet_pseudo4_sum(uint32_t saddr_be, uint32_t daddr_be, uint8_t proto, size_t l4_len)
{
	uint32_t sum = 0;

	sum = inet_csum_add(sum, &saddr_be, 4);
	sum = inet_csum_add(sum, &daddr_be, 4);
	return sum + proto + (uint32_t)l4_len;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * iSCSI, ext4 and btrfs metadata, here of each record of the persistence
 * file. The store is serialised on the event loop, so this must be cheap:
 * on x86-64 with SSE4.2 (every x86-64 CPU since 2008 but the oldest
 * Atoms) the crc32 instruction does 8 bytes at a time, several GB/s; else
 * a table, one byte at a time. Both give the same value.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "store.h"

static uint32_t table[256];

static void table_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		table[i] = c;
	}
}

static uint32_t crc_table(uint32_t crc, const uint8_t *p, size_t len)
{
	/* Only the loop's thread computes checksums: no lock around the first use. */
	if (!table[1])
		table_init();
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p,
							     size_t len)
{
	uint64_t c = crc, v;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	crc = (uint32_t)c;
	for (; len; p++, len--)
		crc = __builtin_ia32_crc32qi(crc, *p);
	return crc;
}
#endif

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc_sse42(crc, data, len);
#endif
	return ~crc_table(crc, data, len);
}

/* For the tests: the table path, whatever the CPU. */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	return ~crc_table(~crc, data, len);
}

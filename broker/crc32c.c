// SPDX-License-Identifier: GPL-2.0
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * iSCSI, ext4 and btrfs metadata, here of each record of the persistence
 * file. Table-driven, one byte at a time: the store is written from a
 * thread and read once at start, where this speed (some hundreds of MB/s)
 * is far from the cost that matters, the disk's.
 */
#include <stdint.h>
#include <stddef.h>

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

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* Entry 1 is never 0 once filled: a cheap "done" flag, no lock (the table is the same). */
	if (!table[1])
		table_init();
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

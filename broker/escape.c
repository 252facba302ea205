// SPDX-License-Identifier: GPL-2.0
/*
 * Client ids, user names and topics in log lines. They are the client's
 * to choose, and a log is read on terminals and parsed by tools: a raw
 * newline would forge a line, an escape sequence would drive the
 * terminal. So control characters (C0, DEL, and the C1 range as UTF-8)
 * and the backslash are written as \xNN / \\, everything else as it is
 * (the codec has already refused invalid UTF-8), and a long value is cut
 * at a character boundary with "...".
 */
#include <stdio.h>
#include <string.h>

#include "broker.h"

/* One character of s at i: its escaped text in out (at most 4 bytes), its length. */
static size_t esc_one(const uint8_t *s, size_t len, size_t i, char *out, size_t *used)
{
	uint8_t ch = s[i];
	size_t n = 1;

	*used = 1;
	if (ch == '\\') {
		memcpy(out, "\\\\", 2);
		return 2;
	}
	/* U+0080..U+009F: C1 controls, 0xC2 0x80..0x9F in UTF-8. */
	if (ch == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) {
		snprintf(out, 5, "\\x%02x", s[i + 1]);
		*used = 2;
		return 4;
	}
	if (ch >= 0xc2 && ch <= 0xf4)
		n = ch < 0xe0 ? 2 : ch < 0xf0 ? 3 : 4;
	if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && n == 1) || i + n > len) {
		/* A control, or a byte that starts no whole UTF-8 character. */
		snprintf(out, 5, "\\x%02x", ch);
		return 4;
	}
	memcpy(out, s + i, n);
	*used = n;
	return n;
}

const char *log_esc(const void *str, size_t len, char *buf, size_t cap)
{
	const uint8_t *s = str;
	size_t i = 0, n = 0;

	if (!cap)
		return buf;
	while (i < len) {
		char one[5];
		size_t used, w = esc_one(s, len, i, one, &used);
		bool last = i + used >= len;

		/*
		 * Whole characters only, and room kept for "..." until the last:
		 * so when one does not fit, the mark does.
		 */
		if (n + w + (last ? 0 : 3) + 1 > cap) {
			if (n + 4 <= cap) {
				memcpy(buf + n, "...", 3);
				n += 3;
			}
			break;
		}
		memcpy(buf + n, one, w);
		n += w;
		i += used;
	}
	buf[n] = '\0';
	return buf;
}

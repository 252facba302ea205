// SPDX-License-Identifier: GPL-2.0
/*
 * The TCP options walk (tcp_opt.h: the timestamps of the shift, the window
 * scale of a SYN), a global BPF function of its own: the verifier checks
 * its loop once, on its own, rather than at each of the paths that forward
 * a segment (inlined there, the program no longer fit the verifier's
 * budget of 1M instructions).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tcp_opt.h"

/*
 * Walk the TCP options at frame offset opt_off, optlen bytes long, from
 * the option boundary start on, by Linux's rules (tcp_parse_options()):
 * EOL ends the list, NOP is one byte, an option whose length byte is
 * below 2 or runs past the list ends the walk, and an option of the kind
 * sought but of another length is skipped (Linux ignores it too). kind_len
 * is kind << 8 | length. Returns the offset from opt_off of the first such
 * option's data, or -1. It stops at the first one found: tcp_ts_find()
 * calls it again to look for a second.
 */
__noinline int mqlb_tcp_opt_find(struct xdp_md *ctx, __u32 opt_off, __u32 optlen, __u32 start,
				 __u32 kind_len)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *opt;
	__u32 off = start, i;

	/* check_ours() leaves one place for the options: after 14 + 20 + 20 bytes. */
	if (opt_off > 64 || optlen > TCP_OPT_MAX || start > TCP_OPT_MAX)
		return -1;
	opt = data + opt_off;
	for (i = 0; i < TCP_OPT_MAX; i++) {
		const __u8 *o;
		__u8 kind, len;

		if (off >= optlen || off >= TCP_OPT_MAX)
			return -1;
		/* Both bytes through one checked pointer, which the verifier follows. */
		o = opt + off;
		if ((void *)(o + 2) > data_end)
			return -1;  /* a last NOP or EOL: nothing follows it */
		kind = o[0];
		if (kind == TCPOPT_EOL)
			return -1;
		if (kind == TCPOPT_NOP) {
			off++;
			continue;
		}
		len = o[1];
		if (len < 2 || off + len > optlen)
			return -1;
		if (((__u32)kind << 8 | len) == kind_len)
			return (int)off + 2;
		off += len;
	}
	return -1;
}

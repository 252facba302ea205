/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client side of mqlbd's control socket (protocol in
 * include/mqlb_ctl.h): one request line per connection, the answer read
 * until the daemon closes. Used by the CLI, by `mqlbd --stop`, and by a
 * starting mqlbd to see whether another one still answers.
 */
#ifndef MQLB_CTL_CLIENT_H
#define MQLB_CTL_CLIENT_H

#include <stddef.h>

/* Where a call failed, so that callers can word their messages. */
enum ctl_stage {
	CTL_STAGE_CONNECT,
	CTL_STAGE_SEND,
	CTL_STAGE_RECV,
};

#define CTL_MAX_ANSWER 65536

/* A connected socket to path, with send and receive timeouts; fd or -errno. */
int ctl_connect(const char *path, int timeout_s);
/*
 * Sends line (without its newline) and reads the answer: *answer is
 * malloc'd, NUL-terminated, trailing newlines cut. 0 or -errno, with
 * *stage saying where it failed.
 */
int ctl_call(const char *path, const char *line, int timeout_s, char **answer,
	     enum ctl_stage *stage);
/*
 * Splits an answer: 0 for "ok[ MESSAGE]" or "ok\nBODY" (*msg points at
 * MESSAGE or BODY, "" if none), -EINVAL for "error: MESSAGE" (*msg at
 * MESSAGE), -EPROTO for anything else (*msg at the whole answer).
 */
int ctl_answer_split(char *answer, char **msg);

#endif

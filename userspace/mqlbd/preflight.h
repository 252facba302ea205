/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What mqlbd checks before it loads or attaches anything, at start and for
 * `mqlbd -t`: the interfaces exist, the VIP and the SNAT address are local,
 * IPv4 forwarding is on, the SNAT ports are not the machine's ephemeral
 * ones. They read the current network namespace and need no privileges.
 */
#ifndef MQLBD_PREFLIGHT_H
#define MQLBD_PREFLIGHT_H

#include <netinet/in.h>
#include <stddef.h>

#include "config.h"

/*
 * 0, or -errno with msg holding "FILE:LINE: reason" (the line of the
 * directive at fault; "FILE: reason" when a default is) and, on indented
 * lines below it, the command that fixes it. *snat gets the source
 * address toward the brokers. Warnings that refuse nothing are logged.
 */
int preflight_check(const struct mqlbd_config *c, struct in_addr *snat, char *msg, size_t len);

/* The last line of FILE whose directive is kw, as the parser read it (the one in effect), or 0. */
int config_line_of(const char *path, const char *kw);

#endif

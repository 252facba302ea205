/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqlbd's control socket: the protocol between the daemon and `mqlb`.
 *
 * A unix stream socket (path from the config's `control`, mode 0600). One
 * request per connection: a single line of space-separated words, at most
 * MQLB_CTL_MAX_LINE bytes, ending in '\n'. The daemon answers and closes:
 *
 *   ok[ MESSAGE]\n            success (MESSAGE is for humans)
 *   ok\nJSON                  success with a body (state)
 *   error: MESSAGE\n          refused; nothing changed
 *
 * Requests:
 *   backend add NAME ADDR:PORT [weight N]
 *   backend del NAME
 *   backend drain NAME        no new flows; existing flows continue
 *   backend enable NAME       back into rotation (after the health check allows)
 *   backend disable NAME      out of rotation, flows continue
 *   state                     JSON: {"pid":N,"vip":"A:P","backends":[{"name","address",
 *                             "state","admin","weight","id"}...]}
 *   stop                      the daemon exits, detaching XDP and removing the pins even
 *                             with `persist yes` (`mqlbd --stop`)
 */
#ifndef MQLB_CTL_H
#define MQLB_CTL_H

#define MQLB_CTL_DEFAULT  "/run/mqlb/mqlbd.sock"
#define MQLB_CTL_MAX_LINE 512

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* What mqlbd checks about its network namespace before attaching anything. */
#ifndef MQLBD_SYSPROBE_H
#define MQLBD_SYSPROBE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* net.ipv4.ip_forward of the current namespace: 1, 0, or -errno. */
int sys_ipv4_forwarding(void);
/* net.ipv4.ip_local_port_range. */
int sys_local_port_range(uint32_t *lo, uint32_t *hi);
bool sys_iface_has_addr(const char *ifname, struct in_addr addr);
int sys_iface_first_addr(const char *ifname, struct in_addr *out);

#endif

// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>

#include "sysprobe.h"

static int read_proc(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		err = -EIO;
	fclose(f);
	return err;
}

int sys_ipv4_forwarding(void)
{
	char buf[16];
	int err = read_proc("/proc/sys/net/ipv4/ip_forward", buf, sizeof(buf));

	return err ? err : buf[0] == '1';
}

int sys_local_port_range(uint32_t *lo, uint32_t *hi)
{
	char buf[64];
	int err = read_proc("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof(buf));

	if (err)
		return err;
	return sscanf(buf, "%u %u", lo, hi) == 2 ? 0 : -EINVAL;
}

static int iface_walk(const char *ifname, struct in_addr want, struct in_addr *first)
{
	struct ifaddrs *ifa, *i;
	int found = -ENOENT;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;

		if (!sin || sin->sin_family != AF_INET || strcmp(i->ifa_name, ifname))
			continue;
		if (first) {
			*first = sin->sin_addr;
			found = 0;
			break;
		}
		if (sin->sin_addr.s_addr == want.s_addr) {
			found = 0;
			break;
		}
	}
	freeifaddrs(ifa);
	return found;
}

bool sys_iface_has_addr(const char *ifname, struct in_addr addr)
{
	return iface_walk(ifname, addr, NULL) == 0;
}

int sys_iface_first_addr(const char *ifname, struct in_addr *out)
{
	struct in_addr none = { 0 };

	return iface_walk(ifname, none, out);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Keeping the backends' next hops resolved. bpf_fib_lookup() only reads
 * the neighbour table, it never triggers ARP (it returns NO_NEIGH), and a
 * learned entry is garbage-collected when idle. A "managed" neighbour
 * entry (NTF_EXT_MANAGED, kernel >= 5.16) is one the kernel itself keeps
 * resolved, which is exactly what the data plane needs.
 */
#ifndef MQLBD_NEIGH_H
#define MQLBD_NEIGH_H

#include <netinet/in.h>
#include <stdbool.h>

struct neigh_entry {
	struct in_addr nexthop; /* the backend itself or its gateway */
	int ifindex;
	bool created;           /* we created it, so we remove it on stop */
};

/* Route lookup for dst, then make sure a managed neighbour exists for its next hop. */
int neigh_ensure(struct in_addr dst, struct neigh_entry *out);
int neigh_remove(const struct neigh_entry *e);

#endif
